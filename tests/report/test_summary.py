"""The first screen (issue 16 item 1): who, what, when, how it left, how sure, what else,
from findings.json alone (and its ``conclusion`` when the conclusion stage wrote one)."""

from __future__ import annotations

from labforensics.report.html import make_formatter
from labforensics.report.summary import GLOSSARY, summary_view

WHEN = make_formatter("Europe/Paris")


def _findings(**extra):
    f = {
        "verdict": {"verdict": "vendor", "strength": "strong", "stability_text": "93% agree"},
        "leak": {"given": True, "patients": 450, "found": 111},
        "pathways": [
            {"pathway_id": "PW001", "hypothesis": "vendor", "account": "migration.editeur",
             "account_kind": "vendor", "role": "EDITEUR", "labs": "L01 | L02", "n_sessions": 2,
             "module": "EXTRACTION", "network": "vendor", "leaked_explained": 111},
            {"pathway_id": "PW002", "hypothesis": "insider", "account": "marie.a",
             "account_kind": "staff", "labs": "L02", "n_sessions": 1, "leaked_explained": 0},
        ],
        "coverage": [
            {"lab": "L01", "leaked_found": 34, "n_patients": 44, "explained": 34},
            {"lab": "L02", "leaked_found": 77, "n_patients": 80, "explained": 77},
        ],
        "windows": [{"lab": "L01", "after": "2019-09-10T05:03:39Z",
                     "before": "2019-11-30T06:42:13Z", "confidence": "medium"},
                    {"lab": "L02", "after": None, "before": None, "confidence": "none"}],
        "transfers": [
            {"direction": "upload", "user": "migration.editeur", "outside": False},
            {"direction": "download", "user": "anonymous", "anonymous": True, "outside": True,
             "remote_host": "198.51.100.23"},
        ],
        "transfers_given": True,
        "top_sessions": [
            {"session_id": "a", "flagged": True, "account": "migration.editeur", "lab": "L01",
             "account_kind": "vendor"},
            {"session_id": "b", "flagged": True, "account": "hotline", "lab": "L03",
             "account_kind": "shared"},
            {"session_id": "c", "flagged": True, "account": "paul.t", "lab": "L03",
             "account_kind": "staff"},
        ],
        "counts": {"flagged_sessions": 3, "flagged_sources": 2, "quarantined": 7},
        "gaps": [{"lab": "L01"}],
        "accounting": {},
    }  # fmt: skip
    f.update(extra)
    return f


def test_first_screen_answers_every_question():
    got = summary_view(_findings(), WHEN)
    ans = {r["question"]: r["answer"] for r in got["rows"]}
    # how sure: the leading hypothesis in words, its strength, and the coverage 111/450 = 25 %
    assert ans["How sure"].startswith("Leading hypothesis: the LIS vendor")
    assert "111 of the 450 leaked patients (24.7 %) are found in the logs" in ans["How sure"]
    # who: the account of the leading pathway (not the insider pathway explaining nothing)
    assert ans["Who"] == ("migration.editeur (vendor account, role EDITEUR): 2 session(s) at "
                          "L01, L02 through EXTRACTION from the vendor network.")  # fmt: skip
    assert "marie.a" not in ans["Who"]
    # what: labs by leaked patients found, largest first; 111 of 111 explained
    assert ans["What"] == ("450 leaked patients; 111 found in the logs of 2 lab(s): L02 (77 of "
                           "its 80 patients seen), L01 (34 of its 44 patients seen); 111 of "
                           "them (100.0 %) reached by the operations above.")  # fmt: skip
    # when: local time with UTC; a lab without bounds says so, with no "none confidence"
    assert (
        "L01: after 2019-09-10 07:03 CEST (05:03 UTC) and before 2019-11-30 07:42 CET"
        in (ans["When"])
    )
    assert "L02: not established" in ans["When"] and "none confidence" not in ans["When"]
    # how it left: put on the server by the account, fetched anonymously from outside
    assert ans["How it left"] == ("1 extraction file(s) put on the FTP server by "
                                  "migration.editeur; 1 download(s) of them: 1 through "
                                  "anonymous FTP logins (no account: the logs do not identify "
                                  "who fetched them; the e-mail address given as password is "
                                  "redacted); 1 of them from outside address(es) "
                                  "198.51.100.23.")  # fmt: skip


def test_what_else_without_campaigns_groups_flagged_sessions():
    got = summary_view(_findings(), WHEN)
    others = {o["href"]: o["text"] for o in got["others"]}
    # the two flagged sessions outside the vendor pathway, grouped by lab and kind
    assert others["#sessions"] == ("2 other flagged session(s) of the 3 flagged in all (1 at L03 "
                                   "by shared accounts; 1 at L03 by staff accounts)")  # fmt: skip
    assert others["#sources"].startswith("2 source address(es) with bursts of failed logins")
    assert others["#quarantine"].startswith("7 input row(s) quarantined")
    assert others["#gaps"] == "1 run(s) of days without any logged event"


