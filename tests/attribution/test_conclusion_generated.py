"""The conclusion on tiny generated linkage cases, one per way a copy can be made
(``labforensics.synth.generate(linkage=True, linkage_scenario=...)``, 2 labs,
2019-01-07..2019-04-30, scale 0.1, seed 3: about 10 to 25 s each here).

The truth is read from ``linkage_truth.json`` (which lab was copied, by which
incident) by the test only, never by the method. The figures asserted are the ones
measured when this was written (log10 LR in the comment); the calibration over many
cases is ``benchmarks/attribution.py --calibration``.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labforensics.attribution import AttributionParams, attribute
from labforensics.case import CaseContext
from labforensics.networks import NetworkMap
from labforensics.privacy import CaseKey

KEY = CaseKey(bytes(range(32)))
SMALL = dict(labs=2, start="2019-01-07", end="2019-04-30", scale=0.1, seed=3)
pytestmark = pytest.mark.slow  # generates, reads, sessionizes and links a case (~10-25 s)


def _run(tmp_path, scenario):
    from labforensics.ingest import read_evidence
    from labforensics.leak.horizon import link_leak
    from labforensics.sessions import sessionize
    from labforensics.synth import generate, load_truth

    out = tmp_path / scenario
    generate(out, linkage=True, linkage_scenario=scenario, **SMALL)
    truth = load_truth(out)
    nets = {lab["code"]: (lab["networks"]["lab"],) for lab in truth["labs"]}
    vendor = tuple(sorted({lab["networks"]["vendor"] for lab in truth["labs"]}))
    case = CaseContext(networks=NetworkMap(vendor=vendor, by_lab=nets), seed=3)
    ev = read_evidence(out / "evidence", case_key=KEY).events
    s = sessionize(ev)
    ll = link_leak(out / "dump", out / "patients", case=case, case_key=KEY)
    att = attribute(s.events, s.sessions, leak=ll, transfers=out / "transfers" / "xferlog",
                    case_key=KEY, params=AttributionParams(stability=False), case=case)  # fmt: skip
    lt = json.loads((out / "linkage_truth.json").read_text("utf-8"))
    copied = {h["lab"]: (h["incident"] or "-")[:1] for h in lt["horizons"]}
    return att, copied


def _per_lab(att):
    return {p["lab"]: p for p in att.conclusion["per_lab"]}


def _coverage_adds_up(att):
    c = att.conclusion["coverage"]
    lines = (
        "producible",
        "not_producible",
        "logs_after_horizon",
        "not_in_evidence",
        "not_a_patient",
    )
    assert sum(c[k] for k in lines) + c["unplaced"] + c["not_weighed"] == c["total"]


def test_staff_export(tmp_path):
    att, copied = _run(tmp_path, "staff_export")
    assert copied == {"L02": "d"}  # the staff (insider) copy of L02
    per = _per_lab(att)
    # the generator's staff copy (synth/lab_build.py _incident_d, synth/tie.py) logs no
    # export: the insider consults a few hundred random patients and the dump is a random
    # 30 % of the lab, unrelated to them. By issue 15's definitions it is a copy by lab
    # staff (insider) by an unlogged means (outside_evidence): either may lead, never the
    # vendor or an intrusion (LR > 1 for them would be misleading evidence)
    # (at no support neither is named: undetermined, one of them leading; QA session 9)
    assert att.verdict in ("insider", "outside_evidence", "undetermined")
    assert per["L02"]["leading"] in ("insider", "outside_evidence")
    assert per["L02"]["log10_lr"] >= 0
    by = per["L02"]["log10_lr_by_proposition"]
    assert by.get("vendor", -1.0) <= 0 and by.get("external", -1.0) <= 0
    _coverage_adds_up(att)


def test_intrusion(tmp_path):
    att, copied = _run(tmp_path, "intrusion")
    assert copied == {"L01": "c"}
    per = _per_lab(att)
    assert att.verdict == "external" and per["L01"]["proposition"] == "external"
    assert per["L01"]["log10_lr"] > 0  # measured 0.53 (no support / weak)
    _coverage_adds_up(att)


def test_vendor_extraction(tmp_path):
    att, copied = _run(tmp_path, "vendor_extraction")
    assert copied == {"L01": "a", "L02": "a"}  # the vendor's extraction of both labs
    per = _per_lab(att)
    # L01: the extraction against an unlogged copy, measured 2.10 (moderately strong); the
    # staff export 16 h before it misses the patients registered that day (log10 -5.97)
    assert per["L01"]["proposition"] == "vendor" and per["L01"]["log10_lr"] > 1.0
    assert per["L01"]["operation"]["account"] == "migration.editeur"
    # L02: the vendor's extraction fits best (log10 L -24.45); the vendor also has 16
    # hotline sessions that cannot hold the copy (too few records: op_prior), which
    # diluted "the vendor" to an unlogged copy's likelihood (no support, measured 0.08)
    # until session 18; its proposition now ranges over the one operation that could hold
    # the leak: vendor against outside_evidence, measured 1.15 (moderate)
    assert per["L02"]["proposition"] == "vendor" and per["L02"]["alternative"] == "outside_evidence"
    assert per["L02"]["operations_weighed"]["vendor"] == [1, 17]
    assert per["L02"]["log10_lr"] > 1.0
    assert per["L02"]["operation"]["account"] == "migration.editeur"
    # the case: both labs the vendor, at the weaker lab's ratio
    assert att.verdict == "vendor" and att.conclusion["leading"] == "vendor"
    assert att.conclusion["log10_lr"] == min(per["L01"]["log10_lr"], per["L02"]["log10_lr"])
    # each lab's window (registrations' likelihood interval within [horizon, ...]) holds
    # the true extraction instant (linkage_truth.json: L01 2019-03-08T00:39:30Z, L02
    # 2019-01-31T00:44:15Z), which the first-seen window of L02 missed
    for lab, t in (("L01", "2019-03-08T00:39:30Z"), ("L02", "2019-01-31T00:44:15Z")):
        w = per[lab]["window"]
        assert w["after"] <= t <= w["before"], (lab, w)
    _coverage_adds_up(att)


def test_before_logs(tmp_path):
    att, copied = _run(tmp_path, "before_logs")
    assert set(copied.values()) == {"-"}  # a copy 180 days before the logs, no incident
    per = _per_lab(att)
    (lab,) = copied
    assert att.verdict == "outside_evidence" and per[lab]["proposition"] == "outside_evidence"
    assert per[lab]["log10_lr"] > 0  # measured 4.0 (the ceiling for eps 1 %: strong)
    c = per[lab]["coverage"]
    assert c["logs_after_horizon"] == c["in_evidence"] > 0 and c["producible"] == 0
    assert "days after the horizon" in per[lab]["reason"]
    _coverage_adds_up(att)


def test_two_sources(tmp_path):
    att, copied = _run(tmp_path, "two_sources")
    assert copied == {"L02": "a", "L01": "c"}  # the vendor copies L02, an intruder L01
    per = _per_lab(att)
    # each lab its own source: the case is mixed (until session 18 L02 was at no support,
    # the vendor's hotline sessions diluting its extraction: undetermined)
    assert att.verdict == "mixed" and att.conclusion["leading"] == "mixed"
    # L01: the intruder's export weighed at its day's start (the copied data stop the day
    # before the attack: copy_lag_h), against an unlogged copy: measured 1.75 (moderate)
    assert per["L01"]["proposition"] == "external" and per["L01"]["log10_lr"] > 1.0
    # L02: the vendor's extraction against an unlogged copy, measured 1.09 (moderate);
    # its 16 hotline sessions hold too few records to be the copy (op_prior)
    assert per["L02"]["proposition"] == "vendor" and per["L02"]["alternative"] == "outside_evidence"
    assert per["L02"]["log10_lr"] > 1.0
    _coverage_adds_up(att)


def test_sighting_before_the_horizon_is_not_weighed(tmp_path):
    """QA session 12: a first sighting before a lab's leaked rows' horizon contradicts
    them; that lab was stated "outside the logged evidence, very strong" over a negative
    window. Here the sighting (2019-03-01) is before L01's extraction (2019-03-08, so
    its rows' horizon) and after L02's (2019-01-31): L01 is left out, named in the
    Limits, L02 weighed as without the sighting."""
    import dataclasses

    from labforensics.ingest import read_evidence
    from labforensics.leak.horizon import link_leak
    from labforensics.sessions import sessionize
    from labforensics.synth import generate

    out = tmp_path / "vendor_extraction"
    generate(out, linkage=True, linkage_scenario="vendor_extraction", **SMALL)
    case = CaseContext(seed=3)
    ev = read_evidence(out / "evidence", case_key=KEY).events
    s = sessionize(ev)
    ll = link_leak(out / "dump", out / "patients", case=case, case_key=KEY)
    seen = dataclasses.replace(case, sighted_at=pd.Timestamp("2019-02-28 23:00", tz="UTC"))
    att = attribute(s.events, s.sessions, leak=ll, case_key=KEY, case=seen,
                    params=AttributionParams(stability=False))  # fmt: skip
    (gone,) = [x for x in att.conclusion["not_weighed"] if x.get("contradiction")]
    assert gone["lab"] == "L01"
    assert "after the leak's first sighting (2019-03-01 00:00 local)" in gone["reason"]
    assert [p["lab"] for p in att.conclusion["per_lab"]] == ["L02"]
    assert any(x.startswith("L01: its leaked rows' horizon") for x in att.conclusion["limits"])
    _coverage_adds_up(att)
