"""Map pseudonyms back to (lab, IPP), for the data-protection officer only.

A data-protection officer who must notify the patients of a breach (GDPR art. 34)
needs their identities. The report never holds them; this command rebuilds them
from the evidence and the case key, and writes them only to the file the user
names, never inside an investigation output folder::

    labforensics reidentify --case-key case.key --evidence evidence/ \\
        --pseudonyms flagged_patients.csv --out /secure/notify.csv

It re-reads the evidence's raw IPPs per lab with the registered readers,
computes :func:`labforensics.privacy.pseudonymise_one` for each distinct
(lab, IPP) and joins the requested pseudonyms. Nothing of it enters a report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .case import CaseContext
from .errors import OutputExistsError, ParameterError

__all__ = ["evidence_patients", "reidentify"]


def _is_investigation_folder(folder: Path) -> bool:
    return (folder / "manifest.json").exists() or (folder / "findings.json").exists()


def _inside_investigation(path: Path) -> Path | None:
    for parent in Path(path).resolve().parents:
        if _is_investigation_folder(parent):
            return parent
    return None


def evidence_patients(
    evidence: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    key,
    *,
    case: CaseContext | None = None,
) -> pd.DataFrame:
    """Every distinct (lab, IPP) the evidence reveals, with its pseudonym.

    Parameters
    ----------
    evidence : path-like or iterable of path-like
        Files, folders or globs, as :func:`labforensics.read_evidence`.
    key : CaseKey
        The case key of the investigation.
    case : CaseContext, optional
        The case's facts: ``tz`` (local times) and ``lab_aliases`` (FINESS -> lab
        code); ``CaseContext()`` when omitted.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym``, ``lab``, ``ipp`` (str), one row per distinct (lab, IPP),
        sorted by pseudonym. Holds raw identifiers: never write it to a report.
    """
    from zoneinfo import ZoneInfo

    from .ingest import _choose_reader
    from .ingest.files import common_root, expand_paths, read_head, relative_name
    from .ingest.registry import ReadContext
    from .privacy import normalise_ipp, pseudonymise

    case = case or CaseContext()
    items = expand_paths(evidence)
    root = common_root([p for p, _ in items])
    aliases = dict(case.lab_aliases)
    frames = []
    for path, _ in items:
        spec = _choose_reader(read_head(path), path.name, None)
        if spec is None:
            continue
        ctx = ReadContext(tz=ZoneInfo(case.tz), source_file=relative_name(path, root),
                          lab_aliases=aliases)  # fmt: skip
        ev = spec.read(path, ctx).events
        if "_ipp" not in ev.columns or "lab" not in ev.columns or not len(ev):
            continue
        sub = pd.DataFrame({"lab": ev["lab"].astype("string"), "ipp": normalise_ipp(ev["_ipp"])})
        frames.append(sub.dropna().drop_duplicates())
    if not frames:
        return pd.DataFrame({"pseudonym": [], "lab": [], "ipp": []}, dtype="string")
    pairs = pd.concat(frames, ignore_index=True)
    if aliases:
        pairs["lab"] = pairs["lab"].replace(aliases)
    pairs = pairs.drop_duplicates().reset_index(drop=True)
    pairs.insert(0, "pseudonym", pseudonymise(key, pairs["lab"], pairs["ipp"]))
    return pairs.sort_values(["pseudonym", "lab", "ipp"], kind="stable").reset_index(drop=True)


def _read_pseudonyms(path: Path) -> pd.Series:
    from .custody import open_evidence

    with open_evidence(path) as fh:
        text = fh.read().decode("utf-8-sig", errors="replace")
    found = re.findall(r"P[0-9a-f]{16}", text)
    if not found:
        raise ParameterError(
            f"{path}: no pseudonym (P + 16 hex digits) found; give a file listing them, "
            "for example a column copied from findings.json or events.parquet"
        )
    return pd.Series(sorted(set(found)), dtype="string", name="pseudonym")


def reidentify(
    case_key,
    evidence,
    pseudonyms: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    case: CaseContext | None = None,
    force: bool = False,
) -> pd.DataFrame:
    """Write ``pseudonym, lab, ipp, found`` for each requested pseudonym to ``out``.

    Parameters
    ----------
    case_key : CaseKey, path or hex str
        The investigation's case key (its key file).
    evidence : paths
        The same evidence as the investigation.
    pseudonyms : path
        A text/CSV file holding the pseudonyms to resolve (anything matching
        ``P`` + 16 hex digits is taken).
    out : path
        The CSV file to write (UTF-8). Must not lie inside an investigation output
        folder (one holding ``manifest.json`` or ``findings.json``).
    case : CaseContext, optional
        The investigation's case (time zone, lab aliases); ``CaseContext()`` when
        omitted.
    force : bool
        Overwrite ``out`` when it exists.

    Returns
    -------
    pandas.DataFrame
        The table written; ``found`` is False for a pseudonym no evidence row gives.

    Raises
    ------
    ParameterError
        When ``out`` lies inside an investigation output folder.
    OutputExistsError
        When ``out`` exists and ``force`` is False.
    """
    from .outputs import write_csv
    from .privacy import load_case_key

    out_p = Path(out).resolve()
    inv = _inside_investigation(out_p)
    if inv is not None:
        raise ParameterError(
            f"refusing to write re-identified patients inside the investigation folder {inv}: "
            "identities must never travel with the report; choose a file elsewhere"
        )
    if out_p.is_dir():
        raise ParameterError(f"--out {out_p} is a folder; name the CSV file to write")
    if out_p.exists() and not force:
        raise OutputExistsError(f"{out_p} exists; pass --force to overwrite it")
    key = load_case_key(case_key)
    wanted = _read_pseudonyms(Path(pseudonyms))
    table = evidence_patients(evidence, key, case=case)
    res = pd.DataFrame({"pseudonym": wanted}).merge(table, on="pseudonym", how="left")
    res["found"] = res["lab"].notna()
    write_csv(res, out_p)
    try:
        os.chmod(out_p, 0o600)
    except OSError:  # pragma: no cover - some file systems ignore modes
        pass
    return res
