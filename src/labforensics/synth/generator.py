"""Orchestration: plan the labs and incidents, build each lab's events, write everything.

The jobs live beside it: :mod:`.plan` (labs, migrations, where incidents
happen), :mod:`.lab_build` (one lab's events), :mod:`.lab_write` (its daily
files), :mod:`.lab_truth` (its truth tables), :mod:`.linkage` (the
leak-linkage case, tied to the audit labs here when ``linkage=True``).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..errors import LabForensicsError
from . import artefacts as art
from .clock import SIM_TZ, date_of, day_number
from .lab_build import build_lab
from .lab_truth import TRUTH_EVENT_COLUMNS, TRUTH_EVENT_SCHEMA, TRUTH_SESSION_SCHEMA
from .lab_write import write_lab
from .linkage import CASE_PATHS, SCENARIOS
from .model import Lab, french_holidays, setup_calendar
from .plan import plan_labs
from .register import write_case_file, write_register
from .tie import TIED_INCIDENT, last_event_days, tied_linkage_case
from .variants import RANGES, VARIANTS, lab_exports_truth, plan_variant, variant_rng

__all__ = ["generate", "SynthResult", "SynthError", "TRUTH_EVENT_COLUMNS"]

GENERATOR_VERSION = "1"


class SynthError(LabForensicsError):
    """Bad parameters for the synthetic generator."""


@dataclass
class SynthResult:
    """What :func:`generate` wrote.

    Attributes
    ----------
    out, evidence, truth, truth_events, truth_sessions : pathlib.Path
    leak_ipps, leak_nirs : pathlib.Path or None
        ``leak/leaked_ipps.csv`` and ``leak/leaked_nirs.csv`` (None without incident a).
    patient_index : list of pathlib.Path
        ``leak/patient_index_<LAB>.csv`` (IPP;NIR) for every lab.
    xferlog : pathlib.Path or None
    counts : dict
        ``files``, ``events`` (rows written that are events), ``sessions``,
        ``incidents``, ``leaked_patients``, ``seconds``, ``events_per_s``, and with
        ``linkage=True`` ``linkage`` (the linkage case's counts, its ``scenario`` and
        the audit ``incident`` it is tied to).
    """

    out: Path
    evidence: Path
    truth: Path
    truth_events: Path
    truth_sessions: Path
    leak_ipps: Path | None
    leak_nirs: Path | None
    patient_index: list[Path] = field(default_factory=list)
    xferlog: Path | None = None
    counts: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        c = ", ".join(f"{k}={v}" for k, v in self.counts.items())
        return f"SynthResult(out={str(self.out)!r}, {c})"


@dataclass
class _Acc:
    """What the per-lab loop gathers for truth.json and the leak files."""

    labs: list[dict] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)
    traps: list[dict] = field(default_factory=list)
    artefacts: list[dict] = field(default_factory=list)
    hostile: list[dict] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)
    extractions: list[dict] = field(default_factory=list)
    requested: list[dict] = field(default_factory=list)
    leak_rows: list[tuple[str, str, str]] = field(default_factory=list)
    index_paths: list[Path] = field(default_factory=list)
    built: list[Lab] = field(default_factory=list)
    last_events: dict[str, np.ndarray] | None = None  # per lab, when linkage is tied
    variant: str | None = None
    register: list = field(default_factory=list)  # RegisterRow, with a variant
    exports: list[dict] = field(default_factory=list)  # exports_truth, with a variant
    components: dict[str, list[str]] = field(default_factory=dict)  # per lab, with a variant
    sessions: int = 0
    events: int = 0


def generate(
    out: str | Path,
    *,
    labs: int = 30,
    start: str = "2015-01-01",
    end: str = "2020-10-31",
    seed: int = 0,
    scale: float = 1.0,
    incidents: tuple[str, ...] | list[str] | None = None,
    artefacts: bool = True,
    hostile: bool = True,
    transfers: bool = True,
    gzip_after_days: int = 60,
    leak_sample: float = 1.0,
    finess_in_lab_column: bool = False,
    requested_extractions: bool = False,
    linkage: bool = False,
    linkage_scenario: str | None = None,
    variant: str | None = None,
    session_events: float = 1.0,
) -> SynthResult:
    """Write synthetic multi-lab LIS audit evidence with its ground truth.

    Parameters
    ----------
    out : str or Path
        Output folder (created). A previous generation there (``truth.json``
        present) is removed first: only ``evidence/``, ``leak/``,
        ``transfers/`` and the truth files.
    labs : int, default 30
        Number of labs (codes ``L01`` ...).
    start, end : str, default "2015-01-01", "2020-10-31"
        First and last day (ISO dates, inclusive) of the daily files.
    seed : int, default 0
        Seed of every random draw (numpy ``PCG64`` streams derived from
        ``SeedSequence([seed, stream])``, stream 0 for the plan and k for lab k).
    scale : float, default 1.0
        Activity multiplier (staff, patients, visits). 1.0 at 30 labs over
        the default period gives about 6 million events.
    incidents : sequence of {"a", "b", "c", "d"}, optional
        Which incident kinds to inject (see the package docstring); default all
        four, none with a ``variant`` (its own incidents replace them).
    artefacts : bool, default True
        Inject the file artefacts of the format doc (recorded in truth).
    hostile : bool, default True
        Put hostile text in a few account, host and comment fields.
    transfers : bool, default True
        Write ``transfers/xferlog``.
    gzip_after_days : int, default 60
        Legacy files dated more than this many days before the lab's
        migration are gzipped.
    leak_sample : float, default 1.0
        Share of the extracted patients written to the leak files (a seeded
        sample, kept in registry order), as when only part of a leak surfaces.
    finess_in_lab_column : bool, default False
        Lab ``L01``'s legacy files write its FINESS number in ``LABO`` instead
        of its code (read them with ``lab_aliases`` from ``truth["labs"]``).
    requested_extractions : bool, default False
        Also write the extraction the vendor was asked for: 20-40 days before
        each migration, ``migration.editeur`` extracts a reference table
        (hundreds of records, no patient) by day, and the vendor's import
        server fetches it from the FTP server (trap ``migration_request``).
    linkage : bool, default False
        Also write the leak-linkage case (``patients/``, ``dump/``,
        ``linkage_truth.parquet``, ``index_truth.parquet``, ``linkage_truth.json``,
        as :func:`labforensics.synth.linkage.generate_linkage_case`) tied to this
        evidence (:mod:`labforensics.synth.tie`): the indexes hold the audit labs'
        patients (same IPPs, registration days, last visits from their events),
        the dump copies the labs of the scenario's incident at its date, and
        ``leak/patient_index_<LAB>.csv`` and ``leak/leaked_nirs.csv`` write the
        NIR each index stores. ``counts["linkage"]`` has its counts.
    linkage_scenario : str, optional
        How the dump was copied (default ``"vendor_extraction"``: incident (a)'s
        labs at their extractions); ``"staff_export"`` (incident d),
        ``"intrusion"`` (incident c), ``"two_sources"`` (an (a) lab and the (c)
        lab), ``"before_logs"`` (180 days before ``start``: no incident). Only
        with ``linkage=True``.
    variant : str, optional
        One of :data:`labforensics.synth.variants.VARIANTS`
        (:mod:`labforensics.synth.variants`): also writes ``case.toml`` (the
        world's networks, FINESS aliases, vendor and service accounts;
        ``[authorisations] register``) and ``authorisations.csv`` (the register,
        ``shared/formats/authorisations.md``); truth.json gains ``variant``,
        ``register`` (row count), ``exports_truth`` (every export and extraction
        with its true register status) and each incident's ``sessions``
        (numbers of ``truth_sessions.parquet``). Without it the output is
        byte-identical to earlier versions.
    session_events : float, default 1.0
        Density of the staff's day sessions: the mean number of actions in a
        session (5 at 1.0, capped at 30) is multiplied by it and their mean gap
        (150 s) divided by it, so sessions last as long with that many times
        more actions (patients' requests, results, validations; the
        interfaces' events follow the validations). ``scale`` sets how many
        staff, patients and visits; this sets how busy each session is (the
        dense demo: about 25 events per visit). At 1.0 the output is
        byte-identical to earlier versions (``truth["parameters"]`` records it
        only when it is not 1.0).

    Returns
    -------
    SynthResult

    Raises
    ------
    SynthError
        On bad parameters (end before start, no labs, unknown incident kind,
        unknown ``linkage_scenario`` or one given without ``linkage``, unknown
        ``variant``, ``session_events`` not positive).
    labforensics.errors.ParameterError
        With ``linkage=True``, when the scenario's incident is not in the
        evidence (``incidents`` without it, or a period that does not hold it).
    """
    t_begin = time.perf_counter()
    out = Path(out)
    d0 = day_number(dt.date.fromisoformat(start))
    d1 = day_number(dt.date.fromisoformat(end))
    if variant is not None and variant not in VARIANTS:
        raise SynthError(f"unknown variant {variant!r}; use one of {sorted(VARIANTS)}")
    if incidents is None:
        incidents = () if variant is not None else ("a", "b", "c", "d")
    incidents = _check(labs, start, end, d0, d1, leak_sample, scale, incidents)
    if not session_events > 0:
        raise SynthError(f"session_events must be positive, got {session_events}")
    if linkage_scenario is not None and not linkage:
        raise SynthError("linkage_scenario needs linkage=True")
    scenario = linkage_scenario or "vendor_extraction"
    if scenario not in SCENARIOS:
        raise SynthError(f"unknown linkage_scenario {scenario!r}; use one of {SCENARIOS}")
    _clear_previous(out)
    for sub in ("evidence", "leak", "transfers"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    plan = plan_labs(labs, d0, d1, seed, incidents, hostile)
    if variant is not None:
        plan_variant(variant, plan, d0, d1, seed, scale)
    acc = _Acc(last_events={} if linkage else None, variant=variant)
    _run_labs(
        acc, plan, out, seed, d0, d1, scale=scale, artefacts=artefacts,
        gzip_after_days=gzip_after_days, leak_sample=leak_sample,
        finess_in_lab_column=finess_in_lab_column, requested_extractions=requested_extractions,
        session_events=session_events,
    )  # fmt: skip
    leak_ipps, leak_nirs = _write_leak_lists(out, acc)
    xfer_path = None
    transfers_truth: list[dict] = []
    if transfers:
        xfer_path = out / "transfers" / "xferlog"
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 10_000])))
        transfers_truth, requested_truth = art.write_xferlog(
            xfer_path, acc.extractions, acc.requested, plan, rng, d0, d1
        )
        _attach_requested_transfers(acc.traps, requested_truth)
    params = _parameters(
        labs=labs, start=start, end=end, seed=seed, scale=scale, incidents=list(incidents),
        artefacts=artefacts, hostile=hostile, transfers=transfers,
        gzip_after_days=gzip_after_days, leak_sample=leak_sample,
        finess_in_lab_column=finess_in_lab_column, requested_extractions=requested_extractions,
    )  # fmt: skip
    if linkage:  # only then, so that truth.json without linkage stays as it was
        params.update(linkage=True, linkage_scenario=scenario)
    if variant is not None:  # likewise
        params["variant"] = variant
    if session_events != 1.0:  # likewise
        params["session_events"] = session_events
    seconds = time.perf_counter() - t_begin
    truth_path = out / "truth.json"
    truth = _truth(params, acc, transfers_truth)
    if variant is not None:
        _write_variant_case(out, acc, truth, seed, variant, transfers)
    truth_path.write_text(
        json.dumps(truth, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    linkage_counts = {}
    if linkage:  # the leak-linkage case on this evidence (issue 13, item 9)
        linkage_counts = {"linkage": _tied_linkage(out, acc, d0, d1, seed, scenario)}
        leak_ipps, leak_nirs = _write_leak_lists(out, acc)
    return SynthResult(
        out=out,
        evidence=out / "evidence",
        truth=truth_path,
        truth_events=out / "truth_events.parquet",
        truth_sessions=out / "truth_sessions.parquet",
        leak_ipps=leak_ipps,
        leak_nirs=leak_nirs,
        patient_index=acc.index_paths,
        xferlog=xfer_path,
        counts={
            "files": len(acc.files),
            "events": acc.events,
            "sessions": acc.sessions,
            "incidents": len(acc.incidents),
            "leaked_patients": len(acc.leak_rows),
            "seconds": round(seconds, 2),
            "events_per_s": round(acc.events / max(seconds, 1e-9)),
            **linkage_counts,
        },
    )


def _parameters(**kw: object) -> dict:
    """``truth["parameters"]``: every argument (incidents sorted) and the time zone."""
    return {**kw, "timezone": SIM_TZ}


def _tied_linkage(out: Path, acc: _Acc, d0: int, d1: int, seed: int, scenario: str) -> dict:
    """Write the linkage case tied to the labs built; rewrite the IPP;NIR lists with its NIRs."""
    lk = tied_linkage_case(
        out, acc.built, acc.last_events, acc.incidents, acc.extractions,
        d0=d0, d1=d1, seed=seed, scenario=scenario,
    )  # fmt: skip
    # the audit's IPP;NIR lists now write the NIR each index row stores
    nir_of = {
        (lab.code, str(i)): n
        for lab in acc.built
        for i, n in zip(lab.ipp.tolist(), lab.nir, strict=True)
    }
    acc.leak_rows = [(a, b, nir_of[(a, b)]) for a, b, _ in acc.leak_rows]
    for lab in acc.built:
        _write_patient_index(out, lab)
    return {**lk.counts, "scenario": scenario, "incident": TIED_INCIDENT[scenario]}


def _check(
    labs: int,
    start: str,
    end: str,
    d0: int,
    d1: int,
    leak_sample: float,
    scale: float,
    incidents: tuple[str, ...] | list[str],
) -> tuple[str, ...]:
    """Refuse bad parameters (:class:`SynthError`); return the incident kinds, sorted."""
    if d1 < d0:
        raise SynthError(f"end {end} is before start {start}; swap them")
    if labs < 1 or labs > 999:
        raise SynthError(f"labs must be within 1..999, got {labs}")
    if not 0 < leak_sample <= 1:
        raise SynthError(f"leak_sample must be within (0, 1], got {leak_sample}")
    if scale <= 0:
        raise SynthError(f"scale must be positive, got {scale}")
    bad = sorted(set(incidents) - {"a", "b", "c", "d"})
    if bad:
        raise SynthError(f"unknown incident kinds {bad}; use a subset of ('a', 'b', 'c', 'd')")
    return tuple(sorted(set(incidents)))


def _run_labs(
    acc: _Acc,
    plan: dict,
    out: Path,
    seed: int,
    d0: int,
    d1: int,
    *,
    scale: float,
    artefacts: bool,
    gzip_after_days: int,
    leak_sample: float,
    finess_in_lab_column: bool,
    requested_extractions: bool,
    session_events: float = 1.0,
) -> None:
    """Build and write every lab in turn (one lab's events in memory at a time)."""
    hol = french_holidays(d0 - 1, d1 + 1)
    ev_writer = pq.ParquetWriter(
        out / "truth_events.parquet", TRUTH_EVENT_SCHEMA, compression="zstd"
    )
    ss_writer = pq.ParquetWriter(
        out / "truth_sessions.parquet", TRUTH_SESSION_SCHEMA, compression="zstd"
    )
    try:
        for lp in plan["labs"]:
            lab = Lab(
                k=lp["k"],
                code=lp["code"],
                finess=lp["finess"],
                size=lp["size"],
                migration=lp["migration"],
                n_sites=lp["n_sites"],
                rng=np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, lp["k"]]))),
            )
            if finess_in_lab_column and lab.k == 1:
                lab.legacy_label = lab.finess
            setup_calendar(lab, d0, d1, hol)
            vrng = variant_rng(seed, acc.variant, lp["k"]) if acc.variant else None
            ev, tags, extra = build_lab(
                lab, lp, scale, d0, d1, artefacts, acc.hostile, requested_extractions, vrng,
                session_events,
            )  # fmt: skip
            res = write_lab(lab, ev, tags, out, d0, d1, gzip_after_days, artefacts, acc.sessions)
            ev_writer.write_table(res["events"])
            ss_writer.write_table(res["sessions"])
            acc.sessions += res["sessions"].num_rows
            acc.events += res["n_events"]
            acc.files.update(res["files"])
            acc.artefacts.extend(res["artefacts"])
            _collect_tags(acc, tags, res["tag_stats"])
            if acc.variant:
                acc.components[lab.code] = list(lp["variant"]["components"])
                _variant_truth(acc, lab, res, extra, tags)
            acc.requested.extend(dict(x, lab=lab.code) for x in extra.get("requested", []))
            _collect_extractions(acc, lab, extra, leak_sample)
            acc.index_paths.append(_write_patient_index(out, lab))
            acc.labs.append(_lab_record(lab, d0, gzip_after_days))
            acc.built.append(lab)
            if acc.last_events is not None:
                acc.last_events[lab.code] = last_event_days(res["events"], lab)
    finally:
        ev_writer.close()
        ss_writer.close()


