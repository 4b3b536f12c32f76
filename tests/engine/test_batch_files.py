"""The account batches' private folder (BatchFiles) and the Arrow union of text categories."""

from __future__ import annotations

import pickle
import stat

import numpy as np
import pandas as pd
import pytest
from pandas.api.types import union_categoricals

from labforensics.engine.batch_files import BatchFiles
from labforensics.engine.batches import _concat_events, _concat_sessions, _union_arrow


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array(["b", "a", "é", "Z", "ab", "zz", "ç"], dtype=object)
    text = pd.Series(rng.choice(words, n), dtype="string")
    text[rng.random(n) < 0.2] = pd.NA
    return pd.DataFrame({
        "ts": pd.Series(pd.to_datetime(rng.integers(0, 10**12, n), utc=True)),
        "seq": rng.permutation(n).astype("int64") + 1000 * seed,
        "text": text.astype("category"),
        "count": pd.Series(rng.integers(0, 5, n), dtype="Int64"),
        "plain": pd.Series(rng.choice(words, n), dtype="string"),
    })  # fmt: skip


def test_frames_and_tables_come_back_equal_and_the_folder_is_private(tmp_path):
    df = _frame(50, 0)
    with BatchFiles(tmp_path) as files:
        root = files.path
        assert root.parent == tmp_path and stat.S_IMODE(root.stat().st_mode) == 0o700
        files.put_frame("events-0", df)
        assert files.columns("events-0") == list(df.columns)
        pd.testing.assert_frame_equal(files.frame("events-0"), df, check_exact=True)
        pd.testing.assert_frame_equal(files.frame("events-0", ["seq", "ts"]), df[["seq", "ts"]])
        pd.testing.assert_series_equal(files.column("events-0", "text"), df["text"])
        files.put_table("session-0", {"a": df})
        pd.testing.assert_frame_equal(files.table("session-0")["a"], df)
        with pytest.raises(ValueError, match="unique strings"):
            files.put_frame("bad", pd.DataFrame([[1, 2]], columns=["x", "x"]))
        files.drop("events-0")
        assert not (root / "events-0").exists()
        assert all(p.is_relative_to(root) for p in tmp_path.rglob("*") if p != root)
    assert not root.exists() and list(tmp_path.iterdir()) == []
    files.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        files.put_frame("x", df)


def test_text_categories_unioned_in_arrow_as_union_categoricals_gives_them():
    parts = [_frame(n, s) for s, n in enumerate((40, 0, 25, 60))]
    cols = [p["text"].cat.remove_unused_categories() for p in parts]
    assert len({c.dtype for c in cols}) > 1
    order = np.random.default_rng(1).permutation(sum(len(c) for c in cols))
    got = _union_arrow(cols, order)
    cat = union_categoricals([c.array for c in cols], sort_categories=True)
    ref = pd.Series(cat, name="text").take(order).reset_index(drop=True)
    pd.testing.assert_series_equal(got, ref, check_exact=True)
    assert got.cat.codes.dtype == ref.cat.codes.dtype
    assert pickle.dumps(got) == pickle.dumps(ref)  # the same bytes
    objects = [c.astype("object").astype("category") for c in cols]  # object categories
    assert _union_arrow(objects, order) is None  # left to union_categoricals


def test_events_and_sessions_assembled_column_by_column_equal_the_concatenation(tmp_path):
    parts = [_frame(n, s) for s, n in enumerate((40, 25, 60))]
    for p in parts:
        p["text"] = p["text"].cat.remove_unused_categories()
    whole = pd.concat(parts, ignore_index=True)
    ts = whole["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    order = np.lexsort((whole["seq"].to_numpy(), ts))
    with BatchFiles(tmp_path) as files:
        for i, p in enumerate(parts):
            files.put_frame(f"events-{i}", p)
        names = [f"events-{i}" for i in range(len(parts))]
        got = _concat_events(files, names)
        ss = _concat_sessions(files, names, order)
    ref = whole.iloc[order].reset_index(drop=True)
    pd.testing.assert_frame_equal(ss, ref, check_exact=True)
    cat = union_categoricals([p["text"].array for p in parts], sort_categories=True)
    ref["text"] = pd.Series(cat).take(order).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
