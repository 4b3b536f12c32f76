"""The LIS CSV readers (lis_legacy, lis_current, lis_profile) and their profiles."""

from __future__ import annotations

import gzip
import zlib

import pandas as pd
import pytest

from labforensics.errors import ProfileError
from labforensics.ingest import read_evidence
from labforensics.ingest.profile_choice import sniff_profile
from labforensics.ingest.profiles import load_profile
from labforensics.ingest.protection import UNPLACED_NOTE
from lis_headers import CURRENT_HEADER as CUR
from lis_headers import LEGACY_HEADER as LEG

BOM = b"\xef\xbb\xbf"


def leg_row(time="10:00:00", action="CONSULTATION", result="OK", nb="", detail="", **kw):
    f = {
        "date": "05/03/2018",
        "lab": "L02",
        "account": "u1",
        "role": "TECHNICIEN",
        "ipp": "",
    }
    f.update(kw)
    return (
        f"{f['date']};{time};{f['lab']};S1;{f['account']};{f['role']};PC1;10.0.0.1;RESULTATS;"
        f"{action};{result};{f['ipp']};D1;{nb};{detail}"
    )


def cur_row(ts="2020-11-02T09:00:00+01:00", action="consultation", statut="succes", **kw):
    f = {"nb": "", "vol": "", "sess": "A1", "detail": "", "role": "technicien", "lab": "L03"}
    f.update(kw)
    return (
        f"{ts};{f['lab']};S1;u1;{f['role']};PC1;10.0.0.1;resultats;{action};{statut};;D1;"
        f"{f['nb']};{f['vol']};{f['sess']};{f['detail']}"
    )


def write_legacy(tmp_path, rows, name="AUDIT_L02_20180305.csv", end="\r\n"):
    p = tmp_path / name
    p.write_bytes((end.join([LEG, *rows]) + end).encode("cp1252"))
    return p


def write_current(tmp_path, rows, name="audit_l03_2020-11-02.csv", end="\n"):
    p = tmp_path / name
    p.write_bytes(BOM + (end.join([CUR, *rows]) + end).encode("utf-8"))
    return p


def read(path, test_key, **kw):
    return read_evidence(path, case_key=test_key, **kw)


# --------------------------------------------------------------------------- sniffing


def test_sniff_exact_header_only():
    leg, cur = load_profile("legacy"), load_profile("current")
    assert sniff_profile(leg, (LEG + "\r\n").encode())
    assert sniff_profile(cur, BOM + (CUR + "\n").encode())
    assert sniff_profile(cur, (CUR + "\n").encode())  # a BOM lost in a copy is tolerated
    assert not sniff_profile(leg, (LEG + ";EXTRA\r\n").encode())  # not exactly the header
    assert not sniff_profile(leg, (CUR + "\n").encode())


def test_formats_recorded(tmp_path, test_key):
    write_legacy(tmp_path, [leg_row()])
    write_current(tmp_path, [cur_row()])
    ev = read(tmp_path, test_key)
    assert sorted(ev.events["source_format"]) == ["lis_current", "lis_legacy"]
    assert {m.format for m in ev.manifest} == {"lis_current", "lis_legacy"}


# --------------------------------------------------------------------------- structure


def test_wrong_width_quarantined_with_line(tmp_path, test_key):
    p = write_legacy(
        tmp_path, [leg_row(), "05/03/2018;10:01:00;L02;too;short", leg_row("10:02:00")]
    )
    ev = read(p, test_key)
    assert len(ev.events) == 2
    q = ev.quarantine.iloc[0]
    # the short row has 5 fields; line 3 (header is line 1)
    # its fields out of place (QA, session 8): the reason says how they are shown
    assert (q["source_line"], q["reason"]) == (
        3,
        "wrong field count: 5 fields, expected 15" + UNPLACED_NOTE,
    )
    assert ev.events["source_line"].tolist() == [2, 4]


