"""Throughput and memory of labforensics.sessionize, against msticpy and DuckDB.

Run::

    .venv/bin/python benchmarks/sessions.py            # 5,000,000 events
    .venv/bin/python benchmarks/sessions.py --events 1000000 --no-msticpy

What it does, in one run:

1. builds >= 5 million canonical events (``--source synth`` uses
   :func:`labforensics.synth.generate` when it exists; the default ``vector``
   is the vectorized generator below: ~12 labs, half of them on the current
   dialect with application session ids, shared workstations, failed logins,
   long silences, missing hosts);
2. times :func:`labforensics.sessionize` on all of it and samples its peak
   resident memory (RSS above the level before the call, sampled every 5 ms);
3. times a DuckDB window-function query that only splits on idle gaps per
   (lab, account) (``LAG`` over ``PARTITION BY lab, account ORDER BY ts``)
   and aggregates start/end/count per session, on the same in-memory table;
4. runs msticpy 3.0.2's ``sessionize_data`` (module
   ``msticpy.analysis.anomalous_sequence.sessionize``; 3.0.2 has no
   ``msticpy.analysis.data.sessionize``) in its own virtualenv
   (``benchmarks/msticpy_env.sh`` creates ``.bench-venvs/msticpy``; msticpy
   pins pandas < 3) on the first ``--msticpy-slice`` events, fed through a
   Parquet file, and extrapolates per event (its loop is linear in events);
5. prints a table and checks the targets: >= 500x msticpy's events/s, and no
   more than 2x DuckDB's time.

Numba kernels are compiled (or loaded from cache) on a small warm-up call
first, so the timed call measures steady-state work. The machine's other load
is not controlled: run it on an idle machine for publishable figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labforensics.schema import EVENT_DTYPES, coerce_events
from labforensics.sessions import SessionParams, sessionize

ROOT = Path(__file__).resolve().parents[1]
MSTICPY_PY = ROOT / ".bench-venvs" / "msticpy" / "bin" / "python"
SEED = 20261129


# --------------------------------------------------------------------------- evidence


def _strings(prefix: str, ints: np.ndarray) -> pa.Array:
    """prefix + decimal ints, vectorized in Arrow."""
    s = pc.cast(pa.array(ints), pa.string())
    return pc.binary_join_element_wise(prefix, s, "")


def vector_events(n: int, seed: int = SEED) -> pd.DataFrame:
    """``n`` canonical events from a vectorized session model (seeded, no Python loop per row).

    Sessions of geometric length (mean 16 events) by accounts of 12 labs, with
    exponential inter-event gaps (mean 3 min) plus 2 % long silences (2 h);
    90 % start with a login, 70 % end with a logout; 1 % of events are failed
    logins; labs L07-L12 write application session ids (a per-day counter, so
    ids repeat); 3 % of events lack a host; 10 % of sessions run on a second,
    shared workstation.
    """
    rng = np.random.default_rng(seed)
    n_labs, acc_per_lab = 12, 400
    S = int(n / 16 * 1.2) + 100  # enough sessions to cover n events
    lens = rng.geometric(1 / 16, S)
    cum = np.cumsum(lens)
    S = int(np.searchsorted(cum, n)) + 1
    lens = lens[:S].copy()
    lens[-1] -= int(cum[S - 1] - n)
    lens = lens[lens > 0]
    S = len(lens)
    pos = np.arange(n) - np.repeat(np.cumsum(lens) - lens, lens)
    is_first = pos == 0
    is_last = pos == np.repeat(lens - 1, lens)

    lab = rng.integers(0, n_labs, S)
    acc = rng.integers(0, acc_per_lab, S)
    year_s = 365 * 86400
    start = (
        pd.Timestamp("2019-01-01", tz="UTC").value // 10**9 + rng.integers(0, year_s, S)
    ).astype(np.int64)
    gaps = rng.exponential(180, n)
    gaps[rng.random(n) < 0.02] += 7200
    gaps[is_first] = 0
    within = np.cumsum(gaps)
    within -= np.repeat(within[np.cumsum(lens) - lens], lens)
    ts = (np.repeat(start, lens) + within.astype(np.int64)) * 10**9  # whole seconds, as logged

    from labforensics.schema import ACTIONS  # canonical category order

    act_names = ["read", "query", "print", "export", "extract", "update", "validate"]
    p = np.array([0.45, 0.2, 0.1, 0.04, 0.01, 0.1, 0.1])
    code = {a: i for i, a in enumerate(ACTIONS)}
    action = np.array([code[a] for a in act_names])[rng.choice(len(act_names), n, p=p)]
    action[is_first & np.repeat(rng.random(S) < 0.9, lens)] = code["login"]
    action[is_last & ~is_first & np.repeat(rng.random(S) < 0.7, lens)] = code["logout"]
    action[rng.random(n) < 0.01] = code["login_failed"]
    failed = action == code["login_failed"]

    host_i = np.repeat(acc * 3 + (rng.random(S) < 0.1), lens)  # 10 %: second workstation
    e_lab = np.repeat(lab, lens)
    e_acc = np.repeat(acc, lens)
    day = ts // (86400 * 10**9)
    app_num = np.repeat(rng.integers(1, 500, S), lens) + (day % 7) * 1000
    current = e_lab >= 6
    lab_names = pa.array([f"L{i + 1:02d}" for i in range(n_labs)])
    host = _strings("PC-", e_lab * 10_000 + host_i)
    host = pc.if_else(pa.array(rng.random(n) < 0.03), pa.scalar(None, pa.string()), host)
    outbound = np.isin(action, [code["export"], code["extract"], code["query"]])
    records = np.where(outbound, rng.integers(1, 500, n), -1)
    modules = pa.array(["RESULTATS", "SAISIE", "VALIDATION", "ADMIN"])

    def cat(codes: np.ndarray, dtype: pd.CategoricalDtype) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, dtype=dtype)

    def const(value: str) -> pd.arrays.ArrowStringArray:
        return pd.arrays.ArrowStringArray(pa.array([value]).take(pa.array(np.zeros(n, np.int64))))

    df = pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(ts.view("datetime64[ns]"), tz="UTC"),
            "ts_quality": cat(np.zeros(n, np.int8), EVENT_DTYPES["ts_quality"]),
            "lab": pd.arrays.ArrowStringArray(lab_names.take(pa.array(e_lab))),
            "site": const("S1"),
            "account": pd.arrays.ArrowStringArray(_strings("user", e_lab * 1000 + e_acc)),
            "role": const("TECHNICIEN"),
            "account_kind": cat(np.zeros(n, np.int8), EVENT_DTYPES["account_kind"]),
            "host": pd.arrays.ArrowStringArray(host),
            "src_ip": pd.arrays.ArrowStringArray(_strings("10.0.", e_lab * 10_000 + host_i)),
            "module": pd.arrays.ArrowStringArray(modules.take(pa.array(rng.integers(0, 4, n)))),
            "action": cat(action.astype(np.int8), EVENT_DTYPES["action"]),
            "outcome": cat(failed.astype(np.int8), EVENT_DTYPES["outcome"]),
            "patient": pd.arrays.ArrowStringArray(_strings("P", rng.integers(0, 200_000, n))),
            "records": pd.arrays.IntegerArray(np.maximum(records, 0), records < 0),
            "app_session": pd.arrays.ArrowStringArray(
                pc.if_else(
                    pa.array(current),
                    _strings("S", app_num),
                    pa.scalar(None, pa.string()),
                )
            ),
            "source_format": const("bench"),
            "source_file": const("bench.csv"),
        }
    )
    for col, dtype in EVENT_DTYPES.items():  # the rest all-missing, built fast
        if col not in df.columns and col != "seq":
            if isinstance(dtype, pd.StringDtype):
                df[col] = pd.arrays.ArrowStringArray(pa.nulls(n, pa.large_string()))
            else:
                df[col] = pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))
    df = coerce_events(df)
    order = np.argsort(df["ts"].to_numpy(dtype="datetime64[ns]").view("int64"), kind="stable")
    df = df.take(order).reset_index(drop=True)
    df["seq"] = np.arange(len(df), dtype=np.int64)
    return df


def synth_events(n: int, seed: int = SEED) -> pd.DataFrame:
    """Events of a :func:`labforensics.synth.generate` case read back by ``read_evidence``.

    30 labs over the generator's default period, ``scale`` chosen for about ``n``
    events (scale 1.0 gives about 6 million). Slow: it writes and parses the CSV
    evidence first (that time is reported, not benchmarked).
    """
    from labforensics.ingest import read_evidence
    from labforensics.synth import generate

    with tempfile.TemporaryDirectory() as d:
        r = generate(Path(d) / "synth", labs=30, seed=seed % 2**31, scale=max(n / 6e6, 0.02))
        return read_evidence(r.evidence, case_key=bytes(range(32))).events


# --------------------------------------------------------------------------- measurements


class PeakRSS:
    """Sample this process's resident set size every ``interval`` s in a thread."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def rss(self) -> int:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * self._page

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.base = self.rss()
        self.peak = self.base
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.rss())


