"""Per-lab truth tables: one row per written event, one per session, and per-tag statistics.

Schemas :data:`TRUTH_EVENT_SCHEMA` and :data:`TRUTH_SESSION_SCHEMA` are those
of ``truth_events.parquet`` and ``truth_sessions.parquet`` (columns described
in the :mod:`labforensics.synth` docstring).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._arrays import unique_sorted
from .clock import iso_utc
from .incidents import Tag
from .model import A, Block, Lab
from .variants import BENIGN_KINDS, INCIDENT_KINDS

if TYPE_CHECKING:
    from .lab_write import Ordered

__all__ = [
    "TRUTH_EVENT_SCHEMA",
    "TRUTH_EVENT_COLUMNS",
    "TRUTH_SESSION_SCHEMA",
    "truth_events",
    "truth_sessions",
    "tag_stats",
]

TRUTH_EVENT_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("ts", pa.timestamp("ns", tz="UTC")),
        ("ts_quality", pa.string()),
        ("lab", pa.string()),
        ("site", pa.string()),
        ("account", pa.string()),
        ("role", pa.string()),
        ("host", pa.string()),
        ("src_ip", pa.string()),
        ("module", pa.string()),
        ("action", pa.string()),
        ("outcome", pa.string()),
        ("ipp", pa.string()),
        ("request", pa.string()),
        ("records", pa.int64()),
        ("bytes", pa.int64()),
        ("app_session", pa.string()),
        ("detail", pa.string()),
        ("incident", pa.string()),
        ("trap", pa.string()),
        ("session", pa.int64()),
        ("lost", pa.bool_()),
    ]
)
TRUTH_EVENT_COLUMNS = tuple(TRUTH_EVENT_SCHEMA.names)
TRUTH_SESSION_SCHEMA = pa.schema(
    [
        ("session", pa.int64()),
        ("lab", pa.string()),
        ("account", pa.string()),
        ("role", pa.string()),
        ("start", pa.timestamp("ns", tz="UTC")),
        ("end", pa.timestamp("ns", tz="UTC")),
        ("n_events", pa.int64()),
        ("n_lost", pa.int64()),
        ("has_logout", pa.bool_()),
        ("host", pa.string()),
        ("concurrent", pa.bool_()),
        ("failed_logins_before", pa.int64()),
        ("app_session", pa.string()),
        ("incident", pa.string()),
        ("trap", pa.string()),
    ]
)


_TS = pa.timestamp("ns", tz="UTC")
_TS_QUALITY = pa.array(
    ["exact", "ambiguous_resolved", "ambiguous_unresolved", "nonexistent_shifted"]
)


def truth_events(
    lab: Lab,
    o: Ordered,
    tags: list[Tag],
    t: dict[str, pa.Array],
    names: list[str],
    fidx: np.ndarray,
    line: np.ndarray,
    lost: np.ndarray,
    tsq: np.ndarray,
    sess_offset: int,
) -> pa.Table:
    """One row per written event of the lab (:data:`TRUTH_EVENT_SCHEMA`)."""
    ev, legacy, n = o.ev, o.legacy, o.n
    tag_inc = pa.array([x.id if x.group == "incident" else "" for x in tags] + [""])
    tag_trap = pa.array([x.id if x.group == "trap" else "" for x in tags] + [""])
    tix = pa.array(np.where(ev["inc"] >= 0, ev["inc"], len(tags)))
    acc_raw = pa.array([a.name for a in lab.accounts])
    leg_pa = pa.array(legacy)
    act = pa.array(ev["act"])
    act_written = pc.if_else(leg_pa, t["act_u"].take(act), t["act_l"].take(act))
    det_written = pc.if_else(
        leg_pa,
        pa.array([s.replace("\n", "\r\n") for s in lab.details.values]).take(pa.array(ev["det"])),
        pa.array(lab.details.values).take(pa.array(ev["det"])),
    )
    cnt_ext = np.r_[o.cnt, 0]
    app = o.sid_tab.take(pa.array(o.ev_sid, mask=legacy | (cnt_ext[o.ev_sid] == 0)))
    return pa.table(
        {
            "source_file": pa.array(names).take(pa.array(fidx)),
            "source_line": pa.array(line),
            "ts": pa.array(ev["t"] * 1_000_000_000, type=_TS),
            "ts_quality": _TS_QUALITY.take(pa.array(tsq)),
            "lab": pa.array(np.full(n, lab.code)),
            "site": t["site_t"].take(pa.array(ev["site"])),
            "account": acc_raw.take(pa.array(ev["acc"])),
            "role": t["role_u"].take(pa.array(ev["acc"])),
            "host": pa.array(lab.hosts.values).take(pa.array(ev["host"])),
            "src_ip": pa.array(lab.ips.values).take(pa.array(ev["ip"])),
            "module": t["mod_u"].take(pa.array(ev["mod"])),
            "action": pa.array(act_written, type=pa.string()),
            "outcome": pa.array(np.where(ev["ok"], "success", "failure")),
            "ipp": t["ipp_t"].take(pa.array(ev["pat"], mask=ev["pat"] < 0)),
            "request": pa.array(ev["dos"], mask=ev["dos"] < 0).cast(pa.string()),
            "records": pa.array(ev["nb"], mask=ev["nb"] < 0),
            "bytes": pa.array(ev["vol"], mask=(ev["vol"] < 0) | legacy),
            "app_session": app,
            "detail": pa.array(det_written, type=pa.string()),
            "incident": tag_inc.take(tix),
            "trap": tag_trap.take(tix),
            "session": pa.array(np.where(o.sess >= 0, o.sess + sess_offset, -1)),
            "lost": pa.array(lost),
        },
        schema=TRUTH_EVENT_SCHEMA,
    )


def truth_sessions(
    lab: Lab,
    o: Ordered,
    tags: list[Tag],
    t: dict[str, pa.Array],
    lost: np.ndarray,
    sess_offset: int,
) -> pa.Table:
    """One row per session of the lab (:data:`TRUTH_SESSION_SCHEMA`)."""
    ev, sess, has, ns, uniq = o.ev, o.sess, o.has, o.ns, o.uniq
    s_first, s_acc = o.s_first, o.s_acc
    s_last = np.full(ns, -1, np.int64)
    np.maximum.at(s_last, sess[has], np.flatnonzero(has))
    n_ev = np.bincount(sess[has], minlength=ns)
    n_lost = np.bincount(sess[has & lost], minlength=ns)
    lo_ = np.bincount(sess[has & (ev["act"] == A["DECONNEXION"])], minlength=ns) > 0
    conc = _concurrent(s_acc, ev["t"][s_first], ev["t"][s_last])
    fs = ev["fsess"]
    fpos = np.minimum(np.searchsorted(uniq, fs), max(len(uniq) - 1, 0))
    fok = (fs >= 0) & (uniq[fpos] == fs) if ns else np.zeros(o.n, bool)
    failed_before = np.bincount(o.rank[fpos[fok]], minlength=ns) if ns else np.zeros(0, np.int64)
    s_tag = np.full(ns, len(tags), np.int64)
    s_tag[sess[has]] = np.where(ev["inc"][has] >= 0, ev["inc"][has], len(tags))
    tag_inc = pa.array([x.id if x.group == "incident" else "" for x in tags] + [""])
    tag_trap = pa.array([x.id if x.group == "trap" else "" for x in tags] + [""])
    acc_raw = pa.array([a.name for a in lab.accounts])
    return pa.table(
        {
            "session": pa.array(np.arange(ns) + sess_offset),
            "lab": pa.array(np.full(ns, lab.code)),
            "account": acc_raw.take(pa.array(s_acc)),
            "role": t["role_u"].take(pa.array(s_acc)),
            "start": pa.array(ev["t"][s_first] * 1_000_000_000, type=_TS),
            "end": pa.array(ev["t"][s_last] * 1_000_000_000, type=_TS),
            "n_events": pa.array(n_ev.astype(np.int64)),
            "n_lost": pa.array(n_lost.astype(np.int64)),
            "has_logout": pa.array(lo_),
            "host": pa.array(lab.hosts.values).take(pa.array(ev["host"][s_first])),
            "concurrent": pa.array(conc),
            "failed_logins_before": pa.array(failed_before.astype(np.int64)),
            "app_session": o.sid_tab.take(
                pa.array(np.arange(ns), mask=(o.cnt == 0) | (o.s_day < lab.migration))
            ),
            "incident": tag_inc.take(pa.array(s_tag)),
            "trap": tag_trap.take(pa.array(s_tag)),
        },
        schema=TRUTH_SESSION_SCHEMA,
    )


def _concurrent(s_acc: np.ndarray, s_t0: np.ndarray, s_t1: np.ndarray) -> np.ndarray:
    """Sessions overlapping another session of the same account (shared account, two places)."""
    conc = np.zeros(len(s_acc), bool)
    for a_ in unique_sorted(s_acc).tolist():
        w = np.flatnonzero(s_acc == a_)
        w = w[np.lexsort((s_t1[w], s_t0[w]))]
        prev_max = np.maximum.accumulate(s_t1[w])
        c = np.zeros(len(w), bool)
        c[1:] |= s_t0[w][1:] <= prev_max[:-1]
        c[:-1] |= s_t1[w][:-1] >= s_t0[w][1:]
        conc[w] = c
    return conc


def tag_stats(
    ev: Block, tags: list[Tag], names: list[str], fidx: np.ndarray, line: np.ndarray
) -> dict[str, dict]:
    """Per tag: ``n_events``, ``window``, and its events (incidents, billing, statistics) or file count."""
    out: dict[str, dict] = {}
    inc = ev["inc"]
    for ti, tg in enumerate(tags):
        w = np.flatnonzero(inc == ti)
        info: dict = {"n_events": int(len(w))}
        if len(w):
            info["window"] = {"start": iso_utc(ev["t"][w[0]]), "end": iso_utc(ev["t"][w].max())}
        if tg.kind in ("a", "b", "c", "d", "billing", "statistics", *INCIDENT_KINDS, *BENIGN_KINDS):
            info["events"] = [[names[int(fidx[i])], int(line[i])] for i in w.tolist()]
        else:
            info["files"] = int(len(unique_sorted(fidx[w])))
        out[tg.id] = info
    return out