def _variant_truth(acc: _Acc, lab: Lab, res: dict, extra: dict, tags: list) -> None:
    """A variant lab's register rows, its exports' true statuses and its incidents' sessions."""
    acc.register.extend(extra.get("register", []))
    acc.exports.extend(lab_exports_truth(lab, res["events"], extra, lab.finess))
    ss = res["sessions"]
    inc = ss.column("incident").to_pylist()
    num = ss.column("session").to_pylist()
    by: dict[str, list[int]] = {}
    for i, s in zip(inc, num, strict=True):  # one per session of the lab
        if i:
            by.setdefault(i, []).append(int(s))
    ids = {t.id for t in tags if t.group == "incident"}
    for rec in acc.incidents:
        if rec["id"] in ids:
            rec["sessions"] = by.get(rec["id"], [])


def _write_variant_case(
    out: Path, acc: _Acc, truth: dict, seed: int, variant: str, transfers: bool
) -> None:
    """``authorisations.csv``, ``case.toml`` and the variant's entries of truth.json."""
    write_register(out / "authorisations.csv", acc.register)
    vendor = sorted({a.name for lab in acc.built for a in lab.accounts if a.role == "EDITEUR"})
    service = sorted({a.name for lab in acc.built for a in lab.accounts if a.role == "INTERFACE"})
    write_case_file(
        out / "case.toml", name=f"synthetic variant {variant}, seed {seed}", seed=seed,
        labs=truth["labs"], vendor_accounts=vendor, service_accounts=service,
        networks=variant != "no_networks", transfers=transfers,
    )  # fmt: skip
    truth["variant"] = {
        "name": variant,
        "components": acc.components,
        "case_file": "case.toml",
        "register": "authorisations.csv",
        "register_rows": len(acc.register),
        "ranges": {k: list(v) for k, v in RANGES.items()},
    }
    truth["exports_truth"] = acc.exports


