"""Declarative profiles for delimited LIS audit exports (TOML files).

No vendor publishes its audit layout, so a real export is mapped with a
*profile*: a small TOML file, no code. The two built-in profiles
(``legacy`` and ``current``, in ``labforensics/ingest/profiles/``) are the
contract of ``shared/formats/lis-audit-csv.md``; copy one and edit it.
Use it with ``read_evidence(paths, profile="my_export.toml")`` (or
``profile="legacy"``): every CSV is then read with it instead of being sniffed.

Profile file format
-------------------
Top-level keys:

``name`` (str, required)
    Short name, recorded in ``source_format`` as ``lis_<name>`` for built-ins
    and ``lis_profile`` for a user file.
``encoding`` (str, default ``"utf-8-sig"``)
    A Python codec: ``"cp1252"`` (Windows-1252, not Latin-1), ``"utf-8"``,
    ``"utf-8-sig"`` (strips a BOM). Undecodable bytes become U+FFFD.
``separator`` (one ASCII character, default ``";"``), ``quote`` (one ASCII
character, default ``'"'``; a quote inside a quoted field is doubled).
``header`` (list of str, required)
    The header line's column names, exactly and in order. It is how files are
    recognised, how repeated headers are found, and the expected field count.
``file_pattern`` (regex, optional)
    Matched against the file name; named groups ``lab`` and ``date`` give the
    file's lab and date (files are ordered by that date, then path). A row with
    no lab takes ``read_evidence(lab=...)``, else the file name's lab, else
    ``UNKNOWN`` (reported).
``file_date_format`` (strftime format of the ``date`` group, default ``"%Y%m%d"``).
``rotation`` (bool, default true)
    Daily files may overlap after log rotation; duplicates between
    consecutive files of one lab are removed.
``row_start`` (regex, optional)
    What a physical line that begins a new row looks like; a quoted field left
    open is cut before such a line. Default: built from the timestamp format
    when the timestamp is the first column.

``[columns]`` (required): canonical name = source column name. Canonical names:
``lab``, ``site``, ``account``, ``role``, ``host``, ``src_ip``, ``module``,
``action``, ``outcome``, ``ipp``, ``request``, ``records``, ``bytes``,
``app_session``, ``message_id``, ``detail``. ``account`` and ``action`` are
required. Source columns not mapped are ignored.

``[timestamp]`` (required), either
    ``date_column``, ``date_format``, ``time_column``, ``time_format``: a date
    column and a time column (e.g. ``"%d/%m/%Y"`` and ``"%H:%M:%S"``) in local
    wall-clock time of ``read_evidence(tz=...)``; or
    ``column`` and ``format``: one column; ``format = "iso8601"`` means
    ``%Y-%m-%dT%H:%M:%S%z`` (fraction of seconds and ``Z`` accepted). A format
    with ``%z`` gives an exact instant; one without is local wall-clock time.
    Directives: ``%Y %m %d %H %M %S %z``; anything else is literal. Parsing is
    exact: ``02/13/2019`` is not a date in ``%d/%m/%Y`` (never guessed
    month-first).

``[outcome]``: ``success`` and ``failure``, lists of the values written
(compared case-insensitively; default ``["OK", "succes", "success"]`` and
``["KO", "echec", "failure"]``).

``[numbers]``: ``digit_grouping`` (bool, default true): ``records`` and
``bytes`` may be written ``12 500`` (space, no-break space or narrow no-break
space between groups of exactly 3 digits).

``[actions]`` (optional): extra or overriding action codes,
``CODE = "canonical action"`` or ``CODE = ["action", "dicom_event_id",
"dicom_event_type"]``; codes compare case-insensitively. The defaults are
:data:`labforensics.schema.LIS_ACTION_CODES`. Unknown codes become action
``other`` (``action_raw`` keeps the code) and are counted in the report.

``[roles]`` (optional): ``ROLE = "staff" | "vendor" | "service" | "unknown"``,
added to :data:`labforensics.schema.ROLE_ACCOUNT_KIND`.

Errors in a profile raise :class:`labforensics.errors.ProfileError` naming the
file, the key and the fix.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ProfileError
from ..schema import ACCOUNT_KINDS, ACTIONS, LIS_ACTION_CODES, ROLE_ACCOUNT_KIND

__all__ = [
    "BUILTIN_PROFILES",
    "CANONICAL_COLUMNS",
    "Profile",
    "TimestampSpec",
    "load_profile",
]

BUILTIN_PROFILES: tuple[str, ...] = ("legacy", "current")
CANONICAL_COLUMNS: tuple[str, ...] = (
    "lab",
    "site",
    "account",
    "role",
    "host",
    "src_ip",
    "module",
    "action",
    "outcome",
    "ipp",
    "request",
    "records",
    "bytes",
    "app_session",
    "message_id",
    "detail",
)
ISO8601 = "%Y-%m-%dT%H:%M:%S%z"
_DIRECTIVES = set("YmdHMSz")
_TOP_KEYS = {
    "name",
    "description",
    "encoding",
    "separator",
    "quote",
    "header",
    "file_pattern",
    "file_date_format",
    "rotation",
    "row_start",
    "columns",
    "timestamp",
    "outcome",
    "numbers",
    "actions",
    "roles",
}


@dataclass(frozen=True)
class TimestampSpec:
    """Where the time of a row is and how it is written.

    Either ``column``/``format`` (one column) or the four ``date_*``/``time_*``
    fields (two columns). ``has_offset`` is True when the format holds ``%z``.
    """

    column: str | None = None
    format: str | None = None
    date_column: str | None = None
    date_format: str | None = None
    time_column: str | None = None
    time_format: str | None = None

    @property
    def has_offset(self) -> bool:
        return self.format is not None and "%z" in self.format

    @property
    def first_column(self) -> str:
        return self.column if self.column is not None else str(self.date_column)


@dataclass(frozen=True)
class Profile:
    """A delimited audit export layout (see the module docstring for the file format)."""

    name: str
    header: tuple[str, ...]
    columns: dict[str, str]
    timestamp: TimestampSpec
    encoding: str = "utf-8-sig"
    separator: str = ";"
    quote: str = '"'
    description: str = ""
    file_pattern: str | None = None
    file_date_format: str = "%Y%m%d"
    rotation: bool = True
    row_start: str | None = None
    success_values: tuple[str, ...] = ("OK", "SUCCES", "SUCCESS")
    failure_values: tuple[str, ...] = ("KO", "ECHEC", "FAILURE")
    digit_grouping: bool = True
    action_codes: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    role_kinds: dict[str, str] = field(default_factory=dict)
    source: str = ""
    builtin: bool = False

    @property
    def header_line(self) -> str:
        return self.separator.join(self.header)

    def header_bytes(self) -> bytes:
        """The header line encoded as in the file (no BOM, no line end)."""
        enc = "utf-8" if self.encoding.lower().replace("_", "-") == "utf-8-sig" else self.encoding
        return self.header_line.encode(enc, errors="replace")

    def file_lab_date(self, name: str) -> tuple[str | None, dt.date | None]:
        """Lab (upper case) and date from a file name, per ``file_pattern``."""
        if not self.file_pattern:
            return None, None
        m = re.search(self.file_pattern, name)
        if not m:
            return None, None
        groups = m.groupdict()
        lab = groups.get("lab")
        date = None
        if groups.get("date"):
            try:
                date = _parse_date(groups["date"], self.file_date_format)
            except ValueError:
                date = None
        return (lab.upper() if lab else None), date

    def row_start_regex(self) -> re.Pattern[bytes] | None:
        """Bytes regex of a line that starts a row (``^`` anchored, multi-line)."""
        if self.row_start:
            pat = self.row_start.lstrip("^")
        else:
            ts = self.timestamp
            first = self.header[0]
            if first == ts.column and ts.format:
                pat = format_regex(ts.format, groups=False)
            elif first == ts.date_column and ts.date_format:
                pat = format_regex(ts.date_format, groups=False)
            else:
                return None
            pat += re.escape(self.separator)
        return re.compile(b"(?m)^(?:" + pat.encode() + b")")


@lru_cache(maxsize=65536)
def _parse_date(text: str, fmt: str) -> dt.date:
    """``strptime`` of a file name's date (cached: daily files of many labs share dates)."""
    return dt.datetime.strptime(text, fmt).date()


