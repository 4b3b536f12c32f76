"""The case file (``case.toml``): everything about a case that is not evidence.

Example::

    [case]
    name = "Vendor support account, 2020"
    tz = "Europe/Paris"          # local time of the sources
    seed = 0                     # every seeded randomness of the run
    key_file = "case.key"        # case key (hex), relative to this file; never inside --out

    [networks]
    lab = ["10.0.0.0/8"]         # CIDR blocks of the labs' networks
    vendor = ["198.51.100.0/24"] # CIDR blocks of the vendor's networks

    [accounts]
    vendor = ["support.editeur"] # accounts known to be the vendor's
    service = ["batch.hprim"]    # service accounts (instruments, interfaces, jobs)

    [[labs]]                     # lab aliases: the FINESS number may stand for the code
    code = "L01"
    finess = "350000011"

    [sessions]                   # labforensics.SessionParams fields
    idle_timeout = "30min"
    [features]                   # labforensics.FeatureParams fields
    [detection]                  # labforensics.DetectParams fields
    [sources]                    # labforensics.SourceParams fields (failed logins per address)
    [attribution]                # labforensics.AttributionParams fields

    [evidence]                   # optional, paths relative to this file (used by fixtures)
    paths = ["evidence"]
    leak = "leak/leaked_ipps.csv"
    transfers = "transfers/xferlog"

Durations are pandas offset strings (``"30min"``, ``"12h"``, ``"14D"``); a bare number
is refused (pandas would read it as nanoseconds), and so is a negative duration. Every
value is checked against the annotation of the parameter it sets: bool is not an int,
a float is not an int (an int is a float), lists must hold the annotated item type.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import CaseKeyError, ParameterError
from .privacy import ENV_VAR, CaseKey

__all__ = [
    "Case",
    "default_key_file",
    "ingest_options",
    "load_case",
    "make_params",
    "resolve_case_key",
]

_SECTIONS = ("sessions", "features", "detection", "sources", "attribution", "ingest")
_KNOWN = {"case", "networks", "accounts", "labs", "evidence", *_SECTIONS}


@dataclass(frozen=True)
class Case:
    """A case's parameters (see the module docstring for the file layout).

    Attributes
    ----------
    name : str
    tz : str
        IANA time zone of the sources' local times.
    seed : int
    key_file : pathlib.Path or None
        Absolute path of the case key file, when the case names one.
    lab_networks, vendor_networks : tuple of str
        CIDR blocks.
    vendor_accounts, service_accounts : tuple of str
    lab_aliases : dict
        Alias (FINESS) -> lab code.
    sections : dict
        Raw mapping of each stage section (``sessions``, ``features``, ...).
    evidence, leak, transfers : paths, optional
        Absolute paths named by the ``[evidence]`` section.
    path : pathlib.Path or None
        The case file itself.
    """

    name: str = "Investigation"
    tz: str = "Europe/Paris"
    seed: int = 0
    key_file: Path | None = None
    lab_networks: tuple[str, ...] = ()
    vendor_networks: tuple[str, ...] = ()
    vendor_accounts: tuple[str, ...] = ()
    service_accounts: tuple[str, ...] = ()
    lab_aliases: dict[str, str] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    evidence: tuple[Path, ...] = ()
    leak: Path | None = None
    transfers: Path | None = None
    path: Path | None = None

    @property
    def account_kinds(self) -> dict[str, str]:
        """Account -> kind overrides (``vendor``/``service``)."""
        out = {a: "vendor" for a in self.vendor_accounts}
        out.update({a: "service" for a in self.service_accounts})
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe parameters (no absolute path: file names only)."""
        return {
            "name": self.name,
            "tz": self.tz,
            "seed": self.seed,
            "key_file": self.key_file.name if self.key_file else None,
            "lab_networks": list(self.lab_networks),
            "vendor_networks": list(self.vendor_networks),
            "vendor_accounts": list(self.vendor_accounts),
            "service_accounts": list(self.service_accounts),
            "lab_aliases": dict(sorted(self.lab_aliases.items())),
            "sections": self.sections,
        }


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ParameterError(f"{where} must be a list of strings, got {value!r}")


