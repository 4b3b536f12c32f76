"""The linkage's blocking rules: which (dump row, index record) pairs are compared.

:func:`blocking_rules` names the compound rules (phonetic surname + birth year, the
NIR's first 7 characters, birth date + first initial, first name + postcode +
phonetic surname, phonetic birth name + birth year); ``_prediction_rules`` is how
Splink runs them (an OR split into one equi-join per branch); ``_count_comparisons``
counts the pairs of each rule with Splink's counter (``benchmarks/linkage.py`` prints
them). Used by :mod:`labforensics.leak.linkage`.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["blocking_rules"]


def blocking_rules() -> list[tuple[str, str]]:
    """Blocking rules as (name, SQL condition) pairs, in the order Splink applies them.

    Returns
    -------
    list of (str, str)
        ``surname_phonetic+birth_year``, ``nir7``, ``birth_date+first_initial``,
        ``first_name+postcode+surname_phonetic`` (rows without dates) and
        ``birth_name_phonetic+birth_year`` (usage/birth name swapped).
    """
    return [
        ("surname_phonetic+birth_year", "l.sn_ph = r.sn_ph and l.by = r.by"),
        ("nir7", "l.nir7 = r.nir7"),
        (
            "birth_date+first_initial",
            "l.dob = r.dob and substr(l.fn1, 1, 1) = substr(r.fn1, 1, 1)",
        ),
        (
            "first_name+postcode+surname_phonetic",
            "l.fn1 = r.fn1 and l.postcode = r.postcode and l.sn_ph = r.sn_ph",
        ),
        (
            "birth_name_phonetic+birth_year",
            "(l.bn_ph = r.sn_ph or l.sn_ph = r.bn_ph) and l.by = r.by",
        ),
    ]


def _prediction_rules() -> list[tuple[str, str]]:
    """:func:`blocking_rules` as Splink runs them: a rule whose condition is an OR of
    equalities is split into one rule per branch, under the same name.

    The pairs are the same (Splink takes the union of its rules' pairs, each rule
    leaving out the pairs of the rules before it), but each branch is an equi-join
    DuckDB can hash, where the OR is joined on birth year alone and filtered: at
    300,000 x 100,000 records that one rule took 2.1 s and each branch 0.01 s.
    """
    split = {
        "birth_name_phonetic+birth_year": [
            "l.bn_ph = r.sn_ph and l.by = r.by",
            "l.sn_ph = r.bn_ph and l.by = r.by",
        ]
    }
    out = []
    for name, cond in blocking_rules():
        out.extend((name, c) for c in split.get(name, [cond]))
    return out


def _count_comparisons(db_api, idx_sdf, dmp_sdf, sample: float) -> pd.DataFrame:
    """Comparisons per blocking rule, by Splink's counter (exact when ``sample`` is 1)."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    rules = _prediction_rules()
    recs = count_comparisons_from_blocking_rules(
        [dmp_sdf, idx_sdf],
        blocking_rules=[cond for _, cond in rules],
        link_type="link_only",
        unique_id_column_name="unique_id",
        source_dataset_column_name="source_dataset",
        record_sample_proportion=sample,
    )
    # the branches of a split rule are counted back under the rule's name: the
    # marginal counts add up (each branch leaves out the pairs of the one before)
    per_rule = pd.DataFrame(
        {
            "rule": [name for name, _ in rules],
            "marginal": [int(r["marginal_comparison_count"]) for r in recs],
            "cumulative": [int(r["cumulative_comparison_count"]) for r in recs],
        }
    )
    counted = per_rule.groupby("rule", sort=False).agg(
        marginal=("marginal", "sum"), cumulative=("cumulative", "last")
    )
    names = [n for n, _ in blocking_rules()]
    counted = counted.loc[names]
    return pd.DataFrame(
        {
            "rule": pd.Series(names, dtype="string"),
            "marginal": counted["marginal"].to_numpy(dtype="int64").tolist(),
            "cumulative": counted["cumulative"].to_numpy(dtype="int64").tolist(),
        }
    )
