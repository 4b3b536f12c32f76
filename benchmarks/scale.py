"""Scale: wall time per stage and peak memory of the whole process tree (issue 17 item 5).

Usage::

    python benchmarks/scale.py --sizes 2e5,1e6 --modes files,store,dask
    python benchmarks/scale.py --sizes 1e6 --modes store --labs 6 --keep /tmp/scale-cases

For each size (events, approximate) a case is generated (``labforensics.synth.generate``:
``--labs`` labs over one year from 2020-01-01, the scale below: measured
195,221 events for 6 labs, four months, scale 3, i.e. about 195,000 events per unit of
scale and year for six labs, so ``scale = size / (195,000 x labs / 6)``; the events actually
read are printed). Each mode runs in a child
process, whose whole tree (the investigation, and with ``dask`` the ``LocalCluster``'s
nanny and two worker processes; Chromium for the PDF) is sampled every 0.1 s with psutil
(sum of PSS, :func:`_tree_rss`):

* ``files``: ``investigate`` from the evidence files, local engine (with
  ``--memory-budget`` the files are streamed through a temporary store in the run's
  private folder, :mod:`labforensics.engine.streamed_files`; without, read at once);
* ``store``: ``ingest_to_store`` (timed apart, its own peak) then ``investigate
  --store``, local engine;
* ``dask``: the same store, ``engine="dask"`` on a two-worker ``LocalCluster``
  (``n_workers=2, threads_per_worker=1, processes=True``).

Per stage: its wall time and the peak of the samples taken during it (each stage's
start and end are recorded in the child, as is the engine's ``collect``: the labs'
sessions and events put back together between ``detection`` and ``sources``, shown as
``collect (engine)``; a sample is assigned to the window that holds it). The issue's
reference figures (the code before the store and the per-lab engine, same machine,
6 labs, one year) are printed with the table.

Do not run sizes far above the machine's memory; on the shared 2-core development
machine only sizes up to 2 million events were run (see the README's table).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: Issue 17's reference: events -> (seconds, peak GB), before the store and the engine.
REFERENCE = {2.1e6: (67, 3.1), 4.2e6: (97, 5.3), 8.5e6: (264, 10.0)}
EVENTS_PER_SCALE_YEAR = 195_000
MODES = ("files", "store", "dask")


def _child(mode: str, case: Path, work: Path, budget: int | None = None) -> None:
    """Run one mode (in a child process); write its timings to ``work/result.json``."""
    import dataclasses

    from labforensics import pipeline
    from labforensics.case import load_case
    from labforensics.engine.run import LabRun
    from labforensics.pipeline import investigate
    from labforensics.privacy import CaseKey
    from labforensics.store import ingest_to_store

    windows: list[tuple[str, float, float]] = []  # (stage, start, end), wall clock

    def timed(name: str, fn):
        def run(*a, **k):
            t = time.time()
            try:
                return fn(*a, **k)
            finally:
                windows.append((name(a) if callable(name) else name, t, time.time()))

        return run

    # each stage's own window (the engine's collect, which is no stage of the run's
    # table, gets its own row instead of blurring into the stages around it)
    pipeline._Stages.run = timed(lambda a: a[1], pipeline._Stages.run)
    LabRun.collect = timed("collect (engine)", LabRun.collect)
    # the engine's collect and the session table set aside (written, held slim) after it
    pipeline.collect_slim = timed("collect + aside", pipeline.collect_slim)

    key_file = work / "case.key"
    CaseKey(bytes(range(32))).write(key_file)
    ctx = dataclasses.replace(load_case(case / "case.toml" if (case / "case.toml").exists()
                                        else None), key_file=key_file)  # fmt: skip
    marks: dict[str, float] = {}
    evidence = case / "evidence"
    kw = {"case": ctx, "progress": False, "force": True, "memory_budget": budget}
    if mode == "files":
        marks["investigate"] = time.time()
        res = investigate([evidence], work / "out", **kw)
    else:
        marks["store ingest"] = time.time()
        ingest_to_store([evidence], work / "store", case=ctx)
        marks["investigate"] = time.time()
        if mode == "dask":
            kw["engine"] = "dask"
        res = investigate(None, work / "out", store=work / "store", **kw)
    marks["end"] = time.time()
    n_events = int(res.findings["accounting"]["totals"].get("events", 0))
    out = {"marks": marks, "timings": dict(res.timings), "events": n_events or None,
           "windows": sorted(windows, key=lambda w: w[1])}  # fmt: skip
    (work / "result.json").write_text(json.dumps(out), encoding="utf-8")


def _tree_rss(proc) -> int:
    """Memory of a process and all its descendants: the sum of their PSS (proportional
    set size: a page shared by k processes counts 1/k in each, so Chromium's or the Dask
    workers' shared libraries are not counted several times), RSS where PSS is not
    readable."""
    import psutil

    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            try:
                total += p.memory_full_info().pss
            except (AttributeError, psutil.AccessDenied):
                total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def _run_mode(mode: str, case: Path, work: Path, budget: int | None = None) -> dict:
    """Run a mode in a child process, sampling its tree's memory every 0.1 s."""
    import psutil

    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", mode, str(case), str(work)]
    if budget is not None:
        cmd += ["--memory-budget", str(budget)]
    t0 = time.time()
    proc = subprocess.Popen(cmd)
    ps = psutil.Process(proc.pid)
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                samples.append((time.time(), _tree_rss(ps)))
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    rc = proc.wait()
    done.set()
    th.join()
    if rc != 0:
        raise SystemExit(f"mode {mode} failed (exit {rc})")
    res = json.loads((work / "result.json").read_text(encoding="utf-8"))
    res["wall"] = time.time() - t0
    res["peak"] = max((r for _, r in samples), default=0)
    # stage windows: store ingest, then investigate's stages back to back
    windows = []
    if "store ingest" in res["marks"]:
        windows.append(("store ingest", res["marks"]["store ingest"], res["marks"]["investigate"]))
    if res.get("windows"):  # measured in the child
        windows += [tuple(w) for w in res["windows"]]
    else:
        t = res["marks"]["investigate"]
        for name, sec in res["timings"].items():
            windows.append((name, t, t + sec))
            t += sec
    res["peak_no_pdf"] = max(
        (r for ts, r in samples for name, a, b in windows if name != "PDF" and a <= ts < b),
        default=0,
    )
    res["stages"] = [
        (name, b - a, max((r for ts, r in samples if a <= ts < b), default=0))
        for name, a, b in windows
    ]
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="2e5", help="events per case, comma-separated")
    ap.add_argument("--modes", default="files,store,dask")
    ap.add_argument("--labs", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="keep the cases in this folder")
    ap.add_argument(
        "--case",
        type=Path,
        default=None,
        help="an existing generated case (its evidence/) instead of --sizes",
    )
    ap.add_argument("--memory-budget", type=int, default=None,
                    help="bytes, passed to investigate(memory_budget=...)")  # fmt: skip
    ap.add_argument("--child", nargs=3, metavar=("MODE", "CASE", "WORK"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]), Path(args.child[2]), args.memory_budget)
        return
    from labforensics import synth

    modes = [m for m in args.modes.split(",") if m]
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise SystemExit(f"unknown mode(s) {bad}; choose among {MODES}")
    root = args.keep or Path(tempfile.mkdtemp(prefix="lf-scale-"))
    print("reference (issue 17, before the store and the per-lab engine, 6 labs, one year):")
    for n, (s, gb) in REFERENCE.items():
        print(f"  {n / 1e6:.1f} M events: {s} s, {gb} GB peak, {gb * 1e9 / n:,.0f} B/event")
    try:
        sizes = [0.0] if args.case else [float(s) for s in args.sizes.split(",")]
        for size in sizes:
            case = args.case or root / f"case-{int(size)}-{args.labs}labs"
            t = time.time()
            if not args.case:
                synth.generate(case, labs=args.labs, start="2020-01-01", end="2020-12-31",
                               seed=args.seed,
                               scale=size / (EVENTS_PER_SCALE_YEAR * args.labs / 6))  # fmt: skip
            print(f"\ncase {case} (size {size:,.0f}, generated in {time.time() - t:.0f} s)")
            for mode in modes:
                r = _run_mode(mode, case, root / f"run-{int(size)}-{mode}", args.memory_budget)
                n = r["events"] or size
                print(f"  {mode}: {n:,} events, {r['wall']:.1f} s wall (child), peak "
                      f"{r['peak'] / 2**20:,.0f} MiB = {r['peak'] / n:,.0f} B/event; without the "
                      f"PDF stage (Chromium) {r['peak_no_pdf'] / 2**20:,.0f} MiB")  # fmt: skip
                for name, sec, peak in r["stages"]:
                    print(f"    {name:<16} {sec:8.2f} s  {peak / 2**20:8,.0f} MiB")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
