"""FHIR AuditEvent fields: one resource read into the fields of its event.

Agents (who, from where), patients, detail, outcome, time, break-glass purpose, kind
(action and codes) and site of one ``AuditEvent`` (FHIR R4 4.0.1 / R5 5.0.0), each
problem with a field noted on the way; the rules and their sources are listed in
:mod:`labforensics.ingest.readers.fhir`, which reads the files.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._common import OUTCOME_CODES, decode_base64, dicom_action, ipp_from_cx, is_ip, mask_query
from ._instants import DATE_ONLY
from .registry import FieldProblem

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
