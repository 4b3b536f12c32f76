"""A staff account's first export of 500 records or more is judged as a first export,
whatever smaller exports came before (QA session 16: 20 records on day 20, then 5,000
on day 60, without a register, scored little or nothing)."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.case import CaseContext
from labforensics.detect import DetectParams, score
from labforensics.features import FeatureParams, build_features
from labforensics.sessions import sessionize

from .conftest import login_session as _session
from .conftest import make_events

CASE = CaseContext(tz="Europe/Paris")
D0 = pd.Timestamp("2020-03-05 07:00")  # a Thursday, 08:00 Paris (UTC+1)
# the exports fall on working days: day 1 (Fri), 4 (Mon), 20 (Wed 25 March), 40 (Tue 14
# April), 50 (Fri 24 April), 60 (Mon 4 May)
DAY = pd.Timedelta(days=1)
RULES = ("staff_first_bulk_export", "staff_bulk_export_short_logs", "staff_whole_base_export")


def _rules_rank(s: pd.DataFrame, row: pd.Series) -> int:
    """Rank by the rules alone (the benchmark's ``rules`` configuration): 1 + the
    sessions whose rules score more."""
    return 1 + int((s["rules_score"] > row["rules_score"]).sum())


def _scored(exports: list[tuple[int, int]], last_day: int | None = None) -> pd.DataFrame:
    """bio.b reads patients P1 and P2 each morning from day 0 to ``last_day`` (default:
    the last export's day); the secretary sec.a exports ``records`` records at 14:00
    local time on each ``(day, records)`` of ``exports``. Returns every session, scored,
    with a few features, in time order."""
    last = max(d for d, _ in exports) if last_day is None else last_day
    rows = []
    for d in range(last + 1):
        read = [dict(action="read", patient=p) for p in ("P1", "P2")]
        rows += _session("bio.b", "BIOLOGISTE", D0 + d * DAY, read)
    for d, records in exports:
        out = dict(action="export", module="FACTURATION", records=records)
        rows += _session("sec.a", "SECRETAIRE", D0 + d * DAY + pd.Timedelta(hours=6), [out])
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(), case=CASE)
    s = score(ft, DetectParams(), case=CASE).session
    feats = ft.session.frame().set_index("session_id")
    cols = ["first_bulk_outbound", "bulk_above_warmup", "n_bulk_outbound_account",
            "records_out_before_max"]  # fmt: skip
    s = s.join(feats[cols + ["after_warmup"]], on="session_id")
    return s.sort_values("start").reset_index(drop=True)


def _exports(s: pd.DataFrame) -> pd.DataFrame:
    return s[s["account"] == "sec.a"].reset_index(drop=True)


def test_a_big_export_after_a_small_first_one_is_flagged_as_a_first_bulk_export():
    every = _scored([(20, 20), (60, 5000)])
    s = _exports(every)
    small, big = s.iloc[0], s.iloc[1]
    # features: the 20-record export is the first export (first_outbound's), not a bulk
    # one; the 5,000-record one is the first of 500 or more, after the 14-day warm-up,
    # and the earlier exports held at most 20 records
    assert s["first_bulk_outbound"].tolist() == [0.0, 1.0]
    assert s["n_bulk_outbound_account"].tolist() == [1.0, 1.0]
    assert s["records_out_before_max"].tolist() == [0.0, 20.0]
    # the first-export rule now judges the big one (6); nothing else fires on it (the
    # lab's logs record no clinical work: no whole-base judgement)
    assert [big[f"rule_{r}"] for r in RULES] == [6.0, 0.0, 0.0]
    assert big["rules_score"] == 6.0 and bool(big["flagged"])
    assert big["score"] == pytest.approx(big["ensemble"] + 6.0)
    # the only session a rule fires on: first by the rules alone
    assert _rules_rank(every, big) == 1 and (every["rules_score"] > 0).sum() == 1
    assert list(big["reasons"])[0] == (
        "first export or extraction of 500 records or more by this account: 5,000 records, "
        "against 2 patients seen at the lab so far; its earlier exports or extractions in "
        "these logs held at most 20 records"
    )
    # the 20-record export fires no rule
    assert small["rules_score"] == 0.0


@pytest.mark.parametrize("records", [499, 500])
def test_the_bulk_line_is_500_records_after_smaller_exports(records):
    big = _exports(_scored([(20, 20), (60, records)])).iloc[1]
    assert big["rule_staff_first_bulk_export"] == (6.0 if records >= 500 else 0.0)
    assert big["rules_score"] == (6.0 if records >= 500 else 0.0)


def test_only_the_first_bulk_export_fires_and_a_series_of_three_does_not():
    # 20, then 5,000 (the first bulk one), then 800: two bulk exports, only the first fires
    s = _exports(_scored([(20, 20), (40, 5000), (60, 800)]))
    assert s["rule_staff_first_bulk_export"].tolist() == [0.0, 6.0, 0.0]
    assert s["records_out_before_max"].tolist() == [0.0, 20.0, 5000.0]
    # three exports of 500 or more: a series (a procedure), judged by its own baseline
    s = _exports(_scored([(20, 20), (40, 5000), (50, 800), (60, 700)]))
    assert (s["rule_staff_first_bulk_export"] == 0.0).all()
    assert s["n_bulk_outbound_account"].tolist() == [3.0] * 4


def test_a_small_export_in_the_warm_up_does_not_hide_a_later_first_bulk_one():
    # 20 records on day 4 (inside the warm-up), 5,000 on day 60: the first bulk one,
    # after the warm-up: the first-export rule, not the short-logs rule
    big = _exports(_scored([(4, 20), (60, 5000)])).iloc[1]
    assert [big[f"rule_{r}"] for r in RULES] == [6.0, 0.0, 0.0]


def test_short_logs_a_big_export_after_a_small_one_is_the_short_logs_rule():
    # 6 days of logs: 20 records on day 1, 5,000 on day 4, both inside the warm-up: the
    # only bulk export of the account, judged by the short-logs rule alone (before, that
    # rule needed the account's only export of any size, and this one scored 0)
    every = _scored([(1, 20), (4, 5000)], last_day=5)
    s = _exports(every)
    big = s.iloc[1]
    assert s["after_warmup"].tolist() == [0.0, 0.0]
    assert [big[f"rule_{r}"] for r in RULES] == [0.0, 6.0, 0.0]
    assert big["rules_score"] == 6.0 and bool(big["flagged"])
    assert _rules_rank(every, big) == 1 and (every["rules_score"] > 0).sum() == 1
    assert list(big["reasons"])[0] == (
        "only export or extraction of 500 records or more by this account in these logs, "
        "within their first days (an earlier one may predate them): 5,000 records, against "
        "2 patients the lab's logs name so far; its earlier exports or extractions in these "
        "logs held at most 20 records"
    )


RULES4 = (*RULES, "staff_bulk_export_above_warmup")


def test_a_bulk_export_in_the_warm_up_then_a_larger_one_is_judged_after_it():
    # 900 records on day 4 (in the warm-up), 5,000 on day 60: the first bulk export lies
    # in the warm-up (it may repeat one before the logs: neither first-bulk rule judges
    # it, and it is not the only one, so not the short-logs rule); the 5,000 one is the
    # first after the warm-up of 500 or more and at least twice everything before (900):
    # staff_bulk_export_above_warmup, alone (det18; session 17 pinned nothing here)
    every = _scored([(4, 900), (60, 5000)])
    s = _exports(every)
    small, big = s.iloc[0], s.iloc[1]
    assert s["first_bulk_outbound"].tolist() == [0.0, 0.0]
    assert s["after_warmup"].tolist() == [0.0, 1.0]
    assert s["records_out_before_max"].tolist() == [0.0, 900.0]
    assert [small[f"rule_{r}"] for r in RULES4] == [0.0, 0.0, 0.0, 0.0]
    assert [big[f"rule_{r}"] for r in RULES4] == [0.0, 0.0, 0.0, 6.0]
    assert big["rules_score"] == 6.0 and bool(big["flagged"])
    assert _rules_rank(every, big) == 1 and (every["rules_score"] > 0).sum() == 1
    assert list(big["reasons"])[0] == (
        "export or extraction of 5,000 records by this account, at least twice as many as "
        "any before it in these logs, after a first one of 500 records or more within their "
        "first days: "
        "against 2 patients seen at the lab so far; its earlier exports or extractions in "
        "these logs held at most 900 records"
    )


def test_after_a_bulk_export_in_the_warm_up_only_one_twice_as_large_fires():
    # 900 on day 4, 800 on day 40 (not larger: a repeat of the warm-up's size), 5,000 on
    # day 50: three bulk exports, a series: nothing fires
    s = _exports(_scored([(4, 900), (40, 800), (50, 5000)]))
    assert s["bulk_above_warmup"].tolist() == [0.0, 0.0, 1.0]
    assert (s[[f"rule_{r}" for r in RULES4]] == 0.0).all().all()
    # 900 on day 4, 800 on day 40: the later one is not larger: nothing fires
    s = _exports(_scored([(4, 900), (40, 800)]))
    assert s["bulk_above_warmup"].tolist() == [0.0, 0.0]
    assert (s[[f"rule_{r}" for r in RULES4]] == 0.0).all().all()


@pytest.mark.parametrize("records", [1799, 1800])
def test_the_later_export_must_take_out_twice_the_most_taken_before(records):
    # 900 on day 4, 20 on day 30, then 1,799 or 1,800 on day 60: 2 x 900 = 1,800 (a
    # periodic export grown with the lab, 2,384 then 2,429 records, stays below)
    s = _exports(_scored([(4, 900), (30, 20), (60, records)]))
    fires = records >= 1800
    assert s["bulk_above_warmup"].tolist() == [0.0, 0.0, float(fires)]
    assert s["rule_staff_bulk_export_above_warmup"].tolist() == [0.0, 0.0, 6.0 * fires]
    s = _exports(_scored([(4, 2384), (60, 2429)]))
    assert (s["rule_staff_bulk_export_above_warmup"] == 0.0).all()


def test_a_first_bulk_export_after_the_warm_up_is_never_judged_above_the_warm_up():
    # the first bulk export after the warm-up (20 on day 4, 5,000 on day 60) is the
    # first-bulk rule's alone; an account with one bulk export in the warm-up is the
    # short-logs rule's alone
    s = _exports(_scored([(4, 20), (60, 5000)]))
    assert s["bulk_above_warmup"].tolist() == [0.0, 0.0]
    assert s["rule_staff_first_bulk_export"].tolist() == [0.0, 6.0]
    s = _exports(_scored([(1, 20), (4, 5000)], last_day=5))
    assert s["bulk_above_warmup"].tolist() == [0.0, 0.0]
    assert s["rule_staff_bulk_export_short_logs"].tolist() == [0.0, 6.0]
