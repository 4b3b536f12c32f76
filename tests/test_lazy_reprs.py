"""A finished run's reprs never read its whole event table (issue 17: at 33 M events the
result's ``Sessions`` repr read ``events.parquet`` whole)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

import labforensics as lf
from hostile import write_hostile_case
from labforensics.engine.run import MemoryBudgetWarning
from labforensics.result import EventsLoader


@pytest.fixture(scope="module")
def spilled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lazyrepr")
    p = write_hostile_case(tmp / "case", days=3)
    # a budget of one byte: the events wait in files, the result reads events.parquet
    with pytest.warns(MemoryBudgetWarning):
        res = lf.investigate(p["evidence"], tmp / "out", leak=p["leak"], progress=False,
                             memory_budget=1)  # fmt: skip
    return res


def test_reprs_of_a_spilled_run_read_only_first_rows(spilled):
    res = spilled
    ld = res.sessions._load
    assert isinstance(ld, EventsLoader) and ld.spilled and not ld.loaded
    n_events = pq.ParquetFile(res.out / "events.parquet").metadata.num_rows
    n_sessions = pq.ParquetFile(res.out / "sessions.parquet").metadata.num_rows
    assert n_events == res.findings["counts"]["events"] == 135  # the hostile case's events
    s = repr(res.sessions)
    e = repr(res.evidence)
    r = repr(res)
    assert not ld.loaded  # nothing read whole
    assert s.startswith(f"Sessions(sessions={n_sessions}, events={n_events})"), s
    assert f"events: {n_events} rows × " in s and f"sessions: {n_sessions} rows × " in s
    assert e.startswith(f"Evidence(events={n_events}, quarantined=0"), e
    assert "session_id" not in e.split("events:")[1].split("\n")[0]  # evidence: no session id
    assert len(s.splitlines()) <= 25 and len(e.splitlines()) <= 25
    # the verdict in words (the code stays in findings.json and .verdict)
    assert res.verdict == "outside_evidence"  # the hostile case's dump has no logged source
    assert "verdict='A copy outside the logged evidence (made by no logged operation)'" in r
    # once loaded, the reprs are the tables' own, with the same counts
    full = res.sessions.events
    assert ld.loaded and isinstance(full, pd.DataFrame) and len(full) == n_events
    assert repr(res.sessions).startswith(f"Sessions(sessions={n_sessions}, events={n_events})")
    assert repr(res.evidence).startswith(f"Evidence(events={n_events}, quarantined=0")
    assert "session_id" not in res.evidence.events.columns


def test_loader_rows_and_head_without_reading(tmp_path):
    df = pd.DataFrame({"a": range(50), "session_id": [f"s{i}" for i in range(50)]})
    path = tmp_path / "events.parquet"
    df.to_parquet(path)

    class Parts:  # a CaseEvents stand-in whose events wait in files
        def is_spilled(self):
            return True

        def to_frame(self):  # never used when spilled
            raise AssertionError("the parts were read")

    ld = EventsLoader(Parts(), path)
    assert ld.rows() == 50 and not ld.loaded
    assert ld.head()["a"].tolist() == [0, 1, 2] and not ld.loaded  # HEAD_ROWS = 3
    pd.testing.assert_frame_equal(ld(), df)
    assert ld.loaded and ld() is ld()  # read once
