"""The patient-index and dump lines a linkage did not use, as quarantine rows.

:func:`labforensics.leak.patients.read_patient_index` and
:func:`labforensics.leak.dump.read_dump` account for every line they read
(``report["lines"]``) and list each line not used in ``rejected`` (file, line,
reason: malformed, no IPP, no lab, IPP already seen, duplicate row, no person
field). :func:`leak_quarantine` turns both lists into rows of ``quarantine.csv``
(the evidence's quarantine columns), so that every input line not used is
accounted for with its file, line and reason next to the evidence's. Only the
reason and the line number are written: the ``raw`` column is empty, as the
rows of an index or a dump hold names, birth dates and NIRs. The lines of a leaked
identifier list set aside by :func:`labforensics.leak.reader.read_leak` (malformed, empty
or invalid identifier: its ``leak_report``) join them (:func:`list_quarantine`), prefixed
``"leak list: "``.
:func:`leak_input_checks` gives the counts the report states beside them (lines
set aside; NIRs and birth dates written but unreadable, read as missing).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from labforensics import schema
from labforensics.ingest.accounting import QUARANTINE_COLUMNS

__all__ = ["leak_input_checks", "leak_quarantine", "list_quarantine", "with_leak_quarantine"]

#: Role prefix of each reader's reasons in ``quarantine.csv``.
_ROLES = (("index", "patient index"), ("dump", "dump"))


def leak_quarantine(linked: Any) -> pd.DataFrame:
    """Quarantine rows for the index and dump lines a linkage did not use.

    Parameters
    ----------
    linked : LeakLinkage or None
        :class:`labforensics.leak.horizon.LeakLinkage` (its ``index`` and ``dump``
        carry ``rejected``: ``source_file``, ``source_line``, ``reason``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~labforensics.ingest.accounting.QUARANTINE_COLUMNS`
        (``source_file`` string, ``source_line`` Int64, ``reason`` string
        prefixed ``"patient index: "`` or ``"dump: "``, ``raw`` all NA), the
        index's lines first then the dump's, each in (file, line) order. Empty
        (the same columns) for None.
    """
    parts = []
    for attr, role in _ROLES:
        rej = getattr(getattr(linked, attr, None), "rejected", None)
        if rej is None or len(rej) == 0:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "source_file": rej["source_file"].astype(schema.STRING),
                    "source_line": rej["source_line"].astype("Int64"),
                    "reason": (role + ": " + rej["reason"].astype(str)).astype(schema.STRING),
                    "raw": pd.Series(pd.NA, index=rej.index, dtype=schema.STRING),
                }
            )
        )
    if not parts:
        return _empty()
    return pd.concat(parts, ignore_index=True)[list(QUARANTINE_COLUMNS)]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_file": pd.Series([], dtype=schema.STRING),
            "source_line": pd.Series([], dtype="Int64"),
            "reason": pd.Series([], dtype=schema.STRING),
            "raw": pd.Series([], dtype=schema.STRING),
        }
    )


def list_quarantine(leak_report: Any) -> pd.DataFrame:
    """Quarantine rows for the lines of a leaked identifier list set aside.

    Parameters
    ----------
    leak_report : dict or None
        ``read_leak``'s report (``source_file``, ``rejected``: ``{"line", "reason"}``,
        at most ``LEAK_REJECTED_LISTED``), as an attribution keeps it.

    Returns
    -------
    pandas.DataFrame
        :func:`leak_quarantine`'s columns, reasons prefixed ``"leak list: "``, ``raw``
        all NA (an identifier is never written); empty without a report or a file.
    """
    rep = leak_report if isinstance(leak_report, dict) else {}
    rej = [r for r in rep.get("rejected") or [] if isinstance(r, dict)]
    if not rej or not rep.get("source_file"):
        return _empty()
    n = len(rej)
    return pd.DataFrame(
        {
            "source_file": pd.Series([str(rep["source_file"])] * n, dtype=schema.STRING),
            "source_line": pd.Series([int(r["line"]) for r in rej], dtype="Int64"),
            "reason": pd.Series([f"leak list: {r['reason']}" for r in rej], dtype=schema.STRING),
            "raw": pd.Series([pd.NA] * n, dtype=schema.STRING),
        }
    )[list(QUARANTINE_COLUMNS)]


def with_leak_quarantine(
    quarantine: pd.DataFrame, linked: Any, attribution: Any = None
) -> pd.DataFrame:
    """The evidence's quarantine followed by :func:`leak_quarantine` and, for a leaked
    identifier list, :func:`list_quarantine` of ``attribution.leak_report`` (same
    columns)."""
    parts = [leak_quarantine(linked)]
    if linked is None:  # a dump's rows are the linkage's (leak_quarantine)
        parts.append(list_quarantine(getattr(attribution, "leak_report", None)))
    extra = pd.concat([p for p in parts if not p.empty] or [_empty()], ignore_index=True)
    if extra.empty:
        return quarantine
    return pd.concat([quarantine, extra.astype(quarantine.dtypes.to_dict())], ignore_index=True)


def leak_input_checks(linked: Any) -> dict[str, dict[str, int]]:
    """Per reader, the lines set aside and the values read as missing.

    Returns
    -------
    dict
        ``{"patient_index": {...}, "dump": {...}}``, each with ``lines``,
        ``lines_set_aside`` (rows of :func:`leak_quarantine`), ``nir_invalid``
        (a NIR written but invalid: read as missing), ``birth_date_invalid``
        (a part of the date impossible: that part dropped) and
        ``birth_date_unreadable`` (no date read). Counts only, never a value.
    """
    out: dict[str, dict[str, int]] = {}
    for attr, role in _ROLES:
        r = getattr(linked, attr, None)
        if r is None:
            continue
        rep = r.report or {}
        dates = rep.get("dates", {}).get("birth_date", {})
        out[role.replace(" ", "_")] = {
            "lines": int(rep.get("lines", {}).get("lines", 0)),
            "lines_set_aside": int(len(r.rejected)),
            "nir_invalid": int(rep.get("nir", {}).get("invalid", 0)),
            "birth_date_invalid": int(dates.get("invalid", 0)),
            "birth_date_unreadable": int(dates.get("unreadable", 0)),
        }
    return out
