"""The engine's session table built column by column equals concat-then-sort (issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labforensics.engine.combine import order_sessions
from labforensics.schema import STRING, STRING_LIST

T0 = pd.Timestamp("2020-03-01 08:00", tz="UTC")


def _part(lab, starts, cats, seed):
    n = len(starts)
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "session_id": pd.array([f"{lab}-{i}" for i in range(n)], dtype=STRING),
        "lab": pd.array([lab] * n, dtype=STRING),
        "start": pd.Series([T0 + pd.Timedelta(minutes=m) for m in starts],
                           dtype="datetime64[ns, UTC]"),
        "n_read": rng.integers(0, 9, n),
        "ratio": rng.random(n),
        "kind": pd.Categorical(rng.choice(cats, n), categories=cats),
        "ticket": pd.array([None] * n, dtype="Int64") if lab == "L02"
        else pd.array(rng.integers(0, 3, n), dtype="Int64"),
        "modules": pd.Series([["a", "b"][: i % 3] for i in range(n)], dtype=STRING_LIST),
    })  # fmt: skip


def _reference(parts, firsts):
    ss = pd.concat([p.copy() for p in parts], ignore_index=True)
    st = ss["start"].dt.as_unit("ns").to_numpy("datetime64[ns]").view("int64")
    return ss.iloc[np.lexsort((np.concatenate(firsts), st))].reset_index(drop=True)


def test_column_by_column_equals_concat_sort_and_consumes_the_parts():
    # equal starts across labs are ordered by the first event's seq; categories that
    # differ between parts, an all-missing Int64 part, lists and tz-aware times
    parts = [_part("L01", [0, 5, 5, 9], ["staff", "vendor"], 1),
             _part("L02", [5, 1, 9], ["vendor"], 2),
             _part("L03", [], ["staff"], 3)]  # fmt: skip
    firsts = [np.array([10, 30, 20, 90]), np.array([25, 5, 80]), np.array([], dtype="int64")]
    want = _reference(parts, firsts)
    got = order_sessions(parts, firsts)
    pd.testing.assert_frame_equal(got, want)
    # by hand: starts 0 (L01-0), 1 (L02-1), 5 with seq 20, 25, 30 (L01-2, L02-0, L01-1), 9 ...
    assert got["session_id"].tolist()[:5] == ["L01-0", "L02-1", "L01-2", "L02-0", "L01-1"]
    assert got["session_id"].tolist()[5:] == ["L02-2", "L01-3"]  # seq 80 before 90
    assert all(len(p.columns) == 0 for p in parts)  # consumed


def test_parts_with_different_columns_are_concatenated_whole():
    a = _part("L01", [3, 1], ["staff"], 1)
    b = _part("L02", [2], ["staff"], 2).drop(columns="ratio")
    firsts = [np.array([1, 2]), np.array([3])]
    pd.testing.assert_frame_equal(order_sessions([a, b], firsts), _reference([a, b], firsts))
