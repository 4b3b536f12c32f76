"""The per-lab window estimator on sequences worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta

from labforensics.attribution import AttributionParams
from labforensics.attribution.windows import _window_one

H = 3600 * 10**9  # one hour in ns
A = 0.01  # bound_alpha


def _run(leaked, censored=None, **kw):
    leaked = np.asarray(leaked, dtype=bool)
    fs = np.arange(len(leaked), dtype=np.int64) * H
    cens = np.zeros(len(leaked), bool) if censored is None else np.asarray(censored, bool)
    return _window_one(fs, leaked, cens, AttributionParams(**kw))


def _m(x, n):
    """Back-off run: q^m < A with q the 99% Clopper-Pearson upper bound of x/n."""
    q = beta.ppf(1 - A, x + 1, n - x)
    return math.ceil(math.log(A) / math.log(q))


def _k(z, n):
    """Forward run: (1 - p)^k < A with p the 99% lower bound of the completeness (n - z)/n."""
    miss = beta.ppf(1 - A, z + 1, n - z)
    return max(1, math.ceil(math.log(A) / math.log(miss)))


def test_full_extraction_exact_bracket():
    w = _run([1] * 60 + [0] * 40)
    # none of the 30 patients after the copy is leaked: q <= 14%, so back off m = 3
    m = _m(0, 30)
    assert m == 3 and w["support_after"] == m
    # completeness 1 seen on 58 patients: its lower bound asks for k = 2 not-leaked
    k = _k(0, 60 - m + 1)
    assert k == 2 and w["support_before"] == k
    assert (w["after"], w["before"]) == ((60 - m) * H, (60 + k - 1) * H)
    assert w["completeness"] == 1.0 and w["n_late_leaked"] == 0


def test_late_leaked_are_violations_not_bounds():
    seq = [1] * 60 + [0] * 40
    seq[80] = seq[95] = 1  # two old patients first seen late, in the leak
    w = _run(seq, post_sample=40)
    m = _m(2, 40)  # q = 2/40 measured, its upper bound used
    assert w["post_share"] == pytest.approx(0.05) and w["support_after"] == m
    k = _k(0, 60 - m + 1)
    assert (w["after"], w["before"]) == ((60 - m) * H, (60 + k - 1) * H)
    assert w["n_late_leaked"] == 2


def test_returning_patients_widen_lower_bound():
    # after the copy at 60 h, every other first-seen patient is an old one coming back
    seq = [1] * 60 + [i % 2 == 1 for i in range(40)]
    w = _run(seq, post_sample=40)
    m = _m(20, 40)
    assert w["post_share"] == pytest.approx(0.5) and w["support_after"] == m
    # not-leaked patients at 60, 62, 64 ... h bound the copy from above
    k = _k(0, 60 - m + 1)
    assert (w["after"], w["before"]) == ((60 - m) * H, (60 + 2 * (k - 1)) * H)


def test_filtered_extraction_upper_bound_from_run_length():
    seq = [i % 2 == 0 for i in range(80)] + [False] * 40
    w = _run(seq)
    # half the patients before the copy were taken, none after: m = 3 (clean tail)
    after = 78 - 2 * (_m(0, 30) - 1)
    assert w["after"] == after * H
    n_up, z = after + 1, after // 2  # patients up to `after`, of which not leaked
    assert w["completeness"] == pytest.approx((n_up - z) / n_up)
    k = _k(z, n_up)
    # the k-th not-leaked patient after `after`: odd indexes, then the clean tail
    tail = [i for i in range(after + 1, 120) if i % 2 == 1 or i >= 80]
    assert w["support_before"] == k and w["before"] == tail[k - 1] * H


def test_censored_patients_left_out_of_lower_bound():
    seq = [1] * 10 + [0] * 90
    w = _run(seq, censored=[True] * 10 + [False] * 90)
    # every leaked patient is censored: no lower bound, and it says so
    assert w["after"] is None and "censored" in w["note"]


def test_no_drop_means_open_upper_bound():
    w = _run([1] * 50)
    assert w["after"] == 49 * H and w["before"] is None and "no drop" in w["note"]


def test_onset_before_a_later_burst():
    # copy at 60: 60 leaked, then 20 with a third not leaked, then a burst of old patients
    # (all leaked) brought into view by a logging change, then the clean tail
    seq = [1] * 60 + [i % 3 != 0 for i in range(20)] + [1] * 60 + [0] * 60
    w = _run(seq)
    # the largest drop is at 140, but the onset test finds the start of not-leaked at 60
    assert w["horizon_method"] == "onset"
    assert w["after"] < 60 * H <= w["before"] < 140 * H
