"""Why a file no reader took is not a log: empty after its BOM, or binary (QA 13).

A file of only a byte-order mark was reported as "no reader recognises the header:
first bytes ''" beside a 0-byte file's "empty file"; a file of random bytes named
like an audit file as "no reader recognises the header" with its bytes shown. Both
are left out of the reading like any file no reader recognises (listed under
``unrecognised`` in ``ingest_report.json``, counted in no row total); the reason now
says what they are, with the words and the rule of :mod:`labforensics.preflight`
(more than ``max(8, n / 1000)`` control characters in ``n`` bytes: binary).
"""

from __future__ import annotations

import re

__all__ = ["MASK_NOTE", "head_problem", "head_shape"]

#: Said after the first bytes of a file no reader took: what was masked.
MASK_NOTE = "(each run of letters shown as x, of digits as 9)"
_LETTERS = re.compile(r"[^\W\d_]+")
_DIGITS = re.compile(r"\d+")


def head_shape(head: bytes) -> str:
    """The shape of a file's first bytes, never its content (an unknown file may list
    people: fresh-eyes QA, session 22, a name and a birth date were printed).

    Decoded as UTF-8 (undecodable bytes kept as surrogate escapes), a leading BOM
    dropped, each run of letters shown as ``x`` and of digits as ``9`` (:data:`MASK_NOTE`);
    control characters are left for the caller to escape.

    Examples
    --------
    >>> head_shape(b"185077505612323;DUPONT;Jean;1985-07-01")
    '9;x;x;9-9-9'
    """
    text = head.decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    return _DIGITS.sub("9", _LETTERS.sub("x", text))


_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_TEXT_CONTROLS = frozenset(b"\t\r\n\f\v")


def head_problem(head: bytes) -> str | None:
    """The reason a file whose first bytes are ``head`` is no text log, or None.

    Parameters
    ----------
    head : bytes
        The file's first (decompressed) bytes, not empty.

    Returns
    -------
    str or None
        ``"empty file (only a byte-order mark)"``, ``"binary (N control characters in
        its first M bytes)"`` (the caller adds the first bytes, as escapes), or None.
    """
    for bom in (_UTF8_BOM, *_UTF16_BOMS):
        if head.startswith(bom) and not head[len(bom) :]:
            return "empty file (only a byte-order mark)"
    if head.startswith(_UTF16_BOMS):  # UTF-16 text holds NUL bytes: not binary
        return None
    ctrl = sum(1 for b in head if b < 0x20 and b not in _TEXT_CONTROLS)
    if ctrl > max(8, len(head) // 1000):
        return f"binary ({ctrl:,} control characters in its first {len(head):,} bytes)"
    return None
