"""Preparation independent of the thresholds: checked tables, first-seen patients,
exporting sessions with their features, outbound events, leak matches and transfer
links, gathered in one :class:`_Context` reused by every (stability) run.

Memory (issue 17): the events are read from a
:class:`~labforensics.case_events.CaseEvents` one lab at a time
(:func:`_lab_pass`); what is kept has one row per outbound event, per (lab, patient)
first seen, per (lab, account[, address]) of the exporting accounts and per (session,
patient) of the exporting sessions, never one row per event of the whole case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..case import CaseContext
from ..case_events import CaseEvents
from ..leak.reader import _coerce_leak, _unknown_labs, read_leak
from ..networks import _NET_PRIORITY, NetworkMap
from ..plausible_dates import plausible
from ..privacy import load_case_key
from ..schema import STRING_LIST, join_list
from ..scored_labs import ScoredLabs
from ..session_labs import SlimLabs
from .linking import _files_in, _link_transfers, _read_transfers_arg
from .params import AttributionParams
from .placement import place_by_index
from .transfer_clock import clock_note, upload_gaps
from .transfer_note import transfer_note
from .transfer_sizes import size_mismatches, size_note

#: Event columns :func:`labforensics.attribute` reads (``session_id`` optional).
EVENT_NEED = (
    "ts",
    "lab",
    "account",
    "action",
    "patient",
    "src_ip",
    "module",
    "records",
    "detail",
    "source_file",
    "source_line",
)
#: Session columns :func:`labforensics.attribute` reads.
SESSION_NEED = (
    "session_id",
    "lab",
    "account",
    "account_kind",
    "role",
    "start",
    "end",
    "src_ips",
    "records_exported",
    "records_extracted",
    "failed_logins_before",
    "concurrent_sessions",
)
#: Session columns :func:`labforensics.attribute` reads of every session when the whole
#: rows of the sessions that moved records are read apart (its ``session_rows``): the
#: rest of :data:`SESSION_NEED` is read of those rows only.
SESSION_KEYS = ("session_id", "lab", "account", "account_kind", "role", "records_exported",
                "records_extracted", "failed_logins_before")  # fmt: skip


@dataclass
class _Context:
    events_out: pd.DataFrame  # outbound events with session_id
    sessions: pd.DataFrame
    patients: pd.DataFrame  # lab, patient, first_seen
    lab_span: pd.DataFrame  # lab -> evidence_start, evidence_end
    leak: pd.DataFrame | None  # leak rows
    matches: pd.DataFrame  # leak_id, lab, patient, first_seen, date, n_labs
    never_seen: pd.DataFrame
    links: pd.DataFrame
    scores_n: int
    notes: list[str]
    touched: pd.Series  # session_id -> leaked patients the session's own events name
    leak_ids_by_lab: pd.Series  # lab -> leaked (lab, patient) pairs the leak gives it
    nets: NetworkMap | None = None
    arrays: dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray]] | None = None  # cache
    leak_report: dict[str, Any] | None = None  # how the leak was read (read_leak)


def _assign_sessions(ev: pd.DataFrame, sessions: pd.DataFrame) -> pd.Series:
    """Session id of each event (by ``session_id`` column or by (lab, account, interval))."""
    if "session_id" in ev.columns:
        return ev["session_id"].astype("string")
    if ev.empty or sessions.empty:
        return pd.Series(pd.NA, index=ev.index, dtype="string")
    left = pd.DataFrame(
        {
            "ts": ev["ts"].astype("datetime64[ns, UTC]").to_numpy(),
            "k": (ev["lab"].astype(str) + "\x1f" + ev["account"].astype(str)).to_numpy(),
            "i": np.arange(len(ev)),
        }
    ).sort_values("ts", kind="stable")
    right = pd.DataFrame(
        {
            "ts": sessions["start"].astype("datetime64[ns, UTC]").to_numpy(),
            "end": sessions["end"].astype("datetime64[ns, UTC]").to_numpy(),
            "k": (
                sessions["lab"].astype(str) + "\x1f" + sessions["account"].astype(str)
            ).to_numpy(),
            "sid": sessions["session_id"].astype(str).to_numpy(),
        }
    ).sort_values("ts", kind="stable")
    m = pd.merge_asof(left, right, on="ts", by="k", direction="backward")
    ok = m["end"].notna() & (m["ts"] <= m["end"])
    sid = m["sid"].where(ok)
    out = np.full(len(ev), None, dtype=object)
    out[m["i"].to_numpy()] = sid.to_numpy(dtype=object)
    return pd.Series(out, index=ev.index, dtype="string")


def _touched_leaked(pairs: pd.DataFrame | None, matches: pd.DataFrame) -> pd.Series:
    """Number of leaked patients named by each exporting session's own events.

    ``pairs``: the distinct ``(lab, session_id, patient)`` of the exporting sessions'
    events naming a patient (:func:`_lab_pass`); ``matches`` the leak's (lab, patient).
    """
    if matches.empty or pairs is None or pairs.empty:
        return pd.Series(dtype="int64")
    leaked = (pairs["lab"].astype(str) + "\x1f" + pairs["patient"].astype(str)).isin(
        set(matches["lab"].astype(str) + "\x1f" + matches["patient"].astype(str))
    )
    if not leaked.any():
        return pd.Series(dtype="int64")
    pe = pairs[leaked.to_numpy()]
    return pe.drop_duplicates(["session_id", "patient"]).groupby("session_id").size()


def _session_features(
    outb: pd.DataFrame,
    ss: pd.DataFrame,
    nets: NetworkMap,
    first_use: tuple[pd.Series, pd.Series],
) -> pd.DataFrame:
    """Add ``module``, ``network``, ``new_source``, ``evidence``, ``n_evidence_rows`` and
    ``output_files`` to the exporting sessions (vectorized; one pass for all runs);
    ``first_use`` the first-use times of :func:`_lab_pass`."""
    ob = outb[outb["session_id"].isin(ss["session_id"])]
    ob = ob.assign(_r=ob["records"].fillna(-1).astype("int64"))
    ob = ob.sort_values(["session_id", "ts"], kind="stable")
    # the module of the session's largest export/extraction
    mod = (
        ob.sort_values(["session_id", "_r"], ascending=[True, False], kind="stable")
        .drop_duplicates("session_id")
        .set_index("session_id")["module"]
    )
    has_ip = ob["src_ip"].fillna("").astype(str).str.strip().ne("")
    evidence = ob.groupby("session_id")["src"].agg(" ; ".join)
    n_rows = ob.groupby("session_id").size()
    out = ss.copy()
    sid = out["session_id"]
    out["module"] = sid.map(mod).astype("string")
    if "modules" in out.columns:
        out["module"] = out["module"].fillna(join_list(out["modules"]))
    out["pathway_days"] = _pathway_days(ob, out)
    out["network"] = _session_network(ob, has_ip, out, nets)
    out["evidence"] = sid.map(evidence).astype("string")
    out["n_evidence_rows"] = sid.map(n_rows).fillna(0).astype("int64")
    out["output_files"] = _as_lists(sid.map(_output_files(ob)))
    if len(ob):
        out["new_source"] = _new_source(*first_use, ob, has_ip, out)
    else:
        out["new_source"] = False
    return out


def _output_files(ob: pd.DataFrame) -> pd.Series:
    """session_id -> sorted base names of the output files its outbound events name."""
    fl = ob[ob["files"].notna()]
    return (
        fl.assign(f=fl["files"])
        .explode("f")
        .drop_duplicates(["session_id", "f"])
        .sort_values(["session_id", "f"])
        .groupby("session_id")["f"]
        .agg(list)
        if len(fl)
        else pd.Series(dtype=object)
    )


def _as_lists(values: pd.Series) -> pd.Series:
    """Python lists (or missing) -> a :data:`~labforensics.schema.STRING_LIST` column,
    ``[]`` where missing."""
    cells = [v if isinstance(v, list) else [] for v in values.tolist()]
    return pd.Series(pd.array(cells, dtype=STRING_LIST), index=values.index)


def _pathway_days(ob: pd.DataFrame, out: pd.DataFrame) -> pd.Series:
    """How routine each session's pathway is: days on which this lab, account and
    module moved records."""
    moved = ob[ob["_r"] > 0]
    pk = (
        moved["lab"].astype(str)
        + "\x1f"
        + moved["account"].astype(str)
        + "\x1f"
        + moved["module"].fillna("").astype(str)
    )
    days = pd.Series(moved["ts"].dt.floor("D").to_numpy(), index=pk.to_numpy())
    n_days = days.groupby(level=0).nunique()
    sk = (
        out["lab"].astype(str)
        + "\x1f"
        + out["account"].astype(str)
        + "\x1f"
        + out["module"].fillna("").astype(str)
    )
    return sk.map(n_days).fillna(1).astype("int64")


def _session_network(
    ob: pd.DataFrame, has_ip: pd.Series, out: pd.DataFrame, nets: NetworkMap
) -> pd.Series:
    """Network of each session: of its outbound events' addresses (the most external
    class wins), else of the session's addresses."""
    pair = ob["lab"].astype(str) + "\x1f" + ob["src_ip"].fillna("").astype(str)
    codes, uniq = pd.factorize(pair)
    prio = np.array(
        [
            _NET_PRIORITY.index(nets.classify(u.split("\x1f", 1)[1], u.split("\x1f", 1)[0]))
            for u in uniq
        ],
        dtype=np.int64,
    )
    ob_prio = pd.Series(prio[codes] if len(ob) else [], index=ob.index, dtype="int64")
    net_ev = ob_prio[has_ip.to_numpy()].groupby(ob["session_id"][has_ip.to_numpy()]).min()
    net_code = out["session_id"].map(net_ev)
    # sessions whose export rows carry no address: fall back on the session's addresses
    fb = net_code.isna()
    if fb.any():
        net_code[fb] = [
            _NET_PRIORITY.index(
                nets.session_class([] if v is None else [str(x) for x in v], str(lb))
            )
            for v, lb in zip(out.loc[fb, "src_ips"].tolist(), out.loc[fb, "lab"], strict=True)
        ]
    return pd.Series(
        np.array(_NET_PRIORITY, dtype=object)[net_code.astype("int64").to_numpy()],
        index=out.index,
        dtype="string",
    )


