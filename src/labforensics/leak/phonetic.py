"""A French phonetic key for the blocking rules of the leak linkage.

No maintained French phonetic library is on PyPI (``abydos``, which has
Phonex and FONEM, was last released in 2020; ``phonex`` 0.0.2 in 2021), so
:func:`french_phonetic` is a small Soundex-FR-like key written here as an
ordered list of regular-expression rewrites applied to the DISTINCT names
(vectorised per rule): French digraphs (``PH``, ``QU``, ``CH``, ``GU``,
``EAU``, ``AU``, ``OU``, ``AI``...), soft ``C``/``G``, nasal vowels (``AN``/
``EN``, ``ON``, ``IN``/``AIN``/``UN``), silent final consonants and ``E``,
doubled letters; then the vowels after the first letter are dropped. It makes
``MARTIN``/``MARTYN``, ``DUPONT``/``DUPOND``, ``GAUTHIER``/``GAUTIER``/
``GOTHIER``, ``THOMAS``/``TOMAS`` equal, which is what a blocking key needs
(it decides which pairs are compared, not whether they match).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["french_phonetic"]

_PHONETIC_RULES: tuple[tuple[str, str], ...] = (
    (r"[^A-Z]", ""),
    (r"Y", "I"),
    (r"PH", "F"),
    (r"SCH|SH|CH", "S"),
    (r"QU|Q|CK", "K"),
    (r"GU(?=[EI])", "G"),
    (r"GE(?=[AOU])", "J"),
    (r"G(?=[EI])", "J"),
    (r"SC(?=[EI])", "S"),
    (r"C(?=[EI])", "S"),
    (r"C", "K"),
    (r"TH", "T"),
    (r"W", "V"),
    (r"BV", "V"),
    (r"Z", "S"),
    (r"EAU|AU", "O"),
    (r"OU", "U"),
    (r"OI", "UA"),
    (r"AI|EI", "E"),
    (r"(?:AIN|EIN|AIM|EIM|IN|IM|UN|UM)(?![AEIOU])", "1"),
    (r"(?:AN|AM|EN|EM)(?![AEIOU])", "2"),
    (r"(?:ON|OM)(?![AEIOU])", "3"),
    (r"H", ""),
    (r"(?:ER|EZ|ET)$", "E"),
    (r"[DTSXP]$", ""),
    (r"[DTSXP]$", ""),
    (r"(?<=.)E$", ""),
    (r"(.)\1+", r"\1"),
    (r"(?<=.)[AEIOU]", ""),
    (r"(.)\1+", r"\1"),
)


def french_phonetic(names: pd.Series) -> pd.Series:
    """French phonetic key of names (Soundex-FR-like; rules in the module docstring).

    Parameters
    ----------
    names : pandas.Series
        Names in comparison form (upper case, no accents), string dtype; NA kept.

    Returns
    -------
    pandas.Series
        The key (string dtype), NA where the name is NA or has no letter.
    """
    values = pd.Series(pd.unique(names.dropna()), dtype="string")
    keys = values.copy()
    for pattern, repl in _PHONETIC_RULES:
        keys = keys.str.replace(pattern, repl, regex=True)
    keys = keys.mask(keys == "")
    lookup = pd.Series(keys.to_numpy(), index=values.to_numpy())
    out = names.map(lookup)
    return out.astype("string")
