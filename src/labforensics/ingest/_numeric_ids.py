"""Identifiers and implausible values in numeric columns (``records``, ``bytes``), withheld.

A count is never an identifier, yet a NIR written in a count column (``NB_ENREG =
275086912345644``, QA session 16) was read as a number and reached every output
(events, sessions, findings, the report's "275,086,912,345,644 exported"). Every
numeric column of every reader that has one (the LIS CSV dialects, user CSV
profiles and regex profiles, through :func:`labforensics.ingest._lis_convert.
_parse_numbers`; the ATNA, FHIR and syslog readers have none) is checked here
**before** its values are parsed:

* a cell holding a NIR, whatever its INSEE key (a number of NIR shape with any
  separators the NIR detection accepts: :data:`labforensics._privacy_text._NIR`; a
  typo in the key leaves a person's identifier) becomes missing, with a field
  problem :data:`NIR_PROBLEM` whose value is ``[NIR]`` (never the digits); the
  column is counted in ``identifiers_in_columns`` (:func:`numeric_identifier_counts`);
* a well-formed count of :data:`IMPLAUSIBLE_DIGITS` or more digits (10^12 or more)
  becomes missing too, with a field problem :data:`IMPLAUSIBLE_PROBLEM` whose value
  is its digit count only (``<15 digits>``).

The bound, and why it is conservative: 13 digits is the length of a NIR without its
key (its 15 with it), so a 13+ digit "count" is shaped like an identifier; and 10^12
records is far beyond any LIS export (France has about 68 million inhabitants, so a
lab's whole patient file is in the order of 10^7 to 10^8 records), 10^12 bytes (1 TB)
beyond a lab's whole LIS database written in one export. A real count or volume below
it is read as before.

The work is vectorised: one RE2 match over the column (pyarrow) finds the cells that
may hold a NIR; Python matches the NIR pattern once per distinct such cell only.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._privacy_text import _NIR, _PREFIXES

__all__ = [
    "IMPLAUSIBLE_DIGITS",
    "IMPLAUSIBLE_PROBLEM",
    "NIR_PROBLEM",
    "NUMERIC_COLUMNS",
    "nir_cells",
    "numeric_identifier_counts",
]

#: The canonical numeric columns of the event table.
NUMERIC_COLUMNS: tuple[str, ...] = ("records", "bytes")
#: A count or volume with this many digits or more (>= 10**12) is not believed.
IMPLAUSIBLE_DIGITS = 13
#: Reason of a field problem for a NIR in a numeric column (after ``<source column>: ``).
NIR_PROBLEM = "a NIR-like identifier in a numeric column: value withheld"
#: Reason of a field problem for a count of :data:`IMPLAUSIBLE_DIGITS` digits or more.
IMPLAUSIBLE_PROBLEM = (
    f"implausible ({IMPLAUSIBLE_DIGITS} or more digits: shaped like an identifier, "
    "above any LIS export): value withheld"
)

# An RE2 superset of the NIR pattern: thirteen digits (2A/2B: "2" then a letter), with at
# most one separator (those of the NIR pattern, slash included) between two of them.
_HINT = r"\d(?:[\s.\-/\x{a0}\x{202f}]?[\dAaBb]){12}"


def _holds_nir(text: str) -> bool:
    """Whether ``text`` holds a number of NIR shape, whatever its key (a keyed id is none)."""
    return any(m.group(0)[0] not in _PREFIXES for m in _NIR.finditer(text))


def nir_cells(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which cells of a numeric column hold a NIR, whatever its INSEE key.

    Parameters
    ----------
    col : pyarrow.Array or pyarrow.ChunkedArray
        A column of strings as read (nulls allowed).

    Returns
    -------
    numpy.ndarray
        Boolean, one per cell: True where the cell's text holds a number of NIR shape
        (:data:`labforensics._privacy_text._NIR`: plain or with the separators it
        accepts), whatever its key: a wrong key is a typo in a person's identifier.
        One RE2 match over the column; the NIR pattern is matched in Python once per
        distinct hinted value (few: none in real evidence).

    Notes
    -----
    The shape is that of :func:`labforensics._privacy_text.redact_identifiers`: a
    15-digit count whose first digit is 1, 2, 3, 4, 7 or 8 is withheld as a NIR (it
    would be withheld as implausible anyway, :data:`IMPLAUSIBLE_DIGITS`); one starting
    with another digit is not of NIR shape.

    Examples
    --------
    >>> import pyarrow as pa
    >>> nir_cells(pa.array(["12", "275086912345644", "2 75 08 69 123 456 44", None,
    ...                     "275086912345645", "575086912345644"])).tolist()
    [False, True, True, False, True, False]
    """
    n = len(col)
    if not n:
        return np.zeros(0, dtype=bool)
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if col.type != pa.string():
        col = col.cast(pa.string())
    hint = pc.match_substring_regex(col, _HINT).fill_null(False)
    hinted = hint.to_numpy(zero_copy_only=False).astype(bool)
    if not hinted.any():
        return hinted
    idx = np.flatnonzero(hinted)
    enc = col.take(pa.array(idx)).dictionary_encode()
    valid = np.fromiter(
        (_holds_nir(v) for v in enc.dictionary.to_pylist()), bool, len(enc.dictionary)
    )
    out = np.zeros(n, dtype=bool)
    out[idx] = valid[enc.indices.to_numpy(zero_copy_only=False)]
    return out


def numeric_identifier_counts(fprows: list[dict[str, object]]) -> dict[str, int]:
    """Rows whose numeric cell held a NIR, per canonical column, from the field problems.

    Parameters
    ----------
    fprows : list of dict
        The field-problem rows of a run (``column`` and ``problem`` keys).

    Returns
    -------
    dict of str to int
        Column (``records``, ``bytes``) -> rows withheld for a NIR; columns with none
        left out.

    Examples
    --------
    >>> numeric_identifier_counts([{"column": "records", "problem": "NB_ENREG: " + NIR_PROBLEM},
    ...                            {"column": "records", "problem": "NB_ENREG: negative"}])
    {'records': 1}
    """
    counts: dict[str, int] = {}
    for r in fprows:  # field problems: few
        col, why = r.get("column"), r.get("problem")
        if col in NUMERIC_COLUMNS and isinstance(why, str) and why.endswith(NIR_PROBLEM):
            counts[str(col)] = counts.get(str(col), 0) + 1
    return counts
