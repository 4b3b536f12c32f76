"""The session table is written after collect and held slim (issue 17): same outputs."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labforensics as lf
from labforensics import pipeline, synth
from labforensics.case import CaseContext
from labforensics.detect.campaigns import activity_class
from labforensics.engine.session_merge import LabSessions
from labforensics.outputs import OUTPUT_NAMES, write_parquet
from labforensics.privacy import CaseKey
from labforensics.report.pdf import PdfResult
from labforensics.session_files import (
    ACTIVITY_COUNTS,
    SESSIONS_FILE,
    SLIM_COLUMNS,
    SessionFile,
    set_aside_sessions,
    slim_sessions,
)
from labforensics.session_labs import SlimLabs

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted(p.name for p in (ROOT / "fixtures").iterdir() if (p / "case.toml").is_file())
#: Outputs not compared byte for byte: the manifest holds wall-clock times (its output
#: hashes are compared), the PDF is not printed here (it prints report.html).
NOT_COMPARED = {"manifest.json", "report.pdf"}


def _investigate(case: CaseContext, out: Path, budget: int | None, seen: dict | None = None):
    """One run, at a fixed start time, no PDF; ``seen`` gets what the run held when it
    wrote its outputs."""
    real = pipeline._write_outputs

    def spy(o, res, plan, **kw):
        if seen is not None:
            seen["sessions"], seen["file"] = res.sessions, res.session_file
            if isinstance(res.sessions, SlimLabs):  # read back whole while its files exist
                seen["slim_whole"] = res.sessions.whole()
            seen["private"] = res.session_file.path if res.session_file else None
            if seen["private"] is not None:  # what else the private folder holds then
                seen["left"] = sorted(p.name for p in seen["private"].parent.iterdir())
        return real(o, res, plan, **kw)

    merge = LabSessions._merge

    def merged(self, order):  # the labs' tables merged, not read back whole
        if seen is not None:
            seen["merged"] = seen.get("merged", 0) + 1
        return merge(self, order)

    mp = pytest.MonkeyPatch()
    mp.setattr(pipeline, "_write_outputs", spy)
    mp.setattr(LabSessions, "_merge", merged)
    mp.setattr(pipeline, "_utcnow", lambda: "2024-01-01T00:00:00Z")  # the report's run date
    mp.setattr(pipeline, "_write_pdf", lambda out: PdfResult(None, "not printed in tests"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MemoryBudgetWarning: every lab is over 1 byte
            return lf.investigate(None, out, case=case, progress=False, memory_budget=budget)
    finally:
        mp.undo()


#: How the budget of one byte is stated (parameters, the command to reproduce), in
#: findings.json, its parameters' text and report.html, and the same without a budget.
_BUDGET = [(b'"memory_budget": 1,', b'"memory_budget": null,'),
           (b'\\"memory_budget\\": 1,', b'\\"memory_budget\\": null,'),
           (b"&quot;memory_budget&quot;: 1,", b"&quot;memory_budget&quot;: null,"),
           (b" --memory-budget 1", b"")]  # fmt: skip


def _unbudgeted(data: bytes) -> bytes:
    """An output of a run with ``memory_budget=1`` as the run without one states it."""
    for budget, none in _BUDGET:
        data = data.replace(budget, none)
    return data


def _assert_same_outputs(a: Path, b: Path) -> None:
    """Every output of ``a`` (no budget) and ``b`` (a budget of one byte) is the same,
    byte for byte (findings.json and report.html once the budget stated is put aside)."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {"sessions.parquet", "findings.json", "report.html"} <= set(names)
    for name in names:
        if name in NOT_COMPARED:
            continue
        ours, theirs = (a / name).read_bytes(), (b / name).read_bytes()
        if name in ("findings.json", "report.html"):
            assert ours != theirs and b" --memory-budget 1" in theirs  # the budget is stated
            theirs = _unbudgeted(theirs)
        assert ours == theirs, name
    outputs = [json.loads((d / "manifest.json").read_text(encoding="utf-8"))["outputs"]
               for d in (a, b)]  # fmt: skip
    hashes = [{o["path"]: o["sha256"] for o in out} for out in outputs]
    for name in set(names) - NOT_COMPARED - {"findings.json", "report.html"}:
        assert hashes[0][name] == hashes[1][name], name


