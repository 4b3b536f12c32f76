"""The synthetic population of the linkage case: households, people, NIRs, names, homes.

:func:`build_population` draws it (the rules are in :mod:`labforensics.synth.people`'s
docstring, "The population"); every draw comes from the generator passed, in a
fixed order, so a seed gives the same people.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import names as tb
from .textfmt import day_of, nir_strings, ymd

if TYPE_CHECKING:
    from .people import LinkageSettings

__all__ = ["build_population"]

_YEAR = 365.25


def _pick(rng: np.random.Generator, table, idx_or_n, p=None) -> np.ndarray:
    arr = np.asarray(table, dtype=object)
    if isinstance(idx_or_n, int):
        return arr[rng.choice(len(arr), size=idx_or_n, p=p)]
    return arr[idx_or_n]


def build_population(
    rng: np.random.Generator,
    n_households: int,
    s: LinkageSettings,
    labs: int,
    lab_weights: np.ndarray | None = None,
) -> dict:
    """People, households, NIRs, addresses, home labs and who is indexed.

    ``lab_weights`` (one per lab, any positive scale) replaces the drawn
    lognormal lab sizes as the share of households per home lab (the tie to
    the audit labs passes their patient counts).

    Returns
    -------
    dict of numpy arrays, one entry per person (length P), plus ``H``:
    ``hh``, ``role`` (0 insured, 1 partner, 2 child, 3 other), ``qualite``
    (0, 2, 6, 9), ``rang``, ``sex`` (1 M, 2 F), ``birth`` (day numbers),
    ``month_unknown``, ``surname``, ``birth_name``, ``first`` (object),
    ``nir`` (own NIR, U15), ``holder`` (person whose NIR a lab stores),
    ``alt_holder`` (the other parent, or -1), ``address``, ``postcode``,
    ``city`` (object), ``phone`` (9 digits after the leading 0), ``lab``,
    ``indexed``, ``outside`` (household in no index), ``blood``, ``gp``, ``insurer``.
    """
    H = int(n_households)
    idx_day = day_of(s.index_date)
    x = _households(rng, H, s)
    _sex_birth(rng, x, idx_day)
    _nirs(rng, x)
    _names(rng, x)
    _homes(rng, x, s, labs, lab_weights)
    hh = x["hh"]
    return {
        "H": H,
        "hh": hh,
        "role": x["role"],
        "qualite": x["qualite"],
        "rang": x["rang"],
        "sex": x["sex"],
        "birth": x["birth"],
        "month_unknown": x["month_unknown"],
        "surname": x["surname"],
        "birth_name": x["birth_name"],
        "first": x["first"],
        "nir": x["nir"],
        "holder": x["holder"],
        "alt_holder": x["alt"],
        "address": x["street"][hh],
        "postcode": x["postcode"][hh],
        "city": x["city"][hh],
        "phone": x["phone"],
        "lab": x["lab_h"][hh],
        "indexed": x["indexed"],
        "outside": x["outside_h"][hh],
        "twin": x["tw"],
        "gp": x["gp"][hh],
        "insurer": x["insurer"][hh],
        "blood": x["blood"],
        "surname_table": x["surname_table"],
        "first_tables": x["first_tables"],
    }


def _households(rng: np.random.Generator, H: int, s: LinkageSettings) -> dict:
    """Household structure: who is insured, partner, child (and which), other dependant."""
    ins_age = rng.uniform(20, 90, H) ** 1.0
    partner = rng.random(H) < 0.62
    partner_dep = partner & (rng.random(H) < 0.3)
    n_child = rng.choice(5, size=H, p=[0.40, 0.22, 0.24, 0.10, 0.04])
    n_child = np.where(ins_age > 62, 0, n_child)
    other = rng.random(H) < 0.03
    twin_hh = (n_child >= 2) & (rng.random(H) < s.twins)
    size = 1 + partner + n_child + other
    P = int(size.sum())
    start = np.cumsum(size) - size
    hh = np.repeat(np.arange(H), size)
    pos = np.arange(P) - start[hh]
    hp = partner[hh].astype(np.int64)
    role = np.where(
        pos == 0,
        0,
        np.where((pos == 1) & (hp == 1), 1, np.where(pos < 1 + hp + n_child[hh], 2, 3)),
    )
    child_no = np.where(role == 2, pos - 1 - hp, -1)
    return dict(H=H, P=P, ins_age=ins_age, partner=partner, partner_dep=partner_dep,
                twin_hh=twin_hh, start=start, hh=hh, role=role, child_no=child_no,
                ins=start[hh])  # fmt: skip


def _sex_birth(rng: np.random.Generator, x: dict, idx_day: int) -> None:
    """Sex, birth day (twins share one), rank and ``QUALITE`` of each person."""
    H, P, hh, role, child_no = x["H"], x["P"], x["hh"], x["role"], x["child_no"]
    sex0 = rng.integers(1, 3, H)
    sex = rng.integers(1, 3, P)
    sex = np.where(role == 0, sex0[hh], sex)
    same_sex = rng.random(P) < 0.05
    sex = np.where(role == 1, np.where(same_sex, sex0[hh], 3 - sex0[hh]), sex)
    b_ins = idx_day - (x["ins_age"] * _YEAR).astype(np.int64) - rng.integers(0, 365, H)
    birth = b_ins[hh].copy()
    birth = np.where(role == 1, birth + (rng.normal(0, 4, P) * _YEAR).astype(np.int64), birth)
    kid = birth + (rng.uniform(22, 36, P) * _YEAR + child_no * rng.uniform(1.2, 4, P) * _YEAR)
    birth = np.where(role == 2, kid.astype(np.int64), birth)
    birth = np.where(role == 3, birth - (rng.uniform(20, 30, P) * _YEAR).astype(np.int64), birth)
    birth = np.minimum(birth, idx_day - 20)
    birth = np.maximum(birth, idx_day - int(104 * _YEAR))
    tw = x["twin_hh"][hh] & (role == 2) & (child_no <= 1)
    first_twin = np.where(tw & (child_no == 0))[0]
    tw_birth = idx_day - (rng.uniform(1, 17, len(first_twin)) * _YEAR).astype(np.int64)
    birth[first_twin] = tw_birth
    birth[first_twin + 1] = tw_birth
    rang = np.ones(P, np.int64)
    rang[first_twin + 1] = 2
    age = (idx_day - birth) / _YEAR
    qualite = np.select(
        [role == 0, (role == 1) & x["partner_dep"][hh], (role == 2) & (age < 20), role == 3],
        [0, 2, 6, 9],
        default=0,
    )
    x.update(sex0=sex0, sex=sex, same_sex=same_sex, birth=birth, tw=tw, first_twin=first_twin,
             rang=rang, qualite=qualite)  # fmt: skip


def _nirs(rng: np.random.Generator, x: dict) -> None:
    """Birthplace and own NIR; the NIR a lab stores (holder) and the other parent's."""
    P, hh, start, sex, birth, qualite = x["P"], x["hh"], x["start"], x["sex"], x["birth"], x["qualite"]  # fmt: skip
    r = rng.random(P)
    abroad = r < 0.06
    overseas = (r >= 0.06) & (r < 0.08)
    cors = np.where((r >= 0.08) & (r < 0.09), rng.integers(1, 3, P), 0)
    month_unknown = abroad & (rng.random(P) < 0.3) & ~x["tw"]  # twins keep one full birth date
    y, mth, _ = ymd(birth)
    birth = np.where(
        month_unknown, (y - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64),
        birth,
    )  # fmt: skip
    y, mth, _ = ymd(birth)
    unk = np.where(rng.random(P) < 0.5, rng.integers(20, 43, P), rng.integers(50, 100, P))
    mm = np.where(month_unknown, unk, mth)
    dept = rng.integers(1, 96, P)
    dept = np.where(dept == 20, 21, dept)
    loc5 = dept * 1000 + rng.integers(1, 900, P)
    loc5 = np.where(cors == 1, 19_000 + rng.integers(1, 400, P), loc5)
    loc5 = np.where(cors == 2, 18_000 + rng.integers(1, 400, P), loc5)
    loc5 = np.where(overseas, rng.integers(971, 977, P) * 100 + rng.integers(1, 35, P), loc5)
    loc5 = np.where(
        abroad, 99_000 + np.asarray(tb.ABROAD)[rng.integers(0, len(tb.ABROAD), P)], loc5
    )
    num13 = sex * 10**12 + (y % 100) * 10**10 + mm * 10**8 + loc5 * 10**3 + rng.integers(1, 1000, P)
    partner_idx = np.where(x["partner"][hh], start[hh] + 1, -1)
    p_ins = partner_idx >= 0
    alt = np.full(P, -1, np.int64)
    ok = (qualite == 6) & p_ins & ~x["partner_dep"][hh]
    alt[ok] = partner_idx[ok]
    x.update(month_unknown=month_unknown, birth=birth, nir=nir_strings(num13, cors),
             holder=np.where(qualite == 0, np.arange(P), x["ins"]), alt=alt)  # fmt: skip


