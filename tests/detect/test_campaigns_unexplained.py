"""Campaigns of unexplained reads (issue 14): an account's sittings with mostly unexplained
reads grouped by the campaign gap, their evidence combined (Fisher), Bonferroni over groups."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labforensics.detect.campaigns import (
    EXPLANATION_COLUMNS,
    UNEXPLAINED_RULE,
    CampaignParams,
    group_campaigns,
    unexplained_groups,
)
from labforensics.errors import ParameterError

T0 = pd.Timestamp("2021-01-04 10:00", tz="UTC")  # a Monday
RATE = 0.06  # the floor of a lab's routine unexplained rate (1 - 0.94, Fabbri & LeFevre)
ON = CampaignParams(unexplained=True)  # off by default (optimistic p-values: module doc)


def _sitting(sid, account, day, accessed, unexplained, touched, *, lab="L01", kind="staff",
             usable=1.0, score=0.0):  # fmt: skip
    """One sitting of 20 minutes reading ``accessed`` patients, ``unexplained`` of them
    unexplained, among ``touched`` patients; its binomial tail at RATE."""
    p = 1.0 if unexplained == 0 else sum(
        math.comb(accessed, j) * RATE**j * (1 - RATE) ** (accessed - j)
        for j in range(unexplained, accessed + 1)
    )  # fmt: skip
    start = T0 + pd.Timedelta(days=day)
    return {
        "session_id": sid, "lab": lab, "account": account, "account_kind": kind,
        "start": start, "end": start + pd.Timedelta(minutes=20), "score": score,
        "flagged": False, "n_read": accessed, "distinct_patients": touched,
        "accessed_patients": float(accessed), "unexplained_patients": float(unexplained),
        "unexplained_p": p, "unexplained_share_touched": unexplained / touched,
        "explain_usable": usable,
    }  # fmt: skip


def _table():
    return pd.DataFrame([
        _sitting("S1", "gaelle.n", 0, 3, 3, 3, score=0.5),    # 3 of 3: p = 0.06^3
        _sitting("S2", "gaelle.n", 2, 2, 2, 2, score=0.2),    # 2 of 2: p = 0.06^2
        _sitting("S3", "gaelle.n", 4, 10, 1, 10, score=1.0),  # 1 of 10: a working sitting
        _sitting("S4", "gaelle.n", 20, 2, 1, 2, score=0.3),   # 16 days later: a group alone
        _sitting("S5", "lucie.b", 1, 4, 0, 4),                # nothing unexplained
        _sitting("S6", "job.nuit", 1, 3, 3, 3, kind="service"),       # a service account
        _sitting("S7", "paul.f", 1, 3, 3, 3, lab="L02", usable=0.0),  # no signal at L02
        _sitting("S8", "marc.d", 0, 2, 1, 2),                 # 1 of 2 twice: p = 1 - 0.94^2
        _sitting("S9", "marc.d", 3, 2, 1, 2),
    ])  # fmt: skip


def _frame(df):
    ns = lambda c: df[c].dt.as_unit("ns").to_numpy("datetime64[ns]").view("int64")  # noqa: E731
    return df.assign(start_ns=ns("start"), end_ns=ns("end"))


def test_groups_and_fisher_by_hand():
    group, groups = unexplained_groups(_frame(_table()))
    # S1, S2 chained (2 days < 7); S3 is no candidate (1 of 10 touched unexplained < 0.5);
    # S4 starts 16 days after S2: a group of its own; S5-S7: none unexplained, service, no
    # signal; S8, S9: marc.d's two sittings 3 days apart (groups numbered by lab, account)
    assert group.tolist() == [0, 0, -1, 1, -1, -1, -1, 2, 2]
    assert groups["n_sittings"].tolist() == [2, 1, 2]
    assert groups["unexplained"].tolist() == [5.0, 1.0, 2.0]
    assert groups["accessed"].tolist() == [5.0, 2.0, 4.0]
    # Fisher: X = -2 (ln 0.06^3 + ln 0.06^2) = -10 ln 0.06; chi-square with 4 df has
    # survival exp(-x/2) (1 + x/2)
    x = -10 * math.log(0.06)
    assert groups["fisher_stat"].iloc[0] == pytest.approx(x, rel=1e-9)
    p0 = math.exp(-x / 2) * (1 + x / 2)  # 1.17e-5
    assert groups["fisher_p"].iloc[0] == pytest.approx(p0, rel=1e-9)
    # one sitting: Fisher's p is its own p, 1 - 0.94^2 = 0.1164, but it is not tested
    assert groups["fisher_p"].iloc[1] == pytest.approx(1 - 0.94**2, rel=1e-9)
    assert groups["tested"].tolist() == [True, False, True]
    # marc.d: X = -4 ln 0.1164 = 8.60, 4 df: exp(-4.30) (1 + 4.30) = 0.0718
    y = -4 * math.log(1 - 0.94**2)
    p2 = math.exp(-y / 2) * (1 + y / 2)
    assert groups["fisher_p"].iloc[2] == pytest.approx(p2, rel=1e-9)
    # Bonferroni over the 3 groups formed (S4's too: an episode examined, left to the
    # session rules): 3.5e-5 significant, 0.215 not; S4 not tested
    assert groups["p_adjusted"].iloc[[0, 2]].tolist() == pytest.approx([3 * p0, 3 * p2])
    assert np.isnan(groups["p_adjusted"].iloc[1])
    assert groups["significant"].tolist() == [True, False, False]


def test_bonferroni_counts_every_group_tested():
    # 5,000 other accounts' pairs of 1-of-2 sittings are tested too: 1.2e-5 * 5,003 > 0.05
    others = [_sitting(f"X{i}{j}", f"acct{i:04d}", 2 * j, 2, 1, 2)
              for i in range(5000) for j in (0, 1)]  # fmt: skip
    df = pd.concat([_table(), pd.DataFrame(others)], ignore_index=True)
    _, groups = unexplained_groups(_frame(df))
    assert len(groups) == 5003 and int(groups["tested"].sum()) == 5002
    x = -10 * math.log(0.06)
    p0 = math.exp(-x / 2) * (1 + x / 2)
    assert groups["p_adjusted"].min() == pytest.approx(5003 * p0)  # 0.059
    assert not groups["significant"].any()


def _split(df):
    sc = df[["session_id", "score", "flagged"]].copy()
    sess = df.drop(columns=["score", "flagged", *EXPLANATION_COLUMNS])
    return sc, sess, df[["session_id", *EXPLANATION_COLUMNS]]


def test_significant_group_is_its_own_flagged_campaign():
    sc, sess, ex = _split(_table())
    before = group_campaigns(sc, sess)
    c = group_campaigns(sc, sess, explanation=ex, params=ON)
    ids = lambda t: sorted(sorted(x) for x in t["session_ids"])  # noqa: E731
    # without the explanation S1-S3 are one routine reading campaign (S4: 16 days later)
    assert ["S1", "S2", "S3"] in ids(before)
    assert not before["flagged"].any()
    # with it, S1 and S2 are a campaign of their own; S3 stays with the routine reads
    assert ["S1", "S2"] in ids(c) and ["S3"] in ids(c) and ["S4"] in ids(c)
    top = c.iloc[0]
    assert list(top["session_ids"]) == ["S1", "S2"] and top["rank"] == 1
    # flagged by the campaign, not by its sessions; its best session's score 0.5 plus 6
    assert top["flagged"] and top["n_flagged"] == 0
    assert top["score"] == pytest.approx(6.5)
    assert list(top["rules"]) == [UNEXPLAINED_RULE]
    # reason: 5 of 5 patients, 2 sittings, first start to last end 2 days 20 minutes
    assert top["reasons"][0].startswith(
        "5 of 5 patients read in 2 sittings over 2 days have no request, sample or result"
    )
    assert "combined p = 1.2e-05, 3.5e-05 after testing every such group" in top["reasons"][0]
    # every other campaign as before: one flagged campaign in all
    assert int(c["flagged"].sum()) == 1
    assert len(c) == len(before) + 1


def test_flagged_sittings_stay_in_their_campaigns():
    df = _table()
    df.loc[df["session_id"] == "S2", ["score", "flagged"]] = [6.2, True]  # a session rule fired
    sc, sess, ex = _split(df)
    # S2 flagged is no candidate: S1 is a group alone, not tested; nothing significant
    group, groups = unexplained_groups(_frame(df))
    assert group.tolist() == [0, -1, -1, 1, -1, -1, -1, 2, 2]
    assert groups["tested"].tolist() == [False, False, True]
    c = group_campaigns(sc, sess, explanation=ex, params=ON)
    assert not any(UNEXPLAINED_RULE in list(r) for r in c["rules"])
    pd.testing.assert_frame_equal(c, group_campaigns(sc, sess))


def test_explanation_from_the_scores_and_switch_off():
    sc, sess, ex = _split(_table())
    carried = sc.merge(ex, on="session_id")  # the scores carry the explanation columns
    a = group_campaigns(carried, sess, params=ON)
    b = group_campaigns(sc, sess, explanation=ex, params=ON)
    pd.testing.assert_frame_equal(a, b)
    off = group_campaigns(sc, sess, explanation=ex, params=CampaignParams(unexplained=False))
    pd.testing.assert_frame_equal(off, group_campaigns(sc, sess))
    # off by default, even when the scores carry the explanation (as the pipeline's do)
    assert not CampaignParams().unexplained
    pd.testing.assert_frame_equal(group_campaigns(carried, sess), group_campaigns(sc, sess))


def test_nothing_unexplained_changes_nothing():
    # no sitting with an unexplained read: no group, the campaigns of the signature alone
    df = _table()
    df["unexplained_patients"] = 0.0
    sc, sess, ex = _split(df)
    group, groups = unexplained_groups(_frame(df))
    assert (group == -1).all() and groups.empty and "significant" in groups.columns
    pd.testing.assert_frame_equal(group_campaigns(sc, sess, explanation=ex, params=ON),
                                  group_campaigns(sc, sess))  # fmt: skip


def test_same_result_in_any_row_order():
    sc, sess, ex = _split(_table())
    rng = np.random.default_rng(0)
    p = rng.permutation(len(sc))
    a = group_campaigns(sc, sess, explanation=ex, params=ON)
    b = group_campaigns(sc.iloc[p], sess.iloc[p[::-1]], explanation=ex.iloc[p], params=ON)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "kw", [{"unexplained_share": 0.0}, {"unexplained_alpha": 1.0}, {"unexplained_weight": -1.0},
           {"unexplained": "yes"}],
)  # fmt: skip
def test_params_checked(kw):
    with pytest.raises(ParameterError):
        CampaignParams(**kw)
