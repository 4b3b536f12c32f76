"""Dedalus-style LIS audit exports (CSV), driven by declarative profiles.

Registers the readers ``lis_legacy`` and ``lis_current`` (the built-in
profiles of :mod:`labforensics.ingest.profiles`, contract
``shared/formats/lis-audit-csv.md``) and ``lis_profile`` (a user profile forced
with ``read_evidence(profile=...)``; it never sniffs).

How files are read
------------------
Files of one profile are read in batches (:func:`read_lis_many`; one file is a
batch of one): every fixed cost is paid once per batch, not once per file.

0. **NUL bytes** are read as spaces, each (record, field) reported as a field
   problem ``<column>: NUL byte replaced by space`` (the event is kept). They are
   located as runs (one int64 per run, not per byte): a crashed writer can leave
   hundreds of megabytes of them.
   **Line ends**: a file whose head (64 KiB) has CR but no LF (old Mac style)
   has each CR read as a line end (physical lines numbered per CR).
   **Transcoding**: each file's bytes become UTF-8 (``cp1252`` decoded, invalid
   bytes U+FFFD), BOM dropped, a line end added after a last line without one
   (remembered: that record was cut short); the files are laid end to end.
1. **Record structure on raw bytes** (numba, numpy). ``;``, ``"`` and ``\\n`` are
   ASCII, so quote parity is counted on bytes: a physical line with an odd
   number of quote bytes opens (or closes) a quoted field. Only those rare lines
   are walked in Python: a quoted field that runs to the end of its file, or
   past a line that starts like a new row (:meth:`Profile.row_start_regex`), is
   cut there and its row quarantined; reading resumes on that line. Repeated
   header lines are counted, never read as data.
2. **Width and quoting** (numba, :mod:`labforensics.ingest._lis_kernels`): one
   pass counts each record's fields under the CSV rules shared by Python's
   :mod:`csv` and pyarrow (a quote opens a quoted field only at a field's start;
   elsewhere it is a literal character, so ``a"b;c"d`` is two fields). A row of
   the wrong width, one that ends inside quotes, or one with a line break outside
   quotes (lines joined by an odd quote count from a literal quote, a lone CR) is
   quarantined with its line. After a gzip cut, the partial bytes after the last
   line end are always quarantined, whatever their width (the last field may be
   cut); a plain file's last line without a line end is kept when it parses whole.
3. **Fields** (:func:`pyarrow.csv.read_csv`): the batch's bytes, with every record
   that is not data blanked into empty lines, are parsed once; its rows are the
   validated records one for one (``""`` is the empty string, an empty field
   missing).
4. **Vectorized conversion** of the whole batch: exact fixed-width timestamps
   (``02/13/2019`` is quarantined, never read month-first), local time to UTC
   per file (:func:`labforensics.ingest.clock.localize_files`), French digit
   grouping, code tables applied once per distinct value.

Quarantine reasons are short fixed phrases with detail, e.g.
``wrong field count: 13 fields, expected 15``,
``unparseable date '02/13/2019' (expected dd/mm/yyyy)``,
``record cut short: quote left open at end of file``,
``record cut short: partial last line after the gzip cut (no line end)``,
``timestamp out of range '9999-12-31T09:00:00+01:00': years 1900-2189 only ...``
(datetime64[ns] holds 1677-09-21 to 2262-04-11; never wrapped round),
``impossible UTC offset in '...' (offsets lie within -14:00..+14:00, minutes below 60)``.
Years before 1990 or after 2100 are kept with a field problem ``implausible year``.

Record text kept for the report (a quarantined record's raw text, a field-problem
value, a value quoted in a reason) is capped at
:data:`labforensics.ingest._common.RAW_CAP` characters, then a marker
``… [52,428,734 more characters cut]``; only the kept part is decoded.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..schema import ACCOUNT_KIND_DTYPE, ACTION_DTYPE, OUTCOME_DTYPE, STRING, TS_QUALITY_DTYPE
from . import clock
from ._common import RAW_CAP, cut_marker
from .files import read_bytes
from .profiles import Profile, format_regex, human_format, load_profile, parse_epoch
from .registry import (
    BatchRead,
    FieldProblem,
    FileRead,
    QuarantineRow,
    ReadContext,
    ReaderSpec,
    register_reader,
)

__all__ = ["parse_lis_bytes", "read_lis", "read_lis_many", "sniff_profile"]

_BOM = b"\xef\xbb\xbf"
_NUL_TO_SPACE = bytes.maketrans(b"\x00", b" ")
_OK, _OPEN_BEFORE_ROW, _OPEN_AT_EOF = 0, 1, 2
_NS = 1_000_000_000
_DIM = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
# Timestamps must fit datetime64[ns] (1677-09-21 .. 2262-04-11), and any two of them
# must lie less than 292 years apart, since durations and gaps are int64 nanoseconds in
# every later stage: whole years 1900-2189 are accepted; others are quarantined, never
# wrapped round.
_MIN_S = int(np.datetime64("1900-01-01T00:00:00", "s").astype(np.int64))
_MAX_S = int(np.datetime64("2190-01-01T00:00:00", "s").astype(np.int64))
# Years outside this span are kept but flagged (a field problem): no LIS ran before 1990.
_PLAUSIBLE_LO_S = int(np.datetime64("1990-01-01T00:00:00", "s").astype(np.int64))
_PLAUSIBLE_HI_S = int(np.datetime64("2101-01-01T00:00:00", "s").astype(np.int64))
# UTC offsets: real zones lie within -12:00..+14:00 (ISO 8601 / RFC 3339 practice);
# anything beyond +-14:00, or with minutes >= 60, is impossible.
_MAX_OFFSET_S = 14 * 3600
_BAD_OFFSET = 99 * 3600  # sentinel for an offset whose minutes are >= 60


# --------------------------------------------------------------------------- sniffing


def sniff_profile(profile: Profile, head: bytes) -> bool:
    """True when the first line of ``head`` is exactly the profile's header."""
    if head.startswith(_BOM):
        head = head[3:]
    if b"\n" not in head and b"\r" in head:  # old Mac line ends: CR only
        return head.split(b"\r", 1)[0] == profile.header_bytes()
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    return first == profile.header_bytes()


def _cr_only(d: bytes | memoryview) -> bool:
    """True when the file's head (first 64 KiB) has CR line ends but no LF (old Mac)."""
    head = bytes(d[:65536])
    return b"\n" not in head and b"\r" in head


