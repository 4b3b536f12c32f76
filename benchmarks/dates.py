"""Strict fixed-width date parsing of the LIS readers against the libraries' parsers.

Usage::

    python benchmarks/dates.py              # 2,000,000 timestamps, best of 3
    python benchmarks/dates.py --rows 500000

The LIS readers parse timestamps with their own byte-matrix parser
(:func:`labforensics.ingest._lis_times._parse_fixed`) because the dialects need
what the libraries do not give in one call: a strict width (``02/13/2019`` and
``2/3/2019`` refused, never read month-first or padded), a reason per refused
row, and the 1900-2189 range check. The issue asks to keep hand-written date
parsing only where it is faster by a margin worth it; this script prints, on
the same strings (the legacy dialect's ``dd/mm/yyyy HH:MM:SS`` and the current
dialect's ISO 8601 with offset), CPU seconds of:

* ``_parse_fixed`` (ours);
* ``pyarrow.compute.strptime`` (which accepts non-padded fields: not strict);
* ``pandas.to_datetime(format=..., errors="coerce")``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labforensics.ingest._lis_times import _parse_fixed


def _strings(n: int, seed: int = 0) -> tuple[pa.Array, pa.Array]:
    rng = np.random.default_rng(seed)
    t = pd.Timestamp("2015-01-01").value // 10**9 + rng.integers(0, 6 * 365 * 86400, n)
    ts = pd.to_datetime(t, unit="s")
    legacy = pa.array(list(ts.strftime("%d/%m/%Y %H:%M:%S")), type=pa.string())
    current = pa.array(list(ts.strftime("%Y-%m-%dT%H:%M:%S+02:00")), type=pa.string())
    return legacy, current


def _best(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        out.append(time.process_time() - t0)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    legacy, current = _strings(a.rows)
    cases = [
        ("legacy dd/mm/yyyy HH:MM:SS", legacy, "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S"),
        ("current ISO 8601 + offset", current, "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%z"),
    ]
    print(f"{a.rows:,} timestamps, CPU seconds (best of {a.repeat})")
    print(f"{'format':32} {'ours':>8} {'pyarrow':>8} {'pandas':>8}  ours vs fastest library")
    for name, col, ours_fmt, lib_fmt in cases:
        ours = _best(lambda col=col, f=ours_fmt: _parse_fixed(col, f), a.repeat)
        arrow = _best(
            lambda col=col, f=lib_fmt: pc.strptime(col, format=f, unit="s", error_is_null=True),
            a.repeat,
        )
        s = pd.Series(col.to_pylist(), dtype="string")
        pandas = _best(
            lambda s=s, f=lib_fmt: pd.to_datetime(s, format=f, errors="coerce"), a.repeat
        )
        lib = min(arrow, pandas)
        print(f"{name:32} {ours:8.2f} {arrow:8.2f} {pandas:8.2f}  {lib / ours:.2f}x faster"
              if ours < lib else f"{name:32} {ours:8.2f} {arrow:8.2f} {pandas:8.2f}  {ours / lib:.2f}x slower")  # fmt: skip
    strictness()


def strictness() -> None:
    """What each parser makes of strings a strict reader must refuse (``None``: refused)."""
    bad = ["31/02/2024 08:00:00", "3/6/2024 8:00:00", "03/06/2024 8:00:00"]
    col = pa.array(bad, type=pa.string())
    _, _, _, ok = _parse_fixed(col, "%d/%m/%Y %H:%M:%S")
    arrow = pc.strptime(col, format="%d/%m/%Y %H:%M:%S", unit="s", error_is_null=True)
    pandas = pd.to_datetime(pd.Series(bad), format="%d/%m/%Y %H:%M:%S", errors="coerce")
    print("strictness (None = refused):")
    for i, b in enumerate(bad):
        print(f"  {b!r:24} ours: {'accepted' if ok[i] else None!s:9} "
              f"pyarrow: {arrow[i].as_py()!s:20} pandas: {pandas[i] if pd.notna(pandas[i]) else None}")  # fmt: skip


if __name__ == "__main__":
    main()
