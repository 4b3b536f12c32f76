"""Every input of an investigation opened and checked before any stage runs.

``labforensics investigate`` reads evidence for minutes before it reaches the leak,
the transfer log or the patient indexes. A junk companion file found only then
costs the whole run (and used to end in a traceback). :func:`check_companions`
opens each of them first and refuses, with one line naming the file and what was
expected, a file that is:

- unreadable (permissions, a folder where a file is expected);
- empty (0 bytes, or only blank lines): a failed copy, never "no finding";
- binary (NUL bytes without a UTF-16 byte-order mark, or control characters);
- without a line end in its first MiB (a single huge line is no table);
- of the wrong format for its role (no identifier column in a leak list, no
  header of known names in a patient index or a dump, no ``xferlog`` line in a
  transfer log).

UTF-16 text with a byte-order mark ("Unicode text" in a spreadsheet's save
dialog) is read, never refused. :func:`first_recognised` checks that at least one
evidence file is of a format some reader recognises, reading one 64 KiB head per
file and stopping at the first one recognised (so a normal run reads one head).

Sources of the rules: the file formats of ``shared/formats/`` (LIS audit CSV,
patient index, leak dump) and the ``xferlog(5)`` manual page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from .errors import EvidenceError, LabForensicsError, ParameterError
from .ingest._common import MAX_LINE_BYTES, read_bytes
from .ingest._engine import _choose_profile_reader
from .ingest._syslog_headers import _RTS
from .ingest.files import read_head, unrecognised_reason, utf16_without_bom
from .ingest.profiles import load_profiles
from .leak._tables import _SEPARATORS, _known_header, infer_fixed_width, sniff_separator
from .leak._temp_folder import check_temp_folder
from .leak.mapping import choose_mapping, load_mappings
from .leak.reader import _DATE_NAMES, _LAB_NAMES, _read_leak_lines
from .transfers import read_transfers

__all__ = [
    "EXPECTED",
    "check_companions",
    "check_text_file",
    "first_recognised",
    "require_year",
    "yearless_syslog",
]

#: What each input role must hold, as said in the error messages.
EXPECTED = {
    "leak": "a list of leaked identifiers (a CSV with an IPP, pseudonym or NIR column) or a "
    "dump of people (a CSV with name columns), as UTF-8, cp1252 or UTF-16 with a BOM",
    "patient_index": "a laboratory patient index (PATIENTS_<LAB>.csv: a header with IPP, "
    "names, birth date ...), as UTF-8, cp1252 or UTF-16 with a BOM",
    "transfers": "an FTP server transfer log in xferlog format (one transfer per line: "
    "date, seconds, host, bytes, file name, ...)",
    "case": "a case file in TOML (case.toml)",
    "evidence": "LIS audit CSV exports (current or legacy dialect), syslog authentication "
    "logs, IHE ATNA XML or HL7 FHIR AuditEvent JSON",
}
#: The head read to check a file (1 MiB): enough for any header line.
HEAD_BYTES = MAX_LINE_BYTES
_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ROLE_NAMES = {"leak": "leak file", "patient_index": "patient index",
               "transfers": "transfer log", "case": "case file"}  # fmt: skip


def _head(path: Path, role: str) -> tuple[bytes, int]:
    """The first :data:`HEAD_BYTES` of ``path`` and its size; EvidenceError when unreadable."""
    what = _ROLE_NAMES.get(role, role)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except IsADirectoryError as exc:
        raise EvidenceError(f"{what} {path} is a folder; expected {EXPECTED[role]}") from exc
    except OSError as exc:
        raise EvidenceError(
            f"cannot read {what} {path}: {exc.strerror or exc}; expected {EXPECTED[role]}"
        ) from exc
    if role == "transfers" and head[:2] == b"\x1f\x8b":  # a rotated xferlog.1.gz
        # its reader undoes gzip, recovering a damaged one up to the damage
        # (labforensics.transfers.read_transfers): check the text inside, the same way
        # (QA session 20: the command refused it as binary)
        data, truncated, note, _ = read_bytes(path)
        if truncated and not data.strip():
            raise EvidenceError(f"{what} {path} is a damaged gzip file, nothing in it could "
                                f"be read ({note}); expected {EXPECTED[role]}")  # fmt: skip
        head, size = data[:HEAD_BYTES], len(data)  # 0: an empty log inside
    return head, size


def check_text_file(path: str | os.PathLike[str], role: str) -> str:
    """Check that ``path`` is a non-empty text file with line ends; return its first line.

    Parameters
    ----------
    path : path-like
        The file (opened read-only, its first MiB read).
    role : {"leak", "patient_index", "transfers", "case"}
        What the file is for (named in the message, with :data:`EXPECTED`).

    Returns
    -------
    str
        The first non-blank line (decoded: UTF-16 with a BOM, UTF-8, else cp1252).

    Raises
    ------
    EvidenceError
        Unreadable, empty or blank, binary (NUL bytes without a UTF-16 BOM, or
        more than 1 control character in 1,000), or no line end in the first MiB
        of a larger file. The message names the file and what was expected, never
        the file's content.
    """
    p = Path(path)
    what = _ROLE_NAMES.get(role, role)
    expected = EXPECTED[role]
    head, size = _head(p, role)
    if size == 0:
        raise EvidenceError(f"{what} {p} is empty (0 bytes); expected {expected}")
    if head[:2] in _BOMS:
        text = head[: len(head) & ~1].decode("utf-16", errors="replace")
    elif b"\x00" in head:
        utf16 = utf16_without_bom(head)
        if utf16 is not None:
            raise EvidenceError(f"{what} {p} {utf16}; expected {expected}")
        raise EvidenceError(
            f"{what} {p} is binary (it holds NUL bytes; or it is UTF-16 without a byte-order "
            f"mark); expected {expected}: export it again as UTF-8 or as Unicode text with a BOM"
        )
    else:
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at the end of the head is not an error
            text = head[: exc.start].decode("utf-8-sig") if exc.start > len(head) - 4 else (
                head.decode("cp1252", errors="replace"))  # fmt: skip
    text = text.lstrip("\ufeff")
    ctrl = sum(1 for c in text if c < " " and c not in "\t\r\n\f\v")
    if ctrl > max(8, len(text) // 1000):
        raise EvidenceError(
            f"{what} {p} is binary ({ctrl:,} control characters in its first "
            f"{len(head):,} bytes); expected {expected}"
        )
    if size > len(head) and "\n" not in text and "\r" not in text:
        raise EvidenceError(
            f"{what} {p} has no line end in its first {HEAD_BYTES // (1 << 20)} MiB "
            f"({size:,} bytes in all): not a text table; expected {expected}"
        )
    first = next((ln for ln in text.splitlines() if ln.strip()), None)
    if first is None:
        raise EvidenceError(f"{what} {p} holds only blank lines; expected {expected}")
    return first


#: What a leaked identifier looks like (``shared/formats/patient-index.md``: an IPP is
#: the lab's permanent patient id, digits; a NIR is 13 digits (Corsica 2A/2B) with an
#: optional 2-digit key; a pseudonym is ``P`` and 16 hex digits, as
#: :func:`labforensics.privacy.pseudonymise` writes). Spaces, dots and dashes between
#: digit groups are allowed. A value of another shape (words, sentences) is no identifier.
_IDENTIFIER_SHAPE = r"\d{1,20}|[1-478]\d{4}(?:\d{2}|2[AB])\d{6}(?:\d{2})?|P[0-9a-f]{16}"


def _check_leak_list(path: Path) -> None:
    """An identifier list must give at least one identifier (every line accounted for),
    and at least one of its values must have an identifier's shape (``_IDENTIFIER_SHAPE``):
    a file of words or sentences is refused, never weighed (QA, session 4: a leak list of
    junk gave a conclusion built on nothing)."""

    df, report = _read_leak_lines(path)
    if len(df) == 0:
        raise EvidenceError(
            f"leak file {path} holds no identifier ({report['lines_read']:,} line(s), "
            f"{report['malformed']:,} malformed); expected {EXPECTED['leak']}"
        )
    skip = {n.lower() for n in (*_LAB_NAMES, *_DATE_NAMES)} | {"_line"}
    cols = [c for c in df.columns if str(c).strip().lower() not in skip]
    for c in cols:
        v = df[c].astype("string").str.strip().str.replace(r"[\s.\-\u00a0]", "", regex=True)
        if bool(v.str.fullmatch(_IDENTIFIER_SHAPE).fillna(False).any()):
            return
    raise EvidenceError(
        f"leak file {path}: none of its {len(df):,} row(s) holds an identifier (an IPP of "
        f"digits, a NIR or a pseudonym P + 16 hex digits); expected {EXPECTED['leak']}"
    )


def _check_header(path: Path, role: str, mappings: Sequence[Any]) -> None:
    """A patient index or dump file must start with a header of known column names
    (unless a column mapping is given, or its first line is a fixed-width layout)."""

    first = check_text_file(path, role)
    if mappings and choose_mapping(tuple(mappings), path.name, first) is not None:
        return
    if not any(c in first for c in _SEPARATORS) and infer_fixed_width(first) is not None:
        return
    try:
        _known_header(path, first, sniff_separator(first))
    except EvidenceError as exc:
        raise EvidenceError(f"{_ROLE_NAMES[role]} {exc}; expected {EXPECTED[role]}") from exc


def _check_transfers(path: Path, case: Any) -> tuple[pd.DataFrame, str]:
    """A transfer log must hold at least one xferlog line, or none at all (0 bytes or
    blank lines only: a server that logged no transfer in the period, which the
    findings state as "0 FTP transfers read"; QA session 19: it stopped the run);
    returns its refused lines (``source_file``, ``source_line``, ``reason``, ``raw``)
    and its encoding note (the undecodable bytes' count and lines, ``""`` when none)."""
    try:
        check_text_file(path, "transfers")
    except EvidenceError:
        t = read_transfers(path, case=case) if path.is_file() else None
        r = t.report if t is not None else None
        if r is None or r.rows_read > r.ignored or r.replacement_chars or r.truncated:
            raise  # unreadable, binary, undecodable, damaged: not an empty log
        return t.quarantine, t.report.encoding_note
    t = read_transfers(path, case=case)
    r = t.report
    if len(t.transfers) == 0 and r.rows_read > r.ignored:
        raise EvidenceError(
            f"transfer log {path}: none of its {r.rows_read:,} line(s) is an xferlog "
            f"transfer; expected {EXPECTED['transfers']}"
        )
    return t.quarantine, r.encoding_note


class CompanionCheck(NamedTuple):
    """What :func:`check_companions` sets aside: transfer-log junk lines, skipped dump
    files; and the transfer log's undecodable bytes (its ``encoding_note``)."""

    transfer_quarantine: pd.DataFrame
    leak_skipped: list[tuple[Path, str]]
    transfer_encoding: str = ""


def check_companions(
    *,
    leak: Path | None,
    leak_is_dump: bool,
    leak_files: Iterable[Path],
    patient_files: Iterable[Path],
    transfers: Path | None,
    case: Any = None,
    out: Path | None = None,
) -> CompanionCheck:
    """Open and check the leak, the patient indexes and the transfer log (see module).

    Parameters
    ----------
    leak : path or None
        The leak as given (a file, or a folder of dump files).
    leak_is_dump : bool
        Whether it is a dump of people (else a list of identifiers).
    leak_files, patient_files : iterable of path
        The dump's files (when a dump) and the patient index files.
    transfers : path or None
        The xferlog.
    case : CaseContext, optional
        Its ``leak_mappings`` (column mappings) and time zone.
    out : path, optional
        The output folder. With a dump to link, the system temporary folder
        (``TMPDIR``, where the linkage spills raw names) is refused when inside it or
        the working folder (:func:`labforensics.leak._temp_folder.check_temp_folder`): up
        front, not when the linkage stage opens its connection.

    Returns
    -------
    CompanionCheck
        ``transfer_quarantine`` (pandas.DataFrame): the transfer log's lines that are
        not xferlog transfers (blank lines aside), one row each: ``source_file``
        (string), ``source_line`` (Int64, 1-based), ``reason`` and ``raw`` (string,
        capped and redacted), as ``quarantine.csv``; empty without a transfer log
        (a junk line was dropped with no trace: QA, session 4).
        ``leak_skipped`` (list of (pathlib.Path, str)): the files of a dump FOLDER
        that fail the checks (binary, undecodable, no known header...), each with
        the one-line reason: skipped, as an evidence folder lists and skips a file
        no reader recognises. Empty otherwise. ``transfer_encoding`` (str): how many
        byte sequences of the transfer log are not UTF-8 (read as U+FFFD) and on which
        lines (:attr:`labforensics.transfers.Transfers.report`'s ``encoding_note``),
        ``""`` when none.

    Raises
    ------
    EvidenceError
        On the first file that fails, naming it and what was expected; for a dump
        folder, only when none of its files passes (naming the first failure).
    ParameterError
        With a dump to link, ``TMPDIR`` inside the working or the output folder.
    """
    if leak is not None and leak_is_dump:  # the linkage's spill folder, checked first
        check_temp_folder([out] if out is not None else ())
    maps: Sequence[Any] = tuple(getattr(case, "leak_mappings", ()) or ())
    if maps:
        maps = load_mappings(list(maps))
    skipped: list[tuple[Path, str]] = []
    if leak is not None and not leak_is_dump:
        check_text_file(leak, "leak")
        _check_leak_list(Path(leak))
    elif leak is not None:
        files = [Path(f) for f in leak_files]
        folder = Path(leak).is_dir()
        errors: list[EvidenceError] = []
        for f in files:
            try:
                _check_header(f, "leak", maps)
            except EvidenceError as exc:
                if not folder:
                    raise
                errors.append(exc)
                skipped.append((f, str(exc)))
        if files and len(skipped) == len(files):
            raise EvidenceError(
                f"no readable dump file in the leak folder {leak} ({len(files):,} file(s)); "
                f"the first: {errors[0]}"
            )
    for f in patient_files:
        _check_header(Path(f), "patient_index", maps)
    if transfers is not None:
        tq, note = _check_transfers(Path(transfers), case)
        return CompanionCheck(tq, skipped, note)
    return CompanionCheck(
        pd.DataFrame(columns=["source_file", "source_line", "reason", "raw"]), skipped
    )


def first_recognised(
    files: Sequence[Path], profile: Any = None
) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The first evidence file a reader recognises, else why none was.

    Parameters
    ----------
    files : sequence of path
        The evidence files (expanded), in the order read.
    profile : str, path or list, optional
        The ingest profiles (as :func:`labforensics.read_evidence`).

    Returns
    -------
    first : path or None
        The first recognised file; None when none is.
    why : list of (path, reason)
        For each file looked at before it: why no reader took it.
    """

    profs = load_profiles(
        list(profile) if isinstance(profile, Iterable) and not isinstance(profile, str) else profile
    )
    why: list[tuple[Path, str]] = []
    for f in files:
        try:
            head = read_head(f)
        except (OSError, LabForensicsError) as exc:
            why.append((f, f"unreadable: {getattr(exc, 'strerror', None) or exc}"))
            continue
        spec, _ = _choose_profile_reader(head, f.name, tuple(profs))
        if spec is not None:
            return f, why
        why.append((f, unrecognised_reason(f, head)))
    return None, why


_YEARLESS = re.compile(_RTS)
#: A line starting with an RFC 3164 month and day (bytes): the cheap first look that
#: spares the sniffing of the files that cannot be such logs (a case of 60,000 LIS
#: files reads 4 KiB of each, not 64).
_MONTH_DAY = re.compile(rb"(?m)^(?:<\d{1,3}>)?[A-Za-z]{3} {1,2}\d{1,2} ")
#: Bytes of that first look.
_FIRST_LOOK = 4096
#: Lines of a head looked at for an RFC 3164 timestamp (``Mar  3 10:00:00``, no year).
YEAR_SAMPLE_LINES = 200
#: How to give the year, in every interface (the message is the same in all of them).
YEAR_OPTIONS = "--year YYYY on the command line, year=YYYY in Python, [ingest] year in case.toml"


def yearless_syslog(files: Sequence[Path], profile: Any = None) -> list[Path]:
    """The syslog files whose lines carry no year (RFC 3164 timestamps).

    Such a line's year is not in the evidence: the reader takes it from the caller
    (``year=``). Without it every event line is quarantined, and a run "succeeded"
    with no event (QA session 9, item 3). One 64 KiB head is read per file.

    Parameters
    ----------
    files : sequence of path
        The evidence files (expanded).
    profile : str, path or list, optional
        The ingest profiles (as :func:`labforensics.read_evidence`): a file a profile
        reads is not a syslog file here.

    Returns
    -------
    list of Path
        Files read by the ``syslog_auth`` reader of which at least one of the first
        :data:`YEAR_SAMPLE_LINES` lines has a timestamp of month, day and time but no
        year. An unreadable file is left to the other checks. A file none of whose
        first :data:`_FIRST_LOOK` bytes starts a line with a month and a day is not
        sniffed (one small read per file).
    """
    profs = load_profiles(
        list(profile) if isinstance(profile, Iterable) and not isinstance(profile, str) else profile
    )
    found: list[Path] = []
    for f in files:
        try:
            if not _MONTH_DAY.search(read_head(f, _FIRST_LOOK)):
                continue
            head = read_head(f)
        except (OSError, LabForensicsError):
            continue
        spec, _ = _choose_profile_reader(head, f.name, tuple(profs))
        if spec is None or spec.name != "syslog_auth":
            continue
        lines = head.decode("utf-8", errors="replace").splitlines()[:YEAR_SAMPLE_LINES]
        for line in lines:
            m = _YEARLESS.match(line)
            if m is not None and m.group("mon") and not m.group("yr"):
                found.append(f)
                break
    return found


def require_year(files: Sequence[Path], profile: Any = None, year: Any = None) -> None:
    """Refuse syslog evidence without a year when no year is given, before any stage.

    Parameters
    ----------
    files : sequence of path
        The evidence files (expanded).
    profile : str, path or list, optional
        The ingest profiles.
    year : int or mapping, optional
        The year given (``--year``, ``year=``, ``[ingest] year``); anything but None
        lets the files through (the reader applies it).

    Raises
    ------
    ParameterError
        When ``year`` is None and :func:`yearless_syslog` finds files: one line
        naming up to three of them and every way to give the year.
    """
    if year is not None:
        return
    found = yearless_syslog(files, profile)
    if found:
        names = ", ".join(f.name for f in found[:3])
        more = f" and {len(found) - 3:,} more" if len(found) > 3 else ""
        raise ParameterError(
            f"syslog lines without a year (RFC 3164, 'Mar  3 10:00:00') in {names}{more}: "
            f"give the year of their first line ({YEAR_OPTIONS}); without it none of "
            "their events can be dated"
        )
