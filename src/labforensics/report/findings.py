"""The findings of an investigation, built and worded: ``findings.json``.

:func:`build_findings` turns the stages' results (events, sessions, session
scores, attribution, ingest accounting, inputs, parameters) into the content of
``findings.json``: the question asked, the verdict and its wording, hypotheses,
windows, pathways, top sessions and source addresses with their reasons,
counts, accounting, the inputs' digests, the parameters and the command that
reproduces the run. Deterministic and JSON-safe: no wall-clock time, no
absolute path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from .._terminal import visible
from ..attribution.conclusion import pairs_words
from ..attribution.labels import proposition_who, proposition_words, reason_words, verdict_label
from ..attribution.transfer_clock import CLOCK_MARK
from ..attribution.transfer_sizes import SIZE_MARK
from ..case import CaseContext
from ..case_events import CaseEvents
from ..ingest._name_labs import lab_name_sentence
from ..outputs import json_safe
from ..schema import join_list
from ..scored_labs import ScoredLabs, n_flagged
from .as_logged import pathways_as_logged, session_identities_as_logged, sources_as_logged
from .coverage_limit import coverage_sentence, flagged_dates_note, period_section
from .encoding_notes import encoding_limit
from .field_notes import coverage_caveat, field_problem_limit, files_read, share_text
from .html import make_formatter
from .input_limits import input_limits  # re-exported: the pipeline's import
from .leak_tables import credited_transfers, leak_given
from .reproduce import reproduce_text
from .rotation_order import rotation_order_limits
from .session_scores import _reasons_list, session_scores_table
from .summary import log10_text  # rounded, never across a band, as printed everywhere
from .tables import clock_quality, event_period, log_gaps, migrations

__all__ = [
    "MAX_LISTED_FILES",
    "QUESTION",
    "TOP_SESSIONS",
    "TOP_SOURCES",
    "attribution_findings",
    "build_findings",
    "dst_limit",
    "group_counts",
    "input_limits",
    "params_dict",
    "reproduce_text",
    "session_scores_table",
    "summary_text",
]

QUESTION = (
    "Who extracted the laboratories' patient records that later leaked: the LIS vendor "
    "(its extraction tool, support or migration accounts), laboratory staff, or an outside "
    "attacker? When, through which accounts and pathways?"
)

#: Number of top sessions kept in findings.json and shown in the report.
TOP_SESSIONS = 20
#: Number of top source addresses (authentication attacks) kept in findings.json.
TOP_SOURCES = 20
#: Flagged source addresses named one by one in the findings text (the rest counted).
TEXT_SOURCES = 3


def _top_sessions(sessions: pd.DataFrame, ss: pd.DataFrame | ScoredLabs, n: int,
                  rows: Callable[[pd.Series], pd.DataFrame] | None = None,
                  events: pd.DataFrame | CaseEvents | None = None,
                  ) -> list[dict[str, Any]]:  # fmt: skip
    """The ``n`` first scored sessions with their facts (from ``sessions``, or their whole
    rows read by ``rows``: see :func:`build_findings`); account, hosts and addresses as
    logged in ``events`` (:func:`~labforensics.report.as_logged.session_identities_as_logged`)."""
    if ss.empty or sessions.empty:
        return []
    first = ss.head(n)  # kept a file a lab: only these rows read
    if rows is not None:
        sessions = rows(first["session_id"])
    keep = [c for c in ("session_id", "lab", "account", "account_kind", "role", "start", "end",
                        "duration_s", "n_events", "hosts", "src_ips", "modules",
                        "records_exported", "records_extracted", "bytes_out",
                        "distinct_patients", "failed_logins_before") if c in sessions.columns]  # fmt: skip
    top = first.merge(sessions[keep], on="session_id", how="left", sort=False)
    for c in ("hosts", "src_ips", "modules"):  # list columns: text in findings.json
        if c in top.columns:
            top[c] = join_list(top[c])
    rows = json_safe(top)
    for r in rows:
        r["reasons"] = _reasons_list(r.get("reasons"))
    return rows if events is None else session_identities_as_logged(events, rows)


def _verdict_class(code: str) -> str:
    c = code.lower()
    if c == "outside_evidence":
        return "outside_evidence"
    if any(k in c for k in ("vendor", "editeur", "supplier")):
        return "vendor"
    if any(k in c for k in ("insider", "staff", "internal")):
        return "insider"
    if any(k in c for k in ("outside", "external", "attacker")):
        return "outside"
    if "mixed" in c:
        return "mixed"
    if any(k in c for k in ("none", "no_incident", "nothing")):
        return "none"
    return "undetermined"


def _stability_text(stab: Any) -> str:
    if stab is None:
        return "not assessed"
    if isinstance(stab, str):
        return stab
    if isinstance(stab, int | float):
        return f"{float(stab):.0%} of perturbed runs agree"
    if isinstance(stab, Mapping):
        share = stab.get("agreement")
        runs = stab.get("runs")
        n = len(runs) if isinstance(runs, list) else runs
        if isinstance(share, int | float):
            if not n:
                return "no rerun made"
            return f"{float(share):.0%} of {n} reruns with thresholds halved or doubled agree"
    return str(stab)


#: Sections of Attribution.to_dict() surfaced at the top level of findings.json.
_SURFACED = ("hypotheses", "windows", "pathways", "transfers", "leak_summary", "candidates")


_COUNT = re.compile(
    r"(?<![\w.,:/-])(\d{4,})(?= (?:leaked|records?|events?|patients?|identifiers?|sessions?)\b)"
)


def group_counts(text: str) -> str:
    """Counts of records, patients, events ... in ``text`` with comma thousands separators.

    Only a run of 4+ digits followed by a counted noun is grouped (``321368 leaked``
    -> ``321,368 leaked``): years, lab numbers and identifiers are left alone.
    """
    return _COUNT.sub(lambda m: f"{int(m.group(1)):,}", text)


def attribution_findings(att: Any) -> dict[str, Any]:
    """Normalise an attribution result (``Attribution``, its ``to_dict()``, or None).

    Returns
    -------
    dict
        ``verdict`` (dict: ``verdict`` code, ``class`` (vendor, insider, outside,
        mixed, none, undetermined), ``label``, ``strength`` (of the winning
        hypothesis), ``rule`` (as applied), ``stability``, ``stability_text``,
        ``summary``), ``hypotheses``, ``windows``, ``pathways``, ``transfers``,
        ``coverage`` (the per-lab leak summary), ``candidates`` (lists of dicts)
        and ``raw`` (the rest of ``to_dict()``: rule text, totals, parameters ...).
    """
    if att is None:
        d: dict[str, Any] = {}
    elif isinstance(att, Mapping):
        d = json_safe(dict(att))
    else:
        d = json_safe(att.to_dict())

    def section(name: str) -> list[dict[str, Any]]:
        v = d.get(name)
        return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []

    conc = d.get("conclusion") if isinstance(d.get("conclusion"), dict) else None
    # the verdict is the conclusion's proposition (issue 15): the share rule is kept as
    # the attribution's ``verdict_rule`` text only
    code = str((conc or {}).get("proposition") or d.get("verdict") or "undetermined")
    cls = _verdict_class(code) if att is not None else "undetermined"
    hyps = section("hypotheses")
    strength = _strength_text(conc)
    summary = str((conc or {}).get("reason") or d.get("verdict_rule") or "")
    if att is None:
        summary = "No attribution was made."
    # the heading in words (the one table); an unknown code said as it is, spaced
    label = verdict_label(code if cls == "undetermined" and code else cls)
    return {
        "verdict": {
            "verdict": code,
            "class": cls,
            "label": label,
            "strength": strength,
            "rule": d.get("rule") or "",
            # the share of reruns reaching the same proposition, of the same reruns the
            # stability_text describes (the conclusion's sensitivity when it ran; the
            # share rule's threshold reruns otherwise)
            "stability": _stability_share(conc, d.get("stability")),
            "stability_text": _sensitivity_text(conc) or _stability_text(d.get("stability")),
            # the conclusion's counts of leaked rows linked to a lab are lab-patient pairs,
            # the report's one unit for them (glossary)
            "summary": reason_words(pairs_words(group_counts(str(summary)))),
        },
        "hypotheses": hyps,
        "windows": section("windows"),
        "pathways": section("pathways"),
        "transfers": section("transfers"),
        "coverage": section("leak_summary") or section("coverage"),
        "candidates": section("candidates")[:TOP_SESSIONS],
        "conclusion": _conclusion_section(conc, att is not None),
        "per_lab": section("per_lab"),
        "raw": {
            k: v
            for k, v in d.items()
            if k not in _SURFACED and k not in ("verdict", "conclusion", "per_lab")
        },
    }


def _stability_share(conc: Mapping[str, Any] | None, stab: Any) -> Any:
    """The agreement of the reruns that ``stability_text`` describes.

    The conclusion's sensitivity reruns (``conclusion.sensitivity.agreement``) when they
    ran, else the share rule's threshold reruns (``stability.agreement``): both were
    written next to each other before, and the text and the figure told different runs.
    """
    sens = (conc or {}).get("sensitivity")
    if isinstance(sens, Mapping) and sens.get("runs"):
        return sens.get("agreement")
    return stab.get("agreement") if isinstance(stab, Mapping) else stab


def _sensitivity_text(conc: Mapping[str, Any] | None) -> str | None:
    """The conclusion's reruns over its assumptions in words (None when none ran)."""
    sens = (conc or {}).get("sensitivity")
    if not isinstance(sens, Mapping) or not sens.get("runs"):
        return None
    if not isinstance(sens.get("agreement"), int | float):  # no ratio in any rerun
        return f"not evaluated (no likelihood ratio in the {len(sens['runs'])} reruns)"
    rng = sens.get("log10_lr_range")
    span = f"; log10 LR {log10_text(rng[0])} to {log10_text(rng[1])}" if rng else ""
    return (
        f"{float(sens['agreement']):.0%} of {len(sens['runs'])} reruns over the model's "
        f"assumptions reach the same proposition{span}"
    )


