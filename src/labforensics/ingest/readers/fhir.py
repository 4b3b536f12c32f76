"""Reader for HL7 FHIR ``AuditEvent`` resources, R4 and R5 shapes (format ``fhir_auditevent``).

Accepted files: one resource (``.json``), a ``Bundle`` (``entry[].resource``),
a JSON array of resources, or NDJSON (one resource or Bundle per line). A
*row* is one resource (a Bundle entry is a row; the Bundle itself is not).
Resources that are not ``AuditEvent`` are ``ignored``; invalid JSON is
quarantined with its line; an element of an unexpected shape is reported as a
:class:`~labforensics.ingest.registry.FieldProblem` whose ``problem`` names its
JSON path (``$.agent[0].network``), never a ``KeyError``. Every element read is
checked for its JSON type (QA session 12): one of another type (an array, number,
boolean or object where a string is expected, a string where an object is) is a
field problem naming its path and the type found (``$.entity[0].what.reference:
expected a string, got a number: no patient read from it``), and the field is left
missing, never read from another element in its place; a code written as an integer
(``"outcome": 4``) is read as written (the same code) with a problem. A Bundle
``entry`` that is not an array (or one object) is quarantined.

Mapping (FHIR R4 4.0.1 ``AuditEvent``; R5 5.0.0 ``AuditEvent``)
---------------------------------------------------------------
``ts``
    R5 ``occurredDateTime`` / ``occurredPeriod.start``, R4 ``period.start``,
    else ``recorded`` (an instant with offset; one without offset is
    local time in ``ctx.tz``); none parseable -> quarantined. A leap second
    (``23:59:60Z``: FHIR R4/R5 "Datatypes", instant and dateTime, "Leap Seconds
    are allowed") is kept in order as ``23:59:59.999999999`` with ``ts_quality``
    ``leap_second`` (a field problem when it is not the last second of a UTC
    day); a date without a time (``2024-06-03``; ``2024-06``, ``2024``) is the
    start of that local day with ``ts_quality`` ``date_only``, never used in a
    session's duration, with a field problem where the standard wants a time
    (``recorded`` is an instant) or the date is coarser than a day
    (:mod:`._instants`)
``action``
    event kind, see the table below
``action_raw``
    ``<type or category code>/<subtype or code codes, "+"-joined>`` (just the
    codes when there is no type or category); ``|BTG`` appended when a
    break-glass purpose made the action ``break_glass``
``dicom_event_id``
    the type/category code when it is a DICOM CID 400 code (``1101xx``)
``dicom_event_type``
    the subtype/code when it is a DICOM CID 401 code (``1101xx``)
``outcome``
    R4 ``outcome`` code or R5 ``outcome.code.code`` (any system):
    ``0``/``success``/``information``/``warning`` success;
    ``4``/``8``/``12``/``error``/``fatal`` failure; missing or unknown ->
    success with a field problem
``account``
    the agent with ``requestor: true``: ``who.identifier.value``, else
    ``who.display``, else ``name``, else ``who.reference`` (none of them: a
    field problem at ``$.agent[i].who``). The first of them PRESENT decides: one
    that is not a non-empty string (``"value": ["tech10"]``), or a ``who`` or
    ``identifier`` that is not an object, leaves the account missing with a
    field problem at its path; the next one is not read in its place (a display
    name ``Tech Dix`` is another identity than the login ``tech10``: it would
    split the account's sessions). ``requestor`` ``"true"``/``"false"`` as a
    string is read so with a field problem; another non-boolean is not a requestor. **No requesting agent**: the account
    stays missing, with a field problem at ``$.agent[*].requestor``; no other
    agent is chosen, because the standard says not to (R4 and R5
    ``AuditEvent.agent.requestor``: "There can only be one initiator. If the
    initiator is not clear, then do not choose any one agent as the
    initiator"). Several requestors (against that same rule): the first that
    is not a device (``who`` a ``Device/...`` reference) or a network address,
    with a field problem
``role``
    that agent's ``role[0]`` code or text, upper case
``src_ip``/``host``
    R4 ``agent.network.address`` by ``type``: ``2`` IP -> ``src_ip``,
    ``1`` machine name -> ``host`` (an IP literal typed 1 also fills
    ``src_ip``); R5 ``networkString`` (or ``networkUri``): IP literal ->
    ``src_ip``, else ``host``
``site``
    R4 ``source.site``; R5 ``source.site.display``
``_ipp``
    ``entity.what.reference`` ``Patient/<id>`` (``_history`` dropped), else
    ``entity.what.identifier.value`` (HL7 CX ``ID^^^&OID`` -> ``ID``) of a
    patient named by a *logical reference*: ``what.type`` ``Patient`` or its
    canonical URL ``http://hl7.org/fhir/StructureDefinition/Patient`` (FHIR
    "References", Reference.type), or an entity typed Person (1) with role
    Patient (1) (audit-entity-type, object-role), or of resource type
    ``Patient``; R5 ``patient`` likewise. One event per distinct patient,
    same ``message_id``. A patient entity naming no id, or an identifier
    with no type at all to say what it names, is a field problem at its path
``detail``
    decoded base64 ``entity.query`` texts with the patient identifiers and
    demographics they search for masked (:func:`labforensics.ingest._common.mask_query`),
    ``"; "``-joined, then ``outcomeDesc`` / ``outcome.detail.text`` (redacted
    downstream)
``message_id``
    ``<source_file>#<row number>``
``source_line``
    line where the resource starts (Bundle entries: the line of their
    ``"resourceType": "AuditEvent"``; NDJSON: the line)

Event kind -> canonical action (sources: DICOM PS3.16 CID 400/401; FHIR
``audit-event-type`` and ``restful-interaction`` code systems, R4 4.0.1 and R5
5.0.0; v3 ``ActReason`` for BTG):

- ``110114`` User Authentication + ``110122`` Login -> ``login`` (``login_failed``
  when the outcome is a failure); + ``110123`` Logout -> ``logout``; codes
  ``login``/``logout`` (any system) likewise; ``110122``/``110123`` written as
  the type itself (dcm4chee) likewise;
- ``rest`` + ``read``, ``vread``, ``history*`` -> ``read``; ``search*`` -> ``query``;
  ``create*``, ``update*``, ``patch*`` -> ``update``; ``delete*`` -> ``purge``
  (:data:`REST_ACTIONS`); other interactions -> by ``action`` (C/U update, R
  read, D purge, E other); an R5 event without ``category`` (0..*) whose
  ``code`` is a restful interaction is read the same way;
- break-glass -> ``break_glass``: DICOM ``110127`` Emergency Override Started
  (CID 401), or a purpose of use ``BTG`` (v3 ActReason "break the glass"; R4
  ``purposeOfEvent`` / ``agent.purposeOfUse``, R5 ``authorization`` /
  ``agent.authorization``) on any event but a login or logout (those stay
  session boundaries, their ``action_raw`` unchanged);
- ``110106`` Export (subtype ``Disclosure`` included) -> ``export``; ``110112`` Query
  -> ``query``; ``110110``/``110103``/``110109``/``110111`` -> by ``action``;
  ``110104`` -> ``transmit``; ``110105`` -> ``purge``; ``110100``, ``110101``,
  ``110107``, ``110108``, ``110113`` -> ``other``;
- anything else -> by ``action``, counted in ``unknown_codes``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._common import (
    build_events,
    cap_text,
    finish_file_read,
    read_bytes,
    split_lines,
)
from .._fhir_fields import (
    _agent,
    _detail,
    _json_type,
    _kind,
    _outcome,
    _patients,
    _Problems,
    _site,
    _when,
)
from .._instants import parse_instants
from .._kept_lines import kept_line_problems
from .._lis_encoding import decode_utf8_accounted
from ..registry import (
    FieldProblem,
    FileRead,
    QuarantineRow,
    ReadContext,
    ReaderSpec,
    register_reader,
)

__all__ = ["FORMAT", "read_fhir", "sniff_fhir"]

FORMAT = "fhir_auditevent"


_AE_KEY = re.compile(r'"resourceType"\s*:\s*"AuditEvent"')


def sniff_fhir(head: bytes, name: str) -> bool:
    """True for JSON/NDJSON whose head names an ``AuditEvent`` resource."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return start in (b"{", b"[") and b'"AuditEvent"' in head and b'"resourceType"' in head


class _BadEntries:
    """A Bundle's ``entry`` that is neither an array nor an object (quarantined)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _resources(obj: Any, line: int) -> list[tuple[Any, int, str]]:
    """(candidate resource, line, JSON path) for every row in a parsed document."""
    if isinstance(obj, list):
        return [(r, line, f"$[{i}]") for i, r in enumerate(obj)]
    if isinstance(obj, dict) and obj.get("resourceType") == "Bundle":
        entries = obj.get("entry")
        if entries is None:
            return []
        if isinstance(entries, dict):  # one entry written as an object: read as an array of one
            return [(entries.get("resource"), line, "$.entry.resource")]
        if not isinstance(entries, list):  # a row of its own, quarantined (QA session 12)
            return [(_BadEntries(entries), line, "$.entry")]
        out = []
        for i, e in enumerate(entries):
            res = e.get("resource") if isinstance(e, dict) else e
            out.append((res, line, f"$.entry[{i}].resource"))
        return out
    return [(obj, line, "$")]


def _lines_of(text: str, pattern: re.Pattern[str]) -> list[int]:
    """1-based line of every match of ``pattern`` in ``text`` (linear time)."""
    starts = np.fromiter((m.start() for m in pattern.finditer(text)), dtype=np.int64)
    if not len(starts):
        return []
    nl = np.fromiter((m.start() for m in re.finditer("\n", text)), dtype=np.int64)
    return (np.searchsorted(nl, starts, side="right") + 1).tolist()


#: Columns collected per event (``_``: working columns, dropped from the events).
_REC_KEYS = (
    "_when",
    "_when_path",
    "action",
    "action_raw",
    "dicom_event_id",
    "dicom_event_type",
    "outcome",
    "account",
    "role",
    "host",
    "src_ip",
    "site",
    "_ipp",
    "detail",
    "message_id",
    "source_line",
    "_row",
    "_row_no",
    "_problems",
)


def _document_rows(text: str, doc: Any) -> list[tuple[Any, int, str, str]]:
    """The resources of a whole JSON document: (resource, line, JSON path, raw)."""
    rows: list[tuple[Any, int, str, str]] = []
    base = text[: len(text) - len(text.lstrip())].count("\n") + 1
    cands = _resources(doc, base)
    ae_lines = _lines_of(text, _AE_KEY) if len(cands) > 1 else []
    ae_i = 0
    for res, line, jpath in cands:
        if isinstance(res, dict) and res.get("resourceType") == "AuditEvent":
            if len(ae_lines) >= 1 and ae_i < len(ae_lines):
                line = ae_lines[ae_i]
            ae_i += 1
        rows.append((res, line, jpath, ""))
    return rows


def _ndjson_rows(
    lines: list[str], ends_nl: bool, quarantine: list[QuarantineRow], cut: tuple[bool, str]
) -> tuple[list[tuple[Any, int, str, str]], int, tuple[bool, str]]:
    """The resources of NDJSON lines; an invalid line is quarantined, a blank one ignored.

    ``cut``: (truncated, note) so far. Returns the rows, the lines ignored and the cut.
    """
    rows: list[tuple[Any, int, str, str]] = []
    ignored = 0
    truncated, note = cut
    for i, ln in enumerate(lines, start=1):
        if not ln.strip():
            ignored += 1
            continue
        try:
            obj = json.loads(ln)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = getattr(exc, "msg", type(exc).__name__)
            col = getattr(exc, "colno", None)
            quarantine.append(QuarantineRow(i, f"invalid JSON: {msg} (column {col})", cap_text(ln)))
            if i == len(lines) and not ends_nl:
                truncated, note = True, note or f"last line {i} is cut short (invalid JSON)"
            continue
        for res, line, jpath in _resources(obj, i):
            rows.append((res, line, jpath, ln))
    return rows, ignored, (truncated, note)


def _rows_of(
    path: Path, text: str, quarantine: list[QuarantineRow], cut: tuple[bool, str]
) -> tuple[list[tuple[Any, int, str, str]], int, tuple[bool, str]]:
    """The file's resources: a JSON document (resource, Bundle or array) or NDJSON lines.

    A document that is neither is quarantined whole. Returns (resource, line, JSON
    path, raw) rows, the lines ignored and (truncated, note).
    """
    truncated, note = cut
    rows: list[tuple[Any, int, str, str]] = []
    ignored = 0
    err: Exception | None = None
    try:
        doc = json.loads(text) if text.strip() else None
        whole_ok = bool(text.strip())
    except (json.JSONDecodeError, RecursionError) as exc:
        whole_ok, doc, err = False, None, exc
    if whole_ok:
        rows = _document_rows(text, doc)
    elif text.strip():
        lines, ends_nl = split_lines(text)
        first = next((ln for ln in lines if ln.strip()), "")
        ndjson = path.name.lower().endswith((".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz"))
        if not ndjson:
            try:
                ndjson = isinstance(json.loads(first), dict | list)
            except (json.JSONDecodeError, RecursionError):
                ndjson = False
        if ndjson:
            rows, ignored, (truncated, note) = _ndjson_rows(
                lines, ends_nl, quarantine, (truncated, note)
            )
        else:
            msg = getattr(err, "msg", type(err).__name__)
            lineno = getattr(err, "lineno", 1)
            quarantine.append(
                QuarantineRow(
                    lineno,
                    f"invalid JSON: {msg} (line {lineno}, column {getattr(err, 'colno', '?')})",
                    cap_text(text),
                )
            )
            if getattr(err, "pos", 0) >= len(text.rstrip()) - 1:
                truncated, note = True, note or "JSON document cut short"

    return rows, ignored, (truncated, note)


def _collect(
    rows: list[tuple[Any, int, str, str]],
    ctx: ReadContext,
    quarantine: list[QuarantineRow],
) -> tuple[dict[str, list[Any]], dict[str, int], int, int]:
    """One event per (AuditEvent, patient) into columns; other rows quarantined or ignored.

    Returns the columns, the unknown codes, the resources that became events and the
    resources ignored (not AuditEvents). The field problems of each resource are kept
    in ``rec["_problems"]`` (per event; the same list for a resource's events): a resource quarantined later (its date-time not ISO 8601) must not
    leave field problems as if it were an event (QA session 13); a resource quarantined
    here drops its own.
    """
    rec: dict[str, list[Any]] = {k: [] for k in _REC_KEYS}
    unknown: dict[str, int] = {}
    rows_to_events = 0
    ignored = 0
    for n_row, (res, line, jpath, raw) in enumerate(rows, start=1):
        if not isinstance(res, dict):
            if isinstance(res, _BadEntries):
                bad, want = res.value, "an array of Bundle entries"
            else:
                bad, want = res, "a resource object"
            quarantine.append(
                QuarantineRow(
                    line,
                    f"{jpath}: expected {want}, got {_json_type(bad)}",
                    cap_text(raw or json.dumps(bad, default=str)),
                )
            )
            continue
        if res.get("resourceType") != "AuditEvent":
            ignored += 1
            continue
        own: list[FieldProblem] = []  # this resource's problems, kept with its events
        pb = _Problems(line, own)
        when, when_path = _when(res, pb)
        if res.get("recorded") is None and when is not None:  # read from occurred/period
            pb.add("ts", "", "$.recorded", "recorded missing (1..1 in R4 and R5)")
        if when is None:
            quarantine.append(
                QuarantineRow(
                    line,
                    f"{jpath}: no recorded/occurred date-time",
                    cap_text(raw or json.dumps(res)),
                )
            )
            continue
        outcome, _ = _outcome(res, pb)
        action, action_raw, dic_id, dic_type, known = _kind(res, pb, outcome == "failure")
        if not known:
            unknown[action_raw] = unknown.get(action_raw, 0) + 1
        ag = _agent(res, pb)
        pats = _patients(res, pb) or [None]
        detail = _detail(res, pb)
        site = _site(res, pb)
        rows_to_events += 1
        for p in pats:
            rec["_when"].append(when)
            rec["_when_path"].append(when_path)
            rec["action"].append(action)
            rec["action_raw"].append(action_raw)
            rec["dicom_event_id"].append(dic_id)
            rec["dicom_event_type"].append(dic_type)
            rec["outcome"].append(outcome)
            for k in ("account", "role", "host", "src_ip"):
                rec[k].append(ag[k])
            rec["site"].append(site)
            rec["_ipp"].append(p)
            rec["detail"].append(detail)
            rec["message_id"].append(f"{ctx.source_file}#{n_row}")
            rec["source_line"].append(line)
            rec["_row"].append((res, line, jpath, raw))
            rec["_row_no"].append(n_row)
            rec["_problems"].append(own)

    return rec, unknown, rows_to_events, ignored


def _quarantine_bad_times(
    rec: dict[str, list[Any]], bad_rows: set[int], quarantine: list[QuarantineRow]
) -> None:
    """Quarantine each resource whose date-time is not ISO 8601 (once per resource)."""
    first_of: dict[int, int] = {}  # row number -> its first event (O(1), not list.index)
    for i, n_row in enumerate(rec["_row_no"]):
        first_of.setdefault(n_row, i)
    for n_row in sorted(bad_rows):
        i = first_of[n_row]
        res, line, jpath, raw = rec["_row"][i]
        quarantine.append(
            QuarantineRow(
                line,
                f"{jpath}: date-time {rec['_when'][i]!r} is not ISO 8601",
                cap_text(raw or json.dumps(res, default=str)),
            )
        )


def read_fhir(path: Path, ctx: ReadContext) -> FileRead:
    """Read one file of FHIR ``AuditEvent`` resources into raw events.

    Parameters
    ----------
    path : pathlib.Path
        A ``.json`` resource, Bundle or array, or an NDJSON file (gzip undone).
    ctx : ReadContext
        ``lab`` (else ``"UNKNOWN"``), ``tz`` (for date-times without offset),
        ``account_kinds``, ``source_file``.

    Returns
    -------
    FileRead
        ``events``: canonical columns plus ``_ipp``; one row per (resource,
        patient). ``rows_read`` = resources seen = ``rows_to_events`` + ``ignored``
        (non-AuditEvent resources, blank NDJSON lines) + quarantined.

    Raises
    ------
    EvidenceError
        Only when the file cannot be read.
    """
    data, truncated, note, utf16 = read_bytes(path)
    text, n_rec, n_rep, enc_note, enc_problems = decode_utf8_accounted(data, utf16)  # counted
    quarantine: list[QuarantineRow] = []
    rows, ignored, (truncated, note) = _rows_of(path, text, quarantine, (truncated, note))
    rec, unknown, rows_to_events, not_audit = _collect(rows, ctx, quarantine)
    ignored += not_audit
    off_day: list[FieldProblem] = []
    events, bad_rows = _timestamps(rec, ctx, off_day)
    _quarantine_bad_times(rec, bad_rows, quarantine)
    # a quarantined resource's lines: its quarantine row, not their byte-level problems
    kept = [
        ln for ln, r in zip(rec["source_line"], rec["_row_no"], strict=True) if r not in bad_rows
    ]
    problems = kept_line_problems(enc_problems, quarantine, kept)
    # the field problems of the resources that became events (each once), in order
    seen_rows: set[int] = set()
    for n_row, own in zip(rec["_row_no"], rec["_problems"], strict=True):
        if n_row not in bad_rows and n_row not in seen_rows:
            seen_rows.add(n_row)
            problems.extend(own)
    problems.extend(off_day)
    rows_to_events -= len(bad_rows)
    return finish_file_read(
        ctx, events, rows_to_events=rows_to_events, ignored=ignored, quarantine=quarantine,
        problems=problems, truncated=truncated, note=note, unknown=unknown,
        rows_recoded=n_rec, replacement_chars=n_rep, encoding_note=enc_note,
    )  # fmt: skip


def _timestamps(
    rec: dict[str, list[Any]], ctx: ReadContext, problems: list[FieldProblem]
) -> tuple[pd.DataFrame, set[int]]:
    """Parse the collected date-times (vectorised), build the frame, list unparseable rows.

    Leap seconds and dates without a time follow :func:`labforensics.ingest._instants.parse_instants`; a
    second 60 outside the last minute of a UTC day is kept and reported.
    """
    when = pd.Series(rec["_when"], dtype=object)
    ts, quality, off_day = parse_instants(when, ctx.tz)
    row_no = np.asarray(rec["_row_no"], dtype=np.int64)
    seen: set[int] = set()
    for i in np.flatnonzero(off_day):  # per rare anomaly, once per resource
        if row_no[i] not in seen:
            seen.add(int(row_no[i]))
            problems.append(
                FieldProblem(
                    rec["source_line"][i],
                    "ts",
                    rec["_when"][i],
                    f"{rec['_when_path'][i]}: second 60 outside the last minute of a UTC day "
                    "(no leap second there): kept as second 59.999999999",
                )
            )
    bad_rows = set(row_no[ts.isna().to_numpy()].tolist())
    keep = ~np.isin(row_no, list(bad_rows))
    skip = ("_when", "_when_path", "_row", "_row_no", "_problems")
    cols = {k: np.asarray(v, dtype=object)[keep] for k, v in rec.items() if k not in skip}
    cols["ts"] = ts[keep].reset_index(drop=True)
    cols["ts_quality"] = quality[keep]
    return build_events(cols, ctx, FORMAT), bad_rows


register_reader(
    ReaderSpec(
        name=FORMAT,
        sniff=sniff_fhir,
        read=read_fhir,
        priority=20,
        description="HL7 FHIR AuditEvent (R4 and R5): resource, Bundle, array or NDJSON",
    )
)
