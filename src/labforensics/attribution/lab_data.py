"""Per-lab data of the conclusion (:mod:`.conclusion`): each lab's universe of
known patients, its leaked set, its logged operations and their patient sets, computed
once from the attribution context and reused by every sensitivity rerun.

Memory (issue 17): a lab's events naming a patient (:func:`_patient_events`) are read
from the case's :class:`~labforensics.case_events.CaseEvents` when
:func:`prepare` reaches that lab and dropped before the next one; what stays is per
operation (:class:`_LabData`), never per event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..case_events import CaseEvents
from ..session_labs import lab_sessions
from . import coverage as cov
from .activity import NOT_ASSESSED, retrieval_flags
from .candidates import _candidate_features
from .context import _Context
from .op_likelihood import NO_ROW_DATE
from .params import AttributionParams
from .tie import own_pairs


def _ns(s: pd.Series) -> np.ndarray:
    return s.astype("datetime64[ns, UTC]").dt.tz_convert(None).to_numpy().view("int64")


def _iso(ns: Any) -> str | None:
    if ns is None or (isinstance(ns, float) and math.isnan(ns)):
        return None
    t = pd.Timestamp(int(ns), tz="UTC") if not isinstance(ns, pd.Timestamp) else ns
    if pd.isna(t):
        return None
    return t.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _LabData:
    """Everything a lab's conclusion needs, independent of the assumptions."""

    lab: str
    known_ns: np.ndarray  # universe known_at sorted (ns)
    leaked: np.ndarray  # bool, aligned
    n_linked: int  # leaked (lab, patient) pairs of this lab
    n_unique: int | None  # rows linked to this lab alone (dump), None for a list
    has_logs: bool
    evidence_start: pd.Timestamp | None
    evidence_end: pd.Timestamp | None
    horizon: pd.Timestamp | None
    window_after: pd.Timestamp | None
    window_before: pd.Timestamp | None
    ops: pd.DataFrame  # operations: op, kind, hypothesis, t_ns, records, n_set, n11, ...
    dated: bool  # the lab's patient index gives registration dates
    leak_ids: frozenset[str] = frozenset()  # the leaked identifiers placed in this lab
    n_ambiguous: int = 0  # of its pairs, those of lab-less identifiers also found elsewhere
    # end of the censoring period (no registration dates: likelihood, "left-censoring")
    censor_end: pd.Timestamp | None = None
    # leaked patients that are the lab's (its events or its index name them, dated or
    # not; :mod:`.tie`); None when not computed
    n_own: int | None = None
    # the lab's patient index is in the evidence: a leaked pair neither it nor the
    # lab's events hold is no patient of the lab (coverage line ``not_a_patient``)
    has_index: bool = False
    # the leaked patients' row dates, aligned with known_ns (int64 ns; NO_ROW_DATE where
    # none; likelihood module, "row dates"); None: no row is dated
    row_ns: np.ndarray | None = None
    # each operation's authorisation-register flag (activity module: 1 not authorised,
    # 0 authorised, -1 not assessed) and the lab's (not authorised, assessed) sessions;
    # None without exports
    register: np.ndarray | None = None
    register_counts: tuple[int, int] | None = None
    # the lab's (fetched, assessed) comparable operations for the retrieval flags of
    # ``ops["retrieval"]`` (activity.retrieval_flags); None when none could be assessed
    retrieval_counts: tuple[int, int] | None = None


def _linkage_info(linkage: dict[str, Any] | None) -> tuple[float | None, dict[str, Any]]:
    if not linkage:
        return None, {}
    horizons = {
        str(p["lab"]): pd.Timestamp(p["horizon"])
        for p in linkage.get("per_lab", [])
        if p.get("horizon")
    }
    return linkage.get("false_match_rate"), horizons


def _unique_rows(links: pd.DataFrame | None) -> dict[str, int] | None:
    if links is None or "match" not in links.columns:
        return None
    u = links[links["match"].eq("unique") & links["patient"].notna()]
    return {str(k): int(v) for k, v in u.groupby(u["lab"].astype(str)).size().items()}


