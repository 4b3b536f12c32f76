"""A spring-forward time read with the winter offset after later lines of its file is a
field problem (QA session 13: 01:50, 02:10, 02:59:59, 03:00, 03:05 on 2020-03-29 in Paris
split one session in three, unnamed)."""

from __future__ import annotations

from labforensics import read_evidence
from labforensics.ingest._shift_checks import SHIFT_ORDER_PROBLEM
from lis_headers import LEGACY_HEADER as HEADER


def _row(hms: str, module: str = "RESULTATS", action: str = "CONSULTATION") -> str:
    return f"29/03/2020;{hms};L01;S1;night.a;TECHNICIEN;PC-1;10.1.0.2;{module};{action};OK;;;;"


def _read(tmp_path, times):
    rows = [_row(t) for t in times]
    (tmp_path / "AUDIT_L01_20200329.csv").write_text("\r\n".join([HEADER, *rows]) + "\r\n")
    return read_evidence(tmp_path, case_key=bytes(range(32)), progress=False)


def test_shifted_rows_after_later_lines_are_named(tmp_path):
    ev = _read(tmp_path, ["01:50:00", "02:10:00", "02:59:59", "03:00:00", "03:05:00"])
    # by hand: 01:50 CET = 00:50 UTC; 02:10 and 02:59:59 do not exist, read at +01:00:
    # 01:10 and 01:59:59 UTC; 03:00 and 03:05 CEST = 01:00 and 01:05 UTC. Lines 3 and 4
    # fall after line 5 (01:00) by more than 5 minutes: named, kept as read
    by_line = ev.events.set_index("source_line")
    assert by_line.loc[3, "ts"].isoformat() == "2020-03-29T01:10:00+00:00"
    assert by_line.loc[4, "ts_quality"] == "nonexistent_shifted"
    fp = ev.report.field_problems
    got = fp[fp["problem"] == SHIFT_ORDER_PROBLEM][["source_line", "column", "value"]]
    assert got.values.tolist() == [[3, "ts", "2020-03-29T01:10:00Z"],
                                   [4, "ts", "2020-03-29T01:59:59Z"]]  # fmt: skip
    assert ev.report.files[0].field_problems == 2


def test_shifted_rows_in_order_are_not_named(tmp_path):
    # 02:10 -> 01:10 UTC, then 03:30 CEST = 01:30 UTC: in order, nothing to say; a later
    # line at most 5 minutes earlier (02:03 -> 01:03 vs 03:00 -> 01:00) is within the
    # clock-skew tolerance
    ev = _read(tmp_path, ["01:50:00", "02:10:00", "03:30:00"])
    assert not (ev.report.field_problems["problem"] == SHIFT_ORDER_PROBLEM).any()
    ev = _read(tmp_path, ["01:50:00", "02:03:00", "03:00:00"])
    assert not (ev.report.field_problems["problem"] == SHIFT_ORDER_PROBLEM).any()


def test_newest_first_file_read_bottom_up(tmp_path):
    # the same rows written newest first: the rows happened bottom-up, same lines named
    # (now lines 4 and 5: 02:59:59 and 02:10)
    ev = _read(tmp_path, ["03:05:00", "03:00:00", "02:59:59", "02:10:00", "01:50:00",
                          "01:40:00"])  # fmt: skip
    fp = ev.report.field_problems
    got = fp[fp["problem"] == SHIFT_ORDER_PROBLEM]["source_line"].tolist()
    assert got == [4, 5]
