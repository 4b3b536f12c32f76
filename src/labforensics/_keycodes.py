"""Integer codes for tuples of key columns, without a Python object per row.

The feature stages group and look up rows by tuples such as (lab, account, day). Done
with :class:`pandas.MultiIndex` or a ``groupby`` over object columns, every row of a
column becomes a Python string first (about 0.3 s for a million Arrow strings, a dozen
times per lab). Here each column is factorised in its own type (an Arrow string column
by Arrow's dictionary encoding) and the per-column codes are combined into one
``int64`` code per row, re-factorised whenever the product of the columns'
cardinalities could overflow. A missing value is a value (``None``, ``NaN`` and
``pd.NA`` are one), as in ``groupby(dropna=False)`` and :class:`pandas.MultiIndex`
lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["group_codes", "row_lookup"]

#: Largest combined code before it is re-factorised (well inside int64 after one more
#: multiplication by a column's cardinality, itself at most the row count).
_COMPRESS_ABOVE = 2**31


def _is_arrow_string(x: Any) -> bool:
    dt = getattr(x, "dtype", None)
    return isinstance(dt, pd.StringDtype) and dt.storage == "pyarrow"


def _column_codes(parts: Sequence[Any]) -> np.ndarray:
    """Codes (int64) of the concatenated ``parts`` of one column, missing a value."""
    if len(parts) == 1:
        col = parts[0]
    elif all(_is_arrow_string(p) for p in parts):
        col = pd.concat([pd.Series(p).reset_index(drop=True) for p in parts], ignore_index=True)
    elif all(isinstance(p, np.ndarray) and p.dtype.kind in "iub" for p in parts):
        col = np.concatenate([p.astype(np.int64) for p in parts])
    else:
        col = np.concatenate(
            [p if isinstance(p, np.ndarray) and p.dtype == object
             else pd.Series(p).to_numpy(dtype=object) for p in parts]
        )  # fmt: skip
    if not isinstance(col, (pd.Series, pd.Index, np.ndarray, pd.api.extensions.ExtensionArray)):
        col = np.asarray(list(col), dtype=object)
    if isinstance(getattr(col, "dtype", None), pd.CategoricalDtype):
        col = np.asarray(col, dtype=object)
    codes = pd.factorize(col, use_na_sentinel=False)[0]
    return np.asarray(codes, dtype=np.int64)


def _combined(columns: Sequence[Sequence[Any]]) -> np.ndarray:
    """One int64 per row: equal exactly when every column's value is equal."""
    out: np.ndarray | None = None
    for parts in columns:
        c = _column_codes(parts)
        if out is None:
            out = c
            continue
        radix = int(c.max()) + 1 if len(c) else 1
        if len(out) and int(out.max()) >= _COMPRESS_ABOVE // max(radix, 1):
            out = np.asarray(pd.factorize(out)[0], dtype=np.int64)
        out = out * radix + c
    assert out is not None
    return out


def group_codes(*cols: Any) -> np.ndarray:
    """One integer per row, the same for rows whose key tuples are equal.

    The codes are numbered in order of first appearance, exactly as
    ``pd.DataFrame({i: c ...}).groupby(list(range(len(cols))), sort=False,
    dropna=False).ngroup()`` numbers them (tested against it).

    Parameters
    ----------
    *cols : array-like or pandas.Series
        Key columns of equal length ``n`` (Arrow strings, objects, numbers).

    Returns
    -------
    numpy.ndarray of int64, shape (n,)

    Raises
    ------
    ValueError
        When no column is given or the columns' lengths differ.

    Examples
    --------
    >>> import pandas as pd
    >>> group_codes(pd.Series(["a", "b", "a", None]), [1, 1, 1, 2]).tolist()
    [0, 1, 0, 2]
    """
    if not cols:
        raise ValueError("group_codes needs at least one column")
    n = len(cols[0])
    if any(len(c) != n for c in cols):
        raise ValueError("group_codes: columns of different lengths")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    comb = _combined([[c] for c in cols])
    return np.asarray(pd.factorize(comb)[0], dtype=np.int64)


def row_lookup(keys: Sequence[Any], query: Sequence[Any]) -> np.ndarray:
    """Position of each query tuple among the (unique) key tuples, -1 when absent.

    What ``pd.MultiIndex.from_arrays(keys).get_indexer(pd.MultiIndex.from_arrays(query))``
    gives (a missing value matches a missing value; tested against it), without making
    a Python object of every query row.

    Parameters
    ----------
    keys : sequence of array-like
        The key columns, each of length ``m``; the tuples are unique.
    query : sequence of array-like
        As many columns, each of length ``n``.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)

    Raises
    ------
    ValueError
        When the column counts or lengths differ.
    pandas.errors.InvalidIndexError
        When the key tuples are not unique.

    Examples
    --------
    >>> row_lookup([["L1", "L1"], ["a", "b"]], [["L1", "L2", "L1"], ["b", "a", "a"]]).tolist()
    [1, -1, 0]
    """
    if len(keys) != len(query) or not keys:
        raise ValueError("row_lookup: keys and query need the same, non-zero column count")
    m, n = len(keys[0]), len(query[0])
    if any(len(k) != m for k in keys) or any(len(q) != n for q in query):
        raise ValueError("row_lookup: columns of different lengths")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if m == 0:
        return np.full(n, -1, dtype=np.int64)
    comb = _combined([[k, q] for k, q in zip(keys, query, strict=True)])
    return np.asarray(pd.Index(comb[:m]).get_indexer(comb[m:]), dtype=np.int64)
