"""Syslog messages: the authentication events of the ``syslog_auth`` reader, by program.

The message patterns (sshd, PAM, su/sudo, cron, FTP servers ...), their canonical
action and codes, and the program families; see
:mod:`labforensics.ingest.readers.syslog` for the sources of each rule.
"""

from __future__ import annotations

import pandas as pd

#: Program name (lower case) -> family; any other program is its own family.
FAMILIES: dict[str, str] = {
    "sshd": "sshd",
    "sshd-session": "sshd",
    "sshd-auth": "sshd",
    "cron": "cron",
    "crond": "cron",
}


#: PAM services whose sessions are scheduled jobs (action ``job``).
JOB_SERVICES = frozenset({"cron", "crond", "atd", "anacron", "systemd-user"})


#: PAM services whose sessions are a change of identity (action ``privilege``).
PRIVILEGE_SERVICES = frozenset({"su", "su-l", "sudo", "sudo-i", "runuser", "runuser-l"})


_PAM = r"^(?:pam_unix\((?P<svc>[^:)]+)(?::\w+)?\): |\(pam_unix\) )(?P<pmsg>.*)$"


_LOGIN = ("login", "110114", "110122")


_FAILED = ("login_failed", "110114", "110122")


_LOGOUT = ("logout", "110114", "110123")


_OTHER = ("other", None, None)


_JOB = ("job", None, None)


_PRIV = ("privilege", None, None)


# sshd: the address is the LAST " from <addr> port <n>" (greedy user, anchored end)
_SSH_TAIL = r" from (?P<ip>\S+) port \d+(?: ssh\d?)?(?:: .*)?"


# proftpd reasons after "(Login failed): " (fail2ban filter.d/proftpd.conf)
_PROFTPD_REASONS = (
    r"(?:[uU]ser not authorized for login|[nN]o such user found|[iI]ncorrect password"
    r"|[pP]assword expired|[aA]ccount disabled|[iI]nvalid shell: '\S+'|[uU]ser in \S+"
    r"|[lL]imit (?:access|configuration) denies login|[nN]ot a UserAlias"
    r"|[mM]aximum login length exceeded)\.?"
)


_PROFTPD_HEAD = r"^(?P<_m>)\S+ \([^\s\[\]]*\[(?P<ip>[0-9A-Fa-f.:]+)\]\)(?::| -) "


_PURE_HEAD = r"^(?P<_m>)\((?P<who>\S*?)@(?P<ip>[0-9A-Fa-f.:]+)\) "


_IPCHARS = r"[0-9A-Fa-f.:]+"


