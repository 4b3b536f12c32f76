"""The conclusion (issue 15): propositions per lab and for the case, each weighed by a
likelihood ratio on the ENFSI verbal scale, with its coverage and window.

Propositions
------------
``vendor``
    the copy came through the LIS vendor's extraction tool or accounts;
``insider``
    through laboratory staff;
``external``
    through an outside intrusion;
``outside_evidence``
    from somewhere the evidence does not cover: a copy at an unlogged time or by
    an unlogged means (a database dump, a copy of a routine job's output, a copy
    taken before the logs start, a lab with no logs).

Per lab, the findings bearing on each: its logged *operations* (sessions that
exported or extracted records, not routine, from the lab's first known patient
to the first public sighting; and each account's consultations up to the
sighting), each with its patient set (:mod:`.likelihood`) (the hypothesis of an
operation is :func:`~labforensics.attribution.candidates._candidate_features`'s:
failed-login burst or outside address -> external, vendor account or address ->
vendor, else insider; the transfers of its files and who fetched them, the
detection scores and failed-login bursts are listed with it);
``outside_evidence`` takes the marginal likelihood of a full copy at an instant
uniform over the prior range (:func:`~.likelihood.marginal_loglik`).

One operation among many. Each of the first three propositions takes the *mean*
of its operations' likelihoods (:func:`proposition_loglik`): under "the vendor
made the copy" any of the vendor's operations may be the one, each equally likely
a priori, as under ``outside_evidence`` any instant of the range is. Taking the
best operation instead (the earlier model) let a proposition with many operations
win by chance: among thirty hotline sessions one falls near the instant the
registrations point to, and a size-only session holds then the same patients as
an unlogged copy would; on generated staff exports (a copy by no logged operation)
the vendor's hotline led, "weak" to "moderate". A proposition's best operation is
still the one reported (and the one whose coverage is counted).

Ties. Two propositions whose best operations the leaked set cannot tell apart
(the same log-likelihood: no patient becomes known between two size-only
operations, or the same counts) are weighed together: each takes the larger of
their two likelihoods (:func:`_tied`), so the ratio between them is 1 ("no
support") whatever the number of their other operations, the lead between them
goes to the more anomalous best operation, and the reason says the leaked set
cannot tell them apart. Two operations of one hypothesis are one proposition: the
tie then costs nothing.

The horizon's own uncertainty. The linkage's horizon is the start of the local day
of the ``m``-th newest dated leaked row (:func:`~labforensics.leak.horizon.horizon_m`):
fewer than ``m`` rows are newer, as many as false links (or registration dates
recorded late) could make. A leaked patient the evidence knows only after the
horizon's day is therefore taken as known at that day's end
(:func:`_late_at_horizon`, counted in ``late_leaked``): otherwise one such patient
(a factor ``1 / eps``, 100) made every instant after it, hence the unlogged copy of
``outside_evidence``, beat the logged operation at the true instant; timing then
rests on the horizon, not on the few rows past it. And the dates the copy and the
patient index carry are days: a copy made during a day may hold that day's
registrations or only the days before (a copy of the last night's state, a
registration entered late). A size-only operation at ``t`` is therefore weighed at
the cut in ``[t - copy_lag_h, t]`` (:class:`AttributionParams`, a day) that fits
best, not only at ``t``: an operation the evening after the copied data stop is
no longer ruled out by that day's registrations (a factor ``1 / eps`` each), and
two size-only operations within a day of each other with no patient known between
their best cuts tie. The same dates bound the logged operations patient by patient: an
operation before a leaked row's date cannot have produced it (:mod:`.likelihood`, "row
dates"; :mod:`.op_likelihood`); not without the horizon, whose dates they are.

Left-censoring (no registration dates). A lab known only from its events (an
identifier list, no patient index) has its patients "known" from their first event:
one registered before the logs is first seen at its next visit. Its time cuts take an
isotonic (non-increasing) outside rate (:mod:`.likelihood`, "left-censoring"), and
its *censoring period* runs from the start of its logs to ``censored_until`` = start
+ :func:`~.lab_data.censoring_period` (the 90 % quantile of the forward-recurrence
time of its own revisit gaps). A full or size-only operation within that period
cannot be told from a copy made before the logs (the first-seen dates there are
censored: the same patients, at or before): ``outside_evidence`` takes at least that
operation's likelihood (:func:`_censored`), so the ratio between them is at most 1
and the reason says why; the operation's leaked patients first seen within the
period are producible. This replaces the earlier reading, where a vendor extraction
of exactly the leak's size four days after the logs started read
``outside_evidence`` "very strong": most leaked patients were first seen after it,
and a constant outside rate fitted to their decline put the best cut weeks later.

The leading proposition is the most likely; ``log10_lr`` is its log10 likelihood
ratio against the next (``alternative``), capped (:func:`~.likelihood.ceiling_log10`,
and for a logged proposition :func:`~.likelihood.coverage_ceiling_log10` of the
lab's producible share). A lab whose logs start after its horizon, or with no
logs, is ``outside_evidence`` with the gap named. Labs whose leaked rows are no
more than false links could make (fewer than
:func:`~labforensics.leak.horizon.horizon_m` rows linked to that lab alone) are
listed and not weighed.

Case: the labs' leading propositions when they agree, else ``mixed``; its
``log10_lr`` is the smallest of the labs' (every lab's proposition must hold),
capped by the case's coverage ceiling; no leak: ``undetermined``, reason
``no leak``, no ratio. A lab of the leak the evidence holds nothing of (no logs, or
none of its leaked patients known) is not weighed: listed ``not_in_evidence`` in
``not_weighed``, its pairs on line ``not_in_evidence`` or ``not_a_patient`` (:mod:`.coverage`).

Support. A ratio below 2 ("no support" on the verbal scale,
:func:`~.likelihood.supports`) names no source: the lab's, or the case's,
``proposition`` is ``undetermined`` and the one ranked first is kept as ``leading``
(with its ratio, band and alternative); a case with such a lab is undetermined too,
never ``mixed`` of it (:func:`_undetermined`). ``leading`` equals ``proposition``
when a source is named.

Window per lab: the evidence-based bounds intersected with ``[horizon, first
public sighting]``. The evidence-based bounds are, with a patient index's
registration dates, the likelihood interval of the copy instant
(:func:`likelihood_interval`), else the first-seen window of
:func:`~.windows._windows`; the instant the registrations point to (the best
cut) is given beside it.

Sensitivity: the ratios are recomputed with the mismatch allowance halved and
doubled, the records tolerance 0 and 0.2, and without the horizon and the
sighting; the range of the case's log10 LR and the propositions reached are
reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .._plural import counted
from ..case import DEFAULT_TZ
from ..leak.horizon import horizon_m
from . import activity as act
from . import coverage as cov
from .copy_window import _ts, _window, likelihood_interval, next_local_day, sighting_conflict
from .lab_data import (
    _iso,
    _LabData,
    prepare,
)
from .likelihood import (
    SUPPORT_MIN_LR,
    ceiling_log10,
    coverage_ceiling_log10,
    cut_curve,
    cut_log10,
    marginal_loglik,
    mismatch_rate,
    ratio_of,
    supports,
    verbal,
)
from .limits import limits, pairs_words
from .op_likelihood import _op_loglik, row_date_universe
from .op_prior import candidates
from .params import AttributionParams
from .tie import UNTIED, untied

#: Propositions, in report (and tie-break) order.
PROPOSITIONS: tuple[str, ...] = ("vendor", "insider", "external", "outside_evidence")

_LN10 = math.log(10.0)


@dataclass(frozen=True)
class _Setting:
    """The model's assumptions (varied by the sensitivity reruns)."""

    eps_factor: float = 1.0
    records_tolerance: float | None = None
    use_horizon: bool = True
    use_sighting: bool = True
    use_activity: bool = True


