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
   **Transcoding** (:mod:`labforensics.ingest._lis_encoding`): each file's bytes
   become UTF-8, BOM dropped, a line end added after a last line without one
   (remembered: that record was cut short); the files are laid end to end. In a
   cp1252 file, a line holding valid UTF-8 multi-byte sequences that decodes as
   UTF-8 (a second program appending in UTF-8) is decoded as UTF-8, not read as
   mojibake (``hÃ©lÃ¨ne.m``); in a UTF-8 file, cp1252 lines (saved without a BOM)
   are decoded as cp1252; a byte no encoding reads becomes U+FFFD and its hex
   (``\ufffdx81``: two values never become one). All are counted per file
   (``rows_recoded``, ``replacement_chars``, ``encoding_note`` with the lines) and
   each (record, field) concerned is a field problem
   ``<column>: written in UTF-8 in a cp1252 file: decoded as UTF-8`` (or cp1252 in a
   UTF-8 file) or ``<column>: undecodable byte(s) (utf-8) read as U+FFFD followed by
   its hex (xNN)``.
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
   elsewhere it is a literal character, so ``a"b;c"d`` is two fields). A bare CR
   (no LF after it) outside quotes is data in a record of the header's width (kept
   in the value, a field problem ``<column>: bare CR (carriage return without line
   feed) kept in the value``) and otherwise a line end, as csv and pyarrow read it:
   the record is split there, each part numbered by the physical line it starts on
   (the file's ``note`` names those lines;
   :func:`labforensics.ingest._lis_structure._bare_crs`). A row of the wrong width,
   one that ends inside quotes, or one with a line feed outside quotes (lines
   joined by an odd quote count from a literal quote) is quarantined with its line. After a gzip cut, the partial bytes after the last
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

from pathlib import Path

import numpy as np

from ..._arrays import unique_sorted
from .._common import MAX_LINE_BYTES
from .._cut_char import cut_char_note, partial_last_line_reason
from .._kept_lines import kept_line_problems
from .._lis_convert import _convert
from .._lis_encoding import _is_utf8, encoding_account, transcode
from .._lis_structure import (
    _BOM,
    _NUL_TO_SPACE,
    _OK,
    _OPEN_AT_EOF,
    _bare_crs,
    _capped_text,
    _cr_only,
    _header_utf8,
    _nul_problems,
    _nul_runs,
    _parse_records,
    _problems_at,
    _structure,
)
from ..files import read_bytes
from ..profile_choice import sniff_profile
from ..profiles import Profile, load_profile
from ..registry import (
    BatchRead,
    FieldProblem,
    FileRead,
    QuarantineRow,
    ReadContext,
    ReaderSpec,
    register_reader,
)

__all__ = ["parse_lis_bytes", "read_lis", "read_lis_many"]


# --------------------------------------------------------------------------- reading


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
        items.append((dec.data, ctx, path.name, dec.truncated, dec.note, dec.utf16))
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
    return _one(_parse_many([(data, ctx, name, truncated, truncation_note, None)], profile,
                            fmt_name))  # fmt: skip


