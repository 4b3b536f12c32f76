"""Files whose bytes were not all decoded as their encoding says: for the report.

The ingest accounting gives each file ``rows_recoded`` (rows written in UTF-8 inside a
single-byte file, read as UTF-8), ``replacement_chars`` (U+FFFD standing for bytes that
could not be decoded) and ``encoding_note`` (their lines):
:mod:`labforensics.ingest._lis_encoding`. The report lists those files in its evidence
section (:func:`encoding_files`) and, when any byte could not be decoded, says in its
limits that the values of those rows may be wrong (:func:`encoding_limit`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ENCODING_COLUMNS", "encoding_files", "encoding_limit"]

#: The columns of :func:`encoding_files`, in the report's order.
ENCODING_COLUMNS = ("source_file", "format", "rows_recoded", "replacement_chars", "encoding_note")
#: Files named in the limit sentence; the others are counted.
FILES_NAMED = 5


def _count(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def encoding_files(files: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The files with an encoding note, re-decoded rows or undecodable bytes.

    Parameters
    ----------
    files : iterable of dict
        Per-file accounting rows (``IngestReport.to_dict()["files"]``, or the rows of
        ``IngestReport.to_frame()``); a ``TOTAL`` row is skipped, missing keys read as 0
        or ``""``.

    Returns
    -------
    list of dict
        One per such file, in the order given, with the keys of
        :data:`ENCODING_COLUMNS` (counts as int, the note as str).
    """
    out = []
    for f in files:
        if f.get("source_file") == "TOTAL":
            continue
        rec, rep = _count(f.get("rows_recoded")), _count(f.get("replacement_chars"))
        note = str(f.get("encoding_note") or "")
        if rec or rep or note:
            out.append({"source_file": f.get("source_file"), "format": f.get("format"),
                        "rows_recoded": rec, "replacement_chars": rep,
                        "encoding_note": note})  # fmt: skip
    return out


def encoding_limit(files: Iterable[Mapping[str, Any]]) -> str | None:
    """The limit sentence on undecodable bytes, or None when every byte was decoded.

    Parameters
    ----------
    files : iterable of dict
        As :func:`encoding_files`.

    Returns
    -------
    str or None
        How many undecodable bytes were read as U+FFFD and their hex (``replacement_chars``;
        :mod:`labforensics.ingest._lis_encoding`), in how many files (the first
        :data:`FILES_NAMED` named), and that the values of the rows holding them are not
        as written.
    """
    hit = [f for f in encoding_files(files) if f["replacement_chars"]]
    if not hit:
        return None
    n = sum(f["replacement_chars"] for f in hit)
    names = ", ".join(str(f["source_file"]) for f in hit[:FILES_NAMED])
    more = f" and {len(hit) - FILES_NAMED:,} more" if len(hit) > FILES_NAMED else ""
    return (
        f"{n:,} undecodable byte(s) in {len(hit):,} file(s) ({names}{more}) were read "
        "as the replacement character U+FFFD followed by the byte's hex (xNN), so that two "
        "different values stay apart: the values of the rows holding them (accounts, "
        "codes, free text) are not as written (each line is a field problem; section 2 "
        "lists the files)"
    )
