"""Rotated files whose dates contradict their rotation order: a limit of the analysis.

Syslog rotation names the current file ``auth.log`` and the older ones ``auth.log.1``,
``auth.log.2.gz`` ... (logrotate's default numbering: the higher the number, the older
the file). RFC 3164 lines carry no year: the year given (``--year``, ``[ingest] year``)
is the year of a file's first line, and a backward step of more than six months inside
a file advances it. Across files nothing can: with one year for ``auth.log.1`` (31
December) and ``auth.log`` (1 January), the newer file's events are dated a year
early, silently (QA session 15). This module finds, from the events as dated, a rotated
file that *ends before* the file its number makes older *begins*, and says so in the
Limits; no threshold: the two files' whole spans are inverted.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from .._terminal import visible
from ..case_events import as_case_events

__all__ = ["ROTATED", "rotation_order_limits"]

#: A rotated file's name: ``<base>.<n>`` or ``<base>.<n>.gz`` (logrotate numbering).
ROTATED = re.compile(r"^(?P<base>.+?)\.(?P<n>[0-9]{1,4})(?:\.gz)?$")


def _file_spans(events: Any) -> pd.DataFrame:
    """First and last event time of every source file (``source_file``, ``first``,
    ``last``: datetime64[ns, UTC]), one lab's events at a time."""
    parts = []
    for _lab, ev in as_case_events(events).iter_labs(["source_file", "ts"]):
        if not len(ev):
            continue
        g = ev.groupby("source_file", observed=True, sort=False)["ts"]  # codes, not strings
        sp = pd.DataFrame({"first": g.min(), "last": g.max()})
        sp.index = sp.index.astype(str)
        parts.append(sp)
    if not parts:
        return pd.DataFrame(columns=["source_file", "first", "last"])
    sp = pd.concat(parts)
    sp = sp.groupby(level=0).agg({"first": "min", "last": "max"})  # a file in two labs
    return sp.rename_axis("source_file").reset_index()


def rotation_order_limits(events: Any, tz: str) -> list[str]:
    """One Limits sentence per rotated file that ends before its older neighbour begins.

    Parameters
    ----------
    events : CaseEvents or pandas.DataFrame
        The case's events (``source_file``, ``ts`` UTC).
    tz : str
        IANA time zone the dates are shown in (the case's).

    Returns
    -------
    list of str
        For each series of rotated files (``X``, ``X.1``, ``X.2.gz`` ... in one folder,
        ``X`` the newest, numbering per logrotate) and each pair of neighbours in it,
        when the newer file's last event is before the older file's first, a sentence
        naming both with their spans (dates in ``tz``) and what to do; empty when none.
    """
    sp = _file_spans(events)
    if len(sp) < 2:
        return []
    series: dict[str, list[tuple[int, str]]] = {}
    names = set(sp["source_file"])
    for name in names:
        m = ROTATED.match(name)
        if m:
            series.setdefault(m["base"], []).append((int(m["n"]), name))
    for base in list(series):
        if base in names:  # the current file, number 0
            series[base].append((0, base))
    spans = sp.set_index("source_file")
    out = []
    for base in sorted(series):
        files = sorted(series[base])
        for (_, newer), (_, older) in zip(files, files[1:], strict=False):
            a, b = spans.loc[newer], spans.loc[older]
            if a["last"] < b["first"]:
                out.append(
                    f"rotation order: {visible(newer, keep='')} ({_day(a['first'], tz)} to "
                    f"{_day(a['last'], tz)}) ends before {visible(older, keep='')} "
                    f"({_day(b['first'], tz)} to {_day(b['last'], tz)}) begins, though its "
                    "rotation number makes it the newer file: lines without a year "
                    "(RFC 3164 syslog) may be dated in the wrong year (the year given is "
                    "that of a file's first line: give each file its own, an [ingest] year "
                    "table in case.toml or year={path: year} in Python)"
                )
    return out


def _day(ts: pd.Timestamp, tz: str) -> str:
    return pd.Timestamp(ts).tz_convert(tz).strftime("%Y-%m-%d")
