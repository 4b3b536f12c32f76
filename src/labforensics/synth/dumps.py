"""Leaked-dump writer of the synthetic linkage case (see :mod:`labforensics.synth.linkage`).

A dump is one row per sample, spread over several partly overlapping files
in the shapes of ``leak-dump.md``: separators ``;`` ``,`` ``|`` and tab,
UTF-8, UTF-8 with BOM, cp1252, UTF-16LE with BOM (tab-separated), one
fixed-width text file, dates ``dd/mm/yyyy``, ``dd/mm/yy``, ``yyyy-mm-dd`` and
spreadsheet serials (1900 system), empty cells ``NULL``, ``N/A``, ``-``,
``00/00/0000``. :data:`SHAPES` lists the files; each scenario writes some of
them.

Rows: each index row a source copied (registered by its copy date) gives
1 + Poisson rows (one per sample), sample dates uniform between the later of
registration and six years before the copy, and the earlier of the last visit
and the copy date (a patient not seen for six years keeps one sample on the
last visit); three rows per copied lab are dated on the copy day, which is
the horizon. Then rows of people in no index: relatives of the copied
patients (same household, in no index), people of households outside every
index, and fabricated rows (fields of unrelated people mixed, a fresh valid
NIR). Missing NIRs and birth dates are calibrated so that the share over the
written rows (files without the column included) meets the setting. Values
are the copied lab's spelling, then mangled per row.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._arrays import unique_sorted
from ..errors import ParameterError
from . import names as tb
from .dump_shapes import CLASSES, MANGLES, SHAPES, mangle, write_files
from .dump_shapes import moji as moji_text
from .people import LinkageSettings, lab_code
from .textfmt import day_of, fmt_phone, nir_strings, spaced_nir, ymd


def _sources(rng: np.random.Generator, scenario: str, labs: int, s: LinkageSettings) -> list[dict]:
    copy = day_of(s.copy_date)
    k = min(labs, s.dump_labs or max(1, math.ceil(labs / 3)))
    if scenario in ("vendor_extraction", "before_logs"):
        chosen = sorted(rng.choice(labs, k, replace=False).tolist())
        c = copy if scenario == "vendor_extraction" else day_of(s.evidence_start) - 180
        return [dict(source=1, labs=chosen, copy=c, subset=1.0, files=list(range(len(SHAPES))))]
    if scenario == "staff_export":
        return [dict(source=1, labs=[int(rng.integers(labs))], copy=copy, subset=0.3,
                     files=[0, 2, 4, 5])]  # fmt: skip
    if scenario == "intrusion":
        chosen = sorted(rng.choice(labs, min(2, labs), replace=False).tolist())
        return [dict(source=1, labs=chosen, copy=copy, subset=0.6, files=[1, 2, 3, 4, 6])]
    if labs < 2:
        raise ParameterError("scenario two_sources needs at least 2 labs")
    a, b = rng.choice(labs, 2, replace=False).tolist()
    return [
        dict(source=1, labs=[a], copy=copy - 150, subset=1.0, files=[0, 2, 4]),
        dict(source=2, labs=[b], copy=copy, subset=1.0, files=[1, 3, 5, 6]),
    ]


def _last(sd: dict, lab: int) -> int:
    """Newest day (day number) a source's copy of ``lab`` holds: ``last[lab]``, else its copy date.

    A night extraction (the audit-tied case) holds the registrations and
    samples up to the day before its date.
    """
    return int(sd.get("last", {}).get(lab, sd["copy"]))


def write_dump(
    rng: np.random.Generator,
    pop: dict,
    rec: dict,
    labs: int,
    s: LinkageSettings,
    scenario: str,
    out: Path,
    sources: list[dict] | None = None,
) -> dict:
    """Build the dump's rows, mangle them, write ``dump/*`` and ``linkage_truth.parquet``.

    Parameters
    ----------
    rng, pop, rec, labs, s, scenario, out
        As built by :func:`labforensics.synth.linkage.generate_linkage_case`
        (``rec`` carries the index's rendered names: ``out_surname``...).
    sources : list of dict, optional
        The copies, instead of drawing them for ``scenario``: ``source`` (1...),
        ``labs`` (lab indexes), ``copy`` (day number), ``subset``, ``files``
        (indexes into :data:`SHAPES`), and optionally ``last`` {lab: newest day
        held} and ``facts`` {lab: dict merged into its horizon record}.

    Returns
    -------
    dict
        ``paths`` (list of Path), ``rows`` (data rows written), ``rates``
        (measured), ``summary`` (sources, horizons, file shapes for the JSON).
    """
    if sources is None:
        sources = _sources(rng, scenario, labs, s)
    last_tab = np.array([[_last(sd, k) for k in range(labs)] for sd in sources], dtype=np.int64)
    sel, r_rec, r_src, sample = _indexed_rows(rng, rec, sources, last_tab, s)
    ni = _not_indexed(rng, pop, rec, sel, s, len(r_rec))
    v = _logical_rows(rng, rec, sources, last_tab, r_rec, r_src, sample, ni)
    _row_fields(rng, v, pop, rec, r_rec, ni)
    ph_log, ph_file, fidx = _place_in_files(rng, v, sources, s)
    has = lambda fld: np.array([any(c[0] == fld for c in sh["cols"]) for sh in SHAPES])  # noqa: E731
    no_nir_col = ~has("nir")[ph_file]
    no_birth_col = ~has("birth")[ph_file]
    _damage(rng, v, s, no_nir_col, no_birth_col)
    _texts(rng, v, labs, s)
    line, paths, shapes_out = write_files(rng, v, ph_log, ph_file, sources, s, out)
    # --- truth, one row per physical row, in (file, line) order
    ph_nir_written = ~v["nir_drop"][ph_log] & ~no_nir_col
    ph_birth_written = ~v["birth_drop"][ph_log] & ~no_birth_col
    n = len(v["person"])
    is_copy = np.arange(len(ph_log)) >= n
    truth = _truth_table(v, pop, rec, labs, ph_log, ph_file, fidx, line, sources, is_copy,
                         ph_nir_written, ph_birth_written)  # fmt: skip
    order = pc.sort_indices(truth, sort_keys=[("file", "ascending"), ("line", "ascending")])
    truth = truth.take(order)
    pq.write_table(truth, out / "linkage_truth.parquet", compression="zstd")
    rates = _rates(v, pop, rec, labs, ph_log, is_copy, ph_nir_written, ph_birth_written)
    summary = {
        "scenario": scenario,
        "sources": [
            {
                "source": sd["source"],
                "labs": [lab_code(x) for x in sd["labs"]],
                "copy_date": str(np.datetime64(sd["copy"], "D")),
                "subset": sd["subset"],
                "files": [SHAPES[x]["name"] for x in sd["files"]],
            }
            for sd in sources
        ],
        "horizons": _horizons(v, rec, sources, r_rec, len(r_rec)),
        "dump_files": shapes_out,
    }
    return {"paths": paths, "rows": len(ph_log), "rates": rates, "summary": summary}


def _indexed_rows(
    rng: np.random.Generator,
    rec: dict,
    sources: list[dict],
    last_tab: np.ndarray,
    s: LinkageSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The records each source copied (``sel``), then one row per sample: record, source, date."""
    sel, src_of = [], []
    for k, sd in enumerate(sources):
        m = np.isin(rec["lab"], sd["labs"]) & (rec["created"] <= last_tab[k][rec["lab"]])
        if sd["subset"] < 1:
            m &= rng.random(len(m)) < sd["subset"]
        idx = np.where(m)[0]
        sel.append(idx)
        src_of.append(np.full(len(idx), k))
    sel = np.concatenate(sel)
    src_sel = np.concatenate(src_of)
    if len(sel) == 0:
        raise ParameterError("no patient registered by the copy date: raise patients_per_lab")
    if s.dump_rows:
        target = s.dump_rows * (1 - s.outsiders) / (1 + s.duplicate_rows)
        if target < len(sel):
            keep = np.sort(rng.choice(len(sel), max(1, round(target)), replace=False))
            sel, src_sel = sel[keep], src_sel[keep]
            counts = np.ones(len(sel), np.int64)
        else:
            counts = 1 + rng.poisson(target / len(sel) - 1, len(sel))
    else:
        counts = 1 + rng.poisson(max(s.rows_per_patient - 1, 0), len(sel))
    r_rec = np.repeat(sel, counts)
    r_src = np.repeat(src_sel, counts)
    copy = last_tab[r_src, rec["lab"][r_rec]]
    hi = np.maximum(np.minimum(rec["last_visit"][r_rec], copy), rec["created"][r_rec])
    lo = np.maximum(rec["created"][r_rec], np.minimum(hi, copy - 6 * 365))  # six years kept
    sample = lo + (rng.random(len(r_rec)) * (hi - lo + 1)).astype(np.int64)
    for k, sd in enumerate(sources):  # the copy date is the horizon: a few samples on that day
        for lb in sd["labs"]:
            cand = np.where((r_src == k) & (rec["lab"][r_rec] == lb) & (hi == last_tab[k, lb]))[0]
            if len(cand):
                sample[rng.choice(cand, min(3, len(cand)), replace=False)] = last_tab[k, lb]
    return sel, r_rec, r_src, sample


def _not_indexed(
    rng: np.random.Generator, pop: dict, rec: dict, sel: np.ndarray, s: LinkageSettings, n_idx: int
) -> dict:
    """People in no index for the dump: relatives of the copied patients, outsiders, fabricated."""
    n_non = round(n_idx * s.outsiders / max(1 - s.outsiders, 1e-9))
    n_fab = round(n_non * s.fabricated)
    n_rel = round((n_non - n_fab) * s.outsider_relatives)
    n_oth = n_non - n_fab - n_rel
    hh_in = unique_sorted(pop["hh"][rec["person"][sel]])
    free = ~pop["indexed"] & ~pop["outside"]
    rel_pool = np.where(free & np.isin(pop["hh"], hh_in))[0]
    if len(rel_pool) == 0:
        rel_pool = np.where(free)[0]
    oth_pool = np.where(pop["outside"])[0]
    if len(oth_pool) == 0:
        n_fab, n_oth = n_fab + n_oth, 0
    if len(rel_pool) == 0:
        n_fab, n_rel = n_fab + n_rel, 0
    rel = rng.choice(rel_pool, n_rel) if n_rel else np.zeros(0, np.int64)
    oth = rng.choice(oth_pool, n_oth) if n_oth else np.zeros(0, np.int64)
    P = len(pop["hh"])
    # fabricated: fields of unrelated people mixed, a fresh NIR
    fab = {k: rng.integers(0, P, n_fab) for k in ("name", "first", "birth", "addr", "phone")}
    fsex = pop["sex"][fab["first"]]
    fy, fm, _ = ymd(pop["birth"][fab["birth"]])
    f13 = (
        fsex * 10**12 + (fy % 100) * 10**10 + fm * 10**8
        + (rng.integers(1, 96, n_fab) * 1000 + rng.integers(1, 900, n_fab)) * 1000
        + rng.integers(1, 1000, n_fab)
    )  # fmt: skip
    fnir = nir_strings(f13, np.zeros(n_fab, np.int64))
    return dict(o_person=np.concatenate([rel, oth]), n_rel=n_rel, n_oth=n_oth, n_fab=n_fab,
                fab=fab, fsex=fsex, fnir=fnir)  # fmt: skip


def _logical_rows(
    rng: np.random.Generator,
    rec: dict,
    sources: list[dict],
    last_tab: np.ndarray,
    r_rec: np.ndarray,
    r_src: np.ndarray,
    sample: np.ndarray,
    ni: dict,
) -> dict:
    """Logical rows (indexed, outsider relatives, outsiders, fabricated): who, source, date, lab."""
    n_idx, n_rel, n_oth, n_fab = len(r_rec), ni["n_rel"], ni["n_oth"], ni["n_fab"]
    o_person = ni["o_person"]
    n_o = len(o_person)
    cls = np.concatenate(
        [np.zeros(n_idx, np.int64), np.ones(n_rel, np.int64), np.full(n_oth, 2), np.full(n_fab, 3)]
    )
    person = np.concatenate([rec["person"][r_rec], o_person, np.full(n_fab, -1)])
    rec_of = np.concatenate([r_rec, np.full(n_o + n_fab, -1)])
    w_src = np.bincount(r_src, minlength=len(sources)) / n_idx
    src = np.concatenate([r_src, rng.choice(len(sources), n_o + n_fab, p=w_src)])
    copy_all = np.array([last_tab[k, sd["labs"]].min() for k, sd in enumerate(sources)])[src]
    sample = np.concatenate([sample, copy_all[n_idx:] - rng.integers(0, 5 * 365, n_o + n_fab)])
    lab_row = np.concatenate(
        [
            rec["lab"][r_rec],
            np.array([sd["labs"][0] for sd in sources])[src[n_idx:]],
        ]
    )
    lab_row[n_idx:] = np.where(
        rng.random(n_o + n_fab) < 0.5,
        lab_row[n_idx:],
        np.array([sd["labs"][-1] for sd in sources])[src[n_idx:]],
    )
    return dict(cls=cls, person=person, rec_of=rec_of, src=src, sample=sample, lab_row=lab_row)


def _cat(rec_field, pop_field, fab_field) -> np.ndarray:
    return np.concatenate(
        [
            np.asarray(rec_field, dtype=object),
            np.asarray(pop_field, dtype=object),
            np.asarray(fab_field, dtype=object),
        ]
    )


def _row_fields(
    rng: np.random.Generator, v: dict, pop: dict, rec: dict, r_rec: np.ndarray, ni: dict
) -> None:
    """Each logical row's values: the copied lab's spelling, the person's, or a fabricated mix."""
    o_person, fab, n_fab = ni["o_person"], ni["fab"], ni["n_fab"]
    n_io = len(r_rec) + len(o_person)
    person = v["person"]
    n = len(person)
    P = len(pop["hh"])
    v["sur"] = _cat(
        rec["out_surname"][r_rec], pop["surname"][o_person], pop["surname"][fab["name"]]
    )
    v["bn"] = _cat(rec["out_birth_name"][r_rec], pop["birth_name"][o_person], np.full(n_fab, ""))
    v["first"] = _cat(rec["out_first"][r_rec], pop["first"][o_person], pop["first"][fab["first"]])
    v["address"] = _cat(rec["out_address"][r_rec], pop["address"][o_person], pop["address"][fab["addr"]])  # fmt: skip
    v["city"] = _cat(rec["out_city"][r_rec], pop["city"][o_person], pop["city"][fab["addr"]])
    v["postcode"] = _cat(
        pop["postcode"][rec["person"][r_rec]],
        pop["postcode"][o_person],
        pop["postcode"][fab["addr"]],
    )
    person_or = np.maximum(person, 0)
    sex = np.where(person >= 0, pop["sex"][person_or], 0)
    sex[n_io:] = ni["fsex"]
    birth = np.where(person >= 0, pop["birth"][person_or], 0)
    birth[n_io:] = pop["birth"][fab["birth"]]
    v["sex"], v["birth"] = sex, birth
    v["partial"] = np.concatenate(
        [rec["partial"][r_rec], pop["month_unknown"][o_person], np.zeros(n_fab, bool)]
    )
    holder = np.concatenate([rec["nir_holder"][r_rec], pop["holder"][o_person], np.full(n_fab, -1)])
    nir = pop["nir"][np.maximum(holder, 0)].astype("U15")
    nir[n_io:] = ni["fnir"]
    nir_src_empty = holder < 0
    nir_src_empty[n_io:] = False
    v["holder"], v["nir"], v["nir_src_empty"] = holder, nir, nir_src_empty
    v["phone"] = np.concatenate(
        [rec["phone"][r_rec], pop["phone"][o_person], pop["phone"][fab["phone"]]]
    )
    v["gp"] = np.where(person >= 0, pop["gp"][person_or], pop["gp"][rng.integers(0, P, n)])
    v["insurer"] = np.where(
        person >= 0, pop["insurer"][person_or], pop["insurer"][rng.integers(0, P, n)]
    )
    v["blood"] = np.where(person >= 0, pop["blood"][person_or], pop["blood"][rng.integers(0, P, n)])
    v["exam"] = np.asarray(tb.EXAMS, dtype=object)[rng.integers(0, len(tb.EXAMS), n)]
    v["result"] = np.asarray(tb.RESULTS, dtype=object)[rng.integers(0, len(tb.RESULTS), n)]


def _place_in_files(
    rng: np.random.Generator, v: dict, sources: list[dict], s: LinkageSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each logical row in one file of its source, some copied into another: physical rows."""
    src = v["src"]
    n = len(src)
    files_of = [sd["files"] for sd in sources]
    fidx = np.empty(n, np.int64)
    for k, fl in enumerate(files_of):
        m = src == k
        fidx[m] = np.asarray(fl)[rng.integers(0, len(fl), int(m.sum()))]
    dup = np.where(rng.random(n) < s.duplicate_rows)[0]
    dup = dup[np.array([len(files_of[k]) > 1 for k in src[dup]], bool)]
    dfile = np.empty(len(dup), np.int64)
    for j, i in enumerate(dup.tolist()):
        fl = [f for f in files_of[src[i]] if f != fidx[i]]
        dfile[j] = fl[int(rng.integers(len(fl)))]
    return np.concatenate([np.arange(n), dup]), np.concatenate([fidx, dfile]), fidx


def _damage(
    rng: np.random.Generator,
    v: dict,
    s: LinkageSettings,
    no_nir_col: np.ndarray,
    no_birth_col: np.ndarray,
) -> None:
    """Missing NIRs and birth dates (calibrated on the physical rows), mangled names, mojibake."""
    n = len(v["person"])
    sur, bn, first, address, city = v["sur"], v["bn"], v["first"], v["address"], v["city"]
    # --- missing values, calibrated so the physical rate meets the setting
    f = no_nir_col.mean()
    e = v["nir_src_empty"].mean()
    p = float(np.clip(((s.nir_missing - f) / max(1 - f, 1e-9) - e) / max(1 - e, 1e-9), 0, 1))
    v["nir_drop"] = v["nir_src_empty"] | (rng.random(n) < p)
    f = no_birth_col.mean()
    p = float(np.clip((s.birth_missing - f) / max(1 - f, 1e-9), 0, 1))
    v["birth_drop"] = rng.random(n) < p
    # --- names mangled (a loop over the mangled rows)
    mang = np.zeros(n, np.int64)
    mi = np.where(rng.random(n) < s.name_mangled)[0]
    u = rng.random((len(mi), 4))
    code = {k: i for i, k in enumerate(MANGLES)}
    for j, i in enumerate(mi.tolist()):
        op, a, b, c = mangle(sur[i], bn[i] or "", first[i], u[j])
        if (a, b, c) != (sur[i], bn[i] or "", first[i]):
            sur[i], bn[i], first[i] = a, b, c
            mang[i] = code[op]
    v["mang"] = mang
    # --- mojibake: UTF-8 text read as cp1252, on rows whose name has an accent to break
    # (names are in every file, so the damage shows; address and city follow when accented)
    na = ~(
        np.asarray(pc.string_is_ascii(pa.array(sur, pa.string())), bool)
        & np.asarray(pc.string_is_ascii(pa.array(first, pa.string())), bool)
    )
    elig = np.where(na)[0]
    pm = min(1.0, s.mojibake * n / max(len(elig), 1))
    moji = np.zeros(n, bool)
    for i in elig[rng.random(len(elig)) < pm].tolist():
        new = [moji_text(x) for x in (sur[i], first[i], address[i], city[i])]
        if new[:2] != [sur[i], first[i]]:
            sur[i], first[i], address[i], city[i] = new
            moji[i] = True
    v["moji"] = moji


def _texts(rng: np.random.Generator, v: dict, labs: int, s: LinkageSettings) -> None:
    """Day/month swaps, wrong NIR keys, NIR and phone shapes, blanks: the text of each field."""
    n = len(v["person"])
    birth, partial, birth_drop, nir = v["birth"], v["partial"], v["birth_drop"], v["nir"]
    # --- day/month swaps (only where the swapped date exists)
    y, mo, d = ymd(birth)
    ok = ~birth_drop & ~partial & (d <= 12) & (d != mo)
    pw = min(1.0, s.day_month_swap * (~birth_drop & ~partial).sum() / max(ok.sum(), 1))
    swap = ok & (rng.random(n) < pw)
    swapped_day = (
        (y - 1970).astype("datetime64[Y]").astype("datetime64[M]")
        + (d - 1).astype("timedelta64[M]")
    ).astype("datetime64[D]").astype(np.int64) + (mo - 1)
    v["swap"], v["birth_w"] = swap, np.where(swap, swapped_day, birth)
    # --- wrong keys, NIR shapes, phone shapes
    wrong = ~v["nir_drop"] & (rng.random(n) < s.wrong_key)
    if wrong.any():
        key = nir[wrong].astype("U15").astype(object)
        k2 = np.array([int(x[13:]) for x in key])
        k2 = (k2 - 1 + rng.integers(1, 97, len(k2))) % 97 + 1
        nir[wrong] = np.array([x[:13] + f"{k:02d}" for x, k in zip(key, k2, strict=True)])
    v["wrong"] = wrong
    style = rng.choice(6, n, p=[0.6, 0.2, 0.06, 0.05, 0.05, 0.04])
    nir_txt = nir.astype(object)
    sp = spaced_nir(nir)
    nir_txt[style == 1] = sp[style == 1]
    for k, ch in ((2, "."), (3, "-"), (4, "\u00a0")):  # dots, dashes, no-break spaces
        if (style == k).any():
            nir_txt[style == k] = np.char.replace(sp[style == k], " ", ch)
    s5 = np.where(style == 5)[0]
    nir_txt[s5] = np.array([x[:13] + " " + x[13:] for x in nir[s5].tolist()], dtype=object)
    v["nir_txt"] = nir_txt
    v["phone_txt"] = fmt_phone(v["phone"], rng.choice(6, n, p=[0.35, 0.35, 0.08, 0.1, 0.07, 0.05]))
    v["sex_txt"] = np.where(v["sex"] == 1, "M", np.where(v["sex"] == 2, "F", "")).astype(object)
    labels = np.array([lab_code(k) for k in range(labs)], dtype=object)
    lab_txt = labels[v["lab_row"]]
    lab_txt[rng.random(n) < 0.3] = ""
    v["lab_txt"] = lab_txt
    blood = v["blood"].copy()
    blood[rng.random(n) < 0.4] = ""
    v["blood"] = blood
    v["gp"][rng.random(n) < 0.3] = ""
    address = v["address"].copy()
    address[rng.random(n) < 0.05] = ""
    v["address"] = address


def _links(rec: dict, labs: int, pers: np.ndarray) -> pa.Array:
    """Per physical row, every index row (lab, ipp) of its person (empty when in no index)."""
    rp = rec["person"]
    rorder = np.lexsort((rec["ipp"], rec["lab"], rp))
    rp_sorted = rp[rorder]
    st = np.searchsorted(rp_sorted, pers, "left")
    en = np.searchsorted(rp_sorted, pers, "right")
    en = np.where(pers < 0, st, en)
    lens = en - st
    offsets = np.concatenate([[0], np.cumsum(lens)])
    take = np.repeat(st - offsets[:-1], lens) + np.arange(offsets[-1])
    lab_codes = pa.array([lab_code(k) for k in range(labs)])
    links_struct = pa.StructArray.from_arrays(
        [
            lab_codes.take(pa.array(rec["lab"][rorder][take])),
            pa.array(rec["ipp"][rorder][take]),
        ],
        names=["lab", "ipp"],
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), links_struct)


def _truth_table(
    v: dict,
    pop: dict,
    rec: dict,
    labs: int,
    ph_log: np.ndarray,
    ph_file: np.ndarray,
    fidx: np.ndarray,
    line: np.ndarray,
    sources: list[dict],
    is_copy: np.ndarray,
    ph_nir_written: np.ndarray,
    ph_birth_written: np.ndarray,
) -> pa.Table:
    """``linkage_truth.parquet``'s rows, one per physical row (columns: see :mod:`.linkage`)."""
    dup_file = np.full(len(ph_log), "", dtype=object)
    dup_line = np.zeros(len(ph_log), np.int64)
    names = np.array([sh["name"] for sh in SHAPES], dtype=object)
    dup_file[is_copy] = names[fidx[ph_log[is_copy]]]
    dup_line[is_copy] = line[ph_log[is_copy]]
    pers = v["person"][ph_log]
    ro = v["rec_of"][ph_log]
    src_lab = pa.array(
        np.where(ro >= 0, np.array([lab_code(k) for k in range(labs)], dtype=object)[rec["lab"][np.maximum(ro, 0)]], None),
        pa.string(),
    )  # fmt: skip
    src_ipp = pa.array(
        np.where(ro >= 0, rec["ipp"][np.maximum(ro, 0)].astype(object), None), pa.string()
    )
    qual = np.where(pers >= 0, pop["qualite"][np.maximum(pers, 0)], -1)
    hhv = np.where(pers >= 0, pop["hh"][np.maximum(pers, 0)], -1)
    return pa.table(
        {
            "file": pa.array(names[ph_file], pa.string()),
            "line": pa.array(line),
            "person": pa.array(pers),
            "household": pa.array(hhv),
            "row_class": pa.array(np.array(CLASSES, dtype=object)[v["cls"][ph_log]], pa.string()),
            "links": _links(rec, labs, pers),
            "source_lab": src_lab,
            "source_ipp": src_ipp,
            "source": pa.array(np.array([sd["source"] for sd in sources])[v["src"][ph_log]]),
            "sample_date": pa.array(v["sample"][ph_log].astype("datetime64[D]")),
            "qualite": pa.array(qual.astype(np.int8)),
            "nir_written": pa.array(ph_nir_written),
            "nir_holder": pa.array(v["holder"][ph_log]),
            "nir_wrong_key": pa.array(v["wrong"][ph_log] & ph_nir_written),
            "birth_written": pa.array(ph_birth_written),
            "birth_partial": pa.array(v["partial"][ph_log] & ph_birth_written),
            "name_mangle": pa.array(
                np.array(MANGLES, dtype=object)[v["mang"][ph_log]], pa.string()
            ),
            "day_month_swap": pa.array(v["swap"][ph_log] & ph_birth_written),
            "mojibake": pa.array(v["moji"][ph_log]),
            "duplicate_of_file": pa.array(dup_file, pa.string()),
            "duplicate_of_line": pa.array(dup_line),
        }
    )


def _rates(
    v: dict,
    pop: dict,
    rec: dict,
    labs: int,
    ph_log: np.ndarray,
    is_copy: np.ndarray,
    ph_nir_written: np.ndarray,
    ph_birth_written: np.ndarray,
) -> dict:
    """The settings' rates measured on the physical rows written."""
    c = v["cls"][ph_log]
    full_birth = ph_birth_written & ~v["partial"][ph_log]
    swap, wrong = v["swap"][ph_log], v["wrong"][ph_log]
    rp = rec["person"]
    ip = unique_sorted(rp)
    labs_per = np.bincount(unique_sorted(rp * labs + rec["lab"]) // labs, minlength=len(pop["hh"]))
    return {
        "nir_missing": float(1 - ph_nir_written.mean()),
        "birth_missing": float(1 - ph_birth_written.mean()),
        "name_mangled": float((v["mang"][ph_log] > 0).mean()),
        "outsiders": float((c > 0).mean()),
        "outsider_relatives": float((c == 1).sum() / max(((c == 1) | (c == 2)).sum(), 1)),
        "fabricated": float((c == 3).sum() / max((c > 0).sum(), 1)),
        "day_month_swap": float((swap & full_birth).sum() / max(full_birth.sum(), 1)),
        "mojibake": float(v["moji"][ph_log].mean()),
        "wrong_key": float((wrong & ph_nir_written).sum() / max(ph_nir_written.sum(), 1)),
        "duplicate_rows": float(is_copy.mean()),
        "two_labs": float((labs_per[ip] >= 2).mean()),
        "identity_duplicates": float((rec["kind"] == 2).mean()),
        "dependants": float((pop["qualite"][rp] != 0).mean()),
        "top_surname": float(
            pc.max(
                pc.value_counts(pa.array(pop["birth_name"], pa.string())).field("counts")
            ).as_py()
            / len(pop["birth_name"])
        ),
    }


def _horizons(v: dict, rec: dict, sources: list[dict], r_rec: np.ndarray, n_idx: int) -> list[dict]:
    """Per source and copied lab: the copy date, newest sample and registration, patients."""
    horizons = []
    src, sample = v["src"], v["sample"]
    for k, sd in enumerate(sources):
        for lb in sd["labs"]:
            m = (src[:n_idx] == k) & (rec["lab"][r_rec] == lb)
            horizons.append(
                {
                    "source": sd["source"],
                    "lab": lab_code(lb),
                    "copy_date": str(np.datetime64(sd["copy"], "D")),
                    "newest_sample": str(np.datetime64(int(sample[:n_idx][m].max()), "D"))
                    if m.any()
                    else None,
                    "newest_registration": str(
                        np.datetime64(int(rec["created"][r_rec][m].max()), "D")
                    )
                    if m.any()
                    else None,
                    "patients": int(len(unique_sorted(r_rec[m]))),
                    **sd.get("facts", {}).get(lb, {}),
                }
            )
    return horizons
