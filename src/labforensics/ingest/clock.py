"""Local wall-clock time to UTC, with the fall-back and spring-forward hours.

Sources such as the legacy LIS dialect write local wall-clock time with no
offset. Converting it is exact except around the time-zone's transitions,
found here from :mod:`zoneinfo` (never hard-coded: any zone works, whatever its
rules and whatever the year):

* **fall-back** (the offset decreases, e.g. 03:00 CEST back to 02:00 CET): the
  wall times in ``[T + new offset, T + old offset)`` happen twice. Within one
  file rows are written in the order they happened, so the file's first
  backward step among the rows of that window marks the second pass: rows
  before it are read with the old (first-pass) offset, rows from it on with the
  new one; all are ``ambiguous_resolved``. With no backward step there is
  nothing to tell: the first pass is assumed and the rows are
  ``ambiguous_unresolved``. A row of the file past the repeated hour (03:01 CET)
  shows the change had happened: the rows below it are the second pass, and a
  backward step below it is a row out of order, not the change (QA session 13:
  02:30, 02:50, 02:05, 02:40, 03:01, 02:15). With two backward steps or more (rows
  out of order, or two writers: 02:10, 02:50, 02:20, 02:55, 02:15), one is the
  change: rows before the first are the first pass and rows from the last on the
  second whichever it is (``ambiguous_resolved``); the rows between are not told,
  read as the first pass and ``ambiguous_unresolved``. So ``ambiguous_unresolved``
  always means "read as the first pass". A backward step of at most :data:`CLOCK_SKEW_NS`
  (5 minutes) is not taken for the change: two hosts' clocks may disagree that
  much (the Kerberos default maximum clock skew), so a row stamped 02:10:03 after
  one stamped 02:10:05 by another workstation says nothing of the hour (QA
  session 12: such a 2-second step read as the change moved every later row of
  the hour an hour on, and split two sessions). The clock change's own step is
  60 minutes less the time between the two rows around it; only when an hour
  passed with nearly no row is it within the tolerance, and its rows are then
  read as the first pass, ``ambiguous_unresolved``, as with no step.
* **spring-forward** (the offset increases): wall times in
  ``[T + old offset, T + new offset)`` do not exist; they come from a clock
  not yet switched and are read with the old (pre-transition, winter) offset,
  so 02:30 on 2019-03-31 in Paris is 01:30 UTC: ``nonexistent_shifted``.
* everything else is ``exact``.

Why not ``pandas.Series.dt.tz_localize(zone, ambiguous=..., nonexistent=...)``
alone: it resolves an ambiguous wall time from a per-row flag the caller must
already know (or raises, or gives NaT), and cannot read it from the order the
rows were written in; the transitions and offsets themselves come from
:mod:`zoneinfo`, and the per-row arithmetic is vectorised numpy (the speed is
not the reason for this module, the evidence-order rule is).

**Files written newest first** (some exports are): "first backward step" reads
the file in the order its rows happened. A file's line order is told by
:func:`line_order` (a clear majority of descending steps between consecutive
exact times); a file written newest first is read bottom-up for the fall-back
rule, as :func:`labforensics.read_evidence` reads it for evidence order,
rotation and equal times. :func:`line_order` counts only times outside the
fall-back and spring-forward windows, where local time and UTC are in the same
order: the clock (on local times) and ``read_evidence`` (on UTC) tell the same
order.

All arithmetic is on int64 nanoseconds with :func:`numpy.searchsorted`; the only
Python loop is over the zone's transitions and over the fall-back windows that
actually occur in a file.

References
----------
``shared/formats/lis-audit-csv.md``, "Clock rules for the legacy dialect's local
times"; PEP 495 (``fold``) for the first/second pass vocabulary.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from .._arrays import unique_sorted

#: Backward steps of at most this size in a fall-back hour are not the clock change:
#: the clocks of two writers may disagree that much (MIT Kerberos ``clockskew`` default
#: 300 s, ``krb5.conf(5)``; Microsoft's "Maximum tolerance for computer clock
#: synchronization", default 5 minutes, [MS-GPSB] 2.2.2 ``MaxClockSkew``).
CLOCK_SKEW_NS: int = 300 * 1_000_000_000

__all__ = [
    "CLOCK_SKEW_NS",
    "LINE_ORDERS",
    "QUALITY_CODES",
    "line_order",
    "localize",
    "localize_files",
    "transitions",
]

#: Integer codes returned by :func:`localize`, indexing ``schema.TS_QUALITY``.
QUALITY_CODES = {"exact": 0, "ambiguous_resolved": 1, "ambiguous_unresolved": 2}
QUALITY_CODES["nonexistent_shifted"] = 3

#: Line orders returned by :func:`line_order` (index = code): rows written oldest
#: first; newest first (read in reverse); no clear majority either way, or several
#: rows all at one time (read as written, flagged); fewer than two rows to tell ("").
LINE_ORDERS: tuple[str, ...] = ("oldest_first", "newest_first", "unclear", "")
#: A file is written in one order when its steps that way are at least this many
#: times the steps the other way ("mostly": 2 to 1).
ORDER_MAJORITY = 2

_NS = 1_000_000_000
_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)


def _offset_s(tz: dt.tzinfo, utc_s: int) -> int:
    when = _EPOCH + dt.timedelta(seconds=utc_s)
    off = when.astimezone(tz).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


@lru_cache(maxsize=256)
def transitions(tz: dt.tzinfo, year_from: int, year_to: int) -> tuple[np.ndarray, np.ndarray]:
    """UTC offset changes of ``tz`` between two years (inclusive).

    Found by sampling the offset every 6 hours and bisecting each change to the
    second, so it works for any :class:`zoneinfo.ZoneInfo` (or fixed offset).

    Returns
    -------
    (instants, offsets) : (numpy.ndarray of int64, numpy.ndarray of int64)
        ``instants[k]`` is the k-th transition (UTC seconds since the epoch);
        ``offsets`` has one more element: ``offsets[0]`` is the offset (seconds)
        before the first transition, ``offsets[k + 1]`` the offset after
        transition k.
    """
    start = int((dt.datetime(year_from, 1, 1, tzinfo=_UTC) - _EPOCH).total_seconds()) - 86400
    stop = int((dt.datetime(year_to + 1, 1, 1, tzinfo=_UTC) - _EPOCH).total_seconds()) + 86400
    step = 6 * 3600
    instants: list[int] = []
    offsets = [_offset_s(tz, start)]
    prev_t, prev_off = start, offsets[0]
    for t in range(start + step, stop + step, step):
        off = _offset_s(tz, t)
        if off != prev_off:
            lo, hi = prev_t, t  # offset(lo) == prev_off, offset(hi) != prev_off
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_s(tz, mid) == prev_off:
                    lo = mid
                else:
                    hi = mid
            instants.append(hi)
            offsets.append(off)
        prev_t, prev_off = t, off
    return np.asarray(instants, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


def line_order(
    t: np.ndarray,
    files: np.ndarray | None = None,
    *,
    use: np.ndarray | None = None,
    n_files: int | None = None,
) -> np.ndarray:
    """The order each file's rows are written in: oldest first, newest first, or unclear.

    Between consecutive used rows of one file, a step is ascending (later time),
    descending (earlier) or equal (ignored). With ``a`` ascending and ``d``
    descending steps, a file is ``oldest_first`` when ``a >= 2 d`` and ``a > 0``,
    ``newest_first`` when ``d >= 2 a`` and ``d > 0``, ``unclear`` otherwise (no
    clear majority, or all its rows at one time), and ``""`` with fewer than two
    used rows (nothing to tell, nothing that depends on it).

    Parameters
    ----------
    t : numpy.ndarray of int64, shape (n,)
        Times (nanoseconds; local wall time or UTC: only their order counts), each
        file's rows in line order.
    files : numpy.ndarray of int, shape (n,), optional
        File of each row (codes ``0 .. n_files - 1``); default one file.
    use : numpy.ndarray of bool, shape (n,), optional
        Rows to count (the others are skipped over): the clock passes the times
        outside transition windows, ``read_evidence`` the ``exact`` ones.
    n_files : int, optional
        Number of files (default ``files.max() + 1``).

    Returns
    -------
    numpy.ndarray of int8, shape (n_files,)
        Index into :data:`LINE_ORDERS`.
    """
    t = np.asarray(t, dtype=np.int64)
    f = np.zeros(len(t), dtype=np.int64) if files is None else np.asarray(files, dtype=np.int64)
    if n_files is None:
        n_files = int(f.max()) + 1 if len(f) else 0
    rows = np.arange(len(t)) if use is None else np.flatnonzero(use)
    fr = f[rows]
    if len(fr) > 1 and (fr[1:] < fr[:-1]).any():  # files interleaved: group them, stably
        rows = rows[np.argsort(fr, kind="stable")]
        fr = f[rows]
    tr = t[rows]
    same = fr[1:] == fr[:-1]
    up = np.bincount(fr[1:][same & (tr[1:] > tr[:-1])], minlength=n_files)
    down = np.bincount(fr[1:][same & (tr[1:] < tr[:-1])], minlength=n_files)
    used = np.bincount(fr, minlength=n_files)
    code = np.full(n_files, 2, dtype=np.int8)
    code[(up >= ORDER_MAJORITY * down) & (up > 0)] = 0
    code[(down >= ORDER_MAJORITY * up) & (down > 0)] = 1
    code[used < 2] = 3
    return code


def _resolve_fallback(
    w: np.ndarray,
    utc: np.ndarray,
    q: np.ndarray,
    idx: np.ndarray,
    trans: np.ndarray,
    fid: np.ndarray,
    new: np.ndarray,
    rev: np.ndarray | None = None,
    post: np.ndarray | None = None,
) -> None:
    """The pass of each fall-back row from its file's order (``utc``, ``q`` in place).

    ``idx`` are the rows inside a fall-back window (in file order within each file),
    ``trans`` their transition, ``fid`` their file, ``rev`` whether their file is
    written newest first (its rows are then taken bottom-up), ``post`` the number of
    rows of the same file and transition written after the repeated hour (wall time
    past it) that come before each row in the order the rows happened. Vectorized
    over all groups: a sort by group, then line (or reversed line), orders each group
    as its rows happened; running counts, restarted at each group, tell the pass.

    A *candidate* step is a backward step longer than :data:`CLOCK_SKEW_NS` with no
    row of the hour after the change before it (once such a row was written the
    change had happened: a later step is a row out of order, not the change). With
    ``c`` candidate steps in a group:

    * ``c == 0``: rows before any row of the hour after: first pass, unresolved;
      rows after one: second pass, resolved (written after the change).
    * ``c == 1``: rows before the step first pass, rows from it second, resolved.
    * ``c >= 2``: one of the steps is the change, the others rows out of order. Rows
      before the first step are first pass whichever it is, rows from the last step
      on second pass whichever it is: resolved. The rows between are read as the first
      pass and unresolved: which step was the change is not told.

    So ``ambiguous_unresolved`` rows are always read as the first pass and
    ``ambiguous_resolved`` rows as the pass the file's order proves.
    """
    key = fid.astype(np.int64) * (int(trans.max()) + 1) + trans
    if rev is not None and rev.any():
        order = np.lexsort((np.where(rev, -idx, idx), key))
    else:
        order = np.argsort(key, kind="stable")
    rows = idx[order]
    k = key[order]
    after = np.zeros(len(rows), dtype=bool) if post is None else post[order] > 0
    start = np.ones(len(rows), dtype=bool)
    start[1:] = k[1:] != k[:-1]
    back = np.zeros(len(rows), dtype=np.int64)
    # a step back longer than two hosts' clocks may disagree (CLOCK_SKEW_NS), before
    # any row of the hour after the change (after one, a step is a row out of order)
    back[1:] = (np.diff(w[rows]) < -CLOCK_SKEW_NS) & ~start[1:] & ~after[1:]
    gid = np.cumsum(start) - 1
    first = np.flatnonzero(start)

    def _running(x: np.ndarray) -> np.ndarray:  # count so far within the group
        cum = np.cumsum(x)
        return cum - (cum[first] - x[first])[gid]

    seen = _running(back)  # candidate steps so far (this row's included)
    total = np.add.reduceat(back, first)[gid]  # candidate steps in the group
    second = np.where(total > 0, seen == total, after)  # from the last step (or a post row)
    first_pass = seen == 0
    resolved = first_pass & (total > 0) | second
    q[rows] = np.where(
        resolved, QUALITY_CODES["ambiguous_resolved"], QUALITY_CODES["ambiguous_unresolved"]
    )
    # with one step the rows from it on are the second pass; with more the rows between
    # the first and the last step are read as the first pass (unresolved)
    sec = rows[second]
    utc[sec] = w[sec] - new[trans[order][second]] * _NS


# years 1900-2189: any two instants less than 292 years apart (int64 ns durations)
_MIN_WALL_NS = int(np.datetime64("1900-01-01T00:00:00", "ns").astype(np.int64))
_MAX_WALL_NS = int(np.datetime64("2190-01-01T00:00:00", "ns").astype(np.int64))


def localize_files(
    wall_ns: np.ndarray, tz: dt.tzinfo | str, files: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`localize` for the rows of several files at once.

    Parameters
    ----------
    wall_ns : numpy.ndarray of int64, shape (n,)
        Local wall-clock times (nanoseconds, naive), each file's rows in file order.
    tz : tzinfo or str
    files : numpy.ndarray of int, shape (n,)
        File of each row: the fall-back hour is resolved within each file, as if
        :func:`localize` were called file by file.

    Returns
    -------
    (utc_ns, quality) : as :func:`localize`.
    """
    return localize(wall_ns, tz, files=np.asarray(files))


