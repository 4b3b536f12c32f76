"""Short text forms of result objects for the console and notebooks (issue 16 item 7).

A result printed in a notebook used to dump whole DataFrames (a million sessions).
:func:`short_repr` gives, per table, its size, its columns (the first few named)
and a head of a few rows and columns, so that ``res`` in a cell reads in one screen.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["short_repr"]

#: Column names listed per table before the rest are counted.
COLUMNS_NAMED = 10
#: Rows and columns of the head shown per table; characters per cell.
HEAD_ROWS, HEAD_COLUMNS, CELL_CHARS = 3, 6, 24


def _table(name: str, df: pd.DataFrame | None, head: bool, rows: int | None = None) -> list[str]:
    if df is None:
        return [f"  {name}: none"]
    cols = [str(c) for c in df.columns]
    named = ", ".join(cols[:COLUMNS_NAMED]) + (
        f", … ({len(cols) - COLUMNS_NAMED} more)" if len(cols) > COLUMNS_NAMED else ""
    )
    n = len(df) if rows is None else rows
    lines = [f"  {name}: {n:,} rows × {len(cols)} columns ({named})"]
    if head and len(df):
        part = (
            df.iloc[:HEAD_ROWS, :HEAD_COLUMNS]
            .astype(object)
            .map(
                lambda v: str(v)[:CELL_CHARS]  # a few cells: lists and Arrow values alike
            )
        )
        lines += ["    " + ln for ln in part.to_string(index=False).splitlines()]
    return lines


def short_repr(
    kind: str,
    tables: Mapping[str, pd.DataFrame | None],
    facts: Mapping[str, object] | None = None,
    *,
    head: bool = True,
    rows: Mapping[str, int] | None = None,
) -> str:
    """``Kind(fact=value, ...)`` then one line per table (rows × columns, names) and a head.

    Parameters
    ----------
    kind : str
        The class name.
    tables : mapping of str to DataFrame or None
        The object's tables, in the order shown.
    facts : mapping, optional
        Counts and codes shown on the first line (``verdict='vendor'``, ``flagged=65``).
    head : bool, default True
        Show the first :data:`HEAD_ROWS` rows and :data:`HEAD_COLUMNS` columns of each.
    rows : mapping of str to int, optional
        The row count of a table given by its first rows only (a table read lazily
        from a file: its head is read, its count taken from the file's metadata).

    Returns
    -------
    str
        A few lines; never a whole table.
    """
    first = f"{kind}(" + ", ".join(f"{k}={v!r}" for k, v in (facts or {}).items()) + ")"
    lines = [first]
    for name, df in tables.items():
        lines += _table(name, df, head, (rows or {}).get(name))
    return "\n".join(lines)
