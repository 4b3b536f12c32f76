"""Reader for IHE ATNA audit messages: DICOM PS3.15 / RFC 3881 ``AuditMessage`` XML (format ``atna``).

Accepted framings, mixed freely in one file:

* plain XML files holding one or more ``<AuditMessage>`` documents;
* RFC 5424 syslog messages carrying the XML (``<85>1 2010-12-17T15:12:04.287-06:00
  host app procid msgid - <?xml ...``), a message running over several physical
  lines until the next line that starts a syslog header;
* the same in legacy BSD syslog (RFC 3164) framing (``<85>Dec 17 15:12:04 host
  app: <?xml ...``);
* RFC 5425 octet-counted frames (``2164 <85>1 ...``: ``MSG-LEN SP SYSLOG-MSG``,
  MSG-LEN the byte count of the message), concatenated with or without line ends.

A *row* is one message; a syslog message carrying no XML (another program's)
is out of scope and counted as ``ignored``. XML is parsed with :mod:`defusedxml` with DTDs
forbidden: an entity-expansion (billion laughs) or external-entity attempt is
quarantined, never expanded. Truncated or ill-formed XML, a frame cut short and
text that is no message are quarantined with the line where they start.

Mapping
-------
DICOM PS3.15 A.5.1 field names; RFC 3881 writes ``code`` where DICOM writes
``csd-code``: both are read.

``ts``
    ``EventIdentification/@EventDateTime`` (the event; up to nine
    decimals kept to the nanosecond). The syslog header time is when
    the message was *sent*: used only when EventDateTime is missing or
    unreadable (with a field problem); a malformed header time (no
    seconds ...) is a field problem, never fatal. A leap second
    (``23:59:60``, allowed by XML Schema 1.0 ``xs:dateTime``, Appendix D.1,
    the datatype library of PS3.15 A.5.1 and RFC 3881) is kept in order as
    ``23:59:59.999999999`` with ``ts_quality`` ``leap_second``; a date
    without a time (invalid for ``xs:dateTime``) is the start of that local
    day, ``date_only``, with a field problem (:mod:`._instants`)
``action``
    ``EventID`` + ``EventTypeCode`` + ``EventActionCode`` (table below)
``action_raw``
    ``<EventID>/<EventTypeCode codes, "+"-joined>``
``dicom_event_id``
    EventID code; ``dicom_event_type`` the first EventTypeCode code
``outcome``
    ``EventOutcomeIndicator`` 0 success; 4, 8, 12 failure; missing or
    unknown -> success with a field problem
``account``
    ``ActiveParticipant`` with ``UserIsRequestor="true"``: its
    ``UserID`` (else ``UserName``, ``AlternativeUserID``). When several
    are requestors, the first whose UserID is not a network address
    (IPv4/IPv6 literal): the person, not the machine. When none says
    true, the participants *without* the attribute are requestors, as the
    RFC 3881 schema says (``UserIsRequestor`` ``default="true"``; DICOM
    makes it mandatory), with a field problem; when there are none either,
    the account stays missing with a field problem (no other participant is
    guessed)
``src_ip``/``host``
    ``NetworkAccessPointID`` of that participant, else of another
    requestor: type code ``2`` (IP) -> ``src_ip``; ``1`` (machine
    name) -> ``host`` (an IP literal typed 1 also fills ``src_ip``)
``site``
    ``AuditSourceIdentification/@AuditEnterpriseSiteID``
``_ipp``
    ``ParticipantObjectIdentification`` with ``ParticipantObjectTypeCode``
    1 (person) and ``ParticipantObjectTypeCodeRole`` 1 (patient):
    ``ParticipantObjectID`` (HL7 CX ``ID^^^&OID&ISO`` -> ``ID``; empty: a
    field problem); one event per distinct patient, same ``message_id``
``detail``
    base64-decoded ``ParticipantObjectQuery`` texts, with the patient
    identifiers and demographics they search for masked
    (:func:`labforensics.ingest._common.mask_query`), and ``EventOutcomeDescription``,
    ``"; "``-joined (redacted downstream)
``message_id``
    ``<source_file>#<message number>``
``source_line``
    line where the message (or its frame's length) starts

Actions (DICOM PS3.16 CID 400/401; table in :mod:`labforensics.ingest._common`):
110114 + 110122 Login -> ``login`` (``login_failed`` on failure), + 110123 Logout
-> ``logout``; 110122 / 110123 written as the ``EventID`` itself, no
EventTypeCode (dcm4chee-arc's User Authentication message, ``docs/audit/
user-authentication.rst`` of dcm4che/dcm4chee-arc-cs: ``EventID`` "EV (110122, DCM,
'Login')" for login, 110123 for logout, outcome 4 on a login error) -> the same;
EventTypeCode 110127 Emergency Override Started -> ``break_glass``; 110112 Query -> ``query``; 110106 Export -> ``export``; 110110
Patient Record (and 110103/110109/110111) by ``EventActionCode``: C/U ``update``,
R ``read``, D ``purge``, E ``other``; 110104 -> ``transmit``; 110105 ->
``purge``; 110100, 110101, 110107 Import, 110108, 110113 -> ``other``; an
unknown EventID -> by action code, counted in ``unknown_codes``.

References
----------
DICOM PS3.15 Annex A.5 (Audit Trail Message Format Profile); RFC 3881; RFC 5424;
RFC 5425 section 4.3 (octet counting); IHE ITI TF-2 3.20 (ATNA).
"""

