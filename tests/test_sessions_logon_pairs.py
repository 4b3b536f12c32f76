"""The ``logon_pairs`` session rule (issue 12, item 7): logon/logoff-only sources.

Times are minutes after T0; every expected session is worked out by hand from the
rule in :mod:`labforensics.sessions` (a logon is paired with the next logoff of the
same account on the same host, at most ``max_duration`` later; no idle cut).
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labforensics.schema import coerce_events
from labforensics.sessions import SessionParams, sessionize

T0 = pd.Timestamp("2010-01-04 08:00", tz="UTC")
H = 60  # minutes in an hour


def ev(rows: list[tuple], rule: str | None = "logon_pairs") -> pd.DataFrame:
    """Events from (minutes after T0, action[, account[, host[, rule]]]) tuples."""
    out = []
    for i, r in enumerate(rows):
        t, action, *rest = r
        account = rest[0] if len(rest) > 0 else "ABC0123"
        host = rest[1] if len(rest) > 1 else "PC-1001"
        row_rule = rest[2] if len(rest) > 2 else rule
        out.append(
            {
                "ts": T0 + pd.Timedelta(minutes=t),
                "ts_quality": "exact",
                "lab": "SIM",
                "account": account,
                "account_kind": "unknown",
                "host": host,
                "action": action,
                "outcome": "success",
                "source_format": "profile:cert-logon",
                "source_file": "logon.csv",
                "source_line": i + 2,
                "seq": i,
                "session_rule": row_rule,
            }
        )
    return coerce_events(pd.DataFrame(out))


def table(rows, params=None, rule="logon_pairs"):
    s = sessionize(ev(rows, rule), params).sessions
    return [
        (
            int((r.start - T0) / pd.Timedelta(minutes=1)),
            int((r.end - T0) / pd.Timedelta(minutes=1)),
            int(r.n_events),
            r.start_reason,
            r.end_reason,
        )
        for r in s.itertuples()
    ]


def test_logon_paired_with_next_logoff_across_idle():
    # 9 h between logon and logoff: one session (the idle rule would give two)
    rows = [(0, "login"), (9 * H, "logout")]
    assert table(rows) == [(0, 9 * H, 2, "login", "logout")]
    assert table(rows, rule=None) == [
        (0, 0, 1, "login", "idle_timeout"),
        (9 * H, 9 * H, 1, "implicit", "logout"),
    ]


def test_two_logons_in_a_row_are_one_session():
    # logon, a screen unlock (a logon), logoff: one session, two logons counted
    s = sessionize(ev([(0, "login"), (4 * H, "login"), (9 * H, "logout")])).sessions
    assert len(s) == 1
    assert (s["n_login"].iloc[0], s["n_logout"].iloc[0], s["duration_s"].iloc[0]) == (
        2,
        1,
        9 * 3600.0,
    )


def test_logon_without_logoff_capped_by_max_duration():
    # day 1 logon never logged off; day 2 logon 24 h later is > 12 h after it
    rows = [(0, "login"), (24 * H, "login"), (24 * H + 8 * H, "logout")]
    assert table(rows) == [
        (0, 0, 1, "login", "max_duration"),
        (24 * H, 32 * H, 2, "login", "logout"),
    ]


def test_logoff_too_late_is_not_paired():
    # 20 h > max_duration 12 h: the logon ends alone, the logoff is an implicit session
    rows = [(0, "login"), (20 * H, "logout")]
    assert table(rows) == [
        (0, 0, 1, "login", "max_duration"),
        (20 * H, 20 * H, 1, "implicit", "logout"),
    ]
    # a longer maximum pairs them
    assert table(rows, SessionParams(max_duration="24h")) == [(0, 20 * H, 2, "login", "logout")]


def test_last_logon_without_logoff_ends_with_end_of_data():
    rows = [(0, "login"), (H, "logout"), (2 * H, "login")]
    assert table(rows) == [(0, H, 2, "login", "logout"), (2 * H, 2 * H, 1, "login", "end_of_data")]


def test_pairs_are_per_account_and_host():
    # interleaved: two accounts, and one account on two hosts
    rows = [
        (0, "login", "A", "PC-1"),
        (10, "login", "B", "PC-1"),
        (20, "login", "A", "PC-2"),
        (5 * H, "logout", "A", "PC-1"),
        (6 * H, "logout", "B", "PC-1"),
        (7 * H, "logout", "A", "PC-2"),
    ]
    s = sessionize(ev(rows)).sessions
    got = sorted(zip(s["account"], s["hosts"].list[0], s["duration_s"] / 60, strict=True))
    assert got == [("A", "PC-1", 300.0), ("A", "PC-2", 400.0), ("B", "PC-1", 350.0)]
    # A's two sessions overlap in time: each counts the other as concurrent
    assert s.loc[s["account"] == "A", "concurrent_sessions"].tolist() == [1, 1]


def test_pair_events_never_join_an_idle_source():
    # same account and host in an event-dense log (rule idle) at minute 60: it makes its
    # own session (ended idle_timeout: the account's data runs on, to the logoff at 9 h);
    # the logon/logoff pair is untouched
    rows = [(0, "login"), (60, "read", "ABC0123", "PC-1001", "idle"), (9 * H, "logout")]
    assert sorted(table(rows)) == [
        (0, 9 * H, 2, "login", "logout"),
        (60, 60, 1, "implicit", "idle_timeout"),
    ]


def test_ids_unique_when_an_idle_and_a_pair_session_start_together():
    rows = [(0, "login"), (0, "login", "ABC0123", "PC-1001", "idle"), (H, "logout")]
    s = sessionize(ev(rows)).sessions
    assert len(s) == 2 and s["session_id"].is_unique


def test_rule_absent_column_values_follow_idle_rules():
    # session_rule missing (every reader but profiles): the default rules, unchanged
    rows = [(0, "login"), (45, "read"), (9 * H, "logout")]
    assert table(rows, rule=None) == [
        (0, 0, 1, "login", "idle_timeout"),
        (45, 45, 1, "implicit", "idle_timeout"),
        (9 * H, 9 * H, 1, "implicit", "logout"),
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 72 * H),
            st.sampled_from(["login", "logout"]),
            st.sampled_from(["A", "B"]),
            st.sampled_from(["PC-1", "PC-2"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_pair_rule_invariants(rows):
    rows = sorted(rows, key=lambda r: r[0])  # evidence order = time order here
    out = sessionize(ev(rows))
    s, e = out.sessions, out.events
    # every event in exactly one session; none longer than max_duration (12 h)
    assert e["session_id"].notna().all() and s["n_events"].sum() == len(rows)
    assert (s["duration_s"] <= 12 * 3600).all()
    # a logout is always its session's last event; a session holds at most one logout
    assert (s["n_logout"] <= 1).all()
    last = e.groupby("session_id", sort=False).tail(1)
    ends_with_logout = set(last.loc[last["action"] == "logout", "session_id"])
    assert ends_with_logout == set(s.loc[s["n_logout"] == 1, "session_id"])
    # one account's sessions on one host never overlap (the pairs partition its events),
    # and a session is only cut by a logoff or by max_duration, never by idle time: a
    # session not ending in a logoff is the last of its key (end_of_data) or the next
    # one starts more than 12 h after it started (max_duration)
    assert set(s["end_reason"]) <= {"logout", "max_duration", "end_of_data"}
    for (_, _), g in s.assign(host=s["hosts"].list[0]).groupby(["account", "host"]):
        g = g.sort_values("start", kind="stable")
        assert (g["start"].iloc[1:].to_numpy() >= g["end"].iloc[:-1].to_numpy()).all()
        gap = (g["start"].shift(-1) - g["start"]).iloc[:-1]
        reason = g["end_reason"].iloc[:-1]
        assert (gap[reason == "max_duration"] > pd.Timedelta(hours=12)).all()
        assert g["end_reason"].iloc[-1] in ("logout", "end_of_data")
