"""The evidence order of a case's labs, merged from their sorted runs block by block.

:meth:`labforensics.case_events.CaseEvents.write_parquet` writes every event in
evidence order, ``(ts, seq)`` with the labs' order breaking ties (a stable sort of the
labs' events put one lab after the other). Each lab's events are already in that order,
so the case's order is a merge of the labs' runs: :func:`merged_labs` gives, chunk by
chunk, the lab of each row of the case in that order, reading each lab's ``ts`` and
``seq`` a block of :data:`KEY_ROWS` at a time. It holds at most about two blocks of keys
a lab and the chunk being made (16 bytes a key; 30 labs: about 16 MiB), whatever the
case's size, where sorting the whole case's keys at once took about 30 bytes an event
(about 1 GB at 36 M events, session 13). No stage is imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

__all__ = ["KEY_ROWS", "key_arrays", "merged_labs"]

#: Keys (``ts``, ``seq``) read from a lab at a time by :func:`merged_labs`.
KEY_ROWS = 16_384

#: Reads a lab's keys ``[start, stop)``: ``(ts, seq)`` as int64 arrays (``ts`` in ns).
KeyReader = Callable[[int, int], tuple[np.ndarray, np.ndarray]]


def key_arrays(ts: pd.Series, seq: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Events' sort keys: ``ts`` as int64 nanoseconds (NaT the smallest) and ``seq``.

    Parameters
    ----------
    ts : pandas.Series
        The events' instants (any datetime dtype).
    seq : pandas.Series
        The events' evidence numbers (integers, no missing value).

    Returns
    -------
    tuple of numpy.ndarray
        ``(ts, seq)``, int64 each, new arrays (sharing no buffer with the input).
    """
    t = (pd.to_datetime(ts, utc=True).dt.as_unit("ns")
         .to_numpy(dtype="datetime64[ns]").view("int64"))  # fmt: skip
    return np.array(t, dtype="int64", copy=True), np.array(seq.to_numpy(dtype="int64"), copy=True)


class _Run:
    """One lab's keys not yet merged: a window of them, refilled a block at a time."""

    def __init__(self, i: int, size: int, read: KeyReader, name: object) -> None:
        self.i, self.size, self.read, self.name = i, int(size), read, name
        self.got = 0  # keys read so far
        self.ts = np.empty(0, dtype="int64")
        self.seq = np.empty(0, dtype="int64")
        self.last: tuple[int, int] | None = None  # the last key read

    @property
    def done(self) -> bool:
        return self.got >= self.size

    def fill(self, rows: int) -> None:
        if len(self.ts) >= rows or self.done:
            return
        stop = min(self.size, self.got + rows)
        ts, seq = self.read(self.got, stop)
        if len(ts) != stop - self.got:
            raise ValueError(f"lab {self.name!r}: {len(ts)} keys read, {stop - self.got} asked")
        if len(ts):
            t0, s0 = (ts[:1], seq[:1]) if self.last is None else ([self.last[0]], [self.last[1]])
            dt = np.diff(ts, prepend=t0)
            if ((dt < 0) | ((dt == 0) & (np.diff(seq, prepend=s0) < 0))).any():
                raise ValueError(
                    f"the events of lab {self.name!r} are not in evidence order (ts, seq)"
                )
            self.last = (int(ts[-1]), int(seq[-1]))
        self.ts = np.concatenate([self.ts, ts])
        self.seq = np.concatenate([self.seq, seq])
        self.got = stop

    def upto(self, cut: tuple[int, int, int]) -> int:
        """How many of the window's keys come before or at ``cut`` ``(ts, seq, lab)``."""
        ct, cs, cl = cut
        lo = int(np.searchsorted(self.ts, ct, side="left"))
        hi = int(np.searchsorted(self.ts, ct, side="right"))
        side = "right" if self.i <= cl else "left"
        return lo + int(np.searchsorted(self.seq[lo:hi], cs, side=side))

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        ts, seq = self.ts[:n], self.seq[:n]
        self.ts, self.seq = self.ts[n:], self.seq[n:]
        return ts, seq


def merged_labs(
    sizes: Sequence[int],
    readers: Sequence[KeyReader],
    chunk_rows: int,
    key_rows: int | None = None,
    names: Sequence[object] | None = None,
) -> Iterator[np.ndarray]:
    """The lab of each row of the case in evidence order, ``chunk_rows`` rows at a time.

    The order is that of ``np.lexsort((seq, ts))`` on the labs' keys put one lab after
    the other (lab 0 first): ``ts``, then ``seq``, then the lab, then the lab's own
    order. Each step reads up to ``key_rows`` more keys of each lab whose window has
    fewer, takes every key up to the smallest last key of the windows of the labs with
    keys left to read (none of their unread keys comes before it), and orders those.

    Parameters
    ----------
    sizes : sequence of int
        Number of events of each lab.
    readers : sequence of callable
        ``readers[i](start, stop)``: lab ``i``'s keys ``start`` to ``stop`` as
        ``(ts, seq)`` int64 arrays (:func:`key_arrays`), in the lab's order.
    chunk_rows : int
        Rows per array given (the last one may be shorter).
    key_rows : int, optional
        Keys read from a lab at a time (default :data:`KEY_ROWS`).
    names : sequence, optional
        The labs' names, for the error message.

    Yields
    ------
    numpy.ndarray
        int32: the index (into ``sizes``) of the lab of each row, ``chunk_rows`` rows
        (fewer for the last array).

    Raises
    ------
    ValueError
        When a lab's keys are not in ``(ts, seq)`` order.
    """
    names = list(names) if names is not None else list(range(len(sizes)))
    runs = [_Run(i, n, r, names[i]) for i, (n, r) in enumerate(zip(sizes, readers, strict=True))]
    pending: list[np.ndarray] = []
    n_pending = 0
    chunk_rows = max(1, int(chunk_rows))
    key_rows = max(1, int(KEY_ROWS if key_rows is None else key_rows))
    while True:
        for r in runs:
            r.fill(key_rows)
        live = [r for r in runs if len(r.ts)]
        if not live:
            break
        unread = [r for r in live if not r.done]
        if unread:  # every key up to the first window end of a lab with keys left to read
            cut = min((int(r.ts[-1]), int(r.seq[-1]), r.i) for r in unread)
            counts = [r.upto(cut) for r in live]
        else:
            counts = [len(r.ts) for r in live]
        ts, seq, lab = [], [], []
        for r, n in zip(live, counts, strict=True):
            if n:
                t, s = r.take(n)
                ts.append(t)
                seq.append(s)
                lab.append(np.full(n, r.i, dtype=np.int32))
        order = np.lexsort((np.concatenate(seq), np.concatenate(ts)))
        del ts, seq
        pending.append(np.concatenate(lab)[order])
        n_pending += len(order)
        del order, lab
        while n_pending >= chunk_rows:
            run = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield run[:chunk_rows]
            pending, n_pending = [run[chunk_rows:]], n_pending - chunk_rows
    if n_pending:
        yield np.concatenate(pending)
