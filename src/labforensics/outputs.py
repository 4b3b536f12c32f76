"""The output folder and its writers: deterministic, and safe against hostile text.

- :data:`OUTPUT_NAMES` lists every file labforensics writes in an output folder;
  :func:`prepare_out` creates the folder and never deletes a file not in that list.
- CSV cells of text that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return are prefixed with ``'`` so that a spreadsheet never evaluates them
  (OWASP, *CSV Injection*), a signed number in a text column too (``-5.2``,
  ``+33 2 99 00 00 00``: case 009). Numeric columns are left as numbers.
- CSV cells show control characters (ESC, CR, bell, C1, bidirectional overrides) as
  visible escapes (``\\x1b``), as the command's printout and the HTML report do
  (:func:`labforensics._terminal.visible_value`): ``cat`` of a CSV shows the text and
  obeys none of it.
- JSON is written with sorted keys, no NaN, ISO 8601 UTC times and a final
  newline, so the same findings give the same bytes.
- Parquet files are written without pandas' index and with fixed writer
  options, so the same table gives the same contents.

An investigation (:func:`labforensics.investigate`) writes the files below;
``labforensics ingest`` writes ``events.parquet``, ``quarantine.csv``,
``field_problems.csv``, ``manifest.json`` and ``ingest_report.json``, the accounting of every file read (rows read, events,
quarantined, duplicates, unrecognised files and why).

=====================  ===============================================================
``report.html``        the expert's report, self-contained (figures embedded, no script)
``report.pdf``         the same report printed (A4) by headless Chromium; not written
                       when Chromium is absent (``manifest.json`` ``report_pdf`` says so)
``findings.json``      verdict, hypotheses, windows, pathways, top sessions with reasons,
                       accounting and parameters; byte-identical across re-runs (no
                       wall-clock time, no absolute path)
``events.parquet``     the canonical event table with ``session_id`` (pseudonymised)
``sessions.parquet``   the session table (a run keeping its events in files writes it
                       right after collect and holds a slim table:
                       :mod:`labforensics.session_files`)
``scores.parquet``     session scores: ``session_id``, ``score``, ``rank``, ``flagged``,
                       ``reasons``, the detectors' and rules' columns
``scores_account_day.parquet``, ``scores_account_month.parquet``
                       account-day and account-month scores (columns as
                       :class:`labforensics.detect.Scores`); the three scored tables
                       are written right after detection and not held in memory
                       (:mod:`labforensics.score_files`)
``campaigns.parquet``  sessions grouped into campaigns (one account, one activity, no long
                       pause), ranked by their best session:
                       :func:`labforensics.detect.campaigns.group_campaigns`;
                       ``account`` canonical, ``account_as_logged`` its spellings as
                       logged where they differ (a decomposed accent, another case)
``quarantine.csv``     input rows that could not become events (formulas neutralised)
``field_problems.csv`` events kept with a field wrong or missing: ``source_file``,
                       ``source_line``, ``column``, ``value`` (redacted as the
                       quarantine: identifiers pseudonymised), ``problem`` (an
                       implausible year, a date after the analysis, no account ...)
``sources.csv``        source addresses ranked by their authentication attempts (brute
                       force), :func:`labforensics.detect.score_sources` (neutralised);
                       ``src_ip`` and ``accounts_succeeded`` canonical, ``src_ip_as_logged``
                       and ``accounts_succeeded_as_logged`` their spellings as logged
                       where they differ ("" elsewhere)
``leak_links.parquet``  with a dump of people: one row per dump row, its (lab, patient)
                       link, probability and match class (``leak.linkage.LINK_COLUMNS``;
                       pseudonyms and ``D`` row ids only)
``exports.parquet``    every export and extraction with its status against the
                       authorisation register (:func:`labforensics.authorisation.assess_exports`)
``manifest.json``      chain of custody: SHA-256 and size of every input, SHA-256 of
                       every output, versions, parameters, seed, time zone, start/end
=====================  ===============================================================
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import _outlock
from ._cleanup import forget_made, missing_folders, record_made
from ._terminal import IDENTITY_COLUMNS, identity_visible, json_visible, text_visible
from .errors import OutputExistsError
from .schema import is_list_dtype, join_list

__all__ = [
    "FORMULA_PREFIXES",
    "OUTPUT_NAMES",
    "STORE_NAMES",
    "drop_private",
    "json_safe",
    "neutralise_cell",
    "neutralise_frame",
    "parquet_table",
    "prepare_out",
    "write_csv",
    "write_json",
    "write_parquet",
]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


#: Every file name labforensics writes in an output folder (ingest and investigate).
OUTPUT_NAMES = frozenset(
    {
        "events.parquet",
        "quarantine.csv",
        "field_problems.csv",
        "ingest_report.json",
        "manifest.json",
        "findings.json",
        "sessions.parquet",
        "scores.parquet",
        "scores_account_day.parquet",
        "scores_account_month.parquet",
        "sources.csv",
        "report.html",
        "report.pdf",
        "leak_links.parquet",
        "campaigns.parquet",
        "exports.parquet",
    }
)

#: Mode of an output folder (owner only): see :func:`prepare_out`.
OUT_FOLDER_MODE = 0o700
#: Mode of the files a run leaves in it (as the case key file and ``reidentify``'s output).
OUT_FILE_MODE = 0o600

#: What ``labforensics ingest --store DIR`` writes in an evidence store (files at its top,
#: and its two folders of Parquet parts and per-group tables): see
#: :mod:`labforensics.store._layout`.
STORE_NAMES = frozenset(
    {"manifest.json", "ingest_report.json", "quarantine.csv", "events", "groups"}
)


def prepare_out(out: Path, force: bool) -> Path:
    """Create the output folder; refuse an existing non-empty one unless ``force``.

    With ``force``, a folder holding a previous labforensics output (its
    ``manifest.json``) is emptied of the files labforensics writes (:data:`OUTPUT_NAMES`)
    so that the folder, and the new manifest's output list, hold exactly what this
    run writes. A folder holding anything else is refused even with ``force``:
    labforensics never deletes a file it did not write.

    The output folder is always left mode 0700 (:data:`OUT_FOLDER_MODE`), whether this
    run made it or the user did beforehand: its files hold pseudonymised health data and
    names from the evidence, readable by the case's investigator only, as the key file
    and the ``reidentify`` output (0600). The files a run writes there are made 0600
    when it ends well (:func:`labforensics._cleanup.discard_on_failure`). Parent folders
    made on the way keep the default mode.

    The folder is locked first (:func:`labforensics._outlock.acquire`, a lock file
    beside it): a second run into the same folder fails at once; the run releases it
    when it ends (:func:`labforensics._cleanup.discard_on_failure`).

    Raises
    ------
    OutputExistsError
        When another run holds the folder's lock; when ``out`` is an existing file;
        when it is a non-empty folder and ``force``
        is False; when ``force`` is given but the folder holds files (or folders)
        labforensics did not write.
    """
    out = Path(out)
    forget_made(out)  # what an earlier run made is not this run's (remove_if_empty)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(
            f"--out {out} is a file, not a folder; choose a folder path (new or empty)"
        )
    made = missing_folders(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _outlock.acquire(out)  # one run per folder (QA session 11), released by the run
    except (OSError, OutputExistsError) as exc:
        for d in made[1:]:  # the parents made for the lock only
            with contextlib.suppress(OSError):
                os.rmdir(d)
        if isinstance(exc, OutputExistsError):
            raise
        raise OutputExistsError(f"cannot create {out.parent}: {exc.strerror or exc}") from exc
    try:
        _prepare_locked(out, force)
    except BaseException:
        _outlock.release(out)
        raise
    record_made(out, made)  # removed again by a failed run while still empty
    return out


def _prepare_locked(out: Path, force: bool) -> None:
    """:func:`prepare_out` once the folder's lock is held (its parent exists)."""
    try:
        entries = sorted(out.iterdir()) if out.exists() else []
    except OSError as exc:
        raise OutputExistsError(f"cannot list output folder {out}: {exc.strerror or exc}") from exc
    if entries and not force:
        raise OutputExistsError(f"output folder {out} exists and is not empty; pass --force")
    if entries:
        unknown = [
            e.name
            for e in entries
            if e.name not in OUTPUT_NAMES or e.is_symlink() or not e.is_file()
        ]
        if unknown:
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise OutputExistsError(
                f"{out} holds files labforensics did not write: {', '.join(unknown[:10])}{more}; "
                "choose another --out"
            )
        if not (out / "manifest.json").is_file():
            raise OutputExistsError(
                f"{out} holds no manifest.json, so it is not a previous labforensics output "
                "and --force will not empty it; choose another --out"
            )
        for e in entries:
            try:
                e.unlink()
            except OSError as exc:
                raise OutputExistsError(
                    f"cannot remove the previous output {e}: {exc.strerror or exc}"
                ) from exc
    try:
        out.mkdir(parents=True, exist_ok=True)
        out.chmod(OUT_FOLDER_MODE)  # made or given: the outputs hold health data (QA 16)
    except OSError as exc:
        raise OutputExistsError(
            f"cannot create output folder {out}: {exc.strerror or exc}"
        ) from exc


