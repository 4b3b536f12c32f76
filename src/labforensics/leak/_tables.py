"""Reading one table file of people (patient index or dump) into raw canonical columns.

Private to :mod:`labforensics.leak`: decoding (UTF-8 with or without BOM, cp1252,
UTF-16 with BOM; binary and BOM-less UTF-16 refused), separator sniffing, the
header, the column mapping or the built-in names, fixed-width ranges, and the
line accounting (header, blank, malformed). No cell value ever reaches a
message or the accounting: lines are named by number, columns by header name or
position.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..case import DEFAULT_TZ
from ..custody import sha256_bytes
from ..errors import EvidenceError, ProfileError
from ..ingest.files import (
    common_root,
    expand_paths,
    read_bytes,
    relative_name,
    utf16_without_bom,
)
from ..labcodes import lab_alias_map, resolve_lab_series
from ..privacy import load_case_key
from .mapping import (
    DEFAULT_EMPTY,
    FIELD_NAMES,
    ColumnMapping,
    ColumnSpec,
    choose_mapping,
    header_key,
)
from .people import newest_year

_SEPARATORS = (";", "\t", "|", ",")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EXPECTED = "a text table (UTF-8 with or without BOM, cp1252, or UTF-16 with a BOM)"


@dataclass
class Table:
    """One file's rows as raw canonical columns, with its accounting.

    ``fields`` maps a canonical field to the trimmed cells of the kept rows
    (``string``, NA where empty); ``lines`` holds their physical line numbers (a row
    whose quoted field holds line breaks is numbered by the line where it starts);
    ``continued`` counts the physical lines inside such a field after its first
    (neither rows nor blank lines).
    """

    path: Path
    name: str
    sha256: str
    encoding: str
    separator: str | None
    fixed_width: bool
    mapping: str | None
    header_line: int | None
    lines_total: int
    blank: int
    malformed: list[tuple[int, str]]
    lines: np.ndarray
    fields: dict[str, pd.Series]
    columns: list[dict[str, str]]
    other_columns: list[str]
    formats: dict[str, str | None] = field(default_factory=dict)
    date_system: int = 1900
    layout: list[str] = field(default_factory=list)
    continued: int = 0

    def accounting(self) -> dict[str, Any]:
        """The file's shape and counts for the report (no value)."""
        return {
            "file": self.name,
            "sha256": self.sha256,
            "encoding": self.encoding,
            "separator": self.separator,
            "fixed_width": self.fixed_width,
            "mapping": self.mapping or "recognised by header names",
            "header_line": self.header_line,
            "lines": self.lines_total,
            "blank": self.blank,
            "malformed": len(self.malformed),
            "continued": self.continued,
            "columns": self.columns,
            "layout": self.layout,
            "other_columns": self.other_columns,
        }


