"""Leaked data: leak files, the labs' patient indexes, NIR normalisation.

:func:`read_leak` (in :mod:`labforensics.leak.reader`) pseudonymises leaked
identifiers on read; :mod:`labforensics.leak.nir` normalises and checks NIRs
(also used by the redactor in :mod:`labforensics.privacy`, which is why this
package imports its readers lazily: ``privacy`` -> ``leak.nir`` must not pull
in ``leak.reader`` -> ``privacy``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["read_leak"]


def __getattr__(name: str) -> Any:
    if name == "read_leak":
        from .reader import read_leak

        return read_leak
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
