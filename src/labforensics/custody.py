"""Chain of custody: read-only access to evidence, SHA-256 hashes, manifests.

Evidence files are only ever opened with ``open(path, "rb")`` through
:func:`open_evidence`; they are hashed (SHA-256, streamed in 1 MiB blocks) before
they are parsed, so the manifest states exactly which bytes were analysed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import zoneinfo
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from .errors import EvidenceError

__all__ = [
    "EvidenceFile",
    "open_evidence",
    "sha256_bytes",
    "sha256_file",
    "tz_database",
    "zoneinfo_source",
]

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


#: Packages whose versions every run manifest records: every dependency that reads,
#: converts, scores or writes the data (scipy: attribution's binomial and beta
#: bounds; markupsafe: the report's escaping; python-dateutil: pandas' fallback date
#: parser; tzdata: the tz database zoneinfo falls back to when the system has none).
_VERSIONED = (
    "labforensics",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "pyod",
    "numba",
    "matplotlib",
    "jinja2",
    "markupsafe",
    "defusedxml",
    "holidays",
    "python-dateutil",
    "tzdata",
)


def tool_versions() -> dict[str, str]:
    """Python and dependency versions (``importlib.metadata``), for the manifest."""

    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _tzdata_zi_version(folder: Path) -> tuple[str | None, str | None]:
    """The ``# version`` line of ``folder/tzdata.zi`` (or ``folder/+VERSION``): (version, file)."""
    zi = folder / "tzdata.zi"
    try:
        with open(zi, "rb") as fh:
            for _ in range(5):  # the version line is the first one
                line = fh.readline().decode("utf-8", "replace").strip()
                if line.startswith("# version "):
                    return line[len("# version ") :].strip(), zi.as_posix()
    except OSError:
        pass
    plus = folder / "+VERSION"
    try:
        text = plus.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None, None
    return (text.split()[0] if text else None), plus.as_posix()


def zoneinfo_source(zone: str) -> dict[str, object]:
    """Where :mod:`zoneinfo` reads ``zone`` from, and that tz database's version.

    :mod:`zoneinfo` looks for the zone file in each folder of ``zoneinfo.TZPATH``
    (set by ``PYTHONTZPATH`` or the build), then in the ``tzdata`` package. The
    version is read from the same place: the folder's ``tzdata.zi`` ``# version``
    line (written by IANA's ``zic`` tooling and installed by the distributions;
    ``+VERSION`` otherwise), or ``tzdata.IANA_VERSION``.

    Returns
    -------
    dict
        ``zone``, ``source`` (``"system"``, ``"tzdata package"`` or ``"not found"``),
        ``path`` (the zone file, or the package), ``version`` (IANA release such as
        ``"2025b"``, or None when the source does not say), ``version_from`` (the
        file or attribute it was read from), ``tzpath`` (the folders searched).
    """

    out: dict[str, object] = {"zone": zone, "tzpath": list(zoneinfo.TZPATH)}
    for folder in zoneinfo.TZPATH:
        f = Path(folder) / zone
        if f.is_file():
            version, where = _tzdata_zi_version(Path(folder))
            out.update(source="system", path=f.as_posix(), version=version, version_from=where)
            if version is None:
                out["note"] = (
                    f"no tzdata.zi or +VERSION in {Path(folder).as_posix()}: version unknown"
                )
            return out
    try:
        from importlib import resources

        import tzdata  # type: ignore[import-not-found]

        parts = zone.split("/")
        res = resources.files("tzdata.zoneinfo").joinpath(*parts)
        if res.is_file():
            out.update(
                source="tzdata package",
                path=f"tzdata.zoneinfo/{zone}",
                version=getattr(tzdata, "IANA_VERSION", None),
                version_from="tzdata.IANA_VERSION",
            )
            return out
    except ImportError:
        pass
    out.update(source="not found", path=None, version=None, version_from=None)
    return out


def tz_database(zones: list[str] | tuple[str, ...] = ()) -> dict[str, object]:
    """The IANA tz database behind every conversion of local times, per library.

    A tz database update can change converted instants (new rules, corrected
    history), so the manifest states which one converted this run's local times.

    Parameters
    ----------
    zones : sequence of str
        IANA zones the run converted (the case's ``tz``).

    Returns
    -------
    dict
        ``zoneinfo``: :func:`zoneinfo_source` per zone (ingest's clock, every
        reader of local times); ``pandas``: the tz library pandas builds for a zone
        name (``zoneinfo`` in pandas 3: the same database; used by the report,
        features and detection to show local times); ``pyarrow``: pyarrow converts no
        local time here (instants are stored as UTC), so its database is not used.
    """

    info: dict[str, object] = {
        "zoneinfo": {z: zoneinfo_source(z) for z in sorted(set(zones))},
    }
    pd_lib: dict[str, object] = {}
    for z in sorted(set(zones)):
        try:
            tzobj = pd.Timestamp(0, tz=z).tz
        except Exception as exc:  # an unknown zone is reported, not raised
            pd_lib[z] = {"library": None, "error": str(exc)}
            continue
        mod = type(tzobj).__module__.split(".")[0]
        entry: dict[str, object] = {"library": mod}
        if mod == "zoneinfo":
            entry["same_as"] = "zoneinfo"
        elif mod == "pytz":
            entry["version"] = getattr(__import__("pytz"), "OLSON_VERSION", None)
        pd_lib[z] = entry
    info["pandas"] = pd_lib
    info["pyarrow"] = {"library": None, "note": "converts no local time (UTC instants only)"}
    return info


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
    zones: list[str] | None = None,
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
    zones : list of str, optional
        IANA zones whose local times the run converted; default ``parameters["tz"]``.
        Their tz database (version and source, per library) is recorded under
        ``tz_database`` (:func:`tz_database`).
    """
    if zones is None:
        tz = parameters.get("tz") if isinstance(parameters, dict) else None
        zones = [tz] if isinstance(tz, str) else []
    return {
        "tool": "labforensics",
        "versions": tool_versions(),
        "tz_database": tz_database(zones),
        "command": command or [],
        "started_utc": started,
        "finished_utc": finished,
        "parameters": parameters,
        "case_key_fingerprint": key_fingerprint,
        "inputs": [f.to_dict() for f in inputs],
        "outputs": hash_outputs(out, exclude=("manifest.json",)),
        **(extra or {}),
    }
