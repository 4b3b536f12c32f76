"""FHIR AuditEvent elements of an unexpected JSON type (QA session 12, shared case 010).

Case 010: "An element of an unknown shape is reported with its JSON path and the event
is kept or quarantined, never a KeyError." Three elements were misread without a word:
``agent[0].who.identifier.value`` as an array made the account the display name
``Tech Dix`` (another identity); ``entity[0].what.reference: 42`` dropped the patient;
``agent[0].network.address`` as an object dropped the address. Every element the reader
reads now gives a field problem naming its JSON path and the JSON type found; a
malformed account element leaves the account missing (never the next element).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from labforensics.ingest.readers.fhir import read_fhir
from labforensics.ingest.registry import ReadContext

NEXT = (
    "account missing (the next of identifier, display, name, reference names the agent "
    "otherwise: not read in its place)"
)


@pytest.fixture
def r4(case_dir) -> dict:
    text = (case_dir("010-fhir-r4-r5-shapes") / "expected.md").read_text(encoding="utf-8")
    return json.loads(next(ln for ln in text.splitlines() if ln.startswith('{"resourceType"')))


def _read(tmp_path: Path, resources: list[dict], name: str = "shapes.ndjson"):
    p = tmp_path / name
    p.write_text("\n".join(json.dumps(r) for r in resources) + "\n", encoding="utf-8")
    r = read_fhir(p, ReadContext(source_file=name, lab="L01"))
    assert r.rows_read == r.rows_to_events + r.repeated_headers + r.ignored + len(r.quarantine)
    return r


def _changed(base: dict, edit) -> dict:
    res = copy.deepcopy(base)
    edit(res)
    return res


def test_the_qa_file_every_shape_reported_with_its_path(tmp_path, r4):
    # the QA's unknown_shapes.ndjson: the R4 example of case 010, one element changed per line
    def pat2(r):
        r["entity"] = {"what": {"reference": "Patient/PAT-0002"}}

    rows = [
        _changed(r4, lambda r: r["entity"][0]["what"].update(reference=42)),
        _changed(r4, pat2),  # entity an object, not an array: read (fine)
        _changed(r4, lambda r: r["entity"][0].update(what="Patient/PAT-0003")),
        _changed(r4, lambda r: r["agent"][0]["who"]["identifier"].update(value=["tech10"])),
        _changed(r4, lambda r: r["agent"][0]["network"].update(address={"ip": "10.9.0.7"})),
    ]
    r = _read(tmp_path, rows, "unknown_shapes.ndjson")
    assert r.rows_to_events == 5 and not r.quarantine  # every event kept
    ev = r.events
    assert ev["source_line"].tolist() == [1, 2, 3, 4, 5]
    # line 4: no account (was "Tech Dix", the display name); line 5: no address
    assert ev["account"].tolist()[:3] + ev["account"].tolist()[4:] == ["tech10"] * 4
    assert pd.isna(ev["account"].iloc[3])
    assert ev["src_ip"].iloc[:4].tolist() == ["10.9.0.7"] * 4 and pd.isna(ev["src_ip"].iloc[4])
    assert ev["host"].isna().all()
    ipp = ev["_ipp"].tolist()
    assert pd.isna(ipp[0]) and ipp[1] == "PAT-0002" and pd.isna(ipp[2])
    assert ipp[3:] == ["PAT-0001", "PAT-0001"]
    assert (ev["action"] == "read").all() and (ev["outcome"] == "success").all()
    got = [(p.line, p.column, p.problem) for p in r.field_problems]
    assert got == [
        (1, "patient", "$.entity[0].what.reference: expected a string, got a number: "
         "no patient read from it"),
        (3, "patient", "$.entity[0].what: expected a Reference object"),
        (4, "account", "$.agent[0].who.identifier.value: expected a non-empty string, "
         "got an array: " + NEXT),
        (5, "src_ip", "$.agent[0].network.address: expected a string, got an object: "
         "address missing"),
    ]  # fmt: skip
    values = [p.value for p in r.field_problems]
    assert values[0] == "42" and values[2] == '["tech10"]' and values[3] == '{"ip": "10.9.0.7"}'


def _agent(r, **kw):
    r["agent"][0].update(kw)


def _who(r, **kw):
    r["agent"][0]["who"].update(kw)


# (edit of the R4 example, expected (line 1) problems as (column, problem), event fields)
CASES = [
    # account: the first PRESENT element decides; a malformed one is never replaced
    (lambda r: _who(r, identifier={"value": 42}),
     [("account", "$.agent[0].who.identifier.value: expected a non-empty string, got a "
       "number: " + NEXT)], {"account": None}),
    (lambda r: _who(r, identifier={"value": ""}),
     [("account", "$.agent[0].who.identifier.value: expected a non-empty string, got an "
       "empty string: " + NEXT)], {"account": None}),
    (lambda r: _who(r, identifier=[{"value": "tech10"}]),
     [("account", "$.agent[0].who.identifier: expected an Identifier object, got an array: "
       + NEXT)], {"account": None}),
    (lambda r: _agent(r, who={"display": 7}),
     [("account", "$.agent[0].who.display: expected a non-empty string, got a number: "
       + NEXT)], {"account": None}),
    (lambda r: _agent(r, who=None, name=["Tech Dix"]),
     [("account", "$.agent[0].name: expected a non-empty string, got an array: " + NEXT)],
     {"account": None}),
    (lambda r: _agent(r, who={"reference": 5}, name=None),
     [("account", "$.agent[0].who.reference: expected a non-empty string, got a number: "
       + NEXT)], {"account": None}),
    (lambda r: _agent(r, who="tech10"),  # before: the name "Tech Dix" was taken
     [("account", "$.agent[0].who: expected a Reference object, got a string: " + NEXT)],
     {"account": None}),
    (lambda r: _who(r, identifier={"system": "urn:x"}),  # no value at all: display, name
     [], {"account": "Tech Dix"}),
    # requestor
    (lambda r: _agent(r, requestor="true"),
     [("account", "$.agent[0].requestor: expected a boolean, got a string: read as true")],
     {"account": "tech10"}),
    (lambda r: _agent(r, requestor=1),
     [("account", "$.agent[0].requestor: expected a boolean, got a number: not read as the "
       "requestor"),
      ("account", "$.agent[*].requestor: no agent with requestor true: account left missing "
       "(FHIR AuditEvent.agent.requestor: 'If the initiator is not clear, then do not choose "
       "any one agent as the initiator')")],
     {"account": None}),
    # network and role
    (lambda r: r["agent"][0]["network"].update(type=2),
     [("src_ip", "$.agent[0].network.type: expected a code string, got a number: read as "
       "written")], {"src_ip": "10.9.0.7", "host": None}),
    (lambda r: r["agent"][0]["network"].update(type=True, address="ws-12"),
     [("src_ip", "$.agent[0].network.type: expected a code string, got a boolean: the "
       "address read by its form")], {"src_ip": None, "host": "ws-12"}),
    (lambda r: _agent(r, role=[{"text": 5}]),
     [("role", "$.agent[0].role[0].text: expected a string, got a number: not read")],
     {"role": None}),
    # patients: a number is never read as an IPP (4711 may have been 004711)
    (lambda r: r["entity"][0].update(what={"type": "Patient", "identifier": {"value": 4711}}),
     [("patient", "$.entity[0].what.identifier.value: expected a string, got a number: "
       "no patient read from it")], {"_ipp": None}),
    (lambda r: r["entity"][0].update(what={"type": 5, "identifier": {"value": "X1"}}),
     [("patient", "$.entity[0].what.type: expected a string, got a number: not read as a "
       "type")], {"_ipp": None}),
    (lambda r: r.update(entity=[], patient={"reference": 42}),
     [("patient", "$.patient.reference: expected a string, got a number: no patient read "
       "from it"),
      ("patient", "$.patient: a patient without a Patient/<id> reference or an identifier")],
     {"_ipp": None}),
    # detail, outcome, time, site, codes
    (lambda r: r["entity"][0].update(query=5),
     [("detail", "$.entity[0].query: expected a string, got a number: not read")],
     {"detail": None}),
    (lambda r: r.update(outcomeDesc=["x"]),
     [("detail", "$.outcomeDesc: expected a string, got an array: not read")], {"detail": None}),
    (lambda r: r.update(outcome=True),
     [("outcome", "$.outcome: expected a code string, got a boolean: read as success")],
     {"outcome": "success"}),
    (lambda r: r.update(outcome=4),
     [("outcome", "$.outcome: expected a code string, got a number: read as written")],
     {"outcome": "failure"}),
    (lambda r: r.update(outcome={"code": {"code": ["4"]}}),
     [("outcome", "$.outcome.code.code: expected a code string, got an array: read as "
       "success")], {"outcome": "success"}),
    (lambda r: r.update(outcome={"code": {"code": "0"}, "detail": {"text": 5}}),
     [("detail", "$.outcome.detail.text: expected a string, got a number: not read")],
     {"outcome": "success", "detail": None}),
    (lambda r: r.update(period="2024-05-02"),
     [("ts", "$.period: expected a Period object, got a string: not read")],
     {"ts": pd.Timestamp("2024-05-02 07:15", tz="UTC")}),
    (lambda r: r.update(source="lis"),
     [("site", "$.source: expected an object, got a string: no site")], {"site": None}),
    (lambda r: r.update(source={"site": {"display": 5}}),
     [("site", "$.source.site.display: expected a string, got a number: no site")],
     {"site": None}),
    (lambda r: r.update(source={"site": ["S1"]}),
     [("site", "$.source.site: expected a string (R4) or a Reference object (R5), got an "
       "array: no site")], {"site": None}),
    (lambda r: r["subtype"][0].update(system=42),
     [("action", "$.subtype[0].system: expected a string, got a number: code read without "
       "it")], {"action": "read"}),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "problems", "fields"), CASES)
def test_each_element_of_a_wrong_type_is_a_field_problem(tmp_path, r4, edit, problems, fields):
    r = _read(tmp_path, [_changed(r4, edit)])
    assert r.rows_to_events == 1 and not r.quarantine
    assert [(p.line, p.column, p.problem) for p in r.field_problems] == [
        (1, c, t) for c, t in problems
    ]
    ev = r.events.iloc[0]
    for col, want in fields.items():
        if want is None:
            assert pd.isna(ev[col]), col
        else:
            assert ev[col] == want, col


def test_bundle_entry_of_a_wrong_type_is_quarantined_not_dropped(tmp_path, r4):
    # before: an entry that is not an array gave no row at all (rows_read 0, nothing said)
    p = tmp_path / "b.json"
    p.write_text('{"resourceType": "Bundle", "entry": 5}', encoding="utf-8")
    r = read_fhir(p, ReadContext(source_file="b.json"))
    assert (r.rows_read, r.rows_to_events) == (1, 0)
    assert [(q.line, q.reason) for q in r.quarantine] == [
        (1, "$.entry: expected an array of Bundle entries, got a number")
    ]
    # one entry written as an object is read as an array of one
    p.write_text(json.dumps({"resourceType": "Bundle", "entry": {"resource": r4}}), "utf-8")
    r = read_fhir(p, ReadContext(source_file="b.json"))
    assert r.rows_to_events == 1 and r.events["account"].iloc[0] == "tech10"
