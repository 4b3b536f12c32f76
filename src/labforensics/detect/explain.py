"""Reasons in words for scored rows.

A row's reasons are, in order: the reasons of the rules it fires (highest
weight first, then rule id), then the features that deviate most in the
standardised matrix the detectors saw (largest first, then column order),
phrased from the raw values, e.g. ``records_out 38x the peer median (3,800 vs
100)``, ``new source address for this account``, ``share of the lab's patients
touched: 97%``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..features import feature_spec
from ..schema import STRING_LIST
from .detectors import Standardized
from .rules import Rule, render_reason

__all__ = ["explain_rows", "phrase"]

_WHICH = {
    "_z_own": "own-history",
    "_z_peer_lab": "peer (same role, same lab)",
    "_z_peer_role": "peer (same role, all labs)",
}


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "?"
    return f"{x:,.0f}" if abs(x) >= 10 or float(x).is_integer() else f"{x:.3g}"


def phrase(col: str, row: dict[str, object], std: Standardized) -> str:
    """One feature's deviation in words, for one row.

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
            raw = float(row.get(base, np.nan))
            if suf == "_z":
                which = "baseline"
                for s2, w in _WHICH.items():
                    if pd.notna(row.get(base + s2)):
                        which = w
                        break
                ref = float(row.get(base + "_ref", np.nan))
            else:
                which = _WHICH[suf]
                ref = float("nan")
            if np.isfinite(ref) and ref > 0:
                return f"{base} {raw / ref:,.0f}x the {which} median ({_fmt(raw)} vs {_fmt(ref)})"
            if np.isfinite(ref):
                return f"{base} {_fmt(raw)} where the {which} median is {_fmt(ref)}"
            return f"{base} {_fmt(raw)} ({x:,.1f} robust SD above the {which} median)"
    if spec.unit == "flag":
        if col == "night" and row.get("start_local"):
            return f"activity at night (start {row['start_local']} local)"
        return spec.description or col
    if spec.unit == "share":
        return f"{spec.description or col}: {x:.0%}"
    med, sc = std.center.get(col, np.nan), std.scale.get(col, np.nan)
    z = (x - med) / sc if sc else np.nan
    return f"{col} = {_fmt(x)} ({z:,.1f} robust SD from the median {_fmt(med)})"


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