def _not_weighed_reason(d: _LabData, fmr: float | None, n_rows: int | None) -> str:
    """Why a lab is not weighed, with its counts (the rows of people at two labs bound
    neither lab's copy, so only the rows linked to this lab alone count)."""
    if d.n_unique is None:
        return "no lab-patient pair of the leak is linked to this lab"
    m = horizon_m(int(n_rows or d.n_linked), fmr)
    others = max(int(d.n_linked) - int(d.n_unique), 0)
    n = int(n_rows or d.n_linked)
    return (f"{int(d.n_unique):,} lab-patient pair(s) linked to this lab alone, fewer than the "
            f"{m:,} that false links could make (fewer than 1 % chance of as many among the "
            f"{n:,} linked rows at the estimated false-match rate)"
            + (f"; its other {others:,} linked pair(s) are of people also at another lab, "
               "which bound neither lab's copy" if others else ""))  # fmt: skip


def _material(d: _LabData, fmr: float | None, n_rows: int | None) -> bool:
    """Whether a lab's leaked rows are more than false links could make."""
    if d.n_unique is None:
        return d.n_linked > 0
    return d.n_unique >= horizon_m(int(n_rows or d.n_linked), fmr)


def lab_conclusion(
    d: _LabData,
    fmr: float | None,
    sighted_at: pd.Timestamp | None,
    params: AttributionParams,
    s: _Setting,
    tz: str = DEFAULT_TZ,
) -> dict[str, Any]:
    """One lab's conclusion under the assumptions ``s`` (see module docstring); ``tz``
    the case's IANA zone (the local days of the horizon)."""
    eps = float(min(max(mismatch_rate(fmr, params.leak_noise) * s.eps_factor, 1e-6), 0.49))
    tol = params.records_tolerance if s.records_tolerance is None else s.records_tolerance
    n_uni = len(d.known_ns)
    n_leak = int(d.leaked.sum())
    horizon = d.horizon if s.use_horizon else None
    sight = sighted_at if s.use_sighting else None
    win = _window(d, horizon, sight)
    base = {
        "lab": d.lab,
        "window": win,
        "mismatch_rate": eps,
        "operations": [],
    }
    logs_cover = d.has_logs and (
        horizon is None or d.evidence_start is None or d.evidence_start <= horizon
    )
    if not d.has_logs or n_uni == 0:
        lines = cov.lines_of(d, n_leak if d.has_logs else 0, False, 0)
        return {
            **base,
            **_verdict_none(
                "outside_evidence",
                f"{d.lab} has no logs in the evidence: the copy of its "
                f"{d.n_linked:,} lab-patient pairs cannot be weighed",
            ),  # fmt: skip
            "coverage": lines,
        }
    if n_leak == 0:
        lines = cov.lines_of(d, 0, logs_cover, 0)
        return {
            **base,
            **_verdict_none(
                "outside_evidence",
                f"none of the {d.n_linked:,} lab-patient pairs of "
                f"{d.lab} is a patient the evidence knows: the copy cannot be traced "
                "to logged activity",
            ),  # fmt: skip
            "coverage": lines,
        }
    known_ns, leaked, n_late = _late_at_horizon(d.known_ns, d.leaked, horizon, tz)
    base["late_leaked"] = n_late
    lag_ns = int(params.copy_lag_h * 3600e9)
    # without registration dates: the isotonic outside of a cut, and the patients first
    # seen within the lab's censoring period (likelihood module, "left-censoring")
    k_cens = (
        int(np.searchsorted(known_ns, int(d.censor_end.value), side="right"))
        if d.censor_end is not None and not d.dated
        else 0
    )
    if k_cens:
        base["censored_until"] = _iso(d.censor_end)
    # the logged operations see a leaked patient from its row's date on (likelihood module,
    # "row dates"): the dump's dates, read as the horizon is, so not without it
    rows = horizon is not None and d.row_ns is not None
    ok, olk, _ = (_late_at_horizon(*row_date_universe(d.known_ns, d.leaked, d.row_ns), horizon, tz)
                  if rows else (known_ns, leaked, 0))  # fmt: skip
    ocum = np.concatenate([[0], np.cumsum(olk, dtype=np.int64)])
    ok_cens = int(np.searchsorted(ok, int(d.censor_end.value), side="right")) if k_cens else 0
    ll_ops, prod = _op_loglik(d.ops, ok, ocum, n_leak, n_uni, eps, tol, d.dated, lag_ns, olk,
                              ok_cens, row_bound=rows)  # fmt: skip
    curve = cut_curve(leaked, eps, free_outside=not d.dated, k_cens=k_cens)
    lo = int(horizon.value) if horizon is not None else int(known_ns[0])
    hi_t = sight if sight is not None else d.evidence_end
    hi = int(hi_t.value) if hi_t is not None else int(known_ns[-1])
    ll_out, k_best = marginal_loglik(curve, known_ns, lo, hi)
    win["registrations_point_to"] = [
        _iso(known_ns[k_best - 1]) if k_best > 0 else None,
        _iso(known_ns[k_best]) if k_best < n_uni else None,
    ]
    if d.dated:
        # with registration dates, the evidence-based bounds are the likelihood interval of
        # the copy instant (instants within a factor LIKELIHOOD_INTERVAL of the best), not
        # the first-seen window (a proxy the registrations make unnecessary)
        a_ns, b_ns = likelihood_interval(curve, known_ns, lo, hi)
        win = _window(
            replace(d, window_after=_ts(a_ns), window_before=_ts(b_ns)), horizon, sight
        ) | {"registrations_point_to": win["registrations_point_to"],
             "evidence_bounds": "likelihood interval of the registrations"}  # fmt: skip
        base["window"] = win
    else:
        win["evidence_bounds"] = "first-seen window"
    lls: dict[str, float] = {"outside_evidence": ll_out}
    hz_ns = int(horizon.value) if horizon is not None else None
    # each operation's statuses (the register's, its output's retrieval), a factor apart
    # from the content (activity module); the content alone when neither can be assessed,
    # when switched off (the default) or in its sensitivity rerun
    st = act.statuses(d) if params.activity_evidence and s.use_activity else {}
    weigh_act = bool(st)
    lf = act.total_log_factors(st, len(ll_ops))
    ll_all = ll_ops + lf
    content: dict[str, float] = {"outside_evidence": ll_out}
    best_op: dict[str, int] = {}
    weighed: dict[str, list[int]] = {}  # proposition -> [operations weighed, of its operations]
    anom = d.ops["anomaly"].to_numpy(dtype=float) if len(d.ops) else np.zeros(0)
    for h in ("vendor", "insider", "external"):
        idx = (
            np.flatnonzero(d.ops["hypothesis"].to_numpy() == h) if len(d.ops) else np.zeros(0, int)
        )
        # those at or after the horizon that could hold the leak (op_prior module)
        n_all = int(idx.size)
        idx = candidates(d.ops, idx, hz_ns, n_leak, tol) if idx.size else idx
        if n_all:
            weighed[h] = [int(idx.size), n_all]
        if idx.size:
            # the best operation; among equally likely ones the most anomalous
            j = int(idx[np.lexsort((-anom[idx], -np.round(ll_all[idx], 9)))[0]])
            # the proposition: any of its operations, each equally likely a priori (a
            # marginal likelihood, as outside_evidence's over instants; module docstring)
            lls[h] = proposition_loglik(ll_all[idx])
            content[h] = proposition_loglik(ll_ops[idx])
            best_op[h] = j
    tied = _tied(lls, best_op, ll_all)
    # propositions whose best operations the leaked set cannot tell apart are weighed
    # together (module docstring, "ties"): each takes the larger likelihood, so the
    # ratio between them is 1 whatever the number of their other operations
    lls = {h: max([lls[h]] + [lls[g] for g in tied[h]]) for h in lls}
    if weigh_act:
        # the content's part is weighed as the content-only run weighs it (its own ties)
        tied_c = _tied(content, best_op, ll_ops)
        content = {h: max([content[h]] + [content[g] for g in tied_c[h]]) for h in content}
    censored = _censored(d, k_cens, best_op)
    if censored:
        # without registration dates a full or size-only operation within the censoring
        # period cannot be told from a copy before the logs (module docstring,
        # "left-censoring"): outside_evidence fits at least as well as it
        # (only outside_evidence is raised: the operation keeps its own likelihood)
        lls["outside_evidence"] = max([lls["outside_evidence"]] + [lls[h] for h in censored])
    # order: likelihood, then (a tie: the leaked set cannot tell them apart, LR 1) the
    # anomaly of the best operation, then the report order
    ranked = sorted(
        lls,
        key=lambda h: (
            -round(lls[h], 9),
            -(anom[best_op[h]] if h in best_op else -1.0),
            PROPOSITIONS.index(h),
        ),
    )
    lead = ranked[0]
    bj = max(best_op.values(), key=lambda j: ll_ops[j]) if best_op else None
    producible = int(prod[bj]) if bj is not None else 0
    lines = cov.lines_of(d, n_leak, logs_cover, producible)
    q = lines["producible"] / lines["linked"] if lines["linked"] else 0.0
    cap = ceiling_log10(eps)
    alts = []
    for h in ranked[1:]:
        raw = (lls[lead] - lls[h]) / _LN10
        c = min(cap, coverage_ceiling_log10(q)) if lead != "outside_evidence" else cap
        alts.append({"proposition": h, "log10_lr": float(min(raw, c)), "log10_lr_uncapped": float(raw),
                     "operation": _op_dict(d.ops, best_op.get(h), ll_ops, prod)})  # fmt: skip
    ops_out = [_op_dict(d.ops, j, ll_ops, prod) for j in np.argsort(-ll_ops, kind="stable")[:10]]
    if not alts:
        res = _verdict_none(lead, f"{d.lab}: no logged operation to weigh against")
    else:
        a = alts[0]
        lr = a["log10_lr"]
        res = {
            "proposition": lead,
            "log10_lr": lr,
            "likelihood_ratio": ratio_of(lr),
            "verbal": verbal(ratio_of(lr)),
            "alternative": a["proposition"],
            "reason": _reason(d, lead, a, lines, horizon, logs_cover, q),
        }
        if weigh_act:
            # the two parts stated apart (activity module): the leak's content, and the
            # operations' statuses (the register's, the output's retrieval)
            c10 = (content[lead] - content[a["proposition"]]) / _LN10
            res["log10_lr_content"] = float(c10)
            res["reason"] += act.reason_text(best_op.get(lead), st, c10,
                                             a["log10_lr_uncapped"])  # fmt: skip
    pair = {lead, alts[0]["proposition"]} if alts else set()
    if alts and "outside_evidence" in pair and (pair - {"outside_evidence"}) & set(censored):
        h = next(iter(pair - {"outside_evidence"}))
        res["reason"] = (
            f"{d.lab}: no registration dates, and {h}'s operation falls within the lab's "
            f"censoring period (its logs start {_iso(d.evidence_start)}; patients registered "
            f"before them are first seen up to {_iso(d.censor_end)}, from its revisit gaps): a "
            "copy before the logs fits as well, no support for either; " + res["reason"]
        )
    elif alts and alts[0]["proposition"] in tied.get(lead, ()):
        res["reason"] = (
            f"{d.lab}: the leaked set cannot tell {lead} from {alts[0]['proposition']} (their best "
            "operations hold the same leaked patients): no support for either; " + res["reason"]
        )
    res["leading"] = lead
    if alts and not supports(res["log10_lr"]):
        res = _undetermined(res, f"{d.lab}: ")
    return {
        **base,
        **res,
        "operation": _op_dict(d.ops, best_op.get(lead), ll_ops, prod) if lead in best_op else None,
        "alternatives": alts,
        # log10 likelihood of each proposition weighed (calibration: benchmarks/attribution.py)
        "log10_likelihoods": {h: float(lls[h] / _LN10) for h in ranked},
        # log10 LR of each proposition against the best other, ties applied, before the
        # ceilings (calibration: benchmarks/attribution.py)
        "log10_lr_by_proposition": _lr_by_proposition(lls),
        "operations": ops_out,
        # the operations each logged proposition's mean ranges over (op_prior module)
        "operations_weighed": weighed,
        # the statuses' factor, stated apart (activity module): each proposition's log10
        # likelihood on the content alone, its best operation's statuses and factor
        "activity": {
            **act.describe(st, lf, best_op),
            "log10_likelihoods_content": {h: float(content[h] / _LN10) for h in ranked},
        }
        if weigh_act
        else None,
        "coverage": lines,
        "ceiling_log10": cap,
        "coverage_ceiling_log10": coverage_ceiling_log10(q),
    }


