"""An output folder never holds, nor lies in, an input (QA session 13, finding 3).

``investigate --out`` checked the evidence only: a register (or patient index, case
file, transfer log) inside the output folder was accepted, and ``--force`` empties
that folder of the file names labforensics writes. ``ingest --out`` did not check the
evidence either: its output could go inside the evidence folder.
"""

from __future__ import annotations

import os

import pytest

from labforensics.errors import ParameterError
from labforensics.pipeline import ingest_only, investigate
from lis_headers import LEGACY_HEADER as HDR

ROW = "01/06/2020;08:00:00;L07;S1;tech.a;TECHNICIEN;PC-1;10.7.0.2;ADMIN;CONNEXION;OK;;;;"
REG = (
    "ticket;lab;account;kind;start;end;scope_patients_since;scope_max_records;destination;"
    "purpose\nMIG-7;L07;migration.editeur;migration;2020-06-01;2020-06-10;;;;x\n"
)


@pytest.fixture
def ev(tmp_path):
    d = tmp_path / "evidence"
    d.mkdir()
    (d / "AUDIT_L07_20200601.csv").write_text(f"{HDR}\n{ROW}\n", encoding="utf-8")
    return d


def test_ingest_out_inside_the_evidence_refused(ev):
    for out in (ev / "out", ev, ev.parent):
        with pytest.raises(
            ParameterError, match="the output folder .* and the evidence .* overlap"
        ):
            ingest_only([ev], out, tz="Europe/Paris", case_key=bytes(32), progress=False)
    assert sorted(p.name for p in ev.iterdir()) == ["AUDIT_L07_20200601.csv"]


def test_investigate_out_holding_or_inside_an_input_refused(ev, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    reg = out / "register.csv"
    reg.write_text(REG, encoding="utf-8")
    with pytest.raises(ParameterError, match=r"holds an input of this command \(--authorisations"):
        investigate(ev, out, authorisations=reg, force=True, progress=False)
    # a hard link to the register inside the folder: the same file
    apart = tmp_path / "register.csv"
    os.link(reg, apart)
    with pytest.raises(ParameterError, match=r"holds an input of this command \(--authorisations"):
        investigate(ev, out, authorisations=apart, force=True, progress=False)
    assert apart.read_text(encoding="utf-8") == REG
    # the output folder inside a patient-index folder
    idx = tmp_path / "patients"
    idx.mkdir()
    (idx / "PATIENTS_L07.csv").write_text("IPP;NOM\n000001;X\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"lies inside an input folder .*\(--patients"):
        investigate(ev, idx / "out", patients=[idx], progress=False)
    assert not (idx / "out").exists()
