"""A leak list or a patient index (``leak/index.py``'s small tables) whose bytes are not
text of its encoding (QA session 10, item 7): they were read as U+FFFD with nothing said.
Now a leak-list line holding one is set aside with its line and reason (quarantine.csv),
such a header and a patient index holding one are an error naming the file, the count
and the lines, never a value."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.errors import AttributionError
from labforensics.leak.quarantine import list_quarantine
from labforensics.leak.reader import read_leak
from labforensics.privacy import CaseKey, pseudonymise_one

KEY = CaseKey(bytes(range(32)))
#: cp1252 (an é, 0xE9, in line 2's note: not UTF-8), line 3's note holds 0x81 and line
#: 5's two 0x9D: bytes cp1252 leaves undefined
LIST = (b"lab;ipp;note\nL01;40000001;caf\xe9\nL01;40000002;x\x81y\nL01;40000003;ok\n"
        b"L01;40000004;\x9d\x9d\n")  # fmt: skip
WHY = "undecodable byte(s) (cp1252) read as U+FFFD followed by its hex (xNN): not used"


def test_leak_list_lines_with_undecodable_bytes_set_aside(tmp_path):
    p = tmp_path / "ids.csv"
    p.write_bytes(LIST)
    r = read_leak(p, case_key=KEY, labs=["L01"])
    rep = r.attrs["leak_report"]
    # by hand: header, lines 2 and 4 used (the é is cp1252 text), lines 3 and 5 set aside
    assert rep["lines_read"] == 5 and rep["rows_used"] == 2 and rep["malformed"] == 2
    assert rep["rejected"] == [{"line": 3, "reason": WHY}, {"line": 5, "reason": WHY}]
    assert sorted(r["leak_id"]) == sorted(
        pseudonymise_one(KEY, "L01", ipp) for ipp in ("40000001", "40000003")
    )
    q = list_quarantine(rep)  # the rows quarantine.csv gets
    assert q["source_line"].tolist() == [3, 5]
    assert q["reason"].tolist() == [f"leak list: {WHY}"] * 2 and q["raw"].isna().all()


def test_undecodable_header_is_an_error(tmp_path):
    p = tmp_path / "ids.csv"
    p.write_bytes(b"lab;ipp;n\x81te\nL01;40000001;x\n")
    with pytest.raises(AttributionError) as exc:
        read_leak(p, case_key=KEY, labs=["L01"])
    assert str(exc.value) == (
        "leak file ids.csv: 1 undecodable byte(s) (cp1252) read as U+FFFD followed by its "
        "hex (xNN): line(s) 1, its header among them"
    )


def test_patient_index_with_undecodable_bytes_is_an_error(tmp_path):
    idx = tmp_path / "PATIENTS.csv"
    # line 3's NIR holds 0x8F (undefined in cp1252); line 2 has an é (0xE9): cp1252
    idx.write_bytes(
        b"IPP;NIR;LABO;NOM\n7;185079721200508;L01;H\xe9lo\n8;28507972\x8f200508;L01;X\n"
    )
    nirs = pd.DataFrame({"NIR": ["185079721200508"]})
    with pytest.raises(AttributionError) as exc:
        read_leak(nirs, case_key=KEY, patient_index=idx)
    msg = str(exc.value)
    assert msg.startswith(
        "patient index PATIENTS.csv: 1 undecodable byte(s) (cp1252) read as U+FFFD followed "
        "by its hex (xNN): line(s) 3; those rows' identifiers cannot be trusted"
    )
    assert "28507972" not in msg and "185079721200508" not in msg  # never a value


def test_clean_utf16_and_utf8_read_as_before(tmp_path):
    p = tmp_path / "ids.csv"
    p.write_bytes("lab;ipp\nL01;40000001\n".encode("utf-16"))
    rep = read_leak(p, case_key=KEY, labs=["L01"]).attrs["leak_report"]
    assert rep["rows_used"] == 1 and rep["rejected"] == []


def test_index_error_names_the_lines_never_the_bytes(tmp_path):
    """QA session 11, item 9: a patient index with a byte that is neither UTF-8 nor cp1252
    (0x81, line 3) was refused without a line; the error names the count and lines."""
    from labforensics.errors import EvidenceError
    from labforensics.leak._tables import decode

    rows = ["IPP;NOM;PRENOM", "1001;DURAND;Paul", "1002;DUR\x81AND;Jos\xe9", "1003;MARTIN;Léa"]
    data = "\n".join(rows).encode("latin-1")
    with pytest.raises(EvidenceError) as exc:
        decode(data, tmp_path / "PATIENTS_L01.csv", None)
    msg = str(exc.value)
    assert "bytes that are not utf-8 nor cp1252, on 1 line(s): 3; expected" in msg
    assert "DUR" not in msg and "1002" not in msg  # nothing of the patient
    # each line readable, but in two encodings: the lines each one fails on are named
    data = "é\n".encode() + "è\x81\n".encode("latin-1") + "ü\n".encode("cp1252")
    with pytest.raises(EvidenceError, match=r"on 1 line\(s\): 2;"):
        decode(data, tmp_path / "P.csv", None)
    data = "é\n".encode() + "è\n".encode("cp1252") + "ü\x81\n".encode()
    with pytest.raises(EvidenceError, match=r"not utf-8 on 1 line\(s\): 2, not cp1252 on "
                                            r"1 line\(s\): 3; expected"):  # fmt: skip
        decode(data, tmp_path / "P.csv", None)


def test_small_text_escapes_each_undecodable_byte(tmp_path):
    """Session 13's leftover: ``_read_text`` read each undecodable byte as a bare U+FFFD
    (``x\x81y`` and ``x\x8dy`` one text). Now as the evidence readers: U+FFFD and the
    byte's hex, counted per byte and placed by line. By hand: line 3 holds 81, line 5
    two 9D (3 bytes, lines 3 and 5); UTF-16 (LE, BOM) with an odd last byte: 1 byte,
    line 2."""
    from labforensics.leak.index import _read_text

    p = tmp_path / "ids.csv"
    p.write_bytes(LIST)
    got = _read_text(p, "leak file")
    assert (got.encoding, got.replaced, got.lines) == ("cp1252", 3, (3, 5))
    assert "x\ufffdx81y" in got.text and "\ufffdx9d\ufffdx9d" in got.text
    assert got.note("leak file", p) == (
        "leak file ids.csv: 3 undecodable byte(s) (cp1252) read as U+FFFD followed by its "
        "hex (xNN): line(s) 3, 5"
    )
    p.write_bytes(b"\xff\xfe" + "a\nb".encode("utf-16-le") + b"c")  # an odd last byte
    got = _read_text(p, "leak file")
    assert (got.encoding, got.replaced, got.lines, got.text) == (
        "utf-16",
        1,
        (2,),
        "a\nb\ufffdx63",
    )
