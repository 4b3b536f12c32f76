"""The Dask engine's local workers share the memory budget and spill above it (issue 17).

Dask's worker memory management (``distributed.worker.memory.target``, 0.6 of the
worker's ``memory_limit`` by default) moves task results to disk once the results held
exceed the target; the engine gives each of its two local workers half of the budget
and a private folder, removed by ``close``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from labforensics.errors import ParameterError

pytest.importorskip("distributed")

from labforensics.engine.dask import N_WORKERS, DaskEngine, worker_memory_limit
from labforensics.engine.run import make_engine


def test_worker_memory_limit_is_an_equal_share_of_the_budget():
    assert worker_memory_limit(2_000_000_000) == 1_000_000_000
    assert worker_memory_limit(3, n_workers=2) == 1  # floor, never 0
    assert worker_memory_limit(1, n_workers=2) == 1
    assert worker_memory_limit(900, n_workers=3) == 300
    assert worker_memory_limit(None) == "auto"
    with pytest.raises(ParameterError, match="positive"):
        worker_memory_limit(0)
    with pytest.raises(ParameterError, match="at least 1"):
        worker_memory_limit(10, n_workers=0)


def _block(i: int) -> np.ndarray:
    return np.full(10_000_000, i, dtype=np.int64)  # 80 MB held as the task's result


def _spilled(dask_worker) -> int:  # runs on each worker (Client.run)
    return len(dask_worker.data.slow)


@pytest.mark.slow
def test_local_workers_get_the_budget_and_spill_results_to_a_private_folder():
    budget = 2 * 250 * 1024**2  # 250 MiB a worker: results above 150 MiB go to disk
    eng = make_engine("dask", memory_budget=budget)
    folder = Path(eng.spill_dir)
    try:
        assert isinstance(eng, DaskEngine)
        info = eng.client.scheduler_info()["workers"]
        assert len(info) == N_WORKERS
        assert sorted(w["memory_limit"] for w in info.values()) == [budget // 2] * 2
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700  # this user only
        # six 80 MB results, three a worker: above 60 % of 250 MiB, so some wait on disk
        handles = eng.map(_block, list(range(6)))
        eng.client.wait_for_workers(N_WORKERS)
        from distributed import wait

        wait(handles)
        spilled = eng.client.run(_spilled)
        assert sum(spilled.values()) >= 1, spilled
        # what was spilled comes back whole
        back = eng.gather(handles)
        assert [int(b[0]) for b in back] == list(range(6))
        assert all(len(b) == 10_000_000 and (b == b[0]).all() for b in back)
        # the workers' spill files are inside the engine's private folder
        assert any(p.is_file() for p in folder.rglob("*"))
    finally:
        eng.close()
    assert not folder.exists()


def test_a_cluster_of_ones_own_gets_no_local_folder():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                           dashboard_address=":0")  # fmt: skip
    client = Client(cluster)
    try:
        eng = DaskEngine(client=client, memory_budget=10**9)
        assert eng.spill_dir is None
        eng.close()  # the client is the caller's: still open
        assert client.status == "running"
    finally:
        client.close()
        cluster.close()
