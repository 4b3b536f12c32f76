"""A bare CR (carriage return without line feed) in a file whose lines end in LF or CRLF.

Rule (:func:`labforensics.ingest._lis_structure._bare_crs`): in a record of the
header's width the CR is data (kept, a field problem); otherwise it is a line end, as
Python's csv and pyarrow read it, and each part is a record of its own, numbered by
the physical line (LF-counted) it starts on. Every count below is worked by hand.
"""

from __future__ import annotations

import gzip

from test_lis_csv import BOM, CUR, LEG, cur_row, leg_row

from labforensics.ingest import read_evidence
from labforensics.ingest.protection import UNPLACED_NOTE

KEPT = "bare CR (carriage return without line feed) kept in the value"


def _note(n, lines):
    return (
        "bare CR (carriage return without line feed) read as a line end: "
        f"{n} record(s) more than lines, on line(s) {lines}"
    )


def _write(path, lines, end="\r\n"):
    path.write_bytes((end.join([LEG, *lines]) + end).encode("cp1252"))
    return path


def _counts(ev):
    r = ev.report.files[0]
    return r.rows_read, r.events, r.rotation_duplicates, r.ignored, r.quarantined


def test_bare_cr_between_two_records_is_a_line_end(tmp_path, test_key):
    # line 2: two complete records joined by a bare CR; line 3 a record; line 4 too short
    p = _write(tmp_path / "AUDIT_L02_20180305.csv", [
        leg_row("10:00:00") + "\r" + leg_row("10:01:00"),
        leg_row("10:02:00"),
        "05/03/2018;bad",
    ])  # fmt: skip
    ev = read_evidence(p, case_key=test_key)
    # 4 records (2 on line 2): 3 events, 1 quarantined, nothing lost
    assert _counts(ev) == (4, 3, 0, 0, 1)
    assert ev.events["source_line"].tolist() == [2, 2, 3]
    assert ev.events["ts"].dt.strftime("%H:%M").tolist() == ["09:00", "09:01", "09:02"]
    # the later record keeps its physical line (LF-counted, as an editor numbers it)
    assert ev.quarantine[["source_file", "source_line", "reason"]].values.tolist() == [
        ["AUDIT_L02_20180305.csv", 4, "wrong field count: 2 fields, expected 15" + UNPLACED_NOTE]
    ]
    assert ev.report.files[0].note == _note(1, "2")
    assert len(ev.report.field_problems) == 0


def test_bare_cr_inside_a_field_of_a_valid_row_is_data(tmp_path, test_key):
    p = _write(tmp_path / "AUDIT_L02_20180305.csv", [
        leg_row("10:00:00", detail="impression\rpage 2"),
        leg_row("10:01:00").replace(";PC1;", ";P\rC1;"),
        "05/03/2018;bad",
    ])  # fmt: skip
    ev = read_evidence(p, case_key=test_key)
    assert _counts(ev) == (3, 2, 0, 0, 1)
    assert ev.events["source_line"].tolist() == [2, 3]
    assert ev.events["detail"].tolist()[0] == "impression\rpage 2"  # kept as written
    assert ev.events["host_raw"].tolist() == ["PC1", "P\rC1"]
    assert ev.quarantine["source_line"].tolist() == [4]
    fp = ev.report.field_problems
    assert fp[["source_line", "column", "problem"]].values.tolist() == [
        [2, "detail", "DETAIL: " + KEPT],
        [3, "host", "POSTE: " + KEPT],
    ]
    assert ev.report.files[0].field_problems == 2 and ev.report.files[0].note == ""


def test_bare_cr_before_a_partial_record_splits_it_off(tmp_path, test_key):
    # a complete record, a bare CR, then 3 fields: 17 fields as one record, so the CR
    # is a line end; two CRs on line 3 make three records there
    p = _write(tmp_path / "AUDIT_L02_20180305.csv", [
        leg_row("10:00:00") + "\r05/03/2018;10:01:00;L02",
        leg_row("10:02:00") + "\r" + leg_row("10:03:00") + "\r\r" + leg_row("10:04:00"),
        leg_row("10:05:00"),
    ])  # fmt: skip
    ev = read_evidence(p, case_key=test_key)
    # records: line 2 x2, line 3 x3, line 4 x1 = 6; the partial one quarantined
    assert _counts(ev) == (6, 5, 0, 0, 1)
    assert ev.events["source_line"].tolist() == [2, 3, 3, 3, 4]
    assert ev.quarantine[["source_line", "reason"]].values.tolist() == [
        [2, "wrong field count: 3 fields, expected 15" + UNPLACED_NOTE]
    ]
    assert ev.report.files[0].note == _note(3, "2, 3")


def test_cr_inside_quotes_is_unchanged(tmp_path, test_key):
    p = _write(tmp_path / "AUDIT_L02_20180305.csv", [leg_row("10:00:00", detail='"a\rb"')])
    ev = read_evidence(p, case_key=test_key)
    assert _counts(ev) == (1, 1, 0, 0, 0)
    assert ev.events["detail"].tolist() == ["a\rb"]
    assert len(ev.report.field_problems) == 0 and ev.report.files[0].note == ""


def test_lf_cr_line_ends(tmp_path, test_key):
    # a writer that ends lines with LF CR: each CR opens the next line, so it ends an
    # (empty) line: counted as a blank line ignored, never glued to the record
    p = tmp_path / "audit_l03_2020-11-02.csv"
    text = CUR + "\n\r" + cur_row() + "\n\r" + cur_row("2020-11-02T09:05:00+01:00") + "\n\r"
    p.write_bytes(BOM + text.encode())
    ev = read_evidence(p, case_key=test_key)
    # lines 2, 3: an empty part and a record each; line 4: a lone CR (an empty line)
    assert _counts(ev) == (5, 2, 0, 3, 0)
    assert ev.events["source_line"].tolist() == [2, 3]


def test_split_records_are_matched_for_rotation(tmp_path, test_key):
    # the tail of day 1 (after a bare CR) is the head of day 2: one rotation duplicate
    d = tmp_path / "ev"
    d.mkdir()
    _write(d / "AUDIT_L02_20180305.csv", [leg_row("10:00:00") + "\r" + leg_row("10:01:00")])
    day2 = LEG + "\r\n" + leg_row("10:01:00") + "\r\n" + leg_row("10:02:00") + "\r\n"
    (d / "AUDIT_L02_20180306.csv.gz").write_bytes(gzip.compress(day2.encode("cp1252")))
    ev = read_evidence(d, case_key=test_key)
    r1, r2 = ev.report.files
    assert (r1.rows_read, r1.events, r1.note) == (2, 2, _note(1, "2"))
    assert (r2.rows_read, r2.events, r2.rotation_duplicates) == (2, 1, 1)
    assert ev.report.rows_read == 4 and len(ev.events) == 3
