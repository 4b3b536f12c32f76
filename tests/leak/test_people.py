"""Normalisers of the person frame (labforensics.leak.people): hand-worked forms."""

from __future__ import annotations

import pandas as pd
import phonenumbers
import pytest

from labforensics.leak.people import (
    address_form,
    city_form,
    name_form,
    parse_dates,
    phone_form,
    postcode_form,
    repair_mojibake,
    sex_form,
)


def S(*v):
    return pd.Series(list(v), dtype="string")


def test_names_case_accents_particles_hyphens():
    got = name_form(
        S("de la Fontaine", "Jean-Pierre", "D'Artagnan", "  Œuvray ", "Müller", "", None)
    )
    assert got.tolist()[:5] == ["DE LA FONTAINE", "JEAN PIERRE", "D ARTAGNAN", "OEUVRAY", "MULLER"]
    assert got.isna().tolist()[5:] == [True, True]


def test_mojibake_only_where_unambiguous():
    fixed, n = repair_mojibake(S("HÃ©lÃ¨ne", "HÃ©lÃ¨ne", "Hélène", "Ã‰ric", None))
    # two rows of HÃ©lÃ¨ne and one of Ã‰ric repaired; the clean value untouched
    assert fixed.tolist()[:4] == ["Hélène", "Hélène", "Hélène", "Éric"] and n == 3


def test_address_and_city_abbreviations():
    got = address_form(S("12 bd Victor-Hugo", "3 r. de la Paix", "5 av. Foch", "1 RUE DU R"))
    # R is spelled RUE as a whole word, also at the end (a street named R would be rare)
    assert got.tolist() == [
        "12 BOULEVARD VICTOR HUGO",
        "3 RUE DE LA PAIX",
        "5 AVENUE FOCH",
        "1 RUE DU RUE",
    ]
    assert city_form(S("St-Étienne", "Ste Maxime")).tolist() == ["SAINT ETIENNE", "SAINTE MAXIME"]


@pytest.mark.parametrize(
    "text",
    [
        "06 12 34 56 78",
        "0612345678",
        "+33 6 12 34 56 78",
        "0033 6 12 34 56 78",
        "01.23.45.67.89",
        "+44 20 7946 0958",
    ],
)
def test_phones_as_phonenumbers_gives(text):
    # the regex fast path and phonenumbers agree on E.164
    want = phonenumbers.format_number(
        phonenumbers.parse(text, "FR"), phonenumbers.PhoneNumberFormat.E164
    )
    assert phone_form(S(text)).iat[0] == want


def test_phone_with_trunk_zero_in_brackets_and_junk():
    assert phone_form(S("+33 (0)6 12 34 56 78", "12", "abc")).tolist()[0] == "+33612345678"
    assert phone_form(S("12", "abc")).isna().all()


def test_postcode_and_sex():
    # a spreadsheet drops the leading zero of 01000
    assert postcode_form(S("1000", "75 012", "7501")).tolist() == ["01000", "75012", "07501"]
    assert sex_form(S("m", "Féminin", "H", "2", "X")).tolist()[:4] == ["M", "F", "M", "F"]


def test_dates_1904_and_out_of_range():
    p = parse_dates(S("0", "1462", "01/01/1849", "01/01/2031"), system=1904, pivot_year=2020)
    # 1904 system: 0 = 1904-01-01, 1462 = 1908-01-02; years before 1850 or after pivot+1 unknown
    assert p.iso().tolist()[:2] == ["1904-01-01", "1908-01-02"]
    assert p.year.isna().tolist()[2:] == [True, True]
    assert p.flags == {"serial": 2, "invalid": 2}