# --------------------------------------------------------------------------- structure


def _structure(arr: np.ndarray, profile: Profile, data: bytes, file_start: np.ndarray):
    """Split the raw bytes of one or more files into records.

    ``data`` is the files one after the other, each ending with a line end;
    ``file_start`` (int64, shape (n_files + 1,)) the byte where each file starts,
    then ``len(data)``. A quoted field never runs past its file's end.

    Returns per record: first and last physical line (global indexes), byte start,
    content end (line end excluded), whether it had a line end in the file
    (``has_eol`` per line, set by the caller for appended line ends), status, and
    per line: start and file.
    """
    from . import _lis_kernels as _k  # numba: imported on first read

    # line feeds and each line's quote parity: one pass over the bytes
    nl, odd_line = _k.line_scan(arr, ord(profile.quote))
    line_start = np.concatenate(([0], nl[:-1] + 1)).astype(np.int64) if len(nl) else nl
    line_end = nl.astype(np.int64)
    n_lines = len(line_start)
    line_file = np.searchsorted(file_start, line_start, side="right") - 1
    if n_lines == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, e, np.zeros(0, np.int8), line_start, line_file
    odd_idx = np.flatnonzero(odd_line)
    first = np.arange(n_lines, dtype=np.int64)
    last = first.copy()
    status = np.zeros(n_lines, dtype=np.int8)
    keep = np.ones(n_lines, dtype=bool)
    if len(odd_idx):
        nf = len(file_start) - 1
        odd_file = line_file[odd_idx]
        # Fast path, per file: odd lines pair up (open, close) and no line inside a
        # pair starts like a new row. Checked on the (few) lines inside the pairs only.
        slow = (np.bincount(odd_file, minlength=nf) & 1).astype(bool)
        sel = odd_idx[~slow[odd_file]]
        opens, closes = sel[0::2], sel[1::2]
        span = closes - opens
        base = np.repeat(np.cumsum(span) - span, span)
        inner = np.repeat(opens + 1, span) + (np.arange(int(span.sum())) - base)
        hit = _looks_row_mask(arr, data, line_start, line_end, inner, profile)
        if hit.any():
            slow[line_file[inner[hit]]] = True
        ok_pair = ~slow[line_file[opens]]
        last[opens[ok_pair]] = closes[ok_pair]
        keep[inner[~slow[line_file[inner]]]] = False
        if slow.any():
            rx = profile.row_start_regex()
            header = _header_utf8(profile)
            hdr_lines = (header, _BOM + header)

            def looks_row(i: int) -> bool:
                a, b = int(line_start[i]), int(line_end[i])
                if data[a:b].rstrip(b"\r") in hdr_lines:
                    return True
                return rx is not None and rx.match(data, a) is not None

            file_lines = np.searchsorted(line_file, np.arange(nf + 1))
            for f in np.flatnonzero(slow):  # files with a quote left open: rare
                hi = int(file_lines[f + 1])
                od = odd_idx[odd_file == f]
                j = 0
                while j < len(od):
                    a = int(od[j])
                    nxt = int(od[j + 1]) if j + 1 < len(od) else hi
                    top = min(nxt, hi - 1)
                    c = next((i for i in range(a + 1, top + 1) if looks_row(i)), None)
                    if c is not None:
                        last[a], status[a] = c - 1, _OPEN_BEFORE_ROW
                        keep[a + 1 : c] = False
                        j = int(np.searchsorted(od, c))
                    elif nxt == hi:
                        last[a], status[a] = hi - 1, _OPEN_AT_EOF
                        keep[a + 1 : hi] = False
                        break
                    else:
                        last[a] = nxt
                        keep[a + 1 : nxt + 1] = False
                        j += 2
        first, last, status = first[keep], last[keep], status[keep]
    rs = line_start[first]
    le = line_end[last]
    # content end: drop the CR of a CRLF line end
    cr = (le > line_start[last]) & (arr[np.maximum(le - 1, 0)] == 13)
    ce = le - cr
    return first, last, rs, ce, status, line_start, line_file


def _row_template(profile: Profile) -> list[tuple[str, int, str]] | None:
    """Fixed-width template of what starts a row, when the profile's default applies."""
    if profile.row_start or profile.timestamp.epoch_unit:  # epoch: Profile.row_start_regex
        return None
    ts = profile.timestamp
    first = profile.header[0]
    if first == ts.column and ts.format:
        fmt = ts.format
    elif first == ts.date_column and ts.date_format:
        fmt = ts.date_format
    else:
        return None
    toks = _tokens(fmt.replace("%%", "%"))
    if any(t[0] == "z" for t in toks):
        # offsets vary in width ("Z", "+01:00"): test the part before; a looser test
        # only sends more files to the exact (regex) path
        return toks[: [t[0] for t in toks].index("z")]
    return toks + [("lit", 1, profile.separator)]


def _looks_row_mask(
    arr: np.ndarray,
    data: bytes,
    line_start: np.ndarray,
    line_end: np.ndarray,
    idx: np.ndarray,
    profile: Profile,
) -> np.ndarray:
    """Which of the lines ``idx`` start like a new row (or are the header)."""
    starts, ends = line_start[idx], line_end[idx]
    header = _header_utf8(profile)
    out = np.zeros(len(idx), dtype=bool)
    lens = ends - starts
    for i in np.flatnonzero((lens >= len(header)) & (lens <= len(header) + 4)):
        line = data[int(starts[i]) : int(ends[i])].rstrip(b"\r")
        out[i] = line == header or line == _BOM + header
    tmpl = _row_template(profile)
    if tmpl is None:
        rx = profile.row_start_regex()
        if rx is not None:
            for i in np.flatnonzero(~out):
                out[i] = rx.match(data, int(starts[i])) is not None
        return out
    width = sum(t[1] for t in tmpl)
    ok = lens >= width
    last = len(arr) - 1
    pos = 0
    for kind, w, lit in tmpl:
        for k in range(w):
            b = arr[np.minimum(starts + pos + k, last)]
            if kind == "lit":
                ok &= b == ord(lit)
            elif kind == "z" and k == 0:
                ok &= (b == 43) | (b == 45) | (b == 90)
            elif kind == "z" and k == 3:
                ok &= b == 58
            else:
                ok &= (b >= 48) & (b <= 57)
        pos += w
    return out | ok