def _late_at_horizon(
    known_ns: np.ndarray, leaked: np.ndarray, horizon: pd.Timestamp | None, tz: str = DEFAULT_TZ
) -> tuple[np.ndarray, np.ndarray, int]:
    """Leaked patients the evidence knows only after the horizon's day, taken as known at
    its end (module docstring, "the horizon's own uncertainty").

    Parameters
    ----------
    known_ns : numpy.ndarray of int64, shape (n,)
        ``known_at`` sorted ascending (ns).
    leaked : numpy.ndarray of bool, shape (n,)
    horizon : pandas.Timestamp or None
        The linkage's horizon (start of a local day); None: nothing moved.
    tz : str
        The case's IANA zone: the horizon's day ends at the next local midnight
        (:func:`~.copy_window.next_local_day`), not 24 hours later.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, int)
        ``known_ns`` and ``leaked`` re-sorted (stable) after the move, and the number
        of leaked patients moved.
    """
    if horizon is None or not len(known_ns):
        return known_ns, leaked, 0
    # the end of the horizon's local day: the next local midnight, 23 or 25 hours later
    # across a clock change (a fixed 24 h put L04's window of the demo an hour early)
    end = int(next_local_day(horizon, tz).value)
    late = leaked & (known_ns > end)
    if not late.any():
        return known_ns, leaked, 0
    k = np.where(late, end, known_ns)
    order = np.argsort(k, kind="stable")
    return k[order], leaked[order], int(late.sum())


