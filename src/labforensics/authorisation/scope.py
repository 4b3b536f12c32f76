"""Scope bounds: how many of a lab's patients were eligible at time t.

``shared/formats/authorisations.md`` ("The scope, from what the evidence can
prove"): a patient is *eligible at time t* for a scope ``since`` when it had
activity at that lab in ``[since, t)``: an audit event naming it at that lab, or
the patient index's ``DATE_CREATION`` in that period (``DERNIERE_VISITE`` is as of
the index export, after the facts, and is not used).

The logs prove activity only from their first day ``F`` (the start of the local
day of the lab's first event):

* ``eligible_min(t)``: patients whose activity in ``[since, t)`` is proven (events,
  index creation dates);
* ``eligible_max(t)``: when the logs cover the scope (``F <= since``), the same
  figure: every activity in the period is in the logs; otherwise every patient
  registered before ``t`` whose activity cannot be excluded: patients of the index
  created before ``t`` (or with no creation date), and patients the logs name before
  ``t``. Without an index for that lab and with logs starting after ``since``, no
  upper bound exists (missing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._arrays import unique_sorted

__all__ = ["scope_bounds"]

_NEG = np.iinfo(np.int64).min


def _ns(s: pd.Series) -> np.ndarray:
    """UTC instants as int64 ns (NaT -> int64 min)."""
    return (
        pd.to_datetime(s, utc=True)
        .astype("datetime64[ns, UTC]")
        .to_numpy(dtype="datetime64[ns]")
        .view("int64")
    )


def _local_day_floor(ns: int, tz: str) -> int:
    t = pd.Timestamp(ns, tz="UTC").tz_convert(tz).normalize()
    return int(t.tz_convert("UTC").value)


def scope_bounds(
    events: pd.DataFrame,
    queries: pd.DataFrame,
    *,
    patient_index: pd.DataFrame | None = None,
    tz: str,
) -> pd.DataFrame:
    """Lower and upper bounds of the patients eligible for a scope, per query.

    Parameters
    ----------
    events : pandas.DataFrame
        Event table with ``ts`` (UTC), ``lab`` and ``patient`` (pseudonym; missing
        when none).
    queries : pandas.DataFrame
        ``lab`` (string), ``since`` (datetime64[ns, UTC]; NaT = no date limit: activity
        at any time before ``t``) and ``t`` (datetime64[ns, UTC], the operation's
        instant), any number of rows.
    patient_index : pandas.DataFrame, optional
        The labs' patient indexes as read by
        :func:`labforensics.leak.patients.read_patient_index` (``.people``): ``lab``,
        ``record_id`` (the patient's pseudonym, the same key as the events'
        ``patient``) and ``created`` (UTC, start of the local day; NaT when unknown).
    tz : str
        The case's zone (the logs' first *local* day).

    Returns
    -------
    pandas.DataFrame
        Same index as ``queries``; ``eligible_min`` and ``eligible_max`` (Int64,
        patients; ``eligible_max`` missing when no upper bound can be computed) and
        ``logs_cover`` (bool: the lab's logs start on or before ``since``).

    Notes
    -----
    Vectorised: one pass per (lab, distinct ``since``) with ``searchsorted`` over the
    sorted first-activity instants; no loop per event or per query.
    """
    n = len(queries)
    lo = np.zeros(n, dtype="int64")
    hi = np.full(n, -1, dtype="int64")
    cover = np.zeros(n, dtype=bool)
    q_lab = queries["lab"].astype("object").to_numpy()
    q_since = _ns(queries["since"]) if n else np.zeros(0, "int64")
    q_t = _ns(queries["t"]) if n else np.zeros(0, "int64")
    ev_lab = events["lab"].astype("object").to_numpy()
    ev_ts = _ns(events["ts"]) if len(events) else np.zeros(0, "int64")
    has_p = events["patient"].notna().to_numpy(dtype=bool)
    ev_pat = events["patient"].astype("object").to_numpy()
    idx = patient_index
    for lab in pd.unique(q_lab):  # one pass per lab
        qsel = np.flatnonzero(q_lab == lab)
        at_lab = ev_lab == lab
        first_day = _local_day_floor(int(ev_ts[at_lab].min()), tz) if at_lab.any() else None
        sel = at_lab & has_p
        pe = pd.DataFrame({"p": ev_pat[sel], "t": ev_ts[sel]})
        if idx is not None and len(idx):
            il = idx[idx["lab"].astype("object").to_numpy() == lab]
            ix = pd.DataFrame({"p": il["record_id"].astype("object").to_numpy(),
                               "t": _ns(il["created"])})  # fmt: skip
        else:
            ix = None
        have_index = ix is not None and len(ix) > 0
        # registration proxy: earliest of creation date (unknown: -inf) and first event
        if have_index:
            reg = pd.concat([pe, ix]).groupby("p", sort=False)["t"].min().to_numpy()
            reg = np.sort(reg)
        for s in unique_sorted(q_since[qsel]):  # one pass per distinct scope date
            qs = qsel[q_since[qsel] == s]
            parts = [pe[pe["t"] >= s]]
            if have_index:
                parts.append(ix[(ix["t"] >= s) & (ix["t"] != _NEG)])  # NaT proves nothing
            act = pd.concat(parts).groupby("p", sort=False)["t"].min().to_numpy()
            act = np.sort(act)
            lo[qs] = np.searchsorted(act, q_t[qs], side="left")
            covered = first_day is not None and s != _NEG and first_day <= s
            cover[qs] = covered
            if covered:
                hi[qs] = lo[qs]
            elif have_index:
                hi[qs] = np.searchsorted(reg, q_t[qs], side="left")
    out = pd.DataFrame(index=queries.index)
    out["eligible_min"] = pd.array(lo, dtype="Int64")
    out["eligible_max"] = pd.array(np.where(hi >= 0, hi, 0), dtype="Int64")
    out.loc[hi < 0, "eligible_max"] = pd.NA
    out["logs_cover"] = cover
    return out
