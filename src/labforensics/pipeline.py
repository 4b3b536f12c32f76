"""The whole investigation in one call: evidence in, forensic report out.

:func:`investigate` chains the stages (ingest, sessions, features and detection,
attribution) and writes, into one output folder:

=====================  ===============================================================
``report.html``        the expert's report, self-contained (figures embedded, no script)
``findings.json``      verdict, hypotheses, windows, pathways, top sessions with reasons,
                       accounting and parameters; byte-identical across re-runs (no
                       wall-clock time, no absolute path)
``events.parquet``     the canonical event table with ``session_id`` (pseudonymised)
``sessions.parquet``   the session table
``scores.parquet``     session scores: ``session_id``, ``score``, ``rank``, ``flagged``,
                       ``reasons``
``quarantine.csv``     input rows that could not become events (formulas neutralised)
``sources.csv``        source addresses ranked by their authentication attempts (brute
                       force), :func:`labforensics.detect.score_sources` (neutralised)
``manifest.json``      chain of custody: SHA-256 and size of every input, SHA-256 of
                       every output, versions, parameters, seed, time zone, start/end
=====================  ===============================================================

The case key (pseudonymisation) comes from the case file's ``key_file``, else
``$LABFORENSICS_CASE_KEY``, else a key file beside the output folder
(``<out>.key``), created with a random key on the first run and reused by later
runs into the same folder. The key is never written inside the output folder;
the manifest records its fingerprint only.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import inspect
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .case import Case, ingest_options, load_case, make_params
from .errors import CaseKeyError, EvidenceError, ParameterError

__all__ = [
    "InvestigationResult",
    "add_cli_commands",
    "build_findings",
    "investigate",
    "resolve_case_key",
    "session_scores_table",
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


# --- the result --------------------------------------------------------------------------


@dataclass
class InvestigationResult:
    """What :func:`investigate` returns.

    Attributes
    ----------
    out : pathlib.Path
        The output folder.
    findings : dict
        The content of ``findings.json``.
    timings : dict of str to float
        Elapsed seconds per stage (not in findings: wall-clock values).
    evidence, sessions, scores, attribution : objects
        The stages' results, for further work in a notebook.
    key_file : pathlib.Path or None
        The case key file used (None when the key came from the environment).
    """

    out: Path
    findings: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    evidence: Any = None
    sessions: Any = None
    scores: Any = None
    attribution: Any = None
    key_file: Path | None = None

    @property
    def verdict(self) -> str:
        """The verdict's code (``vendor``, ``insider``, ``outside``, ``none`` ...)."""
        return str(self.findings["verdict"]["verdict"])

    @property
    def report(self) -> Path:
        return self.out / "report.html"

    def summary(self) -> str:
        """One screen of text: verdict, top findings, where the report is."""
        f = self.findings
        v = f["verdict"]
        lines = [
            f"Verdict: {v['label']} (strength: {v['strength']}; stability: {v['stability_text']})",
            f"  {v['summary']}",
            "",
            f"Evidence: {f['counts']['input_files']} file(s), {f['counts']['events']:,} events, "
            f"{f['counts']['quarantined']:,} quarantined, {f['counts']['sessions']:,} sessions, "
            f"{f['counts']['flagged_sessions']:,} flagged.",
        ]
        if f.get("findings_text"):
            lines.append("Top findings:")
            lines += [f"  {i}. {t}" for i, t in enumerate(f["findings_text"][:8], 1)]
        lines.append("")
        lines.append(f"Report:   {self.report}")
        lines.append(f"Findings: {self.out / 'findings.json'}")
        if self.key_file is not None:
            lines.append(f"Case key: {self.key_file} (keep it: it re-identifies patients)")
        if self.timings:
            lines.append("Time:     " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"InvestigationResult(out={str(self.out)!r}, verdict={self.verdict!r})"


# --- helpers -----------------------------------------------------------------------------


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with the keyword arguments it accepts (stages evolve independently)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn(*args, **kwargs)
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return fn(*args, **kwargs)
    return fn(*args, **{k: v for k, v in kwargs.items() if k in sig.parameters})


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_key_file(out: Path) -> Path:
    """``<out>.key`` beside the output folder (never inside it)."""
    out = Path(out).resolve()
    return out.parent / (out.name + ".key")


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


def resolve_case_key(case: Case, out: Path) -> tuple[Any, Path | None]:
    """The case key and the file it lives in.

    Order: the case's ``key_file`` (created with a random key when it does not
    exist yet), ``$LABFORENSICS_CASE_KEY``, then ``<out>.key`` beside the output
    folder (created when absent, reused otherwise).

    Raises
    ------
    CaseKeyError
        When the key file lies inside the output folder, or is unreadable.
    """
    from .privacy import ENV_VAR, CaseKey

    if case.key_file is not None:
        path = case.key_file
    elif os.environ.get(ENV_VAR):
        return CaseKey.from_hex(os.environ[ENV_VAR], origin="env"), None
    else:
        path = default_key_file(out)
    if _inside(path, out):
        raise CaseKeyError(
            f"case key file {path} lies inside the output folder {out}: a key must never be "
            "shipped with the report; move it beside the folder"
        )
    if path.exists():
        return CaseKey.from_file(path), path
    CaseKey.random().write(path)
    # read back: the key of this case is now the file's (origin "file:..."), not a throw-away
    return CaseKey.from_file(path), path


def expand_evidence(paths: Sequence[Path]) -> list[tuple[Path, Any]]:
    """:func:`labforensics.ingest.files.expand_paths` with its failures as EvidenceError.

    A symbolic-link loop inside an evidence folder (RuntimeError "Symlink loop" from
    :meth:`pathlib.Path.resolve`) or an unreadable folder (OSError) names the path.

    Raises
    ------
    EvidenceError
        When a path does not exist, cannot be listed, or holds a link loop.
    """
    from .ingest.files import expand_paths

    try:
        return list(expand_paths(paths))  # raises EvidenceError naming a missing path
    except EvidenceError:
        raise
    except RuntimeError as exc:  # pathlib: "Symlink loop from '...'"
        raise EvidenceError(
            f"cannot expand the evidence {', '.join(str(p) for p in paths)}: {exc} "
            "(a symbolic link points to itself; remove it or name the files explicitly)"
        ) from exc
    except OSError as exc:
        where = exc.filename or ", ".join(str(p) for p in paths)
        raise EvidenceError(
            f"cannot expand the evidence at {where}: {exc.strerror or exc}"
        ) from exc


def _check_inputs(paths: Sequence[Path]) -> tuple[list[Path], list[dict[str, str]]]:
    """Drop unreadable files from the inputs, recording why (the run goes on without them).

    Folders and globs are expanded only when one of their files cannot be read;
    otherwise the paths are passed on as given.

    Raises
    ------
    EvidenceError
        When a path does not exist (a typo must not silently shrink the evidence),
        or when no readable input is left.
    """
    items = expand_evidence(paths)
    bad: list[dict[str, str]] = []
    ok_files: list[Path] = []
    for p, _ in items:
        try:
            with open(p, "rb") as fh:
                fh.read(1)
        except OSError as exc:
            bad.append({"source_file": p.name, "problem": f"unreadable: {exc.strerror or exc}"})
            continue
        ok_files.append(p)
    if not ok_files:
        raise EvidenceError(
            "no readable evidence file in "
            + ", ".join(str(p) for p in paths)
            + ("; " + "; ".join(f"{b['source_file']} {b['problem']}" for b in bad) if bad else "")
        )
    return (list(paths) if not bad else ok_files), bad


def _drop_private(df: pd.DataFrame) -> pd.DataFrame:
    """Drop private columns (``_ipp``, ``_record`` ...) that must never leave the process."""
    private = [c for c in df.columns if str(c).startswith("_")]
    return df.drop(columns=private) if private else df


def _reasons_list(value: Any) -> list[str]:
    if value is None or value is pd.NA:
        return []
    if isinstance(value, str):
        return [r.strip() for r in value.split(";") if r.strip()]
    if isinstance(value, Iterable):
        return [str(v) for v in value if v is not None and v is not pd.NA]
    return [str(value)]


def session_scores_table(scores: Any) -> pd.DataFrame:
    """The session-level scores as a plain table.

    Accepts a :class:`labforensics.detect.Scores` (its session table) or a
    DataFrame with ``session_id`` and ``score``.

    Returns
    -------
    pandas.DataFrame
        ``session_id`` (str), ``score`` (float64, higher is more anomalous), ``rank``
        (int64, 1 is the most anomalous), ``flagged`` (bool), ``reasons`` (str, the
        top reasons joined by ``"; "``), sorted by rank.
    """
    table = None
    if isinstance(scores, pd.DataFrame):
        table = scores
    else:
        for name in ("session", "sessions"):
            t = getattr(scores, name, None)
            if isinstance(t, pd.DataFrame):
                table = t
                break
        if table is None:
            tabs = getattr(scores, "tables", None)
            if isinstance(tabs, Mapping):
                table = tabs.get("session", tabs.get("sessions"))
        if table is not None and not isinstance(table, pd.DataFrame):
            table = getattr(table, "table", getattr(table, "frame", None))
    cols = ["session_id", "score", "rank", "flagged", "reasons"]
    if table is None or "session_id" not in table.columns:
        return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in
                             zip(cols, ["string", "float64", "int64", "bool", "string"],
                                 strict=True)})  # fmt: skip
    t = table.reset_index(drop=True)
    score = pd.to_numeric(t["score"], errors="coerce").astype("float64")
    if "rank" in t.columns:
        rank = pd.to_numeric(t["rank"], errors="coerce").fillna(len(t)).astype("int64")
    else:
        rank = score.rank(method="first", ascending=False).fillna(len(t)).astype("int64")
    flagged = t["flagged"].fillna(False).astype(bool) if "flagged" in t.columns else score.gt(0)
    reasons = t["reasons"] if "reasons" in t.columns else pd.Series([None] * len(t))
    res = pd.DataFrame({
        "session_id": t["session_id"].astype("string"),
        "score": score,
        "rank": rank,
        "flagged": flagged.to_numpy(),
        "reasons": pd.Series(["; ".join(_reasons_list(r)) for r in reasons], dtype="string"),
    })  # fmt: skip
    return res.sort_values(["rank", "session_id"], kind="stable").reset_index(drop=True)


