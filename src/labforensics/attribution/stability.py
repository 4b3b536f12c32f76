"""One analysis run over a prepared context, and the stability reruns with each main
threshold halved and doubled."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from ..errors import ParameterError
from .candidates import _CAND_COLS, _assign, _candidates
from .context import _Context
from .params import AttributionParams
from .pathways import _pathways
from .propositions import _hypotheses, _verdict
from .windows import _windows

#: Thresholds varied by the stability check: name -> (low, high) clip.
_STABILITY_PARAMS: dict[str, tuple[float, float]] = {
    "censor_days": (0.0, math.inf),
    "window_margin_h": (0.0, math.inf),
    "records_tolerance": (0.0, 0.9),
    "partial_min_share": (0.0, 1.0),
    "failed_burst": (1.0, math.inf),
    "routine_days": (2.0, math.inf),
    "min_explained": (0.01, 1.0),
}


@dataclass
class _Run:
    verdict: str
    rule: str
    windows: pd.DataFrame
    candidates: pd.DataFrame
    pathways: pd.DataFrame
    hypotheses: pd.DataFrame
    assigned: pd.DataFrame
    n_found: int


def _analyse(ctx: _Context, params: AttributionParams) -> _Run:
    windows = _windows(ctx, params)
    cand = _candidates(ctx, windows, params)
    assigned = (
        _assign(ctx, cand)
        if ctx.leak is not None
        else pd.DataFrame({"lab": [], "patient": [], "session_id": []}, dtype="string")
    )
    n_found = int(ctx.matches["leak_id"].nunique()) if ctx.leak is not None else 0
    pathways, cand = _pathways(ctx, cand, assigned, n_found)
    hyp = _hypotheses(ctx, cand, pathways, assigned, windows, n_found, params)
    verdict, rule = _verdict(ctx, hyp, assigned, windows, cand, n_found, params)
    cand = (
        cand[[c for c in _CAND_COLS if c in cand.columns]]
        if not cand.empty
        else pd.DataFrame({k: [] for k in _CAND_COLS})
    )
    return _Run(verdict, rule, windows, cand, pathways, hyp, assigned, n_found)


def _stability(ctx: _Context, params: AttributionParams, base: _Run) -> pd.DataFrame:
    rows = []
    for name, (lo, hi) in _STABILITY_PARAMS.items():
        for factor in (0.5, 2.0):
            v = getattr(params, name) * factor
            v = min(max(v, lo), hi)
            if name in ("failed_burst", "routine_days"):
                v = int(round(v))
            try:
                p = replace(params, **{name: v}, stability=False)
            except ParameterError:
                continue
            r = _analyse(ctx, p)
            top = r.hypotheses.sort_values(["share", "hypothesis"], ascending=[False, True])
            rows.append(
                {
                    "param": name,
                    "factor": factor,
                    "value": float(v),
                    "verdict": r.verdict,
                    "top_hypothesis": top["hypothesis"].iloc[0],
                    "top_share": float(top["share"].iloc[0]),
                    "agrees": r.verdict == base.verdict,
                }
            )
    return pd.DataFrame(
        rows,
        columns=["param", "factor", "value", "verdict", "top_hypothesis", "top_share", "agrees"],
    )
