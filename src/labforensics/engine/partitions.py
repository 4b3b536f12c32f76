"""Lab partitions: where one lab's events come from (events in memory, or the store).

A partition is a callable returning one lab's canonical events in ``(ts, seq)`` order:
:class:`FramePartition` holds them (the events of a read of files, split by lab);
:class:`StorePartition` reads them from an evidence store
(:mod:`labforensics.store`, ``events/lab=<L>/month=<M>/*.parquet``) when called, so a
worker reads its own lab and nothing crosses the network but the lab's path and the
``seq`` numbers.

``seq`` from a store. The store keeps each event's position in its file; the dense
``seq`` of the whole evidence is its rank in (file rank, position) over every lab
(:func:`labforensics.store.load_store`). :func:`store_partitions` computes it once on
the client from two narrow columns of every part (``source_file``, dictionary-encoded,
and ``seq``: about 12 bytes per event, freed lab by lab) and gives each partition its
lab's ``seq`` array (8 bytes per event of the lab).
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from .. import schema
from .._narrow import empty_like, narrow, widen
from ..custody import EvidenceFile
from ..ingest import Evidence
from ..store._layout import EVENTS_DIR
from ..store._load import _file_rank, open_store
from ..store._verify import check_event_count

__all__ = [
    "FramePartition",
    "StorePartition",
    "empty_like",
    "narrow",
    "release_freed",
    "release_memory",
    "split_by_lab",
    "store_partitions",
    "widen",
]


def release_memory() -> None:
    """Give freed memory back to the system between stages (the findings do not change).

    A collection of reference cycles (pandas objects held in cycles keep their columns
    until the collector runs), then the allocators' cached free pages returned: Arrow's
    pools (mimalloc by default, jemalloc during ingest:
    :mod:`labforensics._arrow_pool`) keep freed pages for reuse, and glibc's ``malloc``
    keeps large freed blocks of numpy arrays in its heap (``malloc_trim``). Without it a
    stage's peak adds the previous stages' freed but retained memory.
    """
    gc.collect()
    release_freed()


def release_freed() -> None:
    """Return the allocators' cached free pages to the system (Arrow's pools and glibc's
    ``malloc_trim``), without the collection of :func:`release_memory`: cheap enough to
    call between the columns of a table being built (a few ms)."""
    pools = [pa.default_memory_pool()]
    for make in (
        getattr(pa, "jemalloc_memory_pool", None),
        getattr(pa, "mimalloc_memory_pool", None),
    ):
        try:
            if make is not None:
                pools.append(make())
        except (NotImplementedError, pa.ArrowException):
            pass
    for pool in pools:
        pool.release_unused()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # another libc (musl): nothing to trim
            pass


@dataclass
class FramePartition:
    """One lab's events, held in memory dictionary-encoded (:func:`narrow`) until called."""

    lab: str | None
    events: pd.DataFrame

    def __call__(self) -> pd.DataFrame:
        return widen(self.events)

    def release(self) -> None:
        """Drop the events (once read: the lab's stage holds its own copy)."""
        self.events = empty_like(self.events)

    def __len__(self) -> int:
        return len(self.events)


def split_by_lab(events: pd.DataFrame) -> list[FramePartition]:
    """The events of a whole read split by lab (labs sorted, no lab last), order kept.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical events in ``(ts, seq)`` order.

    Returns
    -------
    list of FramePartition
        One per lab present (none when there is no event).
    """
    if not len(events):
        return [FramePartition(None, events)]
    codes, labs = pd.factorize(events["lab"].astype("object"), use_na_sentinel=True)
    out = []
    named = sorted((str(x), i) for i, x in enumerate(labs))
    for lab, i in named:
        out.append(FramePartition(lab, narrow(events[codes == i].reset_index(drop=True))))
    if (codes < 0).any():
        out.append(FramePartition(None, narrow(events[codes < 0].reset_index(drop=True))))
    return out


def _parts_by_lab(man: Mapping[str, Any]) -> dict[str | None, list[str]]:
    """The manifest's event parts per lab (``events/lab=<L>/month=<M>/...``), paths sorted."""
    parts = sorted(p for g in man["groups"].values() for p in g["parts"])
    out: dict[str | None, list[str]] = {}
    for p in parts:
        seg = [s for s in Path(p).parts if s.startswith("lab=")]
        lab = seg[0][4:] if seg else None
        lab = None if lab in (None, "", "__HIVE_DEFAULT_PARTITION__") else lab
        out.setdefault(lab, []).append(p)
    return out


def _dataset(store: Path, parts: list[str]) -> ds.Dataset:
    part = ds.partitioning(pa.schema([("lab", pa.string()), ("month", pa.string())]), flavor="hive")
    return ds.dataset([(store / p).as_posix() for p in parts], format="parquet",
                      partitioning=part, partition_base_dir=(store / EVENTS_DIR).as_posix())  # fmt: skip


