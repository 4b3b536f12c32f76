"""Pathways (step 4 of :mod:`labforensics.attribution`): candidates grouped by
(hypothesis, account kind, account, role, module, network)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..schema import STRING_LIST
from .context import _as_lists, _Context


def _fmt_ts(t: Any) -> str:
    return "?" if t is None or pd.isna(t) else pd.Timestamp(t).strftime("%Y-%m-%d %H:%M UTC")


_PATHWAY_COLS = [
    "pathway_id",
    "hypothesis",
    "account_kind",
    "account",
    "role",
    "module",
    "network",
    "n_labs",
    "labs",
    "n_sessions",
    "records",
    "leaked_explained",
    "share",
    "first",
    "last",
    "span_h",
    "max_score",
    "anomalous_volume",
    "volume_share",
    "failed_bursts",
    "labs_retrieved_outside",
    "signature",
]


def _pathways(
    ctx: _Context, cand: pd.DataFrame, assigned: pd.DataFrame, n_found: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if cand.empty:
        p = pd.DataFrame({c: [] for c in _PATHWAY_COLS})
        for col in ("labs", "labs_retrieved_outside"):
            p[col] = pd.Series([], dtype=STRING_LIST)
        return p, cand
    key = ["hypothesis", "account_kind", "account", "role", "module", "network"]
    c = cand.copy()
    for k in key:
        c[k] = c[k].astype("string").fillna("")
    m = ctx.matches
    leak_of = m[["lab", "patient", "leak_id"]]
    a = assigned.merge(leak_of, on=["lab", "patient"], how="left") if not assigned.empty else None
    sess_explains = (
        assigned.groupby("session_id").size() if not assigned.empty else pd.Series(dtype=int)
    )
    c["explains"] = c["session_id"].map(sess_explains).fillna(0).astype(int)
    # a pathway's volume at one lab is capped at that lab's patients
    per_lab = c.groupby([*key, "lab"], sort=True).agg(
        v=("anomalous_volume", "sum"), cap=("patients_lab", "first")
    )
    per_lab["v"] = np.minimum(per_lab["v"], per_lab["cap"])
    vol = per_lab.groupby(level=list(range(len(key))))["v"].sum()
    total_vol = float(vol.sum()) or 1.0
    groups = [
        _pathway_row(dict(zip(key, kv, strict=True)), g, a, n_found, float(vol.loc[kv]), total_vol)
        for kv, g in c.groupby(key, sort=True)
    ]
    p = pd.DataFrame(groups)
    p = p.sort_values(
        ["leaked_explained", "anomalous_volume", "records", *key],
        ascending=[False, False, False, *([True] * len(key))],
        kind="stable",
    ).reset_index(drop=True)
    p["pathway_id"] = [f"PW{i + 1:03d}" for i in range(len(p))]
    sid_to_pw = {s: pw for pw, sids in zip(p["pathway_id"], p["_sids"], strict=True) for s in sids}
    c["pathway_id"] = c["session_id"].astype(str).map(sid_to_pw).astype("string")
    p = p.drop(columns="_sids")[_PATHWAY_COLS]
    for col in ("labs", "labs_retrieved_outside"):
        p[col] = _as_lists(p[col])
    for col in ("first", "last"):
        p[col] = pd.to_datetime(p[col], utc=True).astype("datetime64[ns, UTC]")
    return p, c


def _pathway_row(
    d: dict[str, Any],
    g: pd.DataFrame,
    a: pd.DataFrame | None,
    n_found: int,
    vol: float,
    total_vol: float,
) -> dict[str, Any]:
    """One pathway's row: ``d`` its key values, ``g`` its candidates, ``a`` the
    assigned leaked patients with their ``leak_id`` (None when none were), ``vol`` its
    anomalous volume (capped per lab)."""
    sids = set(g["session_id"].astype(str))
    if a is not None:
        ex = a[a["session_id"].isin(sids)]["leak_id"].nunique()
    else:
        ex = 0
    first, last = g["start"].min(), g["end"].max()
    labs = sorted(set(g["lab"].astype(str)))
    rlabs = sorted(set(g.loc[g["retrieved_outside"].astype(bool), "lab"].astype(str)))
    span_h = (last - first).total_seconds() / 3600.0
    if len(labs) > 1:
        sig = (
            f"{d['account_kind']} account {d['account']!r} moved records at {len(labs)} labs "
            f"within {span_h:.1f} h"
        )
    else:
        sig = f"single {d['account_kind']} account {d['account']!r} at one lab ({labs[0]})"
    return {
        **d,
        "n_labs": len(labs),
        "labs": labs,
        "n_sessions": len(g),
        "records": int(g["records"].sum()),
        "leaked_explained": int(ex),
        "share": ex / n_found if n_found else np.nan,
        "first": first,
        "last": last,
        "span_h": span_h,
        "max_score": float(g["score"].astype(float).max()) if g["score"].notna().any() else np.nan,
        "anomalous_volume": vol,
        "volume_share": vol / total_vol,
        "failed_bursts": int(g["failed_burst"].astype(bool).sum()),
        "labs_retrieved_outside": rlabs,
        "signature": sig,
        "_sids": sids,
    }
