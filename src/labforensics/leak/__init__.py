"""Leaked data: reading a leak's identifiers and the labs' patient indexes.

:func:`read_leak` (in :mod:`labforensics.leak.reader`) pseudonymises leaked
identifiers on read; the leak-linkage issue adds to this package.
"""

from __future__ import annotations

from .reader import read_leak

__all__ = ["read_leak"]