# --------------------------------------------------------------------------- time parsing


def _tokens(fmt: str) -> list[tuple[str, int, str]]:
    """Fixed-width template of a format: (kind, width, literal)."""
    out = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            width = {"Y": 4, "z": 6}.get(d, 2)
            out.append((d, width, ""))
            i += 2
        else:
            out.append(("lit", 1, fmt[i]))
            i += 1
    return out


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


def _parse_fixed(col: pa.Array, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse a string column strictly with ``fmt``.

    Returns (seconds, offset_seconds, nanosecond fraction, valid), each shape (n,).
    Rows of the template's width are parsed on a byte matrix; the others (rare:
    fractions, ``Z``) by a strict regex, one by one.
    """
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
        gi = np.flatnonzero(good)
        secs[gi], offs[gi], valid[gi] = s, o, ok & ok2
    rest = np.flatnonzero(~good & (lengths >= 0))
    if len(rest):
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
    return secs, offs, frac, valid


# --------------------------------------------------------------------------- helpers


def _as_string(col: pa.ChunkedArray | pa.Array) -> pd.Series:
    """Wrap an Arrow string column as a ``string[pyarrow]`` Series (no copy)."""
    if isinstance(col, pa.Array):
        col = pa.chunked_array([col])
    if col.type not in (pa.string(), pa.large_string()):
        col = col.cast(pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(col), dtype=STRING)


def _missing_int(n: int) -> pd.Series:
    return pd.Series(pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool)))


def _const_string(value: str | None, n: int) -> pd.Series:
    return _as_string(pa.repeat(pa.scalar(value, pa.string()), n))


def _dict_map(col: pa.ChunkedArray, func, raw: list | None = None) -> tuple[np.ndarray, list]:
    """Distinct values of a string column -> (codes per row (-1 missing), func(uniques)).

    ``raw``, when given, receives the distinct values as written.
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    enc = col.dictionary_encode()
    idx = enc.indices.to_numpy(zero_copy_only=False)
    if enc.null_count:
        idx = np.where(enc.is_null().to_numpy(zero_copy_only=False), -1, idx)
    uniques = enc.dictionary.to_pylist()
    if raw is not None:
        raw.extend(uniques)
    return np.asarray(idx, dtype=np.int64), [func(u) for u in uniques]


def _take_str(idx: np.ndarray, values: list) -> pa.Array:
    table = pa.array(list(values) + [None], type=pa.string())
    idx = np.where(idx < 0, len(values), idx)
    return table.take(pa.array(idx))


def _upper_codes(col: pa.ChunkedArray, idx: np.ndarray, upper: list, raw: list) -> pd.Series:
    """Codes in upper case; the column itself when it already is (no copy)."""
    if upper == raw:
        return _as_string(col)
    return _as_string(_take_str(idx, upper))


def _parse_numbers(
    col: pa.ChunkedArray,
    grouping: bool,
    lines: np.ndarray,
    fidx: np.ndarray,
    name: str,
    source_col: str,
) -> tuple[pd.Series, list[tuple[int, FieldProblem]]]:
    """Strict non-negative integers; French digit grouping (3-digit groups) allowed.

    Returns an ``Int64`` Series (missing where empty or invalid) and a
    (file, :class:`FieldProblem`) per invalid value (the event is kept).
    """
    n = len(col)
    problems: list[tuple[int, FieldProblem]] = []
    present = col.is_valid().to_numpy(zero_copy_only=False)
    if not present.any():
        return _missing_int(n), problems
    pidx = np.flatnonzero(present)
    sub = col.filter(pa.array(present))
    if grouping:
        ok = pc.match_substring_regex(sub, r"^(?:\d+|\d{1,3}(?:[ \x{00A0}\x{202F}]\d{3})+)$")
        cleaned = pc.replace_substring_regex(sub, r"[ \x{00A0}\x{202F}]", "")
    else:
        ok = pc.match_substring_regex(sub, r"^\d+$")
        cleaned = sub
    okn = ok.to_numpy(zero_copy_only=False).astype(bool)
    okn &= pc.binary_length(cleaned).to_numpy(zero_copy_only=False) <= 18  # fits int64
    out_vals = np.zeros(n, dtype=np.int64)
    mask = np.ones(n, dtype=bool)
    if okn.any():
        out_vals[pidx[okn]] = pc.cast(cleaned.filter(pa.array(okn)), pa.int64()).to_numpy()
        mask[pidx[okn]] = False
    bad = np.flatnonzero(~okn)
    if len(bad):
        raw = _cells(sub, bad)  # capped: a field can be megabytes of NULs read as spaces
        for i, v in zip(pidx[bad], raw, strict=True):
            problems.append(
                (
                    int(fidx[i]),
                    FieldProblem(
                        int(lines[i]),
                        name,
                        v,
                        f"{source_col}: not a non-negative integer (digit groups must be 3 digits)",
                    ),
                )
            )
    return pd.Series(pd.arrays.IntegerArray(out_vals, mask)), problems


# --------------------------------------------------------------------------- reading


def _header_utf8(profile: Profile) -> bytes:
    """The header line as UTF-8 bytes (files are transcoded to UTF-8 before the scan)."""
    return profile.header_line.encode("utf-8")


# --------------------------------------------------------------------------- report text

_CHUNK = 1 << 22  # bytes scanned at a time by the byte counters below (4 MiB)


def _utf8_chars(data: bytes, a: int, b: int) -> int:
    """Number of characters in the valid UTF-8 bytes ``data[a:b]``.

    Counted on the bytes (every byte but a continuation byte ``0b10xxxxxx`` starts
    a character), a chunk at a time: nothing is decoded.
    """
    v = np.frombuffer(data, dtype=np.int8)  # continuation bytes 0x80-0xBF: -128..-65
    n = b - a
    for c in range(a, b, _CHUNK):
        n -= int(np.count_nonzero(v[c : min(c + _CHUNK, b)] < -64))
    return n


