"""The engine's spill folder does not outlive a run killed with SIGTERM.

With a memory budget below the labs' results, the per-lab engine keeps them in a
private folder between passes (pseudonymised events and their free text). Removed
in ``finally`` after success or an exception; a default SIGTERM would end the process
without running it, so the run turns SIGTERM into an exception for its duration
(:func:`labforensics._cleanup.sigterm_raises`) and delivers the signal again after.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from child_run import WAIT, start, stop
from labforensics._cleanup import sigterm_raises

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_raises_then_is_delivered_again():
    # in a child: the block's finally runs (prints), then the process ends by SIGTERM
    script = textwrap.dedent(
        """
        import os, signal, sys
        from labforensics._cleanup import sigterm_raises
        with sigterm_raises(lambda: RuntimeError("term")):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                print("not reached", flush=True)
            except RuntimeError as e:
                print("raised", e, flush=True)
                raise
            finally:
                print("cleanup", flush=True)
        print("after the block: not reached", flush=True)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         timeout=60)  # fmt: skip
    assert out.stdout.decode().split("\n")[:2] == ["raised term", "cleanup"]
    assert out.returncode == -signal.SIGTERM


def test_handler_restored_without_signal():
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_raises(lambda: RuntimeError("term")):
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.slow
def test_no_spill_folder_after_sigterm(tmp_path, tmp_path_factory):
    root = tmp_path / "systmp"
    root.mkdir()
    script = textwrap.dedent(
        f"""
        import dataclasses, time
        from pathlib import Path
        from labforensics.case import CaseContext
        from labforensics.engine import lab as lab_mod, run as run_mod
        from labforensics.pipeline import investigate
        from labforensics.privacy import CaseKey
        fixture = Path({str(ROOT / "fixtures" / "vendor-migration")!r})
        key = Path({str(tmp_path / "case.key")!r})
        CaseKey(bytes(range(32))).write(key)
        case = dataclasses.replace(CaseContext.from_file(fixture / "case.toml"), key_file=key)
        real = run_mod.LabRun.peer
        def slow(self, *a, **k):
            out = real(self, *a, **k)
            print("SPILLED", flush=True)
            {WAIT}
            return out
        run_mod.LabRun.peer = slow
        import warnings
        warnings.simplefilter("ignore")
        investigate(None, Path({str(tmp_path / "out")!r}), case=case, progress=False,
                    memory_budget=1)
        """
    )
    env = dict(os.environ, TMPDIR=str(root), PYTHONPATH=str(ROOT / "src"))
    err = tmp_path_factory.mktemp("stderr") / "child.err"
    proc = start(script, env=env, cwd=tmp_path, err=err)
    try:
        assert proc.stdout.readline().strip() == b"SPILLED"
        spills = [p for p in root.iterdir() if p.name.startswith("labforensics-spill-")]
        assert len(spills) == 1 and any(spills[0].iterdir())  # the labs' parts are there
    finally:
        rc = stop(proc, signal.SIGTERM, err)
    assert rc == -signal.SIGTERM  # ended as SIGTERM ends a process
    assert not [p for p in root.iterdir() if p.name.startswith("labforensics-spill-")]


def test_no_events_folder_after_sigterm(tmp_path, tmp_path_factory):
    """After the engine, the case's events wait lab by lab in their own private folder
    (a budget below the evidence): a SIGTERM in a later stage removes it too."""
    root = tmp_path / "systmp"
    root.mkdir()
    script = textwrap.dedent(
        f"""
        import dataclasses, time
        from pathlib import Path
        from labforensics import pipeline
        from labforensics.case import CaseContext
        from labforensics.privacy import CaseKey
        fixture = Path({str(ROOT / "fixtures" / "vendor-migration")!r})
        key = Path({str(tmp_path / "case.key")!r})
        CaseKey(bytes(range(32))).write(key)
        case = dataclasses.replace(CaseContext.from_file(fixture / "case.toml"), key_file=key)
        real = pipeline.score_sources
        def slow(*a, **k):
            out = real(*a, **k)
            print("SOURCES", flush=True)
            {WAIT}
            return out
        pipeline.score_sources = slow
        import warnings
        warnings.simplefilter("ignore")
        pipeline.investigate(None, Path({str(tmp_path / "out")!r}), case=case,
                             progress=False, memory_budget=1)
        """
    )
    env = dict(os.environ, TMPDIR=str(root), PYTHONPATH=str(ROOT / "src"))
    err = tmp_path_factory.mktemp("stderr") / "child.err"
    proc = start(script, env=env, cwd=tmp_path, err=err)
    try:
        assert proc.stdout.readline().strip() == b"SOURCES"
        held = [p for p in root.iterdir() if p.name.startswith("labforensics-events-")]
        # one events file per lab, the scored tables set aside after detection, the
        # session table after collect (labforensics.session_files), each lab's slim
        # session table and its positions in the case's order (labforensics.session_labs),
        # each lab's slim session scores and their rank positions (labforensics.scored_labs),
        # and the evidence files streamed into a store under the budget
        # (engine.streamed_files)
        names = sorted(p.name for p in held[0].iterdir()) if len(held) == 1 else []
        assert names == ["events-0.arrow", "events-1.arrow", "evidence-store", "scored-0.pkl",
                         "scored-0.pos.npy", "scored-1.pkl", "scored-1.pos.npy", "scores.parquet",
                         "scores_account_day.parquet", "scores_account_month.parquet",
                         "sessions.parquet", "slim-0.pkl", "slim-0.pos.npy", "slim-1.pkl",
                         "slim-1.pos.npy"]  # fmt: skip
        assert not [p for p in root.iterdir() if p.name.startswith("labforensics-spill-")]
    finally:
        rc = stop(proc, signal.SIGTERM, err)
    assert rc == -signal.SIGTERM
    assert not [p for p in root.iterdir() if p.name.startswith("labforensics-")]
