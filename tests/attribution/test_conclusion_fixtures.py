"""The conclusion recorded for the bundled fixtures (``fixtures/*/expected/conclusion.json``,
checked against a replay by ``tests/test_fixtures.py``): what it must and must not say."""

from __future__ import annotations

import csv
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
LINES = ("producible", "not_producible", "logs_after_horizon", "not_in_evidence", "not_a_patient")


def _conclusion(name: str) -> dict:
    return json.loads((FIXTURES / name / "expected" / "conclusion.json").read_text("utf-8"))


def test_damaged_files_is_not_strong_on_a_quarter_of_the_leak():
    # 450 leaked identifiers (leak/leaked_ipps.csv), 111 found in the logs: about a quarter;
    # the coverage ceiling -2 log10(1 - 95/450) = 0.206 keeps it at "no support"
    c = _conclusion("damaged-files")
    with open(FIXTURES / "damaged-files" / "leak" / "leaked_ipps.csv", newline="") as fh:
        n_leak = sum(1 for _ in csv.DictReader(fh))
    cov = c["coverage"]
    assert n_leak == 450 and cov["total"] == n_leak
    assert sum(cov[k] for k in LINES) + cov["unplaced"] + cov["not_weighed"] == n_leak
    assert cov["in_evidence"] == 111 and cov["producible"] / cov["total"] < 0.3
    # "no support" (LR 1): the vendor leads, but no source is named (QA session 9)
    assert c["leading"] == "vendor" and c["verbal"] == "no support"
    assert c["proposition"] == "undetermined"
    # each lab's lines add up to its leaked rows, and the labs to the case
    assert sum(p["coverage"]["linked"] for p in c["per_lab"]) == cov["linked"]
    for p in c["per_lab"]:
        assert sum(p["coverage"][k] for k in LINES) == p["coverage"]["linked"]


def test_no_incident_names_no_proposition():
    # no leak: undetermined, no ratio, no verbal, no lab weighed
    c = _conclusion("no-incident")
    assert c == {
        "alternative": None,
        "coverage": None,
        "leading": None,
        "log10_lr": None,
        "per_lab": [],
        "proposition": "undetermined",
        "verbal": None,
    }


def test_mixed_never_appears_per_lab():
    for case in sorted(FIXTURES.glob("*/expected/conclusion.json")):
        c = json.loads(case.read_text("utf-8"))
        assert "mixed" not in {p["proposition"] for p in c["per_lab"]}, case
