"""Adding evidence files to a store, group by group (see :mod:`._layout`)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import schema
from .._cleanup import missing_folders, sigterm_raises
from .._terminal import visible
from ..case import DEFAULT_TZ, CaseContext, case_key_of
from ..custody import sha256_file
from ..ingest import Evidence, read_evidence
from ..ingest._engine import _choose_profile_reader
from ..ingest.accounting import IngestReport
from ..ingest.files import common_root, expand_paths, read_head, relative_name
from ..ingest.profiles import load_profile, load_profiles
from ..labcodes import lab_alias_map, resolve_lab
from ..outputs import write_csv, write_json
from ..privacy import CaseKey, load_case_key
from ._copies import join_copies
from ._guard import discard_new_store, signals_held, store_lock
from ._layout import (
    EVENTS_DIR,
    GROUPS_DIR,
    IN_PROGRESS,
    MANIFEST,
    QUARANTINE,
    REPORT,
    STORE_FORMAT,
    StoreError,
    group_version,
    partition_dir,
)
from ._load import assemble_report, check_options, read_manifest
from ._modes import make_store_folder, store_owner_only
from ._verify import checksums, group_files, top_checksums, verify_store

__all__ = ["StoreIngest", "ingest_to_store", "store_options"]


#: Files already ingested named in :meth:`StoreIngest.summary` (the rest counted).
SKIPPED_NAMED = 3


@dataclass
class StoreIngest:
    """What one :func:`ingest_to_store` call did.

    Attributes
    ----------
    store : pathlib.Path
        The store folder.
    added : list of str
        ``source_file`` of every input added by this call.
    skipped : list of dict
        Inputs already in the store (same ``source_file`` and SHA-256): ``path`` as
        given now, ``source_file``, ``sha256``. A new name with the bytes of a stored
        file is added (a copy, named as one in the accounting), not skipped.
    groups : list of str
        The groups (re-)processed (``lab:<lab>`` or ``file:<source_file>``).
    report : IngestReport
        The row accounting of the whole store after this call.
    manifest : dict
        The store's ``manifest.json``.
    """

    store: Path
    added: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)
    manifest: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """A few lines: files added, already ingested, groups re-processed, the accounting.

        The files already ingested are counted on the first line and the first
        :data:`SKIPPED_NAMED` named on one more line; the store's ``manifest.json``
        lists every one (its last ``ingests`` entry, ``already_ingested``).
        """
        lines = [
            f"store {self.store}: {len(self.added)} file(s) added, "
            f"{len(self.skipped)} already ingested (same name and SHA-256, skipped), "
            f"{len(self.groups)} group(s) processed",
        ]
        if self.skipped:  # one line, not one per file (92 on the demo: QA, session 16)
            names = ", ".join(s["path"] for s in self.skipped[:SKIPPED_NAMED])
            more = self.skipped[SKIPPED_NAMED:]
            lines.append(f"already ingested: {names}"
                         + (f" and {len(more)} more" if more else "")
                         + f" (every one listed in {MANIFEST}, ingests: already_ingested)")  # fmt: skip
        return "\n".join([*(visible(x, keep="") for x in lines), self.report.summary()])


def store_options(
    *,
    tz: str | None,
    profile: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    year: int | None,
    lab: str | None,
    case: CaseContext | None,
) -> dict[str, Any]:
    """The ingest options a store is built with (JSON-safe), the case's facts included.

    ``tz`` (else the case's, else :data:`labforensics.case.DEFAULT_TZ`), ``profile``
    (list of names or paths, or None), ``year``, ``lab``, ``lab_aliases`` and
    ``account_kinds`` (the case's, else empty). Every later ingest into the store, and
    every investigation from it, must use the same: they decide the rows.
    """
    if profile is None or isinstance(profile, str | os.PathLike):
        prof = None if profile is None else [os.fspath(profile)]
    else:
        prof = [os.fspath(p) for p in profile] or None
    if tz is None:
        tz = case.tz if case is not None else DEFAULT_TZ
    elif case is not None and case.tz != tz:
        raise StoreError(f"tz={tz!r} contradicts the case's tz {case.tz!r}; give one of them")
    return {
        "tz": str(tz),
        "profile": prof,
        "year": year,
        "lab": lab,
        "lab_aliases": dict(sorted((case.lab_aliases if case is not None else {}).items())),
        "account_kinds": dict(sorted((case.account_kinds if case is not None else {}).items())),
    }


def _read_group(paths: list[Path], options: Mapping[str, Any], key: CaseKey, progress: bool):
    return read_evidence(
        [os.fspath(p) for p in paths],
        tz=options["tz"],
        profile=options["profile"],
        case_key=key,
        year=options["year"],
        lab=options["lab"],
        lab_aliases=options["lab_aliases"] or None,
        account_kinds=options["account_kinds"] or None,
        progress=progress,
    )


def _name_lab_date(path: Path, profs: tuple) -> tuple[str | None, str | None]:
    """Lab and date a file's name gives, per the profile that would read it (else None)."""
    spec, prof = _choose_profile_reader(read_head(path), path.name, profs)
    if prof is None and spec is not None and spec.name in ("lis_legacy", "lis_current"):
        prof = load_profile(spec.name[4:])
    if prof is None:
        return None, None
    lab, date = prof.file_lab_date(path.name)
    return lab, (date.isoformat() if isinstance(date, dt.date) else None)


def _group_of(
    path: Path,
    source_file: str,
    profs: tuple,
    options: Mapping[str, Any],
    key: CaseKey,
) -> tuple[str, str | None]:
    """The group of a new file and its file date (ISO, or None).

    The lab its name gives (through the lab aliases), else the lab its reader finds
    reading it alone (a one-file read: the rows' lab), else a group of its own.
    """
    lab, date = _name_lab_date(path, profs)
    if lab is None:
        ev = _read_group([path], options, key, progress=False)
        lab = ev.report.files[0].lab if ev.report.files else None
        del ev
    else:
        lab = resolve_lab(lab, lab_alias_map(options["lab_aliases"])) or lab
    return (f"lab:{lab}" if lab is not None else f"file:{source_file}"), date


def _rename(ev: Evidence, names: Mapping[str, str]) -> None:
    """``source_file`` relative to the store's root, everywhere the group's read names it.

    The root is an ancestor of the group's own common folder, so every name gains the
    same prefix: the order of the names (the evidence order) is unchanged.
    """

    def col(s: pd.Series) -> pd.Series:
        return s.astype(schema.STRING).map(lambda v: names.get(v, v) if isinstance(v, str) else v)

    if len(ev.events):  # per distinct file name, not per row
        sf = ev.events["source_file"].astype("category")
        sf = sf.cat.rename_categories([names.get(c, c) for c in sf.cat.categories])
        ev.events["source_file"] = sf.astype(schema.STRING)
    if len(ev.quarantine):
        ev.quarantine["source_file"] = col(ev.quarantine["source_file"]).astype(schema.STRING)
    fp = ev.report.field_problems
    if len(fp):
        fp["source_file"] = col(fp["source_file"]).astype(schema.STRING)
    for f in ev.report.files:
        f.source_file = names.get(f.source_file, f.source_file)
    ev.report.unrecognised = [names.get(n, n) for n in ev.report.unrecognised]
    ev.report.unrecognised_reasons = {
        names.get(k, k): v for k, v in ev.report.unrecognised_reasons.items()
    }
    ev.manifest[:] = [
        dataclasses.replace(ef, source_file=names.get(ef.source_file, ef.source_file))
        for ef in ev.manifest
    ]


def _store_seq(ev: Evidence) -> np.ndarray:
    """The store's ``seq`` of each event: its position in its file's logical order,
    rotation duplicates (dropped at the file's head) included.

    In a group's read the events of a file are consecutive in ``seq`` (evidence order),
    after its rotation duplicates; so position = ``seq`` - the file's first ``seq`` +
    the file's rotation duplicates. Vectorised per file.
    """
    e = ev.events
    skip = {f.source_file: f.rotation_duplicates for f in ev.report.files}
    codes, names = pd.factorize(e["source_file"].astype(schema.STRING))
    seq = e["seq"].to_numpy(dtype=np.int64)
    first = np.full(len(names), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, seq)
    dups = np.asarray([skip.get(n, 0) for n in names], dtype=np.int64)
    return seq - first[codes] + dups[codes]


def _months(ts: pd.Series) -> np.ndarray:
    """``YYYYMM`` (int64) of each UTC instant."""
    t = pd.DatetimeIndex(ts)
    return np.asarray(t.year * 100 + t.month, dtype=np.int64)


def _write_events(store: Path, gid: str, events: pd.DataFrame) -> list[str]:
    """The group's events as one Parquet part per (lab, month); returns the parts written.

    Written partition by partition with pyarrow.parquet (not ``write_dataset``: its part
    numbering depends on threads), rows in (ts, store seq) order; ``lab`` lives in the
    path (hive), ``month`` is the path only.
    """
    written: list[str] = []
    if not len(events):
        return written
    labs, lab_vals = pd.factorize(events["lab"].astype(schema.STRING))
    months = _months(events["ts"])
    body = events.drop(columns=["lab"])
    table = pa.Table.from_pandas(body, preserve_index=False)
    order = np.lexsort((np.arange(len(events)), months, labs))
    bounds = np.flatnonzero(np.diff(labs[order]) | np.diff(months[order])) + 1
    for chunk in np.split(order, bounds):  # a loop per partition
        lab = str(lab_vals[labs[chunk[0]]])
        m = int(months[chunk[0]])
        rel = (
            f"{EVENTS_DIR}/{partition_dir(lab, f'{m // 100:04d}-{m % 100:02d}')}/part-{gid}.parquet"
        )
        path = store / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.take(pa.array(chunk)), path, compression="zstd")
        written.append(rel)
    return written


def _sweep(store: Path, keep: set[str]) -> None:
    """Delete every group version the manifest does not name (``keep``: their ids):
    versions replaced by this ingest, and leftovers of an ingest cut short."""
    events = store / EVENTS_DIR
    if events.is_dir():
        for part in sorted(events.glob("*/*/part-*.parquet")):
            if part.name[len("part-") : -len(".parquet")] not in keep:
                part.unlink()
                for d in (part.parent, part.parent.parent):
                    if not any(d.iterdir()):
                        d.rmdir()
    groups = store / GROUPS_DIR
    if groups.is_dir():
        for gdir in sorted(groups.iterdir()):
            if gdir.name not in keep and gdir.is_dir() and not gdir.is_symlink():
                for f in sorted(gdir.iterdir()):
                    f.unlink()
                gdir.rmdir()


def _is_lab_note(fp: pd.DataFrame) -> np.ndarray:
    """Field problems that :func:`read_evidence` lists first: a file's rows without a lab."""
    if not len(fp):
        return np.zeros(0, dtype=bool)
    return (
        fp["column"].astype(schema.STRING).eq("lab").fillna(False)
        & fp["source_line"].isna()
        & fp["problem"].astype(schema.STRING).str.startswith("lab missing on").fillna(False)
    ).to_numpy(dtype=bool)


def _write_group(store: Path, group: str, ev: Evidence) -> dict[str, Any]:
    """A group's events, quarantine, field problems and report into the store, as a new
    version beside the current one; returns the manifest's entry of the group."""
    gid = group_version(group, [m.sha256 for m in ev.manifest])
    with open(store / IN_PROGRESS, "a", encoding="ascii") as fh:  # before any of its files
        fh.write(gid + "\n")
    gdir = store / GROUPS_DIR / gid
    gdir.mkdir(parents=True, exist_ok=True)
    events = ev.events.copy(deep=False)
    events["seq"] = _store_seq(ev)
    parts = _write_events(store, gid, events)
    del events
    pq.write_table(
        pa.Table.from_pandas(ev.quarantine, preserve_index=False),
        gdir / "quarantine.parquet",
        compression="zstd",
    )
    fp = ev.report.field_problems.copy()
    fp["lab_note"] = _is_lab_note(fp)
    pq.write_table(
        pa.Table.from_pandas(
            fp.astype(
                {c: schema.STRING for c in ("source_file", "column", "value", "problem")}
            ).astype({"source_line": "Int64"}),
            preserve_index=False,
        ),
        gdir / "field_problems.parquet",
        compression="zstd",
    )
    rep = ev.report.to_dict()
    write_json(
        {
            "group": group,
            "files": rep["files"],
            "unrecognised": rep["unrecognised"],
            "unrecognised_reasons": rep["unrecognised_reasons"],
            "unknown_codes": dict(sorted(ev.report.unknown_codes.items())),
            "identifiers_in_columns": dict(sorted(ev.report.identifiers_in_columns.items())),
            "case_variant_accounts": ev.report.case_variant_accounts,  # a group's labs' own
            "lab_name_mismatches": ev.report.lab_name_mismatches,  # a group's files' own
            "custody": [m.to_dict() for m in ev.manifest],
            "parts": parts,
        },
        gdir / "report.json",
    )
    return {
        "version": gid,
        "parts": parts,
        "checksums": checksums(store, [*parts, *group_files(gid)]),
    }


def _check_groups(files: Mapping[str, Mapping[str, Any]]) -> None:
    """Every lab as read (the file's lab for rotation) lies in one group.

    Files are grouped before they are read, by the lab their name gives; a file whose
    rows all name another lab (a FINESS number without an alias, say) is compared for
    rotation with that lab's files in a read of everything, so it must be read with
    them.

    Raises
    ------
    StoreError
        Naming a lab found in two groups and a file of each (the manifest is not
        written: the store stays as it was).
    """
    seen: dict[str, tuple[str, str]] = {}
    for name, f in sorted(files.items()):
        lab = f.get("lab")
        if lab is None:
            continue
        first = seen.setdefault(lab, (f["group"], name))
        if first[0] != f["group"]:
            raise StoreError(
                f"the rows of {first[1]} and {name} name the lab {lab!r}, but their file "
                f"names put them in {first[0]} and {f['group']}: give the lab's aliases in the "
                "case file ([[labs]] code, finess, aliases) so that one lab has one name"
            )


def _inside_root(path: Path, root: Path) -> bool:
    rel = os.path.relpath(path, root)
    return not (rel == ".." or rel.startswith("../") or os.path.isabs(rel))


def ingest_to_store(
    evidence: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    store: str | os.PathLike[str],
    *,
    tz: str | None = None,
    profile: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    case_key: CaseKey | bytes | str | os.PathLike[str] | None = None,
    year: int | None = None,
    lab: str | None = None,
    case: CaseContext | None = None,
    root: str | os.PathLike[str] | None = None,
    progress: bool = False,
    command: list[str] | None = None,
    started: str | None = None,
) -> StoreIngest:
    """Add evidence files to an evidence store (created when absent), group by group.

    The store after any sequence of calls holds exactly what one call with every file
    gives (see :mod:`labforensics.store._layout`): same rows, same ``seq``, same
    quarantine and accounting. An input already in the store (the same ``source_file``
    with the same SHA-256) is skipped and reported; a new name with the bytes of a
    stored file is read as in one ingest of everything (a copy: named as one, its rows
    counted as its original's). Memory held at once: one group (one lab's files) as
    :func:`labforensics.read_evidence` holds it, never the whole store.

    The store is owner-only, as an investigation's output folder: its folder is made
    mode 0700 before anything is written in it (made by the call or by the user
    beforehand), and once the call ends well its folders are 0700 and its files 0600
    (:mod:`labforensics.store._modes`).

    Parameters
    ----------
    evidence : path-like or iterable of path-like
        Files, folders (walked) or globs, as :func:`labforensics.read_evidence`.
    store : path-like
        The store folder.
    tz, profile, case_key, year, lab, case
        As :func:`labforensics.read_evidence`. The options (and the case key's
        fingerprint) are recorded by the first call; a later call must give the same.
    root : path-like, optional
        The evidence root ``source_file`` is relative to, on the store's first call
        (default: the common folder of its files). Ignored afterwards.
    progress : bool
        A progress bar per group read.
    command : list of str, optional
        The command line, recorded in the manifest's log of ingests.
    started : str, optional
        ISO 8601 UTC start time recorded in the log (default: now).

    Returns
    -------
    StoreIngest

    Raises
    ------
    StoreError
        When the options or case key differ from the store's, a file lies outside the
        store's evidence root, a file already in the store under the same name has new
        content, or a stored file needed again (its group is re-processed) is missing
        or changed (its SHA-256 differs), or a file of the store itself is missing or
        differs from what was ingested (:func:`labforensics.store._verify.verify_store`).
        Also when another run holds the store (an ingest, or an investigation reading
        it: refused at once, :mod:`labforensics.store._guard`), or no file given is
        one a reader recognises ("no readable evidence file", as ``ingest --out``).
        A call that fails (or is stopped: Ctrl-C, ``SIGTERM``) before it writes the
        manifest removes what it wrote: the store it created, folders included, or
        the group versions it added to an existing store, which is left as it was.
    EvidenceError
        When an evidence path does not exist.
    """
    now = started or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    store_p = Path(store).absolute()
    key = load_case_key(case_key_of(case_key, case))
    options = store_options(tz=tz, profile=profile, year=year, lab=lab, case=case)
    made = missing_folders(store_p)  # the folders a failed first ingest removes again
    try:
        store_p.parent.mkdir(parents=True, exist_ok=True)  # the lock lies beside the store
    except OSError as exc:
        raise StoreError(f"cannot create the folder of the store {store_p}: {exc}") from exc
    stopped = f"ingest into the store {store_p} stopped by SIGTERM"
    with sigterm_raises(lambda: StoreError(stopped)):  # outermost: the cleanup runs first
        new = False
        try:
            with store_lock(store_p, shared=False):  # one ingest at a time, no reader
                old = read_manifest(store_p) if (store_p / MANIFEST).is_file() else None
                if (
                    old is None
                    and store_p.exists()
                    and (not store_p.is_dir() or any(store_p.iterdir()))
                ):
                    raise StoreError(
                        f"{store_p} is not empty and holds no {MANIFEST}: give an empty or "
                        "new folder for a new store"
                    )
                new, done = old is None, [False]
                try:
                    return _ingest(evidence, store_p, old, options, key, root, progress,
                                   command, now, done)  # fmt: skip
                except BaseException:
                    if done[0]:  # the manifest was written: the ingest is whole
                        new = False
                    elif new:
                        discard_new_store(store_p, [])
                    else:  # the versions this call wrote: the store as it was
                        _sweep(store_p, {g["version"] for g in old["groups"].values()})
                        _drop_temporary(store_p)
                    raise
        except BaseException:
            if new:  # after the lock is released: it lies in a folder the call may have made
                discard_new_store(store_p, made)
            raise


def _drop_temporary(store: Path) -> None:
    """The top files written beside, and the journal of versions being written."""
    for name in (*(f".{n}.tmp" for n in (MANIFEST, REPORT, QUARANTINE)), IN_PROGRESS):
        with contextlib.suppress(OSError):
            (store / name).unlink()


def _no_readable_file(
    evidence: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], why: Mapping[str, str]
) -> StoreError:
    """The error of an ingest none of whose files a reader recognised (as ``ingest --out``
    gives it), naming up to five and why."""
    given = [evidence] if isinstance(evidence, str | os.PathLike) else list(evidence)
    listed = "; ".join(f"{n}: {w}" for n, w in sorted(why.items())[:5])
    more = len(why) - 5
    return StoreError(
        "no readable evidence file in "
        + ", ".join(str(e) for e in given)
        + (f" ({listed}{f'; {more} more' if more > 0 else ''})" if listed else "")
    )


