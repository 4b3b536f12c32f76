"""Likelihood model of the conclusion (issue 15, item 4): how probable a lab's leaked
set is under "operation E made the copy", under "a copy made at an unlogged time",
and the verbal scale the ratio is reported on.

Model
-----
A lab's *universe* U is its patients the evidence knows, each with the time it is
known from (``known_at``: first event naming it, or its registration date in the
patient index, whichever is first). The leaked set D is the part of U the leak
names. A proposition gives a *set model*: a membership mask S over U (the patients
the copy could hold) and two probabilities:

- inside S, each patient is in the leak with probability ``rho`` (the copy thinned
  by the dump's observed completeness: ``rho`` is the maximum-likelihood share
  ``|D & S| / |S|``, capped by the operation's capacity ``records / |S|`` when
  the operation's record count is known);
- outside S, with probability ``eps`` (the mismatch allowance: a false link, a
  registration date recorded late, a merged record). ``eps = max(fmr,
  leak_noise)``: the linkage's false-match rate of the run, floored by
  ``AttributionParams.leak_noise`` (1 %).

With ``n11 = |D & S|``, ``n10 = |S - D|``, ``n01 = |D - S|``, ``n00`` the rest, the
log-likelihood is ``n11 ln rho + n10 ln(1 - rho) + n01 ln eps + n00 ln(1 - eps)``
(both probabilities kept in ``[eps, 1 - eps]``).

The set of each operation (issue 15, item 2):

- a full or size-only operation at ``t`` (an extraction, or an export whose own
  events do not name each exported patient): S = patients known at ``t``;
  ``rho`` capped by ``records / ((1 - records_tolerance) |S|)`` (only its size
  and time enter: a session that read 3 patients and exported 502 has no set of 3);
- an export whose own events name at least as many patients as it exported, or
  an account's consultations (reads) up to the first public sighting: S = the
  patients those events name.

Without registration dates (no patient index), ``known_at`` is the first event
naming the patient, a proxy: old patients keep coming back after a copy and are
first seen then. For the time cuts of such a lab the outside rate is not ``eps``
but estimated (the leaked share of the patients first seen after the cut, kept in
``[eps, rho]``), which makes the cut a two-segment Bernoulli change point (as the
window of :mod:`.windows`); a known set keeps ``eps`` (its events name its patients).

*Copy at an unlogged time* (the ``outside_evidence`` proposition): a full copy at
an instant ``t`` uniform over the prior range ``[lo, hi]`` (the linkage horizon or
the lab's first known patient, to the first public sighting or the lab's last
event): its likelihood is the average of the full-copy likelihood over ``t``
(a marginal likelihood; :func:`cut_curve`). An operation at the best instant
therefore gains over it only the factor by which its time is sharper than the
range; an operation far from the instant the registrations point to loses by the
registrations between (a horizon's own uncertainty is in the curve, so an
operation outside the window is strongly disfavoured, never impossible). A logged
proposition is, symmetrically, the mean over its operations
(:func:`~.conclusion.proposition_loglik`): its many operations do not buy it the
best instant by chance; leaked patients known only after the horizon's day are
moved to its end (:mod:`.conclusion`, "the horizon's own uncertainty").

Ceilings
--------
Patients are not independent (a copy takes or leaves whole days together) and
the linkage can be systematically wrong, so the ratio of two such likelihoods,
a product over thousands of patients, is never reported as is. It is capped by:

- the *dependence and linkage ceiling* :func:`ceiling_log10`: the smaller of
  :data:`LOG10_CEILING` (6, the top of the ENFSI "very strong" band: this method
  is validated on synthetic evidence only) and ``2 log10(1 / eps)``: two
  independent mismatches (rate ``eps`` each) would fake the strongest pattern
  the model can see (``eps`` = 1 % gives 4, "strong" at most);
- the *coverage ceiling* :func:`coverage_ceiling_log10`: with a share ``q`` of the
  leak a logged operation could have produced, ``-2 log10(1 - q)``: the
  uncovered share ``1 - q`` is as well explained by any other source, and two
  leaked patients drawn at random both fall outside the evidence with
  probability ``(1 - q)^2``, the smallest sign of a second source the evidence
  cannot exclude. A quarter covered gives 0.25 (LR 1.8, "no support").

Verbal scale
------------
ENFSI (2015), *Guideline for evaluative reporting in forensic science*, verbal
equivalents of the likelihood ratio (:data:`VERBAL_SCALE`, half-open bands).
"""

