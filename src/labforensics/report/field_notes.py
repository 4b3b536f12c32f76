"""Sentences on the evidence's files (QA session 9, item 3).

The summary counted a licence text beside an auth log as an evidence file ("3
file(s)" for one log read).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["files_read"]


def files_read(counts: Mapping[str, Any]) -> str:
    """``"3 file(s)"``, or ``"1 file(s) read (2 not read: no reader took them)"``.

    Parameters
    ----------
    counts : mapping
        ``findings["counts"]``: ``input_files`` (every evidence file hashed) and
        ``input_files_not_read`` (those no reader took).
    """
    n, unread = int(counts.get("input_files", 0)), int(counts.get("input_files_not_read", 0))
    if not unread:
        return f"{n:,} file(s)"
    return f"{n - unread:,} file(s) read ({unread:,} not read: no reader took them)"
