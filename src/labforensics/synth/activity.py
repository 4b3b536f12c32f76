"""Routine activity of one lab: staff and hotline sessions, interfaces, the nightly job."""

from __future__ import annotations

import numpy as np

from .._arrays import unique_sorted
from .clock import DAY, noon_offset
from .model import (
    HOTLINE,
    ROLES,
    VENDOR_PLACES,
    A,
    Block,
    Lab,
    M,
    assign_actions,
    build_sessions,
    ev_cat,
    ev_new,
)

__all__ = ["staff_activity", "hotline_activity", "nightly_job", "interface_events", "failed_typos"]


def staff_activity(
    lab: Lab, staff: dict[str, tuple[np.ndarray, float]], session_events: float = 1.0
) -> Block:
    """Staff sessions on open days: weekdays 07:00-19:00, Saturdays 07:30-12:30.

    ``session_events`` multiplies the mean (5) and the cap (30) of the actions
    inside a day session and divides their mean gap (150 s), so the sessions
    last as long but are that many times denser; 1.0 draws exactly as before.
    """
    rng = lab.rng
    dense = {
        "mid_mean": 5.0 * session_events,
        "mid_max": max(1, round(30 * session_events)),
        "gap_mean": 150.0 / session_events,
    }
    blocks = []
    n_od = len(lab.od)
    roles = []
    for role, (accs, p) in staff.items():
        pres = rng.random((n_od, len(accs))) < p * np.where(lab.od_sat, 0.4, 1.0)[:, None]
        k = np.where(pres, 1 + rng.poisson(0.5, pres.shape), 0)
        di, ai = np.nonzero(k)
        kk = k[di, ai]
        sat = lab.od_sat[di]
        start = np.where(
            sat, 27000 + rng.integers(0, 1800, len(di)), 25200 + rng.integers(0, 5400, len(di))
        )
        cutoff = np.where(sat, 45000, 68400)
        ev, kind, day = build_sessions(rng, lab.od[di], accs[ai], start, kk, cutoff, **dense)
        blocks.append((ev, kind, day))
        roles.append(role)
    blocks.append(_on_call(lab, staff["BIOLOGISTE"][0], blocks[roles.index("BIOLOGISTE")]))
    roles.append("BIOLOGISTE")
    out = []
    sess_off = 0
    for (ev, kind, day), role in zip(blocks, roles, strict=True):
        ev["sess"] += sess_off
        if len(ev["sess"]):
            sess_off = int(ev["sess"].max()) + 1
        od_idx = np.searchsorted(lab.od, day)
        role_arr = np.full(len(kind), ROLES.index(role))
        assign_actions(lab, ev, kind == 1, role_arr, od_idx)
        _fill_account_fields(lab, ev)
        out.append(ev)
    return ev_cat(out)


def _on_call(
    lab: Lab, bio: np.ndarray, day_block: tuple[Block, np.ndarray, np.ndarray]
) -> tuple[Block, np.ndarray, np.ndarray]:
    """Biologists on call: a few late sessions from 23:05 that often run past midnight."""
    rng = lab.rng
    full = np.flatnonzero(~lab.od_sat)
    di = full[rng.random(len(full)) < 0.06]
    ai = rng.integers(0, len(bio), len(di))
    start = 83100 + rng.integers(0, 2400, len(di))  # 23:05-23:45
    ev, kind, day = build_sessions(
        rng, lab.od[di], bio[ai], start, np.ones(len(di), np.int64), np.full(len(di), 10**6),
        mid_mean=3.0, mid_max=8, gap_mean=400.0,
    )  # fmt: skip
    # drop the on-call sessions that would come within 35 min of the same person's day work
    dev, _, dday = day_block
    if len(dev["t"]) and len(ev["t"]):
        keys = (dev["acc"].astype(np.int64) << 20) | dday
        uk, inv = np.unique(keys, return_inverse=True)
        last = np.full(len(uk), np.iinfo(np.int64).min)
        np.maximum.at(last, inv, dev["t"])
        k2 = (ev["acc"].astype(np.int64) << 20) | day
        i = np.minimum(np.searchsorted(uk, k2), len(uk) - 1)
        close = (uk[i] == k2) & (ev["t"] - last[i] < 2100)
        bad_s = unique_sorted(ev["sess"][close])
        keep = ~np.isin(ev["sess"], bad_s)
        ev = {k: v[keep] for k, v in ev.items()}
        kind, day = kind[keep], day[keep]
    return ev, kind, day


def _fill_account_fields(lab: Lab, ev: Block) -> None:
    host = np.array([a.host for a in lab.accounts], dtype=np.int32)
    ip = np.array([a.ip for a in lab.accounts], dtype=np.int32)
    site = np.array([a.site for a in lab.accounts], dtype=np.int16)
    ev["host"] = host[ev["acc"]]
    ev["ip"] = ip[ev["acc"]]
    ev["site"] = site[ev["acc"]]


