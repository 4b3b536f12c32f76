"""One status per export or extraction, against the authorisation register.

Statuses and rules: ``shared/formats/authorisations.md``.

* ``authorised``: some register row for the operation's lab (its code, FINESS
  alias, or ``*``) and account (shell-style pattern, case-insensitive after NFC)
  holds it whole: its window holds the instant, the record limit holds per
  operation **and** summed over the row's window, every output file matches the
  destination pattern, and the scope holds (records, or named patients, within
  ``eligible_max``).
* ``beyond``: rows exist for that lab and account but none holds the operation:
  the nearest row and each limit crossed, with by how much, are named.
* ``unregistered``: no row for that account at that lab.
* ``undetermined``: no row is crossed on a limit that the evidence can judge, but
  some limit cannot be judged (no record count, no output file named, no scope upper
  bound, rows that are not patients and a session naming none); never ``beyond``.
* ``unknown``: no register given.

The record limit summed over a ticket is cumulative in evidence order (``ts``, then the
lab, labs sorted, then the lab's own order): the operation that brings the sum of the
records the ticket authorised, at every lab and account its rows match, above the row's
``scope_max_records`` crosses it, and so does every later one that would (ten small
extractions can take what one may not; an operation not authorised by the ticket does
not use its budget: :mod:`labforensics.authorisation.ticket_budget`). One call sums
over the operations it is given; the per-lab engine, which assesses each lab apart,
keeps each lab's pairs under a limited row (:func:`assess_with_pairs`), runs the sums
over every lab once and re-chooses the statuses they change (:func:`reassess_budget`),
so that its statuses equal one call over the whole case.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import unique_sorted
from ..case import DEFAULT_TZ
from ..identity import canonical_account
from ..labcodes import lab_alias_map, resolve_lab
from ..schema import STRING, STRING_LIST
from .operations import operations
from .register import read_authorisations
from .scope import scope_bounds
from .ticket_budget import evidence_rank, ticket_sums

__all__ = [
    "EXPORT_COLUMNS",
    "STATUSES",
    "assess_exports",
    "assess_operations",
    "assess_with_pairs",
    "reassess_budget",
]

#: The statuses, in the order the report lists them.
STATUSES: tuple[str, ...] = ("beyond", "unregistered", "undetermined", "authorised", "unknown")

#: Columns of :func:`assess_exports` (``exports.parquet``), in order.
EXPORT_COLUMNS: tuple[str, ...] = (
    "session_id",
    "lab",
    "account",
    "ts",
    "action",
    "module",
    "records",
    "record_unit",
    "patients_named",
    "output_file",
    "eligible_min",
    "eligible_max",
    "out_of_scope_min",
    "ticket",
    "nearest_ticket",
    "kind",
    "status",
    "limits_crossed",
    "undetermined_limits",
    "source_file",
    "source_line",
)

_NEG = np.iinfo(np.int64).min


def _n(x: Any) -> str:
    return f"{int(x):,}"


def _local(ts: pd.Timestamp, tz: str) -> str:
    return ts.tz_convert(tz).strftime("%Y-%m-%d %H:%M")


def _span(delta: pd.Timedelta) -> str:
    s = delta.total_seconds()
    if s >= 2 * 86400:
        return f"{s / 86400:,.0f} days"
    if s >= 2 * 3600:
        return f"{s / 3600:,.0f} hours"
    return f"{max(s / 60, 1):,.0f} minutes"


def _account_matches(accounts: np.ndarray, pattern: str) -> np.ndarray:
    """Which canonical (NFC, case-folded) accounts match a shell-style pattern (one
    ``fnmatch`` per distinct account)."""
    codes, uniq = pd.factorize(pd.Series(accounts, dtype=object))
    hit = np.array(
        [fnmatch.fnmatchcase(str(a), pattern) for a in uniq], dtype=bool
    )  # per distinct account
    out = np.zeros(len(accounts), dtype=bool)
    ok = codes >= 0
    out[ok] = hit[codes[ok]]
    return out


def _pairs(ops: pd.DataFrame, reg: pd.DataFrame, aliases: dict[str, str]) -> pd.DataFrame:
    """(operation, register row) pairs whose lab and account match."""
    lab_s = ops["lab"].astype("object")
    lcodes, luniq = pd.factorize(lab_s)  # canonical as the register's labs (QA 13)
    lcanon = np.array([resolve_lab(x, aliases) for x in luniq] + [None], dtype=object)
    lab = lcanon[lcodes]  # code -1 (missing) takes the trailing None
    codes, uniq = pd.factorize(ops["account"].astype("object"))
    canon = np.array([canonical_account(str(a), casefold=True) for a in uniq] + [None],
                     dtype=object)  # fmt: skip  # per distinct account
    acc = canon[codes]  # code -1 (missing) takes the trailing None
    oi: list[np.ndarray] = []
    rj: list[np.ndarray] = []
    for j, (rlab, pat) in enumerate(zip(reg["lab"], reg["account"], strict=True)):  # per row
        m = _account_matches(acc, str(pat))
        if rlab != "*":
            m &= lab == resolve_lab(rlab, aliases)
        idx = np.flatnonzero(m)
        oi.append(idx)
        rj.append(np.full(len(idx), j, dtype=np.int64))
    return pd.DataFrame(
        {
            "o": np.concatenate(oi) if oi else np.zeros(0, np.int64),
            "r": np.concatenate(rj) if rj else np.zeros(0, np.int64),
        }
    )


def _dest_ok(files: list[list[str]], pattern: str) -> tuple[bool | None, list[str]]:
    """Whether every output file matches the destination pattern (None: no file named)."""
    if not files:
        return None, []
    bad = [
        f for f in files if not fnmatch.fnmatchcase(canonical_account(f, casefold=True), pattern)
    ]
    return (not bad), bad


def assess_exports(
    events: pd.DataFrame,
    sessions: pd.DataFrame | None = None,
    *,
    register: pd.DataFrame | Any = None,
    patient_index: pd.DataFrame | Any = None,
    case: Any = None,
) -> pd.DataFrame:
    """Give every export and extraction a status against the authorisation register.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical event table with ``session_id`` (``sessionize(...).events``).
    sessions : pandas.DataFrame, optional
        Session table (used only when ``events`` has no ``session_id``).
    register : pandas.DataFrame or path, optional
        The register, as :func:`labforensics.authorisation.read_authorisations`
        returns it, or its path (read with ``case``). None: every status is
        ``unknown``.
    patient_index : pandas.DataFrame or PatientIndex, optional
        The labs' patient indexes (``read_patient_index(...)`` or its ``.people``):
        ``lab``, ``record_id`` (pseudonym keyed like the events' ``patient``),
        ``created``. Without it the scope's upper bound exists only where the logs
        start on or before the scope date.
    case : CaseContext, optional
        ``tz`` (local days, texts) and ``lab_aliases``.

    Returns
    -------
    pandas.DataFrame
        One row per export/extraction in evidence order (``ts``, then ``seq``),
        columns :data:`EXPORT_COLUMNS`: ``records`` (Int64, records),
        ``patients_named`` (int64, patients), ``eligible_min`` / ``eligible_max`` /
        ``out_of_scope_min`` (Int64, patients; missing when not computed or no
        upper bound), ``ticket`` (the authorising row's ticket, missing otherwise),
        ``nearest_ticket`` (the authorising or nearest row's ticket), ``kind`` (that
        row's kind), ``status`` (one of :data:`STATUSES`), ``limits_crossed`` and
        ``undetermined_limits`` (lists of strings naming each limit and by how much).

    Raises
    ------
    labforensics.authorisation.register.RegisterError
        When ``register`` is a path to a bad register.
    labforensics.errors.MissingColumnsError
        When ``events`` lacks a needed column.
    """
    return assess_operations(operations(events, sessions), events, register=register,
                             patient_index=patient_index, case=case)  # fmt: skip


def assess_operations(
    ops: pd.DataFrame,
    events: pd.DataFrame,
    *,
    register: pd.DataFrame | Any = None,
    patient_index: pd.DataFrame | Any = None,
    case: Any = None,
) -> pd.DataFrame:
    """:func:`assess_exports` of operations already listed.

    Parameters
    ----------
    ops : pandas.DataFrame
        :func:`~labforensics.authorisation.operations.operations` of the events (in
        evidence order, ``RangeIndex``): the concatenation of each account batch's, put
        back in ``(ts, seq)`` order, is the lab's.
    events : pandas.DataFrame
        What the scope bounds read (:func:`~labforensics.authorisation.scope.scope_bounds`):
        ``ts``, ``lab`` and ``patient`` of the events, or a projection with the same
        patients' events and each lab's first event.
    register, patient_index, case
        As :func:`assess_exports`.

    Returns
    -------
    pandas.DataFrame
        As :func:`assess_exports`.

    Raises
    ------
    labforensics.authorisation.register.RegisterError
        When ``register`` is a path to a bad register.
    """
    return assess_with_pairs(ops, events, register=register, patient_index=patient_index,
                             case=case)[0]  # fmt: skip


def assess_with_pairs(
    ops: pd.DataFrame,
    events: pd.DataFrame,
    *,
    register: pd.DataFrame | Any = None,
    patient_index: pd.DataFrame | Any = None,
    case: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """:func:`assess_operations`, and the pairs a cross-lab ticket budget re-reads.

    Parameters
    ----------
    ops, events, register, patient_index, case
        As :func:`assess_operations`.

    Returns
    -------
    exports : pandas.DataFrame
        As :func:`assess_operations`.
    pairs : pandas.DataFrame or None
        The (operation, register row) pairs of the operations with a pair whose row has
        a record limit judged on it (every pair of such an operation), one row per pair
        (operation ``o``: its row in ``exports``; register row ``r``), with every
        per-pair quantity the status and texts are chosen from (among them
        :data:`~labforensics.authorisation.ticket_budget.BUDGET_COLUMNS`); None when
        there is none. :func:`reassess_budget` re-chooses these operations' statuses
        from it with the sums over every lab
        (:func:`~labforensics.authorisation.ticket_budget.global_ticket_sums`).

    Raises
    ------
    labforensics.authorisation.register.RegisterError
        When ``register`` is a path to a bad register.
    """
    tz = getattr(case, "tz", None) or DEFAULT_TZ
    aliases = lab_alias_map(getattr(case, "lab_aliases", None))
    n = len(ops)
    res = _blank(n)
    crossed: list[list[str]] = [[] for _ in range(n)]
    undet: list[list[str]] = [[] for _ in range(n)]
    kept = None
    if register is not None and not isinstance(register, pd.DataFrame):
        register = read_authorisations(register, case)
    if register is not None and n:
        if patient_index is not None and not isinstance(patient_index, pd.DataFrame):
            patient_index = patient_index.people
        kept = _assess(ops, register, patient_index, events, tz, aliases, res, crossed, undet)
    out = pd.concat([ops, res], axis=1)
    out["limits_crossed"] = pd.Series(pd.array(crossed, dtype=STRING_LIST), index=out.index)
    out["undetermined_limits"] = pd.Series(pd.array(undet, dtype=STRING_LIST), index=out.index)
    for c in ("ticket", "nearest_ticket", "kind", "status"):
        out[c] = out[c].astype(STRING)
    return out[list(EXPORT_COLUMNS)].reset_index(drop=True), kept


def _blank(n: int) -> pd.DataFrame:
    """The assessed columns of ``n`` operations before any is assessed (``unknown``)."""
    return pd.DataFrame(
        {
            "eligible_min": pd.array([pd.NA] * n, dtype="Int64"),
            "eligible_max": pd.array([pd.NA] * n, dtype="Int64"),
            "out_of_scope_min": pd.array([pd.NA] * n, dtype="Int64"),
            "ticket": pd.array([pd.NA] * n, dtype=STRING),
            "nearest_ticket": pd.array([pd.NA] * n, dtype=STRING),
            "kind": pd.array([pd.NA] * n, dtype=STRING),
            "status": pd.array(["unknown"] * n, dtype=STRING),
        }
    )


def _assess(
    ops: pd.DataFrame,
    reg: pd.DataFrame,
    index: pd.DataFrame | None,
    events: pd.DataFrame,
    tz: str,
    aliases: dict[str, str],
    res: pd.DataFrame,
    crossed: list[list[str]],
    undet: list[list[str]],
) -> pd.DataFrame | None:
    """Fill ``res``, ``crossed`` and ``undet`` in place (see :func:`assess_exports`);
    the kept pairs (:func:`assess_with_pairs`)."""
    res["status"] = "unregistered"
    reg = reg.reset_index(drop=True)
    pt = _pair_table(ops, reg, index, events, tz, aliases)
    if pt is None:
        return None
    op = evidence_rank(pt["ts"].to_numpy(), pt["lab"].to_numpy(dtype=object), pt["o"].to_numpy())
    cum, cross = ticket_sums(
        op, pt["r"].to_numpy(), pt["ticket"].to_numpy(dtype=object), pt["rec"].to_numpy(),
        pt["mx"].to_numpy(), pt["sum_applies"].to_numpy(), pt["other_cross"].to_numpy(),
        pt["other_undet"].to_numpy(),
    )  # fmt: skip
    _choose(pt, cum, cross, pt["o"].to_numpy(), reg, tz, res, crossed, undet)
    limited = ~np.isnan(pt["mx"].to_numpy()) & pt["sum_applies"].to_numpy()
    if not limited.any():
        return None
    o = pt["o"].to_numpy()
    keep = np.isin(o, unique_sorted(o[limited]))
    kept = pt[keep].reset_index(drop=True)
    kept["cum"] = cum[keep]
    kept["sum_cross"] = cross[keep]
    return kept


def _pair_table(
    ops: pd.DataFrame,
    reg: pd.DataFrame,
    index: pd.DataFrame | None,
    events: pd.DataFrame,
    tz: str,
    aliases: dict[str, str],
) -> pd.DataFrame | None:
    """One row per (operation, register row) pair whose lab and account match: every
    per-pair quantity the status and texts are chosen from (None: no pair)."""
    pr = _pairs(ops, reg, aliases)
    if pr.empty:
        return None
    o, r = pr["o"].to_numpy(), pr["r"].to_numpy()
    ts = ops["ts"].to_numpy(dtype="datetime64[ns]").view("int64")[o]
    start = reg["start"].to_numpy(dtype="datetime64[ns]").view("int64")[r]
    end = reg["end"].to_numpy(dtype="datetime64[ns]").view("int64")[r]
    end_open = reg["end"].isna().to_numpy()[r]
    rec = ops["records"].to_numpy(dtype="float64", na_value=np.nan)[o]
    mx = reg["scope_max_records"].to_numpy(dtype="float64", na_value=np.nan)[r]
    in_win = (ts >= start) & (end_open | (ts <= end))
    win_dist = np.where(ts < start, start - ts, np.where(in_win, 0, ts - end)).astype("float64")
    # per-operation record limit
    rec_cross = ~np.isnan(mx) & ~np.isnan(rec) & (rec > mx)
    rec_undet = ~np.isnan(mx) & np.isnan(rec)
    # destination
    dest = reg["destination"].astype("object").to_numpy()[r]
    files = ops["output_files"].tolist()
    dest_cross = np.zeros(len(pr), dtype=bool)
    dest_undet = np.zeros(len(pr), dtype=bool)
    dest_bad = np.full(len(pr), None, dtype=object)
    for k in np.flatnonzero(pd.notna(dest)):  # pairs with a destination limit
        fl = list(files[o[k]]) if files[o[k]] is not None else []
        ok, bad = _dest_ok(fl, str(dest[k]))
        if ok is None:
            dest_undet[k] = True
        elif not ok:
            dest_cross[k] = True
            dest_bad[k] = ", ".join(bad)
    # scope
    since = reg["scope_patients_since"].reset_index(drop=True)
    lab = ops["lab"].astype("object").to_numpy()[o]
    q = pd.DataFrame({"lab": lab, "since": since.to_numpy()[r], "t": ops["ts"].to_numpy()[o]})
    q["since"] = pd.to_datetime(q["since"], utc=True)
    q["t"] = pd.to_datetime(q["t"], utc=True)
    b = scope_bounds(events, q, patient_index=index, tz=tz)
    emax = b["eligible_max"].to_numpy(dtype="float64", na_value=np.nan)
    has_scope = since.notna().to_numpy()[r]
    unit_patient = (ops["record_unit"].astype("object").to_numpy() == "patient")[o]
    named = ops["patients_named"].to_numpy(dtype="float64")[o]
    scope_n = np.where(unit_patient, rec, np.where(named > 0, named, np.nan))
    oos = scope_n - emax
    scope_cross = has_scope & ~np.isnan(oos) & (oos > 0)
    scope_undet = has_scope & np.isnan(oos)
    return pd.DataFrame(
        {
            "o": o, "r": r, "ts": ts, "lab": lab,
            "ticket": reg["ticket"].astype("object").to_numpy()[r],
            "rec": np.nan_to_num(rec), "rec_raw": rec, "mx": mx, "start": start,
            "in_win": in_win, "win_dist": win_dist, "rec_cross": rec_cross,
            "rec_undet": rec_undet, "dest": dest, "dest_cross": dest_cross,
            "dest_undet": dest_undet, "dest_bad": dest_bad,
            "emin": b["eligible_min"].to_numpy(dtype="float64", na_value=np.nan),
            "emax": emax, "has_scope": has_scope, "unit_patient": unit_patient,
            "scope_n": scope_n, "oos": oos, "scope_cross": scope_cross,
            "scope_undet": scope_undet,
            "sum_applies": in_win & ~rec_cross,
            "other_cross": (~in_win) | rec_cross | dest_cross | scope_cross,
            "other_undet": rec_undet | dest_undet | scope_undet,
        }
    )  # fmt: skip


def _choose(
    pt: pd.DataFrame,
    cum_ser: np.ndarray,
    sum_cross: np.ndarray,
    o: np.ndarray,
    reg: pd.DataFrame,
    tz: str,
    res: pd.DataFrame,
    crossed: list[list[str]],
    undet: list[list[str]],
) -> None:
    """Each operation's best pair, its status and texts, into ``res`` (rows ``o`` of
    the pairs), ``crossed`` and ``undet`` (in place)."""
    r = pt["r"].to_numpy()
    ts, start = pt["ts"].to_numpy(), pt["start"].to_numpy()
    in_win, win_dist = pt["in_win"].to_numpy(), pt["win_dist"].to_numpy()
    rec, mx = pt["rec_raw"].to_numpy(), pt["mx"].to_numpy()
    rec_cross, rec_undet = pt["rec_cross"].to_numpy(), pt["rec_undet"].to_numpy()
    dest, dest_bad = pt["dest"].to_numpy(dtype=object), pt["dest_bad"].to_numpy(dtype=object)
    dest_cross, dest_undet = pt["dest_cross"].to_numpy(), pt["dest_undet"].to_numpy()
    emin, emax, oos = pt["emin"].to_numpy(), pt["emax"].to_numpy(), pt["oos"].to_numpy()
    has_scope, unit_patient = pt["has_scope"].to_numpy(), pt["unit_patient"].to_numpy()
    scope_n = pt["scope_n"].to_numpy()
    scope_cross, scope_undet = pt["scope_cross"].to_numpy(), pt["scope_undet"].to_numpy()
    n_cross = (~in_win).astype(int) + rec_cross + sum_cross + dest_cross + scope_cross
    n_undet = rec_undet.astype(int) + dest_undet + scope_undet
    cls = np.where(n_cross > 0, 2, np.where(n_undet > 0, 1, 0))
    # best pair per operation: authorised first, then undetermined, then fewest crossed,
    # nearest window, register order
    order = pd.DataFrame(
        {"o": o, "cls": cls, "nc": n_cross, "wd": win_dist, "r": r, "k": np.arange(len(pt))}
    ).sort_values(["o", "cls", "nc", "wd", "r"], kind="stable")
    best = order.drop_duplicates("o")
    bo, bk = best["o"].to_numpy(), best["k"].to_numpy()
    bcls = cls[bk]
    status = np.array(["authorised", "undetermined", "beyond"], dtype=object)[bcls]
    res.loc[bo, "status"] = status
    tickets = reg["ticket"].astype("object").to_numpy()
    kinds = reg["kind"].astype("object").to_numpy()
    res.loc[bo, "nearest_ticket"] = tickets[r[bk]]
    res.loc[bo, "kind"] = kinds[r[bk]]
    res.loc[bo[bcls == 0], "ticket"] = tickets[r[bk[bcls == 0]]]
    res.loc[bo, "eligible_min"] = pd.array(
        np.where(np.isnan(emin[bk]), 0, emin[bk]).astype("int64"), dtype="Int64"
    )
    em = pd.array(np.where(np.isnan(emax[bk]), 0, emax[bk]).astype("int64"), dtype="Int64")
    em[np.isnan(emax[bk])] = pd.NA
    res.loc[bo, "eligible_max"] = em
    ov = pd.array(np.where(np.isnan(oos[bk]), 0, np.maximum(oos[bk], 0)).astype("int64"),
                  dtype="Int64")  # fmt: skip
    ov[np.isnan(oos[bk]) | ~has_scope[bk]] = pd.NA
    res.loc[bo, "out_of_scope_min"] = ov
    # the texts, for the operations not authorised (one per operation and limit)
    since_txt = reg["since_text"].astype("object").to_numpy()
    start_txt = reg["start_text"].astype("object").to_numpy()
    end_txt = reg["end_text"].astype("object").to_numpy()
    for oi, k in zip(bo[bcls > 0], bk[bcls > 0], strict=True):
        j = r[k]
        t = tickets[j]
        c, u = crossed[oi], undet[oi]
        if not in_win[k]:
            when = _local(pd.Timestamp(int(ts[k]), tz="UTC"), tz)
            side = "before its start" if ts[k] < start[k] else "after its end"
            window = f"{start_txt[j]} to {end_txt[j] if pd.notna(end_txt[j]) else '(open)'}"
            c.append(
                f"at {when} local, outside the window of ticket {t} ({window}): "
                f"{_span(pd.Timedelta(int(win_dist[k]), 'ns'))} {side}"
            )
        if rec_cross[k]:
            c.append(
                f"{_n(rec[k])} records when ticket {t} allows at most {_n(mx[k])} per operation: "
                f"{_n(rec[k] - mx[k])} over"
            )
        if sum_cross[k]:
            c.append(
                f"{_n(cum_ser[k])} records summed over ticket {t} (the operations it authorised "
                f"before, and this one) when it allows at most {_n(mx[k])}: "
                f"{_n(cum_ser[k] - mx[k])} over"
            )
        if dest_cross[k]:
            c.append(f"output {dest_bad[k]} where ticket {t} allows only {dest[k]}")
        if scope_cross[k]:
            what = "records" if unit_patient[k] else "patients named"
            c.append(
                f"{_n(scope_n[k])} {what} when at most {_n(emax[k])} of the lab's patients had "
                f"activity since {since_txt[j]}, the scope of ticket {t}: at least "
                f"{_n(oos[k])} out of scope"
            )
        if rec_undet[k]:
            u.append(f"no record count in the evidence; ticket {t} allows at most {_n(mx[k])}")
        if dest_undet[k]:
            u.append(f"no output file named; ticket {t} allows only {dest[k]}")
        if scope_undet[k]:
            if np.isnan(scope_n[k]):
                why = "the operation's rows are not patients and its session names none"
            else:
                why = ("no patient index and the logs start after that date: no upper bound "
                       "of the eligible patients")  # fmt: skip
            u.append(f"scope of ticket {t} (patients with activity since {since_txt[j]}): {why}")


def reassess_budget(
    exports: pd.DataFrame,
    pairs: pd.DataFrame,
    sums: pd.DataFrame,
    register: pd.DataFrame,
    case: Any = None,
) -> pd.DataFrame:
    """A lab's exports with its kept operations' statuses re-chosen from other sums.

    Parameters
    ----------
    exports : pandas.DataFrame
        The lab's :func:`assess_with_pairs` table.
    pairs : pandas.DataFrame
        Its kept pairs (:func:`assess_with_pairs`).
    sums : pandas.DataFrame
        Per kept pair, in order: ``cum`` (float64, records) and ``sum_cross`` (bool), the
        ticket sums over every lab
        (:func:`~labforensics.authorisation.ticket_budget.global_ticket_sums`).
    register : pandas.DataFrame
        The register the exports were assessed against.
    case : CaseContext, optional
        ``tz`` (the texts' local times).

    Returns
    -------
    pandas.DataFrame
        A copy of ``exports`` (same columns, dtypes and rows) whose kept operations have
        the status, tickets, bounds and texts chosen with ``sums``.
    """
    tz = getattr(case, "tz", None) or DEFAULT_TZ
    reg = register.reset_index(drop=True)
    rows, local = np.unique(pairs["o"].to_numpy(dtype=np.int64), return_inverse=True)
    m = len(rows)
    res = _blank(m)
    res["status"] = "unregistered"
    crossed: list[list[str]] = [[] for _ in range(m)]
    undet: list[list[str]] = [[] for _ in range(m)]
    _choose(pairs, sums["cum"].to_numpy(dtype="float64"), sums["sum_cross"].to_numpy(dtype=bool),
            local.astype(np.int64), reg, tz, res, crossed, undet)  # fmt: skip
    out = exports.copy()
    for c in res.columns:
        vals = out[c].astype(object).to_numpy().copy()
        vals[rows] = res[c].astype(object).to_numpy()
        out[c] = pd.Series(pd.array(vals, dtype=exports[c].dtype), index=out.index)
    for c, new in (("limits_crossed", crossed), ("undetermined_limits", undet)):
        vals = [list(x) if x is not None else [] for x in out[c].tolist()]
        for i, x in zip(rows, new, strict=True):
            vals[i] = x
        out[c] = pd.Series(pd.array(vals, dtype=STRING_LIST), index=out.index)
    return out
