"""A text file that ends inside a character: cut short, like a last line without its end.

A writer never ends a file in the middle of a multi-byte character: a file whose last
bytes are the start of a UTF-8 sequence without the rest (``é`` is C3 A9: a file
ending in C3), or a UTF-16 code unit or surrogate pair without the rest, was cut
(a copy stopped, a disk filled). The readers read the bytes that are there (escaped
as every undecodable byte, :mod:`._bytes_text`) and the file is listed as truncated,
with the reason (QA session 12: such a file was read whole and not listed in the
ingest report's ``truncated_files``).

Only the end of the file is looked at, and only when it has no line end: an invalid
byte elsewhere is damage, not a cut (it is counted and named as undecodable). A file
read in a single-byte encoding (cp1252) is not looked at: there every byte is a
character (``é`` is E9, which is also a UTF-8 lead byte).
"""

from __future__ import annotations

import numpy as np

__all__ = ["cut_char_note"]

#: The bytes a UTF-16 damage escape takes in the converted UTF-8 (U+FFFD, ``x``, 2 hex).
_ESCAPE_LEN = 6


def _utf8_tail_cut(data: bytes) -> bool:
    """Whether ``data`` ends with an incomplete UTF-8 sequence after valid UTF-8."""
    tail = data[-3:]
    for k in range(1, len(tail) + 1):
        b = tail[-k]
        if 0x80 <= b <= 0xBF:  # a continuation byte: its lead is further back
            continue
        need = 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 0
        if not need or k >= need:
            return False
        try:  # the lead and what follows are a valid start (no overlong form, no surrogate)
            data[-k:].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data":
                return False
        try:  # and the rest is UTF-8: the file is UTF-8 text cut inside a character
            data[:-k].decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    return False


def cut_char_note(data: bytes, utf16: np.ndarray | None = None) -> str:
    """Why a file's text is cut inside a character at its end, or ``""``.

    Parameters
    ----------
    data : bytes
        The file's bytes as the readers get them (decompressed; UTF-16 text already
        converted to UTF-8, :func:`labforensics.ingest.files.read_bytes`).
    utf16 : numpy.ndarray, optional
        For UTF-16 text, the positions in ``data`` of the U+FFFD escapes of its
        undecodable bytes (:attr:`labforensics.ingest.files.Decompressed.utf16`).

    Returns
    -------
    str
        ``""`` when the file ends with a line end or a whole character; else
        ``"last line N cut inside a UTF-8 character"`` (or UTF-16), ``N`` the file's
        last physical line.
    """
    if not data or data[-1:] in (b"\n", b"\r"):
        return ""
    if utf16 is not None:
        w = np.asarray(utf16, dtype=np.int64)
        if not len(w) or int(w[-1]) + _ESCAPE_LEN != len(data):
            return ""
        enc = "UTF-16"
    elif _utf8_tail_cut(data):
        enc = "UTF-8"
    else:
        return ""
    n = data.count(b"\n") + 1
    return f"last line {n:,} cut inside a {enc} character (the file ends mid-character)"