def _join_files(
    items: list[tuple], profile: Profile
) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The files' bytes as UTF-8, end to end: the data, each file's start (and the end),
    whether a line end was added after its last line, and the positions in the data of
    the replacement characters and of the characters of lines decoded as UTF-8 in a
    single-byte file (:func:`labforensics.ingest._lis_encoding.transcode`); a file that
    was UTF-16 text (item 5: the positions of the U+FFFD its conversion made) is valid
    UTF-8 here, so its replacement characters are those positions."""
    nf = len(items)
    parts: list[bytes | memoryview] = []
    starts = np.zeros(nf + 1, dtype=np.int64)
    appended = np.zeros(nf, dtype=bool)
    replaced, recoded = [], []
    pos = 0
    for k, (d, _ctx, _name, _tr, _note, utf16) in enumerate(items):
        starts[k] = pos
        if _cr_only(d):  # each CR is a line end (one physical line each): make it LF
            d = bytes(d).replace(b"\r", b"\n")
        bom = 3 if d.startswith(_BOM) else 0
        if utf16 is not None:  # UTF-16 text: Unicode, valid UTF-8 here, nothing re-decoded
            # (a cp1252 profile's line-by-line reading turned a line whose only non-ASCII
            # text was the conversion's U+FFFD into mojibake: session 12); its U+FFFD
            v = bytes(memoryview(d)[bom:])
            replaced.append(np.asarray(utf16, dtype=np.int64) - bom + pos)
        else:
            t = transcode(memoryview(d)[bom:] if bom else d, profile.encoding)
            v = t.data
            if len(t.replaced):
                replaced.append(t.replaced + pos)
            if len(t.recoded):
                recoded.append(t.recoded + pos)
        parts.append(v)
        pos += len(v)
        if len(v) and v[-1] != 10:  # a last line without line end: give it one
            parts.append(b"\n")
            appended[k] = True
            pos += 1
    starts[nf] = pos

    def cat(a: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(a) if a else np.zeros(0, dtype=np.int64)

    return b"".join(parts), starts, appended, cat(replaced), cat(recoded)


def _past_bom(arr: np.ndarray, rs: np.ndarray, ce: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Record starts moved past a byte-order mark (EF BB BF) that opens the record, and
    the marks' positions (int64; the parser blanks them: :func:`_parse_records`).

    A BOM inside the data is a file glued on with ``cat`` (a UTF-8 file with its BOM):
    the record it opens is read without it, so a glued header is a repeated header and
    a glued data row's date parses (it was quarantined as ``'\\ufeff15/03/2020'``).
    Vectorised over the records whose first byte is 0xEF.
    """
    none = np.zeros(0, dtype=np.int64)
    if not len(rs):
        return rs, none
    cand = np.flatnonzero((ce - rs >= 3) & (arr[np.minimum(rs, len(arr) - 1)] == 0xEF))
    if not len(cand):
        return rs, none
    c = rs[cand]
    bom = (arr[c + 1] == 0xBB) & (arr[c + 2] == 0xBF)
    if not bom.any():
        return rs, none
    at = rs[cand[bom]].astype(np.int64)
    rs = rs.copy()
    rs[cand[bom]] += 3
    return rs, at


def _raw_text(data: bytes, rs: np.ndarray, ce: np.ndarray, i: int) -> str:
    """Record i's text (BOMs dropped), capped, for a quarantine entry."""
    a, b = int(rs[i]), int(ce[i])
    while data.startswith(_BOM, a, b):
        a += 3
    return _capped_text(data, a, b)


def _header_kinds(
    data: bytes,
    rs: np.ndarray,
    ce: np.ndarray,
    rfile: np.ndarray,
    profile: Profile,
    kind: np.ndarray,
) -> np.ndarray:
    """Mark header lines (1 first, 2 repeated) and blank records (3) in ``kind``;
    returns whether each record is its file's last."""
    n_rec = len(rs)
    header = _header_utf8(profile)
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
    return is_last


def _quarantine_gzip_cut(
    data: bytes,
    rs: np.ndarray,
    ce: np.ndarray,
    rfile: np.ndarray,
    lines: np.ndarray,
    gz_cut: np.ndarray,
    appended: np.ndarray,
    kind: np.ndarray,
    quarantine: list[list[QuarantineRow]],
    notes: list[list[str]],
) -> None:
    """A gzip member cut short (``gz_cut`` 1), or a file ending inside a character
    (``gz_cut`` 2, :mod:`.._cut_char`): whatever follows the last line end is a partial
    record, whatever its width (its last field is cut), so it is never an event."""

    def raw_text(i: int) -> str:
        return _raw_text(data, rs, ce, i)

    for f in np.flatnonzero((gz_cut > 0) & appended):
        i = int(np.searchsorted(rfile, f, side="right")) - 1
        if i < 0 or rfile[i] != f or kind[i] != 0:
            continue
        reason = partial_last_line_reason(gz_cut[f] == 1, gz_cut[f] == 2)
        quarantine[f].append(QuarantineRow(int(lines[i]), reason, raw_text(i)))
        if gz_cut[f] == 1:  # a character cut's note is already said (cut_char_note)
            notes[f].append(f"last record (line {lines[i]}) cut short by the gzip cut")
        kind[i] = 4


