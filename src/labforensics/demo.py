"""The bundled demo: ``make demo``, ``make demo-full`` and ``make demo-real``.

``python -m labforensics.demo --out demo`` generates the demo case
(:data:`DEMO_PARAMETERS`: 5 labs, August to October 2020, at a real lab's daily
activity, about 2,700 events per lab per day, 1.3 M events, with
:func:`labforensics.synth.generate`; skipped when ``demo/case/truth.json``
already holds the same parameters), with ``linkage=True``: the labs' patient
indexes ``demo/case/patients/PATIENTS_<LAB>.csv`` and a leaked dump of people
``demo/case/dump/`` tied to the audit evidence (issue 13).
It investigates the evidence with that dump, linked to the indexes, and the FTP
transfer log into ``demo/report/`` (whose "Leak linkage" section shows the linkage),
printing the elapsed time of each step and where the report is.

``python -m labforensics.demo --full --out demo-full`` does the same on the
full-size case (:data:`FULL_DEMO_PARAMETERS`: 30 labs, January 2015 to October
2020, about 100 events per lab per day, 6.3 M events; about 10 minutes and
10 GiB of memory).

``python -m labforensics.demo --real --out demo-real`` investigates the real
public logs of ``../shared/data/real/`` (auth syslog from loghub, FHIR
AuditEvent examples, IHE ATNA syslog) into one report each; it says so and
stops when ``../shared`` is absent. A folder it leaves out (:data:`REAL_SKIPPED`:
the elastic auth.log, whose year is documented nowhere) is named with the reason.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import synth
from ._terminal import visible
from .case import DEFAULT_TZ, CaseContext
from .errors import LabForensicsError
from .pipeline import InvestigationResult, investigate
from .synth.generator import GENERATOR_VERSION

__all__ = ["DEMO_PARAMETERS", "FULL_DEMO_PARAMETERS", "main", "run_demo", "run_real"]

#: Parameters of the bundled demo case (``make demo``): a few labs at a real lab's
#: density over the last three months of the story, so that the vendor's migrations,
#: the incidents and the leak all fall inside it. A French lab site sees about 130
#: patients a day, about 4 tests each, about 25 audit events per visit (issue 17):
#: ``scale`` 8 gives about 16 x 8 = 128 visits a weekday to a lab of size 1 (and
#: 32,000 patients registered before the period), ``session_events`` 5 about 25
#: events a visit (five times denser staff sessions). Measured (seed 2021): 1,261,291
#: events, 2,742 per lab per calendar day (3,234 per open day), 112 requests per open
#: day (64 to 171 with the lab's size), 29 events per request.
DEMO_PARAMETERS: dict[str, Any] = {
    "labs": 5,
    "start": "2020-08-01",
    "end": "2020-10-31",
    "seed": 2021,
    "scale": 8.0,
    "session_events": 5.0,
    "linkage": True,
}

#: Parameters of the full-size demo case (``make demo-full``, ``--full``): 30 labs over
#: six years at about 100 events per lab per day (the demo of sessions 1 to 6).
FULL_DEMO_PARAMETERS: dict[str, Any] = {
    "labs": 30,
    "start": "2015-01-01",
    "end": "2020-10-31",
    "seed": 2021,
    "scale": 1.0,
    "linkage": True,
}

#: What the dense demo prints at its end: how to run the full-size case.
FULL_SIZE_NOTE = (
    "The full-size case (30 labs, January 2015 to October 2020, 6.3 M events at about "
    "100 events per lab per day; about 10 min and 10 GiB of memory): make demo-full, or "
    "python -m labforensics.demo --full --out demo-full"
)

#: Generator parameters whose default :func:`labforensics.synth.generate` leaves out of
#: ``truth["parameters"]`` (a case generated before they existed holds those defaults).
_UNRECORDED_DEFAULTS: dict[str, Any] = {"session_events": 1.0}

CASE_TOML = """# The bundled demo case (synthetic): {labs_n} labs of one LIS vendor, {period}.
[case]
name = "Demo: {labs_n} laboratories, one LIS vendor, {period}"
tz = "{tz}"
seed = {seed}

[networks]
lab = ["10.0.0.0/8"]
vendor = ["172.16.0.0/16"]