def _names(rng: np.random.Generator, x: dict) -> None:
    """Surnames (usage and birth names: married women, children), first names (twins differ)."""
    H, P, hh, role, sex, sex0 = x["H"], x["P"], x["hh"], x["role"], x["sex"], x["sex0"]
    partner, same_sex, first_twin = x["partner"], x["same_sex"], x["first_twin"]
    sn, sp = tb.zipf_table(tb.SURNAMES, 200_000, 0.63, upper=True)
    S = sn[rng.choice(len(sn), H, p=sp)]
    T = sn[rng.choice(len(sn), H, p=sp)]
    U = sn[rng.choice(len(sn), P, p=sp)]
    single_f = ~partner & (sex0 == 2)
    ins_f_couple = partner & (sex0 == 2)
    family = np.where(single_f, T, S)[hh]
    birth_name = np.empty(P, dtype=object)
    usage = rng.random(P) < 0.75
    # insured: male -> S; female -> T (single: T)
    birth_name[:] = family
    f_ins = (role == 0) & (sex == 2)
    birth_name[f_ins] = T[hh][f_ins]
    m_part = (role == 1) & (sex == 1) & ins_f_couple[hh]
    birth_name[m_part] = S[hh][m_part]
    f_part = (role == 1) & (sex == 2) & ~ins_f_couple[hh]
    birth_name[f_part] = T[hh][f_part]
    ss_part = (role == 1) & same_sex
    birth_name[ss_part] = U[ss_part]
    birth_name[role == 3] = U[role == 3]
    surname = birth_name.copy()
    married_f = (sex == 2) & ((f_ins & partner[hh] & ~same_sex) | f_part) & usage
    surname[married_f] = S[hh][married_f]
    surname[(role == 2)] = family[role == 2]
    birth_name[(role == 2)] = family[role == 2]
    fn, fp = tb.zipf_table(tb.FEMALE, 800, 1.1, upper=False, shift=10)
    mn, mp = tb.zipf_table(tb.MALE, 800, 1.1, upper=False, shift=10)
    first = np.where(
        sex == 2, fn[rng.choice(len(fn), P, p=fp)], mn[rng.choice(len(mn), P, p=mp)]
    ).astype(object)
    for i in first_twin:  # twins get distinct first names (a loop over a few thousand pairs)
        while first[i + 1] == first[i]:
            tab, pp = (fn, fp) if sex[i + 1] == 2 else (mn, mp)
            first[i + 1] = tab[rng.choice(len(tab), p=pp)]
    x.update(surname=surname, birth_name=birth_name, first=first, surname_table=(sn, sp),
             first_tables=((fn, fp), (mn, mp)))  # fmt: skip


