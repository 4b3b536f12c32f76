"""Text from the evidence made safe for a terminal (QA session 9, item 1).

An account, a lab code, a file name or a file's first bytes can hold control
characters: an escape sequence (``ESC [ 2 J`` clears the screen, ``ESC ] ...``
retitles the window or forges a hyperlink), a carriage return that overwrites
the line, a bell, a right-to-left override that reverses what follows. Printed
raw, they act on the responder's terminal instead of being read. Every line the
command prints (the summary, warnings, errors, progress-bar postfixes) goes
through :func:`visible`, which writes such characters as escapes that can be
read (``\\x1b``, ``\\u202e``): the text is shown, never obeyed.

The files the tool writes for a reader show evidence the same way (QA session 10,
item 2: ``cat sources.csv`` cleared the screen): every CSV
(:func:`labforensics.outputs.write_csv`) and every value the HTML report prints
(:func:`labforensics.report.html.render_report`'s ``finalize``) go through
:func:`visible_value`, which keeps the tab and the line feed (structure a CSV
quotes and HTML folds into a blank) and escapes every other such character.
Parquet outputs keep the values as analysed.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "IDENTITY_COLUMNS",
    "OUTPUT_KEEP",
    "identity_visible",
    "json_visible",
    "mixed_script_visible",
    "text_visible",
    "visible",
    "visible_value",
]

#: Unicode categories written as escapes: controls (C0, DEL, C1), format
#: characters (bidirectional overrides, zero-width, BOM), line and paragraph
#: separators, surrogates (bytes kept by ``surrogateescape``).
ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _escape(c: str) -> str:
    o = ord(c)
    if o < 0x100:
        return f"\\x{o:02x}"
    if 0xDC80 <= o <= 0xDCFF:  # an undecodable byte kept by surrogateescape: the byte
        return f"\\x{o - 0xDC00:02x}"
    return f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}"


def visible(text: object, *, keep: str = "\n\t") -> str:
    """``text`` with its control characters written as visible escapes.

    Parameters
    ----------
    text : object
        What is to be printed (``str()`` of it is taken).
    keep : str, default ``"\\n\\t"``
        Control characters left as they are because they are structural (the
        lines of a multi-line summary). Pass ``""`` for a piece of evidence set
        inside one line (an account, a lab code): a newline in it is then
        written ``\\x0a`` and cannot forge a line of its own.

    Returns
    -------
    str
        The text, where every character of category Cc (C0 controls, DEL, C1
        controls: ``ESC`` as ``\\x1b``, carriage return as ``\\x0d``), Cf
        (``U+202E`` right-to-left override as ``\\u202e``, zero-width spaces),
        Zl, Zp or Cs (a byte kept by ``surrogateescape`` as ``\\xNN``) not in
        ``keep`` is replaced by its escape; every other character unchanged,
        backslashes included (``CORP\\jdoe`` stays readable). Idempotent: the
        result holds no escaped character, so a second pass changes nothing.
    """
    s = str(text)
    if s.isprintable():  # the common case: nothing to escape
        return s
    return "".join(
        _escape(c) if c not in keep and unicodedata.category(c) in ESCAPED_CATEGORIES else c
        for c in s
    )


#: Control characters kept as they are in the files written for a reader (CSV cells,
#: the HTML report): the tab (a CSV cell starting with one is neutralised with ``'``)
#: and the line feed (inside a quoted CSV cell, a line break of the value; in HTML,
#: a blank). A carriage return, which sends a terminal back to the line's start, is
#: escaped.
OUTPUT_KEEP = "\t\n"


def visible_value(value: object, *, keep: str = OUTPUT_KEEP) -> object:
    """A value written in an output file, its control characters as visible escapes.

    The one rule of the CSV writer and of the HTML report (the report's
    ``finalize``): the same text reads the same in both.

    Parameters
    ----------
    value : object
        A cell or a printed value. Only strings (``str`` and its subclasses, such as
        :class:`markupsafe.Markup`) are changed.
    keep : str, default :data:`OUTPUT_KEEP`
        Control characters left as they are.

    Returns
    -------
    object
        A string passed through :func:`visible` (``"evil\\x1b[31m"`` for
        ``"evil\x1b[31m"``, ``"\\u202e"`` for a right-to-left override), of the same
        type as ``value`` (a ``Markup`` stays ``Markup``: the escapes hold no ``<``,
        ``&`` or quote); every other value unchanged. A printable string is returned
        as it is (the same object).
    """
    if not isinstance(value, str) or value.isprintable():
        return value
    shown = visible(value, keep=keep)
    if shown == value:
        return value
    return shown if type(value) is str else type(value)(shown)


def _json_escape(c: str) -> str:
    o = ord(c)
    if o > 0xFFFF:  # a UTF-16 surrogate pair, as JSON writes it
        o -= 0x10000
        return f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}"
    return f"\\u{o:04x}"


def json_visible(text: str) -> str:
    """JSON text with the characters :func:`visible` escapes written as JSON escapes.

    A control, format (a right-to-left override ``U+202E``, a zero-width space),
    line or paragraph separator or surrogate character inside a JSON string is
    written ``\\u202e``: ``json.loads`` gives the same value, and ``cat`` or a
    viewer shows the escape instead of obeying the character (QA session 11: a login
    ``adm\\u202egnp.exe`` showed as ``admexe.png`` in ``findings.json``). Outside
    strings JSON holds only ASCII structure and white space, untouched; a text with
    none of these characters is returned as it is (the same bytes).

    Parameters
    ----------
    text : str
        What :func:`json.dumps` wrote (``ensure_ascii=False``).

    Returns
    -------
    str
    """
    lines = text.split("\n")
    if all(line.isprintable() for line in lines):  # the common case, at C speed
        return text
    return "\n".join(
        line
        if line.isprintable()
        else "".join(
            _json_escape(c) if unicodedata.category(c) in ESCAPED_CATEGORIES else c for c in line
        )
        for line in lines
    )


#: Columns holding an identity read from the evidence (an account, a host, an address):
#: written by :func:`identity_visible` in the CSVs and the report's tables.
IDENTITY_COLUMNS = frozenset({"account", "accounts", "user", "login", "host", "workstation",
                              "remote_host", "src_ip", "client", "accounts_succeeded",
                              "leading_account", "account_as_logged",
                              "accounts_succeeded_as_logged", "src_ip_as_logged"})  # fmt: skip

#: Letters of these Unicode name prefixes count as one script (a Japanese name mixes them).
_SAME_SCRIPT = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK"}


def _script(c: str) -> str | None:
    """A letter's script, the first word of its Unicode name (``LATIN``, ``CYRILLIC``,
    ``GREEK``, ``FULLWIDTH``, ``MATHEMATICAL`` ...); None for what is not a letter."""
    if c.isascii():
        return "LATIN" if c.isalpha() else None
    if not unicodedata.category(c).startswith("L"):
        return None
    word = unicodedata.name(c, "").split(" ", 1)[0]
    return _SAME_SCRIPT.get(word, word) or None


def _mark_token(token: str) -> str:
    scripts = [_script(c) for c in token]
    counts: dict[str, int] = {}
    for sc in scripts:
        if sc is not None:
            counts[sc] = counts.get(sc, 0) + 1
    if len(counts) < 2:
        return token
    # the value's main script: the most letters, Latin on a tie
    main = max(counts, key=lambda k: (counts[k], k == "LATIN", k))
    return "".join(
        _escape(c) if sc is not None and sc != main else c
        for c, sc in zip(token, scripts, strict=True)
    )


#: A character past Latin Extended-B: only then can a text mix scripts (the Latin-1 and
#: Latin Extended letters are Latin; its ordinal indicators and micro sign count as none).
_BEYOND_LATIN = re.compile("[^\x00-\u024f]")


def mixed_script_visible(text: str) -> str:
    """``text`` with, in each word mixing scripts, the letters not of its main script as
    escapes: ``tech.\\u0430`` for ``tech.а`` (a Cyrillic ``а``), which would read
    ``tech.a`` (QA session 11).

    A word is a run without white space; its main script is the one most of its letters
    are written in (Latin on a tie). Accented Latin letters are Latin (``hélène.m``
    unchanged); a word in one script (``иванов``) is unchanged; digits and punctuation
    belong to no script. Letters count by the first word of their Unicode name, so a
    fullwidth ``ａ`` or a mathematical ``𝐚`` in a Latin word is escaped too.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        ``text`` itself (the same object) when every character is ASCII or no word
        mixes scripts.
    """
    if text.isascii() or not _BEYOND_LATIN.search(text):
        return text  # Latin letters (accented: hélène), digits, signs: one script
    parts = text.split(" ")
    marked = [_mark_token(t) if not t.isascii() else t for t in parts]
    return text if marked == parts else " ".join(marked)


def identity_visible(value: object) -> object:
    """An identity read from the evidence (an account, a host) as a reader can tell it
    from its look-alikes (QA session 11: ``tech.a``, ``tech.а`` with a Cyrillic ``а``,
    ``tech.a`` with a no-break space and ``tech.a `` all printed ``tech.a``).

    Beyond :func:`visible_value` (controls, bidi and zero-width characters): every space
    other than the ASCII one (no-break ``\\u00a0``, thin, ideographic ...) and a space
    at the start or end (``\\x20``) as escapes, and the letters of another script in a
    word mixing scripts (:func:`mixed_script_visible`).

    Parameters
    ----------
    value : object
        Only strings are changed (a ``str`` subclass keeps its type).

    Returns
    -------
    object
        The value with those characters as escapes; an ASCII value without a leading
        or trailing space is returned as it is.
    """
    if not isinstance(value, str):
        return value
    v = value
    if v.isascii() and v.isprintable() and not (v[:1] == " " or v[-1:] == " "):
        return value
    v = str(text_visible(v))
    core = v.strip(" ")
    if core != v:
        lead = len(v) - len(v.lstrip(" "))
        trail = len(v) - len(v.rstrip(" "))
        v = "\\x20" * lead + core + "\\x20" * trail if core else "\\x20" * len(v)
    if v == value:
        return value
    return v if type(value) is str else type(value)(v)


def text_visible(value: object) -> object:
    """A value written for a reader (a CSV cell, a value the report prints): controls
    and bidi characters as escapes (:func:`visible_value`), then every space other than
    U+0020 (``\\xa0``) and, in a word mixing scripts, the letters not of its main
    script (``tech.\\u0430``: :func:`mixed_script_visible`).

    Parameters
    ----------
    value : object
        Only strings change (a ``str`` subclass such as ``Markup`` keeps its type: the
        escapes hold no ``<``, ``&`` or quote).

    Returns
    -------
    object
        The value; an ASCII printable string unchanged (the same object).
    """
    value = visible_value(value)
    if not isinstance(value, str) or value.isascii():
        return value
    v = value
    if not v.isprintable():  # a space other than U+0020 is not printable
        v = "".join(_escape(c) if c != " " and unicodedata.category(c) == "Zs" else c for c in v)
    v = mixed_script_visible(v)
    if v == value:
        return value
    return v if type(value) is str else type(value)(v)
