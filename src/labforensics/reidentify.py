"""Map keyed ids back to what they name, for the data-protection officer only.

A data-protection officer who must notify the patients of a breach (GDPR art. 34)
needs their identities. The report never holds them; this command rebuilds them
from the evidence and the case key, and writes them only to the file the user
names, never inside an investigation output folder::

    labforensics reidentify --case-key case.key --evidence evidence/ \\
        --pseudonyms flagged_patients.csv --out /secure/notify.csv

It re-reads the evidence's raw IPPs and request numbers per lab with the
registered readers, computes their keyed ids (:class:`labforensics.privacy.KeyedIds`:
``P`` for each distinct (lab, IPP), ``R`` for each distinct (lab, request number))
and joins the requested ids. ``D`` ids (rows of a leaked dump) are mapped back to
(dump file, line) when the dump files are given (``--dumps``). With the labs'
patient indexes (``--patients``) ``P`` ids get the index file, line, name,
birth date and address (comparison form: upper case, no accents); with the
leaked dump (``--leak``, files or a folder) ``D`` ids get their dump file and
line, and with both the dump is linked (:func:`labforensics.leak.horizon.link_leak`,
the case's seed) and a linked ``D`` id gets its patient and that patient's
name and address from the index (else the dump row's own). ``N`` ids (NIR
hashes) cannot be mapped back from the evidence and are listed as not found.
Nothing of it enters a report.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from .case import CaseContext
from .custody import open_evidence, sha256_bytes
from .errors import EvidenceError, OutputExistsError, ParameterError
from .ingest._engine import _choose_reader
from .ingest.files import common_root, expand_paths, read_head, relative_name
from .ingest.registry import ReadContext
from .leak.dump import read_dump
from .leak.horizon import LINKED, link_leak
from .leak.patients import read_patient_index
from .outputs import write_csv
from .privacy import (
    KEYED_ID,
    KeyedIds,
    load_case_key,
    normalise_ipp,
    pseudonymise,
    pseudonymise_requests,
)

__all__ = ["dump_rows", "evidence_ids", "evidence_patients", "people_ids", "reidentify"]

#: Person columns written for ``P`` and ``D`` ids (comparison forms of the readers).
_PERSON = ("surname", "birth_name", "first_name", "birth_date", "address", "postcode", "city",
           "phone")  # fmt: skip

_KIND = {"P": "patient", "R": "request", "D": "dump_row", "N": "nir"}


def _is_investigation_folder(folder: Path) -> bool:
    return (folder / "manifest.json").exists() or (folder / "findings.json").exists()


def _inside_investigation(path: Path) -> Path | None:
    for parent in Path(path).resolve().parents:
        if _is_investigation_folder(parent):
            return parent
    return None


def evidence_ids(
    evidence: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    key,
    *,
    case: CaseContext | None = None,
) -> pd.DataFrame:
    """Every distinct (lab, IPP) and (lab, request number) the evidence reveals, keyed.

    Each file is read once with its registered reader, as :func:`labforensics.read_evidence`
    reads it: values stripped of surrounding white space (blank is missing), lab codes
    mapped through ``lab_aliases``, a missing lab read as ``UNKNOWN``.

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
        ``pseudonym`` (``P`` or ``R`` id), ``kind`` (``patient`` or ``request``),
        ``lab``, ``value`` (the raw IPP or request number), all ``string``; one row
        per distinct (kind, lab, value), sorted by pseudonym. Holds raw identifiers:
        never write it to a report.
    """
    case = case or CaseContext()
    items = expand_paths(evidence)
    root = common_root([p for p, _ in items])
    aliases = dict(case.lab_aliases)
    frames: dict[str, list[pd.DataFrame]] = {"patient": [], "request": []}
    for path, _ in items:
        spec = _choose_reader(read_head(path), path.name, None)
        if spec is None:
            continue
        ctx = ReadContext(tz=ZoneInfo(case.tz), source_file=relative_name(path, root),
                          lab_aliases=aliases)  # fmt: skip
        ev = spec.read(path, ctx).events
        if "lab" not in ev.columns or not len(ev):
            continue
        lab = ev["lab"].astype("string")
        for kind, col in (("patient", "_ipp"), ("request", "request")):
            if col in ev.columns:
                sub = pd.DataFrame({"lab": lab, "value": normalise_ipp(ev[col])})
                frames[kind].append(sub.dropna(subset=["value"]).drop_duplicates())
    out = []
    for kind, make in (("patient", pseudonymise), ("request", pseudonymise_requests)):
        if not frames[kind]:
            continue
        pairs = pd.concat(frames[kind], ignore_index=True)
        pairs["lab"] = pairs["lab"].replace(aliases).fillna("UNKNOWN")
        pairs = pairs.drop_duplicates().reset_index(drop=True)
        pairs.insert(0, "pseudonym", make(key, pairs["lab"], pairs["value"]))
        pairs.insert(1, "kind", kind)
        out.append(pairs)
    if not out:
        return pd.DataFrame({"pseudonym": [], "kind": [], "lab": [], "value": []}, dtype="string")
    res = pd.concat(out, ignore_index=True).astype("string")
    return res.sort_values(["pseudonym", "lab", "value"], kind="stable").reset_index(drop=True)


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
    ids = evidence_ids(evidence, key, case=case)
    pat = ids[ids["kind"] == "patient"].drop(columns=["kind"]).rename(columns={"value": "ipp"})
    return pat.reset_index(drop=True)


def dump_rows(dumps: Iterable[str | os.PathLike[str]], key) -> pd.DataFrame:
    """The ``D`` id of every line of each leaked dump file.

    Parameters
    ----------
    dumps : iterable of path-like
        Dump files (opened read-only).
    key : CaseKey
        The case key.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym`` (``D`` + 16 hex digits of HMAC(key, "dump" ␟ the file's
        SHA-256 ␟ line): :func:`labforensics.privacy.dump_row_id`), ``dump_file``
        (the path as given), ``line`` (1-based physical line, lines ended by
        ``\n``; Int64).
    """
    ids = KeyedIds(key)
    frames = []
    for path in dumps:
        with open_evidence(Path(path)) as fh:
            data = fh.read()
        n = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        lines = list(range(1, n + 1))
        frames.append(
            pd.DataFrame(
                {
                    "pseudonym": ids.dump_rows(sha256_bytes(data), lines).to_pylist(),
                    "dump_file": os.fspath(path),
                    "line": pd.array(lines, dtype="Int64"),
                }
            )
        )
    if not frames:
        return pd.DataFrame({"pseudonym": [], "dump_file": [], "line": pd.array([], dtype="Int64")})
    return pd.concat(frames, ignore_index=True)


def people_ids(
    key,
    *,
    case: CaseContext | None = None,
    leak: Iterable[str | os.PathLike[str]] = (),
    patients: Iterable[str | os.PathLike[str]] = (),
) -> pd.DataFrame:
    """``P`` ids of the patient indexes and ``D`` ids of a dump, with the person.

    Parameters
    ----------
    key : CaseKey
    case : CaseContext, optional
        Time zone, lab aliases and seed (the linkage's).
    leak, patients : paths
        The dump and the indexes (files or folders). With both, the dump is linked.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym``, ``lab``, ``source_file``, ``source_line`` (Int64),
        ``linked_patient`` (``D`` ids linked ``unique``/``two_labs``), ``match`` and
        :data:`_PERSON` (for a linked ``D`` id, from the index): raw personal data,
        never to be written inside an investigation folder.
    """

    leak, patients = list(leak), list(patients)
    cols = ["pseudonym", "lab", "source_file", "source_line", "linked_patient", "match",
            *_PERSON]  # fmt: skip
    frames = []
    idx = read_patient_index(patients, case, case_key=key) if patients else None
    if idx is not None:
        p = idx.people.rename(columns={"record_id": "pseudonym"})
        frames.append(p.assign(linked_patient=pd.NA, match=pd.NA)[cols])
    if leak:
        if idx is not None:
            ll = link_leak(leak, patients, case=case, case_key=key)
            d = ll.dump.people.rename(columns={"record_id": "pseudonym"})
            links = ll.links.set_index("row_id")
            d["match"] = d["pseudonym"].map(links["match"])
            linked = d["match"].isin(LINKED)
            d["linked_patient"] = d["pseudonym"].map(links["patient"]).where(linked)
            d["lab"] = d["pseudonym"].map(links["lab"]).where(linked, d["lab"])
            by = idx.people.set_index(idx.people["record_id"].astype("string"))
            for c in _PERSON:  # a linked row: the person as the index knows them
                d[c] = (
                    d[c]
                    .astype("string")
                    .mask(linked, d["linked_patient"].map(by[c].astype("string")))
                )
        else:
            d = read_dump(leak, case, case_key=key).people.rename(
                columns={"record_id": "pseudonym"}
            )
            d = d.assign(linked_patient=pd.NA, match=pd.NA)
        frames.append(d[cols])
    if not frames:
        return pd.DataFrame({c: [] for c in cols}, dtype="string")
    out = pd.concat([f.astype({c: "string" for c in cols if c != "source_line"}) for f in frames],
                    ignore_index=True)  # fmt: skip
    out["source_line"] = out["source_line"].astype("Int64")
    return out


def _read_pseudonyms(path: Path) -> pd.Series:
    """The keyed ids listed in ``path`` (any text holding them as whole words).

    Raises
    ------
    ParameterError
        The file cannot be opened (named as the pseudonyms file), or holds no keyed id.
    """
    try:
        with open_evidence(path) as fh:
            text = fh.read().decode("utf-8-sig", errors="replace")
    except EvidenceError as exc:
        raise ParameterError(
            f"cannot open the pseudonyms file {path}: {exc.__cause__ or exc}"
        ) from None
    found = KEYED_ID.findall(text)
    if not found:
        raise ParameterError(
            f"{path}: no keyed id (P, R, D or N + 16 hex digits) found; give a file listing "
            "them, "
            "for example a column copied from findings.json or events.parquet"
        )
    return pd.Series(sorted(set(found)), dtype="string", name="pseudonym")


def _as_paths(x: Any) -> list[Any]:
    """A path or an iterable of paths, as a list (nothing for None)."""
    if x is None:
        return []
    if isinstance(x, str | os.PathLike):
        return [x]
    return list(x)


def reidentify(
    case_key,
    evidence,
    pseudonyms: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    case: CaseContext | None = None,
    force: bool = False,
    dumps: Iterable[str | os.PathLike[str]] = (),
    leak: Iterable[str | os.PathLike[str]] = (),
    patients: Iterable[str | os.PathLike[str]] = (),
) -> pd.DataFrame:
    """Write what each requested keyed id names to ``out`` (one row per id).

    Parameters
    ----------
    case_key : CaseKey, path or hex str
        The investigation's case key (its key file).
    evidence : paths
        The same evidence as the investigation.
    pseudonyms : path
        A text/CSV file holding the keyed ids to resolve (anything matching ``P``,
        ``R``, ``D`` or ``N`` + 16 hex digits as a whole word is taken).
    out : path
        The CSV file to write (UTF-8). Must not lie inside an investigation output
        folder (one holding ``manifest.json`` or ``findings.json``).
    force : bool
        Overwrite ``out`` when it exists.
    dumps : iterable of path-like, optional
        Leaked dump files: their rows' ``D`` ids are mapped back to (file, line).
    leak, patients : iterable of path-like, optional
        The leaked dump and the labs' patient indexes (files or folders): see
        :func:`people_ids`; adds ``source_file``, ``source_line``,
        ``linked_patient``, ``match`` and the person's name, birth date and address.

    Returns
    -------
    pandas.DataFrame
        The table written: ``pseudonym``, ``kind`` (``patient``, ``request``,
        ``dump_row``, ``nir``), ``lab``, ``ipp`` (patients), ``request`` (request
        numbers), ``dump_file`` and ``line`` (dump rows), ``found`` (False for an id
        that no evidence row or dump line gives; always for ``nir``).

    Raises
    ------
    ParameterError
        When ``out`` lies inside an investigation output folder or inside an input
        folder (evidence, dump, indexes).
    OutputExistsError
        When ``out`` exists and ``force`` is False.
    """
    out_p = Path(out).resolve()
    inv = _inside_investigation(out_p)
    if inv is not None:
        raise ParameterError(
            f"refusing to write re-identified patients inside the investigation folder {inv}: "
            "identities must never travel with the report; choose a file elsewhere"
        )
    if out_p.is_dir():
        raise ParameterError(f"--out {out_p} is a folder; name the CSV file to write")
    for src in (*_as_paths(evidence), *_as_paths(dumps), *_as_paths(leak), *_as_paths(patients)):
        root = Path(src).resolve()
        if root.is_dir() and out_p.is_relative_to(root):  # evidence is read-only, and
            raise ParameterError(  # names must not travel with it
                f"refusing to write re-identified patients inside the input folder {root}: "
                "evidence is never written to; choose a file elsewhere"
            )
    if out_p.exists() and not force:
        raise OutputExistsError(f"{out_p} exists; pass --force to overwrite it")
    key = load_case_key(case_key)
    wanted = _read_pseudonyms(Path(pseudonyms))
    ids = evidence_ids(evidence, key, case=case)
    is_pat = ids["kind"] == "patient"
    table = pd.DataFrame(
        {
            "pseudonym": ids["pseudonym"],
            "lab": ids["lab"],
            "ipp": ids["value"].where(is_pat),
            "request": ids["value"].where(~is_pat),
        }
    )
    rows = dump_rows(dumps, key)
    res = pd.DataFrame({"pseudonym": wanted})
    res.insert(1, "kind", res["pseudonym"].str[0].map(_KIND).astype("string"))
    res = res.merge(table, on="pseudonym", how="left").merge(rows, on="pseudonym", how="left")
    leak, patients = list(leak), list(patients)
    if leak or patients:
        ppl = people_ids(key, case=case, leak=leak, patients=patients)
        res = res.merge(ppl, on="pseudonym", how="left", suffixes=("", "_person"))
        res["lab"] = res["lab"].fillna(res.pop("lab_person"))
    res["found"] = res["lab"].notna() | res["line"].notna()
    if leak or patients:
        res["found"] = res["found"] | res["source_line"].notna()
    write_csv(res, out_p)
    try:
        os.chmod(out_p, 0o600)
    except OSError:  # pragma: no cover - some file systems ignore modes
        pass
    return res
