"""Syslog evidence without a year is refused before any stage when no year is given
(QA session 9, item 3): the run used to "succeed" with every row quarantined, and its
summary counted the licence files beside the log as evidence files."""

from __future__ import annotations

import json

import pytest

from labforensics import investigate
from labforensics.cli import main
from labforensics.errors import ParameterError
from labforensics.preflight import require_year, yearless_syslog

LINES = [
    f"Mar  3 10:00:{s:02d} web1 sshd[4{s:02d}]: Accepted password for bob from 10.0.0.{s} "
    f"port 5{s:04d} ssh2"
    for s in range(1, 9)
]


def _logs(tmp_path, year_in_lines: bool = False):
    ev = tmp_path / "ev"
    ev.mkdir()
    lines = list(LINES)
    if year_in_lines:  # rsyslog ParseTIMESTAMP3164: a year before the time
        lines = [ln.replace("Mar  3 ", "Mar  3 2020 ") for ln in lines]
    (ev / "auth.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (ev / "LICENSE").write_text("Apache License\nVersion 2.0, January 2004\n", encoding="utf-8")
    return ev


def test_yearless_syslog_found_others_not(tmp_path):
    ev = _logs(tmp_path)
    assert yearless_syslog(sorted(ev.iterdir())) == [ev / "auth.log"]
    with pytest.raises(ParameterError, match=r"--year YYYY.*year=YYYY in Python"):
        require_year(sorted(ev.iterdir()))
    require_year(sorted(ev.iterdir()), year=2017)  # a year given: through
    other = tmp_path / "other"
    other.mkdir()
    with_year = _logs(other, year_in_lines=True)
    assert yearless_syslog(sorted(with_year.iterdir())) == []


def test_command_refuses_before_any_stage(tmp_path, capsys):
    ev = _logs(tmp_path)
    for cmd in (["investigate", str(ev), "--out", str(tmp_path / "o1")],
                ["ingest", str(ev), "--out", str(tmp_path / "o2")],
                ["ingest", str(ev), "--store", str(tmp_path / "o3")]):  # fmt: skip
        assert main([*cmd, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("labforensics: error: syslog lines")
        assert "auth.log" in err and "--year YYYY" in err
    assert not any((tmp_path / o).exists() for o in ("o1", "o2", "o3"))


def test_python_refuses_too_and_files_not_read_counted_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    ev = _logs(tmp_path)
    with pytest.raises(ParameterError, match="year=YYYY in Python"):
        investigate(ev, tmp_path / "o0", progress=False)
    res = investigate(ev, tmp_path / "out", year=2017, progress=False)
    f = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    assert f["counts"]["input_files"] == 2 and f["counts"]["input_files_not_read"] == 1
    assert f["counts"]["events"] > 0
    assert "Evidence: 1 file(s) read (1 not read: no reader took them), " in res.summary()
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "2 evidence file(s) (1 of them not read: no reader recognised them" in html
