"""One lab's daily files: sort its events, format both dialects, write them with their artefacts.

:func:`write_lab` writes ``evidence/<LAB>/*`` and returns the lab's truth
tables (built by :mod:`labforensics.synth.lab_truth`). Rows are formatted
column-wise with pyarrow (no Python loop per event); the loop is per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import artefacts as art
from .clock import DAY, date_of, dst_bounds, local_offset
from .incidents import Tag
from .lab_truth import tag_stats, truth_events, truth_sessions
from .model import ACTS, MODULES, A, Block, Lab, ev_take
from .variants import BENIGN_KINDS, INCIDENT_KINDS
from .writers import (
    BOM,
    CURRENT_HEADER,
    LEGACY_HEADER,
    csv_quote,
    format_rows,
    group_digits,
    gzip_bytes,
    hms_table,
)

__all__ = ["Ordered", "write_lab"]

#: Tags whose events are listed one by one in truth and whose files carry no artefact.
PROTECTED_KINDS = ("a", "b", "c", "d", "billing", "statistics", *INCIDENT_KINDS, *BENIGN_KINDS)


@dataclass
class Ordered:
    """One lab's events in written order, with their file days and compact session numbers.

    Arrays have one entry per row (``n``) or per session (``ns``); times are
    int64 seconds, days are day numbers (days since 1970-01-01).
    """

    ev: Block
    off: np.ndarray  # UTC offset as written (3600 or 7200 s)
    fday: np.ndarray  # local day, the file the row is in
    sec: np.ndarray  # local second of the day
    legacy: np.ndarray  # row in a legacy-dialect file
    has: np.ndarray  # row belongs to a session
    sess: np.ndarray  # compact session number in order of first event, -1 none
    uniq: np.ndarray  # the block's session numbers, sorted
    rank: np.ndarray  # compact number of each of ``uniq``
    s_first: np.ndarray  # row of each session's first event
    s_acc: np.ndarray  # account of each session
    s_day: np.ndarray  # local day of each session's first event
    cnt: np.ndarray  # daily app-session counter of each session (0: none)
    sid_tab: pa.Array  # app session id text per session, then ""
    ev_sid: np.ndarray  # index into ``sid_tab`` per row

    @property
    def n(self) -> int:
        return len(self.fday)

    @property
    def ns(self) -> int:
        return len(self.uniq)


def write_lab(
    lab: Lab,
    ev: Block,
    tags: list[Tag],
    out: Path,
    d0: int,
    d1: int,
    gz_days: int,
    artefacts: bool,
    sess_offset: int,
) -> dict:
    """Sort, format and write one lab's daily files; return its truth tables.

    Returns
    -------
    dict
        ``events`` and ``sessions`` (pyarrow Tables, truth schemas), ``n_events``,
        ``files`` (per-file accounting), ``artefacts`` (truth records), ``tag_stats``.
    """
    o = _order(lab, ev, d0, d1)
    tables = _string_tables(lab, d0, d1)
    data_l, offs_l = _rows(lab, o, tables, o.legacy, "legacy", d0)
    data_c, offs_c = _rows(lab, o, tables, ~o.legacy, "current", d0)
    # physical lines per row (embedded line breaks in quoted fields)
    nlines = np.zeros(o.n, np.int64)
    for mask, data, offs in ((o.legacy, data_l, offs_l), (~o.legacy, data_c, offs_c)):
        ix = np.flatnonzero(mask)
        if len(ix):
            nl = np.flatnonzero(data == 10)
            nlines[ix] = np.bincount(np.searchsorted(offs, nl, side="right") - 1, minlength=len(ix))
    # row position within its dialect buffer
    rpos = np.zeros(o.n, np.int64)
    rpos[o.legacy] = np.arange(int(o.legacy.sum()))
    rpos[~o.legacy] = np.arange(int((~o.legacy).sum()))
    file_days, f_start = np.unique(o.fday, return_index=True)
    names = _file_names(lab, file_days, gz_days)
    (out / "evidence" / lab.code).mkdir(parents=True, exist_ok=True)
    prot_tag = np.array([t.kind in PROTECTED_KINDS for t in tags] + [False])
    prot_ev = prot_tag[np.where(o.ev["inc"] >= 0, o.ev["inc"], len(tags))]
    prot_file = (
        np.bincount(np.searchsorted(file_days, o.fday)[prot_ev], minlength=len(file_days)) > 0
    )
    plan = art.plan_artefacts(lab, file_days, names, prot_file, lab.rng) if artefacts else {}
    buffers = {True: (data_l, offs_l), False: (data_c, offs_c)}
    line, lost, files, art_truth = _write_files(
        lab, out, file_days, f_start, names, plan, buffers, rpos, nlines
    )
    tsq = _clock_quality(o, file_days, names, line, art_truth)
    fidx = np.searchsorted(file_days, o.fday)
    return {
        "events": truth_events(lab, o, tags, tables, names, fidx, line, lost, tsq, sess_offset),
        "sessions": truth_sessions(lab, o, tags, tables, lost, sess_offset),
        "n_events": o.n,
        "files": files,
        "artefacts": art_truth,
        "tag_stats": tag_stats(o.ev, tags, names, fidx, line),
    }


def _order(lab: Lab, ev: Block, d0: int, d1: int) -> Ordered:
    """Keep the rows whose local day is within [d0, d1], sort them, number sessions."""
    off = np.where(ev["shift"], 3600, local_offset(ev["t"]))
    wall = ev["t"] + off
    fday = wall // DAY
    keep = (fday >= d0) & (fday <= d1)
    ev = ev_take(ev, keep)
    off, wall, fday = off[keep], wall[keep], fday[keep]
    order = np.lexsort((np.arange(len(fday)), ev["t"], fday))
    ev = ev_take(ev, order)
    off, wall, fday = off[order], wall[order], fday[order]
    n = len(fday)
    # sessions: compact numbering in order of first event
    has = ev["sess"] >= 0
    uniq, first_idx, inv = np.unique(ev["sess"][has], return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), np.int64)
    rank[np.argsort(first_idx, kind="stable")] = np.arange(len(uniq))
    sess = np.full(n, -1, np.int64)
    sess[has] = rank[inv]
    ns = len(uniq)
    role_of_acc = np.array([a.role for a in lab.accounts])
    # app session ids: daily counter per local day of the session's first event
    s_first = np.full(ns, n, np.int64)
    np.minimum.at(s_first, sess[has], np.flatnonzero(has))
    s_acc = ev["acc"][s_first] if ns else np.zeros(0, np.int32)
    s_day = fday[s_first] if ns else np.zeros(0, np.int64)
    batch = role_of_acc[s_acc] == "INTERFACE" if ns else np.zeros(0, bool)
    cnt = np.zeros(ns, np.int64)
    if ns:
        o = np.flatnonzero(~batch)  # already in first-event order
        d = s_day[o]
        starts = np.r_[0, np.flatnonzero(d[1:] != d[:-1]) + 1]
        grp_first = np.repeat(starts, np.diff(np.r_[starts, len(o)]))
        cnt[o] = np.arange(len(o)) - grp_first + 1
    sid_tab = pa.array([f"A{c:04d}" if c else "" for c in cnt.tolist()] + [""])
    return Ordered(
        ev=ev, off=off, fday=fday, sec=wall % DAY, legacy=fday < lab.migration, has=has,
        sess=sess, uniq=uniq, rank=rank, s_first=s_first, s_acc=s_acc, s_day=s_day, cnt=cnt,
        sid_tab=sid_tab, ev_sid=np.where(sess >= 0, sess, ns),
    )  # fmt: skip


def _string_tables(lab: Lab, d0: int, d1: int) -> dict[str, pa.Array]:
    """Text of every code (accounts, hosts, modules, days...) once, taken by index per row."""
    iso_t = pa.array([str(x) for x in np.arange(d0, d1 + 1).astype("datetime64[D]")])
    return {
        "acc_q": pa.array([csv_quote(a.name) for a in lab.accounts]),
        "role_u": pa.array([a.role for a in lab.accounts]),
        "role_l": pa.array([a.role.lower() for a in lab.accounts]),
        "host_q": pa.array([csv_quote(h) for h in lab.hosts.values]),
        "ip_q": pa.array([csv_quote(i) for i in lab.ips.values]),
        "det_l": pa.array([csv_quote(s.replace("\n", "\r\n")) for s in lab.details.values]),
        "det_c": pa.array([csv_quote(s) for s in lab.details.values]),
        "mod_u": pa.array(list(MODULES)),
        "mod_l": pa.array([m.lower() for m in MODULES]),
        "act_u": pa.array(list(ACTS)),
        "act_l": pa.array([a.lower() for a in ACTS]),
        "site_t": pa.array([f"S{i}" for i in range(lab.n_sites + 2)]),
        "ipp_t": pa.array([str(x) for x in lab.ipp.tolist()]) if len(lab.ipp) else pa.array([""]),
        "iso_t": iso_t,
        "fr_t": pa.array([f"{s[8:10]}/{s[5:7]}/{s[0:4]}" for s in iso_t.to_pylist()]),
        "hms": hms_table(),
        "offs_t": pa.array(["+01:00", "+02:00"]),
    }


def _rows(
    lab: Lab, o: Ordered, t: dict[str, pa.Array], mask: np.ndarray, dialect: str, d0: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``mask`` rows formatted in ``dialect``: one byte buffer and the row offsets."""
    ix = np.flatnonzero(mask)
    if not len(ix):
        return np.zeros(0, np.uint8), np.zeros(1, np.int64)
    e = {k: v[ix] for k, v in o.ev.items()}
    ipp = _take_masked(t["ipp_t"], e["pat"])
    dos = pa.array(e["dos"], mask=e["dos"] < 0).cast(pa.string()).fill_null("")
    nbv = e["nb"]
    day_ix, sec_ix = pa.array(o.fday[ix] - d0), pa.array(o.sec[ix])
    acc, who = pa.array(e["acc"]), [t["host_q"].take(pa.array(e["host"])), t["ip_q"].take(pa.array(e["ip"]))]  # fmt: skip
    if dialect == "legacy":
        nb_col = pa.array(nbv, mask=nbv < 0).cast(pa.string()).fill_null("")
        big = nbv >= 1000
        if big.any():  # French digit grouping on some large counts
            nb_col = pc.replace_with_mask(
                nb_col, pa.array(big), pa.array(group_digits(nbv[big], lab.rng), pa.string())
            )
        cols = [
            t["fr_t"].take(day_ix),
            t["hms"].take(sec_ix),
            pa.array(np.full(len(ix), lab.legacy_label or lab.code)),
            t["site_t"].take(pa.array(e["site"])),
            t["acc_q"].take(acc),
            t["role_u"].take(acc),
            *who,
            t["mod_u"].take(pa.array(e["mod"])),
            t["act_u"].take(pa.array(e["act"])),
            pa.array(np.where(e["ok"], "OK", "KO")),
            ipp,
            dos,
            nb_col,
            t["det_l"].take(pa.array(e["det"])),
        ]
        return format_rows(cols, "\r\n")
    ts = pc.binary_join_element_wise(t["iso_t"].take(day_ix), t["hms"].take(sec_ix), "T")
    ts = pc.binary_join_element_wise(
        ts, t["offs_t"].take(pa.array((o.off[ix] == 7200).astype(np.int64))), ""
    )
    vol = e["vol"]
    cols = [
        ts,
        pa.array(np.full(len(ix), lab.code)),
        t["site_t"].take(pa.array(e["site"])),
        t["acc_q"].take(acc),
        t["role_l"].take(acc),
        *who,
        t["mod_l"].take(pa.array(e["mod"])),
        t["act_l"].take(pa.array(e["act"])),
        pa.array(np.where(e["ok"], "succes", "echec")),
        ipp,
        dos,
        pa.array(nbv, mask=nbv < 0).cast(pa.string()).fill_null(""),
        pa.array(vol, mask=vol < 0).cast(pa.string()).fill_null(""),
        o.sid_tab.take(pa.array(o.ev_sid[ix])),
        t["det_c"].take(pa.array(e["det"])),
    ]
    return format_rows(cols, "\n")


