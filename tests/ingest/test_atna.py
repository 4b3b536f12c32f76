"""ATNA AuditMessage reader on handwritten messages: framings, mapping, hostile XML."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from labforensics.ingest.readers.atna import read_atna, sniff_atna
from labforensics.ingest.registry import ReadContext, get_reader


def _read(tmp_path: Path, data: str | bytes, name: str = "audit.log", **kw):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    r = read_atna(p, ReadContext(source_file=name, **kw))
    assert r.rows_read == r.rows_to_events + r.repeated_headers + r.ignored + len(r.quarantine)
    return r


def _msg(
    eid: str = "110110",
    action: str = "R",
    outcome: str = "0",
    when: str = 'EventDateTime="2024-05-02T09:15:00.123456789+02:00"',
    types: str = "",
    participants: str = '<ActiveParticipant UserID="tech10" UserIsRequestor="true" '
    'NetworkAccessPointID="10.9.0.7" NetworkAccessPointTypeCode="2"/>',
    objects: str = '<ParticipantObjectIdentification ParticipantObjectID="PAT-0001^^^&amp;1.2&amp;ISO" '
    'ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"/>',
) -> str:
    return (
        f'<AuditMessage>\n  <EventIdentification EventActionCode="{action}" {when} '
        f'EventOutcomeIndicator="{outcome}">\n    <EventID csd-code="{eid}"/>{types}\n'
        f"  </EventIdentification>\n  {participants}\n"
        '  <AuditSourceIdentification AuditSourceID="lis" AuditEnterpriseSiteID="S1"/>\n'
        f"  {objects}\n</AuditMessage>"
    )


def _syslog(msg: str, ts: str = "2024-05-02T07:15:01Z") -> str:
    return f'<85>1 {ts} lis01 lis 42 IHE+DICOM - <?xml version="1.0" encoding="UTF-8"?>\n{msg}\n'


def _frame(msg: str, ts: str = "2024-05-02T07:15:01Z") -> bytes:
    body = f"<85>1 {ts} lis01 lis 42 IHE+DICOM - {msg}".encode()
    return str(len(body)).encode() + b" " + body


def test_patient_record_read_with_nanoseconds(tmp_path):
    r = _read(tmp_path, _msg(), "one.xml", lab="L01")
    ev = r.events
    assert len(ev) == 1 and r.rows_to_events == 1
    e = ev.iloc[0]
    # 09:15:00.123456789+02:00 -> 07:15:00.123456789 UTC, to the nanosecond
    assert e["ts"] == pd.Timestamp("2024-05-02 07:15:00.123456789", tz="UTC")
    assert (e["action"], e["outcome"], e["account"], e["src_ip"]) == (
        "read",
        "success",
        "tech10",
        "10.9.0.7",
    )
    assert (e["_ipp"], e["site"], e["lab"], e["dicom_event_id"]) == (
        "PAT-0001",
        "S1",
        "L01",
        "110110",
    )


@pytest.mark.parametrize(
    ("eid", "action_code", "types", "outcome", "expected"),
    [
        ("110110", "U", "", "0", "update"),
        ("110110", "C", "", "0", "update"),
        ("110110", "D", "", "0", "purge"),
        ("110110", "E", "", "0", "other"),
        ("110112", "E", '<EventTypeCode code="ITI-9"/>', "0", "query"),
        ("110106", "R", "", "0", "export"),
        ("110107", "C", "", "0", "other"),  # Import: documented as other
        ("110114", "E", '<EventTypeCode csd-code="110122"/>', "0", "login"),
        ("110114", "E", '<EventTypeCode csd-code="110122"/>', "4", "login_failed"),
        ("110114", "E", '<EventTypeCode code="110123"/>', "0", "logout"),
    ],
)
def test_action_table(tmp_path, eid, action_code, types, outcome, expected):
    ev = _read(tmp_path, _msg(eid=eid, action=action_code, types=types, outcome=outcome)).events
    assert ev["action"].iloc[0] == expected
    assert ev["outcome"].iloc[0] == ("success" if outcome == "0" else "failure")


def test_unknown_event_id_and_outcome(tmp_path):
    r = _read(tmp_path, _msg(eid="999999", action="R", outcome="7"))
    assert r.events["action"].iloc[0] == "read"  # by EventActionCode R
    assert r.unknown_codes == {"999999": 1}
    assert [p.column for p in r.field_problems] == ["outcome"]  # "7" is no DICOM outcome


def test_framings_in_one_file_and_lines(tmp_path):
    two = _msg(
        objects='<ParticipantObjectIdentification ParticipantObjectID="A1" '
        'ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"/>'
        '<ParticipantObjectIdentification ParticipantObjectID="B2" '
        'ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"/>'
        '<ParticipantObjectIdentification ParticipantObjectID="Q" '
        'ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="24">'
        "<ParticipantObjectQuery>c2VsZWN0ICogZnJvbSB4</ParticipantObjectQuery>"
        "</ParticipantObjectIdentification>"
    )
    k = _syslog(_msg()).count("\n")  # physical lines of one syslog message (9)
    data = (
        _syslog(_msg()).encode()  # lines 1..k
        + _syslog(two).encode()  # lines k+1..2k
        + b"garbage line\n"  # line 2k+1
        + _frame(_msg().replace("\n", ""))  # line 2k+2, no line end
        + _frame(_msg(action="U").replace("\n", ""))  # same line, concatenated frames
        + b"\n"
    )
    r = _read(tmp_path, data)
    assert (r.rows_read, r.rows_to_events, len(r.quarantine)) == (5, 4, 1)
    assert r.quarantine[0].line == 2 * k + 1
    ev = r.events
    assert ev["source_line"].tolist() == [1, k + 1, k + 1, 2 * k + 2, 2 * k + 2]
    assert ev["_ipp"].tolist() == ["PAT-0001", "A1", "B2", "PAT-0001", "PAT-0001"]
    assert ev.loc[ev.source_line == k + 1, "message_id"].nunique() == 1  # one message, 2 patients
    assert ev["detail"].iloc[1] == "select * from x"  # base64 query decoded
    assert ev["action"].tolist() == ["read", "read", "read", "read", "update"]


def test_header_time_is_not_the_event_time(tmp_path):
    # the header time has no seconds: a field problem, the event time is EventDateTime
    r = _read(tmp_path, _syslog(_msg(), ts="2024-05-02T07:20Z"))
    assert r.events["ts"].iloc[0] == pd.Timestamp("2024-05-02 07:15:00.123456789", tz="UTC")
    assert [p.column for p in r.field_problems] == ["ts"]
    # no EventDateTime: the header time is used, with a field problem
    r = _read(tmp_path, _syslog(_msg(when=""), ts="2024-05-02T07:20:00Z"))
    assert r.events["ts"].iloc[0] == pd.Timestamp("2024-05-02 07:20", tz="UTC")
    assert "syslog time used" in r.field_problems[0].problem
    # neither: quarantined
    r = _read(tmp_path, _msg(when='EventDateTime="yesterday"'), "x.xml")
    assert len(r.quarantine) == 1 and len(r.events) == 0


def test_requestor_is_the_user_not_the_address(tmp_path):
    parts = (
        '<ActiveParticipant UserID="fe80::1%11" UserIsRequestor="true" '
        'NetworkAccessPointTypeCode="1" NetworkAccessPointID="ws-12"/>'
        '<ActiveParticipant UserID="alice" UserIsRequestor="true"/>'
        '<ActiveParticipant UserID="pix" UserIsRequestor="false" NetworkAccessPointID="10.0.0.1" '
        'NetworkAccessPointTypeCode="2"/>'
    )
    ev = _read(tmp_path, _msg(participants=parts)).events
    assert ev["account"].iloc[0] == "alice"
    assert ev["host"].iloc[0] == "ws-12" and pd.isna(ev["src_ip"].iloc[0])


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<AuditMessage><EventIdentification EventDateTime="2024-01-01T00:00:00Z" EventActionCode="R"
 EventOutcomeIndicator="0"><EventID csd-code="110110"/></EventIdentification>
 <ActiveParticipant UserID="&lol4;" UserIsRequestor="true"/></AuditMessage>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE AuditMessage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<AuditMessage><EventIdentification EventDateTime="2024-01-01T00:00:00Z" EventActionCode="R"
 EventOutcomeIndicator="0"><EventID csd-code="110110"/></EventIdentification>
 <ActiveParticipant UserID="&xxe;" UserIsRequestor="true"/></AuditMessage>
"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE])
def test_entity_attacks_are_quarantined_not_expanded(tmp_path, payload):
    for data in (payload, _syslog(payload.split("?>", 1)[1])):
        r = _read(tmp_path, data)
        assert len(r.events) == 0 and len(r.quarantine) == 1
        assert r.quarantine[0].reason.startswith("forbidden XML construct")
        assert "lollol" not in r.quarantine[0].raw and "root:" not in r.quarantine[0].raw


def test_truncated_xml_and_frames(tmp_path):
    whole = _syslog(_msg())
    r = _read(tmp_path, whole + whole[: len(whole) // 2])
    assert r.rows_to_events == 1 and [q.line for q in r.quarantine] == [whole.count("\n") + 1]
    assert r.quarantine[0].reason.startswith("XML not well-formed") and r.truncated
    frame = _frame(_msg())
    r = _read(tmp_path, frame + b"\n" + frame[:-20])
    assert r.rows_to_events == 1 and len(r.quarantine) == 1
    assert "RFC 5425 frame declares" in r.quarantine[0].reason and r.truncated


def test_not_an_audit_message_is_ignored(tmp_path):
    r = _read(tmp_path, '<?xml version="1.0"?><Other/>\n', "o.xml")
    assert (r.rows_read, r.ignored) == (1, 1)
    r = _read(
        tmp_path,
        _msg().replace("<EventIdentification", "<Nope").replace("</EventIdentification", "</Nope"),
    )
    assert len(r.quarantine) == 1


def test_namespaced_message(tmp_path):
    msg = _msg().replace("<AuditMessage>", '<a:AuditMessage xmlns:a="urn:x">')
    msg = msg.replace("</AuditMessage>", "</a:AuditMessage>")
    ev = _read(tmp_path, msg, "ns.xml").events
    assert ev["account"].tolist() == ["tech10"]


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x00\x01\xff" * 50,
        b"99999 <85>1 x",
        b"<AuditMessage>",
        b"<85>1 - - - - - - no xml\n",
        bytes(range(256)),
    ],
)
def test_arbitrary_bytes_never_raise(tmp_path, blob):
    _read(tmp_path, blob)


def test_sniff_and_registration():
    assert get_reader("atna").read is read_atna
    assert sniff_atna(b'<?xml version="1.0"?>\n<AuditMessage>', "a.xml")
    assert sniff_atna(b"2164 <85>1 2025-04-18T09:04:00.603Z h - - IHE - <?xml?><AuditMessage>", "f")
    assert not sniff_atna(b"Jun 14 15:16:01 combo sshd[1]: hello", "auth.log")


def test_quarantined_messages_do_not_leak_patients(tmp_path):
    msg = _msg(when="").replace("PAT-0001", "SECRET-9")  # no time at all: quarantined
    r = _read(tmp_path, msg + "\n" + _msg().replace("PAT-0001", "SECRET-8")[:-30], "q.xml")
    assert len(r.quarantine) == 2 and len(r.events) == 0
    for q in r.quarantine:
        assert "SECRET" not in q.raw and 'ParticipantObjectID="[REDACTED]"' in q.raw


def test_bsd_framing_and_other_programs_messages(tmp_path):
    data = (
        "<85>Dec 17 15:12:04 lis01 audit: " + _msg().replace("\n", "") + "\n"
        "<38>1 2024-05-02T09:15:00Z srv sshd 1 - - Accepted password for b from ::1 port 2\n"
    )
    r = _read(tmp_path, data)
    assert (r.rows_read, r.rows_to_events, r.ignored) == (2, 1, 1)  # sshd line: out of scope
    assert r.events["account"].tolist() == ["tech10"] and not r.field_problems


def test_one_message_with_100k_participant_objects_reads_in_linear_time(tmp_path):
    # hostile input: one AuditMessage naming 100,000 patients (+ 1 repeat) is read in
    # seconds (the duplicate check was a list scan: quadratic in the number of objects)
    import time

    n = 100_000
    objs = "".join(
        f'<ParticipantObjectIdentification ParticipantObjectID="P{i:07d}" '
        'ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"/>'
        for i in [*range(n), 0]
    )
    t0 = time.process_time()
    r = _read(tmp_path, _msg(objects=objs), name="big.xml")
    elapsed = time.process_time() - t0
    assert elapsed < 30, f"{elapsed:.1f} s"  # ~2 s on the 2-core CI box
    assert r.rows_to_events == 1 and not r.quarantine
    assert len(r.events) == n  # one event per distinct patient, the repeat dropped
    assert r.events["message_id"].nunique() == 1
    assert r.events["_ipp"].iloc[-1] == "P0099999"


def test_deeply_nested_xml_is_quarantined_not_a_crash(tmp_path):
    # 50,000 nested elements: parsed (expat is not recursive), never a RecursionError raised
    deep = "<a>" * 50_000 + "</a>" * 50_000
    r = _read(tmp_path, f"<AuditMessage>{deep}</AuditMessage>", name="deep.xml")
    assert r.rows_to_events == 0 and len(r.quarantine) == 1
    assert r.quarantine[0].reason == "AuditMessage without EventIdentification"


def test_20k_plain_xml_messages_read_in_linear_time(tmp_path):
    # 20,000 concatenated messages without syslog framing: each message's search for the
    # next syslog header rescanned the rest of the file (quadratic: ~35 s, now ~2 s)
    import time

    n = 20_000
    one = _msg().replace("\n", "") + "\n"
    t0 = time.process_time()
    r = _read(tmp_path, one * n, name="many.xml")
    elapsed = time.process_time() - t0
    assert elapsed < 10, f"{elapsed:.1f} s"  # 5x headroom; the old code took 35 s
    assert r.rows_read == n and r.rows_to_events == n and not r.quarantine
    assert len(r.events) == n and r.events["message_id"].nunique() == n  # one per message
    assert r.events["source_line"].iloc[-1] == n  # one message per line


# --- issue 12 item 4: dcm4chee login/logout, break-glass, leap seconds, dates, missing values


def _dcm4chee_auth(eid: str, outcome: str = "0") -> str:
    # the shape of dcm4chee-arc's User Authentication message (its docs' sample, fake values):
    # EventID 110122 Login / 110123 Logout, no EventTypeCode; the user is the requestor
    return (
        '<AuditMessage><EventIdentification EventActionCode="E" '
        f'EventDateTime="2017-01-26T17:28:59.553+01:00" EventOutcomeIndicator="{outcome}">'
        f'<EventID csd-code="{eid}" codeSystemName="DCM" originalText="Login"/>'
        "</EventIdentification>"
        '<ActiveParticipant UserID="admin7" UserTypeCode="1" UserIsRequestor="true" '
        'NetworkAccessPointID="10.1.2.3" NetworkAccessPointTypeCode="2"/>'
        '<ActiveParticipant UserID="arc-01" UserTypeCode="2" UserIsRequestor="false" '
        'NetworkAccessPointID="localhost" NetworkAccessPointTypeCode="1"/>'
        '<AuditSourceIdentification AuditSourceID="arc-01"/></AuditMessage>'
    )


@pytest.mark.parametrize(
    ("eid", "outcome", "expected"),
    [("110122", "0", "login"), ("110122", "4", "login_failed"), ("110123", "0", "logout")],
)
def test_dcm4chee_login_logout_as_event_id(tmp_path, eid, outcome, expected):
    r = _read(tmp_path, _syslog(_dcm4chee_auth(eid, outcome)))
    e = r.events.iloc[0]
    assert e["action"] == expected  # was "other", counted as an unknown code
    assert (e["account"], e["src_ip"], e["dicom_event_id"]) == ("admin7", "10.1.2.3", eid)
    assert e["action_raw"] == eid and not r.unknown_codes and not r.field_problems
    assert e["ts"] == pd.Timestamp("2017-01-26 16:28:59.553", tz="UTC")


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (
            '<EventTypeCode csd-code="110127" originalText="Emergency Override Started"/>',
            "break_glass",
        ),
        ('<EventTypeCode csd-code="110138" originalText="Emergency Override Stopped"/>', "other"),
    ],
)
def test_emergency_override_is_break_glass(tmp_path, types, expected):
    r = _read(tmp_path, _msg(eid="110113", action="E", types=types))
    assert r.events["action"].iloc[0] == expected and not r.unknown_codes


def test_leap_second_in_event_date_time(tmp_path):
    # xs:dateTime of XML Schema 1.0 allows second 60 (a leap second)
    when = 'EventDateTime="2016-12-31T23:59:60.5Z"'
    r = _read(tmp_path, _syslog(_msg(when=when)))
    assert r.rows_to_events == 1 and not r.quarantine and not r.field_problems
    e = r.events.iloc[0]
    assert e["ts"] == pd.Timestamp("2016-12-31 23:59:59.999999999", tz="UTC")  # before midnight
    assert e["ts_quality"] == "leap_second"
    # not the end of a UTC day: kept, reported (the syslog time is not used)
    r = _read(tmp_path, _syslog(_msg(when='EventDateTime="2024-05-02T09:15:60+02:00"')))
    assert r.events["ts"].iloc[0] == pd.Timestamp("2024-05-02 07:15:59.999999999", tz="UTC")
    assert [p.column for p in r.field_problems] == ["ts"]
    assert "second 60 outside the last minute of a UTC day" in r.field_problems[0].problem


def test_event_date_without_time_is_date_only(tmp_path):
    r = _read(tmp_path, _msg(when='EventDateTime="2024-06-03"'), "d.xml")
    e = r.events.iloc[0]
    assert e["ts"] == pd.Timestamp("2024-06-02 22:00", tz="UTC")  # Paris midnight, UTC+2
    assert e["ts_quality"] == "date_only"  # was "exact"
    assert [p.column for p in r.field_problems] == ["ts"]
    assert "xsd:dateTime requires one" in r.field_problems[0].problem


def test_missing_requestor_account_and_patient_are_field_problems(tmp_path):
    no_req = '<ActiveParticipant UserID="tech10" UserIsRequestor="false"/>'
    r = _read(tmp_path, _msg(participants=no_req))
    assert pd.isna(r.events["account"].iloc[0])  # the non-requestor is not guessed
    assert [p.column for p in r.field_problems] == ["account"]
    assert "no ActiveParticipant with UserIsRequestor true" in r.field_problems[0].problem
    # RFC 3881 schema: UserIsRequestor default="true": an unmarked participant is the requestor
    unmarked = (
        '<ActiveParticipant UserID="app" UserIsRequestor="false"/>'
        '<ActiveParticipant UserID="tech11"/>'
    )
    r = _read(tmp_path, _msg(participants=unmarked))
    assert r.events["account"].iloc[0] == "tech11"
    assert "RFC 3881 schema default true" in r.field_problems[0].problem
    # a patient object without its id
    obj = '<ParticipantObjectIdentification ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"/>'
    r = _read(tmp_path, _msg(objects=obj))
    assert pd.isna(r.events["_ipp"].iloc[0])
    assert [p.column for p in r.field_problems] == ["patient"]


def test_missing_event_id_is_a_field_problem(tmp_path):
    r = _read(tmp_path, _msg().replace('<EventID csd-code="110110"/>', ""))
    assert r.events["action"].iloc[0] == "read"  # by EventActionCode R
    assert [p.problem for p in r.field_problems] == ["EventID missing (M in PS3.15 A.5.1)"]
