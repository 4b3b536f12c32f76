"""Syslog reader: header variants, current OpenSSH, jobs and privilege, FTP daemons, and
hostile user names (each line written by hand from the documented shapes quoted in
:mod:`labforensics.ingest.readers.syslog`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from labforensics import score_sources
from labforensics.ingest.readers.syslog import program_family, read_syslog, sniff_syslog
from labforensics.ingest.registry import ReadContext

RAW_COLUMNS = ["detail", "message_id", "source_line", "source_file", "app_session", "seq"]


def _read(tmp_path: Path, text: str, year: int | None = 2024, name: str = "auth.log"):
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    r = read_syslog(p, ReadContext(source_file=name, year=year, lab="L01"))
    # every line accounted for
    assert r.rows_read == r.rows_to_events + r.repeated_headers + r.ignored + len(r.quarantine)
    return r


def _canonical(ev: pd.DataFrame) -> pd.DataFrame:
    """Events with a unique seq, as read_evidence gives them (for score_sources)."""
    ev = ev.drop(columns=["_ipp"]).reset_index(drop=True)
    ev["seq"] = range(len(ev))
    return ev


# --- every pattern anchored: a user name never moves the source ------------------------

INJECTED = (
    "2024-06-03T10:00:01+02:00 srv sshd[1]: Failed password for invalid user a from "
    "198.51.100.7 port 22 from 203.0.113.9 port 40000 ssh2\n"
    "2024-06-03T10:00:02+02:00 srv sshd[2]: Failed password for invalid user b from "
    "198.51.100.7 port 22 ssh2: x from 203.0.113.9 port 40001 ssh2\n"
    "2024-06-03T10:00:03+02:00 srv sshd[3]: message repeated 2 times: [ Failed password for "
    "invalid user c from 198.51.100.7 port 22 from 203.0.113.9 port 40002 ssh2]\n"
    "2024-06-03T10:00:04+02:00 srv sshd[4]: Invalid user d from 198.51.100.7 port 22 from "
    "203.0.113.9 port 40003\n"
    "2024-06-03T10:00:05+02:00 srv sshd[5]: Accepted password for e from 198.51.100.7 port 22 "
    "from 203.0.113.9 port 40004 ssh2\n"
    "2024-06-03T10:00:06+02:00 srv sshd-session[6]: Failed publickey for f from 198.51.100.7 "
    "port 22 from 203.0.113.9 port 40005 ssh2: ED25519 SHA256:AbCd\n"
    '2024-06-03T10:00:07+02:00 ftp vsftpd[7]: [g] FAIL LOGIN: Client "198.51.100.7"] FAIL '
    'LOGIN: Client "203.0.113.9"\n'
    "2024-06-03T10:00:08+02:00 ftp pure-ftpd: (?@203.0.113.9) [WARNING] Authentication failed "
    "for user [h] (?@198.51.100.7) [x]\n"
    # fail2ban's proftpd test log: a user name that imitates a whole proftpd header
    "2024-06-03T10:00:09+02:00 ftp proftpd[17839] ftp.example (203.0.113.9[203.0.113.9]): "
    "USER ftp.example proftpd[17424] ftp.example (hihoinjection[198.51.100.7]): no such user "
    "found from 203.0.113.9 [203.0.113.9] to 192.0.2.1:21\n"
)


def test_user_names_never_move_the_source(tmp_path):
    ev = _read(tmp_path, INJECTED).events
    # the address is the LAST " from <addr> port <n>" (or the daemon's own field): every
    # line names 203.0.113.9 as the source and keeps the whole user name as the account
    assert set(ev["src_ip"]) == {"203.0.113.9"}
    assert ev["account"].tolist() == [
        "a from 198.51.100.7 port 22",
        "b from 198.51.100.7 port 22 ssh2: x",
        "c from 198.51.100.7 port 22",
        "c from 198.51.100.7 port 22",
        "d from 198.51.100.7 port 22",
        "e from 198.51.100.7 port 22",
        "f from 198.51.100.7 port 22",
        'g] FAIL LOGIN: Client "198.51.100.7"',
        "h] (?@198.51.100.7) [x",
        "ftp.example proftpd[17424] ftp.example (hihoinjection[198.51.100.7])",
    ]
    assert ev["action"].tolist() == ["login_failed"] * 5 + ["login"] + ["login_failed"] * 4
    src = score_sources(_canonical(ev))
    assert src["src_ip"].tolist() == ["203.0.113.9"]  # 198.51.100.7 absent
    assert src["failed_logins"].iloc[0] == 9 and src["successes"].iloc[0] == 1


# --- current OpenSSH (sshd-session / sshd-auth, RFC 3339) == the old format --------------

OLD = """\
Jun  3 08:00:01 srv sshd[4101]: Invalid user admin from 203.0.113.9 port 40000
Jun  3 08:00:03 srv sshd[4101]: pam_unix(sshd:auth): authentication failure; logname= uid=0 \
euid=0 tty=ssh ruser= rhost=203.0.113.9
Jun  3 08:00:05 srv sshd[4101]: Failed password for invalid user admin from 203.0.113.9 port \
40000 ssh2
Jun  3 08:00:09 srv sshd[4101]: message repeated 2 times: [ Failed password for invalid user \
admin from 203.0.113.9 port 40000 ssh2]
Jun  3 08:00:10 srv sshd[4101]: Connection closed by invalid user admin 203.0.113.9 port 40000 \
[preauth]
Jun  3 08:01:00 srv sshd[4200]: Failed password for root from 198.51.100.20 port 50000 ssh2
Jun  3 08:01:02 srv sshd[4200]: Accepted password for root from 198.51.100.20 port 50000 ssh2
Jun  3 08:01:02 srv sshd[4200]: pam_unix(sshd:session): session opened for user root(uid=0) by \
root(uid=0)
Jun  3 08:01:02 srv systemd-logind[900]: New session 7 of user root.
Jun  3 08:30:00 srv sshd[4200]: pam_unix(sshd:session): session closed for user root
Jun  3 08:30:00 srv systemd-logind[900]: Removed session 7.
Jun  3 08:40:00 srv sshd[4300]: Accepted publickey for alice from 192.0.2.10 port 51000 ssh2: \
ED25519 SHA256:Xb7Q
"""


def _current(old: str, prog: str) -> str:
    """The same lines as a current Debian/Ubuntu/Fedora writes them: RFC 3339 time
    (rsyslog RSYSLOG_FileFormat, June in Paris is +02:00) and the per-connection program
    ``prog`` (OpenSSH 9.8: sshd-session; 10.0: some lines from sshd-auth)."""
    out = []
    for line in old.splitlines():
        day, hms = line[4:6].strip(), line[7:15]
        iso = f"2024-06-{int(day):02d}T{hms}.000000+02:00"
        out.append(iso + line[15:].replace(" sshd[", f" {prog}["))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("prog", ["sshd-session", "sshd-auth"])
def test_current_openssh_gives_the_same_events_as_the_old_format(tmp_path, prog):
    old = _read(tmp_path, OLD, name="old.log").events
    new = _read(tmp_path, _current(OLD, prog), year=None, name="new.log").events
    # hand count: pid 4101 = 1 Failed + 2 repeats (Invalid user and PAM lines corroborate);
    # pid 4200 = 1 Failed, Accepted (its PAM "session opened" corroborates), session
    # closed, logind New/Removed; pid 4300 = Accepted
    assert old["action"].astype(str).tolist() == [
        "login_failed",
        "login_failed",
        "login_failed",
        "login_failed",
        "login",
        "other",
        "logout",
        "other",
        "login",
    ]
    assert old["src_ip"].tolist()[:5] == ["203.0.113.9"] * 3 + ["198.51.100.20"] * 2
    assert old["account"].tolist() == ["admin"] * 3 + ["root"] * 5 + ["alice"]
    assert old["ts"].iloc[0] == pd.Timestamp("2024-06-03 06:00:05", tz="UTC")  # CEST
    assert new["app_session"].iloc[4] == f"{prog}[4200]"  # the program as written
    assert old["app_session"].iloc[4] == "sshd[4200]"
    assert set(new["module"].dropna()) == {"SSHD", "SYSTEMD-LOGIND"}  # family, not program
    pd.testing.assert_frame_equal(
        old.drop(columns=RAW_COLUMNS, errors="ignore"),
        new.drop(columns=RAW_COLUMNS, errors="ignore"),
    )
    so, sn = score_sources(_canonical(old)), score_sources(_canonical(new))
    pd.testing.assert_frame_equal(so, sn)
    assert so.set_index("src_ip")["failed_logins"].to_dict() == {
        "203.0.113.9": 3,
        "198.51.100.20": 1,
        "192.0.2.10": 0,
    }


def test_rfc3339_and_rfc3164_lines_in_one_file(tmp_path):
    lines = OLD.splitlines()
    new = _current(OLD, "sshd-session").splitlines()
    mixed = "\n".join(new[:6] + lines[6:]) + "\n"  # rsyslog switched format mid-file
    ev = _read(tmp_path, mixed).events
    ref = _read(tmp_path, OLD, name="old.log").events
    pd.testing.assert_frame_equal(
        ev.drop(columns=RAW_COLUMNS, errors="ignore"),
        ref.drop(columns=RAW_COLUMNS, errors="ignore"),
    )


# --- header variants --------------------------------------------------------------------


def test_busybox_headers_four_failed_logins_read(tmp_path):
    text = (
        # BusyBox syslogd with an empty host name: "<time> <fac.prio> <msg>"
        "Jun  3 08:00:01 authpriv.info sshd[123]: Failed password for root from 203.0.113.9 "
        "port 40000 ssh2\n"
        # BusyBox default: "<time> <host> <fac.prio> <msg>"
        "Jun  3 08:00:03 labgw authpriv.info sshd[124]: Failed password for admin from "
        "203.0.113.9 port 40001 ssh2\n"
        # BusyBox -S (smaller output): "<time> <msg>"
        "Jun  3 08:00:05 sshd[125]: Failed password for guest from 203.0.113.9 port 40002 ssh2\n"
        "Jun  3 08:00:07 labgw sshd[126]: Failed password for test from 203.0.113.9 port 40003 "
        "ssh2\n"
    )
    r = _read(tmp_path, text)
    ev = r.events
    assert (r.rows_to_events, r.ignored, len(r.quarantine)) == (4, 0, 0)  # 4 of 4 read
    assert ev["account"].tolist() == ["root", "admin", "guest", "test"]
    assert ev["host"].tolist()[1] == "labgw" and ev["host"].tolist()[3] == "labgw"
    assert ev["host"].isna().tolist() == [True, False, True, False]  # no host written
    assert (ev["src_ip"] == "203.0.113.9").all() and (ev["module"] == "SSHD").all()
    assert sniff_syslog(text.encode()[:200], "messages")


@pytest.mark.parametrize(
    ("line", "host", "account", "ts"),
    [
        # FreeBSD syslogd -vv and -v (fail2ban tests/files/logs/bsd)
        (
            "Mar 19 23:48:18 <auth.info> pancake sshd[55517]: Invalid user r00t from 192.0.2.100",
            "pancake",
            "r00t",
            "2024-03-19 22:48:18",
        ),
        (
            "Apr  2 17:51:33 <4.6> pancake sshd[55628]: Failed keyboard-interactive/pam for "
            "invalid user r00t from 192.0.2.100 port 46050 ssh2",
            "pancake",
            "r00t",
            "2024-04-02 15:51:33",
        ),
        # Solaris message id (fail2ban tests/files/logs/sshd)
        (
            "Mar 29 05:20:09 dusky sshd[19558]: [ID 800047 auth.info] Failed "
            "keyboard-interactive for james from 192.0.2.100 port 54520 ssh2",
            "dusky",
            "james",
            "2024-03-29 04:20:09",
        ),
        # ChromeOS: RFC 3339 and a severity, no host (plaso syslog plugin)
        (
            "2016-10-25T12:37:23.297265-07:00 INFO sshd[123]: Failed password for root from "
            "192.0.2.100 port 22 ssh2",
            None,
            "root",
            "2016-10-25 19:37:23.297265",
        ),
        # rsyslog ParseTIMESTAMP3164: a year before the time (Cisco), read even without year=
        (
            "Jun  3 2023 08:00:01 srv sshd[1]: Failed password for x from 192.0.2.100 port 1 ssh2",
            "srv",
            "x",
            "2023-06-03 06:00:01",
        ),
        # lower-case month, zero-padded day, a fraction and a ':' after the time
        (
            "jun 03 08:00:01.250: srv sshd[1]: Failed password for y from 192.0.2.100 port 1 ssh2",
            "srv",
            "y",
            "2024-06-03 06:00:01.25",
        ),
        # an offset without ':' and OpenSSH 10's sshd-auth
        (
            "2024-06-03T08:00:01+0200 srv sshd-auth[1]: Failed password for z from 192.0.2.100 "
            "port 1 ssh2",
            "srv",
            "z",
            "2024-06-03 06:00:01",
        ),
        # a level after the pid (plaso: reporter[pid] <facility>)
        (
            "2024-06-03T08:00:01.000000+02:00 srv sshd[1] <Notice>: Failed password for w "
            "from 192.0.2.100 port 1 ssh2",
            "srv",
            "w",
            "2024-06-03 06:00:01",
        ),
    ],
)
def test_header_variants(tmp_path, line, host, account, ts):
    year = None if "2023" in line or "T" in line[:20] else 2024
    r = _read(tmp_path, line + "\n", year=year)
    ev = r.events
    assert len(ev) == 1 and ev["action"].iloc[0] == "login_failed"
    assert ev["account"].iloc[0] == account and ev["src_ip"].iloc[0] == "192.0.2.100"
    assert (pd.isna(ev["host"].iloc[0]) and host is None) or ev["host"].iloc[0] == host
    assert ev["ts"].iloc[0] == pd.Timestamp(ts, tz="UTC")


def test_program_family():
    progs = pd.Series(["sshd", "sshd-session", "sshd-auth", "CRON", "crond", "su", None])
    assert program_family(progs).tolist() == ["sshd", "sshd", "sshd", "cron", "cron", "su", ""]


# --- jobs and privilege: never a login ----------------------------------------------------

JOBS = """\
Jun  3 09:17:01 srv CRON[2001]: pam_unix(cron:session): session opened for user root(uid=0) \
by (uid=0)
Jun  3 09:17:01 srv CRON[2002]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)
Jun  3 09:17:01 srv CRON[2001]: pam_unix(cron:session): session closed for user root
Jun  3 09:20:00 srv systemd: pam_unix(systemd-user:session): session opened for user ubuntu by \
(uid=0)
Jun  3 09:21:00 srv sudo:   ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; \
COMMAND=/usr/bin/apt update
Jun  3 09:21:00 srv sudo[2100]: pam_unix(sudo:session): session opened for user root(uid=0) by \
ubuntu(uid=1000)
Jun  3 09:21:05 srv sudo[2100]: pam_unix(sudo:session): session closed for user root
Jun  3 09:22:00 srv sudo:  mallory : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/mallory ; \
USER=root ; COMMAND=/bin/cat /etc/shadow
Jun  3 09:23:00 srv su[2200]: Successful su for root by ubuntu
Jun  3 09:23:00 srv su[2200]: + /dev/pts/0 ubuntu:root
Jun  3 09:23:00 srv su[2200]: pam_unix(su:session): session opened for user root(uid=0) by \
ubuntu(uid=1000)
Jun  3 09:24:00 srv su[2200]: pam_unix(su:session): session closed for user root
Jun  3 09:25:00 srv su[2300]: FAILED su for root by mallory
Jun  3 09:25:30 srv sudo: pam_unix(sudo:auth): authentication failure; logname=mallory \
uid=1001 euid=0 tty=/dev/pts/1 ruser=mallory rhost=  user=mallory
"""


def test_cron_systemd_user_su_sudo(tmp_path):
    r = _read(tmp_path, JOBS)
    ev = r.events
    # 14 lines: 12 events; "Successful su" corroborates su[2200]'s PAM session opening
    # (one act, one event) and su's "+ tty from:to" line is out of scope
    assert (r.rows_to_events, r.ignored) == (12, 2)
    assert ev["source_line"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14]
    assert ev["action"].astype(str).tolist() == ["job"] * 4 + ["privilege"] * 8
    # the acting user is the account (the closing line takes the opener's actor)
    assert ev["account"].tolist() == ["root"] * 3 + ["ubuntu"] * 4 + ["mallory"] + [
        "ubuntu",
        "ubuntu",
        "mallory",
        "mallory",
    ]
    detail = ev["detail"].tolist()
    assert [d.split(";")[0] for d in detail[4:11]] == ["target=root"] * 7
    assert not detail[11].startswith("target=")  # sudo asks for the actor's own password
    assert detail[4] == "target=root;   ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; " + (
        "COMMAND=/usr/bin/apt update"
    )
    assert ev["outcome"].astype(str).tolist() == ["success"] * 7 + ["failure"] + [
        "success",
        "success",
        "failure",
        "failure",
    ]
    assert ev["action_raw"].tolist()[4:8] == [
        "sudo COMMAND",
        "session opened",
        "session closed",
        "sudo COMMAND",
    ]
    assert ev["app_session"].tolist()[:3] == ["CRON[2001]", "CRON[2002]", "CRON[2001]"]
    assert ev["module"].tolist()[:5] == ["CRON", "CRON", "CRON", "SYSTEMD", "SUDO"]
    assert ev["dicom_event_id"].isna().all()  # not a user authentication (110114)


def test_jobs_and_privilege_never_start_a_login_session(tmp_path):
    from labforensics.ingest import read_evidence
    from labforensics.sessions import sessionize

    p = tmp_path / "auth.log"
    p.write_text(JOBS, encoding="utf-8")
    evd = read_evidence(p, year=2024, lab="L01", case_key="00" * 16)
    s = sessionize(evd.events).sessions
    assert len(s) > 0
    assert (s["start_reason"].astype(str) != "login").all()
    assert (s["n_login"] == 0).all() and (s["n_logout"] == 0).all()
    # the 12 events are all counted as job or privilege
    assert int(s["n_job"].sum()) == 4 and int(s["n_privilege"].sum()) == 8
    assert score_sources(evd.events).empty  # no authentication from any address


# --- FTP daemons ----------------------------------------------------------------------------


def test_ftp_daemons(tmp_path):
    text = (
        'Jun  3 10:00:00 ftp vsftpd[300]: [alice] OK LOGIN: Client "192.0.2.5"\n'
        'Jun  3 10:00:01 ftp vsftpd[301]: [bob] FAIL LOGIN: Client "192.0.2.6"\n'
        'Jun  3 10:00:02 ftp vsftpd[302]: [anonymous] OK LOGIN: Client "192.0.2.7", anon '
        'password "?"\n'
        "Jun  3 10:00:03 ftp pure-ftpd: (?@192.0.2.8) [WARNING] Authentication failed for user "
        "[Administrator]\n"
        "Jun  3 10:00:04 ftp pure-ftpd: (?@192.0.2.9) [INFO] carol is now logged in\n"
        "Jun  3 10:00:05 ftp pure-ftpd: (carol@192.0.2.9) [INFO] Logout.\n"
        "Jun  3 10:00:06 ftp proftpd[400]: ftp.example (client.example[192.0.2.10]) - USER "
        "dave: Login successful.\n"
        "Jun  3 10:00:07 ftp proftpd[401] ftp.example (client.example[192.0.2.11]): USER erin "
        "(Login failed): Incorrect password.\n"
        "Jun  3 10:00:08 ftp proftpd[402]: ftp.example (192.0.2.12[192.0.2.12]) - SECURITY "
        "VIOLATION: root login attempted\n"
        "Jun  3 10:00:09 ftp proftpd[403]: ftp.example (x[192.0.2.13]) - Maximum login "
        "attempts (3) exceeded\n"
    )
    r = _read(tmp_path, text)
    ev = r.events
    assert (r.rows_to_events, r.ignored) == (9, 1)  # the "Maximum ..." summary is ignored
    assert ev["action"].astype(str).tolist() == [
        "login",
        "login_failed",
        "login",
        "login_failed",
        "login",
        "logout",
        "login",
        "login_failed",
        "login_failed",
    ]
    assert ev["account"].tolist() == [
        "alice",
        "bob",
        "anonymous",
        "Administrator",
        "carol",
        "carol",
        "dave",
        "erin",
        "root",
    ]
    assert ev["src_ip"].tolist() == [f"192.0.2.{i}" for i in (5, 6, 7, 8, 9, 9, 10, 11, 12)]
    assert ev["module"].tolist() == ["VSFTPD"] * 3 + ["PURE-FTPD"] * 3 + ["PROFTPD"] * 3
    assert ev["app_session"].tolist()[6] == "proftpd[400]"


def test_su_authentication_failure_is_a_failed_privilege(tmp_path):
    text = (
        "Jun  3 09:30:00 srv su[2400]: pam_unix(su:auth): authentication failure; "
        "logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root\n"
        "Jun  3 09:31:00 srv login[2500]: pam_unix(login:session): session opened for user "
        "bob(uid=1001) by LOGIN(uid=0)\n"
    )
    ev = _read(tmp_path, text).events
    # su asks for the TARGET's password: the acting user (ruser) is the account, root the
    # target; a console login stays a login
    assert ev["action"].astype(str).tolist() == ["privilege", "login"]
    assert ev["account"].tolist() == ["alice", "bob"]
    assert ev["outcome"].astype(str).tolist() == ["failure", "success"]
    assert ev["detail"].iloc[0].startswith("target=root; pam_unix(su:auth)")
    assert pd.isna(ev["src_ip"].iloc[0])  # empty rhost= is no address
