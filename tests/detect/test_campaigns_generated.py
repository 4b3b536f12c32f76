"""Campaigns on generated evidence: the case of tests/detect/test_generated.py.

Three labs over four months (2,391 sessions; seed 0, generator version 1) with the
four incident kinds. Measured with the default parameters: 145 campaigns, 6 flagged;
the five incidents' best campaigns at ranks 1-5 (campaign AP 1.0); the low-and-slow
hotline incident (b, 15 sessions) is two campaigns (2 and 13 sessions: a pause of
more than a week), the second one a duplicate at rank 6. With the activity class
alone as signature the insider's 7 flagged reads merge with the account's routine
reads and the campaign AP drops to 0.8: hence the default signature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labforensics.case import CaseContext
from labforensics.detect import score
from labforensics.detect.campaigns import CampaignParams, group_campaigns
from labforensics.evaluate import evaluate_campaigns, label_units
from labforensics.features import FeatureParams, build_features
from labforensics.ingest import read_evidence
from labforensics.networks import NetworkMap
from labforensics.sessions import sessionize
from labforensics.synth import generate, load_truth

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    generate(out, labs=3, start="2019-01-01", end="2019-04-30", seed=0, scale=0.3, transfers=False)
    truth = load_truth(out)
    ev = read_evidence(out / "evidence", case_key=bytes(range(32)))
    ss = sessionize(ev.events)
    by_lab = {lab["code"]: (lab["networks"]["lab"],) for lab in truth["labs"]}
    vendor = tuple(sorted({lab["networks"]["vendor"] for lab in truth["labs"]}))
    case = CaseContext(networks=NetworkMap(vendor=vendor, by_lab=by_lab))
    sc = score(build_features(ss.events, ss.sessions, FeatureParams(), case=case), case=case)
    labels = label_units(ss.events, truth, case=case)
    return sc.session, ss.sessions, labels


def test_every_incident_in_the_top_campaigns(run):
    scores, sessions, labels = run
    c = group_campaigns(scores, sessions)
    e = evaluate_campaigns(c, labels)
    # five incidents (a at two labs, b, c, d), each with a pure campaign in the top 20
    # (issue 14's bar; measured ranks 1-5, AP 1.0)
    assert e["n_incidents"] == 5 and e["recall@20"] == 1.0
    assert e["ap"] >= 0.9
    # one line per story: far fewer campaigns than sessions (measured 145 of 2,391)
    assert len(c) < len(scores) / 10
    # every session in exactly one campaign
    ids = np.concatenate([np.asarray(v) for v in c["session_ids"]])
    assert len(ids) == len(set(ids)) == len(scores)
    # every flagged session is in a flagged campaign
    assert int(c["n_flagged"].sum()) == int(scores["flagged"].sum())


def test_activity_alone_mixes_the_insider_with_routine(run):
    scores, sessions, labels = run
    c = group_campaigns(scores, sessions, params=CampaignParams(signature="activity"))
    e = evaluate_campaigns(c, labels)
    best = {i["kind"]: i["best_rank"] for i in e["incidents"]}
    # the insider's (d) reads share a campaign with the account's routine reads: a miss
    assert best["d"] is None and e["n_mixed"] >= 1


def test_generated_order_independent(run):
    scores, sessions, _ = run
    a = group_campaigns(scores, sessions)
    p = np.random.default_rng(3).permutation(len(scores))
    b = group_campaigns(scores.iloc[p].reset_index(drop=True), sessions.iloc[::-1])
    pd.testing.assert_frame_equal(a, b)
