"""UTF-16 without a byte-order mark, named as such wherever a file is read (QA session 5,
item 4): the evidence folder listed it as "first bytes 'h.o.r.o.d.a.t.a.g.e'" while the
leak readers said "binary, or UTF-16 without a BOM"; one helper now serves both."""

from __future__ import annotations

import pytest

import labforensics as lf
from labforensics.errors import EvidenceError
from labforensics.ingest.files import utf16_without_bom
from labforensics.leak.patients import read_patient_index
from labforensics.preflight import check_text_file

HEADER = "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
LIS = (
    HEADER + "NB_ENREG;DETAIL\n"
    "03/03/2020;08:00:00;L01;S1;tech.a;TECHNICIEN;PC-01;10.0.0.5;RESULTATS;CONNEXION;OK;;;;\n"
)
HINT = "without a byte-order mark: re-save it with a BOM or as UTF-8"


def test_helper_tells_utf16_from_binary():
    # "horodatage" in UTF-16 LE: every odd byte NUL, no even one -> little endian
    assert "little endian" in utf16_without_bom("horodatage;code".encode("utf-16-le"))
    assert "big endian" in utf16_without_bom("horodatage;code".encode("utf-16-be"))
    # with a BOM it is read, not refused: no hint
    assert utf16_without_bom("horodatage;code".encode("utf-16")) is None
    # NUL bytes that do not alternate (a binary header) are no UTF-16
    assert utf16_without_bom(b"\x00\x00\x00\x01PK\x03\x04\x00\x00abcdefgh") is None


def test_evidence_folder_names_the_encoding(tmp_path):
    (tmp_path / "AUDIT_L01_20200303.csv").write_text(LIS, encoding="utf-8")
    (tmp_path / "audit_l03_2020-03-04.csv").write_bytes(LIS.encode("utf-16-le"))
    ev = lf.read_evidence(tmp_path, case_key="ab" * 16)
    why = ev.report.unrecognised_reasons["audit_l03_2020-03-04.csv"]
    assert why == f"looks like UTF-16 (little endian) {HINT}"
    assert len(ev.events) == 1  # the UTF-8 file is still read


def test_patient_index_and_preflight_say_the_same(tmp_path):
    p = tmp_path / "PATIENTS_L01.csv"
    p.write_bytes(
        "IPP;NOM;PRENOM;DATE_NAISSANCE\n100001;DUPONT;ANNE;01/02/1980\n".encode("utf-16-le")
    )
    with pytest.raises(EvidenceError, match=f"little endian\\) {HINT}"):
        check_text_file(p, "patient_index")
    with pytest.raises(EvidenceError, match=f"little endian\\) {HINT}"):
        read_patient_index(p, case_key="ab" * 16)
