"""The comparison levels of the leak linkage and the decision per dump row.

:data:`COMPARISON_LEVELS` states each comparison's levels (one comparison per
kind of evidence: NIR with its person conditions, birth date, first name, and
one household comparison); :data:`PERSON_EVIDENCE`, :data:`HOUSEHOLD_EVIDENCE`
and :data:`PERSON_CONFLICT` say which levels make a candidate eligible for a
link, mark a relative, or contradict the person. :func:`classify` turns the
scored candidates of every dump row into one decision (``unique``,
``two_labs``, ``ambiguous``, ``household`` or ``none``). The model itself is
fitted and scored in :mod:`labforensics.leak.linkage`; the decoy index uses the
same decisions (:mod:`labforensics.leak.decoys`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from labforensics.errors import LinkageError

__all__ = [
    "COMPARISON_LEVELS",
    "EM_RULES",
    "HOUSEHOLD_EVIDENCE",
    "MATCH_CLASSES",
    "PERSON_CONFLICT",
    "PERSON_EVIDENCE",
    "classify",
]

#: The decision of a dump row (see :func:`classify`).
MATCH_CLASSES = ("unique", "two_labs", "ambiguous", "household", "none")

_NAME_EQ = (
    "(sn_l = sn_r or sn_ph_l = sn_ph_r or bn_l = sn_r or sn_l = bn_r or bn_ph_l = sn_ph_r "
    "or sn_ph_l = bn_ph_r)"
)
_CONTACT_EQ = "(phone_l = phone_r or (address_l = address_r and postcode_l = postcode_r))"
_DOB_EQ = "(dob_l = dob_r or dob_l = dob_swap_r)"

#: Per comparison: (label, SQL condition, is_null, tf column) in Splink order
#: (null level first, then decreasing agreement; the last is the else level).
COMPARISON_LEVELS: dict[str, list[tuple[str, str, bool, str | None]]] = {
    "nir": [
        ("null", "nir_l is null or nir_r is null", True, None),
        ("nir+birth_date", f"nir_l = nir_r and {_DOB_EQ}", False, None),
        ("nir+first_name", "nir_l = nir_r and fn1_l = fn1_r", False, None),
        ("nir_only_household", "nir_l = nir_r", False, None),
        ("differs", "ELSE", False, None),
    ],
    "dob": [
        ("null", "by_l is null or by_r is null", True, None),
        ("exact", "dob_l = dob_r", False, None),
        ("day_month_swap", "dob_l = dob_swap_r", False, None),
        ("year_month", "by_l = by_r and bm_l = bm_r", False, None),
        ("year", "by_l = by_r", False, None),
        ("differs", "ELSE", False, None),
    ],
    "first_name": [
        ("null", "fn1_l is null or fn1_r is null", True, None),
        ("exact", "fn_l = fn_r", False, "fn"),
        ("first_word", "fn1_l = fn1_r", False, None),
        ("jaro_winkler_0.92", "jaro_winkler_similarity(fn1_l, fn1_r) >= 0.92", False, None),
        ("jaro_winkler_0.80", "jaro_winkler_similarity(fn1_l, fn1_r) >= 0.80", False, None),
        ("differs", "ELSE", False, None),
    ],
    "household": [
        (
            "null",
            "(sn_l is null or sn_r is null) and (phone_l is null or phone_r is null) "
            "and (postcode_l is null or postcode_r is null)",
            True,
            None,
        ),
        ("surname+contact", f"{_NAME_EQ} and {_CONTACT_EQ}", False, None),
        ("surname+postcode", f"{_NAME_EQ} and postcode_l = postcode_r", False, None),
        ("surname", _NAME_EQ, False, "sn"),
        ("surname_jaro_winkler_0.88", "jaro_winkler_similarity(sn_l, sn_r) >= 0.88", False, None),
        ("contact_only", _CONTACT_EQ, False, None),
        ("differs", "ELSE", False, None),
    ],
}

#: Levels that are person evidence (make a candidate eligible for a link).
PERSON_EVIDENCE = {
    "nir": {"nir+birth_date", "nir+first_name"},
    "dob": {"exact", "day_month_swap"},
    "first_name": {"exact", "first_word", "jaro_winkler_0.92"},
}
#: Levels that are household evidence (a relative), never enough for a link.
HOUSEHOLD_EVIDENCE = {
    "nir": {"nir_only_household", "nir+birth_date", "nir+first_name"},
    "household": {"surname+contact", "surname+postcode", "contact_only"},
}
#: Levels that contradict the person: with household evidence they mark a relative
#: (a twin with another first name, a father and son of one first name born apart).
#: :func:`_label_candidates` adds the NIR ``differs`` level when the birth date does
#: not agree: a valid NIR other than the record's belongs to another insured person
#: (the same person carries another NIR only through a change of attachment, which
#: the birth date must confirm: a child under the other parent, a spouse insured in
#: their own right).
PERSON_CONFLICT = {
    "dob": {"differs"},
    "first_name": {"differs", "jaro_winkler_0.80"},
}


#: EM blocking rules (SQL), each capped at ``LinkageParams.em_max_pairs`` pairs.
EM_RULES = ("l.dob = r.dob", "l.fn = r.fn and l.postcode = r.postcode")


def _gamma_labels(comparison: str) -> dict[int, str]:
    """Splink's gamma value -> level label (null -1, else 0, first level highest)."""
    levels = COMPARISON_LEVELS[comparison]
    non_null = [lv for lv in levels if not lv[2]]
    out = {-1: "null"}
    for i, lv in enumerate(non_null):
        out[len(non_null) - 1 - i] = lv[0]
    return out