def _strength_text(conc: Mapping[str, Any] | None) -> str:
    """The conclusion's strength in words: the ENFSI verbal equivalent with its log10 LR
    and alternative, or why none was computed."""
    if not conc or conc.get("log10_lr") is None:
        return ("n/a" if not conc
                else f"not evaluated ({reason_words(conc.get('reason') or 'no ratio')})")  # fmt: skip
    cov = conc.get("coverage") or {}
    capped = (
        f", capped: a logged operation could have produced {cov['producible']:,} of the "
        f"{cov['total']:,} lab-patient pairs"
        if conc.get("capped_by_coverage") and cov.get("total") else ""
    )  # fmt: skip
    if conc.get("proposition") == "undetermined" and conc.get("leading"):
        # no source named (LR below 2): the ratio is of the leading proposition, not the verdict
        return (
            f"{conc.get('verbal')} (log10 LR {log10_text(conc['log10_lr'])}, "
            f"{proposition_who(conc.get('leading'))} against "
            f"{proposition_who(conc.get('alternative'))}{capped}): no source is named"
        )
    return (
        f"{conc.get('verbal')} (log10 LR {log10_text(conc['log10_lr'])} against "
        f"{proposition_words(conc.get('alternative'))}{capped})"
    )


def _conclusion_section(conc: Mapping[str, Any] | None, made: bool) -> dict[str, Any]:
    """``conclusion`` of findings.json (issue 15, item 7): proposition, log10_lr,
    likelihood_ratio, verbal, alternative, window, coverage, reason, plus the
    sensitivity reruns and the verbal scale; ``undetermined`` without an attribution."""
    keys = ("proposition", "leading", "log10_lr", "likelihood_ratio", "verbal", "alternative", "window",
            "coverage", "reason", "sensitivity", "not_weighed", "verbal_scale", "limits")  # fmt: skip
    if not conc:
        base = {k: None for k in keys}
        base.update(proposition="undetermined",
                    reason="no attribution was made" if not made else "no leak")  # fmt: skip
        return base
    out = {k: conc.get(k) for k in keys}
    if conc.get("capped_by_coverage"):  # only then: other cases' findings unchanged
        out["capped_by_coverage"] = True
    return out


