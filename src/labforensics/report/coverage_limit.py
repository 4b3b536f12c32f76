"""The "logs cover ... to ..." limit: lab-days without logs, one universe (QA session 11).

Until session 11 the share of lab-days without logs took the case period times the
number of labs as its denominator but looked for gaps only between each lab's own
first and last day: L01 logging every day of March 2020 and L02 only on 31 March read
"0.0 % of the lab-days of that period lie in 0 gap(s)", where 30 of 62 lab-days
(48.4 %) have no log. Now both count the same lab-days: each lab with events over the
whole case period (its local dates, first to last day, both included), a lab-day
without logs being in a gap between two of the lab's days with events (section 2's
table) or before the lab's first / after its last day with events, said per lab
("L02: no logs before 2020-03-31"). The events whose date cannot be right set no
period (:mod:`labforensics.plausible_dates`); the sentence says how many were left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..case_events import CaseEvents
from ..plausible_dates import implausible_words
from .tables import implausible_count, lab_days

__all__ = ["LABS_NAMED", "coverage_sentence", "flagged_dates_note", "period_section"]

#: Labs named in the sentence with their missing start or end; the rest in findings.json.
LABS_NAMED = 10
#: How a lab column's missing value reads once ``astype(str)``: not a lab.
_NO_LAB = frozenset({"None", "nan", "<NA>", ""})


def period_section(events: pd.DataFrame | CaseEvents, tz: str, start: Any, end: Any) -> dict:
    """``findings["period"]``: the case period, each lab's first and last local day with
    events, and the events left out of the period.

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events (``ts``, ``lab``).
    tz : str
        Time zone of the local dates.
    start, end : pandas.Timestamp or None
        The case period (:func:`~labforensics.report.tables.event_period`).

    Returns
    -------
    dict
        ``start``, ``end`` (as given), ``labs`` (list of dict: ``lab``, ``first_day``,
        ``last_day``, ISO local dates, sorted by lab; the events naming no lab left out)
        and ``left_out`` (int: events whose date cannot be right, in no period).
    """
    labs: list[dict[str, str]] = []
    if start is not None and len(events):
        d = lab_days(events, tz)
        d = d[~d["lab"].isin(_NO_LAB) & d["lab"].notna()]
        g = d.groupby("lab", sort=True)["day"].agg(["min", "max"])
        labs = [{"lab": str(k), "first_day": a.strftime("%Y-%m-%d"),
                 "last_day": b.strftime("%Y-%m-%d")} for k, a, b in g.itertuples()]  # fmt: skip
    left = implausible_count(events) if len(events) else 0
    return {"start": start, "end": end, "labs": labs, "left_out": left}


def coverage_sentence(
    first_day: str,
    last_day: str,
    zone: str,
    labs: Sequence[Mapping[str, Any]],
    gaps: Sequence[Mapping[str, Any]],
    left_out: int = 0,
) -> str:
    """The limit on the lab-days without logs.

    Parameters
    ----------
    first_day, last_day : str
        The case period's first and last local day (ISO dates).
    zone : str
        How the dates are dated ("local dates, " and the case's zone, or "UTC dates").
    labs : sequence of dict
        ``lab``, ``first_day``, ``last_day`` of each lab with events
        (:func:`period_section`).
    gaps : sequence of dict
        Section 2's gaps (``lab``, ``days``: :func:`~labforensics.report.tables.log_gaps`).
    left_out : int
        Events left out of the period (their date cannot be right).

    Returns
    -------
    str
        "logs cover A to B (zone): D days x L labs = N lab-days, M of them (P %)
        without any event: G in K gap(s) between a lab's days with logs (section 2), E
        before a lab's first or after its last day with logs (L02: no logs before ...)",
        then the events left out. Every lab-day is counted once: M = G + E. When M = 0,
        one clause: "..., every one with events (...)".
    """
    a, b = pd.Timestamp(first_day), pd.Timestamp(last_day)
    days = int((b - a).days) + 1
    names = {str(r["lab"]) for r in labs}
    n_labs = len(labs)
    total = days * n_labs
    inside = [g for g in gaps if str(g.get("lab")) in names]
    gap_days = sum(int(g.get("days") or 0) for g in inside)
    edge, said = 0, []
    for r in labs:
        f, t = pd.Timestamp(r["first_day"]), pd.Timestamp(r["last_day"])
        before, after = max(int((f - a).days), 0), max(int((b - t).days), 0)
        edge += before + after
        if before and after:
            said.append(f"{r['lab']}: no logs before {r['first_day']} nor after {r['last_day']}")
        elif before or after:
            said.append(f"{r['lab']}: no logs {'before' if before else 'after'} "
                         f"{r['first_day'] if before else r['last_day']}")  # fmt: skip
    missing = gap_days + edge
    share = f"{100.0 * missing / total:.1f} %" if total else "n/a"
    head = (f"logs cover {first_day} to {last_day} ({zone}): {days:,} day(s) x {n_labs:,} "
            f"lab(s) = {total:,} lab-days")  # fmt: skip
    if missing == 0:  # nothing to split: one clause, not "0 in 0 gap(s) ..., 0 before ..."
        text = (
            f"{head}, every one with events (no gap between a lab's days with logs, a "
            "lone Sunday without events aside; each lab's logs span the whole period)"
        )
        return text + _left_out_said(left_out)
    text = (f"{head}, {missing:,} of them ({share}) without any event: "
            f"{gap_days:,} in {len(inside):,} gap(s) between a lab's days with logs "
            f"(section 2; a lone Sunday without events is not counted), {edge:,} before a "
            "lab's first or after its last day with logs")  # fmt: skip
    if said:
        more = len(said) - LABS_NAMED
        text += (" (" + "; ".join(said[:LABS_NAMED])
                 + (f"; and {more:,} more lab(s): findings.json, period.labs" if more > 0 else "")
                 + ")")  # fmt: skip
    return text + _left_out_said(left_out)


def _left_out_said(left_out: int) -> str:
    """The clause on events left out of the period (``""`` when none)."""
    if not left_out:
        return ""
    return (f"; {left_out:,} event(s) {implausible_words} are left out of that period, "
            "its gaps and the figures")  # fmt: skip


def flagged_dates_note(accounting: Mapping[str, Any]) -> str:
    """Where the events left out of the period are listed (``""`` without any flagged):
    " (field problems: N event line(s) whose date cannot be right, K of them in the
    future of the analysis; field_problems.csv)".

    Parameters
    ----------
    accounting : mapping
        :meth:`labforensics.ingest.IngestReport.to_dict` (``field_problems_dates``,
        ``field_problems_future``).
    """
    dates = int(accounting.get("field_problems_dates", 0) or 0)
    if not dates:
        return ""
    future = int(accounting.get("field_problems_future", 0) or 0)
    part = f", {future:,} of them in the future of the analysis" if future else ""
    return (f" (field problems: {dates:,} event line(s) whose date cannot be right{part}; "
            "field_problems.csv)")  # fmt: skip