def _keyed(case: CaseContext, tmp: Path) -> CaseContext:
    key_file = tmp / "case.key"  # one key for both runs: the same pseudonyms
    CaseKey(bytes(range(32))).write(key_file)
    return dataclasses.replace(case, key_file=key_file)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_outputs_identical_with_the_table_in_a_file(name, tmp_path):
    case = _keyed(CaseContext.from_file(ROOT / "fixtures" / name / "case.toml"), tmp_path)
    held = _investigate(case, tmp_path / "held", None)
    seen: dict = {}
    slim = _investigate(case, tmp_path / "slim", 1, seen)
    assert held.sessions._sessions is not None and not isinstance(held.sessions._sessions, Path)
    assert seen["file"] is not None  # the budget put the table in a file
    _assert_same_outputs(held.out, slim.out)
    # the result reads the table back from the output on first use: the same table
    pd.testing.assert_frame_equal(slim.sessions.sessions, pd.read_parquet(held.out / SESSIONS_FILE))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated case of four labs with a leak and the transfer log, run both ways."""
    tmp = tmp_path_factory.mktemp("gen")
    synth.generate(tmp / "case", labs=4, start="2020-01-01", end="2020-04-30", seed=11,
                      scale=0.3)  # fmt: skip
    ctx = CaseContext(tz="Europe/Paris", evidence=(tmp / "case" / "evidence",),
                      transfers=tmp / "case" / "transfers" / "xferlog",
                      leak=tmp / "case" / "leak" / "leaked_ipps.csv")  # fmt: skip
    case = _keyed(ctx, tmp)
    seen: dict = {}
    held = _investigate(case, tmp / "held", None)
    slim = _investigate(case, tmp / "slim", 1, seen)
    return held, slim, seen


def test_generated_case_outputs_identical(generated):
    held, slim, _ = generated
    assert len(held.findings["attribution"]["leak_report"] or {}) or held.findings["candidates"]
    _assert_same_outputs(held.out, slim.out)
    assert held.attribution.candidates.equals(slim.attribution.candidates)
    assert held.findings["counts"]["labs"] == 4


def test_run_holds_a_slim_table_after_collect(generated):
    held, slim, seen = generated
    ss, file = seen["sessions"], seen["file"]
    full = pd.read_parquet(slim.out / SESSIONS_FILE)
    # what the run held when it wrote its outputs: no table, the slim one a file a lab
    # (session_labs.SlimLabs, issue 17), of the slim columns, not the table's
    assert isinstance(ss, SlimLabs) and not isinstance(ss, pd.DataFrame)
    assert list(ss.columns) == [c for c in full.columns if c in {*SLIM_COLUMNS, *ACTIVITY_COUNTS}]
    assert {"hosts", "src_ips", "modules", "n_events", "bytes_out"}.isdisjoint(ss.columns)
    assert len(ss) == len(full)
    whole = held.sessions.sessions
    # read back whole (a test only): the slim table of the whole one, in its order, though
    # neither was ever held: each lab's table was written to a file as collected, then
    # merged (and the labs' files removed); each lab's slim table kept in a file of its own
    back = seen["slim_whole"]
    assert back["session_id"].tolist() == full["session_id"].tolist()
    assert isinstance(back["lab"].dtype, pd.CategoricalDtype)
    assert all(back[c].dtype == bool for c in ACTIVITY_COUNTS)
    pd.testing.assert_frame_equal(back, slim_sessions(whole), check_exact=True)
    assert seen["merged"] == 1
    assert not [n for n in seen["left"] if n.startswith("sessions-")], seen["left"]
    assert len([n for n in seen["left"] if n.startswith("slim-") and n.endswith(".pkl")]) == 4
    # written to the run's private folder, then moved (not rewritten) into the outputs
    assert seen["private"].name == SESSIONS_FILE and seen["private"].parent != slim.out
    assert not seen["private"].exists() and file.path == slim.out / SESSIONS_FILE
    assert SESSIONS_FILE in OUTPUT_NAMES


@pytest.fixture(scope="module")
def table(generated):
    """The generated case's whole session table, as the run held it (canonical dtypes)."""
    held, _, _ = generated
    return held.sessions._sessions


def test_slim_table_reads_as_the_table(table):
    slim = slim_sessions(table)
    assert (activity_class(slim) == activity_class(table)).all()
    for c in ("session_id", "start", "end", "records_exported", "distinct_patients", "role"):
        pd.testing.assert_series_equal(slim[c], table[c])
    assert slim["account"].astype("string").equals(table["account"].astype("string"))
    for c in ("records_exported", "start"):  # own buffers: the table is freed when dropped
        assert not np.shares_memory(slim[c].to_numpy(), table[c].to_numpy())


def test_rows_read_back_by_session_id(table, tmp_path):
    class Result:
        sessions = table.copy()

    res, file = set_aside_sessions(Result(), tmp_path)
    assert isinstance(file, SessionFile) and list(res.sessions.columns) != list(table.columns)
    assert file.path.read_bytes() == write_parquet(table, tmp_path / "w.parquet").read_bytes()
    pick = table["session_id"].iloc[[7, 3, len(table) - 1, 0]]
    rows = file.rows(pick)  # in the order asked, with the table's dtypes
    pd.testing.assert_frame_equal(
        rows, table.iloc[[7, 3, len(table) - 1, 0]].reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(file.rows(table["session_id"]), table)
    assert len(file.rows(["no-such-session", pick.iloc[0]])) == 1  # as a left merge: no row
    assert set_aside_sessions(Result(), None)[1] is None  # no folder: held whole
