"""session_scores_table: the same table, built without a loop over every session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt

from labforensics.report.findings import session_scores_table


def _scored(order: list[int]) -> pd.DataFrame:
    base = pd.DataFrame({
        "session_id": pd.Series(["s1", "s2", "s3", "s4", "s5"], dtype="string"),
        "lab": ["L01"] * 5,
        "score": [9.0, 7.5, 7.5, 1.0, np.nan],
        "rank": [1, 2, 3, 4, 5],
        "flagged": [True, True, False, False, False],
        # detection keeps the reasons of flagged and best-ranked rows only (lists), the
        # others blanked; a text and a ";" inside parentheses are split as written
        "reasons": [["export of 2,000 records", "night"], "a; b (x; y)", None, pd.NA,
                    np.nan],
    })  # fmt: skip
    return base.iloc[order].reset_index(drop=True)


def test_hand_worked_rows_in_rank_order() -> None:
    got = session_scores_table(_scored([0, 1, 2, 3, 4]))
    assert list(got["session_id"]) == ["s1", "s2", "s3", "s4", "s5"]
    assert list(got["rank"]) == [1, 2, 3, 4, 5]
    assert list(got["flagged"]) == [True, True, False, False, False]
    # joined with "; "; "" for the blanked rows (None, NA and a float NaN alike)
    assert list(got["reasons"]) == ["export of 2,000 records; night", "a; b (x; y)", "", "", ""]
    assert str(got["reasons"].dtype) == "string"
    assert got["score"].dtype == np.float64 and got["rank"].dtype == np.int64


def test_rows_out_of_order_sorted_by_rank() -> None:
    """Rows not in rank order: sorted (the shortcut only skips a sort that changes
    nothing), the same table as from ranked rows."""
    pdt.assert_frame_equal(session_scores_table(_scored([3, 0, 4, 2, 1])),
                           session_scores_table(_scored([0, 1, 2, 3, 4])))  # fmt: skip


def test_tied_ranks_sorted_by_session_id() -> None:
    t = _scored([0, 1, 2, 3, 4])
    t["rank"] = [1, 2, 2, 4, 5]  # a tie: not strictly increasing, so sorted
    t = t.iloc[[0, 2, 1, 3, 4]].reset_index(drop=True)
    assert list(session_scores_table(t)["session_id"]) == ["s1", "s2", "s3", "s4", "s5"]


def test_columns_shared_not_copied() -> None:
    """Issue 17: the table holds no second copy of the session-level scores (columns
    already of its dtype are shared; copy-on-write keeps the scored table unchanged)."""
    t = _scored([0, 1, 2, 3, 4])
    got = session_scores_table(t)
    for c in ("score", "rank", "flagged"):
        assert np.shares_memory(got[c].to_numpy(), t[c].to_numpy()), c
    got.loc[0, "score"] = -1.0
    assert t.loc[0, "score"] == 9.0
