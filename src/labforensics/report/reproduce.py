"""The command that reproduces a run: ``findings.json["reproduce"]`` and report section 7.

Complete (every input the run read: the evidence or the store, the case file, the leak,
the patient indexes, the transfer log, the authorisation register, the command-line
overrides) and faithful: every path is written relative to one base folder, stated on the
line after the command by what it holds (never by its absolute path), and every argument
is quoted for a POSIX shell (:func:`shlex.quote`), so that running the first line from
that folder, with the case key, reads the same inputs.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import __version__

__all__ = ["reproduce_args", "reproduce_base", "reproduce_text"]

#: Command-line overrides, in the order written: (key in ``overrides``, option).
OVERRIDES = (("tz", "--tz"), ("year", "--year"), ("lab", "--lab"),
             ("memory_budget", "--memory-budget"))  # fmt: skip
#: Entries of the base folder named in the line that states it.
NAMED_ENTRIES = 6


def _absolute(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute and normalised (``..`` folded; symbolic links kept)."""
    return os.path.abspath(os.fspath(path))


def _inputs(evidence: Sequence[Path], store: Path | None, named: Sequence[Path | None],
            patients: Sequence[Path]) -> list[Path]:  # fmt: skip
    return [Path(p) for p in (*evidence, store, *named, *patients) if p is not None]


def reproduce_base(paths: Sequence[str | os.PathLike[str]]) -> Path | None:
    """The folder the reproduced command runs from: the common folder of the inputs'
    folders (so that each input, a folder too, is a name under it); None without input.

    Parameters
    ----------
    paths : sequence of path
        The inputs, absolute or relative to the current folder (globs allowed: their
        folder counts).

    Returns
    -------
    pathlib.Path or None
        An absolute path (never written out: the paths are made relative to it).
    """
    parents = [os.path.dirname(_absolute(p)) for p in paths]
    return Path(os.path.commonpath(parents)) if parents else None


def _relative(path: str | os.PathLike[str], base: Path) -> str:
    """``path`` relative to ``base`` (POSIX separators); ``./`` before a leading dash, so
    that the parser does not read it as an option."""
    rel = Path(os.path.relpath(_absolute(path), base)).as_posix()
    return f"./{rel}" if rel.startswith("-") else rel


def _in_order(paths: Sequence[Path]) -> list[Path]:
    """``paths`` sorted by their absolute path, as the evidence files are read
    (:func:`labforensics.ingest.files.expand_paths`) and the patient indexes
    (:func:`labforensics.leak.horizon.leak_files`): the order they were given in
    changes nothing of the run, so it changes nothing of the command (QA session 10)."""
    return sorted(paths, key=_absolute)


def reproduce_args(
    evidence: Sequence[Path],
    *,
    base: Path | None,
    case_file: Path | None = None,
    leak: Path | None = None,
    patients: Sequence[Path] = (),
    transfers: Path | None = None,
    authorisations: Path | None = None,
    store: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> list[str]:
    """The arguments of the reproducing command (``labforensics investigate ...``), unquoted.

    Parameters
    ----------
    evidence : sequence of Path
        The evidence files, folders or globs (empty with ``store``).
    base : Path or None
        The folder every path is made relative to (:func:`reproduce_base`); None only
        without any path.
    case_file, leak, transfers, authorisations, store : Path or None
        The companion inputs, when read.
    patients : sequence of Path
        The patient indexes (files or folders).
    overrides : dict, optional
        Command-line overrides: ``tz``, ``year``, ``lab``, ``memory_budget`` (None is
        left out).

    Returns
    -------
    list of str
        ``["labforensics", "investigate", EVIDENCE..., "--out", "OUT", ...]``, the
        evidence first (``--patients`` takes several values), ``OUT`` a placeholder;
        the evidence paths and the patient indexes each sorted by absolute path
        (the order given changes nothing of the run).

    Raises
    ------
    ValueError
        When a path is given without a ``base``.
    """
    if base is None and _inputs(evidence, store, (case_file, leak, transfers, authorisations),
                                patients):  # fmt: skip
        raise ValueError("paths need a base folder to be written relative to")

    def rel(p: Path) -> str:
        return _relative(p, base)  # type: ignore[arg-type]

    evidence, patients = _in_order(evidence), _in_order(patients)
    args = ["labforensics", "investigate", *(rel(p) for p in evidence)]
    if store is not None:
        args += ["--store", rel(store)]
    args += ["--out", "OUT"]
    for flag, path in (("--case", case_file), ("--leak", leak)):
        if path is not None:
            args += [flag, rel(path)]
    if patients:
        args += ["--patients", *(rel(p) for p in patients)]
    for flag, path in (("--transfers", transfers), ("--authorisations", authorisations)):
        if path is not None:
            args += [flag, rel(path)]
    for name, flag in OVERRIDES:
        value = (overrides or {}).get(name)
        if value is not None:
            args += [flag, str(value)]
    return args


def _comment(text: str) -> str:
    """``text`` safe inside a shell comment: no line break or control character."""
    return "".join(c if c.isprintable() else "?" for c in text)


def reproduce_text(
    evidence: Sequence[Path],
    *,
    case_file: Path | None,
    leak: Path | None,
    transfers: Path | None,
    overrides: Mapping[str, Any],
    key_fingerprint: str,
    patients: Sequence[Path] = (),
    authorisations: Path | None = None,
    store: Path | None = None,
    base: Path | None = None,
) -> str:
    """The command that reproduces the run, then the folder to run it from, the case key's
    fingerprint and the version, as comment lines.

    Parameters
    ----------
    evidence : sequence of Path
        The evidence paths as read (relative to the current folder, or absolute).
    case_file, leak, transfers, authorisations, store : Path or None
        The companion inputs, when read (``store`` instead of ``evidence``).
    overrides : dict
        Command-line overrides of the case file: ``tz``, ``year``, ``lab``,
        ``memory_budget`` (a value of None is left out).
    key_fingerprint : str
        Fingerprint of the case key (never the key).
    patients : sequence of Path
        The patient indexes (required with a dump).
    base : Path, optional
        The folder the paths are relative to; default :func:`reproduce_base` of the
        inputs (then every input is a name under it).

    Returns
    -------
    str
        First line: the command, each argument quoted with :func:`shlex.quote` (no
        absolute path, no file content); then ``#`` lines: the folder to run it from,
        named by the entries it holds, the key's fingerprint and the version.
    """
    inputs = _inputs(evidence, store, (case_file, leak, transfers, authorisations), patients)
    if base is None:
        base = reproduce_base(inputs)
    args = reproduce_args(
        evidence, base=base, case_file=case_file, leak=leak, patients=patients,
        transfers=transfers, authorisations=authorisations, store=store, overrides=overrides,
    )  # fmt: skip
    lines = [shlex.join(args)]
    if base is not None:
        tops = sorted({Path(_relative(p, base)).parts[0] for p in inputs} - {"..", "."})
        held = ", ".join(tops[:NAMED_ENTRIES]) + (", ..." if len(tops) > NAMED_ENTRIES else "")
        lines.append(_comment(
            f"# run from the folder that holds {held or 'the inputs'}: every path above is "
            "relative to it; OUT is a new output folder"
        ))  # fmt: skip
    lines.append(
        f"# with the case key whose fingerprint is {key_fingerprint} (the case file's "
        "key_file, else --case-key KEYFILE)"
    )
    lines.append(f"# labforensics {__version__}")
    return "\n".join(lines)
