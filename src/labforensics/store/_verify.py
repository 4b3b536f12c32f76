"""Custody of an evidence store's own bytes: the SHA-256 of every file it is read from.

An investigation from a store analyses the store's Parquet parts and group files, not
the evidence files: the chain of custody must cover those bytes. At ingest, every file
a group version writes (its event parts, ``report.json``, ``quarantine.parquet``,
``field_problems.parquet``) is hashed into the manifest's entry of the group
(``checksums``: path relative to the store -> ``sha256``, ``size``, and ``rows`` for
Parquet), and the store's top files ``ingest_report.json`` and ``quarantine.csv`` into
the manifest's own ``checksums`` (format ``/3``: :func:`top_checksums`). :func:`verify_store` checks every one of them before a store is read
(:func:`~labforensics.store.load_store`, the per-lab engine's ``store_evidence``, and
an ingest adding files to it) and refuses a store whose files differ or are missing,
or that holds under ``events/`` or ``groups/`` a file its manifest does not list
(:func:`unlisted_files`; the files of a version an ingest killed part-way was writing,
named in its journal, aside);
:func:`check_event_count` refuses a store whose events are not the ones its accounting
kept. The store's ``manifest.json`` itself is hashed into the run's manifest, so the
run's custody reaches every byte analysed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..custody import EvidenceFile, sha256_file
from ..errors import EvidenceError
from ._layout import (
    EVENTS_DIR,
    GROUPS_DIR,
    IN_PROGRESS,
    MANIFEST,
    STORE_FORMAT,
    TOP_FILES,
    StoreError,
)

__all__ = [
    "check_event_count",
    "checksums",
    "group_files",
    "in_progress",
    "store_input",
    "top_checksums",
    "unlisted_files",
    "verify_store",
]

#: The files of a group version besides its event parts.
GROUP_FILES = ("report.json", "quarantine.parquet", "field_problems.parquet")
#: Threads hashing parts at once (hashlib releases the GIL on large blocks).
_THREADS = 4
_REINGEST = (
    "re-ingest the evidence into a new store (labforensics ingest EVIDENCE... --store NEWDIR)"
)


def group_files(version: str) -> list[str]:
    """The files of a group version besides its event parts, relative to the store."""
    return [f"{GROUPS_DIR}/{version}/{name}" for name in GROUP_FILES]


def _hash_all(store: Path, rels: list[str]) -> list[tuple[str, int]]:
    """SHA-256 and size of each file, streamed in 1 MiB blocks, a few files at once."""
    workers = max(1, min(_THREADS, os.cpu_count() or 1, len(rels)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda r: sha256_file(store / r), rels))


def checksums(store: Path, rels: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The manifest's record of files just written: ``sha256``, ``size``, ``rows``.

    Parameters
    ----------
    store : pathlib.Path
        The store folder.
    rels : iterable of str
        Files relative to the store (POSIX separators).

    Returns
    -------
    dict
        ``rel`` -> ``{"sha256": hex, "size": bytes}``, plus ``rows`` (from the Parquet
        footer) for a ``.parquet`` file; sorted by ``rel``.
    """
    names = sorted(set(rels))
    out: dict[str, dict[str, Any]] = {}
    for rel, (sha, size) in zip(names, _hash_all(store, names), strict=True):
        rec: dict[str, Any] = {"sha256": sha, "size": size}
        if rel.endswith(".parquet"):
            rec["rows"] = int(pq.ParquetFile(store / rel).metadata.num_rows)
        out[rel] = rec
    return out


def top_checksums(written: Mapping[str, Path]) -> dict[str, dict[str, Any]]:
    """The manifest's record of the store's top files, hashed where they were written.

    Parameters
    ----------
    written : mapping
        Each top file's name in the store (``ingest_report.json``, ``quarantine.csv``)
        -> the file written (beside, before it is renamed into place).

    Returns
    -------
    dict
        ``name`` -> ``{"sha256": hex, "size": bytes}``, sorted by name.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(written):
        sha, size = sha256_file(written[name])
        out[name] = {"sha256": sha, "size": size}
    return out


def _recorded(store: Path, man: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every file the manifest's groups record, checked to cover what they read, and the
    top files it records (required from format ``/3``)."""
    out: dict[str, dict[str, Any]] = {}
    if man.get("format") == STORE_FORMAT:
        top = man.get("checksums")
        if not isinstance(top, Mapping) or any(n not in top for n in TOP_FILES):
            raise StoreError(
                f"the store {store} records no SHA-256 of its {' and '.join(TOP_FILES)}, so "
                f"they cannot be verified: {_REINGEST}"
            )
        out.update({n: top[n] for n in TOP_FILES})
    for group, g in sorted(man.get("groups", {}).items()):
        sums = g.get("checksums")
        need = [*g.get("parts", []), *group_files(g["version"])]
        if not isinstance(sums, Mapping) or any(r not in sums for r in need):
            raise StoreError(
                f"the store {store} records no SHA-256 of the files of its group {group}, so "
                f"the bytes it would be read from cannot be verified: {_REINGEST}"
            )
        out.update(sums)
    return out


def in_progress(store: Path) -> set[str]:
    """The group versions the store's journal (:data:`~._layout.IN_PROGRESS`) names: an
    ingest was writing them (it is running, or was killed before its manifest).

    Parameters
    ----------
    store : pathlib.Path
        The store folder.

    Returns
    -------
    set of str
        The version ids (empty without a journal).
    """
    try:
        text = (store / IN_PROGRESS).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}


