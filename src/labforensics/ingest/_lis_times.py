"""LIS timestamps: strict fixed-width parsing of the profiles' formats, UTC offsets, range checks.

Part of step 4 of :mod:`labforensics.ingest.readers.lis_csv` (``02/13/2019`` is
quarantined, never read month-first; out-of-range years and impossible offsets are
quarantined with their reason), used by :mod:`labforensics.ingest._lis_convert`.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._lis_structure import _cells
from ._timeformats import _tokens, format_regex, human_format, parse_epoch
from .profiles import TimestampSpec

_NS = 1_000_000_000
_DIM = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


# Timestamps must fit datetime64[ns] (1677-09-21 .. 2262-04-11), and any two of them
# must lie less than 292 years apart, since durations and gaps are int64 nanoseconds in
# every later stage: whole years 1900-2189 are accepted; others are quarantined, never
# wrapped round.
_MIN_S = int(np.datetime64("1900-01-01T00:00:00", "s").astype(np.int64))
_MAX_S = int(np.datetime64("2190-01-01T00:00:00", "s").astype(np.int64))


# UTC offsets: real zones lie within -12:00..+14:00 (ISO 8601 / RFC 3339 practice);
# anything beyond +-14:00, or with minutes >= 60, is impossible.
_MAX_OFFSET_S = 14 * 3600
_BAD_OFFSET = 99 * 3600  # sentinel for an offset whose minutes are >= 60


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    # H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil.
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    mp = np.where(m > 2, m - 3, m + 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _combine(parts: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fields -> (seconds since epoch (wall or UTC), offset seconds, valid)."""
    one = np.ones(n, dtype=np.int64)
    zero = np.zeros(n, dtype=np.int64)
    y = parts.get("Y", 1970 * one)
    m = parts.get("m", one)
    d = parts.get("d", one)
    hh = parts.get("H", zero)
    mm = parts.get("M", zero)
    ss = parts.get("S", zero)
    ok = (m >= 1) & (m <= 12) & (d >= 1) & (hh < 24) & (mm < 60) & (ss < 60)
    mi = np.clip(m, 1, 12) - 1
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    ok &= d <= _DIM[mi] + ((mi == 1) & leap)
    days = _days_from_civil(y, np.clip(m, 1, 12), d)
    secs = days * 86400 + hh * 3600 + mm * 60 + ss
    off = parts.get("z", zero)
    return secs, off, ok


