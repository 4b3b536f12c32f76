"""Exfiltration window per lab (step 2 of :mod:`labforensics.attribution`): change
points of the leaked share over first-seen order, onset test, probabilistic bounds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta, binom

from .._plural import counted
from .context import _Context
from .params import AttributionParams


def _ns(s: pd.Series) -> np.ndarray:
    """UTC instants as int64 ns since the epoch."""
    return s.astype("datetime64[ns, UTC]").dt.tz_convert(None).to_numpy().view("int64")


def _xlogx(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """x * log(x / n), with 0 log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(x > 0, x * np.log(np.where(n > 0, x / np.maximum(n, 1), 1.0)), 0.0)
    return r


def _bernoulli_ll(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    return _xlogx(x, n) + _xlogx(n - x, n)


def _best_split(lk: np.ndarray, f: np.ndarray, min_size: int) -> tuple[int, float] | None:
    """Best single Bernoulli change point of ``lk`` (index of the first right element, LLR)."""
    n = len(lk)
    if n < 2 * min_size:
        return None
    c = np.cumsum(lk)
    total = float(c[-1])
    k = np.arange(min_size, n - min_size + 1)
    x1 = c[k - 1].astype(float)
    n1 = k.astype(float)
    ll = _bernoulli_ll(x1, n1) + _bernoulli_ll(total - x1, n - n1)
    # a break inside a run of equal first-seen times is not a break in time
    ll = np.where(f[k] > f[k - 1], ll, -np.inf)
    j = int(np.argmax(ll))
    if not np.isfinite(ll[j]):
        return None
    null = float(_bernoulli_ll(np.array([total]), np.array([float(n)]))[0])
    return int(k[j]), float(ll[j] - null)


def _segment(
    lk: np.ndarray, f: np.ndarray, pen: float, min_size: int = 5
) -> list[tuple[int, float]]:
    """Binary segmentation: change points (index, LLR) with LLR > ``pen``, in index order."""
    out: list[tuple[int, float]] = []
    todo = [(0, len(lk))]
    while todo and len(out) < 32:
        a, b = todo.pop()
        r = _best_split(lk[a:b], f[a:b], min_size)
        if r is None or r[1] <= pen:
            continue
        out.append((a + r[0], r[1]))
        todo.extend([(a, a + r[0]), (a + r[0], b)])
    return sorted(out)


def _cp_upper(x: int, n: int, alpha: float) -> float:
    """One-sided Clopper-Pearson upper bound of a share x/n at level 1 - alpha (1 if n = 0)."""

    if n <= 0 or x >= n:
        return 1.0
    return float(beta.ppf(1.0 - alpha, x + 1, n - x))


def _onset(lk: np.ndarray, k_cp: int, params: AttributionParams) -> int | None:
    """Earliest onset of not-leaked patients before the change point ``k_cp``.

    A full copy leaves every patient first seen before it in the leak, up to the
    leak's noise (``leak_noise``). The onset is the first not-leaked patient ``j``
    (after at least ``min_prefix`` patients) such that the prefix before ``j`` is
    complete (leaked share >= ``full_completeness``) and the not-leaked patients in
    ``[j, k_cp)`` are too many for that completeness (one-sided binomial test at
    ``bound_alpha``, rate ``max(1 - prefix share, leak_noise)``). It catches a
    copy whose drop is masked by a later burst of old patients coming into view.
    """

    if k_cp <= params.min_prefix:
        return None
    x = lk[:k_cp]
    c_leak = np.concatenate([[0.0], np.cumsum(x)])
    j = np.flatnonzero(x == 0)
    j = j[j >= params.min_prefix]
    if not j.size:
        return None
    p_b = c_leak[j] / j
    keep = p_b >= params.full_completeness  # only after a complete prefix
    j, p_b = j[keep], p_b[keep]
    if not j.size:
        return None
    n_after = k_cp - j
    z_after = n_after - (c_leak[k_cp] - c_leak[j])
    rate = np.maximum(1.0 - p_b, params.leak_noise)
    ok = binom.sf(z_after - 1, n_after, rate) < params.bound_alpha
    return int(j[np.argmax(ok)]) if ok.any() else None


def _window_one(
    fs: np.ndarray,
    leaked: np.ndarray,
    censored: np.ndarray,
    params: AttributionParams,
) -> dict[str, Any]:
    """Window of one lab. ``fs`` int64 ns sorted ascending; boolean masks aligned.

    The copy's horizon is the *earliest significant drop* of the leaked share over
    first-seen order: binary segmentation (Bernoulli likelihood, penalty
    ``cp_penalty x ln n``) finds the level shifts; the first drop whose
    log-likelihood ratio reaches ``drop_ratio`` x the largest drop's is taken (a
    later, larger drop comes from a change in what is logged, e.g. a migration
    to a product that logs more, bringing old patients into view).
    """
    res: dict[str, Any] = {}
    use = ~censored
    f, lk = fs[use], leaked[use].astype(float)
    k_cp, seg_end, llr, n_breaks, method = _horizon(f, lk, params)
    lk = lk.astype(bool)
    note: list[str] = []
    after_ns, q, m_need = _lower_bound(f, lk, k_cp, seg_end, params, note)
    # completeness: leaked share of all patients (censored included) first seen up to `after`
    if after_ns is not None:
        upto = fs <= after_ns
        completeness = float(leaked[upto].mean()) if upto.any() else float("nan")
    else:
        completeness = float(leaked[censored].mean()) if censored.any() else float("nan")
    before_ns, k_need = None, 0
    if k_cp is not None and after_ns is not None:
        before_ns, k_need = _upper_bound(fs, leaked, f, lk, after_ns, params, note)
    res["after"] = after_ns
    res["before"] = before_ns
    res["change_point_llr"] = llr
    res["completeness"] = completeness
    res["post_share"] = q
    res["support_after"] = m_need if after_ns is not None and k_cp is not None else 0
    res["support_before"] = k_need if before_ns is not None else 0
    bound = before_ns if before_ns is not None else after_ns
    res["n_late_leaked"] = int((lk & (f > bound)).sum()) if bound is not None else 0
    res["n_breaks"] = n_breaks
    res["horizon_method"] = method
    res["note"] = "; ".join(note)
    return res


def _horizon(
    f: np.ndarray, lk: np.ndarray, params: AttributionParams
) -> tuple[int | None, int, float, int, str]:
    """The copy's horizon over the non-censored patients (``lk`` float 0/1 in
    first-seen order): change point index (None without a drop), end of its segment,
    log-likelihood ratio, number of change points, method (``change_point``,
    ``onset``, ``none``)."""
    n = len(f)
    k_cp = None
    seg_end = n
    llr = 0.0
    n_breaks = 0
    method = "none"
    if n >= 2 and lk.any():
        pen = params.cp_penalty * math.log(max(n, 2))
        cps = _segment(lk, f, pen)
        n_breaks = len(cps)
        bounds = [0] + [k for k, _ in cps] + [n]
        drops = []
        for i, (k, r) in enumerate(cps):
            left = lk[bounds[i] : k].mean()
            right = lk[k : bounds[i + 2]].mean()
            if left > right:
                drops.append((k, r, bounds[i + 2]))
        if drops:
            top = max(r for _, r, _ in drops)
            k_cp, llr, seg_end = next(d for d in drops if d[1] >= params.drop_ratio * top)
            method = "change_point"
            onset = _onset(lk, k_cp, params)
            if onset is not None:
                k_cp, seg_end, method = onset, k_cp, "onset"
    return k_cp, seg_end, llr, n_breaks, method


def _lower_bound(
    f: np.ndarray,
    lk: np.ndarray,
    k_cp: int | None,
    seg_end: int,
    params: AttributionParams,
    note: list[str],
) -> tuple[int | None, float, int]:
    """Lower bound ``after`` (ns or None), the leaked share ``q`` after the horizon and
    the leaked patients ``m`` it backs off; appends to ``note`` why a bound is missing."""
    q = 0.0
    m_need = 0
    if k_cp is None:
        before_idx = np.flatnonzero(lk)
        after_ns = int(f[before_idx[-1]]) if before_idx.size else None
        note.append(
            "no drop in the leaked share over first-seen time: the copy was taken after the "
            "last patient seen, or the leak is not bounded in time"
            if before_idx.size
            else "every leaked patient is censored (first seen in the first censor_days): no "
            "lower bound"
        )
        return after_ns, q, m_need
    # leaked share just after the break: returning patients created before the copy
    # (or audited late) look like new ones; a run of m leaked patients all after the
    # copy has probability q^m, so the lower bound backs off m leaked patients
    # q is estimated from few patients: use its one-sided Clopper-Pearson upper bound
    seg = lk[k_cp : min(seg_end, k_cp + params.post_sample)]
    q = float(seg.mean()) if seg.size else 0.0
    q_up = _cp_upper(int(seg.sum()), int(seg.size), params.bound_alpha)
    if q_up < 1:
        m_need = max(1, math.ceil(math.log(params.bound_alpha) / math.log(q_up)))
    li = np.flatnonzero(lk[:k_cp])
    if m_need and li.size >= m_need:
        after_ns = int(f[li[-m_need]])
    else:
        after_ns = None
        note.append(f"fewer than {m_need} leaked patients before the change point: no lower bound")
    return after_ns, q, m_need


def _upper_bound(
    fs: np.ndarray,
    leaked: np.ndarray,
    f: np.ndarray,
    lk: np.ndarray,
    after_ns: int,
    params: AttributionParams,
    note: list[str],
) -> tuple[int | None, int]:
    """Upper bound ``before`` (ns or None) and the not-leaked patients ``k`` it needs;
    appends to ``note`` why it is missing."""
    # completeness's one-sided Clopper-Pearson lower bound
    upto = fs <= after_ns
    p = 1.0 - _cp_upper(int((~leaked[upto]).sum()), int(upto.sum()), params.bound_alpha)
    if p <= 0:
        k_need = 0
    else:
        k_need = max(1, math.ceil(math.log(params.bound_alpha) / math.log(1.0 - p)))
    ti = np.flatnonzero((f > after_ns) & ~lk)
    before_ns = None
    if k_need and ti.size >= k_need:
        before_ns = int(f[ti[k_need - 1]])
    elif k_need:
        note.append(
            f"fewer than {k_need} not-leaked patients after the lower bound: no upper bound"
        )
    return before_ns, k_need


def _lab_arrays(ctx: _Context) -> dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray]]:
    """Per lab with leaked patients: patients sorted by first-seen, first-seen ns, leaked mask.

    Independent of the thresholds, so computed once and reused by the stability reruns."""
    if ctx.arrays is not None:
        return ctx.arrays
    m = ctx.matches
    out = {}
    pts = ctx.patients
    for lab, g in m.groupby("lab", sort=True):
        p = pts[pts["lab"] == lab].sort_values(["first_seen", "patient"], kind="stable")
        leaked = p["patient"].isin(g["patient"].unique()).to_numpy(dtype=bool)
        out[str(lab)] = (p, _ns(p["first_seen"]), leaked)
    ctx.arrays = out
    return out