def _new_source(
    acc_first: pd.Series,
    first: pd.Series,
    ob: pd.DataFrame,
    has_ip: pd.Series,
    out: pd.DataFrame,
) -> pd.Series:
    """New source: an outbound address this account, known at this lab before the
    session, had never used there with success (an account with no earlier event has
    no history).

    ``acc_first``: (lab, account) key -> the account's first event at the lab;
    ``first``: (lab, account, src_ip) key -> its first event other than a failed
    login from that address (:func:`_first_use`, per lab in :func:`_lab_pass`).
    """
    ob_acc = ob["lab"].astype(str) + "\x1f" + ob["account"].astype(str)
    k_ob = _ob_key(ob)
    start_of = dict(zip(out["session_id"], out["start"], strict=True))
    ob_first = k_ob.map(first)
    ob_start = ob["session_id"].map(start_of)
    new = (ob_first >= ob_start) & has_ip & (ob_acc.map(acc_first) < ob_start)
    return out["session_id"].map(new.groupby(ob["session_id"]).any()).fillna(False).astype(bool)


def _ob_key(ob: pd.DataFrame) -> pd.Series:
    """The (lab, account, src_ip) key of outbound events (or of events), joined by
    the unit separator ``\\x1f``."""
    return (
        ob["lab"].astype(str)
        + "\x1f"
        + ob["account"].astype(str)
        + "\x1f"
        + ob["src_ip"].astype("string").fillna("").astype(str)
    )


