"""Syslog line headers: the timestamp, host and tag shapes of the ``syslog_auth`` reader,
and the lines' times (RFC 3164 years, local times, RFC 3339/5424 offsets).

The accepted shapes and their sources are listed in
:mod:`labforensics.ingest.readers.syslog`; this module holds their regexes and the
vectorised split of the lines into header fields and message.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ._common import localize
from .registry import ReadContext

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


_MONTH_NO = {m: i + 1 for i, m in enumerate(_MONTHS)}


_R5424 = (
    r"^<(?P<pri>\d{1,3})>(?P<ver>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) "
    r"(?P<procid>\S+) (?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\\"]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+)"
    r"(?: (?P<msg>.*))?$"
)


#: Timestamp (RFC 3164 variants or RFC 3339) then the rest of the line.
_RTS = (
    r"^(?:<\d{1,3}>)?(?:(?P<mon>[A-Za-z]{3}) {1,2}(?P<day>\d{1,2}) (?:(?P<yr>\d{4}) )?"
    r"(?P<time>\d\d:\d\d:\d\d)(?:\.(?P<frac>\d{1,9}))?"
    r"|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)):? "
    r"(?P<after>.*)$"
)


_FACPRI = (
    r"(?:(?:auth|authpriv|cron|daemon|ftp|kern|lpr|mail|mark|news|security|syslog|user|uucp"
    r"|local[0-7])\.(?:alert|crit|debug|emerg|err|error|info|none|notice|panic|warn|warning)"
    r"|<\d{1,3}>)"
)


_SEVERITY = r"(?:EMERG|ALERT|CRIT|ERR|WARNING|NOTICE|INFO|DEBUG)"


_TAGWORD = r"[^\s\[\]:()<>]+(?:\([^)\s]*\))?(?:\[\d+\])?(?: ?<[^<>\s]*>)?"


#: What follows the timestamp: optional FreeBSD ``<f.p>``, then host / fac.prio / tag.
_RAFTER = (
    r"^(?:<(?P<vpri>[^<>\s]+)> )?(?:"
    r"(?P<fp1>" + _FACPRI + r") (?P<r1>.*)"
    r"|" + _SEVERITY + r" (?P<r2>" + _TAGWORD + r":(?: .*)?)"
    r"|(?P<r3>" + _TAGWORD + r":(?: .*)?)"
    r"|(?P<host>\S+) (?:" + _FACPRI + r" )?(?P<r4>.*))$"
)


_TAG = (
    r"^(?P<prog>[^\s\[\]:()<>]+)(?:\((?P<sub>[^)]*)\))?(?:\[(?P<pid>\d+)\])?"
    r"(?: ?<[^<>\s]*>)?(?::(?: ?(?P<msg>.*))?|(?<=\]) (?P<msg2>.*))$"
)


#: the whole header in one pass: timestamp, then what follows it
_RHEAD = _RTS.replace("(?P<after>.*)$", _RAFTER.removeprefix("^"))


_HEADERS = (re.compile(_RTS), re.compile(_R5424))


def _extract(s: pd.Series, rx: str) -> pd.DataFrame:
    """``Series.str.extract`` with one column per group, object dtype (missing: NaN/None)."""
    return s.astype(object).str.extract(rx, expand=True)


def _empty_str(n: int) -> pd.Series:
    return pd.Series([pd.NA] * n, dtype=object)


def _parse_headers(s: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split each line into header fields.

    Returns
    -------
    hdr : DataFrame
        ``form`` (``5424``, ``3164`` or ``iso``; missing: no header), ``ts`` (RFC
        5424/3339 text), ``host``, ``prog``, ``pid``, ``msg``, ``_pam_sub`` (bool:
        the old ``prog(pam_unix)[pid]`` tag).
    t3164 : DataFrame
        ``mon`` (float month number), ``day``, ``yr``, ``time``, ``frac`` of RFC 3164 lines.
    """
    idx = s.index
    hdr = pd.DataFrame(
        index=idx, columns=["form", "ts", "host", "prog", "pid", "msg"], dtype=object
    )
    hdr["_pam_sub"] = False
    t3164 = pd.DataFrame(index=idx, columns=["mon", "day", "yr", "time", "frac"], dtype=object)
    if not len(s):
        return hdr, t3164
    lt = s.str.startswith("<").to_numpy(dtype=bool)  # RFC 5424 starts with <PRI>
    m5 = _extract(s[lt], _R5424).reindex(idx)
    ok5 = m5["pri"].notna().to_numpy(dtype=bool)
    hdr.loc[ok5, "form"] = "5424"
    hdr.loc[ok5, "ts"] = m5.loc[ok5, "ts"]
    hdr.loc[ok5, "host"] = m5.loc[ok5, "host"]
    hdr.loc[ok5, "prog"] = m5.loc[ok5, "app"].where(m5.loc[ok5, "app"] != "-")
    hdr.loc[ok5, "pid"] = m5.loc[ok5, "procid"].where(m5.loc[ok5, "procid"] != "-")
    hdr.loc[ok5, "msg"] = m5.loc[ok5, "msg"].fillna("").str.removeprefix("\ufeff")

    mt = _extract(s[~ok5], _RHEAD)
    mon = mt["mon"].str.lower().map(_MONTH_NO)
    is3164 = mt["mon"].notna() & mon.notna()
    isiso = mt["iso"].notna()
    ma = mt[(is3164 | isiso).to_numpy(dtype=bool)]
    ok = ma.index[
        (ma["r1"].notna() | ma["r2"].notna() | ma["r3"].notna() | ma["r4"].notna()).to_numpy(
            dtype=bool
        )
    ]
    rest = ma.loc[ok, "r1"].fillna(ma.loc[ok, "r2"]).fillna(ma.loc[ok, "r3"])
    rest = rest.fillna(ma.loc[ok, "r4"])
    i3 = ok[is3164[ok].to_numpy(dtype=bool)]
    ii = ok[~is3164[ok].to_numpy(dtype=bool)]
    hdr.loc[i3, "form"] = "3164"
    hdr.loc[ii, "form"] = "iso"
    hdr.loc[ii, "ts"] = mt.loc[ii, "iso"]
    hdr.loc[ok, "host"] = ma.loc[ok, "host"]
    t3164.loc[i3, "mon"] = mon[i3]
    for c in ("day", "yr", "time", "frac"):
        t3164.loc[i3, c] = mt.loc[i3, c]
    if len(ok):
        tag = _extract(rest, _TAG)
        hdr.loc[tag.index, "prog"] = tag["prog"]
        hdr.loc[tag.index, "pid"] = tag["pid"]
        body = tag["msg"].fillna(tag["msg2"]).fillna("")
        body = body.where(tag["prog"].notna(), rest)
        # a Solaris message id "[ID 800047 auth.info] " is not part of the message
        body = body.astype(str).str.replace(_SOLARIS_ID, "", n=1, regex=True)
        hdr.loc[tag.index, "msg"] = body
        # "sshd(pam_unix)[pid]: msg" (old Linux-PAM): a PAM message of program sshd
        hdr.loc[tag.index, "_pam_sub"] = tag["sub"].fillna("").str.startswith("pam_").to_numpy()
    return hdr, t3164


