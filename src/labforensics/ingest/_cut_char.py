"""A text file that ends inside a character: cut short, like a last line without its end.

A writer never ends a file in the middle of a multi-byte character: a file whose last
bytes are the start of a UTF-8 sequence without the rest (``é`` is C3 A9: a file
ending in C3), or a UTF-16 code unit or surrogate pair without the rest, was cut
(a copy stopped, a disk filled). The readers read the bytes that are there (escaped
as every undecodable byte, :mod:`._bytes_text`) and the file is listed as truncated,
with the reason (QA session 12: such a file was read whole and not listed in the
ingest report's ``truncated_files``).

Only the end of the file is looked at, and only when it has no line end: an invalid
byte elsewhere is damage, not a cut (it is counted and named as undecodable). In a file
read in a single-byte encoding (cp1252) every byte is a character (``é`` is E9, which is
also a UTF-8 lead byte, ``Ã`` is C3): only a last line written in UTF-8 (a mixed file,
whose UTF-8 lines are read as UTF-8) is looked at, that is one whose bytes before the
cut tail are UTF-8 holding at least one multi-byte character. An ASCII last line ending
in C3 is read as ``Ã`` (it cannot be told from a cut).

Whatever reader reads the file, the cut last line is a partial record, never an event:
it is quarantined with :data:`CUT_INSIDE_CHAR` (or :data:`CUT_AFTER_GZIP` after a gzip
cut), the LIS CSV reader's reasons, used by the line readers too (regex profiles,
syslog).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CUT_AFTER_GZIP",
    "CUT_INSIDE_CHAR",
    "cut_char_note",
    "partial_last_line_reason",
    "partial_reason_of_note",
]

#: Why a file's last line, cut inside a character, is quarantined.
CUT_INSIDE_CHAR = "record cut short: partial last line ending inside a character (no line end)"
#: Why a file's last line after a gzip cut (no line end) is quarantined.
CUT_AFTER_GZIP = "record cut short: partial last line after the gzip cut (no line end)"

#: How :func:`cut_char_note` ends.
_CUT_END = "(the file ends mid-character)"
#: The bytes a UTF-16 damage escape takes in the converted UTF-8 (U+FFFD, ``x``, 2 hex).
_ESCAPE_LEN = 6


def _utf8_tail_cut(data: bytes) -> int:
    """The length of the incomplete UTF-8 sequence ``data`` ends with after valid UTF-8,
    or 0."""
    tail = data[-3:]
    for k in range(1, len(tail) + 1):
        b = tail[-k]
        if 0x80 <= b <= 0xBF:  # a continuation byte: its lead is further back
            continue
        need = 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 0
        if not need or k >= need:
            return 0
        try:  # the lead and what follows are a valid start (no overlong form, no surrogate)
            data[-k:].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data":
                return 0
        try:  # and the rest is UTF-8: the file is UTF-8 text cut inside a character
            data[:-k].decode("utf-8")
        except UnicodeDecodeError:
            return 0
        return k
    return 0


def _utf8_last_line_cut(data: bytes) -> bool:
    """Whether the last line of a single-byte file is UTF-8 text cut inside a character:
    its bytes before the cut are UTF-8 holding a multi-byte character."""
    last = data[data.rfind(b"\n") + 1 :]
    k = _utf8_tail_cut(last)
    return bool(k) and any(b >= 0x80 for b in last[:-k])


def cut_char_note(
    data: bytes, utf16: np.ndarray | None = None, *, single_byte: bool = False
) -> str:
    """Why a file's text is cut inside a character at its end, or ``""``.

    Parameters
    ----------
    data : bytes
        The file's bytes as the readers get them (decompressed; UTF-16 text already
        converted to UTF-8, :func:`labforensics.ingest.files.read_bytes`).
    utf16 : numpy.ndarray, optional
        For UTF-16 text, the positions in ``data`` of the U+FFFD escapes of its
        undecodable bytes (:attr:`labforensics.ingest.files.Decompressed.utf16`).
    single_byte : bool, default False
        The file is read in a single-byte encoding (cp1252): only a last line written
        in UTF-8 is looked at (see the module docstring).

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
    elif _utf8_last_line_cut(data) if single_byte else _utf8_tail_cut(data):
        enc = "UTF-8"
    else:
        return ""
    n = data.count(b"\n") + 1
    return f"last line {n:,} cut inside a {enc} character {_CUT_END}"


def partial_last_line_reason(gzip_cut: bool, char_cut: bool) -> str:
    """The quarantine reason of a file's last line without its line end, or ``""``.

    Parameters
    ----------
    gzip_cut : bool
        The file's gzip stream was cut short.
    char_cut : bool
        The file ends inside a character (:func:`cut_char_note` is not ``""``).

    Returns
    -------
    str
        :data:`CUT_AFTER_GZIP` (the gzip cut explains the end), :data:`CUT_INSIDE_CHAR`,
        or ``""`` when the file was not cut (a last line without its end is a line).
    """
    return CUT_AFTER_GZIP if gzip_cut else CUT_INSIDE_CHAR if char_cut else ""


def partial_reason_of_note(truncated: bool, note: str) -> str:
    """:func:`partial_last_line_reason` of a file read by
    :func:`labforensics.ingest._common.read_bytes` (its truncation flag and note: a
    character cut's note is :func:`cut_char_note`'s, only looked for without a gzip cut).

    Parameters
    ----------
    truncated : bool
    note : str

    Returns
    -------
    str
    """
    if not truncated:
        return ""
    char_cut = note.endswith(_CUT_END)
    return partial_last_line_reason(not char_cut, char_cut)
