"""The private DuckDB connection the leak linkage runs in (issue 13, item 8).

The linkage is the one place where raw names, birth dates and NIRs are
compared, so the database that compares them is opened here and nowhere else:

- in memory (``:memory:``), with ``temp_directory`` a fresh
  :func:`tempfile.mkdtemp` folder (mode 0700) under the system temporary
  folder (``tempfile.gettempdir()``), never under the working folder or an
  output folder given by the caller: DuckDB spills there only when the
  ``memory_limit`` is reached, and the spill files hold raw values;
- ``memory_limit`` from a memory budget in bytes, ``threads`` as given,
  progress bar off;
- closed and the folder removed in ``finally``: after success, after any
  exception, after ``KeyboardInterrupt`` and after ``SIGTERM``. A ``SIGTERM``
  handler is installed only while the connection is open (main thread only);
  it raises :class:`LinkageTerminated` so that the ``finally`` runs, and once
  the folder is removed the previous handler is restored and the signal is
  delivered again, so a process killed with ``SIGTERM`` still ends as a
  ``SIGTERM`` would have ended it.

A signal that arrives while DuckDB executes a long query is handled when that
query returns control to Python (DuckDB's own interrupt check for ``SIGINT``
is faster, and turns Ctrl-C into its own query error: raised again as
``KeyboardInterrupt`` by :func:`labforensics._cleanup.interrupt_noted`). The
spill folder therefore exists while a run lasts and no longer.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator

import duckdb

from labforensics._cleanup import interrupt_noted, sigterm_raises
from labforensics.errors import LabForensicsError, ParameterError
from labforensics.leak._temp_folder import TEMP_INSIDE, check_temp_folder

__all__ = ["TEMP_INSIDE", "LinkageTerminated", "check_temp_folder", "private_connection"]

#: Prefix of the spill folders (lets a test find leftovers in the temp folder).
TEMP_PREFIX = "labforensics-link-"


class LinkageTerminated(LabForensicsError):
    """The linkage received ``SIGTERM``; raised so that cleanup runs."""


@contextlib.contextmanager
def private_connection(
    *,
    memory_budget_bytes: int,
    threads: int,
    avoid_dirs: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open an in-memory DuckDB connection with a private spill folder.

    Parameters
    ----------
    memory_budget_bytes : int
        DuckDB ``memory_limit`` in bytes (at least 64 MiB).
    threads : int
        DuckDB ``threads`` (at least 1).
    avoid_dirs : iterable of path
        Folders the spill folder must not be inside (the working folder is
        always avoided; pass the output folder too).

    Yields
    ------
    duckdb.DuckDBPyConnection
        The open connection; closed, and its spill folder removed, on exit.

    Raises
    ------
    ParameterError
        Budget or threads out of range, or the system temporary folder lies
        inside the working folder or a folder in ``avoid_dirs`` (fix: set
        ``TMPDIR`` elsewhere).
    LinkageTerminated
        ``SIGTERM`` arrived while the connection was open (re-delivered to
        the previous handler after cleanup).
    """
    if memory_budget_bytes < 64 * 1024 * 1024:
        raise ParameterError("memory budget must be at least 64 MiB (memory_budget_bytes)")
    if threads < 1:
        raise ParameterError("threads must be at least 1")
    system_tmp = check_temp_folder(avoid_dirs)
    folder = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=system_tmp)
    os.chmod(folder, 0o700)
    con: duckdb.DuckDBPyConnection | None = None
    with (
        sigterm_raises(
            lambda: LinkageTerminated("linkage interrupted by SIGTERM; temporary files removed")
        ),
        interrupt_noted(),  # Ctrl-C during a query: DuckDB's own error, raised as Ctrl-C
    ):
        try:
            con = duckdb.connect(
                ":memory:",
                config={
                    "temp_directory": folder,
                    "memory_limit": f"{int(memory_budget_bytes) // (1024 * 1024)}MiB",
                    "threads": int(threads),
                },
            )
            con.execute("SET enable_progress_bar = false")
            yield con
        finally:
            if con is not None:
                with contextlib.suppress(Exception):
                    con.close()
            shutil.rmtree(folder, ignore_errors=True)
