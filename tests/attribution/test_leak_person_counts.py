"""Leak counts of a linked dump count (lab, patient) pairs and persons, not leak ids.

A ``two_labs`` dump row names one person's records at two labs. Two rows naming the
same two records in opposite order (best match at L01 then at L02, and the reverse)
are one person and two (lab, patient) pairs: every count the conclusion reports (pairs
per lab, distinct patients, found in the logs, explained) must say so, as
``leak_links.parquet`` (its linked (lab, patient) pairs) does.

Hand-built linkage (records at L01 ``A1``, ``B1``; at L02 ``B2``, ``C2``, ``D2``;
at L03 ``D3``; ``B1``/``B2`` and ``D2``/``D3`` are one person each)::

    row  match     lab/patient  runner-up
    r1   unique    L01/A1
    r2   two_labs  L01/B1       L02/B2
    r3   two_labs  L02/B2       L01/B1     (r2 in opposite order)
    r4   unique    L01/B1                  (another sample of B)
    r5   unique    L02/C2
    r6   two_labs  L02/D2       L03/D3
    r7   none      -                       (unlinked)

By hand: pairs L01 {A1, B1} = 2, L02 {B2, C2, D2} = 3, L03 {D3} = 1, 6 in all;
persons A, B, C, D = 4 (B and D at two labs each). Every record is first seen
before the vendor's whole-base extraction of its lab, so all 4 are found in the logs
and all 4 explained; per lab 2, 3, 1 found and explained.

Before the fix ``leak_id`` was each row's best-match patient: r2 gave ``B1`` at both
labs, r3 ``B2`` at both, so B counted twice: 5 "distinct patients", L01 3 pairs
(A1, B1 as B1, B1 as B2), L02 4, 8 in all.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from attribution_scenarios import (
    KEY,
    LAB_NET,
    VENDOR_NET,
    build,
    existing_at,
    vendor_case,
)

from labforensics.attribution import AttributionParams, attribute
from labforensics.attribution import coverage as cov
from labforensics.case import CaseContext
from labforensics.leak.horizon import lab_links, leak_rows_from_links, linked_persons
from labforensics.networks import NetworkMap
from labforensics.privacy import pseudonymise_one

CASE = CaseContext(networks=NetworkMap(by_lab=LAB_NET, vendor=[VENDOR_NET]))
LABS = ("L01", "L02", "L03")

#: person -> its records (lab, IPP): all first seen in the lab's second week
RECORDS = {
    "A": [("L01", "100100")],
    "B": [("L01", "100101"), ("L02", "100102")],
    "C": [("L02", "100103")],
    "D": [("L02", "100104"), ("L03", "100105")],
}
PAIRS = {"L01": 2, "L02": 3, "L03": 1}
PERSONS = 4


def _p(lab: str, ipp: str) -> str:
    return pseudonymise_one(KEY, lab, ipp)


def _links() -> tuple[pd.DataFrame, pd.DataFrame]:
    a1, b1, b2 = _p("L01", "100100"), _p("L01", "100101"), _p("L02", "100102")
    c2, d2, d3 = _p("L02", "100103"), _p("L02", "100104"), _p("L03", "100105")
    rows = [  # row_id, match, lab, patient, runner_up_lab, runner_up_patient
        ("r1", "unique", "L01", a1, None, None),
        ("r2", "two_labs", "L01", b1, "L02", b2),
        ("r3", "two_labs", "L02", b2, "L01", b1),
        ("r4", "unique", "L01", b1, None, None),
        ("r5", "unique", "L02", c2, None, None),
        ("r6", "two_labs", "L02", d2, "L03", d3),
        ("r7", "none", None, None, None, None),
    ]
    links = pd.DataFrame(
        rows, columns=["row_id", "match", "lab", "patient", "runner_up_lab", "runner_up_patient"]
    ).astype("string")
    dates = pd.to_datetime(["2020-01-20"] * 6 + [None], utc=True)
    dump = pd.DataFrame({"record_id": links["row_id"], "sample_date": dates})
    return links, dump


def test_leak_rows_one_person_per_pair():
    links, dump = _links()
    rows = leak_rows_from_links(links, dump)
    # one row per linked (lab, patient) pair of leak_links (lab_links), 6
    assert len(rows) == 6 and not rows.duplicated(["lab", "patient"]).any()
    ll = lab_links(links).drop_duplicates(["lab", "patient"])
    assert set(zip(rows["lab"], rows["patient"], strict=True)) == set(
        zip(ll["lab"], ll["patient"], strict=True)
    )
    assert rows.groupby("lab")["patient"].nunique().to_dict() == PAIRS
    # one leak_id per person, the same whichever order the rows name the records in
    assert rows["leak_id"].nunique() == PERSONS
    lid = rows.set_index(["lab", "patient"])["leak_id"]
    assert lid[("L01", _p("L01", "100101"))] == lid[("L02", _p("L02", "100102"))]
    assert lid[("L02", _p("L02", "100104"))] == lid[("L03", _p("L03", "100105"))]
    per = linked_persons(links)
    assert len(per) == 6 and per["person"].nunique() == PERSONS


def test_leaked_pairs_counts_pairs():
    """coverage.leaked_pairs: one row per (lab, patient), also when two records of one
    person at a lab share its leak id (an identity duplicate linked through another lab)."""
    leak = pd.DataFrame(
        {
            "leak_id": ["X", "X", "X", "Y"],
            "lab": ["L01", "L01", "L02", "L01"],
            "patient": ["P1", "P1b", "Q1", "P2"],
            "lab_given": [True] * 4,
        }
    ).astype({"leak_id": "string", "lab": "string", "patient": "string"})
    ctx = SimpleNamespace(leak=leak, matches=leak.iloc[:0], never_seen=leak.iloc[:0])
    pairs, unplaced = cov.leaked_pairs(ctx)
    assert pairs.groupby("lab").size().to_dict() == {"L01": 3, "L02": 1} and unplaced == 0


@pytest.fixture(scope="module")
def vendor_run():
    c, truth = vendor_case(labs=LABS)
    ev, ss = build(c)
    for recs in RECORDS.values():  # every record existed at its lab's extraction
        for lab, ipp in recs:
            assert ipp in set(existing_at(lab, truth[lab])["ipp"])
    links, dump = _links()
    leak = leak_rows_from_links(links, dump)
    return attribute(
        ev, ss, leak=leak, case=CASE, case_key=KEY, params=AttributionParams(stability=False)
    )


def test_conclusion_counts_pairs_and_persons(vendor_run):
    at = vendor_run
    t = at.totals
    assert (t["leak_identifiers"], t["found"], t["explained"]) == (PERSONS,) * 3
    assert t["found_in_several_labs"] == 2  # B and D
    per = {p["lab"]: p["coverage"]["linked"] for p in at.conclusion["per_lab"]}
    skipped = {p["lab"]: p["linked"] for p in at.conclusion.get("not_weighed") or []}
    assert per | skipped == PAIRS
    assert at.conclusion["coverage"]["total"] == sum(PAIRS.values())
    lk = at.leak_summary.set_index("lab")
    assert lk.loc[list(LABS), "leaked_found"].to_dict() == PAIRS
    # the per-lab table's sums bound the persons (one person can be at two labs)
    assert t["found"] <= lk["leaked_found"].sum() and t["explained"] <= lk["explained"].sum()
