"""Output folders are owner-only (QA, session 16, item 3).

The outputs hold pseudonymised health data and names from the evidence: they were
written 0644 in a 0755 folder, while the key file and ``reidentify``'s output are 0600.
The output folder is now always left 0700 (made by the run or by the user beforehand),
and the files the run writes there 0600.
"""

from __future__ import annotations

import os
import stat

from labforensics.cli import main
from labforensics.outputs import prepare_out

LIS = (
    "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
    "NB_ENREG;DETAIL\n"
    "03/03/2020;08:00:00;L01;S1;tech.a;TECHNICIEN;PC-01;10.0.0.5;RESULTATS;CONNEXION;OK;;;;\n"
)
OUTPUTS = ["events.parquet", "field_problems.csv", "ingest_report.json", "manifest.json",
           "quarantine.csv"]  # fmt: skip


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def _ingest(tmp_path, out) -> None:
    ev = tmp_path / "ev"
    ev.mkdir(exist_ok=True)
    (ev / "AUDIT_L01_20200303.csv").write_text(LIS, encoding="utf-8")
    (tmp_path / "case.key").write_text(bytes(range(32)).hex() + "\n")
    argv = ["ingest", str(ev), "--out", str(out), "--case-key", str(tmp_path / "case.key"),
            "--quiet"]  # fmt: skip
    assert main(argv) == 0


def test_a_new_output_folder_is_owner_only(tmp_path):
    out = tmp_path / "made" / "out"
    _ingest(tmp_path, out)
    assert _mode(out) == 0o700
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    assert {p.name: _mode(p) for p in out.iterdir()} == dict.fromkeys(OUTPUTS, 0o600)
    # a parent made on the way keeps the default mode (0777 less the umask)
    umask = os.umask(0)
    os.umask(umask)
    assert _mode(tmp_path / "made") == 0o777 & ~umask


def test_a_folder_made_beforehand_is_left_owner_only(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o755)
    _ingest(tmp_path, out)
    assert _mode(out) == 0o700
    assert _mode(out / "events.parquet") == 0o600


def test_prepare_out_makes_the_folder_owner_only(tmp_path):
    from labforensics import _outlock

    out = tmp_path / "o"
    prepare_out(out, force=False)
    try:
        assert _mode(out) == 0o700
    finally:
        _outlock.release(out)
