"""Left-censoring of first-seen dates (issue 15's known failure): a lab without
registration dates whose logs start days before a full extraction.

The lab of :func:`_lab` is built by hand, deterministically: logs from Monday
2020-01-06 for 90 days; 3,000 patients registered before the logs, first seen at the
quantiles of an exponential forward-recurrence time of mean 10 days
(``f_i = -10 ln(1 - (i + 0.5) / 3000)`` days: a lab whose patients come back every ten
days on average); 5 new patients a day, first seen when registered. The vendor
extracts every patient at day 4.3 (2020-01-10 07:12), records = the leak's size; an
insider exports 500 records at day 40. The censoring period of an exponential
revisit process of mean 10 days is its 90 % quantile, ``10 ln 10 = 23.03`` days
(the forward-recurrence time of a Poisson process is the gap itself), 23 days here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labforensics.attribution import AttributionParams
from labforensics.attribution.conclusion import _LabData, _Setting, lab_conclusion
from labforensics.attribution.lab_data import censoring_period
from labforensics.attribution.likelihood import suffix_isotonic_loglik

S = pd.Timestamp("2020-01-06", tz="UTC")
DAY_NS = 86400 * 10**9
N_OLD, PER_DAY, DAYS, COPY_D, MEAN_D = 3000, 5, 90, 4.3, 10.0
P = AttributionParams(stability=False)


def _ops(rows):
    cols = ["op", "kind", "hypothesis", "account", "t_ns", "records", "n_set", "n11", "score",
            "anomaly", "failed_burst", "network", "retrieved_outside", "fetched_outside_by"]  # fmt: skip
    return pd.DataFrame(
        [
            {"op": o, "kind": "cut", "hypothesis": h, "account": o, "t_ns": t, "records": r,
             "n_set": 0, "n11": 0, "score": None, "anomaly": 0.0, "failed_burst": False,
             "network": "lab", "retrieved_outside": False, "fetched_outside_by": []}
            for o, h, t, r in rows
        ],
        columns=cols,
    )  # fmt: skip


def _lab(censor_days: float | None, before_logs: bool = False) -> _LabData:
    i = np.arange(N_OLD)
    f_old = -MEAN_D * np.log(1.0 - (i + 0.5) / N_OLD)
    f_new = np.arange(PER_DAY * DAYS) / PER_DAY + 0.01
    known = np.concatenate([f_old, f_new])
    if before_logs:
        # a copy 180 days before the logs: the patients registered since (one old patient
        # in six, spread over the first-seen order) and every new one are not in it
        leaked = np.concatenate([i % 6 != 0, np.zeros(len(f_new), bool)])
    else:
        leaked = np.concatenate([np.ones(N_OLD, bool), f_new < COPY_D])
    keep = known < DAYS
    known, leaked = known[keep], leaked[keep]
    order = np.argsort(known, kind="stable")
    known_ns = (S.value + known[order] * DAY_NS).astype(np.int64)
    n_leak = int(leaked.sum())
    ops = _ops([("V", "vendor", int(S.value + COPY_D * DAY_NS), n_leak),
                ("I", "insider", int(S.value + 40 * DAY_NS), 500)])  # fmt: skip
    return _LabData(
        lab="L01",
        known_ns=known_ns,
        leaked=leaked[order],
        n_linked=n_leak,
        n_unique=None,
        has_logs=True,
        evidence_start=S,
        evidence_end=S + pd.Timedelta(days=DAYS),
        horizon=None,  # an identifier list: no linkage, no horizon
        window_after=None,
        window_before=None,
        ops=ops,
        dated=False,  # no patient index: known from the first event
        censor_end=None if censor_days is None else S + pd.Timedelta(days=censor_days),
    )


def test_the_known_failure_without_censoring():
    # the cause, pinned: without the censoring period the constant outside rate is fitted
    # to the decline of old patients coming back and the best cut falls weeks after the
    # extraction; the unlogged copy wins at the dependence ceiling 2 log10(1/0.01) = 4
    r = lab_conclusion(_lab(None), None, None, P, _Setting())
    assert r["proposition"] == "outside_evidence" and r["log10_lr"] == pytest.approx(4.0)


def test_an_extraction_within_the_censoring_period_is_not_outside_evidence():
    r = lab_conclusion(_lab(23.0), None, None, P, _Setting())
    # within the censoring period a copy before the logs fits at least as well as the
    # extraction (outside_evidence takes its likelihood), and no better here: LR exactly 1
    # (no support: no source named, the vendor leading; QA session 9)
    assert r["proposition"] == "undetermined" and r["leading"] == "vendor"
    assert r["alternative"] == "outside_evidence"
    assert r["log10_lr"] == 0.0 and r["verbal"] == "no support"
    assert "censoring period" in r["reason"] and r["censored_until"] == "2020-01-29T00:00:00Z"
    # producible: the leaked patients first seen by day 23 may have existed at day 4.3:
    # old ones with (i + 0.5) / 3000 <= 1 - e^-2.3 = 0.899741 -> i <= 2698: 2,699; new ones
    # registered before day 4.3 (i / 5 + 0.01 < 4.3): 22; the extraction's 3,022 records hold them
    assert r["coverage"]["producible"] == 2699 + 22
    assert r["coverage"]["linked"] == 3000 + 22
    # the insider's export at day 40 (500 records) stays far behind
    assert r["log10_lr_by_proposition"]["insider"] < -100


def test_a_copy_before_the_logs_still_reads_outside_evidence():
    r = lab_conclusion(_lab(23.0, before_logs=True), None, None, P, _Setting())
    # a copy 180 days before the logs, an extraction of the leak's size at day 4.3: the one
    # old patient in six it lacks fits no logged instant; the unlogged copy leads
    assert r["proposition"] == "outside_evidence" and r["log10_lr"] == pytest.approx(4.0)


def test_censoring_period_by_hand():
    # gaps 10, 20 and 30 days: S(x) = sum max(g - x, 0) / 60 = 0.1 on [20, 30] where
    # S(x) = (30 - x) / 60 -> x = 24 days (patient c's two events on day 35 are one day)
    pe = pd.DataFrame(
        {
            "patient": ["a", "a", "b", "b", "c", "c", "c"],
            "t": np.array([0, 10, 0, 20, 5, 35, 35], dtype=np.int64) * DAY_NS,
        }
    )
    assert censoring_period(pe) == pd.Timedelta(days=24)
    # one gap of 10 days: (10 - x) / 10 = 0.1 -> 9 days; nobody back: no period
    assert censoring_period(pe[pe["patient"] == "a"]) == pd.Timedelta(days=9)
    assert censoring_period(pe.iloc[[0, 2]]) is None


def test_suffix_isotonic_loglik_by_hand():
    x = np.array([1, 0, 1, 1, 0, 0], dtype=bool)
    # pool-adjacent-violators, non-increasing: 1 | (0, 1, 1) -> 2/3 | 0 | 0; rates kept in
    # [0.01, 0.99]: ln .99 + 2 ln(2/3) + ln(1/3) + 2 ln .99
    full = 3 * math.log(0.99) + 2 * math.log(2 / 3) + math.log(1 / 3)
    # capped at 0.5: the blocks 1 and 2/3 are clipped to 0.5: 4 ln .5 + 2 ln .99
    capped = 4 * math.log(0.5) + 2 * math.log(0.99)
    # from patient 4 on: 0, 0 -> 2 ln .99; the empty suffix: 0
    got = suffix_isotonic_loglik(x, 0.01, np.array([0, 0, 4, 6]), np.array([1.0, 0.5, 1.0, 1.0]))
    assert got == pytest.approx([full, capped, 2 * math.log(0.99), 0.0], abs=1e-9)
