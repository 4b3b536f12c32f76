"""Authentication attacks ranked by source address: a rule-based unit beside sessions.

Failed logins belong to no session (a session starts at a successful login), so
a brute-force campaign that never succeeds leaves no scored session. This module
scores the *source address* instead: one row per ``(lab, src_ip)`` that made at
least one authentication attempt (``login`` or ``login_failed`` event with a
``src_ip``). Addresses and accounts are compared in canonical form
(:mod:`labforensics.identity`: an IPv4-mapped IPv6 address is its IPv4 address,
accounts are NFC), whatever table is given; the forms as logged are kept beside them
where they differ (``src_ip_as_logged``, ``accounts_succeeded_as_logged``).

This is a transparent rule-based ranking, not an anomaly model: time and
identifiers are not features, nothing is learned, and the score is a plain
formula of counts (below), monotone in each of them.

Score
-----
``score = log1p(peak_failures_per_hour) + log1p(distinct_accounts_tried)
+ success_bonus * [failures_before_success >= min_failed_with_success]``

The intensity of the worst burst counts, not the total over the evidence: a
workstation where users mistype a password twice a month for six years has a
hundred failures but a peak of one or two an hour, and must not outrank a
brute force. Ten times more failures in the peak window adds about
``log(10) = 2.3``; spraying many accounts counts as much as hammering one; a
success that follows a burst from the same address (the brute force may have
worked) adds ``success_bonus`` (3.0).

Flag rule (:class:`SourceParams`)
---------------------------------
A source is flagged when

- ``failed_logins >= min_failed`` (10) **and** ``peak_failures_per_hour >=
  min_peak_per_hour`` (5): a burst of failures, not a user mistyping over months; or
- ``failures_before_success >= min_failed_with_success``
  (:data:`labforensics.thresholds.FAILED_LOGIN_BURST`, 5): a successful login
  preceded, within ``window``, by at least that many failures from the same address.

Thresholds follow account-lockout baselines and intrusion-prevention defaults
(the CIS lockout threshold of 5 and fail2ban's ``maxretry = 5``, cited at
:data:`~labforensics.thresholds.FAILED_LOGIN_BURST`; a burst of tens of attempts an
hour is no human typing), kept deliberately low: the ranking, not the flag, orders
the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import unique_sorted
from .._terminal import identity_visible
from .._validation import Duration, Interval, constrained, validate
from ..case_events import CaseEvents
from ..identity import canonical_account, canonical_address
from ..schema import STRING, check_table
from ..spellings import SEP
from ..thresholds import FAILED_LOGIN_BURST

__all__ = ["SOURCE_COLUMNS", "SourceParams", "score_sources"]

#: Columns of :func:`score_sources`' table, in order.
SOURCE_COLUMNS: tuple[str, ...] = (
    "rank",
    "lab",
    "src_ip",
    "src_ip_as_logged",
    "first",
    "last",
    "failed_logins",
    "distinct_accounts_tried",
    "successes",
    "accounts_succeeded",
    "accounts_succeeded_as_logged",
    "success_after_failures",
    "failures_before_success",
    "peak_failures_per_hour",
    "score",
    "flagged",
    "reasons",
)

#: Account names listed in ``accounts_succeeded`` before "(+N more)".
MAX_LISTED_ACCOUNTS = 10


@dataclass(frozen=True)
class _WindowText(Duration):
    """A positive duration written as a pandas offset string, kept as written (it is
    shown in the reasons, ``"within 60min before"``)."""

    def check(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError('is not a duration written as text, e.g. "60min"')
        super().check(value)
        return value

    def invalid_examples(self) -> list[Any]:
        return [*super().invalid_examples(), pd.Timedelta("1h")]


@dataclass(frozen=True)
class SourceParams:
    """Thresholds of :func:`score_sources` (see the module doc for their source).

    Attributes
    ----------
    min_failed : int, >= 1
        Failed logins of a brute-force source (10).
    min_peak_per_hour : int, >= 1
        Failures within one ``window`` needed with ``min_failed`` (5).
    min_failed_with_success : int, >= 1
        Failed logins that, with a success after the first of them, flag a source:
        :data:`labforensics.thresholds.FAILED_LOGIN_BURST` (5, an account-lockout
        threshold; its source is stated there).
    window : str, a duration > 0
        Length of the sliding window of ``peak_failures_per_hour`` (pandas offset, ``"60min"``).
    success_bonus : float, >= 0
        Score added for a success after failures (3.0).

    Raises
    ------
    ParameterError
        A value outside its allowed range (naming the field and the range).
    """

    min_failed: int = constrained(10, Interval(1, None, integer=True))
    min_peak_per_hour: int = constrained(5, Interval(1, None, integer=True))
    min_failed_with_success: int = constrained(FAILED_LOGIN_BURST, Interval(1, None, integer=True))
    window: str = constrained("60min", _WindowText(low_open=True))
    success_bonus: float = constrained(3.0, Interval(0, None))

    def __post_init__(self) -> None:
        validate(self)


def _peak_in_window(g: np.ndarray, t: np.ndarray, w: int) -> np.ndarray:
    """Per group, the most events in any window ``[t_i, t_i + w)`` (``g``, ``t`` sorted by both).

    ``g``: int64 group codes, ``t``: int64 ns; returns ``(n_groups,)`` int64 indexed by code.
    Times are rank-compressed so that one ``searchsorted`` on the key ``(g, rank)``
    finds every window's end exactly, without int64 overflow.
    """
    n_groups = int(g.max()) + 1 if len(g) else 0
    if not len(g):
        return np.zeros(0, dtype="int64")
    values = unique_sorted(np.concatenate([t, t + w]))
    stride = np.int64(len(values) + 1)
    key = g * stride + np.searchsorted(values, t)
    end = g * stride + np.searchsorted(values, t + w)
    count = np.searchsorted(key, end, side="left") - np.arange(len(t))
    peak = np.zeros(n_groups, dtype="int64")
    np.maximum.at(peak, g, count)
    return peak


def _failures_before(
    g_f: np.ndarray, t_f: np.ndarray, g_s: np.ndarray, t_s: np.ndarray, w: int
) -> np.ndarray:
    """For each success ``(g_s, t_s)``, the failures of its group in ``[t_s - w, t_s]``.

    ``(g_f, t_f)`` sorted by both; same rank-compressed key trick as :func:`_peak_in_window`.
    """
    if not len(t_s) or not len(t_f):
        return np.zeros(len(t_s), dtype="int64")
    values = unique_sorted(np.concatenate([t_f, t_s - w, t_s]))
    stride = np.int64(len(values) + 1)
    key = g_f * stride + np.searchsorted(values, t_f)
    lo = g_s * stride + np.searchsorted(values, t_s - w)
    hi = g_s * stride + np.searchsorted(values, t_s)
    return (np.searchsorted(key, hi, side="right") - np.searchsorted(key, lo, side="left")).astype(
        "int64"
    )


def _empty() -> pd.DataFrame:

    dt = {
        "rank": "int64",
        "lab": STRING,
        "src_ip": STRING,
        "src_ip_as_logged": STRING,
        "first": pd.DatetimeTZDtype(unit="ns", tz="UTC"),
        "last": pd.DatetimeTZDtype(unit="ns", tz="UTC"),
        "failed_logins": "int64",
        "distinct_accounts_tried": "int64",
        "successes": "int64",
        "accounts_succeeded": STRING,
        "accounts_succeeded_as_logged": STRING,
        "success_after_failures": "bool",
        "failures_before_success": "int64",
        "peak_failures_per_hour": "int64",
        "score": "float64",
        "flagged": "bool",
        "reasons": STRING,
    }
    return pd.DataFrame({c: pd.Series([], dtype=dt[c]) for c in SOURCE_COLUMNS})


def _canonical(s: pd.Series, canon) -> pd.Series:
    """``canon`` applied once per distinct value of a text column (missing stays missing)."""
    uniq = s.dropna().unique()
    table = {v: canon(v) for v in uniq}
    if all(table[v] == v for v in uniq):
        return s
    return s.map(table).astype(s.dtype)


def _account_list(s: pd.Series) -> str:
    names = sorted(set(s.dropna().astype(str)))
    more = len(names) - MAX_LISTED_ACCOUNTS
    # each name as a reader can tell it from its look-alikes ("tech.a\x20", QA session 11)
    text = ", ".join(str(identity_visible(n)) for n in names[:MAX_LISTED_ACCOUNTS])
    return text + (f" (+{more} more)" if more > 0 else "")


def _reason(r: dict, window: str) -> str:
    parts = []
    f = int(r["failed_logins"])
    if f:
        acc = int(r["distinct_accounts_tried"])
        on = f" on {acc:,} account{'s' if acc != 1 else ''}" if acc else " (no account named)"
        parts.append(
            f"{f:,} failed login{'s' if f != 1 else ''}{on}, "
            f"peak {int(r['peak_failures_per_hour']):,}/hour"
        )
    n_ok = int(r["successes"])
    if n_ok:
        who = r["accounts_succeeded_as_logged"] or r["accounts_succeeded"] or "(no account)"
        k = int(r["failures_before_success"])
        if k:
            after = f"after {k:,} failure{'s' if k != 1 else ''} within {window} before"
            parts.append(
                f"then a success as {who}, {after}"
                if n_ok == 1
                else f"{n_ok} successes as {who}, one {after}"
            )
        elif f:
            parts.append(
                f"{n_ok} success{'es' if n_ok != 1 else ''} as {who}, none right after a failure"
            )
        else:
            parts.append(f"{n_ok} successful login{'s' if n_ok != 1 else ''} as {who}, no failure")
    return "; ".join(parts)


#: Event columns :func:`score_sources` reads.
EVENT_NEED: tuple[str, ...] = ("ts", "lab", "account", "src_ip", "action", "outcome")


def score_sources(events: pd.DataFrame | CaseEvents, params: SourceParams | None = None
                  ) -> pd.DataFrame:  # fmt: skip
    """Rank source addresses by their authentication attempts (brute force, spraying).

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events (needs ``ts``, ``lab``, ``account``, ``src_ip``,
        ``action``, ``outcome``). Only ``login_failed`` events and successful
        ``login`` events with a ``src_ip`` count. A
        :class:`~labforensics.case_events.CaseEvents` is read one lab at a time
        (the columns above; a source belongs to one lab), so only one lab's logins are
        held; the same table either way.
    params : SourceParams, optional
        Thresholds and score bonus; default :class:`SourceParams()`.

    Returns
    -------
    pandas.DataFrame
        One row per ``(lab, src_ip)`` with at least one such event, sorted by
        ``rank``, columns :data:`SOURCE_COLUMNS`:

        - ``rank`` (int64): 1 is the top; order ``score`` desc, ``failed_logins``
          desc, ``src_ip`` asc, ``lab`` asc.
        - ``lab``, ``src_ip`` (string); ``src_ip`` canonical (the form matched).
        - ``src_ip_as_logged`` (string): the address's distinct forms as logged
          (``src_ip_raw``, else the ``src_ip`` given), sorted, ``" | "``-joined, where
          they are not the canonical form alone (``::ffff:203.0.113.5`` beside
          ``203.0.113.5``); ``""`` elsewhere.
        - ``first``, ``last`` (datetime64[ns, UTC]): first and last attempt.
        - ``failed_logins`` (int64): ``login_failed`` events (records).
        - ``distinct_accounts_tried`` (int64): distinct accounts named by them.
        - ``successes`` (int64): successful ``login`` events.
        - ``accounts_succeeded`` (string): their accounts, sorted, ``", "``-joined
          (at most :data:`MAX_LISTED_ACCOUNTS`, then ``(+N more)``); ``""`` if none.
          Canonical (NFC, case-folded for a case-insensitive source): the form matched.
        - ``accounts_succeeded_as_logged`` (string): the same logins' accounts as
          logged (``account_raw``), listed the same way, where that differs from
          ``accounts_succeeded`` (a decomposed accent, another case); ``""`` elsewhere,
          and without ``account_raw``. The reasons name them so.
        - ``success_after_failures`` (bool): a success with at least one failure from the
          same address within ``params.window`` before it.
        - ``failures_before_success`` (int64): the most failures within ``params.window``
          before (or at) one of the address's successful logins.
        - ``peak_failures_per_hour`` (int64): most failures in any window
          ``[t, t + params.window)`` starting at a failure.
        - ``score`` (float64): see the module doc.
        - ``flagged`` (bool): the module doc's rule.
        - ``reasons`` (string): the counts in words.

    Raises
    ------
    labforensics.errors.MissingColumnsError
        (a ``SchemaError``) when ``events`` lacks a column of :data:`EVENT_NEED`
        (every missing column named).
    """
    p = params or SourceParams()
    if not isinstance(events, CaseEvents):
        check_table(events, EVENT_NEED, "score_sources: events")
        ev = _auth_events(events)
        return _empty() if ev is None else _score_and_rank(_per_source(ev, p), p)
    # the same error as for a table: its columns, no row
    check_table(pd.DataFrame(columns=list(events.columns)), EVENT_NEED, "score_sources: events")
    # a source is a (lab, address): counted lab by lab, ranked over the case
    parts = []
    need = [*EVENT_NEED, *[c for c in ("account_raw", "src_ip_raw") if c in events.columns]]
    for lab in events.labs:
        ev = _auth_events(events.lab(lab, need)) if events.size(lab) else None
        if ev is not None:
            parts.append(_per_source(ev, p))
    return _score_and_rank(pd.concat(parts, ignore_index=True), p) if parts else _empty()


def _auth_events(events: pd.DataFrame) -> pd.DataFrame | None:
    """Logins (failed, successful) with an address, canonical, grouped (``g``); None if none."""
    action = events["action"].astype("string")
    failed = (action == "login_failed").fillna(False).to_numpy(dtype=bool)
    ok = ((action == "login") & (events["outcome"].astype("string") == "success")).fillna(False)
    has_ip = events["src_ip"].notna().to_numpy()
    keep = has_ip & (failed | ok.to_numpy(dtype=bool))
    if not keep.any():
        return None
    ev = pd.DataFrame(  # masked before to_numpy: Python strings for the kept rows only
        {
            "lab": events["lab"].astype("string")[keep].to_numpy(),
            "src_ip": events["src_ip"].astype("string")[keep].to_numpy(),
            # as logged: the raw twin where the table has one, else the address as given
            "src_ip_raw": (
                events["src_ip_raw"].astype("string").fillna(events["src_ip"].astype("string"))
                if "src_ip_raw" in events.columns
                else events["src_ip"].astype("string")
            )[keep].to_numpy(),
            "ts": pd.to_datetime(events["ts"], utc=True)
            .dt.tz_localize(None)
            .astype("datetime64[ns]")
            .to_numpy()[keep],
            "account": events["account"].astype("string")[keep].to_numpy(),
            "account_raw": (
                events["account_raw"].astype("string")[keep].to_numpy()
                if "account_raw" in events.columns
                else pd.NA
            ),
            "failed": failed[keep],
        }
    )
    ev["lab"] = ev["lab"].fillna("")
    # one spelling per identity (labforensics.identity): `::ffff:203.0.113.5` and
    # `203.0.113.5` are one source, NFC and NFD spellings one account (per distinct value)
    ev["src_ip"] = _canonical(ev["src_ip"], canonical_address)
    ev["account"] = _canonical(ev["account"], canonical_account)
    ev = ev.sort_values(["lab", "src_ip", "ts"], kind="stable").reset_index(drop=True)
    ev["g"] = ev.groupby(["lab", "src_ip"], sort=True).ngroup().astype("int64")
    return ev


def _per_source(ev: pd.DataFrame, p: SourceParams) -> pd.DataFrame:
    """Counts per (lab, src_ip): attempts, accounts, successes, failures before one, peak."""
    fl = ev[ev["failed"]]
    su = ev[~ev["failed"]]

    base = ev.groupby("g").agg(lab=("lab", "first"), src_ip=("src_ip", "first"),
                               first=("ts", "min"), last=("ts", "max"))  # fmt: skip
    n_groups = len(base)
    fg = fl.groupby("g")
    failed_n = fg.size().reindex(base.index, fill_value=0)
    accounts_n = fg["account"].nunique().reindex(base.index, fill_value=0)
    sg = su.groupby("g")
    succ_n = sg.size().reindex(base.index, fill_value=0)
    succ_acc = sg["account"].agg(_account_list).reindex(base.index, fill_value="")
    succ_raw = sg["account_raw"].agg(_account_list).reindex(base.index, fill_value="")
    succ_raw = succ_raw.where(succ_raw.ne(succ_acc) & succ_raw.ne(""), "")  # as logged: differs
    ip_raw = ev.groupby("g")["src_ip_raw"].agg(lambda x: SEP.join(sorted(set(x.dropna()))))
    ip_raw = ip_raw.reindex(base.index, fill_value="")
    ip_raw = ip_raw.where(ip_raw.ne(base["src_ip"].astype(str)), "")  # the canonical alone
    w = int(pd.Timedelta(p.window).value)
    before = _failures_before(
        fl["g"].to_numpy(), fl["ts"].to_numpy().astype("int64"),
        su["g"].to_numpy(), su["ts"].to_numpy().astype("int64"), w,
    )  # fmt: skip
    fbs = pd.Series(before, index=su["g"].to_numpy()).groupby(level=0).max()
    fbs = fbs.reindex(base.index, fill_value=0).astype("int64")
    peak = np.zeros(n_groups, dtype="int64")
    pk = _peak_in_window(fl["g"].to_numpy(), fl["ts"].to_numpy().astype("int64"), w)
    peak[: len(pk)] = pk

    out = pd.DataFrame(
        {
            "lab": base["lab"].astype("string").to_numpy(),
            "src_ip": base["src_ip"].astype("string").to_numpy(),
            "src_ip_as_logged": ip_raw.astype("string").to_numpy(),
            "first": base["first"].to_numpy(),
            "last": base["last"].to_numpy(),
            "failed_logins": failed_n.to_numpy().astype("int64"),
            "distinct_accounts_tried": accounts_n.to_numpy().astype("int64"),
            "successes": succ_n.to_numpy().astype("int64"),
            "accounts_succeeded": succ_acc.astype("string").to_numpy(),
            "accounts_succeeded_as_logged": succ_raw.astype("string").to_numpy(),
            "success_after_failures": fbs.to_numpy() > 0,
            "failures_before_success": fbs.to_numpy(),
            "peak_failures_per_hour": peak,
        }
    )
    for c in ("first", "last"):
        out[c] = pd.to_datetime(out[c], utc=True).astype(pd.DatetimeTZDtype(unit="ns", tz="UTC"))
    out["lab"] = out["lab"].astype("string")
    out["src_ip"] = out["src_ip"].astype("string")
    for c in ("src_ip_as_logged", "accounts_succeeded", "accounts_succeeded_as_logged"):
        out[c] = out[c].astype("string")
    return out


def _score_and_rank(out: pd.DataFrame, p: SourceParams) -> pd.DataFrame:
    """Score, flag, rank and reasons of each source (module doc), rows in rank order."""
    f = out["failed_logins"].to_numpy()
    burst_success = out["failures_before_success"].to_numpy() >= p.min_failed_with_success
    out["score"] = (
        np.log1p(out["peak_failures_per_hour"].to_numpy())
        + np.log1p(out["distinct_accounts_tried"].to_numpy())
        + p.success_bonus * burst_success
    ).astype("float64")
    out["flagged"] = (
        (f >= p.min_failed) & (out["peak_failures_per_hour"].to_numpy() >= p.min_peak_per_hour)
    ) | burst_success
    out = out.sort_values(
        ["score", "failed_logins", "src_ip", "lab"],
        ascending=[False, False, True, True],
        kind="stable",
    ).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype="int64")
    out["reasons"] = pd.Series(
        [_reason(r, p.window) for r in out.to_dict("records")], dtype="string", index=out.index
    )
    return out[list(SOURCE_COLUMNS)]
