"""Propositions in words wherever a person reads them (QA, session 8): the terminal's
verdict line, report.html and the summary sentences say "a copy outside the logged
evidence", never the code ``outside_evidence``; findings.json keeps the codes in its
machine fields. One table (labforensics.attribution.labels) holds every wording."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from labforensics.attribution.conclusion import PROPOSITIONS
from labforensics.attribution.labels import (
    PROPOSITION_LABELS,
    proposition_who,
    proposition_words,
    reason_words,
    verdict_label,
)
from labforensics.attribution.propositions import HYPOTHESES
from labforensics.cli import main
from labforensics.report import lr_words, summary, words
from labforensics.report.findings import attribution_findings, summary_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
OUTSIDE = "a copy outside the logged evidence (made by no logged operation)"
CODES = ("vendor", "insider", "external", "outside_evidence", "mixed")


def bare_codes(text: str) -> list[str]:
    """The codes left in ``text`` once the table's own words are taken out."""
    for lab in sorted(PROPOSITION_LABELS.values(), key=lambda x: -len(x.heading)):
        text = text.replace(lab.heading, "").replace(lab.words, "").replace(lab.who, "")
    return re.findall(rf"\b(?:{'|'.join(CODES)})\b", text)


def test_one_table_for_every_code():
    for code in (*PROPOSITIONS, *HYPOTHESES, "mixed", "undetermined", "outside", "none"):
        assert code in PROPOSITION_LABELS, code
        assert "_" not in proposition_words(code) + verdict_label(code) + proposition_who(code)
    assert proposition_words("outside_evidence") == OUTSIDE
    # the report's tables are views of the one table, not copies
    assert words.PROPOSITION_WORDS == {c: lab.words for c, lab in PROPOSITION_LABELS.items()}
    assert summary.HYPOTHESIS_WORDS is words.PROPOSITION_WORDS
    assert lr_words.ALTERNATIVE_WHO == {c: PROPOSITION_LABELS[c].who for c in HYPOTHESES}
    assert words.TERM_WORDS["outside_evidence"] == OUTSIDE
    # an unknown code is never printed with its underscore
    assert proposition_words("new_code") == "new code" == verdict_label("new_code")


def test_reason_forms_in_words():
    # each sentence form of labforensics.attribution.conclusion
    got = reason_words(
        "2 lab(s) weighed: L01 vendor; L 02 outside_evidence; 98 of 450 lab-patient pairs a "
        "logged operation could have produced; weakest lab L01 (L01: the leaked set cannot "
        "tell vendor from insider (their best operations hold the same leaked patients): no "
        "support for either; L01: vendor against external, log10 LR 0.00 (uncapped 0.00); "
        "alternative's best operation x1 (vendor, 2019-09-06T08:33:50Z))"
    )
    assert got == (
        "2 lab(s) weighed: L01: the LIS vendor (its extraction tool or accounts); L 02: "
        f"{OUTSIDE}; 98 of 450 lab-patient pairs a logged operation could have produced; "
        "weakest lab L01 (L01: the leaked set cannot tell the LIS vendor (its extraction tool "
        "or accounts) from laboratory staff (their best operations hold the same leaked "
        "patients): no support for either; L01: the LIS vendor (its extraction tool or "
        "accounts) against an outside intrusion, log10 LR 0.00 (uncapped 0.00); "
        # an account named "vendor" is an account, not a proposition: left as it is
        "alternative's best operation x1 (vendor, 2019-09-06T08:33:50Z))"
    )
    assert reason_words("L01: no registration dates, and insider's operation falls") == (
        "L01: no registration dates, and laboratory staff's operation falls"
    )
    assert reason_words("moderate (log10 LR 1.99 against outside_evidence)") == (
        f"moderate (log10 LR 1.99 against {OUTSIDE})"
    )
    assert reason_words("verdict mixed") == "verdict: different sources at different labs"
    # words of the evidence are not codes: a vendor account stays a vendor account
    assert reason_words("329 records exported by a vendor account") == (
        "329 records exported by a vendor account"
    )


def test_reason_html_keeps_the_code_in_a_title():
    got = words.reason_html("1 lab(s) weighed: L<1> insider; 3 of 4 pairs")
    assert got == ('1 lab(s) weighed: L&lt;1&gt;: <span class="coded" title="insider">'
                   "laboratory staff</span>; 3 of 4 pairs")  # fmt: skip
    # a code written once is not read again inside its own title
    got = words.reason_html("L01: insider against outside_evidence, log10 LR 1")
    assert got.count('title="outside_evidence"') == 1 and got.count("<span") == 2


def _findings(conclusion: dict) -> dict:
    att = attribution_findings({"conclusion": conclusion, "verdict": conclusion["proposition"]})
    return {**att, "counts": {"input_files": 1, "events": 10, "quarantined": 0, "sessions": 2,
                              "flagged_sessions": 0}}  # fmt: skip


@pytest.mark.parametrize("lead, alt", [("outside_evidence", "vendor"),
                                       ("insider", "outside_evidence")])  # fmt: skip
def test_terminal_summary_in_words(lead, alt, tmp_path):
    reason = (f"1 lab(s) weighed: L01 {lead}; 5 of 9 lab-patient pairs a logged operation "
              f"could have produced; weakest lab L01 (L01: {lead} against {alt}, log10 LR "
              "1.20 (uncapped 1.20))")  # fmt: skip
    f = _findings({"proposition": lead, "alternative": alt, "log10_lr": 1.2,
                   "verbal": "moderate", "reason": reason})  # fmt: skip
    # the machine fields keep the codes
    assert f["verdict"]["verdict"] == f["conclusion"]["proposition"] == lead
    assert f["conclusion"]["alternative"] == alt and f["conclusion"]["reason"] == reason
    text = summary_text(f, tmp_path)
    head = text.splitlines()[0]
    assert head.startswith(f"Verdict: {verdict_label(lead)}. Strength: moderate (log10 LR "
                           f"1.20 against {proposition_words(alt)})")  # fmt: skip
    assert "Stability: " in head and head.endswith(".")
    assert "outside_evidence" not in text and OUTSIDE in text
    assert not bare_codes(text), text


def test_cli_verdict_line_and_report_in_words(tmp_path, capsys):
    # insider-browsing: laboratory staff against a copy outside the logged evidence
    out = tmp_path / "out"
    rc = main(["investigate", "--case", str(FIXTURES / "insider-browsing" / "case.toml"),
               "--out", str(out), "--quiet"])  # fmt: skip
    shown = capsys.readouterr().out
    assert rc == 0
    f = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert f["conclusion"]["alternative"] == "outside_evidence"  # the code, kept
    verdict = shown[: shown.index("\nEvidence:")]
    assert "outside_evidence" not in shown and OUTSIDE in verdict
    assert not bare_codes(verdict), verdict
    # the stage notes in words (findings.json's stages, the report's table)
    notes = {r["stage"]: r["output"] for r in f["stages"]}
    # laboratory staff leads at no support (LR 1.96): no source is named (QA session 9)
    assert notes["attribution"] == "verdict: undetermined"
    # evidence of labs L01 and L02 (two folders); the cell was empty (QA 14)
    assert notes["features"] == "peer baselines over 2 lab(s)"
    assert f["conclusion"]["leading"] == "insider"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert ">verdict insider<" not in html and ">verdict: undetermined</td>" in html
    assert f"against {OUTSIDE}" in html
