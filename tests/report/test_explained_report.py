"""The explanation's windows and routine rates, stated in findings.json and report.html
(issue 14 item 2: the window "stated in the report"; the rate behind every
"patients read have no request" probability, so that an expert can judge it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import labforensics as lf
from labforensics.features.explained_summary import RATE_BASES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("insider") / "out"
    case = lf.CaseContext.from_file(FIXTURES / "insider-browsing" / "case.toml")
    lf.investigate(None, out, case=case, progress=False)
    f = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return f, (out / "report.html").read_text(encoding="utf-8")


def test_every_lab_has_its_rate_and_windows(run):
    f, _ = run
    rows = f["explained_accesses"]
    # the fixture's two labs, in order
    assert [r["lab"] for r in rows] == ["L01", "L02"]
    for r in rows:
        assert 0 < r["routine_rate"] <= 1 and r["rate_basis"] in RATE_BASES
        # never below the median account's own unexplained share
        share = r["median_account_explained_share"]
        assert share is None or r["routine_rate"] >= 1 - share - 1e-9
        assert r["windows"] and all(w["days"] > 0 for w in r["windows"])


def test_the_report_states_them(run):
    f, html = run
    assert "<h3>Explained patient accesses</h3>" in html
    for r in f["explained_accesses"]:
        assert f"<td>{r['lab']}</td>" in html
        assert r["rate_basis_text"].replace("'", "&#39;") in html
    # every role's window the cap here (too few gaps): said once per lab
    assert html.count("30 (every role, the cap: too few gaps)") == 2


def test_same_bytes_on_a_rerun(run, tmp_path):
    f, _ = run
    case = lf.CaseContext.from_file(FIXTURES / "insider-browsing" / "case.toml")
    lf.investigate(None, tmp_path / "again", case=case, progress=False)
    again = json.loads((tmp_path / "again" / "findings.json").read_text(encoding="utf-8"))
    assert again["explained_accesses"] == f["explained_accesses"]