#: The index record's birth date as a hash (never the value; NULL when unknown): two
#: candidates of one row at two labs are one person only if these do not differ.
_RECORD_DOB_HASH = (
    "case when (case when source_dataset_l = 'dump' then dob_r else dob_l end) is null "
    "then null else hash(case when source_dataset_l = 'dump' then dob_r else dob_l end) end"
)


def _top_candidates_sqls(
    predict_table: str, top_k: int, exclude_table: str | None
) -> list[tuple[str, str]]:
    """SQL steps (sql, output name): the ``top_k`` best candidates per dump row,
    with the candidate count, from the scored pairs in ``predict_table``."""
    cols = ", ".join(f"gamma_{c}" for c in COMPARISON_LEVELS)
    # Either side may hold the dump row: select both orientations.
    pairs = f"""
        select case when source_dataset_l = 'dump' then unique_id_l else unique_id_r end
                   as row_id,
               case when source_dataset_l = 'dump' then unique_id_r else unique_id_l end
                   as record_id,
               case when source_dataset_l = 'dump' then lab_r else lab_l end as lab,
               round(match_weight, 4) as weight, round(match_probability, 6) as probability,
               {_RECORD_DOB_HASH} as record_dob_hash,
               {cols}
        from {predict_table}
    """
    if exclude_table is not None:
        pairs = f"""
            select p.* from ({pairs}) p
            anti join {exclude_table} x
              on x.row_id = p.row_id and x.decoy_id = p.record_id
        """
    top = f"""
        select *, count(*) over (partition by row_id) as n_candidates
        from {TOP_CANDIDATES_TABLE}_pairs
        qualify row_number() over (partition by row_id order by weight desc, record_id)
                <= {int(top_k)}
    """
    return [(pairs, f"{TOP_CANDIDATES_TABLE}_pairs"), (top, TOP_CANDIDATES_TABLE)]


#: Name of the top-candidates step appended to Splink's predict pipeline.
TOP_CANDIDATES_TABLE = "__labforensics_top_candidates"