def _joined_reasons(reasons: Sequence[str], limit: int = 240) -> str:
    """Reasons joined by "; ", whole ones only, up to about ``limit`` characters, then "…"."""
    parts: list[str] = []
    total = 0
    for r in reasons:
        if parts and total + len(r) > limit:
            parts.append("…")
            break
        parts.append(str(r))
        total += len(r) + 2
    return "; ".join(parts)


def _findings_text(f: dict[str, Any], tz: str) -> list[str]:
    when = make_formatter(tz)
    out: list[str] = []
    for s in f["top_sessions"][:5]:
        if not s.get("flagged"):
            continue
        recs = (s.get("records_exported") or 0) + (s.get("records_extracted") or 0)
        reasons = _joined_reasons(s.get("reasons") or [])
        out.append(
            f"Session of {s.get('account_as_logged') or s.get('account') or '(no account)'} ({s.get('account_kind')}) at {s.get('lab')} "
            f"starting {when(s.get('start'))}: "
            + (f"{recs:,} records sent out" if recs else "nothing sent out")  # QA 22: "0 records"
            + ", score "
            f"{s.get('score', 0):.2f}" + (f" ({reasons})" if reasons else "")
        )
    flagged_src = [s for s in f.get("top_sources", []) if s.get("flagged")]
    for s in flagged_src[:TEXT_SOURCES]:
        taken = (
            "; suspected account takeover (credential compromise) of "
            f"{s.get('accounts_succeeded_as_logged') or s.get('accounts_succeeded')}: "
            "a successful login from the same address after its failed logins"
            if s.get("success_after_failures") and s.get("accounts_succeeded")
            else ""
        )
        out.append(
            f"Authentication attack from {s.get('src_ip_as_logged') or s.get('src_ip')} at {s.get('lab')}, "
            f"{when(s.get('first'))} to {when(s.get('last'))}: {s.get('reasons')}{taken}"
        )
    n_more = f["counts"].get("flagged_sources", 0) - min(len(flagged_src), TEXT_SOURCES)
    if n_more > 0:
        out.append(f"{n_more:,} more source address(es) flagged for authentication attacks "
                   "(sources.csv).")  # fmt: skip
    out += _leak_findings_text(f)
    if f["counts"]["quarantined"]:
        out.append(f"{f['counts']['quarantined']:,} input rows quarantined (see section 2).")
    return out


