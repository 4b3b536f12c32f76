"""Which profile reads a file: on its first line (a CSV header, a regex pattern), else its name.

The per-file choice among the profiles given to :func:`labforensics.ingest.read_evidence`,
and the words of the report when none takes a file.
"""

from __future__ import annotations

import re

from .profiles import Profile

__all__ = ["choose_profile", "no_profile_reason", "sniff_profile"]

_BOM = b"\xef\xbb\xbf"


def sniff_profile(profile: Profile, head: bytes) -> bool:
    """True when the first line of ``head`` is exactly the profile's header."""
    if head.startswith(_BOM):
        head = head[3:]
    if b"\n" not in head and b"\r" in head:  # old Mac line ends: CR only
        return head.split(b"\r", 1)[0] == profile.header_bytes()
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    return first == profile.header_bytes()


def _first_line(head: bytes, encoding: str) -> str | None:
    """The first non-blank line of ``head`` decoded (BOM and line end dropped)."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    sep = b"\n" if b"\n" in head or b"\r" not in head else b"\r"
    for raw in head.split(sep)[:64]:
        line = raw.rstrip(b"\r")
        if line.strip():
            return line.decode(encoding if encoding != "utf-8-sig" else "utf-8", "replace")
    return None


def choose_profile(profiles: tuple[Profile, ...], head: bytes, name: str) -> Profile | None:
    """The profile that reads a file, chosen on its first bytes and its name.

    Parameters
    ----------
    profiles : tuple of Profile
        In the user's order.
    head : bytes
        The file's first decompressed bytes (up to 64 KiB).
    name : str
        The file's name (not its folder).

    Returns
    -------
    Profile or None
        The first profile recognising the file by content (a CSV header equal to
        the first line; a regex pattern matching the first non-blank line), else the
        first whose ``file_pattern`` matches ``name``; None when none does.
    """
    for p in profiles:
        if p.kind == "csv" and p.has_header:
            if sniff_profile(p, head):
                return p
        elif p.kind == "regex":
            line = _first_line(head, p.encoding)
            if line is not None and re.fullmatch(p.pattern or "", line):
                return p
    for p in profiles:
        if p.file_pattern and re.search(p.file_pattern, name):
            return p
    return None


def no_profile_reason(profiles: tuple[Profile, ...], head: bytes) -> str:
    """Why no profile of ``profiles`` took a file (the caller redacts the text)."""
    line = _first_line(head, "utf-8")
    shown = "" if line is None else line[:60]
    shown = "".join(c if c.isprintable() else "." for c in shown)
    names = ", ".join(p.name for p in profiles)
    return (
        f"matches no profile ({names}) and no reader recognises it: first line "
        f"'{shown}' is no profile's header or pattern, and the file name matches no "
        "file_pattern"
    )
