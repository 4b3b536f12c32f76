"""The relative decoy: the false-match rate of outsiders who have an indexed relative.

Why a second decoy
------------------
The block decoy (:mod:`labforensics.leak.decoys`) shuffles surname, contact and
identity across rows, so it holds no household: a dump row never meets, in it,
someone who shares its surname, address, phone and NIR. Issue 13's main hazard
is exactly that: a person in no index whose father, child or spouse is indexed
shares NIR (a dependant carries the insured person's), surname, address,
postcode and phone with them, and is linked to that relative when the fields
that tell them apart (birth date, first name) are missing or alike. The block
decoy estimates the rate of outsiders with no indexed relative only.

Relative decoy
--------------
:func:`build_relative_decoy` builds, from the real index, a decoy of the same
size in which decoy row ``k`` keeps the **household block** of real row ``k``
(surname, birth name, address, postcode, city, phone and the NIR, which a
dependant shares with the insured person and which the model weighs as a
household agreement unless the birth date or first name agrees) and takes the
**person block** (sex, birth date and its parts, first name, QUALITE, RANG) of
real row ``perm[k]``, ``perm`` a seeded permutation: a person of another
household (a permutation puts a row's own person back only by chance, and such
a decoy equals the real record and is dropped). Each decoy row is "someone
living in an indexed household who is not that household's indexed member": a
relative of an indexed patient who is not in the index. Decoy rows equal to a
real record on the blocking keys (phonetic surname, first name, birth date) are
dropped. A dump row of an indexed person thus meets, in this decoy, one
pseudo-relative per indexed record of its household (its own record's
household block among them, with someone else's person fields), and never its
own person fields: pairs whose decoy row took its person block from one of the
row's own real candidates (eligible, at or above the lowest threshold) are left
out, as in the block decoy. It is scored with the model trained on the real
index (no EM on the decoy, same blocking rules and term frequencies).

Only a seeded sample of ``n_s`` dump rows (``LinkageParams.relative_sample_rows``;
all rows when the dump is smaller) is scored against it: the cost grows with
the rows scored, and the rate is a proportion whose binomial interval is given.

Estimator (derived here, used by :func:`labforensics.leak.decoys.fmr_table`)
----------------------------------------------------------------------------
At threshold ``t``: ``N`` dump rows, ``R`` rows linked to the real index,
``U = N - R`` rows not linked. A row is **exposed** when one of its candidates
shows household agreement (household comparison ``surname+contact``,
``surname+postcode`` or ``contact_only``, or an agreeing NIR: the levels of
:data:`~labforensics.leak.decisions.HOUSEHOLD_EVIDENCE`): someone of its
household, as far as the fields tell, is indexed. ``X`` = exposed rows among the
``U`` not linked.

1. The quantity estimated is ``F / R``, ``F`` the linked rows whose person is in
   no index (outsiders).
2. An outsider class of ``c`` rows whose rows link with chance ``q`` gives
   ``c q`` false links and ``c (1 - q)`` rows not linked. Only the rows not
   linked are observed, so ``c q = (rows not linked of the class) * q / (1 - q)``.
3. The rows not linked are outsiders or indexed rows missed (recall < 1). The
   exposed ones (``X``) are counted as outsiders with an indexed relative (or
   who agree with an indexed household by chance), the others (``U - X``) as
   outsiders with none (exposure is read on the ``top_k`` candidates kept);
   counting the missed indexed rows as outsiders makes the estimate
   conservative. ``w = X / U`` is what the dump
   says about the share of relatives among the outsiders.
4. ``q_s`` (an unexposed outsider links) is the block decoy's rate among the
   rows it leaves unexposed: ``q_s = D_u / N_u``, ``N_u`` the dump rows with no
   household-agreeing candidate in the block decoy, ``D_u`` those of them
   linked to it; each row faces an index that does not hold it and holds no
   household of its (a household agreement there is a chance one). Exposure
   is conditioned on in both decoys, as in the real index: where surnames and
   postcodes are few, strangers too agree with someone on surname and
   postcode, and it is among such rows that they link (a test case with no
   relative at all, 5 postcodes and 20 first names: 67 of 179 exposed
   strangers linked, 0 of 621 unexposed ones; counting the block decoy's
   exposed links in ``q_s`` as well counted them twice).
5. ``q_r`` (an exposed outsider links) is the relative decoy's rate among the
   rows it exposes: ``q_r = D_r / E_r``, ``E_r`` the sampled rows with a
   household-agreeing candidate in the relative decoy, ``D_r`` those of them
   linked to it (to a pseudo-relative, or to anyone else: an outsider with a
   relative can also be linked to a stranger). Rows, not decoy records, are
   counted: the rate is per dump row, as the chance a relative's row is linked.
6. ``F = X q_r / (1 - q_r) + (U - X) q_s / (1 - q_s)`` and the estimated
   not-indexed false-match rate is ``fmr = min(1, F / R)``; its parts are
   ``fmr_relative = X q_r / (1 - q_r) / R`` and ``fmr_stranger`` the rest.
   ``fmr_high`` takes ``q_r`` at the upper end of its 95 % Clopper-Pearson
   interval (``D_r`` of ``E_r``, :func:`clopper_pearson`). Without the relative
   decoy (``relative_sample_rows=0``) ``q_r`` is the block decoy's rate among
   the rows it exposes (by chance only: it holds no household).
   ``fmr_upper = min(1, max(q_s, q_r) N / R)`` treats every row as a possible
   outsider.

Before this module the estimate was ``D / N * U / R``: the block decoy's rate
over every row applied to every row not linked, which left out outsiders with
an indexed relative (the block decoy cannot produce them).

What it assumes: a relative's person fields are like another household's
person's (the decoy takes them at random; real relatives share a first name or
a birth date more often: twins, a father and son of one first name), and an
outsider relative meets as many indexed relatives as an indexed person's row
meets pseudo-relatives (its household's indexed records). Both are stated with
the figures (README, "The linkage"); the benchmark compares the estimate with
the generator's truth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from labforensics.leak import decoys
from labforensics.leak.decisions import arrow_table
from labforensics.leak.decoys import blocking_keys, clopper_pearson, exposed_rows

__all__ = [
    "RELATIVE_BLOCKS",
    "build_relative_decoy",
    "clopper_pearson",
    "exposed_rows",
    "sample_rows",
    "score_relative_decoy",
]

#: The household block (kept from the real row) and the person block (taken from
#: another real row) of a relative decoy row.
RELATIVE_BLOCKS: dict[str, tuple[str, ...]] = {
    "household": (
        "surname",
        "birth_name",
        "address",
        "postcode",
        "city",
        "phone",
        "nir",
        "nir_raw_invalid",
    ),
    "person": (
        "sex",
        "birth_date",
        "birth_year",
        "birth_month",
        "birth_day",
        "first_name",
        "first_name_first",
        "qualite",
        "rang",
    ),
}

#: Seed tag of the relative decoy's permutation and of the dump sample (so these
#: draws differ from the block decoy's and the model's uses of the case seed).
_TAG_PERSON, _TAG_SAMPLE = 0x4E1A, 0x5A3B


def build_relative_decoy(
    index_people: pd.DataFrame, *, seed: int, columns: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Household block of each real row, person block of another (seeded).

    Parameters
    ----------
    index_people : pandas.DataFrame
        Canonical index person frame (:mod:`labforensics.leak.people`).
    seed : int
        The case seed (combined with a fixed tag).
    columns : sequence of str, optional
        Columns to build (``record_id``, ``surname``, ``first_name_first`` and
        ``birth_date`` always); None: all. The draw does not depend on it.

    Returns
    -------
    decoy : pandas.DataFrame
        The columns and dtypes of ``index_people``; ``record_id`` ``Y`` + 15
        digits (row number in the index sorted by record id); rows equal to a
        real record on (phonetic surname, first name, birth date) dropped.
    provenance : pandas.DataFrame
        ``decoy_id``, ``src_id`` (string): the real record the decoy row's
        PERSON block came from (one row per kept decoy row). The household
        block's source is not listed: a dump row meeting its own household is
        the point of this decoy.
    """
    if columns is not None:
        keep = {"record_id", "surname", "first_name_first", "birth_date", *columns}
        index_people = index_people[[c for c in index_people.columns if c in keep]]
    real = index_people.sort_values("record_id", kind="stable").reset_index(drop=True)
    n = len(real)
    perm = np.random.default_rng([int(seed) % (2**63), _TAG_PERSON]).permutation(n)
    decoy = real.copy()
    for c in RELATIVE_BLOCKS["person"]:
        if c in real.columns:
            # Arrow / masked take: no Python object per value
            decoy[c] = pd.Series(real[c].array.take(perm), index=decoy.index).astype(real[c].dtype)
    ids = "X" + pd.Series(np.arange(n), dtype="int64").astype("string").str.zfill(15)
    decoy["record_id"] = ("Y" + ids.str.slice(1)).astype("string").array
    equal = pc.is_in(blocking_keys(decoy), value_set=blocking_keys(real)).to_numpy(
        zero_copy_only=False
    )
    kept = ~equal
    provenance = pd.DataFrame(
        {
            "decoy_id": pd.Series(decoy["record_id"].array[kept], dtype="string"),
            "src_id": pd.Series(real["record_id"].astype("string").array.take(perm[kept])),
        }
    ).astype("string")
    decoy = decoy[kept].reset_index(drop=True)
    return decoy, provenance


