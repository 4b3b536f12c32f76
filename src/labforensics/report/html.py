"""The self-contained HTML report: Jinja2 with autoescape on, figures embedded.

``report.html`` needs no network access: its CSS is inline, it has no script, and
its figures are PNG images embedded as ``data:`` URIs. Every text that comes
from the evidence (accounts, hosts, free text) goes through Jinja2's
autoescaping, so ``<img src=x onerror=...>`` shows as text, and control characters
show as escapes (``\\x1b``, :func:`labforensics._terminal.visible_value`).

The report reads top-down like an expert's report:

1. the question and the answer (verdict, strength, stability);
2. the evidence received and its integrity (hashes, accounting, quarantine, gaps);
3. timelines (outbound records per lab and month, flagged sessions, migrations);
4. the top sessions, their reasons and their evidence rows (pseudonymised);
5. the leak reconciliation (per-lab coverage, windows, pathways, transfers);
6. the hypotheses side by side;
7. method, parameters and how to reproduce.

Times are shown in the case's local time zone with UTC beside.
"""

from __future__ import annotations

import datetime as dt
import html as _html
import os
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..authorisation.summary import exports_view
from ..case import DEFAULT_TZ
from ..case_events import CaseEvents
from ..outputs import json_safe
from ..scored_labs import ScoredLabs, column
from . import figures, tables
from .as_logged import RAW_TWINS, as_logged, session_title
from .campaigns import campaigns_view, flagged_sessions
from .encoding_notes import encoding_files
from .field_notes import copies_note, quarantine_origins
from .identity_view import install_identity, report_visible
from .leak_tables import (
    coverage_rows,
    hypotheses_ctx,
    inputs_rows,
    not_weighed,
    pathway_note,
    transfer_notes,
    window_note,
    window_rows,
)
from .leak_view import (
    leak_linkage_view,
)
from .numbers import (
    COMPOSED_MAX_CHARS,
    Composed,
    _num,
    pct,
)
from .summary import GLOSSARY, glossary_anchor, summary_view, takeovers
from .words import COLUMN_WORDS, EXTRA_GLOSSARY, coded, in_words, pathway_words, reason_html

__all__ = ["ReportData", "render_report", "write_report"]

#: Columns of the evidence rows shown under each top session.
EVIDENCE_ROW_COLUMNS = ("ts", "action", "action_raw", "module", "host", "src_ip", "patient",
                        "records", "bytes", "detail", "source_file", "source_line")  # fmt: skip
#: Evidence-row columns shown under another name than the same column of other tables.
EVIDENCE_ROW_NAMES = {"records": "event_records"}
#: Evidence rows shown per top session (the rest are in events.parquet).
MAX_EVIDENCE_ROWS = 25
#: Longest text shown whole in the report, in characters: a longer value (a free-text
#: field of the evidence can hold megabytes) is cut there and says how many characters
#: were left out. The output tables (events.parquet, quarantine.csv) keep the value whole.
MAX_TEXT_CHARS = 1000


#: What the report prints for a missing value (None, NaN, NaT, pd.NA): never the
#: Python words "None", "nan" or "NaT" (a reader takes them for data).
MISSING = "—"


