"""The session table set aside lab by lab and merged is the whole table's file (issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labforensics import outputs
from labforensics.engine import session_merge
from labforensics.engine.combine import order_sessions
from labforensics.engine.session_merge import LabSessions
from labforensics.outputs import drop_private, write_parquet
from labforensics.schema import SESSION_DTYPES, STRING, STRING_LIST
from labforensics.session_files import SESSIONS_FILE, slim_sessions
from labforensics.session_labs import SlimLabs

T0 = pd.Timestamp("2020-03-01 08:00", tz="UTC")


def _lab(lab: str, starts: list[int], seed: int) -> pd.DataFrame:
    """A lab's session table: every column of SESSION_DTYPES, a private column."""
    n, rng = len(starts), np.random.default_rng(seed)
    cols: dict = {}
    for c, dt in SESSION_DTYPES.items():
        if dt == STRING:
            vals = [f"{lab}-{c[:3]}-{rng.integers(0, 4)}" for _ in range(n)]
            cols[c] = pd.array([None if c == "role" and i % 3 == 0 else v
                                for i, v in enumerate(vals)], dtype=STRING)  # fmt: skip
        elif dt == STRING_LIST:
            cols[c] = pd.Series([[f"h{j}" for j in range(i % 3)] for i in range(n)], dtype=dt)
        elif isinstance(dt, pd.CategoricalDtype):
            cols[c] = pd.Categorical(rng.choice(list(dt.categories), n), dtype=dt)
        elif isinstance(dt, pd.DatetimeTZDtype):
            cols[c] = pd.Series([T0 + pd.Timedelta(minutes=m) for m in starts], dtype=dt)
        elif dt == np.dtype("float64"):
            cols[c] = np.where(rng.random(n) < 0.2, np.nan, rng.random(n) * 100)
        else:
            cols[c] = rng.integers(0, 3, n).astype(dt)
    cols["session_id"] = pd.array([f"{lab}-{i}" for i in range(n)], dtype=STRING)
    cols["lab"] = pd.array([lab] * n, dtype=STRING)
    cols["_ipp"] = pd.array(["secret"] * n, dtype=STRING)
    return pd.DataFrame(cols)


def _labs() -> tuple[list[pd.DataFrame], list[np.ndarray]]:
    # equal starts across labs (ordered by the first event's seq), an empty lab
    rng = np.random.default_rng(0)
    a = sorted(rng.integers(0, 40, 23).tolist())
    b = sorted(rng.integers(0, 40, 17).tolist())
    parts = [_lab("L01", a, 1), _lab("L02", b, 2), _lab("L03", [], 3), _lab("L04", [5, 5, 6], 4)]
    seqs = rng.permutation(1000)[: sum(len(p) for p in parts)].astype("int64")
    firsts, at = [], 0
    for p in parts:
        firsts.append(seqs[at : at + len(p)])
        at += len(p)
    return parts, firsts


def _whole(parts, firsts, folder):
    whole = order_sessions([p.copy() for p in parts], firsts)
    return write_parquet(drop_private(whole), folder / "w.parquet").read_bytes(), whole


def _merged(parts, firsts, folder):
    sink = LabSessions(folder, len(parts))
    for p, f in zip(parts, firsts, strict=True):
        sink.add(p.copy(), f)
    return sink.finish(), sink.file


