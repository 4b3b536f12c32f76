"""Numbers, lists and dates as a reader reads them in report.html (QA, session 8): counts
with thousands separators, lists joined (never Python's ``['a', 'b']``), the period the
logs cover in the case's local dates with the time zone named."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import labforensics as lf
from labforensics.attribution.params import AttributionParams
from labforensics.attribution.propositions import _gap_text, _listed
from labforensics.report.findings import _limits
from labforensics.report.html import _environment, as_printed
from labforensics.validation import limits_lines

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "damaged-files"


def test_as_printed():
    assert as_printed(1200) == "1,200" and as_printed(pd.Series([7_654_321]).iloc[0]) == "7,654,321"
    assert as_printed(True) is True and as_printed(0.5) == 0.5 and as_printed("1200") == "1200"
    assert as_printed(["a", "b"]) == "a, b" and as_printed((1200, None)) == "1,200, —"


def test_template_prints_counts_and_lists_for_a_reader():
    env = _environment()
    got = env.from_string("{{ n }} | {{ xs }} | {{ xs | length }} | {{ ok }}").render(
        n=1200, xs=["a<b", "c"] * 600, ok=True
    )
    assert got.startswith("1,200 | a&lt;b, c, a&lt;b") and got.endswith(" | 1,200 | True")
    assert "['" not in got


def test_logs_cover_in_local_dates_with_the_zone_named():
    period = {"start": "2019-08-31T22:30:00Z", "end": "2019-11-30T10:00:00Z"}
    local = [t for t in _limits({}, (10, 2), {}, [], period, tz="Europe/Paris")
             if t.startswith("logs cover")]  # fmt: skip
    # 22:30 UTC on 31 August is 1 September in Paris: the local date, said to be local
    # 1 September to 30 November: 30 + 31 + 30 = 91 days, x 2 labs
    assert local == ["logs cover 2019-09-01 to 2019-11-30 (local dates, Europe/Paris): 91 "
                     "day(s) x 2 lab(s) = 182 lab-days, every one with events (no gap between "
                     "a lab's days with logs, a lone Sunday without events aside; each lab's "
                     "logs span the whole period)"]  # fmt: skip
    utc = [t for t in _limits({}, (10, 2), {}, [], period) if t.startswith("logs cover")]
    assert utc[0].startswith("logs cover 2019-08-31 to 2019-11-30 (UTC dates): ")


def test_validation_counts_grouped():
    data = {"format_version": 1, "sections": {"attribution_calibration": {
        "measured_on": "synthetic", "variants": ["a"], "seeds": [0], "size": "small",
        "package_version": "0", "values": {"cases": 1500, "cases_failed": 0, "overall": {
            "misleading": 17, "false_propositions": 1200, "rate_misleading": 0.014,
            "true_below_1": 3, "true_propositions": 1500}}}}}  # fmt: skip
    (line,) = limits_lines(data, "d")
    assert "17 of 1,200 false propositions (1.4 %)" in line
    assert "3 of 1,500; over 1,500 cases (0 failed)" in line


def test_attribution_sentences_group_counts_and_join_names():
    assert _listed(["a", "b"]) == "a, b"
    assert _listed([str(i) for i in range(12)], 10) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more"
    u = {"lab": "L01", "unexplained": 1234, "leaked": 321368,
         "largest_nonroutine_near_window": 5000, "routine_holding": []}  # fmt: skip
    assert _gap_text(u, AttributionParams()).startswith(
        "L01: 1,234 of 321,368 leaked patients unexplained (largest non-routine "
    ) and _gap_text(u, AttributionParams()).endswith("window: 5,000 records)")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("style", "script", "pre", "code")

    def handle_endtag(self, tag):
        self.skip -= tag in ("style", "script", "pre", "code")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


@pytest.fixture(scope="module")
def report_text(tmp_path_factory):
    case = lf.CaseContext.from_file(FIXTURE / "case.toml")
    out = tmp_path_factory.mktemp("numbers") / "out"
    lf.investigate(None, out, case=case, progress=False)
    p = _Text()
    p.feed((out / "report.html").read_text(encoding="utf-8"))
    return " ".join(p.parts)


def test_fixture_report_has_no_list_repr_and_labels_its_dates(report_text):
    # section 6's downloads: the files and addresses joined, not a Python list
    assert not re.search(r"\[\s*'", report_text)
    assert "exported file(s) L01_export_20190920.csv, L02_export_20191110.csv" in report_text
    assert "logs cover 2019-09-01 to 2019-11-30 (local dates, Europe/Paris)" in report_text
    assert "false propositions" in report_text
    assert not re.search(r"\b\d{4,} false propositions", report_text)
