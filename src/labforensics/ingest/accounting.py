"""The ingest report: every input row accounted for, per file and in total.

The identity, checked for every file::

    rows_read = events + rotation_duplicates + repeated_headers + ignored + quarantined

where ``events`` counts input rows that became events (header lines aside).
A message naming several patients gives several canonical events from one row, and
so does a syslog repeat summary (``message repeated N times``: N events, the repeats
the log did not write out): ``events_out`` counts those, ``events`` the rows.

Each file's line order is reported (``line_order``): ``oldest_first``,
``newest_first`` (then ``reversed``: the file was read bottom-up, see
:func:`labforensics.ingest.clock.line_order`), ``unclear`` (no clear majority
of ascending or descending times, or all at one time: read as written and
flagged), or ``""`` (fewer than two events with exact times: nothing to tell).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from .._terminal import visible
from ..errors import LabForensicsError

#: How a field problem of an event dated after the analysis begins
#: (:mod:`labforensics.ingest._event_checks` words it; the accounting counts it).
FUTURE_PREFIX = "dated after the analysis"

__all__ = [
    "AccountingError",
    "FileReport",
    "IngestReport",
    "QUARANTINE_COLUMNS",
    "SYSLOG_FORMAT",
    "copies_sentence",
    "case_variants_sentence",
]

QUARANTINE_COLUMNS = ("source_file", "source_line", "reason", "raw")
#: The syslog reader's format name (:mod:`labforensics.ingest.readers.syslog`), whose
#: rows giving several events are repeat summaries, not messages naming patients.
SYSLOG_FORMAT = "syslog_auth"


def copies_sentence(copies: list[dict[str, object]], limit: int = 20) -> str:
    """The byte-identical copies in one sentence, each named with its original.

    Parameters
    ----------
    copies : list of dict
        :attr:`IngestReport.identical_copies` (or ``ingest_report.json``'s).
    limit : int, default 20
        Pairs named; the rest counted ("and N more").

    Returns
    -------
    str
        ``"N file(s) are byte-identical copies of another file (same SHA-256): B (a
        copy of A: r of its n rows counted as rotation duplicates); ..."``.
    """
    pairs = [f"{c['source_file']} (a copy of {c['copy_of']}: {int(c['rotation_duplicates']):,} "
             f"of its {int(c['rows_read']):,} rows counted as rotation duplicates)"
             for c in copies[:limit]]  # fmt: skip
    more = f"; and {len(copies) - limit:,} more (ingest_report.json)" if len(copies) > limit else ""
    return (f"{len(copies):,} file(s) are byte-identical copies of another file (same "
            f"SHA-256): " + "; ".join(pairs) + more)  # fmt: skip


class AccountingError(LabForensicsError):
    """The accounting identity does not hold for a file (a bug, never bad input)."""


@dataclass
class FileReport:
    """Accounting of one evidence file (see the module docstring for the identity).

    ``rows_recoded``: rows written in UTF-8 inside a cp1252 (single-byte) file, read
    as UTF-8; ``replacement_chars``: U+FFFD standing for undecodable bytes;
    ``encoding_note``: their lines (each field concerned is also a field problem).
    ``note``: how the file was read where it matters, ``"; "``-separated (``""`` when
    nothing): its name and its bytes disagree on compression
    (:func:`labforensics.ingest.files.compression_note`), it was read through a
    symbolic link (``"read through a symbolic link to ../store/x.csv"``, the target
    relative to the evidence root), a bare CR was read as a line end
    (:mod:`labforensics.ingest.readers.lis_csv`).
    """

    source_file: str
    path: str
    format: str | None
    size: int
    sha256: str
    rows_read: int = 0
    events: int = 0
    events_out: int = 0
    rotation_duplicates: int = 0
    repeated_headers: int = 0
    ignored: int = 0
    quarantined: int = 0
    field_problems: int = 0
    truncated: bool = False
    truncation_note: str = ""
    lab: str | None = None
    line_order: str = ""
    reversed: bool = False
    rows_recoded: int = 0
    replacement_chars: int = 0
    encoding_note: str = ""
    note: str = ""

    def check(self) -> None:
        """Raise :class:`AccountingError` when the identity does not hold."""
        total = (
            self.events
            + self.rotation_duplicates
            + self.repeated_headers
            + self.ignored
            + self.quarantined
        )
        if total != self.rows_read:
            raise AccountingError(
                f"{self.source_file}: rows_read {self.rows_read} != events {self.events} + "
                f"rotation_duplicates {self.rotation_duplicates} + repeated_headers "
                f"{self.repeated_headers} + ignored {self.ignored} + quarantined {self.quarantined}"
            )


#: Numeric columns in ``identifiers_in_columns``: their NIRs withheld, not keyed.
_NUMERIC = frozenset(("records", "bytes"))

_COUNTS = (
    "rows_read",
    "events",
    "events_out",
    "rotation_duplicates",
    "repeated_headers",
    "ignored",
    "quarantined",
    "field_problems",
)


@dataclass
class IngestReport:
    """Accounting of a whole :func:`labforensics.read_evidence` call.

    Attributes
    ----------
    files : list of FileReport
        One per recognised file, in evidence order.
    unrecognised : list of str
        Paths found (or named) that were not read: files no reader recognised,
        links that cannot be followed, paths that are not regular files.
    unrecognised_reasons : dict of str to str
        Path (as in ``unrecognised``) -> why it was not read: ``"empty file"``,
        ``"not gzip despite .gz suffix"``, ``"gzip stream cut before any data"``,
        ``"no reader recognises the header: first bytes '...'"`` (redacted, at most
        60 characters), ``"symbolic link loop"``, ``"dangling symbolic link"``,
        ``"not a regular file (named pipe (FIFO)): not read"`` (or socket, device:
        a named pipe would block the read forever).
    skipped : list of dict
        Symbolic links found (or named) that were not read, each ``{"source_file":
        the link, "reason": ...}``: ``"symbolic link to <target>, an input already read:
        not read twice"`` (read under the target's own name; ``"... already read as
        <name>: ..."`` when read under another link's name) or
        ``"symbolic link to the folder <target>: not entered"`` (as :func:`os.walk`;
        name the folder itself to read it). Targets relative to the evidence root.
        Their files are not hashed (the manifest lists what was read).
    field_problems : pandas.DataFrame
        ``source_file``, ``source_line``, ``column``, ``value`` (redacted), ``problem``.
    unknown_codes : dict
        Action code as written -> count of events mapped to ``other``.
    identifiers_in_columns : dict
        Structured column -> rows whose value held a NIR (a NIR used as a login),
        replaced by its keyed ``N`` id (:mod:`labforensics.ingest._structured_ids`);
        a numeric column (``records``, ``bytes``) -> rows whose cell held a NIR, withheld
        (missing, :mod:`labforensics.ingest._numeric_ids`).
    case_variant_accounts : list of dict
        A lab's accounts that differ only by case, kept apart as written (``lab``,
        ``accounts``, ``events`` of each: :mod:`labforensics.ingest._account_case`); the
        authorisation register matches them as one.
    lab_name_mismatches : list of dict
        Files named for one lab whose events name another (``source_file``,
        ``name_lab``, ``row_labs``, ``events``, ``events_of_name_lab``:
        :mod:`labforensics.ingest._name_labs`); the events stay with their rows' lab.
    """

    files: list[FileReport] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    unrecognised_reasons: dict[str, str] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    case_variant_accounts: list[dict[str, object]] = field(default_factory=list)
    lab_name_mismatches: list[dict[str, object]] = field(default_factory=list)
    field_problems: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["source_file", "source_line", "column", "value", "problem"]
        )
    )
    unknown_codes: dict[str, int] = field(default_factory=dict)
    identifiers_in_columns: dict[str, int] = field(default_factory=dict)

    def _sum(self, name: str) -> int:
        return int(sum(getattr(f, name) for f in self.files))

    @property
    def rows_read(self) -> int:
        return self._sum("rows_read")

    @property
    def events(self) -> int:
        return self._sum("events")

    @property
    def events_out(self) -> int:
        return self._sum("events_out")

    @property
    def rotation_duplicates(self) -> int:
        return self._sum("rotation_duplicates")

    @property
    def repeated_headers(self) -> int:
        return self._sum("repeated_headers")

    @property
    def ignored(self) -> int:
        return self._sum("ignored")

    @property
    def quarantined(self) -> int:
        return self._sum("quarantined")

    @property
    def identical_copies(self) -> list[dict[str, object]]:
        """Files whose bytes are those of another file read (the same SHA-256).

        Returns
        -------
        list of dict
            One per copy, in evidence order: ``source_file`` (the copy), ``copy_of``
            (the first file read with that SHA-256), ``sha256``, ``rows_read`` and
            ``rotation_duplicates`` (the copy's: its rows already read from the
            other file are counted there). Empty when every file differs.
        """
        first: dict[str, str] = {}
        out: list[dict[str, object]] = []
        for f in self.files:
            if f.sha256 in first:
                out.append({"source_file": f.source_file, "copy_of": first[f.sha256],
                            "sha256": f.sha256, "rows_read": f.rows_read,
                            "rotation_duplicates": f.rotation_duplicates})  # fmt: skip
            else:
                first[f.sha256] = f.source_file
        return out

    @property
    def truncated_files(self) -> list[str]:
        """``source_file`` of every file found cut short."""
        return [f.source_file for f in self.files if f.truncated]

    @property
    def reversed_files(self) -> list[str]:
        """``source_file`` of every file written newest first (read bottom-up)."""
        return [f.source_file for f in self.files if f.reversed]

    @property
    def unclear_order_files(self) -> list[str]:
        """``source_file`` of every file whose line order cannot be told (read as written)."""
        return [f.source_file for f in self.files if f.line_order == "unclear"]

    def check(self) -> None:
        """Raise :class:`AccountingError` when any file's identity does not hold."""
        for f in self.files:
            f.check()

    def to_frame(self) -> pd.DataFrame:
        """One row per file plus a final ``TOTAL`` row.

        Returns
        -------
        pandas.DataFrame
            Columns ``source_file``, ``format``, ``lab``, ``size`` (bytes), ``sha256``,
            the counts of the identity, ``events_out``, ``field_problems``,
            ``truncated``, ``truncation_note``, ``line_order``, ``reversed``,
            ``rows_recoded``, ``replacement_chars``, ``encoding_note``, ``note``.
        """
        enc = ("rows_recoded", "replacement_chars")
        cols = ["source_file", "format", "lab", "size", "sha256", *_COUNTS]
        cols += ["truncated", "truncation_note", "line_order", "reversed", *enc]
        cols += ["encoding_note", "note"]
        rows = [{c: getattr(f, c) for c in cols} for f in self.files]
        total = {c: "" for c in cols}
        total.update({c: self._sum(c) for c in (*_COUNTS, *enc)})
        total["source_file"] = "TOTAL"
        total["size"] = self._sum("size")
        total["truncated"] = bool(self.truncated_files)
        total["reversed"] = bool(self.reversed_files)
        total["format"] = total["lab"] = None
        return pd.DataFrame(rows + [total], columns=cols)

    def _emitted_why(self) -> str:
        """Why more events than rows were emitted: per kind of source, what a row that
        gives several events is (``""`` when every row gave one)."""
        extra = {True: 0, False: 0}  # syslog's repeat summaries; messages naming patients
        for f in self.files:
            extra[f.format == SYSLOG_FORMAT] += f.events_out - f.events
        why = []
        if extra[False]:
            why.append("a message naming several patients gives one event per patient")
        if extra[True]:
            why.append(
                "a syslog repeat summary ('message repeated N times', 'last message "
                "repeated N times') gives N events, one per repeat the log did not write "
                f"out: {extra[True]:,} more events than such lines"
            )
        return f" ({'; '.join(why)})" if why else ""

    def summary(self) -> str:
        """The accounting identity in words, one screen: totals, truncated files, unknowns."""
        lines = [
            f"files read: {len(self.files)}, not recognised: {len(self.unrecognised)}"
            + (f", links not read: {len(self.skipped)}" if self.skipped else ""),
            f"rows_read {self.rows_read:,} = events {self.events:,} + rotation_duplicates "
            f"{self.rotation_duplicates:,} + repeated_headers {self.repeated_headers:,} + "
            f"ignored {self.ignored:,} + quarantined {self.quarantined:,}",
            f"events emitted: {self.events_out:,}"
            + self._emitted_why()
            + f"; field problems: {len(self.field_problems):,}",
        ]
        if self.truncated_files:
            lines.append(f"truncated files: {len(self.truncated_files)}")
        if copies := self.identical_copies:
            lines.append(copies_sentence(copies))
        for f in self.files:
            if f.encoding_note:
                lines.append(f"encoding: {f.source_file}: {f.encoding_note}")
        for f in self.files:
            if f.note:
                lines.append(f"note: {f.source_file}: {f.note}")
        for label, names in (
            ("written newest first, read bottom-up", self.reversed_files),
            ("line order cannot be told, read as written", self.unclear_order_files),
        ):
            if names:
                shown = ", ".join(names[:5]) + (
                    f" (+{len(names) - 5} more)" if len(names) > 5 else ""
                )
                lines.append(f"files {label}: {len(names)}: {shown}")
        for path in self.unrecognised:
            why = self.unrecognised_reasons.get(path, "no reason recorded")
            lines.append(f"not recognised: {path}: {why}")
        for s in self.skipped:
            lines.append(f"not read: {s['source_file']}: {s['reason']}")
        if self.unknown_codes:
            codes = ", ".join(f"{k} ({v})" for k, v in sorted(self.unknown_codes.items()))
            lines.append(f"unknown action codes kept as 'other': {codes}")
        text_ids = {k: v for k, v in self.identifiers_in_columns.items() if k not in _NUMERIC}
        num_ids = {k: v for k, v in self.identifiers_in_columns.items() if k in _NUMERIC}
        if text_ids:
            cols = ", ".join(f"{k} ({v:,} rows)" for k, v in sorted(text_ids.items()))
            lines.append(f"NIRs in structured columns, replaced by their keyed ids: {cols}")
        if num_ids:
            cols = ", ".join(f"{k} ({v:,} rows)" for k, v in sorted(num_ids.items()))
            lines.append(f"NIRs in numeric columns, withheld (values missing): {cols}")
        if self.case_variant_accounts:
            lines.append(case_variants_sentence(self.case_variant_accounts))
        return "\n".join(visible(line, keep="") for line in lines)  # names, codes: evidence

    def to_dict(self) -> dict[str, object]:
        """JSON-safe summary: totals, per-file rows, unrecognised files, unknown codes."""
        return {
            "totals": {c: self._sum(c) for c in _COUNTS},
            "truncated_files": self.truncated_files,
            "identical_copies": self.identical_copies,
            "reversed_files": self.reversed_files,
            "unclear_order_files": self.unclear_order_files,
            "files": [asdict(f) for f in self.files],
            "unrecognised": list(self.unrecognised),
            "unrecognised_reasons": dict(sorted(self.unrecognised_reasons.items())),
            "skipped": [dict(s) for s in self.skipped],
            "unknown_codes": dict(sorted(self.unknown_codes.items())),
            "identifiers_in_columns": dict(sorted(self.identifiers_in_columns.items())),
            "field_problems": int(len(self.field_problems)),
            **self._date_problems(),
            # only when there are some: the findings of other cases are unchanged
            **({"case_variant_accounts": [dict(g) for g in self.case_variant_accounts]}
               if self.case_variant_accounts else {}),
            **({"lab_name_mismatches": [dict(m) for m in self.lab_name_mismatches]}
               if self.lab_name_mismatches else {}),
        }  # fmt: skip

    def _date_problems(self) -> dict[str, int]:
        """``field_problems_dates``: field problems of the event time (an implausible
        year, a date after the analysis); ``field_problems_future``: of these, the dates
        after the analysis (:mod:`labforensics.ingest._event_checks`)."""

        fp = self.field_problems
        if not len(fp):
            return {"field_problems_dates": 0, "field_problems_future": 0}
        ts = fp["column"].astype("string") == "ts"
        future = fp["problem"].astype("string").str.startswith(FUTURE_PREFIX)
        return {"field_problems_dates": int(ts.sum()), "field_problems_future": int(future.sum())}


def case_variants_sentence(groups: list[dict[str, object]], shown: int = 10) -> str:
    """The warning on a lab's accounts that differ only by case (at most ``shown``
    groups named, the rest counted).

    Parameters
    ----------
    groups : list of dict
        :attr:`IngestReport.case_variant_accounts`.
    shown : int, default 10

    Returns
    -------
    str
        E.g. ``accounts that differ only by case, kept apart as written (the
        authorisation register matches them as one; judge whether each group is one
        person): 1 group(s): L01: Jdupont (3 events) / jdupont (12 events)``.
    """

    def one(g: dict[str, object]) -> str:
        accs, ns = list(g["accounts"]), list(g["events"])  # type: ignore[call-overload]
        return f"{g['lab']}: " + " / ".join(
            f"{a} ({n:,} event{'s' if n != 1 else ''})" for a, n in zip(accs, ns, strict=True)
        )

    more = len(groups) - shown
    return (
        "accounts that differ only by case, kept apart as written (the authorisation "
        "register matches them as one; judge whether each group is one person): "
        f"{len(groups):,} group(s): "
        + "; ".join(one(g) for g in groups[:shown])
        + (f"; and {more:,} more (ingest_report.json)" if more > 0 else "")
    )
