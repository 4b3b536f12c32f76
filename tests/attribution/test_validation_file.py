"""The validation file (issue 15, item 7): the package ships it, the report's "Limits of
this analysis" and findings.json's ``limits`` cite its values and SHA-256."""

from __future__ import annotations

import hashlib
import html
import json
from importlib import resources

import pandas as pd
import pytest
from attribution_scenarios import KEY, build, vendor_case, vendor_leak
from test_scenarios import CASE

from labforensics.attribution import AttributionParams, attribute
from labforensics.report import ReportData, render_report
from labforensics.report.findings import build_findings, session_scores_table
from labforensics.validation import (
    detection_values,
    limits_lines,
    load_validation,
    validation_digest,
    write_section,
)

SHIPPED = resources.files("labforensics").joinpath("data/validation.json")


def _shipped() -> tuple[dict, str]:
    raw = SHIPPED.read_bytes()
    return json.loads(raw.decode("utf-8")), hashlib.sha256(raw).hexdigest()


def _expected_lines(data: dict, digest: str) -> list[str]:
    """The values the limits must cite, read from the file itself."""
    det = data["sections"]["detection"]
    o = det["values"]["overall"]
    want = [
        f"campaign AP {o['campaign_ap_mean']:.2f} (lowest {o['campaign_ap_min']:.2f})",
        f"recall in the top 20 campaigns {o['recall_top20_mean']:.2f} "
        f"(lowest {o['recall_top20_min']:.2f})",
        "on variants " + ", ".join(det["variants"]),
        "seeds " + " ".join(str(s) for s in det["seeds"]),
        f"size {det['size']}",
        f"SHA-256 {digest}",
        "measured on synthetic evidence",
    ]
    cal = data["sections"].get("attribution_calibration")
    if cal:
        c = cal["values"]["overall"]
        want += [
            f"misleading evidence (LR > 1 for a false proposition) {c['misleading']:,} of "
            f"{c['false_propositions']:,} false propositions ({100 * c['rate_misleading']:.1f} %)",
            "calibrated on synthetic evidence",
        ]
    return want


def test_the_package_ships_a_versioned_validation_file():
    data, digest = _shipped()
    det = data["sections"]["detection"]
    # values, variants, seeds, size, package version, date, command (issue 15, item 7)
    for k in ("values", "variants", "seeds", "size", "package_version", "date", "command"):
        assert det[k], k
    assert data["format_version"] == 1 and "small" in det["size"]
    assert load_validation() == data and validation_digest() == digest


def test_limits_lines_cite_the_files_values():
    data, digest = _shipped()
    text = " | ".join(limits_lines())
    for w in _expected_lines(data, digest):
        assert w in text, w


@pytest.fixture(scope="module")
def vendor_findings():
    c, truth = vendor_case(labs=("L01",))
    ev, ss = build(c)
    att = attribute(ev, ss, leak=vendor_leak(truth), case_key=KEY,
                    params=AttributionParams(stability=False), case=CASE)  # fmt: skip
    sc = session_scores_table(pd.DataFrame({"session_id": ss["session_id"], "score": 0.0}))
    f = build_findings(events=ev, sessions=ss, session_scores=sc, attribution=att,
                       accounting={"totals": {}, "files": []}, inputs=[], case=CASE,
                       parameters={}, key_fingerprint="00")  # fmt: skip
    acc = pd.DataFrame([{"source_file": "TOTAL", "rows_read": len(ev), "events": len(ev)}])
    data = ReportData(findings=f, events=ev, sessions=ss, quarantine=None, accounting=acc,
                      session_scores=sc)  # fmt: skip
    return f, render_report(data)


def test_findings_and_report_limits_cite_the_file(vendor_findings):
    f, page = vendor_findings
    data, digest = _shipped()
    lim = " | ".join(f["limits"])
    sec = page[page.index('<section id="limits">') :]
    sec = sec[: sec.index("</section>")]
    for w in _expected_lines(data, digest):
        # findings.json's limits and the report's "Limits of this analysis" cite each value
        assert w in lim, w
        assert html.escape(w, quote=False) in sec or html.escape(w) in sec, w


def test_write_section_keeps_the_others_and_is_deterministic(tmp_path):
    p = tmp_path / "v.json"
    write_section(p, "a", {"x": 1}, command="c", size="s", seeds=[0], date="2026-01-01T00:00:00Z")
    write_section(
        p, "b", {"y": 2}, command="d", size="t", variants=["v"], date="2026-01-01T00:00:00Z"
    )
    first = p.read_bytes()
    # rewriting a section with the same content gives the same bytes; the other is kept
    write_section(p, "a", {"x": 1}, command="c", size="s", seeds=[0], date="2026-01-01T00:00:00Z")
    assert p.read_bytes() == first
    d = json.loads(first)
    assert set(d["sections"]) == {"a", "b"} and d["sections"]["b"]["values"] == {"y": 2}
    assert d["sections"]["a"]["seeds"] == [0] and d["sections"]["b"]["variants"] == ["v"]


def test_detection_values_by_hand():
    rows = [
        # variant v1, two seeds: campaign AP 1.0 and 0.5 -> mean 0.75; recall@20 1 and 0.5
        {"variant": "v1", "seed": 0, "config": "combination", "kind": "all", "n_incidents": 2,
         "sess_AP": 0.9, "camp_AP": 1.0, "camp_recall@20": 1.0, "camp_recall@50": 1.0,
         "benign_top50": 0, "flagged_per_10_lab_months": 0.5},
        {"variant": "v1", "seed": 1, "config": "combination", "kind": "all", "n_incidents": 2,
         "sess_AP": 0.7, "camp_AP": 0.5, "camp_recall@20": 0.5, "camp_recall@50": 1.0,
         "benign_top50": 1, "flagged_per_10_lab_months": 1.5},
        # a kind row and another configuration are left out
        {"variant": "v1", "seed": 0, "config": "combination", "kind": "a", "n_incidents": 1,
         "sess_AP": 0.1, "camp_AP": 0.1, "camp_recall@20": 0.0, "camp_recall@50": 0.0,
         "benign_top50": 9, "flagged_per_10_lab_months": 9.0},
        {"variant": "v1", "seed": 0, "config": "rules", "kind": "all", "n_incidents": 2,
         "sess_AP": 0.1, "camp_AP": 0.1, "camp_recall@20": 0.0, "camp_recall@50": 0.0,
         "benign_top50": 9, "flagged_per_10_lab_months": 9.0},
        # clean: no incident, 0.25 flagged campaigns per 10 lab-months
        {"variant": "clean", "seed": 0, "config": "combination", "kind": "-", "n_incidents": None,
         "sess_AP": None, "camp_AP": None, "camp_recall@20": None, "camp_recall@50": None,
         "benign_top50": 0, "flagged_per_10_lab_months": 0.25},
    ]  # fmt: skip
    v = detection_values(pd.DataFrame(rows))
    o = v["overall"]
    assert v["per_variant"]["v1"]["campaign_ap"] == 0.75 and o["campaign_ap_min"] == 0.75
    assert o["recall_top20_mean"] == 0.75 and o["variants_with_incidents"] == ["v1"]
    assert o["benign_top50_total"] == 1 and o["incidents"] == 4
    assert o["flagged_per_10_lab_months_clean"] == 0.25
    assert v["per_variant"]["v1"]["session_ap"] == 0.8