def test_quoted_separator_does_not_count(tmp_path, test_key):
    p = write_legacy(tmp_path, [leg_row(detail='"a;b;""c"";d"')])
    ev = read(p, test_key)
    assert ev.events["detail"].tolist() == ['a;b;"c";d']  # 15 fields once quotes are honoured


def test_quoting_rules(tmp_path, test_key):
    rows = [
        leg_row(detail='""'),
        leg_row(detail=""),
        leg_row(detail='"say ""hi"""'),
        leg_row(detail='"ab"c'),
        leg_row(detail='a"b"c'),
    ]
    ev = read(write_legacy(tmp_path, rows), test_key)
    d = ev.events["detail"].tolist()
    # "" is the empty string, an empty field is missing; "" inside quotes is one quote;
    # as Python's csv module: text after a closing quote is kept, a quote mid-field is a quote
    assert d[0] == "" and pd.isna(d[1])
    assert d[2:] == ['say "hi"', "abc", 'a"b"c']


@pytest.mark.parametrize("end", ["\r\n", "\n"])
def test_literal_quote_in_an_unquoted_field_is_text(tmp_path, test_key, end):
    # fresh-eyes QA, session 22: an odd quote inside an unquoted free-text field made the
    # row "quote left open", quarantined (an export with it); Python's csv and pyarrow
    # read such a quote as text. A quoted field over two lines still joins them.
    rows = [
        leg_row("10:00:00", action="EXPORT", nb="90000", detail='Export vers ftp://t/a"b.csv'),
        leg_row("10:01:00", detail='Ecran 12" neuf'),
        leg_row("10:02:00", detail='taille 12"'),
        leg_row("10:03:00", detail='"ligne un'),
        'ligne deux"',
        leg_row("10:04:00", detail='"ouvert'),
        leg_row("10:05:00"),
    ]
    ev = read(write_legacy(tmp_path, rows, end=end), test_key)
    e = ev.events
    # lines 2-4 whole rows, 5-6 one record; the row of line 7 is cut by the next row
    assert e["source_line"].tolist() == [2, 3, 4, 5, 8]
    assert e["detail"].tolist()[:4] == ['Export vers ftp://t/a"b.csv', 'Ecran 12" neuf',
                                        'taille 12"', "ligne un" + end + "ligne deux"]  # fmt: skip
    assert int(e["records"].iloc[0]) == 90000
    q = ev.quarantine
    assert q["source_line"].tolist() == [7] and "quote left open" in q["reason"].iloc[0]


def test_open_quote_cut_at_next_row(tmp_path, test_key):
    rows = [
        leg_row("10:00:00", detail='"never closed'),
        "more text of the detail",
        leg_row("10:01:00"),
        leg_row("10:02:00"),
    ]
    ev = read(write_legacy(tmp_path, rows), test_key)
    # the open quote would swallow lines 4-5; it is cut before line 4, which starts a row
    assert ev.events["source_line"].tolist() == [4, 5]
    q = ev.quarantine.iloc[0]
    assert q["source_line"] == 2 and "quote left open" in q["reason"] and "line 4" in q["reason"]
    r = ev.report.files[0]
    assert (r.rows_read, r.events, r.quarantined) == (3, 2, 1)


def test_open_quote_at_end_of_file(tmp_path, test_key):
    rows = [leg_row("10:00:00"), leg_row("10:01:00", detail='"open'), "tail text"]
    ev = read(write_legacy(tmp_path, rows), test_key)
    assert len(ev.events) == 1
    q = ev.quarantine.iloc[0]
    assert q["source_line"] == 3
    assert q["reason"] == "record cut short: quote left open at end of file"
    assert ev.report.files[0].truncated


