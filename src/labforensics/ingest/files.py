"""Evidence paths and bytes: expansion of folders and globs, gzip by magic bytes.

Files are opened read-only through :func:`labforensics.custody.open_evidence`.
Compressed evidence is recognised by the gzip magic bytes (``1f 8b``), never by
the file name, and decompressed with a streaming :func:`zlib.decompressobj`
(``wbits = 16 + MAX_WBITS``) fed in 64 KiB blocks, so that:

* a member cut short (a copy interrupted, a disk full) gives back every byte
  before the cut, and the file is marked truncated (``gzip.open`` and pandas
  raise ``EOFError`` and give nothing);
* a corrupt block gives back every byte decompressed before it;
* several members one after the other (``cat a.gz b.gz``, RFC 1952 section 2.2)
  are all read.

References
----------
RFC 1952 (gzip file format), section 2.2 (members) and 2.3.1 (magic bytes).
"""

from __future__ import annotations

import contextvars
import glob
import hashlib
import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..custody import open_evidence
from ..errors import EvidenceError

__all__ = [
    "GZIP_MAGIC",
    "Decompressed",
    "common_root",
    "custody_log",
    "expand_paths",
    "is_gzip",
    "read_bytes",
    "read_head",
    "relative_name",
    "unrecognised_reason",
]

GZIP_MAGIC = b"\x1f\x8b"
_BLOCK = 1 << 16
_GLOB_CHARS = set("*?[")

#: SHA-256 and size of the files :func:`read_bytes` read, in the current :func:`custody_log`.
_CUSTODY: contextvars.ContextVar[dict[str, tuple[str, int]] | None] = contextvars.ContextVar(
    "labforensics_custody", default=None
)


@contextmanager
def custody_log() -> Iterator[dict[str, tuple[str, int]]]:
    """Record the SHA-256 and size of every file :func:`read_bytes` reads in this block.

    The hash is taken on the very bytes the reader then parses (one read, no
    second opening): what the manifest states is what was analysed, even if the
    file changed on disk meanwhile. The log is local to the thread (a context
    variable), so pooled workers each keep their own.

    Yields
    ------
    dict
        ``os.fspath(path)`` (as given to :func:`read_bytes`) -> ``(sha256 hex, size in
        bytes)`` of the file as stored (compressed bytes for gzip).

    Raises
    ------
    EvidenceError
        From :func:`read_bytes`, when one file is read twice in the block and its
        bytes differ (it changed while being read).
    """
    log: dict[str, tuple[str, int]] = {}
    token = _CUSTODY.set(log)
    try:
        yield log
    finally:
        _CUSTODY.reset(token)


def _record_custody(path: str | os.PathLike[str], raw: bytes) -> None:
    log = _CUSTODY.get()
    if log is None:
        return
    key = os.fspath(path)
    entry = (hashlib.sha256(raw).hexdigest(), len(raw))  # releases the GIL on large data
    old = log.setdefault(key, entry)
    if old != entry:
        raise EvidenceError(
            f"evidence file {key} changed while being read (SHA-256 {old[0]} then "
            f"{entry[0]}): copy the evidence to a read-only place and read it again"
        )


