"""Tests of labforensics.sessionize: shared cases 001/002 and one test per rule."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.errors import ParameterError, SchemaError
from labforensics.schema import SESSION_DTYPES, coerce_events, validate_sessions
from labforensics.sessions import SessionParams, Sessions, sessionize

T0 = pd.Timestamp("2024-03-04 08:00", tz="UTC")


def ev(rows: list[dict]) -> pd.DataFrame:
    """Canonical event table from short dicts; defaults fill the required columns.

    ``t`` is minutes after T0 (or a Timestamp); ``seq`` defaults to row order.
    """
    base = {
        "ts_quality": "exact",
        "lab": "L01",
        "site": "S1",
        "account": "tech.a1",
        "role": "TECHNICIEN",
        "account_kind": "staff",
        "host": "PC-1",
        "src_ip": "10.0.0.1",
        "module": "RESULTATS",
        "action": "read",
        "outcome": "success",
        "source_format": "test",
        "source_file": "f.csv",
    }
    out = []
    for i, r in enumerate(rows):
        d = {**base, **r}
        t = d.pop("t", 0)
        d["ts"] = t if isinstance(t, pd.Timestamp) else T0 + pd.Timedelta(minutes=t)
        d.setdefault("seq", i)
        d.setdefault("source_line", i + 2)
        if d["action"] == "login_failed":
            d["outcome"] = "failure"
        out.append(d)
    return coerce_events(pd.DataFrame(out))


def one(s: Sessions, **match) -> pd.Series:
    t = s.sessions
    for k, v in match.items():
        t = t[t[k] == v]
    assert len(t) == 1, t
    return t.iloc[0]


# --------------------------------------------------------------------------- shared cases


def case001_events() -> pd.DataFrame:
    """Case 001 as read: UTC instants from expected.md (fall-back hour resolved)."""
    utc = ["2019-10-26 23:55", "2019-10-27 00:20", "00:45", "01:10", "01:35", "02:02"]
    utc = [pd.Timestamp(u if " " in u else "2019-10-27 " + u, tz="UTC") for u in utc]
    acts = ["login", "read", "read", "print", "read", "logout"]
    q = ["exact"] + ["ambiguous_resolved"] * 4 + ["exact"]
    pats = [None, "p1", "p2", "p2", "p3", None]
    rows = [
        dict(t=t, action=a, ts_quality=qq, patient=pp, host="PC-L01-S1-01", src_ip="10.1.0.21")
        for t, a, qq, pp in zip(utc, acts, q, pats, strict=True)
    ]
    return ev(rows)


def case002_events() -> pd.DataFrame:
    """Case 002 as read: the two daily files, local CEST converted to UTC (-2 h)."""

    def t(s: str) -> pd.Timestamp:
        return pd.Timestamp(s, tz="UTC")

    sec = dict(account="sec.b2", role="SECRETAIRE", host="PC-L01-S1-02", src_ip="10.1.0.22")
    bio = dict(account="bio.c3", role="BIOLOGISTE", host="PC-L01-S1-03", src_ip="10.1.0.23")
    return ev(
        [
            dict(t=t("2019-06-30 06:00"), action="login", module="ADMIN", **sec),
            dict(t=t("2019-06-30 06:05"), action="update", module="SAISIE", patient="p10", **sec),
            dict(t=t("2019-06-30 06:20"), action="read", module="SAISIE", patient="p11", **sec),
            dict(t=t("2019-06-30 21:40"), action="login", module="ADMIN", **bio),
            dict(t=t("2019-06-30 22:05"), action="export", records=120, **bio),
            dict(t=t("2019-06-30 22:25"), action="logout", module="ADMIN", **bio),
            dict(t=t("2019-07-01 05:55"), action="read", module="SAISIE", patient="p12", **sec),
        ]
    )


def _read_case(case_dir, test_key, name: str) -> pd.DataFrame:
    """Events of a shared case read from its evidence files by read_evidence."""
    from labforensics.ingest import read_evidence

    return read_evidence(case_dir(name), case_key=test_key).events


def check_case001(s: Sessions) -> None:
    r = one(s, account="tech.a1")
    # expected.md: one session 23:55 -> 02:02 UTC, 2 h 07 min real time, login -> logout.
    assert len(s.sessions) == 1
    assert r["start"] == pd.Timestamp("2019-10-26 23:55", tz="UTC")
    assert r["end"] == pd.Timestamp("2019-10-27 02:02", tz="UTC")
    assert r["duration_s"] == 7620.0
    assert (r["start_reason"], r["end_reason"], r["n_events"]) == ("login", "logout", 6)
    assert (r["n_read"], r["n_print"], r["distinct_patients"]) == (3, 1, 3)


def check_case002(s: Sessions) -> None:
    sec = s.sessions[s.sessions["account"] == "sec.b2"].reset_index(drop=True)
    # expected.md: 06:00-06:20 UTC idle_timeout (1,200 s, not 23 h 55), then an implicit
    # 0 s session at 05:55 UTC on 1 July ending with the data.
    assert len(sec) == 2
    assert sec.loc[0, "start"] == pd.Timestamp("2019-06-30 06:00", tz="UTC")
    assert sec.loc[0, "end"] == pd.Timestamp("2019-06-30 06:20", tz="UTC")
    assert (sec.loc[0, "duration_s"], sec.loc[0, "n_events"]) == (1200.0, 3)
    assert (sec.loc[0, "start_reason"], sec.loc[0, "end_reason"]) == ("login", "idle_timeout")
    assert sec.loc[1, "start"] == pd.Timestamp("2019-07-01 05:55", tz="UTC")
    assert (sec.loc[1, "duration_s"], sec.loc[1, "n_events"]) == (0.0, 1)
    assert (sec.loc[1, "start_reason"], sec.loc[1, "end_reason"]) == ("implicit", "end_of_data")
    bio = one(s, account="bio.c3")
    # expected.md: 21:40-22:25 UTC across the two daily files, 2,700 s, export of 120.
    assert bio["start"] == pd.Timestamp("2019-06-30 21:40", tz="UTC")
    assert (bio["duration_s"], bio["n_events"], bio["records_exported"]) == (2700.0, 3, 120)
    assert (bio["start_reason"], bio["end_reason"]) == ("login", "logout")
    assert len(s.sessions) == 3


def test_case001_fallback_hour_hand_built(case_dir):
    case_dir("001-fallback-hour")  # skip without ../shared, like the read_evidence twin
    check_case001(sessionize(case001_events()))


def test_case002_missing_logout_midnight_hand_built(case_dir):
    case_dir("002-missing-logout-midnight")
    check_case002(sessionize(case002_events()))


def test_case001_via_read_evidence(case_dir, test_key):
    check_case001(sessionize(_read_case(case_dir, test_key, "001-fallback-hour")))


def test_case002_via_read_evidence(case_dir, test_key):
    check_case002(sessionize(_read_case(case_dir, test_key, "002-missing-logout-midnight")))


# --------------------------------------------------------------------------- output shape


def test_schema_and_events_column():
    s = sessionize(case002_events())
    validate_sessions(s.sessions)
    assert {c: str(d) for c, d in s.sessions.dtypes.items()} == {
        c: str(d) for c, d in SESSION_DTYPES.items()
    }
    # every event carries the id of its session; 7 events, 3 sessions
    assert s.events["session_id"].notna().all()
    counts = s.events["session_id"].value_counts()
    assert sorted(counts.tolist()) == [1, 3, 3]
    assert set(counts.index) == set(s.sessions["session_id"])
    assert s.sessions["session_id"].str.fullmatch(r"[0-9a-f]{16}").all()


def test_empty_input():
    s = sessionize(ev([]))
    assert len(s.sessions) == 0 and list(s.sessions.columns) == list(SESSION_DTYPES)
    assert "session_id" in s.events.columns


def test_only_failed_logins_make_no_session():
    s = sessionize(ev([dict(t=0, action="login_failed"), dict(t=1, action="login_failed")]))
    assert len(s.sessions) == 0 and s.events["session_id"].isna().all()


def test_non_canonical_input_is_refused():
    with pytest.raises(SchemaError, match="coerce_events"):
        sessionize(pd.DataFrame({"ts": [T0]}))


def test_params_validation_and_strings():
    p = SessionParams(idle_timeout="10min", max_duration="2h")
    assert p.idle_timeout == pd.Timedelta(minutes=10)
    with pytest.raises(ParameterError):
        SessionParams(idle_timeout="-5min")
    with pytest.raises(ParameterError):
        SessionParams(by=("account",))
    with pytest.raises(ParameterError, match=r"SessionParams\.idle_timeout = 30 is a bare number"):
        SessionParams(idle_timeout=30)  # 30 what? pd.Timedelta would read nanoseconds
    assert SessionParams(by=["lab", "account", "site"]).by == ("lab", "account", "site")


def test_by_extra_column_splits_further():
    rows = [dict(t=0, action="login", site="S1"), dict(t=1, site="S2"), dict(t=2, site="S1")]
    # default: one account at one lab, host PC-1 -> one session
    assert len(sessionize(ev(rows)).sessions) == 1
    s = sessionize(ev(rows), SessionParams(by=("lab", "account", "site")))
    assert sorted(s.sessions["n_events"].tolist()) == [1, 2]


# --------------------------------------------------------------------------- login/idle rules


def test_idle_gap_closes_and_end_is_last_event():
    s = sessionize(ev([dict(t=0, action="login"), dict(t=10), dict(t=41)]))
    a, b = s.sessions.iloc[0], s.sessions.iloc[1]
    # gap 31 min > 30: end at the 10-min event, not at the timeout
    assert a["end"] == T0 + pd.Timedelta(minutes=10) and a["end_reason"] == "idle_timeout"
    assert (b["start_reason"], b["end_reason"], b["n_events"]) == ("implicit", "end_of_data", 1)


def test_gap_equal_to_idle_timeout_does_not_split():
    s = sessionize(ev([dict(t=0, action="login"), dict(t=30), dict(t=60, action="logout")]))
    # exactly 30 min is not "longer than" the timeout
    assert len(s.sessions) == 1 and s.sessions["duration_s"].iloc[0] == 3600.0


def test_next_login_closes_open_session():
    s = sessionize(ev([dict(t=0, action="login"), dict(t=5), dict(t=7, action="login")]))
    assert s.sessions["end_reason"].tolist() == ["next_login", "end_of_data"]
    assert s.sessions["n_events"].tolist() == [2, 1]


def test_logout_closes_and_next_event_is_implicit():
    s = sessionize(ev([dict(t=0, action="login"), dict(t=1, action="logout"), dict(t=2)]))
    assert s.sessions["end_reason"].tolist() == ["logout", "end_of_data"]
    assert s.sessions["start_reason"].tolist() == ["login", "implicit"]


def test_implicit_session_without_login():
    s = sessionize(ev([dict(t=0), dict(t=3, action="export", records=7)]))
    r = s.sessions.iloc[0]
    assert (r["start_reason"], r["n_events"], r["records_exported"]) == ("implicit", 2, 7)


def test_host_missing_falls_back_to_src_ip():
    rows = [
        dict(t=0, action="login", host=None, src_ip="10.9.9.9"),
        dict(t=1, host=None, src_ip="10.9.9.9"),
        dict(t=2, host=None, src_ip="10.8.8.8"),  # another address: another session
    ]
    s = sessionize(ev(rows))
    assert sorted(s.sessions["n_events"].tolist()) == [1, 2]
    two = one(s, n_events=2)
    # multi-valued cells are Arrow lists: no host -> the empty list, its count 0
    assert (list(two["src_ips"]), two["n_hosts"], list(two["hosts"])) == (["10.9.9.9"], 0, [])


def test_max_duration_splits_long_activity():
    # an event every 20 min for 26 h: idle never fires, max_duration (12 h) does
    rows = [dict(t=0, action="login")] + [dict(t=20 * k) for k in range(1, 79)]
    s = sessionize(ev(rows))
    d = s.sessions
    assert (d["duration_s"] <= 12 * 3600).all()
    # 0..720 min is one session (720 - 0 = 12 h is not more than 12 h), then 740..1460, 1480..1560
    assert d["n_events"].tolist() == [37, 37, 5]
    assert d["end_reason"].tolist() == ["max_duration", "max_duration", "end_of_data"]
    assert d["start_reason"].tolist() == ["login", "implicit", "implicit"]


def test_concurrent_sessions_shared_account():
    rows = [
        dict(t=0, action="login", host="PC-A"),
        dict(t=5, action="login", host="PC-B"),
        dict(t=10, host="PC-A"),
        dict(t=20, host="PC-B"),
        dict(t=25, action="logout", host="PC-A"),
        dict(t=50, action="logout", host="PC-B"),
        dict(t=100, action="login", host="PC-C"),  # after both: no overlap
        dict(t=101, action="logout", host="PC-C"),
        dict(t=30, account="other", action="login"),  # another account never counts
    ]
    s = sessionize(ev(rows))
    d = s.sessions.assign(host=s.sessions["hosts"].list[0]).set_index("host")
    a = d[d["account"] == "tech.a1"]
    assert a.loc["PC-A", "concurrent_sessions"] == 1
    assert a.loc["PC-B", "concurrent_sessions"] == 1
    assert a.loc["PC-C", "concurrent_sessions"] == 0
    assert a.loc["PC-A", "end_reason"] == "logout"


def test_failed_logins_counted_and_excluded():
    rows = [
        dict(t=0, action="login_failed", host=None),  # from the session's 10.0.0.1
        dict(t=1, action="login_failed", src_ip=None, host=None),  # address unknown: counted
        dict(t=2, action="login_failed", src_ip="10.6.6.7", host=None),  # other address: never
        dict(t=3, action="login"),
        dict(t=4, action="logout"),
        dict(t=10, action="login_failed"),  # 60 min before the next login: outside 30 min
        dict(t=70, action="login"),
        dict(t=71, action="logout"),
    ]
    s = sessionize(ev(rows))
    d = s.sessions
    assert d["failed_logins_before"].tolist() == [2, 0]
    assert d["failed_login_src_ips"].tolist() == [1, 0]  # 10.0.0.1 (the unknown one is not one)
    assert d["n_events"].tolist() == [2, 2]  # failures are in no session
    e = s.events
    assert e.loc[e["action"] == "login_failed", "session_id"].isna().all()
    assert e.loc[e["action"] != "login_failed", "session_id"].notna().all()
    # a longer window reaches the 10-min failure, never the 10.6.6.7 one (68 min before)
    s2 = sessionize(ev(rows), SessionParams(failed_login_window="2h"))
    assert s2.sessions["failed_logins_before"].tolist() == [2, 1]


def test_failed_login_counted_once_on_next_session():
    rows = [
        dict(t=0, action="login_failed"),
        dict(t=1, action="login", host="PC-A"),
        dict(t=2, action="login", host="PC-B"),
    ]
    s = sessionize(ev(rows))
    assert s.sessions["failed_logins_before"].tolist() == [1, 0]


# --------------------------------------------------------------------------- app sessions


def test_app_id_spans_long_silence():
    rows = [
        dict(t=0, action="login", app_session="A1"),
        dict(t=5, app_session="A1"),
        dict(t=185, app_session="A1"),  # 3 h silence: the id is authoritative
        dict(t=190, action="logout", app_session="A1"),
    ]
    s = sessionize(ev(rows))
    r = one(s, app_session="A1")
    assert (r["n_events"], r["duration_s"], r["end_reason"]) == (4, 190 * 60.0, "logout")


def test_app_id_reuse_after_logout():
    rows = [
        dict(t=0, action="login", app_session="7"),
        dict(t=1, action="logout", app_session="7"),
        dict(t=60, app_session="7"),  # daily counter reused: a new session
        dict(t=61, app_session="7"),
    ]
    s = sessionize(ev(rows))
    d = s.sessions
    assert d["n_events"].tolist() == [2, 2]
    assert d["start_reason"].tolist() == ["login", "app_session"]
    assert d["session_id"].nunique() == 2


def test_app_id_reuse_beyond_max_duration():
    rows = [
        dict(t=0, action="login", app_session="7"),
        dict(t=10, app_session="7"),
        dict(t=24 * 60 + 5, app_session="7"),  # next day, same counter, no logout seen
    ]
    s = sessionize(ev(rows))
    assert s.sessions["end_reason"].tolist() == ["max_duration", "end_of_data"]
    assert s.sessions["n_events"].tolist() == [2, 1]


def test_app_and_batch_events_follow_their_own_rules():
    rows = [
        dict(t=0, action="login", app_session="X"),
        dict(t=1, app_session="X"),
        dict(t=2, host="SRV-1", src_ip=None, account="svc", role="INTERFACE"),  # batch: no id
        dict(t=100, host="SRV-1", src_ip=None, account="svc", role="INTERFACE"),
        dict(t=120, app_session="X"),
    ]
    s = sessionize(ev(rows))
    assert one(s, app_session="X")["n_events"] == 3
    svc = s.sessions[s.sessions["account"] == "svc"]
    assert svc["end_reason"].tolist() == ["idle_timeout", "end_of_data"]


def test_app_session_change_on_same_workstation():
    rows = [
        dict(t=0, action="login", app_session="1"),
        dict(t=5, app_session="1"),
        dict(t=6, action="login", app_session="2"),
        dict(t=9, app_session="2"),
    ]
    s = sessionize(ev(rows))
    assert s.sessions["end_reason"].tolist() == ["app_session_change", "end_of_data"]


# --------------------------------------------------------------------------- aggregates, ids


def test_aggregates():
    rows = [
        dict(t=0, action="login", module="ADMIN", host="PC-B"),
        dict(t=1, action="export", records=10, bytes=1000, patient="p1", module="RESULTATS"),
        dict(t=2, action="extract", records=5, bytes=500, patient="p2", module="EXTRACTION"),
        dict(t=3, action="read", patient="p1", role="BIOLOGISTE", src_ip="10.0.0.2"),
        dict(t=4, action="read", patient="p1", role="BIOLOGISTE", account_kind="vendor"),
    ]
    for r in rows:
        r["host"] = "PC-B"
    r = sessionize(ev(rows)).sessions.iloc[0]
    assert (r["records_exported"], r["records_extracted"], r["bytes_out"]) == (10, 5, 1500)
    assert r["distinct_patients"] == 2  # p1 three times, p2 once
    # sorted distinct values as a list; n_* is its length
    assert (list(r["modules"]), r["n_modules"]) == (["ADMIN", "EXTRACTION", "RESULTATS"], 3)
    assert (list(r["src_ips"]), r["n_src_ips"]) == (["10.0.0.1", "10.0.0.2"], 2)
    # TECHNICIEN 3 times vs BIOLOGISTE 2: most frequent; staff 4 vs vendor 1
    assert (r["role"], r["account_kind"]) == ("TECHNICIEN", "staff")
    assert (r["n_login"], r["n_export"], r["n_extract"], r["n_read"]) == (1, 1, 1, 2)


def test_role_tie_goes_to_first_seen():
    rows = [dict(t=0, role="B"), dict(t=1, role="A"), dict(t=2, role=None)]
    assert sessionize(ev(rows)).sessions["role"].iloc[0] == "B"


def test_session_id_stable_under_unrelated_accounts():
    base = case002_events()
    ids = set(sessionize(base).sessions["session_id"])
    extra = ev(
        [dict(t=pd.Timestamp("2019-06-30 06:10", tz="UTC"), account="zz", seq=-5)]
        + [dict(t=pd.Timestamp("2019-06-30 21:00", tz="UTC"), account="yy", lab="L02", seq=99)]
    )
    # seq of the original rows shifted by adding rows: ids must not move
    shifted = base.assign(seq=base["seq"] * 3 + 1)
    both = pd.concat([shifted, extra], ignore_index=True)
    ids2 = set(sessionize(both).sessions["session_id"])
    assert ids <= ids2 and len(ids2) == len(ids) + 2


def test_input_order_does_not_matter():
    e = case002_events()
    a = sessionize(e)
    b = sessionize(e.sample(frac=1, random_state=3))
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    pd.testing.assert_frame_equal(a.events, b.events)


def test_equal_timestamps_keep_evidence_order():
    # logout and the next action share a second: seq decides which comes first
    rows = [
        dict(t=0, action="login", seq=0),
        dict(t=1, action="logout", seq=1),
        dict(t=1, action="read", seq=2),
    ]
    s = sessionize(ev(rows))
    assert s.sessions["n_events"].tolist() == [2, 1]
    rows[1]["seq"], rows[2]["seq"] = 2, 1  # read written first: it is inside the session
    s = sessionize(ev(rows))
    assert s.sessions["n_events"].tolist() == [3]


def test_fall_back_duration_is_real_time():
    # 00:50 -> 01:10 UTC crosses the 2019-10-27 Paris fall-back: 20 min, not 80 or -40
    rows = [
        dict(t=pd.Timestamp("2019-10-27 00:50", tz="UTC"), action="login"),
        dict(t=pd.Timestamp("2019-10-27 01:10", tz="UTC"), action="logout"),
    ]
    assert sessionize(ev(rows)).sessions["duration_s"].tolist() == [1200.0]


def test_events_output_sorted_by_ts_seq():
    s = sessionize(case002_events().iloc[::-1])
    # reversed input comes back in evidence order (distinct ts here, so seq 0..6)
    assert s.events["ts"].is_monotonic_increasing
    assert s.events["seq"].tolist() == list(range(7))


# --------------------------------------------------------------------------- generated evidence


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A small synthetic case (2 labs, 7 weeks around the 2019 fall-back, artefacts on)."""
    from labforensics.ingest import read_evidence
    from labforensics.privacy import CaseKey
    from labforensics.synth import generate

    out = tmp_path_factory.mktemp("synth")
    r = generate(out, labs=2, start="2019-09-20", end="2019-11-10", seed=7, scale=0.3)
    events = read_evidence(r.evidence, case_key=CaseKey(bytes(range(32)))).events
    truth = pd.read_parquet(r.truth_sessions)
    tev = pd.read_parquet(r.truth_events)
    return sessionize(events), truth, tev


