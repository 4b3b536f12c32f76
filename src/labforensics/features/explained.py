"""Explained patient accesses (explanation-based auditing).

A patient *access* (an event naming a patient whose action is one of
:data:`ACCESS_ACTIONS`: read, print, query, break-glass) by an account is
**explained** when

(a) the patient has a *clinical event* at that lab (an event naming the patient
    whose action is one of :data:`CLINICAL_ACTIONS`: a request entered or
    modified, a sample received, a result validated, corrected or transmitted)
    within ``window`` before or after the access, by any account; or
(b) the account itself handled the patient at that lab: it wrote one of the
    patient's clinical events (at any time of the evidence); or
(c) another staff account of that lab accessed the patient within ``window``
    before or after the access (collaborative work: a secretary answering the
    phone about a patient a technician is working on; the request itself may lie
    before the evidence or in a lost part of the log). This is the collaborative
    explanation of access-audit research: in hospital systems users work in
    teams, and an access shared with colleagues is the norm while an access no
    colleague shares is the anomaly (Chen, Nyemba & Malin, "Detecting anomalous
    insiders in collaborative information systems", IEEE TDSC 9(3), 2012;
    Fabbri & LeFevre 2013 explain accesses through a colleague's involvement
    with the patient). The account's own other accesses never explain one
    another, and service, vendor and unknown accounts are not colleagues, so
    a snooper reading patients nobody at the lab works on stays unexplained.

This is the explanation-based auditing of Fabbri and LeFevre ("Explanation-Based
Auditing", PVLDB 5(1), 2011; "Explaining accesses to electronic medical records
using diagnosis information", JAMIA 20(1), 2013), whose explanations tie an access
to a clinical event of the patient (an appointment, an order, a result) or to the
user's own involvement; in their hospital logs over 94 % of accesses were
explained by such events (:data:`EXPLAINED_SHARE_EHR`). A lab's audit log records
the request's life (entry, reception, validation, transmission), so the same
explanation holds: a staff member reads a patient because the patient has a
request in progress.

The window
----------
``FeatureParams.explain_window = "auto"`` (default): per (lab, role), the median
over the role's staff accounts of each account's 99th percentile of the gap
between its accesses and the patient's nearest clinical event at that lab
(accesses to patients with no clinical event at all give no gap; the median over
accounts keeps one account reading long-past patients from widening the window),
computed when the role has at least :data:`MIN_GAPS` gaps at the lab (a 99th
percentile needs 100 values) from at least :data:`MIN_ACCOUNTS` accounts, else
the same median over every staff account of the lab (same minimums), else
``explain_window_max``; clipped to
[:data:`WINDOW_MIN`, ``explain_window_max``]. The values used are returned
(:attr:`Explanation.windows`) and stored in ``Features.notes["explain_window"]``.

A lab whose evidence does not record its clinical work (no clinical event, or
its median account has fewer than :data:`MIN_LAB_COVERAGE` of its accesses
explained) has no explanation signal: ``explain_usable`` is 0 there and its counts
are 0. The lab's routine unexplained rate (for ``unexplained_p``) is the median
account's unexplained share (of two accounts, the better explained one's: the median
of two is their mean, which one heavy reader moves), at least the
``1 - EXPLAINED_SHARE_EHR`` (6 %) of hospital logs, unless the lab's own evidence bounds it lower: then that bound, the
95 % upper confidence bound of the median account's share given its number of
accesses (:func:`routine_rate`). Medians over accounts, so one account reading many
unexplained patients moves neither; the bound, so that a lab whose log explains
nearly everything is judged at its own rate and not at a hospital's, without taking
a small sample's low share at face value.

Pooling an account's reads (:func:`pooled_counts`)
---------------------------------------------------
A snooper reading a handful of neighbours spread over several sittings leaves
one to three unexplained reads per sitting: no sitting is significant alone
where a lab's routine rate is high. Unexplained reads of routine work, on the
other hand, come in clusters (a day whose requests are not in the log, a
patient followed up from before the evidence), so one routine sitting can hold
several. :func:`pooled_counts` adds, per account-day, the account's accessed and
unexplained patients over the days within ``FeatureParams.explain_pool`` (7
days, one working week, the campaign gap) either side, and the binomial tail
of that pooled count at the lab's routine rate (``unexplained_p_pooled``). The
rules test the account's pooled reads first and the sitting second (a
hierarchical test of families of hypotheses, the account then its sittings:
Benjamini & Bogomolov, JRSS B 76(1), 2014), so spread snooping adds up while a
routine sitting with a few unexplained reads among an account's many explained
ones does not stand out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta, binom

from .._keycodes import group_codes

__all__ = [
    "ACCESS_ACTIONS",
    "CLINICAL_ACTIONS",
    "EXPLAINED_SHARE_EHR",
    "Explanation",
    "MIN_ACCOUNTS",
    "MIN_GAPS",
    "MIN_LAB_COVERAGE",
    "RATE_ALPHA",
    "WINDOW_MIN",
    "event_windows",
    "explain_accesses",
    "lab_signal",
    "pooled_counts",
    "routine_rate",
    "session_windows",
    "unit_counts",
]

#: Canonical actions that are patient accesses (what needs an explanation).
ACCESS_ACTIONS: tuple[str, ...] = ("read", "print", "query", "break_glass")
#: Canonical actions that are the lab's clinical work on a patient (request entry
#: and modification, sample reception, technical and biological validation, result
#: transmission: the ``MODIFICATION``, ``VALIDATION_*`` and ``TRANSMISSION`` codes of
#: ``shared/formats/lis-audit-csv.md``).
CLINICAL_ACTIONS: tuple[str, ...] = ("update", "validate", "transmit")
#: Share of EHR accesses explained by clinical context (Fabbri & LeFevre 2011, 2013:
#: over 94 %). ``1 - EXPLAINED_SHARE_EHR`` is the routine rate of unexplained
#: accesses used by ``unexplained_p``.
EXPLAINED_SHARE_EHR: float = 0.94
#: Least share of a lab's accesses explained for its explanation features to be used
#: (our choice: with over 94 % explained in clinical logs, a log explaining under half
#: does not hold the lab's clinical events, e.g. an access-only audit trail).
MIN_LAB_COVERAGE: float = 0.5
#: Least automatic window: a result is often read the next working morning.
WINDOW_MIN: pd.Timedelta = pd.Timedelta("1D")
#: Least number of gaps for a 99th percentile (below 100 it is the maximum).
MIN_GAPS: int = 100
#: One minus the confidence of the routine rate's upper bound (:func:`routine_rate`): 95 %,
#: the conventional level.
RATE_ALPHA: float = 0.05
#: Least number of accounts for the median over accounts (a median of two is their
#: mean: one account would move it).
MIN_ACCOUNTS: int = 3

_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class Explanation:
    """Per-event explanation of patient accesses.

    Attributes
    ----------
    is_access : numpy.ndarray of bool, shape (n_events,)
        The event is a patient access (:data:`ACCESS_ACTIONS`, patient named).
    explained : numpy.ndarray of float64, shape (n_events,)
        1 explained, 0 not, ``NaN`` for an event that is not an access or an access
        nothing explains whose window the lab's logs cover on neither side
        (undetermined, :func:`explain_accesses`).
    window_days : numpy.ndarray of float64, shape (n_events,)
        Window used for the event's (lab, role), in days.
    usable : numpy.ndarray of bool, shape (n_events,)
        The event's lab has an explanation signal (see the module doc).
    rate : numpy.ndarray of float64, shape (n_events,)
        Routine unexplained rate of the event's lab: its own share of unexplained
        accesses, at least ``1 - EXPLAINED_SHARE_EHR`` (6 %) unless its evidence
        bounds it lower (:func:`routine_rate`).
    max_days : float
        The upper bound of the window, in days.
    windows : pandas.DataFrame
        One row per (lab, role) seen: ``lab``, ``role``, ``window_days``,
        ``n_gaps`` (staff gaps measured), ``basis`` (``"role"``, ``"lab"``,
        ``"max"`` or ``"fixed"``).
    labs : pandas.DataFrame
        One row per lab: ``lab``, ``accesses``, ``clinical_events``,
        ``explained_share`` (the median over the lab's accounts with accesses of
        their explained share), ``median_accesses`` (the median over those accounts
        of their number of accesses), ``usable``, ``unexplained_rate``
        (:func:`routine_rate`).
    """

    is_access: np.ndarray
    explained: np.ndarray
    window_days: np.ndarray
    usable: np.ndarray
    rate: np.ndarray
    max_days: float
    windows: pd.DataFrame
    labs: pd.DataFrame


def _is_in(col: pd.Series, values: Sequence[str]) -> np.ndarray:
    """``col`` is one of ``values`` (bool, missing is False), without a Python string
    per row (Arrow's ``is_in`` on an Arrow column)."""
    return col.isin(list(values)).to_numpy(dtype=bool, na_value=False)


def _codes(*cols: pd.Series) -> np.ndarray:
    """Group codes of the key tuples, first appearance order (a missing value is one)."""
    return group_codes(*cols)


def _nearest_gap(key: np.ndarray, t: np.ndarray, is_access: np.ndarray, is_anchor: np.ndarray):
    """|time to the nearest clinical event of the same key| per access (ns, NaN: none)."""
    out = np.full(len(t), np.nan)
    if not is_access.any() or not is_anchor.any():
        return out
    q = pd.DataFrame({"t": t[is_access], "k": key[is_access], "i": np.flatnonzero(is_access)})
    a = pd.DataFrame({"t": t[is_anchor], "k": key[is_anchor]})
    a["ta"] = a["t"]
    q = q.sort_values("t", kind="stable")
    a = a.sort_values("t", kind="stable")
    m = pd.merge_asof(q, a, on="t", by="k", direction="nearest")
    gap = (m["t"] - m["ta"]).abs().to_numpy(dtype="float64")
    out[m["i"].to_numpy()] = gap
    return out


def _nearest_other_gap(
    key: np.ndarray, acct: np.ndarray, t: np.ndarray, is_query: np.ndarray, is_anchor: np.ndarray
) -> np.ndarray:
    """|time to the nearest anchor of the same key by another account| per query (ns, NaN: none).

    Anchors sorted by (key, time) fall into runs of one account; the nearest anchor
    at or before a query is found with ``merge_asof``: when its account is the
    query's, the nearest earlier anchor of another account is the one just before
    its run (same key), and symmetrically after. Vectorised, no loop per event.
    """
    out = np.full(len(t), np.nan)
    if not is_query.any() or not is_anchor.any():
        return out
    ia = np.flatnonzero(is_anchor)
    a = pd.DataFrame({"k": key[ia], "t": t[ia], "acc": acct[ia]})
    a = a.sort_values(["k", "t"], kind="stable").reset_index(drop=True)
    k, ta, aa = a["k"].to_numpy(), a["t"].to_numpy(), a["acc"].to_numpy()
    m = len(a)
    new_run = np.ones(m, dtype=bool)
    new_run[1:] = (k[1:] != k[:-1]) | (aa[1:] != aa[:-1])
    run = np.cumsum(new_run) - 1
    starts = np.flatnonzero(new_run)
    ends = np.r_[starts[1:], m] - 1
    rs, re = starts[run], ends[run]
    # the anchor just before the run (another account) and just after it, same key
    prev_ok = (rs > 0) & (k[np.maximum(rs - 1, 0)] == k)
    next_ok = (re < m - 1) & (k[np.minimum(re + 1, m - 1)] == k)
    a["prev_t"] = np.where(prev_ok, ta[np.maximum(rs - 1, 0)], np.nan)
    a["next_t"] = np.where(next_ok, ta[np.minimum(re + 1, m - 1)], np.nan)
    a["ta"] = ta.astype("float64")
    iq = np.flatnonzero(is_query)
    q = pd.DataFrame({"t": t[iq], "k": key[iq], "qa": acct[iq], "i": iq}).sort_values(
        "t", kind="stable"
    )
    a = a.sort_values("t", kind="stable")
    tq = q["t"].to_numpy().astype("float64")
    best = np.full(len(q), np.inf)
    for direction, other in (("backward", "prev_t"), ("forward", "next_t")):
        mm = pd.merge_asof(q, a[["t", "k", "acc", "ta", other]], on="t", by="k",
                           direction=direction)  # fmt: skip
        same = mm["acc"].to_numpy() == mm["qa"].to_numpy()
        tn = np.where(same, mm[other].to_numpy(dtype="float64"), mm["ta"].to_numpy(dtype="float64"))
        d = np.abs(tq - tn)
        best = np.fmin(best, np.where(np.isnan(d), np.inf, d))
    out[q["i"].to_numpy()] = np.where(np.isinf(best), np.nan, best)
    return out


def explain_accesses(
    ev: pd.DataFrame,
    role: pd.Series,
    kind: pd.Series,
    window: str | pd.Timedelta,
    window_max: pd.Timedelta,
    evidence_span: Mapping[Any, tuple[pd.Timestamp, pd.Timestamp]] | None = None,
) -> Explanation:
    """Explain each patient access of an event table (vectorised: merge_asof per
    (lab, patient), no loop per event).

    An access that nothing explains is *unexplained* only when the lab's logs cover at
    least one whole side of its window (the ``window`` days before it, or those after
    it, lie between the lab's first and last logged events); else it is
    *undetermined* (``NaN``: a read in a 36-minute log says nothing of the 30 days
    around it; fresh-eyes QA, session 22) and counts neither as accessed nor as
    unexplained. A request only in the unlogged side remains a known false positive of
    the rules (``rules.toml``).

    Parameters
    ----------
    ev : pandas.DataFrame
        ``(n_events, ...)`` with ``ts`` (datetime64 UTC), ``lab``, ``account``,
        ``patient`` (pseudonym, missing when none) and ``action`` (canonical).
    role, kind : pandas.Series
        ``(n_events,)`` role and account kind of each event's account (missing
        allowed); staff accesses (kind ``"staff"``) set the automatic window and are
        the colleagues of explanation (c).
    window : "auto" or pandas.Timedelta
        See the module doc.
    window_max : pandas.Timedelta
        Upper bound of the automatic window.
    evidence_span : mapping of lab to (pandas.Timestamp, pandas.Timestamp), optional
        Each lab's first and last logged events (UTC), when ``ev`` holds only part of
        the lab's events; default: the lab's earliest and latest ``ts`` in ``ev``.

    Returns
    -------
    Explanation
    """
    n = len(ev)
    has_pat = ev["patient"].notna().to_numpy()
    is_access = has_pat & _is_in(ev["action"], ACCESS_ACTIONS)
    is_anchor = has_pat & _is_in(ev["action"], CLINICAL_ACTIONS)
    lab = ev["lab"].astype(object)
    t = ev["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    key = _codes(lab, ev["patient"]) if n else np.zeros(0, np.int64)
    gap = _nearest_gap(key, t, is_access, is_anchor)
    # (b) the account handled the patient: it wrote one of the patient's clinical events
    trip = _codes(lab, ev["account"], ev["patient"]) if n else key
    handled = is_access & np.isin(trip, trip[is_anchor])
    # (c) a colleague (another staff account of the lab) accessed the patient nearby
    acct = _codes(ev["account"]) if n else key
    is_staff = kind.astype(object).to_numpy(dtype=object) == "staff"
    colleague = _nearest_other_gap(key, acct, t, is_access, is_access & is_staff)

    role_o = role.astype(object).where(role.notna(), "?").to_numpy(dtype=object)
    windows = _windows(
        lab.to_numpy(dtype=object),
        ev["account"].astype(object).to_numpy(dtype=object),
        role_o,
        kind,
        gap,
        is_access,
        window,
        window_max,
    )
    wdays = event_windows(windows, lab, role_o)
    ok = (gap <= wdays * _NS_PER_DAY) | handled | (colleague <= wdays * _NS_PER_DAY)
    first, last = _lab_span(lab, t, evidence_span)
    w_ns = wdays * _NS_PER_DAY
    covered = (t - w_ns >= first) | (t + w_ns <= last)
    explained = np.where(is_access, np.where(ok, 1.0, np.where(covered, 0.0, np.nan)), np.nan)

    labs = pd.DataFrame(
        {
            "lab": lab.to_numpy(dtype=object),
            "account": ev["account"].astype(object).to_numpy(),
            "acc": is_access,
            "det": is_access & ~np.isnan(explained),  # determined: explained or not
            "anc": is_anchor,
            "x": explained,
        }
    )
    g = labs.groupby("lab", sort=True)
    # the median account's explained share and number of accesses: one heavy reader
    # moves neither
    per_acct = labs.groupby(["lab", "account"], sort=True, dropna=False).agg(
        x=("x", "mean"), n=("det", "sum")
    )
    per_acct = per_acct[per_acct["n"] > 0]
    lab_tab = pd.DataFrame(
        {
            "accesses": g["acc"].sum().astype("int64"),
            "clinical_events": g["anc"].sum().astype("int64"),
            "explained_share": _median_share(per_acct["x"]),
            "median_accesses": per_acct["n"].groupby(level="lab").median(),
        }
    )
    lab_tab["usable"] = (lab_tab["clinical_events"] > 0) & (
        lab_tab["explained_share"].fillna(0.0) >= MIN_LAB_COVERAGE
    )
    lab_tab["unexplained_rate"] = routine_rate(
        1.0 - lab_tab["explained_share"].to_numpy(dtype="float64"),
        lab_tab["median_accesses"].to_numpy(dtype="float64"),
    )
    lab_tab = lab_tab.reset_index()
    usable, rate = lab_signal(lab_tab, lab)
    max_days = window_max / pd.Timedelta("1D")
    if not isinstance(window, str):
        max_days = window / pd.Timedelta("1D")
    return Explanation(is_access, explained, wdays, usable, rate, float(max_days), windows, lab_tab)


def _median_share(x: pd.Series) -> pd.Series:
    """Per lab (level ``lab`` of ``x``, the accounts' explained shares): the median, but
    of two accounts the better explained one's share (their mean, the median of two,
    moves with one heavy reader: fresh-eyes QA, session 22, a snooper set a two-reader
    lab's rate to 0.375); one account is its own."""
    g = x.groupby(level="lab")
    return g.median().where(g.count() != 2, g.max())


def _lab_span(
    lab: pd.Series, t: np.ndarray, given: Mapping[Any, tuple[pd.Timestamp, pd.Timestamp]] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each event's lab's first and last logged instants (int64 ns UTC): ``given`` (a lab
    missing from it: its earliest and latest event here), else the lab's in ``t``."""
    if not len(t):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    codes, labs = pd.factorize(lab, use_na_sentinel=False)
    first = np.full(len(labs), np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(len(labs), np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, codes, t)
    np.maximum.at(last, codes, t)
    for i, name in enumerate(labs):  # one per lab
        if given is not None and name in given:
            a, b = given[name]
            first[i], last[i] = (
                pd.Timestamp(a).as_unit("ns").value,
                pd.Timestamp(b).as_unit("ns").value,
            )
    return first[codes], last[codes]


def routine_rate(share: np.ndarray, n: np.ndarray) -> np.ndarray:
    """A lab's routine unexplained rate, from its median account.

    The point estimate is the median account's unexplained share, at least the
    ``1 - EXPLAINED_SHARE_EHR`` (6 %) of hospital logs (Fabbri & LeFevre); when the
    lab's own evidence bounds its rate below that, the bound is used instead: the
    one-sided 95 % upper confidence bound of the median account's share (Clopper &
    Pearson, Biometrika 26(4), 1934), written for a fractional count. So a lab whose
    log explains nearly every access is judged at its own rate, while a small or
    poorly explained one keeps the literature's floor or its own higher share.

    Parameters
    ----------
    share : numpy.ndarray of float64, shape (n_labs,)
        The median account's unexplained share (``NaN``: no access at the lab).
    n : numpy.ndarray of float64, shape (n_labs,)
        The median account's number of patient accesses (``NaN``: none).

    Returns
    -------
    numpy.ndarray of float64, shape (n_labs,)
        ``min(B(1 - RATE_ALPHA; k + 1, n - k), max(share, 1 - EXPLAINED_SHARE_EHR))``
        with ``k = share * n`` and ``B`` the beta quantile; ``max(share, 6 %)`` where
        the bound is undefined (no access, or every access unexplained).

    Examples
    --------
    >>> import numpy as np
    >>> r = routine_rate(np.array([0.0, 0.03, 0.2, np.nan]), np.array([6.0, 2000.0, 500.0, np.nan]))
    >>> [round(float(x), 4) for x in r]  # small: the floor; 3 % of 2,000: its bound
    [0.06, 0.0371, 0.2, 0.06]
    """
    share = np.asarray(share, dtype="float64")
    n = np.asarray(n, dtype="float64")
    point = np.maximum(np.nan_to_num(share, nan=0.0), 1.0 - EXPLAINED_SHARE_EHR)
    ok = np.isfinite(share) & np.isfinite(n) & (n > 0)
    k = np.where(ok, share * np.where(ok, n, 0.0), 0.0)
    rest = np.where(ok, n, 0.0) - k
    fit = ok & (rest > 0)
    bound = np.full(share.shape, np.inf)
    bound[fit] = beta.ppf(1.0 - RATE_ALPHA, k[fit] + 1.0, rest[fit])
    return np.minimum(bound, point)


def event_windows(windows: pd.DataFrame, lab: pd.Series, role: np.ndarray) -> np.ndarray:
    """The window of each event's (lab, role), in days.

    Parameters
    ----------
    windows : pandas.DataFrame
        :attr:`Explanation.windows`.
    lab : pandas.Series of object, shape (n_events,)
    role : numpy.ndarray of object, shape (n_events,)
        Role of each event's account, ``"?"`` when missing.

    Returns
    -------
    numpy.ndarray of float64, shape (n_events,)
        ``NaN`` for a (lab, role) not in ``windows``.
    """
    wmap = pd.Series(
        windows["window_days"].to_numpy(),
        index=pd.MultiIndex.from_frame(windows[["lab", "role"]]),
    )
    if not len(lab):
        return np.zeros(0)
    idx = pd.MultiIndex.from_arrays([lab.to_numpy(dtype=object), role])
    return wmap.reindex(idx).to_numpy(dtype="float64")


def lab_signal(labs: pd.DataFrame, lab: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Whether each event's lab has an explanation signal, and its routine rate.

    Parameters
    ----------
    labs : pandas.DataFrame
        :attr:`Explanation.labs`.
    lab : pandas.Series of object, shape (n_events,)

    Returns
    -------
    (usable, rate) : numpy.ndarray of bool and of float64, shape (n_events,)
    """
    if not len(lab):
        return np.zeros(0, dtype=bool), np.zeros(0)
    usable = lab.map(dict(zip(labs["lab"], labs["usable"], strict=True)))
    usable = usable.eq(True).to_numpy(dtype=bool)  # a lab not in the table: not usable
    rate = lab.map(dict(zip(labs["lab"], labs["unexplained_rate"], strict=True)))
    return usable, rate.to_numpy(dtype="float64")


def _windows(
    lab: np.ndarray,
    account: np.ndarray,
    role: np.ndarray,
    kind: pd.Series,
    gap: np.ndarray,
    is_access: np.ndarray,
    window: str | pd.Timedelta,
    window_max: pd.Timedelta,
) -> pd.DataFrame:
    """Window per (lab, role) seen in the events (see the module doc)."""
    pairs = pd.DataFrame({"lab": lab, "role": role}).drop_duplicates().reset_index(drop=True)
    max_d = window_max / pd.Timedelta("1D")
    if not isinstance(window, str):
        pairs["window_days"] = window / pd.Timedelta("1D")
        pairs["n_gaps"] = 0
        pairs["basis"] = "fixed"
        return pairs.sort_values(["lab", "role"], kind="stable").reset_index(drop=True)
    staff = (kind.astype(object).to_numpy(dtype=object) == "staff") & is_access & ~np.isnan(gap)
    gd = pd.DataFrame(
        {
            "lab": lab[staff],
            "role": role[staff],
            "account": account[staff],
            "gap": gap[staff] / _NS_PER_DAY,
        }
    )
    # each account's 99th percentile, then the median over accounts: one account
    # reading many long-past patients (a snooper) cannot widen the window alone
    g_acc = gd.groupby(["lab", "role", "account"])["gap"]
    per_acc = pd.DataFrame({"q": g_acc.quantile(0.99), "n": g_acc.size()}).reset_index()
    g_role = per_acc.groupby(["lab", "role"])
    by_role = pd.DataFrame(
        {"q": g_role["q"].median(), "n": g_role["n"].sum(), "k": g_role["q"].size()}
    )
    g_lab = per_acc.groupby("lab")
    by_lab = pd.DataFrame(
        {"q": g_lab["q"].median(), "size": g_lab["n"].sum(), "k_lab": g_lab["q"].size()}
    )
    r = pairs.merge(by_role.reset_index(), on=["lab", "role"], how="left")
    r = r.merge(
        by_lab.reset_index().rename(columns={"size": "n_lab", "q": "q_lab"}), on="lab", how="left"
    )
    use_role = (r["n"].fillna(0) >= MIN_GAPS) & (r["k"].fillna(0) >= MIN_ACCOUNTS)
    use_lab = (
        ~use_role & (r["n_lab"].fillna(0) >= MIN_GAPS) & (r["k_lab"].fillna(0) >= MIN_ACCOUNTS)
    )
    w = np.where(use_role, r["q"], np.where(use_lab, r["q_lab"], max_d)).astype("float64")
    r["window_days"] = np.clip(w, WINDOW_MIN / pd.Timedelta("1D"), max_d)
    r["n_gaps"] = np.where(use_role, r["n"].fillna(0), r["n_lab"].fillna(0)).astype("int64")
    r["basis"] = np.where(use_role, "role", np.where(use_lab, "lab", "max"))
    out = r[["lab", "role", "window_days", "n_gaps", "basis"]]
    return out.sort_values(["lab", "role"], kind="stable").reset_index(drop=True)


def unit_counts(
    group: np.ndarray,
    n_groups: int,
    patient: np.ndarray,
    ex: Explanation,
) -> dict[str, np.ndarray]:
    """Explanation counts per unit from per-event group codes.

    Parameters
    ----------
    group : numpy.ndarray of int, shape (n_events,)
        Unit code of each event (``-1``: in no unit).
    n_groups : int
        Number of units.
    patient : numpy.ndarray of int, shape (n_events,)
        Patient code (``-1``: none).
    ex : Explanation

    Returns
    -------
    dict of str to numpy.ndarray (float64, shape (n_groups,))
        ``accessed_patients`` (distinct patients accessed), ``unexplained_patients``
        (distinct patients none of whose accesses in the unit is explained; 0 where
        the lab has no explanation signal), ``unexplained_share`` (their share of
        the accessed patients, 0 when none), ``unexplained_p`` (probability of at
        least that many unexplained patients among those accessed if each were
        unexplained independently at the lab's routine rate, :attr:`Explanation.rate`:
        the binomial tail; 1 when none)
        and ``explain_usable`` (0/1, max over the unit's events).
    """
    # undetermined accesses (NaN: the window reaches before the lab's logs) count in neither
    sel = ex.is_access & ~np.isnan(ex.explained) & (group >= 0) & (patient >= 0)
    acc = np.zeros(n_groups)
    une = np.zeros(n_groups)
    usable = np.zeros(n_groups)
    rate = np.full(n_groups, 1.0 - EXPLAINED_SHARE_EHR)
    if sel.any():
        d = pd.DataFrame(
            {
                "g": group[sel],
                "p": patient[sel],
                "x": ex.explained[sel],
                "u": ex.usable[sel].astype("float64"),
                "r": ex.rate[sel],
            }
        )
        pp = d.groupby(["g", "p"], sort=False).agg(x=("x", "max"), u=("u", "max"), r=("r", "max"))
        pp["une"] = (1.0 - pp["x"]) * pp["u"]
        gg = pp.groupby(level="g", sort=False).agg(
            n=("x", "size"), une=("une", "sum"), u=("u", "max"), r=("r", "max")
        )
        ix = gg.index.to_numpy()
        acc[ix] = gg["n"].to_numpy(dtype="float64")
        une[ix] = gg["une"].to_numpy(dtype="float64")
        usable[ix] = gg["u"].to_numpy(dtype="float64")
        rate[ix] = gg["r"].to_numpy(dtype="float64")
    share = np.divide(une, acc, out=np.zeros(n_groups), where=acc > 0)
    # binomial tail P(X >= une | n = acc, p = the lab's routine rate); 1 when une = 0
    p = np.where(une > 0, binom.sf(une - 1, acc, rate), 1.0)
    return {
        "accessed_patients": acc,
        "unexplained_patients": une,
        "unexplained_share": share,
        "unexplained_p": p.astype("float64"),
        "explain_usable": usable,
    }


def pooled_counts(
    lab: np.ndarray,
    account: np.ndarray,
    day: np.ndarray,
    accessed: np.ndarray,
    unexplained: np.ndarray,
    rate: np.ndarray,
    days: int,
) -> dict[str, np.ndarray]:
    """An account's reads pooled over the days around each of its account-days.

    Vectorised: one sort by (lab, account, day) and two ``searchsorted``; no loop.

    Parameters
    ----------
    lab, account : numpy.ndarray of object, shape (n,)
        Keys of each account-day (missing allowed: a group of its own).
    day : numpy.ndarray of datetime64[D], shape (n,)
        Local day of each account-day; (lab, account, day) unique.
    accessed, unexplained : numpy.ndarray of float, shape (n,)
        Distinct patients accessed and unexplained that day
        (:func:`unit_counts` per account-day).
    rate : numpy.ndarray of float, shape (n,)
        The lab's routine unexplained rate (:attr:`Explanation.labs`).
    days : int, >= 0
        Half-width of the window, in whole days: the account-days of the same
        (lab, account) with ``|day - d| <= days`` are pooled.

    Returns
    -------
    dict of str to numpy.ndarray (float64, shape (n,))
        ``accessed_patients_pooled`` and ``unexplained_patients_pooled`` (sums of
        the daily distinct counts: patient-days), ``unexplained_p_pooled``
        (``P(X >= unexplained_patients_pooled)`` for ``X ~ Binomial(
        accessed_patients_pooled, rate)``; 1 when none is unexplained).
    """
    n = len(day)
    if n == 0:
        z = np.zeros(0)
        return {"accessed_patients_pooled": z, "unexplained_patients_pooled": z,
                "unexplained_p_pooled": z}  # fmt: skip
    grp = _codes(pd.Series(lab, dtype=object), pd.Series(account, dtype=object))
    dn = np.asarray(day, dtype="datetime64[D]").view("int64")
    dn = dn - dn.min()
    span = int(dn.max()) + 2 * int(days) + 1
    key = grp.astype(np.int64) * span + dn
    order = np.argsort(key, kind="stable")
    ks = key[order]
    ca = np.r_[0.0, np.cumsum(np.asarray(accessed, dtype="float64")[order])]
    cu = np.r_[0.0, np.cumsum(np.asarray(unexplained, dtype="float64")[order])]
    lo = np.searchsorted(ks, ks - days, side="left")
    hi = np.searchsorted(ks, ks + days, side="right")
    acc = np.empty(n)
    une = np.empty(n)
    acc[order] = ca[hi] - ca[lo]
    une[order] = cu[hi] - cu[lo]
    r = np.asarray(rate, dtype="float64")
    p = np.where(une > 0, binom.sf(une - 1, acc, r), 1.0)
    return {
        "accessed_patients_pooled": acc,
        "unexplained_patients_pooled": une,
        "unexplained_p_pooled": p.astype("float64"),
    }


def session_windows(ex: Explanation, lab: pd.Series, role: pd.Series) -> pd.Series:
    """Explanation window of each session's (lab, role).

    Parameters
    ----------
    ex : Explanation
    lab, role : pandas.Series, shape (n_sessions,)

    Returns
    -------
    pandas.Series of float64, shape (n_sessions,)
        Days; a (lab, role) without accesses gets the lab's largest window, a lab
        without any the upper bound ``ex.max_days``.
    """
    w = ex.windows
    wmap = pd.Series(
        w["window_days"].to_numpy(), index=pd.MultiIndex.from_frame(w[["lab", "role"]])
    )
    r = role.astype("object").where(role.notna(), "?")
    idx = pd.MultiIndex.from_arrays([lab.astype("object").to_numpy(), r.to_numpy()])
    out = wmap.reindex(idx).to_numpy(dtype="float64") if len(w) else np.full(len(lab), np.nan)
    # a (lab, role) without events: the lab's largest window, else the cap
    fb = w.groupby("lab")["window_days"].max() if len(w) else pd.Series(dtype="float64")
    lab_fb = lab.astype("object").map(fb).to_numpy(dtype="float64")
    out = np.where(np.isnan(out), lab_fb, out)
    cap = float(ex.max_days)
    return pd.Series(np.where(np.isnan(out), cap, out), index=lab.index, dtype="float64")
