"""The FTP server's transfer log (``xferlog``, wu-ftpd / ProFTPD format).

Not an audit-event source: transfers are not account actions in the LIS, so this
module registers no reader for :func:`labforensics.read_evidence`. It gives
:func:`read_transfers`, whose table :func:`labforensics.attribute` joins to
the extractions that wrote the transferred files (by file base name).

Line format (xferlog(5), wu-ftpd and ProFTPD manual pages), fields separated by
spaces::

    current-time transfer-time remote-host file-size filename transfer-type
    special-action-flag direction access-mode username service-name
    authentication-method authenticated-user-id completion-status

``current-time`` is ``DDD MMM dd hh:mm:ss YYYY`` in the server's **local** time,
written when the line is logged, i.e. when the transfer **ends**: ``ts`` is
that instant, and ``start = ts - transfer_time`` seconds. Local time goes
through :func:`labforensics.ingest.clock.localize` (file order resolves a
fall-back hour; ``ts_quality`` says how each was read).

Splitting: the first five tokens are the date, then transfer time, remote host
and size; the **file name is everything up to the last nine fields** (eight when
the optional completion status is absent, as in old wu-ftpd logs). ProFTPD
replaces spaces in file names by ``_``; wu-ftpd writes them as they are, so a
name with spaces is read whole as long as the nine trailing fields are well
formed. A line that does not match is quarantined with its line and reason.

Identities are compared in canonical form (:mod:`labforensics.identity`):
``remote_host`` is a canonical address (``::ffff:a.b.c.d`` read as the IPv4
address) or a lower-case host name, ``user`` is NFC; ``remote_host_raw`` and
``user_raw`` keep them as written (an anonymous or guest user's e-mail redacted in both).

Privacy: for anonymous (``a``) and guest (``g``) access the user name is the
identification string the client gave, usually an e-mail address, and any user written
as an e-mail address is personal data too: each is redacted
(:func:`labforensics.privacy.redact_identifiers`: ``[EMAIL]``), or, when a case
key is given, replaced by a keyed pseudonym ``EMAIL-<12 hex>`` so that the
downloads of one address stay linked. Quarantined raw lines are redacted too.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .case import CaseContext, case_key_of, resolve_fact
from .errors import ParameterError
from .identity import canonical_account, canonical_peer
from .ingest._common import cap_text, localize, read_bytes, split_lines
from .ingest._lis_encoding import decode_utf8_accounted
from .ingest.accounting import QUARANTINE_COLUMNS, FileReport
from .ingest.clock import LINE_ORDERS, line_order
from .privacy import CaseKey, account_email_id, load_case_key, redact_identifiers
from .schema import STRING, TS_QUALITY_DTYPE

__all__ = ["TRANSFER_COLUMNS", "Transfers", "read_transfers"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LINE = re.compile(
    r"^(?P<dow>[A-Z][a-z]{2}) (?P<mon>" + "|".join(_MONTHS) + r") +(?P<day>\d{1,2}) "
    r"(?P<time>\d\d:\d\d:\d\d) (?P<year>\d{4}) +(?P<tt>\d{1,12}) (?P<host>\S+) "
    r"(?P<bytes>\d{1,18}) (?P<file>.+) (?P<ttype>[ab]) (?P<sact>[CUT_]+) (?P<dir>[oid]) "
    r"(?P<amode>[arg]) (?P<user>\S*) (?P<service>\S+) (?P<auth>[01]) (?P<authid>\S+)"
    r"(?: (?P<compl>[ci]))?\s*$"
)
_DIRECTION = {"o": "download", "i": "upload", "d": "delete"}
_PROBLEM_COLUMNS = ("source_file", "source_line", "column", "value", "problem")

#: Column -> dtype of :attr:`Transfers.transfers`.
TRANSFER_COLUMNS: dict[str, object] = {
    "ts": pd.DatetimeTZDtype(unit="ns", tz="UTC"),  # end of the transfer (logged time)
    "start": pd.DatetimeTZDtype(unit="ns", tz="UTC"),  # ts - transfer_time_s
    "ts_quality": TS_QUALITY_DTYPE,
    "transfer_time_s": pd.Int64Dtype(),  # seconds
    "remote_host": STRING,  # canonical (labforensics.identity.canonical_peer)
    "remote_host_raw": STRING,  # as written
    "bytes": pd.Int64Dtype(),  # bytes
    "file_name": STRING,
    "file_base": STRING,
    "transfer_type": STRING,  # a ascii, b binary
    "special_action": STRING,  # C compressed, U uncompressed, T tar'ed, _ none
    "direction": STRING,  # download (o), upload (i), delete (d)
    "access_mode": STRING,  # a anonymous, r real, g guest
    "user": STRING,  # canonical (NFC); anonymous: redacted
    "user_raw": STRING,  # as written; anonymous: redacted
    "service": STRING,
    "auth_method": STRING,  # 0 none, 1 RFC 931
    "auth_user_id": STRING,  # missing when written "*"
    "completion": STRING,  # c complete, i incomplete; missing in 13-field lines
    "source_file": STRING,
    "source_line": pd.Int64Dtype(),
}


@dataclass
class Transfers:
    """The transfers of one xferlog file.

    Attributes
    ----------
    transfers : pandas.DataFrame
        One row per transfer, in file order; columns and dtypes of
        :data:`TRANSFER_COLUMNS`.
    report : FileReport
        Accounting (``rows_read`` = ``events`` (transfers) + ``ignored`` (blank
        lines) + ``quarantined``), with the file's size and SHA-256, and its
        ``line_order`` (``reversed``: written newest first, its fall-back hour read
        bottom-up); ``rows_recoded`` counts the lines read as cp1252 (not UTF-8),
        ``replacement_chars`` the bytes neither reads (U+FFFD and their hex),
        ``encoding_note`` names their lines and
        ``field_problems`` counts those lines.
    quarantine : pandas.DataFrame
        ``source_file``, ``source_line``, ``reason``, ``raw`` (redacted).
    field_problems : pandas.DataFrame
        One row per line holding undecodable bytes (its transfer, if the line is one,
        is kept with the text as read): ``source_file``, ``source_line`` (Int64),
        ``column`` (``line``), ``value`` (``""``: the line may name a patient's file),
        ``problem``; as ``field_problems.csv``.
    """

    transfers: pd.DataFrame
    report: FileReport
    quarantine: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(QUARANTINE_COLUMNS))
    )
    field_problems: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(_PROBLEM_COLUMNS))
    )


def _user_redactor(key: CaseKey | None):
    def one(u: str) -> str:
        if not u:
            return u
        if key is None:
            return redact_identifiers(u)
        if "@" in u:
            return account_email_id(key, u)
        return redact_identifiers(u)

    return one


def read_transfers(
    path: str | os.PathLike[str],
    tz: str | None = None,
    case_key: CaseKey | bytes | str | os.PathLike[str] | None = None,
    *,
    source_file: str | None = None,
    case: CaseContext | None = None,
) -> Transfers:
    """Read an xferlog file into a table of transfers.

    Parameters
    ----------
    path : path-like
        The xferlog (gzip undone).
    tz : str, optional
        IANA zone of the server's clock: the case's zone for it (``case.transfers_tz``,
        else ``case.tz``), else :data:`labforensics.case.DEFAULT_TZ`.
    case_key : CaseKey, bytes, hex str or key-file path, optional
        When given, anonymous users' e-mail addresses become keyed pseudonyms
        (``EMAIL-<12 hex>``); otherwise they are redacted to ``[EMAIL]``. No
        random key is drawn (no warning): without a key, redaction is enough.
    source_file : str, optional
        Name recorded in ``source_file`` (default: the file name).
    case : CaseContext, optional
        The case's facts (``tz`` where the keyword is not given; a keyword that
        contradicts it is refused).

    Returns
    -------
    Transfers

    Raises
    ------
    EvidenceError
        When the file cannot be read.
    ParameterError
        When ``tz`` is not an IANA zone, or contradicts ``case``.
    """
    if case is not None and case.transfers_tz is not None:  # the server's own zone
        if tz not in (None, case.transfers_tz):
            raise ParameterError(f"read_transfers: tz={tz!r} contradicts "
                                 f"case.transfers_tz={case.transfers_tz!r}; give one of them")  # fmt: skip
        tz = case.transfers_tz
    else:
        tz = resolve_fact("tz", tz, case, "read_transfers")
    p = Path(path)
    zone = _zone(tz)
    case_key = case_key_of(case_key, case)
    key = load_case_key(case_key, warn=False) if case_key is not None else None
    name = source_file or p.name
    data, truncated, note, utf16 = read_bytes(p)
    with open(p, "rb") as fh:
        raw_file = fh.read()
    # bytes that are not UTF-8 (or UTF-16) read as U+FFFD, counted and named by line
    text, n_rec, n_rep, enc_note, enc_problems = decode_utf8_accounted(data, utf16)
    lines, ends_nl = split_lines(text)
    n = len(lines)
    m, blank, ok, reason = _match_lines(lines)
    ok_idx, naive = _parse_dates(m, ok, reason)
    df = _transfer_frame(m.iloc[ok_idx], naive, zone, key, name, ok_idx)
    quarantine = _quarantine(lines, reason, name)
    if n and not ends_nl and reason[-1] is not None:
        truncated, note = True, note or f"last line {n} has no line end and does not parse"
    report = FileReport(
        source_file=name,
        path=str(p),
        format="xferlog",
        size=len(raw_file),
        sha256=hashlib.sha256(raw_file).hexdigest(),
        rows_read=n,
        events=len(df),
        events_out=len(df),
        ignored=int(blank.sum()),
        quarantined=len(quarantine),
        field_problems=len(enc_problems),
        truncated=truncated,
        truncation_note=note,
        rows_recoded=n_rec,
        replacement_chars=n_rep,
        encoding_note=enc_note,
    )
    _set_line_order(report, df)
    report.check()
    problems = pd.DataFrame(
        [(name, p.line, p.column, p.value, p.problem) for p in enc_problems],
        columns=list(_PROBLEM_COLUMNS),
    ).astype({"source_file": STRING, "source_line": pd.Int64Dtype(), "column": STRING,
              "value": STRING, "problem": STRING})  # fmt: skip
    return Transfers(transfers=df, report=report, quarantine=quarantine, field_problems=problems)


def _zone(tz: str) -> ZoneInfo:
    """The server's time zone, or a ParameterError naming a valid form."""
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError, OSError) as exc:
        raise ParameterError(
            f"tz={tz!r} is not an IANA time zone; use a tz database name such as 'America/New_York'"
        ) from exc


