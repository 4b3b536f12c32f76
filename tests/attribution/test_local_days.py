"""Local days across the clock changes (session 6, second reader of the demo report: L04's
window opened at "2019-10-27 23:00 CET (22:00 UTC)" while every other window opens at a
local midnight: the end of the horizon's local day was the horizon + a fixed 24 hours).

Right values worked out by hand from the Europe/Paris rules of 2019: summer time from
2019-03-31 02:00 CET (01:00 UTC) to 2019-10-27 03:00 CEST (01:00 UTC); CET = UTC+1,
CEST = UTC+2."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from labforensics.attribution.conclusion import _late_at_horizon
from labforensics.attribution.copy_window import local_day_start, next_local_day

PARIS = "Europe/Paris"


def _utc(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def test_local_day_start_both_transitions():
    # 2019-10-27 starts at 00:00 CEST (UTC+2), 2019-10-28 at 00:00 CET (UTC+1)
    assert local_day_start(dt.date(2019, 10, 27), PARIS) == _utc("2019-10-26 22:00")
    assert local_day_start(dt.date(2019, 10, 28), PARIS) == _utc("2019-10-27 23:00")
    # 2019-03-31 starts at 00:00 CET (UTC+1), 2019-04-01 at 00:00 CEST (UTC+2)
    assert local_day_start(dt.date(2019, 3, 31), PARIS) == _utc("2019-03-30 23:00")
    assert local_day_start(dt.date(2019, 4, 1), PARIS) == _utc("2019-03-31 22:00")


def test_next_local_day_is_23_or_25_hours_after_a_transition_midnight():
    # autumn: the local day 2019-10-27 lasts 25 hours
    autumn = _utc("2019-10-26 22:00")
    assert next_local_day(autumn, PARIS) == _utc("2019-10-27 23:00")
    assert next_local_day(autumn, PARIS) - autumn == pd.Timedelta(hours=25)
    # spring: the local day 2019-03-31 lasts 23 hours
    spring = _utc("2019-03-30 23:00")
    assert next_local_day(spring, PARIS) == _utc("2019-03-31 22:00")
    assert next_local_day(spring, PARIS) - spring == pd.Timedelta(hours=23)
    # an instant late in the local day (23:30 CET on 10-27 = 22:30 UTC) ends the same day
    assert next_local_day(_utc("2019-10-27 22:30"), PARIS) == _utc("2019-10-27 23:00")


def _ns(*ts: str) -> np.ndarray:
    return np.array([_utc(t).value for t in ts], dtype=np.int64)


def test_late_leaked_moved_to_the_local_end_of_the_horizon_day_autumn():
    # horizon = start of local 2019-10-27 (22:00 UTC the day before); its day ends at
    # 2019-10-27 23:00 UTC (00:00 CET on the 28th), not 22:00 UTC
    horizon = _utc("2019-10-26 22:00")
    known = _ns("2019-10-27 10:00", "2019-10-27 22:30", "2019-10-28 05:00")
    leaked = np.array([True, True, True])
    k, lk, n = _late_at_horizon(known, leaked, horizon, PARIS)
    # 22:30 UTC is 23:30 CET on the 27th, within the horizon's day: not moved; only the
    # patient known at 06:00 CET on the 28th is moved, to the day's end
    assert n == 1
    assert list(k) == list(_ns("2019-10-27 10:00", "2019-10-27 22:30", "2019-10-27 23:00"))
    assert lk.all()


def test_late_leaked_moved_to_the_local_end_of_the_horizon_day_spring():
    # horizon = start of local 2019-03-31 (23:00 UTC the day before); the day has 23 hours
    # and ends at 2019-03-31 22:00 UTC (00:00 CEST on 1 April), not 23:00 UTC
    horizon = _utc("2019-03-30 23:00")
    known = _ns("2019-03-31 08:00", "2019-03-31 22:30")
    leaked = np.array([False, True])
    k, lk, n = _late_at_horizon(known, leaked, horizon, PARIS)
    assert n == 1  # 22:30 UTC is 00:30 CEST on 1 April: after the horizon's day
    assert list(k) == list(_ns("2019-03-31 08:00", "2019-03-31 22:00"))
    assert list(lk) == [False, True]