#: (kind, regex on the message, program family or None, reads the PAM message, canonical
#: tuple, raw label, literal start(s) of the message). Every regex begins with the empty
#: group ``_m`` (present on a match) and is anchored at both ends. The first kind that
#: matches wins; the order matters (``message repeated`` before ``Failed``).
_KINDS: list[tuple[str, str, str | None, bool, tuple[str, str | None, str | None], str, tuple]] = [
    (
        "accepted",
        r"^(?P<_m>)Accepted (?P<method>\S+) for (?P<user>.+)" + _SSH_TAIL + r"$",
        "sshd",
        False,
        _LOGIN,
        "Accepted",
        ("Accepted ",),
    ),
    (
        "repeated",
        r"^(?P<_m>)message repeated (?P<n>\d+) times: \[ ?Failed (?P<method>\S+) for "
        r"(?:invalid user )?(?P<user>.+) from (?P<ip>\S+) port \d+(?: ssh\d?)?(?:: [^\]]*)?\]$",
        "sshd",
        False,
        _FAILED,
        "Failed",
        ("message repeated ",),
    ),
    (
        "failed",
        r"^(?P<_m>)Failed (?P<method>\S+) for (?:invalid user )?(?P<user>.+)" + _SSH_TAIL + r"$",
        "sshd",
        False,
        _FAILED,
        "Failed",
        ("Failed ",),
    ),
    (
        "invalid",
        r"^(?P<_m>)Invalid user (?P<user>.*) from (?P<ip>\S+)(?: port \d+)?(?: \[preauth\])?\s*$",
        "sshd",
        False,
        _FAILED,
        "Invalid user",
        ("Invalid user ",),
    ),
    (
        "pam_fail",
        r"^(?P<_m>)authentication failure; logname=(?P<logname>\S*) uid=\d* euid=\d* "
        r"tty=\S* ruser=(?P<ruser>\S*) rhost=(?P<ip>\S*)(?:\s+user=(?P<user>.*\S))?\s*$",
        None,
        True,
        _FAILED,
        "pam_unix authentication failure",
        ("authentication failure;",),
    ),
    (
        "session_open",
        r"^(?P<_m>)session opened for user (?P<user>[^\s(]+)(?:\(uid=\d+\))?"
        r"(?: by (?P<by>[^\s(]*)(?:\(uid=\d+\))?)?\s*$",
        None,
        True,
        _LOGIN,
        "session opened",
        ("session opened ",),
    ),
    (
        "session_close",
        r"^(?P<_m>)session closed for user (?P<user>[^\s(]+)(?:\(uid=\d+\))?\s*$",
        None,
        True,
        _LOGOUT,
        "session closed",
        ("session closed ",),
    ),
    (
        "sudo_cmd",
        r"^(?P<_m>)\s*(?P<user>\S+) : (?:(?P<err>[^;]*?) ; )?(?:HOST=\S+ ; )?TTY=\S+ ; "
        r"PWD=.*? ; USER=(?P<target>\S+) ;(?: GROUP=\S+ ;)?(?: TSID=\S+ ;)?(?: ENV=.*? ;)?"
        r" COMMAND=.*$",
        "sudo",
        False,
        _PRIV,
        "sudo COMMAND",
        ("",),
    ),
    (
        "su_ok",
        r"^(?P<_m>)Successful su for (?P<target>\S+) by (?P<user>\S+)\s*$",
        "su",
        False,
        _PRIV,
        "Successful su",
        ("Successful su ",),
    ),
    (
        "su_fail",
        r"^(?P<_m>)FAILED su for (?P<target>\S+) by (?P<user>\S+)\s*$",
        "su",
        False,
        _PRIV,
        "FAILED su",
        ("FAILED su ",),
    ),
    (
        "cron_cmd",
        r"^(?P<_m>)\((?P<user>[^)\s]*)\) CMD \(.*\)\s*$",
        "cron",
        False,
        _JOB,
        "CMD",
        ("(",),
    ),
    (
        "logind_new",
        r"^(?P<_m>)New session (?P<sid>\S+) of user (?P<user>\S+)\.$",
        "systemd-logind",
        False,
        _OTHER,
        "New session",
        ("New session ",),
    ),
    (
        "logind_removed",
        r"^(?P<_m>)Removed session (?P<sid>\S+)\.$",
        "systemd-logind",
        False,
        _OTHER,
        "Removed session",
        ("Removed session ",),
    ),
    (
        "klogind_fail",
        r"^(?P<_m>)Authentication failed from (?P<ip>[^\s(]+) \([^)]*\)(?:: .*)?$",
        "klogind",
        False,
        _FAILED,
        "Authentication failed",
        ("Authentication failed from ",),
    ),
    (
        "ftp_anon",
        r"^(?P<_m>)ANONYMOUS FTP LOGIN FROM (?P<ip>[^\s,]+),.*$",
        "ftpd",
        False,
        _LOGIN,
        "ANONYMOUS FTP LOGIN",
        ("ANONYMOUS FTP LOGIN FROM ",),
    ),
    (
        "ftp_conn",
        r"^(?P<_m>)connection from (?P<ip>\S+) \([^)]*\) at .*$",
        "ftpd",
        False,
        _OTHER,
        "connection",
        ("connection from ",),
    ),
    (
        "vsftpd_ok",
        r'^(?P<_m>)\[(?P<user>.*)\] OK LOGIN: Client "(?P<ip>' + _IPCHARS + r')"(?:, .*)?$',
        "vsftpd",
        False,
        _LOGIN,
        "OK LOGIN",
        ("[",),
    ),
    (
        "vsftpd_fail",
        r'^(?P<_m>)\[(?P<user>.*)\] FAIL LOGIN: Client "(?P<ip>' + _IPCHARS + r')"(?:, .*)?$',
        "vsftpd",
        False,
        _FAILED,
        "FAIL LOGIN",
        ("[",),
    ),
    (
        "pure_fail",
        _PURE_HEAD + r"\[WARNING\] Authentication failed for user \[(?P<user>.*)\]\s*$",
        "pure-ftpd",
        False,
        _FAILED,
        "Authentication failed",
        ("(",),
    ),
    (
        "pure_ok",
        _PURE_HEAD + r"\[INFO\] (?P<user>.*) is now logged in\s*$",
        "pure-ftpd",
        False,
        _LOGIN,
        "is now logged in",
        ("(",),
    ),
    (
        "pure_logout",
        _PURE_HEAD.replace("?P<who>", "?P<user>") + r"\[INFO\] Logout\.\s*$",
        "pure-ftpd",
        False,
        _LOGOUT,
        "Logout",
        ("(",),
    ),
    (
        "proftpd_ok",
        _PROFTPD_HEAD + r"USER (?P<user>.*): Login successful\.\s*$",
        "proftpd",
        False,
        _LOGIN,
        "Login successful",
        ("",),
    ),
    (
        "proftpd_fail",
        _PROFTPD_HEAD + r"USER (?P<user>.*) \(Login failed\): " + _PROFTPD_REASONS + r"\s*$",
        "proftpd",
        False,
        _FAILED,
        "Login failed",
        ("",),
    ),
    (
        "proftpd_nouser",
        _PROFTPD_HEAD
        + r"USER (?P<user>.*): no such user found from \S+ \["
        + _IPCHARS
        + r"\] to \S+\s*$",
        "proftpd",
        False,
        _FAILED,
        "no such user found",
        ("",),
    ),
    (
        "proftpd_root",
        _PROFTPD_HEAD + r"SECURITY VIOLATION: (?P<user>.*) login attempted\.?\s*$",
        "proftpd",
        False,
        _FAILED,
        "SECURITY VIOLATION",
        ("",),
    ),
]


_KIND_SPEC = {k[0]: k for k in _KINDS}


#: kinds whose event carries ``app_session`` ``<prog>[<pid>]``
_SESSION_KINDS = (
    "accepted",
    "session_open",
    "session_close",
    "ftp_anon",
    "vsftpd_ok",
    "pure_ok",
    "pure_logout",
    "proftpd_ok",
    "sudo_cmd",
    "su_ok",
    "su_fail",
    "cron_cmd",
)


def program_family(prog: pd.Series) -> pd.Series:
    """The family of each program name (see the module docstring, "Programs by family").

    Parameters
    ----------
    prog : pandas.Series of str (missing allowed)

    Returns
    -------
    pandas.Series of object
        Lower-case family (``sshd`` for ``sshd-session``, ``cron`` for ``CRON``);
        ``""`` where ``prog`` is missing.
    """
    low = prog.fillna("").astype(str).str.lower()
    return low.map(FAMILIES).fillna(low).astype(object)
