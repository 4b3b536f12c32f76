"""Numba kernels for :mod:`labforensics.sessions` (the truly sequential passes).

Every kernel runs once over arrays already sorted by the caller; none allocates
per event beyond its output arrays. Compiled on first use and cached on disk
(``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# End-reason codes, in the order of ``schema.END_REASONS`` (plus the internal
# ``GROUP_END``: the group's events ran out; resolved by the caller).
LOGOUT = 0
IDLE_TIMEOUT = 1
MAX_DURATION = 2
NEXT_LOGIN = 3
APP_SESSION_CHANGE = 4
END_OF_DATA = 5
GROUP_END = 100


@njit(cache=True)
def split_sessions(
    order, acct, key, t, is_app, act, login, logout, idle_ns, max_ns
):  # pragma: no cover
    """Mark session starts in one pass over events in (account, key, ts, seq) order.

    Parameters
    ----------
    order : int64[m]
        Event rows in (account, key, ts, seq) order (failed logins left out).
    acct, key : int64[n]
        Account code and session-key code per event row; a new (acct, key) is a new group.
    t : int64[n]
        UTC instants in ns.
    is_app : bool[n]
        The event carries an application session id.
    act : int8[n]
        Action code per event; ``login`` and ``logout`` are the codes of those actions.
    idle_ns, max_ns : int64
        Idle timeout and maximum duration in ns.

    Returns
    -------
    start : bool[m]
        True at the first sorted position of each session.
    end_code : int8[m]
        At the last position of each session its end-reason code, else -1.
    """
    m = order.shape[0]
    start = np.zeros(m, np.bool_)
    end_code = np.full(m, -1, np.int8)
    cur_start = np.int64(0)
    prev = -1
    for i in range(m):
        r = order[i]
        if i == 0 or acct[r] != acct[prev] or key[r] != key[prev]:
            if i > 0:
                end_code[i - 1] = LOGOUT if act[prev] == logout else GROUP_END
            start[i] = True
            cur_start = t[r]
            prev = r
            continue
        reason = -1
        if act[prev] == logout:
            reason = LOGOUT
        elif (not is_app[r]) and t[r] - t[prev] > idle_ns:
            reason = IDLE_TIMEOUT
        elif t[r] - cur_start > max_ns:
            reason = MAX_DURATION
        elif act[r] == login:
            reason = NEXT_LOGIN
        if reason >= 0:
            end_code[i - 1] = reason
            start[i] = True
            cur_start = t[r]
        prev = r
    if m > 0:
        end_code[m - 1] = LOGOUT if act[prev] == logout else GROUP_END
    return start, end_code


@njit(cache=True)
def block_sums(
    first_pos, last_pos, order, act, records, nbytes, n_act, export, extract
):  # pragma: no cover
    """Per-session action counts, records exported/extracted and bytes written.

    Returns ``counts`` int64[S, n_act], ``records_exported``, ``records_extracted``,
    ``bytes_out`` int64[S] (missing values given as 0).
    """
    S = first_pos.shape[0]
    counts = np.zeros((S, n_act), np.int64)
    rexp = np.zeros(S, np.int64)
    rext = np.zeros(S, np.int64)
    bout = np.zeros(S, np.int64)
    for s in range(S):
        for i in range(first_pos[s], last_pos[s] + 1):
            r = order[i]
            a = act[r]
            counts[s, a] += 1
            if a == export:
                rexp[s] += records[r]
            elif a == extract:
                rext[s] += records[r]
            bout[s] += nbytes[r]
    return counts, rexp, rext, bout


@njit(cache=True)
def distinct_pairs(first_pos, last_pos, order, codes, n_codes):  # pragma: no cover
    """Distinct non-negative codes of each session, in first-seen order.

    Parameters
    ----------
    first_pos, last_pos : int64[S]
        Inclusive bounds of each session in ``order``.
    order : int64[m]
        Event rows, sessions contiguous.
    codes : int64[n]
        Code per event row, -1 for missing, else in ``[0, n_codes)``.

    Returns
    -------
    counts : int64[S]
        Number of distinct codes per session.
    pair_block, pair_code : int64[D]
        The distinct (session, code) pairs, grouped by session.
    """
    S = first_pos.shape[0]
    last_seen = np.full(max(n_codes, 1), -1, np.int64)
    counts = np.zeros(S, np.int64)
    pair_block = np.empty(order.shape[0], np.int64)
    pair_code = np.empty(order.shape[0], np.int64)
    d = 0
    for s in range(S):
        for i in range(first_pos[s], last_pos[s] + 1):
            c = codes[order[i]]
            if c >= 0 and last_seen[c] != s:
                last_seen[c] = s
                counts[s] += 1
                pair_block[d] = s
                pair_code[d] = c
                d += 1
    return counts, pair_block[:d], pair_code[:d]


@njit(cache=True)
def block_mode(first_pos, last_pos, order, codes, n_codes):  # pragma: no cover
    """Most frequent non-negative code per session; ties go to the earliest seen.

    Returns int64[S], -1 where a session has no non-missing code.
    """
    S = first_pos.shape[0]
    cnt = np.zeros(max(n_codes, 1), np.int64)
    out = np.full(S, -1, np.int64)
    for s in range(S):
        best = -1
        best_n = 0
        for i in range(first_pos[s], last_pos[s] + 1):
            c = codes[order[i]]
            if c >= 0:
                cnt[c] += 1
        for i in range(first_pos[s], last_pos[s] + 1):
            c = codes[order[i]]
            if c >= 0 and cnt[c] > best_n:  # strict: the earliest of equal counts wins
                best_n = cnt[c]
                best = c
        for i in range(first_pos[s], last_pos[s] + 1):
            c = codes[order[i]]
            if c >= 0:
                cnt[c] = 0
        out[s] = best
    return out


@njit(cache=True)
def count_overlaps(block_start, start, end):  # pragma: no cover
    """Other sessions of the same account whose closed intervals overlap.

    Parameters
    ----------
    block_start : int64[B + 1]
        Offsets of each account's block of sessions (contiguous), last = S.
    start, end : int64[S]
        Session bounds in ns.

    Returns
    -------
    int64[S]
        For session i: #{j != i in its block : start_j <= end_i and end_j >= start_i}.
    """
    S = start.shape[0]
    out = np.zeros(S, np.int64)
    for b in range(block_start.shape[0] - 1):
        lo = block_start[b]
        hi = block_start[b + 1]
        if hi - lo < 2:
            continue
        ss = np.sort(start[lo:hi])
        ee = np.sort(end[lo:hi])
        for i in range(lo, hi):
            began_before_end = np.searchsorted(ss, end[i], side="right")
            ended_before_start = np.searchsorted(ee, start[i], side="left")
            out[i] = began_before_end - ended_before_start - 1
    return out


@njit(cache=True)
def fnv1a64(offsets, data):  # pragma: no cover
    """FNV-1a 64-bit hash of each string of an Arrow (large_)string array.

    ``offsets`` (int64[k + 1]) and ``data`` (uint8) are the array's buffers.
    FNV-1a is a fixed, documented function, so ids never change with library
    versions.
    """
    k = offsets.shape[0] - 1
    out = np.empty(k, np.uint64)
    prime = np.uint64(1099511628211)
    for j in range(k):
        h = np.uint64(14695981039346656037)
        for p in range(offsets[j], offsets[j + 1]):
            h = (h ^ np.uint64(data[p])) * prime
        out[j] = h
    return out


@njit(cache=True)
def mix64(h, x):  # pragma: no cover
    """Fold ``x`` into ``h`` element-wise with the splitmix64 finalizer."""
    out = np.empty(h.shape[0], np.uint64)
    for i in range(h.shape[0]):
        z = h[i] ^ (x[i] + np.uint64(0x9E3779B97F4A7C15) + (h[i] << np.uint64(6)))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out[i] = z ^ (z >> np.uint64(31))
    return out


@njit(cache=True)
def counting_sort(idx, keys, n_keys):  # pragma: no cover
    """Stable counting sort of the rows ``idx`` by ``keys[idx]`` (keys in ``[0, n_keys)``).

    O(len(idx) + n_keys); the order of rows with equal keys is kept, so two passes
    (least significant key first) sort by a pair of keys.
    """
    pos = np.zeros(n_keys + 1, np.int64)
    for j in range(idx.shape[0]):
        pos[keys[idx[j]] + 1] += 1
    for k in range(n_keys):
        pos[k + 1] += pos[k]
    out = np.empty_like(idx)
    for j in range(idx.shape[0]):
        k = keys[idx[j]]
        out[pos[k]] = idx[j]
        pos[k] += 1
    return out


@njit(cache=True)
def distinct_hashes(first_pos, last_pos, order, h, valid):  # pragma: no cover
    """Number of distinct 64-bit hashes among the valid event rows of each session.

    Small sessions (the usual case) compare pairwise without allocating; sessions of
    more than 32 valid rows sort a copy.
    """
    S = first_pos.shape[0]
    out = np.zeros(S, np.int64)
    buf = np.empty(order.shape[0], np.uint64)
    for s in range(S):
        k = 0
        d = 0
        for i in range(first_pos[s], last_pos[s] + 1):
            r = order[i]
            if valid[r]:
                x = h[r]
                if k <= 32:
                    new = True
                    for j in range(k):
                        if buf[j] == x:
                            new = False
                            break
                    if new:
                        d += 1
                buf[k] = x
                k += 1
        if k > 33:  # too many for pairwise: count on a sorted copy
            b = np.sort(buf[:k])
            d = 1
            for j in range(1, k):
                if b[j] != b[j - 1]:
                    d += 1
        out[s] = d
    return out
