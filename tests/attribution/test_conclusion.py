"""The conclusion (issue 15): verbal scale, likelihood ratio by hand, coverage lines,
no leak, logs after the horizon, two labs copied by different sources."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from attribution_scenarios import base_case, build

from labforensics.attribution import AttributionParams, attribute
from labforensics.attribution.conclusion import (
    _LabData,
    _not_weighed_reason,
    conclude,
    lab_conclusion,
)
from labforensics.attribution.coverage import LINES, lab_lines
from labforensics.attribution.likelihood import (
    ceiling_log10,
    coverage_ceiling_log10,
    set_loglik,
    verbal,
)

# the hand-worked lab below runs on hours: its operations are weighed at their instant
# (copy_lag_h 0); the day of lag has its own test
P = AttributionParams(stability=False, copy_lag_h=0.0)
T = pd.Timestamp("2020-01-01", tz="UTC")


@pytest.mark.parametrize(
    ("lr", "label"),
    [
        (0.99, "support for the alternative"),
        (1.0, "no support"),
        (1.99, "no support"),
        (2.0, "weak"),
        (9.99, "weak"),
        (10.0, "moderate"),
        (99.9, "moderate"),
        (100.0, "moderately strong"),
        (999.0, "moderately strong"),
        (1_000.0, "strong"),
        (9_999.0, "strong"),
        (10_000.0, "very strong"),
        (999_999.0, "very strong"),
        (1_000_000.0, "extremely strong"),
        (0.0, "support for the alternative"),
    ],
)
def test_enfsi_verbal_scale_boundaries(lr, label):
    # ENFSI (2015): 2-10 weak, 10-100 moderate, 100-1,000 moderately strong, 1,000-10,000
    # strong, 10,000-1,000,000 very strong, above extremely strong; below 1 the alternative
    assert verbal(lr) == label


def test_verbal_not_evaluated():
    assert verbal(None) is None and verbal(float("nan")) is None


def test_ceilings():
    # 2 log10(1/0.01) = 4; never above 6; a quarter covered: -2 log10(0.75) = 0.2499
    assert ceiling_log10(0.01) == pytest.approx(4.0)
    assert ceiling_log10(1e-6) == 6.0
    assert coverage_ceiling_log10(0.25) == pytest.approx(0.249877, abs=1e-6)
    assert coverage_ceiling_log10(1.0) == 6.0


def _ops(rows):
    cols = ["op", "kind", "hypothesis", "account", "t_ns", "records", "n_set", "n11", "score",
            "anomaly", "failed_burst", "network", "retrieved_outside", "fetched_outside_by"]  # fmt: skip
    full = [
        {"op": r[0], "kind": "cut", "hypothesis": r[1], "account": r[0], "t_ns": r[2],
         "records": r[3], "n_set": 0, "n11": 0, "score": None, "anomaly": 0.0,
         "failed_burst": False, "network": "lab", "retrieved_outside": False,
         "fetched_outside_by": []}
        for r in rows
    ]  # fmt: skip
    return pd.DataFrame(full, columns=cols)


def _hours(h: float) -> int:
    return int((T + pd.Timedelta(hours=h)).value)


def _lab(lab, leaked_first, ops, *, start_h=-100.0, horizon_h=8.5, linked=None, n=10):
    """A lab of ``n`` patients known at hours 1..n, the first ``leaked_first`` leaked."""
    known = np.array([_hours(i + 1) for i in range(n)], dtype=np.int64)
    leaked = np.arange(n) < leaked_first
    return _LabData(
        lab=lab,
        known_ns=known,
        leaked=leaked,
        n_linked=linked if linked is not None else leaked_first,
        n_unique=None,
        has_logs=True,
        evidence_start=T + pd.Timedelta(hours=start_h),
        evidence_end=T + pd.Timedelta(hours=n + 1),
        horizon=T + pd.Timedelta(hours=horizon_h) if horizon_h is not None else None,
        window_after=None,
        window_before=None,
        ops=ops,
        dated=True,
    )


def test_likelihood_ratio_by_hand():
    # 10 patients known at hours 1..10, the first 4 leaked; eps = 1 % (leak_noise, no fmr).
    # E (vendor) copies at 4.5 h: set of 4, rho = 1 -> 0.99 (clipped), 6 not leaked outside:
    #   log10 L_E = 10 log10(0.99) = -0.043648
    # F (insider) copies at 6.5 h: set of 6, rho = 4/6, 2 not leaked inside, 4 outside:
    #   log10 L_F = 4 log10(2/3) + 2 log10(1/3) + 4 log10(0.99) = -1.676067
    # outside_evidence: the range [horizon, sighting] is the single instant 8.5 h:
    #   log10 L_O = 8 log10(1/2) + 2 log10(0.99) = -2.416970
    # -> vendor leads, alternative insider, log10 LR = 1.632419 (LR 42.9: moderate);
    #    below the ceilings (4 for eps 1 %, 6 for a fully covered leak)
    ops = _ops([("E", "vendor", _hours(4.5), 4), ("F", "insider", _hours(6.5), 6)])
    d = _lab("L01", 4, ops)
    r = lab_conclusion(d, None, T + pd.Timedelta(hours=8.5), P, _default())
    assert r["proposition"] == "vendor" and r["alternative"] == "insider"
    assert r["log10_lr"] == pytest.approx(1.632419, abs=1e-5)
    assert r["verbal"] == "moderate"
    alts = {a["proposition"]: a["log10_lr"] for a in r["alternatives"]}
    assert alts["outside_evidence"] == pytest.approx(-0.043648 + 2.416970, abs=1e-5)
    assert r["operation"]["op"] == "E" and r["coverage"]["producible"] == 4
    # the same by the set model directly (natural logs)
    le = set_loglik(4, 4, 4, 10, 0.01)
    lf = set_loglik(4, 6, 4, 10, 0.01)
    assert float((le - lf) / math.log(10)) == pytest.approx(1.632419, abs=1e-5)


def _default():
    from labforensics.attribution.conclusion import _Setting

    return _Setting()


def test_capacity_limits_an_export_of_known_size():
    # an export of 2 records at 4.5 h can hold at most 2 of the 4 patients known then:
    # rho = min(4/4, 2/(0.95*4)) = 0.526316 -> not as likely as E's full copy
    cap = set_loglik(4, 4, 4, 10, 0.01, capacity=2 / (0.95 * 4))
    full = set_loglik(4, 4, 4, 10, 0.01)
    assert float(cap) == pytest.approx(4 * math.log(2 / 3.8) + 6 * math.log(0.99), abs=1e-9)
    assert float(cap) < float(full)


def test_logs_starting_after_the_horizon_are_outside_evidence():
    # the copy holds the 4 patients registered before hour 4.5; the logs start at hour 9
    # and the only logged operation (hour 9.5) would hold all 10: outside_evidence leads,
    # and every leaked row is on the line "logs start after the horizon"
    ops = _ops([("late", "insider", _hours(9.5), 10)])
    d = _lab("L01", 4, ops, start_h=9.0, horizon_h=4.0)
    r = lab_conclusion(d, None, T + pd.Timedelta(hours=10), P, _default())
    assert r["proposition"] == "outside_evidence" and r["alternative"] == "insider"
    assert r["log10_lr"] > 0
    assert r["coverage"]["logs_after_horizon"] == 4 and r["coverage"]["producible"] == 0
    assert "days after the horizon" in r["reason"]


def test_two_labs_copied_by_different_sources_are_mixed():
    # lab A: the vendor's cut at 4.5 h fits, staff at 8.5 h does not; lab B the reverse
    a = _lab("A", 4, _ops([("va", "vendor", _hours(4.5), 4), ("sa", "insider", _hours(8.5), 8)]))
    b = _lab("B", 8, _ops([("vb", "vendor", _hours(4.5), 4), ("sb", "insider", _hours(8.5), 8)]),
             horizon_h=8.2)  # fmt: skip
    prep = {"labs": {"A": a, "B": b}, "fmr": None, "unplaced": 0, "sighted_at": None,
            "n_rows_linked": None}  # fmt: skip
    c = conclude(prep, P)
    assert c["proposition"] == "mixed"
    per = {p["lab"]: p for p in c["per_lab"]}
    assert per["A"]["proposition"] == "vendor" and per["A"]["log10_lr"] > 0
    assert per["B"]["proposition"] == "insider" and per["B"]["log10_lr"] > 0
    # mixed never appears per lab; the case's ratio is its weakest lab's
    assert "mixed" not in {p["proposition"] for p in c["per_lab"]}
    assert c["log10_lr"] == pytest.approx(min(per["A"]["log10_lr"], per["B"]["log10_lr"]))


def test_coverage_lines_sum_to_the_leaked_total():
    # lab A: 6 leaked rows linked, 4 in the universe (2 never seen), all producible;
    # 3 identifiers found in no lab: total = 6 + 3, each row on exactly one line
    a = _lab("A", 4, _ops([("va", "vendor", _hours(4.5), 4)]), linked=6)
    prep = {"labs": {"A": a}, "fmr": None, "unplaced": 3, "sighted_at": None,
            "n_rows_linked": None}  # fmt: skip
    c = conclude(prep, P)["coverage"]
    assert (c["producible"], c["not_in_evidence"], c["unplaced"], c["total"]) == (4, 2, 3, 9)
    assert sum(c[k] for k in LINES) + c["unplaced"] + c["not_weighed"] == c["total"]
    assert c["share_producible"] == pytest.approx(4 / 9)
    lines = lab_lines(10, 7, False, 5)  # logs after the horizon: nothing covered
    assert lines["logs_after_horizon"] == 7 and lines["producible"] == 0
    assert sum(lines[k] for k in LINES) == 10


def test_no_leak_is_undetermined_without_a_leading_proposition():
    # routine billing exports and a nightly backup, no leak: nothing to decide
    ev, ss = build(base_case(("L01",)))
    att = attribute(ev, ss, params=P)
    c = att.conclusion
    assert att.verdict == "undetermined" and c["proposition"] == "undetermined"
    assert c["reason"] == "no leak" and c["log10_lr"] is None and c["verbal"] is None
    assert "leading" not in att.verdict_rule
    assert set(att.hypotheses["strength"]) == {"n/a"}
    d = att.to_dict()
    assert d["conclusion"]["proposition"] == "undetermined" and d["per_lab"] == []


def test_conclusion_is_deterministic():
    import json

    from labforensics.outputs import json_safe

    a = _lab("A", 4, _ops([("va", "vendor", _hours(4.5), 4), ("sa", "insider", _hours(8.5), 8)]))
    prep = {"labs": {"A": a}, "fmr": 0.002, "unplaced": 0, "sighted_at": None,
            "n_rows_linked": None}  # fmt: skip
    one = json.dumps(json_safe(conclude(prep, P)), sort_keys=True)
    two = json.dumps(json_safe(conclude(prep, P)), sort_keys=True)
    assert one == two


def test_likelihood_interval_by_hand():
    # the hand example (10 patients known at hours 1..10, the first 4 leaked, eps 1 %):
    # log10 L of a full copy holding the first k: k=2 -4.04, k=3 -2.039, k=4 -0.044 (best),
    # k=5 -1.108, k=6 -1.676, k=7 -2.089; within log10(100) = 2 of the best: k = 3..6,
    # i.e. from the 3rd known instant (hour 3) to the 7th (hour 7)
    from labforensics.attribution.conclusion import likelihood_interval
    from labforensics.attribution.likelihood import cut_curve

    known = np.array([_hours(i + 1) for i in range(10)], dtype=np.int64)
    curve = cut_curve(np.arange(10) < 4, 0.01)
    a, b = likelihood_interval(curve, known, _hours(0), _hours(10.5))
    assert (a, b) == (_hours(3), _hours(7))
    # a range starting at hour 5.5 (a horizon after the best instant): its best is k=5
    # (-1.108); k=10 (4 log10 0.4 + 6 log10 0.6 = -2.923) is still within 2 of it, so the
    # interval runs to the end of the range
    assert likelihood_interval(curve, known, _hours(5.5), _hours(10.5)) == (
        _hours(5.5),
        _hours(10.5),
    )


def test_a_proposition_is_the_mean_of_its_operations():
    # 10 patients known at hours 1..10, the first 4 leaked, eps 1 %; the horizon at 4 h
    # (every operation after it: the copy is not older than the leaked rows). Vendor has
    # two operations: E at 4.5 h (set 4, all leaked: log10 L = 10 log10 0.99 = -0.043648)
    # and H at 9.5 h (set 9, rho 4/9: 4 log10(4/9) + 5 log10(5/9) + log10 0.99 =
    # -2.689457); either may be the copy (1/2 each): log10 L_vendor = log10((10^-0.043648 +
    # 10^-2.689457) / 2) = -0.343697. Insider F at 6.5 h: -1.676067 (test above).
    # outside_evidence, a copy uniform over [4 h, 8.5 h]: cuts k = 4, 5, 6, 7 an hour each
    # and k = 8 half an hour (log10 L -0.043648, -1.108434, -1.676067, -2.089177,
    # -2.416970): log10 of their weighted mean = -0.647420.
    # -> vendor against outside_evidence, log10 LR 0.303722 (weak), not the best
    #    operation's 0.603771: a proposition gains nothing from the number of its operations
    ops = _ops(
        [("E", "vendor", _hours(4.5), 4), ("H", "vendor", _hours(9.5), 9),
         ("F", "insider", _hours(6.5), 6)]
    )  # fmt: skip
    r = lab_conclusion(_lab("L01", 4, ops, horizon_h=4.0), None, T + pd.Timedelta(hours=8.5), P,
                       _default())  # fmt: skip
    assert r["proposition"] == "vendor" and r["alternative"] == "outside_evidence"
    assert r["log10_lr"] == pytest.approx(0.303722, abs=1e-5)
    assert r["verbal"] == "weak"
    assert r["log10_likelihoods"]["vendor"] == pytest.approx(-0.343697, abs=1e-5)
    assert r["log10_likelihoods"]["insider"] == pytest.approx(-1.676067, abs=1e-5)
    assert r["log10_likelihoods"]["outside_evidence"] == pytest.approx(-0.647420, abs=1e-5)
    assert r["operation"]["op"] == "E"
    assert r["operations_weighed"] == {"vendor": [2, 2], "insider": [1, 1]}


def test_a_tie_between_two_hypotheses_gives_no_support():
    # Vendor E at 4.2 h and insider F at 4.7 h (the horizon at 4 h): no patient becomes
    # known between them, so both hold the same 4 leaked patients (log10 L = -0.043648
    # each); insider also has G at 9.5 h (-2.689457), so its mean is -0.343697 and the raw
    # ratio vendor/insider is 10^0.300049 (~2, "weak") only because insider has one more
    # operation. The leaked set cannot tell E from F: the ratio is 1 ("no support"), and
    # the reason says so. At no support no source is named: undetermined, vendor (the
    # tie's more anomalous) leading.
    ops = _ops(
        [("E", "vendor", _hours(4.2), 4), ("F", "insider", _hours(4.7), 4),
         ("G", "insider", _hours(9.5), 9)]
    )  # fmt: skip
    r = lab_conclusion(_lab("L01", 4, ops, horizon_h=4.0), None, T + pd.Timedelta(hours=8.5), P,
                       _default())  # fmt: skip
    assert r["proposition"] == "undetermined" and r["leading"] == "vendor"
    assert r["alternative"] == "insider"
    assert r["log10_lr"] == 0.0 and r["verbal"] == "no support"
    assert r["alternatives"][0]["log10_lr_uncapped"] == 0.0
    assert "cannot tell vendor from insider" in r["reason"]
    by = r["log10_lr_by_proposition"]
    # vendor and insider weighed together (-0.043648 each): 0 against each other; outside
    # (uniform over [4 h, 8.5 h]: -0.647420, test above): -0.603771
    assert by["vendor"] == 0.0 and by["insider"] == 0.0
    assert by["outside_evidence"] == pytest.approx(-0.603771, abs=1e-5)


def test_a_tie_within_one_hypothesis_keeps_it():
    # E and F both vendor, tied (4.2 h and 4.7 h): one proposition; its mean is the tied
    # value -0.043648; against outside_evidence (-2.416970) log10 LR 2.373322
    ops = _ops([("E", "vendor", _hours(4.2), 4), ("F", "vendor", _hours(4.7), 4)])
    r = lab_conclusion(_lab("L01", 4, ops), None, T + pd.Timedelta(hours=8.5), P, _default())
    assert r["proposition"] == "vendor" and r["alternative"] == "outside_evidence"
    assert r["log10_lr"] == pytest.approx(2.373322, abs=1e-5)
    assert "cannot tell" not in r["reason"]


def test_a_leaked_patient_known_after_the_horizons_day_is_taken_at_its_end():
    # 10 patients known at hours 1..10; leaked: the first 4 and the one known at hour 8
    # (a false link, or a registration recorded late). The horizon is the start of a day
    # ending at hour 4: the hour-8 patient is moved to hour 4 (late_leaked 1).
    # E (vendor, 4.5 h, 5 records) holds the 5 leaked: log10 L = 10 log10 0.99 = -0.043648
    # F (insider, 8.5 h, 8 records): 8 patients, 5 leaked, rho 5/8:
    #   5 log10(5/8) + 3 log10(3/8) + 2 log10(0.99) = -2.307236
    # -> E against F: 2.263588 (without the move E would hold 4 of them, the hour-8 one a
    #    mismatch: 9 log10 0.99 + log10 0.01 = -2.039283, ahead of F by only 0.267953)
    ops = _ops([("E", "vendor", _hours(4.5), 5), ("F", "insider", _hours(8.5), 8)])
    d = _lab("L01", 4, ops, horizon_h=-20.0)
    d.leaked[7] = True
    d.n_linked = 5
    # the horizon is a local midnight: hour -20 (04:00 UTC) is 00:00 in UTC-4 (Etc/GMT+4)
    r = lab_conclusion(d, None, T + pd.Timedelta(hours=8.5), P, _default(), tz="Etc/GMT+4")
    assert r["late_leaked"] == 1
    assert r["proposition"] == "vendor"
    alts = {a["proposition"]: a["log10_lr_uncapped"] for a in r["alternatives"]}
    assert alts["insider"] == pytest.approx(2.263588, abs=1e-5)
    assert r["log10_likelihoods"]["vendor"] == pytest.approx(-0.043648, abs=1e-5)


def test_a_size_only_operation_is_weighed_at_its_best_cut_within_the_lag():
    # 10 patients known at hours 1..10, the first 4 leaked; the copied data may lag the
    # operation by copy_lag_h = 3 h. E (vendor) at 6.5 h (6 records) may hold the cut at
    # 3.5..6.5 h: the best is 4 patients, all leaked: log10 L = 10 log10 0.99 = -0.043648
    # (at its instant only, 6 patients, rho 2/3: -1.676067). F (insider) at 9.5 h
    # (9 records): best cut in 6.5..9.5 h is 6 patients: -1.676067 (at 9.5 h: -2.689457).
    # -> vendor against insider 1.632419 (at their instants only: 1.013390)
    ops = _ops([("E", "vendor", _hours(6.5), 6), ("F", "insider", _hours(9.5), 9)])
    lagged = AttributionParams(stability=False, copy_lag_h=3.0)
    r = lab_conclusion(_lab("L01", 4, ops), None, T + pd.Timedelta(hours=8.5), lagged, _default())
    assert r["proposition"] == "vendor"
    alts = {a["proposition"]: a["log10_lr_uncapped"] for a in r["alternatives"]}
    assert alts["insider"] == pytest.approx(1.632419, abs=1e-5)
    assert r["operation"]["producible"] == 4
    r0 = lab_conclusion(_lab("L01", 4, ops), None, T + pd.Timedelta(hours=8.5), P, _default())
    alts0 = {a["proposition"]: a["log10_lr_uncapped"] for a in r0["alternatives"]}
    assert alts0["insider"] == pytest.approx(1.013390, abs=1e-5)


def test_not_weighed_reason_gives_its_counts():
    # 1,000 rows linked at FMR 0.1 %: Binomial(1000, 0.001) >= 4 has chance 0.019, >= 5
    # 0.0037 < 1 %, so false links could make up to m = 5 rows; 3 rows linked to this lab
    # alone are fewer; the other 27 are of people also at another lab (QA: the old text
    # said "no more rows than false links could make" for labs with ~1,000 linked rows)
    d = _LabData(lab="L09", known_ns=np.zeros(0, dtype=np.int64), leaked=np.zeros(0, bool),
                 n_linked=30, n_unique=3, has_logs=True, evidence_start=None,
                 evidence_end=None, horizon=None, window_after=None, window_before=None,
                 ops=pd.DataFrame(), dated=False)  # fmt: skip
    assert _not_weighed_reason(d, 0.001, 1000) == (
        "3 lab-patient pair(s) linked to this lab alone, fewer than the 5 that false links could "
        "make (fewer than 1 % chance of as many among the 1,000 linked rows at the estimated "
        "false-match rate); its other 27 linked pair(s) are of people also at another lab, "
        "which bound neither lab's copy"
    )
