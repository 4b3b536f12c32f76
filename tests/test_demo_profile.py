"""The demo's two profiles (issue 17 item 4): the dense ``make demo`` and ``make demo-full``.

Nothing here runs the demo (minutes); the profiles are pinned, the command line's
switches checked with ``run_demo`` replaced, and the dense profile's story (every
migration and incident inside its three months) checked on the generator's plan.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from labforensics import demo
from labforensics.demo import DEMO_PARAMETERS, FULL_DEMO_PARAMETERS, _same_parameters
from labforensics.synth.clock import day_number
from labforensics.synth.generator import GENERATOR_VERSION
from labforensics.synth.plan import plan_labs

ROOT = Path(__file__).resolve().parents[1]


def test_dense_profile_pinned():
    # 5 labs, the story's last three months, ~130 visits a weekday and ~25 events a visit
    assert DEMO_PARAMETERS == {
        "labs": 5,
        "start": "2020-08-01",
        "end": "2020-10-31",
        "seed": 2021,
        "scale": 8.0,
        "session_events": 5.0,
        "linkage": True,
    }


def test_full_profile_is_the_old_demo():
    assert FULL_DEMO_PARAMETERS == {
        "labs": 30,
        "start": "2015-01-01",
        "end": "2020-10-31",
        "seed": 2021,
        "scale": 1.0,
        "linkage": True,
    }


def test_dense_profile_keeps_the_story_inside_its_period():
    p = DEMO_PARAMETERS
    d0 = day_number(dt.date.fromisoformat(p["start"]))
    d1 = day_number(dt.date.fromisoformat(p["end"]))
    plan = plan_labs(p["labs"], d0, d1, p["seed"], ("a", "b", "c", "d"), True)["labs"]
    # every lab migrates inside the period, and most are extracted before (incident a)
    assert all(d0 < lp["migration"] <= d1 for lp in plan)
    a_days = [lp["a_day"] for lp in plan if lp["a_day"] is not None]
    assert len(a_days) >= 3
    assert all(d0 < d < d1 for d in a_days)
    # the hotline (b, two labs), the outside attacker (c) and the insider (d)
    assert sum(lp["b"] for lp in plan) == 2
    assert sum(lp["c"] for lp in plan) == 1
    assert sum(lp["d"] for lp in plan) == 1


def _fake_run(calls):
    def run(out, *, params=None, progress=True, full=False):
        calls.append({"out": out, "params": params, "full": full})
        raise demo.LabForensicsError("stop here")

    return run


def test_main_dense_by_default(monkeypatch):
    calls: list[dict] = []
    monkeypatch.setattr(demo, "run_demo", _fake_run(calls))
    assert demo.main(["--quiet"]) == 2
    assert calls == [{"out": Path("demo"), "params": None, "full": False}]


def test_main_full_switch(monkeypatch):
    calls: list[dict] = []
    monkeypatch.setattr(demo, "run_demo", _fake_run(calls))
    assert demo.main(["--full", "--quiet"]) == 2
    assert calls[-1] == {"out": Path("demo-full"), "params": None, "full": True}
    assert demo.main(["--full", "--out", "x", "--scale", "0.5", "--quiet"]) == 2
    assert calls[-1] == {"out": Path("x"), "params": {"scale": 0.5}, "full": True}


def test_dense_demo_says_how_to_run_the_full_size_case(monkeypatch, capsys):
    res = SimpleNamespace(summary=lambda: "summary", pdf_note=None, report=Path("r.html"))
    fulls: list[bool] = []

    def run(out, *, params=None, progress=True, full=False):
        fulls.append(full)
        return res, {"investigate": 1.0}

    monkeypatch.setattr(demo, "run_demo", run)
    assert demo.main(["--quiet"]) == 0
    out = capsys.readouterr().out
    assert demo.FULL_SIZE_NOTE in out
    assert "make demo-full" in out and "--full" in out
    assert demo.main(["--full", "--quiet"]) == 0
    assert demo.FULL_SIZE_NOTE not in capsys.readouterr().out
    assert fulls == [False, True]


def test_main_full_and_real_exclusive(capsys):
    with pytest.raises(SystemExit):
        demo.main(["--full", "--real"])
    assert "not allowed" in capsys.readouterr().err


def test_makefile_targets():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\t$(PY) -m labforensics.demo --out $(DEMO)\n" in text
    assert "demo-full: $(STAMP)\n\t$(PY) -m labforensics.demo --full --out $(DEMO)-full\n" in text
    assert "\t$(PY) -m labforensics.demo --real --out $(DEMO)-real\n" in text


def test_reuse_with_unrecorded_default(tmp_path):
    # a case generated without session_events (or with 1.0: not recorded) holds 1.0
    truth = {
        "parameters": {"labs": 3, "seed": 1},
        "generator": {"name": "labforensics.synth", "version": GENERATOR_VERSION},
    }
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    assert _same_parameters(tmp_path, {"labs": 3, "seed": 1, "session_events": 1.0})
    assert not _same_parameters(tmp_path, {"labs": 3, "seed": 1, "session_events": 5.0})
    truth["parameters"]["session_events"] = 5.0
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    assert _same_parameters(tmp_path, {"labs": 3, "seed": 1, "session_events": 5.0})


def _rows(path: Path) -> list[list[str]]:
    return [r.split(";") for r in path.read_text(encoding="utf-8").splitlines()]


def test_dense_register_scope_since_the_logs_begin(tmp_path):
    # three months of logs cannot bound a two-year scope: the dense profile's labs
    # ordered the patients seen since its first day, so the extractions are judged
    truth = {
        "parameters": {"start": "2020-08-01"},
        "labs": [{"code": "L01", "migration_date": "2020-09-20"}],
        "traps": [],
    }
    full = _rows(demo.write_demo_register(truth, tmp_path / "full.csv"))
    dense = _rows(demo.write_demo_register(truth, tmp_path / "dense.csv", "2020-08-01"))
    head = full[0]
    mig_full = dict(zip(head, full[1], strict=True))
    mig_dense = dict(zip(head, dense[1], strict=True))
    assert mig_full["scope_patients_since"] == "2018-09-20"
    assert mig_dense["scope_patients_since"] == "2020-08-01"
    # the order's window is the same: three weeks before the migration to a week after
    assert (mig_dense["start"], mig_dense["end"]) == ("2020-08-30", "2020-09-27")
    assert (mig_full["start"], mig_full["end"]) == (mig_dense["start"], mig_dense["end"])
