"""Readers on the real public logs of ../shared/data/real, against counts made by hand.

Counts were made with grep on the files (commands in the comments) and checked
against ../shared/data/real/README.md.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import pytest

from conftest import shared_path
from labforensics.ingest.readers.syslog import read_syslog
from labforensics.ingest.registry import FileRead, ReadContext


@cache
def _syslog(name: str) -> FileRead:
    path = shared_path("data", "real", "auth-syslog", "loghub", name)
    return read_syslog(path, ReadContext(source_file=name, year=2005))


def _identity(r: FileRead) -> None:
    assert r.rows_read == r.rows_to_events + r.repeated_headers + r.ignored + len(r.quarantine)


# --- OpenSSH_2k.log -------------------------------------------------------------------------

# grep -oE ': Failed password for .* from [0-9.]+' OpenSSH_2k.log | grep -oE '[0-9.]+$' |
#   sort | uniq -c ; plus the two "message repeated 5 times: [ Failed password ...]" lines
#   (5.36.59.76 and 106.5.5.195: 1 + 5 each)
FAILED_PASSWORD_BY_IP = {
    "183.62.140.253": 286,
    "187.141.143.180": 80,
    "103.99.0.122": 46,
    "112.95.230.3": 26,
    "5.188.10.180": 18,
    "185.190.58.151": 17,
    "123.235.32.19": 7,
    "119.4.203.64": 6,
    "5.36.59.76": 6,
    "106.5.5.195": 6,
    "60.2.12.12": 5,
    "52.80.34.196": 5,
    "103.207.39.212": 3,
    "103.207.39.16": 3,
    "202.100.179.208": 2,
    "195.154.37.122": 2,
    "183.136.162.51": 2,
    "173.234.31.186": 2,
    "104.192.3.34": 2,
    "88.147.143.242": 1,
    "191.210.223.172": 1,
    "175.102.13.6": 1,
    "103.207.39.165": 1,
}


def test_openssh_accounting():
    r = _syslog("OpenSSH_2k.log")
    _identity(r)
    # 2,000 lines, the last without a line end, all with a valid header
    assert r.rows_read == 2000 and not r.quarantine and not r.truncated
    # rows to events: 518 "Failed password" + 2 "message repeated" + 4 "Failed none"
    # + 1 Accepted + 1 session closed + 1 PAM failure in a process with no "Failed" line
    assert r.rows_to_events == 527
    assert r.ignored == 2000 - 527


def test_openssh_failed_passwords_per_source():
    ev = _syslog("OpenSSH_2k.log").events
    fp = ev[ev["action_raw"] == "Failed password"]
    assert len(fp) == 528  # 518 lines + 2 x 5 repeats (README: "about 520")
    assert (fp["action"] == "login_failed").all() and (fp["outcome"] == "failure").all()
    assert fp["src_ip"].value_counts().to_dict() == FAILED_PASSWORD_BY_IP
    # grep -c ': Failed none' -> 4; one PAM failure whose process has no Failed line
    assert (ev["action_raw"] == "Failed none").sum() == 4
    pam = ev[ev["action_raw"] == "pam_unix authentication failure"]
    assert len(pam) == 1
    assert (ev["action"] == "login_failed").sum() == 528 + 4 + 1


def test_openssh_invalid_users_are_all_corroborated():
    # grep -c 'Invalid user' -> 113 naming 57 distinct users; every such sshd process also
    # logs a "Failed ..." line, so none is an event of its own (one attempt, one event)
    ev = _syslog("OpenSSH_2k.log").events
    assert (ev["action_raw"] == "Invalid user").sum() == 0
    inv = ev[ev["detail"].str.contains("invalid user", regex=False)]
    assert inv["account"].nunique() == 57


def test_openssh_the_accepted_login_and_its_session():
    ev = _syslog("OpenSSH_2k.log").events
    # line 956 Accepted password for fztu; line 965 session closed, both sshd[24680]
    login = ev[ev["action"] == "login"]
    logout = ev[ev["action"] == "logout"]
    assert len(login) == 1 and len(logout) == 1
    li, lo = login.iloc[0], logout.iloc[0]
    assert (li["account"], li["src_ip"], li["source_line"]) == ("fztu", "119.137.62.142", 956)
    assert li["ts"] == pd.Timestamp("2005-12-10 08:32:20", tz="UTC")  # 09:32:20 CET
    assert (lo["account"], lo["source_line"]) == ("fztu", 965)
    assert li["app_session"] == lo["app_session"] == "sshd[24680]"
    assert set(ev["host"]) == {"LabSZ"} and set(ev["module"]) == {"SSHD"}


def test_openssh_last_line_without_line_end_is_complete():
    ev = _syslog("OpenSSH_2k.log").events
    last = ev[ev["source_line"] == 2000]
    # "Dec 10 11:04:45 LabSZ sshd[25539]: Failed password for invalid user user from
    # 103.99.0.122 port 52683 ssh2" (no line end)
    assert last[["account", "src_ip", "action"]].values.tolist() == [
        ["user", "103.99.0.122", "login_failed"]
    ]


# --- Linux_2k.log ---------------------------------------------------------------------------


def test_linux_accounting():
    r = _syslog("Linux_2k.log")
    _identity(r)
    assert r.rows_read == 2000 and not r.quarantine and not r.truncated
    # events: 123 opened + 123 closed + 490 PAM failures (489 sshd, 1 gdm) + 23 klogind
    # "Authentication failed" + 909 ftpd connections + 2 anonymous FTP logins = 1670
    assert r.rows_to_events == 1670 and len(r.events) == 1670
    # ignored 330: 117 "check pass", 76 kernel, 43 logrotate, 23 klogind "Kerberos ...",
    # 16 named, 12 cups, 8 udev, 7 syslogd, 5 other ftpd, 10 in pairs (xinetd, syslog,
    # network, gpm, bluetooth), 13 single daemons lines (incl. "-- root[2421]: ROOT LOGIN")
    assert r.ignored == 330


def test_linux_pam_sessions_pair_by_process():
    ev = _syslog("Linux_2k.log").events
    pam = ev[ev["action_raw"].isin(["session opened", "session closed"])]
    # README: 123 opened / 123 closed, pairable by process id: 86 su, 36 sshd, 1 login
    assert (pam["action_raw"] == "session opened").sum() == 123
    assert (pam["action_raw"] == "session closed").sum() == 123
    per = pam.groupby("app_session")["action_raw"].agg(lambda a: "|".join(sorted(a)))
    assert set(per) == {"session closed|session opened"}  # each process opens and closes
    prog = per.index.str.extract(r"^(\w+)\[")[0].value_counts().to_dict()
    assert prog == {"su": 86, "sshd": 36, "login": 1}
    # su is a change of identity, not a login: 86 + 86 privilege events, 37 logins/logouts
    su = pam[pam["module"] == "SU"]
    assert len(su) == 172 and (su["action"] == "privilege").all()
    assert (ev["action"] == "login").sum() == 37 + 2  # 36 sshd + 1 login + 2 anonymous FTP
    assert (ev["action"] == "logout").sum() == 37
    first = su.iloc[0]  # line 14: su(pam_unix)[21416]: session opened for user cyrus by (uid=0)
    assert (first["source_line"], first["app_session"]) == (14, "su[21416]")
    # PAM wrote only "by (uid=0)": the acting user is unknown; the target user is kept
    assert pd.isna(first["account"]) and first["detail"].startswith("target=cyrus; ")
    assert first["ts"] == pd.Timestamp("2005-06-15 02:06:18", tz="UTC")  # 04:06:18 CEST


def test_linux_failures_and_ftp():
    ev = _syslog("Linux_2k.log").events
    pam = ev[ev["action_raw"] == "pam_unix authentication failure"]
    assert len(pam) == 490 and (pam["action"] == "login_failed").all()
    # grep 'rhost=' Linux_2k.log | grep -oE 'rhost=\S*' | sort | uniq -c: top two
    top = pam["src_ip"].value_counts()
    assert top["150.183.249.110"] == 80 and top["n219076184117.netvigator.com"] == 23
    # "... rhost=220-135-151-1.hinet-ip.hinet.net  user=root": 372 lines name a user
    assert pam["account"].notna().sum() == 372
    assert (ev["action_raw"] == "Authentication failed").sum() == 23
    ftp = ev[ev["action_raw"] == "connection"]
    assert len(ftp) == 909 and (ftp["action"] == "other").all() and ftp["account"].isna().all()
    assert ftp["src_ip"].notna().all()


def test_linux_without_year_quarantines_every_event_line():
    path = shared_path("data", "real", "auth-syslog", "loghub", "Linux_2k.log")
    r = read_syslog(path, ReadContext(source_file="Linux_2k.log"))
    _identity(r)
    assert (len(r.quarantine), r.ignored, len(r.events)) == (1670, 330, 0)


@pytest.mark.parametrize("name", ["Linux_2k.log", "OpenSSH_2k.log"])
def test_events_are_in_the_canonical_schema(name):
    from labforensics.schema import coerce_events, validate_events

    ev = _syslog(name).events.drop(columns=["_ipp"])
    ev = ev.sort_values(["ts", "seq"], kind="stable").reset_index(drop=True)
    ev["seq"] = range(len(ev))
    validate_events(coerce_events(ev).sort_values(["ts", "seq"]).reset_index(drop=True))


# --- ATNA messages (atna-syslog/) -----------------------------------------------------------

# Per file, read by hand: (rows, action, outcome, account, ts UTC, src_ip, host, patient IPP)
ATNA = {
    # RFC 5425 frame "2164 <85>1 2025-04-18T09:04:00.603Z ...": EventID 110112 Query (csd-code),
    # sole requestor UserID "unknown" at 10.28.3.3 (type 2); EventDateTime has nine decimals
    "ahdis_2023_iti47_pdq_rfc5425_octetframed.txt": (
        "query",
        "success",
        "unknown",
        "2025-04-18 09:04:59.904290264",
        "10.28.3.3",
        None,
        None,
    ),
    # RFC 3881 (code=): 110114 + 110122 Login; two requestors: an IPv6 UserID with a type-1
    # access point 125.20.175.12, and the user farley.granger@wb.com; 15:12:04.287-06:00
    "ihewiki_2010_login_rfc3881.syslog": (
        "login",
        "success",
        "farley.granger@wb.com",
        "2010-12-17 21:12:04.287",
        "125.20.175.12",
        "125.20.175.12",
        None,
    ),
    # the same login in DICOM (csd-code=) three years later
    "ihewiki_2013_login_dicom.syslog": (
        "login",
        "success",
        "farley.granger@wb.com",
        "2013-10-17 21:12:04.287",
        "125.20.175.12",
        "125.20.175.12",
        None,
    ),
    # 110112 Query (ITI-9 PIX), requestor openhim-mediator-ohie-xds|openhim at 192.168.1.111
    # (type 2), patient object type 1 role 1 "fc133984036647e^^^&1.3.6...&ISO"; 12:52:31.356+02:00
    "openhim_2015_pix_query.syslog": (
        "query",
        "success",
        "openhim-mediator-ohie-xds|openhim",
        "2015-03-05 10:52:31.356",
        "192.168.1.111",
        None,
        "fc133984036647e",
    ),
}


@pytest.mark.parametrize(("name", "expected"), list(ATNA.items()))
def test_atna_messages(name, expected):
    from labforensics.ingest.readers.atna import read_atna

    path = shared_path("data", "real", "atna-syslog", name)
    r = read_atna(path, ReadContext(source_file=name))
    _identity(r)
    assert (r.rows_read, r.rows_to_events, len(r.quarantine), r.truncated) == (1, 1, 0, False)
    assert not r.field_problems
    action, outcome, account, ts, src_ip, host, ipp = expected
    e = r.events.iloc[0]
    assert (e["action"], e["outcome"], e["account"]) == (action, outcome, account)
    assert e["ts"] == pd.Timestamp(ts, tz="UTC")
    assert e["src_ip"] == src_ip
    assert (None if pd.isna(e["host"]) else e["host"]) == host
    assert (None if pd.isna(e["_ipp"]) else e["_ipp"]) == ipp
    assert e["source_line"] == 1


def test_atna_header_time_differs_from_event_time():
    # README: header 09:04:00.603 (sent) vs EventDateTime 09:04:59.904290264 (the event)
    from labforensics.ingest.readers.atna import read_atna

    name = "ahdis_2023_iti47_pdq_rfc5425_octetframed.txt"
    ev = read_atna(shared_path("data", "real", "atna-syslog", name), ReadContext()).events
    sent = pd.Timestamp("2025-04-18 09:04:00.603", tz="UTC")
    assert (ev["ts"].iloc[0] - sent) == pd.Timedelta("59.301290264s")
    # the base64 PDQ query is decoded into detail, the family name it searches masked
    detail = ev["detail"].iloc[0]
    assert detail.startswith("<queryByParameter>")
    assert "<family>[REDACTED]</family>" in detail and "GASSMANN" not in detail


# --- elastic/auth.log (Ubuntu, 2017: no year in the lines) ------------------------------


@cache
def _elastic() -> FileRead:
    path = shared_path("data", "real", "auth-syslog", "elastic", "auth.log")
    return read_syslog(path, ReadContext(source_file="auth.log", year=2017))


def test_elastic_accounting():
    r = _elastic()
    _identity(r)
    assert r.rows_read == 7121 and not r.quarantine and not r.truncated
    # rows to events (grep -c on the file): 226 Accepted + 225 sshd "session closed"
    # + 628 "Failed password" + 85 "message repeated" + 4 "Failed publickey" + 85 "Invalid
    # user" in processes with no Failed line + 1264 cron + 238 systemd-user PAM sessions
    # + 557 sudo (186 COMMAND, 186 opened, 185 closed) + 18 su PAM sessions + 449
    # systemd-logind (226 New session, 223 Removed session) = 3779
    assert r.rows_to_events == 3779 and r.ignored == 7121 - 3779
    # the 85 "message repeated N times" lines repeat 410 attempts: 325 more events
    assert len(r.events) == 3779 + 410 - 85


def test_elastic_logins_and_failures():
    ev = _elastic().events
    login = ev[ev["action"] == "login"]
    # README: 226 accepted logins from 4 addresses; grep 'Accepted' | grep -oE 'from [0-9.]+'
    assert len(login) == 226 and login["action_raw"].str.startswith("Accepted ").all()
    assert login["src_ip"].value_counts().to_dict() == {
        "85.245.107.41": 174,
        "24.151.103.17": 47,
        "95.93.96.191": 4,
        "127.0.0.1": 1,
    }
    raw = ev.loc[ev["action"] == "login_failed", "action_raw"].value_counts().to_dict()
    # 628 "Failed password" lines + 410 repeats; 4 "Failed publickey"; of the 178 "Invalid
    # user" lines, 85 are in sshd processes that log no Failed line (the others corroborate);
    # every PAM "authentication failure" is in a process with a Failed line
    assert raw == {"Failed password": 1038, "Invalid user": 85, "Failed publickey": 4}
    assert (ev["action"] == "logout").sum() == 225  # grep -c 'sshd:session): session closed'


def test_elastic_cron_sudo_su_sessions_are_never_logins():
    ev = _elastic().events
    by = ev.groupby(["module", "action"], observed=True).size().to_dict()
    # grep -c 'pam_unix(cron:session): session (opened|closed)' -> 632 + 632;
    # 'pam_unix(systemd-user:session)' -> 215 opened + 23 closed
    assert by[("CRON", "job")] == 1264 and by[("SYSTEMD", "job")] == 238
    # sudo: 186 'COMMAND=' + 186 'sudo:session): session opened' + 185 closed; su: 9 + 9
    # (its 9 "Successful su" lines corroborate the PAM session openings)
    assert by[("SUDO", "privilege")] == 557 and by[("SU", "privilege")] == 18
    assert (ev["action"] == "job").sum() == 1502 and (ev["action"] == "privilege").sum() == 575
    # no line of cron, systemd --user, sudo or su is a login or a logout
    mods = ev[ev["module"].isin(["CRON", "SYSTEMD", "SUDO", "SU"])]
    assert not mods["action"].isin(["login", "logout"]).any()
    # the actor of sudo is kept as the account, the target in detail
    cmd = ev[ev["action_raw"] == "sudo COMMAND"]
    # grep 'COMMAND=' | awk '{print $6}' | sort | uniq -c: 181 ubuntu, 5 root (inside su)
    assert cmd["account"].value_counts().to_dict() == {"ubuntu": 181, "root": 5}
    assert cmd["detail"].str.startswith("target=root;").all()
    su = ev[ev["module"] == "SU"]
    assert set(su["account"]) == {"ubuntu"}  # "session opened for user root by ubuntu(uid=0)"


# --- all of data/real through read_evidence -------------------------------------------------


def test_read_evidence_on_all_real_logs(test_key):
    from labforensics.ingest import read_evidence
    from labforensics.schema import validate_events

    root = shared_path("data", "real")
    evd = read_evidence(root, year=2005, lab="LREAL", case_key=test_key)
    evd.report.check()
    validate_events(evd.events)
    by = {f.source_file: f for f in evd.report.files}
    # 4 ATNA + 3 syslog + 9 R4 + 6 R5 files recognised; README, LICENSE, NOTICE, CITATION
    # are not
    assert sorted(f.format for f in by.values()).count("fhir_auditevent") == 15
    assert sorted(evd.report.unrecognised) == [
        "README.md",
        "auth-syslog/elastic/LICENSE",
        "auth-syslog/elastic/NOTICE",
        "auth-syslog/loghub/CITATION",
        "auth-syslog/loghub/LICENSE",
    ]
    ela = by["auth-syslog/elastic/auth.log"]
    # 7,121 lines: 3,779 give events, 4,104 with the 410 attempts of the 85 "message
    # repeated N times" lines (see test_elastic_accounting)
    assert (ela.format, ela.rows_read, ela.events, ela.events_out) == (
        "syslog_auth",
        7121,
        3779,
        4104,
    )
    lin = by["auth-syslog/loghub/Linux_2k.log"]
    ssh = by["auth-syslog/loghub/OpenSSH_2k.log"]
    assert (lin.format, lin.rows_read, lin.events, lin.ignored) == ("syslog_auth", 2000, 1670, 330)
    # OpenSSH: 527 rows give 535 events (two "message repeated 5 times" lines give 5 each)
    assert (ssh.rows_read, ssh.events, ssh.events_out) == (2000, 527, 535)
    assert {by[k].format for k in by if k.startswith("atna-syslog/")} == {"atna"}
    ev = evd.events
    assert len(ev) == 1670 + 535 + 4104 + 4 + 15
    # the openhim PIX query names patient fc133984036647e: pseudonymised, never written raw
    assert ev["patient"].notna().sum() == 1 + 6  # ATNA 1; FHIR media, pixQuery, vread,
    # disclosure (R4, R5), rest (R5)
    # queried identifiers and names (decoded queries) are masked everywhere too:
    # GASSMANN (ahdis PDQ family), 1111111111 (openhim PIX QPD-3), SuryaBrand (FHIR PIX query)
    for raw in ("fc133984036647e", "GASSMANN", "1111111111", "SuryaBrand"):
        assert not ev.astype(str).apply(lambda c, r=raw: c.str.contains(r)).any().any(), raw
        assert not evd.quarantine.astype(str).apply(lambda c, r=raw: c.str.contains(r)).any().any()
    search = ev[ev["source_file"] == "fhir-auditevent/r5/AuditEvent-example-search.json"]
    assert search["detail"].iloc[0].endswith("Encounter?participant=13")  # not a patient


# --- FHIR and ATNA folders alone through read_evidence (issue 12 item 4) -------------------


def test_read_evidence_on_real_fhir_and_atna(test_key):
    # hand counts: the 9 R4 + 6 R5 official examples (one resource each, actions read from
    # their type/subtype in tests/ingest/test_fhir.py) and the 4 ATNA messages of the README
    from labforensics.ingest import read_evidence
    from labforensics.schema import validate_events

    fhir = read_evidence(shared_path("data", "real", "fhir-auditevent"), case_key=test_key)
    fhir.report.check()
    ev = validate_events(fhir.events)
    assert [f.format for f in fhir.report.files] == ["fhir_auditevent"] * 15
    assert ev["action"].astype(str).value_counts().to_dict() == {
        "export": 3,  # R4 media, R4 disclosure, R5 disclosure
        "query": 3,  # R4 pixQuery, R4 search, R5 search
        "login": 2,
        "logout": 2,
        "read": 2,  # R4 vread, R5 rest read
        "update": 2,  # R4 and R5 error (rest create)
        "other": 1,  # R4 application start
    }
    assert set(ev["ts_quality"].astype(str)) == {"exact"}  # no leap second, no date alone
    assert ev["patient"].notna().sum() == 6
    # one field problem: the application start names two agents, both requestor false
    fp = fhir.report.field_problems
    assert fp[["source_file", "column"]].values.tolist() == [
        ["r4/auditevent-example.json", "account"]
    ]
    assert fp["problem"].iloc[0].startswith("$.agent[*].requestor: no agent with requestor true")

    atna = read_evidence(shared_path("data", "real", "atna-syslog"), case_key=test_key)
    atna.report.check()
    ev = validate_events(atna.events)
    assert [f.format for f in atna.report.files] == ["atna"] * 4
    assert sorted(ev["action"].astype(str)) == ["login", "login", "query", "query"]
    assert ev["patient"].notna().sum() == 1 and len(atna.report.field_problems) == 0