def _version_of(rel: str) -> str | None:
    """The group version a store path belongs to by its name: ``groups/<version>/...``
    or ``events/.../part-<version>.parquet``; None for another name."""
    parts = rel.split("/")
    if parts[0] == GROUPS_DIR and len(parts) == 3:
        return parts[1]
    name = parts[-1]
    if parts[0] == EVENTS_DIR and name.startswith("part-") and name.endswith(".parquet"):
        return name[len("part-") : -len(".parquet")]
    return None


def unlisted_files(store: Path, man: Mapping[str, Any]) -> list[str]:
    """The files under ``events/`` and ``groups/`` that the manifest does not list.

    A file the manifest does not know was put there after ingest (an extra Parquet part
    would be ignored by every read: the store is no longer the one ingested). The files
    of a version named in the journal of an ingest cut short (:func:`in_progress`) and
    not in the manifest are that ingest's, removed by the next one: not counted.

    Parameters
    ----------
    store : pathlib.Path
        The store folder.
    man : mapping
        Its manifest.

    Returns
    -------
    list of str
        Paths relative to the store (POSIX), sorted; symbolic links and other non-folder
        entries included.
    """
    listed = {rel for g in man.get("groups", {}).values() for rel in (g.get("checksums") or {})}
    named = {g.get("version") for g in man.get("groups", {}).values()}
    pending = in_progress(store) - named
    out = []
    for top in (EVENTS_DIR, GROUPS_DIR):
        for dirpath, dirs, files in os.walk(store / top):
            for name in [*files, *(d for d in dirs if os.path.islink(os.path.join(dirpath, d)))]:
                rel = Path(dirpath, name).relative_to(store).as_posix()
                if rel not in listed and _version_of(rel) not in pending:
                    out.append(rel)
    return sorted(out)


def verify_store(store: Path, man: Mapping[str, Any]) -> int:
    """Check every file the store is read from against the SHA-256 its manifest records.

    Every event part and group file of every group version the manifest names is hashed
    (streamed in 1 MiB blocks, up to four files at once, no more than the cores: 735 MB
    in 360 files of 2 MB took 1.3 s wall and 0.55 s CPU on a 2-core machine under a load
    of 14, the files in the page cache).

    Parameters
    ----------
    store : pathlib.Path
        The store folder.
    man : mapping
        Its manifest (:func:`labforensics.store._load.read_manifest`).

    Returns
    -------
    int
        The number of files verified.

    Raises
    ------
    StoreError
        Naming the first file (in path order) that is missing or whose SHA-256 differs
        from the one recorded at ingest, or the first file under ``events/`` or
        ``groups/`` that the manifest does not list (:func:`unlisted_files`).
    """
    rec = _recorded(store, man)
    names = sorted(rec)
    extra = unlisted_files(store, man)
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        raise StoreError(
            f"{extra[0]} in the store {store} is not listed in its manifest{more}: the store "
            f"was altered after ingest; {_REINGEST}"
        )
    for rel in names:
        if not (store / rel).is_file():
            raise StoreError(
                f"the store {store} is missing {rel}, which its manifest records "
                f"(SHA-256 {rec[rel]['sha256'][:12]}...): the store is not as ingested; "
                f"{_REINGEST}"
            )
    try:
        got = _hash_all(store, names)
    except EvidenceError as exc:
        raise StoreError(f"the store {store} cannot be verified: {exc}") from exc
    for rel, (sha, _size) in zip(names, got, strict=True):
        if sha != rec[rel]["sha256"]:
            raise StoreError(
                f"{rel} in the store {store} is not the file ingested (SHA-256 "
                f"{rec[rel]['sha256'][:12]}... recorded, {sha[:12]}... now): the store was "
                f"altered after ingest; {_REINGEST}"
            )
    return len(names)


def check_event_count(store: Path, read: int, kept: int, what: str = "read") -> None:
    """Refuse a store whose events are not those its accounting kept.

    Parameters
    ----------
    store : pathlib.Path
        The store folder.
    read : int
        The events read from (or recorded for) its parts.
    kept : int
        The events its accounting kept (``IngestReport.events_out``).
    what : str
        How ``read`` was counted, for the message.

    Raises
    ------
    StoreError
        When the two differ.
    """
    if read != kept:
        raise StoreError(
            f"the store {store}: {read:,} events {what} from its parts, but its ingest "
            f"accounting kept {kept:,}: the store is not as ingested; {_REINGEST}"
        )


def store_input(store: Path) -> tuple[EvidenceFile, dict[str, Any]]:
    """The store read by a run, as a custody record and a findings input.

    Its ``manifest.json``, hashed now: it records the SHA-256 of every file the run
    read from the store, each verified by :func:`verify_store` before the run read it,
    so its hash in the run's manifest covers the bytes analysed.

    Parameters
    ----------
    store : pathlib.Path
        The store folder.

    Returns
    -------
    efile : EvidenceFile
        ``<store>/manifest.json``, format ``labforensics_store``.
    record : dict
        The findings input: ``source_file``, ``role`` (``evidence_store``), ``format``,
        ``size``, ``sha256``, and ``files_verified`` (the store files its manifest
        hashes: every event part and group file).
    """
    path = store / MANIFEST
    efile = EvidenceFile.hash(path, f"{store.name}/{MANIFEST}", "labforensics_store")
    with open(path, encoding="utf-8") as fh:
        man = json.load(fh)
    n = sum(len(g.get("checksums") or {}) for g in man.get("groups", {}).values())
    record = {"source_file": efile.source_file, "role": "evidence_store", "format": efile.format,
              "size": efile.size, "sha256": efile.sha256, "files_verified": n}  # fmt: skip
    return efile, record
