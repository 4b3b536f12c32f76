"""Reading a leaked dump into the person frame (issue 13 item 1).

:func:`read_dump` reads every shape of ``shared/formats/leak-dump.md`` (several
files, CSV with ``;`` ``,`` ``|`` or tab, fixed-width text through a mapping,
UTF-8, cp1252 or UTF-16 with BOM) into one row per dump data row kept, in the
columns of :data:`labforensics.leak.people.PEOPLE_COLUMNS`. A row is named by its
``D`` id, HMAC(key, "dump" ␟ SHA-256 of the file ␟ line)
(:meth:`labforensics.privacy.KeyedIds.dump_rows`), never by its content.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

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
from .patients import _people_table, _rejected_frame
from .people import normalise_fields

__all__ = ["Dump", "read_dump"]

#: Fields whose presence makes a row worth linking (a row with none of them is ``no_person``).
PERSON_FIELDS = ("surname", "birth_name", "first_name", "birth_date", "nir", "phone", "address")


@dataclass(repr=False)
class Dump:
    """A leaked dump read.

    Attributes
    ----------
    people : pandas.DataFrame
        One row per dump data row kept, columns :data:`PEOPLE_COLUMNS` (``record_id``
        the ``D`` id; ``lab`` from a ``Laboratoire`` column if any, else NA;
        ``created``/``last_visit`` NaT). In memory only, never to be written.
    rejected : pandas.DataFrame
        ``source_file``, ``source_line`` (int64), ``reason`` of every line not used.
    report : dict
        Shape and accounting per file, totals and counts (no value): see
        :func:`read_dump`.
    """

    people: pd.DataFrame
    rejected: pd.DataFrame
    report: dict[str, Any]

    def __repr__(self) -> str:
        t = self.report.get("lines", {})
        return f"Dump({len(self.people)} rows from {len(self.report.get('files', []))} files; lines: {t})"


def read_dump(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    case: Any = None,
    mapping: Any = None,
    *,
    case_key: Any = None,
    tz: str | None = None,
    lab_aliases: Mapping[str, str] | None = None,
    reference: date | int | None = None,
) -> Dump:
    """Read leaked dump files into people.

    Parameters
    ----------
    paths, case, mapping, case_key, tz, lab_aliases, reference
        As :func:`labforensics.leak.patients.read_patient_index` (the key names the
        ``D`` ids; ``reference`` defaults to each file's newest four-digit date).

    Returns
    -------
    Dump

    Raises
    ------
    EvidenceError
        A path is missing; a file is binary, undecodable or UTF-16 without BOM; a file
        has no recognisable header and no mapping applies.
    ProfileError
        A mapping is invalid or names a column a file lacks.

    Notes
    -----
    Every physical line is accounted for in ``report["lines"]``: ``used``,
    ``header``, ``blank``, ``malformed``, ``continued`` (the lines after the first
    of a row whose quoted field holds line breaks: the row is read whole and numbered
    by its first line), ``no_person`` (no name, birth date, NIR,
    phone nor address: nothing to link on), ``duplicate`` (the same raw cells, field
    by field, as a row of an earlier file: the same row in two files, kept once: the
    first in path order; its line in ``rejected`` names the kept copy). Rows repeated
    within one file are kept (one row per sample) and counted in
    ``repeated_within_file``. The sum of the parts equals ``lines``.
    """
    key, zone, aliases = resolve_case(
        case, case_key, tz, dict(lab_aliases) if lab_aliases else None
    )
    maps = load_mappings(mapping)
    files, root = file_list(paths)
    ids = KeyedIds(key)
    rejected: list[tuple[str, int, str]] = []
    tables, row_texts, file_no = _read_dump_tables(files, root, maps, rejected)
    dup, repeated = _dump_duplicates(tables, row_texts, file_no, rejected)
    frames: list[pd.DataFrame] = []
    file_reports: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    offset = 0
    for t, has in tables:  # pass 2: normalise the rows kept
        n_has = int(has.sum())
        part = slice(offset, offset + n_has)
        offset += n_has
        people, st, acc = _dump_file_people(
            t, has, dup[part], repeated[part], reference, zone, aliases, ids
        )
        frames.append(people)
        stats = merge_counts(stats, st)
        file_reports.append(acc)
    people = _people_table(frames)
    present = {t.name: set(t.fields) for t, _ in tables}
    people["duplicate_of"], other_shape = _same_sample_other_shape(
        people, [t.name for t, _ in tables], present
    )
    totals = _dump_totals(file_reports, other_shape)
    rejected.sort(key=lambda r: (r[0], r[1]))
    report = {
        "kind": "dump",
        "files": file_reports,
        "lines": totals,
        "accounted": totals["lines"] == sum(v for k2, v in totals.items() if k2 != "lines"),
        "repeated_within_file": int(repeated.sum()),
        "same_sample_other_shape": int(people["duplicate_of"].notna().sum()),
        "rejected_total": len(rejected),
        "rejected": [
            {"file": f, "line": ln, "reason": r} for f, ln, r in rejected[:REJECTED_LISTED]
        ],
        **stats,
        "labs_named": {str(k2): int(v) for k2, v in people.groupby("lab").size().items()},
    }
    return Dump(people, _rejected_frame(rejected), report)


def _read_dump_tables(
    files: list[Path],
    root: Path,
    maps: tuple[ColumnMapping, ...],
    rejected: list[tuple[str, int, str]],
) -> tuple[list[tuple[Table, np.ndarray]], list[pa.Array], list[np.ndarray]]:
    """Pass 1: each file's table with its person-row mask, row texts and file numbers."""
    tables = []
    row_texts: list[pa.Array] = []
    file_no: list[np.ndarray] = []
    for k, path in enumerate(files):  # pass 1: raw cells, person rows, row texts
        t = read_table(path, root, maps)
        has = np.zeros(len(t.lines), dtype=bool)
        for f in PERSON_FIELDS:
            if f in t.fields:
                has |= t.fields[f].notna().to_numpy()
        for line, why in t.malformed:
            rejected.append((t.name, line, f"malformed: {why}"))
        for i in np.flatnonzero(~has):
            rejected.append((t.name, int(t.lines[i]), "no person field"))
        tables.append((t, has))
        row_texts.append(row_keys(t, FIELDS).filter(pa.array(has)))
        file_no.append(np.full(int(has.sum()), k, dtype=np.int64))
    return tables, row_texts, file_no


def _dump_duplicates(
    tables: list[tuple[Table, np.ndarray]],
    row_texts: list[pa.Array],
    file_no: list[np.ndarray],
    rejected: list[tuple[str, int, str]],
) -> tuple[np.ndarray, np.ndarray]:
    """Person rows that copy a row of an earlier file (rejected), and rows repeated in one file."""
    h = row_codes(row_texts)
    fno = np.concatenate(file_no) if file_no else np.array([], dtype=np.int64)
    # the first file (in path order) holding each distinct row; a later file's copy is a duplicate
    first_file = pd.Series(fno).groupby(h).transform("min").to_numpy() if len(h) else fno
    dup = fno > first_file
    repeated = pd.Series(h).duplicated(keep="first").to_numpy() & ~dup if len(h) else dup
    first_pos = (
        pd.Series(np.arange(len(h))).groupby(h).transform("first").to_numpy() if len(h) else fno
    )
    where = [(t.name, ln) for t, has in tables for ln in t.lines[has].tolist()]
    for i in np.flatnonzero(dup):
        f0, l0 = where[first_pos[i]]
        rejected.append((*where[i], f"duplicate row of {f0}:{l0}"))
    return dup, repeated


def _dump_file_people(
    t: Table,
    has: np.ndarray,
    dup: np.ndarray,
    repeated: np.ndarray,
    reference: date | int | None,
    zone: str,
    aliases: dict[str, str],
    ids: KeyedIds,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Pass 2 for one file: its kept rows as people, their counts, and the file's accounting."""
    keep = has.copy()
    keep[has] = ~dup
    sub = {f: v[keep].reset_index(drop=True) for f, v in t.fields.items()}
    lines = t.lines[keep]
    year, pivot_src = pivot_year(t, reference)
    people, st = normalise_fields(
        sub, len(lines), formats=t.formats, date_system=t.date_system, pivot_year=year, tz=zone
    )
    labs = (
        resolve_labs(sub["lab"], aliases)
        if "lab" in sub
        else pd.Series(pd.NA, index=people.index, dtype="string")
    )
    rid = ids.dump_rows(t.sha256, lines.tolist()).to_pylist() if len(lines) else []
    people.insert(0, "record_id", pd.Series(rid, index=people.index, dtype="string"))
    people.insert(1, "lab", labs)
    people.insert(2, "source_file", pd.Series(t.name, index=people.index, dtype="string"))
    people.insert(3, "source_line", pd.Series(lines, index=people.index, dtype="int64"))
    acc = t.accounting()
    acc.update(
        {
            "used": len(lines),
            "no_person": int((~has).sum()),
            "duplicate": int(dup.sum()),
            "repeated_within_file": int(repeated.sum()),
            "header": 0 if t.header_line is None else 1,
            "two_digit_year_pivot": year,
            "pivot_from": pivot_src,
        }  # fmt: skip
    )
    acc["dates"] = st.get("dates", {})  # per-file date kinds (leak.horizon: dump shape)
    return people, st, acc


def _dump_totals(file_reports: list[dict[str, Any]], other_shape: dict[str, int]) -> dict[str, int]:
    """Line accounting summed over files; adds each file's ``same_sample_other_shape``."""
    totals = {
        "lines": 0,
        "used": 0,
        "header": 0,
        "blank": 0,
        "malformed": 0,
        "continued": 0,
        "no_person": 0,
        "duplicate": 0,
    }
    for acc in file_reports:
        acc["same_sample_other_shape"] = int(other_shape.get(acc["file"], 0))
        for k2 in totals:
            totals[k2] += int(acc[k2])
    return totals


#: Fields compared to find one sample written in two files of different shapes.
SAME_SAMPLE_FIELDS = (
    "surname", "birth_name", "first_name", "sex", "birth_date", "nir", "address", "postcode",
    "city", "phone", "sample_date",
)  # fmt: skip


def _same_sample_other_shape(
    people: pd.DataFrame, names: list[str], present: dict[str, set[str]]
) -> tuple[pd.Series, dict[str, int]]:
    """``duplicate_of``: the ``D`` id of the first row of an earlier file (path order)
    equal on every normalised field the two files both have, when those include the
    sample date, a name or NIR, and a first name, birth date or NIR; NA otherwise.

    One sample exported twice in two shapes (other columns, other date or phone
    formats): both rows are kept (the later may hold fields the earlier lacks) and the
    later one names the earlier. Per pair of files, one merge on the common fields.
    """
    out = pd.Series(pd.NA, index=people.index, dtype="string")
    counts: dict[str, int] = {}
    by_file = {n: people.index[people["source_file"] == n] for n in names}
    for j, later in enumerate(names):
        for earlier in names[:j]:
            common = [
                f for f in SAME_SAMPLE_FIELDS if f in present[earlier] and f in present[later]
            ]
            cs = set(common)
            if (
                "sample_date" not in cs
                or not {"surname", "nir"} & cs
                or not {"first_name", "birth_date", "nir"} & cs
            ):
                continue
            a = people.loc[by_file[earlier], [*common, "record_id"]].drop_duplicates(common)
            todo = by_file[later][out[by_file[later]].isna().to_numpy()]
            b = people.loc[todo, common].reset_index()
            m = b.merge(a, on=common, how="inner")
            if len(m):
                out[m["index"].to_numpy()] = m["record_id"].to_numpy()
                counts[later] = counts.get(later, 0) + len(m)
    return out, counts