def test_last_line_without_line_end(tmp_path, test_key):
    p = tmp_path / "AUDIT_L02_20180305.csv"
    p.write_bytes((LEG + "\r\n" + leg_row() + "\r\n" + leg_row("10:05:00")).encode("cp1252"))
    ev = read(p, test_key)
    # a whole last line with no line end is a complete record
    assert len(ev.events) == 2 and ev.report.quarantined == 0
    assert not ev.report.files[0].truncated
    # cut after 30 bytes: "05/03/2018;10:05:00;L02;S1;u1;" is 6 fields
    p.write_bytes((LEG + "\r\n" + leg_row() + "\r\n" + leg_row("10:05:00")[:30]).encode())
    ev = read(p, test_key)
    q = ev.quarantine.iloc[0]
    assert q["source_line"] == 3 and q["reason"].startswith("record cut short: 6 fields")
    assert ev.report.files[0].truncated


def test_gzip_cut_partial_last_line_always_quarantined(tmp_path, test_key):
    # the cut falls inside the last row's detail: the partial line still has 15 fields
    text = (
        LEG + "\r\n" + leg_row("10:00:00") + "\r\n" + leg_row("10:01:00", detail="Impression CR")
    )[:-3].encode("cp1252")
    co = zlib.compressobj(wbits=31)  # gzip
    p = tmp_path / "AUDIT_L02_20180305.csv.gz"
    p.write_bytes(co.compress(text) + co.flush(zlib.Z_SYNC_FLUSH))  # member never ends: a cut
    ev = read(p, test_key)
    # line 3 ('...;Impression', detail cut) follows the gzip cut: quarantined, never an event
    assert ev.events["source_line"].tolist() == [2]
    q = ev.quarantine
    assert q["source_line"].tolist() == [3]
    assert q["reason"].iloc[0] == (
        "record cut short: partial last line after the gzip cut (no line end)"
    )
    r = ev.report.files[0]
    assert r.truncated and (r.rows_read, r.events, r.quarantined) == (2, 1, 1)
    # the same bytes uncompressed: a last line without line end that parses whole is an event
    p.unlink()
    plain = tmp_path / "AUDIT_L02_20180305.csv"
    plain.write_bytes(text)
    ev = read(plain, test_key)
    assert ev.events["detail"].tolist()[1] == "Impression" and ev.report.quarantined == 0


def test_quotes_mid_field_follow_csv_rules(tmp_path, test_key):
    rows = [
        leg_row("10:00:00", detail='a"b;c"d'),
        leg_row("10:01:00", detail='ecran 5"'),
        'suite" du detail',
        leg_row("10:02:00", detail="a\rb"),
        leg_row("10:03:00", detail='x"y"z'),
    ]
    ev = read(write_legacy(tmp_path, rows), test_key)
    # as Python's csv module and pyarrow: a quote in mid-field is a literal character,
    # so 'a"b;c"d' is two fields (16 in all); line 3 is a whole row whose last field
    # ends with a literal quote (before session 22 its odd quote count joined it to
    # line 4, both quarantined), and line 4 a row of one field. A lone CR in a row of
    # the header's width is data: kept in the value, a field problem (tests/ingest/test_bare_cr.py)
    assert ev.quarantine[["source_line", "reason"]].values.tolist() == [
        [2, "wrong field count: 16 fields, expected 15" + UNPLACED_NOTE],
        [4, "wrong field count: 1 fields, expected 15" + UNPLACED_NOTE],
    ]
    assert ev.events["detail"].tolist() == ['ecran 5"', "a\rb", 'x"y"z']
    assert ev.events["source_line"].tolist() == [3, 5, 6]


def test_repeated_header_and_blank_lines(tmp_path, test_key):
    rows = [leg_row("10:00:00"), LEG, "", leg_row("10:01:00")]
    ev = read(write_legacy(tmp_path, rows), test_key)
    r = ev.report.files[0]
    # 4 rows after the header: 2 events, 1 repeated header, 1 blank (ignored)
    assert (r.rows_read, r.events, r.repeated_headers, r.ignored) == (4, 2, 1, 1)
    assert ev.events["source_line"].tolist() == [2, 5]


