"""Baselines: one robust-scale helper (:func:`robust_z`) and the own-history and peer
z-scores it gives every metric of :data:`BASELINE_METRICS`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .params import FeatureParams
from .specs import BASELINE_METRICS, feature_spec

#: MAD to standard deviation under a normal distribution.
MAD_TO_SD = 1.4826


#: (q90 - median) and (q75 - median) to standard deviation under a normal distribution.
Q90_TO_SD = 1.2816


Q75_TO_SD = 0.6745


#: Least group size for the q90 upper spread (smaller groups use q75).
TAIL_MIN_COUNT = 20


def robust_z(
    x: pd.Series,
    groups: list[pd.Series] | None,
    min_scale: float,
    min_count: int = 1,
    tail_scale: bool = False,
) -> tuple[pd.Series, pd.Series]:
    """Robust z-score of ``x`` within groups, and the group median.

    ``z = (x - median) / max(1.4826 * MAD, min_scale)``; with ``tail_scale``
    the scale is ``max(1.4826 * MAD, upper spread, min_scale)``, the upper
    spread being ``(q90 - median) / 1.2816`` in groups of at least 20 values and
    ``(q75 - median) / 0.6745`` in smaller ones (one outlier cannot move either).
    All terms estimate one standard deviation on normal data; the upper spread
    keeps a bursty but habitual account (an interface whose sessions are cut by
    idle time) from looking extreme against its own tight median. ``NaN`` where the
    group has fewer than ``min_count`` non-missing values.

    Parameters
    ----------
    x : pandas.Series
        Values (float).
    groups : list of pandas.Series or None
        Group keys aligned with ``x``; ``None`` for one group.
    min_scale : float
        Floor of the scale, in the unit of ``x``.
    min_count : int
        Least group size for a defined z.
    tail_scale : bool
        Also use the upper spread ``(q90 - median) / 1.2816``.

    Returns
    -------
    (z, median) : tuple of pandas.Series (float64)
    """
    x = x.astype("float64")
    if groups is None:
        med = pd.Series(x.median(), index=x.index)
        mad = pd.Series((x - med).abs().median(), index=x.index)
        cnt = pd.Series(float(x.notna().sum()), index=x.index)
        q75 = pd.Series(x.quantile(0.75), index=x.index)
        q90 = pd.Series(x.quantile(0.9), index=x.index)
    else:
        g = x.groupby(groups, sort=False, dropna=False, observed=True)
        med = g.transform("median")
        cnt = g.transform("count")
        mad = (
            (x - med)
            .abs()
            .groupby(groups, sort=False, dropna=False, observed=True)
            .transform("median")
        )
        if tail_scale:
            q75 = g.transform("quantile", 0.75)
            q90 = g.transform("quantile", 0.9)
    scale = np.maximum(MAD_TO_SD * mad, min_scale)
    if tail_scale:
        # q90 only where the group is large enough that one outlier cannot move it
        tail = np.where(cnt >= TAIL_MIN_COUNT, (q90 - med) / Q90_TO_SD, (q75 - med) / Q75_TO_SD)
        scale = np.maximum(scale, tail)
    z = (x - med) / scale
    z = z.where(cnt >= min_count)
    return z.astype("float64"), med.where(cnt >= min_count).astype("float64")


def _codes(keys: list[pd.Series]) -> np.ndarray:
    """One integer code per distinct combination of the key columns (missing is a value)."""
    if len(keys[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    return (
        pd.DataFrame({i: k.to_numpy() for i, k in enumerate(keys)})
        .groupby(list(range(len(keys))), sort=False, dropna=False)
        .ngroup()
        .to_numpy()
    )


def _add_baselines(
    values: pd.DataFrame, keys: pd.DataFrame, unit: str, params: FeatureParams
) -> None:
    """Add ``m_z_own``, ``m_z_peer_lab``, ``m_z_peer_role``, ``m_z``, ``m_ref`` in place."""
    outbound = (values["records_out"] > 0).astype("int8")
    lab, acct, role = keys["lab"], keys["account"], keys["role"].fillna("?")
    groups = {  # integer codes: the strings are hashed once per grouping
        "own": [pd.Series(_codes([lab, acct, outbound]), index=values.index)],
        "peer_lab": [pd.Series(_codes([lab, role, outbound]), index=values.index)],
        "peer_role": [pd.Series(_codes([role, outbound]), index=values.index)],
    }
    k = params.min_history
    for m in BASELINE_METRICS[unit]:
        if m not in values:
            continue
        ms = feature_spec(m).min_scale
        zs, refs = {}, {}
        for g, gk in groups.items():
            zs[g], refs[g] = robust_z(values[m], gk, ms, k, tail_scale=True)
            values[f"{m}_z_{g}"] = zs[g]
        z = zs["own"].fillna(zs["peer_lab"]).fillna(zs["peer_role"])
        ref = refs["own"].where(
            zs["own"].notna(), refs["peer_lab"].where(zs["peer_lab"].notna(), refs["peer_role"])
        )
        values[f"{m}_z"] = z
        values[f"{m}_ref"] = ref
