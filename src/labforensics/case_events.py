"""The case's events held lab by lab, for the whole-case stages (issue 17 item 2).

After the per-lab passes, the stages that look at the whole case (source addresses,
attribution, the findings, the report and ``events.parquet``) do not need every event
at once: each needs either a few rows (logins, exports, the rows of a few sessions) or
per-lab facts (a lab's first and last event, its days with events, its patients' first
appearance). :class:`CaseEvents` gives them that, one lab at a time, so no stage holds
the whole event table: each lab's events wait dictionary-encoded
(:func:`~labforensics.engine.partitions.narrow`), in memory or in Arrow IPC files in a
private spill folder, and are widened to the canonical dtypes only when asked for.

Order. A lab's events come back in evidence order, ``(ts, seq)`` (``seq`` is unique in
the case); rows taken from several labs (:meth:`CaseEvents.select`) are put in the same
order, so they equal the rows a filter of the whole table in evidence order gives.

:meth:`CaseEvents.from_frame` wraps a whole table (the public functions that take an
events ``DataFrame`` still do); :meth:`CaseEvents.to_frame` gives the whole table back
(small cases, notebooks).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ._narrow import arrow_to_wide, empty_like, narrow, widen
from ._order_merge import KeyReader, key_arrays, merged_labs
from .outputs import PARQUET_OPTIONS, parquet_table, write_parquet
from .plausible_dates import plausible

__all__ = ["CaseEvents", "EventsFolder", "as_case_events"]

#: Rows per record batch of a lab's spilled events (:meth:`CaseEvents.spill_part`).
BATCH_ROWS = 65_536

#: Rows per chunk (and row group) of :meth:`CaseEvents.write_parquet` (labs held or
#: spilled alike, so the memory budget does not change the file's bytes): a quarter of pyarrow's default largest row group (1024 x 1024 rows), so a chunk
#: widened, put in order and converted to Arrow holds about 0.3 GB rather than 1.2 GB.
#: The rows, their order and the schema are those of the whole table written at once; the
#: bytes too when the case has fewer rows than a chunk.
ROW_GROUP_ROWS = 256 * 1024

#: A lab key: the lab code, or None for the events that name no lab.
Lab = str | None


def _order(df: pd.DataFrame) -> np.ndarray:
    """Positions of ``df``'s rows in ``(ts, seq)`` order (stable)."""
    ts = (
        pd.to_datetime(df["ts"], utc=True)
        .dt.as_unit("ns")
        .to_numpy(dtype="datetime64[ns]")
        .view("int64")
    )
    return np.lexsort((df["seq"].to_numpy(dtype="int64"), ts))