from __future__ import annotations

import bisect
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.ElementTree as DET
import numpy as np
import pandas as pd

from .._atna_fields import _local, _message
from .._bytes_text import decode_escaped
from .._common import (
    build_events,
    cap_text,
    finish_file_read,
    read_bytes,
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

__all__ = ["FORMAT", "read_atna", "sniff_atna"]

FORMAT = "atna"

_WS = re.compile(rb"[ \t\r\n\x00]*")
_HDR_START = rb"<\d{1,3}>(?:\d{1,2} |[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )"  # 5424 | 3164
_OCTET = re.compile(rb"([1-9]\d{0,8}) (?=" + _HDR_START + rb")")
_SYSLOG = re.compile(_HDR_START)
_NEXT_SYSLOG = re.compile(rb"\n(?=(?:[1-9]\d{0,8} )?" + _HDR_START + rb")")
_BSD = re.compile(r"^<\d{1,3}>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ")
_XML_START = re.compile(rb"<\?xml|<!DOCTYPE|<(?:[\w.-]+:)?AuditMessage\b")
_XML_END = re.compile(rb"</(?:[\w.-]+:)?AuditMessage\s*>")
_HEADER = re.compile(
    r"^<(?P<pri>\d{1,3})>(?P<ver>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) "
    r"(?P<procid>\S+) (?P<msgid>\S+) (?P<sd>-|\[.*?\])\s*$",
    re.S,
)
_RFC5424_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)$")
_OFFSET = re.compile(r"(?:[zZ]|[+-]\d\d:?\d\d)$")


def sniff_atna(head: bytes, name: str) -> bool:
    """True when the head holds an ``AuditMessage`` element (plain XML or in syslog)."""
    return re.search(rb"<(?:[\w.-]+:)?AuditMessage[\s>/]", head) is not None