def _homes(
    rng: np.random.Generator,
    x: dict,
    s: LinkageSettings,
    labs: int,
    lab_weights: np.ndarray | None,
) -> None:
    """Home lab, address, phone, who is indexed, GP, insurer, blood group."""
    H, P, hh, qualite, role, first_twin = x["H"], x["P"], x["hh"], x["qualite"], x["role"], x["first_twin"]  # fmt: skip
    sn, sp = x["surname_table"]
    w = np.clip(rng.lognormal(0, 0.35, labs), 0.4, 2.5)
    if lab_weights is not None:
        w = np.asarray(lab_weights, dtype=np.float64)
    lab_h = rng.choice(labs, H, p=w / w.sum())
    lab_communes = rng.integers(0, len(tb.COMMUNES), (labs, 3))
    com = lab_communes[lab_h, rng.integers(0, 3, H)]
    num = rng.integers(1, 200, H).astype(str).astype(object)
    bis = rng.random(H) < 0.03
    num[bis] = num[bis] + " bis"
    street = (
        num
        + " "
        + _pick(rng, tb.STREET_TYPES, rng.integers(0, len(tb.STREET_TYPES), H))
        + " "
        + _pick(rng, tb.STREETS, rng.integers(0, len(tb.STREETS), H))
    )
    land = rng.random(H) < 0.4
    phone_h = np.where(
        land, rng.integers(1, 6, H) * 10**8, rng.integers(6, 8, H) * 10**8
    ) + rng.integers(0, 10**8, H)
    phone = phone_h[hh]
    own_mob = (qualite == 0) & (role > 0) & (rng.random(P) < 0.25)
    phone = np.where(own_mob, rng.integers(6, 8, P) * 10**8 + rng.integers(0, 10**8, P), phone)
    outside_h = rng.random(H) < s.outside_households
    indexed = ~outside_h[hh] & (rng.random(P) < s.indexed_member)
    indexed[first_twin + 1] = indexed[first_twin]
    gp = _pick(rng, tb.GP_TITLES, rng.integers(0, 3, H)) + " " + sn[rng.choice(len(sn), H, p=sp)]
    insurer = _pick(rng, tb.INSURERS, rng.integers(0, len(tb.INSURERS), H))
    blood = _pick(rng, tb.BLOOD, rng.choice(len(tb.BLOOD), P, p=tb.BLOOD_P))
    x.update(lab_h=lab_h, street=street, phone=phone, outside_h=outside_h, indexed=indexed,
             gp=gp, insurer=insurer, blood=blood,
             postcode=np.array([c[0] for c in tb.COMMUNES], dtype=object)[com],
             city=np.array([c[1] for c in tb.COMMUNES], dtype=object)[com])  # fmt: skip
