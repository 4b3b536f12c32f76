"""Sentences on the evidence's files and field problems (QA session 9, items 3 and 4).

The summary counted a licence text beside an auth log as an evidence file ("3
file(s)" for one log read); the field problems were counted ("field_problems: 7")
but listed nowhere, and a date in 2099 stretched the period the logs "cover".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["coverage_caveat", "field_problem_limit", "files_read"]


def files_read(counts: Mapping[str, Any]) -> str:
    """``"3 file(s)"``, or ``"1 file(s) read (2 not read: no reader took them)"``.

    Parameters
    ----------
    counts : mapping
        ``findings["counts"]``: ``input_files`` (every evidence file hashed) and
        ``input_files_not_read`` (those no reader took).
    """
    n, unread = int(counts.get("input_files", 0)), int(counts.get("input_files_not_read", 0))
    if not unread:
        return f"{n:,} file(s)"
    return f"{n - unread:,} file(s) read ({unread:,} not read: no reader took them)"


def field_problem_limit(accounting: Mapping[str, Any]) -> str | None:
    """The limit sentence on the field problems, or None when there are none.

    Parameters
    ----------
    accounting : mapping
        :meth:`labforensics.ingest.IngestReport.to_dict` (``field_problems``).
    """
    n = int(accounting.get("field_problems", 0) or 0)
    if not n:
        return None
    return (
        f"{n:,} field problem(s): events kept with a field wrong or missing (a date that "
        "cannot be right, an account left empty, an unreadable number ...); "
        "field_problems.csv lists each with its file, line, column and problem"
    )


def coverage_caveat(accounting: Mapping[str, Any]) -> str:
    """What the period of the logs includes that cannot be right (``""``: nothing).

    Appended to the "logs cover ... to ..." sentence: the period runs from the first
    to the last event time, and an event dated in 1970 or after the analysis makes it
    span decades the logs do not cover.
    """
    dates = int(accounting.get("field_problems_dates", 0) or 0)
    if not dates:
        return ""
    future = int(accounting.get("field_problems_future", 0) or 0)
    part = f", {future:,} of them in the future of the analysis" if future else ""
    return (
        f"; that period includes {dates:,} event line(s) whose date cannot be right "
        f"(before 1990, after 2100 or after the analysis{part}: field problems, "
        "field_problems.csv)"
    )
