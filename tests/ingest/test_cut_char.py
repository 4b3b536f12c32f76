"""A file cut inside a character at its very end is listed in ``truncated_files``
(QA session 12: it was read whole and not listed). Hand-made bytes: ``é`` is C3 A9 in
UTF-8, ``€`` E2 82 AC; a file ending in C3, or in E2 82, was cut mid-character."""

from __future__ import annotations

import numpy as np
import pytest

from labforensics.ingest import read_evidence
from labforensics.ingest._cut_char import cut_char_note
from labforensics.ingest.files import utf16_to_utf8_accounted
from labforensics.privacy import CaseKey
from lis_headers import CURRENT_HEADER as CUR_HDR
from lis_headers import LEGACY_HEADER as LEG_HDR

KEY = CaseKey(bytes(range(32)))


def cur_row(com: str) -> str:
    return (
        "2021-03-01T09:00:00+01:00;L07;S1;bob;technicien;PC1;10.0.0.1;saisie;consultation;"
        f"succes;40000025;D1;;;s1;{com}"
    )


def leg_row() -> str:
    return "01/03/2017;09:00:00;L07;S1;bob;TECHNICIEN;PC1;10.0.0.1;SAISIE;CONSULTATION;OK;40000025;D1;;"


@pytest.mark.parametrize(
    ("data", "note"),
    [
        (b"a\nb\xc3", "last line 2 cut inside a UTF-8 character (the file ends mid-character)"),
        (
            b"a\nb\nc\xe2\x82",
            "last line 3 cut inside a UTF-8 character (the file ends mid-character)",
        ),
        (b"\xf0\x9f\x98", "last line 1 cut inside a UTF-8 character (the file ends mid-character)"),
        (b"a\nb\xc3\xa9", ""),  # a whole character: a last line without its end, not a cut
        (b"a\xc3\n", ""),  # ends with a line end: the byte is damage, counted elsewhere
        (b"a\nb\xff", ""),  # no UTF-8 lead byte: damage, not a cut
        (b"a\xff\nb\xc3", ""),  # not UTF-8 before the end: not read as a cut
        (b"a\nb\xe0\x80", ""),  # E0 80 starts no valid character (overlong)
        (b"", ""),
    ],
)
def test_cut_char_note(data, note):
    assert cut_char_note(data) == note


def test_cut_char_note_utf16():
    # "a\nb" then an odd last byte: its escape (U+FFFD, x, 2 hex = 6 bytes) ends the text
    utf8, where = utf16_to_utf8_accounted(
        "a\nb".encode("utf-16-le").join([b"\xff\xfe", b""]) + b"A"
    )
    assert utf8.endswith(b"\xef\xbf\xbdx41")
    assert cut_char_note(utf8, where) == (
        "last line 2 cut inside a UTF-16 character (the file ends mid-character)"
    )
    whole, w2 = utf16_to_utf8_accounted(b"\xff\xfe" + "a\nb".encode("utf-16-le"))
    assert cut_char_note(whole, w2) == "" and len(w2) == 0
    assert cut_char_note(b"a\n\xef\xbf\xbdx41b", np.array([2])) == ""  # damage mid-file


def test_current_lis_file_cut_mid_character_is_truncated(tmp_path):
    # two rows, the second's comment "caf" + C3: cut inside "é"
    text = ("\n".join([CUR_HDR, cur_row(com="ok"), cur_row(com="caf")])).encode() + b"\xc3"
    (tmp_path / "audit_L07_2021-03-01.csv").write_bytes(b"\xef\xbb\xbf" + text)
    (tmp_path / "audit_L07_2021-03-02.csv").write_bytes(  # a whole é without a line end
        b"\xef\xbb\xbf" + "\n".join([CUR_HDR, cur_row(com="café")]).encode()
    )
    ev = read_evidence(tmp_path, case_key=KEY)
    assert ev.report.truncated_files == ["audit_L07_2021-03-01.csv"]
    f = next(x for x in ev.report.files if x.source_file == "audit_L07_2021-03-01.csv")
    assert "last line 3 cut inside a UTF-8 character" in f.truncation_note
    # the cut row is a partial record, as after a gzip cut: quarantined, not an event
    assert len(ev.events) == 2
    q = ev.quarantine
    assert q["source_file"].tolist() == ["audit_L07_2021-03-01.csv"]
    assert q["source_line"].tolist() == [3]
    assert q["reason"].tolist() == [
        "record cut short: partial last line ending inside a character (no line end)"
    ]
    assert f.truncation_note == (
        "last line 3 cut inside a UTF-8 character (the file ends mid-character)"
    )


def test_legacy_cp1252_file_ending_in_e_acute_is_not_cut(tmp_path):
    # cp1252 "é" is E9, a UTF-8 lead byte: in a cp1252 file it is a whole character
    row = leg_row().encode("cp1252") + "é".encode("cp1252")
    (tmp_path / "AUDIT_L07_20170301.csv").write_bytes(LEG_HDR.encode() + b"\r\n" + row)
    ev = read_evidence(tmp_path, case_key=KEY)
    assert ev.report.truncated_files == []


def test_syslog_cut_mid_character_is_truncated(tmp_path):
    lines = [
        b"Mar  1 10:00:00 host1 sshd[12]: Accepted password for alice from 10.0.0.1 port 22 ssh2",
        b"Mar  1 10:05:00 host1 sshd[13]: Accepted password for h\xc3\xa9l\xc3",
    ]
    p = tmp_path / "auth.log"
    p.write_bytes(b"\n".join(lines))
    ev = read_evidence(p, case_key=KEY, year=2019)
    assert ev.report.truncated_files == ["auth.log"]
    (f,) = ev.report.files
    assert f.truncation_note == (
        "last line 2 cut inside a UTF-8 character (the file ends mid-character)"
    )


def test_gzip_cut_inside_a_character_keeps_the_gzip_reason(tmp_path):
    # the gzip cut explains the end: no second note, the partial record quarantined once
    import gzip
    import zlib

    text = b"\xef\xbb\xbf" + "\n".join([CUR_HDR, cur_row("ok"), cur_row("caféééééé")]).encode()
    comp = gzip.compress(text)[:-12]
    assert zlib.decompressobj(31).decompress(comp).endswith(b";caf\xc3")  # cut inside é
    (tmp_path / "audit_L07_2021-03-01.csv.gz").write_bytes(comp)
    ev = read_evidence(tmp_path, case_key=KEY)
    (f,) = ev.report.files
    assert f.truncated and "inside a UTF-8 character" not in f.truncation_note
    assert "gzip" in f.truncation_note