def _quarantine_bad_records(
    data: bytes,
    rs: np.ndarray,
    ce: np.ndarray,
    rfile: np.ndarray,
    lines: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    status: np.ndarray,
    scan: tuple,
    is_last: np.ndarray,
    rec_eol: np.ndarray,
    expected: int,
    gz_cut: np.ndarray,
    appended: np.ndarray,
    kind: np.ndarray,
    quarantine: list[list[QuarantineRow]],
    notes: list[list[str]],
    truncated: list[bool],
) -> None:
    """Quarantine (``kind`` 4) the data records that cannot be read as one row each:
    cut by a gzip cut, a quote left open, a wrong width, bad quoting, or else longer
    than :data:`~.._common.MAX_LINE_BYTES`; ``scan``:
    (counts, open_end, bad_break) of :func:`_lis_kernels.scan_records`."""
    counts, open_end, bad_break = scan

    def raw_text(i: int) -> str:
        return _raw_text(data, rs, ce, i)

    _quarantine_gzip_cut(data, rs, ce, rfile, lines, gz_cut, appended, kind, quarantine, notes)
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
    # a line feed outside quotes (a quote in mid-field made a line's quote count odd):
    # CSV readers end the row there, so it cannot be read as one record (a bare CR was
    # split off or kept as data before: _lis_structure._bare_crs)
    for i in np.flatnonzero((kind == 0) & bad_break):
        f = int(rfile[i])
        quarantine[f].append(
            QuarantineRow(
                int(lines[i]), "unparseable quoting: line break outside quotes", raw_text(i)
            )
        )
        kind[i] = 4
    # a record otherwise well formed but longer than a line may be: no table row
    for i in np.flatnonzero((kind == 0) & (ce - rs > MAX_LINE_BYTES)):
        reason = (
            f"record of {int(ce[i] - rs[i]):,} bytes, longer than the "
            f"{MAX_LINE_BYTES // (1 << 20)} MiB a line may have: not read"
        )
        quarantine[int(rfile[i])].append(QuarantineRow(int(lines[i]), reason, raw_text(i)))
        kind[i] = 4


def _per_file_problems(
    nf: int,
    problems: list[tuple[int, FieldProblem]],
    nul_runs: np.ndarray,
    data: bytes,
    rs: np.ndarray,
    ce: np.ndarray,
    kind: np.ndarray,
    rfile: np.ndarray,
    lines: np.ndarray,
    profile: Profile,
    enc_problems: list[tuple[int, FieldProblem]],
    quarantine: list[list[QuarantineRow]],
) -> list[list[FieldProblem]]:
    """Each file's field problems: the conversion's, then the NUL bytes' and the
    encoding's (sorted by line), none of a quarantined record (:mod:`.._kept_lines`)."""
    per_file_problems: list[list[FieldProblem]] = [[] for _ in range(nf)]
    for f, p in problems:
        per_file_problems[f].append(p)
    if len(nul_runs) or enc_problems:
        if len(nul_runs):
            enc_problems = enc_problems + _nul_problems(
                nul_runs, data, rs, ce, kind, rfile, lines, profile
            )
        byte_level: list[list[FieldProblem]] = [[] for _ in range(nf)]
        for f, p in enc_problems:
            byte_level[f].append(p)
        for f, fp in enumerate(per_file_problems):
            fp += kept_line_problems(byte_level[f], quarantine[f])
            fp.sort(key=lambda p: p.line or 0)
    return per_file_problems


