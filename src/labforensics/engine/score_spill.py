"""Detection's scored rows in files lab by lab, ranked together from small columns (issue 17).

:func:`~labforensics.engine.model.scores_from_labs` ranks every lab's scored rows at once:
every lab's rows of the three units, their concatenation and its sorted copies are held
together (the peak of the detection stage of a 33-million-event case).
:class:`ScoreSpill` gives the same outputs holding one lab's rows at a time:

1. :meth:`ScoreSpill.add`, per lab as it is scored (:func:`~labforensics.engine.model.score_lab`):
   each unit's rows are written to a file of the run's private folder (:mod:`pickle`: the
   exact frame back) and only what the ranking needs is kept: the key columns, ``score``
   and ``flagged``, the frame's columns and dtypes, and the kinds of values of its object
   columns.
2. :meth:`ScoreSpill.finish`, per unit: the rows of every lab ranked from those columns
   exactly as :func:`~labforensics.engine.model.scores_from_labs` ranks them (key order,
   then score, keys and position); the reasons kept for flagged and ``explain_top``
   best-ranked rows; the unit's table written to the folder
   (:data:`~labforensics.score_files.SCORE_FILES`) in rank order, one row group
   (:data:`labforensics.outputs.ROW_GROUP_ROWS` rows) at a time, each taken from the labs'
   files; the session unit's slim table
   (:func:`~labforensics.score_files.slim_session_scores`' columns) written a file a lab
   in rank order from the labs' files (:class:`~labforensics.scored_labs.ScoredLabs`:
   never held whole, session 21).

The files are the bytes :func:`~labforensics.score_files.set_aside` writes of the whole
tables (tests/engine/test_score_spill.py): same rows, values and dtypes (the rows of a
chunk are concatenated from every lab, empty ones included, as the whole table is), and
the whole table's Parquet schema, which pyarrow infers for an object column from every
value: it is inferred here from one row per kind of value of each object column (the
Python type, and for a list or array the kinds of its items; the reasons column's kinds
among the rows whose reasons are kept), the kinds being what the inference depends on
for the values these tables hold (text, lists of text, numbers, missing values).

When the labs' tables of a unit do not all have the same columns (the rule columns
aside) and dtypes, that unit is ranked as before, from its labs' files read back at once
(:func:`~labforensics.engine.model.scores_from_labs`): the same bytes, without the memory
saving.

Memory: per lab, the small columns (about 35 bytes a row: the key columns as
Arrow-backed text, the score and the flag; before session 21 the session unit's slim
columns too, about 100 bytes); while a unit is written, one lab's rows read back, and
one row group of the table (at most
:data:`~labforensics.outputs.ROW_GROUP_ROWS` rows, held at most twice: the labs' rows
converted to Arrow, and the row group in rank order). Measured with
``benchmarks/score_spill_peak.py`` (30 labs, 1.5 million session rows and 1.05 million
account-day rows of the real columns): 1,055 MiB above the process's memory before the
first lab (session 21; 1,215 MiB with the slim session table built whole), against
2,012 MiB for the same tables ranked in memory. What is left was not measured apart:
per lab its three units' small columns, and the row group being written (up to
:data:`~labforensics.outputs.ROW_GROUP_ROWS` rows of every column, held twice).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import outputs
from ..case import CaseContext
from ..detect import DetectParams, Scores
from ..score_files import SCORE_FILES, SLIM_COLUMNS, slim_session_scores
from ..scored_labs import ScoredLabs
from .model import (
    UNITS,
    UnitModel,
    score_columns,
    scores_from_labs,
    scores_metadata,
    unit_metadata,
)

__all__ = ["ScoreSpill", "rank_order", "value_kind"]

#: The column blanked after the global ranking (kept for flagged and top-ranked rows).
BLANKED = "reasons"


def value_kind(v: Any) -> Any:
    """What pyarrow's type inference of an object column depends on, for one value.

    None for a missing value (None, NaN, ``pd.NA``, ``NaT``); for a list, tuple or array,
    its kind and the set of its items' kinds; else the Python type's name.
    """
    if isinstance(v, str):
        return "str"
    if isinstance(v, list | tuple | np.ndarray):
        dt = v.dtype if isinstance(v, np.ndarray) else None
        return (type(v).__name__, dt, frozenset(value_kind(x) for x in v))
    if isinstance(v, dict):
        return ("dict", frozenset((str(k), value_kind(x)) for k, x in v.items()))
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    return type(v).__name__


def _kinds(col: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Positions of ``col``'s non-missing values and their kinds (:func:`value_kind`)."""
    values = col.to_numpy()
    at = np.flatnonzero(col.notna().to_numpy())  # missing values have no kind
    kinds = [value_kind(values[i]) for i in at]
    keep = [j for j, k in enumerate(kinds) if k is not None]
    return at[keep].astype(np.int64), [kinds[j] for j in keep]


