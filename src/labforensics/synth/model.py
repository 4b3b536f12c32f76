"""The synthetic world: labs, accounts, patients, calendar and daily activity.

Everything is generated per lab as columns of numpy arrays (an *event block*),
never one Python object per event. Times are int64 UTC seconds.

Event block columns
-------------------
``t`` int64 UTC seconds; ``acc`` int32 index into ``Lab.accounts``; ``host``,
``ip`` int32 indices into ``Lab.hosts`` / ``Lab.ips``; ``site`` int16 (1-based
site number); ``act`` int8 index into :data:`ACTS`; ``mod`` int8 index into
:data:`MODULES`; ``ok`` bool; ``pat`` int64 index into the lab's patient
registry (-1 none); ``dos`` int64 request number (-1 none); ``nb`` int64
records (-1 none); ``vol`` int64 bytes (-1 none); ``det`` int32 index into
``Lab.details`` (0 is the empty text); ``sess`` int64 lab-local session index
(-1 none); ``inc`` int16 index into the incident list (-1 none); ``shift`` bool
(written by a clock not switched to summer time); ``fsess`` int64 the session a
failed login precedes (-1 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import holidays
import numpy as np

from ..schema import LIS_ACTION_CODES, LIS_MODULES
from .clock import DAY, date_of, day_number, noon_offset

__all__ = ["ACTS", "MODULES", "ROLES", "Lab", "Interner", "EV_KEYS"]

#: Action codes written (the schema's codes, plus one unknown code used as an artefact).
ACTS: tuple[str, ...] = (*LIS_ACTION_CODES, "ARCHIVAGE")
A = {a: i for i, a in enumerate(ACTS)}
#: Module codes (format doc).
MODULES: tuple[str, ...] = LIS_MODULES
M = {m: i for i, m in enumerate(MODULES)}
ROLES = (
    "BIOLOGISTE",
    "TECHNICIEN",
    "SECRETAIRE",
    "PRELEVEUR",
    "ADMIN_LABO",
    "EDITEUR",
    "INTERFACE",
)

EV_KEYS: dict[str, type] = {
    "t": np.int64,
    "acc": np.int32,
    "host": np.int32,
    "ip": np.int32,
    "site": np.int16,
    "act": np.int8,
    "mod": np.int8,
    "ok": np.bool_,
    "pat": np.int64,
    "dos": np.int64,
    "nb": np.int64,
    "vol": np.int64,
    "det": np.int32,
    "sess": np.int64,
    "inc": np.int16,
    "shift": np.bool_,
    "fsess": np.int64,
}
_EV_DEFAULT = {
    "ok": True,
    "pat": -1,
    "dos": -1,
    "nb": -1,
    "vol": -1,
    "det": 0,
    "sess": -1,
    "inc": -1,
    "fsess": -1,
}

Block = dict[str, np.ndarray]


def ev_new(n: int, **cols: object) -> Block:
    """An event block of ``n`` rows: defaults, overridden by ``cols`` (scalars or arrays)."""
    out: Block = {}
    for k, dtp in EV_KEYS.items():
        v = cols.get(k, _EV_DEFAULT.get(k, 0))
        a = np.empty(n, dtype=dtp)
        a[:] = v
        out[k] = a
    return out


def ev_cat(blocks: list[Block]) -> Block:
    """Concatenate event blocks (in order)."""
    blocks = [b for b in blocks if len(b["t"])]
    if not blocks:
        return ev_new(0)
    return {k: np.concatenate([b[k] for b in blocks]) for k in EV_KEYS}


def ev_take(b: Block, idx: np.ndarray) -> Block:
    """Rows ``idx`` (int index or bool mask) of a block."""
    return {k: v[idx] for k, v in b.items()}


class Interner:
    """A list of distinct strings and their indices (index 0 is reserved at creation)."""

    def __init__(self, first: str = "") -> None:
        self.values: list[str] = []
        self.index: dict[str, int] = {}
        self(first)

    def __call__(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = len(self.values)
            self.values.append(s)
            self.index[s] = i
        return i

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Account:
    """One account as it appears in a lab's logs."""

    name: str
    role: str
    site: int
    host: int
    ip: int


