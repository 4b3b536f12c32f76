"""A verdict never names a source the findings do not support (QA session 9, item 1).

On the ENFSI (2015) verbal scale a likelihood ratio from 1 to 2 is "no support": the
findings do not favour the leading proposition over its best alternative. The QA run
printed "Verdict: The LIS vendor (strength: no support (log10 LR 0.00 against laboratory
staff))" beside "the leaked set cannot tell the LIS vendor from laboratory staff", and
"Mixed" from a lab at LR 1.03. Below a ratio of 2 a lab, and the case, are undetermined;
the proposition the likelihoods rank first is kept as ``leading``.
"""

from __future__ import annotations

import math

import pytest
from test_conclusion import P, _hours, _lab, _ops

from labforensics.attribution.conclusion import _LabData, conclude
from labforensics.attribution.likelihood import NO_SUPPORT, SUPPORT_MIN_LR, supports
from labforensics.report.findings import attribution_findings, summary_text
from labforensics.report.summary import summary_view

WHEN = lambda v, seconds=True: str(v)  # noqa: E731


@pytest.mark.parametrize(
    ("lr", "named"),
    [(1.0, False), (1.03, False), (1.999, False), (2.0, True), (2.5, True), (0.5, False)],
)
def test_support_starts_at_the_weak_band(lr, named):
    # ENFSI (2015): 1 to 2 "no support", 2 to 10 "weak" (each band holds its lower bound)
    assert SUPPORT_MIN_LR == 2.0
    assert NO_SUPPORT == {"support for the alternative", "no support"}
    assert supports(math.log10(lr)) is named


def test_no_ratio_supports_nothing():
    assert not supports(None) and not supports(float("nan"))


def _tied_lab(name: str = "A") -> _LabData:
    # lab A (test_conclusion's hand example): 10 patients known at hours 1..10, the first
    # 4 leaked; vendor E at 4.2 h and insider F at 4.7 h hold the same 4 (log10 L =
    # 10 log10(0.99) = -0.043648 each): the leaked set cannot tell them apart, LR 1; the
    # horizon at 4 h, before every operation (the copy is not older than the leaked rows)
    return _lab(
        name,
        4,
        _ops([("E", "vendor", _hours(4.2), 4), ("F", "insider", _hours(4.7), 4),
              ("G", "insider", _hours(9.5), 9)]),
        horizon_h=4.0,
    )  # fmt: skip


def _insider_lab() -> _LabData:
    # lab B: the first 8 of 10 leaked, horizon 8.2 h, logs to 11 h, no sighting.
    # insider sb at 8.5 h holds all 8: log10 L = 10 log10(0.99) = -0.043648;
    # vendor vb at 4.5 h holds 4: 6 log10(0.99) + 4 log10(0.01) = -8.026189;
    # outside_evidence, a full copy uniform over [8.2 h, 11 h]: cuts k = 8 for 0.8 h
    # (-0.043648), k = 9 for 1 h (8 log10(8/9) + log10(1/9) + log10(0.99) = -1.367832),
    # k = 10 for 1 h (8 log10(0.8) + 2 log10(0.2) = -2.173220): log10 of the mean
    # (0.8 x 0.904382 + 0.042868 + 0.006711) / 2.8 = -0.558929.
    # insider against outside_evidence: 0.515281 (LR 3.28, "weak"): named
    return _lab(
        "B",
        8,
        _ops([("vb", "vendor", _hours(4.5), 4), ("sb", "insider", _hours(8.5), 8)]),
        horizon_h=8.2,
    )


def _prep(*labs: _LabData, unplaced: int = 0) -> dict:
    return {"labs": {d.lab: d for d in labs}, "fmr": None, "unplaced": unplaced,
            "sighted_at": None, "n_rows_linked": None}  # fmt: skip


def test_a_lab_at_no_support_is_undetermined():
    c = conclude(_prep(_tied_lab()), P)
    (a,) = c["per_lab"]
    assert a["proposition"] == "undetermined" and a["leading"] == "vendor"
    assert a["alternative"] == "insider" and a["log10_lr"] == 0.0
    assert a["verbal"] == "no support"
    assert a["reason"].startswith("A: undetermined, no source named")
    # the case too: its ratio is the lab's
    assert c["proposition"] == "undetermined" and c["leading"] == "vendor"
    assert c["log10_lr"] == 0.0 and c["verbal"] == "no support"
    assert c["reason"].startswith("undetermined, no source named")


def test_a_supported_lab_is_named():
    c = conclude(_prep(_insider_lab()), P)
    (b,) = c["per_lab"]
    assert b["proposition"] == b["leading"] == "insider"
    assert b["alternative"] == "outside_evidence"
    assert b["log10_lr"] == pytest.approx(0.515281, abs=1e-5) and b["verbal"] == "weak"
    lls = b["log10_likelihoods"]
    assert lls["insider"] == pytest.approx(-0.043648, abs=1e-5)
    assert lls["vendor"] == pytest.approx(-8.026189, abs=1e-5)
    assert lls["outside_evidence"] == pytest.approx(-0.558929, abs=1e-5)
    assert c["proposition"] == "insider"