def _capped_text(data: bytes, a: int, b: int) -> str:
    """The UTF-8 text ``data[a:b]`` for the report, capped at ``RAW_CAP`` characters.

    Parameters
    ----------
    data : bytes
        Valid UTF-8 (the reader's transcoded batch); ``a`` starts a character.
    a, b : int
        Byte range.

    Returns
    -------
    str
        The text whole when it has at most ``RAW_CAP`` characters; else its first
        ``RAW_CAP`` characters then :func:`cut_marker` of the rest. Only the first
        ``4 * RAW_CAP`` bytes (at most 4 bytes a character) are decoded.
    """
    if b - a <= RAW_CAP:
        return data[a:b].decode("utf-8", errors="replace")
    end = min(b, a + 4 * RAW_CAP)
    head = data[a:end].decode("utf-8", errors="replace")  # a cut last character: past the cap
    total = len(head) if end == b else _utf8_chars(data, a, b)
    if total <= RAW_CAP:
        return head
    return head[:RAW_CAP] + cut_marker(total - RAW_CAP)


def _cells(col: pa.Array | pa.ChunkedArray, idx) -> list[str | None]:
    """Values ``idx`` of a string column for the report, each capped like :func:`_capped_text`.

    Parameters
    ----------
    col : pyarrow.Array or pyarrow.ChunkedArray
        A string column.
    idx : array-like of int
        Rows wanted.

    Returns
    -------
    list of str or None
        One value a row of ``idx`` (None where missing): whole when it has at most
        ``RAW_CAP`` characters, else its first ``RAW_CAP`` then :func:`cut_marker`.
        Only the kept characters become Python strings (a field can hold hundreds
        of megabytes of NULs read as spaces).
    """
    sub = col.take(pa.array(np.asarray(idx, dtype=np.int64), type=pa.int64()))
    if len(sub) == 0:
        return []
    lens = pc.utf8_length(sub).fill_null(0).to_numpy()
    long = np.flatnonzero(lens > RAW_CAP)
    if not len(long):
        return sub.to_pylist()
    vals = pc.utf8_slice_codeunits(sub, 0, RAW_CAP).to_pylist()
    for j in long:
        vals[j] += cut_marker(int(lens[j]) - RAW_CAP)
    return vals


def _nul_runs(arr: np.ndarray) -> np.ndarray:
    """Where each run of NUL bytes starts in ``arr`` (uint8).

    Parameters
    ----------
    arr : numpy.ndarray
        The bytes (uint8).

    Returns
    -------
    numpy.ndarray
        int64, ascending: the position of every NUL byte that follows a non-NUL
        byte (or starts ``arr``). Scanned a 4 MiB chunk at a time: the working
        memory is two bool arrays of a chunk and one int64 per run, never one per
        NUL byte (a crashed writer can leave hundreds of megabytes of NULs).

    Notes
    -----
    A run holds no separator, quote or line end (none is NUL), so it lies inside
    one field of one record: its start tells which.
    """
    n = len(arr)
    out = []
    for a in range(0, n, _CHUNK):
        b = min(a + _CHUNK, n)
        z = arr[a:b] == 0
        if not z.any():
            continue
        prev = np.empty(b - a, dtype=bool)  # the byte before is NUL
        prev[0] = a > 0 and arr[a - 1] == 0
        np.equal(arr[a : b - 1], 0, out=prev[1:])
        np.greater(z, prev, out=z)  # NUL after non-NUL: a run starts
        out.append(np.flatnonzero(z).astype(np.int64) + a)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _to_utf8(data: bytes | memoryview, encoding: str) -> bytes | memoryview:
    """The bytes of one file as UTF-8 (undecodable bytes become U+FFFD).

    ``;``, ``"`` and line ends keep their places in the structure: they are ASCII,
    and no UTF-8 multi-byte sequence holds an ASCII byte.
    """
    enc = encoding.lower().replace("_", "-")
    raw = bytes(data) if isinstance(data, memoryview) else data
    if raw.isascii():
        return data
    if enc in ("utf-8", "utf8", "utf-8-sig"):
        try:
            raw.decode("utf-8")
            return data
        except UnicodeDecodeError:
            pass
    return raw.decode(encoding, errors="replace").encode("utf-8")


def _parse_records(
    arr: np.ndarray,
    rs: np.ndarray,
    ce: np.ndarray,
    drop: np.ndarray,
    profile: Profile,
    newlines: bool,
) -> pa.Table:
    """Split the validated records into string columns with :func:`pyarrow.csv.read_csv`.

    ``arr`` (uint8) is the batch's UTF-8 bytes; records ``rs[i]:ce[i]`` where
    ``drop`` is True (header lines, blank lines, quarantined records) are blanked
    into empty lines, which the parser skips, so its rows are the other records,
    one for one, in order. A line feed goes first: pyarrow drops a BOM at the very
    start of its input, and a record's value keeps it. ``newlines``: some record
    holds a line break inside quotes.

    Returns a table of ``len(profile.header)`` string columns named after the
    header: ``""`` (quoted) is the empty string, an empty unquoted field missing.
    """
    from . import _lis_kernels as _k  # numba: imported on first read

    names = list(profile.header)
    if drop.all():
        return pa.table({nm: pa.array([], pa.string()) for nm in names})
    buf = np.empty(len(arr) + 1, dtype=np.uint8)
    buf[0] = 10
    buf[1:] = arr
    _k.blank_ranges(buf, rs[drop] + 1, ce[drop] + 1)
    longest = int((ce - rs)[~drop].max())
    return pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(buf)),
        read_options=pacsv.ReadOptions(
            column_names=names,
            use_threads=False,  # batches are already read by a pool of workers
            block_size=max(1 << 22, 2 * longest + 64),  # a row never straddles a block
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=profile.separator,
            quote_char=profile.quote,
            double_quote=True,
            escape_char=False,
            newlines_in_values=newlines,
            ignore_empty_lines=True,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={nm: pa.string() for nm in names},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            check_utf8=False,  # transcoded to valid UTF-8 already
        ),
    )


def read_lis(path: Path, ctx: ReadContext, profile: Profile | str, fmt_name: str) -> FileRead:
    """Read one LIS CSV export with a profile (see the module docstring).

    Parameters
    ----------
    path : pathlib.Path
        Evidence file (gzip detected by magic bytes).
    ctx : ReadContext
    profile : Profile or str
    fmt_name : str
        Recorded in ``source_format``.

    Returns
    -------
    FileRead
        Raw events (canonical columns, ``_ipp``, and ``_rhash``: int64 FNV-1a hash of
        the record's text, line end excluded, for rotation de-duplication); never
        raises on content.
    """
    return _one(read_lis_many([path], [ctx], profile, fmt_name))