def _collect_tags(acc: _Acc, tags: list, stats: dict[str, dict]) -> None:
    """Incidents and traps of one lab, with their event statistics, into the truth lists."""
    for tg in tags:
        rec = {
            "id": tg.id,
            "kind": tg.kind,
            "lab": tg.lab,
            "account": tg.account,
            "role": tg.role,
            **tg.info,
            **stats.get(tg.id, {}),
        }
        if tg.group == "incident":
            rec["vector"] = tg.vector
            acc.incidents.append(rec)
        else:
            acc.traps.append(rec)


def _collect_extractions(acc: _Acc, lab: Lab, extra: dict, leak_sample: float) -> None:
    """Incident (a)'s extractions of one lab and the leaked rows (a seeded sample, registry order)."""
    for x in extra.get("extractions", []):
        x = dict(x, lab=lab.code)
        acc.extractions.append(x)
        n = x["records"]
        pick = np.arange(n)
        if leak_sample < 1:
            pick = np.sort(lab.rng.choice(n, size=round(n * leak_sample), replace=False))
        for i in pick.tolist():
            acc.leak_rows.append((lab.code, str(lab.ipp[i]), lab.nir[i]))


def _write_patient_index(out: Path, lab: Lab) -> Path:
    """``leak/patient_index_<LAB>.csv``: IPP;NIR of every patient of the lab."""
    p = out / "leak" / f"patient_index_{lab.code}.csv"
    body = "IPP;NIR\n" + "".join(
        f"{i};{n}\n" for i, n in zip(lab.ipp.tolist(), lab.nir, strict=True)
    )
    p.write_bytes(body.encode("utf-8"))
    return p


