"""Record linkage of a leaked dump to the labs' patient indexes (issue 13, item 3).

Inputs are the canonical person frames of ``LEAK-CONTRACT.md`` (index
``people``: one row per (lab, IPP); dump ``people``: one row per dump data
row). The model is a Fellegi-Sunter model fitted and scored by Splink 5 on a
private DuckDB connection (:mod:`labforensics.leak._duckdb`); this module only
prepares columns, states the comparisons and blocking rules, and turns the
scored pairs into one decision per dump row.

Phonetic key
------------
No maintained French phonetic library is on PyPI (``abydos``, which has
Phonex and FONEM, was last released in 2020; ``phonex`` 0.0.2 in 2021), so
:func:`french_phonetic` is a small Soundex-FR-like key written here as an
ordered list of regular-expression rewrites applied to the DISTINCT names
(vectorised per rule): French digraphs (``PH``, ``QU``, ``CH``, ``GU``,
``EAU``, ``AU``, ``OU``, ``AI``...), soft ``C``/``G``, nasal vowels (``AN``/
``EN``, ``ON``, ``IN``/``AIN``/``UN``), silent final consonants and ``E``,
doubled letters; then the vowels after the first letter are dropped. It makes
``MARTIN``/``MARTYN``, ``DUPONT``/``DUPOND``, ``GAUTHIER``/``GAUTIER``/
``GOTHIER``, ``THOMAS``/``TOMAS`` equal, which is what a blocking key needs
(it decides which pairs are compared, not whether they match).

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
(without term frequencies) on two tight blocking rules, :data:`EM_RULES`
(full birth date; full first name + postcode: not a household block), each
capped at ``em_max_pairs`` pairs by Splink's deterministic hash sample; m is
then floored (a level unseen in the sample must not veto a link; the NIR
``differs`` level at 0.02 for double attachment) and m, u rounded to 6
significant digits (:func:`_stabilise_model`). The prior is
``prior_match_share / n_index`` (about one match per dump row).

Decisions
---------
Candidates are ranked by ``match_weight`` (log2 Bayes factor) rounded to 4
decimals, then by pseudonym: log-odds do not saturate as probabilities do at
1.0, and rounding removes float noise from parallel sums. A candidate is
*eligible* when it carries person evidence (birth date exact or swapped, or a
first-name agreement, or NIR with birth date / first name) and is not a
relative: household evidence (the NIR, or surname + contact / postcode, or
contact) together with a contradiction (birth dates that differ, first names
that differ) marks a relative (a twin, a father and son of one first name), so
a candidate agreeing on NIR, birth date, surname and address but not on the
first name is not linked. A row whose candidates carry only household evidence
is ``household`` and never linked. Among eligible candidates at
or above the threshold: another patient of the same lab within
``ambiguity_margin`` bits of the best -> ``ambiguous``; else the best of
another lab at or above the threshold -> ``two_labs``; else ``unique``. Rows
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
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from labforensics.errors import LabForensicsError, ParameterError, SchemaError

__all__ = [
    "COMPARISON_LEVELS",
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

MATCH_CLASSES = ("unique", "two_labs", "ambiguous", "household", "none")


class LinkageError(LabForensicsError, RuntimeError):
    """The linkage failed; the message names the phase, never a value."""


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
        temporary folder.
    threads : int
        DuckDB threads.
    top_k : int
        Candidates kept per dump row after scoring.
    decoy : bool
        Run the decoy linkage (needed for ``.fmr`` and the default threshold).
    m_floor : float
        Lowest m of a non-null level after EM.
    nir_differs_m_floor : float
        Lowest m of the NIR ``differs`` level (double attachment).
    """

    threshold: float | None = None
    fmr_target: float = 0.01
    thresholds: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999)
    ambiguity_margin: float = 3.0
    u_max_pairs: float = 5e6
    em_max_pairs: float = 2e6
    prior_match_share: float = 0.9
    memory_budget_bytes: int = 4 * 1024**3
    threads: int = 2
    top_k: int = 8
    decoy: bool = True
    m_floor: float = 1e-4
    nir_differs_m_floor: float = 0.02

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise ParameterError("LinkageParams.threshold must be in (0, 1)")
        if not self.thresholds or any(not 0.0 < t < 1.0 for t in self.thresholds):
            raise ParameterError("LinkageParams.thresholds must be values in (0, 1)")
        if not 0.0 < self.fmr_target < 1.0:
            raise ParameterError("LinkageParams.fmr_target must be in (0, 1)")
        if self.ambiguity_margin < 0 or self.top_k < 2:
            raise ParameterError("LinkageParams: ambiguity_margin >= 0 and top_k >= 2")
        if not 0.0 < self.prior_match_share <= 1.0:
            raise ParameterError("LinkageParams.prior_match_share must be in (0, 1]")


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
        ``fmr`` (estimate), ``fmr_upper`` (decoy/real links), see
        :mod:`labforensics.leak.decoys`. Empty without a decoy run.
    threshold : float
        The threshold used for ``links``.
    comparisons : pandas.DataFrame
        Per blocking rule: ``rule``, ``marginal``, ``cumulative`` comparison
        counts (exact).
    timings : dict
        Seconds per phase.
    candidates : pandas.DataFrame
        The ``top_k`` scored candidates per dump row (ids, rounded weight and
        probability, level labels, evidence flags; no raw value), from which
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