def _parse_width_rows(
    col: pa.Array, good: np.ndarray, toks: list[tuple[str, int, str]], width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seconds, offsets and valid of the rows ``good`` (the template's width), parsed on
    a byte matrix: literal and digit columns checked together, fields column by column."""
    sub = col if good.all() else col.filter(pa.array(good))
    sub = sub.combine_chunks() if isinstance(sub, pa.ChunkedArray) else sub
    bufs = sub.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[sub.offset : sub.offset + len(sub) + 1]
    raw = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    mat = raw.reshape(len(sub), width)
    # digit columns checked together; each field's value built column by column
    digit_cols, lit_cols, lit_vals, fields = [], [], [], []
    pos = 0
    for kind, w, lit in toks:
        if kind == "lit":
            lit_cols.append(pos)
            lit_vals.append(ord(lit))
        elif kind == "z":
            digit_cols += [pos + 1, pos + 2, pos + 4, pos + 5]
            lit_cols.append(pos + 3)
            lit_vals.append(ord(":"))
        else:
            digit_cols += list(range(pos, pos + w))
            fields.append((kind, pos, w))
        pos += w
    ok = (mat[:, lit_cols] == np.asarray(lit_vals, dtype=np.uint8)).all(axis=1)
    ok &= ((mat[:, digit_cols] - np.uint8(48)) <= 9).all(axis=1)  # wraps below '0'
    parts: dict[str, np.ndarray] = {}
    for k, p0, w in fields:  # each field's value, digit by digit (column-wise)
        v = mat[:, p0].astype(np.int64) - 48
        for q in range(p0 + 1, p0 + w):
            v = v * 10 + mat[:, q] - 48
        parts[k] = v
    zpos = next(
        (
            p
            for p, t in zip(np.cumsum([0] + [t[1] for t in toks]), toks, strict=False)
            if t[0] == "z"
        ),
        None,
    )
    if zpos is not None:
        zp = int(zpos)
        sign = mat[:, zp]
        ok &= (sign == 43) | (sign == 45)
        zd = mat[:, [zp + 1, zp + 2, zp + 4, zp + 5]].astype(np.int64) - 48
        zval = (zd[:, 0] * 10 + zd[:, 1]) * 3600 + (zd[:, 2] * 10 + zd[:, 3]) * 60
        zval = np.where(zd[:, 2] * 10 + zd[:, 3] >= 60, _BAD_OFFSET, zval)
        parts["z"] = np.where(sign == 45, -zval, zval)
    s, o, ok2 = _combine(parts, len(sub))
    return s, o, ok & ok2


def _parse_other_rows(
    col: pa.Array,
    rest: np.ndarray,
    fmt: str,
    out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Rows ``rest`` (not the template's width: fractions, ``Z``) by a strict regex, one
    by one, into ``out`` = (secs, offs, frac, valid)."""
    secs, offs, frac, valid = out
    rx = re.compile(format_regex(fmt))
    vals = col.take(pa.array(rest)).to_pylist()
    rows, cols = [], {k: [] for k in "YmdHMSzf"}
    for i, v in zip(rest, vals, strict=True):
        mt = rx.fullmatch(v)
        if not mt:
            continue
        g = mt.groupdict()
        rows.append(i)
        for k in "YmdHMS":
            cols[k].append(int(g[k]) if g.get(k) is not None else -1)
        z = (g.get("z") or "Z").replace(":", "")
        zval = 0 if z == "Z" else int(z[1:3]) * 3600 + int(z[3:5]) * 60
        if z != "Z" and int(z[3:5]) >= 60:
            zval = _BAD_OFFSET
        cols["z"].append(-zval if z[0] == "-" else zval)
        cols["f"].append(int(g["f"].ljust(9, "0")[:9]) if g.get("f") else 0)
    if rows:
        idx = np.asarray(rows, dtype=np.int64)
        parts = {
            k: np.asarray(cols[k], dtype=np.int64)
            for k in "YmdHMSz"
            if k == "z" or cols[k][0] != -1
        }
        s, o, ok2 = _combine(parts, len(idx))
        secs[idx], offs[idx], valid[idx] = s, o, ok2
        frac[idx] = np.asarray(cols["f"], dtype=np.int64)


def _parse_fixed(col: pa.Array, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse a string column strictly with ``fmt``.

    Returns (seconds, offset_seconds, nanosecond fraction, valid), each shape (n,).
    Rows of the template's width are parsed on a byte matrix; the others (rare:
    fractions, ``Z``) by a strict regex, one by one.

    Why our own parser (``benchmarks/dates.py``, 1,000,000 timestamps, CPU s): ours
    0.13 (legacy ``dd/mm/yyyy HH:MM:SS``) and 0.18 (ISO 8601 with offset);
    ``pyarrow.compute.strptime`` 0.05 and 0.06, but it accepts non-padded fields
    (``3/6/2024 8:00:00``) and rolls an impossible date over silently
    (``31/02/2024`` becomes 2 March): evidence would change date without a trace;
    ``pandas.to_datetime(format=...)`` refuses 31/02 but also accepts non-padded
    fields, at 1.34 and 0.20. The faster library is faster by being wrong on
    evidence; the strict width, the per-row reason and the 1900-2189 range stay here.
    """
    if pa.types.is_large_string(col.type):  # the byte matrix reads 32-bit offsets
        col = col.cast(pa.string())
    n = len(col)
    toks = _tokens(fmt)
    width = sum(t[1] for t in toks)
    secs = np.zeros(n, dtype=np.int64)
    offs = np.zeros(n, dtype=np.int64)
    frac = np.zeros(n, dtype=np.int64)
    valid = np.zeros(n, dtype=bool)
    if n == 0:
        return secs, offs, frac, valid
    lengths = pc.binary_length(col).fill_null(-1).to_numpy().astype(np.int64, copy=False)
    good = lengths == width
    if good.any():
        s, o, ok = _parse_width_rows(col, good, toks, width)
        gi = np.flatnonzero(good)
        secs[gi], offs[gi], valid[gi] = s, o, ok
    rest = np.flatnonzero(~good & (lengths >= 0))
    if len(rest):
        _parse_other_rows(col, rest, fmt, (secs, offs, frac, valid))
    return secs, offs, frac, valid


def _times_one_column(
    table: pa.Table, spec: TimestampSpec, reasons: dict[int, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Seconds, offsets, nanoseconds, valid and has-offset of a one-column timestamp."""
    tcol = table.column(spec.column)
    if spec.epoch_unit:  # epoch time in an explicit unit (profile format "epoch_ms" ...)
        secs, offs, frac, ok = parse_epoch(tcol, spec.format)
    else:
        secs, offs, frac, ok = _parse_fixed(tcol, spec.format)
    has_off = spec.has_offset
    # values quoted in reasons are capped (_cells): a field can be megabytes long
    idx = np.flatnonzero(~ok)
    for i, v in zip(idx.tolist(), _cells(tcol, idx), strict=True):
        reasons[i] = (
            f"unparseable timestamp {v!r} (expected {human_format(spec.format)})"
            if v is not None
            else f"missing timestamp (expected {human_format(spec.format)})"
        )
    bad_off = ok & (np.abs(offs) > _MAX_OFFSET_S)
    idx = np.flatnonzero(bad_off)
    for i, v in zip(idx.tolist(), _cells(tcol, idx), strict=True):
        reasons[i] = (
            f"impossible UTC offset in {v!r} (offsets lie within -14:00..+14:00, minutes below 60)"
        )
    ok &= ~bad_off
    return secs, offs, frac, ok, has_off


def _times_two_columns(
    table: pa.Table, spec: TimestampSpec, reasons: dict[int, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Seconds, offsets (zero), nanoseconds, valid and has-offset of a date and a time column."""
    n = table.num_rows
    dcol = table.column(spec.date_column)
    tcol = table.column(spec.time_column)
    dsecs, _, _, dok = _parse_fixed(dcol, spec.date_format)
    tsecs, _, tfrac, tok = _parse_fixed(tcol, spec.time_format)
    secs = dsecs + tsecs
    offs = np.zeros(n, dtype=np.int64)
    frac = tfrac
    ok = dok & tok
    has_off = False
    idx = np.flatnonzero(~dok)
    for i, v in zip(idx.tolist(), _cells(dcol, idx), strict=True):
        reasons[i] = (
            f"unparseable date {v!r} (expected {human_format(spec.date_format)})"
            if v is not None
            else f"missing date (expected {human_format(spec.date_format)})"
        )
    idx = np.flatnonzero(dok & ~tok)
    for i, v in zip(idx.tolist(), _cells(tcol, idx), strict=True):
        reasons[i] = (
            f"unparseable time {v!r} (expected {human_format(spec.time_format)})"
            if v is not None
            else f"missing time (expected {human_format(spec.time_format)})"
        )
    return secs, offs, frac, ok, has_off


def _times(
    table: pa.Table, spec: TimestampSpec, reasons: dict[int, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Parse the rows' timestamps (local seconds, UTC offset seconds, nanoseconds).

    Returns ``secs``, ``offs``, ``frac`` (int64), ``ok`` (bool) and whether the
    timestamps carry their offset; the reason of each row not ``ok`` goes to ``reasons``.
    """
    if spec.column is not None:
        secs, offs, frac, ok, has_off = _times_one_column(table, spec, reasons)
        tcol = table.column(spec.column)
        ts_text = tcol
    else:
        secs, offs, frac, ok, has_off = _times_two_columns(table, spec, reasons)
        dcol = table.column(spec.date_column)
        tcol = table.column(spec.time_column)
        ts_text = None
    # out of datetime64[ns] range: quarantined, never wrapped round (9999 read as 1816)
    oor = ok & ((secs < _MIN_S) | (secs >= _MAX_S))
    idx = np.flatnonzero(oor)
    oor_text = (
        _cells(tcol, idx)
        if ts_text is not None
        else [f"{d} {t}" for d, t in zip(_cells(dcol, idx), _cells(tcol, idx), strict=True)]
    )
    for i, v in zip(idx.tolist(), oor_text, strict=True):
        reasons[i] = (
            f"timestamp out of range {v!r}: years 1900-2189 only "
            "(durations between events are int64 nanoseconds: at most 292 years)"
        )
    ok &= ~oor
    return secs, offs, frac, ok, has_off
