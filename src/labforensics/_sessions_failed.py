"""The failed-login rule of :func:`labforensics.sessionize` (issue 14, item 4).

A failed login is counted on the first session (evidence order) of the same lab
and account that starts within ``failed_login_window`` after it, and only when
the two agree, on each point where both sides are known: the account (both
present: a failure without an account counts nowhere), the source address (the
session's first known address) and the service (its first known ``module``:
an FTP failure says nothing about an SSH login). Failures followed by a success
point to guessing only when the same party retries the same service; on the
loghub Linux log, crediting every failure of an account to its next session made
an FTP connection flood with no account the top finding ("success after 5
failed logins" from another address; nothing had succeeded).
"""

from __future__ import annotations

import numpy as np

from ._arrays import unique_sorted

__all__ = ["failed_logins", "first_known"]


def first_known(
    codes: np.ndarray, order: np.ndarray, first: np.ndarray, last: np.ndarray
) -> np.ndarray:
    """Per session: the first non-missing code (``>= 0``) of its block of ``order``, else -1."""
    known = np.flatnonzero(codes[order] >= 0)
    out = np.full(len(first), -1, np.int64)
    if not len(known):
        return out
    i = np.searchsorted(known, first)
    ok = i < len(known)
    ok[ok] = known[i[ok]] <= last[ok]
    out[ok] = codes[order[known[i[ok]]]]
    return out


def _compatible(f_code: np.ndarray, s_code: np.ndarray) -> np.ndarray:
    """Equal where both are known (codes ``>= 0``); a missing side proves nothing."""
    return (f_code < 0) | (s_code < 0) | (f_code == s_code)


def failed_logins(
    fi: np.ndarray,
    fe: np.ndarray,
    start: np.ndarray,
    ts: np.ndarray,
    seq: np.ndarray,
    acct: np.ndarray,
    ip_codes: np.ndarray,
    n_ip: int,
    window_ns: int,
    s_ip: np.ndarray,
    mod_codes: np.ndarray,
    s_mod: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per session: failed logins (rows ``fi``) counted on its start, and their distinct src_ips.

    A failure goes to the first session (evidence order) of the same ``by`` key that
    starts within ``failed_login_window`` after it and agrees with it on source
    address (``s_ip``: the session's first known ``src_ip`` code) and service
    (``s_mod``: its first known ``module`` code) where both sides are known. Rows
    ``fi`` must have an account (the caller drops the others). ``acct``: the by-key
    code of every event; ``ip_codes``: its ``src_ip`` code (-1 missing), ``n_ip``
    distinct; ``window_ns``: ``SessionParams.failed_login_window`` in nanoseconds.
    """
    S = len(fe)
    failed_n = np.zeros(S, np.int64)
    failed_ips = np.zeros(S, np.int64)
    if not (len(fi) and S):
        return failed_n, failed_ips
    F = len(fi)
    # Sessions in (by key, start, seq) order; for each failure, the range [lo, hi) of
    # them of its key starting after it (evidence order) and within the window.
    so = np.lexsort((seq[fe], start, acct[fe]))
    sA, sT, sQ = acct[fe][so], start[so], seq[fe][so]
    fA, fT, fQ = acct[fi], ts[fi], seq[fi]
    is_f = np.r_[np.ones(F, bool), np.zeros(S, bool)]
    # lo: sessions before the failure in (A, T, Q) order (seq is unique: no ties)
    o = np.lexsort((np.r_[fQ, sQ], np.r_[fT, sT], np.r_[fA, sA]))
    before = np.cumsum(~is_f[o]) - ~is_f[o]
    lo = np.empty(F, np.int64)
    lo[o[is_f[o]]] = before[is_f[o]]
    # hi: sessions of (A, T <= failure + window); at equal T a session sorts first
    o = np.lexsort((np.r_[np.ones(F, np.int8), np.zeros(S, np.int8)],
                    np.r_[fT + window_ns, sT], np.r_[fA, sA]))  # fmt: skip
    before = np.cumsum(~is_f[o]) - ~is_f[o]
    hi = np.empty(F, np.int64)
    hi[o[is_f[o]]] = before[is_f[o]]
    n_cand = np.maximum(hi - lo, 0)
    # Candidate (failure, session) pairs, few per failure: the sessions of one
    # account starting within the window after it.
    f_pair = np.repeat(np.arange(F), n_cand)
    step = np.arange(len(f_pair)) - np.repeat(np.cumsum(n_cand) - n_cand, n_cand)
    s_pair = so[lo[f_pair] + step]
    ok = _compatible(ip_codes[fi[f_pair]], s_ip[s_pair])
    ok &= _compatible(mod_codes[fi[f_pair]], s_mod[s_pair])
    f_pair, s_pair = f_pair[ok], s_pair[ok]
    # the first compatible session of each failure (pairs are in session order)
    first_pair = np.r_[True, f_pair[1:] != f_pair[:-1]] if len(f_pair) else np.zeros(0, bool)
    f_row, f_sess = f_pair[first_pair], s_pair[first_pair]
    failed_n = np.bincount(f_sess, minlength=S).astype(np.int64)
    f_ip = ip_codes[fi[f_row]]
    has = f_ip >= 0
    pairs = unique_sorted(f_sess[has] * (n_ip + 1) + f_ip[has])
    failed_ips = np.bincount(pairs // (n_ip + 1), minlength=S).astype(np.int64)
    return failed_n, failed_ips
