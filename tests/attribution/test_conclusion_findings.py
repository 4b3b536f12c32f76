"""The conclusion as findings.json carries it (report.findings.attribution_findings)."""

from __future__ import annotations

from attribution_scenarios import KEY, base_case, build, vendor_case, vendor_leak
from test_scenarios import CASE

from labforensics.attribution import AttributionParams, attribute
from labforensics.attribution.labels import proposition_words
from labforensics.report.findings import attribution_findings

P = AttributionParams(stability=True)


def test_no_leak_findings_name_no_leading_proposition():
    # clean data: benign billing exports and the nightly backup; no leak given
    ev, ss = build(base_case(("L01",)))
    f = attribution_findings(attribute(ev, ss, params=P))
    v, c = f["verdict"], f["conclusion"]
    assert v["verdict"] == c["proposition"] == "undetermined" and c["reason"] == "no leak"
    assert v["summary"] == "no leak" and "leading" not in v["summary"]
    assert v["strength"] == "not evaluated (no leak)" and c["log10_lr"] is None
    assert f["per_lab"] == [] and c["sensitivity"]["runs"] == []


def test_vendor_findings_carry_the_conclusion():
    # the migration account extracts L01's whole base (attribution_scenarios.vendor_case)
    c, truth = vendor_case(labs=("L01",))
    ev, ss = build(c)
    att = attribute(ev, ss, leak=vendor_leak(truth), case_key=KEY, params=P, case=CASE)
    f = attribution_findings(att)
    conc = f["conclusion"]
    # verdict = conclusion.proposition; the strength names the verbal, the ratio, the alternative
    assert f["verdict"]["verdict"] == conc["proposition"] == att.verdict == "vendor"
    # the alternative in words (the code stays in conclusion.alternative)
    assert conc["verbal"] in f["verdict"]["strength"]
    assert proposition_words(conc["alternative"]) in f["verdict"]["strength"]
    (lab,) = f["per_lab"]
    assert lab["lab"] == "L01" and lab["operation"]["account"] == "migr.editeur"
    assert lab["log10_lr"] == conc["log10_lr"] > 0
    # the reruns over the assumptions give the stability text and the range
    lo, hi = conc["sensitivity"]["log10_lr_range"]
    assert lo <= conc["log10_lr"] <= hi
    assert "reruns over the model's assumptions" in f["verdict"]["stability_text"]
    # every coverage line is accounted for
    cov = conc["coverage"]
    lines = (
        "producible",
        "not_producible",
        "logs_after_horizon",
        "not_in_evidence",
        "not_a_patient",
    )
    assert sum(cov[k] for k in lines) + cov["unplaced"] + cov["not_weighed"] == cov["total"]
    assert cov["total"] == len(vendor_leak(truth))
