"""Reading the labs' patient indexes into the person frame (issue 13 item 1).

:func:`read_patient_index` reads every shape of ``shared/formats/patient-index.md``
(and the column mapping TOML defined there, :mod:`labforensics.leak.mapping`) into
one row per (lab, IPP) kept, in the columns of
:data:`labforensics.leak.people.PEOPLE_COLUMNS`, the IPP replaced by its ``P``
pseudonym (:class:`labforensics.privacy.KeyedIds`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import AttributionError
from ..privacy import KeyedIds
from ._tables import (
    REJECTED_LISTED,
    Table,
    file_list,
    merge_counts,
    pivot_year,
    read_table,
    resolve_case,
    resolve_labs,
    row_codes,
    row_keys,
)
from .mapping import FIELDS, ColumnMapping, load_mappings
from .people import PEOPLE_COLUMNS, empty_people, normalise_fields

__all__ = ["PatientIndex", "read_patient_index"]

#: ``PATIENTS_<LAB>.csv`` (the format's name) or ``patient_index_<LAB>.csv`` (the name the
#: synthetic cases' NIR lists came with), any extension, case-insensitive: the lab code
#: of an index file.
LAB_FROM_NAME = re.compile(
    r"^(?:PATIENT_INDEX|PATIENTS?)_(?P<lab>.+?)(?:\.[A-Za-z0-9]{1,4})?$", re.IGNORECASE
)


@dataclass(repr=False)
class PatientIndex:
    """The patient indexes read.

    Attributes
    ----------
    people : pandas.DataFrame
        One row per (lab, IPP) kept, columns :data:`PEOPLE_COLUMNS` (``record_id`` the
        ``P`` pseudonym; ``sample_date`` all NaT). Raw-but-normalised values: in
        memory only, never to be written.
    rejected : pandas.DataFrame
        ``source_file``, ``source_line`` (int64), ``reason``: every line not used
        (malformed, no IPP, no lab, IPP already seen, duplicate row): no value.
    report : dict
        Shape and accounting per file, totals, counts of repairs and checks (JSON-ready,
        no value: see :func:`read_patient_index`).
    """

    people: pd.DataFrame
    rejected: pd.DataFrame
    report: dict[str, Any]

    def __repr__(self) -> str:
        t = self.report.get("lines", {})
        return (
            f"PatientIndex({len(self.people)} patients from {len(self.report.get('files', []))} "
            f"files; lines: {t})"
        )


def _rejected_frame(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_file": pd.Series([r[0] for r in rows], dtype="string"),
            "source_line": pd.Series([r[1] for r in rows], dtype="int64"),
            "reason": pd.Series([r[2] for r in rows], dtype="string"),
        }
    )


def read_patient_index(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    case: Any = None,
    mapping: Any = None,
    *,
    case_key: Any = None,
    tz: str | None = None,
    lab_aliases: Mapping[str, str] | None = None,
    reference: date | int | None = None,
) -> PatientIndex:
    """Read patient index files (``PATIENTS_<LAB>.csv`` and other shapes) into people.

    Parameters
    ----------
    paths : path-like or iterable of path-like
        Files, folders (walked) or glob patterns.
    case : object, optional
        Anything with attributes ``tz``, ``lab_aliases`` and ``key_file`` (the case
        context); the keywords below win over it.
    mapping : path, dict, ColumnMapping or list of them, optional
        Column mappings (:mod:`labforensics.leak.mapping`), chosen per file by header
        then file-name pattern; without one, columns are recognised by header name.
    case_key : CaseKey, bytes, str or path, optional
        The key of the ``P`` pseudonyms (else ``case.key_file``, else
        ``$LABFORENSICS_CASE_KEY``, else a random key with a warning).
    tz : str, optional
        Zone of the local dates (default ``case.tz``, else :data:`labforensics.case.DEFAULT_TZ`).
    lab_aliases : mapping, optional
        Alias -> lab code (default ``case.lab_aliases``).
    reference : date or int, optional
        Reference of two-digit years (``dd/mm/yy``): ``yy`` is the most recent year not
        after it. Default: the newest four-digit date of each file, else today.

    Returns
    -------
    PatientIndex

    Raises
    ------
    EvidenceError
        A path is missing; a file is binary, undecodable or UTF-16 without BOM; a file
        has no recognisable header and no mapping applies.
    ProfileError
        A mapping is invalid or names a column a file lacks.
    AttributionError
        A file has no IPP column, or no lab (neither ``PATIENTS_<LAB>`` in its name
        nor a lab column).

    Notes
    -----
    Lab of a file: the ``<LAB>`` of ``PATIENTS_<LAB>.<ext>``, else its lab column
    (a row with that cell empty is rejected ``no lab``); aliases resolved. Every
    physical line is accounted for in ``report["lines"]``: ``used``, ``header``,
    ``blank``, ``malformed`` (field count differs from the header's, or shorter than
    a fixed-width range, or a quoted field left open), ``continued`` (the lines after
    the first of a row whose quoted field holds line breaks: the row is read whole and
    numbered by its first line), ``no_ipp``, ``no_lab``, ``duplicate`` (the same raw
    row as a row already kept, in this file or another: kept once), ``ipp_repeated``
    (a row with a (lab, IPP) already seen but other content: quarantined with its
    line, never merged). ``used + header + blank + malformed + continued + no_ipp +
    no_lab + duplicate + ipp_repeated == lines``. The first row in file order (files sorted by path)
    is kept.
    """
    key, zone, aliases = resolve_case(
        case, case_key, tz, dict(lab_aliases) if lab_aliases else None
    )
    maps = load_mappings(mapping)
    files, root = file_list(paths)
    ids = KeyedIds(key)
    rejected: list[tuple[str, int, str]] = []
    tables, rid_all, row_texts = _read_index_tables(files, root, maps, aliases, ids, rejected)
    seen, dup, rep = _repeated_patients(tables, rid_all, row_texts, rejected)
    frames: list[pd.DataFrame] = []
    file_reports: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    offset = 0
    for entry in tables:  # pass 2: normalise rows kept
        n_ok = int(entry[1].sum())
        part = slice(offset, offset + n_ok)
        offset += n_ok
        people, st, acc = _index_file_people(
            entry, rid_all[part], seen[part], dup[part], rep[part], reference, zone
        )
        frames.append(people)
        stats = merge_counts(stats, st)
        file_reports.append(acc)
    people = _people_table(frames)
    totals = {"lines": 0, "used": 0, "header": 0, "blank": 0, "malformed": 0, "continued": 0,
              "no_ipp": 0, "no_lab": 0, "duplicate": 0, "ipp_repeated": 0}  # fmt: skip
    for acc in file_reports:
        for k in totals:
            totals[k] += int(acc[k])
    rejected.sort(key=lambda r: (r[0], r[1]))
    report = {
        "kind": "patient_index",
        "files": file_reports,
        "lines": totals,
        "accounted": totals["lines"] == sum(v for k, v in totals.items() if k != "lines"),
        "rejected_total": len(rejected),
        "rejected": [
            {"file": f, "line": ln, "reason": r} for f, ln, r in rejected[:REJECTED_LISTED]
        ],
        **stats,
        "nir_disagrees_with_birth_date": _nir_disagreements(people),
        "labs": {str(k): int(v) for k, v in people.groupby("lab").size().items()},
    }
    return PatientIndex(people, _rejected_frame(rejected), report)


def _file_labs(path: Path, t: Table, n: int) -> tuple[pd.Series, str]:
    """Lab of each row (from ``PATIENTS_<LAB>`` in the name, else the lab column) and its source."""
    m = LAB_FROM_NAME.match(path.name)
    if m:
        return pd.Series(m["lab"], index=pd.RangeIndex(n), dtype="string"), "file name"
    if "lab" in t.fields:
        return t.fields["lab"].astype("string"), "lab column"
    raise AttributionError(
        f"{path}: no lab: name the file PATIENTS_<LAB>.csv or add a lab column "
        '(LABO, Laboratoire) or map one (lab = "...")'
    )


def _read_index_tables(
    files: list[Path],
    root: Path,
    maps: tuple[ColumnMapping, ...],
    aliases: dict[str, str],
    ids: KeyedIds,
    rejected: list[tuple[str, int, str]],
) -> tuple[list[tuple[Any, ...]], np.ndarray, list[pa.Array]]:
    """Pass 1: each file's table with lab, rows kept (IPP and lab), ``P`` ids and row texts."""
    tables = []
    rid_parts: list[np.ndarray] = []
    row_texts: list[pa.Array] = []
    for path in files:  # pass 1: raw cells, lab, IPP, pseudonym, row hash
        t = read_table(path, root, maps)
        n = len(t.lines)
        for line, why in t.malformed:
            rejected.append((t.name, line, f"malformed: {why}"))
        if "ipp" not in t.fields:
            raise AttributionError(
                f"{path}: no IPP column (fields found: {[c['field'] for c in t.columns]}); name "
                'it IPP or map it in a column mapping (ipp = "...")'
            )
        labs, lab_from = _file_labs(path, t, n)
        labs = resolve_labs(labs, aliases)
        ipp = t.fields["ipp"].astype("string")
        no_ipp = ipp.isna().to_numpy()
        no_lab = labs.isna().to_numpy() & ~no_ipp
        for i in np.flatnonzero(no_ipp):
            rejected.append((t.name, int(t.lines[i]), "no IPP"))
        for i in np.flatnonzero(no_lab):
            rejected.append((t.name, int(t.lines[i]), "no lab"))
        ok = ~(no_ipp | no_lab)
        rid = np.asarray(
            ids.patients(labs[ok].tolist(), ipp[ok].tolist()).to_pylist() if ok.any() else [],
            dtype=object,
        )
        tables.append((t, ok, labs, lab_from, int(no_ipp.sum()), int(no_lab.sum())))
        rid_parts.append(rid)
        row_texts.append(row_keys(t, FIELDS).filter(pa.array(ok)))
    rid_all = np.concatenate(rid_parts) if rid_parts else np.array([], dtype=object)
    return tables, rid_all, row_texts


