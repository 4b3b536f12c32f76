"""The lead's privacy module (keyed pseudonyms, NIR keys, redaction) and its use in ingest."""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labforensics._privacy_text import nir_compact, nir_in_text
from labforensics.errors import CaseKeyError
from labforensics.ingest import read_evidence
from labforensics.ingest._numeric_ids import nir_cells
from labforensics.ingest._structured_ids import key_nirs
from labforensics.privacy import (
    CaseKey,
    Redactor,
    load_case_key,
    nir_hash,
    nir_key_is_valid,
    pseudonymise,
    pseudonymise_one,
    redact_identifiers,
    unplaced_id,
)
from lis_headers import LEGACY_HEADER

HEADER = LEGACY_HEADER + "\r\n"


def test_pseudonym_is_keyed_and_per_lab(test_key):
    p = pseudonymise_one(test_key, "L01", "40000001")
    assert p.startswith("P") and len(p) == 17  # P + 16 hex digits
    assert p == pseudonymise_one(test_key, "L01", "40000001")  # deterministic under one key
    assert p != pseudonymise_one(test_key, "L02", "40000001")  # an IPP is unique per lab only
    other = CaseKey(bytes(range(1, 33)))
    assert p != pseudonymise_one(other, "L01", "40000001")  # another key, another pseudonym


def test_pseudonymise_series_missing_and_whitespace(test_key):
    out = pseudonymise(
        test_key, pd.Series(["L01", "L01", "L01"]), pd.Series([" 40000001 ", "", None])
    )
    # surrounding spaces are not part of the IPP; empty and missing give no patient
    assert out.iloc[0] == pseudonymise_one(test_key, "L01", "40000001")
    assert out.iloc[1:].isna().all()


def test_case_key_errors_and_fingerprint(test_key):
    with pytest.raises(CaseKeyError):
        CaseKey(b"short")
    with pytest.raises(CaseKeyError):
        load_case_key("not hex at all!")
    assert load_case_key(bytes(range(32))).fingerprint == test_key.fingerprint
    assert len(test_key.fingerprint) == 16 and test_key.secret.hex() not in repr(test_key)


def test_nir_key_worked_example():
    # 1 85 05 78 006 084: 1850578006084 mod 97 = 6, key = 97 - 6 = 91
    assert nir_key_is_valid("1850578006084", "91")
    assert not nir_key_is_valid("1850578006084", "90")
    # Corsica 2A reads as 19: 2690219005012 mod 97 = 50, key 47
    assert nir_key_is_valid("269022A005012", "47")


def test_redact_identifiers():
    text = "NIR 1 85 05 78 006 084 91, mail jean.dupont@example.fr, tel 06 12 34 56 78"
    assert redact_identifiers(text) == "NIR [NIR], mail [EMAIL], tel [PHONE]"
    # a 15-digit number of NIR shape with a wrong key (91 is right) is still a person's
    # NIR: redacted whatever its key (privacy by default)
    assert redact_identifiers("ref 185057800608490") == "ref [NIR]"
    # no NIR shape (sex digit 5 or 0): kept
    assert redact_identifiers("ref 585057800608491") == "ref 585057800608491"
    assert redact_identifiers("ref 085057800608491") == "ref 085057800608491"


def test_redactor_replaces_known_ipps_as_tokens_only(test_key):
    red = Redactor(test_key, {"L01": ["40000001"]})
    p = pseudonymise_one(test_key, "L01", "40000001")
    assert red.redact("patient 40000001 vu", "L01") == f"patient {p} vu"
    assert red.redact("lot 140000001", "L01") == "lot 140000001"  # inside a longer number