@pytest.mark.parametrize("rows, batch", [(None, None), (7, 3), (16, 5)])
def test_merged_file_and_slim_table_equal_the_whole_tables(rows, batch, tmp_path, monkeypatch):
    if rows is not None:  # several row groups, several batches a lab
        monkeypatch.setattr(outputs, "ROW_GROUP_ROWS", rows)
        monkeypatch.setattr(session_merge, "BATCH_ROWS", batch)
    parts, firsts = _labs()
    want, whole = _whole(parts, firsts, tmp_path)
    (tmp_path / "run").mkdir()
    slim, file = _merged(parts, firsts, tmp_path / "run")
    assert file.path == tmp_path / "run" / SESSIONS_FILE
    assert file.path.read_bytes() == want
    pd.testing.assert_frame_equal(slim, slim_sessions(whole), check_exact=True)
    assert isinstance(slim["account"].dtype, pd.CategoricalDtype)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [SESSIONS_FILE]  # no lab file
    table = drop_private(whole)
    assert file.dtypes == {c: table[c].dtype for c in table.columns}
    pick = table["session_id"].iloc[[5, 0, len(table) - 1]]
    pd.testing.assert_frame_equal(file.rows(pick), table.iloc[[5, 0, len(table) - 1]]
                                  .reset_index(drop=True))  # fmt: skip
    if rows is not None:
        import pyarrow.parquet as pq

        assert pq.ParquetFile(file.path).num_row_groups == -(-len(table) // rows)


def test_one_lab_is_written_whole(tmp_path):
    parts, firsts = _labs()
    want, whole = _whole(parts[:1], firsts[:1], tmp_path)
    (tmp_path / "run").mkdir()
    slim, file = _merged(parts[:1], firsts[:1], tmp_path / "run")
    assert file.path.read_bytes() == want
    pd.testing.assert_frame_equal(slim, slim_sessions(whole), check_exact=True)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [SESSIONS_FILE]


def test_labs_with_different_columns_are_read_back_whole(tmp_path):
    parts, firsts = _labs()
    parts[1] = parts[1].drop(columns="bytes_out")  # as order_sessions: concatenated whole
    want, whole = _whole(parts, firsts, tmp_path)
    (tmp_path / "run").mkdir()
    slim, file = _merged(parts, firsts, tmp_path / "run")
    assert file.path.read_bytes() == want
    pd.testing.assert_frame_equal(slim, slim_sessions(drop_private(whole)), check_exact=True)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [SESSIONS_FILE]


def test_labs_of_several_arrow_chunks_give_the_whole_tables(tmp_path, monkeypatch):
    # each lab's Arrow-backed columns in two chunks (a table put together from pieces):
    # the slim text columns are concatenated chunk by chunk, the file's rows taken across
    # the labs' batches; the same bytes and slim table as the whole table's
    monkeypatch.setattr(outputs, "ROW_GROUP_ROWS", 9)
    parts, firsts = _labs()
    parts = [pd.concat([p.iloc[: len(p) // 2], p.iloc[len(p) // 2 :]], ignore_index=True)
             for p in parts]  # fmt: skip
    assert parts[0]["session_id"].array._pa_array.num_chunks == 2
    want, whole = _whole(parts, firsts, tmp_path)
    (tmp_path / "run").mkdir()
    slim, file = _merged(parts, firsts, tmp_path / "run")
    assert file.path.read_bytes() == want
    pd.testing.assert_frame_equal(slim, slim_sessions(whole), check_exact=True)


def test_slim_columns_are_held_apart_and_freed_as_put_in_order():
    # one array a column, none a view of the frame's 2-D blocks (a deleted column of a
    # frame is not freed); each lab's array dropped once its column is concatenated
    parts, firsts = _labs()
    slim = slim_sessions(parts[0])
    held = session_merge._own_arrays(slim)
    assert list(held) == list(slim.columns)
    for c, a in held.items():
        if isinstance(a, np.ndarray):
            assert not np.shares_memory(a, slim[c].to_numpy()), c
    labs = [session_merge._own_arrays(slim_sessions(p)) for p in parts]
    n = sum(len(p) for p in parts)
    for c in ("records_exported", "session_id"):  # a numpy column, an Arrow-backed one
        col = [lab.pop(c) for lab in labs]
        out = session_merge._in_order(col, np.arange(n)[::-1], False)
        assert col == [] and len(out) == n, c
        want = pd.concat([p[c] for p in parts], ignore_index=True).iloc[::-1]
        pd.testing.assert_series_equal(pd.Series(out, name=c), want.reset_index(drop=True))


def _kept(parts, firsts, folder):
    sink = LabSessions(folder, len(parts), by_lab=True)
    for p, f in zip(parts, firsts, strict=True):
        sink.add(p.copy(), f)
    return sink.finish(), sink.file


@pytest.mark.parametrize("n_labs", [4, 1])
def test_slim_table_kept_a_file_a_lab_reads_as_the_slim_table(n_labs, tmp_path):
    # issue 17: with by_lab no slim table is held; each lab's is read back from its file
    # as the rows of the case's slim table (order, index, dtypes, the case's categories)
    parts, firsts = _labs()
    parts, firsts = parts[:n_labs], firsts[:n_labs]
    want, whole = _whole(parts, firsts, tmp_path)
    (tmp_path / "run").mkdir()
    kept, file = _kept(parts, firsts, tmp_path / "run")
    assert file.path.read_bytes() == want  # sessions.parquet: the same bytes
    slim = slim_sessions(whole)
    assert isinstance(kept, SlimLabs) and len(kept) == len(slim) and not kept.empty
    assert list(kept.columns) == list(slim.columns)
    pd.testing.assert_frame_equal(kept.whole(), slim, check_exact=True)
    # L04's sessions start among L01's: each lab's rows in the case's order
    for lab in ("L01", "L02", "L04")[: 3 if n_labs > 1 else 1]:
        pd.testing.assert_frame_equal(kept.lab(lab), slim[slim["lab"] == lab], check_exact=True)
    for lab in ("L03", "nope"):  # no session: no row, the columns and dtypes
        assert kept.lab(lab).empty
        pd.testing.assert_series_equal(kept.lab(lab).dtypes, slim.dtypes)
    moved = kept.select(lambda f: (f["records_exported"] > 0).to_numpy())
    pd.testing.assert_frame_equal(moved, slim[slim["records_exported"] > 0], check_exact=True)
    ids = slim["session_id"].iloc[[3, 0, len(slim) - 1]]
    pd.testing.assert_frame_equal(kept.having(ids), slim[slim["session_id"].isin(ids)])
    held = sorted(p.name for p in (tmp_path / "run").iterdir())
    labs = [f"slim-{i}.{e}" for i in range(n_labs) for e in ("pkl", "pos.npy")]
    assert held == sorted([SESSIONS_FILE, *labs])  # no lab session table left