@dataclass
class Lab:
    """One lab: identity, network, staff, calendar, patient registry."""

    k: int
    code: str
    finess: str
    size: float
    migration: int  # day number of the first current-dialect file
    n_sites: int
    rng: np.random.Generator
    legacy_label: str = ""  # what the legacy LABO column holds ("" = the lab code)
    accounts: list[Account] = field(default_factory=list)
    acc_index: dict[str, int] = field(default_factory=dict)
    hosts: Interner = field(default_factory=Interner)
    ips: Interner = field(default_factory=Interner)
    details: Interner = field(default_factory=Interner)
    # calendar (filled by setup_calendar)
    days: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    od: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # open day numbers
    od_sat: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # patients
    ipp: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    reg_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    nir: list[str] = field(default_factory=list)
    vis_pat: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    vis_dos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    vs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ve: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def add_account(self, name: str, role: str, site: int, host: str, ip: str) -> int:
        """Register an account (idempotent on ``name``); returns its index."""
        if name in self.acc_index:
            return self.acc_index[name]
        self.accounts.append(Account(name, role, site, self.hosts(host), self.ips(ip)))
        self.acc_index[name] = len(self.accounts) - 1
        return self.acc_index[name]

    def registered_before(self, day: int) -> int:
        """Patients registered on days before ``day`` (day number): the leak horizon."""
        return int(np.searchsorted(self.reg_day, day, side="left"))


FIRST_NAMES = (
    "hélène", "jérôme", "céline", "françois", "anaïs", "noël", "zoé", "mathis", "léa",
    "inès", "chloé", "hugo", "lucas", "manon", "camille", "julien", "sophie", "thomas",
    "émilie", "gaëlle", "loïc", "agnès", "rené", "maëlle", "benoît", "clément", "sébastien",
    "marie", "paul", "louis", "nathalie", "isabelle", "yannick", "morgane", "erwan", "solène",
)  # fmt: skip
LAST_INITIALS = "abcdefghjklmnoprstuvw"

#: Staff per role for a lab of size 1 at scale 1.
ROLE_BASE = {"BIOLOGISTE": 2, "TECHNICIEN": 4, "SECRETAIRE": 3, "PRELEVEUR": 2, "ADMIN_LABO": 1}

VENDOR_PLACES = (
    ("TS-EDITEUR-01", "172.16.10.11"),
    ("TS-EDITEUR-02", "172.16.10.12"),
    ("PC-HOTLINE-07", "172.16.20.37"),
    ("PC-HOTLINE-12", "172.16.20.42"),
    ("VPN-EDITEUR", "172.16.30.5"),
)
HOTLINE = "hotline.editeur"
MIGRATION = "migration.editeur"
MIGRATION_PLACE = ("MIG-EDITEUR-01", "172.16.50.10")
MIGRATION_IMPORT_IP = "172.16.50.11"  # the vendor's import server for the new product


def luhn_digit(s: str) -> str:
    """Luhn check digit of a digit string (FINESS numbers end with one)."""
    total = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def nir_key(first13: np.ndarray) -> np.ndarray:
    """INSEE key of NIRs: ``97 - (first 13 digits mod 97)``, values 1..97."""
    return 97 - (np.asarray(first13, dtype=np.int64) % 97)