def test_lf_legacy_and_crlf_current_also_read(tmp_path, test_key):
    write_legacy(tmp_path, [leg_row()], end="\n")
    write_current(tmp_path, [cur_row()], end="\r\n")
    ev = read(tmp_path, test_key)
    assert len(ev.events) == 2 and ev.report.quarantined == 0


# --------------------------------------------------------------------------- values


def test_dates_strict(tmp_path, test_key):
    rows = [
        leg_row(date="29/02/2016"),
        leg_row(date="29/02/2017"),
        leg_row(date="5/3/2018"),
        leg_row("25:00:00"),
        leg_row("9:00:00"),
    ]
    ev = read(write_legacy(tmp_path, rows), test_key)
    # 2016 is a leap year, 2017 is not; single digits and hour 25 are not the format
    assert ev.events["ts"].tolist() == [pd.Timestamp("2016-02-29 09:00", tz="UTC")]
    assert ev.quarantine["reason"].tolist() == [
        "unparseable date '29/02/2017' (expected dd/mm/yyyy)",
        "unparseable date '5/3/2018' (expected dd/mm/yyyy)",
        "unparseable time '25:00:00' (expected HH:MM:SS)",
        "unparseable time '9:00:00' (expected HH:MM:SS)",
    ]


def test_iso_offsets_fraction_and_z(tmp_path, test_key):
    rows = [
        cur_row("2019-10-27T02:30:00+01:00"),
        cur_row("2019-10-27T02:30:00+02:00"),
        cur_row("2019-10-27T01:30:00.250Z"),
        cur_row("2019-10-27 02:30:00"),
    ]
    ev = read(write_current(tmp_path, rows), test_key)
    # the offset is the truth: same wall time, two instants an hour apart
    assert ev.events["ts"].tolist() == [
        pd.Timestamp("2019-10-27 00:30", tz="UTC"),
        pd.Timestamp("2019-10-27 01:30", tz="UTC"),
        pd.Timestamp("2019-10-27 01:30:00.250", tz="UTC"),
    ]
    assert set(ev.events["ts_quality"]) == {"exact"}
    assert ev.quarantine["source_line"].tolist() == [5]


def test_codes_outcomes_and_failed_logins(tmp_path, test_key):
    rows = [
        leg_row(action="CONNEXION", result="KO"),
        leg_row(action="ECHEC_CONNEXION", result="OK"),
        leg_row(action="connexion", result="ok"),
        leg_row(action="TELEPORT"),
        leg_row(action="TELEPORT"),
        leg_row(result="MAYBE"),
    ]
    ev = read(write_legacy(tmp_path, rows), test_key)
    e = ev.events
    assert e["action"].tolist() == ["login_failed", "login_failed", "login", "other", "other"]
    assert e["outcome"].tolist() == ["failure", "failure", "success", "success", "success"]
    assert e["action_raw"].tolist()[2:] == ["connexion", "TELEPORT", "TELEPORT"]  # as written
    assert e["dicom_event_id"].tolist()[:3] == ["110114"] * 3
    assert ev.report.unknown_codes == {"TELEPORT": 2}
    assert ev.quarantine["reason"].iloc[0].startswith("unknown outcome 'MAYBE'")


def test_unknown_codes_counted_case_insensitively(tmp_path, test_key):
    write_legacy(tmp_path, [leg_row(action="ARCHIVAGE"), leg_row(action="archivage")])
    write_current(tmp_path, [cur_row(action="archivage")])
    ev = read(tmp_path, test_key)
    # codes compare case-insensitively (format doc): one code, three events
    assert ev.report.unknown_codes == {"ARCHIVAGE": 3}
    assert sorted(ev.events["action_raw"]) == ["ARCHIVAGE", "archivage", "archivage"]