def proposition_loglik(ll_ops: np.ndarray) -> float:
    """A logged proposition's log-likelihood: the mean of its operations' likelihoods.

    Parameters
    ----------
    ll_ops : numpy.ndarray of float64, shape (n,), n >= 1
        Natural log-likelihood of each of the proposition's operations.

    Returns
    -------
    float
        ``ln((1/n) sum_j exp(ll_j))`` (log-sum-exp): each operation equally likely a
        priori to be the copy (module docstring, "one operation among many").
    """
    v = np.asarray(ll_ops, dtype=float)
    m = float(v.max())
    return m + math.log(float(np.mean(np.exp(v - m))))


def _censored(d: _LabData, k_cens: int, best_op: dict[str, int]) -> list[str]:
    """Logged propositions whose best operation is a full or size-only one within the
    lab's censoring period (no registration dates; module docstring, "left-censoring")."""
    if not k_cens or d.censor_end is None or d.dated or d.ops.empty:
        return []
    c_ns = int(d.censor_end.value)
    t = d.ops["t_ns"].to_numpy(dtype=np.int64)
    kind = d.ops["kind"].to_numpy()
    return [h for h, j in best_op.items() if kind[j] == "cut" and t[j] <= c_ns]


def _tied(
    lls: dict[str, float], best_op: dict[str, int], ll_ops: np.ndarray
) -> dict[str, set[str]]:
    """Propositions whose best operations the leaked set cannot tell apart (the same
    log-likelihood to 1e-9: no leaked patient known between them, or the same counts)."""
    out: dict[str, set[str]] = {h: set() for h in lls}
    for h, j in best_op.items():
        for g, k in best_op.items():
            if g != h and abs(float(ll_ops[j]) - float(ll_ops[k])) <= 1e-9:
                out[h].add(g)
    return out


