"""A flagged session that sent nothing out says so in the findings' text (fresh-eyes QA,
session 22: a snooping sitting was headlined "0 records sent out")."""

from __future__ import annotations

from labforensics.report.findings import _findings_text


def _f(recs_exported, recs_extracted):
    s = {"flagged": True, "account": "bio.b", "account_kind": "staff", "lab": "L01",
         "start": "2021-01-05T09:00:00Z", "records_exported": recs_exported,
         "records_extracted": recs_extracted, "score": 12.0, "reasons": []}  # fmt: skip
    return {
        "top_sessions": [s],
        "top_sources": [],
        "counts": {"flagged_sources": 0, "quarantined": 0},
    }


def test_reads_only_say_nothing_sent_out():
    text = _findings_text(_f(None, 0), "UTC")[0]
    assert ": nothing sent out, score 12.00" in text and "0 records" not in text


def test_exports_give_their_records():
    assert ": 1,250 records sent out, score 12.00" in _findings_text(_f(1000, 250), "UTC")[0]
