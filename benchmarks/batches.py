"""Account batches: peak memory and throughput of one large lab's stage, whole vs batched.

Usage::

    python benchmarks/batches.py --case /tmp/case-1lab --budget 100MB
    python benchmarks/batches.py --scale 30 --case /tmp/case-1lab   # generate it first

The case is one lab (``labforensics.synth.generate(labs=1, scale=..., seed=0)`` over
2020; scale 30 gives about a million events). Its evidence is ingested once into a store
next to it (``<case>/store``). Then, each in a child process of its own (so that one's
freed memory does not hide the other's peak), the lab's stage runs on the store's
partition:

* ``whole``: :func:`labforensics.engine.lab_stage` of the lab read whole (what the
  engine did for every lab before account batches);
* ``batched``: :func:`labforensics.engine.batches.lab_stage_batched` with the budget.

Each child prints its wall time, events per second and its peak resident memory
(``VmHWM``: the whole process, imports included; the table also gives the peak above the
resident memory before the stage started). The two results are checked equal (every
table of the part, ``assert_frame_equal(check_exact=True)``) unless ``--no-check``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

BUDGET_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def _bytes(text: str) -> int:
    t = text.strip().upper()
    for u, k in BUDGET_UNITS.items():
        if t.endswith(u):
            return int(float(t[: -len(u)]) * k)
    return int(t)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _child(mode: str, store: Path, budget: int, dump: Path | None) -> None:
    """One mode in this (child) process; prints a JSON line of its figures."""
    from labforensics.case import CaseContext
    from labforensics.engine import LabSettings, lab_stage
    from labforensics.engine.batches import lab_stage_batched
    from labforensics.engine.partitions import release_memory, store_evidence
    from labforensics.engine.run import EVENT_BYTES
    from labforensics.features import FeatureParams
    from labforensics.sessions import SessionParams

    _, parts = store_evidence(store)
    (p,) = [x for x in parts if x.lab is not None]
    st = LabSettings(CaseContext(), SessionParams(), FeatureParams())
    release_memory()
    before = _rss_kib("VmRSS")
    t = time.perf_counter()
    if mode == "whole":
        part = lab_stage(p(), p.lab, st)
    else:
        part = lab_stage_batched(p, p.lab, st, budget, event_bytes=EVENT_BYTES)
    wall = time.perf_counter() - t
    peak = _rss_kib("VmHWM")
    out = {"mode": mode, "events": part.n_events, "batches": part.n_batches, "wall_s": wall,
           "events_per_s": part.n_events / wall, "peak_mib": peak / 1024,
           "before_mib": before / 1024, "stage_peak_mib": (peak - before) / 1024,
           "sessions": len(part.sessions.sessions)}  # fmt: skip
    if dump is not None:
        with dump.open("wb") as f:
            pickle.dump(part, f, protocol=pickle.HIGHEST_PROTOCOL)
    print(json.dumps(out), flush=True)


def _same(a_path: Path, b_path: Path) -> str:
    import pandas as pd

    with a_path.open("rb") as f:
        a = pickle.load(f)
    with b_path.open("rb") as f:
        b = pickle.load(f)
    tabs = [
        ("sessions", a.sessions.sessions, b.sessions.sessions),
        ("events", a.sessions.events, b.sessions.events),
        ("exports", a.exports, b.exports),
    ]
    for u, t in a.features.tables().items():
        tabs += [(f"{u} keys", t.keys, b.features.tables()[u].keys),
                 (f"{u} values", t.values, b.features.tables()[u].values)]  # fmt: skip
    tabs += [(f"note {k}", v, b.features.notes[k]) for k, v in a.features.notes.items()]
    tabs += [(f"summary {k}", v, b.summaries[k]) for k, v in a.summaries.items()]
    for name, x, y in tabs:
        pd.testing.assert_frame_equal(x, y, check_exact=True, obj=name)
    return f"equal ({len(tabs)} tables)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", type=Path, required=True, help="the one-lab case folder")
    ap.add_argument("--scale", type=float, default=None, help="generate the case first")
    ap.add_argument("--budget", default="100MB", help="memory budget (e.g. 100MB)")
    ap.add_argument("--modes", default="whole,batched")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--dump", type=Path, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    store = a.case / "store"
    if a.child:
        _child(a.child, store, _bytes(a.budget), a.dump)
        return
    if a.scale is not None and not (a.case / "truth.json").exists():
        from labforensics.synth import generate

        t = time.perf_counter()
        generate(a.case, labs=1, start="2020-01-01", end="2020-12-31", seed=0, scale=a.scale,
                 transfers=False)  # fmt: skip
        print(f"generated in {time.perf_counter() - t:.0f} s", flush=True)
    if not (store / "manifest.json").exists() and not any(store.glob("*.json")):
        from labforensics.store import ingest_to_store

        t = time.perf_counter()
        ingest_to_store([a.case / "evidence"], store, case_key=bytes(range(32)))
        print(f"ingested in {time.perf_counter() - t:.0f} s", flush=True)
    rows = []
    dumps = {}
    for mode in a.modes.split(","):
        dump = None if a.no_check else a.case / f"part-{mode}.pkl"
        cmd = [sys.executable, __file__, "--case", str(a.case), "--budget", a.budget,
               "--child", mode] + (["--dump", str(dump)] if dump else [])  # fmt: skip
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if r.returncode:
            sys.exit(f"{mode} failed:\n{r.stderr[-3000:]}")
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
        dumps[mode] = dump
    print(f"\nbudget {a.budget} ({_bytes(a.budget):,} bytes)")
    print(f"{'mode':8} {'events':>10} {'batches':>7} {'wall s':>8} {'events/s':>9} "
          f"{'peak MiB':>9} {'stage MiB':>9}")  # fmt: skip
    for r in rows:
        print(
            f"{r['mode']:8} {r['events']:>10,} {r['batches']:>7} {r['wall_s']:>8.1f} "
            f"{r['events_per_s']:>9,.0f} {r['peak_mib']:>9,.0f} {r['stage_peak_mib']:>9,.0f}"
        )
    if len(dumps) == 2 and all(dumps.values()):
        print("results:", _same(*dumps.values()))
        for d in dumps.values():
            d.unlink()


if __name__ == "__main__":
    main()
