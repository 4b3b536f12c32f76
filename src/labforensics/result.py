"""The result of :func:`labforensics.investigate`: the output folder, the findings and
the stages' results, with a one-screen summary and a short repr."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from ._repr import HEAD_ROWS, short_repr
from .attribution import Attribution
from .attribution.labels import verdict_label
from .detect import Scores
from .ingest import Evidence
from .report.findings import summary_text
from .sessions import Sessions

#: The scored units, as :class:`~labforensics.detect.Scores` names them.
UNITS = ("session", "account_day", "account_month")

__all__ = ["EventsLoader", "InvestigationResult", "LazyEvidence", "LazyScores", "LazySessions",
           "result_events"]  # fmt: skip


class EventsLoader:
    """The loader :func:`result_events` returns: called, the run's whole event table
    (with ``session_id``), read once; without reading it, its row count and first rows
    (what a repr shows) when the run kept its events in files."""

    def __init__(self, events: Any, parquet: Path) -> None:
        self._events = events
        self._parquet = parquet
        self._cache: list[pd.DataFrame] = []
        #: whether the events wait in files: then ``events.parquet`` is what loads
        self.spilled = bool(events.is_spilled()) if hasattr(events, "is_spilled") else False

    @property
    def loaded(self) -> bool:
        """Whether the whole table was read."""
        return bool(self._cache)

    def __call__(self) -> pd.DataFrame:
        if not self._cache:
            self._cache.append(
                pd.read_parquet(self._parquet) if self.spilled else self._events.to_frame()
            )
        return self._cache[0]

    def rows(self) -> int:
        """Number of events (from the held parts or the Parquet footer: nothing read)."""
        if self._cache:
            return len(self._cache[0])
        if self.spilled:
            return int(pq.ParquetFile(self._parquet).metadata.num_rows)
        return len(self._events)

    def head(self) -> pd.DataFrame:
        """The first :data:`~labforensics._repr.HEAD_ROWS` events: from the loaded table,
        or the first record batch of ``events.parquet`` (the whole table is not read)."""
        if self._cache or not self.spilled:
            return self().head(HEAD_ROWS)
        return _parquet_head(self._parquet)


def _parquet_head(path: Path) -> pd.DataFrame:
    """The first :data:`~labforensics._repr.HEAD_ROWS` rows of a Parquet file (its first
    record batch only; an empty table with the file's columns when it has no rows)."""
    pf = pq.ParquetFile(path)
    batch = next(pf.iter_batches(batch_size=HEAD_ROWS), None)
    return batch.to_pandas() if batch is not None else pf.schema_arrow.empty_table().to_pandas()


def result_events(events: Any, parquet: Path) -> EventsLoader:
    """A loader of the run's whole event table (with ``session_id``), called once.

    From the case's events held in memory (:meth:`CaseEvents.to_frame
    <labforensics.case_events.CaseEvents.to_frame>`), or, when the run kept them in
    files (a ``memory_budget`` below the evidence: the files are gone after the run),
    read from the run's ``events.parquet`` (its private ``_`` columns were never
    written). Nothing is loaded until a notebook asks for ``.events``; the reprs of
    :class:`LazySessions` and :class:`LazyEvidence` read the file's first rows only.
    """
    return EventsLoader(events, parquet)


class LazySessions(Sessions):
    """:class:`~labforensics.sessions.Sessions` of a finished run whose ``events`` are
    loaded on first use (:func:`result_events`): the run never held them whole; and,
    given as a path (a run that kept its events in files), so is its session table
    (``sessions.parquet``, read on first use)."""

    def __init__(self, sessions: pd.DataFrame | Path, params: Any,
                 load: Callable[[], pd.DataFrame]) -> None:  # fmt: skip
        object.__setattr__(self, "_sessions", sessions)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "_load", load)

    @property  # type: ignore[override]
    def sessions(self) -> pd.DataFrame:
        """The session table (read from ``sessions.parquet`` on first use when the run
        handed its path)."""
        if isinstance(self._sessions, Path):
            object.__setattr__(self, "_sessions", pd.read_parquet(self._sessions))
        return self._sessions

    @sessions.setter
    def sessions(self, value: pd.DataFrame) -> None:
        object.__setattr__(self, "_sessions", value)

    @property  # type: ignore[override]
    def events(self) -> pd.DataFrame:
        """Every event with ``session_id``, in evidence order."""
        return self._load()

    def __repr__(self) -> str:  # first rows only: neither table read whole
        ld = self._load
        if not isinstance(ld, EventsLoader) or not ld.spilled or ld.loaded:
            return super().__repr__()
        if isinstance(self._sessions, Path):
            head = _parquet_head(self._sessions)
            n = int(pq.ParquetFile(self._sessions).metadata.num_rows)
        else:
            head, n = self._sessions, len(self._sessions)
        rows = {"sessions": n, "events": ld.rows()}
        return short_repr("Sessions", {"sessions": head, "events": ld.head()}, rows,
                          rows=rows)  # fmt: skip


