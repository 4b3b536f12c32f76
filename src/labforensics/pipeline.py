"""The whole investigation in one call: evidence in, forensic report out.

:func:`investigate` chains the stages (ingest, sessions, features and detection,
attribution) and writes, into one output folder, ``report.html``, ``findings.json``,
``events.parquet``, ``sessions.parquet``, ``scores.parquet``, ``campaigns.parquet``,
``exports.parquet``, ``quarantine.csv``, ``field_problems.csv``, ``sources.csv``,
``report.pdf`` (with Chromium: :mod:`labforensics.report.pdf`) and ``manifest.json``
(each described in :mod:`labforensics.outputs`).

The case key (pseudonymisation) comes from the case file's ``key_file``, else
``$LABFORENSICS_CASE_KEY``, else a key file beside the output folder
(``<out>.key``), created with a random key on the first run and reused by later
runs into the same folder. The key is never written inside the output folder;
the manifest records its fingerprint only.

:func:`ingest_only` is the ``labforensics ingest`` command's work: the evidence
read and its tables written, with a manifest, and nothing more.

This module orchestrates and holds no rule of its own: each stage is called
with exactly its signature, the findings are built and worded in
:mod:`labforensics.report.findings`, the files written by
:mod:`labforensics.outputs`, the case key found by :mod:`labforensics.case`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._cleanup import discard_on_failure, interrupt_noted, sigterm_raises
from ._heap import caller_heap_frozen
from ._terminal import visible
from .attribution import Attribution, AttributionParams, attribute
from .authorisation import exports_summary, read_authorisations
from .case import (
    CaseContext,
    load_case,
    params_from_case,
    resolve_case_key,
)
from .case_events import CaseEvents, EventsFolder
from .custody import EvidenceFile, run_manifest
from .detect import DetectParams, Scores, SourceParams, score_sources
from .detect.campaign_labs import flagged_count, group_campaigns_by_lab, held, write_campaigns
from .detect.campaigns import CampaignParams, campaign_findings
from .engine import ENGINES, LabRun, LabSettings, make_engine, split_by_lab
from .engine.partitions import empty_like, release_memory, store_evidence
from .engine.run import EngineTerminated
from .engine.streamed_files import streamed_evidence, streams
from .errors import EvidenceError, ParameterError
from .evidence_paths import _check_inputs, _check_no_overlap, _evidence_paths, expand_evidence
from .features import FeatureParams
from .ingest import Evidence, read_evidence
from .ingest.options import ingest_options
from .leak.horizon import (
    LeakLinkage,
    is_identifier_list,
    leak_files,
    link_leak,
    read_identifier_list,
)
from .leak.patients import read_patient_index
from .leak.quarantine import leak_input_checks, with_leak_quarantine
from .outputs import OUTPUT_NAMES, prepare_out, write_csv, write_json, write_parquet
from .preflight import EXPECTED, check_companions, check_text_file
from .privacy import CaseKey
from .progress import progress_bar
from .report import ReportData, write_report
from .report.findings import (
    build_findings,
    input_limits,
    params_dict,
    reproduce_text,
    session_scores_table,
)
from .report.pdf import PdfResult, write_pdf
from .result import InvestigationResult, LazyEvidence, LazyScores, LazySessions, result_events
from .score_files import move_into, set_aside
from .scored_labs import n_flagged
from .session_files import SessionFile, collect_slim, rows_of, write_sessions
from .sessions import SessionParams
from .store import load_store, reading_store, store_options
from .store._verify import store_input

__all__ = ["InvestigationResult", "expand_evidence", "ingest_only", "investigate"]


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the stages --------------------------------------------------------------------------


class _Stages:
    """Runs named stages with a bar each (lines in a log) and records their elapsed seconds."""

    def __init__(self, n: int, progress: bool) -> None:
        self.n, self.i, self.progress = n, 0, progress
        self.timings: dict[str, float] = {}
        self.rows: list[dict[str, Any]] = []

    def run(self, name: str, fn: Callable[[], Any], count: Callable[[Any], str] | None = None):
        self.i += 1
        release_memory()  # the previous stages' freed memory back first (labforensics.engine)
        t0 = time.perf_counter()
        with progress_bar(total=1, desc=f"[{self.i}/{self.n}] {name}", enabled=self.progress,
                          leave=True, bar_format="{desc}: {bar:12} {elapsed}{postfix}",
                          line_format="{desc}: {elapsed}{postfix}") as bar, interrupt_noted():  # fmt: skip
            res = fn()
            note = count(res) if count else ""
            if note:
                bar.set_postfix_str(note)
            bar.update(1)
        self.timings[name] = time.perf_counter() - t0
        self.rows.append({"stage": name, "output": note})
        return res


def _file_record(path: Path, role: str, fmt: str | None = None) -> tuple[Any, dict[str, Any]]:
    ef = EvidenceFile.hash(path, path.name, fmt)
    return ef, {"source_file": path.name, "role": role, "format": fmt, "size": ef.size,
                "sha256": ef.sha256}  # fmt: skip


def _evidence_record(ef: EvidenceFile) -> dict[str, Any]:
    """An evidence file as a findings input (name, role, format, size in bytes, SHA-256)."""
    return {"source_file": ef.source_file, "role": "evidence", "format": ef.format,
            "size": ef.size, "sha256": ef.sha256}  # fmt: skip


@dataclass(frozen=True)
class _Plan:
    """What one run reads and how: the case's facts, every stage's knobs, the companion
    files."""

    case: CaseContext
    ingest: dict[str, Any]
    sources: SourceParams
    sessions: SessionParams
    features: FeatureParams
    detection: DetectParams
    attribution: AttributionParams
    leak: Path | None
    transfers: Path | None
    evidence: list[Path]
    overrides: dict[str, Any]
    patients: tuple[Path, ...] = ()
    leak_is_dump: bool = False
    campaigns: CampaignParams = CampaignParams()
    store: Path | None = None  # an evidence store read instead of the files (labforensics.store)
    authorisations: Path | None = None
    register: pd.DataFrame | None = None
    #: Files of a dump folder skipped by the checks (path, reason): not linked.
    leak_skipped: tuple[tuple[Path, str], ...] = ()
    engine: Any = "local"  # labforensics.engine: "local", "dask" or an engine object
    scheduler: str | None = None  # the Dask scheduler's address (None: a LocalCluster)
    memory_budget: int | None = None  # bytes (stated; see investigate)

    def parameters(self) -> dict[str, Any]:
        """The ``parameters`` of findings.json and manifest.json (the key: its fingerprint)."""
        return {
            "case": {k: v for k, v in self.case.to_dict().items() if k != "key_file"},
            "sessions": params_dict(self.sessions),
            "features": params_dict(self.features),
            "detection": params_dict(self.detection),
            "sources": params_dict(self.sources),
            "attribution": params_dict(self.attribution),
            "campaigns": params_dict(self.campaigns),
            "tz": self.case.tz,
            "seed": self.case.seed,
            "ingest": {k: v for k, v in sorted(self.ingest.items()) if k != "progress"},
            "memory_budget": self.memory_budget,
        }


def _plan(
    evidence: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    case: str | os.PathLike[str] | CaseContext | None,
    *,
    leak: str | os.PathLike[str] | None,
    transfers: str | os.PathLike[str] | None,
    tz: str | None,
    year: int | None,
    lab: str | None,
    patients: Any = None,
    authorisations: str | os.PathLike[str] | None = None,
) -> _Plan:
    """Load the case, apply the command-line overrides and check every stage's parameters.

    Every parameter is checked here, before anything is read or written.

    Raises
    ------
    ParameterError
        On a bad case file or parameter (naming the file, section and key), when
        no evidence is given and the case file names none, or on a bad authorisation
        register (:class:`~labforensics.authorisation.RegisterError`, naming its lines).
    """
    case_ = load_case(case)
    if tz is not None:
        case_ = dataclasses.replace(case_, tz=tz)
    ingest_kw = ingest_options(case_)
    if year is not None:
        ingest_kw["year"] = year
    if lab is not None:
        ingest_kw["lab"] = lab
    leak_p = Path(leak) if leak is not None else case_.leak
    pats = _patient_paths(patients, case_)
    transfers_p = Path(transfers) if transfers is not None else case_.transfers
    for role, path in (("leak", leak_p), ("transfer log", transfers_p),
                       *(("patient index", q) for q in pats)):  # fmt: skip
        if path is not None and not path.exists():  # before any reading: say so plainly
            raise ParameterError(f"the {role} {path} does not exist")
    if leak_p is not None and leak_p.is_file():
        check_text_file(leak_p, "leak")  # empty, binary, one huge line: refused here
    is_dump = leak_p is not None and not is_identifier_list(leak_p)
    if is_dump and not pats:
        raise ParameterError(
            f"the leak {leak_p} is not a list of identifiers (no IPP, pseudonym or NIR "
            "column), so it is read as a dump of people (name columns, or a folder): give "
            "the labs' patient indexes with --patients PATH (or [leak] patient_index in the "
            f"case file) to link it; expected {EXPECTED['leak']}"
        )
    reg_p = Path(authorisations) if authorisations is not None else case_.authorisations
    return _Plan(
        case=case_,
        ingest=ingest_kw,
        sources=params_from_case(SourceParams, case_, "sources"),
        sessions=params_from_case(SessionParams, case_, "sessions"),
        features=params_from_case(FeatureParams, case_, "features"),
        detection=params_from_case(DetectParams, case_, "detection"),
        attribution=params_from_case(AttributionParams, case_, "attribution"),
        leak=leak_p,
        transfers=transfers_p,
        evidence=_evidence_paths(evidence, case_),
        overrides={"tz": tz, "year": year, "lab": lab},
        patients=pats,
        leak_is_dump=is_dump,
        campaigns=params_from_case(CampaignParams, case_, "campaigns"),
        authorisations=reg_p,
        register=read_authorisations(reg_p, case_) if reg_p is not None else None,
    )


def _patient_paths(patients: Any, case: CaseContext) -> tuple[Path, ...]:
    """The patient indexes: the argument (a path or paths), else ``[leak] patient_index``."""
    if patients is None:
        return tuple(case.patient_index)
    if isinstance(patients, (str, os.PathLike)):
        return (Path(patients),)
    return tuple(Path(p) for p in patients)


@dataclass
class _Results:
    """The stages' results of one run."""

    evidence: Evidence
    sources: pd.DataFrame
    sessions: pd.DataFrame | Any  # or its slim table a file a lab (session_labs.SlimLabs)
    events: CaseEvents
    session_params: SessionParams
    scores: Scores
    session_scores: pd.DataFrame
    scored: pd.DataFrame
    attribution: Attribution
    leak_linkage: LeakLinkage | None = None
    campaigns: pd.DataFrame | None = None
    exports: pd.DataFrame | None = None
    score_files: dict[str, Path] = dataclasses.field(default_factory=dict)
    session_file: SessionFile | None = None  # the session table set aside (session_files.py)


