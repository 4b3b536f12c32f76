"""Record linkage of a leaked dump to the labs' patient indexes (issue 13, item 3).

Inputs are the canonical person frames of :mod:`labforensics.leak.people` (index
``people``: one row per (lab, IPP); dump ``people``: one row per dump data
row). The model is a Fellegi-Sunter model fitted and scored by Splink 5 on a
private DuckDB connection (:mod:`labforensics.leak._duckdb`); this module only
prepares columns, states the comparisons and blocking rules, and turns the
scored pairs into one decision per dump row.

The French phonetic key of the blocking rules is :mod:`labforensics.leak.phonetic`;
the comparison levels and the per-row decision are in
:mod:`labforensics.leak.decisions`.

Model (one comparison per kind of evidence)
-------------------------------------------
- ``nir``: NIR + birth date (or day/month swap) / NIR + first name / NIR
  alone (household level: a dependant carries the insured person's NIR) /
  differs / null. NIR agreement counts as person evidence only together with
  a birth date or a first name.
- ``dob``: exact / day-month swap / year+month / year / differs / null.
- ``first_name``: exact (term-frequency adjusted) / first word / Jaro-Winkler
  >= 0.92 / >= 0.80 / differs / null.
- ``household``: surname (or birth name, or phonetic) + contact (phone, or
  address + postcode) / surname + postcode / surname (term-frequency adjusted)
  / surname Jaro-Winkler >= 0.88 / contact only / differs / null: surname,
  address, postcode and phone are ONE comparison, because a household shares
  them all.

Term frequencies come from the indexes only (first name, surname). u is
estimated by random sampling (``u_max_pairs`` pairs, the case seed); m by EM
(without term frequencies) on tight blocking rules, by default :data:`EM_RULES`
(full birth date; full first name + postcode: not a household block), chosen
from the fields the dump holds (:mod:`labforensics.leak.training`), each
capped at ``em_max_pairs`` pairs by Splink's deterministic hash sample; m is
then floored (a level unseen in the sample must not veto a link; the NIR
``differs`` level at 0.02 for double attachment) and m, u rounded to 6
significant digits (:func:`_stabilise_model`). The prior is
``prior_match_share / n_index`` (about one match per dump row).

Decisions
---------
Candidates are ranked by ``match_weight`` (log2 Bayes factor) rounded to 4
decimals, then by the record's place in the indexes (file, line): log-odds do
not saturate as probabilities do at 1.0, and rounding removes float noise from
parallel sums. The model never sees the keyed ids: Splink samples pairs by a hash
of the ids and the decoy permutes rows in id order, so keyed ids would make the
model, the links and the error rate change with the case key (the demo's linked
rows moved by 1.4 % between two keys); the linkage runs on ids made from each
row's file and line and the keyed ids are put back in its outputs. A candidate is
*eligible* when it carries person evidence (birth date exact or swapped, or a
first-name agreement, or NIR with birth date / first name) and is not a
relative: household evidence (the NIR, or surname + contact / postcode, or
contact) together with a contradiction (birth dates that differ, first names
that differ, or another valid NIR without an agreeing birth date: another
insured person of the household) marks a relative (a twin, a father and son of
one first name, a spouse insured in their own right), so a candidate agreeing
on NIR, birth date, surname and address but not on the first name is not
linked. A row whose candidates carry only household evidence is ``household``
and never linked. Among eligible candidates at or above the threshold: another
patient within ``ambiguity_margin`` bits of the best -> ``ambiguous`` (a
patient of the same lab, or of another lab whose record's birth date differs
from the best's: two people, such as a father and son of one first name with a
row without birth date); else the best of another lab at or above the
threshold, not contradicting the best's birth date -> ``two_labs`` (one person
at two labs); else ``unique``. Rows
with no eligible candidate above the threshold and no household evidence are
``none``. ``lab``/``patient`` are filled for ``unique``, ``two_labs`` and
``ambiguous``; for ``household`` and ``none`` they are NA and the relative or
best candidate is given as runner-up. Only ``top_k`` candidates per row are
kept after scoring.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labforensics._validation import (
    Boolean,
    Each,
    Interval,
    Maybe,
    constrained,
    validate,
)
from labforensics.errors import LabForensicsError, LinkageError, SchemaError
from labforensics.leak import decoys, relative_decoy
from labforensics.leak._duckdb import LinkageTerminated, private_connection
from labforensics.leak._em import em_m_u_held_at_minimum
from labforensics.leak.blocking import _count_comparisons, _prediction_rules, blocking_rules
from labforensics.leak.decisions import (
    COMPARISON_LEVELS,
    EM_RULES,
    MATCH_CLASSES,
    _label_candidates,
    arrow_table,
    classify,
    fetch_table,
    top_candidates_on_predict,
)
from labforensics.leak.phases import mark_phase
from labforensics.leak.phonetic import french_phonetic
from labforensics.leak.surrogate_ids import _restore_ids, _surrogate_ids
from labforensics.leak.training import choose_em_rules

#: Logs the start of each phase at DEBUG (``"phase <name>"``, no data): lets a
#: benchmark attribute time and memory to phases.
_log = logging.getLogger(__name__)

__all__ = [
    "COMPARISON_LEVELS",
    "MATCH_CLASSES",
    "LINK_COLUMNS",
    "Linkage",
    "LinkageError",
    "LinkageParams",
    "blocking_rules",
    "classify",
    "french_phonetic",
    "link_dump",
]

PERSON_COLUMNS = (
    "record_id",
    "lab",
    "source_file",
    "source_line",
    "surname",
    "birth_name",
    "first_name",
    "first_name_first",
    "sex",
    "birth_date",
    "birth_year",
    "birth_month",
    "birth_day",
    "nir",
    "address",
    "postcode",
    "city",
    "phone",
)

#: The person-frame columns the model reads (:func:`_prepare`).
MODEL_INPUT_COLUMNS = (
    "record_id", "lab", "surname", "birth_name", "first_name", "first_name_first",
    "birth_date", "birth_year", "birth_month", "birth_day", "nir", "address",
    "postcode", "phone",
)  # fmt: skip

LINK_COLUMNS = (
    "source_file",
    "source_line",
    "row_id",
    "lab",
    "patient",
    "probability",
    "match",
    "n_candidates",
    "runner_up_lab",
    "runner_up_patient",
    "runner_up_probability",
)


@dataclass(frozen=True)
class LinkageParams:
    """Parameters of :func:`link_dump`.

    Attributes
    ----------
    threshold : float or None
        Match probability at or above which an eligible candidate is linked.
        None: the lowest value of ``thresholds`` whose decoy-estimated
        false-match rate is <= ``fmr_target`` (the highest grid value if none).
    fmr_target : float
        Target false-match rate for the default threshold (0.01 = 1 %).
    thresholds : tuple of float
        Grid on which the false-match rate is estimated.
    ambiguity_margin : float
        Log-odds margin in bits (log2 Bayes factor): another patient of the
        best candidate's lab within it makes the row ``ambiguous``.
    u_max_pairs : float
        Pairs sampled at random to estimate u (seeded with the case seed).
    em_max_pairs : float
        Cap on the pairs of each EM blocking rule (Splink's hash sample).
    prior_match_share : float
        Expected share of dump rows with a match; the prior is this over the
        number of index records.
    memory_budget_bytes : int
        DuckDB memory limit (bytes); beyond it DuckDB spills to the private
        temporary folder. 2 GiB by default: ``benchmarks/linkage.py`` at 530,000 x
        166,000 found no time cost down to 1 GiB, and at 1.59 M x 500,000 the run
        with 2 GiB peaked at 5.32 GiB for the whole process.
    threads : int
        DuckDB threads.
    top_k : int
        Candidates kept per dump row after scoring.
    decoy : bool
        Run the decoy linkage (needed for ``.fmr`` and the default threshold).
    m_floor : float
        Lowest m of a non-null level after EM.
    count_sample_proportion : float
        Share of records sampled on each side by Splink's comparison counter
        (``count_comparisons_from_blocking_rules``); 1.0 counts exactly (a
        full blocking join: 3 minutes at 500k x 1.5M), 0.1 estimates from 1 %
        of the pairs.
    nir_differs_m_floor : float
        Lowest m of the NIR ``differs`` level (double attachment).
    relative_sample_rows : int
        Dump rows (a seeded sample; all when the dump is smaller) scored against
        the relative decoy (:mod:`labforensics.leak.relative_decoy`), whose rate
        covers outsiders with an indexed relative; 0: no relative decoy. 50,000
        rows give a rate of 0.1 % with a 95 % interval of about 0.07-0.13 %.
    """

    threshold: float | None = constrained(
        None, Maybe(Interval(0, 1, low_open=True, high_open=True))
    )
    fmr_target: float = constrained(0.01, Interval(0, 1, low_open=True, high_open=True))
    thresholds: tuple[float, ...] = constrained(
        (0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999),
        Each(Interval(0, 1, low_open=True, high_open=True)),
    )
    ambiguity_margin: float = constrained(3.0, Interval(0, None))
    u_max_pairs: float = constrained(5e6, Interval(1, None))
    em_max_pairs: float = constrained(2e6, Interval(1, None))
    prior_match_share: float = constrained(0.9, Interval(0, 1, low_open=True))
    memory_budget_bytes: int = constrained(2 * 1024**3, Interval(64 * 1024**2, None, integer=True))
    threads: int = constrained(2, Interval(1, None, integer=True))
    top_k: int = constrained(8, Interval(2, None, integer=True))
    decoy: bool = constrained(True, Boolean())
    m_floor: float = constrained(1e-4, Interval(0, 1, low_open=True, high_open=True))
    count_sample_proportion: float = constrained(0.1, Interval(0, 1, low_open=True))
    nir_differs_m_floor: float = constrained(0.02, Interval(0, 1, low_open=True, high_open=True))
    relative_sample_rows: int = constrained(50_000, Interval(0, None, integer=True))

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class Linkage:
    """Result of :func:`link_dump` (in memory; nothing raw).

    Attributes
    ----------
    links : pandas.DataFrame
        One row per dump row, columns :data:`LINK_COLUMNS`, sorted by
        ``row_id``: ``probability``/``runner_up_probability`` float64 rounded
        to 6 places, ``n_candidates`` int64, the rest string.
    levels : pandas.DataFrame
        Per dump row with a candidate, the pair that decided it (the link;
        for ``household``/``none`` the relative / best candidate): ``row_id``,
        ``match``, ``patient``, ``lab``, ``match_weight`` (log2) and the level
        label of each comparison (``nir``, ``dob``, ``first_name``,
        ``household``): ids and labels only.
    model : pandas.DataFrame
        ``comparison``, ``level``, ``m``, ``u``, ``bayes_factor``: numbers only.
    fmr : pandas.DataFrame
        Per threshold: ``threshold``, ``real_links``, ``decoy_links``,
        ``fmr`` (estimate: outsiders with no indexed relative, from the block
        decoy, plus outsiders with one, from the relative decoy), its parts and
        ``fmr_upper``, see :func:`labforensics.leak.decoys.fmr_table` and
        :mod:`labforensics.leak.relative_decoy`. Empty without a decoy run.
    threshold : float
        The threshold used for ``links``.
    comparisons : pandas.DataFrame
        Per blocking rule: ``rule``, ``marginal``, ``cumulative`` comparison
        counts (Splink's counter; estimated unless
        ``count_sample_proportion`` is 1).
    timings : dict
        Seconds per phase.
    candidates : pandas.DataFrame
        The ``top_k`` scored candidates per dump row (ids, rounded weight and
        probability, level labels, evidence flags, ``record_dob``: a code per
        distinct birth date of the candidate records, -1 unknown; no raw value), from which
        :meth:`links_at` decides at another threshold.
    """

    links: pd.DataFrame
    levels: pd.DataFrame
    model: pd.DataFrame
    fmr: pd.DataFrame
    threshold: float
    comparisons: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    ambiguity_margin: float = 3.0
    #: EM training blocks run and the comparisons left untrained (:mod:`.training`).
    em_rules: tuple[str, ...] = EM_RULES
    untrained: tuple[str, ...] = ()

    def links_at(self, threshold: float) -> pd.DataFrame:
        """``links`` as decided at another ``threshold`` (same columns and order)."""
        decided = classify(
            self.candidates, self.links["row_id"], threshold, self.ambiguity_margin
        ).set_index("row_id")
        out = self.links.copy()
        for col in decided.columns:
            if col in out.columns and col not in ("row_id",):
                out[col] = out["row_id"].map(decided[col]).astype(out[col].dtype)
        return out

    def __repr__(self) -> str:
        counts = self.links["match"].value_counts().to_dict() if len(self.links) else {}
        return f"Linkage(rows={len(self.links)}, threshold={self.threshold}, matches={counts})"


# --------------------------------------------------------------------------- preparation


def _check_people(people: pd.DataFrame, what: str) -> None:
    missing = [c for c in PERSON_COLUMNS if c not in people.columns]
    if missing:
        raise SchemaError(
            f"{what} people frame lacks columns {missing}; build it with the leak readers "
            "(labforensics.leak.people.PEOPLE_COLUMNS)"
        )
    if people["record_id"].isna().any() or people["record_id"].duplicated().any():
        raise SchemaError(f"{what} people frame: record_id must be unique and not NA")


def _prepare(people: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Columns the model reads, in canonical order (sorted by record id)."""
    # sort only the columns read here (not a copy of the whole person frame)
    p = people[list(MODEL_INPUT_COLUMNS)].sort_values("record_id", kind="stable")
    p = p.reset_index(drop=True)
    s = lambda c: p[c].astype("string")  # noqa: E731
    out = pd.DataFrame(
        {
            "unique_id": s("record_id"),
            "source_dataset": pd.Series(dataset, index=p.index, dtype="string"),
            "lab": s("lab"),
            "sn": s("surname"),
            "bn": s("birth_name"),
            "fn": s("first_name"),
            "fn1": s("first_name_first"),
            "dob": s("birth_date"),
            "by": p["birth_year"].astype("Int32"),
            "bm": p["birth_month"].astype("Int32"),
            "nir": s("nir"),
            "address": s("address"),
            "postcode": s("postcode"),
            "phone": s("phone"),
        }
    )
    out["sn_ph"] = french_phonetic(out["sn"])
    out["bn_ph"] = french_phonetic(out["bn"])
    out["nir7"] = out["nir"].str.slice(0, 7)
    day = p["birth_day"].astype("Int32")
    month = p["birth_month"].astype("Int32")
    swappable = out["dob"].notna() & (day <= 12) & (day != month)
    swapped = (
        out["dob"].str.slice(0, 5)
        + day.astype("string").str.zfill(2)
        + "-"
        + month.astype("string").str.zfill(2)
    )
    out["dob_swap"] = swapped.where(swappable.fillna(False)).astype("string")
    return out


def _settings(n_index: int, params: LinkageParams):
    from splink import SettingsCreator
    from splink.comparison_library import CustomComparison

    comparisons = []
    for name, levels in COMPARISON_LEVELS.items():
        level_dicts = []
        for label, cond, is_null, tf in levels:
            d: dict[str, object] = {"sql_condition": cond, "label_for_charts": label}
            if is_null:
                d["is_null_level"] = True
            if tf is not None:
                d["tf_adjustment_column"] = tf
                d["tf_adjustment_weight"] = 1.0
                d["disable_tf_exact_match_detection"] = True
            level_dicts.append(d)
        comparisons.append(
            CustomComparison(
                comparison_levels=level_dicts,
                output_column_name=name,
                comparison_description=name,
            )
        )
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        source_dataset_column_name="source_dataset",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[cond for _, cond in _prediction_rules()],
        probability_two_random_records_match=min(0.5, params.prior_match_share / max(n_index, 1)),
        retain_matching_columns=True,  # gammas come only with it; in-memory only,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=["lab"],
    )