# --------------------------------------------------------------------------- phonetic key

_PHONETIC_RULES: tuple[tuple[str, str], ...] = (
    (r"[^A-Z]", ""),
    (r"Y", "I"),
    (r"PH", "F"),
    (r"SCH|SH|CH", "S"),
    (r"QU|Q|CK", "K"),
    (r"GU(?=[EI])", "G"),
    (r"GE(?=[AOU])", "J"),
    (r"G(?=[EI])", "J"),
    (r"SC(?=[EI])", "S"),
    (r"C(?=[EI])", "S"),
    (r"C", "K"),
    (r"TH", "T"),
    (r"W", "V"),
    (r"BV", "V"),
    (r"Z", "S"),
    (r"EAU|AU", "O"),
    (r"OU", "U"),
    (r"OI", "UA"),
    (r"AI|EI", "E"),
    (r"(?:AIN|EIN|AIM|EIM|IN|IM|UN|UM)(?![AEIOU])", "1"),
    (r"(?:AN|AM|EN|EM)(?![AEIOU])", "2"),
    (r"(?:ON|OM)(?![AEIOU])", "3"),
    (r"H", ""),
    (r"(?:ER|EZ|ET)$", "E"),
    (r"[DTSXP]$", ""),
    (r"[DTSXP]$", ""),
    (r"(?<=.)E$", ""),
    (r"(.)\1+", r"\1"),
    (r"(?<=.)[AEIOU]", ""),
    (r"(.)\1+", r"\1"),
)


def french_phonetic(names: pd.Series) -> pd.Series:
    """French phonetic key of names (Soundex-FR-like; rules in the module docstring).

    Parameters
    ----------
    names : pandas.Series
        Names in comparison form (upper case, no accents), string dtype; NA kept.

    Returns
    -------
    pandas.Series
        The key (string dtype), NA where the name is NA or has no letter.
    """
    values = pd.Series(pd.unique(names.dropna()), dtype="string")
    keys = values.copy()
    for pattern, repl in _PHONETIC_RULES:
        keys = keys.str.replace(pattern, repl, regex=True)
    keys = keys.mask(keys == "")
    lookup = pd.Series(keys.to_numpy(), index=values.to_numpy())
    out = names.map(lookup)
    return out.astype("string")


# --------------------------------------------------------------------------- preparation


def _check_people(people: pd.DataFrame, what: str) -> None:
    missing = [c for c in PERSON_COLUMNS if c not in people.columns]
    if missing:
        raise SchemaError(
            f"{what} people frame lacks columns {missing}; build it with the leak readers "
            "(LEAK-CONTRACT.md, PEOPLE_COLUMNS)"
        )
    if people["record_id"].isna().any() or people["record_id"].duplicated().any():
        raise SchemaError(f"{what} people frame: record_id must be unique and not NA")


