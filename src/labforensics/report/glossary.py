"""The report's glossary: each term the report uses, in words, and its HTML anchor.

Linked from the first screen's answers (:data:`labforensics.report.summary.ROW_TERMS`)
and printed in full at the report's end.
"""

from __future__ import annotations

import re

__all__ = ["GLOSSARY", "glossary_anchor"]


def glossary_anchor(term: str) -> str:
    """The HTML id of a glossary entry (``g-`` and the term's letters and digits)."""
    return "g-" + "-".join(re.findall(r"[^\W_]+", term.lower()))


GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "account",
        "a login name of the laboratory information system (LIS). Its kind: staff "
        "(laboratory personnel), vendor (the LIS editor's support and extraction accounts), "
        "service (interfaces and night jobs), or shared (one login used by several people, "
        "such as a hotline account).",
    ),
    (
        "event",
        "one line of an audit log turned into one row: who did what, when, from which "
        "workstation and address, on which patient (pseudonymised).",
    ),
    (
        "session",
        "the events of one account at one lab from a login to a logout; without a "
        "logout, the session ends when nothing more happens for longer than the idle timeout.",
    ),
    (
        "idle timeout",
        "the longest pause allowed inside one session (30 minutes unless the "
        "case file says otherwise); a longer pause starts a new session.",
    ),
    (
        "export",
        "an operation that writes patient records out of the LIS for a user (a list, "
        "a spreadsheet); the log gives its number of records.",
    ),
    (
        "extraction",
        "a bulk copy of the database by the vendor's extraction tool, usually at "
        "night; the log gives its number of records and the file it wrote.",
    ),
    ("records", "rows sent out by an export or extraction; one patient can have several."),
    (
        "flagged",
        "a session whose anomaly score is high enough to be looked at by a person; "
        "flagged is not guilty.",
    ),
    (
        "anomaly score",
        "how unusual a session is against the account's own history and its "
        "peers (same role), combining rules and statistical detectors; higher is more unusual.",
    ),
    (
        "robust standard deviation",
        "a measure of spread that a few extreme values do not "
        "distort (1.4826 times the median absolute deviation).",
    ),
    (
        "campaign",
        "sessions grouped because they look alike (same account or source, close in "
        "time, same kind of operation): one incident seen through many sessions.",
    ),
    (
        "pathway",
        "the operations of one account, across labs, that could have produced a copy of "
        "patient records: with a leak, of the leaked patients (how the data could have "
        "left); without one, of the patients they touched.",
    ),
    (
        "exfiltration window",
        "the period in which a lab's copy was taken, bounded from the "
        "patients in the leak: 'after' is the earliest time (patients in the copy had been seen "
        "by then), 'before' the latest (patients seen later are missing from it); an operation "
        "fits the window when it falls between the two.",
    ),
    (
        "coverage",
        "how much of the leak the logs can speak about: leaked patients linked to a "
        "lab, of those the ones the lab's logs cover, of those the ones a logged operation "
        "could have produced.",
    ),
    (
        "likelihood ratio",
        "how many times more probable the findings are if one proposition "
        "is true than if the alternative is; 1 means the findings do not help decide.",
    ),
    (
        "verbal scale",
        "the words that go with a likelihood ratio (ENFSI guideline for "
        "evaluative reporting, 2015): 2-10 weak, 10-100 moderate, 100-1,000 moderately strong, "
        "1,000-10,000 strong, 10,000-1,000,000 very strong, above that extremely strong "
        "support.",
    ),
    (
        "lab-patient pair",
        "the unit the conclusion counts in: a leaked patient tied to a laboratory, counted "
        "once for each laboratory whose records hold them (a patient of two labs makes two "
        "pairs); distinct patients are counted apart.",
    ),
    (
        "labs weighed",
        "the laboratories for which the likelihood ratio is computed. A lab is left out of "
        "the weighing when too few leaked patients are tied to it alone to tell a copy of its "
        "records from false matches of the record linkage; its pairs are counted apart.",
    ),
    (
        "patients of a lab",
        "counted on one of three bases, each named where it is used: the patients in the "
        "lab's index (its patient register, whatever the logs show), the "
        "patients seen in the lab's logs (with at least one logged event over the whole "
        "period of the logs), and the patients seen so far (seen in the logs before a given "
        "session: the base of a session's share of records over patients). For one lab they "
        "usually decrease in that order.",
    ),
    (
        "account takeover",
        "a login to an account by someone other than its holder (credential compromise), "
        "here a successful login from an address right after a burst of failed logins from "
        "it (a guessed password); what follows is done under the holder's name.",
    ),
    (
        "campaign rank",
        "the place of a campaign when all campaigns are sorted by anomaly score, highest "
        "first: no. 1 is the most unusual.",
    ),
    (
        "false-match rate",
        "the estimated share of the leak file's rows tied to a patient although the "
        "person is in no laboratory's index (record linkage error).",
    ),
    (
        "quarantine",
        "input rows that could not become events (cut short, wrong number of "
        "fields, a date that does not exist); kept aside with their reason and line number in "
        "quarantine.csv, never silently dropped.",
    ),
    (
        "pseudonym",
        "a keyed code (P followed by 16 hexadecimal digits) standing for a "
        "patient; only the holder of the case key can map it back to the patient "
        "(labforensics reidentify).",
    ),
    (
        "share capped at 100 %",
        "a share of records over patients seen so far can exceed "
        "100 % (more records than patients, or patients registered before the logs begin); "
        "it is shown as 100 % with the count beside.",
    ),
)

_GLOSSARY_TERMS = frozenset(t for t, _ in GLOSSARY)
