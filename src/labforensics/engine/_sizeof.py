"""The size Dask's workers count for a lab's results, so that they spill them (issue 17).

A Dask worker keeps each task's result in memory and writes the least recently used
ones to disk once the results it manages exceed a fraction of its ``memory_limit``
(``distributed.worker.memory.target`` / ``.spill``, "Worker Memory Management",
distributed documentation). What it counts is ``dask.sizeof.sizeof`` of each result, and
for an object it has no rule for, ``sizeof`` falls back on :func:`sys.getsizeof`: the
few hundred bytes of the object itself. A lab's results
(:class:`~labforensics.engine.lab.LabPart`: its events dictionary-encoded, sessions,
exports, features) and its scored rows (:func:`~labforensics.engine.model.score_lab`'s
dict of frames) were so counted as nearly nothing, never spilled, and at 32.9 M events
a two-worker run held every lab's results in its workers at once: 13,155 MiB at the
detection stage (session 16), while the workers reported "unmanaged memory".

:func:`result_size` counts such an object as the sum of what it holds (pandas, numpy and
Arrow objects by Dask's own rules, which count their buffers), and
:class:`SizeofPlugin` registers it on every worker of the run's client, those started
later included (``Client.register_plugin``; Dask's documented extension point:
``sizeof.register``). Nothing changes in the results: only what Dask keeps in memory.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from .lab import LabPart

try:  # the scale extra (dask.distributed): this module is used only by the Dask engine
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - depends on the environment
    _WorkerPlugin = object  # type: ignore[assignment,misc]

__all__ = ["SizeofPlugin", "register", "result_size"]

#: Types counted by Dask's own ``sizeof`` rules (their buffers), by module name.
_BUFFERED_MODULES = ("pandas", "numpy", "pyarrow")


def result_size(obj: Any) -> int:
    """Bytes held by ``obj`` and everything it refers to, for Dask's memory manager.

    Parameters
    ----------
    obj : object
        A per-lab result: a :class:`~labforensics.engine.lab.LabPart`, a dict of frames,
        a dataclass or any object with attributes, nested.

    Returns
    -------
    int
        The sum over what ``obj`` holds: pandas, numpy and Arrow objects by
        ``dask.sizeof.sizeof`` (their buffers; a frame's text columns included), dicts,
        lists, tuples and sets by their items, dataclasses and other objects by their
        attributes, anything else by :func:`sys.getsizeof`. An object reached twice
        counts once.

    Examples
    --------
    >>> import numpy as np
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Held:
    ...     values: np.ndarray
    >>> result_size(Held(np.zeros(1_000_000))) >= 8_000_000
    True
    """
    from dask.sizeof import sizeof

    seen: set[int] = set()

    def size(x: Any) -> int:
        if id(x) in seen:
            return 0
        seen.add(id(x))
        if type(x).__module__.split(".", 1)[0] in _BUFFERED_MODULES:
            return int(sizeof(x))
        if isinstance(x, dict):
            return sys.getsizeof(x) + sum(size(k) + size(v) for k, v in x.items())
        if isinstance(x, list | tuple | set | frozenset):
            return sys.getsizeof(x) + sum(size(v) for v in x)
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            return sys.getsizeof(x) + sum(size(getattr(x, f.name)) for f in dataclasses.fields(x))
        if hasattr(x, "__dict__") and not isinstance(x, type):
            return sys.getsizeof(x) + sum(size(v) for v in vars(x).values())
        return sys.getsizeof(x)

    return size(obj)


def register() -> None:
    """Count a :class:`~labforensics.engine.lab.LabPart` by :func:`result_size` in this
    process's ``dask.sizeof.sizeof`` (a dict of frames already is: Dask sums a dict's
    items)."""
    from dask.sizeof import sizeof

    sizeof.register(LabPart)(result_size)


class SizeofPlugin(_WorkerPlugin):  # type: ignore[misc,valid-type]
    """A Dask worker plugin: :func:`register` on every worker as it starts or joins
    (given to ``Client.register_plugin``)."""

    name = "labforensics-sizeof"

    def setup(self, worker: Any) -> None:
        """Register the size rule in the worker's process."""
        register()
