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
        return open(path, "rb")
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


#: Packages whose versions every run manifest records.
_VERSIONED = (
    "labforensics",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "pyod",
    "numba",
    "matplotlib",
    "jinja2",
    "defusedxml",
    "holidays",
)


def tool_versions() -> dict[str, str]:
    """Python and dependency versions (``importlib.metadata``), for the manifest."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def hash_outputs(folder: str | os.PathLike[str], *, exclude: tuple[str, ...] = ()) -> list[dict]:
    """SHA-256 and size of every file under ``folder`` (sorted, POSIX relative paths)."""
    root = Path(folder)
    rows = []
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        rel = p.relative_to(root).as_posix()
        if rel in exclude:
            continue
        digest, size = sha256_file(p)
        rows.append({"path": rel, "size": size, "sha256": digest})
    return rows


def run_manifest(
    *,
    inputs: list[EvidenceFile],
    out: str | os.PathLike[str],
    parameters: dict,
    started: str,
    finished: str,
    command: list[str] | None = None,
    key_fingerprint: str | None = None,
    extra: dict | None = None,
) -> dict:
    """The chain-of-custody manifest of a run (JSON-safe dict).

    Parameters
    ----------
    inputs : list of EvidenceFile
        Every input read, with its SHA-256 and size in bytes.
    out : path
        The output folder: every file in it but ``manifest.json`` is hashed.
    parameters : dict
        Every parameter of the run (time zone, seed, stage parameters).
    started, finished : str
        ISO 8601 UTC times of the run's start and end (the only wall-clock values;
        they are not part of the findings).
    command : list of str, optional
        The command line.
    key_fingerprint : str, optional
        Fingerprint of the case key (never the key).
    """
    return {
        "tool": "labforensics",
        "versions": tool_versions(),
        "command": command or [],
        "started_utc": started,
        "finished_utc": finished,
        "parameters": parameters,
        "case_key_fingerprint": key_fingerprint,
        "inputs": [f.to_dict() for f in inputs],
        "outputs": hash_outputs(out, exclude=("manifest.json",)),
        **(extra or {}),
    }
