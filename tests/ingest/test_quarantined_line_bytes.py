"""A quarantined line leaves no byte-level line problem (session 13's leftover): its
undecodable bytes, NUL bytes or cp1252 reading were listed as field problems as if the
line had been kept, besides its quarantine row. A line is accounted once: an event with
its field problems, or a quarantine row (file, line, reason). The file's counts
(``replacement_chars``) still count its bytes. Expected values worked out by hand."""

from __future__ import annotations

from pathlib import Path

from labforensics.ingest import read_evidence
from labforensics.ingest._kept_lines import kept_line_problems
from labforensics.ingest.readers.atna import read_atna
from labforensics.ingest.readers.fhir import read_fhir
from labforensics.ingest.readers.syslog import read_syslog
from labforensics.ingest.registry import FieldProblem, QuarantineRow, ReadContext
from labforensics.privacy import CaseKey
from lis_headers import CURRENT_HEADER
from profile_texts import REGEX_PROFILE

KEY = CaseKey(b"q" * 32)


def _cur_row(when: str, account: str, comment: str = "") -> bytes:
    return (
        f"{when};L02;S1;{account};technicien;PC1;10.0.0.1;resultats;"
        f"consultation;succes;;D1;;;;{comment}\n"
    ).encode()


def test_helper_keeps_lines_shared_with_a_kept_record():
    probs = [FieldProblem(1, "line", "", "x"), FieldProblem(2, "line", "", "y")]
    q = [QuarantineRow(1, "bad", ""), QuarantineRow(2, "bad", "")]
    assert kept_line_problems(probs, q) == []
    assert kept_line_problems(probs, q, kept_lines=[1]) == probs[:1]  # a Bundle's line
    assert kept_line_problems(probs, []) == probs


def test_regex_profile_quarantined_lines_leave_no_byte_problem(tmp_path):
    prof = tmp_path / "rx.toml"
    prof.write_text(REGEX_PROFILE, encoding="utf-8")
    f = tmp_path / "ev" / "badge.log"
    f.parent.mkdir()
    f.write_bytes(
        b"1262304000 alice\n"  # line 1: kept
        b"not a match \x81 here\n"  # line 2: pattern fails, undecodable byte
        b"12623040\x0001 bob\n"  # line 3: NUL inside the time: no match (U+FFFD)
        b"1262304002 c\x81rol\n"  # line 4: kept, undecodable byte: its problem stays
        b"99999999999999999999 dave\x00\n"  # line 5: matches, time quarantined, NUL
    )
    ev = read_evidence(f, case_key=KEY, profile=prof, lab="SIM")
    (rep,) = ev.report.files
    assert sorted(ev.quarantine["source_line"].tolist()) == [2, 3, 5]
    assert ev.report.field_problems["source_line"].tolist() == [4]
    assert rep.field_problems == 1 and len(ev.events) == 2
    assert rep.replacement_chars == 2  # the file's bytes: lines 2 and 4 (one each)


def test_lis_conversion_quarantine_leaves_no_byte_problem(tmp_path):
    f = tmp_path / "audit_L02_2020-03-05.csv"
    f.write_bytes(
        (CURRENT_HEADER + "\n").encode()  # line 1
        + _cur_row("2020-03-05T10:00:00+01:00", "alice", "vu").replace(b"vu", b"v\x81u")  # 2
        + _cur_row("not a time", "bob").replace(b"bob", b"b\x81b")  # line 3: quarantined
        + _cur_row("also not", "carol").replace(b"carol", b"ca\x00ol")  # line 4: quarantined
        + _cur_row("2020-03-05T10:02:00+01:00", "dave").replace(b"dave", b"da\x00e")  # 5: kept
    )
    ev = read_evidence(f, case_key=KEY)
    assert sorted(ev.quarantine["source_line"].tolist()) == [3, 4]
    fp = ev.report.field_problems
    assert sorted(zip(fp["source_line"], fp["column"], strict=True)) == [
        (2, "detail"),
        (5, "account"),
    ]
    assert len(ev.events) == 2


def test_syslog_quarantined_line_leaves_no_byte_problem(tmp_path):
    p = tmp_path / "auth.log"
    p.write_bytes(
        b"Mar  1 10:00:00 host1 sshd[12]: Accepted password for al\x81ce from 10.0.0.1 port 22 ssh2\n"
        b"garbage \x81\x8d not syslog\n"  # line 2: quarantined
    )
    r = read_syslog(p, ReadContext(source_file="auth.log", year=2019))
    assert [q.line for q in r.quarantine] == [2]
    assert [(fp.line, fp.column) for fp in r.field_problems] == [(1, "line")]
    assert r.replacement_chars == 3


GOOD = (
    '{"resourceType":"AuditEvent","type":{"code":"rest"},"subtype":[{"code":"read"}],'
    '"action":"R","recorded":"2024-05-02T09:15:00+02:00","outcome":"0",'
    '"agent":[{"who":{"identifier":{"value":"tech10"}},"requestor":true}]}'
)


def test_fhir_quarantined_resource_line_leaves_no_byte_problem(tmp_path: Path):
    bad = GOOD.replace("2024-05-02T09:15:00+02:00", "not a date").replace("tech10", "t\x01")
    p = tmp_path / "audit.ndjson"
    lines = [GOOD.encode(), bad.encode().replace(b"\x01", b"\x81"), GOOD.encode()]
    p.write_bytes(b"\n".join(lines) + b"\n")
    r = read_fhir(p, ReadContext(source_file=p.name, lab="L01"))
    assert [q.line for q in r.quarantine] == [2]
    assert r.field_problems == [] and r.replacement_chars == 1


def _atna_msg(user: bytes, when: bytes = b"2024-05-02T09:15:00+02:00") -> bytes:
    """An ATNA AuditMessage on one line."""
    return (
        b'<AuditMessage><EventIdentification EventActionCode="R" EventDateTime="' + when
        + b'" EventOutcomeIndicator="0"><EventID csd-code="110110"/></EventIdentification>'
        b'<ActiveParticipant UserID="' + user + b'" UserIsRequestor="true"/>'
        b'<AuditSourceIdentification AuditSourceID="lis"/></AuditMessage>'
    )  # fmt: skip


def test_atna_quarantined_message_line_leaves_no_byte_problem(tmp_path: Path):
    p = tmp_path / "audit.xml"
    p.write_bytes(
        _atna_msg(b"tech10")  # line 1: kept
        + b"\n"
        + _atna_msg(b"t\x81x", when=b"yesterday")  # line 2: time unreadable, a bad byte
        + b"\n"
    )
    r = read_atna(p, ReadContext(source_file=p.name))
    assert [q.line for q in r.quarantine] == [2]
    assert r.field_problems == [] and r.replacement_chars == 1 and len(r.events) == 1
