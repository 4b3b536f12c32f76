"""Undecodable bytes in syslog, FHIR and ATNA files are counted, never lost silently
(fresh-eyes QA, session 8, item 2): the readers decoded with ``errors="replace"`` and
said nothing. Each now counts its U+FFFD in ``replacement_chars`` and names their lines
in ``encoding_note`` and one field problem per line, as the LIS readers do. The counts
are worked out by hand: an invalid UTF-8 sequence is one replacement character
(``FF`` is one, ``FF FE`` two, a lead byte ``C3`` followed by ``(`` one).
"""

from __future__ import annotations

import json
from pathlib import Path

from labforensics.ingest import read_evidence
from labforensics.ingest._lis_encoding import decode_utf8_accounted
from labforensics.ingest.readers.atna import read_atna
from labforensics.ingest.readers.fhir import read_fhir
from labforensics.ingest.readers.syslog import read_syslog
from labforensics.ingest.registry import ReadContext
from labforensics.privacy import CaseKey

KEY = CaseKey(bytes(range(32)))


def _note(n: int, lines: str) -> str:
    return (
        f"{n} undecodable byte(s) (utf-8) read as U+FFFD followed by its hex (xNN): line(s) {lines}"
    )


def test_decode_utf8_accounted_counts_each_byte():
    # line 1 clean; line 2 "81 8D" (2, undefined in cp1252 too); line 3 "C3 (": no typical
    # UTF-8 sequence, so cp1252 (C3 is Ã); 2 escaped bytes on line 2; BOM dropped
    data = b"\xef\xbb\xbfok\nab\x81\x8dcd\nx\xc3(y\n"
    text, n_rec, n, note, probs = decode_utf8_accounted(data)
    assert text == "ok\nab\ufffdx81\ufffdx8dcd\nxÃ(y\n"
    assert (n_rec, n) == (1, 2)  # line 2 holds no cp1252 character, only its 2 escapes
    assert note == ("1 row(s) written in cp1252 in this utf-8 file, decoded as cp1252: "
                    "line(s) 3; " + _note(2, "2"))  # fmt: skip
    assert [(p.line, p.column, p.value) for p in probs] == [(3, "line", ""), (2, "line", "")]
    assert decode_utf8_accounted(b"clean\n") == ("clean\n", 0, 0, "", [])


def test_syslog_counts_its_replacement_characters(tmp_path):
    lines = [
        b"Mar  1 10:00:00 host1 sshd[12]: Accepted password for alice from 10.0.0.1 port 22 ssh2",
        b"Mar  1 10:05:00 host1 sshd[13]: Accepted password for b\x81ob from 10.0.0.2 port 22 ssh2",
        b"Mar  1 10:06:00 host1 sshd[14]: Failed password for \x8d\x9d from 10.0.0.3 port 22 ssh2",
    ]
    p = tmp_path / "auth.log"
    p.write_bytes(b"\n".join(lines) + b"\n")
    r = read_syslog(p, ReadContext(source_file="auth.log", year=2019))
    assert r.replacement_chars == 3 and r.rows_recoded == 0
    assert r.encoding_note == _note(3, "2, 3")
    assert [(fp.line, fp.column) for fp in r.field_problems] == [(2, "line"), (3, "line")]
    # and through read_evidence, in the file's accounting
    ev = read_evidence(p, case_key=KEY, year=2019)
    (f,) = ev.report.files
    assert (f.replacement_chars, f.encoding_note) == (3, _note(3, "2, 3"))


def test_fhir_counts_its_replacement_characters(tmp_path):
    res = {
        "resourceType": "AuditEvent",
        "type": {"code": "rest"},
        "action": "R",
        "recorded": "2024-05-02T09:15:00+02:00",
        "agent": [{"who": {"identifier": {"value": "tech10"}}, "requestor": True}],
        "source": {"observer": {"display": "lis"}},
    }
    line = json.dumps(res).encode()
    bad = line.replace(b"tech10", b"tech\x8110")  # 0x81: neither UTF-8 nor cp1252
    p = tmp_path / "audit.ndjson"
    p.write_bytes(line + b"\n" + bad + b"\n")
    r = read_fhir(p, ReadContext(source_file="audit.ndjson", lab="L01"))
    assert r.replacement_chars == 1 and r.encoding_note == _note(1, "2")
    assert (2, "line") in [(fp.line, fp.column) for fp in r.field_problems]


def test_atna_counts_its_invalid_bytes(tmp_path):
    msg = (
        b'<AuditMessage><EventIdentification EventActionCode="R" '
        b'EventDateTime="2024-05-02T09:15:00+02:00" EventOutcomeIndicator="0">'
        b'<EventID csd-code="110110"/></EventIdentification>'
        b'<ActiveParticipant UserID="tech10" UserIsRequestor="true"/>'
        b'<AuditSourceIdentification AuditSourceID="lis"/></AuditMessage>\n'
    )
    p = tmp_path / "audit.xml"
    # the second message holds a byte that is not UTF-8: refused by the XML parser
    # (quarantined) and counted, on its line (2)
    p.write_bytes(msg + msg.replace(b"tech10", b"tech\xe910"))
    r = read_atna(p, ReadContext(source_file="audit.xml", lab="L01"))
    assert r.replacement_chars == 1 and r.encoding_note == _note(1, "2")
    assert [q.line for q in r.quarantine] == [2]
    assert "\ufffd" in r.quarantine[0].raw


def test_clean_files_have_no_note(tmp_path):
    p = Path(tmp_path / "auth.log")
    p.write_bytes(
        b"Mar  1 10:00:00 host1 sshd[12]: Accepted password for alice from 10.0.0.1 port 22 ssh2\n"
    )
    r = read_syslog(p, ReadContext(source_file="auth.log", year=2019))
    assert (r.replacement_chars, r.encoding_note, r.field_problems) == (0, "", [])


def test_syslog_repeat_summaries_counted_and_named(tmp_path):
    # QA session 12: the summary called repeat lines "a message naming several patients".
    # Line 2 (rsyslog) stands for 3 more failures of alice, line 4 (sysklogd) for 2 more
    # of bob: 4 rows, 4 event rows, 1 + 3 + 1 + 2 = 7 events, 3 more than rows
    p = tmp_path / "auth.log"
    p.write_text(
        "Mar  1 10:00:00 host1 sshd[12]: Failed password for alice from 10.0.0.1 port 22 ssh2\n"
        "Mar  1 10:00:05 host1 sshd[12]: message repeated 3 times: [ Failed password for "
        "alice from 10.0.0.1 port 22 ssh2]\n"
        "Mar  1 10:01:00 host1 sshd[13]: Failed password for bob from 10.0.0.2 port 22 ssh2\n"
        "Mar  1 10:01:30 host1 last message repeated 2 times\n"
    )
    ev = read_evidence(p, case_key=KEY, year=2019)
    (f,) = ev.report.files
    assert (f.rows_read, f.events, f.events_out) == (4, 4, 7)
    assert ev.events["account"].astype(str).value_counts().to_dict() == {"alice": 4, "bob": 3}
    line = next(x for x in ev.report.summary().splitlines() if x.startswith("events emitted"))
    assert line == (
        "events emitted: 7 (a syslog repeat summary ('message repeated N times', 'last "
        "message repeated N times') gives N events, one per repeat the log did not write "
        "out: 3 more events than such lines); field problems: 0"
    )
    assert "several patients" not in line
