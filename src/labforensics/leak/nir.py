"""The French NIR (social security number): normalisation and key check.

One place for both, used by the redactor (:mod:`labforensics.privacy`) to find
NIRs in free text and by the leak linkage to compare leaked NIRs with the labs'
patient indexes: a NIR written ``1 85 07 972 12 005 08``, ``1.85.07.972.12.005.08``,
``1-85-07-972-12-005-08`` or with no-break spaces is one and the same number.

Structure (15 characters, INSEE): sex (1 digit: 1, 2; 3, 4 for people born
abroad whose registration is pending; 7, 8 for temporary numbers), year of birth
(2 digits), month (2), place of birth (5: department 2 + commune 3, or an
overseas department 3 (97x, 98x) + commune 2, or 99 + country 3; Corsica's
departments written ``2A``/``2B``), order number (3), key (2). The key is
``97 - (n mod 97)``, ``n`` the number made of the first 13 characters with
``2A`` read as 19 and ``2B`` as 18.

References
----------
INSEE, *Numéro d'inscription au répertoire (NIR)*,
https://www.insee.fr/fr/metadonnees/definition/c1409 ;
python-stdnum, :mod:`stdnum.fr.nir` (length, format and key check; its
``compact`` strips only spaces and dots, so dashes and the other separators
written in French documents are stripped here first).
"""

from __future__ import annotations

import re

from stdnum.fr import nir as _stdnum_nir

__all__ = ["NIR_SEPARATORS", "is_valid_nir", "normalise_nir"]

#: Characters written between the groups of a NIR and dropped before the check:
#: white space (including the no-break spaces U+00A0 and U+202F), dots and dashes.
NIR_SEPARATORS = r"[\s.\-\u00a0\u202f]"
_SEPARATORS = re.compile(NIR_SEPARATORS)
_SEX = frozenset("123478")


def normalise_nir(text: str | None) -> str | None:
    """The compact form of a NIR written with any separators, or None when not a valid NIR.

    Parameters
    ----------
    text : str or None
        A NIR as written: plain (``184127645108946``) or grouped with spaces, dots,
        dashes or no-break spaces (U+00A0, U+202F) in the usual 1-2-2-2-3-3-2
        grouping or the overseas 1-2-2-3-2-3-2 one; ``2a``/``2b`` in any case.

    Returns
    -------
    str or None
        The 15 characters (digits, ``2A``/``2B`` upper case) when the text is a NIR
        with a valid key (:func:`is_valid_nir`); None otherwise (wrong length,
        format, sex digit or key; None or empty input).

    Notes
    -----
    The separators (:data:`NIR_SEPARATORS`) are stripped, then python-stdnum's
    :func:`stdnum.fr.nir.validate` checks length, format and key (its ``compact``
    alone would keep dashes). The sex digit must be 1, 2, 3, 4, 7 or 8 (INSEE);
    the month is not checked (NIRs of people of unknown birth month hold 20 or 30-42).

    Examples
    --------
    >>> normalise_nir("1 85 07 972 12 005 08")
    '185079721200508'
    >>> normalise_nir("2-69-05-49-588-157-80")
    '269054958815780'
    >>> normalise_nir("2 69 05 49 588 157 81") is None  # wrong key
    True
    """
    if not text:
        return None
    compact = _SEPARATORS.sub("", text).upper()
    if len(compact) != 15 or compact[0] not in _SEX:
        return None
    try:
        return _stdnum_nir.validate(compact)
    except _stdnum_nir.ValidationError:
        return None


def is_valid_nir(text: str | None) -> bool:
    """True when ``text`` is a NIR with a valid key, whatever its separators.

    Parameters
    ----------
    text : str or None
        A NIR as written (see :func:`normalise_nir`).

    Returns
    -------
    bool
        True when the 15 characters, separators stripped, have the NIR's format
        (sex digit 1, 2, 3, 4, 7 or 8; department digits or ``2A``/``2B``) and the
        key ``97 - (n mod 97)`` of their first 13 (``2A`` -> 19, ``2B`` -> 18).

    Examples
    --------
    >>> is_valid_nir("1.84.12.76.451.089.46")
    True
    >>> is_valid_nir("1 84 12 76 451 089 47")
    False
    """
    return normalise_nir(text) is not None
