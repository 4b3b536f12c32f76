"""Files of a regex profile (``format = "regex"``): one event a line, fields from named groups.

The lines are matched by the profile's anchored pattern at once; the groups are converted
by the LIS CSV conversion (:mod:`labforensics.ingest._lis_convert`), so the timestamps,
outcomes, action codes, numbers and quarantine rules are the CSV profiles' own. Not a
sniffed format: :mod:`labforensics.ingest._engine` hands a regex profile's files here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..._arrays import unique_sorted
from .._cut_char import cut_char_note, partial_last_line_reason
from .._kept_lines import kept_line_problems
from .._lis_convert import _convert
from .._lis_encoding import Transcoded, _is_utf8, line_account, transcode
from .._lis_structure import _cells
from .._timeformats import _MONTHS, EPOCH_UNITS, human_format
from ..files import read_bytes
from ..profiles import Profile, TimestampSpec
from ..registry import BatchRead, FieldProblem, FileRead, QuarantineRow

__all__ = ["read_regex_many"]


def _normalise_times(table: pa.Table, spec: TimestampSpec) -> tuple[pa.Table, TimestampSpec]:
    """Month names (``%b``) to numbers and ``+hhmm`` offsets to ``+hh:mm``, vectorised.

    The strict fixed-width parser of the CSV reader then reads the column at
    once (``10/Oct/2000:13:55:36 -0700`` -> ``10/10/2000:13:55:36 -07:00``).
    """
    for ckey, fkey in (("column", "format"), ("date_column", "date_format")):
        name, fmt = getattr(spec, ckey), getattr(spec, fkey)
        if name is None or fmt is None or fmt in EPOCH_UNITS:
            continue
        col = table.column(name)
        new_fmt = fmt
        if "%b" in fmt:
            for i, mon in enumerate(_MONTHS):
                col = pc.replace_substring(col, mon, f"{i + 1:02d}")
            new_fmt = new_fmt.replace("%b", "%m")
        if fmt.endswith("%z"):
            col = pc.replace_substring_regex(col, r"([+-]\d{2})(\d{2})$", r"\1:\2")
        if new_fmt != fmt or fmt.endswith("%z"):
            table = table.set_column(table.schema.get_field_index(name), name, col)
            spec = TimestampSpec(**{**spec.__dict__, fkey: new_fmt})
    return table, spec


def _as_written(q, table: pa.Table, as_written: pa.Table, row: int, formats: list):
    """A quarantine entry whose reason quotes normalised times, quoting them as written.

    ``formats``: (normalised, as written) format pairs, e.g. ``%m`` for ``%b``.
    """
    reason = q.reason
    for new, old in formats:
        reason = reason.replace(
            f"(expected {human_format(new)})", f"(expected {human_format(old)})"
        )
    for name in table.column_names:
        new, old = table.column(name)[row].as_py(), as_written.column(name)[row].as_py()
        if new != old and new is not None:
            reason = reason.replace(repr(new), repr(old))
    return QuarantineRow(q.line, reason, q.raw)


def _read_lines(
    paths: list[Path], profile: Profile
) -> tuple[pa.Array, np.ndarray, np.ndarray, list[bool], list[str], list[list], list[tuple], dict]:
    """The files' lines as one Arrow array (line end dropped), each line's file and number,
    each file's truncation flag and note, its field problems (NUL bytes, encoding), its
    (rows recoded, replacement characters, encoding note), and the partial last lines
    (index in the array -> quarantine reason: a file cut by gzip or inside a character,
    :mod:`.._cut_char`)."""
    nf = len(paths)
    arrays, fidx_parts, line_parts = [], [], []
    truncated, notes = [], []
    per_file_problems: list[list] = [[] for _ in range(nf)]
    enc: list[tuple] = [(0, 0, "")] * nf  # rows recoded, replacement chars, note
    partial: dict[int, str] = {}  # a cut file's last line (no line end): never an event
    n_before = 0
    for k, path in enumerate(paths):
        dec = read_bytes(path)
        data = dec.data
        bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        data = data[bom:]
        if b"\n" not in data[:65536] and b"\r" in data[:65536]:  # old Mac line ends
            data = data.replace(b"\r", b"\n")
        t = transcode(data, profile.encoding)
        label = profile.encoding
        if dec.utf16 is not None:  # UTF-16 text: Unicode, nothing re-decoded; the
            # conversion's U+FFFD are its undecodable sequences
            t = Transcoded(t.data, np.asarray(dec.utf16, dtype=np.int64) - bom, t.recoded[:0])
            label = "UTF-16"
        utf8 = bytes(t.data)  # valid UTF-8 from here
        no_eol = bool(utf8) and not utf8.endswith(b"\n")
        if no_eol:
            utf8 += b"\n"
        if len(t.replaced) or len(t.recoded):  # rows in UTF-8, undecodable bytes: named
            nl = np.flatnonzero(np.frombuffer(utf8, np.uint8) == 10)
            *counts, probs = line_account(t, nl, label)
            enc[k] = tuple(counts)
            per_file_problems[k] += probs
        # lines as one Arrow array over the file's bytes: offsets from the line feeds
        if b"\x00" in utf8:  # NUL bytes (a crashed writer): read as U+FFFD, reported
            nl = np.flatnonzero(np.frombuffer(utf8, np.uint8) == 10)
            nul = np.flatnonzero(np.frombuffer(utf8, np.uint8) == 0)
            for ln in unique_sorted(np.searchsorted(nl, nul, side="left") + 1).tolist():  # rare
                per_file_problems[k].append(
                    FieldProblem(
                        ln,
                        "line",
                        "",
                        "NUL byte read as U+FFFD (not a space: "
                        "a space separates fields in a regex profile's lines)",
                    )
                )
            utf8 = utf8.replace(b"\x00", "\ufffd".encode())
        nl = np.flatnonzero(np.frombuffer(utf8, np.uint8) == 10)
        offsets = np.concatenate(([0], nl + 1)).astype(np.int64)
        n_lines = len(nl)
        arrays.append(
            pa.LargeStringArray.from_buffers(
                n_lines, pa.py_buffer(offsets.tobytes()), pa.py_buffer(utf8)
            )
        )
        fidx_parts.append(np.full(n_lines, k, np.int64))
        line_parts.append(np.arange(1, n_lines + 1, dtype=np.int64))
        # a file ending inside a character was cut (a gzip cut says why): in a cp1252
        # file, a last line written in UTF-8 only
        single = dec.utf16 is None and not _is_utf8(profile.encoding)
        cut = "" if dec.truncated else cut_char_note(dec.data, dec.utf16, single_byte=single)
        reason = partial_last_line_reason(bool(dec.truncated), bool(cut))
        if reason and no_eol:
            partial[n_before + n_lines - 1] = reason
        n_before += n_lines
        truncated.append(bool(dec.truncated) or bool(cut))
        notes.append("; ".join(x for x in (dec.note, cut) if x))
    lines = pa.concat_arrays(arrays) if arrays else pa.array([], pa.large_string())
    lines = pc.replace_substring_regex(lines, r"\r?\n$", "")  # the line end
    fidx = np.concatenate(fidx_parts) if fidx_parts else np.zeros(0, np.int64)
    lineno = np.concatenate(line_parts) if line_parts else np.zeros(0, np.int64)
    return lines, fidx, lineno, truncated, notes, per_file_problems, enc, partial


def _match_lines(
    lines: pa.Array,
    fidx: np.ndarray,
    lineno: np.ndarray,
    profile: Profile,
    nf: int,
    partial: dict[int, str],
) -> tuple[pa.Table, pa.Array, np.ndarray, np.ndarray, list[list]]:
    """Match the lines to the profile's pattern: the fields of the matched lines (a table),
    those lines, their indices, the blank lines, and each file's quarantined lines
    (``partial``: the cut last lines, quarantined with their reason whatever they hold)."""
    blank = pc.equal(pc.utf8_trim_whitespace(lines), "").to_numpy(zero_copy_only=False)
    found = pc.extract_regex(lines, pattern=profile.pattern)
    matched = found.is_valid().to_numpy(zero_copy_only=False) & ~blank
    if partial:
        cut = np.asarray(sorted(partial), dtype=np.int64)
        matched[cut] = False
        blank[cut] = False
    quarantine: list[list] = [[] for _ in range(nf)]
    bad = np.flatnonzero(~matched & ~blank)
    for i, v in zip(bad.tolist(), _cells(lines, bad), strict=True):  # rare
        reason = partial.get(i, "line does not match the profile's pattern")
        quarantine[int(fidx[i])].append(QuarantineRow(int(lineno[i]), reason, v or ""))
    good = np.flatnonzero(matched)
    sel = pa.array(good)
    g_lines = lines.take(sel)
    found = found.take(sel)
    absent = pa.array(list(profile.missing_values) + [""], pa.string())
    cols = {}
    for name in profile.header:
        c = pc.cast(found.field(name), pa.string())
        cols[name] = pc.if_else(pc.is_in(c, value_set=absent), pa.scalar(None, pa.string()), c)
    table = pa.table(cols) if cols else pa.table({})
    return table, g_lines, good, blank, quarantine


def _line_hashes(g_lines: pa.LargeStringArray) -> np.ndarray:
    """64-bit FNV-1a hash (int64) of each matched line's text (rotation compares them)."""
    from ..._sessions_kernels import fnv1a64  # numba: imported on first read

    bufs = g_lines.buffers()
    if len(g_lines):
        offsets = np.frombuffer(bufs[1], np.int64)[
            g_lines.offset : g_lines.offset + len(g_lines) + 1
        ]
        rec_hash = fnv1a64(np.ascontiguousarray(offsets), np.frombuffer(bufs[2], np.uint8)).view(
            np.int64
        )
    else:
        rec_hash = np.zeros(0, np.int64)
    return rec_hash


