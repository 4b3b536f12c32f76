"""Campaigns grouped lab by lab equal the whole case's grouping (issue 17)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labforensics import investigate, pipeline
from labforensics.case import CaseContext
from labforensics.detect.campaign_files import CampaignFiles
from labforensics.detect.campaign_labs import group_campaigns_by_lab
from labforensics.detect.campaigns import CampaignParams, campaign_findings, group_campaigns
from labforensics.errors import SchemaError
from labforensics.privacy import CaseKey
from labforensics.schema import STRING_LIST
from labforensics.session_labs import SlimLabs

T0 = pd.Timestamp("2021-01-04 08:00", tz="UTC")
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "vendor-migration"


def _tables(rows):
    df = pd.DataFrame(rows)
    df["end"] = df["start"] + pd.to_timedelta(df["minutes"], unit="min")
    df["lab"] = df["lab"].astype("string")
    sc = df[["session_id", "lab", "score", "flagged", "rule_x"]].copy()
    sc["reasons"] = pd.Series([[f"r{int(s) % 3}"] for s in df["score"].fillna(0)],
                              dtype=STRING_LIST)  # fmt: skip
    ss = df[["session_id", "lab", "account", "start", "end", "n_export", "n_read"]].copy()
    ss["account_kind"] = "staff"
    return sc, ss


def test_ties_across_labs_rank_as_the_whole_case():
    # three campaigns of score 5.0 in L02, L01 and no lab: the earlier first session ranks
    # first, then the campaign id; the NaN score ranks last; one 9.0 campaign first
    rows = [
        {"session_id": "a", "lab": "L02", "account": "x", "start": T0, "minutes": 5,
         "score": 5.0, "flagged": True, "rule_x": 1.0, "n_export": 1, "n_read": 0},
        {"session_id": "b", "lab": "L01", "account": "x", "start": T0 + pd.Timedelta(hours=1),
         "minutes": 5, "score": 5.0, "flagged": True, "rule_x": 1.0, "n_export": 1, "n_read": 0},
        {"session_id": "c", "lab": None, "account": "y", "start": T0, "minutes": 5,
         "score": 5.0, "flagged": True, "rule_x": 0.0, "n_export": 0, "n_read": 3},
        {"session_id": "d", "lab": "L01", "account": "z", "start": T0, "minutes": 5,
         "score": 9.0, "flagged": True, "rule_x": 0.0, "n_export": 0, "n_read": 1},
        {"session_id": "e", "lab": "L02", "account": "w", "start": T0, "minutes": 5,
         "score": np.nan, "flagged": False, "rule_x": 0.0, "n_export": 0, "n_read": 1},
    ]  # fmt: skip
    sc, ss = _tables(rows)
    by_lab = group_campaigns_by_lab(sc, ss)
    pd.testing.assert_frame_equal(by_lab, group_campaigns(sc, ss))
    # by hand: d (9.0); then a and c (5.0, both at T0: by campaign id), b (T0 + 1 h); e
    first_ids = [list(x)[0] for x in by_lab["session_ids"]]
    assert first_ids[0] == "d" and first_ids[3:] == ["b", "e"]
    assert sorted(first_ids[1:3]) == ["a", "c"]
    assert by_lab["rank"].tolist() == [1, 2, 3, 4, 5]
    assert by_lab["lab"].isna().sum() == 1  # the session with no lab is grouped too


def test_a_session_scored_twice_in_two_labs_is_refused():
    rows = [{"session_id": "a", "lab": lab, "account": "x", "start": T0, "minutes": 5,
             "score": 1.0, "flagged": False, "rule_x": 0.0, "n_export": 0, "n_read": 1}
            for lab in ("L01", "L02")]  # fmt: skip
    sc, ss = _tables(rows)
    with pytest.raises(SchemaError, match="scored twice"):
        group_campaigns_by_lab(sc, ss)


def test_unexplained_option_groups_the_case_whole(monkeypatch):
    calls = []
    real = group_campaigns

    def spy(*a, **k):
        calls.append(len(a[0]))
        return real(*a, **k)

    monkeypatch.setattr("labforensics.detect.campaign_labs.group_campaigns", spy)
    rows = [{"session_id": s, "lab": lab, "account": "x", "start": T0, "minutes": 5,
             "score": 1.0, "flagged": False, "rule_x": 0.0, "n_export": 0, "n_read": 1}
            for s, lab in (("a", "L01"), ("b", "L02"))]  # fmt: skip
    sc, ss = _tables(rows)
    group_campaigns_by_lab(sc, ss)
    assert calls == [1, 1]  # one call per lab
    calls.clear()
    group_campaigns_by_lab(sc, ss, params=CampaignParams(unexplained=True))
    assert calls == [2]  # the Bonferroni test counts the case's groups: whole


@st.composite
def _cases(draw):
    n = draw(st.integers(1, 40))
    rows = []
    for i in range(n):
        rows.append({
            "session_id": f"S{i:03d}",
            "lab": draw(st.sampled_from(["L01", "L02", "L03", None])),
            "account": draw(st.sampled_from(["a", "b", "c"])),
            "start": T0 + pd.Timedelta(hours=draw(st.integers(0, 24 * 30))),
            "minutes": draw(st.integers(0, 300)),
            "score": draw(st.sampled_from([0.0, 1.0, 2.5, 5.0, np.nan])),
            "flagged": draw(st.booleans()),
            "rule_x": draw(st.sampled_from([0.0, 1.0])),
            "n_export": draw(st.integers(0, 1)),
            "n_read": draw(st.integers(0, 2)),
        })  # fmt: skip
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases(), st.sampled_from(["activity_flagged", "rules", "activity"]))
def test_by_lab_equals_whole_on_any_case(rows, signature):
    sc, ss = _tables(rows)
    p = CampaignParams(signature=signature, gap=pd.Timedelta(days=2))
    pd.testing.assert_frame_equal(group_campaigns_by_lab(sc, ss, params=p),
                                  group_campaigns(sc, ss, params=p))  # fmt: skip


def _slim_labs(ss: pd.DataFrame, folder: Path) -> SlimLabs:
    """``ss`` kept a file a lab (the sessions without a lab in one file of their own)."""
    labs = SlimLabs(folder)
    lab = ss["lab"].astype(object).where(ss["lab"].notna(), None).to_numpy()
    positions = []
    for name in dict.fromkeys(lab):  # the labs in order of first session
        at = np.flatnonzero([v == name for v in lab])
        labs.add(ss.iloc[at].reset_index(drop=True))
        positions.append(at)
    return labs.place(positions)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases(), st.sampled_from(["activity_flagged", "rules", "activity"]))
def test_in_files_equals_whole_on_any_case(rows, signature):
    # each lab's campaigns in a file, ranked from their small columns: the rows read,
    # the flagged ones, the whole table and the findings are the whole case's
    sc, ss = _tables(rows)
    p = CampaignParams(signature=signature, gap=pd.Timedelta(days=2))
    whole = group_campaigns(sc, ss, params=p)
    with tempfile.TemporaryDirectory() as d:
        kept = group_campaigns_by_lab(sc, _slim_labs(ss, Path(d)), params=p, in_files=True)
        assert isinstance(kept, CampaignFiles) and len(kept) == len(whole)
        pd.testing.assert_frame_equal(kept.whole(), whole, check_exact=True)
        flagged = whole[whole["flagged"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(kept.flagged(), flagged, check_exact=True)
        at = np.flatnonzero(whole["n_sessions"].to_numpy() % 2 == 1)  # any rows, increasing
        pd.testing.assert_frame_equal(kept.rows(at), whole.iloc[at], check_exact=True)
        assert kept.n_flagged == int(whole["flagged"].sum())
        assert kept.flagged_sessions == int(whole["n_flagged"].sum())
        assert campaign_findings(kept, top=2) == campaign_findings(whole, top=2)
        assert sorted(q.name for q in Path(d).iterdir() if q.name.startswith("campaigns-")) == [
            f"campaigns-{i}.pkl" for i in range(whole["lab"].nunique(dropna=False))
        ]


def test_in_files_groups_the_case_whole_with_the_unexplained_option(tmp_path):
    rows = [{"session_id": s, "lab": lab, "account": "x", "start": T0, "minutes": 5,
             "score": 1.0, "flagged": False, "rule_x": 0.0, "n_export": 0, "n_read": 1}
            for s, lab in (("a", "L01"), ("b", "L02"))]  # fmt: skip
    sc, ss = _tables(rows)
    p = CampaignParams(unexplained=True)
    got = group_campaigns_by_lab(sc, _slim_labs(ss, tmp_path), params=p, in_files=True)
    assert isinstance(got, pd.DataFrame)  # the case-wide test: a table, as before
    pd.testing.assert_frame_equal(got, group_campaigns(sc, ss, params=p))


def test_by_lab_equals_whole_on_an_investigation(tmp_path, monkeypatch):
    # the pipeline's own tables (two labs, the vendor-migration fixture)
    key_file = tmp_path / "case.key"
    CaseKey(bytes(range(32))).write(key_file)
    case = dataclasses.replace(CaseContext.from_file(FIXTURE / "case.toml"), key_file=key_file)
    seen = {}
    real = pipeline._write_outputs

    def spy(out, res, plan, **kw):
        seen["scored"], seen["sessions"], seen["campaigns"] = (
            res.scored,
            res.sessions,
            res.campaigns,
        )
        return real(out, res, plan, **kw)

    monkeypatch.setattr(pipeline, "_write_outputs", spy)
    investigate(None, tmp_path / "out", case=case, progress=False)
    assert seen["scored"]["lab"].nunique() >= 2
    whole = group_campaigns(seen["scored"], seen["sessions"])
    # the run's table adds the accounts as logged (session 17) after ``account``
    got = seen["campaigns"]
    assert list(got.columns).index("account_as_logged") == list(got.columns).index("account") + 1
    pd.testing.assert_frame_equal(got.drop(columns="account_as_logged"), whole)
