"""The detector model: fitted once on a stratified sample, applied lab by lab.

:func:`labforensics.score` fits the pyod ensemble on every row of a table; that needs
every lab's features at once. Here the *model* of a unit (session, account-day,
account-month) is fitted on a sample and then applied to each lab's rows on their own,
so no lab needs another's rows:

Sample (:func:`sample_allocation`, :func:`lab_sample`)
    Stratified by lab with proportional allocation: a lab with ``n_l`` of the unit's
    ``N`` rows gives ``min(n_l, max(1, round(M * n_l / N)))`` rows, ``M`` being
    ``DetectParams.max_fit_rows`` (20,000); when ``N <= M`` every row is taken (the
    sample is the table). Rows are drawn without replacement by
    ``numpy.random.default_rng([case seed, crc32(lab), unit index])`` from the lab's rows
    in key order, so a lab's sample depends only on the case seed, the lab, and the
    allocation.
Model (:func:`fit_models`), from the sample in key order
    * the standardisation's per-column median and scale and the columns kept
      (:func:`labforensics.detect.detectors.standardize`: population statistics taken
      from the sample);
    * each detector fitted on the standardised sample. IForest, HBOS, KNN and LOF are
      pyod's, applied with ``decision_function`` (KNN/LOF: each distinct row queried
      once, against the sample). ECOD and COPOD are applied *inductively*
      (:class:`InductiveECDF`): a row's left and right tail probabilities are taken
      against the sample's empirical distribution (the row itself counted once:
      ``(count + 1) / (n + 1)``), the skewness sign from the sample; pyod's own
      ``decision_function`` re-computes the distribution over the sample and the rows
      scored together, which would make a row's score depend on its partition;
    * each detector's common scale (median and scale of its sample scores, as
      :func:`labforensics.detect.detectors.to_common_scale`), and the flag threshold
      ``median + flag_k * max(1.4826 * MAD, 1)`` of the sample's ensemble score.
Application (:func:`score_lab`, per lab) and ranking (:func:`scores_from_labs`)
    Rules, inherited session rules, the register's documentation and reasons are
    per row, as in :func:`labforensics.score`. Reasons are written for each lab's
    flagged rows and its ``explain_top`` best-ranked (a superset of the global top);
    the client ranks every lab's rows together (score, then key columns: exact) and
    keeps reasons for the flagged and the globally top-ranked rows only.

Exact against a whole-table fit: nothing when ``N > M``; with ``N <= M`` the
standardisation, IForest, HBOS, the thresholds and the rules are the whole-table ones,
while ECOD/COPOD (inductive) and KNN (a row counts itself among its neighbours) differ
from pyod's in-sample scores: the one change of findings of this engine
(docs/NOTES.md, session 5).
"""

from __future__ import annotations

import dataclasses
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import skew

from ..case import CaseContext
from ..detect import DetectParams, Scores
from ..detect import _add_local_start as add_local_start
from ..detect import _canonical_order as canonical_order
from ..detect import _detector_columns as detector_columns
from ..detect import _ensemble as ensemble
from ..detect import _inherit as inherit
from ..detect import _ranking as ranking
from ..detect import _robust_threshold as robust_threshold
from ..detect import _rule_columns as rule_columns
from ..detect import _scored_rows as scored_rows
from ..detect import _versions as versions
from ..detect.detectors import Q90_TO_SD, Standardized, _make, standardize
from ..detect.explain import explain_rows
from ..detect.rules import apply_rules, default_rules_path, load_rules
from ..features import MAD_TO_SD, Features, FeatureTable, feature_spec

__all__ = [
    "InductiveECDF",
    "UnitModel",
    "fit_models",
    "lab_sample",
    "sample_allocation",
    "score_lab",
    "scores_from_labs",
]

UNITS: tuple[str, ...] = ("session", "account_day", "account_month")


