"""The session-level scores as a plain table (``findings.json``, the report).

Split from :mod:`labforensics.report.findings` (issue 17): built without a Python loop
over every session, sharing the scored table's columns where their dtype is already
the table's, and without a sort when the rows are in rank order already (as detection
leaves them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._reasons import split_reasons
from ..scored_labs import ScoredLabs

if TYPE_CHECKING:
    from ..detect import Scores

__all__ = ["session_scores_table"]


def _reasons_list(value: Any) -> list[str]:
    if value is None or value is pd.NA:
        return []
    if isinstance(value, str):
        return split_reasons(value)  # a ";" inside parentheses stays (QA session 10)
    if isinstance(value, Iterable):
        return [str(v) for v in value if v is not None and v is not pd.NA]
    return [str(value)]


def session_scores_table(scores: Scores | pd.DataFrame | ScoredLabs
                         ) -> pd.DataFrame | ScoredLabs:  # fmt: skip
    """The session-level scores as a plain table.

    Accepts a :class:`labforensics.detect.Scores` (its session table, None when
    sessions were not scored) or a DataFrame with ``session_id`` and ``score``, or the
    slim scores kept a file a lab (:class:`~labforensics.scored_labs.ScoredLabs`).

    Returns
    -------
    pandas.DataFrame or ScoredLabs
        ``session_id`` (str), ``score`` (float64, higher is more anomalous), ``rank``
        (int64, 1 is the most anomalous), ``flagged`` (bool), ``reasons`` (str, the
        top reasons joined by ``"; "``), sorted by rank. From scores kept a file a lab:
        a view of the same files giving those columns (:meth:`ScoredLabs.view
        <labforensics.scored_labs.ScoredLabs.view>`), never the whole table.
    """
    table = scores if isinstance(scores, pd.DataFrame | ScoredLabs) else scores.session
    if isinstance(table, ScoredLabs):
        return table.view(_in_rank_order)
    if table is not None:
        table = table.reset_index(drop=True)
    return _in_rank_order(table, sort=True).reset_index(drop=True)


def _in_rank_order(table: pd.DataFrame | None, sort: bool = False) -> pd.DataFrame:
    """:func:`session_scores_table`'s columns of ``table``'s rows (index kept); sorted
    by rank with ``sort`` unless in rank order already (a lab's rows of
    :class:`~labforensics.scored_labs.ScoredLabs` are)."""
    cols = ["session_id", "score", "rank", "flagged", "reasons"]
    if table is None or "session_id" not in table.columns:
        return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in
                             zip(cols, ["string", "float64", "int64", "bool", "string"],
                                 strict=True)})  # fmt: skip
    t = table
    # columns already of the table's dtype are shared, not copied (4 M sessions: 32 MB each)
    score = (t["score"] if t["score"].dtype == np.float64
             else pd.to_numeric(t["score"], errors="coerce").astype("float64"))  # fmt: skip
    if "rank" in t.columns and t["rank"].dtype == np.int64:  # no missing rank
        rank = t["rank"]
    elif "rank" in t.columns:
        rank = pd.to_numeric(t["rank"], errors="coerce").fillna(len(t)).astype("int64")
    else:
        rank = score.rank(method="first", ascending=False).fillna(len(t)).astype("int64")
    flagged = t["flagged"].fillna(False).astype(bool) if "flagged" in t.columns else score.gt(0)
    res = pd.DataFrame({
        "session_id": t["session_id"].astype("string"),
        "score": score,
        "rank": rank,
        "flagged": flagged.to_numpy(),
        "reasons": _joined_reasons(t["reasons"] if "reasons" in t.columns else None, len(t),
                                   t.index),
    }, index=t.index, copy=False)  # fmt: skip
    r = rank.to_numpy()
    if not sort or len(r) < 2 or bool((r[1:] > r[:-1]).all()):  # ranked already: the sort
        return res  # is the identity
    return res.sort_values(["rank", "session_id"], kind="stable")


def _joined_reasons(reasons: pd.Series | None, n: int, index: pd.Index | None = None
                    ) -> pd.Series:  # fmt: skip
    """Each session's reasons joined by ``"; "`` (``""`` without any), as ``string``.

    Only the rows holding reasons are joined one by one: after detection every other
    session's reasons are blanked (:mod:`labforensics.engine.score_spill`), so the join
    runs over the flagged and best-ranked sessions, not over every session of the case."""
    out = np.full(n, "", dtype=object)
    if reasons is not None and n:
        held = reasons.notna().to_numpy()
        out[held] = ["; ".join(_reasons_list(v)) for v in reasons[held]]
    return pd.Series(out, dtype="string", index=index)
