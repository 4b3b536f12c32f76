"""The report names a lab's accounts that differ only by case (QA session 12)."""

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


def _html(accounting):
    ev = standin_events()
    ss = standin_sessions(ev)
    sc = session_scores_table(standin_scores(ss))
    f = build_findings(
        events=ev, sessions=ss, session_scores=sc, attribution=STANDIN_ATTRIBUTION,
        accounting=accounting, inputs=[], case=standin_case(),
        parameters={"seed": 0}, key_fingerprint="0123456789abcdef", reproduce="x",
    )  # fmt: skip
    acc = pd.DataFrame([{"source_file": "TOTAL"}])
    q = pd.DataFrame(columns=["source_file", "source_line", "reason", "raw"])
    data = ReportData(findings=f, events=ev, sessions=ss, quarantine=q, accounting=acc,
                      session_scores=sc)  # fmt: skip
    return render_report(data)


def test_report_names_case_variant_groups():
    groups = [{"lab": "L07", "accounts": ["Jdupont", "jdupont\u200b"], "events": [1, 12]}]
    html = _html({"totals": {}, "files": [], "case_variant_accounts": groups})
    i = html.index('id="case-variant-accounts"')
    sec = html[i : html.index("</p>", i)]
    assert "<b>Accounts that differ only by case</b> (1 group(s);" in sec
    # the zero-width space is shown (an identity as the report prints it), counts pluralised
    assert "L07: Jdupont (1 event) / jdupont\\u200b (12 events)." in sec
    assert 'id="case-variant-accounts"' not in _html({"totals": {}, "files": []})
