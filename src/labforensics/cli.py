"""The labforensics command: forensic analysis of medical-lab audit logs.

Subcommands
-----------
``synth OUT``            generate synthetic multi-lab evidence with ground truth
``ingest EVIDENCE... --out DIR``
                         read evidence, write events.parquet, quarantine.csv,
                         ingest_report.json and manifest.json
``investigate EVIDENCE... --out DIR``
                         the whole pipeline to a forensic report (see investigate)
``reidentify``           map pseudonyms back to (lab, IPP) for notification lists
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import EvidenceError, LabForensicsError, OutputExistsError

__all__ = ["main"]

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: Every file name labforensics writes in an output folder (ingest and investigate).
OUTPUT_NAMES = frozenset(
    {
        "events.parquet",
        "quarantine.csv",
        "ingest_report.json",
        "manifest.json",
        "findings.json",
        "sessions.parquet",
        "scores.parquet",
        "sources.csv",
        "report.html",
    }
)


def prepare_out(out: Path, force: bool) -> Path:
    """Create the output folder; refuse an existing non-empty one unless ``force``.

    With ``force``, a folder holding a previous labforensics output (its
    ``manifest.json``) is emptied of the files labforensics writes (:data:`OUTPUT_NAMES`)
    so that the folder, and the new manifest's output list, hold exactly what this
    run writes. A folder holding anything else is refused even with ``force``:
    labforensics never deletes a file it did not write.

    Raises
    ------
    OutputExistsError
        When ``out`` is an existing file; when it is a non-empty folder and ``force``
        is False; when ``force`` is given but the folder holds files (or folders)
        labforensics did not write.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(
            f"--out {out} is a file, not a folder; choose a folder path (new or empty)"
        )
    try:
        entries = sorted(out.iterdir()) if out.exists() else []
    except OSError as exc:
        raise OutputExistsError(f"cannot list output folder {out}: {exc.strerror or exc}") from exc
    if entries and not force:
        raise OutputExistsError(f"output folder {out} exists and is not empty; pass --force")
    if entries:
        unknown = [
            e.name
            for e in entries
            if e.name not in OUTPUT_NAMES or e.is_symlink() or not e.is_file()
        ]
        if unknown:
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise OutputExistsError(
                f"{out} holds files labforensics did not write: {', '.join(unknown[:10])}{more}; "
                "choose another --out"
            )
        if not (out / "manifest.json").is_file():
            raise OutputExistsError(
                f"{out} holds no manifest.json, so it is not a previous labforensics output "
                "and --force will not empty it; choose another --out"
            )
        for e in entries:
            try:
                e.unlink()
            except OSError as exc:
                raise OutputExistsError(
                    f"cannot remove the previous output {e}: {exc.strerror or exc}"
                ) from exc
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputExistsError(
            f"cannot create output folder {out}: {exc.strerror or exc}"
        ) from exc
    return out


def _cmd_synth(ns: argparse.Namespace) -> int:
    from . import synth

    kwargs = dict(labs=ns.labs, start=ns.start, end=ns.end, seed=ns.seed, scale=ns.scale)
    res = synth.generate(ns.out, **kwargs)
    print(f"synthetic evidence written to {ns.out}")
    print(res)
    return 0


def _cmd_ingest(ns: argparse.Namespace) -> int:
    from .custody import run_manifest
    from .ingest import read_evidence
    from .pipeline import expand_evidence
    from .outputs import write_csv, write_json, write_parquet

    started = _utcnow()
    expand_evidence([Path(e) for e in ns.evidence])  # a missing path or a link loop: exit 2
    out = prepare_out(Path(ns.out), ns.force)
    # the folder is empty now: on any failure, what this run wrote is removed again, so
    # that a half-written output is never left behind (nor mistaken for a whole one)
    written = [out / n for n in ("events.parquet", "quarantine.csv", "ingest_report.json")]
    try:
        ev = read_evidence(
            ns.evidence, tz=ns.tz, profile=ns.profile, case_key=ns.case_key, year=ns.year,
            lab=ns.lab, progress=True,
        )  # fmt: skip
        if not ev.report.files:
            why = ev.report.unrecognised_reasons
            listed = "; ".join(
                f"{n}: {why.get(n, 'not recognised')}" for n in ev.report.unrecognised[:5]
            )
            more = len(ev.report.unrecognised) - 5
            raise EvidenceError(
                "no readable evidence file in "
                + ", ".join(ns.evidence)
                + (f" ({listed}{f'; {more} more' if more > 0 else ''})" if listed else "")
            )
        write_parquet(ev.events, written[0])
        write_csv(ev.quarantine, written[1])
        write_json(ev.report.to_dict(), written[2])
        manifest = run_manifest(
            inputs=list(ev.manifest),
            out=out,
            parameters={"tz": ns.tz, "profile": ns.profile, "year": ns.year, "lab": ns.lab},
            started=started,
            finished=_utcnow(),
            command=["labforensics", *sys.argv[1:]],
            key_fingerprint=ev.case_key_fingerprint,
        )
        write_json(manifest, out / "manifest.json")
    except BaseException:
        for f in [*written, out / "manifest.json"]:
            f.unlink(missing_ok=True)
        raise
    print(ev.report.summary())
    print(f"written to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``labforensics`` command."""
    p = argparse.ArgumentParser(
        prog="labforensics",
        description="Forensic analysis of medical-lab audit logs: read the evidence, "
        "rebuild sessions, flag anomalies and attribute a leak, with a forensic report.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate synthetic evidence with ground truth")
    s.add_argument("out", type=Path, help="folder to write the evidence and truth.json into")
    s.add_argument("--labs", type=int, default=30, help="number of labs (default: 30)")
    s.add_argument(
        "--start",
        default="2015-01-01",
        help="first day of the evidence, YYYY-MM-DD (default: 2015-01-01)",
    )
    s.add_argument(
        "--end",
        default="2020-10-31",
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
    s.set_defaults(func=_cmd_synth)

    i = sub.add_parser("ingest", help="read evidence into the canonical event table")
    i.add_argument("evidence", nargs="+", help="files, folders or globs")
    i.add_argument("--out", required=True, type=Path)
    i.add_argument("--tz", default="Europe/Paris", help="local time zone of the sources")
    i.add_argument("--profile", default=None, help="built-in profile name or TOML file")
    i.add_argument("--case-key", default=None, help="key file (or set LABFORENSICS_CASE_KEY)")
    i.add_argument("--year", type=int, default=None, help="year of RFC 3164 syslog lines")
    i.add_argument("--lab", default=None, help="lab of sources that name none")
    i.add_argument("--force", action="store_true", help="overwrite a non-empty output folder")
    i.set_defaults(func=_cmd_ingest)

    for name, (adder, _) in _EXTENSIONS.items():
        adder(sub.add_parser(name, help=_EXTENSIONS[name][1]))
    return p


#: Subcommands added by other modules: name -> (function adding arguments and
#: ``func``, help text). Filled below from the modules that provide them.
_EXTENSIONS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], str]] = {}


def _load_extensions() -> None:
    try:
        from .pipeline import add_cli_commands
    except ImportError:
        return
    add_cli_commands(_EXTENSIONS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 2 usage or evidence error)."""
    _load_extensions()
    ns = build_parser().parse_args(argv)
    try:
        return int(ns.func(ns) or 0)
    except LabForensicsError as exc:
        print(f"labforensics: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a command that stopped reading (| head)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
