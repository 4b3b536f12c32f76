"""Placing a leaked identifier that names no lab, from the evidence and the patient indexes.

An IPP is unique within a lab only (``shared/formats/lis-audit-csv.md``, "Patients"):
the same number at two labs is two people. A leaked list of IPPs without a lab column
is read once per lab of the evidence (:func:`labforensics.leak.reader.read_leak`), and
each lab-less identifier was placed at the labs whose *events* name it. With the labs'
patient indexes given, the events are not all the labs know: a leaked L01 patient
whose record no event of the period touched, but whose number an L02 patient also
carries and an L02 event names, was placed at L02 alone, and L02 was weighed on pairs
that are collisions of numbering (QA session 12: a vendor extraction at L01 read as
"mixed", L02 "a copy outside the logged evidence", strong, although nothing of L02
leaked).

:func:`place_by_index` uses what the labs hold (their events and their indexes): an
identifier held by exactly one patient record is placed at its lab, as if the leak had
said so; one held by several (at several labs, or a NIR an insured person shares with
dependants at one lab: ``shared/formats/leak-dump.md``) cannot be placed (one person,
not said which) and is counted in no lab; one held nowhere stays as it was (never seen).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["place_by_index"]


def place_by_index(
    leak_rows: pd.DataFrame, events_pairs: pd.DataFrame, index_pairs: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Lab-less identifiers placed at the one patient record that holds them, or at none.

    Parameters
    ----------
    leak_rows : pandas.DataFrame
        :func:`~labforensics.leak.reader.read_leak`'s rows (``leak_id``, ``lab``,
        ``patient``, ``id_kind``, ``lab_given``, ``date``): a lab-less identifier is one
        row per lab of the evidence, ``lab_given`` false, ``patient`` keyed with that lab.
    events_pairs, index_pairs : pandas.DataFrame
        ``lab``, ``patient`` (string pseudonyms): the pairs the events name, and those
        the patient indexes hold.

    Returns
    -------
    rows : pandas.DataFrame
        ``leak_rows`` where an identifier held by one record is that record's row alone,
        with ``lab_given`` true; one held by several is one row with no lab and no
        patient (counted in no lab); other rows unchanged. Same columns and dtypes.
    counts : dict
        ``placed`` (identifiers placed at one record) and ``several_records`` (held by
        more than one, at one lab or several: not placed).
    """
    free = ~leak_rows["lab_given"].astype(bool) & leak_rows["lab"].notna()
    if not free.any():
        return leak_rows, {"placed": 0, "several_records": 0}
    held = pd.concat([events_pairs[["lab", "patient"]], index_pairs[["lab", "patient"]]],
                     ignore_index=True).astype("string").drop_duplicates()  # fmt: skip
    cand = leak_rows.loc[free, ["leak_id", "lab", "patient"]].astype("string")
    hit = cand.reset_index().merge(held, on=["lab", "patient"], how="inner")
    # records held: a NIR (shared by an insured person's dependants) can name several
    # patients at one lab; one person, not said which, as across labs
    n_held = hit.drop_duplicates(["leak_id", "lab", "patient"]).groupby("leak_id").size()
    one = set(n_held.index[n_held == 1])
    many = set(n_held.index[n_held > 1])
    lid = leak_rows["leak_id"].astype("string")
    keep_row = set(hit.loc[hit["leak_id"].isin(one), "index"].tolist())
    is_one = free & lid.isin(one)
    is_many = free & lid.isin(many)
    out = leak_rows.copy()
    out.loc[is_one & out.index.isin(keep_row), "lab_given"] = True
    drop = (is_one & ~out.index.isin(keep_row)) | (is_many & lid.duplicated())
    out = out[~drop]
    many_rows = out.index[is_many[out.index]]
    out.loc[many_rows, "lab"] = pd.NA
    out.loc[many_rows, "patient"] = pd.NA
    return out.reset_index(drop=True), {"placed": len(one), "several_records": len(many)}
