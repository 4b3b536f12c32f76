"""read_authorisations: windows in local time (DST), aliases, patterns, bad lines."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.authorisation import RegisterError, read_authorisations
from labforensics.case import CaseContext

from .conftest import HEADER, write_register

CASE = CaseContext(tz="Europe/Paris", lab_aliases={"350000011": "L07"})


def test_date_only_end_inclusive_across_dst(tmp_path):
    # 2020-03-29 (spring forward, 23 h) and 2020-10-25 (fall back, 25 h) in Europe/Paris
    p = write_register(
        tmp_path,
        [
            "A;L07;x;other;2020-03-29;2020-03-29;;;;",
            "B;L07;x;other;2020-10-25;2020-10-25;;;;",
        ],
    )
    r = read_authorisations(p, CASE)
    # 29 March local starts at 23:00 UTC the day before (CET) and ends at 22:00 UTC (CEST)
    assert r.loc[0, "start"] == pd.Timestamp("2020-03-28 23:00", tz="UTC")
    assert r.loc[0, "end"] == pd.Timestamp("2020-03-29 22:00", tz="UTC") - pd.Timedelta(1, "ns")
    # 25 October local starts at 22:00 UTC (CEST) and ends at 23:00 UTC (CET): 25 hours
    assert r.loc[1, "start"] == pd.Timestamp("2020-10-24 22:00", tz="UTC")
    assert r.loc[1, "end"] == pd.Timestamp("2020-10-25 23:00", tz="UTC") - pd.Timedelta(1, "ns")


def test_times_offsets_open_end_and_fields(tmp_path):
    p = write_register(
        tmp_path,
        [
            "T-1;350000011;Migr.*;Migration;2020-03-01T08:30;2020-03-01T18:00:30;2018-01-01;"
            "2 600;L07_*.csv;migration",
            "T-2;*;support.editeur;support;2020-03-01T08:30+00:00;;;;;",
        ],
    )
    r = read_authorisations(p, CASE)
    assert r["lab"].tolist() == ["L07", "*"]  # FINESS resolved to the code
    assert r["account"].tolist() == ["migr.*", "support.editeur"]  # case-folded
    assert r["kind"].tolist() == ["migration", "support"]
    assert r.loc[0, "start"] == pd.Timestamp("2020-03-01 07:30", tz="UTC")  # CET = UTC+1
    # HH:MM:SS end: the whole second is inside
    assert r.loc[0, "end"] == pd.Timestamp("2020-03-01 17:00:31", tz="UTC") - pd.Timedelta(1, "ns")
    assert r.loc[0, "scope_patients_since"] == pd.Timestamp("2017-12-31 23:00", tz="UTC")
    assert r.loc[0, "scope_max_records"] == 2600
    assert r.loc[1, "start"] == pd.Timestamp("2020-03-01 08:30", tz="UTC")
    assert pd.isna(r.loc[1, "end"]) and pd.isna(r.loc[1, "scope_max_records"])
    assert r["source_line"].tolist() == [2, 3]
    assert r.attrs["lines"] == {"header": 1, "blank": 0, "rows": 2, "bad": 0}


BAD = [
    "OK;L07;a;other;2020-01-01;;;;;",
    "B1;L07;a;nope;2020-01-01;;;;;",  # line 3: unknown kind
    "B2;L07;a;other;2020-13-01;;;;;",  # line 4: no month 13
    "B3;L07;a;other;2020-01-01",  # line 5: 5 fields
    "",  # line 6: blank
    "B4;L07;a;other;2020-02-01;2020-01-01;;;;",  # line 7: end before start
    "B5;L07;a;other;2020-01-01;;;-3;;",  # line 8: negative limit
]


def test_bad_lines_raise_naming_file_and_lines(tmp_path):
    p = write_register(tmp_path, BAD, name="reg_bad.csv")
    with pytest.raises(RegisterError) as ei:
        read_authorisations(p, CASE)
    msg = str(ei.value)
    assert "reg_bad.csv" in msg and "5 problem(s) in 5 line(s)" in msg
    for ln in ("reg_bad.csv:3: kind: 'nope'", "reg_bad.csv:4: start: '2020-13-01'",
               "reg_bad.csv:5: 5 fields", "reg_bad.csv:7: end: 2020-01-01 is before start",
               "reg_bad.csv:8: scope_max_records: '-3'"):  # fmt: skip
        assert ln in msg


def test_every_problem_of_every_line_at_once(tmp_path):
    # QA session 9: a bad month, then "abc", then "-5" as record limits, each found by a
    # run of its own; every column of every line is now checked, in one refusal
    lines = [
        "M1;L01;**;support;2020-13-01;2020-09-30;;abc;[;bad",  # line 2: 3 problems
        "M2;L99;x;weird;;;2020-1-1;-5;;",  # line 3: 4 problems
        "M3;L01;a;other;2020-10-01;2020-09-01;;;;",  # line 4: end before start
    ]
    p = write_register(tmp_path, lines, name="reg.csv")
    with pytest.raises(RegisterError) as ei:
        read_authorisations(p, CASE)
    msg = str(ei.value).splitlines()
    assert msg[0].endswith("reg.csv: 8 problem(s) in 3 line(s):")
    assert msg[1:-1] == [
        "  reg.csv:2: destination: pattern has a '[' without its ']' (a typo?): write [[] for '['",
        "  reg.csv:2: start: '2020-13-01': month must be in 1..12",
        "  reg.csv:2: scope_max_records: 'abc' is not a whole number >= 0",
        "  reg.csv:3: kind: 'weird' is not one of migration, support, billing, backup, "
        "interface, other",
        "  reg.csv:3: start: empty (the first day of the window, yyyy-mm-dd)",
        "  reg.csv:3: scope_patients_since: '2020-1-1' is not a local date yyyy-mm-dd",
        "  reg.csv:3: scope_max_records: '-5' is not a whole number >= 0",
        "  reg.csv:4: end: 2020-09-01 is before start 2020-10-01",
    ]
    # the command has no errors='quarantine': the API's is named as the API's (QA session 10)
    assert msg[-1] == (
        "correct them all and run again: the command reads the register whole (in Python, "
        "labforensics.authorisation.read_authorisations(path, errors='quarantine') leaves "
        "those lines out)"
    )
    q = read_authorisations(p, CASE, errors="quarantine").attrs["quarantine"]
    assert q["source_line"].tolist() == [2, 3, 4]
    assert q["reason"].iloc[0].count("; ") == 2  # the line's three problems


def test_bad_lines_quarantined_and_every_line_accounted(tmp_path):
    p = write_register(tmp_path, BAD, name="reg_bad.csv")
    r = read_authorisations(p, CASE, errors="quarantine")
    assert r["ticket"].tolist() == ["OK"]
    q = r.attrs["quarantine"]
    assert q["source_line"].tolist() == [3, 4, 5, 7, 8]
    assert set(q["source_file"]) == {"reg_bad.csv"}
    # 1 header + 1 row + 1 blank + 5 bad = the 8 lines of the file
    assert r.attrs["lines"] == {"header": 1, "blank": 1, "rows": 1, "bad": 5}


def test_wrong_header_refused(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("ticket;lab;account\nA;L07;x\n", encoding="utf-8")
    with pytest.raises(RegisterError, match="r.csv, line 1: header"):
        read_authorisations(p, CASE)


def test_bom_and_crlf(tmp_path):
    p = tmp_path / "r.csv"
    p.write_bytes(("\ufeff" + HEADER + "\r\nA;L07;x;backup;2020-01-01;;;;;\r\n").encode("utf-8"))
    assert read_authorisations(p, CASE)["kind"].tolist() == ["backup"]


def test_missing_file(tmp_path):
    with pytest.raises(RegisterError, match="cannot be read"):
        read_authorisations(tmp_path / "nope.csv", CASE)


def test_formula_ticket_and_unclosed_bracket_refused(tmp_path):
    # QA: a ticket "=HYPERLINK(...)" and an account pattern "[abc" were accepted silently
    lines = [
        "OK;L07;migr.*;migration;2020-01-01;;;;L07_*.csv;",  # line 2
        '=HYPERLINK("http://x");L07;a;other;2020-01-01;;;;;',  # line 3
        "C1;L07;[abc;other;2020-01-01;;;;;",  # line 4: account pattern
        "C2;L07;a;other;2020-01-01;;;;L07_[0-9.csv;",  # line 5: destination pattern
        "C3;L07;[!x]y;other;2020-01-01;;;;;",  # line 6: a closed class is fine
    ]
    p = write_register(tmp_path, lines, name="reg.csv")
    with pytest.raises(RegisterError) as ei:
        read_authorisations(p, CASE)
    msg = str(ei.value)
    assert "3 problem(s) in 3 line(s)" in msg
    assert "reg.csv:3: ticket: starts like a spreadsheet formula" in msg
    assert "reg.csv:4: account: pattern has a '[' without its ']'" in msg
    assert "reg.csv:5: destination: pattern has a '[' without its ']'" in msg


def test_command_prints_every_problem_then_refuses(tmp_path, capsys):
    from labforensics.cli import main

    lines = ["M1;L01;**;support;2020-13-01;;;abc;;", "M2;L01;x;other;2020-01-01;;;-5;;"]
    reg = write_register(tmp_path, lines, name="reg.csv")
    (tmp_path / "ev").mkdir()
    out = tmp_path / "out"
    argv = ["investigate", str(tmp_path / "ev"), "--out", str(out), "--authorisations", str(reg)]
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("labforensics: error: authorisation register")
    assert err[1:4] == ["  reg.csv:2: start: '2020-13-01': month must be in 1..12",
                        "  reg.csv:2: scope_max_records: 'abc' is not a whole number >= 0",
                        "  reg.csv:3: scope_max_records: '-5' is not a whole number >= 0"]  # fmt: skip
    assert not out.exists()
