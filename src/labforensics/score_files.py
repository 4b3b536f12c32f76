"""The scored tables: outputs of their own, written after detection, not held by the run.

Detection scores three units (:data:`labforensics.engine.lab.UNITS`). The stages after it
need little of them: campaigns the session scores, flags, reasons and rules fired;
attribution the session scores and ranks; the findings and the report the session
scores table (:func:`labforensics.report.findings.session_scores_table`). The tables
themselves are large (the session table some 370 bytes a session with its detector and
feature columns, the account-day table about as large: together about 3 GB at 33 million
events), so right after detection :func:`set_aside` writes each to the run's private
folder (:class:`~labforensics.case_events.EventsFolder`), drops the account-level ones
and keeps of the session table only :func:`slim_session_scores`; :func:`move_into`
then moves the files into the output folder with the other outputs, where
:class:`~labforensics.result.LazyScores` reads them when a notebook asks (issue 17: peak
memory must not grow with columns no stage needs). The files are the bytes the whole
tables would have been written as at the end. A run over its ``memory_budget`` never holds
the whole tables: detection writes the same files and slim table itself, from each lab's
scored rows in files (:mod:`labforensics.engine.score_spill`).

Files (registered in :data:`labforensics.outputs.OUTPUT_NAMES`, hashed in
``manifest.json``): :data:`SCORE_FILES`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from .detect import Scores
from .outputs import write_parquet

__all__ = ["ACCOUNT_SCORE_FILES", "SCORE_FILES", "move_into", "set_aside", "slim_session_scores"]

#: Unit -> output file name of its scored table (columns as in
#: :class:`labforensics.detect.Scores`, sorted by ``rank``).
SCORE_FILES: dict[str, str] = {
    "session": "scores.parquet",
    "account_day": "scores_account_day.parquet",
    "account_month": "scores_account_month.parquet",
}
#: The account-level units' files.
ACCOUNT_SCORE_FILES: dict[str, str] = {u: f for u, f in SCORE_FILES.items() if u != "session"}

#: Columns of the session scores the later stages read (campaigns, attribution, findings).
SLIM_COLUMNS: tuple[str, ...] = ("session_id", "lab", "account", "score", "rank", "flagged",
                                 "reasons")  # fmt: skip


def slim_session_scores(table: pd.DataFrame) -> pd.DataFrame:
    """The columns of the session scores that the stages after detection read.

    Parameters
    ----------
    table : pandas.DataFrame
        ``(n, k)`` session scores (:attr:`labforensics.detect.Scores.session`).

    Returns
    -------
    pandas.DataFrame
        ``(n, m)``, same rows and order: :data:`SLIM_COLUMNS` that are present, then every
        ``rule_<id>`` column as bool (fired: value > 0, which is all
        :func:`~labforensics.detect.campaigns.group_campaigns` reads of it; a missing
        value is not fired). Detector and feature columns are left out.
    """
    keep = [c for c in SLIM_COLUMNS if c in table.columns]
    out = table[keep].copy()
    for c in table.columns:
        if str(c).startswith("rule_"):
            out[c] = pd.to_numeric(table[c], errors="coerce").fillna(0).to_numpy() > 0
    return out


def set_aside(scores: Scores, folder: Path) -> dict[str, Path]:
    """Write the scored tables of ``scores`` into ``folder``; keep only what later stages read.

    Parameters
    ----------
    scores : Scores
        Detection's result, changed in place: ``account_day`` and ``account_month`` set
        to None, ``session`` replaced by :func:`slim_session_scores` of it. The metadata
        stays.
    folder : pathlib.Path
        The run's private folder (mode 0700, removed at the end of the run).

    Returns
    -------
    dict of str to pathlib.Path
        Unit -> the file written (units not scored are absent).

    Raises
    ------
    OSError
        When the folder cannot be written (the run stops: nothing is lost silently).
    """
    files: dict[str, Path] = {}
    for unit, name in SCORE_FILES.items():
        table = getattr(scores, unit)
        if table is None:
            continue
        files[unit] = write_parquet(table, folder / name)
        setattr(scores, unit, slim_session_scores(table) if unit == "session" else None)
        del table
    return files


def move_into(files: dict[str, Path], out: Path) -> dict[str, Path]:
    """Move the files of :func:`set_aside` into the output folder ``out``.

    Returns
    -------
    dict of str to pathlib.Path
        Unit -> its output file (the same bytes: the file is moved, not rewritten).
    """
    moved: dict[str, Path] = {}
    for unit, path in files.items():
        target = out / SCORE_FILES[unit]
        shutil.move(str(path), target)
        moved[unit] = target
    return moved
