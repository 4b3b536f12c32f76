"""The slim session scores kept a file a lab (:class:`labforensics.scored_labs.ScoredLabs`,
issue 17): every frame it gives is the rows of the whole table it stands for (order,
index, dtypes), and the helpers read the same values from either."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labforensics.report.session_scores import session_scores_table
from labforensics.scored_labs import ScoredLabs, column, flagged_ids, n_flagged


def _whole(labs: list[str | None], flagged: list[bool]) -> pd.DataFrame:
    """A slim score table in rank order: one row per lab given, ranks 1..n."""
    n = len(labs)
    return pd.DataFrame({
        "session_id": pd.array([f"s{i:03d}" for i in range(n)], dtype="string[pyarrow]"),
        "lab": pd.array(labs, dtype="string[pyarrow]"),
        "account": pd.array([f"a{i % 3}" for i in range(n)], dtype="string[pyarrow]"),
        "score": np.linspace(10.0, 0.0, n) if n else np.zeros(0),
        "rank": np.arange(1, n + 1, dtype=np.int64),
        "flagged": np.array(flagged, dtype=bool),
        "reasons": pd.Series([["r1", "r2"] if f else pd.NA for f in flagged], dtype=object),
        "rule_x": np.array(flagged, dtype=bool),
    })  # fmt: skip


def _kept(tmp_path, whole: pd.DataFrame) -> ScoredLabs:
    """``whole`` kept a file a lab, each lab's rows in rank order with their positions."""
    kept = ScoredLabs(tmp_path)
    key = whole["lab"].fillna("\x00")
    positions = []
    for lab in pd.unique(key):
        at = np.flatnonzero((key == lab).to_numpy())
        kept.add(whole.iloc[at].reset_index(drop=True))
        positions.append(at)
    return kept.place(positions)


LABS = ["L02", "L01", "L02", None, "L01", "L03", "L02", None]
FLAGS = [True, False, True, False, False, True, False, False]


def test_the_rows_of_the_whole_table(tmp_path):
    whole = _whole(LABS, FLAGS)
    kept = _kept(tmp_path, whole)
    assert len(kept) == 8 and kept.n_flagged == n_flagged(whole) == 3
    pd.testing.assert_frame_equal(kept.whole(), whole, check_exact=True)
    # a lab's rows: those of the table, index their rank positions
    pd.testing.assert_frame_equal(kept.lab("L02"), whole.iloc[[0, 2, 6]], check_exact=True)
    pd.testing.assert_frame_equal(kept.lab(None), whole.iloc[[3, 7]], check_exact=True)
    # labs in the order pd.factorize meets them, missing first (campaign_labs' order)
    assert kept.labs() == [None, "L02", "L01", "L03"]
    pd.testing.assert_frame_equal(kept.head(3), whole.head(3).set_axis(
        pd.Index([0, 1, 2], dtype="int64")), check_exact=True)  # fmt: skip
    assert kept.head(0).empty and len(kept.head(50)) == 8
    assert flagged_ids(kept).tolist() == flagged_ids(whole).tolist() == ["s000", "s002", "s005"]
    pd.testing.assert_series_equal(column(kept, "score"), whole["score"])
    got = kept.having(["s006", "s001", "nope"])
    assert got["session_id"].tolist() == ["s001", "s006"] and got.index.tolist() == [1, 6]


def test_the_findings_view_is_the_table_of_the_whole(tmp_path):
    whole = _whole(LABS, FLAGS)
    view = session_scores_table(_kept(tmp_path, whole))
    assert isinstance(view, ScoredLabs) and view.n_flagged == 3
    want = session_scores_table(whole)
    assert list(view.columns) == list(want.columns)
    pd.testing.assert_frame_equal(view.whole(), want, check_exact=True)
    assert view.head(2)["reasons"].tolist() == ["r1; r2", ""]
    pd.testing.assert_series_equal(column(view, "flagged"), want["flagged"])


def test_no_row(tmp_path):
    whole = _whole([], [])  # a lab without a scored session (every run has a lab)
    kept = ScoredLabs(tmp_path)
    kept.add(whole)
    kept.place([np.zeros(0, dtype=np.int64)])
    assert kept.empty and n_flagged(kept) == 0 and kept.labs() == []
    assert kept.head(5).empty and flagged_ids(kept).empty
    assert column(kept, "score").dtype == np.float64 and len(column(kept, "score")) == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["L01", "L02", "L03", None]), st.booleans()),
                min_size=1, max_size=40))  # fmt: skip
def test_any_split_gives_the_table_back(tmp_path_factory, rows):
    labs, flags = [r[0] for r in rows], [r[1] for r in rows]
    whole = _whole(labs, flags)
    kept = _kept(tmp_path_factory.mktemp("k"), whole)
    pd.testing.assert_frame_equal(kept.whole(), whole, check_exact=True)
    for lab in kept.labs():
        mask = whole["lab"].isna() if lab is None else whole["lab"] == lab
        want = whole[mask.to_numpy(dtype=bool, na_value=False)]
        pd.testing.assert_frame_equal(kept.lab(lab), want.set_axis(
            want.index.astype("int64")), check_exact=True)  # fmt: skip
    assert kept.n_flagged == sum(flags)


@pytest.mark.parametrize("k", [1, 4])
def test_head_reads_only_the_labs_holding_the_best(tmp_path, monkeypatch, k):
    kept = _kept(tmp_path, _whole(LABS, FLAGS))
    read = []
    real = ScoredLabs._read
    monkeypatch.setattr(ScoredLabs, "_read", lambda self, i: read.append(i) or real(self, i))
    kept.head(k)
    # ranks 1-4 are L02, L01, L02, None: files 0 (L02), 1 (L01), 2 (None)
    assert read == ([0] if k == 1 else [0, 1, 2])


def test_scores_repr_reads_the_head_only(tmp_path):
    from labforensics.detect import Scores

    whole = _whole(LABS, FLAGS)
    kept = _kept(tmp_path, whole)
    assert repr(Scores(session=kept)) == repr(Scores(session=whole))
    assert repr(Scores(session=kept)).startswith(
        "Scores(flagged={'session': 3})\n  session: 8 rows"
    )