def _stabilise_model(linker, params: LinkageParams) -> None:
    """Floor and round the trained m/u values in place.

    Every non-null level's m is floored at ``params.m_floor`` (a level never seen
    among matches in the EM sample must not veto a link) and the NIR ``differs``
    level's at ``params.nir_differs_m_floor`` (double attachment: a child's NIR may
    be the other parent's); m is renormalised per comparison; m and u are rounded
    to 6 significant digits so that float noise from parallel sums cannot change a
    decision between two runs.

    The NIR's household level (``nir_only_household``: the NIR agrees, neither the
    birth date nor the first name does) gets m = u, a Bayes factor of 1: a
    dependant carries the insured person's NIR, so this agreement says "same
    household", which the household comparison already weighs (issue 13: household
    fields are one comparison, not added as independent evidence). Trained freely,
    EM gave it more weight than NIR + first name (at 1.59 M x 500,000 a parent
    sharing the NIR with a similar first name outranked the row's own record).
    """
    for comp in linker._settings_obj.comparisons:
        levels = [lv for lv in comp.comparison_levels if not lv.is_null_level]
        ms = []
        for lv in levels:
            m = float(lv.m_probability or 0.0)
            floor = params.m_floor
            if comp.output_column_name == "nir" and lv.label_for_charts == "differs":
                floor = params.nir_differs_m_floor
            ms.append(max(m, floor))
        fixed = {
            i: max(float(lv.u_probability or 0.0), 1e-9)
            for i, lv in enumerate(levels)
            if comp.output_column_name == "nir" and lv.label_for_charts == "nir_only_household"
        }
        free = sum(m for i, m in enumerate(ms) if i not in fixed)
        scale = (1.0 - sum(fixed.values())) / free
        ms = [fixed[i] if i in fixed else m * scale for i, m in enumerate(ms)]
        for lv, m in zip(levels, ms, strict=False):
            lv.m_probability = float(f"{m:.6g}")
            u = lv.u_probability
            if u is not None:
                lv.u_probability = float(f"{max(float(u), 1e-9):.6g}")