def read_lis_many(
    paths: list[Path], ctxs: list[ReadContext], profile: Profile | str, fmt_name: str
) -> BatchRead:
    """Read several LIS CSV exports of one profile together (same result as file by file).

    The files' bytes are scanned, parsed by pyarrow and converted as one block, so
    the fixed cost of each step is paid once per batch, not once per file.

    Parameters
    ----------
    paths : list of pathlib.Path
        Evidence files (gzip detected by magic bytes).
    ctxs : list of ReadContext
        One per file (same ``tz`` and ``account_kinds`` for all).
    profile : Profile or str
    fmt_name : str
        Recorded in ``source_format``.

    Returns
    -------
    BatchRead
        Never raises on content.
    """
    prof = load_profile(profile)
    items = []
    for path, ctx in zip(paths, ctxs, strict=True):
        dec = read_bytes(path)
        items.append((dec.data, ctx, path.name, dec.truncated, dec.note))
    return _parse_many(items, prof, fmt_name)


def _one(batch: BatchRead) -> FileRead:
    fr = batch.files[0]
    fr.events = batch.events
    fr.unknown_codes = dict(batch.unknown_codes)
    return fr


def parse_lis_bytes(
    data: bytes,
    ctx: ReadContext,
    profile: Profile,
    fmt_name: str,
    *,
    name: str = "",
    truncated: bool = False,
    truncation_note: str = "",
) -> FileRead:
    """Read the (decompressed) bytes of one LIS CSV export. See :func:`read_lis`."""
    return _one(_parse_many([(data, ctx, name, truncated, truncation_note)], profile, fmt_name))


def _parse_many(items: list[tuple], profile: Profile, fmt_name: str) -> BatchRead:
    """Read the decompressed bytes of several files: ``(data, ctx, name, truncated, note)``."""
    from . import _lis_kernels as _k  # numba: imported on first read

    nf = len(items)
    parts: list[bytes | memoryview] = []
    starts = np.zeros(nf + 1, dtype=np.int64)
    appended = np.zeros(nf, dtype=bool)
    pos = 0
    for k, (d, _ctx, _name, _tr, _note) in enumerate(items):
        starts[k] = pos
        if _cr_only(d):  # each CR is a line end (one physical line each): make it LF
            d = bytes(d).replace(b"\r", b"\n")
        v = _to_utf8(memoryview(d)[3:] if d.startswith(_BOM) else d, profile.encoding)
        parts.append(v)
        pos += len(v)
        if len(v) and v[-1] != 10:  # a last line without line end: give it one
            parts.append(b"\n")
            appended[k] = True
            pos += 1
    starts[nf] = pos
    data = b"".join(parts)
    del parts
    # NUL bytes (a crashed writer, binary junk) are read as spaces: each run is reported
    # below as a field problem of its record's field, so the change is visible.
    nul_runs = np.zeros(0, dtype=np.int64)
    if b"\x00" in data:
        nul_runs = _nul_runs(np.frombuffer(data, dtype=np.uint8))
        data = data.translate(_NUL_TO_SPACE)  # a table lookup a byte: replace() is 10x slower
    arr = np.frombuffer(data, dtype=np.uint8)
    first, last, rs, ce, status, line_start, line_file = _structure(arr, profile, data, starts)
    has_eol = np.ones(len(line_start), dtype=bool)
    if appended.any():
        has_eol[np.searchsorted(line_start, starts[1:][appended], side="left") - 1] = False
    rec_eol = has_eol[last]
    n_rec = len(rs)
    rfile = line_file[first]
    file_line0 = np.searchsorted(line_file, np.arange(nf))  # first line of each file
    lines = first - file_line0[rfile] + 1  # 1-based physical line where each record starts
    header = _header_utf8(profile)
    expected = len(profile.header)
    quarantine: list[list[QuarantineRow]] = [[] for _ in range(nf)]
    notes: list[list[str]] = [[it[4]] if it[4] else [] for it in items]
    truncated = [bool(it[3]) for it in items]
    gz_cut = np.asarray(truncated, dtype=bool)  # the data stops at a gzip cut
    quoted_break = np.zeros(n_rec, dtype=bool)
    kind = np.zeros(n_rec, dtype=np.int8)  # 0 data, 1 header, 2 repeated header, 3 blank, 4 quar

    def raw_text(i: int) -> str:  # record i's text (BOMs dropped), capped, for a quarantine entry
        a, b = int(rs[i]), int(ce[i])
        while data.startswith(_BOM, a, b):
            a += 3
        return _capped_text(data, a, b)

    if n_rec:
        lens = ce - rs
        blank = lens == 0
        hdr_bom = _BOM + header
        cand = np.flatnonzero((lens == len(header)) | (lens == len(hdr_bom)))
        is_hdr = np.zeros(n_rec, dtype=bool)
        for i in cand:  # records of exactly the header's length: one a file, few others
            b = data[rs[i] : ce[i]]
            is_hdr[i] = b == header or b == hdr_bom
        is_first = np.ones(n_rec, dtype=bool)
        is_first[1:] = rfile[1:] != rfile[:-1]
        is_last = np.ones(n_rec, dtype=bool)
        is_last[:-1] = rfile[1:] != rfile[:-1]
        kind[is_hdr] = 2
        kind[is_hdr & is_first] = 1
        kind[blank & (kind == 0)] = 3
        # width, quoting and rotation hash of every record: one pass over the bytes
        counts, open_end, bad_break, quoted_break, all_hash = _k.scan_records(
            arr, rs, ce, ord(profile.separator), ord(profile.quote)
        )
        # a gzip member cut short: whatever follows the last line end is a partial record,
        # whatever its width (its last field may be cut), so it is never an event
        for f in np.flatnonzero(gz_cut & appended):
            i = int(np.searchsorted(rfile, f, side="right")) - 1
            if i < 0 or rfile[i] != f or kind[i] != 0:
                continue
            quarantine[f].append(
                QuarantineRow(
                    int(lines[i]),
                    "record cut short: partial last line after the gzip cut (no line end)",
                    raw_text(i),
                )
            )
            notes[f].append(f"last record (line {lines[i]}) cut short by the gzip cut")
            kind[i] = 4
        for i in np.flatnonzero((status != _OK) & (kind == 0)):
            f = int(rfile[i])
            if status[i] == _OPEN_AT_EOF:
                reason = "record cut short: quote left open at end of file"
                truncated[f] = True
                notes[f].append(f"last record (line {lines[i]}) cut short: quote left open")
            else:
                reason = (
                    f"quote left open: record runs into line {int(lines[i] + last[i] - first[i]) + 1}, "
                    "which starts a new row"
                )
            quarantine[f].append(QuarantineRow(int(lines[i]), reason, raw_text(i)))
            kind[i] = 4
        wrong = np.flatnonzero((kind == 0) & (counts != expected))
        for i in wrong:
            f = int(rfile[i])
            if is_last[i] and not rec_eol[i]:
                reason = (
                    f"record cut short: {int(counts[i])} fields, expected {expected}, "
                    "no line end at end of file"
                )
                truncated[f] = True
                notes[f].append(f"last record (line {lines[i]}) cut short")
            else:
                reason = f"wrong field count: {int(counts[i])} fields, expected {expected}"
            quarantine[f].append(QuarantineRow(int(lines[i]), reason, raw_text(i)))
            kind[i] = 4
        for i in np.flatnonzero((kind == 0) & open_end):  # a quote in mid-field, say
            f = int(rfile[i])
            quarantine[f].append(QuarantineRow(int(lines[i]), "unparseable quoting", raw_text(i)))
            kind[i] = 4
        # a line break outside quotes (a quote in mid-field made a line's quote count odd,
        # or a lone CR): CSV readers end the row there, so it cannot be read as one record
        for i in np.flatnonzero((kind == 0) & bad_break):
            f = int(rfile[i])
            quarantine[f].append(
                QuarantineRow(
                    int(lines[i]), "unparseable quoting: line break outside quotes", raw_text(i)
                )
            )
            kind[i] = 4
    rows_read = np.bincount(rfile[kind != 1], minlength=nf)
    repeated = np.bincount(rfile[kind == 2], minlength=nf)
    ignored = np.bincount(rfile[kind == 3], minlength=nf)
    good = np.flatnonzero(kind == 0)
    # --- fields of the validated records: pyarrow's CSV parser ----------------------
    g_lines = lines[good]
    g_file = rfile[good]
    g_rs, g_ce = rs[good], ce[good]
    table = _parse_records(arr, rs, ce, kind != 0, profile, bool(quoted_break[good].any()))
    if table.num_rows != len(good):  # the width check and the parser disagree: a bug
        raise AssertionError(
            f"LIS reader bug: pyarrow read {table.num_rows} rows from {len(good)} validated "
            f"records of {', '.join(it[2] for it in items[:3])}; report it with these files"
        )
    rec_hash = all_hash[good] if n_rec else np.zeros(0, dtype=np.int64)

    def rec_text(i: int) -> str:  # the text of valid record i, capped, for a quarantine entry
        return _capped_text(data, int(g_rs[i]), int(g_ce[i]))

    file_lab_date = [profile.file_lab_date(it[2]) for it in items]
    events, qrows, problems, unknown, labs, g_file = _convert(
        table,
        rec_hash,
        rec_text,
        g_lines,
        g_file,
        [it[1] for it in items],
        profile,
        fmt_name,
        [fl for fl, _ in file_lab_date],
    )
    for f, q in qrows:
        quarantine[f].append(q)
    per_file_problems: list[list[FieldProblem]] = [[] for _ in range(nf)]
    for f, p in problems:
        per_file_problems[f].append(p)
    if len(nul_runs):
        for f, p in _nul_problems(nul_runs, data, rs, ce, kind, rfile, lines, profile):
            per_file_problems[f].append(p)
        for fp in per_file_problems:
            fp.sort(key=lambda p: p.line or 0)
    n_ev = np.bincount(g_file, minlength=nf).astype(np.int64)
    files = []
    for f in range(nf):
        q = quarantine[f]
        if len(q) > 1:
            q.sort(key=lambda r: r.line or 0)
        files.append(
            FileRead(
                events=None,  # type: ignore[arg-type]  # the rows are in BatchRead.events
                rows_read=int(rows_read[f]),
                rows_to_events=int(n_ev[f]),
                repeated_headers=int(repeated[f]),
                ignored=int(ignored[f]),
                quarantine=q,
                field_problems=per_file_problems[f],
                truncated=truncated[f],
                truncation_note="; ".join(notes[f]),
                lab=labs[f],
                file_date=file_lab_date[f][1],
            )
        )
    return BatchRead(events=events, counts=n_ev, files=files, unknown_codes=unknown)