def sample_allocation(
    counts: dict[Any, dict[str, int]], params: DetectParams
) -> dict[Any, dict[str, int]]:
    """Rows each lab gives to each unit's fit sample (proportional allocation).

    Parameters
    ----------
    counts : dict
        lab -> unit -> rows of the lab's table.
    params : DetectParams
        ``max_fit_rows`` (``M``).

    Returns
    -------
    dict
        lab -> unit -> sample rows: every row when the unit has at most ``M`` rows in
        all, else ``min(n_l, max(1, round(M * n_l / N)))``.
    """
    m = params.max_fit_rows
    out: dict[Any, dict[str, int]] = {lab: {} for lab in counts}
    for u in UNITS:
        total = sum(c.get(u, 0) for c in counts.values())
        for lab, c in counts.items():
            n = c.get(u, 0)
            out[lab][u] = n if total <= m else (min(n, max(1, round(m * n / total))) if n else 0)
    return out


def lab_sample(features: Features, alloc: dict[str, int], lab: str | None, seed: int
               ) -> dict[str, FeatureTable]:  # fmt: skip
    """One lab's sample rows of each unit (see the module doc), in key order."""
    out = {}
    for i, (u, t) in enumerate(features.tables().items()):
        t = canonical_order(t)
        k, n = alloc.get(u, 0), len(t)
        if k >= n:
            out[u] = t
            continue
        rng = np.random.default_rng([seed, zlib.crc32(str(lab).encode("utf-8")), i])
        idx = np.sort(rng.choice(n, size=k, replace=False))
        out[u] = FeatureTable(u, t.keys.iloc[idx].reset_index(drop=True),
                              t.values.iloc[idx].reset_index(drop=True), t.key_columns)  # fmt: skip
    return out


class InductiveECDF:
    """ECOD or COPOD applied against a fitted sample (see the module doc).

    ``score(X)`` is, per row, the sum over columns of ECOD's ``max(U_l, U_r, U_skew)``
    or COPOD's ``max(U_skew, (U_l + U_r) / 2)``, with ``U_l = -log F(x)`` and
    ``U_r = -log G(x)``, ``F(x) = (#{s <= x} + 1) / (n + 1)``, ``G(x) = (#{s >= x} + 1)
    / (n + 1)`` over the sample ``s`` (Li et al. 2022, ECOD; Li et al. 2020, COPOD).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def fit(self, X: np.ndarray) -> InductiveECDF:
        self.sorted_ = np.sort(X, axis=0)
        with np.errstate(all="ignore"):
            self.skew_ = np.nan_to_num(np.sign(skew(X, axis=0)))
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        n = self.sorted_.shape[0]
        out = np.zeros(X.shape[0])
        for j in range(X.shape[1]):  # a loop per column
            s = self.sorted_[:, j]
            le = np.searchsorted(s, X[:, j], side="right")
            ge = n - np.searchsorted(s, X[:, j], side="left")
            u_l = -np.log((le + 1) / (n + 1))
            u_r = -np.log((ge + 1) / (n + 1))
            sk = self.skew_[j]
            u_skew = u_l * -1 * np.sign(sk - 1) + u_r * np.sign(sk + 1)
            if self.kind == "ECOD":
                o = np.maximum(np.maximum(u_l, u_r), u_skew)
            else:
                o = np.maximum(u_skew, (u_l + u_r) / 2)
            out += o
        return out


@dataclass
class UnitModel:
    """A unit's fitted model (picklable: sent to the workers)."""

    unit: str
    input_columns: list[str]
    columns: list[str]
    center: dict[str, float]
    scale: dict[str, float]
    dropped: dict[str, str]
    detectors: dict[str, Any] = field(default_factory=dict)
    calib: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    threshold: float = float("nan")
    skipped: dict[str, str] = field(default_factory=dict)
    clamped: dict[str, str] = field(default_factory=dict)
    sample_sizes: dict[str, int] = field(default_factory=dict)
    n_sample: int = 0


