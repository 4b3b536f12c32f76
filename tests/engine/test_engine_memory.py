"""Memory of the engine: the labs put back together (collect) and the memory budget."""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from labforensics import read_evidence, schema
from labforensics.case import CaseContext
from labforensics.engine import split_by_lab
from labforensics.engine.combine import concat_events
from labforensics.engine.partitions import empty_like, narrow, widen
from labforensics.engine.run import (
    EVENT_BYTES,
    LabRun,
    MemoryBudgetWarning,
    labs_over_budget,
)
from labforensics.pipeline import investigate
from labforensics.privacy import CaseKey

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "vendor-migration"


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    key_file = tmp_path_factory.mktemp("key") / "case.key"
    CaseKey(bytes(range(32))).write(key_file)
    return dataclasses.replace(CaseContext.from_file(FIXTURE / "case.toml"), key_file=key_file)


@pytest.fixture(scope="module")
def events(case):
    ev = read_evidence([str(p) for p in case.evidence], case_key=CaseKey(bytes(range(32))),
                       case=case, progress=False)  # fmt: skip
    return ev.events


def test_concat_events_equals_widen_concat_sort(events):
    # the old collect: each lab widened, concatenated, sorted by (ts, seq); the new one
    # concatenates the dictionary-encoded labs and widens once: the same table, bit for bit
    parts = [narrow(p()) for p in split_by_lab(events)]
    assert len(parts) == 2
    # a lab whose string column is all missing has categories of another dtype
    parts[1]["dicom_event_id"] = parts[1]["dicom_event_id"].astype("object").astype("category")
    old = pd.concat([widen(p) for p in parts], ignore_index=True)
    ts = old["ts"].dt.as_unit("ns").to_numpy("datetime64[ns]").view("int64")
    old = old.iloc[np.lexsort((old["seq"].to_numpy("int64"), ts))].reset_index(drop=True)
    new = concat_events([p.copy() for p in parts])
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert new.equals(events.reset_index(drop=True))  # the evidence order of the read
    for c in new.columns:  # canonical dtypes back (strings as Arrow strings, not category)
        assert new[c].dtype == old[c].dtype, c
    assert new["lab"].dtype == schema.STRING
    consumed = [p.copy() for p in parts]
    concat_events(consumed, consume=True)
    assert all(len(p.columns) == 0 for p in consumed)  # the narrowed copy freed as it goes


def test_labs_over_budget_by_events():
    # a lab's first pass at 1,600 bytes an event (measured: engine.batches.EVENT_BYTES):
    # 1,000 events = 1,600,000 > 20,000; 10 x 1,600 = 16,000 and 3 x 1,600 = 4,800 fit
    assert EVENT_BYTES == 1_600
    sizes = {"L01": 1_000, "L02": 10, None: 3}
    assert labs_over_budget(sizes, 20_000) == {"L01": 1_600_000}
    assert labs_over_budget(sizes, 1_000) == {"L01": 1_600_000, "L02": 16_000,
                                              "(no lab)": 4_800}  # fmt: skip
    assert labs_over_budget(sizes, None) == {}  # no budget: nothing over