def test_current_lower_case_codes_and_account_kinds(tmp_path, test_key):
    rows = [
        cur_row(role="editeur", action="extraction", nb="1 250 000", vol="52 428 800"),
        cur_row(role="interface", action="transmission", sess=""),
        cur_row(role="biologiste"),
    ]
    p = write_current(tmp_path, rows)
    e = read(p, test_key).events
    assert e["role"].tolist() == ["EDITEUR", "INTERFACE", "BIOLOGISTE"]
    assert e["account_kind"].tolist() == ["vendor", "service", "staff"]
    assert e["module"].tolist() == ["RESULTATS"] * 3
    assert e["action"].tolist() == ["extract", "transmit", "read"]
    assert e["records"].tolist()[0] == 1_250_000 and e["bytes"].tolist()[0] == 52_428_800
    assert e["app_session"].iloc[0] == "A1" and pd.isna(e["app_session"].iloc[1])  # empty
    e2 = read(p, test_key, account_kinds={"u1": "vendor"}).events
    assert set(e2["account_kind"]) == {"vendor"}  # the case file overrides the role


def test_digit_grouping_rules(tmp_path, test_key):
    rows = [
        leg_row(nb="12 500 000"),
        leg_row(nb="12\xa0500"),
        leg_row(nb="1 2"),
        leg_row(nb="-5"),
        leg_row(nb="0"),
        leg_row(nb="1 0000"),
    ]
    ev = read(write_legacy(tmp_path, rows), test_key)
    r = ev.events["records"]
    assert r.tolist()[:2] == [12_500_000, 12_500] and r.iloc[4] == 0
    assert r.isna().tolist() == [False, False, True, True, False, True]
    fp = ev.report.field_problems
    assert fp["source_line"].tolist() == [4, 5, 7] and set(fp["column"]) == {"records"}
    assert len(ev.events) == 6  # field problems never drop the event


def test_missing_lab_filled(tmp_path, test_key):
    p = write_legacy(tmp_path, [leg_row(lab="")], name="export.csv")
    ev = read(p, test_key)
    # no lab column value, no lab in the file name, none given: UNKNOWN, and it is said
    assert ev.events["lab"].tolist() == ["UNKNOWN"]
    assert "UNKNOWN" in ev.report.field_problems["problem"].iloc[0]
    assert read(p, test_key, lab="L09").events["lab"].tolist() == ["L09"]
    assert read(p, test_key, lab={"export*": "L08"}).events["lab"].tolist() == ["L08"]
    p1 = write_legacy(tmp_path, [leg_row(lab="")], name="AUDIT_L02_20180305.csv")
    assert read(p1, test_key).events["lab"].tolist() == ["L02"]  # from the file name
    p2 = write_legacy(tmp_path, [leg_row(lab="750000001")], name="AUDIT_X_20180306.csv")
    ev = read(p2, test_key, lab_aliases={"750000001": "L07"})
    assert ev.events["lab"].tolist() == ["L07"]  # FINESS number mapped to the lab code


def test_multi_member_gzip(tmp_path, test_key):
    a = gzip.compress((LEG + "\r\n" + leg_row("10:00:00") + "\r\n").encode())
    b = gzip.compress((leg_row("10:01:00") + "\r\n").encode())
    p = tmp_path / "AUDIT_L02_20180305.csv.gz"
    p.write_bytes(a + b)
    ev = read(p, test_key)
    assert len(ev.events) == 2 and not ev.report.files[0].truncated  # both members read


# --------------------------------------------------------------------------- profiles


PROFILE = """
name = "other_lis"
encoding = "utf-8"
separator = ","
header = ["when", "who", "what", "patient", "n", "outcome"]
file_pattern = '^export-(?P<lab>[A-Z0-9]+)-(?P<date>\\d{8})\\.csv$'
[columns]
account = "who"
action = "what"
ipp = "patient"
records = "n"
outcome = "outcome"
[timestamp]
column = "when"
format = "%Y-%m-%d %H:%M:%S"
[outcome]
success = ["done"]
failure = ["refused"]
[actions]
DUMP = "extract"
"""