def _match_lines(lines: list[str]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Fields of every line (``_LINE``), blank and matched masks, a reason per refused line."""
    n = len(lines)
    s = pd.Series(lines, dtype=object)
    blank = s.str.strip().eq("").to_numpy(dtype=bool) if n else np.zeros(0, bool)
    m = s.str.extract(_LINE) if n else pd.DataFrame(columns=list(_LINE.groupindex))
    ok = m["mon"].notna().to_numpy(dtype=bool) & ~blank if n else np.zeros(0, bool)
    reason = np.full(n, None, dtype=object)
    reason[~ok & ~blank] = "not an xferlog line (14 or 13 space-separated fields expected)"
    return m, blank, ok, reason


def _parse_dates(
    m: pd.DataFrame, ok: np.ndarray, reason: np.ndarray
) -> tuple[np.ndarray, pd.Series]:
    """Positions of the lines kept and their naive local times; marks invalid dates in ``reason``."""
    mo = m[ok]
    txt = (
        mo["year"]
        + "-"
        + mo["mon"].map({k: f"{i + 1:02d}" for i, k in enumerate(_MONTHS)})
        + "-"
        + mo["day"].str.zfill(2)
        + " "
        + mo["time"]
    )
    naive = pd.to_datetime(txt, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    bad_date = naive.isna().to_numpy()
    reason[np.flatnonzero(ok)[bad_date]] = "invalid date"
    return np.flatnonzero(ok)[~bad_date], naive[~bad_date]


def _identities(
    mo: pd.DataFrame, key: CaseKey | None
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """``user``, ``user_raw``, ``remote_host``, ``remote_host_raw``; anonymous and guest
    users, and users written as e-mail addresses, redacted (or keyed)."""
    redact_user = _user_redactor(key)
    user_raw = mo["user"].astype(object)
    # identities compared as the same thing: NFC accounts, canonical addresses and
    # host names (one call per distinct value)
    user = user_raw.map({u: canonical_account(u) for u in pd.unique(user_raw)})
    host_raw = mo["host"].astype(object)
    host = host_raw.map({h: canonical_peer(h) for h in pd.unique(host_raw)})
    # anonymous and guest logins give an identification string (usually an e-mail
    # address) as the user; any user written as an e-mail address is one too (QA
    # session 20: a guest's address reached the report)
    anon = (mo["amode"].isin(["a", "g"]).to_numpy(dtype=bool)
            | user_raw.astype(str).str.contains("@", regex=False).to_numpy(dtype=bool))  # fmt: skip
    if anon.any():
        uniq = pd.unique(pd.concat([user[anon], user_raw[anon]]))
        table = {u: redact_user(u) for u in uniq}
        user = user.where(~anon, user.map(table))
        user_raw = user_raw.where(~anon, user_raw.map(table))
    return user, user_raw, host, host_raw


def _transfer_frame(
    mo: pd.DataFrame,
    naive: pd.Series,
    zone: ZoneInfo,
    key: CaseKey | None,
    name: str,
    ok_idx: np.ndarray,
) -> pd.DataFrame:
    """The table of transfers (:data:`TRANSFER_COLUMNS`) from the fields of the lines kept."""
    ts, quality = localize(naive, zone)
    tt = pd.to_numeric(mo["tt"]).astype("Int64")
    user, user_raw, host, host_raw = _identities(mo, key)
    file_name = mo["file"].astype(object)
    df = pd.DataFrame(
        {
            "ts": ts.to_numpy(),
            "start": (ts - pd.to_timedelta(tt.astype("float64"), unit="s")).to_numpy(),
            "ts_quality": quality,
            "transfer_time_s": tt.to_numpy(),
            "remote_host": host.to_numpy(),
            "remote_host_raw": host_raw.to_numpy(),
            "bytes": pd.to_numeric(mo["bytes"]).astype("Int64").to_numpy(),
            "file_name": file_name.to_numpy(),
            "file_base": file_name.str.split(r"[/\\]", regex=True).str[-1].to_numpy(),
            "transfer_type": mo["ttype"].to_numpy(),
            "special_action": mo["sact"].to_numpy(),
            "direction": mo["dir"].map(_DIRECTION).to_numpy(),
            "access_mode": mo["amode"].to_numpy(),
            "user": user.to_numpy(),
            "user_raw": user_raw.to_numpy(),
            "service": mo["service"].to_numpy(),
            "auth_method": mo["auth"].to_numpy(),
            "auth_user_id": mo["authid"].where(mo["authid"] != "*").to_numpy(),
            "completion": mo["compl"].to_numpy(),
            "source_file": name,
            "source_line": ok_idx + 1,
        }
    )
    return pd.DataFrame({c: df[c].astype(d) for c, d in TRANSFER_COLUMNS.items()})


def _quarantine(lines: list[str], reason: np.ndarray, name: str) -> pd.DataFrame:
    """The refused lines with their reason, raw text capped and redacted."""
    q_idx = np.flatnonzero(reason != None)  # noqa: E711
    return pd.DataFrame(
        {
            "source_file": pd.Series([name] * len(q_idx), dtype=STRING),
            "source_line": pd.Series(q_idx + 1, dtype=pd.Int64Dtype()),
            "reason": pd.Series(reason[q_idx], dtype=STRING),
            "raw": pd.Series([redact_identifiers(cap_text(lines[i])) for i in q_idx], dtype=STRING),
        }
    )


def _set_line_order(report: FileReport, df: pd.DataFrame) -> None:
    """Record in ``report`` whether the file was written oldest or newest first."""
    # line order (clock.line_order on the exact times): a log written newest first had its
    # fall-back hour resolved bottom-up by the clock; the table stays in file order
    exact = (df["ts_quality"] == "exact").to_numpy(dtype=bool)
    order = int(
        line_order(df["ts"].to_numpy(dtype="datetime64[ns]").view("int64"), use=exact, n_files=1)[0]
    )
    report.line_order = LINE_ORDERS[order]
    report.reversed = order == 1