def _repeated_patients(
    tables: list[tuple[Any, ...]],
    rid_all: np.ndarray,
    row_texts: list[pa.Array],
    rejected: list[tuple[str, int, str]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows whose (lab, IPP) was seen before: all, same raw row (duplicate), other content."""
    h = row_codes(row_texts)
    where = [(t.name, ln) for t, ok, *_ in tables for ln in t.lines[ok].tolist()]
    seen = pd.Series(rid_all, dtype=object).duplicated(keep="first").to_numpy()
    first_pos = (
        pd.Series(np.arange(len(rid_all))).groupby(rid_all).transform("first").to_numpy()
        if len(rid_all)
        else np.array([], dtype=np.int64)
    )
    same_row = h == h[first_pos] if len(h) else np.array([], dtype=bool)
    dup, rep = seen & same_row, seen & ~same_row
    for i in np.flatnonzero(seen):
        f0, l0 = where[first_pos[i]]
        why = "duplicate row of" if dup[i] else "IPP already seen at"
        rejected.append((*where[i], f"{why} {f0}:{l0}"))
    return seen, dup, rep


def _index_file_people(
    entry: tuple[Any, ...],
    rid: np.ndarray,
    seen: np.ndarray,
    dup: np.ndarray,
    rep: np.ndarray,
    reference: date | int | None,
    zone: str,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Pass 2 for one file: its first-seen rows as people, their counts, the file's accounting."""
    t, ok, labs, lab_from, n_no_ipp, n_no_lab = entry
    keep = ok.copy()
    keep[ok] = ~seen
    sub = {f: v[keep].reset_index(drop=True) for f, v in t.fields.items()}
    lines = t.lines[keep]
    year, pivot_src = pivot_year(t, reference)
    people, st = normalise_fields(
        sub, len(lines), formats=t.formats, date_system=t.date_system, pivot_year=year, tz=zone
    )
    people.insert(0, "record_id", pd.Series(rid[~seen], index=people.index, dtype="string"))
    people.insert(1, "lab", labs[keep].reset_index(drop=True))
    people.insert(2, "source_file", pd.Series(t.name, index=people.index, dtype="string"))
    people.insert(3, "source_line", pd.Series(lines, index=people.index, dtype="int64"))
    acc = t.accounting()
    acc.update(
        {
            "lab_from": lab_from,
            "used": len(lines),
            "header": 0 if t.header_line is None else 1,
            "no_ipp": n_no_ipp,
            "no_lab": n_no_lab,
            "duplicate": int(dup.sum()),
            "ipp_repeated": int(rep.sum()),
            "two_digit_year_pivot": year,
            "pivot_from": pivot_src,
        }  # fmt: skip
    )
    return people, st, acc


def _people_table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The files' people in one table with the columns and dtypes of ``PEOPLE_COLUMNS``."""
    people = pd.concat(frames, ignore_index=True) if frames else empty_people()
    for c, dt_ in PEOPLE_COLUMNS.items():
        if c not in people:
            people[c] = pd.Series(pd.NaT if "datetime" in dt_ else pd.NA, index=people.index)
        people[c] = people[c].astype(dt_)
    return people[list(PEOPLE_COLUMNS)]


def _nir_disagreements(people: pd.DataFrame) -> dict[str, int]:
    """Rows whose NIR's sex/year/month disagree with their own, by ``QUALITE`` (00 or
    other): information (a dependant carries the insured person's NIR)."""
    p = people[people["nir"].notna()]
    if p.empty:
        return {"insured": 0, "dependant": 0}
    nir = p["nir"].astype(str)
    sex_digit = nir.str[0]
    sex_bad = p["sex"].notna() & (
        ((p["sex"] == "M") & ~sex_digit.isin(["1", "3", "7"]))
        | ((p["sex"] == "F") & ~sex_digit.isin(["2", "4", "8"]))
    )
    yy = nir.str[1:3].astype(int)
    mm = nir.str[3:5].astype(int)
    year_bad = p["birth_year"].notna() & (p["birth_year"].astype("Int64") % 100 != yy)
    month_bad = (
        p["birth_month"].notna() & mm.between(1, 12) & (p["birth_month"].astype("Int64") != mm)
    )
    bad = (sex_bad | year_bad.fillna(False) | month_bad.fillna(False)).astype(bool)
    insured = p["qualite"].fillna("00") == "00"
    return {"insured": int((bad & insured).sum()), "dependant": int((bad & ~insured).sum())}
