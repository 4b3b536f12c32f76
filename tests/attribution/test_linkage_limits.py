"""The Limits say what was run about the linkage (QA session 14, item 3).

The tester read a dump of 2 people against a 3-line index (2 records kept): no row
linked, no false-match rate, and the Limits said "the leak is a list of identifiers:
no linkage, no false-match rate" (the sentence followed ``fmr is None``). A dump read and
linked now says its rate was not measured, and a dump under 300 rows says the linkage's
rates are not measured on it (rule of three: 3 / 300 = 1 %, the linkage's target).
"""

from __future__ import annotations

import pytest

from labforensics.attribution.lab_data import _index_rows
from labforensics.attribution.limits import limits
from labforensics.attribution.linkage_limits import FMR_TARGET, MIN_DUMP_ROWS

LIST = "the leak is a list of identifiers: no linkage, no false-match rate"
NOT_MEASURED = "linkage false-match rate not measured: no dump row was linked at the threshold"


def _prep(**kw):
    base = {"labs": {}, "fmr": None, "fmr_high": None, "unplaced": 0, "sighted_at": None,
            "n_rows_linked": None, "dump_rows": None, "index_rows": None}  # fmt: skip
    return base | kw


def _conc():
    return {"coverage": {"total": 0}, "not_weighed": [], "per_lab": []}


def test_a_list_of_identifiers():
    out = limits(_prep(), _conc(), None)
    assert out[0] == LIST and not any("dump row" in t for t in out)


def test_the_testers_dump_says_what_was_run():
    # 2 dump rows, none linked, 2 index records
    out = limits(_prep(n_rows_linked=0, dump_rows=2, index_rows=2), _conc(), None)
    assert LIST not in out
    assert out[0].startswith(NOT_MEASURED)
    assert out[1] == (
        "the record linkage was trained and its false-match rate measured on 2 dump row(s) "
        "against 2 patient index record(s): below 300 rows even a dump with no decoy link "
        "leaves the rate's 95 % upper bound (3/n, the rule of three) above the 1 % target, "
        "and the match weights are estimated (EM, Fellegi-Sunter) from a handful of pairs: "
        "the linkage's rates are not measured on so small a dump, and its classes (unique, "
        "household, ambiguous) may be wrong"
    )


@pytest.mark.parametrize(("rows", "warned"), [(299, True), (300, False), (50_000, False)])
def test_the_small_dump_bound(rows, warned):
    # rule of three: 3 / 299 = 1.003 % > 1 %; 3 / 300 = 1 %, the target itself
    assert MIN_DUMP_ROWS == 300 and 3 / 300 == pytest.approx(FMR_TARGET)
    out = limits(_prep(n_rows_linked=rows, fmr=0.004, dump_rows=rows), _conc(), None)
    assert out[0].startswith("linkage false-match rate of this run")
    assert any("dump row(s)" in t for t in out) is warned


def test_index_rows_from_the_linkage_summary():
    assert _index_rows({"per_lab": [{"patients_known": 2}, {"patients_known": 5}]}) == 7
    assert _index_rows({"per_lab": [{"patients_known": None}]}) is None
    assert _index_rows(None) is None


def test_the_ceiling_at_one_percent_is_very_strong_and_said_so():
    # QA session 14, item 4: min(6, 2 log10(1 / 0.01)) = 4, LR 10,000: the band
    # [10,000, 1,000,000) "very strong" (each band includes its lower bound); the README's
    # "4, 'strong', at 1 %" contradicted the scale
    from labforensics.attribution.likelihood import ceiling_log10, verbal

    assert ceiling_log10(0.01) == pytest.approx(4.0)
    assert verbal(10.0 ** ceiling_log10(0.01)) == "very strong"
    out = limits(_prep(), _conc(), None)
    assert any("(4 at a mismatch rate of 1 %: a ratio of 10,000, the lower bound of very "
               "strong; a ratio held at a ceiling is not known to be more)" in t for t in out)  # fmt: skip
