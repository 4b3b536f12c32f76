"""Quarantined raw records keep each identifier field's role (QA session 5, item 5): in a
row of 17 fields (15 expected) the request number "D1" was keyed as a patient (``P...``)
because it lay where a shifted IPP could be. Since QA session 8 every other field of a row
of the wrong width is keyed too, but blanks, dates, times, codes and lab codes."""

from __future__ import annotations

import labforensics as lf
from labforensics.privacy import CaseKey, pseudonymise_one, request_id

KEY = "ab" * 16
HEADER = (
    "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
    "NB_ENREG;DETAIL\n"
)
HEAD = "03/03/2020;08:06:00;L01;S1;tech.a;TECHNICIEN;PC-01;10.0.0.5;RESULTATS;CONSULTATION;OK;"


def _raw(tmp_path, row: str) -> str:
    (tmp_path / "AUDIT_L01_20200303.csv").write_text(
        HEADER + HEAD + "123456;D7;;\n" + row + "\n", encoding="utf-8"
    )
    q = lf.read_evidence(tmp_path, case_key=KEY).quarantine
    assert len(q) == 1 and int(q["source_line"].iloc[0]) == 3
    return str(q["raw"].iloc[0])


def _ids(k: CaseKey, *values: str) -> dict[str, str]:
    return {v: pseudonymise_one(k, "L01", v) for v in values}


def test_wider_row_keys_the_request_number_as_a_request(tmp_path):
    # 17 fields: the IPP (column 12) and the request number (column 13) are in place, two
    # extra fields at the end; each keeps its own column's role. No other field's position
    # can be trusted (QA, session 8): all are keyed but the date, time, lab and codes
    k = CaseKey.from_hex(KEY)
    raw = _raw(tmp_path, HEAD + "888888;D1;;;extra;cols")
    p = _ids(k, "S1", "tech.a", "PC-01", "10.0.0.5", "888888", "extra", "cols")
    r = request_id(k, "L01", "D1")
    assert raw == (
        f"03/03/2020;08:06:00;L01;{p['S1']};{p['tech.a']};TECHNICIEN;{p['PC-01']};"
        f"{p['10.0.0.5']};RESULTATS;CONSULTATION;OK;{p['888888']};{r};;;{p['extra']};"
        f"{p['cols']}"
    )
    assert r.startswith("R") and "888888" not in raw


def test_narrower_row_still_hides_a_shifted_ipp(tmp_path):
    # 14 fields (NB_ENREG missing): the IPP may have shifted one left, onto RESULTAT's
    # column, whose value "OK" is a code of the outcome table (harmless: kept); the IPP is a
    # patient, the request number stays R, the last field is keyed as a patient
    k = CaseKey.from_hex(KEY)
    raw = _raw(tmp_path, HEAD + "888888;D1;x")
    fields = raw.split(";")
    assert len(fields) == 14
    assert fields[10] == "OK"
    assert fields[11] == pseudonymise_one(k, "L01", "888888")
    assert fields[12] == request_id(k, "L01", "D1")
    assert fields[13] == pseudonymise_one(k, "L01", "x")