def _file_names(lab: Lab, file_days: np.ndarray, gz_days: int) -> list[str]:
    """``<LAB>/AUDIT_<LAB>_<YYYYMMDD>.csv[.gz]`` before the migration, ``audit_<lab>_<date>.csv`` from it."""
    names = []
    for d in file_days.tolist():
        s = str(np.datetime64(d, "D"))
        if d < lab.migration:
            nm = f"AUDIT_{lab.code}_{s.replace('-', '')}.csv" + (
                ".gz" if d < lab.migration - gz_days else ""
            )
        else:
            nm = f"audit_{lab.code.lower()}_{s}.csv"
        names.append(f"{lab.code}/{nm}")
    return names


def _write_files(
    lab: Lab,
    out: Path,
    file_days: np.ndarray,
    f_start: np.ndarray,
    names: list[str],
    plan: dict,
    buffers: dict,
    rpos: np.ndarray,
    nlines: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, dict[str, dict], list[dict]]:
    """Write each daily file (with its planned artefact); return line, lost, accounting, artefacts."""
    n = len(rpos)
    f_end = np.r_[f_start[1:], n]
    line = np.zeros(n, np.int64)
    lost = np.zeros(n, bool)
    files: dict[str, dict] = {}
    art_truth: list[dict] = []
    prev_rows: tuple[str, list[bytes]] | None = None
    for fi, d in enumerate(file_days.tolist()):
        s, e = int(f_start[fi]), int(f_end[fi])
        is_leg = d < lab.migration
        data, offs = buffers[is_leg]
        r0, r1 = int(rpos[s]), int(rpos[e - 1]) + 1
        body = data[offs[r0] : offs[r1]].tobytes()
        if is_leg:
            body = body.decode("utf-8").encode("cp1252")
            head = (LEGACY_HEADER + "\r\n").encode("cp1252")
        else:
            head = BOM + (CURRENT_HEADER + "\n").encode("utf-8")
        ln = 2 + np.concatenate([[0], np.cumsum(nlines[s:e])[:-1]])
        acc = {
            "rows_read": e - s,
            "events": e - s,
            "rotation_duplicates": 0,
            "repeated_headers": 0,
            "quarantined": 0,
            "ignored": 0,
            "truncated": False,
        }
        name = names[fi]
        kind = plan.get(fi)
        if kind is None:
            raw = head + body
        else:
            raw, ln, lost_rel = art.apply(
                kind, lab, name, head, body, is_leg, ln, nlines[s:e], prev_rows, acc, art_truth,
                lab.rng, d,
            )  # fmt: skip
            if kind == "gzip_cut":
                acc["events"] = int((~lost_rel).sum())
            lost[s:e] = lost_rel
        line[s:e] = ln
        if name.endswith(".gz") and kind != "gzip_cut":
            raw = gzip_bytes(raw)
        (out / "evidence" / name).write_bytes(raw)
        files[name] = acc
        prev_rows = (
            (name, art.split_rows(body, nlines[s:e])) if plan.get(fi + 1) == "rotation" else None
        )
    return line, lost, files, art_truth


