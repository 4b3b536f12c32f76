"""The slim session table kept lab by lab in files, never whole (issue 17).

When a run keeps its events in files (a ``memory_budget`` below the evidence:
:attr:`LabRun.events_to_files <labforensics.engine.run.LabRun.events_to_files>`), the
stages after collect used to hold the case's slim session table
(:func:`~labforensics.session_files.slim_sessions`: about 107 bytes a session, 440 MB
at 4 million sessions) from collect to the report. Each of them reads it lab by lab or
for a few sessions only:

- campaigns (:func:`~labforensics.detect.campaign_labs.group_campaigns_by_lab`): each
  lab's sessions, one lab at a time, and each lab's campaigns written beside them
  (:class:`~labforensics.detect.campaign_files.CampaignFiles`);
- attribution (:func:`~labforensics.attribution.attribute`): the sessions that moved
  records (:meth:`SlimLabs.select`), and each leaked lab's sessions when its turn comes
  (:func:`lab_sessions`);
- the findings and the report: the number of sessions, the rows of the flagged
  sessions and of the flagged campaigns' sessions (:meth:`SlimLabs.select`).

:class:`SlimLabs` holds each lab's slim table in a file of the run's private folder
(pickled: the same frame comes back, dtypes and all) with, beside it, the position of
each of its sessions in the case's table (:func:`~labforensics.engine.combine.order_sessions`'
order). Every frame it gives is the rows of the case's slim table it stands for, in
that table's order, with its index (the positions) and dtypes (``lab`` and ``account``
``category`` with the case's categories): the same frame as the whole table's rows,
so the stages give the same outputs, byte for byte (``tests/test_session_labs.py``).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

__all__ = ["SlimLabs", "lab_sessions"]

#: The columns :func:`~labforensics.session_files.slim_sessions` makes ``category`` of
#: text (``session_files._CODED``): their categories are each lab's, made the case's
#: (unioned and sorted, as the whole column's ``astype("category")`` gives them).
_CODED = ("lab", "account")


class SlimLabs:
    """The case's slim session table, one file a lab; read one lab (or a selection) at
    a time.

    Parameters
    ----------
    folder : pathlib.Path
        The run's private folder (mode 0700, removed at the end of the run): the labs'
        files ``slim-<i>.pkl`` and ``slim-<i>.pos.npy`` are written there.

    Notes
    -----
    Memory held: per lab its values of ``lab`` and the categories of the ``category``
    columns (a few bytes per account), nothing per session. Reading one lab holds its
    slim table twice at most (as read and in order).
    """

    #: The labs' files are ``<prefix>-<i>.pkl`` (and ``.pos.npy``) in the folder.
    prefix = "slim"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._paths: list[Path] = []
        self._labs: list[set[Any]] = []  # per file: its values of lab (None: missing)
        self._cats: dict[str, list[Any]] = {}  # categorical column -> each file's empty
        self._template: pd.DataFrame | None = None
        self._n = 0
        self._placed = False

    def add(self, slim: pd.DataFrame) -> None:
        """Write one lab's slim table (in the lab's own order) to its file.

        Parameters
        ----------
        slim : pandas.DataFrame
            ``(n, m)`` :func:`~labforensics.session_files.slim_sessions` of the lab's
            session table; not referenced afterwards.
        """
        path = self.folder / f"{self.prefix}-{len(self._paths)}.pkl"
        with open(path, "wb") as f:
            pickle.dump(slim, f, protocol=5)
        self._paths.append(path)
        lab = slim["lab"] if "lab" in slim.columns else pd.Series([None] * len(slim))
        self._labs.append({None if pd.isna(v) else v for v in pd.unique(lab)})
        for c in _CODED:
            if c in slim.columns and isinstance(slim[c].dtype, pd.CategoricalDtype):
                # no row: a slice would keep the lab's codes alive
                self._cats.setdefault(c, []).append(pd.Categorical([], dtype=slim[c].dtype))
        if self._template is None:
            self._template = slim.iloc[:0].copy()
        self._n += len(slim)

    def place(self, positions: list[np.ndarray]) -> SlimLabs:
        """Give each lab's sessions their positions in the case's table; returns self.

        Parameters
        ----------
        positions : list of numpy.ndarray
            One per lab, in the order of :meth:`add`: ``(n_i,)`` int64, the position
            in the case's table of each of the lab's sessions (in the lab's order).
        """
        for path, pos in zip(self._paths, positions, strict=True):
            np.save(path.with_suffix(".pos.npy"), np.asarray(pos, dtype="int64"))
        self._cats = {c: union_categoricals(e, sort_categories=True).categories
                      for c, e in self._cats.items()}  # fmt: skip
        self._template = self._typed(self._template)
        self._placed = True
        return self

    def _typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the case's categories on its ``category`` columns."""
        for c, cats in self._cats.items():
            frame[c] = frame[c].cat.set_categories(cats)
        return frame

    def __len__(self) -> int:
        return self._n

    @property
    def empty(self) -> bool:
        """Whether the case has no session."""
        return self._n == 0

    @property
    def columns(self) -> pd.Index:
        """The slim table's columns."""
        assert self._template is not None
        return self._template.columns

    @property
    def template(self) -> pd.DataFrame:
        """The slim table with no row (its columns and dtypes)."""
        assert self._template is not None
        return self._template

    def _read(self, i: int) -> pd.DataFrame:
        """Lab file ``i``'s rows in the case's order, index their positions there."""
        with open(self._paths[i], "rb") as f:
            slim = pickle.load(f)
        pos = np.load(self._paths[i].with_suffix(".pos.npy"))
        order = np.argsort(pos, kind="stable")
        out = slim.take(order)
        del slim
        out.index = pd.Index(pos[order], dtype="int64")
        return self._typed(out)

    def parts(self) -> Iterator[pd.DataFrame]:
        """Each lab file's rows (:meth:`_read`), one at a time."""
        assert self._placed, "place() first"
        for i in range(len(self._paths)):
            yield self._read(i)

    def lab(self, lab: Any) -> pd.DataFrame:
        """The sessions of ``lab`` (None: those without a lab), as the rows of the
        case's slim table ``table[table["lab"] == lab]`` (its order, index, dtypes)."""
        assert self._placed, "place() first"
        got = []
        for i, labs in enumerate(self._labs):
            if lab in labs:
                f = self._read(i)
                keep = f["lab"].isna() if lab is None else f["lab"] == lab
                got.append(f[keep.to_numpy(dtype=bool, na_value=False)])
        return self._joined(got)

    def select(self, keep: Callable[[pd.DataFrame], Any]) -> pd.DataFrame:
        """The rows of the case's slim table where ``keep`` holds, read lab by lab.

        Parameters
        ----------
        keep : callable
            ``keep(frame)``: a boolean mask of ``frame``'s rows (a lab's slim rows).

        Returns
        -------
        pandas.DataFrame
            ``table[keep(table)]`` of the case's slim table (same order, index and
            dtypes), when ``keep`` is decided row by row.
        """
        got = []
        for f in self.parts():
            mask = np.asarray(keep(f), dtype=bool)
            got.append(f[mask])
            del f
        return self._joined(got)

    def having(self, session_ids: Any) -> pd.DataFrame:
        """The rows of the sessions ``session_ids`` (:meth:`select` on ``session_id``)."""
        ids = set(pd.Series(session_ids, dtype="object").dropna().astype(str))
        return self.select(lambda f: f["session_id"].astype(str).isin(ids).to_numpy())

    def whole(self) -> pd.DataFrame:
        """The case's slim table, whole (``RangeIndex``): for the cases a stage cannot
        read lab by lab (the case-wide test of unexplained reads of the campaigns)."""
        out = self.select(lambda f: np.ones(len(f), dtype=bool))
        return out.set_axis(pd.RangeIndex(len(out)))

    def _joined(self, got: list[pd.DataFrame]) -> pd.DataFrame:
        if not got:
            return self.template.copy()
        out = got[0] if len(got) == 1 else pd.concat(got).sort_index(kind="stable")
        return out


def lab_sessions(sessions: pd.DataFrame | SlimLabs, lab: str) -> pd.DataFrame:
    """The sessions of ``lab`` (compared as text): ``sessions[sessions["lab"] == lab]`` of
    a table, or the lab read from its file (:meth:`SlimLabs.lab`)."""
    if isinstance(sessions, SlimLabs):
        return sessions.lab(lab)
    return sessions[sessions["lab"].astype("string") == lab]