def _lr_by_proposition(lls: dict[str, float]) -> dict[str, float]:
    """log10 LR of each proposition against the best other (ties already weighed together)."""
    out = {}
    for h in lls:
        others = [lls[g] for g in lls if g != h]
        if others:
            out[h] = float((lls[h] - max(others)) / _LN10)
    return out


#: Why no source is named (the case's reason, or a lab's after "L01: "), said once.
_NO_SOURCE = (f"undetermined, no source named: the likelihood ratio is below {SUPPORT_MIN_LR:g} "
              "(no support on the verbal scale)")  # fmt: skip


def _undetermined(res: dict[str, Any], who: str) -> dict[str, Any]:
    """A conclusion whose leading proposition the findings do not support over its
    alternative (LR below 2, "no support": :func:`~.likelihood.supports`): no source is
    named. ``proposition`` becomes ``undetermined``; ``leading``, the ratio, its band and
    the alternative are kept; the reason says why first (``who``: "L01: " or "")."""
    return {**res, "proposition": "undetermined", "reason": f"{who}{_NO_SOURCE}; " + res["reason"]}


def _not_in_evidence(d: _LabData) -> dict[str, Any] | None:
    """A lab of the leak the evidence holds nothing of (no logs, or none of its leaked
    patients known to them): not weighed, its pairs ``not_in_evidence`` or ``not_a_patient`` (a
    limit), never a proposition of its own; None for a lab to weigh."""
    if d.has_logs and len(d.known_ns) and d.leaked.any():
        return None
    why = ("no logs of this lab are in the evidence" if not d.has_logs or not len(d.known_ns)
           else "none of its leaked patients is known to its logs or patient index")  # fmt: skip
    return {"lab": d.lab, "linked": d.n_linked, "linked_alone": d.n_unique,
            "not_in_evidence": True, "coverage": cov.lines_of(d, 0, False, 0),
            "reason": f"not in the evidence: {why}, so its {d.n_linked:,} lab-patient pair(s) "
                      "cannot be weighed"}  # fmt: skip


