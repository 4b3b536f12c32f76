"""A staff export holding at least as many records as the patients the lab's logs name
(QA session 16: a secretary exporting the 300 patients of a tiny lab, below the
500-record line, fired nothing): ``staff_whole_base_export``."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.case import CaseContext
from labforensics.detect import DetectParams, score
from labforensics.features import FeatureParams, build_features
from labforensics.sessions import sessionize

from .conftest import make_events

CASE = CaseContext(tz="Europe/Paris")
D0 = pd.Timestamp("2020-03-05 07:00")  # a Thursday, 08:00 Paris (UTC+1)
DAY = pd.Timedelta(days=1)
# exports on working days: day 11 (Mon 16 March), 35 (Thu 9 April), 42 (Thu 16 April),
# 49 (Thu 23 April)
FEATS = [
    "records_out_share_lab",
    "lab_patients",
    "first_whole_base_outbound",
    "n_whole_base_outbound_account",
    "lab_explain_usable",
    "after_warmup",
]


def _session(account: str, role: str, t: pd.Timestamp, body: list[dict]) -> list[dict]:
    rows = [dict(ts=t, account=account, role=role, action="login")]
    for k, r in enumerate(body, 1):
        rows.append(dict(ts=t + pd.Timedelta(seconds=20 * k), account=account, role=role, **r))
    rows.append(dict(ts=t + pd.Timedelta(minutes=10), account=account, role=role, action="logout"))
    return rows


def _scored(
    exports: list[tuple[int, int]],
    patients: int = 300,
    clinical: bool = True,
    account: str = "sec.a",
    role: str = "SECRETAIRE",
) -> pd.DataFrame:
    """A lab whose biologist bio.b validates then reads 10 new patients each morning
    until ``patients`` are named (``clinical`` False: reads only, no clinical event),
    then validates and reads P0 each morning up to the last export's day; ``account``
    reads P1 on day 1 and exports ``records`` records at 14:00 local time on each
    ``(day, records)``. Returns every session, scored, with a few features, in time
    order."""
    last = max(d for d, _ in exports)
    rows = []
    for d in range(last + 1):
        new = [f"P{i}" for i in range(10 * d, min(10 * d + 10, patients))] or ["P0"]
        act = ("validate", "read") if clinical else ("read",)
        body = [dict(action=a, patient=p) for p in new for a in act]
        rows += _session("bio.b", "BIOLOGISTE", D0 + d * DAY, body)
    rows += _session(account, role, D0 + DAY + pd.Timedelta(hours=2),
                     [dict(action="read", patient="P1")])  # fmt: skip
    for d, records in exports:
        out = dict(action="export", module="FACTURATION", records=records)
        rows += _session(account, role, D0 + d * DAY + pd.Timedelta(hours=6), [out])
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(), case=CASE)
    s = score(ft, DetectParams(), case=CASE).session
    s = s.join(ft.session.frame().set_index("session_id")[FEATS], on="session_id")
    return s.sort_values("start").reset_index(drop=True)


def _exports(s: pd.DataFrame, account: str = "sec.a") -> pd.DataFrame:
    out = s[(s["account"] == account) & (s["start"] > (D0 + 2 * DAY).tz_localize("UTC"))]
    return out.reset_index(drop=True)


def test_a_secretary_exporting_the_tiny_lab_s_whole_base_is_flagged():
    every = _scored([(35, 300)])
    exp = _exports(every).iloc[0]
    # the logs name 300 patients by day 29; 300 records over 300 patients: 1 (100 %)
    assert exp["lab_patients"] == 300 and exp["records_out_share_lab"] == 1.0
    assert exp["lab_explain_usable"] == 1.0 and exp["after_warmup"] == 1.0
    assert exp["n_whole_base_outbound_account"] == 1.0
    # 300 < 500: no first-bulk rule; the whole-base rule alone, 6
    assert exp["rule_staff_first_bulk_export"] == 0.0
    assert exp["rule_staff_whole_base_export"] == 6.0
    assert exp["rules_score"] == 6.0 and bool(exp["flagged"])
    assert exp["score"] == pytest.approx(exp["ensemble"] + 6.0)
    # the only session a rule fires on
    assert (every["rules_score"] > 0).sum() == 1
    assert list(exp["reasons"])[0] == (
        "300 records exported or extracted by this staff account, at least as many as the "
        "300 patients the lab's logs name so far (its whole known patient population); no earlier export or extraction in these logs"
    )


@pytest.mark.parametrize("records", [299, 300])
def test_the_line_is_the_lab_s_known_patients(records):
    exp = _exports(_scored([(35, records)])).iloc[0]
    # 299 / 300 = 0.997 < 1: not the whole base
    assert exp["rule_staff_whole_base_export"] == (6.0 if records >= 300 else 0.0)
    assert exp["rules_score"] == (6.0 if records >= 300 else 0.0)


@pytest.mark.parametrize("records", [99, 100])
def test_a_lab_naming_40_patients_needs_100_records(records):
    # the denominator is floored at FeatureParams.min_lab_patients (100): 60 records
    # against 40 patients is not judged; 100 is, and the reason gives the 40 patients
    exp = _exports(_scored([(35, records)], patients=40)).iloc[0]
    assert exp["lab_patients"] == 40
    assert exp["rule_staff_whole_base_export"] == (6.0 if records >= 100 else 0.0)
    if records >= 100:
        assert list(exp["reasons"])[0] == (
            "100 records exported or extracted by this staff account, at least as many as "
            "the 40 patients the lab's logs name so far (its whole known patient population); "
            "no earlier export or extraction in these logs"
        )


def test_a_routine_whole_base_export_is_not_flagged():
    # three weekly exports of every patient (billing): a routine, none fires
    s = _exports(_scored([(35, 300), (42, 300), (49, 300)]))
    assert s["n_whole_base_outbound_account"].tolist() == [3.0, 3.0, 3.0]
    assert s["first_whole_base_outbound"].tolist() == [1.0, 0.0, 0.0]
    assert (s["rule_staff_whole_base_export"] == 0.0).all()
    # two runs in the evidence are not yet a series: the first fires (a known false
    # positive, stated in rules.toml), the second repeats a volume the account already
    # took out (300 records, as many as the 300 patients)
    s = _exports(_scored([(35, 300), (42, 300)]))
    assert s["rule_staff_whole_base_export"].tolist() == [6.0, 0.0]


def test_an_earlier_smaller_export_does_not_hide_the_first_whole_base_one():
    # day 11 (warm-up, 120 patients named): 150 records, reaching the floor but not judged
    # (warm-up); day 35 (300 named): 300 records, more than any earlier export: it fires,
    # its reason giving the earlier 150
    s = _exports(_scored([(11, 150), (35, 300)]))
    assert s["first_whole_base_outbound"].tolist() == [1.0, 1.0]
    assert s["rule_staff_whole_base_export"].tolist() == [0.0, 6.0]
    assert list(s.iloc[1]["reasons"])[0] == (
        "300 records exported or extracted by this staff account, at least as many as the "
        "300 patients the lab's logs name so far (its whole known patient population); its "
        "earlier exports or extractions in these logs held at most 150 records"
    )
    # with 300 records on day 11 the day-35 export repeats a volume already taken out
    s = _exports(_scored([(11, 300), (35, 300)]))
    assert s["rule_staff_whole_base_export"].tolist() == [0.0, 0.0]


def test_an_interface_account_exporting_everyone_is_not_flagged():
    # a service account (the INTERFACE role): its transfers are its work
    exp = _exports(_scored([(35, 300)], account="itf.x", role="INTERFACE"), "itf.x").iloc[0]
    assert exp["records_out_share_lab"] == 1.0
    assert exp["rules_score"] == 0.0


def test_in_the_warm_up_the_known_patients_are_not_the_population():
    # day 11: the logs name 120 patients (a floor, not the lab's size): 300 records
    # reach them, but the export falls in the 14-day warm-up: not judged (and 300 < 500:
    # no short-logs rule either)
    exp = _exports(_scored([(11, 300)])).iloc[0]
    assert exp["lab_patients"] == 120 and exp["records_out_share_lab"] == 1.0
    assert exp["after_warmup"] == 0.0
    assert exp["rules_score"] == 0.0


def test_logs_without_clinical_work_give_no_population():
    # the same lab with reads only: the logs do not record the lab's clinical work (no
    # explanation signal), so the patients they name are not its population
    exp = _exports(_scored([(35, 300)], clinical=False)).iloc[0]
    assert exp["lab_patients"] == 300 and exp["lab_explain_usable"] == 0.0
    assert exp["rules_score"] == 0.0


def test_a_first_bulk_export_of_the_whole_base_is_judged_once():
    # 800 records, the account's first export of 500 or more, against 300 patients: one
    # export judged by size once, by the 500-record line (6, not 12)
    exp = _exports(_scored([(35, 800)])).iloc[0]
    assert exp["first_whole_base_outbound"] == 1.0
    assert exp["rule_staff_first_bulk_export"] == 6.0
    assert exp["rule_staff_whole_base_export"] == 0.0
    assert exp["rules_score"] == 6.0
    assert list(exp["reasons"])[0] == (
        "first export or extraction of 500 records or more by this account: 800 records, "
        "against 300 patients seen at the lab so far; no earlier export or extraction in "
        "these logs"
    )


def test_each_export_is_judged_by_size_once():
    # 600 records on day 35 (against 300 patients: the first bulk export, judged by the
    # 500-record line; also the first whole-base one), then 900 on day 42: neither rule
    # fires on it (a repeat); with the first one 450 records (below the line, above the
    # 300 patients), the same happens by the whole-base rule
    s = _exports(_scored([(35, 600), (42, 900)]))
    assert s["rule_staff_first_bulk_export"].tolist() == [6.0, 0.0]
    assert s["rule_staff_whole_base_export"].tolist() == [0.0, 0.0]
    s = _exports(_scored([(35, 450), (42, 900)]))
    # 450: the first whole-base export (6); 900: the first bulk one (6), not the first
    # whole-base one
    assert s["rule_staff_whole_base_export"].tolist() == [6.0, 0.0]
    assert s["rule_staff_first_bulk_export"].tolist() == [0.0, 6.0]
