"""Candidate sessions (step 3 of :mod:`labforensics.attribution`): sessions near a
lab's window big enough to hold its leak, ranked, with their hypothesis; and the
crediting of each lab's leaked patients to them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .context import _as_lists, _Context
from .linking import fetched_outside
from .params import AttributionParams


def _candidate_features(ctx: _Context, c: pd.DataFrame, params: AttributionParams) -> pd.DataFrame:
    """Transfer flags and hypothesis of each candidate (features precomputed in _prepare).

    Hypothesis of a session (first rule that applies):

    - ``external``: a burst of >= ``failed_burst`` failed logins before it, or an
      outbound address outside the lab and vendor networks (``network`` ``other``;
      for a vendor account only when the case gives vendor networks, since
      otherwise its own addresses cannot be told from an outsider's);
    - ``vendor``: a vendor account (kind ``vendor`` or role ``EDITEUR``) or an
      address in the vendor networks;
    - ``insider``: anything else (a lab account from a lab or local address).
    """
    nets = ctx.nets
    assert nets is not None
    out = c.copy()
    links = ctx.links
    ext = links[fetched_outside(links)] if not links.empty else links
    if len(ext):  # each fetch credited to one export of its file's name (.linking)
        fetched = ext.groupby("session_id")["remote_host"].agg(lambda s: sorted(set(s.astype(str))))
        out["fetched_outside_by"] = _as_lists(out["session_id"].map(fetched))
    else:
        out["fetched_outside_by"] = _as_lists(pd.Series(None, index=out.index, dtype=object))
    out["retrieved_outside"] = out["fetched_outside_by"].list.len().to_numpy() > 0
    burst = out["failed_logins_before"] >= params.failed_burst
    kind = out["account_kind"].astype(str)
    role = out["role"].fillna("").astype(str)
    vendorish = (kind == "vendor") | (role == "EDITEUR") | (out["network"] == "vendor")
    outside = out["network"] == "other"
    if not nets.vendor:
        outside = outside & ~((kind == "vendor") | (role == "EDITEUR"))
    hyp = np.where(burst | outside, "external", np.where(vendorish, "vendor", "insider"))
    out["failed_burst"] = burst.to_numpy()
    out["hypothesis"] = pd.Series(hyp, index=out.index, dtype="string")
    return out


def _rank_candidates(c: pd.DataFrame, by_fit: bool) -> pd.DataFrame:
    keys = (["rank_value", "fit"] if by_fit else ["anomalous_volume"]) + ["score", "records"]
    c = c.assign(_s=c["score"].astype(float).fillna(-np.inf))
    k = [x if x != "score" else "_s" for x in keys]
    c = c.sort_values(
        k + ["start", "session_id"], ascending=[False] * len(k) + [True, True], kind="stable"
    )
    c = c.drop(columns="_s").reset_index(drop=True)
    c.insert(0, "candidate_rank", np.arange(1, len(c) + 1))
    return c


_CAND_COLS = [
    "candidate_rank",
    "lab",
    "session_id",
    "account",
    "account_kind",
    "role",
    "module",
    "network",
    "src_ips",
    "start",
    "end",
    "records_exported",
    "records_extracted",
    "records",
    "n_leaked_lab",
    "capacity",
    "holds",
    "distance_h",
    "in_window",
    "fit",
    "anomaly",
    "pathway_days",
    "routine",
    "leak_ids_lab",
    "size_ratio",
    "rank_value",
    "touched_leaked",
    "score",
    "score_rank",
    "patients_lab",
    "anomalous_volume",
    "failed_logins_before",
    "failed_burst",
    "new_source",
    "concurrent_sessions",
    "hypothesis",
    "pathway_id",
    "explains",
    "output_files",
    "retrieved_outside",
    "fetched_outside_by",
    "n_evidence_rows",
    "evidence",
]


def _candidates(ctx: _Context, windows: pd.DataFrame, params: AttributionParams) -> pd.DataFrame:
    ss = ctx.sessions
    if ctx.leak is None:
        c = ss.copy()
        c["n_leaked_lab"] = 0
        c["capacity"] = np.nan
        c["holds"] = pd.array([pd.NA] * len(c), dtype="boolean")
        c["distance_h"] = np.nan
        c["in_window"] = pd.array([pd.NA] * len(c), dtype="boolean")
        c["fit"] = np.nan
    else:
        if windows.empty:
            return pd.DataFrame({k: [] for k in _CAND_COLS})
        w = windows[["lab", "n_leaked", "after", "before", "evidence_start"]]
        c = ss.merge(w, on="lab", how="inner")
        lo = c["after"].fillna(c["evidence_start"])
        hi = c["before"]
        gap_lo = (lo - c["end"]).dt.total_seconds().clip(lower=0) / 3600.0
        gap_hi = ((c["start"] - hi).dt.total_seconds().clip(lower=0) / 3600.0).fillna(0.0)
        c["distance_h"] = np.maximum(gap_lo.to_numpy(), gap_hi.to_numpy())
        c["in_window"] = c["distance_h"] == 0
        c["n_leaked_lab"] = c["n_leaked"].astype(int)
        c["capacity"] = c["records"] / c["n_leaked_lab"].clip(lower=1)
        keep = (c["distance_h"] <= params.window_margin_h) & (
            c["records"] >= params.partial_min_share * c["n_leaked_lab"]
        )
        c = c[keep].copy()
        c["holds"] = c["records"] >= (1.0 - params.records_tolerance) * c["n_leaked_lab"]
        cap = np.minimum(1.0, c["capacity"] / (1.0 - params.records_tolerance))
        c["fit"] = cap * (1.0 / (1.0 + c["distance_h"] / 24.0))
        c = c.drop(columns=["n_leaked", "after", "before", "evidence_start"])
    if c.empty:
        return pd.DataFrame({k: [] for k in _CAND_COLS})
    c = _candidate_features(ctx, c, params)
    c["routine"] = c["pathway_days"] >= params.routine_days
    lid = ctx.leak_ids_by_lab
    c["leak_ids_lab"] = c["lab"].map(lid).astype("Int64") if len(lid) else pd.NA
    c["size_ratio"] = c["records"] / c["leak_ids_lab"].astype("Float64")
    # patient-equivalents: a session cannot move more patients than its lab has, however
    # many rows (results, requests) it writes; weighted by how anomalous it is
    npat = ctx.patients.groupby("lab").size()
    c["patients_lab"] = c["lab"].map(npat).fillna(0).astype("int64")
    c["anomalous_volume"] = np.where(
        c["routine"], 0.0, np.minimum(c["records"], c["patients_lab"]) * c["anomaly"]
    )
    if ctx.leak is not None:
        c["rank_value"] = c["fit"] * (0.5 + 0.5 * c["anomaly"])
    c["score_rank"] = c["rank"]
    # leaked patients the session's own events name (identity overlap, when the log has it)
    c["touched_leaked"] = c["session_id"].map(ctx.touched).fillna(0).astype("int64")
    c = _rank_candidates(c, by_fit=ctx.leak is not None)
    c["pathway_id"] = pd.Series(pd.NA, index=c.index, dtype="string")
    c["explains"] = 0
    return c


def _assign(ctx: _Context, cand: pd.DataFrame) -> pd.DataFrame:
    """Explain each lab's leaked patients: rows ``lab``, ``patient``, ``session_id``."""
    rows = []
    if cand.empty or ctx.matches.empty:
        return pd.DataFrame({"lab": [], "patient": [], "session_id": []}, dtype="string")
    m = ctx.matches.drop_duplicates(["lab", "patient"]).sort_values(
        ["lab", "first_seen", "patient"], kind="stable"
    )
    by_lab = {lab: g["patient"].to_numpy(dtype=object) for lab, g in m.groupby("lab", sort=True)}
    for lab, g in cand.groupby("lab", sort=True):
        pts = by_lab.get(lab)
        if pts is None:
            continue
        g = g[~g["routine"].astype(bool)].sort_values("candidate_rank")
        holding = g[g["holds"].astype(bool)]
        if not holding.empty:
            rows.append(
                pd.DataFrame(
                    {"lab": lab, "patient": pts, "session_id": holding["session_id"].iloc[0]}
                )
            )
            continue
        pos = 0
        for sid, rec in zip(g["session_id"], g["records"], strict=True):
            if pos >= len(pts):
                break
            take = pts[pos : pos + int(rec)]
            rows.append(pd.DataFrame({"lab": lab, "patient": take, "session_id": sid}))
            pos += len(take)
    if not rows:
        return pd.DataFrame({"lab": [], "patient": [], "session_id": []}, dtype="string")
    return pd.concat(rows, ignore_index=True).astype("string")