def format_regex(fmt: str, *, groups: bool = True) -> str:
    """Strict regex for a strftime-like format (directives ``%Y %m %d %H %M %S %z``)."""
    out = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            i += 2
            if d == "Y":
                body = r"\d{4}"
            elif d in "mdHMS":
                body = r"\d{2}"
            elif d == "z":
                body = r"Z|[+-]\d{2}:?\d{2}"
            elif d == "%":
                out.append("%")
                continue
            else:
                raise ProfileError(f"format {fmt!r}: directive %{d} is not supported")
            out.append(f"(?P<{d}>{body})" if groups else f"(?:{body})")
            if d == "S":
                out.append(r"(?:[.,](?P<f>\d{1,9}))?" if groups else r"(?:[.,]\d{1,9})?")
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def human_format(fmt: str) -> str:
    """``%d/%m/%Y`` -> ``dd/mm/yyyy`` (for messages)."""
    table = {
        "%Y": "yyyy",
        "%m": "mm",
        "%d": "dd",
        "%H": "HH",
        "%M": "MM",
        "%S": "SS",
        "%z": "+hh:mm",
    }
    if fmt == ISO8601:
        return "ISO 8601 with offset, yyyy-mm-ddTHH:MM:SS+hh:mm"
    for k, v in table.items():
        fmt = fmt.replace(k, v)
    return fmt


