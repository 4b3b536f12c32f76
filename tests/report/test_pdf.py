"""report.pdf (issue 15 item 8, issue 16 item 4): written by investigate with headless
Chromium, listed in the manifest; a clear note and no crash when Chromium is absent.

In CI (``CI`` set) Chromium is installed by ``.ci/run``: a missing Chromium there is a
failure, never a skip.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from hostile import write_hostile_case
from labforensics.cli import main
from labforensics.outputs import OUTPUT_NAMES
from labforensics.report.pdf import find_chromium, write_pdf


def _need_chromium() -> None:
    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs it (apt-get install chromium)")
        pytest.skip("Chromium is not installed: apt-get install chromium")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return write_hostile_case(tmp_path_factory.mktemp("pdf") / "case", days=3)


def _run(case, out: Path) -> int:
    return main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
                 "--leak", str(case["leak"])])  # fmt: skip


def test_investigate_writes_report_pdf(case, tmp_path):
    _need_chromium()
    out = tmp_path / "out"
    assert _run(case, out) == 0
    pdf = out / "report.pdf"
    data = pdf.read_bytes()
    # a PDF file (magic bytes), of more than one page: the report does not fit on one A4
    assert data[:5] == b"%PDF-" and data.count(b"/Type /Page") - data.count(b"/Type /Pages") > 1
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["report_pdf"] == {"produced": True, "note": ""}
    assert "report.pdf" in {o["path"] for o in man["outputs"]}
    assert "report.pdf" in OUTPUT_NAMES


def test_no_chromium_is_a_note_not_a_crash(case, tmp_path, monkeypatch, capsys):
    # Chromium absent: exit 0, every other output written, one note line, and the
    # manifest says the PDF was not produced
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-such-chromium"))
    out = tmp_path / "out"
    assert _run(case, out) == 0
    err = capsys.readouterr().err
    notes = [ln for ln in err.splitlines() if "report.pdf" in ln]
    assert len(notes) == 1 and "Chromium is not installed" in notes[0], err
    assert not (out / "report.pdf").exists() and (out / "report.html").is_file()
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["report_pdf"]["produced"] is False
    assert "not installed" in man["report_pdf"]["note"]


def test_write_pdf_of_a_small_page(tmp_path):
    _need_chromium()
    html = tmp_path / "r.html"
    html.write_text("<!DOCTYPE html><html><body><h1>Case</h1></body></html>", encoding="utf-8")
    got = write_pdf(html, tmp_path / "r.pdf")
    assert got.path == (tmp_path / "r.pdf").resolve() and got.note == ""
    assert got.path.read_bytes()[:5] == b"%PDF-"


def test_run_date_and_command_in_report_not_in_findings(case, tmp_path, monkeypatch):
    # the exact command line and the run's date are in report.html; findings.json stays
    # byte-identical across runs (no date, no command)
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "none"))  # no PDF: faster
    first, a, b = tmp_path / "first", tmp_path / "a", tmp_path / "b"
    assert _run(case, first) == 0  # makes the key file first.key beside it
    for out in (a, b):  # the same command twice, into two folders
        assert main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
                     "--leak", str(case["leak"]), "--case-key", str(tmp_path / "first.key")]) == 0  # fmt: skip
    html = (a / "report.html").read_text(encoding="utf-8")
    started = json.loads((a / "manifest.json").read_text(encoding="utf-8"))["started_utc"]
    # the date of the run, local time first (the case's zone: after 23:00 UTC in Paris the
    # local date is the next day; the UTC date follows in brackets when it differs)
    tz = json.loads((a / "findings.json").read_text(encoding="utf-8"))["case"]["tz"]
    local = pd.Timestamp(started).tz_convert(tz)
    assert "run on " + local.strftime("%Y-%m-%d") in html and started[:10] in html
    assert f"labforensics investigate {case['evidence']} --out {a} --quiet --leak" in html
    assert (a / "findings.json").read_bytes() == (b / "findings.json").read_bytes()
    assert started[:16] not in (a / "findings.json").read_text(encoding="utf-8")
