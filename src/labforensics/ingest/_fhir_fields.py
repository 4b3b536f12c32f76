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


def _json_type(x: Any) -> str:
    """The JSON type of a parsed value, as a problem names it (``a number``, ``an array``)."""
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, int | float):
        return "a number"
    if isinstance(x, list):
        return "an array"
    if isinstance(x, dict):
        return "an object"
    return "a string" if isinstance(x, str) else "null"


def _text(
    x: Any, path: str, column: str, pb: _Problems, *, code: bool = False, then: str = "not read"
) -> str | None:
    """A string element: the string; absent (``None``) -> ``None``, no problem.

    Any other JSON type is a problem at ``path`` naming the type, and ``None`` (``then``
    says what follows). A code written as an integer (``"outcome": 0``) is read as
    written (``"0"``, the same code: integers have one decimal form) with a problem;
    a boolean, a fraction, an array or an object is never turned into text.
    """
    if x is None or isinstance(x, str):
        return x
    if code and isinstance(x, int) and not isinstance(x, bool):
        pb.add(column, x, path, "expected a code string, got a number: read as written")
        return str(x)
    pb.add(column, x, path, f"expected a {'code ' if code else ''}string, got {_json_type(x)}: "
           + then)  # fmt: skip
    return None


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
        code = _text(code, f"{p}.code", column, pb, code=True)
        if code is None:
            continue
        system = _text(item.get("system"), f"{p}.system", column, pb, then="code read without it")
        out.append((system or "", code))
    return out


def _is_dicom(system: str, code: str) -> bool:
    return "dicom" in system.lower() or bool(re.fullmatch(r"1101\d\d", code))


#: What follows an account element of the wrong type (QA session 12).
_NO_NEXT = (
    "account missing (the next of identifier, display, name, reference names the agent "
    "otherwise: not read in its place)"
)


def _account(a: dict[str, Any], p: str, pb: _Problems) -> str | None:
    """The requesting agent's account: the first PRESENT of ``who.identifier.value``,
    ``who.display``, ``name``, ``who.reference``.

    One present but not a non-empty string (``["tech10"]``, ``42``, ``{}``), or a ``who``
    or ``identifier`` that is not an object, leaves the account missing with a problem
    at its path: the next element would be another identity (a display name
    ``Tech Dix`` where the login is ``tech10``), which would split or merge the
    account's sessions without a word.
    """
    who = a.get("who")
    if who is not None and not isinstance(who, dict):
        pb.add("account", who, f"{p}.who", f"expected a Reference object, got "
               f"{_json_type(who)}: " + _NO_NEXT)  # fmt: skip
        return None
    who = who or {}
    ident = who.get("identifier")
    if ident is not None and not isinstance(ident, dict):
        pb.add("account", ident, f"{p}.who.identifier", f"expected an Identifier object, got "
               f"{_json_type(ident)}: " + _NO_NEXT)  # fmt: skip
        return None
    for path, val in (
        (f"{p}.who.identifier.value", (ident or {}).get("value")),
        (f"{p}.who.display", who.get("display")),
        (f"{p}.name", a.get("name")),
        (f"{p}.who.reference", who.get("reference")),
    ):
        if val is None:
            continue
        if isinstance(val, str) and val:
            return val
        what = "an empty string" if val == "" else _json_type(val)
        pb.add("account", val, path, f"expected a non-empty string, got {what}: " + _NO_NEXT)
        return None
    pb.add("account", "", f"{p}.who", "requesting agent without identifier, display, name "
           "or reference: account missing")  # fmt: skip
    return None


_NO_REQUESTOR = (
    "no agent with requestor true: account left missing (FHIR AuditEvent.agent.requestor: "
    "'If the initiator is not clear, then do not choose any one agent as the initiator')"
)