def _lab_record(lab: Lab, d0: int, gzip_after_days: int) -> dict:
    """The lab's entry of ``truth["labs"]``."""
    return {
        "code": lab.code,
        "finess": lab.finess,
        "legacy_lab_column": "finess" if lab.legacy_label else "code",
        "size": round(lab.size, 4),
        "sites": [f"S{i}" for i in range(1, lab.n_sites + 1)],
        "migration_date": str(date_of(lab.migration)),
        "dialect_switch": {
            "legacy_until": str(date_of(lab.migration - 1)),
            "current_from": str(date_of(lab.migration)),
        },
        "gzip_before": str(date_of(lab.migration - gzip_after_days)),
        "networks": {
            "lab": f"10.{lab.k % 250}.0.0/16",
            "vendor": "172.16.0.0/16",
            "migration": "172.16.50.0/24",
        },
        "patients_registered": int(len(lab.ipp)),
        "patients_initial": int((lab.reg_day < d0).sum()),
        "accounts": sorted(
            ({"account": a.name, "role": a.role} for a in lab.accounts),
            key=lambda r: (r["account"], r["role"]),
        ),
    }


def _write_leak_lists(out: Path, acc: _Acc) -> tuple[Path | None, Path | None]:
    """``leak/leaked_ipps.csv`` (lab;ipp) and ``leak/leaked_nirs.csv`` when incident (a) happened."""
    if not acc.extractions:
        return None, None
    leak_ipps = out / "leak" / "leaked_ipps.csv"
    leak_ipps.write_bytes(
        ("lab;ipp\n" + "".join(f"{a};{b}\n" for a, b, _ in acc.leak_rows)).encode()
    )
    leak_nirs = out / "leak" / "leaked_nirs.csv"
    nirs = "".join(f"{c}\n" for _, _, c in acc.leak_rows if c)  # none empty unless tied
    leak_nirs.write_bytes(("nir\n" + nirs).encode())
    return leak_ipps, leak_nirs


