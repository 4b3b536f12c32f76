"""The reading engine: a reader per file, units of work, the worker pool, the pieces read.

Each file is sniffed (a profile or a registered reader), files are grouped into units
of work (batches for a reader's ``read_many``) and read two at a time, each hashed on
the bytes its reader parsed (custody); the results are gathered, in submission order,
into pieces of rows and one :class:`_File` per recognised file. Unrecognised files are
reported with a redacted reason.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema
from ..custody import EvidenceFile, sha256_file
from ..privacy import CaseKey, redact_digit_runs, redact_identifiers
from ..progress import progress_bar
from .accounting import IngestReport
from .files import (
    compression_note,
    custody_log,
    printable_name,
    read_head,
    read_head_magic,
    relative_name,
    unrecognised_reason,
)
from .profile_choice import choose_profile, no_profile_reason
from .profiles import Profile
from .readers import lis_csv
from .readers.regex_profile import read_regex_many
from .registry import BatchRead, FileRead, QuarantineRow, ReadContext, ReaderSpec, get_reader, sniff

_WORKERS = 2
_BATCH_BYTES = 8 << 20
_BATCH_FILES = 8192

#: One file to read: its path, its name in the evidence, its reader (None: unrecognised)
#: and its context.
Job = tuple[Path, str, ReaderSpec | None, ReadContext]
#: A unit's result: the files' custody records and what the reader gave.
UnitResult = tuple[list[EvidenceFile], BatchRead | FileRead | None]


def _resolve_lab(lab: object, path: Path, source_file: str):
    """The value of a per-file option: one value, or ``{path, folder or glob: value}``.

    The most specific key wins: the file itself, then the deepest folder holding
    it, then the longest matching glob.
    """
    if lab is None or not isinstance(lab, Mapping):
        return lab
    best: tuple[int, str] | None = None
    for key, value in lab.items():
        k = os.fspath(key)
        kp = Path(k)
        score = -1
        try:
            kr = kp.resolve()
            if kr == path:
                score = 10_000
            elif kp.exists() and kr.is_dir() and kr in path.parents:
                score = len(kr.as_posix())
        except OSError:
            pass
        if score < 0 and (
            fnmatch.fnmatch(path.as_posix(), k)
            or fnmatch.fnmatch(source_file, k)
            or fnmatch.fnmatch(path.name, k)
        ):
            score = len(k)
        if score >= 0 and (best is None or score > best[0]):
            best = (score, value)
    return best[1] if best else None


def _choose_reader(
    head: bytes, name: str, prof: Profile | tuple[Profile, ...] | None
) -> ReaderSpec | None:
    """The reader of a file (None: no profile nor reader recognises it).

    ``prof``: no profile, one, or several in the user's order; see
    :func:`_choose_profile_reader`, which also gives the profile.
    """
    profs = () if prof is None else (prof,) if isinstance(prof, Profile) else tuple(prof)
    return _choose_profile_reader(head, name, profs)[0]


def _choose_profile_reader(
    head: bytes, name: str, profs: tuple[Profile, ...]
) -> tuple[ReaderSpec | None, Profile | None]:
    """The reader of a file and the profile it reads with (None: a sniffed format).

    The first profile that recognises the file (:func:`~.profile_choice.choose_profile`:
    header or pattern first, then file name) reads it; else the registered
    readers' sniffers decide (None when none recognises it).
    """
    if profs:
        prof = choose_profile(profs, head, name)
        if prof is not None:
            return _profile_spec(prof), prof
    return sniff(head, name), None


_PROFILE_SPECS: dict[int, tuple[Profile, ReaderSpec]] = {}  # id(profile) -> its reader


def _profile_spec(prof: Profile) -> ReaderSpec:
    """The reader of one profile: ``lis_<name>`` for a built-in, else ``profile:<name>``.

    One :class:`ReaderSpec` per profile, named after it, so that the files of a
    profile are batched together and never with another profile's; it carries
    the profile's ``rotation`` flag.
    """
    if prof.builtin:
        return get_reader(prof.reader_name)
    got = _PROFILE_SPECS.get(id(prof))
    spec = got[1] if got is not None and got[0] is prof else None
    if spec is None:
        name = prof.reader_name

        def read_many(paths: list[Path], ctxs: list[ReadContext]) -> BatchRead:
            if prof.kind == "regex":
                return read_regex_many(paths, ctxs, prof, name)
            return lis_csv.read_lis_many(paths, ctxs, prof, name)

        def read(path: Path, ctx: ReadContext) -> FileRead:
            return lis_csv._one(read_many([path], [ctx]))

        spec = ReaderSpec(
            name=name,
            sniff=lambda head, fname: False,
            read=read,
            rotation=prof.rotation,
            description=f"read with the user profile {prof.source}",
            read_many=read_many,
        )
        _PROFILE_SPECS[id(prof)] = (prof, spec)  # the profile is kept: its id stays unique
    return spec


class _UnitPlanner:
    """Group files into units of work as they are sniffed: batches for ``read_many``.

    A batch holds files of one reader, in evidence-path order, up to a quarter of
    the evidence (so both workers get work), at most 8 MiB on disk (gzip counted 8
    times) and 8192 files; a reader without ``read_many`` gets a unit per file;
    unrecognised files go in units of 256 at the end. A unit is handed out as soon
    as it is full, so the workers start while later files are still being sniffed.
    Units depend on the files and their readers only, never on timing.
    """

    def __init__(self, sizes: np.ndarray) -> None:
        total = int(sizes.sum())
        self.sizes = sizes
        self.target = min(_BATCH_BYTES, max(1 << 20, total // (2 * _WORKERS)))
        self.open: dict[str, tuple[list[int], int]] = {}
        self.other: list[int] = []

    def add(self, i: int, spec: ReaderSpec | None) -> list[int] | None:
        """File ``i`` read by ``spec``: the unit it completes, if any."""
        if spec is None:
            self.other.append(i)
            return None
        if spec.read_many is None:
            return [i]
        cur, acc = self.open.get(spec.name, ([], 0))
        size = int(self.sizes[i])
        done = None
        if cur and (acc + size > self.target or len(cur) >= _BATCH_FILES):
            done, cur, acc = cur, [], 0
        cur.append(i)
        self.open[spec.name] = (cur, acc + size)
        return done

    def finish(self) -> list[list[int]]:
        """The units still open (by reader name), then the unrecognised files."""
        units = [self.open[name][0] for name in sorted(self.open) if self.open[name][0]]
        units += [self.other[k : k + 256] for k in range(0, len(self.other), 256)]
        self.open, self.other = {}, []
        return units


def _disk_sizes(paths: list[Path]) -> np.ndarray:
    """Bytes on disk of each file (gzip counted 8 times: its text is larger)."""
    sizes = np.zeros(len(paths), dtype=np.int64)
    for i, path in enumerate(paths):
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0
        sizes[i] = size * (8 if path.name.lower().endswith(".gz") else 1)
    return sizes


@dataclass
class _File:
    """A recognised file's place in the pool of rows (rows ``start`` to ``start + count``)."""

    job: int
    fr: FileRead
    spec: ReaderSpec
    piece: int
    start: int
    count: int
    batch: bool  # read by ReaderSpec.read_many: its timestamps come from its own text
    has_record: bool = True


