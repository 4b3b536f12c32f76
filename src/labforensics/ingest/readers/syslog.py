"""Reader for syslog authentication logs (format ``syslog_auth``).

One physical line is one row. Every line is accounted for: it becomes events
(``rows_to_events``), is ``ignored`` (blank, out of scope, corroborating) or is
quarantined (no syslog header, or an event line whose time cannot be read).

Accepted header shapes
----------------------
``TS`` is one of the timestamps below; ``TAG`` is ``prog``, ``prog[pid]``,
``prog(sub)[pid]`` (old Linux-PAM: ``su(pam_unix)[21416]``), optionally followed
by `` <level>`` (plaso), then ``:``; a tag with a ``[pid]`` may also end with a
space instead of ``:`` (proftpd: ``proftpd[12345] host (rhost[ip]): ...``).

==========================================  ===========================================
shape                                        written by (source of the rule)
==========================================  ===========================================
``[<PRI>]TS HOST TAG: MSG``                  sysklogd, rsyslog ``RSYSLOG_TraditionalFile
                                             Format`` / ``RSYSLOG_FileFormat`` (rsyslog
                                             "Reserved template names"), syslog-ng
                                             ``$DATE $HOST $MSGHDR$MSG``
``TS HOST FAC.PRIO TAG: MSG``                BusyBox ``syslogd`` (``"%s %.64s %s %s"``:
                                             time, host, ``parse_fac_prio_20``)
``TS FAC.PRIO TAG: MSG``                     BusyBox with an empty host name
``TS TAG: MSG``                              BusyBox ``syslogd -S`` (``"%s %s"``: "smaller
                                             output"); plaso's kernel line without host
``TS <F.P> HOST TAG: MSG``                   FreeBSD ``syslogd -v`` (``<4.3>``) / ``-vv``
                                             (``<auth.info>``) (fail2ban ``common.conf``
                                             ``__bsd_syslog_verbose`` and its test logs)
``TS SEVERITY TAG: MSG``                     ChromeOS (plaso ``syslog`` text plugin:
                                             ``2016-10-25T12:37:23.297265-07:00 INFO``)
``<PRI>1 TS HOST APP PROCID MSGID SD MSG``   RFC 5424 (rsyslog ``RSYSLOG_SyslogProtocol23
                                             Format``, plaso)
==========================================  ===========================================

``FAC.PRIO`` is a facility and a priority name of ``<syslog.h>``
(``authpriv.info``, ``auth.notice``, ``local3.err``; BusyBox writes ``<N>`` when
a number has no name); ``SEVERITY`` is ``EMERG`` .. ``DEBUG`` in capitals. A
Solaris message id ``[ID 800047 auth.info] `` at the start of the message is
dropped (fail2ban ``__daemon_extra_re``). **Decision:** a first word after the
time that is a ``FAC.PRIO``, a ``SEVERITY`` or a tag ending in ``:`` is read as
such, not as a host name (a host named ``auth.info`` or ``INFO`` is not
supported); ``host`` is then missing.

Timestamps (several forms may be mixed in one file):

- RFC 3164 ``Mmm dd hh:mm:ss``: month names in any case, a one-digit day after
  one or two spaces or a zero-padded day, an optional fraction ``.123456``, an
  optional year before the time (``Jun  3 2024 08:00:01``, Cisco) and an
  optional ``:`` after the time, as rsyslog's ``ParseTIMESTAMP3164`` accepts
  them (``runtime/datetime.c``). A year *after* the time (rsyslog's
  ``detect.YearAfterTimestamp``, off by default) is not read.
- RFC 3339 ``2024-06-03T08:00:01.123456+02:00`` (rsyslog
  ``date-rfc3339``/``RSYSLOG_FileFormat``, the default of current Debian, Ubuntu
  and Fedora; syslog-ng ``ts-format(iso)``); ``Z`` or an offset with or without
  ``:``; without an offset the time is local wall time in ``ctx.tz``.
- RFC 5424 (an RFC 3339 time or ``-``).

Time
----
RFC 5424 and RFC 3339 timestamps with an offset are ``exact``. RFC 3164 stamps
are local wall time in ``ctx.tz`` **without a year** unless one is written:
the year of the file's first year-less RFC 3164 line must be given
(``ctx.year``, i.e. ``read_evidence(year=...)``); each backward step of more
than six months between consecutive year-less lines (December to January)
advances it by one. Local times go through
:func:`labforensics.ingest.clock.localize` (lines are written in the order they
happen): in a fall-back hour the file's first backward step separates the first
pass from the second (``ambiguous_resolved``), without one the first pass is
assumed (``ambiguous_unresolved``); a spring-forward time is read with the
winter offset (``nonexistent_shifted``). **Decision:** when ``ctx.year`` is
None, the file's modification time is not used (a copied file's mtime is not
evidence): every year-less RFC 3164 line that would have become an event is
quarantined with the reason ``RFC 3164 line without year: give its year
(--year YYYY; year=YYYY in Python)``; out-of-scope lines are still counted as
ignored, and RFC 5424/3339 lines and RFC 3164 lines with a year are read
normally. ``labforensics investigate`` and ``ingest`` (and :func:`investigate`)
refuse such a file before any stage when no year is given
(:func:`labforensics.preflight.require_year`).

Programs by family
------------------
The program name (``TAG``) is compared by family, case-insensitively: ``sshd``,
``sshd-session`` (OpenSSH >= 9.8: "some log messages will be tagged with as
originating from a process named sshd-session", release notes 9.8) and
``sshd-auth`` (OpenSSH 10.0: "some log messages may now come from sshd-auth")
are the family ``sshd``; ``cron``/``CRON``/``crond`` are ``cron``; any other
program is its own family (``su``, ``sudo``, ``login``, ``systemd-logind``,
``vsftpd``, ``proftpd``, ``pure-ftpd``, ``ftpd``, ``klogind``). ``module`` is the
family in upper case (``SSHD`` for all three OpenSSH programs, so a current log
and an old one give the same events); ``app_session`` keeps the program as
written (``sshd-session[4101]``).

Mapping (message -> event)
--------------------------
``host`` is the syslog HOSTNAME (missing in the host-less shapes), ``detail``
the message as written (redacted downstream; for ``privilege`` events prefixed
by ``target=<user>; ``), ``message_id`` ``<source_file>:<line>``, ``src_ip`` the
remote address as written (an IP, or the host name PAM wrote in ``rhost=``),
``patient`` always missing. Login/logout/failed login rows carry
``dicom_event_id`` 110114 and type 110122 (login, failed login) or 110123
(logout), as the LIS mapping does; ``job``, ``privilege`` and ``other`` rows
carry none.

**Every message pattern is anchored at both ends**, and a field that the remote
party chooses (a user name) is read *from the right*: the address is the last
`` from <addr> port <n>[ ssh2][: <key>]`` of the line, so a user name
``admin from 198.51.100.7 port 22`` stays the account and cannot move the
source (fail2ban/fail2ban#1479, #3724). Messages (OpenSSH ``auth.c``
``auth_log``, Linux-PAM ``pam_unix``, sudo ``logging.c``, shadow ``su``,
cron, ``systemd-logind``, vsftpd, pure-ftpd and proftpd as quoted in fail2ban's
filters and test logs, OSSEC's log samples and plaso's grammars):

- sshd ``Accepted <method> for U from IP port P[ ssh2][: KEY]`` -> ``login``, U,
  IP; ``app_session`` ``<prog>[<pid>]``;
- sshd ``Failed <method> for [invalid user ]U from IP port P[ ssh2][: KEY]`` ->
  ``login_failed``, U, IP (``action_raw`` ``Failed password``, ``Failed none``);
- sshd ``message repeated N times: [ Failed ...]`` (rsyslog) -> N
  ``login_failed`` events (same ``message_id``, same line); a sysklogd ``last
  message repeated N times`` line gives N more copies of the event of the line
  before it (its ``detail`` is that line's message);
- sshd ``Invalid user U from IP[ port P]`` -> ``login_failed``, U, IP (*);
- pam_unix ``authentication failure; logname=L uid= euid= tty= ruser=R rhost=H[
  user=U]`` -> ``login_failed``, U or missing, H (*); for the services ``su``,
  ``su-l``, ``sudo``, ``sudo-i``, ``runuser``, ``runuser-l`` -> ``privilege``
  failed, account R (else L), and ``target=U`` except for sudo (whose PAM user is
  the acting user, asked for their own password);
- pam_unix ``session opened for user U[(uid=N)][ by A[(uid=M)]]`` and ``session
  closed for user U``, by PAM service (``pam_unix(<service>:session)``, or the
  program for the old ``su(pam_unix)[pid]`` form):

  * ``cron``, ``crond``, ``atd``, ``anacron``, ``systemd-user`` -> ``job``, U (a
    scheduled job or systemd's per-user manager, never a login);
  * ``su``, ``su-l``, ``sudo``, ``sudo-i``, ``runuser``, ``runuser-l`` ->
    ``privilege``, account **A, the acting user** (missing when PAM wrote only
    ``(uid=0)``), ``target=U`` in ``detail``; the closing line takes A from the
    opening line of the same process (host, program, pid);
  * any other service (``sshd``, ``login``, ``gdm`` ...) -> ``login`` /
    ``logout``, U (*);

  ``app_session`` ``<prog>[<pid>]`` (so open and close pair by process id);
- sudo ``A : [ERR ; ]TTY=t ; PWD=d ; USER=T ;[ GROUP=g ;] COMMAND=c`` ->
  ``privilege``, A, ``target=T``, failed when an error (``user NOT in sudoers``,
  ``3 incorrect password attempts``) is written (``action_raw`` ``sudo COMMAND``);
- su ``Successful su for T by A`` / ``FAILED su for T by A`` -> ``privilege``
  (failed), A, ``target=T``; the ``Successful`` line of a process whose PAM
  session opening is logged is corroborating and ignored (one act, one event);
- cron ``(U) CMD (c)`` -> ``job``, U;
- systemd-logind ``New session S of user U.`` -> ``other``, U; ``Removed session
  S.`` -> ``other``, the U of that session on that host (no login: the login
  is the sshd/PAM line of the same connection);
- klogind ``Authentication failed from IP (name): ...`` -> ``login_failed``;
- ftpd ``ANONYMOUS FTP LOGIN FROM IP, ...`` -> ``login``, ``anonymous``, IP;
  ftpd ``connection from IP (name) at ...`` -> ``other``, no account, IP;
- vsftpd ``[U] OK LOGIN: Client "IP"[, ...]`` -> ``login``; ``[U] FAIL LOGIN:
  Client "IP"[, ...]`` -> ``login_failed``;
- pure-ftpd ``(W@IP) [WARNING] Authentication failed for user [U]`` ->
  ``login_failed``; ``(W@IP) [INFO] U is now logged in`` -> ``login``;
  ``(U@IP) [INFO] Logout.`` -> ``logout``;
- proftpd ``SERVER (NAME[IP]): USER U: Login successful.`` -> ``login``; ``USER U
  (Login failed): <reason>`` (proftpd's reasons, as listed by fail2ban), ``USER U:
  no such user found from ...`` and ``SECURITY VIOLATION: U login attempted`` ->
  ``login_failed``; the address is the one proftpd writes before ``USER``.

(*) **One attempt, one event.** OpenSSH logs one attempt several times: a
``Failed ...`` line, the PAM ``authentication failure`` line before it and, for
a non-existent user, an ``Invalid user`` line when the connection starts. In an
sshd-family process (same host and pid) that logs a ``Failed`` line, its
``Invalid user`` and PAM ``authentication failure`` lines are corroborating
copies and are counted as ``ignored``. Likewise the PAM ``session opened`` line
of an sshd-family process that logged ``Accepted`` is ignored: the ``Accepted``
line is that session's login (it has the source address). Without a
``Failed``/``Accepted`` line (older sshd, as in loghub's ``Linux_2k.log``) the
PAM lines are the events. A pid reused by a new process within one file would
merge two processes (rare; not handled); lines of one connection logged under
two pids (an ``sshd-auth`` child and its ``sshd-session`` monitor) are not
recognised as copies.

**Decisions.** ``Received disconnect``, ``Disconnected``, ``Connection closed``
and ``Disconnecting`` lines are *ignored*: before authentication
(``[preauth]``) they close an attempt already counted, after it they duplicate
the PAM ``session closed`` line, which is the logout. An ftpd ``connection``
is not an authentication: it is an ``other`` event with the source address and
no account, kept because it places an address on the FTP server at that time.
Everything else (kernel, other daemons, ``check pass; user unknown``, ``PAM N
more authentication failures`` summaries, ``input_userauth_request``, reverse
mapping warnings, su's ``+ tty from:to`` line, proftpd's ``Maximum login
attempts`` summary) is ``ignored``. Two free-text fields at both ends cannot
always be told apart: a vsftpd anonymous password (written after the address)
that itself contains ``"] FAIL LOGIN: Client "<addr>`` and a sudo working
directory containing `` ; USER=`` would be misread; the line is kept as
written in ``detail``.

References
----------
RFC 3164 (BSD syslog), RFC 5424 (syslog protocol), RFC 3339 (timestamps);
rsyslog "Reserved template names" and ``runtime/datetime.c``; BusyBox
``sysklogd/syslogd.c``; plaso ``parsers/text_plugins/syslog.py``; fail2ban
``config/filter.d/{common,sshd,vsftpd,proftpd,pure-ftpd}.conf``; OpenSSH
release notes 9.8 and 10.0, ``auth.c`` (``auth_log``); Linux-PAM ``pam_unix``
(``pam_unix_auth.c``, ``pam_unix_sess.c``); sudo ``logging.c``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._common import build_events, read_bytes, split_lines
from .._cut_char import partial_reason_of_note
from .._kept_lines import kept_line_problems
from .._lis_encoding import decode_utf8_accounted
from .._syslog_headers import (
    _HEADERS,
    YEAR_REASON,
    _empty_str,
    _extract,
    _parse_headers,
    _timestamps,
)
from .._syslog_messages import (
    _FAILED,
    _KINDS,
    _LOGIN,
    _LOGOUT,
    _PAM,
    _SESSION_KINDS,
    JOB_SERVICES,
    PRIVILEGE_SERVICES,
    program_family,
)
from ..accounting import SYSLOG_FORMAT
from ..registry import FileRead, QuarantineRow, ReadContext, ReaderSpec, register_reader

__all__ = ["FORMAT", "YEAR_REASON", "program_family", "read_syslog", "sniff_syslog"]

FORMAT = SYSLOG_FORMAT  # the ingest report words its repeat summaries by it


def sniff_syslog(head: bytes, name: str) -> bool:
    """True when most of the first non-blank lines (up to 20) carry a syslog header."""
    if b"<AuditMessage" in head:
        return False
    text = head.decode("utf-8", errors="replace")
    lines = [ln for ln in text.splitlines()[:40] if ln.strip()][:20]
    if not lines:
        return False
    hits = sum(1 for ln in lines if any(p.match(ln) for p in _HEADERS))
    return hits >= max(1, (len(lines) + 1) // 2)


def _classify(
    hdr: pd.DataFrame, has_hdr: np.ndarray, n: int
) -> tuple[pd.Series, dict[str, pd.Series], np.ndarray, pd.Series, np.ndarray]:
    """The kind of each line's message (one vectorised pass per kind) and its fields.

    Returns ``kind`` (missing: no kind), the fields (``user``, ``ip``, ``by``,
    ``target``, ``err``, ``sid``, ``ruser``), the repeat count of each line, the PAM
    service (lower case) and its class (``job``, ``privilege`` or empty).
    """
    msg = hdr["msg"].fillna("")
    prog = hdr["prog"].fillna("")
    fam = program_family(hdr["prog"])
    pam_m = (
        _extract(msg[msg.str.startswith(("pam_unix(", "(pam_unix) "))], _PAM).reindex(msg.index)
        if n
        else pd.DataFrame(columns=["svc", "pmsg"])
    )
    is_pam = (pam_m["pmsg"].notna() | hdr["_pam_sub"].astype(bool)).to_numpy(dtype=bool)
    pam_msg = pam_m["pmsg"].fillna(msg)
    # PAM service: as written in pam_unix(<svc>:...), else the program (old form)
    svc = pam_m["svc"].fillna(prog).astype(str).str.lower()
    svc_class = np.where(
        svc.isin(JOB_SERVICES), "job", np.where(svc.isin(PRIVILEGE_SERVICES), "privilege", "")
    )
    kind = pd.Series(pd.NA, index=hdr.index, dtype=object)
    fields = {c: _empty_str(n) for c in ("user", "ip", "by", "target", "err", "sid", "ruser")}
    rep = np.ones(n, dtype=np.int64)
    for name, rx, fam_req, need_pam, _canon, _raw, starts in _KINDS:
        cand = has_hdr & kind.isna().to_numpy(dtype=bool)
        if fam_req is not None:
            cand &= fam.eq(fam_req).to_numpy(dtype=bool)
        if need_pam:
            cand &= is_pam
        if not cand.any():
            continue
        text = (pam_msg if need_pam else msg)[cand]
        text = text[text.str.startswith(starts)]  # cheap filter before the regex
        if text.empty:
            continue
        m = _extract(text, rx)
        idx = m.index[m["_m"].notna().to_numpy(dtype=bool)]
        if not len(idx):
            continue
        kind[idx] = name
        for c in fields:
            if c in m.columns:
                fields[c][idx] = m.loc[idx, c]
        if name == "pam_fail":
            fields["ruser"][idx] = m.loc[idx, "ruser"].where(
                m.loc[idx, "ruser"].fillna("") != "", m.loc[idx, "logname"]
            )
        if name == "repeated":
            rep[idx] = m.loc[idx, "n"].astype(int).clip(lower=1).to_numpy()
        if name == "ftp_anon":
            fields["user"][idx] = "anonymous"
    return kind, fields, rep, svc, svc_class


def _last_message_repeated(
    hdr: pd.DataFrame,
    has_hdr: np.ndarray,
    kind: pd.Series,
    fields: dict[str, pd.Series],
    svc_class: np.ndarray,
    rep: np.ndarray,
) -> None:
    """sysklogd "last message repeated N times": N more copies of the line before.

    The repeating line takes the kind, fields, service class and header of the line
    it repeats (in place); its repeat count is N times that line's.
    """
    n = len(hdr)
    msg = hdr["msg"].fillna("")
    prog = hdr["prog"].fillna("")
    last_rep = has_hdr & prog.eq("").to_numpy(dtype=bool)
    if last_rep.any():
        nrep = msg[last_rep].str.extract(r"^last message repeated (\d+) times?\s*$")[0]
        rows = nrep.index[nrep.notna().to_numpy(dtype=bool)].to_numpy()
        if len(rows):
            own = np.where(has_hdr, np.arange(n), -1)
            own[rows] = -1
            prev = np.concatenate([[-1], np.maximum.accumulate(own)[:-1]])[rows]
            ok = prev >= 0
            rows, prev = rows[ok], prev[ok]
            ok = kind.iloc[prev].notna().to_numpy(dtype=bool)
            rows, prev = rows[ok], prev[ok]
            if len(rows):
                kind.iloc[rows] = kind.iloc[prev].to_numpy()
                for c in fields.values():
                    c.iloc[rows] = c.iloc[prev].to_numpy()
                svc_class[rows] = svc_class[prev]
                for col in ("prog", "pid", "msg"):
                    hdr.iloc[rows, hdr.columns.get_loc(col)] = hdr[col].iloc[prev].to_numpy()
                counts = nrep.loc[rows].astype(int).clip(lower=1).to_numpy()
                rep[rows] = counts * rep[prev]


def _drop_corroborating(
    hdr: pd.DataFrame, fam: pd.Series, kind: pd.Series, svc_class: np.ndarray
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """One attempt, one event: corroborating lines of the same process lose their kind.

    Returns each line's process key (host, family, pid), whether it has a pid, and
    the kinds as an array (empty: none).
    """
    key = hdr["host"].fillna("") + "\x1f" + fam + "\x1f" + hdr["pid"].fillna("")
    has_pid = hdr["pid"].notna().to_numpy(dtype=bool)
    kv = kind.fillna("").to_numpy(dtype=object)
    is_sshd = fam.eq("sshd").to_numpy(dtype=bool)
    failed_keys = set(key[np.isin(kv, ["failed", "repeated"]) & has_pid])
    accepted_keys = set(key[(kv == "accepted") & has_pid])
    su_open_keys = set(key[(kv == "session_open") & (svc_class == "privilege") & has_pid])
    in_failed = key.isin(failed_keys).to_numpy(dtype=bool)
    in_accepted = key.isin(accepted_keys).to_numpy(dtype=bool)
    in_su_open = key.isin(su_open_keys).to_numpy(dtype=bool)
    corroborating = has_pid & (
        (is_sshd & np.isin(kv, ["invalid", "pam_fail"]) & in_failed)
        | (is_sshd & (kv == "session_open") & (svc_class == "") & in_accepted)
        | ((kv == "su_ok") & in_su_open)
    )
    kind[corroborating] = pd.NA
    kv = kind.fillna("").to_numpy(dtype=object)

    return key, has_pid, kv


def _actions(
    hdr: pd.DataFrame,
    kind: pd.Series,
    kv: np.ndarray,
    fields: dict[str, pd.Series],
    svc: pd.Series,
    svc_class: np.ndarray,
    key: pd.Series,
    has_pid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, pd.Series, pd.Series, np.ndarray]:
    """Action, raw label, account, target and failure of each line, by its kind."""
    user = fields["user"]
    action = np.array(kind.map({k[0]: k[4][0] for k in _KINDS}).to_numpy(dtype=object))
    raw_label = np.array(kind.map({k[0]: k[5] for k in _KINDS}).to_numpy(dtype=object))
    account = user.copy()
    target = fields["target"].copy()
    failure = (action == "login_failed") | fields["err"].fillna("").ne("").to_numpy(dtype=bool)
    failure |= kv == "su_fail"
    sess = np.isin(kv, ["session_open", "session_close"])
    job = sess & (svc_class == "job")
    priv = sess & (svc_class == "privilege")
    action[job] = "job"
    action[priv] = "privilege"
    action[(kv == "session_close") & (svc_class == "")] = "logout"
    target[priv] = user[priv]
    by = fields["by"].where(fields["by"].fillna("") != "")
    account[priv] = by[priv]
    # the closing line names no actor: the one of the opening line of the same process
    close_priv = priv & (kv == "session_close") & has_pid
    if close_priv.any():
        opened = priv & (kv == "session_open") & has_pid
        actor = pd.Series(by[opened].to_numpy(), index=key[opened].to_numpy())
        actor = actor[~actor.index.duplicated(keep="first")]
        account[close_priv] = key[close_priv].map(actor).to_numpy()
    pam_priv = (kv == "pam_fail") & (svc_class == "privilege")
    action[pam_priv] = "privilege"
    # su and runuser authenticate the target user; sudo the acting user itself
    pam_su = pam_priv & ~svc.str.startswith("sudo").to_numpy(dtype=bool)
    target[pam_su] = user[pam_su]
    account[pam_priv] = fields["ruser"][pam_priv].where(fields["ruser"][pam_priv].fillna("") != "")
    # systemd-logind "Removed session S.": the user of "New session S of user U." on that host
    removed = kv == "logind_removed"
    if removed.any():
        sk = hdr["host"].fillna("") + "\x1f" + fields["sid"].fillna("")
        new = kv == "logind_new"
        who = pd.Series(user[new].to_numpy(), index=sk[new].to_numpy())
        who = who[~who.index.duplicated(keep="last")]
        account[removed] = sk[removed].map(who).to_numpy()
    account = account.where(account.fillna("").astype(str) != "")

    return action, raw_label, account, target, failure


def _event_columns(
    sel: np.ndarray,
    hdr: pd.DataFrame,
    kv: np.ndarray,
    action: np.ndarray,
    raw_label: np.ndarray,
    failure: np.ndarray,
    account: pd.Series,
    target: pd.Series,
    ip: pd.Series,
    ts: pd.Series,
    quality: np.ndarray,
    line_no: np.ndarray,
    ctx: ReadContext,
) -> dict[str, object]:
    """The event columns of the lines ``sel`` (a line repeated N times: N events)."""
    msg = hdr["msg"].fillna("")
    prog = hdr["prog"].fillna("")
    fam = program_family(hdr["prog"])
    kinds_sel = kv[sel]
    act_sel = action[sel]
    canon = {"login": _LOGIN, "logout": _LOGOUT, "login_failed": _FAILED}
    dicom_id = pd.Series(act_sel).map({a: t[1] for a, t in canon.items()}).to_numpy(dtype=object)
    dicom_type = pd.Series(act_sel).map({a: t[2] for a, t in canon.items()}).to_numpy(dtype=object)
    outcome = np.where(failure[sel], "failure", "success")
    prog_sel = prog.to_numpy(dtype=object)[sel]
    pid_sel = hdr["pid"].to_numpy(dtype=object)[sel]
    raw_sel = raw_label[sel]
    method = _extract(msg.iloc[sel], r"(?:^|\[ ?)(?:Accepted|Failed) (\S+)")[0].to_numpy(
        dtype=object
    )
    has_method = pd.notna(method) & np.isin(kinds_sel, ["accepted", "failed", "repeated"])
    raw_sel = np.where(has_method, raw_sel.astype(str) + " " + method.astype(str), raw_sel)
    with_app = np.isin(kinds_sel, _SESSION_KINDS) & pd.notna(pid_sel)
    app_session = np.where(with_app, prog_sel.astype(str) + "[" + pid_sel.astype(str) + "]", None)
    module = pd.Series(fam.to_numpy(dtype=object)[sel], dtype=object).str.upper()
    module = module.replace("", pd.NA).to_numpy(dtype=object)
    detail = msg.to_numpy(dtype=object)[sel]
    tgt = target.to_numpy(dtype=object)[sel]
    has_tgt = (act_sel == "privilege") & pd.notna(tgt)
    detail = np.where(has_tgt, "target=" + tgt.astype(str) + "; " + detail.astype(str), detail)
    cols = {
        "ts": ts.to_numpy()[sel],
        "ts_quality": quality[sel],
        "host": hdr["host"].to_numpy(dtype=object)[sel],
        "src_ip": ip.to_numpy(dtype=object)[sel],
        "account": account.to_numpy(dtype=object)[sel],
        "module": module,
        "action": act_sel,
        "action_raw": raw_sel,
        "dicom_event_id": dicom_id,
        "dicom_event_type": dicom_type,
        "outcome": outcome,
        "app_session": app_session,
        "detail": detail,
        "message_id": (ctx.source_file + ":" + pd.Series(line_no[sel]).astype(str)).to_numpy(),
        "source_line": line_no[sel],
    }
    return cols


def read_syslog(path: Path, ctx: ReadContext) -> FileRead:
    """Read one syslog authentication log into raw events.

    Parameters
    ----------
    path : pathlib.Path
        The log (gzip undone).
    ctx : ReadContext
        ``year`` (the year of the first year-less RFC 3164 line; see the module
        docstring), ``tz`` (local wall time), ``lab`` (else ``"UNKNOWN"``),
        ``account_kinds``, ``source_file``.

    Returns
    -------
    FileRead
        One row per physical line: ``rows_read`` = lines = ``rows_to_events`` +
        ``ignored`` (blank, out of scope, corroborating) + quarantined. Events:
        canonical columns plus ``_ipp`` (always missing here); actions ``login``,
        ``logout``, ``login_failed``, ``job``, ``privilege``, ``other``.

    Raises
    ------
    EvidenceError
        Only when the file cannot be read.
    """
    data, truncated, note, utf16 = read_bytes(path)
    text, n_rec, n_rep, enc_note, enc_problems = decode_utf8_accounted(data, utf16)  # counted
    lines, ends_nl = split_lines(text)
    del text
    n = len(lines)
    s = pd.Series(lines, dtype=object)
    line_no = np.arange(1, n + 1, dtype=np.int64)
    blank = s.str.strip().eq("").to_numpy(dtype=bool) if n else np.zeros(0, bool)
    hdr, t3164 = _parse_headers(s)
    has_hdr = hdr["form"].notna().to_numpy(dtype=bool)
    # --- classify messages; "last message repeated"; corroborating lines ---------------
    kind, fields, rep, svc, svc_class = _classify(hdr, has_hdr, n)
    _last_message_repeated(hdr, has_hdr, kind, fields, svc_class, rep)
    fam = program_family(hdr["prog"])
    key, has_pid, kv = _drop_corroborating(hdr, fam, kind, svc_class)
    # --- action, account, target per kind ---------------------------------------------
    action, raw_label, account, target, failure = _actions(
        hdr, kind, kv, fields, svc, svc_class, key, has_pid
    )
    is_event = kind.notna().to_numpy(dtype=bool)
    ip = fields["ip"]
    ip = ip.where(ip.astype("string").str.len().fillna(0) > 0)
    # --- timestamps ---------------------------------------------------------------------
    ts, quality, reason = _timestamps(hdr, t3164, ctx, is_event)
    # --- accounting ---------------------------------------------------------------------
    quarantined = (~blank & ~has_hdr) | (is_event & (reason != None))  # noqa: E711
    reason[~blank & ~has_hdr] = "not a syslog line (RFC 3164 / RFC 5424 header expected)"
    cut_reason = partial_reason_of_note(truncated, note)  # a gzip or character cut
    if cut_reason and n and not ends_nl:  # the last line is partial: never an event
        quarantined[-1], reason[-1] = True, cut_reason
    to_event = is_event & ~quarantined
    ignored = ~to_event & ~quarantined
    quarantine = [
        QuarantineRow(int(line_no[i]), str(reason[i]), lines[i])
        for i in np.flatnonzero(quarantined)
    ]
    if n and not ends_nl and quarantined[-1] and not has_hdr[-1]:
        truncated, note = True, note or f"last line {n} has no line end and does not parse"

    # --- events -------------------------------------------------------------------------
    sel = np.flatnonzero(to_event)
    times = rep[sel]
    cols = _event_columns(
        sel, hdr, kv, action, raw_label, failure, account, target, ip, ts, quality, line_no, ctx
    )
    if (times > 1).any():
        cols = {k: np.repeat(np.asarray(v), times) for k, v in cols.items()}
        cols["ts"] = pd.to_datetime(cols["ts"], utc=True)
    events = build_events(cols, ctx, FORMAT)
    return FileRead(
        events=events,
        rows_read=n,
        rows_to_events=int(to_event.sum()),
        ignored=int(ignored.sum()),
        quarantine=quarantine,
        field_problems=kept_line_problems(enc_problems, quarantine),
        truncated=truncated,
        truncation_note=note,
        lab=ctx.lab,
        rows_recoded=n_rec,
        replacement_chars=n_rep,
        encoding_note=enc_note,
    )


register_reader(
    ReaderSpec(
        name=FORMAT,
        sniff=sniff_syslog,
        read=read_syslog,
        priority=5,
        description=(
            "syslog authentication log (RFC 3164 / RFC 3339 / RFC 5424, BusyBox and FreeBSD "
            "headers): sshd(-session/-auth), PAM, su, sudo, cron, systemd-logind, FTP daemons"
        ),
    )
)
