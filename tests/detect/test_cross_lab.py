"""Peer baselines across labs are computed from per-lab summaries only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labforensics.features.baselines import cross_lab_z, lab_summaries


def _table():
    x = pd.Series([1, 2, 3, 4, 5, 11, 12, 13, 14, 15], dtype="float64")
    lab = pd.Series(["A"] * 5 + ["B"] * 5, dtype="object")
    peer = pd.Series([0] * 10)
    return x, lab, peer


def test_cross_lab_z_by_hand():
    x, lab, peer = _table()
    s = lab_summaries(x, lab, peer).set_index("lab")
    # each lab: median 3 / 13, MAD 1, upper spread (q75 - median) / 0.6745 = 1 / 0.6745
    assert s.loc["A", "median"] == 3 and s.loc["B", "median"] == 13
    assert s.loc["A", "mad"] == 1 and s.loc["A", "tail"] == pytest.approx(1 / 0.6745)
    z, med = cross_lab_z(x, peer, s.reset_index(), min_scale=1.0, min_count=5)
    # median of the lab medians (equal weights) = 8; scale = 1.4826 * MAD of the lab
    # medians (|3 - 8| = |13 - 8| = 5) = 7.413, above the within-lab spreads
    assert med.iloc[0] == 8.0
    assert z.iloc[9] == pytest.approx((15 - 8) / (1.4826 * 5))


def test_lab_by_lab_summaries_give_the_same_z():
    rng = np.random.default_rng(0)
    x = pd.Series(rng.poisson(20, 300).astype("float64"))
    lab = pd.Series(rng.choice(["A", "B", "C"], 300), dtype="object")
    peer = pd.Series(rng.integers(0, 3, 300))
    whole = lab_summaries(x, lab, peer)
    # each lab summarised alone, then only the summaries put together
    parts = pd.concat(
        [lab_summaries(x[lab == lb], lab[lab == lb], peer[lab == lb]) for lb in "ABC"],
        ignore_index=True,
    )
    z1, _ = cross_lab_z(x, peer, whole, 1.0, 5)
    z2, _ = cross_lab_z(x, peer, parts, 1.0, 5)
    assert np.allclose(z1.to_numpy(), z2.to_numpy(), equal_nan=True)
    assert z1.notna().all()


def test_too_few_values_give_no_baseline():
    x = pd.Series([1.0, 2.0, 3.0])
    peer = pd.Series([0, 0, 0])
    s = lab_summaries(x, pd.Series(["A"] * 3, dtype="object"), peer)
    z, med = cross_lab_z(x, peer, s, 1.0, 5)  # 3 values < 5
    assert z.isna().all() and med.isna().all()
