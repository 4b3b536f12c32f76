"""A successful Dask run closes its own cluster quietly (QA, session 16, item 5).

Every ``--engine dask`` run ended with ``distributed.nanny - WARNING - Worker process
still alive after 4.0 seconds, killing``: Dask's close gives a worker 4 seconds to exit.
A run that ended well now gives its workers :data:`~labforensics.engine.dask.WORKER_EXIT_S`
seconds; a run that fails keeps Dask's quick close and its warnings.
"""

from __future__ import annotations

import pytest
from dask_run import run_dask_script

pytest.importorskip("distributed")


@pytest.mark.slow
def test_a_successful_dask_run_says_nothing_on_stderr(tmp_path):
    main = """
        res = investigate([ev], root / "out", engine="dask", progress=False)
        print("dask", len(res.evidence.events), flush=True)
    """
    p = run_dask_script(tmp_path, main)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.splitlines() == ["dask 6"]  # both labs' 3 events each
    assert "still alive" not in p.stderr
    assert not [x for x in p.stderr.splitlines() if " - WARNING - " in x or " - ERROR - " in x]


class _Cluster:
    """Stands for a LocalCluster: records the engine's calls."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.workers: dict[str, object] = {}

    def sync(self, fn):
        self.calls.append("stop workers")

    def close(self):
        self.calls.append("cluster close")


class _Client:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def close(self):
        self.calls.append("client close")


def _engine(calls: list[str]):
    from labforensics.engine.dask import DaskEngine

    eng = object.__new__(DaskEngine)
    eng._cluster, eng.client, eng._own, eng.spill_dir = _Cluster(calls), _Client(calls), True, None
    return eng


def test_a_normal_close_stops_the_workers_first():
    calls: list[str] = []
    _engine(calls).close()
    assert calls == ["stop workers", "client close", "cluster close"]


def test_a_close_while_a_run_fails_keeps_dasks_quick_close():
    # the workers are not waited for: Dask's own close, and its warnings, as before
    calls: list[str] = []
    eng = _engine(calls)
    with pytest.raises(RuntimeError):
        try:
            raise RuntimeError("a stage failed")
        finally:
            eng.close()
    assert calls == ["client close", "cluster close"]
