"""Summary tables of the report, on hand-built events with hand-worked answers."""

from __future__ import annotations

import pandas as pd

from labforensics import schema
from labforensics.report import tables


def _events(rows):
    df = pd.DataFrame(rows, columns=["ts", "lab", "action", "records", "source_format"])
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    df["account_kind"] = "staff"
    df["outcome"] = "success"
    df["source_file"] = "f.csv"
    return schema.coerce_events(df)


EV = _events([
    ("2019-10-26T22:30:00Z", "L01", "export", 10, "lis_legacy"),  # 00:30 CEST on 27 Oct (Paris)
    ("2019-10-31T23:30:00Z", "L01", "extract", 5, "lis_legacy"),  # 00:30 CET on 1 Nov
    ("2019-11-03T09:00:00Z", "L01", "read", None, "lis_current"),  # Sunday 3 Nov
    ("2019-11-05T09:00:00Z", "L01", "read", None, "lis_current"),
    ("2019-11-12T09:00:00Z", "L01", "export", 7, "lis_current"),
    ("2019-11-01T09:00:00Z", "L02", "export", 3, "lis_legacy"),
])  # fmt: skip


def test_monthly_outbound_uses_local_months():
    m = tables.monthly_outbound(EV)
    got = {(r.lab, r.month.strftime("%Y-%m")): r.records for r in m.itertuples()}
    # 2019-10-31T23:30Z is 1 November 00:30 in Paris: it counts in November
    assert got == {("L01", "2019-10"): 10, ("L01", "2019-11"): 12, ("L02", "2019-11"): 3}


def test_migrations_first_event_of_new_dialect():
    mig = tables.migrations(EV)
    # L01 switches on its first lis_current event; L02 has one dialect, no migration
    assert mig["lab"].tolist() == ["L01"]
    assert mig["first_ts"].iloc[0] == pd.Timestamp("2019-11-03T09:00:00Z")
    assert mig["last_old_ts"].iloc[0] == pd.Timestamp("2019-10-31T23:30:00Z")


def test_log_gaps():
    g = tables.log_gaps(EV)
    # L01 local days: 27 Oct, 1 Nov, 3 Nov (Sun), 5 Nov, 12 Nov -> gaps 28-31 Oct (4 days),
    # 2 Nov (1, a Saturday: kept), 4 Nov (1), 6-11 Nov (6); L02 has one day: no gap
    assert g.to_dict("records") == [
        {"lab": "L01", "first_day": "2019-10-28", "last_day": "2019-10-31", "days": 4},
        {"lab": "L01", "first_day": "2019-11-02", "last_day": "2019-11-02", "days": 1},
        {"lab": "L01", "first_day": "2019-11-04", "last_day": "2019-11-04", "days": 1},
        {"lab": "L01", "first_day": "2019-11-06", "last_day": "2019-11-11", "days": 6},
    ]


def test_log_gaps_lone_sunday_left_out():
    ev = _events([
        ("2019-11-02T09:00:00Z", "L01", "read", None, "lis_current"),  # Saturday
        ("2019-11-04T09:00:00Z", "L01", "read", None, "lis_current"),  # Monday
    ])  # fmt: skip
    # the only missing day is Sunday 3 November: a lab closed on Sundays, not a gap
    assert tables.log_gaps(ev).empty
    assert len(tables.log_gaps(ev, skip_lone_sundays=False)) == 1
