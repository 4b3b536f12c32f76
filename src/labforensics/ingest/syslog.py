"""Reader for syslog authentication logs (format ``syslog_auth``).

Lines in BSD syslog (RFC 3164: ``Jun 14 15:16:01 combo sshd[19939]: ...``, an
optional ``<PRI>`` first), RFC 5424 (``<34>1 2003-10-11T22:14:15.003Z host app
procid msgid SD msg``) or the ISO-timestamped BSD form written by rsyslog
(``2024-01-02T10:00:00.123+01:00 host prog[pid]: msg``). One physical line is
one row.

Time
----
RFC 5424 and ISO timestamps carry their offset: ``exact``. RFC 3164 stamps are
local wall time in ``ctx.tz`` **without a year**: the year of the file's first
RFC 3164 line must be given (``ctx.year``, i.e. ``read_evidence(year=...)``);
each backward step of more than six months between consecutive lines (December
to January) advances it by one. Local times go through
:func:`labforensics.ingest.clock.localize` (lines are written in the order they
happen): in a fall-back hour the file's first backward step separates the first
pass from the second (``ambiguous_resolved``), without one the first pass is
assumed (``ambiguous_unresolved``); a spring-forward time is read with the
winter offset (``nonexistent_shifted``). **Decision:** when ``ctx.year`` is None, the file's
modification time is not used (a copied file's mtime is not evidence): every
RFC 3164 line that would have become an event is quarantined with the reason
``RFC 3164 line without year: pass year=<YYYY> to read_evidence``; out-of-scope
lines are still counted as ignored, and RFC 5424/ISO lines are read normally.

Mapping (message -> event)
--------------------------
``host`` is the syslog HOSTNAME (the server that logged: ``combo``, ``LabSZ``),
``module`` the program name upper case (``SSHD``, ``SU``), ``detail`` the message
as written (redacted downstream), ``message_id`` ``<source_file>:<line>``,
``src_ip`` the remote address as written (an IP, or the host name PAM wrote in
``rhost=`` when it resolved one), ``patient`` always missing.
Login/logout/failed login rows carry ``dicom_event_id`` 110114 and type 110122
(login, failed login) or 110123 (logout), as the LIS mapping does.

Message (OpenSSH ``auth.c``, Linux-PAM ``pam_unix``) -> action, account, src_ip:

- sshd ``Accepted <method> for U from IP port P`` -> ``login``, U, IP;
  ``app_session`` ``sshd[<pid>]``;
- sshd ``Failed <method> for [invalid user ]U from IP port P`` ->
  ``login_failed``, U, IP (``action_raw`` ``Failed password``, ``Failed none`` ...);
- sshd ``message repeated N times: [ Failed ...]`` (rsyslog) -> N ``login_failed``
  events (same ``message_id``, same line); a sysklogd ``last message repeated N
  times`` line gives N more copies of the event of the line before it (its
  ``detail`` is that line's message);
- sshd ``Invalid user U from IP`` -> ``login_failed``, U, IP (*);
- pam_unix ``authentication failure; ... rhost=R [user=U]`` (any program: sshd,
  gdm ...) -> ``login_failed``, U or missing, R (*);
- pam_unix ``session opened for user U [by ...]`` (sshd, su, login, any
  program) -> ``login``, U, ``app_session`` ``<program>[<pid>]`` (*);
- pam_unix ``session closed for user U`` -> ``logout``, U, ``app_session``
  ``<program>[<pid>]`` (so a session pairs by process id);
- klogind ``Authentication failed from IP`` -> ``login_failed``, no account, IP;
- ftpd ``ANONYMOUS FTP LOGIN FROM IP, (id)`` -> ``login``, ``anonymous``, IP;
- ftpd ``connection from IP (name) at ...`` -> ``other``, no account, IP.

(*) **One attempt, one event.** OpenSSH logs one attempt several times: a
``Failed ...`` line, the PAM ``authentication failure`` line before it and, for
a non-existent user, an ``Invalid user`` line when the connection starts. In an
sshd process (same host and pid) that logs a ``Failed`` line, its ``Invalid
user`` and PAM ``authentication failure`` lines are corroborating copies and
are counted as ``ignored``, so failed logins are not counted two or three
times. Likewise the PAM ``session opened`` line of an sshd process that logged
``Accepted`` is ignored: the ``Accepted`` line is that session's login (it has
the source address). Without a ``Failed``/``Accepted`` line (older sshd, as in
loghub's ``Linux_2k.log``) the PAM lines are the events. A pid reused by a new
process within one file would merge two processes (rare; not handled).

**Decisions.** ``Received disconnect``, ``Disconnected``, ``Connection closed``
and ``Disconnecting`` lines are *ignored*: before authentication
(``[preauth]``) they close an attempt already counted, after it they duplicate
the PAM ``session closed`` line, which is the logout. An ftpd ``connection``
is not an authentication: it is an ``other`` event with the source address and
no account, kept because it places an address on the FTP server at that time.
Everything else (kernel, other daemons, ``check pass; user unknown``, ``PAM N
more authentication failures`` summaries, ``input_userauth_request``, reverse
mapping warnings) is ``ignored``. A line with no recognisable syslog header is
quarantined.

References
----------
RFC 3164 (BSD syslog), RFC 5424 (syslog protocol), OpenSSH ``auth.c``
(``auth_log``), Linux-PAM ``pam_unix`` (``pam_unix_auth.c``, ``pam_unix_sess.c``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import build_events, decode, localize, read_bytes, split_lines
from .registry import FileRead, QuarantineRow, ReadContext, ReaderSpec, register_reader

__all__ = ["FORMAT", "YEAR_REASON", "read_syslog", "sniff_syslog"]

FORMAT = "syslog_auth"
#: Quarantine reason of an RFC 3164 line read without ``ctx.year``.
YEAR_REASON = "RFC 3164 line without year: pass year=<YYYY> to read_evidence"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_R5424 = (
    r"^<(?P<pri>\d{1,3})>(?P<ver>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) "
    r"(?P<procid>\S+) (?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\\"]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+)"
    r"(?: (?P<msg>.*))?$"
)
_R3164 = (
    r"^(?:<\d{1,3}>)?(?P<mon>" + "|".join(_MONTHS) + r") {1,2}(?P<day>\d{1,2}) "
    r"(?P<time>\d\d:\d\d:\d\d) (?P<host>\S+) (?P<rest>.*)$"
)
_RISO = (
    r"^(?:<\d{1,3}>)?(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?"
    r"(?:Z|[+-]\d\d:?\d\d)?) (?P<host>\S+) (?P<rest>.*)$"
)
_TAG = r"^(?P<prog>[^\s\[\]:()]+)(?:\((?P<sub>[^)]*)\))?(?:\[(?P<pid>\d+)\])?:(?: ?(?P<msg>.*))?$"
_PAM = r"^pam_unix\((?P<svc>[^:)]+)(?::\w+)?\): (?P<pmsg>.*)$"

_LOGIN = ("login", "110114", "110122")
_FAILED = ("login_failed", "110114", "110122")
_LOGOUT = ("logout", "110114", "110123")
_OTHER = ("other", None, None)

#: kind -> (regex on the message, program constraint, needs PAM, canonical tuple, raw label).
#: The first matching kind wins; the order matters (``message repeated`` before ``Failed``).
_KINDS: list[tuple[str, str, str | None, bool, tuple[str, str | None, str | None], str]] = [
    (
        "accepted",
        r"^Accepted (?P<method>\S+) for (?P<user>.+?) from (?P<ip>\S+) port \d+",
        "sshd",
        False,
        _LOGIN,
        "Accepted",
    ),
    (
        "repeated",
        r"^message repeated (?P<n>\d+) times: \[ ?Failed (?P<method>\S+) for "
        r"(?:invalid user )?(?P<user>.*?) from (?P<ip>\S+) port \d+",
        "sshd",
        False,
        _FAILED,
        "Failed",
    ),
    (
        "failed",
        r"^Failed (?P<method>\S+) for (?:invalid user )?(?P<user>.*?) from (?P<ip>\S+) port \d+",
        "sshd",
        False,
        _FAILED,
        "Failed",
    ),
    (
        "invalid",
        r"^Invalid user (?P<user>.*?) from (?P<ip>\S+)(?: port \d+)?\s*$",
        "sshd",
        False,
        _FAILED,
        "Invalid user",
    ),
    (
        "pam_fail",
        r"^authentication failure;.*?\brhost=(?P<ip>\S*)(?:\s+user=(?P<user>\S+))?",
        None,
        True,
        _FAILED,
        "pam_unix authentication failure",
    ),
    (
        "session_open",
        r"^session opened for user (?P<user>[^\s(]+)(?:\(uid=\d+\))?(?: by .*)?\s*$",
        None,
        True,
        _LOGIN,
        "session opened",
    ),
    (
        "session_close",
        r"^session closed for user (?P<user>[^\s(]+)(?:\(uid=\d+\))?\s*$",
        None,
        True,
        _LOGOUT,
        "session closed",
    ),
    (
        "klogind_fail",
        r"^Authentication failed from (?P<ip>[^\s(]+)",
        "klogind",
        False,
        _FAILED,
        "Authentication failed",
    ),
    (
        "ftp_anon",
        r"^ANONYMOUS FTP LOGIN FROM (?P<ip>[^\s,]+)",
        "ftpd",
        False,
        _LOGIN,
        "ANONYMOUS FTP LOGIN",
    ),
    (
        "ftp_conn",
        r"^connection from (?P<ip>\S+) \((?P<rname>[^)]*)\)",
        "ftpd",
        False,
        _OTHER,
        "connection",
    ),
]
_SESSION_KINDS = ("accepted", "session_open", "session_close", "ftp_anon")
#: literal start of each kind's message, to filter lines before running its regex
_PREFIX = {k[0]: re.match(r"\^([\w ;]+)", k[1]).group(1) for k in _KINDS}  # type: ignore[union-attr]
_HEADERS = tuple(re.compile(p) for p in (_R3164, _RISO, _R5424))


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


def _extract(s: pd.Series, rx: str) -> pd.DataFrame:
    """``Series.str.extract`` with one column per group, object dtype (missing: NaN/None)."""
    return s.astype(object).str.extract(rx, expand=True)


def _empty_str(n: int) -> pd.Series:
    return pd.Series([pd.NA] * n, dtype=object)


def read_syslog(path: Path, ctx: ReadContext) -> FileRead:
    """Read one syslog authentication log into raw events.

    Parameters
    ----------
    path : pathlib.Path
        The log (gzip undone).
    ctx : ReadContext
        ``year`` (the year of the first RFC 3164 line; see the module docstring),
        ``tz`` (RFC 3164 wall time), ``lab`` (else ``"UNKNOWN"``),
        ``account_kinds``, ``source_file``.

    Returns
    -------
    FileRead
        One row per physical line: ``rows_read`` = lines = ``rows_to_events`` +
        ``ignored`` (blank, out of scope, corroborating) + quarantined. Events:
        canonical columns plus ``_ipp`` (always missing here).

    Raises
    ------
    EvidenceError
        Only when the file cannot be read.
    """
    data, truncated, note = read_bytes(path)
    lines, ends_nl = split_lines(decode(data))
    n = len(lines)
    s = pd.Series(lines, dtype=object)
    line_no = np.arange(1, n + 1, dtype=np.int64)
    blank = s.str.strip().eq("").to_numpy(dtype=bool) if n else np.zeros(0, bool)

    hdr = pd.DataFrame(
        index=s.index, columns=["form", "ts", "host", "prog", "pid", "msg"], dtype=object
    )
    mon = pd.Series(np.nan, index=s.index)
    day = pd.Series(pd.NA, index=s.index, dtype=object)
    tod = pd.Series(pd.NA, index=s.index, dtype=object)
    if n:
        lt = s.str.startswith("<").to_numpy(dtype=bool)  # RFC 5424 starts with <PRI>
        m5 = _extract(s[lt], _R5424).reindex(s.index)
        ok5 = m5["pri"].notna().to_numpy(dtype=bool)
        hdr.loc[ok5, "form"] = "5424"
        hdr.loc[ok5, "ts"] = m5.loc[ok5, "ts"]
        hdr.loc[ok5, "host"] = m5.loc[ok5, "host"]
        hdr.loc[ok5, "prog"] = m5.loc[ok5, "app"].where(m5.loc[ok5, "app"] != "-")
        hdr.loc[ok5, "pid"] = m5.loc[ok5, "procid"].where(m5.loc[ok5, "procid"] != "-")
        hdr.loc[ok5, "msg"] = m5.loc[ok5, "msg"].fillna("").str.removeprefix("\ufeff")
        rest = pd.Series(pd.NA, index=s.index, dtype=object)
        m3 = _extract(s[~ok5], _R3164)
        ok3 = m3["mon"].notna()
        i3 = ok3.index[ok3.to_numpy(dtype=bool)]
        hdr.loc[i3, "form"] = "3164"
        hdr.loc[i3, "host"] = m3.loc[i3, "host"]
        rest[i3] = m3.loc[i3, "rest"]
        mon[i3] = m3.loc[i3, "mon"].map({m: i + 1 for i, m in enumerate(_MONTHS)})
        day[i3] = m3.loc[i3, "day"]
        tod[i3] = m3.loc[i3, "time"]
        left = s.index[~ok5 & ~hdr["form"].notna().to_numpy(dtype=bool)]
        mi = _extract(s[left], _RISO)
        oki = mi["iso"].notna()
        ii = oki.index[oki.to_numpy(dtype=bool)]
        hdr.loc[ii, "form"] = "iso"
        hdr.loc[ii, "ts"] = mi.loc[ii, "iso"]
        hdr.loc[ii, "host"] = mi.loc[ii, "host"]
        rest[ii] = mi.loc[ii, "rest"]
        has_rest = rest.notna()
        if has_rest.any():
            tag = _extract(rest[has_rest], _TAG)
            hdr.loc[tag.index, "prog"] = tag["prog"]
            hdr.loc[tag.index, "pid"] = tag["pid"]
            hdr.loc[tag.index, "msg"] = (
                tag["msg"].fillna("").where(tag["prog"].notna(), rest[has_rest])
            )
            sub = tag["sub"]
            # "sshd(pam_unix)[pid]: msg" (old Linux-PAM): a PAM message of program sshd
            hdr["_pam_sub"] = False
            hdr.loc[tag.index, "_pam_sub"] = sub.fillna("").str.startswith("pam_").to_numpy()
    if "_pam_sub" not in hdr.columns:
        hdr["_pam_sub"] = False
    has_hdr = hdr["form"].notna().to_numpy(dtype=bool)

    # --- classify messages (one vectorised pass per kind) ------------------------------
    msg = hdr["msg"].fillna("")
    prog = hdr["prog"].fillna("")
    pam_m = (
        _extract(msg[msg.str.startswith("pam_unix(")], _PAM).reindex(msg.index)
        if n
        else pd.DataFrame(columns=["svc", "pmsg"])
    )
    is_pam = (pam_m["pmsg"].notna() | hdr["_pam_sub"].astype(bool)).to_numpy(dtype=bool)
    pam_msg = pam_m["pmsg"].fillna(msg)
    kind = pd.Series(pd.NA, index=s.index, dtype=object)
    user = _empty_str(n)
    ip = _empty_str(n)
    rep = np.ones(n, dtype=np.int64)
    for name, rx, prog_req, need_pam, _canon, _raw in _KINDS:
        cand = has_hdr & kind.isna().to_numpy(dtype=bool)
        if prog_req is not None:
            cand &= prog.eq(prog_req).to_numpy(dtype=bool)
        if need_pam:
            cand &= is_pam
        if not cand.any():
            continue
        text = (pam_msg if need_pam else msg)[cand]
        text = text[text.str.startswith(_PREFIX[name])]  # cheap filter before the regex
        if text.empty:
            continue
        m = _extract(text, rx)
        hit = m.iloc[:, 0].notna() if name != "pam_fail" else m["ip"].notna()
        idx = m.index[hit.to_numpy(dtype=bool)]
        if not len(idx):
            continue
        kind[idx] = name
        if "user" in m.columns:
            user[idx] = m.loc[idx, "user"]
        if "ip" in m.columns:
            ip[idx] = m.loc[idx, "ip"]
        if name == "repeated":
            rep[idx] = m.loc[idx, "n"].astype(int).clip(lower=1).to_numpy()
        if name == "ftp_anon":
            user[idx] = "anonymous"

    # --- sysklogd "last message repeated N times": N more copies of the line before ----
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
                user.iloc[rows] = user.iloc[prev].to_numpy()
                ip.iloc[rows] = ip.iloc[prev].to_numpy()
                for col in ("prog", "pid", "msg"):
                    hdr.iloc[rows, hdr.columns.get_loc(col)] = hdr[col].iloc[prev].to_numpy()
                prog = hdr["prog"].fillna("")
                msg = hdr["msg"].fillna("")
                counts = nrep.loc[rows].astype(int).clip(lower=1).to_numpy()
                rep[rows] = counts * rep[prev]

    # --- one attempt, one event: corroborating lines of the same sshd process ----------
    key = hdr["host"].fillna("") + "\x1f" + prog + "\x1f" + hdr["pid"].fillna("")
    has_pid = hdr["pid"].notna().to_numpy(dtype=bool)
    is_sshd = prog.eq("sshd").to_numpy(dtype=bool)
    failed_keys = key[kind.isin(["failed", "repeated"]).to_numpy(dtype=bool) & has_pid]
    accepted_keys = key[kind.eq("accepted").to_numpy(dtype=bool) & has_pid]
    in_failed = key.isin(set(failed_keys)).to_numpy(dtype=bool)
    in_accepted = key.isin(set(accepted_keys)).to_numpy(dtype=bool)
    kv = kind.fillna("").to_numpy(dtype=object)
    corroborating = (
        has_pid
        & is_sshd
        & (
            (kind.isin(["invalid", "pam_fail"]).to_numpy(dtype=bool) & in_failed)
            | ((kv == "session_open") & in_accepted)
        )
    )
    kind[corroborating] = pd.NA

    is_event = kind.notna().to_numpy(dtype=bool)
    ip = ip.where(ip.astype("string").str.len().fillna(0) > 0)

    # --- timestamps ---------------------------------------------------------------------
    form = hdr["form"].to_numpy(dtype=object)
    ts = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    quality = np.full(n, "exact", dtype=object)
    reason = np.full(n, None, dtype=object)
    f3164 = form == "3164"
    if f3164.any():
        if ctx.year is None:
            reason[f3164 & is_event] = YEAR_REASON
        else:
            months = mon[f3164].to_numpy(dtype=float)
            step = np.concatenate([[0], (np.diff(months) < -6).astype(np.int64)])
            years = int(ctx.year) + np.cumsum(step)
            txt = (
                pd.Series(years.astype(str), index=mon[f3164].index)
                + "-"
                + mon[f3164].astype(int).astype(str).str.zfill(2)
                + "-"
                + day[f3164].astype(str).str.zfill(2)
                + " "
                + tod[f3164].astype(str)
            )
            naive = pd.to_datetime(txt, format="%Y-%m-%d %H:%M:%S", errors="coerce")
            loc, q = localize(naive, ctx.tz)
            ts[f3164] = loc
            quality[f3164] = q
    fexact = (form == "5424") | (form == "iso")
    if fexact.any():
        raw_ts = hdr.loc[fexact, "ts"].astype(str)
        has_off = raw_ts.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).to_numpy(dtype=bool)
        idx_off = raw_ts.index[has_off]
        idx_naive = raw_ts.index[~has_off]
        if len(idx_off):
            ts[idx_off] = pd.to_datetime(
                raw_ts[idx_off], format="ISO8601", utc=True, errors="coerce"
            )
        if len(idx_naive):
            naive = pd.to_datetime(raw_ts[idx_naive], format="ISO8601", errors="coerce")
            loc, q = localize(naive, ctx.tz)
            ts[idx_naive] = loc
            quality[np.isin(np.arange(n), idx_naive)] = q
    bad_ts = is_event & ts.isna().to_numpy() & (reason == None)  # noqa: E711
    reason[bad_ts] = "invalid syslog timestamp"

    # --- accounting ---------------------------------------------------------------------
    quarantined = (~blank & ~has_hdr) | (is_event & (reason != None))  # noqa: E711
    reason[~blank & ~has_hdr] = "not a syslog line (RFC 3164 / RFC 5424 header expected)"
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
    kinds_s = pd.Series(kind.to_numpy(dtype=object)[sel], dtype=object)
    kinds_sel = kinds_s.to_numpy(dtype=object)
    action = kinds_s.map({k[0]: k[4][0] for k in _KINDS}).to_numpy(dtype=object)
    dicom_id = kinds_s.map({k[0]: k[4][1] for k in _KINDS}).to_numpy(dtype=object)
    dicom_type = kinds_s.map({k[0]: k[4][2] for k in _KINDS}).to_numpy(dtype=object)
    outcome = np.where(action == "login_failed", "failure", "success")
    prog_sel = prog.to_numpy(dtype=object)[sel]
    pid_sel = hdr["pid"].to_numpy(dtype=object)[sel]
    raw_label = kinds_s.map({k[0]: k[5] for k in _KINDS}).to_numpy(dtype=object)
    method = _extract(msg.iloc[sel], r"(?:^|\[ ?)(?:Accepted|Failed) (\S+)")[0].to_numpy(
        dtype=object
    )
    raw_label = np.where(pd.notna(method), raw_label + " " + method.astype(str), raw_label)
    app_session = np.where(
        np.isin(kinds_sel, _SESSION_KINDS) & pd.notna(pid_sel),
        prog_sel.astype(str) + "[" + pid_sel.astype(str) + "]",
        None,
    )
    module = pd.Series(prog_sel, dtype=object).str.upper().replace("", pd.NA).to_numpy(dtype=object)
    cols = {
        "ts": ts.to_numpy()[sel],
        "ts_quality": quality[sel],
        "host": hdr["host"].to_numpy(dtype=object)[sel],
        "src_ip": ip.to_numpy(dtype=object)[sel],
        "account": user.to_numpy(dtype=object)[sel],
        "module": module,
        "action": action,
        "action_raw": raw_label,
        "dicom_event_id": dicom_id,
        "dicom_event_type": dicom_type,
        "outcome": outcome,
        "app_session": app_session,
        "detail": msg.to_numpy(dtype=object)[sel],
        "message_id": (ctx.source_file + ":" + pd.Series(line_no[sel]).astype(str)).to_numpy(),
        "source_line": line_no[sel],
    }
    times = rep[sel]
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
        truncated=truncated,
        truncation_note=note,
        lab=ctx.lab,
    )


register_reader(
    ReaderSpec(
        name=FORMAT,
        sniff=sniff_syslog,
        read=read_syslog,
        priority=5,
        description="syslog authentication log (RFC 3164 / RFC 5424): sshd, PAM, su, login, ftpd",
    )
)