def _file_reads(
    items: list[tuple],
    g_file: np.ndarray,
    rfile: np.ndarray,
    kind: np.ndarray,
    quarantine: list[list[QuarantineRow]],
    per_file_problems: list[list[FieldProblem]],
    truncated: list[bool],
    notes: list[list[str]],
    labs: list[str | None],
    file_lab_date: list[tuple],
) -> tuple[np.ndarray, list[FileRead]]:
    """Events per file and each file's :class:`FileRead` (its rows in the batch's table)."""
    nf = len(items)
    rows_read = np.bincount(rfile[kind != 1], minlength=nf)
    repeated = np.bincount(rfile[kind == 2], minlength=nf)
    ignored = np.bincount(rfile[kind == 3], minlength=nf)
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
                name_lab=file_lab_date[f][0],
            )
        )
    return n_ev, files


def _parse_many(items: list[tuple], profile: Profile, fmt_name: str) -> BatchRead:
    """Read the decompressed bytes of several files: ``(data, ctx, name, truncated, note)``."""
    from .. import _lis_kernels as _k  # numba: imported on first read

    nf = len(items)
    data, starts, appended, replaced, recoded = _join_files(items, profile)
    # NUL bytes (a crashed writer, binary junk) are read as spaces: each run is reported
    # below as a field problem of its record's field, so the change is visible.
    nul_runs = np.zeros(0, dtype=np.int64)
    if b"\x00" in data:
        nul_runs = _nul_runs(np.frombuffer(data, dtype=np.uint8))
        data = data.translate(_NUL_TO_SPACE)  # a table lookup a byte: replace() is 10x slower
    arr = np.frombuffer(data, dtype=np.uint8)
    first, last, rs, ce, status, line_start, line_file = _structure(arr, profile, data, starts)
    # bare CRs outside quotes: data in a record of the right width, else line ends
    (first, last, rs, ce, status), split_off, kept_cr = _bare_crs(
        arr, data, (first, last, rs, ce, status), line_start, profile
    )
    rs0 = rs  # the records' first bytes: a glued file's BOM is its record's (encoding)
    rs, boms = _past_bom(arr, rs, ce)
    has_eol = np.ones(len(line_start), dtype=bool)
    if appended.any():
        has_eol[np.searchsorted(line_start, starts[1:][appended], side="left") - 1] = False
    rec_eol = has_eol[last]
    n_rec = len(rs)
    rfile = line_file[first]
    file_line0 = np.searchsorted(line_file, np.arange(nf))  # first line of each file
    lines = first - file_line0[rfile] + 1  # 1-based physical line where each record starts
    expected = len(profile.header)
    quarantine: list[list[QuarantineRow]] = [[] for _ in range(nf)]
    notes: list[list[str]] = [[it[4]] if it[4] else [] for it in items]
    truncated = [bool(it[3]) for it in items]
    # the data stops at a cut: 1 of gzip, 2 inside a UTF-8 (UTF-16) character
    gz_cut = np.asarray(truncated, dtype=np.int8)
    single_byte = not _is_utf8(profile.encoding)  # a UTF-8 last line is looked at
    for f, it in enumerate(items):
        if not truncated[f]:
            cut = cut_char_note(bytes(it[0]), it[5], single_byte=single_byte and it[5] is None)
            if cut:
                truncated[f] = True
                notes[f].append(cut)
                gz_cut[f] = 2
    quoted_break = np.zeros(n_rec, dtype=bool)
    kind = np.zeros(n_rec, dtype=np.int8)  # 0 data, 1 header, 2 repeated header, 3 blank, 4 quar

    if n_rec:
        is_last = _header_kinds(data, rs, ce, rfile, profile, kind)
        # width, quoting and rotation hash of every record: one pass over the bytes
        counts, open_end, bad_break, quoted_break, all_hash = _k.scan_records(
            arr, rs, ce, ord(profile.separator), ord(profile.quote)
        )
        if len(kept_cr):  # their only line breaks outside quotes are CRs kept as data
            bad_break[np.searchsorted(rs, kept_cr, side="right") - 1] = False
        _quarantine_bad_records(
            data, rs, ce, rfile, lines, first, last, status,
            (counts, open_end, bad_break), is_last, rec_eol, expected, gz_cut, appended,
            kind, quarantine, notes, truncated,
        )  # fmt: skip
    good = np.flatnonzero(kind == 0)
    # --- fields of the validated records: pyarrow's CSV parser ----------------------
    g_lines = lines[good]
    g_file = rfile[good]
    g_rs, g_ce = rs[good], ce[good]
    table = _parse_records(
        arr, rs, ce, kind != 0, profile, bool(quoted_break[good].any()), boms, kept_cr
    )
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
    enc = encoding_account(replaced, recoded, starts, data, rs0, ce, kind, rfile, lines, profile,
                           [None if it[5] is None else "UTF-16" for it in items])  # fmt: skip
    cr_problems = []
    if len(kept_cr):
        cr_problems = _problems_at(
            kept_cr, "bare CR (carriage return without line feed) kept in the value",
            data, rs, ce, kind, rfile, lines, profile,
        )  # fmt: skip
    per_file_problems = _per_file_problems(
        nf, problems, nul_runs, data, rs, ce, kind, rfile, lines, profile,
        enc.problems + cr_problems, quarantine,
    )  # fmt: skip
    n_ev, files = _file_reads(
        items, g_file, rfile, kind, quarantine, per_file_problems, truncated, notes, labs,
        file_lab_date,
    )  # fmt: skip
    for f, fr in enumerate(files):
        fr.rows_recoded = int(enc.recoded_rows[f])
        fr.replacement_chars = int(enc.replaced[f])
        fr.encoding_note = enc.notes[f]
    if split_off.any():
        for f, note in _split_notes(split_off, rfile, lines, nf).items():
            files[f].note = note
    for f, note in _bom_notes(np.isin(rs0, boms), rfile, lines, nf).items():
        files[f].note = f"{files[f].note}; {note}" if files[f].note else note
    return BatchRead(events=events, counts=n_ev, files=files, unknown_codes=unknown)


