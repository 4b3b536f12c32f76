"""The Limits line's false-match rate gives the 95 % bound, as section 5b and the
headline do (session 11's QA: a rate of "0.00 %" on a few hundred rows read as zero)."""

from __future__ import annotations

import math

from labforensics.attribution.limits import limits

CONC = {"coverage": {"linked": 400}}


def _fmr_line(prep: dict) -> str:
    (line,) = [s for s in limits(prep, CONC, None) if s.startswith("linkage false-match")]
    return line


def test_bound_given_when_it_differs():
    # 0 false links measured; the household decoy's upper end 0.75 %
    line = _fmr_line({"fmr": 0.0, "fmr_high": 0.0075})
    assert line.startswith(
        "linkage false-match rate of this run (decoy estimate at the threshold): 0.00 %, "
        "at most 0.75 % at 95 % confidence (about 0 of the 400 lab-patient pairs"
    )


def test_no_bound_when_equal_missing_or_nan():
    for high in (0.0123, None, math.nan):
        line = _fmr_line({"fmr": 0.0123, "fmr_high": high})
        assert "at 95 % confidence" not in line
        assert ": 1.23 % (about 5 of the 400 lab-patient pairs" in line
    assert "95 %" not in _fmr_line({"fmr": 0.0123})


def test_bound_close_to_the_rate_gets_the_digits_to_differ():
    # QA session 14: 0.368 % and 0.438 % both read "0.4 %" in 5b; here 0.368 % and
    # 0.372 %: 0.37 = 0.37 at 2 decimals, 0.368 < 0.372 at 3
    line = _fmr_line({"fmr": 0.00368, "fmr_high": 0.00372})
    assert ": 0.368 %, at most 0.372 % at 95 % confidence" in line
