"""Evidence paths and bytes: expansion of folders and globs, gzip by magic bytes.

Files are opened read-only through :func:`labforensics.custody.open_evidence`.
Compressed evidence is recognised by the gzip magic bytes (``1f 8b``), never by
the file name, and decompressed with a streaming :func:`zlib.decompressobj`
(``wbits = 16 + MAX_WBITS``) fed in 64 KiB blocks, so that:

* a member cut short (a copy interrupted, a disk full) gives back every byte
  before the cut, and the file is marked truncated (``gzip.open`` and pandas
  raise ``EOFError`` and give nothing);
* a corrupt member gives back every byte zlib produced before it raised (the
  block on which zlib raises is fed again one byte at a time from the state saved
  before it), with the compressed byte offset where it raised in the note. Deflate
  has no check of its own before the CRC-32 at the end of the member: damage that
  still decodes is only detected there, so the bytes given back may end with
  garbage decoded from the damaged part (a CRC-only damage gives back everything);
* several members one after the other (``cat a.gz b.gz``, RFC 1952 section 2.2)
  are all read.

References
----------
RFC 1952 (gzip file format), section 2.2 (members) and 2.3.1 (magic bytes).
"""

from __future__ import annotations

import codecs
import contextvars
import dataclasses
import glob
import hashlib
import io
import os
import stat
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._terminal import visible
from ..custody import open_evidence
from ..errors import EvidenceError
from ._head_checks import MASK_NOTE, head_problem, head_shape

