"""Dask's workers count a lab's results by what they hold, so they spill them (issue 17).

At 32.9 M events a two-worker run held every lab's results on its workers at once
(13,155 MiB at detection, session 16): Dask counted a
:class:`~labforensics.engine.lab.LabPart` by :func:`sys.getsizeof`, a few hundred bytes,
and never spilled it. :mod:`labforensics.engine._sizeof` counts it by its contents on
every worker of the engine's client.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from labforensics.engine._sizeof import result_size
from labforensics.engine.lab import LabPart

N = 10_000_000  # int64: 80,000,000 bytes of column


def _part(i: int) -> LabPart:
    """A lab's results holding one 80 MB column (the other fields left empty)."""
    exports = pd.DataFrame({"records": np.full(N, i, dtype=np.int64)})
    return LabPart(lab=f"L{i:02d}", sessions=None, exports=exports, features=None)  # type: ignore[arg-type]


def test_result_size_counts_what_a_part_holds():
    part = _part(1)
    got = result_size(part)
    # the column's 80,000,000 bytes, the index and the objects around it (a few kB)
    assert 80_000_000 <= got < 80_000_000 + 100_000
    assert sys.getsizeof(part) < 1_000  # what Dask counted before
    # nested: a dict of frames and a frame reached twice (counted once)
    df = pd.DataFrame({"a": np.zeros(1_000_000)})  # 8,000,000 bytes
    nested = {"session": {"out": df, "same": df}, "n": 3}
    assert 8_000_000 <= result_size(nested) < 8_000_000 + 10_000


def _spilled(dask_worker) -> int:  # runs on each worker (Client.run)
    return len(dask_worker.data.slow)


def _counted(dask_worker) -> list[int]:  # the bytes each held result is counted for
    return [int(ts.nbytes) for ts in dask_worker.state.tasks.values() if ts.state == "memory"]


@pytest.mark.slow
def test_the_engine_workers_spill_lab_parts():
    from distributed import wait

    from labforensics.engine.dask import N_WORKERS
    from labforensics.engine.run import make_engine

    budget = 2 * 250 * 1024**2  # 250 MiB a worker: results above 150 MiB go to disk
    eng = make_engine("dask", memory_budget=budget)
    try:
        handles = eng.map(_part, list(range(6)))  # six 80 MB parts, three a worker
        eng.client.wait_for_workers(N_WORKERS)
        wait(handles)
        counted = [n for ns in eng.client.run(_counted).values() for n in ns]
        assert counted and min(counted) >= 80_000_000  # counted by contents, not ~200 B
        assert sum(eng.client.run(_spilled).values()) >= 1  # so some wait on disk
        back = eng.gather(handles)
        assert [int(p.exports["records"].iloc[0]) for p in back] == list(range(6))
        assert all(len(p.exports) == N for p in back)
    finally:
        eng.close()
