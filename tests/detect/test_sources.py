"""score_sources: authentication attacks ranked by source address (hand-counted values)."""

from __future__ import annotations

import json
import math
from functools import cache

import pandas as pd
import pytest

from conftest import shared_path
from labforensics.detect import SourceParams, score_sources
from labforensics.errors import ParameterError, SchemaError

from .conftest import make_events

T0 = pd.Timestamp("2020-03-02 02:00", tz="UTC")


def _hand_events() -> pd.DataFrame:
    rows = []
    # A 203.0.113.5 @L01: 12 failures 2 minutes apart on admin/root/test, then a success
    for i in range(12):
        rows.append({"ts": T0 + pd.Timedelta(minutes=2 * i), "src_ip": "203.0.113.5",
                     "account": ("admin", "root", "test")[i % 3], "action": "login_failed",
                     "outcome": "failure"})  # fmt: skip
    rows.append({"ts": T0 + pd.Timedelta(minutes=30), "src_ip": "203.0.113.5",
                 "account": "jdupont", "action": "login"})  # fmt: skip
    # B 198.51.100.7: 30 failures on root, 20 minutes apart (never more than 3 in an hour)
    for i in range(30):
        rows.append({"ts": T0 + pd.Timedelta(minutes=20 * i), "src_ip": "198.51.100.7",
                     "account": "root", "action": "login_failed", "outcome": "failure"})  # fmt: skip
    # C 192.0.2.9: 10 failures one second apart, ten accounts
    for i in range(10):
        rows.append({"ts": T0 + pd.Timedelta(seconds=i), "src_ip": "192.0.2.9",
                     "account": f"u{i}", "action": "login_failed", "outcome": "failure"})  # fmt: skip
    # D 10.0.0.1: a success at 08:00, a failed login (action login, outcome failure: not a
    # login_failed event) and one login_failed at 09:00 -> success before the first failure
    rows += [
        {"ts": T0 + pd.Timedelta(hours=6), "src_ip": "10.0.0.1", "account": "jdupont",
         "action": "login"},
        {"ts": T0 + pd.Timedelta(hours=6, minutes=30), "src_ip": "10.0.0.1",
         "account": "jdupont", "action": "login", "outcome": "failure"},
        {"ts": T0 + pd.Timedelta(hours=7), "src_ip": "10.0.0.1", "account": "jdupont",
         "action": "login_failed", "outcome": "failure"},
    ]  # fmt: skip
    # the address of A in another lab: a row of its own
    rows.append({"ts": T0, "lab": "L02", "src_ip": "203.0.113.5", "account": "admin",
                 "action": "login_failed", "outcome": "failure"})  # fmt: skip
    # no address, or no authentication: no row
    rows.append({"ts": T0, "src_ip": None, "account": "x", "action": "login_failed",
                 "outcome": "failure"})  # fmt: skip
    rows.append({"ts": T0, "src_ip": "10.0.0.99", "account": "jdupont", "action": "read"})
    return make_events(rows)


def test_hand_built_counts_and_order():
    s = score_sources(_hand_events())
    got = s[["rank", "lab", "src_ip", "failed_logins", "distinct_accounts_tried", "successes",
             "accounts_succeeded", "success_after_failures", "failures_before_success",
             "peak_failures_per_hour", "flagged"]].values.tolist()  # fmt: skip
    # scores use the peak, not the total: A ln13+ln4+3=6.95 (12 failures in the hour before
    # its success), C ln11+ln11=4.80, B ln4+ln2=2.08 (30 failures but never more than 3 in an
    # hour: windows are [t, t+60min), so the failure at +60 min falls outside), D and A@L02
    # ln2+ln2=1.39 (tie: same failures, src_ip "10.0.0.1" < "203.0.113.5"); D's success comes
    # before its failure, so no failure precedes a success
    assert got == [
        [1, "L01", "203.0.113.5", 12, 3, 1, "jdupont", True, 12, 12, True],
        [2, "L01", "192.0.2.9", 10, 10, 0, "", False, 0, 10, True],
        [3, "L01", "198.51.100.7", 30, 1, 0, "", False, 0, 3, False],
        [4, "L01", "10.0.0.1", 1, 1, 1, "jdupont", False, 0, 1, False],
        [5, "L02", "203.0.113.5", 1, 1, 0, "", False, 0, 1, False],
    ]
    assert s["score"].tolist() == pytest.approx(
        [math.log(13) + math.log(4) + 3, 2 * math.log(11), math.log(4) + math.log(2),
         2 * math.log(2), 2 * math.log(2)]
    )  # fmt: skip
    a = s.iloc[0]
    # first failure 02:00, the success at 02:30 is the last event
    assert (a["first"], a["last"]) == (T0, T0 + pd.Timedelta(minutes=30))
    assert a["reasons"] == (
        "12 failed logins on 3 accounts, peak 12/hour; "
        "then a success as jdupont, after 12 failures within 60min before"
    )
    assert s.iloc[3]["reasons"] == (
        "1 failed login on 1 account, peak 1/hour; 1 success as jdupont, none right after a failure"
    )
    assert str(s["first"].dtype) == "datetime64[ns, UTC]"


