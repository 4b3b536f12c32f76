"""Decoy index and the false-match rate of the leak linkage (issue 13, item 4).

Decoy
-----
:func:`build_decoy_index` builds, from the real index, a decoy of the same
size in which each row takes each **block of fields that belong together**
from a different real row, drawn by independent seeded permutations:

- identity: ``sex``, ``birth_date`` (and its parts), ``nir``,
  ``nir_raw_invalid``, ``qualite``, ``rang``;
- names: ``surname``, ``birth_name``;
- first name: ``first_name``, ``first_name_first``;
- contact: ``address``, ``postcode``, ``city``, ``phone``.

The values are real (same frequencies, same missingness, same typing), the
people are not: a decoy row equal to a real record on the blocking keys
(phonetic surname, first name, full birth date) is dropped, so the decoy may
be a little smaller than the index. Each decoy row remembers which real rows
its blocks came from (its provenance).

Scoring
-------
:func:`score_decoy` scores the dump against the decoy with the model trained
on the real index (no EM on the decoy, same blocking rules, same term
frequencies). A dump row of an indexed person would find the blocks of its
own real record in the decoy (its NIR and birth date, say, next to someone
else's names), which no person outside the index could: pairs whose decoy row
holds a block of one of the row's own real candidates (eligible, at or above
the lowest threshold of the grid) are therefore left out. The decoy thus
plays, for every dump row, an index that does not hold that row's person.

Estimator
---------
Among the dump rows with no household-agreeing candidate in the decoy
(``N_u``), the share ``q_s = D_u(t) / N_u`` linked to it at threshold ``t``
estimates the chance that a row whose person is in no index, and none of whose
household is, links at ``t`` anyway (``D(t) / N``, over every row, is kept as
``decoy_rate``). The block decoy holds no
household, so the rate of outsiders with an indexed relative is estimated by
a second decoy (:mod:`labforensics.leak.relative_decoy`, which derives the
combined estimator step by step); :func:`fmr_table` gives both parts, their
weight from the dump and the combined not-indexed false-match rate. Links to
a wrong indexed person (a relative or namesake who IS indexed) are measured
on generated cases (see the benchmark).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labforensics.errors import ParameterError
from labforensics.leak.decisions import (
    HOUSEHOLD_EVIDENCE,
    _candidate_arrays,
    _classify,
    _label_candidates,
    arrow_table,
    fetch_table,
    top_candidates_on_predict,
)
from labforensics.leak.phonetic import french_phonetic

__all__ = [
    "DECOY_BLOCKS",
    "build_decoy_index",
    "decoy_exclusions",
    "default_threshold",
    "fmr_table",
    "score_decoy",
]

#: Blocks of fields shuffled together across rows.
DECOY_BLOCKS: dict[str, tuple[str, ...]] = {
    "identity": (
        "sex",
        "birth_date",
        "birth_year",
        "birth_month",
        "birth_day",
        "nir",
        "nir_raw_invalid",
        "qualite",
        "rang",
    ),
    "names": ("surname", "birth_name"),
    "first_name": ("first_name", "first_name_first"),
    "contact": ("address", "postcode", "city", "phone"),
}


def blocking_keys(frame: pd.DataFrame) -> pa.Array:
    """Blocking keys of a person frame (phonetic surname, first name, birth date): a decoy
    equal to a real record on them is dropped (both decoys)."""
    k = (
        french_phonetic(frame["surname"].astype("string")).fillna("")
        + "\x1f"
        + frame["first_name_first"].astype("string").fillna("")
        + "\x1f"
        + frame["birth_date"].astype("string").fillna("")
    )
    return pa.array(k.array)


def build_decoy_index(
    index_people: pd.DataFrame, *, seed: int, columns: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffle blocks of fields across the index rows (seeded).

    Parameters
    ----------
    index_people : pandas.DataFrame
        Canonical index person frame (:mod:`labforensics.leak.people`).
    seed : int
        The case seed (combined with a fixed tag so the decoy draw differs
        from the other uses of the seed).
    columns : sequence of str, optional
        Columns to build (``record_id``, ``surname``, ``first_name_first`` and
        ``birth_date`` are always built); None: all. The draw does not depend
        on it: the decoy's values in these columns are the same either way.

    Returns
    -------
    decoy : pandas.DataFrame
        The columns (all, or ``columns``) and dtypes of ``index_people``; ``record_id`` ``X`` + 15
        digits (row number in the sorted index); rows equal to a real record
        on (phonetic surname, first name, birth date) dropped.
    provenance : pandas.DataFrame
        ``decoy_id``, ``src_id`` (string): the real record each block of
        each decoy row came from (one row per block).
    """
    if columns is not None:
        keep = ["record_id", "surname", "first_name_first", "birth_date"]
        keep += [c for c in index_people.columns if c in set(columns) and c not in keep]
        index_people = index_people[[c for c in index_people.columns if c in set(keep)]]
    real = index_people.sort_values("record_id", kind="stable").reset_index(drop=True)
    n = len(real)
    rng = np.random.default_rng([int(seed) % (2**63), 0xDEC0])
    decoy = real.copy()
    # "X" + 15 digits of the row number (vectorised; same text as f"X{i:015d}")
    decoy_ids = "X" + pd.Series(np.arange(n), dtype="int64").astype("string").str.zfill(15)
    real_ids = real["record_id"].astype("string").array
    prov = []
    for _, cols in DECOY_BLOCKS.items():
        perm = rng.permutation(n)
        present = [c for c in cols if c in real.columns]
        for c in present:
            # Arrow / masked take: no Python object per value
            decoy[c] = pd.Series(real[c].array.take(perm), index=decoy.index).astype(real[c].dtype)
        prov.append(perm)
    decoy["record_id"] = decoy_ids.array
    decoy["record_id"] = decoy["record_id"].astype("string")

    # exact string membership in Arrow (pandas' isin with a set makes a Python
    # string per value)
    equal = pc.is_in(blocking_keys(decoy), value_set=blocking_keys(real)).to_numpy(
        zero_copy_only=False
    )
    decoy = decoy[~equal].reset_index(drop=True)
    # provenance: (decoy row, source row) per block, as integer positions until the
    # end (same rows and order as building it from the ids: block by block, first
    # occurrence kept, decoy rows dropped above left out)
    d_pos = np.tile(np.arange(n, dtype=np.int64), len(prov))
    s_pos = np.concatenate(prov).astype(np.int64) if prov else np.zeros(0, dtype=np.int64)
    kept = ~equal[d_pos]
    d_pos, s_pos = d_pos[kept], s_pos[kept]
    first = ~pd.DataFrame({"d": d_pos, "s": s_pos}).duplicated().to_numpy()
    d_pos, s_pos = d_pos[first], s_pos[first]
    provenance = pd.DataFrame(
        {
            "decoy_id": pd.Series(decoy_ids.array.take(d_pos), dtype="string"),
            "src_id": pd.Series(real_ids.take(s_pos), dtype="string"),
        }
    )
    return decoy, provenance


