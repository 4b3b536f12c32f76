"""An authorisation ticket's record budget, summed over every operation it authorised.

``shared/formats/authorisations.md``: "Record limits are checked per operation and,
separately, summed over each ticket's window". The sum runs over every operation the
ticket authorised, at every lab and account it matches, in **evidence order**: ``ts``,
then the lab (labs sorted as text, no lab last: the engine's lab order), then the
operation's position in its lab's operations (``(ts, seq)`` order). Whether an
operation is authorised, and by which row, depends on what the ticket authorised
before, so the pass is sequential (one step per operation with a pair whose row has a
record limit; such operations are few: exports and extractions under a limited row).

:func:`ticket_sums` is that pass over one set of (operation, register row) pairs.
The per-lab engine assesses each lab apart, so each lab keeps the pairs of its
operations under a limited row (:func:`labforensics.authorisation.status.assess_with_pairs`),
and :func:`global_ticket_sums` runs the pass once over every lab's pairs; the labs whose
sums change are then re-assessed from their kept pairs
(:func:`labforensics.authorisation.status.reassess_budget`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._arrays import unique_sorted

__all__ = ["BUDGET_COLUMNS", "evidence_rank", "global_ticket_sums", "lab_rank", "ticket_sums"]

#: Columns of a lab's kept pairs the global pass reads (:func:`global_ticket_sums`).
BUDGET_COLUMNS: tuple[str, ...] = (
    "o",
    "r",
    "ts",
    "lab",
    "ticket",
    "rec",
    "mx",
    "sum_applies",
    "other_cross",
    "other_undet",
    "cum",
    "sum_cross",
)


def lab_rank(labs: np.ndarray) -> np.ndarray:
    """Each lab's rank in the engine's lab order: sorted as text, missing last.

    Parameters
    ----------
    labs : numpy.ndarray of object, shape (n,)
        Lab codes (str) or missing values.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
    """
    s = pd.Series(labs, dtype=object)
    miss = s.isna().to_numpy()
    names = sorted({str(x) for x in s[~miss]})
    rank = {x: i for i, x in enumerate(names)}
    out = np.full(len(s), len(names), dtype=np.int64)
    out[~miss] = [rank[str(x)] for x in s[~miss]]  # per pair, a dict get
    return out


def evidence_rank(ts: np.ndarray, labs: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Dense rank of each pair's operation in evidence order ``(ts, lab, o)``.

    Parameters
    ----------
    ts : numpy.ndarray of int64, shape (n,)
        The operation's instant (ns since the epoch, UTC).
    labs : numpy.ndarray of object, shape (n,)
        The operation's lab (as the events name it).
    o : numpy.ndarray of int64, shape (n,)
        The operation's position in its lab's operations.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        Equal for the pairs of one operation, increasing in evidence order.
    """
    n = len(o)
    if not n:
        return np.zeros(0, dtype=np.int64)
    lr = lab_rank(labs)
    idx = np.lexsort((o, lr, ts))
    new = np.r_[True, (np.diff(ts[idx]) != 0) | (np.diff(lr[idx]) != 0) | (np.diff(o[idx]) != 0)]
    out = np.empty(n, dtype=np.int64)
    out[idx] = np.cumsum(new) - 1
    return out


