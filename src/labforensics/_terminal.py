"""Text from the evidence made safe for a terminal (QA session 9, item 1).

An account, a lab code, a file name or a file's first bytes can hold control
characters: an escape sequence (``ESC [ 2 J`` clears the screen, ``ESC ] ...``
retitles the window or forges a hyperlink), a carriage return that overwrites
the line, a bell, a right-to-left override that reverses what follows. Printed
raw, they act on the responder's terminal instead of being read. Every line the
command prints (the summary, warnings, errors, progress-bar postfixes) goes
through :func:`visible`, which writes such characters as escapes that can be
read (``\\x1b``, ``\\u202e``): the text is shown, never obeyed.
"""

from __future__ import annotations

import unicodedata

__all__ = ["visible"]

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
