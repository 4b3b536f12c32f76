"""An output never written over an input (QA session 13, finding 3).

``reidentify --patients idx/PATIENTS_L07.csv --out idx/PATIENTS_L07.csv --force``
overwrote the patient index it read. A file written by a command must not be one of
its inputs: the same path (resolved, so through a symbolic link), or the same file
under another name (a hard link: :func:`os.path.samefile`). ``--force`` allows
overwriting an earlier *output*, never an input. An output folder must not hold an
input either (``--force`` empties it of the files labforensics writes).
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import ParameterError

__all__ = ["case_inputs", "manifest_inputs", "refuse_input_as_output", "refuse_inputs_in_folder"]

#: One input: what it is (``--patients``) and its path (a file, a folder or a glob).
Input = tuple[str, "str | os.PathLike[str] | None"]


def _same(a: Path, b: Path) -> bool:
    """``a`` and ``b`` are one file: one resolved path, or one inode (a hard link)."""
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a link loop: compared by inode below
        pass
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # one of them absent
        return False


def _files(src: Path) -> Iterable[Path]:
    """The files an input names: itself, a folder's files (recursively), a glob's."""
    if src.is_dir():
        for dirpath, _dirs, names in os.walk(src):
            for n in names:
                yield Path(dirpath) / n
    elif src.exists() or src.is_symlink():
        yield src
    elif glob.has_magic(str(src)):
        for g in glob.glob(str(src), recursive=True):
            yield from _files(Path(g))
    else:  # an input named but absent (a run's manifest records it): its path is still kept
        yield src


def case_inputs(case: Any) -> list[Input]:
    """The inputs a case file names (evidence, leak, indexes, mappings, transfer log,
    register), as (label, path); empty without a case.

    Parameters
    ----------
    case : CaseContext or None
        The case (its ``evidence``, ``leak``, ``patient_index``, ``leak_mappings``,
        ``transfers`` and ``authorisations``).

    Returns
    -------
    list of (str, path)
    """
    if case is None:
        return []
    label = f"an input named by the case file {getattr(case, 'path', None) or ''}".rstrip()
    paths = [*getattr(case, "evidence", ()), getattr(case, "leak", None),
             *getattr(case, "patient_index", ()), *getattr(case, "leak_mappings", ()),
             getattr(case, "transfers", None), getattr(case, "authorisations", None)]  # fmt: skip
    return [(label, p) for p in paths if p is not None]


def manifest_inputs(run: str | os.PathLike[str] | None) -> list[Input]:
    """The inputs a run's ``manifest.json`` records, as (label, absolute path).

    QA session 17: ``reidentify --out /case/dump/fuite.csv --force`` wrote over the
    leaked dump the run had read, although this command was not given it: every input
    of the run the ids come from is an input of the case, never written to.

    Parameters
    ----------
    run : path or None
        The run's output folder (None: no run, no inputs).

    Returns
    -------
    list of (str, str)
        ``("the run's input (<manifest>)", path)`` per recorded input with a path; empty
        when the folder has no readable manifest.
    """
    if run is None:
        return []
    manifest = Path(run) / "manifest.json"
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8")).get("inputs") or []
    except (OSError, ValueError, AttributeError):
        return []
    label = f"the run's input recorded in {manifest}"
    return [(label, r["path"]) for r in recorded
            if isinstance(r, dict) and isinstance(r.get("path"), str) and r["path"]]  # fmt: skip


def refuse_input_as_output(out: str | os.PathLike[str], inputs: Iterable[Input],
                           what: str = "--out") -> None:  # fmt: skip
    """Refuse an output file that is one of the inputs, whatever ``--force``.

    Parameters
    ----------
    out : path
        The file the command writes.
    inputs : iterable of (str, path or None)
        Each input as (its option, its path: a file, a folder or a glob); None skipped.
    what : str, default "--out"
        The output's option (named in the error).

    Raises
    ------
    ParameterError
        Naming the output and the input it is (path, option).
    """
    out_p = Path(out)
    exists = out_p.exists() or out_p.is_symlink()
    for label, src in inputs:
        if src is None:
            continue
        s = Path(src)
        for f in _files(s) if (s.is_dir() and exists) or not s.is_dir() else ():
            if _same(out_p, f):
                same = "" if f == out_p else f" ({f}, the same file)"
                raise ParameterError(
                    f"{what} {out_p} is an input of this command ({label}{same}): it would be "
                    "overwritten, even with --force; choose another file"
                )


def refuse_inputs_in_folder(out: str | os.PathLike[str], inputs: Iterable[Input],
                            what: str = "--out") -> None:  # fmt: skip
    """Refuse an output folder that is, or holds, an input file or folder, or lies in an
    input folder.

    Parameters
    ----------
    out : path
        The output folder the command writes (and, with ``--force``, empties).
    inputs : iterable of (str, path or None)
        Each input as (its option, its path); None skipped.
    what : str, default "--out"
        The folder's option (named in the error).

    Raises
    ------
    ParameterError
        Naming the folder and the input.
    """
    out_p = Path(out).resolve()
    for label, src in inputs:
        if src is None:
            continue
        s = Path(src)
        try:
            r = s.resolve()
        except (OSError, RuntimeError):
            continue
        inside = r == out_p or r.is_relative_to(out_p)
        if not inside and s.is_file() and out_p.is_dir():  # a hard link inside the folder
            inside = any(_same(e, s) for e in out_p.iterdir() if e.is_file())
        if inside:
            raise ParameterError(
                f"{what} {out_p} holds an input of this command ({label} {s}): its files "
                "are written and, with --force, removed; choose another folder"
            )
        if r.is_dir() and out_p.is_relative_to(r):  # the outputs would be read next time
            raise ParameterError(
                f"{what} {out_p} lies inside an input folder of this command ({label} {s}): "
                "inputs are never written to; choose a folder elsewhere"
            )