def _quote_as_written(
    qrows: list,
    table: pa.Table,
    as_written: pa.Table,
    spec: TimestampSpec,
    profile: Profile,
    key: np.ndarray,
) -> list:
    """Quarantine reasons quoting the times as written (``Oct``, ``-0700``), not normalised.

    ``key``: file * 2**40 + line of each matched line (ascending).
    """
    fmts = [
        (getattr(spec, k), getattr(profile.timestamp, k))
        for k in ("format", "date_format")
        if getattr(spec, k) != getattr(profile.timestamp, k)
    ]
    qrows = [
        (
            f,
            _as_written(
                q, table, as_written, int(np.searchsorted(key, f * (1 << 40) + q.line)), fmts
            ),
        )
        for f, q in qrows
    ]
    return qrows


def _file_reads(
    paths: list[Path],
    fidx: np.ndarray,
    g_file: np.ndarray,
    blank: np.ndarray,
    quarantine: list[list],
    per_file_problems: list[list],
    truncated: list[bool],
    notes: list[str],
    labs: list,
    file_lab_date: list[tuple],
) -> tuple[np.ndarray, list[FileRead]]:
    """Events per file and each file's :class:`FileRead` (its rows in the batch's table)."""
    nf = len(paths)
    n_ev = np.bincount(g_file, minlength=nf).astype(np.int64)
    rows = np.bincount(fidx, minlength=nf)
    ignored = np.bincount(fidx[blank], minlength=nf)
    files = []
    for f in range(nf):
        q = sorted(quarantine[f], key=lambda r: r.line or 0)
        files.append(
            FileRead(
                events=None,  # type: ignore[arg-type]  # the rows are in BatchRead.events
                rows_read=int(rows[f]),
                rows_to_events=int(n_ev[f]),
                ignored=int(ignored[f]),
                quarantine=q,
                field_problems=per_file_problems[f],
                truncated=truncated[f],
                truncation_note=notes[f],
                lab=labs[f],
                file_date=file_lab_date[f][1],
                name_lab=file_lab_date[f][0],
            )
        )
    return n_ev, files


