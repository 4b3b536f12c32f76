"""Benchmark of the leak linkage (issue 13): a script, not a test.

Generates (vectorised, tests/leak/gen_people.py, in the frame shape of
LEAK-CONTRACT.md) a dump against patient indexes, then runs the linkage with its
decoy linkage and today's exact-NIR baseline, and prints: comparisons per
blocking rule, time per phase, peak memory (RSS of the process tree, sampled
every 0.2 s) against the targets (< 10 min, < 6 GiB), precision / recall per
class from the generator's truth, and the estimated vs true not-indexed
false-match rate per threshold.

Reading the files is not timed here: the readers are another module's
(wt-leakread); add their time when both are merged.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/linkage.py --index 1500000 --dump 500000 --labs 30
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "leak"))
from gen_people import evaluate, make_case

from labforensics.leak.linkage import LinkageParams, link_dump

TARGET_SECONDS = 600
TARGET_BYTES = 6 * 1024**3


class PeakRSS:
    """Peak RSS of this process and its children, sampled in a thread."""

    def __init__(self, period: float = 0.2) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period,), daemon=True)

    def _run(self, period: float) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(period)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def exact_nir_baseline(index: pd.DataFrame, dump: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Today's method: every index patient sharing the dump row's NIR is credited."""
    pairs = (
        dump[["record_id", "nir"]]
        .dropna()
        .merge(index[["record_id", "nir"]].dropna(), on="nir", suffixes=("_d", "_i"))
    )
    t = truth.set_index("row_id")
    recs = pairs["record_id_d"].map(t["records"]).fillna("")
    ok = np.array([p in r.split("|") for p, r in zip(pairs["record_id_i"], recs, strict=True)])
    rows_ok = pairs.loc[ok, "record_id_d"].nunique()
    return {
        "credited_pairs": len(pairs),
        "rows_matched": int(pairs["record_id_d"].nunique()),
        "precision": float(ok.mean()) if len(pairs) else float("nan"),
        "recall": rows_ok / max(int(truth["indexed"].sum()), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=int, default=150_000)
    ap.add_argument("--dump", type=int, default=50_000)
    ap.add_argument("--labs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--memory-gib", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    with PeakRSS() as rss:
        t0 = time.perf_counter()
        index, dump, truth = make_case(args.index, args.dump, args.labs, seed=args.seed)
        t_gen = time.perf_counter() - t0
        print(f"generated {len(index):,} index records, {len(dump):,} dump rows in {t_gen:.1f} s")
        t1 = time.perf_counter()
        params = LinkageParams(
            memory_budget_bytes=int(args.memory_gib * 1024**3), threads=args.threads
        )
        res = link_dump(index, dump, seed=args.seed, params=params)
        t_link = time.perf_counter() - t1
        t2 = time.perf_counter()
        base = exact_nir_baseline(index, dump, truth)
        t_base = time.perf_counter() - t2

    print("\ncomparisons per blocking rule (Splink count_comparisons_from_blocking_rules):")
    print(res.comparisons.to_string(index=False))
    total = int(res.comparisons["cumulative"].iloc[-1])
    print(f"total {total:,} (target <= 50,000,000 at 500k x 1.5M)")
    print("\ntime per phase (s):")
    for k, v in res.timings.items():
        print(f"  {k:16s} {v:8.1f}")
    print(f"  {'linkage total':16s} {t_link:8.1f}   (target < {TARGET_SECONDS} s)")
    print(f"  {'exact-NIR':16s} {t_base:8.1f}")
    print(f"peak RSS (process tree) {rss.peak / 1024**3:.2f} GiB (target < 6 GiB)")
    print(f"\nthreshold {res.threshold} (lowest with estimated FMR <= 1 %)")
    print(res.links["match"].value_counts().to_string())
    print("\nper threshold: estimated vs true not-indexed false-match rate")
    rows = []
    for t, est, upper in zip(
        res.fmr["threshold"], res.fmr["fmr"], res.fmr["fmr_upper"], strict=True
    ):
        ev = evaluate(res.links_at(t), truth, t)
        rows.append(
            {
                "threshold": t,
                "linked": ev["linked"],
                "precision": round(ev["precision"], 4),
                "recall": round(ev["recall"], 4),
                "est_fmr": round(est, 5),
                "upper": round(upper, 5),
                "true_fmr": round(ev["true_fmr"], 5),
                "not_indexed_links": ev["not_indexed_links"],
                "relative_linked": ev["relative_linked"],
                "wrong_indexed": ev["wrong_indexed"],
            }
        )
    print(pd.DataFrame(rows).to_string(index=False))
    # per class at the chosen threshold
    d = dump.set_index("record_id")
    strong = (d["nir"].notna() | d["birth_date"].notna()).rename("strong")
    tr = truth.join(strong, on="row_id")
    for name, mask in (("NIR or birth date", tr["strong"]), ("names+contact only", ~tr["strong"])):
        ev = evaluate(res.links, tr[mask.to_numpy()], res.threshold)
        print(
            f"class {name:20s}: rows {int(mask.sum()):7,d} precision {ev['precision']:.4f} "
            f"recall {ev['recall']:.4f}"
        )
    print(
        f"\nexact-NIR baseline: credited pairs {base['credited_pairs']:,}, rows matched "
        f"{base['rows_matched']:,}, precision {base['precision']:.4f}, recall {base['recall']:.4f}"
    )


if __name__ == "__main__":
    main()
