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
    assert "111 of the 450 leaked patients (25 %) are found in the logs" in ans["How sure"]
    # who: the account of the leading pathway (not the insider pathway explaining nothing)
    assert ans["Who"] == ("migration.editeur (vendor account, role EDITEUR): 2 session(s) at "
                          "L01, L02 through EXTRACTION from the vendor network.")  # fmt: skip
    assert "marie.a" not in ans["Who"]
    # what: labs by leaked patients found, largest first; 111 of 111 explained
    assert ans["What"] == ("450 leaked patients; 111 found in the logs of 2 lab(s): L02 (77 of "
                           "its 80 patients seen), L01 (34 of its 44 patients seen); 111 of "
                           "them (100 %) reached by the operations above.")  # fmt: skip
    # when: local time with UTC; a lab without bounds says so, with no "none confidence"
    assert (
        "L01: after 2019-09-10 07:03 CEST (05:03 UTC) and before 2019-11-30 07:42 CET"
        in (ans["When"])
    )
    assert "L02: not established" in ans["When"] and "none confidence" not in ans["When"]
    # how it left: put on the server by the account, fetched anonymously from outside
    assert ans["How it left"] == ("1 extraction file(s) put on the FTP server by "
                                  "migration.editeur; 1 fetched from it by anonymous, 1 of "
                                  "them from outside address(es) 198.51.100.23 "
                                  "(1 anonymously).")  # fmt: skip


def test_what_else_lists_every_other_incident_with_its_section():
    got = summary_view(_findings(campaigns=[{"id": 1}, {"id": 2}]), WHEN)
    others = {o["href"]: o["text"] for o in got["others"]}
    # the two flagged sessions outside the vendor pathway, grouped by lab and kind
    assert others["#sessions"] == ("2 other flagged session(s) of the 3 flagged in all (1 at L03 "
                                   "by shared accounts; 1 at L03 by staff accounts)")  # fmt: skip
    assert others["#campaigns"] == "2 campaign(s) of grouped sessions"
    assert others["#sources"].startswith("2 source address(es) with bursts of failed logins")
    assert others["#quarantine"].startswith("7 input row(s) quarantined")
    assert others["#gaps"] == "1 run(s) of days without any logged event"


def test_conclusion_used_when_present():
    c = {"proposition": "vendor", "log10_lr": 3.2, "verbal": "strong"}
    got = summary_view(_findings(conclusion=c), WHEN)
    how = got["rows"][0]["answer"]
    # the conclusion stage's scale replaces the share rule
    assert how.startswith("Copied through the LIS vendor (its extraction tool or accounts) "
                          "(strong support), likelihood ratio 10^3.2 against the best "
                          "alternative")  # fmt: skip
    assert "share rule" not in how


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
