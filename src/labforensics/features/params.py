"""Parameters of :func:`labforensics.features.build_features`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from .._validation import Constraint, Duration, Interval, constrained, validate


@dataclass(frozen=True)
class _HourPair(Constraint):
    """Two local hours ``(start, end)``, each an integer 0-23; kept as a tuple."""

    def check(self, value: Any) -> Any:
        if isinstance(value, str) or not hasattr(value, "__len__") or len(value) != 2:
            raise ValueError("is not a pair of hours")
        hour = Interval(0, 23, integer=True)
        for h in value:
            try:
                hour.check(h)
            except ValueError:
                raise ValueError("holds an hour outside 0-23") from None
        return tuple(value)

    def describe(self) -> str:
        return "a pair (start, end) of integer hours 0-23"

    def invalid_examples(self) -> list[Any]:
        return [(21,), (24, 6), (21, -1), (21.5, 6), "21-6"]


@dataclass(frozen=True)
class FeatureParams:
    """Knobs of :func:`build_features` (the time zone and networks are case facts:
    ``build_features(..., case=)``).

    Attributes
    ----------
    night : tuple[int, int], default (21, 6)
        Night as local hours ``(start, end)``: 21 to 6 means 21:00-05:59.
    min_history : int, default 5
        Least number of units in a group for a baseline (own or peer) to be used
        (>= 2: a median and a MAD need data).
    warmup : pandas.Timedelta, default 14 days
        First-seen signals count only this long after the lab's first event.
    min_lab_patients : int, default 100
        Floor of the denominator of ``share_lab_patients`` (patients).

    Raises
    ------
    ParameterError
        A value outside its allowed range (naming the field and the range).
    """

    night: tuple[int, int] = constrained((21, 6), _HourPair())
    min_history: int = constrained(5, Interval(2, None, integer=True))
    warmup: pd.Timedelta = constrained(pd.Timedelta("14D"), Duration())
    min_lab_patients: int = constrained(100, Interval(1, None, integer=True))

    def __post_init__(self) -> None:
        validate(self)
