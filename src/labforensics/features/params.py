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
class _AutoOrDuration(Constraint):
    """``"auto"`` (computed from the evidence) or a duration > 0, normalised to a
    :class:`pandas.Timedelta`."""

    def check(self, value: Any) -> Any:
        if isinstance(value, str) and value == "auto":
            return value
        return Duration(low_open=True).check(value)

    def describe(self) -> str:
        return '"auto" or a duration > 0 such as "3D"'

    def invalid_examples(self) -> list[Any]:
        return ["automatic", 3, "0s", "-1D"]


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
        (>= 2: a median and a MAD need data); also the least number of distinct nights
        that make night work a habit (the account's earlier nights, its colleagues'
        lab-nights: :mod:`labforensics.features.night`).
    warmup : pandas.Timedelta, default 14 days
        First-seen signals count only this long after the lab's first event.
    min_lab_patients : int, default 100
        Floor of the denominator of ``share_lab_patients`` and
        ``records_out_share_lab`` (patients).
    explain_window : "auto" or pandas.Timedelta, default "auto"
        Half-width of the window around a patient access within which a request,
        sample or result of that patient at the lab explains it
        (:mod:`labforensics.features.explained`). ``"auto"``: per (lab, role), the
        median over staff accounts of each one's 99th percentile of the gap between
        its accesses and the patient's nearest clinical event, clipped to [1 day,
        ``explain_window_max``]; the values used are in
        ``Features.notes["explain_window"]``.
    explain_window_max : pandas.Timedelta, default 30 days
        Upper bound of the automatic window (so that a few accesses to long-past
        requests cannot widen it without limit). Our choice, not sourced: a month
        covers a request's results being read, corrected and re-read.
    explain_pool : pandas.Timedelta, default 7 days
        Half-width of the window over which an account's reads are pooled for
        ``*_pooled`` (:func:`labforensics.features.explained.pooled_counts`), in
        whole local days either side of the unit's day (a fraction is dropped).
        7 days, one working week: the campaign gap
        (:class:`labforensics.detect.campaigns.CampaignParams`), within which an
        account resuming the same activity continues the same piece of work.

    Raises
    ------
    ParameterError
        A value outside its allowed range (naming the field and the range).
    """

    night: tuple[int, int] = constrained((21, 6), _HourPair())
    min_history: int = constrained(5, Interval(2, None, integer=True))
    warmup: pd.Timedelta = constrained(pd.Timedelta("14D"), Duration())
    min_lab_patients: int = constrained(100, Interval(1, None, integer=True))
    explain_window: str | pd.Timedelta = constrained("auto", _AutoOrDuration())
    explain_window_max: pd.Timedelta = constrained(pd.Timedelta("30D"), Duration(low_open=True))
    explain_pool: pd.Timedelta = constrained(pd.Timedelta("7D"), Duration())

    def __post_init__(self) -> None:
        validate(self)
