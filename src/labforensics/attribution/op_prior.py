"""Which logged operations a proposition ranges over (:mod:`.conclusion`, "one operation
among many"): the same conditioning as ``outside_evidence``'s, and only operations that
could have made the copy.

A logged proposition (``vendor``, ``insider``, ``external``) is the mean of its
operations' likelihoods, each equally likely a priori to be the copy
(:func:`~.conclusion.proposition_loglik`); ``outside_evidence`` is the mean over instants
of its prior range. Two things make that comparison fair (QA session 17, finding 3):

*Symmetric conditioning.* ``outside_evidence``'s range starts at the linkage's horizon:
it is conditioned on the dump's own dates ("the copy is not older than the leaked
rows", :func:`~labforensics.leak.horizon.horizon_m`). A logged proposition is conditioned
on the same fact: its mean is over its operations at or after the horizon
(:func:`candidates`). Otherwise an operation the dates rule out (the row dates cost it
``1 / eps`` a row: :mod:`.op_likelihood`) would still take its share of the prior and
dilute its proposition, while the unlogged copy loses no mass before the horizon: ruling
out early operations would favour ``outside_evidence`` by their number, not by what the
leak shows. Without the horizon (the sensitivity rerun, an identifier list) every
operation up to the sighting counts, and ``outside_evidence`` ranges from the lab's
first known patient, as before.

*Operations that could hold the leak.* The model is one copy per lab. An operation that
can hold fewer patients than the lab's leaked set (its records for a size-only one, the
patients its events name for a known set or an account's consultations) below
``(1 - records_tolerance)`` of it cannot be that copy; its likelihood already says so
(each leaked patient it lacks costs ``ln eps``), but it would still take an equal share of
its proposition's prior: a staff account's screen reads diluted the staff export that
held the whole base (the QA's case: three exports and two consultation sets, LR 5/3 for
the unlogged copy). A proposition ranges over its operations that could hold the leak,
and over all of them only when none could (it then explains at most part of the leak,
and its likelihood says so). The bound is the one that already makes an operation a full
candidate (:class:`~.params.AttributionParams` ``records_tolerance``: records merged or
purged between the copy and the audit); ``outside_evidence`` is a full copy, able to
hold any leak of the lab's patients.

Both choices are stated with the conclusion (``findings.json`` ``per_lab[].operations_weighed``)
and are checked by the calibration (``benchmarks/attribution.py --calibration``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def capacity(ops: pd.DataFrame) -> np.ndarray:
    """The most leaked patients each operation could hold: a size-only operation's
    records, a known set's (or consultations') patients named.

    Parameters
    ----------
    ops : pandas.DataFrame
        The lab's operations (:func:`~.lab_data._operations`): ``kind``, ``records``,
        ``n_set``.

    Returns
    -------
    numpy.ndarray of int64, shape (len(ops),)
    """
    if ops.empty:
        return np.zeros(0, dtype=np.int64)
    cut = ops["kind"].to_numpy() == "cut"
    rec = ops["records"].to_numpy(dtype=np.int64)
    named = ops["n_set"].to_numpy(dtype=np.int64)
    return np.where(cut, rec, np.maximum(named, rec)).astype(np.int64)


def candidates(
    ops: pd.DataFrame,
    idx: np.ndarray,
    horizon_ns: int | None,
    n_leak: int,
    records_tolerance: float,
) -> np.ndarray:
    """The operations a proposition's mean ranges over (module docstring).

    Parameters
    ----------
    ops : pandas.DataFrame
        The lab's operations: ``t_ns`` (int64 ns, UTC), ``kind``, ``records``, ``n_set``.
    idx : numpy.ndarray of int, shape (m,), m >= 1
        Positions in ``ops`` of the proposition's operations.
    horizon_ns : int or None
        The linkage's horizon (ns since the epoch, UTC), None without one.
    n_leak : int
        The lab's leaked patients the evidence knows (the universe's leaked set).
    records_tolerance : float
        In [0, 1): an operation holding at least ``(1 - records_tolerance) n_leak``
        could be the copy.

    Returns
    -------
    numpy.ndarray of int
        A non-empty subset of ``idx``, in its order: those at or after the horizon (all
        when none is), and of them those that could hold the leak (all of them when none
        could).

    Examples
    --------
    >>> ops = pd.DataFrame({"t_ns": [10, 20, 30], "kind": ["cut", "consultations", "cut"],
    ...                     "records": [500, 12, 480], "n_set": [0, 12, 0]})
    >>> candidates(ops, np.array([0, 1, 2]), 15, 490, 0.05).tolist()
    [2]
    >>> candidates(ops, np.array([0, 1, 2]), None, 490, 0.05).tolist()
    [0, 2]
    >>> candidates(ops, np.array([1]), 15, 490, 0.05).tolist()
    [1]
    """
    idx = np.asarray(idx, dtype=np.int64)
    if not idx.size:
        return idx
    if horizon_ns is not None:
        t = ops["t_ns"].to_numpy(dtype=np.int64)[idx]
        after = idx[t >= int(horizon_ns)]
        idx = after if after.size else idx
    cap = capacity(ops)[idx]
    need = (1.0 - float(records_tolerance)) * int(n_leak)
    full = idx[cap >= need]
    return full if full.size else idx


__all__ = ["candidates", "capacity"]
