"""A file named for one lab holding another lab's rows is said (QA session 17, item 4).

``AUDIT_L01_20240610.csv`` holding L02 rows was read as L02 without a word; the
coverage text then said "L01: no logs before 2024-06-11" although an L01-named file
for 06-10 was given. The rows stay with the lab they name; the file is named, per file
(ingest report note and ``lab_name_mismatches``) and in the findings' limits.
"""

from __future__ import annotations

import json

import pandas as pd

import labforensics as lf
from labforensics.ingest import read_evidence
from labforensics.ingest._name_labs import lab_name_sentence
from labforensics.privacy import CaseKey
from lis_headers import LEGACY_HEADER

KEY = CaseKey(bytes(range(32)))


def _row(day: str, time: str, lab: str, ipp: str) -> str:
    return (f"{day}/06/2024;{time};{lab};S1;tech.{lab.lower()};TECHNICIEN;PC-1;10.1.0.5;"
            f"RESULTATS;CONSULTATION;OK;{ipp};200101;;")  # fmt: skip


def _write(path, rows):
    path.write_bytes((LEGACY_HEADER + "\r\n" + "\r\n".join(rows) + "\r\n").encode("cp1252"))


def _two_labs(tmp_path):
    ev = tmp_path / "evidence"
    ev.mkdir()
    # named L01, its 3 rows L02's
    _write(ev / "AUDIT_L01_20240610.csv", [_row("10", f"08:0{i}:00", "L02", f"4000000{i}")
                                           for i in range(3)])  # fmt: skip
    _write(ev / "AUDIT_L01_20240611.csv", [_row("11", f"08:0{i}:00", "L01", f"4000001{i}")
                                           for i in range(2)])  # fmt: skip
    # named L02: 1 row of L02, 2 of L01
    _write(ev / "AUDIT_L02_20240611.csv", [_row("11", "09:00:00", "L02", "40000020"),
                                           _row("11", "09:01:00", "L01", "40000021"),
                                           _row("11", "09:02:00", "L01", "40000022")])  # fmt: skip
    return ev


def test_mismatch_listed_per_file_rows_kept_with_their_lab(tmp_path):
    ev = read_evidence([_two_labs(tmp_path)], case_key=KEY)
    got = ev.events.groupby(["source_file", "lab"], observed=True).size().to_dict()
    assert got == {("AUDIT_L01_20240610.csv", "L02"): 3, ("AUDIT_L01_20240611.csv", "L01"): 2,
                   ("AUDIT_L02_20240611.csv", "L01"): 2, ("AUDIT_L02_20240611.csv", "L02"): 1}  # fmt: skip
    assert ev.report.lab_name_mismatches == [
        {"source_file": "AUDIT_L01_20240610.csv", "name_lab": "L01", "row_labs": ["L02"],
         "events": 3, "events_of_name_lab": 0},
        {"source_file": "AUDIT_L02_20240611.csv", "name_lab": "L02", "row_labs": ["L01"],
         "events": 2, "events_of_name_lab": 1},
    ]  # fmt: skip
    notes = {f.source_file: f.note for f in ev.report.files}
    assert notes == {
        "AUDIT_L01_20240610.csv": "named for lab L01 but 3 of its event(s) name L02: kept "
        "with the lab their rows name",
        "AUDIT_L01_20240611.csv": "",
        "AUDIT_L02_20240611.csv": "named for lab L02 but 2 of its event(s) name L01 (and 1 "
        "name L02): kept with the lab their rows name",
    }
    assert ev.report.to_dict()["lab_name_mismatches"] == ev.report.lab_name_mismatches
    assert "note: AUDIT_L01_20240610.csv: named for lab L01" in ev.report.summary()


def test_no_mismatch_no_key_and_an_alias_is_no_mismatch(tmp_path):
    ev_dir = tmp_path / "evidence"
    ev_dir.mkdir()
    _write(ev_dir / "AUDIT_L01_20240611.csv", [_row("11", "08:00:00", "L01", "40000010")])
    _write(ev_dir / "AUDIT_LAB7_20240611.csv", [_row("11", "08:00:00", "L07", "40000011")])
    ev = read_evidence([ev_dir], case_key=KEY, lab_aliases={"LAB7": "L07"})
    assert ev.report.lab_name_mismatches == []
    assert "lab_name_mismatches" not in ev.report.to_dict()  # other cases' findings unchanged
    assert lab_name_sentence([]) == ""


def test_findings_limits_and_report_say_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LABFORENSICS_CASE_KEY", "00" * 16)
    ev = tmp_path / "evidence"
    ev.mkdir()
    _write(ev / "AUDIT_L01_20240610.csv", [_row("10", f"08:0{i}:00", "L02", f"4000000{i}")
                                           for i in range(3)])  # fmt: skip
    _write(ev / "AUDIT_L01_20240611.csv", [_row("11", "08:00:00", "L01", "40000010")])
    _write(ev / "AUDIT_L02_20240611.csv", [_row("11", "09:00:00", "L02", "40000020")])
    res = lf.investigate(ev, tmp_path / "out", progress=False)
    want = (
        "1 file(s) named for one lab hold another lab's rows: AUDIT_L01_20240610.csv (named "
        "L01, 3 event(s) of L02): their events are counted with the lab their rows name, so "
        "the coverage and gaps of L01 (the lab in the file name) do not include them (each "
        "file's note: findings.json, accounting)"
    )
    assert want in res.findings["limits"]
    f = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    assert f["accounting"]["lab_name_mismatches"][0]["source_file"] == "AUDIT_L01_20240610.csv"
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "AUDIT_L01_20240610.csv (named L01, 3 event(s) of L02)" in html
    assert pd.read_parquet(tmp_path / "out" / "events.parquet")["lab"].value_counts().to_dict() == {
        "L02": 4, "L01": 1}  # fmt: skip


def test_an_evidence_store_keeps_the_mismatches(tmp_path):
    """The store (``ingest --store``, ``--memory-budget``'s temporary store) keeps them.
    (It refuses a lab whose rows fall in two files' groups: here L02's rows are in
    L01-named files only.)"""
    from labforensics.store import ingest_to_store, load_store

    ev = tmp_path / "evidence"
    ev.mkdir()
    _write(ev / "AUDIT_L01_20240610.csv", [_row("10", f"08:0{i}:00", "L02", f"4000000{i}")
                                           for i in range(3)])  # fmt: skip
    _write(ev / "AUDIT_L01_20240611.csv", [_row("11", "08:00:00", "L01", "40000010")])
    ingest_to_store(ev, tmp_path / "store", case_key=KEY)
    got = load_store(tmp_path / "store").report
    assert got.lab_name_mismatches == [
        {"source_file": "AUDIT_L01_20240610.csv", "name_lab": "L01", "row_labs": ["L02"],
         "events": 3, "events_of_name_lab": 0},
    ]  # fmt: skip
    notes = {f.source_file: f.note for f in got.files}
    assert notes["AUDIT_L01_20240610.csv"].startswith("named for lab L01 but 3 of its event(s)")
