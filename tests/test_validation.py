"""Declarative parameter constraints (labforensics._validation)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from labforensics._validation import (
    Boolean,
    Duration,
    Each,
    Interval,
    Maybe,
    OneOf,
    SubsetOf,
    constrained,
    validate,
)
from labforensics.errors import ParameterError


@dataclass(frozen=True)
class _P:
    days: int = constrained(20, Interval(1, None, integer=True))
    share: float = constrained(0.5, Interval(0, 1, low_open=True))
    combine: str = constrained("mean", OneOf(("mean", "top2")))
    detectors: tuple[str, ...] = constrained(("ECOD",), SubsetOf(("ECOD", "HBOS")))
    idle: pd.Timedelta = constrained(pd.Timedelta("30min"), Duration())

    def __post_init__(self) -> None:
        validate(self)


def test_message_names_class_field_value_and_range():
    # the example: routine_days=-3 must name the field and its allowed range
    with pytest.raises(
        ParameterError, match=r"^_P\.days = -3 is out of range: must be an integer >= 1$"
    ):
        _P(days=-3)


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"days": True}, "is not an integer"),
        ({"days": 2.0}, "is not an integer"),
        ({"share": 0}, "must be a number > 0 and <= 1"),
        ({"share": float("nan")}, "NaN"),
        ({"combine": "max"}, "one of 'mean', 'top2'"),
        ({"detectors": ("ECOD", "XYZ")}, "unknown value(s) ['XYZ']"),
        ({"detectors": ()}, "is empty"),
        ({"detectors": ("ECOD", "ECOD")}, "repeats a name"),
        ({"idle": 30}, "bare number"),
        ({"idle": "-5min"}, "out of range"),
    ],
)
def test_each_rule_refuses(kw, fragment):
    with pytest.raises(ParameterError) as info:
        _P(**kw)
    assert fragment in str(info.value)


def test_normalises_on_frozen_dataclass():
    p = _P(detectors=["HBOS"], idle="1h")
    assert p.detectors == ("HBOS",)  # a list from a case file becomes a tuple
    assert p.idle == pd.Timedelta(hours=1)


def test_invalid_examples_are_refused():
    # every example a rule offers to the common test must indeed be refused by it
    for rule in (
        Interval(1, None, integer=True),
        Interval(0, 1, low_open=True),
        OneOf(("a",)),
        SubsetOf(("a",)),
        Duration(),
        Duration(low_open=True),
        Boolean(),
        Maybe(Interval(0, 1, low_open=True)),
        Each(Interval(0, 1, low_open=True)),
    ):
        for bad in rule.invalid_examples():
            with pytest.raises(ValueError):
                rule.check(bad)


def test_boolean_maybe_each():
    # True/False only (1 == True would pass a OneOf((True, False))); None is the automatic
    # choice; each item of a list is checked and the list kept as a tuple
    assert Boolean().check(False) is False
    with pytest.raises(ValueError):
        Boolean().check(1)
    assert Maybe(Interval(0, 1)).check(None) is None
    assert Each(Interval(0, 1)).check([0.5, 0.9]) == (0.5, 0.9)
    with pytest.raises(ValueError, match="holds 2"):
        Each(Interval(0, 1)).check([0.5, 2])