def decoy_exclusions(cand: pd.DataFrame, provenance: pd.DataFrame, params) -> pd.DataFrame:
    """Pairs (``row_id``, ``decoy_id``) the decoy scoring leaves out: the decoy rows
    holding a block of one of the dump row's own real candidates (eligible, at or
    above the lowest threshold of the grid); string columns, no duplicates."""
    own = cand[cand["eligible"] & (cand["probability"] >= min(params.thresholds))][
        ["row_id", "record_id"]
    ]
    exclude = own.merge(provenance, left_on="record_id", right_on="src_id")[["row_id", "decoy_id"]]
    exclude = exclude.drop_duplicates().reset_index(drop=True)
    return exclude.astype({"row_id": "string", "decoy_id": "string"})


def score_decoy(con, db_api, linker, dmp_sdf, decoy_idx, exclude, params, name="decoy"):
    """Score the dump against the decoy with the trained model (no EM).

    Runs inside :func:`labforensics.leak.linkage.link_dump`'s private
    connection. Returns the decoy candidates labelled like the real ones
    (see :func:`labforensics.leak.decisions._label_candidates`), the pairs of
    ``exclude`` (:func:`decoy_exclusions`) left out. ``name`` names the
    registered tables (the block decoy ``decoy``, the relative decoy another).
    """
    decoy_sdf = db_api.register(arrow_table(decoy_idx), dataset_display_name=name)
    exclude_sdf = db_api.register(exclude, dataset_display_name=f"{name}_exclude")
    with top_candidates_on_predict(db_api, params.top_k, exclude_sdf.physical_name):
        pred = linker.inference.predict_between(dmp_sdf, decoy_sdf, warning_mode="never")
    decoy_cand = _label_candidates(fetch_table(con, pred.physical_name))
    pred.drop_table_from_database_and_remove_from_cache()
    return decoy_cand


