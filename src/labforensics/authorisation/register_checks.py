"""Checks of an authorisation register that go beyond one cell: local times that the
clock change makes ambiguous or non-existent, and a ticket whose rows disagree on its
record budget.

- A local time in the repeated fall-back hour (2020-10-25 02:30 in the case's default zone) has two
  readings, one in the non-existent spring-forward hour (2020-03-29 02:30) none of its own:
  the offset before the change and the offset after give two instants. The audit logs'
  reader flags such times (``ts_quality``: ``ambiguous_*``, ``nonexistent_shifted``); a
  register bound is an authorisation's limit, so it takes the reading that does **not**
  widen the authorisation: the later instant for a window's start and for
  ``scope_patients_since`` (a later start, a narrower scope), the earlier for a window's
  end. Each such time is named in the register's warnings (file, line, column, the rule).
- ``authorisations.md``: record limits are "summed over each ticket's window". A ticket
  whose rows give different ``scope_max_records`` (a number on one, another number or
  none on another) has no one budget. Such rows are kept (an order often gives each lab
  its own limit) and named in the register's warnings with the reading applied
  (:func:`labforensics.authorisation.ticket_budget.ticket_sums`): the records of the
  ticket's operations under limited rows are summed, and each sum is held to the limit of
  the row that authorises the operation; per-lab budgets need different references.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

__all__ = ["local_instant", "ticket_limit_conflicts"]


def local_instant(
    naive: dt.datetime, tz: ZoneInfo, *, later: bool
) -> tuple[pd.Timestamp, str | None]:
    """A local wall time as a UTC instant, and what the clock change made of it.

    Parameters
    ----------
    naive : datetime.datetime
        The wall time, without a zone.
    tz : zoneinfo.ZoneInfo
        The case's zone.
    later : bool
        When the time has two readings (the offset before and after a change), take the
        later instant (a window's start, a scope date) or the earlier (a window's end):
        the reading that does not widen the authorisation.

    Returns
    -------
    instant : pandas.Timestamp
        UTC.
    note : str or None
        None for a time with one reading; else a sentence naming the time, why it has
        two readings, and the one taken.
    """
    a = naive.replace(tzinfo=tz, fold=0)
    b = naive.replace(tzinfo=tz, fold=1)
    ua, ub = a.astimezone(dt.UTC), b.astimezone(dt.UTC)
    if ua == ub:
        return pd.Timestamp(ua), None
    pick = max(ua, ub) if later else min(ua, ub)
    # a time that does not come back from UTC to itself never showed on the clock
    gap = ua.astimezone(tz).replace(tzinfo=None) != naive
    off = naive - pick.replace(tzinfo=None)  # the offset of the reading taken
    sign = "+" if off >= dt.timedelta() else "-"
    mins = abs(int(off.total_seconds())) // 60
    shown = f"{naive:%Y-%m-%d %H:%M}" + (f":{naive:%S}" if naive.second else "")
    what = (
        f"{shown} local does not exist in {tz.key} (the clocks skipped that hour)"
        if gap
        else f"{shown} local came twice in {tz.key} (the clocks went back an hour)"
    )
    which = "the later" if later else "the earlier"
    return pd.Timestamp(pick), (
        f"{what}: read as {pick:%Y-%m-%d %H:%M} UTC (offset {sign}{mins // 60:02d}:"
        f"{mins % 60:02d}), {which} of its two readings, so as not to widen the authorisation"
    )


def ticket_limit_conflicts(rows: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """The rows of tickets whose rows give different record limits, each with its reason.

    Parameters
    ----------
    rows : iterable of mapping
        The register's good rows (``ticket``, ``scope_max_records``: int or NA,
        ``source_line``).

    Returns
    -------
    dict of int to str
        Per line of such a row, the reason (the ticket, its lines and limits). Empty when
        every ticket has one limit (or none on all its rows).
    """
    by: dict[str, list[tuple[int, Any]]] = {}
    for r in rows:
        by.setdefault(str(r["ticket"]), []).append((int(r["source_line"]), r["scope_max_records"]))
    out: dict[int, str] = {}
    for ticket, lst in by.items():
        limits = {None if pd.isna(mx) else int(mx) for _, mx in lst}
        if len(limits) < 2:
            continue
        shown = ", ".join(
            f"line {ln}: {'no limit' if pd.isna(mx) else f'{int(mx):,}'}" for ln, mx in lst
        )
        why = (
            f"ticket {ticket} has different record limits on its rows ({shown}): the "
            "records of its operations are summed over the ticket (authorisations.md), "
            "each sum held to the limit of the row that authorises the operation (a row "
            "without a limit adds nothing and is held to none); if the limits are per "
            "lab, give the rows different ticket references"
        )
        for ln, _ in lst:
            out[ln] = why
    return out