def blank(value: Any) -> Any:
    """``value``, or :data:`MISSING` when it is None, NaN, NaT or ``pd.NA``.

    Parameters
    ----------
    value : object
        Anything a template prints.

    Returns
    -------
    object
        :data:`MISSING` for a missing scalar; every other value unchanged.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, float | np.floating) and value != value:
        return MISSING
    return value


def as_printed(value: Any) -> Any:
    """A count or a list as a reader reads it, for a value a template prints as it is.

    Parameters
    ----------
    value : object
        Anything a template prints.

    Returns
    -------
    object
        An integer (not a boolean) with comma thousands separators (``1200`` ->
        ``"1,200"``); a list or tuple as its items joined by ", " (never Python's
        ``['a', 'b']``), each item so printed; every other value unchanged.
    """
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return f"{int(value):,}"
    if isinstance(value, list | tuple):
        return ", ".join(str(blank(as_printed(v))) for v in value)
    return value


def clip_text(value: Any, limit: int = MAX_TEXT_CHARS) -> Any:
    """A text cut to ``limit`` characters with the count left out; other values unchanged.

    Markup built by the templates (tables, figures' ``data:`` URIs) is never cut: only
    plain strings are, which is what a value from the evidence is.

    Parameters
    ----------
    value : object
        Anything a template prints.
    limit : int
        Characters kept.

    Returns
    -------
    object
        ``value``, or for a ``str`` longer than ``limit`` (not :class:`Markup`, not a
        ``data:image/`` URI) its first ``limit`` characters followed by
        ``" … [N characters left out]"``.
    """
    if isinstance(value, Composed):  # our own sentence: a far larger bound
        limit = max(limit, COMPOSED_MAX_CHARS)
    if (
        isinstance(value, str)
        and not isinstance(value, Markup)
        and len(value) > limit
        and not value.startswith("data:image/")
    ):
        return f"{value[:limit]} … [{len(value) - limit:,} characters left out]"
    return value


@dataclass
class ReportData:
    """Everything the report shows (all of it already pseudonymised).

    Attributes
    ----------
    findings : dict
        The content of ``findings.json`` (JSON-safe): ``verdict``, ``hypotheses``,
        ``windows``, ``pathways``, ``transfers``, ``coverage``, ``top_sessions``,
        ``accounting``, ``migrations``, ``gaps``, ``inputs``, ``parameters``.
    events : pandas.DataFrame or CaseEvents
        Canonical events, with ``session_id`` when sessionized: the whole table, or the
        case's events held lab by lab
        (:class:`~labforensics.case_events.CaseEvents`: the report then reads one
        lab at a time, and only the outbound events and the rows of the sessions it
        shows; the same report either way).
    sessions : pandas.DataFrame or labforensics.session_labs.SlimLabs (a file a lab)
        Session table.
    quarantine : pandas.DataFrame
        ``source_file``, ``source_line``, ``reason``, ``raw`` (redacted).
    accounting : pandas.DataFrame
        :meth:`IngestReport.to_frame` (one row per file and a TOTAL row).
    tz : str
        The case's time zone (:attr:`labforensics.CaseContext.tz`).
    title : str
        Title of the report (case name).
    session_scores : pandas.DataFrame or ScoredLabs, optional
        Every scored session (``session_id``, ``score``, ``flagged``, ``reasons`` ...), or
        kept a file a lab (:class:`~labforensics.scored_labs.ScoredLabs`: never read whole).
    extra_notes : list of str
        Paragraphs added to the method section.
    run : dict
        This run's ``command`` (list of str, the exact command line; None from
        Python) and ``date`` (ISO 8601 UTC start): shown in the report only, never
        in findings.json (which stays byte-identical across re-runs).
    """

    findings: dict[str, Any]
    events: pd.DataFrame | CaseEvents
    sessions: pd.DataFrame
    quarantine: pd.DataFrame
    accounting: pd.DataFrame
    tz: str = DEFAULT_TZ
    title: str = "Investigation"
    session_scores: pd.DataFrame | ScoredLabs | None = None
    extra_notes: list[str] = field(default_factory=list)
    #: campaigns.parquet's table, if any (or a file a lab: detect.campaign_files.CampaignFiles)
    campaigns: pd.DataFrame | Any = None
    #: :func:`labforensics.authorisation.assess_exports`'s table (the exports section)
    exports: pd.DataFrame | None = None
    run: dict[str, Any] = field(default_factory=dict)


# --- formatting -----------------------------------------------------------------------


def _to_ts(value: Any) -> pd.Timestamp | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        return ts if ts.tzinfo else ts.tz_localize("UTC")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            ts = pd.Timestamp(value)
        except ValueError:
            return None
        return ts if ts.tzinfo else ts.tz_localize("UTC")
    return None


def make_formatter(tz: str):
    """Return ``fmt(value)``: local time with UTC beside for instants, plain text otherwise."""

    def when(value: Any, seconds: bool = True) -> str:
        ts = _to_ts(value)
        if ts is None:
            return "" if value is None else str(value)
        local = ts.tz_convert(tz)
        utc = ts.tz_convert("UTC")
        f = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
        g = "%H:%M:%S" if seconds else "%H:%M"
        same_day = local.date() == utc.date()
        u = utc.strftime(g) if same_day else utc.strftime(f)
        return f"{local.strftime(f)} {local.tzname()} ({u} UTC)"

    return when


def _cell(value: Any) -> Any:
    """A value for a generic table cell (lists joined, floats rounded, None blank)."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        if value != value:  # NaN
            return ""
        value = float(value)
        # one number format in the report and the CLI: comma thousands separator
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(str(_cell(v)) for v in value)
    return value