CAMPAIGNS = {
    "count": 40, "flagged": 3, "flagged_sessions": 5,
    "top": [
        {"rank": 1, "flagged": True, "best_session_id": "a", "activity": "export",
         "account": "migration.editeur", "lab": "L01"},
        {"rank": 2, "flagged": True, "best_session_id": "b", "activity": "export",
         "account": "hotline", "lab": "L03"},
        {"rank": 3, "flagged": True, "best_session_id": "c", "activity": "patient_reading",
         "account": "paul.t", "lab": "L03"},
        {"rank": 4, "flagged": True, "best_session_id": "e", "activity": "export",
         "account": "migration.editeur", "lab": "L02"},
        {"rank": 5, "flagged": False, "best_session_id": "d", "activity": "patient_reading",
         "account": "anne.b", "lab": "L01"},
    ],
}  # fmt: skip


def test_what_else_one_line_per_kind_of_campaign_and_export():
    ex = {"register": True, "operations": 12,
          "by_status": {"authorised": 8, "beyond": 1, "unregistered": 3, "undetermined": 0,
                        "unknown": 0}}  # fmt: skip
    per_lab = [{"lab": "L02", "operation": {"account": "migration.editeur"}}]
    got = summary_view(_findings(campaigns=CAMPAIGNS, exports=ex, per_lab=per_lab), WHEN)
    texts = [o["text"] for o in got["others"]]
    # the leading story's campaigns (session "a" is the vendor pathway's; migration.editeur
    # at L02 is the conclusion's leading operation there) are not repeated;
    # one line per activity class, in rank order; the unflagged campaign is left out
    # the leading story's ranks (1: its pathway's session, 4: its operation) are said to
    # be the operations above, not silently skipped (session 6, second reader)
    assert texts[0] == ("campaign(s) no. 1, 4: the leading operations above "
                        "(migration.editeur, exports or extractions)")  # fmt: skip
    assert texts[1:4] == [
        "1 flagged campaign(s) of exports or extractions, most suspicious first (no. = rank "
        "of all campaigns by anomaly score; a flag is a lead to examine, not a finding: the "
        "scores say how strong)",
        "1 flagged campaign(s) of patient reading, most suspicious first (no. = rank of all "
        "campaigns by anomaly score; a flag is a lead to examine, not a finding: the scores "
        "say how strong)",
        "3 flagged campaign(s) in all, 5 flagged session(s)",
    ]
    assert [[i["text"] for i in o["links"]] for o in got["others"][1:3]] == [
        ["no. 2: hotline at L03"], ["no. 3: paul.t at L03"]]  # fmt: skip
    assert "#sessions" not in {o["href"] for o in got["others"]}  # said by the campaigns
    # exports needing a look, by status; authorised ones are not listed
    assert texts[4:6] == ["1 export(s)/extraction(s) beyond their authorisation",
                          "3 export(s)/extraction(s) by an account the authorisation register "
                          "does not name for that work at that lab"]  # fmt: skip


def test_exports_without_register_say_so():
    ex = {"register": False, "operations": 12, "by_status": {"unknown": 12}}
    texts = [o["text"] for o in summary_view(_findings(exports=ex), WHEN)["others"]]
    assert ("12 export(s) and extraction(s), none checked against an authorisation register "
            "(none was given)") in texts  # fmt: skip


