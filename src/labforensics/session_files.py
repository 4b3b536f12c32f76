"""The session table: written to ``sessions.parquet`` after collect, held slim (issue 17).

After the per-lab engine has put the labs' sessions back together
(:meth:`LabRun.collect <labforensics.engine.run.LabRun.collect>`), the whole-case
session table (:data:`labforensics.schema.SESSION_DTYPES`: about 370 bytes a session,
1.5 GB at 4 million sessions) was held until the outputs were written, for three
stages that read little of it:

- campaigns (:func:`~labforensics.detect.campaign_labs.group_campaigns_by_lab`):
  ``session_id``, ``lab``, ``account``, ``account_kind``, ``start``, ``end`` and,
  for the activity class (:func:`~labforensics.detect.campaigns.activity_class`),
  whether each count of :data:`ACTIVITY_COUNTS` is above zero;
- attribution (:func:`~labforensics.attribution.attribute`): of every session
  ``session_id``, ``lab``, ``account``, ``account_kind``, ``role``,
  ``records_exported``, ``records_extracted`` and ``failed_logins_before``
  (:data:`~labforensics.attribution.context.SESSION_KEYS`); the whole rows of the
  sessions that moved records only (its candidates carry them into
  ``findings.json``);
- the findings and the report (:func:`~labforensics.report.findings.build_findings`,
  :func:`~labforensics.report.html.render_report`): the number of sessions, the
  ``session_id``, ``lab``, ``account``, ``start``, ``end``, ``records_exported``,
  ``records_extracted`` and ``distinct_patients`` of the flagged campaigns' sessions
  (:mod:`labforensics.report.campaigns`), and the whole rows of the top sessions
  (:data:`~labforensics.report.findings.TOP_SESSIONS`).

So when a run keeps its events in files (a ``memory_budget`` below the evidence:
:attr:`LabRun.events_to_files <labforensics.engine.run.LabRun.events_to_files>`),
:func:`collect_slim` writes the table during collect into the run's private folder
(:class:`~labforensics.case_events.EventsFolder`), as the very bytes ``sessions.parquet``
gets otherwise (:func:`~labforensics.outputs.write_parquet` of the whole table), keeps
only :func:`slim_sessions` of it, and the stages that need
whole rows of a few sessions read them from the file by ``session_id``
(:meth:`SessionFile.rows`). The whole table is never held: each lab's table goes to
a file of its own as it is gathered, and ``sessions.parquet`` is merged from them one
row group at a time (:class:`~labforensics.engine.session_merge.LabSessions`; a table
held whole is written by :func:`set_aside_sessions`, the same bytes).
:func:`write_sessions` then moves the file into the
output folder with the other outputs. A run whose events stay in memory (a small
case) holds its table whole and writes it at the end, as before.

Since issue 17's last steps, :func:`collect_slim` does not hold the slim table either:
each lab's goes to a file of its own as it is gathered
(:class:`~labforensics.session_labs.SlimLabs`), and campaigns, attribution and the
report read it one lab at a time, or only the rows of the sessions they show.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .detect.campaigns import _CLASS_COLUMNS, EXPLANATION_COLUMNS
from .outputs import drop_private, write_parquet
from .schema import STRING

__all__ = [
    "ACTIVITY_COUNTS",
    "SESSIONS_FILE",
    "SLIM_COLUMNS",
    "SessionFile",
    "collect_slim",
    "rows_of",
    "set_aside_sessions",
    "slim_sessions",
    "write_sessions",
]

#: The output file of the session table (:data:`labforensics.outputs.OUTPUT_NAMES`).
SESSIONS_FILE = "sessions.parquet"

#: Columns of the session table the stages after collect read of every session, kept
#: with their values (campaigns, attribution, the findings' count, the report's
#: campaigns). ``lab`` and ``account`` are held dictionary-encoded (``category``): every
#: reader compares or converts them as text; ``role`` is not (attribution fills a missing
#: role with ``""``, which a ``category`` refuses).
SLIM_COLUMNS: tuple[str, ...] = (
    "session_id", "lab", "account", "account_kind", "role", "start", "end",
    "records_exported", "records_extracted", "distinct_patients", "failed_logins_before",
    *EXPLANATION_COLUMNS,  # not session columns today; kept should a table carry them
)  # fmt: skip

#: Counts the campaigns' activity class reads as "above zero" only (the class columns of
#: :func:`~labforensics.detect.campaigns.activity_class` less :data:`SLIM_COLUMNS`:
#: ``n_export``, ``n_extract``, ``n_read``, ``n_query``, ``n_print``, ``n_break_glass``,
#: ``n_update``, ``n_validate``, ``n_transmit``, ``n_purge``, ``n_privilege``, ``n_job``,
#: ``n_other``): held as bool.
ACTIVITY_COUNTS: tuple[str, ...] = tuple(
    c for cols in _CLASS_COLUMNS.values() for c in cols if c not in SLIM_COLUMNS
)

#: Rows of the file read at a time by :meth:`SessionFile.rows` (about 25 MB of Arrow).
BATCH_ROWS = 65_536

#: The text columns of :data:`SLIM_COLUMNS` held as ``category`` (few distinct values).
_CODED = ("lab", "account")


def slim_sessions(table: pd.DataFrame) -> pd.DataFrame:
    """The columns of the session table the stages after collect read of every session.

    Parameters
    ----------
    table : pandas.DataFrame
        ``(n, k)`` session table (:data:`labforensics.schema.SESSION_DTYPES`).

    Returns
    -------
    pandas.DataFrame
        ``(n, m)``, same rows, order and index, sharing no buffer with ``table``: the
        :data:`SLIM_COLUMNS` it has (``lab`` and ``account`` as ``category``,
        the others with their dtype) and the :data:`ACTIVITY_COUNTS` it has as bool
        (count > 0, a missing count 0: all
        :func:`~labforensics.detect.campaigns.activity_class` reads of them), in the
        table's column order. About 107 bytes a session instead of 382 (the 1.2 M-event,
        30-lab generated case: 183,805 sessions, 19.6 MB against 70.3 MB held).
    """
    out: dict[str, Any] = {}
    for c in table.columns:
        s = table[c]
        if c in _CODED and isinstance(s.dtype, pd.StringDtype):
            out[c] = s.astype("category")
        elif c in SLIM_COLUMNS:
            out[c] = s.copy(deep=True)  # its own buffer: the table is freed when dropped
        elif c in ACTIVITY_COUNTS:
            out[c] = pd.to_numeric(s, errors="coerce").fillna(0).to_numpy() > 0
    return pd.DataFrame(out, index=table.index.copy())


@dataclass
class SessionFile:
    """The session table written to a Parquet file, read back a few rows at a time.

    Attributes
    ----------
    path : pathlib.Path
        The file (in the run's private folder, then in the output folder).
    dtypes : dict of str to dtype
        The table's columns as written (its private ``_`` columns left out) and their
        dtypes, which the rows read back are given.
    """

    path: Path
    dtypes: dict[str, Any]

    def rows(self, session_ids: Sequence[str] | pd.Series | np.ndarray) -> pd.DataFrame:
        """The whole rows of the sessions ``session_ids``, as the table held them.

        The file is read :data:`BATCH_ROWS` rows at a time, each batch filtered on
        ``session_id`` (:func:`pyarrow.compute.is_in`): the table is never read whole
        (about 25 MB of Arrow a batch), and only the matching rows are kept.

        Parameters
        ----------
        session_ids : sequence of str
            ``(r,)`` distinct session ids.

        Returns
        -------
        pandas.DataFrame
            ``(r', k)``: every column of the file with the table's dtypes
            (:attr:`dtypes`), one row per id found, in the order given (an id not in
            the table has no row, as a left merge with the table would give it none),
            index ``0..r'-1``.
        """
        ids = pd.Series(session_ids, dtype=STRING).to_numpy(dtype=object)
        want = pa.array(ids, type=pa.string())
        pf = pq.ParquetFile(self.path)
        kept = [b.filter(pc.is_in(b.column("session_id"), value_set=want))
                for b in pf.iter_batches(batch_size=BATCH_ROWS)]  # fmt: skip
        table = pa.Table.from_batches([b for b in kept if b.num_rows], schema=pf.schema_arrow)
        got = pd.Index(table.column("session_id").to_numpy(zero_copy_only=False))
        where = got.get_indexer(ids)
        table = table.take(pa.array(where[where >= 0], type=pa.int64()))
        return pd.DataFrame({c: _column(table.column(c), t) for c, t in self.dtypes.items()})

    def move_into(self, out: Path) -> Path:
        """Move the file into the output folder ``out`` as :data:`SESSIONS_FILE` (the
        same bytes: moved, not rewritten). Returns its new path (also :attr:`path`)."""
        target = out / SESSIONS_FILE
        shutil.move(str(self.path), target)
        self.path = target
        return target


def _column(col: pa.ChunkedArray, dtype: Any) -> pd.Series:
    """An Arrow column read back from the file as a pandas column of ``dtype``."""
    if isinstance(dtype, pd.ArrowDtype):  # the list columns: Arrow lists as held
        return pd.Series(pd.arrays.ArrowExtensionArray(col.cast(dtype.pyarrow_dtype)))
    return col.to_pandas().astype(dtype)


def set_aside_sessions(result: Any, folder: Path | None) -> tuple[Any, SessionFile | None]:
    """Write the collected session table to ``folder``; keep only its slim table.

    Parameters
    ----------
    result : labforensics.engine.run.EngineResult
        :meth:`LabRun.collect <labforensics.engine.run.LabRun.collect>`'s result;
        with a ``folder``, changed in place: ``sessions`` replaced by
        :func:`slim_sessions` of it (the whole table is no longer referenced).
    folder : pathlib.Path or None
        The run's private folder (mode 0700, removed at the end of the run); None
        (the events held in memory) keeps the table whole and writes nothing.

    Returns
    -------
    tuple
        ``result`` and the :class:`SessionFile` written (None without a folder). The
        file holds the bytes :func:`write_sessions` writes of the whole table.

    Raises
    ------
    OSError
        When the folder cannot be written (the run stops: nothing is lost silently).
    """
    if folder is None:
        return result, None
    table = drop_private(result.sessions)
    path = write_parquet(table, folder / SESSIONS_FILE)
    file = SessionFile(path, {c: table[c].dtype for c in table.columns})
    result.sessions = slim_sessions(result.sessions)
    del table
    return result, file


def collect_slim(run: Any, folder: Any) -> tuple[Any, SessionFile | None]:
    """:meth:`LabRun.collect <labforensics.engine.run.LabRun.collect>`, then
    :func:`set_aside_sessions`, in ``folder`` when the run keeps its events in files.

    Parameters
    ----------
    run : labforensics.engine.run.LabRun
        After detection. When its :attr:`events_to_files
        <labforensics.engine.run.LabRun.events_to_files>` (a ``memory_budget`` below
        the evidence) and a ``folder`` is given, the case's events and the session table
        wait in ``folder`` (the slim table too, a file a lab:
        :class:`~labforensics.session_labs.SlimLabs`); otherwise both are held (a small
        case: unchanged, nothing written). In ``folder``, each lab's session table is
        written to a file as it is gathered and ``sessions.parquet`` merged from them
        (:class:`~labforensics.engine.session_merge.LabSessions`): the whole table is
        never held, and the file is the bytes :func:`set_aside_sessions` writes of it.
    folder : labforensics.case_events.EventsFolder or None
        The run's private folder (made on first use, removed by the caller).

    Returns
    -------
    tuple
        The :class:`~labforensics.engine.run.EngineResult` and the
        :class:`SessionFile` (None when the table is held whole).
    """
    to_files = folder.make() if run.events_to_files and folder is not None else None
    if to_files is None:
        return set_aside_sessions(run.collect(None), None)
    # the table in a file already, the slim one in a file a lab (session_labs.SlimLabs)
    result = run.collect(to_files, sessions_dir=to_files, by_lab=True)
    return result, result.session_file


def write_sessions(table: pd.DataFrame, file: SessionFile | None, out: Path) -> Path:
    """``sessions.parquet`` in the output folder ``out``: the file set aside moved there,
    else ``table`` (the whole session table) written.

    Returns
    -------
    pathlib.Path
        The output file.
    """
    if file is not None:
        return file.move_into(out)
    return write_parquet(drop_private(table), out / SESSIONS_FILE)


def rows_of(file: SessionFile | None) -> Callable[[Sequence[str]], pd.DataFrame] | None:
    """:meth:`SessionFile.rows` of ``file``, None without one (the table held whole)."""
    return file.rows if file is not None else None
