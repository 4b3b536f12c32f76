"""Numba kernels of the LIS CSV reader's record structure: one pass over the bytes per step.

The records' byte ranges are known beforehand (:func:`labforensics.ingest._lis_structure._structure`).
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

__all__ = ["blank_ranges", "cr_runs", "line_scan", "scan_records"]


@numba.njit(cache=True, nogil=True)
def line_scan(data, quote):  # pragma: no cover - compiled
    """Line ends and quote parity of each physical line, in one pass over the bytes.

    Returns ``(nl, odd)``: the position of every line feed (int64, ascending) and,
    per line (the bytes before its line feed, after the previous one), whether it
    holds an odd number of ``quote`` bytes (bool). Bytes after the last line feed
    belong to no line (the reader always ends the data with one).
    """
    n_nl = 0
    for i in range(len(data)):
        if data[i] == 10:
            n_nl += 1
    nl = np.empty(n_nl, dtype=np.int64)
    odd = np.empty(n_nl, dtype=np.bool_)
    j = 0
    q = 0
    for i in range(len(data)):
        c = data[i]
        if c == quote:
            q ^= 1
        elif c == 10:
            nl[j] = i
            odd[j] = q == 1
            j += 1
            q = 0
    return nl, odd


@numba.njit(cache=True, nogil=True)
def scan_records(data, rs, ce, sep, quote):  # pragma: no cover - compiled
    """Width, quoting and hash of each record ``data[rs[i]:ce[i]]``, in one pass.

    Returns ``(counts, open_, bad_break, quoted_break, hashes)``: fields per record
    (int64); whether the record ends inside quotes; whether it holds a line break
    (CR or LF) outside quotes (a run of CRs at its very end excepted: a line end,
    as pyarrow reads it); whether it holds one inside quotes (bools); the FNV-1a
    64-bit hash of the record's bytes ``rs[i]:ce[i]`` (trailing CRs included), as
    int64, for rotation de-duplication.
    """
    n = len(rs)
    counts = np.empty(n, dtype=np.int64)
    open_ = np.zeros(n, dtype=np.bool_)
    bad_break = np.zeros(n, dtype=np.bool_)
    quoted_break = np.zeros(n, dtype=np.bool_)
    hashes = np.empty(n, dtype=np.uint64)
    prime = np.uint64(1099511628211)
    for r in range(n):
        k = 1
        state = 0  # 0 field start, 1 unquoted, 2 quoted, 3 quote seen inside quotes
        h = np.uint64(14695981039346656037)
        end = ce[r]
        while end > rs[r] and data[end - 1] == 13:  # trailing CRs: checked below
            end -= 1
        for i in range(rs[r], end):
            c = data[i]
            h = (h ^ np.uint64(c)) * prime
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
        for i in range(end, ce[r]):  # the trailing CRs are part of the hashed text
            h = (h ^ np.uint64(data[i])) * prime
        if state == 2 and end < ce[r]:  # the trailing CRs are inside the open quote
            quoted_break[r] = True
        counts[r] = k
        open_[r] = state == 2
        hashes[r] = h
    return counts, open_, bad_break, quoted_break, hashes.view(np.int64)


@numba.njit(cache=True, nogil=True)
def blank_ranges(buf, starts, ends):  # pragma: no cover - compiled
    """Overwrite ``buf[starts[i]:ends[i]]`` with line feeds (empty lines), in place."""
    for r in range(len(starts)):
        for i in range(starts[r], ends[r]):
            buf[i] = 10


@numba.njit(cache=True, nogil=True)
def cr_runs(data, rs, ce, sep, quote, cap):  # pragma: no cover - compiled
    """The runs of bare CRs outside quotes inside each record ``data[rs[i]:ce[i]]``.

    A bare CR is a carriage return not followed by a line feed. The record is walked
    with the state machine of :func:`scan_records`, each CR read as an ordinary
    character (as it is when it is kept as data); a run of CRs at the record's very
    end is its line end (as pyarrow reads it) and a run followed by a line feed is
    a line end inside a record joined over lines: neither is a run.

    Returns ``(run_rec, run_a, run_b, lf_out)``: for each run (at most ``cap``, in
    record then byte order) its record (index into ``rs``), first byte and end
    (int64); per record, whether it holds a line feed (or a CR run followed by one)
    outside quotes (bool).
    """
    n = len(rs)
    run_rec = np.empty(cap, dtype=np.int64)
    run_a = np.empty(cap, dtype=np.int64)
    run_b = np.empty(cap, dtype=np.int64)
    lf_out = np.zeros(n, dtype=np.bool_)
    m = 0
    for r in range(n):
        end = ce[r]
        while end > rs[r] and data[end - 1] == 13:
            end -= 1
        state = 0  # as scan_records: 0 field start, 1 unquoted, 2 quoted, 3 quote in quotes
        i = rs[r]
        while i < end:
            c = data[i]
            if state != 2 and c == 10:
                lf_out[r] = True
            elif state != 2 and c == 13:
                j = i
                while j < end and data[j] == 13:
                    j += 1
                if j < end and data[j] == 10:
                    lf_out[r] = True
                elif m < cap:
                    run_rec[m] = r
                    run_a[m] = i
                    run_b[m] = j
                    m += 1
                state = 1  # the CRs read as ordinary characters
                i = j
                continue
            if state == 0:
                if c == quote:
                    state = 2
                elif c != sep:
                    state = 1
            elif state == 1:
                if c == sep:
                    state = 0
            elif state == 2:
                if c == quote:
                    state = 3
            else:
                if c == quote:
                    state = 2
                elif c == sep:
                    state = 0
                else:
                    state = 1
            i += 1
    return run_rec[:m], run_a[:m], run_b[:m], lf_out