def _keys(df: pd.DataFrame, rank: Mapping[str, int]) -> np.ndarray:
    """(file rank, position in the file) of each row as one sortable int64."""
    codes, names = pd.factorize(df["source_file"].astype(object))
    frank = np.asarray([rank.get(n, len(rank)) for n in names], dtype=np.int64)[codes]
    return (frank << 40) | df["seq"].to_numpy(dtype=np.int64)


#: The scan of :meth:`StorePartition.split_accounts`: no record batch or file read ahead,
#: so that the pass holds about one record batch of the store at a time (measured on a
#: 2.28 M-event lab: 360 MiB above the memory before it, 880 MiB with pyarrow's
#: read-ahead; the same 4 to 5 s).
SPLIT_SCAN: dict[str, Any] = {"batch_readahead": 0, "fragment_readahead": 0, "use_threads": False}


@dataclass
class StorePartition:
    """One lab of an evidence store, read when called (on a worker, with the Dask engine).

    Attributes
    ----------
    lab : str or None
    store : Path
    parts : list of str
        The lab's event parts the manifest names (relative to the store).
    seq : numpy.ndarray of int64
        The dense ``seq`` of the whole evidence of each of the lab's events, in
        (file rank, position) order.
    rank : dict of str to int
        File rank of each ``source_file`` (evidence order).
    """

    lab: str | None
    store: Path
    parts: list[str]
    seq: np.ndarray
    rank: dict[str, int]

    def __len__(self) -> int:
        return len(self.seq)

    def __call__(self) -> pd.DataFrame:
        """The lab's events as :func:`labforensics.store.load_store` gives them."""
        raw = _dataset(self.store, self.parts).to_table()
        if not raw.num_rows:
            return schema.empty_events()
        raw = raw.drop_columns(["month"]).to_pandas(ignore_metadata=True)
        key = _keys(raw, self.rank)
        ev_order = np.argsort(key, kind="stable")
        seq = np.empty(len(raw), dtype=np.int64)
        seq[ev_order] = self.seq
        return self._canonical(raw, seq)

    def accounts(self) -> pd.Series:
        """The ``account`` of every event of the lab (one column read), store order."""
        t = _dataset(self.store, self.parts).to_table(columns=["account"])
        return t.column("account").to_pandas()

    def sorted_keys(self) -> np.ndarray:
        """The lab's (file rank, position) keys, sorted (int64, shape (n_events,)): the
        i-th is the event whose evidence ``seq`` is ``self.seq[i]`` (two columns read)."""
        t = _dataset(self.store, self.parts).to_table(columns=["source_file", "seq"])
        return np.sort(_keys(t.to_pandas(ignore_metadata=True), self.rank))

    def read_accounts(self, accounts: list[str], missing: bool, keys: np.ndarray
                      ) -> pd.DataFrame:  # fmt: skip
        """The lab's events of some accounts only, as :meth:`__call__` gives them.

        Parameters
        ----------
        accounts : list of str
            The accounts read (a Parquet filter: only their row groups' rows).
        missing : bool
            Also read the events without an account.
        keys : numpy.ndarray of int64
            :meth:`sorted_keys` (each read event's ``seq`` is found there).

        Returns
        -------
        pandas.DataFrame
            Canonical events in ``(ts, seq)`` order: the rows of :meth:`__call__` with
            those accounts, in its order, with its values.
        """
        field = pc.field("account")
        flt = field.isin(pa.array(accounts, pa.string()))
        if missing:
            flt = flt | field.is_null()
        return self._from_raw(_dataset(self.store, self.parts).to_table(filter=flt), keys)

    def split_accounts(self, groups: list[tuple[list[str], bool]], folder: Path
                       ) -> list[Path | None]:  # fmt: skip
        """The lab's rows split by account group in one pass, each group's to a file.

        The store is read once, one record batch at a time, instead of once per group
        (a filtered read decodes every row group: the accounts are spread over all of
        them); each record batch's rows are written to their group's Arrow IPC file in
        ``folder`` (the caller's private folder: the rows are the store's, patient
        identifiers pseudonymised). :meth:`read_split` of a group's file gives what
        :meth:`read_accounts` of the group gives.

        Parameters
        ----------
        groups : list of (list of str, bool)
            Per group its accounts and whether it holds the events without one (every
            account in one group at most).
        folder : pathlib.Path
            An existing private folder.

        Returns
        -------
        list of pathlib.Path or None
            Per group its file, None when it has no row.
        """
        names = [a for accounts, _ in groups for a in accounts]
        value_set = pa.array(names, pa.string())
        group_of = np.repeat(np.arange(len(groups), dtype=np.int64),
                             [len(accounts) for accounts, _ in groups])  # fmt: skip
        missing = [i for i, (_, m) in enumerate(groups) if m]
        no_account = missing[0] if missing else -1
        paths: list[Path | None] = [None] * len(groups)
        writers: dict[int, Any] = {}
        pool = pa.default_memory_pool()
        try:
            for rb in _dataset(self.store, self.parts).to_batches(**SPLIT_SCAN):
                acc = rb.column("account")
                if value_set.type != acc.type:
                    value_set = value_set.cast(acc.type)
                pos = pc.fill_null(pc.index_in(acc, value_set=value_set), -1)
                pos = pos.to_numpy(zero_copy_only=False).astype(np.int64)
                g = np.where(pos >= 0, group_of[np.maximum(pos, 0)] if len(names) else -1, -1)
                if no_account >= 0:
                    g[pc.is_null(acc).to_numpy(zero_copy_only=False)] = no_account
                order = np.argsort(g, kind="stable")
                gs = g[order]
                cuts = np.flatnonzero(np.diff(gs)) + 1
                for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(gs)], strict=True):
                    k = int(gs[a]) if b > a else -1
                    if k < 0:
                        continue
                    if k not in writers:
                        paths[k] = folder / f"raw-{k}.arrow"
                        writers[k] = pa.ipc.new_file(str(paths[k]), rb.schema)
                    writers[k].write_batch(rb.take(pa.array(order[a:b])))
                del rb, acc
                pool.release_unused()  # the batch's buffers back, not kept for the next
        finally:
            for w in writers.values():
                w.close()
        return paths

    def read_split(self, path: Path | None, keys: np.ndarray) -> pd.DataFrame:
        """A group's events from its :meth:`split_accounts` file (None: no event), as
        :meth:`read_accounts` gives them (``keys``: :meth:`sorted_keys`)."""
        if path is None:
            return schema.empty_events()
        with pa.OSFile(str(path), "rb") as f:
            raw = pa.ipc.open_file(f).read_all()
        return self._from_raw(raw, keys)

    def _from_raw(self, raw: pa.Table, keys: np.ndarray) -> pd.DataFrame:
        """Rows read from the store (with its ``month`` column) as canonical events."""
        if not raw.num_rows:
            return schema.empty_events()
        raw = raw.drop_columns(["month"]).to_pandas(ignore_metadata=True)
        seq = self.seq[np.searchsorted(keys, _keys(raw, self.rank))]
        return self._canonical(raw, seq)

    @staticmethod
    def _canonical(raw: pd.DataFrame, seq: np.ndarray) -> pd.DataFrame:
        """Raw rows with their evidence ``seq`` as canonical events in ``(ts, seq)`` order."""
        ts = pd.to_datetime(raw["ts"], utc=True).dt.as_unit("ns")
        order = np.lexsort((seq, ts.to_numpy(dtype="datetime64[ns]").view("int64")))
        raw = raw.iloc[order].reset_index(drop=True)
        raw["seq"] = seq[order]
        return schema.coerce_events(raw)[list(schema.EVENT_COLUMNS)]


