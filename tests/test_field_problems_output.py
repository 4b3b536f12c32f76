"""Field problems are listed, not only counted, and a date after the analysis is one
(QA session 9, item 4): ``field_problems.csv`` (file, line, column, redacted value,
problem) in every output folder, registered in OUTPUT_NAMES and the manifest; 2099
passed unflagged and the report said "logs cover 1970-01-01 to 2099-01-01". Since
session 11 those rows set no period."""

from __future__ import annotations

import json

import pandas as pd

from labforensics import investigate, read_evidence
from labforensics.cli import main
from labforensics.ingest._event_checks import FUTURE_PREFIX, NO_ACCOUNT_PROBLEM, event_problems
from labforensics.outputs import OUTPUT_NAMES
from lis_headers import LEGACY_HEADER as HEADER

IPP = "40000123"


def _row(day: str, account: str, ipp: str = IPP) -> str:
    return f"{day};09:00:00;L01;S1;{account};TECH;PC;10.1.0.9;DOSSIER;CONSULT;OK;{ipp};;1;x"


def _evidence(tmp_path):
    ev = tmp_path / "ev"
    ev.mkdir()
    rows = [_row(f"0{d}/03/2020", "alice") for d in range(1, 6)]
    rows += [_row("01/01/2099", "bob"), _row("01/01/1970", "carol"), _row("06/03/2020", "")]
    (ev / "AUDIT_L01_20200301.csv").write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode())
    return ev  # lines: 2-6 fine, 7 in 2099, 8 in 1970, 9 no account


def test_event_problems_future_and_no_account(tmp_path):
    ev = read_evidence(_evidence(tmp_path), case_key=bytes(range(32)), progress=False)
    fp = ev.report.field_problems
    by_line = {int(r.source_line): r for r in fp.itertuples()}
    assert by_line[7].column == "ts" and by_line[7].problem.startswith(FUTURE_PREFIX)
    assert by_line[7].value == "2099-01-01T08:00:00Z"  # 09:00 Paris, in UTC
    assert "implausible year" in by_line[8].problem  # the reader's, not flagged twice
    assert by_line[9].column == "account" and by_line[9].problem == NO_ACCOUNT_PROBLEM
    assert sorted(by_line) == [7, 8, 9]
    assert ev.report.files[0].field_problems == 3
    d = ev.report.to_dict()
    assert (d["field_problems"], d["field_problems_dates"], d["field_problems_future"]) == (3, 2, 1)
    # the analysis moment decides: read in 2100, 2099 is no longer the future
    later = event_problems(ev.events, [], now=pd.Timestamp("2100-06-01", tz="UTC"))
    assert [p["column"] for p in later] == ["account"]


def test_ingest_writes_field_problems_csv(tmp_path, capsys):
    assert "field_problems.csv" in OUTPUT_NAMES
    out = tmp_path / "out"
    assert main(["ingest", str(_evidence(tmp_path)), "--out", str(out), "--quiet"]) == 0
    text = (out / "field_problems.csv").read_text(encoding="utf-8")
    fp = pd.read_csv(out / "field_problems.csv")
    assert list(fp.columns) == ["source_file", "source_line", "column", "value", "problem"]
    assert sorted(fp["source_line"]) == [7, 8, 9]
    assert set(fp["source_file"]) == {"AUDIT_L01_20200301.csv"}
    assert IPP not in text  # never a raw identifier
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "field_problems.csv" in json.dumps(manifest["outputs"])


def test_report_names_the_file_and_the_dates_that_cannot_be_right(tmp_path, monkeypatch):
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    out = tmp_path / "out"
    investigate(_evidence(tmp_path), out, progress=False)
    assert len(pd.read_csv(out / "field_problems.csv")) == 3
    f = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    limits = " ".join(f["limits"])
    assert "3 field problem(s)" in limits and "field_problems.csv lists each" in limits
    # session 11: the 2099 and 1970 rows set no period (were "1970-01-01 to 2099-01-01")
    assert "logs cover 2020-03-01 to 2020-03-06 (local dates, Europe/Paris): 6 day(s) x 1 " \
           "lab(s) = 6 lab-days, every one with events" in limits  # fmt: skip
    assert "; 2 event(s) dated before 1990, after 2100 or after the analysis are left out " \
           "of that period, its gaps and the figures (field problems: 2 event line(s) whose " \
           "date cannot be right, 1 of them in the future of the analysis" in limits  # fmt: skip
    assert f["period"]["left_out"] == 2
    assert f["period"]["labs"] == [{"lab": "L01", "first_day": "2020-03-01",
                                    "last_day": "2020-03-06"}]  # fmt: skip
    assert f["period"]["start"].startswith("2020-03-01")
    assert "field_problems.csv lists each" in (out / "report.html").read_text(encoding="utf-8")


def test_field_problems_csv_sorted_by_file_line_column_and_byte_identical(tmp_path):
    """Session 10, QA item 1: the readers' problems came first and the checks' after
    (lines 8, 7, 9); now by file name, then line, then column, the same bytes each run.
    A second file, dated earlier (read first), sorts second by name."""
    ev = _evidence(tmp_path)
    rows = [_row("02/01/2020", ""), _row("01/01/2099", "dave"), _row("03/01/2020", "erin")]
    (ev / "AUDIT_L02_20200101.csv").write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode())
    outs = [tmp_path / "out1", tmp_path / "out2"]
    for out in outs:
        assert main(["ingest", str(ev), "--out", str(out), "--quiet"]) == 0
    fp = pd.read_csv(outs[0] / "field_problems.csv")
    got = list(zip(fp["source_file"], fp["source_line"], fp["column"], strict=True))
    assert got == [
        ("AUDIT_L01_20200301.csv", 7, "ts"),  # in 2099 (the check's)
        ("AUDIT_L01_20200301.csv", 8, "ts"),  # 1970 (the reader's)
        ("AUDIT_L01_20200301.csv", 9, "account"),
        ("AUDIT_L02_20200101.csv", 2, "account"),
        ("AUDIT_L02_20200101.csv", 3, "ts"),
    ]
    first, second = ((o / "field_problems.csv").read_bytes() for o in outs)
    assert first == second
