"""Labs the conclusion leaves out of the weighing, and the campaigns' export counts, in
sections 5, 5c and 6 (issue 16, QA of session 5: six labs with too few linked patients
were shown as leaked and "not explained"; a campaign's line quoted its best session's 2
exports where section 5c counted its 22)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from standin import (
    STANDIN_ATTRIBUTION,
    standin_case,
    standin_events,
    standin_scores,
    standin_sessions,
)

from labforensics.report import ReportData, render_report
from labforensics.report.campaigns import campaigns_view
from labforensics.report.findings import build_findings, session_scores_table
from labforensics.report.html import make_formatter
from labforensics.report.leak_tables import annotated_hypotheses, coverage_rows, not_weighed

WHEN = make_formatter("Europe/Paris")

#: L02 left out: 3 rows linked to it alone where false links could make 5 (the reason's
#: wording is the attribution's, counted in leaked rows; the report says pairs)
LEFT = {"lab": "L02", "linked": 280, "linked_alone": 3,
        "reason": "3 leaked row(s) linked to this lab alone, fewer than the 5 that false "
                  "links could make; its other 277 linked row(s) are of people also at another "
                  "lab, which bound neither lab's copy"}  # fmt: skip
AGAINST = ("labs not explained by any candidate: L02: 280 of 280 leaked patients unexplained "
           "(largest non-routine export/extraction within 72 h of the window: 0 records)")  # fmt: skip


def _findings() -> dict:
    f = {"conclusion": {"proposition": "vendor", "not_weighed": [LEFT]},
         "per_lab": [{"lab": "L01", "window": {"after": "2019-04-19T22:00:00Z",
                                               "before": "2019-04-20T06:00:00Z"}}],
         "coverage": [{"lab": "L01", "leaked_found": 4800, "explained": 4800,
                       "unexplained": 0, "explained_share": 1.0},
                      {"lab": "L02", "leaked_found": 280, "explained": 0,
                       "unexplained": 280, "explained_share": 0.0}],
         "hypotheses": [{"hypothesis": "vendor", "evidence_against": AGAINST}]}  # fmt: skip
    return f


def test_left_out_lab_carries_the_conclusions_reason():
    f = _findings()
    why = not_weighed(f)["L02"]
    assert why.startswith("left out of the weighing by the conclusion (3 lab-patient pair(s) "
                          "linked to this lab alone, fewer than the 5")  # fmt: skip
    assert "false matches of the record linkage" in why and "leaked row" not in why
    rows = {r["lab"]: r for r in coverage_rows(f)}
    # L02's 280 are not an unexplained leak: no unexplained count, the reason instead
    assert rows["L02"]["unexplained"] is None and rows["L02"]["conclusion"] == why
    assert rows["L01"]["unexplained"] == 0 and rows["L01"]["conclusion"] == "weighed"
    against = annotated_hypotheses(f)[0]["evidence_against"]
    assert against.startswith("labs not explained by any candidate: L02 (left out of the "
                              "weighing by the conclusion: too few patients tied to it alone to "
                              "tell a copy from false matches): 280 leaked patients found in its "
                              "logs, none attributed (largest")  # fmt: skip
    assert "unexplained" not in against


@pytest.fixture(scope="module")
def page():
    ev = standin_events()
    ss = standin_sessions(ev)
    sc = session_scores_table(standin_scores(ss))
    f = build_findings(
        events=ev, sessions=ss, session_scores=sc, attribution=STANDIN_ATTRIBUTION,
        accounting={"totals": {}, "files": []}, inputs=[], case=standin_case(),
        parameters={}, key_fingerprint="00", leak_patients=5300,
    )  # fmt: skip
    hand = _findings()
    f["conclusion"]["not_weighed"] = hand["conclusion"]["not_weighed"]
    f["per_lab"] = [dict(hand["per_lab"][0], proposition="vendor", log10_lr=2.0,
                         verbal="moderate", alternative="outside_evidence",
                         coverage={"linked": 4800, "producible": 4700}, operation=None)]  # fmt: skip
    f.update(coverage=hand["coverage"], hypotheses=hand["hypotheses"])
    acc = pd.DataFrame([{"source_file": "TOTAL", "rows_read": len(ev), "events": len(ev)}])
    data = ReportData(findings=f, events=ev, sessions=ss, quarantine=None, accounting=acc,
                      session_scores=sc)  # fmt: skip
    return render_report(data)


def _section(html: str, sid: str) -> str:
    sec = html[html.index(f'<section id="{sid}"') :]
    return sec[: sec.index("</section>")]


def test_sections_5_and_6_say_left_out_not_unexplained(page):
    sec5, sec6 = _section(page, "leak"), _section(page, "hypotheses")
    assert "the conclusion weighs 1 of those labs and leaves 1 out of the weighing" in sec5
    assert re.search(r"<li>L02: left out of the weighing by the conclusion \(3 lab-patient", sec5)
    # the window table: L02's cells say left out, L01's is the conclusion's (CEST, UTC+2)
    assert '<td class="c-copy_after">2019-04-20 00:00 CEST (2019-04-19 22:00 UTC)</td>' in sec5
    assert sec5.count('<td class="c-copy_after">left out of the weighing</td>') == 1
    assert "The 1 lab(s) it leaves out of the weighing (L02)" in sec6
    assert "L02 (left out of the weighing by the conclusion" in sec6


def test_campaign_line_counts_every_export_of_its_sessions():
    # one flagged campaign of 3 sessions (s1-s3); exports.parquet holds 4 exports of them
    # (10 + 20 + 30 + 40 = 100 records) and one of another session (s9, 500 records): the
    # line counts 4 exports, 100 records, the basis of section 5c; its reasons stay the
    # best session's, labelled so
    t = pd.Timestamp("2019-03-01 08:00", tz="UTC")
    camp = pd.DataFrame({"campaign_id": ["C000000000001"], "rank": [1], "lab": ["L10"],
                         "account": ["hotline.editeur"], "account_kind": ["vendor"],
                         "first": [t], "last": [t + pd.Timedelta(days=2)], "n_sessions": [3],
                         "session_ids": [["s1", "s2", "s3"]], "score": [9.0], "flagged": [True],
                         "reasons": [["2 export(s) (122 records)"]], "n_flagged": [3],
                         "best_session_id": ["s1"], "activity": ["export"]})  # fmt: skip
    ex = pd.DataFrame({"session_id": ["s1", "s1", "s2", "s3", "s9"],
                       "records": [10, 20, 30, 40, 500]})  # fmt: skip
    v = campaigns_view(camp, session_scores=None, sessions=None, when=WHEN, tz="Europe/Paris",
                       exports=ex)  # fmt: skip
    assert v["rows"][0]["exports"] == "4 export(s)/extraction(s), 100 records, in its 3 session(s)"


def test_pathway_note_names_the_labs_the_share_rule_misses():
    # the demo (session 6): migration.editeur leads at 24 labs in the conclusion, its share
    # rule pathway holds 22 (L24's and L26's first-seen windows lie in 2015); by hand: 3
    # labs weighed, the pathway holds L01 and L02
    from labforensics.report.leak_tables import pathway_note

    op = {"account": "migration.editeur"}
    f = {"per_lab": [{"lab": lab, "operation": op} for lab in ("L01", "L02", "L24")],
         "pathways": [{"account": "migration.editeur", "labs": "L01 | L02"}]}  # fmt: skip
    note = pathway_note(f)
    assert note.startswith("The earlier share rule's pathways, shown for comparison")
    assert ("migration.editeur is the conclusion's leading operation at 3 lab(s) and in this "
            "rule's pathways at 2 of them; at L24 the rule's pathways do not hold it") in note  # fmt: skip
