"""Pathways in words (QA session 9, item 3): a pathway explaining no leaked patient is not
said to have produced leaked patients; a service account listed under laboratory staff by
the earlier share rule is said to be the lab's own systems where that table is shown."""

from __future__ import annotations

from labforensics.report.findings import _leak_findings_text
from labforensics.report.leak_tables import pathway_note


def _pw(account: str, kind: str, explained: int) -> dict:
    return {"pathway_id": f"PW-{account}", "account": account, "account_kind": kind,
            "hypothesis": "vendor" if kind == "vendor" else "insider", "labs": ["L02"],
            "n_sessions": 1, "leaked_explained": explained}  # fmt: skip


# the demo's five pathways: the vendor's explains 21,161 leaked patients, the others none
DEMO = [_pw("migration.editeur", "vendor", 21161), _pw("rené.m1", "staff", 0),
        _pw("marie.l1", "staff", 0), _pw("yannick.d1", "staff", 0),
        _pw("batch.nuit", "service", 0)]  # fmt: skip


def test_pathways_explaining_none_are_said_so():
    f = {"pathways": DEMO, "leak": {"given": True}}
    (line,) = [t for t in _leak_findings_text(f) if "pathway(s)" in t]
    assert line == (
        "5 pathway(s) (an account's exports or extractions, the earlier share rule's "
        "candidates) in section 5: 1 could have produced leaked patients, 4 explain none of "
        "them."
    )
    f = {"pathways": DEMO[:1], "leak": {"given": True}}
    (line,) = [t for t in _leak_findings_text(f) if "pathway(s)" in t]
    assert line.endswith("in section 5: 1 could have produced leaked patients.")
    # one pathway explaining none: "1 explains" (QA session 10, was "1 explain none")
    f = {"pathways": DEMO[:2], "leak": {"given": True}}
    (line,) = [t for t in _leak_findings_text(f) if "pathway(s)" in t]
    assert line.endswith(
        "in section 5: 1 could have produced leaked patients, 1 explains none of them."
    )


def test_a_service_account_is_named_as_the_labs_systems():
    note = pathway_note({"pathways": DEMO, "leak": {"given": True}})
    assert ("Service account(s) batch.nuit: the lab's own systems (night batch, interfaces), "
            "not a person; this rule lists them under laboratory staff") in note  # fmt: skip
    assert "Service account" not in pathway_note({"pathways": DEMO[:4]})
