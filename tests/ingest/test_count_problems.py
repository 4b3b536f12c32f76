"""Why a record count is not read, in words (QA session 12: an overflow, a sign and a
decimal all read "digit groups must be 3 digits")."""

from __future__ import annotations

import pytest

from labforensics.ingest._lis_convert import _count_problem


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
