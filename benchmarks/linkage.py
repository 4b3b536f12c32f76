"""Benchmark of the leak linkage (issue 13): a script, not a test.

Generates (vectorised, tests/leak/gen_people.py, in the frame shape of
LEAK-CONTRACT.md) a dump against patient indexes, then runs the linkage with its
decoy linkage and today's exact-NIR baseline, and prints: comparisons per
blocking rule, time per phase, peak memory (RSS of the process tree, sampled
every 0.2 s) against the targets (< 10 min, < 6 GiB), precision / recall per
class from the generator's truth, and the estimated vs true not-indexed
false-match rate per threshold.

By default (``--files``) the generated frames are first written as files in the
formats of ``shared/formats/`` (``PATIENTS_<LAB>.csv`` in the reference layout,
one ``dump.csv``) and read back through :func:`~labforensics.leak.patients.read_patient_index`
and :func:`~labforensics.leak.dump.read_dump` (timed: the issue's 10 minutes
include reading the files); the links are mapped back to the generator's ids by
(lab, IPP) and dump line for scoring, and a dump row the reader did not keep
stays in the recall denominator as unlinked. ``--frames`` links the frames
directly (the linkage alone).

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/linkage.py --index 1500000 --dump 500000 --labs 30
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "leak"))
from gen_people import GenRates, evaluate, make_case

from labforensics.leak.dump import read_dump
from labforensics.leak.linkage import LinkageParams, link_dump
from labforensics.leak.patients import read_patient_index
from labforensics.leak.relative_decoy import exposed_rows
from labforensics.privacy import CaseKey, KeyedIds

#: The three generator settings of issue 13 ("rates differ": NIR missing 30 % / 60 %,
#: names mangled 15 % / 30 %, outsiders 5 % / 10 %, half of them relatives).
SETTINGS = {
    "base": GenRates(),
    "mid": GenRates(nir_missing=0.45, mangled=0.22, outsiders=0.05),
    "hard": GenRates(nir_missing=0.60, mangled=0.30, outsiders=0.10),
}

TARGET_SECONDS = 600
BENCH_KEY = CaseKey(b"benchmark-key-0123456789abcdef01")
TARGET_BYTES = 6 * 1024**3


class PeakRSS:
    """Peak RSS of this process and its children, sampled in a thread."""

    def __init__(self, period: float = 0.2) -> None:
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
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
            self.samples.append((time.perf_counter(), total))
            time.sleep(period)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Phases(logging.Handler):
    """Phase marks (wall clock, process CPU incl. DuckDB's threads): the benchmark's own
    and the linkage's ``phase <name>`` debug records."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.marks: list[tuple[str, float, float]] = []

    def mark(self, name: str) -> None:
        self.marks.append((name, time.perf_counter(), time.process_time()))

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("phase "):
            self.mark("link:" + msg[6:])

    def table(self, samples: list[tuple[float, int]]) -> pd.DataFrame:
        rows = []
        for (name, t, c), (_, t2, c2) in zip(self.marks, self.marks[1:], strict=False):
            inside = [r for s, r in samples if t <= s <= t2]
            rows.append({"phase": name, "wall_s": round(t2 - t, 1), "cpu_s": round(c2 - c, 1),
                         "peak_rss_gib": round(max(inside, default=0) / 1024**3, 2)})  # fmt: skip
        return pd.DataFrame(rows)


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


INDEX_HEADER = (
    "IPP;NOM;NOM_NAISSANCE;PRENOM;SEXE;DATE_NAISSANCE;NIR;QUALITE;RANG;ADRESSE;"
    "CODE_POSTAL;VILLE;TELEPHONE;DATE_CREATION;DERNIERE_VISITE"
)
DUMP_HEADER = "NOM;PRENOM;SEXE;DATE_NAISSANCE;NIR;ADRESSE;CODE_POSTAL;VILLE;TELEPHONE"


def _dmy(iso: pd.Series) -> pd.Series:
    """'YYYY-MM-DD' -> 'dd/mm/yyyy' (the formats' local dates); missing -> ''."""
    s = iso.astype("string")
    return (s.str.slice(8, 10) + "/" + s.str.slice(5, 7) + "/" + s.str.slice(0, 4)).fillna("")


def _cells(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: df[c].astype("string").fillna("") for c in cols})