def _attr(value: Any) -> Markup:
    """Escape a value for an HTML attribute (``"`` as ``&quot;``, ``'`` as ``&#x27;``)."""
    return Markup(_html.escape("" if value is None else str(clip_text(_cell(value))), quote=True))


def _columns(rows: Sequence[Mapping[str, Any]], prefer: Iterable[str] = ()) -> list[str]:
    cols: list[str] = [c for c in prefer if any(c in r for r in rows)]
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def _pick(rows: Sequence[Mapping[str, Any]], wanted: Sequence[str]) -> list[str]:
    """The wanted columns that the rows have (all columns when none of them)."""
    got = [c for c in wanted if any(c in r for r in rows)]
    return got or _columns(rows)


#: Columns shown in the report for the attribution's tables (findings.json has them all).
WINDOW_COLUMNS = ("lab", "n_patients", "n_leaked", "leaked_share", "copy_after", "copy_before",
                  "first_seen_after", "first_seen_before", "confidence")  # fmt: skip
#: Labs named in a table cell before the rest are counted ("L01, L02, … (30 labs)").
LABS_IN_CELL = 6
PATHWAY_COLUMNS = ("pathway_id", "hypothesis", "account", "account_kind", "role", "module",
                   "network", "labs", "n_sessions", "records", "leaked_explained", "share",
                   "first", "last")  # fmt: skip
TRANSFER_COLUMNS = ("lab", "account", "extraction_ts", "file_base", "transfer_ts", "delay_h",
                    "direction", "remote_host", "network", "access_mode", "bytes", "completion",
                    "anonymous")  # fmt: skip
COVERAGE_COLUMNS = ("lab", "n_patients", "leaked_found", "leaked_share", "explained",
                    "unexplained", "explained_share", "explained_by", "conclusion")  # fmt: skip


#: Column headers in words (issue 16 item 3); a column not listed shows its name with
#: spaces. The units are in the header: h hours, s seconds.
COLUMN_LABELS = {
    "n_patients": "patients seen in the lab's logs (whole period)",
    "n_leaked": "leaked patients found in the lab's logs",
    "leaked_share": "share of the lab's patients leaked", "after": "copy taken after",
    "before": "copy taken before", "width_h": "window width (h)",
    "copy_after": "copy taken after (the conclusion's window)",
    "copy_before": "copy taken before (the conclusion's window)",
    "first_seen_after": "first-seen bound after (earlier share rule)",
    "first_seen_before": "first-seen bound before (earlier share rule)",
    "conclusion": "in the conclusion",
    "extraction": "kind of copy", "confidence": "confidence of the share rule's bounds",
    "pathway_id": "pathway", "account_kind": "account kind", "n_sessions": "sessions",
    "records": "records sent out", "leaked_explained": "leaked patients explained",
    "event_records": "records (the event's own count: found, read or sent)",
    "share": "share of the leak explained", "first": "first operation",
    "volume_share": "share of the anomalous records moved",
    "last": "last operation", "extraction_ts": "extraction time", "file_base": "file",
    "transfer_ts": "transfer time", "delay_h": "delay after extraction (h)",
    "remote_host": "remote address", "access_mode": "FTP access",
    "completion": "transfer complete", "leaked_found": "leaked lab-patient pairs found in the lab's logs",
    "explained": "leaked lab-patient pairs explained", "unexplained": "leaked lab-patient pairs unexplained",
    "explained_share": "share explained", "explained_by": "explained by pathway",
    "window_confidence": "window confidence", "records_exported": "records exported",
    "records_extracted": "records extracted", "src_ip": "source address",
    "failed_logins": "failed logins", "distinct_accounts_tried": "accounts tried",
    "peak_failures_per_hour": "most failures in one hour",
    "accounts_succeeded": "accounts logged in", "rows_read": "rows read",
    "rotation_duplicates": "rotation duplicates", "field_problems": "field problems",
    "truncation_note": "why cut short", "source_file": "file", "source_line": "line",
    "action_raw": "action as logged", "src_ips": "source addresses", "sha256": "SHA-256",
    "size": "size (bytes)", "first_day": "first day", "last_day": "last day",
    "n_labs": "number of labs", "n_pathways": "number of pathways", "patients_explained": "leaked identifiers explained (each once, whatever its labs)",
    "share_retrieved_outside": "share fetched from outside", "evidence_for": "evidence for",
    "evidence_against": "evidence against", "fit": "fit (see the glossary)",
    "strength": "grade of the earlier share rule (not the conclusion's strength)",
    "source_format": "format", "from_format": "from format", "to_format": "to format",
    "last_old_ts": "last event in the old format", "first_ts": "first event in the new format",
    "rows_recoded": "rows read as UTF-8", "replacement_chars": "undecodable bytes (U+FFFD)",
    "encoding_note": "lines concerned",
}  # fmt: skip


