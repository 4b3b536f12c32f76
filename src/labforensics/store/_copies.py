"""Byte-identical copies in a store: read in one group with their original.

A read of every file at once counts every row of a byte-identical copy as a duplicate of
its original's (:mod:`labforensics.ingest._copies`). A store reads group by group
(:mod:`._layout`): the files of one lab are one group, so a copy read for the same lab
is read with its original; but a file that names no lab is a group of its own
(``file:<source_file>``), and its copy, in another group, was read as if alone: each of
its events twice (QA session 15). So the files that name no lab and share one SHA-256
are one group, ``file:<the first of their names>``, whichever was ingested first: a
late copy re-processes its original's group (renamed when the copy's name sorts first),
and the store holds what one ingest of every file gives.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["FILE_GROUP", "join_copies"]

#: The prefix of the group of a file that names no lab.
FILE_GROUP = "file:"

#: A new input: path, source_file, file date (ISO or None), SHA-256, group.
Entry = tuple[Path, str, str | None, str, str]


def join_copies(
    entries: Iterable[Entry],
    files: MutableMapping[str, dict[str, Any]],
    groups: MutableMapping[str, Any],
) -> tuple[dict[str, list[tuple[Path, str, str | None]]], list[str]]:
    """The groups to (re-)process, the files that name no lab put with their copies.

    Parameters
    ----------
    entries : iterable of (path, source_file, file date, sha256, group)
        The new inputs, each with the group its name or rows give.
    files : mutable mapping
        ``source_file`` -> the manifest's record of each stored file (``sha256``,
        ``group``...); a stored file moved to its copies' group gets that group.
    groups : mutable mapping
        The manifest's groups; a group left empty by the move is removed (its version
        is swept).

    Returns
    -------
    new : dict
        Group -> its new inputs (path, source_file, file date); a group with a stored
        file moved into it and no new input has an empty list (it is re-processed).
    moved : list of str
        ``source_file`` of each stored file moved to another group, sorted.
    """
    entries = list(entries)
    names: dict[str, set[str]] = {}
    for name, f in files.items():
        if str(f.get("group", "")).startswith(FILE_GROUP):
            names.setdefault(f["sha256"], set()).add(name)
    for _, name, _, sha, group in entries:
        if group.startswith(FILE_GROUP):
            names.setdefault(sha, set()).add(name)
    target = {sha: FILE_GROUP + min(ns) for sha, ns in names.items()}
    new: dict[str, list[tuple[Path, str, str | None]]] = {}
    for path, name, date, sha, group in entries:
        if group.startswith(FILE_GROUP):
            group = target[sha]
        new.setdefault(group, []).append((path, name, date))
    moved: list[str] = []
    for name, f in sorted(files.items()):
        group = str(f.get("group", ""))
        if not group.startswith(FILE_GROUP) or target[f["sha256"]] == group:
            continue
        groups.pop(group, None)  # every file of it shares the SHA-256: all move
        f["group"] = target[f["sha256"]]
        new.setdefault(f["group"], [])
        moved.append(name)
    return new, moved
