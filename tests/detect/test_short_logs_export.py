"""An established account's only export, in a few days of logs and without a register,
is judged by its size (QA session 16: 5,000 records after 4 days scored 0)."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.case import CaseContext
from labforensics.detect import DetectParams, score
from labforensics.features import FeatureParams, build_features
from labforensics.sessions import sessionize

from .conftest import make_events

CASE = CaseContext(tz="Europe/Paris")
D0 = pd.Timestamp("2020-03-02 07:00")  # a Monday, 08:00 Paris (UTC+1)
DAY = pd.Timedelta(days=1)
ROLE = "TECHNICIEN"


def _session(t: pd.Timestamp, body: list[dict]) -> list[dict]:
    rows = [dict(ts=t, account="tech.a", role=ROLE, action="login")]
    for k, r in enumerate(body, 1):
        rows.append(dict(ts=t + pd.Timedelta(minutes=k), account="tech.a", role=ROLE, **r))
    rows.append(dict(ts=t + pd.Timedelta(minutes=10), account="tech.a", role=ROLE, action="logout"))
    return rows


def _scored(records: int, export_day: int = 3) -> pd.DataFrame:
    """tech.a reads patients P1 and P2 each morning of days 0-3 (and up to the export's
    day), then one session exporting ``records`` records at 10:00 on ``export_day``."""
    rows = []
    for d in range(max(4, export_day + 1)):
        rows += _session(D0 + d * DAY, [dict(action="read", patient=p) for p in ("P1", "P2")])
    out = dict(action="export", module="RESULTATS", records=records)
    rows += _session(D0 + export_day * DAY + pd.Timedelta(hours=2), [out])
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(), case=CASE)
    s = score(ft, DetectParams(), case=CASE).session
    return s.sort_values("start").reset_index(drop=True)


def test_only_export_in_four_days_of_logs_is_flagged_with_an_honest_reason():
    s = _scored(5000)
    assert len(s) == 5  # 4 reading sessions, then the export
    exp = s.iloc[-1]
    # day 3 is inside the lab's 14-day warm-up: staff_first_bulk_export cannot call it a
    # first export; its only export in the logs, 5,000 >= 500 records: the new rule, 6
    assert exp["rule_staff_first_bulk_export"] == 0.0
    assert exp["rule_staff_bulk_export_short_logs"] == 6.0
    assert exp["rules_score"] == 6.0 and bool(exp["flagged"]) and exp["rank"] == 1
    # the lab's logs name 2 patients (P1, P2) by then: a floor, said as such
    assert list(exp["reasons"]) == [
        "only export or extraction of 500 records or more by this account in these logs, "
        "within their first days (an earlier one may predate them): 5,000 records, against "
        "2 patients the lab's logs name so far; no earlier export or extraction in these logs",
        # the volume, against the account's 5 sessions of every activity (no export
        # baseline exists): median 0, MAD 0, scale 10 records, z = 500 (qa17 c08)
        "records exported or extracted: 5,000 records, where the median of its baseline "
        "is 0 records",
    ]
    # the reading sessions fire nothing
    assert (s.iloc[:-1]["rules_score"] == 0.0).all() and not s.iloc[:-1]["flagged"].any()


def test_a_two_record_export_is_not_flagged():
    s = _scored(2)
    exp = s.iloc[-1]
    # 2 records, below the 500-record line: no rule, not flagged
    assert exp["rule_staff_bulk_export_short_logs"] == 0.0
    assert exp["rules_score"] == 0.0 and not s["flagged"].any()


@pytest.mark.parametrize("records", [499, 500])
def test_the_size_line_is_500_records(records):
    exp = _scored(records).iloc[-1]
    assert exp["rule_staff_bulk_export_short_logs"] == (6.0 if records >= 500 else 0.0)


def test_after_the_warm_up_only_the_first_export_rule_fires():
    # the same export on day 20 (after the 14-day warm-up): a first export, judged by
    # staff_first_bulk_export alone (the two rules are disjoint: 6, not 12)
    exp = _scored(5000, export_day=20).iloc[-1]
    assert exp["rule_staff_first_bulk_export"] == 6.0
    assert exp["rule_staff_bulk_export_short_logs"] == 0.0
    assert exp["rules_score"] == 6.0