def _prepare(people: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Columns the model reads, in canonical order (sorted by record id)."""
    p = people.sort_values("record_id", kind="stable").reset_index(drop=True)
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
    out["fn_known"] = out["fn1"].notna()
    return out


def blocking_rules() -> list[tuple[str, str]]:
    """Blocking rules as (name, SQL condition) pairs, in the order Splink applies them.

    Returns
    -------
    list of (str, str)
        ``surname_phonetic+birth_year``, ``nir7``, ``birth_date+first_initial``,
        ``first_name+postcode+surname_phonetic`` (rows without dates) and
        ``birth_name_phonetic+birth_year`` (usage/birth name swapped).
    """
    return [
        ("surname_phonetic+birth_year", "l.sn_ph = r.sn_ph and l.by = r.by"),
        ("nir7", "l.nir7 = r.nir7"),
        (
            "birth_date+first_initial",
            "l.dob = r.dob and substr(l.fn1, 1, 1) = substr(r.fn1, 1, 1)",
        ),
        (
            "first_name+postcode+surname_phonetic",
            "l.fn1 = r.fn1 and l.postcode = r.postcode and l.sn_ph = r.sn_ph",
        ),
        (
            "birth_name_phonetic+birth_year",
            "(l.bn_ph = r.sn_ph or l.sn_ph = r.bn_ph) and l.by = r.by",
        ),
    ]


_NAME_EQ = (
    "(sn_l = sn_r or sn_ph_l = sn_ph_r or bn_l = sn_r or sn_l = bn_r or bn_ph_l = sn_ph_r "
    "or sn_ph_l = bn_ph_r)"
)
_CONTACT_EQ = "(phone_l = phone_r or (address_l = address_r and postcode_l = postcode_r))"
_DOB_EQ = "(dob_l = dob_r or dob_l = dob_swap_r)"

#: Per comparison: (label, SQL condition, is_null, tf column) in Splink order
#: (null level first, then decreasing agreement; the last is the else level).
COMPARISON_LEVELS: dict[str, list[tuple[str, str, bool, str | None]]] = {
    "nir": [
        ("null", "nir_l is null or nir_r is null", True, None),
        ("nir+birth_date", f"nir_l = nir_r and {_DOB_EQ}", False, None),
        ("nir+first_name", "nir_l = nir_r and fn1_l = fn1_r", False, None),
        ("nir_only_household", "nir_l = nir_r", False, None),
        ("differs", "ELSE", False, None),
    ],
    "dob": [
        ("null", "by_l is null or by_r is null", True, None),
        ("exact", "dob_l = dob_r", False, None),
        ("day_month_swap", "dob_l = dob_swap_r", False, None),
        ("year_month", "by_l = by_r and bm_l = bm_r", False, None),
        ("year", "by_l = by_r", False, None),
        ("differs", "ELSE", False, None),
    ],
    "first_name": [
        ("null", "fn1_l is null or fn1_r is null", True, None),
        ("exact", "fn_l = fn_r", False, "fn"),
        ("first_word", "fn1_l = fn1_r", False, None),
        ("jaro_winkler_0.92", "jaro_winkler_similarity(fn1_l, fn1_r) >= 0.92", False, None),
        ("jaro_winkler_0.80", "jaro_winkler_similarity(fn1_l, fn1_r) >= 0.80", False, None),
        ("differs", "ELSE", False, None),
    ],
    "household": [
        (
            "null",
            "(sn_l is null or sn_r is null) and (phone_l is null or phone_r is null) "
            "and (postcode_l is null or postcode_r is null)",
            True,
            None,
        ),
        ("surname+contact", f"{_NAME_EQ} and {_CONTACT_EQ}", False, None),
        ("surname+postcode", f"{_NAME_EQ} and postcode_l = postcode_r", False, None),
        ("surname", _NAME_EQ, False, "sn"),
        ("surname_jaro_winkler_0.88", "jaro_winkler_similarity(sn_l, sn_r) >= 0.88", False, None),
        ("contact_only", _CONTACT_EQ, False, None),
        ("differs", "ELSE", False, None),
    ],
}

#: Levels that are person evidence (make a candidate eligible for a link).
PERSON_EVIDENCE = {
    "nir": {"nir+birth_date", "nir+first_name"},
    "dob": {"exact", "day_month_swap"},
    "first_name": {"exact", "first_word", "jaro_winkler_0.92"},
}
#: Levels that are household evidence (a relative), never enough for a link.
HOUSEHOLD_EVIDENCE = {
    "nir": {"nir_only_household", "nir+birth_date", "nir+first_name"},
    "household": {"surname+contact", "surname+postcode", "contact_only"},
}
#: Levels that contradict the person: with household evidence they mark a relative
#: (a twin with another first name, a father and son of one first name born apart).
PERSON_CONFLICT = {
    "dob": {"differs"},
    "first_name": {"differs", "jaro_winkler_0.80"},
}


#: EM blocking rules (SQL), each capped at ``LinkageParams.em_max_pairs`` pairs.
EM_RULES = ("l.dob = r.dob", "l.fn = r.fn and l.postcode = r.postcode")


def _gamma_labels(comparison: str) -> dict[int, str]:
    """Splink's gamma value -> level label (null -1, else 0, first level highest)."""
    levels = COMPARISON_LEVELS[comparison]
    non_null = [lv for lv in levels if not lv[2]]
    out = {-1: "null"}
    for i, lv in enumerate(non_null):
        out[len(non_null) - 1 - i] = lv[0]
    return out


def _settings(n_index: int, params: LinkageParams):
    from splink import SettingsCreator
    from splink.internals.comparison_library import CustomComparison

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
        blocking_rules_to_generate_predictions=[cond for _, cond in blocking_rules()],
        probability_two_random_records_match=min(0.5, params.prior_match_share / max(n_index, 1)),
        retain_matching_columns=True,  # gammas come only with it; in-memory only,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=["lab"],
    )