def _resolve_ambiguous(
    w: np.ndarray,
    utc: np.ndarray,
    q: np.ndarray,
    amb: np.ndarray,
    in_win: np.ndarray,
    kk: np.ndarray,
    new: np.ndarray,
    files: np.ndarray | None,
    ok: np.ndarray,
    k: np.ndarray,
) -> None:
    """The rows ``amb`` in a fall-back hour, resolved per file (``utc``, ``q`` in place);
    a file written newest first is taken bottom-up (see :func:`line_order`)."""
    idx = np.flatnonzero(amb)
    fcodes = np.zeros(len(w), dtype=np.int64)
    if files is not None:
        fcodes = np.asarray(files, dtype=np.int64)[ok]
        if fcodes.min() < 0 or fcodes.max() > len(w):  # not small codes: make them so
            fcodes = np.unique(fcodes, return_inverse=True)[1].astype(np.int64)
    # a file written newest first is taken bottom-up (see line_order)
    rev_file = line_order(w, fcodes, use=~in_win, n_files=int(fcodes.max()) + 1) == 1
    rev = rev_file[fcodes[idx]]
    post = _after_hour_before(idx, kk[idx], fcodes, k, rev)
    _resolve_fallback(w, utc, q, idx, kk[idx], fcodes[idx], new, rev, post)


