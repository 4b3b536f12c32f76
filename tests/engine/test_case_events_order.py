"""``events.parquet`` in evidence order from the labs' sorted runs, merged block by block
(issue 17: no sort of the whole case's keys), with labs that interleave and tie."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from labforensics import schema
from labforensics._narrow import narrow
from labforensics._order_merge import merged_labs
from labforensics.case_events import CaseEvents
from labforensics.outputs import PARQUET_OPTIONS, parquet_table

T0 = pd.Timestamp("2020-03-01 08:00", tz="UTC")

#: Three labs whose events interleave and share instants (minutes after T0, seq): at
#: minute 1 A and B, at minute 3 A, B and C (A's 4 and 7 around B's 5 and C's 6), at
#: minute 5 A and C. Worked out by hand, ``(ts, seq)`` order is seq 0 to 11:
#: C0 A1 B2 B3 A4 B5 C6 A7 C8 A9 B10 C11 (a lab-by-lab tie-break would give A4 A7 B5 C6).
HAND = {
    "L01": [(1, 1), (3, 4), (3, 7), (5, 9)],
    "L02": [(1, 2), (2, 3), (3, 5), (6, 10)],
    "L03": [(0, 0), (3, 6), (5, 8), (7, 11)],
}
HAND_LABS = ["L03", "L01", "L02", "L02", "L01", "L02", "L03", "L01", "L03", "L01", "L02", "L03"]


def _lab(lab: str, keys: list[tuple[int, int]]) -> pd.DataFrame:
    return pd.DataFrame({
        "ts": pd.Series([T0 + pd.Timedelta(minutes=m) for m, _ in keys],
                        dtype="datetime64[ns, UTC]"),
        "seq": pd.Series([s for _, s in keys], dtype="int64"),
        "lab": pd.Series([lab] * len(keys), dtype=schema.STRING),
        "account": pd.Series([f"{lab}-{s}" for _, s in keys], dtype=schema.STRING),
    })  # fmt: skip


def _case(held: dict[str, pd.DataFrame], how: str, tmp: Path) -> CaseEvents:
    if how == "spilled":
        return CaseEvents(
            {k: CaseEvents.spill_part(v, tmp / f"{k}.arrow") for k, v in held.items()}
        )
    return CaseEvents({k: narrow(v) if how == "encoded" else v for k, v in held.items()})


def _old_order(held: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The whole table in the order the code before the merge gave: every lab's keys
    put one lab after the other (labs sorted), then ``np.lexsort((seq, ts))``."""
    whole = pd.concat([held[k] for k in sorted(held)], ignore_index=True)
    ts = whole["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    order = np.lexsort((whole["seq"].to_numpy(dtype="int64"), ts))
    return whole.take(order).reset_index(drop=True)


@pytest.mark.parametrize("how", ["spilled", "encoded", "canonical"])
@pytest.mark.parametrize("key_rows", [1, 2, 3, 100])
def test_interleaved_labs_with_shared_instants_by_hand(tmp_path, monkeypatch, how, key_rows):
    import labforensics._order_merge as om
    import labforensics.case_events as ce_mod

    monkeypatch.setattr(om, "KEY_ROWS", key_rows)
    monkeypatch.setattr(ce_mod, "BATCH_ROWS", 3)  # key runs across record batches
    held = {k: _lab(k, v) for k, v in HAND.items()}
    _case(held, how, tmp_path).write_parquet(tmp_path / "e.parquet", chunk_rows=5)
    got = pq.read_table(tmp_path / "e.parquet").to_pandas()
    assert got["seq"].tolist() == list(range(12))
    assert got["lab"].tolist() == HAND_LABS
    assert got["account"].tolist() == [f"{k}-{s}" for s, k in enumerate(HAND_LABS)]
    assert pq.ParquetFile(tmp_path / "e.parquet").metadata.num_row_groups == 3  # 5 + 5 + 2
    # the bytes of the old whole-case sort's order written with the same row groups
    pq.write_table(parquet_table(_old_order(held)), tmp_path / "old.parquet",
                   row_group_size=5, **PARQUET_OPTIONS)  # fmt: skip
    assert (tmp_path / "e.parquet").read_bytes() == (tmp_path / "old.parquet").read_bytes()


def test_equal_keys_in_two_labs_keep_the_lab_order(tmp_path):
    """The same ``(ts, seq)`` in two labs (the contract says ``seq`` is unique; the
    old sort broke such ties by lab, then by each lab's order, and so does the merge):
    L01's rows before L02's at each key, by hand A-0 B-0 A-1 A-1' B-1."""
    a = _lab("L01", [(1, 0), (2, 1), (2, 1)])
    a.loc[2, "account"] = "L01-1b"
    held = {"L02": _lab("L02", [(1, 0), (2, 1)]), "L01": a}
    CaseEvents(held).write_parquet(tmp_path / "e.parquet", chunk_rows=2)
    got = pq.read_table(tmp_path / "e.parquet").to_pandas()
    assert got["account"].tolist() == ["L01-0", "L02-0", "L01-1", "L01-1b", "L02-1"]


def test_merge_equals_the_whole_sort_on_random_labs():
    """Many labs, few distinct instants (ties everywhere, equal keys across labs too):
    the merge's lab of each row is the old whole-case lexsort's, for any block size."""
    rng = np.random.default_rng(17)
    sizes = [0, 1, 37, 250, 5, 120]
    keys = []
    for n in sizes:
        ts = np.sort(rng.integers(-3, 40, n))
        seq = rng.integers(0, 6, n)
        o = np.lexsort((seq, ts))
        keys.append((ts[o].astype("int64"), seq[o].astype("int64")))
    want = np.lexsort((np.concatenate([s for _, s in keys]), np.concatenate([t for t, _ in keys])))
    want_lab = np.concatenate([np.full(n, i) for i, n in enumerate(sizes)])[want]
    readers = [lambda a, b, k=k: (k[0][a:b], k[1][a:b]) for k in keys]
    for key_rows in (1, 2, 7, 64, 1000):
        for chunk_rows in (1, 3, 100, 10_000):
            got = list(merged_labs(sizes, readers, chunk_rows, key_rows=key_rows))
            assert all(len(g) == chunk_rows for g in got[:-1]) and len(got[-1]) <= chunk_rows
            np.testing.assert_array_equal(np.concatenate(got), want_lab)


def test_a_lab_out_of_order_is_refused(tmp_path):
    held = {"L01": _lab("L01", [(1, 0), (3, 2), (2, 4)]), "L02": _lab("L02", [(1, 1)])}
    with pytest.raises(ValueError, match="lab 'L01' are not in evidence order"):
        CaseEvents(held).write_parquet(tmp_path / "e.parquet")
