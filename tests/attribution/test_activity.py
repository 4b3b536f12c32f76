"""The register's statuses as activity-level evidence (``attribution/activity.py``) and
which operations a proposition ranges over (``attribution/op_prior.py``): hand-worked.

The hand lab is ``test_conclusion``'s: 10 patients known at hours 1..10, the first 4
leaked, eps 1 %, the horizon at 4 h (before every operation the leak allows), no
sighting after 8.5 h. Content log10 likelihoods (``test_conclusion``): a cut holding the
first 4, 10 log10 0.99 = -0.043648; at 9.5 h (9 patients) -2.689457; outside_evidence
uniform over [4 h, 8.5 h] -0.647420.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from test_conclusion import P, T, _default, _hours, _lab, _ops

from labforensics.attribution.activity import (
    CLEAR,
    FLAGGED,
    NOT_ASSESSED,
    lab_counts,
    log_factors,
    op_flags,
    session_flags,
)
from labforensics.attribution.conclusion import conclude, lab_conclusion, sensitivity

SIGHT = T + pd.Timedelta(hours=8.5)
#: test_conclusion's parameters with the register's statuses weighed (off by default)
PA = dataclasses.replace(P, activity_evidence=True)


def test_session_flags_from_the_exports_statuses():
    ex = pd.DataFrame(
        {
            "session_id": ["s1", "s1", "s2", "s2", "s3", "s4", "s4", "x1"],
            "lab": ["L01"] * 7 + ["L02"],
            "status": ["authorised", "beyond", "authorised", "authorised", "undetermined",
                       "authorised", "unknown", "unregistered"],
        }
    )  # fmt: skip
    f = session_flags(ex, "L01")
    # s1: one operation beyond -> not authorised; s2 all authorised; s3 undetermined and s4
    # partly unknown -> not assessed; L02's session is not L01's
    assert f.to_dict() == {"s1": FLAGGED, "s2": CLEAR, "s3": NOT_ASSESSED, "s4": NOT_ASSESSED}
    assert lab_counts(f) == (1, 2)
    ops = pd.DataFrame({"op": ["s2", "consultations:a", "s1", "s9"]})
    assert op_flags(ops, f).tolist() == [CLEAR, NOT_ASSESSED, FLAGGED, NOT_ASSESSED]
    assert session_flags(None, "L01").empty and session_flags(ex, "L09").empty


def test_log_factors_by_hand():
    # 1 of 10 assessed sessions not authorised. The flagged one: the 9 others hold none,
    # p0 = (0 + 1) / (9 + 2) = 1/11, factor 0.5 / (1/11) = 5.5. An authorised one: the 9
    # others hold the flagged one, p0 = 2/11, factor 0.5 / (9/11) = 0.611111
    lf = np.exp(log_factors(np.array([FLAGGED, CLEAR, NOT_ASSESSED], dtype=np.int8), 1, 10))
    assert lf.tolist() == pytest.approx([5.5, 0.611111, 1.0], abs=1e-6)
    # a lab with no other assessed session: p0 = 1/2, no information either way
    assert np.exp(log_factors(np.array([FLAGGED], dtype=np.int8), 1, 1)).tolist() == [1.0]
    # a lab where most operations are not authorised (8 of 10): p0 = (7 + 1) / (9 + 2) =
    # 8/11 for a flagged one, 9/11 for an authorised one; a copy is taken to be no less
    # often unauthorised than the others (pi = max(p0, 1/2)): factors 1 and 1, never
    # "authorised, so more likely the copy" (session 18's QA: 25.5 for an authorised
    # extraction at a lab of unregistered exports)
    lf = log_factors(np.array([FLAGGED, CLEAR], dtype=np.int8), 8, 10)
    assert np.exp(lf).tolist() == pytest.approx([1.0, 1.0])
    # an authorised operation never weighs more than 1, a flagged one never less
    for f in range(0, 11):
        v = np.exp(log_factors(np.array([FLAGGED, CLEAR], dtype=np.int8), max(f, 1), 11))
        assert v[0] >= 1.0 and v[1] <= 1.0


def _tie_lab(register: bool):
    # vendor E (4.2 h) and insider F (4.7 h) hold the same 4 leaked patients; insider G at
    # 9.5 h. With a register: E not authorised, F authorised, G not assessed; the lab has
    # 1 of 10 assessed sessions not authorised
    d = _lab("L01", 4, _ops([("E", "vendor", _hours(4.2), 4), ("F", "insider", _hours(4.7), 4),
                             ("G", "insider", _hours(9.5), 9)]), horizon_h=4.0)  # fmt: skip
    if register:
        d.register = np.array([FLAGGED, CLEAR, NOT_ASSESSED], dtype=np.int8)
        d.register_counts = (1, 10)
    return d


def test_the_register_separates_what_the_content_cannot():
    # content: E and F tie (LR 1, no support). Activity: E x 5.5, F x 0.611111, G x 1.
    # vendor  = log10(10^-0.043648 x 5.5) = 0.696715
    # insider = log10((10^-0.043648 x 0.611111 + 10^-2.689457) / 2) = -0.556954
    # outside = -0.647420 (no operation's status moves it)
    # -> vendor against insider, log10 LR 1.253669 (moderate); of which the content 0 (E
    #    and F tie on the content: the content-only run weighs them together, LR 1) and
    #    the statuses 1.253669
    r = lab_conclusion(_tie_lab(True), None, SIGHT, PA, _default())
    assert r["proposition"] == "vendor" and r["alternative"] == "insider"
    assert r["log10_lr"] == pytest.approx(1.253669, abs=1e-5)
    assert r["verbal"] == "moderate"
    assert r["log10_lr_content"] == pytest.approx(0.0, abs=1e-9)
    assert r["log10_likelihoods"]["outside_evidence"] == pytest.approx(-0.647420, abs=1e-5)
    a = r["activity"]
    assert a["operations_not_authorised"] == 1 and a["operations_assessed"] == 10
    assert a["statuses"] == ["register"] and "operations_fetched_outside" not in a
    assert a["best_operation"]["vendor"] == {"register": "not authorised",
                                             "log10_factor": pytest.approx(math.log10(5.5))}  # fmt: skip
    assert a["log10_likelihoods_content"]["vendor"] == pytest.approx(-0.043648, abs=1e-5)
    assert "cannot tell" not in r["reason"]
    assert ("of which the leak's content log10 0.00 and the operations' statuses log10 1.25"
            in r["reason"])  # fmt: skip
    assert "1 of the lab's 10 assessed comparable operations not authorised" in r["reason"]
    # the default: the content alone, the register given or not
    off = lab_conclusion(_tie_lab(True), None, SIGHT, P, _default())
    assert off["proposition"] == "undetermined" and off["activity"] is None


def test_without_a_register_the_content_alone():
    r = lab_conclusion(_tie_lab(False), None, SIGHT, P, _default())
    assert r["proposition"] == "undetermined" and r["log10_lr"] == 0.0
    assert r["activity"] is None and "log10_lr_content" not in r
    assert "register" not in r["reason"]


def test_the_sensitivity_reruns_without_the_activity_evidence_only_with_a_register():
    def prep(d):
        return {"labs": {d.lab: d}, "fmr": None, "unplaced": 0, "sighted_at": SIGHT,
                "n_rows_linked": None}  # fmt: skip

    with_reg = prep(_tie_lab(True))
    base = conclude(with_reg, PA)
    runs = {r["assumption"]: r for r in sensitivity(with_reg, PA, base)["runs"]}
    assert base["proposition"] == "vendor"
    # without the statuses the content ties: undetermined
    assert runs["without the activity evidence"]["proposition"] == "undetermined"
    assert runs["without the activity evidence"]["log10_lr"] == 0.0
    without = prep(_tie_lab(False))
    names = [r["assumption"] for r in sensitivity(without, PA, conclude(without, PA))["runs"]]
    assert "without the activity evidence" not in names and len(names) == 6
    # a register given but the statuses not weighed (the default): no such rerun either
    names = [r["assumption"] for r in sensitivity(with_reg, P, conclude(with_reg, P))["runs"]]
    assert "without the activity evidence" not in names and len(names) == 6


def test_an_operation_before_the_horizon_takes_no_share_of_its_proposition():
    # vendor E at 4.5 h holds the 4 leaked (-0.043648); vendor X at 2.5 h (4 records)
    # holds 2 of them: 8 log10 0.99 + 2 log10 0.01 = -4.034918. The horizon at 4 h rules X
    # out as outside_evidence's range does instants before it: vendor = E alone, against
    # outside_evidence (-0.647420): log10 LR 0.603771. Averaged with X (the earlier
    # model): log10((10^-0.043648 + 10^-4.034918) / 2) = -0.344634, LR 0.302786
    ops = _ops([("X", "vendor", _hours(2.5), 4), ("E", "vendor", _hours(4.5), 4)])
    r = lab_conclusion(_lab("L01", 4, ops, horizon_h=4.0), None, SIGHT, P, _default())
    assert r["operations_weighed"] == {"vendor": [1, 2]}
    assert r["proposition"] == "vendor" and r["alternative"] == "outside_evidence"
    assert r["log10_lr"] == pytest.approx(0.603771, abs=1e-5)
    # without the horizon both count (and outside_evidence ranges from the first patient)
    nohz = lab_conclusion(_lab("L01", 4, ops, horizon_h=None), None, SIGHT, P, _default())
    assert nohz["operations_weighed"] == {"vendor": [2, 2]}
    assert nohz["log10_likelihoods"]["vendor"] == pytest.approx(-0.344634, abs=1e-5)


def test_an_operation_too_small_to_hold_the_leak_takes_no_share():
    # insider F (cut at 6.5 h, 6 records) and insider C, an account's consultations naming
    # 2 patients, both leaked: C can hold at most 2 of the 4 leaked (below (1 - 0.05) x 4 =
    # 3.8): insider = F alone, -1.676067 (test_conclusion), not the mean with C
    ops = _ops([("F", "insider", _hours(6.5), 6), ("C", "insider", _hours(6.0), 2)])
    ops.loc[1, ["kind", "n_set", "n11"]] = ["consultations", 2, 2]
    r = lab_conclusion(_lab("L01", 4, ops, horizon_h=4.0), None, SIGHT, P, _default())
    assert r["operations_weighed"] == {"insider": [1, 2]}
    assert r["log10_likelihoods"]["insider"] == pytest.approx(-1.676067, abs=1e-5)


def _vendor_run(statuses: str | None, weigh: bool = True):
    """attribution_scenarios' vendor case at L01 (the migration account extracts the
    lab's whole base), with an exports table: the migration session ``beyond``, every
    other session that moved records ``authorised`` (``statuses`` "register"), every
    status ``unknown`` ("unknown": no register given), or no table (None)."""
    from attribution_scenarios import KEY, build, vendor_case, vendor_leak
    from test_scenarios import CASE

    from labforensics.attribution import AttributionParams, attribute

    c, truth = vendor_case(labs=("L01",))
    ev, ss = build(c)
    out = ev[ev["action"].isin(["export", "extract"])]
    ex = pd.DataFrame({"session_id": out["session_id"].astype(str).to_numpy(),
                       "lab": out["lab"].astype(str).to_numpy()})  # fmt: skip
    migr = out["account"].astype(str).str.startswith("migr").to_numpy()
    ex["status"] = np.where(migr, "beyond", "authorised") if statuses == "register" else "unknown"
    att = attribute(ev, ss, leak=vendor_leak(truth), case_key=KEY, case=CASE,
                    params=AttributionParams(stability=True, activity_evidence=weigh),
                    exports=None if statuses is None else ex)  # fmt: skip
    return att.conclusion, int(migr.sum()), ex.loc[ex["lab"] == "L01", "session_id"].nunique()


def test_attribute_weighs_the_register_given_with_the_exports():
    conc, n_migr, n_sessions = _vendor_run("register")
    (p,) = conc["per_lab"]
    assert p["proposition"] == "vendor"
    a = p["activity"]
    assert a["best_operation"]["vendor"]["register"] == "not authorised"
    # the migration session is the lab's only comparable operation not authorised; the
    # others assessed are L01's other non-routine exports (never more than every L01
    # session that moved records)
    assert n_migr >= 1 and a["operations_not_authorised"] == 1
    assert 1 <= a["operations_assessed"] <= n_sessions
    assert p["log10_lr"] >= p["log10_lr_content"]
    assert any(x.startswith("the operations' statuses are weighed apart")
               and "the authorisation register's statuses for L01:" in x
               and "fetched from outside" not in x for x in conc["limits"])  # fmt: skip
    runs = {r["assumption"] for r in conc["sensitivity"]["runs"]}
    assert "without the activity evidence" in runs


@pytest.mark.parametrize(
    ("statuses", "weigh"), [(None, True), ("unknown", True), ("register", False)]
)
def test_attribute_without_a_register_weighs_the_content_only(statuses, weigh):
    # no exports, no register (every status unknown), or the statuses not weighed (the
    # default)
    conc, _, _ = _vendor_run(statuses, weigh)
    (p,) = conc["per_lab"]
    assert p["activity"] is None and "log10_lr_content" not in p
    assert not any("weighed apart from the leak's content" in x for x in conc["limits"])
    assert "without the activity evidence" not in {
        r["assumption"] for r in conc["sensitivity"]["runs"]
    }