# --------------------------------------------------------------------------- scoring helpers


def _top_candidates_sql(predict_table: str, top_k: int, exclude_table: str | None) -> str:
    """SQL: keep the ``top_k`` best candidates per dump row, with the candidate count."""
    cols = ", ".join(f"gamma_{c}" for c in COMPARISON_LEVELS)
    # Either side may hold the dump row: select both orientations.
    base = f"""
        select case when source_dataset_l = 'dump' then unique_id_l else unique_id_r end
                   as row_id,
               case when source_dataset_l = 'dump' then unique_id_r else unique_id_l end
                   as record_id,
               case when source_dataset_l = 'dump' then lab_r else lab_l end as lab,
               round(match_weight, 4) as weight, round(match_probability, 6) as probability,
               {cols}
        from {predict_table}
    """
    if exclude_table is not None:
        base = f"""
            select p.* from ({base}) p
            anti join {exclude_table} x
              on x.row_id = p.row_id and x.decoy_id = p.record_id
        """
    return f"""
        with pairs as ({base})
        select *, count(*) over (partition by row_id) as n_candidates
        from pairs
        qualify row_number() over (partition by row_id order by weight desc, record_id)
                <= {int(top_k)}
    """


def _label_candidates(cand: pd.DataFrame) -> pd.DataFrame:
    """Gamma columns -> level labels; person / household evidence flags."""
    out = cand.copy()
    person = np.zeros(len(out), dtype=bool)
    household = np.zeros(len(out), dtype=bool)
    conflict = np.zeros(len(out), dtype=bool)
    for comp in COMPARISON_LEVELS:
        labels = out.pop(f"gamma_{comp}").astype("int64").map(_gamma_labels(comp))
        out[comp] = labels.astype("string")
        if comp in PERSON_EVIDENCE:
            person |= labels.isin(PERSON_EVIDENCE[comp]).to_numpy()
        if comp in HOUSEHOLD_EVIDENCE:
            household |= labels.isin(HOUSEHOLD_EVIDENCE[comp]).to_numpy()
        if comp in PERSON_CONFLICT:
            conflict |= labels.isin(PERSON_CONFLICT[comp]).to_numpy()
    relative = household & conflict
    out["eligible"] = person & ~relative
    out["household_evidence"] = household & ~out["eligible"].to_numpy()
    out["record_id"] = out["record_id"].astype("string")
    out["row_id"] = out["row_id"].astype("string")
    out["lab"] = out["lab"].astype("string")
    out["weight"] = out["weight"].astype("float64")
    out["probability"] = out["probability"].astype("float64")
    out["n_candidates"] = out["n_candidates"].astype("int64")
    return out.sort_values(
        ["row_id", "weight", "record_id"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)


def _first_per_row(codes: np.ndarray, mask: np.ndarray, n_rows: int) -> np.ndarray:
    """Position of the first candidate under ``mask`` per row code (-1 if none)."""
    pos = np.flatnonzero(mask)
    out = np.full(n_rows, -1, dtype=np.int64)
    if len(pos):
        rows, first = np.unique(codes[pos], return_index=True)
        out[rows] = pos[first]
    return out


def classify(
    cand: pd.DataFrame, row_ids: pd.Series, threshold: float, margin: float
) -> pd.DataFrame:
    """One decision per dump row from its labelled candidates.

    Parameters
    ----------
    cand : pandas.DataFrame
        Candidates from :func:`_label_candidates`: ``row_id``, ``record_id``,
        ``lab``, ``weight`` (log2, rounded), ``probability`` (rounded),
        ``n_candidates``, ``eligible``, ``household_evidence``; sorted by
        ``row_id`` then best first (weight descending, record id ascending).
    row_ids : pandas.Series
        Every dump row id (rows without candidates become ``none``).
    threshold : float
        Probability at or above which an eligible candidate links.
    margin : float
        Ambiguity margin in bits.

    Returns
    -------
    pandas.DataFrame
        ``row_id``, ``lab``, ``patient``, ``probability``, ``match``,
        ``n_candidates``, ``runner_up_lab``, ``runner_up_patient``,
        ``runner_up_probability``, ``best_weight``, sorted by ``row_id``.
    """
    rid = pd.Series(np.sort(pd.Series(row_ids, dtype="string").to_numpy()), dtype="string")
    n = len(rid)
    codes = pd.Index(rid).get_indexer(cand["row_id"])
    if (codes < 0).any():
        raise LinkageError("a candidate belongs to no dump row (internal error)")
    lab = cand["lab"].to_numpy(dtype=object, na_value=None)
    rec = cand["record_id"].to_numpy(dtype=object, na_value=None)
    weight = cand["weight"].to_numpy(dtype="float64")
    prob = cand["probability"].to_numpy(dtype="float64")
    elig = cand["eligible"].to_numpy(dtype=bool) & (prob >= threshold)
    hhmask = cand["household_evidence"].to_numpy(dtype=bool)
    ncand_all = cand["n_candidates"].to_numpy(dtype="int64")

    first_any = _first_per_row(codes, np.ones(len(cand), dtype=bool), n)
    best = _first_per_row(codes, elig, n)
    has_best = best >= 0
    cand_best = np.where(codes >= 0, best[codes], -1)
    pos = np.arange(len(cand))
    best_lab = np.array([None] * len(cand), dtype=object)
    ok = cand_best >= 0
    best_lab[ok] = lab[cand_best[ok]]
    best_w = np.full(len(cand), np.nan)
    best_w[ok] = weight[cand_best[ok]]
    rival = elig & ok & (pos != cand_best)
    same_lab = rival & (lab == best_lab) & (weight >= best_w - margin)
    other_lab = rival & (lab != best_lab)
    amb = _first_per_row(codes, same_lab, n)
    two = _first_per_row(codes, other_lab, n)
    hh = _first_per_row(codes, hhmask, n)
    second = _first_per_row(codes, pos != np.where(codes >= 0, first_any[codes], -1), n)

    is_amb = has_best & (amb >= 0)
    is_two = has_best & ~is_amb & (two >= 0)
    is_hh = ~has_best & (hh >= 0)
    is_none = ~has_best & ~is_hh
    match = np.select(
        [is_amb, is_two, has_best, is_hh], ["ambiguous", "two_labs", "unique", "household"], "none"
    )

    def take(values: np.ndarray, at: np.ndarray, fill: object) -> np.ndarray:
        out = np.full(n, fill, dtype=values.dtype if values.dtype != object else object)
        sel = at >= 0
        out[sel] = values[at[sel]]
        return out

    shown = np.where(has_best, best, np.where(is_hh, hh, first_any))
    ru = np.where(is_amb, amb, np.where(is_two, two, np.where(is_hh, hh, second)))
    ru = np.where(is_none, first_any, ru)
    out = pd.DataFrame({"row_id": rid})
    out["lab"] = pd.Series(take(lab, np.where(has_best, best, -1), None), dtype="string")
    out["patient"] = pd.Series(take(rec, np.where(has_best, best, -1), None), dtype="string")
    out["probability"] = take(prob, shown, np.nan)
    out["match"] = pd.Series(match, dtype="string")
    out["n_candidates"] = take(ncand_all, first_any, 0).astype("int64")
    out["runner_up_lab"] = pd.Series(take(lab, ru, None), dtype="string")
    out["runner_up_patient"] = pd.Series(take(rec, ru, None), dtype="string")
    out["runner_up_probability"] = take(prob, ru, np.nan)
    out["best_weight"] = take(weight, np.where(has_best, best, -1), np.nan)
    return out


def _stabilise_model(linker, params: LinkageParams) -> None:
    """Floor and round the trained m/u values in place.

    Every non-null level's m is floored at ``params.m_floor`` (a level never seen
    among matches in the EM sample must not veto a link) and the NIR ``differs``
    level's at ``params.nir_differs_m_floor`` (double attachment: a child's NIR may
    be the other parent's); m is renormalised per comparison; m and u are rounded
    to 6 significant digits so that float noise from parallel sums cannot change a
    decision between two runs.
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
        total = sum(ms)
        for lv, m in zip(levels, ms, strict=False):
            lv.m_probability = float(f"{m / total:.6g}")
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


def _count_comparisons(db_api, idx_sdf, dmp_sdf) -> pd.DataFrame:
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    recs = count_comparisons_from_blocking_rules(
        [dmp_sdf, idx_sdf],
        blocking_rules=[cond for _, cond in blocking_rules()],
        link_type="link_only",
        unique_id_column_name="unique_id",
        source_dataset_column_name="source_dataset",
        record_sample_proportion=1.0,
    )
    names = [n for n, _ in blocking_rules()]
    return pd.DataFrame(
        {
            "rule": pd.Series(names, dtype="string"),
            "marginal": [int(r["marginal_comparison_count"]) for r in recs],
            "cumulative": [int(r["cumulative_comparison_count"]) for r in recs],
        }
    )


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
        Canonical person frame of the indexes (``LEAK-CONTRACT.md``): one row
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
    from labforensics.leak import decoys
    from labforensics.leak._duckdb import LinkageTerminated, private_connection

    params = params or LinkageParams()
    _check_people(index_people, "index")
    _check_people(dump_people, "dump")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    idx = _prepare(index_people, "index")
    dmp = _prepare(dump_people, "dump")
    decoy_idx = decoy_prov = None
    if params.decoy:
        decoy_people, decoy_prov = decoys.build_decoy_index(index_people, seed=seed)
        decoy_idx = _prepare(decoy_people, "index")
    timings["prepare"] = time.perf_counter() - t0
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
            from splink import DuckDBAPI, Linker

            phase = "register"
            db_api = DuckDBAPI(connection=con)
            idx_sdf = db_api.register(idx, dataset_display_name="index")
            dmp_sdf = db_api.register(dmp, dataset_display_name="dump")
            linker = Linker([dmp_sdf, idx_sdf], _settings(len(idx), params), log_level=None)
            for col in ("fn", "sn"):
                tf = db_api.register(_tf_frame(idx, col), dataset_display_name=f"tf_idx_{col}")
                linker.table_management.register_term_frequency_lookup(tf, col)

            phase = "blocking"
            t = time.perf_counter()
            comparisons = _count_comparisons(db_api, idx_sdf, dmp_sdf)
            timings["blocking_count"] = time.perf_counter() - t

            phase = "training"
            t = time.perf_counter()
            linker.training.estimate_u_using_random_sampling(
                max_pairs=params.u_max_pairs, seed=int(seed) % (2**31)
            )
            # EM on two tight rules: a blocked comparison is not trained on its own
            # rule, so birth date trains first name + household, and full first
            # name + postcode trains NIR + birth date (not a household block:
            # relatives rarely share a full first name).
            for rule in EM_RULES:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule,
                    max_pairs=params.em_max_pairs,
                    estimate_without_term_frequencies=True,
                )
            _stabilise_model(linker, params)
            timings["training"] = time.perf_counter() - t
            model = _model_summary(linker)

            phase = "predict"
            t = time.perf_counter()
            pred = linker.inference.predict(warning_mode="never")
            cand = con.execute(_top_candidates_sql(pred.physical_name, params.top_k, None)).df()
            pred.drop_table_from_database_and_remove_from_cache()
            cand = _label_candidates(cand)
            timings["predict"] = time.perf_counter() - t

            fmr = pd.DataFrame()
            decoy_cand = None
            if params.decoy:
                phase = "decoy"
                t = time.perf_counter()
                decoy_cand = decoys.score_decoy(
                    con, db_api, linker, dmp_sdf, decoy_idx, decoy_prov, cand, params
                )
                timings["decoy"] = time.perf_counter() - t
    except (LabForensicsError, KeyboardInterrupt, LinkageTerminated):
        raise
    except Exception as exc:
        if os.environ.get("LABFORENSICS_LINKAGE_DEBUG") == "1":  # developer switch only
            raise
        raise LinkageError(
            f"record linkage failed during {phase} ({type(exc).__name__}); "
            "no value is shown; check the input frames against LEAK-CONTRACT.md"
        ) from None

    t = time.perf_counter()
    row_ids = dmp["unique_id"]
    if params.decoy:
        fmr = decoys.fmr_table(cand, decoy_cand, row_ids, params)
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
    timings["classify"] = time.perf_counter() - t
    return Linkage(
        links=links,
        levels=levels.reset_index(drop=True),
        model=model,
        fmr=fmr,
        threshold=float(threshold),
        comparisons=comparisons,
        timings=timings,
        candidates=cand,
        ambiguity_margin=params.ambiguity_margin,
    )
