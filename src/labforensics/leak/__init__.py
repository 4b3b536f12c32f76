"""Leaked data: leak files, the labs' patient indexes, NIR normalisation.

:func:`read_leak` (in :mod:`labforensics.leak.reader`) pseudonymises leaked
identifier lists on read; :func:`read_dump` and :func:`read_patient_index` read
leaked dumps of people and the labs' patient indexes into the canonical person
frame (:mod:`labforensics.leak.people`); :mod:`labforensics.leak.nir` normalises and checks NIRs
(also used by the redactor in :mod:`labforensics.privacy`, which is why this
package imports its readers lazily: ``privacy`` -> ``leak.nir`` must not pull
in ``leak.reader`` -> ``privacy``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["read_dump", "read_leak", "read_patient_index"]

#: Public name -> submodule that defines it (imported on first use).
_LAZY = {"read_leak": "reader", "read_dump": "dump", "read_patient_index": "patients"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
