"""Incidents (a-d) and benign traps (billing, statistics), as explicit sessions.

Each builder returns event blocks tagged with a tag index (``inc`` column) and
the session windows it occupies, so that routine sessions of the same
account overlapping them can be removed (one person, one session at a time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .clock import DAY, dst_bounds
from .model import MIGRATION, MIGRATION_PLACE, A, Block, Lab, M, ev_new, local_to_utc

__all__ = ["Tag", "Special", "session_block"]


@dataclass
class Tag:
    """Ground-truth label of a group of events: an incident or a benign trap."""

    id: str
    group: str  # "incident" or "trap"
    kind: str  # a/b/c/d, or billing/statistics/interface/nightly_job
    lab: str
    account: str
    role: str
    vector: str = ""
    info: dict = field(default_factory=dict)


@dataclass
class Special:
    """Events of explicit sessions, with the windows they occupy."""

    blocks: list[Block] = field(default_factory=list)
    windows: list[tuple[int, int, int]] = field(default_factory=list)  # (acc, t0, t1)
    n_sess: int = 0


Step = tuple  # (gap_s, module, action, ok, pat, dos, nb, vol, det)


def session_block(
    lab: Lab,
    sp: Special,
    acc: int,
    t0: int,
    steps: list[Step],
    tag: int,
    *,
    host: int | None = None,
    ip: int | None = None,
    sess: bool = True,
    sess_base: int = 0,
) -> Block:
    """One explicit session (or burst when ``sess`` is False) from a list of steps."""
    n = len(steps)
    a = lab.accounts[acc]
    ev = ev_new(n)
    gaps = np.array([s[0] for s in steps], dtype=np.int64)
    ev["t"] = t0 + np.cumsum(gaps)
    ev["acc"][:] = acc
    ev["host"][:] = a.host if host is None else host
    ev["ip"][:] = a.ip if ip is None else ip
    ev["site"][:] = a.site
    ev["mod"] = np.array([M[s[1]] for s in steps], dtype=np.int8)
    ev["act"] = np.array([A[s[2]] for s in steps], dtype=np.int8)
    ev["ok"] = np.array([s[3] for s in steps], dtype=bool)
    ev["pat"] = np.array([s[4] for s in steps], dtype=np.int64)
    ev["dos"] = np.array([s[5] for s in steps], dtype=np.int64)
    ev["nb"] = np.array([s[6] for s in steps], dtype=np.int64)
    ev["vol"] = np.array([s[7] for s in steps], dtype=np.int64)
    ev["det"] = np.array([lab.details(s[8]) for s in steps], dtype=np.int32)
    ev["inc"][:] = tag
    if sess:
        ev["sess"][:] = sess_base + sp.n_sess
        sp.n_sess += 1
    sp.blocks.append(ev)
    sp.windows.append((acc, int(ev["t"][0]), int(ev["t"][-1])))
    return ev


def is_change_day(day: int) -> bool:
    """True on the two clock-change days of the day's year (:data:`.clock.SIM_TZ`)."""
    s, f = dst_bounds(int(np.datetime64(int(day), "D").astype("datetime64[Y]").astype(int) + 1970))
    return day in (s // DAY, f // DAY)


def S(gap, mod, act, ok=True, pat=-1, dos=-1, nb=-1, vol=-1, det=""):
    """Shorthand for a session step."""
    return (int(gap), mod, act, bool(ok), int(pat), int(dos), int(nb), int(vol), det)


def migration_extraction(lab: Lab, sp: Special, day: int, tag: int, base: int) -> dict:
    """Incident (a): the migration account extracts every registered patient at night."""
    rng = lab.rng
    acc = lab.add_account(MIGRATION, "EDITEUR", 1, *MIGRATION_PLACE)
    n = lab.registered_before(day)
    ymd = str(np.datetime64(int(day), "D")).replace("-", "")
    fname = f"{lab.code}_export_{ymd}.csv"
    vol = n * int(rng.integers(900, 1400)) + 1024
    t0 = int(local_to_utc(day, 1800 + int(rng.integers(0, 3 * 3600 // 2))))
    steps = [
        S(0, "ADMIN", "CONNEXION"),
        S(rng.integers(60, 300), "EXTRACTION", "RECHERCHE", nb=n, det="Sélection : tous les patients"),
        S(rng.integers(60, 600), "EXTRACTION", "EXTRACTION", nb=n, vol=vol,
          det=f"Extraction complete vers ftp://transfert/{fname}"),
        S(rng.integers(120, 900), "ADMIN", "DECONNEXION"),
    ]  # fmt: skip
    ev = session_block(lab, sp, acc, t0, steps, tag, sess_base=base)
    return {"file": fname, "records": n, "bytes": vol, "t_extract": int(ev["t"][2]), "day": day}


def pick_open_day(lab: Lab, lo: int, hi: int, *, weekday: bool = True, rng=None) -> int | None:
    """A random open day in [lo, hi] (day numbers), not a clock-change day."""
    rng = rng or lab.rng
    c = lab.od[(lab.od >= lo) & (lab.od <= hi)]
    if weekday:
        c = c[~np.isin(c, lab.od[lab.od_sat])]
    c = np.array([d for d in c.tolist() if not is_change_day(d)], dtype=np.int64)
    if not len(c):
        return None
    return int(c[int(rng.integers(len(c)))])