def load_case(path: str | os.PathLike[str] | Case | None) -> Case:
    """Read a ``case.toml`` (or return the default case for None).

    Raises
    ------
    ParameterError
        When the file cannot be read, is not TOML, or holds an unknown section or
        a value of the wrong type (the message names the file and the key).
    """
    if path is None:
        return Case()
    if isinstance(path, Case):
        return path
    p = Path(path).resolve()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParameterError(f"cannot read case file {p}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"case file {p} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise ParameterError(
            f"case file {p}: unknown section(s) {unknown}; known: {sorted(_KNOWN)}"
        )
    base = p.parent
    for name in _KNOWN - {"labs"}:
        if name in data and not isinstance(data[name], dict):
            raise ParameterError(f"case file {p}: [{name}] must be a table, got {data[name]!r}")
    if "labs" in data and not isinstance(data["labs"], list):
        raise ParameterError(f"case file {p}: labs must be [[labs]] tables")

    def get(section: str, key: str, hint: Any, default: Any = None) -> Any:
        sec = data.get(section, {})
        if key not in sec:
            return default
        return _check_value(sec[key], hint, f"case file {p}, [{section}]", key)

    c = data.get("case", {})
    nets = data.get("networks", {})
    accts = data.get("accounts", {})
    aliases: dict[str, str] = {}
    for i, lab in enumerate(data.get("labs", [])):
        if not isinstance(lab, dict) or "code" not in lab:
            raise ParameterError(f"case file {p}: [[labs]] entry {i + 1} needs a 'code'")
        for alias in _strs(lab.get("finess"), f"{p}: labs[{i}].finess") + _strs(
            lab.get("aliases"), f"{p}: labs[{i}].aliases"
        ):
            aliases[alias] = str(lab["code"])
    ev = data.get("evidence", {})
    get("case", "name", str)
    get("case", "tz", str)
    key_file = get("case", "key_file", str)
    seed = get("case", "seed", int, 0)
    leak = get("evidence", "leak", str)
    transfers = get("evidence", "transfers", str)
    return Case(
        name=str(c.get("name", p.parent.name)),
        tz=str(c.get("tz", "Europe/Paris")),
        seed=seed,
        key_file=(base / key_file).resolve() if key_file else None,
        lab_networks=_strs(nets.get("lab"), f"{p}: networks.lab"),
        vendor_networks=_strs(nets.get("vendor"), f"{p}: networks.vendor"),
        vendor_accounts=_strs(accts.get("vendor"), f"{p}: accounts.vendor"),
        service_accounts=_strs(accts.get("service"), f"{p}: accounts.service"),
        lab_aliases=aliases,
        sections={s: dict(data.get(s, {})) for s in _SECTIONS},
        evidence=tuple((base / e).resolve() for e in _strs(ev.get("paths"), f"{p}: evidence")),
        leak=(base / leak).resolve() if leak else None,
        transfers=(base / transfers).resolve() if transfers else None,
        path=p,
    )


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


def make_params(cls: type, case: Case, section: str) -> Any:
    """Build a parameters dataclass from the case's common values and its section.

    Common values fill the fields of the same meaning when ``cls`` has them:
    ``tz``, ``seed`` (also ``random_state``), ``lab_networks``, ``vendor_networks``,
    ``vendor_accounts``, ``service_accounts``, ``account_kinds``. The section's own
    keys come last and win.

    Raises
    ------
    ParameterError
        When the section names a field ``cls`` does not have.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    common = {
        "tz": case.tz,
        "seed": case.seed,
        "random_state": case.seed,
        "lab_networks": case.lab_networks or None,
        "vendor_networks": case.vendor_networks,
        "vendor_accounts": case.vendor_accounts,
        "service_accounts": case.service_accounts,
        "account_kinds": case.account_kinds,
        "lab_aliases": case.lab_aliases,
        "transfer_tz": case.tz,
    }
    kwargs: dict[str, Any] = {}
    for k, v in common.items():
        if k in fields and v is not None:
            kwargs[k] = v
    own = case.sections.get(section, {})
    unknown = sorted(set(own) - set(fields))
    if unknown:
        where = f"case file {case.path}" if case.path else "case"
        raise ParameterError(
            f"{where}: [{section}] has unknown key(s) {unknown}; {cls.__name__} fields are "
            f"{sorted(fields)}"
        )
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):  # an annotation that cannot be evaluated: check none
        hints = {}
    where = f"case file {case.path}, [{section}]" if case.path else f"case [{section}]"
    for k, v in own.items():
        kwargs[k] = _check_value(v, hints.get(k, Any), where, k)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"{where}: {exc}") from exc


#: Keys of the ``[ingest]`` section: options of :func:`labforensics.read_evidence`.
_INGEST_KEYS: dict[str, Any] = {
    "profile": str | list[str],
    "year": int | Mapping[str, int],
    "lab": str | Mapping[str, str],
}


def _case_relative_profiles(own: dict[str, Any], path: Path | None) -> dict[str, Any]:
    """``[ingest]`` with its profile paths resolved from the case file's folder.

    Built-in and example profile names, absolute paths, and values of the wrong
    type (left for the type check to report) are kept as written.
    """
    value = own.get("profile")
    if path is None or value is None:
        return own
    from .ingest.profiles import BUILTIN_PROFILES, EXAMPLE_PROFILES

    def one(v: object) -> object:
        if not isinstance(v, str) or v in BUILTIN_PROFILES or v in EXAMPLE_PROFILES:
            return v
        return v if Path(v).is_absolute() else str((path.parent / v).resolve())

    return {**own, "profile": [one(v) for v in value] if isinstance(value, list) else one(value)}


def ingest_options(case: Case) -> dict[str, Any]:
    """The ``[ingest]`` section checked: keyword arguments of ``read_evidence``.

    ``profile`` (str or list of str: built-in or example profile names, or TOML
    paths; a relative path is resolved from the case file's folder, never the
    working folder), ``year`` (int, or table source file -> int) and ``lab`` (str,
    or table source file -> lab code).

    Raises
    ------
    ParameterError
        On an unknown key or a value of the wrong type (naming file, key, type, value).
    """
    own = _case_relative_profiles(case.sections.get("ingest", {}), case.path)
    where = f"case file {case.path}, [ingest]" if case.path else "case [ingest]"
    unknown = sorted(set(own) - set(_INGEST_KEYS))
    if unknown:
        raise ParameterError(f"{where}: unknown key(s) {unknown}; known: {sorted(_INGEST_KEYS)}")
    return {k: _check_value(v, _INGEST_KEYS[k], where, k) for k, v in own.items()}


# --- the case key ------------------------------------------------------------------------


def default_key_file(out: Path) -> Path:
    """``<out>.key`` beside the output folder (never inside it)."""
    out = Path(out).resolve()
    return out.parent / (out.name + ".key")


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both resolved)."""
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


def resolve_case_key(case: Case, out: Path) -> tuple[CaseKey, Path | None]:
    """The case key and the file it lives in.

    Order: the case's ``key_file`` (created with a random key when it does not
    exist yet), ``$LABFORENSICS_CASE_KEY``, then ``<out>.key`` beside the output
    folder (created when absent, reused otherwise).

    Returns
    -------
    (CaseKey, pathlib.Path or None)
        The key, and its file (None when it came from the environment).

    Raises
    ------
    CaseKeyError
        When the key file lies inside the output folder, or is unreadable.
    """
    if case.key_file is not None:
        path = case.key_file
    elif os.environ.get(ENV_VAR):
        return CaseKey.from_hex(os.environ[ENV_VAR], origin="env"), None
    else:
        path = default_key_file(out)
    if _inside(path, out):
        raise CaseKeyError(
            f"case key file {path} lies inside the output folder {out}: a key must never be "
            "shipped with the report; move it beside the folder"
        )
    if path.exists():
        return CaseKey.from_file(path), path
    CaseKey.random().write(path)
    # read back: the key of this case is now the file's (origin "file:..."), not a throw-away
    return CaseKey.from_file(path), path
