"""The plan of a generation: lab identities, migration dates, where each incident happens."""

from __future__ import annotations

import datetime as dt

import numpy as np

from .clock import day_number
from .incidents import is_change_day
from .model import Block, ev_take, luhn_digit

__all__ = ["plan_labs", "remove_overlaps"]


def plan_labs(
    labs: int, d0: int, d1: int, seed: int, incidents: tuple[str, ...], hostile: bool
) -> dict:
    """Lab identities, migration dates and where each incident happens."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0])))
    span = d1 - d0
    lo = max(day_number(dt.date(2018, 1, 1)), d0 + span // 4)
    hi = min(day_number(dt.date(2020, 10, 31)), d1 - max(1, span // 8))
    if hi <= lo:
        lo, hi = d0 + int(span * 0.3), d0 + int(span * 0.85)
    hi = max(hi, lo + 1)
    mig = lo + ((hi - lo) * (np.arange(labs) + rng.random(labs)) / labs).astype(np.int64)
    mig = mig[rng.permutation(labs)]
    sizes = np.clip(rng.lognormal(0.0, 0.4, labs), 0.4, 2.5)
    deps = ("22", "29", "35", "44", "56", "75", "69", "13", "33", "59")
    out_labs = []
    for i in range(labs):
        k = i + 1
        body = deps[int(rng.integers(len(deps)))] + "0" + f"{int(rng.integers(0, 100000)):05d}"
        out_labs.append(
            {
                "k": k,
                "code": f"L{k:02d}",
                "finess": body + luhn_digit(body),
                "size": float(sizes[i]),
                "n_sites": 1 + int(sizes[i] > 1.0) + int(sizes[i] > 1.6),
                "migration": int(mig[i]),
                "a_day": None,
                "b": False,
                "c": False,
                "d": False,
                "hostile": False,
            }
        )
    if "a" in incidents:
        elig = []
        for lp in out_labs:
            day = lp["migration"] - int(rng.integers(3, 21))
            while is_change_day(day):
                day -= 1
            if day >= d0 + 1 and lp["migration"] <= d1:
                elig.append((lp, day))
        n_a = max(1, round(0.8 * len(elig))) if elig else 0
        for j in sorted(rng.permutation(len(elig))[:n_a].tolist()):
            elig[j][0]["a_day"] = elig[j][1]
    perm = rng.permutation(labs).tolist()
    pos = 0
    for kind, n in (("b", 1 if labs < 4 else 2), ("c", 1), ("d", 1)):
        if kind not in incidents:
            continue
        for _ in range(n):
            out_labs[perm[pos % labs]][kind] = True
            pos += 1
    if hostile:
        out_labs[0]["hostile"] = True
        out_labs[-1]["hostile"] = True
    return {"labs": out_labs}


def remove_overlaps(ev: Block, windows: list[tuple[int, int, int]], margin: int = 2100) -> Block:
    """Drop routine sessions of an account that come within ``margin`` s of its explicit sessions."""
    if not windows or not len(ev["t"]):
        return ev
    sess = ev["sess"]
    ns = int(sess.max()) + 1
    tmin = np.full(ns, np.iinfo(np.int64).max)
    tmax = np.full(ns, np.iinfo(np.int64).min)
    np.minimum.at(tmin, sess, ev["t"])
    np.maximum.at(tmax, sess, ev["t"])
    s_acc = np.zeros(ns, np.int64)
    s_acc[sess] = ev["acc"]
    bad = np.zeros(ns, bool)
    for acc, w0, w1 in windows:
        bad |= (s_acc == acc) & (tmax >= w0 - margin) & (tmin <= w1 + margin)
    return ev_take(ev, ~bad[sess])
