"""Assembly of the event table from the pieces read: one pool of rows in evidence order,
files written newest first read bottom-up, lab aliases, the per-file report, the sort by
(ts, seq), canonical identities, coercion and validation.

File order (issue 12, item 5): a file written newest first is read bottom-up before
rotation, evidence order (seq) and the equal-time rule apply; the clock
(``clock.localize``) takes its fall-back hour bottom-up too, by the same rule
(``clock.line_order``). ``source_line`` stays the physical line.

Identities compared as the same thing (issue 12, item 2): accounts, addresses and hosts
are made canonical once per distinct value after the readers, so that every later
comparison (sessions, account-kind overrides, peer groups, the source ranking) sees one
spelling per identity; the forms as written are kept in ``*_raw`` columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from ..custody import EvidenceFile
from ..errors import ParameterError
from ..identity import canonical_account, canonical_address, canonical_column, canonical_host
from ..labcodes import resolve_lab
from . import clock
from ._columns import _chunked, _codes, _from_codes, _take
from ._engine import _WORKERS, Job, _File
from .accounting import QUARANTINE_COLUMNS, FileReport, IngestReport
from .registry import FileRead, ReadContext, ReaderSpec, get_reader


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


def _ts_ns(s: pd.Series) -> np.ndarray:
    """UTC nanoseconds (int64) of a time column."""
    ts = pd.to_datetime(s, utc=True)
    return ts.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").view("int64")


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


#: Canonical column -> the column that keeps it as written.
IDENTITY_RAW_COLUMNS: dict[str, str] = {
    "account": "account_raw",
    "src_ip": "src_ip_raw",
    "host": "host_raw",
}


def _check_account_kinds(kinds: Mapping[str, str]) -> None:
    """Refuse an account-kind override outside :data:`schema.ACCOUNT_KINDS`, or two
    spellings of one account (equal after NFC and case folding, as the authorisation
    register compares accounts: QA session 11) with different kinds."""
    seen: dict[str, tuple[str, str]] = {}
    for k, v in sorted(kinds.items()):
        if v not in schema.ACCOUNT_KINDS:
            raise ParameterError(
                f"account_kinds[{k!r}] = {v!r} is not an account kind; use one of "
                f"{list(schema.ACCOUNT_KINDS)}"
            )
        c = canonical_account(str(k), casefold=True)
        if c in seen and seen[c][1] != v:
            raise ParameterError(
                f"account_kinds names one account twice with different kinds: {seen[c][0]!r} "
                f"({seen[c][1]}) and {k!r} ({v}) are the same account once Unicode-normalised "
                "(NFC) and case-folded; keep one entry"
            )
        seen.setdefault(c, (str(k), v))


def folded_kinds(kinds: Mapping[str, str]) -> dict[str, str]:
    """Account kinds keyed by the account after NFC and case folding.

    Parameters
    ----------
    kinds : mapping of str to str
        Account (as written) -> kind.

    Returns
    -------
    dict of str to str

    Raises
    ------
    ParameterError
        Two keys equal once folded with different kinds (naming the folded account).
    """
    folded: dict[str, str] = {}
    for k, v in sorted(kinds.items()):
        f = canonical_account(str(k), casefold=True)
        if folded.setdefault(f, v) != v:
            raise ParameterError(
                f"account_kinds gives {f!r} two kinds ({folded[f]}, {v}) once case-folded "
                "(accounts are matched case-insensitively); keep one entry"
            )
    return folded


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
    are then applied again, keys and accounts compared after NFC and case folding
    whatever the source (as the authorisation register matches accounts, QA session
    11: ``TECH.A`` in ``[accounts]`` gives ``tech.a`` its kind), so that every spelling
    of an overridden account takes its kind, over the kind its role gives. Work is per distinct value (dictionary codes), never per row;
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
        folded = folded_kinds(kinds)
        cats = list(schema.ACCOUNT_KINDS)
        ai, avals = _codes(_chunked(raw["account"].astype(schema.STRING)))
        ai = np.where(ai < 0, len(avals), ai)
        fv = [canonical_account(v, casefold=True) for v in avals]  # per distinct account
        over = [cats.index(folded[f]) if f in folded else -1 for f in fv]
        kind = np.asarray(over + [-1], dtype=np.int8)[ai]
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


@dataclass
class _Pool:
    """Every row read, in one table, and the files within it (in evidence order).

    ``f_start``/``f_count`` (int64, one per file): the file's rows in ``raw``;
    ``row_file`` (int64, one per row): the file of each row; ``rhash``: the record
    hashes (int64, one per row) when a reader gave them, ``hashed`` (bool, one per
    file) whether the file's reader did; ``ts``: UTC nanoseconds (int64) of each row.
    Steps drop the arrays they are the last to need, to keep the peak of memory low.
    """

    raw: pd.DataFrame
    files: list[_File]
    f_start: np.ndarray
    f_count: np.ndarray
    row_file: np.ndarray | None
    rhash: np.ndarray | None
    hashed: np.ndarray
    ts: np.ndarray | None = None


def pool_rows(
    pieces: list[pd.DataFrame],
    hashes: list[np.ndarray | None],
    files: list[_File],
    jobs: list[Job],
    aliases: Mapping[str, str],
) -> _Pool:
    """One pool of rows from the pieces, files in evidence order: (date in name, path).

    ``files`` is sorted in place; each file's lab goes through ``aliases``.
    """
    far = dt.date.max
    files.sort(key=lambda f: (f.fr.file_date or far, jobs[f.job][1]))
    piece_start = np.concatenate(([0], np.cumsum([len(p) for p in pieces]))).astype(np.int64)
    for f in files:
        f.start += int(piece_start[f.piece])
        if f.fr.lab is not None:
            f.fr.lab = resolve_lab(f.fr.lab, aliases) or f.fr.lab
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
    f_start = np.asarray([f.start for f in files], dtype=np.int64)
    f_count = np.asarray([f.count for f in files], dtype=np.int64)
    # file (in evidence order) of each pool row
    by_start = np.argsort(f_start, kind="stable")
    nonempty = by_start[f_count[by_start] > 0]
    row_file = np.repeat(nonempty, f_count[nonempty]).astype(np.int64)
    return _Pool(raw, files, f_start, f_count, row_file, rhash, hashed)


def read_bottom_up(pool: _Pool) -> tuple[np.ndarray, np.ndarray]:
    """Read each file written newest first bottom-up (the pool permuted); sets ``pool.ts``.

    Returns each file's line order (codes of :data:`clock.LINE_ORDERS`) and whether it
    was reversed.
    """
    raw = pool.raw
    ts_pool = _ts_ns(raw["ts"]) if len(raw) else np.zeros(0, dtype=np.int64)
    line_order = _line_orders(raw, ts_pool, pool.row_file, len(pool.files))
    reversed_file = line_order == 1
    if reversed_file.any():
        perm = _newest_first_permutation(raw, reversed_file, pool.row_file, pool.f_start)
        raw = pool.raw = raw.take(perm).reset_index(drop=True)
        ts_pool = ts_pool[perm]
        if pool.rhash is not None:
            pool.rhash = pool.rhash[perm]
        del perm
    pool.ts = ts_pool
    return line_order, reversed_file


def apply_lab_aliases(
    pool: _Pool, aliases: Mapping[str, str], jobs: list[Job], lab_notes: list[dict[str, object]]
) -> None:
    """Labs canonical, aliases resolved, on the ``lab`` column; a row without a lab ->
    UNKNOWN (noted per file)."""
    raw = pool.raw
    labs = _chunked(raw["lab"].astype(schema.STRING)) if len(raw) else None
    if labs is not None:
        li, lvals = _codes(labs)  # canonical (NFC, upper case) as a file name's lab (QA 13)
        mapped = [(resolve_lab(v, aliases) or v) if v is not None else None for v in lvals]
        if mapped != lvals:
            labs = pa.chunked_array([_chunked(_from_codes(li, mapped)).combine_chunks()])
        missing = labs.is_null().to_numpy(zero_copy_only=False)
        if missing.any():
            per = np.bincount(pool.row_file[missing], minlength=len(pool.files))
            for k in np.flatnonzero(per):
                lab_notes.append(
                    {
                        "source_file": jobs[pool.files[k].job][1],
                        "source_line": pd.NA,
                        "column": "lab",
                        "value": "",
                        "problem": f"lab missing on {int(per[k])} rows: set to UNKNOWN "
                        "(give read_evidence(lab=...) or a lab column)",
                    }
                )
            labs = pc.fill_null(labs, "UNKNOWN")
        raw["lab"] = pd.Series(pd.arrays.ArrowStringArray(labs), dtype=schema.STRING)


def file_reports(
    pool: _Pool,
    jobs: list[Job],
    manifest: list[EvidenceFile],
    skip: np.ndarray,
    line_order: np.ndarray,
    reversed_file: np.ndarray,
    report: IngestReport,
    copy: np.ndarray | None = None,
) -> list[tuple[FileRead, FileReport, ReaderSpec]]:
    """One :class:`FileReport` per recognised file (in evidence order), added to ``report``.

    A byte-identical copy (``copy[k]``, :mod:`labforensics.ingest._copies`) has every row
    read counted as a rotation duplicate and nothing else: they are its original's.
    """
    reads: list[tuple[FileRead, FileReport, ReaderSpec]] = []
    for k, f in enumerate(pool.files):
        ef = manifest[f.job]
        fr = f.fr
        if copy is not None and copy[k]:
            frep = _copy_report(jobs[f.job][1], ef, f, fr, line_order[k], reversed_file[k])
            report.files.append(frep)
            reads.append((fr, frep, f.spec))
            continue
        frep = FileReport(
            source_file=jobs[f.job][1],
            path=ef.path,
            format=f.spec.name,
            size=ef.size,
            sha256=ef.sha256,
            rows_read=fr.rows_read,
            events=fr.rows_to_events - int(skip[k]),
            events_out=int(pool.f_count[k] - skip[k]),
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
            rows_recoded=fr.rows_recoded,
            replacement_chars=fr.replacement_chars,
            encoding_note=fr.encoding_note,
            note=fr.note,
        )
        report.files.append(frep)
        reads.append((fr, frep, f.spec))
    return reads


def _copy_report(
    name: str,
    ef: EvidenceFile,
    f: _File,
    fr: FileRead,
    order: int,
    reversed_: bool,
) -> FileReport:
    """The :class:`FileReport` of a byte-identical copy: ``rows_read`` all counted as
    ``rotation_duplicates`` (its original's rows); what the file is (size, lab, line
    order, encoding, notes) as read."""
    return FileReport(
        source_file=name,
        path=ef.path,
        format=f.spec.name,
        size=ef.size,
        sha256=ef.sha256,
        rows_read=fr.rows_read,
        rotation_duplicates=fr.rows_read,
        truncated=fr.truncated,
        truncation_note=fr.truncation_note,
        lab=fr.lab,
        line_order=clock.LINE_ORDERS[int(order)],
        reversed=bool(reversed_),
        rows_recoded=fr.rows_recoded,
        replacement_chars=fr.replacement_chars,
        encoding_note=fr.encoding_note,
        note=fr.note,
    )


def sort_pool(
    pool: _Pool, skip: np.ndarray, row_codes: list[np.ndarray | None]
) -> list[np.ndarray | None]:
    """Evidence order (``seq``), then (ts, seq): one permutation of the pool.

    Rotation duplicates (``skip`` rows at the head of each file) are dropped. The
    per-row arrays of ``row_codes`` are permuted like the rows (None stays None).
    Drops ``pool.ts`` and ``pool.row_file``.
    """
    raw = pool.raw
    if not len(raw):
        return row_codes
    row_file = pool.row_file
    pos = np.arange(len(raw), dtype=np.int64) - pool.f_start[row_file]
    kept = np.flatnonzero(pos >= skip[row_file])
    # rows of a file are contiguous and in line order: sort by (file rank, row)
    ev_order = kept[np.argsort(row_file[kept], kind="stable")]
    seq = np.empty(len(raw), dtype=np.int64)
    seq[ev_order] = np.arange(len(ev_order), dtype=np.int64)
    ts = pool.ts
    order = ev_order[np.argsort(ts[ev_order], kind="stable")]  # equal ts: seq order
    seq = seq[order]
    # the index arrays (8 bytes a row each) are dropped before the columns are
    # taken: the take is the peak of memory
    del pos, kept, ev_order, ts, row_file
    pool.ts = pool.row_file = None
    if len(order) != len(raw) or (np.diff(order) < 0).any():
        row_codes = [None if c is None else c[order] for c in row_codes]
        cols = list(raw.columns)
        source = {c: raw[c].array for c in cols}
        del raw
        pool.raw = None
        idx = pa.array(order)

        def take(c: str):  # each column's original is dropped once taken
            return _take(source.pop(c), order, idx)

        # two columns at a time (pyarrow and numpy's take release the GIL); only
        # the columns in flight are ever held twice in memory
        with ThreadPoolExecutor(max_workers=_WORKERS) as take_pool:
            taken = dict(zip(cols, take_pool.map(take, cols), strict=True))
        raw = pool.raw = pd.DataFrame(taken, copy=False)
        del taken
    raw["seq"] = seq
    return row_codes


def canonical_events(pool: _Pool) -> pd.DataFrame:
    """The canonical event table (already sorted by (ts, seq)), validated; drops the pool."""
    raw = pool.raw.drop(columns=[c for c in pool.raw.columns if c.startswith("_")])
    pool.raw = None
    events = schema.coerce_events(raw)[list(schema.EVENT_COLUMNS)] if len(raw) else None
    del raw
    if events is None:
        events = schema.empty_events()
    schema.validate_events(events)
    return events


def quarantine_table(qrows: list[dict[str, object]]) -> pd.DataFrame:
    """The quarantine rows as a table: ``source_file``, ``source_line``, ``reason``, ``raw``."""
    quarantine = pd.DataFrame(qrows, columns=list(QUARANTINE_COLUMNS))
    return quarantine.astype(
        {
            "source_file": schema.STRING,
            "source_line": "Int64",
            "reason": schema.STRING,
            "raw": schema.STRING,
        }
    )


def field_problem_table(fprows: list[dict[str, object]]) -> pd.DataFrame:
    """The field problems as a table (the report's ``field_problems``), sorted.

    Parameters
    ----------
    fprows : list of dict
        One dict per problem with ``source_file``, ``source_line``, ``column``,
        ``value`` (already redacted) and ``problem``, in any order.

    Returns
    -------
    pandas.DataFrame
        Those five columns (strings; ``source_line`` ``Int64``), sorted by source file,
        line, column, problem and value (a line unknown last) with a fresh index, so
        that the same problems give the same rows in the same order, whatever the
        order the readers and checks found them in (``field_problems.csv`` is
        byte-identical across re-runs).
    """
    fp_cols = ["source_file", "source_line", "column", "value", "problem"]
    table = pd.DataFrame(fprows, columns=fp_cols).astype(
        {
            "source_file": schema.STRING,
            "source_line": "Int64",
            "column": schema.STRING,
            "value": schema.STRING,
            "problem": schema.STRING,
        }
    )
    order = ["source_file", "source_line", "column", "problem", "value"]
    return table.sort_values(order, kind="stable", na_position="last").reset_index(drop=True)
