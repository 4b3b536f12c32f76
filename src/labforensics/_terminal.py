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

import unicodedata

__all__ = ["OUTPUT_KEEP", "json_visible", "visible", "visible_value"]

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
