"""LIS CSV records on raw bytes: NUL bytes, transcoding, line ends, record structure, report text.

Steps 0 to 2 of :mod:`labforensics.ingest.readers.lis_csv` (see its docstring): where the
records of a batch of files begin and end, which are headers or cut short, and the
capped text of a record for the report; nothing here converts a field.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .._arrays import unique_sorted
from ..privacy import record_field_spans
from ._common import RAW_CAP, cut_marker
from ._timeformats import _tokens
from .profiles import Profile
from .registry import FieldProblem

_OK, _OPEN_BEFORE_ROW, _OPEN_AT_EOF = 0, 1, 2


_BOM = b"\xef\xbb\xbf"


_NUL_TO_SPACE = bytes.maketrans(b"\x00", b" ")


def _cr_only(d: bytes | memoryview) -> bool:
    """True when the file's head (first 64 KiB) has CR line ends but no LF (old Mac)."""
    head = bytes(d[:65536])
    return b"\n" not in head and b"\r" in head


def _walk_open_quotes(
    data: bytes,
    profile: Profile,
    line_start: np.ndarray,
    line_end: np.ndarray,
    line_file: np.ndarray,
    odd_idx: np.ndarray,
    odd_file: np.ndarray,
    slow: np.ndarray,
    last: np.ndarray,
    status: np.ndarray,
    keep: np.ndarray,
) -> None:
    """Records of the files ``slow`` (a quote left open somewhere), walked line by line.

    A quoted field that runs past a line that starts like a new row (or a header) is
    cut there (``_OPEN_BEFORE_ROW``), one that runs to its file's end is cut at it
    (``_OPEN_AT_EOF``); ``last``, ``status`` and ``keep`` (per line) are set in place.
    """
    nf = len(slow)
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


def _openers_and_closers(
    arr: np.ndarray,
    odd_idx: np.ndarray,
    line_start: np.ndarray,
    line_end: np.ndarray,
    line_file: np.ndarray,
    profile: Profile,
) -> np.ndarray:
    """The lines with an odd number of quotes that open or close a quoted field.

    A line read from a field start (the CSV state machine of
    :func:`~labforensics.ingest._lis_kernels.scan_records`: a quote is special only
    where a field starts, as :mod:`csv` and :func:`pyarrow.csv.read_csv` read it) that
    does not end inside quotes opens nothing: its odd quote is literal text
    (``a"b.csv``, ``12" ecran``). Such a line is kept only as the closer of the line
    that opened a field before it (``ligne deux"`` after ``"ligne un``). Fresh-eyes QA,
    session 22: every odd line was an opener, so one literal quote made its row "quote
    left open", quarantined (an export with it).

    Parameters
    ----------
    arr : numpy.ndarray of uint8
        The batch's bytes.
    odd_idx : numpy.ndarray of int64
        Lines (ascending) holding an odd number of quote bytes.
    line_start, line_end, line_file : numpy.ndarray of int64
        Every line's first byte, line-feed position and file.
    profile : Profile

    Returns
    -------
    numpy.ndarray of int64
        The subset of ``odd_idx`` that opens (ends inside quotes) or closes a field;
        a field never runs past its file's end.
    """
    from . import _lis_kernels as _k  # numba: imported on first read

    start, end = line_start[odd_idx], line_end[odd_idx]
    ce = end - ((end > start) & (arr[np.maximum(end - 1, 0)] == 13))  # a CRLF's CR
    _n, opens, _bad, _quoted, _hash = _k.scan_records(
        arr, start, ce, ord(profile.separator), ord(profile.quote)
    )
    keep = np.zeros(len(odd_idx), dtype=bool)
    inside, file_ = False, -1
    for k, (f, o) in enumerate(zip(line_file[odd_idx].tolist(), opens.tolist(), strict=True)):
        if f != file_:  # a quoted field never runs past its file's end
            inside, file_ = False, f
        if inside or o:  # a closer, or a line that opens a field
            keep[k], inside = True, not inside
    return odd_idx[keep]


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
    if len(odd_idx):  # a literal quote inside an unquoted field ('12" ecran') opens nothing
        odd_idx = _openers_and_closers(arr, odd_idx, line_start, line_end, line_file, profile)
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
            _walk_open_quotes(
                data, profile, line_start, line_end, line_file, odd_idx, odd_file, slow,
                last, status, keep,
            )  # fmt: skip
        first, last, status = first[keep], last[keep], status[keep]
    rs = line_start[first]
    le = line_end[last]
    # content end: drop the CR of a CRLF line end
    cr = (le > line_start[last]) & (arr[np.maximum(le - 1, 0)] == 13)
    ce = le - cr
    return first, last, rs, ce, status, line_start, line_file