def _ingest(files: Sequence[Path], plan: _Plan, key: CaseKey, progress: bool) -> Evidence:
    if plan.store is not None:  # the same Evidence as the files, from the store
        opts = store_options(tz=None, profile=plan.ingest.get("profile"),
                             year=plan.ingest.get("year"), lab=plan.ingest.get("lab"),
                             case=plan.case)  # fmt: skip
        return load_store(plan.store, options=opts, key_fingerprint=key.fingerprint)
    return read_evidence(
        [str(p) for p in files],
        profile=plan.ingest.get("profile"),
        case_key=key,
        year=plan.ingest.get("year"),
        lab=plan.ingest.get("lab"),
        progress=progress,
        case=plan.case,
    )


def _ingest_parts(
    files: Sequence[Path], plan: _Plan, key: CaseKey, progress: bool,
    folder: EventsFolder | None = None,
) -> tuple[Evidence, list[Any]]:  # fmt: skip
    """The evidence's accounting and its lab partitions (:mod:`labforensics.engine`).

    From files: the whole read, split by lab, or with a memory budget, streamed through
    a temporary store in ``folder`` (:mod:`labforensics.engine.streamed_files`). From a
    store: the accounting only; the engine reads each lab (``StorePartition``).
    """
    if folder and plan.store is None and streams(plan.memory_budget, plan.engine, plan.scheduler):
        return streamed_evidence(files, plan.ingest, plan.case, key, folder, progress=progress)
    if plan.store is not None:
        opts = store_options(tz=None, profile=plan.ingest.get("profile"),
                             year=plan.ingest.get("year"), lab=plan.ingest.get("lab"),
                             case=plan.case)  # fmt: skip
        return store_evidence(plan.store, options=opts, key_fingerprint=key.fingerprint)
    ev = _ingest(files, plan, key, progress)
    parts = split_by_lab(ev.events)
    return dataclasses.replace(ev, events=empty_like(ev.events)), parts  # no view: freed


