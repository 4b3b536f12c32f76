"""A file named for one lab holding another lab's rows (QA session 17, item 4).

``AUDIT_L01_20240610.csv`` holding L02 rows was read as L02 without a word; the
coverage text then said "L01: no logs before 2024-06-11" although an L01-named file
for 06-10 was given. The rows stay with the lab they name (the row is the record;
the name is a label someone gave the file), and the disagreement is said: per file
(its name's lab, its rows' labs, their events) in the ingest report and as a limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..labcodes import canonical_lab, resolve_lab

__all__ = ["lab_name_mismatches", "lab_name_note", "lab_name_sentence", "name_labs"]


def lab_name_mismatches(
    events: pd.DataFrame, names: Mapping[str, str | None], aliases: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The files whose events name a lab other than the one their file name gives.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical events (``source_file``, ``lab``: canonical, aliases resolved).
    names : mapping of str to str or None
        ``source_file`` -> the lab its name gives (the reading profile's
        ``file_pattern``), None when the name gives none.
    aliases : mapping of str to str
        The case's lab aliases (:func:`labforensics.labcodes.lab_alias_map`): a name
        giving an alias of the rows' lab is no mismatch.

    Returns
    -------
    list of dict
        One per such file, in ``names``' order: ``source_file``, ``name_lab`` (the
        name's lab, canonical), ``row_labs`` (the other labs its events name, sorted),
        ``events`` (its events naming another lab), ``events_of_name_lab`` (those
        naming the name's lab). Empty when every file's rows agree with its name.
    """
    given = {f: resolve_lab(v, aliases) or canonical_lab(v) for f, v in names.items() if v}
    if not given or not len(events) or not {"source_file", "lab"} <= set(events.columns):
        return []
    sub = events.loc[events["source_file"].isin(list(given)), ["source_file", "lab"]]
    sizes = sub.groupby(["source_file", "lab"], observed=True, dropna=True).size()
    per: dict[str, dict[str, int]] = {}
    for (f, lab), n in sizes.items():  # one per distinct (file, lab): few
        if int(n) > 0:
            per.setdefault(str(f), {})[str(lab)] = int(n)
    out = []
    for f, name_lab in given.items():
        labs = per.get(f, {})
        other = {lab: n for lab, n in labs.items() if lab != name_lab}
        if other:
            out.append({"source_file": f, "name_lab": name_lab, "row_labs": sorted(other),
                        "events": sum(other.values()),
                        "events_of_name_lab": labs.get(name_lab, 0)})  # fmt: skip
    return out


def lab_name_note(m: Mapping[str, Any]) -> str:
    """One file's note (``FileReport.note``): ``"named for lab L01 but its 3 event(s)
    name L02: kept with L02"``.

    Parameters
    ----------
    m : mapping
        One of :func:`lab_name_mismatches`.
    """
    labs = ", ".join(m["row_labs"])
    mixed = (f" (and {int(m['events_of_name_lab']):,} name {m['name_lab']})"
             if m.get("events_of_name_lab") else "")  # fmt: skip
    return (f"named for lab {m['name_lab']} but {int(m['events']):,} of its event(s) name "
            f"{labs}{mixed}: kept with the lab their rows name")  # fmt: skip


def lab_name_sentence(mismatches: Sequence[Mapping[str, Any]], shown: int = 10) -> str:
    """The limit sentence on files named for another lab than their rows' (``""``: none).

    Parameters
    ----------
    mismatches : sequence of mapping
        :func:`lab_name_mismatches` (``findings["accounting"]["lab_name_mismatches"]``).
    shown : int, default 10
        Files named; the rest counted.

    Returns
    -------
    str
        ``"1 file(s) named for one lab hold another lab's rows: AUDIT_L01_20240610.csv
        (named L01, 3 event(s) of L02): their events are counted with the lab their rows
        name, so the coverage and gaps of L01 (the lab in the file name) do not include
        them (...)"``.
    """
    if not mismatches:
        return ""
    parts = [f"{m['source_file']} (named {m['name_lab']}, {int(m['events']):,} event(s) of "
             f"{', '.join(m['row_labs'])})" for m in mismatches[:shown]]  # fmt: skip
    more = f"; and {len(mismatches) - shown:,} more" if len(mismatches) > shown else ""
    named = ", ".join(sorted({str(m["name_lab"]) for m in mismatches}))
    return (
        f"{len(mismatches):,} file(s) named for one lab hold another lab's rows: "
        + "; ".join(parts)
        + more
        + ": their events are counted with the lab their rows name, so the coverage and "
        f"gaps of {named} (the lab in the file name) do not include them (each file's "
        "note: findings.json, accounting)"
    )


def name_labs(files: Sequence[Any], jobs: Sequence[Any]) -> dict[str, str | None]:
    """``source_file`` -> the lab its name gives (None: none).

    Parameters
    ----------
    files : sequence of _File
        The recognised files: ``fr.name_lab`` (the reader's, from its profile's
        ``file_pattern``), ``job`` (index into ``jobs``).
    jobs : sequence of Job
        (path, source_file, reader, context).
    """
    return {jobs[f.job][1]: getattr(f.fr, "name_lab", None) for f in files}
