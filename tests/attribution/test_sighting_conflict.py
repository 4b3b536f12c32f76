"""A leak first sighted before its rows' horizon: contradictory inputs, so the lab is
not weighed and the Limits say why (QA session 12: L01 read "a copy outside the logged
evidence, very strong" over a window of -336 hours)."""

from __future__ import annotations

import pandas as pd

from labforensics.attribution.copy_window import sighting_conflict


def test_horizon_after_sighting_is_a_contradiction_named_in_local_time():
    h = pd.Timestamp("2020-09-14 22:00", tz="UTC")  # 2020-09-15 00:00 in Paris (CEST)
    s = pd.Timestamp("2020-08-31 22:00", tz="UTC")  # 2020-09-01 00:00
    assert sighting_conflict("L01", h, s, "Europe/Paris") == (
        "its leaked rows' horizon (the earliest the copy can be, from the latest "
        "registration they hold) is 2020-09-15 00:00 local, after the leak's first "
        "sighting (2020-09-01 00:00 local): the inputs contradict each other (check "
        "sighted_at, or whether the leak mixes rows of a later copy), so the copy's time "
        "cannot be bounded"
    )


def test_no_contradiction_when_in_order_equal_or_missing():
    h = pd.Timestamp("2020-09-14 22:00", tz="UTC")
    assert sighting_conflict("L01", h, h, "Europe/Paris") is None
    assert sighting_conflict("L01", h, h + pd.Timedelta("1s"), "Europe/Paris") is None
    assert sighting_conflict("L01", None, h, "Europe/Paris") is None
    assert sighting_conflict("L01", h, None, "Europe/Paris") is None