def rank_order(small: pd.DataFrame, key_columns: tuple[str, ...] | list[str]) -> np.ndarray:
    """Positions of ``small``'s rows in rank order, as
    :func:`~labforensics.engine.model.scores_from_labs` ranks them.

    Parameters
    ----------
    small : pandas.DataFrame
        ``(n, k)``: every lab's rows concatenated in lab order (``RangeIndex``), with the
        key columns and ``score`` (float64).
    key_columns : sequence of str

    Returns
    -------
    numpy.ndarray
        ``(n,)`` int64: the row of ``small`` ranked first, second...: score descending,
        then the key columns ascending, then position (a missing score or key last):
        the order of :func:`labforensics.detect._ranking` after a stable sort by key.

    Notes
    -----
    One stable Arrow sort of the negated score and the key columns as Arrow arrays
    (the text keys shared with ``small``, not copied): no Python string per row, no
    sorted copy of ``small``. The pandas sorts it replaces (a sorted copy of ``small``
    and the keys as Python strings) peaked at 345 MiB above the table for 1.4 million
    sessions, 201 MiB for a million account-days (issue 17, step 4 of session 16's
    design). Arrow compares text by its UTF-8 bytes, which is the code point order
    Python compares ``str`` by.
    """
    kc = list(key_columns)
    n = len(small)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    neg = -small["score"].to_numpy(dtype="float64")
    cols = {"s": pa.array(neg, from_pandas=True)}  # NaN -> null: ranked last
    del neg
    for i, c in enumerate(kc):
        cols[f"k{i}"] = _sort_key(small[c])
    keys = pa.table(cols)
    # stable (ties keep their position); nulls at the end (Arrow's default, every version)
    idx = pc.sort_indices(keys, sort_keys=[(c, "ascending") for c in cols])
    return idx.to_numpy().astype(np.int64)