#: Instants accepted from any reader: any two events must lie less than 292 years apart,
#: since durations and gaps are int64 nanoseconds in every later stage.
TS_MIN = pd.Timestamp("1900-01-01", tz="UTC")


TS_MAX = pd.Timestamp("2190-01-01", tz="UTC")


def _quarantine_out_of_range(fr: FileRead) -> pd.DataFrame:
    """Move a reader's events outside [TS_MIN, TS_MAX) to its quarantine, by input row.

    The LIS readers quarantine such rows themselves; this guard holds for every other
    reader. A row whose events all fall outside is quarantined (one entry per line) and
    no longer counts among the rows that became events; the accounting identity holds.
    """
    ev = fr.events
    if "ts" not in ev.columns or ev.empty:
        return ev
    ts = pd.to_datetime(ev["ts"], utc=True, errors="coerce")
    out = (ts.notna() & ((ts < TS_MIN) | (ts >= TS_MAX))).to_numpy()
    if not out.any():
        return ev
    lines = ev["source_line"] if "source_line" in ev.columns else pd.Series(pd.NA, index=ev.index)
    kept_lines = set(lines[~out].dropna().astype("int64"))
    first_ts = ts[out].groupby(lines[out].fillna(-1).astype("int64").to_numpy()).first()
    for line, t in first_ts.items():
        if line in kept_lines:
            continue
        fr.quarantine.append(
            QuarantineRow(
                None if line < 0 else int(line),
                f"timestamp out of range '{t.isoformat()}': years 1900-2189 only "
                "(durations between events are int64 nanoseconds: at most 292 years)",
                "",
            )
        )
        fr.rows_to_events -= 1
    return ev[~out].reset_index(drop=True)