__all__ = [
    "GZIP_MAGIC",
    "Decompressed",
    "common_root",
    "compression_note",
    "custody_log",
    "expand_paths",
    "is_gzip",
    "printable_name",
    "read_bytes",
    "read_head",
    "read_head_magic",
    "relative_name",
    "unrecognised_reason",
    "utf16_without_bom",
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
    utf16 : numpy.ndarray or None
        None when the file was not UTF-16 text; else int64 byte positions in ``data``
        (UTF-8 from :func:`utf16_to_utf8_accounted`, its BOM included), ascending, of
        each U+FFFD standing for undecodable UTF-16 (an odd last byte, a lone
        surrogate): the readers count and name them with their own.
    """

    data: bytes
    compressed: bool = False
    truncated: bool = False
    note: str = ""
    members: int = 0
    utf16: np.ndarray | None = field(default=None, compare=False)


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with the gzip magic bytes ``1f 8b``."""
    with open_evidence(path) as fh:
        return fh.read(2) == GZIP_MAGIC


def _salvage(
    d: zlib._Decompress, block: memoryview, pos: int
) -> tuple[bytes, int, zlib.error | None]:
    """Feed ``block`` (at compressed byte ``pos``) one byte at a time to ``d``.

    Called with the state saved before a block on which zlib raised: returns what
    zlib produced before the error, the compressed byte offset at which it raised,
    and the error (None, and the offset past the block, if no byte raised). Slow,
    but run once per damaged member.
    """
    parts: list[bytes] = []
    for i in range(len(block)):
        try:
            parts.append(d.decompress(block[i : i + 1]))
        except zlib.error as exc:
            return b"".join(parts), pos + i, exc
    # (past the end of the member, zlib gathers the rest in ``d.unused_data``)
    return b"".join(parts), pos + len(block), None


def _gunzip(raw: bytes, limit: int | None = None) -> Decompressed:
    """Decompress every gzip member of ``raw``, keeping all bytes before any damage.

    Each 64 KiB block is fed to :func:`zlib.decompressobj` after saving its state
    (``copy()``); when zlib raises on a block, the saved state is fed that block
    again one byte at a time, so every byte zlib produced before the damage is kept
    and the note gives the compressed byte offset at which it raised. ``limit``
    (decompressed bytes) stops early, for :func:`read_head`.
    """
    out: list[bytes] = []
    produced = 0
    members = 0
    pos = 0
    n = len(raw)
    view = memoryview(raw)
    while pos < n:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        start = pos
        while pos < n and not d.eof:
            block = view[pos : pos + _BLOCK]
            saved = d.copy()
            try:
                chunk = d.decompress(block)
            except zlib.error:
                d = saved
                chunk, at, exc = _salvage(d, block, pos)
                if exc is not None:
                    out.append(chunk)
                    produced += len(chunk)
                    return Decompressed(
                        b"".join(out),
                        True,
                        True,
                        f"gzip member {members + 1} (from compressed byte {start}) corrupt "
                        f"at compressed byte {at}: {exc}; {produced} bytes recovered "
                        "before it",
                        members,
                    )
            out.append(chunk)
            produced += len(chunk)
            if d.eof:
                pos = pos + len(block) - len(d.unused_data)
            else:
                pos += len(block)
            if limit is not None and produced >= limit:
                return Decompressed(b"".join(out), True, False, "", members)
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


def read_bytes(path: str | os.PathLike[str], *, utf16: bool = True) -> Decompressed:
    """Read a whole evidence file, decompressing gzip (detected by magic bytes).

    Parameters
    ----------
    path : path-like
        Evidence file, opened read-only.
    utf16 : bool, default True
        Give UTF-16 text with a byte-order mark as UTF-8 with a BOM
        (:func:`utf16_to_utf8`); False keeps the bytes as stored (the leak tables
        decode UTF-16 themselves and key their row ids on the stored bytes).

    Returns
    -------
    Decompressed
        Never raises on a damaged gzip: what could be recovered, flagged truncated.

    Raises
    ------
    EvidenceError
        When the file cannot be opened or read; when it changed while being read
        (its size when opened, the number of bytes read and its size and
        modification time on disk right after reading do not agree: a writer
        appending to it, a log rotated); or (inside a :func:`custody_log`) when it
        was read before in the block with other bytes.

    Notes
    -----
    Inside a :func:`custody_log` block, the SHA-256 and size of the bytes read are
    recorded there.
    """
    with open_evidence(path) as fh:
        try:
            try:
                before: os.stat_result | None = os.fstat(fh.fileno())
            except io.UnsupportedOperation:  # a file-like without a descriptor
                before = None
            raw = fh.read()
        except OSError as exc:
            raise EvidenceError(f"cannot read evidence file {path}: {exc}") from exc
        if before is not None:
            try:
                after = os.stat(path)
            except OSError as exc:
                raise EvidenceError(
                    f"evidence file {path} cannot be checked after being read "
                    f"({exc.strerror or exc}; moved or deleted meanwhile?): copy the "
                    "evidence to a read-only place and read it again"
                ) from exc
            _check_unchanged(path, before, len(raw), after)
    _record_custody(path, raw)
    got = _gunzip(raw) if raw[:2] == GZIP_MAGIC else Decompressed(raw)
    if not utf16 or got.data[:2] not in UTF16_BOMS:
        return got
    data, where = utf16_to_utf8_accounted(got.data)
    return dataclasses.replace(got, data=data, utf16=where)


#: Byte-order marks of UTF-16 (little and big endian), what a spreadsheet writes as
#: "Unicode text" (The Unicode Standard, section 23.8, "Specials: BOM").
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


#: What each byte of an undecodable UTF-16 sequence decodes to first, to be found again:
#: U+10FFFE, a noncharacter (The Unicode Standard, section 23.7: never interchanged as
#: text), then the byte's hex; the mark becomes U+FFFD after, as every reader's escape
#: (``h\ufffdx81l``): two different damaged byte strings never read as one text.
_MARK = "\U0010fffe"


def _mark_bytes(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeDecodeError)
    bad = exc.object[exc.start : exc.end]
    return "".join(f"{_MARK}x{b:02x}" for b in bad), exc.end


codecs.register_error("labforensics.utf16-mark", _mark_bytes)


def utf16_to_utf8_accounted(data: bytes) -> tuple[bytes, np.ndarray]:
    """UTF-16 text with a byte-order mark as UTF-8 with a BOM, and where it was damaged.

    Like gzip, UTF-16 is a transport encoding of the text the readers parse: the
    custody hash stays that of the bytes on disk, line numbers are unchanged (one
    line end for one), and each byte of an odd last byte or a lone surrogate becomes
    U+FFFD followed by its hex (``xNN``), as the readers' own undecodable bytes; the
    positions of those U+FFFD are returned so that the readers count them
    (``replacement_chars``) and name their lines.

    Parameters
    ----------
    data : bytes
        The file's bytes (decompressed).

    Returns
    -------
    utf8 : bytes
        ``data`` itself when it does not start with a UTF-16 BOM; else the text as UTF-8
        after the UTF-8 BOM (3 bytes).
    replaced : numpy.ndarray
        int64, ascending: the byte position in ``utf8`` of each U+FFFD that stands for
        undecodable UTF-16 (one per undecodable byte). A U+10FFFE in the file itself
        (a noncharacter) is counted as one too.

    Examples
    --------
    >>> text = "é\\n".encode("utf-16")  # BOM, then two code units
    >>> utf8, where = utf16_to_utf8_accounted(text + b"\\x41")  # an odd last byte
    >>> utf8, where.tolist()
    (b'\\xef\\xbb\\xbf\\xc3\\xa9\\n\\xef\\xbf\\xbdx41', [6])
    """
    none = np.zeros(0, dtype=np.int64)
    if data[:2] not in UTF16_BOMS:
        return data, none
    try:
        return b"\xef\xbb\xbf" + data.decode("utf-16").encode("utf-8"), none
    except UnicodeDecodeError:
        pass
    utf8 = data.decode("utf-16", errors="labforensics.utf16-mark").encode("utf-8")
    mark = _MARK.encode("utf-8")  # 4 bytes, then 3 as U+FFFD: each earlier one is 1 shorter
    arr = np.frombuffer(utf8, dtype=np.uint8)
    at = np.flatnonzero(arr == mark[0])
    at = at[at + 4 <= len(arr)]
    for i in range(1, 4):
        at = at[arr[at + i] == mark[i]]
    where = (at - np.arange(len(at)) + 3).astype(np.int64)
    return b"\xef\xbb\xbf" + utf8.replace(mark, "\ufffd".encode("utf-8")), where


def utf16_to_utf8(data: bytes) -> bytes:
    """UTF-16 text with a byte-order mark as UTF-8 with a BOM; other bytes unchanged
    (:func:`utf16_to_utf8_accounted` without the positions)."""
    return utf16_to_utf8_accounted(data)[0]


def _check_unchanged(
    path: str | os.PathLike[str], before: os.stat_result, nread: int, after: os.stat_result
) -> None:
    """Raise EvidenceError when a regular file changed between opening and reading it.

    ``before``: ``fstat`` of the open file; ``nread``: bytes read; ``after``: ``stat``
    of the path right after reading. Only regular files are checked (their size is
    meaningful).
    """
    if not stat.S_ISREG(before.st_mode):
        return
    same_size = before.st_size == nread == after.st_size
    same_time = before.st_mtime_ns == after.st_mtime_ns
    if same_size and same_time:
        return
    what = (
        f"{before.st_size} bytes when opened, {nread} bytes read, "
        f"{after.st_size} bytes on disk after reading"
    )
    if not same_time:
        what += "; its modification time changed"
    raise EvidenceError(
        f"evidence file {os.fspath(path)} changed while being read ({what}): copy the "
        "evidence to a read-only place and read it again"
    )


def read_head(path: str | os.PathLike[str], size: int = 1 << 16) -> bytes:
    """The first ``size`` bytes of the file's decompressed content (for sniffing).

    Never raises on a damaged gzip (what could be decompressed is returned).
    """
    return read_head_magic(path, size)[0]


def read_head_magic(path: str | os.PathLike[str], size: int = 1 << 16) -> tuple[bytes, bytes]:
    """:func:`read_head` and the file's first bytes as stored (for :func:`compression_note`).

    Returns
    -------
    head : bytes
        The first ``size`` bytes of the decompressed content.
    magic : bytes
        The first 6 bytes of the file itself (compressed, when it is).
    """
    with open_evidence(path) as fh:
        head = fh.read(size)
        if head[:2] != GZIP_MAGIC:
            return _utf16_head(head, size), head[:6]
        raw = head + fh.read(size * 4)  # ample for the first 64 KiB of text
    return _utf16_head(_gunzip(raw, limit=size).data[:size], size), head[:6]


#: Name suffix -> (compression, magic bytes at the file's start). Only gzip is
#: decompressed (recognised by its magic bytes, never by the name); the others are
#: named so that a file whose name and bytes disagree is said so.
COMPRESSED_SUFFIXES: dict[str, tuple[str, bytes]] = {
    ".gz": ("gzip", GZIP_MAGIC),
    ".tgz": ("gzip", GZIP_MAGIC),
    ".bz2": ("bzip2", b"BZh"),
    ".xz": ("xz", b"\xfd7zXZ\x00"),
    ".zip": ("zip", b"PK\x03\x04"),
    ".zst": ("zstd", b"\x28\xb5\x2f\xfd"),
}


def _hex(magic: bytes) -> str:
    return " ".join(f"{b:02x}" for b in magic)


def compression_note(name: str, magic: bytes) -> str:
    """What a file's name says of its compression that its first bytes contradict.

    Compressed evidence is recognised by its magic bytes, never by its name, so a
    mismatch changes nothing to what is read; it is recorded (``FileReport.note``)
    because it tells of how the evidence was handled (a file renamed, a copy tool
    that decompressed on the fly).

    Parameters
    ----------
    name : str
        The file's name (its suffix is looked at, case-insensitively).
    magic : bytes
        The file's first bytes as stored (:func:`read_head_magic`).

    Returns
    -------
    str
        ``"named .gz but not gzip (magic bytes 1f 8b absent): read as plain text"``
        (likewise ``.tgz``, ``.bz2``, ``.xz``, ``.zip``, ``.zst`` with their magic
        bytes), ``"gzip (magic bytes 1f 8b) though not named .gz: decompressed"``,
        or ``""`` when name and bytes agree.

    Examples
    --------
    >>> compression_note("AUDIT_L01_20190301.csv.gz", b"DATE;H")
    'named .gz but not gzip (magic bytes 1f 8b absent): read as plain text'
    >>> compression_note("auth.log.1", b"\\x1f\\x8b\\x08\\x00")
    'gzip (magic bytes 1f 8b) though not named .gz: decompressed'
    """
    low = name.lower()
    suffix = next((s for s in COMPRESSED_SUFFIXES if low.endswith(s)), None)
    gz = magic[:2] == GZIP_MAGIC
    if suffix is None:
        return (
            f"gzip (magic bytes {_hex(GZIP_MAGIC)}) though not named .gz: decompressed"
            if gz
            else ""
        )
    kind, want = COMPRESSED_SUFFIXES[suffix]
    if magic.startswith(want):
        return ""
    if gz:  # named .bz2 (say) but gzip: decompressed as gzip
        return f"named {suffix} but gzip (magic bytes {_hex(GZIP_MAGIC)}): decompressed as gzip"
    return f"named {suffix} but not {kind} (magic bytes {_hex(want)} absent): read as plain text"


def _utf16_head(head: bytes, size: int) -> bytes:
    """A head cut at ``size`` bytes, as UTF-8 when it is UTF-16 with a BOM (even length)."""
    if head[:2] not in UTF16_BOMS:
        return head
    return utf16_to_utf8(head[: len(head) & ~1])[:size]


#: Bytes looked at by :func:`utf16_without_bom` (an even count).
_UTF16_SNIFF = 512


def utf16_without_bom(head: bytes) -> str | None:
    """Why a head with NUL bytes and no byte-order mark is likely UTF-16 text.

    Text of the Latin range saved as UTF-16 has a NUL as the high byte of every
    character: NUL bytes at every other position (odd positions for little
    endian, even ones for big endian) and hardly any at the others. A binary
    file's NUL bytes fall anywhere.

    Parameters
    ----------
    head : bytes
        The file's first bytes (its first :data:`_UTF16_SNIFF` are looked at).

    Returns
    -------
    str or None
        ``"looks like UTF-16 (little endian) without a byte-order mark: re-save it
        with a BOM or as UTF-8"`` (or big endian), or None when the head has a BOM,
        fewer than 8 bytes, or NUL bytes that do not alternate (at least 90 % of
        one parity NUL, at most 10 % of the other).
    """
    h = head[: min(len(head), _UTF16_SNIFF) & ~1]
    if len(h) < 8 or h[:2] in UTF16_BOMS:
        return None
    even, odd = h[0::2], h[1::2]
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    order = None
    if nul_odd >= 0.9 and nul_even <= 0.1:
        order = "little endian"
    elif nul_even >= 0.9 and nul_odd <= 0.1:
        order = "big endian"
    if order is None:
        return None
    hint = "re-save it with a BOM or as UTF-8"
    return f"looks like UTF-16 ({order}) without a byte-order mark: {hint}"


def unrecognised_reason(path: str | os.PathLike[str], head: bytes) -> str:
    """Why no reader took a file (``head``: its first decompressed bytes).

    Returns ``"empty file"``, ``"not gzip despite .gz suffix"``, ``"gzip stream cut
    before any data"``, ``"bzip2 compressed (magic bytes 42 5a 68): not decompressed
    (only gzip is): ..."`` (or xz, zip, zstd), the hint of :func:`utf16_without_bom`, the reason of :func:`._head_checks.head_problem` (only a BOM, binary), or ``"no reader recognises the header: first bytes '...'"``
    (the first 60 bytes as text, each run of letters as ``x`` and of digits as ``9``, so
    that no content is shown: an unknown file may list people; undecodable bytes and
    control characters as ``\\xNN`` escapes, :func:`labforensics._terminal.visible`;
    then :data:`._head_checks.MASK_NOTE`).
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
    for kind, magic in dict.fromkeys(v for v in COMPRESSED_SUFFIXES.values() if v[0] != "gzip"):
        if not gz and head.startswith(magic):
            return (
                f"{kind} compressed (magic bytes {_hex(magic)}): not decompressed (only gzip "
                "is): decompress it and read it again"
            )
    if not head.strip():
        return "no reader recognises the header: only blank bytes"
    utf16 = utf16_without_bom(head)
    if utf16 is not None:
        return utf16
    # undecodable bytes as \xNN, control characters as escapes (never raw: QA session 9)
    text = visible(head_shape(head[:60]), keep="")
    why = head_problem(head) or "no reader recognises the header"  # BOM only, binary: QA 13
    return f"{why}: first bytes '{text}' {MASK_NOTE}" if text else why


def _walk(
    folder: Path,
    skipped: dict[Path, str] | None = None,
    links: dict[Path, tuple[Path, Path | None]] | None = None,
) -> list[tuple[Path, str, bool]]:
    """Every file under ``folder`` (recursively): ``(path, target, is_link)``, sorted.

    ``path`` is the name found (the folder resolved once, names joined to it, the
    last component never resolved: a symbolic link keeps its own name, which the
    readers parse for the lab and date); ``target`` is the resolved path of the file
    it names (used to read each file once). Only entries that are symbolic links are
    resolved one by one (resolving every path costs a system call per path
    component, which dominates on tens of thousands of daily files). A symbolic link
    to a folder is not entered: ``links[link] = (target, None)``.
    """
    found: list[tuple[Path, str, bool]] = []
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
                    found.append((Path(e.path), os.fspath(target), True))
                elif target.is_dir():
                    if links is not None:
                        links[Path(e.path)] = (target, None)
                elif skipped is not None:
                    skipped[Path(e.path)] = _special_reason(target)
            elif e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            elif e.is_file(follow_symlinks=False):
                found.append((Path(e.path), e.path, False))  # the folder is resolved
            elif skipped is not None:
                skipped[Path(e.path)] = _special_reason(Path(e.path))
    return sorted(found)


def _named(text: str) -> tuple[Path, str, bool]:
    """``(path, target, is_link)`` of a regular file named explicitly (or by a glob).

    ``path`` is absolute, its last component not resolved; ``target`` is resolved.
    """
    path = Path(os.path.abspath(text))
    target = os.path.realpath(text)
    if ".." in Path(text).parts and os.path.realpath(path) != target:
        # abspath folds ``link/..`` textually, which can name another file: resolve
        # the folder instead, the last component still as named
        path = Path(os.path.realpath(os.path.dirname(text) or ".")) / os.path.basename(text)
    return path, target, os.path.islink(path)


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
    links: dict[Path, tuple[Path, Path | None]] | None = None,
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
        folders, or links to them (``"not a regular file (named pipe (FIFO)): not
        read"``, sockets, devices), found or named. These are never opened.
    links : dict, optional
        Filled with every symbolic link found or named that leads to a file or a
        folder: ``links[link] = (target, read_as)``, ``target`` the resolved path it
        leads to and ``read_as`` the name the target is read under: the link itself
        (the file is read through it), another name (the target is read once, under
        that name: this link is not read), or None for a link to a folder found
        while walking (not entered). Paths as in the result (absolute, last
        component as found). :func:`labforensics.ingest.read_evidence` reports them
        (``IngestReport.skipped``, ``FileReport.note``): no link is passed over
        unsaid.

    Returns
    -------
    list of (pathlib.Path, bool)
        Absolute paths, sorted, with their last component as found or given: a
        symbolic link to a file keeps its own name (evidence stored as links into a
        content-addressed store, as git-annex or DVC do, keeps the names the readers
        parse for the lab and date), while a folder walked is resolved. Each file
        (resolved target) appears once: reachable under several names (a link and
        its target, two links, named twice), it is listed under the first name in
        sorted order that is not a symbolic link, or else the first link name. The
        flag is True for a file named explicitly (or matched by a glob) under any
        of its names, False for one only found by walking a folder. A linked folder
        found while walking is not entered (as :func:`os.walk`).

    Raises
    ------
    EvidenceError
        When a path does not exist and no file matches it as a glob pattern.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    # resolved target -> [(name, is_link, explicit)]
    names: dict[str, list[tuple[Path, bool, bool]]] = {}

    def add(found: Iterable[tuple[Path, str, bool]], explicit: bool) -> None:
        for path, target, is_link in found:
            names.setdefault(target, []).append((path, is_link, explicit))

    for p in paths:
        text = os.fspath(p)
        path = Path(text)
        if path.is_dir():
            add(_walk(path, skipped, links), False)
        elif path.is_file():
            add([_named(text)], True)
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
                    add(_walk(mp, skipped, links), False)
                elif mp.is_file():
                    add([_named(m)], True)
                elif skipped is not None:
                    skipped[mp.absolute()] = _special_reason(mp)
        else:
            raise EvidenceError(
                f"evidence path {text!r} does not exist; give a file, a folder or a glob pattern"
            )
    out: dict[Path, bool] = {}
    for target, seen in names.items():
        name = min((is_link, path) for path, is_link, _ in seen)[1]
        out[name] = out.get(name, False) or any(explicit for _, _, explicit in seen)
        if links is not None:
            for path, is_link, _ in seen:
                if is_link:
                    links[path] = (Path(target), name)
    return sorted(out.items())


def common_root(files: Iterable[Path]) -> Path:
    """The deepest folder that holds every file (the evidence root)."""
    parents = [str(Path(f).parent) for f in files]
    if not parents:
        return Path.cwd()
    return Path(os.path.commonpath(parents))


def printable_name(path: str | os.PathLike[str]) -> str:
    """A path as valid, printable UTF-8, for reports and manifests.

    Bytes of the name that are not UTF-8 (POSIX names are bytes; Python keeps them
    as surrogates, which pyarrow and JSON writers refuse) and control characters
    are shown as ``\\xNN`` escapes, e.g. ``AUDIT_L04_\\xff\\xfe_20190301.csv``. The
    file itself is still opened through its real path.
    """
    name = os.fspath(path)
    try:
        raw = os.fsencode(name)
    except UnicodeEncodeError:  # a surrogate that no file system name decodes to
        raw = name.encode("utf-8", "backslashreplace")
    name = raw.decode("utf-8", "backslashreplace")
    if not name.isprintable():
        name = "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in name)
    return name


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, POSIX separators (what ``source_file`` holds),
    as :func:`printable_name`."""
    return printable_name(Path(os.path.relpath(path, root)).as_posix())
