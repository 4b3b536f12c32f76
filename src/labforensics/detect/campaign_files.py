"""The campaigns kept a file a lab, ranked from their own small table (issue 17).

When the run keeps its events in files (the session table a file a lab:
:class:`~labforensics.session_labs.SlimLabs`), the campaigns are grouped lab by lab
(:func:`~labforensics.detect.campaign_labs.group_campaigns_by_lab`) and each lab's table
is written to the run's private folder as soon as it is made: the case's campaign table
(session ids as lists: about 25 bytes a session, 34 MiB at 11 million events) is not
held from the campaigns stage to the report. :class:`CampaignFiles` keeps per campaign
only where it is and what the stages count (21 bytes a campaign once ranked), and gives

- the counts of ``findings.json`` (:meth:`~CampaignFiles.__len__`,
  :attr:`~CampaignFiles.n_flagged`, :attr:`~CampaignFiles.flagged_sessions`);
- the rows the findings list and the report shows (the best-ranked and the flagged
  campaigns: :meth:`~CampaignFiles.rows`, :meth:`~CampaignFiles.flagged`);
- the whole table, read for ``campaigns.parquet`` and for the result of
  :func:`labforensics.investigate` once the report is written
  (:meth:`~CampaignFiles.whole`).

A campaign belongs to one (``lab``, ``account``), so each lab's table is exactly its
rows of the case's table; the ranks are the sort of
:func:`~labforensics.detect.campaign_labs.group_campaigns_by_lab` (best score, earlier
first session, campaign id) over the labs' small columns. Every frame given is the rows
of the case's table (values, dtypes, column order, ranks): the outputs are the same
bytes (``tests/test_session_labs.py``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from ..outputs import write_parquet

__all__ = ["CampaignFiles", "flagged_count", "held", "write_campaigns"]


class CampaignFiles:
    """The case's campaigns, one file a lab, in rank order by their small columns.

    Parameters
    ----------
    folder : pathlib.Path
        The run's private folder (mode 0700, removed at the end of the run): each lab's
        table is written there as ``campaigns-<i>.pkl``.

    Notes
    -----
    Memory held after :meth:`rank`: per campaign its file (int32), its row there
    (int64), whether it is flagged and its flagged sessions (int64): 21 bytes.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._paths: list[Path] = []
        self._template: pd.DataFrame | None = None
        self._keys: list[tuple[np.ndarray, ...]] = []  # per file: score, first, id, flags
        self._lab_of = np.zeros(0, dtype=np.int32)  # rank position -> file
        self._pos = np.zeros(0, dtype=np.int64)  # rank position -> row in its file
        self._flagged = np.zeros(0, dtype=bool)  # rank position -> flagged
        self._n_flagged = np.zeros(0, dtype=np.int64)  # rank position -> flagged sessions

    def add(self, table: pd.DataFrame) -> None:
        """Write one lab's campaigns (:func:`~labforensics.detect.campaigns.group_campaigns`
        of its sessions, with ``account_as_logged`` when the run adds it) to its file.

        Parameters
        ----------
        table : pandas.DataFrame
            ``(m, k)`` the lab's campaigns; not referenced afterwards.
        """
        path = self.folder / f"campaigns-{len(self._paths)}.pkl"
        with open(path, "wb") as f:
            pickle.dump(table, f, protocol=5)
        self._paths.append(path)
        if self._template is None:
            self._template = table.iloc[:0].copy()
        self._keys.append((
            table["score"].to_numpy(dtype="float64"),
            table["first"].to_numpy("datetime64[ns]").view("int64"),
            table["campaign_id"].astype(str).to_numpy(),
            table["flagged"].to_numpy(dtype=bool),
            table["n_flagged"].to_numpy(dtype="int64"),
        ))  # fmt: skip

    def rank(self) -> CampaignFiles:
        """Rank every lab's campaigns together (best score, earlier first session, campaign
        id, as :func:`~labforensics.detect.campaign_labs.group_campaigns_by_lab`); returns
        self. The labs' sort keys are dropped."""
        score, first, ids, flagged, n_flagged = (np.concatenate(k) for k in zip(*self._keys,
                                                                               strict=True))  # fmt: skip
        sizes = np.array([len(k[0]) for k in self._keys], dtype=np.int64)
        self._keys = []
        cs = np.where(np.isnan(score), -np.inf, score)
        order = np.lexsort((ids, first, -cs))
        del score, first, ids, cs
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self._lab_of = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)[order]
        self._pos = order - starts[self._lab_of]
        self._flagged = flagged[order]
        self._n_flagged = n_flagged[order]
        return self

    def __len__(self) -> int:
        return len(self._pos)

    @property
    def columns(self) -> pd.Index:
        """The campaign table's columns."""
        assert self._template is not None
        return self._template.columns

    @property
    def n_flagged(self) -> int:
        """Flagged campaigns (``campaigns["flagged"].sum()``)."""
        return int(self._flagged.sum())

    @property
    def flagged_sessions(self) -> int:
        """Flagged sessions in the campaigns (``campaigns["n_flagged"].sum()``)."""
        return int(self._n_flagged.sum())

    @property
    def flagged_mask(self) -> np.ndarray:
        """``(m,)`` bool, in rank order: whether each campaign is flagged."""
        return self._flagged

    def _load(self, i: int) -> pd.DataFrame:
        with open(self._paths[i], "rb") as f:
            return pickle.load(f)  # the run's own file, written by add()

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """The campaigns at ``positions`` (0-based rank positions, increasing), as
        ``table.iloc[positions]`` of the case's table (values, dtypes, ``rank``, index
        the positions), read lab by lab.

        Parameters
        ----------
        positions : numpy.ndarray
            ``(r,)`` int, increasing.

        Returns
        -------
        pandas.DataFrame
            ``(r, k)``, in rank order.
        """
        positions = np.asarray(positions, dtype=np.int64)
        assert self._template is not None
        if not len(positions):
            return self._template.copy()
        lo = self._lab_of[positions]
        parts = []
        for i in np.unique(lo):
            mine = positions[lo == i]
            part = self._load(int(i)).iloc[self._pos[mine]]
            parts.append(part.assign(rank=mine + 1))  # the case's ranks
        out = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        inv = np.empty(len(positions), dtype=np.int64)  # the parts' rows -> rank order
        inv[np.argsort(lo, kind="stable")] = np.arange(len(positions))
        out = out.iloc[inv]
        out.index = pd.Index(positions, dtype="int64")
        return out[list(self._template.columns)]

    def flagged(self) -> pd.DataFrame:
        """The flagged campaigns in rank order, index reset
        (``table[table["flagged"]].reset_index(drop=True)``)."""
        return self.rows(np.flatnonzero(self._flagged)).reset_index(drop=True)

    def whole(self) -> pd.DataFrame:
        """The case's campaign table, whole (``RangeIndex``)."""
        out = self.rows(np.arange(len(self), dtype=np.int64))
        return out.set_axis(pd.RangeIndex(len(out)))


def flagged_count(campaigns: pd.DataFrame | CampaignFiles) -> int:
    """Flagged campaigns of a table or of :class:`CampaignFiles`."""
    if isinstance(campaigns, CampaignFiles):
        return campaigns.n_flagged
    return int(campaigns["flagged"].sum())


def held(campaigns: pd.DataFrame | CampaignFiles | None) -> pd.DataFrame | None:
    """The campaign table itself (read whole from :class:`CampaignFiles`)."""
    return campaigns.whole() if isinstance(campaigns, CampaignFiles) else campaigns


def write_campaigns(campaigns: pd.DataFrame | CampaignFiles, path: Path) -> Path:
    """``campaigns.parquet`` (:func:`labforensics.outputs.write_parquet` of the table; from
    :class:`CampaignFiles`, the table read whole for the write and let go after it)."""
    return write_parquet(held(campaigns), path)
