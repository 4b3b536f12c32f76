"""A NIR in a numeric column is withheld; an over-long line's quarantine row is keyed.

QA session 16: a NIR written in ``NB_ENREG`` / ``nb_lignes`` / ``volume_octets`` was read
as a number and reached events, sessions, exports, findings and the report ("275,086,
912,345,644 exported"); one in ``id_session`` reached the events raw; and a quarantined
line over 1 MiB kept its account, host, address, patient name and birth date in clear.

The NIR of these tests, by hand: 2750869123456 = 97 x 28359475499 + 53, so its key is
97 - 53 = 44 and ``275086912345644`` is valid; ``...45`` is not (wrong key), yet it is
still withheld as a NIR (a typo in the key leaves a person's identifier).
"""

from __future__ import annotations

import re

import pandas as pd

from labforensics.cli import main
from labforensics.ingest import read_evidence
from labforensics.ingest._common import MAX_LINE_BYTES, RAW_CAP
from labforensics.ingest._numeric_ids import (
    IMPLAUSIBLE_PROBLEM,
    NIR_PROBLEM,
    nir_cells,
    numeric_identifier_counts,
)
from labforensics.ingest.protection import UNPLACED_NOTE
from labforensics.privacy import CaseKey, nir_hash
from lis_headers import CURRENT_HEADER, LEGACY_HEADER

KEY_HEX = bytes(range(32)).hex()
KEY = CaseKey(bytes(range(32)))
NIR = "275086912345644"
# the NIR's digits in any separator form (none, blank, dot, dash, slash, comma grouping)
NIR_ANY = re.compile(r"[\s.,\-/\xa0]?".join(NIR).encode())

LEG_ROW = (
    "05/03/2020;09:{m:02d}:00;L01;S1;tech.a;TECHNICIEN;PC-1;10.0.0.1;RESULTATS;EXPORT;OK;;D1;{n};x"
)
CUR_ROW = (
    "2020-03-02T08:{m:02d}:00+01:00;L01;S1;tech.a;technicien;PC-1;10.0.0.1;extraction;export;"
    "succes;;;{n};{b};{s};"
)


def _leak_free(out) -> None:
    """Every file of the output folder, read as bytes, is free of the NIR's digits."""
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    for p in files:
        assert not NIR_ANY.search(p.read_bytes()), p.name


def _ingest(tmp_path, name: str, text: str, encoding: str, profile: str | None = None):
    ev_dir, out = tmp_path / "ev", tmp_path / "out"
    ev_dir.mkdir()
    (ev_dir / name).write_bytes(text.encode(encoding))
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY_HEX)
    opts = ["--profile", profile] if profile else []
    args = ["ingest", str(ev_dir), "--out", str(out), "--case-key", str(key_file), *opts]
    assert main(args) == 0
    return read_evidence(ev_dir, case_key=KEY, profile=profile), out


def test_nir_cells_by_hand():
    col = ["12", NIR, "2 75 08 69 123 456 44", "2.75.08.69.123.456.44", None, NIR[:-1] + "5",
           "5" + NIR[1:]]  # fmt: skip
    # the plain and separated NIRs (valid key 44) and a wrong key (a typo in a person's
    # NIR) are; a missing cell and a number of no NIR shape (sex digit 5) are not
    assert nir_cells(__import__("pyarrow").array(col)).tolist() == [
        False,
        True,
        True,
        True,
        False,
        True,
        False,
    ]
    rows = [
        {"column": "records", "problem": "NB_ENREG: " + NIR_PROBLEM},
        {"column": "bytes", "problem": "volume_octets: " + NIR_PROBLEM},
        {"column": "records", "problem": "NB_ENREG: " + IMPLAUSIBLE_PROBLEM},
    ]
    assert numeric_identifier_counts(rows) == {"bytes": 1, "records": 1}


def test_legacy_count_nir_withheld(tmp_path):
    values = [
        NIR,  # line 2: the NIR -> withheld
        "2 75 08 69 123 456 44",  # line 3: the NIR with blanks -> withheld
        "275 086 912 345 644",  # line 4: grouped by 3, not a NIR's groups: 15 digits
        NIR[:-1] + "5",  # line 5: wrong key, still a person's NIR -> withheld
        "1234567890123",  # line 6: 13 digits (10^12 or more): implausible
        "999999999999",  # line 7: 12 digits: below the bound, read
        "12 500",  # line 8: French grouping, read as before
    ]
    rows = [LEG_ROW.format(m=i, n=v) for i, v in enumerate(values)]
    text = LEGACY_HEADER + "\r\n" + "\r\n".join(rows) + "\r\n"
    ev, out = _ingest(tmp_path, "AUDIT_L01_20200305.csv", text, "cp1252")
    assert ev.events["records"].tolist()[:4] == [pd.NA] * 4
    assert ev.events["records"].tolist()[4:] == [pd.NA, 999999999999, 12500]
    fp = ev.report.field_problems
    got = list(zip(fp["source_line"], fp["column"], fp["value"], fp["problem"], strict=True))
    assert got == [
        (2, "records", "[NIR]", "NB_ENREG: " + NIR_PROBLEM),
        (3, "records", "[NIR]", "NB_ENREG: " + NIR_PROBLEM),
        (4, "records", "<15 digits>", "NB_ENREG: " + IMPLAUSIBLE_PROBLEM),
        (5, "records", "[NIR]", "NB_ENREG: " + NIR_PROBLEM),
        (6, "records", "<13 digits>", "NB_ENREG: " + IMPLAUSIBLE_PROBLEM),
    ]
    assert NIR_PROBLEM == "a NIR-like identifier in a numeric column: value withheld"
    # only the three NIRs (two with the right key, one with a wrong key) are identifiers
    # in a column (the others are implausible counts)
    assert ev.report.identifiers_in_columns == {"records": 3}
    assert "NIRs in numeric columns, withheld (values missing): records (3 rows)" in (
        ev.report.summary()
    )
    _leak_free(out)


