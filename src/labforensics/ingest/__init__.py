"""Ingestion: evidence files -> the canonical event table, with full accounting.

:func:`read_evidence` is the entry point. The pipeline, per call::

    expand paths (files, folders walked recursively, globs)
      -> hash each file (SHA-256, read-only)                       custody manifest
      -> sniff the first 64 KiB of decompressed bytes             registry of readers
      -> reader.read(path, ctx)                                   raw events + accounting
      -> order files by (date in file name, path)                 evidence order
      -> a file written newest first read bottom-up               clock.line_order
      -> rotation de-duplication between consecutive files of one lab
      -> lab aliases (FINESS -> lab code), missing lab -> "UNKNOWN"
      -> pseudonymise (lab, IPP) with the case key               privacy
      -> redact free text, quarantined lines, field-problem values
      -> canonical accounts, addresses, hosts (as written: *_raw)  labforensics.identity
      -> coerce, sort by (ts, seq), validate; check the accounting identity

Rotation rule (``shared/formats/lis-audit-csv.md``): for consecutive files of
the same lab whose reader declares ``rotation=True``, the largest ``k`` such
that the last ``k`` records of the previous file equal the first ``k`` records
of the later file (compared on their raw text) are rotation duplicates of the
later file. A record repeated within one file is a real event and is kept.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from .._arrow_pool import arrow_memory_pool
from ..custody import EvidenceFile, sha256_file
from ..errors import ParameterError
from ..identity import canonical_account, canonical_address, canonical_column, canonical_host
from ..privacy import (
    CaseKey,
    KeyedIds,
    Redactor,
    load_case_key,
    record_field_spans,
    redact_digit_runs,
    redact_identifiers,
    redact_record_field,
)
from . import clock, readers  # noqa: F401  (importing readers registers them)
from ._common import CUT_MARK
from .accounting import QUARANTINE_COLUMNS, FileReport, IngestReport
from .files import (
    common_root,
    custody_log,
    expand_paths,
    printable_name,
    read_head,
    relative_name,
    unrecognised_reason,
)
from .profile_choice import choose_profile, no_profile_reason
from .profiles import Profile, load_profile, load_profiles
from .readers import lis_csv
from .readers.regex_profile import read_regex_many
from .registry import BatchRead, FileRead, QuarantineRow, ReadContext, ReaderSpec, get_reader, sniff

__all__ = ["Evidence", "read_evidence"]


PathLike = str | os.PathLike[str]
#: ``read_evidence(profile=...)``: one profile (built-in name, TOML path, Profile) or several.
ProfileArg = str | os.PathLike[str] | Profile | Iterable[str | os.PathLike[str] | Profile] | None
_WORKERS = 2
_SEP = "\x1f"
_BATCH_BYTES = 8 << 20
_BATCH_FILES = 8192


@dataclass(frozen=True)
class Evidence:
    """The result of :func:`read_evidence`.

    Attributes
    ----------
    events : pandas.DataFrame
        The canonical event table (:mod:`labforensics.schema`), sorted by
        ``ts`` then ``seq``; patients pseudonymised, free text redacted.
    report : IngestReport
        Per-file accounting (rows read = events + rotation duplicates +
        repeated headers + ignored + quarantined), unrecognised files,
        field problems, unknown codes.
    quarantine : pandas.DataFrame
        ``source_file`` (string), ``source_line`` (Int64), ``reason`` (string),
        ``raw`` (string, redacted): every input row that did not become an event.
    manifest : list of EvidenceFile
        Every input file (recognised or not) with its size (bytes) and SHA-256.
    case_key_fingerprint : str
        Public fingerprint of the case key used for the pseudonyms.
    """

    events: pd.DataFrame
    report: IngestReport
    quarantine: pd.DataFrame
    manifest: list[EvidenceFile] = field(default_factory=list)
    case_key_fingerprint: str = ""

    def manifest_table(self) -> pd.DataFrame:
        """The manifest as a DataFrame: path, source_file, size (bytes), sha256, format."""
        cols = ["path", "source_file", "size", "sha256", "format"]
        return pd.DataFrame([m.to_dict() for m in self.manifest], columns=cols)


def _resolve_lab(lab: object, path: Path, source_file: str):
    """The value of a per-file option: one value, or ``{path, folder or glob: value}``.

    The most specific key wins: the file itself, then the deepest folder holding
    it, then the longest matching glob.
    """
    if lab is None or not isinstance(lab, Mapping):
        return lab
    best: tuple[int, str] | None = None
    for key, value in lab.items():
        k = os.fspath(key)
        kp = Path(k)
        score = -1
        try:
            kr = kp.resolve()
            if kr == path:
                score = 10_000
            elif kp.exists() and kr.is_dir() and kr in path.parents:
                score = len(kr.as_posix())
        except OSError:
            pass
        if score < 0 and (
            fnmatch.fnmatch(path.as_posix(), k)
            or fnmatch.fnmatch(source_file, k)
            or fnmatch.fnmatch(path.name, k)
        ):
            score = len(k)
        if score >= 0 and (best is None or score > best[0]):
            best = (score, value)
    return best[1] if best else None


def _choose_reader(
    head: bytes, name: str, prof: Profile | tuple[Profile, ...] | None
) -> ReaderSpec | None:
    """The reader of a file (None: no profile nor reader recognises it).

    ``prof``: no profile, one, or several in the user's order; see
    :func:`_choose_profile_reader`, which also gives the profile.
    """
    profs = () if prof is None else (prof,) if isinstance(prof, Profile) else tuple(prof)
    return _choose_profile_reader(head, name, profs)[0]


def _choose_profile_reader(
    head: bytes, name: str, profs: tuple[Profile, ...]
) -> tuple[ReaderSpec | None, Profile | None]:
    """The reader of a file and the profile it reads with (None: a sniffed format).

    The first profile that recognises the file (:func:`~.profiles.choose_profile`:
    header or pattern first, then file name) reads it; else the registered
    readers' sniffers decide (None when none recognises it).
    """
    if profs:
        prof = choose_profile(profs, head, name)
        if prof is not None:
            return _profile_spec(prof), prof
    return sniff(head, name), None


_PROFILE_SPECS: dict[int, tuple[Profile, ReaderSpec]] = {}  # id(profile) -> its reader


def _profile_spec(prof: Profile) -> ReaderSpec:
    """The reader of one profile: ``lis_<name>`` for a built-in, else ``profile:<name>``.

    One :class:`ReaderSpec` per profile, named after it, so that the files of a
    profile are batched together and never with another profile's; it carries
    the profile's ``rotation`` flag.
    """
    if prof.builtin:
        return get_reader(prof.reader_name)
    got = _PROFILE_SPECS.get(id(prof))
    spec = got[1] if got is not None and got[0] is prof else None
    if spec is None:
        name = prof.reader_name

        def read_many(paths: list[Path], ctxs: list[ReadContext]) -> BatchRead:
            if prof.kind == "regex":
                return read_regex_many(paths, ctxs, prof, name)
            return lis_csv.read_lis_many(paths, ctxs, prof, name)

        def read(path: Path, ctx: ReadContext) -> FileRead:
            return lis_csv._one(read_many([path], [ctx]))

        spec = ReaderSpec(
            name=name,
            sniff=lambda head, fname: False,
            read=read,
            rotation=prof.rotation,
            description=f"read with the user profile {prof.source}",
            read_many=read_many,
        )
        _PROFILE_SPECS[id(prof)] = (prof, spec)  # the profile is kept: its id stays unique
    return spec


def _set_session_rule(raw: pd.DataFrame, files: list, ctxs: list[ReadContext]) -> None:
    """Column ``session_rule`` of the pool: each user-profile file's rule, else missing.

    Built-in dialects leave it missing whether sniffed or named (same rows either way).

    ``files`` (:class:`_File`, their rows ``start`` to ``start + count`` of ``raw``);
    ``ctxs`` each job's context (its ``profile``: the profile that read it).
    """
    codes = np.full(len(raw), -1, dtype=np.int8)
    for f in files:  # a loop a file
        p = ctxs[f.job].profile
        if p is not None and not p.builtin:
            codes[f.start : f.start + f.count] = schema.SESSION_RULES.index(p.session_rule)
    raw["session_rule"] = pd.Categorical.from_codes(codes, dtype=schema.SESSION_RULE_DTYPE)


def _rotation_k(prev: pa.ChunkedArray, cur: pa.ChunkedArray) -> int:
    """Largest k with prev[-k:] == cur[:k] (record text, line ends ignored).

    Candidates are the tail records that start with the later file's first record
    (no copy); each is then checked exactly, longest overlap first.
    """
    if len(prev) == 0 or len(cur) == 0:
        return 0
    first = cur[0].as_py()
    if first is None:
        return 0
    first = first.rstrip("\r\n")
    m = len(prev)
    lo = max(0, m - len(cur))
    tail = prev.slice(lo)
    extra = pc.subtract(pc.binary_length(tail), len(first.encode()))
    hit = pc.and_(pc.starts_with(tail, pattern=first), pc.less_equal(extra, 2))
    cand = np.flatnonzero(hit.to_numpy(zero_copy_only=False)) + lo
    for j in cand:  # smallest j = largest k
        k = m - int(j)
        a = pc.utf8_rtrim(prev.slice(int(j), k), characters="\r\n")
        b = pc.utf8_rtrim(cur.slice(0, k), characters="\r\n")
        if pc.all(pc.equal(a, b)).as_py():
            return k
    return 0


@dataclass
class _File:
    """A recognised file's place in the pool of rows (rows ``start`` to ``start + count``)."""

    job: int
    fr: FileRead
    spec: ReaderSpec
    piece: int
    start: int
    count: int
    batch: bool  # read by ReaderSpec.read_many: its timestamps come from its own text
    has_record: bool = True


