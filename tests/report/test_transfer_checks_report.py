"""The transfer log's consistency notes reach the report and the limits (QA session 21:
the clock and size notes were in ``findings.json``'s attribution notes only, filtered
out of report.html's section 5 and absent from the limits)."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import pytest

from labforensics.attribution.transfer_clock import CLOCK_MARK
from labforensics.case import CaseContext
from labforensics.pipeline import investigate
from labforensics.privacy import CaseKey

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "vendor-migration"


def _run(tmp_path, name, **case):
    key = tmp_path / "case.key"
    if not key.exists():
        CaseKey(bytes(range(32))).write(key)
    ctx = dataclasses.replace(CaseContext.from_file(FIXTURE / "case.toml"), key_file=key, **case)
    return investigate(None, tmp_path / name, case=ctx, progress=False)


def _text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tz")
    # the server's log read nine hours east of the truth: every upload 7-8 h before
    # the export that wrote its file
    return _run(tmp, "tokyo", transfers_tz="Asia/Tokyo"), _run(tmp, "paris")


def test_a_log_read_in_the_wrong_zone_is_said_in_the_limits_and_the_report(runs):
    tokyo, paris = runs
    limits = [x for x in tokyo.findings["limits"] if CLOCK_MARK in x]
    assert len(limits) == 1 and "most uploads are" in limits[0]
    assert "read in Asia/Tokyo: check the case file's [case] transfers_tz" in limits[0]
    text = " ".join(_text(tokyo.report).split())
    assert text.count(CLOCK_MARK) >= 2  # section 5's transfer notes and the limits
    # read in its own zone: no such note anywhere
    assert not [x for x in paris.findings["limits"] if CLOCK_MARK in x]
    assert CLOCK_MARK not in _text(paris.report)


def test_findings_name_the_transfer_logs_zone_when_given(runs):
    tokyo, paris = runs
    assert tokyo.findings["case"]["transfers_tz"] == "Asia/Tokyo"
    assert "transfers_tz" not in paris.findings["case"]  # not given: the case's tz