_WINDOW_COLS = [
    "lab",
    "n_patients",
    "n_leaked",
    "leaked_share",
    "evidence_start",
    "evidence_end",
    "censor_until",
    "n_censored",
    "n_censored_leaked",
    "after",
    "before",
    "width_h",
    "after_leak_dates",
    "completeness",
    "extraction",
    "change_point_llr",
    "support_after",
    "support_before",
    "n_late_leaked",
    "post_share",
    "horizon_method",
    "confidence",
    "note",
]


def _windows(ctx: _Context, params: AttributionParams) -> pd.DataFrame:
    """Exfiltration window per lab with leaked patients found.

    Columns: ``lab``, ``n_patients`` (seen in the lab's evidence), ``n_leaked``
    (leaked patients found there), ``leaked_share``, ``evidence_start``,
    ``evidence_end``, ``censor_until``, ``n_censored``, ``n_censored_leaked``
    (left out of ``after`` because first seen before ``censor_until``),
    ``after``, ``before`` (UTC, NaT when unbounded), ``width_h``,
    ``after_leak_dates`` (latest sample date in the leak, if any),
    ``completeness``, ``extraction`` (``full``/``filtered``),
    ``change_point_llr``, ``support_after``, ``support_before``,
    ``n_late_leaked`` (leaked patients first seen after ``before``: returning
    patients created before logging, or audited late), ``post_share`` (leaked
    share just after the change point), ``confidence`` (``high``: both bounds,
    log-likelihood ratio >= 20, completeness >= 0.9 and post_share <= 0.5;
    ``medium``: both bounds and ratio >= 5; ``low``: otherwise; ``none``: no
    lower bound), ``note``.
    """
    m = ctx.matches
    if m.empty:
        return pd.DataFrame({c: [] for c in _WINDOW_COLS})
    spans = ctx.lab_span.set_index("lab")
    arrays = _lab_arrays(ctx)
    rows = [_window_row(lab, *arrays[lab], spans, m, params) for lab in sorted(arrays)]
    out = pd.DataFrame(rows, columns=_WINDOW_COLS)
    for c in (
        "evidence_start",
        "evidence_end",
        "censor_until",
        "after",
        "before",
        "after_leak_dates",
    ):
        out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[ns, UTC]")
    return out


