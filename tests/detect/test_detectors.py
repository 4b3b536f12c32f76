"""The ensemble: standardisation, common score scale, sampling, flags, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labforensics.detect import DetectParams, score
from labforensics.detect.detectors import run_detectors, standardize, to_common_scale
from labforensics.errors import ParameterError, SchemaError


def test_standardize_minimum_scale_deadband_direction():
    v = pd.DataFrame(
        {
            "duration_s": [600.0] * 9 + [780.0],  # MAD 0 -> 60 s scale: 3 robust units
            "records_out": [0.0] * 9 + [5.0],  # 5 records < 10-record scale: 0.5 -> dead band
            "hour_sin": [0.0] * 9 + [-1.0],  # two-sided: 10 units below
            "n_events": [40.0] * 9 + [10.0],  # one-sided: below the median is no evidence
        }
    )
    st = standardize(v, deadband=0.5)
    assert st.columns == ["duration_s", "hour_sin"]
    # (780 - 600) / 60 = 3, minus the 0.5 dead band, log1p
    assert st.X[-1, 0] == pytest.approx(np.log1p(2.5))
    assert st.X[-1, 1] == pytest.approx(-np.log1p(9.5))  # (-1 - 0) / 0.1 = -10
    assert st.scale["duration_s"] == 60.0
    assert "minimum scale" in st.dropped["records_out"]
    assert "suspicious side" in st.dropped["n_events"]


def test_standardize_keeps_z_columns_on_their_scale():
    v = pd.DataFrame({"records_out_z": [0.0, 0.0, 0.0, 0.0, 20.5]})
    st = standardize(v)
    # already a robust z: centre 0, scale 1 (not re-standardised by its own tiny MAD)
    assert (st.center["records_out_z"], st.scale["records_out_z"]) == (0.0, 1.0)
    assert st.X[-1, 0] == pytest.approx(np.log1p(20.0))


def test_common_scale_is_robust_z():
    s = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    z = to_common_scale(s)
    assert z[2] == 0.0  # the median maps to 0
    assert np.argmax(z) == 4
    # point mass: most rows equal; the q90 spread keeps the scale finite and non-zero
    z2 = to_common_scale(np.array([0.0] * 95 + [1.0, 2.0, 3.0, 4.0, 50.0]))
    assert np.isfinite(z2).all() and z2[-1] > z2[-2] > 0


def test_knn_fits_on_a_seeded_sample_of_at_most_max_fit_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    p = DetectParams(detectors=("KNN", "ECOD"), max_fit_rows=50)
    det, notes = run_detectors(X, p)
    assert notes["sample_sizes"] == {"KNN": 50, "ECOD": 300}
    det2, _ = run_detectors(X, p)
    # seeded: the same sample, the same scores
    assert det["KNN"].tobytes() == det2["KNN"].tobytes()
    det3, _ = run_detectors(X, DetectParams(detectors=("KNN",), max_fit_rows=50), seed=5)
    assert det["KNN"].tobytes() != det3["KNN"].tobytes()


def test_unknown_detector_is_refused_at_construction():
    # an unknown detector name is refused when the knobs are made, not skipped at run time
    with pytest.raises(ParameterError, match=r"DetectParams\.detectors .*\['NOPE'\]"):
        DetectParams(detectors=("ECOD", "NOPE"))


def test_clean_data_flags_nothing_and_an_outlier_is_flagged():
    rng = np.random.default_rng(0)
    n = 2000
    t = pd.DataFrame(
        {
            "session_id": [f"s{i:05d}" for i in range(n)],
            "n_events": rng.poisson(30, n),
            "duration_s": rng.normal(1800, 300, n).clip(60),
            "distinct_patients": rng.poisson(8, n),
        }
    )
    sc = score(t, DetectParams(rules_path=""))
    # no fixed contamination share: homogeneous data gives no flag at all
    assert sc.metadata["units"]["session"]["n_flagged"] == 0
    t.loc[17, ["n_events", "distinct_patients"]] = [900, 400]
    sc = score(t, DetectParams(rules_path=""))
    assert sc.session.loc[0, "session_id"] == "s00017"
    assert sc.metadata["units"]["session"]["n_flagged"] == 1 and sc.session.loc[0, "flagged"]


def test_combine_top2_and_metadata():
    rng = np.random.default_rng(3)
    t = pd.DataFrame({"session_id": [f"s{i}" for i in range(50)], "n_events": rng.poisson(20, 50)})
    sc = score(t, DetectParams(combine="top2", rules_path=""))
    d = sc.session[[c for c in sc.session if c.startswith("det_")]].to_numpy()
    top2 = np.sort(d, axis=1)[:, -2:].mean(axis=1)
    assert np.allclose(sc.session["ensemble"], top2)
    md = sc.metadata
    assert set(md["versions"]) >= {"pyod", "scikit-learn", "numpy", "pandas"}
    assert md["params"]["combine"] == "top2"
    assert sorted(sc.session["rank"]) == list(range(1, 51))


def test_bad_params_and_inputs():
    with pytest.raises(ParameterError):
        DetectParams(combine="max")
    with pytest.raises(SchemaError):
        score([1, 2, 3])
    with pytest.raises(ParameterError, match="lacks"):
        score(
            pd.DataFrame({"session_id": ["a", "b"], "x": [1.0, 2.0]}),
            DetectParams(columns={"session": ("nope",)}),
        )


def test_empty_tables_score_to_empty_rankings():
    from labforensics.features import build_features
    from labforensics.schema import SESSION_DTYPES, empty_events

    ss = pd.DataFrame({c: pd.Series([], dtype=d) for c, d in SESSION_DTYPES.items()})
    sc = score(build_features(empty_events(), ss))
    # nothing to score is not an error: empty ranked tables, every detector skipped with why
    assert len(sc.session) == len(sc.account_day) == len(sc.account_month) == 0
    assert sc.metadata["units"]["session"]["skipped_detectors"]["ECOD"] == "skipped: no rows"
