"""Putting the labs' parts back together: sessions, events and exports in evidence order.

Each function is exact: the concatenation of every lab's rows, ordered as the whole-case
stage orders them (events by ``(ts, seq)``, sessions by ``(start, seq of the first
event)``, exports by ``(ts, seq)`` of their event).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..sessions import SessionParams, Sessions

__all__ = ["concat_exports", "concat_sessions", "lab_order"]


def lab_order(labs: list[str | None]) -> list[str | None]:
    """Labs sorted by code, the partition of events naming no lab (None) last."""
    return sorted(x for x in labs if x is not None) + ([None] if None in labs else [])


def _ts_seq_order(df: pd.DataFrame) -> np.ndarray:
    ts = (
        pd.to_datetime(df["ts"], utc=True)
        .dt.as_unit("ns")
        .to_numpy(dtype="datetime64[ns]")
        .view("int64")
    )
    return np.lexsort((df["seq"].to_numpy(dtype="int64"), ts))


def concat_sessions(parts: list[Sessions], params: SessionParams) -> Sessions:
    """Every lab's :class:`~labforensics.sessions.Sessions` as one, in evidence order.

    Events sorted by ``(ts, seq)``; sessions by ``start`` then the ``seq`` of their first
    event, as :func:`labforensics.sessionize` orders them (``seq`` is unique).
    """
    if len(parts) == 1:
        return parts[0]
    ev = pd.concat([p.events for p in parts], ignore_index=True)
    ev = ev.iloc[_ts_seq_order(ev)].reset_index(drop=True)
    ss = pd.concat([p.sessions for p in parts], ignore_index=True)
    if len(ss):
        sid = ev["session_id"]
        first = ev.loc[sid.notna(), ["session_id", "seq"]].drop_duplicates("session_id")
        fseq = ss["session_id"].map(first.set_index("session_id")["seq"]).to_numpy("int64")
        st = (
            pd.to_datetime(ss["start"], utc=True)
            .dt.as_unit("ns")
            .to_numpy(dtype="datetime64[ns]")
            .view("int64")
        )
        ss = ss.iloc[np.lexsort((fseq, st))].reset_index(drop=True)
    return Sessions(sessions=ss, events=ev, params=params)


def concat_exports(parts: list[pd.DataFrame], events: pd.DataFrame) -> pd.DataFrame:
    """Every lab's exports table as one, in evidence order of its events.

    ``seq`` is not an exports column: rows are ordered by ``ts`` and, at equal instants,
    by lab order then each lab's own order (its evidence order).
    """
    frames = [p for p in parts if len(p)]
    if not frames:
        return parts[0] if parts else pd.DataFrame()
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    out = pd.concat(frames, ignore_index=True)
    ts = (
        pd.to_datetime(out["ts"], utc=True)
        .dt.as_unit("ns")
        .to_numpy(dtype="datetime64[ns]")
        .view("int64")
    )
    return out.iloc[np.argsort(ts, kind="stable")].reset_index(drop=True)