def ticket_sums(
    op: np.ndarray,
    r: np.ndarray,
    ticket: np.ndarray,
    rec: np.ndarray,
    mx: np.ndarray,
    sum_applies: np.ndarray,
    other_cross: np.ndarray,
    other_undet: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Record limits summed over each ticket: the records of the operations the ticket
    authorised before, plus this one's, against ``scope_max_records``.

    One sequential pass in evidence order over the operations with a pair whose row has
    a record limit (whether an operation is authorised, and by which row, depends on
    what the ticket already authorised): an operation is authorised by its first pair in
    register order with no limit crossed and none undetermined, and its records count
    against that row's ticket.

    Parameters
    ----------
    op : numpy.ndarray of int64, shape (n,)
        Per pair, its operation's rank in evidence order (:func:`evidence_rank`).
    r : numpy.ndarray of int64, shape (n,)
        Per pair, its register row (register order).
    ticket : numpy.ndarray of object, shape (n,)
        The row's ticket.
    rec : numpy.ndarray of float64, shape (n,)
        The operation's records (0 when unknown).
    mx : numpy.ndarray of float64, shape (n,)
        The row's ``scope_max_records`` (NaN: no limit).
    sum_applies : numpy.ndarray of bool, shape (n,)
        Whether the sum is judged on the pair (in the window, per-operation limit held).
    other_cross, other_undet : numpy.ndarray of bool, shape (n,)
        Whether another limit of the pair is crossed, or undetermined.

    Returns
    -------
    cum : numpy.ndarray of float64, shape (n,)
        Per pair with a limit judged, the sum (records); 0 elsewhere.
    cross : numpy.ndarray of bool, shape (n,)
        Whether the sum crosses the row's limit.
    """
    n = len(op)
    cum = np.zeros(n)
    cross = np.zeros(n, dtype=bool)
    limited = ~np.isnan(mx) & sum_applies
    if not limited.any():
        return cum, cross
    todo = np.isin(op, unique_sorted(op[limited]))
    ks = np.flatnonzero(todo)
    ks = ks[np.lexsort((r[ks], op[ks]))]  # evidence order, then register order
    bounds = np.flatnonzero(np.r_[True, op[ks][1:] != op[ks][:-1], True])
    used: dict[str, float] = {}
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):  # one per such operation
        chosen = -1
        for k in ks[a:b]:
            if limited[k]:
                cum[k] = used.get(ticket[k], 0.0) + rec[k]
                cross[k] = cum[k] > mx[k]
            if chosen < 0 and not (other_cross[k] or cross[k] or other_undet[k]):
                chosen = k
        if chosen >= 0:
            used[ticket[chosen]] = used.get(ticket[chosen], 0.0) + rec[chosen]
    return cum, cross


def global_ticket_sums(budgets: Mapping[str | None, pd.DataFrame | None]
                       ) -> dict[str | None, pd.DataFrame]:  # fmt: skip
    """The ticket sums over every lab's operations at once; the labs they change.

    Parameters
    ----------
    budgets : mapping of lab to pandas.DataFrame or None
        Per lab, its kept pairs (columns :data:`BUDGET_COLUMNS`, as
        :func:`labforensics.authorisation.status.assess_with_pairs` returns them; ``cum``
        and ``sum_cross`` as the lab's own pass found them), or None when it has none.

    Returns
    -------
    dict of lab to pandas.DataFrame
        Only the labs where a crossing, or the sum of a crossed pair (what the texts
        show), differs from the lab's own pass: per
        kept pair, in the kept order, ``cum`` (float64, records) and ``sum_cross``
        (bool) of the pass over every lab. Empty when no ticket has limited pairs at two
        labs (then nothing changes).
    """
    frames = {lab: b for lab, b in budgets.items() if b is not None and len(b)}
    if len(frames) < 2:
        return {}
    seen: dict[str, set] = {}
    for lab, b in frames.items():
        for t in pd.unique(b["ticket"].astype(object)):
            seen.setdefault(str(t), set()).add(lab)
    if not any(len(v) > 1 for v in seen.values()):
        return {}
    labs = list(frames)
    allp = pd.concat([frames[lab][list(BUDGET_COLUMNS)] for lab in labs], ignore_index=True)
    which = np.repeat(np.arange(len(labs)), [len(frames[lab]) for lab in labs])
    o = allp["o"].to_numpy(dtype=np.int64)
    op = evidence_rank(allp["ts"].to_numpy(dtype=np.int64), allp["lab"].to_numpy(dtype=object), o)
    cum, cross = ticket_sums(
        op, allp["r"].to_numpy(dtype=np.int64), allp["ticket"].to_numpy(dtype=object),
        allp["rec"].to_numpy(dtype="float64"), allp["mx"].to_numpy(dtype="float64"),
        allp["sum_applies"].to_numpy(dtype=bool), allp["other_cross"].to_numpy(dtype=bool),
        allp["other_undet"].to_numpy(dtype=bool),
    )  # fmt: skip
    out: dict[str | None, pd.DataFrame] = {}
    for i, lab in enumerate(labs):
        m = which == i
        c, x = cum[m], cross[m]
        b = frames[lab]
        # a sum is shown only where it is crossed: a lab changes where a crossing does,
        # or a crossed sum's value
        own_c, own_x = b["cum"].to_numpy(dtype="float64"), b["sum_cross"].to_numpy(dtype=bool)
        if not ((x != own_x) | (x & (c != own_c))).any():
            continue
        out[lab] = pd.DataFrame({"cum": c, "sum_cross": x})
    return out
