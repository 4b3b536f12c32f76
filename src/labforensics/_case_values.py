"""A case file's knob values checked against the annotation of the parameter they set
(:func:`labforensics.case.params_from_case`, ``[ingest]``'s options): TOML gives
numbers, strings, lists and tables; a knob wants an ``int``, a duration, a tuple of
two floats ... A value of the wrong type is refused naming the key, the type wanted and
how to write it (a duration needs a unit: a bare number would be read as nanoseconds).
"""

from __future__ import annotations

import collections.abc
import json
import os
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ParameterError

_NUMBER_DURATION = (
    'is a bare number; durations need a unit: write a string such as "30min", "12h" '
    'or "14D" (a number would be read as nanoseconds)'
)


def _type_name(hint: Any) -> str:
    """Readable name of a type annotation (``int``, ``list of str``, ``duration`` ...)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is pd.Timedelta:
        return 'duration (string such as "30min")'
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is tuple or origin in (list, Sequence, collections.abc.Sequence):
        if len(args) == 2 and args[1] is Ellipsis or len(args) == 1:
            return f"list of {_type_name(args[0])}"
        if args:
            return f"list of {len(args)} ({', '.join(_type_name(a) for a in args)})"
        return "list"
    if origin in (dict, Mapping, collections.abc.Mapping):
        return f"table of {_type_name(args[1])}" if len(args) == 2 else "table"
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    return getattr(hint, "__name__", str(hint))


class _Mismatch(Exception):
    """A value does not fit an annotation (message: why, when more than the type)."""


def _coerce(value: Any, hint: Any) -> Any:
    """``value`` (as read from TOML) checked against ``hint`` and converted.

    bool is not an int, a float is not an int, an int is a float; durations must be
    strings (pandas offsets) and non-negative; lists become tuples where a tuple is
    annotated.
    """
    if hint is Any or hint is object:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        errors: list[_Mismatch] = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a)
            except _Mismatch as exc:
                errors.append(exc)
        detailed = [e for e in errors if str(e)]
        raise detailed[0] if detailed else _Mismatch()
    if origin is typing.Literal:
        if value in args:
            return value
        raise _Mismatch()
    if hint is pd.Timedelta:
        if isinstance(value, bool):
            raise _Mismatch()
        if isinstance(value, int | float):
            raise _Mismatch(_NUMBER_DURATION)
        if not isinstance(value, str):
            raise _Mismatch()
        try:
            td = pd.Timedelta(value)
        except ValueError as exc:
            raise _Mismatch('is not a duration such as "30min", "12h" or "14D"') from exc
        if pd.isna(td):
            raise _Mismatch("is not a duration (NaT)")
        if td < pd.Timedelta(0):
            raise _Mismatch("is a negative duration; durations must be >= 0")
        return td
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch()
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch()
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch()
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch()
    if hint is Path or hint is os.PathLike:
        if isinstance(value, str):
            return value
        raise _Mismatch()
    if origin is tuple or origin in (list, collections.abc.Sequence):
        if not isinstance(value, list | tuple):
            raise _Mismatch()
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise _Mismatch(f"needs exactly {len(args)} items")
            return tuple(_coerce(v, a) for v, a in zip(value, args, strict=True))
        item = args[0] if args else Any
        return tuple(_coerce(v, item) for v in value)
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            raise _Mismatch()
        kt, vt = args if len(args) == 2 else (Any, Any)
        return {_coerce(k, kt): _coerce(v, vt) for k, v in value.items()}
    if isinstance(hint, type):
        if isinstance(value, hint):
            return value
        raise _Mismatch()
    return value  # an annotation we do not know how to check: left to the dataclass


def _toml(value: Any) -> str:
    """``value`` as written in TOML (``true``, ``"big"``, ``[1, 2]``), for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)


def _check_value(value: Any, hint: Any, where: str, key: str) -> Any:
    """:func:`_coerce` with a :class:`ParameterError` naming where, key, type and value."""
    try:
        return _coerce(value, hint)
    except _Mismatch as exc:
        why = str(exc)
        raise ParameterError(
            f"{where}: {key} = {_toml(value)} "
            + (why + f" (expected {_type_name(hint)})" if why else f"must be {_type_name(hint)}")
        ) from None
