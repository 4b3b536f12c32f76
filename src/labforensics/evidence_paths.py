"""The evidence paths of an investigation: expanded, checked, apart from the output.

:func:`expand_evidence` expands folders and globs (with a link loop or an unreadable
folder named), ``_check_inputs`` drops unreadable files with their reason and refuses
evidence no reader recognises, ``_evidence_paths`` falls back on the case file's
``[evidence] paths``, ``_check_no_overlap`` refuses an output folder inside the evidence
(or the reverse). Used by :mod:`labforensics.pipeline`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._same_files import refuse_inputs_in_folder
from .case import CaseContext, _inside
from .errors import EvidenceError, ParameterError
from .ingest.files import expand_paths
from .preflight import EXPECTED, first_recognised, require_year

__all__ = ["expand_evidence"]


def expand_evidence(paths: Sequence[Path], out: Path | None = None) -> list[tuple[Path, Any]]:
    """:func:`labforensics.ingest.files.expand_paths` with its failures as EvidenceError.

    A symbolic-link loop inside an evidence folder (RuntimeError "Symlink loop" from
    :meth:`pathlib.Path.resolve`) or an unreadable folder (OSError) names the path.

    Parameters
    ----------
    paths : sequence of Path
        The evidence files, folders and globs.
    out : Path, optional
        An output folder (``ingest --out``) that must not overlap the evidence
        (QA session 13: ``investigate`` checked it, ``ingest`` did not).

    Returns
    -------
    list of (Path, Any)
        As :func:`~labforensics.ingest.files.expand_paths`.

    Raises
    ------
    EvidenceError
        When a path does not exist, cannot be listed, or holds a link loop.
    ParameterError
        When ``out`` and the evidence overlap.
    """
    if out is not None:
        _check_no_overlap(list(paths), Path(out).resolve())
    try:
        return list(expand_paths(paths))  # raises EvidenceError naming a missing path
    except EvidenceError:
        raise
    except RuntimeError as exc:  # pathlib: "Symlink loop from '...'"
        raise EvidenceError(
            f"cannot expand the evidence {', '.join(str(p) for p in paths)}: {exc} "
            "(a symbolic link points to itself; remove it or name the files explicitly)"
        ) from exc
    except OSError as exc:
        where = exc.filename or ", ".join(str(p) for p in paths)
        raise EvidenceError(
            f"cannot expand the evidence at {where}: {exc.strerror or exc}"
        ) from exc


def _check_inputs(
    paths: Sequence[Path], profile: Any = None, year: Any = None
) -> tuple[list[Path], list[dict[str, str]]]:
    """Drop unreadable files from the inputs, recording why (the run goes on without them).

    Folders and globs are expanded only when one of their files cannot be read;
    otherwise the paths are passed on as given. Then at least one file must be of
    a format some reader recognises (:func:`labforensics.preflight.first_recognised`,
    one 64 KiB head read per file until the first recognised one).

    Raises
    ------
    EvidenceError
        When a path does not exist (a typo must not silently shrink the evidence),
        when no readable input is left, or when no reader recognises any file (the
        message names up to five files, why, and the formats expected).
    ParameterError
        When ``year`` (``--year``, ``[ingest] year``) is None and a syslog file's lines
        carry no year (:func:`labforensics.preflight.require_year`).
    """
    items = expand_evidence(paths)
    bad: list[dict[str, str]] = []
    ok_files: list[Path] = []
    for p, _ in items:
        try:
            with open(p, "rb") as fh:
                fh.read(1)
        except OSError as exc:
            bad.append({"source_file": p.name, "problem": f"unreadable: {exc.strerror or exc}"})
            continue
        ok_files.append(p)
    if not ok_files:
        raise EvidenceError(
            "no readable evidence file in "
            + ", ".join(str(p) for p in paths)
            + ("; " + "; ".join(f"{b['source_file']} {b['problem']}" for b in bad) if bad else "")
        )
    first, why = first_recognised(ok_files, profile)
    if first is None:
        listed = "; ".join(f"{p.name}: {w}" for p, w in why[:5])
        more = f"; {len(why) - 5:,} more" if len(why) > 5 else ""
        raise EvidenceError(
            f"no readable evidence file in {', '.join(str(p) for p in paths)} ({listed}{more}); "
            f"expected {EXPECTED['evidence']}"
        )
    require_year(ok_files, profile, year)
    return (list(paths) if not bad else ok_files), bad


def _evidence_paths(
    evidence: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None, case: CaseContext
) -> list[Path]:
    """The evidence paths as given, else the case file's ``[evidence] paths``.

    Raises
    ------
    ParameterError
        When no evidence is given and the case file names none.
    """
    if evidence is None or (isinstance(evidence, Sequence) and not isinstance(evidence, str)
                            and len(evidence) == 0):  # fmt: skip
        if not case.evidence:
            raise ParameterError(
                "no evidence given and the case file names none ([evidence] paths)"
            )
        evidence = list(case.evidence)
    if isinstance(evidence, str | os.PathLike):
        return [Path(evidence)]
    return [Path(p) for p in evidence]


def _check_no_overlap(paths: Sequence[Path], out: Path, plan: Any = None) -> None:
    """Refuse an output folder inside the evidence, or evidence inside the output folder;
    with ``plan`` (an investigation's), any other input in it, or it in an input folder
    (QA session 13: ``--force`` empties the folder of the files labforensics writes)."""
    for p in paths:
        if _inside(out, p) or _inside(p, out):
            raise ParameterError(f"the output folder {out} and the evidence {p} overlap")
    if plan is None:
        return
    case = plan.case
    refuse_inputs_in_folder(out, [
        ("--case", case.path), ("the key file", case.key_file), ("--leak", plan.leak),
        ("--transfers", plan.transfers), ("--authorisations", plan.authorisations),
        ("--store", plan.store), *(("--patients", p) for p in plan.patients),
    ])  # fmt: skip