def _sort_key(col: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A key column as an Arrow array ordered as :func:`labforensics.detect._ranking`
    orders its values (a missing value null; a categorical by its values)."""
    arr = pa.array(col, from_pandas=True)
    if pa.types.is_dictionary(arr.type):
        arr = pc.cast(arr, arr.type.value_type)
    return arr


@dataclass
class _LabUnit:
    """One lab's scored rows of one unit, in a file, and what is kept of them."""

    path: Path
    n: int
    empty: pd.DataFrame  # no rows: the columns and dtypes
    small: pd.DataFrame  # the ranking's (and the slim table's) columns
    meta: dict[str, Any]  # score_lab's entries but "out"
    kinds: dict[str, dict[Any, int]] = field(default_factory=dict)  # object col -> kind -> row
    blanked: tuple[np.ndarray, list[Any]] = (np.zeros(0, np.int64), [])  # reasons' kinds

    def load(self) -> pd.DataFrame:
        with open(self.path, "rb") as f:
            return pickle.load(f)  # the run's own file, written just before


class ScoreSpill:
    """Scored rows lab by lab in files, ranked and written as the scored tables (module doc).

    Parameters
    ----------
    folder : pathlib.Path
        The run's private folder (:class:`~labforensics.case_events.EventsFolder`): the
        labs' files (removed by :meth:`finish`) and the tables written there.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.labs: list[dict[str, _LabUnit]] = []

    def add(self, scored: dict[str, Any]) -> None:
        """One lab's scored rows (:func:`~labforensics.engine.model.score_lab`'s result):
        written to files, the small columns kept; labs are added in the run's lab order.

        Raises
        ------
        OSError
            When the folder cannot be written.
        """
        i = len(self.labs)
        kept: dict[str, _LabUnit] = {}
        for u, x in scored.items():
            out: pd.DataFrame = x["out"]
            path = self.folder / f"scored-{i}-{u}.pkl"
            with open(path, "wb") as f:
                pickle.dump(out, f, protocol=pickle.HIGHEST_PROTOCOL)
            kc = list(x["key_columns"])
            cols = [*kc, "score", "flagged"]  # the session unit's slim rows: from the file
            small = out[list(dict.fromkeys(c for c in cols if c in out.columns))].copy()
            lu = _LabUnit(path, len(out), out.iloc[:0].copy(), small,
                          {k: v for k, v in x.items() if k != "out"})  # fmt: skip
            for c in out.columns:
                if out[c].dtype == object:
                    pos, kinds = _kinds(out[c])
                    if c == BLANKED:
                        lu.blanked = (pos, kinds)
                    else:
                        lu.kinds[c] = {
                            k: int(p) for p, k in reversed(list(zip(pos, kinds, strict=True)))
                        }
            kept[u] = lu
        self.labs.append(kept)

    def finish(self, models: dict[str, UnitModel], params: DetectParams, case: CaseContext
               ) -> tuple[Scores, dict[str, Path]]:  # fmt: skip
        """Every unit ranked and written; the labs' files removed.

        Returns
        -------
        scores : Scores
            As :func:`~labforensics.score_files.set_aside` leaves detection's result:
            ``session`` the slim table (:func:`~labforensics.score_files.slim_session_scores`)
            a file a lab (:class:`~labforensics.scored_labs.ScoredLabs`; a DataFrame when
            the labs' tables differ and the unit was ranked at once), ``account_day`` and ``account_month`` None, the metadata of
            :func:`~labforensics.engine.model.scores_from_labs`.
        files : dict of str to pathlib.Path
            Unit -> its table's Parquet file in the folder (:data:`SCORE_FILES` names).
        """
        res = Scores()
        res.metadata = scores_metadata(params, case)
        files: dict[str, Path] = {}
        try:
            for u in UNITS:
                entries = [lab[u] for lab in self.labs if u in lab]
                if not entries or u not in models:
                    continue
                path = self.folder / SCORE_FILES[u]
                metas = [e.meta for e in entries]
                if _uniform(entries):
                    n_flagged, slim = _write_unit(entries, u, path, params)
                else:  # the labs' tables differ: ranked at once, as before
                    n_flagged, slim = _write_whole(entries, u, path, models[u], params, case)
                n = sum(e.n for e in entries)
                res.metadata["units"][u] = unit_metadata(models[u], metas, n, n_flagged, params)
                if u == "session":
                    res.session = slim
                files[u] = path
                for e in entries:  # the unit's small columns and files are done with
                    e.path.unlink(missing_ok=True)
                    e.small = e.empty
        finally:
            for lab in self.labs:
                for e in lab.values():
                    e.path.unlink(missing_ok=True)
            self.labs = []
        return res, files


def _uniform(entries: list[_LabUnit]) -> bool:
    """Whether every lab's rows have the same columns and dtypes (rule columns aside, which
    are float64 and filled with 0.0 where a lab lacks one)."""

    def shape(e: _LabUnit) -> tuple[list[str], list[Any]]:
        cols = [c for c in e.empty.columns if not str(c).startswith("rule_")]
        return cols, [e.empty[c].dtype for c in cols]

    first = shape(entries[0])
    for e in entries:
        rules = [c for c in e.empty.columns if str(c).startswith("rule_")]
        if shape(e) != first or any(e.empty[c].dtype != np.float64 for c in rules):
            return False
    return True


def _scored_labs(entries: list[_LabUnit], src: np.ndarray, keep: np.ndarray,
                 rule_order: list[str], folder: Path) -> ScoredLabs:  # fmt: skip
    """The session unit's slim table (:func:`slim_session_scores`' columns, the reasons
    kept for ``keep`` only), a file a lab in rank order (:class:`ScoredLabs`), each lab's
    rows taken from its file: the rows of the case's table, never held whole.

    ``src`` is :func:`rank_order` of the labs' rows concatenated; ``keep`` (rank order)
    whether a row's reasons are kept."""
    rank_of = np.empty(len(src), dtype=np.int64)  # concatenated row -> its rank position
    rank_of[src] = np.arange(len(src), dtype=np.int64)
    kept = ScoredLabs(folder)
    positions, start = [], 0
    for e in entries:
        at = rank_of[start : start + e.n]
        start += e.n
        order = np.argsort(at, kind="stable")
        at = at[order]
        full = e.load()
        have = [c for c in SLIM_COLUMNS if c in full.columns or c == "rank"]
        slim = full[[c for c in SLIM_COLUMNS if c in full.columns]].take(order)
        slim = slim.reset_index(drop=True)
        for c in rule_order:  # fired or not (slim_session_scores' test); a rule the lab
            if c in e.meta["rule_columns"]:  # never ran: not fired
                v = pd.to_numeric(full[c], errors="coerce").fillna(0).to_numpy() > 0
                slim[c] = v[order]
            else:
                slim[c] = np.zeros(len(slim), dtype=bool)
        del full
        slim["rank"] = at + 1
        if BLANKED in slim.columns:
            k = keep[at]
            slim[BLANKED] = np.where(k, slim[BLANKED].to_numpy(), None)
            slim[BLANKED] = slim[BLANKED].where(k, pd.NA)
        kept.add(slim[[*have, *rule_order]])
        positions.append(at)
        del slim
    return kept.place(positions)