def _verdict_none(prop: str, reason: str) -> dict[str, Any]:
    return {
        "proposition": prop,
        "leading": prop,
        "log10_lr": None,
        "likelihood_ratio": None,
        "verbal": None,
        "alternative": None,
        "reason": reason,
        "alternatives": [],
        "operation": None,
    }


def _op_dict(
    ops: pd.DataFrame, j: int | None, ll: np.ndarray, prod: np.ndarray
) -> dict[str, Any] | None:
    if j is None or ops.empty:
        return None
    r = ops.iloc[int(j)]
    return {
        "op": r["op"],
        "kind": r["kind"],
        "hypothesis": r["hypothesis"],
        "account": r["account"],
        "time": _iso(int(r["t_ns"])),
        "records": int(r["records"]),
        "producible": int(prod[int(j)]),
        "loglik": float(ll[int(j)]),
        "score": r["score"],
        "failed_burst": bool(r["failed_burst"]),
        "network": r["network"],
        "retrieved_outside": bool(r["retrieved_outside"]),
        "fetched_outside_by": list(r["fetched_outside_by"]),
    }


def _reason(
    d: _LabData,
    lead: str,
    a: dict[str, Any],
    lines: dict[str, int],
    horizon: Any,
    logs_cover: bool,
    q: float,
) -> str:
    op = a.get("operation")
    t = (
        f"{d.lab}: {lead} against {a['proposition']}, log10 LR {cut_log10(a['log10_lr'])} "
        f"(uncapped {cut_log10(a['log10_lr_uncapped'])}); "
        f"{lines['producible']:,} of {lines['linked']:,} lab-patient pairs a logged operation could have produced"
    )
    if not logs_cover and horizon is not None and d.evidence_start is not None:
        gap = (d.evidence_start - horizon).total_seconds() / 86400.0
        t += (
            f"; the logs start {_iso(d.evidence_start)}, {counted(f'{gap:.0f}', 'day')} after the horizon "
            f"{_iso(horizon)}: the copy may predate them"
        )
    if op is not None:
        t += f"; alternative's best operation {op['op']} ({op['account']}, {op['time']})"
    return t


