"""The per-lab window estimator on sequences worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from labforensics.attribution import AttributionParams, _window_one

H = 3600 * 10**9  # one hour in ns
P = AttributionParams()


def _run(leaked, censored=None, **kw):
    leaked = np.asarray(leaked, dtype=bool)
    fs = np.arange(len(leaked), dtype=np.int64) * H
    cens = np.zeros(len(leaked), bool) if censored is None else np.asarray(censored, bool)
    return _window_one(fs, leaked, cens, AttributionParams(**kw))


def test_full_extraction_exact_bracket():
    w = _run([1] * 60 + [0] * 40)
    # last leaked patient at 59 h, first not-leaked at 60 h
    assert (w["after"], w["before"]) == (59 * H, 60 * H)
    assert w["completeness"] == 1.0 and w["support_before"] == 1 and w["n_late_leaked"] == 0


def test_late_leaked_are_violations_not_bounds():
    seq = [1] * 60 + [0] * 40
    seq[80] = seq[95] = 1  # two old patients first seen late, in the leak
    w = _run(seq, post_sample=40)
    # q = 2/40 after the break: 0.05^2 < 1%, so the lower bound backs off 2 leaked patients
    assert w["post_share"] == pytest.approx(0.05) and w["support_after"] == 2
    assert (w["after"], w["before"]) == (58 * H, 60 * H)
    assert w["n_late_leaked"] == 2


def test_returning_patients_widen_lower_bound():
    # after the copy at 60 h, every other first-seen patient is an old one coming back
    seq = [1] * 60 + [i % 2 == 1 for i in range(40)]
    w = _run(seq, post_sample=40)
    m = int(np.ceil(np.log(0.01) / np.log(0.5)))  # 7 leaked in a row: chance 0.5^7 < 1%
    assert w["post_share"] == pytest.approx(0.5) and w["support_after"] == m
    # the first not-leaked patient (60 h) still bounds the copy from above
    assert (w["after"], w["before"]) == ((60 - m) * H, 60 * H)


def test_filtered_extraction_upper_bound_from_run_length():
    seq = [i % 2 == 0 for i in range(60)] + [False] * 40
    w = _run(seq)
    # half the patients before the copy: 7 not-leaked in a row has chance 0.5^7 < 1%
    assert w["after"] == 58 * H and w["completeness"] == pytest.approx(30 / 59)
    k = int(np.ceil(np.log(0.01) / np.log(1 - 30 / 59)))
    assert w["support_before"] == k and w["before"] == (58 + k) * H


def test_censored_patients_left_out_of_lower_bound():
    seq = [1] * 10 + [0] * 90
    w = _run(seq, censored=[True] * 10 + [False] * 90)
    # every leaked patient is censored: no lower bound, and it says so
    assert w["after"] is None and "censored" in w["note"]


def test_no_drop_means_open_upper_bound():
    w = _run([1] * 50)
    assert w["after"] == 49 * H and w["before"] is None and "no drop" in w["note"]
