"""The evidence store: a Parquet dataset of the canonical events, partitioned by lab
and month, built incrementally and read back as the same :class:`~labforensics.ingest.Evidence`
as reading every file at once.

:func:`ingest_to_store` adds evidence files to a store (``labforensics ingest ... --store
DIR``); :func:`load_store` reads it back (``investigate --store DIR``). The layout and the
rules (groups, ``seq``, what is re-processed) are in :mod:`labforensics.store._layout`.
"""

from __future__ import annotations

from ._guard import reading_store
from ._ingest import StoreIngest, ingest_to_store, store_options
from ._layout import STORE_FORMAT, StoreError
from ._load import load_store, store_manifest_path

__all__ = [
    "STORE_FORMAT",
    "StoreError",
    "StoreIngest",
    "ingest_to_store",
    "load_store",
    "reading_store",
    "store_manifest_path",
    "store_options",
]