def _err(src: str, key: str, problem: str, fix: str) -> ProfileError:
    return ProfileError(f"profile {src}: key {key!r} {problem}; fix: {fix}")


def _check_format(src: str, key: str, fmt: Any) -> str:
    if not isinstance(fmt, str) or not fmt:
        raise _err(src, key, "must be a non-empty string", 'write e.g. "%d/%m/%Y"')
    if fmt.lower() == "iso8601":
        return ISO8601
    for m in re.finditer(r"%(.)", fmt):
        if m.group(1) not in _DIRECTIVES and m.group(1) != "%":
            raise _err(
                src,
                key,
                f"uses the unsupported directive %{m.group(1)}",
                "use only %Y %m %d %H %M %S %z (anything else is literal text)",
            )
    return fmt


def profile_from_dict(data: dict[str, Any], source: str = "<dict>") -> Profile:
    """Build and validate a :class:`Profile` from parsed TOML.

    Raises
    ------
    ProfileError
        Naming the key at fault and the fix.
    """
    src = source
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _err(
            src,
            sorted(unknown)[0],
            "is not a profile key",
            f"use only {sorted(_TOP_KEYS)} (see labforensics.ingest.profiles)",
        )
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
        raise _err(src, "name", "is missing or not a simple name", 'add name = "my_export"')
    encoding = data.get("encoding", "utf-8-sig")
    try:
        "".encode(encoding)
    except (LookupError, TypeError):
        raise _err(
            src, "encoding", f"{encoding!r} is not a known codec", 'use "cp1252" or "utf-8-sig"'
        ) from None
    sep = data.get("separator", ";")
    quote = data.get("quote", '"')
    for key, val in (("separator", sep), ("quote", quote)):
        if not isinstance(val, str) or len(val) != 1 or ord(val) > 127 or val in "\r\n":
            raise _err(src, key, f"must be one ASCII character, got {val!r}", 'write ";" or \'"\'')
    if sep == quote:
        raise _err(src, "quote", "equals the separator", "give two different characters")
    header = data.get("header")
    if (
        not isinstance(header, list)
        or not header
        or not all(isinstance(h, str) and h for h in header)
    ):
        raise _err(
            src,
            "header",
            "must be the list of the header line's column names",
            'write header = ["DATE", "HEURE", ...] exactly as in the file',
        )
    if len(set(header)) != len(header):
        raise _err(src, "header", "names a column twice", "column names must be unique")
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise _err(src, "columns", "is missing", 'add a [columns] table: account = "LOGIN" ...')
    for canon, col in columns.items():
        if canon not in CANONICAL_COLUMNS:
            raise _err(
                src,
                f"columns.{canon}",
                "is not a canonical column",
                f"use one of {list(CANONICAL_COLUMNS)}",
            )
        if col not in header:
            raise _err(
                src,
                f"columns.{canon}",
                f"names {col!r}, which is not in header",
                "use a name from the header list, spelled exactly",
            )
    for req in ("account", "action"):
        if req not in columns:
            raise _err(src, f"columns.{req}", "is required", f'add {req} = "<source column>"')
    ts = data.get("timestamp")
    if not isinstance(ts, dict):
        raise _err(
            src,
            "timestamp",
            "is missing",
            "add [timestamp] with column/format, or date_column/date_format/time_column/time_format",
        )
    if "column" in ts:
        if ts["column"] not in header:
            raise _err(src, "timestamp.column", "is not in header", "name a header column")
        spec = TimestampSpec(
            column=ts["column"], format=_check_format(src, "timestamp.format", ts.get("format"))
        )
    else:
        for k in ("date_column", "date_format", "time_column", "time_format"):
            if k not in ts:
                raise _err(
                    src,
                    f"timestamp.{k}",
                    "is missing",
                    "give column + format, or all four of date_column, date_format, "
                    "time_column, time_format",
                )
        for k in ("date_column", "time_column"):
            if ts[k] not in header:
                raise _err(src, f"timestamp.{k}", "is not in header", "name a header column")
        spec = TimestampSpec(
            date_column=ts["date_column"],
            date_format=_check_format(src, "timestamp.date_format", ts["date_format"]),
            time_column=ts["time_column"],
            time_format=_check_format(src, "timestamp.time_format", ts["time_format"]),
        )
    outcome = data.get("outcome", {})
    succ = tuple(str(v).upper() for v in outcome.get("success", ["OK", "succes", "success"]))
    fail = tuple(str(v).upper() for v in outcome.get("failure", ["KO", "echec", "failure"]))
    if set(succ) & set(fail):
        raise _err(
            src, "outcome", "lists a value as both success and failure", "list it in one only"
        )
    numbers = data.get("numbers", {})
    grouping = numbers.get("digit_grouping", True)
    if not isinstance(grouping, bool):
        raise _err(src, "numbers.digit_grouping", "must be true or false", "write true")
    codes: dict[str, tuple[str, str | None, str | None]] = {
        k.upper(): (v[0], v[1], v[2]) for k, v in LIS_ACTION_CODES.items()
    }
    for code, val in data.get("actions", {}).items():
        if isinstance(val, str):
            val = [val, None, None]
        if (
            not isinstance(val, list)
            or not 1 <= len(val) <= 3
            or val[0] not in ACTIONS
            or not all(v is None or isinstance(v, str) for v in val)
        ):
            raise _err(
                src,
                f"actions.{code}",
                f"must be a canonical action or [action, dicom_event_id, dicom_event_type], "
                f"got {val!r}",
                f"use one of {list(ACTIONS)}",
            )
        val = list(val) + [None] * (3 - len(val))
        codes[code.upper()] = (val[0], val[1], val[2])
    roles = {k.upper(): v for k, v in ROLE_ACCOUNT_KIND.items()}
    for role, kind in data.get("roles", {}).items():
        if kind not in ACCOUNT_KINDS:
            raise _err(src, f"roles.{role}", f"is {kind!r}", f"use one of {list(ACCOUNT_KINDS)}")
        roles[role.upper()] = kind
    pattern = data.get("file_pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _err(
                src, "file_pattern", f"is not a valid regex ({exc})", "fix the regex"
            ) from None
    row_start = data.get("row_start")
    if row_start is not None:
        try:
            re.compile(row_start.encode())
        except (re.error, AttributeError) as exc:
            raise _err(src, "row_start", f"is not a valid regex ({exc})", "fix the regex") from None
    rotation = data.get("rotation", True)
    if not isinstance(rotation, bool):
        raise _err(src, "rotation", "must be true or false", "write true or false")
    return Profile(
        name=name,
        header=tuple(header),
        columns=dict(columns),
        timestamp=spec,
        encoding=encoding,
        separator=sep,
        quote=quote,
        description=str(data.get("description", "")),
        file_pattern=pattern,
        file_date_format=str(data.get("file_date_format", "%Y%m%d")),
        rotation=rotation,
        row_start=row_start,
        success_values=succ,
        failure_values=fail,
        digit_grouping=grouping,
        action_codes=codes,
        role_kinds=roles,
        source=src,
    )