def _write_unit(entries: list[_LabUnit], unit: str, path: Path, params: DetectParams
                ) -> tuple[int, ScoredLabs | None]:  # fmt: skip
    """Rank a unit's rows from the kept columns and write its table in rank order; the
    session unit's slim table a file a lab (:func:`_scored_labs`)."""
    kc = list(entries[0].meta["key_columns"])
    rule_order = list(dict.fromkeys(c for e in entries for c in e.meta["rule_columns"]))
    rcols = sorted(set(rule_order))
    smalls = []
    for e in entries:
        smalls.append(e.small)
        e.small = e.empty  # held by the concatenation only
    small = pd.concat(smalls, ignore_index=True)
    del smalls
    n = len(small)
    src = rank_order(small, kc)
    flagged = small["flagged"].to_numpy(dtype=bool)
    keep = flagged[src] | (np.arange(1, n + 1) <= params.explain_top)
    del small
    slim = _scored_labs(entries, src, keep, rule_order, path.parent) if unit == "session" else None
    sizes = np.array([e.n for e in entries], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    lab_of = np.repeat(np.arange(len(entries), dtype=np.int32), sizes)[src]
    pos = src - starts[lab_of]
    del src
    cols = score_columns(list(entries[0].empty.columns), [e.meta for e in entries])

    def pieces(idx: np.ndarray) -> Iterator[tuple[int, pd.DataFrame]]:
        """Per lab with rows at ``idx`` (rank positions, increasing): the lab, its rows
        there as the whole table has them (rule columns it lacks at 0.0, ``rank``, the
        reasons blanked), in rank order."""
        lo = lab_of[idx]
        for i, e in enumerate(entries):
            mine = idx[lo == i]
            if not len(mine):
                continue
            df = e.load().iloc[pos[mine]].reset_index(drop=True)
            for c in rcols:
                if c not in df.columns:
                    df[c] = 0.0
            df["rank"] = mine + 1
            k = keep[mine]
            df[BLANKED] = np.where(k, df[BLANKED].to_numpy(), None)
            df[BLANKED] = df[BLANKED].where(k, pd.NA)
            yield i, df[cols]

    def proxy(idx: np.ndarray) -> pd.DataFrame:
        """The rows at ``idx`` as one frame in rank order (a few: for the schema)."""
        got = dict(pieces(idx))
        first = entries[0].empty.assign(
            **{c: np.zeros(0) for c in rcols}, rank=np.zeros(0, np.int64)
        )
        df = pd.concat([first[cols], *got.values()], ignore_index=True)
        order = np.argsort(lab_of[idx], kind="stable")  # the pieces' rows, lab by lab
        inv = np.empty(len(idx), dtype=np.int64)
        inv[order] = np.arange(len(idx))
        return df.iloc[inv].reset_index(drop=True)

    # the whole table's schema, from one row per kind of value of each object column
    schema = _schema(proxy(_witnesses(entries, lab_of, pos, keep)))
    chunk = outputs.ROW_GROUP_ROWS
    with pq.ParquetWriter(str(path), schema, **outputs.PARQUET_OPTIONS) as writer:
        for a in range(0, max(n, 1), chunk):
            idx = np.arange(a, min(a + chunk, n), dtype=np.int64)
            writer.write_table(_arrow_rows(pieces(idx), lab_of[idx], schema),
                               row_group_size=chunk)  # fmt: skip
    return int(flagged.sum()), slim


def _arrow_rows(pieces: Iterator[tuple[int, pd.DataFrame]], lo: np.ndarray, schema: pa.Schema
                ) -> pa.Table:  # fmt: skip
    """One row group: each lab's rows converted as :func:`labforensics.outputs.parquet_table`
    converts a chunk (``schema``), then put in rank order column by column (a column of
    the labs' rows given up once taken: the row group is held at most twice, never as
    pandas and Arrow at once). ``lo`` is the lab of each row in rank order."""
    parts = [pa.Table.from_pandas(df, schema=schema, preserve_index=False) for _, df in pieces]
    inv = np.empty(len(lo), dtype=np.int64)  # rank order -> row of the labs' rows in lab order
    inv[np.argsort(lo, kind="stable")] = np.arange(len(lo))
    take = pa.array(inv)
    columns = []
    for f in schema:
        col = pa.chunked_array([c for t in parts for c in t.column(f.name).chunks], type=f.type)
        col = col.take(take)
        columns.append(col.combine_chunks() if col.num_chunks > 1 else col)
        parts = [t.drop_columns([f.name]) for t in parts]
    return pa.Table.from_arrays(columns, schema=schema)


def _schema(proxy: pd.DataFrame) -> pa.Schema:
    """:func:`labforensics.outputs.write_parquet`'s schema of a table whose object columns
    hold the kinds of values of ``proxy`` (and the same dtypes)."""
    return outputs._lists_as_object(proxy, pa.Schema.from_pandas(proxy, preserve_index=False))


def _witnesses(entries: list[_LabUnit], lab_of: np.ndarray, pos: np.ndarray, keep: np.ndarray
               ) -> np.ndarray:  # fmt: skip
    """Rank positions of one row per kind of value of each object column, in every lab
    (the reasons: among the rows whose reasons are kept), increasing; ``lab_of`` and
    ``pos`` give each rank position's lab and row in the lab."""
    n = len(lab_of)
    starts = np.concatenate([[0], np.cumsum([e.n for e in entries])[:-1]]).astype(np.int64)
    where = np.empty(n, dtype=np.int64)  # concatenated row -> its rank position
    where[starts[lab_of] + pos] = np.arange(n)
    picked: set[int] = set()
    start = 0
    for e in entries:
        for firsts in e.kinds.values():
            picked.update(int(where[start + p]) for p in firsts.values())
        at, kinds = e.blanked
        seen: set[Any] = set()
        for p, k in zip(at, kinds, strict=True):
            r = int(where[start + p])
            if k not in seen and keep[r]:
                seen.add(k)
                picked.add(r)
        start += e.n
    return np.array(sorted(picked), dtype=np.int64)


def _write_whole(entries: list[_LabUnit], unit: str, path: Path, model: UnitModel,
                 params: DetectParams, case: CaseContext) -> tuple[int, pd.DataFrame | None]:  # fmt: skip
    """A unit whose labs' tables differ in columns or dtypes: every lab read back and
    ranked at once (:func:`~labforensics.engine.model.scores_from_labs`), then written."""

    scored = [{unit: {**e.meta, "out": e.load()}} for e in entries]
    table = getattr(scores_from_labs(scored, {unit: model}, params, case), unit)
    del scored
    outputs.write_parquet(table, path)
    return int(table["flagged"].sum()), slim_session_scores(table) if unit == "session" else None