from __future__ import annotations

import math

import numpy as np

#: Largest log10 likelihood ratio ever reported (see module docstring).
LOG10_CEILING = 6.0

#: ENFSI (2015) verbal equivalents: (lower bound of LR, inclusive; label), ascending.
VERBAL_SCALE: tuple[tuple[float, str], ...] = (
    (0.0, "support for the alternative"),
    (1.0, "no support"),
    (2.0, "weak"),
    (10.0, "moderate"),
    (100.0, "moderately strong"),
    (1_000.0, "strong"),
    (10_000.0, "very strong"),
    (1_000_000.0, "extremely strong"),
)

#: The scale as one line of text (``findings.json``).
VERBAL_SCALE_TEXT = (
    "ENFSI (2015) verbal equivalents of the likelihood ratio LR: below 1 support for "
    "the alternative; 1 to 2 no support; 2-10 weak; 10-100 moderate; 100-1,000 "
    "moderately strong; 1,000-10,000 strong; 10,000-1,000,000 very strong; above "
    "extremely strong (each band includes its lower bound)"
)


def verbal(likelihood_ratio: float | None) -> str | None:
    """ENFSI (2015) verbal equivalent of a likelihood ratio.

    Parameters
    ----------
    likelihood_ratio : float or None
        LR >= 0 (None or NaN: not evaluated).

    Returns
    -------
    str or None
        A label of :data:`VERBAL_SCALE` (bands ``[low, next low)``), None when the
        ratio was not evaluated.
    """
    if likelihood_ratio is None or not np.isfinite(likelihood_ratio):
        return None
    label = VERBAL_SCALE[0][1]
    for low, name in VERBAL_SCALE:
        if likelihood_ratio >= low:
            label = name
    return label


def mismatch_rate(fmr: float | None, floor: float) -> float:
    """``eps = max(fmr, floor)`` kept in ``(0, 0.5)`` (module docstring)."""
    f = 0.0 if fmr is None or not np.isfinite(fmr) else float(fmr)
    return float(min(max(f, floor, 1e-6), 0.49))


def ceiling_log10(eps: float) -> float:
    """Dependence and linkage ceiling of the log10 LR: ``min(6, 2 log10(1 / eps))``."""
    return float(min(LOG10_CEILING, 2.0 * math.log10(1.0 / eps)))


def coverage_ceiling_log10(q: float) -> float:
    """Coverage ceiling of the log10 LR for a covered share ``q`` in [0, 1]: ``-2 log10(1 - q)``
    (:data:`LOG10_CEILING` when ``q`` is 1)."""
    if q >= 1.0:
        return LOG10_CEILING
    return float(min(LOG10_CEILING, -2.0 * math.log10(1.0 - max(q, 0.0))))


def _clip(p: np.ndarray | float, eps: float) -> np.ndarray:
    return np.clip(np.asarray(p, dtype=float), eps, 1.0 - eps)


