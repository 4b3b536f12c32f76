"""Control characters of the evidence in the HTML report: visible escapes (QA session 10).

``cat report.html`` (or the PDF's text) must not clear a terminal or retitle its
window; a browser shows ``\\x1b`` where the evidence had an ESC, as the command's
printout and every CSV do (:func:`labforensics._terminal.visible_value`).
"""

from __future__ import annotations

import re

import pandas as pd
from markupsafe import Markup
from test_html import _findings_and_data

from labforensics._terminal import visible_value
from labforensics.report import render_report

HOST = "pc-\x1b]0;pwn\x07"
RAW = "\x1b[2J\x1b[Hcleared"


def test_visible_value_by_hand():
    assert visible_value("evil\x1b[31mRED\x1b[0m") == "evil\\x1b[31mRED\\x1b[0m"
    assert visible_value("a\u202eb\x85c\rd") == "a\\u202eb\\x85c\\x0dd"
    assert visible_value("tab\tand\nline") == "tab\tand\nline"  # kept: structure
    got = visible_value(Markup("<b>x\x1by</b>"))
    assert isinstance(got, Markup) and str(got) == "<b>x\\x1by</b>"
    assert visible_value(-5.2) == -5.2 and visible_value(None) is None


def test_report_shows_control_characters_as_escapes():
    _, data = _findings_and_data()
    data.findings["top_sessions"][0]["hosts"] = HOST
    data.quarantine = pd.DataFrame({"source_file": ["a.csv"], "source_line": [3],
                                    "reason": ["wrong width"], "raw": [RAW]})  # fmt: skip
    html = render_report(data)
    assert "\x1b" not in html and "\x07" not in html
    assert 'title="pc-\\x1b]0;pwn\\x07"' in html  # in an attribute
    assert "\\x1b[2J\\x1b[Hcleared" in html  # in a table cell


def test_scores_one_format_in_the_report():
    # QA session 10 item 5: 52.54 beside 46.826 in one table; every score two decimals
    # (as the command prints it): 9.5 -> 9.50, -5.2 -> -5.20, 1/3 -> 0.33
    _, data = _findings_and_data()
    top = data.findings["top_sessions"]
    top[0]["score"], top[1]["score"], top[5]["score"] = 9.5, 1 / 3, -5.2
    html = render_report(data)
    assert '<span class="tag">score 9.50</span>' in html
    assert '<span class="tag">score 0.33</span>' in html
    assert '<td class="c-score">-5.20</td>' in html
    scores = re.findall(r'<td class="c-score">([^<]*)</td>', html)
    assert scores and all(re.fullmatch(r"-?\d+\.\d\d", s) for s in scores), scores
