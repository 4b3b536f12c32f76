"""Lab codes compared as one thing wherever a lab is named (QA session 13).

The evidence's labs are canonical at ingest: a file named ``audit_l03_...`` gives
lab ``L03``, a lab column's ``l03`` and the ``--lab l03`` option too. Every other
input naming a lab (the case file's ``[[labs]]`` codes, FINESS numbers and aliases,
the authorisation register, a patient index, a leak list) goes through the same
canonical form before it is compared with the evidence's labs, so that ``l07`` in a
register is the evidence's ``L07``. The canonical form: Unicode NFC, surrounding
blanks dropped, upper case. ``*`` (every lab, in the register) stays ``*``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["canonical_lab", "lab_alias_map", "resolve_lab", "resolve_lab_series"]


def canonical_lab(text: object) -> str | None:
    """The canonical form of a lab code or FINESS number: NFC, trimmed, upper case.

    Parameters
    ----------
    text : object
        The lab as written; None, NA and a blank value give None.

    Returns
    -------
    str or None
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    s = unicodedata.normalize("NFC", str(text)).strip()
    return s.upper() if s else None


def lab_alias_map(aliases: Mapping[object, object] | None) -> dict[str, str]:
    """An alias (FINESS number or other name) -> lab code mapping, both sides canonical.

    Parameters
    ----------
    aliases : mapping or None
        As given (the case's ``lab_aliases`` or a caller's ``lab_aliases=``).

    Returns
    -------
    dict of str to str
    """
    out: dict[str, str] = {}
    for k, v in (aliases or {}).items():
        ck, cv = canonical_lab(k), canonical_lab(v)
        if ck is not None and cv is not None:
            out[ck] = cv
    return out


def resolve_lab(text: object, aliases: Mapping[str, str]) -> str | None:
    """A lab as written -> its canonical code, an alias resolved.

    Parameters
    ----------
    text : object
        The lab as written (a code, a FINESS number, an alias).
    aliases : mapping of str to str
        Canonical alias -> canonical code (:func:`lab_alias_map`).

    Returns
    -------
    str or None
        None for a missing or blank lab.
    """
    c = canonical_lab(text)
    return None if c is None else aliases.get(c, c)


def resolve_lab_series(s: pd.Series, aliases: Mapping[str, str]) -> pd.Series:
    """:func:`resolve_lab` on a column, per distinct value; a blank lab is missing.

    Parameters
    ----------
    s : pandas.Series
        Labs as written.
    aliases : mapping of str to str
        Canonical alias -> canonical code (:func:`lab_alias_map`).

    Returns
    -------
    pandas.Series
        Of dtype ``string``, on ``s``'s index.
    """
    codes, uniq = pd.factorize(s.astype("string"), use_na_sentinel=True)
    vals = np.array([resolve_lab(v, aliases) for v in uniq] + [None], dtype=object)
    return pd.Series(vals[np.where(codes < 0, len(uniq), codes)], index=s.index, dtype="string")
