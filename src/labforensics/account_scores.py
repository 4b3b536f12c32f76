"""The account-day and account-month scores: outputs of their own, not held by the run.

Detection scores three units (:data:`labforensics.engine.lab.UNITS`); only the session
scores are used by the stages after it (campaigns, attribution, findings, the report).
The account-day table is about as large as the session table (one row per account and
day worked, some thirty columns: about 1 GB at 33 million events), so the run does not
keep it: right after detection each account-level table is written to the run's private
folder (:class:`~labforensics.case_events.EventsFolder`) and dropped from memory
(:func:`set_aside`), then moved into the output folder with the other outputs
(:func:`move_into`), where :class:`~labforensics.result.LazyScores` reads it when a
notebook asks (issue 17: peak memory must not grow with tables no stage needs).

Files (registered in :data:`labforensics.outputs.OUTPUT_NAMES`, hashed in
``manifest.json``): :data:`ACCOUNT_SCORE_FILES`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .detect import Scores
from .outputs import write_parquet

__all__ = ["ACCOUNT_SCORE_FILES", "move_into", "set_aside"]

#: Unit -> output file name of its scored table (columns as in
#: :class:`labforensics.detect.Scores`, sorted by ``rank``).
ACCOUNT_SCORE_FILES: dict[str, str] = {
    "account_day": "scores_account_day.parquet",
    "account_month": "scores_account_month.parquet",
}


def set_aside(scores: Scores, folder: Path) -> dict[str, Path]:
    """Write the account-level scored tables of ``scores`` into ``folder`` and drop them.

    Parameters
    ----------
    scores : Scores
        Detection's result; its ``account_day`` and ``account_month`` are set to None
        (in place) once written. The session table and the metadata stay.
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
    for unit, name in ACCOUNT_SCORE_FILES.items():
        table = getattr(scores, unit)
        if table is None:
            continue
        files[unit] = write_parquet(table, folder / name)
        setattr(scores, unit, None)
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
        target = out / ACCOUNT_SCORE_FILES[unit]
        shutil.move(str(path), target)
        moved[unit] = target
    return moved
