r"""Declarative profiles (TOML files) for LIS audit exports and other access logs.

No vendor publishes its audit layout, so a real export is mapped with a
*profile*: a small TOML file, no code. The two built-in profiles
(``legacy`` and ``current``, in ``labforensics/ingest/profiles/``) are the
contract of ``shared/formats/lis-audit-csv.md``; copy one and edit it.
Use it with ``read_evidence(paths, profile="my_export.toml")`` (or
``profile="legacy"``, or a list of several profiles): each file is read with the
profile that recognises it (see *Choosing a profile per file* below).

Profile file format
-------------------
Top-level keys:

``name`` (str, required)
    Short name, recorded in ``source_format`` as ``lis_<name>`` for built-ins
    and ``profile:<name>`` for a user file (two profiles of one run must have
    different names).
``format`` (``"csv"`` (default) or ``"regex"``)
    ``"csv"``: delimited text, one record a row (quoted fields may span lines).
    ``"regex"``: one event a line, read with ``pattern`` (below); for logs that
    are not delimited, such as a web server's access log.
``pattern`` (regex, required with ``format = "regex"``, forbidden otherwise)
    One pattern anchored at both ends (``^...$``) whose *named groups* are the
    fields (``(?P<host>[^ ]+)``); used in ``[columns]`` and ``[timestamp]`` like a
    CSV header's names. It must be valid for both Python's :mod:`re` and RE2
    (pyarrow's engine, which matches all lines at once): no look-around, no
    back-references. A line that does not match is quarantined with its line
    number; a blank line is counted as ignored.
``missing`` (list of str, regex profiles only, default ``[]``)
    Values read as missing (an access log writes ``-`` for "none").
``session_rule`` (``"idle"`` (default) or ``"logon_pairs"``)
    How :func:`labforensics.sessionize` cuts this source's events into
    sessions; recorded per event in the ``session_rule`` column. ``idle``: the
    login/idle-timeout rules meant for event-dense logs. ``logon_pairs``: for
    sources that log only logons and logoffs, a session runs from a logon to
    the next logoff of the same account on the same host, at most
    ``SessionParams.max_duration`` (see :mod:`labforensics.sessions`).
``encoding`` (str, default ``"utf-8-sig"``)
    A Python codec: ``"cp1252"`` (Windows-1252, not Latin-1), ``"utf-8"``,
    ``"utf-8-sig"`` (strips a BOM). Undecodable bytes become U+FFFD.
``separator`` (one ASCII character, default ``";"``), ``quote`` (one ASCII
character, default ``'"'``; a quote inside a quoted field is doubled).
``header`` (list of str, or ``false``; required for CSV)
    The header line's column names, exactly and in order. It is how files are
    recognised, how repeated headers are found, and the expected field count.
    ``header = false``: the file has no header line; then ``fields`` names the
    columns by position and the profile is chosen by ``file_pattern`` only.
``fields`` (list of str, with ``header = false`` only)
    The names of a header-less file's columns, in order (e.g.
    ``["id", "date", "user", "pc", "activity"]``); used in ``[columns]`` and
    ``[timestamp]`` like a header's names.
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
required. Source columns not mapped are ignored. A value starting with ``=``
is a **constant**, the same for every row: ``action = "=login"`` for a file
that logs only logons, ``lab = "=L01"``. A constant action is a code of the
profile's action table or a canonical action name (``login``, ``read`` ...).
``records``, ``bytes`` and ``ipp`` cannot be constants.

``[timestamp]`` (required), either
    ``date_column``, ``date_format``, ``time_column``, ``time_format``: a date
    column and a time column (e.g. ``"%d/%m/%Y"`` and ``"%H:%M:%S"``) in local
    wall-clock time of ``read_evidence(tz=...)``; or
    ``column`` and ``format``: one column; ``format = "iso8601"`` means
    ``%Y-%m-%dT%H:%M:%S%z`` (fraction of seconds and ``Z`` accepted). A format
    with ``%z`` gives an exact instant; one without is local wall-clock time.
    Directives: ``%Y %m %d %H %M %S %z``, and ``%b`` (English month
    abbreviation, ``Jan`` ... ``Dec``) in regex profiles; anything else is
    literal. Parsing is exact: ``02/13/2019`` is not a date in ``%d/%m/%Y``
    (never guessed month-first).
    **Epoch times**: ``format = "epoch_s"``, ``"epoch_ms"``, ``"epoch_us"`` or
    ``"epoch_ns"``: an integer count of seconds, milliseconds, microseconds or
    nanoseconds since 1970-01-01T00:00:00Z (Unix time; ``epoch_s`` may carry a
    decimal fraction, ``1262414940.25``). The unit is never guessed from the
    number of digits. An epoch time is an exact instant (UTC).

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

Choosing a profile per file
---------------------------
``read_evidence(profile=[a, b, ...])`` (or one profile) chooses, for each file,
the first profile of the list that recognises it (:func:`choose_profile`):

1. by content: a CSV profile with a header whose header line is the file's
   first line (a BOM and CR LF allowed), or a regex profile whose pattern
   matches the file's first non-blank line;
2. else by name: the first profile whose ``file_pattern`` matches the file
   name (this is how header-less profiles are chosen).

A file that no profile recognises goes to the built-in readers' sniffers; if
none recognises it either, it is set aside as *unrecognised*
(``Evidence.report.unrecognised``, with the reason: the profiles tried and its
first line), never quarantined row by row.

Errors in a profile raise :class:`labforensics.errors.ProfileError` naming the
file, the key and the fix.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ProfileError
from ..schema import ACCOUNT_KINDS, ACTIONS, LIS_ACTION_CODES, ROLE_ACCOUNT_KIND, SESSION_RULES
from ._timeformats import (
    _DIRECTIVES,
    EPOCH_UNITS,
    ISO8601,
    _parse_date,
    format_regex,
    parse_epoch,
)

__all__ = [
    "BUILTIN_PROFILES",
    "CANONICAL_COLUMNS",
    "EPOCH_UNITS",
    "EXAMPLE_PROFILES",
    "Profile",
    "TimestampSpec",
    "load_profile",
    "load_profiles",
    "parse_epoch",
]

BUILTIN_PROFILES: tuple[str, ...] = ("legacy", "current")
#: Example profiles shipped with the package (``labforensics/ingest/profiles/<name>.toml``),
#: loadable by name; they are user profiles (``source_format`` ``profile:<name>``), not
#: built-in dialects: they never sniff files on their own.
EXAMPLE_PROFILES: tuple[str, ...] = ("cert-logon", "apache-access")
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
#: Canonical columns that may not be constants (a number or a patient is per row).
_NO_CONSTANT = ("records", "bytes", "ipp")
_TOP_KEYS = {
    "format",
    "pattern",
    "fields",
    "missing",
    "session_rule",
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
        """An exact instant: the format holds ``%z`` or is an epoch time."""
        return self.format is not None and ("%z" in self.format or self.format in EPOCH_UNITS)

    @property
    def epoch_unit(self) -> int | None:
        """Nanoseconds per unit of an epoch format (``epoch_ms`` -> 1,000,000), else None."""
        return EPOCH_UNITS.get(self.format or "")

    @property
    def first_column(self) -> str:
        return self.column if self.column is not None else str(self.date_column)


@dataclass(frozen=True)
class Profile:
    """A log layout (see the module docstring for the file format).

    ``header`` holds the field names: the header line's (``has_header``), a
    header-less file's ``fields``, or a regex profile's named groups (``kind`` is
    ``"csv"`` or ``"regex"``, ``pattern`` the line pattern). ``columns`` maps
    canonical columns to fields, ``constants`` to constant values (``"=login"``
    in the file, stored without the ``=``). ``session_rule`` is recorded per
    event for :func:`labforensics.sessionize`.
    """

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
    has_header: bool = True
    constants: dict[str, str] = field(default_factory=dict)
    kind: str = "csv"
    pattern: str | None = None
    missing_values: tuple[str, ...] = ()
    session_rule: str = "idle"

    @property
    def reader_name(self) -> str:
        """``source_format`` of the rows it reads: ``lis_<name>`` (built-in), ``profile:<name>``."""
        return f"lis_{self.name}" if self.builtin else f"profile:{self.name}"

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
            if first == ts.column and ts.epoch_unit:
                pat = r"-?\d+(?:\.\d+)?"
            elif first == ts.column and ts.format:
                pat = format_regex(ts.format, groups=False)
            elif first == ts.date_column and ts.date_format:
                pat = format_regex(ts.date_format, groups=False)
            else:
                return None
            pat += re.escape(self.separator)
        return re.compile(b"(?m)^(?:" + pat.encode() + b")")


def _err(src: str, key: str, problem: str, fix: str) -> ProfileError:
    return ProfileError(f"profile {src}: key {key!r} {problem}; fix: {fix}")


def _check_format(
    src: str, key: str, fmt: Any, *, epoch: bool = False, month_names: bool = False
) -> str:
    if not isinstance(fmt, str) or not fmt:
        raise _err(src, key, "must be a non-empty string", 'write e.g. "%d/%m/%Y"')
    if fmt.lower() == "iso8601":
        return ISO8601
    if fmt.lower() in EPOCH_UNITS:
        if not epoch:
            raise _err(
                src, key, "is an epoch time", "use epoch formats in [timestamp] column/format"
            )
        return fmt.lower()
    if fmt.lower().startswith("epoch"):
        raise _err(src, key, f"{fmt!r} is not an epoch unit", f"use one of {list(EPOCH_UNITS)}")
    for m in re.finditer(r"%(.)", fmt):
        if m.group(1) == "b" and not month_names:
            raise _err(
                src,
                key,
                "uses %b (month names), read by regex profiles only",
                'use %m, or format = "regex"',
            )
        if m.group(1) not in _DIRECTIVES and m.group(1) not in "%b":
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
    kind = data.get("format", "csv")
    if kind not in ("csv", "regex"):
        raise _err(src, "format", f"is {kind!r}", 'write format = "csv" or format = "regex"')
    line_pattern = data.get("pattern")
    has_header = True
    if kind == "regex":
        header = _check_pattern(src, line_pattern)
        has_header = False
        for k in ("header", "fields"):
            if k in data:
                raise _err(src, k, "is for CSV profiles", "name the fields as the pattern's groups")
    else:
        if line_pattern is not None:
            raise _err(src, "pattern", "is for regex profiles", 'add format = "regex"')
        header = data.get("header")
        if header is False:
            has_header = False
            header = data.get("fields")
            hkey, hfix = "fields", 'write fields = ["id", "date", "user", ...] in column order'
        else:
            if "fields" in data:
                raise _err(
                    src, "fields", "is for header-less files", "add header = false, or drop fields"
                )
            hkey, hfix = "header", 'write header = ["DATE", "HEURE", ...] exactly as in the file'
        if (
            not isinstance(header, list)
            or not header
            or not all(isinstance(h, str) and h for h in header)
        ):
            raise _err(src, hkey, "must be the list of the file's column names", hfix)
        if len(set(header)) != len(header):
            raise _err(src, hkey, "names a column twice", "column names must be unique")
        if not has_header and not data.get("file_pattern"):
            raise _err(
                src,
                "file_pattern",
                "is required for a header-less profile (files are chosen by name)",
                "add file_pattern = '^logon.*\\.csv$' (a regex on the file name)",
            )
    missing = data.get("missing", [])
    if not isinstance(missing, list) or not all(isinstance(v, str) for v in missing):
        raise _err(src, "missing", "must be a list of strings", 'write missing = ["-"]')
    if missing and kind != "regex":
        raise _err(src, "missing", "is for regex profiles", "drop it (CSV: an empty field)")
    session_rule = data.get("session_rule", "idle")
    if session_rule not in SESSION_RULES:
        raise _err(src, "session_rule", f"is {session_rule!r}", f"use one of {list(SESSION_RULES)}")
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise _err(src, "columns", "is missing", 'add a [columns] table: account = "LOGIN" ...')
    constants: dict[str, str] = {}
    for canon, col in columns.items():
        if canon not in CANONICAL_COLUMNS:
            raise _err(
                src,
                f"columns.{canon}",
                "is not a canonical column",
                f"use one of {list(CANONICAL_COLUMNS)}",
            )
        if isinstance(col, str) and col.startswith("=") and len(col) > 1:
            if canon in _NO_CONSTANT:
                raise _err(src, f"columns.{canon}", "cannot be a constant", "name a source column")
            constants[canon] = col[1:]
            continue
        if col not in header:
            raise _err(
                src,
                f"columns.{canon}",
                f"names {col!r}, which is not in {'header' if has_header else 'fields'}",
                "use a name from the header list (or a pattern group), spelled exactly, "
                'or a constant such as "=login"',
            )
    columns = {k: v for k, v in columns.items() if k not in constants}
    for req in ("account", "action"):
        if req not in columns and req not in constants:
            raise _err(src, f"columns.{req}", "is required", f'add {req} = "<source column>"')
    ts = data.get("timestamp")
    if not isinstance(ts, dict):
        raise _err(
            src,
            "timestamp",
            "is missing",
            "add [timestamp] with column/format, or date_column/date_format/time_column/time_format",
        )
    regex = kind == "regex"
    ts_keys = {"column", "format", "date_column", "date_format", "time_column", "time_format"}
    for table, known in (("timestamp", ts_keys), ("outcome", {"success", "failure"}),
                         ("numbers", {"digit_grouping"})):  # fmt: skip
        extra = sorted(set(data.get(table, {})) - known)
        if extra:  # e.g. a top-level key written after a [table] header lands in it
            raise _err(
                src,
                f"{table}.{extra[0]}",
                f"is not a [{table}] key",
                f"use only {sorted(known)} there; a top-level key goes before the first [table]",
            )
    if "column" in ts:
        if ts["column"] not in header:
            raise _err(src, "timestamp.column", "is not in header", "name a header column")
        spec = TimestampSpec(
            column=ts["column"],
            format=_check_format(
                src, "timestamp.format", ts.get("format"), epoch=True, month_names=regex
            ),
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
            date_format=_check_format(
                src, "timestamp.date_format", ts["date_format"], month_names=regex
            ),
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
    if "action" in constants:
        code = constants["action"].upper()
        if code not in codes:
            if constants["action"] not in ACTIONS:
                raise _err(
                    src,
                    "columns.action",
                    f"is the constant {constants['action']!r}, neither an action code nor a "
                    "canonical action",
                    f"use one of {list(ACTIONS)}, or add it to [actions]",
                )
            codes[code] = (constants["action"], None, None)
    roles = {k.upper(): v for k, v in ROLE_ACCOUNT_KIND.items()}
    for role, account_kind in data.get("roles", {}).items():
        if account_kind not in ACCOUNT_KINDS:
            raise _err(
                src, f"roles.{role}", f"is {account_kind!r}", f"use one of {list(ACCOUNT_KINDS)}"
            )
        roles[role.upper()] = account_kind
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
        has_header=has_header,
        constants=constants,
        kind=kind,
        pattern=line_pattern,
        missing_values=tuple(missing),
        session_rule=session_rule,
    )


def _check_pattern(src: str, pattern: Any) -> list[str]:
    """A regex profile's pattern checked (anchored, named groups, RE2-valid): its groups."""
    if not isinstance(pattern, str) or not pattern:
        raise _err(src, "pattern", "is missing", "add pattern = '^(?P<host>\\S+) ...$'")
    if not pattern.startswith("^") or not pattern.endswith("$"):
        raise _err(
            src,
            "pattern",
            "is not anchored at both ends",
            "start it with ^ and end it with $ (a value must never move within a line)",
        )
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise _err(src, "pattern", f"is not a valid regex ({exc})", "fix the regex") from None
    try:  # the same pattern must compile in RE2 (pyarrow), which reads all lines at once
        pc.extract_regex(pa.array(["x"]), pattern=pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _err(
            src,
            "pattern",
            f"is not valid in RE2 ({exc})",
            "avoid look-around and back-references",
        ) from None
    names = list(rx.groupindex)
    if not names:
        raise _err(src, "pattern", "has no named group", "name the fields: (?P<user>\\S+)")
    return names


_CACHE: dict[str, Profile] = {}


def load_profile(profile: str | os.PathLike[str] | Profile) -> Profile:
    """Load a built-in profile by name (``"legacy"``, ``"current"``), an example
    (:data:`EXAMPLE_PROFILES`) by name, or a TOML file.

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
    if text in EXAMPLE_PROFILES:
        if text not in _CACHE:
            res = resources.files("labforensics.ingest").joinpath("profiles", f"{text}.toml")
            data = tomllib.loads(res.read_text(encoding="utf-8"))
            _CACHE[text] = profile_from_dict(data, source=f"example {text}")
        return _CACHE[text]
    path = Path(text)
    if not path.is_file():
        raise ProfileError(
            f"profile {text!r} is neither a built-in ({', '.join(BUILTIN_PROFILES)}), nor an "
            f"example ({', '.join(EXAMPLE_PROFILES)}), nor a file; give one of those names or "
            "the path of a .toml profile file"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(
            f"profile file {path} cannot be read as TOML: {exc}; fix its syntax"
        ) from exc
    return profile_from_dict(data, source=str(path))


def load_profiles(
    profile: str | os.PathLike[str] | Profile | list | tuple | None,
) -> tuple[Profile, ...]:
    """One profile or a list of them, loaded (:func:`load_profile`), in the order given.

    Returns
    -------
    tuple of Profile
        Empty for None.

    Raises
    ------
    ProfileError
        When a profile is invalid, or two different profiles share a name (their
        rows would share a ``source_format``).
    """
    if profile is None:
        return ()
    items = profile if isinstance(profile, list | tuple) else [profile]
    out: list[Profile] = []
    seen: dict[str, Profile] = {}
    for item in items:
        prof = load_profile(item)
        other = seen.get(prof.name)
        if other is not None:
            if other is prof or other == prof:
                continue
            raise ProfileError(
                f"profiles {other.source} and {prof.source} are both named {prof.name!r}; "
                "fix: give each profile its own name (it is recorded in source_format)"
            )
        seen[prof.name] = prof
        out.append(prof)
    return tuple(out)
