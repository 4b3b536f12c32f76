"""The reader registry: every evidence format registers a sniffer and a reader.

A reader turns one evidence file into *raw events* (a DataFrame with the
canonical event columns, except that the patient is still the raw IPP in the
private column ``_ipp`` and free text is not yet redacted) plus its accounting.
:func:`labforensics.read_evidence` sniffs each file, calls the reader, then
does what is common to all formats: rotation de-duplication (for readers that
declare it), pseudonymisation, redaction, evidence order and validation.

Adding a format is one new module that calls :func:`register_reader` at import
and is imported by :mod:`labforensics.ingest`.

Reader contract
---------------
``sniff(head: bytes, name: str) -> bool``
    ``head`` is up to the first 64 KiB of the file's *decompressed* bytes
    (gzip already undone), ``name`` the file name. Must not raise.
``read(path: pathlib.Path, ctx: ReadContext) -> FileRead``
    Must not raise on bad content: every input row goes to an event, a
    repeated header, an ignored line or a quarantine entry, and
    ``FileRead.rows_read`` counts them (header lines aside). It may raise
    :class:`labforensics.errors.EvidenceError` only when the file cannot be
    opened at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ..case import DEFAULT_TZ

__all__ = [
    "BatchRead",
    "FieldProblem",
    "FileRead",
    "QuarantineRow",
    "ReadContext",
    "ReaderSpec",
    "get_reader",
    "readers",
    "register_reader",
]


@dataclass(frozen=True)
class QuarantineRow:
    """One input row that could not become an event.

    ``line`` is the 1-based physical line where the row starts; ``raw`` its text
    as read (it is redacted later by :func:`read_evidence`, never kept raw).
    """

    line: int | None
    reason: str
    raw: str


@dataclass(frozen=True)
class FieldProblem:
    """A bad optional field: the event is kept with that field missing."""

    line: int | None
    column: str
    value: str
    problem: str


@dataclass
class ReadContext:
    """What a reader may need beyond the file itself.

    Attributes
    ----------
    tz : zoneinfo.ZoneInfo
        Local time zone of sources that write wall-clock times without offset.
    source_file : str
        The file's name relative to the evidence root (for provenance columns).
    profile : object or None
        A :class:`labforensics.ingest.profiles.Profile` forced by the user, or None.
    year : int or None
        Year of RFC 3164 syslog lines (which carry none); None means the year of
        the file's modification time is NOT used: the reader must quarantine or
        ask, see its docs.
    lab : str or None
        Lab code for sources that do not name one (resolved per file by the caller
        from ``read_evidence(lab=...)``).
    lab_aliases : mapping of str to str
        FINESS number (or other alias) -> lab code.
    account_kinds : mapping of str to str
        Account -> account kind overrides from the case file.
    options : dict
        Reader-specific options.
    """

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TZ))
    source_file: str = ""
    profile: Any = None
    year: int | None = None
    lab: str | None = None
    lab_aliases: Mapping[str, str] = field(default_factory=dict)
    account_kinds: Mapping[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class FileRead:
    """What a reader returns for one file.

    Attributes
    ----------
    events : pandas.DataFrame
        Raw events: canonical columns (see :mod:`labforensics.schema`; ``patient``
        and ``seq`` may be absent) plus ``_ipp`` (raw IPP, str or missing) and,
        for readers with ``rotation=True``, ``_record`` (the record's raw text,
        used to match rotation duplicates between consecutive files of one lab).
        ``source_line`` must be set. One row per event.
    rows_read : int
        Input rows seen, header lines aside.
    rows_to_events : int
        Input rows that became at least one event (a message naming several
        patients gives several events from one row).
    repeated_headers : int
    ignored : int
        Lines outside the reader's scope (kernel messages in an auth log ...).
    quarantine : list of QuarantineRow
    field_problems : list of FieldProblem
    truncated : bool
        The file is cut short (gzip member cut, last record cut).
    truncation_note : str
    unknown_codes : dict
        Code as written -> count, for codes mapped to ``other``.
    lab : str or None
        The lab of the file (for rotation grouping), when one lab only.
    file_date : datetime.date or None
        The date in the file's name (for file order), when it has one.
    name_lab : str or None
        The lab the file's name gives (its profile's ``file_pattern``), when it gives
        one: compared with its rows' (:mod:`labforensics.ingest._name_labs`).
    rows_recoded : int
        Rows written in UTF-8 inside a file of a single-byte encoding (cp1252),
        decoded as UTF-8, or rows written in cp1252 inside a UTF-8 file, decoded as
        cp1252 (each field concerned is also a field problem).
    replacement_chars : int
        U+FFFD characters standing for bytes no encoding decodes, each followed by
        ``x`` and the byte's hex (each field concerned is also a field problem).
    encoding_note : str
        The lines of the two above, ``""`` when none.
    note : str
        How the file was read where it matters (``FileReport.note``), ``""`` when
        nothing: e.g. bare CRs read as line ends.
    """

    events: pd.DataFrame
    rows_read: int
    rows_to_events: int
    repeated_headers: int = 0
    ignored: int = 0
    quarantine: list[QuarantineRow] = field(default_factory=list)
    field_problems: list[FieldProblem] = field(default_factory=list)
    truncated: bool = False
    truncation_note: str = ""
    unknown_codes: dict[str, int] = field(default_factory=dict)
    lab: str | None = None
    file_date: dt.date | None = None
    name_lab: str | None = None
    rows_recoded: int = 0
    replacement_chars: int = 0
    encoding_note: str = ""
    note: str = ""


@dataclass
class BatchRead:
    """What an optional batch reader (``ReaderSpec.read_many``) returns for several files.

    Attributes
    ----------
    events : pandas.DataFrame
        Raw events of all the files (same columns as :attr:`FileRead.events`), each
        file's rows contiguous and in line order, files in the order given.
    counts : numpy.ndarray of int64, shape (n_files,)
        Rows of ``events`` of each file: file ``k`` holds rows
        ``counts[:k].sum()`` to ``counts[:k + 1].sum()``.
    files : list of FileRead
        One per file given, in that order, with ``events`` set to None (its rows
        are in ``events`` above) and every other attribute as for :attr:`ReaderSpec.read`.
    unknown_codes : dict
        Code -> count over all the files (the files' own ``unknown_codes`` stay empty).
    """

    events: pd.DataFrame
    counts: np.ndarray
    files: list[FileRead]
    unknown_codes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReaderSpec:
    """A registered evidence format.

    Attributes
    ----------
    name : str
        Format name (``lis_legacy``, ``fhir_auditevent`` ...), recorded in
        ``source_format`` and the manifest.
    sniff : callable
        ``sniff(head: bytes, name: str) -> bool``.
    read : callable
        ``read(path: Path, ctx: ReadContext) -> FileRead``.
    priority : int
        Readers are tried in decreasing priority, then by name.
    rotation : bool
        The format rotates into daily files that may overlap (rotation duplicates
        are then removed between consecutive files of one lab).
    description : str
    read_many : callable or None
        Optional batch entry point, ``read_many(paths: list[Path], ctxs:
        list[ReadContext]) -> BatchRead``: reads many files of this format at once
        (parsing and converting them together is much cheaper than file by file
        for small daily files). Same results as :attr:`read` file by file.
    accounts_case_insensitive : bool, default False
        The source compares account names case-insensitively, so ``read_evidence``
        case-folds them (:func:`labforensics.identity.canonical_account`); by
        default accounts are only NFC-normalised. Every reader registered today
        keeps the default: POSIX user names (syslog, xferlog), FHIR and DICOM
        identifiers and the LIS ``login``/``UTILISATEUR`` column (whose format
        description makes only codes case-insensitive) are case-sensitive.
    """

    name: str
    sniff: Callable[[bytes, str], bool]
    read: Callable[[Path, ReadContext], FileRead]
    priority: int = 0
    rotation: bool = False
    description: str = ""
    read_many: Callable[[list[Path], list[ReadContext]], BatchRead] | None = None
    accounts_case_insensitive: bool = False


_REGISTRY: dict[str, ReaderSpec] = {}


def register_reader(spec: ReaderSpec) -> ReaderSpec:
    """Register (or replace) a reader under ``spec.name``; returns ``spec``."""
    _REGISTRY[spec.name] = spec
    return spec


def readers() -> list[ReaderSpec]:
    """The registered readers, in the order they are tried."""
    return sorted(_REGISTRY.values(), key=lambda r: (-r.priority, r.name))


def get_reader(name: str) -> ReaderSpec:
    """The reader registered as ``name``.

    Raises
    ------
    KeyError
        With the list of known names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no reader named {name!r}; known: {sorted(_REGISTRY)}") from None


def sniff(head: bytes, name: str) -> ReaderSpec | None:
    """The first registered reader whose sniffer accepts the file, or None."""
    for spec in readers():
        try:
            if spec.sniff(head, name):
                return spec
        except Exception:  # a sniffer must not break the walk
            continue
    return None