def header_label(col: str) -> str:
    """The header of a report column: :data:`COLUMN_LABELS`, else the name with spaces."""
    return COLUMN_LABELS.get(col, col.replace("_", " "))


def labs_cell(value: Any) -> str:
    """A list of labs (``"L01 | L02"`` or a list) with at most :data:`LABS_IN_CELL` named."""
    items = value if isinstance(value, list | tuple) else str(value or "").split("|")
    labs = [str(v).strip() for v in items if str(v).strip()]
    if len(labs) <= LABS_IN_CELL:
        return ", ".join(labs)
    return ", ".join(labs[:LABS_IN_CELL]) + f", … ({len(labs)} labs)"


def share_cell(value: Any) -> Any:
    """A share (0-1) as a percentage capped at 100 % with the uncapped value beside
    (``116 %`` reads "100 % (116 % by count)"); other values as :func:`_cell`."""
    f = _num(value)
    if f is None or isinstance(value, bool):
        return _cell(value)
    if f > 1.0:
        return f"100 % ({pct(f)} by count)"
    return pct(f)


#: Most (file, reason) rows and sample rows listed in the report's quarantine section;
#: quarantine.csv holds every row.
MAX_QUARANTINE_ROWS = 200
#: Line numbers listed per (file, reason) row.
QUARANTINE_LINES_SHOWN = 5


