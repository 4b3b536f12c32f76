"""Helpers shared by the FHIR, ATNA, syslog and xferlog readers.

Private to :mod:`labforensics.ingest`: reading evidence bytes (gzip undone,
read-only), turning local wall-clock times into UTC with a quality flag,
classifying network addresses, building the raw event frame, and the DICOM
PS3.16 CID 400/401 code table used by the FHIR and ATNA readers.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ..schema import TS_QUALITY, coerce_events
from . import clock
from . import files as _files
from ._bytes_text import decode_escaped
from ._cut_char import cut_char_note
from .registry import FieldProblem, FileRead, QuarantineRow, ReadContext

#: Lab code used when neither the source nor the caller names a lab.
UNKNOWN_LAB = "UNKNOWN"
#: Cap on the raw text kept in a quarantine row (characters).
RAW_CAP = 65536
#: Longest line (record) a text table may have, bytes: 1 MiB. The README and
#: :mod:`labforensics.preflight` (``HEAD_BYTES``) refuse a file of one endless line on
#: it; a record longer than it in a readable file is quarantined, never read whole.
MAX_LINE_BYTES = 1 << 20
#: The marker that ends a text cut at ``RAW_CAP`` characters (see :func:`cut_marker`).
CUT_MARK = re.compile(r"… \[[\d,]+ more characters? cut\]$")


def cut_marker(n_cut: int) -> str:
    """What follows a text cut to ``RAW_CAP`` characters: how many were cut.

    The count is grouped by commas (``52,428,734``), so it is not a run of 5+
    digits, which the quarantine redaction would take for a patient identifier.
    :data:`CUT_MARK` matches it at the end of a text.
    """
    return f"… [{n_cut:,} more character{'s' if n_cut != 1 else ''} cut]"


def cap_text(text: str) -> str:
    """``text`` for a quarantine row or a report: at most ``RAW_CAP`` characters, then
    :func:`cut_marker` of the rest when it is longer (every reader caps the same way)."""
    if len(text) <= RAW_CAP:
        return text
    return text[:RAW_CAP] + cut_marker(len(text) - RAW_CAP)


def read_bytes(path: Path) -> tuple[bytes, bool, str, np.ndarray | None]:
    """Read an evidence file read-only, undoing gzip when the file is gzip.

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    data : bytes
        The (decompressed) content.
    truncated : bool
        True when a gzip stream is cut short (what could be read is returned), or the
        text ends inside a character (:func:`._cut_char.cut_char_note`).
    note : str
        Why it is truncated, or ``""``.
    utf16 : numpy.ndarray or None
        None unless the file was UTF-16 text; then the positions in ``data`` of the
        U+FFFD its conversion made (:attr:`labforensics.ingest.files.Decompressed.utf16`),
        for :func:`labforensics.ingest._lis_encoding.decode_utf8_accounted`.

    Raises
    ------
    EvidenceError
        When the file cannot be opened or read, or changes while it is read.

    Notes
    -----
    A thin view of :func:`labforensics.ingest.files.read_bytes` (gzip members cut
    short or corrupt are recovered up to the damage; the bytes are recorded in the
    current custody log).
    """
    dec = _files.read_bytes(path)
    # these readers read UTF-8 (or UTF-16) text; a gzip cut already says why it ends so
    cut = "" if dec.truncated else cut_char_note(dec.data, dec.utf16)
    if cut:
        return dec.data, True, "; ".join(x for x in (dec.note, cut) if x), dec.utf16
    return dec.data, dec.truncated, dec.note, dec.utf16


def split_lines(text: str) -> tuple[list[str], bool]:
    """Physical lines of ``text`` (``\\r\\n`` or ``\\n``), and whether the last had a line end.

    A final line without a line end is a line like the others (a log copied while
    closed); an empty text has no lines.
    """
    if not text:
        return [], True
    ends_nl = text.endswith("\n")
    lines = text.split("\n")
    if ends_nl:
        lines.pop()
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    return lines, ends_nl


def localize(naive: pd.Series, tz: ZoneInfo) -> tuple[pd.Series, np.ndarray]:
    """Local wall-clock times of one file, in file order, to UTC, with their ``ts_quality``.

    A thin wrapper over :func:`labforensics.ingest.clock.localize` (the rules of
    ``shared/formats/lis-audit-csv.md``, "Clock rules"): a fall-back hour time is
    resolved by the file's first backward step (``ambiguous_resolved``), else read
    as the first pass (``ambiguous_unresolved``); a spring-forward time is read
    with the winter offset (``nonexistent_shifted``); others are ``exact``.

    Parameters
    ----------
    naive : pandas.Series of datetime64
        Naive local times in file order; NaT stays NaT.
    tz : zoneinfo.ZoneInfo

    Returns
    -------
    ts : pandas.Series of datetime64[ns, UTC], same index
    quality : numpy.ndarray of object (str), same length
    """
    wall = pd.to_datetime(naive).astype("datetime64[ns]")
    valid = wall.notna().to_numpy(dtype=bool)
    wall_ns = wall.to_numpy().view("int64").copy()
    wall_ns[~valid] = 0
    utc_ns, qcode = clock.localize(wall_ns, tz, valid=valid)
    vals = np.asarray(utc_ns, dtype="int64").view("datetime64[ns]").copy()
    vals[~valid] = np.datetime64("NaT")
    quality = np.asarray(TS_QUALITY, dtype=object)[np.asarray(qcode, dtype=np.int64)]
    quality[~valid] = "exact"
    return pd.Series(vals, index=naive.index).dt.tz_localize("UTC"), quality


_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def is_ip(text: str | None) -> bool:
    """True when ``text`` is an IPv4 or IPv6 literal (an IPv6 zone ``%eth0`` allowed)."""
    if not text:
        return False
    t = text.strip().strip("[]")
    try:
        ipaddress.ip_address(t.split("%", 1)[0])
    except ValueError:
        return False
    return True


def decode_base64(text: str) -> str | None:
    """Decode base64 to text (UTF-8, each undecodable byte U+FFFD and its hex, as every
    reader: :func:`~labforensics.ingest._bytes_text.decode_escaped`); None when not
    base64."""
    try:
        raw = base64.b64decode("".join(str(text).split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decode_escaped(raw)


def ipp_from_cx(value: str | None) -> str | None:
    """The ID of an HL7 v2 CX identifier (``ID^^^&OID&ISO`` -> ``ID``); plain text passes."""
    if value is None:
        return None
    v = str(value).strip()
    if "^" in v:
        v = v.split("^", 1)[0].strip()
    return v or None


def account_kind(ctx: ReadContext, account: pd.Series) -> pd.Series:
    """Account kind per row: ``ctx.account_kinds`` override, else ``unknown``."""
    kinds = dict(ctx.account_kinds or {})
    if not kinds:
        return pd.Series(["unknown"] * len(account), index=account.index, dtype=object)
    # dictionary lookup per distinct account (vectorized), not a Python call per event
    return account.astype(object).map(kinds).fillna("unknown").astype(object)


def build_events(
    cols: Mapping[str, Sequence[Any] | pd.Series | np.ndarray], ctx: ReadContext, source_format: str
) -> pd.DataFrame:
    """Assemble raw events: canonical dtypes, ``lab``/``account_kind``/provenance filled.

    Parameters
    ----------
    cols : mapping of column name to equal-length sequences
        Canonical columns plus ``_ipp``; ``ts`` as UTC datetimes.
    ctx : ReadContext
    source_format : str

    Returns
    -------
    pandas.DataFrame
        Canonical columns (see :mod:`labforensics.schema`) plus ``_ipp`` (str or missing).
    """
    df = pd.DataFrame(
        {k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in cols.items()}
    )
    n = len(df)
    if "lab" not in df.columns:
        df["lab"] = ctx.lab or UNKNOWN_LAB
    else:
        df["lab"] = df["lab"].fillna(ctx.lab or UNKNOWN_LAB)
    if "account" not in df.columns:
        df["account"] = pd.Series([None] * n, dtype=object)
    df["account_kind"] = account_kind(ctx, df["account"]).to_numpy()
    if "ts_quality" not in df.columns:
        df["ts_quality"] = "exact"
    df["source_format"] = source_format
    df["source_file"] = ctx.source_file
    if "_ipp" not in df.columns:
        df["_ipp"] = pd.Series([None] * n, dtype=object)
    out = coerce_events(df.drop(columns=["seq"], errors="ignore"))
    out["_ipp"] = out["_ipp"].astype("string[pyarrow]")
    return out


# --- DICOM PS3.16 CID 400 (Audit Event ID) / CID 401 (Audit Event Type Code) ----------

#: Event ID -> canonical action, when the action does not depend on the
#: EventActionCode. Source: DICOM PS3.16 CID 400 and PS3.15 A.5.3; the LIS
#: mapping of ``shared/formats/lis-audit-csv.md`` (110106 export, 110112 query).
DICOM_EVENT_ACTION: dict[str, str] = {
    "110100": "other",  # Application Activity (start/stop)
    "110101": "other",  # Audit Log Used
    "110104": "transmit",  # DICOM Instances Transferred
    "110105": "purge",  # DICOM Study Deleted
    "110106": "export",  # Export (also FHIR "disclosure")
    "110107": "other",  # Import: data entering the system, not a user read/write of a record
    "110108": "other",  # Network Entry
    "110112": "query",  # Query
    "110113": "other",  # Security Alert
}
#: Event IDs whose action follows the EventActionCode (C/R/U/D/E).
DICOM_BY_ACTION_CODE: frozenset[str] = frozenset({"110102", "110103", "110109", "110110", "110111"})
#: EventActionCode -> canonical action (create/update -> update, delete -> purge).
ACTION_CODE_ACTION: dict[str, str] = {
    "C": "update",
    "R": "read",
    "U": "update",
    "D": "purge",
    "E": "other",
}
#: CID 401 types of 110114 User Authentication.
LOGIN_TYPES = frozenset({"110122", "login"})
LOGOUT_TYPES = frozenset({"110123", "logout"})
#: CID 401 Login / Logout written as the EventID itself (dcm4chee-arc's User Authentication
#: message: ``EventID`` "EV (110122, DCM, 'Login')" or 110123 Logout, no EventTypeCode; source:
#: dcm4che/dcm4chee-arc-cs ``docs/audit/user-authentication.rst``): read as 110114 + that type.
AUTH_TYPE_AS_EVENT_ID = frozenset({"110122", "110123"})
#: CID 401 110127 "Emergency Override Started" (PS3.16; a type of PS3.15 A.5.3 Security Alert
#: 110113): break-glass, whatever the EventID. 110138 "Emergency Override Stopped" is not.
BREAK_GLASS_TYPES = frozenset({"110127"})


def dicom_action(
    event_id: str | None, type_codes: Sequence[str], action_code: str | None, failed: bool
) -> tuple[str, bool]:
    """Canonical action of a DICOM-coded audit event.

    Parameters
    ----------
    event_id : str or None
        EventID / FHIR ``type`` / R5 ``category`` code.
    type_codes : sequence of str
        EventTypeCode / FHIR ``subtype`` / R5 ``code`` codes.
    action_code : str or None
        C/R/U/D/E.
    failed : bool
        The outcome is a failure (a failed login is ``login_failed``).

    Returns
    -------
    action : str
        Canonical action (:data:`labforensics.schema.ACTIONS`).
    known : bool
        False when ``event_id`` is not in the table (mapped from the action code
        or to ``other``): the caller counts it in ``unknown_codes``.
    """
    ac = (action_code or "").strip().upper()
    types = {str(t).strip().lower() for t in type_codes if t}
    if event_id in AUTH_TYPE_AS_EVENT_ID:  # dcm4chee: Login/Logout as the EventID
        event_id, types = "110114", types | {event_id}
    if types & BREAK_GLASS_TYPES:
        return "break_glass", True
    if event_id == "110114":
        if types & LOGOUT_TYPES:
            return "logout", True
        if types & LOGIN_TYPES:
            return ("login_failed" if failed else "login"), True
        return ("login_failed" if failed else "other"), True
    if event_id in DICOM_EVENT_ACTION:
        return DICOM_EVENT_ACTION[event_id], True
    if event_id in DICOM_BY_ACTION_CODE:
        return ACTION_CODE_ACTION.get(ac, "other"), True
    if types & LOGIN_TYPES:
        return ("login_failed" if failed else "login"), True
    if types & LOGOUT_TYPES:
        return "logout", True
    return ACTION_CODE_ACTION.get(ac, "other"), False


#: Outcome codes, read whatever the code system: DICOM/FHIR R4 audit-event-outcome
#: (0 success, 4 minor failure, 8 serious failure, 12 major failure) and R5
#: issue-severity (success, information, warning / error, fatal). Source:
#: ``shared/cases/010-fhir-r4-r5-shapes/expected.md``; HL7 FHIR R4 ValueSet
#: audit-event-outcome; DICOM PS3.15 A.5.1 EventOutcomeIndicator.
OUTCOME_CODES: dict[str, str] = {
    "0": "success",
    "success": "success",
    "information": "success",
    "warning": "success",
    "4": "failure",
    "8": "failure",
    "12": "failure",
    "error": "failure",
    "fatal": "failure",
}


# --- decoded queries: patient identifiers and demographics masked ---------------------

_MASK = "[REDACTED]"
_V2_CX = re.compile(r"(?<=[|~])([^|^~\r\n&]+)(?=\^\^\^)")
_V2_QPD_PID = re.compile(r"(@PID\.\d+(?:\.\d+)*\^)([^~|\r\n]*)")
_V3_NAME = re.compile(r"<((?:\w+:)?(?:family|given|prefix|suffix))\b([^>]*)>[^<]*</\1\s*>")
_V3_BLOCK = re.compile(
    r"<((?:\w+:)?(?:patientIdentifier|livingSubjectId|livingSubjectBirthTime|"
    r"livingSubjectAdministrativeGender|livingSubjectBirthPlaceAddress|"
    r"livingSubjectBirthPlaceName|patientAddress|patientTelecom|mothersMaidenName|"
    r"otherIDsScopingOrganization|patientStatusCode))\b(.*?)</\1\s*>",
    re.S,
)
_V3_ATTR = re.compile(r'\b(extension|value)="[^"]*"')
_V3_TEXT = re.compile(r"(<(?P<tag>[\w:.-]+)[^>]*>)(\s*[^<\s][^<]*)(?=<)")
# FHIR search parameters whose values carry personal data: the person search parameters
# of Patient, Person, Practitioner and RelatedPerson (HL7 FHIR R4 and R5, "Search
# Parameters" tables of https://hl7.org/fhir/R4/patient.html#search, person.html,
# practitioner.html, relatedperson.html; R5 adds death-date, family and given to Person
# and RelatedPerson), the references to a person (patient, subject, person, link,
# practitioner, general-practitioner, relatedperson), the resource id and the full-text
# and filter parameters of every resource (_id, _content, _text, _filter:
# https://hl7.org/fhir/R4/search.html#all), and IHE PDQm's mothersMaidenName (ITI-78).
# gender and death-date are masked too: with a birth date they narrow a patient down.
_FHIR_PERSONAL = frozenset(
    (
        "name family given phonetic birthdate death-date deathdate gender address telecom phone "
        "email identifier patient subject person link practitioner general-practitioner "
        "relatedperson _id _content _text _filter mothersmaidenname"
    ).split()
)
# One parameter: its name starts at the start of the text, after "?", "&" or ";" (so
# "&amp;" too) or after a blank or a line break: a POST search body has no leading "?",
# a body may follow a request line ("POST /Patient/_search name=X"); a quoted value after
# a blank is an XML attribute (<a name="x">), kept (_mask_param). The name (bounded) is
# word characters, ".", ":", "-" and %XX escapes; the value runs to the next "&" or line
# break, blanks and quotes included ("address=12 rue du Four", '_filter=name eq "X"'),
# or to the end of a JSON string (a quote before ",", "}", "]", ":" or the end) or of an
# XML element ("</") in a quarantined raw record. Anchored by the look-behind; each
# candidate name is scanned once (names do not hold the anchor characters), the value's
# loop unrolled (plain characters in runs, a quote or "<" between runs; a look-ahead
# reads the blanks after a quote): linear.
_FHIR_PARAM = re.compile(
    r"(?<![^?&;\s])([\w.:%-]{1,128})(=)"
    r"([^&\r\n\"<]*(?:(?:\"(?![ \t]*(?:[,}\]:]|$))|<(?!/))[^&\r\n\"<]*)*)"
)
# A FHIR id is letters, digits, "-" and "." (R4 "id" data type): "Patient/_search",
# "Patient/_history" and "Patient/$match" name an operation, not a patient.
_FHIR_PATIENT_PATH = re.compile(r"(\bPatient/)(?![_$])([^/?#\s&\"'<>,;|(){}\[\]\\]+)")


def _mask_text(m: re.Match[str]) -> str:
    if m.group("tag").rsplit(":", 1)[-1] == "semanticsText":  # a label, not a value
        return m.group(0)
    return m.group(1) + _MASK


def fhir_param_is_personal(name: str) -> bool:
    """True when a FHIR search parameter's name says its value carries personal data.

    ``name`` is the parameter as written before ``=``: percent-escapes are decoded, case
    is ignored, and it is split into its chained parts (``.``) and each part's modifier
    or type (``:``) dropped; it is personal when any part is a person search parameter
    of Patient, Person, Practitioner or RelatedPerson (R4/R5), a reference to a person,
    or a full-text parameter (see ``_FHIR_PERSONAL``): ``name``, ``NAME``,
    ``name:exact``, ``address-city``, ``patient.name``, ``subject:Patient.family``,
    ``_content``, ``%5Fcontent``.
    """
    parts = urllib.parse.unquote(name).lower().split(".")
    for part in parts:
        base = part.split(":", 1)[0]
        if base in _FHIR_PERSONAL or base.startswith("address"):
            return True
    return False


def _mask_param(m: re.Match[str]) -> str:
    a, value = m.start(), m.group(3)
    if not fhir_param_is_personal(m.group(1)):
        return m.group(0)
    if a and m.string[a - 1].isspace() and value[:1] in ("'", '"'):
        return m.group(0)  # an attribute of an XML element, not a query parameter
    return m.group(1) + m.group(2) + _MASK


def mask_query(text: str) -> str:
    """Mask patient identifiers and demographics in a decoded audit query (best effort).

    An audited query names the patient it looks for: a PIX/PDQ query carries an
    identifier, a name, a birth date. Those values are replaced by
    ``[REDACTED]`` before the text becomes ``detail``; the structure (which
    parameters were used) is kept. Covered: HL7 v2 CX identifiers (``ID^^^&OID``)
    and ``@PID.n^value`` query parameters; HL7 v3 ``family``/``given``/``prefix``/
    ``suffix`` elements and the values inside patient identifier, birth time,
    gender, address, telecom and mother's maiden name parameters; FHIR search
    parameters carrying personal data (:func:`fhir_param_is_personal`: ``name``,
    ``family``, ``given``, ``phonetic``, ``birthdate``, ``address*``, ``phone``,
    ``email``, ``telecom``, ``identifier``, ``patient``, ``subject``, ``_id``,
    ``_content``, ``_text``, ``_filter``...; chained, with modifiers, in any case), in
    any position (the first parameter of a POST search body has no ``?``), the whole
    value to the next ``&`` (URL-encoded or with blanks); and ``Patient/<id>`` paths.
    NIRs, e-mail addresses and phone numbers elsewhere are left to
    :mod:`labforensics.privacy`.

    Sources: HL7 v2.5 QPD (IHE ITI-9/ITI-21), HL7 v3 PRPA_IN201305UV02 /
    PRPA_IN201309UV02 parameter lists (IHE ITI-45/ITI-47), FHIR R4/R5 search
    parameters of Patient, Person, Practitioner and RelatedPerson, IHE PDQm (ITI-78).
    """
    if not text:
        return text
    text = _V2_CX.sub(_MASK, text)
    text = _V2_QPD_PID.sub(lambda m: m.group(1) + _MASK, text)
    text = _V3_NAME.sub(lambda m: f"<{m.group(1)}{m.group(2)}>{_MASK}</{m.group(1)}>", text)
    text = _V3_BLOCK.sub(
        lambda m: (
            f"<{m.group(1)}"
            + _V3_TEXT.sub(_mask_text, _V3_ATTR.sub(r'\1="' + _MASK + '"', m.group(2)))
            + f"</{m.group(1)}>"
        ),
        text,
    )
    text = _FHIR_PARAM.sub(_mask_param, text)
    return _FHIR_PATIENT_PATH.sub(lambda m: m.group(1) + _MASK, text)


_RAW_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # FHIR JSON: identifier values, base64 queries, names of persons
    (
        re.compile(r'("identifier"\s*:\s*\{[^{}]*?"value"\s*:\s*")((?:[^"\\]|\\.)*)(")'),
        r"\1[REDACTED]\3",
    ),
    (re.compile(r'("query"\s*:\s*")((?:[^"\\]|\\.)*)(")'), r"\1[REDACTED]\3"),
    # names: an entity's or a reference's (a patient's name, the display of Patient/...),
    # HumanName parts; an agent's name too (conservative: the record did not parse)
    (
        re.compile(r'("(?:display|name|family|text)"\s*:\s*")((?:[^"\\]|\\.)*)(")'),
        r"\1[REDACTED]\3",
    ),
    (re.compile(r'("(?:given|prefix|suffix)"\s*:\s*\[)([^\]]*)(\])'), r"\1[REDACTED]\3"),
    # ATNA XML: participant object ids, names, queries, details
    (re.compile(r'(ParticipantObjectID\s*=\s*")([^"]*)(")'), r"\1[REDACTED]\3"),
    (re.compile(r"(ParticipantObjectID\s*=\s*')([^']*)(')"), r"\1[REDACTED]\3"),
    (
        re.compile(
            r"(<(?:\w+:)?(ParticipantObjectQuery|ParticipantObjectName)\b[^>]*>)(.*?)(</)", re.S
        ),
        r"\1[REDACTED]\4",
    ),
    (
        re.compile(r'(<(?:\w+:)?ParticipantObjectDetail\b[^>]*\bvalue\s*=\s*")([^"]*)(")'),
        r"\1[REDACTED]\3",
    ),
)


#: A record cut inside a value to be masked (its closing quote lost): masked to the end.
_CUT_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(r'("(?:value|query|display|name|family|text|reference)"\s*:\s*")((?:[^"\\]|\\.)*)$'),
    re.compile(r'("(?:given|prefix|suffix)"\s*:\s*\[)([^\]]*)$'),
    re.compile(r"(ParticipantObjectID\s*=\s*[\"'])([^\"']*)$"),
    re.compile(r'(<(?:\w+:)?ParticipantObjectDetail\b[^>]*\bvalue\s*=\s*")([^"]*)$'),
    re.compile(r"(<(?:\w+:)?(?:ParticipantObjectQuery|ParticipantObjectName)\b[^>]*>)([^<]*)$"),
)


def mask_raw(text: str) -> str:
    """Mask patient references in a quarantined FHIR or ATNA record's raw text.

    A quarantined record never reaches the patient pseudonymisation, so the
    identifiers it holds would otherwise be written as they are. Masked:
    ``Patient/<id>`` references, FHIR ``identifier.value`` and ``query`` values,
    names (``display``, ``name``, ``text`` and the parts of a HumanName: a patient's
    name, an agent's too), ATNA ``ParticipantObjectID``, ``ParticipantObjectQuery``,
    ``ParticipantObjectName`` and ``ParticipantObjectDetail/@value``; a record cut
    inside one of those values (no closing quote) is masked to its end; then the
    decoded-query rules of :func:`mask_query`. The rest stays as written, to show
    what was wrong with the record.
    """
    if not text:
        return text
    for rx, rep in _RAW_RULES:
        text = rx.sub(rep, text)
    for rx in _CUT_RULES:  # a record cut short (invalid JSON, XML not well formed)
        text = rx.sub(lambda m: m.group(1) + _MASK if m.group(2) else m.group(0), text)
    return mask_query(text)


def finish_file_read(
    ctx: ReadContext,
    events: pd.DataFrame,
    *,
    rows_to_events: int,
    ignored: int,
    quarantine: list[QuarantineRow],
    problems: list[FieldProblem],
    truncated: bool,
    note: str,
    unknown: dict[str, int],
    replacement_chars: int = 0,
    encoding_note: str = "",
    rows_recoded: int = 0,
) -> FileRead:
    """The :class:`FileRead` of a message-based reader (FHIR, ATNA), masked and counted.

    Quarantined records and field-problem values never reach pseudonymisation, so
    the patient references in them are masked here (:func:`mask_raw`); quarantine
    rows are sorted by line; ``rows_read = rows_to_events + ignored + quarantined``.
    ``rows_recoded``, ``replacement_chars`` and ``encoding_note``: the file's lines
    decoded as cp1252 and undecodable bytes
    (:func:`labforensics.ingest._lis_encoding.decode_utf8_accounted`).
    """
    quarantine = sorted(quarantine, key=lambda q: q.line or 0)
    quarantine = [QuarantineRow(q.line, q.reason, mask_raw(q.raw)) for q in quarantine]
    problems = [FieldProblem(p.line, p.column, mask_raw(p.value), p.problem) for p in problems]
    return FileRead(
        events=events,
        rows_read=rows_to_events + ignored + len(quarantine),
        rows_to_events=rows_to_events,
        ignored=ignored,
        quarantine=quarantine,
        field_problems=problems,
        truncated=truncated,
        truncation_note=note,
        unknown_codes=unknown,
        lab=ctx.lab,
        rows_recoded=rows_recoded,
        replacement_chars=replacement_chars,
        encoding_note=encoding_note,
    )
