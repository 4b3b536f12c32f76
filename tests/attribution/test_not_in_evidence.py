"""A lab the evidence holds nothing of is a limit, not a proposition (QA session 9, item 2).

The QA list named ``L99,123``: L99 has no logs. It was weighed as a lab of its own ("a
copy outside the logged evidence") and made the case "Mixed". Such a lab, and one none
of whose leaked patients its logs or patient index know, is left out of the weighing,
reported "not in the evidence", its pairs counted on that coverage line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from attribution_scenarios import KEY, LAB_NET, VENDOR_NET, build, existing_at, vendor_case
from test_conclusion import P, _hours, _lab, _ops

from labforensics.attribution import AttributionParams, attribute
from labforensics.attribution.conclusion import _LabData, conclude
from labforensics.case import CaseContext
from labforensics.networks import NetworkMap


def _vendor_lab() -> _LabData:
    # test_conclusion's hand example: vendor E at 4.5 h against insider F at 6.5 h,
    # log10 LR 1.632419 ("moderate"); 4 leaked pairs, all producible
    return _lab("L01", 4, _ops([("E", "vendor", _hours(4.5), 4), ("F", "insider", _hours(6.5), 6)]))


def _no_logs(lab: str = "L99", linked: int = 1) -> _LabData:
    return _LabData(lab=lab, known_ns=np.zeros(0, dtype=np.int64), leaked=np.zeros(0, bool),
                    n_linked=linked, n_unique=None, has_logs=False, evidence_start=None,
                    evidence_end=None, horizon=None, window_after=None, window_before=None,
                    ops=_ops([]), dated=False)  # fmt: skip


def _prep(*labs: _LabData) -> dict:
    return {"labs": {d.lab: d for d in labs}, "fmr": None, "unplaced": 0,
            "sighted_at": None, "n_rows_linked": None}  # fmt: skip


def test_a_lab_without_logs_is_not_weighed():
    c = conclude(_prep(_vendor_lab(), _no_logs()), P)
    # only L01 is weighed: no "mixed" of L01 and L99
    assert [p["lab"] for p in c["per_lab"]] == ["L01"]
    assert c["proposition"] == "vendor" and c["per_lab"][0]["proposition"] == "vendor"
    (nw,) = c["not_weighed"]
    assert nw["lab"] == "L99" and nw["not_in_evidence"] is True and nw["linked"] == 1
    assert nw["reason"].startswith("not in the evidence: no logs of this lab")
    # coverage by hand: 4 producible (L01) + 1 not in the evidence (L99) = 5
    cov = c["coverage"]
    assert (cov["producible"], cov["not_in_evidence"], cov["not_weighed"], cov["total"]) == (
        4, 1, 0, 5
    )  # fmt: skip
    # the case's ratio: L01's 1.632419 capped by the coverage ceiling -2 log10(1 - 4/5)
    # = 2 log10(5) = 1.397940 ("moderate")
    assert c["per_lab"][0]["log10_lr"] == pytest.approx(1.632419, abs=1e-5)
    assert c["log10_lr"] == pytest.approx(2 * np.log10(5), abs=1e-9)
    assert c["verbal"] == "moderate"


def test_a_lab_whose_leaked_patients_the_evidence_does_not_know():
    # logs, 10 patients known, but none of the 3 leaked pairs among them
    d = _lab("L02", 0, _ops([("x", "insider", _hours(4.5), 4)]), linked=3)
    c = conclude(_prep(_vendor_lab(), d), P)
    assert [p["lab"] for p in c["per_lab"]] == ["L01"] and c["proposition"] == "vendor"
    (nw,) = c["not_weighed"]
    assert nw["lab"] == "L02" and nw["reason"].startswith(
        "not in the evidence: none of its leaked patients is known"
    )
    assert c["coverage"]["not_in_evidence"] == 3 and c["coverage"]["total"] == 7


def test_only_labs_not_in_the_evidence():
    c = conclude(_prep(_no_logs()), P)
    assert c["per_lab"] == [] and c["log10_lr"] is None
    assert "L99 not in the evidence" in c["reason"]
    assert c["coverage"]["not_in_evidence"] == 1 and c["coverage"]["total"] == 1


@pytest.fixture(scope="module")
def vendor_l01():
    c, truth = vendor_case(labs=("L01",))
    ev, ss = build(c)
    return ev, ss, existing_at("L01", truth["L01"])["ipp"].tolist()


def _run(ev, ss, path):
    case = CaseContext(networks=NetworkMap(by_lab=LAB_NET, vendor=[VENDOR_NET]))
    p = AttributionParams(stability=False)
    return attribute(ev, ss, leak=str(path), case_key=KEY, params=p, case=case)


def test_a_stray_row_does_not_change_the_verdict(vendor_l01, tmp_path):
    # the vendor's extraction of L01's whole base, leaked as a list; then the same list
    # with the QA's stray rows: a formula, an empty IPP and a lab with no logs
    ev, ss, ipps = vendor_l01
    clean = tmp_path / "clean.csv"
    clean.write_text("lab,ipp\n" + "".join(f"L01,{i}\n" for i in ipps), encoding="utf-8")
    dirty = tmp_path / "dirty.csv"
    dirty.write_text(clean.read_text("utf-8") + "L01,=cmd\nL01,\nL99,123\n", encoding="utf-8")
    a, b = _run(ev, ss, clean), _run(ev, ss, dirty)
    assert a.verdict == b.verdict == "vendor"
    ca, cb = a.conclusion, b.conclusion
    assert [p["lab"] for p in cb["per_lab"]] == ["L01"]
    assert cb["per_lab"][0]["log10_lr"] == pytest.approx(ca["per_lab"][0]["log10_lr"])
    # the case's ratio: one more pair not in the evidence lowers the coverage ceiling only
    n = len(ipps)
    assert cb["coverage"]["total"] == n + 1 and cb["coverage"]["not_in_evidence"] == 1
    # the stray lines: set aside with line and reason; L99 a limit
    rep = b.leak_report
    assert [r["line"] for r in rep["rejected"]] == [n + 2, n + 3]
    assert rep["invalid"] == 1 and rep["empty"] == 1
    assert any(t.startswith("L99: not in the evidence: no logs") for t in cb["limits"])
    assert not pd.isna(cb["log10_lr"])


def test_a_capped_case_ratio_says_so_where_the_ratio_is():
    # QA session 13: the headline read "no support (log10 LR 0.10, laboratory staff
    # against the LIS vendor)" while the one lab weighed gave log10 LR 4.00: the 0.10 was
    # the coverage ceiling (most of the leak from a lab with no logs), not the findings
    from labforensics.report.findings import _conclusion_section, _strength_text

    c = conclude(_prep(_vendor_lab(), _no_logs(linked=36)), P)
    # by hand: 4 producible of 40 pairs; ceiling -2 log10(1 - 4/40) = 0.091515 < 1.632419
    assert c["log10_lr"] == pytest.approx(-2 * np.log10(0.9), abs=1e-9)
    assert c["proposition"] == "undetermined" and c["capped_by_coverage"] is True
    assert (
        "the case's ratio is capped at log10 0.09 for the 36 lab-patient pairs no logged "
        "operation could have produced (L99: no logs in the evidence)"
    ) in c["reason"]
    assert _strength_text(c) == (
        "no support (log10 LR 0.09, the LIS vendor against laboratory staff, capped: a "
        "logged operation could have produced 4 of the 40 lab-patient pairs): no source is named"
    )
    assert _conclusion_section(c, True)["capped_by_coverage"] is True
    # not capped (the lab's own ratio is the case's): no such words, no such key
    c2 = conclude(_prep(_vendor_lab()), P)
    assert "capped_by_coverage" not in c2 and "capped" not in _strength_text(c2)
    assert "capped_by_coverage" not in _conclusion_section(c2, True)
