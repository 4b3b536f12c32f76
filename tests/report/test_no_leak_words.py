"""Without a leak there are no leaked patients (QA, session 8): the top findings, the
first screen and the glossary word the pathways for that case, and still say "leaked
patients" when a leak is given."""

from __future__ import annotations

from pathlib import Path

import pytest

import labforensics as lf
from labforensics.report.findings import _leak_findings_text
from labforensics.report.summary import GLOSSARY, summary_view

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PW = [{"pathway_id": "PW001", "account": "a.b", "account_kind": "staff", "hypothesis": "insider",
       "labs": ["L01"], "n_sessions": 2, "leaked_explained": 0}]  # fmt: skip


def _pathway_line(given: bool) -> str:
    f = {"pathways": PW * 1200, "leak": {"given": given}}
    (line,) = [t for t in _leak_findings_text(f) if "pathway(s)" in t]
    return line


def test_pathways_line_with_and_without_a_leak():
    assert _pathway_line(True) == (
        "1,200 pathway(s) (an account's exports or extractions, the earlier share rule's "
        "candidates) in section 5: 0 could have produced leaked patients, 1,200 explain none "
        "of them."
    )
    assert _pathway_line(False) == (
        "1,200 pathway(s) (accounts whose operations could have produced a copy of the "
        "patients they touched (no leak was given), the earlier share rule's candidates) in "
        "section 5."
    )


def _who(f):
    rows = summary_view(f, lambda v, seconds=True: str(v))["rows"]
    return next(r["answer"] for r in rows if r["question"] == "Who")


def test_who_with_and_without_a_leak():
    base = {"verdict": {"verdict": "undetermined"}, "pathways": PW, "counts": {}}
    assert _who({**base, "leak": {"given": False}}) == (
        "No leak was given: no account is tied to a copy of patient records; section 5 lists "
        "1 pathway(s), accounts whose operations could have produced a copy of the patients "
        "they touched."
    )
    assert _who({**base, "leak": {"given": False}, "pathways": []}) == (
        "No leak was given: no account is tied to a copy of patient records."
    )
    assert _who({**base, "leak": {"given": True}}) == "No account's operations explain the leak."


def test_glossary_pathway_holds_both_cases():
    text = dict(GLOSSARY)["pathway"]
    assert "with a leak, of the leaked patients" in text
    assert "without one, of the patients they touched" in text


@pytest.fixture(scope="module")
def no_incident(tmp_path_factory):
    case = lf.CaseContext.from_file(FIXTURES / "no-incident" / "case.toml")
    return lf.investigate(None, tmp_path_factory.mktemp("nl") / "out", case=case,
                          progress=False)  # fmt: skip


def test_run_without_a_leak_says_no_leaked_patients(no_incident):
    f = no_incident.findings
    assert not f["leak"]["given"] and f["pathways"]
    text = "\n".join(f["findings_text"]) + no_incident.summary()
    assert "leaked patients" not in text
    assert "could have produced a copy of the patients they touched" in text


def test_section_six_without_a_leak_shows_no_leak_share(no_incident):
    html = (no_incident.out / "report.html").read_text(encoding="utf-8")
    six = html[html.index('<section id="hypotheses">') :]
    six = six[: six.index("</section>")]
    # the hypotheses' share is of the anomalous records moved: said so, not "of the leak"
    assert "share of the leak explained" not in six and "leaked patients explained" not in six
    assert "share of the anomalous records moved" in six and "No leak was given" in six


def test_hypotheses_rows_keep_the_leak_share_with_a_leak():
    # a leak weighed by the attribution (its totals count the leak), even when the
    # findings were built without the leak's patients (leak.given False)
    from labforensics.report.leak_tables import annotated_hypotheses

    h = {"hypothesis": "vendor", "share": 0.5, "patients_explained": 3, "n_labs": 1}
    (with_leak,) = annotated_hypotheses({"hypotheses": [h], "leak": {"given": True}})
    (weighed,) = annotated_hypotheses({"hypotheses": [h], "leak": {"given": False},
                                       "attribution": {"totals": {"leak_identifiers": 9}}})  # fmt: skip
    assert weighed == with_leak
    (without,) = annotated_hypotheses({"hypotheses": [h], "leak": {"given": False}})
    assert list(with_leak) == ["hypothesis", "share", "patients_explained", "n_labs"]
    assert without == {"hypothesis": "vendor", "volume_share": 0.5, "n_labs": 1}