def time_sessionize(df: pd.DataFrame) -> dict:
    sessionize(df.iloc[:20_000])  # warm-up: numba compile / cache load
    with PeakRSS() as mem:
        t, c = time.perf_counter(), time.process_time()
        res = sessionize(df, SessionParams())
        dt, dc = time.perf_counter() - t, time.process_time() - c
    return {
        "seconds": dt,
        "cpu": dc,
        "sessions": len(res.sessions),
        "peak_mib": (mem.peak - mem.base) / 2**20,
    }


DUCKDB_QUERY = """
WITH g AS (
  SELECT lab, account, ts, seq,
         CASE WHEN ts - LAG(ts) OVER w > INTERVAL 30 MINUTE
              OR LAG(ts) OVER w IS NULL THEN 1 ELSE 0 END AS brk
  FROM ev
  WINDOW w AS (PARTITION BY lab, account ORDER BY ts, seq)
), s AS (
  SELECT lab, account, ts, seq,
         SUM(brk) OVER (PARTITION BY lab, account ORDER BY ts, seq
                        ROWS UNBOUNDED PRECEDING) AS sn
  FROM g
)
SELECT lab, account, sn, MIN(ts) AS start, MAX(ts) AS "end", COUNT(*) AS n_events
FROM s GROUP BY lab, account, sn
"""


