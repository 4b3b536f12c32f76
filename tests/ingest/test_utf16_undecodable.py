"""Undecodable UTF-16 is counted like any undecodable byte (session 8's note: the UTF-16
conversion replaced an odd last byte or a lone surrogate by U+FFFD before the readers
saw the text, so no reader counted it). Counts by hand: a lone surrogate code unit is
one undecodable sequence, an odd last byte another."""

from __future__ import annotations

import numpy as np
from test_lis_encoding import CUR, CUR_NAME, LEG, LEG_NAME, cur_row, leg_row

from labforensics.ingest import read_evidence
from labforensics.ingest.files import read_bytes, utf16_to_utf8_accounted
from labforensics.ingest.readers.syslog import read_syslog
from labforensics.ingest.registry import ReadContext
from labforensics.privacy import CaseKey

KEY = CaseKey(bytes(range(32)))
LONE = b"\x00\xd8"  # a high surrogate with no low one after it (UTF-16LE)


def _utf16(lines: list[str], damage_line: int | None = None, odd_tail: bool = False) -> bytes:
    out = b"\xff\xfe"
    for i, ln in enumerate(lines, 1):
        enc = ln.encode("utf-16-le")
        if i == damage_line:  # a lone surrogate in the middle of the line
            half = (len(enc) // 4) * 2
            enc = enc[:half] + LONE + enc[half:]
        out += enc + "\n".encode("utf-16-le")
    return out + (b"A" if odd_tail else b"")


def test_conversion_gives_the_positions():
    data = _utf16(["héllo", "wörld"], damage_line=2, odd_tail=True)
    utf8, where = utf16_to_utf8_accounted(data)
    text = utf8.decode("utf-8")
    assert text.count("\ufffd") == 2 == len(where)
    assert all(utf8[i : i + 3] == "\ufffd".encode() for i in where)
    assert np.all(np.diff(where) > 0)
    # a clean UTF-16 file: no positions; not UTF-16: the bytes as they are
    assert utf16_to_utf8_accounted(_utf16(["ok"]))[1].tolist() == []
    plain, none = utf16_to_utf8_accounted(b"plain\n")
    assert plain == b"plain\n" and none.tolist() == []


def test_read_bytes_marks_utf16(tmp_path):
    p = tmp_path / "a.log"
    p.write_bytes(_utf16(["x"], damage_line=1))
    dec = read_bytes(p)
    assert dec.utf16 is not None and len(dec.utf16) == 1
    q = tmp_path / "b.log"
    q.write_bytes(b"x\n")
    assert read_bytes(q).utf16 is None


def test_syslog_in_utf16_counts_the_damage(tmp_path):
    lines = [
        "Mar  1 10:00:00 host1 sshd[12]: Accepted password for alice from 10.0.0.1 port 22 ssh2",
        "Mar  1 10:05:00 host1 sshd[13]: Accepted password for bob from 10.0.0.2 port 22 ssh2",
    ]
    p = tmp_path / "auth.log"
    p.write_bytes(_utf16(lines, damage_line=2))
    r = read_syslog(p, ReadContext(source_file="auth.log", year=2019))
    assert r.replacement_chars == 1 and r.rows_recoded == 0
    assert r.encoding_note == "1 undecodable byte sequence(s) (UTF-16) read as U+FFFD: line(s) 2"
    assert [(fp.line, fp.column) for fp in r.field_problems] == [(2, "line")]
    ev = read_evidence(p, case_key=KEY, year=2019)
    (f,) = ev.report.files
    assert f.replacement_chars == 1 and "(UTF-16)" in f.encoding_note


def test_lis_csv_in_utf16_counts_the_damage_and_recodes_nothing(tmp_path):
    # the current dialect (UTF-8 profile) and the legacy one (cp1252 profile): a UTF-16
    # file is Unicode, so no row is "written in UTF-8 in a cp1252 file"
    cur = [CUR, cur_row("hélène.m").rstrip("\n"), cur_row("jérôme", "vu").rstrip("\n")]
    leg = [LEG, leg_row("hélène.m").rstrip("\n"), leg_row("jérôme", "réglé").rstrip("\n")]
    (tmp_path / CUR_NAME).write_bytes(_utf16(cur, damage_line=3))
    (tmp_path / LEG_NAME).write_bytes(_utf16(leg, damage_line=2))
    ev = read_evidence(tmp_path, case_key=KEY)
    reps = {f.source_file: f for f in ev.report.files}
    c, g = reps[CUR_NAME], reps[LEG_NAME]
    assert (c.rows_recoded, c.replacement_chars) == (0, 1)
    assert (g.rows_recoded, g.replacement_chars) == (0, 1)
    assert c.encoding_note == "1 undecodable byte sequence(s) (UTF-16) read as U+FFFD: line(s) 3"
    assert g.encoding_note == "1 undecodable byte sequence(s) (UTF-16) read as U+FFFD: line(s) 2"
    fp = ev.report.field_problems
    assert sorted(zip(fp["source_file"], fp["source_line"], strict=True)) == [
        (LEG_NAME, 2), (CUR_NAME, 3)
    ]  # fmt: skip
    assert all("(UTF-16)" in p for p in fp["problem"])
    # the accented names read whole (not as mojibake of a cp1252 reading)
    assert ev.events["account"].value_counts().sort_index().to_dict() == {
        "hélène.m": 2,
        "jérôme": 2,
    }


def test_clean_utf16_lis_file_has_no_note(tmp_path):
    leg = [LEG, leg_row("hélène.m").rstrip("\n"), leg_row("jérôme", "réglé").rstrip("\n")]
    (tmp_path / LEG_NAME).write_bytes(_utf16(leg))
    ev = read_evidence(tmp_path, case_key=KEY)
    (f,) = ev.report.files
    assert (f.rows_recoded, f.replacement_chars, f.encoding_note) == (0, 0, "")