@contextlib.contextmanager
def top_candidates_on_predict(db_api: Any, top_k: int, exclude_table: str | None) -> Iterator[None]:
    """Make Splink's next predict end in :func:`_top_candidates_sql` (one query).

    Splink runs a predict as one pipeline of SQL steps (blocked pairs -> comparison
    vectors -> match weights -> ``__splink__df_predict``) executed as a single
    ``create table as`` query. While this context is open, a pipeline whose last
    step is ``__splink__df_predict`` gets the top-candidates step appended, so
    the table created holds only the ``top_k`` candidates per dump row: the full
    predict table (every blocked pair, with the matching columns of both sides)
    is never materialised, and DuckDB drops the columns no later step reads. The
    scores are the same SQL expressions, so the candidates are the same.

    Parameters
    ----------
    db_api : splink.DuckDBAPI
        The linker's database API (its method is wrapped on the instance and
        restored on exit).
    top_k : int
        Candidates kept per dump row.
    exclude_table : str or None
        Physical name of a (``row_id``, ``decoy_id``) table of pairs to leave out.

    Raises
    ------
    LinkageError
        The predict run inside did not end in ``__splink__df_predict`` exactly
        once (another Splink version: the candidates would be wrong).
    """
    run = db_api.sql_pipeline_to_splink_dataframe
    appended = []

    def run_with_top(pipeline: Any) -> Any:
        if pipeline.queue and pipeline.queue[-1].output_table_name == "__splink__df_predict":
            for sql, name in _top_candidates_sqls("__splink__df_predict", top_k, exclude_table):
                pipeline.enqueue_sql(sql, name)
            appended.append(True)
        return run(pipeline)

    db_api.sql_pipeline_to_splink_dataframe = run_with_top
    try:
        yield
    finally:
        del db_api.sql_pipeline_to_splink_dataframe
    if len(appended) != 1:
        raise LinkageError(
            "internal error: Splink's predict did not run one pipeline ending in "
            "__splink__df_predict (a Splink version outside splink>=5,<6?)"
        )


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """A model frame as an Arrow table for DuckDB to scan (its string columns are
    Arrow already: no copy; DuckDB scans Arrow faster than a pandas frame)."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def fetch_table(con: Any, table: str) -> pd.DataFrame:
    """A DuckDB table as a pandas frame through Arrow (no Python string objects)."""
    return con.execute(f"select * from {table}").to_arrow_table().to_pandas()


def _label_candidates(cand: pd.DataFrame) -> pd.DataFrame:
    """Gamma columns -> level labels; person / household evidence flags."""
    out = cand.copy()
    person = np.zeros(len(out), dtype=bool)
    household = np.zeros(len(out), dtype=bool)
    conflict = np.zeros(len(out), dtype=bool)
    for comp in COMPARISON_LEVELS:
        labels = out.pop(f"gamma_{comp}").astype("int64").map(_gamma_labels(comp))
        out[comp] = labels.astype("string")
        if comp in PERSON_EVIDENCE:
            person |= labels.isin(PERSON_EVIDENCE[comp]).to_numpy()
        if comp in HOUSEHOLD_EVIDENCE:
            household |= labels.isin(HOUSEHOLD_EVIDENCE[comp]).to_numpy()
        if comp in PERSON_CONFLICT:
            conflict |= labels.isin(PERSON_CONFLICT[comp]).to_numpy()
    # a different valid NIR is another insured person: the same person only through a
    # change of attachment (a child under the other parent, a spouse with their own
    # NIR), which the birth date must then confirm
    dob_agrees = out["dob"].isin(PERSON_EVIDENCE["dob"]).to_numpy()
    conflict |= (out["nir"] == "differs").to_numpy() & ~dob_agrees
    relative = household & conflict
    out["eligible"] = person & ~relative
    out["household_evidence"] = household & ~out["eligible"].to_numpy()
    codes, _ = pd.factorize(out.pop("record_dob_hash"), use_na_sentinel=True)
    out["record_dob"] = np.asarray(codes, dtype=np.int64)  # a code per birth date, -1 unknown
    out["record_id"] = out["record_id"].astype("string")
    out["row_id"] = out["row_id"].astype("string")
    out["lab"] = out["lab"].astype("string")
    out["weight"] = out["weight"].astype("float64")
    out["probability"] = out["probability"].astype("float64")
    out["n_candidates"] = out["n_candidates"].astype("int64")
    return out.sort_values(
        ["row_id", "weight", "record_id"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)


def _first_per_row(codes: np.ndarray, mask: np.ndarray, n_rows: int) -> np.ndarray:
    """Position of the first candidate under ``mask`` per row code (-1 if none)."""
    pos = np.flatnonzero(mask)
    out = np.full(n_rows, -1, dtype=np.int64)
    if len(pos):
        rows, first = np.unique(codes[pos], return_index=True)
        out[rows] = pos[first]
    return out


def classify(
    cand: pd.DataFrame, row_ids: pd.Series, threshold: float, margin: float
) -> pd.DataFrame:
    """One decision per dump row from its labelled candidates.

    Parameters
    ----------
    cand : pandas.DataFrame
        Candidates from :func:`_label_candidates`: ``row_id``, ``record_id``,
        ``lab``, ``weight`` (log2, rounded), ``probability`` (rounded),
        ``n_candidates``, ``eligible``, ``household_evidence`` and optionally
        ``record_dob`` (int64 code of the record's birth date, -1 unknown: two
        candidates at two labs whose codes differ are two people); sorted by
        ``row_id`` then best first (weight descending, record id ascending).
    row_ids : pandas.Series
        Every dump row id (rows without candidates become ``none``).
    threshold : float
        Probability at or above which an eligible candidate links.
    margin : float
        Ambiguity margin in bits.

    Returns
    -------
    pandas.DataFrame
        ``row_id``, ``lab``, ``patient``, ``probability``, ``match``,
        ``n_candidates``, ``runner_up_lab``, ``runner_up_patient``,
        ``runner_up_probability``, ``best_weight``, sorted by ``row_id``.
    """
    return _classify(_candidate_arrays(cand, row_ids), threshold, margin)


@dataclass(frozen=True)
class _CandidateArrays:
    """The threshold-independent part of :func:`classify` (computed once per frame)."""

    rid: pd.Series  # every dump row id, sorted (string)
    codes: np.ndarray  # candidate -> position in rid
    lab: pa.Array  # candidate lab (string)
    lab_code: np.ndarray  # candidate lab as an integer code (NA -1)
    rec: pa.Array  # candidate record id (string)
    weight: np.ndarray
    prob: np.ndarray
    eligible: np.ndarray
    ncand: np.ndarray
    first_any: np.ndarray  # per row: its first candidate (-1 none)
    second: np.ndarray  # per row: its second candidate (-1 none)
    hh: np.ndarray  # per row: its first candidate with household evidence (-1 none)
    dob: np.ndarray  # candidate record's birth-date code (-1 unknown)


def _arrow_strings(s: pd.Series) -> pa.Array:
    return pa.array(s.astype("string").array, type=pa.large_string())


def _candidate_arrays(cand: pd.DataFrame, row_ids: pd.Series) -> _CandidateArrays:
    rid = pd.Series(np.sort(pd.Series(row_ids, dtype="string").to_numpy()), dtype="string")
    n = len(rid)
    codes = pd.Index(rid).get_indexer(cand["row_id"])
    if (codes < 0).any():
        raise LinkageError("a candidate belongs to no dump row (internal error)")
    lab_code, _ = pd.factorize(cand["lab"], use_na_sentinel=True)
    first_any = _first_per_row(codes, np.ones(len(cand), dtype=bool), n)
    pos = np.arange(len(cand))
    return _CandidateArrays(
        rid=rid,
        codes=codes,
        lab=_arrow_strings(cand["lab"]),
        lab_code=np.asarray(lab_code, dtype=np.int64),
        rec=_arrow_strings(cand["record_id"]),
        weight=cand["weight"].to_numpy(dtype="float64"),
        prob=cand["probability"].to_numpy(dtype="float64"),
        eligible=cand["eligible"].to_numpy(dtype=bool),
        ncand=cand["n_candidates"].to_numpy(dtype="int64"),
        first_any=first_any,
        second=_first_per_row(codes, pos != np.where(codes >= 0, first_any[codes], -1), n),
        hh=_first_per_row(codes, cand["household_evidence"].to_numpy(dtype=bool), n),
        dob=(
            cand["record_dob"].to_numpy(dtype=np.int64)
            if "record_dob" in cand.columns
            else np.full(len(cand), -1, dtype=np.int64)
        ),
    )


def _take_strings(values: pa.Array, at: np.ndarray) -> pd.Series:
    """``values[at]`` as a string Series, NA where ``at`` is -1."""
    taken = values.take(pa.array(np.where(at >= 0, at, 0), mask=at < 0))
    return pd.Series(taken.to_pandas(types_mapper=lambda t: pd.StringDtype()), dtype="string")


def _classify(a: _CandidateArrays, threshold: float, margin: float) -> pd.DataFrame:
    """:func:`classify` on precomputed arrays."""
    n = len(a.rid)
    codes = a.codes
    weight, prob = a.weight, a.prob
    elig = a.eligible & (prob >= threshold)
    best = _first_per_row(codes, elig, n)
    has_best = best >= 0
    cand_best = np.where(codes >= 0, best[codes], -1)
    pos = np.arange(len(codes))
    ok = cand_best >= 0
    best_lab = np.full(len(codes), -2, dtype=np.int64)  # -2: no best (never a lab code)
    best_lab[ok] = a.lab_code[cand_best[ok]]
    best_w = np.full(len(codes), np.nan)
    best_w[ok] = weight[cand_best[ok]]
    rival = elig & ok & (pos != cand_best)
    # a record of another lab is the same person unless the two records' birth dates
    # differ (a parent and a child, siblings of one first name): then it is another
    # patient, and ambiguous within the margin like one of the same lab
    best_dob = np.full(len(codes), -1, dtype=np.int64)
    best_dob[ok] = a.dob[cand_best[ok]]
    other_person = (a.dob >= 0) & (best_dob >= 0) & (a.dob != best_dob)
    near = weight >= best_w - margin
    same_lab = rival & (((a.lab_code == best_lab) | other_person) & near)
    other_lab = rival & (a.lab_code != best_lab) & ~other_person
    amb = _first_per_row(codes, same_lab, n)
    two = _first_per_row(codes, other_lab, n)
    hh, first_any, second = a.hh, a.first_any, a.second

    is_amb = has_best & (amb >= 0)
    is_two = has_best & ~is_amb & (two >= 0)
    is_hh = ~has_best & (hh >= 0)
    is_none = ~has_best & ~is_hh
    match = np.select(
        [is_amb, is_two, has_best, is_hh], ["ambiguous", "two_labs", "unique", "household"], "none"
    )

    def take(values: np.ndarray, at: np.ndarray, fill: object) -> np.ndarray:
        out = np.full(n, fill, dtype=values.dtype)
        sel = at >= 0
        out[sel] = values[at[sel]]
        return out

    shown = np.where(has_best, best, np.where(is_hh, hh, first_any))
    ru = np.where(is_amb, amb, np.where(is_two, two, np.where(is_hh, hh, second)))
    ru = np.where(is_none, first_any, ru)
    linked = np.where(has_best, best, -1)
    out = pd.DataFrame({"row_id": a.rid})
    out["lab"] = _take_strings(a.lab, linked)
    out["patient"] = _take_strings(a.rec, linked)
    out["probability"] = take(prob, shown, np.nan)
    out["match"] = pd.Series(match, dtype="string")
    out["n_candidates"] = take(a.ncand, first_any, 0).astype("int64")
    out["runner_up_lab"] = _take_strings(a.lab, ru)
    out["runner_up_patient"] = _take_strings(a.rec, ru)
    out["runner_up_probability"] = take(prob, ru, np.nan)
    out["best_weight"] = take(weight, linked, np.nan)
    return out
