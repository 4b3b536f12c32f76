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
2. Per batch: its events read (from a store, only its accounts' rows: a Parquet filter;
   in memory, a slice), sessionized, its operations listed
   (:func:`labforensics.authorisation.operations.operations`), its compact projection
   added to the lab's (:class:`~labforensics.features.context.LabContextBuilder`); its
   events kept dictionary-encoded (the part holds them anyway).
3. The lab-wide context; the exports assessed over the lab's operations.
4. Per batch: its events widened back, its features without baselines.
5. The batches' sessions, events and features put in the whole lab's order; the
   baselines, pooled counts, family and authorisation columns on the lab's tables.

Memory: the lab's results (its events dictionary-encoded, about 85 bytes an event,
and its sessions and features: what the part holds in any case) plus one batch's events
and their stage (the batch's events times the lab stage's factor), plus the projection
(about 40 bytes an event naming a patient).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from ..authorisation.operations import operations
from ..authorisation.status import assess_operations
from ..features import _unit_tables
from ..features.context import LabContextBuilder, combine_batches
from ..schema import STRING
from ..sessions import Sessions, sessionize
from .combine import first_event_seq
from .lab import LabPart, LabSettings, lab_stage, part_of
from .partitions import FramePartition, StorePartition, narrow, release_memory, widen

__all__ = [
    "AccountBatch",
    "account_batches",
    "account_counts",
    "lab_stage_batched",
]

#: An account batch: its accounts (sorted) and whether it holds the events without one.
AccountBatch = tuple[list[str], bool]


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


def _read(partition: Any, batch: AccountBatch, keys: np.ndarray | None) -> pd.DataFrame:
    """The lab's events of one batch, canonical, in ``(ts, seq)`` order."""
    accounts, missing = batch
    if isinstance(partition, StorePartition):
        assert keys is not None
        return partition.read_accounts(accounts, missing, keys)
    ev = partition.events if isinstance(partition, FramePartition) else partition()
    acc = ev["account"]
    sel = acc.isin(accounts).to_numpy(dtype=bool)
    if missing:
        sel = sel | acc.isna().to_numpy(dtype=bool)
    return widen(ev[sel].reset_index(drop=True))


def _concat_events(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The batches' dictionary-encoded events as :func:`narrow` of the whole lab's: in
    ``(ts, seq)`` order, each string column a categorical of its sorted distinct values."""
    if len(parts) == 1:
        return parts[0]
    ts = np.concatenate([p["ts"].to_numpy(dtype="datetime64[ns]").view("int64") for p in parts])
    seq = np.concatenate([p["seq"].to_numpy(dtype="int64") for p in parts])
    order = np.lexsort((seq, ts))
    del ts, seq
    out: dict[str, pd.Series] = {}
    for c in parts[0].columns:
        col = [p[c] for p in parts]
        whole = None
        if all(isinstance(s.dtype, pd.CategoricalDtype) for s in col) and not all(
            s.dtype == col[0].dtype for s in col
        ):  # a narrowed string column: each batch's categories, unioned and sorted
            try:
                cat = union_categoricals([s.array for s in col], sort_categories=True)
                whole = pd.Series(cat, name=c).take(order).reset_index(drop=True)
            except TypeError:  # categories of different dtypes: through the strings
                s = pd.concat([x.astype(STRING) for x in col], ignore_index=True)
                whole = s.take(order).reset_index(drop=True).astype("category")
        if whole is None:
            whole = pd.concat(col, ignore_index=True).take(order).reset_index(drop=True)
        out[c] = whole
        del col, whole
        for p in parts:  # freed as soon as it is in the table
            del p[c]
    return pd.DataFrame(out)


def lab_stage_batched(
    partition: Any,
    lab: str | None,
    settings: LabSettings,
    budget: int | None = None,
    *,
    event_bytes: int = 400,
    batches: list[AccountBatch] | None = None,
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
        Bytes an event is estimated at (the engine's ``EVENT_BYTES``).
    batches : list of (list of str, bool), optional
        The batches to use instead (tests; every account of the lab exactly once, in
        sorted order, the no-account batch last).

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
    keys = partition.sorted_keys() if isinstance(partition, StorePartition) else None
    case, fp = settings.case, settings.features
    builder = LabContextBuilder(lab, fp, case.tz)
    held: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    ops: list[pd.DataFrame] = []
    n_events = 0
    for b in batches:
        ev = _read(partition, b, keys)
        n_events += len(ev)
        ss = sessionize(ev, settings.sessions)
        del ev
        builder.add(ss.events, ss.sessions)
        ops.append(operations(ss.events))
        held.append((ss.sessions, narrow(ss.events)))
        del ss
        release_memory()
    if hasattr(partition, "release"):
        partition.release()
    del keys
    if not n_events:
        return lab_stage(widen(held[0][1]), lab, settings)
    kept = [o for o in ops if len(o)] or ops[:1]
    allops = pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]
    allops = allops.sort_values(["ts", "seq"], kind="stable").reset_index(drop=True)
    needs_scope = settings.register is not None and len(allops)
    scope = (builder.scope_events() if needs_scope
             else pd.DataFrame({"ts": [], "lab": [], "patient": []}))  # fmt: skip
    exports = assess_operations(
        allops, scope, register=settings.register,
        patient_index=settings.patient_index if settings.register is not None else None,
        case=case,
    )  # fmt: skip
    del allops, ops, scope
    ctx = builder.build()
    del builder
    tables = []
    firsts, starts = [], []
    for i, (sessions, nev) in enumerate(held):
        ev = widen(nev)
        firsts.append(first_event_seq(sessions, nev))
        starts.append(pd.to_datetime(sessions["start"], utc=True).dt.as_unit("ns")
                      .to_numpy(dtype="datetime64[ns]").view("int64"))  # fmt: skip
        if len(sessions):
            s, d, m, *_ = _unit_tables(ev, sessions, fp, case, ctx.batch(i))
            tables.append((s, d, m))
        del ev
        release_memory()
    if not tables:  # no session in the lab: the empty tables of one batch
        s, d, m, *_ = _unit_tables(widen(held[0][1]), held[0][0], fp, case, ctx.batch(0))
        tables.append((s, d, m))
    order = np.lexsort((np.concatenate(firsts), np.concatenate(starts)))
    feats = combine_batches(tables, order, ctx, fp, case, exports)
    del tables
    with_ss = [s for s, _ in held if len(s)] or [held[0][0]]
    ss_all = pd.concat(with_ss, ignore_index=True) if len(with_ss) > 1 else with_ss[0]
    ss_all = ss_all.iloc[order].reset_index(drop=True)
    events = _concat_events([e for _, e in held])
    del held
    whole = Sessions(sessions=ss_all, events=events, params=settings.sessions)
    part = part_of(lab, whole, exports, feats, n_events, narrowed=True)
    part.n_batches = len(batches)
    return part