class LazyEvidence(Evidence):
    """:class:`~labforensics.ingest.Evidence` of a finished run whose ``events`` are
    loaded on first use (:func:`result_events`, without ``session_id``)."""

    def __init__(self, evidence: Evidence, load: Callable[[], pd.DataFrame]) -> None:
        for f in fields(evidence):
            if f.name != "events":
                object.__setattr__(self, f.name, getattr(evidence, f.name))
        object.__setattr__(self, "_load", load)

    @property  # type: ignore[override]
    def events(self) -> pd.DataFrame:
        """Every event, in evidence order (no ``session_id``)."""
        ev = self._load()
        return ev.drop(columns="session_id") if "session_id" in ev.columns else ev

    def __repr__(self) -> str:  # first rows only: the event table is not read whole
        ld = self._load
        if not isinstance(ld, EventsLoader) or not ld.spilled or ld.loaded:
            return super().__repr__()
        head = ld.head()
        head = head.drop(columns="session_id") if "session_id" in head.columns else head
        n = ld.rows()
        return short_repr("Evidence", {"events": head, "quarantine": self.quarantine},
                          {"events": n, "quarantined": len(self.quarantine),
                           "files": len(self.manifest)}, rows={"events": n})  # fmt: skip


class LazyScores(Scores):
    """:class:`~labforensics.detect.Scores` of a finished run whose tables are read from
    the output folder on first use: the run wrote them there after detection and kept
    only the columns its later stages read (:mod:`labforensics.score_files`).

    Parameters
    ----------
    scores : Scores
        The run's scores (metadata; tables set aside, or held when none was).
    files : dict of str to pathlib.Path
        ``"session"`` / ``"account_day"`` / ``"account_month"`` -> its Parquet output
        (:data:`~labforensics.score_files.SCORE_FILES`); a unit without a file has the
        table ``scores`` holds (None: not scored).
    """

    def __init__(self, scores: Scores, files: dict[str, Path]) -> None:
        object.__setattr__(self, "metadata", scores.metadata)
        object.__setattr__(self, "_files", dict(files))
        held = {u: getattr(scores, u) for u in UNITS if u not in files}
        object.__setattr__(self, "_cache", held)

    def _table(self, unit: str) -> pd.DataFrame | None:
        if unit not in self._cache:
            self._cache[unit] = pd.read_parquet(self._files[unit])
        return self._cache[unit]

    @property  # type: ignore[override]
    def session(self) -> pd.DataFrame | None:
        """Session scores (``scores.parquet``: every column), read on first use."""
        return self._table("session")

    @session.setter
    def session(self, value: pd.DataFrame | None) -> None:
        self._cache["session"] = value

    @property  # type: ignore[override]
    def account_day(self) -> pd.DataFrame | None:
        """Account-day scores (``scores_account_day.parquet``), read on first use."""
        return self._table("account_day")

    @account_day.setter
    def account_day(self, value: pd.DataFrame | None) -> None:
        self._cache["account_day"] = value

    @property  # type: ignore[override]
    def account_month(self) -> pd.DataFrame | None:
        """Account-month scores (``scores_account_month.parquet``), read on first use."""
        return self._table("account_month")

    @account_month.setter
    def account_month(self, value: pd.DataFrame | None) -> None:
        self._cache["account_month"] = value

    def __repr__(self) -> str:  # the session table's first rows only: no table read whole
        units = (self.metadata or {}).get("units", {})
        flagged = {u: m.get("n_flagged") for u, m in units.items() if "n_flagged" in m}
        if "session" in self._cache or "session" not in self._files:
            return short_repr("Scores", {"session": self._cache.get("session")},
                              {"flagged": flagged})  # fmt: skip
        path = self._files["session"]
        return short_repr("Scores", {"session": _parquet_head(path)}, {"flagged": flagged},
                          rows={"session": pq.ParquetFile(path).metadata.num_rows})  # fmt: skip


@dataclass
class InvestigationResult:
    """What :func:`investigate` returns.

    Attributes
    ----------
    out : pathlib.Path
        The output folder.
    findings : dict
        The content of ``findings.json``.
    timings : dict of str to float
        Elapsed seconds per stage (not in findings: wall-clock values).
    evidence, sessions, scores, attribution : Evidence, Sessions, Scores, Attribution
        The stages' results, for further work in a notebook.
    key_file : pathlib.Path or None
        The case key file used (None when the key came from the environment).
    campaigns : pandas.DataFrame or None
        ``campaigns.parquet``'s table
        (:func:`labforensics.detect.campaigns.group_campaigns`).
    pdf_note : str
        Why ``report.pdf`` was not written (empty when it was).
    """

    out: Path
    findings: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    evidence: Evidence | None = None
    sessions: Sessions | None = None
    scores: Scores | None = None
    attribution: Attribution | None = None
    key_file: Path | None = None
    campaigns: pd.DataFrame | None = None
    pdf_note: str = ""

    @property
    def verdict(self) -> str:
        """The verdict's code (``vendor``, ``insider``, ``outside``, ``none`` ...)."""
        return str(self.findings["verdict"]["verdict"])

    @property
    def report(self) -> Path:
        """The path of ``report.html``."""
        return self.out / "report.html"

    def summary(self) -> str:
        """One screen of text: verdict, top findings, where the report (and its PDF) is."""
        text = summary_text(self.findings, self.out, key_file=self.key_file, timings=self.timings)
        pdf = self.out / "report.pdf"
        return text + (f"\nPDF:      {pdf}" if pdf.is_file() else f"\nPDF:      {self.pdf_note}"
                       if self.pdf_note else "")  # fmt: skip

    def __repr__(self) -> str:
        c = self.findings.get("counts") or {}
        facts = {"out": str(self.out), "verdict": verdict_label(self.verdict),
                 "events": c.get("events"),
                 "sessions": c.get("sessions"), "flagged": c.get("flagged_sessions")}  # fmt: skip
        top = self.scores.session if self.scores is not None else None
        return short_repr("InvestigationResult", {"top sessions": top} if top is not None
                          else {}, facts)  # fmt: skip