def _odds(q: float) -> float:
    """``q / (1 - q)``: false links per row not linked, for a link chance ``q``."""
    return q / (1.0 - q) if q < 1.0 else np.inf


def _capped(false_links: float, links: int) -> float:
    """False links over links, at most 1 (false links are links); NaN without a link."""
    return min(1.0, false_links / links) if links else np.nan


def exposed_rows(cand: pd.DataFrame) -> pd.Series:
    """Row ids with a candidate showing household agreement (module docstring).

    Parameters
    ----------
    cand : pandas.DataFrame
        Labelled candidates (:func:`labforensics.leak.decisions._label_candidates`):
        ``row_id`` and the level labels ``nir`` and ``household``.

    Returns
    -------
    pandas.Series
        The exposed row ids (string), sorted, without duplicates.
    """
    hh = cand["household"].isin(HOUSEHOLD_EVIDENCE["household"]).to_numpy(dtype=bool).copy()
    hh |= cand["nir"].isin(HOUSEHOLD_EVIDENCE["nir"]).to_numpy(dtype=bool)
    ids = cand.loc[hh, "row_id"].astype("string").unique()
    return pd.Series(np.sort(np.asarray(ids, dtype=object)), dtype="string")


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial proportion ``k / n``.

    Parameters
    ----------
    k, n : int
        Successes and trials (``0 <= k <= n``).
    level : float
        Two-sided confidence level.

    Returns
    -------
    (float, float)
        Lower and upper bounds; ``(0.0, 1.0)`` when ``n == 0``.

    Notes
    -----
    Clopper C. J., Pearson E. S. (1934), Biometrika 26(4): the bounds are beta
    quantiles, ``B(a/2; k, n-k+1)`` and ``B(1-a/2; k+1, n-k)``.
    """
    from scipy.stats import beta

    if n <= 0:
        return 0.0, 1.0
    a = 1.0 - level
    low = 0.0 if k <= 0 else float(beta.ppf(a / 2, k, n - k + 1))
    high = 1.0 if k >= n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return low, high


def fmr_table(
    cand: pd.DataFrame,
    decoy_cand: pd.DataFrame,
    row_ids: pd.Series,
    params,
    relative: tuple[pd.DataFrame, pd.Series] | None = None,
) -> pd.DataFrame:
    """False-match rate per threshold (estimator derived in
    :mod:`labforensics.leak.relative_decoy`, steps 1-6).

    Parameters
    ----------
    cand, decoy_cand : pandas.DataFrame
        Labelled candidates of the real index and of the block decoy.
    row_ids : pandas.Series
        Every dump row id.
    params : LinkageParams
        ``thresholds``, ``ambiguity_margin``.
    relative : (pandas.DataFrame, pandas.Series), optional
        The relative decoy's labelled candidates and the sampled row ids scored
        against it; None: no relative decoy (``q_r = q_s``).

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``threshold``; ``real_links`` (R), ``decoy_links``
        (D, every row linked to the block decoy), ``decoy_unexposed_rows`` (N_u),
        ``decoy_unexposed_links`` (D_u), ``unlinked_exposed`` (X),
        ``relative_sample`` (n_s), ``relative_exposed`` (E_r), ``relative_links``
        (D_r) as int64 (without the relative decoy, E_r and D_r are the block
        decoy's exposed rows and their links, n_s is 0); ``decoy_rate`` (D/N),
        ``stranger_rate`` (q_s = D_u/N_u), ``relative_weight`` (X/U),
        ``relative_rate`` (q_r), ``relative_rate_high`` (its 95 % upper bound),
        ``fmr_stranger``, ``fmr_relative``, ``fmr`` (their sum, at most 1),
        ``fmr_high``, ``fmr_upper`` as float64 (rates NaN when no real link).
    """
    n = len(row_ids)
    rows = []
    real_arrays = _candidate_arrays(cand, row_ids)
    fake_arrays = _candidate_arrays(decoy_cand, row_ids)
    exposed = real_arrays.rid.isin(exposed_rows(cand)).to_numpy()
    fake_exposed = fake_arrays.rid.isin(exposed_rows(decoy_cand)).to_numpy()
    n_unexp = int((~fake_exposed).sum())
    rel_arrays = rel_exposed = None
    n_s = 0
    if relative is not None:
        rel_cand, sample = relative
        rel_arrays = _candidate_arrays(rel_cand, sample)
        rel_exposed = rel_arrays.rid.isin(exposed_rows(rel_cand)).to_numpy()
        n_s = len(rel_arrays.rid)
    for t in sorted(params.thresholds):
        real = _classify(real_arrays, t, params.ambiguity_margin)
        fake = _classify(fake_arrays, t, params.ambiguity_margin)
        linked = real["match"].isin(["unique", "two_labs"]).to_numpy()
        fake_linked = fake["match"].isin(["unique", "two_labs"]).to_numpy()
        r = int(linked.sum())
        d = int(fake_linked.sum())
        d_unexp = int((fake_linked & ~fake_exposed).sum())
        u = n - r
        x = int((exposed & ~linked).sum())
        q_s = d_unexp / n_unexp if n_unexp else 0.0
        # without the relative decoy, exposed rows take the block decoy's rate among
        # its exposed rows (chance household agreements only)
        e_r, d_r = len(fake_exposed) - n_unexp, d - d_unexp
        if rel_arrays is not None:
            rel = _classify(rel_arrays, t, params.ambiguity_margin)
            rel_linked = rel["match"].isin(["unique", "two_labs"]).to_numpy()
            e_r = int(rel_exposed.sum())
            d_r = int((rel_linked & rel_exposed).sum())
        q_r, q_r_high = (d_r / e_r, clopper_pearson(d_r, e_r)[1]) if e_r else (q_s, q_s)
        f_s = (u - x) * _odds(q_s) if u > x else 0.0
        f_r = x * _odds(q_r) if x else 0.0
        f_r_high = x * _odds(q_r_high) if x else 0.0
        rows.append(
            {
                "threshold": float(t),
                "real_links": r,
                "decoy_links": d,
                "decoy_rate": d / n if n else 0.0,
                "decoy_unexposed_rows": n_unexp,
                "decoy_unexposed_links": d_unexp,
                "stranger_rate": q_s,
                "unlinked_exposed": x,
                "relative_weight": x / u if u else np.nan,
                "relative_sample": n_s,
                "relative_exposed": e_r,
                "relative_links": d_r,
                "relative_rate": q_r,
                "relative_rate_high": q_r_high,
                "fmr_stranger": f_s / r if r else np.nan,
                "fmr_relative": f_r / r if r else np.nan,
                "fmr": _capped(f_s + f_r, r),
                "fmr_high": _capped(f_s + f_r_high, r),
                "fmr_upper": _capped(max(q_s, q_r) * n, r),
            }
        )
    ints = (
        "real_links",
        "decoy_links",
        "decoy_unexposed_rows",
        "decoy_unexposed_links",
        "unlinked_exposed",
        "relative_sample",
        "relative_exposed",
        "relative_links",
    )
    return pd.DataFrame(rows).astype({c: "int64" for c in ints})


def default_threshold(fmr: pd.DataFrame, params) -> float:
    """Lowest grid threshold whose estimated rate is <= ``params.fmr_target``.

    Raises
    ------
    ParameterError
        No decoy table (``LinkageParams(decoy=False)``) and no threshold given.
    """
    if fmr is None or fmr.empty:
        raise ParameterError(
            "no decoy linkage to choose the threshold from: give LinkageParams(threshold=...) "
            "or keep decoy=True"
        )
    ok = fmr[fmr["fmr"].fillna(np.inf) <= params.fmr_target]
    if ok.empty:
        return float(fmr["threshold"].max())
    return float(ok["threshold"].min())