def _top_sessions(sessions: pd.DataFrame, ss: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    from .outputs import json_safe

    if ss.empty or sessions.empty:
        return []
    keep = [c for c in ("session_id", "lab", "account", "account_kind", "role", "start", "end",
                        "duration_s", "n_events", "hosts", "src_ips", "modules",
                        "records_exported", "records_extracted", "bytes_out",
                        "distinct_patients", "failed_logins_before") if c in sessions.columns]  # fmt: skip
    top = ss.head(n).merge(sessions[keep], on="session_id", how="left", sort=False)
    rows = json_safe(top)
    for r in rows:
        r["reasons"] = _reasons_list(r.get("reasons"))
    return rows


def _verdict_class(code: str) -> str:
    c = code.lower()
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


_VERDICT_LABELS = {
    "vendor": "The LIS vendor",
    "insider": "Laboratory staff (insider)",
    "outside": "An outside attacker",
    "mixed": "Mixed: several sources",
    "none": "No exfiltration found",
    "undetermined": "Undetermined",
}


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
    from .outputs import json_safe

    if att is None:
        d: dict[str, Any] = {}
    elif isinstance(att, Mapping):
        d = json_safe(dict(att))
    else:
        d = json_safe(att.to_dict())

    def section(name: str) -> list[dict[str, Any]]:
        v = d.get(name)
        return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []

    code = str(d.get("verdict") or "undetermined")
    cls = _verdict_class(code) if att is not None else "undetermined"
    hyps = section("hypotheses")
    win = [h for h in hyps if h.get("hypothesis") == code]
    strength = str(win[0].get("strength")) if win and win[0].get("strength") else "n/a"
    rule = d.get("verdict_rule") or ""
    summary = rule
    if att is None:
        summary = "No attribution was made."
    label = _VERDICT_LABELS[cls]
    if cls == "undetermined" and code not in ("undetermined", ""):
        label = code
    return {
        "verdict": {
            "verdict": code,
            "class": cls,
            "label": label,
            "strength": strength,
            "rule": d.get("rule") or "",
            "stability": d.get("stability", {}).get("agreement")
            if isinstance(d.get("stability"), dict)
            else d.get("stability"),
            "stability_text": _stability_text(d.get("stability")),
            "summary": group_counts(str(summary)),
        },
        "hypotheses": hyps,
        "windows": section("windows"),
        "pathways": section("pathways"),
        "transfers": section("transfers"),
        "coverage": section("leak_summary") or section("coverage"),
        "candidates": section("candidates")[:TOP_SESSIONS],
        "raw": {k: v for k, v in d.items() if k not in _SURFACED and k != "verdict"},
    }


def _findings_text(f: dict[str, Any], tz: str) -> list[str]:
    from .report.html import make_formatter

    when = make_formatter(tz)
    out: list[str] = []
    for s in f["top_sessions"][:5]:
        if not s.get("flagged"):
            continue
        recs = (s.get("records_exported") or 0) + (s.get("records_extracted") or 0)
        reasons = "; ".join(s.get("reasons") or [])[:240]
        out.append(
            f"Session of {s.get('account') or '(no account)'} ({s.get('account_kind')}) at {s.get('lab')} "
            f"starting {when(s.get('start'))}: {recs:,} records sent out, score "
            f"{s.get('score', 0):.2f}" + (f" ({reasons})" if reasons else "")
        )
    flagged_src = [s for s in f.get("top_sources", []) if s.get("flagged")]
    for s in flagged_src[:TEXT_SOURCES]:
        out.append(
            f"Authentication attack from {s.get('src_ip')} at {s.get('lab')}, "
            f"{when(s.get('first'))} to {when(s.get('last'))}: {s.get('reasons')}"
        )
    n_more = f["counts"].get("flagged_sources", 0) - min(len(flagged_src), TEXT_SOURCES)
    if n_more > 0:
        out.append(f"{n_more:,} more source address(es) flagged for authentication attacks "
                   "(sources.csv).")  # fmt: skip
    if f["windows"]:
        out.append(f"{len(f['windows'])} exfiltration window(s) established from the leak.")
    if f["pathways"]:
        out.append(f"{len(f['pathways'])} pathway(s) across labs.")
    if f["transfers"]:
        out.append(f"{len(f['transfers'])} transfer(s) of extraction files from the FTP server.")
    if f["counts"]["quarantined"]:
        out.append(f"{f['counts']['quarantined']:,} input rows quarantined (see section 2).")
    return out


#: Above this many evidence files, findings.json lists per-file rows only for notable files
#: (manifest.json always lists every file with its SHA-256).
MAX_LISTED_FILES = 500
_NOTABLE = ("quarantined", "rotation_duplicates", "repeated_headers", "ignored", "field_problems")


def _accounting_section(accounting: Mapping[str, Any]) -> dict[str, Any]:
    """Accounting without absolute paths; per-file rows trimmed to notable files when many."""
    files = [{k: v for k, v in fr.items() if k != "path"} for fr in accounting.get("files", [])]
    listed, how = files, "all"
    if len(files) > MAX_LISTED_FILES:
        listed = [fr for fr in files if fr.get("truncated") or any(fr.get(c) for c in _NOTABLE)]
        how = "notable only: " + ", ".join(_NOTABLE) + " or truncated (every file: manifest.json)"
    return {**accounting, "files": listed, "files_total": len(files), "files_listed": how}


def _inputs_section(inputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every input, or (with many evidence files) the companions and one digest of the rest."""
    import hashlib

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


def build_findings(
    *,
    events: pd.DataFrame,
    sessions: pd.DataFrame,
    session_scores: pd.DataFrame,
    attribution: Any,
    accounting: Mapping[str, Any],
    inputs: Sequence[Mapping[str, Any]],
    case: Case,
    parameters: Mapping[str, Any],
    key_fingerprint: str | None,
    sources: pd.DataFrame | None = None,
    leak_patients: int | None = None,
    transfers_given: bool = False,
    unreadable: Sequence[Mapping[str, str]] = (),
    stages: Sequence[Mapping[str, Any]] = (),
    reproduce: str = "",
) -> dict[str, Any]:
    """Assemble ``findings.json`` (JSON-safe, deterministic, no wall-clock time, no absolute path).

    Parameters
    ----------
    events, sessions : pandas.DataFrame
        Canonical event (with ``session_id``) and session tables.
    session_scores : pandas.DataFrame
        :func:`session_scores_table` output.
    attribution : Attribution, dict or None
    accounting : dict
        :meth:`IngestReport.to_dict` (``totals``, ``files`` ...).
    inputs : list of dict
        ``source_file``, ``format``, ``size`` (bytes), ``sha256``, ``role`` of every input.
    sources : pandas.DataFrame, optional
        :func:`labforensics.detect.score_sources` output, sorted by rank; its first
        :data:`TOP_SOURCES` rows become ``top_sources``.
    """
    from . import report
    from .outputs import json_safe

    tz = case.tz
    att = attribution_findings(attribution)
    ev = events
    totals = dict(accounting.get("totals", {}))
    att_totals = att["raw"].get("totals") or {}
    leak_found = att_totals.get("found")
    if leak_patients is None or leak_found == 0:
        # stability measures how often reruns reach the same attribution of a leak:
        # with no leak (or none of it found in the evidence) there is nothing to attribute
        att["verdict"]["stability_text"] = "not applicable (no leak to attribute)"
    f: dict[str, Any] = {
        "question": QUESTION,
        "tool": {"name": "labforensics", "version": __version__},
        "case": {"name": case.name, "tz": tz, "seed": case.seed},
        "case_key_fingerprint": key_fingerprint,
        **{
            k: att[k]
            for k in (
                "verdict",
                "hypotheses",
                "windows",
                "pathways",
                "transfers",
                "coverage",
                "candidates",
            )
        },  # fmt: skip
        "attribution": att["raw"],
        "leak": {
            "given": leak_patients is not None,
            "patients": leak_patients,
            "labs": len({c.get("lab") for c in att["coverage"] if c.get("leaked_found")})
            if att["coverage"]
            else None,
            "found": leak_found,
        },
        "transfers_given": transfers_given,
        "top_sessions": _top_sessions(sessions, session_scores, TOP_SESSIONS),
        "top_sources": json_safe(sources.head(TOP_SOURCES)) if sources is not None else [],
        "counts": {
            "input_files": len([i for i in inputs if i.get("role") == "evidence"]),
            "input_bytes": int(sum(int(i.get("size") or 0) for i in inputs)),
            "events": int(len(ev)),
            "quarantined": int(totals.get("quarantined", 0)),
            "sessions": int(len(sessions)),
            "flagged_sessions": int(session_scores["flagged"].sum()) if len(session_scores) else 0,
            "sources": int(len(sources)) if sources is not None else 0,
            "flagged_sources": int(sources["flagged"].sum()) if sources is not None else 0,
            "labs": int(ev["lab"].nunique()) if len(ev) else 0,
        },
        "period": {
            "start": ev["ts"].min() if len(ev) else None,
            "end": ev["ts"].max() if len(ev) else None,
        },
        "accounting": _accounting_section(accounting),
        "unreadable": list(unreadable),
        "migrations": report.tables.migrations(ev) if len(ev) else [],
        "gaps": report.tables.log_gaps(ev, tz) if len(ev) else [],
        "inputs": _inputs_section(inputs),
        "parameters": parameters,
        "stages": list(stages),
        "reproduce": reproduce,
    }
    f = json_safe(f)
    f["findings_text"] = _findings_text(f, tz)
    f["parameters_text"] = json.dumps(f["parameters"], indent=2, sort_keys=True)
    return f


def _params_dict(p: Any) -> Any:
    from .outputs import json_safe

    if p is None:
        return None
    if dataclasses.is_dataclass(p):
        return json_safe({f.name: getattr(p, f.name) for f in dataclasses.fields(p)})
    return json_safe(p)


class _Stages:
    """Runs named stages with a tqdm bar each and records their elapsed seconds."""

    def __init__(self, n: int, progress: bool) -> None:
        self.n = n
        self.i = 0
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.rows: list[dict[str, Any]] = []

    def run(self, name: str, fn: Callable[[], Any], count: Callable[[Any], str] | None = None):
        from tqdm.auto import tqdm

        self.i += 1
        t0 = time.perf_counter()
        with tqdm(total=1, desc=f"[{self.i}/{self.n}] {name}", disable=not self.progress,
                  leave=True, file=sys.stderr, bar_format="{desc}: {bar:12} {elapsed}{postfix}",
                  ) as bar:  # fmt: skip
            res = fn()
            note = count(res) if count else ""
            if note:
                bar.set_postfix_str(note)
            bar.update(1)
        self.timings[name] = time.perf_counter() - t0
        self.rows.append({"stage": name, "output": note})
        return res


def _file_record(path: Path, role: str, fmt: str | None = None) -> tuple[Any, dict[str, Any]]:
    from .custody import EvidenceFile

    ef = EvidenceFile.hash(path, path.name, fmt)
    return ef, {"source_file": path.name, "role": role, "format": fmt, "size": ef.size,
                "sha256": ef.sha256}  # fmt: skip


def investigate(
    evidence: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    out: str | os.PathLike[str],
    *,
    leak: str | os.PathLike[str] | None = None,
    transfers: str | os.PathLike[str] | None = None,
    case: str | os.PathLike[str] | Case | None = None,
    force: bool = False,
    progress: bool = True,
    command: list[str] | None = None,
    tz: str | None = None,
    year: int | None = None,
    lab: str | None = None,
) -> InvestigationResult:
    """Run the whole investigation and write the forensic report.

    Parameters
    ----------
    evidence : path or list of paths, or None
        Evidence files, folders or globs (as :func:`labforensics.read_evidence`).
        None takes them from the case file's ``[evidence]`` section.
    out : path
        Output folder; must not exist or be empty unless ``force``.
    leak : path, optional
        Leaked identifiers (CSV with ``lab`` and ``ipp`` columns); default from the case.
    transfers : path, optional
        The vendor's FTP server ``xferlog``; default from the case.
    case : path or Case, optional
        ``case.toml`` (see :mod:`labforensics.case`).
    force : bool
        Overwrite a non-empty output folder.
    progress : bool
        Show a progress bar per stage (stderr).
    tz : str, optional
        IANA time zone of the sources; overrides the case file's ``[case] tz``.
    year : int, optional
        Year of RFC 3164 syslog lines (which carry none); overrides ``[ingest] year``.
    lab : str, optional
        Lab of sources that name none; overrides ``[ingest] lab``.

    Returns
    -------
    InvestigationResult

    Raises
    ------
    OutputExistsError
        When ``out`` exists, is not empty and ``force`` is False.
    EvidenceError
        When an evidence path does not exist or nothing readable is left.
    CaseKeyError, ParameterError
        On a bad key file or case file.
    """
    from . import report
    from .cli import prepare_out
    from .custody import run_manifest
    from .outputs import write_csv, write_json, write_parquet

    started = _utcnow()
    case_ = load_case(case)
    if tz is not None:
        case_ = dataclasses.replace(case_, tz=tz)
    ingest_kw = ingest_options(case_)
    if year is not None:
        ingest_kw["year"] = year
    if lab is not None:
        ingest_kw["lab"] = lab
    # every stage's parameters checked before anything is read or written
    from .attribution import AttributionParams
    from .detect import DetectParams, SourceParams
    from .features import FeatureParams
    from .sessions import SessionParams

    srcp = make_params(SourceParams, case_, "sources")
    sp = make_params(SessionParams, case_, "sessions")
    fp = make_params(FeatureParams, case_, "features")
    dp = make_params(DetectParams, case_, "detection")
    ap = make_params(AttributionParams, case_, "attribution")
    if evidence is None or (isinstance(evidence, Sequence) and not isinstance(evidence, str)
                            and len(evidence) == 0):  # fmt: skip
        if not case_.evidence:
            raise ParameterError(
                "no evidence given and the case file names none ([evidence] paths)"
            )
        evidence = list(case_.evidence)
    paths = (
        [Path(evidence)] if isinstance(evidence, str | os.PathLike) else [Path(p) for p in evidence]
    )
    leak_path = Path(leak) if leak is not None else case_.leak
    xfer_path = Path(transfers) if transfers is not None else case_.transfers
    out_p = Path(out).resolve()
    for p in paths:
        if _inside(out_p, p) or _inside(p, out_p):
            raise ParameterError(f"the output folder {out_p} and the evidence {p} overlap")
    readable, unreadable = _check_inputs(paths)
    prepare_out(out_p, force)
    key, key_file = resolve_case_key(case_, out_p)

    from .ingest import read_evidence

    st = _Stages(6, progress)
    ev = st.run(
        "ingest",
        lambda: _call(
            read_evidence,
            [str(p) for p in readable],
            tz=case_.tz,
            case_key=key,
            lab_aliases=case_.lab_aliases,
            account_kinds=case_.account_kinds,
            progress=progress,
            **ingest_kw,
        ),  # fmt: skip
        lambda e: f"{len(e.events):,} events, {int(len(e.quarantine)):,} quarantined",
    )
    from .detect import score_sources

    src = st.run("sources", lambda: score_sources(ev.events, srcp),
                 lambda t: f"{len(t):,} source addresses, {int(t['flagged'].sum()):,} flagged")  # fmt: skip
    from .sessions import sessionize

    ss = st.run("sessions", lambda: sessionize(ev.events, sp),
                lambda s: f"{len(s.sessions):,} sessions")  # fmt: skip

    from .detect import score
    from .features import build_features

    def _detect():
        feats = build_features(ss.events, ss.sessions, fp)
        return score(feats, dp)

    sc = st.run("detection", _detect)
    sst = session_scores_table(sc)
    from .attribution import attribute

    scored = sc.session if getattr(sc, "session", None) is not None else sst
    at = st.run(
        "attribution",
        lambda: attribute(
            ss.events,
            ss.sessions,
            scored,
            leak=leak_path,
            transfers=xfer_path,
            case_key=key,
            params=ap,
        ),  # fmt: skip
        lambda a: f"verdict {a.verdict}",
    )
    totals = getattr(at, "totals", {}) or {}
    leak_n = totals.get("leak_identifiers") if leak_path is not None else None

    inputs: list[dict[str, Any]] = []
    files = list(getattr(ev, "manifest", None) or getattr(ev, "manifest_files", None) or [])
    for ef in files:
        inputs.append({"source_file": ef.source_file, "role": "evidence", "format": ef.format,
                       "size": ef.size, "sha256": ef.sha256})  # fmt: skip
    extra_files = []
    for p, role in ((leak_path, "leak"), (xfer_path, "transfers"), (case_.path, "case")):
        if p is not None:
            efile, rec = _file_record(Path(p), role)
            extra_files.append(efile)
            inputs.append(rec)

    parameters = {
        "case": case_.to_dict(),
        "sessions": _params_dict(sp),
        "features": _params_dict(fp),
        "detection": _params_dict(dp),
        "sources": _params_dict(srcp),
        "attribution": _params_dict(ap),
        "tz": case_.tz,
        "seed": case_.seed,
        "ingest": {k: v for k, v in sorted(ingest_kw.items()) if k != "progress"},
    }
    repro = ["labforensics investigate", *[p.name for p in paths], "--out", "OUT"]
    if case_.path:
        repro += ["--case", case_.path.name]
    if leak_path:
        repro += ["--leak", Path(leak_path).name]
    if xfer_path:
        repro += ["--transfers", Path(xfer_path).name]
    if tz is not None:
        repro += ["--tz", tz]
    if year is not None:
        repro += ["--year", str(year)]
    if lab is not None:
        repro += ["--lab", lab]
    reproduce = (
        " ".join(repro)
        + f"\n# with the case key whose fingerprint is {key.fingerprint}"
        + f"\n# labforensics {__version__}"
    )

    def _write() -> dict[str, Any]:
        events_out = _drop_private(ss.events)
        findings = build_findings(
            events=events_out, sessions=ss.sessions, session_scores=sst, attribution=at,
            accounting=ev.report.to_dict(), inputs=inputs, case=case_, parameters=parameters,
            key_fingerprint=key.fingerprint, leak_patients=leak_n,
            transfers_given=xfer_path is not None, unreadable=unreadable, stages=st.rows,
            reproduce=reproduce, sources=src,
        )  # fmt: skip
        write_json(findings, out_p / "findings.json")
        write_parquet(events_out, out_p / "events.parquet")
        write_parquet(_drop_private(ss.sessions), out_p / "sessions.parquet")
        write_parquet(scored if isinstance(scored, pd.DataFrame) else sst, out_p / "scores.parquet")
        write_csv(ev.quarantine, out_p / "quarantine.csv")
        write_csv(src, out_p / "sources.csv")
        data = report.ReportData(
            findings=findings, events=events_out, sessions=ss.sessions, quarantine=ev.quarantine,
            accounting=ev.report.to_frame(), tz=case_.tz, title=case_.name, session_scores=sst,
        )  # fmt: skip
        report.write_report(data, out_p / "report.html")
        return findings

    findings = st.run("report", _write, lambda f: f"verdict {f['verdict']['verdict']}")
    manifest = run_manifest(
        inputs=[*files, *extra_files],
        out=out_p,
        parameters=parameters,
        started=started,
        finished=_utcnow(),
        command=command or ["labforensics.investigate"],
        key_fingerprint=key.fingerprint,
        extra={
            "seed": case_.seed,
            "tz": case_.tz,
            "timings_s": {k: round(v, 3) for k, v in st.timings.items()},
        },  # fmt: skip
    )
    write_json(manifest, out_p / "manifest.json")
    return InvestigationResult(out=out_p, findings=findings, timings=st.timings, evidence=ev,
                               sessions=ss, scores=sc, attribution=at, key_file=key_file)  # fmt: skip


# --- command line ------------------------------------------------------------------------


def _add_investigate(p: argparse.ArgumentParser) -> None:
    p.add_argument("evidence", nargs="*", help="evidence files, folders or globs")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--leak", type=Path, default=None, help="leaked identifiers (CSV lab,ipp)")
    p.add_argument("--transfers", type=Path, default=None, help="the FTP server's xferlog")
    p.add_argument("--case", type=Path, default=None, help="case.toml")
    p.add_argument(
        "--tz",
        default=None,
        help="local time zone of the sources (IANA name; overrides the case file)",
    )
    p.add_argument(
        "--year", type=int, default=None, help="year of RFC 3164 syslog lines, which carry none"
    )
    p.add_argument("--lab", default=None, help="lab of sources that name none")  # fmt: skip
    p.add_argument("--force", action="store_true", help="overwrite a non-empty output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_investigate)


def _cmd_investigate(ns: argparse.Namespace) -> int:
    res = investigate(
        ns.evidence or None, ns.out, leak=ns.leak, transfers=ns.transfers, case=ns.case,
        force=ns.force, progress=not ns.quiet, command=["labforensics", *sys.argv[1:]],
        tz=ns.tz, year=ns.year, lab=ns.lab,
    )  # fmt: skip
    print(res.summary())
    return 0


def _add_reidentify(p: argparse.ArgumentParser) -> None:
    from .reidentify import add_arguments

    add_arguments(p)


def add_cli_commands(extensions: dict) -> None:
    """Register ``investigate`` and ``reidentify`` in the ``labforensics`` command."""
    extensions["investigate"] = (_add_investigate, "the whole pipeline to a forensic report")
    extensions["reidentify"] = (
        _add_reidentify,
        "map pseudonyms back to (lab, IPP) for patient notification (data-protection officer)",
    )
