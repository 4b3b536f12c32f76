"""The pyod ensemble: robust standardisation, seeded detectors, one score scale.

Standardisation (:func:`standardize`), per feature column ``x`` with spec
:func:`labforensics.features.feature_spec`:

1. columns that are all missing, or constant, are dropped (and recorded);
2. ``z = (x - median) / max(1.4826 * MAD, min_scale)``; columns that are
   already robust z-scores (``*_z*``, unit ``"robust z"``) keep ``z = x``;
3. deviations within ``deadband`` robust units are not evidence:
   ``z = sign(z) * max(|z| - deadband, 0)`` (with a minimum scale of 60 s and a
   dead band of 0.5, a session one second longer than its twelve identical
   siblings is *identical* to them, case 008 b);
4. ``direction == "high"`` features keep only the upper side: ``z = max(z, 0)``;
5. ``z = sign(z) * log1p(|z|)`` so that one huge column cannot make every
   distance-based detector blind to the others;
6. missing values become 0 (the neutral value: no deviation), so no ``NaN``
   reaches a detector; columns constant after steps 2-5 are dropped (recorded).

Each detector's decision scores (higher = more anomalous, pyod's convention)
are put on one comparable scale, the robust z of the scores
``(s - median(s)) / scale`` with ``scale = max(1.4826 * MAD(s), (q90(s) -
median(s)) / 1.2816)``: both estimate one standard deviation on normal data, and
the second stays meaningful when most rows share one score (a point mass makes
the MAD 0 or tiny and would blow every other score up). Scale 0: the mean
absolute deviation, then 1.

Detectors whose cost grows faster than linearly (KNN, LOF) are fitted on a
seeded sample of at most ``max_fit_rows`` rows when the table is larger; every
row is then scored against that sample (``decision_function``; a sampled row
counts itself among its neighbours, a bias of one neighbour in ``k`` shared by
the whole sample), and each distinct row is queried once. KNN uses a k-d tree.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..features import MAD_TO_SD, feature_spec

__all__ = ["DETECTORS", "Standardized", "run_detectors", "standardize", "to_common_scale"]

#: (q90 - median) / sd of a normal distribution.
Q90_TO_SD = 1.2816

#: Detectors whose cost grows faster than linearly: fit on a seeded sample.
SAMPLED = frozenset({"KNN", "LOF"})


@dataclass(frozen=True)
class Standardized:
    """Output of :func:`standardize`.

    Attributes
    ----------
    X : numpy.ndarray
        ``(n_rows, n_kept)`` float64, finite.
    columns : list[str]
        Kept column names, in order.
    center, scale : dict[str, float]
        Median and scale used per kept column (z columns: 0 and 1).
    dropped : dict[str, str]
        Dropped column -> reason.
    """

    X: np.ndarray
    columns: list[str]
    center: dict[str, float]
    scale: dict[str, float]
    dropped: dict[str, str]


def standardize(values: pd.DataFrame, deadband: float = 0.5) -> Standardized:
    """Robustly standardise feature columns for the detectors (see module doc).

    Parameters
    ----------
    values : pandas.DataFrame
        Numeric feature columns (any numeric or boolean dtype), ``(n_rows, n_cols)``.
    deadband : float
        Deviations within this many robust units are set to 0.

    Returns
    -------
    Standardized
    """
    # Not pyod's ``utils.utility.standardizer`` (scikit-learn's StandardScaler: mean and
    # standard deviation): the rows we look for would inflate the very scale they are
    # measured with. The median and MAD (x 1.4826, the normal-consistent factor) with a
    # per-feature minimum scale are the method the module doc states and the reasons
    # quote ("n robust SD from the median").
    cols, center, scale, dropped, mats = [], {}, {}, {}, []
    for c in values.columns:
        x = pd.to_numeric(values[c], errors="coerce").astype("float64").to_numpy()
        finite = np.isfinite(x)
        if not finite.any():
            dropped[c] = "all missing"
            continue
        xf = x[finite]
        if np.all(xf == xf[0]):
            dropped[c] = f"constant ({xf[0]:g} in every row)"
            continue
        spec = feature_spec(str(c))
        if spec.unit == "robust z":
            med, sc = 0.0, 1.0
        else:
            med = float(np.median(xf))
            mad = float(np.median(np.abs(xf - med)))
            sc = max(MAD_TO_SD * mad, float(spec.min_scale))
        z = np.where(finite, (x - med) / sc, 0.0)
        z = np.sign(z) * np.maximum(np.abs(z) - deadband, 0.0)
        if spec.direction == "high":
            z = np.maximum(z, 0.0)
        z = np.sign(z) * np.log1p(np.abs(z))
        if np.all(z == z[0]):
            dropped[c] = (
                f"no deviation beyond its minimum scale ({spec.min_scale:g} {spec.unit})"
                + (" on the suspicious side" if spec.direction == "high" else "")
            )
            continue
        cols.append(str(c))
        center[str(c)] = med
        scale[str(c)] = sc
        mats.append(z + 0.0)  # + 0.0 turns -0.0 into 0.0: same bits for same values
    X = np.column_stack(mats) if mats else np.zeros((len(values), 0))
    return Standardized(np.ascontiguousarray(X, dtype="float64"), cols, center, scale, dropped)


def to_common_scale(s: np.ndarray) -> np.ndarray:
    """Robust z of raw decision scores (higher = more anomalous).

    Parameters
    ----------
    s : numpy.ndarray
        ``(n_rows,)`` raw decision scores.

    Returns
    -------
    numpy.ndarray
        ``(n_rows,)`` float64: ``(s - median) / (1.4826 * MAD)``; the scale falls
        back to the mean absolute deviation, then to 1, when it is 0.
    """
    s = np.asarray(s, dtype="float64")
    s = np.where(np.isfinite(s), s, np.nanmax(np.where(np.isfinite(s), s, -np.inf)))
    med = float(np.median(s))
    sc = max(
        MAD_TO_SD * float(np.median(np.abs(s - med))),
        (float(np.quantile(s, 0.9)) - med) / Q90_TO_SD,
    )
    if sc <= 0:
        sc = float(np.mean(np.abs(s - med)))
    if sc <= 0:
        sc = 1.0
    return (s - med) / sc + 0.0  # + 0.0: no negative zeros


def _make(name: str, n_fit: int, params, seed: int) -> tuple[object | None, str | None]:
    """Build one pyod detector (seeded with ``seed``), clamped to ``n_fit`` rows; or
    (None, reason)."""
    from pyod.models.copod import COPOD
    from pyod.models.ecod import ECOD
    from pyod.models.hbos import HBOS
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN
    from pyod.models.lof import LOF

    if name == "ECOD":
        return ECOD(n_jobs=1), None
    if name == "COPOD":
        return COPOD(n_jobs=1), None
    if name == "HBOS":
        return HBOS(n_bins=params.hbos_bins), None
    if name == "IForest":
        return (
            IForest(
                n_estimators=params.iforest_estimators,
                max_samples=min(256, n_fit),
                random_state=seed,
                n_jobs=1,
            ),
            None,
        )
    if name in ("KNN", "LOF"):
        k = params.n_neighbors
        if n_fit - 1 < params.min_neighbors:
            return None, (
                f"skipped: {n_fit} rows leave {n_fit - 1} neighbours, fewer than "
                f"min_neighbors={params.min_neighbors} (k={k} asked)"
            )
        kk = k
        if k > n_fit - 1:
            # k = rows - 1 makes every row's k-th neighbour the farthest row: scores
            # would not tell rows apart. sqrt(rows) is the usual small-sample choice.
            kk = min(n_fit - 1, max(params.min_neighbors, int(np.sqrt(n_fit))))
        with warnings.catch_warnings():
            # pyod warns that `algorithm` is deprecated, yet still passes it to
            # scikit-learn's NearestNeighbors (checked in pyod 3.6.7)
            warnings.filterwarnings(
                "ignore", message="algorithm parameter is deprecated", category=FutureWarning
            )
            est = (
                KNN(n_neighbors=kk, algorithm="kd_tree", n_jobs=1)
                if name == "KNN"
                else LOF(n_neighbors=kk, n_jobs=1)
            )
        return est, (f"clamped: k={k} -> {kk} ({n_fit} rows)" if kk < k else None)
    return None, f"skipped: unknown detector {name!r}"


DETECTORS: tuple[str, ...] = ("ECOD", "IForest", "COPOD", "HBOS", "KNN", "LOF")


def run_detectors(
    X: np.ndarray, params, *, seed: int = 0, progress: Callable[[str], None] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Fit and score every detector of ``params.detectors`` on ``X``.

    Parameters
    ----------
    X : numpy.ndarray
        ``(n_rows, n_cols)`` finite float64 (from :func:`standardize`).
    params : DetectParams
        ``detectors``, ``max_fit_rows``, ``n_neighbors`` ...
    seed : int, default 0
        The case's seed (:attr:`labforensics.CaseContext.seed`): IForest and the fit
        sample of KNN/LOF.
    progress : callable, optional
        Called with each detector's name once it is done (fitted, scored or
        skipped): a progress bar's step.

    Returns
    -------
    (scores, notes) : tuple
        ``scores``: detector name -> ``(n_rows,)`` scores on the common scale;
        ``notes``: ``skipped`` (name -> reason), ``clamped`` (name -> note),
        ``sample_sizes`` (name -> rows fitted on).
    """
    n = X.shape[0]
    out: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    clamped: dict[str, str] = {}
    sizes: dict[str, int] = {}
    if n == 0 or X.shape[1] == 0:
        why = "no rows" if n == 0 else "no feature column varies"
        for name in params.detectors if progress is not None else ():
            progress(name)
        return {}, {
            "skipped": {d: f"skipped: {why}" for d in params.detectors},
            "clamped": {},
            "sample_sizes": {},
        }
    for name in params.detectors:
        try:
            _run_one(name, X, params, seed, out, skipped, clamped, sizes)
        finally:
            if progress is not None:
                progress(name)
    return out, {"skipped": skipped, "clamped": clamped, "sample_sizes": sizes}