_SOLARIS_ID = r"^\[ID \d+ [\w.]+\] "


#: Quarantine reason of an RFC 3164 line read without ``ctx.year``.
YEAR_REASON = "RFC 3164 line without year: give its year (--year YYYY; year=YYYY in Python)"


def _timestamps(
    hdr: pd.DataFrame, t3164: pd.DataFrame, ctx: ReadContext, is_event: np.ndarray
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """UTC time, ``ts_quality`` and quarantine reason (None: fine) of each line.

    RFC 3164 lines without a year take ``ctx.year``, plus one at each turn of the
    year (the month going back by more than six); local times through ``ctx.tz``.
    """
    n = len(hdr)
    index = hdr.index
    form = hdr["form"].to_numpy(dtype=object)
    ts = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    quality = np.full(n, "exact", dtype=object)
    reason = np.full(n, None, dtype=object)
    f3164 = form == "3164"
    if f3164.any():
        yr_written = t3164["yr"].notna().to_numpy(dtype=bool)
        yearless = f3164 & ~yr_written
        years = pd.Series(np.nan, index=index)
        years[f3164 & yr_written] = t3164.loc[f3164 & yr_written, "yr"].astype(float)
        if yearless.any():
            if ctx.year is None:
                reason[yearless & is_event] = YEAR_REASON
            else:
                months = t3164.loc[yearless, "mon"].to_numpy(dtype=float)
                step = np.concatenate([[0], (np.diff(months) < -6).astype(np.int64)])
                years[yearless] = int(ctx.year) + np.cumsum(step)
        has_year = f3164 & years.notna().to_numpy()
        if has_year.any():
            t = t3164.loc[has_year]
            frac = t["frac"].fillna("")
            txt = (
                years[has_year].astype(int).astype(str)
                + "-"
                + t["mon"].astype(int).astype(str).str.zfill(2)
                + "-"
                + t["day"].astype(str).str.zfill(2)
                + "T"
                + t["time"].astype(str)
                + frac.where(frac == "", "." + frac)
            )
            naive = pd.to_datetime(txt, format="ISO8601", errors="coerce")
            loc, q = localize(naive, ctx.tz)
            ts[has_year] = loc
            quality[has_year] = q
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

    return ts, quality, reason
