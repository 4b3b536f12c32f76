"""Events held dictionary-encoded while they wait, and back (no stage imported here).

:func:`narrow` and :func:`widen` are what the per-lab engine
(:mod:`labforensics.engine`) and :mod:`labforensics.case_events` hold events in; this
module imports only :mod:`labforensics.schema`, so any stage may use it.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import schema

__all__ = ["arrow_to_wide", "empty_like", "narrow", "widen"]


def empty_like(df: pd.DataFrame) -> pd.DataFrame:
    """A table with ``df``'s columns and dtypes and no row, sharing no buffer with it.

    ``df.iloc[:0]`` is a zero-length *view*: its Arrow string columns and numpy arrays
    keep the whole of ``df``'s buffers alive (measured: an empty slice of a 1.1 M-event
    read held 320 MiB of Arrow strings), so a table meant to be dropped is emptied with
    this instead.
    """
    return pd.DataFrame({c: pd.Series([], dtype=df[c].dtype) for c in df.columns},
                        index=pd.RangeIndex(0))  # fmt: skip


def narrow(df: pd.DataFrame) -> pd.DataFrame:
    """Events held while waiting, dictionary-encoded: every string column as ``category``.

    The canonical string columns (Arrow strings, about 17-35 bytes an event each)
    become one small integer code per event plus one copy of each distinct value; the
    other columns (instants ``datetime64[ns, UTC]``, ``seq`` int64, counts ``Int64``,
    the categorical codes, the lists) are kept. :func:`widen` gives back the same
    table (same values, same dtypes). Measured on a generated case (6 labs, 195,221
    events): 383 bytes an event as read, 85 dictionary-encoded.
    """
    out = {}
    for c in df.columns:
        s = df[c]
        out[c] = s.astype("category") if s.dtype == schema.STRING else s
    return pd.DataFrame(out, index=df.index)


def widen(df: pd.DataFrame, like: pd.DataFrame | None = None) -> pd.DataFrame:
    """The canonical dtypes back from :func:`narrow` (``category`` -> Arrow string).

    Columns that were categorical before :func:`narrow` (``action``, ``account_kind``
    ...) are recognised by their dtype in :data:`labforensics.schema.EVENT_DTYPES` (or
    in ``like``) and kept.
    """
    keep = {c: t for c, t in schema.EVENT_DTYPES.items()}
    if like is not None:
        keep.update({c: like[c].dtype for c in like.columns})
    out = {}
    for c in df.columns:
        s = df[c]
        want = keep.get(c, schema.STRING)
        if isinstance(s.dtype, pd.CategoricalDtype) and want == schema.STRING:
            s = s.astype(schema.STRING)
        out[c] = s
    return pd.DataFrame(out, index=df.index)


def arrow_to_wide(table: pa.Table) -> pd.DataFrame:
    """A slice of :func:`narrow`'s events read back from Arrow: what ``widen(table.to_pandas())``
    gives (same values, dtypes, order), without building each column's pandas categories.

    A slice of a lab's IPC file carries the lab's whole dictionary in each
    dictionary-encoded column (a session id's, an account's: hundreds of thousands of
    values); ``to_pandas`` made pandas categories of all of them for every slice, and
    ``widen`` turned them back into strings: about 70 % of writing ``events.parquet``
    from spilled labs (profiled, 3.4 M events). Here the text columns :func:`widen`
    would turn into Arrow strings are decoded in Arrow (the slice's values only) and
    wrapped as such; the others as ``to_pandas`` gives them.

    Parameters
    ----------
    table : pyarrow.Table
        Rows of :func:`narrow`'s table (as ``pa.Table.from_pandas`` wrote it).

    Returns
    -------
    pandas.DataFrame
        ``RangeIndex``; the columns of ``table`` in its order.
    """
    wanted = dict(schema.EVENT_DTYPES)
    text = [
        f.name
        for f in table.schema
        if pa.types.is_dictionary(f.type)
        and (pa.types.is_string(f.type.value_type) or pa.types.is_large_string(f.type.value_type))
        and wanted.get(f.name, schema.STRING) == schema.STRING
    ]
    rest = [c for c in table.column_names if c not in text]
    df = table.select(rest).to_pandas() if rest else pd.DataFrame(index=pd.RangeIndex(len(table)))
    cols = {c: df[c] for c in rest}
    for c in text:
        arr = pc.cast(table.column(c), pa.large_string())
        cols[c] = pd.Series(pd.array(arr, dtype=schema.STRING), index=df.index, name=c)
    return pd.DataFrame({c: cols[c] for c in table.column_names}, index=df.index)
