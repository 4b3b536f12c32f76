"""Peak memory of ranking and writing the scored tables: in memory vs from per-lab files.

Usage::

    python benchmarks/score_spill_peak.py --labs 30 --sessions 50000 --days 35000

Generates, lab by lab, scored rows shaped as
:func:`labforensics.engine.model.score_lab` returns them (the session table's columns of a
real run: text keys, times, explanation, score, detector and rule columns, reasons for the
flagged and each lab's best-ranked rows), then in a child process each:

* ``memory``: every lab's rows gathered, :func:`~labforensics.engine.model.scores_from_labs`,
  :func:`~labforensics.score_files.set_aside` (the run under its memory budget);
* ``files``: each lab's rows handed to :class:`~labforensics.engine.score_spill.ScoreSpill`
  as it is made, then ranked and written (the run over its budget).

Prints each child's peak RSS above its RSS before the first lab (``ru_maxrss``), and
checks that the two wrote the same bytes.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

UNITS = ("session", "account_day", "account_month")


def _lab(i: int, n: dict[str, int], explain_top: int) -> dict:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(i)
    lab = f"L{i:02d}"
    res = {}
    for u in UNITS:
        m = n[u]
        s = lambda vals: pd.array(vals, dtype="string")  # noqa: E731
        acct = [f"{lab}-acct{j % 40:02d}" for j in range(m)]
        if u == "session":
            out = pd.DataFrame({"session_id": s([f"S{i:02d}{j:07d}x{rng.integers(9)}"
                                                 for j in range(m)]),
                                "lab": s([lab] * m), "account": s(acct),
                                "account_kind": s(["staff"] * m), "role": s(["tech"] * m),
                                "main_module": s(["results"] * m)})  # fmt: skip
            kc: tuple = ("session_id",)
        else:
            per = "day" if u == "account_day" else "month"
            out = pd.DataFrame({"lab": s([lab] * m), "account": s(acct),
                                "account_kind": s(["staff"] * m), "role": s(["tech"] * m),
                                per: s([f"2020-{j // 40:04d}" for j in range(m)])})  # fmt: skip
            kc = ("lab", "account", per)
        t0 = pd.Timestamp("2020-01-01", tz="UTC")
        out["start"] = t0 + pd.to_timedelta(rng.integers(0, 3 * 10**7, m), unit="s")
        out["end"] = out["start"] + pd.Timedelta(minutes=20)
        for c in ("accessed_patients", "unexplained_patients", "unexplained_p",
                  "unexplained_share_touched", "explain_usable"):  # fmt: skip
            out[c] = rng.random(m)
        out["score"] = np.round(rng.normal(0, 1, m), 3)
        out["flagged"] = rng.random(m) < 0.02
        out["ensemble"] = out["score"]
        for d in ("ecod", "iforest", "copod", "hbos", "knn"):
            out[f"det_{d}"] = rng.random(m)
        out["rules_score"] = 0.0
        rules = [f"rule_r{k}" for k in range(10)]
        for c in rules:
            out[c] = np.where(rng.random(m) < 0.01, 2.0, 0.0)
        cells = np.empty(m, dtype=object)
        local = np.argsort(-out["score"].to_numpy(), kind="stable")[:explain_top]
        for j in np.union1d(local, np.flatnonzero(out["flagged"].to_numpy())):
            cells[j] = np.array([f"reason {k} of row {j}, a sentence of some length"
                                 for k in range(3)], dtype=object)  # fmt: skip
        out["reasons"] = cells
        res[u] = {"out": out, "key_columns": kc, "rule_columns": rules,
                  "rules_applied": [], "rules_inherited": [], "rules_skipped": {}}  # fmt: skip
    return res


def _child(mode: str, work: Path, labs: int, n: dict[str, int]) -> None:
    from labforensics.case import CaseContext
    from labforensics.detect import DetectParams
    from labforensics.engine.model import UnitModel, scores_from_labs
    from labforensics.engine.score_spill import ScoreSpill
    from labforensics.score_files import set_aside

    params, case = DetectParams(), CaseContext()
    models = {u: UnitModel(u, ["x"], ["x"], {"x": 0.0}, {"x": 1.0}, {}, threshold=1.0)
              for u in UNITS}  # fmt: skip
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if mode == "memory":
        scored = [_lab(i, n, params.explain_top) for i in range(labs)]
        sc = scores_from_labs(scored, models, params, case)
        del scored
        set_aside(sc, work)
    else:
        spill = ScoreSpill(work)
        for i in range(labs):
            spill.add(_lab(i, n, params.explain_top))
        spill.finish(models, params, case)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{mode}: peak {(peak - base) / 1024:,.0f} MiB above the RSS before the first lab "
        f"({base / 1024:,.0f} MiB)",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labs", type=int, default=30)
    ap.add_argument("--sessions", type=int, default=50_000, help="session rows per lab")
    ap.add_argument("--days", type=int, default=35_000, help="account-day rows per lab")
    ap.add_argument("--months", type=int, default=1_200, help="account-month rows per lab")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    n = {"session": a.sessions, "account_day": a.days, "account_month": a.months}
    if a.child:
        _child(a.child[0], Path(a.child[1]), a.labs, n)
        return
    root = Path(tempfile.mkdtemp(prefix="score-spill-peak-"))
    print(f"{a.labs} labs x {n} rows")
    for mode in ("memory", "files"):
        (root / mode).mkdir()
        subprocess.run([sys.executable, __file__, "--labs", str(a.labs), "--sessions",
                        str(a.sessions), "--days", str(a.days), "--months", str(a.months),
                        "--child", mode, str(root / mode)], check=True)  # fmt: skip
    for f in sorted((root / "memory").iterdir()):
        same = f.read_bytes() == (root / "files" / f.name).read_bytes()
        print(f"  {f.name}: {f.stat().st_size / 2**20:,.1f} MiB, same bytes: {same}")
    import shutil

    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
