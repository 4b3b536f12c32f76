"""Byte-level line problems of quarantined lines: the quarantine row accounts for the line.

The readers name a line's undecodable bytes, NUL bytes, lines re-decoded as cp1252 and
bare CRs as field problems while they read the bytes, before they know which lines
become events. A line that ends up quarantined is accounted once, by its quarantine row
(file, line, reason): its byte-level problems are dropped, as each record's other
problems are kept with it until it becomes an event (QA session 13: such lines were
listed as field problems as if the line had been kept). The file's counts
(``replacement_chars``, ``rows_recoded``) and its encoding note still count its bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from .registry import FieldProblem, QuarantineRow

__all__ = ["kept_line_problems"]


def kept_line_problems(
    problems: Iterable[FieldProblem],
    quarantine: Iterable[QuarantineRow],
    kept_lines: Iterable[int] = (),
) -> list[FieldProblem]:
    """The byte-level problems of lines that are not quarantined.

    Parameters
    ----------
    problems : iterable of FieldProblem
        Byte-level problems of one file, each with the 1-based line of its record (the
        record's first line for a record over several lines).
    quarantine : iterable of QuarantineRow
        The file's quarantine rows (all of them: structure, pattern and conversion).
    kept_lines : iterable of int, optional
        Lines where a kept record starts, for the formats where several records may
        share a line (a FHIR Bundle on one line): a problem of such a line is kept even
        when another record of the line is quarantined.

    Returns
    -------
    list of FieldProblem
        ``problems`` in their order, without those of a quarantined line.
    """
    gone = {q.line for q in quarantine if q.line is not None}
    if not gone:
        return list(problems)
    gone.difference_update(kept_lines)
    return [p for p in problems if p.line is None or p.line not in gone]