def _clock_quality(
    o: Ordered, file_days: np.ndarray, names: list[str], line: np.ndarray, art_truth: list[dict]
) -> np.ndarray:
    """``ts_quality`` code per row (legacy fall-back hour, shifted rows); their artefacts to truth."""
    ev, legacy, fday = o.ev, o.legacy, o.fday
    tsq = np.zeros(o.n, np.int8)  # index into TS_QUALITY
    tsq[ev["shift"] & legacy] = 3
    for y in sorted({date_of(int(x)).year for x in file_days.tolist()}):
        f_t = dst_bounds(y)[1]
        amb = legacy & (ev["t"] >= f_t - 3600) & (ev["t"] < f_t + 3600)
        tsq[amb] = 1
        if amb.any():
            for i in np.flatnonzero(amb)[:1]:
                art_truth.append({"kind": "fallback_hour", "file": names[int(np.searchsorted(file_days, fday[i]))],
                                  "line": int(line[i]), "n_rows": int(amb.sum())})  # fmt: skip
    for i in np.flatnonzero(ev["shift"] & legacy):
        art_truth.append(
            {
                "kind": "nonexistent_hour",
                "file": names[int(np.searchsorted(file_days, fday[i]))],
                "line": int(line[i]),
            }
        )
    for i in np.flatnonzero(ev["act"] == A["ARCHIVAGE"]):
        art_truth.append({"kind": "unknown_action", "file": names[int(np.searchsorted(file_days, fday[i]))],
                          "line": int(line[i]), "code": "ARCHIVAGE" if legacy[i] else "archivage"})  # fmt: skip
    return tsq


def _take_masked(table: pa.Array, idx: np.ndarray) -> pa.Array:
    return table.take(pa.array(idx, mask=idx < 0)).fill_null("")
