"""A small vectorised generator of canonical person frames with their linkage truth.

Used by tests/leak (medium cases) and benchmarks/linkage.py. It writes no file and
depends on no reader: it builds the frames of LEAK-CONTRACT.md directly (fake people
only). Households share surname, address, postcode, phone and the insured person's
NIR; dependants carry it (QUALITE 02/06, twins RANG 1/2); some people are at two labs
or hold two IPPs at one lab; dump rows are mangled at stated rates; outsiders are
relatives of indexed patients or strangers; fabricated rows mix random fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STR = "string"
_CONS = np.array(list("BCDFGLMNPRSTV"))
_VOW = np.array(["A", "E", "I", "O", "OU", "AN", "ON", "EAU", "IN", "U"])


@dataclass(frozen=True)
class GenRates:
    """Rates of the generated case (fractions)."""

    two_labs: float = 0.04
    duplicates: float = 0.02
    nir_missing: float = 0.30
    dob_missing: float = 0.20
    mangled: float = 0.15
    swap: float = 0.03
    outsiders: float = 0.08
    fabricated: float = 0.02
    rows_per_person: float = 1.3
    address_missing: float = 0.2
    phone_missing: float = 0.3
    relatives_share: float = 0.5
    n_postcodes: int = 0  # 0: random among 95,000; else that many distinct postcodes
    vocabulary: float = 1.0  # scale of the name vocabularies (small: many namesakes)


def _names(rng: np.random.Generator, n: int, syll: tuple[int, int]) -> np.ndarray:
    k = rng.integers(syll[0], syll[1] + 1, n)
    out = np.full(n, "", dtype=object)
    for i in range(syll[1]):
        part = _CONS[rng.integers(0, len(_CONS), n)] + _VOW[rng.integers(0, len(_VOW), n)]
        out = np.where(i < k, out + part, out)
    tail = _CONS[rng.integers(0, len(_CONS), n)]
    out = np.where(rng.random(n) < 0.5, out + tail, out)
    return np.unique(out.astype(str))


def _zipf_pick(rng: np.random.Generator, vocab: np.ndarray, n: int, top: float) -> np.ndarray:
    """Draw from ``vocab`` with weights k**-a, ``a`` chosen so the first value has share ~``top``."""
    ranks = np.arange(1, len(vocab) + 1, dtype=float)
    exps = np.linspace(0.05, 1.5, 59)
    shares = np.array([1.0 / (ranks**-e).sum() for e in exps])
    e = exps[np.argmin(np.abs(shares - top))]
    w = ranks**-e
    return vocab[rng.choice(len(vocab), n, p=w / w.sum())]


def _nir(sex: np.ndarray, dob: pd.Series, rng: np.random.Generator) -> np.ndarray:
    yy = (dob.dt.year % 100).to_numpy()
    mm = dob.dt.month.to_numpy()
    dept = rng.integers(1, 96, len(sex))
    commune = rng.integers(1, 999, len(sex))
    order = rng.integers(1, 999, len(sex))
    base = (
        np.where(sex == "M", 1, 2).astype(np.int64) * 10**12
        + yy.astype(np.int64) * 10**10
        + mm.astype(np.int64) * 10**8
        + dept.astype(np.int64) * 10**6
        + commune.astype(np.int64) * 10**3
        + order.astype(np.int64)
    )
    key = 97 - base % 97
    return np.char.add(
        np.char.zfill(base.astype(str), 13), np.char.zfill(key.astype(str), 2)
    ).astype(object)


def _mangle(rng: np.random.Generator, s: pd.Series, mask: np.ndarray) -> pd.Series:
    """Drop or double one character of the names under ``mask``."""
    vals = s.fillna("").to_numpy(dtype=object)
    lens = np.array([len(v) for v in vals])
    pos = (rng.random(len(vals)) * np.maximum(lens - 1, 1)).astype(int) + 1
    out = vals.copy()
    sel = np.flatnonzero(mask & (lens > 3))
    kind = rng.random(len(sel)) < 0.5
    for j, i in enumerate(sel):  # per mangled value: a small share of rows
        v, p = vals[i], pos[i]
        out[i] = v[:p] + v[p + 1 :] if kind[j] else v[:p] + v[p - 1] + v[p:]
    res = pd.Series(out, index=s.index, dtype=STR)
    return res.mask(s.isna())


def make_case(
    n_index: int,
    n_dump: int,
    n_labs: int,
    seed: int,
    rates: GenRates | None = None,
    details: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Generate index people, dump people and the truth.

    Returns
    -------
    index_people, dump_people : pandas.DataFrame
        Contract frames (LEAK-CONTRACT.md columns and dtypes).
    truth : pandas.DataFrame
        ``row_id``, ``person`` (int64, -1 fabricated), ``indexed`` (bool), ``kind``
        (``indexed``, ``relative``, ``stranger``, ``fabricated``), and
        ``records``: a ``|``-joined list of the person's index record ids.

    If ``details`` is a dict it receives, for analyses only (the same draws),
    ``people`` (every generated person: ``person``, ``hh``, ``member`` (0 the
    insured person, 1 the spouse, 2-3 children), ``sex``, ``dob``, ``first_name``,
    ``nir``, ``qualite``, ``rang``) and ``record_person`` (index ``record_id`` ->
    ``person``).
    """
    rates = rates or GenRates()
    rng = np.random.default_rng(seed)
    surnames = _names(rng, max(20, int(max(2000, n_index // 20) * rates.vocabulary)), (2, 3))
    female = _names(rng, max(10, int(400 * rates.vocabulary)), (2, 3))
    male = _names(rng, max(10, int(400 * rates.vocabulary)), (2, 2))
    # population: households with 1-4 members; ~60 % of people indexed
    n_people = int(n_index * 1.7)
    sizes = rng.choice([1, 2, 3, 4], size=n_people // 2, p=[0.35, 0.3, 0.2, 0.15])
    sizes = sizes[np.cumsum(sizes) <= n_people]
    hh = np.repeat(np.arange(len(sizes)), sizes)
    n = len(hh)
    member = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    sex = np.where(rng.random(n) < 0.5, "M", "F")
    hh_surname = _zipf_pick(rng, surnames, len(sizes), 0.004)
    surname = hh_surname[hh]
    # parent birth 1940-1990, children 1995-2020 (twins: member 3 copies member 2's date)
    parent_dob = pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.integers(0, 50 * 365, n), "D")
    child_dob = pd.Timestamp("1995-01-01") + pd.to_timedelta(rng.integers(0, 25 * 365, n), "D")
    dob = pd.Series(np.where(member < 2, parent_dob, child_dob))
    twin = (member == 3) & (rng.random(n) < 0.15)
    dob[twin] = dob.shift(1)[twin]
    fn = np.where(sex == "F", _zipf_pick(rng, female, n, 0.02), _zipf_pick(rng, male, n, 0.02))
    fn = fn.astype(object)
    compound = rng.random(n) < 0.1
    fn = np.where(compound, fn + " " + _zipf_pick(rng, male, n, 0.02), fn)
    own_nir = _nir(sex, dob, rng)
    insured_idx = np.repeat(np.cumsum(sizes) - sizes, sizes)  # member 0 insures all
    spouse_own = (member == 1) & (rng.random(n) < 0.7)
    nir = np.where(spouse_own, own_nir, own_nir[insured_idx])
    qualite = np.where(member == 0, "00", np.where(member == 1, "02", "06"))
    qualite = np.where(spouse_own, "00", qualite)
    rang = np.where(twin, 2, 1)
    addr_no = rng.integers(1, 200, len(sizes))
    street = _zipf_pick(rng, surnames, len(sizes), 0.01)
    address = (pd.Series(addr_no).astype(str) + " RUE " + street).to_numpy()[hh]
    high = 1000 + rates.n_postcodes if rates.n_postcodes else 96000
    postcode = pd.Series(rng.integers(1000, high, len(sizes))).astype(str).str.zfill(5)
    postcode = postcode.to_numpy()[hh]
    phone = "+336" + pd.Series(rng.integers(0, 10**8, len(sizes))).astype(str).str.zfill(8)
    phone = phone.to_numpy()[hh]
    people = pd.DataFrame(
        {
            "person": np.arange(n),
            "hh": hh,
            "surname": surname,
            "first_name": fn,
            "sex": sex,
            "dob": dob,
            "nir": nir,
            "qualite": qualite,
            "rang": rang,
            "address": address,
            "postcode": postcode,
            "city": "VILLE" + pd.Series(postcode).str.slice(0, 2),
            "phone": phone,
        }
    )
    # indexed: whole households are indexed with prob 0.8, each member then with 0.75
    hh_in = rng.random(len(sizes)) < 0.8
    indexed = hh_in[hh] & (rng.random(n) < 0.75)
    idx_people = people[indexed]
    idx_people = idx_people.iloc[:n_index]
    labs = np.array([f"LAB{i:02d}" for i in range(n_labs)])
    lab = labs[rng.integers(0, n_labs, len(idx_people))]
    recs = idx_people.assign(lab=lab)
    second = recs[rng.random(len(recs)) < rates.two_labs].copy()
    second["lab"] = labs[(np.searchsorted(labs, second["lab"]) + 1) % n_labs]
    dup = recs[rng.random(len(recs)) < rates.duplicates].copy()
    dup["first_name"] = _mangle(rng, dup["first_name"].astype(STR), np.ones(len(dup), bool))
    recs = pd.concat([recs, second, dup], ignore_index=True)
    recs["record_id"] = pd.Series([f"P{i:015x}" for i in rng.permutation(10**7)[: len(recs)]])
    index_people = _frame(recs, "index", rng)
    if details is not None:
        cols = ["person", "hh", "sex", "dob", "first_name", "nir", "qualite", "rang"]
        details["people"] = people[cols].assign(member=member)
        details["record_person"] = pd.Series(
            recs["person"].to_numpy(), index=pd.Index(recs["record_id"].astype(STR))
        )

    # dump rows
    n_out = int(n_dump * rates.outsiders)
    n_fab = int(n_dump * rates.fabricated)
    n_in = n_dump - n_out - n_fab
    in_ids = idx_people["person"].to_numpy()
    pick_in = rng.choice(in_ids, n_in, replace=True)
    not_indexed = people[~indexed & people["person"].isin(people["person"])]
    relatives = not_indexed[hh_in[not_indexed["hh"].to_numpy()]]["person"].to_numpy()
    strangers = not_indexed[~hh_in[not_indexed["hh"].to_numpy()]]["person"].to_numpy()
    n_rel = int(n_out * rates.relatives_share)
    pick_rel = rng.choice(relatives, n_rel, replace=True)
    pick_str = rng.choice(strangers, n_out - n_rel, replace=True)
    rows = people.set_index("person").loc[np.concatenate([pick_in, pick_rel, pick_str])]
    rows = rows.reset_index()
    kind = np.array(
        ["indexed"] * n_in + ["relative"] * len(pick_rel) + ["stranger"] * len(pick_str)
    )
    fab = people.sample(n_fab, random_state=int(rng.integers(1 << 30)), replace=True)
    fab = fab.reset_index(drop=True)
    for c in ("surname", "first_name", "dob", "nir", "address", "phone"):
        fab[c] = (
            people[c]
            .sample(n_fab, replace=True, random_state=int(rng.integers(1 << 30)))
            .to_numpy()
        )
    fab["person"] = -1
    rows = pd.concat([rows, fab[rows.columns]], ignore_index=True)
    kind = np.concatenate([kind, np.array(["fabricated"] * n_fab)])
    m = len(rows)
    rows["lab"] = pd.NA
    rows["nir"] = rows["nir"].where(rng.random(m) >= rates.nir_missing)
    mangled = rng.random(m) < rates.mangled
    which = rng.random(m) < 0.5
    rows["surname"] = _mangle(rng, rows["surname"].astype(STR), mangled & which)
    rows["first_name"] = _mangle(rng, rows["first_name"].astype(STR), mangled & ~which)
    swap = (rng.random(m) < rates.swap) & (rows["dob"].dt.day <= 12).to_numpy()
    d = rows["dob"]
    # the swap is written as the date read month-first
    swapped = pd.to_datetime(
        dict(year=d.dt.year, month=d.dt.day.clip(upper=12), day=d.dt.month), errors="coerce"
    )
    rows["dob"] = d.where(~swap, swapped)
    rows["dob"] = rows["dob"].where(rng.random(m) >= rates.dob_missing)
    rows["qualite"] = pd.NA
    rows["rang"] = pd.NA
    rows["address"] = rows["address"].where(rng.random(m) >= rates.address_missing)
    rows["phone"] = rows["phone"].where(rng.random(m) >= rates.phone_missing)
    rows["record_id"] = pd.Series([f"D{i:015x}" for i in rng.permutation(10**7)[:m]])
    dump_people = _frame(rows, "dump", rng)
    rec_of = recs.groupby("person")["record_id"].agg(lambda s: "|".join(sorted(s)))
    truth = pd.DataFrame(
        {
            "row_id": rows["record_id"].astype(STR),
            "person": rows["person"].astype("int64"),
            "indexed": kind == "indexed",
            "kind": pd.Series(kind, dtype=STR),
        }
    )
    truth["records"] = truth["person"].map(rec_of).astype(STR)
    return index_people, dump_people, truth


def _frame(p: pd.DataFrame, side: str, rng: np.random.Generator) -> pd.DataFrame:
    dob = pd.to_datetime(p["dob"])
    fn = p["first_name"].astype(STR)
    out = pd.DataFrame(
        {
            "record_id": p["record_id"].astype(STR),
            "lab": p["lab"].astype(STR),
            "source_file": pd.Series(
                "PATIENTS_" + p["lab"].astype(STR) + ".csv" if side == "index" else "dump.csv",
                index=p.index,
            ).astype(STR),
            "source_line": pd.Series(np.arange(2, len(p) + 2), index=p.index, dtype="int64"),
            "surname": p["surname"].astype(STR),
            "birth_name": pd.Series(pd.NA, index=p.index, dtype=STR),
            "first_name": fn,
            "first_name_first": fn.str.split(" ").str[0].astype(STR),
            "sex": p["sex"].astype(STR),
            "birth_date": dob.dt.strftime("%Y-%m-%d").astype(STR),
            "birth_year": dob.dt.year.astype("Int16"),
            "birth_month": dob.dt.month.astype("Int16"),
            "birth_day": dob.dt.day.astype("Int16"),
            "nir": p["nir"].astype(STR),
            "nir_raw_invalid": pd.Series(False, index=p.index),
            "qualite": p["qualite"].astype(STR),
            "rang": pd.to_numeric(p["rang"]).astype("Int8"),
            "address": p["address"].astype(STR),
            "postcode": p["postcode"].astype(STR),
            "city": p["city"].astype(STR),
            "phone": p["phone"].astype(STR),
        }
    )
    return out.reset_index(drop=True)


def evaluate(links: pd.DataFrame, truth: pd.DataFrame, threshold: float) -> dict[str, float]:
    """Precision, recall and the true not-indexed false-match rate of ``links``.

    A row is linked when ``match`` is ``unique``/``two_labs`` and ``probability`` >=
    ``threshold``; correct when its patient is one of the person's records.
    """
    t = truth.set_index("row_id")
    df = links.join(t, on="row_id", how="inner")
    linked = df["match"].isin(["unique", "two_labs"]) & (df["probability"] >= threshold)
    recs = df["records"].fillna("")
    correct = linked & np.array(
        [
            bool(p) and p in r.split("|")
            for p, r in zip(df["patient"].fillna(""), recs, strict=False)
        ]
    )
    outside = linked & ~df["indexed"]
    n_link = int(linked.sum())
    return {
        "linked": n_link,
        "correct": int(correct.sum()),
        "precision": correct.sum() / n_link if n_link else float("nan"),
        "recall": correct.sum() / max(int(df["indexed"].sum()), 1),
        "not_indexed_links": int(outside.sum()),
        "true_fmr": outside.sum() / n_link if n_link else float("nan"),
        "wrong_indexed": int((linked & df["indexed"] & ~correct).sum()),
        "relative_linked": int((linked & (df["kind"] == "relative")).sum()),
    }