def conclude(
    prep: dict[str, Any] | None, params: AttributionParams, s: _Setting = _Setting()
) -> dict[str, Any]:
    """The case conclusion (``findings.json`` ``conclusion`` and ``per_lab``)."""
    if prep is None:
        return {
            "proposition": "undetermined",
            "leading": None,
            "reason": "no leak",
            "log10_lr": None,
            "likelihood_ratio": None,
            "verbal": None,
            "alternative": None,
            "window": None,
            "coverage": None,
            "per_lab": [],
            "not_weighed": [],
        }
    per, skipped = [], []
    tz = prep.get("tz") or DEFAULT_TZ
    for lab, d in sorted(prep["labs"].items()):
        if not _material(d, prep["fmr"], prep["n_rows_linked"]):
            skipped.append({"lab": lab, "linked": d.n_linked, "linked_alone": d.n_unique,
                            "reason": _not_weighed_reason(d, prep["fmr"],
                                                          prep["n_rows_linked"])})  # fmt: skip
            continue
        if (gone := _not_in_evidence(d)) is not None:
            skipped.append(gone)
            continue
        if why := sighting_conflict(lab, d.horizon if s.use_horizon else None,
                                    prep["sighted_at"] if s.use_sighting else None, tz):  # fmt: skip
            skipped.append({"lab": lab, "linked": d.n_linked, "linked_alone": d.n_unique,
                            "reason": why, "contradiction": True})  # fmt: skip
            continue
        per.append(lab_conclusion(d, prep["fmr"], prep["sighted_at"], params, s, tz))
    per, skipped = _place_ambiguous(per, skipped, prep["labs"])
    gone = [x for x in skipped if x.get("not_in_evidence")]  # their pairs: not_in_evidence
    lines = cov.case_lines([p["coverage"] for p in per + gone], prep["unplaced"])
    # identifiers also counted in a weighed lab are not counted again
    lines["not_weighed"] = sum(x["linked"] for x in skipped
                               if not x.get("counted_in") and x not in gone)  # fmt: skip
    lines["total"] += lines["not_weighed"]
    lines["share_producible"] = lines["producible"] / lines["total"] if lines["total"] else None
    if not per and untied(prep["labs"], skipped):
        why = UNTIED + "".join(f"; {x['lab']} {x['reason']}" for x in skipped)
        return {**_verdict_none("undetermined", why), "leading": None, "window": None,
                "coverage": lines, "per_lab": per, "not_weighed": skipped}  # fmt: skip
    if not per:
        return {
            **_verdict_none(
                "outside_evidence",
                "no lab-patient pair of the leak is at a lab of the evidence beyond false links"
                + "".join(f"; {x['lab']} {x['reason']}" for x in gone),
            ),  # fmt: skip
            "window": None,
            "coverage": lines,
            "per_lab": per,
            "not_weighed": skipped,
        }
    props = {p["proposition"] for p in per}
    leads = {p["leading"] for p in per}
    lead = leads.pop() if len(leads) == 1 else "mixed"  # the labs' leading propositions
    prop = props.pop() if len(props) == 1 else "mixed"
    lrs = [p["log10_lr"] for p in per]
    weakest = None if any(x is None for x in lrs) else min(per, key=lambda p: p["log10_lr"])
    log10_lr = weakest["log10_lr"] if weakest else None
    q = lines["share_producible"] or 0.0
    if log10_lr is not None and prop in ("vendor", "insider", "external"):
        log10_lr = min(log10_lr, coverage_ceiling_log10(q))
    # the case's ratio held below its weakest lab's by the part of the leak no logged
    # operation could have produced: said where the ratio is (QA session 13)
    capped = weakest is not None and log10_lr is not None and log10_lr < weakest["log10_lr"]
    # the labs of one proposition named together ("L01, L02 undetermined"), and the
    # weakest lab's "no source named" not said again after the case's (QA session 10)
    by_prop: dict[str, list[str]] = {}
    for p in per:
        by_prop.setdefault(p["proposition"], []).append(p["lab"])
    reason = (
        f"{len(per)} lab(s) weighed: "
        + "; ".join(f"{', '.join(labs)} {h}" for h, labs in by_prop.items())
        + f"; {lines['producible']:,} of {lines['total']:,} lab-patient pairs a logged operation could "
        f"have produced"
    )
    if capped:
        absent = sorted(x["lab"] for x in gone if not prep["labs"][x["lab"]].has_logs)
        reason += (
            f"; the case's ratio is capped at log10 {cut_log10(log10_lr)} for the "
            f"{lines['total'] - lines['producible']:,} lab-patient pairs no logged operation "
            "could have produced"
            + (f" ({', '.join(absent)}: no logs in the evidence)" if absent else "")
        )
    if weakest is not None:
        why = weakest["reason"].removeprefix(f"{weakest['lab']}: {_NO_SOURCE}; ")
        reason += f"; weakest lab {weakest['lab']} ({why})"
    res = {
        "proposition": prop,
        "leading": lead,
        "log10_lr": log10_lr,
        "likelihood_ratio": ratio_of(log10_lr) if log10_lr is not None else None,
        "verbal": verbal(ratio_of(log10_lr)) if log10_lr is not None else None,
        "alternative": weakest["alternative"] if weakest else None,
        "window": {p["lab"]: p["window"] for p in per},
        "coverage": lines,
        "reason": reason,
        "per_lab": per,
        "not_weighed": skipped,
    }
    if capped:
        res["capped_by_coverage"] = True
    # a lab without support, or the case's weakest ratio below 2: no source is named (a
    # "mixed" of labs at LR about 1 is no verdict either)
    if "undetermined" in {p["proposition"] for p in per} or (
        log10_lr is not None and not supports(log10_lr)
    ):
        return _undetermined(res, "")
    return res


