"""Summary tables derived from the canonical event table for the report and findings.

Every function is vectorised (one pass per lab at most) and deterministic:
rows sorted by their key columns, times as UTC instants.
"""

from __future__ import annotations

import pandas as pd

from ..case import DEFAULT_TZ
from ..schema import OUTBOUND_ACTIONS

__all__ = ["log_gaps", "migrations", "monthly_coverage", "monthly_outbound", "outbound_days"]

#: Formats that are LIS dialects (a change from one to another is a migration).
LIS_FORMATS = ("lis_legacy", "lis_current")


def monthly_outbound(events: pd.DataFrame, tz: str = DEFAULT_TZ, period: str = "M") -> pd.DataFrame:
    """Records exported and extracted per lab and local calendar month (or week).

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical event table (``ts``, ``lab``, ``action``, ``records``).
    tz : str
        Time zone of the calendar months.
    period : {"M", "W"}
        Calendar month, or week starting on Monday (column ``month`` then holds
        the Monday).

    Returns
    -------
    pandas.DataFrame
        ``lab`` (str), ``month`` (datetime64[ns], naive local first day of month),
        ``records`` (int64, records), ``events`` (int64, outbound events); one row per
        (lab, month) with at least one outbound event, sorted.
    """
    out = events.loc[events["action"].astype(str).isin(OUTBOUND_ACTIONS), ["ts", "lab", "records"]]
    if out.empty:
        return pd.DataFrame({"lab": pd.Series([], dtype=str),
                             "month": pd.Series([], dtype="datetime64[ns]"),
                             "records": pd.Series([], dtype="int64"),
                             "events": pd.Series([], dtype="int64")})  # fmt: skip
    month = out["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.to_period(period).dt.start_time
    g = (
        pd.DataFrame({"lab": out["lab"].astype(str).to_numpy(), "month": month.to_numpy(),
                      "records": out["records"].fillna(0).astype("int64").to_numpy()})
        .groupby(["lab", "month"], sort=True)
        .agg(records=("records", "sum"), events=("records", "size"))
        .reset_index()
    )  # fmt: skip
    g["month"] = g["month"].astype("datetime64[ns]")
    return g


def outbound_days(events: pd.DataFrame, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Records exported and extracted per lab and local day (for zoomed timelines)."""
    out = events.loc[events["action"].astype(str).isin(OUTBOUND_ACTIONS), ["ts", "lab", "records"]]
    day = out["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    return (
        pd.DataFrame({"lab": out["lab"].astype(str).to_numpy(), "day": day.to_numpy(),
                      "records": out["records"].fillna(0).astype("int64").to_numpy()})
        .groupby(["lab", "day"], sort=True)["records"].sum()
        .reset_index()
    )  # fmt: skip


def migrations(events: pd.DataFrame) -> pd.DataFrame:
    """Per lab, the instant its evidence switches from one LIS dialect to another.

    The switch is the first event of the lab's later dialect (``source_format``
    among :data:`LIS_FORMATS`), labs with one dialect only have none.

    Returns
    -------
    pandas.DataFrame
        ``lab`` (str), ``from_format``, ``to_format`` (str), ``first_ts`` (datetime64[ns,
        UTC], first event in the new dialect), ``last_old_ts`` (last event in the old one).
    """
    lis = events.loc[events["source_format"].astype(str).isin(LIS_FORMATS),
                     ["lab", "source_format", "ts"]]  # fmt: skip
    cols = ["lab", "from_format", "to_format", "first_ts", "last_old_ts"]
    if lis.empty:
        return pd.DataFrame(columns=cols)
    span = (
        lis.assign(lab=lis["lab"].astype(str), source_format=lis["source_format"].astype(str))
        .groupby(["lab", "source_format"], sort=True)["ts"]
        .agg(["min", "max"])
        .reset_index()
        .sort_values(["lab", "min"], kind="stable")
    )
    rows = []
    for lab, g in span.groupby("lab", sort=True):
        if len(g) < 2:
            continue
        first, second = g.iloc[0], g.iloc[1]
        rows.append({"lab": lab, "from_format": first["source_format"],
                     "to_format": second["source_format"], "first_ts": second["min"],
                     "last_old_ts": first["max"]})  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def log_gaps(
    events: pd.DataFrame,
    tz: str = DEFAULT_TZ,
    min_days: int = 1,
    skip_lone_sundays: bool = True,
) -> pd.DataFrame:
    """Runs of local calendar days with no event at all, per lab, inside its period.

    A lab's period runs from its first to its last day with an event; a gap is a
    run of at least ``min_days`` consecutive days without any event in between.
    A lone Sunday without events (a lab closed on Sundays) is left out when
    ``skip_lone_sundays``; every other gap, holidays included, is listed and a
    reader judges.

    Returns
    -------
    pandas.DataFrame
        ``lab`` (str), ``first_day``, ``last_day`` (str, ISO dates, local), ``days``
        (int64, length of the gap in days), sorted by lab then first day.
    """
    cols = ["lab", "first_day", "last_day", "days"]
    if events.empty:
        return pd.DataFrame(columns=cols)
    day = events["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    d = pd.DataFrame({"lab": events["lab"].astype(str).to_numpy(), "day": day.to_numpy()})
    d = d.drop_duplicates().sort_values(["lab", "day"], kind="stable")
    step = d.groupby("lab", sort=False)["day"].diff().dt.days
    gap = step > 1
    g = d.loc[gap.to_numpy()].copy()
    g["days"] = (step[gap] - 1).astype("int64").to_numpy()
    g = g[g["days"] >= min_days]
    last = g["day"] - pd.Timedelta(days=1)
    if skip_lone_sundays:
        keep = ~((g["days"] == 1) & (last.dt.day_of_week == 6))
        g, last = g[keep], last[keep]
    first = g["day"] - pd.to_timedelta(g["days"], unit="D")
    res = pd.DataFrame({"lab": g["lab"].to_numpy(), "first_day": first.dt.strftime("%Y-%m-%d"),
                        "last_day": last.dt.strftime("%Y-%m-%d"),
                        "days": g["days"].to_numpy(dtype="int64")})  # fmt: skip
    return res.reset_index(drop=True)


def monthly_coverage(events: pd.DataFrame, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Days with at least one event per lab and local month, and days in that month.

    Returns
    -------
    pandas.DataFrame
        ``lab``, ``month`` (datetime64[ns], first day), ``days_with_events`` (int64),
        ``days`` (int64, days of the month inside the whole evidence period).
    """
    if events.empty:
        return pd.DataFrame(columns=["lab", "month", "days_with_events", "days"])
    day = events["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    d = pd.DataFrame({"lab": events["lab"].astype(str).to_numpy(), "day": day.to_numpy()})
    d = d.drop_duplicates()
    d["month"] = d["day"].dt.to_period("M").dt.to_timestamp()
    got = d.groupby(["lab", "month"], sort=True).size().rename("days_with_events").reset_index()
    all_days = pd.date_range(d["day"].min(), d["day"].max(), freq="D")
    per_month = pd.Series(1, index=all_days).groupby(all_days.to_period("M").to_timestamp()).sum()
    got["days"] = got["month"].map(per_month).astype("int64")
    got["days_with_events"] = got["days_with_events"].astype("int64")
    got["month"] = got["month"].astype("datetime64[ns]")
    return got
