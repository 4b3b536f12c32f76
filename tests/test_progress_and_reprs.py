"""Progress that moves during detection, and short reprs of result objects (issue 16
items 6 and 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import labforensics as lf
from hostile import write_hostile_case
from labforensics.detect import DetectParams
from labforensics.detect.detectors import run_detectors


def test_run_detectors_reports_each_detector():
    # one progress step per detector, in order, skipped ones included (min_rows not met)
    X = np.random.default_rng(0).normal(size=(60, 4))
    params = DetectParams()
    seen: list[str] = []
    run_detectors(X, params, seed=0, progress=seen.append)
    assert seen == list(params.detectors)
    seen.clear()
    run_detectors(X[:3], params, seed=0, progress=seen.append)  # too few rows: all skipped
    assert seen == list(params.detectors)
    seen.clear()
    run_detectors(X[:, :0], params, seed=0, progress=seen.append)  # no column: all skipped
    assert seen == list(params.detectors)


def test_investigate_detection_bar_moves(tmp_path, capsys):
    # the detection bar counts detectors x units (session, account-day, account-month)
    # and shows the time left; the stages' bars name features and detection apart
    p = write_hostile_case(tmp_path / "case", days=3)
    res = lf.investigate(p["evidence"], tmp_path / "out", leak=p["leak"], progress=True)
    err = capsys.readouterr().err
    n = 3 * len(DetectParams().detectors)
    assert "detectors: 100%" in err and f"{n}/{n}" in err
    assert "<" in err.split("detectors:")[1].split("\n")[0]  # tqdm's "elapsed<left"
    assert "] features" in err and "] detection" in err
    # short reprs: counts, columns and a head, never a whole table
    text = repr(res)
    assert text.startswith("InvestigationResult(out=") and "events=135" in text
    for obj, first in ((res.evidence, "Evidence(events=135"), (res.sessions, "Sessions(sessions=9"),
                       (res.scores, "Scores(flagged="), (res.attribution, "Attribution(verdict=")):  # fmt: skip
        r = repr(obj)
        assert r.startswith(first), r
        assert len(r.splitlines()) <= 25 and " rows × " in r
    ev = repr(res.evidence)
    assert "events: 135 rows × " in ev and "quarantine: 0 rows × 4 columns" in ev
    assert len(repr(res.sessions)) < 4000
    assert isinstance(res.sessions.events, pd.DataFrame)
