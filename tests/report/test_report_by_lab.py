"""The whole-case outputs from the events held lab by lab (issue 17): ``findings.json``,
``report.html`` and the source addresses built from a :class:`CaseEvents` whose labs are
pickled files equal those built from the whole event table, byte for byte."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labforensics as lf
from labforensics import pipeline, schema
from labforensics.case_events import CaseEvents
from labforensics.detect.sources import score_sources
from labforensics.outputs import write_json
from labforensics.report import render_report, tables
from labforensics.report.findings import build_findings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module", params=["outside-attacker", "vendor-migration", "insider-browsing"])
def case(request, tmp_path_factory):
    """The inputs ``investigate`` gives build_findings, the report and score_sources."""
    got: dict = {}
    real_f, real_r, real_s = pipeline.build_findings, pipeline.write_report, pipeline.score_sources

    def whole(events):  # the pipeline passes the engine's CaseEvents: kept as a table
        return events.to_frame() if isinstance(events, CaseEvents) else events

    def spy_f(**kw):
        got["findings"] = {**kw, "events": whole(kw["events"])}
        return real_f(**kw)

    def spy_r(data, path, **kw):
        got["report"] = dataclasses.replace(data, events=whole(data.events))
        return real_r(data, path, **kw)

    def spy_s(events, params=None):
        got["sources"] = (whole(events), params)
        return real_s(events, params)

    fx = FIXTURES / request.param
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "build_findings", spy_f)
        mp.setattr(pipeline, "write_report", spy_r)
        mp.setattr(pipeline, "score_sources", spy_s)
        lf.investigate(None, tmp_path_factory.mktemp("run") / "out",
                       case=lf.CaseContext.from_file(fx / "case.toml"), progress=False)  # fmt: skip
    got["name"] = request.param
    return got


def _spilled(events: pd.DataFrame, folder: Path) -> CaseEvents:
    """``events`` as a CaseEvents of pickled parts, one per lab (the engine's spill)."""
    ts = events["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    assert (np.diff(np.lexsort((events["seq"].to_numpy(), ts))) > 0).all()  # evidence order
    split = CaseEvents.from_frame(events)
    folder.mkdir(exist_ok=True)
    parts = {k: CaseEvents.spill_part(split.lab(k), folder / f"part-{i}.pkl")
             for i, k in enumerate(split.labs)}  # fmt: skip
    out = CaseEvents(parts)
    assert len(out.labs) >= 2 and all(isinstance(p, Path) for p in out._parts.values())
    return out


def _with_unnamed(events: pd.DataFrame) -> pd.DataFrame:
    """Every 7th event naming no lab (a third part, ``None``)."""
    ev = events.copy()
    ev.loc[ev.index[::7], "lab"] = pd.NA
    assert None in CaseEvents.from_frame(ev).labs
    return ev


@pytest.fixture
def whole_only(monkeypatch):
    """CaseEvents never widened whole: ``to_frame`` fails."""

    def refuse(self, columns=None):
        raise AssertionError("the whole table was asked for")

    monkeypatch.setattr(CaseEvents, "to_frame", refuse)


def _json(f: dict, path: Path) -> str:
    return write_json(f, path).read_text(encoding="utf-8")


@pytest.mark.parametrize("unnamed", [False, True], ids=["labs", "with-unnamed"])
def test_findings_json_equal(case, tmp_path, whole_only, unnamed):
    kw = dict(case["findings"])
    if unnamed:
        kw["events"] = _with_unnamed(kw["events"])
    ce = _spilled(kw["events"], tmp_path / "parts")
    want = _json(build_findings(**kw), tmp_path / "a.json")
    got = _json(build_findings(**{**kw, "events": ce}), tmp_path / "b.json")
    assert got == want
    if case["name"] == "vendor-migration" and not unnamed:
        assert '"migrations": [\n    {' in want  # the fixture's switch of dialect is compared


@pytest.mark.parametrize("unnamed", [False, True], ids=["labs", "with-unnamed"])
def test_report_html_equal(case, tmp_path, whole_only, unnamed):
    data = case["report"]
    if unnamed:
        data = dataclasses.replace(data, events=_with_unnamed(data.events))
    ce = _spilled(data.events, tmp_path / "parts")
    for top_n in (10, 1):  # with one top session, the campaigns' best sessions follow
        want = render_report(data, top_n=top_n)
        got = render_report(dataclasses.replace(data, events=ce), top_n=top_n)
        assert got == want
        assert "data:image/png;base64," in want and "<summary>Evidence rows (" in want
    if case["name"] == "insider-browsing":
        assert 'class="campaign-evidence"' in want


def test_tables_equal(case, tmp_path, whole_only):
    ev = _with_unnamed(case["findings"]["events"])
    ce = _spilled(ev, tmp_path / "parts")
    tz = "Europe/Paris"
    for period in ("M", "W"):
        pd.testing.assert_frame_equal(tables.monthly_outbound(ce, tz, period),
                                      tables.monthly_outbound(ev, tz, period))  # fmt: skip
    pd.testing.assert_frame_equal(tables.outbound_days(ce, tz), tables.outbound_days(ev, tz))
    pd.testing.assert_frame_equal(tables.monthly_coverage(ce, tz), tables.monthly_coverage(ev, tz))
    pd.testing.assert_frame_equal(tables.log_gaps(ce, tz), tables.log_gaps(ev, tz))
    pd.testing.assert_frame_equal(tables.migrations(ce), tables.migrations(ev))
    assert tables.first_events(ce) == tables.first_events(ev)
    assert tables.event_period(ce) == tables.event_period(ev)


@pytest.mark.parametrize("unnamed", [False, True], ids=["labs", "with-unnamed"])
def test_score_sources_equal(case, tmp_path, whole_only, unnamed):
    events, params = case["sources"]
    events = _with_unnamed(events) if unnamed else events
    ce = _spilled(events, tmp_path / "parts")
    want = score_sources(events, params)
    assert len(want)
    pd.testing.assert_frame_equal(score_sources(ce, params), want)


def test_score_sources_names_missing_columns(tmp_path):
    ev = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01"], utc=True), "lab": ["L01"],
                       "seq": [0]})  # fmt: skip
    with pytest.raises(lf.errors.MissingColumnsError, match="account"):
        score_sources(CaseEvents.from_frame(ev))