def test_no_raw_ipp_in_events_or_quarantine(tmp_path, test_key):
    rows = [
        "05/03/2018;10:00:00;L02;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;"
        "40000777;D1;;vu 40000777 et 40000888 tel 06 12 34 56 78",
        "05/03/2018;10:01:00;L02;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;"
        "40000888;D2;;",
        "05/03/2018;10:02:00;L02;S1;u1;TECHNICIEN;40000777;too;few",  # quarantined
    ]
    f = tmp_path / "AUDIT_L02_20180305.csv"
    f.write_bytes((HEADER + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    ev = read_evidence(f, case_key=test_key)
    text = ev.events.astype(str).to_csv() + ev.quarantine.astype(str).to_csv()
    # the raw IPPs never leave ingest; the pseudonyms do
    assert "40000777" not in text and "40000888" not in text
    p7 = pseudonymise_one(test_key, "L02", "40000777")
    p8 = pseudonymise_one(test_key, "L02", "40000888")
    assert ev.events["patient"].tolist() == [p7, p8]
    assert ev.events["detail"].iloc[0] == f"vu {p7} et {p8} tel [PHONE]"
    assert p7 in ev.quarantine["raw"].iloc[0]
    assert ev.case_key_fingerprint == test_key.fingerprint


def test_wrong_key_nir_never_raw_in_events_or_quarantine(tmp_path, test_key):
    # 1 85 05 78 006 084 has key 91 (test_nir_key_worked_example) and 2 69 02 2B 005 012
    # key 74 (tests/leak/test_nir.py): written with keys 90 and 47, a typo in a person's
    # NIR. Spaced, no run of 5 digits holds them: before, they reached the events' detail
    # and the quarantined line in clear.
    assert not nir_key_is_valid("1850578006084", "90")
    assert not nir_key_is_valid("269022B005012", "47")
    pre = "05/03/2018;10:0{m}:00;L02;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;"
    rows = [
        pre.format(m=0) + "40000777;D1;;appel CPAM NIR 1 85 05 78 006 084 90 cle fausse",
        pre.format(m=1) + "40000888;D2;;nir=185057800608490",
        # quarantined (no such date), of the header's width: its fields kept but the IPP
        # and the request number (keyed)
        (pre.format(m=2) + "40000888;D2;;NIR 1.85.05.78.006.084.90 et 2 69 02 2b 005 012 47")
        .replace("05/03/2018", "32/13/2018"),
    ]  # fmt: skip
    f = tmp_path / "AUDIT_L02_20180305.csv"
    f.write_bytes((HEADER + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    ev = read_evidence(f, case_key=test_key)
    assert ev.events["detail"].tolist() == ["appel CPAM NIR [NIR] cle fausse", "nir=[NIR]"]
    assert len(ev.quarantine) == 1
    assert ev.quarantine["raw"].iloc[0].endswith(";;NIR [NIR] et [NIR]")
    text = ev.events.astype(str).to_csv() + ev.quarantine.astype(str).to_csv()
    for body in ("1850578006084", "269022B005012"):  # the 13 digits, any separators
        assert not re.search(r"[\s./\-]?".join(body), text, re.IGNORECASE), body


# A number of NIR shape, any key: sex digit, year, month, then a 2-digit department (or
# 2A/2B) and a 3-digit commune or a 97x/98x department and a 2-digit commune, order, key;
# any separator the NIR pattern accepts (or none) between two groups.
_DIGITS = "0123456789"
_NIR_SEPS = ["", " ", ".", "-", "\u00a0", "\u202f", "/"]


@st.composite
def nir_shaped(draw):
    def d(n):
        return draw(st.text(_DIGITS, min_size=n, max_size=n))

    if draw(st.booleans()):
        corsica = st.sampled_from(["2A", "2B", "2a", "2b"])
        place = [draw(corsica | st.text(_DIGITS, min_size=2, max_size=2)), d(3)]
    else:
        place = [draw(st.sampled_from(["97", "98"])) + d(1), d(2)]
    groups = [draw(st.sampled_from("123478")), d(2), d(2), *place, d(3), d(2)]
    seps = draw(st.lists(st.sampled_from(_NIR_SEPS), min_size=6, max_size=6))
    return groups[0] + "".join(s + g for s, g in zip(seps, groups[1:], strict=True))


@settings(max_examples=300, deadline=None)
@given(nir_shaped())
def test_any_nir_shaped_number_is_redacted_keyed_and_withheld_whatever_its_key(s):
    key = CaseKey(bytes(range(32)))
    compact = re.sub(r"[^0-9A-Za-z]", "", s).upper()
    assert len(compact) == 15 and nir_compact(s) == compact
    # free text: tagged; a structured column: keyed on its 15 characters; a count: withheld
    assert redact_identifiers(f"NIR {s} fin") == "NIR [NIR] fin"
    assert key_nirs(f"pc-{s}", key) == "pc-" + nir_hash(key, compact)
    assert nir_cells(pa.array([s, "12"])).tolist() == [True, False]
    # with a valid key, the id is the normalised NIR's, as before (the linkage's value)
    valid = nir_in_text(s)
    assert valid is None or valid == compact


def test_nir_glued_to_letters_is_tagged_and_pseudonyms_kept(test_key):
    # 2 69 04 99 123 456, key 97 - (2690499123456 mod 97) = 46: a valid NIR
    assert nir_key_is_valid("2690499123456", "46")
    assert redact_identifiers("x269049912345646y") == "x[NIR]y"
    assert redact_identifiers("NIR 185057800608491 fin") == "NIR [NIR] fin"
    assert redact_identifiers("a2690499123456461") == "a2690499123456461"  # 16 digits: no NIR
    p = pseudonymise_one(test_key, "L01", "40000001")
    assert redact_identifiers(f"see {p}") == f"see {p}"  # a pseudonym is never rewritten


@pytest.mark.parametrize(
    ("ipp_field", "extra"),
    [("AB7731", "a;b"), ("7731", "c;d"), ("40000001", "e;f;g")],
)
def test_wrong_width_row_never_shows_its_ipp(tmp_path, test_key, ipp_field, extra):
    """An extra separator before the IPP shifts it right: the quarantined text must
    not show it in clear, whatever its shape (short, alphanumeric)."""
    row = (
        f"01/03/2019;10:00:00;L01;S1;{extra};TECHNICIEN;PC1;10.0.0.1;RESULTATS;"
        f"CONSULTATION;OK;{ipp_field};D1;;\r\n"
    )
    (tmp_path / "AUDIT_L01_20190301.csv").write_bytes((HEADER + row).encode("cp1252"))
    ev = read_evidence(tmp_path, case_key=test_key)
    assert len(ev.events) == 0 and len(ev.quarantine) == 1
    raw = ev.quarantine["raw"].iloc[0]
    assert ipp_field not in raw.split(";")
    # no field's position can be trusted: it is keyed as an unplaced value (a U id, QA
    # session 9; an R id by its column's role before): never in clear, never a patient's id
    assert unplaced_id(test_key, "L01", ipp_field) in raw
    assert ";TECHNICIEN;" in raw and ";RESULTATS;" in raw  # fields before the window kept


def test_short_rows_show_only_dates_times_and_lab_codes(tmp_path, test_key):
    # a row of 1 or 5 fields where 15 are expected: no field's position can be trusted, so
    # every field is keyed (U of (L01, value) since QA session 9, P before) but the date, the
    # time and the lab code (QA, session 8: was shown as logged, "-5.2" and "u1" included)
    rows = HEADER + "-5.2\r\n" + "01/03/2019;10:00:00;L01;S1;u1\r\n"
    (tmp_path / "AUDIT_L01_20190301.csv").write_bytes(rows.encode("cp1252"))
    ev = read_evidence(tmp_path, case_key=test_key)
    p = {v: unplaced_id(test_key, "L01", v) for v in ("-5.2", "S1", "u1")}
    assert ev.quarantine["raw"].tolist() == [
        p["-5.2"],
        f"01/03/2019;10:00:00;L01;{p['S1']};{p['u1']}",
    ]
    assert ev.quarantine["reason"].str.endswith("times, codes and lab codes").all()


def test_missing_separator_before_ipp_is_covered(tmp_path, test_key):
    # RESULTAT and IPP merged by a lost separator: 14 fields, the IPP pulled left
    row = "01/03/2019;10:00:00;L01;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;AB7731;D1;;\r\n"
    (tmp_path / "AUDIT_L01_20190301.csv").write_bytes((HEADER + row).encode("cp1252"))
    raw = read_evidence(tmp_path, case_key=test_key).quarantine["raw"].iloc[0]
    assert "AB7731" not in raw and unplaced_id(test_key, "L01", "AB7731") in raw
