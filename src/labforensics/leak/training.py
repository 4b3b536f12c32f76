"""The EM training blocks of the leak linkage, chosen from the fields the dump holds.

Splink's EM cannot estimate a comparison whose input columns appear in the
training block (the block fixes it: every pair agrees on it). The default
blocks, :data:`labforensics.leak.decisions.EM_RULES`, are full birth date
(trains first name and household) and full first name + postcode (trains NIR
and birth date). A dump without birth dates or without postcodes (a common
layout: ``NOM;PRENOM;DDN;N° SS;TEL``) gives one of them no pair at all, and
Splink's EM then stops the whole linkage.

:func:`choose_em_rules` therefore picks, for each comparison the dump can
inform (its columns hold a value in the dump), the first block of
:data:`EM_CANDIDATES` that (a) does not fix that comparison and (b) yields at
least one dump-index pair on the model frames; the blocks are run in the
order of :data:`EM_CANDIDATES`. With every field present this is exactly
:data:`~labforensics.leak.decisions.EM_RULES`. A comparison the dump cannot
inform needs no training (every pair takes its null level, Bayes factor 1). A
comparison no block can train keeps Splink's default m (then floored, see
:mod:`labforensics.leak.linkage`) and is named in the choice; when no block
at all yields a pair, :func:`choose_em_rules` raises a :class:`LinkageError`
that says which fields were missing.

The fallback blocks follow the same reasoning as the defaults: tight (a full
first name with a per-person contact, a full first name with the surname) so
that matches are a fair share of the pairs, and a full first name is kept in
the blocks that train the NIR comparison because a household shares NIR,
surname, phone and postcode but rarely a full first name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from labforensics.errors import LinkageError
from labforensics.leak.decisions import COMPARISON_LEVELS, EM_RULES

__all__ = ["EM_CANDIDATES", "EmChoice", "choose_em_rules", "comparison_inputs"]

#: Candidate EM blocks (Splink SQL on the model frame), in order of preference:
#: the two defaults first, then fallbacks for dumps lacking a field.
EM_CANDIDATES: tuple[str, ...] = (
    *EM_RULES,  # birth date; first name + postcode
    "l.fn = r.fn and l.phone = r.phone",  # no postcode: first name + phone
    "l.fn = r.fn and l.sn = r.sn",  # no contact: first name + surname
    "l.nir = r.nir",  # no birth date: NIR trains first name and household
    "l.phone = r.phone",  # no birth date nor NIR: phone trains first name
    "l.sn = r.sn",  # last resort for first name: surname
    "l.fn = r.fn",  # last resort for household: full first name
)

#: The model-frame columns that say whether the dump can inform a comparison.
_INFORMED_BY: dict[str, tuple[str, ...]] = {
    "nir": ("nir",),
    "dob": ("dob", "by"),
    "first_name": ("fn1",),
    "household": ("sn", "phone", "postcode", "address"),
}

_SIDE_COL = re.compile(r"\b([a-z][a-z0-9_]*?)_[lr]\b")
_RULE_COL = re.compile(r"\b[lr]\.([a-z][a-z0-9_]*)\b")


def comparison_inputs() -> dict[str, set[str]]:
    """The model-frame columns each comparison reads (from its level SQL).

    Returns
    -------
    dict of str to set of str
        Comparison name -> columns, with the term-frequency column, as Splink
        reads them to decide which comparisons a training block fixes.
    """
    out: dict[str, set[str]] = {}
    for comp, levels in COMPARISON_LEVELS.items():
        cols: set[str] = set()
        for _label, sql, _null, tf in levels:
            cols |= set(_SIDE_COL.findall(sql))
            if tf:
                cols.add(tf)
        out[comp] = cols
    return out


def _rule_columns(rule: str) -> list[str]:
    return sorted(set(_RULE_COL.findall(rule)))


@dataclass(frozen=True)
class EmChoice:
    """The EM blocks chosen for one linkage.

    Attributes
    ----------
    rules : tuple of str
        Blocks to run, in :data:`EM_CANDIDATES` order.
    informed : tuple of str
        Comparisons the dump holds a value for.
    untrained : tuple of str
        Informed comparisons no block could train (they keep the default m).
    """

    rules: tuple[str, ...]
    informed: tuple[str, ...]
    untrained: tuple[str, ...]


def _has_pair(index: pd.DataFrame, dump: pd.DataFrame, cols: list[str]) -> bool:
    """Whether one (dump, index) pair agrees on every column of ``cols`` (none NA)."""
    left = dump[cols].dropna().drop_duplicates()
    if left.empty:
        return False
    right = index[cols].dropna().drop_duplicates()
    return not left.merge(right, on=cols, how="inner").empty


def choose_em_rules(index: pd.DataFrame, dump: pd.DataFrame) -> EmChoice:
    """Choose the EM training blocks from the fields the dump and the index hold.

    Parameters
    ----------
    index, dump : pandas.DataFrame
        Model frames of :func:`labforensics.leak.linkage._prepare` (columns
        ``fn``, ``sn``, ``dob``, ``by``, ``nir``, ``phone``, ``postcode``, ...).

    Returns
    -------
    EmChoice
        The blocks, the comparisons informed, those left untrained.

    Raises
    ------
    LinkageError
        No candidate block yields a single dump-index pair: the dump shares no
        usable field with the indexes (names the fields the model reads).
    """
    inputs = comparison_inputs()
    informed = [
        c for c, cols in _INFORMED_BY.items() if any(dump[col].notna().any() for col in cols)
    ]
    usable: dict[str, bool] = {}
    chosen: set[str] = set()
    untrained: list[str] = []
    for comp in informed:
        found = False
        for rule in EM_CANDIDATES:
            cols = _rule_columns(rule)
            if inputs[comp] & set(cols):
                continue  # the block fixes this comparison: it cannot train it
            if rule not in usable:
                usable[rule] = _has_pair(index, dump, cols)
            if usable[rule]:
                chosen.add(rule)
                found = True
                break
        if not found:
            untrained.append(comp)
    if not chosen:
        raise LinkageError(
            "record linkage cannot be trained: no dump row agrees with an index row on "
            "any training field (birth date; first name with postcode, phone or surname; "
            "NIR; phone; surname), so no row could be linked either. The dump holds values "
            "for: "
            + (", ".join(informed) or "none of name, first name, birth date, NIR, contact")
            + ". Either it holds none of these labs' patients (give the indexes of the labs "
            "it may come from) or its columns were not recognised (map them: "
            "labforensics.leak.mapping; the format documents list the names recognised)"
        )
    rules = tuple(r for r in EM_CANDIDATES if r in chosen)
    return EmChoice(rules=rules, informed=tuple(informed), untrained=tuple(untrained))
