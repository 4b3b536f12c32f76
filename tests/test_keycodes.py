"""Key codes (labforensics._keycodes) give what pandas' groupby and MultiIndex give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labforensics._keycodes import group_codes, row_lookup
from labforensics.schema import STRING

_VALUES = st.sampled_from(["L01", "L02", "a", "b", "é", "", None])


def _col(values: list, kind: str):
    if kind == "arrow":
        return pd.Series(values, dtype=STRING)
    if kind == "object":
        return np.array([np.nan if v is None else v for v in values], dtype=object)
    return pd.Series(values, dtype="object")


def _reference_codes(cols) -> np.ndarray:
    df = pd.DataFrame({i: pd.Series(c).to_numpy(dtype=object) for i, c in enumerate(cols)})
    return df.groupby(list(range(len(cols))), sort=False, dropna=False).ngroup().to_numpy()


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(_VALUES, _VALUES, st.integers(0, 3)), min_size=1, max_size=40),
    kinds=st.tuples(
        st.sampled_from(["arrow", "object", "series"]), st.sampled_from(["arrow", "object"])
    ),
)
def test_group_codes_number_groups_as_groupby_ngroup(rows, kinds):
    a, b, c = (list(x) for x in zip(*rows, strict=True))
    cols = [_col(a, kinds[0]), _col(b, kinds[1]), np.asarray(c)]
    assert group_codes(*cols).tolist() == _reference_codes(cols).tolist()


@settings(max_examples=150, deadline=None)
@given(
    keys=st.lists(st.tuples(_VALUES, _VALUES), min_size=0, max_size=12, unique=True),
    query=st.lists(st.tuples(_VALUES, _VALUES), min_size=1, max_size=40),
    kinds=st.tuples(st.sampled_from(["arrow", "object"]), st.sampled_from(["arrow", "object"])),
)
def test_row_lookup_is_multiindex_get_indexer(keys, query, kinds):
    kc = [_col([k[i] for k in keys], kinds[0]) for i in range(2)]
    qc = [_col([q[i] for q in query], kinds[1]) for i in range(2)]
    ref = pd.MultiIndex.from_arrays([pd.Series(c).to_numpy(dtype=object) for c in kc])
    want = ref.get_indexer(
        pd.MultiIndex.from_arrays([pd.Series(c).to_numpy(dtype=object) for c in qc])
    ) if len(keys) else np.full(len(query), -1)  # fmt: skip
    assert row_lookup(kc, qc).tolist() == want.tolist()


def test_missing_values_are_one_value_and_match_each_other():
    # None, NaN and pd.NA are the same key, as in groupby(dropna=False)
    col = np.array(["x", None, np.nan, pd.NA, "x"], dtype=object)
    assert group_codes(col).tolist() == [0, 1, 1, 1, 0]
    keys = [pd.Series(["L1", None], dtype=STRING)]
    assert row_lookup(keys, [np.array([np.nan, "L1", "L2"], dtype=object)]).tolist() == [1, 0, -1]


def test_wide_keys_do_not_overflow():
    # four columns of 50,000 distinct values: the product (6.25e18) exceeds int64;
    # the combined code is re-factorised on the way, rows stay distinct
    n = 50_000
    cols = [np.arange(n) * k for k in (1, 3, 7, 11)]
    assert len(np.unique(group_codes(*cols))) == n
    assert row_lookup(cols, [c[::-1] for c in cols]).tolist() == list(range(n - 1, -1, -1))


def test_duplicate_keys_and_bad_shapes_are_refused():
    with pytest.raises(pd.errors.InvalidIndexError):
        row_lookup([["a", "a"]], [["a"]])
    with pytest.raises(ValueError, match="same, non-zero column count"):
        row_lookup([["a"]], [["a"], ["b"]])
    with pytest.raises(ValueError, match="different lengths"):
        group_codes(["a", "b"], ["c"])