def _operations(
    ctx: _Context,
    pe: pd.DataFrame,
    sessions: pd.DataFrame,
    lab: str,
    leaked_set: set[str],
    hi_ns: int | None,
    params: AttributionParams,
    rows: pd.Series | None = None,
) -> pd.DataFrame:
    """A lab's operations with their set sizes (see module docstring); ``rows`` the
    leaked patients' row dates (:func:`_row_dates`): a set's ``n11_rows`` counts the
    leaked patients it could have produced (its time, or for consultations the last
    read of the patient, at or after the row's date), ``n_set_rows`` its set without
    the others (likelihood module, "row dates")."""
    out: list[dict[str, Any]] = []
    ss = ctx.sessions[ctx.sessions["lab"] == lab]
    if hi_ns is not None:
        ss = ss[_ns(ss["start"]) <= hi_ns]
    ss = ss[ss["pathway_days"] < params.routine_days]
    if len(ss):
        feats = _candidate_features(ctx, ss, params)
        # the operation's instant: its own last export or extraction event (what it wrote
        # holds the patients known by then), not the session's logout (the demo's L01
        # extraction at 01:45 was put at 01:55, after its file had left); the session's
        # end only for a session with no such event in the evidence
        ob = ctx.events_out[ctx.events_out["lab"].astype(str) == lab]
        last_out = (
            pd.Series(_ns(ob["ts"]), index=ob["session_id"].astype(str).to_numpy())
            .groupby(level=0)
            .max()
        )
        t_end = pd.Series(_ns(feats["end"]), index=feats["session_id"].astype(str).to_numpy())
        t_op = last_out.reindex(t_end.index).fillna(t_end).astype("int64").to_numpy()
        t_of = dict(zip(t_end.index, t_op, strict=True))
        named = _named_sets(pe, feats["session_id"], leaked_set, rows, t_of)
        retrieval = retrieval_flags(ctx.links, feats["session_id"].astype(str).to_numpy())
        for r, t, rf in zip(feats.itertuples(index=False), t_op, retrieval, strict=True):
            n_set, n11, n11_rows = named.get(str(r.session_id), (0, 0, 0))
            out.append(
                {
                    "op": str(r.session_id),
                    "kind": "known_set" if n_set >= int(r.records) else "cut",
                    "hypothesis": str(r.hypothesis),
                    "account": str(r.account),
                    "t_ns": int(t),
                    "records": int(r.records),
                    "n_set": int(n_set),
                    "n11": int(n11),
                    "n_set_rows": int(n_set - n11 + n11_rows),
                    "n11_rows": int(n11_rows),
                    "score": float(r.score) if pd.notna(r.score) else None,
                    "anomaly": float(r.anomaly) if pd.notna(r.anomaly) else 0.0,
                    "failed_burst": bool(r.failed_burst),
                    "network": str(r.network),
                    "retrieved_outside": bool(r.retrieved_outside),
                    "fetched_outside_by": [str(x) for x in (r.fetched_outside_by or [])],
                    "retrieval": int(rf),
                }
            )
    out += _consultations(pe, sessions, lab, leaked_set, hi_ns, params, rows)
    cols = ["op", "kind", "hypothesis", "account", "t_ns", "records", "n_set", "n11", "score",
            "anomaly", "failed_burst", "network", "retrieved_outside", "fetched_outside_by",
            "n_set_rows", "n11_rows", "retrieval"]  # fmt: skip
    return pd.DataFrame(out, columns=cols)


#: The event columns :func:`_patient_events` reads (``session_id`` when present).
_PE_COLUMNS = ("ts", "account", "action", "patient")


