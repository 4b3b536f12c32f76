"""The slim session scores kept lab by lab in files, never whole (issue 17).

When a run keeps its events in files (a ``memory_budget`` below the evidence), detection
ranks every lab's scored sessions together
(:class:`~labforensics.engine.score_spill.ScoreSpill`) and the stages after it read the
slim session scores (:func:`~labforensics.score_files.slim_session_scores`: session id,
lab, account, score, rank, flag, reasons and the rules fired; about 95 bytes a session,
some 390 MB at 4 million sessions). Each of them reads them lab by lab or for a few
sessions only:

- campaigns (:func:`~labforensics.detect.campaign_labs.group_campaigns_by_lab`): each
  lab's scored sessions, one lab at a time (:meth:`ScoredLabs.lab`);
- attribution (:func:`~labforensics.attribution.attribute`): the scores of the sessions
  that moved records (:meth:`ScoredLabs.having`);
- the findings and the report: the number of sessions and of flagged sessions, the best
  ranked (:meth:`ScoredLabs.head`), the flagged sessions' ids (:func:`flagged_ids`), the best
  sessions of the flagged campaigns (:meth:`ScoredLabs.having`), and every score for the
  histogram (:func:`column`: one column, 8 bytes a session, while the figure is drawn).

:class:`ScoredLabs` is :class:`~labforensics.session_labs.SlimLabs` with the rank as the
position: each lab's scored sessions in a file of the run's private folder, in rank
order, each with its position in the case's ranking. Every frame it gives is the rows of
the case's slim scores it stands for, in rank order, with its index (the positions) and
dtypes, so the stages give the same outputs, byte for byte
(``tests/engine/test_score_spill.py``, ``tests/test_scored_labs.py``). The helpers
below take either the whole table (a run held in memory) or a :class:`ScoredLabs`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .session_labs import SlimLabs

__all__ = ["ScoredLabs", "column", "flagged_ids", "n_flagged"]


class ScoredLabs(SlimLabs):
    """The case's slim session scores, one file a lab, each row at its rank position.

    Parameters
    ----------
    folder : pathlib.Path
        The run's private folder (mode 0700, removed at the end of the run): the labs'
        files ``scored-<i>.pkl`` and ``scored-<i>.pos.npy`` are written there.
    convert : callable, optional
        Applied to every frame read (a lab's rows, with their index): a view of the same
        files in another shape (:meth:`view`).

    Notes
    -----
    Memory held: per lab its values of ``lab`` and the count of its flagged sessions;
    nothing per session. Reading one lab holds its rows twice at most.
    """

    prefix = "scored"

    def __init__(self, folder: Path,
                 convert: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> None:  # fmt: skip
        super().__init__(folder)
        self._convert = convert
        self._flagged = 0
        self._firsts: list[int] = []  # per file: the rank position of its best session

    def add(self, slim: pd.DataFrame) -> None:
        """Write one lab's slim scores (in rank order) to its file.

        Parameters
        ----------
        slim : pandas.DataFrame
            ``(n, m)`` the lab's rows of the case's slim session scores, in rank order;
            not referenced afterwards.
        """
        if "flagged" in slim.columns:
            self._flagged += int(slim["flagged"].fillna(False).astype(bool).sum())
        super().add(slim)

    def place(self, positions: list[np.ndarray]) -> ScoredLabs:
        """Give each lab's rows their rank positions (0 for the best-ranked session of
        the case); returns self.

        Parameters
        ----------
        positions : list of numpy.ndarray
            One per lab, in the order of :meth:`add`: ``(n_i,)`` int64, increasing.
        """
        self._firsts = [int(p[0]) if len(p) else -1 for p in positions]
        super().place(positions)
        return self

    def view(self, convert: Callable[[pd.DataFrame], pd.DataFrame]) -> ScoredLabs:
        """The same files read through ``convert`` (each frame read, index kept)."""
        other = ScoredLabs.__new__(ScoredLabs)
        other.__dict__.update(self.__dict__)
        other._convert = convert
        return other

    def _read(self, i: int) -> pd.DataFrame:
        out = super()._read(i)
        return out if self._convert is None else self._convert(out)

    @property
    def template(self) -> pd.DataFrame:
        """The table with no row (its columns and dtypes, as read)."""
        t = super().template
        return t.copy() if self._convert is None else self._convert(t.copy())

    @property
    def columns(self) -> pd.Index:
        """The table's columns, as read."""
        return self.template.columns

    @property
    def n_flagged(self) -> int:
        """The number of flagged sessions."""
        return self._flagged

    def labs(self) -> list[Any]:
        """The labs (None: sessions without a lab) in the order of their best-ranked
        session, as ``pd.factorize`` meets them in the case's table, missing first."""
        first: dict[Any, int] = {}
        for labs, at in zip(self._labs, self._firsts, strict=True):
            for lab in labs:
                first[lab] = min(first.get(lab, at), at)
        return sorted(first, key=lambda lab: (lab is not None, first[lab]))

    def head(self, n: int) -> pd.DataFrame:
        """The ``n`` best-ranked rows (index their positions)."""
        got = []
        for i, at in enumerate(self._firsts):
            if 0 <= at < n:
                f = self._read(i)
                got.append(f[f.index.to_numpy() < n])
        return self._joined(got)

    def column(self, name: str) -> pd.Series:
        """One column of every row, in rank order (``RangeIndex``)."""
        parts = [f[name] for f in self.parts()]
        if not parts:
            return self.template[name].reset_index(drop=True)
        out = pd.concat(parts).sort_index(kind="stable")
        return out.reset_index(drop=True)


def n_flagged(table: pd.DataFrame | ScoredLabs | None) -> int:
    """The number of flagged sessions of the session scores (0 for none)."""
    if table is None or not len(table):
        return 0
    if isinstance(table, ScoredLabs):
        return table.n_flagged
    return int(table["flagged"].sum())


def flagged_ids(table: pd.DataFrame | ScoredLabs) -> pd.Series:
    """The flagged sessions' ids, in rank order."""
    if isinstance(table, ScoredLabs):
        got = table.select(lambda f: f["flagged"].fillna(False).astype(bool).to_numpy())
        return got["session_id"]
    return table.loc[table["flagged"].fillna(False).astype(bool), "session_id"]


def column(table: pd.DataFrame | ScoredLabs, name: str) -> pd.Series:
    """One column of the session scores, in rank order."""
    return table.column(name) if isinstance(table, ScoredLabs) else table[name]