def _join_cells(df: pd.DataFrame) -> list[str]:
    """Each row's cells joined by ';' (vectorised in Arrow; cells are never NA here)."""
    cols = [pa.array(df[c].astype(str).to_numpy(), type=pa.string()) for c in df.columns]
    return pc.binary_join_element_wise(*cols, ";").to_pylist()


def write_files(index: pd.DataFrame, dump: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """Write the frames as files; return (lab, IPP, generator record id) per index record."""
    idx = index.reset_index(drop=True)
    ipp = pd.Series(np.arange(1, len(idx) + 1), dtype="int64").map("{:08d}".format)
    out = _cells(idx, ["surname", "birth_name", "first_name", "sex"])
    out.insert(0, "IPP", ipp)
    out["DATE_NAISSANCE"] = _dmy(idx["birth_date"])
    out = pd.concat([out, _cells(idx, ["nir", "qualite"])], axis=1)
    out["RANG"] = idx["rang"].astype("string").fillna("1")
    out = pd.concat([out, _cells(idx, ["address", "postcode", "city", "phone"])], axis=1)
    out["DATE_CREATION"] = "02/01/2015"
    out["DERNIERE_VISITE"] = ""
    (folder / "patients").mkdir()
    for lab, part in out.groupby(idx["lab"].astype(str), sort=True):
        lines = _join_cells(part)
        text = INDEX_HEADER + "\n" + "\n".join(lines) + "\n"
        (folder / "patients" / f"PATIENTS_{lab}.csv").write_text(text, encoding="utf-8")
    d = dump.reset_index(drop=True)
    dout = _cells(d, ["surname", "first_name", "sex"])
    dout["DATE_NAISSANCE"] = _dmy(d["birth_date"])
    dout = pd.concat([dout, _cells(d, ["nir", "address", "postcode", "city", "phone"])], axis=1)
    lines = _join_cells(dout)
    (folder / "dump").mkdir()
    (folder / "dump" / "dump.csv").write_text(
        DUMP_HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    return pd.DataFrame(
        {
            "lab": idx["lab"].astype("string"),
            "ipp": ipp.astype("string"),
            "gen_id": idx["record_id"].astype("string"),
        }
    )


def read_files(folder: Path):
    """Read the files back (what is timed): index people, dump people."""
    ix = read_patient_index(folder / "patients", case_key=BENCH_KEY)
    dm = read_dump(folder / "dump", case_key=BENCH_KEY)
    return ix, dm


def id_maps(index_ids: pd.DataFrame, dump_people: pd.DataFrame, dump_ids: pd.Series):
    """P id -> generator id and D id -> generator id (string Series), for scoring only.

    The reader keys (lab, IPP) into the P id: rebuilt here with the same key; a dump
    row's generator id is found from its line (header on line 1)."""
    pseud = KeyedIds(BENCH_KEY).patients(index_ids["lab"].tolist(), index_ids["ipp"].tolist())
    p_ids = pd.Series(index_ids["gen_id"].to_numpy(), index=pd.Index(pseud.to_pandas()))
    lines = dump_people["source_line"].astype("int64").to_numpy()
    d_ids = pd.Series(
        dump_ids.to_numpy()[lines - 2],
        index=pd.Index(dump_people["record_id"].astype(str).to_numpy()),
    )
    return p_ids, d_ids


def to_generator_ids(links: pd.DataFrame, mapped, dump: pd.DataFrame) -> pd.DataFrame:
    """Links with the generator's ids; a dump row the reader dropped is an unlinked row."""
    p_ids, d_ids = mapped
    out = links.copy()
    out["row_id"] = out["row_id"].astype(str).map(d_ids)
    for col in ("patient", "runner_up_patient"):
        out[col] = out[col].astype("string").map(p_ids, na_action="ignore")
    missing = sorted(set(dump["record_id"].astype(str)) - set(out["row_id"]))
    extra = pd.DataFrame({"row_id": missing, "match": "none", "probability": 0.0})
    return pd.concat([out, extra], ignore_index=True)


def _relation(p: pd.Series, q: pd.Series) -> str:
    """The generator's relation of a dump row's true person ``p`` to the linked record's ``q``."""
    if p["hh"] != q["hh"]:
        return "other household"
    kinds = {0: "insured", 1: "spouse"}
    a, b = kinds.get(int(p["member"]), "child"), kinds.get(int(q["member"]), "child")
    if a == b == "child":
        return "twin" if p["dob"] == q["dob"] else "sibling"
    return f"{a} -> {b}"  # the dump row's person -> the linked record's person


def wrong_links(
    links: pd.DataFrame,
    levels: pd.DataFrame,
    truth: pd.DataFrame,
    details: dict,
    dump: pd.DataFrame,
) -> pd.DataFrame:
    """Rows linked to a record of another person (analysis only: the generator's truth).

    ``links``/``levels`` in generator ids. One row per wrong link: the dump row's kind
    (``relative`` = outsider relative), the relation of its true person to the linked
    record's person, the deciding levels and what the dump row held."""
    linked = links[links["match"].isin(["unique", "two_labs"])]
    t = truth.set_index("row_id")
    df = linked.join(t, on="row_id", how="inner")
    ok = np.array(
        [bool(p) and p in r.split("|") for p, r in
         zip(df["patient"].fillna(""), df["records"].fillna(""), strict=True)]
    )  # fmt: skip
    bad = df[~ok]
    if bad.empty:
        return pd.DataFrame()
    people = details["people"].set_index("person")
    q = bad["patient"].map(details["record_person"])
    lv = levels.set_index(["row_id", "patient"])
    d = dump.set_index("record_id")
    rows = []
    for (_, r), qp in zip(bad.iterrows(), q, strict=True):  # per wrong link (a handful)
        key = (r["row_id"], r["patient"])
        lev = lv.loc[key] if key in lv.index else None
        rel = (
            "fabricated" if r["person"] < 0 else _relation(people.loc[r["person"]], people.loc[qp])
        )
        dr = d.loc[r["row_id"]]
        pp, qq = (people.loc[r["person"]] if r["person"] >= 0 else None), people.loc[qp]
        rows.append(
            {
                "kind": r["kind"],
                "match": r["match"],
                "relation": rel,
                "linked_qualite": qq["qualite"],
                "same_first_name": None if pp is None else pp["first_name"] == qq["first_name"],
                "same_sex": None if pp is None else pp["sex"] == qq["sex"],
                "same_birth_year": None if pp is None else pp["dob"].year == qq["dob"].year,
                "dump_nir": pd.notna(dr["nir"]),
                "dump_dob": pd.notna(dr["birth_date"]),
                **{
                    c: (None if lev is None else lev[c])
                    for c in ("nir", "dob", "first_name", "household")
                },
                "weight": None if lev is None else lev["match_weight"],
                "p": r["probability"],
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=int, default=150_000)
    ap.add_argument("--dump", type=int, default=50_000)
    ap.add_argument("--labs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--memory-gib", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--setting", choices=sorted(SETTINGS), default="base",
                    help="generator rates (issue 13's three settings)")  # fmt: skip
    ap.add_argument("--relative-sample", type=int, default=LinkageParams().relative_sample_rows,
                    help="dump rows scored against the relative decoy (0: none)")  # fmt: skip
    ap.add_argument("--frames", dest="files", action="store_false",
                    help="link the generated frames directly (no files written and read)")  # fmt: skip
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="lf-bench-linkage-")

    phases = Phases()
    link_log = logging.getLogger("labforensics.leak.linkage")
    link_log.setLevel(logging.DEBUG)
    link_log.addHandler(phases)
    with PeakRSS() as rss:
        phases.mark("generate")
        t0 = time.perf_counter()
        details: dict = {}
        index, dump, truth = make_case(
            args.index, args.dump, args.labs, seed=args.seed, rates=SETTINGS[args.setting],
            details=details,
        )  # fmt: skip
        # the error analysis's people, compact (categories: ~100 MB at 2.5 M people)
        pe = details["people"].drop(columns=["nir"])
        for c in ("sex", "first_name", "qualite"):
            pe[c] = pe[c].astype("category")
        details["people"] = pe
        t_gen = time.perf_counter() - t0
        print(f"generated {len(index):,} index records, {len(dump):,} dump rows in {t_gen:.1f} s")
        t_read, mapped = 0.0, None
        if not args.files:
            link_index, link_dump_rows = index, dump
        else:
            folder = Path(tmp.name)
            phases.mark("write files")
            index_ids = write_files(index, dump, folder)
            # only the NIR baseline reads the generator's index after this (harness memory)
            index = index[["record_id", "nir"]].copy()
            phases.mark("read files")
            t1 = time.perf_counter()
            ix, dm = read_files(folder)
            t_read = time.perf_counter() - t1
            phases.mark("id maps")
            p_ids, d_ids = id_maps(index_ids, dm.people, dump["record_id"].astype(str))
            del index_ids
            print(
                f"read {len(ix.people):,} index patients and {len(dm.people):,} dump rows "
                f"from files in {t_read:.1f} s (dump lines: {dm.report['lines']})"
            )
            link_index, link_dump_rows, mapped = ix.people, dm.people, (p_ids, d_ids)
        t1 = time.perf_counter()
        params = LinkageParams(
            memory_budget_bytes=int(args.memory_gib * 1024**3),
            threads=args.threads,
            relative_sample_rows=args.relative_sample,
        )
        res = link_dump(link_index, link_dump_rows, seed=args.seed, params=params)
        t_link = time.perf_counter() - t1
        phases.mark("exact-NIR")
        t2 = time.perf_counter()
        base = exact_nir_baseline(index, dump, truth)
        t_base = time.perf_counter() - t2
        phases.mark("end")

    print("\ncomparisons per blocking rule (Splink count_comparisons_from_blocking_rules):")
    print(res.comparisons.to_string(index=False))
    total = int(res.comparisons["cumulative"].iloc[-1])
    print(f"total {total:,} (target <= 50,000,000 at 500k x 1.5M)")
    print("\ntime per phase (s):")
    for k, v in res.timings.items():
        print(f"  {k:16s} {v:8.1f}")
    print(f"  {'linkage':16s} {t_link:8.1f}")
    print(f"  {'reading files':16s} {t_read:8.1f}")
    total_s = t_link + t_read
    print(f"  {'total':16s} {total_s:8.1f}   (target < {TARGET_SECONDS} s: "
          f"{'met' if total_s < TARGET_SECONDS else 'NOT met'})")  # fmt: skip
    print(f"  {'exact-NIR':16s} {t_base:8.1f}")
    print("\nper phase (wall, process CPU incl. DuckDB threads, peak RSS of the tree):")
    print(phases.table(rss.samples).to_string(index=False))
    peak_ok = "met" if rss.peak < TARGET_BYTES else "NOT met"
    print(f"peak RSS (process tree) {rss.peak / 1024**3:.2f} GiB (target < 6 GiB: {peak_ok})")
    links_at = res.links_at
    if mapped is not None:  # back to the generator's ids; unread dump rows stay unlinked
        links_at = lambda t: to_generator_ids(res.links_at(t), mapped, dump)  # noqa: E731
    print(f"\nthreshold {res.threshold} (lowest with estimated FMR <= 1 %)")
    print(res.links["match"].value_counts().to_string())
    print("\nper threshold: estimated vs true not-indexed false-match rate")
    rows = []
    for t, est, upper in zip(
        res.fmr["threshold"], res.fmr["fmr"], res.fmr["fmr_upper"], strict=True
    ):
        ev = evaluate(links_at(t), truth, t)
        rows.append(
            {
                "threshold": t,
                "linked": ev["linked"],
                "precision": round(ev["precision"], 4),
                "recall": round(ev["recall"], 4),
                "est_fmr": round(est, 5),
                "est_fmr_exact": float(est),
                "upper": round(upper, 5),
                "true_fmr": round(ev["true_fmr"], 5),
                "not_indexed_links": ev["not_indexed_links"],
                "relative_linked": ev["relative_linked"],
                "wrong_indexed": ev["wrong_indexed"],
            }
        )
    print(pd.DataFrame(rows).drop(columns=["est_fmr_exact"]).to_string(index=False))
    # issue 13's criterion "the share of outsider-relative rows linked <= the estimated
    # rate", in both readings: over the links (as the FMR is, against the combined
    # estimate) and over the outsider-relative rows (against the relative decoy's
    # per-row rate q_r, the estimate of that share: relative_decoy step 5)
    n_rel = int((truth["kind"] == "relative").sum())
    exposed = exposed_rows(res.candidates).astype(str)
    if mapped is not None:
        exposed = exposed.map(mapped[1])
    rel_rows = truth[truth["kind"] == "relative"]
    n_rel_exposed = int(rel_rows["row_id"].isin(set(exposed)).sum())
    print(f"\noutsider-relative rows: {n_rel:,} in the dump, {n_rel_exposed:,} exposed (a "
          "candidate agreeing on household fields); the estimate and its parts "
          "(relative_decoy, steps 1-6):")  # fmt: skip
    crit_rows = []
    for r, f in zip(rows, res.fmr.itertuples(index=False), strict=True):
        lk = links_at(r["threshold"])
        linked_ids = set(lk.loc[lk["match"].isin(["unique", "two_labs"]), "row_id"])
        rel_exp_linked = int(
            (rel_rows["row_id"].isin(linked_ids) & rel_rows["row_id"].isin(set(exposed))).sum()
        )
        crit_rows.append(
            {
                "threshold": r["threshold"],
                "links": r["linked"],
                "rel_linked": r["relative_linked"],
                "rel_%links": 100 * r["relative_linked"] / max(r["linked"], 1),
                "rel_%relrows": 100 * r["relative_linked"] / max(n_rel, 1),
                "true_%exposed_rel": 100 * rel_exp_linked / max(n_rel_exposed, 1),
                "q_s_%": 100 * f.stranger_rate,
                "D_u/N_u": f"{f.decoy_unexposed_links}/{f.decoy_unexposed_rows}",
                "q_r_%": 100 * f.relative_rate,
                "q_r_hi_%": 100 * f.relative_rate_high,
                "D_r/E_r": f"{f.relative_links}/{f.relative_exposed}",
                "X/U": f"{f.unlinked_exposed}/{len(res.links) - f.real_links}",
                "est_str_%": 100 * f.fmr_stranger,
                "est_rel_%": 100 * f.fmr_relative,
                "est_%": 100 * f.fmr,
                "est_hi_%": 100 * f.fmr_high,
                "true_%": 100 * r["not_indexed_links"] / max(r["linked"], 1),
                "not_idx": r["not_indexed_links"],
            }
        )
    crit = pd.DataFrame(crit_rows)
    crit["met (links)"] = crit["rel_%links"] <= crit["est_%"]
    crit["met (rel. rows vs q_r)"] = crit["rel_%relrows"] <= crit["q_r_%"]
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(crit.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"relative decoy: {int(res.fmr['relative_sample'].iloc[0]):,} dump rows sampled "
          f"(LinkageParams.relative_sample_rows={params.relative_sample_rows:,}); q_r_hi: "
          "95 % Clopper-Pearson upper bound")  # fmt: skip
    # every wrong link at the chosen threshold, with the levels that decided it
    lv = res.levels
    if mapped is not None:
        p_ids, d_ids = mapped
        lv = lv.assign(
            row_id=lv["row_id"].astype(str).map(d_ids),
            patient=lv["patient"].astype("string").map(p_ids),
        )
    wrong = wrong_links(links_at(res.threshold), lv, truth, details, dump)
    print(f"\nwrong links at threshold {res.threshold} (generator's truth; analysis only): "
          f"{len(wrong)}")  # fmt: skip
    if len(wrong):
        with pd.option_context("display.width", 250, "display.max_columns", 30):
            print(wrong.sort_values(["kind", "relation"]).to_string(index=False))
    # per class at the chosen threshold
    d = dump.set_index("record_id")
    strong = (d["nir"].notna() | d["birth_date"].notna()).rename("strong")
    tr = truth.join(strong, on="row_id")
    for name, mask in (("NIR or birth date", tr["strong"]), ("names+contact only", ~tr["strong"])):
        ev = evaluate(links_at(res.threshold), tr[mask.to_numpy()], res.threshold)
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
