"""Variants of the synthetic evidence (issue 14, item 6): evidence not shaped for the rules.

``generate(..., variant=NAME)`` builds the same routine world (staff, hotline,
interfaces, nightly job, billing and statistics traps) without the default
incidents (a)-(d), and adds the variant's own operations, each with an entry
in the authorisation register the generator writes (``authorisations.csv``)
when it is authorised work, and a ground-truth tag:

=====================  ==================================================================
variant                what it adds
=====================  ==================================================================
authorised_migrations  registered migration extractions (within ticket scope) before each
                       lab's migration; registered hotline support exports (daytime)
backup_extraction      the nightly backup coded ``EXTRACTION`` at odd labs, ``EXPORT`` at
                       even ones
staff_exports          incident ``staff_export``: a staff member's first export, 50-5,000
                       records (one is a secretary exporting to a spreadsheet when a lab
                       has a secretary besides the billing one)
snooping               incident ``snooping``: a staff account reading 3-50 patients that
                       have no visit at the lab within a year either side
attackers              incident ``compromise``: 1-10 failed logins from a new external
                       address, then a login that reads or exports
hotline_night          hotline exports after 21:00: registered (trap ``support_night``) and
                       an unregistered low-and-slow campaign (incident ``hotline_night``)
beyond_scope           incident ``beyond_scope``: a vendor extraction beyond its ticket's
                       patient scope or record limit, next to authorised migrations
clean                  no incident
no_networks            one staff export, one snooping and one compromise; the case file
                       has no ``[networks]``
=====================  ==================================================================

Every variant also registers the routine work that exports: the monthly
billing export (its secretary), the nightly backup (``batch.nuit``, output
``<LAB>_*.dmp``) and the yearly statistics (the lab's admin, ``stats_*.xlsx``).

Ranges (:data:`RANGES`) are wider than the rules' thresholds on purpose
(``detect/rules.toml``: 30 distinct patients, 5 failed logins
(``thresholds.FAILED_LOGIN_BURST``), a share of half the lab's patients):
detection must hold on evidence that was not drawn to sit on either side of
them. Draws come from their own streams, ``SeedSequence([seed, 30000 +
crc32(variant) % 10000, k])`` (k = 0 for the plan, the lab's number
otherwise), so the variant name and the seed determine everything.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._arrays import unique_sorted
from .clock import DAY, date_of, iso_utc, local_offset
from .incidents import S, is_change_day, pick_open_day, session_block
from .model import (
    HOTLINE,
    MIGRATION,
    MIGRATION_PLACE,
    ROLE_BASE,
    VENDOR_PLACES,
    Block,
    Lab,
    local_to_utc,
)
from .register import Operation, RegisterRow, destination_of, register_status

if TYPE_CHECKING:
    from .lab_build import _Build

__all__ = ["VARIANTS", "RANGES", "INCIDENT_KINDS", "BENIGN_KINDS", "plan_variant", "build_variant"]

#: The variants and the components each one adds.
VARIANTS: dict[str, tuple[str, ...]] = {
    "authorised_migrations": ("authorised_migration", "support_export"),
    "backup_extraction": ("backup_extraction",),
    "staff_exports": ("staff_export",),
    "snooping": ("snooping",),
    "attackers": ("compromise",),
    "hotline_night": ("support_night", "hotline_night"),
    "beyond_scope": ("authorised_migration", "beyond_scope"),
    "clean": (),
    "no_networks": ("staff_export", "snooping", "compromise"),
}
#: Incident kinds the variants inject (tags of group ``incident``).
INCIDENT_KINDS = ("staff_export", "snooping", "compromise", "hotline_night", "beyond_scope")
#: Benign kinds the variants inject (tags of group ``trap``).
BENIGN_KINDS = ("authorised_migration", "support_export", "support_night")

#: Parameter ranges (inclusive), each wider than the threshold a rule applies to it.
RANGES: dict[str, tuple[int, int]] = {
    "staff_export_records": (50, 5000),  # issue 14: 50-5,000 records
    "snooping_patients": (3, 50),  # rules: 30 distinct patients; issue 14: 3-50
    "snooping_sessions": (1, 4),
    "failed_logins": (1, 10),  # FAILED_LOGIN_BURST = 5; issue 14: 1-10
    "compromise_records": (50, 5000),
    "compromise_patients": (3, 60),
    "support_records": (15, 500),
    "hotline_night_records": (15, 120),  # per export, as incident (b)
    "hotline_night_sessions": (2, 10),
}
#: Share of the labs that get a component (at least one lab each).
_SHARE = {
    "staff_export": 1 / 3,
    "snooping": 1 / 3,
    "compromise": 1 / 4,
    "hotline_night": 1 / 4,
    "support_night": 1 / 3,
    "support_export": 1 / 2,
    "beyond_scope": 1 / 4,
}


def variant_seed(name: str) -> int:
    """The variant's stream number (stable across Python runs: CRC-32 of the name)."""
    return 30_000 + zlib.crc32(name.encode("utf-8")) % 10_000