def _ingest(
    evidence: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    store_p: Path,
    old: dict[str, Any] | None,
    options: dict[str, Any],
    key: CaseKey,
    root: str | os.PathLike[str] | None,
    progress: bool,
    command: list[str] | None,
    now: str,
    done: list[bool],
) -> StoreIngest:
    """:func:`ingest_to_store` once the store is locked and its manifest read (``old``,
    None for a new store); ``done[0]`` is set once the new manifest is in place."""

    if old is not None:
        check_options(old, options, key.fingerprint, store_p)
        verify_store(store_p, old)  # the groups kept as they are must be as ingested
    items = [p for p, _ in expand_paths(evidence)]
    if old is not None:
        root_p = Path(old["root"])
    else:
        root_p = Path(root).absolute() if root is not None else common_root(items)
    files: dict[str, dict[str, Any]] = {f["source_file"]: f for f in (old or {}).get("files", [])}
    profs = load_profiles(options["profile"])
    groups: dict[str, dict[str, Any]] = dict((old or {}).get("groups", {}))
    res = StoreIngest(store=store_p)
    entries: list[tuple[Path, str, str | None, str, str]] = []
    for path in items:  # a loop per file: hash, then group
        if not _inside_root(path, root_p):
            raise StoreError(
                f"{path} lies outside the store's evidence root {root_p}: source_file names "
                "are relative to it; build a new store with root= (--root) a common folder"
            )
        if store_p == path or _inside_root(path, store_p):
            continue  # the store's own files are never evidence
        name = relative_name(path, root_p)
        sha, _size = sha256_file(path)
        if name in files and files[name]["sha256"] == sha:  # the same file given again
            res.skipped.append({"path": path.as_posix(), "source_file": name, "sha256": sha})
            continue
        if name in files:
            raise StoreError(
                f"{name} is already in the store {store_p} with another SHA-256 "
                f"({files[name]['sha256'][:12]}..., now {sha[:12]}...): evidence never changes "
                "in place; give the new version another name"
            )
        group, date = _group_of(path, name, profs, options, key)
        entries.append((path, name, date, sha, group))
    # a file that names no lab is read with its byte-identical copies (_copies)
    new = join_copies(entries, files, groups)[0]
    make_store_folder(store_p)  # 0700 before anything is written in it
    # the inputs a reader recognised: a stored one given again, or a new one read
    readable = {s["source_file"] for s in res.skipped if files[s["source_file"]].get("format")}
    why: dict[str, str] = {}
    for group in sorted(new):  # a loop per group: the memory of one group at once
        olds = [f for f in files.values() if f["group"] == group]
        paths = [Path(f["path"]) for f in olds] + [p for p, _, _ in new[group]]
        dates = {f["source_file"]: f["file_date"] for f in olds}
        dates.update({n: d for _, n, d in new[group]})
        for f in olds:
            if not Path(f["path"]).is_file():
                raise StoreError(
                    f"{f['source_file']} (ingested from {f['path']}) is needed again to "
                    f"re-process its group {group} and is missing: put it back in place"
                )
        ev = _read_group(paths, options, key, progress)
        local_root = common_root(paths)
        names = {relative_name(p, local_root): relative_name(p, root_p) for p in paths}
        _rename(ev, names)
        read_lab = {f.source_file: f.lab for f in ev.report.files}
        why.update({n: ev.report.unrecognised_reasons.get(n, "not recognised")
                    for n in ev.report.unrecognised})  # fmt: skip
        readable |= {n for _, n, _ in new[group] if n in read_lab}
        for ef in ev.manifest:
            was = files.get(ef.source_file)
            if was is not None and was["sha256"] != ef.sha256:
                raise StoreError(
                    f"{ef.source_file} at {ef.path} changed since it was ingested "
                    f"(SHA-256 {was['sha256'][:12]}..., now {ef.sha256[:12]}...): the store "
                    "cannot be re-processed from it; restore the original file"
                )
            files[ef.source_file] = {
                **ef.to_dict(),
                "group": group,
                "file_date": dates.get(ef.source_file),
                "lab": read_lab.get(ef.source_file),
            }
        groups[group] = _write_group(store_p, group, ev)
        res.groups.append(group)
        res.added += [n for _, n, _ in new[group]]
        del ev
    if not readable:  # as ingest --out and investigate: refused, nothing kept
        raise _no_readable_file(evidence, why)
    _check_groups(files)
    manifest = {
        "format": STORE_FORMAT,
        "root": root_p.as_posix(),
        "options": options,
        "case_key_fingerprint": key.fingerprint,
        "files": sorted(files.values(), key=lambda f: Path(f["path"])),
        "groups": dict(sorted(groups.items())),
        "ingests": [
            *(old or {}).get("ingests", []),
            {
                "started_utc": now,
                "command": command or ["labforensics.store.ingest_to_store"],
                "added": sorted(res.added),
                "already_ingested": res.skipped,
                "groups_processed": res.groups,
            },
        ],
    }
    report, quarantine = assemble_report(store_p, manifest)
    tmp = {n: store_p / f".{n}.tmp" for n in (REPORT, QUARANTINE, MANIFEST)}
    write_json(report.to_dict(), tmp[REPORT])
    write_csv(quarantine, tmp[QUARANTINE])
    manifest["checksums"] = top_checksums({n: tmp[n] for n in (REPORT, QUARANTINE)})
    write_json(manifest, tmp[MANIFEST])
    with signals_held():  # the three replaced together, the manifest last (the new versions)
        for name in (REPORT, QUARANTINE, MANIFEST):
            os.replace(tmp[name], store_p / name)
        done[0] = True
    _sweep(store_p, {g["version"] for g in groups.values()})
    _drop_temporary(store_p)  # the journal: every version left is the manifest's
    store_owner_only(store_p)  # folders 0700, files 0600
    res.report, res.manifest = report, manifest
    return res
