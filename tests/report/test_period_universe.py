"""The lab-days without logs counted over one universe, and the dates that cannot be
right setting no period (QA session 11, findings 1 and 8). Every number worked by hand."""

import pandas as pd

from labforensics.plausible_dates import plausible
from labforensics.report.coverage_limit import coverage_sentence, flagged_dates_note
from labforensics.report.tables import (
    event_period,
    first_events,
    implausible_count,
    lab_days,
    log_gaps,
    monthly_outbound,
)

ZONE = "local dates, Europe/Paris"


def test_lab_logging_one_day_of_31():
    # L01 every day of March 2020, L02 only on the 31st: 31 x 2 = 62 lab-days, L02
    # lacks 30 of them: 30 / 62 = 48.39 %
    labs = [{"lab": "L01", "first_day": "2020-03-01", "last_day": "2020-03-31"},
            {"lab": "L02", "first_day": "2020-03-31", "last_day": "2020-03-31"}]  # fmt: skip
    text = coverage_sentence("2020-03-01", "2020-03-31", ZONE, labs, [])
    assert text == (
        "logs cover 2020-03-01 to 2020-03-31 (local dates, Europe/Paris): 31 day(s) x 2 "
        "lab(s) = 62 lab-days, 30 of them (48.4 %) without any event: 0 in 0 gap(s) between "
        "a lab's days with logs (section 2; a lone Sunday without events is not counted), "
        "30 before a lab's first or after its last day with logs (L02: no logs before "
        "2020-03-31)"
    )


def test_gaps_and_both_ends_one_universe():
    # 31 days x 3 labs = 93; L01: a 5-day gap; L02 10-25 March: 9 days before + 6
    # after = 15; L03 1-20 March: 11 after. 5 + 15 + 11 = 31 of 93 = 33.33 %
    labs = [{"lab": "L01", "first_day": "2020-03-01", "last_day": "2020-03-31"},
            {"lab": "L02", "first_day": "2020-03-10", "last_day": "2020-03-25"},
            {"lab": "L03", "first_day": "2020-03-01", "last_day": "2020-03-20"}]  # fmt: skip
    gaps = [{"lab": "L01", "first_day": "2020-03-05", "last_day": "2020-03-09", "days": 5}]
    text = coverage_sentence("2020-03-01", "2020-03-31", ZONE, labs, gaps, left_out=2)
    assert "31 day(s) x 3 lab(s) = 93 lab-days, 31 of them (33.3 %) without any event: " in text
    assert "5 in 1 gap(s) between a lab's days with logs" in text
    assert "26 before a lab's first or after its last day with logs (L02: no logs before " \
           "2020-03-10 nor after 2020-03-25; L03: no logs after 2020-03-20)" in text  # fmt: skip
    assert text.endswith("; 2 event(s) dated before 1990, after 2100 or after the analysis "
                         "are left out of that period, its gaps and the figures")  # fmt: skip
    acc = {"field_problems_dates": 2, "field_problems_future": 1}
    assert flagged_dates_note(acc) == (" (field problems: 2 event line(s) whose date cannot "
                                       "be right, 1 of them in the future of the analysis; "
                                       "field_problems.csv)")  # fmt: skip
    assert flagged_dates_note({}) == ""


def test_plausible_bounds():
    now = pd.Timestamp("2026-01-01", tz="UTC")
    ts = pd.Series(pd.to_datetime(["1989-12-31T23:59:59Z", "1990-01-01T00:00:00Z",
                                   "2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z",
                                   "2026-01-01T00:00:01Z", None], utc=True))  # fmt: skip
    assert plausible(ts, now=now).tolist() == [False, True, True, True, False, False]


def _events():
    ts = ["2020-03-10T08:00:00Z", "2020-03-12T08:00:00Z", "2099-02-28T07:00:00Z",
          "1970-01-01T00:00:00Z", "2020-03-11T08:00:00Z", "2099-01-01T00:00:00Z"]  # fmt: skip
    return pd.DataFrame({
        "ts": pd.to_datetime(ts, utc=True),
        "lab": ["L01", "L01", "L01", "L01", "L02", "L03"],
        "action": ["export"] * 6,
        "records": [1] * 6,
    })  # fmt: skip


def test_implausible_rows_set_no_period():
    ev = _events()
    # L03's one event is in 2099: a lab none of whose dates can be right keeps them
    # (its period is its only evidence); L01's 2099 and 1970 rows are left out
    assert implausible_count(ev) == 2
    start, end = event_period(ev)
    assert start == pd.Timestamp("2020-03-10T08:00:00Z") and end.year == 2099
    assert first_events(ev)["L01"] == pd.Timestamp("2020-03-10T08:00:00Z")
    days = lab_days(ev, "Europe/Paris")
    l01 = sorted(days.loc[days["lab"] == "L01", "day"].dt.strftime("%Y-%m-%d"))
    assert l01 == ["2020-03-10", "2020-03-12"]
    g = log_gaps(ev, "Europe/Paris")
    assert g.loc[g["lab"] == "L01", "days"].tolist() == [1]  # 11 March only
    months = monthly_outbound(ev, "Europe/Paris")
    assert months.loc[months["lab"] == "L01", "month"].dt.year.tolist() == [2020]
    only_ok = ev[ev["lab"] != "L03"]
    assert event_period(only_ok)[1] == pd.Timestamp("2020-03-12T08:00:00Z")