def _run_stages(
    st: _Stages, files: Sequence[Path], plan: _Plan, key: CaseKey, progress: bool,
    out: Path | None = None, folder: EventsFolder | None = None,
) -> _Results:  # fmt: skip
    """Ingest, sessions, features and detection lab by lab (:mod:`labforensics.engine`),
    source addresses, campaigns, attribution; every stage that uses a case fact receives
    the one :class:`CaseContext` as ``case=``. The events stay per lab after the engine
    (:class:`~labforensics.case_events.CaseEvents`): in ``folder`` when the engine
    spilled its labs (``memory_budget``), else in memory."""
    case = plan.case
    ev, parts = st.run("ingest", lambda: _ingest_parts(files, plan, key, progress, folder),
                       lambda r: f"{sum(len(p) for p in r[1]):,} events in {len(r[1]):,} "
                                 f"partitions, {int(len(r[0].quarantine)):,} quarantined")  # fmt: skip
    settings = LabSettings(case=case, sessions=plan.sessions, features=plan.features,
                           register=plan.register,
                           patient_index=_patient_index(plan, key))  # fmt: skip
    eng = (make_engine(plan.engine, plan.scheduler, plan.memory_budget)
           if isinstance(plan.engine, str) else plan.engine)  # fmt: skip
    # a SIGTERM raises here so that the engine's spill folder is removed first
    with sigterm_raises(lambda: EngineTerminated("run interrupted by SIGTERM; spill removed")):
        try:
            run = LabRun(parts, settings, plan.detection, eng, progress=progress,
                         memory_budget=plan.memory_budget)  # fmt: skip
            del parts
            st.run("sessions", run.first, lambda n: f"{n:,} sessions")
            st.run("features", run.peer, lambda n: f"peer baselines over {n:,} lab(s)")
            sc = st.run("detection", lambda: run.detect(folder and folder.make()),
                        lambda s: f"{n_flagged(s.session):,} sessions flagged")  # fmt: skip
            aside = run.score_files or (set_aside(sc, folder.make()) if folder else {})  # slim
            er, ss_file = collect_slim(run, folder)  # the budget decides: events, sessions in files
        finally:
            eng.close()
    ss, exports, events = er.sessions, er.exports, er.events
    src = st.run("sources", lambda: score_sources(events, plan.sources),
                 lambda t: f"{len(t):,} source addresses, {int(t['flagged'].sum()):,} flagged")  # fmt: skip
    sst = session_scores_table(sc)
    scored = sc.session if sc.session is not None else sst
    camp = st.run("campaigns",
                  lambda: group_campaigns_by_lab(scored, ss, params=plan.campaigns, events=events,
                                                 in_files=True),  # a file a lab (SlimLabs ss)
                  lambda c: f"{len(c):,} campaigns, {flagged_count(c):,} flagged")  # fmt: skip
    leak: Any = plan.leak
    linked = None
    if plan.leak_is_dump:  # a dump of people: link it to the patient indexes first
        linked = st.run(
            "leak linkage",
            lambda: link_leak(_dump_paths(plan), plan.patients, case=case, case_key=key,
                              mappings=list(case.leak_mappings) or None,
                              avoid_dirs=[out] if out is not None else (),
                              sighted_at=case.sighted_at, progress=progress),
            lambda ll: f"{ll.summary['rows_linked']:,} of {ll.summary['rows']:,} dump rows linked",
        )  # fmt: skip
        leak = linked
    elif plan.leak is not None and plan.patients:  # a list: NIRs need the indexes
        labs = events.named_labs()
        leak = read_identifier_list(plan.leak, plan.patients, case=case, case_key=key, labs=labs)
    at = st.run(
        "attribution",
        lambda: attribute(events, ss, scored, leak=leak,
                          transfers=plan.transfers, case_key=key, params=plan.attribution,
                          case=case, session_rows=rows_of(ss_file), exports=exports,
                          patients=plan.patients or None if linked is None else None),
        lambda a: f"verdict {a.verdict}",
    )  # fmt: skip
    return _Results(evidence=ev, sources=src, sessions=ss, events=events, session_file=ss_file,
                    session_params=er.params, scores=sc, session_scores=sst,
                    scored=scored, attribution=at, leak_linkage=linked,
                    exports=exports, campaigns=camp, score_files=aside)  # fmt: skip