def report_links(links: Mapping[Path, str], root: Path, report: IngestReport) -> None:
    """List the links set aside while expanding the paths, each with its reason."""
    for link, why in sorted(links.items()):
        name = relative_name(link, root)
        report.unrecognised.append(name)
        report.unrecognised_reasons[name] = why


def report_symlinks(
    links: Mapping[Path, tuple[Path, Path | None]], root: Path, report: IngestReport
) -> dict[str, str]:
    """List the symbolic links not read in ``report.skipped``; the notes of those read.

    ``links``: :func:`labforensics.ingest.files.expand_paths`'s ``links``. A link whose
    target is read under another name (the target itself, or a link that sorts first)
    is not read twice; a link to a folder found while walking is not entered. Both
    are listed with their reason, so that every name found in the evidence is
    accounted for. A file read through a link is read (content-addressed stores,
    git-annex or DVC, keep evidence as links out of its folder), and the link's target
    is noted on its file.

    Returns
    -------
    dict
        ``source_file`` of a file read through a link -> ``"read through a symbolic
        link to <target>"`` (target relative to ``root``, ``../`` when outside it).
    """
    notes: dict[str, str] = {}
    for link, (target, read_as) in sorted(links.items(), key=lambda kv: kv[0]):
        name, to = relative_name(link, root), relative_name(target, root)
        if read_as is None:
            reason = f"symbolic link to the folder {to}: not entered (name the folder to read it)"
        elif read_as == link:
            notes[name] = f"read through a symbolic link to {to}"
            continue
        else:
            seen = relative_name(read_as, root)
            also = "" if seen == to else f" as {seen}"
            reason = f"symbolic link to {to}, an input already read{also}: not read twice"
        report.skipped.append({"source_file": name, "reason": reason})
    return notes


def add_file_notes(report: IngestReport, notes: Mapping[str, str]) -> None:
    """Prefix each recognised file's ``note`` with the engine's notes on it (``"; "``)."""
    for f in report.files:
        if f.source_file in notes:
            f.note = "; ".join(x for x in (notes[f.source_file], f.note) if x)


def read_contexts(
    *,
    zone: dt.tzinfo,
    year: int | Mapping[str, int] | None,
    lab: str | Mapping[str, str] | None,
    aliases: Mapping[str, str],
    kinds: Mapping[str, str],
) -> Callable[[Path, str, Profile | None], ReadContext]:
    """The :class:`ReadContext` of each file: ``context(path, source_file, profile)``.

    ``year`` and ``lab`` are one value or ``{path, folder or glob: value}``
    (:func:`_resolve_lab`); ``profile`` is the profile that reads the file, if any.
    """

    def context(path: Path, source_file: str, fprof: Profile | None) -> ReadContext:
        return ReadContext(
            tz=zone,
            source_file=source_file,
            profile=fprof,
            year=_resolve_lab(year, path, source_file),
            lab=_resolve_lab(lab, path, source_file),
            lab_aliases=aliases,
            account_kinds=kinds,
        )

    return context