def _nul_problems(
    nul_runs: np.ndarray,
    data: bytes,
    rs: np.ndarray,
    ce: np.ndarray,
    kind: np.ndarray,
    rfile: np.ndarray,
    lines: np.ndarray,
    profile: Profile,
) -> list[tuple[int, FieldProblem]]:
    """One field problem per (data record, field) that held NUL bytes (read as spaces).

    Parameters
    ----------
    nul_runs : numpy.ndarray
        Start of each run of NUL bytes in ``data`` (:func:`_nul_runs`), ascending.
    data : bytes
        The batch's UTF-8 bytes, NULs already replaced by spaces.
    rs, ce : numpy.ndarray
        Byte start and content end of each record, ascending.
    kind : numpy.ndarray
        Record kinds (0: data); other records get no problem.
    rfile, lines : numpy.ndarray
        File and 1-based first physical line of each record.
    profile : Profile

    Returns
    -------
    list of (int, FieldProblem)
        ``(file, problem)`` in record order, then field order: the value is the
        field's text capped like :func:`_capped_text`, ``""`` for the IPP field.
    """
    from ..privacy import record_field_spans

    rec = np.searchsorted(rs, nul_runs, side="right") - 1
    rc = np.maximum(rec, 0)
    keep = (rec >= 0) & (nul_runs < ce[rc]) & (kind[rc] == 0)
    runs, rec = nul_runs[keep], rec[keep]  # both ascending: one slice of runs a record
    recs, lo = np.unique(rec, return_index=True)
    hi = np.append(lo[1:], len(rec)).astype(np.int64) if len(rec) else lo
    canon = {src: c for c, src in profile.columns.items()}
    out = []
    view = memoryview(data)
    for r, i0, i1 in zip(recs, lo, hi, strict=True):  # records holding a NUL: rare
        a, b = int(rs[r]), int(ce[r])
        text = str(view[a:b], "latin-1")  # one character a byte: positions match
        spans = record_field_spans(text, profile.separator, profile.quote)
        # a run holds no separator or quote: the field holding its start holds it all
        field_start = np.asarray([s for s, _ in spans], dtype=np.int64)
        seen = np.unique(np.searchsorted(field_start, runs[i0:i1] - a, side="right") - 1)
        for k in seen.tolist():
            name = profile.header[k] if k < len(profile.header) else f"field {k + 1}"
            if canon.get(name) == "ipp":  # a patient identifier is never shown, even cut
                val = ""
            else:
                val = _capped_text(data, a + spans[k][0], a + spans[k][1])
            out.append(
                (
                    int(rfile[r]),
                    FieldProblem(
                        int(lines[r]),
                        canon.get(name, name),
                        val,
                        f"{name}: NUL byte replaced by space",
                    ),
                )
            )
    return out


