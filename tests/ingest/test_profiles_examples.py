"""The README's profile examples, end to end: read_evidence + sessionize.

Files are written in the documented shapes of two public formats, with fake values:

- the CERT Insider Threat Test Dataset (r4.2) ``logon.csv``: header
  ``id,date,user,pc,activity``, date ``01/02/2010 06:49:00`` (month first),
  activity ``Logon``/``Logoff`` (the dataset's readme; "Screen unlocks are recorded
  as logons");
- a web server access log in the Common and Combined Log Formats (Apache httpd
  ``LogFormat "%h %l %u %t \\"%r\\" %>s %b"``, Combined adds referer and agent).

They are read with the example profiles shipped in ``labforensics/ingest/profiles/``
(``cert-logon``, ``apache-access``), the same the README section shows; a test checks
that the README's profile section shows these
same files. Expected sessions are worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from labforensics.ingest import read_evidence
from labforensics.sessions import sessionize

ROOT = Path(__file__).resolve().parents[2]

CERT_LOGON = """\
id,date,user,pc,activity
{Q4D5-A1KZ83LU-6712HVCD},01/04/2010 07:12:00,ABC0123,PC-1001,Logon
{R8T2-B7QX41MN-2205KJWE},01/04/2010 07:40:10,XYZ0456,PC-2002,Logon
{C3V9-E5RT62PL-9931ZZQA},01/04/2010 12:05:00,ABC0123,PC-1001,Logon
{H6J1-W2YU70OP-4410MMXS},01/04/2010 16:58:30,ABC0123,PC-1001,Logoff
{K9L4-N3BV55CX-7723QQRT},01/04/2010 17:10:00,XYZ0456,PC-2002,Logoff
{P2O8-I4UY66TR-1184WWEE},01/05/2010 07:05:00,ABC0123,PC-1001,Logon
{T5R3-E9WQ11AS-5562DDFF},01/05/2010 21:30:00,XYZ0456,PC-3003,Logon
{Y7U6-T1RE22DF-8841GGHH},01/06/2010 01:15:00,XYZ0456,PC-3003,Logoff
{M1N2-B3VC44XZ-6650JJKK},01/06/2010 07:01:00,ABC0123,PC-1001,Logon
{L0K9-J8HG77FD-3329SSAA},01/06/2010 16:45:00,ABC0123,PC-1001,Logoff
"""

ACCESS_LOG = """\
192.0.2.10 - alice [04/Jan/2010:09:00:00 +0100] "GET /results/search?q=abc HTTP/1.1" 200 5120 "-" "Mozilla/5.0"
192.0.2.10 - alice [04/Jan/2010:09:05:30 +0100] "GET /results/view/42 HTTP/1.1" 200 2048 "https://lab.example/results" "Mozilla/5.0"
192.0.2.10 - alice [04/Jan/2010:09:20:00 +0100] "POST /results/42/validate HTTP/1.1" 302 -
198.51.100.7 - - [04/Jan/2010:09:21:13 +0100] "GET /admin HTTP/1.1" 401 381
192.0.2.10 - alice [04/Jan/2010:11:00:00 +0100] "GET /results/view/43 HTTP/1.1" 200 1999
203.0.113.5 - - [04/Jan/2010:11:02:00 +0100] "-" 408 -
"""


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def without_rule(e: pd.DataFrame) -> pd.DataFrame:
    """The same events with ``session_rule`` missing: the idle rules apply."""
    return e.assign(session_rule=pd.Categorical([None] * len(e), dtype=e["session_rule"].dtype))


@pytest.fixture
def evidence(tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "logon.csv").write_bytes(CERT_LOGON.encode())
    (folder / "access.log").write_bytes(ACCESS_LOG.encode())
    return folder


def test_cert_logon_end_to_end(evidence, test_key):
    ev = read_evidence(
        evidence / "logon.csv", profile="cert-logon", tz="UTC", lab="SIM", case_key=test_key
    )
    e = ev.events
    assert len(e) == 10 and len(ev.quarantine) == 0
    assert e["action"].astype(str).value_counts().to_dict() == {"login": 6, "logout": 4}
    assert (e["session_rule"] == "logon_pairs").all()  # chosen by the profile
    s = sessionize(e).sessions
    s = s.assign(hosts=s["hosts"].list[0])  # a list column: the one host of a logon pair
    got = [
        (r.account, r.hosts, r.start, r.end, r.n_events, r.start_reason, r.end_reason)
        for r in s.itertuples()
    ]
    assert got == [
        # hosts are compared lower-cased (host_raw keeps the written form)
        # logon, screen unlock (a second logon), logoff: one session of 9 h 46 min 30 s
        ("ABC0123", "pc-1001", utc("2010-01-04 07:12:00"), utc("2010-01-04 16:58:30"), 3,
         "login", "logout"),
        ("XYZ0456", "pc-2002", utc("2010-01-04 07:40:10"), utc("2010-01-04 17:10:00"), 2,
         "login", "logout"),
        # no logoff: the next event on PC-1001 (01/06 07:01) is 23 h 56 min later > 12 h
        ("ABC0123", "pc-1001", utc("2010-01-05 07:05:00"), utc("2010-01-05 07:05:00"), 1,
         "login", "max_duration"),
        # after hours on a shared PC, across midnight: 3 h 45 min
        ("XYZ0456", "pc-3003", utc("2010-01-05 21:30:00"), utc("2010-01-06 01:15:00"), 2,
         "login", "logout"),
        ("ABC0123", "pc-1001", utc("2010-01-06 07:01:00"), utc("2010-01-06 16:45:00"), 2,
         "login", "logout"),
    ]  # fmt: skip
    assert s["duration_s"].tolist() == [35190.0, 34190.0, 0.0, 13500.0, 35040.0]
    assert s["n_login"].tolist() == [2, 1, 1, 1, 1]
    # the idle rules (the same events without the profile's rule) give 10 one-event
    # sessions, none of them a true session
    idle = sessionize(without_rule(e))
    assert len(idle.sessions) == 10 and (idle.sessions["n_events"] == 1).all()


def test_apache_access_end_to_end(evidence, test_key):
    ev = read_evidence(
        evidence / "access.log", profile="apache-access", lab="SIM", case_key=test_key
    )
    e = ev.events
    # every line is an event: +0100 offsets give exact UTC instants (09:00 -> 08:00Z)
    assert e["ts"].tolist() == [
        utc("2010-01-04 08:00:00"),
        utc("2010-01-04 08:05:30"),
        utc("2010-01-04 08:20:00"),
        utc("2010-01-04 08:21:13"),
        utc("2010-01-04 10:00:00"),
        utc("2010-01-04 10:02:00"),
    ]
    assert e["ts_quality"].unique().tolist() == ["exact"]
    assert e["account"].tolist() == ["alice"] * 3 + [pd.NA, "alice", pd.NA]  # "-": none
    assert e["action"].tolist() == ["read", "read", "update", "read", "read", "other"]
    # status class: 2xx, 3xx success; 401, 408 failure
    assert e["outcome"].tolist() == ["success"] * 3 + ["failure", "success", "failure"]
    assert e["bytes"].tolist() == [5120, 2048, pd.NA, 381, 1999, pd.NA]
    assert e["src_ip"].tolist()[3] == "198.51.100.7"
    assert e["detail"].tolist()[1] == "/results/view/42"
    assert ev.report.unknown_codes == {"": 1}  # the request line "-": no method
    assert len(ev.quarantine) == 0 and ev.report.files[0].rows_read == 6
    s = sessionize(e).sessions  # idle rules: an event-dense log
    alice = s[s["account"] == "alice"]
    # 08:00, 08:05:30, 08:20 within 30 min of each other; 10:00 is 1 h 40 min later
    assert alice["start"].tolist() == [utc("2010-01-04 08:00:00"), utc("2010-01-04 10:00:00")]
    assert alice["n_events"].tolist() == [3, 1]
    assert alice["duration_s"].tolist() == [1200.0, 0.0]
    assert alice["end_reason"].tolist() == ["idle_timeout", "end_of_data"]
    # the 2 anonymous requests ("-": no account) form no session (issue 14: whose would it be?)
    assert len(s) == 2


def test_both_profiles_in_one_run(evidence, test_key):
    ev = read_evidence(
        evidence, profile=["cert-logon", "apache-access"], tz="UTC", lab="SIM", case_key=test_key
    )
    fmt = {f.source_file: f.format for f in ev.report.files}
    assert fmt == {"access.log": "profile:apache-access", "logon.csv": "profile:cert-logon"}
    s = sessionize(ev.events).sessions
    assert len(s) == 5 + 2  # the sessions of each file read alone


def test_a_malformed_access_line_is_quarantined(tmp_path, test_key):
    p = tmp_path / "access.log"
    p.write_bytes((ACCESS_LOG + "not a log line\n\n").encode())
    ev = read_evidence(p, profile="apache-access", lab="SIM", case_key=test_key)
    f = ev.report.files[0]
    # 8 lines: 6 events, 1 quarantined (line 7), 1 blank (ignored)
    assert (f.rows_read, f.events, f.quarantined, f.ignored) == (8, 6, 1, 1)
    assert ev.quarantine["source_line"].tolist() == [7]
    assert ev.quarantine["reason"].tolist() == ["line does not match the profile's pattern"]


def test_readme_shows_these_files():
    # the README's profile section shows exactly the files this test writes
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for line in (CERT_LOGON + ACCESS_LOG).splitlines():
        assert line in text, line


# --------------------------------------------------------------------------- measurement


def synthetic_logons(users: int = 40, days: int = 10):
    """A CERT-shape logon.csv with known sessions (the generator's truth).

    User ``u`` on day ``d`` logs on at 08:00 + ((7u + 13d) mod 60) min on PC-(1000+u);
    the session lasts 15 min when (u + d) mod 7 == 0, else 8 h + (u*d mod 90) min, with a
    screen unlock (a logon) 4 h in when (u*d) mod 10 == 3.
    """
    rows, truth = [], set()
    day0 = pd.Timestamp("2010-01-04")
    for u in range(users):
        for d in range(days):
            start = day0 + pd.Timedelta(days=d, hours=8, minutes=(7 * u + 13 * d) % 60)
            short = (u + d) % 7 == 0
            dur = pd.Timedelta(minutes=15) if short else pd.Timedelta(hours=8, minutes=u * d % 90)
            user, pc = f"USR{u:04d}", f"PC-{1000 + u}"
            rows.append((start, user, pc, "Logon"))
            if not short and (u * d) % 10 == 3:
                rows.append((start + pd.Timedelta(hours=4), user, pc, "Logon"))
            rows.append((start + dur, user, pc, "Logoff"))
            # the truth names hosts in their canonical (lower-case) form
            truth.add(
                (user, pc.lower(), start.tz_localize("UTC"), (start + dur).tz_localize("UTC"))
            )
    rows.sort()
    lines = ["id,date,user,pc,activity"] + [
        f"{{T{i % 1000:03d}-S{i:07d}-F{i:07d}}},{t:%m/%d/%Y %H:%M:%S},{u},{pc},{a}"
        for i, (t, u, pc, a) in enumerate(rows)
    ]
    return "\n".join(lines) + "\n", truth


def recovered(sessions: pd.DataFrame, truth: set) -> int:
    got = set(
        zip(
            sessions["account"],
            sessions["hosts"].list[0],  # a list column: the one host of a logon pair
            sessions["start"],
            sessions["end"],
            strict=True,
        )
    )
    return len(got & truth)


def test_true_sessions_recovered(tmp_path, test_key):
    text, truth = synthetic_logons()
    p = tmp_path / "logon.csv"
    p.write_text(text)
    e = read_evidence(p, profile="cert-logon", tz="UTC", lab="SIM", case_key=test_key).events
    assert len(truth) == 400
    pairs = sessionize(e).sessions
    idle = sessionize(without_rule(e))
    # the rule recovers every true session (start and end exact)
    assert recovered(pairs, truth) == 400 and len(pairs) == 400
    # the idle rules recover only the 15-minute sessions: (u + d) mod 7 == 0 for 56 of
    # the 400 (user, day) pairs (u in 0..39: residues 0-4 six times, 5-6 five times)
    assert recovered(idle.sessions, truth) == 56  # 14.0 %


def test_apache_documented_line_gzip_crlf(tmp_path, test_key):
    # the Common Log Format's documented example line, CR LF, gzip, rotated name
    import gzip

    line = '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
    p = tmp_path / "access.log.1.gz"
    p.write_bytes(gzip.compress((line + "\r\n").encode()))
    ev = read_evidence(p, profile="apache-access", lab="SIM", case_key=test_key)
    e = ev.events
    # 13:55:36 at -07:00 is 20:55:36Z; chosen by its first line (and its name)
    assert e["ts"].tolist() == [utc("2000-10-10 20:55:36")]
    assert (e["account"].tolist(), e["bytes"].tolist()) == (["frank"], [2326])
    assert e["detail"].tolist() == ["/apache_pb.gif"]


def test_access_log_damage_is_accounted(tmp_path, test_key):
    # line 1: a NUL inside the user (kept, read as U+FFFD, reported); line 2: 31 February
    # (quarantined, the reason quoting the time as written); line 3: NULs only
    p = tmp_path / "access.log"
    p.write_bytes(
        b'127.0.0.1 - fr\x00ank [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2326\n'
        b'192.0.2.1 - - [31/Feb/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1\n'
        b"\x00\x00\n"
    )
    ev = read_evidence(p, profile="apache-access", lab="SIM", case_key=test_key)
    assert ev.events["account"].tolist() == ["fr\ufffdank"]
    assert ev.quarantine["source_line"].tolist() == [2, 3]
    assert ev.quarantine["reason"].tolist() == [
        "unparseable timestamp '31/Feb/2000:13:55:36 -0700' (expected dd/Mon/yyyy:HH:MM:SS +hh:mm)",
        "line does not match the profile's pattern",
    ]
    # line 3 is quarantined: its quarantine row accounts for its NULs (session 14)
    assert ev.report.field_problems["source_line"].tolist() == [1]
    f = ev.report.files[0]
    assert (f.rows_read, f.events, f.quarantined) == (3, 1, 2)
