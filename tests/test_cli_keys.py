"""The case key on the command line (QA session 5, item 3).

A mistyped ``[case] key_file`` used to be created silently with a new random key
(pseudonyms then match no earlier run), while ``--case-key typo.key`` errors; and
``ingest`` without a key printed a raw ``UserWarning`` and kept no key.
"""

from __future__ import annotations

import json
import warnings

from labforensics.cli import main
from labforensics.privacy import CaseKey

LIS = (
    "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
    "NB_ENREG;DETAIL\n"
    "03/03/2020;08:00:00;L01;S1;tech.a;TECHNICIEN;PC-01;10.0.0.5;RESULTATS;CONNEXION;OK;;;;\n"
    "03/03/2020;08:01:00;L01;S1;tech.a;TECHNICIEN;PC-01;10.0.0.5;RESULTATS;CONSULTATION;OK;"
    "123456;D1;;\n"
)


def _evidence(tmp_path):
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "AUDIT_L01_20200303.csv").write_text(LIS, encoding="utf-8")
    return ev


def test_missing_key_file_of_the_case_file_is_refused(tmp_path, capsys, monkeypatch):
    # as --case-key: exit 2, the option named, no key made, no output folder made
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    ev = _evidence(tmp_path)
    case = tmp_path / "case.toml"
    case.write_text('[case]\nkey_file = "nope2.key"\n', encoding="utf-8")
    out = tmp_path / "out"
    rc = main(["investigate", str(ev), "--out", str(out), "--case", str(case), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "nope2.key not found" in err and "[case] key_file" in err
    assert "out.key" in err  # the deliberate way to a new key: the file beside the output
    assert not (tmp_path / "nope2.key").exists()
    assert not out.exists() and not (tmp_path / "out.key").exists()


def test_ingest_without_key_keeps_one_key_beside_the_output(tmp_path, capsys, monkeypatch):
    # no raw UserWarning; <out>.key written, stated on stdout, and reused by a second run
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    ev = _evidence(tmp_path)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a UserWarning would fail the run
        assert main(["ingest", str(ev), "--out", str(out), "--quiet"]) == 0
    io = capsys.readouterr()
    key = tmp_path / "out.key"
    assert key.is_file()
    assert f"Case key: {key}" in io.out
    assert "UserWarning" not in io.err
    fp = json.loads((out / "manifest.json").read_text())["case_key_fingerprint"]
    assert fp == CaseKey.from_file(key).fingerprint  # the events were keyed with that file
    assert main(["ingest", str(ev), "--out", str(out), "--force", "--quiet"]) == 0
    assert json.loads((out / "manifest.json").read_text())["case_key_fingerprint"] == fp


def test_ingest_to_a_store_without_key_keeps_one_beside_it(tmp_path, capsys, monkeypatch):
    # the store path warned the same raw UserWarning and kept no key: <store>.key now,
    # reused by a second ingest into that store (a store refuses another key)
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    ev = _evidence(tmp_path)
    store = tmp_path / "st"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["ingest", str(ev), "--store", str(store), "--quiet"]) == 0
    out = capsys.readouterr().out
    key = tmp_path / "st.key"
    assert key.is_file() and f"Case key: {key}" in out
    (ev / "AUDIT_L01_20200304.csv").write_text(
        LIS.replace("03/03/2020", "04/03/2020"), encoding="utf-8"
    )
    assert main(["ingest", str(ev), "--store", str(store), "--quiet"]) == 0
    assert "1 file(s) added" in capsys.readouterr().out
