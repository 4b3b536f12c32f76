"""Quarantined records whose fields are out of place (fresh-eyes QA, session 8, item 1).

A quarantined LIS row of the wrong width kept its raw text with only the fields at the
IPP and request positions keyed: in a short or long row those positions hold other
values, so the patient's IPP (shifted elsewhere), a name or a NIR in the free text
reached quarantine.csv in clear. Now no field's position is trusted in such a row:
every field is keyed but blanks, valid dates and times, codes of the profile's tables
and lab codes (:func:`labforensics.privacy.redact_unplaced_record`), and the reason
says so (:data:`labforensics.ingest.protection.UNPLACED_NOTE`). The expected texts are
worked out field by field in the comments; a keyed id is named by the function that
computes it (``P``: ``pseudonymise_one(key, lab, value)``, ``R``: ``request_id``).

QA session 9, item 2: an unplaced field whose value the evidence does not show as an IPP
or a request number was a ``P`` id (the patient prefix) that ``reidentify`` could not
resolve; it is now a ``U`` id (``unplaced_id``: its own namespace), and ``reidentify``
gives it back from the evidence (:func:`test_reidentify_gives_unplaced_values_back`).
"""

from __future__ import annotations

import pytest

from labforensics.ingest import read_evidence
from labforensics.ingest.protection import UNPLACED_NOTE
from labforensics.privacy import (
    CaseKey,
    pseudonymise_one,
    redact_unplaced_record,
    request_id,
    time_value,
    unplaced_id,
)
from lis_headers import LEGACY_HEADER

KEY = CaseKey(bytes(range(32)))
LEG = LEGACY_HEADER + "\r\n"
GOOD = "01/03/2019;09:00:00;L01;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;AB7700;D1;;"
NAME = "DUPONT Jeanne"
NIR = "2 69 04 99 123 456 46"  # key 97 - (2690499123456 mod 97) = 46: a valid NIR


def P(v: str, lab: str = "L01") -> str:
    return pseudonymise_one(KEY, lab, v)


def R(v: str, lab: str = "L01") -> str:
    return request_id(KEY, lab, v)


def U(v: str, lab: str = "L01") -> str:
    return unplaced_id(KEY, lab, v)