def _split_records(
    data: bytes,
) -> tuple[list[tuple[str, int, bytes]], list[tuple[int, str, bytes]]]:
    """Cut the file into messages: (framing, byte offset, bytes) and bad pieces."""
    records: list[tuple[str, int, bytes]] = []
    bad: list[tuple[int, str, bytes]] = []
    pos, n = 0, len(data)
    # every syslog header start and message end, found once: searching from each message
    # to the next header rescanned the rest of a plain XML file per message (quadratic)
    nexts = [m.start() for m in _NEXT_SYSLOG.finditer(data)]
    ends = [(m.start(), m.end()) for m in _XML_END.finditer(data)]
    end_starts = [e[0] for e in ends]

    def next_syslog(at: int) -> int | None:
        i = bisect.bisect_left(nexts, at)
        return nexts[i] if i < len(nexts) else None

    def xml_end(at: int, limit: int) -> int | None:
        i = bisect.bisect_left(end_starts, at)
        return ends[i][1] if i < len(ends) and ends[i][1] <= limit else None

    while True:
        pos = _WS.match(data, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            break
        m = _OCTET.match(data, pos)
        if m:
            size, start = int(m.group(1)), m.end()
            if start + size > n:
                bad.append(
                    (pos, f"RFC 5425 frame declares {size} bytes, {n - start} remain", data[pos:])
                )
                break
            records.append(("rfc5425", pos, data[start : start + size]))
            pos = start + size
            continue
        if _SYSLOG.match(data, pos):
            nxt = next_syslog(pos)
            end = n if nxt is None else nxt
            close = xml_end(pos, end)
            if close is not None:  # text after the message's end is read on its own
                end = close
            records.append(("rfc5424", pos, data[pos:end]))
            pos = end
            continue
        if _XML_START.match(data, pos):
            close = xml_end(pos, n)
            nxt = next_syslog(pos)
            if close is not None and (nxt is None or close <= nxt):
                end = close
            else:
                end = n if nxt is None else nxt
            records.append(("xml", pos, data[pos:end]))
            pos = end
            continue
        eol = data.find(b"\n", pos)
        end = n if eol == -1 else eol
        bad.append(
            (pos, "not an audit message (syslog header or <AuditMessage> expected)", data[pos:end])
        )
        pos = end
    return records, bad


def _text(b: bytes) -> str:
    return decode_escaped(b)


#: Columns collected per event (``_``: working columns, dropped from the events).
_REC_KEYS = (
    "_when",
    "_sent",
    "action",
    "action_raw",
    "dicom_event_id",
    "dicom_event_type",
    "outcome",
    "account",
    "host",
    "src_ip",
    "site",
    "_ipp",
    "detail",
    "message_id",
    "source_line",
    "_row_no",
)


def _syslog_sent(body: bytes, xml_at: re.Match, line: int, problems: list[FieldProblem]):
    """The RFC 5424 header's time of a syslog-framed message (None: none usable).

    An RFC 3164 header is accepted silently (its time has no year: the event time is
    used); any other header, or a 5424 time without seconds or offset, is a problem.
    """
    sent = None
    head_txt = _text(body[: xml_at.start()]).lstrip("\ufeff")
    hdr = _HEADER.match(head_txt)
    if hdr is None and _BSD.match(head_txt):
        pass  # RFC 3164 framing: its time has no year, the event time is used
    elif hdr is None:
        problems.append(
            FieldProblem(
                line,
                "ts",
                _text(body[: xml_at.start()])[:200],
                "syslog header not RFC 5424",
            )
        )
    else:
        sent = hdr["ts"]
        if not _RFC5424_TS.match(sent):
            problems.append(
                FieldProblem(
                    line,
                    "ts",
                    sent,
                    "syslog header time is not RFC 5424 (seconds or offset missing?): "
                    "event time taken from EventDateTime",
                )
            )
    return sent


def _add_message(
    rec: dict[str, list[Any]], out: tuple, sent: str | None, n_row: int, line: int, ctx: ReadContext
) -> None:
    """One event per patient of a message (one without patient: one event)."""
    when, action, raw, eid, etype, outcome, known, acc, host, ip, site, pats, detail = out
    for p in pats or [None]:
        rec["_when"].append(when)
        rec["_sent"].append(sent)
        rec["action"].append(action)
        rec["action_raw"].append(raw)
        rec["dicom_event_id"].append(eid)
        rec["dicom_event_type"].append(etype)
        rec["outcome"].append(outcome)
        rec["account"].append(acc)
        rec["host"].append(host)
        rec["src_ip"].append(ip)
        rec["site"].append(site)
        rec["_ipp"].append(p)
        rec["detail"].append(detail)
        rec["message_id"].append(f"{ctx.source_file}#{n_row}")
        rec["source_line"].append(line)
        rec["_row_no"].append(n_row)


def _collect(
    records: list,
    data: bytes,
    line_of,
    ctx: ReadContext,
    problems_of: dict[int, list[FieldProblem]],
    quarantine: list[QuarantineRow],
) -> tuple[dict[str, list[Any]], dict[int, tuple[int, str]], dict[str, int], int, int, str | None]:
    """Parse each record's XML (defused) into event columns.

    The field problems of each message that became an event go to ``problems_of`` (row
    -> its problems): a message quarantined here or later (its time unreadable) leaves
    none, as if it were an event (QA session 13, as in the FHIR reader).

    Returns the columns, row -> (line, raw text) of the messages that became events,
    the unknown codes, the records ignored (another program's syslog message, an XML
    document that is not an AuditMessage), the messages that became events, and a
    truncation note when the last message is cut short (else None).
    """
    rec: dict[str, list[Any]] = {k: [] for k in _REC_KEYS}
    raw_of: dict[int, tuple[int, str]] = {}
    unknown: dict[str, int] = {}
    ignored = 0
    rows_to_events = 0
    cut_note = None
    for n_row, (framing, offset, body) in enumerate(records, start=1):
        line = line_of(offset)
        raw_txt = cap_text(_text(body))
        own: list[FieldProblem] = []  # this message's problems, kept if it is an event
        sent = None
        xml_at = _XML_START.search(body)
        if framing != "xml":
            if xml_at is None:  # another program's syslog message: out of scope
                ignored += 1
                continue
            sent = _syslog_sent(body, xml_at, line, own)
            body = body[xml_at.start() :]
        try:
            root = DET.fromstring(
                body.strip(), forbid_dtd=True, forbid_entities=True, forbid_external=True
            )
        except defusedxml.DefusedXmlException as exc:
            quarantine.append(
                QuarantineRow(
                    line,
                    f"forbidden XML construct (DTD/entity, not expanded): {type(exc).__name__}",
                    raw_txt,
                )
            )
            continue
        except (ET.ParseError, ValueError, RecursionError) as exc:
            quarantine.append(QuarantineRow(line, f"XML not well-formed: {exc}", raw_txt))
            at_end = n_row == len(records) and data.rstrip().endswith(body.rstrip())
            if at_end and _XML_END.search(body) is None:
                cut_note = f"last message (line {line}) is cut short"
            continue
        if _local(root.tag) != "AuditMessage":
            ignored += 1
            continue
        out = _message(root, line, own)
        if out is None:
            quarantine.append(
                QuarantineRow(line, "AuditMessage without EventIdentification", raw_txt)
            )
            continue
        when, action, raw, eid, etype, outcome, known, acc, host, ip, site, pats, detail = out
        if when is None and sent is None:
            quarantine.append(QuarantineRow(line, "no EventDateTime and no syslog time", raw_txt))
            continue
        if not known:
            unknown[raw] = unknown.get(raw, 0) + 1
        rows_to_events += 1
        raw_of[n_row] = (line, raw_txt)
        problems_of[n_row] = own
        _add_message(rec, out, sent, n_row, line, ctx)
    return rec, raw_of, unknown, ignored, rows_to_events, cut_note


def read_atna(path: Path, ctx: ReadContext) -> FileRead:
    """Read one file of ATNA audit messages into raw events.

    Parameters
    ----------
    path : pathlib.Path
        Plain XML, RFC 5424 syslog or RFC 5425 octet-counted frames (gzip undone).
    ctx : ReadContext
        ``lab`` (else ``"UNKNOWN"``), ``tz`` (times without offset),
        ``account_kinds``, ``source_file``.

    Returns
    -------
    FileRead
        One row per message: ``rows_read`` = ``rows_to_events`` + ``ignored``
        (non-AuditMessage XML documents) + quarantined. Events: canonical columns
        plus ``_ipp``.

    Raises
    ------
    EvidenceError
        Only when the file cannot be read.
    """
    data, truncated, note, utf16 = read_bytes(path)
    nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)

    def line_of(offset: int) -> int:
        return int(np.searchsorted(nl, offset, side="left")) + 1

    records, bad = _split_records(data)
    quarantine = [QuarantineRow(line_of(o), why, cap_text(_text(raw))) for o, why, raw in bad]
    if bad and bad[-1][0] + len(bad[-1][2]) >= len(data.rstrip()) and "frame" in bad[-1][1]:
        truncated, note = True, note or bad[-1][1]
    # messages are UTF-8 XML: a byte sequence that is not UTF-8 is counted (U+FFFD where
    # decoded as text, refused by the XML parser inside a message)
    _, _, n_rep, enc_note, enc_problems = decode_utf8_accounted(data, utf16, cp1252=False)
    problems_of: dict[int, list[FieldProblem]] = {}
    rec, raw_of, unknown, ignored, rows_to_events, cut_note = _collect(
        records, data, line_of, ctx, problems_of, quarantine
    )
    if cut_note is not None:
        truncated, note = True, note or cut_note
    events, bad_rows, fell_back, off_day = _timestamps(rec, ctx)
    # a quarantined message's lines: its quarantine row, not their byte-level problems
    kept = [
        ln for ln, r in zip(rec["source_line"], rec["_row_no"], strict=True) if r not in bad_rows
    ]
    gone = quarantine + [QuarantineRow(raw_of[r][0], "", "") for r in bad_rows]
    problems = kept_line_problems(enc_problems, gone, kept)
    for n_row, own in problems_of.items():  # in message order: only those kept as events
        if n_row not in bad_rows:
            problems.extend(own)
    for line in off_day:
        problems.append(
            FieldProblem(
                line,
                "ts",
                "",
                "EventDateTime second 60 outside the last minute of a UTC day (no leap second "
                "there): kept as second 59.999999999",
            )
        )
    for n_row in sorted(bad_rows):
        line, raw_txt = raw_of[n_row]
        quarantine.append(
            QuarantineRow(line, "EventDateTime (and syslog time) unreadable", raw_txt)
        )
        rows_to_events -= 1
    for line, value in fell_back:
        problems.append(
            FieldProblem(
                line, "ts", value or "", "EventDateTime missing or unreadable: syslog time used"
            )
        )
    return finish_file_read(
        ctx, events, rows_to_events=rows_to_events, ignored=ignored, quarantine=quarantine,
        problems=problems, truncated=truncated, note=note, unknown=unknown,
        replacement_chars=n_rep, encoding_note=enc_note,
    )  # fmt: skip


