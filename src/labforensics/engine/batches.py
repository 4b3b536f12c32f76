"""A lab larger than the memory budget, processed in account batches.

:func:`lab_stage_batched` gives the same :class:`~labforensics.engine.lab.LabPart` as
:func:`~labforensics.engine.lab.lab_stage` of the whole lab (every table equal, same
rows in the same order, same columns and dtypes: tested), holding one batch of the
lab's events at a time instead of all of them several times over.

Why account batches are exact. Sessions are keyed by ``(lab, account)``
(:func:`labforensics.sessionize`; ``SessionParams.by`` always holds ``account``): an
account's events form its sessions alone, a failed login is counted only on a session of
the same key (its account, then source address and service within it), ``session_id``
is a hash of the account's own evidence, and events without an account belong to no
session. So **no session state needs carrying across account batches**: each batch's
sessions are the whole lab's sessions of its accounts, with the same ids and values.
What reads beyond an account (the explanation of patient accesses, the lab's patients
to date, its first instant and span, the colleagues' nights, the peer-lab baselines and
the Bonferroni family, the exports' scope bounds) is computed once over the lab from a
compact projection gathered while the batches are sessionized
(:mod:`labforensics.features.context`).

Passes over the lab (``B`` batches):

1. The accounts and their event counts (one column read); the batches
   (:func:`account_batches`).
2. From a store, the lab read once, one record batch at a time, each row written to
   its batch's file (:meth:`StorePartition.split_accounts`; above :data:`MAX_SPLIT`
   batches, a filtered read per batch instead). Per batch: its events read (its file;
   in memory, a slice), sessionized, its operations listed
   (:func:`labforensics.authorisation.operations.operations`), its compact projection
   added to the lab's (:class:`~labforensics.features.context.LabContextBuilder`); its
   sessions and dictionary-encoded events written to the private folder
   (:class:`~labforensics.engine.batch_files.BatchFiles`).
3. The lab-wide context; the exports assessed over the lab's operations.
4. Per batch: its sessions and events read back and widened, its features without
   baselines, written to the folder.
5. The lab's features from the batches' tables, one unit at a time, with the
   baselines, pooled counts, family and authorisation columns; the sessions, then the
   events, put in the whole lab's order column by column (one column of every batch
   read at a time; text categories unioned in Arrow). The folder is removed.

Memory: one batch's events and their stage (the batch's events times the lab stage's
factor), plus the projection (about 40 bytes an event naming a patient) and the
context; then the lab's results (what the part holds in any case: about 320 bytes an
event, its events dictionary-encoded about 95, its sessions and features) and one
column or unit being assembled, which is the peak once a batch's stage is below it.
Measured with ``benchmarks/batches.py`` on a 2.28 M-event lab, budget 300 MB (4
batches): 1,416 MiB peak resident (of which about 320 before the stage), against 2,096
MiB with every batch's results held in memory (same run, 72 s against 81 s) and 3,401
MiB for the lab whole; the part itself is 726 MiB.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import union_categoricals
from pandas.arrays import ArrowStringArray

from ..authorisation.operations import operations
from ..authorisation.status import assess_with_pairs
from ..features import _unit_tables
from ..features.context import LabContext, LabContextBuilder, combine_batches
from ..schema import STRING
from ..sessions import Sessions, sessionize
from .batch_files import BatchFiles
from .combine import first_event_seq
from .lab import UNITS, LabPart, LabSettings, lab_stage, part_of
from .partitions import FramePartition, StorePartition, narrow, release_memory, widen

__all__ = [
    "EVENT_BYTES",
    "AccountBatch",
    "account_batches",
    "account_counts",
    "lab_stage_batched",
]

#: An account batch: its accounts (sorted) and whether it holds the events without one.
AccountBatch = tuple[list[str], bool]

#: Most batches a store's lab is split into in one pass (one open file each); above,
#: each batch is a filtered read of the store (:meth:`StorePartition.read_accounts`).
MAX_SPLIT = 256

#: Bytes a lab's first pass (sessions, exports, features: the engine's ``lab_stage``)
#: holds an event at its peak, above the memory before it starts, its events read from
#: the store included: what the budget is compared with (a lab above it is run in
#: account batches of at most ``budget // EVENT_BYTES`` events; re-exported by
#: :mod:`labforensics.engine.run`). Measured with ``benchmarks/batches.py --modes whole``
#: (session 14, one generated lab over 2020 from a store, ``VmHWM`` minus the resident
#: memory before the stage): 891,612 events (scale 30) 1,286 MiB, 1,512 bytes an event;
#: 303,490 events (scale 10) 533 MiB, 1,842 bytes an event; i.e. about 144 MiB plus
#: 1,343 bytes an event. 1,600 is at or above that cost for every lab of about 0.6 M
#: events or more, the labs a budget has to cut (400 until session 13: the events alone as read, 383-406 bytes an event,
#: so a lab needing four times its estimate was run whole).
EVENT_BYTES = 1_600


def account_counts(partition: Any) -> pd.Series:
    """Events per account of a lab partition.

    Parameters
    ----------
    partition : FramePartition, StorePartition or callable
        One lab's events (:mod:`labforensics.engine.partitions`); a store's lab reads
        its ``account`` column only.

    Returns
    -------
    pandas.Series of int64
        Account (str) -> events, accounts sorted (code point order, as the feature
        roll-ups sort them); the events without an account under the key None, last.
    """
    if isinstance(partition, StorePartition):
        acc = partition.accounts()
    elif isinstance(partition, FramePartition):
        acc = partition.events["account"]
    else:
        acc = partition()["account"]
    vc = pd.Series(acc).astype("object").value_counts(dropna=False, sort=False)
    named = sorted(str(a) for a in vc.index if not pd.isna(a))
    counts = {a: int(vc[a]) for a in named}
    missing = int(vc[[a for a in vc.index if pd.isna(a)]].sum())
    out = pd.Series(counts, dtype="int64") if counts else pd.Series(dtype="int64")
    if missing:
        out = pd.concat([out, pd.Series([missing], index=pd.Index([None], dtype=object))])
    return out


def account_batches(counts: pd.Series, max_events: int) -> list[AccountBatch]:
    """Contiguous groups of sorted accounts, balanced by events, each within ``max_events``.

    The fewest batches ``k = ceil(total / max_events)`` are aimed at, each cut where the
    running total passes a multiple of ``total / k`` (so they are about equal), never
    letting a batch exceed ``max_events``: an account above it alone is a batch of its
    own. The events without an account (key None) form their own batch, last.
    Deterministic (depends on the counts only).

    Parameters
    ----------
    counts : pandas.Series of int
        :func:`account_counts`.
    max_events : int, >= 1
        Most events a batch should hold (the memory budget over the bytes an event).

    Returns
    -------
    list of (list of str, bool)
        Per batch its accounts and whether it is the batch of the events without one.

    Raises
    ------
    ValueError
        When ``max_events`` is below 1.
    """
    if max_events < 1:
        raise ValueError(f"max_events must be at least 1, not {max_events}")
    named = [(str(a), int(n)) for a, n in counts.items() if not pd.isna(a)]
    total = sum(n for _, n in named)
    out: list[AccountBatch] = []
    if named:
        k = max(1, math.ceil(total / max_events))
        step = total / k
        cur: list[str] = []
        size = done = 0
        for a, n in named:
            full = size + n > max_events or (done + size >= step * (len(out) + 1) - 1e-9)
            if cur and full:
                out.append((cur, False))
                done += size
                cur, size = [], 0
            cur.append(a)
            size += n
        out.append((cur, False))
    if int(counts[counts.index.isna()].sum()):
        out.append(([], True))
    return out


def _read(partition: Any, batch: AccountBatch, keys: np.ndarray | None,
          split: list[Path | None] | None = None, i: int = 0) -> pd.DataFrame:  # fmt: skip
    """The lab's events of batch ``i``, canonical, in ``(ts, seq)`` order (from a store:
    its file of ``split``, removed once read, else a filtered read)."""
    accounts, missing = batch
    if isinstance(partition, StorePartition):
        assert keys is not None
        if split is None:
            return partition.read_accounts(accounts, missing, keys)
        out = partition.read_split(split[i], keys)
        if split[i] is not None:
            split[i].unlink()
        return out
    ev = partition.events if isinstance(partition, FramePartition) else partition()
    acc = ev["account"]
    sel = acc.isin(accounts).to_numpy(dtype=bool)
    if missing:
        sel = sel | acc.isna().to_numpy(dtype=bool)
    return widen(ev[sel].reset_index(drop=True))


def _union_arrow(col: list[pd.Series], order: np.ndarray) -> pd.Series | None:
    """The batches' categoricals of Arrow-backed text as one, in ``order``: what
    ``union_categoricals(..., sort_categories=True)`` then ``take(order)`` gives, with
    the categories unioned, sorted (UTF-8 byte order: code point order, as pandas sorts
    them) and matched in Arrow, not as Python strings (a batch's distinct patients:
    hundreds of thousands). None when the categories are not all Arrow-backed text of
    one dtype (the caller falls back to :func:`union_categoricals`)."""
    dtypes = [s.cat.categories.dtype for s in col]
    arrays = [s.cat.categories.array for s in col]
    if len(set(dtypes)) != 1 or not all(isinstance(a, ArrowStringArray) for a in arrays):
        return None
    cats = [pa.array(a) for a in arrays]  # no copy (one chunk) or a chunked array:
    cats = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in cats]
    if len({c.type for c in cats}) != 1:
        return None
    every = pa.concat_arrays(cats)
    uniq = pc.unique(every)
    uniq = uniq.take(pc.sort_indices(uniq))
    del every
    k = len(uniq)  # the codes' dtype pandas would choose (coerce_indexer_dtype)
    kind = np.int8 if k < 127 else np.int16 if k < 32_767 else np.int32
    codes = np.empty(sum(len(s) for s in col), dtype=kind)
    at = 0
    for s, c in zip(col, cats, strict=True):
        new = pc.index_in(c, value_set=uniq).to_numpy(zero_copy_only=False)
        new = np.append(new.astype(kind), kind(-1))  # a missing value's code -1: last
        codes[at : at + len(s)] = new[s.cat.codes.to_numpy()]
        at += len(s)
    allc = codes[order]
    del codes
    categories = pd.Index(dtypes[0].__from_arrow__(uniq), dtype=dtypes[0])
    dtype = pd.CategoricalDtype(categories, ordered=False)
    cat = pd.Categorical.from_codes(allc, dtype=dtype, validate=False)
    return pd.Series(cat, name=col[0].name)


def _concat_events(files: BatchFiles, names: list[str]) -> pd.DataFrame:
    """The batches' dictionary-encoded events (tables ``names`` of ``files``) as
    :func:`narrow` of the whole lab's: in ``(ts, seq)`` order, each string column a
    categorical of its sorted distinct values. Assembled column by column: one column of
    every batch is read at a time, and its files removed once it is in the table."""
    if len(names) == 1:
        return files.frame(names[0])
    ts = np.concatenate([files.column(n, "ts").to_numpy(dtype="datetime64[ns]").view("int64")
                         for n in names])  # fmt: skip
    seq = np.concatenate([files.column(n, "seq").to_numpy(dtype="int64") for n in names])
    order = np.lexsort((seq, ts))
    del ts, seq
    out: dict[str, pd.Series] = {}
    for c in files.columns(names[0]):
        col = [files.column(n, c) for n in names]
        whole = None
        if all(isinstance(s.dtype, pd.CategoricalDtype) for s in col) and not all(
            s.dtype == col[0].dtype for s in col
        ):  # a narrowed string column: each batch's categories, unioned and sorted
            whole = _union_arrow(col, order)  # Arrow text: unioned in Arrow
            try:
                if whole is None:
                    cat = union_categoricals([s.array for s in col], sort_categories=True)
                    whole = pd.Series(cat, name=c).take(order).reset_index(drop=True)
            except TypeError:  # categories of different dtypes: through the strings
                s = pd.concat([x.astype(STRING) for x in col], ignore_index=True)
                whole = s.take(order).reset_index(drop=True).astype("category")
        if whole is None:
            whole = pd.concat(col, ignore_index=True).take(order).reset_index(drop=True)
        out[c] = whole
        del col, whole
    return pd.DataFrame(out, copy=False)


def _concat_sessions(files: BatchFiles, names: list[str], order: np.ndarray) -> pd.DataFrame:
    """The batches' sessions (tables ``names``, those with sessions, else the first) as
    one table in ``order``, column by column: equal to ``pd.concat`` of the batches'
    tables (``ignore_index``) then ``.iloc[order]`` and a fresh ``RangeIndex``."""
    if len(names) == 1:
        return files.frame(names[0]).iloc[order].reset_index(drop=True)
    out: dict[str, pd.Series] = {}
    for c in files.columns(names[0]):
        col = pd.concat([files.column(n, c) for n in names], ignore_index=True)
        out[c] = col.iloc[order].reset_index(drop=True)
        del col
    return pd.DataFrame(out, copy=False)


def lab_stage_batched(
    partition: Any,
    lab: str | None,
    settings: LabSettings,
    budget: int | None = None,
    *,
    event_bytes: int = EVENT_BYTES,
    batches: list[AccountBatch] | None = None,
    tmp_dir: Path | None = None,
) -> LabPart:
    """:func:`~labforensics.engine.lab.lab_stage` of one lab, its accounts in batches.

    Parameters
    ----------
    partition : FramePartition, StorePartition or callable
        The lab's events (:mod:`labforensics.engine.partitions`). A
        :class:`FramePartition` is released (emptied) once every batch is read.
    lab : str or None
        The lab code.
    settings : LabSettings
    budget : int, optional
        Memory budget in bytes: batches of at most ``budget // event_bytes`` events
        (:func:`account_batches`). Required unless ``batches`` is given.
    event_bytes : int
        Bytes an event is estimated at (default :data:`EVENT_BYTES`).
    batches : list of (list of str, bool), optional
        The batches to use instead (tests; every account of the lab exactly once, in
        sorted order, the no-account batch last).
    tmp_dir : pathlib.Path, optional
        Where the private folder of the batches' tables is made
        (:class:`~labforensics.engine.batch_files.BatchFiles`; default the system's
        temporary directory); it is removed before returning, also on an error.

    Returns
    -------
    LabPart
        Equal to ``lab_stage(partition(), lab, settings)``, with ``n_batches`` set.

    Raises
    ------
    ValueError
        When neither ``budget`` nor ``batches`` is given.

    Warns
    -----
    MemoryBudgetWarning
        Not here: the engine warns before running when one account alone exceeds the
        budget (:func:`account_batches` gives it a batch of its own).
    """
    if batches is None:
        if budget is None:
            raise ValueError("lab_stage_batched needs a budget or the batches")
        batches = account_batches(account_counts(partition), max(1, budget // event_bytes))
    if len(batches) <= 1:  # one batch: the lab whole
        events = partition()
        if hasattr(partition, "release"):
            partition.release()
        return lab_stage(events, lab, settings)
    files = BatchFiles(tmp_dir)
    try:
        part = _in_batches(partition, lab, settings, batches, files)
    finally:
        files.close()
    part.n_batches = len(batches)
    return part


def _batch_tables(files: BatchFiles, i: int, events: pd.DataFrame, sessions: pd.DataFrame,
                  settings: LabSettings, ctx: LabContext) -> tuple[Any, ...]:  # fmt: skip
    """Batch ``i``'s feature tables (no baselines yet) written to ``files``; per unit
    (:data:`~labforensics.engine.lab.UNITS`), a callable reading its table back."""
    tabs = _unit_tables(events, sessions, settings.features, settings.case, ctx.batch(i))[:3]
    for u, t in zip(UNITS, tabs, strict=True):
        files.put_table(f"{u}-{i}", t)
    return tuple(partial(files.table, f"{u}-{i}") for u in UNITS)


def _in_batches(partition: Any, lab: str | None, settings: LabSettings,
                batches: list[AccountBatch], files: BatchFiles) -> LabPart:  # fmt: skip
    """:func:`lab_stage_batched`'s passes (module doc), the batches' tables in ``files``."""
    keys = partition.sorted_keys() if isinstance(partition, StorePartition) else None
    split = None  # a store's lab read once, its rows split into the batches' files
    if isinstance(partition, StorePartition) and len(batches) <= MAX_SPLIT:
        split = partition.split_accounts(batches, files.folder("raw"))
    case, fp = settings.case, settings.features
    builder = LabContextBuilder(lab, fp, case.tz)
    ops: list[pd.DataFrame] = []
    has_sessions: list[bool] = []
    n_events = 0
    for i, b in enumerate(batches):
        ev = _read(partition, b, keys, split, i)
        n_events += len(ev)
        ss = sessionize(ev, settings.sessions)
        del ev
        builder.add(ss.events, ss.sessions)
        ops.append(operations(ss.events))
        files.put_frame(f"sessions-{i}", ss.sessions)
        has_sessions.append(bool(len(ss.sessions)))
        files.put_frame(f"events-{i}", narrow(ss.events))
        del ss
        release_memory()
    if hasattr(partition, "release"):
        partition.release()
    del keys
    names = [f"events-{i}" for i in range(len(batches))]
    if not n_events:
        return lab_stage(widen(files.frame(names[0])), lab, settings)
    kept = [o for o in ops if len(o)] or ops[:1]
    allops = pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]
    allops = allops.sort_values(["ts", "seq"], kind="stable").reset_index(drop=True)
    needs_scope = settings.register is not None and len(allops)
    scope = (builder.scope_events() if needs_scope
             else pd.DataFrame({"ts": [], "lab": [], "patient": []}))  # fmt: skip
    exports, budget = assess_with_pairs(
        allops, scope, register=settings.register,
        patient_index=settings.patient_index if settings.register is not None else None,
        case=case,
    )  # fmt: skip
    del allops, ops, kept, scope
    ctx = builder.build()
    del builder
    release_memory()
    tables: list[tuple[Any, Any, Any]] = []
    firsts, starts = [], []
    for i, name in enumerate(names):
        sessions, nev = files.frame(f"sessions-{i}"), files.frame(name)
        firsts.append(first_event_seq(sessions, nev))
        starts.append(pd.to_datetime(sessions["start"], utc=True).dt.as_unit("ns")
                      .to_numpy(dtype="datetime64[ns]").view("int64"))  # fmt: skip
        if len(sessions):
            tables.append(_batch_tables(files, i, widen(nev), sessions, settings, ctx))
        del sessions, nev
        release_memory()
    if not tables:  # no session in the lab: the empty tables of one batch
        sessions, ev = files.frame("sessions-0"), widen(files.frame(names[0]))
        tables.append(_batch_tables(files, 0, ev, sessions, settings, ctx))
        del sessions, ev
    order = np.lexsort((np.concatenate(firsts), np.concatenate(starts)))
    del firsts, starts
    feats = combine_batches(tables, order, ctx, fp, case, exports)
    del tables, ctx
    release_memory()
    with_ss = [f"sessions-{i}" for i, h in enumerate(has_sessions) if h] or ["sessions-0"]
    ss_all = _concat_sessions(files, with_ss, order)
    for i in range(len(batches)):
        files.drop(f"sessions-{i}")
    events = _concat_events(files, names)
    whole = Sessions(sessions=ss_all, events=events, params=settings.sessions)
    return part_of(lab, whole, exports, feats, n_events, narrowed=True, budget=budget)
