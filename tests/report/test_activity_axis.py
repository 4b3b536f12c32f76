"""The activity figure's axis spans the months drawn: a flagged session dated 2099 (a
field problem, left out of the period) no longer stretches it over 80 years (session
11's note); it is counted under the axis."""

from __future__ import annotations

import matplotlib.dates as mdates
import pandas as pd

from labforensics.report.figures import activity_timeline

MONTHLY = pd.DataFrame(
    {
        "lab": ["L01", "L01", "L02"],
        "month": pd.to_datetime(["2020-01-01", "2020-03-01", "2020-02-01"]),
        "records": [120, 40, 7],
    }
)


def test_axis_is_the_months_and_the_outlier_is_counted():
    flagged = pd.DataFrame(
        {"lab": ["L01", "L02"], "start": pd.to_datetime(["2020-02-10 09:00", "2099-02-28 10:00"])}
    )
    fig = activity_timeline(MONTHLY, flagged=flagged)
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert (mdates.num2date(lo).date().isoformat(), mdates.num2date(hi).date().isoformat()) == (
        "2020-01-01",
        "2020-04-01",
    )
    assert ax.get_xlabel() == (
        "1 flagged session(s) dated outside these months, not drawn (see the session ranking)"
    )
    (dots,) = [c for c in ax.collections if c.get_label() == "flagged session"]
    assert len(dots.get_offsets()) == 1


def test_no_label_when_every_session_is_inside():
    flagged = pd.DataFrame({"lab": ["L01"], "start": pd.to_datetime(["2020-03-31 23:00"])})
    ax = activity_timeline(MONTHLY, flagged=flagged).axes[0]
    assert ax.get_xlabel() == ""