def _leak_findings_text(f: Mapping[str, Any]) -> list[str]:
    """Section 1's lines on the leak, in the first screen's units: labs weighed (and left
    out) by the conclusion, each with its window; extraction files put on the FTP server
    (uploads) and downloads of them, apart (the first screen counts the downloads)."""
    out: list[str] = []
    per_lab = [p for p in f.get("per_lab") or [] if isinstance(p, Mapping)]
    left = [s for s in (f.get("conclusion") or {}).get("not_weighed") or []
            if isinstance(s, Mapping)]  # fmt: skip
    if per_lab:
        wins = [p for p in per_lab if (p.get("window") or {}).get("after")
                or (p.get("window") or {}).get("before")]  # fmt: skip
        text = (f"{len(per_lab)} lab(s) weighed by the conclusion, {len(wins)} of them with a "
                "window for the copy (Conclusion)")  # fmt: skip
        few = [s for s in left if not s.get("not_in_evidence")]
        gone = [s for s in left if s.get("not_in_evidence")]
        if few:
            text += (f"; {len(few)} more lab(s) with leaked patients left out of the weighing "
                     "(too few patients tied to each alone to tell a copy from false matches "
                     "of the record linkage): " + ", ".join(str(s.get("lab")) for s in few))  # fmt: skip
        if gone:
            text += (f"; {len(gone)} lab(s) of the leak not in the evidence (no logs, or none "
                     "of its leaked patients known to them), not weighed: "
                     + ", ".join(str(s.get("lab")) for s in gone))  # fmt: skip
        out.append(text + ".")
    elif f.get("windows"):
        out.append(f"{len(f['windows'])} lab(s) with first-seen bounds of the copy from the "
                   "leak (section 5).")  # fmt: skip
    if f.get("pathways"):
        # without a leak there are no leaked patients: what a pathway could have produced
        # is a copy of the patients its operations touched
        pws = [p for p in f["pathways"] if isinstance(p, Mapping)]
        if leak_given(f):  # a pathway explaining no leaked patient could not have produced them
            n = sum(int(p.get("leaked_explained") or 0) > 0 for p in pws)
            out.append(f"{len(pws):,} pathway(s) (an account's exports or extractions, the "
                       f"earlier share rule's candidates) in section 5: {n:,} could have "
                       "produced leaked patients"
                       + (f", {len(pws) - n:,} {'explains' if len(pws) - n == 1 else 'explain'}"
                          " none of them" if n < len(pws) else "")
                       + ".")  # fmt: skip
        else:
            out.append(f"{len(pws):,} pathway(s) (accounts whose operations could have produced "
                       "a copy of the patients they touched (no leak was given), the earlier "
                       "share rule's candidates) in section 5.")  # fmt: skip
    rows = [t for t in f.get("transfers") or [] if isinstance(t, Mapping)]
    tr = credited_transfers(f)  # one per transfer
    if rows:
        up = sum(t.get("direction") == "upload" for t in tr)
        down = sum(t.get("direction") == "download" for t in tr)
        other = len(tr) - up - down
        more = (f", listed once per export of the file's name: {len(rows):,} row(s)"
                if len(rows) > len(tr) else "")  # fmt: skip
        out.append(f"{up:,} extraction file(s) put on the FTP server (uploads) and {down:,} "
                   "download(s) of them (fetched, as the first screen says)"
                   + (f", {other:,} other transfer(s)" if other else "")
                   + f": {len(tr):,} transfer(s) in section 5{more}.")  # fmt: skip
    return out


