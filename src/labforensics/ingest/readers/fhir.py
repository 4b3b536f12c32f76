"""Reader for HL7 FHIR ``AuditEvent`` resources, R4 and R5 shapes (format ``fhir_auditevent``).

Accepted files: one resource (``.json``), a ``Bundle`` (``entry[].resource``),
a JSON array of resources, or NDJSON (one resource or Bundle per line). A
*row* is one resource (a Bundle entry is a row; the Bundle itself is not).
Resources that are not ``AuditEvent`` are ``ignored``; invalid JSON is
quarantined with its line; an element of an unexpected shape is reported as a
:class:`~labforensics.ingest.registry.FieldProblem` whose ``problem`` names its
JSON path (``$.agent[0].network``), never a ``KeyError``.

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
    field problem at ``$.agent[i].who``). **No requesting agent**: the account
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
    demographics they search for masked (:func:`._common.mask_query`),
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
    OUTCOME_CODES,
    build_events,
    cap_text,
    decode,
    decode_base64,
    dicom_action,
    finish_file_read,
    ipp_from_cx,
    is_ip,
    mask_query,
    read_bytes,
    split_lines,
)
from .._instants import DATE_ONLY, parse_instants
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

#: FHIR restful-interaction code -> canonical action. Source: the CodeSystem
#: ``http://hl7.org/fhir/restful-interaction`` of FHIR R4 (4.0.1) and R5 (5.0.0; R5 adds
#: the conditional and delete-history codes). ``capabilities``, ``transaction``,
#: ``batch`` and ``operation`` are not in the table: they are read by ``action``.
REST_ACTIONS: dict[str, str] = {
    "read": "read",
    "vread": "read",
    "history": "read",
    "history-instance": "read",
    "history-type": "read",
    "history-system": "read",
    "search": "query",
    "search-type": "query",
    "search-system": "query",
    "search-compartment": "query",
    "create": "update",
    "create-conditional": "update",
    "update": "update",
    "update-conditional": "update",
    "patch": "update",
    "patch-conditional": "update",
    "delete": "purge",
    "delete-conditional-single": "purge",
    "delete-conditional-multiple": "purge",
    "delete-history": "purge",
    "delete-history-version": "purge",
}

_AE_KEY = re.compile(r'"resourceType"\s*:\s*"AuditEvent"')


def sniff_fhir(head: bytes, name: str) -> bool:
    """True for JSON/NDJSON whose head names an ``AuditEvent`` resource."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return start in (b"{", b"[") and b'"AuditEvent"' in head and b'"resourceType"' in head


class _Problems:
    """Collects field problems for one resource (line known)."""

    def __init__(self, line: int, out: list[FieldProblem]) -> None:
        self.line = line
        self.out = out

    def add(self, column: str, value: Any, path: str, what: str) -> None:
        text = value if isinstance(value, str) else json.dumps(value, default=str)[:200]
        self.out.append(FieldProblem(self.line, column, text, f"{path}: {what}"))


def _as_list(x: Any, path: str, column: str, pb: _Problems) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, list):
        return x
    if isinstance(x, dict):
        return [x]
    pb.add(column, x, path, "expected an object or an array")
    return []


def _codes(x: Any, path: str, column: str, pb: _Problems) -> list[tuple[str, str]]:
    """(system, code) pairs of a Coding, a CodeableConcept, or a list of either."""
    out: list[tuple[str, str]] = []
    for i, item in enumerate(_as_list(x, path, column, pb)):
        p = f"{path}[{i}]" if isinstance(x, list) else path
        if not isinstance(item, dict):
            pb.add(column, item, p, "expected a Coding or CodeableConcept object")
            continue
        if "coding" in item:
            out.extend(_codes(item["coding"], f"{p}.coding", column, pb))
            continue
        code = item.get("code")
        if code is None:
            if "text" not in item:
                pb.add(column, item, p, "Coding without code")
            continue
        if not isinstance(code, str | int):
            pb.add(column, code, f"{p}.code", "code is not a string")
            continue
        system = item.get("system")
        out.append((system if isinstance(system, str) else "", str(code)))
    return out


def _is_dicom(system: str, code: str) -> bool:
    return "dicom" in system.lower() or bool(re.fullmatch(r"1101\d\d", code))


def _ref_text(who: Any, path: str, pb: _Problems) -> str | None:
    if who is None:
        return None
    if not isinstance(who, dict):
        pb.add("account", who, path, "expected a Reference object")
        return None
    ident = who.get("identifier")
    if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"]:
        return ident["value"]
    if ident is not None and not isinstance(ident, dict):
        pb.add("account", ident, f"{path}.identifier", "expected an Identifier object")
    disp = who.get("display")
    if isinstance(disp, str) and disp:
        return disp
    return None


_NO_REQUESTOR = (
    "no agent with requestor true: account left missing (FHIR AuditEvent.agent.requestor: "
    "'If the initiator is not clear, then do not choose any one agent as the initiator')"
)


def _is_requestor(a: dict[str, Any]) -> bool:
    req = a.get("requestor")
    return req is True or (isinstance(req, str) and req.strip().lower() == "true")


def _agent(res: dict[str, Any], pb: _Problems) -> dict[str, Any]:
    """Account, role, host and address of the requesting agent (rule in the module docstring)."""
    agents = _as_list(res.get("agent"), "$.agent", "account", pb)
    out: dict[str, Any] = {"account": None, "role": None, "host": None, "src_ip": None}
    reqs: list[tuple[int, dict[str, Any]]] = []
    for i, a in enumerate(agents):
        if not isinstance(a, dict):
            pb.add("account", a, f"$.agent[{i}]", "expected an object")
            continue
        if _is_requestor(a):
            reqs.append((i, a))
    if not reqs:
        if not agents:
            pb.add("account", "", "$.agent", "no agent (1..* required): account missing")
        else:
            pb.add("account", "", "$.agent[*].requestor", _NO_REQUESTOR)
        return out
    chosen = reqs[0]
    if len(reqs) > 1:  # "there can only be one initiator": the person, not a device/address
        people = [(i, a) for i, a in reqs if not _device_or_address(a)]
        chosen = people[0] if people else reqs[0]
        pb.add(
            "account",
            "",
            "$.agent[*].requestor",
            f"{len(reqs)} agents with requestor true (FHIR: only one initiator): "
            f"$.agent[{chosen[0]}] taken, a person before a device or a network address",
        )
    i, a = chosen
    p = f"$.agent[{i}]"
    acc = _ref_text(a.get("who"), f"{p}.who", pb)
    if acc is None and isinstance(a.get("name"), str) and a["name"]:
        acc = a["name"]
    if (
        acc is None
        and isinstance(a.get("who"), dict)
        and isinstance(a["who"].get("reference"), str)
    ):
        acc = a["who"]["reference"]
    if acc is None:
        pb.add("account", "", f"{p}.who", "requesting agent without identifier, display, name "
               "or reference: account missing")  # fmt: skip
    out["account"] = acc
    roles = _codes(a.get("role"), f"{p}.role", "role", pb) if "role" in a else []
    if roles:
        out["role"] = roles[0][1].upper()
    elif isinstance(a.get("role"), list) and a["role"] and isinstance(a["role"][0], dict):
        text = a["role"][0].get("text")
        out["role"] = text.upper() if isinstance(text, str) else None
    net = a.get("network")
    if net is not None:
        if isinstance(net, dict):
            addr, typ = net.get("address"), str(net.get("type", "")).strip()
            if isinstance(addr, str) and addr:
                if typ == "2":
                    out["src_ip"] = addr
                elif typ == "1":
                    out["host"] = addr
                    if is_ip(addr):
                        out["src_ip"] = addr
                elif is_ip(addr):
                    out["src_ip"] = addr
                else:
                    out["host"] = addr
        else:
            pb.add("src_ip", net, f"{p}.network", "expected an object with address and type")
    for key in ("networkString", "networkUri"):
        val = a.get(key)
        if val is None:
            continue
        if not isinstance(val, str):
            pb.add("src_ip", val, f"{p}.{key}", "expected a string")
            continue
        if is_ip(val):
            out["src_ip"] = out["src_ip"] or val
        else:
            out["host"] = out["host"] or val
    return out


def _device_or_address(a: dict[str, Any]) -> bool:
    """The agent is a device (``who`` a ``Device/...`` reference) or named by an address."""
    who = a.get("who")
    if isinstance(who, dict):
        if str(who.get("reference") or "").startswith("Device/"):
            return True
        ident = who.get("identifier")
        if isinstance(ident, dict) and is_ip(ident.get("value")):
            return True
    return False


def _patient_from_ref(ref: Any) -> str | None:
    if not isinstance(ref, str):
        return None
    m = re.search(r"(?:^|/)Patient/([^/?#]+)", ref)
    return m.group(1) if m else None


#: ``Reference.type`` naming Patient: the type name, or its canonical URL (optionally
#: ``|version``). Source: FHIR R4/R5 "References" (Reference.type: "Patient" is a reference
#: to http://hl7.org/fhir/StructureDefinition/Patient).
_PATIENT_TYPE = re.compile(r"Patient|https?://hl7\.org/fhir/StructureDefinition/Patient(?:\|.*)?")


def _typed_patient(ref: dict[str, Any]) -> bool:
    t = ref.get("type")
    return isinstance(t, str) and _PATIENT_TYPE.fullmatch(t.strip()) is not None


def _ref_patient(ref: dict[str, Any], path: str, pb: _Problems, patientish: bool) -> str | None:
    """The patient id of a Reference: a literal ``Patient/<id>``, else (when the reference or
    its entity says it is a patient) its ``identifier.value``; a problem when it names none."""
    pid = _patient_from_ref(ref.get("reference"))
    if pid is not None:
        return pid
    ident = ref.get("identifier")
    if ident is not None and not isinstance(ident, dict):
        pb.add("patient", ident, f"{path}.identifier", "expected an Identifier object")
        ident = None
    if not patientish:
        if ident is not None and "type" not in ref:
            pb.add("patient", ref, path, "identifier without a type: not read as a patient")
        return None
    if ident is not None:
        pid = ipp_from_cx(ident.get("value") if isinstance(ident.get("value"), str) else None)
        if pid:
            return pid
        pb.add("patient", ref, f"{path}.identifier.value", "patient identifier without a value")
        return None
    pb.add("patient", ref, path, "a patient without a Patient/<id> reference or an identifier")
    return None


def _patients(res: dict[str, Any], pb: _Problems) -> list[str]:
    """Distinct patients of a resource, first-seen order (linear in the number of entities).

    A dict keyed by identifier keeps the order and makes the duplicate check O(1): a
    list membership test here made one resource with 300,000 entities quadratic.
    """
    found: dict[str, None] = {}
    pat = res.get("patient")
    if pat is not None:
        if isinstance(pat, dict):
            pid = _ref_patient(pat, "$.patient", pb, True)
            if pid:
                found[pid] = None
        else:
            pb.add("patient", pat, "$.patient", "expected a Reference object")
    ents = res.get("entity")
    for i, ent in enumerate(_as_list(ents, "$.entity", "patient", pb)):
        p = f"$.entity[{i}]" if isinstance(ents, list) else "$.entity"
        if not isinstance(ent, dict):
            pb.add("patient", ent, p, "expected an object")
            continue
        what = ent.get("what")
        if what is None:
            continue
        if not isinstance(what, dict):
            pb.add("patient", what, f"{p}.what", "expected a Reference object")
            continue
        pid = _patient_from_ref(what.get("reference"))
        if pid is not None:  # a literal Patient/<id>: the common case, fast
            found[pid] = None
            continue
        patientish = _typed_patient(what)
        if not patientish and ("type" in ent or "role" in ent):
            types = {c for _, c in _codes(ent.get("type"), f"{p}.type", "patient", pb)}
            roles = {c for _, c in _codes(ent.get("role"), f"{p}.role", "patient", pb)}
            # R4 entity.type 1 Person + role 1 Patient (audit-entity-type, object-role),
            # or the resource type "Patient"; a role Patient alone
            patientish = (
                ("1" in types and "1" in roles)
                or "Patient" in types
                or ("1" in roles and not types)
            )
            if not patientish:
                continue  # typed as something else: not a patient, nothing missing
        pid = _ref_patient(what, f"{p}.what", pb, patientish)
        if pid:
            found[pid] = None
    return list(found)


def _detail(res: dict[str, Any], pb: _Problems) -> str | None:
    parts: list[str] = []
    ents = res.get("entity")
    for i, ent in enumerate(ents if isinstance(ents, list) else []):
        if not isinstance(ent, dict) or "query" not in ent:
            continue
        q = ent["query"]
        text = decode_base64(q) if isinstance(q, str) else None
        if text is None:
            pb.add("detail", q, f"$.entity[{i}].query", "not base64: kept as written")
            text = q if isinstance(q, str) else None
        if text:
            parts.append(mask_query(text))
    desc = res.get("outcomeDesc")
    if isinstance(desc, str) and desc:
        parts.append(desc)
    out = res.get("outcome")
    if isinstance(out, dict):
        for d in out.get("detail", []) if isinstance(out.get("detail"), list) else []:
            if isinstance(d, dict) and isinstance(d.get("text"), str):
                parts.append(d["text"])
    return "; ".join(parts) if parts else None


def _outcome(res: dict[str, Any], pb: _Problems) -> tuple[str, str | None]:
    out = res.get("outcome")
    code: Any = None
    path = "$.outcome"
    if isinstance(out, str | int):
        code = out
    elif isinstance(out, dict):
        c = out.get("code")
        path = "$.outcome.code"
        if isinstance(c, dict) and "coding" in c:
            codes = _codes(c, path, "outcome", pb)
            code = codes[0][1] if codes else None
        elif isinstance(c, dict):
            code = c.get("code")
            path = "$.outcome.code.code"
        elif isinstance(c, str | int):
            pb.add("outcome", str(c), path, "expected a Coding object: code read as written")
            code = c
        elif c is not None:
            pb.add("outcome", c, path, "expected a Coding object")
    elif out is not None:
        pb.add("outcome", out, path, "expected a code or an object")
        return "success", None
    if code is None:
        pb.add("outcome", "", path, "outcome missing: read as success")
        return "success", None
    key = str(code).strip().lower()
    if key not in OUTCOME_CODES:
        pb.add("outcome", str(code), path, "unknown outcome code: read as success")
        return "success", str(code)
    return OUTCOME_CODES[key], str(code)


_DATE_ONLY_NOTE = "read as the start of that local day (ts_quality date_only, no duration)"


def _when(res: dict[str, Any], pb: _Problems) -> tuple[str | None, str | None]:
    """The event's date-time as written and its JSON path (the first present of the
    R5 occurred[x], R4 ``period.start``, ``recorded``)."""
    cands = [
        ("$.occurredDateTime", res.get("occurredDateTime")),
        (
            "$.occurredPeriod.start",
            (res.get("occurredPeriod") or {}).get("start")
            if isinstance(res.get("occurredPeriod"), dict)
            else None,
        ),
        (
            "$.period.start",
            (res.get("period") or {}).get("start") if isinstance(res.get("period"), dict) else None,
        ),
        ("$.recorded", res.get("recorded")),
    ]
    for path, val in cands:
        if val is None:
            continue
        if isinstance(val, str) and val.strip():
            val = val.strip()
            if DATE_ONLY.fullmatch(val):
                if path == "$.recorded":  # an instant: a time is required
                    pb.add("ts", val, path, "instant without a time: " + _DATE_ONLY_NOTE)
                elif len(val) < 10:  # YYYY or YYYY-MM: a valid dateTime, coarser than a day
                    pb.add("ts", val, path, "date of year or month precision: " + _DATE_ONLY_NOTE)
            return val, path
        pb.add("ts", val, path, "expected a date-time string")
    return None, None


#: Purpose-of-use codes meaning break-glass, read whatever the system. Source: HL7 v3
#: ActReason ``BTG`` "break the glass" (``http://terminology.hl7.org/CodeSystem/v3-ActReason``),
#: the value set bound to FHIR R4 ``AuditEvent.purposeOfEvent`` / ``agent.purposeOfUse``
#: (v3-PurposeOfUse) and R5 ``AuditEvent.authorization`` / ``agent.authorization``.
BREAK_GLASS_PURPOSES: frozenset[str] = frozenset({"BTG"})


def _break_glass(res: dict[str, Any], pb: _Problems) -> bool:
    """A break-glass purpose of use (:data:`BREAK_GLASS_PURPOSES`) on the event or an agent:
    R4 ``purposeOfEvent``, ``agent.purposeOfUse``; R5 ``authorization``,
    ``agent.authorization``."""
    found = False
    for key in ("purposeOfEvent", "authorization"):
        if key in res:
            codes = _codes(res[key], f"$.{key}", "action", pb)
            found |= any(c.upper() in BREAK_GLASS_PURPOSES for _, c in codes)
    agents = res.get("agent")
    for i, a in enumerate(agents if isinstance(agents, list) else []):
        if not isinstance(a, dict):
            continue
        for key in ("purposeOfUse", "authorization"):
            if key in a:
                codes = _codes(a[key], f"$.agent[{i}].{key}", "action", pb)
                found |= any(c.upper() in BREAK_GLASS_PURPOSES for _, c in codes)
    return found


def _kind(
    res: dict[str, Any], pb: _Problems, failed: bool
) -> tuple[str, str, str | None, str | None, bool]:
    """(action, action_raw, dicom_event_id, dicom_event_type, known)."""
    if "category" in res or ("code" in res and "type" not in res):
        main = _codes(res.get("category"), "$.category", "action", pb)
        sub = _codes(res.get("code"), "$.code", "action", pb)
        if res.get("code") is None:
            pb.add("action", "", "$.code", "event code missing (R5 AuditEvent.code is 1..1)")
    else:
        main = _codes(res.get("type"), "$.type", "action", pb)
        sub = _codes(res.get("subtype"), "$.subtype", "action", pb)
        if res.get("type") is None:
            pb.add("action", "", "$.type", "event type missing (R4 type, R5 code are 1..1)")
    ev = main[0][1] if main else None
    subs = [c for _, c in sub]
    ac = res.get("action")
    if ac is not None and not isinstance(ac, str):
        pb.add("action", ac, "$.action", "expected a code C/R/U/D/E")
        ac = None
    raw = (ev or "") + ("/" + "+".join(subs) if subs else "") if ev else "+".join(subs)
    dicom_id = ev if ev and main and _is_dicom(main[0][0], ev) else None
    dicom_type = next((c for s, c in sub if _is_dicom(s, c)), None)
    rest = [REST_ACTIONS[s.lower()] for s in subs if s.lower() in REST_ACTIONS]
    if ev and ev.lower() == "rest":
        action, known = (rest[0] if rest else dicom_action(None, [], ac, failed)[0]), True
        dicom_id = dicom_type = None
    elif ev is None and rest:  # R5: category is 0..*, code 1..1: a query read by its code
        action, known = rest[0], True
    else:
        action, known = dicom_action(ev, subs, ac, failed)
    if action not in ("login", "logout", "login_failed", "break_glass") and _break_glass(res, pb):
        action, raw = "break_glass", raw + "|BTG"
    return action, raw or (ac or ""), dicom_id, dicom_type, known


def _site(res: dict[str, Any]) -> str | None:
    src = res.get("source")
    if not isinstance(src, dict):
        return None
    site = src.get("site")
    if isinstance(site, str):
        return site or None
    if isinstance(site, dict) and isinstance(site.get("display"), str):
        return site["display"] or None
    return None


def _resources(obj: Any, line: int) -> list[tuple[Any, int, str]]:
    """(candidate resource, line, JSON path) for every row in a parsed document."""
    if isinstance(obj, list):
        return [(r, line, f"$[{i}]") for i, r in enumerate(obj)]
    if isinstance(obj, dict) and obj.get("resourceType") == "Bundle":
        entries = obj.get("entry")
        if not isinstance(entries, list):
            return []
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
    data, truncated, note = read_bytes(path)
    text = decode(data)
    problems: list[FieldProblem] = []
    quarantine: list[QuarantineRow] = []
    ignored = 0
    rows: list[tuple[Any, int, str, str]] = []  # (resource, line, path, raw)

    err: Exception | None = None
    try:
        doc = json.loads(text) if text.strip() else None
        whole_ok = bool(text.strip())
    except (json.JSONDecodeError, RecursionError) as exc:
        whole_ok, doc, err = False, None, exc
    if whole_ok:
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
            for i, ln in enumerate(lines, start=1):
                if not ln.strip():
                    ignored += 1
                    continue
                try:
                    obj = json.loads(ln)
                except (json.JSONDecodeError, RecursionError) as exc:
                    msg = getattr(exc, "msg", type(exc).__name__)
                    col = getattr(exc, "colno", None)
                    quarantine.append(
                        QuarantineRow(i, f"invalid JSON: {msg} (column {col})", cap_text(ln))
                    )
                    if i == len(lines) and not ends_nl:
                        truncated, note = True, note or f"last line {i} is cut short (invalid JSON)"
                    continue
                for res, line, jpath in _resources(obj, i):
                    rows.append((res, line, jpath, ln))
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

    rec: dict[str, list[Any]] = {
        k: []
        for k in (
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
        )
    }
    unknown: dict[str, int] = {}
    rows_to_events = 0
    for n_row, (res, line, jpath, raw) in enumerate(rows, start=1):
        if not isinstance(res, dict):
            quarantine.append(
                QuarantineRow(
                    line,
                    f"{jpath}: expected a resource object",
                    cap_text(raw or json.dumps(res, default=str)),
                )
            )
            continue
        if res.get("resourceType") != "AuditEvent":
            ignored += 1
            continue
        pb = _Problems(line, problems)
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
        site = _site(res)
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

    events, bad_rows = _timestamps(rec, ctx, problems)
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
        rows_to_events -= 1
    return finish_file_read(
        ctx, events, rows_to_events=rows_to_events, ignored=ignored, quarantine=quarantine,
        problems=problems, truncated=truncated, note=note, unknown=unknown,
    )  # fmt: skip


def _timestamps(
    rec: dict[str, list[Any]], ctx: ReadContext, problems: list[FieldProblem]
) -> tuple[pd.DataFrame, set[int]]:
    """Parse the collected date-times (vectorised), build the frame, list unparseable rows.

    Leap seconds and dates without a time follow :func:`._instants.parse_instants`; a
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
    skip = ("_when", "_when_path", "_row", "_row_no")
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