def test_params_move_the_flags():
    ev = _hand_events()
    # B (30 failures, peak 3/hour) is flagged once a burst means 3 an hour
    s = score_sources(ev, SourceParams(min_peak_per_hour=3))
    assert s.loc[s["src_ip"] == "198.51.100.7", "flagged"].item()
    # with a 7-hour window, B's peak is 21 (failures at 0, 20, ..., 400 minutes)
    s = score_sources(ev, SourceParams(window="7h"))
    assert s.loc[s["src_ip"] == "198.51.100.7", "peak_failures_per_hour"].item() == 21
    with pytest.raises(ParameterError):
        SourceParams(window="soon")
    with pytest.raises(ParameterError):
        SourceParams(min_failed=0)


def test_empty_and_missing_columns():
    ev = _hand_events()
    # no authentication event with an address: an empty table with the columns
    s = score_sources(ev[ev["action"] == "read"])
    assert s.empty and list(s.columns)[:3] == ["rank", "lab", "src_ip"]
    with pytest.raises(SchemaError):
        score_sources(ev.drop(columns=["src_ip"]))


# --- the real loghub logs -------------------------------------------------------------------


@cache
def _real(name: str) -> pd.DataFrame:
    from labforensics.ingest import read_evidence

    path = shared_path("data", "real", "auth-syslog", "loghub", name)
    return read_evidence(path, year=2005, lab="LABSZ", case_key=bytes(range(32))).events


def test_openssh_brute_force_sources_rank_first():
    s = score_sources(_real("OpenSSH_2k.log"))
    # failed logins per address = "Failed password" counts of tests/ingest/test_real_logs.py
    # plus 183.62.140.253's PAM failure on the last line (sshd[25544] never logs "Failed")
    # and the "Failed none" lines (5.188.10.180 x2, 185.190.58.151, 181.214.87.4)
    top = s.head(6)[["src_ip", "failed_logins", "flagged"]].values.tolist()
    assert top[:3] == [
        ["183.62.140.253", 286 + 1, True],
        ["187.141.143.180", 80, True],
        ["103.99.0.122", 46, True],
    ]
    # the six addresses with 17+ failed passwords are the top six and the only ones flagged
    assert {r[0] for r in top} == {"183.62.140.253", "187.141.143.180", "103.99.0.122",
                                   "112.95.230.3", "5.188.10.180", "185.190.58.151"}  # fmt: skip
    assert s["flagged"].sum() == 6
    by = s.set_index("src_ip")
    assert by.loc["5.188.10.180", "failed_logins"] == 18 + 2
    # 23 "Failed password" addresses + 181.214.87.4 ("Failed none") + the accepted login's
    assert len(s) == 25
    assert s["failed_logins"].sum() == 528 + 4 + 1
    # 119.137.62.142 logged in once (fztu) and never failed: not an attack
    ok = by.loc["119.137.62.142"]
    assert (ok["failed_logins"], ok["successes"], ok["accounts_succeeded"]) == (0, 1, "fztu")
    assert not ok["success_after_failures"] and not ok["flagged"]
    # 183.62.140.253: every failure within 10:54:29-11:04:43 local, so its peak is all of them
    assert by.loc["183.62.140.253", "peak_failures_per_hour"] == 287


def test_linux_top_source():
    s = score_sources(_real("Linux_2k.log"))
    # 80 PAM failures from 150.183.249.110 (tests/ingest/test_real_logs.py), all on one account
    first = s.iloc[0]
    assert (first["src_ip"], first["failed_logins"], first["flagged"]) == (
        "150.183.249.110",
        80,
        True,
    )
    # 490 PAM failures + 23 klogind, all but one with an rhost
    assert s["failed_logins"].sum() == 513 - 1


