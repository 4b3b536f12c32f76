"""Progress in a log file is whole lines (session 17): tqdm redraws its bar with
carriage returns, which glued every update of a run into one line of a log (stderr
not a terminal). There, every bar (:func:`labforensics.progress.progress_bar`) is now
a :class:`~labforensics.progress.LineBar`: tqdm's text, one line at a time, a few per
stage; a terminal keeps tqdm's bar."""

from __future__ import annotations

import io
import re

import labforensics as lf
from labforensics.progress import LineBar, lab_progress, progress_bar

NFD = "he\u0301le\u0300ne.m"
HEADER = (
    "horodatage;code_labo;code_site;login;profil;poste;adresse_ip;module;action;statut;ipp;"
    "num_demande;nb_lignes;volume_octets;id_session;commentaire"
)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_whole_lines():
    buf = io.StringIO()
    bar = progress_bar(total=3, desc="x per lab", unit="lab", file=buf)
    assert isinstance(bar, LineBar)
    with bar:
        for lab in "ABC":
            bar.set_postfix_str(lab, refresh=False)
            bar.update(1)  # within LOG_INTERVAL_S of the first line: no line until full
    text = buf.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 2  # the start, the end (written once, not again at close)
    assert lines[0] == "x per lab:   0%|          | 0/3 [00:00<?, ?lab/s]"
    assert lines[1].startswith("x per lab: 100%|##########| 3/3 [00:00<00:00, ")
    assert lines[1].endswith("lab/s, C]")


def test_a_moving_bar_writes_a_line_per_interval_and_on_refresh():
    buf = io.StringIO()
    bar = LineBar(4, "phases", "phase", buf, interval=0.0)  # every step is old enough
    bar.update(1)
    bar.n = 3  # as the leak phases set it, then refresh: a line now
    bar.set_postfix_str("classify", refresh=False)
    bar.refresh()
    bar.close()
    lines = buf.getvalue().splitlines()
    assert [x.split("|")[2].split(" [")[0] for x in lines] == [" 0/4", " 1/4", " 3/4"]
    assert lines[-1].endswith(", classify]") and "\r" not in buf.getvalue()


def test_a_terminal_keeps_tqdms_bar():
    term = _Terminal()
    with progress_bar(total=2, desc="t", file=term, mininterval=0) as bar:
        assert not isinstance(bar, LineBar)
        bar.update(2)
    assert "\r" in term.getvalue()
    quiet = io.StringIO()
    with progress_bar(total=2, desc="q", enabled=False, file=quiet) as bar:
        bar.update(2)
    assert quiet.getvalue() == ""
    with lab_progress("sessions", ["L01"], enabled=False) as step:
        step("L01")  # no bar, no line


def test_an_investigation_logs_one_line_per_stage_update(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABFORENSICS_CASE_KEY", "00" * 16)
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    ev = tmp_path / "evidence"
    ev.mkdir()
    rows = [
        f"2024-06-0{d}T08:00:00+02:00;L01;S1;{NFD};technicien;PC-01;10.0.0.5;resultats;"
        "connexion;succes;;;;;;"
        for d in (3, 4)
    ]
    text = "\n".join([HEADER, *rows]) + "\n"
    (ev / "audit_l01_2024-06-04.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    lf.investigate(ev, tmp_path / "out", progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and err.endswith("\n")
    lines = err.splitlines()
    stages = ["ingest", "sessions", "features", "detection", "sources", "campaigns",
              "attribution", "report", "PDF"]  # fmt: skip
    for i, name in enumerate(stages, start=1):
        mine = [x for x in lines if x.startswith(f"[{i}/9] {name}: ")]
        # its start, then its end with the stage's result, each a line of its own
        assert len(mine) == 2, (name, mine)
        assert re.fullmatch(rf"\[{i}/9\] {name}: \d\d:\d\d", mine[0])
        assert re.fullmatch(rf"\[{i}/9\] {name}: \d\d:\d\d, .+", mine[1])
    assert "[5/9] sources: " in err and ", 1 source addresses, 0 flagged\n" in err
    # the bars inside a stage: their lines whole too, tqdm's text
    assert re.search(r"^sessions per lab: 100%\|#+\| 1/1 \[.*, L01\]$", err, re.M)
    assert re.search(r"^reading evidence: 100%\|#+\| 1/1 \[", err, re.M)
    assert re.search(r"^detectors: 100%\|#+\| (\d+)/\1 \[", err, re.M)