def _ts_ns(s: pd.Series) -> np.ndarray:
    """UTC nanoseconds (int64) of a time column."""
    ts = pd.to_datetime(s, utc=True)
    return ts.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").view("int64")


def _rotation_k_hashed(prev: np.ndarray, cur: np.ndarray) -> int:
    """:func:`_rotation_k` on record hashes (int64): largest k with prev[-k:] == cur[:k]."""
    m = len(prev)
    lo = max(0, m - len(cur))
    for j in np.flatnonzero(prev[lo:] == cur[0]) + lo:  # smallest j = largest k
        if np.array_equal(prev[j:], cur[: m - j]):
            return int(m - j)
    return 0


def _rotation(
    raw: pd.DataFrame,
    rhash: np.ndarray | None,
    hashed: np.ndarray,
    files: list[_File],
    f_start: np.ndarray,
    f_count: np.ndarray,
    row_file: np.ndarray,
    prof: Profile | None,
) -> np.ndarray:
    """Rotation duplicates at the head of each file (files in evidence order).

    Each file is compared with the previous file of its lab as read (all its
    records), even when that file itself lost rows to its own predecessor.
    Records are compared on their text: through a 64-bit hash of it (FNV-1a,
    ``_rhash``) for readers that give one, else on the ``_record`` text. Pairs
    with hashes are first screened all at once (the later file's first record
    must be in the earlier file's tail); only those that pass are compared.
    """
    skip = np.zeros(len(files), dtype=np.int64)
    if not len(raw) or (rhash is None and "_record" not in raw.columns):
        return skip
    prev: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    for k, f in enumerate(files):
        spec = f.spec
        rotates = spec.rotation and (prof is None or prof.rotation or spec.name != "lis_profile")
        if not rotates or f.fr.lab is None or not f.has_record:
            continue
        p = prev.get(f.fr.lab)
        prev[f.fr.lab] = k
        if p is not None and f_count[p] and f_count[k]:
            pairs.append((p, k))
    if not pairs:
        return skip
    pp = np.asarray([p for p, _ in pairs], dtype=np.int64)
    cc = np.asarray([c for _, c in pairs], dtype=np.int64)
    both = hashed[pp] & hashed[cc]
    text = ~hashed[pp] & ~hashed[cc]  # a hashed and a text file never hold the same record
    if both.any():
        hp, hc = pp[both], cc[both]
        succ = np.full(len(files), -1, dtype=np.int64)
        succ[hp] = hc
        first_key = np.zeros(len(files), dtype=np.int64)
        first_key[hc] = rhash[f_start[hc]]
        rows = np.flatnonzero(succ[row_file] >= 0)
        c_of = succ[row_file[rows]]
        pos = rows - f_start[row_file[rows]]
        hit = (pos >= f_count[row_file[rows]] - f_count[c_of]) & (rhash[rows] == first_key[c_of])
        pred = dict(zip(hc.tolist(), hp.tolist(), strict=True))
        for c in np.unique(c_of[hit]).tolist():
            p = pred[c]
            skip[c] = _rotation_k_hashed(
                rhash[f_start[p] : f_start[p] + f_count[p]],
                rhash[f_start[c] : f_start[c] + f_count[c]],
            )
    if text.any():
        rec = _chunked(raw["_record"].astype(schema.STRING))
        for p, c in zip(pp[text].tolist(), cc[text].tolist(), strict=True):
            skip[c] = _rotation_k(
                rec.slice(int(f_start[p]), int(f_count[p])),
                rec.slice(int(f_start[c]), int(f_count[c])),
            )
    return skip


