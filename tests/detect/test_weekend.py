"""``weekend_unusual``: the weekend weighed by the account's own habits, as
``night_unusual`` weighs the night (session 17 left ``weekend`` a plain flag, and the
detectors ranked a daily interface's weekend sessions above its other days)."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.case import CaseContext
from labforensics.detect import DETECTOR_COLUMNS_EXTRA
from labforensics.features import FeatureParams, build_features
from labforensics.sessions import sessionize

from .conftest import make_events

CASE = CaseContext(tz="Europe/Paris")
MON = pd.Timestamp("2020-03-02 08:00")  # a Monday, 09:00 Paris (UTC+1)
DAY = pd.Timedelta(days=1)


def _rows(account: str, role: str, days: list[int], body: dict) -> list[dict]:
    """One session on each day offset of ``days`` (from Monday 2 March 2020), login,
    ``body`` one minute later, logout at 10 minutes."""
    rows = []
    for d in days:
        t = MON + d * DAY
        rows.append(dict(ts=t, account=account, role=role, action="login"))
        rows.append(dict(ts=t + pd.Timedelta(minutes=1), account=account, role=role, **body))
        rows.append(dict(ts=t + pd.Timedelta(minutes=10), account=account, role=role,
                         action="logout"))  # fmt: skip
    return rows


def _features(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(), case=CASE)
    f = ft.session.frame().sort_values(["account", "start"]).reset_index(drop=True)
    return f, ft.account_day.frame()


READ = dict(action="read", patient="P1")
WEEKDAYS = [w * 7 + d for w in range(3) for d in range(5)]  # 15 weekdays, 3 weeks


def test_a_weekday_account_s_saturday_is_unusual_by_its_share():
    # 15 weekdays and Saturday 21 March (day 19): 16 active days, 1 on a weekend;
    # 1 - (1/16) / (2/7) = 1 - 7 / 32 = 0.78125
    f, day = _features(_rows("sec.a", "SECRETAIRE", [*WEEKDAYS, 19], READ))
    assert f["weekend"].tolist() == [0.0] * 15 + [1.0]
    assert f["weekend_unusual"].tolist() == [0.0] * 15 + [0.78125]
    # the account-day takes its sessions' largest value
    assert sorted(day["weekend_unusual"].tolist())[-1] == 0.78125


def test_an_account_working_every_day_is_not_unusual_on_a_weekend():
    # 14 days in a row from a Monday: 4 weekend days of 14, (4/14) / (2/7) = 1: 0
    f, _ = _features(_rows("sec.a", "SECRETAIRE", list(range(14)), READ))
    assert f["weekend"].sum() == 4.0
    assert (f["weekend_unusual"] == 0.0).all()


@pytest.mark.parametrize(("role", "habit"), [("SECRETAIRE", True), ("EDITEUR", False)])
def test_five_earlier_weekends_make_a_habit_for_staff_not_for_a_vendor(role, habit):
    # 6 weeks of Monday-Friday plus Saturday: 36 days, 6 on a weekend; share 6/36,
    # 1 - (6/36) / (2/7) = 1 - 42/72 = 0.41667 on each Saturday; the sixth Saturday has
    # five earlier weekend days (min_history): a staff account's habit (0), never a
    # vendor's (a processor's work is routine only by the register)
    days = [w * 7 + d for w in range(6) for d in range(6)]
    f, _ = _features(_rows("acct", role, days, READ))
    sat = f.loc[f["weekend"] == 1.0, "weekend_unusual"].tolist()
    base = 1.0 - 42.0 / 72.0
    assert sat[:5] == pytest.approx([base] * 5)
    assert sat[5] == (0.0 if habit else pytest.approx(base))


def test_fewer_than_five_active_days_keep_the_plain_flag():
    # 3 weekdays and a Saturday: 4 active days, no habit to weigh: 1
    f, _ = _features(_rows("sec.a", "SECRETAIRE", [0, 1, 2, 5], READ))
    assert f["weekend_unusual"].tolist() == [0.0, 0.0, 0.0, 1.0]


def test_a_service_account_s_usual_work_on_a_weekend_is_not_unusual():
    # an interface transmitting results on 15 weekdays, then on Saturday 21 March the
    # same work (usual: 0), and on Sunday 22 March an export (other work: the share,
    # 1 - (2/17) / (2/7) = 1 - 14/34 = 0.58824)
    rows = _rows("robot", "INTERFACE", [*WEEKDAYS, 19], dict(action="transmit"))
    rows += _rows("robot", "INTERFACE", [20], dict(action="export", records=10))
    f, _ = _features(rows)
    assert f["weekend_unusual"].tolist()[-2:] == [0.0, pytest.approx(1.0 - 14.0 / 34.0)]


def test_the_detectors_see_the_habit_not_the_flag():
    assert "weekend_unusual" in DETECTOR_COLUMNS_EXTRA
    assert "weekend" not in DETECTOR_COLUMNS_EXTRA
