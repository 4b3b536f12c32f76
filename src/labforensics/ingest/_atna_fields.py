"""ATNA AuditMessage fields: one DICOM PS3.15 A.5 / RFC 3881 message read into its event's fields.

EventIdentification (time, codes, outcome, action), the requesting ActiveParticipant
(account, host, address), the site, patients and detail, each problem noted on the
way; the rules and their sources are listed in :mod:`labforensics.ingest.readers.atna`,
which reads the files.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ._common import OUTCOME_CODES, decode_base64, dicom_action, ipp_from_cx, is_ip, mask_query
from ._instants import DATE_ONLY
from .registry import FieldProblem


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _code(el: ET.Element | None) -> str | None:
    if el is None:
        return None
    for k in ("csd-code", "code"):
        v = el.get(k)
        if v is not None and v.strip():
            return v.strip()
    return None


def _event_identification(ei: ET.Element, line: int, problems: list[FieldProblem]) -> tuple:
    """EventIdentification: (time, EventID, type codes, outcome, action, known, raw label)."""
    when = (ei.get("EventDateTime") or "").strip() or None
    if when is not None and DATE_ONLY.fullmatch(when):
        problems.append(
            FieldProblem(
                line,
                "ts",
                when,
                "EventDateTime without a time (xsd:dateTime requires one): read as the start "
                "of that local day (ts_quality date_only, no duration)",
            )
        )
    eid = _code(next(iter(_children(ei, "EventID")), None))
    if eid is None:
        problems.append(FieldProblem(line, "action", "", "EventID missing (M in PS3.15 A.5.1)"))
    etypes = [c for c in (_code(t) for t in _children(ei, "EventTypeCode")) if c]
    ac = (ei.get("EventActionCode") or "").strip() or None
    ind = ei.get("EventOutcomeIndicator")
    if ind is None or ind.strip() == "":
        problems.append(
            FieldProblem(line, "outcome", "", "EventOutcomeIndicator missing: read as success")
        )
        outcome = "success"
    elif ind.strip().lower() not in OUTCOME_CODES:
        problems.append(
            FieldProblem(line, "outcome", ind, "unknown EventOutcomeIndicator: read as success")
        )
        outcome = "success"
    else:
        outcome = OUTCOME_CODES[ind.strip().lower()]
    action, known = dicom_action(eid, etypes, ac, outcome == "failure")
    raw = (eid or "") + ("/" + "+".join(etypes) if etypes else "")

    return when, eid, etypes, outcome, action, known, raw


def _requestor(root: ET.Element, line: int, problems: list[FieldProblem]) -> tuple:
    """The requesting ActiveParticipant's (account, host, address)."""
    aps = _children(root, "ActiveParticipant")
    flags = [(a.get("UserIsRequestor") or "").strip().lower() for a in aps]
    req = [a for a, f in zip(aps, flags, strict=True) if f in ("true", "1")]
    # RFC 3881 schema: UserIsRequestor default="true"; taken only when none says true
    by_default = [a for a, f in zip(aps, flags, strict=True) if f == ""] if not req else []
    if by_default:
        problems.append(
            FieldProblem(
                line,
                "account",
                "",
                "no ActiveParticipant with UserIsRequestor true; those without the attribute "
                "read as requestors (RFC 3881 schema default true)",
            )
        )
        req = by_default
    people = [a for a in req if not is_ip(a.get("UserID"))]
    chosen = people[0] if people else (req[0] if req else None)
    acc = None
    if chosen is not None:
        for k in ("UserID", "UserName", "AlternativeUserID"):
            v = (chosen.get(k) or "").strip()
            if v:
                acc = v
                break
        if acc is None:
            problems.append(
                FieldProblem(
                    line, "account", "", "requesting ActiveParticipant without UserID: account "
                    "missing"
                )
            )  # fmt: skip
    else:
        problems.append(
            FieldProblem(
                line,
                "account",
                "",
                "no ActiveParticipant with UserIsRequestor true: account left missing",
            )
        )
    host = ip = None
    nets = ([chosen] if chosen is not None else []) + [a for a in req if a is not chosen]
    for a in nets:
        nap = (a.get("NetworkAccessPointID") or "").strip()
        if not nap:
            continue
        typ = (a.get("NetworkAccessPointTypeCode") or "").strip()
        if typ == "2":
            ip = nap
        elif typ == "1":
            host = nap
            if is_ip(nap):
                ip = nap
        elif is_ip(nap):
            ip = nap
        else:
            host = nap
        break
    return acc, host, ip


def _objects(
    root: ET.Element, ei: ET.Element, line: int, problems: list[FieldProblem]
) -> tuple[list[str], str | None]:
    """Patients (distinct IPPs, first-seen order) and detail (queries, outcome text)."""
    pats: dict[str, None] = {}  # distinct, first-seen order; O(1) duplicate check
    details: list[str] = []
    for poi in _children(root, "ParticipantObjectIdentification"):
        t = (poi.get("ParticipantObjectTypeCode") or "").strip()
        r = (poi.get("ParticipantObjectTypeCodeRole") or "").strip()
        if t == "1" and r == "1":
            pid = ipp_from_cx(poi.get("ParticipantObjectID"))
            if pid:
                pats[pid] = None
            else:
                problems.append(
                    FieldProblem(
                        line,
                        "patient",
                        "",
                        "patient ParticipantObjectIdentification (type 1, role 1) without "
                        "ParticipantObjectID: patient missing",
                    )
                )
        for q in _children(poi, "ParticipantObjectQuery"):
            txt = decode_base64(q.text or "")
            if txt is None:
                problems.append(
                    FieldProblem(
                        line, "detail", (q.text or "")[:200], "ParticipantObjectQuery is not base64"
                    )
                )
                txt = q.text
            if txt:
                details.append(mask_query(txt))
    for d in _children(ei, "EventOutcomeDescription"):
        if d.text and d.text.strip():
            details.append(d.text.strip())
    detail = "; ".join(details) if details else None
    return list(pats), detail


def _message(root: ET.Element, line: int, problems: list[FieldProblem]) -> tuple | None:
    """One AuditMessage's fields (None: no EventIdentification)."""
    eis = _children(root, "EventIdentification")
    if not eis:
        return None
    ei = eis[0]
    when, eid, etypes, outcome, action, known, raw = _event_identification(ei, line, problems)
    acc, host, ip = _requestor(root, line, problems)
    srcs = _children(root, "AuditSourceIdentification")
    site = (srcs[0].get("AuditEnterpriseSiteID") or "").strip() or None if srcs else None
    pats, detail = _objects(root, ei, line, problems)
    return (
        when,
        action,
        raw,
        eid,
        (etypes[0] if etypes else None),
        outcome,
        known,
        acc,
        host,
        ip,
        site,
        pats,
        detail,
    )
