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


def pct_apart(estimate: Any, bound: Any, max_decimals: int = 4) -> tuple[str, str]:
    """An estimate and its bound as percentages with enough decimals to tell them apart.

    QA session 14: "0.4 %, at most 0.4 % at 95 %" for 0.368 % and 0.438 %. Both get
    :func:`pct`'s digits, then one more decimal at a time (up to ``max_decimals``) while
    they read the same though they differ.

    Parameters
    ----------
    estimate, bound : float or None
        Shares (0.00368 is 0.368 %).
    max_decimals : int, default 4
        The most decimals of the percentage.

    Returns
    -------
    (str, str)
        ``("0.37 %", "0.44 %")`` for 0.00368 and 0.00438; :func:`pct`'s strings when
        either is missing, they are equal, or they already differ.
    """
    a, b = pct(estimate), pct(bound)
    fa, fb = _num(estimate), _num(bound)
    if fa is None or fb is None or fa == fb or a != b:
        return a, b
    d = len(a.split(" ")[0].partition(".")[2])
    while d < max_decimals:
        d += 1
        a, b = f"{100 * fa:,.{d}f} %", f"{100 * fb:,.{d}f} %"
        if a != b:
            break
    return a, b


__all__ = ["fixed", "pct", "pct_apart"]


class Composed(str):
    """A sentence the report composes itself (the first screen's answers): printed up to
    :data:`COMPOSED_MAX_CHARS`, not cut at the 1,000 characters of a text copied from
    the evidence (:func:`labforensics.report.html.clip_text`); still escaped."""

    __slots__ = ()


#: Characters of a :class:`Composed` sentence printed (a list of 30 labs' shares fits).
COMPOSED_MAX_CHARS = 20_000
