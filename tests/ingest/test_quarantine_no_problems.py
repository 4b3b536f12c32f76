"""A quarantined record leaves no field problem (QA session 13: a FHIR resource whose
``recorded`` was no date-time was in quarantine.csv and also in field_problems.csv,
"outcome missing: read as success", "account missing", as if an event had been kept).
Every record is an event with its field problems, or quarantined."""

from __future__ import annotations

from pathlib import Path

from labforensics.ingest.readers.atna import read_atna
from labforensics.ingest.readers.fhir import read_fhir
from labforensics.ingest.registry import ReadContext


def _msg(outcome: str = "0", when: str = 'EventDateTime="2024-05-02T09:15:00+02:00"') -> str:
    """An ATNA AuditMessage of 8 lines (as tests/ingest/test_atna.py writes them)."""
    return (
        f'<AuditMessage>\n  <EventIdentification EventActionCode="R" {when} '
        f'EventOutcomeIndicator="{outcome}">\n    <EventID csd-code="110110"/>\n'
        '  </EventIdentification>\n  <ActiveParticipant UserID="tech10" '
        'UserIsRequestor="true"/>\n'
        '  <AuditSourceIdentification AuditSourceID="lis" AuditEnterpriseSiteID="S1"/>\n'
        "  \n</AuditMessage>"
    )


def _syslog(msg: str, ts: str) -> str:
    return f'<85>1 {ts} lis01 lis 42 IHE+DICOM - <?xml version="1.0"?>\n{msg}\n'


GOOD = (
    '{"resourceType":"AuditEvent","type":{"code":"rest"},"subtype":[{"code":"read"}],'
    '"action":"R","recorded":"2024-05-02T09:15:00+02:00","outcome":"0",'
    '"agent":[{"who":{"identifier":{"value":"tech10"}},"requestor":true}]}'
)


def _fhir(tmp_path: Path, lines: list[str]):
    p = tmp_path / "audit.ndjson"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return read_fhir(p, ReadContext(source_file=p.name, lab="L01"))


def test_fhir_quarantined_resources_leave_no_field_problem(tmp_path):
    r = _fhir(
        tmp_path,
        [
            GOOD,
            # date-time not ISO 8601 (quarantined once parsed): its outcome, agent,
            # type and entity problems were reported
            '{"resourceType":"AuditEvent","recorded":"not a date","agent":"oops",'
            '"entity":[{"what":12}]}',
            # no date-time at all (quarantined at once), with a bad agent too
            '{"resourceType":"AuditEvent","agent":"oops"}',
            # kept: no outcome -> read as success, a field problem on line 4
            GOOD.replace(',"outcome":"0"', ""),
        ],
    )
    assert sorted(q.line for q in r.quarantine) == [2, 3]
    assert [(p.line, p.column) for p in r.field_problems] == [(4, "outcome")]
    assert r.rows_to_events == 2 and len(r.events) == 2


def test_atna_quarantined_messages_leave_no_field_problem(tmp_path):
    bad_time = _msg(outcome="7", when='EventDateTime="yesterday"')  # "7": no DICOM outcome
    kept = _msg(outcome="7")
    p = tmp_path / "audit.xml"
    p.write_text(bad_time + "\n" + kept + "\n", encoding="utf-8")
    r = read_atna(p, ReadContext(source_file=p.name))
    assert [q.line for q in r.quarantine] == [1]
    # only the kept message's outcome problem (8 lines each: it starts on line 9)
    assert [(p.line, p.column) for p in r.field_problems] == [(9, "outcome")]
    # a syslog header without seconds (a ts problem) before XML that is not well formed
    p = tmp_path / "audit.log"
    p.write_text(_syslog("<AuditMessage><EventIdentification", ts="2024-05-02T07:20Z"))
    r = read_atna(p, ReadContext(source_file=p.name))
    assert len(r.quarantine) == 1 and not r.field_problems and len(r.events) == 0
