"""Bytes to text the one way every reader does: each byte no encoding reads becomes
U+FFFD followed by its two hex digits (``h\\ufffdx81l``).

A bare U+FFFD (``errors="replace"``) makes two different byte strings one text, so two
logins, hosts or labs damaged differently would merge (QA, session 11); the escape is
fixed width, so distinct inputs stay distinct, and the U+FFFD still marks the damage for
a reader of the output. The positions of the U+FFFD are returned where the readers count
them (``replacement_chars``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["decode_escaped", "decode_escaped_counting"]

_FFFD = "\ufffd".encode()
_EMPTY = np.zeros(0, dtype=np.int64)


def _escape(bad: bytes | memoryview) -> bytes:
    """Undecodable bytes as U+FFFD, ``x`` and the byte's two hex digits, one per byte:
    fixed width, so two different byte strings never give the same text."""
    return b"".join(_FFFD + b"x%02x" % c for c in bytes(bad))


def decode_escaped(raw: bytes | memoryview, encoding: str = "utf-8") -> str:
    """``raw`` as text, each undecodable byte U+FFFD followed by its hex (``xNN``).

    The readers' one way of reading bytes no encoding reads (:func:`_escape`): fixed
    width, so two different byte strings never give the same text, where a bare U+FFFD
    (``errors="replace"``) made them one.

    Examples
    --------
    >>> decode_escaped(b"h\\x81l") == "h\\ufffdx81l"
    True
    """
    return _decode_counting(raw, encoding)[0].decode("utf-8")


def decode_escaped_counting(raw: bytes | memoryview, encoding: str) -> tuple[bytes, np.ndarray]:
    """:func:`decode_escaped` as UTF-8 bytes, with where each U+FFFD went.

    Parameters
    ----------
    raw : bytes or memoryview
    encoding : str

    Returns
    -------
    utf8 : bytes
        The text as UTF-8, each undecodable byte U+FFFD followed by its hex.
    where : numpy.ndarray
        int64 byte position in ``utf8`` of each escape's U+FFFD (one per undecodable
        byte), ascending.
    """
    return _decode_counting(raw, encoding)


def _decode_counting(raw: bytes | memoryview, encoding: str) -> tuple[bytes, np.ndarray]:
    """``raw`` decoded as UTF-8 (each undecodable byte U+FFFD and its hex), and where
    each U+FFFD went.

    The strict decode is tried first (the usual case, one C call); on failure the
    bytes are decoded piece by piece between the errors the strict decoder reports
    (the maximal invalid sequences ``errors="replace"`` replaces), each of their
    bytes escaped (:func:`_escape`).
    """
    try:
        return str(raw, encoding).encode("utf-8"), _EMPTY
    except UnicodeDecodeError:
        pass
    view = memoryview(raw)
    parts: list[bytes] = []
    where: list[int] = []
    pos, olen, n = 0, 0, len(view)
    while pos < n:  # one turn per undecodable sequence: rare
        try:
            good = str(view[pos:], encoding).encode("utf-8")
            parts.append(good)
            break
        except UnicodeDecodeError as e:
            good = str(view[pos : pos + e.start], encoding).encode("utf-8")
            end = pos + max(e.end, e.start + 1)  # e.start, e.end: within view[pos:]
            esc = _escape(view[pos + e.start : end])
            parts += [good, esc]
            olen += len(good)
            where += range(olen, olen + len(esc), 6)  # U+FFFD (3 bytes) + "xNN"
            olen += len(esc)
            pos = end
    return b"".join(parts), np.asarray(where, dtype=np.int64)
