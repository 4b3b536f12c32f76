"""The output's retrieval (fetched from outside the lab's network or anonymously, by
the transfer log) as a second activity-level status beside the register's
(``attribution/activity.py``): hand-worked on ``test_activity``'s lab.

The hand lab: 10 patients known at hours 1..10, the first 4 leaked; vendor E (4.2 h)
and insider F (4.7 h) hold the same 4 leaked patients (content log10 likelihood
-0.043648 each), insider G at 9.5 h (-2.689457); outside_evidence -0.647420. The lab
has 10 assessed comparable operations for each status, 1 flagged.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_activity import PA, SIGHT
from test_conclusion import _default, _hours, _lab, _ops

from labforensics.attribution.activity import CLEAR, FLAGGED, NOT_ASSESSED, attach
from labforensics.attribution.conclusion import lab_conclusion
from labforensics.attribution.lab_data import _retrieval_flags
from labforensics.attribution.limits import activity_limit
from labforensics.schema import STRING_LIST


def test_retrieval_flags_by_hand():
    feats = pd.DataFrame(
        {
            "retrieved_outside": [True, False, False, True],
            "output_files": pd.array([["a.csv"], ["b.csv"], [], []], dtype=STRING_LIST),
        }
    )
    # fetched from outside: flagged (even with no file of its own named: the link says so);
    # a named file the given log shows no outside fetch of: clear; no file named: not
    # assessed (nothing to look for)
    assert _retrieval_flags(feats, True).tolist() == [FLAGGED, CLEAR, NOT_ASSESSED, FLAGGED]
    # no transfer log given: nothing is known of the files that were not fetched
    assert _retrieval_flags(feats, False).tolist() == [
        FLAGGED, NOT_ASSESSED, NOT_ASSESSED, FLAGGED,
    ]  # fmt: skip


def _lab_with(register, retrieval):
    d = _lab("L01", 4, _ops([("E", "vendor", _hours(4.2), 4), ("F", "insider", _hours(4.7), 4),
                             ("G", "insider", _hours(9.5), 9)]), horizon_h=4.0)  # fmt: skip
    if register is not None:
        d.register = np.array(register, dtype=np.int8)
        d.register_counts = (1, 10)
    if retrieval is not None:
        d.ops["retrieval"] = np.array(retrieval, dtype=np.int8)
        d.retrieval_counts = (1, 10)
    return d


def test_the_retrieval_alone_weighs_as_the_register_does():
    # E's output fetched from outside, F's not, G not assessed: the same factors as the
    # register's test (E x 5.5, F x 0.611111): vendor against insider log10 1.253669, of
    # which the content 0.300049
    r = lab_conclusion(_lab_with(None, [FLAGGED, CLEAR, NOT_ASSESSED]), None, SIGHT, PA,
                       _default())  # fmt: skip
    assert r["proposition"] == "vendor" and r["alternative"] == "insider"
    assert r["log10_lr"] == pytest.approx(1.253669, abs=1e-5)
    a = r["activity"]
    assert a["statuses"] == ["retrieval"] and "operations_assessed" not in a
    assert (a["operations_fetched_outside"], a["operations_retrieval_assessed"]) == (1, 10)
    assert a["best_operation"]["vendor"] == {"retrieval": "fetched from outside",
                                             "log10_factor": pytest.approx(math.log10(5.5))}  # fmt: skip
    assert "the leading proposition's best operation fetched from outside" in r["reason"]
    assert "1 of the lab's 10 assessed comparable operations fetched from outside" in r["reason"]


def test_an_authorised_output_fetched_from_outside_against_an_unregistered_export():
    # The regulator's scenario in miniature: E (the vendor's migration) authorised and its
    # file fetched anonymously from outside; F (a staff export) unregistered and not
    # fetched. E: register p0 = (1 + 1) / (9 + 2) = 2/11, factor 0.5 / (9/11) = 11/18;
    # retrieval p1 = 1/11, factor 5.5: 11/18 x 5.5 = 3.361111. F: 5.5 x 11/18, the same.
    # The two statuses point opposite ways and cancel: E and F, which the content cannot
    # tell apart, stay tied (each log10 -0.043648 + log10 3.361111 = 0.482835): no source
    # named, as the regulator could name none. The register alone named the staff member.
    both = _lab_with([CLEAR, FLAGGED, NOT_ASSESSED], [FLAGGED, CLEAR, NOT_ASSESSED])
    r = lab_conclusion(both, None, SIGHT, PA, _default())
    assert r["proposition"] == "undetermined" and r["log10_lr"] == 0.0
    assert r["log10_likelihoods"]["vendor"] == pytest.approx(0.482835, abs=1e-5)
    assert r["log10_likelihoods"]["insider"] == pytest.approx(0.482835, abs=1e-5)
    assert "the leaked set cannot tell vendor from insider" in r["reason"]
    # the content's part is the content-only run's (a tie, 0), the statuses' part 0
    assert r["log10_lr_content"] == 0.0
    assert "content log10 0.00 and the operations' statuses log10 0.00" in r["reason"]
    e = r["activity"]["best_operation"]["vendor"]
    assert e == {"register": "authorised", "retrieval": "fetched from outside",
                 "log10_factor": pytest.approx(math.log10(11 / 18 * 5.5))}  # fmt: skip
    assert r["activity"]["best_operation"]["insider"]["register"] == "not authorised"
    assert "best operation authorised, fetched from outside" in r["reason"]
    # the register alone: the unregistered staff export leads
    reg = lab_conclusion(_lab_with([CLEAR, FLAGGED, NOT_ASSESSED], None), None, SIGHT, PA,
                         _default())  # fmt: skip
    assert reg["leading"] == "insider"
    lim = activity_limit([{"lab": "L01", "activity": r["activity"]}])
    assert lim.startswith("the operations' statuses are weighed apart from the leak's content")
    assert "the authorisation register's statuses for L01:" in lim
    assert "(the transfer log) for L01:" in lim


def test_attach_counts_the_comparable_operations_only():
    d = _lab_with(None, None)
    d.ops.loc[2, "kind"] = "consultations"  # G: an account's reads, never assessed
    d.ops["retrieval"] = np.array([FLAGGED, CLEAR, CLEAR], dtype=np.int8)
    prep = {"labs": {"L01": d}}
    attach(prep, None)
    assert d.retrieval_counts == (1, 2) and d.register is None
    # no operation assessable (no transfer log, or no file named): nothing attached
    d2 = _lab_with(None, None)
    d2.ops["retrieval"] = np.full(3, NOT_ASSESSED, dtype=np.int8)
    attach({"labs": {"L01": d2}}, None)
    assert d2.retrieval_counts is None
