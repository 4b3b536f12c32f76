"""Splink's EM with its m and u estimates held at the smallest value Splink accepts.

Splink 5 refuses any m or u probability below ``M_U_CLAMP_MIN`` (1e-300: smaller
values underflow to 0.0 in float64) by raising ``ValueError`` when the value is
set, and its EM sets the value of every iteration. On a small or one-sided EM
block, a comparison level that only non-matching pairs show (in the tiny
generated ``staff_export`` case, seed 2, scale 0.2: the birth date's ``year``
level and the NIR's ``differs`` level in the block of full first name +
postcode, 161 dump rows against 2,392 patients) has its m estimate
driven towards 0, the maximum-likelihood value on the boundary: each
iteration multiplies it by a power of itself (1e-31, 1e-52, 1e-82, ...,
1e-309 after 8 iterations), and the linkage failed with ``ValueError`` during
training.

:func:`em_m_u_held_at_minimum` holds such an estimate at ``M_U_CLAMP_MIN``
instead. This changes no model that trained before: every m below
``LinkageParams.m_floor`` (1e-4) is floored to it after EM anyway
(``linkage._stabilise_model``), and a pair at a level of m 1e-300 or 1e-309 has
a match probability of 0 in float64 either way, so the other parameters'
updates are the same.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["em_m_u_held_at_minimum"]

#: Splink's own minimum (``splink.internals.comparison_level.M_U_CLAMP_MIN``).
_FALLBACK_MIN = 1e-300


@contextlib.contextmanager
def em_m_u_held_at_minimum() -> Iterator[None]:
    """While open, Splink's EM maximisation step holds m and u at >= ``M_U_CLAMP_MIN``.

    Wraps ``splink.internals.expectation_maximisation.populate_m_u_from_lookup``
    (the function that sets each level's new m and u from the iteration's SQL
    result) and restores it on exit. Values at or above the minimum, and the
    "level not observed" marker, pass unchanged.

    Raises
    ------
    ImportError
        Splink's EM module is not importable (not Splink 5).
    """
    from splink.internals import expectation_maximisation as em

    try:
        from splink.internals.comparison_level import M_U_CLAMP_MIN as low
    except ImportError:  # a Splink 5 release without the constant: its documented value
        low = _FALLBACK_MIN
    original = em.populate_m_u_from_lookup

    def held(fixed: Any, level: Any, column: str, lookup: dict[str, dict[int, Any]]) -> Any:
        rec = lookup.get(column, {}).get(level.comparison_vector_value)
        if rec is not None:
            low_values = {
                k: low
                for k in ("m_probability", "u_probability")
                if isinstance(rec.get(k), float) and rec[k] < low
            }
            if low_values:
                lookup = {**lookup, column: {**lookup[column], level.comparison_vector_value: {**rec, **low_values}}}  # fmt: skip
        return original(fixed, level, column, lookup)

    em.populate_m_u_from_lookup = held
    try:
        yield
    finally:
        em.populate_m_u_from_lookup = original