def test_conclusion_used_when_present():
    c = {"proposition": "vendor", "log10_lr": 3.2, "verbal": "strong",
         "alternative": "outside_evidence",
         "coverage": {"total": 450, "producible": 95, "not_in_evidence": 300, "not_weighed": 40,
                      "unplaced": 15}}  # fmt: skip
    per_lab = [
        {"lab": "L01", "coverage": {"linked": 150, "producible": 60},
         "window": {"after": "2019-09-10T05:03:39Z", "before": "2019-09-11T06:42:13Z"},
         "operation": {"account": "migration.editeur", "hypothesis": "vendor",
                       "network": "vendor", "records": 1440, "time": "2019-09-10T23:35:56Z"}},
        {"lab": "L02", "coverage": {"linked": 300, "producible": 35}, "window": {}},
    ]  # fmt: skip
    got = summary_view(_findings(conclusion=c, per_lab=per_lab), WHEN)
    ans = {r["question"]: r["answer"] for r in got["rows"]}
    # the conclusion's scale and its own coverage (rows): 95 / 450 = 21.1 %; 40 + 15 = 55;
    # 10**3.2 = 1,584.9, said to 3 significant figures rounded half-even (1,580; a figure
    # that would reach a band's lower bound gets more); the unit (lab-patient pairs) named
    assert ans["How sure"] == (
        "Copied through the LIS vendor (its extraction tool or accounts) (strong support on the "
        "verbal scale of the European forensic institutes (ENFSI, 2015): the findings are "
        "1,580 times more probable under this proposition than under the alternative, a copy "
        "outside the logged evidence (made by no logged operation) (likelihood ratio, "
        "log10 3.20)). Coverage, in lab-patient pairs "
        "(a leaked patient counted once for each lab whose records hold them): of the 450 "
        "pairs, 95 (21.1 %) could have been produced by a logged operation, 300 are of "
        "patients neither in the lab's logs nor dated in its patient index, 55 are of labs "
        "left out of the weighing (too few patients of their own to tell a copy from false "
        "matches) or of no lab."
    )
    assert "share rule" not in ans["How sure"]
    # the scale's "no support" is not followed by a second "support"; the copy outside
    # the logs leading reads as a means the logs do not record
    c2 = {**c, "verbal": "no support", "log10_lr": 0.17}
    got2 = summary_view(_findings(conclusion=c2, per_lab=per_lab), WHEN)
    how = {r["question"]: r["answer"] for r in got2["rows"]}["How sure"]
    assert "(no support on the verbal scale of the European forensic institutes" in how
    assert "are 1.48 times more probable" in how  # 10**0.17 = 1.479, rounded (session 9)
    c3 = {**c, "proposition": "outside_evidence", "alternative": "vendor"}
    got3 = summary_view(_findings(conclusion=c3, per_lab=per_lab), WHEN)
    how3 = {r["question"]: r["answer"] for r in got3["rows"]}["How sure"]
    assert how3.startswith("Copied by a means the logs do not record (strong support")
    assert "than under the alternative, the LIS vendor" in how3
    # who: the conclusion's leading operation, not the share rule's pathway
    assert ans["Who"] == ("migration.editeur (the LIS vendor (its extraction tool or accounts)): "
                          "the leading operation at 1 lab(s), L01 from the vendor network; at "
                          "L01: 1,440 records at 2019-09-11 01:35 CEST (2019-09-10 23:35 UTC).")  # fmt: skip
    # what: distinct patients, then the pairs of every lab weighed, named: 150 + 300 = 450
    # pairs, 60 + 35 = 95 producible (each lab's count is in the Conclusion's table)
    assert ans["What"] == (
        "450 distinct patients in the leak, 111 of them found in the logs. In lab-patient pairs "
        "(a patient of two labs counts at each) the leak holds 450: 450 of the 2 lab(s) weighed "
        "(L01, L02), 95 of them could have been produced by a logged operation (each lab's in "
        "the Conclusion)."
    )
    # when: the conclusion's window (a lab without one is left out)
    assert ans["When"] == ("The copy was taken L01: after 2019-09-10 07:03 CEST (05:03 UTC) and "
                           "before 2019-09-11 08:42 CEST (06:42 UTC).")  # fmt: skip


def test_no_leak_names_no_hypothesis():
    f = _findings(verdict={"verdict": "undetermined"}, leak={"given": False}, pathways=[],
                  windows=[], transfers=[], transfers_given=False)  # fmt: skip
    ans = {r["question"]: r["answer"] for r in summary_view(f, WHEN)["rows"]}
    assert ans["How sure"] == "Undetermined: no leak was given."
    assert ans["What"] == "No leak was given: nothing to reconcile."
    assert ans["How it left"] == "No transfer log was given: how the files left is not shown."


def test_glossary_covers_the_terms_of_the_report():
    terms = {t for t, _ in GLOSSARY}
    assert {"session", "idle timeout", "account", "event", "export", "extraction", "campaign",
            "exfiltration window", "likelihood ratio", "verbal scale", "false-match rate",
            "quarantine", "pseudonym"} <= terms  # fmt: skip


def test_what_else_gives_each_campaigns_score_and_the_records_of_each_status():
    # third reader (session 6): weak flags (score 6-8) sat beside strong ones with nothing
    # to tell them apart, and the unregistered exports' records were not given
    camps = {**CAMPAIGNS, "top": [dict(t) for t in CAMPAIGNS["top"]]}
    camps["top"][1]["score"] = 18.598334  # hotline, rank 2
    camps["top"][2]["score"] = 6.0  # paul.t, rank 3
    ex = {"register": True, "operations": 12, "beyond": [],
          "by_status": {"authorised": 8, "beyond": 1, "unregistered": 3},
          "records_by_status": {"authorised": 900, "beyond": 120, "unregistered": 2624}}  # fmt: skip
    got = summary_view(_findings(campaigns=camps, exports=ex), WHEN)
    links = [i["text"] for o in got["others"] for i in o.get("links") or []]
    # two decimals, as every score of the report and the command (QA session 10)
    assert "no. 2: hotline at L03 (score 18.60)" in links
    assert "no. 3: paul.t at L03 (score 6.00)" in links
    texts = [o["text"] for o in got["others"]]
    assert "1 export(s)/extraction(s) beyond their authorisation, 120 records in all" in texts
    assert any(t.startswith("3 export(s)/extraction(s) by an account the authorisation "
                            "register does not name for that work at that lab, 2,624 records "
                            "in all") for t in texts)  # fmt: skip