def _dump_paths(plan: _Plan) -> Any:
    """The dump to link: as given, or its folder's files less those skipped."""
    if not plan.leak_skipped:
        return plan.leak
    skipped = {f for f, _ in plan.leak_skipped}
    return [f for f in leak_files([plan.leak]) if f not in skipped]


def _patient_index(plan: _Plan, key: CaseKey) -> pd.DataFrame | None:
    """The patient indexes' people when a register is given (they bound the exports'
    scope), else None."""
    if plan.register is None or not plan.patients:
        return None
    return read_patient_index(plan.patients, plan.case, list(plan.case.leak_mappings) or None,
                              case_key=key).people  # fmt: skip


# --- the outputs -------------------------------------------------------------------------


def _companions(plan: _Plan) -> tuple[list[EvidenceFile], list[dict[str, Any]]]:
    """The leak, transfer log, case file and store manifest, hashed: custody records and
    findings inputs."""
    named: list[tuple[Path, str]] = []
    if plan.leak is not None and plan.leak_is_dump:  # every file of the dump and indexes
        named += [(f, "leak") for f in leak_files([plan.leak])]
    elif plan.leak is not None:
        named.append((Path(plan.leak), "leak"))
    if plan.leak is not None or plan.patients:
        named += [(f, "patient_index") for f in leak_files(plan.patients)]
    named += [(p, r) for p, r in ((plan.transfers, "transfers"), (plan.case.path, "case"),
                                  (plan.authorisations, "authorisations")) if p]  # fmt: skip
    pairs = [_file_record(Path(p), role) for p, role in named]
    if plan.store is not None:  # its manifest: the SHA-256 of every store file read, verified
        pairs.append(store_input(plan.store))
    return [f for f, _ in pairs], [r for _, r in pairs]


