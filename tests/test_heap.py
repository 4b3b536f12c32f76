"""A run's garbage collections leave the caller's objects out (``labforensics._heap``):
frozen while the stages run, given back after, whatever the run's end."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from labforensics import pipeline
from labforensics._heap import caller_heap_frozen
from labforensics.testing import replay_case

ROOT = Path(__file__).resolve().parents[1]


def test_the_callers_objects_are_frozen_during_the_run_only(tmp_path, monkeypatch):
    held = [[i] for i in range(1000)]  # the caller's objects, alive before the run
    seen: list[int] = []
    real = pipeline.release_memory

    def spy():
        seen.append(gc.get_freeze_count())
        real()

    monkeypatch.setattr(pipeline, "release_memory", spy)
    assert gc.get_freeze_count() == 0
    replay_case(ROOT / "fixtures" / "no-incident" / "case.toml", tmp_path)
    # every stage's collection ran with at least the caller's objects frozen
    assert seen and min(seen) >= len(held)
    assert gc.get_freeze_count() == 0


def test_nested_and_failing_blocks_unfreeze_once_at_the_outermost(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
    with pytest.raises(RuntimeError):
        with caller_heap_frozen():
            with caller_heap_frozen():
                assert calls == ["freeze"]  # not frozen again
            assert calls == ["freeze"]  # the inner end did not unfreeze
            raise RuntimeError("a failing run")
    assert calls == ["freeze", "unfreeze"]  # the outermost end, even on a failure


def test_a_cycle_of_the_caller_is_collected_after_the_run():
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    with caller_heap_frozen():
        del a, b
        gc.collect()
        assert ref() is not None  # frozen: left to the caller's collections
    gc.collect()
    assert ref() is None
