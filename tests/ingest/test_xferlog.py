"""xferlog transfers on a handwritten log, hostile lines included."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from labforensics.errors import ParameterError
from labforensics.ingest.registry import readers
from labforensics.privacy import CaseKey
from labforensics.transfers import TRANSFER_COLUMNS, read_transfers

LOG = (
    # 1: a download by a real user, 12 s ending 04:12:43 CEST
    "Mon Jun 14 04:12:43 2004 12 192.168.1.5 1048576 /pub/L07_export.csv b _ o r vendor1 ftp 0 * c\n"
    # 2: an incomplete upload whose name has spaces, in the fall-back hour (no step back)
    "Sun Oct 27 02:30:00 2024 3 10.0.0.9 99 /incoming/my report 2024.csv a _ i r tech10 ftp 0 * i\n"
    # 3: blank
    "\n"
    # 4: an anonymous download: the user field is the e-mail the client gave
    "Sat Jul 24 02:38:23 2005 1 84.102.20.2 2048 /pub/L07_export.csv b _ o a mozilla@example.org "
    "ftp 0 * c\n"
    # 5: garbage
    "garbage mozilla@example.org\n"
    # 6: a date that does not exist
    "Mon Feb 30 10:00:00 2004 1 h 1 /f b _ o r u ftp 0 * c\n"
    # 7: old wu-ftpd: 13 fields (no completion status), RFC 931 user id, ProFTPD-style name
    "Tue Jun 15 10:00:00 2004 0 ws7.lab 1 /out/a_b_c.txt b CT d g guest7 ftp 1 ident7\n"
    # 8: a bad direction code
    "Tue Jun 15 10:00:00 2004 1 h 1 /f b _ x r u ftp 0 * c\n"
    # 9: cut short, no line end
    "Tue Jun 15 10:00:01 2004 1 h 1 /f b _ o"
)


def _write(tmp_path: Path, text: str | bytes, name: str = "xferlog") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def test_handwritten_log(tmp_path):
    t = read_transfers(_write(tmp_path, LOG))
    tr, rep = t.transfers, t.report
    rep.check()
    assert (rep.rows_read, rep.events, rep.ignored, rep.quarantined) == (9, 4, 1, 4)
    assert t.quarantine["source_line"].tolist() == [5, 6, 8, 9]
    assert rep.truncated  # line 9 has no line end and does not parse
    assert tr["source_line"].tolist() == [1, 2, 4, 7]
    assert {c: str(tr[c].dtype) for c in tr} == {c: str(d) for c, d in TRANSFER_COLUMNS.items()}
    assert tr["ts"].tolist() == [
        pd.Timestamp("2004-06-14 02:12:43", tz="UTC"),  # CEST
        pd.Timestamp("2024-10-27 00:30:00", tz="UTC"),  # first pass of the repeated hour
        pd.Timestamp("2005-07-24 00:38:23", tz="UTC"),
        pd.Timestamp("2004-06-15 08:00:00", tz="UTC"),
    ]
    assert tr["ts_quality"].tolist()[1] == "ambiguous_unresolved"
    # the logged time is the end of the transfer: start = ts - transfer time
    assert tr["start"].iloc[0] == pd.Timestamp("2004-06-14 02:12:31", tz="UTC")
    assert tr["file_name"].iloc[1] == "/incoming/my report 2024.csv"
    assert tr["file_base"].tolist() == [
        "L07_export.csv",
        "my report 2024.csv",
        "L07_export.csv",
        "a_b_c.txt",
    ]
    assert tr["direction"].tolist() == ["download", "upload", "download", "delete"]
    assert tr["access_mode"].tolist() == ["r", "r", "a", "g"]
    assert tr["completion"].tolist()[:3] == ["c", "i", "c"] and pd.isna(tr["completion"].iloc[3])
    assert tr["bytes"].tolist() == [1048576, 99, 2048, 1]
    assert tr["special_action"].iloc[3] == "CT" and tr["auth_user_id"].iloc[3] == "ident7"
    assert pd.isna(tr["auth_user_id"].iloc[0])  # "*": none


def test_anonymous_email_never_leaks(tmp_path):
    path = _write(tmp_path, LOG)
    t = read_transfers(path)
    assert t.transfers["user"].tolist()[2] == "[EMAIL]"
    assert t.transfers["user"].tolist()[0] == "vendor1"  # real users are accounts, kept
    assert not t.quarantine["raw"].str.contains("mozilla@", regex=False).any()
    key = CaseKey(bytes(range(32)))
    a = read_transfers(path, case_key=key).transfers["user"].iloc[2]
    b = read_transfers(path, case_key=key).transfers["user"].iloc[2]
    assert a == b and a.startswith("EMAIL-") and len(a) == 18  # keyed, stable, no address


def test_fallback_hour_resolved_by_file_order(tmp_path):
    text = (
        "Sun Oct 27 02:50:00 2024 1 h 1 /a b _ o r u ftp 0 * c\n"
        "Sun Oct 27 02:10:00 2024 1 h 1 /b b _ o r u ftp 0 * c\n"
    )
    tr = read_transfers(_write(tmp_path, text)).transfers
    # the step back from 02:50 to 02:10 is the clock going back: +02:00 then +01:00
    assert tr["ts"].tolist() == [
        pd.Timestamp("2024-10-27 00:50", tz="UTC"),
        pd.Timestamp("2024-10-27 01:10", tz="UTC"),
    ]


def test_gzip_other_zone_and_hostile_bytes(tmp_path):
    line = b"Mon Jun 14 04:12:43 2004 12 h 5 /f b _ o r u ftp 0 * c\n"
    t = read_transfers(_write(tmp_path, gzip.compress(line), "xferlog.1.gz"), tz="UTC")
    assert t.transfers["ts"].iloc[0] == pd.Timestamp("2004-06-14 04:12:43", tz="UTC")
    assert t.report.format == "xferlog" and len(t.report.sha256) == 64
    blob = b"\x00\xff" + bytes(range(256)) + b"\n" + b"9" * 5000 + b"\n"
    t = read_transfers(_write(tmp_path, blob, "junk"))
    t.report.check()
    assert t.report.events == 0 and t.report.quarantined == t.report.rows_read
    t = read_transfers(_write(tmp_path, b"", "empty"))
    assert t.report.rows_read == 0 and t.transfers.empty
    with pytest.raises(ParameterError):
        read_transfers(_write(tmp_path, line), tz="Mars/Olympus")


def test_not_a_registered_reader():
    # transfers are companion evidence, not audit events: read_evidence must not pick them
    assert "xferlog" not in {r.name for r in readers()}


def test_undecodable_bytes_counted_and_named_by_line(tmp_path):
    """Session 10, QA item 6: the transfer log was decoded with replacement and nothing
    counted it. Line 2 names a file in cp1252 (``\\xe9``, an é), line 4 holds a lone
    ``\\xff``: the file is not UTF-8 and holds no UTF-8 text, so it is read as cp1252
    (session 11: a file name read with U+FFFD did not link to its extraction); both
    lines are counted and named, both transfers kept."""
    ok = (
        b"Mon Jun 14 04:12:43 2004 12 192.168.1.5 1048576 /pub/L07_export.csv b _ o r v ftp 0 * c\n"
    )
    data = (ok + ok.replace(b"L07_export", b"r\xe9sultats") + b"\n"
            + ok.replace(b"192.168.1.5", b"h\xff"))  # fmt: skip
    t = read_transfers(_write(tmp_path, data))
    rep = t.report
    rep.check()
    assert (rep.rows_read, rep.events, rep.ignored, rep.quarantined) == (4, 3, 1, 0)
    assert (rep.rows_recoded, rep.replacement_chars, rep.field_problems) == (2, 0, 2)
    assert rep.encoding_note == (
        "2 row(s) written in cp1252 in this utf-8 file, decoded as cp1252: line(s) 2, 4"
    )
    fp = t.field_problems
    assert list(fp.columns) == ["source_file", "source_line", "column", "value", "problem"]
    assert fp["source_line"].tolist() == [2, 4] and set(fp["column"]) == {"line"}
    assert set(fp["value"]) == {""}  # the line itself is never copied
    assert set(fp["problem"]) == {"written in cp1252 in a utf-8 file: decoded as cp1252"}
    assert t.transfers["file_base"].tolist() == ["L07_export.csv", "résultats.csv",
                                                 "L07_export.csv"]  # fmt: skip


def test_clean_log_has_no_encoding_note(tmp_path):
    t = read_transfers(_write(tmp_path, LOG))
    assert t.report.replacement_chars == 0 and t.report.encoding_note == ""
    assert len(t.field_problems) == 0


def test_guest_and_email_shaped_users_are_redacted_or_keyed(tmp_path):
    """QA session 20: a guest login (access mode ``g``) gives an identification string,
    here an e-mail address, which reached the report raw; a real user written as an
    e-mail address is personal data too. Both redacted, or keyed with the case key."""
    lines = ("Wed Mar 18 03:40:00 2020 12 198.51.100.7 122880 /out/a.csv b _ o g "
             "jane.roe@guest.example ftp 0 * c\n"
             "Wed Mar 18 03:41:00 2020 12 198.51.100.7 122880 /out/a.csv b _ o r "
             "bob@corp.example ftp 0 * c\n"
             "Wed Mar 18 03:42:00 2020 12 198.51.100.7 122880 /out/a.csv b _ o r "
             "vendor1 ftp 0 * c\n")  # fmt: skip
    path = _write(tmp_path, lines.encode())
    t = read_transfers(path).transfers
    assert t["user"].tolist() == ["[EMAIL]", "[EMAIL]", "vendor1"]
    assert t["user_raw"].tolist() == ["[EMAIL]", "[EMAIL]", "vendor1"]
    k = read_transfers(path, case_key=CaseKey(bytes(range(32)))).transfers["user"].tolist()
    assert k[0].startswith("EMAIL-") and k[1].startswith("EMAIL-") and k[0] != k[1]
    assert k[2] == "vendor1"
