"""Sentences on the inputs: files, field problems, quarantined rows (QA session 9).

The summary counted a licence text beside an auth log as an evidence file ("3
file(s)" for one log read); the field problems were counted ("field_problems: 7")
but listed nowhere, and a date in 2099 stretched the period the logs "cover".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..ingest.accounting import copies_sentence

__all__ = [
    "copies_note",
    "coverage_caveat",
    "field_problem_limit",
    "files_read",
    "quarantine_origins",
    "share_text",
]


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


def copies_note(accounting: Mapping[str, Any]) -> str:
    """The evidence section's sentence on byte-identical files ("" when none).

    Parameters
    ----------
    accounting : mapping
        ``findings["accounting"]`` (:meth:`labforensics.ingest.IngestReport.to_dict`):
        its ``identical_copies``, each copy with the first file of the same SHA-256.

    Returns
    -------
    str
        ``"N file(s) are byte-identical copies of another file (same SHA-256): ..."``
        with a final full stop, or ``""``.
    """
    copies = [c for c in accounting.get("identical_copies") or () if isinstance(c, Mapping)]
    return copies_sentence(copies) + "." if copies else ""


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


#: Where a quarantined row comes from, by the prefix of its reason
#: (:mod:`labforensics.leak.quarantine`), as the report names them.
_ORIGIN_PREFIXES = (
    ("patient index: ", "line(s) of the patient indexes"),
    ("dump: ", "line(s) of the leaked dump"),
    ("leak list: ", "line(s) of the leaked identifier list"),
)


def quarantine_origins(
    quarantine: pd.DataFrame | None, evidence_rows: int, transfers_given: bool
) -> list[str]:
    """Where the rows of ``quarantine.csv`` come from, one phrase per origin (QA session
    9: 2 rows, of a patient index and of a dump, were said to be "of the transfer log").

    Parameters
    ----------
    quarantine : pandas.DataFrame or None
        The rows of ``quarantine.csv`` (``reason``): the evidence's first, then the
        patient indexes', the dump's and a leaked identifier list's (reasons prefixed
        ``"patient index: "``, ``"dump: "`` and ``"leak list: "``), then the transfer
        log's.
    evidence_rows : int
        The evidence's quarantined rows (the accounting's ``quarantined``).
    transfers_given : bool
        A transfer log was given: the rows left are its lines.

    Returns
    -------
    list of str
        ``["2 row(s) of the evidence", "1 line(s) of the patient indexes", "1 line(s)
        of the leaked dump", "3 line(s) of the transfer log"]``, the origins with rows
        only; empty when every row is the evidence's (nothing to tell apart).
    """
    total = 0 if quarantine is None else len(quarantine)
    if total <= evidence_rows:
        return []
    reasons = quarantine["reason"].astype("string").fillna("")
    parts, counted = [f"{evidence_rows:,} row(s) of the evidence"], evidence_rows
    for prefix, words in _ORIGIN_PREFIXES:
        n = int(reasons.str.startswith(prefix).sum())
        if n:
            parts.append(f"{n:,} {words}")
            counted += n
    if total > counted:
        rest = "line(s) of the transfer log" if transfers_given else "line(s) of other inputs"
        parts.append(f"{total - counted:,} {rest}")
    return parts


def share_text(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage to 2 decimals, a share that is not nil never
    shown as nil: ``"< 0.01 %"`` (QA session 9: 16 rows of millions read "0.00 %"),
    nor a share short of all as all: ``"> 99.99 %"``.

    Parameters
    ----------
    part, whole : int
        Counts, ``0 <= part <= whole``, ``whole > 0``.
    """
    pct = 100.0 * part / whole
    if 0 < part and pct < 0.005:
        return "< 0.01 %"
    if part < whole and pct >= 99.995:
        return "> 99.99 %"
    return f"{pct:.2f} %"
