"""An account's large exports: its first bulk one, its earlier exports' size, and its
exports holding the lab's whole known patient population.

``first_outbound`` (:mod:`labforensics.features.habits`) marks an account's first
export of any size, so a small first export (20 records) hid a large second one (5,000
records, QA session 16): the baselines need past exports, and the first-export rule saw
only the small one. These features describe an account's exports by size, whatever
smaller ones came before:

``after_warmup``
    1 for a session starting at least ``FeatureParams.warmup`` (14 days) after the
    first instant of its lab's evidence: before that, what an account did lies partly
    before the logs, and the patients the logs name are a floor of the lab's population,
    not its size.
``first_bulk_outbound``
    1 for the account's first session sending out at least
    :data:`~labforensics.thresholds.BULK_EXPORT_RECORDS` (500) records (export or
    extraction) in the evidence, when it starts after the warm-up (an earlier bulk export
    may predate the logs otherwise, as for ``first_outbound``).
``bulk_above_warmup``
    1 for the account's first session after the warm-up sending out at least 500
    records and at least :data:`ABOVE_WARMUP_FACTOR` (2) times the most any earlier
    session of the account sent out (``records_out >= 2 * records_out_before_max``),
    when the account's first export of 500 or more lies in the warm-up (so
    ``first_bulk_outbound`` is 0 for all its sessions). The warm-up keeps a first bulk
    export that may repeat one before the logs from being called a first; an export
    that takes out at least as many records again as the largest the account was seen
    to take is not a repeat of what the logs show (left by session 17: 900 records on
    day 4, 5,000 on day 60 fired nothing). "Twice" is our choice, a round factor not
    fitted to any data: a periodic export (yearly statistics, monthly billing) grows
    with the lab, by a fraction of its size a year, not by its whole size (a first form,
    "larger than any before", fired on the second year of two labs' yearly statistics
    exports in the 6-lab benchmark: 2,384 then 2,429 records, 2,246 then 2,686).
    Never 1 on the same account as ``first_bulk_outbound``.
``n_bulk_outbound_account``
    The account's sessions sending out at least 500 records over the whole evidence (a
    procedure repeats: more than two is a series).
``records_out_before_max``
    The most records any earlier session of the account sent out in the evidence (0
    when none did): what "its earlier exports held at most N" says in a reason.
``first_whole_base_outbound``
    1 for a session sending out at least as many records as the lab's patients known at
    its end (``records_out_share_lab_raw >= 1``, the denominator floored at
    ``FeatureParams.min_lab_patients``) when no earlier session of the account sent out
    as many (``records_out_before_max`` below that denominator): the first time the
    account takes out a volume of the lab's whole known base. A repeat of such a volume
    (a yearly statistics run's second year, the second run of a billing export) is the
    account's known work.
``n_whole_base_outbound_account``
    The account's sessions sending out at least as many records as the lab's patients
    known at the end of the session (``records_out_share_lab_raw >= 1``, the
    denominator floored at ``FeatureParams.min_lab_patients``) over the whole evidence: a
    routine export covering every patient (billing, a backup by hand) repeats.

Every feature is per account (the lab's first instant and patients to date come from
the lab-wide pass in an account batch), so an account batch gives the whole lab's
values. Sessions are ordered by start, then by their position (a tie keeps the input
order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..thresholds import BULK_EXPORT_RECORDS

__all__ = ["ABOVE_WARMUP_FACTOR", "BULK_FEATURES", "bulk_outbound"]

#: ``bulk_above_warmup``: the export takes out at least this many times the most the
#: account took out before (our choice, see the module doc).
ABOVE_WARMUP_FACTOR: float = 2.0

#: Columns :func:`bulk_outbound` returns, in order.
BULK_FEATURES: tuple[str, ...] = (
    "after_warmup",
    "first_bulk_outbound",
    "bulk_above_warmup",
    "n_bulk_outbound_account",
    "records_out_before_max",
    "first_whole_base_outbound",
    "n_whole_base_outbound_account",
)


def bulk_outbound(
    acct: np.ndarray,
    start: pd.Series,
    records_out: pd.Series,
    lab_den: np.ndarray,
    lab_t0: np.ndarray,
    warmup_ns: int,
) -> dict[str, np.ndarray]:
    """The account's bulk and whole-base exports per session (see the module doc).

    Parameters
    ----------
    acct : numpy.ndarray of int, shape (n_sessions,)
        (lab, account) code of each session (negative: no account; such a session gets
        0 everywhere but ``after_warmup``).
    start : pandas.Series of datetime64 UTC, shape (n_sessions,)
    records_out : pandas.Series of float64, shape (n_sessions,)
        Records exported or extracted by the session.
    lab_den : numpy.ndarray of float64, shape (n_sessions,)
        The lab's patients known at the end of the session, floored at
        ``FeatureParams.min_lab_patients``: the denominator of ``records_out_share_lab``.
    lab_t0 : numpy.ndarray of int64, shape (n_sessions,)
        First instant of the session's lab evidence (ns since the epoch).
    warmup_ns : int
        Warm-up in ns (``FeatureParams.warmup``).

    Returns
    -------
    dict of str to numpy.ndarray of float64, shape (n_sessions,)
        The columns of :data:`BULK_FEATURES`.
    """
    n = len(acct)
    rec = np.nan_to_num(records_out.to_numpy(dtype="float64"), nan=0.0)
    t = start.to_numpy(dtype="datetime64[ns]").view("int64")
    after = (t >= lab_t0 + warmup_ns).astype("float64")
    out = {c: np.zeros(n) for c in BULK_FEATURES}
    out["after_warmup"] = after
    has = acct >= 0
    if not has.any():
        return out
    den = np.asarray(lab_den, dtype="float64")
    bulk = has & (rec >= BULK_EXPORT_RECORDS)
    whole = has & (rec > 0) & (rec >= den)
    by_acct = pd.Series(np.where(has, acct, -1))
    out["n_bulk_outbound_account"] = np.where(
        has, pd.Series(bulk.astype("float64")).groupby(by_acct).transform("sum"), 0.0
    )
    out["n_whole_base_outbound_account"] = np.where(
        has, pd.Series(whole.astype("float64")).groupby(by_acct).transform("sum"), 0.0
    )
    # the account's sessions in time order: the most records of the earlier ones, and
    # the first bulk one
    d = pd.DataFrame({"a": acct[has], "t": t[has], "i": np.flatnonzero(has), "r": rec[has]})
    d = d.sort_values(["a", "t", "i"], kind="stable")
    g = d.groupby("a", sort=False)["r"]
    before = g.cummax().groupby(d["a"], sort=False).shift(1).fillna(0.0)
    out["records_out_before_max"][d["i"].to_numpy()] = before.to_numpy(dtype="float64")
    lead = d[d["r"] >= BULK_EXPORT_RECORDS].drop_duplicates("a")["i"].to_numpy()
    out["first_bulk_outbound"][lead] = after[lead]
    # the first bulk export lies in the warm-up: the first one after it that takes out at
    # least twice the most any earlier export of the account did (the warm-up's included)
    d["b"] = before.to_numpy(dtype="float64")
    warm_lead = lead[after[lead] == 0]
    later = d[
        d["a"].isin(acct[warm_lead])
        & (d["r"] >= BULK_EXPORT_RECORDS)
        & (d["r"] >= ABOVE_WARMUP_FACTOR * d["b"])
        & (after[d["i"].to_numpy()] == 1)
    ]
    out["bulk_above_warmup"][later.drop_duplicates("a")["i"].to_numpy()] = 1.0
    first_whole = whole & (out["records_out_before_max"] < den)
    out["first_whole_base_outbound"] = first_whole.astype("float64")
    return out