def _bom_notes(
    opened: np.ndarray, rfile: np.ndarray, lines: np.ndarray, nf: int, limit: int = 10
) -> dict[int, str]:
    """File -> ``"byte-order mark (U+FEFF) opening line(s) 69: ..."`` for the files
    where a record inside the data starts with a BOM (:func:`_past_bom`): the start of
    another UTF-8 file glued on (``cat``), read without its mark, named so that the
    splice is seen (fresh-eyes QA 14: it was read silently); ``limit`` lines named."""
    out: dict[int, str] = {}
    if not opened.any():
        return out
    for f in range(nf):
        where = unique_sorted(lines[opened & (rfile == f)]).tolist()
        if not where:
            continue
        shown = ", ".join(str(x) for x in where[:limit])
        more = f" and {len(where) - limit:,} more" if len(where) > limit else ""
        out[f] = (
            f"byte-order mark (U+FEFF) opening line(s) {shown}{more}: the start of another "
            "UTF-8 file glued on; read without the mark"
        )
    return out


def _split_notes(
    split_off: np.ndarray, rfile: np.ndarray, lines: np.ndarray, nf: int, limit: int = 10
) -> dict[int, str]:
    """File -> ``"bare CR (...) read as a line end: 1 record(s) more than lines, on
    line(s) 2"`` for the files where a bare CR split a record
    (:func:`labforensics.ingest._lis_structure._bare_crs`); ``limit`` lines named."""
    out: dict[int, str] = {}
    for f in range(nf):
        at = lines[split_off & (rfile == f)]
        if not len(at):
            continue
        where = unique_sorted(at).tolist()
        shown = ", ".join(str(x) for x in where[:limit])
        more = f" and {len(where) - limit:,} more" if len(where) > limit else ""
        out[f] = (
            "bare CR (carriage return without line feed) read as a line end: "
            f"{len(at):,} record(s) more than lines, on line(s) {shown}{more}"
        )
    return out


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