def _patient_events(events: CaseEvents, lab: str) -> pd.DataFrame:
    """One lab's events naming a patient (that lab's events only are read):
    ``account``, ``session_id`` ("" when none), ``patient`` (text columns, ``str``
    dtype: Arrow-backed, no Python object per event), ``t`` (int64 ns), ``consult``
    (bool: not an export, extraction or login event); evidence order, ``RangeIndex``,
    no row for a lab without events."""
    if lab not in events.labs:
        return pd.DataFrame(
            {c: pd.Series([], dtype=str) for c in ("account", "session_id", "patient")}
            | {"t": pd.Series([], dtype="int64"), "consult": pd.Series([], dtype=bool)}
        )
    sid = "session_id" in events.columns
    ev = events.lab(lab, [*_PE_COLUMNS, *(["session_id"] if sid else [])])
    ev = ev[ev["patient"].notna().to_numpy()]
    return pd.DataFrame(
        {
            "account": ev["account"].astype(str).array,
            "session_id": (
                ev["session_id"].astype("string").fillna("").astype(str).array
                if sid
                else pd.array(np.full(len(ev), "", dtype=object), dtype=str)
            ),
            "patient": ev["patient"].astype(str).array,
            "t": _ns(pd.to_datetime(ev["ts"], utc=True)),
            "consult": ~ev["action"]
            .isin(["export", "extract", "login", "logout", "login_failed"])
            .to_numpy(),
        }
    )


def _named_sets(
    pe: pd.DataFrame,
    sids: pd.Series,
    leaked_set: set[str],
    rows: pd.Series | None = None,
    t_op: dict[str, int] | None = None,
) -> dict[str, tuple[int, int, int]]:
    """session_id -> (patients its own events name, of which leaked, of which the
    session's time ``t_op`` is at or after the row's date: :func:`_producible`); ``pe``
    the lab's :func:`_patient_events`."""
    if pe.empty or not len(sids):
        return {}
    ev = pe[pe["session_id"].isin(set(sids.astype(str)))]
    if ev.empty:
        return {}
    d = pd.DataFrame({"s": ev["session_id"], "p": ev["patient"]}).drop_duplicates()
    d["lk"] = d["p"].isin(leaked_set)
    t = d["s"].map(t_op or {}).fillna(np.iinfo(np.int64).max).astype("int64")
    d["ok"] = d["lk"] & _producible(d["p"], t, rows)
    g = d.groupby("s").agg(n=("lk", "size"), lk=("lk", "sum"), ok=("ok", "sum"))
    return {str(k): (int(a), int(b), int(c))
            for k, a, b, c in zip(g.index, g["n"], g["lk"], g["ok"], strict=True)}  # fmt: skip


def _producible(patients: pd.Series, t_ns: pd.Series, rows: pd.Series | None) -> pd.Series:
    """Whether an operation (or a read) at ``t_ns`` is at or after each patient's row
    date (True for a patient with none); aligned with ``patients``."""
    if rows is None or not len(rows):
        return pd.Series(True, index=patients.index)
    return pd.Series(_row_of(patients, rows) <= t_ns.to_numpy(), index=patients.index)


def _row_of(patients: pd.Series, rows: pd.Series) -> np.ndarray:
    """Each patient's row date (int64 ns, exact), :data:`NO_ROW_DATE` where none."""
    if not len(rows):
        return np.full(len(patients), NO_ROW_DATE, dtype=np.int64)
    i = rows.index.get_indexer(patients.astype(str))
    return np.where(i >= 0, rows.to_numpy(dtype=np.int64)[i], NO_ROW_DATE).astype(np.int64)


