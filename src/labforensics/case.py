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
    [sources]                    # labforensics.detect.SourceParams fields (failed-login ranking)
    [attribution]                # labforensics.AttributionParams fields

    [evidence]                   # optional, paths relative to this file (used by fixtures)
    paths = ["evidence"]
    leak = "leak/leaked_ipps.csv"
    transfers = "transfers/xferlog"

Durations are pandas offset strings (``"30min"``, ``"12h"``, ``"14D"``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ParameterError

__all__ = ["Case", "load_case", "make_params"]

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
    key_file = c.get("key_file")
    try:
        seed = int(c.get("seed", 0))
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"case file {p}: [case] seed must be an integer") from exc
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
        leak=(base / ev["leak"]).resolve() if ev.get("leak") else None,
        transfers=(base / ev["transfers"]).resolve() if ev.get("transfers") else None,
        path=p,
    )


def _convert(value: Any, default: Any, name: str) -> Any:
    if isinstance(default, pd.Timedelta) and not isinstance(value, pd.Timedelta):
        try:
            return pd.Timedelta(value)
        except ValueError as exc:
            raise ParameterError(f"{name}={value!r} is not a duration like '30min'") from exc
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


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
    kwargs.update(own)
    for k, v in list(kwargs.items()):
        f = fields[k]
        default = f.default if f.default is not dataclasses.MISSING else None
        kwargs[k] = _convert(v, default, f"{cls.__name__}.{k}")
        if isinstance(default, tuple) and isinstance(kwargs[k], list):
            kwargs[k] = tuple(kwargs[k])
    return cls(**kwargs)
