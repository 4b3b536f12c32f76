"""A run refused or failed through the Python API leaves nothing it created: no output
folder, no parent folder it made, and no case key ``<out>.key`` it made (session 15's
leftover: ``investigate(None, out, store=...)`` refused left a new key; the command
removed it, the API did not). The cleanup is one (``_cleanup.discard_made``), called by
the API's ``discard_on_failure`` and by the command's own."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from labforensics.cli import main
from labforensics.errors import EvidenceError
from labforensics.pipeline import ingest_only, investigate
from labforensics.privacy import CaseKey
from labforensics.store import StoreError, ingest_to_store
from labforensics.store._guard import store_lock

sys.path.insert(0, str(Path(__file__).parent / "store"))
from store_evidence import lab_file


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.fixture
def store(tmp_path, monkeypatch, test_key):
    """A store of one lab (3 events) built with the tests' key, and no key in the
    environment: a run without a key makes ``<out>.key``."""
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    ev, s = tmp_path / "ev", tmp_path / "S"
    lab_file(ev, "L01")
    ingest_to_store([ev], s, case_key=test_key, root=ev)
    return s


def test_refused_store_run_leaves_no_key_nor_folder(tmp_path, store):
    """The run's new key (random, so not the store's) is refused: StoreError, and the
    tree is as before: no ``a/``, ``a/b/``, ``a/b/out`` nor ``a/b/out.key``."""
    before = _tree(tmp_path)
    with pytest.raises(StoreError, match="was built with the case key"):
        investigate(None, tmp_path / "a" / "b" / "out", store=store, progress=False)
    assert _tree(tmp_path) == before
    with pytest.raises(StoreError, match="was built with the case key"):
        investigate(None, tmp_path / "out", store=store, progress=False)
    assert _tree(tmp_path) == before


def test_store_locked_by_an_ingest_leaves_no_key(tmp_path, store):
    """Refused at the lock (one lock per open file: this thread's ingest lock is met as
    another process's would be)."""
    before = _tree(tmp_path)
    with store_lock(store, shared=False):
        with pytest.raises(StoreError, match="cannot be read from now"):
            investigate(None, tmp_path / "out", store=store, progress=False)
        assert _tree(tmp_path) == sorted([*before, ".S.labforensics-lock"])
    assert _tree(tmp_path) == before


def test_a_key_file_there_before_is_kept(tmp_path, store):
    key = tmp_path / "out.key"
    CaseKey.random().write(key)  # not the store's key: refused
    before, data = _tree(tmp_path), key.read_bytes()
    with pytest.raises(StoreError, match="was built with the case key"):
        investigate(None, tmp_path / "out", store=store, progress=False)
    assert _tree(tmp_path) == before and key.read_bytes() == data


def test_failed_ingest_only_leaves_no_key(tmp_path, monkeypatch):
    """``ingest_only`` of a folder with no recognised file: EvidenceError, nothing left
    (the key used to be made before the run's cleanup block)."""
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "notes.txt").write_text("not a log\n")
    before = _tree(tmp_path)
    with pytest.raises(EvidenceError, match="no readable evidence file"):
        ingest_only([ev], tmp_path / "new" / "out", tz="Europe/Paris", progress=False)
    assert _tree(tmp_path) == before


def test_a_finished_run_keeps_its_new_key(tmp_path, monkeypatch, store):
    """Once the run's output is whole, its new key is the output's: a failure after the
    run (here the command's last message) must not remove it (it did: the command
    removed any key new since it began)."""
    import labforensics.cli as cli

    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    ev = tmp_path / "ev"
    real = cli._say

    def fails_at_the_end(text, *args, **kwargs):
        if str(text).startswith("written to"):
            raise RuntimeError("the terminal went away")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(cli, "_say", fails_at_the_end)
    with pytest.raises(RuntimeError, match="the terminal went away"):
        main(["ingest", str(ev), "--out", str(tmp_path / "out"), "--quiet"])
    assert (tmp_path / "out" / "manifest.json").is_file()
    assert len(CaseKey.from_file(tmp_path / "out.key").fingerprint) == 16
