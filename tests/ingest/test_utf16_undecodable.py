"""Undecodable UTF-16 is counted like any undecodable byte (session 8's note: the UTF-16
conversion replaced an odd last byte or a lone surrogate by U+FFFD before the readers
saw the text, so no reader counted it). Counts by hand: a lone surrogate code unit is
two undecodable bytes, an odd last byte one; each is U+FFFD and its hex, as the readers'
own undecodable bytes (session 12: a bare U+FFFD made two damaged logins one)."""

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
    assert text.count("\ufffd") == 3 == len(where)
    assert "wö\ufffdx00\ufffdxd8rld" in text and text.endswith("\n\ufffdx41")
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
    assert dec.utf16 is not None and len(dec.utf16) == 2
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
    assert r.replacement_chars == 2 and r.rows_recoded == 0
    assert r.encoding_note == (
        "2 undecodable byte(s) (UTF-16) read as U+FFFD followed by its hex (xNN): line(s) 2"
    )
    assert [(fp.line, fp.column) for fp in r.field_problems] == [(2, "line")]
    ev = read_evidence(p, case_key=KEY, year=2019)
    (f,) = ev.report.files
    assert f.replacement_chars == 2 and "(UTF-16)" in f.encoding_note


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
    assert (c.rows_recoded, c.replacement_chars) == (0, 2)
    assert (g.rows_recoded, g.replacement_chars) == (0, 2)
    how = "undecodable byte(s) (UTF-16) read as U+FFFD followed by its hex (xNN)"
    assert c.encoding_note == f"2 {how}: line(s) 3"
    assert g.encoding_note == f"2 {how}: line(s) 2"
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


def test_two_damaged_logins_stay_two_accounts(tmp_path):
    # two lone surrogates that differ (D800, D801) in one login each: a bare U+FFFD made
    # them one account; escaped per byte they stay two, each named as written
    rows = [LEG, leg_row("jo@an").rstrip("\n"), leg_row("jo#an").rstrip("\n")]
    data = _utf16(rows)
    data = data.replace("@".encode("utf-16-le"), b"\x00\xd8")
    data = data.replace("#".encode("utf-16-le"), b"\x01\xd8")
    (tmp_path / LEG_NAME).write_bytes(data)
    ev = read_evidence(tmp_path, case_key=KEY)
    assert sorted(ev.events["account"].astype(str)) == [
        "jo\ufffdx00\ufffdxd8an",
        "jo\ufffdx01\ufffdxd8an",
    ]
    (f,) = ev.report.files
    assert f.replacement_chars == 4


def test_utf16_legacy_file_is_not_read_again_as_cp1252(tmp_path):
    # a UTF-16 file is Unicode: no line of it is re-read in the legacy profile's cp1252,
    # whatever its characters (a Cyrillic letter, an emoji). A guard: these lines read
    # right before session 12's change too; the line that did not (only the conversion's
    # U+FFFD as non-ASCII) is pinned by test_two_damaged_logins_stay_two_accounts
    rows = [LEG, leg_row("jоan").rstrip("\n"), leg_row("m🙂x").rstrip("\n")]
    (tmp_path / LEG_NAME).write_bytes(_utf16(rows))
    ev = read_evidence(tmp_path, case_key=KEY)
    assert sorted(ev.events["account"].astype(str)) == ["jоan", "m🙂x"]
    (f,) = ev.report.files
    assert (f.rows_recoded, f.replacement_chars, f.encoding_note) == (0, 0, "")
