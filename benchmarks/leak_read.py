"""Read speed of the leak readers: a generated dump of N rows (default 500,000).

Writes a fake dump in three files (``;`` UTF-8, ``,`` cp1252, tab UTF-16 with BOM),
with the messy shapes of ``shared/formats/leak-dump.md`` (dd/mm/yy, serials, NIRs with
separators and wrong keys, phones in any shape, mojibake, empty markers, a copied
overlap between two files), then times :func:`labforensics.leak.dump.read_dump`.
Every value is fake (seeded NumPy draws). Run once:

    PYTHONPATH=src .venv/bin/python benchmarks/leak_read.py [N]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labforensics.leak.dump import read_dump
from labforensics.leak.patients import read_patient_index
from labforensics.privacy import CaseKey

SURNAMES = ["MARTIN", "Bernard", "Dubois", "THOMAS", "Robert", "Richard", "Petit", "Durand",
            "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David",
            "Bertrand", "Roux", "Vincent", "Fournier", "de la Fontaine", "Le Gall", "N'Diaye"]  # fmt: skip
FIRST = ["Jean-Pierre", "Hélène", "HÃ©lÃ¨ne", "Léa", "Théo", "Zoé", "Chloé", "Luc", "Anne",
         "Marie", "Paul", "Jérôme", "François", "Inès", "Noël", "Maëlle"]  # fmt: skip


def _nirs(rng: np.random.Generator, n: int) -> np.ndarray:
    sex = rng.integers(1, 3, n)
    yy = rng.integers(0, 100, n)
    mm = rng.integers(1, 13, n)
    dep = rng.integers(1, 96, n)
    com = rng.integers(1, 999, n)
    order = rng.integers(1, 999, n)
    body = sex * 10**12 + yy * 10**10 + mm * 10**8 + dep * 10**6 + com * 10**3 + order
    key = 97 - body % 97
    key = np.where(rng.random(n) < 0.02, (key % 97) + 1, key)  # 2 % wrong keys
    s = pd.Series(body).astype(str).str.zfill(13) + pd.Series(key).astype(str).str.zfill(2)
    spaced = (
        s.str[0]
        + " "
        + s.str[1:3]
        + " "
        + s.str[3:5]
        + " "
        + s.str[5:7]
        + " "
        + s.str[7:10]
        + " "
        + s.str[10:13]
        + " "
        + s.str[13:]
    )
    return np.where(rng.random(n) < 0.5, s, spaced)


def make_dump(folder: Path, n: int, seed: int = 13) -> None:
    rng = np.random.default_rng(seed)
    day = rng.integers(1, 29, n).astype(str)
    mon = rng.integers(1, 13, n).astype(str)
    yr = rng.integers(1930, 2020, n).astype(str)
    ddn = pd.Series(np.char.zfill(day, 2)) + "/" + np.char.zfill(mon, 2) + "/" + yr
    short = (
        pd.Series(np.char.zfill(day, 2)) + "/" + np.char.zfill(mon, 2) + "/" + pd.Series(yr).str[2:]
    )
    serial = pd.Series(rng.integers(11000, 43000, n).astype(str))
    pick = rng.random(n)
    ddn = np.where(
        pick < 0.2, "NULL", np.where(pick < 0.3, short, np.where(pick < 0.35, serial, ddn))
    )
    ph = rng.integers(600000000, 799999999, n).astype(str)
    phone = np.where(
        rng.random(n) < 0.5,
        "0" + pd.Series(ph),
        "+33 " + pd.Series(ph).str[0] + " " + pd.Series(ph).str[1:],
    )
    nir = np.where(rng.random(n) < 0.4, "", _nirs(rng, n))
    sample = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 2100, n), unit="D")
    df = pd.DataFrame(
        {
            "Nom": np.asarray(SURNAMES)[rng.integers(0, len(SURNAMES), n)],
            "Prénom": np.asarray(FIRST)[rng.integers(0, len(FIRST), n)],
            "DDN": ddn,
            "N° SS": nir,
            "Tel": phone,
            "Adresse": pd.Series(rng.integers(1, 200, n).astype(str))
            + " bd "
            + np.asarray(SURNAMES)[rng.integers(0, 20, n)],
            "CP": np.char.zfill(rng.integers(1000, 95999, n).astype(str), 5),
            "Ville": np.asarray(["Paris", "Lyon", "St-Étienne", "Marseille"])[
                rng.integers(0, 4, n)
            ],
            "Date prélèvement": sample.strftime("%d/%m/%Y"),
        }
    )
    third = n // 3
    a, b, c = df.iloc[:third], df.iloc[third : 2 * third], df.iloc[2 * third :]
    a.to_csv(folder / "dump_a.csv", sep=";", index=False, encoding="utf-8")
    # b overlaps a by 1 % (the same rows copied), cp1252, comma
    pd.concat([b, a.iloc[: n // 100]]).to_csv(
        folder / "dump_b.csv", sep=",", index=False, encoding="cp1252"
    )
    c.to_csv(folder / "dump_c.txt", sep="\t", index=False, encoding="utf-16")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        make_dump(folder, n)
        print(f"generated {n:,} rows (+{n // 100:,} copied) in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        d = read_dump(folder, case_key=CaseKey(b"benchmark-key-0123456789abcdef01"))
        dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
        lines = d.report["lines"]
        print(
            f"read_dump: {dt:.1f} s, {lines['lines'] / dt:,.0f} lines/s; peak RSS {peak / 2**20:,.0f} MiB"
        )
        print(f"lines: {lines}; accounted: {d.report['accounted']}")
        print(f"nir: {d.report['nir']}; phone: {d.report['phone']}")
        print(f"mojibake repaired: {d.report['mojibake_repaired']}; dates: {d.report['dates']}")
        # the same people as one patient index of N rows (IPP column added), ; UTF-8
        idx_dir = folder / "index"
        idx_dir.mkdir()
        frames = [pd.read_csv(folder / "dump_a.csv", sep=";", dtype=str, keep_default_na=False)]
        df = pd.concat([frames[0]] * 3, ignore_index=True).iloc[:n]
        df.insert(0, "IPP", pd.Series(range(n)).astype(str).str.zfill(8))
        df.to_csv(idx_dir / "PATIENTS_L01.csv", sep=";", index=False)
        t0 = time.perf_counter()
        ix = read_patient_index(idx_dir, case_key=CaseKey(b"benchmark-key-0123456789abcdef01"))
        dt = time.perf_counter() - t0
        lines = ix.report["lines"]
        print(f"read_patient_index: {dt:.1f} s, {lines['lines'] / dt:,.0f} lines/s; {lines}")


if __name__ == "__main__":
    main()
