"""The labforensics command: forensic analysis of medical-lab audit logs.

Subcommands
-----------
``synth OUT``            generate synthetic multi-lab evidence with ground truth
``ingest EVIDENCE... --out DIR``
                         read evidence, write events.parquet, quarantine.csv,
                         ingest_report.json and manifest.json
``ingest EVIDENCE... --store DIR``
                         add evidence to an evidence store (Parquet, partitioned by
                         lab and month; incremental: see labforensics.store)
``investigate EVIDENCE... --out DIR``
                         the whole pipeline to a forensic report (see investigate);
                         ``--store DIR`` instead of EVIDENCE starts from a store
``reidentify``           map pseudonyms back to (lab, IPP) for notification lists

This module holds the arguments of every subcommand and nothing else: the work is
done by :mod:`labforensics.pipeline` (ingest, investigate), :mod:`labforensics.synth`
and :mod:`labforensics.reidentify`. Imports go one way, ``cli`` -> ``pipeline`` ->
stages -> ``outputs``, and all sit at the top of the modules, so that a module that
fails to import makes every command, ``--help`` included, fail with its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from . import __version__, synth
from ._cleanup import (
    EXIT_INTERRUPTED,
    INTERRUPTED,
    discard_made,
    missing_folders,
    sigterm_raises,
)
from ._keyfile import key_file_problem
from ._terminal import visible
from .case import DEFAULT_TZ, CaseContext, default_key_file, load_case, resolve_case_key
from .engine.run import EngineTerminated
from .errors import EvidenceError, LabForensicsError, ParameterError
from .evidence_paths import expand_evidence
from .pipeline import ingest_only, investigate
from .preflight import require_year
from .privacy import ENV_VAR
from .reidentify import reidentify, resolution_hint
from .store import ingest_to_store
from .store._guard import store_lock

__all__ = ["EXIT_INTERRUPTED", "build_parser", "main"]


def _say(text: object, *, file=None, flush: bool = False) -> None:
    """Print one message of the command: every text printed to the terminal goes through
    :func:`labforensics._terminal.visible` (evidence with escape sequences is shown as
    ``\\x1b[2J``, never obeyed; QA session 9)."""
    print(visible(text), file=sys.stdout if file is None else file, flush=flush)


def _cmd_synth(ns: argparse.Namespace) -> int:
    kwargs = dict(labs=ns.labs, start=ns.start, end=ns.end, seed=ns.seed, scale=ns.scale,
                  linkage=ns.linkage, linkage_scenario=ns.linkage_scenario, variant=ns.variant)  # fmt: skip
    res = synth.generate(ns.out, **kwargs)
    _say(f"synthetic evidence written to {ns.out}")
    _say(res)
    return 0


def _cmd_ingest_store(ns: argparse.Namespace) -> int:
    case = load_case(ns.case) if ns.case is not None else None
    key, key_file, store = ns.case_key, None, Path(ns.store).absolute()
    made = missing_folders(store.parent)  # the lock and the key lie beside the store
    store.parent.mkdir(parents=True, exist_ok=True)
    new_key = None
    try:
        with store_lock(store, shared=False):  # held from the key to the manifest
            if key is None and not os.environ.get(ENV_VAR) and getattr(case, "key_file", None) is None:  # fmt: skip
                # as investigate: <store>.key beside the store, made once, reused after
                new_key = None if os.path.lexists(default_key_file(store)) else default_key_file(store)  # fmt: skip
                key, key_file = resolve_case_key(CaseContext(), store)
            res = ingest_to_store(
                ns.evidence, ns.store, tz=ns.tz, profile=ns.profile, case_key=key,
                year=ns.year, lab=ns.lab, case=case, root=ns.root, progress=not ns.quiet,
                command=["labforensics", *ns.argv],
            )  # fmt: skip
    except BaseException:  # a failed first ingest: no key for no store, no folder left
        if new_key is not None and not (store / "manifest.json").is_file():
            with contextlib.suppress(OSError):
                new_key.unlink()
        for d in made:
            with contextlib.suppress(OSError):
                os.rmdir(d)
        raise
    _say(res.summary())
    if key_file is not None:
        _say(f"Case key: {key_file} (keep it: it re-identifies patients)")
    return 0


def _check_year(ns: argparse.Namespace) -> None:
    """Syslog evidence whose lines carry no year is refused without ``--year``, before
    anything is read or written (:func:`labforensics.preflight.require_year`)."""
    if ns.year is None:
        files = [p for p, _ in expand_evidence([Path(e) for e in ns.evidence])]
        require_year(files, ns.profile)


def _cmd_ingest(ns: argparse.Namespace) -> int:
    if (ns.out is None) == (ns.store is None):
        raise ParameterError("give --out DIR (one ingest) or --store DIR (an evidence store)")
    _check_year(ns)
    if ns.store is not None:
        return _cmd_ingest_store(ns)
    if ns.root is not None or ns.case is not None:
        raise ParameterError("--root and --case go with --store only")
    ev = ingest_only(
        ns.evidence, ns.out, tz=ns.tz or DEFAULT_TZ, profile=ns.profile, case_key=ns.case_key,
        year=ns.year, lab=ns.lab, force=ns.force, progress=not ns.quiet,
        command=["labforensics", *ns.argv],
    )  # fmt: skip
    _say(ev.report.summary())
    _say(f"written to {ns.out}")
    if ns.case_key is None and not os.environ.get(ENV_VAR):  # the key ingest_only made/reused
        _say(f"Case key: {default_key_file(Path(ns.out))} (keep it: it re-identifies patients)")
    return 0


def _case_with_key(case_path: Path | None, key_file: Path | None):
    """The case file (or None), with ``--case-key`` as its key file when given.

    A key file only, never key material on the command line (the command line is
    recorded in the manifest and the report); the file must exist.
    """
    if key_file is None:
        return case_path
    if problem := key_file_problem(key_file):
        raise EvidenceError(f"{problem} (--case-key takes a key file)")
    return dataclasses.replace(load_case(case_path), key_file=key_file.resolve())


def _cmd_investigate(ns: argparse.Namespace) -> int:
    case = _case_with_key(ns.case, ns.case_key)
    res = investigate(
        ns.evidence or None, ns.out, store=ns.store, leak=ns.leak, transfers=ns.transfers,
        case=case, patients=ns.patients or None, force=ns.force, progress=not ns.quiet,
        command=["labforensics", *ns.argv], tz=ns.tz, year=ns.year, lab=ns.lab,
        authorisations=ns.authorisations,
        engine=ns.engine, scheduler=ns.scheduler, memory_budget=ns.memory_budget,
    )  # fmt: skip
    _say(res.summary())
    if res.pdf_note:
        _say(f"labforensics: note: {res.pdf_note}", file=sys.stderr)
    _warn_unrecognised(res)
    return 0


def _printable(text: str, limit: int = 80) -> str:
    """A piece of evidence inside one line: cut to ``limit`` characters, then its
    control characters, newlines included, as escapes (:func:`visible`)."""
    s = str(text)
    return visible(s if len(s) <= limit else s[: limit - 1] + "…", keep="")


def _warn_unrecognised(res: object) -> None:
    """One stderr line when input files were left out (no reader recognised them)."""
    report = getattr(getattr(res, "evidence", None), "report", None)
    bad = list(getattr(report, "unrecognised", None) or [])
    if bad:
        why = getattr(report, "unrecognised_reasons", None) or {}
        names = ", ".join(f"{b} ({_printable(why[b])})" if why.get(b) else str(b) for b in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        _say(f"labforensics: warning: {len(bad)} input file(s) left out, no reader "
              f"recognised them ({names}{more}); see the report's section 2", file=sys.stderr)  # fmt: skip


def _cmd_reidentify(ns: argparse.Namespace) -> int:
    case = load_case(ns.case)
    if problem := key_file_problem(ns.case_key):
        raise EvidenceError(problem)
    res = reidentify(ns.case_key, ns.evidence, ns.pseudonyms, ns.out, case=case,
                     force=ns.force, dumps=ns.dumps, leak=ns.leak,
                     patients=ns.patients, run=ns.run)  # fmt: skip
    n = int(res["found"].sum())
    _say(f"{n} of {len(res)} keyed ids resolved; written to {ns.out} (mode 0600)")
    if hint := resolution_hint(res):
        print(f"labforensics: warning: {visible(hint, keep='')}", file=sys.stderr)
    return 0


def _iso_day(text: str) -> str:
    """An ISO ``YYYY-MM-DD`` day, checked (argparse turns the error into exit 2 and a line)."""
    try:
        dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day YYYY-MM-DD ({exc})") from exc
    return text


def _add_synth(s: argparse.ArgumentParser) -> None:
    s.add_argument("out", type=Path, help="folder to write the evidence and truth.json into")
    s.add_argument("--labs", type=int, default=30, help="number of labs (default: 30)")
    s.add_argument(
        "--start",
        default="2015-01-01",
        type=_iso_day,
        help="first day of the evidence, YYYY-MM-DD (default: 2015-01-01)",
    )
    s.add_argument(
        "--end",
        default="2020-10-31",
        type=_iso_day,
        help="last day of the evidence, YYYY-MM-DD (default: 2020-10-31)",
    )
    s.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed; same seed and options give the same files (default: 0)",
    )
    s.add_argument("--scale", type=float, default=1.0,
                   help="activity multiplier: 0.1 gives about a tenth of the events (default: 1.0)")  # fmt: skip
    s.add_argument("--linkage", action="store_true", help="also write patient indexes and a leaked dump tied to the evidence, with their linkage truth")  # fmt: skip
    s.add_argument("--linkage-scenario", choices=synth.SCENARIOS, default=None, help="how the dump was copied (with --linkage; default: vendor_extraction)")  # fmt: skip
    s.add_argument("--variant", choices=sorted(synth.VARIANTS), default=None, help="a variant of the evidence, with its case.toml and authorisations.csv (labforensics.synth.variants; default: none, the default evidence)")  # fmt: skip
    s.set_defaults(func=_cmd_synth)


def _add_ingest(i: argparse.ArgumentParser) -> None:
    i.add_argument("evidence", nargs="+", help="files, folders or globs")
    i.add_argument("--out", type=Path, default=None, help="output folder (or --store)")
    i.add_argument("--store", type=Path, default=None, help="evidence store folder to add the evidence to (created when absent; a file already in it under the same name with the same SHA-256 is skipped)")  # fmt: skip
    i.add_argument("--root", type=Path, default=None, help="with --store, on its first ingest: the folder source_file names are relative to (default: the files' common folder)")  # fmt: skip
    i.add_argument("--case", type=Path, default=None, help="with --store: case.toml (time zone, lab aliases, account kinds, key file)")  # fmt: skip
    i.add_argument("--tz", default=None, help=f"local time zone of the sources (default: the case's, else {DEFAULT_TZ})")  # fmt: skip
    i.add_argument("--profile", action="append", default=None, help="built-in profile name or TOML file; repeat for several (each file read with the first that recognises it)")  # fmt: skip
    i.add_argument("--case-key", default=None, help="key file (or set LABFORENSICS_CASE_KEY)")
    i.add_argument("--year", type=int, default=None, help="year of RFC 3164 syslog lines")
    i.add_argument("--lab", default=None, help="lab of sources that name none")
    i.add_argument("--force", action="store_true", help="overwrite a non-empty output folder")
    i.add_argument("--quiet", action="store_true", help="no progress bar")
    i.set_defaults(func=_cmd_ingest)


def _add_investigate(p: argparse.ArgumentParser) -> None:
    p.add_argument("evidence", nargs="*", help="evidence files, folders or globs")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--store", type=Path, default=None, help="an evidence store (labforensics ingest --store) instead of EVIDENCE")  # fmt: skip
    p.add_argument("--engine", choices=("local", "dask"), default="local", help="who runs the per-lab stages: this process, or Dask tasks (pip install 'labforensics[scale]')")  # fmt: skip
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="with --engine dask: the scheduler (tcp://host:8786); default a two-worker LocalCluster")  # fmt: skip
    p.add_argument("--memory-budget", type=int, default=None, metavar="BYTES", help="bytes one lab's stage may hold: evidence files are streamed through a temporary store, a lab above it runs in account batches (an account alone above it is warned of), the labs' results wait in a private temporary folder when all of them would exceed it; the same findings")  # fmt: skip
    p.add_argument(
        "--leak", type=Path, default=None,
        help="the leak: a list of identifiers (IPP, pseudonym or NIR column), or a dump of "
        "people (files or a folder; needs --patients)",
    )  # fmt: skip
    p.add_argument(
        "--patients", nargs="+", default=None,
        help="the labs' patient indexes (PATIENTS_<LAB>.csv, else a lab column)",
    )  # fmt: skip
    p.add_argument("--transfers", type=Path, default=None, help="the FTP server's xferlog")
    p.add_argument(
        "--authorisations", type=Path, default=None, metavar="PATH",
        help="the authorisation register (CSV, shared/formats/authorisations.md); default "
        "[authorisations] register of the case file",
    )  # fmt: skip
    p.add_argument("--case", type=Path, default=None, help="case.toml")
    p.add_argument(
        "--case-key", type=Path, default=None,
        help="the case key file (overrides the case file's key_file); never the key itself",
    )  # fmt: skip
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


def _add_reidentify(p: argparse.ArgumentParser) -> None:
    p.add_argument("--case-key", required=True, type=Path, help="the case key file")
    p.add_argument("--evidence", required=True, nargs="+", help="evidence files or folders")
    p.add_argument("--pseudonyms", required=True, type=Path, help="file listing pseudonyms")
    p.add_argument("--out", required=True, type=Path, help="CSV to write (outside any report)")
    p.add_argument("--case", type=Path, default=None, help="case.toml (time zone, lab aliases)")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    p.add_argument("--dumps", nargs="+", default=[], help="leaked dump files (for D ids)")
    p.add_argument(
        "--leak", nargs="+", default=[],
        help="the leaked dump (files or a folder): D ids mapped to file, line and the person",
    )  # fmt: skip
    p.add_argument(
        "--patients", nargs="+", default=[],
        help="the labs' patient indexes: P ids mapped to name and address",
    )  # fmt: skip
    p.add_argument(
        "--run", type=Path, default=None,
        help="the investigation's output folder: its key fingerprint is checked "
             "(default: the folder holding --pseudonyms, if it is one)",
    )  # fmt: skip
    p.set_defaults(func=_cmd_reidentify)


#: Every subcommand: name -> (function adding its arguments and ``func``, help text).
SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], str]] = {
    "synth": (_add_synth, "generate synthetic evidence with ground truth"),
    "ingest": (_add_ingest, "read evidence into the canonical event table"),
    "investigate": (_add_investigate, "the whole pipeline to a forensic report"),
    "reidentify": (
        _add_reidentify,
        "map pseudonyms back to (lab, IPP) for patient notification (data-protection officer)",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``labforensics`` command."""
    p = argparse.ArgumentParser(
        prog="labforensics",
        description="Forensic analysis of medical-lab audit logs: read the evidence, "
        "rebuild sessions, flag anomalies and attribute a leak, with a forensic report.",
    )
    p.add_argument("--version", action="version", version=f"labforensics {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (adder, text) in SUBCOMMANDS.items():
        adder(sub.add_parser(name, help=text))
    return p


@contextlib.contextmanager
def _own_warnings_as_lines() -> Iterator[None]:
    """The package's own warnings (a category defined in labforensics, such as
    :class:`labforensics.engine.run.MemoryBudgetWarning`) printed as one stderr line
    ``labforensics: warning: ...``, as the command's other warnings, not as Python's
    ``file:line: Category: ...`` with a source path; other warnings as Python shows them."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if str(getattr(category, "__module__", "")).split(".")[0] == "labforensics":
            _say(f"labforensics: warning: {message}", file=sys.stderr, flush=True)
        else:  # another library's text may quote the evidence too (a glyph's name)
            shown(visible(message), category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


@contextlib.contextmanager
def _no_empty_out_left(ns: argparse.Namespace) -> Iterator[None]:
    """A failed ``ingest --out`` or ``investigate`` leaves no empty output folder that it
    created, nor the case key ``<out>.key`` it made beside it (Ctrl-C, QA session 9):
    :func:`labforensics._cleanup.discard_made`, which the Python API's own cleanup
    (:func:`~labforensics._cleanup.discard_on_failure`) calls too; here again for a
    failure outside it (a SIGTERM between the output folder and the run's block). A
    folder or key file that existed before the run is never touched."""
    out = getattr(ns, "out", None) if ns.command in ("ingest", "investigate") else None
    try:
        yield
    except BaseException:
        if out is not None:
            discard_made(Path(out))
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status.

    0 ok, 2 usage or evidence error, :data:`EXIT_INTERRUPTED` (130) after Ctrl-C: one
    line ``labforensics: interrupted``, no traceback, once the ``finally`` blocks of the
    run have removed its temporary folders and the outputs of the unfinished run
    (:func:`labforensics._cleanup.discard_on_failure`).
    """
    ns = build_parser().parse_args(argv)
    ns.argv = list(sys.argv[1:] if argv is None else argv)  # the command recorded, as run
    try:
        # SIGTERM raises (outermost), so that the key and empty folder of a run stopped
        # by it are removed before the process ends: the stages' own handlers send the
        # signal again once their folders are gone, and with the default handler back
        # the process ended before _no_empty_out_left could run (QA session 12)
        with (sigterm_raises(lambda: EngineTerminated("run interrupted by SIGTERM")),
              _own_warnings_as_lines(), _no_empty_out_left(ns)):  # fmt: skip
            return int(ns.func(ns) or 0)
    except LabForensicsError as exc:
        _say(f"labforensics: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a command that stopped reading (| head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:  # Ctrl-C: the cleanup has run on the way out
        _say(f"\n{INTERRUPTED}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
