"""Field problems found on the assembled events, whatever their format (QA session 9).

The readers flag what they see in their own fields (the LIS dialects: a year before
1990 or after 2100). Three faults are of every format and are checked here, once, on
the canonical events:

- an event dated after the analysis: no log can record what has not happened yet.
  A server clock set years ahead, a day-first date read month-first, a test row
  left in a production log (QA: ``2099-01-01`` passed, and the report said "logs
  cover 1970-01-01 to 2099-01-01"). The analysis moment is when the evidence is
  read (UTC); a file's modification time is not used (a copy's mtime is not
  evidence, the same decision as for the syslog year);
- an LIS event without an account (the user column of an audit row left empty):
  it is kept, but no session, detector or pathway can attribute it to anyone. Only
  the LIS dialects (``lis_*``): a syslog or FHIR event without a user is the norm
  (a connection closed, a disconnection: 1,407 of the 6,309 events of the real
  auth logs), not a fault of the line;
- a source address (``src_ip``) that is no IPv4 or IPv6 literal (``=1+1`` in an LIS
  address column, a host name in syslog's ``rhost=``): kept as written, so it is not
  placed in any network (QA session 12);
- a spring-forward time (``nonexistent_shifted``) whose winter-offset reading falls
  after later lines of its file (:mod:`._shift_checks`, QA session 13).

Each is a field problem (``source_file``, ``source_line``, ``column``, ``value``,
``problem``): the event is kept. One per line of the evidence (a line naming
several patients gives several events).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ._common import is_ip
from ._shift_checks import shifted_out_of_order
from .accounting import FUTURE_PREFIX, FileReport

__all__ = ["FUTURE_PROBLEM", "NO_ACCOUNT_PROBLEM", "analysis_now", "event_problems"]

#: How the problem of an event dated after the analysis starts.
#: The problem of an event dated after the analysis. The analysis day is not in it (it
#: is in ``manifest.json``): a re-run another day writes the same bytes.
FUTURE_PROBLEM = FUTURE_PREFIX + ": in the future of the analysis; event kept"
#: The problem of an event whose account is empty.
NO_ACCOUNT_PROBLEM = "no account: the event is kept, attributed to no account"
#: A source address that is not an IPv4 or IPv6 literal (kept as written).
NOT_IP_PROBLEM = "not an IP address: kept as written, never matched to a network"


def analysis_now() -> pd.Timestamp:
    """The analysis moment: now, UTC (a function, so that a test can fix it)."""
    return pd.Timestamp.now(tz="UTC")


def _lines(events: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """The (source_file, source_line) of the masked events, one row per line."""
    sub = events.loc[mask.fillna(False).to_numpy(bool), ["source_file", "source_line"]]
    return sub.drop_duplicates()


def event_problems(
    events: pd.DataFrame,
    files: Sequence[FileReport],
    known: Sequence[Mapping[str, object]] = (),
    now: pd.Timestamp | None = None,
) -> list[dict[str, object]]:
    """Field problems of the canonical events: dated after ``now``, without an account.

    Parameters
    ----------
    events : pandas.DataFrame
        The canonical events (``ts`` datetime64[ns, UTC], ``account``,
        ``source_format``, ``source_file``, ``source_line``).
    files : sequence of FileReport
        The per-file accounting; each file's ``field_problems`` count grows by the
        problems found in it.
    known : sequence of dict
        The readers' field problems (rows as in :func:`field_problem_table`); a line
        already flagged on ``ts`` (an implausible year) is not flagged again as dated
        after the analysis.
    now : pandas.Timestamp, optional
        The analysis moment (default :func:`analysis_now`).

    Returns
    -------
    list of dict
        ``source_file``, ``source_line``, ``column`` (``ts`` or ``account``),
        ``value`` (the time in ISO 8601 UTC; ``""`` for an empty account: never an
        identifier), ``problem`` (:data:`FUTURE_PROBLEM`, :data:`NO_ACCOUNT_PROBLEM`).
    """
    if not len(events):
        return []
    now = analysis_now() if now is None else now
    rows: list[dict[str, object]] = []
    ts_flagged = {(p["source_file"], p["source_line"]) for p in known if p.get("column") == "ts"}
    late = events["ts"] > now
    if bool(late.any()):
        sub = events.loc[late.fillna(False).to_numpy(bool), ["source_file", "source_line", "ts"]]
        for f, line, ts in sub.drop_duplicates(["source_file", "source_line"]).itertuples(
            index=False
        ):
            if (f, line) not in ts_flagged:
                rows.append({"source_file": f, "source_line": line, "column": "ts",
                             "value": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "problem": FUTURE_PROBLEM})  # fmt: skip
    if "account" in events.columns and "source_format" in events.columns:
        # vectorised on the Arrow strings (no copy per row: 33 M events): an empty or
        # blank account (accounts are stripped when read: blank is empty)
        acc = events["account"]
        empty = (acc.isna() | (acc == "")).fillna(True)
        if bool(empty.any()):
            empty &= events["source_format"].str.startswith("lis_").fillna(False)
        for f, line in _lines(events, empty).itertuples(index=False):
            rows.append({"source_file": f, "source_line": line, "column": "account",
                         "value": "", "problem": NO_ACCOUNT_PROBLEM})  # fmt: skip
    if "src_ip" in events.columns:
        # a source address that is no IP literal (QA session 12: "=1+1" ranked as a
        # source address without a word): kept as written, named; checked once per
        # distinct value, so the cost is the column's distinct values, not its events
        ip = events["src_ip"]
        vals = pd.Series(ip.dropna().unique())
        bad_vals = set(vals[~vals.map(lambda v: is_ip(str(v)))].tolist()) if len(vals) else set()
        if bad_vals:
            bad = ip.isin(bad_vals).fillna(False)
            sub = events.loc[bad.to_numpy(bool), ["source_file", "source_line", "src_ip"]]
            for f, line, v in sub.drop_duplicates(["source_file", "source_line"]).itertuples(
                index=False
            ):
                rows.append({"source_file": f, "source_line": line, "column": "src_ip",
                             "value": str(v), "problem": NOT_IP_PROBLEM})  # fmt: skip
    # a spring-forward time read with the winter offset after later lines (QA session 13)
    rows += shifted_out_of_order(events)
    if rows:
        per_file = pd.Series([r["source_file"] for r in rows]).value_counts()
        for fr in files:
            fr.field_problems += int(per_file.get(fr.source_file, 0))
    return rows