[accounts]
vendor = ["hotline.editeur", "migration.editeur"]
{labs}"""


#: What each lab ordered from the vendor for its migration, in the demo's register: the
#: patients seen in the two years before the migration (the demo's story follows the
#: regulator's finding, CNIL SAN-2022-009: the vendor extracted far more than was asked).
MIGRATION_SCOPE_YEARS = 2
#: The migration ticket's window: from three weeks before the migration to a week after.
MIGRATION_WINDOW_DAYS = (21, 7)


def write_demo_register(truth: dict[str, Any], path: Path, scope_since: str | None = None) -> Path:
    """Write the demo's authorisation register (``shared/formats/authorisations.md``).

    The register is what the labs and the vendor signed, typed by the investigator:
    per lab a migration order for ``migration.editeur`` (its window around the lab's
    migration date, scope: patients seen in the :data:`MIGRATION_SCOPE_YEARS` years
    before it, or since ``scope_since``), and the routine exports the lab declared
    (monthly billing, the yearly statistics extraction, the nightly backup of
    ``batch.nuit``), from the accounts the scenario gave those duties. Nothing is
    written for the hotline account (no support ticket ordered an export) nor from
    the incidents.

    Parameters
    ----------
    truth : dict
        The demo case's ``truth.json`` (its ``labs`` and the benign ``traps`` that
        name each lab's billing and statistics accounts).
    path : Path
        The register file written (UTF-8, ``;``).
    scope_since : str, optional
        ISO date: every migration order covers the patients seen since that day
        (the dense demo: the start of its three months of logs, the files active this
        quarter; a two-year scope could not be judged from them, since an order's
        scope is bounded only where the logs cover it). Default: the
        :data:`MIGRATION_SCOPE_YEARS` years before each lab's migration.

    Returns
    -------
    Path
        ``path``.
    """
    start = str(truth.get("parameters", {}).get("start", "2015-01-01"))
    duty: dict[tuple[str, str], str] = {}
    for t in truth.get("traps", []):
        if t.get("kind") in ("billing", "statistics") and t.get("account"):
            duty.setdefault((t["lab"], t["kind"]), t["account"])
    rows = ["ticket;lab;account;kind;start;end;scope_patients_since;scope_max_records;"
            "destination;purpose"]  # fmt: skip
    before, after = (dt.timedelta(days=d) for d in MIGRATION_WINDOW_DAYS)
    for lab in truth.get("labs", []):
        code = lab["code"]
        mig = dt.date.fromisoformat(str(lab["migration_date"]))
        since = mig.replace(year=mig.year - MIGRATION_SCOPE_YEARS, day=min(mig.day, 28))
        if scope_since is not None:
            since = dt.date.fromisoformat(scope_since)
        rows.append(f"MIG-{code};{code};migration.editeur;migration;{mig - before};"
                    f"{mig + after};{since};;;Migration vers le nouveau produit: patients "
                    f"vus depuis {since}")  # fmt: skip
        rows.append(f"SAUV-{code};{code};batch.nuit;backup;{start};;;;;Sauvegarde nocturne")
        for kind, ticket, what in (("billing", "FACT", "billing"),
                                   ("statistics", "STAT", "other")):  # fmt: skip
            acc = duty.get((code, kind))
            if acc:
                rows.append(f"{ticket}-{code};{code};{acc};{what};{start};;;;;{kind}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _same_parameters(case_dir: Path, params: dict[str, Any]) -> bool:
    """Whether ``case_dir`` holds a case generated with ``params`` by this generator.

    Both the parameters and the generator version recorded in ``truth.json``
    (``truth["generator"]["version"]``) must match: a changed generator regenerates.
    """
    p = case_dir / "truth.json"
    if not p.exists():
        return False
    try:
        truth = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(truth, dict):
        return False
    gen = truth.get("generator")
    version = gen.get("version") if isinstance(gen, dict) else gen
    if version != GENERATOR_VERSION:
        return False
    got = truth.get("parameters", {})
    return isinstance(got, dict) and all(
        got.get(k, _UNRECORDED_DEFAULTS.get(k)) == v for k, v in params.items()
    )


def _step(name: str, timings: dict[str, float]):
    class _T:
        def __enter__(self):
            self.t0 = time.perf_counter()
            print(f"== {name} ...", flush=True)
            return self

        def __exit__(self, *exc):
            timings[name] = time.perf_counter() - self.t0
            print(f"== {name}: {timings[name]:.1f} s", flush=True)
            return False

    return _T()


def run_demo(
    out: str | Path,
    *,
    params: dict[str, Any] | None = None,
    progress: bool = True,
    full: bool = False,
) -> tuple[InvestigationResult, dict[str, float]]:
    """Generate (or reuse) the demo case under ``out/case`` and investigate it into ``out/report``.

    Parameters
    ----------
    out : str or Path
        The demo folder (``case/``, ``case.toml``, ``authorisations.csv``, ``report/``).
    params : dict, optional
        Parameters of :func:`labforensics.synth.generate` that replace the profile's.
    progress : bool, default True
        Progress bars.
    full : bool, default False
        The full-size case (:data:`FULL_DEMO_PARAMETERS`) instead of the dense one
        (:data:`DEMO_PARAMETERS`).

    Returns
    -------
    (InvestigationResult, dict)
        The investigation and the elapsed seconds of each step.

    Raises
    ------
    labforensics.errors.LabForensicsError
        From the generator or the investigation.
    """
    base = FULL_DEMO_PARAMETERS if full else DEMO_PARAMETERS
    params = {**base, **(params or {})}
    out = Path(out)
    case_dir = out / "case"
    timings: dict[str, float] = {}
    with _step("generate the demo case", timings):
        if _same_parameters(case_dir, params):
            print(f"   {case_dir} already holds the demo case with these parameters: reused")
        else:
            res = synth.generate(case_dir, **params)
            print(f"   {res}")
            print(f"   {res.counts['events']:,} event rows written, some of them in files the "
                  "generator damages on purpose (cut lines, a cut gzip member, wrong widths, bad "
                  "dates, rotation overlaps): the investigation counts "
                  "them as quarantined, duplicates or lost, file by file, in its accounting")  # fmt: skip
    truth = json.loads((case_dir / "truth.json").read_text(encoding="utf-8"))
    labs = "".join(
        f'\n[[labs]]\ncode = "{lab["code"]}"\nfiness = "{lab["finess"]}"\n'
        for lab in truth.get("labs", [])
    )
    case_file = out / "case.toml"
    # the generator's labs keep this clock (truth.json's parameters.timezone)
    tz = truth.get("parameters", {}).get("timezone") or DEFAULT_TZ
    # the dense profile's labs ordered the patients seen since its logs begin
    scope_since = None if full else str(params["start"])
    register = write_demo_register(truth, out / "authorisations.csv", scope_since)
    period = f"{str(params['start'])[:7]} to {str(params['end'])[:7]}"
    case_file.write_text(CASE_TOML.format(tz=tz, seed=params["seed"], labs=labs,
                                          labs_n=params["labs"], period=period)
                         + f'\n[authorisations]\nregister = "{register.name}"\n',
                         encoding="utf-8")  # fmt: skip
    # the leaked dump linked to the patient indexes; a case generated without
    # linkage (params={"linkage": False}) falls back to the leaked identifier list
    dump, patients = case_dir / "dump", case_dir / "patients"
    if dump.is_dir() and patients.is_dir():
        leak: Path | None = dump
    else:
        leak, patients = case_dir / "leak" / "leaked_ipps.csv", None
    xfer = case_dir / "transfers" / "xferlog"
    with _step("investigate", timings):
        res = investigate(
            case_dir / "evidence",
            out / "report",
            leak=leak if leak is not None and leak.exists() else None,
            patients=patients,
            transfers=xfer if xfer.exists() else None,
            case=case_file,
            force=True,
            progress=progress,
            command=[
                "python",
                "-m",
                "labforensics.demo",
                *(["--full"] if full else []),
                "--out",
                str(out),
            ],  # fmt: skip
        )
    return res, timings


#: The real public logs: folder under ../shared/data/real -> (report name, ingest options).
REAL_SOURCES: dict[str, tuple[str, dict[str, Any]]] = {
    "auth-syslog/loghub": ("auth-syslog", {"year": 2005, "lab": "LOGHUB"}),
    "fhir-auditevent": ("fhir-auditevent", {"lab": "FHIR"}),
    "atna-syslog": ("atna-syslog", {"lab": "ATNA"}),
}

#: Real log folders the demo does not investigate -> why (printed by :func:`run_real`).
#: QA session 17: ``auth-syslog/elastic`` was left out without a word. Its RFC 3164
#: lines carry no year and neither ../shared/data/real/README.md nor its NOTICE and
#: LICENSE give one: a year would be a guess, and every time of the report with it.
REAL_SKIPPED: dict[str, str] = {
    "auth-syslog/elastic": (
        "its syslog lines (27 March to 20 April) carry no year and its README, NOTICE and "
        "LICENSE give none; investigate it by hand with the year you establish: "
        "labforensics investigate ../shared/data/real/auth-syslog/elastic --year YEAR "
        "--lab ELASTIC --out OUT"
    ),
}

#: Files of ../shared/data/real that are not logs (licences, notices, descriptions).
NOT_LOGS = frozenset({"README.md", "LICENSE", "NOTICE", "CITATION"})


def real_log_files(root: str | Path) -> dict[str, str | None]:
    """Every log file under ``root`` and the demo's report it goes to, or why it is skipped.

    Parameters
    ----------
    root : path
        The real-logs folder (``../shared/data/real``).

    Returns
    -------
    dict
        POSIX path relative to ``root`` -> ``"report <name>"`` (a folder of
        :data:`REAL_SOURCES` holds it), ``"skipped: <reason>"`` (one of
        :data:`REAL_SKIPPED`), or None: a log the demo neither reads nor names.
    """
    root = Path(root)
    out: dict[str, str | None] = {}
    for f in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in NOT_LOGS):
        rel = f.relative_to(root).as_posix()
        where: str | None = None
        for folder, (name, _ingest) in REAL_SOURCES.items():
            if rel.startswith(folder + "/"):
                where = f"report {name}"
        for folder, reason in REAL_SKIPPED.items():
            if rel.startswith(folder + "/"):
                where = f"skipped: {reason}"
        out[rel] = where
    return out


def run_real(
    out: str | Path, shared: str | Path | None = None, *, progress: bool = True
) -> dict[str, InvestigationResult | str]:
    """Investigate each real public log folder into its own report under ``out``.

    Returns
    -------
    dict
        Report name -> InvestigationResult, or the error message when that
        folder could not be investigated.
    """
    root = Path(shared) if shared else Path.cwd().parent / "shared" / "data" / "real"
    if not root.exists():
        print(f"{root} is absent: the real-log demo needs ../shared beside the project; skipped")
        return {}
    results: dict[str, InvestigationResult | str] = {}
    for folder, (name, ingest) in REAL_SOURCES.items():
        src = root / folder
        if not src.exists():
            print(f"{src} is absent: skipped")
            continue
        t0 = time.perf_counter()
        case = CaseContext(name=f"Real public logs: {folder}", sections={"ingest": ingest})
        try:
            res = investigate(src, Path(out) / name, case=case, force=True, progress=progress)
        except LabForensicsError as exc:
            print(f"== {name}: not investigated: {visible(exc)}")
            results[name] = str(exc)
            continue
        f = res.findings
        print(
            f"== {name}: {f['counts']['events']:,} events, {f['counts']['sessions']:,} sessions, "
            f"{f['counts']['flagged_sessions']:,} flagged, {f['counts']['sources']:,} source "
            f"addresses, {f['counts']['flagged_sources']:,} flagged, "
            f"{f['counts']['quarantined']:,} quarantined; {time.perf_counter() - t0:.1f} s "
            f"-> {res.report}"
        )
        results[name] = res
    for folder, reason in REAL_SKIPPED.items():
        if (root / folder).exists():
            print(f"== {folder}: not investigated: {reason}")
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m labforensics.demo``."""
    p = argparse.ArgumentParser(
        prog="python -m labforensics.demo", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--out", type=Path, default=None, help="demo folder (default: demo, demo-full with --full)"
    )
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--real", action="store_true", help="investigate ../shared/data/real instead")
    kind.add_argument(
        "--full",
        action="store_true",
        help="the full-size case: 30 labs, 2015-2020 (about 10 min and 10 GiB)",
    )
    p.add_argument("--shared", type=Path, default=None, help="the real-logs folder")
    p.add_argument("--scale", type=float, default=None, help="activity scale of the demo case")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    ns = p.parse_args(argv)
    if ns.out is None:
        ns.out = Path("demo-full" if ns.full else "demo")
    t0 = time.perf_counter()
    if ns.real:
        run_real(ns.out, ns.shared, progress=not ns.quiet)
        print(f"total: {time.perf_counter() - t0:.1f} s")
        return 0
    extra = {"scale": ns.scale} if ns.scale is not None else None
    try:
        res, timings = run_demo(ns.out, params=extra, progress=not ns.quiet, full=ns.full)
    except LabForensicsError as exc:
        print(f"labforensics demo: error: {visible(exc)}", file=sys.stderr)
        return 2
    print()
    print(res.summary())
    if res.pdf_note:  # Chromium absent: the demo still ends, and says so
        print(f"labforensics demo: note: {res.pdf_note}", file=sys.stderr)
    print()
    print("Elapsed: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
          + f"; total {time.perf_counter() - t0:.1f} s")  # fmt: skip
    print(f"Open the report: {res.report}")
    if not ns.full:
        print(FULL_SIZE_NOTE)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