def test_generated_sessions_recovered_exactly(generated):
    s, truth, _ = generated
    key = ["lab", "account", "start", "end", "n_events"]
    ours = s.sessions[key].astype({"lab": str, "account": str}).assign(found=True)
    m = truth[key].astype({"lab": str, "account": str}).merge(ours, on=key, how="left")
    found = m["found"].fillna(False).astype(bool).to_numpy()
    intact = (truth["n_lost"] == 0).to_numpy()
    # The generator keeps gaps inside a session under 25 min and between sessions of an
    # account over 35 min, sessions under 12 h, and app ids unique per open session
    # (synth.model.build_sessions): every session whose events all reached the evidence
    # must come out exactly (same account, start, end, event count).
    assert found[intact].all(), truth[intact & ~found].head()
    # Sessions that lost events to the injected artefacts (truncated gzip, cut lines)
    # cannot match; measured share here 100 % (99.9 % on 4 labs x 22 months, seed 3,
    # all 9 misses had lost events).
    assert found.mean() >= (intact.mean() - 1e-12) and found.mean() >= 0.99
    assert len(truth) > 300  # the case is not trivially small


def test_generated_partition_matches_truth(generated):
    s, _, tev = generated
    tev = tev[(tev["session"] >= 0) & ~tev["lost"]]
    ours = s.events[["source_file", "source_line", "session_id"]].astype(
        {"source_file": str, "source_line": "int64"}
    )
    j = tev[["source_file", "source_line", "session"]].merge(
        ours, on=["source_file", "source_line"], how="left", validate="one_to_one"
    )
    # every surviving event of a generator session is in one of ours, the same one as its
    # session-mates, and none of ours mixes two generator sessions
    assert j["session_id"].notna().all()
    assert (j.groupby("session")["session_id"].nunique() == 1).all()
    assert (j.groupby("session_id")["session"].nunique() == 1).all()
