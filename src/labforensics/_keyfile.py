"""Reading a case key file, with every failure named by its real cause.

A key file holds one line of hexadecimal digits (:meth:`labforensics.privacy.CaseKey.write`
writes 64). Reading one can fail because the path is missing, is not a regular file (a
folder, ``/dev/null``), cannot be read (permissions), is empty, or does not hold a key
(text that is not hexadecimal, too few digits). Each message says which, and never
quotes the file's content (it may be a key, or a patient list given by mistake).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import CaseKeyError

__all__ = ["key_file_problem", "read_key_file"]

#: Fewest hex digits of a key (16 bytes: :data:`labforensics.privacy._MIN_KEY_BYTES`).
MIN_HEX_DIGITS = 32
#: Largest file read as a key file; a key is one line of 64 digits.
_MAX_BYTES = 4096


def _kind(mode: int) -> str:
    """What a path that is not a regular file is, in words."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISSOCK, "a socket")):  # fmt: skip
        if test(mode):
            return name
    return "not a file"


def _read(p: Path) -> tuple[str | None, str | None]:
    """(text, None) or (None, the problem)."""
    try:
        st = p.stat()
    except FileNotFoundError:
        return None, f"case key file {p} not found"
    except OSError as exc:
        return None, f"case key file {p} cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(st.st_mode):
        return None, f"case key file {p} is not a regular file ({_kind(st.st_mode)})"
    try:
        with open(p, "rb") as fh:
            data = fh.read(_MAX_BYTES + 1)
    except OSError as exc:
        return None, f"case key file {p} cannot be read ({exc.strerror or exc})"
    if not data.strip():
        return None, f"case key file {p} is empty" + (" (blank)" if data else "")
    if len(data) > _MAX_BYTES:
        return None, (f"case key file {p} is not a key file: over {_MAX_BYTES} bytes "
                      "(a key file is one line of 64 hexadecimal digits)")  # fmt: skip
    text = data.decode("latin-1").strip()
    digits = "".join(text.split())
    if any(c not in "0123456789abcdefABCDEF" for c in digits) or len(digits) % 2:
        return None, (f"case key file {p} is not a key file: it holds text that is not "
                      "hexadecimal (a key file is one line of 64 hexadecimal digits)")  # fmt: skip
    if len(digits) < MIN_HEX_DIGITS:
        return None, (f"case key file {p} is not a key file: {len(digits)} hexadecimal "
                      f"digits, fewer than the {MIN_HEX_DIGITS} a key needs")  # fmt: skip
    return text, None


def key_file_problem(path: str | os.PathLike[str]) -> str | None:
    """What is wrong with the key file ``path``, or None when it holds a key.

    Parameters
    ----------
    path : str or path-like
        The key file.

    Returns
    -------
    str or None
        One of: ``case key file PATH not found``; ``... is not a regular file (a folder)``
        (or a character device such as ``/dev/null``, a named pipe ...); ``... cannot be
        read (Permission denied)``; ``... is empty``; ``... is not a key file: ...``
        (not hexadecimal, too few digits, too large). The file's content is never quoted.
    """
    return _read(Path(path))[1]


def read_key_file(path: str | os.PathLike[str]) -> str:
    """The hexadecimal text of the key file ``path``.

    Parameters
    ----------
    path : str or path-like
        The key file.

    Returns
    -------
    str
        The key's hex digits, surrounding blanks removed.

    Raises
    ------
    CaseKeyError
        With the message of :func:`key_file_problem` when the file does not hold a key.
    """
    text, problem = _read(Path(path))
    if problem is not None or text is None:
        raise CaseKeyError(problem or f"case key file {path} cannot be read")
    return text
