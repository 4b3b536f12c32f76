"""Stages run one lab at a time, with a progress bar per lab (issue 16 item 6).

:func:`sessionize_by_lab` is the investigation's sessions stage: the labs are
independent (a session is one account at one lab), so running them one at a time
gives the whole-table result while the bar (:func:`labforensics.progress.lab_progress`)
moves per lab with the time left.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .progress import lab_progress
from .schema import validate_sessions
from .sessions import SessionParams, Sessions, sessionize

__all__ = ["sessionize_by_lab"]


def sessionize_by_lab(events: pd.DataFrame, params: SessionParams, progress: bool) -> Sessions:
    """:func:`labforensics.sessionize`, one lab at a time, with a bar per lab (issue 16).

    A session is one account at one lab and its id depends on that account's evidence
    only (:mod:`labforensics.sessions`), so the labs are independent: the result is the
    one :func:`~labforensics.sessionize` gives on the whole table (same rows, order and
    dtypes; ``tests/test_progress_per_lab.py``). The events are put in evidence order
    once; each lab's rows are taken (a copy of one lab at a time), sessionized, and their
    ``session_id`` put back by position; the sessions are put in the global order (start,
    then the ``seq`` of their first event) by their first event's position. Vectorised:
    one loop per lab. Without ``lab`` values for every row, or with one lab, the whole
    table is sessionized at once (the bar has one step).

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical event table (:data:`labforensics.schema.EVENT_DTYPES`), any row order,
        ``seq`` unique.
    params : SessionParams
        As :func:`labforensics.sessionize`.
    progress : bool
        Show the per-lab bar (stderr; a widget in a notebook); the
        :func:`labforensics.progress.on_lab` hook is called either way.

    Returns
    -------
    Sessions
        As :func:`labforensics.sessionize`.

    Raises
    ------
    SchemaError, ParameterError
        As :func:`labforensics.sessionize` (raised by the first lab that fails).
    """
    codes, labs = pd.factorize(events["lab"], sort=True)
    if len(labs) <= 1 or (codes < 0).any():
        with lab_progress("sessions", [str(x) for x in labs] or ["all"], progress) as step:
            res = sessionize(events, params)
            step(str(labs[0]) if len(labs) else "all")
        return res
    ts = events["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    seq = events["seq"].to_numpy()
    dt, ds = np.diff(ts), np.diff(seq)
    if ((dt > 0) | ((dt == 0) & (ds > 0))).all():  # already in evidence order: no copy
        ev = events.reset_index(drop=True)
    else:
        order = np.lexsort((seq, ts))  # evidence order (ts, seq)
        ev = events.take(order).reset_index(drop=True)
        codes = codes[order]
    by_lab = np.argsort(codes, kind="stable")  # each lab's positions, increasing
    bounds = np.searchsorted(codes[by_lab], np.arange(len(labs) + 1))
    ids, where, tables, firsts = [], [], [], []
    with lab_progress("sessions", [str(x) for x in labs], progress) as step:
        for k, lab in enumerate(labs):  # one loop per lab
            pos = by_lab[bounds[k] : bounds[k + 1]]
            one = sessionize(ev.take(pos), params)  # already in evidence order: kept
            sid = one.events["session_id"]
            first = (sid.notna() & ~sid.duplicated()).to_numpy(dtype=bool)
            ids.append(sid.reset_index(drop=True))
            where.append(pos)
            tables.append(one.sessions)
            firsts.append(pos[first])  # first events, in the lab's session order
            step(str(lab))
    inv = np.empty(len(ev), dtype=np.int64)
    inv[np.concatenate(where)] = np.arange(len(ev), dtype=np.int64)
    ev["session_id"] = pd.concat(ids, ignore_index=True).take(inv).reset_index(drop=True)
    sessions = pd.concat(tables, ignore_index=True)
    sessions = sessions.take(np.argsort(np.concatenate(firsts), kind="stable"))
    return Sessions(sessions=validate_sessions(sessions.reset_index(drop=True)), events=ev,
                    params=params)  # fmt: skip