def _convert(
    table: pa.Table,
    rec_hash: np.ndarray,
    rec_text,
    lines: np.ndarray,
    fidx: np.ndarray,
    ctxs: list[ReadContext],
    profile: Profile,
    fmt_name: str,
    file_labs: list[str | None],
):
    """Convert the parsed records of one or more files (``fidx``: file of each row)."""
    n = table.num_rows
    nf = len(ctxs)
    ctx = ctxs[0]
    cols = profile.columns
    spec = profile.timestamp
    quarantine: list[tuple[int, QuarantineRow]] = []
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}

    def col(canon: str) -> pa.ChunkedArray | None:
        src = cols.get(canon)
        if src is None and canon in profile.constants:  # a constant (profile: "=value")
            value = pa.scalar(profile.constants[canon], pa.string())
            return pa.chunked_array([pa.repeat(value, n)])
        return table.column(src) if src is not None else None

    # --- time -----------------------------------------------------------------------
    if spec.column is not None:
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
                f"impossible UTC offset in {v!r} "
                "(offsets lie within -14:00..+14:00, minutes below 60)"
            )
        ok &= ~bad_off
        ts_text = tcol
    else:
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
    bad |= ~ok
    # --- outcome --------------------------------------------------------------------
    succ = set(profile.success_values)
    fail = set(profile.failure_values)
    ocol = col("outcome")
    if ocol is not None:
        oidx, ovals = _dict_map(
            ocol, lambda u: 0 if u.upper() in succ else (1 if u.upper() in fail else -1)
        )
        ocode = np.asarray(ovals + [-1], dtype=np.int64)[np.where(oidx < 0, len(ovals), oidx)]
        idx = np.flatnonzero((ocode < 0) & ~bad)
        allowed = ", ".join(profile.success_values + profile.failure_values)
        for i, v in zip(idx.tolist(), _cells(ocol, idx), strict=True):
            reasons[i] = f"unknown outcome {v if v is not None else ''!r} (expected {allowed})"
        bad |= ocode < 0
    else:
        ocode = np.zeros(n, dtype=np.int64)
    for i in sorted(reasons):
        quarantine.append(
            (
                int(fidx[i]),
                QuarantineRow(int(lines[i]), reasons[i], rec_text(int(i))),
            )
        )
    if bad.any():
        keep = ~bad
        table = table.filter(pa.array(keep))
        rec_hash = rec_hash[keep]
        lines, fidx, secs, offs, frac, ok, ocode = (
            lines[keep],
            fidx[keep],
            secs[keep],
            offs[keep],
            frac[keep],
            ok[keep],
            ocode[keep],
        )
    n = table.num_rows
    # --- implausible years: kept, flagged -----------------------------------------------
    problems: list[tuple[int, FieldProblem]] = []
    odd_year = (secs < _PLAUSIBLE_LO_S) | (secs >= _PLAUSIBLE_HI_S)
    if odd_year.any():
        ycol, yname = (
            (table.column(spec.column), spec.column)
            if spec.column is not None
            else (table.column(spec.date_column), spec.date_column)
        )
        idx = np.flatnonzero(odd_year)  # rare
        for i, v in zip(idx.tolist(), _cells(ycol, idx), strict=True):
            problems.append(
                (
                    int(fidx[i]),
                    FieldProblem(
                        int(lines[i]),
                        "ts",
                        v,
                        f"{yname}: implausible year (before 1990 or after 2100); event kept",
                    ),
                )
            )
    # --- UTC ------------------------------------------------------------------------
    if has_off:
        utc = (secs - offs) * _NS + frac
        quality = np.zeros(n, dtype=np.int8)
    else:
        utc, quality = clock.localize_files(secs * _NS + frac, ctx.tz, fidx)
    out: dict[str, object] = {}
    out["ts"] = pd.Series(pd.DatetimeIndex(utc.view("datetime64[ns]")).tz_localize("UTC"))
    out["ts_quality"] = pd.Series(pd.Categorical.from_codes(quality, dtype=TS_QUALITY_DTYPE))
    # --- lab ------------------------------------------------------------------------
    lab_col = col("lab")
    if lab_col is None:
        lab_col = pa.chunked_array([pa.nulls(n, pa.string())])
    # a row without a lab takes the lab given by the investigator, else the file name's
    for fills in ([c.lab for c in ctxs], file_labs):
        if lab_col.null_count and any(v is not None for v in fills):
            if len(set(fills)) == 1:
                lab_col = pc.fill_null(lab_col, fills[0])
            else:
                lab_col = pc.coalesce(lab_col, pa.array(fills, pa.string()).take(fidx))
    # the file's lab (for rotation): its one lab, else the lab given or named
    lidx, lvals = _dict_map(lab_col, lambda u: u)
    big = np.iinfo(np.int64).max
    lo = np.full(nf, big, dtype=np.int64)
    hi = np.full(nf, -1, dtype=np.int64)
    has = lidx >= 0
    np.minimum.at(lo, fidx[has], lidx[has])
    np.maximum.at(hi, fidx[has], lidx[has])
    file_lab_out = [
        lvals[int(lo[f])] if lo[f] == hi[f] else (file_labs[f] or ctxs[f].lab) for f in range(nf)
    ]
    out["lab"] = _as_string(lab_col)
    for canon in ("site", "account", "host", "src_ip", "request", "app_session", "message_id"):
        c = col(canon)
        out[canon] = _as_string(c) if c is not None else _const_string(None, n)
    # --- role, module, account kind ---------------------------------------------------
    role = col("role")
    if role is not None:
        rraw: list = []
        ridx, rvals = _dict_map(role, lambda u: u.upper(), rraw)
        out["role"] = _upper_codes(role, ridx, rvals, rraw)
        kcodes = np.asarray(
            [
                list(ACCOUNT_KIND_DTYPE.categories).index(profile.role_kinds.get(r, "unknown"))
                for r in rvals
            ]
            + [3],
            dtype=np.int8,
        )
        kind_codes = kcodes[np.where(ridx < 0, len(rvals), ridx)]
    else:
        out["role"] = _const_string(None, n)
        kind_codes = np.full(n, 3, dtype=np.int8)
    if ctx.account_kinds and col("account") is not None:
        cats = list(ACCOUNT_KIND_DTYPE.categories)
        aidx, avals = _dict_map(
            col("account"),
            lambda u: cats.index(ctx.account_kinds[u]) if ctx.account_kinds.get(u) in cats else -1,
        )
        over = np.asarray(avals + [-1], dtype=np.int8)[np.where(aidx < 0, len(avals), aidx)]
        kind_codes = np.where(over >= 0, over, kind_codes).astype(np.int8)
    out["account_kind"] = pd.Series(pd.Categorical.from_codes(kind_codes, dtype=ACCOUNT_KIND_DTYPE))
    module = col("module")
    if module is not None:
        mraw: list = []
        midx, mvals = _dict_map(module, lambda u: u.upper(), mraw)
        out["module"] = _upper_codes(module, midx, mvals, mraw)
    else:
        out["module"] = _const_string(None, n)
    # --- action ---------------------------------------------------------------------
    acts = list(ACTION_DTYPE.categories)
    action = col("action")
    uniq_raw: list = []
    aidx, amap = _dict_map(action, lambda u: profile.action_codes.get(u.upper()), uniq_raw)
    codes_u = np.asarray(
        [acts.index(m[0]) if m else acts.index("other") for m in amap] + [acts.index("other")],
        dtype=np.int8,
    )
    act = codes_u[np.where(aidx < 0, len(amap), aidx)]
    login, failed = acts.index("login"), acts.index("login_failed")
    outcome = np.where(ocode == 1, 1, 0).astype(np.int8)
    act = np.where((act == login) & (outcome == 1), failed, act).astype(np.int8)
    outcome = np.where(act == failed, 1, outcome).astype(np.int8)
    out["action"] = pd.Series(pd.Categorical.from_codes(act, dtype=ACTION_DTYPE))
    out["action_raw"] = _as_string(action)
    out["dicom_event_id"] = _as_string(_take_str(aidx, [m[1] if m else None for m in amap]))
    out["dicom_event_type"] = _as_string(_take_str(aidx, [m[2] if m else None for m in amap]))
    out["outcome"] = pd.Series(pd.Categorical.from_codes(outcome, dtype=OUTCOME_DTYPE))
    unknown: dict[str, int] = {}
    if n:
        unk_codes = [i for i, m in enumerate(amap) if m is None]
        cnt = np.bincount(aidx[aidx >= 0], minlength=len(amap)) if len(amap) else np.zeros(0)
        for i in unk_codes:  # codes compare case-insensitively: counted upper-cased
            code = uniq_raw[i].upper()
            unknown[code] = unknown.get(code, 0) + int(cnt[i])
        n_null = int(np.count_nonzero(aidx < 0))
        if n_null:
            unknown[""] = n_null
    # --- numbers --------------------------------------------------------------------
    for canon in ("records", "bytes"):
        c = col(canon)
        if c is None:
            out[canon] = _missing_int(n)
            continue
        s, probs = _parse_numbers(c, profile.digit_grouping, lines, fidx, canon, cols[canon])
        out[canon] = s
        problems.extend(probs)
    ipp = col("ipp")
    out["_ipp"] = _as_string(ipp) if ipp is not None else _const_string(None, n)
    det = col("detail")
    out["detail"] = _as_string(det) if det is not None else _const_string(None, n)
    out["source_format"] = _const_string(fmt_name, n)
    if nf == 1:
        out["source_file"] = _const_string(ctx.source_file, n)
    else:
        names = pa.array([c.source_file for c in ctxs], pa.string())
        out["source_file"] = _as_string(names.take(fidx))
    out["source_line"] = pd.Series(
        pd.arrays.IntegerArray(lines.astype(np.int64), np.zeros(n, bool))
    )
    out["_rhash"] = rec_hash
    # arrays, not Series: no index alignment, no copies
    events = pd.DataFrame(
        {k: (v.array if isinstance(v, pd.Series) else v) for k, v in out.items()}, copy=False
    )
    return events, quarantine, problems, unknown, file_lab_out, fidx


