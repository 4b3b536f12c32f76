"""Structural checks of the NIR (issue 13 item 2): leak.nir.nir_problems and nir_agrees_with.

Every NIR here is fake. Keys worked out by hand: key = 97 - (first 13 digits mod 97),
2A read as 19 and 2B as 18 (e.g. 1750318033014 = 97 x 18044515804 + 26 -> key 71).
"""

from __future__ import annotations

import pytest

from labforensics.leak.nir import NIR_PROBLEMS, nir_agrees_with, nir_problems

# fake NIRs with their hand-worked keys
METRO = "1 84 12 76 451 089 46"  # 1841276451089 mod 97 = 51 -> 46
CORSICA_2A = "2 69 02 2A 005 012 47"  # 2690219005012 mod 97 = 50 -> 47
CORSICA_2B = "1 75 03 2B 033 014 71"  # 1750318033014 mod 97 = 26 -> 71
OVERSEAS = "1 85 07 972 12 005 08"  # Martinique 972, commune 12: mod 97 = 89 -> 08
ABROAD = "1 50 03 99 352 123 03"  # 99 + INSEE country code 352: mod 97 = 94 -> 03
PROVISIONAL = "3 85 09 99 135 045 22"  # sex 3 (born abroad, pending): mod 97 = 75 -> 22
UNKNOWN_MONTH = "2 12 20 75 056 002 96"  # month 20 (unknown): mod 97 = 1 -> 96
TUNISIA_OLD = "2 96 12 96 512 004 33"  # department 96: mod 97 = 64 -> 33


@pytest.mark.parametrize(
    "nir",
    [METRO, CORSICA_2A, CORSICA_2B, OVERSEAS, ABROAD, PROVISIONAL, UNKNOWN_MONTH, TUNISIA_OLD],
)
def test_valid_shapes_have_no_problem(nir):
    # each is a well-formed NIR whose key was worked out above
    assert nir_problems(nir) == ()


def test_corsica_lower_case_and_wrong_letter():
    # 2a is read as 2A; 2C is no department: the characters themselves are refused
    assert nir_problems(CORSICA_2A.lower()) == ()
    assert nir_problems(CORSICA_2A.replace("2A", "2C")) == ("length",)


def test_corsica_key_uses_19_not_the_letters():
    # the same digits with 2B instead of 2A: 2690218005012 mod 97 = 23 -> key 74, not 47
    assert nir_problems("2 69 02 2B 005 012 47") == ("key",)
    assert nir_problems("2 69 02 2B 005 012 74") == ()


def test_wrong_key():
    # METRO with key 47 instead of 46
    assert nir_problems(METRO[:-2] + "47") == ("key",)


def test_sex_digit():
    # 5 is no sex code; 5850776451089 mod 97 = 89 -> key 08 keeps the key right
    assert nir_problems("5 85 07 76 451 089 08") == ("sex",)


@pytest.mark.parametrize(
    ("nir", "problems"),
    [
        ("1 85 13 76 451 089 13", ("month",)),  # month 13: mod 97 = 84 -> key 13
        ("1 85 07 00 451 089 29", ("department",)),  # department 00: mod 97 = 68 -> 29
        ("1 85 07 76 000 089 61", ("commune",)),  # commune 000: mod 97 = 36 -> 61
        ("1 85 07 76 451 000 06", ("order",)),  # order 000: mod 97 = 91 -> 06
        ("1 85 07 979 12 005 57", ("department",)),  # 979 is no overseas code (mod 40)
        ("1 85 07 971 00 005 70", ("commune",)),  # overseas commune 00 (mod 27 -> 70)
    ],
)
def test_each_structural_problem(nir, problems):
    # one fault at a time, the key recomputed so only that fault shows
    assert nir_problems(nir) == problems


def test_months_of_unknown_birth_month():
    # 20-42 and 50-99 are the codes of an unknown month; 43-49 are not
    assert nir_problems(UNKNOWN_MONTH) == ()
    assert nir_problems("2 12 45 75 056 002 11") == ("month",)  # mod 97 = 86 -> 11
    assert nir_problems("2 12 55 75 056 002 74") == ()  # mod 97 = 23 -> 74


def test_length_and_empty():
    # 14 characters, empty, None: nothing else can be read
    assert nir_problems(METRO[:-1]) == ("length",)
    assert nir_problems("") == ("length",)
    assert nir_problems(None) == ("length",)
    assert set(NIR_PROBLEMS) >= {"length", "sex", "month", "department", "commune", "order", "key"}


def test_agrees_with_own_birth_date():
    # METRO: man born 1984-12
    assert nir_agrees_with(METRO, "M", 1984, 12)
    assert nir_agrees_with(METRO, None, None, None)


def test_dependant_does_not_agree():
    # a daughter born 2012-06 carrying her father's NIR: sex, year and month all differ
    assert not nir_agrees_with(METRO, "F", 2012, 6)
    assert not nir_agrees_with(METRO, "M", 1984, 11)  # month alone differs
    assert not nir_agrees_with(METRO, "M", 1985, 12)  # year alone differs


def test_unknown_month_agrees_with_any_month():
    # month code 20: the birth month is unknown to INSEE, so any month agrees
    assert nir_agrees_with(UNKNOWN_MONTH, "F", 2012, 6)
    assert not nir_agrees_with(UNKNOWN_MONTH, "M", 2012, 6)


def test_invalid_nir_never_agrees():
    assert not nir_agrees_with(METRO[:-2] + "47", "M", 1984, 12)