def _after_hour_before(
    idx: np.ndarray, trans: np.ndarray, fcodes: np.ndarray, k: np.ndarray, rev: np.ndarray
) -> np.ndarray:
    """For each fall-back row ``idx``: the rows of its file whose wall time is past the
    repeated hour of its transition (``k == trans + 1``) that come before it in the
    order the rows happened (above it, or below it in a file written newest first)."""
    n = len(k)
    width = int(k.max()) + 2
    gkey = fcodes[idx] * width + trans
    u = unique_sorted(gkey)
    cand = np.flatnonzero(k >= 1)
    pkey = fcodes[cand] * width + (k[cand] - 1)
    pos = np.searchsorted(u, pkey)
    hit = (pos < len(u)) & (u[np.minimum(pos, len(u) - 1)] == pkey)
    post_rows, post_g = cand[hit], pos[hit]
    comp = np.sort(post_g.astype(np.int64) * (n + 1) + post_rows)
    gi = np.searchsorted(u, gkey).astype(np.int64)
    lo = np.searchsorted(comp, gi * (n + 1))
    above = np.searchsorted(comp, gi * (n + 1) + idx) - lo
    in_group = np.searchsorted(comp, (gi + 1) * (n + 1)) - lo
    return np.where(rev, in_group - above, above)


