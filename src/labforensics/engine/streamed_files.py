"""Evidence files read through a private temporary evidence store (issue 17, item 2).

Read from files at once, an investigation holds the whole read: about 600 bytes an
event at the ingest's peak (session 14 at 11 M events: 6,266 MiB, against 1,964 MiB
for the same case from a store). With a ``memory_budget``, the files are instead
streamed into an evidence store, group by group (:func:`labforensics.store.ingest_to_store`:
one lab's files, or one other file, read at a time), in the run's private temporary
folder (:class:`~labforensics.case_events.EventsFolder`: mode 0700, removed at the end
of the run, after an error and on SIGTERM), and each lab is read back from it by the
engine running it, as ``investigate(store=...)`` does. The store gives the events,
the row accounting and the custody records that reading every file at once gives
(:mod:`labforensics.store._layout`), so the findings are the same byte for byte; the
run still names the evidence files, not the temporary store, among its inputs.

Disk: the temporary folder (``TMPDIR``) needs about 25 bytes an event free (a store of
36.2 M generated events: 815 MiB) beside what the engine spills there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..case import CaseContext
from ..case_events import EventsFolder
from ..ingest import Evidence
from ..privacy import CaseKey
from ..store import ingest_to_store, store_options
from .partitions import StorePartition, store_evidence

__all__ = ["STORE_FOLDER", "streamed_evidence", "streams"]

#: The temporary store's folder inside the run's private folder.
STORE_FOLDER = "evidence-store"


def streams(memory_budget: int | None, engine: Any, scheduler: str | None) -> bool:
    """Whether evidence files are read through a temporary store.

    With a ``memory_budget`` and an engine whose workers read this machine's temporary
    folder: the local engine, or ``"dask"`` on the ``LocalCluster`` the run starts.
    Not with a scheduler's address or an engine object (their workers may run on other
    machines, which cannot read this one's temporary folder): those read the files at
    once, as without a budget.
    """
    if memory_budget is None:
        return False
    return engine == "local" or (engine == "dask" and scheduler is None)


def streamed_evidence(
    files: Sequence[str | os.PathLike[str]],
    ingest: Mapping[str, Any],
    case: CaseContext,
    key: CaseKey,
    folder: EventsFolder,
    *,
    progress: bool = False,
) -> tuple[Evidence, list[StorePartition]]:
    """The evidence's accounting and its lab partitions, read through a temporary store.

    Parameters
    ----------
    files : sequence of path-like
        The readable evidence files (folders and globs already expanded).
    ingest : mapping
        The run's ingest options (``profile``, ``year``, ``lab``; missing ones None).
    case : CaseContext
        The case (time zone, lab aliases, account kinds).
    key : CaseKey
        The case key (identifiers are pseudonymised as they are read).
    folder : EventsFolder
        The run's private folder; the store is made in it (:data:`STORE_FOLDER`) and
        removed with it.
    progress : bool
        A progress bar per group read.

    Returns
    -------
    evidence : Evidence
        Accounting, quarantine and custody records, no events (``events`` is empty).
    parts : list of StorePartition
        One per lab (sorted, events with no lab last), each read when its lab runs.

    Raises
    ------
    labforensics.store.StoreError
        When the temporary store fails its own checks (a file of it changed while the
        run read it).
    labforensics.errors.EvidenceError
        When an evidence path does not exist.
    """
    store = Path(folder.make()) / STORE_FOLDER
    ingest_to_store([os.fspath(p) for p in files], store, profile=ingest.get("profile"),
                    case_key=key, year=ingest.get("year"), lab=ingest.get("lab"), case=case,
                    progress=progress)  # fmt: skip
    opts = store_options(tz=None, profile=ingest.get("profile"), year=ingest.get("year"),
                         lab=ingest.get("lab"), case=case)  # fmt: skip
    return store_evidence(store, options=opts, key_fingerprint=key.fingerprint)