def transform(values: pd.DataFrame, model: UnitModel, deadband: float) -> Standardized:
    """Standardise a lab's feature columns with the model's medians and scales."""
    mats = []
    for c in model.columns:
        x = pd.to_numeric(values[c], errors="coerce").astype("float64").to_numpy()
        finite = np.isfinite(x)
        spec = feature_spec(c)
        z = np.where(finite, (x - model.center[c]) / model.scale[c], 0.0)
        z = np.sign(z) * np.maximum(np.abs(z) - deadband, 0.0)
        if spec.direction == "high":
            z = np.maximum(z, 0.0)
        mats.append(np.sign(z) * np.log1p(np.abs(z)) + 0.0)
    X = np.column_stack(mats) if mats else np.zeros((len(values), 0))
    return Standardized(np.ascontiguousarray(X, dtype="float64"), list(model.columns),
                        dict(model.center), dict(model.scale), dict(model.dropped))  # fmt: skip


def _raw(est: Any, X: np.ndarray) -> np.ndarray:
    """Raw decision scores, each distinct row computed once."""
    if not len(X):
        return np.zeros(0)
    uniq, inverse = np.unique(X, axis=0, return_inverse=True)
    return np.asarray(est.decision_function(uniq), dtype="float64")[inverse.ravel()]


def _calibration(s: np.ndarray) -> tuple[float, float, float]:
    """(median, scale, top) of raw scores: :func:`~labforensics.detect.detectors.to_common_scale`'s."""
    fin = np.isfinite(s)
    top = float(s[fin].max()) if fin.any() else 0.0
    s = np.where(fin, s, top)
    med = float(np.median(s))
    sc = max(MAD_TO_SD * float(np.median(np.abs(s - med))),
             (float(np.quantile(s, 0.9)) - med) / Q90_TO_SD)  # fmt: skip
    if sc <= 0:
        sc = float(np.mean(np.abs(s - med)))
    if sc <= 0:
        sc = 1.0
    return med, sc, top


def _common(s: np.ndarray, calib: tuple[float, float, float]) -> np.ndarray:
    med, sc, top = calib
    s = np.where(np.isfinite(s), s, top)
    return (s - med) / sc + 0.0


def _fit_unit(sample: FeatureTable, params: DetectParams, seed: int,
              step: Callable[[str, str], None]) -> UnitModel:  # fmt: skip
    cols = detector_columns(sample, params, False)
    std = standardize(sample.values[cols], params.deadband)
    model = UnitModel(sample.unit, cols, std.columns, std.center, std.scale, std.dropped,
                      n_sample=len(sample))  # fmt: skip
    X, n = std.X, std.X.shape[0]
    if n == 0 or X.shape[1] == 0:
        why = "no rows" if n == 0 else "no feature column varies"
        model.skipped = {d: f"skipped: {why}" for d in params.detectors}
        for d in params.detectors:
            step(sample.unit, d)
        return model
    det = {}
    for name in params.detectors:
        step(sample.unit, name)
        if name in ("ECOD", "COPOD"):
            est, note = InductiveECDF(name), None
        else:
            est, note = _make(name, n, params, seed)
        if est is None:
            model.skipped[name] = note or "skipped"
            continue
        if note:
            model.clamped[name] = note
        if n < params.min_rows:
            model.skipped[name] = f"skipped: {n} rows, fewer than min_rows={params.min_rows}"
            continue
        try:
            est.fit(X)
            raw = _raw(est, X)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            model.skipped[name] = f"skipped: {type(exc).__name__}: {exc}"
            continue
        model.detectors[name] = est
        model.calib[name] = _calibration(raw)
        model.sample_sizes[name] = n
        det[name] = _common(raw, model.calib[name])
    model.names, ens = ensemble(det, params, n)
    model.threshold = robust_threshold(ens, params.flag_k)
    return model


