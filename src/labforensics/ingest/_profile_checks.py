"""Validation of a profile's TOML table, section by section.

Each check returns the section's values or raises a :class:`ProfileError` naming the key at
fault and the fix; :func:`labforensics.ingest.profiles.profile_from_dict` runs them in
order and builds the :class:`~labforensics.ingest.profiles.Profile`.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ProfileError
from ..schema import ACCOUNT_KINDS, ACTIONS, LIS_ACTION_CODES, ROLE_ACCOUNT_KIND, SESSION_RULES
from ._timeformats import _DIRECTIVES, EPOCH_UNITS, ISO8601

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


def _check_basics(src: str, data: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """``name``, ``encoding``, ``separator``, ``quote`` and ``format`` checked."""
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
    return name, encoding, sep, quote, kind


def _check_fields(src: str, data: dict[str, Any], kind: str) -> tuple[list[str], bool, str | None]:
    """The field names (``header``, ``fields`` or the pattern's groups), whether the files
    have a header line, and the regex profile's pattern."""
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
    return header, has_header, line_pattern


def _check_missing_rule(src: str, data: dict[str, Any], kind: str) -> tuple[list[str], str]:
    """``missing`` (regex profiles' absent values) and ``session_rule`` checked."""
    missing = data.get("missing", [])
    if not isinstance(missing, list) or not all(isinstance(v, str) for v in missing):
        raise _err(src, "missing", "must be a list of strings", 'write missing = ["-"]')
    if missing and kind != "regex":
        raise _err(src, "missing", "is for regex profiles", "drop it (CSV: an empty field)")
    session_rule = data.get("session_rule", "idle")
    if session_rule not in SESSION_RULES:
        raise _err(src, "session_rule", f"is {session_rule!r}", f"use one of {list(SESSION_RULES)}")
    return missing, session_rule


def _check_columns(
    src: str, data: dict[str, Any], header: list[str], has_header: bool
) -> tuple[dict[str, str], dict[str, str]]:
    """``[columns]``: canonical column -> source column, and the constants (``=value``)."""
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
    return columns, constants


def _check_timestamp(
    src: str, data: dict[str, Any], header: list[str], kind: str
) -> dict[str, str]:
    """``[timestamp]`` checked: the :class:`TimestampSpec` fields (and the keys of ``[timestamp]``, ``[outcome]``, ``[numbers]``)."""
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
        spec = dict(
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
        spec = dict(
            date_column=ts["date_column"],
            date_format=_check_format(
                src, "timestamp.date_format", ts["date_format"], month_names=regex
            ),
            time_column=ts["time_column"],
            time_format=_check_format(src, "timestamp.time_format", ts["time_format"]),
        )
    return spec


def _check_outcome_numbers(
    src: str, data: dict[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """``[outcome]`` success and failure values (upper case) and ``[numbers]`` digit grouping."""
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
    return succ, fail, grouping


def _check_actions(
    src: str, data: dict[str, Any], constants: dict[str, str]
) -> dict[str, tuple[str, str | None, str | None]]:
    """Action code (upper case) -> (action, DICOM event id, DICOM event type): the LIS
    table, then ``[actions]``, then a constant action."""
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
    return codes


def _check_roles(src: str, data: dict[str, Any]) -> dict[str, str]:
    """Role (upper case) -> account kind: the built-in table, then ``[roles]``."""
    roles = {k.upper(): v for k, v in ROLE_ACCOUNT_KIND.items()}
    for role, account_kind in data.get("roles", {}).items():
        if account_kind not in ACCOUNT_KINDS:
            raise _err(
                src, f"roles.{role}", f"is {account_kind!r}", f"use one of {list(ACCOUNT_KINDS)}"
            )
        roles[role.upper()] = account_kind
    return roles


def _check_rows(src: str, data: dict[str, Any]) -> tuple[str | None, str | None, bool]:
    """``file_pattern`` and ``row_start`` (valid regexes) and ``rotation`` checked."""
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
    return pattern, row_start, rotation


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