def _is_requestor(a: dict[str, Any], path: str, pb: _Problems) -> bool:
    """``requestor`` is true; a string ``"true"``/``"false"`` is read so with a problem,
    any other non-boolean is a problem and not the requestor."""
    req = a.get("requestor")
    if req is None or isinstance(req, bool):
        return req is True
    word = req.strip().lower() if isinstance(req, str) else None
    if word in ("true", "false"):
        pb.add("account", req, path, f"expected a boolean, got a string: read as {word}")
        return word == "true"
    pb.add("account", req, path, f"expected a boolean, got {_json_type(req)}: "
           "not read as the requestor")  # fmt: skip
    return False


def _agent(res: dict[str, Any], pb: _Problems) -> dict[str, Any]:
    """Account, role, host and address of the requesting agent (rule in the module docstring)."""
    agents = _as_list(res.get("agent"), "$.agent", "account", pb)
    out: dict[str, Any] = {"account": None, "role": None, "host": None, "src_ip": None}
    reqs: list[tuple[int, dict[str, Any]]] = []
    for i, a in enumerate(agents):
        if not isinstance(a, dict):
            pb.add("account", a, f"$.agent[{i}]", "expected an object")
            continue
        if _is_requestor(a, f"$.agent[{i}].requestor", pb):
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
    out["account"] = _account(a, p, pb)
    roles = _codes(a.get("role"), f"{p}.role", "role", pb) if "role" in a else []
    if roles:
        out["role"] = roles[0][1].upper()
    elif isinstance(a.get("role"), list) and a["role"] and isinstance(a["role"][0], dict):
        text = _text(a["role"][0].get("text"), f"{p}.role[0].text", "role", pb)
        out["role"] = text.upper() if text else None
    net = a.get("network")
    if net is not None:
        if isinstance(net, dict):
            addr = _text(net.get("address"), f"{p}.network.address", "src_ip", pb,
                         then="address missing")  # fmt: skip
            typ = _text(net.get("type"), f"{p}.network.type", "src_ip", pb, code=True,
                        then="the address read by its form")  # fmt: skip
            typ = (typ or "").strip()
            if addr:
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


def _typed_patient(ref: dict[str, Any], path: str, pb: _Problems) -> bool:
    t = _text(ref.get("type"), f"{path}.type", "patient", pb, then="not read as a type")
    return t is not None and _PATIENT_TYPE.fullmatch(t.strip()) is not None


def _reference_checked(ref: dict[str, Any], path: str, pb: _Problems) -> None:
    """A ``reference`` that is not a string is a problem (``42``: no patient read from it)."""
    _text(ref.get("reference"), f"{path}.reference", "patient", pb,
          then="no patient read from it")  # fmt: skip


def _ref_patient(ref: dict[str, Any], path: str, pb: _Problems, patientish: bool) -> str | None:
    """The patient id of a Reference: a literal ``Patient/<id>``, else (when the reference or
    its entity says it is a patient) its ``identifier.value``; a problem when it names none."""
    pid = _patient_from_ref(ref.get("reference"))  # a non-string: reported by the caller
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
        val = ident.get("value")
        if val is not None and not isinstance(val, str):  # 4711 may be IPP 004711: not guessed
            pb.add("patient", val, f"{path}.identifier.value",
                   f"expected a string, got {_json_type(val)}: no patient read from it")  # fmt: skip
            return None
        pid = ipp_from_cx(val)
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
            _reference_checked(pat, "$.patient", pb)
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
        _reference_checked(what, f"{p}.what", pb)
        patientish = _typed_patient(what, f"{p}.what", pb)
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


def _one_or_many(x: Any) -> list[Any]:
    """An array as is, an object as a one-item array, else nothing (its shape is reported
    where the element is first read)."""
    return x if isinstance(x, list) else [x] if isinstance(x, dict) else []


