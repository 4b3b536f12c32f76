"""The case file's ``[ingest]`` section: keyword arguments of :func:`labforensics.read_evidence`.

Kept beside the readers (not in :mod:`labforensics.case`) because it needs the
names of the built-in and example profiles: the case module imports no stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..case import CaseContext, _check_value
from ..errors import ParameterError
from .profiles import BUILTIN_PROFILES, EXAMPLE_PROFILES

__all__ = ["ingest_options"]

#: Keys of the ``[ingest]`` section: options of :func:`labforensics.read_evidence`.
_INGEST_KEYS: dict[str, Any] = {
    "profile": str | list[str],
    "year": int | Mapping[str, int],
    "lab": str | Mapping[str, str],
}


def _case_relative_profiles(own: dict[str, Any], path: Path | None) -> dict[str, Any]:
    """``[ingest]`` with its profile paths resolved from the case file's folder.

    Built-in and example profile names, absolute paths, and values of the wrong
    type (left for the type check to report) are kept as written.
    """
    value = own.get("profile")
    if path is None or value is None:
        return own

    def one(v: object) -> object:
        if not isinstance(v, str) or v in BUILTIN_PROFILES or v in EXAMPLE_PROFILES:
            return v
        return v if Path(v).is_absolute() else str((path.parent / v).resolve())

    return {**own, "profile": [one(v) for v in value] if isinstance(value, list) else one(value)}


def ingest_options(case: CaseContext) -> dict[str, Any]:
    """The ``[ingest]`` section checked: keyword arguments of ``read_evidence``.

    ``profile`` (str or list of str: built-in or example profile names, or TOML
    paths; a relative path is resolved from the case file's folder, never the
    working folder), ``year`` (int, or table source file -> int) and ``lab`` (str,
    or table source file -> lab code).

    Raises
    ------
    ParameterError
        On an unknown key or a value of the wrong type (naming file, key, type, value).
    """
    own = _case_relative_profiles(case.sections.get("ingest", {}), case.path)
    where = f"case file {case.path}, [ingest]" if case.path else "case [ingest]"
    unknown = sorted(set(own) - set(_INGEST_KEYS))
    if unknown:
        raise ParameterError(f"{where}: unknown key(s) {unknown}; known: {sorted(_INGEST_KEYS)}")
    return {k: _check_value(v, _INGEST_KEYS[k], where, k) for k, v in own.items()}
