"""Synthetic French population, households and lab patient indexes, for leak linkage.

Used by :func:`labforensics.synth.linkage.generate_linkage_case`.

The population
--------------
Households: an insured person (``QUALITE`` 00) with, at the rates of
:class:`LinkageSettings`, a partner (a dependant ``02`` sharing the insured
NIR, or insured in their own right ``00``), children (``06`` dependants while
under 20, else insured ``00`` adults still at home), and sometimes another
dependant (``09``). A household shares surname (married women take the
husband's as usage name, keeping their birth name), address, postcode, city
and phone; dependants carry the insured person's NIR, never their own. Twins
share the insured NIR and the birth date, ``RANG`` 1 and 2. A child whose
other parent is insured is attached to both: the NIR a lab stores is either
parent's (truth column ``nir_holder``). Surnames and first names follow
Zipf-like weights over a hand-written list of common French names extended
by syllable names (:mod:`labforensics.synth.names`; top surname about 0.4 %).

NIRs (INSEE): sex, year, month (20-42 / 50-99 when unknown, born abroad),
department (2 digits, ``2A``/``2B`` Corsica, ``97x`` overseas with a 2-digit
commune, ``99`` abroad with a country code), commune, order, key ``97 - n mod
97`` where ``2A``/``2B`` read as 19/18. Every NIR written is valid except the
dump rows whose truth says ``nir_wrong_key``.

The indexes
-----------
Each household belongs to one lab; most members are patients there. Some
people are patients at a second lab (another IPP, spelling variations, maybe
the other parent's NIR) and some hold two IPPs at one lab (identity
duplicates). Household members who are in no index are the *outsider
relatives* the dump mixes in. Whole households outside every index are the
other outsiders.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .population import build_population
from .textfmt import (
    compose,
    day_of,
    fmt_dates,
    fmt_phone,
    spaced_nir,
    strip_accents,
)

__all__ = [
    "LinkageSettings",
    "PRESETS",
    "SCENARIOS",
    "build_population",
    "build_records",
    "write_indexes",
]

SCENARIOS = ("vendor_extraction", "staff_export", "intrusion", "before_logs", "two_sources")


@dataclass(frozen=True)
class LinkageSettings:
    """Rates of the synthetic linkage case (shares are of rows or people, 0..1).

    Attributes
    ----------
    nir_missing : float
        Share of dump rows with no NIR written (empty cell, or a file with no NIR column).
        Floor: the share of rows in files without the column (``contacts.csv``, about
        1/7 when a scenario writes the seven files) plus the index's own empty NIRs.
    birth_missing : float
        Share of dump rows with no birth date written (same floor, without the index part).
    name_mangled : float
        Share of dump rows whose name is mangled (accents lost, capitals,
        hyphens dropped, birth/usage name swapped, a typo).
    outsiders : float
        Share of dump rows whose person is in no index: outsiders and fabricated rows.
    outsider_relatives : float
        Share of the outsider (not fabricated) rows that are relatives of an
        indexed patient (same household, in no index). At least 0.5.
    fabricated : float
        Share of the not-indexed rows that are invented (no real person).
    day_month_swap : float
        Share of the rows with a full birth date whose day and month are swapped.
    mojibake : float
        Share of dump rows with UTF-8 text read as cp1252 (``HÃ©lÃ¨ne``).
    wrong_key : float
        Share of the rows with a NIR whose key is wrong.
    duplicate_rows : float
        Share of dump rows copied again into another file of the same source.
    two_labs : float
        Share of indexed people who are patients at a second lab.
    identity_duplicates : float
        Share of index rows duplicated within their lab under a second IPP.
    twins : float
        Share of households with two or more children whose first two are twins.
    indexed_member : float
        Probability that a member of an indexed household is a patient of its lab.
    outside_households : float
        Share of households with nobody in any index (source of plain outsiders).
    rows_per_patient : float
        Mean dump rows (samples) per leaked index row, when ``dump_rows`` is None.
    dump_rows : int or None
        Target number of dump data rows (all classes, duplicates included).
    dump_labs : int or None
        Labs copied by ``vendor_extraction``/``before_logs`` (default: a third of the labs).
    headerless_contacts : bool
        Write ``contacts.csv`` without its header line (read it with a mapping by position).
    copy_date, index_date, evidence_start : str
        ISO dates: the copy (newest sample of the dump), the export of the
        indexes (after the facts), the start of the audit evidence
        (``before_logs`` copies 180 days before it).
    """

    nir_missing: float = 0.30
    birth_missing: float = 0.20
    name_mangled: float = 0.15
    outsiders: float = 0.05
    outsider_relatives: float = 0.6
    fabricated: float = 0.25
    day_month_swap: float = 0.03
    mojibake: float = 0.02
    wrong_key: float = 0.005
    duplicate_rows: float = 0.04
    two_labs: float = 0.04
    identity_duplicates: float = 0.02
    twins: float = 0.03
    indexed_member: float = 0.85
    outside_households: float = 0.06
    rows_per_patient: float = 1.6
    dump_rows: int | None = None
    dump_labs: int | None = None
    headerless_contacts: bool = False
    copy_date: str = "2020-10-15"
    index_date: str = "2021-03-01"
    evidence_start: str = "2015-01-01"


#: The three generator settings of issue 13's "done when" (rates differ).
PRESETS: dict[str, LinkageSettings] = {
    "base": LinkageSettings(),
    "mid": LinkageSettings(nir_missing=0.45, name_mangled=0.22, outsiders=0.075),
    "hard": LinkageSettings(nir_missing=0.60, name_mangled=0.30, outsiders=0.10),
}


# ---------------------------------------------------------------------------
# light variations (a loop per varied row: a few percent of the rows)

_ABBREV = (("avenue", "av"), ("boulevard", "bd"), ("rue", "r"), ("place", "pl"), ("route", "rte"))


def typo(s: str, rng_u: float, rng_v: float) -> str:
    """One typing error in ``s``: substitution, deletion, transposition or doubled letter."""
    if len(s) < 3:
        return s + s[-1:]
    i = 1 + int(rng_u * (len(s) - 2))
    k = int(rng_v * 4)
    letters = "aeioulnrst" if s[i].islower() else "AEIOULNRST"
    if k == 0:
        c = letters[int(rng_v * 40) % 10]
        return s[:i] + (c if c != s[i] else letters[(int(rng_v * 40) + 1) % 10]) + s[i + 1 :]
    if k == 1:
        return s[:i] + s[i + 1 :]
    if k == 2 and s[i] != s[i + 1 : i + 2]:
        return s[:i] + s[i + 1 : i + 2] + s[i] + s[i + 2 :]
    return s[:i] + s[i] + s[i:]


def variant(s: str, u: np.ndarray) -> str:
    """A spelling variant as typed at another desk: accents, hyphen, or a typo."""

    k = int(u[0] * 3)
    if k == 0:
        t = "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")
        if t != s:
            return t
    if k <= 1 and ("-" in s or " " in s):
        return s.replace("-", " ") if u[1] < 0.5 else s.replace("-", "").replace(" ", "")
    return typo(s, u[1], u[2])


# ---------------------------------------------------------------------------
# indexes


def build_records(rng: np.random.Generator, pop: dict, labs: int, s: LinkageSettings) -> dict:
    """Index rows: each indexed person at their lab, second-lab rows, identity duplicates.

    Returns
    -------
    dict of arrays, one entry per index row: ``person``, ``lab``, ``kind``
    (0 primary, 1 second lab, 2 identity duplicate), ``ipp`` (U8),
    ``created``, ``last_visit`` (day numbers), ``nir_holder`` (person whose
    NIR is stored, -1 when the cell is empty), ``surname``, ``birth_name``,
    ``first``, ``address``, ``phone`` (-1 empty), ``partial`` (birth written 00/00).
    """
    idx_day = day_of(s.index_date)
    ip = np.where(pop["indexed"])[0]
    two = (rng.random(len(ip)) < s.two_labs) if labs > 1 else np.zeros(len(ip), bool)
    sec_lab = (pop["lab"][ip[two]] + 1 + rng.integers(0, max(labs - 1, 1), int(two.sum()))) % labs
    person = np.concatenate([ip, ip[two]])
    lab = np.concatenate([pop["lab"][ip], sec_lab])
    kind = np.concatenate([np.zeros(len(ip), np.int64), np.ones(int(two.sum()), np.int64)])
    dup = np.where(rng.random(len(person)) < s.identity_duplicates)[0]
    person = np.concatenate([person, person[dup]])
    lab = np.concatenate([lab, lab[dup]])
    kind = np.concatenate([kind, np.full(len(dup), 2)])
    n = len(person)
    opened = day_of("2003-01-01") + rng.integers(0, 5 * 365, labs)
    lo = np.maximum(opened[lab], pop["birth"][person])
    created = lo + ((idx_day - lo) * rng.random(n)).astype(np.int64)
    orig = np.arange(n)
    orig[len(orig) - len(dup) :] = dup
    created[kind == 2] = np.maximum(
        created[kind == 2], created[dup] + ((idx_day - created[dup]) * rng.random(len(dup))).astype(np.int64)
    )  # fmt: skip
    last = created + ((idx_day - created) * rng.random(n) ** 0.35).astype(np.int64)
    # stored NIR: the holder's, the other parent's for some children, or empty
    alt = pop["alt_holder"][person]
    use_alt = (alt >= 0) & (rng.random(n) < np.where(kind == 0, 0.25, 0.5))
    holder = np.where(use_alt, alt, pop["holder"][person])
    holder = np.where(rng.random(n) < np.where(kind == 0, 0.04, 0.15), -1, holder)
    surname = pop["surname"][person].copy()
    birth_name = pop["birth_name"][person].copy()
    first = pop["first"][person].copy()
    address = pop["address"][person].copy()
    vary = np.where((kind > 0) & (rng.random(n) < 0.5))[0]
    u = rng.random((len(vary), 4))
    for j, i in enumerate(vary.tolist()):
        which = int(u[j, 3] * 3)
        if which == 0:
            surname[i] = variant(surname[i], u[j])
        elif which == 1:
            first[i] = variant(first[i], u[j])
        else:
            a = address[i]
            for long, short in _ABBREV:
                if f" {long} " in a:
                    a = a.replace(f" {long} ", f" {short} ", 1)
                    break
            address[i] = a
    phone = pop["phone"][person].copy()
    phone = np.where(rng.random(n) < 0.07, -1, phone)
    newmob = (kind > 0) & (rng.random(n) < 0.2)
    phone = np.where(newmob, rng.integers(6, 8, n) * 10**8 + rng.integers(0, 10**8, n), phone)
    partial = pop["month_unknown"][person] & (rng.random(n) < 0.6)
    # IPP: per lab, in registration order, 8 digits with leading zeros
    order = np.lexsort((np.arange(n), created, lab))
    lab_sorted = lab[order]
    step = rng.integers(1, 4, n)
    cs = np.cumsum(step)
    first_of_lab = np.searchsorted(lab_sorted, np.arange(labs))
    base = rng.integers(100, 600_000, labs)
    offs = cs - np.concatenate([[0], cs])[first_of_lab][lab_sorted]
    ipp_num = np.empty(n, np.int64)
    ipp_num[order] = base[lab_sorted] + offs
    return {
        "person": person,
        "lab": lab,
        "kind": kind,
        "orig": orig,
        "ipp": compose(n, (ipp_num, 8)),
        "created": created,
        "last_visit": last,
        "nir_holder": holder,
        "surname": surname,
        "birth_name": birth_name,
        "first": first,
        "address": address,
        "phone": phone,
        "partial": partial,
    }


def write_indexes(
    rng: np.random.Generator, pop: dict, rec: dict, labs: int, out: Path
) -> tuple[list[Path], list[dict]]:
    """Write ``patients/PATIENTS_<LAB>.csv`` (reference layout), one per lab.

    Each lab has its own habits, drawn once: encoding (UTF-8, UTF-8 with BOM
    or cp1252), line ends, accents kept in surnames or not, first names
    capitalised or in capitals, address in capitals, phone and NIR style.

    Returns
    -------
    (paths, shapes) : list of Path, list of dict
    """
    n = len(rec["person"])
    person = rec["person"]
    enc = rng.choice(["utf-8", "utf-8-sig", "cp1252"], labs, p=[0.5, 0.2, 0.3])
    crlf = (enc == "cp1252") | (rng.random(labs) < 0.4)
    sur_accents = rng.random(labs) < 0.5
    first_upper = rng.random(labs) < 0.4
    addr_upper = rng.random(labs) < 0.6
    phone_style = rng.integers(0, 3, labs)
    nir_spaced = rng.random(labs) < 0.2
    lab = rec["lab"]

    def by_lab(flag: np.ndarray, a: pa.Array, f) -> pa.Array:
        return pc.if_else(pa.array(flag[lab]), f(a), a)

    sur = pa.array(rec["surname"], pa.string())
    sur = by_lab(~sur_accents, sur, strip_accents)
    bn = pa.array(rec["birth_name"], pa.string())
    bn = by_lab(~sur_accents, bn, strip_accents)
    same = np.asarray(pc.equal(bn, sur).to_numpy(zero_copy_only=False), bool)
    bn = pc.if_else(pa.array(same & (rng.random(n) < 0.5)), "", bn)
    first = by_lab(first_upper, pa.array(rec["first"], pa.string()), pc.utf8_upper)
    addr = by_lab(addr_upper, pa.array(rec["address"], pa.string()), pc.utf8_upper)
    city = by_lab(addr_upper, pa.array(pop["city"][person], pa.string()), pc.utf8_upper)
    sex = np.where(pop["sex"][person] == 1, "M", "F")
    sex = np.where(rng.random(n) < 0.02, "", sex)
    birth = fmt_dates(pop["birth"][person], "dmy", rec["partial"])
    h = rec["nir_holder"]
    nir = pop["nir"][np.maximum(h, 0)]
    nir = np.where(nir_spaced[lab], spaced_nir(nir), nir).astype(object)
    nir[h < 0] = ""
    qual = compose(n, (pop["qualite"][person], 2))
    phone = fmt_phone(rec["phone"], phone_style[lab])
    cols = [
        pa.array(rec["ipp"]),
        sur,
        bn,
        first,
        pa.array(sex),
        pa.array(birth),
        pa.array(nir, pa.string()),
        pa.array(qual),
        pa.array(pop["rang"][person].astype(str)),
        addr,
        pa.array(pop["postcode"][person], pa.string()),
        city,
        pa.array(phone, pa.string()),
        pa.array(fmt_dates(rec["created"], "dmy")),
        pa.array(fmt_dates(rec["last_visit"], "dmy")),
    ]
    for k, a in (
        ("surname", sur),
        ("birth_name", bn),
        ("first", first),
        ("address", addr),
        ("city", city),
    ):
        rec[f"out_{k}"] = np.asarray(a.to_numpy(zero_copy_only=False), dtype=object)
    lines = pc.binary_join_element_wise(*cols, ";")
    header = "IPP;NOM;NOM_NAISSANCE;PRENOM;SEXE;DATE_NAISSANCE;NIR;QUALITE;RANG;ADRESSE;CODE_POSTAL;VILLE;TELEPHONE;DATE_CREATION;DERNIERE_VISITE"
    d = out / "patients"
    d.mkdir(parents=True, exist_ok=True)
    order = np.lexsort((rec["ipp"], lab))
    bounds = np.searchsorted(lab[order], np.arange(labs + 1))
    paths, shapes = [], []
    for k in range(labs):
        sel = order[bounds[k] : bounds[k + 1]]
        eol = "\r\n" if crlf[k] else "\n"
        body = eol.join([header, *lines.take(pa.array(sel)).to_pylist()]) + eol
        p = d / f"PATIENTS_{lab_code(k)}.csv"
        p.write_bytes(body.encode(str(enc[k])))
        paths.append(p)
        shapes.append(
            {
                "lab": lab_code(k),
                "file": f"patients/{p.name}",
                "encoding": str(enc[k]),
                "line_end": "CRLF" if crlf[k] else "LF",
                "rows": len(sel),
            }
        )
    return paths, shapes


def lab_code(k: int) -> str:
    """Lab code of lab index ``k`` (0-based): ``L01``..., as the audit generator names them."""
    return f"L{k + 1:02d}"
