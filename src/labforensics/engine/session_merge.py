"""The session table set aside lab by lab as collected, merged into ``sessions.parquet``.

When a run keeps its events in files (:attr:`LabRun.events_to_files
<labforensics.engine.run.LabRun.events_to_files>`), :meth:`LabRun.collect
<labforensics.engine.run.LabRun.collect>` hands each lab's session table to a
:class:`LabSessions` as it is gathered instead of holding every lab's table until they
are put in order (issue 17: the whole table, about 370 bytes a session, was the peak of
a 33-million-event run). Each lab's table is written to its own Arrow IPC file in the
run's private folder; only its slim table (:func:`~labforensics.session_files.slim_sessions`,
held as one array a column) and its order keys are kept. :meth:`LabSessions.finish`
then puts the slim tables in the case's order and writes ``sessions.parquet`` one row
group at a time, each built column by column from the labs' files memory-mapped: the
same bytes as :func:`~labforensics.outputs.write_parquet` of the whole table
:func:`~labforensics.engine.combine.order_sessions` builds (tested).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.types import is_object_dtype, union_categoricals

from .. import outputs
from .._arrays import unique_sorted
from ..outputs import PARQUET_OPTIONS, _lists_as_object, drop_private, write_parquet
from ..session_files import _CODED, SESSIONS_FILE, SessionFile, slim_sessions
from ..session_labs import SlimLabs
from .combine import _start_ns, order_sessions
from .partitions import release_freed

__all__ = ["BATCH_ROWS", "LabSessions"]

#: Rows per record batch of a lab's file: the unit read back while merging (a few MB).
BATCH_ROWS = 16_384


class LabSessions:
    """Every lab's session table written to a file as collected; its slim table kept.

    Parameters
    ----------
    folder : pathlib.Path
        The run's private folder (mode 0700, removed at the end of the run): the labs'
        files (``sessions-<i>.arrow``, removed by :meth:`finish`) and
        :data:`~labforensics.session_files.SESSIONS_FILE` are written there.
    n_labs : int
        The number of labs :meth:`add` will be given. With one lab, its table is the
        whole table: written at once as ``sessions.parquet`` (no merge).

    Attributes
    ----------
    file : SessionFile or None
        ``sessions.parquet`` once :meth:`finish` has written it.

    Notes
    -----
    Memory held between :meth:`add` and :meth:`finish`: per session its slim table
    (about 107 bytes, one array a column: a column is freed as soon as it is put in
    order) and two int64 order keys (``start`` in ns, the ``seq`` of its first event:
    16 bytes); the lab index and row of a session are its position in the labs' tables
    one after the other (nothing held). :meth:`finish` adds the global order (8 bytes a
    session, and the transient of :func:`numpy.lexsort` on the 16 bytes of keys), while
    the slim table is put in order two of its columns at a time, and while writing one
    output row group: at most :data:`~labforensics.outputs.ROW_GROUP_ROWS` sessions as
    Arrow (about 390 bytes each on a generated case: 465,599 sessions, 180 MB; so about
    400 MB at most, whatever the case's size), built one column at a time from the
    labs' files memory-mapped (each file mapped for one column and unmapped after it,
    so the pages read are not kept). Freed memory is given back after each column
    (:func:`~labforensics.engine.partitions.release_freed`: Arrow's pool and glibc's
    heap keep it otherwise, and the peak would add it). The whole table (about 370
    bytes a session in pandas, 1.5 GB at 4 million sessions) is never held. The row
    group is the unit :func:`~labforensics.outputs.write_parquet` converts and writes,
    and the file's bytes depend on it (its rows, one Arrow chunk a column): a smaller
    unit would change them.
    """

    def __init__(self, folder: Path, n_labs: int, by_lab: bool = False) -> None:
        self.folder = Path(folder)
        self.n_labs = n_labs
        #: With ``by_lab``, each lab's slim table goes to a file as well (not held) and
        #: :meth:`finish` returns them as a :class:`~labforensics.session_labs.SlimLabs`.
        self.by_lab = SlimLabs(self.folder) if by_lab else None
        self.file: SessionFile | None = None
        self._paths: list[Path] = []
        self._offsets: list[np.ndarray] = []  # per lab: its batches' first rows, and n
        self._slims: list[Any] = []  # per lab: column -> its array (one lab: the frame)
        self._starts: list[np.ndarray] = []
        self._firsts: list[np.ndarray] = []
        self._columns: list[list[str]] = []  # with the private ones (order_sessions' test)
        self._dtypes: list[dict[str, Any]] = []
        self._types: list[pa.Schema] = []
        self._template: pd.DataFrame | None = None
        self._sizes: list[int] = []  # per lab: its number of sessions (by_lab)

    def add(self, sessions: pd.DataFrame, firsts: np.ndarray) -> None:
        """Set aside one lab's session table (labs in the order of the case's labs).

        Parameters
        ----------
        sessions : pandas.DataFrame
            ``(n, k)`` the lab's sessions (:data:`labforensics.schema.SESSION_DTYPES`,
            private ``_`` columns allowed: not written), not referenced afterwards.
        firsts : numpy.ndarray
            ``(n,)`` int64, the ``seq`` of each session's first event
            (:func:`~labforensics.engine.combine.first_event_seq`).

        Raises
        ------
        OSError
            When the folder cannot be written.
        """
        table = drop_private(sessions)
        self._columns.append(list(sessions.columns))
        self._dtypes.append({c: table[c].dtype for c in table.columns})
        self._starts.append(_start_ns(sessions))
        self._firsts.append(np.asarray(firsts, dtype="int64"))
        if self._template is None:  # the whole table's columns, as order_sessions builds
            # it; new empty columns (a slice would keep the lab's buffers alive)
            self._template = pd.DataFrame({c: pd.Series([], dtype=t)
                                           for c, t in self._dtypes[0].items()})  # fmt: skip
        if self.n_labs == 1:  # the lab's table is the whole table (order_sessions of one)
            path = write_parquet(table, self.folder / SESSIONS_FILE)
            self.file = SessionFile(path, dict(self._dtypes[0]))
        else:
            self._write_lab(table)
        slim = slim_sessions(sessions)
        if self.by_lab is not None:  # to its file: no slim table held
            self.by_lab.add(slim)
            self._sizes.append(len(slim))
        else:
            self._slims.append(slim if self.n_labs == 1 else _own_arrays(slim))
        del slim
        release_freed()  # the batches and the slim frame freed: given back, not kept

    def _write_lab(self, table: pd.DataFrame) -> None:
        path = self.folder / f"sessions-{len(self._paths)}.arrow"
        schema = pa.Schema.from_pandas(table, preserve_index=False)
        sizes = []
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as w:
            for a in range(0, len(table), BATCH_ROWS):
                part = pa.Table.from_pandas(table.iloc[a : a + BATCH_ROWS], schema=schema,
                                            preserve_index=False).combine_chunks()  # fmt: skip
                for b in part.to_batches():
                    w.write_batch(b)
                    sizes.append(b.num_rows)
        self._paths.append(path)
        self._offsets.append(np.concatenate([[0], np.cumsum(sizes, dtype="int64")]))
        self._types.append(schema.remove_metadata())

    def finish(self) -> pd.DataFrame | SlimLabs:
        """The case's slim session table; ``sessions.parquet`` written (:attr:`file`).

        Returns
        -------
        pandas.DataFrame or SlimLabs
            ``(n, m)``: :func:`~labforensics.session_files.slim_sessions` of the whole
            table :func:`~labforensics.engine.combine.order_sessions` would build of the
            labs' tables (same values, dtypes, categories and ``RangeIndex``; tested).
            The labs' files are removed. With ``by_lab``, that table kept lab by lab
            in files (:class:`~labforensics.session_labs.SlimLabs`), never whole.

        Notes
        -----
        Labs whose tables differ in columns or dtypes (not the case of the canonical
        session table) are read back whole and put together by ``order_sessions``:
        the same result, without the memory bound.
        """
        try:
            if self.n_labs == 1 and self.file is not None:
                if self.by_lab is not None:  # the lab's order is the case's
                    return self.by_lab.place([np.arange(self._sizes[0], dtype="int64")])
                return self._slims.pop()
            if not self._uniform():
                return self._whole()
            order = np.lexsort((np.concatenate(self._firsts), np.concatenate(self._starts)))
            self._starts, self._firsts = [], []
            release_freed()
            if self.by_lab is not None:
                self.file = self._merge(order)
                return self.by_lab.place(_positions(order, self._sizes))
            coded = {c for c in _CODED if isinstance(self._dtypes[0].get(c), pd.StringDtype)}
            slim = _ordered(self._slims, order, coded)
            self._slims = []
            self.file = self._merge(order)
            return slim
        finally:
            for p in self._paths:
                p.unlink(missing_ok=True)

    def _uniform(self) -> bool:
        """Whether the labs' tables have the same columns and dtypes, none ``object``
        (the whole table's Arrow schema is then theirs)."""
        if not self._paths or len(self._paths) != self.n_labs:
            return False
        same = all(c == self._columns[0] for c in self._columns) and all(
            d == self._dtypes[0] for d in self._dtypes
        )
        if not same or any(is_object_dtype(d) for d in self._dtypes[0].values()):
            return False
        assert self._template is not None
        whole = pa.Schema.from_pandas(self._template, preserve_index=False).remove_metadata()
        return all(t.equals(whole) for t in self._types)

    def _whole(self) -> pd.DataFrame:
        """The labs read back whole and put together as :meth:`LabRun.collect` did."""
        parts = []
        for path, dtypes in zip(self._paths, self._dtypes, strict=True):
            with pa.OSFile(str(path), "rb") as f:
                table = pa.ipc.open_file(f).read_all()
            parts.append(pd.DataFrame({c: _column(table.column(c), t) for c, t in dtypes.items()}))
            del table
        whole = order_sessions(parts, self._firsts)
        table = drop_private(whole)
        path = write_parquet(table, self.folder / SESSIONS_FILE)
        self.file = SessionFile(path, {c: table[c].dtype for c in table.columns})
        return slim_sessions(whole)

    def _merge(self, order: np.ndarray) -> SessionFile:
        """``sessions.parquet`` in ``order`` (positions in the labs' tables one after the
        other), one row group at a time, as :func:`~labforensics.outputs.write_parquet`
        writes the whole table (its schema, options and row groups)."""
        assert self._template is not None
        tpl = self._template
        schema = _lists_as_object(tpl, pa.Schema.from_pandas(tpl, preserve_index=False))
        starts = np.cumsum([0] + [int(o[-1]) for o in self._offsets], dtype="int64")
        path = self.folder / SESSIONS_FILE
        rows = outputs.ROW_GROUP_ROWS
        n = len(order)
        if n <= rows:  # one row group: written as write_parquet writes a small table
            pq.write_table(self._rows(order, starts, schema), path, **PARQUET_OPTIONS)
        else:
            with pq.ParquetWriter(str(path), schema, **PARQUET_OPTIONS) as writer:
                for a in range(0, n, rows):
                    part = self._rows(order[a : a + rows], starts, schema)
                    writer.write_table(part, row_group_size=rows)
                    del part
                    release_freed()
        return SessionFile(path, dict(self._dtypes[0]))

    def _rows(self, at: np.ndarray, starts: np.ndarray, schema: pa.Schema) -> pa.Table:
        """The rows ``at`` (positions in the labs' tables one after the other), in that
        order, as one Arrow table of ``schema`` with one chunk a column, built one column
        at a time (:meth:`_column_of`)."""
        lab = np.searchsorted(starts, at, side="right") - 1
        local = at - starts[lab]
        picks, where = [], []
        for k in unique_sorted(lab):
            pos = np.flatnonzero(lab == k)  # its rows in the output order
            picks.append((int(k), local[pos]))
            where.append(pos)
        del lab, local
        perm = np.empty(len(at), dtype="int64")  # output row -> row of the labs' pieces
        perm[np.concatenate(where) if where else np.zeros(0, "int64")] = np.arange(len(at))
        index = pa.array(perm, type=pa.int64())
        del perm, where
        arrays = [self._column_of(j, field, picks, index) for j, field in enumerate(schema)]
        return pa.Table.from_arrays(arrays, schema=schema)

    def _column_of(self, j: int, field: pa.Field, picks: list[tuple[int, np.ndarray]],
                   index: pa.Array) -> pa.Array:  # fmt: skip
        """Column ``j`` of the rows ``picks`` (per lab, its rows in output order), put
        in output order by ``index``: each lab's file memory-mapped for this column only
        (unmapped after it), the rows taken from the batches holding them."""
        pieces = []
        for k, rows in picks:
            pieces.append(self._take(k, j, field.type, rows))
        merged = pa.concat_arrays(pieces) if pieces else pa.array([], type=field.type)
        del pieces
        release_freed()
        out = merged.take(index)
        del merged
        release_freed()
        return out

    def _take(self, k: int, j: int, kind: pa.DataType, rows: np.ndarray) -> pa.Array:
        """Column ``j`` of lab ``k``'s rows ``rows`` (in that order): only the batches
        from the first to the last of them read, zero-copy from the memory-mapped file."""
        bounds = self._offsets[k]
        lo, hi = int(rows.min()), int(rows.max())
        first = int(np.searchsorted(bounds, lo, side="right")) - 1
        last = int(np.searchsorted(bounds, hi, side="right")) - 1
        with pa.memory_map(str(self._paths[k]), "r") as source:
            reader = pa.ipc.open_file(source)
            col = pa.chunked_array([reader.get_batch(b).column(j)
                                    for b in range(first, last + 1)], type=kind)  # fmt: skip
            out = col.take(pa.array(rows - bounds[first], type=pa.int64()))
            del col, reader
        return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _positions(order: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """Per lab (``sizes``: its number of sessions), the position in ``order`` (the case's
    order of the labs' sessions one after the other) of each of its sessions."""
    at = np.empty(len(order), dtype="int64")
    at[order] = np.arange(len(order), dtype="int64")
    bounds = np.cumsum([0, *sizes])
    return [at[a:b].copy() for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _own_arrays(slim: pd.DataFrame) -> dict[str, Any]:
    """``slim``'s columns as arrays of their own (no view of a 2-D block of the frame, so
    that each is freed when put in order): numpy arrays for numpy dtypes, else pandas
    extension arrays."""
    out: dict[str, Any] = {}
    for c in slim.columns:
        s = slim[c]
        out[c] = s.to_numpy(copy=True) if isinstance(s.dtype, np.dtype) else s.array.copy()
    return out


def _column(col: pa.ChunkedArray, dtype: Any) -> pd.Series:
    """An Arrow column read back from a lab's file as a pandas column of ``dtype``."""
    if isinstance(dtype, pd.ArrowDtype):
        return pd.Series(pd.arrays.ArrowExtensionArray(col.cast(dtype.pyarrow_dtype)))
    return col.to_pandas().astype(dtype)


def _ordered(parts: list[dict[str, Any]], order: np.ndarray, coded: set[str]) -> pd.DataFrame:
    """The labs' slim tables (:func:`_own_arrays` of each) as
    :func:`~labforensics.session_files.slim_sessions` of their whole table in ``order``:
    column by column, each concatenated then put in order (the ``coded`` columns, text
    made ``category`` lab by lab, with their categories unioned and sorted, as
    ``astype("category")`` of the whole column gives them), each lab's array dropped
    before the next column (the parts consumed)."""
    out: dict[str, Any] = {}
    for c in list(parts[0]):
        out[c] = _in_order([p.pop(c) for p in parts], order, c in coded)
        release_freed()  # the labs' arrays freed in the heap given back, not kept beside
    return pd.DataFrame(out, index=pd.RangeIndex(len(order)), copy=False)


def _in_order(col: list[Any], order: np.ndarray, coded: bool) -> Any:
    """The labs' arrays ``col`` of one column concatenated, then taken in ``order``;
    ``col`` is emptied (the labs' arrays freed) once they are concatenated, so that at
    most two copies of the column are held (concatenated, ordered)."""
    if coded:
        whole = union_categoricals(col, sort_categories=True)
    elif all(isinstance(a, np.ndarray) for a in col):
        whole = np.concatenate(col)
    elif all(isinstance(a, pd.arrays.ArrowExtensionArray) for a in col):
        # the labs' chunks (zero-copy: the Arrow stream of a Series) made one array by
        # hand: Arrow's take of many chunks would copy them into one beside the labs'
        dtype = col[0].dtype
        streams = [pa.chunked_array(pd.Series(a, copy=False)) for a in col]
        merged = pa.concat_arrays([ch for s in streams for ch in s.chunks])
        del streams
        col.clear()
        release_freed()  # the labs' arrays given back before the copy in order is made
        taken = merged.take(pa.array(order))
        del merged
        if isinstance(dtype, pd.StringDtype):
            return pd.arrays.ArrowStringArray(taken, dtype=dtype)
        return pd.arrays.ArrowExtensionArray(taken)
    else:
        whole = pd.concat([pd.Series(a, copy=False) for a in col], ignore_index=True).array
    col.clear()
    release_freed()
    return whole[order] if isinstance(whole, np.ndarray) else whole.take(order)
