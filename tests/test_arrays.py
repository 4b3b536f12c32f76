"""unique_sorted (labforensics._arrays) returns what np.unique returns."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labforensics._arrays import unique_sorted

_DTYPES = st.sampled_from(["int64", "int32", "uint8", "bool", "float64", "datetime64[s]"])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), dtype=_DTYPES, shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=30))
def test_unique_sorted_is_np_unique(data, dtype, shape):
    if dtype == "datetime64[s]":
        ints = data.draw(hnp.arrays("int64", shape, elements=st.integers(-5, 5)))
        x = ints.astype("datetime64[s]")
        x[ints == 0] = np.datetime64("NaT")  # NaT collapsed and last, as np.unique does
    elif dtype == "float64":
        x = data.draw(
            hnp.arrays("float64", shape, elements=st.sampled_from([0.0, -1.5, 2.0, np.nan]))
        )
    else:
        x = data.draw(hnp.arrays(dtype, shape))
    got, want = unique_sorted(x), np.unique(x)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_empty_objects_and_large_values():
    assert unique_sorted(np.zeros(0, dtype=np.int64)).tolist() == []
    assert unique_sorted(np.array(["b", "a", "b"], dtype=object)).tolist() == ["a", "b"]
    x = np.array([2**62, -(2**62), 2**62, 0], dtype=np.int64)
    assert unique_sorted(x).tolist() == [-(2**62), 0, 2**62]