def variant_rng(seed: int, name: str, k: int) -> np.random.Generator:
    """Stream ``k`` of the variant (0: the plan, lab number otherwise)."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([seed, variant_seed(name), k]))
    )


def plan_variant(name: str, plan: dict, d0: int, d1: int, seed: int, scale: float = 1.0) -> None:
    """Decide which labs get which component; written into each lab's plan entry as ``variant``.

    ``scale`` gives each lab's number of secretaries (as
    :func:`labforensics.synth.model.setup_staff` draws it), so that the
    spreadsheet export goes to a lab with a secretary besides the billing one.
    """
    rng = variant_rng(seed, name, 0)
    labs = plan["labs"]
    n = len(labs)
    comps = VARIANTS[name]
    for lp in labs:
        lp["variant"] = {"name": name, "components": []}
    # labs whose migration (and a few weeks before it) lies in the period
    mig_ok = [i for i, lp in enumerate(labs) if d0 + 45 <= lp["migration"] <= d1]
    taken: dict[str, list[int]] = {}
    for comp in comps:
        if comp == "backup_extraction":
            for lp in labs:
                if lp["k"] % 2 == 1:
                    lp["variant"]["components"].append(comp)
            continue
        if comp == "authorised_migration":
            continue  # after beyond_scope: every other migrating lab
        pool = list(range(n))
        if comp == "beyond_scope":
            pool = mig_ok
        if comp == "hotline_night":  # not at a lab where the hotline is registered
            pool = [i for i in pool if i not in taken.get("support_night", [])] or pool
        if name == "no_networks":  # one lab each, distinct when there are enough labs
            used = {i for v in taken.values() for i in v}
            pool = [i for i in pool if i not in used] or pool
            k = 1
        else:
            k = max(1, round(_SHARE[comp] * len(pool))) if pool else 0
        pick = sorted(rng.permutation(pool)[:k].tolist()) if pool else []
        taken[comp] = pick
        for i in pick:
            labs[i]["variant"]["components"].append(comp)
    if "authorised_migration" in comps:
        for i in mig_ok:
            if "beyond_scope" not in labs[i]["variant"]["components"]:
                labs[i]["variant"]["components"].append("authorised_migration")
    # the spreadsheet secretary: a staff-export lab with a second secretary (else one more lab)
    if taken.get("staff_export"):
        two = [i for i in range(n) if _secretaries(labs[i]["size"], scale) >= 2]
        at = [i for i in taken["staff_export"] if i in two]
        if not at and two and name != "no_networks":
            at = [two[int(rng.integers(len(two)))]]
            if "staff_export" not in labs[at[0]]["variant"]["components"]:
                labs[at[0]]["variant"]["components"].append("staff_export")
        if at:
            labs[at[0]]["variant"]["secretary"] = True
    flav = rng.permutation(2)
    for j, i in enumerate(taken.get("beyond_scope", [])):
        labs[i]["variant"]["beyond"] = ("scope", "records")[int(flav[j % 2])]


def _secretaries(size: float, scale: float) -> int:
    """Secretaries of a lab (:data:`labforensics.synth.model.ROLE_BASE`, as ``setup_staff``)."""
    return max(1, round(ROLE_BASE["SECRETAIRE"] * size * scale))


def common_register(b: _Build) -> None:
    """Register rows of the routine work that exports: billing, nightly backup, statistics."""
    lab = b.lab
    start = str(date_of(b.d0))
    bill = lab.accounts[int(b.staff["SECRETAIRE"][0][0])].name
    admin = lab.accounts[int(b.staff["ADMIN_LABO"][0][0])].name
    reg = b.extra.setdefault("register", [])
    reg += [
        RegisterRow(f"FACT-{lab.code}", lab.code, bill, "billing", start,
                    purpose="Export mensuel de facturation (télétransmission)"),
        RegisterRow(f"SAUV-{lab.code}", lab.code, "batch.nuit", "backup", start,
                    destination=f"{lab.code}_*.dmp", purpose="Sauvegarde nocturne"),
        RegisterRow(f"STAT-{lab.code}", lab.code, admin, "other", start,
                    destination="stats_*.xlsx", purpose="Statistiques annuelles anonymisées"),
    ]  # fmt: skip


def build_variant(b: _Build, lp: dict, routine: Block, rng: np.random.Generator) -> None:
    """Add one lab's variant operations (sessions, tags, register rows, operations)."""
    common_register(b)
    info = lp["variant"]
    for comp in info["components"]:
        if comp == "authorised_migration":
            _migration(b, routine, rng, beyond=None)
        elif comp == "beyond_scope":
            _migration(b, routine, rng, beyond=info.get("beyond", "scope"))
        elif comp == "support_export":
            _support(b, rng, night=False)
        elif comp == "support_night":
            _support(b, rng, night=True)
        elif comp == "staff_export":
            _staff_export(b, rng, secretary=bool(info.get("secretary")))
        elif comp == "snooping":
            _snooping(b, rng)
        elif comp == "compromise":
            _compromise(b, rng)
        elif comp == "hotline_night":
            _hotline_night(b, rng)