def fit_models(samples: list[dict[str, FeatureTable]], params: DetectParams,
               case: CaseContext, step: Callable[[str, str], None] | None = None,
               ) -> dict[str, UnitModel]:  # fmt: skip
    """Each unit's model from every lab's sample rows (in key order, as one table).

    ``step(unit, detector)`` is called as each detector of each unit is fitted (a
    progress bar's step).
    """
    models = {}
    for u in UNITS:
        ts = [s[u] for s in samples if u in s]
        if not ts:
            continue
        t = FeatureTable(u, pd.concat([x.keys for x in ts], ignore_index=True),
                         pd.concat([x.values for x in ts], ignore_index=True),
                         ts[0].key_columns)  # fmt: skip
        with warnings.catch_warnings():
            models[u] = _fit_unit(canonical_order(t), params, case.seed,
                                  step or (lambda unit, name: None))  # fmt: skip
    return models


def _rules(params: DetectParams) -> list[Any]:
    return [] if params.rules_path == "" else load_rules(params.rules_path)


def score_lab(part: Any, models: dict[str, UnitModel], params: DetectParams,
              case: CaseContext) -> dict[str, Any]:  # fmt: skip
    """One lab's scored tables (unranked, key order) with the model (see the module doc).

    Returns
    -------
    dict
        unit -> ``{"out": DataFrame, "rules_applied": [...], "rules_inherited": [...],
        "rules_skipped": {...}}``; ``out`` has the columns of
        :func:`labforensics.score`'s tables but ``rank``.
    """
    features: Features = part.features
    rules = _rules(params)
    res: dict[str, Any] = {}
    session_fired: dict[str, np.ndarray] = {}
    feats = dataclasses.replace(
        features, **{u: canonical_order(t) for u, t in features.tables().items()}
    )
    for u, t in feats.tables().items():
        model = models[u]
        n = len(t)
        inherited = inherit(feats, t, session_fired) if u != "session" and session_fired else None
        std = transform(t.values, model, params.deadband)
        det = {d: _common(_raw(model.detectors[d], std.X), model.calib[d])
               for d in model.names}  # fmt: skip
        _, ens = ensemble(det, params, n)
        frame = pd.concat([t.keys.reset_index(drop=True), t.values.reset_index(drop=True)],
                          axis=1)  # fmt: skip
        fired, rules_skipped = apply_rules(frame, rules, u)
        own = dict(fired)
        for rid, f in (inherited or {}).items():
            fired[rid] = f
        rcols = rule_columns(fired, rules, u, inherited)
        out, total, flagged = scored_rows(t.keys, frame, ens, det, rcols, fired,
                                          model.threshold, params.detectors)  # fmt: skip
        _, local_rank = ranking(out, total, t.key_columns)
        explain = np.flatnonzero(flagged | (local_rank <= params.explain_top))
        add_local_start(frame, explain, case.tz)
        out["reasons"] = explain_rows(frame, std, fired, rules, explain, params.n_reasons,
                                      set(inherited or ())).to_numpy()  # fmt: skip
        if u == "session":
            session_fired = own
        res[u] = {"out": out, "key_columns": t.key_columns, "rule_columns": list(rcols),
                  "rules_applied": sorted(own), "rules_inherited": sorted(inherited or ()),
                  "rules_skipped": rules_skipped}  # fmt: skip
    return res