def _quarantine(tmp_path, *rows: str):
    f = tmp_path / "AUDIT_L01_20190301.csv"
    f.write_bytes((LEG + GOOD + "\r\n" + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    ev = read_evidence(f, case_key=KEY)
    assert len(ev.quarantine) == 1 and len(ev.events) == len(rows)
    return ev.quarantine


def test_short_row_with_the_ipp_shifted_left(tmp_path):
    # 11 fields of 15: SITE, POSTE, IP and NB_ENREG missing, so the IPP "AB7731" sits in
    # column 9 and column 12 (the IPP's) does not exist. Before: 4 fields missing read as
    # "cut short, fields in place", only column 12 keyed: "AB7731", the name and the NIR
    # were written as logged. Now: date, time, lab L01, TECHNICIEN (role), RESULTATS
    # (module), CONSULTATION (action), OK (outcome) and the blank stay; the account "u1",
    # the IPP and the free text become U ids of (L01, value) (P ids before session 9)
    q = _quarantine(
        tmp_path,
        f"01/03/2019;10:00:00;L01;u1;TECHNICIEN;RESULTATS;CONSULTATION;OK;AB7731;;{NAME} {NIR}",
    )
    assert q["source_line"].tolist() == [3]
    assert q["raw"].iloc[0] == (
        f"01/03/2019;10:00:00;L01;{U('u1')};TECHNICIEN;RESULTATS;CONSULTATION;OK;"
        f"{U('AB7731')};;{U(f'{NAME} {NIR}')}"
    )
    assert q["reason"].iloc[0] == "wrong field count: 11 fields, expected 15" + UNPLACED_NOTE
    text = q.astype(str).to_csv()
    for raw in ("AB7731", "DUPONT", "Jeanne", "2690499", "69 04 99", "u1;"):
        assert raw not in text


@pytest.mark.parametrize("seen", [True, False])
def test_long_row_with_the_ipp_shifted_right(tmp_path, seen):
    # 17 fields of 15: a login written "dupont;j" (unquoted) and a free text "vu;DUPONT
    # Jeanne NIR" add two separators. Fields, 0-based: 11 "OK", 12 the IPP "AB7732"
    # (column 11 in a good row), 13 the request number "D9", 14 blank, 15 "vu", 16 the
    # name and NIR. Before: columns 11-13 were keyed and the name and NIR shown as logged.
    # Now: S1, dupont, j, PC1, 10.0.0.1, vu and the text are U ids; date, time, L01 and the
    # codes stay. Which field is the IPP cannot be told, so the IPP and the request number
    # are U ids too (a guess of R by the nearest column before session 9)... unless the
    # evidence shows the value as an IPP: when a good row of patient AB7732 was read
    # (seen), field 12 is that patient's own P id, as in the events
    good = GOOD.replace("AB7700", "AB7732") if seen else GOOD
    row = (
        "01/03/2019;10:00:00;L01;S1;dupont;j;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;"
        f"OK;AB7732;D9;;vu;{NAME} {NIR}"
    )
    f = tmp_path / "AUDIT_L01_20190301.csv"
    f.write_bytes((LEG + good + "\r\n" + row + "\r\n").encode("cp1252"))
    ev = read_evidence(f, case_key=KEY)
    q = ev.quarantine
    ipp = P("AB7732") if seen else U("AB7732")
    assert q["raw"].iloc[0] == (
        f"01/03/2019;10:00:00;L01;{U('S1')};{U('dupont')};{U('j')};TECHNICIEN;{U('PC1')};"
        f"{U('10.0.0.1')};RESULTATS;CONSULTATION;OK;{ipp};{U('D9')};;{U('vu')};"
        f"{U(f'{NAME} {NIR}')}"
    )
    if seen:
        assert ev.events["patient"].tolist() == [P("AB7732")]
    assert q["reason"].iloc[0] == "wrong field count: 17 fields, expected 15" + UNPLACED_NOTE
    text = q.astype(str).to_csv()
    for raw in ("AB7732", "DUPONT", "Jeanne", "2690499", "69 04 99", "dupont"):
        assert raw not in text


def test_row_of_the_right_width_keeps_its_fields(tmp_path):
    # 15 fields, a bad date: positions are trusted, so only the IPP (P) and the request
    # number (R) are keyed, as before; the reason has no note
    row = "31/02/2019;10:00:00;L01;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;AB7733;D3;;vu"
    q = _quarantine(tmp_path, row)
    assert q["raw"].iloc[0] == row.replace("AB7733", P("AB7733")).replace(";D3;", f";{R('D3')};")
    assert q["reason"].iloc[0].startswith("unparseable date '31/02/2019'")
    assert not q["reason"].iloc[0].endswith(UNPLACED_NOTE)


def test_a_value_quoted_by_a_reason_is_redacted(tmp_path):
    # right width, but the DATE field holds the IPP "40000777" of a good row: the reason
    # quotes it, so its digits are keyed there too (P of (L01, "40000777"))
    good2 = GOOD.replace("AB7700", "40000777").replace("09:00:00", "09:30:00")
    row = "40000777;10:00:00;L01;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;;D3;;"
    q = _quarantine(tmp_path, good2, row)
    assert q["reason"].iloc[0].startswith(f"unparseable date '{P('40000777')}'")
    assert "40000777" not in q.astype(str).to_csv()


def test_mapped_lab_field_keys_the_ids_of_a_short_row(tmp_path):
    # a FINESS number in the lab field, mapped to L01: it is a known lab, so the ids are
    # (L01, value)'s; digits alone are never proven harmless: the FINESS is keyed too
    row = "01/03/2019;10:00:00;750000001;u1;AB7734"
    f = tmp_path / "AUDIT_L09_20190301.csv"
    f.write_bytes((LEG + row + "\r\n").encode("cp1252"))
    q = read_evidence(f, case_key=KEY, lab_aliases={"750000001": "L01"}).quarantine
    assert q["raw"].iloc[0] == f"01/03/2019;10:00:00;{U('750000001')};{U('u1')};{U('AB7734')}"


REGEX_PROFILE = """
name = "portal"
format = "regex"
encoding = "utf-8"
pattern = '^(?P<t>\\S+) (?P<u>\\S+) (?P<a>\\S+) ipp=(?P<i>\\S+)$'
[columns]
account = "u"
action = "a"
ipp = "i"
[timestamp]
column = "t"
format = "iso8601"
"""


def test_regex_profile_lines_not_read_are_keyed_but_codes_and_times(tmp_path):
    # a regex profile that maps an IPP: a line it does not match, and a matched line with
    # a bad time, have no placed field; each run of non-blank characters is keyed (lab:
    # read_evidence(lab="L05")) but the valid time and the action code CONSULTATION
    prof = tmp_path / "portal.toml"
    prof.write_text(REGEX_PROFILE, encoding="utf-8")
    log = tmp_path / "ev" / "portal.log"
    log.parent.mkdir()
    log.write_text(
        "2019-03-01T09:00:00+01:00 alice CONSULTATION ipp=AB1\n"
        "2019-03-01T09:01:00+01:00 alice CONSULTATION AB7735 DUPONT\n"
        "2019-13-01T09:02:00+01:00 bob CONSULTATION ipp=AB7736\n",
        encoding="utf-8",
    )
    ev = read_evidence(log, case_key=KEY, profile=prof, lab="L05")
    assert len(ev.events) == 1
    q = ev.quarantine
    assert q["raw"].tolist() == [
        "2019-03-01T09:01:00+01:00 "
        + " ".join([U("alice", "L05"), "CONSULTATION", U("AB7735", "L05"), U("DUPONT", "L05")]),
        " ".join(U(v, "L05") for v in ("2019-13-01T09:02:00+01:00", "bob"))
        + " CONSULTATION "
        + U("ipp=AB7736", "L05"),
    ]
    assert q["reason"].str.endswith(UNPLACED_NOTE).all()


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("01/03/2019", True),
        ("2019-03-01", True),
        ("01.03.2019", True),
        ("10:00", True),
        ("10:00:00.123", True),
        ("2019-03-01T10:00:00+01:00", True),
        ("2019-03-01 10:00:00Z", True),
        ("31/02/2019", False),  # no such day
        ("24:00:00", False),  # not on a clock
        ("20190301", False),  # digits alone: could be an identifier
        ("1/3/2019", False),
        ("01/03-2019", False),  # two separators that differ
        ("AB7731", False),
    ],
)
def test_time_value(value, ok):
    assert time_value(value) is ok