def test_empty_case_events():
    ev = pd.DataFrame({"ts": pd.Series([], dtype="datetime64[ns, UTC]"),
                                   "lab": pd.Series([], dtype="string"),
                                   "seq": pd.Series([], dtype="int64")})  # fmt: skip
    ce = CaseEvents.from_frame(ev)
    assert tables.log_gaps(ce).equals(tables.log_gaps(ev))
    assert tables.monthly_coverage(ce).equals(tables.monthly_coverage(ev))
    assert tables.event_period(ce) == (None, None)
    assert tables.first_events(ce) == {}


def test_outbound_of_unnamed_events_only(tmp_path):
    # the one corner a per-lab count cannot give alone: outbound events naming no lab
    ev = pd.DataFrame({
        "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:00", "2024-02-03 12:00"],
                             utc=True).as_unit("ns"),
        "lab": pd.Series(["L01", None, None], dtype=schema.STRING),
        "action": pd.Series(["read", "export", "extract"], dtype=schema.EVENT_DTYPES["action"]),
        "records": pd.Series([None, 5, 7], dtype="Int64"),
        "seq": np.arange(3, dtype="int64"),
    })  # fmt: skip
    ce = _spilled(ev, tmp_path / "parts")
    for period in ("M", "W"):
        pd.testing.assert_frame_equal(tables.monthly_outbound(ce, "UTC", period),
                                      tables.monthly_outbound(ev, "UTC", period))  # fmt: skip
