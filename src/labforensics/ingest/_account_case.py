"""Accounts of one lab that differ only by case (``Jdupont`` and ``jdupont``).

A source whose accounts are case-sensitive (the LIS CSV logs) keeps such spellings
apart, as written: they may be two accounts. But the authorisation register matches
accounts case-insensitively (``shared/formats/authorisations.md``), and a person who
typed their login in another case is one person. The analysis does not decide: the
ingest report names each group (lab, the spellings, the events of each) so that the
expert judges (QA session 12: they stayed two accounts without a word). Account names
are not patient identifiers; no patient value is read here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..identity import canonical_account

__all__ = ["case_variant_accounts"]


def case_variant_accounts(events: pd.DataFrame) -> list[dict[str, Any]]:
    """The groups of a lab's accounts that are one account but for case.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical events (``lab``, ``account``).

    Returns
    -------
    list of dict
        One per group, sorted by lab then spelling: ``lab`` (str), ``accounts`` (the
        spellings, sorted), ``events`` (the events of each, in that order). Empty when
        no lab has two spellings of one account.
    """
    if not len(events) or not {"lab", "account"} <= set(events.columns):
        return []
    sizes = events.groupby(["lab", "account"], observed=True, dropna=True).size()
    by: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for (lab, acc), n in sizes.items():  # one per distinct (lab, account): few
        if int(n) <= 0:
            continue
        key = (str(lab), canonical_account(str(acc), casefold=True) or "")
        by.setdefault(key, []).append((str(acc), int(n)))
    out = []
    for (lab, _), lst in sorted(by.items()):
        if len(lst) < 2:
            continue
        lst.sort()
        out.append({"lab": lab, "accounts": [a for a, _ in lst], "events": [n for _, n in lst]})
    return out
