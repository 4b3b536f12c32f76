"""No whole-case session table after collect when the events wait in files (issue 17).

The slim session table is kept a file a lab (:class:`labforensics.session_labs.SlimLabs`):
campaigns, attribution and the report read it lab by lab, or the few rows they show;
the campaigns too, once grouped (:class:`labforensics.detect.campaign_files.CampaignFiles`),
and the slim session scores (:class:`labforensics.scored_labs.ScoredLabs`): every
output is the same, byte for byte, as the run holding its tables in memory.
"""

from __future__ import annotations

import gc

import pandas as pd
import pytest

from labforensics import pipeline, synth
from labforensics.case import CaseContext
from labforensics.detect.campaign_files import CampaignFiles
from labforensics.session_labs import SlimLabs
from test_session_files import _assert_same_outputs, _investigate, _keyed

#: The stages after collect, at whose start the live session tables are looked for.
AFTER_COLLECT = ("sources", "campaigns", "attribution", "report")
#: Columns only a session table has (the scored sessions have none of them).
SESSION_ONLY = {"start", "end", "records_exported"}
#: Columns of the session scores (slim or whole, and the findings' view of them).
SCORED_ONLY = {"session_id", "score", "rank", "flagged"}
#: The stages after the campaigns are grouped, at whose start the live campaign tables
#: are looked for.
AFTER_CAMPAIGNS = ("attribution", "report")


def _campaign_tables() -> tuple[list[int], list[int]]:
    """The rows of each live DataFrame with a campaign table's columns, and the
    campaigns of each live :class:`CampaignFiles`."""
    gc.collect()
    objs = gc.get_objects()
    return ([len(o) for o in objs if isinstance(o, pd.DataFrame)
             and {"campaign_id", "session_ids"} <= set(o.columns)],
            [len(o) for o in objs if isinstance(o, CampaignFiles)])  # fmt: skip


def _scored_tables() -> list[int]:
    """The number of rows of each live DataFrame with the session scores' columns."""
    gc.collect()
    return [len(o) for o in gc.get_objects()
            if isinstance(o, pd.DataFrame) and SCORED_ONLY <= set(o.columns)]  # fmt: skip


def _session_tables() -> list[int]:
    """The number of rows of each live DataFrame with a session table's columns."""
    gc.collect()
    return [len(o) for o in gc.get_objects()
            if isinstance(o, pd.DataFrame) and SESSION_ONLY <= set(o.columns)]  # fmt: skip


def _run(case: CaseContext, out, budget, seen: dict):
    """:func:`_investigate` with, at each stage after collect, the session tables held."""
    real = pipeline._Stages.run

    def run(self, name, fn, count=None):
        if name in AFTER_COLLECT:
            seen.setdefault("tables", {})[name] = _session_tables()
            seen.setdefault("scored", {})[name] = _scored_tables()
        if name in AFTER_CAMPAIGNS:
            seen.setdefault("campaigns", {})[name] = _campaign_tables()
        return real(self, name, fn, count)

    mp = pytest.MonkeyPatch()
    mp.setattr(pipeline._Stages, "run", run)
    try:
        return _investigate(case, out, budget, seen)
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A generated case of three labs with a leak and the transfer log, run both ways."""
    tmp = tmp_path_factory.mktemp("labs")
    synth.generate(tmp / "case", labs=3, start="2020-01-01", end="2020-03-15", seed=5,
                   scale=0.25)  # fmt: skip
    ctx = CaseContext(tz="Europe/Paris", evidence=(tmp / "case" / "evidence",),
                      transfers=tmp / "case" / "transfers" / "xferlog",
                      leak=tmp / "case" / "leak" / "leaked_ipps.csv")  # fmt: skip
    case = _keyed(ctx, tmp)
    files_seen: dict = {}  # first: the other run's result holds its session table
    files = _run(case, tmp / "files", 1, files_seen)
    held_seen: dict = {}
    held = _run(case, tmp / "held", None, held_seen)
    return held, files, held_seen, files_seen, len(held_seen["sessions"])


def test_outputs_identical_without_a_whole_session_table(runs):
    held, files, _, seen, n = runs
    assert held.findings["counts"]["labs"] == 3 and n > 1000
    assert held.findings["counts"]["sessions"] == n
    _assert_same_outputs(held.out, files.out)
    assert held.attribution.candidates.equals(files.attribution.candidates)
    pd.testing.assert_frame_equal(held.campaigns, files.campaigns, check_exact=True)


def test_no_session_table_held_after_collect(runs):
    _, _, held_seen, seen, n = runs
    # in memory: the table is held at every stage after collect (the check sees it)
    assert all(n in held_seen["tables"][s] for s in AFTER_COLLECT), held_seen["tables"]
    # events in files: neither the table nor its slim table at any stage after collect
    # (a few sessions' rows at most: those that moved records, read for attribution)
    assert set(seen["tables"]) == set(AFTER_COLLECT)
    assert all(max(t, default=0) < n / 10 for t in seen["tables"].values()), seen["tables"]
    ss = seen["sessions"]  # what the run held for the report: the slim table a file a lab
    assert isinstance(ss, SlimLabs) and not isinstance(ss, pd.DataFrame) and len(ss) == n


def test_no_campaign_table_held_after_grouping(runs):
    held, files, held_seen, seen, _ = runs
    m = len(held.campaigns)
    assert m > 10 and held.findings["campaigns"]["count"] == m
    # in memory: the case's campaign table is held from the campaigns stage to the report
    for s in AFTER_CAMPAIGNS:
        frames, kept = held_seen["campaigns"][s]
        assert m in frames and not kept, (s, frames, kept)
    # events in files: each lab's campaigns in a file (CampaignFiles), no table of them
    # held between the stages; the run's result still has the whole table
    for s in AFTER_CAMPAIGNS:
        frames, kept = seen["campaigns"][s]
        assert max(frames, default=0) < m / 10 and kept == [m], (s, frames, kept)
    assert isinstance(files.campaigns, pd.DataFrame) and len(files.campaigns) == m


def test_no_session_scores_held_after_detection(runs):
    """The slim session scores (session 21): kept a file a lab
    (:class:`labforensics.scored_labs.ScoredLabs`), read by lab or by rows."""
    _, _, held_seen, seen, n = runs
    # in memory: the scored sessions are held at every stage after collect
    assert all(n in held_seen["scored"][s] for s in AFTER_COLLECT), held_seen["scored"]
    # events in files: none between the stages (each reads a lab's rows, or the few it
    # shows, and lets them go; the files' template has no row)
    assert set(seen["scored"]) == set(AFTER_COLLECT)
    assert all(max(t, default=0) == 0 for t in seen["scored"].values()), seen["scored"]
