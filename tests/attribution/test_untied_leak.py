"""A leak no lab's logs or patient index hold is not "a copy outside the logged
evidence" (QA session 14, item 1).

The QA tester leaked 200 random IPPs of L01 (none a patient of L01): the case read
``outside_evidence`` ("copied by a means the logs do not record"), and the sensitivity
block "agreement 1.0" over six reruns that all had no ratio. Identifiers the labs never
hold are evidence that the rows are not these labs', not of an unlogged copy: the case is
``undetermined``, no leading proposition. A lab with no logs whose leaked patients its
patient index holds (a linked dump) still reads ``outside_evidence``: those are its
patients, copied by no logged operation.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from attribution_scenarios import KEY, LAB_NET, VENDOR_NET, build, vendor_case
from test_conclusion import P, _hours, _lab, _ops
from test_not_in_evidence import _no_logs, _prep

from labforensics.attribution import AttributionParams, attribute
from labforensics.attribution.conclusion import conclude, sensitivity
from labforensics.attribution.tie import UNTIED, index_pairs_of, own_pairs
from labforensics.case import CaseContext
from labforensics.networks import NetworkMap
from labforensics.report.findings import _sensitivity_text


def test_own_pairs_counts_events_and_index_dated_or_not():
    # by hand: leaked {a, b, c, d}; L01's events name a; L01's index holds b (undated
    # rows count too); c is in L02's index only, d nowhere: 2 of L01's 4 are its own
    idx = pd.DataFrame({"lab": ["L01", "L02", "L01"], "patient": ["b", "c", "z"]})
    assert own_pairs({"a", "b", "c", "d"}, "L01", {"a", "y"}, idx) == 2
    assert own_pairs({"a", "b", "c", "d"}, "L01", {"a"}, None) == 1


def test_index_pairs_of_people_given_with_a_list():
    people = pd.DataFrame({"lab": ["L01", "L01"], "record_id": ["p1", "p1"],
                           "created": [pd.NaT, pd.NaT]})  # fmt: skip
    got = index_pairs_of(None, people)
    assert got.to_dict("list") == {"lab": ["L01"], "patient": ["p1"]}
    assert index_pairs_of(None, None) is None


def test_leaked_identifiers_of_no_patient_are_undetermined():
    # L01 has logs (10 patients known), none of its 200 leaked pairs among them, none in
    # its index (n_own 0): no lab weighed, nothing tying the leak to L01
    d = dataclasses.replace(_lab("L01", 0, _ops([("x", "vendor", _hours(4.5), 4)]),
                                 linked=200), n_own=0)  # fmt: skip
    c = conclude(_prep(d), P)
    assert c["proposition"] == "undetermined" and c["leading"] is None
    assert c["log10_lr"] is None and c["per_lab"] == []
    assert c["reason"].startswith(UNTIED)
    assert "L01 not in the evidence: none of its leaked patients is known" in c["reason"]
    # the 200 pairs still on one coverage line each: nothing dropped from the total
    assert (c["coverage"]["not_in_evidence"], c["coverage"]["total"]) == (200, 200)
    # the reruns: no ratio anywhere, so no agreement, and the words say not evaluated
    s = sensitivity(_prep(d), P, c)
    assert [r["proposition"] for r in s["runs"]] == ["undetermined"] * 6
    assert s["agreement"] is None and s["log10_lr_range"] is None
    assert _sensitivity_text({"sensitivity": s}) == (
        "not evaluated (no likelihood ratio in the 6 reruns)"
    )


def test_a_lab_named_by_a_list_with_neither_logs_nor_index_ties_nothing():
    # the list's L99 (no logs, no index): nothing says its identifiers are patients
    c = conclude(_prep(_no_logs()), P)
    assert c["proposition"] == "undetermined" and c["leading"] is None


def test_indexed_patients_of_a_lab_without_logs_are_outside_the_evidence():
    # a linked dump's 5 pairs at L03, which has no logs: its index holds them (n_own 5),
    # so they are its patients, copied by no logged operation
    d = dataclasses.replace(_no_logs("L03", linked=5), n_own=5)
    c = conclude(_prep(d), P)
    assert c["proposition"] == c["leading"] == "outside_evidence"
    assert c["log10_lr"] is None and c["coverage"]["not_in_evidence"] == 5


def test_no_linked_row_at_all_is_undetermined():
    # a dump of which no row links (QA: leakerr, "coverage 0 of 0"): no lab at all
    c = conclude(_prep(), P)
    assert c["proposition"] == "undetermined" and c["leading"] is None
    assert c["coverage"]["total"] == 0


def test_an_identifier_list_of_strangers(tmp_path):
    # end to end: 3 IPPs at L01 that no event of L01 names (the scenario's IPPs are
    # short; these 9-digit values are no patient of it)
    c, _ = vendor_case(labs=("L01",))
    ev, ss = build(c)
    path = tmp_path / "strangers.csv"
    path.write_text("lab;ipp\nL01;912345678\nL01;923456789\nL01;934567890\n", "utf-8")
    case = CaseContext(networks=NetworkMap(by_lab=LAB_NET, vendor=[VENDOR_NET]))
    a = attribute(ev, ss, leak=str(path), case_key=KEY, params=AttributionParams(), case=case)
    assert a.verdict == "undetermined" and a.conclusion["leading"] is None
    assert a.conclusion["reason"].startswith(UNTIED)
    assert a.conclusion["coverage"]["not_in_evidence"] == 3
    assert a.conclusion["sensitivity"]["agreement"] is None


@pytest.mark.parametrize("n_own", [None, 0])
def test_unknown_n_own_falls_back_to_the_known_leaked(n_own):
    # n_own None (not computed): the leaked patients the universe knows (none here)
    d = dataclasses.replace(_lab("L01", 0, _ops([]), linked=3), n_own=n_own)
    assert conclude(_prep(d), P)["proposition"] == "undetermined"