def hotline_activity(lab: Lab, scale: float, sess_off: int) -> Block:
    """The vendor's shared hotline account, from several vendor places, daytime.

    On some days a second person uses the same account at the same time from
    another vendor place (a shared account active from two workstations).
    """
    rng = lab.rng
    acc = lab.add_account(HOTLINE, "EDITEUR", 1, VENDOR_PLACES[0][0], VENDOR_PLACES[0][1])
    places = [(lab.hosts(h), lab.ips(i)) for h, i in VENDOR_PLACES]
    full = np.flatnonzero(~lab.od_sat)
    di = full[rng.random(len(full)) < min(0.5, 0.12 * max(scale, 0.2))]
    k = 1 + (rng.random(len(di)) < 0.2)
    start = 32400 + rng.integers(0, 25200, len(di))
    ev, kind, day = build_sessions(
        rng, lab.od[di], np.full(len(di), acc), start, k, np.full(len(di), 66600), p_logout=0.7
    )
    ns1 = int(ev["sess"].max()) + 1 if len(ev["sess"]) else 0
    pl = rng.integers(0, len(places), ns1)
    cg = np.flatnonzero(rng.random(len(di)) < 0.15)
    ev2, kind2, day2 = build_sessions(
        rng, lab.od[di[cg]], np.full(len(cg), acc), start[cg] + rng.integers(120, 900, len(cg)),
        np.ones(len(cg), np.int64), np.full(len(cg), 10**6), p_logout=0.7,
    )  # fmt: skip
    ns2 = int(ev2["sess"].max()) + 1 if len(ev2["sess"]) else 0
    used: dict[int, set[int]] = {}
    for si, d in zip(ev["sess"].tolist(), day.tolist(), strict=True):
        used.setdefault(d, set()).add(int(pl[si]))
    pl2 = np.zeros(ns2, np.int64)
    first2 = np.unique(ev2["sess"], return_index=True)[1]
    for si, d in zip(ev2["sess"][first2].tolist(), day2[first2].tolist(), strict=True):
        free = [p for p in range(len(places)) if p not in used.get(d, set())]
        pl2[si] = free[int(rng.integers(len(free)))]
        used.setdefault(d, set()).add(int(pl2[si]))
    ev2["sess"] += ns1
    pl = np.concatenate([pl, pl2])
    ev = ev_cat([ev, ev2])
    kind = np.concatenate([kind, kind2])
    day = np.concatenate([day, day2])
    od_idx = np.searchsorted(lab.od, day)
    assign_actions(lab, ev, kind == 1, np.full(len(kind), ROLES.index("EDITEUR")), od_idx)
    _fill_account_fields(lab, ev)
    if len(pl):
        ev["host"] = np.array([p[0] for p in places], dtype=np.int32)[pl[ev["sess"]]]
        ev["ip"] = np.array([p[1] for p in places], dtype=np.int32)[pl[ev["sess"]]]
        tickets = rng.integers(10000, 99999, len(pl))
        w = np.flatnonzero(
            (kind == 1) & (ev["mod"] == M["ADMIN"]) & (ev["act"] == A["MODIFICATION"])
        )
        for i in w:  # a few per lab-week: fine
            ev["det"][i] = lab.details(f"Intervention hotline ticket #{tickets[ev['sess'][i]]}")
    ev["sess"] += sess_off
    return ev


def nightly_job(
    lab: Lab, sess_off: int, archivage_days: np.ndarray, backup_code: str = "EXPORT"
) -> Block:
    """Nightly purge/backup on SRV-<LAB>: six events 20 min apart from 01:40 local.

    It runs straight through 02:00-03:00, so on change nights its wall clock
    skips (spring) or repeats (autumn) that hour. ``backup_code`` is the action
    code of the backup event (``EXPORT``; ``EXTRACTION`` in the variant
    ``backup_extraction``: the same job, coded otherwise by another product).
    """
    rng = lab.rng
    acc = lab.add_account("batch.nuit", "INTERFACE", 1, f"SRV-{lab.code}", "127.0.0.1")
    days = lab.days
    n = len(days)
    t0 = days * DAY + 6000 - noon_offset(days - 1)
    steps = np.arange(6) * 1200
    ev = ev_new(6 * n)
    ev["t"] = (t0[:, None] + steps[None, :]).ravel()
    ev["acc"][:] = acc
    ev["host"][:] = lab.accounts[acc].host
    ev["ip"][:] = lab.accounts[acc].ip
    ev["site"][:] = 1
    ev["sess"] = sess_off + np.repeat(np.arange(n), 6)
    acts = np.array(
        [
            A["CONNEXION"],
            A["PURGE"],
            A["PURGE"],
            A[backup_code],
            A["CONSULTATION"],
            A["DECONNEXION"],
        ],
        np.int8,
    )
    ev["act"] = np.tile(acts, n)
    ev["mod"][:] = M["ADMIN"]
    arch = np.isin(days, archivage_days)
    ev["act"].reshape(n, 6)[arch, 2] = A["ARCHIVAGE"]
    nb = ev["nb"].reshape(n, 6)
    nb[:, 1] = rng.integers(200, 5000, n)
    nb[:, 2] = rng.integers(50, 800, n)
    reg = np.searchsorted(lab.reg_day, days, side="left")
    nb[:, 3] = reg
    ev["vol"].reshape(n, 6)[:, 3] = reg * 2100 + rng.integers(10**6, 5 * 10**6, n)
    det = ev["det"].reshape(n, 6)
    det[:, 1] = lab.details("Purge journaux > 90 jours")
    det[:, 2] = lab.details("Purge fichiers temporaires")
    det[arch, 2] = lab.details("Archivage mensuel des comptes rendus")
    det[:, 4] = lab.details("Vérification sauvegarde")
    dates = days.astype("datetime64[D]").astype(str)
    det[:, 3] = [
        lab.details(f"Sauvegarde nocturne vers /backup/{lab.code}_{d.replace('-', '')}.dmp")
        for d in dates
    ]
    return ev


