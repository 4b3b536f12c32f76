"""Leaked identifiers no lab holds are "not patients of these labs", not "not in the
evidence" (coverage, session 15).

A leaked pair whose lab's patient index is in the evidence, and which neither that index
(dated or not) nor the lab's events hold, is no patient of the lab: it was counted on the
``not_in_evidence`` line, whose words ("not in the evidence"; in the capped reason "no
logs in the evidence") say the pair belongs to a lab whose records are absent. It now
has its own line, ``not_a_patient``; ``not_in_evidence`` keeps the pairs that may be the
labs' patients the logs never show (a lab without logs, a patient its index holds without
a date, or a lab with no index given: then nothing tells a stranger from a patient the
logs never touched). Lab-less identifiers placed nowhere stay on ``unplaced`` ("in no
lab"), which also holds those several records share (one person, not said which).
"""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pandas as pd
import pytest
from test_conclusion import P, _hours, _lab, _ops
from test_not_in_evidence import _no_logs, _vendor_lab

from labforensics.attribution import coverage as cov
from labforensics.attribution.conclusion import conclude
from labforensics.attribution.limits import limits
from labforensics.report.html import make_formatter
from labforensics.report.summary import summary_view

#: The lines of the case, each pair (or lab-less identifier) on exactly one.
CASE_LINES = (*cov.LINES, "unplaced", "not_weighed")


def test_not_patients_needs_the_labs_index():
    # 7 pairs, 4 its own: 3 not patients when its index is given, else none can be told
    d = dataclasses.replace(_lab("L01", 4, _ops([]), linked=7), n_own=4, has_index=True)
    assert cov.not_patients(d) == 3
    assert cov.not_patients(dataclasses.replace(d, has_index=False)) == 0
    assert cov.not_patients(dataclasses.replace(d, n_own=None)) == 0
    # lines: 7 linked, 4 known (covered, 4 producible), 3 not patients, 0 not in evidence
    assert cov.lines_of(d, 4, True, 4) == {
        "linked": 7, "in_evidence": 4, "covered": 4, "producible": 4, "not_producible": 0,
        "logs_after_horizon": 0, "not_in_evidence": 0, "not_a_patient": 3,
    }  # fmt: skip
    # never more than the pairs not known: 5 linked, 4 known, "6 strangers" -> 1
    assert cov.lab_lines(5, 4, True, 4, 6)["not_a_patient"] == 1


def _mixed() -> dict:
    # by hand, 17 lab-patient pairs and 2 lab-less identifiers:
    #   L01 logs + index: 7 pairs, 4 known and producible (test_conclusion's hand example),
    #       3 held by neither its events nor its index          -> not_a_patient 3
    #   L02 logs, no index: 2 pairs its events do not name       -> not_in_evidence 2
    #   L99 no logs, no index: 3 pairs                           -> not_in_evidence 3
    #   L03 no logs, an index holding 2 of its 5 pairs           -> not_in_evidence 2,
    #                                                               not_a_patient 3
    #   2 lab-less identifiers no lab holds                     -> unplaced 2
    l01 = dataclasses.replace(_vendor_lab(), n_linked=7, n_own=4, has_index=True)
    l02 = _lab("L02", 0, _ops([("x", "insider", _hours(4.5), 4)]), linked=2)
    l03 = dataclasses.replace(_no_logs("L03", linked=5), n_own=2, has_index=True)
    labs = {d.lab: d for d in (l01, l02, l03, _no_logs("L99", linked=3))}
    return {"labs": labs, "fmr": None, "unplaced": 2, "sighted_at": None,
            "n_rows_linked": None}  # fmt: skip


def test_mixed_leak_lines_by_hand():
    c = conclude(_mixed(), P)
    got = {k: c["coverage"][k] for k in (*CASE_LINES, "total")}
    assert got == {
        "producible": 4, "not_producible": 0, "logs_after_horizon": 0,
        "not_in_evidence": 2 + 3 + 2, "not_a_patient": 3 + 3, "unplaced": 2,
        "not_weighed": 0, "total": 19,
    }  # fmt: skip
    assert sum(c["coverage"][k] for k in CASE_LINES) == c["coverage"]["total"]
    (l01,) = c["per_lab"]
    assert (l01["coverage"]["not_in_evidence"], l01["coverage"]["not_a_patient"]) == (0, 3)
    left = {x["lab"]: x["coverage"] for x in c["not_weighed"]}
    assert {k: (v["not_in_evidence"], v["not_a_patient"]) for k, v in left.items()} == {
        "L02": (2, 0), "L03": (2, 3), "L99": (3, 0),
    }  # fmt: skip
    # the ratio capped by coverage (4 of 19 producible): only the labs without logs are
    # said to have none (L02 has logs; before, it was named with them)
    assert c.get("capped_by_coverage")
    assert "(L03, L99: no logs in the evidence)" in c["reason"]


def test_mixed_leak_limits_say_which_line():
    prep = _mixed()
    c = conclude(prep, P)
    out = limits(prep, c, SimpleNamespace())
    (line,) = [t for t in out if t.startswith("coverage, in lab-patient pairs")]
    assert ("4 of 19 pairs (21.1 %) a logged operation could have produced; 7 not in the "
            "evidence, 6 not patients of these labs (neither the lab's events nor its patient "
            "index hold them), 0 in labs whose logs start after the horizon, 0 outside the "
            "best operation's set, 2 in no lab, 0 in labs left out of the weighing") in line  # fmt: skip
    by_lab = {t.split(":")[0]: t for t in out if t[:3] in ("L02", "L03", "L99")}
    assert by_lab["L02"].endswith("its pairs are counted among those not in the evidence")
    assert by_lab["L99"].endswith("its pairs are counted among those not in the evidence")
    assert by_lab["L03"].endswith(
        "of its pairs, 2 are counted among those not in the evidence and 3 among those not "
        "patients of these labs"
    )


