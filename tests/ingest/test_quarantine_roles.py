"""Quarantined raw records keep each identifier field's role (QA session 5, item 5): in a
row of 17 fields (15 expected) the request number "D1" was keyed as a patient (``P...``)
because it lay where a shifted IPP could be. Since QA session 8 every other field of a row
of the wrong width is keyed too, but blanks, dates, times, codes and lab codes. Since QA
session 9 a value of such a row that the evidence does not show as an IPP or a request
number is a ``U`` id (unplaced value), never a patient's ``P`` id: the guess of a role by
column is gone; a value the evidence shows as an IPP (or request) keeps that id."""

from __future__ import annotations

import labforensics as lf
from labforensics.privacy import CaseKey, pseudonymise_one, request_id, unplaced_id
from lis_headers import LEGACY_HEADER

KEY = "ab" * 16
HEADER = LEGACY_HEADER + "\n"
HEAD = "03/03/2020;08:06:00;L01;S1;tech.a;TECHNICIEN;PC-01;10.0.0.5;RESULTATS;CONSULTATION;OK;"


def _raw(tmp_path, row: str) -> str:
    (tmp_path / "AUDIT_L01_20200303.csv").write_text(
        HEADER + HEAD + "123456;D700;;\n" + row + "\n", encoding="utf-8"
    )
    q = lf.read_evidence(tmp_path, case_key=KEY).quarantine
    assert len(q) == 1 and int(q["source_line"].iloc[0]) == 3
    return str(q["raw"].iloc[0])


def _ids(k: CaseKey, *values: str) -> dict[str, str]:
    return {v: unplaced_id(k, "L01", v) for v in values}


def test_wider_row_keys_known_values_as_theirs_and_others_as_unplaced(tmp_path):
    # 17 fields: two extra fields at the end. No field's position can be trusted (QA,
    # session 8): all are keyed but the date, time, lab and codes. The IPP 123456 and the
    # request number D700 are those of the good row (the evidence shows them as such): they
    # get their own P and R ids, as in the events; every other value a U id (session 9)
    k = CaseKey.from_hex(KEY)
    raw = _raw(tmp_path, HEAD + "123456;D700;;;extra;cols")
    u = _ids(k, "S1", "tech.a", "PC-01", "10.0.0.5", "extra", "cols")
    p, r = pseudonymise_one(k, "L01", "123456"), request_id(k, "L01", "D700")
    assert raw == (
        f"03/03/2020;08:06:00;L01;{u['S1']};{u['tech.a']};TECHNICIEN;{u['PC-01']};"
        f"{u['10.0.0.5']};RESULTATS;CONSULTATION;OK;{p};{r};;;{u['extra']};{u['cols']}"
    )
    assert "123456" not in raw and "tech.a" not in raw


def test_narrower_row_still_hides_a_shifted_ipp(tmp_path):
    # 14 fields (NB_ENREG missing): the IPP may have shifted one left, onto RESULTAT's
    # column, whose value "OK" is a code of the outcome table (harmless: kept); the IPP,
    # the request number and the last field, none of them known, are U ids (no P, no R:
    # which is the IPP cannot be told)
    k = CaseKey.from_hex(KEY)
    raw = _raw(tmp_path, HEAD + "888888;D1;x")
    fields = raw.split(";")
    assert len(fields) == 14
    assert fields[10] == "OK"
    assert fields[11:] == [unplaced_id(k, "L01", v) for v in ("888888", "D1", "x")]