# --------------------------------------------------------------------------- registration


def _builtin_reader(name: str):
    def sniff(head: bytes, fname: str) -> bool:
        return sniff_profile(load_profile(name), head)

    def read(path: Path, ctx: ReadContext) -> FileRead:
        return read_lis(path, ctx, name, f"lis_{name}")

    def read_many(paths: list[Path], ctxs: list[ReadContext]) -> BatchRead:
        return read_lis_many(paths, ctxs, name, f"lis_{name}")

    return sniff, read, read_many


def _profile_read(path: Path, ctx: ReadContext) -> FileRead:
    prof = load_profile(ctx.profile)
    fmt = f"lis_{prof.name}" if prof.builtin else "lis_profile"
    return read_lis(path, ctx, prof, fmt)


def _profile_read_many(paths: list[Path], ctxs: list[ReadContext]) -> BatchRead:
    prof = load_profile(ctxs[0].profile)
    fmt = f"lis_{prof.name}" if prof.builtin else "lis_profile"
    return read_lis_many(paths, ctxs, prof, fmt)


for _name in ("legacy", "current"):
    _sn, _rd, _rm = _builtin_reader(_name)
    register_reader(
        ReaderSpec(
            name=f"lis_{_name}",
            sniff=_sn,
            read=_rd,
            priority=10,
            rotation=True,
            description=f"Dedalus-style LIS audit export, {_name} dialect (built-in profile)",
            read_many=_rm,
        )
    )
register_reader(
    ReaderSpec(
        name="lis_profile",
        sniff=lambda head, name: False,
        read=_profile_read,
        priority=-100,
        rotation=True,
        description="LIS CSV export read with a user profile (read_evidence(profile=...))",
        read_many=_profile_read_many,
    )
)