def set_loglik(
    n11: np.ndarray | float,
    n_set: np.ndarray | float,
    n_leaked: int,
    n_universe: int,
    eps: float,
    capacity: np.ndarray | float | None = None,
    free_outside: bool | np.ndarray = False,
) -> np.ndarray:
    """Log-likelihood (natural log) of the leaked set under a set model (module docstring).

    Parameters
    ----------
    n11 : array of int
        Leaked patients inside the set.
    n_set : array of int
        Size of the set (patients).
    n_leaked, n_universe : int
        Leaked patients and patients of the lab's universe.
    eps : float
        Mismatch allowance.
    capacity : array of float, optional
        Largest ``rho`` the operation allows (records over set size); None: 1.
    free_outside : bool or array of bool
        Estimate the outside rate (leaked share outside the set, kept in
        ``[eps, rho]``) instead of ``eps``: for a time cut over *first-seen* times
        (no registration dates), where patients first seen after the cut may be
        old patients the logs show late (module docstring).

    Returns
    -------
    numpy.ndarray of float64
        One log-likelihood per set, same shape as ``n11``.
    """
    n11 = np.asarray(n11, dtype=float)
    n_set = np.asarray(n_set, dtype=float)
    n10 = n_set - n11
    n01 = n_leaked - n11
    n00 = (n_universe - n_set) - n01
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(n_set > 0, n11 / np.maximum(n_set, 1), 0.0)
    if capacity is not None:
        rho = np.minimum(rho, np.asarray(capacity, dtype=float))
    rho = _clip(rho, eps)
    n_out = np.maximum(n_universe - n_set, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        free = np.clip(np.where(n_out > 0, n01 / np.maximum(n_out, 1), eps), eps, rho)
    out_rate = np.where(np.asarray(free_outside, dtype=bool), free, eps)
    out_rate = _clip(out_rate, eps)
    return (
        n11 * np.log(rho)
        + n10 * np.log1p(-rho)
        + n01 * np.log(out_rate)
        + np.maximum(n00, 0) * np.log1p(-out_rate)
    )


def cut_curve(leaked_sorted: np.ndarray, eps: float, free_outside: bool = False) -> np.ndarray:
    """Full-copy log-likelihood at every cut of the universe in ``known_at`` order.

    Parameters
    ----------
    leaked_sorted : numpy.ndarray of bool, shape (n,)
        Leaked flags of the universe sorted by ``known_at``.
    eps : float
    free_outside : bool
        See :func:`set_loglik`.

    Returns
    -------
    numpy.ndarray of float64, shape (n + 1,)
        Entry ``k``: the log-likelihood of a full copy holding the first ``k`` patients.
    """
    n = len(leaked_sorted)
    c = np.concatenate([[0], np.cumsum(leaked_sorted, dtype=np.int64)])
    k = np.arange(n + 1)
    return set_loglik(c, k, int(c[-1]), n, eps, free_outside=free_outside)


def marginal_loglik(
    curve: np.ndarray, known_ns: np.ndarray, lo_ns: int, hi_ns: int
) -> tuple[float, int]:
    """Average of the full-copy likelihood over a copy instant uniform in ``[lo, hi]``.

    Parameters
    ----------
    curve : numpy.ndarray, shape (n + 1,)
        :func:`cut_curve` output.
    known_ns : numpy.ndarray of int64, shape (n,)
        ``known_at`` sorted ascending, ns since the epoch.
    lo_ns, hi_ns : int
        The prior range of the copy instant (ns); a zero-length range is the instant.

    Returns
    -------
    (float, int)
        The log of the average likelihood, and the cut ``k`` of the best instant in
        the range.
    """
    lo, hi = (lo_ns, hi_ns) if lo_ns <= hi_ns else (hi_ns, lo_ns)
    # instant t holds the patients known at or before t: cut k = searchsorted(right)
    edges = np.concatenate([[lo], known_ns[(known_ns > lo) & (known_ns < hi)], [hi]])
    ks = np.searchsorted(known_ns, edges[:-1], side="right")
    dur = np.diff(edges).astype(float)
    if hi == lo or dur.sum() <= 0:
        k = int(np.searchsorted(known_ns, lo, side="right"))
        return float(curve[k]), k
    ll = curve[ks]
    w = dur / dur.sum()
    keep = w > 0
    m = float(ll[keep].max())
    best = int(ks[keep][np.argmax(ll[keep])])
    return m + math.log(float(np.sum(w[keep] * np.exp(ll[keep] - m)))), best
