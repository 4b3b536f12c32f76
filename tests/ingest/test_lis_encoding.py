"""QA: mixed encodings in LIS CSV files are decoded right and never silently.

A cp1252 export appended to by a second program writing UTF-8: the UTF-8 rows are
decoded as UTF-8 (``hélène.m`` stays one account), counted and named per file.
An undecodable byte becomes U+FFFD, counted and named (file, line, column).
Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np

from labforensics.ingest import read_evidence
from labforensics.ingest._lis_encoding import _utf8_starts, transcode
from labforensics.ingest.profiles import load_profile
from labforensics.ingest.readers.lis_csv import parse_lis_bytes
from labforensics.ingest.registry import ReadContext
from labforensics.privacy import CaseKey
from lis_headers import CURRENT_HEADER as CUR
from lis_headers import LEGACY_HEADER as LEG
from profile_texts import regex_profile

LEG_NAME = "AUDIT_L02_20180305.csv"
CUR_NAME = "audit_L02_2020-03-05.csv"


def leg_row(account: str, detail: str = "") -> str:
    return (
        f"05/03/2018;10:00:00;L02;S1;{account};TECHNICIEN;PC1;10.0.0.1;RESULTATS;"
        f"CONSULTATION;OK;;D1;;{detail}\r\n"
    )


def cur_row(account: str, comment: str = "") -> str:
    return (
        f"2020-03-05T10:00:00+01:00;L02;S1;{account};technicien;PC1;10.0.0.1;resultats;"
        f"consultation;succes;;D1;;;;{comment}\n"
    )


def mixed_legacy() -> bytes:
    cp = lambda s: s.encode("cp1252")  # noqa: E731
    u8 = lambda s: s.encode("utf-8")  # noqa: E731
    return (
        cp(LEG + "\r\n")  # line 1
        + cp(leg_row("hélène.m"))  # line 2: cp1252
        + u8(leg_row("hélène.m", "réglé"))  # line 3: UTF-8, two fields non-ASCII
        + cp(leg_row("hélène.m", "€ 12"))  # line 4: cp1252 (€ is byte 0x80)
        + u8(leg_row("hélène.m"))  # line 5: UTF-8
        + cp(leg_row("jérôme"))  # line 6: cp1252
    )


E = "read as U+FFFD followed by its hex (xNN)"


def utf8_one_bad_byte() -> bytes:
    return (
        b"\xef\xbb\xbf"
        + (CUR + "\n").encode()  # line 1
        + cur_row("hélène.m").encode()  # line 2
        + cur_row("hélène.m", "vu").encode()[:-3]
        + b"v\xffu\n"  # line 3: 0xFF never occurs in UTF-8
        + cur_row("jérôme").encode()  # line 4
    )


def parse(data: bytes, profile: str, name: str):
    return parse_lis_bytes(
        data, ReadContext(source_file=name), load_profile(profile), f"lis_{profile}", name=name
    )


def test_cp1252_file_with_two_utf8_rows():
    fr = parse(mixed_legacy(), "legacy", LEG_NAME)
    ev = fr.events
    # one account, not a second one 'hÃ©lÃ¨ne.m'
    assert ev["account"].tolist() == ["hélène.m"] * 4 + ["jérôme"]
    assert ev["detail"].tolist()[1:3] == ["réglé", "€ 12"]
    assert fr.rows_read == 5 and fr.rows_to_events == 5 and fr.quarantine == []
    assert fr.rows_recoded == 2 and fr.replacement_chars == 0
    assert fr.encoding_note == (
        "2 row(s) written in UTF-8 in this cp1252 file, decoded as UTF-8: line(s) 3, 5"
    )
    got = [(p.line, p.column, p.value, p.problem) for p in fr.field_problems]
    what = "written in UTF-8 in a cp1252 file: decoded as UTF-8"
    assert got == [
        (3, "account", "hélène.m", f"UTILISATEUR: {what}"),
        (3, "detail", "réglé", f"DETAIL: {what}"),
        (5, "account", "hélène.m", f"UTILISATEUR: {what}"),
    ]


def test_utf8_file_with_one_invalid_byte():
    fr = parse(utf8_one_bad_byte(), "current", CUR_NAME)
    assert fr.events["account"].tolist() == ["hélène.m", "hélène.m", "jérôme"]
    # line 3 holds UTF-8 (hélène.m): a UTF-8 line with a stray byte, 0xFF kept as its hex
    assert fr.events["detail"].tolist()[1] == "v\ufffdxffu"
    assert fr.rows_recoded == 0 and fr.replacement_chars == 1
    assert fr.encoding_note == f"1 undecodable byte(s) (utf-8-sig) {E}: line(s) 3"
    got = [(p.line, p.column, p.value, p.problem) for p in fr.field_problems]
    assert got == [
        (3, "detail", "v\ufffdxffu", f"commentaire: undecodable byte(s) (utf-8-sig) {E}")
    ]


def test_read_evidence_reports_both(tmp_path):
    (tmp_path / LEG_NAME).write_bytes(mixed_legacy())
    (tmp_path / CUR_NAME).write_bytes(utf8_one_bad_byte())
    ev = read_evidence(tmp_path, case_key=CaseKey(b"e" * 32))
    reps = {f.source_file: f for f in ev.report.files}
    leg, cur = reps[LEG_NAME], reps[CUR_NAME]
    assert (leg.rows_recoded, leg.replacement_chars, leg.field_problems) == (2, 0, 3)
    assert (cur.rows_recoded, cur.replacement_chars, cur.field_problems) == (0, 1, 1)
    assert "line(s) 3, 5" in leg.encoding_note and "line(s) 3" in cur.encoding_note
    summary = ev.report.summary()
    assert f"encoding: {LEG_NAME}: 2 row(s) written in UTF-8" in summary
    assert f"encoding: {CUR_NAME}: 1 undecodable byte" in summary
    fp = ev.report.field_problems
    assert sorted(zip(fp["source_file"], fp["source_line"], strict=True)) == [
        (LEG_NAME, 3), (LEG_NAME, 3), (LEG_NAME, 5), (CUR_NAME, 3)
    ]  # fmt: skip
    # the two spellings are one account: 5 legacy events, one pseudonym for hélène.m
    leg_acc = ev.events.loc[ev.events["source_file"] == LEG_NAME, "account"]
    assert leg_acc.nunique() == 2


def test_transcode_positions():
    cp = "a;é\n".encode("cp1252")
    u8 = "b;é€\n".encode()
    t = transcode(cp + u8 + b"c\x81\n", "cp1252")  # 0x81: undefined in cp1252
    assert bytes(t.data) == "a;é\nb;é€\nc\ufffdx81\n".encode()
    # 'a;é\n' is bytes 0-4; 'b;' 5-6, é 7-8, € 9-11, '\n' 12, 'c' 13: U+FFFD at 14
    assert t.recoded.tolist() == [7, 9] and t.replaced.tolist() == [14]
    # a whole file in UTF-8 under a cp1252 profile: kept, every character named
    t = transcode(u8 + u8, "cp1252")
    assert bytes(t.data) == u8 + u8 and t.recoded.tolist() == [2, 4, 10, 12]  # 8 bytes a row
    # a plain cp1252 or ASCII file: nothing found, nothing to report
    for data in ("jérôme;«€»\n".encode("cp1252"), b"abc\n"):
        t = transcode(data, "cp1252")
        assert len(t.recoded) == 0 and len(t.replaced) == 0
    # UTF-8 profile, no typical UTF-8 sequence: cp1252 saved without BOM, read as cp1252
    bad = b"ok\nx\xff\xc3y\n\xe2\x82"
    t = transcode(bad, "utf-8")
    assert bytes(t.data) == "ok\nxÿÃy\nâ‚".encode() and t.recoded_as == "cp1252"
    # 'ok\nx' 0-3, ÿ 4-5, Ã 6-7, 'y\n' 8-9, â 10-11, ‚ 12-14
    assert t.recoded.tolist() == [4, 6, 10, 12] and t.replaced.tolist() == []
    # UTF-8 text too: line 1 (a typical sequence, a stray 0xFF) UTF-8, its 0xFF escaped;
    # line 2 cp1252, its 0x81 (undefined in cp1252) escaped
    t = transcode("é".encode() + b"\xff\nx\xff\x81\n", "utf-8")
    assert bytes(t.data) == "é\ufffdxff\nxÿ\ufffdx81\n".encode()
    # é 0-1, escape 2-7, '\n' 8, x 9, ÿ 10-11, escape 12-17
    assert t.replaced.tolist() == [2, 12] and t.recoded.tolist() == [10]


def test_utf8_starts_rejects_overlong_and_surrogates():
    def starts(b: bytes) -> tuple[list[int], list[int]]:
        a, t = _utf8_starts(np.frombuffer(b, dtype=np.uint8))
        return a.tolist(), t.tolist()

    assert starts("é".encode()) == ([0], [0])
    # € (E2 82 AC) typical; 𝄞 (F0 9D 84 9E) valid, not typical
    assert starts("x€y𝄞".encode()) == ([1, 5], [1])
    assert starts(b"\xc0\xaf\xe0\x80\x80\xed\xa0\x80\xf4\x90\x80\x80") == ([], [])
    assert starts("é".encode("cp1252") + b" " + "è".encode("cp1252")) == ([], [])
    # cp1252 text that is valid UTF-8 by chance: 'É—' (C9 97, 'ɗ'), 'é€—' (E9 80 97, CJK)
    assert starts("É—".encode("cp1252")) == ([0], [])
    assert starts("é€—".encode("cp1252")) == ([0], [])


def test_cp1252_text_valid_utf8_by_chance_stays_cp1252():
    # hypothesis found 'É—' (bytes C9 97): valid UTF-8 ('ɗ'), but not what a UTF-8
    # writer of Latin text produces: read as cp1252, nothing reported
    data = (LEG + "\r\n" + leg_row("É—", "é€—") + leg_row("Ã")).encode("cp1252")
    fr = parse(data, "legacy", LEG_NAME)
    assert fr.events["account"].tolist() == ["É—", "Ã"]
    assert fr.events["detail"].tolist()[0] == "é€—"
    assert (fr.rows_recoded, fr.replacement_chars, fr.field_problems) == (0, 0, [])
    # a typical sequence in a line that is not UTF-8 as a whole ('Ã©' then a lone 'é'):
    # the line stays cp1252
    data = (LEG + "\r\n" + leg_row("Ã©é")).encode("cp1252")
    fr = parse(data, "legacy", LEG_NAME)
    assert fr.events["account"].tolist() == ["Ã©é"] and fr.rows_recoded == 0


REGEX_PROFILE = regex_profile("cp1252")


def test_regex_profile_mixed_lines(tmp_path):
    prof = tmp_path / "rx.toml"
    prof.write_text(REGEX_PROFILE, encoding="utf-8")
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "badge.log").write_bytes(
        "1262304000 hélène.m\n".encode("cp1252")  # line 1: cp1252
        + "1262304001 hélène.m\n".encode()  # line 2: UTF-8
        + b"1262304002 h\x81l\n"  # line 3: 0x81 is undefined in cp1252
    )
    ev = read_evidence(
        tmp_path / "ev" / "badge.log", case_key=CaseKey(b"r" * 32), profile=prof, lab="SIM"
    )
    (rep,) = ev.report.files
    assert (rep.rows_recoded, rep.replacement_chars, rep.field_problems) == (1, 1, 2)
    assert rep.encoding_note == (
        "1 row(s) written in UTF-8 in this cp1252 file, decoded as UTF-8: line(s) 2; "
        f"1 undecodable byte(s) (cp1252) {E}: line(s) 3"
    )
    assert ev.report.field_problems["source_line"].tolist() == [2, 3]
    assert ev.events["account"].iloc[0] == ev.events["account"].iloc[1]  # one account


def test_accounting_frame_has_the_encoding_counts(tmp_path):
    (tmp_path / LEG_NAME).write_bytes(mixed_legacy())
    (tmp_path / CUR_NAME).write_bytes(utf8_one_bad_byte())
    fr = read_evidence(tmp_path, case_key=CaseKey(b"e" * 32)).report.to_frame()
    fr = fr.set_index("source_file")
    assert fr.loc[LEG_NAME, "rows_recoded"] == 2 and fr.loc[CUR_NAME, "replacement_chars"] == 1
    assert fr.loc["TOTAL", "rows_recoded"] == 2 and fr.loc["TOTAL", "replacement_chars"] == 1
    assert fr.loc[CUR_NAME, "encoding_note"].endswith("line(s) 3")


def test_utf8_file_glued_onto_a_cp1252_file_with_its_bom(tmp_path):
    # `cat old.csv new.csv` where new.csv is UTF-8 with a BOM: the BOM line (EF BB BF +
    # the header) was decoded as cp1252 ('ï»¿DATE;...'), so the repeated header was
    # quarantined as an unparseable date. By hand: 1 header, 1 row, the glued header
    # (repeated), 1 row in UTF-8: rows_read 3 = events 2 + repeated_headers 1; lines 3
    # (the BOM) and 4 (hélène) were written in UTF-8.
    data = (
        (LEG + "\r\n" + leg_row("tech.a")).encode("cp1252")
        + b"\xef\xbb\xbf"
        + (LEG + "\r\n" + leg_row("hélène.m")).encode("utf-8")
    )
    f = tmp_path / LEG_NAME
    f.write_bytes(data)
    ev = read_evidence(f, case_key=CaseKey(bytes(range(32))))
    fr = ev.report.files[0]
    assert (fr.rows_read, fr.events, fr.repeated_headers, fr.quarantined) == (3, 2, 1, 0)
    assert ev.events["account"].tolist() == ["tech.a", "hélène.m"]
    assert fr.encoding_note.endswith("line(s) 3, 4")
    # the BOM is a typical UTF-8 sequence (U+FEFF), never written by a cp1252 writer
    arr = np.frombuffer(b"ab\xef\xbb\xbfcd", dtype=np.uint8)
    assert _utf8_starts(arr)[1].tolist() == [2]


def test_glued_file_without_header_its_bom_opens_a_data_row(tmp_path):
    # `cat` of a header-less UTF-8 part with a BOM: its first row began with U+FEFF and
    # was quarantined ("unparseable date '\ufeff05/03/2018'"). By hand: rows_read 2 =
    # events 2; the BOM line (2) is named as written in UTF-8 (field DATE).
    data = (LEG + "\r\n" + leg_row("tech.a")).encode("cp1252") + b"\xef\xbb\xbf"
    data += leg_row("tech.b").encode("utf-8")
    f = tmp_path / LEG_NAME
    f.write_bytes(data)
    ev = read_evidence(f, case_key=CaseKey(bytes(range(32))))
    fr = ev.report.files[0]
    assert (fr.rows_read, fr.events, fr.quarantined) == (2, 2, 0)
    assert ev.events["account"].tolist() == ["tech.a", "tech.b"]
    assert fr.note.startswith("byte-order mark (U+FEFF) opening line(s) 3: ")  # as DATE above
    fp = ev.report.field_problems
    assert fp[["source_line", "column"]].values.tolist() == [[3, "DATE"]]


def test_bom_in_the_middle_of_a_utf8_file_current_dialect(tmp_path):
    # the current dialect is UTF-8: a glued part's BOM before its header and before a
    # header-less part's first row; by hand rows_read 4 = events 3 + repeated_headers 1
    head = CUR + "\n"
    data = head + cur_row("a") + "\ufeff" + head + cur_row("b") + "\ufeff" + cur_row("c")
    f = tmp_path / CUR_NAME
    f.write_bytes(data.encode("utf-8"))
    ev = read_evidence(f, case_key=CaseKey(bytes(range(32))))
    fr = ev.report.files[0]
    assert (fr.rows_read, fr.events, fr.repeated_headers, fr.quarantined) == (4, 3, 1, 0)
    assert ev.events["account"].tolist() == ["a", "b", "c"]
    # the splices are named (QA 14: they were read silently): lines 3 (the glued
    # header) and 5 (the glued header-less part's first row)
    assert fr.note == (
        "byte-order mark (U+FEFF) opening line(s) 3, 5: the start of another UTF-8 file "
        "glued on; read without the mark"
    )


def test_mixed_bytes_without_any_line_feed():
    # found by test_properties: a cp1252 file with no LF at all and a UTF-8-like
    # sequence (CE 80) raised IndexError (no line end to index): it is one line
    t = transcode(b"\x80\xce\x80", "cp1252")
    assert t.data == "€Î€".encode() and len(t.replaced) == 0 and len(t.recoded) == 0
    t = transcode("héllo ".encode() + b"\x80", "cp1252")  # UTF-8, then a cp1252 byte
    assert t.data == "hÃ©llo €".encode()
