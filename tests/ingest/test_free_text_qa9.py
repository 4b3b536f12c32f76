"""Names and unknown IPPs in event free text (fresh-eyes QA, session 9, item 1).

``Patient DUPONT Jean NIR ... IPP 40000002`` in a detail: the NIR, phone and e-mail were
tagged, but the name and the IPP (never seen in an IPP column, so unknown to the
Redactor) reached events.parquet and the report as logged. Now a name after a patient
marker becomes ``[NAME]`` and an identifier-shaped run of 5+ digits the ``P`` id of (lab,
digits), as quarantined text's digit runs; counts (``Export 17636 records``), ticket
numbers and file names (which link extractions to transfers) are kept.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from labforensics._privacy_text import NAME_HINT, redact_detail_numbers, redact_names
from labforensics.attribution.linking import _files_in
from labforensics.ingest import read_evidence
from labforensics.privacy import CaseKey, pseudonymise_one
from lis_headers import LEGACY_HEADER

KEY = CaseKey(bytes(range(32)))
LEG = LEGACY_HEADER + "\r\n"
ROW = "15/03/2020;08:{m:02d}:00;L01;S1;tech.a1;TECHNICIEN;PC-1;10.1.0.5;{mod};{act};OK;{ipp};{req};{nb};{det}"


def _row(m, det, *, mod="RESULTATS", act="CONSULTATION", ipp="40000001", req="200101", nb=""):
    return ROW.format(m=m, mod=mod, act=act, ipp=ipp, req=req, nb=nb, det=det)


def P(v: str) -> str:
    return pseudonymise_one(KEY, "L01", v)


def _details(tmp_path, *dets: str, extra: tuple[str, ...] = ()):
    rows = [_row(i, d) for i, d in enumerate(dets)] + list(extra)
    f = tmp_path / "AUDIT_L01_20200315.csv"
    f.write_bytes((LEG + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    return read_evidence(f, case_key=KEY)


def test_name_and_unknown_ipp_of_the_qa_row(tmp_path):
    # the QA input's detail: NIR, phone and e-mail were tagged already; now the name after
    # "Patient" is [NAME] and the IPP 40000002 (in no IPP column) is its P id of (L01, it)
    det = (
        "Patient DUPONT Jean NIR 1 85 07 75 123 456 08 tel 06 12 34 56 78 mail "
        "jean.dupont@example.fr IPP 40000002"
    )
    ev = _details(tmp_path, det)
    got = ev.events["detail"].iloc[0]
    assert got == (f"Patient [NAME] NIR [NIR] tel [PHONE] mail [EMAIL] IPP {P('40000002')}")
    text = ev.events.astype(str).to_csv()
    for raw in ("DUPONT", "Jean", "40000002", "40000001"):
        assert raw not in text


def test_counts_tickets_and_file_names_are_kept(tmp_path):
    dets = (
        "Export 17636 records",
        "Extraction complete vers ftp://transfert/L01_export_20200315.csv",
        "Intervention hotline ticket #48213",
        "Volume 123456789 octets",
        "Sauvegarde nocturne vers /backup/L01_20200315.dmp",
        "Purge journaux > 90 jours",
    )
    ev = _details(tmp_path, *dets)
    assert ev.events["detail"].tolist() == list(dets)
    # the extraction's output file is still found by the transfer linking
    assert _files_in(ev.events["detail"]).iloc[1] == ["L01_export_20200315.csv"]


def test_known_ipp_and_unknown_run_get_the_same_kind_of_id(tmp_path):
    # 40000001 is this row's IPP (known: the Redactor's P id); 40000003 appears nowhere
    # else: the same P id of (L01, digits) that the patient would have if it is an IPP
    ev = _details(tmp_path, "vu avec 40000001 et (40000003), dossier 2020-12345")
    assert ev.events["detail"].iloc[0] == (
        f"vu avec {P('40000001')} et ({P('40000003')}), dossier 2020-12345"
    )


def test_name_in_a_quarantined_row_of_the_right_width(tmp_path):
    # a bad date quarantines the row; its fields are in place, its free text holds a name
    # (quarantined text keeps its stricter digit rule: every run of 5+ digits is keyed)
    bad = _row(30, "Mme MARTIN Hélène, 17636 lignes").replace("15/03/2020", "31/02/2020")
    ev = _details(tmp_path, "ok", extra=(bad,))
    (raw,) = ev.quarantine["raw"].tolist()
    assert raw.endswith(f";Mme [NAME], {P('17636')} lignes")
    assert "MARTIN" not in raw and "Hélène" not in raw


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Mme O'BRIEN-LEFÈVRE Zoë, vue", "Mme [NAME], vue"),
        ("Pat. N'GUYEN Thi Ánh8", "Pat. [NAME]"),
        ("patient=MARTIN Hélène née DUPONT", "patient=[NAME] née [NAME]"),
        ("Patient: MARTIN", "Patient: [NAME]"),
        ("M. DUPONT P0123456789abcdef", "M. [NAME] P0123456789abcdef"),  # an id is kept
        ("Export liste patients (CSV)", "Export liste patients (CSV)"),  # plural: no marker
        ("Recherche par nom", "Recherche par nom"),
        ("Export patient L01_export.csv", "Export patient L01_export.csv"),  # a file name
        ("dossier patient modifié", "dossier patient modifié"),  # lower case: no name
    ],
)
def test_names_after_a_marker(text, want):
    assert redact_names(text) == want
    # the pyarrow prefilter (RE2) finds every text whose name is replaced
    hint = pc.match_substring_regex(pa.array([text]), NAME_HINT)[0].as_py()
    assert hint or want == text


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("IPP:40000002.", "IPP:<40000002>."),
        ("nb=12345", "nb=12345"),
        ("12345 enregistrements", "12345 enregistrements"),
        ("12:30:45.123456", "12:30:45.123456"),
        ("SUP-00112345", "SUP-00112345"),
        ("note 123456,7", "note 123456,7"),
        ("20200315", "<20200315>"),  # digits alone are never proven a date
        ("1234", "1234"),
    ],
)
def test_detail_numbers(text, want):
    assert redact_detail_numbers(text, lambda r: f"<{r}>") == want