def _row_dates(ctx: _Context, lab: str) -> pd.Series:
    """A lab's leaked patients' row dates: patient -> the newest date of the leak's rows
    naming that (lab, patient), int64 ns (a dump's sample dates, each the start of its
    local day, clipped to the lab's horizon:
    :func:`~labforensics.leak.horizon.leak_rows_from_links`); undated patients left out."""
    parts = [ctx.matches[["lab", "patient", "date"]]] if len(ctx.matches) else []
    if ctx.leak is not None:
        parts.append(ctx.leak.loc[ctx.leak["lab_given"].astype(bool), ["lab", "patient", "date"]])
    r = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["lab", "patient", "date"])
    )
    date = pd.to_datetime(r["date"], utc=True)
    keep = (r["lab"].astype("string") == lab).fillna(False) & r["patient"].notna() & date.notna()
    if not keep.any():
        return pd.Series([], dtype="int64")
    newest = date[keep].groupby(r.loc[keep, "patient"].astype(str).to_numpy()).max()
    return pd.Series(_ns(newest), index=newest.index)


#: Share of the patients registered before the logs that are first seen within the
#: censoring period (:func:`censoring_period`): a 90 % quantile, the usual coverage of a
#: one-sided bound; the remaining 10 % are left to the outside rate of the cut model.
CENSOR_QUANTILE = 0.9