@dataclass(frozen=True)
class Decompressed:
    """The bytes of one evidence file, decompressed when it was gzip.

    Attributes
    ----------
    data : bytes
        Decompressed content (the file's own bytes when not compressed).
    compressed : bool
        The file started with the gzip magic bytes.
    truncated : bool
        A gzip member was cut short or corrupt: ``data`` holds what came before.
    note : str
        What was wrong, in words (empty when nothing was).
    members : int
        Complete gzip members read.
    """

    data: bytes
    compressed: bool = False
    truncated: bool = False
    note: str = ""
    members: int = 0


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with the gzip magic bytes ``1f 8b``."""
    with open_evidence(path) as fh:
        return fh.read(2) == GZIP_MAGIC


def _gunzip(raw: bytes, limit: int | None = None) -> Decompressed:
    out: list[bytes] = []
    produced = 0
    members = 0
    pos = 0
    n = len(raw)
    view = memoryview(raw)
    while pos < n:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        start = pos
        try:
            while pos < n and not d.eof:
                block = view[pos : pos + _BLOCK]
                chunk = d.decompress(block)
                out.append(chunk)
                produced += len(chunk)
                if d.eof:
                    pos = pos + len(block) - len(d.unused_data)
                else:
                    pos += len(block)
                if limit is not None and produced >= limit:
                    return Decompressed(b"".join(out), True, False, "", members)
        except zlib.error as exc:
            return Decompressed(
                b"".join(out),
                True,
                True,
                f"gzip member {members + 1} corrupt at compressed byte {start}+: {exc}; "
                f"{produced} bytes recovered before it",
                members,
            )
        if not d.eof:
            try:
                tail = d.flush()
            except zlib.error:
                tail = b""
            out.append(tail)
            produced += len(tail)
            return Decompressed(
                b"".join(out),
                True,
                True,
                f"gzip member {members + 1} cut short after {n - start} compressed bytes; "
                f"{produced} bytes recovered",
                members,
            )
        members += 1
        rest = view[pos:]
        if len(rest) == 0 or bytes(rest).strip(b"\x00") == b"":
            break
        if bytes(rest[:2]) != GZIP_MAGIC:
            return Decompressed(
                b"".join(out),
                True,
                False,
                f"{len(rest)} bytes of non-gzip data after member {members} ignored",
                members,
            )
    return Decompressed(b"".join(out), True, False, "", members)


def read_bytes(path: str | os.PathLike[str]) -> Decompressed:
    """Read a whole evidence file, decompressing gzip (detected by magic bytes).

    Parameters
    ----------
    path : path-like
        Evidence file, opened read-only.

    Returns
    -------
    Decompressed
        Never raises on a damaged gzip: what could be recovered, flagged truncated.

    Raises
    ------
    EvidenceError
        When the file cannot be opened or read, or (inside a :func:`custody_log`)
        when it was read before in the block with other bytes.

    Notes
    -----
    Inside a :func:`custody_log` block, the SHA-256 and size of the bytes read are
    recorded there.
    """
    with open_evidence(path) as fh:
        try:
            raw = fh.read()
        except OSError as exc:
            raise EvidenceError(f"cannot read evidence file {path}: {exc}") from exc
    _record_custody(path, raw)
    if raw[:2] == GZIP_MAGIC:
        return _gunzip(raw)
    return Decompressed(raw)


def read_head(path: str | os.PathLike[str], size: int = 1 << 16) -> bytes:
    """The first ``size`` bytes of the file's decompressed content (for sniffing).

    Never raises on a damaged gzip (what could be decompressed is returned).
    """
    with open_evidence(path) as fh:
        head = fh.read(size)
        if head[:2] != GZIP_MAGIC:
            return head
        raw = head + fh.read(size * 4)  # ample for the first 64 KiB of text
    return _gunzip(raw, limit=size).data[:size]


def unrecognised_reason(path: str | os.PathLike[str], head: bytes) -> str:
    """Why no reader took a file (``head``: its first decompressed bytes).

    Returns ``"empty file"``, ``"not gzip despite .gz suffix"``, ``"gzip stream cut
    before any data"``, or ``"no reader recognises the header: first bytes '...'"``
    (the first 60 bytes as text, control characters as ``.``; the caller redacts it).
    """
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        return "empty file"
    gz = is_gzip(p)
    if p.name.lower().endswith(".gz") and not gz:
        return "not gzip despite .gz suffix"
    if gz and not head:
        return "gzip stream cut before any data"
    if not head.strip():
        return "no reader recognises the header: only blank bytes"
    text = head[:60].decode("utf-8", errors="replace").lstrip("\ufeff")
    text = "".join(c if c.isprintable() else "." for c in text)
    return f"no reader recognises the header: first bytes {text!r}"


def _walk(folder: Path, skipped: dict[Path, str] | None = None) -> list[Path]:
    """Every file under ``folder`` (recursively), resolved, sorted.

    The folder is resolved once and names are joined to it; only entries that are
    symbolic links are resolved one by one (resolving every path costs a system
    call per path component, which dominates on tens of thousands of daily files).
    """
    found: list[Path] = []
    stack = [os.path.realpath(folder)]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.is_symlink():  # as os.walk: a linked folder is not entered
                try:
                    target = Path(e.path).resolve(strict=True)
                except (RuntimeError, OSError) as exc:
                    # a link loop (RuntimeError on Python 3.11, ELOOP later) or a dangling
                    # link: reported, never fatal to the rest of the folder
                    if skipped is not None:
                        loop = isinstance(exc, RuntimeError) or "loop" in str(exc).lower()
                        skipped[Path(e.path)] = (
                            "symbolic link loop" if loop else "dangling symbolic link"
                        )
                    continue
                if target.is_file():
                    found.append(target)
                elif not target.is_dir() and skipped is not None:
                    skipped[Path(e.path)] = _special_reason(target)
            elif e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            elif e.is_file(follow_symlinks=False):
                found.append(Path(e.path))
            elif skipped is not None:
                skipped[Path(e.path)] = _special_reason(Path(e.path))
    return sorted(found)


def _special_reason(path: Path) -> str:
    """Why a path that is neither a regular file nor a folder is not read.

    A named pipe would block the reader forever (opening it waits for a writer);
    sockets and devices are not evidence files.
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return "not a regular file: not read"
    kind = (
        "named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "socket"
        if stat.S_ISSOCK(mode)
        else "device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "special file"
    )
    return f"not a regular file ({kind}): not read"


