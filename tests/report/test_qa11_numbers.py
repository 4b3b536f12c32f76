"""Numbers as printed (QA session 11): no negative zero, the false-match rate's bound."""

import pytest

from labforensics.attribution.likelihood import log10_text
from labforensics.report.leak_view import _fmr_phrase
from labforensics.report.numbers import fixed


@pytest.mark.parametrize(("x", "text"), [(-0.001, "0.00"), (-0.0, "0.00"), (0.0, "0.00"),
                                         (-0.005, "0.00"), (-0.006, "-0.01"), (0.22, "0.22")])  # fmt: skip
def test_log10_text_no_negative_zero(x, text):
    assert log10_text(x) == text


def test_fixed():
    assert fixed(-0.001, 2) == "0.00"
    assert fixed(-0.001, 2, sign=True) == "+0.00"
    assert fixed(-0.006, 2, sign=True) == "-0.01"
    assert fixed(1.234, 1, sign=True) == "+1.2"
    assert fixed(-1234.5, 0) == "-1234"  # half-even as format


def test_fmr_phrase_states_the_bound():
    # 242 dump rows, no decoy link: 0 %, but the household decoy bounds it at 0.08 %
    assert _fmr_phrase(0.0, {"fmr_high": 0.0008}) == (
        "estimated false-match rate 0 %, at most 0.08 % at 95 % confidence"
    )
    assert _fmr_phrase(0.004, {"fmr_high": 0.004}) == "estimated false-match rate 0.4 %"
    assert _fmr_phrase(0.004) == "estimated false-match rate 0.4 %"
    assert _fmr_phrase(None) == "false-match rate not measured"
