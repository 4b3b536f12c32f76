"""Free-text patterns of :mod:`labforensics.privacy`: tags, names, identifier-shaped numbers.

Free text (an event's detail, a quarantined line, a field-problem value) may hold
what a column would have held: a NIR, a phone number, an e-mail address, a
patient's name, an IPP. :mod:`labforensics.privacy` replaces the IPPs and request
numbers the evidence reveals as such by their keyed ids; this module holds the
patterns for the rest, each anchored (a look-behind or a fixed marker fixes where a
match starts) and linear in the text's length:

* NIRs (any number of NIR shape, whatever its INSEE key: a NIR with a typo in its key
  still names the person by its 13 digits), e-mail addresses and French phone numbers
  become the tags ``[NIR]``, ``[EMAIL]`` and ``[PHONE]`` (:func:`redact_identifiers`);
* a person's name after an explicit marker (``Patient``, ``Pat.``, ``Mme``, ``M.``,
  ``Mr``, ``Mlle``, ``Madame``, ``Monsieur``, ``Nom``, ``né``/``née``, case aside,
  then ``:``, ``=`` or blanks) becomes ``[NAME]`` (:func:`redact_names`): one to four
  words each starting with a capital letter, each may be preceded by a lower-case
  particle (``de``, ``du``, ``des``, ``de la``, ``d'``, ``le``, ``la``, ``van``,
  ``von``...: ``Madame de la Tour``, ``M. de Gaulle``), a word naming an identifier
  (``NIR``, ``IPP``, ``tel``, ``mail``...) ending it;
* a date after a birth marker (``né le``, ``née [NAME] le``, ``né en``, ``DDN``,
  ``DOB``, ``date de naissance``, ``born``...) becomes ``[BIRTHDATE]``
  (:func:`redact_names` too); every other date (an event's) is evidence and stays;
* a known IPP or request number (:func:`replace_known`, for
  :class:`labforensics.privacy.Redactor`) becomes its keyed id wherever it stands as a
  token or as a whole run of digits, glued to letters or punctuation
  (``IPP0099887``, ``0099887-01``), a file name included;
* in event details, a run of 5 or more digits standing as a word of its own (the
  shape of an IPP in the LIS formats: digits, leading zeros significant) becomes the
  ``P`` id of (lab, digits) (:func:`redact_detail_numbers`), unless it is a count or
  a reference: followed by a unit (``17636 records``, ``lignes``, ``octets``...) or
  preceded by ``ticket``, ``nb``, ``total``, ``port``... A run inside a word, a path
  or a file name (``L01_export_20200901.csv``), a date or a time is not a word of
  its own: the file names that link extractions to transfers are kept.

File names: a digit run inside a file name is kept only when it is not a known IPP or
request number of the lab (privacy first): ``L01_export_20200901.csv`` stays and still
links to its transfer; ``export_0099887.csv``, named after a patient the evidence
reveals, becomes ``export_P….csv`` and no longer links to the transfer of that name.

Limits: a name written without a marker (``DUPONT Jean a appelé``), or in lower
case, stays; a number written with separators (``40 000 002``) is not one run; a
known IPP with letters (FHIR ``PAT-0001``) glued to a letter (``xPAT-0001``) stays.
The raw text stays in the evidence (its SHA-256 is in the manifest).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Mapping

from .leak.nir import NIR_SEPARATORS, normalise_nir

#: Prefix letters of the keyed ids: patient, request, NIR, dump row, unplaced value.
_PREFIXES = "PRNDU"
_ID = r"(?<!\w)[PRNDU][0-9a-f]{16}(?!\w)"  # a keyed id inside free text: kept as it is

# Every pattern is linear in the text's length: no nested quantifiers, and each
# alternative has a bounded length from a start position fixed by a look-behind.

# A match may start only where a run of local-part characters starts (the look-behind):
# without it, a long run with no "@" was rescanned from every position (quadratic: a
# 250 KB free-text field took minutes). Each run is now scanned once (linear).
#
# An address written to escape harvesters (QA session 13) is one too: "at" for "@" in
# brackets ("[at]", "(at)", "{at}") or between single spaces, "dot" likewise for ".".
# Each form starts with a character no local-part or domain run holds (a blank or a
# bracket), so the alternatives never compete for the same characters (still linear).
# " at " between plain words needs a domain ending in a dot and letters
# ("example.fr", not "10.1.0.2").
_AT = r"(?:[ \t]?@[ \t]?|[ \t]*[\[({](?i:at)[\])}][ \t]*)"
# the written-out dot (never "." itself in the local part, whose run holds dots: "." as
# an alternative there would nest two quantifiers over the same characters)
_WDOT = r"(?:[ \t]*[\[({](?i:dot)[\])}][ \t]*| (?i:dot) )"
_DOT = rf"(?:\.|{_WDOT})"
# The counts of written-out dots and of domain labels are bounded: "a [dot] a [dot] a
# ..." has a run start after each dot, and an unbounded chain would be rescanned from
# each (quadratic: 200,000 characters took two minutes). Bounded, a start scans at most
# 4 local and 10 domain runs, and a run is scanned from its own start only.
_LOCAL = rf"(?<![\w.+-])[\w.+-]+(?:{_WDOT}[\w.+-]+){{0,3}}"
_DOMAIN = rf"[\w-]+(?:{_DOT}[\w-]+){{1,9}}"
_EMAIL = re.compile(rf"{_LOCAL}{_AT}{_DOMAIN}|{_LOCAL} (?i:at) {_DOMAIN}(?<=[A-Za-z])(?![\w-])")
# At most one separator between two groups of a NIR: those of leak.nir, and in text a
# slash too ("NIR 1/61/05/75/123/456/85", QA session 13; normalise_nir keeps rejecting
# a slash, so a NIR column so written is not taken for one: :func:`nir_in_text` strips it)
_S = NIR_SEPARATORS[:-1] + "/]?"
# A phone number's groups: a slash is not one of them ("01/02/2020 12:34" is a date)
_PS = r"[\s.\-\u00a0\u202f]?"
# French phone numbers: 0X XX XX XX XX, +33 X XX XX XX XX, 0033 X ..., +33 (0)X ...,
# grouped with spaces, no-break spaces, dots or dashes, or not grouped.
# Grouped by slashes too ("01/23/45/67/89", session 14), as its own alternative: five
# groups of two digits, the first 0X, a slash between each and none before or after,
# so a date (three groups: "01/02/2020", "01/02/20") is never one. Bounded, anchored
# by the look-behind: linear.
_PHONE = re.compile(
    rf"(?<![\w+])(?:(?:\+|00)33{_PS}(?:\(0\){_PS})?[1-9]|0[1-9])(?:{_PS}\d{{2}}){{4}}(?!\d)"
    r"|(?<![\w+/])0[1-9](?:/\d{2}){4}(?!/?\d)"
)
# NIR: sex, year, month, then the place of birth (department 2 digits or 2A/2B +
# commune 3 digits, or an overseas department 97x/98x + commune 2 digits), order,
# key; plain or with one separator between groups. Bounded by non-digits only (not
# word boundaries): a NIR glued to letters (``x269049912345646y``) is still one. A
# keyed id already written (first alternative) is kept as it is, so its hex digits
# are never read as a NIR. The key is not part of the shape: for privacy (redaction,
# keying, withholding) every match is a NIR whatever its key (:func:`nir_compact`);
# the key's validity (labforensics.leak.nir) matters to the linkage only
# (:func:`nir_in_text`).
_NIR = re.compile(
    rf"{_ID}"
    rf"|(?<![0-9])[1-478]{_S}\d{{2}}{_S}\d{{2}}{_S}"
    rf"(?:(?:\d{{2}}|2[AaBb]){_S}\d{{3}}|9[78]\d{_S}\d{{2}})"
    rf"{_S}\d{{3}}{_S}\d{{2}}(?![0-9])"
)


def nir_key_is_valid(nir13: str, key: str) -> bool:
    """True when ``key`` is the INSEE control key of the 13 leading characters ``nir13``.

    Corsica departments ``2A`` and ``2B`` are read as 19 and 18 for the computation
    (see :func:`labforensics.leak.nir.is_valid_nir`, which this calls).
    """
    return normalise_nir(nir13 + key) is not None


def nir_in_text(text: str) -> str | None:
    """The compact NIR a :data:`_NIR` match holds (slashes allowed), or None (wrong key).

    The key's validity, for the uses that need it (the linkage); the privacy uses take
    every match whatever its key (:func:`nir_compact`).

    Parameters
    ----------
    text : str
        The matched text.

    Returns
    -------
    str or None
        As :func:`labforensics.leak.nir.normalise_nir`, once the slashes are dropped.
    """
    return normalise_nir(text.replace("/", ""))


_NIR_GLUE = re.compile(NIR_SEPARATORS[:-1] + "/]")


def nir_compact(text: str) -> str:
    """The 15 characters of a :data:`_NIR` match, whatever its key (the privacy uses).

    Parameters
    ----------
    text : str
        A match of :data:`_NIR` that is not a keyed id.

    Returns
    -------
    str
        ``text`` without its separators (those of
        :data:`labforensics.leak.nir.NIR_SEPARATORS` and slashes), ``2a``/``2b`` in
        upper case. For a NIR with a valid key this is :func:`nir_in_text`'s value, so
        its ``N`` id is unchanged; a NIR with a wrong key (a typo: its 13 digits still
        name the person) gets an id of its own.

    Examples
    --------
    >>> nir_compact("1 84 12 76 451 089 47")  # wrong key (46 is right)
    '184127645108947'
    >>> nir_compact("2/69/02/2a/005/012/47")
    '269022A00501247'
    """
    return _NIR_GLUE.sub("", text).upper()


def _nir_sub(m: re.Match[str]) -> str:
    text = m.group(0)
    return text if text[0] in _PREFIXES else "[NIR]"  # a keyed id stays


def redact_identifiers(text: str) -> str:
    """Replace NIRs (any key, any separators), e-mail addresses and phone numbers by tags.

    Parameters
    ----------
    text : str
        Free text (a detail, a quarantined line, a field-problem value).

    Returns
    -------
    str
        The text with ``[NIR]``, ``[EMAIL]``, ``[PHONE]`` in their place; a keyed id (a
        prefix letter + 16 hex digits) is left intact. Linear in the text's length.

    Notes
    -----
    A NIR is any run of :data:`_NIR`'s shape, whatever its INSEE key: a sex digit
    (1, 2, 3, 4, 7 or 8), two digits of year and two of month, the place of birth (a
    2-digit department or ``2A``/``2B`` and a 3-digit commune, or a ``97x``/``98x``
    department and a 2-digit commune), a 3-digit order number and a 2-digit key, with
    at most one separator between two groups and no digit either side. A NIR with a
    typo in its key still names the person by its 13 digits (privacy by default). The
    price: the month, department and commune digits are not checked, so any other
    15-digit number starting with one of those sex digits (an order or message
    number) is tagged ``[NIR]`` too.
    """
    if not text:
        return text
    text = _EMAIL.sub("[EMAIL]", text)
    text = _NIR.sub(_nir_sub, text)
    return _PHONE.sub("[PHONE]", text)


# --- names after a patient marker ----------------------------------------------------------

# A marker, as a word of its own (``patients`` is none), then ":" / "=" or blanks.
_MARKER = (
    r"(?<![\w.])(?i:patiente?|pat\.|mmes?\.?|mlle\.?|melle\.?|mr\.?|m\.|madame|monsieur"
    r"|nom(?: de naissance| d'usage| usuel)?|n[ée]e?)(?!\w)(?:[ \t]*[:=][ \t]*|[ \t]+)"
)
# A word that names an identifier or a field: it ends a name (``DUPONT Jean NIR ...``).
_STOP = (
    r"(?i:nir|nss|ins|ipp|ddn|dob|t[ée]l|t[ée]l[ée]phone|mail|e-?mail|n[ée]e?|dossier"
    r"|demande|num|id|vers|pour|par)(?![\w'’-])"
)
# A name word: a capital letter, then letters, digits, apostrophes and hyphens; never a
# keyed id, never the start of a path or file name (``L01_export.csv``).
_WORD = rf"(?!{_STOP})(?![PRNDU][0-9a-f]{{16}}(?!\w))[A-ZÀ-ÖØ-Þ][\w'’-]*(?![\w'’-]|[./\\:@]\w)"
# A lower-case particle before a name word: ``de``, ``du``, ``des``, ``de la``, ``d'``,
# ``le``, ``la``, ``van``, ``von``... (``Madame de la Tour``, ``M. de Gaulle``, ``Giscard
# d'Estaing``). Bounded (at most two words), and a name word must follow: ``né le
# 01/02/1960`` or ``patient de passage`` holds no name.
_PARTICLE = (
    r"(?:(?:de[ \t]+la|de[ \t]+l['’]|van[ \t]+de[nr]?|von[ \t]+der|van|von|de[nr]?|du|des|le|la"
    r"|les|del|della|di|da|dos|das|do|ben|bin|ibn|el|al|ter|ten|zu|y)(?:[ \t]+|(?<=['’]))"
    r"|d['’])"
)
_PWORD = rf"(?:{_PARTICLE})?{_WORD}"
_NAME = re.compile(rf"(?P<m>{_MARKER})(?P<n>{_PWORD}(?:[ \t]+{_PWORD}){{0,3}})")
# A birth date after a birth marker (``né le``, ``née le``, ``née [NAME] le`` (a birth
# name redacted first), ``né en``, ``DDN``, ``DOB``,
# ``date de naissance``, ``naissance``, ``born``, ``date of birth``, ``birth date``...):
# numeric (``01/02/1960``, ``1/2/60``, ``1960-02-01``, ``19600201``), a day, a month
# name and a year (``1er février 1960``, ``1 Feb 1960``), or a year alone after ``né
# en``/``born in``. Other dates (an event's) are evidence and stay.
_BIRTH_MARKER = (
    r"(?<!\w)(?i:n[ée]e?[ \t]+(?:\[NAME\][ \t]+)?(?:le|en)|ddn|dob|d\.o\.b\.?|naissance"
    r"|date[ \t]+de[ \t]+naissance|born(?:[ \t]+(?:on|in))?|date[ \t]+of[ \t]+birth"
    r"|birth[ \t]*date)"
    r"(?!\w)(?:[ \t]*[:=][ \t]*|[ \t]+)(?:(?i:le|on)[ \t]+)?"
)
_MONTH = (
    r"(?i:janv?\.?|janvier|f[ée]vr?\.?|f[ée]vrier|mars|avr\.?|avril|mai|juin|juil\.?|juillet"
    r"|ao[uû]t|sept?\.?|septembre|oct\.?|octobre|nov\.?|novembre|d[ée]c\.?|d[ée]cembre"
    r"|jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_BIRTH = re.compile(
    rf"(?P<m>{_BIRTH_MARKER})(?P<d>\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2}}(?:\d{{2}})?"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}|\d{{8}}|\d{{1,2}}(?i:er)?[ \t]+{_MONTH}[ \t]+\d{{4}}"
    rf"|\d{{4}})(?![\w/.-]\d|\w)"
)
#: An RE2 superset of the markers (pyarrow's ``match_substring_regex``): texts without
#: one are never scanned by :data:`_NAME` or :data:`_BIRTH`.
NAME_HINT = (
    r"(?i)\b(?:patiente?|pat\.|mmes?\.?|mlle\.?|melle\.?|mr\.?|m\.|madame|monsieur|nom"
    r"|n[ée]e?|ddn|dob|d\.o\.b|naissance|born|birth|birth ?date)[\s:=.]"
)


def _name_sub(m: re.Match[str]) -> str:
    return m.group("m") + "[NAME]"


def redact_names(text: str) -> str:
    """Replace the name after each patient marker by ``[NAME]``, a birth date by ``[BIRTHDATE]``.

    The markers stay. ``Patient DUPONT Jean NIR [NIR]`` -> ``Patient [NAME] NIR [NIR]``;
    ``Mme O'BRIEN-LEFÈVRE Zoë`` -> ``Mme [NAME]``; ``Madame de la Tour`` -> ``Madame
    [NAME]``; ``Patient DUPONT né le 01/02/1960`` -> ``Patient [NAME] né le
    [BIRTHDATE]``. A date after no birth marker (an event's) stays. Linear in the
    text's length.

    Parameters
    ----------
    text : str
        Free text (a detail, a quarantined line, a field-problem value).

    Returns
    -------
    str
        The text with the names and birth dates replaced.
    """
    if not text:
        return text
    return _BIRTH.sub(_birth_sub, _NAME.sub(_name_sub, text))


def _birth_sub(m: re.Match[str]) -> str:
    return m.group("m") + "[BIRTHDATE]"


# --- identifier-shaped numbers in event details ----------------------------------------------

# Words before a number that make it a count or a reference, not an identifier.
_BEFORE = r"(?<!\w)(?i:ticket|nb|nbre|nombre|total|count|volume|taille|size|port|pid|version)"
# Units after a number that make it a count.
_AFTER = (
    r"(?i:records?|enreg\w*|lignes?|lines?|rows?|r[ée]sultats?|results?|patients?|dossiers?"
    r"|demandes?|requests?|fichiers?|files?|octets?|bytes?|[kmgt]?o|[kmgt]i?b|analyses?"
    r"|examens?|entr[ée]es?|entries|[ée]l[ée]ments?|items?|comptes?|accounts?|pages?|ms"
    r"|s|sec|secondes?|seconds?|min|minutes?|jours?|days?|tubes?|pr[ée]l[èe]vements?)(?!\w)"
)
_RUN = re.compile(r"(?<![\w./\\@-])(?<!\d:)\d{5,}(?![\w/\\@]|[.,:-]\d|\.\w)")
_PRE = re.compile(rf"{_BEFORE}[ \t]*(?:#|n°|no\.?|[:=])?[ \t]*$")
_POST = re.compile(rf"[ \t]*{_AFTER}")


def redact_detail_numbers(text: str, make: Callable[[str], str]) -> str:
    """Replace each identifier-shaped run of digits of an event detail by ``make(run)``.

    ``make`` gives the keyed id (the caller's ``P`` id of (lab, digits), as
    :func:`labforensics.privacy.redact_digit_runs` gives in quarantined text). A run
    of 5 or more digits is taken when it is a word of its own (not inside a word, a
    path, a file name, a decimal or a time) and not a count or a reference (a unit
    after it, ``ticket``/``nb``/``total``... before it): see the module docstring.
    A keyed id already in the text is kept (a run inside it follows a letter or a digit).
    Linear in the text's length.
    """
    if not text:
        return text

    def sub(m: re.Match[str]) -> str:
        a, b = m.span()
        if _POST.match(text, b) or _PRE.search(text, max(a - 24, 0), a):
            return m.group(0)  # a count or a reference
        return make(m.group(0))

    return _RUN.sub(sub, text)


# --- IPPs and request numbers the evidence reveals ------------------------------------------

# Where a known value (an IPP or a request number of the lab) is looked for:
# 1. a token: a run of word characters and hyphens (``IPP 0099887``, ``PAT-0001``);
# inside a token that is not known and holds an underscore or a run of 3 digits glued to
# something else, then (a place taken by 2 is not looked into by 3):
# 2. a run of letters, digits and hyphens, ``_`` being a boundary (``ipp_PAT-0001``);
# 3. a whole run of digits, bounded by non-digits (``IPP0099887``, ``pat-0099887``,
#    ``0099887-01``, ``D0099887``, ``0099887x2``, ``export_0099887.csv``): the LIS IPPs
#    are digits, so a known IPP glued to letters or punctuation is still found; one with
#    letters (FHIR, ATNA: ``PAT-0001``) is found by 1 and 2 only, not glued to letters.
# Each is anchored by its look-behind and scans its run once: linear. A token's
# boundaries are boundaries for 2 and 3 too, so they are looked for in the token alone.
#: A token of free text where a known value is looked up (1 above).
KNOWN_TOKEN = re.compile(r"(?<![\w-])[\w-]{3,}(?![\w-])")
_INNER = (
    re.compile(r"(?<![^\W_])(?<!-)(?:[^\W_]|-){3,}(?![^\W_]|-)"),
    re.compile(r"(?<!\d)\d{3,}(?!\d)"),
)
# A token worth looking into: an underscore (2), or a run of 3 digits with something else
# (3); not a keyed id.
_MIXED = re.compile(r"(?![PRNDU][0-9a-f]{16}$).*?(?:_|\d{3}\D|\D\d{3})", re.S)
_KEYED = re.compile(_ID)


def inner_candidates(tokens: set[str]) -> set[str]:
    """``tokens`` (of :data:`KNOWN_TOKEN`) and every place looked up inside them.

    The letter-digit runs and whole digit runs of 3 or more characters inside the tokens
    that hold an underscore or a run of 3 digits glued to something else: with the tokens, every
    string :func:`replace_known` may look up (the caller keeps the known values among
    them). Linear in the tokens' total length.
    """
    out = set(tokens)
    for tok in tokens:
        if _MIXED.match(tok):
            for rx in _INNER:
                out.update(rx.findall(tok))
    return out


def known_candidates(text: str) -> set[str]:
    """Every string :func:`replace_known` may look up in ``text`` (see :func:`inner_candidates`)."""
    return inner_candidates(set(KNOWN_TOKEN.findall(text))) if text else set()


def _inside(tok: str, table: Mapping[str, str]) -> str | None:
    """``tok`` with the known values inside it replaced (2 and 3 above), or None if none."""
    taken = [(*m.span(), None) for m in _KEYED.finditer(tok)]  # sorted, disjoint
    hit = False
    for rx in _INNER:
        starts = [a for a, _, _ in taken]
        new = []
        for m in rx.finditer(tok):
            rep = table.get(m.group(0))
            if rep is None:
                continue
            a, b = m.span()
            i = bisect_left(starts, b) - 1  # the last place taken starting before b
            if i < 0 or taken[i][1] <= a:
                new.append((a, b, rep))
        if new:
            taken, hit = sorted(taken + new), True
    if not hit:
        return None
    out, prev = [], 0
    for a, b, rep in taken:
        if rep is not None:
            out += (tok[prev:a], rep)
            prev = b
    out.append(tok[prev:])
    return "".join(out)


def replace_known(text: str, table: Mapping[str, str]) -> str:
    """Replace each known value standing in ``text`` by its keyed id (``table[value]``).

    A value is looked up as a token, then inside a token as a run of letters, digits
    and hyphens, then as a whole run of digits (see above), all on the text as given: a
    keyed id already written, or one this call writes, is never looked into (a run of
    digits inside its hex digits is not an IPP). A file name is no exception: a known
    IPP in ``export_0099887.csv`` becomes its id (privacy first; the transfer of that
    file no longer links to its extraction by name), while the unknown digit runs of
    file names stay (:func:`redact_detail_numbers`). Linear in the text's length.

    Parameters
    ----------
    text : str
        The free text.
    table : mapping of str to str
        Known value -> its keyed id (``P`` or ``R`` + 16 hex digits).

    Returns
    -------
    str
        ``text`` with the known values replaced.
    """
    if not text or not table:
        return text
    out: list[str] = []
    prev = 0
    for m in KNOWN_TOKEN.finditer(text):
        tok = m.group(0)
        rep = table.get(tok)
        if rep is None:
            if not _MIXED.match(tok) or (rep := _inside(tok, table)) is None:
                continue
        out += (text[prev : m.start()], rep)
        prev = m.end()
    if not out:
        return text
    out.append(text[prev:])
    return "".join(out)