def expand_paths(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    skipped: dict[Path, str] | None = None,
) -> list[tuple[Path, bool]]:
    """Expand files, folders (walked recursively) and glob patterns.

    Parameters
    ----------
    paths : path-like or iterable of path-like
        Files, folders or glob patterns (``**`` recurses).
    skipped : dict, optional
        Filled with the paths that are not read, with the reason: symbolic links
        found while walking that cannot be followed (``"symbolic link loop"``,
        ``"dangling symbolic link"``) and paths that are neither regular files nor
        folders (``"not a regular file (named pipe (FIFO)): not read"``, sockets,
        devices), found or named.

    Returns
    -------
    list of (pathlib.Path, bool)
        Absolute paths with symbolic links resolved, each once, sorted; the flag is True for a file named
        explicitly (or matched by a glob), False for one found by walking a folder.

    Raises
    ------
    EvidenceError
        When a path does not exist and no file matches it as a glob pattern.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    found: dict[Path, bool] = {}
    for p in paths:
        text = os.fspath(p)
        path = Path(text)
        if path.is_dir():
            for f in _walk(path, skipped):
                found.setdefault(f, False)
        elif path.is_file():
            found[path.resolve()] = True
        elif path.exists():  # a named pipe, socket or device given by name
            if skipped is not None:
                skipped[path.absolute()] = _special_reason(path)
        elif _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise EvidenceError(f"no evidence file matches the pattern {text!r}")
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    for f in _walk(mp, skipped):
                        found.setdefault(f, False)
                elif mp.is_file():
                    found[mp.resolve()] = True
                elif skipped is not None:
                    skipped[mp.absolute()] = _special_reason(mp)
        else:
            raise EvidenceError(
                f"evidence path {text!r} does not exist; give a file, a folder or a glob pattern"
            )
    return sorted(found.items())


def common_root(files: Iterable[Path]) -> Path:
    """The deepest folder that holds every file (the evidence root)."""
    parents = [str(Path(f).parent) for f in files]
    if not parents:
        return Path.cwd()
    return Path(os.path.commonpath(parents))


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, POSIX separators (what ``source_file`` holds)."""
    return Path(os.path.relpath(path, root)).as_posix()
