"""No ``labforensics-spill-*`` folder outlives its run (QA, session 8: three empty ones
were found in /tmp after the test suite).

The per-lab engine's spill folder is made when the budget is checked
(:meth:`labforensics.engine.run.LabRun._check_budget`), before anything is spilled, and
removed by the engine's ``close()``. A :class:`~labforensics.engine.run.LabRun` made
without an engine (as the tests of the budget do) owns an engine that nobody closes: its
folder was left behind, empty. It is now removed with the engine, at the latest when the
interpreter exits."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import pytest

from labforensics import pipeline, read_evidence
from labforensics.case import CaseContext
from labforensics.engine import split_by_lab
from labforensics.engine.run import LabRun, LocalEngine, MemoryBudgetWarning
from labforensics.privacy import CaseKey

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "vendor-migration"
KEY = CaseKey(bytes(range(32)))


def _spills(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.name.startswith("labforensics-spill-"))


@pytest.fixture
def systmp(tmp_path, monkeypatch):
    root = tmp_path / "systmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture(scope="module")
def parts():
    case = CaseContext.from_file(FIXTURE / "case.toml")
    ev = read_evidence([str(p) for p in case.evidence], case_key=KEY, case=case,
                       progress=False)  # fmt: skip
    return split_by_lab(ev.events)


def _budget_checked(parts, engine=None) -> LabRun:
    run = LabRun(list(parts), settings=None, detection=None, engine=engine, memory_budget=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MemoryBudgetWarning)
        run._check_budget([p.lab for p in parts])
    return run


def test_unclosed_lab_run_leaves_no_spill_folder(parts, systmp):
    run = _budget_checked(parts)
    assert len(_spills(systmp)) == 1  # made when the budget is checked, empty so far
    del run  # nobody closed its engine
    gc.collect()
    assert _spills(systmp) == []


def test_closed_engine_removes_it_at_once_and_the_net_is_harmless(parts, systmp):
    eng = LocalEngine()
    run = _budget_checked(parts, eng)
    (folder,) = _spills(systmp)
    assert run.eng is eng and eng.spill_dir == folder
    eng.close()
    assert _spills(systmp) == []
    del run, eng
    gc.collect()  # the finalizer finds nothing to remove
    assert list(systmp.iterdir()) == []


def test_no_spill_folder_after_a_process_that_never_closed_it(tmp_path):
    # the engine is still referenced when the interpreter exits: removed then
    root = tmp_path / "systmp"
    root.mkdir()
    script = textwrap.dedent(
        f"""
        import warnings
        from pathlib import Path
        from labforensics import read_evidence
        from labforensics.case import CaseContext
        from labforensics.engine import split_by_lab
        from labforensics.engine.run import LabRun
        from labforensics.privacy import CaseKey
        case = CaseContext.from_file(Path({str(FIXTURE / "case.toml")!r}))
        ev = read_evidence([str(p) for p in case.evidence], case_key=CaseKey(bytes(range(32))),
                           case=case, progress=False)
        parts = split_by_lab(ev.events)
        warnings.simplefilter("ignore")
        KEEP = LabRun(parts, settings=None, detection=None, memory_budget=1)
        KEEP._check_budget([p.lab for p in parts])
        print(len(list(Path({str(root)!r}).iterdir())), flush=True)
        """
    )
    env = dict(os.environ, TMPDIR=str(root), PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"  # it was there while the process ran
    assert _spills(root) == []


def _broken(*_a, **_k):
    raise RuntimeError("a pass failed")


def test_failed_pass_after_the_spill_leaves_no_folder(systmp, tmp_path, monkeypatch):
    # an exception between the folder's making and the end of the engine's passes
    key = tmp_path / "case.key"
    KEY.write(key)
    case = CaseContext.from_file(FIXTURE / "case.toml")
    case = type(case)(**{**case.__dict__, "key_file": key})
    monkeypatch.setattr(LabRun, "peer", _broken)
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="a pass failed"):
        warnings.simplefilter("ignore", MemoryBudgetWarning)
        pipeline.investigate(None, tmp_path / "out", case=case, progress=False,
                             memory_budget=1)  # fmt: skip
    assert list(systmp.iterdir()) == []


def test_events_folder_never_removed_by_hand_is_removed_with_its_object(systmp):
    # the case's events between stages (pseudonymised, with their free text): the same net
    from labforensics.case_events import EventsFolder

    f = EventsFolder()
    path = f.make()
    (path / "part.arrow").write_text("events")
    assert path.parent == systmp and path.name.startswith("labforensics-events-")
    del f  # nobody called remove()
    gc.collect()
    assert list(systmp.iterdir()) == []
