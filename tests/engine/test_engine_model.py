"""The detector model of the per-lab engine: inductive ECOD/COPOD, the stratified sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labforensics.detect import DetectParams
from labforensics.engine.model import InductiveECDF, lab_sample, sample_allocation
from labforensics.features import FeatureParams, Features, FeatureTable


def test_inductive_ecod_by_hand():
    # sample 0,1,2,3 (skew 0): x=3 has F=(4+1)/5=1, G=(1+1)/5 -> U_l=0, U_r=-log 0.4,
    # U_skew = U_l + U_r; ECOD = max = -log 0.4. x=1.5: F=G=3/5, U_skew=-2 log 0.6
    est = InductiveECDF("ECOD").fit(np.array([[0.0], [1.0], [2.0], [3.0]]))
    got = est.decision_function(np.array([[3.0], [1.5]]))
    assert got == pytest.approx([-np.log(0.4), -2 * np.log(0.6)])


def test_inductive_copod_by_hand():
    # COPOD = max(U_skew, (U_l + U_r) / 2): x=3 -> max(-log .4, -log(.4)/2) = -log 0.4
    est = InductiveECDF("COPOD").fit(np.array([[0.0], [1.0], [2.0], [3.0]]))
    got = est.decision_function(np.array([[3.0], [10.0]]))
    # x=10 beyond the sample: F=1, G=(0+1)/5 -> -log 0.2
    assert got == pytest.approx([-np.log(0.4), -np.log(0.2)])


def test_inductive_score_does_not_depend_on_the_partition():
    # the same row scores the same whatever rows it is scored with (pyod's ECOD would not)
    rng = np.random.default_rng(0)
    est = InductiveECDF("ECOD").fit(rng.normal(size=(50, 3)))
    row = np.array([[2.0, -1.0, 0.5]])
    alone = est.decision_function(row)[0]
    with_others = est.decision_function(np.vstack([row, rng.normal(size=(20, 3)) * 5]))[0]
    assert alone == with_others


def test_sample_allocation_proportional():
    p = DetectParams(max_fit_rows=20_000)
    alloc = sample_allocation({"A": {"session": 30_000}, "B": {"session": 10_000}}, p)
    # 40,000 rows for 20,000: half of each lab
    assert alloc == {"A": {"session": 15_000, "account_day": 0, "account_month": 0},
                     "B": {"session": 5_000, "account_day": 0, "account_month": 0}}  # fmt: skip
    small = sample_allocation({"A": {"session": 300}, "B": {"session": 12}}, p)
    # at most max_fit_rows in all: every row
    assert small["A"]["session"] == 300 and small["B"]["session"] == 12


def _features(n: int) -> Features:
    keys = pd.DataFrame({"session_id": [f"s{i:04d}" for i in range(n)], "lab": "L01",
                         "account": "a"})  # fmt: skip
    t = FeatureTable("session", keys, pd.DataFrame({"x": np.arange(n, dtype="float64")}),
                     ("session_id",))  # fmt: skip
    empty = FeatureTable("account_day", keys.iloc[:0], pd.DataFrame({"x": []}), ("lab",))
    return Features(t, empty, FeatureTable("account_month", keys.iloc[:0],
                                           pd.DataFrame({"x": []}), ("lab",)),
                    FeatureParams(), "UTC")  # fmt: skip


def test_lab_sample_seeded_and_sized():
    f = _features(100)
    a = lab_sample(f, {"session": 10}, "L01", seed=7)["session"]
    b = lab_sample(f, {"session": 10}, "L01", seed=7)["session"]
    c = lab_sample(f, {"session": 10}, "L01", seed=8)["session"]
    assert len(a) == 10  # the allocation's size
    assert a.keys["session_id"].tolist() == b.keys["session_id"].tolist()  # same seed, same rows
    assert a.keys["session_id"].tolist() != c.keys["session_id"].tolist()  # the seed decides
    assert a.keys["session_id"].is_monotonic_increasing  # kept in key order
    every = lab_sample(f, {"session": 100}, "L01", seed=7)["session"]
    assert len(every) == 100  # the whole lab when it is allotted every row


def test_narrow_widen_round_trip_and_smaller():
    from labforensics import schema
    from labforensics.engine.partitions import narrow, widen

    n = 1000
    ev = schema.coerce_events(
        pd.DataFrame(
            {
                "ts": pd.date_range("2020-01-01", periods=n, freq="min", tz="UTC"),
                "lab": ["L01"] * n,
                "account": [f"user{i % 7}" for i in range(n)],
                "action": ["login"] * n,
                "seq": np.arange(n),
            }
        )
    )
    small = narrow(ev)
    assert str(small["account"].dtype) == "category"  # dictionary-encoded while held
    back = widen(small)
    pd.testing.assert_frame_equal(back, ev)  # same values and dtypes given back
    # 7 distinct accounts: one int8 code per event instead of an Arrow string
    assert small.memory_usage(deep=True).sum() < ev.memory_usage(deep=True).sum()
