"""The account batches' results waiting in files while a large lab is processed (issue 17).

:func:`~labforensics.engine.batches.lab_stage_batched` sessionizes a lab account batch by
account batch, computes the lab-wide context, then builds each batch's features; in the
end it puts every batch's sessions, events and features in the whole lab's order. Held in
memory, the batches' results grow with the lab (about 320 bytes an event: the events
dictionary-encoded, the sessions, the features), on top of one batch's stage. Here they
wait in files instead, as each batch produces them, and are read back one batch (phase
2) or one column of every batch (the end) at a time:

* each batch's sessions and dictionary-encoded events
  (:func:`~labforensics.engine.partitions.narrow`): one :mod:`pickle` file per column
  (the exact objects back: same values, dtypes, categories and index), so that the whole
  lab's table is assembled column by column, a column of every batch read and freed once
  it is in the lab's table (:meth:`BatchFiles.frame`, :meth:`BatchFiles.column`);
* from a store, each batch's rows as read (Arrow IPC files in ``raw/``:
  :meth:`~labforensics.engine.partitions.StorePartition.split_accounts`, one pass over
  the lab), each removed once its batch has read it;
* each batch's feature tables (session, account-day, account-month, before the
  lab-wide baselines): one pickle file per unit (:meth:`BatchFiles.put_table`), read
  back unit by unit by :func:`~labforensics.features.context.combine_batches`.

The folder is private (``tempfile.mkdtemp``: readable by this user only) and removed by
:meth:`BatchFiles.close` (the caller closes it in a ``finally``, and a ``SIGTERM`` of a
run raises: :func:`labforensics._cleanup.sigterm_raises`). The tables written are the
lab stage's own: patient identifiers are already pseudonymised there (the evidence was
read with the case key), nothing else is written.
"""

from __future__ import annotations

import pickle
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["BatchFiles", "worker_folder"]


def _dump(obj: Any, path: Path) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def _load(path: Path) -> Any:
    with open(path, "rb") as f:
        return pickle.load(f)  # our own file, written by this process just before


def worker_folder() -> Path | None:
    """The Dask worker's local directory when called in a Dask task, else None.

    A worker stopped with its run (the client's SIGTERM closes the cluster; the nanny
    kills the worker) never reaches a ``finally``: a batch folder made in the system's
    temporary directory stayed there with the lab's pseudonymised events (session 15,
    two such folders left by a stopped benchmark). In the worker's local directory it
    goes with the worker's: on the run's own ``LocalCluster`` that is the engine's
    private spill folder, removed by the client at the end, after an error and on
    SIGTERM (:class:`labforensics.engine.dask.DaskEngine`).
    """
    distributed = sys.modules.get("distributed")  # never imported here for this
    if distributed is None:
        return None
    try:
        return Path(distributed.get_worker().local_directory)
    except (ValueError, AttributeError):  # not in a worker's task
        return None


class BatchFiles:
    """A private folder of one lab's account batches' tables (see the module doc).

    Parameters
    ----------
    parent : pathlib.Path, optional
        Where the private folder is made (default: in a Dask task the worker's local
        directory, :func:`worker_folder`; else the system's temporary directory, as
        :func:`tempfile.mkdtemp` chooses).

    Attributes
    ----------
    path : pathlib.Path or None
        The folder (None once closed).
    """

    def __init__(self, parent: Path | None = None) -> None:
        parent = parent if parent is not None else worker_folder()
        self.path: Path | None = Path(tempfile.mkdtemp(prefix="labforensics-batches-",
                                                       dir=parent))  # fmt: skip
        self._columns: dict[str, list[str]] = {}

    def folder(self, name: str) -> Path:
        """The subfolder ``name`` of the private folder (made when missing)."""
        if self.path is None:
            raise RuntimeError("the batch files are closed")
        d = self.path / name
        d.mkdir(exist_ok=True)
        return d

    def put_frame(self, name: str, df: pd.DataFrame) -> None:
        """Write a table column by column (each column a pickled ``Series``).

        Parameters
        ----------
        name : str
            The table's name, unique in the folder (e.g. ``"events-3"``).
        df : pandas.DataFrame
            Any table with unique column names; :meth:`frame` gives it back equal
            (values, dtypes, index, column order).
        """
        d = self.folder(name)
        cols = [str(c) for c in df.columns]
        if len(set(cols)) != len(cols) or list(df.columns) != cols:
            raise ValueError(f"{name}: column names must be unique strings")
        for i, c in enumerate(cols):
            _dump(df[c], d / f"{i}.pkl")
        _dump(df.index, d / "index.pkl")
        self._columns[name] = cols

    def columns(self, name: str) -> list[str]:
        """The columns of table ``name``, in order."""
        return list(self._columns[name])

    def column(self, name: str, column: str) -> pd.Series:
        """One column of table ``name`` (the ``Series`` written)."""
        i = self._columns[name].index(column)
        return _load(self.folder(name) / f"{i}.pkl")

    def frame(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Table ``name`` (or some of its columns, in the order given) as written."""
        cols = self._columns[name] if columns is None else list(columns)
        index = _load(self.folder(name) / "index.pkl")
        if not cols:
            return pd.DataFrame(index=index)
        return pd.DataFrame({c: self.column(name, c) for c in cols}, index=index)

    def put_table(self, name: str, table: Any) -> None:
        """Write one object whole (a feature table) under ``name``."""
        _dump(table, self.folder("tables") / f"{name}.pkl")

    def table(self, name: str) -> Any:
        """The object :meth:`put_table` wrote under ``name``."""
        return _load(self.folder("tables") / f"{name}.pkl")

    def drop(self, name: str) -> None:
        """Remove table ``name``'s files (once read for the last time)."""
        if self.path is not None:
            shutil.rmtree(self.path / name, ignore_errors=True)
            self._columns.pop(name, None)

    def close(self) -> None:
        """Remove the folder and every file in it (idempotent)."""
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None

    def __enter__(self) -> BatchFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