def test_lab_run_cuts_an_over_budget_lab_into_account_batches(events):
    parts = split_by_lab(events)
    n = {p.lab: len(p) for p in parts}
    run = LabRun(parts, settings=None, detection=None, memory_budget=n["L01"] * EVENT_BYTES)
    # L02 is the larger lab (1,127 events against 828): over; L01 exactly at the budget.
    # No account of L02 is above the budget alone: it is cut into batches, no warning
    assert n["L02"] > n["L01"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", MemoryBudgetWarning)
        run._check_budget([p.lab for p in parts])
    assert run.over_budget == {"L02": n["L02"] * EVENT_BYTES}
    assert run.batches == {"L02": 2} and run.accounts_over == {}
    # a budget below an account's events: that account is a batch alone, and said
    run = LabRun(parts, settings=None, detection=None, memory_budget=100 * EVENT_BYTES)
    with pytest.warns(MemoryBudgetWarning, match=r"one account alone in 2 lab\(s\) \(L01 ~"):
        run._check_budget([p.lab for p in parts])
    assert set(run.accounts_over) == {"L01", "L02"}


def test_investigate_states_the_labs_over_budget_and_spills_them(case, tmp_path, monkeypatch):
    plain = investigate(None, tmp_path / "plain", case=case, progress=False)
    assert plain.scores.metadata["engine"]["spilled"] is False  # no budget: held in memory
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with pytest.warns(MemoryBudgetWarning, match="L01.*L02"):
        res = investigate(None, tmp_path / "out", case=case, progress=False,
                          memory_budget=1)  # fmt: skip
    # the labs waited in files between passes (every lab's results exceed one byte), and
    # the folder is gone; the tables are the same bytes as with the labs held in memory
    assert res.scores.metadata["engine"]["spilled"] is True
    assert list((tmp_path / "tmp").iterdir()) == []
    for name in ("events.parquet", "sessions.parquet", "scores.parquet", "campaigns.parquet",
                 "exports.parquet", "scores_account_day.parquet",
                 "scores_account_month.parquet"):  # fmt: skip
        assert (res.out / name).read_bytes() == (plain.out / name).read_bytes(), name
    assert res.findings["verdict"] == plain.findings["verdict"]
    lab_n = res.sessions.events["lab"].value_counts()
    # both labs are over a one-byte budget, each estimated at its events x EVENT_BYTES,
    # each processed one account at a time (every account above the budget alone): the
    # same bytes as the labs processed whole
    batches = res.scores.metadata["engine"]["batches"]
    assert batches == {lab: int(res.sessions.events.loc[res.sessions.events["lab"] == lab,
                                                        "account"].nunique())
                       + int(res.sessions.events.loc[res.sessions.events["lab"] == lab,
                                                     "account"].isna().any())
                       for lab in ("L01", "L02")}  # fmt: skip
    assert plain.scores.metadata["engine"]["batches"] == {"L01": 1, "L02": 1}
    assert res.scores.metadata["engine"]["over_budget"] == {
        "L01": int(lab_n["L01"]) * EVENT_BYTES, "L02": int(lab_n["L02"]) * EVENT_BYTES
    }  # fmt: skip
    assert res.findings["parameters"]["memory_budget"] == 1
    # the run kept no session table for its PDF stage and result: read back on first use
    assert isinstance(res.sessions._sessions, Path) and not isinstance(
        plain.sessions._sessions, Path
    )
    back = res.sessions.sessions
    pd.testing.assert_frame_equal(back, pd.read_parquet(res.out / "sessions.parquet"))
    assert back["session_id"].tolist() == plain.sessions.sessions["session_id"].tolist()


def test_empty_like_keeps_none_of_the_table():
    # iloc[:0] is a view that keeps the whole Arrow string buffer (5 MB of text here)
    # alive; empty_like gives the same columns and dtypes holding nothing of it
    def table():
        return pd.DataFrame({"s": pd.Series(["x" * 50] * 100_000, dtype=schema.STRING),
                             "c": pd.Series(["a", "b"] * 50_000, dtype="category"),
                             "n": np.arange(100_000)})  # fmt: skip

    base = pa.total_allocated_bytes()
    view = table().iloc[:0]
    assert pa.total_allocated_bytes() - base >= 5_000_000  # the bug: 100,000 x 50 bytes held
    del view
    df = table()
    empty = empty_like(df)
    del df
    assert pa.total_allocated_bytes() - base < 100_000
    assert len(empty) == 0 and list(empty.columns) == ["s", "c", "n"]
    assert list(empty.dtypes) == [schema.STRING, pd.CategoricalDtype(["a", "b"]), np.int64]