def _ymd(day: int) -> str:
    return str(date_of(day)).replace("-", "")


def _op(b: _Build, t: int, takes: str | None, **kw: Any) -> None:
    """Remember how an operation chose its patients (for its true scope status)."""
    b.extra.setdefault("ops", []).append({"t": int(t), "takes": takes, **kw})


def _migration(b: _Build, routine: Block, rng: np.random.Generator, beyond: str | None) -> None:
    """A ticketed migration extraction by ``migration.editeur``; ``beyond`` crosses its scope or limit.

    Authorised: it takes 80-97 % of the patients the logs name since the
    ticket's scope date (a migration of "patients seen since" that date).
    Beyond (``scope``): it takes every registered patient (as incident a);
    beyond (``records``): the patients in scope, more than the ticket's limit.
    """
    lab = b.lab
    day = lab.migration - int(rng.integers(3, 21))
    while is_change_day(day):
        day -= 1
    if day < b.d0 + 30:
        return
    acc = lab.add_account(MIGRATION, "EDITEUR", 1, *MIGRATION_PLACE)
    # 19:00-02:00 local for authorised and beyond alike (time is no giveaway)
    t0 = int(local_to_utc(day, 68400 + int(rng.integers(0, 7 * 3600))))
    scope_day = b.d0 + int(rng.integers(0, max(1, day - b.d0 - 30)))
    named = routine["pat"][(routine["t"] >= int(local_to_utc(scope_day, 0))) & (routine["t"] < t0)]
    named = unique_sorted(named[named >= 0])
    n_reg = lab.registered_before(day)
    named = named[named < n_reg]
    in_scope = max(1, int(len(named) * rng.uniform(0.80, 0.97)))
    if beyond == "scope":
        n, takes = n_reg, "all_registered"
    else:
        n, takes = in_scope, "in_scope"
    if beyond == "records":
        cap = max(10, int(round(n * rng.uniform(0.3, 0.8), -1)))
    else:
        cap = int(np.ceil(max(n, in_scope) * rng.uniform(1.1, 1.5) / 100) * 100)
    year = str(date_of(day))[:4]
    ticket = f"MIG-{year}-{lab.k:03d}"
    fname = f"{lab.code}_migration_{_ymd(day)}.csv"
    since = str(date_of(scope_day))
    if beyond is None:
        tag = b.tag(id=f"authorised_migration-{lab.code}", group="trap",
                    kind="authorised_migration", account=MIGRATION, role="EDITEUR")  # fmt: skip
    else:
        tag = b.tag(id=f"beyond_scope-{lab.code}", group="incident", kind="beyond_scope",
                    vector="vendor", account=MIGRATION, role="EDITEUR")  # fmt: skip
    vol = n * int(rng.integers(900, 1400)) + 1024
    steps = [
        S(0, "ADMIN", "CONNEXION"),
        S(rng.integers(60, 300), "EXTRACTION", "RECHERCHE", nb=n,
          det=f"Sélection : patients vus depuis {since}" if takes == "in_scope" else "Sélection : tous les patients"),
        S(rng.integers(60, 600), "EXTRACTION", "EXTRACTION", nb=n, vol=vol,
          det=f"Extraction dossiers patients vers ftp://transfert/{fname}"),
        S(rng.integers(120, 900), "ADMIN", "DECONNEXION"),
    ]  # fmt: skip
    ev = session_block(lab, b.sp, acc, t0, steps, tag, sess_base=b.n2)
    start = pick_open_day(lab, day - 40, day - 10, rng=rng) or day - 10
    b.extra.setdefault("register", []).append(
        RegisterRow(ticket, lab.code, MIGRATION, "migration", str(date_of(start)),
                    str(date_of(lab.migration)), since, cap, f"{lab.code}_*.csv",
                    "Migration vers la nouvelle version : patients vus depuis la date de périmètre")
    )  # fmt: skip
    b.tags[tag].info = {"ticket": ticket, "file": fname, "records": n, "scope_patients_since": since,
                        "scope_max_records": cap, "takes": takes, "flavour": beyond or "authorised"}  # fmt: skip
    _op(b, ev["t"][2], takes, n_registered=n_reg)