def _run_one(name: str, X: np.ndarray, params, seed: int, out: dict[str, np.ndarray],
             skipped: dict[str, str], clamped: dict[str, str], sizes: dict[str, int]) -> None:  # fmt: skip
    """Fit and score one detector into ``out`` (or record why it was skipped)."""
    n = X.shape[0]
    sample = None
    if name in SAMPLED and n > params.max_fit_rows:
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, size=params.max_fit_rows, replace=False))
    n_fit = n if sample is None else len(sample)
    est, note = _make(name, n_fit, params, seed)
    if est is None:
        skipped[name] = note or "skipped"
        return
    if note:
        clamped[name] = note
    if n_fit < params.min_rows:
        skipped[name] = f"skipped: {n_fit} rows, fewer than min_rows={params.min_rows}"
        return
    try:
        # no blanket warning filter: on standardised tables (constant columns,
        # duplicate rows, tiny tables included) the detectors warn about nothing
        # (pyod 3.6, scikit-learn 1.9); what they would warn about (overflow on
        # unscaled magnitudes) is a broken input the user must see. The one known
        # benign warning (KNN's `algorithm`) is filtered narrowly in _make.
        if sample is None:
            est.fit(X)
            raw = np.asarray(est.decision_scores_, dtype="float64")
        else:
            est.fit(X[sample])
            # every row scored the same way, against the sample; identical rows
            # get identical scores, so each distinct row is queried once
            uniq, inverse = np.unique(X, axis=0, return_inverse=True)
            raw = np.asarray(est.decision_function(uniq), dtype="float64")[inverse.ravel()]
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        skipped[name] = f"skipped: {type(exc).__name__}: {exc}"
        return
    sizes[name] = n_fit
    out[name] = to_common_scale(raw)
