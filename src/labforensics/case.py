"""The case file (``case.toml``) and :class:`CaseContext`, the case's facts.

Every stage takes two kinds of input (``shared/DESIGN.md``): the case's *facts*
(:class:`CaseContext`: time zone, networks, account kinds, lab aliases, seed, key),
read once from the case file and passed explicitly as ``case=``; and algorithm
*knobs* (``SessionParams``, ``FeatureParams`` ...), validated at construction.
Facts are never copied into knobs.

Example::

    [case]
    name = "Vendor support account, 2020"
    tz = "Indian/Reunion"        # IANA zone of the sources' local times (default DEFAULT_TZ)
    transfers_tz = "UTC"         # optional: the FTP server's log zone, when not tz
    seed = 0                     # every seeded randomness of the run
    key_file = "case.key"        # case key (hex), relative to this file, must exist; never inside --out

    [networks]
    lab = ["10.0.0.0/8"]         # CIDR blocks of every lab's network
    vendor = ["198.51.100.0/24"] # CIDR blocks of the vendor's networks
    [networks.by_lab]            # optional: blocks of one lab, added to `lab` for that lab
    L01 = ["192.168.10.0/24"]

    [accounts]                   # matched case-insensitively after NFC, as the register
    vendor = ["support.editeur"] # accounts known to be the vendor's
    service = ["batch.hprim"]    # service accounts (instruments, interfaces, jobs)

    [[labs]]                     # lab aliases: the FINESS number may stand for the code
    code = "L01"
    finess = "350000011"

    [sessions]                   # labforensics.SessionParams knobs
    idle_timeout = "30min"
    [features]                   # labforensics.FeatureParams knobs
    [detection]                  # labforensics.DetectParams knobs
    [sources]                    # labforensics.SourceParams knobs (failed logins per address)
    [attribution]                # labforensics.AttributionParams knobs

    [authorisations]             # optional: what each account was allowed to take
    register = "authorisations.csv"  # shared/formats/authorisations.md, relative to this file

    [evidence]                   # optional, paths relative to this file (used by fixtures)
    paths = ["evidence"]
    leak = "leak/leaked_ipps.csv"
    transfers = "transfers/xferlog"

A stage section holds only that stage's knobs. A case fact written in a stage
section (``[features] lab_networks``, ``[attribution] transfer_tz``, ``[detection]
seed``, ``[features] tz`` ...) is refused with an error naming where it belongs
(:data:`MOVED_KEYS`), e.g. "[features] lab_networks is a case fact: write it as
[networks] lab".

Durations are pandas offset strings (``"30min"``, ``"12h"``, ``"14D"``); a bare number
is refused (pandas would read it as nanoseconds), and so is a negative duration. Every
value is checked against the annotation of the parameter it sets: bool is not an int,
a float is not an int (an int is a float), lists must hold the annotated item type;
then the parameters class checks its own allowed ranges.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ._case_checks import account_kinds_of, check_labs, check_network_overlaps, resolve_by_lab
from ._case_values import _check_value
from ._cleanup import key_file_beside
from .errors import CaseKeyError, ParameterError
from .identity import canonical_account
from .networks import NetworkMap
from .privacy import ENV_VAR, CaseKey
from .schema import ACCOUNT_KINDS

__all__ = [
    "DEFAULT_TZ",
    "MOVED_KEYS",
    "CaseContext",
    "default_key_file",
    "load_case",
    "params_from_case",
    "resolve_case_key",
    "resolve_fact",
]

#: The time zone of a case that names none: the one default of the package
#: (every other module takes the zone from the :class:`CaseContext` or from an
#: argument its caller fills from the case). The project's cases are French labs.
DEFAULT_TZ = "Europe/Paris"

_SECTIONS = ("sessions", "features", "detection", "campaigns", "sources", "attribution", "ingest")
_KNOWN = {"case", "networks", "accounts", "labs", "evidence", "leak", "authorisations", *_SECTIONS}
#: Keys of the ``[authorisations]`` section (shared/formats/authorisations.md).
_AUTHORISATION_KEYS = frozenset({"register"})
#: Keys of the ``[leak]`` section.
_LEAK_KEYS = frozenset({"dump", "mappings", "patient_index", "sighted_at"})
_NETWORK_KEYS = {"lab", "vendor", "by_lab"}
_ACCOUNT_KINDS = ("vendor", "service")  # the [accounts] section's keys

#: Case facts that a stage section may not hold: key -> where the case file gives it.
MOVED_KEYS: dict[str, str] = {
    "tz": "[case] tz",
    "transfer_tz": "[case] transfers_tz",
    "seed": "[case] seed",
    "random_state": "[case] seed",
    "key_file": "[case] key_file",
    "lab_networks": "[networks] lab",
    "vendor_networks": "[networks] vendor",
    "lab_networks_by_lab": "[networks.by_lab] <lab code> = [...]",
    "networks": "[networks] lab / vendor",
    "account_kinds": "[accounts] vendor / service",
    "vendor_accounts": "[accounts] vendor",
    "service_accounts": "[accounts] service",
    "lab_aliases": "[[labs]] code / finess / aliases",
}


def _check_tz(tz: str, field: str = "tz") -> str:
    """``tz`` if it names an IANA zone (raises ParameterError otherwise, naming the
    ``field`` it was given as: ``tz`` or ``transfers_tz``, QA session 21)."""
    try:
        if not tz:
            raise ValueError("empty")
        ZoneInfo(tz)
    except (KeyError, ValueError, OSError, TypeError) as exc:
        raise ParameterError(
            f"CaseContext.{field} = {tz!r} ([case] {field} in a case file) is not an IANA "
            "time zone (a name such as 'America/New_York' from the tz database)"
        ) from exc
    return tz


def _canonical_kinds(kinds: Mapping[str, str]) -> dict[str, str]:
    """Account kinds keyed by the canonical (NFC) account, sorted; refuses an unknown
    kind and two spellings of one account (equal after NFC and case folding: accounts
    are matched case-insensitively, as the register matches them) with different kinds."""
    out: dict[str, str] = {}
    folded: dict[str, str] = {}
    written: dict[str, str] = {}
    for k, v in sorted(kinds.items()):
        if v not in ACCOUNT_KINDS:
            raise ParameterError(
                f"CaseContext.account_kinds[{k!r}] = {v!r}: must be one of {list(ACCOUNT_KINDS)}"
            )
        c = canonical_account(str(k))
        f = canonical_account(str(k), casefold=True)
        assert c is not None and f is not None
        if f in folded and folded[f] != v:
            raise ParameterError(
                f"CaseContext.account_kinds gives one account two kinds: {written[f]!r} "
                f"({folded[f]}) and {k!r} ({v}) are the same account once Unicode-normalised "
                "(NFC) and case-folded; keep one entry"
            )
        out[c] = v
        folded[f] = v
        written.setdefault(f, str(k))
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class CaseContext:
    """The facts of a case (see the module docstring for the file layout).

    Read once (:meth:`from_file`) and passed to every stage as ``case=``; a stage
    given ``case=None`` uses ``CaseContext()``: no networks (every non-local
    address ``unknown``), :data:`DEFAULT_TZ`, seed 0.

    Attributes
    ----------
    name : str
    tz : str
        IANA time zone of the sources' local times (checked at construction).
    transfers_tz : str or None
        IANA time zone of the FTP transfer log's times when it is not ``tz`` (xferlog(5)
        says "local time", the server's: a server set to UTC, or in another country,
        writes another zone than the labs' logs); None: ``tz``. The transfers are read in it (:func:`labforensics.transfers.read_transfers`,
        the attribution's links).
    seed : int
        Seed of every seeded randomness of the run (detectors' fit samples, IForest).
    key_file : pathlib.Path or None
        Absolute path of the case key file, when the case names one.
    networks : labforensics.networks.NetworkMap
        The ``[networks]`` section: ``lab`` (every lab), ``vendor``, and
        ``[networks.by_lab]`` (blocks of one lab, added to ``lab`` for that lab).
    account_kinds : dict of str to str
        Account -> kind (``[accounts]`` gives ``vendor`` and ``service``; any of
        :data:`labforensics.schema.ACCOUNT_KINDS` in code), keyed by the canonical
        (NFC, :func:`labforensics.identity.canonical_account`) account. Matched to the
        evidence's accounts after NFC and case folding, as the authorisation register
        matches them (``TECH.A`` gives ``tech.a`` its kind; exact names, no patterns).
    lab_aliases : dict of str to str
        Alias (FINESS) -> lab code (``[[labs]]``).
    sections : dict
        Raw mapping of each stage section (``sessions``, ``features``, ...); read by
        :func:`params_from_case` and :func:`labforensics.ingest.options.ingest_options`.
    evidence, leak, transfers : paths, optional
        Absolute paths named by the ``[evidence]`` section (``leak`` also by
        ``[leak] dump``: a dump of people or a list of identifiers).
    patient_index : tuple of pathlib.Path
        ``[leak] patient_index``: the labs' patient indexes (files or folders),
        valid without a dump.
    leak_mappings : tuple of pathlib.Path
        ``[leak] mappings``: column mapping TOML files of the dump and indexes.
    sighted_at : pandas.Timestamp or None
        ``[leak] sighted_at``: first public sighting of the leak (UTC); a
        ``yyyy-mm-dd`` date is the start of that local day in ``tz``.
    path : pathlib.Path or None
        The case file itself.
    authorisations : pathlib.Path or None
        ``[authorisations] register``: the authorisation register (CSV,
        ``shared/formats/authorisations.md``), absolute.

    Raises
    ------
    ParameterError
        On an unknown time zone, an unknown account kind, or two spellings of one
        account with different kinds.
    """

    name: str = "Investigation"
    tz: str = DEFAULT_TZ
    seed: int = 0
    key_file: Path | None = None
    networks: NetworkMap = field(default_factory=NetworkMap)
    account_kinds: Mapping[str, str] = field(default_factory=dict)
    lab_aliases: Mapping[str, str] = field(default_factory=dict)
    sections: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    evidence: tuple[Path, ...] = ()
    leak: Path | None = None
    transfers: Path | None = None
    path: Path | None = None
    patient_index: tuple[Path, ...] = ()
    leak_mappings: tuple[Path, ...] = ()
    sighted_at: pd.Timestamp | None = None
    authorisations: Path | None = None
    transfers_tz: str | None = None

    def __post_init__(self) -> None:
        _check_tz(self.tz)
        if self.transfers_tz is not None:
            _check_tz(self.transfers_tz, "transfers_tz")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ParameterError(f"CaseContext.seed = {self.seed!r}: must be an integer >= 0")
        if not isinstance(self.networks, NetworkMap):
            raise ParameterError(
                f"CaseContext.networks must be a labforensics.networks.NetworkMap, got "
                f"{type(self.networks).__name__}"
            )
        object.__setattr__(self, "account_kinds", _canonical_kinds(self.account_kinds))
        object.__setattr__(self, "lab_aliases", dict(sorted(self.lab_aliases.items())))
        object.__setattr__(self, "evidence", tuple(self.evidence))
        object.__setattr__(self, "patient_index", tuple(self.patient_index))
        object.__setattr__(self, "leak_mappings", tuple(self.leak_mappings))
        if self.sighted_at is not None:
            object.__setattr__(self, "sighted_at", parse_sighted_at(self.sighted_at, self.tz))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> CaseContext:
        """Read a ``case.toml`` (see :func:`load_case`)."""
        return load_case(path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe facts (no absolute path: file names only)."""
        nets = self.networks
        out = {
            "name": self.name,
            "tz": self.tz,
            "seed": self.seed,
            "key_file": self.key_file.name if self.key_file else None,
            "networks": {
                "lab": [str(n) for n in nets.lab],
                "vendor": [str(n) for n in nets.vendor],
                "by_lab": {k: [str(n) for n in v] for k, v in nets.by_lab.items()},
            },
            "account_kinds": dict(self.account_kinds),
            "lab_aliases": dict(self.lab_aliases),
            "sections": {k: dict(v) for k, v in self.sections.items()},
        }
        if self.sighted_at is not None:  # only when given: older findings keep their bytes
            out["sighted_at"] = self.sighted_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.authorisations is not None:  # only when given, file name only
            out["authorisations"] = Path(self.authorisations).name
        if self.transfers_tz is not None:  # only when given: older findings keep their bytes
            out["transfers_tz"] = self.transfers_tz
        return out

    @property
    def transfer_zone(self) -> str:
        """The zone the FTP transfer log is read in: ``transfers_tz``, else ``tz``."""
        return self.transfers_tz or self.tz


def parse_sighted_at(value: Any, tz: str) -> pd.Timestamp:
    """The first public sighting of a leak as a UTC timestamp.

    ``yyyy-mm-dd`` (string or TOML date) is the start of that local day in ``tz``;
    an ISO 8601 time must carry its UTC offset (``2021-02-10T09:30:00+01:00``).

    Raises
    ------
    ParameterError
        Another shape, or a time without an offset.
    """
    import datetime as _dt

    if isinstance(value, pd.Timestamp) and value.tzinfo is not None:
        return value.tz_convert("UTC")
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise ParameterError(
                f"[leak] sighted_at = {value!r}: a time needs its UTC offset "
                "(2021-02-10T09:30:00+01:00), or give a date yyyy-mm-dd"
            )
        return pd.Timestamp(value).tz_convert("UTC")
    if isinstance(value, _dt.date):
        return pd.Timestamp(value).tz_localize(tz).tz_convert("UTC")
    if isinstance(value, str):
        v = value.strip()
        if len(v) == 10:
            try:
                return pd.Timestamp(_dt.date.fromisoformat(v)).tz_localize(tz).tz_convert("UTC")
            except ValueError:
                pass
        else:
            try:
                t = _dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                t = None
            if t is not None:
                return parse_sighted_at(t, tz)
    raise ParameterError(
        f"[leak] sighted_at = {value!r}: write yyyy-mm-dd (local day) or an ISO 8601 time "
        "with its offset (2021-02-10T09:30:00+01:00)"
    )


def resolve_fact(name: str, given: Any, case: CaseContext | None, where: str) -> Any:
    """A case fact for a function that takes it both as its own keyword and as ``case=``.

    ``given`` (the keyword) when ``case`` is None; ``case.<name>`` when the keyword is
    None; either when they agree. ``tz`` falls back to :data:`DEFAULT_TZ` when
    neither is given.

    Raises
    ------
    ParameterError
        When the keyword and the case give different values (naming both).
    """
    if case is None:
        return DEFAULT_TZ if given is None and name == "tz" else given
    fact = getattr(case, name)
    if given is None or given == fact:
        return fact
    raise ParameterError(
        f"{where}: {name}={given!r} contradicts case.{name}={fact!r}; give one of them"
    )


def case_key_of(given: Any, case: CaseContext | None) -> Any:
    """The case key to use: the one ``given``, else the case file's ``key_file``, else None.

    None lets :func:`labforensics.privacy.load_case_key` fall back to
    ``$LABFORENSICS_CASE_KEY`` (then a random key, with a warning).
    """
    if given is not None:
        return given
    return case.key_file if case is not None else None


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ParameterError(f"{where} must be a list of strings, got {value!r}")


def _read_toml(p: Path) -> dict[str, Any]:
    try:
        raw = p.read_bytes()
        if b"\x00" in raw and raw[:2] not in (b"\xff\xfe", b"\xfe\xff"):
            raise ParameterError(
                f"case file {p} is binary (it holds NUL bytes); expected a TOML text file "
                "(UTF-8, or UTF-16 with a byte-order mark)"
            )
        # UTF-16 with a BOM is what some editors save as "Unicode text": read, not refused
        enc = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
        data = tomllib.loads(raw.decode(enc))
    except OSError as exc:
        raise ParameterError(f"cannot read case file {p}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"case file {p} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise ParameterError(
            f"case file {p}: unknown section(s) {unknown}; known: {sorted(_KNOWN)}"
        )
    for name in _KNOWN - {"labs"}:
        if name in data and not isinstance(data[name], dict):
            raise ParameterError(f"case file {p}: [{name}] must be a table, got {data[name]!r}")
    if "labs" in data and not isinstance(data["labs"], list):
        raise ParameterError(f"case file {p}: labs must be [[labs]] tables")
    for s in _SECTIONS:
        _refuse_moved(data.get(s, {}), s, f"case file {p}")
    return data


def _refuse_moved(own: Mapping[str, Any], section: str, where: str) -> None:
    """Refuse a case fact written in a stage section, naming where it moved."""
    for k in sorted(own):
        if k in MOVED_KEYS:
            raise ParameterError(
                f"{where}: [{section}] {k} is a case fact: write it as {MOVED_KEYS[k]}"
            )


def _networks(nets: dict[str, Any], p: Path, aliases: Mapping[str, str]) -> NetworkMap:
    unknown = sorted(set(nets) - _NETWORK_KEYS)
    if unknown:
        raise ParameterError(
            f"case file {p}: [networks] has unknown key(s) {unknown}; known: "
            f"{sorted(_NETWORK_KEYS)} (per-lab blocks go in [networks.by_lab])"
        )
    by_lab = nets.get("by_lab", {})
    if not isinstance(by_lab, dict):
        raise ParameterError(f"case file {p}: [networks.by_lab] must be a table lab = [blocks]")
    rows = {str(k): _strs(v, f"{p}: networks.by_lab.{k}") for k, v in by_lab.items()}
    return NetworkMap(
        lab=_strs(nets.get("lab"), f"{p}: networks.lab"),
        vendor=_strs(nets.get("vendor"), f"{p}: networks.vendor"),
        by_lab=resolve_by_lab(rows, aliases, p),  # a FINESS or alias key: its lab's code
    )


def _account_kinds(accts: dict[str, Any], p: Path) -> dict[str, str]:
    unknown = sorted(set(accts) - set(_ACCOUNT_KINDS))
    if unknown:
        raise ParameterError(
            f"case file {p}: [accounts] has unknown key(s) {unknown}; known: {list(_ACCOUNT_KINDS)}"
        )
    lists = {k: _strs(accts.get(k), f"{p}: accounts.{k}") for k in _ACCOUNT_KINDS}
    return account_kinds_of(lists, p)


#: The keys each fact section of a case file may hold (stage sections are checked
#: against their parameters class, ``[networks]``, ``[accounts]`` and ``[leak]`` by their
#: own readers): a typo such as ``timezone`` for ``tz`` must not silently fall back
#: to a default that shifts every time.
_SECTION_KEYS = {
    "case": ("name", "tz", "transfers_tz", "seed", "key_file"),
    "evidence": ("paths", "leak", "transfers"),
}
_LAB_KEYS = ("code", "finess", "aliases")


def _no_unknown_keys(data: Mapping[str, Any], p: Path) -> None:
    """Refuse unknown keys in ``[case]``, ``[evidence]`` and each ``[[labs]]`` entry.

    Raises
    ------
    ParameterError
        Naming the file, the section, the unknown keys and the known ones.
    """
    for section, known in _SECTION_KEYS.items():
        unknown = sorted(set(data.get(section, {})) - set(known))
        if unknown:
            raise ParameterError(
                f"case file {p}: [{section}] has unknown key(s) {unknown}; known: {list(known)}"
            )
    for i, lab in enumerate(data.get("labs", [])):
        unknown = sorted(set(lab) - set(_LAB_KEYS)) if isinstance(lab, dict) else []
        if unknown:
            raise ParameterError(
                f"case file {p}: [[labs]] entry {i + 1} has unknown key(s) {unknown}; "
                f"known: {list(_LAB_KEYS)}"
            )


def load_case(path: str | os.PathLike[str] | CaseContext | None) -> CaseContext:
    """Read a ``case.toml`` (``CaseContext()`` for None; a CaseContext is returned as is).

    Raises
    ------
    ParameterError
        When the file cannot be read, is not TOML, holds an unknown section or key,
        a value of the wrong type (the message names the file and the key), or a
        case fact in a stage section (naming where it moved, :data:`MOVED_KEYS`).
    """
    if path is None:
        return CaseContext()
    if isinstance(path, CaseContext):
        return path
    p = Path(path).resolve()
    data = _read_toml(p)
    base = p.parent

    def get(section: str, key: str, hint: Any, default: Any = None) -> Any:
        sec = data.get(section, {})
        if key not in sec:
            return default
        return _check_value(sec[key], hint, f"case file {p}, [{section}]", key)

    _no_unknown_keys(data, p)
    entries: list[tuple[str, tuple[str, ...]]] = []
    for i, lab in enumerate(data.get("labs", [])):
        if not isinstance(lab, dict) or "code" not in lab:
            raise ParameterError(f"case file {p}: [[labs]] entry {i + 1} needs a 'code'")
        names = _strs(lab.get("finess"), f"{p}: labs[{i}].finess") + _strs(
            lab.get("aliases"), f"{p}: labs[{i}].aliases"
        )
        entries.append((str(lab["code"]), names))
    aliases = check_labs(entries, p)  # one code, one FINESS per lab, canonical (QA 11, 13)
    ev = data.get("evidence", {})
    name = get("case", "name", str, p.parent.name)
    tz = get("case", "tz", str, DEFAULT_TZ)
    transfers_tz = get("case", "transfers_tz", str)
    key_file = get("case", "key_file", str)
    seed = get("case", "seed", int, 0)
    leak = get("evidence", "leak", str)
    lk = data.get("leak", {})
    unknown_leak = sorted(set(lk) - _LEAK_KEYS)
    if unknown_leak:
        raise ParameterError(
            f"case file {p}: [leak] has unknown key(s) {unknown_leak}; known: {sorted(_LEAK_KEYS)}"
        )
    dump = get("leak", "dump", str)
    if dump is not None and leak is not None:
        raise ParameterError(
            f"case file {p}: a leak is named twice ([evidence] leak and [leak] dump); "
            "keep [leak] dump ([evidence] leak is its old alias)"
        )
    leak = dump if dump is not None else leak
    indexes = _strs(lk.get("patient_index"), f"{p}: leak.patient_index")
    maps = _strs(lk.get("mappings"), f"{p}: leak.mappings")
    transfers = get("evidence", "transfers", str)
    unknown_auth = sorted(set(data.get("authorisations", {})) - _AUTHORISATION_KEYS)
    if unknown_auth:
        raise ParameterError(
            f"case file {p}: [authorisations] has unknown key(s) {unknown_auth}; known: "
            f"{sorted(_AUTHORISATION_KEYS)}"
        )
    register = get("authorisations", "register", str)
    try:
        networks = _networks(data.get("networks", {}), p, aliases)
        check_network_overlaps(networks, p)  # an address is the vendor's or a lab's
        return CaseContext(
            name=name,
            tz=tz,
            seed=seed,
            key_file=(base / key_file).resolve() if key_file else None,
            networks=networks,
            account_kinds=_account_kinds(data.get("accounts", {}), p),
            lab_aliases=aliases,
            sections={s: dict(data.get(s, {})) for s in _SECTIONS},
            evidence=tuple((base / e).resolve() for e in _strs(ev.get("paths"), f"{p}: evidence")),
            leak=(base / leak).resolve() if leak else None,
            transfers=(base / transfers).resolve() if transfers else None,
            path=p,
            patient_index=tuple((base / i).resolve() for i in indexes),
            leak_mappings=tuple((base / m).resolve() for m in maps),
            sighted_at=lk.get("sighted_at"),
            authorisations=(base / register).resolve() if register else None,
            transfers_tz=transfers_tz,
        )
    except ParameterError as exc:
        if str(p) in str(exc):
            raise
        raise ParameterError(f"case file {p}: {exc}") from None


def params_from_case(cls: type, case: CaseContext, section: str) -> Any:
    """Build a parameters dataclass from the case file's section ``section`` alone.

    Only the section's own keys are read (each checked against ``cls``'s annotation,
    then by ``cls``'s own constraints); the case's facts are never copied in: the
    stages receive them as ``case=``.

    Raises
    ------
    ParameterError
        When the section names a case fact (naming the section it moved to), a field
        ``cls`` does not have, or a value of the wrong type or out of range.
    """
    own = case.sections.get(section, {})
    where = f"case file {case.path}" if case.path else "case"
    _refuse_moved(own, section, where)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(own) - fields)
    if unknown:
        raise ParameterError(
            f"{where}: [{section}] has unknown key(s) {unknown}; {cls.__name__} fields are "
            f"{sorted(fields)}"
        )
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):  # an annotation that cannot be evaluated: check none
        hints = {}
    where = f"case file {case.path}, [{section}]" if case.path else f"case [{section}]"
    kwargs = {k: _check_value(v, hints.get(k, Any), where, k) for k, v in own.items()}
    try:
        return cls(**kwargs)
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{where}: {exc}") from exc


