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

__all__ = ["head_problem"]

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