def drop_private(df: pd.DataFrame) -> pd.DataFrame:
    """Drop private columns (``_ipp``, ``_record`` ...) that must never leave the process."""
    private = [c for c in df.columns if str(c).startswith("_")]
    return df.drop(columns=private) if private else df


def neutralise_cell(value: object) -> object:
    """Prefix a text cell with ``'`` when it starts with a formula character.

    Parameters
    ----------
    value : object
        A cell. Only strings are changed.

    Returns
    -------
    object
        ``"'" + value`` for a string starting with one of :data:`FORMULA_PREFIXES`
        (``=``, ``+``, ``-``, ``@``, tab, carriage return), a signed number included
        (``"-5.2"`` -> ``"'-5.2"``: text in a text column, case 009); every other value
        unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text columns are neutralised (numbers untouched).

    Parameters
    ----------
    df : pandas.DataFrame
        Any table.

    Returns
    -------
    pandas.DataFrame
        A copy. Text columns (dtype object, string or category) become ``string``
        columns where a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR
        (OWASP, CSV injection) gets a leading ``'``: a signed number written as text
        too (``-5.2``, ``+33 2 99 00 00 00``: shared case 009, "a text cell ``-5.2`` is
        text and is neutralised"). Numeric, boolean and datetime columns are kept as
        they are (a score of -5.2 stays the number -5.2); in an object column mixing
        numbers and text only the text cells are prefixed.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype("string")
        if pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            txt = s.astype("string")
            starts = txt.str[:1].isin(list(FORMULA_PREFIXES)).fillna(False).astype(bool)
            if s.dtype == object:
                # object columns may mix numbers and text: only text cells are prefixed
                is_text = s.map(lambda v: isinstance(v, str)).astype(bool)
                starts &= is_text
            if starts.any():
                txt = txt.where(~starts, "'" + txt)
            out[col] = txt
    return out


def _visible_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the control characters of its text cells as visible escapes
    (:func:`labforensics._terminal.visible_value`), look-alike spaces and mixed scripts
    too (:func:`~labforensics._terminal.text_visible`; in an identity column, a leading or
    trailing space as well: :func:`~labforensics._terminal.identity_visible`); columns
    without one untouched."""
    for col in df.columns:
        s = df[col]
        if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
            continue
        vals = s.to_numpy(dtype=object, copy=True)
        ident = str(col) in IDENTITY_COLUMNS
        show = identity_visible if ident else text_visible
        odd = [i for i, v in enumerate(vals) if isinstance(v, str) and (
            not v.isascii() or not v.isprintable() or ident and (v[:1] == " " or v[-1:] == " "))]  # fmt: skip
        if odd:
            vals[odd] = [show(v) for v in vals[odd]]
            df[col] = pd.Series(vals, index=s.index, dtype=s.dtype, name=s.name)
    return df


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as UTF-8 CSV (``,`` separator, all text quoted minimally), neutralised.

    Text cells are neutralised (:func:`neutralise_frame`, on the values as recorded:
    ``"\\rcmd"`` gets its ``'``), then their control characters are written as visible
    escapes (:func:`labforensics._terminal.visible_value`: ``"'\\x0dcmd"``,
    ``"evil\\x1b[31m"``; tab and line feed kept). Datetime columns are written as
    ISO 8601 UTC; list columns (:data:`~labforensics.schema.STRING_LIST`) as their items
    joined by ``" | "`` (empty: an empty cell).

    Parameters
    ----------
    df : pandas.DataFrame
        The table (not modified).
    path : str or os.PathLike
        The CSV file (its folder is created).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    out = df.copy()
    for col in out.columns:
        if is_list_dtype(out[col].dtype):
            out[col] = join_list(out[col])
    out = _visible_frame(neutralise_frame(out))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out.to_csv(p, index=False, encoding="utf-8", lineterminator="\n")
    return p


def json_safe(obj: Any, *, ndigits: int = 6) -> Any:
    """Convert ``obj`` to JSON-safe Python types, deterministically.

    Timestamps become ISO 8601 strings in UTC, floats are rounded to ``ndigits``
    significant decimals, NaN and missing values become None, numpy scalars
    become Python scalars, sets become sorted lists and DataFrames become lists
    of records.
    """
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        if math.isnan(f) or math.isinf(f):
            return None
        return round(f, ndigits)
    if isinstance(obj, str):
        return obj
    if isinstance(obj, pd.Timestamp):
        ts = obj if obj.tzinfo is not None else obj.tz_localize("UTC")
        return ts.tz_convert("UTC").isoformat().replace("+00:00", "Z")
    if isinstance(obj, dt.datetime):
        return json_safe(pd.Timestamp(obj))
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, pd.Timedelta | dt.timedelta):
        return json_safe(pd.Timedelta(obj).total_seconds(), ndigits=ndigits)
    if isinstance(obj, Path):
        return obj.as_posix()
    if isinstance(obj, pd.DataFrame):
        return [json_safe(r, ndigits=ndigits) for r in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return [json_safe(v, ndigits=ndigits) for v in obj.tolist()]
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v, ndigits=ndigits) for k, v in obj.items()}
    if isinstance(obj, set | frozenset):
        return sorted(json_safe(v, ndigits=ndigits) for v in obj)
    if isinstance(obj, list | tuple | np.ndarray):
        return [json_safe(v, ndigits=ndigits) for v in obj]
    if hasattr(obj, "to_dict"):
        return json_safe(obj.to_dict(), ndigits=ndigits)
    try:
        if pd.isna(obj):
            return None
    except (TypeError, ValueError):
        pass
    return str(obj)


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``json_safe(obj)`` with sorted keys, 2-space indent and a final newline;
    control and bidirectional characters as JSON escapes (:func:`~._terminal.json_visible`)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_safe(obj), sort_keys=True, indent=2, ensure_ascii=False)
    # controls and bidi overrides as JSON escapes, as the CSVs and the HTML escape them
    p.write_text(json_visible(text) + "\n", encoding="utf-8")
    return p