def _vendor_place(lab: Lab, rng: np.random.Generator) -> tuple[int, int]:
    h, i = VENDOR_PLACES[int(rng.integers(len(VENDOR_PLACES)))]
    return lab.hosts(h), lab.ips(i)


def _support(b: _Build, rng: np.random.Generator, night: bool) -> None:
    """Registered hotline exports for support tickets (daytime, or after 21:00)."""
    lab = b.lab
    acc = lab.add_account(HOTLINE, "EDITEUR", 1, *VENDOR_PLACES[0])
    kind = "support_night" if night else "support_export"
    for j in range(int(rng.integers(1, 4))):
        day = pick_open_day(lab, b.d0 + 5, b.d1 - 3, rng=rng)
        if day is None:
            return
        ticket = f"SUP-{lab.k:03d}{int(rng.integers(10000, 99999))}"
        nb = int(rng.integers(RANGES["support_records"][0], RANGES["support_records"][1] + 1))
        sec = 75600 + int(rng.integers(0, 9000)) if night else 32400 + int(rng.integers(0, 27000))
        t0 = int(local_to_utc(day, sec))
        fname = f"ticket_{ticket}.csv"
        tag = b.tag(id=f"{kind}-{lab.code}-{j + 1}", group="trap", kind=kind, account=HOTLINE,
                    role="EDITEUR", info={"ticket": ticket, "records": nb, "file": fname})  # fmt: skip
        host, ip = _vendor_place(lab, rng)
        ev = session_block(
            lab, b.sp, acc, t0,
            [S(0, "ADMIN", "CONNEXION"),
             S(rng.integers(30, 200), "SAISIE", "RECHERCHE", nb=nb),
             S(rng.integers(30, 400), "RESULTATS", "EXPORT", nb=nb, vol=nb * int(rng.integers(300, 600)),
               det=f"Export liste patients ticket #{ticket} vers {fname}"),
             S(rng.integers(30, 300), "ADMIN", "DECONNEXION")],
            tag, host=host, ip=ip, sess_base=b.n2,
        )  # fmt: skip
        b.extra.setdefault("register", []).append(
            RegisterRow(ticket, lab.code, HOTLINE, "support", str(date_of(day)),
                        str(date_of(day + 1)), "", int(np.ceil(nb * 1.5 / 10) * 10), "ticket_*.csv",
                        "Demande du laboratoire : extraction pour le support")
        )  # fmt: skip
        _op(b, ev["t"][2], None)