def censoring_period(pe: pd.DataFrame, quantile: float = CENSOR_QUANTILE) -> pd.Timedelta | None:
    """A lab's censoring period: the time from the start of its logs within which a
    patient registered before them is first seen, with probability ``quantile``.

    The time from an arbitrary instant (the start of the logs) to a patient's next
    visit is the forward-recurrence time of its visits; for visit gaps ``g`` its
    survival is ``S(x) = sum max(g - x, 0) / sum g`` (Cox, *Renewal Theory*, 1962,
    ch. 5: the equilibrium distribution). The period is the ``x`` with
    ``S(x) = 1 - quantile``, from the lab's own gaps between consecutive days on which
    events name the same patient (gaps longer than the logs cannot be seen: with short
    logs the period is a lower bound, stated in the conclusion's limits).

    Parameters
    ----------
    pe : pandas.DataFrame
        The lab's events naming a patient (:func:`_patient_events`): ``patient`` (str),
        ``t`` (int64 ns since the epoch, UTC).
    quantile : float, default :data:`CENSOR_QUANTILE`
        In (0, 1).

    Returns
    -------
    pandas.Timedelta or None
        Whole days (the gaps are counted in days); None when no patient comes back.
    """
    if pe.empty:
        return None
    # patients by code (the gaps do not depend on the patients' order; no string per event)
    p_code = pd.factorize(pe["patient"], use_na_sentinel=False)[0]
    day = pd.DataFrame({"p": p_code, "d": pe["t"].to_numpy() // (86400 * 10**9)})
    day = day.drop_duplicates().sort_values(["p", "d"], kind="stable")
    same = day["p"].to_numpy()[1:] == day["p"].to_numpy()[:-1]
    g = np.diff(day["d"].to_numpy())[same].astype(float)
    g = np.sort(g[g > 0])[::-1]  # descending
    if not g.size:
        return None
    # F(x) = sum max(g - x, 0) is piecewise linear and decreasing; solve F(x) = (1 - q) sum g
    target = (1.0 - quantile) * g.sum()
    top = np.cumsum(g)  # sum of the j + 1 largest gaps
    j = np.arange(1, g.size + 1)
    f_at = top - j * g  # F at x = g[j - 1]: the j - 1 largest gaps exceed it
    i = int(np.searchsorted(f_at, target, side="left"))  # f_at increases with j
    # on [g[i], g[i - 1]] exactly the i largest gaps exceed x: F(x) = top[i - 1] - i x
    x = (top[i - 1] - target) / i if i > 0 else g[0]
    return pd.Timedelta(days=float(np.ceil(max(x, 0.0))))


def _consultations(
    pe: pd.DataFrame,
    sessions: pd.DataFrame,
    lab: str,
    leaked_set: set[str],
    hi_ns: int | None,
    params: AttributionParams,
    rows: pd.Series | None = None,
) -> list[dict[str, Any]]:
    """Each account's consulted patients up to the sighting (a known set), for the
    accounts whose events name at least ``partial_min_share`` of the lab's leak; a
    leaked patient counts in ``n11_rows`` when the account's last read of it is at or
    after its row date (``rows``, :func:`_row_dates`; likelihood module, "row dates")."""
    if not leaked_set:
        return []
    d = pe[pe["consult"]]
    if hi_ns is not None:
        d = d[d["t"] <= hi_ns]
    if d.empty:
        return []
    d = pd.DataFrame({"a": d["account"], "p": d["patient"], "t": d["t"]})
    d["lk"] = d["p"].isin(leaked_set)
    # per patient read, the last read (a read before the patient's row date cannot have
    # produced its row)
    ap = d.groupby(["a", "p"], sort=False, as_index=False).agg(lk=("lk", "first"), t=("t", "max"))
    ap["ok"] = ap["lk"] & _producible(ap["p"], ap["t"], rows)
    per = ap.groupby("a").agg(size=("lk", "size"), sum=("lk", "sum"), ok=("ok", "sum"))
    last = d.groupby("a")["t"].max()
    need = max(1, math.ceil(params.partial_min_share * len(leaked_set)))
    per = per[per["sum"] >= need]
    ss = lab_sessions(sessions, lab)  # a file a lab: this lab's read now (session_labs)
    kind = ss.groupby(ss["account"].astype(str))["account_kind"].first().astype(str)
    role = ss.groupby(ss["account"].astype(str))["role"].first().fillna("").astype(str).str.upper()
    burst = (
        pd.to_numeric(ss["failed_logins_before"]).fillna(0).groupby(ss["account"].astype(str)).max()
        >= params.failed_burst
    )
    out = []
    for a, r in per.sort_index().iterrows():
        hyp = (
            "external"
            if bool(burst.get(a, False))
            else "vendor"
            if kind.get(a) == "vendor" or role.get(a) == "EDITEUR"
            else "insider"
        )
        out.append(
            {
                "op": f"consultations:{a}",
                "kind": "consultations",
                "hypothesis": hyp,
                "account": a,
                "t_ns": int(last[a]),
                "records": int(r["size"]),
                "n_set": int(r["size"]),
                "n11": int(r["sum"]),
                "n_set_rows": int(r["size"] - r["sum"] + r["ok"]),
                "n11_rows": int(r["ok"]),
                "score": None,
                "anomaly": 0.0,
                "failed_burst": bool(burst.get(a, False)),
                "network": "",
                "retrieved_outside": False,
                "fetched_outside_by": [],
                "retrieval": NOT_ASSESSED,
            }
        )
    return out


def prepare(
    ctx: _Context,
    run: Any,
    events: CaseEvents,
    sessions: pd.DataFrame,
    params: AttributionParams,
    registry: pd.DataFrame | None,
    linkage: dict[str, Any] | None,
    links: pd.DataFrame | None,
    sighted_at: pd.Timestamp | None,
    indexed: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Per-lab data of the conclusion (computed once for every sensitivity rerun).

    ``indexed``: every (lab, patient) of the patient indexes, dated or not
    (:func:`.tie.index_pairs_of`), to tell the labs' own leaked patients (``n_own``).

    ``events``: the case's events; each leaked lab with logs has its events naming a
    patient read when its turn comes (:func:`_patient_events`) and dropped after, so
    one lab's are held at a time.
    """
    fmr, horizons = _linkage_info(linkage)
    pairs, unplaced = cov.leaked_pairs(ctx)
    uni = cov.universe(ctx, registry)
    uniq = _unique_rows(links)
    span = ctx.lab_span.set_index(ctx.lab_span["lab"].astype(str))
    win = run.windows.set_index(run.windows["lab"].astype(str)) if len(run.windows) else None
    labs = sorted(set(pairs["lab"].astype(str)))
    # lab-less identifiers found in several labs: one person at one lab, not said which
    given = set(ctx.leak.loc[ctx.leak["lab_given"].astype(bool), "leak_id"].astype(str))
    m = ctx.matches
    ambiguous = set(m.loc[m["n_labs"] > 1, "leak_id"].astype(str)) - given if len(m) else set()
    data = {}
    sight_ns = int(sighted_at.value) if sighted_at is not None else None
    for lab in labs:
        p = pairs[pairs["lab"] == lab]
        u = uni[uni["lab"] == lab]
        leaked_set = set(p["patient"].dropna().astype(str))
        lk = u["patient"].astype(str).isin(leaked_set).to_numpy()
        has_logs = lab in span.index
        pe = _patient_events(events, lab) if has_logs else None
        hz = horizons.get(lab)
        rows = _row_dates(ctx, lab)
        row_ns = (
            np.where(lk, _row_of(u["patient"].astype(str), rows), NO_ROW_DATE)
            if len(rows)
            else None
        )
        ids = frozenset(p["leak_id"].astype(str))
        seen = ctx.patients.loc[ctx.patients["lab"].astype(str) == lab, "patient"]
        data[lab] = _LabData(
            lab=lab,
            n_own=own_pairs(leaked_set, lab, set(seen.dropna().astype(str)), indexed),
            has_index=indexed is not None and bool((indexed["lab"].astype(str) == lab).any()),
            leak_ids=ids,
            n_ambiguous=int(p["leak_id"].astype(str).isin(ambiguous).sum()),
            known_ns=_ns(u["known_at"]),
            leaked=lk,
            n_linked=len(p),  # (lab, patient) pairs (coverage.leaked_pairs), not identifiers
            n_unique=None if uniq is None else int(uniq.get(lab, 0)),
            has_logs=has_logs,
            evidence_start=span.loc[lab, "evidence_start"] if has_logs else None,
            evidence_end=span.loc[lab, "evidence_end"] if has_logs else None,
            horizon=hz,
            window_after=_get(win, lab, "after"),
            window_before=_get(win, lab, "before"),
            dated=(dated := registry is not None and bool((registry["lab"] == lab).any())),
            censor_end=_censor_end(pe, span, lab) if has_logs and not dated else None,
            ops=_operations(ctx, pe, sessions, lab, leaked_set, sight_ns, params, rows)
            if has_logs
            else pd.DataFrame(),
            row_ns=row_ns,
        )
        del pe  # one lab's patient events at a time
    return {
        "labs": data,
        "fmr": fmr,
        # the rate's 95 % upper bound (the household decoy's, leak.decoys), for the Limits
        "fmr_high": ((linkage or {}).get("false_match_rate_parts") or {}).get("fmr_high"),
        "unplaced": unplaced,
        "sighted_at": sighted_at,
        "n_rows_linked": int(linkage.get("rows_linked") or 0) if linkage else None,
        # the linkage's training size, for the Limits (.linkage_limits)
        "dump_rows": int(linkage["rows"]) if linkage and linkage.get("rows") is not None else None,
        "index_rows": _index_rows(linkage),
    }


def _index_rows(linkage: dict[str, Any] | None) -> int | None:
    """The patient index records the linkage ran against (its labs' ``patients_known``
    summed), or None."""
    per = (linkage or {}).get("per_lab") or []
    known = [p.get("patients_known") for p in per if isinstance(p, dict)]
    return sum(int(k) for k in known) if known and all(isinstance(k, int) for k in known) else None


def _censor_end(pe: pd.DataFrame, span: pd.DataFrame, lab: str) -> pd.Timestamp | None:
    """The start of the lab's logs plus its censoring period (None when no patient
    comes back)."""
    c = censoring_period(pe)
    start = span.loc[lab, "evidence_start"]
    return None if c is None or pd.isna(start) else pd.Timestamp(start) + c


def _get(win: pd.DataFrame | None, lab: str, col: str) -> pd.Timestamp | None:
    if win is None or lab not in win.index:
        return None
    v = win.loc[lab, col]
    return None if pd.isna(v) else pd.Timestamp(v)


__all__ = ["CENSOR_QUANTILE", "censoring_period", "prepare"]
