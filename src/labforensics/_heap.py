"""The caller's objects left out of a run's garbage collections.

A run collects reference cycles between its stages
(:func:`labforensics.engine.partitions.release_memory`: pandas objects held in cycles
keep their columns until the collector runs). A full collection visits every tracked
object of the process, the caller's too: a notebook's tables, a test session's
fixtures (each element of an object column is visited). Measured in this project's test
suite (session 19): the same investigation took longer the more the process already
held, the collections of a small fixture's run growing from 0.2 s to seconds.

:func:`caller_heap_frozen` moves the objects alive when the run starts into the
collector's permanent generation (:func:`gc.freeze`, Python 3.7+), so the run's
collections visit only what the run made, and gives them back when it ends
(:func:`gc.unfreeze`). Nothing the run returns changes: cycles among the caller's
objects are collected at the caller's next collection, as they would have been had the
run not collected. Nested or concurrent runs of one process freeze once (a counter).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_DEPTH = 0


@contextmanager
def caller_heap_frozen() -> Iterator[None]:
    """Freeze the objects alive at entry for the collections inside the block.

    Examples
    --------
    >>> import gc
    >>> held = [[] for _ in range(3)]
    >>> with caller_heap_frozen():
    ...     gc.get_freeze_count() >= 3
    True
    >>> gc.get_freeze_count()
    0
    """
    global _DEPTH
    with _LOCK:
        if _DEPTH == 0:
            gc.freeze()
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                gc.unfreeze()


__all__ = ["caller_heap_frozen"]