def decode(data: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    """The file's text and the encoding read.

    Raises
    ------
    EvidenceError
        NUL bytes without a UTF-16 BOM (binary, or UTF-16 without BOM), bytes that
        neither UTF-8 nor cp1252 decode (the message names the first lines holding them
        and their count: :func:`_bad_lines`), or control characters of a binary file;
        the message names the file and what was expected, never its content.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        enc = "utf-16"
    elif encoding == "utf-16":
        raise EvidenceError(f"{path}: mapping says UTF-16 but the file has no BOM; {_EXPECTED}")
    elif b"\x00" in data[: 1 << 20]:
        utf16 = utf16_without_bom(data)
        if utf16 is not None:
            raise EvidenceError(f"{path}: {utf16}; expected {_EXPECTED}")
        raise EvidenceError(
            f"{path}: holds NUL bytes (a binary file, or UTF-16 without a BOM); expected "
            f"{_EXPECTED}: export it again as UTF-8 or as Unicode text with a BOM"
        )
    else:
        enc = encoding or ""
    tries = [enc] if enc else ["utf-8", "cp1252"]
    for e in tries:
        try:
            text = data.decode(e)
        except (UnicodeDecodeError, LookupError):
            continue
        if text.startswith("\ufeff"):
            text = text[1:]
        n_ctrl = len(_CONTROL.findall(text[: 1 << 20]))
        if n_ctrl > max(8, len(text[: 1 << 20]) // 1000):
            raise EvidenceError(
                f"{path}: {n_ctrl} control characters: a binary file, not {_EXPECTED}"
            )
        return text, e
    raise EvidenceError(
        f"{path}: bytes that are not {' nor '.join(tries)}{_bad_lines(data, tries)}; "
        f"expected {_EXPECTED}"
    )


_LINES_NAMED = 10


def _bad_lines(data: bytes, tries: list[str]) -> str:
    """Where the bytes no encoding of ``tries`` reads are: ``", on N line(s): 3, 7"``,
    the first :data:`_LINES_NAMED` physical lines (1-based) that no encoding reads, never
    their content (a patient index: names, NIR). When each line reads in one encoding
    but no single encoding reads them all, the lines each one fails on are named."""
    per: dict[str, list[int]] = {e: [] for e in tries}
    both: list[int] = []
    for i, line in enumerate(data.split(b"\n"), start=1):  # the error path only
        if line.isascii():
            continue
        bad = []
        for e in tries:
            try:
                line.decode(e)
            except (UnicodeDecodeError, LookupError):
                bad.append(e)
                per[e].append(i)
        if len(bad) == len(tries):
            both.append(i)

    def named(lns: list[int]) -> str:
        more = f" (+{len(lns) - _LINES_NAMED} more)" if len(lns) > _LINES_NAMED else ""
        return ", ".join(str(x) for x in lns[:_LINES_NAMED]) + more

    if both:
        return f", on {len(both)} line(s): {named(both)}"
    return "; no encoding reads every line: " + ", ".join(
        f"not {e} on {len(lns)} line(s): {named(lns)}" for e, lns in per.items()
    )


def split_lines(text: str) -> list[str]:
    """Physical lines (``\\n`` or ``\\r\\n`` ends); a final line end opens no line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def sniff_separator(line: str) -> str:
    """The separator of a line among ``;`` tab ``|`` ``,`` (most frequent outside quotes;
    ties in that order); ``;`` when none occurs."""
    bare = re.sub(r'"[^"]*"', "", line)
    counts = {s: bare.count(s) for s in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ";"


def _cells(lines: list[str], sep: str) -> list[list[str]]:
    return list(csv.reader(lines, delimiter=sep, quotechar='"', strict=False))


def _clean(values: pa.Array, empty: tuple[str, ...]) -> pd.Series:
    """Trimmed cells, NA where the text is one of ``empty`` (trimmed, case-insensitive)."""
    t = pc.utf8_trim_whitespace(values)
    e = pa.array(sorted({x.strip().upper() for x in empty}), type=pa.string())
    t = pc.if_else(pc.is_in(pc.utf8_upper(t), value_set=e), pa.scalar(None, pa.string()), t)
    return pd.Series(t.to_pandas(types_mapper=pd.ArrowDtype)).astype("string")


def _coalesce(series: list[pd.Series]) -> pd.Series:
    out = series[0]
    for s in series[1:]:
        out = out.fillna(s)
    return out


#: Name recorded for a fixed-width layout read from the header's columns.
INFERRED_FIXED_WIDTH = "fixed width inferred from the header"


def infer_fixed_width(header: str) -> ColumnMapping | None:
    """A fixed-width layout from a header line without separators, or None.

    The header's names are the runs of text separated by two or more spaces; a name
    recognised (:data:`labforensics.leak.mapping.FIELD_NAMES`) is read from its first
    character to the character before the next name (the last to the end of the line).
    None when fewer than two names are recognised.
    """
    toks = list(re.finditer(r"\S+(?: \S+)*", header))
    starts = [t.start() + 1 for t in toks]
    cols = []
    for k, t in enumerate(toks):
        f = FIELD_NAMES.get(header_key(t.group()))
        if f is not None and f not in {c.field for c in cols}:
            end = starts[k + 1] - 1 if k + 1 < len(toks) else 1 << 20
            cols.append(ColumnSpec(f, column=t.group(), start=starts[k], end=end))
    if len(cols) < 2:
        return None
    return ColumnMapping(name=INFERRED_FIXED_WIDTH, columns=tuple(cols), has_header=True)


#: Most physical lines one record may span (a quoted field holding line breaks): a quote
#: left open longer sets its first line aside and the lines after it are read on their own.
MAX_RECORD_LINES = 100


class _Feed:
    """Physical lines from a settable position, each with its line end, for :mod:`csv`.

    ``exhausted`` is set when the reader asks for a line past ``stop``: the record it
    was reading left a quoted field open (a record closed on its last line asks none).
    """

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.pos = 0
        self.stop = 0
        self.exhausted = False

    def start(self, i: int) -> None:
        self.pos, self.stop, self.exhausted = i, min(len(self.lines), i + MAX_RECORD_LINES), False

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if self.pos >= self.stop:
            self.exhausted = True
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1] + "\n"


def _quoted_records(
    lines: list[str], starts: np.ndarray, sep: str, ncols: int
) -> tuple[list[int], list[list[str]], list[tuple[int, str]], list[int]]:
    """Records beginning at the 0-based physical lines ``starts`` (lines with a quote).

    A quoted field may hold line breaks: the record then goes on over the next physical
    lines (blank ones included), which are continuations, not rows; its line is the one
    where it starts. Returns the 0-based lines of the records of ``ncols`` fields, their
    cells, the malformed ones (1-based line, reason; no cell value) and the 0-based
    continuation lines. A quote not closed within :data:`MAX_RECORD_LINES` lines (or
    before the end of the file) sets its line aside; the lines after it are read on
    their own. One :mod:`csv` pass over the lines first: when it reads one row per line
    and leaves no quote open at the end, no record spans lines and that pass is the
    answer; otherwise the records are read one by one from their first line.
    """
    texts = [lines[j] + "\n" for j in starts.tolist()]
    try:  # fast path: one csv pass, right when every line closes its quotes
        batch: list[list[str]] | None = _cells(texts, sep)
    except csv.Error:
        batch = None
    del texts
    if batch is not None and len(batch) == len(starts) and not any("\n" in c for c in batch[-1]):
        good = [len(r) == ncols for r in batch]
        kept_fast = [int(j) for j, g in zip(starts, good, strict=True) if g]
        bad_fast = [
            (int(j) + 1, f"expected {ncols} fields, saw {len(r)}")
            for j, r, g in zip(starts, batch, good, strict=True)
            if not g
        ]
        return kept_fast, [r for r, g in zip(batch, good, strict=True) if g], bad_fast, []
    del batch
    feed = _Feed(lines)
    reader = csv.reader(feed, delimiter=sep, quotechar='"', strict=False)
    kept: list[int] = []
    rows: list[list[str]] = []
    bad: list[tuple[int, str]] = []
    cont: list[int] = []
    nxt = 0
    for j in starts.tolist():
        if j < nxt:  # a continuation of the record above
            continue
        feed.start(j)
        try:
            row = next(reader)
        except csv.Error:
            bad.append((j + 1, "a field longer than the csv module's limit"))
            nxt = j + 1
            continue
        if feed.exhausted:
            bad.append((j + 1, "a quoted field opened on this line is not closed"))
            nxt = j + 1
            continue
        nxt = feed.pos
        cont.extend(range(j + 1, nxt))
        span = f" (a quoted field over lines {j + 1}-{nxt})" if nxt > j + 1 else ""
        if len(row) == ncols:
            kept.append(j)
            rows.append(row)
        else:
            bad.append((j + 1, f"expected {ncols} fields, saw {len(row)}{span}"))
    return kept, rows, bad, cont


def _split(
    lines: list[str],
    arr: pa.Array,
    data_idx: np.ndarray,
    sep: str,
    ncols: int,
    positions: list[int],
) -> tuple[np.ndarray, dict[int, pa.Array], list[tuple[int, str]], np.ndarray]:
    """Cells of the data lines: kept line numbers (1-based), the columns at ``positions``
    (0-based) of the rows with ``ncols`` fields, the malformed lines and the 0-based
    continuation lines (physical lines inside a quoted field of the row above).

    Lines without a quote character are split by pyarrow over the whole array (the
    fast path); records starting on a line with one go through :mod:`csv` (quoted
    separators, doubled quotes, line breaks in quoted fields: :func:`_quoted_records`).
    """
    quoted_all = pc.match_substring(arr, '"').to_numpy(zero_copy_only=False)
    starts = data_idx[quoted_all[data_idx]] if len(data_idx) else data_idx
    if len(starts):
        slow_lines, rows, bad_slow, cont_list = _quoted_records(lines, starts, sep, ncols)
    else:
        slow_lines, rows, bad_slow, cont_list = [], [], [], []
    cont = np.asarray(cont_list, dtype=np.int64)
    free = data_idx[~quoted_all[data_idx] & ~np.isin(data_idx, cont)]
    lists = pc.split_pattern(arr.take(pa.array(free, type=pa.int64())), sep)
    n_fast = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    good_fast = n_fast == ncols
    malformed = [
        (int(i) + 1, f"expected {ncols} fields, saw {int(n)}")
        for i, n in zip(free[~good_fast], n_fast[~good_fast], strict=True)
    ]
    malformed = sorted(malformed + bad_slow, key=lambda b: b[0])
    flat = pc.list_flatten(lists.filter(pa.array(good_fast)))
    nf = int(good_fast.sum())
    slow_cols = list(zip(*rows, strict=True)) if rows else []
    pos_rows = np.concatenate([free[good_fast], np.asarray(slow_lines, dtype=np.int64)])
    order = np.argsort(pos_rows, kind="stable")
    columns: dict[int, pa.Array] = {}
    for p in positions:
        part = flat.take(pa.array(np.arange(nf, dtype=np.int64) * ncols + p))
        if rows:
            part = pa.concat_arrays(
                [part.cast(pa.string()), pa.array(slow_cols[p], type=pa.string())]
            )
        columns[p] = part.cast(pa.string()).take(pa.array(order))
    kept_lines = pos_rows[order].astype(np.int64) + 1
    return kept_lines, columns, malformed, cont


def read_table(path: Path, root: Path, mappings: tuple[ColumnMapping, ...]) -> Table:
    """Read one file (see the module docstring).

    Raises
    ------
    EvidenceError
        Undecodable or binary file; no header recognised and no mapping applies.
    ProfileError
        A mapping names a column the file does not have.
    """
    data = read_bytes(path, utf16=False).data
    digest = sha256_bytes(data)
    name = relative_name(path, root)
    enc, lines, m = _decode_and_map(data, path, mappings)
    n_lines = len(lines)
    arr = pa.array(lines, type=pa.string())
    blank_mask = pc.equal(pc.utf8_trim_whitespace(arr), "").to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(~blank_mask)
    empty = m.empty if m is not None else DEFAULT_EMPTY
    if len(idx) == 0:
        return Table(path, name, digest, enc, None, False, m.name if m else None, None, n_lines,
                     n_lines, [], np.array([], dtype=np.int64), {}, [], [])  # fmt: skip
    if m is not None and m.fixed_width:
        return _fixed_width(path, name, digest, enc, m, lines, idx, n_lines, empty)
    if m is None and not any(c in lines[idx[0]] for c in _SEPARATORS):
        inferred = infer_fixed_width(lines[idx[0]])
        if inferred is not None:
            return _fixed_width(path, name, digest, enc, inferred, lines, idx, n_lines, empty, 1)
    sep = m.separator if m is not None and m.separator else sniff_separator(lines[idx[0]])
    if m is None:
        ncols, specs, other, layout = _known_header(path, lines[idx[0]], sep)
        header_line: int | None = int(idx[0]) + 1
        data_idx = idx[1:]
    elif m.has_header:
        ncols, specs = _mapped_header(path, m, lines[idx[0]], sep)
        header_line = int(idx[0]) + 1
        data_idx = idx[1:]
    else:
        ncols, specs = _mapped_positions(path, m, lines[idx[0]], sep)
        header_line = None
        data_idx = idx
    if m is not None:
        layout, other = _mapped_layout(specs, ncols)
    positions = sorted({(c.position or 1) - 1 for c in specs})
    kept_lines, columns, malformed, cont = _split(lines, arr, data_idx, sep, ncols, positions)
    fields, columns_report = _field_columns(specs, columns, empty)
    formats = {c.field: c.format or (m.date_format if m else None) for c in specs}
    return Table(path, name, digest, enc, sep, False, m.name if m else None, header_line,
                 n_lines, int(blank_mask.sum() - blank_mask[cont].sum()), malformed, kept_lines,
                 fields, columns_report, other, formats, m.date_system if m else 1900, layout,
                 continued=len(cont))  # fmt: skip


def _decode_and_map(
    data: bytes, path: Path, mappings: tuple[ColumnMapping, ...]
) -> tuple[str, list[str], ColumnMapping | None]:
    """Encoding and lines of the file, with the column mapping that applies to it."""
    # decode once with the sniffed encoding to see the first line, then per the mapping
    text, enc = decode(data, path, None)
    lines = split_lines(text)
    nonblank = [i for i, ln in enumerate(lines[:1000]) if ln.strip()]
    first = lines[nonblank[0]] if nonblank else None
    m = choose_mapping(mappings, path.name, first)
    if m is not None and m.encoding and m.encoding != enc and enc not in ("utf-8-sig", "utf-16"):
        text, enc = decode(data, path, m.encoding)
        lines = split_lines(text)
    return enc, lines, m


def _known_header(
    path: Path, line: str, sep: str
) -> tuple[int, list[ColumnSpec], list[str], list[str]]:
    """Column specs read from a header of built-in names (no mapping); refuses an unknown one."""
    head = _cells([line], sep)[0]
    keys = [header_key(h) for h in head]
    known = [FIELD_NAMES.get(k) for k in keys]
    if sum(k is not None for k in known) < 2:
        raise EvidenceError(
            f"{path}: its first line is not a header of known column names "
            f"({len(head)} fields, {sum(k is not None for k in known)} recognised); give a "
            "column mapping (has_header = false and [columns] by position, or the "
            "header's names): shared/formats/patient-index.md, 'Column mapping'"
        )
    specs: list[ColumnSpec] = []
    other: list[str] = []
    layout: list[str] = []
    for pos, (h, f) in enumerate(zip(head, known, strict=True), start=1):
        layout.append(f or "other")
        if f is None:
            other.append(f"header '{h.strip()}'" if h.strip() else f"column {pos}")
        else:
            specs.append(ColumnSpec(f, column=h.strip(), position=pos))
    return len(head), specs, other, layout


def _mapped_header(
    path: Path, m: ColumnMapping, line: str, sep: str
) -> tuple[int, list[ColumnSpec]]:
    """Column count and specs of a mapping whose columns are named in the file's header."""
    head = _cells([line], sep)[0]
    ncols = len(head)
    stripped = [h.strip() for h in head]
    keyed = [header_key(h) for h in head]
    specs = []
    for c in m.columns:
        if c.position is not None:
            pos = c.position
        elif c.column in stripped:
            pos = stripped.index(c.column) + 1
        elif header_key(c.column or "") in keyed:
            pos = keyed.index(header_key(c.column or "")) + 1
        else:
            raise ProfileError(
                f"column mapping {m.source} ({m.name}): field '{c.field}' names column "
                f"'{c.column}', which {path} does not have in its header; fix the name "
                "or give its 1-based position"
            )
        if pos > ncols:
            raise ProfileError(
                f"column mapping {m.source} ({m.name}): field '{c.field}' is column "
                f"{pos} but {path} has {ncols} columns"
            )
        specs.append(ColumnSpec(c.field, column=c.column, position=pos, format=c.format))
    return ncols, specs


def _mapped_positions(
    path: Path, m: ColumnMapping, line: str, sep: str
) -> tuple[int, list[ColumnSpec]]:
    """Column count and specs of a header-less mapping (columns by position)."""
    first_cells = _cells([line], sep)[0]
    ncols = len(first_cells)
    specs = [ColumnSpec(c.field, position=c.position, format=c.format) for c in m.columns]
    for c in specs:
        if (c.position or 0) > ncols:
            raise ProfileError(
                f"column mapping {m.source} ({m.name}): field '{c.field}' is column "
                f"{c.position} but {path} has {ncols} columns"
            )
    return ncols, specs


def _mapped_layout(specs: list[ColumnSpec], ncols: int) -> tuple[list[str], list[str]]:
    """Field (or ``other``) per column, and the names of the columns no field takes."""
    taken = {c.position for c in specs}
    by_pos = {c.position: c.field for c in specs}
    layout = [by_pos.get(p, "other") for p in range(1, ncols + 1)]
    other = [f"column {p}" for p in range(1, ncols + 1) if p not in taken]
    return layout, other


def _field_columns(
    specs: list[ColumnSpec], columns: dict[int, pa.Array], empty: tuple[str, ...]
) -> tuple[dict[str, pd.Series], list[dict[str, str]]]:
    """Cleaned cells per canonical field (first non-empty of several columns) and their sources."""
    by_field: dict[str, list[pd.Series]] = {}
    columns_report: list[dict[str, str]] = []
    for c in specs:
        vals = columns[(c.position or 1) - 1]
        by_field.setdefault(c.field, []).append(_clean(vals, empty))
        src = f"header '{c.column}' (column {c.position})" if c.column else f"column {c.position}"
        columns_report.append({"field": c.field, "source": src})
    fields = {f: _coalesce(v) for f, v in by_field.items()}
    for f, v in by_field.items():
        if len(v) > 1:
            columns_report.append(
                {"field": f, "source": f"{len(v)} columns, first non-empty taken"}
            )
    return fields, columns_report


def _fixed_width(
    path: Path,
    name: str,
    digest: str,
    enc: str,
    m: ColumnMapping,
    lines: list[str],
    idx: np.ndarray,
    n_lines: int,
    empty: tuple[str, ...],
    min_length: int | None = None,
) -> Table:
    """A fixed-width text file: each field the characters ``start``..``end`` of a line.

    A line shorter than the last column's start is malformed, unless ``min_length``
    is given (an inferred layout: a line whose last cells are empty may end early)."""
    header_line = int(idx[0]) + 1 if m.has_header else None
    data_idx = idx[1:] if m.has_header else idx
    arr = pa.array([lines[i] for i in data_idx], type=pa.string())
    need = min_length or max(c.start or 0 for c in m.columns)
    lengths = pc.utf8_length(arr).to_numpy(zero_copy_only=False)
    good = lengths >= need
    malformed = [
        (int(data_idx[i]) + 1, f"shorter than column start {need} ({int(lengths[i])} characters)")
        for i in np.flatnonzero(~good)
    ]
    kept = arr.filter(pa.array(good))
    fields: dict[str, pd.Series] = {}
    report = []
    for c in m.columns:
        s = pc.utf8_slice_codeunits(kept, start=(c.start or 1) - 1, stop=c.end)
        fields[c.field] = _clean(s, empty)
        report.append({"field": c.field, "source": c.describe()})
    formats = {c.field: c.format or m.date_format for c in m.columns}
    return Table(path, name, digest, enc, None, True, m.name, header_line, n_lines,
                 n_lines - len(idx), malformed, data_idx[good].astype(np.int64) + 1, fields,
                 report, [], formats, m.date_system,
                 [f"{c.field}:{c.start}-{c.end}" for c in m.columns])  # fmt: skip


# --- shared by the two readers ------------------------------------------------------------

#: At most this many rejected lines are listed (file, line, reason) in a report.
REJECTED_LISTED = 1000


def resolve_case(
    case: Any, case_key: Any, tz: str | None, lab_aliases: dict[str, str] | None
) -> tuple[Any, str, dict[str, str]]:
    """(CaseKey, tz, aliases) from explicit keywords, else ``case``'s attributes
    (``key_file``, ``tz``, ``lab_aliases``), else the environment key and :data:`labforensics.case.DEFAULT_TZ`."""
    key = load_case_key(case_key if case_key is not None else getattr(case, "key_file", None))
    zone = tz or getattr(case, "tz", None) or DEFAULT_TZ
    aliases = lab_aliases if lab_aliases is not None else getattr(case, "lab_aliases", None) or {}
    return key, str(zone), lab_alias_map(aliases)


def resolve_labs(s: pd.Series, aliases: dict[str, str]) -> pd.Series:
    """Lab codes canonical as the evidence's (NFC, trimmed, upper case: QA 13), aliases
    resolved, per distinct value; a blank lab is missing."""
    return resolve_lab_series(s, lab_alias_map(aliases))


def file_list(paths: Any) -> tuple[list[Path], Path]:
    """Files of ``paths`` (files, folders, globs), sorted, and their common root."""
    files = [p for p, _ in expand_paths(paths)]
    if not files:
        raise EvidenceError(f"no file found in {paths!s}; give files or a folder")
    return files, common_root(files)


def pivot_year(table: Table, reference: Any) -> tuple[int, str]:
    """Pivot of two-digit years: the run's ``reference`` (date or year), else the newest
    four-digit or serial date of the file's other date fields, else of its birth dates,
    else today's year (UTC)."""
    if reference is not None:
        y = reference if isinstance(reference, int) else pd.Timestamp(reference).year
        return int(y), "reference"
    best = None
    for f in ("sample_date", "last_visit", "created", "birth_date"):
        s = table.fields.get(f)
        if s is not None:
            y = newest_year(s, fmt=table.formats.get(f), system=table.date_system)
            if y is not None and (best is None or y > best):
                best = y
    if best is not None:
        return best, "newest date of the file"
    return pd.Timestamp.now(tz="UTC").year, "today"


def merge_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Sum two nested dicts of counts."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict):
            out[k] = merge_counts(out.get(k, {}), v)
        elif isinstance(v, int | np.integer):
            out[k] = int(out.get(k, 0)) + int(v)
        else:
            out[k] = v
    return out


def row_keys(table: Table, fields: tuple[str, ...]) -> pa.Array:
    """Each kept row's raw cells as one text: the names of the fields the file has, then
    their cells (missing ones marked), joined with U+001F; equal texts = equal rows."""
    n = len(table.lines)
    present = [f for f in fields if f in table.fields]
    if not present or n == 0:
        return pa.array([""] * n, type=pa.string())
    cols = [
        pc.fill_null(pa.array(table.fields[f].array, type=pa.string()), "\x00") for f in present
    ]
    return pc.binary_join_element_wise(",".join(present), *cols, "\x1f")


def row_codes(keys: list[pa.Array]) -> np.ndarray:
    """One integer per distinct row text over several files (exact, no hash collision)."""
    if not keys:
        return np.array([], dtype=np.int64)
    enc = pc.dictionary_encode(pa.chunked_array(keys, type=pa.string()).combine_chunks())
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