def sample_rows(row_ids: pd.Series, n_sample: int, seed: int) -> pd.Series:
    """A seeded sample of dump row ids (sorted; all of them when ``n_sample >= len``).

    The draw is made on the sorted ids, so it does not depend on the rows' order.

    Parameters
    ----------
    row_ids : pandas.Series
        Every dump row id (string).
    n_sample : int
        Rows to draw (0: none).
    seed : int
        The case seed (combined with a fixed tag).

    Returns
    -------
    pandas.Series
        The sampled ids, string dtype, sorted, without duplicates.
    """
    ids = np.sort(pd.Series(row_ids, dtype="string").dropna().unique().to_numpy(dtype=object))
    if n_sample >= len(ids):
        return pd.Series(ids, dtype="string")
    rng = np.random.default_rng([int(seed) % (2**63), _TAG_SAMPLE])
    pos = np.sort(rng.choice(len(ids), size=int(n_sample), replace=False))
    return pd.Series(ids[pos], dtype="string")


def score_relative_decoy(
    con: Any,
    db_api: Any,
    linker: Any,
    dmp: pd.DataFrame,
    cand: pd.DataFrame,
    make_relative: Callable[[], tuple[pd.DataFrame, pd.DataFrame]],
    seed: int,
    params: Any,
) -> tuple[pd.DataFrame, pd.Series]:
    """Score a seeded sample of dump rows against the relative decoy (no EM).

    Runs inside :func:`labforensics.leak.linkage.link_dump`'s private connection,
    after the block decoy is released.

    Parameters
    ----------
    con, db_api, linker
        The private DuckDB connection, Splink's API on it and the trained linker.
    dmp : pandas.DataFrame
        The dump's model frame (``unique_id`` the row id).
    cand : pandas.DataFrame
        The real index's labelled candidates (the rows' own records, whose person
        blocks are left out).
    make_relative : callable
        Builds the relative decoy's model frame and its provenance
        (:func:`build_relative_decoy` then the model preparation).
    seed : int
        The case seed (the sample).
    params : LinkageParams
        ``relative_sample_rows``, ``thresholds``, ``top_k``.

    Returns
    -------
    (pandas.DataFrame, pandas.Series)
        The sampled rows' labelled candidates in the relative decoy, and the
        sampled row ids (:func:`sample_rows`).
    """
    sample = sample_rows(dmp["unique_id"], params.relative_sample_rows, seed)
    dmp_s = dmp[dmp["unique_id"].isin(sample).to_numpy()].reset_index(drop=True)
    dmp_s_sdf = db_api.register(arrow_table(dmp_s), dataset_display_name="dump_relative_sample")
    rel_idx, rel_prov = make_relative()
    own = cand[cand["row_id"].isin(sample).to_numpy()]
    exclude = decoys.decoy_exclusions(own, rel_prov, params)
    del rel_prov
    rel_cand = decoys.score_decoy(
        con, db_api, linker, dmp_s_sdf, rel_idx, exclude, params, name="relative_decoy"
    )
    return rel_cand, sample
