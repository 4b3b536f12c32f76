"""Failed logins belong to a session only when account, address and service agree (issue 14).

Hand-counted cases on small tables, then the loghub Linux log (``../shared``)
where an FTP connection flood without an account was credited with another
address's failures and ranked first.
"""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from conftest import shared_path
from labforensics.schema import coerce_events
from labforensics.sessions import SessionParams, sessionize

T0 = pd.Timestamp("2024-03-04 08:00", tz="UTC")


def ev(rows: list[dict]) -> pd.DataFrame:
    """Canonical events: ``t`` minutes after T0; one account over SSH from 10.0.0.1 by default."""
    base = {
        "ts_quality": "exact",
        "lab": "L01",
        "account": "svc.a",
        "account_kind": "unknown",
        "host": None,
        "src_ip": "10.0.0.1",
        "module": "SSHD",
        "action": "read",
        "outcome": "success",
        "source_format": "test",
        "source_file": "auth.log",
    }
    out = []
    for i, r in enumerate(rows):
        d = {**base, **r}
        d["ts"] = T0 + pd.Timedelta(minutes=d.pop("t"))
        d["seq"] = i
        d["source_line"] = i + 1
        if d["action"] == "login_failed":
            d["outcome"] = "failure"
        out.append(d)
    return coerce_events(pd.DataFrame(out))


def failures(rows: list[dict], **params) -> list[int]:
    ss = sessionize(ev(rows), SessionParams(**params)).sessions
    return ss["failed_logins_before"].tolist()


def test_failure_from_another_address_is_not_counted():
    rows = [
        dict(t=0, action="login_failed", src_ip="10.6.6.6"),
        dict(t=1, action="login_failed", src_ip="10.6.6.6"),
        dict(t=2, action="login", src_ip="10.0.0.2"),
    ]
    # two failures from 10.6.6.6, the login from 10.0.0.2: not the same party retrying
    assert failures(rows) == [0]


def test_failure_from_the_same_address_is_counted():
    rows = [
        dict(t=0, action="login_failed"),
        dict(t=1, action="login_failed"),
        dict(t=2, action="login_failed", src_ip=None),  # address unknown: may be the same
        dict(t=3, action="login"),
    ]
    ss = sessionize(ev(rows)).sessions
    # 3 failures (2 from 10.0.0.1, 1 from nowhere known) before the 10.0.0.1 login
    assert ss["failed_logins_before"].tolist() == [3]
    assert ss["failed_login_src_ips"].tolist() == [1]


def test_failure_on_another_service_is_not_counted():
    rows = [
        dict(t=0, action="login_failed", module="FTPD"),
        dict(t=1, action="login", module="SSHD"),
    ]
    # an FTP failure says nothing about an SSH login from the same address
    assert failures(rows) == [0]


def test_passed_over_failure_goes_to_next_agreeing_session():
    rows = [
        dict(t=0, action="login_failed", src_ip="10.0.0.9"),
        dict(t=1, action="login", src_ip="10.0.0.2"),
        dict(t=2, action="logout", src_ip="10.0.0.2"),
        dict(t=5, action="login", src_ip="10.0.0.9"),
        dict(t=6, action="logout", src_ip="10.0.0.9"),
        dict(t=50, action="login", src_ip="10.0.0.9"),  # 50 min later: outside the window
    ]
    # the 10.0.0.2 session skips it; the first 10.0.0.9 session (5 min after) counts it
    assert failures(rows) == [0, 1, 0]
    # a window of 4 minutes reaches no agreeing session: counted nowhere
    assert failures(rows, failed_login_window="4min") == [0, 0, 0]


def test_events_without_account_form_no_session():
    rows = [
        dict(t=0, action="login_failed", account=None, src_ip="10.6.6.6"),
        dict(t=1, action="other", account=None, src_ip="10.0.0.7", module="FTPD"),
        dict(t=2, action="other", account=None, src_ip="10.0.0.7", module="FTPD"),
        dict(t=3, action="login", src_ip="10.6.6.6"),
    ]
    s = sessionize(ev(rows))
    # one session (svc.a's login); the account-less failure is credited to nobody
    assert s.sessions["account"].tolist() == ["svc.a"]
    assert s.sessions["failed_logins_before"].tolist() == [0]
    e = s.events
    assert e.loc[e["account"].isna(), "session_id"].isna().all()
    assert e["session_id"].notna().sum() == 1
    # only account-less events: no session at all
    only = sessionize(ev(rows[:3]))
    assert len(only.sessions) == 0 and only.events["session_id"].isna().all()


# --------------------------------------------------------------------------- real logs


@pytest.fixture(scope="module")
def linux_sessions():
    from labforensics import read_evidence

    path = shared_path("data", "real", "auth-syslog", "loghub", "Linux_2k.log")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no case key: random pseudonyms, none used here
        events = read_evidence(path, year=2005).events
    return sessionize(events)


def test_real_linux_log_no_session_without_account(linux_sessions):
    ss, e = linux_sessions.sessions, linux_sessions.events
    assert ss["account"].notna().all()
    assert e.loc[e["account"].isna(), "session_id"].isna().all()
    # the ftpd "connection from 211.72.2.106" flood (lines 823-845) is in no session
    flood = e[e["source_line"].between(823, 845)]
    assert len(flood) == 23 and flood["account"].isna().all()
    assert flood["session_id"].isna().all()


def test_real_linux_log_failures_only_from_the_session_address(linux_sessions):
    ss, e = linux_sessions.sessions, linux_sessions.events
    win = linux_sessions.params.failed_login_window
    fails = e[(e["action"] == "login_failed") & e["account"].notna()]
    first = e[e["session_id"].notna()].groupby("session_id").head(1).set_index("session_id")
    for row in ss[ss["failed_logins_before"] > 0].itertuples():
        # recomputed: failures of this account within the window before the start, from
        # the session's address or none known; never fewer than the count credited
        f = fails[
            (fails["account"] == row.account)
            & (fails["ts"] <= row.start)
            & (fails["ts"] >= row.start - win)
        ]
        ip = first.loc[row.session_id, "src_ip"]
        same = f["src_ip"].isna() | pd.isna(ip) | (f["src_ip"] == ip)
        assert int(same.sum()) >= row.failed_logins_before, row
    # on this log no login follows failures of its account from its own address within
    # 30 min: the 5 credited before were the FTP flood's, from 210.229.150.228
    assert int(ss["failed_logins_before"].sum()) == 0


def test_real_investigation_flags_no_account_less_session(tmp_path):
    from labforensics.case import CaseContext
    from labforensics.demo import REAL_SOURCES
    from labforensics.pipeline import investigate

    src = shared_path("data", "real", "auth-syslog", "loghub")
    name, ingest = REAL_SOURCES["auth-syslog/loghub"]
    case = CaseContext(name="Real public logs", sections={"ingest": ingest})
    res = investigate(src, tmp_path / name, case=case, force=True, progress=False)
    f = json.loads((tmp_path / name / "findings.json").read_text(encoding="utf-8"))
    assert all(s["account"] is not None for s in f["top_sessions"])
    assert not any("(no account)" in t for t in f["findings_text"])
    ss = pd.read_parquet(tmp_path / name / "sessions.parquet")
    assert ss["account"].notna().all()
    # account-less failures still rank their source: 210.229.150.228's 5 "user unknown"
    # PAM failures (lines 814-822) are in sources.csv
    src = pd.read_csv(tmp_path / name / "sources.csv").set_index("src_ip")
    assert src.loc["210.229.150.228", "failed_logins"] == 5
    assert res.findings["counts"]["sessions"] == len(ss)
