"""Declarative constraints on parameter dataclasses, checked at construction.

Every ``*Params`` class of the pipeline declares, next to each knob, the values
it accepts::

    from dataclasses import dataclass, field
    from labforensics._validation import Interval, constrained, validate

    @dataclass(frozen=True)
    class P:
        routine_days: int = constrained(20, Interval(1, None))

        def __post_init__(self) -> None:
            validate(self)

``P(routine_days=-3)`` then raises :class:`~labforensics.errors.ParameterError`
naming the class, the field, the value and the allowed range::

    P.routine_days = -3 is out of range: must be an integer >= 1

The constraints are data (``dataclasses.fields(P)[i].metadata["constraint"]``),
so the test suite walks every parameters class and checks that an invalid value
of each constrained field is refused with a message naming it
(``tests/test_common.py``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import ParameterError

__all__ = [
    "Boolean",
    "Constraint",
    "Each",
    "Maybe",
    "Duration",
    "Interval",
    "OneOf",
    "SubsetOf",
    "constrained",
    "constraints",
    "validate",
]


class Constraint:
    """One rule on one field's value.

    Subclasses implement :meth:`check` (return the value, possibly normalised, or
    raise ``ValueError`` with the reason) and :meth:`describe` (the allowed values
    in words), and :meth:`invalid_examples` (values the rule must refuse, used by
    the test suite).
    """

    def check(self, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def invalid_examples(self) -> list[Any]:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """A number in ``[low, high]`` (either side open with ``low_open``/``high_open``).

    Parameters
    ----------
    low, high : float or None
        Bounds; ``None`` means unbounded on that side.
    integer : bool
        The value must be an ``int`` (``bool`` is refused).
    low_open, high_open : bool
        Exclude the bound itself.
    """

    low: float | None = None
    high: float | None = None
    integer: bool = False
    low_open: bool = False
    high_open: bool = False

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"is not {'an integer' if self.integer else 'a number'}")
        if self.integer and not isinstance(value, int):
            raise ValueError("is not an integer")
        if isinstance(value, float) and math.isnan(value):
            raise ValueError("is not a number (NaN)")
        ok = True
        if self.low is not None:
            ok &= value > self.low if self.low_open else value >= self.low
        if self.high is not None:
            ok &= value < self.high if self.high_open else value <= self.high
        if not ok:
            raise ValueError("is out of range")
        return value

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_num(self.low)}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {_num(self.high)}")
        return f"{kind} {' and '.join(parts)}" if parts else kind

    def invalid_examples(self) -> list[Any]:
        out: list[Any] = ["x"]
        if self.low is not None:
            out.append(self.low if self.low_open else self.low - 1)
        if self.high is not None:
            out.append(self.high if self.high_open else self.high + 1)
        if self.integer:
            out.append(1.5)
        return out


@dataclass(frozen=True)
class OneOf(Constraint):
    """One of a fixed set of values."""

    choices: tuple[Any, ...]

    def check(self, value: Any) -> Any:
        if value not in self.choices:
            raise ValueError("is not allowed")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def invalid_examples(self) -> list[Any]:
        return ["__not_a_choice__"]


@dataclass(frozen=True)
class SubsetOf(Constraint):
    """A non-empty (unless ``allow_empty``) collection of distinct known names; kept as a tuple."""

    choices: tuple[str, ...]
    allow_empty: bool = False

    def check(self, value: Any) -> Any:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError("is not a list of names")
        items = tuple(value)
        unknown = [v for v in items if v not in self.choices]
        if unknown:
            raise ValueError(f"names unknown value(s) {unknown}")
        if len(set(items)) != len(items):
            raise ValueError("repeats a name")
        if not items and not self.allow_empty:
            raise ValueError("is empty")
        return items

    def describe(self) -> str:
        what = "a list" if self.allow_empty else "a non-empty list"
        return f"{what} of distinct names among " + ", ".join(self.choices)

    def invalid_examples(self) -> list[Any]:
        out: list[Any] = [("__unknown__",)]
        if not self.allow_empty:
            out.append(())
        return out


@dataclass(frozen=True)
class Duration(Constraint):
    """A duration (``pandas.Timedelta`` or a pandas offset string such as ``"30min"``).

    Bare numbers are refused: pandas would read them as nanoseconds. The value is
    normalised to a :class:`pandas.Timedelta`.
    """

    low: pd.Timedelta = pd.Timedelta(0)
    low_open: bool = False

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or isinstance(value, int | float):
            raise ValueError('is a bare number; durations need a unit, e.g. "30min"')
        try:
            td = pd.Timedelta(value)
        except (TypeError, ValueError) as exc:
            raise ValueError('is not a duration such as "30min", "12h" or "14D"') from exc
        if pd.isna(td):
            raise ValueError("is not a duration (NaT)")
        if td < self.low or (self.low_open and td == self.low):
            raise ValueError("is out of range")
        return td

    def describe(self) -> str:
        return f"a duration {'>' if self.low_open else '>='} {self.low}"

    def invalid_examples(self) -> list[Any]:
        return [30, "soon", "-1min"] + (["0s"] if self.low_open else [])


@dataclass(frozen=True)
class Boolean(Constraint):
    """``True`` or ``False`` only (``1``, ``0`` and strings are refused)."""

    def check(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError("is not a boolean")
        return value

    def describe(self) -> str:
        return "true or false"

    def invalid_examples(self) -> list[Any]:
        return [1, "yes"]


@dataclass(frozen=True)
class Maybe(Constraint):
    """``None`` (the documented automatic choice) or a value ``inner`` accepts."""

    inner: Constraint

    def check(self, value: Any) -> Any:
        return None if value is None else self.inner.check(value)

    def describe(self) -> str:
        return f"None or {self.inner.describe()}"

    def invalid_examples(self) -> list[Any]:
        return self.inner.invalid_examples()


@dataclass(frozen=True)
class Each(Constraint):
    """A sequence (kept as a tuple) of at least ``min_len`` items, each accepted by ``item``."""

    item: Constraint
    min_len: int = 1

    def check(self, value: Any) -> Any:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError("is not a list")
        items = tuple(value)
        if len(items) < self.min_len:
            raise ValueError(f"has fewer than {self.min_len} item(s)")
        for v in items:
            try:
                self.item.check(v)
            except ValueError as exc:
                raise ValueError(f"holds {v!r}, which {exc}") from None
        return items

    def describe(self) -> str:
        return f"a list of at least {self.min_len} item(s), each {self.item.describe()}"

    def invalid_examples(self) -> list[Any]:
        bad = [b for b in self.item.invalid_examples() if not isinstance(b, tuple | list)]
        out: list[Any] = [tuple(bad[:1])] if bad else []
        if self.min_len > 0:
            out.append(())
        return out


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def constrained(default: Any = dataclasses.MISSING, rule: Constraint | None = None, **kw: Any):
    """A dataclass ``field`` whose metadata carries ``rule`` (checked by :func:`validate`).

    ``default`` may be a value or omitted with ``default_factory=`` given in ``kw``.
    """
    meta = dict(kw.pop("metadata", {}) or {})
    if rule is not None:
        meta["constraint"] = rule
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta, **kw)
    return dataclasses.field(default=default, metadata=meta, **kw)


def constraints(cls_or_obj: Any) -> dict[str, Constraint]:
    """Field name -> constraint of a parameters dataclass (fields without one left out)."""
    return {
        f.name: f.metadata["constraint"]
        for f in dataclasses.fields(cls_or_obj)
        if "constraint" in f.metadata
    }


def validate(obj: Any, skip: Collection[str] = ()) -> None:
    """Check (and normalise, on a frozen dataclass too) every constrained field of ``obj``.

    Raises
    ------
    ParameterError
        On the first field whose value breaks its rule, naming the class, the field,
        the value, why, and the allowed values.
    """
    name = type(obj).__name__
    for field_name, rule in constraints(obj).items():
        if field_name in skip:
            continue
        value = getattr(obj, field_name)
        try:
            new = rule.check(value)
        except ValueError as exc:
            raise ParameterError(
                f"{name}.{field_name} = {value!r} {exc}: must be {rule.describe()}"
            ) from None
        if new is not value:
            object.__setattr__(obj, field_name, new)