class _UnitPlanner:
    """Group files into units of work as they are sniffed: batches for ``read_many``.

    A batch holds files of one reader, in evidence-path order, up to a quarter of
    the evidence (so both workers get work), at most 8 MiB on disk (gzip counted 8
    times) and 8192 files; a reader without ``read_many`` gets a unit per file;
    unrecognised files go in units of 256 at the end. A unit is handed out as soon
    as it is full, so the workers start while later files are still being sniffed.
    Units depend on the files and their readers only, never on timing.
    """

    def __init__(self, sizes: np.ndarray) -> None:
        total = int(sizes.sum())
        self.sizes = sizes
        self.target = min(_BATCH_BYTES, max(1 << 20, total // (2 * _WORKERS)))
        self.open: dict[str, tuple[list[int], int]] = {}
        self.other: list[int] = []

    def add(self, i: int, spec: ReaderSpec | None) -> list[int] | None:
        """File ``i`` read by ``spec``: the unit it completes, if any."""
        if spec is None:
            self.other.append(i)
            return None
        if spec.read_many is None:
            return [i]
        cur, acc = self.open.get(spec.name, ([], 0))
        size = int(self.sizes[i])
        done = None
        if cur and (acc + size > self.target or len(cur) >= _BATCH_FILES):
            done, cur, acc = cur, [], 0
        cur.append(i)
        self.open[spec.name] = (cur, acc + size)
        return done

    def finish(self) -> list[list[int]]:
        """The units still open (by reader name), then the unrecognised files."""
        units = [self.open[name][0] for name in sorted(self.open) if self.open[name][0]]
        units += [self.other[k : k + 256] for k in range(0, len(self.other), 256)]
        self.open, self.other = {}, []
        return units


def _disk_sizes(paths: list[Path]) -> np.ndarray:
    """Bytes on disk of each file (gzip counted 8 times: its text is larger)."""
    sizes = np.zeros(len(paths), dtype=np.int64)
    for i, path in enumerate(paths):
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0
        sizes[i] = size * (8 if path.name.lower().endswith(".gz") else 1)
    return sizes


def _keyed_pairs(
    col: pd.Series, lab_codes: np.ndarray, lab_vals: list, *, python_strip: bool
) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """The distinct (lab, value) pairs of an identifier column, for its keyed ids.

    Values are stripped of surrounding white space (``str.strip`` for IPPs, as their
    pseudonyms always were; Arrow's ``utf8_trim_whitespace`` otherwise, as
    :func:`labforensics.privacy.normalise_ipp`); a blank or missing value, or a
    missing lab, has code -1. Vectorised: Python touches each distinct IPP once and
    no request number.

    Returns
    -------
    codes : numpy.ndarray of int64, one per row
        Index of the row's pair, -1 where none.
    labs, values : pyarrow.StringArray
        The lab and the stripped value of each distinct pair.
    """
    arr = _chunked(col.astype(schema.STRING))
    enc = (arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr).dictionary_encode()
    if python_strip:
        trimmed = pa.array([v.strip() for v in enc.dictionary.to_pylist()], type=pa.string())
    else:
        trimmed = pc.utf8_trim_whitespace(enc.dictionary)
    if pc.all(pc.equal(trimmed, enc.dictionary)).as_py() is not False:  # none trimmed
        vals, tmap = enc.dictionary, np.arange(len(trimmed) + 1, dtype=np.int64)
    else:  # " 12" and "12" are one value
        dist = trimmed.dictionary_encode()
        vals = dist.dictionary
        tmap = np.append(dist.indices.to_numpy(zero_copy_only=False).astype(np.int64), 0)
    tmap[-1] = -1  # missing
    tmap[:-1][pc.equal(vals, "").to_numpy(zero_copy_only=False)[tmap[:-1]]] = -1  # blank
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    ti = tmap[idx]  # -1 (missing) takes the last slot
    valid = (ti >= 0) & (lab_codes >= 0)
    nv = max(len(vals), 1)
    codes = np.full(len(ti), -1, dtype=np.int64)
    inv, uniq = pd.factorize(lab_codes[valid] * nv + ti[valid])
    codes[valid] = inv
    uniq = np.asarray(uniq, dtype=np.int64)
    labs = pa.array(lab_vals, type=pa.string()).take(pa.array(uniq // nv))
    return codes, labs, vals.take(pa.array(uniq % nv))


def _tokens_known(labs: pa.Array, vals: pa.Array, tokens: set[str]) -> dict[str, set[str]]:
    """Lab -> the values of (lab, value) pairs that occur among the free text's tokens."""
    if not tokens or not len(vals):
        return {}
    hit = pc.is_in(vals, value_set=pa.array(sorted(tokens), type=pa.string()))
    known: dict[str, set[str]] = {}
    for lb, v in zip(labs.filter(hit).to_pylist(), vals.filter(hit).to_pylist(), strict=True):
        known.setdefault(lb, set()).add(v)
    return known


def _chunked(s: pd.Series) -> pa.ChunkedArray:
    arr = s.array
    if hasattr(arr, "_pa_array"):
        return arr._pa_array
    return pa.chunked_array([pa.array(s.astype(object).to_numpy(), type=pa.string())])


def _codes(arr: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list]:
    """Dictionary codes of a column (-1 where missing) and its distinct values."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = arr.dictionary_encode()
    idx = enc.indices.to_numpy(zero_copy_only=False)
    if enc.null_count:
        idx = np.where(enc.is_null().to_numpy(zero_copy_only=False), -1, idx)
    return np.asarray(idx, dtype=np.int64), enc.dictionary.to_pylist()


def _pairs_of(
    li: np.ndarray, labs: list, ti: np.ndarray, vals: list
) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Codes of distinct (lab, value) pairs per row (-1 where either is missing).

    ``li``/``ti`` are per-row codes (-1 missing) into ``labs``/``vals``.
    """
    valid = (ti >= 0) & (li >= 0)
    nv = max(len(vals), 1)
    codes = np.full(len(ti), -1, dtype=np.int64)
    inv, uniq = pd.factorize(li[valid] * nv + ti[valid])
    codes[valid] = inv
    uniq = np.asarray(uniq, dtype=np.int64)
    lab_of = [labs[i] for i in (uniq // nv).tolist()]
    val_of = [vals[i] for i in (uniq % nv).tolist()]
    return codes, list(zip(lab_of, val_of, strict=True))


def _take(arr, order: np.ndarray, idx: pa.Array):
    """``arr.take(order)`` for a column of the pool; Arrow strings taken from one chunk.

    pyarrow's ``take`` on a chunked array (the pool has a chunk per batch) costs
    several times a ``take`` on the same data combined into one chunk (measured:
    0.13 s against 0.015 s for 2,000,000 short strings in 39 chunks); the combined
    copy is dropped right after. ``string`` columns (32-bit offsets) whose text
    might not fit one chunk keep the chunked ``take``.
    """
    pa_arr = getattr(arr, "_pa_array", None)
    if (
        isinstance(arr, pd.arrays.ArrowStringArray)
        and arr.dtype == schema.STRING
        and pa_arr is not None
        and pa_arr.num_chunks > 1
        and (pa_arr.type == pa.large_string() or pa_arr.nbytes < (1 << 30))
    ):
        out = pa_arr.combine_chunks().take(idx)
        return pd.arrays.ArrowStringArray(pa.chunked_array([out]))
    return arr.take(order)


def _from_codes(codes: np.ndarray, values: list[str | None] | pa.Array) -> pd.Series:
    table = values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())
    idx = pa.array(np.where(codes < 0, 0, codes), mask=codes < 0)
    out = table.take(idx) if len(values) else pa.nulls(len(codes), pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([out])), dtype=schema.STRING)


_TOKEN = re.compile(r"(?<![\w-])[\w-]{3,}(?![\w-])")  # as privacy.Redactor's tokens


def _lis_profile(spec: ReaderSpec, prof: Profile | None) -> Profile | None:
    """The CSV profile a file was read with (``prof``: the file's own), else None.

    Built-in dialects (``lis_legacy``, ``lis_current``) whether sniffed or chosen;
    a user CSV profile; None for a regex profile (no fields to locate by position)
    and for every other reader.
    """
    if prof is not None:
        return prof if prof.kind == "csv" else None
    if spec.name in ("lis_legacy", "lis_current"):
        return load_profile(spec.name[4:])
    return None


def _redact_quarantined(
    text: str | None,
    redactor: Redactor,
    key: CaseKey,
    p: Profile | None,
    lab: str | None,
    aliases: Mapping[str, str],
) -> str | None:
    """Redact a quarantined raw record (or a field-problem value).

    Known IPPs, NIR, e-mail and phone by the :class:`Redactor`; for the LIS dialects
    (``p`` given) also, first, the field at the profile's IPP position (even when the
    row is otherwise bad; in a row of the wrong width, every field the IPP could
    have shifted to) and, last, every run of 5+ digits (a partial IPP cut
    mid-number): see :func:`labforensics.privacy.redact_record_field` and
    :func:`labforensics.privacy.redact_digit_runs`.
    """
    if not text or p is None:
        return redactor.redact(text, lab)
    cut = CUT_MARK.search(text)  # a record capped by its reader: redact what is kept
    if cut is not None:
        kept = _redact_quarantined(text[: cut.start()], redactor, key, p, lab, aliases)
        return (kept or "") + cut.group(0)
    header = list(p.header)
    ipp_col = p.columns.get("ipp")
    lab_col = p.columns.get("lab")
    rec_lab = lab
    if ipp_col in header:
        li = header.index(lab_col) if lab_col in header else None
        if li is not None:  # the record's own lab (a FINESS number mapped), else the file's
            spans = record_field_spans(text, p.separator, p.quote)
            if li < len(spans):
                own = text[spans[li][0] : spans[li][1]].strip().strip(p.quote).strip()
                rec_lab = aliases.get(own, own) if own else lab
        text = redact_record_field(
            text,
            key,
            rec_lab,
            separator=p.separator,
            quote=p.quote,
            ipp_index=header.index(ipp_col),
            width=len(header),
        )
    req_col = p.columns.get("request")
    if req_col in header:  # the request number's field becomes its R id, as the IPP's
        text = redact_record_field(
            text,
            key,
            rec_lab,
            separator=p.separator,
            quote=p.quote,
            ipp_index=header.index(req_col),
            width=len(header),
            kind="request",
        )
    text = redactor.redact(text, rec_lab)
    return redact_digit_runs(text, key, rec_lab)


#: Instants accepted from any reader: any two events must lie less than 292 years apart,
#: since durations and gaps are int64 nanoseconds in every later stage.
TS_MIN = pd.Timestamp("1900-01-01", tz="UTC")
TS_MAX = pd.Timestamp("2190-01-01", tz="UTC")


def _quarantine_out_of_range(fr: FileRead) -> pd.DataFrame:
    """Move a reader's events outside [TS_MIN, TS_MAX) to its quarantine, by input row.

    The LIS readers quarantine such rows themselves; this guard holds for every other
    reader. A row whose events all fall outside is quarantined (one entry per line) and
    no longer counts among the rows that became events; the accounting identity holds.
    """
    ev = fr.events
    if "ts" not in ev.columns or ev.empty:
        return ev
    ts = pd.to_datetime(ev["ts"], utc=True, errors="coerce")
    out = (ts.notna() & ((ts < TS_MIN) | (ts >= TS_MAX))).to_numpy()
    if not out.any():
        return ev
    lines = ev["source_line"] if "source_line" in ev.columns else pd.Series(pd.NA, index=ev.index)
    kept_lines = set(lines[~out].dropna().astype("int64"))
    first_ts = ts[out].groupby(lines[out].fillna(-1).astype("int64").to_numpy()).first()
    for line, t in first_ts.items():
        if line in kept_lines:
            continue
        fr.quarantine.append(
            QuarantineRow(
                None if line < 0 else int(line),
                f"timestamp out of range '{t.isoformat()}': years 1900-2189 only "
                "(durations between events are int64 nanoseconds: at most 292 years)",
                "",
            )
        )
        fr.rows_to_events -= 1
    return ev[~out].reset_index(drop=True)


# --- file order: files written newest first ------------------------------------------------
# (issue 12, item 5) A file written newest first is read bottom-up before rotation, evidence
# order (seq) and the equal-time rule apply; the clock (clock.localize) takes its fall-back
# hour bottom-up too, by the same rule (clock.line_order). source_line stays the physical line.


def _exact_rows(raw: pd.DataFrame) -> np.ndarray | None:
    """Rows whose ``ts_quality`` is ``exact`` (None: every row)."""
    if "ts_quality" not in raw.columns:
        return None
    q = raw["ts_quality"]
    if isinstance(q.dtype, pd.CategoricalDtype):
        cats = list(q.cat.categories)
        if "exact" not in cats:
            return np.zeros(len(q), dtype=bool)
        return q.cat.codes.to_numpy() == cats.index("exact")
    return q.astype(schema.STRING).eq("exact").fillna(True).to_numpy(dtype=bool)


def _line_orders(
    raw: pd.DataFrame, ts: np.ndarray, row_file: np.ndarray, n_files: int
) -> np.ndarray:
    """:func:`clock.line_order` of every file of the pool, on its ``exact`` UTC times.

    Outside the clock's transition windows local time and UTC are in the same order,
    so this tells the same order as the clock did on the file's local times.
    """
    return clock.line_order(ts, row_file, use=_exact_rows(raw), n_files=n_files)


def _newest_first_permutation(
    raw: pd.DataFrame,
    rev: np.ndarray,
    row_file: np.ndarray,
    f_start: np.ndarray,
) -> np.ndarray:
    """Pool permutation that reads each file of ``rev`` bottom-up (by ``source_line``).

    Each file keeps its slots in the pool; the rows of a reversed file are put in
    decreasing ``source_line``, then decreasing position (the events of one line, e.g.
    the entries of a FHIR Bundle written on one line, are reversed too). A file with a
    row without ``source_line`` is reversed row by row.
    """
    n = len(raw)
    perm = np.arange(n, dtype=np.int64)
    sub = np.flatnonzero(rev[row_file])
    pos = sub - f_start[row_file[sub]]
    line = raw["source_line"] if "source_line" in raw.columns else None
    if line is not None:
        ln = pd.array(line.iloc[sub], dtype="Int64")
        na = np.asarray(ln.isna(), dtype=bool)
        vals = ln.to_numpy(dtype=np.int64, na_value=0)
        bad_file = np.zeros(len(rev), dtype=bool)
        bad_file[row_file[sub][na]] = True
        back = np.where(bad_file[row_file[sub]], -pos, -vals)
    else:
        back = -pos
    perm[sub] = sub[np.lexsort((-pos, back, f_start[row_file[sub]]))]
    return perm


# --- identities compared as the same thing ---------------------------------------------------
# (issue 12, item 2) Accounts, addresses and hosts are made canonical once per distinct
# value after the readers, so that every later comparison (sessions, account-kind
# overrides, peer groups, the source ranking) sees one spelling per identity; the forms
# as written are kept in ``*_raw`` columns.

#: Canonical column -> the column that keeps it as written.
IDENTITY_RAW_COLUMNS: dict[str, str] = {
    "account": "account_raw",
    "src_ip": "src_ip_raw",
    "host": "host_raw",
}


def _check_account_kinds(kinds: Mapping[str, str]) -> None:
    """Refuse an account-kind override outside :data:`schema.ACCOUNT_KINDS`, or two
    spellings of one account (canonically equal) with different kinds."""
    seen: dict[str, tuple[str, str]] = {}
    for k, v in sorted(kinds.items()):
        if v not in schema.ACCOUNT_KINDS:
            raise ParameterError(
                f"account_kinds[{k!r}] = {v!r} is not an account kind; use one of "
                f"{list(schema.ACCOUNT_KINDS)}"
            )
        c = canonical_account(str(k))
        if c in seen and seen[c][1] != v:
            raise ParameterError(
                f"account_kinds names one account twice with different kinds: {seen[c][0]!r} "
                f"({seen[c][1]}) and {k!r} ({v}) are the same account once Unicode-normalised "
                "(NFC); keep one entry"
            )
        seen.setdefault(c, (str(k), v))


def _case_insensitive_rows(raw: pd.DataFrame) -> np.ndarray | None:
    """Rows read by a reader whose accounts are case-insensitive (None when there are none)."""
    if "source_format" not in raw.columns:
        return None
    fi, fvals = _codes(_chunked(raw["source_format"].astype(schema.STRING)))
    flags = []
    for v in fvals:
        try:
            flags.append(bool(get_reader(v).accounts_case_insensitive))
        except KeyError:
            flags.append(False)
    if not any(flags):
        return None
    return np.asarray(flags + [False], dtype=bool)[np.where(fi < 0, len(fvals), fi)]


def _canonical_identities(
    raw: pd.DataFrame, kinds: Mapping[str, str], *, any_case_insensitive: bool = True
) -> None:
    """Canonical ``account``, ``src_ip``, ``host`` in place; the forms as written in ``*_raw``.

    See :mod:`labforensics.identity` for the canonical forms. Accounts are case-folded
    only on rows of readers with ``accounts_case_insensitive``. Account-kind overrides
    are then applied again on the canonical accounts (their keys made canonical the
    same way), so that every spelling of an overridden account takes its kind, over the
    kind its role gives. Work is per distinct value (dictionary codes), never per row;
    ``any_case_insensitive`` False (no such reader among the files) skips looking for
    their rows.
    """
    if not len(raw):
        return
    ci = _case_insensitive_rows(raw) if "account" in raw.columns and any_case_insensitive else None
    for col, raw_col in IDENTITY_RAW_COLUMNS.items():
        if col not in raw.columns:
            continue
        as_written = raw[col].astype(schema.STRING)
        if col == "account":
            canon, changed = canonical_column(
                as_written,
                canonical_account,
                variant=ci,
                canon_variant=lambda v: canonical_account(v, casefold=True),
            )
        elif col == "src_ip":
            canon, changed = canonical_column(as_written, canonical_address)
        else:
            canon, changed = canonical_column(as_written, canonical_host)
        raw[raw_col] = as_written.array
        if changed:
            raw[col] = canon.array
    if kinds and "account" in raw.columns and "account_kind" in raw.columns:
        plain = {canonical_account(str(k)): v for k, v in kinds.items()}
        folded: dict[str, str] = {}
        if ci is not None:  # a case-insensitive source: keys compared case-folded as well
            for k, v in sorted(kinds.items()):
                f = canonical_account(str(k), casefold=True)
                if folded.setdefault(f, v) != v:
                    raise ParameterError(
                        f"account_kinds gives {f!r} two kinds ({folded[f]}, {v}) once "
                        "case-folded, and a source compares accounts case-insensitively; "
                        "keep one entry"
                    )
        cats = list(schema.ACCOUNT_KINDS)
        ai, avals = _codes(_chunked(raw["account"].astype(schema.STRING)))
        ai = np.where(ai < 0, len(avals), ai)
        over = [cats.index(plain[v]) if v in plain else -1 for v in avals]
        kind = np.asarray(over + [-1], dtype=np.int8)[ai]
        if ci is not None:
            over_ci = [cats.index(folded[v]) if v in folded else -1 for v in avals]
            kind = np.where(ci, np.asarray(over_ci + [-1], dtype=np.int8)[ai], kind)
        hit = kind >= 0
        cur = raw["account_kind"]
        if hit.any() and not isinstance(cur.dtype, pd.CategoricalDtype):
            if (cur.notna() & ~cur.isin(cats)).any():
                return  # a value outside the vocabulary: schema.coerce_events names it
            cur = cur.astype(object).astype(schema.ACCOUNT_KIND_DTYPE)
        if hit.any():
            codes = cur.cat.codes.to_numpy().astype(np.int8, copy=True)
            codes[hit] = kind[hit]
            raw["account_kind"] = pd.Categorical.from_codes(codes, dtype=schema.ACCOUNT_KIND_DTYPE)


def read_evidence(
    paths: PathLike | Iterable[PathLike],
    *,
    tz: str | dt.tzinfo = "Europe/Paris",
    profile: ProfileArg = None,
    case_key: CaseKey | bytes | str | os.PathLike[str] | None = None,
    year: int | Mapping[str, int] | None = None,
    lab: str | Mapping[str, str] | None = None,
    lab_aliases: Mapping[str, str] | None = None,
    account_kinds: Mapping[str, str] | None = None,
    progress: bool = False,
) -> Evidence:
    """Read evidence files into the canonical event table, with full accounting.

    Parameters
    ----------
    paths : path-like or iterable of path-like
        Files, folders (walked recursively, sorted) or glob patterns. The
        result does not depend on the order they are given in.
    tz : str or tzinfo, default "Europe/Paris"
        IANA zone (or a tzinfo) of sources that write local wall-clock time
        without offset. Never guessed from the machine's settings.
    profile : str, path-like, Profile, or a list of them, optional
        Profiles (built-in names or TOML files, see
        :mod:`labforensics.ingest.profiles`). Each file is read with the first
        profile that recognises it (its header line or pattern, else its name
        by ``file_pattern``); a file no profile recognises goes to the built-in
        readers, and one that none recognises is set aside as unrecognised
        (``report.unrecognised_reasons`` names the profiles tried), never
        quarantined row by row.
    case_key : CaseKey, bytes, hex str or key-file path, optional
        Key of the patient pseudonyms (see :func:`labforensics.privacy.load_case_key`).
    year : int or mapping, optional
        Year for sources whose lines carry none (RFC 3164 syslog): one year, or
        ``{path, folder or glob: year}`` (the most specific key wins), e.g. a
        rotated ``auth.log.1`` from December and ``auth.log`` from January.
    lab : str or mapping, optional
        Lab of sources that do not name one: one code, or
        ``{path, folder or glob: lab}`` (the most specific key wins).
    lab_aliases : mapping, optional
        FINESS number (or other alias) -> lab code, applied to the ``lab`` column.
    account_kinds : mapping, optional
        Account -> ``staff``/``vendor``/``service``/``unknown`` overrides, matched on
        the canonical account (:mod:`labforensics.identity`: NFC; case-folded for a
        source whose accounts are case-insensitive), so every spelling takes the kind.
    progress : bool, default False
        Show a progress bar (tqdm), one step per file.

    Returns
    -------
    Evidence
        ``events`` holds accounts, addresses and host names in canonical form, as
        written in ``account_raw``, ``src_ip_raw``, ``host_raw``; a file written
        newest first is read bottom-up (``report.reversed_files``; a file whose line
        order cannot be told is listed in ``report.unclear_order_files``).

    Raises
    ------
    EvidenceError
        When a path does not exist or a file cannot be opened.
    ProfileError
        When ``profile`` is invalid.
    ParameterError
        When ``tz`` is not a known zone, or ``account_kinds`` gives a kind outside
        :data:`labforensics.schema.ACCOUNT_KINDS` or two kinds to one canonical account.

    Notes
    -----
    Arrow buffers are allocated from jemalloc during the call (see
    :mod:`labforensics._arrow_pool`): with pyarrow's default mimalloc the read
    spends about a third of its CPU time in page faults.
    """
    with arrow_memory_pool():
        return _read_evidence(
            paths,
            tz=tz,
            profile=profile,
            case_key=case_key,
            year=year,
            lab=lab,
            lab_aliases=lab_aliases,
            account_kinds=account_kinds,
            progress=progress,
        )


def _read_evidence(
    paths: PathLike | Iterable[PathLike],
    *,
    tz: str | dt.tzinfo,
    profile: object,
    case_key: CaseKey | bytes | str | os.PathLike[str] | None,
    year: int | Mapping[str, int] | None,
    lab: str | Mapping[str, str] | None,
    lab_aliases: Mapping[str, str] | None,
    account_kinds: Mapping[str, str] | None,
    progress: bool,
) -> Evidence:
    try:
        zone = tz if isinstance(tz, dt.tzinfo) else ZoneInfo(tz)
    except (KeyError, ValueError, OSError, TypeError) as exc:
        raise ParameterError(
            f"tz={tz!r} is not an IANA time zone; use e.g. 'Europe/Paris'"
        ) from exc
    profs = load_profiles(
        list(profile) if isinstance(profile, Iterable) and not isinstance(profile, str) else profile
    )
    no_profile: dict[int, str] = {}  # job -> why no profile took it (when profiles given)
    aliases = dict(lab_aliases or {})
    kinds = dict(account_kinds or {})
    _check_account_kinds(kinds)
    links: dict[Path, str] = {}
    items = expand_paths(paths, links)
    root = common_root([p for p, _ in items] or list(links))
    key = load_case_key(case_key)
    report = IngestReport()
    for link, why in sorted(links.items()):
        name = relative_name(link, root)
        report.unrecognised.append(name)
        report.unrecognised_reasons[name] = why
    manifest: list[EvidenceFile] = []
    lab_notes: list[dict[str, object]] = []
    jobs: list[tuple[Path, str, ReaderSpec | None, ReadContext]] = []

    def run(unit: list[int]) -> tuple[list[EvidenceFile], BatchRead | FileRead | None]:
        # Each file is hashed on the bytes its reader parses (one read: see
        # files.custody_log); a file its reader did not read through read_bytes, or
        # that no reader recognises, is hashed on its own.
        spec = jobs[unit[0]][2]
        out: BatchRead | FileRead | None = None
        with custody_log() as log:
            if spec is not None and spec.read_many is not None:
                out = spec.read_many([jobs[i][0] for i in unit], [jobs[i][3] for i in unit])
            elif spec is not None:
                out = spec.read(jobs[unit[0]][0], jobs[unit[0]][3])
        fmt = spec.name if spec else None
        efs = []
        for i in unit:
            path, source_file = jobs[i][0], jobs[i][1]
            got = log.get(os.fspath(path))
            sha, size = got if got is not None else sha256_file(path)
            # the path as found or named (absolute; a link keeps its own name)
            efs.append(EvidenceFile(printable_name(path.as_posix()), source_file, size, sha, fmt))
        return efs, out

    # Files are sniffed in path order; each unit of work (a batch of files) goes to
    # the pool as soon as it is complete, and batches are read two at a time:
    # hashing, decompression, pyarrow and numpy release the GIL. Results are
    # collected in submission order, so the output never depends on which thread
    # finished first.
    planner = _UnitPlanner(_disk_sizes([p for p, _ in items]))
    units: list[list[int]] = []
    futures = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc="reading evidence", unit="file")

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:

        def submit(unit: list[int]) -> None:
            units.append(unit)
            fut = pool.submit(run, unit)
            futures.append(fut)
            if bar is not None:  # called by the worker that finished the unit
                n = len(unit)
                fut.add_done_callback(lambda _f: bar.update(n))

        try:
            for path, _explicit in items:
                source_file = relative_name(path, root)
                head = read_head(path)
                spec, fprof = _choose_profile_reader(head, path.name, profs)
                if spec is None and profs:
                    no_profile[len(jobs)] = no_profile_reason(profs, head)
                ctx = ReadContext(
                    tz=zone,
                    source_file=source_file,
                    profile=fprof,
                    year=_resolve_lab(year, path, source_file),
                    lab=_resolve_lab(lab, path, source_file),
                    lab_aliases=aliases,
                    account_kinds=kinds,
                )
                jobs.append((path, source_file, spec, ctx))
                unit = planner.add(len(jobs) - 1, spec)
                if unit is not None:
                    submit(unit)
            for unit in planner.finish():
                submit(unit)
            results = [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        finally:
            if bar is not None:
                bar.close()
        futures.clear()  # the futures hold the results: drop them with the results below
    # --- one pool of rows: pieces (a batch's table or one file's), files within them -----
    pieces: list[pd.DataFrame] = []
    hashes: list[np.ndarray | None] = []  # per piece: record hashes (``_rhash``), if any
    files: list[_File] = []
    efs: dict[int, EvidenceFile] = {}
    for unit, res in zip(units, results, strict=True):
        spec = jobs[unit[0]][2]
        unit_efs, out = res
        for i, ef in zip(unit, unit_efs, strict=True):
            efs[i] = ef
        if spec is None:
            for i in unit:
                name = jobs[i][1]
                report.unrecognised.append(name)
                why = unrecognised_reason(jobs[i][0], read_head(jobs[i][0]))
                if i in no_profile and why.startswith("no reader recognises"):
                    why = no_profile[i]
                # the first bytes may hold identifiers (an IPP, a NIR...): redacted
                why = redact_digit_runs(redact_identifiers(why), key, jobs[i][3].lab)
                report.unrecognised_reasons[name] = why
            continue
        if isinstance(out, BatchRead):
            pid = len(pieces)
            hashes.append(out.events.pop("_rhash").to_numpy() if "_rhash" in out.events else None)
            pieces.append(out.events)
            for code, cnt in out.unknown_codes.items():
                report.unknown_codes[code] = report.unknown_codes.get(code, 0) + cnt
            starts = np.concatenate(([0], np.cumsum(out.counts)[:-1]))
            for j, i in enumerate(unit):
                files.append(
                    _File(
                        i,
                        out.files[j],
                        spec,
                        pid,
                        int(starts[j]),
                        int(out.counts[j]),
                        True,
                        hashes[-1] is not None or "_record" in out.events,
                    )
                )
        else:
            fr = out
            for code, cnt in fr.unknown_codes.items():
                report.unknown_codes[code] = report.unknown_codes.get(code, 0) + cnt
            ev = _quarantine_out_of_range(fr)
            if "source_file" not in ev.columns:
                ev["source_file"] = jobs[unit[0]][1]
            if "source_format" not in ev.columns:
                ev["source_format"] = spec.name
            if "lab" not in ev.columns:
                ev["lab"] = pd.Series(pd.NA, index=ev.index, dtype=schema.STRING)
            hashes.append(ev.pop("_rhash").to_numpy() if "_rhash" in ev else None)
            pieces.append(ev)
            files.append(
                _File(
                    unit[0],
                    fr,
                    spec,
                    len(pieces) - 1,
                    0,
                    len(ev),
                    False,
                    hashes[-1] is not None or "_record" in ev,
                )
            )
            fr.events = None
    for i in range(len(jobs)):
        manifest.append(efs[i])
    del results  # (the loop variables hold the last unit's tables: dropped with them below)
    res = out = None
    # --- evidence order ------------------------------------------------------------------
    far = dt.date.max
    files.sort(key=lambda f: (f.fr.file_date or far, jobs[f.job][1]))
    piece_start = np.concatenate(([0], np.cumsum([len(p) for p in pieces]))).astype(np.int64)
    for f in files:
        f.start += int(piece_start[f.piece])
        if f.fr.lab is not None:
            f.fr.lab = aliases.get(f.fr.lab, f.fr.lab)
    raw = (
        pd.concat(pieces, ignore_index=True)
        if len(pieces) > 1
        else (
            pieces[0]
            if pieces
            else schema.empty_events().assign(_ipp=pd.Series([], dtype="string"))
        )
    )
    rhash = None
    if any(h is not None for h in hashes):
        rhash = np.concatenate(
            [
                h if h is not None else np.zeros(len(p), np.int64)
                for h, p in zip(hashes, pieces, strict=True)
            ]
        )
    hashed = np.asarray([hashes[f.piece] is not None for f in files], dtype=bool)
    del pieces, hashes
    n_files = len(files)
    f_start = np.asarray([f.start for f in files], dtype=np.int64)
    f_count = np.asarray([f.count for f in files], dtype=np.int64)
    # file (in evidence order) of each pool row
    by_start = np.argsort(f_start, kind="stable")
    nonempty = by_start[f_count[by_start] > 0]
    row_file = np.repeat(nonempty, f_count[nonempty]).astype(np.int64)
    # --- file order: a file written newest first is read bottom-up --------------------------
    ts_pool = _ts_ns(raw["ts"]) if len(raw) else np.zeros(0, dtype=np.int64)
    line_order = _line_orders(raw, ts_pool, row_file, n_files)
    reversed_file = line_order == 1
    if reversed_file.any():
        perm = _newest_first_permutation(raw, reversed_file, row_file, f_start)
        raw = raw.take(perm).reset_index(drop=True)
        ts_pool = ts_pool[perm]
        if rhash is not None:
            rhash = rhash[perm]
        del perm
    # --- rotation de-duplication -----------------------------------------------------------
    # (each profile's reader carries the profile's rotation flag: no profile passed here)
    skip = _rotation(raw, rhash, hashed, files, f_start, f_count, row_file, None)
    _set_session_rule(raw, files, [j[3] for j in jobs])
    del rhash
    # --- lab aliases; a row without a lab -> UNKNOWN (noted per file) ----------------------
    labs = _chunked(raw["lab"].astype(schema.STRING)) if len(raw) else None
    if labs is not None and (aliases or labs.null_count):
        if aliases:
            li, lvals = _codes(labs)
            mapped = [aliases.get(v, v) for v in lvals]
            labs = pa.chunked_array([_from_codes(li, mapped).array._pa_array.combine_chunks()])
        missing = labs.is_null().to_numpy(zero_copy_only=False)
        if missing.any():
            per = np.bincount(row_file[missing], minlength=n_files)
            for k in np.flatnonzero(per):
                lab_notes.append(
                    {
                        "source_file": jobs[files[k].job][1],
                        "source_line": pd.NA,
                        "column": "lab",
                        "value": "",
                        "problem": f"lab missing on {int(per[k])} rows: set to UNKNOWN "
                        "(give read_evidence(lab=...) or a lab column)",
                    }
                )
            labs = pc.fill_null(labs, "UNKNOWN")
        raw["lab"] = pd.Series(pd.arrays.ArrowStringArray(labs), dtype=schema.STRING)
    # --- per-file report ---------------------------------------------------------------------
    reads: list[tuple[FileRead, FileReport, ReaderSpec]] = []
    for k, f in enumerate(files):
        ef = efs[f.job]
        fr = f.fr
        frep = FileReport(
            source_file=jobs[f.job][1],
            path=ef.path,
            format=f.spec.name,
            size=ef.size,
            sha256=ef.sha256,
            rows_read=fr.rows_read,
            events=fr.rows_to_events - int(skip[k]),
            events_out=int(f_count[k] - skip[k]),
            rotation_duplicates=int(skip[k]),
            repeated_headers=fr.repeated_headers,
            ignored=fr.ignored,
            quarantined=len(fr.quarantine),
            field_problems=len(fr.field_problems),
            truncated=fr.truncated,
            truncation_note=fr.truncation_note,
            lab=fr.lab,
            line_order=clock.LINE_ORDERS[int(line_order[k])],
            reversed=bool(reversed_file[k]),
        )
        report.files.append(frep)
        reads.append((fr, frep, f.spec))
    if "_record" in raw.columns:
        del raw["_record"]
    # --- pseudonymise (lab, IPP) once per distinct pair -----------------------------------
    # Columns are dictionary-encoded once; trimming, pairing and hashing are done per
    # distinct value, never per row. The pairs are found on the pool before the sort and
    # their HMACs computed in a thread while the pool is permuted (pyarrow's take
    # releases the GIL); the per-row codes are then permuted like the rows.
    lab_codes, lab_vals = (
        _codes(_chunked(raw["lab"].astype(schema.STRING))) if len(raw) else (None, [])
    )
    # Request numbers likewise become keyed ids (R), never kept raw in the events.
    empty = pa.array([], type=pa.string())
    ipp_labs = ipp_vals = req_labs = req_vals = empty
    codes = req_codes = None
    ids = KeyedIds(key)
    with ThreadPoolExecutor(max_workers=1) as hmac_pool:
        hmac_job = req_job = None
        if "_ipp" in raw.columns and len(raw):
            codes, ipp_labs, ipp_vals = _keyed_pairs(
                raw["_ipp"], lab_codes, lab_vals, python_strip=True
            )
            raw = raw.drop(columns=["_ipp"])
            hmac_job = hmac_pool.submit(ids.patients, ipp_labs, ipp_vals)
        if "request" in raw.columns and len(raw):
            req_codes, req_labs, req_vals = _keyed_pairs(
                raw["request"], lab_codes, lab_vals, python_strip=False
            )
            raw = raw.drop(columns=["request"])
            req_job = hmac_pool.submit(ids.requests, req_labs, req_vals)
        # --- evidence order (seq), then (ts, seq): one permutation of the pool ----------
        if len(raw):
            pos = np.arange(len(raw), dtype=np.int64) - f_start[row_file]
            kept = np.flatnonzero(pos >= skip[row_file])
            # rows of a file are contiguous and in line order: sort by (file rank, row)
            ev_order = kept[np.argsort(row_file[kept], kind="stable")]
            seq = np.empty(len(raw), dtype=np.int64)
            seq[ev_order] = np.arange(len(ev_order), dtype=np.int64)
            ts = ts_pool
            order = ev_order[np.argsort(ts[ev_order], kind="stable")]  # equal ts: seq order
            seq = seq[order]
            # the index arrays (8 bytes a row each) are dropped before the columns are
            # taken: the take is the peak of memory
            del pos, kept, ev_order, ts, ts_pool, row_file
            if len(order) != len(raw) or (np.diff(order) < 0).any():
                lab_codes = lab_codes[order]
                if codes is not None:
                    codes = codes[order]
                if req_codes is not None:
                    req_codes = req_codes[order]
                cols = list(raw.columns)
                source = {c: raw[c].array for c in cols}
                del raw
                idx = pa.array(order)

                def take(c: str):  # each column's original is dropped once taken
                    return _take(source.pop(c), order, idx)

                # two columns at a time (pyarrow and numpy's take release the GIL); only
                # the columns in flight are ever held twice in memory
                with ThreadPoolExecutor(max_workers=_WORKERS) as take_pool:
                    taken = dict(zip(cols, take_pool.map(take, cols), strict=True))
                raw = pd.DataFrame(taken, copy=False)
                del taken
            raw["seq"] = seq
            del seq, order
        if hmac_job is not None:
            raw["patient"] = _from_codes(codes, hmac_job.result())
            del codes, hmac_job
        if req_job is not None:
            raw["request"] = _from_codes(req_codes, req_job.result())
            del req_codes, req_job
    # --- redact free text: details, quarantined lines, field-problem values ---------------
    det_codes = None
    det_pairs: list[tuple[str, str]] = []
    if "detail" in raw.columns and len(raw):
        dc, dvals = _codes(_chunked(raw["detail"].astype(schema.STRING)))
        if dvals:
            det_codes, det_pairs = _pairs_of(lab_codes, lab_vals, dc, dvals)
        del dc
    texts = [t for _, t in det_pairs]
    for fr, _, _ in reads:
        texts += [q.raw for q in fr.quarantine if q.raw]
        texts += [p.value for p in fr.field_problems if p.value]
    tokens: set[str] = set()
    for t in texts:
        tokens.update(_TOKEN.findall(t))
    # Only IPPs and request numbers that occur as tokens can be replaced: the Redactor
    # is built on those.
    known = _tokens_known(ipp_labs, ipp_vals, tokens)
    known_req = _tokens_known(req_labs, req_vals, tokens)
    del ipp_labs, ipp_vals, req_labs, req_vals
    redactor = Redactor(key, known, known_req)
    if det_codes is not None:
        red = [redactor.redact(tx, lb or None) for lb, tx in det_pairs]
        if any(r != tx for r, (_, tx) in zip(red, det_pairs, strict=True)):
            raw["detail"] = _from_codes(det_codes, red)  # else: nothing to redact, kept
    qrows: list[dict[str, object]] = []
    fprows: list[dict[str, object]] = list(lab_notes)
    for (fr, frep, spec), f in zip(reads, files, strict=True):
        lp = _lis_profile(spec, jobs[f.job][3].profile)
        flab = frep.lab or jobs[f.job][3].lab
        for q in fr.quarantine:
            qrows.append(
                {
                    "source_file": frep.source_file,
                    "source_line": q.line,
                    "reason": q.reason,
                    "raw": _redact_quarantined(q.raw, redactor, key, lp, flab, aliases),
                }
            )
        for p in fr.field_problems:
            fprows.append(
                {
                    "source_file": frep.source_file,
                    "source_line": p.line,
                    "column": p.column,
                    "value": (
                        redact_digit_runs(redactor.redact(p.value, flab), key, flab)
                        if lp is not None
                        else redactor.redact(p.value, flab)
                    ),
                    "problem": p.problem,
                }
            )
    # --- identities: canonical accounts, addresses, hosts (as written kept in *_raw) -------
    _canonical_identities(
        raw, kinds, any_case_insensitive=any(f.spec.accounts_case_insensitive for f in files)
    )
    # --- canonical table (already sorted by (ts, seq)) -------------------------------------
    raw = raw.drop(columns=[c for c in raw.columns if c.startswith("_")])
    events = schema.coerce_events(raw)[list(schema.EVENT_COLUMNS)] if len(raw) else None
    del raw
    if events is None:
        events = schema.empty_events()
    schema.validate_events(events)
    quarantine = pd.DataFrame(qrows, columns=list(QUARANTINE_COLUMNS))
    quarantine = quarantine.astype(
        {
            "source_file": schema.STRING,
            "source_line": "Int64",
            "reason": schema.STRING,
            "raw": schema.STRING,
        }
    )
    fp_cols = ["source_file", "source_line", "column", "value", "problem"]
    report.field_problems = pd.DataFrame(fprows, columns=fp_cols).astype(
        {
            "source_file": schema.STRING,
            "source_line": "Int64",
            "column": schema.STRING,
            "value": schema.STRING,
            "problem": schema.STRING,
        }
    )
    report.unrecognised.sort()
    report.check()
    return Evidence(
        events=events,
        report=report,
        quarantine=quarantine,
        manifest=manifest,
        case_key_fingerprint=key.fingerprint,
    )