def setup_calendar(lab: Lab, d0: int, d1: int, fr_holidays: set[int]) -> None:
    """Open days: weekdays and Saturday mornings, French public holidays closed."""
    days = np.arange(d0, d1 + 1, dtype=np.int64)
    wd = (days + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
    hol = np.isin(days, np.fromiter(fr_holidays, dtype=np.int64, count=len(fr_holidays)))
    open_ = (wd <= 5) & ~hol
    lab.days = days
    lab.od = days[open_]
    lab.od_sat = wd[open_] == 5


def french_holidays(d0: int, d1: int) -> set[int]:
    """Day numbers of French public holidays (``holidays`` package, country FR)."""
    y0, y1 = date_of(d0).year, date_of(d1).year
    fr = holidays.country_holidays("FR", years=range(y0, y1 + 1))
    return {day_number(d) for d in sorted(fr)}


def setup_staff(lab: Lab, scale: float) -> dict[str, tuple[np.ndarray, float]]:
    """Create staff accounts; return role -> (account indices, presence probability)."""
    rng = lab.rng
    used: set[str] = set()
    out: dict[str, tuple[np.ndarray, float]] = {}
    order = rng.permutation(len(FIRST_NAMES))
    j = 0
    for role, base in ROLE_BASE.items():
        want = base * lab.size * scale
        n = 1 if role == "ADMIN_LABO" else max(1, round(want))
        p = min(0.9, 0.85 * want / n) if role != "ADMIN_LABO" else min(0.6, 0.6 * scale)
        idx = []
        for _ in range(n):
            while True:
                first = FIRST_NAMES[order[j % len(order)]]
                j += 1
                name = f"{first}.{LAST_INITIALS[int(rng.integers(len(LAST_INITIALS)))]}"
                if j > len(order):
                    name += str(j // len(order))
                if name not in used:
                    used.add(name)
                    break
            site = 1 + int(rng.integers(lab.n_sites))
            h = len(idx) + 1 + 10 * list(ROLE_BASE).index(role)
            host = f"PC-{lab.code}-S{site}-{h:02d}"
            ip = f"10.{lab.k % 250}.{site}.{10 + h}"
            idx.append(lab.add_account(name, role, site, host, ip))
        out[role] = (np.array(idx, dtype=np.int32), p)
    return out


def setup_patients(lab: Lab, scale: float) -> None:
    """Patient registry (grows day by day) and daily visits with request numbers."""
    rng = lab.rng
    n0 = max(30, round(4000 * lab.size * scale))
    rate = 10.0 * lab.size * scale * np.where(lab.od_sat, 0.5, 1.0)
    n_new = rng.poisson(rate)
    n_tot = n0 + int(n_new.sum())
    base = 40_000_000 + int(rng.integers(0, 2_000))  # overlapping ranges: IPPs repeat across labs
    lab.ipp = base + np.cumsum(rng.integers(1, 4, size=n_tot)).astype(np.int64)
    lab.reg_day = np.concatenate(
        [np.full(n0, -(1 << 40), np.int64), np.repeat(lab.od, n_new)]
    )  # initial patients were registered before the period
    # NIR: sex, yy, mm, department, commune, order, key (synthetic, random)
    sex = rng.integers(1, 3, n_tot)
    yy = rng.integers(0, 100, n_tot)
    mm = rng.integers(1, 13, n_tot)
    dep = rng.choice(np.array([22, 29, 35, 44, 56, 75, 69, 13, 33, 59]), n_tot)
    com = rng.integers(1, 990, n_tot)
    order = rng.integers(1, 999, n_tot)
    first13 = (sex * 10**12 + yy * 10**10 + mm * 10**8 + dep * 10**6 + com * 10**3 + order).astype(
        np.int64
    )
    key = nir_key(first13)
    lab.nir = [f"{a:013d}{b:02d}" for a, b in zip(first13.tolist(), key.tolist(), strict=True)]
    # visits: today's new patients, plus returning patients registered before today
    reg_before = n0 + np.cumsum(n_new) - n_new
    n_ret = rng.poisson(6.0 * lab.size * scale * np.where(lab.od_sat, 0.5, 1.0))
    n_vis = n_new + n_ret
    vis_day = np.repeat(np.arange(len(lab.od)), n_vis)
    first = np.cumsum(n_vis) - n_vis
    pos = np.arange(int(n_vis.sum())) - np.repeat(first, n_vis)
    is_new = pos < np.repeat(n_new, n_vis)
    new_pat = np.repeat(reg_before, n_vis) + pos
    ret_pat = (rng.random(len(pos)) * np.repeat(reg_before, n_vis)).astype(np.int64)
    lab.vis_pat = np.where(is_new, new_pat, ret_pat)
    dates = lab.od[vis_day]
    yymmdd = _yymmdd(dates)
    lab.vis_dos = yymmdd * 1000 + (pos % 999) + 1
    lab.vs = first
    lab.ve = first + n_vis


def _yymmdd(days: np.ndarray) -> np.ndarray:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return (y % 100) * 10000 + m * 100 + dd


def local_to_utc(day: np.ndarray | int, sec: np.ndarray | int) -> np.ndarray:
    """UTC seconds of local wall time ``sec`` (seconds after midnight) on ``day``.

    Valid outside the 02:00-03:00 hour of change nights: before 02:00 the
    previous day's offset applies, from 03:00 the day's own.
    """
    day = np.asarray(day, dtype=np.int64)
    sec = np.asarray(sec, dtype=np.int64)
    off = np.where(sec < 2 * 3600, noon_offset(day - 1), noon_offset(day))
    return day * DAY + sec - off


# role -> list of (module, action, patient kind, probability); patient kind
# 0 none, 1 today's visit, 2 recent visit (last 3 open days), 3 search (nb records)
ROLE_ACTIONS: dict[str, list[tuple[str, str, int, float]]] = {
    "SECRETAIRE": [
        ("SAISIE", "MODIFICATION", 1, 0.35),
        ("SAISIE", "CONSULTATION", 2, 0.20),
        ("SAISIE", "RECHERCHE", 3, 0.15),
        ("RESULTATS", "IMPRESSION", 2, 0.15),
        ("FACTURATION", "CONSULTATION", 2, 0.10),
        ("FACTURATION", "MODIFICATION", 2, 0.05),
    ],
    "PRELEVEUR": [
        ("RECEPTION", "MODIFICATION", 1, 0.50),
        ("RECEPTION", "CONSULTATION", 1, 0.30),
        ("SAISIE", "RECHERCHE", 3, 0.20),
    ],
    "TECHNICIEN": [
        ("TECHNIQUE", "VALIDATION_TECHNIQUE", 2, 0.45),
        ("TECHNIQUE", "CONSULTATION", 2, 0.25),
        ("TECHNIQUE", "MODIFICATION", 2, 0.15),
        ("RESULTATS", "CONSULTATION", 2, 0.15),
    ],
    "BIOLOGISTE": [
        ("VALIDATION", "VALIDATION_BIOLOGIQUE", 2, 0.45),
        ("RESULTATS", "CONSULTATION", 2, 0.30),
        ("VALIDATION", "MODIFICATION", 2, 0.10),
        ("RESULTATS", "IMPRESSION", 2, 0.10),
        ("SAISIE", "RECHERCHE", 3, 0.05),
    ],
    "ADMIN_LABO": [
        ("ADMIN", "MODIFICATION", 0, 0.30),
        ("ADMIN", "CONSULTATION", 0, 0.20),
        ("RESULTATS", "CONSULTATION", 2, 0.20),
        ("FACTURATION", "CONSULTATION", 2, 0.30),
    ],
    "EDITEUR": [
        ("RESULTATS", "CONSULTATION", 2, 0.40),
        ("ADMIN", "MODIFICATION", 0, 0.25),
        ("ADMIN", "CONSULTATION", 0, 0.20),
        ("SAISIE", "RECHERCHE", 3, 0.15),
    ],
}

#: (module, action) -> free texts drawn for it (first one "" = no text, most often).
DETAILS: dict[tuple[str, str], tuple[str, ...]] = {
    ("SAISIE", "MODIFICATION"): (
        "",
        "",
        "Création demande",
        "Ajout analyse",
        "Ordonnance numérisée",
    ),
    ("RECEPTION", "MODIFICATION"): ("", "Prélèvement enregistré", "Tube reçu"),
    ("TECHNIQUE", "MODIFICATION"): ("", "Résultat corrigé", "Repasse demandée"),
    ("VALIDATION", "MODIFICATION"): ("", "Commentaire biologiste ajouté"),
    ("ADMIN", "MODIFICATION"): (
        "Paramétrage imprimante",
        "Mot de passe réinitialisé",
        "Droits modifiés",
    ),
    ("ADMIN", "CONSULTATION"): ("Journal applicatif", "Liste utilisateurs"),
    ("SAISIE", "RECHERCHE"): ("", "Recherche par nom"),
}


def assign_actions(
    lab: Lab, ev: Block, mid: np.ndarray, role_of_ev: np.ndarray, od_idx: np.ndarray
) -> None:
    """Fill module/action/patient/request/records/detail of the ``mid`` events by role."""
    rng = lab.rng
    for role, table in ROLE_ACTIONS.items():
        sel = np.flatnonzero(mid & (role_of_ev == ROLES.index(role)))
        if not len(sel):
            continue
        p = np.array([r[3] for r in table])
        ch = rng.choice(len(table), size=len(sel), p=p / p.sum())
        mods = np.array([M[r[0]] for r in table], dtype=np.int8)
        acts = np.array([A[r[1]] for r in table], dtype=np.int8)
        pk = np.array([r[2] for r in table])[ch]
        ev["mod"][sel] = mods[ch]
        ev["act"][sel] = acts[ch]
        # patients from the visit pools
        d = od_idx[sel]
        lo = np.where(pk == 1, lab.vs[d], lab.vs[np.maximum(d - 2, 0)])
        hi = lab.ve[d]
        has_pat = (pk == 1) | (pk == 2)
        vi = lo + (rng.random(len(sel)) * (hi - lo)).astype(np.int64)
        ok_pool = has_pat & (hi > lo)
        pat = np.where(
            ok_pool,
            lab.vis_pat[np.minimum(vi, max(len(lab.vis_pat) - 1, 0))] if len(lab.vis_pat) else -1,
            -1,
        )
        dos = np.where(
            ok_pool,
            lab.vis_dos[np.minimum(vi, max(len(lab.vis_dos) - 1, 0))] if len(lab.vis_dos) else -1,
            -1,
        )
        # empty pool (tiny scale): any registered patient, no request
        nreg = np.searchsorted(lab.reg_day, lab.od[d], side="left")
        fb = has_pat & ~ok_pool & (nreg > 0)
        pat = np.where(fb, (rng.random(len(sel)) * nreg).astype(np.int64), pat)
        ev["pat"][sel] = pat
        ev["dos"][sel] = dos
        ev["nb"][sel] = np.where(pk == 3, rng.integers(1, 40, len(sel)), -1)
        for ci, (mname, aname, _pk, _p) in enumerate(table):
            texts = DETAILS.get((mname, aname))
            if not texts:
                continue
            w = sel[ch == ci]
            if len(w):
                ids = np.array([lab.details(s) for s in texts], dtype=np.int32)
                ev["det"][w] = ids[rng.integers(0, len(ids), len(w))]


def build_sessions(
    rng: np.random.Generator,
    g_day: np.ndarray,
    g_acc: np.ndarray,
    g_start: np.ndarray,
    g_k: np.ndarray,
    g_cutoff: np.ndarray,
    *,
    mid_mean: float = 5.0,
    mid_max: int = 30,
    p_logout: float = 0.88,
    gap_mean: float = 150.0,
    gap_max: int = 1500,
    between: tuple[int, int] = (2100, 7200),
) -> tuple[Block, np.ndarray, np.ndarray]:
    """Sequential sessions per group (one account on one day), vectorized.

    Parameters
    ----------
    g_day, g_acc, g_start, g_k, g_cutoff : numpy.ndarray, shape (G,)
        Day number, account index, first session start (local seconds after
        midnight), number of sessions, and latest allowed session start (local s).

    Returns
    -------
    events : Block
        Login, middle and logout events; ``sess`` numbers sessions from 0.
    kind : numpy.ndarray of int8
        0 login, 1 middle, 2 logout, per event.
    day : numpy.ndarray of int64
        Day number of each event's session.

    Notes
    -----
    Gaps inside a session are below ``gap_max`` (< 30 min) and gaps between
    sessions of one account at least ``between[0]`` (> 30 min), so a 30-minute
    idle timeout recovers every session, with or without a logout.
    """
    g_k = np.asarray(g_k, dtype=np.int64)
    S = int(g_k.sum())
    s_g = np.repeat(np.arange(len(g_k)), g_k)
    n_mid = np.minimum(rng.geometric(1.0 / mid_mean, S), mid_max)
    logout = rng.random(S) < p_logout
    n_ev = 1 + n_mid + logout
    E = int(n_ev.sum())
    e_s = np.repeat(np.arange(S), n_ev)
    s_first = (np.cumsum(n_ev) - n_ev).astype(np.int64)
    pos = np.arange(E) - s_first[e_s]
    gap = np.minimum(rng.exponential(gap_mean, E) + 3, gap_max).astype(np.int64)
    gap[pos == 0] = 0
    cs = np.cumsum(gap)
    off = cs - cs[s_first][e_s]
    dur = off[s_first + n_ev - 1]
    span = dur + rng.integers(between[0], between[1], S)
    g_first = (np.cumsum(g_k) - g_k).astype(np.int64)
    cspan = np.cumsum(span)
    excl = cspan - span
    rel = excl - excl[g_first][s_g]
    s_local = g_start[s_g] + rel
    keep_s = s_local <= g_cutoff[s_g]
    s_day = g_day[s_g]
    s_t = local_to_utc(s_day, s_local)
    kind = np.where(pos == 0, 0, np.where((pos == n_ev[e_s] - 1) & logout[e_s], 2, 1)).astype(
        np.int8
    )
    keep_e = keep_s[e_s]
    new_idx = np.cumsum(keep_s) - 1
    ev = ev_new(int(keep_e.sum()))
    ev["t"] = (s_t[e_s] + off)[keep_e]
    ev["acc"] = g_acc[s_g][e_s][keep_e].astype(np.int32)
    ev["sess"] = new_idx[e_s][keep_e]
    ev["act"][:] = np.where(kind[keep_e] == 0, A["CONNEXION"], A["DECONNEXION"])
    ev["mod"][:] = M["ADMIN"]
    return ev, kind[keep_e], s_day[e_s][keep_e]
