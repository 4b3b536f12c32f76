"""Numbers as the report writes them: counts with thousands separators, shares as
percentages, missing values as an em dash."""

from __future__ import annotations

from typing import Any

import numpy as np


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _count(value: Any) -> str:
    """A count with comma thousands separators; "?" when missing."""
    f = _num(value)
    return "?" if f is None else f"{int(round(f)):,}"


def pct(share: Any) -> str:
    """A share as a percentage with a space before ``%``: 0.004 -> ``0.4 %``.

    One decimal from 0.1 % up; below, one significant digit (0.0004 -> ``0.04 %``);
    ``n/a`` when missing.
    """
    f = _num(share)
    if f is None:
        return "n/a"
    v = 100.0 * f
    if v == 0.0:
        return "0 %"
    if abs(v) >= 0.1:
        return f"{v:,.1f} %"
    return f"{v:.{-int(np.floor(np.log10(abs(v))))}f} %"


def fixed(value: float, digits: int, sign: bool = False) -> str:
    """``value`` with ``digits`` decimals (``sign``: a ``+`` before a positive one), never
    a negative zero: -0.001 at 2 decimals is ``0.00`` (``+0.00`` with ``sign``), not
    ``-0.00`` (QA session 11: "log10 LR -0.00" printed).

    Parameters
    ----------
    value : float
    digits : int
        Decimals, >= 0.
    sign : bool
        Print ``+`` before a value that is not negative once rounded.

    Returns
    -------
    str
    """
    text = f"{float(value):{'+' if sign else ''}.{int(digits)}f}"
    if text.startswith("-") and not text.strip("-+0.,"):
        text = ("+" if sign else "") + text[1:]
    return text


__all__ = ["fixed", "pct"]


class Composed(str):
    """A sentence the report composes itself (the first screen's answers): printed up to
    :data:`COMPOSED_MAX_CHARS`, not cut at the 1,000 characters of a text copied from
    the evidence (:func:`labforensics.report.html.clip_text`); still escaped."""

    __slots__ = ()


#: Characters of a :class:`Composed` sentence printed (a list of 30 labs' shares fits).
COMPOSED_MAX_CHARS = 20_000