# --- the case key ------------------------------------------------------------------------


def default_key_file(out: Path) -> Path:
    """``<out>.key`` beside the output folder (never inside it)."""
    return key_file_beside(out)  # the cleanup's: a failed run's new key is removed by it


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both resolved)."""
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


def resolve_case_key(case: CaseContext, out: Path) -> tuple[CaseKey, Path | None]:
    """The case key and the file it lives in.

    Order: the case's ``key_file`` (which must exist: a mistyped name must not
    silently start a new key whose pseudonyms match no earlier run, as
    ``--case-key`` already refuses), ``$LABFORENSICS_CASE_KEY``, then
    ``<out>.key`` beside the output folder (created when absent, reused
    otherwise: the deliberate way to make a new key).

    Returns
    -------
    (CaseKey, pathlib.Path or None)
        The key, and its file (None when it came from the environment).

    Raises
    ------
    CaseKeyError
        When the key file lies inside the output folder, is unreadable, or is the
        case file's ``key_file`` and does not exist.
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
    if case.key_file is not None and not path.exists():
        raise CaseKeyError(
            f"case key file {path} not found (the case file's [case] key_file): a new "
            "key would give pseudonyms that match no earlier run. Fix the path; for a new "
            "case, leave key_file out of the case file: the run then creates its key "
            f"beside the output folder ({default_key_file(out).name}), to name in "
            "key_file afterwards"
        )
    if path.exists():
        return CaseKey.from_file(path), path
    CaseKey.random().write(path)
    # read back: the key of this case is now the file's (origin "file:..."), not a throw-away
    return CaseKey.from_file(path), path
