"""The shared LIS cases (../shared/cases/NNN-*), ingest part: values worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.ingest import read_evidence


def _read(path, test_key, **kw):
    return read_evidence(path, case_key=test_key, **kw)


def _utc(*texts):
    return [pd.Timestamp(t, tz="UTC") for t in texts]


def test_001_fallback_hour(case_dir, test_key):
    ev = _read(case_dir("001-fallback-hour"), test_key)
    e = ev.events
    # expected.md: 6 events, 0 quarantined, second pass after the 02:45 -> 02:10 step
    assert len(e) == 6 and ev.report.quarantined == 0
    assert list(e["ts"]) == _utc(
        "2019-10-26 23:55",
        "2019-10-27 00:20",
        "2019-10-27 00:45",
        "2019-10-27 01:10",
        "2019-10-27 01:35",
        "2019-10-27 02:02",
    )
    assert list(e["ts_quality"]) == ["exact"] + ["ambiguous_resolved"] * 4 + ["exact"]
    steps = e["ts"].diff().dropna().dt.total_seconds().tolist()
    assert steps == [1500, 1500, 1500, 1500, 1620]  # 25 or 27 minutes, strictly increasing
    assert list(e["source_line"]) == [2, 3, 4, 5, 6, 7]


def test_002_ingest_part(case_dir, test_key):
    ev = _read(case_dir("002-missing-logout-midnight"), test_key)
    e = ev.events
    # CEST = UTC+2; the two daily files interleave by time, not by file
    assert list(e["ts"]) == _utc(
        "2019-06-30 06:00",
        "2019-06-30 06:05",
        "2019-06-30 06:20",
        "2019-06-30 21:40",
        "2019-06-30 22:05",
        "2019-06-30 22:25",
        "2019-07-01 05:55",
    )
    assert set(e["ts_quality"]) == {"exact"}
    assert e.loc[e["action"] == "export", "records"].tolist() == [120]


def test_003_cp1252_quoted_text(case_dir, test_key):
    ev = _read(case_dir("003-cp1252-quoted-text"), test_key)
    e = ev.events
    assert len(e) == 2 and ev.report.quarantined == 0
    assert list(e["account"]) == ["hélène.m", "hélène.m"]  # 0xE9 read as cp1252
    assert e["detail"].iloc[0] == (
        'Valeur corrigée; ancien: 5,2\r\nnouveau: 5,4 — l’unité reste g/L, coût 15€ "urgent"'
    )
    assert list(e["source_line"]) == [2, 4]  # first record spans physical lines 2-3


def test_004_repeated_header_and_cut_csv(case_dir, test_key):
    ev = _read(case_dir("004-repeated-header-truncated"), test_key)
    f = {r.source_file: r for r in ev.report.files}
    cur = f["audit_l03_2020-11-02.csv"]
    # 6 rows after the header = 4 events + 1 repeated header + 1 quarantined
    assert (cur.rows_read, cur.events, cur.repeated_headers, cur.quarantined) == (6, 4, 1, 1)
    q = ev.quarantine[ev.quarantine["source_file"] == "audit_l03_2020-11-02.csv"]
    assert q["source_line"].tolist() == [7]
    assert "cut short" in q["reason"].iloc[0] and "quote left open" in q["reason"].iloc[0]
    actions = ev.events.loc[ev.events["source_file"] == cur.source_file, "action"].tolist()
    assert actions == ["login", "read", "print", "logout"]


def test_004_truncated_gzip(case_dir, test_key):
    ev = _read(case_dir("004-repeated-header-truncated"), test_key)
    gz = next(r for r in ev.report.files if r.source_file == "AUDIT_L03_20160104.csv.gz")
    # 381 bytes kept of the gzip: 25 whole rows + the partial line 27
    assert (gz.rows_read, gz.events, gz.quarantined) == (26, 25, 1)
    assert gz.truncated and "AUDIT_L03_20160104.csv.gz" in ev.report.truncated_files
    e = ev.events[ev.events["source_file"] == gz.source_file]
    assert e["ts"].min() == pd.Timestamp("2016-01-04 09:00", tz="UTC")  # 10:00 CET
    assert e["ts"].max() == pd.Timestamp("2016-01-04 09:24", tz="UTC")
    q = ev.quarantine[ev.quarantine["source_file"] == gz.source_file]
    assert q["source_line"].tolist() == [27]
    assert "cut short" in q["reason"].iloc[0]


def test_005_dayfirst_dates(case_dir, test_key):
    ev = _read(case_dir("005-dayfirst-dates"), test_key)
    # 01/02/2019 is 1 February (day first), 02/13/2019 is no date at all
    assert list(ev.events["ts"]) == _utc("2019-01-13 08:00", "2019-02-01 08:00", "2019-02-12 08:00")
    q = ev.quarantine
    assert len(q) == 1 and q["source_line"].iloc[0] == 5
    assert q["source_file"].iloc[0] == "AUDIT_L04_20190113.csv"
    assert q["reason"].iloc[0] == "unparseable date '02/13/2019' (expected dd/mm/yyyy)"


@pytest.mark.parametrize("reverse", [False, True])
def test_006_rotation_overlap(case_dir, test_key, reverse):
    d = case_dir("006-rotation-overlap")
    files = sorted(d.glob("*.csv"), reverse=reverse)
    ev = _read(files, test_key)
    # the repeat within the first file is real; the 2 head rows of the second are duplicates
    assert ev.report.rotation_duplicates == 2
    assert ev.events["action"].tolist() == ["print", "print", "logout", "login"]
    second = next(r for r in ev.report.files if r.source_file.endswith("03-11.csv"))
    assert (second.rows_read, second.events, second.rotation_duplicates) == (3, 1, 2)
    assert ev.events["source_line"].tolist() == [2, 3, 4, 4]


def test_006_order_independent(case_dir, test_key):
    d = case_dir("006-rotation-overlap")
    a = _read(sorted(d.glob("*.csv")), test_key).events
    b = _read(sorted(d.glob("*.csv"), reverse=True), test_key).events
    pd.testing.assert_frame_equal(a, b)  # same events whatever the order given


def test_007_digit_grouping(case_dir, test_key):
    ev = _read(case_dir("007-digit-grouping"), test_key)
    # 12<NBSP>500 and 12 500 are 12500; empty is missing; '1 2' is a field problem
    assert ev.events["records"].tolist()[:2] == [12500, 12500]
    assert ev.events["records"].isna().tolist() == [False, False, True, True]
    assert len(ev.events) == 4 and ev.report.quarantined == 0
    fp = ev.report.field_problems
    assert len(fp) == 1
    row = fp.iloc[0]
    assert (row["source_file"], row["source_line"], row["column"], row["value"]) == (
        "AUDIT_L06_20170602.csv",
        5,
        "records",
        "1 2",
    )
