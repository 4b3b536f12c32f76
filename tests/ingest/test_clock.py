"""Local wall-clock time to UTC (labforensics.ingest.clock)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from labforensics.ingest.clock import QUALITY_CODES, localize, localize_files, transitions

EXACT = QUALITY_CODES["exact"]
RES = QUALITY_CODES["ambiguous_resolved"]
UNRES = QUALITY_CODES["ambiguous_unresolved"]
SHIFT = QUALITY_CODES["nonexistent_shifted"]


def _wall(*texts: str) -> np.ndarray:
    return pd.DatetimeIndex(list(texts)).as_unit("ns").asi8


def _utc(*texts: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(t, tz="UTC") for t in texts]


def _conv(tz: str, *texts: str):
    utc, q = localize(_wall(*texts), ZoneInfo(tz))
    return list(pd.DatetimeIndex(utc).tz_localize("UTC")), q.tolist()


def test_paris_transitions_found_from_zoneinfo():
    inst, offs = transitions(ZoneInfo("Europe/Paris"), 2019, 2019)
    # 2019-03-31 01:00 UTC (+1h -> +2h) and 2019-10-27 01:00 UTC (+2h -> +1h)
    assert pd.to_datetime(inst, unit="s", utc=True).tolist() == _utc(
        "2019-03-31 01:00", "2019-10-27 01:00"
    )
    assert offs.tolist() == [3600, 7200, 3600]


def test_fallback_resolved_by_backward_step():
    ts, q = _conv(
        "Europe/Paris",
        "2019-10-27 01:55",
        "2019-10-27 02:20",
        "2019-10-27 02:45",
        "2019-10-27 02:10",
        "2019-10-27 02:35",
        "2019-10-27 03:02",
    )
    # case 001: 02:45 -> 02:10 is the step into the second pass (CET)
    assert ts == _utc(
        "2019-10-26 23:55",
        "2019-10-27 00:20",
        "2019-10-27 00:45",
        "2019-10-27 01:10",
        "2019-10-27 01:35",
        "2019-10-27 02:02",
    )
    assert q == [EXACT, RES, RES, RES, RES, EXACT]


def test_fallback_two_backward_steps_labels_agree_with_reading():
    # QA session 10: 02:10, 02:50, 02:20, 02:55, 02:15 has two backward steps (02:50 ->
    # 02:20, 02:55 -> 02:15), one the change, the other a row out of order. 02:10 and
    # 02:50 come before both: first pass (CEST) whichever it is, resolved; 02:15 after
    # both: second pass (CET) whichever it is, resolved. 02:20 and 02:55 lie between:
    # not told, read as the first pass and unresolved (QA session 13: they were read as
    # CET but labelled unresolved, "read as the first pass")
    ts, q = _conv(
        "Europe/Paris",
        "2020-10-25 02:10",
        "2020-10-25 02:50",
        "2020-10-25 02:20",
        "2020-10-25 02:55",
        "2020-10-25 02:15",
    )
    assert ts == _utc(
        "2020-10-25 00:10", "2020-10-25 00:50", "2020-10-25 00:20", "2020-10-25 00:55",
        "2020-10-25 01:15",
    )  # fmt: skip
    assert q == [RES, RES, UNRES, UNRES, RES]


def test_fallback_step_after_the_hour_is_a_row_out_of_order():
    # QA session 13 (B4): 02:30, 02:50, 02:05, 02:40, 03:01, 02:15. 02:50 -> 02:05 is the
    # change; 03:01 (CET, 02:01 UTC) is past the repeated hour, so the change had
    # happened: 02:15 below it is a row out of order, not a second change, and was
    # written after the change: CET, 01:15 UTC. All six were labelled unresolved ("read
    # as the first pass") though three were read as CET.
    ts, q = _conv(
        "Europe/Paris",
        "2020-10-25 01:58",
        "2020-10-25 02:30",
        "2020-10-25 02:50",
        "2020-10-25 02:05",
        "2020-10-25 02:40",
        "2020-10-25 03:01",
        "2020-10-25 02:15",
    )
    assert ts == _utc(
        "2020-10-24 23:58", "2020-10-25 00:30", "2020-10-25 00:50", "2020-10-25 01:05",
        "2020-10-25 01:40", "2020-10-25 02:01", "2020-10-25 01:15",
    )  # fmt: skip
    assert q == [EXACT, RES, RES, RES, RES, EXACT, RES]


def test_fallback_no_step_but_row_after_the_hour():
    # 02:10, 03:01, 02:40: no backward step among the hour's rows; 02:10 is not told
    # (first pass, unresolved); 02:40 is below 03:01 (CET): written after the change,
    # CET (01:40 UTC), resolved
    ts, q = _conv("Europe/Paris", "2020-10-25 02:10", "2020-10-25 03:01", "2020-10-25 02:40")
    assert ts == _utc("2020-10-25 00:10", "2020-10-25 02:01", "2020-10-25 01:40")
    assert q == [UNRES, EXACT, RES]
    # the same written newest first (enough exact rows to tell the order): read bottom-up
    wall = _wall(
        "2020-10-25 05:00", "2020-10-25 04:00", "2020-10-25 02:40", "2020-10-25 03:01",
        "2020-10-25 02:10", "2020-10-25 01:00", "2020-10-25 00:30",
    )  # fmt: skip
    utc, q2 = localize(wall, ZoneInfo("Europe/Paris"))
    assert list(pd.DatetimeIndex(utc[2:5]).tz_localize("UTC")) == _utc(
        "2020-10-25 01:40", "2020-10-25 02:01", "2020-10-25 00:10"
    )
    assert q2.tolist()[2:5] == [RES, EXACT, UNRES]


def test_fallback_without_step_is_first_pass_unresolved():
    ts, q = _conv("Europe/Paris", "2019-10-27 02:10", "2019-10-27 02:40")
    # no backward step: read as CEST (+02:00), flagged unresolved
    assert ts == _utc("2019-10-27 00:10", "2019-10-27 00:40")
    assert q == [UNRES, UNRES]


def test_spring_forward_gap_read_with_winter_offset():
    ts, q = _conv("Europe/Paris", "2019-03-31 01:59", "2019-03-31 02:30", "2019-03-31 03:00")
    # 02:30 does not exist; read at +01:00 it is 01:30 UTC
    assert ts == _utc("2019-03-31 00:59", "2019-03-31 01:30", "2019-03-31 01:00")
    assert q == [EXACT, SHIFT, EXACT]


def test_other_zone_and_rules_not_hard_coded():
    # New York falls back on the first Sunday of November (2019-11-03), 01:00-01:59 twice
    ts, q = _conv("America/New_York", "2019-11-03 01:50", "2019-11-03 01:10")
    assert ts == _utc("2019-11-03 05:50", "2019-11-03 06:10")  # EDT then EST
    assert q == [RES, RES]
    # Lord Howe shifts by 30 minutes: 2019-04-07 02:00 (+11) back to 01:30 (+10:30)
    ts, q = _conv("Australia/Lord_Howe", "2019-04-07 01:45", "2019-04-07 01:35")
    assert ts == _utc("2019-04-06 14:45", "2019-04-06 15:05")
    assert q == [RES, RES]


def test_plain_times_and_fixed_zone_are_exact():
    ts, q = _conv("Europe/Paris", "2019-01-15 12:00", "2019-07-15 12:00")
    assert ts == _utc("2019-01-15 11:00", "2019-07-15 10:00")
    assert q == [EXACT, EXACT]
    ts, q = _conv("UTC", "2019-10-27 02:30")
    assert ts == _utc("2019-10-27 02:30") and q == [EXACT]


def test_matches_pandas_outside_transitions():
    rng = np.random.default_rng(1)
    wall = np.sort(rng.integers(1.45e18, 1.7e18, 5000))
    utc, q = localize(wall, ZoneInfo("Europe/Paris"))
    ok = q == EXACT
    ref = (
        pd.DatetimeIndex(wall[ok])
        .tz_localize("Europe/Paris", ambiguous="NaT", nonexistent="NaT")
        .tz_convert("UTC")
        .asi8
    )
    # every exact row agrees with pandas' own conversion
    assert np.array_equal(utc[ok], ref)


def test_valid_mask_leaves_other_rows():
    wall = _wall("2019-10-27 02:20", "2019-10-27 02:10")
    utc, q = localize(wall, "Europe/Paris", valid=np.array([True, False]))
    # the invalid second row takes no part: no backward step is seen
    assert q.tolist() == [UNRES, EXACT]
    assert utc[1] == wall[1]


def test_localize_files_resolves_each_file_on_its_own():
    a = _wall("2019-10-27 02:20", "2019-10-27 02:40", "2019-10-27 02:10")
    b = _wall("2019-10-27 02:30", "2019-10-27 02:50")
    files = np.array([0, 0, 0, 1, 1])
    utc, q = localize_files(np.concatenate((a, b)), ZoneInfo("Europe/Paris"), files)
    # file 0 steps back (second pass from 02:10), file 1 does not: its rows stay unresolved,
    # although 02:30 comes after file 0's 02:10 in the combined array
    assert q.tolist() == [RES, RES, RES, UNRES, UNRES]
    for part, rows in ((a, slice(0, 3)), (b, slice(3, 5))):
        u1, q1 = localize(part, ZoneInfo("Europe/Paris"))
        assert np.array_equal(utc[rows], u1) and np.array_equal(q[rows], q1)


def test_fallback_step_within_clock_skew_is_not_the_change():
    # QA session 12 (repro dst_fallback_jitter2): two writers 2 s apart, no second pass;
    # the 2-second step is not the change (clocks of two hosts may differ by 5 minutes)
    ts, q = _conv(
        "Europe/Paris",
        "2020-10-25 01:50",
        "2020-10-25 02:10:05",
        "2020-10-25 02:10:03",
        "2020-10-25 02:25",
        "2020-10-25 02:45",
        "2020-10-25 02:55",
    )
    assert ts == _utc(
        "2020-10-24 23:50",
        "2020-10-25 00:10:05",
        "2020-10-25 00:10:03",
        "2020-10-25 00:25",
        "2020-10-25 00:45",
        "2020-10-25 00:55",
    )
    assert q == [EXACT, UNRES, UNRES, UNRES, UNRES, UNRES]


def test_fallback_change_found_after_a_writers_jitter():
    # QA session 12 (repro dst_fallback_jitter): a 2-second jitter, then the real
    # 35-minute step back: the second is the change, the rows around it resolved
    ts, q = _conv(
        "Europe/Paris",
        "2020-10-25 02:10:05",
        "2020-10-25 02:10:03",
        "2020-10-25 02:40",
        "2020-10-25 02:05",
        "2020-10-25 02:30",
        "2020-10-25 03:01",
    )
    assert ts == _utc(
        "2020-10-25 00:10:05",
        "2020-10-25 00:10:03",
        "2020-10-25 00:40",
        "2020-10-25 01:05",
        "2020-10-25 01:30",
        "2020-10-25 02:01",
    )
    assert q == [RES, RES, RES, RES, RES, EXACT]


def test_fallback_step_just_over_the_skew_is_the_change():
    # 5 min 1 s back: more than two hosts' clocks may differ, so the change
    ts, q = _conv("Europe/Paris", "2020-10-25 02:50:01", "2020-10-25 02:45")
    assert ts == _utc("2020-10-25 00:50:01", "2020-10-25 01:45")
    assert q == [RES, RES]
    ts, q = _conv("Europe/Paris", "2020-10-25 02:50:00", "2020-10-25 02:45")
    assert ts == _utc("2020-10-25 00:50", "2020-10-25 00:45")
    assert q == [UNRES, UNRES]