def interface_events(lab: Lab, ev: Block) -> Block:
    """HPRIM transmission of every biological validation, and instrument results
    received before every technical validation (service accounts, no session)."""
    rng = lab.rng
    hp = lab.add_account(
        "hprim.emission", "INTERFACE", 1, f"SRV-{lab.code}-HPRIM", f"10.{lab.k % 250}.0.2"
    )
    au = lab.add_account(
        "automate01", "INTERFACE", 1, f"AUTO-{lab.code}-01", f"10.{lab.k % 250}.0.3"
    )
    vb = np.flatnonzero((ev["act"] == A["VALIDATION_BIOLOGIQUE"]) & ev["ok"])
    vt = np.flatnonzero((ev["act"] == A["VALIDATION_TECHNIQUE"]) & ev["ok"])
    h = ev_new(len(vb))
    h["t"] = ev["t"][vb] + rng.integers(5, 180, len(vb))
    h["acc"][:] = hp
    h["host"][:] = lab.accounts[hp].host
    h["ip"][:] = lab.accounts[hp].ip
    h["site"] = ev["site"][vb]
    h["mod"][:] = M["INTERFACE"]
    h["act"][:] = A["TRANSMISSION"]
    h["pat"] = ev["pat"][vb]
    h["dos"] = ev["dos"][vb]
    h["nb"][:] = 1
    h["det"][:] = lab.details("Envoi HPRIM H2.2 résultats")
    a = ev_new(len(vt))
    a["t"] = ev["t"][vt] - rng.integers(120, 1800, len(vt))
    a["acc"][:] = au
    a["host"][:] = lab.accounts[au].host
    a["ip"][:] = lab.accounts[au].ip
    a["site"] = ev["site"][vt]
    a["mod"][:] = M["TECHNIQUE"]
    a["act"][:] = A["MODIFICATION"]
    a["pat"] = ev["pat"][vt]
    a["dos"] = ev["dos"][vt]
    a["det"][:] = lab.details("Réception résultats automate")
    return ev_cat([h, a])


def failed_typos(lab: Lab, ev: Block, p: float = 0.03) -> Block:
    """One or two mistyped passwords just before some staff logins (no session)."""
    rng = lab.rng
    staff_roles = {"BIOLOGISTE", "TECHNICIEN", "SECRETAIRE", "PRELEVEUR", "ADMIN_LABO"}
    is_staff = np.array([a.role in staff_roles for a in lab.accounts])
    logins = np.flatnonzero(
        (ev["act"] == A["CONNEXION"]) & ev["ok"] & (ev["inc"] < 0) & is_staff[ev["acc"]]
    )  # routine successful logins only
    pick = logins[rng.random(len(logins)) < p]
    n = 1 + (rng.random(len(pick)) < 0.3)
    src = np.repeat(pick, n)
    f = ev_new(len(src))
    for k in ("acc", "host", "ip", "site"):
        f[k] = ev[k][src]
    first = (np.cumsum(n) - n).astype(np.int64)
    pos = np.arange(len(src)) - np.repeat(first, n)
    f["t"] = ev["t"][src] - 8 - 15 * (np.repeat(n, n) - 1 - pos) - rng.integers(0, 5, len(src))
    f["mod"][:] = M["ADMIN"]
    use_echec = rng.random(len(src)) < 0.5
    f["act"] = np.where(use_echec, A["ECHEC_CONNEXION"], A["CONNEXION"]).astype(np.int8)
    f["ok"][:] = False
    f["det"][:] = lab.details("Mot de passe incorrect")
    f["fsess"] = ev["sess"][src]
    return f
