"""Why a record count is not read, in words (QA session 12: an overflow, a sign and a
decimal all read "digit groups must be 3 digits")."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.ingest._lis_convert import _count_problem
from lis_headers import LEGACY_HEADER as HEADER


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("9223372036854775807", "too large for a count (more than 18 digits)"),
        ("99999999999999999999", "too large for a count (more than 18 digits)"),
        ("12 500 000 000 000 000 000", "too large for a count (more than 18 digits)"),
        ("-5", "negative (a count is never below 0)"),
        ("1.5", "not a whole number written in digits"),
        ("1,5", "not a whole number written in digits"),
        ("1e3", "not a whole number written in digits"),
        ("12 50", "not a non-negative integer (digit groups must be 3 digits)"),
        ("abc", "not a non-negative integer"),
    ],
)
def test_reason_by_kind(value, why):
    assert _count_problem(value, "nb_lignes", grouping=True) == f"nb_lignes: {why}"


def test_no_grouping_words_without_grouping():
    assert _count_problem("12 50", "NB", grouping=False) == "NB: not a non-negative integer"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        # QA session 13: "  7  " was "too large for a count (more than 18 digits)"
        ("+-5", "not a non-negative integer"),
        ("\uff11\uff12", "written with digits other than 0-9 (not read)"),  # full-width 12
        ("\u0661\u0662", "written with digits other than 0-9 (not read)"),  # Arabic-Indic
        ("+" + "9" * 19, "too large for a count (more than 18 digits)"),
    ],
)
def test_reason_of_other_odd_values(value, why):
    assert _count_problem(value, "nb_lignes", grouping=True) == f"nb_lignes: {why}"


def test_grouped_value_without_grouping_is_not_too_large():
    # "12 500" is 5 digits: without digit grouping it is no number, not an overflow
    assert _count_problem("12 500", "NB", grouping=False) == "NB: not a non-negative integer"


CELLS = [
    ("  7  ", 7, None),
    ("\t7\t", 7, None),
    ("\u00a07\u00a0", 7, None),  # no-break spaces (cp1252 0xA0)
    ("+7", 7, None),
    ("07", 7, None),
    ("0012", 12, None),
    (" 12 500 ", 12500, None),
    ("   ", None, None),  # blanks only: an empty count
    ("+ 7", None, "not a non-negative integer"),
    (" -7 ", None, "negative (a count is never below 0)"),
    (" 12.0 ", None, "not a whole number written in digits"),
]


def test_counts_read_with_padding_and_sign(tmp_path):
    from labforensics import read_evidence

    rows = [
        f"03/06/2020;10:{i:02d}:00;L01;S1;sec.a;SECRETAIRE;PC-1;10.1.0.2;RESULTATS;EXPORT;OK;;;"
        f"{cell};export"
        for i, (cell, _, _) in enumerate(CELLS)
    ]
    data = ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252")
    (tmp_path / "AUDIT_L01_20200603.csv").write_bytes(data)
    ev = read_evidence(tmp_path, case_key=bytes(range(32)), progress=False)
    got = ev.events.sort_values("source_line")["records"].tolist()
    assert [None if v is pd.NA else v for v in got] == [want for _, want, _ in CELLS]
    fp = ev.report.field_problems
    fp = fp[fp["column"] == "records"].sort_values("source_line")
    want = [(i + 2, f"NB_ENREG: {why}") for i, (_, _, why) in enumerate(CELLS) if why]
    assert list(zip(fp["source_line"], fp["problem"], strict=True)) == want


def test_a_long_count_is_neither_keyed_nor_raw(tmp_path):
    # session 13's leftover: "99999999999999999999" in NB_ENREG was a field problem whose
    # value was keyed like an identifier (the digit-run rule of LIS field problems). By
    # hand: 20 digits shown as "<20 digits>", " -123456 " as " -<6 digits> " (a run of 6),
    # "1.5" as written (no run of 5)
    from labforensics import read_evidence
    from labforensics.ingest._lis_convert import count_shown

    assert count_shown("99999999999999999999") == "<20 digits>"
    cells = ["99999999999999999999", " -123456 ", "1.5"]
    rows = [
        f"03/06/2020;10:{i:02d}:00;L01;S1;sec.a;SECRETAIRE;PC-1;10.1.0.2;RESULTATS;EXPORT;OK;;;"
        f"{cell};export"
        for i, cell in enumerate(cells)
    ]
    data = ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252")
    (tmp_path / "AUDIT_L01_20200603.csv").write_bytes(data)
    ev = read_evidence(tmp_path, case_key=bytes(range(32)), progress=False)
    fp = ev.report.field_problems.sort_values("source_line")
    assert list(zip(fp["source_line"], fp["column"], fp["value"], fp["problem"], strict=True)) == [
        (2, "records", "<20 digits>", "NB_ENREG: too large for a count (more than 18 digits)"),
        (3, "records", " -<6 digits> ", "NB_ENREG: negative (a count is never below 0)"),
        (4, "records", "1.5", "NB_ENREG: not a whole number written in digits"),
    ]
    assert len(ev.events) == 3 and ev.events["records"].isna().all()