def time_duckdb(df: pd.DataFrame) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    ev = pa.Table.from_pandas(df[["lab", "account", "ts", "seq"]], preserve_index=False)
    # DuckDB has no TIMESTAMPTZ_NS - TIMESTAMPTZ_NS; give it its native microsecond type
    # (the cast is not timed).
    ev = ev.set_column(2, "ts", pc.cast(ev.column("ts"), pa.timestamp("us", tz="UTC"), safe=False))
    con.register("ev", ev)
    con.sql(DUCKDB_QUERY.replace("FROM ev", "FROM (SELECT * FROM ev LIMIT 20000)")).to_arrow_table()
    t, c = time.perf_counter(), time.process_time()
    out = con.sql(DUCKDB_QUERY).to_arrow_table()
    dt, dc = time.perf_counter() - t, time.process_time() - c
    return {
        "seconds": dt,
        "cpu": dc,
        "sessions": out.num_rows,
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
    }


MSTICPY_SCRIPT = r"""
import json, sys, time
import pandas as pd
from msticpy.analysis.anomalous_sequence.sessionize import sessionize_data
df = pd.read_parquet(sys.argv[1])
t, c = time.perf_counter(), time.process_time()
out = sessionize_data(df, user_identifier_cols=["lab", "account"], time_col="ts",
                      max_session_time_mins=720, max_event_separation_mins=30,
                      event_col="action")
dt, dc = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"seconds": dt, "cpu": dc, "events": len(df), "sessions": len(out),
                  "pandas": pd.__version__}))
"""


def time_msticpy(df: pd.DataFrame, k: int) -> dict | None:
    if not MSTICPY_PY.exists():
        print(
            f"msticpy venv missing ({MSTICPY_PY}); run benchmarks/msticpy_env.sh", file=sys.stderr
        )
        return None
    part = df.iloc[:k][["lab", "account", "ts", "action", "host"]].copy()
    part["action"] = part["action"].astype(str)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "slice.parquet"
        part.to_parquet(path, index=False)
        r = subprocess.run(
            [str(MSTICPY_PY), "-c", MSTICPY_SCRIPT, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    if r.returncode:
        print(r.stderr[-3000:], file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--source", choices=["vector", "synth"], default="vector")
    ap.add_argument("--msticpy-slice", type=int, default=50_000)
    ap.add_argument("--no-msticpy", action="store_true")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    gen = synth_events if args.source == "synth" else vector_events
    df = gen(args.events)
    n = len(df)
    print(f"generated {n:,} events ({args.source}, seed {SEED}) in {time.perf_counter() - t:.1f} s")

    ours = time_sessionize(df)
    duck = time_duckdb(df)
    mst = None if args.no_msticpy else time_msticpy(df, args.msticpy_slice)

    rows = [
        ("labforensics.sessionize", n, ours, f"{ours['peak_mib']:.0f}"),
        (f"duckdb LAG idle split ({duck['threads']} thr)", n, duck, "-"),
    ]
    if mst:
        rows.append(("msticpy 3.0.2 sessionize_data", mst["events"], mst, "-"))
    print()
    print(
        f"{'method':36s} {'events':>10s} {'wall s':>8s} {'cpu s':>8s} {'events/s':>11s} "
        f"{'ev/cpu-s':>11s} {'sessions':>9s} {'peak MiB':>8s}"
    )
    for name, ne, r, mem in rows:
        print(
            f"{name:36s} {ne:10,d} {r['seconds']:8.2f} {r['cpu']:8.2f} {ne / r['seconds']:11,.0f} "
            f"{ne / r['cpu']:11,.0f} {r['sessions']:9,d} {mem:>8s}"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print()
    ok = True
    for basis, key in (("wall", "seconds"), ("cpu", "cpu")):
        ratio = ours[key] / duck[key]
        good = ratio <= 2.0
        ok &= good
        print(
            f"[{basis}] time vs DuckDB: {ratio:.2f}x (target <= 2x): {'OK' if good else 'MISSED'}"
        )
        if mst:
            speedup = (n / ours[key]) / (mst["events"] / mst[key])
            good = speedup >= 500
            ok &= good
            print(
                f"[{basis}] events/s vs msticpy (extrapolated from {mst['events']:,} events): "
                f"{speedup:,.0f}x (target >= 500x): {'OK' if good else 'MISSED'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
