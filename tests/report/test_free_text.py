"""A huge free-text field is shown cut, with the count left out; the tables keep it whole
(fresh-eyes QA, session 4: a 10 MB field was copied whole into report.html)."""

from __future__ import annotations

import pandas as pd
from standin import (
    STANDIN_ATTRIBUTION,
    standin_case,
    standin_events,
    standin_scores,
    standin_sessions,
)

from labforensics.report import ReportData, render_report
from labforensics.report.findings import build_findings, session_scores_table
from labforensics.report.html import MAX_TEXT_CHARS, clip_text

BIG = 10_000_000  # 10 MB of free text in one field, as the QA tried


def _render(ev: pd.DataFrame, quarantine: pd.DataFrame | None = None) -> str:
    ss = standin_sessions(ev)
    sc = session_scores_table(standin_scores(ss))
    q = quarantine if quarantine is not None else pd.DataFrame(
        columns=["source_file", "source_line", "reason", "raw"])  # fmt: skip
    f = build_findings(
        events=ev, sessions=ss, session_scores=sc, attribution=STANDIN_ATTRIBUTION,
        accounting={"totals": {}, "files": []}, inputs=[], case=standin_case(),
        parameters={"seed": 0}, key_fingerprint="0123456789abcdef", reproduce="x",
    )  # fmt: skip
    acc = pd.DataFrame([{"source_file": "TOTAL", "rows_read": len(ev), "events": len(ev)}])
    data = ReportData(findings=f, events=ev, sessions=ss, quarantine=q, accounting=acc,
                      session_scores=sc)  # fmt: skip
    return render_report(data)


def test_clip_text_states_what_was_left_out():
    # 1,500 characters -> the first 1,000 and "500 characters left out"; short text unchanged
    text = "x" * (MAX_TEXT_CHARS + 500)
    assert clip_text(text) == "x" * MAX_TEXT_CHARS + " … [500 characters left out]"
    assert clip_text("short") == "short"
    assert clip_text(12) == 12


def test_ten_megabyte_detail_is_cut_in_the_report():
    # the flagged session's evidence rows show the field: cut at MAX_TEXT_CHARS, and the
    # count of characters left out is BIG - MAX_TEXT_CHARS (9,999,000), written with commas
    ev = standin_events()
    hostile = ev.index[ev["session_id"] == "SHOSTILE"][0]
    ev["detail"] = ev["detail"].astype("string")
    ev.loc[hostile, "detail"] = "A" * BIG
    html = _render(ev)
    assert len(html) < 2_000_000  # the report without the field is ~0.5 MB of figures
    assert "A" * MAX_TEXT_CHARS + " … [9,999,000 characters left out]" in html
    assert "A" * (MAX_TEXT_CHARS + 1) not in html


def test_huge_quarantined_raw_is_cut():
    # a quarantined row's raw text is shown in "First rows": cut the same way
    ev = standin_events()
    q = pd.DataFrame({"source_file": ["a.csv"], "source_line": [3], "reason": ["wrong width"],
                      "raw": ["B" * 5000]})  # fmt: skip
    html = _render(ev, q)
    assert "B" * MAX_TEXT_CHARS + " … [4,000 characters left out]" in html
    assert "B" * (MAX_TEXT_CHARS + 1) not in html


def test_parameters_and_commands_are_never_cut():
    # the package's own long texts (the parameters, the command) stay whole
    ev = standin_events()
    html = _render(ev)
    assert "characters left out" not in html


def test_investigate_keeps_the_field_whole_in_parquet_and_cuts_it_in_the_report(tmp_path):
    # the hostile case's weekly export comments made 50,000 characters long: events.parquet
    # keeps each whole; report.html shows 1,000 of them and says 49,000 were left out
    import labforensics as lf
    from hostile import write_hostile_case

    p = write_hostile_case(tmp_path / "case", days=3)
    long = "X" * 50_000
    for f in p["evidence"].glob("*.csv"):
        f.write_bytes(f.read_bytes().replace(b"export hebdo", long.encode()))
    res = lf.investigate(p["evidence"], tmp_path / "out", leak=p["leak"], progress=False)
    ev = pd.read_parquet(res.out / "events.parquet")
    kept = ev["detail"].dropna()
    assert (kept.str.len() == 50_000).sum() == 9  # 3 days x 3 technicians' exports
    html = (res.out / "report.html").read_text(encoding="utf-8")
    assert "X" * MAX_TEXT_CHARS + " … [49,000 characters left out]" in html
    assert "X" * (MAX_TEXT_CHARS + 1) not in html  # no field copied whole