_CACHE: dict[str, Profile] = {}


def load_profile(profile: str | os.PathLike[str] | Profile) -> Profile:
    """Load a built-in profile by name (``"legacy"``, ``"current"``) or a TOML file.

    Parameters
    ----------
    profile : str, path-like or Profile
        A built-in name, the path of a ``.toml`` profile file, or a Profile.

    Returns
    -------
    Profile

    Raises
    ------
    ProfileError
        When the name is unknown, the file unreadable or not TOML, or a key invalid.
    """
    if isinstance(profile, Profile):
        return profile
    text = os.fspath(profile)
    if text in BUILTIN_PROFILES:
        if text not in _CACHE:
            res = resources.files("labforensics.ingest").joinpath("profiles", f"{text}.toml")
            data = tomllib.loads(res.read_text(encoding="utf-8"))
            prof = profile_from_dict(data, source=f"built-in {text}")
            _CACHE[text] = Profile(**{**prof.__dict__, "builtin": True})
        return _CACHE[text]
    path = Path(text)
    if not path.is_file():
        raise ProfileError(
            f"profile {text!r} is neither a built-in ({', '.join(BUILTIN_PROFILES)}) nor a "
            "file; give a built-in name or the path of a .toml profile file"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(
            f"profile file {path} cannot be read as TOML: {exc}; fix its syntax"
        ) from exc
    return profile_from_dict(data, source=str(path))
