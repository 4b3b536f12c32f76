"""Numba kernels of the LIS CSV reader: one pass over the bytes per step, no Python per row.

The records' byte ranges are known beforehand (:func:`labforensics.ingest.lis_csv._structure`);
these kernels split each record into fields with the usual CSV state machine
(as Python's :mod:`csv` with ``doublequote=True, strict=False``): a quote opens
a quoted field only at the start of a field, ``""`` inside it is one quote, a
quote elsewhere is a literal character. An empty field that was not quoted is
missing (null); ``""`` is the empty string.

All inputs are UTF-8 bytes (the reader transcodes first).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["count_fields", "fill_columns", "record_hashes"]


@numba.njit(cache=True, nogil=True)
def count_fields(data, rs, ce, sep, quote):  # pragma: no cover - compiled
    """Fields per record (int64) and whether the record ends inside quotes (bool)."""
    n = len(rs)
    counts = np.empty(n, dtype=np.int64)
    open_ = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        k = 1
        state = 0  # 0 field start, 1 unquoted, 2 quoted, 3 quote seen inside quotes
        for i in range(rs[r], ce[r]):
            c = data[i]
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
        counts[r] = k
        open_[r] = state == 2
    return counts, open_


@numba.njit(cache=True, nogil=True)
def _split(data, rs, ce, sep, quote, ncols, fs, fl, fk):  # pragma: no cover - compiled
    """Field content ranges: start, length, kind (0 plain, 1 quoted, 2 needs unescaping).

    A quoted field's range excludes its quotes; kind 2 keeps the raw range
    (``""`` inside, or text after the closing quote) for :func:`_unescape`.
    """
    for r in range(len(rs)):
        i = rs[r]
        end = ce[r]
        col = 0
        while True:
            if i < end and data[i] == quote:
                j = i + 1
                kind = 1
                while j < end:
                    if data[j] == quote:
                        if j + 1 < end and data[j + 1] == quote:
                            kind = 2
                            j += 2
                            continue
                        break
                    j += 1
                if j >= end:  # no closing quote
                    kind = 2
                k = j + 1
                while k < end and data[k] != sep:
                    kind = 2
                    k += 1
                if k > end:
                    k = end
                if col < ncols:
                    fk[r, col] = kind
                    if kind == 1:
                        fs[r, col] = i + 1
                        fl[r, col] = j - i - 1
                    else:
                        fs[r, col] = i
                        fl[r, col] = k - i
                j = k
            else:
                j = i
                while j < end and data[j] != sep:
                    j += 1
                if col < ncols:
                    fk[r, col] = 0
                    fs[r, col] = i
                    fl[r, col] = j - i
            col += 1
            if j >= end:
                break
            i = j + 1
        while col < ncols:  # fewer fields: missing
            fk[r, col] = 0
            fs[r, col] = end
            fl[r, col] = 0
            col += 1


@numba.njit(cache=True, nogil=True)
def _unescape(data, start, stop, quote, out, pos):  # pragma: no cover - compiled
    """Write the value of the raw field ``data[start:stop]`` at ``out[pos:]``; new pos."""
    state = 0
    for i in range(start, stop):
        c = data[i]
        if state == 0:
            if c == quote:
                state = 2
                continue
            state = 1
        elif state == 2:
            if c == quote:
                state = 3
                continue
        elif state == 3:
            state = 2 if c == quote else 1
        if out.size:
            out[pos] = c
        pos += 1
    return pos


@numba.njit(cache=True, nogil=True)
def fill_columns(data, rs, ce, sep, quote, ncols):  # pragma: no cover - compiled
    """Split records into ``ncols`` columns of unescaped UTF-8 bytes.

    Returns ``(out, base, offsets, valid)``: column ``k``'s values are
    ``out[base[k] + offsets[k, i] : base[k] + offsets[k, i + 1]]``; ``valid[k, i]``
    is False for a missing value (an empty field that was not quoted). Extra
    fields are dropped, missing ones are missing.
    """
    n = len(rs)
    fs = np.empty((n, ncols), dtype=np.int64)
    fl = np.empty((n, ncols), dtype=np.int64)
    fk = np.empty((n, ncols), dtype=np.uint8)
    _split(data, rs, ce, sep, quote, ncols, fs, fl, fk)
    # a value is never longer than its raw range: the ranges' sums bound each column
    base = np.zeros(ncols + 1, dtype=np.int64)
    for r in range(n):
        for k in range(ncols):
            base[k + 1] += fl[r, k]
    for k in range(ncols):
        base[k + 1] += base[k]
    out = np.empty(base[ncols], dtype=np.uint8)
    offsets = np.zeros((ncols, n + 1), dtype=np.int64)
    valid = np.zeros((ncols, n), dtype=np.bool_)
    pos = base[:ncols].copy()
    for r in range(n):
        for k in range(ncols):
            s = fs[r, k]
            ln = fl[r, k]
            kind = fk[r, k]
            p = pos[k]
            if kind == 2:
                p = _unescape(data, s, s + ln, quote, out, p)
            else:
                for t in range(ln):
                    out[p + t] = data[s + t]
                p += ln
            pos[k] = p
            offsets[k, r + 1] = p - base[k]
            valid[k, r] = kind != 0 or ln > 0
    return out, base, offsets, valid


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