def test_redact_unplaced_record_keeps_quotes_shape_and_ids():
    # fields: quoted "a;b" (one field), blank, an id already written, a date: the first
    # is keyed (its value a;b, quotes dropped), the others stay; separators stay
    p = P("x")
    text = f'"a;b";;{p};01/03/2019;  '
    out = redact_unplaced_record(text, KEY, "L01", separator=";", quote='"', keep=time_value)
    assert out == f"{U('a;b')};;{p};01/03/2019;  "


# --- FHIR and ATNA records quarantined: masked by key, and a record cut inside a value ----


def test_fhir_record_cut_inside_an_identifier_hides_it(tmp_path):
    # invalid JSON (the record ends inside the identifier's value, and a name is shown as
    # the display of the patient's reference): the value to the end, the display and the
    # entity's name are masked; before, "PAT-77" and "DUPONT Jeanne" were written as logged
    from labforensics.ingest.readers.fhir import read_fhir
    from labforensics.ingest.registry import ReadContext

    rec = (
        '{"resourceType":"AuditEvent","entity":[{"what":{"reference":"Patient/PAT-77",'
        '"display":"DUPONT Jeanne"},"name":"DUPONT Jeanne"}],"agent":[{"who":{"identifier":'
        '{"value":"PAT-77'
    )
    p = tmp_path / "audit.ndjson"
    p.write_text(rec + "\n", encoding="utf-8")
    r = read_fhir(p, ReadContext(source_file="audit.ndjson", lab="L01"))
    (q,) = r.quarantine
    assert q.raw == (
        '{"resourceType":"AuditEvent","entity":[{"what":{"reference":"Patient/[REDACTED]",'
        '"display":"[REDACTED]"},"name":"[REDACTED]"}],"agent":[{"who":{"identifier":'
        '{"value":"[REDACTED]'
    )


def test_atna_message_cut_inside_a_participant_object_hides_it(tmp_path):
    from labforensics.ingest.readers.atna import read_atna
    from labforensics.ingest.registry import ReadContext

    msg = (
        '<AuditMessage><EventIdentification EventActionCode="R" '
        'EventDateTime="2024-05-02T09:15:00+02:00" EventOutcomeIndicator="0">'
        '<EventID csd-code="110110"/></EventIdentification>'
        '<ParticipantObjectIdentification ParticipantObjectID="PAT-1234'
    )
    p = tmp_path / "audit.xml"
    p.write_text(msg, encoding="utf-8")
    r = read_atna(p, ReadContext(source_file="audit.xml", lab="L01"))
    (q,) = r.quarantine
    assert q.raw.endswith('ParticipantObjectID="[REDACTED]') and "PAT-1234" not in q.raw
