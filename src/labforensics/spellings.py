"""Accounts as they were logged, beside the canonical form every comparison uses.

The event table holds an account twice: ``account``, canonical (NFC and, for a
case-insensitive source, case-folded: :mod:`labforensics.identity`), and
``account_raw``, as written. A table keyed by the canonical account (campaigns,
pathways, source addresses) keeps it for matching, and adds the spellings the evidence
logged where they differ from it (a decomposed accent, another case): the expert cites
the logged name. :mod:`labforensics.report.as_logged` does the same for the report's
evidence rows and top sessions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .case_events import CaseEvents

__all__ = ["SEP", "account_spellings", "joined_as_logged", "with_account_as_logged"]

#: Separator of the spellings shown as text (as :func:`labforensics.schema.join_list`).
SEP = " | "


def _text(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _distinct(events: pd.DataFrame, accounts: list[str]) -> pd.DataFrame:
    """The distinct (lab, account, account_raw) of ``events`` for ``accounts``, as text."""
    ev = events.loc[events["account"].isin(accounts), ["lab", "account", "account_raw"]]
    return ev.dropna(subset=["account", "account_raw"]).astype(str).drop_duplicates()


def account_spellings(
    events: pd.DataFrame | CaseEvents, pairs: Iterable[tuple[Any, Any]]
) -> dict[tuple[str, str], list[str]]:
    """The spellings logged of each (lab, canonical account) in ``pairs``.

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events with ``lab``, ``account`` and ``account_raw`` (without
        ``account_raw``: nothing is found).
    pairs : iterable of (lab, account)
        The canonical accounts wanted, each at its lab (missing ones are skipped).

    Returns
    -------
    dict
        ``(lab, account)`` -> the distinct ``account_raw`` values of its events, sorted;
        only the pairs with at least one. A :class:`CaseEvents` is read one lab at a
        time (the labs of ``pairs``), each lab reduced to its distinct spellings.
    """
    want = {(lab, acc) for lab, acc in ((_text(a), _text(b)) for a, b in pairs)
            if lab is not None and acc is not None}  # fmt: skip
    cols = ["lab", "account", "account_raw"]
    if not want or any(c not in events.columns for c in cols):
        return {}
    accounts = sorted({a for _, a in want})
    if isinstance(events, CaseEvents):  # lab by lab, each reduced to its distinct pairs
        labs = {lab for lab, _ in want}
        parts = [_distinct(events.lab(lab, cols), accounts) for lab in events.labs
                 if lab is not None and str(lab) in labs and events.size(lab)]  # fmt: skip
        ev = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    else:
        ev = _distinct(events, accounts)
    out: dict[tuple[str, str], list[str]] = {}
    for (lab, acc), g in ev.groupby(["lab", "account"], sort=False):
        if (lab, acc) in want:
            out[(lab, acc)] = sorted(set(g["account_raw"]))
    return out


def joined_as_logged(
    spellings: Mapping[tuple[str, str], list[str]], labs: Iterable[Any], account: Any
) -> str | None:
    """The spellings of ``account`` at ``labs``, joined by :data:`SEP`; None when they
    are the canonical form alone (or none is known).

    Parameters
    ----------
    spellings : dict
        :func:`account_spellings`' result.
    labs : iterable
        The labs of the row (one for a campaign or a source, several for a pathway).
    account : str
        The canonical account.

    Returns
    -------
    str or None
    """
    acc = _text(account)
    if acc is None:
        return None
    found = sorted({s for lab in labs for s in spellings.get((str(lab), acc), [])})
    return SEP.join(found) if found and found != [acc] else None


def with_account_as_logged(frame: pd.DataFrame, events: pd.DataFrame | CaseEvents) -> pd.DataFrame:
    """``frame`` (one row per lab and account) with ``account_as_logged`` after ``account``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with ``lab`` and a canonical ``account`` (a campaign table).
    events : pandas.DataFrame or CaseEvents
        As :func:`account_spellings`.

    Returns
    -------
    pandas.DataFrame
        A copy; ``account_as_logged`` (string) holds the spellings logged joined by
        :data:`SEP` where they differ from ``account``, missing elsewhere.
    """
    out = frame.copy()
    found = account_spellings(events, zip(out["lab"], out["account"], strict=True))
    shown = [joined_as_logged(found, [lab], acc)
             for lab, acc in zip(out["lab"], out["account"], strict=True)]  # fmt: skip
    at = list(out.columns).index("account") + 1
    out.insert(at, "account_as_logged", pd.array(shown, dtype="string"))
    return out
