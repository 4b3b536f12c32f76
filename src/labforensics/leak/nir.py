"""The French NIR (social security number): normalisation and key check.

One place for both, used by the redactor (:mod:`labforensics.privacy`) to find
NIRs in free text (the separators only: for privacy a NIR is one whatever its key)
and by the leak linkage to compare leaked NIRs with the labs' patient indexes (the
key too: a wrong key is no valid NIR there): a NIR written ``1 85 07 972 12 005 08``,
``1.85.07.972.12.005.08``, ``1-85-07-972-12-005-08`` or with no-break spaces is one
and the same number.

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

__all__ = [
    "NIR_PROBLEMS",
    "NIR_SEPARATORS",
    "is_valid_nir",
    "nir_agrees_with",
    "nir_problems",
    "normalise_nir",
]

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


# --- structural checks (issue 13 item 2) -----------------------------------------------

#: The problems :func:`nir_problems` names, in the order it checks them.
NIR_PROBLEMS = ("length", "sex", "month", "department", "commune", "order", "key")
_MALE, _FEMALE = frozenset("137"), frozenset("248")
#: Overseas departments and collectivities written on 3 digits (then a 2-digit commune):
#: 971-978 (Guadeloupe, Martinique, Guyane, La Réunion, Saint-Pierre-et-Miquelon,
#: Mayotte, Saint-Barthélemy, Saint-Martin), 984 and 986-989 (TAAF, Wallis-et-Futuna,
#: Polynésie française, Nouvelle-Calédonie, Clipperton).
_OVERSEAS = frozenset(
    {"971", "972", "973", "974", "975", "976", "977", "978", "984", "986", "987", "988", "989"}
)


def _month_ok(mm: str) -> bool:
    m = int(mm)
    return 1 <= m <= 12 or 20 <= m <= 42 or 50 <= m <= 99


def nir_problems(text: str | None) -> tuple[str, ...]:
    """What is structurally wrong with a NIR; an empty tuple when nothing is.

    Parameters
    ----------
    text : str or None
        A NIR as written (separators :data:`NIR_SEPARATORS` are stripped, ``2a``/``2b``
        read upper case).

    Returns
    -------
    tuple of str
        Names from :data:`NIR_PROBLEMS`, in that order: ``length`` (not 15
        characters once the separators are stripped, or characters other than digits
        and a ``2A``/``2B`` department; nothing else is checked then), ``sex`` (first
        digit not 1, 2; 3, 4 (born abroad, registration pending); 7, 8 (temporary
        number)), ``month`` (not 01-12, nor 20-42 or 50-99,
        the codes of an unknown or fictitious month), ``department`` (not 01-95,
        ``2A``, ``2B``, 96 (Tunisia before independence), 97x/98x overseas (971-978,
        984, 986-989) or 99 (abroad)), ``commune`` (000, or 00 after a 3-digit
        overseas department; after 99 it is the INSEE country code), ``order`` (000),
        ``key`` (not ``97 - (n mod 97)`` of the first 13 characters, ``2A`` read as
        19 and ``2B`` as 18).

    Notes
    -----
    Sources: INSEE, *Numéro d'inscription au répertoire (NIR)*; Service-Public.fr
    F33078 (*Que signifie le numéro de sécurité sociale ?*: department 99 and the
    INSEE country code for people born abroad; 91-94 Algeria, 95 Morocco, 96
    Tunisia before independence); ``shared/formats/patient-index.md`` ("NIR
    structure"). Departments 91-95 are both today's Île-de-France departments and
    the former North-African codes: valid either way. Department 20 (Corsica before
    the 1976 split) is inside 01-95 and accepted.

    Examples
    --------
    >>> nir_problems("1 84 12 76 451 089 46")
    ()
    >>> nir_problems("1 84 13 76 451 089 46")
    ('month', 'key')
    """
    if not text:
        return ("length",)
    c = _SEPARATORS.sub("", text).upper()
    if (
        len(c) != 15
        or not (c[:5] + c[7:]).isdigit()
        or not (c[5:7].isdigit() or c[5:7] in ("2A", "2B"))
    ):
        return ("length",)
    out: list[str] = []
    if c[0] not in _SEX:
        out.append("sex")
    if not _month_ok(c[3:5]):
        out.append("month")
    dept = c[5:7]
    if dept in ("97", "98"):
        if c[5:8] not in _OVERSEAS:
            out.append("department")
        elif c[8:10] == "00":
            out.append("commune")
    else:
        if not (dept in ("2A", "2B") or 1 <= int(dept) <= 96 or dept == "99"):
            out.append("department")
        if c[7:10] == "000":
            out.append("commune")
    if c[10:13] == "000":
        out.append("order")
    n = int(c[:13].replace("2A", "19").replace("2B", "18"))
    if int(c[13:]) != 97 - n % 97:
        out.append("key")
    return tuple(out)


def nir_agrees_with(
    nir: str | None, sex: str | None, birth_year: int | None, birth_month: int | None
) -> bool:
    """True when a NIR's sex, year and month agree with a person's (given parts only).

    Parameters
    ----------
    nir : str or None
        A NIR as written (separators stripped here); one with a structural problem
        (:func:`nir_problems`) never agrees.
    sex : {"M", "F"} or None
        Compared with the first digit (1, 3, 7 men; 2, 4, 8 women); None: not compared.
    birth_year : int or None
        Its last two digits are compared with the NIR's year; None: not compared.
    birth_month : int or None
        Compared with the NIR's month when that is a real month (01-12); a NIR month
        of 20-42 or 50-99 (unknown month) agrees with any; None: not compared.

    Returns
    -------
    bool
        Agreement of every part given. Information, not an error: a dependant carries
        the insured person's NIR (``QUALITE`` other than ``00``), which usually does
        not agree with the dependant's own sex and birth date.

    Examples
    --------
    >>> nir_agrees_with("184127645108946", "M", 1984, 12)
    True
    >>> nir_agrees_with("184127645108946", "F", 2012, 6)  # a daughter on her father's NIR
    False
    """
    if not nir or nir_problems(nir):
        return False
    c = _SEPARATORS.sub("", nir).upper()
    if sex is not None and sex not in ("M", "F"):
        return False
    if sex == "M" and c[0] not in _MALE or sex == "F" and c[0] not in _FEMALE:
        return False
    if birth_year is not None and int(c[1:3]) != int(birth_year) % 100:
        return False
    m = int(c[3:5])
    return birth_month is None or not 1 <= m <= 12 or m == int(birth_month)
