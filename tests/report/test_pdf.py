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


def test_a_killed_chromium_leaves_nothing_in_tmpdir(tmp_path, monkeypatch):
    """QA session 12: a Chromium stopped (a timeout, a SIGTERM to the run) left its
    ``org.chromium.Chromium.*`` folder in the system's temporary folder; its renderer
    processes could outlive it. A stand-in browser that writes such a folder under
    ``$TMPDIR``, starts a child and hangs: after the timeout, nothing is left in the
    temporary folder and the child is gone (the process group was killed)."""
    import signal
    import time

    import labforensics.report.pdf as pdf_mod

    fake = tmp_path / "fake-chromium"
    pidfile = tmp_path / "child.pid"
    fake.write_text(
        "#!/bin/sh\n"
        'mkdir -p "$TMPDIR/org.chromium.Chromium.x" && touch "$TMPDIR/org.chromium.Chromium.x/S"\n'
        f"sleep 300 & echo $! > {pidfile}\n"
        "wait\n"
    )
    fake.chmod(0o755)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(fake))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(pdf_mod.tempfile, "tempdir", None)  # TMPDIR read again
    monkeypatch.setattr(pdf_mod, "PDF_TIMEOUT_S", 2)
    html = tmp_path / "r.html"
    html.write_text("<!DOCTYPE html><html><body>x</body></html>", encoding="utf-8")
    res = write_pdf(html, tmp_path / "r.pdf")
    assert res.path is None and res.note == "report.pdf not produced: Chromium failed (timed out)"
    assert list(tmp.iterdir()) == []
    child = int(pidfile.read_text())
    for _ in range(50):  # the SIGKILLed child is reaped by init: gone within moments
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("Chromium's child process outlived the timeout")
