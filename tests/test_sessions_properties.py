"""Hypothesis properties of labforensics.sessionize over random small evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labforensics.schema import coerce_events
from labforensics.sessions import SessionParams, sessionize

T0 = pd.Timestamp("2020-03-29 00:00", tz="UTC")
# Short limits so random minute offsets in [0, 900] hit every rule often.
PARAMS = SessionParams(idle_timeout="30min", max_duration="3h", failed_login_window="20min")
ACTIONS = ["login", "logout", "login_failed", "read", "read", "export", "query"]

row = st.fixed_dictionaries(
    {
        "t": st.integers(0, 72).map(lambda k: 5 * k),  # 5-min grid over 6 h: gaps hit 30 min
        "lab": st.sampled_from(["L01", "L02"]),
        "account": st.sampled_from(["a", "b", "b", None]),
        "host": st.sampled_from(["PC-1", "PC-1", "PC-2", None]),
        "src_ip": st.sampled_from(["10.0.0.1", "10.0.0.2", None]),
        "module": st.sampled_from(["SSHD", "SSHD", "FTPD", None]),
        "app_session": st.sampled_from([None, None, None, "1", "2"]),
        "action": st.sampled_from(ACTIONS),
        "patient": st.sampled_from([None, "p1", "p2"]),
        "records": st.sampled_from([None, 0, 5]),
    }
)
# Few keys and at least 8 rows, so that events share an account and workstation often.
evidence = st.lists(row, min_size=8, max_size=60)


def build(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["ts"] = T0 + pd.to_timedelta(df.pop("t"), unit="min")
    df["seq"] = np.arange(len(df)) * 2 + 10
    df["ts_quality"] = "exact"
    df["account_kind"] = "staff"
    df["role"] = "TECHNICIEN"
    df["outcome"] = np.where(df["action"] == "login_failed", "failure", "success")
    df["source_format"] = "test"
    df["source_file"] = "f.csv"
    return coerce_events(df)


def canon(sessions: pd.DataFrame) -> pd.DataFrame:
    return sessions.sort_values("session_id").reset_index(drop=True)


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(evidence)
def test_partition_and_limits(rows):
    e = build(rows)
    s = sessionize(e, PARAMS)
    ss, ev = s.sessions, s.events
    # failed logins and events without an account are in no session, every other in one
    failed = (ev["action"] == "login_failed") | ev["account"].isna()
    assert ev.loc[failed, "session_id"].isna().all()
    assert ev.loc[~failed, "session_id"].notna().all()
    counts = ev.loc[~failed, "session_id"].value_counts()
    assert (
        counts.sort_index().tolist() == ss.set_index("session_id")["n_events"].sort_index().tolist()
    )
    assert int(ss["n_events"].sum()) == int((~failed).sum())
    # durations are >= 0 and never above max_duration
    assert (ss["duration_s"] >= 0).all()
    assert (ss["duration_s"] <= PARAMS.max_duration.total_seconds()).all()
    # one account at one lab per session; start/end are the session's first/last event
    g = ev[~failed].groupby("session_id")
    assert (g["lab"].nunique() == 1).all() and (g["account"].nunique() == 1).all()
    per = ss.set_index("session_id")
    assert (g["ts"].min() == per.loc[g["ts"].min().index, "start"]).all()
    assert (g["ts"].max() == per.loc[g["ts"].max().index, "end"]).all()
    # no gap inside a session exceeds the idle timeout unless one app id spans it
    idle = PARAMS.idle_timeout
    e2 = ev[~failed].sort_values(["session_id", "ts", "seq"])
    gap = e2.groupby("session_id")["ts"].diff()
    long_gap = e2[gap > idle]
    assert long_gap["app_session"].notna().all()
    if len(long_gap):
        assert (per.loc[long_gap["session_id"], "app_session"].notna()).all()
    # failed logins counted at most once each
    assert int(ss["failed_logins_before"].sum()) <= int(failed.sum())
    # concurrent_sessions equals a brute-force count of overlapping closed intervals
    k = ss[["session_id", "lab", "account", "start", "end"]]
    pairs = k.merge(k, on=["lab", "account"], suffixes=("", "_o"))
    pairs = pairs[pairs["session_id"] != pairs["session_id_o"]]
    over = (pairs["start_o"] <= pairs["end"]) & (pairs["end_o"] >= pairs["start"])
    brute = over.groupby(pairs["session_id"]).sum().reindex(ss["session_id"], fill_value=0)
    assert brute.tolist() == ss["concurrent_sessions"].tolist()
    # failed_logins_before equals a brute-force assignment: each failure with an account
    # to the next session start (ts, seq) of its account at its lab whose first known
    # src_ip and module agree with its own where both are known, if within the window
    ordered = ev[~failed].sort_values(["ts", "seq"])
    firsts = ordered.groupby("session_id").head(1).set_index("session_id")
    for c in ("src_ip", "module"):  # first known value of the session
        firsts[c] = ordered.dropna(subset=[c]).groupby("session_id")[c].first()
    firsts = firsts.reset_index()
    expect = dict.fromkeys(ss["session_id"], 0)
    fails = ev[(ev["action"] == "login_failed") & ev["account"].notna()]
    for _, f in fails.iterrows():
        agree = pd.Series(True, index=firsts.index)
        for c in ("src_ip", "module"):
            if pd.notna(f[c]):
                agree &= firsts[c].isna() | (firsts[c] == f[c])
        later = firsts[
            agree
            & (firsts["lab"] == f["lab"])
            & (firsts["account"] == f["account"])
            & ((firsts["ts"] > f["ts"]) | ((firsts["ts"] == f["ts"]) & (firsts["seq"] > f["seq"])))
        ].sort_values(["ts", "seq"])
        if len(later) and later["ts"].iloc[0] - f["ts"] <= PARAMS.failed_login_window:
            expect[later["session_id"].iloc[0]] += 1
    assert [expect[i] for i in ss["session_id"]] == ss["failed_logins_before"].tolist()


@SETTINGS
@given(evidence, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(rows, rnd):
    e = build(rows)
    perm = list(range(len(e)))
    rnd.shuffle(perm)
    a = sessionize(e, PARAMS)
    b = sessionize(e.iloc[perm], PARAMS)
    # same evidence (rows with their seq) -> the very same tables, ties included
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    pd.testing.assert_frame_equal(a.events, b.events)


@SETTINGS
@given(evidence)
def test_split_by_lab_gives_same_sessions(rows):
    e = build(rows)
    whole = canon(sessionize(e, PARAMS).sessions)
    parts = [sessionize(part, PARAMS).sessions for _, part in e.groupby("lab", observed=True)]
    pd.testing.assert_frame_equal(whole, canon(pd.concat(parts, ignore_index=True)))


@SETTINGS
@given(evidence)
def test_ids_stable_without_other_accounts(rows):
    e = build(rows)
    whole = canon(sessionize(e, PARAMS).sessions)
    only_a = e[e["account"] == "a"]
    # removing other accounts' rows (which also leaves gaps in seq) changes no session of "a"
    sub = canon(sessionize(only_a, PARAMS).sessions)
    mine = whole[whole["account"] == "a"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, sub)


def reference_partition(e: pd.DataFrame, p: SessionParams) -> set[frozenset[int]]:
    """The rules of labforensics.sessions, one event at a time (slow, obvious)."""
    e = e[(e["action"] != "login_failed") & e["account"].notna()]  # no account: no session
    e = e.sort_values(["ts", "seq"], kind="stable")
    groups: dict[tuple, list] = {}
    for r in e.itertuples():
        if pd.notna(r.app_session):
            key = ("app", r.app_session)
        elif pd.notna(r.host):
            key = ("host", r.host)
        elif pd.notna(r.src_ip):
            key = ("ip", r.src_ip)
        else:
            key = ("none",)
        groups.setdefault((r.lab, r.account, key), []).append(r)
    out = set()
    for (_, _, key), rows in groups.items():
        cur, start, prev = [], None, None
        for r in rows:
            new = prev is None or (
                prev.action == "logout"
                or (key[0] != "app" and r.ts - prev.ts > p.idle_timeout)
                or r.ts - start > p.max_duration
                or r.action == "login"
            )
            if new:
                if cur:
                    out.add(frozenset(cur))
                cur, start = [], r.ts
            cur.append(r.seq)
            prev = r
        out.add(frozenset(cur))
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evidence)
def test_matches_reference_implementation(rows):
    e = build(rows)
    s = sessionize(e, PARAMS)
    ev = s.events[s.events["session_id"].notna()]
    ours = {frozenset(g["seq"]) for _, g in ev.groupby("session_id")}
    assert ours == reference_partition(e, PARAMS)
