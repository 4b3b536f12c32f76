"""``[networks.by_lab]`` keys resolved through the ``[[labs]]`` aliases (session 13's
leftover): a key that was a FINESS number or an alias of a lab was made canonical but
kept as written, so its blocks were a lab no event has and the lab's own addresses were
classified without them (``other`` where ``lab`` was right)."""

from __future__ import annotations

import pytest

from labforensics.case import load_case
from labforensics.errors import ParameterError

LABS = (
    '[[labs]]\ncode = "L07"\nfiness = "750000001"\naliases = ["lab-sept"]\n[[labs]]\ncode = "L08"\n'
)


def _case(tmp_path, by_lab: str):
    p = tmp_path / "case.toml"
    p.write_text(LABS + "[networks.by_lab]\n" + by_lab, encoding="utf-8")
    return p


@pytest.mark.parametrize("key", ['"750000001"', '"lab-sept"', '" Lab-Sept "', "l07"])
def test_finess_or_alias_key_is_the_labs_code(tmp_path, key):
    nm = load_case(_case(tmp_path, f'{key} = ["10.7.0.0/16"]\nL08 = ["10.8.0.0/16"]\n')).networks
    assert {k: [str(n) for n in v] for k, v in nm.by_lab.items()} == {
        "L07": ["10.7.0.0/16"],
        "L08": ["10.8.0.0/16"],
    }
    # by hand: 10.7.1.2 is in L07's block, not in L08's
    assert nm.classify("10.7.1.2", "L07") == "lab"
    assert nm.classify("10.7.1.2", "L08") == "other"


def test_two_keys_of_one_lab_with_the_same_blocks_are_one(tmp_path):
    by_lab = 'L07 = ["10.7.0.0/16"]\n"750000001" = ["10.7.0.0/16"]\nL08 = ["10.8.0.0/16"]\n'
    nm = load_case(_case(tmp_path, by_lab)).networks
    assert {k: [str(n) for n in v] for k, v in nm.by_lab.items()} == {
        "L07": ["10.7.0.0/16"],
        "L08": ["10.8.0.0/16"],
    }


def test_two_keys_of_one_lab_with_other_blocks_are_refused(tmp_path):
    p = _case(tmp_path, 'L07 = ["10.7.0.0/16"]\n"750000001" = ["10.9.0.0/16"]\n')
    with pytest.raises(
        ParameterError,
        match=r"\[networks.by_lab\] keys 'L07' and '750000001' both name lab L07 with "
        r"different blocks \(\['10.7.0.0/16'\] and \['10.9.0.0/16'\]\)",
    ) as err:
        load_case(p)
    assert str(p.resolve()) in str(err.value)
    # the case only: l07 and L07 with other blocks
    with pytest.raises(ParameterError, match=r"keys 'l07' and 'L07' both name lab L07"):
        load_case(_case(tmp_path, 'l07 = ["10.7.0.0/16"]\nL07 = ["10.9.0.0/16"]\n'))
