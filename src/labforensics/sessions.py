"""Sessionization: from the canonical event table to one row per account session.

:func:`sessionize` groups the events of one account at one lab into sessions
and aggregates each session into a row of the session table
(:data:`labforensics.schema.SESSION_DTYPES`).

Rules (as implemented)
----------------------
Evidence order is ``(ts, seq)`` (stable); ``ts`` is a UTC instant, so every
duration is real elapsed time (a session through the October fall-back hour
lasts its real length).

*Who.* A session belongs to one value of ``params.by`` (default one account at
one lab). Failed logins (action ``login_failed``) belong to no session.
Events without an account belong to no session either (their ``session_id``
stays missing): pooling them would make one "(no account)" identity of every
connection line, port scan and failure without a user name on a host (the
loghub Linux log's 152 account-less sessions, one of them an FTP connection
flood credited with another address's failures). They stay in the event
table, so source-address rankings (:func:`labforensics.detect.score_sources`)
still count them.
Neither do events whose ``ts_quality`` is ``date_only`` (a day without a
time, read as the start of that local day): their instant is only a lower
bound, so they never open, extend or split a session nor count in a duration.

*App sessions.* An event whose ``app_session`` is present follows the
application's own session id, which is authoritative: the events of one
(lab, account, app_session) form one session however long the silences
inside it. Ids are unique only within (lab, account) and may be reused
(daily counters), so the same id opens a **new** session when it is seen

- after a ``logout`` of that id (end_reason ``logout``),
- more than ``max_duration`` after the start of its session (``max_duration``),
- on a new ``login`` event (the application issues its id at login, so a
  second login under an open id is a reuse; ``next_login``).

A session opened by an id without a login has start_reason ``app_session``.

*Login/idle rules.* An event without ``app_session`` (legacy dialect, batch
jobs) joins the open session of its account on the same workstation
(``host``) or, where the host is missing, from the same source address
(``src_ip``); events with neither share one key. Within that key, in
evidence order, a new session starts at

- a ``login`` (the open one ends with ``next_login``),
- the first event after a ``logout`` (``logout``),
- an event more than ``idle_timeout`` after the previous one (``idle_timeout``;
  the session's ``end`` is its last event, not the timeout),
- an event more than ``max_duration`` after the session's start
  (``max_duration``; applies to app sessions too).

A session whose first event is not a login is ``implicit``. When several
reasons hold at once, the first of logout, idle_timeout, max_duration,
next_login is reported.

*Logon pairs.* Sources that log only logons and logoffs (a workstation logon
file, a VPN or badge log) select this rule in their profile
(``session_rule = "logon_pairs"``, see :mod:`labforensics.ingest.profiles`);
:func:`labforensics.read_evidence` records it per event in the event column
``session_rule``, which is how the choice reaches this function: no parameter
to set. For those events the idle timeout, meant for event-dense logs, never
applies (it would cut every working day into a lone logon and a lone logoff).
Their events are keyed by account and workstation (``host``, else
``src_ip``; an ``app_session`` is ignored) apart from any other source's
events, and, in evidence order, a new session starts

- at the first event after a logoff (the logon is paired with the next logoff
  of the same account on the same host; end_reason ``logout``),
- at an event more than ``max_duration`` after the session's start (a logon
  whose logoff never came or came too late is not paired; ``max_duration``).

A logon while a session is open does not cut it: it is read as a screen
unlock or a re-authentication within the session (the CERT insider-threat
data set's readme: "Screen unlocks are recorded as logons. Screen locks are
not recorded."), so two logons then a logoff make one session with
``n_login`` 2. A logon never followed by a logoff or a later event of that
account on that host ends at its own instant with ``end_of_data``; a logoff
without a logon is an ``implicit`` session of one event. Events whose
``session_rule`` is ``idle`` or missing follow the rules above.

*Sessions that simply run out of events.* ``end_of_data`` when the session's
end is the last instant of that account's sessions at that lab; else, for an
app session, ``app_session_change`` when the next app session of the account
on the same workstation starts within ``idle_timeout`` after its end; else
``idle_timeout`` (nothing more came from that workstation or id).

*Concurrency.* ``concurrent_sessions`` counts the other sessions of the same
``by`` key whose closed intervals ``[start, end]`` overlap this one's (a
shared account active from two workstations at once).

*Failed logins.* Each failed login is counted on the first session of the
same ``by`` key that starts after it in evidence order, if that start is at
most ``failed_login_window`` later (so a failure is counted at most once),
and only when the session agrees with it where both sides are known:

- account: both present (a failure without an account counts nowhere);
- source address: the failure's ``src_ip`` equals the session's first known
  ``src_ip`` (so a failure from one address never makes a session from
  another address a "success after failures");
- service: the failure's ``module`` (SSHD, FTPD, ...) equals the session's
  first known ``module`` (an FTP failure says nothing about an SSH login).

A failure passed over by an incompatible session goes to the next compatible
one within the window. Reason: "failed logins, then a success" is evidence of
guessing only when the same party retried the same door; an unrelated user's
typo, or a scan from another address, credited to whichever session of the
account starts next, flags routine logins (issue 14). ``failed_login_src_ips``
is the number of distinct non-missing ``src_ip`` of the failures counted.

*Session id.* A deterministic content hash, 16 lower-case hex digits: the
64-bit FNV-1a hashes of the ``by`` values and of the session key
(``app:<id>``, ``host:<host>``, ``ip:<src_ip>`` or ``none``) folded with the
start instant (ns since the epoch, UTC) and the session's ordinal among the
sessions of the same key starting at the same instant, through the splitmix64
finalizer. It depends on nothing but that account's own evidence: adding other
accounts' events, other labs or files never changes it (``seq`` is deliberately
not part of it, since adding rows shifts it).

Performance: sorting and aggregation are vectorized (numpy/pyarrow); the
sequential passes (splitting, distinct counts, overlap counting) are numba
kernels in :mod:`labforensics._sessions_kernels`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import _sessions_kernels as K
from ._repr import short_repr
from ._sessions_failed import failed_logins, first_known
from ._sessions_logon import logon_pair_keys, logon_pair_rows, split_logon_pairs
from ._validation import Constraint, Duration, constrained, validate
from .errors import ParameterError, SchemaError
from .schema import (
    ACCOUNT_KIND_DTYPE,
    ACTIONS,
    END_REASONS,
    EVENT_COLUMNS,
    SESSION_DTYPES,
    START_REASONS,
    STRING,
    STRING_LIST,
    check_table,
    validate_events,
    validate_sessions,
)

__all__ = ["SessionParams", "Sessions", "sessionize"]

# The kernels' end-reason codes are positions in END_REASONS.
assert [END_REASONS[c] for c in (K.LOGOUT, K.IDLE_TIMEOUT, K.MAX_DURATION, K.NEXT_LOGIN)] == [
    "logout",
    "idle_timeout",
    "max_duration",
    "next_login",
]
assert END_REASONS[K.APP_SESSION_CHANGE] == "app_session_change"
assert END_REASONS[K.END_OF_DATA] == "end_of_data"

_ACT = {a: i for i, a in enumerate(ACTIONS)}
_START_DTYPE = SESSION_DTYPES["start_reason"]
_END_DTYPE = SESSION_DTYPES["end_reason"]
_SEED = np.uint64(0x6C6162666F72656E)  # "labforen"
_NA_HASH = np.uint64(0x9AE16A3B2F90404F)  # hash of a missing value
_KIND_TAG = {  # session key kinds, folded into the id
    "app": np.uint64(1),
    "host": np.uint64(2),
    "ip": np.uint64(3),
    "none": np.uint64(4),
}
_PAIR_TAG = np.uint64(8)  # folded into the key kind of a logon-pairs session's id


@dataclass(frozen=True)
class _SessionKeys(Constraint):
    """Event columns naming whose session it is: ``lab`` and ``account`` once each."""

    def check(self, value: Any) -> Any:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError("is not a list of column names")
        by = tuple(value)
        if not all(isinstance(c, str) and c for c in by):
            raise ValueError("is not a list of column names")
        if "lab" not in by or "account" not in by:
            raise ValueError("lacks 'lab' or 'account' (a session is one account at one lab)")
        if len(set(by)) != len(by):
            raise ValueError("repeats a column")
        return by

    def describe(self) -> str:
        return "a list of distinct event columns naming 'lab' and 'account'"

    def invalid_examples(self) -> list[Any]:
        return ["lab", ("lab",), ("lab", "account", "lab")]


@dataclass(frozen=True)
class SessionParams:
    """Parameters of :func:`sessionize` (all durations are :class:`pandas.Timedelta`).

    Parameters
    ----------
    idle_timeout : pandas.Timedelta, default 30 minutes
        A gap strictly longer than this between two consecutive events of the
        same account on the same workstation closes the session (login/idle
        rules only; an app session id spans any silence). Default: the 30 min
        of ``shared/cases/README.md``, also a common LIS screen-lock default.
    max_duration : pandas.Timedelta, default 12 hours
        No session lasts longer: an event more than this after its session's
        start opens a new one. Applies to every session.
    by : tuple of str, default ("lab", "account")
        Event columns (string dtype) whose values identify whose session it is.
        Must include ``"lab"`` and ``"account"``; add e.g. ``"site"`` to split further.
    failed_login_window : pandas.Timedelta, default 30 minutes
        A failed login of the same ``by`` key is counted on the first session
        that starts after it (evidence order) if that start is at most this long
        after the failure; so each failure is counted at most once. Only a
        session that agrees with the failure counts it: same account (both
        present), same source address (the session's first known ``src_ip``)
        and same service (its first known ``module``) where both sides are
        known, since failures from another address or service are not the
        same party retrying (see the module docstring). Events without an
        account form no session.

    Strings such as ``"30min"`` or ``"12h"`` (a case file's values) are accepted and
    converted; bare numbers are refused, since their unit would be ambiguous.

    Raises
    ------
    ParameterError
        On a negative or unparseable duration, a zero ``max_duration``, or a ``by``
        without lab and account (naming the field and its allowed values).
    """

    idle_timeout: pd.Timedelta = constrained(pd.Timedelta("30min"), Duration())
    max_duration: pd.Timedelta = constrained(pd.Timedelta("12h"), Duration(low_open=True))
    by: tuple[str, ...] = constrained(("lab", "account"), _SessionKeys())
    failed_login_window: pd.Timedelta = constrained(pd.Timedelta("30min"), Duration())

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class Sessions:
    """Result of :func:`sessionize`.

    Attributes
    ----------
    sessions : pandas.DataFrame
        One row per session, columns and dtypes :data:`labforensics.schema.SESSION_DTYPES`,
        sorted by ``start`` then the ``seq`` of the session's first event.
    events : pandas.DataFrame
        The input events sorted by (``ts``, ``seq``) with a ``session_id`` column
        (string; missing for failed logins, ``date_only`` events and events
        without an account).
    params : SessionParams
        The parameters used.
    """

    sessions: pd.DataFrame
    events: pd.DataFrame
    params: SessionParams

    def __repr__(self) -> str:
        return short_repr("Sessions", {"sessions": self.sessions, "events": self.events},
                          {"sessions": len(self.sessions), "events": len(self.events)})  # fmt: skip


# --------------------------------------------------------------------------- helpers


def _arrow_strings(values: object) -> pa.LargeStringArray:
    arr = pa.array(values, type=pa.large_string()) if not isinstance(values, pa.Array) else values
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return pc.cast(arr, pa.large_string())


def _hash_strings(values: object) -> np.ndarray:
    """FNV-1a 64 of each string (UTF-8 bytes); missing -> ``_NA_HASH``."""
    arr = _arrow_strings(values)
    if len(arr) == 0:
        return np.zeros(0, np.uint64)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(1, np.uint8)
    h = K.fnv1a64(np.ascontiguousarray(offsets), data)
    return np.where(arr.is_null().to_numpy(zero_copy_only=False), _NA_HASH, h)


def _hex16(h: np.ndarray) -> pa.LargeStringArray:
    """uint64 -> 16 lower-case hex digits, vectorized."""
    n = len(h)
    b = h.astype(">u8").view(np.uint8).reshape(n, 8)
    lut = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    out = np.empty((n, 16), np.uint8)
    out[:, 0::2] = lut[b >> 4]
    out[:, 1::2] = lut[b & 15]
    offsets = np.arange(0, 16 * n + 1, 16, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out.tobytes()))


def _factorize(s: pd.Series) -> tuple[np.ndarray, pa.LargeStringArray]:
    """Codes (intp, -1 missing) into the lexicographically sorted distinct values."""
    codes, uniques = pd.factorize(s, sort=True)
    return codes, _arrow_strings(uniques.array)


def _to_string(arr: pa.Array) -> pd.arrays.ArrowStringArray:
    return pd.arrays.ArrowStringArray(_arrow_strings(arr))


def _lists(
    counts: np.ndarray, pair_block: np.ndarray, pair_code: np.ndarray, uniques: pa.Array
) -> pa.ListArray:
    """Sorted distinct values of each block as an Arrow list of strings (``[]`` when none)."""
    o = np.lexsort((pair_code, pair_block))
    vals = pc.cast(uniques.take(pa.array(pair_code[o])), pa.string())
    offsets = np.zeros(len(counts) + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), vals)


def _ordinal(*keys: np.ndarray) -> np.ndarray:
    """Position of each row within its run of equal keys (rows already grouped)."""
    n = len(keys[0])
    same = np.zeros(n, bool)
    if n > 1:
        same[1:] = True
        for k in keys:
            same[1:] &= k[1:] == k[:-1]
    idx = np.arange(n)
    return idx - np.maximum.accumulate(np.where(same, 0, idx))


def _empty_sessions() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in SESSION_DTYPES.items()})


def _evidence_order(events: pd.DataFrame) -> pd.DataFrame:
    ts = events["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    seq = events["seq"].to_numpy()
    if len(ts) > 1:
        dt = np.diff(ts)
        if not ((dt > 0) | ((dt == 0) & (np.diff(seq) > 0))).all():
            if not events["seq"].is_unique:
                raise SchemaError(
                    "event column 'seq' must be unique (evidence order); build the table "
                    "with labforensics.read_evidence or number rows in file/line order"
                )
            order = np.lexsort((seq, ts))
            return events.take(order).reset_index(drop=True)
    return events.reset_index(drop=True)


# --------------------------------------------------------------------------- main


def sessionize(events: pd.DataFrame, params: SessionParams | None = None) -> Sessions:
    """Group canonical events into account sessions and aggregate each session.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical event table (:data:`labforensics.schema.EVENT_DTYPES`), any row
        order; ``seq`` must be unique. Not modified.
    params : SessionParams, optional
        Timeouts, grouping and failed-login window; ``SessionParams()`` if omitted.

    Returns
    -------
    Sessions
        ``.sessions``: one row per session, :data:`~labforensics.schema.SESSION_DTYPES`
        (durations in seconds, ``records_*`` in records, ``bytes_out`` in bytes,
        counts in events), sorted by (``start``, first event's ``seq``).
        ``.events``: the events in (``ts``, ``seq``) order plus ``session_id``
        (string, missing for failed logins, ``date_only`` events and events
        without an account).

    Raises
    ------
    SchemaError
        When ``events`` is not a canonical event table (missing column, wrong dtype,
        missing required value, duplicate ``seq``), or a ``by`` column is missing.
    ParameterError
        When ``params`` is not a :class:`SessionParams`.

    Notes
    -----
    The rules are in the module docstring (:mod:`labforensics.sessions`). The
    result depends only on the evidence (rows, with their ``seq``), never on the
    row order of ``events``.
    """
    check_table(events, EVENT_COLUMNS, "sessionize: events")
    params = SessionParams() if params is None else params
    if not isinstance(params, SessionParams):
        raise ParameterError(f"params must be a SessionParams, got {type(params).__name__}")
    validate_events(events, check_order=False)
    for c in params.by:
        if c not in events.columns or not isinstance(events[c].dtype, pd.StringDtype):
            raise SchemaError(f"SessionParams.by names {c!r}, which is not a string event column")
    ev = _evidence_order(events)
    n = len(ev)
    sid_ev = np.full(n, -1, np.int64)
    if n == 0:
        sessions = _empty_sessions()
    else:
        sessions, sid_ev = _sessionize_sorted(ev, params)
    out = ev.copy(deep=False)
    idx = pa.array(sid_ev, mask=sid_ev < 0)
    ids = (
        _arrow_strings(sessions["session_id"].array)
        if len(sessions)
        else pa.array([], pa.large_string())
    )
    out["session_id"] = pd.Series(_to_string(ids.take(idx)), index=out.index, dtype=STRING)
    return Sessions(sessions=validate_sessions(sessions), events=out, params=params)


def _sessionize_sorted(ev: pd.DataFrame, p: SessionParams) -> tuple[pd.DataFrame, np.ndarray]:
    """Core on events already in (ts, seq) order. Returns (sessions, session row per event)."""
    n = len(ev)
    ts = ev["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    seq = ev["seq"].to_numpy(dtype=np.int64)
    act = ev["action"].cat.codes.to_numpy()
    failed = act == _ACT["login_failed"]
    day_only = (ev["ts_quality"] == "date_only").to_numpy(dtype=bool)  # no time: no session
    k = _session_keys(ev, p.by)
    # no account, no session (and no failure counted): whose session would it be?
    no_acct = k.by_codes[p.by.index("account")] < 0

    # Non-failed events in (group, ts, seq) order: ev is in (ts, seq) order, so two
    # stable counting sorts (key, then account) suffice.
    nf = np.flatnonzero(~failed & ~day_only & ~no_acct)
    order = K.counting_sort(K.counting_sort(nf, k.key2, k.n_key2), k.acct, k.n_acct)
    if len(order) == 0:  # only failed logins or account-less events: no session
        return _empty_sessions(), np.full(n, -1, np.int64)
    first, last, end_code = _split_events(order, k, ts, act, p)
    S = len(first)
    fe = order[first]  # event row of each session's first event
    start = ts[fe]
    end = ts[order[last]]
    s_acct = k.acct[fe]
    acct_block = np.flatnonzero(np.r_[True, s_acct[1:] != s_acct[:-1]])  # sessions grouped by acct

    s: dict[str, Any] = {"start": start, "end": end, "n_events": last - first + 1}
    s["start_reason"] = _start_reasons(act[fe], k.is_app[fe])
    s["end_reason"] = _end_reasons(end_code[last], acct_block, fe, start, end, seq, k, p)
    # Concurrency: sessions are contiguous per account.
    s["concurrent_sessions"] = K.count_overlaps(np.r_[acct_block, S].astype(np.int64), start, end)
    mod_codes, _ = _factorize(ev["module"])
    s["failed_logins_before"], s["failed_login_src_ips"] = failed_logins(
        np.flatnonzero(failed & ~day_only & ~no_acct), fe, start, ts, seq, k.acct,
        k.ip_codes, len(k.ip_uniq), p.failed_login_window.value,
        first_known(k.ip_codes, order, first, last), mod_codes,
        first_known(mod_codes, order, first, last),
    )  # fmt: skip
    s.update(_block_aggregates(ev, first, last, order, act, k))
    s["session_id"] = _session_ids(k, fe, start)

    # Final order: (start, seq of first event) -- depends on the evidence only.
    fo = np.lexsort((seq[fe], start))
    rank = np.empty(S, np.int64)
    rank[fo] = np.arange(S)
    sid_ev = np.full(n, -1, np.int64)
    sid_ev[order] = np.repeat(rank, s["n_events"])
    return _session_frame(ev, k, fe, fo, s), sid_ev


class _Keys(NamedTuple):
    """Integer codes per event: who (``acct``) and the session key within the account."""

    acct: np.ndarray  # combined code of the `by` columns, in [0, n_acct)
    n_acct: int
    by_codes: list[np.ndarray]
    by_uniques: list[pa.LargeStringArray]
    app_codes: np.ndarray
    app_uniq: pa.LargeStringArray
    host_codes: np.ndarray
    host_uniq: pa.LargeStringArray
    ip_codes: np.ndarray
    ip_uniq: pa.LargeStringArray
    is_app: np.ndarray  # keyed by its application session id
    pair: np.ndarray  # under the logon-pair rule
    hostkey: np.ndarray  # host, else n_host + src_ip, else n_host + n_ip
    key2: np.ndarray  # session key within the account, in [0, n_key2)
    n_key2: int


def _session_keys(ev: pd.DataFrame, by: Iterable[str]) -> _Keys:
    """Account codes and session keys (app id, else host, else src_ip, else none) per event."""
    n = len(ev)
    # Who: one dense-ish integer per `by` key (codes of each column combined).
    by_codes, by_uniques = [], []
    acct = np.zeros(n, np.int64)
    n_acct = 1  # acct codes are in [0, n_acct)
    for c in by:
        codes, uniq = _factorize(ev[c])
        by_codes.append(codes)
        by_uniques.append(uniq)
        acct = acct * (len(uniq) + 1) + (codes + 1)
        n_acct = n_acct * (len(uniq) + 1)
        if n_acct > max(4 * n, 1 << 20):  # keep the code range small: densify
            acct, uniq_acct = pd.factorize(acct)
            acct, n_acct = acct.astype(np.int64), len(uniq_acct)

    # Session key within the account: the app id, else host, else src_ip, else none.
    app_codes, app_uniq = _factorize(ev["app_session"])
    host_codes, host_uniq = _factorize(ev["host"])
    ip_codes, ip_uniq = _factorize(ev["src_ip"])
    is_app = app_codes >= 0
    pair = logon_pair_rows(ev)
    is_app &= ~pair  # the logon-pair rule pairs by account and host only
    n_app, n_host, n_ip = len(app_uniq), len(host_uniq), len(ip_uniq)
    hostkey = np.where(
        host_codes >= 0, host_codes, np.where(ip_codes >= 0, n_host + ip_codes, n_host + n_ip)
    )
    key2 = np.where(is_app, app_codes, n_app + hostkey)
    n_key2 = n_app + n_host + n_ip + 1
    key2, n_key2 = logon_pair_keys(pair, key2, n_key2)
    return _Keys(acct, n_acct, by_codes, by_uniques, app_codes, app_uniq, host_codes, host_uniq,
                 ip_codes, ip_uniq, is_app, pair, hostkey, key2, n_key2)  # fmt: skip


def _split_events(
    order: np.ndarray, k: _Keys, ts: np.ndarray, act: np.ndarray, p: SessionParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sessions as blocks of ``order`` (first, last positions) with the end code per position."""
    start_flag, end_code = K.split_sessions(
        order,
        k.acct,
        k.key2,
        ts,
        k.is_app,
        act,
        _ACT["login"],
        _ACT["logout"],
        np.int64(p.idle_timeout.value),
        np.int64(p.max_duration.value),
    )
    split_logon_pairs(
        order, k.acct, k.key2, ts, act, k.pair, p.max_duration.value, start_flag, end_code
    )
    first = np.flatnonzero(start_flag)
    last = np.empty(len(first), np.int64)
    last[:-1] = first[1:] - 1
    last[-1] = len(order) - 1
    return first, last, end_code


def _start_reasons(first_act: np.ndarray, s_app: np.ndarray) -> np.ndarray:
    """Start reason codes (in ``START_REASONS`` order): login, app session, else implicit."""
    return np.where(
        first_act == _ACT["login"],
        START_REASONS.index("login"),
        np.where(s_app, START_REASONS.index("app_session"), START_REASONS.index("implicit")),
    )


def _end_reasons(
    end_code: np.ndarray,
    acct_block: np.ndarray,
    fe: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    seq: np.ndarray,
    k: _Keys,
    p: SessionParams,
) -> np.ndarray:
    """End reason codes, resolving sessions that ran out of events in their group."""
    S = len(fe)
    s_acct = k.acct[fe]
    s_app = k.is_app[fe]
    s_hostkey = k.hostkey[fe]
    end_reason = end_code.astype(np.int64)
    block_sizes = np.diff(np.r_[acct_block, S])
    acct_end = np.repeat(np.maximum.reduceat(end, acct_block), block_sizes)
    ran_out = end_reason == K.GROUP_END
    end_reason[ran_out & (end == acct_end)] = K.END_OF_DATA
    end_reason[ran_out & k.pair[fe]] = K.END_OF_DATA  # logon pairs: no logoff came
    app_idx = np.flatnonzero(s_app)
    if len(app_idx) > 1:
        o = app_idx[
            np.lexsort((seq[fe[app_idx]], start[app_idx], s_hostkey[app_idx], s_acct[app_idx]))
        ]
        cur, nxt = o[:-1], o[1:]
        change = (
            (s_acct[cur] == s_acct[nxt])
            & (s_hostkey[cur] == s_hostkey[nxt])
            & (start[nxt] <= end[cur] + p.idle_timeout.value)
            & (end_reason[cur] == K.GROUP_END)
        )
        end_reason[cur[change]] = K.APP_SESSION_CHANGE
    end_reason[end_reason == K.GROUP_END] = K.IDLE_TIMEOUT
    return end_reason


def _block_aggregates(
    ev: pd.DataFrame,
    first: np.ndarray,
    last: np.ndarray,
    order: np.ndarray,
    act: np.ndarray,
    k: _Keys,
) -> dict[str, Any]:
    """Counts, sums, distinct values and modes over each session's block of ``order``."""
    # Kernels read the events through `order`.
    act_counts, records_exported, records_extracted, bytes_out = K.block_sums(
        first,
        last,
        order,
        act,
        ev["records"].to_numpy(dtype=np.int64, na_value=0),
        ev["bytes"].to_numpy(dtype=np.int64, na_value=0),
        len(ACTIONS),
        _ACT["export"],
        _ACT["extract"],
    )
    # distinct patients by 64-bit FNV-1a of the pseudonym (a collision between two
    # pseudonyms of one session has probability ~ k^2 / 2^65: negligible)
    pat = ev["patient"].array
    distinct_patients = K.distinct_hashes(first, last, order, _hash_strings(pat), ~pat.isna())
    hosts_n, hb, hc = K.distinct_pairs(first, last, order, k.host_codes, len(k.host_uniq))
    ips_n, ib, ic = K.distinct_pairs(first, last, order, k.ip_codes, len(k.ip_uniq))
    mod_codes, mod_uniq = _factorize(ev["module"])
    mods_n, mb, mc = K.distinct_pairs(first, last, order, mod_codes, len(mod_uniq))
    role_codes, role_uniq = _factorize(ev["role"])
    role_s = K.block_mode(first, last, order, role_codes, len(role_uniq))
    kind_codes = ev["account_kind"].cat.codes.to_numpy()
    kind_s = K.block_mode(first, last, order, kind_codes, len(ACCOUNT_KIND_DTYPE.categories))
    return {
        "act_counts": act_counts,
        "records_exported": records_exported,
        "records_extracted": records_extracted,
        "bytes_out": bytes_out,
        "distinct_patients": distinct_patients,
        "hosts": _lists(hosts_n, hb, hc, k.host_uniq),
        "n_hosts": hosts_n,
        "src_ips": _lists(ips_n, ib, ic, k.ip_uniq),
        "n_src_ips": ips_n,
        "modules": _lists(mods_n, mb, mc, mod_uniq),
        "n_modules": mods_n,
        "role_codes": role_s,
        "role_uniq": role_uniq,
        "account_kind": kind_s,
    }


def _session_ids(k: _Keys, fe: np.ndarray, start: np.ndarray) -> pa.LargeStringArray:
    """Content-hash session ids (see the module docstring), in session order."""
    S = len(fe)
    h = np.full(S, _SEED, np.uint64)
    for codes, uniq in zip(k.by_codes, k.by_uniques, strict=True):
        hv = _hash_strings(uniq)
        c = codes[fe]
        h = K.mix64(h, np.where(c >= 0, hv[np.maximum(c, 0)] if len(hv) else _NA_HASH, _NA_HASH))
    app_h = _hash_strings(k.app_uniq)
    host_h = _hash_strings(k.host_uniq)
    ip_h = _hash_strings(k.ip_uniq)
    s_app = k.is_app[fe]
    fh, fa, fi_ = k.host_codes[fe], k.app_codes[fe], k.ip_codes[fe]
    key_h = np.full(S, _KIND_TAG["none"], np.uint64)
    kind_tag = np.full(S, _KIND_TAG["none"], np.uint64)
    for mask, tag, hv, c in (
        (s_app, "app", app_h, fa),
        (~s_app & (fh >= 0), "host", host_h, fh),
        (~s_app & (fh < 0) & (fi_ >= 0), "ip", ip_h, fi_),
    ):
        if mask.any():
            key_h[mask] = hv[c[mask]]
            kind_tag[mask] = _KIND_TAG[tag]
    kind_tag = np.where(k.pair[fe], kind_tag | _PAIR_TAG, kind_tag)  # (other ids unchanged)
    h = K.mix64(h, kind_tag)
    h = K.mix64(h, key_h)
    h = K.mix64(h, start.view(np.uint64))
    # Sessions are in (group, start) order, so equal (group, start) are adjacent.
    h = K.mix64(h, _ordinal(k.acct[fe], k.key2[fe], start).astype(np.uint64))
    return _hex16(h)


def _session_frame(
    ev: pd.DataFrame, k: _Keys, fe: np.ndarray, fo: np.ndarray, s: dict[str, Any]
) -> pd.DataFrame:
    """The sessions table (:data:`SESSION_DTYPES`) from per-session arrays, rows in order ``fo``."""
    S = len(fe)
    s_app = k.is_app[fe]
    fa = k.app_codes[fe]
    role_s = s["role_codes"]
    start, end = s["start"], s["end"]

    def take_str(col: str) -> pd.arrays.ArrowStringArray:
        return _to_string(_arrow_strings(ev[col].array).take(pa.array(fe[fo])))

    fo_pa = pa.array(fo)
    cols: dict[str, object] = {
        "session_id": _to_string(s["session_id"].take(fo_pa)),
        "lab": take_str("lab"),
        "account": take_str("account"),
        "account_kind": pd.Categorical.from_codes(s["account_kind"][fo], dtype=ACCOUNT_KIND_DTYPE),
        "role": _to_string(
            s["role_uniq"].take(pa.array(np.maximum(role_s[fo], 0), mask=role_s[fo] < 0))
            if len(s["role_uniq"])
            else pa.nulls(S, pa.large_string())
        ),
        "start": pd.DatetimeIndex(start[fo].view("datetime64[ns]"), tz="UTC"),
        "end": pd.DatetimeIndex(end[fo].view("datetime64[ns]"), tz="UTC"),
        "duration_s": (end[fo] - start[fo]) / 1e9,
        "n_events": s["n_events"][fo],
        "hosts": pd.array(s["hosts"].take(fo_pa), dtype=STRING_LIST),
        "n_hosts": s["n_hosts"][fo],
        "src_ips": pd.array(s["src_ips"].take(fo_pa), dtype=STRING_LIST),
        "n_src_ips": s["n_src_ips"][fo],
        "modules": pd.array(s["modules"].take(fo_pa), dtype=STRING_LIST),
        "n_modules": s["n_modules"][fo],
        "start_reason": pd.Categorical.from_codes(s["start_reason"][fo], dtype=_START_DTYPE),
        "end_reason": pd.Categorical.from_codes(s["end_reason"][fo], dtype=_END_DTYPE),
        "app_session": _to_string(
            k.app_uniq.take(pa.array(np.maximum(fa[fo], 0), mask=~s_app[fo]))
            if len(k.app_uniq)
            else pa.nulls(S, pa.large_string())
        ),
        "records_exported": s["records_exported"][fo],
        "records_extracted": s["records_extracted"][fo],
        "bytes_out": s["bytes_out"][fo],
        "distinct_patients": s["distinct_patients"][fo],
        "failed_logins_before": s["failed_logins_before"][fo],
        "failed_login_src_ips": s["failed_login_src_ips"][fo],
        "concurrent_sessions": s["concurrent_sessions"][fo],
    }
    act_counts = s["act_counts"][fo]
    for i, act_name in enumerate(ACTIONS):
        if act_name != "login_failed":
            cols[f"n_{act_name}"] = np.ascontiguousarray(act_counts[:, i])
    sessions = pd.DataFrame(cols)
    sessions = sessions.astype(SESSION_DTYPES)
    return sessions
