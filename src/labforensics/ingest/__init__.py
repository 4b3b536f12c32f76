"""Ingestion: evidence files -> the canonical event table, with full accounting.

:func:`read_evidence` is the entry point. The pipeline, per call::

    expand paths (files, folders walked recursively, globs)
      -> hash each file (SHA-256, read-only)                       custody manifest
      -> sniff the first 64 KiB of decompressed bytes             registry of readers
      -> reader.read(path, ctx)                                   raw events + accounting
      -> order files by (date in file name, path)                 evidence order
      -> a file written newest first read bottom-up               clock.line_order
      -> rotation de-duplication between consecutive files of one lab
      -> a byte-identical copy's every row a duplicate of its original's       _copies
      -> lab aliases (FINESS -> lab code), missing lab -> "UNKNOWN"
      -> pseudonymise (lab, IPP) with the case key               privacy
      -> redact free text, quarantined lines, field-problem values
      -> canonical accounts, addresses, hosts (as written: *_raw)  labforensics.identity
      -> coerce, sort by (ts, seq), validate; check the accounting identity

Rotation rule (``shared/formats/lis-audit-csv.md``): for consecutive files of
the same lab whose reader declares ``rotation=True``, the largest ``k`` such
that the last ``k`` records of the previous file equal the first ``k`` records
of the later file (compared on their raw text) are rotation duplicates of the
later file. A record repeated within one file is a real event and is kept.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from .._arrow_pool import arrow_memory_pool
from .._repr import short_repr
from ..case import CaseContext, case_key_of, resolve_fact
from ..custody import EvidenceFile
from ..errors import ParameterError
from ..labcodes import lab_alias_map
from ..privacy import CaseKey, load_case_key
from . import readers  # noqa: F401  (importing the package registers every reader)
from ._account_case import case_variant_accounts
from ._assemble import (
    _canonical_identities,
    _check_account_kinds,
    _set_session_rule,
    apply_lab_aliases,
    canonical_events,
    field_problem_table,
    file_reports,
    pool_rows,
    quarantine_table,
    read_bottom_up,
)
from ._copies import forget_copies, identical_copies
from ._engine import (
    add_file_notes,
    collect,
    read_contexts,
    read_units,
    report_links,
    report_symlinks,
)
from ._event_checks import event_problems
from ._name_labs import lab_name_mismatches, lab_name_note, name_labs
from ._numeric_ids import numeric_identifier_counts
from ._structured_ids import redact_structured_columns
from .accounting import IngestReport
from .files import common_root, expand_paths
from .profiles import Profile, load_profiles
from .protection import pseudonymise_sorting, redact_free_text
from .rotation import _rotation

__all__ = ["Evidence", "read_evidence"]


PathLike = str | os.PathLike[str]
#: ``read_evidence(profile=...)``: one profile (built-in name, TOML path, Profile) or several.
ProfileArg = str | os.PathLike[str] | Profile | Iterable[str | os.PathLike[str] | Profile] | None


@dataclass(frozen=True)
class Evidence:
    """The result of :func:`read_evidence`.

    Attributes
    ----------
    events : pandas.DataFrame
        The canonical event table (:mod:`labforensics.schema`), sorted by
        ``ts`` then ``seq``; patients pseudonymised, free text redacted.
    report : IngestReport
        Per-file accounting (rows read = events + rotation duplicates +
        repeated headers + ignored + quarantined), unrecognised files,
        field problems, unknown codes.
    quarantine : pandas.DataFrame
        ``source_file`` (string), ``source_line`` (Int64), ``reason`` (string),
        ``raw`` (string, redacted): every input row that did not become an event.
    manifest : list of EvidenceFile
        Every input file (recognised or not) with its size (bytes) and SHA-256.
    case_key_fingerprint : str
        Public fingerprint of the case key used for the pseudonyms.
    """

    events: pd.DataFrame
    report: IngestReport
    quarantine: pd.DataFrame
    manifest: list[EvidenceFile] = field(default_factory=list)
    case_key_fingerprint: str = ""

    def __repr__(self) -> str:
        return short_repr("Evidence", {"events": self.events, "quarantine": self.quarantine},
                          {"events": len(self.events), "quarantined": len(self.quarantine),
                           "files": len(self.manifest)})  # fmt: skip

    def manifest_table(self) -> pd.DataFrame:
        """The manifest as a DataFrame: path, source_file, size (bytes), sha256, format."""
        cols = ["path", "source_file", "size", "sha256", "format"]
        return pd.DataFrame([m.to_dict() for m in self.manifest], columns=cols)


def read_evidence(
    paths: PathLike | Iterable[PathLike],
    *,
    tz: str | dt.tzinfo | None = None,
    profile: ProfileArg = None,
    case_key: CaseKey | bytes | str | os.PathLike[str] | None = None,
    year: int | Mapping[str, int] | None = None,
    lab: str | Mapping[str, str] | None = None,
    lab_aliases: Mapping[str, str] | None = None,
    account_kinds: Mapping[str, str] | None = None,
    progress: bool = False,
    case: CaseContext | None = None,
) -> Evidence:
    """Read evidence files into the canonical event table, with full accounting.

    Parameters
    ----------
    paths : path-like or iterable of path-like
        Files, folders (walked recursively, sorted) or glob patterns. The
        result does not depend on the order they are given in.
    tz : str or tzinfo, optional
        IANA zone (or a tzinfo) of sources that write local wall-clock time
        without offset: the case's time zone (``case.tz``, else
        :data:`labforensics.case.DEFAULT_TZ`). Never guessed from the machine's
        settings.
    profile : str, path-like, Profile, or a list of them, optional
        Profiles (built-in names or TOML files, see
        :mod:`labforensics.ingest.profiles`). Each file is read with the first
        profile that recognises it (its header line or pattern, else its name
        by ``file_pattern``); a file no profile recognises goes to the built-in
        readers, and one that none recognises is set aside as unrecognised
        (``report.unrecognised_reasons`` names the profiles tried), never
        quarantined row by row.
    case_key : CaseKey, bytes, hex str or key-file path, optional
        Key of the patient pseudonyms (see :func:`labforensics.privacy.load_case_key`).
    year : int or mapping, optional
        Year for sources whose lines carry none (RFC 3164 syslog): one year, or
        ``{path, folder or glob: year}`` (the most specific key wins), e.g. a
        rotated ``auth.log.1`` from December and ``auth.log`` from January.
    lab : str or mapping, optional
        Lab of sources that do not name one: one code, or
        ``{path, folder or glob: lab}`` (the most specific key wins).
    lab_aliases : mapping, optional
        FINESS number (or other alias) -> lab code, applied to the ``lab`` column.
    account_kinds : mapping, optional
        Account -> ``staff``/``vendor``/``service``/``unknown`` overrides, matched on
        the canonical account (:mod:`labforensics.identity`: NFC; case-folded for a
        source whose accounts are case-insensitive), so every spelling takes the kind.
    progress : bool, default False
        Show a progress bar (tqdm), one step per file.
    case : CaseContext, optional
        The case's facts: ``tz``, ``lab_aliases`` and ``account_kinds`` where the
        keywords above are not given (a keyword that contradicts the case is refused),
        and the key file (``case.key_file``) when ``case_key`` is not given.

    Returns
    -------
    Evidence
        ``events`` holds accounts, addresses and host names in canonical form, as
        written in ``account_raw``, ``src_ip_raw``, ``host_raw``; a file written
        newest first is read bottom-up (``report.reversed_files``; a file whose line
        order cannot be told is listed in ``report.unclear_order_files``).

    Raises
    ------
    EvidenceError
        When a path does not exist or a file cannot be opened.
    ProfileError
        When ``profile`` is invalid.
    ParameterError
        When ``tz`` is not a known zone, ``account_kinds`` gives a kind outside
        :data:`labforensics.schema.ACCOUNT_KINDS` or two kinds to one canonical account,
        or a keyword contradicts ``case``.

    Notes
    -----
    Arrow buffers are allocated from jemalloc during the call (see
    :mod:`labforensics._arrow_pool`): with pyarrow's default mimalloc the read
    spends about a third of its CPU time in page faults.
    """
    where = "read_evidence"
    tz = resolve_fact("tz", tz, case, where)
    lab_aliases = resolve_fact("lab_aliases", lab_aliases, case, where)
    account_kinds = resolve_fact("account_kinds", account_kinds, case, where)
    case_key = case_key_of(case_key, case)
    with arrow_memory_pool():
        return _read_evidence(
            paths,
            tz=tz,
            profile=profile,
            case_key=case_key,
            year=year,
            lab=lab,
            lab_aliases=lab_aliases,
            account_kinds=account_kinds,
            progress=progress,
        )


def _check_years(year: int | Mapping[str, int] | None) -> None:
    """``year`` (one, or one per path) within the accepted timestamp range, 1900-2189.

    Raises
    ------
    ParameterError
        A year that is not an integer in that range (every line of the sources it
        applies to would be quarantined as out of range).
    """
    values = list(year.values()) if isinstance(year, Mapping) else [year]
    for y in values:
        if y is None:
            continue
        if isinstance(y, bool) or not isinstance(y, int) or not 1900 <= y <= 2189:
            raise ParameterError(
                f"year={y!r}: give the year of the sources' lines, an integer from 1900 to 2189"
            )


def _read_evidence(
    paths: PathLike | Iterable[PathLike],
    *,
    tz: str | dt.tzinfo,
    profile: object,
    case_key: CaseKey | bytes | str | os.PathLike[str] | None,
    year: int | Mapping[str, int] | None,
    lab: str | Mapping[str, str] | None,
    lab_aliases: Mapping[str, str] | None,
    account_kinds: Mapping[str, str] | None,
    progress: bool,
) -> Evidence:
    try:
        zone = tz if isinstance(tz, dt.tzinfo) else ZoneInfo(tz)
    except (KeyError, ValueError, OSError, TypeError) as exc:
        raise ParameterError(
            f"tz={tz!r} is not an IANA time zone; use a tz database name such as 'America/New_York'"
        ) from exc
    _check_years(year)
    profs = load_profiles(
        list(profile) if isinstance(profile, Iterable) and not isinstance(profile, str) else profile
    )
    aliases = lab_alias_map(lab_aliases)  # canonical: l07 is L07 (QA 13)
    kinds = dict(account_kinds or {})
    _check_account_kinds(kinds)
    links: dict[Path, str] = {}
    symlinks: dict[Path, tuple[Path, Path | None]] = {}
    items = expand_paths(paths, links, symlinks)
    root = common_root([p for p, _ in items] or list(links) or list(symlinks))
    key = load_case_key(case_key)
    report = IngestReport()
    report_links(links, root, report)
    notes = report_symlinks(symlinks, root, report)  # links not read: report.skipped
    lab_notes: list[dict[str, object]] = []
    context = read_contexts(zone=zone, year=year, lab=lab, aliases=aliases, kinds=kinds)
    # --- sniff, plan units of work, read them on the worker pool (_engine) ---------------
    jobs, units, results, no_profile = read_units(
        items, root, profs, context, progress=progress, notes=notes
    )
    # --- one pool of rows: pieces (a batch's table or one file's), files within them -----
    pieces, hashes, files, manifest = collect(jobs, units, results, report, key, no_profile)
    del results, units
    # --- evidence order; a file written newest first is read bottom-up (_assemble) --------
    pool = pool_rows(pieces, hashes, files, jobs, aliases)
    del pieces, hashes
    line_order, reversed_file = read_bottom_up(pool)
    # --- rotation de-duplication -----------------------------------------------------------
    # (each profile's reader carries the profile's rotation flag: no profile passed here)
    skip = _rotation(
        pool.raw, pool.rhash, pool.hashed, files, pool.f_start, pool.f_count, pool.row_file, None
    )
    # a byte-identical copy's rows are its original's, wherever it falls in the order,
    # whatever its format (_copies): none of its rows gives an event
    skip, copy = identical_copies(
        files, [manifest[f.job].sha256 for f in files], pool.f_count, skip
    )
    _set_session_rule(pool.raw, files, [j[3] for j in jobs])
    pool.rhash = None
    # --- lab aliases; a row without a lab -> UNKNOWN (noted per file) ----------------------
    apply_lab_aliases(pool, aliases, jobs, lab_notes)
    forget_copies(files, copy, jobs, report, lab_notes)  # their lines: the original's
    # --- per-file report ---------------------------------------------------------------------
    reads = file_reports(pool, jobs, manifest, skip, line_order, reversed_file, report, copy)
    add_file_notes(report, notes)  # read through a link; name and bytes disagree (.gz)
    if "_record" in pool.raw.columns:
        del pool.raw["_record"]
    # --- pseudonymise (lab, IPP) and requests once per distinct pair, while the pool -------
    # --- is sorted by evidence order (seq), then (ts, seq) ---------------------------------
    lab_codes, lab_vals, keyed = pseudonymise_sorting(pool, skip, key)
    # --- redact free text: details, quarantined lines, field-problem values ---------------
    qrows, fprows = redact_free_text(
        pool, reads, jobs, lab_codes, lab_vals, keyed, key, aliases, lab_notes
    )
    # --- identities: canonical accounts, addresses, hosts (as written kept in *_raw) -------
    _canonical_identities(
        pool.raw, kinds, any_case_insensitive=any(f.spec.accounts_case_insensitive for f in files)
    )
    # --- NIRs written in structured columns (a NIR as a login): keyed ids, after the -------
    # --- canonical forms so that a case-folded host keeps its id as made ------------------
    report.identifiers_in_columns = redact_structured_columns(pool.raw, key)
    # --- canonical table (already sorted by (ts, seq)) -------------------------------------
    events = canonical_events(pool)
    report.case_variant_accounts = case_variant_accounts(events)  # Jdupont / jdupont
    # a file named for one lab holding another lab's rows: said per file (QA 17)
    report.lab_name_mismatches = lab_name_mismatches(events, name_labs(files, jobs), aliases)
    add_file_notes(report, {m["source_file"]: lab_name_note(m) for m in report.lab_name_mismatches})
    quarantine = quarantine_table(qrows)
    fprows += event_problems(events, report.files, fprows)  # in the future, no account
    # a NIR in a numeric column was withheld by the reader (_numeric_ids): listed too
    for col, n in numeric_identifier_counts(fprows).items():
        report.identifiers_in_columns[col] = report.identifiers_in_columns.get(col, 0) + n
    report.identifiers_in_columns = dict(sorted(report.identifiers_in_columns.items()))
    report.field_problems = field_problem_table(fprows)
    report.unrecognised.sort()
    report.check()
    return Evidence(
        events=events,
        report=report,
        quarantine=quarantine,
        manifest=manifest,
        case_key_fingerprint=key.fingerprint,
    )
