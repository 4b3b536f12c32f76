"""Reading the authorisation register (``shared/formats/authorisations.md``).

The register is a ``;``-separated UTF-8 CSV typed by the investigator from the
lab's and vendor's tickets, migration orders and contracts: one row per
authorisation, header
``ticket;lab;account;kind;start;end;scope_patients_since;scope_max_records;destination;purpose``.

Every physical line is accounted for: the header, blank lines, rows read, and
bad lines. Bad lines raise one :class:`RegisterError` listing every problem of
every line, each with the file, the line, the column and the reason (default),
or, with ``errors="quarantine"``, are left out and listed in
``result.attrs["quarantine"]`` (``source_file``, ``source_line``, ``reason``:
the line's problems, ``column: reason`` each, ``; ``-separated).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ..case import DEFAULT_TZ
from ..errors import ParameterError
from ..identity import canonical_account
from ..labcodes import lab_alias_map, resolve_lab
from ..outputs import FORMULA_PREFIXES
from .register_checks import local_instant, ticket_limit_conflicts

__all__ = ["KINDS", "REGISTER_COLUMNS", "REGISTER_HEADER", "RegisterError", "read_authorisations"]

#: The header of a register, in the format document's order.
REGISTER_HEADER: tuple[str, ...] = (
    "ticket",
    "lab",
    "account",
    "kind",
    "start",
    "end",
    "scope_patients_since",
    "scope_max_records",
    "destination",
    "purpose",
)

#: The kinds of work a row may authorise (``authorisations.md``, column ``kind``).
KINDS: tuple[str, ...] = ("migration", "support", "billing", "backup", "interface", "other")

#: Columns (and dtypes) of the table :func:`read_authorisations` returns.
REGISTER_COLUMNS: dict[str, object] = {
    "ticket": "string",
    "lab": "string",  # lab code (an alias resolved), or "*"
    "account": "string",  # the pattern, canonical: NFC, case-folded
    "account_raw": "string",
    "kind": "string",
    "start": "datetime64[ns, UTC]",  # inclusive
    "end": "datetime64[ns, UTC]",  # inclusive (last instant); NaT = open
    "scope_patients_since": "datetime64[ns, UTC]",  # start of that local day; NaT = no limit
    "scope_max_records": "Int64",  # NA = no limit; 0 = none at all
    "destination": "string",  # pattern on the output base name, case-folded; NA = anywhere
    "purpose": "string",
    "start_text": "string",
    "end_text": "string",
    "since_text": "string",
    "source_file": "string",
    "source_line": "int64",
}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?$")


class RegisterError(ParameterError):
    """A line of an authorisation register is not valid (file, line and reason named)."""


def _local_day_start(
    d: dt.date, tz: ZoneInfo, notes: list[str] | None = None, *, later: bool = True
) -> pd.Timestamp:
    """The start of a local day (UTC); a midnight the clock change made ambiguous or
    skipped is read so as not to widen the authorisation, and named in ``notes``."""
    ts, note = local_instant(dt.datetime(d.year, d.month, d.day), tz, later=later)
    if note and notes is not None:
        notes.append(note)
    return ts


def _instant(
    text: str, tz: ZoneInfo, *, end: bool, notes: list[str] | None = None, wide: bool = False
) -> pd.Timestamp:
    """A window bound as a UTC instant; ``end`` gives the last instant of its precision
    (a date: the whole local day; ``HH:MM``: the whole minute; ``HH:MM:SS``: the second).

    A local time with two readings (the repeated fall-back hour) or none (the skipped
    spring-forward hour) takes the one that does not widen the window (a start the
    later, an end the earlier: :func:`.register_checks.local_instant`), named in
    ``notes``; ``wide`` takes the other reading (to tell a window written backwards
    from one the narrow readings empty). Raises ValueError with a readable reason.
    """
    if _DATE.match(text):
        d = dt.date.fromisoformat(text)
        if not end:
            return _local_day_start(d, tz, notes, later=not wide)
        nxt = _local_day_start(d + dt.timedelta(days=1), tz, notes, later=wide)
        return nxt - pd.Timedelta(1, "ns")
    m = _TIME.match(text)
    if not m:
        raise ValueError(
            f"{text!r} is not yyyy-mm-dd, yyyy-mm-ddTHH:MM[:SS] or the same with an offset"
        )
    day, hh, mm, ss, off = m.groups()
    d = dt.date.fromisoformat(day)
    h, mi, s = int(hh), int(mm), int(ss or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"{text!r} is not a valid time of day")
    naive = dt.datetime(d.year, d.month, d.day, h, mi, s)
    if off:
        o = off.replace(":", "")
        zone: dt.tzinfo = (
            dt.UTC
            if o == "Z"
            else dt.timezone(
                (1 if o[0] == "+" else -1) * dt.timedelta(hours=int(o[1:3]), minutes=int(o[3:5]))
            )
        )
        ts = pd.Timestamp(naive.replace(tzinfo=zone)).tz_convert("UTC")
    else:  # local time: a changed hour's reading does not widen the window
        ts, note = local_instant(naive, tz, later=end == wide)
        if note and notes is not None:
            notes.append(note)
    if end:
        ts = ts + (pd.Timedelta(1, "s") if ss is not None else pd.Timedelta(1, "min"))
        ts = ts - pd.Timedelta(1, "ns")
    return ts


def _unclosed_bracket(pattern: str) -> bool:
    """Whether a shell-style pattern opens a ``[`` class it never closes (fnmatch would
    then match the ``[`` literally, silently: almost always a typo in a register)."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if j < 0:
                return True
            i = j
        i += 1
    return False


def _with_value(text: str, exc: Exception) -> str:
    """A reason that names the value (``'2020-13-01': month must be in 1..12``)."""
    why = str(exc)
    return why if repr(text) in why else f"{text!r}: {why}"


def _row(
    cells: dict[str, str],
    tz: ZoneInfo,
    aliases: dict[str, str],
    warn: list[tuple[str, str]] | None = None,
) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """One register row checked and converted, else every problem of it.

    Each column is checked on its own, so that one reading names every problem of
    the line, not the first alone (QA session 9: a bad month, then ``abc``, then
    ``-5`` as record limits took three runs to find).

    ``warn``, when given, receives (column, sentence) for each local time the clock
    change made ambiguous or skipped (read so as not to widen the authorisation).

    Returns
    -------
    row : dict or None
        The row converted; None when it has a problem.
    problems : list of (column, reason)
        Empty for a good row.
    """
    warn = [] if warn is None else warn
    bad: list[tuple[str, str]] = []
    ticket = cells["ticket"].strip()
    if not ticket:
        bad.append(("ticket", "empty (give the ticket or order reference)"))
    elif ticket[0] in FORMULA_PREFIXES:  # OWASP CSV injection: a reference never starts so
        bad.append(("ticket", "starts like a spreadsheet formula (=, +, -, @): not a reference"))
    lab = cells["lab"].strip()
    if not lab:
        bad.append(("lab", "empty (a lab code, its FINESS number, or * for every lab)"))
    lab = resolve_lab(lab, aliases) or lab  # as the evidence's labs: l07 is L07 (QA 13)
    acc_raw = cells["account"].strip()
    if not acc_raw:
        bad.append(("account", "empty (an account or a pattern such as migr.*)"))
    for what, pat in (("account", acc_raw), ("destination", cells["destination"].strip())):
        if _unclosed_bracket(pat):
            bad.append((what, "pattern has a '[' without its ']' (a typo?): write [[] for '['"))
    kind = cells["kind"].strip().lower()
    if kind not in KINDS:
        bad.append(("kind", f"{cells['kind'].strip()!r} is not one of {', '.join(KINDS)}"))
    start_t, end_t = cells["start"].strip(), cells["end"].strip()
    start = end = pd.NaT
    if not start_t:
        bad.append(("start", "empty (the first day of the window, yyyy-mm-dd)"))
    else:
        try:
            notes: list[str] = []
            start = _instant(start_t, tz, end=False, notes=notes)
            warn.extend(("start", n) for n in notes)
        except ValueError as exc:
            bad.append(("start", _with_value(start_t, exc)))
    if end_t:
        try:
            notes = []
            end = _instant(end_t, tz, end=True, notes=notes)
            warn.extend(("end", n) for n in notes)
        except ValueError as exc:
            bad.append(("end", _with_value(end_t, exc)))
        if not pd.isna(start) and not pd.isna(end) and end < start:
            wide_s = _instant(start_t, tz, end=False, wide=True)
            if _instant(end_t, tz, end=True, wide=True) >= wide_s:  # a narrow reading
                warn.append((
                    "end", "read so as not to widen the authorisation, the start and the "
                    "end leave the window empty: the row authorises nothing (give the "
                    "times with their offset, e.g. +02:00)",
                ))  # fmt: skip
            else:
                bad.append(("end", f"{end_t} is before start {start_t}"))
    since_t = cells["scope_patients_since"].strip()
    since = pd.NaT
    if since_t:
        if not _DATE.match(since_t):
            bad.append(("scope_patients_since", f"{since_t!r} is not a local date yyyy-mm-dd"))
        else:
            try:
                notes = []
                since = _local_day_start(dt.date.fromisoformat(since_t), tz, notes)
                warn.extend(("scope_patients_since", n) for n in notes)
            except ValueError as exc:
                bad.append(("scope_patients_since", _with_value(since_t, exc)))
    mx_t = cells["scope_max_records"].strip().replace("\u202f", "").replace(" ", "")
    mx: Any = pd.NA
    if mx_t:
        if not mx_t.isdigit():
            bad.append(("scope_max_records", f"{mx_t!r} is not a whole number >= 0"))
        else:
            mx = int(mx_t)
    if bad:
        return None, bad
    dest = cells["destination"].strip()
    return {
        "ticket": ticket,
        "lab": lab,
        "account": canonical_account(acc_raw, casefold=True),
        "account_raw": acc_raw,
        "kind": kind,
        "start": start,
        "end": end,
        "scope_patients_since": since,
        "scope_max_records": mx,
        "destination": canonical_account(dest, casefold=True) if dest else pd.NA,
        "purpose": cells["purpose"].strip(),
        "start_text": start_t,
        "end_text": end_t or pd.NA,
        "since_text": since_t or pd.NA,
    }, []


#: Problems listed in a refusal before the rest are counted.
MAX_LISTED_PROBLEMS = 30


def _problems_text(
    p: Path, bad: list[tuple[int, str]], problems: list[tuple[int, str, str]]
) -> str:
    """The refusal: every problem of the register, one per line (file, line, column,
    reason), then what to do."""
    shown = [
        f"  {p.name}:{ln}: {col + ': ' if col else ''}{why}"
        for ln, col, why in problems[:MAX_LISTED_PROBLEMS]
    ]
    more = len(problems) - len(shown)
    return "\n".join([
        f"authorisation register {p}: {len(problems)} problem(s) in {len(bad)} line(s):",
        *shown,
        *([f"  and {more} more"] if more > 0 else []),
        "correct them all and run again: the command reads the register whole (in Python, "
        "labforensics.authorisation.read_authorisations(path, errors='quarantine') leaves "
        "those lines out)",
    ])  # fmt: skip


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    data = {c: [r[c] for r in rows] for c in REGISTER_COLUMNS}
    out = pd.DataFrame(data)
    for c, d in REGISTER_COLUMNS.items():
        if str(d).startswith("datetime64"):
            out[c] = pd.to_datetime(out[c], utc=True).astype(d)
        else:
            out[c] = out[c].astype(d)
    return out


def read_authorisations(
    path: str | os.PathLike[str], case: Any = None, *, errors: str = "raise"
) -> pd.DataFrame:
    """Read an authorisation register into a checked table.

    Parameters
    ----------
    path : path-like
        The register CSV (``;``, UTF-8 with or without BOM; LF or CRLF).
    case : CaseContext, optional
        ``tz`` (the zone of local dates and times; default
        :data:`labforensics.case.DEFAULT_TZ`) and ``lab_aliases`` (FINESS -> lab code).
    errors : {"raise", "quarantine"}
        ``"raise"``: any bad line raises :class:`RegisterError` listing every bad line.
        ``"quarantine"``: bad lines are left out and listed in
        ``result.attrs["quarantine"]``.

    Returns
    -------
    pandas.DataFrame
        One row per valid register row, in file order, columns :data:`REGISTER_COLUMNS`:
        ``start`` / ``end`` are UTC instants, both inclusive (a date-only ``end`` is
        the last nanosecond of that local day; ``HH:MM`` the last of that minute;
        ``NaT`` = open); ``scope_patients_since`` the start of that local day (UTC);
        ``account`` and ``destination`` shell-style patterns in canonical form (NFC,
        case-folded: :func:`labforensics.identity.canonical_account`); ``lab`` a lab
        code (alias resolved) or ``*``. ``attrs["lines"]`` counts ``header``,
        ``blank``, ``rows`` and ``bad`` lines (their sum is the file's line count);
        ``attrs["quarantine"]`` lists bad lines (``source_file``, ``source_line``,
        ``reason``); ``attrs["warnings"]`` the kept rows' local times that the clock
        change made ambiguous or skipped (``source_file``, ``source_line``, ``column``,
        ``warning``: the time, and the reading taken, the one that does not widen the
        authorisation).

    Raises
    ------
    RegisterError
        (a :class:`~labforensics.errors.ParameterError`) when the file cannot be read,
        is not UTF-8, its header is not the register's, or (``errors="raise"``) a line
        is bad: wrong number of fields, empty ticket/lab/account/start, unknown kind,
        unreadable date, end before start, a record limit that is not a whole number.
        Rows of one ticket with different record limits are kept and named in
        ``attrs["warnings"]`` (:func:`.register_checks.ticket_limit_conflicts`).

    Notes
    -----
    Source of the layout and the rules: ``shared/formats/authorisations.md``.
    """
    if errors not in ("raise", "quarantine"):
        raise ParameterError(f"errors = {errors!r}: use 'raise' or 'quarantine'")
    p = Path(path)
    tz_name = getattr(case, "tz", None) or DEFAULT_TZ
    tz = ZoneInfo(tz_name)
    aliases = lab_alias_map(getattr(case, "lab_aliases", None))
    try:
        with open(p, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise RegisterError(
            f"authorisation register {p}: cannot be read ({exc.strerror or exc}); "
            "check the path given by [authorisations] register or --authorisations"
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegisterError(
            f"authorisation register {p}: byte {exc.start} is not UTF-8; save the file as UTF-8"
        ) from exc
    lines = text.splitlines()
    name = p.name
    counts = {"header": 0, "blank": 0, "rows": 0, "bad": 0}
    bad: list[tuple[int, str]] = []  # (line, its problems in one reason)
    problems: list[tuple[int, str, str]] = []  # (line, column, reason), every one
    rows: list[dict[str, Any]] = []
    warnings: list[tuple[int, str, str]] = []  # (line, column, sentence) of kept rows
    header_seen = False
    for i, line in enumerate(lines, 1):  # one pass per line of a small typed file
        if not line.strip():
            counts["blank"] += 1
            continue
        cells = next(csv.reader(io.StringIO(line), delimiter=";", quotechar='"'))
        if not header_seen:
            head = [c.strip().lower() for c in cells]
            if head != list(REGISTER_HEADER):
                raise RegisterError(
                    f"authorisation register {p}, line {i}: header {';'.join(cells)!r} is not "
                    f"{';'.join(REGISTER_HEADER)!r} (shared/formats/authorisations.md)"
                )
            header_seen = True
            counts["header"] += 1
            continue
        if len(cells) != len(REGISTER_HEADER):
            reason = f"{len(cells)} fields where the header has {len(REGISTER_HEADER)}"
            row, why = None, [("", reason)]
        else:
            warn: list[tuple[str, str]] = []
            row, why = _row(dict(zip(REGISTER_HEADER, cells, strict=True)), tz, aliases, warn)
            warnings += [(i, c, w) for c, w in warn] if row is not None else []
        if row is None:
            counts["bad"] += 1
            bad.append((i, "; ".join(f"{c}: {r}" if c else r for c, r in why)))
            problems += [(i, c, r) for c, r in why]
            continue
        row["source_file"] = name
        row["source_line"] = i
        rows.append(row)
        counts["rows"] += 1
    if not header_seen:
        raise RegisterError(
            f"authorisation register {p}: no header line; the first line must be "
            f"{';'.join(REGISTER_HEADER)}"
        )
    # a ticket whose rows give different record limits: kept (per-lab limits under one
    # order are common), the reading of its summed budget named
    warnings += [(ln, "scope_max_records", w) for ln, w in ticket_limit_conflicts(rows).items()]
    warnings.sort(key=lambda w: w[0])
    if bad and errors == "raise":
        raise RegisterError(_problems_text(p, bad, problems))
    out = _frame(rows)
    out.attrs["lines"] = counts
    out.attrs["quarantine"] = pd.DataFrame(
        {
            "source_file": pd.Series([name] * len(bad), dtype="string"),
            "source_line": pd.Series([b[0] for b in bad], dtype="int64"),
            "reason": pd.Series([b[1] for b in bad], dtype="string"),
        }
    )
    out.attrs["warnings"] = pd.DataFrame(
        {
            "source_file": pd.Series([name] * len(warnings), dtype="string"),
            "source_line": pd.Series([w[0] for w in warnings], dtype="int64"),
            "column": pd.Series([w[1] for w in warnings], dtype="string"),
            "warning": pd.Series([w[2] for w in warnings], dtype="string"),
        }
    )
    return out