def test_identifiers_of_no_patient_with_the_index_given():
    # the QA's 200 random IPPs of L01 with L01's index given: none its patient, so all
    # 200 are not patients of L01 (without the index: not in the evidence,
    # test_untied_leak); still undetermined, nothing ties the leak to L01
    d = dataclasses.replace(_lab("L01", 0, _ops([("x", "vendor", _hours(4.5), 4)]),
                                 linked=200), n_own=0, has_index=True)  # fmt: skip
    prep = {"labs": {"L01": d}, "fmr": None, "unplaced": 0, "sighted_at": None,
            "n_rows_linked": None}  # fmt: skip
    c = conclude(prep, P)
    assert c["proposition"] == "undetermined" and c["leading"] is None
    assert (c["coverage"]["not_in_evidence"], c["coverage"]["not_a_patient"]) == (0, 200)
    assert c["coverage"]["total"] == 200
    (line,) = [t for t in limits(prep, c, SimpleNamespace()) if t.startswith("L01:")]
    assert line.endswith("its pairs are counted among those not patients of these labs")


def test_summary_names_the_not_patients_only_when_there_are_some():
    def how_sure(coverage):
        f = {"verdict": {"verdict": "vendor"}, "leak": {"given": True},
             "conclusion": {"proposition": "vendor", "log10_lr": 3.2, "verbal": "strong",
                            "alternative": "outside_evidence", "coverage": coverage}}  # fmt: skip
        rows = summary_view(f, make_formatter("Europe/Paris"))["rows"]
        return {r["question"]: r["answer"] for r in rows}["How sure"]

    base = {"total": 19, "producible": 4, "not_in_evidence": 7, "unplaced": 2, "not_weighed": 0}
    with_np = how_sure({**base, "not_a_patient": 6})
    assert ("7 are of patients neither in the lab's logs nor dated in its patient index, 6 are "
            "not patients of these labs (neither the lab's events nor its patient index hold "
            "them), 2 are of labs left out") in with_np  # fmt: skip
    assert "not patients of these labs" not in how_sure({**base, "not_a_patient": 0})


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    from generated_vendor_case import make_case

    from labforensics import investigate

    base = tmp_path_factory.mktemp("not_a_patient")
    gen = make_case(base, "not-a-patient")
    listed = pd.read_csv(gen / "leak" / "leaked_ipps.csv", sep=";", dtype=str)
    ours = listed.loc[listed["lab"] == "L01", "ipp"].tolist()[:6]
    index = pd.read_csv(gen / "patients" / "PATIENTS_L01.csv", sep=";", dtype=str,
                        encoding="cp1252")  # fmt: skip
    strangers = ["912345678", "923456789", "934567890", "945678901"]
    # the 4 strangers (9 digits): no L01 index row holds them (the index's IPPs: 8 digits)
    assert not set(strangers) & set(index["IPP"]) and set(ours) <= set(index["IPP"])
    rows = ([("L01", i) for i in ours] + [("L03", i) for i in ours[:3]]
            + [("L01", i) for i in strangers] + [("", "956789012"), ("", "967890123")])  # fmt: skip
    leak = base / "mixed.csv"
    leak.write_text("lab;ipp\n" + "".join(f"{a};{b}\n" for a, b in rows), encoding="utf-8")
    out = base / "out"
    investigate(gen / "evidence", out, case=base / "case.toml", leak=leak,
                patients=gen / "patients", progress=False)  # fmt: skip
    return json.loads((out / "findings.json").read_text("utf-8")), out


@pytest.mark.slow  # generates and investigates a small case
def test_investigated_mixed_leak_by_hand(mixed_run):
    # (a) 6 listed L01 patients, each registered with a date in L01's index: known;
    # (b) 3 pairs at L03, a lab with neither logs nor index: not in the evidence;
    # (c) 4 9-digit IPPs at L01, held by neither its events nor its index: not patients;
    # (d) 2 lab-less 9-digit IPPs no lab holds: in no lab. Total 6 + 3 + 4 + 2 = 15.
    f, out = mixed_run
    c = f["conclusion"]["coverage"]
    assert c["in_evidence"] == 6
    assert c["producible"] + c["not_producible"] + c["logs_after_horizon"] == 6
    assert (c["not_in_evidence"], c["not_a_patient"], c["unplaced"]) == (3, 4, 2)
    assert (c["not_weighed"], c["total"]) == (0, 15)
    # measured (seed 3): a logged operation could have produced all 6
    assert c["producible"] == 6
    (l01,) = f["per_lab"]
    assert (l01["lab"], l01["coverage"]["linked"], l01["coverage"]["not_a_patient"]) == (
        "L01", 10, 4)  # fmt: skip
    (l03,) = f["conclusion"]["not_weighed"]
    assert l03["lab"] == "L03" and l03["coverage"]["not_in_evidence"] == 3
    html = (out / "report.html").read_text("utf-8")
    assert "4 not patients of these labs (neither the lab" in html
