"""Syslog authentication reader on handwritten lines (the real loghub logs: test_real_logs.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from labforensics.ingest.readers.syslog import YEAR_REASON, read_syslog, sniff_syslog
from labforensics.ingest.registry import ReadContext, get_reader


def _read(tmp_path: Path, text: str | bytes, year: int | None = 2024, **kw):
    p = tmp_path / "auth.log"
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    r = read_syslog(p, ReadContext(source_file="auth.log", year=year, **kw))
    assert r.rows_read == r.rows_to_events + r.repeated_headers + r.ignored + len(r.quarantine)
    return r


def test_sshd_attempts_counted_once_per_attempt(tmp_path):
    text = (
        "Dec 10 06:55:46 srv sshd[100]: Invalid user web from 1.2.3.4\n"
        "Dec 10 06:55:46 srv sshd[100]: input_userauth_request: invalid user web [preauth]\n"
        "Dec 10 06:55:46 srv sshd[100]: pam_unix(sshd:auth): check pass; user unknown\n"
        "Dec 10 06:55:46 srv sshd[100]: pam_unix(sshd:auth): authentication failure; logname= "
        "uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4 \n"
        "Dec 10 06:55:48 srv sshd[100]: Failed password for invalid user web from 1.2.3.4 port 3 ssh2\n"
        "Dec 10 06:55:49 srv sshd[100]: message repeated 3 times: [ Failed password for invalid "
        "user web from 1.2.3.4 port 3 ssh2]\n"
        "Dec 10 06:55:50 srv sshd[100]: Connection closed by 1.2.3.4 [preauth]\n"
        "Dec 10 07:00:00 srv sshd[200]: Invalid user bob from 5.6.7.8\n"
        "Dec 10 07:00:01 srv sshd[200]: Received disconnect from 5.6.7.8: 11: Bye Bye [preauth]\n"
    )
    r = _read(tmp_path, text)
    ev = r.events
    # pid 100: one Failed line + 3 repeats = 4 attempts; Invalid user and PAM lines corroborate
    # pid 200: no Failed line, so its Invalid user line is the attempt
    assert ev["action"].tolist() == ["login_failed"] * 5
    assert ev["source_line"].tolist() == [5, 6, 6, 6, 8]
    assert ev["account"].tolist() == ["web"] * 4 + ["bob"]
    assert ev["src_ip"].tolist() == ["1.2.3.4"] * 4 + ["5.6.7.8"]
    assert ev.loc[ev.source_line == 6, "message_id"].nunique() == 1
    assert (r.rows_read, r.rows_to_events, r.ignored) == (9, 3, 6)
    assert ev["ts"].iloc[0] == pd.Timestamp("2024-12-10 05:55:48", tz="UTC")  # CET = UTC+1


def test_sysklogd_last_message_repeated(tmp_path):
    text = (
        "Jun 14 10:00:00 srv sshd[5]: Failed password for root from 9.9.9.9 port 1 ssh2\n"
        "Jun 14 10:00:30 srv last message repeated 4 times\n"
        "Jun 14 10:01:00 srv kernel: eth0 up\n"
        "Jun 14 10:01:30 srv last message repeated 2 times\n"  # repeats an ignored line
    )
    r = _read(tmp_path, text)
    ev = r.events
    # 1 + 4 failed attempts; the kernel line and its repeat are out of scope
    assert ev["source_line"].tolist() == [1, 2, 2, 2, 2]
    assert set(ev["account"]) == {"root"} and set(ev["src_ip"]) == {"9.9.9.9"}
    assert (r.rows_to_events, r.ignored) == (2, 2)
    assert ev["action_raw"].tolist() == ["Failed password"] * 5


def test_accepted_login_and_sessions_paired_by_pid(tmp_path):
    text = (
        "Jun 14 10:00:00 srv sshd[24680]: Accepted publickey for fztu from 10.0.0.9 port 4 ssh2\n"
        "Jun 14 10:00:00 srv sshd[24680]: pam_unix(sshd:session): session opened for user fztu "
        "by (uid=0)\n"
        "Jun 14 10:05:00 srv su(pam_unix)[21416]: session opened for user cyrus by (uid=0)\n"
        "Jun 14 10:05:01 srv su(pam_unix)[21416]: session closed for user cyrus\n"
        "Jun 14 10:06:00 srv login(pam_unix)[2421]: session opened for user root by LOGIN(uid=0)\n"
        "Jun 14 10:07:00 srv sshd[24680]: pam_unix(sshd:session): session closed for user fztu\n"
        "Jun 14 10:08:00 srv su: pam_unix(su:session): session opened for user root(uid=0) by "
        "alice(uid=1000)"  # no line end: a complete last line
    )
    r = _read(tmp_path, text)
    ev = r.events
    # su sessions are a change of identity, not a login: action privilege, the acting user
    # as the account (PAM wrote only "(uid=0)" on lines 3-4: unknown), the target kept
    assert ev["action"].tolist() == [
        "login",
        "privilege",
        "privilege",
        "login",
        "logout",
        "privilege",
    ]
    assert ev["app_session"].tolist()[:5] == [
        "sshd[24680]",
        "su[21416]",
        "su[21416]",
        "login[2421]",
        "sshd[24680]",
    ]
    assert pd.isna(ev["app_session"].iloc[5])  # no pid on that line
    acc = ev["account"].tolist()
    assert acc[0] == "fztu" and pd.isna(acc[1]) and pd.isna(acc[2])
    assert acc[3:] == ["root", "fztu", "alice"]
    assert ev["detail"].iloc[5].startswith("target=root; pam_unix(su:session)")
    assert ev["detail"].iloc[1].startswith("target=cyrus; session opened")
    assert ev["action_raw"].iloc[0] == "Accepted publickey"
    assert ev["src_ip"].iloc[0] == "10.0.0.9" and ev["host"].iloc[0] == "srv"
    assert ev["module"].tolist()[:3] == ["SSHD", "SU", "SU"]
    assert r.ignored == 1 and not r.truncated  # the sshd "session opened" corroborates Accepted


def test_year_rollover_and_local_time(tmp_path):
    text = (
        "Dec 31 23:59:59 srv sshd[1]: Failed password for a from 1.1.1.1 port 1 ssh2\n"
        "Jan  1 00:00:01 srv sshd[2]: Failed password for a from 1.1.1.1 port 1 ssh2\n"
        "Mar 31 02:30:00 srv sshd[3]: Failed password for a from 1.1.1.1 port 1 ssh2\n"
        "Oct 27 02:30:00 srv sshd[4]: Failed password for a from 1.1.1.1 port 1 ssh2\n"
    )
    ev = _read(tmp_path, text, year=2023).events
    assert ev["ts"].tolist() == [
        pd.Timestamp("2023-12-31 22:59:59", tz="UTC"),  # CET
        pd.Timestamp("2023-12-31 23:00:01", tz="UTC"),  # Jan 1 2024 00:00:01 CET: year advanced
        pd.Timestamp("2024-03-31 01:30:00", tz="UTC"),  # gap hour read with the winter offset
        pd.Timestamp("2024-10-27 00:30:00", tz="UTC"),  # fall-back hour, first pass (+02:00)
    ]
    assert ev["ts_quality"].tolist() == [
        "exact",
        "exact",
        "nonexistent_shifted",
        "ambiguous_unresolved",
    ]


def test_fallback_hour_resolved_by_backward_step(tmp_path):
    text = (
        "Oct 27 02:50:00 srv sshd[1]: Failed password for a from 1.1.1.1 port 1 ssh2\n"
        "Oct 27 02:10:00 srv sshd[2]: Failed password for a from 1.1.1.1 port 1 ssh2\n"
    )
    ev = _read(tmp_path, text).events
    # the step back from 02:50 to 02:10 is the clock going back: +02:00 then +01:00
    assert ev["ts"].tolist() == [
        pd.Timestamp("2024-10-27 00:50", tz="UTC"),
        pd.Timestamp("2024-10-27 01:10", tz="UTC"),
    ]
    assert set(ev["ts_quality"]) == {"ambiguous_resolved"}


def test_without_year_in_scope_lines_are_quarantined(tmp_path):
    text = (
        "Jun 14 15:16:01 combo kernel: something\n"
        "Jun 14 15:16:02 combo sshd[7]: Failed password for x from 9.9.9.9 port 2 ssh2\n"
        "<38>1 2024-05-02T09:15:00+02:00 srv sshd 42 - - Failed password for y from 9.9.9.8 "
        "port 2 ssh2\n"
    )
    r = _read(tmp_path, text, year=None)
    assert [(q.line, q.reason) for q in r.quarantine] == [(2, YEAR_REASON)]
    assert r.ignored == 1  # the kernel line needs no year to be out of scope
    assert r.events["account"].tolist() == ["y"]  # RFC 5424 lines carry their year


def test_rfc5424_and_iso_forms(tmp_path):
    text = (
        '<38>1 2024-05-02T09:15:00.5+02:00 srv1 sshd 4242 ID47 [meta x="a]b" y="c"] '
        "Accepted password for alice from 10.1.2.3 port 5000 ssh2\n"
        "<86>1 2024-05-02T07:16:00Z srv1 sshd 4242 - - \ufeffpam_unix(sshd:session): session "
        "closed for user alice\n"
        "2024-05-02T09:17:00.123456+02:00 srv2 sshd[99]: Failed password for bob from "
        "10.9.9.9 port 1 ssh2\n"
        "<38>1 - srv1 sshd 1 - - Failed password for carol from 10.1.1.1 port 1 ssh2\n"
    )
    r = _read(tmp_path, text, year=None)
    ev = r.events
    assert ev["ts"].tolist() == [
        pd.Timestamp("2024-05-02 07:15:00.5", tz="UTC"),
        pd.Timestamp("2024-05-02 07:16:00", tz="UTC"),
        pd.Timestamp("2024-05-02 07:17:00.123456", tz="UTC"),
    ]
    assert ev["action"].tolist() == ["login", "logout", "login_failed"]
    assert ev["app_session"].tolist()[:2] == ["sshd[4242]", "sshd[4242]"]
    assert ev["host"].tolist() == ["srv1", "srv1", "srv2"]
    assert [(q.line, q.reason) for q in r.quarantine] == [(4, "invalid syslog timestamp")]


def test_ftpd_klogind_gdm(tmp_path):
    text = (
        "Jun 17 07:07:00 combo ftpd[29504]: connection from 24.54.76.216 (h.example.net) at "
        "Fri Jun 17 07:07:00 2005 \n"
        "Jul 24 02:38:23 combo ftpd[16781]: ANONYMOUS FTP LOGIN FROM 84.102.20.2,  (anonymous)\n"
        "Jun 30 20:53:04 combo klogind[19272]: Authentication failed from 163.27.187.39 "
        "(163.27.187.39): Permission denied in replay cache code \n"
        "Jun 30 20:53:04 combo klogind[19272]: Kerberos authentication failed \n"
        "Jul 11 11:33:13 combo gdm(pam_unix)[2803]: authentication failure; logname= uid=0 "
        "euid=0 tty=:0 ruser= rhost= \n"
    )
    ev = _read(tmp_path, text).events
    assert ev["action"].tolist() == ["other", "login", "login_failed", "login_failed"]
    assert ev["src_ip"].tolist()[:3] == ["24.54.76.216", "84.102.20.2", "163.27.187.39"]
    assert pd.isna(ev["src_ip"].iloc[3])  # empty rhost= is no address
    assert pd.isna(ev["account"].iloc[0]) and ev["account"].iloc[1] == "anonymous"


def test_garbage_is_quarantined_and_nothing_raises(tmp_path):
    blob = b"\x00\xff\xfe\n\nnot syslog at all\nJun 99 99:99:99 x y: z\n" + bytes(range(256))
    r = _read(tmp_path, blob)
    # the blank line and "Jun 99 ... y: z" (header-shaped, program y out of scope) are ignored
    assert r.rows_to_events == 0 and r.ignored == 2
    assert [q.line for q in r.quarantine] == [1, 3, 5, 6]
    assert r.truncated  # last line has no line end and does not parse
    r = _read(tmp_path, b"")
    assert r.rows_read == 0 and len(r.events) == 0
    # a valid header with an impossible date: quarantined, not raised
    r = _read(
        tmp_path, "Feb 30 10:00:00 s sshd[1]: Failed password for a from 1.1.1.1 port 1 ssh2\n"
    )
    assert [q.reason for q in r.quarantine] == ["invalid syslog timestamp"]


def test_context_lab_and_kinds(tmp_path):
    text = "Jun 14 10:00:00 srv sshd[1]: Accepted password for svc from 10.0.0.1 port 1 ssh2\n"
    ev = _read(tmp_path, text, lab="L03", account_kinds={"svc": "service"}).events
    assert ev["lab"].iloc[0] == "L03" and ev["account_kind"].iloc[0] == "service"
    assert ev["dicom_event_id"].iloc[0] == "110114" and ev["dicom_event_type"].iloc[0] == "110122"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown\n", True),
        (b"<38>1 2024-05-02T09:15:00Z srv sshd 1 - - hello\n", True),
        (b'{"resourceType": "AuditEvent"}', False),
        (
            b"<85>1 2010-12-17T15:12:04.287-06:00 h OHT 521 IHE+RFC-3881 - <?xml?>\n<AuditMessage>",
            False,
        ),
        (b"Mon Jun 14 04:12:43 2004 1 host 1234 /f b _ o r u ftp 0 * c\n", False),
    ],
)
def test_sniff(head, expected):
    assert sniff_syslog(head, "x") is expected
    assert get_reader("syslog_auth").read is read_syslog


def test_property_any_bytes_are_accounted_for():
    # property: whatever the bytes, no exception and every line is accounted for
    import tempfile

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from labforensics.ingest.readers.atna import read_atna
    from labforensics.ingest.readers.fhir import read_fhir
    from labforensics.transfers import read_transfers

    pieces = st.sampled_from(
        [
            b"Jun 14 15:16:01 combo sshd[1]: Failed password for a from 1.2.3.4 port 1 ssh2",
            b"<38>1 2024-05-02T09:15:00Z srv sshd 1 - - Accepted password for b from ::1 port 2",
            b'{"resourceType":"AuditEvent","recorded":"2024-01-01T00:00:00Z","outcome":"0"}',
            b"2164 <85>1 2025-04-18T09:04:00.603Z h - - IHE - <?xml version='1.0'?>",
            b"<AuditMessage><EventIdentification EventDateTime='2024-01-01T00:00:00Z'>",
            b"Mon Jun 14 04:12:43 2004 12 h 5 /f b _ o r u ftp 0 * c",
            b"\n",
            b"\r\n",
            b"\x00\xff",
            b"]]></>&lol;",
        ]
    )
    blobs = st.lists(st.one_of(pieces, st.binary(max_size=40)), max_size=12).map(b"".join)

    @settings(max_examples=20, deadline=None)
    @given(blobs)
    def check(blob):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "x.log"
            p.write_bytes(blob)
            ctx = ReadContext(source_file="x.log", year=2024)
            for read in (read_syslog, read_fhir, read_atna):
                r = read(p, ctx)
                total = r.rows_to_events + r.repeated_headers + r.ignored + len(r.quarantine)
                assert r.rows_read == total
            read_transfers(p).report.check()

    check()


@pytest.mark.parametrize("bad", [0, 99999, 1899, True])
def test_impossible_year_is_refused(tmp_path, bad):
    # a year outside 1900-2189 would quarantine every RFC 3164 line: refused up front
    from labforensics.errors import ParameterError
    from labforensics.ingest import read_evidence

    f = tmp_path / "auth.log"
    f.write_text(
        "Jun  3 08:00:01 host sshd[1]: Failed password for root from 203.0.113.9 port 22 ssh2\n"
    )
    with pytest.raises(ParameterError, match="from 1900 to 2189"):
        read_evidence(f, year=bad, case_key="00" * 16)
    with pytest.raises(ParameterError, match="from 1900 to 2189"):
        read_evidence(f, year={str(f): bad}, case_key="00" * 16)
