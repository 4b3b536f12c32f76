"""The Dask engine: the per-lab functions as ``dask.distributed`` tasks, one per lab.

:class:`DaskEngine` gives :class:`~labforensics.engine.run.LabRun` the same two
primitives as :class:`~labforensics.engine.run.LocalEngine`: ``map`` submits one task
per lab (``Client.submit``, pure=False, keyed by step and lab) whose result stays on
the worker that computed it; ``gather`` brings back only what the client needs (the
labs' summaries and counts, the fit samples, the scored rows, and at the end the labs'
sessions, events and exports for the whole-case stages). Events are never shuffled:
with a store, a lab's task reads that lab's Parquet parts itself
(:class:`~labforensics.engine.partitions.StorePartition`), so the store must be on a
file system every worker sees under the same path; from files, each lab's events are
sent with its task.

Requires the ``scale`` extra (``pip install 'labforensics[scale]'``:
``dask[distributed]``). With ``scheduler=None`` a ``LocalCluster`` of two worker
processes of one thread each is started for the run and closed by :meth:`close`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ParameterError

__all__ = ["DaskEngine"]


class DaskEngine:
    """Runs each per-lab function as a Dask task (see the module doc).

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); None starts a
        ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``.
    client : distributed.Client, optional
        An existing client to use (not closed by :meth:`close`).

    Raises
    ------
    ParameterError
        When dask.distributed is not installed.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, client: Any = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ParameterError(
                "engine='dask' needs dask.distributed: pip install 'labforensics[scale]'"
            ) from exc
        self._cluster = None
        self._own = client is None
        self._step = 0
        if client is not None:
            self.client = client
        elif scheduler is None:
            self._cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         dashboard_address=":0")  # fmt: skip
            self.client = Client(self._cluster)
        else:
            self.client = Client(scheduler)

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any) -> list[Any]:
        """One task per item: ``fn(item, *args)``; futures, in item order.

        Arguments shared by every task (the settings, the summaries, the models) are
        sent to the workers once (``Client.scatter``), not once per task.
        """
        self._step += 1
        shared = [
            a if a is None or isinstance(a, int | float | str)
            else self.client.scatter([a], broadcast=True, hash=False)[0]
            for a in args
        ]  # fmt: skip
        return [
            self.client.submit(fn, x, *shared, pure=False, key=f"{fn.__name__}-{self._step}-{i}")
            for i, x in enumerate(items)
        ]

    def gather(self, handles: Sequence[Any]) -> list[Any]:
        """The futures' results, in order (raises the first task's error)."""
        return list(self.client.gather(list(handles)))

    def release(self, handles: Sequence[Any]) -> None:
        """Forget the futures (their results are freed on the workers)."""
        for f in handles:
            f.release()

    def close(self) -> None:
        """Close the client and the cluster this engine started."""
        if self._own:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
