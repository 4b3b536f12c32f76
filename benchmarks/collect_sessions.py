"""Collect's session part alone: peak memory of putting 30 labs' session tables together.

Usage (run each mode in its own process, ``PYTHONPATH`` pointing at the code measured)::

    PYTHONPATH=src python benchmarks/collect_sessions.py labs 4000000
    PYTHONPATH=src python benchmarks/collect_sessions.py whole 4000000

The labs' session tables are made up (every column of
:data:`labforensics.schema.SESSION_DTYPES`, about 358 bytes a session as Arrow, lab by
lab in ``start`` order), then put together as the run does with its events in files:

* ``labs``: each lab's table handed to :class:`~labforensics.engine.session_merge.LabSessions`
  as made, then :meth:`~labforensics.engine.session_merge.LabSessions.finish` (the slim
  table, ``sessions.parquet`` merged from the labs' files);
* ``whole``: every lab's table held, then :func:`~labforensics.engine.combine.order_sessions`,
  :func:`~labforensics.outputs.write_parquet` and
  :func:`~labforensics.session_files.slim_sessions` (what ``LabRun.collect`` and
  ``set_aside_sessions`` did before ``LabSessions``).

Printed: the peak resident memory above the process's after the imports (``VmHWM``, reset
through ``/proc/self/clear_refs``: Linux only; no sample missed), the slim table's size, the
wall times, and the SHA-256 of ``sessions.parquet`` and of the slim table's values, dtypes
and categories (both modes give the same).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from labforensics.engine.combine import order_sessions
from labforensics.engine.partitions import release_memory
from labforensics.outputs import drop_private, write_parquet
from labforensics.schema import SESSION_DTYPES, STRING, STRING_LIST
from labforensics.session_files import slim_sessions

LABS = 30
T0 = pd.Timestamp("2020-01-01", tz="UTC")
_LISTS = pa.array([[f"h{j}" for j in range(i % 3)] for i in range(97)],
                  type=STRING_LIST.pyarrow_dtype)  # fmt: skip


def lab_sessions(k: int, n: int) -> pd.DataFrame:
    """Lab ``k``'s made-up session table: ``(n, len(SESSION_DTYPES))``, ``start`` sorted."""
    rng = np.random.default_rng(k)
    cols: dict = {}
    for c, dt in SESSION_DTYPES.items():
        if dt == STRING:
            vals = np.char.add(f"L{k:02d}-{c[:4]}-", rng.integers(0, 5000, n).astype(str))
            cols[c] = pd.array(vals, dtype=STRING)
        elif dt == STRING_LIST:
            take = pa.array(rng.integers(0, len(_LISTS), n))
            cols[c] = pd.Series(pd.arrays.ArrowExtensionArray(_LISTS.take(take)))
        elif isinstance(dt, pd.CategoricalDtype):
            cols[c] = pd.Categorical.from_codes(rng.integers(0, len(dt.categories), n), dtype=dt)
        elif isinstance(dt, pd.DatetimeTZDtype):
            secs = np.sort(rng.integers(0, 30_000_000, n))
            cols[c] = pd.Series(T0 + pd.to_timedelta(secs, unit="s")).astype(dt)
        elif dt == np.dtype("float64"):
            cols[c] = rng.random(n)
        else:
            cols[c] = rng.integers(0, 30, n)
    cols["session_id"] = pd.array(np.char.add(f"L{k:02d}-", np.arange(n).astype(str)),
                                  dtype=STRING)  # fmt: skip
    cols["lab"] = pd.array(np.full(n, f"LAB{k:02d}"), dtype=STRING)
    return pd.DataFrame(cols)


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))


def main(mode: str, n_sessions: int) -> None:
    """Run ``mode`` (``labs`` or ``whole``) on ``n_sessions`` sessions in :data:`LABS` labs."""
    folder = Path(tempfile.mkdtemp(prefix="collect-sessions-"))
    n, seq = n_sessions // LABS, 0
    release_memory()
    base = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    t0 = time.time()
    if mode == "whole":
        parts, firsts = [], []
        for k in range(LABS):
            parts.append(lab_sessions(k, n))
            firsts.append(np.arange(seq, seq + n))
            seq += n
        t1 = time.time()
        whole = order_sessions(parts, firsts)
        del parts
        path = write_parquet(drop_private(whole), folder / "sessions.parquet")
        slim = slim_sessions(whole)
        del whole
    else:
        from labforensics.engine.session_merge import LabSessions

        sink = LabSessions(folder, LABS)
        for k in range(LABS):
            sink.add(lab_sessions(k, n), np.arange(seq, seq + n))
            seq += n
        t1 = time.time()
        slim = sink.finish()
        assert sink.file is not None
        path = sink.file.path
    peak = _status("VmHWM") - base
    t2 = time.time()
    digest = hashlib.sha256(pd.util.hash_pandas_object(slim).to_numpy().tobytes())
    digest.update(str(list(slim.dtypes.items())).encode())
    digest.update(str([list(slim[c].cat.categories) for c in ("lab", "account")]).encode())
    print(f"{mode} {n * LABS:,} sessions: peak {peak / 2**20:,.0f} MiB above the base, "
          f"slim table {slim.memory_usage(deep=True).sum() / 2**20:,.0f} MiB; "
          f"made {t1 - t0:.0f} s, put together {t2 - t1:.0f} s; "
          f"sessions.parquet {hashlib.sha256(path.read_bytes()).hexdigest()[:16]}, "
          f"slim {digest.hexdigest()[:16]}")  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1], int(float(sys.argv[2])))
