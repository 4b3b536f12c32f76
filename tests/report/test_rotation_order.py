"""Rotated files dated against their rotation order are named in the Limits (QA session
15: auth.log.1 of 31 December and auth.log of 1 January, one year given, put the
newer file's events a year early, silently)."""

from __future__ import annotations

import pandas as pd

from labforensics.ingest import read_evidence
from labforensics.privacy import CaseKey
from labforensics.report.rotation_order import rotation_order_limits

KEY = CaseKey(bytes(range(32)))


def _events(spans: dict[str, tuple[str, str]]) -> pd.DataFrame:
    rows = [(f, pd.Timestamp(t, tz="UTC")) for f, (a, b) in spans.items() for t in (a, b)]
    return pd.DataFrame({"lab": "SRV", "source_file": [f for f, _ in rows],
                         "ts": pd.to_datetime([t for _, t in rows], utc=True)})  # fmt: skip


def test_newer_file_ending_before_the_older_begins_is_named():
    ev = _events({"auth.log": ("2019-01-01 00:01", "2019-01-01 00:02"),
                  "auth.log.1": ("2019-12-31 23:58", "2019-12-31 23:59")})  # fmt: skip
    (line,) = rotation_order_limits(ev, "UTC")
    assert line.startswith(
        "rotation order: auth.log (2019-01-01 to 2019-01-01) ends before auth.log.1 "
        "(2019-12-31 to 2019-12-31) begins, though its rotation number makes it the newer file"
    )
    assert "[ingest] year table" in line


def test_dates_shown_in_the_case_time_zone():
    # 23:30 UTC on 31 December is 1 January in Paris: the day shown is the local one
    ev = _events({"auth.log": ("2019-01-01 08:00", "2019-01-01 09:00"),
                  "auth.log.1": ("2019-12-31 23:30", "2019-12-31 23:40")})  # fmt: skip
    (line,) = rotation_order_limits(ev, "Europe/Paris")
    assert "auth.log.1 (2020-01-01 to 2020-01-01)" in line


def test_right_order_overlap_other_folders_and_single_files_say_nothing():
    ev = _events({
        "auth.log": ("2020-01-01 00:01", "2020-01-02 00:00"),  # newest, after .1
        "auth.log.1": ("2019-12-31 23:00", "2020-01-01 00:05"),  # overlaps: not inverted
        "auth.log.2.gz": ("2019-12-24 00:00", "2019-12-31 23:00"),
        "b/secure.1": ("2019-01-01 00:00", "2019-01-02 00:00"),  # no b/secure: alone
        "a/secure": ("2018-01-01 00:00", "2018-01-02 00:00"),  # another folder's series
        "a/secure.1": ("2019-01-01 00:00", "2019-01-02 00:00"),
        "AUDIT_L01_20200101.csv": ("2020-01-01 08:00", "2020-01-01 09:00"),
    })  # fmt: skip
    lines = rotation_order_limits(ev, "UTC")
    assert len(lines) == 1 and lines[0].startswith("rotation order: a/secure (2018-01-01")


def test_series_of_three_each_inverted_pair_named():
    ev = _events({"x.log": ("2019-01-01 00:00", "2019-01-01 01:00"),
                  "x.log.1": ("2019-06-01 00:00", "2019-06-01 01:00"),
                  "x.log.2.gz": ("2019-03-01 00:00", "2019-03-01 01:00")})  # fmt: skip
    lines = rotation_order_limits(ev, "UTC")
    # x.log ends before x.log.1 begins; x.log.1 is after x.log.2.gz: in order
    assert [ln.split(" (")[0] for ln in lines] == ["rotation order: x.log"]


def test_read_with_one_year_then_with_a_year_per_file(tmp_path):
    (tmp_path / "auth.log.1").write_text(
        "Dec 31 23:58:01 srv sshd[100]: Failed password for invalid user admin from "
        "203.0.113.5 port 4000 ssh2\n", encoding="utf-8")  # fmt: skip
    (tmp_path / "auth.log").write_text(
        "Jan  1 00:01:01 srv sshd[102]: Failed password for invalid user root from "
        "203.0.113.5 port 4002 ssh2\n", encoding="utf-8")  # fmt: skip
    one = read_evidence(tmp_path, case_key=KEY, year=2019, lab="SRV", tz="UTC")
    assert len(rotation_order_limits(one.events, "UTC")) == 1
    per_file = read_evidence(tmp_path, case_key=KEY, year={"auth.log.1": 2019, "auth.log": 2020},
                             lab="SRV", tz="UTC")  # fmt: skip
    assert rotation_order_limits(per_file.events, "UTC") == []
    assert per_file.events["ts"].max() == pd.Timestamp("2020-01-01 00:01:01", tz="UTC")