def _groups(cols: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """The group of each row (0, 1, ...: one per distinct combination of the values of
    ``cols``, a missing value being one value) and the first row of each group: the keys
    of a few rows, not a string per event."""
    code = np.zeros(len(cols[0]) if cols else 0, dtype=np.int64)
    for c in cols:
        k, u = pd.factorize(c, use_na_sentinel=False)
        code = pd.factorize(code * (len(u) + 1) + k)[0]  # dense again: no overflow
    _, first = np.unique(code, return_index=True)
    return code, first


def _first_use(
    events: pd.DataFrame, ts: pd.Series, lab: pd.Series, ob: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """First event time per (lab, account) key of the outbound events' accounts, and per
    (lab, account, src_ip) key of their (account, address) pairs, the latter without
    the failed logins (an attacker's failures precede their session): aggregates, so
    one lab's ``events`` at a time give the whole case's by concatenation. The keys
    are those of :func:`_ob_key`, made for one row per distinct (lab, account, address)."""
    code, first = _groups([lab, events["account"], events["src_ip"]])
    at = pd.DataFrame(
        {
            "lab": lab.iloc[first],
            "account": events["account"].iloc[first],
            "src_ip": events["src_ip"].iloc[first],
        }  # fmt: skip
    ).reset_index(drop=True)
    k_acc = (at["lab"].astype(str) + "\x1f" + at["account"].astype(str)).to_numpy()
    k_all = _ob_key(at).to_numpy()
    ns = ts.to_numpy(dtype="datetime64[ns]").view("int64")
    ob_acc = set(ob["lab"].astype(str) + "\x1f" + ob["account"].astype(str))
    # per group (every event of a kept group is kept), then per key
    g_min = pd.Series(ns).groupby(code).min()
    keep = np.isin(k_acc[g_min.index], list(ob_acc))
    acc_first = _min_by_key(g_min[keep], k_acc)
    ok = (events["action"].astype(str) != "login_failed").to_numpy()
    g_min = pd.Series(ns[ok]).groupby(code[ok]).min()
    keep = np.isin(k_all[g_min.index], list(set(_ob_key(ob))))
    return acc_first, _min_by_key(g_min[keep], k_all)


def _min_by_key(g_min: pd.Series, keys: np.ndarray) -> pd.Series:
    """Group -> first time (int64 ns) as key -> first time (datetime64[ns, UTC])."""
    t = pd.to_datetime(g_min.to_numpy(dtype="int64"), utc=True).as_unit("ns")
    return pd.Series(t, index=keys[g_min.index.to_numpy(dtype="int64")]).groupby(level=0).min()


def _prepare(
    events: CaseEvents,
    sessions: pd.DataFrame,
    scores: pd.DataFrame | ScoredLabs | None,
    leak: Any,
    transfers: Any,
    case_key: Any,
    params: AttributionParams,
    case: CaseContext,
    session_rows: Callable[[pd.Series], pd.DataFrame] | None = None,
    index_pairs: pd.DataFrame | None = None,
) -> _Context:
    """Everything the analysis needs that does not depend on its thresholds (the
    case's networks, lab aliases and time zone come from ``case``; ``index_pairs``:
    the patient indexes' ``lab``, ``patient`` given with a list, see :func:`_match_leak`).

    ``events`` is read one lab at a time: once for the outbound events
    (:meth:`~labforensics.case_events.CaseEvents.select`), once for the per-lab
    facts (:func:`_lab_pass`). ``session_rows``: see :func:`_prepare_sessions`."""
    nets = case.networks
    notes = _network_notes(nets)
    ss, n_scores = _prepare_sessions(sessions, scores, notes, session_rows)
    outb = _outbound(events, ss)
    facts = _lab_pass(events, ss, outb, pairs=leak is not None)
    span, patients = facts.span, facts.patients
    leak_rows, leak_report, matches, never = _match_leak(
        leak, case_key, span, patients, case.lab_aliases, index_pairs
    )
    touched = _touched_leaked(facts.pairs, matches)
    ss = _session_features(outb, ss, nets, (facts.acc_first, facts.ip_first))
    # anomaly in [0, 1]: 1 when the detection stage flagged the session; else the smaller
    # of its rank percentile and its pathway's rarity (a routine job stays low even when
    # ranked high); rarity alone for sessions without a score
    rarity = 1.0 / ss["pathway_days"].clip(lower=1)
    anomaly = np.fmin(ss["percentile"].astype(float), rarity).fillna(rarity)
    ss["anomaly"] = anomaly.where(~ss["flagged"].fillna(False).astype(bool), 1.0)
    links = _transfer_links(transfers, outb, nets, params, notes, case.transfer_zone, case_key)
    ctx = _Context(
        events_out=outb,
        sessions=ss,
        patients=patients,
        lab_span=span,
        leak=leak_rows,
        matches=matches,
        never_seen=never,
        links=links,
        scores_n=n_scores,
        notes=notes,
        touched=touched,
        leak_report=leak_report,
        leak_ids_by_lab=_pairs_by_lab(leak_rows),
    )
    ctx.nets = nets
    return ctx


def _pairs_by_lab(leak_rows: pd.DataFrame | None) -> pd.Series:
    """Lab -> the leaked (lab, patient) pairs the leak gives it (``lab_given`` rows; a
    row without a patient counts once per identifier): patients, not identifiers (one
    person's two records at a lab are two pairs, as in the lab's universe)."""
    if leak_rows is None:
        return pd.Series(dtype="int64")
    g = leak_rows[leak_rows["lab_given"]]
    unit = g["patient"].astype("string").fillna("\x1f" + g["leak_id"].astype("string"))
    return unit.groupby(g["lab"]).nunique()


def _network_notes(nets: NetworkMap) -> list[str]:
    """Notes on the networks that were not configured."""
    notes: list[str] = []
    if not nets.configured:
        notes.append(
            "lab networks not given (case file [networks] lab): every address other than "
            "the server's own is unknown, neither lab nor outside, so no session is called "
            "external for its address"
        )
    if not nets.vendor:
        notes.append(
            "vendor networks not given (case file [networks] vendor): a vendor account from outside the lab networks "
            "is kept under the vendor hypothesis"
        )
    return notes


@dataclass
class _LabFacts:
    """What :func:`_lab_pass` keeps of the events, lab by lab (none of it per event)."""

    span: pd.DataFrame  # lab, evidence_start, evidence_end
    patients: pd.DataFrame  # lab, patient, first_seen
    pairs: pd.DataFrame | None  # lab, session_id, patient: exporting sessions' patients
    acc_first: pd.Series  # (lab, account) key -> first event (outbound accounts)
    ip_first: pd.Series  # (lab, account, src_ip) key -> first event but failed logins


#: The event columns :func:`_lab_pass` reads (``session_id`` when present).
_PASS_COLUMNS = ("ts", "lab", "account", "action", "patient", "src_ip")


def _lab_pass(events: CaseEvents, ss: pd.DataFrame, outb: pd.DataFrame, pairs: bool) -> _LabFacts:
    """One pass over the labs (one lab's events widened at a time): each lab's span,
    its (lab, patient) first-seen times (:func:`_first_seen`), the first-use times of
    the outbound accounts and addresses (:func:`_first_use`) and, when ``pairs``, the
    distinct (session, patient) of the exporting sessions' events (:func:`_session_patients`).

    The tables equal those of the whole table at once: the events naming no lab count
    for no span nor patient (as a group-by drops them), every key holds its lab."""
    ob = outb[outb["session_id"].isin(ss["session_id"])]
    cols = [*_PASS_COLUMNS, *(["session_id"] if "session_id" in events.columns else [])]
    spans, pats, prs, accs, ips = [], [], [], [], []
    for k in events.labs:
        if not events.size(k):
            continue
        df = events.lab(k, cols)
        ts = pd.to_datetime(df["ts"], utc=True).astype("datetime64[ns, UTC]")
        lab = df["lab"].astype("string")
        if k is not None:
            span, patients = _first_seen(df, ts, lab)
            spans.append(span)
            pats.append(patients)
        if len(ob):
            a, f = _first_use(df, ts, lab, ob)
            accs += [a] if len(a) else []
            ips += [f] if len(f) else []
        if pairs and len(ss):
            prs.append(_session_patients(df, ts, lab, ss))
        del df, ts, lab
    if not spans:  # no event naming a lab: the tables of an empty one
        e = pd.DataFrame({"patient": pd.Series([], dtype="string")})
        ts0 = pd.Series([], dtype="datetime64[ns, UTC]")
        span, patients = _first_seen(e, ts0, pd.Series([], dtype="string"))
        spans, pats = [span], [patients]
    empty_first = pd.Series(pd.Series([], dtype="datetime64[ns, UTC]").to_numpy(),
                            index=pd.Index([], dtype=object)).groupby(level=0).min()  # fmt: skip
    return _LabFacts(
        span=pd.concat(spans, ignore_index=True),
        patients=pd.concat(pats, ignore_index=True),
        pairs=pd.concat(prs, ignore_index=True) if prs else None,
        acc_first=pd.concat(accs).groupby(level=0).min() if accs else empty_first,
        ip_first=pd.concat(ips).groupby(level=0).min() if ips else empty_first,
    )


def _first_seen(
    events: pd.DataFrame, ts: pd.Series, lab: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The evidence span of each lab of ``events`` (``ts``, ``lab`` its times in UTC and
    labs) and each (lab, patient)'s first-seen time; a time that cannot be right (2099)
    sets no span (:func:`~labforensics.plausible_dates.plausible`, as ``CaseEvents.spans``)."""
    ok = plausible(ts)
    keep = ok if ok.any() else np.ones(len(ts), dtype=bool)
    span = (
        pd.DataFrame({"lab": lab[keep], "ts": ts[keep]})
        .groupby("lab", observed=True)["ts"]
        .agg(evidence_start="min", evidence_end="max")
        .reset_index()
    )
    has_p = events["patient"].notna().to_numpy()
    patients = (
        pd.DataFrame(
            {
                "lab": lab[has_p],
                "patient": events["patient"][has_p].astype("string"),
                "ts": ts[has_p],
            }
        )
        .groupby(["lab", "patient"], observed=True)["ts"]
        .min()
        .rename("first_seen")
        .reset_index()
    )
    return span, patients


def _session_patients(
    events: pd.DataFrame, ts: pd.Series, lab: pd.Series, ss: pd.DataFrame
) -> pd.DataFrame:
    """Distinct ``(lab, session_id, patient)`` of the events of the exporting sessions
    ``ss`` that name a patient (the session by ``session_id`` or by interval)."""
    has_p = events["patient"].notna().to_numpy()
    lab_p = lab[has_p]
    acct = events["account"][has_p].astype("string")
    keys = set(ss["lab"].astype(str) + "\x1f" + ss["account"].astype(str))
    code, first = _groups([lab_p, acct])  # the key of one row per (lab, account)
    at_lab, at_acct = lab_p.iloc[first], acct.iloc[first]
    wanted = (at_lab.astype(str) + "\x1f" + at_acct.astype(str)).isin(keys).to_numpy()[code]
    pe = pd.DataFrame(
        {
            "ts": ts[has_p][wanted],
            "lab": lab_p[wanted],
            "account": acct[wanted],
            "patient": events["patient"][has_p][wanted].astype("string"),
        }
    )
    if "session_id" in events.columns:
        pe["session_id"] = events["session_id"][has_p][wanted].astype("string")
    else:
        pe["session_id"] = _assign_sessions(pe, ss)
    pe = pe[pe["session_id"].isin(ss["session_id"])]
    return pe[["lab", "session_id", "patient"]].drop_duplicates(["session_id", "patient"])


def _records(sessions: pd.DataFrame) -> pd.Series:
    """Records exported plus extracted of each session (int64, a missing count 0)."""
    return pd.to_numeric(sessions["records_exported"]).fillna(0).astype("int64") + pd.to_numeric(
        sessions["records_extracted"]
    ).fillna(0).astype("int64")


def _prepare_sessions(
    sessions: pd.DataFrame | SlimLabs,
    scores: pd.DataFrame | ScoredLabs | None,
    notes: list[str],
    session_rows: Callable[[pd.Series], pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Sessions that moved records, typed, with their detection score, rank, flag and
    rank percentile (NaN without scores; a note says so). Returns the table and the
    number of scores given. ``session_rows`` (ids -> their whole rows, in that order),
    when given, gives those sessions' rows instead of ``sessions``, which may then hold
    :data:`SESSION_KEYS` only (:mod:`labforensics.session_files`); ``sessions`` kept a
    file a lab (:class:`~labforensics.session_labs.SlimLabs`) is read lab by lab, and
    only its rows that moved records are kept (with their index in the case's table)."""
    if isinstance(sessions, SlimLabs):  # kept a file a lab: only the rows that moved records
        sessions = sessions.select(lambda f: (_records(f) > 0).to_numpy())
    records = _records(sessions)
    moved = (records > 0).to_numpy()
    # only the sessions that moved records are copied (a copy of every session cost as much
    # as the sessions table: 1.5 GB at 33 M events)
    if session_rows is None:
        ss = sessions.loc[moved].copy()
    else:  # the same rows, with the same index (records below is aligned on it)
        ss = session_rows(sessions.loc[moved, "session_id"]).set_axis(sessions.index[moved])
    ss["session_id"] = ss["session_id"].astype("string")
    ss["lab"] = ss["lab"].astype("string")
    ss["start"] = pd.to_datetime(ss["start"], utc=True).astype("datetime64[ns, UTC]")
    ss["end"] = pd.to_datetime(ss["end"], utc=True).astype("datetime64[ns, UTC]")
    ss["records"] = records[moved]
    ss["account_kind"] = ss["account_kind"].astype("string").fillna("unknown")
    ss["role"] = ss["role"].astype("string").str.upper()
    ss["failed_logins_before"] = pd.to_numeric(ss["failed_logins_before"]).fillna(0).astype(int)
    n_scores = 0
    if scores is not None:
        # the four columns read, not a copy of every scored column; kept a file a lab, the
        # rows of the sessions that moved records only (each session is scored once)
        got = scores.having(ss["session_id"]) if isinstance(scores, ScoredLabs) else scores
        sc = got[[c for c in ("session_id", "score", "rank", "flagged") if c in got.columns]]
        del got
        if "session_id" not in sc.columns:
            sc = sc.rename_axis("session_id").reset_index()
        if "rank" not in sc.columns:
            sc["rank"] = sc["score"].rank(ascending=False, method="min")
        if "flagged" not in sc.columns:
            sc["flagged"] = pd.NA
        sc = sc[["session_id", "score", "rank", "flagged"]].astype(
            {"session_id": "string", "flagged": "boolean"}
        )
        sc = sc.drop_duplicates("session_id")
        n_scores = len(scores) if isinstance(scores, ScoredLabs) else len(sc)
        ss = ss.merge(sc, on="session_id", how="left")
        # percentile of the detection rank: 1 for the most anomalous session
        ss["percentile"] = 1.0 - (ss["rank"].astype(float) - 1.0) / max(n_scores, 1)
    else:
        ss["score"] = np.nan
        ss["rank"] = np.nan
        ss["flagged"] = pd.array([pd.NA] * len(ss), dtype="boolean")
        ss["percentile"] = np.nan
        notes.append(
            "no anomaly scores given: rarity (1 / days on which the same lab, account and "
            "module moved records) stands in for the anomaly score"
        )
    ss = ss[ss["records"] > 0].reset_index(drop=True)
    return ss, n_scores


#: The event columns :func:`_outbound` reads (``session_id`` when present).
_OUT_COLUMNS = ("ts", "lab", "account", "module", "src_ip", "records", "detail",
                "source_file", "source_line")  # fmt: skip


def _outbound(events: CaseEvents, ss: pd.DataFrame) -> pd.DataFrame:
    """Export and extraction events with their session, evidence row and named files
    (in evidence order; taken one lab at a time)."""
    cols = [*_OUT_COLUMNS, *(["session_id"] if "session_id" in events.columns else [])]
    ev = events.select(
        lambda d: d["action"].astype(str).isin(["export", "extract"]).to_numpy(),
        columns=cols,
        need=["action"],
    )
    outb = pd.DataFrame(
        {
            "ts": pd.to_datetime(ev["ts"], utc=True).astype("datetime64[ns, UTC]"),
            "lab": ev["lab"].astype("string"),
            "account": ev["account"].astype("string"),
            "module": ev["module"].astype("string").str.upper(),
            "src_ip": ev["src_ip"].astype("string"),
            "records": pd.to_numeric(ev["records"]).astype("Int64"),
            "detail": ev["detail"].astype("string"),
            "src": ev["source_file"].astype("string").fillna("?")
            + ":"
            + ev["source_line"].astype("string").fillna("?"),
        }
    )
    if "session_id" in ev.columns:
        outb["session_id"] = ev["session_id"].astype("string")
    outb["session_id"] = _assign_sessions(outb, ss)
    outb["files"] = _files_in(outb["detail"])
    return outb


def _match_leak(
    leak: Any,
    case_key: Any,
    span: pd.DataFrame,
    patients: pd.DataFrame,
    lab_aliases: Mapping[str, str],
    index_pairs: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame | None, dict[str, Any] | None, pd.DataFrame, pd.DataFrame]:
    """The leak's rows, how it was read, its identifiers found among the patients
    (``matches``) and those never seen. With ``index_pairs`` (the patient indexes'
    ``lab``, ``patient``), a lab-less identifier is placed at the one lab whose events
    or index hold it, at none when several do (:func:`.placement.place_by_index`)."""
    matches = pd.DataFrame(
        {"leak_id": [], "lab": [], "patient": [], "first_seen": [], "date": [], "n_labs": []}
    )
    never = pd.DataFrame({"leak_id": [], "lab": [], "id_kind": []}, dtype="string")
    leak_rows = None
    leak_report: dict[str, Any] | None = None
    if leak is not None:
        key = load_case_key(case_key, warn=False)
        if isinstance(leak, pd.DataFrame) and {"leak_id", "patient", "id_kind"} <= set(
            leak.columns
        ):
            leak_rows = _coerce_leak(leak)
            leak_report = dict(leak.attrs.get("leak_report") or {}) or None
        else:
            leak_rows = read_leak(
                leak,
                case_key=key,
                labs=span["lab"].astype(str).tolist(),
                lab_aliases=lab_aliases,
            )
            leak_report = dict(leak_rows.attrs.get("leak_report") or {}) or None
        if index_pairs is not None:
            leak_rows, placed = place_by_index(leak_rows, patients, index_pairs)
            if placed["placed"] or placed["several_records"]:
                leak_report = {**(leak_report or {}), "placed_by_index": placed}
        if leak_report is not None:  # labs absent from the evidence, against its labs
            leak_report["unknown_lab"] = _unknown_labs(leak_rows, span["lab"].astype(str))
        lr = leak_rows[leak_rows["patient"].notna()]
        with_lab = lr[lr["lab"].notna()].merge(patients, on=["lab", "patient"], how="inner")
        no_lab = lr[lr["lab"].isna()].drop(columns="lab").merge(patients, on="patient", how="inner")
        matches = pd.concat([with_lab, no_lab], ignore_index=True)[
            ["leak_id", "lab", "patient", "first_seen", "date"]
        ].drop_duplicates(["leak_id", "lab", "patient"], ignore_index=True)
        matches["n_labs"] = matches.groupby("leak_id")["lab"].transform("nunique").astype(int)
        nf = leak_rows[~leak_rows["leak_id"].isin(matches["leak_id"])]
        never = (
            nf.assign(lab=nf["lab"].where(nf["lab_given"]))
            .drop_duplicates("leak_id")[["leak_id", "lab", "id_kind"]]
            .sort_values("leak_id", ignore_index=True)
        )
    return leak_rows, leak_report, matches, never


def _transfer_links(
    transfers: Any,
    outb: pd.DataFrame,
    nets: NetworkMap,
    params: AttributionParams,
    notes: list[str],
    tz: str,
    case_key: Any = None,
) -> pd.DataFrame:
    """Transfers linked to the extractions (a note counts them when given); an
    xferlog path is read in the case's time zone ``tz``, its anonymous users' e-mail
    addresses keyed with ``case_key`` (QA session 20: always ``[EMAIL]`` before, so the
    downloads of one address could not be told apart from another's)."""
    tr = _read_transfers_arg(transfers, tz, case_key)
    links = _link_transfers(outb, tr, nets, params)
    if tr is not None:
        notes.append(transfer_note(tr, links))
        clock = clock_note(*upload_gaps(outb, tr), params.transfer_skew_h, tz)
        if clock is not None:  # uploads logged before their file's export
            notes.append(clock)
        sizes = size_note(*size_mismatches(tr, links))
        if sizes is not None:  # downloads not of their upload's size
            notes.append(sizes)
    return links
