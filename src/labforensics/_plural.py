"""Counts with their unit, singular or plural as the number is shown (QA session 14:
"1 minutes after its end")."""

from __future__ import annotations

__all__ = ["counted"]


def counted(shown: str, unit: str) -> str:
    """A number as shown, with its unit in the singular when it reads exactly 1.

    Parameters
    ----------
    shown : str
        The number as printed ("1", "1,250", "1.5").
    unit : str
        The singular unit ("minute", "day"); the plural adds "s".

    Returns
    -------
    str
        ``"1 minute"``, ``"2 minutes"``, ``"0 days"``, ``"1.5 days"``.
    """
    return f"{shown} {unit}" if shown in ("1", "-1") else f"{shown} {unit}s"
