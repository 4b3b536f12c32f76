"""evaluate's average precision is scikit-learn's, and equals the hand formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labforensics.evaluate import _ap


def _hand_ap(is_pos: np.ndarray) -> float:
    """The formula evaluate used before: mean over positives of k / rank of the k-th."""
    r = np.flatnonzero(is_pos) + 1
    return float(np.mean(np.arange(1, len(r) + 1) / r))


def test_ap_by_hand():
    # positives at ranks 1, 3 and 6: (1/1 + 2/3 + 3/6) / 3
    pos = np.array([1, 0, 1, 0, 0, 1], dtype=bool)
    assert _ap(pos) == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)
    assert _ap(np.array([1, 1, 0, 0], dtype=bool)) == 1.0  # every positive first
    assert math.isnan(_ap(np.zeros(5, dtype=bool)))  # no positive: undefined


def test_ap_same_value_as_before_on_random_rankings():
    rng = np.random.default_rng(7)
    for n in (1, 2, 10, 200, 3000):
        for share in (0.01, 0.2, 0.9):
            pos = rng.random(n) < share
            if pos.any():
                # the hand formula and scikit-learn agree to rounding on every ranking
                assert _ap(pos) == pytest.approx(_hand_ap(pos), rel=1e-12, abs=1e-15)