def _model_summary(linker) -> pd.DataFrame:
    rows = []
    for comp in linker._settings_obj.comparisons:
        for lv in comp.comparison_levels:
            if lv.is_null_level:
                continue
            m = lv.m_probability
            u = lv.u_probability
            rows.append(
                {
                    "comparison": comp.output_column_name,
                    "level": lv.label_for_charts,
                    "m": float(m) if m is not None else np.nan,
                    "u": float(u) if u is not None else np.nan,
                }
            )
    df = pd.DataFrame(rows)
    df["comparison"] = df["comparison"].astype("string")
    df["level"] = df["level"].astype("string")
    df["bayes_factor"] = df["m"] / df["u"]
    return df


def _tf_frame(index: pd.DataFrame, col: str) -> pd.DataFrame:
    """Term frequencies of ``col`` over the INDEX records only."""
    vals = index[col].dropna()
    counts = vals.value_counts()
    return pd.DataFrame(
        {
            col: pd.Series(counts.index, dtype="string"),
            f"tf_{col}": (counts.to_numpy() / max(len(vals), 1)).astype("float64"),
        }
    )


class _QuietSplink:
    """Splink logging off and its warnings silenced while linking (restored on exit)."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("splink")
        self._level = self._logger.level
        self._propagate = self._logger.propagate
        self._logger.setLevel(logging.CRITICAL + 1)
        self._logger.propagate = False
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: object) -> None:
        self._warn.__exit__(None, None, None)
        self._logger.setLevel(self._level)
        self._logger.propagate = self._propagate


def link_dump(
    index_people: pd.DataFrame,
    dump_people: pd.DataFrame,
    *,
    seed: int,
    params: LinkageParams | None = None,
    avoid_dirs: Iterable[str | os.PathLike[str]] = (),
) -> Linkage:
    """Link every dump row to the labs' patient indexes, with a measured error rate.

    Parameters
    ----------
    index_people : pandas.DataFrame
        Canonical person frame of the indexes (:mod:`labforensics.leak.people`): one row
        per (lab, IPP), ``record_id`` the patient pseudonym.
    dump_people : pandas.DataFrame
        Canonical person frame of the dump: one row per dump row,
        ``record_id`` the row id.
    seed : int
        The case seed (u sampling, decoy shuffles).
    params : LinkageParams, optional
        Model, threshold and resource parameters.
    avoid_dirs : iterable of path
        Folders (the output folder) the DuckDB spill folder must not be in.

    Returns
    -------
    Linkage
        ``links`` (one row per dump row), ``levels``, ``model``, ``fmr``,
        ``threshold``, ``comparisons``, ``timings``.

    Raises
    ------
    SchemaError
        A frame lacks contract columns or has duplicate / NA record ids.
    LinkageError
        Splink or DuckDB failed (phase and exception type named; no value).
    """

    params = params or LinkageParams()
    _check_people(index_people, "index")
    _check_people(dump_people, "dump")
    # Splink samples pairs by a hash of the record ids (u sampling, EM's pair cap) and
    # the decoy permutes rows in record-id order: with the keyed ids (HMAC of the case
    # key) the trained model, and so the links, would change with the key. The model
    # runs on ids made from the rows' place in the evidence instead; the keyed ids are
    # put back in the outputs (:func:`_restore_ids`).
    index_people, index_ids = _surrogate_ids(index_people, "i")
    dump_people, dump_ids = _surrogate_ids(dump_people, "r")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    mark_phase("prepare")
    # the model frame of the index is handed over (not kept here) so that it can be
    # released once the real index is scored, before the decoy is built
    frames = {"index": _prepare(index_people, "index")}
    dmp = _prepare(dump_people, "dump")
    em = choose_em_rules(frames["index"], dmp)  # from the fields the dump holds
    timings["prepare"] = time.perf_counter() - t0

    def make_decoy() -> tuple[pd.DataFrame, pd.DataFrame]:
        decoy_people, decoy_prov = decoys.build_decoy_index(
            index_people, seed=seed, columns=MODEL_INPUT_COLUMNS
        )
        mark_phase("decoy_score")  # (a log mark only; timed within "decoy")
        return _prepare(decoy_people, "index"), decoy_prov

    def make_relative() -> tuple[pd.DataFrame, pd.DataFrame]:
        rel_people, rel_prov = relative_decoy.build_relative_decoy(
            index_people, seed=seed, columns=MODEL_INPUT_COLUMNS
        )
        return _prepare(rel_people, "index"), rel_prov

    use_relative = params.decoy and params.relative_sample_rows > 0
    model, cand, decoy_cand, comparisons, relative = _score_privately(
        frames, dmp, make_decoy if params.decoy else None, seed, params, avoid_dirs, timings,
        em_rules=em.rules, make_relative=make_relative if use_relative else None,
    )  # fmt: skip
    t = time.perf_counter()
    mark_phase("classify")
    links, levels, fmr, threshold = _decide(cand, decoy_cand, dmp, dump_people, params, relative)
    links, levels, cand = _restore_ids(links, levels, cand, index_ids, dump_ids)
    timings["classify"] = time.perf_counter() - t
    return Linkage(
        links=links,
        levels=levels,
        model=model,
        fmr=fmr,
        threshold=float(threshold),
        comparisons=comparisons,
        timings=timings,
        candidates=cand,
        ambiguity_margin=params.ambiguity_margin,
        em_rules=em.rules,
        untrained=em.untrained,
    )


def _train(
    linker: Any, seed: int, params: LinkageParams, em_rules: tuple[str, ...] = EM_RULES
) -> None:
    """u by seeded random sampling, m by EM on tight rules, then the m floors.

    A blocked comparison is not trained on its own rule, so birth date trains first
    name + household, and full first name + postcode trains NIR + birth date (not a
    household block: relatives rarely share a full first name). ``em_rules`` are
    those :func:`~labforensics.leak.training.choose_em_rules` chose from the fields
    the dump holds (the two defaults when it holds them all).
    """
    linker.training.estimate_u_using_random_sampling(
        max_pairs=params.u_max_pairs, seed=int(seed) % (2**31)
    )
    with em_m_u_held_at_minimum():  # an m driven to 0 by EM is held at 1e-300, see _em
        for rule in em_rules:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=params.em_max_pairs, estimate_without_term_frequencies=True
            )
    _stabilise_model(linker, params)


def _score_privately(
    frames: dict[str, pd.DataFrame],
    dmp: pd.DataFrame,
    make_decoy: Callable[[], tuple[pd.DataFrame, pd.DataFrame]] | None,
    seed: int,
    params: LinkageParams,
    avoid_dirs: Iterable[str | os.PathLike[str]],
    timings: dict[str, float],
    em_rules: tuple[str, ...] = EM_RULES,
    make_relative: Callable[[], tuple[pd.DataFrame, pd.DataFrame]] | None = None,
) -> tuple[
    pd.DataFrame,
    pd.DataFrame,
    pd.DataFrame | None,
    pd.DataFrame,
    tuple[pd.DataFrame, pd.Series] | None,
]:
    """Train, score the real and the decoy indexes on the private DuckDB connection.

    ``frames["index"]`` (the index model frame) is taken out of ``frames`` and
    released once the real index is scored; ``make_decoy`` (None: no decoy run)
    builds the decoy model frame and its provenance only then, so that the two
    index frames never coexist.

    ``make_relative`` (None: none) builds the relative decoy
    (:mod:`~labforensics.leak.relative_decoy`), scored after the block decoy is
    released, for a seeded sample of ``params.relative_sample_rows`` dump rows.

    Returns the model summary, the real candidates, the decoy candidates (None
    without decoy), the comparison counts and the relative decoy's candidates
    with the sampled row ids (None without it); fills ``timings`` per phase.

    Raises
    ------
    LinkageError
        Naming the phase and the exception type only (never a value).
    """
    from splink import DuckDBAPI, Linker

    phase = "connect"
    try:
        with (
            _QuietSplink(),
            private_connection(
                memory_budget_bytes=params.memory_budget_bytes,
                threads=params.threads,
                avoid_dirs=avoid_dirs,
            ) as con,
        ):
            phase = "register"
            mark_phase("register")
            db_api = DuckDBAPI(connection=con)
            idx = frames.pop("index")
            idx_sdf = db_api.register(arrow_table(idx), dataset_display_name="index")
            dmp_sdf = db_api.register(arrow_table(dmp), dataset_display_name="dump")
            linker = Linker([dmp_sdf, idx_sdf], _settings(len(idx), params), log_level=None)
            for col in ("fn", "sn"):
                tf = db_api.register(_tf_frame(idx, col), dataset_display_name=f"tf_idx_{col}")
                linker.table_management.register_term_frequency_lookup(tf, col)
            phase, t = "blocking", time.perf_counter()
            mark_phase("blocking")
            comparisons = _count_comparisons(
                db_api, idx_sdf, dmp_sdf, params.count_sample_proportion
            )
            timings["blocking_count"] = time.perf_counter() - t
            phase, t = "training", time.perf_counter()
            mark_phase("training")
            _train(linker, seed, params, em_rules)
            timings["training"] = time.perf_counter() - t
            model = _model_summary(linker)
            phase, t = "predict", time.perf_counter()
            mark_phase("predict")
            with top_candidates_on_predict(db_api, params.top_k, None):
                pred = linker.inference.predict(warning_mode="never")
            cand = _label_candidates(fetch_table(con, pred.physical_name))
            pred.drop_table_from_database_and_remove_from_cache()
            # the real index is scored: release its frame (DuckDB's view and ours);
            # the decoy reads the dump, the decoy and the registered term frequencies
            con.unregister(idx_sdf.physical_name)
            del idx
            timings["predict"] = time.perf_counter() - t
            decoy_cand = None
            if make_decoy is not None:
                phase, t = "decoy", time.perf_counter()
                mark_phase("decoy")
                decoy_idx, decoy_prov = make_decoy()
                # the provenance (4 rows per decoy row) is not kept while scoring
                exclude = decoys.decoy_exclusions(cand, decoy_prov, params)
                del decoy_prov
                decoy_cand = decoys.score_decoy(
                    con, db_api, linker, dmp_sdf, decoy_idx, exclude, params
                )
                del decoy_idx, exclude
                timings["decoy"] = time.perf_counter() - t
            relative = None
            if make_relative is not None:
                phase, t = "relative_decoy", time.perf_counter()
                mark_phase("relative_decoy")
                relative = relative_decoy.score_relative_decoy(
                    con, db_api, linker, dmp, cand, make_relative, seed, params
                )
                timings["relative_decoy"] = time.perf_counter() - t
    except (LabForensicsError, KeyboardInterrupt, LinkageTerminated):
        raise
    except Exception as exc:
        if os.environ.get("LABFORENSICS_LINKAGE_DEBUG") == "1":  # developer switch only
            raise
        raise LinkageError(
            f"record linkage failed during {phase} ({type(exc).__name__}); "
            "no value is shown; check the input frames against the person-frame columns "
            "of labforensics.leak.people (PEOPLE_COLUMNS) and the linkage module docstring"
        ) from None
    return model, cand, decoy_cand, comparisons, relative


def _decide(
    cand: pd.DataFrame,
    decoy_cand: pd.DataFrame | None,
    dmp: pd.DataFrame,
    dump_people: pd.DataFrame,
    params: LinkageParams,
    relative: tuple[pd.DataFrame, pd.Series] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, float]:
    """Links (one row per dump row), the deciding pairs' levels, the FMR table, the threshold."""
    row_ids = dmp["unique_id"]
    fmr = (
        decoys.fmr_table(cand, decoy_cand, row_ids, params, relative)
        if params.decoy
        else pd.DataFrame()
    )
    threshold = params.threshold
    if threshold is None:
        threshold = decoys.default_threshold(fmr, params)
    decided = classify(cand, row_ids, threshold, params.ambiguity_margin)
    src = dump_people.set_index(dump_people["record_id"].astype("string"))
    links = decided.copy()
    links["source_file"] = links["row_id"].map(src["source_file"]).astype("string")
    links["source_line"] = links["row_id"].map(src["source_line"]).astype("int64")
    links = links[list(LINK_COLUMNS)].reset_index(drop=True)
    # the pair that decided each row: the link, else the relative / best candidate
    pair = links[["row_id", "match"]].copy()
    pair["record_id"] = links["patient"].fillna(links["runner_up_patient"])
    levels = pair.dropna(subset=["record_id"]).merge(
        cand[["row_id", "record_id", "lab", "weight", *COMPARISON_LEVELS]],
        on=["row_id", "record_id"],
        how="inner",
    )
    levels = levels.rename(columns={"record_id": "patient", "weight": "match_weight"})
    return links, levels.reset_index(drop=True), fmr, threshold