def read_regex_many(paths: list[Path], ctxs: list, profile: Profile, fmt_name: str):
    """Read files of a regex profile (one event a line), all at once.

    Lines are split and matched by the profile's anchored pattern in one pass
    (:func:`pyarrow.compute.extract_regex`, RE2); the groups become the fields,
    converted by the CSV reader's vectorised conversion (same timestamps,
    outcomes, action codes, numbers and quarantine rules). A blank line is
    ignored; a line the pattern does not match is quarantined.

    Parameters
    ----------
    paths : list of pathlib.Path
        Evidence files (gzip detected by magic bytes), opened read-only.
    ctxs : list of ReadContext
        One per file.
    profile : Profile
        A profile with ``format = "regex"``.
    fmt_name : str
        Recorded in ``source_format``.

    Returns
    -------
    BatchRead
        Never raises on content.
    """
    nf = len(paths)
    lines, fidx, lineno, truncated, notes, per_file_problems, enc, partial = _read_lines(
        paths, profile
    )
    table, g_lines, good, blank, quarantine = _match_lines(
        lines, fidx, lineno, profile, nf, partial
    )
    as_written = table
    table, spec = _normalise_times(table, profile.timestamp)
    conv = Profile(**{**profile.__dict__, "timestamp": spec})
    rec_hash = _line_hashes(g_lines)

    def rec_text(i: int) -> str:  # matched line i, capped, for a quarantine entry
        return _cells(g_lines, [i])[0] or ""

    file_lab_date = [profile.file_lab_date(p.name) for p in paths]
    events, qrows, problems, unknown, labs, g_file = _convert(
        table,
        rec_hash,
        rec_text,
        lineno[good],
        fidx[good],
        ctxs,
        conv,
        fmt_name,
        [fl for fl, _ in file_lab_date],
    )
    if table is not as_written and qrows:  # reasons quote the time as written (Oct, -0700)
        key = fidx[good] * (1 << 40) + lineno[good]  # ascending: files, then lines
        qrows = _quote_as_written(qrows, table, as_written, spec, profile, key)
    for f, q in qrows:
        quarantine[f].append(q)
    # a quarantined line's NUL and encoding problems: its quarantine row says it all
    per_file_problems = [
        kept_line_problems(fp, q) for fp, q in zip(per_file_problems, quarantine, strict=True)
    ]
    for f, p in problems:
        per_file_problems[f].append(p)
    n_ev, files = _file_reads(
        paths, fidx, g_file, blank, quarantine, per_file_problems, truncated, notes, labs,
        file_lab_date,
    )  # fmt: skip
    for fr, (n_rec, n_rep, note) in zip(files, enc, strict=True):
        fr.rows_recoded, fr.replacement_chars, fr.encoding_note = n_rec, n_rep, note
    return BatchRead(events=events, counts=n_ev, files=files, unknown_codes=unknown)
