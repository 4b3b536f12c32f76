"""The window of a lab's copy, as the conclusion states it.

``_window``: the evidence-based bounds (the first-seen window of
:mod:`labforensics.attribution.windows`) intersected with [horizon, first public
sighting] (issue 15 item 5: an intersection, so never wider than either);
:func:`likelihood_interval`: the instants whose full-copy likelihood is within
:data:`LIKELIHOOD_INTERVAL` of the best. Used by
:mod:`labforensics.attribution.conclusion`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .lab_data import _iso, _LabData

__all__ = ["LIKELIHOOD_INTERVAL", "likelihood_interval", "local_day_start", "next_local_day"]


#: Likelihood interval of the copy instant: instants whose full-copy likelihood is at
#: least 1/100 of the best (the ENFSI "moderately strong" boundary; Royall (1997)'s
#: likelihood intervals).
LIKELIHOOD_INTERVAL = 100.0


def likelihood_interval(
    curve: np.ndarray, known_ns: np.ndarray, lo_ns: int, hi_ns: int
) -> tuple[int | None, int | None]:
    """The instants in ``[lo, hi]`` whose full-copy likelihood is within
    :data:`LIKELIHOOD_INTERVAL` of the best there: (first, last) in ns (None when the
    range holds no instant).

    A cut ``k`` holds from the ``k``-th known instant to the next; the interval runs
    from the first kept cut's start to the last kept cut's end (clipped to the range).
    """
    lo, hi = (lo_ns, hi_ns) if lo_ns <= hi_ns else (hi_ns, lo_ns)
    n = len(known_ns)
    starts = np.concatenate([[np.iinfo(np.int64).min], known_ns])
    ends = np.concatenate([known_ns, [np.iinfo(np.int64).max]])
    inrange = (ends > lo) & (starts <= hi)
    if not inrange.any():
        return None, None
    ks = np.flatnonzero(inrange)
    best = curve[ks].max()
    keep = ks[curve[ks] >= best - math.log(LIKELIHOOD_INTERVAL)]
    a = max(int(starts[keep[0]]), lo) if keep[0] > 0 else lo
    b = min(int(ends[keep[-1]]), hi) if keep[-1] < n else hi
    return a, b


def local_day_start(day: dt.date, tz: str) -> pd.Timestamp:
    """The first instant of a local calendar day, in UTC.

    Parameters
    ----------
    day : datetime.date
        The local calendar day.
    tz : str
        IANA time zone of the case (``CaseContext.tz``).

    Returns
    -------
    pandas.Timestamp
        UTC. The offset is the one in force at that day's own midnight, read from
        :mod:`zoneinfo` (never a fixed offset, nor the offset of another instant):
        2019-10-28 in the Paris time zone starts 2019-10-27 23:00 UTC (CET), 2019-10-27 starts
        2019-10-26 22:00 UTC (CEST). A midnight that does not exist locally (a
        spring-forward at 00:00) maps to the transition instant (``fold=0``, PEP 495).
    """
    z = ZoneInfo(tz)
    return pd.Timestamp(dt.datetime(day.year, day.month, day.day, tzinfo=z)).tz_convert("UTC")


def next_local_day(t: pd.Timestamp, tz: str) -> pd.Timestamp:
    """The start of the local day after the one holding ``t`` (the end of ``t``'s local
    day), in UTC: 23 hours after a spring-forward midnight, 25 after a fall-back one.

    Parameters
    ----------
    t : pandas.Timestamp
        An instant (tz-aware; a naive one is read as UTC).
    tz : str
        IANA time zone of the case.

    Returns
    -------
    pandas.Timestamp
        UTC (:func:`local_day_start` of the next calendar day).
    """
    t = t if t.tzinfo is not None else t.tz_localize("UTC")
    day = t.tz_convert(ZoneInfo(tz)).date()
    return local_day_start(day + dt.timedelta(days=1), tz)


def _ts(ns: int | None) -> pd.Timestamp | None:
    return None if ns is None else pd.Timestamp(int(ns), tz="UTC")


def _window(
    d: _LabData, horizon: pd.Timestamp | None, sight: pd.Timestamp | None
) -> dict[str, Any]:
    """Evidence bounds intersected with [horizon, sighting]."""
    los = [t for t in (d.window_after, horizon) if t is not None]
    his = [t for t in (d.window_before, sight) if t is not None]
    lo = max(los) if los else None
    hi = min(his) if his else None
    conflict = lo is not None and hi is not None and lo > hi
    return {
        "after": _iso(lo),
        "before": _iso(hi),
        "horizon": _iso(horizon),
        "sighted_at": _iso(sight),
        "evidence_after": _iso(d.window_after),
        "evidence_before": _iso(d.window_before),
        "conflict": bool(conflict),
        "width_h": (hi - lo).total_seconds() / 3600.0
        if lo is not None and hi is not None
        else None,
    }


def sighting_conflict(
    lab: str, horizon: pd.Timestamp | None, sighted_at: pd.Timestamp | None, tz: str
) -> str | None:
    """Why a lab cannot be weighed when its leaked rows' horizon is after the leak's first
    public sighting (None when they agree or one is missing).

    The copy was made after the latest registration among the lab's leaked rows (the
    horizon) and before the leak was first seen; a horizon after the sighting means the
    inputs contradict each other (a wrong ``sighted_at``, or rows of a later copy in the
    dump). Weighing such a lab stated "a copy outside the logged evidence, very strong"
    over an empty window (QA session 12): no proposition is stated for it instead.

    Parameters
    ----------
    lab : str
    horizon, sighted_at : pandas.Timestamp or None
        UTC instants.
    tz : str
        The case's IANA zone, for the local days named.

    Returns
    -------
    str or None
        The reason, naming both instants in local time.
    """
    if horizon is None or sighted_at is None or not horizon > sighted_at:
        return None
    h = horizon.tz_convert(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    s = sighted_at.tz_convert(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    return (
        f"its leaked rows' horizon (the earliest the copy can be, from the latest "
        f"registration they hold) is {h} local, after the leak's first sighting ({s} local): "
        "the inputs contradict each other (check sighted_at, or whether the leak mixes rows "
        "of a later copy), so the copy's time cannot be bounded"
    )