#: Above this many evidence files, findings.json lists per-file rows only for notable files
#: (manifest.json always lists every file with its SHA-256).
MAX_LISTED_FILES = 500
_NOTABLE = ("quarantined", "rotation_duplicates", "repeated_headers", "ignored", "field_problems",
            "rows_recoded", "replacement_chars")  # fmt: skip


def _accounting_section(accounting: Mapping[str, Any]) -> dict[str, Any]:
    """Accounting without absolute paths; per-file rows trimmed to notable files when many."""
    files = [{k: v for k, v in fr.items() if k != "path"} for fr in accounting.get("files", [])]
    listed, how = files, "all"
    if len(files) > MAX_LISTED_FILES:
        listed = [
            fr
            for fr in files
            if fr.get("truncated")
            or fr.get("reversed")
            or fr.get("line_order") == "unclear"
            or fr.get("note")  # read through a link, a .gz that is not gzip ...
            or any(fr.get(c) for c in _NOTABLE)
        ]
        how = (
            "notable only: " + ", ".join(_NOTABLE) + ", truncated, read bottom-up or of unclear"
            " line order, with a note (every file: manifest.json)"
        )
    return {**accounting, "files": listed, "files_total": len(files), "files_listed": how}


def _inputs_section(inputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every input, or (with many evidence files) the companions and one digest of the rest."""
    ev = [i for i in inputs if i.get("role") == "evidence"]
    if len(ev) <= MAX_LISTED_FILES:
        return [dict(i) for i in inputs]
    lines = sorted(f"{i['sha256']}  {i['source_file']}\n" for i in ev)
    digest = hashlib.sha256("".join(lines).encode()).hexdigest()
    summary = {
        "source_file": f"{len(ev)} evidence files (listed in manifest.json)",
        "role": "evidence",
        "format": ", ".join(sorted({str(i.get("format")) for i in ev})),
        "size": int(sum(int(i.get("size") or 0) for i in ev)),
        "sha256": digest,
        "sha256_of": "sorted lines 'sha256  source_file' of the evidence files",
    }
    return [summary, *[dict(i) for i in inputs if i.get("role") != "evidence"]]


#: Sections of :func:`attribution_findings` placed at the top level of findings.json.
_SURFACED_AS = ("verdict", "hypotheses", "windows", "pathways", "transfers", "coverage",
                "candidates", "conclusion", "per_lab")  # fmt: skip


def _leak_found(att: Mapping[str, Any]) -> Any:
    """Leaked identifiers found in the evidence (attribution totals), or None."""
    return (att["raw"].get("totals") or {}).get("found")


def _leak_section(att: Mapping[str, Any], leak_patients: int | None) -> dict[str, Any]:
    """``leak``: whether a leak was given, its size, the labs it was found in."""
    return {
        "given": leak_patients is not None,
        "patients": leak_patients,
        "labs": len({c.get("lab") for c in att["coverage"] if c.get("leaked_found")})
        if att["coverage"]
        else None,
        "found": _leak_found(att),
    }


def _case_size(events: pd.DataFrame | CaseEvents) -> tuple[int, int]:
    """Events and named labs (labs with an event; the events naming no lab are not a lab)."""
    if isinstance(events, CaseEvents):
        return len(events), len(events.named_labs())
    return int(len(events)), int(events["lab"].nunique()) if len(events) else 0


def _counts_section(
    size: tuple[int, int],
    sessions: pd.DataFrame,
    session_scores: pd.DataFrame | ScoredLabs,
    inputs: Sequence[Mapping[str, Any]],
    totals: Mapping[str, Any],
    sources: pd.DataFrame | None,
) -> dict[str, int]:
    """``counts``: input files and bytes, events, quarantined rows, sessions, sources, labs.

    ``input_files`` counts every evidence file hashed; ``input_files_not_read`` those
    of them no reader took (no ``format``: a licence text, a README beside the logs),
    said apart in the summary (QA session 9: "3 file(s)" for one log read).
    """
    evidence = [i for i in inputs if i.get("role") == "evidence"]
    return {
        "input_files": len(evidence),
        "input_files_not_read": sum(1 for i in evidence if not i.get("format")),
        "input_bytes": int(sum(int(i.get("size") or 0) for i in inputs)),
        "events": size[0],
        "quarantined": int(totals.get("quarantined", 0)),
        "sessions": int(len(sessions)),
        "flagged_sessions": n_flagged(session_scores),
        "sources": int(len(sources)) if sources is not None else 0,
        "flagged_sources": int(sources["flagged"].sum()) if sources is not None else 0,
        "labs": size[1],
    }


def build_findings(
    *,
    events: pd.DataFrame | CaseEvents,
    sessions: pd.DataFrame,
    session_scores: pd.DataFrame | ScoredLabs,
    attribution: Any,
    accounting: Mapping[str, Any],
    inputs: Sequence[Mapping[str, Any]],
    case: CaseContext,
    parameters: Mapping[str, Any],
    key_fingerprint: str | None,
    sources: pd.DataFrame | None = None,
    leak_patients: int | None = None,
    transfers_given: bool = False,
    unreadable: Sequence[Mapping[str, str]] = (),
    stages: Sequence[Mapping[str, Any]] = (),
    reproduce: str = "",
    session_rows: Callable[[pd.Series], pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Assemble ``findings.json`` (JSON-safe, deterministic, no wall-clock time, no absolute path).

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events (with ``session_id``): the whole table, or the case's events
        held lab by lab (:class:`~labforensics.case_events.CaseEvents`, read one
        lab at a time and only the columns needed: ``ts``, ``lab``, ``source_format``).
        Both give the same findings.
    sessions : pandas.DataFrame or labforensics.session_labs.SlimLabs
        Canonical session table (one row per session; with ``session_rows``, its
        ``session_id`` column is enough, or its slim table kept a file a lab: only its
        length is read).
    session_scores : pandas.DataFrame or ScoredLabs
        :func:`session_scores_table` output (kept a file a lab: the count of flagged
        sessions and the best-ranked rows are read, never the whole table).
    attribution : Attribution, dict or None
    accounting : dict
        :meth:`IngestReport.to_dict` (``totals``, ``files`` ...).
    inputs : list of dict
        ``source_file``, ``format``, ``size`` (bytes), ``sha256``, ``role`` of every input.
    sources : pandas.DataFrame, optional
        :func:`labforensics.detect.score_sources` output, sorted by rank; its first
        :data:`TOP_SOURCES` rows become ``top_sources``.
    session_rows : callable, optional
        ``session_rows(ids)``: the whole rows of the sessions ``ids`` (a ``Series`` of
        ``session_id``), in that order, with the table's columns and dtypes
        (:meth:`labforensics.session_files.SessionFile.rows`): the top sessions' facts
        are read with it instead of from ``sessions`` (a run holding a slim table).
    """
    tz = case.tz
    att = attribution_findings(attribution)
    ev = events
    size = _case_size(ev)
    start, end = event_period(ev)
    totals = dict(accounting.get("totals", {}))
    if leak_patients is None or _leak_found(att) == 0:
        # stability measures how often reruns reach the same attribution of a leak:
        # with no leak (or none of it found in the evidence) there is nothing to attribute
        att["verdict"]["stability_text"] = (
            "not applicable (no leak to attribute)" if leak_patients is None
            else "not applicable (no leaked patient is in the evidence)"
        )  # fmt: skip
    f: dict[str, Any] = {
        "question": QUESTION,
        "tool": {"name": "labforensics", "version": __version__},
        "case": {
            "name": case.name,
            "tz": tz,
            "seed": case.seed,
            # only when given: findings without it keep their bytes (QA session 21)
            **({"transfers_tz": case.transfers_tz} if case.transfers_tz else {}),
        },
        "case_key_fingerprint": key_fingerprint,
        **{k: att[k] for k in _SURFACED_AS},
        "attribution": att["raw"],
        "leak": _leak_section(att, leak_patients),
        "transfers_given": transfers_given,
        "top_sessions": _top_sessions(sessions, session_scores, TOP_SESSIONS, session_rows, ev),
        "top_sources": sources_as_logged(json_safe(sources.head(TOP_SOURCES)))
        if sources is not None
        else [],
        "counts": _counts_section(size, sessions, session_scores, inputs, totals, sources),
        "period": period_section(ev, tz, start, end) if size[0] else {"start": start, "end": end},
        "accounting": _accounting_section(accounting),
        "unreadable": list(unreadable),
        "migrations": migrations(ev) if size[0] else [],
        "gaps": log_gaps(ev, tz) if size[0] else [],
        "clock_quality": clock_quality(ev),
        "inputs": _inputs_section(inputs),
        "parameters": parameters,
        # a stage's note in words ("verdict vendor" -> "verdict: the LIS vendor ...")
        "stages": [{**r, "output": reason_words(r.get("output") or "")} for r in stages],
        "reproduce": reproduce,
    }
    f = json_safe(f)
    f["pathways"] = pathways_as_logged(ev, f["pathways"]) if size[0] else f["pathways"]
    f["limits"] = _limits(f["conclusion"], size, totals, f["gaps"], f["period"],
                          f["clock_quality"], accounting.get("files", ()), tz=tz,
                          accounting=accounting)  # fmt: skip
    f["limits"] += rotation_order_limits(ev, tz) if size[0] else []
    f["limits"] += transfer_check_limits(f)
    f["findings_text"] = _findings_text(f, tz)
    f["parameters_text"] = json.dumps(f["parameters"], indent=2, sort_keys=True)
    return f


def _limits(
    conc: Mapping[str, Any],
    size: tuple[int, int],
    totals: Mapping[str, Any],
    gaps: Sequence[Mapping[str, Any]],
    period: Mapping[str, Any],
    clock: Mapping[str, Any] | None = None,
    files: Iterable[Mapping[str, Any]] = (),
    tz: str | None = None,
    accounting: Mapping[str, Any] | None = None,
) -> list[str]:
    """The "Limits of this analysis" lines (issue 15, item 7): the conclusion's own
    (linkage false-match rate, coverage, ceilings), then quarantine, field problems and
    dates that cannot be right (``accounting``: :mod:`~.field_notes`), undecodable bytes
    (``files``: the per-file accounting, :func:`~.encoding_notes.encoding_limit`), clock,
    the times in a daylight-saving change's hour (``clock``: :func:`clock_quality`) and
    the share of the period without logs. ``size``: events and labs (:func:`_case_size`)."""
    out = [str(t) for t in (conc.get("limits") or [])]
    q = int(totals.get("quarantined", 0) or 0)
    rows = int(totals.get("rows_read", 0) or 0)
    if q:
        out.append(
            f"{q:,} input rows quarantined"
            + (f" ({share_text(q, rows)} of {rows:,} rows read)" if rows else "")
            + ": their events are not in the analysis (quarantine.csv lists each with its line)"
        )
    if fp := field_problem_limit(accounting or {}):
        out.append(fp)
    if enc := encoding_limit(files):
        out.append(enc)
    out.append(
        "clock: event times are the LIS servers' clocks converted to UTC from the case's time "
        "zone; no correction for server clock drift is made, and date-only values (patient "
        "index registrations, sample dates) are days, not instants"
    )
    if clock is not None and (dst := dst_limit(clock)):
        out.append(dst)
    if named := lab_name_sentence((accounting or {}).get("lab_name_mismatches") or ()):
        out.append(named)  # a file named for one lab, its rows another's (QA 17)
    start, end = period.get("start"), period.get("end")
    if start is not None and end is not None and size[0]:
        # one universe of lab-days: the gaps and each lab's missing start/end (session 11)
        left = int(period.get("left_out") or 0)
        labs = period.get("labs") or [{"lab": f"lab {i + 1}", "first_day": _day(start, tz),
                                       "last_day": _day(end, tz)} for i in range(size[1])]  # fmt: skip
        out.append(coverage_sentence(_day(start, tz), _day(end, tz),
                                     f"local dates, {tz}" if tz else "UTC dates", labs, gaps, left)
                   + (flagged_dates_note(accounting or {}) if left else coverage_caveat(accounting or {})))  # fmt: skip
    return out


def transfer_check_limits(f: Mapping[str, Any]) -> list[str]:
    """The attribution's notes on the transfer log's consistency with the audit logs
    (uploads logged before any export of their file, :mod:`~labforensics.attribution.
    transfer_clock`; downloads not of their upload's size, :mod:`~labforensics.
    attribution.transfer_sizes`), as limits: they bound what the transfer links say
    (QA session 21: they were in ``attribution.totals.notes`` only)."""
    notes = ((f.get("attribution") or {}).get("totals") or {}).get("notes") or []
    return [str(n) for n in notes
            if isinstance(n, str) and (CLOCK_MARK in n or SIZE_MARK in n)]  # fmt: skip


def _day(instant: Any, tz: str | None) -> str:
    """The date of an instant (a UTC time, ISO text or Timestamp) in ``tz`` (None: UTC)."""
    t = pd.Timestamp(instant)
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    return (t.tz_convert(tz) if tz else t.tz_convert("UTC")).strftime("%Y-%m-%d")


def dst_limit(clock: Mapping[str, Any]) -> str | None:
    """The limit sentence on the times in a daylight-saving change's hour, or None when
    there are none.

    Parameters
    ----------
    clock : dict
        :func:`labforensics.report.tables.clock_quality` output.
    """
    n = {q: int(v) for q, v in (clock.get("counts") or {}).items()}
    shifted = n.get("nonexistent_shifted", 0)
    resolved, unresolved = n.get("ambiguous_resolved", 0), n.get("ambiguous_unresolved", 0)
    if not shifted + resolved + unresolved:
        return None
    parts = []
    if shifted:
        parts.append(f"{shifted:,} event(s) fell in a nonexistent local hour (spring-forward) "
                     "and were shifted by one hour")  # fmt: skip
    if resolved + unresolved:
        parts.append(f"{resolved + unresolved:,}{'' if shifted else ' event(s)'} in a "
                     "repeated local hour (fall-back: "
                     f"{resolved:,} placed from the order of their file's lines, "
                     f"{unresolved:,} read as the first pass)")  # fmt: skip
    files, labs = clock.get("files") or [], clock.get("labs") or []
    return (
        "; ".join(parts)
        + f", in {len(files):,} file(s) of {len(labs):,} lab(s): their order within a session "
        "may be wrong (events.parquet, column ts_quality)"
    )


def params_dict(p: Any) -> Any:
    """A parameters dataclass as a JSON-safe dict (field name -> value); None stays None."""
    if p is None:
        return None
    if dataclasses.is_dataclass(p):
        return json_safe({f.name: getattr(p, f.name) for f in dataclasses.fields(p)})
    return json_safe(p)


def _sources_said(c: Mapping[str, Any]) -> str:
    """``", 131 source addresses, 11 flagged"`` (none: ``""``): sessions are not all."""
    n = int(c.get("sources", 0) or 0)
    return (
        f", {n:,} source addresses, {int(c.get('flagged_sources', 0) or 0):,} flagged" if n else ""
    )


def summary_text(
    findings: Mapping[str, Any],
    out: Path,
    *,
    key_file: Path | None = None,
    timings: Mapping[str, float] | None = None,
) -> str:
    """One screen of text: verdict, top findings, where the report is.

    Parameters
    ----------
    findings : dict
        :func:`build_findings` output.
    out : Path
        The output folder (its ``report.html`` and ``findings.json`` are named).
    key_file : Path, optional
        The case key file, named with a warning to keep it.
    timings : dict of str to float, optional
        Elapsed seconds per stage.
    """
    f = findings
    v = f["verdict"]
    lines = [
        # three sentences, not one parenthesis holding the strength's own (session 10 QA:
        # "(strength: moderate (log10 LR 1.21 against ... (no logged ...)); ...)")
        f"Verdict: {v['label']}. Strength: {v['strength']}. Stability: {v['stability_text']}.",
        f"  {v['summary']}",
        "",
        f"Evidence: {files_read(f['counts'])}, {f['counts']['events']:,} events, "
        f"{f['counts']['quarantined']:,} quarantined, {f['counts']['sessions']:,} sessions, "
        f"{f['counts']['flagged_sessions']:,} flagged" + _sources_said(f["counts"]) + ".",
    ]
    if f.get("findings_text"):
        lines.append("Top findings:")
        lines += [f"  {i}. {t}" for i, t in enumerate(f["findings_text"][:8], 1)]
    lines.append("")
    lines.append(f"Report:   {out / 'report.html'}")
    lines.append(f"Findings: {out / 'findings.json'}")
    if key_file is not None:
        lines.append(f"Case key: {key_file} (keep it: it re-identifies patients)")
    if timings:
        lines.append("Time:     " + ", ".join(f"{k} {s:.1f}s" for k, s in timings.items()))
    # an account, a lab, a path may hold control characters: shown as escapes, and a
    # newline in one cannot forge a line of its own (labforensics._terminal)
    return "\n".join(visible(line, keep="") for line in lines)