def _write_outputs(
    out: Path, res: _Results, plan: _Plan, *, inputs: list[dict[str, Any]], key: CaseKey,
    unreadable: list[dict[str, str]], stages: list[dict[str, Any]],
    run: Mapping[str, Any] | None = None, transfer_quarantine: pd.DataFrame | None = None,
    transfer_encoding: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Write findings.json, the Parquet tables, the CSV files and report.html.

    ``transfer_quarantine`` (the transfer log's refused lines) joins quarantine.csv; it, its
    undecodable bytes and a register naming labs not in the evidence add a limit each."""
    ev, ss, case = res.evidence, res.sessions, plan.case
    reproduce = reproduce_text(
        plan.evidence if plan.store is None else [], case_file=case.path, leak=plan.leak,
        transfers=plan.transfers, key_fingerprint=key.fingerprint, patients=plan.patients,
        authorisations=plan.authorisations,
        overrides={**plan.overrides, "memory_budget": plan.memory_budget}, store=plan.store,
    )  # fmt: skip
    events_out = res.events.view([c for c in res.events.columns if not str(c).startswith("_")])
    leak_n = res.attribution.totals.get("leak_identifiers") if plan.leak is not None else None
    findings = build_findings(
        events=events_out, sessions=ss, session_scores=res.session_scores,
        attribution=res.attribution, accounting=ev.report.to_dict(), inputs=inputs, case=case,
        parameters=plan.parameters(), key_fingerprint=key.fingerprint, leak_patients=leak_n,
        transfers_given=plan.transfers is not None, unreadable=unreadable, stages=stages,
        reproduce=reproduce, sources=res.sources, session_rows=rows_of(res.session_file),
    )  # fmt: skip
    findings["explained_accesses"] = res.scores.metadata.get("explained_accesses", [])
    if plan.leak_skipped:  # a dump folder's file left out is a limit of the linkage
        findings["limits"].append(
            f"{len(plan.leak_skipped):,} file(s) of the leak folder skipped (not a readable "
            "dump table: see the unreadable inputs); the dump rows they may hold are not linked"
        )
    notes = input_limits(
        evidence_labs=res.events.named_labs(), register=plan.register,
        register_name=plan.authorisations.name if plan.authorisations else None,
        transfer_quarantine=transfer_quarantine, transfer_encoding=transfer_encoding,
        transfers_name=plan.transfers.name if plan.transfers else None,
    )  # fmt: skip
    if notes:  # only then: findings.json is unchanged for runs without them
        findings["limits"] = [*findings.get("limits", []), *notes]
        for n in notes:
            print(f"labforensics: warning: {visible(n, keep='')}", file=sys.stderr)
    quarantine = with_leak_quarantine(ev.quarantine, res.leak_linkage, res.attribution)  # + leak
    if transfer_quarantine is not None and len(transfer_quarantine):
        quarantine = pd.concat([quarantine, transfer_quarantine], ignore_index=True)
    if res.leak_linkage is not None:  # leak/horizon.py summarise: numbers and pseudonyms only
        findings["leak_linkage"] = res.leak_linkage.summary
        findings["leak_linkage"]["inputs_checked"] = leak_input_checks(res.leak_linkage)
        write_parquet(res.leak_linkage.links, out / "leak_links.parquet")
    if res.campaigns is not None:  # pseudonymous ids only; session lists in the Parquet file
        findings["campaigns"] = campaign_findings(res.campaigns)
        write_campaigns(res.campaigns, out / "campaigns.parquet")  # read whole, let go
    if res.exports is not None:  # counts only (issue 14 item 5)
        findings["exports"] = exports_summary(res.exports,
                                              register_given=plan.authorisations is not None)  # fmt: skip
        write_parquet(res.exports, out / "exports.parquet")
    write_json(findings, out / "findings.json")
    events_out.write_parquet(out / "events.parquet")  # lab by lab when spilled
    write_sessions(ss, res.session_file, out)  # moved when set aside after collect
    if "session" not in res.score_files:  # else written after detection (score_files.py)
        write_parquet(res.scored, out / "scores.parquet")
    res.score_files = move_into(res.score_files, out)
    write_csv(quarantine, out / "quarantine.csv")
    write_csv(ev.report.field_problems, out / "field_problems.csv")  # values redacted
    write_csv(res.sources, out / "sources.csv")
    data = ReportData(
        findings=findings, events=events_out, sessions=ss, quarantine=quarantine,
        accounting=ev.report.to_frame(), tz=case.tz, title=case.name,
        session_scores=res.session_scores, campaigns=res.campaigns,
        exports=res.exports, run=dict(run or {}),
    )  # fmt: skip
    write_report(data, out / "report.html")
    res.campaigns = held(res.campaigns)  # the result's table: read whole, the report done
    return findings


def _write_pdf(out: Path) -> PdfResult:
    """``report.pdf`` from ``report.html`` (headless Chromium; a note when absent)."""
    return write_pdf(out / "report.html", out / "report.pdf")


def _write_manifest(
    out: Path, plan: _Plan, files: list[EvidenceFile], *, started: str,
    command: list[str] | None, key: CaseKey, timings: Mapping[str, float],
    pdf: PdfResult | None = None,
) -> None:  # fmt: skip
    """Write manifest.json: every input's and output's SHA-256, parameters, times."""
    manifest = run_manifest(
        inputs=files, out=out, parameters=plan.parameters(), started=started,
        finished=_utcnow(), command=command or ["labforensics.investigate"],
        key_fingerprint=key.fingerprint,
        extra={"seed": plan.case.seed, "tz": plan.case.tz,
               "timings_s": {k: round(v, 3) for k, v in timings.items()},
               "engine": {"engine": getattr(plan.engine, "name", plan.engine),
                          "scheduler": plan.scheduler, "memory_budget": plan.memory_budget},
               **({"report_pdf": pdf.to_dict()} if pdf is not None else {})},
    )  # fmt: skip
    write_json(manifest, out / "manifest.json")


# --- ingest only -------------------------------------------------------------------------


def _no_readable_file(evidence: Sequence[str | os.PathLike[str]], ev: Evidence) -> EvidenceError:
    """The error of an ingest that recognised no file, naming up to five and why."""
    why = ev.report.unrecognised_reasons
    listed = "; ".join(f"{n}: {why.get(n, 'not recognised')}" for n in ev.report.unrecognised[:5])
    more = len(ev.report.unrecognised) - 5
    return EvidenceError(
        "no readable evidence file in "
        + ", ".join(str(e) for e in evidence)
        + (f" ({listed}{f'; {more} more' if more > 0 else ''})" if listed else "")
    )


def ingest_only(
    evidence: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    tz: str,
    profile: str | Sequence[str] | None = None,
    case_key: str | os.PathLike[str] | None = None,
    year: int | None = None,
    lab: str | None = None,
    force: bool = False,
    progress: bool = True,
    command: list[str] | None = None,
) -> Evidence:
    """Read the evidence and write its tables alone (``labforensics ingest``).

    Writes ``events.parquet``, ``quarantine.csv``, ``field_problems.csv``,
    ``ingest_report.json`` and ``manifest.json`` into ``out``. On any failure, what the run wrote is removed
    again: a half-written output is never left behind (nor mistaken for a whole one).

    Parameters
    ----------
    evidence : list of path
        Files, folders or globs (as :func:`labforensics.read_evidence`).
    out : path
        Output folder; must not exist or be empty unless ``force``.
    tz, profile, case_key, year, lab
        As :func:`labforensics.read_evidence`; without ``case_key``, as
        :func:`investigate`: ``$LABFORENSICS_CASE_KEY``, else the key file
        ``<out>.key`` beside the output folder (created on the first run, reused
        after: :func:`labforensics.case.resolve_case_key`).
    force : bool
        Overwrite a previous labforensics output folder.
    progress : bool
        Show a progress bar (stderr).
    command : list of str, optional
        The command line recorded in manifest.json.

    Returns
    -------
    Evidence

    Raises
    ------
    EvidenceError
        When a path does not exist, holds a link loop, or no file is recognised.
    OutputExistsError
        When ``out`` cannot be used (see :func:`labforensics.outputs.prepare_out`).
    """
    started = _utcnow()
    expand_evidence([Path(e) for e in evidence], out=Path(out))  # no link loop, apart
    out_p = prepare_out(Path(out), force)
    written = [out_p / n for n in ("events.parquet", "quarantine.csv", "ingest_report.json",
                                   "field_problems.csv")]  # fmt: skip
    # a failure leaves none of these files, nor a folder or <out>.key the command made
    with discard_on_failure(out_p, [*(f.name for f in written), "manifest.json"]):
        if case_key is None:  # as investigate: $LABFORENSICS_CASE_KEY, else <out>.key kept
            case_key = resolve_case_key(CaseContext(), out_p)[0]
        ev = read_evidence(evidence, tz=tz, profile=profile, case_key=case_key, year=year,
                           lab=lab, progress=progress)  # fmt: skip
        if not ev.report.files:
            raise _no_readable_file(evidence, ev)
        write_parquet(ev.events, written[0])
        write_csv(ev.quarantine, written[1])
        write_json(ev.report.to_dict(), written[2])
        write_csv(ev.report.field_problems, written[3])
        manifest = run_manifest(
            inputs=list(ev.manifest), out=out_p,
            parameters={"tz": tz, "profile": profile, "year": year, "lab": lab},
            started=started, finished=_utcnow(), command=command or ["labforensics.ingest_only"],
            key_fingerprint=ev.case_key_fingerprint,
        )  # fmt: skip
        write_json(manifest, out_p / "manifest.json")
    return ev


# --- the whole investigation -------------------------------------------------------------


def investigate(
    evidence: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    out: str | os.PathLike[str],
    *,
    leak: str | os.PathLike[str] | None = None,
    transfers: str | os.PathLike[str] | None = None,
    case: str | os.PathLike[str] | CaseContext | None = None,
    patients: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    force: bool = False,
    progress: bool = True,
    command: list[str] | None = None,
    tz: str | None = None,
    year: int | None = None,
    lab: str | None = None,
    store: str | os.PathLike[str] | None = None,
    authorisations: str | os.PathLike[str] | None = None,
    engine: str | Any = "local",
    scheduler: str | None = None,
    memory_budget: int | None = None,
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
        The leak; default from the case (``[leak] dump``, alias ``[evidence] leak``).
        A list of identifiers (one file with an IPP, pseudonym or NIR column and no
        name column: :func:`labforensics.leak.horizon.is_identifier_list`) is read
        by :func:`labforensics.leak.reader.read_leak`; otherwise (files or a folder)
        it is a dump of people, linked to ``patients``
        (:func:`labforensics.leak.horizon.link_leak`): ``findings["leak_linkage"]``
        and ``leak_links.parquet`` are written and its linked rows are the leak.
    transfers : path, optional
        The vendor's FTP server ``xferlog``; default from the case.
    case : path or CaseContext, optional
        ``case.toml`` (see :mod:`labforensics.case`) or its
        :class:`~labforensics.case.CaseContext`; read once, passed to every stage.
    patients : path or paths, optional
        The labs' patient indexes (``PATIENTS_<LAB>.csv``, else a lab column);
        default ``[leak] patient_index``. Required with a dump.
    force : bool
        Overwrite a previous labforensics output folder.
    progress : bool
        Show a progress bar per stage (stderr).
    command : list of str, optional
        The command line recorded in manifest.json.
    tz : str, optional
        IANA time zone of the sources; overrides the case file's ``[case] tz``.
    year : int, optional
        Year of RFC 3164 syslog lines (which carry none); overrides ``[ingest] year``.
    lab : str, optional
        Lab of sources that name none; overrides ``[ingest] lab``.
    store : path, optional
        An evidence store (:mod:`labforensics.store`, ``labforensics ingest --store``)
        read instead of ``evidence`` (then None): the same events, accounting and
        findings as from its files (only ``reproduce`` names the store). It must have
        been built with the same case key and ingest options (else StoreError);
        manifest.json lists its ``manifest.json`` (SHA-256) among the inputs.
    authorisations : path, optional
        The authorisation register (``shared/formats/authorisations.md``); default
        ``[authorisations] register``. Every export and extraction gets a status
        (``exports.parquet``, ``findings["exports"]``, the report's table); without
        one every status is ``unknown``.
    engine : {"local", "dask"}
        Who runs the per-lab stages (sessions, exports, features, scoring:
        :mod:`labforensics.engine`): this process, lab after lab, or ``dask.distributed``
        tasks, one per lab (the ``scale`` extra). Same findings, byte for byte. An
        engine object (:class:`labforensics.engine.dask.DaskEngine` on your own
        ``distributed.Client``) is used as given.
    scheduler : str, optional
        With ``engine="dask"``: the scheduler's address (``tcp://host:8786``); None
        starts a two-worker ``LocalCluster`` for the run (closed at its end).
    memory_budget : int, optional
        Bytes one lab's stage may hold, recorded in the parameters. A lab whose first
        pass would exceed it (at :data:`labforensics.engine.batches.EVENT_BYTES` an
        event) runs in account batches (same findings); only an account above it alone
        is warned of (:class:`labforensics.engine.run.MemoryBudgetWarning`, on stderr).
        When every lab's results (``PART_BYTES`` an event) would exceed it, the local
        engine keeps them in a private temporary folder between passes (same findings;
        the folder is removed at the end).

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
    started = _utcnow()
    if store is not None and evidence not in (None, [], ()):
        raise ParameterError("give the evidence files or an evidence store (store=), not both")
    plan = _plan(evidence if store is None else [store], case, leak=leak, transfers=transfers,
                 tz=tz, year=year, lab=lab, patients=patients,
                 authorisations=authorisations)  # fmt: skip
    if isinstance(engine, str) and engine not in ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if memory_budget is not None and int(memory_budget) <= 0:
        raise ParameterError(
            f"memory_budget must be a positive number of bytes, not {memory_budget}"
        )
    plan = dataclasses.replace(plan, engine=engine, scheduler=scheduler,
                               memory_budget=None if memory_budget is None else int(memory_budget))  # fmt: skip
    if store is not None:
        plan = dataclasses.replace(plan, store=Path(store).absolute())
    out_p = Path(out).resolve()
    _check_no_overlap(plan.evidence, out_p, plan)  # and no other input in it (QA 13)
    readable, unreadable = (
        _check_inputs(plan.evidence, plan.ingest.get("profile"), plan.ingest.get("year"))
        if store is None
        else ([], [])
    )
    transfer_q, leak_skipped, transfer_enc = check_companions(
        leak=plan.leak, leak_is_dump=plan.leak_is_dump, out=out_p,
        leak_files=leak_files([plan.leak]) if plan.leak_is_dump else [],
        patient_files=leak_files(plan.patients), transfers=plan.transfers, case=plan.case,
    )  # fmt: skip
    if leak_skipped:  # files of a dump folder left out: said on stderr and in the report
        plan = dataclasses.replace(plan, leak_skipped=tuple(leak_skipped))
        for _f, why in leak_skipped:
            print(f"labforensics: warning: skipped (the leak folder's other files are linked): "
                  f"{visible(why, keep='')}", file=sys.stderr)  # fmt: skip
        unreadable = [*unreadable, *({"source_file": f.name,
                                     "problem": "skipped: " + why.replace(str(f), f.name)}
                                    for f, why in leak_skipped)]  # fmt: skip
    if plan.case.key_file is not None:  # a missing key file refused before out is made
        resolve_case_key(plan.case, out_p)
    prepare_out(out_p, force)
    st = _Stages(10 if plan.leak_is_dump else 9, progress)
    folder = EventsFolder()  # the events between stages, when the engine spilled them
    # a SIGTERM raises here so that the folder is removed first; a failure, a refusal or a
    # SIGTERM leaves no output, nor a folder or <out>.key the run made: it can run again;
    # the caller's objects are left out of the stages' collections (labforensics._heap)
    with (sigterm_raises(lambda: EngineTerminated("run interrupted by SIGTERM; spill removed")),
          discard_on_failure(out_p, OUTPUT_NAMES), reading_store(plan.store),
          caller_heap_frozen()):  # fmt: skip
        key, key_file = resolve_case_key(plan.case, out_p)
        try:
            res = _run_stages(st, readable, plan, key, progress, out_p, folder)
            companion_files, companion_inputs = _companions(plan)
            inputs = [*(_evidence_record(ef) for ef in res.evidence.manifest),
                      *companion_inputs]  # fmt: skip
            run = {"command": list(command) if command else None, "date": started}
            findings = st.run(
                "report",
                lambda: _write_outputs(out_p, res, plan, inputs=inputs, key=key,
                                       unreadable=unreadable, stages=st.rows, run=run,
                                       transfer_quarantine=transfer_q,
                                       transfer_encoding=transfer_enc),
                lambda f: f"verdict: {f['verdict']['label']}",  # words, not the code
            )  # fmt: skip
        finally:
            folder.remove()
        load = result_events(res.events, out_p / "events.parquet")
        ss = res.session_file.path if res.session_file else res.sessions  # the file: read on use
        result = InvestigationResult(
            out=out_p, findings=findings, timings=st.timings, key_file=key_file,
            evidence=LazyEvidence(res.evidence, load), attribution=res.attribution,
            sessions=LazySessions(ss, res.session_params, load), campaigns=res.campaigns,
            scores=LazyScores(res.scores, res.score_files))  # fmt: skip
        manifest_files, res, ss = [*res.evidence.manifest, *companion_files], None, None
        release_memory()
        pdf = st.run("PDF", lambda: _write_pdf(out_p), lambda r: r.note or "report.pdf")
        _write_manifest(out_p, plan, manifest_files, started=started, command=command, key=key,
                        timings=st.timings, pdf=pdf)  # fmt: skip
    result.pdf_note = pdf.note
    return result