def _timestamps(
    rec: dict[str, list[Any]], ctx: ReadContext
) -> tuple[pd.DataFrame, set[int], list[tuple[int, str | None]], list[int]]:
    """Event times (:func:`labforensics.ingest._instants.parse_instants`), the syslog time where EventDateTime
    is missing or unreadable; also the lines whose second 60 is no UTC day's last second."""
    when = pd.Series(rec["_when"], dtype=object)
    sent = pd.Series(rec["_sent"], dtype=object)
    ts, quality, off_day = parse_instants(when, ctx.tz)
    miss = ts.isna().to_numpy()
    fell_back: list[tuple[int, str | None]] = []
    off_day_lines = sorted({rec["source_line"][i] for i in np.flatnonzero(off_day)})
    if miss.any():
        ts2, q2, _ = parse_instants(sent[miss], ctx.tz)
        ts[miss] = ts2
        quality[miss] = q2
        ok = miss & ts.notna().to_numpy()
        seen: set[int] = set()
        for i in np.flatnonzero(ok):
            if rec["_row_no"][i] not in seen:
                seen.add(rec["_row_no"][i])
                fell_back.append((rec["source_line"][i], rec["_when"][i]))
    row_no = np.asarray(rec["_row_no"], dtype=np.int64)
    bad_rows = set(row_no[ts.isna().to_numpy()].tolist())
    keep = ~np.isin(row_no, list(bad_rows))
    skip = ("_when", "_sent", "_row_no")
    cols = {k: np.asarray(v, dtype=object)[keep] for k, v in rec.items() if k not in skip}
    cols["ts"] = ts[keep].reset_index(drop=True)
    cols["ts_quality"] = quality[keep]
    return build_events(cols, ctx, FORMAT), bad_rows, fell_back, off_day_lines


register_reader(
    ReaderSpec(
        name=FORMAT,
        sniff=sniff_atna,
        read=read_atna,
        priority=30,
        description="IHE ATNA AuditMessage XML (DICOM PS3.15 / RFC 3881): files, RFC 5424, RFC 5425",
    )
)