def test_current_nir_in_every_numeric_column(tmp_path):
    rows = [
        CUR_ROW.format(m=0, n=NIR, b="", s="S1"),  # line 2: nb_lignes
        CUR_ROW.format(m=1, n="12", b="2.75.08.69.123.456.44", s="S1"),  # line 3: volume_octets
        CUR_ROW.format(m=2, n="12", b="4096", s=NIR),  # line 4: id_session (a string)
    ]
    text = "\ufeff" + CURRENT_HEADER + "\n" + "\n".join(rows) + "\n"
    ev, out = _ingest(tmp_path, "audit_l01_2020-03-02.csv", text, "utf-8")
    e = ev.events
    assert e["records"].tolist() == [pd.NA, 12, 12]
    assert e["bytes"].tolist() == [pd.NA, pd.NA, 4096]
    # the session id is keyed like a login (one number, one id): sessions stay as they were
    assert e["app_session"].tolist() == ["S1", "S1", nir_hash(KEY, NIR)]
    fp = ev.report.field_problems
    got = list(zip(fp["source_line"], fp["column"], fp["value"], fp["problem"], strict=True))
    assert got == [
        (2, "records", "[NIR]", "nb_lignes: " + NIR_PROBLEM),
        (3, "bytes", "[NIR]", "volume_octets: " + NIR_PROBLEM),
    ]
    assert ev.report.identifiers_in_columns == {"app_session": 1, "bytes": 1, "records": 1}
    _leak_free(out)


def test_regex_profile_size_nir_withheld(tmp_path):
    line = '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 {}'
    text = line.format(NIR) + "\n" + line.format(2326) + "\n"
    ev, out = _ingest(tmp_path, "access.log", text, "utf-8", "apache-access")
    assert ev.events["bytes"].tolist() == [pd.NA, 2326]
    fp = ev.report.field_problems
    fp = fp[fp["column"] != "lab"]  # the other row: the file names no lab (a lab note)
    assert list(zip(fp["source_line"], fp["column"], fp["value"], strict=True)) == [
        (1, "bytes", "[NIR]")
    ]
    assert fp["problem"].iloc[0] == "size: " + NIR_PROBLEM
    _leak_free(out)


def test_over_long_line_quarantined_keyed(tmp_path):
    detail = '"BERTHELOTTE Zanzibar 14/07/1975 ' + "Y" * MAX_LINE_BYTES + '"'
    long_row = LEG_ROW.format(m=1, n="10").rsplit(";", 1)[0] + ";" + detail
    text = (
        LEGACY_HEADER
        + "\r\n"
        + "\r\n".join([LEG_ROW.format(m=0, n="1"), long_row, LEG_ROW.format(m=2, n="1")])
        + "\r\n"
    )
    ev, out = _ingest(tmp_path, "AUDIT_L01_20200305.csv", text, "cp1252")
    q = ev.quarantine
    assert q["source_line"].tolist() == [3]
    raw, reason = q["raw"].iloc[0], q["reason"].iloc[0]
    assert reason.endswith(UNPLACED_NOTE)  # keyed like a wrong-width row, and says so
    for clear in ("BERTHELOTTE", "Zanzibar", "14/07/1975", "tech.a", "PC-1", "10.0.0.1", "S1"):
        assert clear not in raw
    fields = raw.split(";")
    # 15 fields kept as read (the last cut inside its quote): the date, time, lab and the
    # codes stay (harmless); site, account, host, address, count, request, detail: U ids
    assert fields[:3] == ["05/03/2020", "09:01:00", "L01"]
    assert fields[5] == "TECHNICIEN" and fields[8:11] == ["RESULTATS", "EXPORT", "OK"]
    for i in (3, 4, 6, 7, 12, 13):
        assert re.fullmatch(r"U[0-9a-f]{16}", fields[i]), (i, fields[i])
    assert re.fullmatch(r"U[0-9a-f]{16}… \[[\d,]+ more characters cut\]", fields[14])
    assert len(raw) <= RAW_CAP + len("… [1,000,000 more characters cut]")
    for p in out.rglob("*"):
        if p.is_file():
            assert b"BERTHELOTTE" not in p.read_bytes(), p.name


def test_investigate_outputs_hold_no_nir_count(tmp_path):
    # the QA row: an EXPORT whose NB_ENREG is the NIR, in a login/logout session
    rows = [
        "05/03/2020;09:00:00;L01;S1;tech.a;TECHNICIEN;PC-1;10.0.0.1;ADMIN;CONNEXION;OK;;;;",
        LEG_ROW.format(m=4, n=NIR),
        LEG_ROW.format(m=5, n="7"),
        "05/03/2020;09:10:00;L01;S1;tech.a;TECHNICIEN;PC-1;10.0.0.1;ADMIN;DECONNEXION;OK;;;;",
    ]
    ev_dir, out = tmp_path / "ev", tmp_path / "out"
    ev_dir.mkdir()
    text = LEGACY_HEADER + "\r\n" + "\r\n".join(rows) + "\r\n"
    (ev_dir / "AUDIT_L01_20200305.csv").write_bytes(text.encode("cp1252"))
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY_HEX)
    args = ["investigate", str(ev_dir), "--out", str(out), "--case-key", str(key_file)]
    assert main([*args, "--quiet"]) == 0
    ex = pd.read_parquet(out / "exports.parquet")
    assert ex["records"].tolist() == [pd.NA, 7]  # the withheld count is missing, not 2.7e14
    _leak_free(out)  # events, sessions, exports, findings.json, report.html, ...
