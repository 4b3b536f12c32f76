"""A cut last line is a partial record wherever it is read (session 13's leftover): a
cp1252 file whose last line is UTF-8 was not looked at, and the line readers (regex
profiles, syslog) kept a last line cut inside a character (or after a gzip cut) as a
row. Hand-made bytes: ``é`` is C3 A9 in UTF-8 and E9 in cp1252; a UTF-8 line ending in
C3 was cut inside ``é``."""

from __future__ import annotations

import gzip
import zlib

import pytest

from labforensics.ingest import read_evidence
from labforensics.ingest._cut_char import CUT_AFTER_GZIP, CUT_INSIDE_CHAR, cut_char_note
from labforensics.privacy import CaseKey
from lis_headers import LEGACY_HEADER
from profile_texts import regex_profile

KEY = CaseKey(bytes(range(32)))
NOTE2 = "last line 2 cut inside a UTF-8 character (the file ends mid-character)"


@pytest.mark.parametrize(
    ("data", "note"),
    [
        (b"caf\xe9\nh\xc3\xa9l\xc3", NOTE2),  # line 1 cp1252, line 2 UTF-8 cut in é
        (b"a\nh\xc3\xa9l\xc3", NOTE2),
        (b"a\nb\xc3", ""),  # an ASCII line then C3: read as "Ã", no UTF-8 to cut
        (b"a\ncaf\xe9", ""),  # cp1252 é at the end (E9 is a UTF-8 lead byte too)
        (b"a\nh\xc3\xa9l\xc3\xa9", ""),  # a whole é
        (b"h\xc3\xa9l\xc3\n", ""),  # a line end: not a cut
    ],
)
def test_single_byte_file_cut_inside_a_utf8_last_line(data, note):
    assert cut_char_note(data, single_byte=True) == note
    # read as UTF-8, a mixed file is not UTF-8 text cut inside a character
    if data.startswith(b"caf\xe9"):
        assert cut_char_note(data) == ""


def test_legacy_cp1252_file_with_a_cut_utf8_last_line(tmp_path):
    row = "01/03/2017;09:00:00;L07;S1;{a};TECHNICIEN;PC1;10.0.0.1;SAISIE;CONSULTATION;OK;;D1;;"
    data = (
        (LEGACY_HEADER + "\r\n").encode()
        + (row.format(a="jérôme") + "\r\n").encode("cp1252")  # line 2: cp1252
        + (row.format(a="hélène") + "caf").encode()  # line 3: UTF-8, cut inside é
        + b"\xc3"
    )
    name = "AUDIT_L07_20170301.csv"
    (tmp_path / name).write_bytes(data)
    ev = read_evidence(tmp_path, case_key=KEY)
    assert ev.report.truncated_files == [name]
    (f,) = ev.report.files
    assert f.truncation_note == (
        "last line 3 cut inside a UTF-8 character (the file ends mid-character)"
    )
    assert len(ev.events) == 1
    assert ev.quarantine["source_line"].tolist() == [3]
    assert ev.quarantine["reason"].tolist() == [CUT_INSIDE_CHAR]


def _regex_profile(tmp_path, encoding: str):
    p = tmp_path / f"rx-{encoding}.toml"
    p.write_text(regex_profile(encoding), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("encoding", "first"),
    [("utf-8", b"1262304000 alice\n"), ("cp1252", "1262304000 jérôme\n".encode("cp1252"))],
)
def test_regex_profile_cut_last_line_quarantined(tmp_path, encoding, first):
    f = tmp_path / "ev" / "badge.log"
    f.parent.mkdir()
    f.write_bytes(first + b"1262304001 h\xc3\xa9l\xc3")  # the pattern matches line 2
    ev = read_evidence(f, case_key=KEY, profile=_regex_profile(tmp_path, encoding), lab="SIM")
    assert ev.report.truncated_files == ["badge.log"]
    assert len(ev.events) == 1
    assert ev.quarantine["source_line"].tolist() == [2]
    assert ev.quarantine["reason"].tolist() == [CUT_INSIDE_CHAR]
    (rep,) = ev.report.files
    assert rep.truncation_note == NOTE2


def test_regex_profile_gzip_cut_last_line_quarantined(tmp_path):
    text = "".join(f"{1262304000 + i} user{i:03d}\n" for i in range(200)).encode()
    comp = gzip.compress(text)[:-12]
    cut = zlib.decompressobj(31).decompress(comp)
    assert not cut.endswith(b"\n")  # by hand: the cut falls inside line 200's end
    n_whole = cut.count(b"\n")
    f = tmp_path / "ev" / "badge.log.gz"
    f.parent.mkdir()
    f.write_bytes(comp)
    ev = read_evidence(f, case_key=KEY, profile=_regex_profile(tmp_path, "utf-8"), lab="SIM")
    assert len(ev.events) == n_whole
    assert ev.quarantine["source_line"].tolist() == [n_whole + 1]
    assert ev.quarantine["reason"].tolist() == [CUT_AFTER_GZIP]


def test_syslog_cut_last_line_quarantined(tmp_path):
    lines = [
        b"Mar  1 10:00:00 host1 sshd[12]: Accepted password for alice from 10.0.0.1 port 22 ssh2",
        b"Mar  1 10:05:00 host1 sshd[13]: Accepted password for bob from 10.0.0.2 port 22 ssh\xc3",
    ]
    p = tmp_path / "auth.log"
    p.write_bytes(b"\n".join(lines))
    ev = read_evidence(p, case_key=KEY, year=2019)
    assert ev.report.truncated_files == ["auth.log"]
    assert ev.events["account"].nunique() == 1 and len(ev.events) == 1
    assert ev.quarantine["source_line"].tolist() == [2]
    assert ev.quarantine["reason"].tolist() == [CUT_INSIDE_CHAR]
