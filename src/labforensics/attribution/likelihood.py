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

*Row dates* (QA session 17). A copy cannot hold a sample taken after it. A leaked
patient's newest linked row is dated (the dump's sample date: the start of that local
day, clipped to the lab's horizon;
:func:`~labforensics.leak.horizon.leak_rows_from_links`), so a logged operation at
``t`` can have produced its row only if ``t`` is at or after that date: for a size-only
operation the leaked patient is known at ``max(known_at, row date)`` (the universe and
its leaked mask re-sorted together:
:func:`~labforensics.attribution.op_likelihood.row_date_universe`); from a known set, a
leaked patient whose row is dated after the export's time, or after the account's last
read of that patient (consultations keep each patient's reads), is taken out of ``S``
and counts as a leaked patient outside it (``eps``). The dates are days: an operation
during the sample's own local day is not excluded, and a size-only one keeps its
``copy_lag_h`` of cuts (:mod:`.conclusion`). This is the same reading of the dump's own
dates as the horizon's (the ``m``-th newest of them), patient by patient: without the
horizon (the sensitivity rerun "without the horizon", or a lab the linkage gives none,
an identifier list) the dates are not trusted and bound nothing. Before this, an
export a week before every row's sample date weighed exactly as the exports after it.
Without registration dates ("left-censoring", below), a leaked patient whose row date
falls within the lab's censoring period stays in the censored zone of a cut before it
(producible, under the isotonic rate): there the dates bound a size-only operation
only past the period's end.

*Left-censoring* (no registration dates, no patient index). ``known_at`` is then the
first event naming the patient, a proxy: a patient registered before the logs start
is first seen at its next visit, whenever that falls, so "first seen after ``t``" is
no evidence that a patient was unknown at ``t``. When the logs start shortly before a
copy, most patients the copy held are first seen after it, and the leaked share of
the patients first seen after the copy does not drop to a constant: it *declines* as
the old patients come back (fast at first, then slower: the forward-recurrence time
of their visits). The outside rate of such a lab's time cuts is therefore not
``eps`` and not one constant (the earlier model: a constant fitted to a decline made
a later cut, hence the unlogged copy of ``outside_evidence``, beat the true
extraction, "very strong", on logs that started four days before it) but any
*non-increasing* function of the first-seen order, fitted by isotonic regression
(pool-adjacent-violators; Robertson, Wright & Dykstra, *Order Restricted
Statistical Inference*, 1988) on the patients after the cut
(:func:`suffix_isotonic_loglik`). The decline then explains nothing by itself: a
cut is favoured only by the patients inside it (all existing at ``t``: leaked with
probability ``rho``) and disfavoured by those the copy could not hold. Every instant
before the true copy fits about as well (the copy held them all; the decline after
them absorbs the rest): the data say "at or before", and the ratio of a logged
operation at the copy against ``outside_evidence`` is about the range over that
stretch, not a product over thousands of first-seen dates; within the lab's
censoring period it is at most 1 (:mod:`.conclusion`, "left-censoring"). A known set keeps
``eps`` (its events name its patients). Coverage: a leaked patient first seen within
the lab's censoring period (:func:`~labforensics.attribution.lab_data.censoring_period`,
from its own revisit gaps) may have existed before any instant there, so a full or
size-only operation counts it as producible. Why not the count match (an extraction
of exactly the leak's size): a count is one number any operation of that size
shares; the isotonic outside rate removes the cause of the error (a first-seen date
read as a registration date), not a symptom. With registration dates there is no
censoring: ``known_at`` is the registration.

*Copy at an unlogged time* (the ``outside_evidence`` proposition): a full copy at
an instant ``t`` uniform over the prior range ``[lo, hi]`` (the linkage horizon or
the lab's first known patient, to the first public sighting or the lab's last
event): its likelihood is the average of the full-copy likelihood over ``t``
(a marginal likelihood; :func:`cut_curve`). The range starts at the horizon, so this
copy is never before the leak's dates (the operations are held to them by the row
dates above). An operation at the best instant
therefore gains over it only the factor by which its time is sharper than the
range; an operation far from the instant the registrations point to loses by the
registrations between, and one before the leaked rows' dates by ``1 / eps`` for each
row dated after it (strongly disfavoured, never impossible: a row's date may be a
false link's or mistyped, as the horizon allows). A logged
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
  the model can see (``eps`` = 1 % gives 4: a ratio of 10,000, the lower bound of
  "very strong", each band including its lower bound; a ratio held there is not
  known to be more, and the report says "held at the ceiling of 10,000");
- the *coverage ceiling* :func:`coverage_ceiling_log10`: with a share ``q`` of the
  leak a logged operation could have produced, ``-2 log10(1 - q)``: the
  uncovered share ``1 - q`` is as well explained by any other source, and two
  leaked patients drawn at random both fall outside the evidence with
  probability ``(1 - q)^2``, the smallest sign of a second source the evidence
  cannot exclude. A quarter covered gives 0.25 (LR 1.8, "no support").

Verbal scale
------------
ENFSI (2015), *Guideline for evaluative reporting in forensic science*, verbal
equivalents of the likelihood ratio (:data:`VERBAL_SCALE`, half-open bands). A ratio
in the "no support" band (1 to 2) supports neither proposition: the conclusion then
names no source (:func:`supports`; ``undetermined``, the leading proposition kept as
``leading``).
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import numba
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


#: The smallest likelihood ratio that supports the proposition it favours: the lower
#: bound of the scale's "weak" band. Below it ("no support", LR 1 to 2) the findings do
#: not favour the leading proposition over its best alternative, so no source is named:
#: the verdict, of a lab or of the case, is ``undetermined`` (:func:`supports`).
SUPPORT_MIN_LR: float = next(low for low, name in VERBAL_SCALE if name == "weak")

#: The bands in which no proposition is supported over its alternative.
NO_SUPPORT: frozenset[str] = frozenset(name for low, name in VERBAL_SCALE if low < SUPPORT_MIN_LR)


def ratio_of(log10_lr: float) -> float:
    """The likelihood ratio of a log10, to 12 significant figures: ``10 ** log10(2)`` is
    1.9999999999999998 in floating point, and the band a ratio falls in must not depend
    on that last bit (session 18's QA: a ratio of exactly 2, from a factor of 2, read "no
    support" where support starts at 2).

    Parameters
    ----------
    log10_lr : float

    Returns
    -------
    float

    Examples
    --------
    >>> import math
    >>> ratio_of(math.log10(2.0))
    2.0
    """
    return float(f"{10.0 ** float(log10_lr):.12g}")


def supports(log10_lr: float | None) -> bool:
    """Whether a log10 likelihood ratio supports the proposition it favours.

    Parameters
    ----------
    log10_lr : float or None
        log10 of the ratio of the leading proposition against its best alternative.

    Returns
    -------
    bool
        True when :func:`verbal` of the ratio is "weak" or stronger (LR >= 2, the
        band including its lower bound); False in the "no support" band, below it,
        and for None or NaN (no ratio: nothing weighed supports anything).
    """
    if log10_lr is None or not np.isfinite(log10_lr):
        return False
    return verbal(ratio_of(log10_lr)) not in NO_SUPPORT


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
    zone_n: np.ndarray | float = 0,
    zone_n11: np.ndarray | float = 0,
    zone_ll: np.ndarray | float = 0.0,
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
    zone_n, zone_n11, zone_ll : array, default 0
        With ``free_outside``: the patients after the cut within the lab's censoring
        period, the leaked among them, and their log-likelihood under a non-increasing
        share (:func:`suffix_isotonic_loglik`); they are left out of the constant
        outside rate (module docstring, "left-censoring").

    Returns
    -------
    numpy.ndarray of float64
        One log-likelihood per set, same shape as ``n11``.
    """
    n11 = np.asarray(n11, dtype=float)
    n_set = np.asarray(n_set, dtype=float)
    fo = np.asarray(free_outside, dtype=bool)
    zn = np.where(fo, np.asarray(zone_n, dtype=float), 0.0)
    z11 = np.where(fo, np.asarray(zone_n11, dtype=float), 0.0)
    zll = np.where(fo, np.asarray(zone_ll, dtype=float), 0.0)
    n10 = n_set - n11
    n01 = n_leaked - n11 - z11
    n00 = (n_universe - n_set - zn) - n01
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(n_set > 0, n11 / np.maximum(n_set, 1), 0.0)
    if capacity is not None:
        rho = np.minimum(rho, np.asarray(capacity, dtype=float))
    rho = _clip(rho, eps)
    n_out = np.maximum(n_universe - n_set - zn, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        free = np.clip(np.where(n_out > 0, n01 / np.maximum(n_out, 1), eps), eps, rho)
    out_rate = np.where(fo, free, eps)
    out_rate = _clip(out_rate, eps)
    return (
        n11 * np.log(rho)
        + n10 * np.log1p(-rho)
        + n01 * np.log(out_rate)
        + np.maximum(n00, 0) * np.log1p(-out_rate)
        + zll
    )


def suffix_isotonic_loglik(
    leaked_sorted: np.ndarray, eps: float, k: np.ndarray, cap: np.ndarray
) -> np.ndarray:
    """Log-likelihood of the patients after cuts under a non-increasing leaked share
    kept at or below the inside rate (module docstring, "left-censoring").

    The share of the suffix ``k..n-1`` is fitted by pool-adjacent-violators (Robertson,
    Wright & Dykstra, 1988); the fit bounded above by ``cap`` is the unbounded one
    clipped at ``cap`` (isotonic regression under a box constraint), each block's rate
    kept in ``[eps, 1 - eps]``. The suffixes are built from the end, one patient at a
    time (a sequential pass in numba: amortised linear, plus the blocks above each
    query's cap).

    Parameters
    ----------
    leaked_sorted : numpy.ndarray of bool, shape (n,)
        Leaked flags in ``known_at`` order.
    eps : float
        Mismatch allowance (rate floor and ceiling margin).
    k : numpy.ndarray of int, shape (m,)
        The cuts (0..n: patients inside).
    cap : numpy.ndarray of float, shape (m,)
        Upper bound of the outside rate of each cut (its inside rate ``rho``).

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
        The suffix's log-likelihood of each cut (0 for ``k = n``).
    """
    x = np.ascontiguousarray(leaked_sorted, dtype=np.float64)
    kk = np.ascontiguousarray(np.asarray(k, dtype=np.int64).ravel())
    cc = np.ascontiguousarray(np.broadcast_to(np.asarray(cap, dtype=np.float64), kk.shape))
    return _suffix_iso(x, float(eps), kk, cc)


@numba.njit(cache=True)
def _block_ll(s: float, c: float, p: float, eps: float) -> float:  # pragma: no cover - numba
    p = min(max(p, eps), 1.0 - eps)
    return s * math.log(p) + (c - s) * math.log(1.0 - p)


@numba.njit(cache=True)
def _suffix_iso(
    x: np.ndarray, eps: float, qk: np.ndarray, qr: np.ndarray
) -> np.ndarray:  # pragma: no cover - numba
    n = x.shape[0]
    m = qk.shape[0]
    out = np.zeros(m)
    order = np.argsort(-qk, kind="mergesort")
    bs = np.empty(n)  # block sums; stack top = the earliest block (highest share)
    bc = np.empty(n)  # block counts
    bl = np.empty(n)  # block log-likelihoods at their own share
    top = 0
    total = 0.0
    j = 0
    while j < m and qk[order[j]] >= n:
        j += 1  # empty suffix: 0
    for i in range(n - 1, -1, -1):
        s = x[i]
        c = 1.0
        # a block earlier in time must have a share >= the block after it: merge while not
        while top > 0 and s * bc[top - 1] < bs[top - 1] * c:
            top -= 1
            s += bs[top]
            c += bc[top]
            total -= bl[top]
        ll = _block_ll(s, c, s / c, eps)
        bs[top] = s
        bc[top] = c
        bl[top] = ll
        top += 1
        total += ll
        while j < m and qk[order[j]] == i:
            q = order[j]
            r = qr[q]
            v = total
            t = top - 1
            while t >= 0 and bs[t] > r * bc[t]:  # blocks above the cap, clipped to it
                v += _block_ll(bs[t], bc[t], r, eps) - bl[t]
                t -= 1
            out[q] = v
            j += 1
    return out


def cut_curve(
    leaked_sorted: np.ndarray, eps: float, free_outside: bool = False, k_cens: int = 0
) -> np.ndarray:
    """Full-copy log-likelihood at every cut of the universe in ``known_at`` order.

    Parameters
    ----------
    leaked_sorted : numpy.ndarray of bool, shape (n,)
        Leaked flags of the universe sorted by ``known_at``.
    eps : float
    free_outside : bool
        See :func:`set_loglik`.
    k_cens : int, default 0
        With ``free_outside``: patients known at the end of the lab's censoring period
        (:func:`zone`).

    Returns
    -------
    numpy.ndarray of float64, shape (n + 1,)
        Entry ``k``: the log-likelihood of a full copy holding the first ``k`` patients.
    """
    n = len(leaked_sorted)
    c = np.concatenate([[0], np.cumsum(leaked_sorted, dtype=np.int64)])
    k = np.arange(n + 1)
    zn, z11, zll = zone(leaked_sorted, c, k, np.ones(n + 1), eps, k_cens if free_outside else 0)
    return set_loglik(c, k, int(c[-1]), n, eps, free_outside=free_outside,
                      zone_n=zn, zone_n11=z11, zone_ll=zll)  # fmt: skip


def zone(
    leaked_sorted: np.ndarray,
    cum: np.ndarray,
    k: np.ndarray,
    capacity: np.ndarray,
    eps: float,
    k_cens: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The censored zone of each cut: patients after it within the censoring period,
    the leaked among them, and their isotonic log-likelihood bounded by the cut's inside
    rate (module docstring, "left-censoring"; zeros for a cut at or after the period).

    Parameters
    ----------
    leaked_sorted : numpy.ndarray of bool, shape (n,)
    cum : numpy.ndarray of int64, shape (n + 1,)
        Cumulative leaked count (``cum[0] = 0``).
    k : numpy.ndarray of int, shape (m,)
        The cuts.
    capacity : numpy.ndarray of float, shape (m,)
        Upper bound of each cut's inside rate (records over set size; 1: none).
    eps : float
    k_cens : int
        Patients known at the end of the censoring period (0: no censoring).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Float64 arrays of shape (m,).
    """
    k = np.asarray(k, dtype=np.int64)
    zn = np.maximum(int(k_cens) - k, 0).astype(float)
    if not k_cens or not (zn > 0).any():
        return zn, np.zeros(k.shape), np.zeros(k.shape)
    hi = np.maximum(k, int(k_cens))
    z11 = (cum[hi] - cum[k]).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(k > 0, cum[k] / np.maximum(k, 1), 0.0)
    rho = np.clip(np.minimum(rho, capacity), eps, 1.0 - eps)
    inz = zn > 0
    zll = np.zeros(k.shape)
    zll[inz] = suffix_isotonic_loglik(leaked_sorted[: int(k_cens)], eps, k[inz], rho[inz])
    return zn, z11, zll


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


def cut_log10(log10_lr: float) -> str:
    """log10 LR as the report prints every one: :func:`log10_text` (2 decimals rounded
    half-even; more when rounding would reach the next verbal band's lower bound: 1.99741
    is "1.997", not "2.00", LR 99.4 being below 100)."""
    return log10_text(log10_lr)


# --- the one way a likelihood ratio is printed (the report, findings, the summary) -------

#: The verbal bands' lower bounds (ENFSI 2015, :data:`VERBAL_SCALE`) a shown figure must
#: not reach when the value is below it: as ratios, and as their log10.
_BOUNDS = tuple(low for low, _ in VERBAL_SCALE if low > 1.0)
_LOG10_BOUNDS = tuple(math.log10(b) for b in _BOUNDS)
#: The most significant figures (ratio) or decimals (log10) a figure is given, to stay
#: below a band's lower bound; past it the figure is cut instead of rounded.
_MAX_DIGITS = 6


def _round(value: float, exponent: int, how: str = ROUND_HALF_EVEN) -> Decimal:
    """``value`` rounded to a multiple of ``10**exponent`` (``how``: a decimal rounding)."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(exponent), rounding=how)


def _shown(value: float, bounds: tuple[float, ...], exponents: list[int]) -> Decimal:
    """The first rounding (half-even) of ``value`` at the exponents tried that reaches no
    band bound ``value`` is below; else the last exponent, cut downwards."""
    for e in exponents:
        r = _round(value, e)
        if not any(value < b <= float(r) for b in bounds):
            return r
    return _round(value, exponents[-1], ROUND_DOWN)


def lr_text(log10_lr: float) -> str:
    """A likelihood ratio to 3 significant figures, rounded half-even ("16.3" for
    16.269, "168" for 167.98, "2,710"), as :func:`log10_text` and ``findings.json``.

    Rounding is half-even on the shortest decimal form of the float (``repr``), for
    the ratio and its log10 alike. The verbal bands (ENFSI 2015) start at 2, 10,
    100, 1,000, 10,000 and 1,000,000, each including its lower bound; a ratio below
    one whose 3 figures would reach it (999.9 rounded "1,000" beside "moderately
    strong") is given one more figure, as many as it takes ("999.9"), up to
    :data:`_MAX_DIGITS`. (Until session 9 the figures were cut, not rounded: 16.269
    was shown "16.2" beside 16.269 in ``findings.json``.)

    Parameters
    ----------
    log10_lr : float
        log10 of the likelihood ratio.

    Returns
    -------
    str
        The ratio, thousands separated, with as many decimals as its significant
        figures need.
    """
    v = 10.0 ** float(log10_lr)
    top = Decimal(repr(v)).adjusted()  # the ratio's order of magnitude
    r = _shown(v, _BOUNDS, [top - sig + 1 for sig in range(3, _MAX_DIGITS + 1)])
    return f"{r:,.{max(0, -int(r.as_tuple().exponent))}f}"


def log10_text(log10_lr: float) -> str:
    """log10 of a likelihood ratio to 2 decimals, rounded half-even as :func:`lr_text`
    ("2.30" for 2.2977); one reaching a band's lower bound it is below ("2.00" for
    1.9974, log10 of 100) is given more decimals ("1.997").

    Parameters
    ----------
    log10_lr : float

    Returns
    -------
    str
    """
    x = float(log10_lr)
    r = _shown(x, _LOG10_BOUNDS, list(range(-2, -_MAX_DIGITS - 1, -1)))
    # -0.001 rounds to a negative zero: "0.00", never "-0.00" (QA session 11)
    return f"{abs(r) if r.is_zero() else r:.{max(2, -int(r.as_tuple().exponent))}f}"
