"""Reasons in words for scored rows.

A row's reasons are, in order: the reasons of the rules it fires (highest
weight first, then rule id), then the features that deviate most in the
standardised matrix the detectors saw (largest first, then column order),
phrased from the raw values with their units, for a reader who does not know the
column names, e.g. ``records exported or extracted: 3,800 records, 38 times the
median of accounts of the same role at this lab (100 records)``, ``new source
address for this account``, ``share of the lab's patients touched: 97%`` (a share
above 100 % is capped, with the reason).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..features import feature_spec
from ..schema import STRING_LIST
from .detectors import Standardized
from .rules import Rule, render_reason

__all__ = ["amount", "explain_rows", "phrase"]

#: Whose median a baseline compares with, in words.
_WHICH = {
    "_z_own": "this account's own history",
    "_z_peer_lab": "accounts of the same role at this lab",
    "_z_peer_role": "accounts of the same role at all labs",
}
#: Units of :data:`labforensics.features.FEATURE_SPECS` in words (after the number).
_UNIT_WORDS = {"records": "records", "patients": "patients", "days": "days",
               "events/min": "events per minute", "records/h": "records per hour"}  # fmt: skip


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "?"
    return f"{x:,.0f}" if abs(x) >= 10 or float(x).is_integer() else f"{x:.3g}"


def amount(col: str, x: float) -> str:
    """A feature's raw value with its unit in words: ``3 h 20 min``, ``3,800 records``.

    Parameters
    ----------
    col : str
        Base feature name (its unit from :func:`labforensics.features.feature_spec`).
    x : float
        The value in the feature's unit (seconds, records, bytes, counts ...).

    Returns
    -------
    str
    """
    if not np.isfinite(x):
        return "?"
    unit = feature_spec(col).unit
    if unit == "s":
        if x < 120:
            return f"{x:,.0f} s"
        if x < 7200:
            return f"{x / 60:,.0f} min"
        return f"{x // 3600:,.0f} h {(x % 3600) / 60:02.0f} min"
    if unit == "bytes":
        for div, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
            if abs(x) >= div:
                return f"{x / div:,.1f} {name}"
        return f"{x:,.0f} bytes"
    if unit == "share":
        return f"{min(x, 1.0):.0%}"
    words = _UNIT_WORDS.get(unit)
    return f"{_fmt(x)} {words}" if words else _fmt(x)


def _share(desc: str, x: float) -> str:
    """A share in words, capped at 100 % with the reason when above (counts of records
    over the patients seen so far can exceed it)."""
    if np.isfinite(x) and x > 1.0:
        return (f"{desc}: 100 % (capped: {100 * x:,.0f} % by count, more records than "
                "patients seen so far)")  # fmt: skip
    return f"{desc}: {x:.0%}" if np.isfinite(x) else f"{desc}: ?"


def phrase(col: str, row: dict[str, object], std: Standardized) -> str:
    """One feature's deviation in words, for one row, with its unit.

    Baselines read, e.g., "records exported or extracted: 3,800 records, 38 times
    the median of this account's own history (100 records)"; a share above 100 %
    is capped with the reason; a plain feature is compared with the median of
    every row scored.

    Parameters
    ----------
    col : str
        Feature column that the detectors saw.
    row : dict
        The row's keys and raw feature values.
    std : Standardized
        Centre and scale used for the column.

    Returns
    -------
    str
    """
    spec = feature_spec(col)
    x = row.get(col)
    x = float(x) if x is not None and not pd.isna(x) else float("nan")
    for suf in ("_z_own", "_z_peer_lab", "_z_peer_role", "_z"):
        if col.endswith(suf):
            base = col[: -len(suf)]
            desc = feature_spec(base).description or base.replace("_", " ")
            raw = float(row.get(base, np.nan))
            if suf == "_z":
                which = "its baseline"
                for s2, w in _WHICH.items():
                    if pd.notna(row.get(base + s2)):
                        which = w
                        break
                ref = float(row.get(base + "_ref", np.nan))
            else:
                which = _WHICH[suf]
                ref = float("nan")
            if np.isfinite(ref) and ref > 0 and raw / ref >= 2:
                return (f"{desc}: {amount(base, raw)}, {raw / ref:,.0f} times the median of "
                        f"{which} ({amount(base, ref)})")  # fmt: skip
            if np.isfinite(ref):
                return (f"{desc}: {amount(base, raw)}, where the median of {which} is "
                        f"{amount(base, ref)}")  # fmt: skip
            return (f"{desc}: {amount(base, raw)}, {x:,.1f} robust standard deviations above "
                    f"the median of {which}")  # fmt: skip
    if spec.unit == "flag":
        if col == "night" and row.get("start_local"):
            return f"activity at night (start {row['start_local']} local)"
        return spec.description or col
    desc = spec.description or col.replace("_", " ")
    if spec.unit == "share":
        return _share(desc, x)
    med = std.center.get(col, np.nan)
    return f"{desc}: {amount(col, x)}, where the median of all rows scored is {amount(col, med)}"


def explain_rows(
    frame: pd.DataFrame,
    std: Standardized,
    fired: dict[str, np.ndarray],
    rules: list[Rule],
    rows: np.ndarray,
    n_reasons: int,
    inherited: set[str] | None = None,
) -> pd.Series:
    """Reasons (a list each) for the selected rows; other rows get a missing list.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``(n_rows, ...)`` keys and raw feature values, plus ``start_local``.
    std : Standardized
        What the detectors saw (``std.X`` rows align with ``frame``).
    fired : dict
        Rule id -> ``(n_rows,)`` bool.
    rules : list[Rule]
    rows : numpy.ndarray
        Positions of the rows to explain (a loop per explained row: keep it to
        flagged and top-ranked rows).
    n_reasons : int
        Most reasons per row.
    inherited : set of str, optional
        Rule ids fired by one of the unit's sessions rather than by the unit.

    Returns
    -------
    pandas.Series
        :data:`~labforensics.schema.STRING_LIST` dtype, aligned with ``frame``: up
        to ``n_reasons`` phrases, ``["no deviation"]`` for an explained row with none.
    """
    cells: list[list[str] | None] = [None] * len(frame)
    by_id = {r.id: r for r in rules}
    order = sorted(fired, key=lambda rid: (-by_id[rid].weight, rid))
    inherited = inherited or set()
    vals = []
    records = frame.iloc[np.asarray(rows, dtype=np.int64)].to_dict("records") if len(rows) else []
    for i, row in zip(rows, records, strict=True):  # one per explained row (flagged or top-ranked)
        reasons = [
            f"{by_id[rid].description} (in one of its sessions)"
            if rid in inherited
            else render_reason(by_id[rid], row)
            for rid in order
            if fired[rid][i]
        ]
        if std.X.shape[1] and len(reasons) < n_reasons:
            xi = np.abs(std.X[i])
            top = np.argsort(-xi, kind="stable")
            for j in top:
                if len(reasons) >= n_reasons or xi[j] <= 0:
                    break
                reasons.append(phrase(std.columns[j], row, std))
        vals.append(reasons[:n_reasons] if reasons else ["no deviation"])
    for i, v in zip(rows, vals, strict=True):
        cells[int(i)] = v
    return pd.Series(pd.array(cells, dtype=STRING_LIST), index=frame.index)
