"""A table written one row group at a time is the bytes of it written at once (issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from labforensics import outputs
from labforensics.schema import STRING, STRING_LIST


def _table(n):
    rng = np.random.default_rng(0)
    late = np.full(n, None, dtype=object)
    if n:
        late[-1] = "only in the last chunk"  # an object column whose first chunks are all None
    return pd.DataFrame({
        "session_id": pd.array([f"S{i:06d}" for i in range(n)], dtype=STRING),
        "n": rng.integers(0, 100, n),
        "x": rng.random(n),
        "start": pd.date_range("2020-01-01", periods=n, freq="min", tz="UTC"),
        "kind": pd.Categorical(rng.choice(["staff", "vendor"], n)),
        "ticket": pd.array([None if i % 3 else i for i in range(n)], dtype="Int64"),
        "modules": pd.Series([["a", "b"][: i % 3] for i in range(n)], dtype=STRING_LIST),
        "reasons": pd.Series([["r"] if i % 2 else [] for i in range(n)], dtype=object),
        "late": late,
        "flag": rng.random(n) > 0.5,
    })  # fmt: skip


@pytest.mark.parametrize("n", [0, 7, 10, 25])
def test_chunked_write_is_the_whole_write(tmp_path, monkeypatch, n):
    df = _table(n)
    # the whole table written at once with 10-row groups: the reference
    want = tmp_path / "whole.parquet"
    pq.write_table(outputs.parquet_table(df), want, row_group_size=10, **outputs.PARQUET_OPTIONS)
    monkeypatch.setattr(outputs, "ROW_GROUP_ROWS", 10)
    got = outputs.write_parquet(df, tmp_path / "chunks.parquet")
    assert got.read_bytes() == want.read_bytes()
    meta = pq.ParquetFile(got).metadata
    assert meta.num_rows == n
    assert meta.num_row_groups == -(-n // 10) or (n == 0 and meta.num_row_groups <= 1)
    back = pd.read_parquet(got)
    assert back["late"].tolist()[-1:] == (["only in the last chunk"] if n else [])
    assert back["session_id"].tolist() == df["session_id"].tolist()


def test_default_groups_are_pyarrows():
    # the chunk is pyarrow's own default row group, so large outputs keep their bytes
    assert outputs.ROW_GROUP_ROWS == 1024 * 1024
