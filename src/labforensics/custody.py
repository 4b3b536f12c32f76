"""Chain of custody: read-only access to evidence, SHA-256 hashes, manifests.

Evidence files are only ever opened with ``open(path, "rb")`` through
:func:`open_evidence`; they are hashed (SHA-256, streamed in 1 MiB blocks) before
they are parsed, so the manifest states exactly which bytes were analysed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import EvidenceError

__all__ = ["EvidenceFile", "open_evidence", "sha256_bytes", "sha256_file"]

_BLOCK = 1 << 20


def open_evidence(path: str | os.PathLike[str]) -> BinaryIO:
    """Open an evidence file read-only, in binary mode.

    Raises
    ------
    EvidenceError
        When the file does not exist or cannot be opened (the message names it).
    """
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise EvidenceError(f"cannot open evidence file {path}: {exc.strerror or exc}") from exc


def sha256_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes of a file, streamed in 1 MiB blocks.

    Raises
    ------
    EvidenceError
        When the file cannot be read.
    """
    h = hashlib.sha256()
    size = 0
    with open_evidence(path) as fh:
        try:
            while block := fh.read(_BLOCK):
                h.update(block)
                size += len(block)
        except OSError as exc:
            raise EvidenceError(f"cannot read evidence file {path}: {exc}") from exc
    return h.hexdigest(), size


def sha256_bytes(data: bytes) -> str:
    """SHA-256 (hex) of a byte string."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class EvidenceFile:
    """One input file as received.

    Attributes
    ----------
    path : str
        Absolute path, POSIX separators.
    source_file : str
        Path relative to the evidence root (what events carry in ``source_file``).
    size : int
        Size in bytes.
    sha256 : str
        SHA-256 of the file's bytes, hex.
    format : str or None
        Name of the reader that recognised it, None when none did.
    """

    path: str
    source_file: str
    size: int
    sha256: str
    format: str | None = None

    @classmethod
    def hash(cls, path: Path, source_file: str, fmt: str | None = None) -> EvidenceFile:
        digest, size = sha256_file(path)
        return cls(Path(path).resolve().as_posix(), source_file, size, digest, fmt)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