def _run_unit(jobs: list[Job], unit: list[int]) -> UnitResult:
    """Read one unit of work (a batch of files of one reader, or one file).

    Each file is hashed on the bytes its reader parses (one read: see
    files.custody_log); a file its reader did not read through read_bytes, or
    that no reader recognises, is hashed on its own.
    """
    spec = jobs[unit[0]][2]
    out: BatchRead | FileRead | None = None
    with custody_log() as log:
        if spec is not None and spec.read_many is not None:
            out = spec.read_many([jobs[i][0] for i in unit], [jobs[i][3] for i in unit])
        elif spec is not None:
            out = spec.read(jobs[unit[0]][0], jobs[unit[0]][3])
    fmt = spec.name if spec else None
    efs = []
    for i in unit:
        path, source_file = jobs[i][0], jobs[i][1]
        got = log.get(os.fspath(path))
        sha, size = got if got is not None else sha256_file(path)
        # the path as found or named (absolute; a link keeps its own name)
        efs.append(EvidenceFile(printable_name(path.as_posix()), source_file, size, sha, fmt))
    return efs, out


def _sniff_job(
    path: Path,
    root: Path,
    profs: tuple[Profile, ...],
    context: Callable[[Path, str, Profile | None], ReadContext],
) -> tuple[Job, str | None, str]:
    """A file's job (its reader chosen on its first bytes), why no profile took it, and
    what its name and its first bytes say differently of its compression
    (:func:`labforensics.ingest.files.compression_note`, ``""`` when they agree)."""
    source_file = relative_name(path, root)
    head, magic = read_head_magic(path)
    spec, fprof = _choose_profile_reader(head, path.name, profs)
    why = no_profile_reason(profs, head) if spec is None and profs else None
    note = compression_note(path.name, magic)
    return (path, source_file, spec, context(path, source_file, fprof)), why, note


