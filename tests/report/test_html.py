"""The HTML report from stand-in tables: escaping, self-containment, determinism."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from standin import (
    HOSTILE,
    MATH_HOST,
    STANDIN_ATTRIBUTION,
    standin_case,
    standin_events,
    standin_scores,
    standin_sessions,
)

from labforensics.report import ReportData, render_report
from labforensics.report import figures as figs
from labforensics.report.findings import build_findings, session_scores_table


def _findings_and_data():
    ev = standin_events()
    ss = standin_sessions(ev)
    sc = session_scores_table(standin_scores(ss))
    accounting = {"totals": {"quarantined": 1, "rows_read": len(ev) + 1}, "files": []}
    quarantine = pd.DataFrame({"source_file": ["a.csv"], "source_line": [3],
                               "reason": ["wrong width"], "raw": [HOSTILE[3]]})  # fmt: skip
    acc = pd.DataFrame([{"source_file": "TOTAL", "rows_read": len(ev) + 1, "events": len(ev),
                         "quarantined": 1}])  # fmt: skip
    f = build_findings(
        events=ev, sessions=ss, session_scores=sc, attribution=STANDIN_ATTRIBUTION,
        accounting=accounting, inputs=[{"source_file": HOSTILE[0], "size": 10, "sha256": "ab",
                                        "role": "evidence"}],
        case=standin_case(), parameters={"seed": 0}, key_fingerprint="0123456789abcdef",
        leak_patients=5300, reproduce="labforensics investigate ...",
    )  # fmt: skip
    data = ReportData(findings=f, events=ev, sessions=ss, quarantine=quarantine, accounting=acc,
                      title=standin_case().name, session_scores=sc)  # fmt: skip
    return f, data


@pytest.fixture(scope="module")
def rendered():
    f, data = _findings_and_data()
    return f, render_report(data)


def test_verdict_and_sections(rendered):
    f, html = rendered
    # the stand-in attribution says vendor: the verdict box carries that class and label
    assert f["verdict"]["class"] == "vendor"
    assert 'class="verdict vendor"' in html
    assert "95% of 20 reruns with thresholds halved or doubled agree" in html
    for sec in ("answer", "evidence", "timelines", "sessions", "leak", "hypotheses", "method"):
        assert f'<section id="{sec}">' in html


def test_hostile_text_escaped(rendered):
    _, html = rendered
    # 009: markup from the evidence shows as text, never as elements
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    # the report has no script of its own, so there is no <script element at all
    assert re.search(r"<script", html, re.I) is None
    # inside an attribute (the host tag's title), a double quote is &quot;
    assert 'title="cost $x^2$ \\$HOME"' in html
    _, data = _findings_and_data()
    data.findings["top_sessions"][0]["hosts"] = HOSTILE[2]
    assert 'title="http://h.example/?q=a&quot;b"' in render_report(data)


def test_self_contained(rendered):
    _, html = rendered
    # no external resource: every src is a data: URI, no stylesheet link, no @import / url()
    srcs = re.findall(r'\ssrc="([^"]*)"', html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "http://" not in html.replace("http://h.example", "").replace("http://x.example", "")


def test_times_local_with_utc(rendered):
    _, html = rendered
    # 2019-04-20 01:00 UTC is 03:00 CEST in Paris (summer time, UTC+2)
    assert "2019-04-20 03:00:00 CEST (01:00:00 UTC)" in html


def test_render_is_deterministic():
    # same tables give the same HTML bytes (PNG metadata without Software, fixed fonts)
    _, d1 = _findings_and_data()
    _, d2 = _findings_and_data()
    assert render_report(d1) == render_report(d2)


def test_figure_title_literal():
    # a workstation named with $...$ is drawn as text: no mathtext, no exception
    ev = standin_events()
    rows = ev[ev["session_id"] == "SHOSTILE"]
    fig = figs.session_timeline(rows, title=f"L01 @ {MATH_HOST}")
    title = fig.axes[0].get_title(loc="left")
    assert title == MATH_HOST.join(["L01 @ ", ""])
    assert fig.axes[0].title._parse_math is False or fig.axes[0]._left_title._parse_math is False
    png = figs.png_bytes(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Software" not in png[:200]


def test_png_bytes_stable():
    # the same figure twice gives identical bytes
    ev = standin_events()
    rows = ev[ev["session_id"] == "SHOSTILE"]
    a = figs.png_bytes(lambda: figs.session_timeline(rows, title="x"))
    b = figs.png_bytes(lambda: figs.session_timeline(rows, title="x"))
    assert a == b


def test_numbers_grouped_with_commas():
    import numpy as np

    from labforensics.report.html import _cell

    # one format everywhere: comma thousands separator, numpy ints included
    assert _cell(16014) == "16,014" and _cell(np.int64(321368)) == "321,368"
    assert _cell(np.float64(1234.5)) == "1,234.5" and _cell(True) == "yes"


def test_quarantine_capped_with_line_numbers():
    import dataclasses

    from labforensics.report.html import MAX_QUARANTINE_ROWS

    f, data = _findings_and_data()
    n_files = MAX_QUARANTINE_ROWS + 50
    files = [f"f{i:04d}.csv" for i in range(n_files)] + ["big.csv"] * 7
    lines = list(range(1, n_files + 1)) + [40, 3, 9, 12, 7, 30, 5]
    q = pd.DataFrame({"source_file": files, "source_line": lines,
                      "reason": ["wrong width"] * len(files), "raw": ["x"] * len(files)})  # fmt: skip
    html = render_report(dataclasses.replace(data, quarantine=q))
    # summarised by reason: one row of 257 rows in 251 files
    assert re.search(r"wrong width</td>\s*<td[^>]*>257</td>\s*<td[^>]*>251</td>", html)
    # big.csv: 7 rows, the first five line numbers sorted, then an ellipsis
    assert "3, 5, 7, 9, 12, …" in html
    # at most MAX_QUARANTINE_ROWS (file, reason) rows, with a note saying so
    assert f"The first {MAX_QUARANTINE_ROWS} of {n_files + 1:,} (file, reason) rows" in html
    # sorted by file: big.csv then f0000 ... f0198 listed; f0199 onwards only in the CSV
    assert "f0198.csv" in html and "f0199.csv" not in html and "f0249.csv" not in html


def test_stability_not_applicable_without_leak():
    ev = standin_events()
    ss = standin_sessions(ev)
    sc = session_scores_table(standin_scores(ss))
    f = build_findings(
        events=ev, sessions=ss, session_scores=sc, attribution=None,
        accounting={"totals": {}, "files": []}, inputs=[], case=standin_case(),
        parameters={}, key_fingerprint="0123456789abcdef", leak_patients=None,
    )  # fmt: skip
    # no leak given: reruns have nothing to agree on
    assert f["verdict"]["stability_text"] == "not applicable (no leak to attribute)"


def test_short_time_span_figure_draws_without_warning():
    # a figure over a few seconds of evidence: no AutoDateLocator warning on stderr
    import warnings

    import matplotlib.dates as mdates
    import matplotlib.figure
    import pandas as pd

    from labforensics.report.figures import png_bytes

    def make():
        fig = matplotlib.figure.Figure()
        ax = fig.add_subplot()
        t = pd.to_datetime(["2024-06-03 08:00:00", "2024-06-03 08:00:02"]).to_pydatetime()
        ax.plot(t, [1, 2])
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=3))
        return fig

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert png_bytes(make).startswith(b"\x89PNG")