def test_user_profile_without_code(tmp_path, test_key):
    prof = tmp_path / "other.toml"
    prof.write_text(PROFILE, encoding="utf-8")
    ev_dir = tmp_path / "ev"
    ev_dir.mkdir()
    (ev_dir / "export-L11-20190630.csv").write_text(
        "when,who,what,patient,n,outcome\n"
        '2019-06-30 08:00:00,a.b,DUMP,123,"1 500",done\n'
        "2019-06-30 08:01:00,a.b,CONNEXION,,,refused\n",
        encoding="utf-8",
    )
    ev = read(ev_dir, test_key, profile=prof)  # the lab comes from the file name
    e = ev.events
    assert e["source_format"].tolist() == ["profile:other_lis"] * 2  # profile:<name>
    assert e["ts"].tolist()[0] == pd.Timestamp("2019-06-30 06:00", tz="UTC")  # local CEST
    assert e["action"].tolist() == ["extract", "login_failed"]
    assert e["records"].tolist()[0] == 1500 and e["lab"].tolist() == ["L11", "L11"]


def test_builtin_profile_forced(tmp_path, test_key):
    p = write_legacy(tmp_path, [leg_row()], name="whatever.csv")
    ev = read(p, test_key, profile="legacy")
    assert ev.events["source_format"].tolist() == ["lis_legacy"]


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda t: t.replace('header = ["when"', 'headers = ["when"'), "headers"),
        (lambda t: t.replace('account = "who"', 'account = "whom"'), "columns.account"),
        (lambda t: t.replace("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %I:%M"), "timestamp.format"),
        (lambda t: t.replace('separator = ","', 'separator = ",,"'), "separator"),
        (lambda t: t.replace('DUMP = "extract"', 'DUMP = "steal"'), "actions.DUMP"),
    ],
)
def test_profile_errors_name_key_and_fix(tmp_path, edit, key):
    prof = tmp_path / "bad.toml"
    prof.write_text(edit(PROFILE), encoding="utf-8")
    with pytest.raises(ProfileError) as exc:
        load_profile(prof)
    assert repr(key) in str(exc.value) and "fix" in str(exc.value)


def test_unknown_profile_name():
    with pytest.raises(ProfileError, match="neither a built-in"):
        load_profile("no_such_profile")


def test_batch_read_equals_file_by_file(tmp_path, test_key):
    from labforensics.ingest.readers.lis_csv import read_lis, read_lis_many
    from labforensics.ingest.registry import ReadContext

    files = [
        write_legacy(
            tmp_path, [leg_row(detail='"a;\r\nb"'), "short;row", LEG], "AUDIT_L02_20180305.csv"
        ),
        write_legacy(
            tmp_path, [leg_row(lab=""), leg_row(date="31/02/2018")], "AUDIT_L05_20180306.csv"
        ),
        write_legacy(tmp_path, [leg_row(detail='"open'), "tail"], "AUDIT_L02_20180307.csv"),
        write_legacy(tmp_path, [], "AUDIT_L02_20180308.csv"),
        write_legacy(tmp_path, [leg_row(nb="1 2", action="odd")], "AUDIT_L02_20180309.csv"),
    ]
    ctxs = [ReadContext(source_file=p.name) for p in files]
    batch = read_lis_many(files, ctxs, "legacy", "lis_legacy")
    start = 0
    for p, ctx, fr_b in zip(files, ctxs, batch.files, strict=True):
        one = read_lis(p, ctx, "legacy", "lis_legacy")
        n = int(batch.counts[files.index(p)])
        part = batch.events.iloc[start : start + n].reset_index(drop=True)
        start += n
        # the same rows, accounting, quarantine and lab as reading the file alone
        pd.testing.assert_frame_equal(part, one.events.reset_index(drop=True))
        for attr in ("rows_read", "rows_to_events", "repeated_headers", "ignored", "quarantine"):
            assert getattr(fr_b, attr) == getattr(one, attr), (p.name, attr)
        assert (fr_b.field_problems, fr_b.truncated, fr_b.lab) == (
            one.field_problems,
            one.truncated,
            one.lab,
        )
    assert batch.unknown_codes == {"ODD": 1}
