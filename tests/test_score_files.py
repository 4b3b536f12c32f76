"""The scored tables are outputs written after detection, not held by the run (issue 17)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import labforensics as lf
from hostile import write_hostile_case
from labforensics import pipeline
from labforensics.outputs import OUTPUT_NAMES
from labforensics.result import LazyScores
from labforensics.score_files import ACCOUNT_SCORE_FILES, SCORE_FILES, SLIM_COLUMNS


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("acct")
    p = write_hostile_case(tmp / "case", days=3)
    seen = {}
    real = pipeline._write_outputs

    def spy(out, res, plan, **kw):  # what the run holds when it writes its outputs
        seen["day"], seen["month"] = res.scores.account_day, res.scores.account_month
        seen["files"], seen["scored"] = dict(res.score_files), res.scored
        return real(out, res, plan, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(pipeline, "_write_outputs", spy)
    try:
        res = lf.investigate(p["evidence"], tmp / "out", leak=p["leak"], progress=False)
    finally:
        mp.undo()
    return res, seen


def test_account_tables_are_outputs_and_not_held(run):
    res, seen = run
    assert set(ACCOUNT_SCORE_FILES.values()) <= OUTPUT_NAMES
    # dropped right after detection: the run reached its outputs without them
    assert seen["day"] is None and seen["month"] is None
    assert set(seen["files"]) == {"session", "account_day", "account_month"}
    # the session scores the later stages read: the slim columns, rules as fired or not
    scored = seen["scored"]
    full = pd.read_parquet(res.out / "scores.parquet")
    rules = [c for c in full.columns if c.startswith("rule_")]
    assert list(scored.columns) == [*SLIM_COLUMNS, *rules]
    assert all(scored[c].dtype == bool for c in rules)
    assert (scored[rules].to_numpy() == (full[rules].fillna(0).to_numpy() > 0)).all()
    assert scored["session_id"].tolist() == full["session_id"].tolist()
    assert "det_iforest" in full.columns and "det_iforest" not in scored.columns
    for unit, name in SCORE_FILES.items():
        path = res.out / name
        assert path.is_file()
        table = pd.read_parquet(path)
        meta = res.scores.metadata["units"][unit]
        # every row scored is there, ranked, with the flagged count detection recorded
        assert len(table) == meta["n_rows"]
        assert table["rank"].tolist() == list(range(1, len(table) + 1))
        assert int(table["flagged"].sum()) == meta["n_flagged"]
        assert {"lab", "account", "score", "flagged"} <= set(table.columns)
    # hashed in the chain of custody like every other output
    manifest = json.loads((res.out / "manifest.json").read_text(encoding="utf-8"))
    hashed = json.dumps(manifest["outputs"])
    assert all(name in hashed for name in SCORE_FILES.values())


def test_result_reads_them_on_first_use(run):
    res, _ = run
    sc = res.scores
    assert isinstance(sc, LazyScores) and sc._cache == {}
    text = repr(sc)  # the session table's first rows and its size, nothing read whole
    n = sc.metadata["units"]["session"]["n_rows"]
    assert "Scores(flagged=" in text and f"session: {n:,} rows × " in text and sc._cache == {}
    assert len(sc.session) == n and "det_iforest" in sc.session.columns  # every column
    day = sc.account_day
    pd.testing.assert_frame_equal(
        day, pd.read_parquet(res.out / ACCOUNT_SCORE_FILES["account_day"])
    )
    assert sc.account_day is day  # read once
    assert set(sc.tables()) == {"session", "account_day", "account_month"}


def test_held_tables_are_kept_when_none_was_set_aside():
    day = pd.DataFrame({"rank": [1], "score": [0.5]})
    sc = LazyScores(lf.detect.Scores(session=None, account_day=day), {})
    assert sc.account_day is day and sc.account_month is None
