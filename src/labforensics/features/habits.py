"""Features that do not need the generator's shape: first export of an account, its
size against the lab's patient population, and jobs known from their regularity.

``first_outbound``
    1 for the account's first session sending records out (export or extraction)
    in the evidence, once the lab's evidence is older than ``FeatureParams.warmup``
    (before that, an earlier export may lie before the evidence). An account whose
    exports are a procedure repeats them: ``n_outbound_account`` counts the
    account's sessions with records out over the whole evidence.
``records_out_share_lab``
    Records sent out over the distinct patients seen at the lab up to the end of
    the unit (floored at ``min_lab_patients``), **capped at 1**: the size of an
    export against the lab's population, not against the account's history. A
    record is not always a patient (a reference table has none), so the uncapped
    ratio is kept as ``records_out_share_lab_raw`` (records per known patient) and
    reasons print records and patients, never "N % of the patients" from records.
``regular_job``
    1 for a session of an account that behaves as a scheduled job, learned from
    the evidence whatever the account's declared kind or the action codes used:

    * active on at least :data:`REGULAR_MIN_DAY_SHARE` (80 %) of the days the lab's
      evidence spans, and on at least :data:`REGULAR_MIN_DAYS` (14) days;
    * on at least 80 % of its active days (:data:`REGULAR_MIN_MATCH`) the local
      start hour of its first session lies within :data:`REGULAR_MAX_SPREAD_H` (1 h)
      of the account's mean start hour (the circular mean of those hours): a
      scheduler fires at a fixed minute, and a job scheduled in UTC moves by 1 h of
      local time at a daylight-saving change; a share, not a standard deviation, so
      that one manual run at another hour does not hide the schedule;
    * at least 80 % of its sessions do the same kind of work: the set of actions
      of the session (logins and logouts aside) has a Jaccard index of at least
      :data:`REGULAR_MIN_JACCARD` (0.5) with the account's most frequent set, so a
      backup coded ``EXTRACTION`` one night and ``EXPORT`` the next, or an extra
      monthly archiving step, stays the same job.

    The session itself must start within :data:`REGULAR_MAX_HOUR_DEV` (2 h) of the
    account's mean hour and match its action set: a job account used at another
    hour, or for other work, is not excused. These are our definitions of
    "recurring" (not taken from any source), fixed before looking at any data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import ACTIONS

__all__ = [
    "REGULAR_MAX_HOUR_DEV",
    "REGULAR_MAX_SPREAD_H",
    "REGULAR_MIN_DAYS",
    "REGULAR_MIN_DAY_SHARE",
    "REGULAR_MIN_JACCARD",
    "action_masks",
    "first_outbound",
    "lab_first_instant",
    "lab_spans",
    "regular_job",
    "usual_work",
]

REGULAR_MIN_DAY_SHARE: float = 0.8
REGULAR_MIN_DAYS: int = 14
REGULAR_MAX_SPREAD_H: float = 1.0
REGULAR_MIN_JACCARD: float = 0.5
REGULAR_MAX_HOUR_DEV: float = 2.0
#: Share of an account's sessions that must match its action set.
REGULAR_MIN_MATCH: float = 0.8

_SESSION_ACTIONS_IGNORED = ("login", "logout", "login_failed")


def first_outbound(
    acct: np.ndarray, start: pd.Series, records_out: pd.Series, lab_t0: np.ndarray, warmup_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """First outbound session of each account, and the account's outbound count.

    Parameters
    ----------
    acct : numpy.ndarray of int, shape (n_sessions,)
        (lab, account) code of each session.
    start : pandas.Series of datetime64 UTC, shape (n_sessions,)
    records_out : pandas.Series of float64, shape (n_sessions,)
    lab_t0 : numpy.ndarray of int64, shape (n_sessions,)
        First instant of the session's lab evidence (ns since the epoch).
    warmup_ns : int
        Warm-up in ns: a first export before ``lab_t0 + warmup`` does not count.

    Returns
    -------
    (first, n_out) : tuple of numpy.ndarray of float64, shape (n_sessions,)
    """
    out = (records_out.to_numpy(dtype="float64") > 0) & (acct >= 0)
    first = np.zeros(len(acct))
    n_out = np.zeros(len(acct))
    if not out.any():
        return first, n_out
    t = start.to_numpy(dtype="datetime64[ns]").view("int64")
    d = pd.DataFrame({"a": acct[out], "t": t[out], "i": np.flatnonzero(out)})
    d = d.sort_values(["a", "t", "i"], kind="stable")
    lead = d.drop_duplicates("a")["i"].to_numpy()
    first[lead] = (t[lead] >= lab_t0[lead] + warmup_ns).astype("float64")
    n_out = pd.Series(out.astype("float64")).groupby(acct).transform("sum").to_numpy()
    return first, n_out.astype("float64")


def action_masks(ecode: np.ndarray, action: pd.Series, n_sessions: int) -> np.ndarray:
    """Bit mask of each session's actions (logins and logouts aside).

    Parameters
    ----------
    ecode : numpy.ndarray of int, shape (n_events,)
        Session position of each event (``-1``: none).
    action : pandas.Series, shape (n_events,)
        Canonical action of each event.
    n_sessions : int

    Returns
    -------
    numpy.ndarray of int64, shape (n_sessions,)
        Bit ``k`` set when the session holds action ``schema.ACTIONS[k]``.
    """
    masks = np.zeros(n_sessions, dtype=np.int64)
    a = pd.Categorical(action.astype(object), categories=list(ACTIONS)).codes
    keep = (ecode >= 0) & (a >= 0)
    keep &= ~np.isin(np.asarray(action.astype(object)), _SESSION_ACTIONS_IGNORED)
    if keep.any():
        pairs = pd.DataFrame({"s": ecode[keep], "a": a[keep].astype(np.int64)}).drop_duplicates()
        bits = np.left_shift(np.int64(1), pairs["a"].to_numpy())
        agg = pd.Series(bits).groupby(pairs["s"].to_numpy()).sum()
        masks[agg.index.to_numpy()] = agg.to_numpy(dtype=np.int64)
    return masks


def _jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    inter = np.bitwise_count(a & b).astype("float64")
    union = np.bitwise_count(a | b).astype("float64")
    return np.divide(inter, union, out=np.ones(len(a)), where=union > 0)


def _hour_dev(h: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Distance in hours between local hours on the 24 h circle (0-12)."""
    return np.abs(((h - ref + 12.0) % 24.0) - 12.0)


