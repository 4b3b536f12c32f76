"""Campaigns (issue 14 item 5): grouping of sessions, its determinism, and its evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labforensics.detect.campaigns import (
    CAMPAIGN_COLUMNS,
    CampaignParams,
    activity_class,
    campaign_findings,
    group_campaigns,
)
from labforensics.errors import ParameterError, SchemaError
from labforensics.evaluate import evaluate_campaigns
from labforensics.schema import STRING_LIST

T0 = pd.Timestamp("2021-01-04 20:00", tz="UTC")  # a Monday


def _session(sid, *, lab="L01", account="hotline.2", kind="vendor", start, minutes=20,
             score=7.0, flagged=True, reasons=None, rule=True, **counts):  # fmt: skip
    return {
        "session_id": sid, "lab": lab, "account": account, "account_kind": kind,
        "start": start, "end": start + pd.Timedelta(minutes=minutes), "score": score,
        "flagged": flagged, "reasons": reasons, "rule_vendor_export": 6.0 if rule else 0.0,
        **counts,
    }  # fmt: skip


def _split(rows):
    df = pd.DataFrame(rows)
    sess_cols = [c for c in df.columns if c not in ("score", "flagged", "reasons",
                                                    "rule_vendor_export")]  # fmt: skip
    sc = df[["session_id", "score", "flagged", "reasons", "rule_vendor_export"]].copy()
    sc["reasons"] = pd.Series([r if r is not None else None for r in df["reasons"]],
                              dtype=STRING_LIST)  # fmt: skip
    return sc, df[sess_cols].fillna({c: 0 for c in sess_cols if c.startswith("n_")})


def _hotline(n=40, every_days=2):
    """n near-identical flagged exports of one hotline account, one every ``every_days``."""
    return [
        _session(f"S{i:03d}", start=T0 + pd.Timedelta(days=every_days * i), score=7.0 + i / 100,
                 reasons=[f"{200 + i} records exported or extracted by a vendor account",
                          "activity at night (start 21:00 local)"],
                 n_export=1, records_exported=200 + i)
        for i in range(n)
    ]  # fmt: skip


def test_forty_hotline_sessions_are_one_campaign():
    sc, ss = _split(_hotline())
    c = group_campaigns(sc, ss)
    assert list(c.columns) == list(CAMPAIGN_COLUMNS)
    # 40 exports two days apart (gap 2 days < 7): one campaign
    assert len(c) == 1
    r = c.iloc[0]
    assert r["n_sessions"] == 40 and r["n_flagged"] == 40 and bool(r["flagged"])
    # first = start of session 0; last = end of session 39 = T0 + 78 days + 20 min
    assert r["first"] == T0
    assert r["last"] == T0 + pd.Timedelta(days=78, minutes=20)
    assert list(r["session_ids"]) == [f"S{i:03d}" for i in range(40)]
    # score = the best session's: 7.0 + 39/100; its id is S039
    assert r["score"] == pytest.approx(7.39) and r["best_session_id"] == "S039"
    # both reasons appear in all 40 sessions; the records one is worded as in the best (S039)
    assert list(r["reasons"]) == ["239 records exported or extracted by a vendor account",
                                  "activity at night (start 21:00 local)"]  # fmt: skip
    assert list(r["rules"]) == ["vendor_export"] and r["activity"] == "export"
    assert r["campaign_id"].startswith("C") and len(r["campaign_id"]) == 13
    assert c["session_ids"].dtype == STRING_LIST and c["reasons"].dtype == STRING_LIST


def test_two_accounts_never_share_a_campaign():
    a = _hotline(5)
    b = [dict(r, session_id="B" + r["session_id"], account="hotline.3") for r in a]
    sc, ss = _split(a + b)
    c = group_campaigns(sc, ss)
    # same lab, same days, same activity: still one campaign per account
    assert sorted(c["account"]) == ["hotline.2", "hotline.3"]
    assert list(c["n_sessions"]) == [5, 5]
    for ids, acct in zip(c["session_ids"], c["account"], strict=True):
        assert all(i.startswith("B") == (acct == "hotline.3") for i in ids)


def test_same_account_in_two_labs_is_two_campaigns():
    a = _hotline(3)
    b = [dict(r, session_id="X" + r["session_id"], lab="L02") for r in a]
    c = group_campaigns(*_split(a + b))
    assert sorted(c["lab"]) == ["L01", "L02"] and list(c["n_sessions"]) == [3, 3]


def test_gap_longer_than_the_knob_splits():
    rows = _hotline(6)
    # session 3 moved 10 days after session 2's end: sessions 0-2 and 3-5 (shifted) apart
    for r in rows[3:]:
        r["start"] += pd.Timedelta(days=10)
        r["end"] += pd.Timedelta(days=10)
    c = group_campaigns(*_split(rows))
    # 2 days + 10 days = 12 days between session 2 and 3 > 7 days: two campaigns of 3
    assert sorted(c["n_sessions"]) == [3, 3]
    # with a 14-day gap they are one
    c14 = group_campaigns(*_split(rows), params=CampaignParams(gap="14D"))
    assert list(c14["n_sessions"]) == [6]


def test_gap_is_measured_from_the_latest_end():
    # A lasts 9 days (ends day 9); B starts on day 8 (inside A) and ends 20 min later;
    # C starts on day 15.5: 7.5 days after B's end but 6.5 days after A's (the latest) end
    rows = [
        _session("A", start=T0, minutes=9 * 24 * 60, n_export=1),
        _session("B", start=T0 + pd.Timedelta(days=8), n_export=1),
        _session("C", start=T0 + pd.Timedelta(days=15.5), n_export=1),
    ]
    c = group_campaigns(*_split(rows))
    assert list(c["n_sessions"]) == [3]
    assert c.iloc[0]["last"] == T0 + pd.Timedelta(days=15.5, minutes=20)


def test_different_activity_signature_splits():
    rows = _hotline(4)
    # the same account reads patients on the same days, unflagged: another story
    rows += [
        _session(f"R{i}", start=T0 + pd.Timedelta(days=2 * i, hours=1), score=0.5,
                 flagged=False, rule=False, n_read=12, distinct_patients=12)
        for i in range(4)
    ]  # fmt: skip
    c = group_campaigns(*_split(rows))
    assert sorted(zip(c["activity"], c["n_sessions"], c["flagged"], strict=True)) == [
        ("export", 4, True), ("patient_reading", 4, False)]  # fmt: skip
    # the flagged campaign ranks first (score 7.03 > 0.5)
    assert c.iloc[0]["activity"] == "export" and list(c["rank"]) == [1, 2]


def test_flagged_and_routine_of_one_activity_split_by_default():
    rows = _hotline(3)
    rows[1].update(flagged=False, score=0.1)
    c = group_campaigns(*_split(rows))
    # activity_flagged: the unflagged export is its own campaign
    assert sorted(c["n_sessions"]) == [1, 2]
    # activity alone: one campaign, flagged because one of its sessions is, n_flagged 2
    c2 = group_campaigns(*_split(rows), params=CampaignParams(signature="activity"))
    assert list(c2["n_sessions"]) == [3] and c2.iloc[0]["n_flagged"] == 2
    # rules signature: all three fired vendor_export: one campaign
    c3 = group_campaigns(*_split(rows), params=CampaignParams(signature="rules"))
    assert list(c3["n_sessions"]) == [3]


def test_activity_classes_in_order_of_precedence():
    s = pd.DataFrame({
        "n_export": [1, 0, 0, 0, 0], "failed_logins_before": [3, 4, 0, 0, 0],
        "n_read": [5, 5, 5, 0, 0], "n_update": [1, 1, 1, 1, 0],
    })  # fmt: skip
    assert list(activity_class(s)) == ["export", "failed_login", "patient_reading",
                                       "administration", "other"]  # fmt: skip


def test_session_without_account_is_alone():
    rows = _hotline(3)
    for r in rows:
        r["account"] = None
    c = group_campaigns(*_split(rows))
    # no account, no shared identity: three campaigns of one session each
    assert list(c["n_sessions"]) == [1, 1, 1]


def test_permuted_input_gives_identical_table():
    rows = _hotline(12)
    rows += [dict(r, session_id="K" + r["session_id"], account="tech.1", kind="staff",
                  score=r["score"] - 7, flagged=False) for r in _hotline(9, every_days=3)]  # fmt: skip
    sc, ss = _split(rows)
    a = group_campaigns(sc, ss)
    for seed in (1, 2):
        p = np.random.default_rng(seed).permutation(len(sc))
        q = np.random.default_rng(seed + 10).permutation(len(ss))
        b = group_campaigns(sc.iloc[p].reset_index(drop=True), ss.iloc[q])
        pd.testing.assert_frame_equal(a, b)
    # byte-identical Parquet too
    import io

    def pq(df):
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()

    p = np.random.default_rng(5).permutation(len(sc))
    assert pq(a) == pq(group_campaigns(sc.iloc[p], ss))


def test_campaign_id_does_not_depend_on_rank_or_other_campaigns():
    sc, ss = _split(_hotline(5))
    alone = group_campaigns(sc, ss)
    extra = [_session("Z1", account="other", start=T0, score=50.0, n_export=1)]
    sc2, ss2 = _split(_hotline(5) + extra)
    both = group_campaigns(sc2, ss2)
    # the hotline campaign is now rank 2, with the same id
    row = both[both["account"] == "hotline.2"].iloc[0]
    assert row["rank"] == 2 and row["campaign_id"] == alone.iloc[0]["campaign_id"]


def test_reasons_as_joined_text_and_scores_table_without_sessions():
    rows = _hotline(3)
    sc, ss = _split(rows)
    sc = sc.assign(reasons=["a 1; b", "b; a 22", None])
    full = sc.merge(ss, on="session_id")
    c = group_campaigns(full)
    # "a N" twice, "b" twice: tie broken by the best session (S002 has none, S001 gives
    # "b" then "a 22")
    assert list(c.iloc[0]["reasons"]) == ["b", "a 22"]


def test_errors_name_the_problem():
    sc, ss = _split(_hotline(2))
    with pytest.raises(SchemaError, match="scored twice"):
        group_campaigns(pd.concat([sc, sc]), ss)
    with pytest.raises(SchemaError, match="not in the session table"):
        group_campaigns(sc, ss.iloc[:1])
    with pytest.raises(ParameterError, match="CampaignParams.gap"):
        CampaignParams(gap=7)


def test_empty_input():
    sc, ss = _split(_hotline(1))
    c = group_campaigns(sc.iloc[:0], ss.iloc[:0])
    assert list(c.columns) == list(CAMPAIGN_COLUMNS) and len(c) == 0


def test_findings_section_counts_and_no_session_list():
    rows = _hotline(4) + [_session("Q", account="x", start=T0, score=0.0, flagged=False,
                                   rule=False, n_read=1)]  # fmt: skip
    f = campaign_findings(group_campaigns(*_split(rows)))
    assert f["count"] == 2 and f["flagged"] == 1 and f["flagged_sessions"] == 4
    assert f["top"][0]["n_sessions"] == 4 and "session_ids" not in f["top"][0]
    assert f["top"][0]["first"] == "2021-01-04T20:00:00Z"


# --- evaluate_campaigns ----------------------------------------------------------------


def _camp(rank, ids):
    return {"rank": rank, "session_ids": ids}


def test_evaluate_campaigns_by_hand():
    # incidents A (kind a), B (kind c), C (kind d); r* routine sessions
    labels = pd.DataFrame({
        "session_id": [f"a{i}" for i in range(15)] + [f"b{i}" for i in range(24)]
        + ["c0"] + [f"r{i}" for i in range(30)],
        "incident": ["A"] * 15 + ["B"] * 24 + ["C"] + [None] * 30,
        "incident_kind": ["a"] * 15 + ["c"] * 24 + ["d"] + [None] * 30,
    })  # fmt: skip
    camps = pd.DataFrame([
        _camp(1, [f"a{i}" for i in range(10)]),                       # pure A: hit A
        _camp(2, [f"b{i}" for i in range(5)] + [f"r{i}" for i in range(5)]),  # 50 % B: miss
        _camp(3, [f"a{i}" for i in range(10, 15)]),                   # A again: duplicate
        _camp(4, [f"b{i}" for i in range(5, 24)] + ["r20"]),          # 19/20 = 95 % B: hit B
        _camp(5, ["c0"] + [f"r{i}" for i in range(5, 14)]),           # 10 % C: miss
    ])  # fmt: skip
    e = evaluate_campaigns(camps, labels)
    # default: the duplicate (rank 3) is left out, so B's hit is 3rd of the campaigns kept;
    # three incidents: AP = (1/1 + 2/3) / 3 = 0.5556
    assert e["ap"] == pytest.approx((1 + 2 / 3) / 3)
    # 2 of 3 incidents in the top 20 and the top 50
    assert e["recall@20"] == pytest.approx(2 / 3) and e["recall@50"] == pytest.approx(2 / 3)
    assert e["precision@20"] == pytest.approx(2 / 20) and e["best_rank"] == 1
    assert (e["n_found"], e["n_mixed"], e["n_duplicates"]) == (2, 2, 1)
    # the incidents' best ranks are ranks of the campaigns table
    assert {i["id"]: i["best_rank"] for i in e["incidents"]} == {"A": 1, "B": 4, "C": None}
    # per kind c: A's campaigns (1, 3) left out: B's hit is 2nd of [mixed B, B, mixed C]
    assert e["by_kind"]["c"]["ap"] == pytest.approx(1 / 2)
    assert e["by_kind"]["a"]["ap"] == pytest.approx(1.0)
    assert e["by_kind"]["d"]["ap"] == 0.0 and e["by_kind"]["d"]["best_rank"] is None
    # stricter: the duplicate counted as a miss: hits at ranks 1 and 4: (1 + 2/4) / 3 = 0.5
    assert evaluate_campaigns(camps, labels, duplicates="miss")["ap"] == pytest.approx(0.5)
    with pytest.raises(ParameterError):
        evaluate_campaigns(camps, labels, duplicates="maybe")


def test_evaluate_campaigns_threshold_is_ninety_percent():
    labels = pd.DataFrame({"session_id": [f"a{i}" for i in range(9)] + ["r0", "r1"],
                           "incident": ["A"] * 9 + [None, None]})  # fmt: skip
    nine_of_ten = pd.DataFrame([_camp(1, [f"a{i}" for i in range(9)] + ["r0"])])
    assert evaluate_campaigns(nine_of_ten, labels)["ap"] == 1.0  # 9/10 = 90 %: positive
    eight_of_ten = pd.DataFrame([_camp(1, [f"a{i}" for i in range(8)] + ["r0", "r1"])])
    assert evaluate_campaigns(eight_of_ten, labels)["ap"] == 0.0  # 80 %: a miss


def test_evaluate_campaigns_reads_parquet_lists(tmp_path):
    # campaigns.parquet read back by pandas gives arrays, not Arrow lists
    sc, ss = _split(_hotline(3))
    c = group_campaigns(sc, ss)
    from labforensics.outputs import write_parquet

    write_parquet(c, tmp_path / "campaigns.parquet")
    back = pd.read_parquet(tmp_path / "campaigns.parquet")
    labels = {"session": pd.DataFrame({"session_id": ["S000", "S001", "S002"],
                                       "incident": ["H", "H", "H"]})}  # fmt: skip
    assert evaluate_campaigns(back, labels)["ap"] == 1.0
    assert evaluate_campaigns(c, labels)["ap"] == 1.0
    with pytest.raises(ParameterError):
        evaluate_campaigns(c, labels, k=(0,))
