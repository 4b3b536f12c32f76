"""Case 008-detector-edge-cases (shared/cases/008-detector-edge-cases/expected.md).

The case gives session feature tables to build in the test; no evidence files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import labforensics.detect as detect
from labforensics.case import CaseContext
from labforensics.detect import DetectParams, score


def _robot_table() -> pd.DataFrame:
    # 12 identical robot sessions, one 1 s longer, one exporting 5,000 records
    n = 14
    return pd.DataFrame(
        {
            "session_id": [f"s{i:02d}" for i in range(1, n + 1)],
            "lab": "L01",
            "account": "robot",
            "duration_s": [600.0] * 12 + [601.0, 600.0],
            "n_events": [40] * n,
            "distinct_patients": [25] * n,
            "records_exported": [0] * 13 + [5000],
        }
    )


def test_008_detector_edge_cases_a_three_sessions():
    t = pd.DataFrame(
        {
            "session_id": ["a", "b", "c"],
            "lab": "L01",
            "account": "bio.h8",
            "duration_s": [300.0, 2400.0, 900.0],
            "n_events": [12, 80, 30],
            "distinct_patients": [4, 20, 9],
        }
    )
    sc = score(t)  # must not raise
    meta = sc.metadata["units"]["session"]
    # k = 20 neighbours cannot exist among 3 rows: KNN is skipped, with the reason recorded
    assert "KNN" in meta["skipped_detectors"]
    assert "3 rows" in meta["skipped_detectors"]["KNN"]
    # the other default detectors work on 3 rows and ran
    assert meta["detectors"] == ["ECOD", "IForest", "COPOD", "HBOS"]
    assert np.isfinite(sc.session["score"]).all()
    assert sorted(sc.session["rank"]) == [1, 2, 3]
    assert sc.session["det_knn"].isna().all()


def test_008_detector_edge_cases_b_minimum_scale_and_ties():
    sc = score(_robot_table()).session
    # the 5,000-record export is the anomaly
    assert sc.loc[0, "session_id"] == "s14" and sc.loc[0, "rank"] == 1
    longer = sc.set_index("session_id").loc["s13"]
    # one second is within the 60 s minimum scale of a duration: not in the top 2
    assert longer["rank"] > 2
    # ... because it scores exactly like its 12 identical siblings; the tie is broken
    # by session_id ascending (documented order), so it comes after s01..s12
    same = sc.loc[sc["session_id"].isin([f"s{i:02d}" for i in range(1, 13)]), "score"]
    assert (same == longer["score"]).all()
    assert longer["rank"] == 14
    assert "duration_s" in score(_robot_table()).metadata["units"]["session"]["dropped_columns"]


def test_008_detector_edge_cases_c_constant_column(monkeypatch):
    t = _robot_table()
    t["records_exported"] = 0  # no exports at all
    t["bytes_out"] = np.nan  # and a column with no value at all
    t.loc[3, "n_events"] = 400  # something to score
    t.loc[5, "distinct_patients"] = np.nan  # a missing value
    seen = []
    real = detect.run_detectors

    def spy(X, params, *, seed):
        seen.append(X.copy())
        return real(X, params, seed=seed)

    monkeypatch.setattr(detect, "run_detectors", spy)
    sc = score(t)
    meta = sc.metadata["units"]["session"]
    # no NaN reaches a detector
    assert len(seen) == 1 and np.isfinite(seen[0]).all()
    # the all-zero column is dropped and the drop recorded with its reason
    assert meta["dropped_columns"]["records_exported"].startswith("constant")
    assert meta["dropped_columns"]["bytes_out"] == "all missing"
    assert "records_exported" not in meta["columns"]
    assert sc.session.loc[0, "session_id"] == "s04"  # 400 events vs 40: the anomaly


def test_008_detector_edge_cases_d_deterministic():
    t = _robot_table()
    t["n_events"] = np.arange(14) % 5 + 40  # some variety so every detector has work
    a = score(t)
    b = score(t)
    # bit-identical scores and the same order
    assert a.session["score"].to_numpy().tobytes() == b.session["score"].to_numpy().tobytes()
    assert list(a.session["session_id"]) == list(b.session["session_id"])
    for c in a.session.columns:
        if c.startswith("det_"):
            assert a.session[c].to_numpy().tobytes() == b.session[c].to_numpy().tobytes()
    # the seed used is in the metadata
    assert a.metadata["seed"] == 0 and "seed" not in a.metadata["params"]  # a case fact
    c = score(t, DetectParams(), case=CaseContext(seed=7))
    assert c.metadata["seed"] == 7