def read_units(
    items: list[tuple[Path, bool]],
    root: Path,
    profs: tuple[Profile, ...],
    context: Callable[[Path, str, Profile | None], ReadContext],
    *,
    progress: bool,
    notes: dict[str, str] | None = None,
) -> tuple[list[Job], list[list[int]], list[UnitResult], dict[int, str]]:
    """Sniff every file, plan the units of work and read them on the worker pool.

    Files are sniffed in path order; each unit of work (a batch of files) goes to
    the pool as soon as it is complete, and batches are read two at a time:
    hashing, decompression, pyarrow and numpy release the GIL. Results are
    collected in submission order, so the output never depends on which thread
    finished first.

    Returns
    -------
    jobs, units, results, no_profile
        Every file's :data:`Job`; the units (job indices) in submission order and
        their results; job -> why no profile took it (when profiles were given).
        ``notes`` (when given) is filled with ``source_file`` -> the file's
        compression note (:func:`labforensics.ingest.files.compression_note`).
    """
    jobs: list[Job] = []
    no_profile: dict[int, str] = {}
    planner = _UnitPlanner(_disk_sizes([p for p, _ in items]))
    units: list[list[int]] = []
    futures = []
    bar = None
    if progress:
        bar = progress_bar(total=len(items), desc="reading evidence", unit="file", leave=True)

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:

        def submit(unit: list[int]) -> None:
            units.append(unit)
            fut = pool.submit(_run_unit, jobs, unit)
            futures.append(fut)
            if bar is not None:  # called by the worker that finished the unit
                n = len(unit)
                fut.add_done_callback(lambda _f: bar.update(n))

        try:
            for path, _explicit in items:
                job, why, note = _sniff_job(path, root, profs, context)
                if note and notes is not None:  # after a link's note, if any
                    notes[job[1]] = "; ".join(x for x in (notes.get(job[1]), note) if x)
                if why is not None:
                    no_profile[len(jobs)] = why
                jobs.append(job)
                unit = planner.add(len(jobs) - 1, job[2])
                if unit is not None:
                    submit(unit)
            for unit in planner.finish():
                submit(unit)
            results = [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        finally:
            if bar is not None:
                bar.close()
        futures.clear()  # the futures hold the results: dropped with the results
    return jobs, units, results, no_profile


def _report_unrecognised(
    jobs: list[Job],
    unit: list[int],
    no_profile: dict[int, str],
    report: IngestReport,
    key: CaseKey,
) -> None:
    """List a unit of unrecognised files in the report, each with its (redacted) reason."""
    for i in unit:
        name = jobs[i][1]
        report.unrecognised.append(name)
        why = unrecognised_reason(jobs[i][0], read_head(jobs[i][0]))
        if i in no_profile and why.startswith("no reader recognises"):
            why = no_profile[i]
        # the first bytes may hold identifiers (an IPP, a NIR...): redacted
        why = redact_digit_runs(redact_identifiers(why), key, jobs[i][3].lab)
        report.unrecognised_reasons[name] = why


def _add_unknown_codes(report: IngestReport, unknown: Mapping[str, int]) -> None:
    for code, cnt in unknown.items():
        report.unknown_codes[code] = report.unknown_codes.get(code, 0) + cnt


def _add_batch(
    out: BatchRead,
    unit: list[int],
    spec: ReaderSpec,
    pieces: list[pd.DataFrame],
    hashes: list[np.ndarray | None],
    files: list[_File],
    report: IngestReport,
) -> None:
    """A batch's table becomes one piece; its files, rows of it one after another."""
    pid = len(pieces)
    hashes.append(out.events.pop("_rhash").to_numpy() if "_rhash" in out.events else None)
    pieces.append(out.events)
    _add_unknown_codes(report, out.unknown_codes)
    starts = np.concatenate(([0], np.cumsum(out.counts)[:-1]))
    for j, i in enumerate(unit):
        files.append(
            _File(
                i,
                out.files[j],
                spec,
                pid,
                int(starts[j]),
                int(out.counts[j]),
                True,
                hashes[-1] is not None or "_record" in out.events,
            )
        )


def _add_file(
    fr: FileRead,
    job: Job,
    index: int,
    spec: ReaderSpec,
    pieces: list[pd.DataFrame],
    hashes: list[np.ndarray | None],
    files: list[_File],
    report: IngestReport,
) -> None:
    """One file's events become one piece (out-of-range instants quarantined first)."""
    _add_unknown_codes(report, fr.unknown_codes)
    ev = _quarantine_out_of_range(fr)
    if "source_file" not in ev.columns:
        ev["source_file"] = job[1]
    if "source_format" not in ev.columns:
        ev["source_format"] = spec.name
    if "lab" not in ev.columns:
        ev["lab"] = pd.Series(pd.NA, index=ev.index, dtype=schema.STRING)
    hashes.append(ev.pop("_rhash").to_numpy() if "_rhash" in ev else None)
    pieces.append(ev)
    files.append(
        _File(
            index,
            fr,
            spec,
            len(pieces) - 1,
            0,
            len(ev),
            False,
            hashes[-1] is not None or "_record" in ev,
        )
    )
    fr.events = None


def collect(
    jobs: list[Job],
    units: list[list[int]],
    results: list[UnitResult],
    report: IngestReport,
    key: CaseKey,
    no_profile: dict[int, str],
) -> tuple[list[pd.DataFrame], list[np.ndarray | None], list[_File], list[EvidenceFile]]:
    """The units' results as pieces of rows (a batch's table or one file's) and files in them.

    Returns
    -------
    pieces, hashes, files, manifest
        The tables read; per piece its record hashes (``_rhash``) if any; one
        :class:`_File` per recognised file (in reading order); every file's custody
        record, in job order.
    """
    pieces: list[pd.DataFrame] = []
    hashes: list[np.ndarray | None] = []
    files: list[_File] = []
    efs: dict[int, EvidenceFile] = {}
    for unit, (unit_efs, out) in zip(units, results, strict=True):
        spec = jobs[unit[0]][2]
        for i, ef in zip(unit, unit_efs, strict=True):
            efs[i] = ef
        if spec is None:
            _report_unrecognised(jobs, unit, no_profile, report, key)
        elif isinstance(out, BatchRead):
            _add_batch(out, unit, spec, pieces, hashes, files, report)
        else:
            _add_file(out, jobs[unit[0]], unit[0], spec, pieces, hashes, files, report)
    return pieces, hashes, files, [efs[i] for i in range(len(jobs))]
