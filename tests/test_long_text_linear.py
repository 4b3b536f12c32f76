"""A long free-text field costs time in proportion to its length (QA session 13).

A single LIS row whose ``DETAIL`` held 200,000 characters took minutes in the sessions
stage and again in attribution: the pattern finding file names in text backtracked over
every start of a run without a dot (25,000 characters: 3.9 s a stage, 50,000: 14 s). Text
from logs is hostile; every pattern scanning it must be linear. This runs the whole
investigation on a detail of 325,021 characters made of the runs that trouble unanchored
patterns (letters, spaces, digit groups, brackets, dotted runs, underscores).
"""

from __future__ import annotations

import time

import pandas as pd

from labforensics import investigate
from lis_headers import LEGACY_HEADER

HEADER = LEGACY_HEADER + "\n"
DETAIL = ("A" * 100_000 + " " * 50_000 + "1 " * 25_000 + ")" * 25_000 + "a." * 25_000
          + "12345 " * 5000 + "-_" * 10_000 + " fin vers L01_out.csv")  # fmt: skip


def test_a_long_detail_runs_in_seconds(tmp_path):
    ev = tmp_path / "ev"
    ev.mkdir()
    rows = [
        "02/03/2020;08:00:00;L01;S1;tech.a;TECHNICIEN;PC-1;10.1.0.2;ADMIN;CONNEXION;OK;;;;\n",
        f"02/03/2020;08:03:00;L01;S1;tech.a;TECHNICIEN;PC-1;10.1.0.2;RESULTATS;EXPORT;OK;;;500;{DETAIL}\n",
        "02/03/2020;08:09:00;L01;S1;tech.a;TECHNICIEN;PC-1;10.1.0.2;ADMIN;DECONNEXION;OK;;;;\n",
    ]  # fmt: skip
    (ev / "AUDIT_L01_20200302.csv").write_text(HEADER + "".join(rows), encoding="cp1252")
    assert len(DETAIL) == 325_021
    t = time.process_time()
    res = investigate([ev], tmp_path / "out", progress=False)
    took = time.process_time() - t
    # the three rows are events, one session; the export with its 500 records
    assert res.findings["accounting"]["totals"]["events"] == 3
    ex = pd.read_parquet(tmp_path / "out" / "exports.parquet")
    assert ex["records"].tolist() == [500]
    # the former pattern alone needed hours here (quadratic in the 100,000-letter run);
    # a generous bound: the run takes a few seconds on the development machine
    assert took < 120, f"{took:.0f} s"