def _attach_requested_transfers(traps: list[dict], requested_truth: list[dict]) -> None:
    """The requested extraction's own FTP path, beside its trap."""
    by_file = {r["file"]: r for r in requested_truth}
    for r in traps:
        if r["kind"] == "migration_request" and r["file"] in by_file:
            x = by_file[r["file"]]
            r["transfer"] = {
                k: x[k] for k in ("upload_utc", "upload_host", "uploader", "downloads")
            }


def _truth(params: dict, acc: _Acc, transfers_truth: list[dict]) -> dict:
    """The content of ``truth.json``."""
    files_acc = acc.files
    totals = {
        k: int(sum(f[k] for f in files_acc.values()))
        for k in (
            "rows_read",
            "events",
            "rotation_duplicates",
            "repeated_headers",
            "quarantined",
            "ignored",
        )
    }
    return {
        "generator": {"name": "labforensics.synth", "version": GENERATOR_VERSION},
        "parameters": params,
        "layout": {
            "evidence": "evidence/<LAB>/AUDIT_<LAB>_<YYYYMMDD>.csv[.gz] (legacy) and "
            "evidence/<LAB>/audit_<lab>_<YYYY-MM-DD>.csv (current); source_file is relative to evidence/",
        },
        "labs": acc.labs,
        "incidents": sorted(acc.incidents, key=lambda r: r["id"]),
        "traps": sorted(acc.traps, key=lambda r: r["id"]),
        "artefacts": sorted(acc.artefacts, key=lambda r: (r["file"], r["line"] or 0, r["kind"])),
        "hostile": sorted(acc.hostile, key=lambda r: (r["lab"], r["field"], r["value"])),
        "transfers": transfers_truth,
        "leak": {
            "patients": len(acc.leak_rows),
            "labs": sorted({x["lab"] for x in acc.extractions}),
            "files": sorted(x["file"] for x in acc.extractions),
        },
        "accounting": {
            "totals": {
                **totals,
                "truncated_files": sorted(k for k, f in files_acc.items() if f["truncated"]),
            },
            "files": {k: files_acc[k] for k in sorted(files_acc)},
        },
        "counts": {"files": len(files_acc), "events": acc.events, "sessions": acc.sessions},
    }


_OWNED = (
    "evidence",
    "leak",
    "transfers",
    "truth.json",
    "truth_events.parquet",
    "truth_sessions.parquet",
    "case.toml",
    "authorisations.csv",
    *CASE_PATHS,
)


def _clear_previous(out: Path) -> None:
    """Remove a previous generation in ``out`` (only the paths the generator writes).

    Stale daily files from another configuration would otherwise be read as
    evidence. A folder that holds ``evidence/`` but no ``truth.json`` was not
    made by the generator and is left alone: :class:`SynthError`.
    """
    if not out.exists():
        return
    ev = out / "evidence"
    if ev.exists() and any(ev.iterdir()) and not (out / "truth.json").exists():
        raise SynthError(
            f"{out} holds evidence/ but no truth.json: not a generated folder; choose another output"
        )
    for name in _OWNED:
        p = out / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