def localize(
    wall_ns: np.ndarray,
    tz: dt.tzinfo | str,
    *,
    valid: np.ndarray | None = None,
    files: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Convert local wall-clock times of ONE file, in file order, to UTC.

    A file written newest first (:func:`line_order`) has its fall-back hour
    resolved bottom-up; the rows are returned in the order given.

    Parameters
    ----------
    wall_ns : numpy.ndarray of int64, shape (n,)
        Local wall-clock times as nanoseconds since 1970-01-01 00:00 *wall time*
        (naive), in the order the rows appear in the file.
    tz : tzinfo or str
        The zone the clock was set to (the case's time zone).
    valid : numpy.ndarray of bool, shape (n,), optional
        Rows to convert; others are returned as they are with quality ``exact``
        (the caller discards them).
    files : numpy.ndarray of int, shape (n,), optional
        File of each row, when rows of several files are converted together
        (see :func:`localize_files`).

    Returns
    -------
    (utc_ns, quality) : (numpy.ndarray of int64, numpy.ndarray of int8)
        UTC instants (nanoseconds since the epoch) and quality codes
        (:data:`QUALITY_CODES`: 0 exact, 1 ambiguous_resolved,
        2 ambiguous_unresolved, 3 nonexistent_shifted).
    """
    if isinstance(tz, str):
        tz = ZoneInfo(tz)
    wall_ns = np.asarray(wall_ns, dtype=np.int64)
    n = len(wall_ns)
    quality = np.zeros(n, dtype=np.int8)
    if n == 0:
        return wall_ns.copy(), quality
    ok = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    if not ok.any():
        return wall_ns.copy(), quality
    w = wall_ns[ok]
    if int(w.min()) < _MIN_WALL_NS or int(w.max()) >= _MAX_WALL_NS:
        # subtracting an offset near the ends of int64 would wrap round silently
        raise ValueError(
            "localize: wall-clock times must lie in years 1900-2189 (durations between "
            "events are int64 nanoseconds); quarantine the others before converting"
        )
    lo_year = int(np.datetime64(int(w.min()) // _NS, "s").astype("datetime64[Y]").astype(int))
    hi_year = int(np.datetime64(int(w.max()) // _NS, "s").astype("datetime64[Y]").astype(int))
    inst, offs = transitions(tz, 1970 + lo_year, 1970 + hi_year)
    if len(inst) == 0:
        return wall_ns - offs[0] * _NS, quality
    old, new = offs[:-1], offs[1:]
    fall = new < old
    # Wall time at which the old offset stops applying: for a fall-back the old
    # offset covers the whole ambiguous window (first pass by default); for a
    # spring-forward the gap is read with the old offset as well.
    boundary = (inst + np.where(fall, old, new)) * _NS
    k = np.searchsorted(boundary, w, side="right")
    off = offs[k]
    utc = w - off * _NS
    q = np.zeros(len(w), dtype=np.int8)
    # Only the transition just after each row's interval can make it ambiguous or
    # non-existent: the window [inst + min(old,new), inst + max(old,new)).
    kk = np.minimum(k, len(inst) - 1)
    win_lo = (inst[kk] + np.minimum(old[kk], new[kk])) * _NS
    win_hi = (inst[kk] + np.maximum(old[kk], new[kk])) * _NS
    in_win = (k < len(inst)) & (w >= win_lo) & (w < win_hi)
    gap = in_win & ~fall[kk]
    q[gap] = QUALITY_CODES["nonexistent_shifted"]
    amb = in_win & fall[kk]
    if amb.any():
        _resolve_ambiguous(w, utc, q, amb, in_win, kk, new, files, ok, k)
    out_utc = wall_ns.copy()
    out_utc[ok] = utc
    quality[ok] = q
    return out_utc, quality