_BARE_CR = re.compile(rb"\r(?!\n)")


def _bare_crs(
    arr: np.ndarray,
    data: bytes,
    rec: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    line_start: np.ndarray,
    profile: Profile,
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Bare CRs (a CR with no LF after it) outside quotes, in a file whose lines end in LF.

    The rule, per record (physical lines joined by quotes, :func:`_structure`):

    * when the record, its bare CRs read as ordinary characters, has the header's
      width (and no quote left open), each such CR is **data**: it is kept in the
      value (a CR pasted into a free-text field, say) and each field holding one is
      a field problem ``<column>: bare CR (carriage return without line feed) kept
      in the value``. Read as a line end, it would cut one valid event into two
      rows of the wrong width, both quarantined;
    * otherwise (and always for CRs that open a record: a file whose lines end in
      LF CR) each run of bare CRs is a **line end**, as Python's :mod:`csv` and
      :func:`pyarrow.csv.read_csv` read it (both end a row at a bare CR), and as
      the reader already reads the CRs of an old-Mac file: the record is split
      there and each part is a record of its own (its width, dates ... checked on
      their own, so two complete records joined by a bare CR are two events, and
      a bad part is quarantined alone). A part keeps the number of the physical
      line (counted by LF, as everywhere in the reader) it starts on, so records
      after it keep theirs; the file's note names the lines.

    CRs inside quotes are data already (a quoted field may hold line breaks), CRs
    ending a line are its line end, and a record with an LF outside quotes (lines
    joined by a literal quote) is left to the checks that quarantine it.

    Parameters
    ----------
    arr, data : numpy.ndarray, bytes
        The batch's UTF-8 bytes (uint8 view and bytes).
    rec : tuple of numpy.ndarray
        ``(first, last, rs, ce, status)`` of :func:`_structure`.
    line_start : numpy.ndarray
        int64 first byte of each physical line.
    profile : Profile

    Returns
    -------
    rec : tuple of numpy.ndarray
        ``(first, last, rs, ce, status)`` with the split records' parts in place of
        them (byte order kept).
    split_off : numpy.ndarray
        bool per record: a part after a bare CR read as a line end.
    kept : numpy.ndarray
        int64, ascending: positions of the bare CRs kept as data (hidden from the
        CSV parser, :func:`_parse_records`, and given back in the values).
    """
    first, last, rs, ce, status = rec
    none = np.zeros(0, dtype=np.int64)
    unsplit = np.zeros(len(rs), dtype=bool)
    if data.count(b"\r") == data.count(b"\r\n"):  # no bare CR: one memchr-fast pass each
        return rec, unsplit, none
    pos = np.fromiter((m.start() for m in _BARE_CR.finditer(data)), dtype=np.int64)
    ri = np.searchsorted(rs, pos, side="right") - 1
    inside = (ri >= 0) & (pos < ce[np.maximum(ri, 0)])
    cand = unique_sorted(ri[inside])
    if not len(cand):
        return rec, unsplit, none
    from . import _lis_kernels as _k  # numba: imported on first read

    sep, quote = ord(profile.separator), ord(profile.quote)
    c_rs, c_ce = rs[cand], ce[cand]
    run_rec, run_a, run_b, lf_out = _k.cr_runs(arr, c_rs, c_ce, sep, quote, int(inside.sum()))
    if not len(run_rec):
        return rec, unsplit, none
    counts, open_, _bad, _quoted, _hash = _k.scan_records(arr, c_rs, c_ce, sep, quote)
    whole = (counts == len(profile.header)) & ~open_ & (status[cand] == _OK) & ~lf_out
    lead = run_a == c_rs[run_rec]  # CRs opening a record end the line before (LF CR ends)
    as_data = whole[run_rec] & ~lead
    as_end = ~as_data & ~lf_out[run_rec]
    kept = none
    if as_data.any():  # rare: one arange a run
        kept = np.concatenate(
            [
                np.arange(x, y, dtype=np.int64)
                for x, y in zip(run_a[as_data], run_b[as_data], strict=True)
            ]
        )
    if not as_end.any():
        return rec, unsplit, kept
    r_ = cand[run_rec[as_end]]  # the record of each run read as a line end
    a, b = run_a[as_end], run_b[as_end]
    same_next = np.append(r_[1:] == r_[:-1], False)
    opens = np.insert(r_[1:] != r_[:-1], 0, True)  # a record's first run
    p_rs = b
    p_ce = np.where(same_next, np.append(a[1:], 0), ce[r_])
    p_first = np.searchsorted(line_start, p_rs, side="right") - 1
    p_last = np.where(same_next, np.searchsorted(line_start, p_ce, side="right") - 1, last[r_])
    p_status = np.where(same_next, _OK, status[r_]).astype(status.dtype)
    first, last, ce, status = first.copy(), last.copy(), ce.copy(), status.copy()
    head = r_[opens]  # the record's first part ends at its first run
    ce[head] = a[opens]
    last[head] = np.searchsorted(line_start, a[opens], side="right") - 1
    status[head] = _OK
    order = np.argsort(np.concatenate((rs, p_rs)), kind="stable")
    cat = lambda x, y: np.concatenate((x, y))[order]  # noqa: E731
    split_off = cat(unsplit, np.ones(len(p_rs), dtype=bool))
    out = (
        cat(first, p_first),
        cat(last, p_last),
        cat(rs, p_rs),
        cat(ce, p_ce),
        cat(status, p_status),
    )
    return out, split_off, kept


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


def _header_utf8(profile: Profile) -> bytes:
    """The header line as UTF-8 bytes (files are transcoded to UTF-8 before the scan)."""
    return profile.header_line.encode("utf-8")


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


def _parse_records(
    arr: np.ndarray,
    rs: np.ndarray,
    ce: np.ndarray,
    drop: np.ndarray,
    profile: Profile,
    newlines: bool,
    boms: np.ndarray | None = None,
    kept_cr: np.ndarray | None = None,
) -> pa.Table:
    """Split the validated records into string columns with :func:`pyarrow.csv.read_csv`.

    ``arr`` (uint8) is the batch's UTF-8 bytes; records ``rs[i]:ce[i]`` where
    ``drop`` is True (header lines, blank lines, quarantined records) are blanked
    into empty lines, which the parser skips, so its rows are the other records,
    one for one, in order. A line feed goes first: pyarrow drops a BOM at the very
    start of its input, and a record's value keeps it. ``newlines``: some record
    holds a line break inside quotes. ``boms``: positions of byte-order marks that
    open a record (a file glued on: the record starts after it), blanked too (three
    empty lines, skipped). ``kept_cr``: positions of bare CRs kept as data
    (:func:`_bare_crs`): given to the parser as NUL bytes (none is left in the data:
    NULs are read as spaces before), which it does not read as a line end, and given
    back as CRs in the values.

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
    hide = kept_cr is not None and len(kept_cr) > 0
    if hide:  # before the blanking: a dropped record's are blanked with it
        buf[kept_cr + 1] = 0
    _k.blank_ranges(buf, rs[drop] + 1, ce[drop] + 1)
    if boms is not None and len(boms):
        _k.blank_ranges(buf, boms + 1, boms + 4)
    longest = int((ce - rs)[~drop].max())
    table = pacsv.read_csv(
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
    if hide:
        for k, nm in enumerate(names):
            table = table.set_column(k, nm, pc.replace_substring(table[nm], "\x00", "\r"))
    return table


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

    ``nul_runs``: start of each run of NUL bytes in ``data`` (:func:`_nul_runs`),
    ascending; ``data``: NULs already replaced by spaces. See :func:`_problems_at`.
    """
    return _problems_at(
        nul_runs, "NUL byte replaced by space", data, rs, ce, kind, rfile, lines, profile
    )


def _problems_at(
    pos: np.ndarray,
    problem: str,
    data: bytes,
    rs: np.ndarray,
    ce: np.ndarray,
    kind: np.ndarray,
    rfile: np.ndarray,
    lines: np.ndarray,
    profile: Profile,
) -> list[tuple[int, FieldProblem]]:
    """One field problem ``<column>: <problem>`` per (data record, field) holding a position.

    Parameters
    ----------
    pos : numpy.ndarray
        int64 byte positions in ``data``, ascending; each lies inside one field (it
        is not a separator, quote or line end).
    problem : str
    data : bytes
        The batch's UTF-8 bytes.
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
    rec = np.searchsorted(rs, pos, side="right") - 1
    rc = np.maximum(rec, 0)
    keep = (rec >= 0) & (pos < ce[rc]) & (kind[rc] == 0)
    runs, rec = pos[keep], rec[keep]  # both ascending: one slice of runs a record
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
        seen = unique_sorted(np.searchsorted(field_start, runs[i0:i1] - a, side="right") - 1)
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
                        f"{name}: {problem}",
                    ),
                )
            )
    return out
