"""Counts of the exports and extractions per status, for ``findings.json`` and the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..schema import join_list
from .status import STATUSES

__all__ = ["exports_summary", "exports_view"]

#: ``beyond`` operations listed in ``findings["exports"]["beyond"]`` (all are in
#: ``exports.parquet``).
MAX_BEYOND_LISTED = 100


def exports_summary(exports: pd.DataFrame, *, register_given: bool) -> dict[str, Any]:
    """The ``exports`` key of ``findings.json``: counts only, no identifier.

    Parameters
    ----------
    exports : pandas.DataFrame
        :func:`labforensics.authorisation.assess_exports`'s table.
    register_given : bool
        Whether an authorisation register was given.

    Returns
    -------
    dict
        ``register`` (bool), ``operations`` (int), ``by_status`` (status -> count, every
        status of :data:`STATUSES`), ``records_by_status`` (status -> records),
        ``by_lab`` (lab -> status -> count, only statuses present), ``beyond`` (the
        first :data:`MAX_BEYOND_LISTED` ``beyond`` operations in evidence order:
        ``session_id``, ``lab``, ``account``, ``ts`` (UTC text), ``records``,
        ``nearest_ticket``, ``limits_crossed``; no patient identifier), ``note`` (text).
    """
    st = exports["status"].astype(str)
    rec = pd.to_numeric(exports["records"], errors="coerce").fillna(0).astype("int64")
    by_status = {s: int((st == s).sum()) for s in STATUSES}
    records = {s: int(rec[(st == s).to_numpy()].sum()) for s in STATUSES}
    by_lab: dict[str, dict[str, int]] = {}
    if len(exports):
        g = pd.DataFrame({"lab": exports["lab"].astype(str), "s": st}).value_counts()
        for (lab, s), c in sorted(g.items()):
            by_lab.setdefault(str(lab), {})[str(s)] = int(c)
    note = (
        "every export and extraction checked against the authorisation register"
        if register_given
        else "no authorisation register was given: authorised and unauthorised work "
        "cannot be told apart (every status unknown)"
    )
    b = exports[(st == "beyond").to_numpy()].head(MAX_BEYOND_LISTED)
    beyond = [
        {
            "session_id": str(r.session_id) if pd.notna(r.session_id) else None,
            "lab": str(r.lab),
            "account": str(r.account) if pd.notna(r.account) else None,
            "ts": pd.Timestamp(r.ts).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "records": int(r.records) if pd.notna(r.records) else None,
            "nearest_ticket": str(r.nearest_ticket) if pd.notna(r.nearest_ticket) else None,
            "limits_crossed": [str(x) for x in r.limits_crossed],
        }
        for r in b.itertuples(index=False)  # at most MAX_BEYOND_LISTED rows
    ]
    return {
        "register": bool(register_given),
        "operations": int(len(exports)),
        "beyond": beyond,
        "by_status": by_status,
        "records_by_status": records,
        "by_lab": dict(sorted(by_lab.items())),
        "note": note,
    }


#: Columns the report's table shows, with their headings.
VIEW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("status", "status"),
    ("when", "when (local, UTC)"),
    ("lab", "lab"),
    ("account", "account"),
    ("action", "action"),
    ("records", "records"),
    ("record_unit", "unit"),
    ("patients_named", "patients named"),
    ("eligible", "eligible (min–max)"),
    ("ticket", "ticket (nearest)"),
    ("limits", "limits crossed or undetermined"),
    ("output_file", "output file"),
)

_RANK = {s: i for i, s in enumerate(STATUSES)}
#: Rows shown per status other than ``beyond`` and ``undetermined`` (all shown).
MAX_ROUTINE_ROWS = 200


def exports_view(
    exports: pd.DataFrame | None,
    summary: dict[str, Any] | None,
    when: Callable[[Any], str],
) -> dict[str, Any] | None:
    """What the report's "Exports and extractions" section shows (plain strings).

    Rows: not-authorised statuses first (``beyond``, ``unregistered``,
    ``undetermined``), then ``authorised`` and ``unknown``, each in time order.

    Parameters
    ----------
    exports : pandas.DataFrame or None
        :func:`labforensics.authorisation.assess_exports`'s table (``ts`` UTC).
    summary : dict or None
        :func:`exports_summary` of that table.
    when : callable
        The report's formatter of an instant (local time with its zone and UTC beside,
        as every table of the report: ``2020-09-12 02:14 CEST (00:14 UTC)``), called
        with each operation's ``ts``; :func:`labforensics.report.html.make_formatter`
        of the case's zone, minutes only.

    Returns
    -------
    dict or None
        ``note``, ``counts``, ``total``, ``rows`` (one dict of strings per operation
        shown, keyed as :data:`VIEW_COLUMNS`), ``columns``, ``register``, ``left_out``;
        None without exports or summary.
    """
    if exports is None or summary is None:
        return None
    e = exports.reset_index(drop=True)
    rank = e["status"].astype(str).map(_RANK).fillna(9).to_numpy()
    order = np.lexsort((np.arange(len(e)), rank))
    e = e.iloc[order].reset_index(drop=True)
    # every beyond and undetermined operation; the first MAX_ROUTINE_ROWS of each other
    # status (a nightly backup over years is thousands of rows: exports.parquet has them)
    st = e["status"].astype(str)
    nth = st.groupby(st, sort=False).cumcount().to_numpy()
    keep = st.isin(["beyond", "undetermined"]).to_numpy() | (nth < MAX_ROUTINE_ROWS)
    left_out = {s: int(n) for s, n in st[~keep].value_counts().sort_index().items()}
    e = e[keep].reset_index(drop=True)
    ts = pd.to_datetime(e["ts"], utc=True)
    lim = join_list(e["limits_crossed"], "; ").fillna("")
    und = join_list(e["undetermined_limits"], "; ").fillna("")
    limits = np.where(und != "", np.where(lim != "", lim + "; ", "") + "undetermined: " + und, lim)

    def txt(v: Any) -> str:
        return "" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)

    def num(v: Any) -> str:
        return "" if v is None or v is pd.NA else f"{int(v):,}"

    rows = []
    for i in range(len(e)):  # one row per operation, for the HTML table
        lo, hi = e.at[i, "eligible_min"], e.at[i, "eligible_max"]
        elig = "" if lo is pd.NA else f"{num(lo)}–{num(hi) if hi is not pd.NA else '?'}"
        tk = txt(e.at[i, "ticket"])
        near = txt(e.at[i, "nearest_ticket"])
        rows.append(
            {
                "status": txt(e.at[i, "status"]),
                "when": "" if pd.isna(ts.iat[i]) else when(ts.iat[i]),
                "lab": txt(e.at[i, "lab"]),
                "account": txt(e.at[i, "account"]),
                "action": txt(e.at[i, "action"]),
                "records": num(e.at[i, "records"]),
                "record_unit": txt(e.at[i, "record_unit"]),
                "patients_named": num(e.at[i, "patients_named"]),
                "eligible": elig,
                "ticket": tk or (f"({near})" if near else ""),
                "limits": str(limits[i]),
                "output_file": txt(e.at[i, "output_file"]),
            }
        )
    counts = ", ".join(
        f"{summary['by_status'][s]:,} {s}" for s in STATUSES if summary["by_status"].get(s)
    )
    return {
        "note": summary["note"],
        "counts": counts or "none",
        "total": int(sum(summary["by_status"].values())),
        "rows": rows,
        "columns": list(VIEW_COLUMNS),
        "register": summary["register"],
        "left_out": ", ".join(f"{n:,} more {s}" for s, n in left_out.items()),
    }
