"""Baselines: one robust-scale helper (:func:`robust_z`) and the own-history and peer
z-scores it gives every metric of :data:`BASELINE_METRICS`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._keycodes import group_codes
from .params import FeatureParams
from .specs import BASELINE_METRICS, feature_spec

#: MAD to standard deviation under a normal distribution.
MAD_TO_SD = 1.4826


#: (q90 - median) and (q75 - median) to standard deviation under a normal distribution.
Q90_TO_SD = 1.2816


Q75_TO_SD = 0.6745


#: Least group size for the q90 upper spread (smaller groups use q75).
TAIL_MIN_COUNT = 20

#: Metrics also given ``m_z_own_any`` (own history only: same activity, else every
#: activity), in every unit.
OWN_ANY_METRICS: tuple[str, ...] = ("records_out",)


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
    return group_codes(*keys)


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    """Median of ``x`` with weights ``w``: the value where the cumulated weight reaches
    half the total, the mean of two neighbours when it falls exactly between them."""
    o = np.argsort(x, kind="stable")
    xs, cw = x[o], np.cumsum(w[o])
    half = cw[-1] / 2.0
    i = int(np.searchsorted(cw, half))
    if np.isclose(cw[i], half) and i + 1 < len(xs):
        return float((xs[i] + xs[i + 1]) / 2.0)
    return float(xs[i])


def lab_summaries(x: pd.Series, lab: pd.Series, peer: pd.Series) -> pd.DataFrame:
    """Per-lab summary of a metric per peer group: what one lab hands up.

    Parameters
    ----------
    x : pandas.Series of float64, shape (n,)
        The metric per unit.
    lab, peer : pandas.Series, shape (n,)
        The unit's lab, and its peer group code (role and activity).

    Returns
    -------
    pandas.DataFrame
        One row per (lab, peer) with at least one value: ``lab``, ``peer``, ``n``
        (count), ``median``, ``mad`` (median absolute deviation), ``tail`` (upper
        spread in SD units: ``(q90 - median) / 1.2816`` from 20 values, else
        ``(q75 - median) / 0.6745``).
    """
    d = pd.DataFrame({"lab": lab.to_numpy(), "peer": peer.to_numpy(), "x": x.to_numpy()})
    d = d[d["x"].notna()]
    g = d.groupby(["lab", "peer"], sort=True, dropna=False)["x"]
    out = pd.DataFrame({"n": g.size(), "median": g.median()})
    d["dev"] = np.abs(d["x"] - g.transform("median"))
    out["mad"] = d.groupby(["lab", "peer"], sort=True, dropna=False)["dev"].median()
    q75, q90 = g.quantile(0.75), g.quantile(0.9)
    out["tail"] = np.where(
        out["n"] >= TAIL_MIN_COUNT,
        (q90 - out["median"]) / Q90_TO_SD,
        (q75 - out["median"]) / Q75_TO_SD,
    )
    return out.reset_index()


def cross_lab_z(
    x: pd.Series, peer: pd.Series, summaries: pd.DataFrame, min_scale: float, min_count: int
) -> tuple[pd.Series, pd.Series]:
    """Robust z of ``x`` against its peer group across labs, from per-lab summaries only.

    The cross-lab median is the median of the labs' medians weighted by their counts;
    the scale is ``max(1.4826 * weighted median of the labs' MADs, weighted median of
    their upper spreads, 1.4826 * MAD of the labs' medians, min_scale)``: the spread
    within a lab, its upper tail, and the spread between labs. No unit-level data
    crosses a lab boundary, so each lab's stage can run alone and hand up
    :func:`lab_summaries`. ``NaN`` where the group has fewer than ``min_count``
    values in all.

    Returns
    -------
    (z, median) : tuple of pandas.Series (float64), aligned with ``x``
    """
    rows = []
    for p, grp in summaries.groupby("peer", sort=True, dropna=False):  # one per peer group
        w = grp["n"].to_numpy(dtype="float64")
        med = _weighted_median(grp["median"].to_numpy(dtype="float64"), w)
        between = float(np.median(np.abs(grp["median"].to_numpy() - np.median(grp["median"]))))
        scale = max(
            MAD_TO_SD * _weighted_median(grp["mad"].to_numpy(dtype="float64"), w),
            _weighted_median(grp["tail"].to_numpy(dtype="float64"), w),
            MAD_TO_SD * between,
            min_scale,
        )
        rows.append((p, med, scale, float(w.sum())))
    tab = pd.DataFrame(rows, columns=["peer", "med", "scale", "n"]).set_index("peer")
    med = peer.map(tab["med"]).astype("float64")
    scale = peer.map(tab["scale"]).astype("float64")
    ok = peer.map(tab["n"]).astype("float64") >= min_count
    z = ((x - med) / scale).where(ok)
    return z.astype("float64"), med.where(ok).astype("float64")


def _add_baselines(
    values: pd.DataFrame, keys: pd.DataFrame, unit: str, params: FeatureParams
) -> None:
    """Add ``m_z_own``, ``m_z_peer_lab``, ``m_z_peer_role``, ``m_z_own_all``, ``m_z``,
    ``m_ref`` in place.

    ``m_z_own``, ``m_z_peer_lab`` and ``m_z_own_all`` use one lab's units only;
    ``m_z_peer_role`` (same role, every lab) is computed from per-lab summaries
    (:func:`lab_summaries`, :func:`cross_lab_z`), never from pooled unit rows, so the
    stage can later run lab by lab and hand up only those summaries.

    The first three compare a unit with units of the same activity (records sent out
    or not). ``m_z_own_all`` compares it with *every* unit of the account, whatever
    its activity, and is the last fallback of ``m_z``: used only where no group of
    the same activity has ``min_history`` units (an account's first export, when no
    colleague of its role exports either). Without it such a unit had no baseline at
    all, its ``*_z`` was missing, the detectors read 0 ("constant") and a
    5,000-record export by an interface account that had sent nothing out for 13
    days scored "no deviation" (qa17 c08, shared case 008 b). Against the account's
    own units the median export is 0, so the volume itself is the deviation, scaled
    by the metric's minimum scale (10 records): "never did this" is what the
    account's own history says. No threshold is involved.
    """
    outbound = (values["records_out"] > 0).astype("int8")
    lab, acct, role = keys["lab"], keys["account"], keys["role"].fillna("?")
    groups = {  # integer codes: the strings are hashed once per grouping
        "own": [pd.Series(_codes([lab, acct, outbound]), index=values.index)],
        "peer_lab": [pd.Series(_codes([lab, role, outbound]), index=values.index)],
        "own_all": [pd.Series(_codes([lab, acct]), index=values.index)],
    }
    peer = pd.Series(_codes([role, outbound]), index=values.index)
    k = params.min_history
    for m in BASELINE_METRICS[unit]:
        if m not in values:
            continue
        ms = feature_spec(m).min_scale
        zs, refs = {}, {}
        for g, gk in groups.items():
            zs[g], refs[g] = robust_z(values[m], gk, ms, k, tail_scale=True)
            values[f"{m}_z_{g}"] = zs[g]
        summ = lab_summaries(values[m].astype("float64"), lab.astype("object"), peer)
        zs["peer_role"], refs["peer_role"] = cross_lab_z(
            values[m].astype("float64"), peer, summ, ms, k
        )
        values[f"{m}_z_peer_role"] = zs["peer_role"]
        z = zs["own"].fillna(zs["peer_lab"]).fillna(zs["peer_role"]).fillna(zs["own_all"])
        ref = refs["own"].where(
            zs["own"].notna(),
            refs["peer_lab"].where(
                zs["peer_lab"].notna(),
                refs["peer_role"].where(zs["peer_role"].notna(), refs["own_all"]),
            ),
        )
        values[f"{m}_z"] = z
        values[f"{m}_ref"] = ref
        if m in OWN_ANY_METRICS:
            values[f"{m}_z_own_any"] = zs["own"].fillna(zs["own_all"])
            values[f"{m}_own_median"] = refs["own"].where(zs["own"].notna(), refs["own_all"])
