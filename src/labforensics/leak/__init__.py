"""Leaked data: reading a leak's identifiers and the labs' patient indexes.

:func:`read_leak` (in :mod:`labforensics.leak.reader`) pseudonymises leaked
identifiers on read; the leak-linkage issue adds to this package.

``read_leak`` is imported lazily: :mod:`labforensics.privacy` imports
:mod:`labforensics.leak.nir`, which runs this file first, and ``leak.reader``
imports ``privacy``; an eager import here would be a circular import.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["read_leak"]


def __getattr__(name: str) -> Any:
    if name == "read_leak":
        return importlib.import_module("labforensics.leak.reader").read_leak
    raise AttributeError(f"module 'labforensics.leak' has no attribute {name!r}")
