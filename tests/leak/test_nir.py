"""NIR normalisation and key check (labforensics.leak.nir), and NIR redaction in free text."""

from __future__ import annotations

import time

import pytest

from labforensics.leak.nir import is_valid_nir, normalise_nir
from labforensics.privacy import _NIR, _PHONE, redact_identifiers

# Fake NIRs, keys worked out by hand: key = 97 - (first 13 digits mod 97)
# 1841276451089: 1841276451089 mod 97 = 51 -> key 46
# 2690549588157: mod 97 = 17 -> key 80
# 1850797212005 (overseas: department 972, commune 12): mod 97 = 89 -> key 08
# 2690219005012 (Corsica 2A read as 19): mod 97 = 50 -> key 47
WRITTEN = {
    "184127645108946": "184127645108946",
    "1 84 12 76 451 089 46": "184127645108946",
    "2.69.05.49.588.157.80": "269054958815780",
    "2-69-05-49-588-157-80": "269054958815780",
    "1 85 07 972 12 005 08": "185079721200508",
    "1.85.07.972.12.005.08": "185079721200508",
    "1\u00a085\u00a007\u00a0972\u00a012\u00a0005\u00a008": "185079721200508",
    "1\u202f85\u202f07\u202f97\u202f212\u202f005\u202f08": "185079721200508",
    "2 69 02 2a 005 012 47": "269022A005012" + "47",
}


def test_worked_keys():
    # the hand-computed remainders above
    assert 97 - 1841276451089 % 97 == 46
    assert 97 - 2690549588157 % 97 == 80
    assert 97 - 1850797212005 % 97 == 8
    assert 97 - 2690219005012 % 97 == 47


@pytest.mark.parametrize(("text", "compact"), sorted(WRITTEN.items()))
def test_every_written_form_normalises(text, compact):
    # spaces, dots, dashes, no-break spaces, the overseas grouping, 2A in lower case
    assert normalise_nir(text) == compact
    assert is_valid_nir(text)


@pytest.mark.parametrize(
    "text",
    [
        "1 84 12 76 451 089 47",  # wrong key
        "5 84 12 76 451 089 46",  # no such sex digit (the key is then wrong too)
        "18412764510894",  # 14 characters
        "269022C005012" + "47",  # 2C is no department
        "1/84/12/76/451/089/46",  # a slash is no NIR separator
        "",
        None,
    ],
)
def test_not_nirs(text):
    assert normalise_nir(text) is None and not is_valid_nir(text)


def test_corsica_key_uses_19_and_18():
    # 2B is read as 18: 2690218005012 mod 97 = 23 -> key 74 (as python-stdnum)
    assert 97 - 2690218005012 % 97 == 74
    assert is_valid_nir("2 69 02 2B 005 012 74") and not is_valid_nir("2 69 02 2B 005 012 47")


@pytest.mark.parametrize("text", sorted(WRITTEN))
def test_every_written_form_is_redacted(text):
    # the redactor finds the same forms as the leak reader, glued to letters too
    assert redact_identifiers(f"Appel CPAM NIR {text}.") == "Appel CPAM NIR [NIR]."
    assert redact_identifiers(f"x{text}y") == "x[NIR]y"


def test_invalid_key_is_redacted_and_neighbours_untouched():
    # a number of NIR shape with a wrong key is not a valid NIR (the linkage's view) but
    # is still a person's identifier: redacted whatever its key
    assert not is_valid_nir("1 84 12 76 451 089 47")
    assert redact_identifiers("ref 1 84 12 76 451 089 47") == "ref [NIR]"
    assert redact_identifiers("ref 2 69 02 2B 005 012 47.") == "ref [NIR]."  # 74 is right
    # no NIR shape: sex digit 5 (nor a phone), kept
    assert redact_identifiers("ref 5 84 12 76 451 089 46") == "ref 5 84 12 76 451 089 46"
    # a 16th digit: no NIR
    assert redact_identifiers("1841276451089461") == "1841276451089461"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("tel 06 12 34 56 78", "tel [PHONE]"),
        ("tel 06.12.34.56.78", "tel [PHONE]"),
        ("tel 06-12-34-56-78", "tel [PHONE]"),
        ("tel 0612345678", "tel [PHONE]"),
        ("tel 06\u00a012\u00a034\u00a056\u00a078", "tel [PHONE]"),
        ("tel +33 6 12 34 56 78", "tel [PHONE]"),
        ("tel +33612345678", "tel [PHONE]"),
        ("tel +33 (0)6 12 34 56 78", "tel [PHONE]"),
        ("tel 0033 6 12 34 56 78", "tel [PHONE]"),
        ("mail jean.dupont@example.fr, fin", "mail [EMAIL], fin"),
        ("lot 061234567890", "lot 061234567890"),  # 12 digits: no phone
    ],
)
def test_phones_and_emails(text, want):
    assert redact_identifiers(text) == want


@pytest.mark.parametrize("text", ["1 " * 200_000, "1." * 200_000, "9-7" * 130_000, "2A " * 130_000])
def test_nir_pattern_is_linear(text):
    # bounded alternatives from a fixed start: 400 KB of near-NIR text in well under 2 s
    t = time.process_time()
    _NIR.sub("", text)
    assert time.process_time() - t < 2.0


@pytest.mark.parametrize("text", ["0\u00a0" * 200_000, "+33 (0)" * 60_000, "06.1" * 100_000])
def test_phone_pattern_is_linear(text):
    # the separators and the (0) added to the phone pattern keep it linear
    t = time.process_time()
    _PHONE.sub("", text)
    assert time.process_time() - t < 2.0