def _window_row(
    lab: str,
    p: pd.DataFrame,
    fs: np.ndarray,
    leaked: np.ndarray,
    spans: pd.DataFrame,
    m: pd.DataFrame,
    params: AttributionParams,
) -> dict[str, Any]:
    """One lab's row of :func:`_windows`."""
    start = spans.loc[lab, "evidence_start"]
    end = spans.loc[lab, "evidence_end"]
    censor_until = start + pd.Timedelta(days=params.censor_days)
    censored = fs < censor_until.value
    w = _window_one(fs, leaked, censored, params)
    after = pd.Timestamp(w["after"], tz="UTC") if w["after"] is not None else pd.NaT
    before = pd.Timestamp(w["before"], tz="UTC") if w["before"] is not None else pd.NaT
    note = [w["note"]] if w["note"] else []
    if int(censored.sum()):
        note.append(
            f"{int(censored.sum())} patients first seen before {censor_until.isoformat()} "
            f"(first {counted(f'{params.censor_days:g}', 'day')} of evidence) left out of the lower bound: "
            "they may predate logging"
        )
    dates = m.loc[m["lab"] == lab, "date"].dropna()
    after_dates = dates.max() if len(dates) else pd.NaT
    if pd.notna(after_dates):
        if pd.isna(before) or after_dates < before:
            if pd.isna(after) or after_dates > after:
                after = after_dates
                note.append("lower bound raised to the leak's latest sample date")
        else:
            note.append(
                "the leak's latest sample date is after the upper bound: bounds in conflict"
            )
    completeness = w["completeness"]
    n_leaked = int(leaked.sum())
    return {
        "lab": lab,
        "n_patients": len(p),
        "n_leaked": n_leaked,
        "leaked_share": n_leaked / max(len(p), 1),
        "evidence_start": start,
        "evidence_end": end,
        "censor_until": censor_until,
        "n_censored": int(censored.sum()),
        "n_censored_leaked": int((censored & leaked).sum()),
        "after": after,
        "before": before,
        "width_h": (before - after).total_seconds() / 3600.0
        if pd.notna(before) and pd.notna(after)
        else np.nan,
        "after_leak_dates": after_dates,
        "completeness": completeness,
        "extraction": (
            "full"
            if not math.isnan(completeness) and completeness >= params.full_completeness
            else "filtered"
        ),
        "change_point_llr": w["change_point_llr"],
        "support_after": w["support_after"],
        "support_before": w["support_before"],
        "n_late_leaked": w["n_late_leaked"],
        "post_share": w["post_share"],
        "horizon_method": w["horizon_method"],
        "confidence": _confidence(after, before, w),
        "note": "; ".join(note),
    }


def _confidence(after: pd.Timestamp, before: pd.Timestamp, w: dict[str, Any]) -> str:
    """``high``, ``medium``, ``low`` or ``none`` (see :func:`_windows`)."""
    if pd.isna(after):
        return "none"
    if (
        pd.notna(before)
        and w["change_point_llr"] >= 20
        and w["completeness"] >= 0.9
        and w["post_share"] <= 0.5
    ):
        return "high"
    if pd.notna(before) and w["change_point_llr"] >= 5:
        return "medium"
    return "low"
