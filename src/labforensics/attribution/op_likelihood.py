"""The logged operations' likelihoods (:mod:`.conclusion`), and the leak's row dates as a
bound on them (:mod:`.likelihood`, "row dates").

A copy cannot hold a sample taken after it: a leaked patient whose newest linked row
is dated day ``D`` (the start of that local day, clipped to the lab's horizon:
:func:`~labforensics.leak.horizon.leak_rows_from_links`) can only have been produced
by an operation at or after the start of ``D``. The same reading of the dump's own
dates as the horizon's, applied patient by patient to the logged operations: a
size-only cut takes such a patient as known at ``max(known_at, row date)``
(:func:`row_date_universe`), a set operation does not produce it when its time (an
export's) or its last read of it (an account's consultations) is before that date
(:func:`~.lab_data.prepare`, columns ``n_set_rows``, ``n11_rows``): it counts as a
leaked patient outside the operation's set (the mismatch allowance ``eps``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .likelihood import set_loglik, zone

#: ``row_ns`` of a patient with no dated row (not leaked, or its rows carry no date).
NO_ROW_DATE = np.iinfo(np.int64).min


def row_date_universe(
    known_ns: np.ndarray, leaked: np.ndarray, row_ns: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The universe as the logged operations see it: each leaked patient known at the
    later of its ``known_at`` and its row date (module docstring), re-sorted.

    Parameters
    ----------
    known_ns : numpy.ndarray of int64, shape (n,)
        ``known_at`` sorted ascending (ns since the epoch, UTC).
    leaked : numpy.ndarray of bool, shape (n,)
        Leaked flags, aligned.
    row_ns : numpy.ndarray of int64, shape (n,), or None
        The leaked patients' row dates, aligned (:data:`NO_ROW_DATE`: none); None:
        no row dates, the universe unchanged.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``known_ns`` and ``leaked`` after the move, re-sorted together (stable: the
        patients not moved keep their order).
    """
    if row_ns is None or not len(known_ns):
        return known_ns, leaked
    moved = np.where(leaked, np.maximum(known_ns, row_ns), known_ns)
    if not (moved != known_ns).any():
        return known_ns, leaked
    order = np.argsort(moved, kind="stable")
    return moved[order], leaked[order]


def _op_loglik(
    ops: pd.DataFrame,
    known_ns: np.ndarray,
    cum: np.ndarray,
    n_leak: int,
    n_uni: int,
    eps: float,
    tol: float,
    dated: bool,
    lag_ns: int = 0,
    leaked: np.ndarray | None = None,
    k_cens: int = 0,
    row_bound: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood and producible count of each operation; a size-only operation
    at ``t`` is weighed at its best cut in ``[t - lag_ns, t]`` (:mod:`.conclusion`).
    Without registration dates, the outside of a cut is isotonic
    (:func:`~.likelihood.suffix_isotonic_loglik` on ``leaked``, in ``known_at`` order),
    and the leaked patients among the first ``k_cens`` (first seen within the
    censoring period) are producible by a cut before them (:mod:`.likelihood`,
    "left-censoring"). With ``row_bound``, a set operation's counts are those under the
    leak's row dates (``n_set_rows``, ``n11_rows`` when ``ops`` has them; module
    docstring); a cut's come from ``known_ns``, which the caller has moved
    (:func:`row_date_universe`)."""
    if ops.empty:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    kc = 0 if dated or leaked is None else int(k_cens)

    def zn(kk: np.ndarray, cap: np.ndarray) -> dict[str, np.ndarray]:
        # the censored zone of cuts kk (likelihood module, "left-censoring")
        a, b, c = zone(leaked if leaked is not None else np.zeros(0, bool), cum, kk, cap, eps, kc)
        return {"zone_n": a, "zone_n11": b, "zone_ll": c}

    t = ops["t_ns"].to_numpy(dtype=np.int64)
    k = np.searchsorted(known_ns, t, side="right")
    k_lo = np.searchsorted(known_ns, t - lag_ns, side="right")
    cut = ops["kind"].to_numpy() == "cut"
    rec = ops["records"].to_numpy(dtype=float)
    # one pass per size-only operation with patients known within its lag (a few dozen)
    for i in np.flatnonzero(cut & (k_lo < k)):
        ks = np.arange(k_lo[i], k[i] + 1)
        cap = rec[i] / np.maximum((1.0 - tol) * np.maximum(ks, 1), 1e-9)
        v = np.round(set_loglik(cum[ks], ks, n_leak, n_uni, eps, cap, free_outside=not dated,
                                **zn(ks, cap)), 9)  # fmt: skip
        k[i] = ks[len(v) - 1 - int(np.argmax(v[::-1]))]  # the latest of the best cuts
    rows = row_bound and {"n_set_rows", "n11_rows"} <= set(ops.columns)
    n_set = np.where(cut, k, ops["n_set_rows" if rows else "n_set"].to_numpy())
    n11 = np.where(cut, cum[k], ops["n11_rows" if rows else "n11"].to_numpy())
    capacity = np.where(cut, rec / np.maximum((1.0 - tol) * np.maximum(n_set, 1), 1e-9), 1.0)
    free = cut & (not dated)
    ll = set_loglik(n11, n_set, n_leak, n_uni, eps, capacity, free_outside=free,
                    **zn(k, capacity))  # fmt: skip
    # a leaked patient first seen within the censoring period may have existed at t: a
    # full or size-only operation there could have produced it
    held = np.where(free, cum[np.maximum(k, kc)], n11)
    prod = np.minimum(held, np.where(cut, rec, held)).astype(np.int64)
    return ll, prod


__all__ = ["NO_ROW_DATE", "row_date_universe"]