def usual_work(acct: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Whether each session does its account's usual work: the set of its actions (logins
    and logouts aside) has a Jaccard index of at least :data:`REGULAR_MIN_JACCARD` (0.5)
    with the account's most frequent set (ties: the smallest bit mask, so the result is
    stable), the test :func:`regular_job` applies.

    Parameters
    ----------
    acct : numpy.ndarray of int, shape (n_sessions,)
        Account code of each session (``(lab, account)``).
    masks : numpy.ndarray of int64, shape (n_sessions,)
        Bit mask of each session's actions (:func:`action_masks`).

    Returns
    -------
    numpy.ndarray of bool, shape (n_sessions,)
    """
    if len(acct) == 0:
        return np.zeros(0, dtype=bool)
    s = pd.DataFrame({"a": acct, "mask": masks})
    vc = s.value_counts().rename("n").reset_index()
    vc = vc.sort_values(["a", "n", "mask"], ascending=[True, False, True], kind="stable")
    mode = vc.drop_duplicates("a").set_index("a")["mask"]
    m = mode.reindex(s["a"]).to_numpy(dtype=np.int64)
    return _jaccard(masks.astype(np.int64), m) >= REGULAR_MIN_JACCARD


def regular_job(
    lab: pd.Series,
    acct: np.ndarray,
    loc: pd.Series,
    ecode: np.ndarray,
    action: pd.Series,
    lab_span: pd.Series | None = None,
) -> np.ndarray:
    """``regular_job`` per session (see the module doc); vectorised per account.

    Parameters
    ----------
    lab : pandas.Series, shape (n_sessions,)
    acct : numpy.ndarray of int, shape (n_sessions,)
        (lab, account) code of each session.
    loc : pandas.Series of datetime64 (local zone), shape (n_sessions,)
        Local session starts.
    ecode : numpy.ndarray of int, shape (n_events,)
        Session position of each event (``-1``: none).
    action : pandas.Series, shape (n_events,)
        Canonical action of each event.
    lab_span : pandas.Series, optional
        Lab -> days its sessions span (:func:`lab_spans`); default from these sessions
        (an account batch of a lab gives the whole lab's).

    Returns
    -------
    numpy.ndarray of float64, shape (n_sessions,)
    """
    n = len(acct)
    if n == 0:
        return np.zeros(0)
    day = _local_days(loc)
    hour = (loc.dt.hour + loc.dt.minute / 60.0 + loc.dt.second / 3600.0).to_numpy("float64")
    masks = action_masks(ecode, action, n)
    s = pd.DataFrame(
        {
            "lab": lab.astype(object).to_numpy(),
            "a": acct,
            "day": day,
            "hour": hour,
            "mask": masks,
            "i": np.arange(n),
        }
    )
    span = lab_spans(s["lab"], day) if lab_span is None else lab_span
    s["span"] = s["lab"].map(span).to_numpy(dtype="float64")
    # first session of each day: its start hour on the unit circle
    first = s.sort_values(["a", "day", "hour"], kind="stable").drop_duplicates(["a", "day"])
    ang = first["hour"].to_numpy() * 2 * np.pi / 24.0
    c = pd.DataFrame({"a": first["a"].to_numpy(), "c": np.cos(ang), "s": np.sin(ang)})
    g = c.groupby("a")
    acc = pd.DataFrame({"days": g.size(), "c": g["c"].mean(), "s": g["s"].mean()})
    acc["mean_h"] = (np.arctan2(acc["s"], acc["c"]) * 24.0 / (2 * np.pi)) % 24.0
    first_dev = _hour_dev(first["hour"].to_numpy(), acc["mean_h"].reindex(first["a"]).to_numpy())
    on_time = pd.Series(first_dev <= REGULAR_MAX_SPREAD_H).groupby(first["a"].to_numpy()).mean()
    acc["on_time"] = on_time
    acc["span"] = s.groupby("a")["span"].first()
    # per session: its match with the account's most frequent action set
    s["match"] = usual_work(acct, masks)
    acc["match"] = s.groupby("a")["match"].mean()
    ok = (
        (acc["days"] >= REGULAR_MIN_DAYS)
        & (acc["days"] / acc["span"] >= REGULAR_MIN_DAY_SHARE)
        & (acc["on_time"] >= REGULAR_MIN_MATCH)
        & (acc["match"] >= REGULAR_MIN_MATCH)
    )
    mean_h = acc["mean_h"].reindex(s["a"]).to_numpy()
    dev = _hour_dev(s["hour"].to_numpy(), mean_h)
    reg = (
        ok.reindex(s["a"]).to_numpy(dtype=bool)
        & s["match"].to_numpy()
        & (dev <= REGULAR_MAX_HOUR_DEV)
    )
    return reg.astype("float64")


def _local_days(loc: pd.Series) -> np.ndarray:
    """Local calendar day of each local instant, as int64 days since the epoch."""
    return loc.dt.tz_localize(None).to_numpy(dtype="datetime64[D]").view("int64")


def lab_spans(lab: pd.Series | np.ndarray, day: np.ndarray) -> pd.Series:
    """Days each lab's sessions span, first and last local day included.

    Parameters
    ----------
    lab : pandas.Series or numpy.ndarray, shape (n_sessions,)
        Lab of each session (object; a missing lab belongs to no lab).
    day : numpy.ndarray of int64, shape (n_sessions,)
        Local day of each session's start (days since the epoch).

    Returns
    -------
    pandas.Series of int64
        Lab -> ``max(day) - min(day) + 1``.
    """
    lab = np.asarray(lab, dtype=object)
    gl = pd.DataFrame({"lab": lab, "day": day}).groupby("lab")["day"]
    return gl.max() - gl.min() + 1


def lab_first_instant(ev: pd.DataFrame, lab: pd.Series, start: pd.Series) -> np.ndarray:
    """First instant of each session's lab evidence: its earliest event or session.

    Parameters
    ----------
    ev : pandas.DataFrame
        Events with ``ts`` (datetime64 UTC) and ``lab``.
    lab : pandas.Series, shape (n_sessions,)
    start : pandas.Series of datetime64 UTC, shape (n_sessions,)

    Returns
    -------
    numpy.ndarray of int64, shape (n_sessions,)
        Nanoseconds since the epoch.
    """
    t = start.to_numpy(dtype="datetime64[ns]").view("int64")
    first = pd.Series(t).groupby(lab.astype("object").to_numpy()).transform("min").to_numpy()
    if len(ev):
        et = ev["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
        emin = pd.Series(et).groupby(ev["lab"].astype("object").to_numpy()).min()
        lab_e = lab.astype("object").map(emin).to_numpy(dtype="float64")
        first = np.where(np.isnan(lab_e), first, np.minimum(first, np.nan_to_num(lab_e)))
    return first.astype("int64")
