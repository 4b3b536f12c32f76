"""An account's unexplained reads pooled over a week either side (issue 14, session 5):
spread snooping adds up, one routine sitting with a few unexplained reads does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labforensics.case import CaseContext
from labforensics.detect.rules import apply_rules, load_rules, render_reason
from labforensics.features import FeatureParams, build_features
from labforensics.features.explained import pooled_counts
from labforensics.sessions import sessionize

from .conftest import make_events

CASE = CaseContext(tz="UTC")
D0 = pd.Timestamp("2021-01-04 09:00")  # a Monday
DAY = pd.Timedelta(days=1)


def test_pooled_counts_by_hand():
    lab = np.array(["L1", "L1", "L1", "L1", "L2"], dtype=object)
    acc = np.array(["a", "a", "a", "b", "a"], dtype=object)
    day = np.array(["2021-01-01", "2021-01-05", "2021-01-09", "2021-01-05", "2021-01-05"],
                   dtype="datetime64[D]")  # fmt: skip
    accessed = np.array([4.0, 2, 6, 10, 3])
    unexplained = np.array([3.0, 1, 0, 0, 3])
    rate = np.array([0.06, 0.06, 0.06, 0.06, 0.1])
    r = pooled_counts(lab, acc, day, accessed, unexplained, rate, 7)
    # 01-01 pools 01-01 and 01-05 (01-09 is 8 days away); 01-05 pools all three days
    # of (L1, a); 01-09 pools 01-05 and 01-09; (L1, b) and (L2, a) are alone
    assert r["accessed_patients_pooled"].tolist() == [6, 12, 8, 10, 3]
    assert r["unexplained_patients_pooled"].tolist() == [4, 4, 1, 0, 3]
    p0 = 15 * 0.06**4 * 0.94**2 + 6 * 0.06**5 * 0.94 + 0.06**6  # P(X >= 4 | 6, 0.06)
    p2 = 1 - 0.94**8  # P(X >= 1 | 8, 0.06)
    assert r["unexplained_p_pooled"][0] == pytest.approx(p0)
    assert r["unexplained_p_pooled"][2] == pytest.approx(p2)
    assert r["unexplained_p_pooled"][3] == 1.0  # nothing unexplained
    assert r["unexplained_p_pooled"][4] == pytest.approx(0.1**3)  # 3 of 3 at 10 %


def _session(account: str, role: str, t: pd.Timestamp, acts: list[tuple]) -> list[dict]:
    """login, the given (action, patient) one minute apart, logout."""
    rows = [dict(ts=t, account=account, role=role, action="login")]
    for k, (a, p) in enumerate(acts, 1):
        rows.append(dict(ts=t + pd.Timedelta(minutes=k), account=account, role=role, action=a,
                         patient=p, request="R-" + p if a == "update" else None))  # fmt: skip
    rows.append(dict(ts=t + pd.Timedelta(minutes=len(acts) + 1), account=account, role=role,
                     action="logout"))  # fmt: skip
    return rows


def _rows() -> list[dict]:
    rows: list[dict] = []
    # 40 patients with a request entered by sec.a, each read the same day by tec.r
    # (explained) and by doc.d / doc.e (explained: 100 % for the median account)
    for i in range(40):
        t = D0 + (i % 10) * DAY
        p = f"P{i:02d}"
        rows += _session("sec.a", "SECRETAIRE", t, [("update", p)])
        rows += _session("tec.r", "TECHNICIEN", t + pd.Timedelta(hours=1), [("read", p)])
        rows += _session(
            "doc.d" if i % 2 else "doc.e", "BIOLOGISTE", t + pd.Timedelta(hours=2), [("read", p)]
        )
    # tec.r, day 5: one sitting reading 3 patients nobody else touches (routine cluster)
    rows += _session("tec.r", "TECHNICIEN", D0 + 5 * DAY + pd.Timedelta(hours=4),
                     [("read", "M1"), ("read", "M2"), ("read", "M3")])  # fmt: skip
    # sec.s: snooping on 4 neighbours in two sittings of 2, days 2 and 4
    rows += _session("sec.s", "SECRETAIRE", D0 + 2 * DAY + pd.Timedelta(hours=5),
                     [("read", "N1"), ("read", "N2")])  # fmt: skip
    rows += _session("sec.s", "SECRETAIRE", D0 + 4 * DAY + pd.Timedelta(hours=5),
                     [("read", "N3"), ("read", "N4")])  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def feats():
    ss = sessionize(make_events(_rows()))
    params = FeatureParams(explain_window="3D", warmup="0s")
    return build_features(ss.events, ss.sessions, params, case=CASE)


def _fires(feats, rid: str):
    rules = {r.id: r for r in load_rules()}
    table = feats.session if rid == "unexplained_patients" else feats.account_day
    f = table.frame()
    fired, skipped = apply_rules(f, [rules[rid]], table.unit)
    assert not skipped
    return f, fired[rid], rules[rid]


def test_spread_snooping_adds_up_and_a_routine_cluster_does_not(feats):
    f, fired, rule = _fires(feats, "unexplained_patients")
    # lab rate: median account explained share = median(tec.r 40/43, doc.d 1, doc.e 1,
    # sec.s 0) = 0.965, so the 6 % floor applies
    snoop = f[f["account"] == "sec.s"]
    # each sitting: 2 of 2 unexplained, p = 0.06^2 = 0.0036 (<= 0.01, but 2 < 3 and
    # > 0.001: the per-sitting test alone could not fire); pooled over the week:
    # 4 of 4, p = 0.06^4 = 1.3e-5
    assert snoop["unexplained_p"].tolist() == pytest.approx([0.06**2] * 2)
    assert snoop["unexplained_patients_pooled"].tolist() == [4, 4]
    assert snoop["unexplained_p_pooled"].tolist() == pytest.approx([0.06**4] * 2)
    assert fired[snoop.index].all()
    # tec.r's routine cluster: 3 of 3 in one sitting (p = 2.2e-4, which the
    # per-sitting rule alone flagged), but 3 of the 43 patient-days tec.r read
    # within a week either side: P(X >= 3 | 43, 0.06) = 0.48
    tec = f[(f["account"] == "tec.r") & (f["unexplained_patients"] > 0)].iloc[0]
    assert tec["unexplained_p"] == pytest.approx(0.06**3)
    assert (tec["accessed_patients_pooled"], tec["unexplained_patients_pooled"]) == (43, 3)
    p = 1 - (0.94**43 + 43 * 0.06 * 0.94**42 + 903 * 0.06**2 * 0.94**41)
    assert tec["unexplained_p_pooled"] == pytest.approx(p)
    assert p == pytest.approx(0.481, abs=1e-3)
    assert f.loc[fired, "account"].tolist() == ["sec.s", "sec.s"]
    text = render_reason(rule, snoop.iloc[0].to_dict())
    assert text == (
        "2 of 2 patients read have no request, sample or result at this lab within 3 days "
        "(4 of 4 patient reads by this account within a week either side)"
    )


def test_day_rule_pools_the_same_way(feats):
    f, fired, _ = _fires(feats, "unexplained_patients_day")
    # sec.s's two days fire (4 of 4 pooled); tec.r's day 5 does not (3 of 43)
    assert sorted(f.loc[fired, "day"].tolist()) == ["2021-01-06", "2021-01-08"]
    assert set(f.loc[fired, "account"]) == {"sec.s"}


def test_explain_pool_zero_days_is_the_day_alone(feats):
    ss = sessionize(make_events(_rows()))
    params = FeatureParams(explain_window="3D", warmup="0s", explain_pool="0D")
    ft = build_features(ss.events, ss.sessions, params, case=CASE)
    s = ft.session.frame()
    snoop = s[s["account"] == "sec.s"]
    # a day alone: 2 of 2 each, p = 0.0036 > 0.001, so nothing pools
    assert snoop["unexplained_patients_pooled"].tolist() == [2, 2]
    assert snoop["unexplained_p_pooled"].tolist() == pytest.approx([0.06**2] * 2)


def _family_rows() -> list[dict]:
    rows: list[dict] = []
    h = pd.Timedelta(hours=1)
    # sec.a enters the requests of P1..P7 on day 0; doc.d, doc.e, doc.f read them all
    # (one sitting each, explained)
    rows += _session("sec.a", "SECRETAIRE", D0, [("update", f"P{i}") for i in range(1, 8)])
    for k, doc in enumerate(("doc.d", "doc.e", "doc.f")):
        rows += _session(doc, "BIOLOGISTE", D0 + (2 + k) * h,
                         [("read", f"P{i}") for i in range(1, 8)])  # fmt: skip
    # tec.x, day 1: reads P1..P7 and Q1..Q3 (3 unexplained of 10) and works on W1..W11
    rows += _session("tec.x", "TECHNICIEN", D0 + DAY,
                     [("read", f"P{i}") for i in range(1, 8)]
                     + [("read", f"Q{i}") for i in range(1, 4)]
                     + [("update", f"W{i}") for i in range(1, 12)])  # fmt: skip
    # sec.s, day 2: reads 7 neighbours nobody else touches, in one sitting
    rows += _session("sec.s", "SECRETAIRE", D0 + 2 * DAY,
                     [("read", f"N{i}") for i in range(1, 8)])  # fmt: skip
    # day 6: a login, so that the logs cover the 3 days after every read (a read whose
    # window lies outside the logs on both sides is undetermined)
    rows += _session("sec.a", "SECRETAIRE", D0 + 6 * DAY, [])
    return rows


@pytest.fixture(scope="module")
def family():
    ss = sessionize(make_events(_family_rows()))
    params = FeatureParams(explain_window="3D", warmup="0s")
    return build_features(ss.events, ss.sessions, params, case=CASE).session.frame()


def test_family_adjusted_sitting_rule(family):
    f = family.set_index("account")
    # lab rate: median explained share of doc.d, doc.e, doc.f (1), tec.x (0.7), sec.s (0)
    # = 1, so the 6 % floor; 5 sittings read patients (3 doctors, tec.x, sec.s)
    s, t = f.loc["sec.s"], f.loc["tec.x"]
    assert s["unexplained_p"] == pytest.approx(0.06**7)
    assert s["unexplained_p_family"] == pytest.approx(5 * 0.06**7)  # 1.4e-8 <= 0.05
    # tec.x: P(X >= 3 | 10, 0.06) = 1 - (0.94^10 + 10*0.06*0.94^9 + 45*0.06^2*0.94^8)
    p = 1 - (0.94**10 + 10 * 0.06 * 0.94**9 + 45 * 0.06**2 * 0.94**8)
    assert t["unexplained_p"] == pytest.approx(p)  # 0.0188
    assert t["unexplained_p_family"] == pytest.approx(5 * p)  # 0.094 > 0.05
    rules = {r.id: r for r in load_rules()}
    rule = rules["unexplained_patients_sitting"]
    fired, skipped = apply_rules(family, [rule], "session")
    assert not skipped
    assert family.loc[fired[rule.id], "account"].tolist() == ["sec.s"]
    assert render_reason(rule, s.to_dict()) == (
        "7 of 7 patients read in one sitting have no request, sample or result at this lab "
        "within 3 days (family-wise p = 1.4e-08)"
    )


def test_share_touched_counts_the_patients_worked_on(family):
    f = family.set_index("account")
    # tec.x touched 21 patients (10 read, 11 worked on), 3 unexplained: 3/10 of those
    # read, 3/21 of those touched; sec.s 7 of 7 either way
    t = f.loc["tec.x"]
    assert (t["distinct_patients"], t["accessed_patients"], t["unexplained_patients"]) == (
        21,
        10,
        3,
    )
    assert t["unexplained_share"] == pytest.approx(0.3)
    assert t["unexplained_share_touched"] == pytest.approx(3 / 21)
    assert f.loc["sec.s", "unexplained_share_touched"] == 1.0


def test_far_above_peers_needs_most_touched_patients_unexplained():
    rule = {r.id: r for r in load_rules()}["patients_far_above_peers"]
    base = dict(kind_service=0.0, regular_job=0.0, distinct_patients=15.0,
                distinct_patients_z=8.0, distinct_patients_z_peer_lab=8.0, explain_usable=1.0,
                unexplained_share=0.8)  # fmt: skip
    # 15 patients touched, 5 read, 4 of them unexplained: 4/5 of the reads, but 4/15 of
    # the patients (the session worked on the other 10): not mostly unexplained
    frame = pd.DataFrame([{**base, "unexplained_share_touched": 4 / 15},
                          {**base, "unexplained_share_touched": 9 / 15}])  # fmt: skip
    fired, _ = apply_rules(frame, [rule], "session")
    assert fired[rule.id].tolist() == [False, True]


@pytest.mark.parametrize("rule_id", ["unexplained_patients", "unexplained_patients_day"])
def test_unexplained_rule_needs_most_touched_patients_unexplained(rule_id):
    # full-size snooping variant, L18: a routine sitting validating 10 patients that reads
    # 5, 4 of them unexplained (4 of 7 pooled: P(X >= 4 | 7, 0.06) = 3.9e-4 <= 0.001;
    # the sitting's 4 of 5: 6.2e-5 <= 0.01) passed both tests, yet 4 of the 15 patients
    # it touched are unexplained; a snoop's 3 of 3 read and touched fires
    rule = {r.id: r for r in load_rules()}[rule_id]
    p_pool = 35 * 0.06**4 * 0.94**3 + 21 * 0.06**5 * 0.94**2 + 7 * 0.06**6 * 0.94 + 0.06**7
    assert p_pool == pytest.approx(3.9e-4, rel=0.01)  # binomial tail by hand
    base = dict(kind_service=0.0, regular_job=0.0, explain_usable=1.0,
                unexplained_patients_pooled=4.0, unexplained_p_pooled=p_pool,
                unexplained_patients=4.0, unexplained_p=5 * 0.06**4 * 0.94 + 0.06**5,
                accessed_patients=5.0, accessed_patients_pooled=7.0, explain_window_days=30.0)  # fmt: skip
    frame = pd.DataFrame([{**base, "unexplained_share_touched": 4 / 15},
                          {**base, "unexplained_share_touched": 3 / 3}])  # fmt: skip
    fired, skipped = apply_rules(frame, [rule], rule.unit)
    assert not skipped
    assert fired[rule.id].tolist() == [False, True]