def test_mixed_is_never_built_from_a_lab_at_no_support():
    # before: A "vendor" at LR 1 and B "insider" at LR 3.28 made the case "mixed"
    c = conclude(_prep(_tied_lab(), _insider_lab()), P)
    per = {p["lab"]: p for p in c["per_lab"]}
    assert per["A"]["proposition"] == "undetermined" and per["B"]["proposition"] == "insider"
    assert c["proposition"] == "undetermined" and c["leading"] == "mixed"
    assert c["log10_lr"] == 0.0 and c["verbal"] == "no support"  # the weakest lab's: A


def _with_verdict(c: dict) -> dict:
    """findings.json's parts the terminal and the first screen read, from a conclusion."""
    att = {"verdict": c["proposition"], "conclusion": {k: v for k, v in c.items()
                                                      if k != "per_lab"},
           "per_lab": c["per_lab"]}  # fmt: skip
    a = attribution_findings(att)
    return {
        "verdict": a["verdict"],
        "conclusion": a["conclusion"],
        "per_lab": a["per_lab"],
        "leak": {"given": True, "patients": 4, "found": 4},
        "counts": {"input_files": 1, "events": 10, "quarantined": 0, "sessions": 2,
                   "flagged_sessions": 0},
    }  # fmt: skip


def test_every_place_says_undetermined(tmp_path):
    f = _with_verdict(conclude(_prep(_tied_lab()), P))
    v = f["verdict"]
    # findings.json's verdict
    assert v["verdict"] == "undetermined" and v["class"] == "undetermined"
    assert v["label"] == "Undetermined"
    assert v["strength"] == (
        "no support (log10 LR 0.00, the LIS vendor against laboratory staff): no source is named"
    )
    assert f["conclusion"]["leading"] == "vendor"
    # the terminal's first line
    first = summary_text(f, tmp_path).splitlines()[0]
    assert first.startswith("Verdict: Undetermined. Strength: no support")
    assert "Verdict: The LIS vendor" not in summary_text(f, tmp_path)
    # the report's first screen: How sure and Who name no source
    rows = {r["question"]: str(r["answer"]) for r in summary_view(f, WHEN)["rows"]}
    assert rows["How sure"].startswith(
        "Undetermined: no source is named. The findings do not favour the LIS vendor (its "
        "extraction tool or accounts) over laboratory staff: likelihood ratio 1.00 (log10 "
        "0.00), no support"
    )
    assert "Copied through" not in rows["How sure"]
    assert rows["Who"].startswith("No account is named at A")


def test_a_named_source_still_reads_as_before(tmp_path):
    f = _with_verdict(conclude(_prep(_insider_lab()), P))
    assert f["verdict"]["label"] == "Laboratory staff (insider)"
    # log10 LR 0.515281 (by hand, see the module doc), rounded half-even to 2 decimals
    assert f["verdict"]["strength"].startswith("weak (log10 LR 0.52 against")
    rows = {r["question"]: str(r["answer"]) for r in summary_view(f, WHEN)["rows"]}
    assert rows["How sure"].startswith("Copied through laboratory staff (weak support")


def test_sensitivity_reruns_agree_on_undetermined():
    from labforensics.attribution.conclusion import sensitivity

    prep = _prep(_tied_lab())
    base = conclude(prep, P)
    s = sensitivity(prep, P, base)
    assert {r["proposition"] for r in s["runs"]} == {"undetermined"} and s["agreement"] == 1.0


def test_several_undetermined_labs_said_once_naming_them(tmp_path):
    """Session 10, QA item 3: with two labs at no support the terminal's sentence read
    "... no source named: the likelihood ratio is below 2 (...); 2 lab(s) weighed: A:
    undetermined; C: undetermined; ...; weakest lab A (A: undetermined, no source named:
    the likelihood ratio is below 2 (...); ...)". Now said once, the labs named together.
    A and C are the same tied lab (LR 1, 4 of 4 pairs producible each: 8 of 8)."""
    c = conclude(_prep(_tied_lab("A"), _tied_lab("C")), P)
    assert [p["proposition"] for p in c["per_lab"]] == ["undetermined", "undetermined"]
    assert c["reason"].startswith(
        "undetermined, no source named: the likelihood ratio is below 2 (no support on the "
        "verbal scale); 2 lab(s) weighed: A, C undetermined; 8 of 8 lab-patient pairs a "
        "logged operation could have produced; weakest lab A (A: the leaked set cannot tell "
        "vendor from insider"
    )
    second = summary_text(_with_verdict(c), tmp_path).splitlines()[1]
    assert second.count("no source named") == 1 and second.count("below 2") == 1
    assert "2 lab(s) weighed: A, C: undetermined; 8 of 8" in second
    # each lab's own reason still says it (findings.json per_lab)
    assert all(p["reason"].startswith(f"{p['lab']}: undetermined, no source named")
               for p in c["per_lab"])  # fmt: skip