def _quarantine_by_file(q: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows per (file, reason): ``rows`` (int) and ``lines`` (str).

    ``lines`` lists the first :data:`QUARANTINE_LINES_SHOWN` line numbers
    (``source_line``), with "…" when there are more; blank when the reader gave none.
    """
    g = q.groupby(["source_file", "reason"], sort=True)
    out = g.size().rename("rows").reset_index()
    if "source_line" not in q.columns:
        out["lines"] = ""
        return out
    first = (
        q[["source_file", "reason", "source_line"]]
        .dropna(subset=["source_line"])
        .sort_values(["source_file", "reason", "source_line"], kind="stable")
        .groupby(["source_file", "reason"], sort=True)
        .head(QUARANTINE_LINES_SHOWN)
    )
    joined = (
        first.assign(source_line=first["source_line"].astype("int64").astype(str))
        .groupby(["source_file", "reason"], sort=True)["source_line"]
        .agg(", ".join)
        .rename("lines")
        .reset_index()
    )
    out = out.merge(joined, on=["source_file", "reason"], how="left")
    out["lines"] = out["lines"].fillna("")
    more = out["rows"] > QUARANTINE_LINES_SHOWN
    out.loc[more & (out["lines"] != ""), "lines"] += ", …"
    return out


#: Quoted values and numbers in a quarantine reason are the row's own (a bad date, a field
#: count): the kind of problem is the reason with them replaced. "ISO 8601" and "RFC 5424"
#: name standards and are kept.
_QUOTED = r"'[^']*'|\"[^\"]*\""
_NUMBER = r"(?<!ISO )(?<!RFC )(?<![\w.])\d[\d,.]*(?![\w])"


def quarantine_by_reason(q: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows grouped by the kind of problem, with one example each.

    Parameters
    ----------
    q : pandas.DataFrame
        ``source_file``, ``source_line`` (int, may be missing) and ``reason`` (str),
        as in ``quarantine.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per kind, most rows first: ``problem`` (the reason with its quoted
        values as ``'…'`` and its numbers as ``N``), ``rows`` (int), ``files``
        (int, distinct files), ``example`` (``file:line`` of the first row in file
        and line order) and ``example_reason`` (that row's own reason, in full).
    """
    if q.empty:
        return pd.DataFrame(columns=["problem", "rows", "files", "example", "example_reason"])
    reason = q["reason"].astype("string").fillna("")
    kind = reason.str.replace(_QUOTED, "'…'", regex=True).str.replace(_NUMBER, "N", regex=True)
    line = (q["source_line"] if "source_line" in q.columns
            else pd.Series(pd.NA, index=q.index)).astype("Int64")  # fmt: skip
    t = pd.DataFrame({"problem": kind, "file": q["source_file"].astype("string"), "line": line,
                      "reason": reason})  # fmt: skip
    t = t.sort_values(["problem", "file", "line"], kind="stable", na_position="last")
    g = t.groupby("problem", sort=False)
    out = g.agg(rows=("file", "size"), files=("file", "nunique"), file=("file", "first"),
                line=("line", "first"), example_reason=("reason", "first")).reset_index()  # fmt: skip
    out["example"] = out["file"].astype(str) + out["line"].map(
        lambda v: "" if pd.isna(v) else f":{int(v)}"
    )
    out = out.sort_values(["rows", "problem"], ascending=[False, True], kind="stable")
    return out[["problem", "rows", "files", "example", "example_reason"]].reset_index(drop=True)


def _frame_rows(df: pd.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:

    part = df if limit is None else df.head(limit)
    return json_safe(part)


# --- figures ---------------------------------------------------------------------------


def _naive_local(s: pd.Series, tz: str) -> pd.Series:
    return pd.to_datetime(s, utc=True).dt.tz_convert(tz).dt.tz_localize(None)


def _session_events(events: pd.DataFrame | CaseEvents, top: Iterable[Mapping[str, Any]]
                    ) -> pd.DataFrame:  # fmt: skip
    """The events of the ``top`` sessions (evidence order): a whole table as it is, from a
    ``CaseEvents`` the rows of those sessions only (one lab read at a time)."""
    if not isinstance(events, CaseEvents):
        return events
    if "session_id" not in events.columns:
        return pd.DataFrame(columns=events.columns)
    sids = list(dict.fromkeys(r["session_id"] for r in top if r.get("session_id") is not None))
    # the columns shown, the figures' and the order's: fewer columns widened per lab
    keep = {*EVIDENCE_ROW_COLUMNS, *RAW_TWINS.values(), "seq", "session_id"}  # shown as logged
    cols = [c for c in events.columns if c in keep]
    return events.select(lambda d: d["session_id"].isin(sids), columns=cols, need=["session_id"])


def _figures(data: ReportData, top: list[dict[str, Any]],
             rows_of: pd.DataFrame | None = None) -> dict[str, Any]:  # fmt: skip
    """The report's figures (``data:`` URIs); ``rows_of``: the ``top`` sessions' events
    (:func:`_session_events`, read here when not given)."""
    tz = data.tz
    f = data.findings
    ev = data.events
    out: dict[str, Any] = {}
    start, end = tables.event_period(ev)
    span_days = (end - start).days if len(ev) else 0
    weekly = span_days < 240  # short cases read better by week
    monthly = tables.monthly_outbound(ev, tz, "W" if weekly else "M")
    # every flagged session (not the top sessions only), when the tables allow
    every = flagged_sessions(data.session_scores, data.sessions)
    flagged = (
        every[["lab", "start"]]
        if every is not None
        else pd.DataFrame(
            [
                {"lab": r.get("lab"), "start": r.get("start")}
                for r in f.get("top_sessions", [])
                if r.get("flagged")
            ]  # fmt: skip
            or [],
            columns=["lab", "start"],
        )
    )
    if not flagged.empty:
        flagged["start"] = _naive_local(flagged["start"], tz)
    mig = pd.DataFrame(f.get("migrations", []), columns=["lab", "first_ts"])
    mig = pd.DataFrame({"lab": mig["lab"], "date": _naive_local(mig["first_ts"], tz)})
    wrows = []
    # the conclusion's windows (the first screen's), else the share rule's first-seen ones
    conc_wins = [{"lab": p.get("lab"), **p["window"]} for p in f.get("per_lab") or []
                 if isinstance(p, Mapping) and isinstance(p.get("window"), Mapping)]  # fmt: skip
    for w in conc_wins or f.get("windows", []):
        if not isinstance(w, Mapping):
            continue
        lo, hi = w.get("after") or w.get("start"), w.get("before") or w.get("end")
        if lo and hi:
            wrows.append({"lab": w.get("lab"), "start": lo, "end": hi})
    win = pd.DataFrame(wrows, columns=["lab", "start", "end"])
    if not win.empty:
        win["start"] = _naive_local(win["start"], tz)
        win["end"] = _naive_local(win["end"], tz)
    out["timeline"] = figures.data_uri(
        figures.png_bytes(
            lambda: figures.activity_timeline(
                monthly,
                flagged=flagged,
                migrations=mig,
                windows=win,
                freq="W-MON" if weekly else "MS",
                title="Records exported and extracted per lab and "
                + ("week" if weekly else "month"),
            )  # fmt: skip
        )
    )
    out["coverage"] = figures.data_uri(
        figures.png_bytes(lambda: figures.log_coverage(tables.monthly_coverage(ev, tz)))
    )
    cov = pd.DataFrame(f.get("coverage", []))
    if "leaked" not in cov.columns and "leaked_found" in cov.columns:
        cov = cov.assign(leaked=cov["leaked_found"])
    if {"leaked", "explained"} <= set(cov.columns):
        cov = cov[cov["leaked"].fillna(0) > 0]
    left = not_weighed(f)
    if left and "lab" in cov.columns:  # the conclusion's labs left out, named on the axis
        cov = cov.assign(lab=[f"{x} (not weighed)" if str(x) in left else x for x in cov["lab"]])
    if {"lab", "leaked", "explained"} <= set(cov.columns):
        out["leak"] = figures.data_uri(figures.png_bytes(lambda: figures.leak_coverage(cov)))
    if data.session_scores is not None and not data.session_scores.empty:
        sc = data.session_scores  # kept a file a lab: each column read lab by lab
        out["scores"] = figures.data_uri(figures.png_bytes(lambda: figures.score_distribution(
            column(sc, "score"), column(sc, "flagged"))))  # fmt: skip
    sessions_fig = {}
    if "session_id" in ev.columns:
        srows = _session_events(ev, top) if rows_of is None else rows_of
        for r in top:
            sid = r.get("session_id")
            rows = srows.loc[srows["session_id"] == sid, ["ts", "action", "records"]]
            title = session_title(r)
            sessions_fig[sid] = figures.data_uri(
                figures.png_bytes(
                    lambda rows=rows, title=title: figures.session_timeline(
                        rows, title=title, tz=tz
                    )
                )  # fmt: skip
            )
    out["sessions"] = sessions_fig
    return out


#: Evidence rows shown for the best session of each flagged campaign (section 4).
CAMPAIGN_EVIDENCE_ROWS = 10


def _campaign_evidence(data: ReportData, cv: Mapping[str, Any] | None,
                       shown: set[str]) -> list[dict[str, Any]]:  # fmt: skip
    """Section 4's evidence of every flagged campaign whose best session is not already
    shown in full: one entry per campaign (its rank, lab, account, best session id) with
    that session's first :data:`CAMPAIGN_EVIDENCE_ROWS` evidence rows, outbound first."""
    out: list[dict[str, Any]] = []
    best = [((c.get("best") or [{}])[0].get("session_id"), c) for c in (cv or {}).get("rows") or []]
    best = [(sid, c) for sid, c in best if sid and sid not in shown]
    ev_rows = _evidence_rows(data, [{"session_id": sid} for sid, _ in best], CAMPAIGN_EVIDENCE_ROWS)
    for sid, c in best:
        rows = ev_rows.get(sid)
        out.append({"campaign_id": c.get("campaign_id"), "rank": c.get("rank"),
                    "lab": c.get("lab"), "account": c.get("account"),
                    "activity": c.get("activity"), "session_id": sid,
                    "n_sessions": c.get("n_sessions"), "evidence": rows})  # fmt: skip
    return out


def _evidence_rows(data: ReportData, top: list[dict[str, Any]],
                   limit: int = MAX_EVIDENCE_ROWS, rows_of: pd.DataFrame | None = None
                   ) -> dict[str, Any]:  # fmt: skip
    """session id -> its first ``limit`` evidence rows (outbound first), their total and
    columns; ``rows_of``: the ``top`` sessions' events (:func:`_session_events`)."""
    res: dict[str, Any] = {}
    if not top or "session_id" not in data.events.columns:
        return res
    ev = _session_events(data.events, top) if rows_of is None else rows_of
    cols = [c for c in EVIDENCE_ROW_COLUMNS if c in ev.columns]
    for r in top:
        sid = r.get("session_id")
        rows = ev.loc[ev["session_id"] == sid]
        # show outbound events first (they are the reason), then evidence order
        outbound = rows["action"].astype(str).isin(["export", "extract"])
        shown = pd.concat([rows[outbound], rows[~outbound]]).head(limit)
        shown = shown.sort_values(["ts", "seq"] if "seq" in shown else ["ts"], kind="stable")
        # an event's own record count (a search's hits, an export's records): not
        # "records sent out", the pathways' column (QA, session 9)
        shown = as_logged(shown)[cols].rename(columns=EVIDENCE_ROW_NAMES)  # host as logged
        res[sid] = {"rows": _frame_rows(shown), "total": int(len(rows)),
                    "columns": list(shown.columns)}  # fmt: skip
    return res


def _log_start(events: pd.DataFrame | CaseEvents | None) -> dict[str, Any]:
    """lab -> its first logged event (UTC), for the horizons that predate the logs."""
    return tables.first_events(events)


# --- rendering -------------------------------------------------------------------------


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("labforensics", "report/templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html", "j2", "html.j2"), default_for_string=True, default=True
        ),  # fmt: skip
        undefined=ChainableUndefined,
        # every printed value: no free text copied whole (QA, session 4); internal terms
        # in words, the term in a title (issue 16 item 3); counts with thousands
        # separators and lists joined, never Python's repr; control characters (QA
        # session 10), look-alike spaces and scripts (session 11) as visible escapes
        finalize=lambda v: report_visible(in_words(clip_text(blank(as_printed(v))))),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return install_identity(env)


def render_report(data: ReportData, *, top_n: int = 10) -> str:
    """Render ``report.html`` as a string.

    Parameters
    ----------
    data : ReportData
    top_n : int, default 10
        Number of top sessions shown with their evidence rows and a figure each.

    Returns
    -------
    str
        The HTML document (UTF-8 text, self-contained).
    """
    env = _environment()
    when = make_formatter(data.tz)
    env.filters["when"] = when
    env.filters["cell"] = _cell
    env.filters["show"] = lambda v: (
        Markup('<span class="t">{}</span>').format(when(v)) if _to_ts(v) is not None else _cell(v)
    )
    # to the minute, as the first screen's windows (the same instant reads the same)
    env.filters["minute"] = lambda v: (
        Markup('<span class="t">{}</span>').format(when(v, seconds=False))
        if _to_ts(v) is not None
        else _cell(v)
    )
    env.filters["attr"] = _attr
    # texts this package writes and a reader needs whole (parameters, commands)
    env.filters["coded"] = coded
    env.filters["reason"] = reason_html  # the conclusion's sentences: propositions in words
    env.globals["CODED"] = tuple(COLUMN_WORDS)
    env.filters["whole"] = lambda v: Markup(_html.escape("" if v is None else str(v)))
    env.filters["label"] = header_label
    # a list the report itself joins (file names, labs): printed whole, never cut as a
    # free text of the evidence (each item still escaped)
    env.filters["ownjoin"] = lambda items, sep=", ": Composed(sep.join(str(i) for i in items))
    env.filters["share"] = share_cell
    env.filters["labs"] = labs_cell
    f = data.findings
    env.filters["pathway"] = pathway_words(f.get("pathways"))
    top = list(f.get("top_sessions", []))[:top_n]
    # flagged sessions (and at least the first three) get a card with figure and rows
    detailed = [s for i, s in enumerate(top) if s.get("flagged") or i < 3]
    others = [s for s in top if s not in detailed]
    rows_of = _session_events(data.events, detailed)  # one read of a CaseEvents for both
    figs = _figures(data, detailed, rows_of)
    acc_frame = data.accounting
    if acc_frame is not None and len(acc_frame) > 200:
        # many files: the notable ones and the total (every file is in manifest.json)
        cols = [c for c in ("quarantined", "rotation_duplicates", "repeated_headers", "ignored",
                            "field_problems", "rows_recoded", "replacement_chars")
                if c in acc_frame.columns]  # fmt: skip
        notable = acc_frame[cols].fillna(0).astype(bool).any(axis=1)
        if "truncated" in acc_frame.columns:
            notable |= acc_frame["truncated"].fillna(False).astype(bool)
        if "reversed" in acc_frame.columns:
            notable |= acc_frame["reversed"].fillna(False).astype(bool)
        if "line_order" in acc_frame.columns:
            notable |= acc_frame["line_order"] == "unclear"
        notable |= acc_frame["source_file"] == "TOTAL"
        acc_frame = acc_frame[notable]
    acct = _frame_rows(acc_frame) if acc_frame is not None else []
    quarantine_summary: list[dict[str, Any]] = []
    quarantine_kinds: list[dict[str, Any]] = []
    quarantine_groups = 0
    if data.quarantine is not None and not data.quarantine.empty:
        q = data.quarantine
        quarantine_summary = _frame_rows(_quarantine_by_file(q).head(MAX_QUARANTINE_ROWS))
        quarantine_groups = int(q.groupby(["source_file", "reason"], sort=False).ngroups)
        quarantine_kinds = _frame_rows(quarantine_by_reason(q))
    cv = campaigns_view(data.campaigns, session_scores=data.session_scores,
                        sessions=data.sessions, when=when, tz=data.tz,
                        params=(f.get("parameters") or {}).get("campaigns"),
                        exports=data.exports, takeovers=takeovers(f, when))  # fmt: skip
    gaps = list(f.get("gaps", []))
    gaps_long = sorted(gaps, key=lambda g: (-int(g.get("days", 0)), g.get("lab", "")))[:15]
    ctx = {
        "title": data.title,
        "f": f,
        "tz": data.tz,
        "top": top,
        "figs": figs,
        "evidence_rows": _evidence_rows(data, detailed, rows_of=rows_of),
        "detailed": detailed,
        "others": others,
        "accounting": acct,
        # files read otherwise than their encoding says (per-file accounting of findings)
        "encoding_files": encoding_files((f.get("accounting") or {}).get("files") or ()),
        "copies_note": copies_note(f.get("accounting") or {}),  # byte-identical files
        "accounting_cols": list(data.accounting.columns) if data.accounting is not None else [],
        "quarantine_summary": quarantine_summary,
        "quarantine_kinds": quarantine_kinds,
        "quarantine_groups": quarantine_groups,
        "quarantine_max": MAX_QUARANTINE_ROWS,
        "quarantine_total": 0 if data.quarantine is None else int(len(data.quarantine)),
        # where the rows come from: evidence, patient indexes, dump, transfer log
        "quarantine_origins": quarantine_origins(
            data.quarantine,
            int(((f.get("accounting") or {}).get("totals") or {}).get("quarantined") or 0),
            bool(f.get("transfers_given")),
        ),
        "quarantine_sample": _frame_rows(data.quarantine, 20)
        if data.quarantine is not None
        else [],
        "gaps_long": gaps_long,
        "gaps_total": len(gaps),
        "columns": _columns,
        "pick": _pick,
        "WINDOW_COLUMNS": WINDOW_COLUMNS,
        "PATHWAY_COLUMNS": PATHWAY_COLUMNS,
        "TRANSFER_COLUMNS": TRANSFER_COLUMNS,
        "COVERAGE_COLUMNS": COVERAGE_COLUMNS,
        "notes": data.extra_notes,
        "leak_linkage": leak_linkage_view(f.get("leak_linkage"), when, _log_start(data.events)),
        "campaigns": cv,
        "campaign_evidence": _campaign_evidence(
            data, cv, {str(s.get("session_id")) for s in detailed}),
        "exports_view": exports_view(data.exports, f.get("exports"),
                                     lambda ts: when(ts, seconds=False)),
        "summary": summary_view(f, when),
        # sections 5 and 6 in the conclusion's terms (windows, labs left out)
        "window_rows": window_rows(f, when),
        "window_note": window_note(f, when),
        "coverage_rows": coverage_rows(f),
        "pathway_note": pathway_note(f),
        "inputs": inputs_rows(f.get("inputs")),
        "transfer_notes": transfer_notes(f),
        "takeover_lines": [f"At {lab}: {t}" for (lab, _), t in takeovers(f, when).items()],
        **hypotheses_ctx(f),
        "left_out": not_weighed(f),
        # linkage terms only when a dump was linked (its section is then shown)
        "glossary": [(*g, glossary_anchor(g[0])) for g in (*GLOSSARY, *EXTRA_GLOSSARY)
                     if f.get("leak_linkage") or g[0] != "false-match rate"],  # fmt: skip
        "run": {"command": [shlex.quote(str(a)) for a in data.run["command"]]
                if data.run.get("command") else None, "date": data.run.get("date")},
    }  # fmt: skip
    return env.get_template("report.html.j2").render(**ctx)


def write_report(data: ReportData, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Render and write ``report.html`` (UTF-8, LF). Returns the path."""
    p = Path(path)
    p.write_text(render_report(data, **kwargs), encoding="utf-8", newline="\n")
    return p