def scores_from_labs(scored: list[dict[str, Any]], models: dict[str, UnitModel],
                     params: DetectParams, case: CaseContext) -> Scores:  # fmt: skip
    """Every lab's scored rows ranked together, as :func:`labforensics.score` returns them.

    Rows are put in key order (the order :func:`labforensics.score` ranks from), ranked
    by score then keys; reasons are kept for flagged rows and the ``explain_top``
    best-ranked, blanked elsewhere.
    """
    res = Scores()
    res.metadata = scores_metadata(params, case)
    for u in UNITS:
        labs = [s[u] for s in scored if u in s]
        if not labs or u not in models:
            continue
        model = models[u]
        kc = labs[0]["key_columns"]
        rcols = sorted({c for x in labs for c in x["rule_columns"]})
        frames = []
        for x in labs:
            f = x["out"]
            for c in rcols:
                if c not in f:
                    f[c] = 0.0
            frames.append(f)
        out = pd.concat(frames, ignore_index=True)
        if len(out) > 1 and kc:
            key_order = out[list(kc)].sort_values(list(kc), kind="mergesort").index.to_numpy()
            out = out.iloc[key_order].reset_index(drop=True)
        total = out["score"].to_numpy(dtype="float64")
        order, rank = ranking(out, total, kc)
        out["rank"] = rank
        keep = out["flagged"].to_numpy(dtype=bool) | (rank <= params.explain_top)
        out["reasons"] = np.where(keep, out["reasons"].to_numpy(), None)
        out["reasons"] = out["reasons"].where(keep, pd.NA)
        cols = score_columns(list(frames[0].columns), labs)
        out = out[cols].iloc[order].reset_index(drop=True)
        setattr(res, u, out)
        res.metadata["units"][u] = unit_metadata(model, labs, len(out), int(out["flagged"].sum()),
                                                 params)  # fmt: skip
    return res


def score_columns(first: list[str], labs: list[dict[str, Any]]) -> list[str]:
    """The column order of :func:`labforensics.score`'s tables: keys, scores, detectors,
    rules, reasons; keys and detectors as in the first lab's rows (``first``, its columns),
    the rule columns in the order the labs (:func:`score_lab`'s entries) name them."""
    keys = [c for c in first if c not in _SCORE_COLUMNS and not c.startswith(("det_", "rule_"))]
    dets = [c for c in first if c.startswith("det_")]
    rule_order = list(dict.fromkeys(c for x in labs for c in x["rule_columns"]))
    return [*keys, "score", "rank", "flagged", "ensemble", *dets, "rules_score", *rule_order,
            "reasons"]  # fmt: skip


def scores_metadata(params: DetectParams, case: CaseContext) -> dict[str, Any]:
    """:attr:`Scores.metadata` of a run but its ``units`` (empty), as
    :func:`scores_from_labs` starts it."""
    pdict = {k: (str(v) if isinstance(v, Path) else v)
             for k, v in dataclasses.asdict(params).items()}  # fmt: skip
    return {
        "seed": case.seed,
        "tz": case.tz,
        "params": pdict,
        "versions": versions(),
        "rules_file": None if params.rules_path == "" else str(params.rules_path
                                                              or default_rules_path()),
        "units": {},
    }  # fmt: skip


def unit_metadata(model: UnitModel, labs: list[dict[str, Any]], n_rows: int, n_flagged: int,
                  params: DetectParams) -> dict[str, Any]:  # fmt: skip
    """One unit's ``metadata["units"]`` entry: its model, the rules of its labs (the
    ``rules_*`` entries of :func:`score_lab`'s result, in lab order), rows and flags."""
    return {
        "n_rows": int(n_rows),
        "columns": list(model.columns),
        "dropped_columns": dict(model.dropped),
        "detectors": list(model.names),
        "skipped_detectors": dict(model.skipped),
        "clamped_detectors": dict(model.clamped),
        "sample_sizes": dict(model.sample_sizes),
        "rules_applied": sorted({r for x in labs for r in x["rules_applied"]}),
        "rules_inherited": sorted({r for x in labs for r in x["rules_inherited"]}),
        "rules_skipped": {k: v for x in labs for k, v in x["rules_skipped"].items()},
        "threshold": model.threshold,
        "n_flagged": int(n_flagged),
        "combine": params.combine,
        "fit_sample_rows": int(model.n_sample),
    }


_SCORE_COLUMNS = frozenset({"score", "rank", "flagged", "ensemble", "rules_score", "reasons"})