def write_parquet(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` to Parquet (zstd, no index, no pandas metadata timestamps).

    The schema is that of ``df``; categoricals are stored as dictionaries; list
    columns (:data:`~labforensics.schema.STRING_LIST`) as Parquet lists, their
    pandas metadata marked ``object`` so that :func:`pandas.read_parquet` can read
    them back (as arrays; ``dtype_backend="pyarrow"`` gives the Arrow lists):
    pandas cannot parse its own ``list<item: string>[pyarrow]`` dtype name
    (pandas-dev/pandas#57411, apache/arrow#39914).

    A table longer than :data:`ROW_GROUP_ROWS` is converted to Arrow one row group at a
    time (the whole table's Arrow copy is never held: 1.5 GB for the session table of a
    33-million-event case); the file is the same bytes as the whole table written at once
    (same schema, same row groups: tested).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    n = len(df)
    if n <= ROW_GROUP_ROWS:
        pq.write_table(parquet_table(df), p, **PARQUET_OPTIONS)
        return p
    # the whole table's types (object columns inferred over every row, not one chunk's)
    schema = _lists_as_object(df, pa.Schema.from_pandas(df, preserve_index=False))
    with pq.ParquetWriter(str(p), schema, **PARQUET_OPTIONS) as writer:
        for a in range(0, n, ROW_GROUP_ROWS):
            part = parquet_table(df.iloc[a : a + ROW_GROUP_ROWS], schema)
            writer.write_table(part, row_group_size=ROW_GROUP_ROWS)
            del part
    return p


#: Rows per Parquet row group: pyarrow's own default for :func:`pyarrow.parquet.write_table`
#: (1024 x 1024), so that a table written in chunks is the bytes of it written at once.
ROW_GROUP_ROWS = 1024 * 1024

#: How every Parquet output is written (:func:`write_parquet`, and the chunked writer of
#: :meth:`labforensics.case_events.CaseEvents.write_parquet`).
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_statistics": True}


def parquet_table(df: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """``df`` as the Arrow table :func:`write_parquet` writes (no index; list columns'
    pandas metadata marked ``object``, see there); with ``schema``, converted to it (a
    chunk of a larger table: the whole table's types and metadata)."""
    if schema is not None:
        return pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    table = pa.Table.from_pandas(df, preserve_index=False)
    return table.replace_schema_metadata(_lists_as_object(df, table.schema).metadata)


def _lists_as_object(df: pd.DataFrame, schema: pa.Schema) -> pa.Schema:
    """``schema`` with the pandas metadata of ``df``'s list columns marked ``object``."""
    lists = {str(c) for c in df.columns if is_list_dtype(df[c].dtype)}
    meta = schema.pandas_metadata
    if not (lists and meta):
        return schema
    for col in meta.get("columns", []):
        if col.get("name") in lists:
            col["numpy_type"] = "object"
    return schema.with_metadata({**schema.metadata, b"pandas": json.dumps(meta).encode("utf-8")})
