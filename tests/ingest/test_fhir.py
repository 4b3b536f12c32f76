"""FHIR AuditEvent reader: case 010, the official R4/R5 examples, shapes and hostile input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import shared_path
from labforensics.ingest.readers.fhir import read_fhir, sniff_fhir
from labforensics.ingest.registry import ReadContext, get_reader
from labforensics.privacy import pseudonymise
from labforensics.schema import EVENT_COLUMNS


def _ctx(name: str = "f.json", **kw) -> ReadContext:
    return ReadContext(source_file=name, **kw)


def _read(tmp_path: Path, text: str | bytes, name: str = "f.json", **kw):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return read_fhir(p, _ctx(name, **kw))


def _accounts_add_up(r) -> None:
    assert r.rows_read == r.rows_to_events + r.repeated_headers + r.ignored + len(r.quarantine)


def _case_010_resources(case_dir) -> list[str]:
    text = (case_dir("010-fhir-r4-r5-shapes") / "expected.md").read_text(encoding="utf-8")
    return [ln for ln in text.splitlines() if ln.startswith('{"resourceType":"AuditEvent"')]


def test_case_010_fhir_r4_r5_shapes(case_dir, tmp_path, test_key):
    # case "010-fhir-r4-r5-shapes": the same read written as R4 and as R5 gives one same event
    r4, r5 = _case_010_resources(case_dir)
    rows = []
    for i, res in enumerate((r4, r5)):
        r = _read(tmp_path, res, f"case010_{i}.json", lab="L01")
        _accounts_add_up(r)
        assert r.rows_to_events == 1 and not r.quarantine and not r.field_problems
        rows.append(r.events.iloc[0])
    for ev in rows:
        assert ev["account"] == "tech10"
        assert ev["ts"] == pd.Timestamp("2024-05-02 07:15", tz="UTC")  # 09:15+02:00
        assert ev["action"] == "read" and ev["outcome"] == "success"
        assert ev["src_ip"] == "10.9.0.7"
        assert ev["_ipp"] == "PAT-0001"
        assert ev["lab"] == "L01" and ev["account_kind"] == "unknown"
    both = pd.DataFrame(rows)
    pseudo = pseudonymise(test_key, both["lab"], both["_ipp"])
    assert pseudo.nunique() == 1 and pseudo.iloc[0].startswith("P")  # same pseudonym


def test_case_010_ndjson_and_bundle(case_dir, tmp_path):
    # both shapes in one NDJSON file, and again inside a pretty-printed Bundle
    r4, r5 = _case_010_resources(case_dir)
    r = _read(tmp_path, r4 + "\n\n" + r5, "both.ndjson")
    _accounts_add_up(r)
    assert r.rows_read == 3 and r.ignored == 1  # the blank line is counted as ignored
    assert r.events["source_line"].tolist() == [1, 3]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": json.loads(r4)},
            {"resource": {"resourceType": "Provenance", "id": "x"}},
            {"resource": json.loads(r5)},
        ],
    }
    r = _read(tmp_path, json.dumps(bundle, indent=2), "bundle.json")
    _accounts_add_up(r)
    assert (r.rows_read, r.rows_to_events, r.ignored) == (3, 2, 1)  # Provenance is out of scope
    assert r.events["account"].tolist() == ["tech10", "tech10"]
    # each entry's line is that of its "resourceType": "AuditEvent"
    text = (tmp_path / "bundle.json").read_text()
    lines = [i for i, ln in enumerate(text.splitlines(), 1) if '"AuditEvent"' in ln]
    assert r.events["source_line"].tolist() == lines


# Expected action/outcome/account/src_ip per official example, read by hand from the files.
R4 = {
    # type 110114 + subtype 110122 Login, outcome "0", requestor who.identifier 95, network type 2
    "audit-event-example-login.json": ("login", "success", "95", "127.0.0.1", None),
    # subtype 110123 Logout
    "audit-event-example-logout.json": ("logout", "success", "95", "127.0.0.1", None),
    # type 110106 Export (ITI-32 media), patient entity type 1 role 1 identifier CX
    "audit-event-example-media.json": ("export", "success", "95", None, "e3cdfc81a0d24bd"),
    # type 110112 Query (ITI-9 PIX), base64 query, patient identifier CX
    "audit-event-example-pixQuery.json": ("query", "success", "95", None, "e3cdfc81a0d24bd"),
    # rest/search with base64 query
    "audit-event-example-search.json": ("query", "success", "95", None, None),
    # rest/vread of Patient/example/_history/1
    "audit-event-example-vread.json": ("read", "success", "95", None, "example"),
    # 110106 Export / Disclosure; requestor network type 1 "custodian.net" is a host
    "auditevent-example-disclosure.json": (
        "export",
        "success",
        "SomeIdiot@nowhere",
        None,
        "example",
    ),
    # rest/create, outcome "8" (serious failure)
    "auditevent-example-error.json": ("update", "failure", "95", None, None),
    # 110100 Application Activity / 110120 start, no requestor agent
    "auditevent-example.json": ("other", "success", None, None, None),
}
R5 = {
    # category 110106 / code Disclosure, outcome.code "0" in audit-event-outcome
    "AuditEvent-example-disclosure.json": (
        "export",
        "success",
        "SomeIdiot@nowhere",
        None,
        "example",
    ),
    # rest/create, outcome.code "error" in issue-severity
    "AuditEvent-example-error.json": ("update", "failure", "95", None, None),
    # 110114 / 110122 Login
    "AuditEvent-example-login.json": ("login", "success", "95", None, None),
    # 110114 / 110123 Logout, networkString 127.0.0.1 on the requestor
    "AuditEvent-example-logout.json": ("logout", "success", "95", "127.0.0.1", None),
    # rest/vread of Patient/example/_history/1
    "AuditEvent-example-rest.json": ("read", "success", "95", None, "example"),
    # rest/search with base64 query
    "AuditEvent-example-search.json": ("query", "success", "95", None, None),
}


@pytest.mark.parametrize(
    ("version", "name", "expected"),
    [("r4", k, v) for k, v in R4.items()] + [("r5", k, v) for k, v in R5.items()],
)
def test_official_examples(version, name, expected):
    path = shared_path("data", "real", "fhir-auditevent", version, name)
    r = read_fhir(path, _ctx(name))
    _accounts_add_up(r)
    assert (r.rows_read, r.rows_to_events, len(r.quarantine)) == (1, 1, 0)
    ev = r.events
    assert len(ev) == 1
    action, outcome, account, src_ip, ipp = expected
    got = ev.iloc[0]
    assert got["action"] == action and got["outcome"] == outcome
    assert (None if pd.isna(got["account"]) else got["account"]) == account
    assert (None if pd.isna(got["src_ip"]) else got["src_ip"]) == src_ip
    assert (None if pd.isna(got["_ipp"]) else got["_ipp"]) == ipp
    assert got["lab"] == "UNKNOWN"  # no ctx.lab, the source names none
    assert list(ev.columns[: len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)


def test_examples_times_and_details():
    base = shared_path("data", "real", "fhir-auditevent")
    ev = read_fhir(base / "r4" / "auditevent-example.json", _ctx()).events
    assert ev["ts"].iloc[0] == pd.Timestamp("2012-10-25 11:04:27", tz="UTC")  # 22:04:27+11:00
    ev = read_fhir(base / "r5" / "AuditEvent-example-search.json", _ctx()).events
    # base64 entity.query decoded into detail
    assert ev["detail"].iloc[0] == (
        "http://fhir-dev.healthintersections.com.au/open/Encounter?participant=13"
    )
    ev = read_fhir(base / "r4" / "auditevent-example-disclosure.json", _ctx()).events
    assert ev["host"].iloc[0] == "custodian.net" and ev["site"].iloc[0] == "Watcher"


def _resource(**over) -> dict:
    res = {
        "resourceType": "AuditEvent",
        "type": {"code": "rest"},
        "subtype": [{"code": "read"}],
        "action": "R",
        "recorded": "2024-05-02T09:15:00+02:00",
        "outcome": "0",
        "agent": [{"who": {"identifier": {"value": "u1"}}, "requestor": True}],
    }
    res.update(over)
    return res


def test_several_patients_fan_out(tmp_path):
    res = _resource(
        entity=[
            {"what": {"reference": "Patient/A1"}},
            {"what": {"reference": "https://x/fhir/Patient/B2/_history/3"}},
            {"what": {"reference": "Patient/A1"}},  # named twice: one event
            {"what": {"reference": "Observation/o9"}},
        ]
    )
    r = _read(tmp_path, json.dumps(res))
    assert r.rows_to_events == 1 and len(r.events) == 2  # one row, two patients
    assert r.events["_ipp"].tolist() == ["A1", "B2"]
    assert r.events["message_id"].nunique() == 1


def test_login_failure_and_r5_codes(tmp_path):
    res = _resource(
        type=None,
        subtype=None,
        category=[{"coding": [{"code": "110114"}]}],
        code={"coding": [{"code": "110122"}]},
        outcome={"code": {"system": "http://whatever", "code": "fatal"}},
        action="E",
    )
    del res["type"], res["subtype"]
    ev = _read(tmp_path, json.dumps(res)).events
    assert ev["action"].iloc[0] == "login_failed"  # login with a failure outcome
    assert ev["outcome"].iloc[0] == "failure"


@pytest.mark.parametrize(
    ("sub", "action_code", "expected"),
    [
        ("search-type", "E", "query"),
        ("history-instance", "R", "read"),
        ("delete", "D", "purge"),
        ("patch", "U", "update"),
        ("transaction", "C", "update"),  # not a table code: by action C
        ("operation", "E", "other"),
    ],
)
def test_rest_table(tmp_path, sub, action_code, expected):
    res = _resource(subtype=[{"code": sub}], action=action_code)
    assert _read(tmp_path, json.dumps(res)).events["action"].iloc[0] == expected


def test_unknown_codes_counted(tmp_path):
    res = _resource(type={"system": "urn:x", "code": "ZZZ"}, subtype=[], action="R")
    r = _read(tmp_path, json.dumps(res))
    assert r.events["action"].iloc[0] == "read"  # by action code R
    assert r.unknown_codes == {"ZZZ": 1}


def test_unknown_shapes_are_reported_with_json_path(tmp_path):
    res = _resource(
        agent=[
            "not an agent",
            {"who": ["weird"], "requestor": True, "network": "10.0.0.1", "networkString": 5},
        ],
        entity={"what": 7},
        outcome={"code": "0"},
        subtype="read",
    )
    r = _read(tmp_path, json.dumps(res))
    _accounts_add_up(r)
    assert r.rows_to_events == 1  # kept
    problems = " | ".join(p.problem for p in r.field_problems)
    for path in (
        "$.agent[0]",
        "$.agent[1].who",
        "$.agent[1].network",
        "$.agent[1].networkString",
        "$.entity.what",
        "$.outcome.code",
        "$.subtype",
    ):
        assert path + ":" in problems, path


def test_invalid_json_is_quarantined_with_its_line(tmp_path):
    good = json.dumps(_resource())
    r = _read(tmp_path, good + "\n{not json\n" + good + "\n" + good[:40], "x.ndjson")
    _accounts_add_up(r)
    assert r.rows_to_events == 2
    assert [q.line for q in r.quarantine] == [2, 4]
    assert all(q.reason.startswith("invalid JSON") for q in r.quarantine)
    assert r.truncated  # the last line is cut and has no line end
    # a pretty-printed document cut short: one row, quarantined at the error's line
    pretty = json.dumps(_resource(), indent=2)
    r = _read(tmp_path, pretty[: len(pretty) // 2], "cut.json")
    _accounts_add_up(r)
    assert (r.rows_read, len(r.quarantine)) == (1, 1)
    assert r.quarantine[0].line == pretty[: len(pretty) // 2].count("\n") + 1


def test_bad_dates_and_no_time(tmp_path):
    rows = [
        _resource(recorded="not a date"),
        _resource(recorded=None),
        _resource(recorded="2024-13-40T00:00:00Z"),
        _resource(recorded="2024-03-31T02:30:00"),  # no offset: local Europe/Paris, in the gap
    ]
    r = _read(tmp_path, "\n".join(json.dumps(x) for x in rows), "d.ndjson")
    _accounts_add_up(r)
    assert [q.line for q in r.quarantine] == [1, 2, 3]
    assert r.events["ts"].iloc[0] == pd.Timestamp("2024-03-31 01:30", tz="UTC")
    assert r.events["ts_quality"].iloc[0] == "nonexistent_shifted"


def test_account_fallbacks_and_network_types(tmp_path):
    agents = [
        ({"who": {"display": "Dr X"}, "requestor": True}, "Dr X"),
        ({"name": "Named", "requestor": True}, "Named"),
        ({"who": {"reference": "Practitioner/7"}, "requestor": True}, "Practitioner/7"),
    ]
    for agent, account in agents:
        ev = _read(tmp_path, json.dumps(_resource(agent=[agent]))).events
        assert ev["account"].iloc[0] == account
    agent = {"who": {"display": "a"}, "requestor": True, "network": {"address": "ws1", "type": "1"}}
    ev = _read(tmp_path, json.dumps(_resource(agent=[agent]))).events
    assert ev["host"].iloc[0] == "ws1" and pd.isna(ev["src_ip"].iloc[0])


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x00\xff\xfe garbage \x80\x81",
        b"[1, 2, 3]",
        b'{"resourceType": "AuditEvent"}',
        b'{"resourceType": "Bundle", "entry": 5}',
        b'{"resourceType": "Bundle", "entry": [null, 3, {"resource": []}]}',
        b"[" * 5000,
        b'{"resourceType":"AuditEvent","recorded":"2024-01-01T00:00:00Z","agent":{"requestor":1}}',
    ],
)
def test_hostile_input_never_raises(tmp_path, blob):
    r = _read(tmp_path, blob, "h.json")
    _accounts_add_up(r)


def test_sniff_and_registration():
    assert get_reader("fhir_auditevent").read is read_fhir
    assert sniff_fhir(b'  {"resourceType": "AuditEvent", ', "x.json")
    assert sniff_fhir(
        b'{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"AuditEvent"', "b"
    )
    assert not sniff_fhir(b'{"resourceType": "Patient"}', "x.json")
    assert not sniff_fhir(b"Jun 14 15:16:01 combo sshd[1]: AuditEvent", "auth.log")


def test_lab_and_account_kind_from_context(tmp_path):
    ev = _read(tmp_path, json.dumps(_resource()), lab="L07", account_kinds={"u1": "vendor"}).events
    assert ev["lab"].iloc[0] == "L07" and ev["account_kind"].iloc[0] == "vendor"
    assert re.fullmatch(r"f\.json#1", ev["message_id"].iloc[0])


def test_case_010_through_read_evidence(case_dir, tmp_path, test_key):
    # case "010-fhir-r4-r5-shapes" end to end: sniffed, pseudonymised, redacted, validated
    from labforensics.ingest import read_evidence
    from labforensics.privacy import pseudonymise_one
    from labforensics.schema import validate_events

    r4, r5 = _case_010_resources(case_dir)
    (tmp_path / "r4.json").write_text(r4, encoding="utf-8")
    (tmp_path / "r5.ndjson").write_text(r5 + "\n", encoding="utf-8")
    evd = read_evidence(tmp_path, lab="L01", case_key=test_key)
    ev = validate_events(evd.events)
    evd.report.check()
    assert [f.format for f in evd.report.files] == ["fhir_auditevent", "fhir_auditevent"]
    assert len(ev) == 2
    for col, value in (
        ("account", "tech10"),
        ("action", "read"),
        ("outcome", "success"),
        ("src_ip", "10.9.0.7"),
        ("patient", pseudonymise_one(test_key, "L01", "PAT-0001")),
    ):
        assert ev[col].tolist() == [value, value], col
    assert ev["ts"].tolist() == [pd.Timestamp("2024-05-02 07:15", tz="UTC")] * 2
    assert "_ipp" not in ev.columns
    text = ev.astype(str).to_csv()
    assert "PAT-0001" not in text  # the raw IPP appears nowhere


def test_decoded_query_masks_the_patient_searched(tmp_path):
    import base64

    url = "http://x/fhir/Patient?family=Dupont&birthdate=1980-01-01&_count=5"
    ent = [{"query": base64.b64encode(url.encode()).decode()}]
    ev = _read(tmp_path, json.dumps(_resource(entity=ent))).events
    # the search parameters stay, their values do not
    assert ev["detail"].iloc[0] == (
        "http://x/fhir/Patient?family=[REDACTED]&birthdate=[REDACTED]&_count=5"
    )
    bad = _read(tmp_path, json.dumps(_resource(entity=[{"query": "%%%not base64"}])))
    assert bad.events["detail"].iloc[0] == "%%%not base64"  # kept as written, reported
    assert [p.column for p in bad.field_problems] == ["detail"]


def test_quarantined_records_do_not_leak_patients(tmp_path):
    # a quarantined resource never reaches pseudonymisation: its patient is masked in raw
    res = _resource(
        recorded="garbage",
        entity=[
            {"what": {"reference": "Patient/SECRET-1"}},
            {"what": {"identifier": {"value": "SECRET-2^^^&1.2&ISO"}}},
        ],
    )
    r = _read(tmp_path, json.dumps(res) + "\n" + json.dumps(res)[:-5], "q.ndjson")
    assert len(r.quarantine) == 2 and not r.events.shape[0]
    for q in r.quarantine:
        assert "SECRET" not in q.raw and "[REDACTED]" in q.raw


def test_one_event_with_100k_patient_entities_reads_in_linear_time(tmp_path):
    # hostile input: one AuditEvent naming 100,000 patients (+ 1 repeat) must be read
    # in seconds (the duplicate check was a list scan: quadratic, ~1 min here, hours at 300k)
    import time

    n = 100_000
    ents = [{"what": {"reference": f"Patient/P{i:07d}"}} for i in range(n)]
    ents.append({"what": {"reference": "Patient/P0000000"}})  # repeat: one event only
    res = {
        "resourceType": "AuditEvent",
        "type": {"code": "110106"},
        "recorded": "2024-05-02T09:15:00+02:00",
        "outcome": "0",
        "agent": [{"requestor": True, "who": {"identifier": {"value": "u1"}}}],
        "entity": ents,
    }
    t0 = time.process_time()
    r = _read(tmp_path, json.dumps(res), lab="L01")
    elapsed = time.process_time() - t0
    assert elapsed < 30, f"{elapsed:.1f} s"  # ~2.5 s on the 2-core CI box
    _accounts_add_up(r)
    assert r.rows_read == 1 and r.rows_to_events == 1  # one resource
    assert len(r.events) == n  # one event per distinct patient
    assert r.events["message_id"].nunique() == 1
    assert r.events["_ipp"].iloc[0] == "P0000000" and r.events["_ipp"].iloc[-1] == "P0099999"


def test_deeply_nested_json_is_quarantined_not_a_crash(tmp_path):
    # 100,000 nested arrays exceed the recursion limit: the file is quarantined, not raised
    r = _read(tmp_path, "[" * 100_000 + "]" * 100_000)
    _accounts_add_up(r)
    assert r.rows_to_events == 0 and len(r.quarantine) == 1
    assert r.quarantine[0].reason == "invalid JSON: RecursionError (line 1, column ?)"


def test_unparseable_date_times_quarantine_their_own_resource(tmp_path):
    # NDJSON: line 2 (two patients) has an impossible date; only it is quarantined, at its line
    def res(when: str, *pats: str) -> str:
        return json.dumps(
            {
                "resourceType": "AuditEvent",
                "type": {"code": "110106"},
                "recorded": when,
                "outcome": "0",
                "entity": [{"what": {"reference": f"Patient/{p}"}} for p in pats],
            }
        )

    text = "\n".join(
        [
            res("2024-05-02T09:15:00+02:00", "A", "B"),
            res("2024-13-45T99:00:00Z", "C", "D"),
            res("2024-05-02T09:16:00+02:00", "E"),
        ]
    )
    r = _read(tmp_path, text + "\n", "f.ndjson")
    _accounts_add_up(r)
    assert r.rows_read == 3 and r.rows_to_events == 2  # resources 1 and 3
    assert r.events["_ipp"].tolist() == ["A", "B", "E"]  # one event per patient
    assert [q.line for q in r.quarantine] == [2]
    assert r.quarantine[0].reason == "$: date-time '2024-13-45T99:00:00Z' is not ISO 8601"


def test_long_invalid_line_capped_with_the_shared_marker(tmp_path):
    from labforensics.ingest._common import CUT_MARK, RAW_CAP, cap_text

    assert cap_text("x" * RAW_CAP) == "x" * RAW_CAP  # at the cap: whole
    assert cap_text("x" * (RAW_CAP + 1)) == "x" * RAW_CAP + "… [1 more character cut]"
    bad = '{"resourceType": "AuditEvent", "x": "' + "a" * 70_000  # never closed
    good = '{"resourceType":"AuditEvent","action":"R","recorded":"2024-05-02T09:15:00Z"}'
    r = _read(tmp_path, good + "\n" + bad + "\n", name="f.ndjson")
    (q,) = r.quarantine
    assert q.line == 2
    assert len(q.raw) == RAW_CAP + len("… [4,501 more characters cut]")  # 37 + 70,000 - 65,536
    assert CUT_MARK.search(q.raw).group(0) == "… [4,501 more characters cut]"
    _accounts_add_up(r)


# --- issue 12 item 4: leap seconds, dates without a time, logical patients, requestors,
# --- break-glass, R5 queries without a category -------------------------------------------


def _problems(r) -> str:
    return " | ".join(p.problem for p in r.field_problems)


def test_leap_second_kept_in_order(tmp_path):
    # the 2016-12-31 leap second, written in UTC and at +01:00, between its neighbours
    rows = [
        _resource(recorded="2016-12-31T23:59:59.5Z"),
        _resource(recorded="2016-12-31T23:59:60Z"),
        _resource(recorded="2017-01-01T00:59:60.25+01:00"),  # the same second, Paris offset
        _resource(recorded="2017-01-01T00:00:00Z"),
    ]
    r = _read(tmp_path, "\n".join(json.dumps(x) for x in rows), "leap.ndjson")
    _accounts_add_up(r)
    assert r.rows_to_events == 4 and not r.quarantine and not r.field_problems
    leap = pd.Timestamp("2016-12-31 23:59:59.999999999", tz="UTC")  # :60 -> :59.999999999
    assert r.events["ts"].tolist() == [
        pd.Timestamp("2016-12-31 23:59:59.5", tz="UTC"),
        leap,
        leap,
        pd.Timestamp("2017-01-01", tz="UTC"),
    ]
    assert r.events["ts"].is_monotonic_increasing  # kept in order, before midnight
    assert r.events["ts_quality"].tolist() == ["exact", "leap_second", "leap_second", "exact"]


def test_leap_second_outside_a_utc_day_end_is_kept_and_reported(tmp_path):
    # 09:15:60+02:00 is 07:15:60 UTC: no leap second was ever inserted there
    r = _read(tmp_path, json.dumps(_resource(recorded="2024-05-02T09:15:60+02:00")))
    assert r.events["ts"].iloc[0] == pd.Timestamp("2024-05-02 07:15:59.999999999", tz="UTC")
    assert r.events["ts_quality"].iloc[0] == "leap_second"
    assert [p.column for p in r.field_problems] == ["ts"]
    assert "$.recorded: second 60 outside the last minute of a UTC day" in _problems(r)


def test_date_without_time_is_date_only_at_local_day_start(tmp_path):
    rows = [
        _resource(period={"start": "2024-06-03"}),  # a valid dateTime of day precision
        _resource(recorded="2024-06-03"),  # an instant without a time: invalid, reported
        _resource(period={"start": "2024-06"}),  # month precision: first day, reported
        _resource(recorded="2024-01-15T10:00:00+01:00"),  # control: exact
    ]
    r = _read(tmp_path, "\n".join(json.dumps(x) for x in rows), "d.ndjson")
    _accounts_add_up(r)
    assert r.rows_to_events == 4 and not r.quarantine
    # Europe/Paris is UTC+2 in June: local midnight of 3 June is 22:00 UTC on 2 June
    assert r.events["ts"].tolist() == [
        pd.Timestamp("2024-06-02 22:00", tz="UTC"),
        pd.Timestamp("2024-06-02 22:00", tz="UTC"),
        pd.Timestamp("2024-05-31 22:00", tz="UTC"),
        pd.Timestamp("2024-01-15 09:00", tz="UTC"),
    ]
    assert r.events["ts_quality"].tolist() == ["date_only"] * 3 + ["exact"]
    assert [p.line for p in r.field_problems] == [2, 3]
    assert "$.recorded: instant without a time" in _problems(r)
    assert "$.period.start: date of year or month precision" in _problems(r)


def test_date_only_uses_the_case_time_zone(tmp_path):
    from zoneinfo import ZoneInfo

    # the same date in Cayenne (UTC-3, no daylight saving): local midnight is 03:00 UTC
    r = _read(
        tmp_path, json.dumps(_resource(recorded="2024-06-03")), tz=ZoneInfo("America/Cayenne")
    )
    assert r.events["ts"].iloc[0] == pd.Timestamp("2024-06-03 03:00", tz="UTC")
    assert r.events["ts_quality"].iloc[0] == "date_only"


def test_new_ts_qualities_pass_validate_events(tmp_path, test_key):
    from labforensics.ingest import read_evidence
    from labforensics.schema import TS_QUALITY, validate_events

    assert {"leap_second", "date_only"} <= set(TS_QUALITY)
    rows = [_resource(recorded="2016-12-31T23:59:60Z"), _resource(recorded="2024-06-03")]
    (tmp_path / "x.ndjson").write_text("\n".join(json.dumps(x) for x in rows) + "\n")
    ev = validate_events(read_evidence(tmp_path, lab="L01", case_key=test_key).events)
    assert sorted(ev["ts_quality"].astype(str)) == ["date_only", "leap_second"]


def test_logical_patient_references(tmp_path):
    ents = [
        {"what": {"type": "Patient", "identifier": {"value": "004711"}}},
        {
            "what": {
                "type": "http://hl7.org/fhir/StructureDefinition/Patient",
                "identifier": {"value": "004712^^^&1.2.250&ISO"},  # CX -> 004712
            }
        },
        {"what": {"type": "Practitioner", "identifier": {"value": "DR1"}}},  # not a patient
        {"type": {"code": "Patient"}, "what": {"identifier": {"value": "004713"}}},  # R4 type
    ]
    r = _read(tmp_path, json.dumps(_resource(entity=ents)))
    assert r.events["_ipp"].tolist() == ["004711", "004712", "004713"]
    assert not r.field_problems  # each patient found, the practitioner is typed


def test_missing_patient_values_are_field_problems(tmp_path):
    ents = [
        {"what": {"type": "Patient", "reference": "urn:uuid:0b2c"}},  # a patient, no id
        {"what": {"type": "Patient", "identifier": {"system": "urn:oid:1.2"}}},  # no value
        {"what": {"identifier": {"value": "X9"}}},  # names nothing: cannot tell a patient
    ]
    r = _read(tmp_path, json.dumps(_resource(entity=ents, patient={"display": "someone"})))
    assert r.rows_to_events == 1 and r.events["_ipp"].isna().all()
    problems = _problems(r)
    for path in (
        "$.patient:",
        "$.entity[0].what:",
        "$.entity[1].what.identifier.value:",
        "$.entity[2].what: identifier without a type",
    ):
        assert path in problems, path
    assert all(p.column == "patient" for p in r.field_problems)


def test_no_requesting_agent_is_reported_and_no_agent_guessed(tmp_path):
    agents = [
        {"who": {"identifier": {"value": "app1"}}, "requestor": False},
        {"who": {"identifier": {"value": "u2"}}, "requestor": False},
    ]
    r = _read(tmp_path, json.dumps(_resource(agent=agents)))
    assert pd.isna(r.events["account"].iloc[0])  # FHIR: do not choose any one agent
    assert [p.column for p in r.field_problems] == ["account"]
    assert r.field_problems[0].problem.startswith("$.agent[*].requestor: no agent with requestor")
    r = _read(tmp_path, json.dumps(_resource(agent=[])))
    assert _problems(r).startswith("$.agent: no agent")


def test_requestor_without_name_and_several_requestors(tmp_path):
    r = _read(tmp_path, json.dumps(_resource(agent=[{"requestor": True, "role": []}])))
    assert pd.isna(r.events["account"].iloc[0])
    assert "$.agent[0].who: requesting agent without identifier" in _problems(r)
    agents = [
        {"who": {"reference": "Device/lis-01"}, "requestor": True},
        {"who": {"identifier": {"value": "10.0.0.9"}}, "requestor": True},
        {"who": {"identifier": {"value": "tech7"}}, "requestor": True},
    ]
    r = _read(tmp_path, json.dumps(_resource(agent=agents)))
    assert r.events["account"].iloc[0] == "tech7"  # the person, not the device or the address
    assert "3 agents with requestor true" in _problems(r) and "$.agent[2] taken" in _problems(r)


@pytest.mark.parametrize(
    ("over", "action", "raw"),
    [
        # R4 purposeOfEvent BTG (v3 ActReason) on a rest read
        (
            {
                "purposeOfEvent": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                                "code": "BTG",
                            }
                        ]
                    }
                ]
            },
            "break_glass",
            "rest/read|BTG",
        ),
        # R4 agent.purposeOfUse BTG
        (
            {
                "agent": [
                    {
                        "who": {"identifier": {"value": "u1"}},
                        "requestor": True,
                        "purposeOfUse": [{"coding": [{"code": "BTG"}]}],
                    }
                ]
            },
            "break_glass",
            "rest/read|BTG",
        ),
        # R5 authorization BTG
        ({"authorization": [{"coding": [{"code": "BTG"}]}]}, "break_glass", "rest/read|BTG"),
        # another purpose (treatment) changes nothing
        ({"purposeOfEvent": [{"coding": [{"code": "TREAT"}]}]}, "read", "rest/read"),
        # DICOM Security Alert + 110127 Emergency Override Started
        (
            {"type": {"code": "110113"}, "subtype": [{"code": "110127"}]},
            "break_glass",
            "110113/110127",
        ),
        # 110138 Emergency Override Stopped: a Security Alert, other
        ({"type": {"code": "110113"}, "subtype": [{"code": "110138"}]}, "other", "110113/110138"),
        # a login under break-glass stays a login (a session boundary)
        (
            {
                "type": {"code": "110114"},
                "subtype": [{"code": "110122"}],
                "purposeOfEvent": [{"coding": [{"code": "BTG"}]}],
            },
            "login",
            "110114/110122",
        ),
    ],
)
def test_break_glass(tmp_path, over, action, raw):
    r = _read(
        tmp_path, json.dumps(_resource(**over, entity=[{"what": {"reference": "Patient/A"}}]))
    )
    assert (r.events["action"].iloc[0], r.events["action_raw"].iloc[0]) == (action, raw)
    assert r.events["_ipp"].iloc[0] == "A"  # the patient is kept
    assert not r.unknown_codes


@pytest.mark.parametrize(
    ("code", "action_code", "expected"),
    [
        ("search-type", "E", "query"),
        ("search", "E", "query"),
        ("read", "R", "read"),
        ("delete-history-version", "D", "purge"),  # an R5 code
        ("update-conditional", "U", "update"),  # an R5 code
    ],
)
def test_r5_without_category_read_by_code(tmp_path, code, action_code, expected):
    res = _resource(
        code={"coding": [{"system": "http://hl7.org/fhir/restful-interaction", "code": code}]},
        action=action_code,
    )
    del res["type"], res["subtype"]  # R5: category is 0..*, absent here
    r = _read(tmp_path, json.dumps(res))
    assert r.events["action"].iloc[0] == expected  # was "other" for E
    assert r.events["action_raw"].iloc[0] == code and not r.unknown_codes


def test_dcm4chee_login_as_type_in_fhir(tmp_path):
    # 110122 / 110123 written as the event type itself, as dcm4chee writes the DICOM EventID
    for code, outcome, expected in (
        ("110122", "0", "login"),
        ("110122", "4", "login_failed"),
        ("110123", "0", "logout"),
    ):
        res = _resource(type={"code": code}, outcome=outcome, action="E")
        del res["subtype"]
        assert _read(tmp_path, json.dumps(res)).events["action"].iloc[0] == expected, code


def test_missing_required_elements_are_field_problems(tmp_path):
    # R4 type 1..1, R5 code 1..1, recorded 1..1: each missing one is reported at its path
    no_type = _resource()
    del no_type["type"], no_type["subtype"]
    r5_no_code = _resource(category=[{"coding": [{"code": "rest"}]}])
    del r5_no_code["type"], r5_no_code["subtype"]
    no_recorded = _resource(period={"start": "2024-05-02T09:15:00+02:00"})
    del no_recorded["recorded"]
    rows = [no_type, r5_no_code, no_recorded]
    r = _read(tmp_path, "\n".join(json.dumps(x) for x in rows), "m.ndjson")
    assert r.rows_to_events == 3  # all kept
    got = [(p.line, p.problem.split(":")[0]) for p in r.field_problems]
    assert got == [(1, "$.type"), (2, "$.code"), (3, "$.recorded")]
    assert r.events["ts"].iloc[2] == pd.Timestamp("2024-05-02 07:15", tz="UTC")  # from period
