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

Memory: the labs' results wait on the workers between passes, counted by what they hold
(:mod:`labforensics.engine._sizeof`, registered on every worker: Dask's own count of an
object it has no rule for is a few hundred bytes, so it never spilled them). Given a
``memory_budget``,
the local cluster's workers each get an equal share of it as their ``memory_limit``, and
Dask's own worker memory management moves results to disk above 60 % of it and writes
the least recently used ones out above 70 % (``distributed.worker.memory.target`` and
``.spill``, Dask's defaults: "Worker Memory Management", distributed documentation), in a
private folder (``tempfile.mkdtemp``: this user only) removed by :meth:`close`; the
cluster's every scratch space (the workers' and the scheduler's ``dask-scratch-space``
and its lock files, which Dask otherwise leaves in the system's temporary folder) lies in
it too (``temporary-directory`` set for the cluster's start only). Pausing
and killing a worker above its limit are switched off for these workers
(``distributed.worker.memory.pause`` / ``.terminate`` false): a lab's first pass may
exceed a share of the budget for a moment (one lab is processed whole, see
:class:`~labforensics.engine.run.LabRun`), and a killed or paused worker would fail or
stall the run rather than finish it. On a cluster of your own (``scheduler``), the
workers' limits and spill folders are theirs (``dask worker --memory-limit
--local-directory``): the budget is not sent to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from .._terminal import visible
from ..errors import ParameterError
from ._sizeof import SizeofPlugin

__all__ = ["DaskEngine", "N_WORKERS", "worker_memory_limit"]

#: Worker processes of the local cluster (one thread each: the labs' passes hold the GIL).
N_WORKERS = 2

#: Seconds each worker of the engine's own cluster is given to exit at the close of a run
#: that ended well, before its nanny kills it (Dask's own close gives 4: a worker still
#: freeing a lab's results on a loaded machine was killed with a
#: ``Worker process still alive after 4.0 seconds, killing`` warning on every such run).
WORKER_EXIT_S = 30.0

#: Dask settings for the local cluster's workers (see the module doc): spill at Dask's
#: default fractions, never pause nor kill a worker for its memory.
WORKER_MEMORY_CONFIG: dict[str, Any] = {
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": False,
}


def worker_memory_limit(memory_budget: int | None, n_workers: int = N_WORKERS) -> int | str:
    """Each local worker's ``memory_limit``: an equal share of ``memory_budget``.

    Parameters
    ----------
    memory_budget : int or None
        The run's memory budget in bytes; None: Dask's ``"auto"`` (the machine's memory
        shared between the workers).
    n_workers : int, default :data:`N_WORKERS`

    Returns
    -------
    int or str
        Bytes per worker (at least 1), or ``"auto"``.

    Raises
    ------
    ParameterError
        When ``memory_budget`` is not positive or ``n_workers`` is below 1.

    Examples
    --------
    >>> worker_memory_limit(2_000_000_000)
    1000000000
    >>> worker_memory_limit(None)
    'auto'
    """
    if n_workers < 1:
        raise ParameterError(f"n_workers must be at least 1, not {n_workers}")
    if memory_budget is None:
        return "auto"
    if int(memory_budget) <= 0:
        raise ParameterError(
            f"memory_budget must be a positive number of bytes, not {memory_budget}"
        )
    return max(int(memory_budget) // n_workers, 1)


class DaskEngine:
    """Runs each per-lab function as a Dask task (see the module doc).

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); None starts a
        ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``.
    client : distributed.Client, optional
        An existing client to use (not closed by :meth:`close`).
    memory_budget : int, optional
        Bytes, for the local cluster started when ``scheduler`` and ``client`` are None:
        each worker's ``memory_limit`` is its share (:func:`worker_memory_limit`) and
        results above Dask's spill fractions go to a private folder (module doc).

    Raises
    ------
    ParameterError
        When dask.distributed is not installed, or ``scheduler`` is malformed or
        cannot be reached (after Dask's connect timeout,
        ``distributed.comm.timeouts.connect``, 30 s by default).
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, client: Any = None,
                 memory_budget: int | None = None) -> None:  # fmt: skip
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ParameterError(
                "engine='dask' needs dask.distributed: pip install 'labforensics[scale]'"
            ) from exc
        self._cluster = None
        self._own = client is None
        self._step = 0
        #: the local workers' spill folder (None on a cluster of one's own)
        self.spill_dir: str | None = None
        if client is not None:
            self.client = client
        elif scheduler is None:
            limit = worker_memory_limit(memory_budget)
            self.spill_dir = tempfile.mkdtemp(prefix="labforensics-dask-")
            # removed by close(); at the latest when the engine is collected or Python exits
            weakref.finalize(self, shutil.rmtree, self.spill_dir, ignore_errors=True)
            # the nannies pass the config to the workers; every server of the cluster (the
            # scheduler too) makes its scratch space, dask-scratch-space/ and its lock
            # files, in temporary-directory: the private folder, for this cluster only
            with dask.config.set({**WORKER_MEMORY_CONFIG, "temporary-directory": self.spill_dir}):
                self._cluster = LocalCluster(n_workers=N_WORKERS, threads_per_worker=1,
                                             processes=True, dashboard_address=":0",
                                             memory_limit=limit,
                                             local_directory=self.spill_dir)  # fmt: skip
            self.client = Client(self._cluster)
        else:
            try:
                self.client = Client(scheduler)
            except (OSError, ValueError, TypeError) as exc:  # unreachable, malformed
                raise ParameterError(
                    f"cannot use the Dask scheduler {visible(str(scheduler), keep='')}: "
                    f"{visible(str(exc), keep='')} (give its address as tcp://HOST:PORT, "
                    "the scheduler running and reachable)"
                ) from None

        # the workers count a lab's results by what they hold, so that they spill them
        self.client.register_plugin(SizeofPlugin(), name=SizeofPlugin.name)

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
        """Close the client and the cluster this engine started.

        Closed while no exception is being raised (a run that ended well), the own
        cluster's workers are first asked to exit and given :data:`WORKER_EXIT_S`
        seconds before being killed, so that a normal close says nothing; one still
        alive then is warned about as Dask does. Closed while an exception propagates (a
        failed or interrupted run), Dask's own quick close is kept, its warnings too.
        """
        if self._cluster is not None and sys.exc_info()[1] is None:
            self._stop_workers(WORKER_EXIT_S)
        if self._own:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
        if self.spill_dir is not None:
            shutil.rmtree(self.spill_dir, ignore_errors=True)

    def _stop_workers(self, timeout: float) -> None:
        """Close the own cluster's workers (their nannies), ``timeout`` seconds each."""
        nannies = list(getattr(self._cluster, "workers", {}).values())

        async def stop() -> None:
            await asyncio.gather(
                *(n.close(timeout=timeout, reason="labforensics-close") for n in nannies),
                return_exceptions=True,
            )

        with contextlib.suppress(Exception):  # the cluster's own close follows regardless
            self._cluster.sync(stop)