def test_investigate_puts_brute_force_first(tmp_path):
    import labforensics as lf

    path = shared_path("data", "real", "auth-syslog", "loghub", "OpenSSH_2k.log")
    (tmp_path / "case.key").write_text(bytes(range(32)).hex() + "\n")
    case = tmp_path / "case.toml"
    case.write_text('[case]\nname = "OpenSSH"\nkey_file = "case.key"\n'
                    '[ingest]\nyear = 2005\nlab = "LABSZ"\n')  # fmt: skip
    res = lf.investigate(path, tmp_path / "out", case=case, progress=False)
    f = json.loads((res.out / "findings.json").read_text())
    # the three largest brute-force sources, in order; all 25 addresses, 6 flagged
    assert [r["src_ip"] for r in f["top_sources"][:3]] == [
        "183.62.140.253",
        "187.141.143.180",
        "103.99.0.122",
    ]
    assert (len(f["top_sources"]), f["counts"]["sources"], f["counts"]["flagged_sources"]) == (
        20,
        25,
        6,
    )
    assert f["findings_text"][0].startswith("Authentication attack from 183.62.140.253 at LABSZ")
    assert "183.62.140.253" in res.summary()
    csv = pd.read_csv(res.out / "sources.csv")
    assert len(csv) == 25 and csv["src_ip"].iloc[0] == "183.62.140.253"
    html = (res.out / "report.html").read_text()
    assert "Source addresses ranked by their login attempts" in html  # issue 16: no "attack" title
    # local time with UTC beside: first failure 10:54:29 CET = 09:54:29 UTC
    assert "2005-12-10 10:54:29 CET (09:54:29 UTC)" in html


def test_successes_before_and_after_failures():
    ev = make_events(
        [
            {"ts": T0, "src_ip": "10.0.0.5", "account": "hugo.h", "action": "login"},
            {"ts": T0 + pd.Timedelta(minutes=5), "src_ip": "10.0.0.5", "account": "hugo.h",
             "action": "login_failed", "outcome": "failure"},
            {"ts": T0 + pd.Timedelta(minutes=6), "src_ip": "10.0.0.5", "account": "hugo.h",
             "action": "login"},
        ]
    )  # fmt: skip
    r = score_sources(ev).iloc[0]
    # the second success (02:06) follows the failure (02:05); one failure is below every flag
    assert (r["successes"], r["success_after_failures"], r["flagged"]) == (2, True, False)
    assert r["failures_before_success"] == 1
    assert r["reasons"] == (
        "1 failed login on 1 account, peak 1/hour; "
        "2 successes as hugo.h, one after 1 failure within 60min before"
    )


def test_years_of_typos_are_not_a_brute_force():
    # a workstation where the user mistypes once a week for two years: 104 failures, each
    # followed by a success a minute later; peak 1/hour and 1 failure before each success,
    # so not flagged, and ranked below a 6-failure burst that ends in a success
    rows = []
    for wk in range(104):
        t = T0 + pd.Timedelta(weeks=wk)
        rows.append({"ts": t, "src_ip": "10.1.0.21", "account": "sec.b2",
                     "action": "login_failed", "outcome": "failure"})  # fmt: skip
        rows.append({"ts": t + pd.Timedelta(minutes=1), "src_ip": "10.1.0.21",
                     "account": "sec.b2", "action": "login"})  # fmt: skip
    for i in range(6):
        rows.append({"ts": T0 + pd.Timedelta(minutes=i), "src_ip": "203.0.113.77",
                     "account": "bio.c3", "action": "login_failed", "outcome": "failure"})  # fmt: skip
    rows.append({"ts": T0 + pd.Timedelta(minutes=7), "src_ip": "203.0.113.77",
                 "account": "bio.c3", "action": "login"})  # fmt: skip
    s = score_sources(make_events(rows)).set_index("src_ip")
    typo, burst = s.loc["10.1.0.21"], s.loc["203.0.113.77"]
    assert (typo["failed_logins"], typo["peak_failures_per_hour"]) == (104, 1)
    assert (typo["failures_before_success"], typo["flagged"]) == (1, False)
    assert (burst["failures_before_success"], burst["flagged"]) == (6, True)
    assert burst["rank"] < typo["rank"]


def test_case_file_sources_section_sets_the_thresholds(tmp_path):
    # a [sources] section in case.toml reaches SourceParams (unknown sections are refused)
    from labforensics.case import load_case, params_from_case
    from labforensics.detect import SourceParams

    (tmp_path / "case.toml").write_text("[sources]\nmin_failed = 3\n", encoding="utf-8")
    p = params_from_case(SourceParams, load_case(tmp_path / "case.toml"), "sources")
    assert p.min_failed == 3 and p.min_peak_per_hour == SourceParams().min_peak_per_hour