def store_partitions(store: Path, man: Mapping[str, Any]) -> list[StorePartition]:
    """One :class:`StorePartition` per lab of the store (labs sorted, no lab last).

    Reads ``source_file`` and ``seq`` of every part once, lab by lab, to number the
    events in evidence order (see the module doc).
    """
    rank = _file_rank(man)
    by_lab = _parts_by_lab(man)
    labs = sorted(x for x in by_lab if x is not None) + ([None] if None in by_lab else [])
    keys = []
    for lab in labs:
        t = _dataset(store, by_lab[lab]).to_table(columns=["source_file", "seq"])
        keys.append(np.sort(_keys(t.to_pandas(ignore_metadata=True), rank)))
    allk = np.sort(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
    out = []
    for lab, k in zip(labs, keys, strict=True):
        seq = np.searchsorted(allk, k).astype(np.int64)  # keys are unique: rank = seq
        out.append(StorePartition(lab, store, by_lab[lab], seq, rank))
    return out


def store_evidence(
    store: Path, *, options: Mapping[str, Any] | None = None, key_fingerprint: str | None = None
) -> tuple[Any, list[StorePartition] | list[FramePartition]]:
    """A store's accounting, quarantine and custody records, and its lab partitions
    (one empty :class:`FramePartition` when the store holds no event).

    As :func:`labforensics.store.load_store` without reading the events: the
    :class:`~labforensics.ingest.Evidence` has no events (the engine reads each lab);
    options and key are checked the same way.

    Raises
    ------
    StoreError
        When ``store`` is not a store, ``options``/``key_fingerprint`` differ from its,
        a file of it is missing or differs from the one ingested (SHA-256), or the
        events its parts hold are not those its accounting kept.
    """

    store_p, man, report, quarantine = open_store(store, options, key_fingerprint)
    manifest = [EvidenceFile(f["path"], f["source_file"], f["size"], f["sha256"], f["format"])
                for f in man["files"]]  # fmt: skip
    ev = Evidence(events=schema.empty_events(), report=report, quarantine=quarantine,
                  manifest=manifest, case_key_fingerprint=man["case_key_fingerprint"])  # fmt: skip
    parts = store_partitions(store_p, man)
    check_event_count(store_p, sum(len(p) for p in parts), report.events_out)
    # no event (every row quarantined, say): one empty partition, as split_by_lab gives a
    # read of the files; with none the engine had no lab to combine (QA session 15)
    return ev, parts or [FramePartition(None, schema.empty_events())]