def _place_ambiguous(
    per: list[dict[str, Any]], skipped: list[dict[str, Any]], labs: dict[str, _LabData]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Labs whose every leaked identifier is lab-less and also found in another lab: an
    identifier is one person at one lab, so of labs sharing the same identifiers only the
    one a logged proposition explains best is kept (the others are listed, not weighed)."""
    amb = [p for p in per if labs[p["lab"]].n_ambiguous == labs[p["lab"]].n_linked > 0]
    if len(amb) < 2:
        return per, skipped

    def key(p: dict[str, Any]) -> tuple[int, float, str]:
        logged = p.get("leading", p["proposition"]) in ("vendor", "insider", "external")
        return (0 if logged else 1, -(p["log10_lr"] or 0.0), p["lab"])

    kept: list[dict[str, Any]] = []
    covered: set[str] = set()
    drop = set()
    for p in sorted(amb, key=key):
        ids = labs[p["lab"]].leak_ids
        if ids <= covered:
            drop.add(p["lab"])
            skipped.append({"lab": p["lab"], "linked": len(ids), "linked_alone": 0,
                            "counted_in": [k["lab"] for k in kept],
                            "reason": "its identifiers (no lab given) are also found in "
                                      + ", ".join(k["lab"] for k in kept)
                                      + ", where a proposition explains them better"})  # fmt: skip
            continue
        kept.append(p)
        covered |= ids
    return [p for p in per if p["lab"] not in drop], skipped


#: The sensitivity reruns: name -> assumptions.
SENSITIVITY: dict[str, _Setting] = {
    "mismatch_rate x0.5": _Setting(eps_factor=0.5),
    "mismatch_rate x2": _Setting(eps_factor=2.0),
    "records_tolerance 0": _Setting(records_tolerance=0.0),
    "records_tolerance 0.2": _Setting(records_tolerance=0.2),
    "without the horizon": _Setting(use_horizon=False),
    "without the sighting": _Setting(use_sighting=False),
    "without the activity evidence": _Setting(use_activity=False),
}


def sensitivity(
    prep: dict[str, Any] | None, params: AttributionParams, base: dict[str, Any]
) -> dict[str, Any]:
    """The conclusion rerun over the model's assumptions (:data:`SENSITIVITY`)."""
    if prep is None:
        return {"runs": [], "log10_lr_range": None, "agreement": None}
    runs = []
    registered = params.activity_evidence and any(
        act.statuses(d) for d in prep["labs"].values() if d.ops is not None
    )
    for name, s in SENSITIVITY.items():
        if not s.use_activity and not registered:
            continue  # no register given: the activity rerun is the base run
        c = conclude(prep, params, s)
        runs.append({"assumption": name, "proposition": c["proposition"], "log10_lr": c["log10_lr"],
                     "agrees": c["proposition"] == base["proposition"]})  # fmt: skip
    vals = [r["log10_lr"] for r in runs if r["log10_lr"] is not None]
    if base["log10_lr"] is not None:
        vals.append(base["log10_lr"])
    return {
        "runs": runs,
        "log10_lr_range": [min(vals), max(vals)] if vals else None,
        # no ratio in any run: nothing was weighed, so no agreement to report
        "agreement": sum(r["agrees"] for r in runs) / len(runs) if vals else None,
    }


__all__ = [
    "PROPOSITIONS",
    "SENSITIVITY",
    "conclude",
    "lab_conclusion",
    "limits",
    "pairs_words",
    "prepare",
    "sensitivity",
]
