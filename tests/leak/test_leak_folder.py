"""A leak FOLDER holding a binary file (QA session 5, item 5): the whole run was refused,
while an evidence folder lists such a file and goes on. Now the file is skipped with its
reason (stderr, findings "unreadable", a limit) and the rest is linked; a folder with no
readable dump file is still refused (exit 2)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from labforensics.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from test_leak_quarantine import _write

LIS = (
    "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
    "NB_ENREG;DETAIL\n"
    "03/03/2020;08:00:00;L01;S1;tech.a;TECHNICIEN;PC-01;10.0.0.5;RESULTATS;CONNEXION;OK;;;;\n"
)
JUNK = bytes(range(256)) * 4  # NUL bytes that do not alternate: binary, no UTF-16


def _case(tmp_path, with_dump: bool):
    pat, dump, _ = _write(tmp_path)
    leak = tmp_path / "leak"
    leak.mkdir()
    if with_dump:
        shutil.copy(dump, leak / "dump.csv")
    (leak / "junk.csv").write_bytes(JUNK)
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "AUDIT_L01_20200303.csv").write_text(LIS, encoding="utf-8")
    args = ["investigate", str(ev), "--out", str(tmp_path / "out"), "--leak", str(leak),
            "--patients", str(pat), "--quiet"]  # fmt: skip
    return args


def test_binary_file_of_a_leak_folder_is_skipped(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    assert main(_case(tmp_path, with_dump=True)) == 0
    err = capsys.readouterr().err
    assert "warning: skipped" in err and "junk.csv is binary" in err
    f = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert [u["source_file"] for u in f["unreadable"]] == ["junk.csv"]
    assert any("leak folder skipped" in t for t in f["limits"])
    # dump.csv linked: its 23 lines are a header, 20 people, 1 malformed, 1 without a person
    assert f["leak_linkage"]["rows"] == 20


def test_leak_folder_with_nothing_readable_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    assert main(_case(tmp_path, with_dump=False)) == 2
    err = capsys.readouterr().err
    assert "no readable dump file in the leak folder" in err and "junk.csv" in err
    assert not (tmp_path / "out").exists()