def _detail(res: dict[str, Any], pb: _Problems) -> str | None:
    parts: list[str] = []
    ents = res.get("entity")
    for i, ent in enumerate(_one_or_many(ents)):
        if not isinstance(ent, dict) or "query" not in ent:
            continue
        p = f"$.entity[{i}].query" if isinstance(ents, list) else "$.entity.query"
        q = _text(ent["query"], p, "detail", pb, then="not read")
        text = decode_base64(q) if q is not None else None
        if q is not None and text is None:
            pb.add("detail", q, p, "not base64: kept as written")
            text = q
        if text:
            parts.append(mask_query(text))
    desc = _text(res.get("outcomeDesc"), "$.outcomeDesc", "detail", pb)
    if desc:
        parts.append(desc)
    out = res.get("outcome")
    if isinstance(out, dict) and out.get("detail") is not None:
        dets = out["detail"]
        for i, d in enumerate(_as_list(dets, "$.outcome.detail", "detail", pb)):
            p = f"$.outcome.detail[{i}]" if isinstance(dets, list) else "$.outcome.detail"
            if not isinstance(d, dict):
                pb.add("detail", d, p, f"expected a CodeableConcept object, got {_json_type(d)}")
                continue
            text = _text(d.get("text"), f"{p}.text", "detail", pb)
            if text:
                parts.append(text)
    return "; ".join(parts) if parts else None


def _outcome(res: dict[str, Any], pb: _Problems) -> tuple[str, str | None]:
    out = res.get("outcome")
    code: Any = None
    path = "$.outcome"
    if isinstance(out, str):
        code = out
    elif isinstance(out, int | float | list) and out is not None:  # bool is an int
        code = _text(out, path, "outcome", pb, code=True, then="read as success")
        if code is None:
            return "success", None
    elif isinstance(out, dict):
        c = out.get("code")
        path = "$.outcome.code"
        if isinstance(c, dict) and "coding" in c:
            codes = _codes(c, path, "outcome", pb)
            code = codes[0][1] if codes else None
        elif isinstance(c, dict):
            path = "$.outcome.code.code"
            code = _text(c.get("code"), path, "outcome", pb, code=True, then="read as success")
            if code is None and c.get("code") is not None:
                return "success", None
        elif isinstance(c, str | int) and not isinstance(c, bool):
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
    periods = {}
    for key in ("occurredPeriod", "period"):
        per = res.get(key)
        if per is not None and not isinstance(per, dict):
            pb.add("ts", per, f"$.{key}", f"expected a Period object, got {_json_type(per)}: "
                   "not read")  # fmt: skip
        periods[key] = per.get("start") if isinstance(per, dict) else None
    cands = [
        ("$.occurredDateTime", res.get("occurredDateTime")),
        ("$.occurredPeriod.start", periods["occurredPeriod"]),
        ("$.period.start", periods["period"]),
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
        pb.add("ts", val, path, f"expected a date-time string, got {_json_type(val)}")
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
    for i, a in enumerate(_one_or_many(agents)):
        if not isinstance(a, dict):
            continue
        p = f"$.agent[{i}]" if isinstance(agents, list) else "$.agent"
        for key in ("purposeOfUse", "authorization"):
            if key in a:
                codes = _codes(a[key], f"{p}.{key}", "action", pb)
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


def _site(res: dict[str, Any], pb: _Problems) -> str | None:
    """R4 ``source.site`` (a string), R5 ``source.site.display`` (a Reference); another
    shape is a problem at its path and no site."""
    src = res.get("source")
    if src is None:
        return None
    if not isinstance(src, dict):
        pb.add("site", src, "$.source", f"expected an object, got {_json_type(src)}: no site")
        return None
    site = src.get("site")
    if site is None or isinstance(site, str):
        return site or None
    if isinstance(site, dict):
        return (
            _text(site.get("display"), "$.source.site.display", "site", pb, then="no site") or None
        )
    pb.add("site", site, "$.source.site", f"expected a string (R4) or a Reference object (R5), "
           f"got {_json_type(site)}: no site")  # fmt: skip
    return None
