"""labforensics._arrow_pool: jemalloc during a block, the previous pool restored after."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from labforensics import _arrow_pool
from labforensics._arrow_pool import arrow_memory_pool

HAS_JEMALLOC = _arrow_pool._jemalloc() is not None
needs_jemalloc = pytest.mark.skipif(not HAS_JEMALLOC, reason="this pyarrow has no jemalloc")


@needs_jemalloc
def test_jemalloc_inside_previous_pool_after(monkeypatch):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    with arrow_memory_pool() as pool:
        assert pool.backend_name == "jemalloc"
        assert pa.default_memory_pool().backend_name == "jemalloc"
        arr = pa.array(["a", "b"] * 1000)
    assert pa.default_memory_pool().backend_name == before
    # a buffer allocated inside stays valid (it remembers its pool)
    assert arr.to_pylist()[:2] == ["a", "b"]


@needs_jemalloc
def test_nested_blocks_restore_once(monkeypatch):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    with arrow_memory_pool():
        with arrow_memory_pool():
            assert pa.default_memory_pool().backend_name == "jemalloc"
        assert pa.default_memory_pool().backend_name == "jemalloc"  # outer block still open
    assert pa.default_memory_pool().backend_name == before


@needs_jemalloc
def test_overlapping_threads_restore_the_original(monkeypatch):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, str] = {}

    def a():
        with arrow_memory_pool():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with arrow_memory_pool():
            b_in.set()
            a_out.wait(5)  # A has left its block while B is still inside
            seen["b_after_a_left"] = pa.default_memory_pool().backend_name

    ts = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    assert seen["b_after_a_left"] == "jemalloc"
    assert pa.default_memory_pool().backend_name == before


def test_user_choice_is_kept(monkeypatch):
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    before = pa.default_memory_pool().backend_name
    with arrow_memory_pool() as pool:
        assert pool.backend_name == before
        assert pa.default_memory_pool().backend_name == before
    assert pa.default_memory_pool().backend_name == before


def test_pool_restored_when_the_block_raises(monkeypatch):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    with pytest.raises(RuntimeError), arrow_memory_pool():
        raise RuntimeError("boom")
    assert pa.default_memory_pool().backend_name == before
    assert _arrow_pool._depth == 0


def test_read_evidence_restores_the_pool(case_dir, monkeypatch, test_key):
    from labforensics import read_evidence

    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    ev = read_evidence(case_dir("001-fallback-hour"), case_key=test_key)
    assert len(ev.events) > 0
    assert pa.default_memory_pool().backend_name == before
