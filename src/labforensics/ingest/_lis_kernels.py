"""Numba kernels of the LIS CSV reader's record structure: one pass over the bytes per step.

The records' byte ranges are known beforehand (:func:`labforensics.ingest.lis_csv._structure`).
These kernels only check each record's width and quoting (the CSV state machine of
Python's :mod:`csv` with ``doublequote=True, strict=False``, which is also
pyarrow's: a quote opens a quoted field only at the start of a field, ``""``
inside it is one quote, a quote elsewhere is a literal character), hash records
for rotation, and blank the records that are not handed to the parser. The
fields themselves are split and unquoted by :func:`pyarrow.csv.read_csv`.

All inputs are UTF-8 bytes (the reader transcodes first).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["blank_ranges", "count_fields", "record_hashes"]


@numba.njit(cache=True, nogil=True)
def count_fields(data, rs, ce, sep, quote):  # pragma: no cover - compiled
    """Width and quoting of each record ``data[rs[i]:ce[i]]``.

    Returns ``(counts, open_, bad_break, quoted_break)``: fields per record
    (int64); whether the record ends inside quotes; whether it holds a line break
    (CR or LF) outside quotes (a run of CRs at its very end excepted: a line end,
    as pyarrow reads it); whether it holds one inside quotes (bools).
    """
    n = len(rs)
    counts = np.empty(n, dtype=np.int64)
    open_ = np.zeros(n, dtype=np.bool_)
    bad_break = np.zeros(n, dtype=np.bool_)
    quoted_break = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        k = 1
        state = 0  # 0 field start, 1 unquoted, 2 quoted, 3 quote seen inside quotes
        end = ce[r]
        while end > rs[r] and data[end - 1] == 13:  # trailing CRs: checked below
            end -= 1
        for i in range(rs[r], end):
            c = data[i]
            if c == 10 or c == 13:
                if state == 2:
                    quoted_break[r] = True
                else:
                    bad_break[r] = True
            if state == 0:
                if c == quote:
                    state = 2
                elif c == sep:
                    k += 1
                else:
                    state = 1
            elif state == 1:
                if c == sep:
                    k += 1
                    state = 0
            elif state == 2:
                if c == quote:
                    state = 3
            else:
                if c == quote:
                    state = 2
                elif c == sep:
                    k += 1
                    state = 0
                else:
                    state = 1
        if state == 2 and end < ce[r]:  # the trailing CRs are inside the open quote
            quoted_break[r] = True
        counts[r] = k
        open_[r] = state == 2
    return counts, open_, bad_break, quoted_break


@numba.njit(cache=True, nogil=True)
def blank_ranges(buf, starts, ends):  # pragma: no cover - compiled
    """Overwrite ``buf[starts[i]:ends[i]]`` with line feeds (empty lines), in place."""
    for r in range(len(starts)):
        for i in range(starts[r], ends[r]):
            buf[i] = 10


@numba.njit(cache=True, nogil=True)
def record_hashes(data, rs, ce):  # pragma: no cover - compiled
    """FNV-1a 64-bit hash of each record's bytes ``data[rs[i]:ce[i]]`` (as int64)."""
    n = len(rs)
    out = np.empty(n, dtype=np.uint64)
    prime = np.uint64(1099511628211)
    for r in range(n):
        h = np.uint64(14695981039346656037)
        for i in range(rs[r], ce[r]):
            h = (h ^ np.uint64(data[i])) * prime
        out[r] = h
    return out.view(np.int64)
