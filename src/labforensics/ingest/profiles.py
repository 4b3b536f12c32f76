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

from ..errors import ProfileError
from ._profile_checks import (
    CANONICAL_COLUMNS,
    _check_actions,
    _check_basics,
    _check_columns,
    _check_fields,
    _check_missing_rule,
    _check_outcome_numbers,
    _check_roles,
    _check_rows,
    _check_timestamp,
    _err,
)
from ._timeformats import (
    EPOCH_UNITS,
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
    name, encoding, sep, quote, kind = _check_basics(src, data)
    header, has_header, line_pattern = _check_fields(src, data, kind)
    missing, session_rule = _check_missing_rule(src, data, kind)
    columns, constants = _check_columns(src, data, header, has_header)
    spec = TimestampSpec(**_check_timestamp(src, data, header, kind))
    succ, fail, grouping = _check_outcome_numbers(src, data)
    codes = _check_actions(src, data, constants)
    roles = _check_roles(src, data)
    pattern, row_start, rotation = _check_rows(src, data)
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
