"""Small faults of QA session 9 (item 8): 16 quarantined rows of millions read
"0.00 % of rows"; the summary said "0 flagged" (sessions) while 5 source addresses
were flagged."""

from __future__ import annotations

from pathlib import Path

from labforensics.report.field_notes import share_text
from labforensics.report.findings import summary_text


def test_a_share_that_is_not_nil_is_never_shown_nil():
    assert share_text(16, 3_000_000) == "< 0.01 %"
    assert share_text(0, 3_000_000) == "0.00 %"
    assert share_text(1, 4) == "25.00 %"
    assert share_text(2_999_999, 3_000_000) == "> 99.99 %"
    assert share_text(5, 5) == "100.00 %"


def _findings(sources: int, flagged_sources: int) -> dict:
    verdict = {"label": "Undetermined", "strength": "n/a", "stability_text": "n/a",
               "summary": "no leak"}  # fmt: skip
    counts = {"input_files": 1, "events": 10, "quarantined": 0, "sessions": 3,
              "flagged_sessions": 0, "sources": sources, "flagged_sources": flagged_sources}  # fmt: skip
    return {"verdict": verdict, "counts": counts, "findings_text": []}


def test_summary_counts_flagged_source_addresses_too():
    text = summary_text(_findings(131, 5), Path("out"))
    assert "3 sessions, 0 flagged, 131 source addresses, 5 flagged." in text
    assert "3 sessions, 0 flagged." in summary_text(_findings(0, 0), Path("out"))
