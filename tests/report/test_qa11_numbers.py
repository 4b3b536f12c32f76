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


def test_estimate_and_bound_told_apart():
    # QA session 14: "127 of 34,475 such rows linked, 0.4 %, at most 0.4 %": 127 / 34,475
    # = 0.368 %, bound 0.438 %: at one decimal both 0.4 %, at two 0.37 % and 0.44 %
    from labforensics.report.numbers import pct_apart

    assert pct_apart(127 / 34475, 0.00438) == ("0.37 %", "0.44 %")
    assert pct_apart(0.004, 0.0075) == ("0.4 %", "0.8 %")  # already apart: pct's
    assert pct_apart(0.01, 0.01) == ("1.0 %", "1.0 %")
    assert pct_apart(None, 0.01) == ("n/a", "1.0 %")
    from labforensics.report.leak_view import _fmr_parts_text

    text = _fmr_parts_text({"fmr_relative": 0.001, "relative_rate": 127 / 34475,
                            "relative_rate_high": 0.00438, "relative_links": 127,
                            "relative_exposed": 34475})  # fmt: skip
    assert "127 of 34,475 such rows linked, 0.37 %, at most 0.44 % at 95 % confidence" in text