class CaseEvents:
    """The case's canonical events, one lab at a time.

    Parameters
    ----------
    parts : dict
        Lab (str, or None for the events naming no lab) -> that lab's events in
        ``(ts, seq)`` order: a ``DataFrame`` (canonical or :func:`narrow`-ed) or the
        :class:`~pathlib.Path` of an Arrow IPC file of one (:meth:`spill_part`).
        Every part has the same columns, including ``ts`` and ``seq``.
    sizes : dict, optional
        Lab -> number of events (read from the parts when not given).
    columns : sequence of str, optional
        The columns (read from the first part when not given).

    Notes
    -----
    Memory: the parts held (about 85 bytes an event dictionary-encoded; nothing for a
    spilled part) plus, while a method runs, one lab widened (about 400 bytes an event,
    less for the columns asked for) and the rows it returns.
    """

    def __init__(self, parts: dict[Lab, pd.DataFrame | Path], sizes: dict[Lab, int] | None = None,
                 columns: Sequence[str] | None = None) -> None:  # fmt: skip
        named = sorted(k for k in parts if k is not None)
        self.labs: list[Lab] = [*named, *([None] if None in parts else [])]
        self._parts = {k: parts[k] for k in self.labs}
        if sizes is None or columns is None:
            first = None
            sizes = dict(sizes or {})
            for k in self.labs:
                p = self._load(k)
                sizes.setdefault(k, len(p))
                first = first if first is not None else list(p.columns)
            columns = columns if columns is not None else (first or [])
        self._sizes = {k: int(sizes[k]) for k in self.labs}
        self.columns: list[str] = list(columns)
        self._spans: pd.DataFrame | None = None
        #: lab -> positions of its rows in the whole table it came from (from_frame);
        #: orders rows across labs when the table has no ``seq``
        self._pos: dict[Lab, np.ndarray] | None = None

    # --- construction -----------------------------------------------------------------

    @classmethod
    def from_frame(cls, events: pd.DataFrame) -> CaseEvents:
        """The events of a whole table (canonical, in evidence order), split by lab.

        Each lab's rows keep their order (the table's evidence order).
        """
        lab = events["lab"]
        if not len(events):
            return cls({None: events.reset_index(drop=True)}, {None: 0}, list(events.columns))
        codes, uniq = pd.factorize(lab.astype("object"), use_na_sentinel=True)
        parts: dict[Lab, pd.DataFrame] = {}
        pos: dict[Lab, np.ndarray] = {}
        for i, name in enumerate(uniq):
            pos[str(name)] = np.flatnonzero(codes == i)
        if (codes < 0).any():
            pos[None] = np.flatnonzero(codes < 0)
        for k, at in pos.items():
            parts[k] = events.iloc[at].reset_index(drop=True)
        out = cls(parts, {k: len(v) for k, v in parts.items()}, list(events.columns))
        out._pos = pos  # the table's own order, whether or not it has ``seq``
        return out

    @staticmethod
    def spill_part(events: pd.DataFrame, path: Path) -> Path:
        """Write one lab's events dictionary-encoded to ``path``; the path, for the
        ``parts`` of :class:`CaseEvents`.

        An Arrow IPC file (uncompressed) of :func:`narrow`'s table in record batches of
        :data:`BATCH_ROWS` rows, so that a range of rows is read without the rest
        (:meth:`write_parquet`); :func:`widen` of what is read back gives the same table
        (values, dtypes, order).
        """
        table = pa.Table.from_pandas(narrow(events), preserve_index=False)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table, max_chunksize=BATCH_ROWS)
        return path

    # --- access -----------------------------------------------------------------------

    def __len__(self) -> int:
        return sum(self._sizes.values())

    def size(self, lab: Lab) -> int:
        """Number of events of ``lab`` (0 for a lab not in the case)."""
        return self._sizes.get(lab, 0)

    def _load(self, lab: Lab, columns: Sequence[str] | None = None) -> pd.DataFrame:
        p = self._parts[lab]
        if isinstance(p, Path):
            with pa.OSFile(str(p), "rb") as f:
                table = pa.ipc.open_file(f).read_all()
            if columns is not None:
                table = table.select(list(columns))
            return table.to_pandas()
        return p if columns is None else p[list(columns)]

    def _reader(self, lab: Lab) -> Callable[[int, int], pd.DataFrame]:
        """A reader of a lab's rows in increasing runs ``(start, stop)``, as held
        (narrowed or canonical): a spilled lab's record batches are read in order, once
        each, the unread rest of the last one kept for the next run (at most one batch
        held per lab)."""
        p = self._parts[lab]
        if not isinstance(p, Path):
            # as a spilled lab is read: Arrow of the dictionary-encoded table, each run
            # decoded alone (widening a slice of pandas categories converts the lab's
            # whole dictionary each time)
            held = pa.Table.from_pandas(narrow(p[self.columns]), preserve_index=False)
            return lambda start, stop: arrow_to_wide(held.slice(start, stop - start))
        state: dict[str, Any] = {"buf": None, "at": 0, "next": 0}

        def take(start: int, stop: int) -> pd.DataFrame:
            have = [] if state["buf"] is None else [state["buf"]]
            held = state["at"] + sum(len(t) for t in have)
            with pa.OSFile(str(p), "rb") as f:
                r = pa.ipc.open_file(f)
                while held < stop:
                    batch = r.get_batch(state["next"])
                    state["next"] += 1
                    have.append(pa.Table.from_batches([batch]))
                    held += batch.num_rows
            table = pa.concat_tables(have) if len(have) > 1 else have[0]
            out = table.slice(start - state["at"], stop - start).select(self.columns)
            state["buf"], state["at"] = table.slice(stop - state["at"]), stop
            return arrow_to_wide(out)

        return take

    def _key_reader(self, lab: Lab) -> KeyReader:
        """A reader of a lab's keys (``ts``, ``seq``: :func:`key_arrays`) by runs of rows
        ``(start, stop)``. A spilled lab's file is memory-mapped for each run and only the
        record batches holding it are looked at (their two key columns), so no more than
        the run's keys stays in memory."""
        p = self._parts[lab]
        if not isinstance(p, Path):
            return lambda start, stop: key_arrays(p["ts"].iloc[start:stop],
                                                  p["seq"].iloc[start:stop])  # fmt: skip
        with pa.memory_map(str(p), "r") as f:
            r = pa.ipc.open_file(f)
            rows = [r.get_batch(i).num_rows for i in range(r.num_record_batches)]
        starts = np.cumsum([0, *rows])

        def read(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
            got = []
            with pa.memory_map(str(p), "r") as f:
                r = pa.ipc.open_file(f)
                i = max(0, int(np.searchsorted(starts, start, side="right")) - 1)
                while i < len(rows) and starts[i] < stop:
                    a, b = max(start, starts[i]) - starts[i], min(stop, starts[i + 1]) - starts[i]
                    got.append(r.get_batch(i).select(["ts", "seq"]).slice(a, b - a))
                    i += 1
                keys = pa.Table.from_batches(got, schema=got[0].schema if got else None)
                d = keys.to_pandas() if got else pd.DataFrame({"ts": [], "seq": []})
                del got, keys
                return key_arrays(d["ts"], d["seq"])  # copies: nothing kept of the map

        return read

    def lab(self, lab: Lab, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """One lab's events, canonical dtypes, evidence order, ``RangeIndex``.

        Parameters
        ----------
        lab : str or None
            A lab of :attr:`labs`.
        columns : sequence of str, optional
            The columns wanted (all by default), in that order.

        Raises
        ------
        KeyError
            When ``lab`` is not one of :attr:`labs`.
        """
        cols = self.columns if columns is None else columns
        return widen(self._load(lab, cols)).reset_index(drop=True)

    def iter_labs(self, columns: Sequence[str] | None = None) -> Iterator[tuple[Lab, pd.DataFrame]]:
        """``(lab, events)`` for every lab in :attr:`labs` order (:meth:`lab`)."""
        for k in self.labs:
            yield k, self.lab(k, columns)

    def select(
        self,
        where: Callable[[pd.DataFrame], Any],
        columns: Sequence[str] | None = None,
        need: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The rows of every lab that ``where`` keeps, in evidence order.

        Parameters
        ----------
        where : callable
            Called with one lab's events (the ``need`` columns, canonical dtypes);
            returns a boolean mask (array or Series aligned with them).
        columns : sequence of str, optional
            The columns returned (all by default).
        need : sequence of str, optional
            The columns ``where`` reads (all by default).

        Returns
        -------
        pandas.DataFrame
            Canonical dtypes, ``RangeIndex``: the same rows, in the same order, as
            ``events[where(events)]`` of the whole table in evidence order.
        """
        cols = list(self.columns if columns is None else columns)
        keys = [] if self._pos is not None else ["ts", "seq"]
        out_cols = list(dict.fromkeys([*cols, *keys]))
        picked, at = [], []
        for k in self.labs:
            # the mask on the columns it reads, then only the kept rows widened
            m = np.asarray(where(self.lab(k, list(need or self.columns))), dtype=bool)
            if m.any():
                held = self._load(k, out_cols)
                picked.append(widen(held[m]).reset_index(drop=True))
                del held
                if self._pos is not None:
                    at.append(self._pos[k][m])
        if not picked:
            return empty_like(self.lab(self.labs[0], cols)) if self.labs else pd.DataFrame()
        if len(picked) == 1:
            return picked[0][cols].reset_index(drop=True)
        out = pd.concat(picked, ignore_index=True)
        order = np.argsort(np.concatenate(at), kind="stable") if at else _order(out)
        return out.iloc[order][cols].reset_index(drop=True)

    def spans(self) -> pd.DataFrame:
        """Per lab: ``lab`` (str; None for the events naming no lab), ``evidence_start``
        and ``evidence_end`` (datetime64[ns, UTC], first and last event whose date can be
        right: :func:`~labforensics.plausible_dates.plausible`; every event when none
        can), ``events`` and ``implausible`` (int64, the events and those left out of
        the span), in :attr:`labs` order; labs with no event left out."""
        if self._spans is None:
            rows = []
            for k in self.labs:
                if not self._sizes[k]:
                    continue
                ts = self.lab(k, ["ts"])["ts"]
                # a date that cannot be right sets no span (QA session 11: 2099)
                ok = plausible(ts)
                sub = ts[ok] if ok.any() else ts
                rows.append({"lab": k, "evidence_start": sub.min(), "evidence_end": sub.max(),
                             "events": int(len(ts)), "implausible": int(len(ts) - len(sub))})  # fmt: skip
            sp = pd.DataFrame(
                rows, columns=["lab", "evidence_start", "evidence_end", "events", "implausible"]
            ).astype({"evidence_start": "datetime64[ns, UTC]", "evidence_end": "datetime64[ns, UTC]",
                      "events": "int64", "implausible": "int64"})  # fmt: skip
            # object, so that the events naming no lab keep None (a str column: NaN)
            sp["lab"] = pd.Series([r["lab"] for r in rows], dtype=object)
            self._spans = sp
        return self._spans

    def period(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """The first and last event of the case (None, None without events)."""
        sp = self.spans()
        if not len(sp):
            return None, None
        return sp["evidence_start"].min(), sp["evidence_end"].max()

    def named_labs(self) -> list[str]:
        """The labs with at least one event, sorted (the events naming no lab left out)."""
        return [k for k in self.labs if k is not None and self._sizes[k]]

    def to_frame(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The whole table (canonical dtypes, evidence order, ``RangeIndex``): every lab
        widened at once; for small cases and notebooks."""
        parts = [widen(self._load(k, self.columns if columns is None else columns))
                 for k in self.labs]  # fmt: skip
        if not parts:
            return pd.DataFrame(columns=list(columns or self.columns))
        if len(parts) == 1:
            return parts[0].reset_index(drop=True)
        if self._pos is not None:  # the table it came from: its own order back
            order = np.argsort(np.concatenate([self._pos[k] for k in self.labs]), kind="stable")
        elif "ts" in parts[0].columns and "seq" in parts[0].columns:
            order = None
        else:
            raise ValueError("to_frame needs the ts and seq columns to put the labs in order")
        out = pd.concat(parts, ignore_index=True)
        del parts
        return out.take(_order(out) if order is None else order).reset_index(drop=True)

    def view(self, columns: Sequence[str]) -> CaseEvents:
        """The same events with only ``columns`` (the parts are shared, not copied)."""
        missing = [c for c in columns if c not in self.columns]
        if missing:
            raise KeyError(f"no such event column(s): {', '.join(missing)}")
        out = CaseEvents(self._parts, self._sizes, list(columns))
        out._pos = self._pos
        return out

    def is_spilled(self) -> bool:
        """Whether the events wait in files (:meth:`spill_part`) rather than in memory."""
        return any(isinstance(p, Path) for p in self._parts.values())

    def write_parquet(
        self,
        path: str | Path,
        transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
        chunk_rows: int = ROW_GROUP_ROWS,
    ) -> Path:
        """Every event, in evidence order, into one Parquet file, ``chunk_rows`` at a time.

        The file :func:`labforensics.outputs.write_parquet` writes of the whole table
        (same rows, order, schema and options; one row group per chunk), without holding
        the whole table: the evidence order is a merge of the labs' runs, each already
        in ``(ts, seq)`` order (:func:`~labforensics._order_merge.merged_labs`: keys read a
        block at a time, a few MiB whatever the case's size; sorting every event's keys at
        once took about 30 bytes an event, 1 GB at 36 M events), ties of ``(ts, seq)``
        between labs broken by :attr:`labs` order; each chunk takes, from every lab, the
        next run of its rows (a lab's rows keep its order), widened and put in order. Labs
        held in memory are read as spilled ones are (Arrow slices of their
        dictionary-encoded table), so the file does not depend on whether the labs were
        spilled; one lab, or a table's own order (:meth:`from_frame`), is written whole
        (:func:`~labforensics.outputs.write_parquet`).

        Parameters
        ----------
        path : str or Path
            The file written (its folder is created).
        transform : callable, optional
            Applied to each chunk before writing (e.g.
            :func:`labforensics.outputs.drop_private`); must keep the rows.
        chunk_rows : int
            Rows per chunk and row group (default :data:`ROW_GROUP_ROWS`).

        Returns
        -------
        Path

        Raises
        ------
        ValueError
            When a lab's events are not in ``(ts, seq)`` order (the parts' contract).
        """

        path = Path(path)
        fix = transform or (lambda d: d)
        labs = [k for k in self.labs if self._sizes[k]]
        if len(labs) <= 1 or self._pos is not None:
            # one lab, or a table's own order (from_frame): the whole table
            return write_parquet(fix(self.to_frame()), path)
        path.parent.mkdir(parents=True, exist_ok=True)
        cursor = np.zeros(len(labs), dtype=np.int64)
        order = merged_labs([self._sizes[k] for k in labs], [self._key_reader(k) for k in labs],
                            chunk_rows, names=labs)  # fmt: skip
        readers = [self._reader(k) for k in labs]
        writer = None
        try:
            for lo in order:  # the lab of each row of the chunk, in evidence order
                counts = np.bincount(lo, minlength=len(labs))
                pieces = []
                for i in np.flatnonzero(counts):
                    a, b = int(cursor[i]), int(cursor[i] + counts[i])
                    pieces.append(widen(readers[i](a, b)))
                    cursor[i] = b
                df = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
                del pieces
                perm = np.argsort(lo, kind="stable")  # chunk position of each concatenated row
                inv = np.empty_like(perm)
                inv[perm] = np.arange(len(perm))
                table = parquet_table(fix(df.iloc[inv].reset_index(drop=True)))
                del df
                if writer is None:
                    writer = pq.ParquetWriter(str(path), table.schema, **PARQUET_OPTIONS)
                elif table.schema != writer.schema:
                    table = table.cast(writer.schema)
                writer.write_table(table, row_group_size=chunk_rows)
                del table
        finally:
            if writer is not None:
                writer.close()
        return path


class EventsFolder:
    """A private folder for the case's events between the stages, made on first use
    (and for the scored tables until they are moved into the outputs:
    :mod:`labforensics.score_files`).

    ``tempfile.mkdtemp`` (mode 0700, under the system's temporary folder); it holds
    pseudonymised events with their free text, so it is removed by :meth:`remove`
    (the pipeline calls it at the end of a run, after an error and on SIGTERM).
    """

    def __init__(self) -> None:
        self.path: Path | None = None

    def make(self) -> Path:
        """The folder (created the first time). Removed by :meth:`remove`; also, should
        nobody call it, when this object is collected or the interpreter exits."""
        if self.path is None:
            self.path = Path(tempfile.mkdtemp(prefix="labforensics-events-"))
            weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)
        return self.path

    def remove(self) -> None:
        """Remove the folder and what it holds (nothing when it was never made)."""
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None


def as_case_events(events: pd.DataFrame | CaseEvents) -> CaseEvents:
    """``events`` as :class:`CaseEvents` (a whole table is split by lab)."""
    if isinstance(events, CaseEvents):
        return events
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be a DataFrame or CaseEvents, not {type(events).__name__}")
    return CaseEvents.from_frame(events)
