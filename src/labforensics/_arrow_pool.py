"""The Arrow memory pool labforensics allocates from while it builds large tables.

pyarrow's default pool on Linux is mimalloc. On the ingest workload (millions
of short strings parsed, combined, permuted and freed in a few seconds) the
bundled mimalloc returns freed pages to the system and faults them back in so
often that ``read_evidence`` spends a third of its CPU time in page faults:
``benchmarks/ingest.py`` measured 5.8-6.2 s wall and 9.1-9.7 CPU-s with
mimalloc against 3.7-4.1 s and 5.9-6.4 CPU-s with jemalloc (pyarrow 26.0.1,
2,000,000 events in 200 files), with a lower peak (1.95 GB against 2.07 GB).

:func:`arrow_memory_pool` makes jemalloc the default pool for the duration of a
block and puts the previous one back afterwards (buffers remember the pool
they came from, so freeing them later is safe). It changes nothing when the
user chose a pool (``ARROW_DEFAULT_MEMORY_POOL`` set) or when this pyarrow
build has no jemalloc (Windows wheels). Nested and concurrent blocks are
counted, so the pool is restored when the last one ends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

__all__ = ["arrow_memory_pool"]

_lock = threading.Lock()
_depth = 0
_saved: pa.MemoryPool | None = None


def _jemalloc() -> pa.MemoryPool | None:
    try:
        return pa.jemalloc_memory_pool()
    except (NotImplementedError, AttributeError, pa.ArrowException):
        return None


@contextmanager
def arrow_memory_pool() -> Iterator[pa.MemoryPool]:
    """Use jemalloc as pyarrow's default memory pool inside the block.

    Yields
    ------
    pyarrow.MemoryPool
        The pool in force inside the block (jemalloc, or the unchanged default
        when the user set ``ARROW_DEFAULT_MEMORY_POOL`` or jemalloc is absent).
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = None
            pool = None if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") else _jemalloc()
            if pool is not None:
                _saved = pa.default_memory_pool()
                pa.set_memory_pool(pool)
        _depth += 1
        current = pa.default_memory_pool()
    try:
        yield current
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                pa.set_memory_pool(_saved)
                _saved = None