def _staff_day(b: _Build, rng: np.random.Generator) -> int | None:
    return pick_open_day(b.lab, b.d0 + (b.d1 - b.d0) // 4, b.d1 - 1, rng=rng)


def _loguniform(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(min(hi, max(lo, round(float(np.exp(rng.uniform(np.log(lo), np.log(hi + 1))))))))


def _staff_export(b: _Build, rng: np.random.Generator, secretary: bool) -> None:
    """A staff member's first export (never registered): results to CSV, or a spreadsheet."""
    lab = b.lab
    secs = b.staff["SECRETAIRE"][0][1:]  # not the billing secretary (registered)
    if secretary and len(secs):
        acc, sheet = int(secs[int(rng.integers(len(secs)))]), True
    else:
        pool = np.concatenate([b.staff["TECHNICIEN"][0], b.staff["BIOLOGISTE"][0], secs])
        acc = int(pool[int(rng.integers(len(pool)))])
        sheet = lab.accounts[acc].role == "SECRETAIRE"
    day = _staff_day(b, rng)
    if day is None:
        return
    lo, hi = RANGES["staff_export_records"]
    nb = _loguniform(rng, lo, hi)
    a = lab.accounts[acc]
    ext = "xlsx" if sheet else "csv"
    fname = f"patients_{_ymd(day)}.{ext}"
    det = (f"Export vers C:\\Users\\{a.name}\\Documents\\{fname}" if sheet
           else f"Export résultats (CSV) vers {fname}")  # fmt: skip
    tag = b.tag(id=f"staff_export-{lab.code}", group="incident", kind="staff_export",
                vector="insider", account=a.name, role=a.role,
                info={"records": nb, "file": fname, "spreadsheet": sheet,
                      "day": str(date_of(day))})  # fmt: skip
    t0 = int(local_to_utc(day, 32400 + int(rng.integers(0, 30600))))
    ev = session_block(
        lab, b.sp, acc, t0,
        [S(0, "ADMIN", "CONNEXION"),
         S(rng.integers(20, 300), "SAISIE", "RECHERCHE", nb=nb, det="Recherche multicritère"),
         S(rng.integers(30, 600), "RESULTATS", "EXPORT", nb=nb, vol=nb * int(rng.integers(150, 400)), det=det),
         S(rng.integers(30, 600), "ADMIN", "DECONNEXION")],
        tag, sess_base=b.n2,
    )  # fmt: skip
    _op(b, ev["t"][2], None)


def _unvisited(lab: Lab, day: int, radius: int = 365) -> tuple[np.ndarray, int]:
    """Patients registered before ``day`` with no visit within ``radius`` days of it, and the radius.

    The radius halves (down to about a month) when a small lab has too few such patients.
    """
    n_reg = lab.registered_before(day)
    vday = np.repeat(lab.od, lab.ve - lab.vs)
    near = unique_sorted(lab.vis_pat[(vday >= day - radius) & (vday <= day + radius)])
    cand = np.setdiff1d(np.arange(n_reg), near)
    if len(cand) < RANGES["snooping_patients"][1] and radius > 30:
        return _unvisited(lab, day, radius // 2)
    return cand, radius


def _snooping(b: _Build, rng: np.random.Generator) -> None:
    """A staff account reading 3-50 patients with no visit at the lab, in 1-4 sittings."""
    lab = b.lab
    pool = np.concatenate(
        [b.staff[r][0] for r in ("TECHNICIEN", "SECRETAIRE", "BIOLOGISTE", "PRELEVEUR")]
    )
    acc = int(pool[int(rng.integers(len(pool)))])
    a = lab.accounts[acc]
    lo, hi = RANGES["snooping_patients"]
    n_pat = int(rng.integers(lo, hi + 1))
    first = _staff_day(b, rng)
    if first is None:
        return
    cand, radius = _unvisited(lab, first)
    if not len(cand):
        return
    pats = rng.choice(cand, size=min(n_pat, len(cand)), replace=False)
    k = int(
        rng.integers(
            RANGES["snooping_sessions"][0], min(RANGES["snooping_sessions"][1], len(pats)) + 1
        )
    )
    days = sorted({first, *[
        d for d in (pick_open_day(lab, first + 1, first + 20, rng=rng) for _ in range(k - 1)) if d is not None
    ]})  # fmt: skip
    parts = np.array_split(pats, len(days))
    tag = b.tag(id=f"snooping-{lab.code}", group="incident", kind="snooping", vector="insider",
                account=a.name, role=a.role,
                info={"patients": int(len(pats)), "sessions": len(days), "no_visit_within_days": radius,
                      "days": [str(date_of(d)) for d in days]})  # fmt: skip
    for day, part in zip(days, parts, strict=True):
        steps = [S(0, "ADMIN", "CONNEXION")]
        for p in part.tolist():
            mod = ("RESULTATS", "SAISIE")[int(rng.integers(2))]
            steps.append(S(rng.integers(15, 150), mod, "CONSULTATION", pat=p))
        if rng.random() < 0.8:
            steps.append(S(rng.integers(20, 200), "ADMIN", "DECONNEXION"))
        t0 = int(local_to_utc(day, 30600 + int(rng.integers(0, 32400))))
        session_block(lab, b.sp, acc, t0, steps, tag, sess_base=b.n2)


def _compromise(b: _Build, rng: np.random.Generator) -> None:
    """Credential compromise: 1-10 failed logins from a new external address, a login, reads or an export."""
    lab = b.lab
    pool = np.concatenate(
        [b.staff[r][0] for r in ("TECHNICIEN", "SECRETAIRE", "BIOLOGISTE", "PRELEVEUR")]
    )
    acc = int(pool[int(rng.integers(len(pool)))])
    a = lab.accounts[acc]
    days = [
        d for d in lab.days[lab.days >= b.d0 + (b.d1 - b.d0) // 5].tolist() if not is_change_day(d)
    ]
    if not days:
        return
    day = int(days[int(rng.integers(len(days)))])
    net = ("203.0.113", "198.51.100", "192.0.2")[
        int(rng.integers(3))
    ]  # RFC 5737 documentation blocks
    ip_s = f"{net}.{int(rng.integers(2, 250))}"
    host_s = f"DESKTOP-{int(rng.integers(0, 16**6)):06X}"
    host, ip = lab.hosts(host_s), lab.ips(ip_s)
    nf = int(rng.integers(RANGES["failed_logins"][0], RANGES["failed_logins"][1] + 1))
    exports = bool(rng.random() < 0.5)
    tag = b.tag(id=f"compromise-{lab.code}", group="incident", kind="compromise", vector="external",
                account=a.name, role=a.role)  # fmt: skip
    t0 = int(
        local_to_utc(
            day,
            int(rng.integers(0, 7000))
            if rng.random() < 0.3
            else 10800 + int(rng.integers(0, 75000)),
        )
    )
    fails = [
        S(0 if i == 0 else rng.integers(2, 40), "ADMIN",
          "ECHEC_CONNEXION" if rng.random() < 0.6 else "CONNEXION", ok=False, det="Mot de passe incorrect")
        for i in range(nf)
    ]  # fmt: skip
    fb = session_block(lab, b.sp, acc, t0, fails, tag, host=host, ip=ip, sess=False)
    fb["fsess"][:] = b.sp.n_sess + b.n2
    steps = [S(0, "ADMIN", "CONNEXION")]
    info: dict[str, Any] = {
        "src_ip": ip_s,
        "host": host_s,
        "failed_logins": nf,
        "day": str(date_of(day)),
    }
    if exports:
        nb = _loguniform(rng, *RANGES["compromise_records"])
        steps += [
            S(rng.integers(20, 120), "SAISIE", "RECHERCHE", nb=nb),
            S(rng.integers(30, 300), "RESULTATS", "EXPORT", nb=nb, vol=nb * int(rng.integers(300, 600)),
              det="Export résultats (CSV)"),
        ]  # fmt: skip
        info["records"] = nb
    else:
        n_reg = max(lab.registered_before(day), 1)
        m = int(
            rng.integers(RANGES["compromise_patients"][0], RANGES["compromise_patients"][1] + 1)
        )
        steps += [S(rng.integers(10, 90), "RESULTATS", "CONSULTATION", pat=p)
                  for p in rng.integers(0, n_reg, m).tolist()]  # fmt: skip
        info["patients_read"] = m
    if rng.random() < 0.6:
        steps.append(S(rng.integers(30, 300), "ADMIN", "DECONNEXION"))
    t1 = int(fb["t"][-1]) + int(rng.integers(20, 180))
    ev = session_block(lab, b.sp, acc, t1, steps, tag, host=host, ip=ip, sess_base=b.n2)
    b.tags[tag].info = info
    if exports:
        _op(b, ev["t"][2], None)


def _hotline_night(b: _Build, rng: np.random.Generator) -> None:
    """Unregistered hotline exports after 21:00, low and slow over a few weeks, from vendor places."""
    lab = b.lab
    acc = lab.add_account(HOTLINE, "EDITEUR", 1, *VENDOR_PLACES[0])
    width = min(42, max(14, (b.d1 - b.d0) // 2))
    b0 = b.d0 + int(rng.integers(0, max(1, b.d1 - b.d0 - width)))
    days = [d for d in lab.od[(lab.od >= b0) & (lab.od < b0 + width) & ~lab.od_sat].tolist()
            if not is_change_day(d)]  # fmt: skip
    if not days:
        return
    lo, hi = RANGES["hotline_night_sessions"]
    k = min(len(days), int(rng.integers(lo, hi + 1)))
    pick = sorted(rng.choice(days, size=k, replace=False).tolist())
    tag = b.tag(id=f"hotline_night-{lab.code}", group="incident", kind="hotline_night",
                vector="vendor", account=HOTLINE, role="EDITEUR")  # fmt: skip
    host, ip = _vendor_place(lab, rng)
    total = 0
    for day in pick:
        t0 = int(local_to_utc(day, 75600 + int(rng.integers(0, 9000))))  # 21:00-23:30 local
        steps = [
            S(0, "ADMIN", "CONNEXION"),
            S(rng.integers(30, 200), "SAISIE", "RECHERCHE", nb=rng.integers(20, 200)),
        ]
        pos = []
        for _ in range(1 + int(rng.random() < 0.5)):
            nb = int(
                rng.integers(
                    RANGES["hotline_night_records"][0], RANGES["hotline_night_records"][1] + 1
                )
            )
            total += nb
            pos.append(len(steps))
            steps.append(S(rng.integers(30, 400), "RESULTATS", "EXPORT", nb=nb,
                           vol=nb * int(rng.integers(300, 600)), det="Export liste patients (CSV)"))  # fmt: skip
        if rng.random() < 0.8:
            steps.append(S(rng.integers(30, 300), "ADMIN", "DECONNEXION"))
        ev = session_block(lab, b.sp, acc, t0, steps, tag, host=host, ip=ip, sess_base=b.n2)
        for p in pos:
            _op(b, ev["t"][p], None)
    b.tags[tag].info = {"exported_records": total, "sessions": len(pick),
                        "src_ip": lab.ips.values[ip], "days": [str(date_of(d)) for d in pick]}  # fmt: skip


def lab_exports_truth(lab: Lab, events: Any, extra: dict, finess: str) -> list[dict]:
    """True register status of every export and extraction of one lab (``exports_truth``).

    Parameters
    ----------
    lab : Lab
        The lab as built (patient registry: ``ipp`` increasing, ``reg_day``).
    events : pyarrow.Table
        The lab's truth events (:data:`labforensics.synth.lab_truth.TRUTH_EVENT_SCHEMA`).
    extra : dict
        ``register`` (the lab's :class:`RegisterRow` list) and ``ops`` (how each
        variant operation chose its patients: ``in_scope`` or ``all_registered``).
    finess : str
        The lab's FINESS number (a register row may name the lab by it).

    Returns
    -------
    list of dict
        One per successful event whose action is EXPORT or EXTRACTION (either
        dialect), in time order: ``source_file``, ``source_line``, ``session``,
        ``lab``, ``account``, ``ts`` (UTC ISO), ``action``, ``records``,
        ``destination``, ``status``, ``ticket``, ``limits_crossed``, and when
        crossed ``records_over`` / ``out_of_scope`` (records whose patients had
        no activity at the lab since the scope date before the operation:
        none named by an audit event, none registered in that period) and
        ``eligible_logs`` (patients the logs name in the scope period, among
        those registered before the operation's day); ``incident``, ``trap``.
    """
    t = events.to_pandas()
    act = t["action"].astype(str).str.upper()
    w = t[act.isin(["EXPORT", "EXTRACTION"]) & (t["outcome"] == "success") & t["records"].notna()]
    w = w.sort_values(["ts", "source_file", "source_line"], kind="stable")
    if not len(w):
        return []
    takes = {o["t"]: o for o in extra.get("ops", [])}
    rows = extra.get("register", [])
    scopes = sorted({r.scope_patients_since for r in rows if r.scope_patients_since})
    ts_s = t["ts"].astype("int64").to_numpy() // 1_000_000_000
    num = pd.to_numeric(t["ipp"], errors="coerce")  # IPPs are digit strings; none -> NaN
    has = num.notna().to_numpy()
    pat = np.full(len(t), -1, np.int64)
    if has.any():
        pat[has] = np.searchsorted(lab.ipp, num[has].to_numpy(dtype=np.int64))
    ops, meta = [], []
    for i, r in w.iterrows():  # one per export or extraction
        ts = int(r["ts"].value // 1_000_000_000)
        module = str(r["module"]).upper()
        unit = module == "EXTRACTION" and act[i] == "EXTRACTION"
        o = takes.get(ts, {})
        how = o.get("takes")
        day = int((ts + int(local_offset(np.int64(ts)))) // DAY)  # the local day
        n_reg = lab.registered_before(day)
        if how is None and unit and int(r["records"]) == n_reg:
            how = "all_registered"  # incident (a): every registered patient
        if how == "all_registered":  # it took the first `records` of the registry
            n_reg = int(r["records"])
        elig, logs = None, {}
        if unit and how is not None:
            elig = {}
            for sc in scopes:
                s0 = int(local_to_utc(_dnum(sc), 0))
                named = unique_sorted(pat[(pat >= 0) & (ts_s >= s0) & (ts_s < ts)])
                named = named[named < n_reg]
                logs[sc] = int(len(named))
                if how == "in_scope":
                    elig[sc] = int(r["records"])
                else:
                    reg = np.flatnonzero(
                        (lab.reg_day >= _dnum(sc)) & (np.arange(len(lab.reg_day)) < n_reg)
                    )
                    elig[sc] = int(len(np.union1d(named, reg)))
        dest = destination_of(str(r["detail"]))
        ops.append(
            Operation(lab.code, finess, str(r["account"]), ts, int(r["records"]), dest, unit, elig)
        )
        meta.append((r, dest, logs))
    out = []
    for (r, dest, logs), st in zip(meta, register_status(ops, rows), strict=True):
        rec = {
            "source_file": r["source_file"], "source_line": int(r["source_line"]),
            "session": int(r["session"]), "lab": lab.code, "account": str(r["account"]),
            "ts": iso_utc(int(r["ts"].value // 1_000_000_000)), "action": str(r["action"]).upper(),
            "records": int(r["records"]), "destination": dest, **st,
            "incident": r["incident"] or None, "trap": r["trap"] or None,
        }  # fmt: skip
        if st["status"] == "beyond" and "scope" in st["limits_crossed"]:
            row = next(x for x in rows if x.ticket == st["ticket"])
            rec["eligible_logs"] = logs.get(row.scope_patients_since)
        out.append(rec)
    return out


def _dnum(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - dt.date(1970, 1, 1)).days
