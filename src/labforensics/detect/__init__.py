"""Anomaly scoring: a seeded pyod ensemble plus declarative rules, with reasons.

``score(build_features(events, sessions))`` returns :class:`Scores`: one ranked
table per unit (``session``, ``account_day``, ``account_month``).

Scored table columns (one row per unit, sorted by ``rank``)
---------------------------------------------------------
key columns
    ``session_id``, ``lab``, ``account``, ``account_kind``, ``role``,
    ``main_module``, ``start``, ``end`` (sessions); ``lab``, ``account``,
    ``account_kind``, ``role``, ``day`` or ``month``, ``start``, ``end``
    (account-day / account-month). A hand-made table keeps its own key columns.
    Sessions then carry their explanation counts (``accessed_patients``,
    ``unexplained_patients``, ``unexplained_p``, ``unexplained_share_touched``,
    ``explain_usable``: :data:`labforensics.detect.campaigns.EXPLANATION_COLUMNS`)
    for the campaigns of unexplained reads.
``score`` (float64)
    ``ensemble + rules_score``; higher is more anomalous. A unit whose every
    export or extraction the authorisation register authorises
    (:func:`documented_by_register`) scores ``rules_score`` alone and is never
    flagged by the ensemble alone.
``rank`` (int64)
    1 = most anomalous. Ties are broken by ``score`` descending, then the unit's
    key columns ascending (``session_id``; or ``lab``, ``account``, ``day``/``month``),
    then input order.
``flagged`` (bool)
    A rule fired, or ``ensemble > threshold`` with ``threshold = median(ensemble)
    + flag_k * max(1.4826 * MAD(ensemble), 1)`` (a robust tail model of the
    ensemble score, never a fixed share: on clean data nothing may be flagged).
``ensemble`` (float64)
    Combination of the detectors: mean (``combine="mean"``, default) or mean of
    the two highest (``"top2"``) of the detector columns.
``det_<name>`` (float64)
    Each detector's score on the common scale (robust z of its decision scores):
    ``det_ecod``, ``det_iforest``, ``det_copod``, ``det_hbos``, ``det_knn``;
    ``NaN`` for a detector that was skipped (the reason is in the metadata).
``rules_score`` (float64), ``rule_<id>`` (float64)
    Weight of each rule that fired (0 otherwise) and their sum. When a whole
    :class:`~labforensics.features.Features` is scored, an account-day or
    account-month also carries the session rules fired by any of its sessions
    (same ``rule_<id>`` column; full weight for a day, half for a month:
    :data:`INHERITED_WEIGHT`), so the three rankings tell one story.
``reasons`` (list of string, :data:`~labforensics.schema.STRING_LIST`)
    Up to ``n_reasons`` reasons in words, for flagged rows and the
    ``explain_top`` best-ranked rows (missing elsewhere); the report and
    ``findings.json`` join them by ``"; "``.

Rule weights are in the ensemble's robust units; the default rules
(``detect/rules.toml``) weigh at least the flag threshold (``flag_k`` = 6), so a
unit that fires a rule ranks above every unit the ensemble alone would not flag.

Failed logins belong to no session; :func:`score_sources` ranks source addresses
by their authentication attempts instead (brute force, password spraying): a
rule-based table, see :mod:`labforensics.detect.sources`.

Examples
--------
>>> sc = score(build_features(ss.events, ss.sessions))  # doctest: +SKIP
>>> sc.session[["session_id", "rank", "score", "flagged", "reasons"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from .._repr import HEAD_ROWS, short_repr
from .._validation import Constraint, Interval, OneOf, SubsetOf, constrained, validate
from ..case import CaseContext
from ..errors import ParameterError, SchemaError
from ..features import MAD_TO_SD, Features, FeatureTable
from ..progress import progress_bar
from ..schema import check_table
from ..scored_labs import ScoredLabs, n_flagged
from .campaigns import EXPLANATION_COLUMNS
from .detectors import DETECTORS, run_detectors, standardize
from .explain import explain_rows
from .rules import Rule, apply_rules, default_rules_path, load_rules
from .sources import SourceParams, score_sources

__all__ = [
    "DETECTOR_COLUMNS_EXTRA",
    "DetectParams",
    "Scores",
    "SourceParams",
    "documented_by_register",
    "score",
    "score_sources",
]

#: Feature columns the detectors see besides every baseline ``*_z`` column, for
#: tables made by :func:`labforensics.build_features` (volumes enter through their
#: baselines, so a large but regular job is judged against its own history).
DETECTOR_COLUMNS_EXTRA: tuple[str, ...] = (
    "night_unusual",
    "weekend",
    "holiday",
    "net_other",
    "new_src_ip",
    "new_host",
    "new_module",
    "new_action",
    "failed_logins_before",
    "failed_login_src_ips",
    "concurrent_sessions",
)

#: Share of its weight that a session rule adds to the account-day and the
#: account-month holding the session: a day is mostly one or two sessions, a month
#: is a pattern of its own, which its own rules speak to.
INHERITED_WEIGHT: dict[str, float] = {"session": 1.0, "account_day": 1.0, "account_month": 0.5}

#: Identifier/time columns of hand-made tables: never features.
KEY_NAMES = frozenset(
    {
        "session_id",
        "lab",
        "site",
        "account",
        "account_kind",
        "role",
        "main_module",
        "day",
        "month",
        "start",
        "end",
    }
)
_UNIT_KEYS = {
    "session": ("session_id",),
    "account_day": ("lab", "account", "day"),
    "account_month": ("lab", "account", "month"),
}


#: Units a :class:`DetectParams.columns` mapping may name.
UNITS: tuple[str, ...] = ("session", "account_day", "account_month")


@dataclass(frozen=True)
class _RulesPath(Constraint):
    """None (the package's rules), ``""`` (no rules) or a path (read by :func:`score`)."""

    def check(self, value: Any) -> Any:
        if value is None or isinstance(value, str | os.PathLike):
            return value
        raise ValueError("is not a path")

    def describe(self) -> str:
        return 'None (the default rules), "" (no rules) or the path of a rule file'

    def invalid_examples(self) -> list[Any]:
        return [3, ["rules.toml"]]


@dataclass(frozen=True)
class _UnitColumns(Constraint):
    """None, or unit -> column names (units among :data:`UNITS`); values kept as tuples."""

    def check(self, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ValueError("is not a table unit -> columns")
        bad = [u for u in value if u not in UNITS]
        if bad:
            raise ValueError(f"names unknown unit(s) {bad}")
        out = {}
        for u, cols in value.items():
            if isinstance(cols, str) or not all(isinstance(c, str) for c in cols):
                raise ValueError(f"[{u!r}] is not a list of column names")
            out[u] = tuple(cols)
        return out

    def describe(self) -> str:
        return "None or a table unit -> list of columns, units among " + ", ".join(UNITS)

    def invalid_examples(self) -> list[Any]:
        return [{"__unknown_unit__": ("x",)}, {"session": "x"}, ["x"]]


@dataclass(frozen=True)
class DetectParams:
    """Knobs of :func:`score` (the seed and the time zone are case facts:
    ``score(..., case=)``).

    Attributes
    ----------
    detectors : tuple[str, ...]
        pyod detectors by name, among :data:`~labforensics.detect.detectors.DETECTORS`
        (``ECOD``, ``IForest``, ``COPOD``, ``HBOS``, ``KNN``, ``LOF``); an unknown
        name is refused here, not skipped at run time.
    combine : str
        ``"mean"`` of the detectors' common-scale scores, or ``"top2"`` (mean of
        the two highest per row).
    deadband : float, >= 0
        Deviations within this many robust units (after minimum scales) are noise.
    flag_k : float, > 0
        Ensemble flag threshold: ``median + flag_k * max(1.4826 * MAD, 1)``.
    n_neighbors, min_neighbors : int, >= 1
        k of KNN/LOF, clamped to ``rows - 1``; below ``min_neighbors`` they are skipped.
    min_rows : int, >= 1
        Fewer rows than this: a detector is skipped (recorded).
    max_fit_rows : int, >= 10
        KNN/LOF fit on a seeded sample of at most this many rows (20,000: pyod's
        fit queries every sample row against the sample, a cost that grows faster
        than linearly; at 185,000 sessions that self-query was most of the
        scoring time with 50,000 rows).
    iforest_estimators : int, >= 1
    hbos_bins : int, >= 2
    rules_path : str or Path, optional
        Rule file; default the package's ``detect/rules.toml``. ``""`` disables rules.
    columns : Mapping[str, tuple[str, ...]], optional
        Detector columns per unit; default every ``*_z`` column plus
        :data:`DETECTOR_COLUMNS_EXTRA` (tables from ``build_features``), or every
        numeric non-key column (hand-made tables).
    explain_top, n_reasons : int, >= 0
        Rows explained beyond the flagged ones; reasons per row.

    Raises
    ------
    ParameterError
        A value outside its allowed range (naming the field and the range).
    """

    detectors: tuple[str, ...] = constrained(
        ("ECOD", "IForest", "COPOD", "HBOS", "KNN"), SubsetOf(DETECTORS)
    )
    combine: str = constrained("mean", OneOf(("mean", "top2")))
    deadband: float = constrained(0.5, Interval(0, None))
    flag_k: float = constrained(6.0, Interval(0, None, low_open=True))
    n_neighbors: int = constrained(20, Interval(1, None, integer=True))
    min_neighbors: int = constrained(3, Interval(1, None, integer=True))
    min_rows: int = constrained(3, Interval(1, None, integer=True))
    max_fit_rows: int = constrained(20_000, Interval(10, None, integer=True))
    iforest_estimators: int = constrained(100, Interval(1, None, integer=True))
    hbos_bins: int = constrained(10, Interval(2, None, integer=True))
    rules_path: str | Path | None = constrained(None, _RulesPath())
    columns: Mapping[str, tuple[str, ...]] | None = constrained(None, _UnitColumns())
    explain_top: int = constrained(1000, Interval(0, None, integer=True))
    n_reasons: int = constrained(3, Interval(0, None, integer=True))

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class Scores:
    """Ranked scored tables and the record of how they were made.

    Attributes
    ----------
    session, account_day, account_month : pandas.DataFrame or None
        Scored tables (columns in the module doc), sorted by ``rank``; ``None``
        for a unit that was not scored.
    metadata : dict
        ``seed``, ``params``, ``versions`` (pyod, scikit-learn, numpy, pandas),
        ``rules_file``, and per unit (``metadata["units"][unit]``): ``n_rows``,
        ``columns``, ``dropped_columns`` (column -> reason), ``detectors``
        (used), ``skipped_detectors`` and ``clamped_detectors`` (name ->
        reason), ``sample_sizes``, ``rules_applied``, ``rules_skipped``,
        ``threshold``, ``n_flagged``.
    """

    session: pd.DataFrame | None = None
    account_day: pd.DataFrame | None = None
    account_month: pd.DataFrame | None = None
    metadata: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        tables = self.tables()
        flagged = {u: n_flagged(t) for u, t in tables.items() if "flagged" in t.columns}
        # scores kept a file a lab (a run over its memory budget): their head, read
        kept = {u: len(t) for u, t in tables.items() if isinstance(t, ScoredLabs)}
        shown = {u: t.head(HEAD_ROWS) if u in kept else t for u, t in tables.items()}
        return short_repr("Scores", shown, {"flagged": flagged}, rows=kept)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Scored tables by unit, skipping units not scored."""
        return {
            u: t
            for u, t in (
                ("session", self.session),
                ("account_day", self.account_day),
                ("account_month", self.account_month),
            )
            if t is not None
        }


def _versions() -> dict[str, str]:
    return {
        "labforensics": __version__,
        "pyod": metadata.version("pyod"),
        "scikit-learn": metadata.version("scikit-learn"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def _split_frame(df: pd.DataFrame) -> tuple[str, FeatureTable, bool]:
    """Infer the unit of a hand-made table and split keys from numeric features."""
    if "session_id" in df.columns:
        unit = "session"
    elif "day" in df.columns:
        unit = "account_day"
    elif "month" in df.columns:
        unit = "account_month"
    else:
        unit = "session"
    key_cols, val_cols = [], []
    for c in df.columns:
        s = df[c]
        is_num = (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)) and not (
            pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s)
        )
        if c in KEY_NAMES or not is_num:
            key_cols.append(c)
        elif not str(c).endswith("_ref"):
            val_cols.append(c)
    keys = df[key_cols].reset_index(drop=True)
    values = df[val_cols].reset_index(drop=True).astype("float64")
    kc = tuple(c for c in _UNIT_KEYS[unit] if c in keys.columns)
    return unit, FeatureTable(unit, keys, values, kc), True


def _canonical_order(table: FeatureTable) -> FeatureTable:
    """The table's rows in the order of its key columns (stable), index reset.

    The seeded detectors (IForest's subsamples, the KNN/LOF fit sample) draw rows by
    position, so scores would depend on the order the rows were given in; in key
    order the same units always get the same scores (tests/test_common.py).
    """
    keys = list(table.key_columns) or list(table.keys.columns)
    if not keys or len(table) < 2:
        return table
    order = table.keys.reset_index(drop=True).sort_values(keys, kind="mergesort").index.to_numpy()
    return FeatureTable(
        table.unit,
        table.keys.iloc[order].reset_index(drop=True),
        table.values.iloc[order].reset_index(drop=True),
        table.key_columns,
    )


def _default_columns(table: FeatureTable, hand_made: bool) -> list[str]:
    if hand_made:
        return list(table.values.columns)
    cols = [c for c in table.values.columns if c.endswith("_z")]
    cols += [c for c in DETECTOR_COLUMNS_EXTRA if c in table.values.columns]
    return cols


def _scored_rows(
    keys: pd.DataFrame,
    frame: pd.DataFrame,
    ens: np.ndarray,
    det: dict[str, np.ndarray],
    rule_cols: dict[str, np.ndarray],
    fired: dict[str, np.ndarray],
    threshold: float,
    detectors: Any,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One unit's scored rows: the score (ensemble, zero for a row the register wholly
    authorises, plus the rules' weights), the flag (a rule fired, or the ensemble above
    ``threshold`` and not documented by the register), the ensemble, each detector and
    each rule column; with the score and the flag as arrays. Shared by :func:`score`
    and the per-lab engine (:mod:`labforensics.engine.model`)."""
    n = len(keys)
    rules_score = np.sum(list(rule_cols.values()), axis=0) if rule_cols else np.zeros(n)
    documented = documented_by_register(frame)
    total = np.where(documented, 0.0, ens) + rules_score
    any_rule = np.zeros(n, dtype=bool)
    for f in fired.values():
        any_rule |= f
    flagged = any_rule | ((ens > threshold) & ~documented)
    out = keys.reset_index(drop=True).copy()
    out["score"] = total
    out["flagged"] = flagged
    out["ensemble"] = ens
    for d in detectors:
        out[f"det_{d.lower()}"] = det[d] if d in det else np.nan
    out["rules_score"] = rules_score
    for c, v in rule_cols.items():
        out[c] = v
    if "session_id" in keys.columns:  # carried for the campaigns of unexplained reads
        for c in EXPLANATION_COLUMNS:  # (detect.campaigns.group_campaigns)
            if c in frame.columns:
                out[c] = frame[c].to_numpy()
    return out, total, flagged


def _robust_threshold(ens: np.ndarray, k: float) -> float:
    med = float(np.median(ens))
    mad = float(np.median(np.abs(ens - med)))
    return med + k * max(MAD_TO_SD * mad, 1.0)


def _score_table(
    table: FeatureTable,
    params: DetectParams,
    case: CaseContext,
    rules: list[Rule],
    hand_made: bool,
    inherited: dict[str, np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict, dict[str, np.ndarray]]:
    """Scores, rank, flags and reasons of one table's rows; its metadata; rules fired on it."""
    unit = table.unit
    n = len(table)
    std = standardize(table.values[_detector_columns(table, params, hand_made)], params.deadband)
    det, notes = run_detectors(std.X, params, seed=case.seed,
                               **({"progress": progress} if progress is not None else {}))  # fmt: skip
    names, ens = _ensemble(det, params, n)
    frame = pd.concat(
        [table.keys.reset_index(drop=True), table.values.reset_index(drop=True)], axis=1
    )
    fired, rules_skipped = apply_rules(frame, rules, unit)
    own_fired = dict(fired)
    for rid, f in (inherited or {}).items():
        fired[rid] = f
    rule_cols = _rule_columns(fired, rules, unit, inherited)
    thr = _robust_threshold(ens, params.flag_k) if n else float("nan")
    out, total, flagged = _scored_rows(table.keys, frame, ens, det, rule_cols, fired, thr,
                                       params.detectors)  # fmt: skip
    order, rank = _ranking(out, total, table.key_columns)
    out["rank"] = rank
    # reasons for flagged and top-ranked rows
    explain = np.flatnonzero(flagged | (rank <= params.explain_top))
    _add_local_start(frame, explain, case.tz)
    out["reasons"] = explain_rows(
        frame, std, fired, rules, explain, params.n_reasons, set(inherited or ())
    ).to_numpy()
    lead = [c for c in out.columns if c in table.keys.columns]
    lead += [c for c in EXPLANATION_COLUMNS if c in out.columns and c not in lead]
    rest = ["score", "rank", "flagged", "ensemble"] + [
        c for c in out.columns if c.startswith("det_")
    ]
    rest += ["rules_score", *rule_cols, "reasons"]
    out = out[lead + rest].iloc[order].reset_index(drop=True)
    meta = {
        "n_rows": int(n),
        "columns": std.columns,
        "dropped_columns": std.dropped,
        "detectors": names,
        "skipped_detectors": notes["skipped"],
        "clamped_detectors": notes["clamped"],
        "sample_sizes": notes["sample_sizes"],
        "rules_applied": sorted(own_fired),
        "rules_inherited": sorted(inherited or ()),
        "rules_skipped": rules_skipped,
        "threshold": thr,
        "n_flagged": int(flagged.sum()),
        "combine": params.combine,
    }
    return out, meta, own_fired


def documented_by_register(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose every export or extraction the authorisation register authorises.

    Parameters
    ----------
    frame : pandas.DataFrame
        A unit table with ``ops_authorised`` (operations ``authorised``) and
        ``records_not_authorised`` (records of operations not ``authorised``), as
        :func:`labforensics.features.build_features` gives sessions with an
        exports table; a table without them has no documented row.

    Returns
    -------
    numpy.ndarray of bool, shape (n_rows,)
        At least one operation authorised and no record sent out otherwise
        (``beyond``, ``unregistered``, ``undetermined`` and ``unknown`` records
        count as not authorised).

    Notes
    -----
    ``shared/formats/authorisations.md``: an ``authorised`` operation "is shown and
    counted, and is not an incident by itself". Such a session is documented work:
    a ticket names its account, lab, window, limit and destination, so what makes
    it unusual to the detectors (a new migration account at night from the vendor's
    address, a month's billing volume) is what the ticket describes. :func:`score`
    leaves its ensemble out of its score and of the flags (the ``ensemble`` column
    keeps the value); rules still fire on it (reads of unexplained patients, failed
    logins, a new address after failures), so a compromised account doing
    authorised work is judged by them.
    """
    n = len(frame)
    if "ops_authorised" not in frame.columns or "records_not_authorised" not in frame.columns:
        return np.zeros(n, dtype=bool)
    ok = pd.to_numeric(frame["ops_authorised"], errors="coerce").fillna(0).to_numpy() > 0
    rest = pd.to_numeric(frame["records_not_authorised"], errors="coerce").fillna(0).to_numpy()
    return ok & (rest <= 0)


def _detector_columns(table: FeatureTable, params: DetectParams, hand_made: bool) -> list[str]:
    """Feature columns the detectors read: ``params.columns[unit]`` (checked), else the default."""
    unit = table.unit
    if params.columns is not None and unit in params.columns:
        cols = list(params.columns[unit])
        missing = [c for c in cols if c not in table.values.columns]
        if missing:
            raise ParameterError(
                f"DetectParams.columns[{unit!r}] names columns the table lacks: {missing}"
            )
        return cols
    return _default_columns(table, hand_made)


def _ensemble(
    det: dict[str, np.ndarray], params: DetectParams, n: int
) -> tuple[list[str], np.ndarray]:
    """Detectors that ran (in ``params.detectors`` order) and their combined score per row."""
    names = [d for d in params.detectors if d in det]
    if not names:
        return names, np.zeros(n)
    D = np.column_stack([det[d] for d in names])
    if params.combine == "top2" and D.shape[1] >= 2:
        return names, np.sort(D, axis=1)[:, -2:].mean(axis=1)
    return names, D.mean(axis=1)


def _rule_columns(
    fired: dict[str, np.ndarray],
    rules: list[Rule],
    unit: str,
    inherited: dict[str, np.ndarray] | None,
) -> dict[str, np.ndarray]:
    """``rule_<id>`` score column per rule fired: its weight where it fired (inherited: scaled)."""
    by_id = {r.id: r for r in rules}
    return {
        f"rule_{rid}": np.where(
            f,
            by_id[rid].weight * (INHERITED_WEIGHT[unit] if rid in (inherited or {}) else 1.0),
            0.0,
        )
        for rid, f in fired.items()
    }


def _ranking(
    out: pd.DataFrame, total: np.ndarray, key_columns: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Row order and 1-based rank: score desc, then key columns asc, then input order."""
    n = len(out)
    kc = [c for c in key_columns if c in out.columns]
    order_df = pd.DataFrame({"_s": -total, "_i": np.arange(n)})
    for c in kc:
        order_df[c] = out[c].to_numpy()
    order = order_df.sort_values(
        ["_s", *kc, "_i"], kind="stable", na_position="last"
    ).index.to_numpy()
    rank = np.empty(n, dtype="int64")
    rank[order] = np.arange(1, n + 1)
    return order, rank


def _add_local_start(frame: pd.DataFrame, explain: np.ndarray, tz: str) -> None:
    """Add ``start_local`` (``HH:MM`` in the case's zone) on the rows explained, for reasons."""
    if "start" in frame.columns and len(explain):
        st = pd.to_datetime(frame["start"].iloc[explain], utc=True).dt.tz_convert(tz)
        frame["start_local"] = pd.Series(pd.NA, index=frame.index, dtype="object")
        frame.loc[frame.index[explain], "start_local"] = st.dt.strftime("%H:%M").to_numpy()


def score(
    features: Features | FeatureTable | pd.DataFrame,
    params: DetectParams | None = None,
    *,
    case: CaseContext | None = None,
    progress: bool = False,
) -> Scores:
    """Score units for anomaly: pyod ensemble + rules, ranked, with reasons.

    Parameters
    ----------
    features : Features, FeatureTable or pandas.DataFrame
        Output of :func:`labforensics.build_features` (every unit scored), one of
        its tables, or one hand-made table (unit inferred: ``session_id`` ->
        session, ``day`` -> account-day, ``month`` -> account-month; key and
        time columns, non-numeric columns and ``*_ref`` columns are not features).
    params : DetectParams, optional
        The knobs; ``DetectParams()`` when omitted.
    case : CaseContext, optional
        The case's facts: ``seed`` (every seeded step) and ``tz`` (``start_local``
        in reasons); ``CaseContext()`` when omitted (seed 0, the default zone).
    progress : bool, default False
        Show a bar (``tqdm.auto``: the console, or a widget in a notebook) that
        moves per detector of each unit, with the time left (stderr).

    Returns
    -------
    Scores
        Scored tables (columns in the module doc) and ``metadata``. Scoring the
        same input twice gives bit-identical scores and the same order.

    Raises
    ------
    SchemaError
        When ``features`` is none of the accepted types, or
        (:class:`~labforensics.errors.MissingColumnsError`) a feature table's keys
        lack its unit's key columns (``session_id``; ``lab``, ``account``, ``day``
        or ``month``), all missing columns named.
    ParameterError
        On an invalid rule file or unknown detector columns.
    """
    _check_features(features)
    params = params or DetectParams()
    case = case or CaseContext()
    if isinstance(features, Features):
        features = dataclasses.replace(
            features, **{u: _canonical_order(t) for u, t in features.tables().items()}
        )
        tables = [(t, False) for t in features.tables().values()]
    elif isinstance(features, FeatureTable):
        tables = [(_canonical_order(features), False)]
    elif isinstance(features, pd.DataFrame):
        _, t, hm = _split_frame(features)
        tables = [(_canonical_order(t), hm)]
    else:
        raise SchemaError(
            f"score() takes Features, a FeatureTable or a DataFrame, not {type(features).__name__}"
        )
    if params.rules_path == "":
        rules, rules_file = [], None
    else:
        rules = load_rules(params.rules_path)
        rules_file = str(params.rules_path or default_rules_path())
    res = Scores()
    pdict = {
        k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(params).items()
    }
    res.metadata = {
        "seed": case.seed,
        "tz": case.tz,
        "params": pdict,
        "versions": _versions(),
        "rules_file": rules_file,
        "units": {},
    }
    session_fired: dict[str, np.ndarray] = {}
    with progress_bar(total=len(tables) * len(params.detectors), desc="detectors",
                      unit="detector", enabled=bool(progress), mininterval=0) as bar:  # fmt: skip
        for t, hm in tables:
            inherited = None
            if isinstance(features, Features) and t.unit != "session" and session_fired:
                inherited = _inherit(features, t, session_fired)

            def step(name: str, unit: str = t.unit) -> None:
                bar.set_postfix_str(f"{unit} {name}", refresh=False)
                bar.update(1)

            out, meta, fired = _score_table(t, params, case, rules, hm, inherited,
                                            step if progress else None)  # fmt: skip
            if t.unit == "session":
                session_fired = fired
            setattr(res, t.unit, out)
            res.metadata["units"][t.unit] = meta
    return res


def _check_features(features: object) -> None:
    """Each feature table's keys hold its unit's key columns (:func:`schema.check_table`).

    A hand-made DataFrame is not checked here: its unit is inferred from its columns.
    """
    if isinstance(features, Features):
        tables = list(features.tables().values())
    elif isinstance(features, FeatureTable):
        tables = [features]
    else:
        return
    for t in tables:
        check_table(t.keys, _UNIT_KEYS.get(t.unit, ()), f"score: {t.unit} keys")


def _inherit(
    features: Features, table: FeatureTable, session_fired: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Session rules that fired, carried up to the account-day or account-month holding the session.

    A session belongs to the day and month of its local start (as in
    :func:`labforensics.build_features`).
    """
    period = "day" if table.unit == "account_day" else "month"
    fmt = "%Y-%m-%d" if period == "day" else "%Y-%m"
    sk = features.session.keys
    loc = pd.to_datetime(sk["start"], utc=True).dt.tz_convert(features.tz)
    s = pd.DataFrame(
        {
            "lab": sk["lab"].astype("object").to_numpy(),
            "account": sk["account"].astype("object").to_numpy(),
            period: loc.dt.strftime(fmt).astype("object").to_numpy(),
        }
    )
    for rid, f in session_fired.items():
        s[rid] = f
    agg = s.groupby(["lab", "account", period], sort=False).max()
    k = table.keys[["lab", "account", period]].astype("object")
    idx = pd.MultiIndex.from_frame(k)
    return {rid: agg[rid].reindex(idx).fillna(False).to_numpy(dtype=bool) for rid in session_fired}
