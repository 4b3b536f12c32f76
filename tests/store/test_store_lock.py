"""One ingest at a time into a store, and no investigation of a store an ingest is
writing (QA session 15, item 1): two ingests at once both exited 0 and the manifest kept
only one of them, or one failed with a traceback leaving an unlisted Parquet part.

The first ingest is paused inside its lock (before it writes its group) in a thread; a
lock is taken per open file, so a second ingest in the main thread meets it as another
process would.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading

import pytest
from store_evidence import lab_file, snapshot

import labforensics.store._ingest as store_ingest
from labforensics.case import load_case
from labforensics.cli import main
from labforensics.pipeline import investigate
from labforensics.store import StoreError, ingest_to_store
from labforensics.store._guard import store_lock


@pytest.fixture
def paused(monkeypatch):
    """``start(fn)``: run ``fn`` in a thread, return once it is inside its first
    ``_write_group`` (the store locked); ``finish()`` lets it go on and joins it."""
    inside, go, errors = threading.Event(), threading.Event(), []
    real = store_ingest._write_group

    def write_group(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            inside.set()
            assert go.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(store_ingest, "_write_group", write_group)
    thread: list[threading.Thread] = []

    def start(fn):
        def run():
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=run)
        thread.append(t)
        t.start()
        assert inside.wait(60)

    def finish():
        go.set()
        thread[0].join(60)
        assert not errors, errors

    yield start, finish
    go.set()


def _files(store):
    man = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
    return sorted(f["source_file"] for f in man["files"])


def test_second_ingest_refused_while_one_runs(tmp_path, test_key, paused, capsys):
    start, finish = paused
    ev, store = tmp_path / "evidence", tmp_path / "S"
    for lab in ("L01", "L02", "L03"):
        lab_file(ev, lab)
    ingest_to_store([ev / "L01"], store, case_key=test_key, root=ev)
    before = snapshot(store)
    start(lambda: ingest_to_store([ev / "L02"], store, case_key=test_key))
    with pytest.raises(StoreError) as err:
        ingest_to_store([ev / "L03"], store, case_key=test_key)
    msg = str(err.value)
    assert f"the store {store} cannot be added to now" in msg
    assert f"(it holds the lock {tmp_path / '.S.labforensics-lock'})" in msg
    assert "\n" not in msg
    # through the command: one line, exit 2, no traceback
    key = tmp_path / "case.key"
    test_key.write(key)
    argv = ["ingest", str(ev / "L03"), "--store", str(store), "--case-key", str(key), "--quiet"]
    assert main(argv) == 2
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert len(err_lines) == 1 and err_lines[0].startswith("labforensics: error: the store ")
    assert snapshot(store) == before  # the refused ingests wrote nothing
    finish()
    assert _files(store) == ["L01/AUDIT_L01_20190301.csv", "L02/AUDIT_L02_20190301.csv"]
    # once the first has ended, the same ingest runs: both kept
    res = ingest_to_store([ev / "L03"], store, case_key=test_key)
    assert res.added == ["L03/AUDIT_L03_20190301.csv"]
    assert res.report.events_out == 9  # 3 labs x 3 rows
    assert _files(store) == [f"{lab}/AUDIT_{lab}_20190301.csv" for lab in ("L01", "L02", "L03")]
    assert not (tmp_path / ".S.labforensics-lock").exists()


def test_investigation_refused_while_an_ingest_runs(
    tmp_path, test_key, paused, monkeypatch, capsys
):
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    start, finish = paused
    ev, store, out = tmp_path / "evidence", tmp_path / "S", tmp_path / "out"
    lab_file(ev, "L01"), lab_file(ev, "L02")
    ingest_to_store([ev / "L01"], store, case_key=test_key, root=ev)
    start(lambda: ingest_to_store([ev / "L02"], store, case_key=test_key))
    key = tmp_path / "case.key"
    test_key.write(key)
    assert main(["investigate", "--store", str(store), "--out", str(out), "--case-key",
                 str(key), "--quiet"]) == 2  # fmt: skip
    assert capsys.readouterr().err.strip() == (
        f"labforensics: error: the store {store} cannot be read from now: an ingest is adding "
        f"evidence to it (it holds the lock {tmp_path / '.S.labforensics-lock'}); wait for "
        "that run to end, then run this command again"
    )
    assert not out.exists()  # refused: no output folder left
    finish()
    # the Python call too: StoreError, while this thread holds an ingest's lock
    got: list[BaseException] = []

    def read():
        try:
            investigate(None, tmp_path / "out2", store=store, case=case, progress=False)
        except BaseException as exc:
            got.append(exc)

    case = dataclasses.replace(load_case(None), key_file=key)
    with store_lock(store, shared=False):
        t = threading.Thread(target=read)
        t.start(), t.join(120)
    assert len(got) == 1 and isinstance(got[0], StoreError), got
    assert "cannot be read from now" in str(got[0])
    assert not (tmp_path / "out2").exists()


def test_ingest_refused_while_an_investigation_reads(tmp_path, test_key):
    ev, store = tmp_path / "evidence", tmp_path / "S"
    lab_file(ev, "L01"), lab_file(ev, "L02")
    ingest_to_store([ev / "L01"], store, case_key=test_key, root=ev)
    held, done = threading.Event(), threading.Event()

    def reader():  # an investigation's lock, in another thread
        with store_lock(store, shared=True):
            held.set()
            done.wait(60)

    t = threading.Thread(target=reader)
    t.start()
    assert held.wait(60)
    try:
        with pytest.raises(StoreError, match="an investigation reading it"):
            ingest_to_store([ev / "L02"], store, case_key=test_key)
        with store_lock(store, shared=True):  # readers together: allowed
            pass
    finally:
        done.set()
        t.join(60)
    assert ingest_to_store([ev / "L02"], store, case_key=test_key).added == [
        "L02/AUDIT_L02_20190301.csv"
    ]


def test_a_lock_file_nobody_holds_is_taken(tmp_path, test_key):
    """A killed ingest (SIGKILL) leaves its lock file, locked by no process."""
    ev, store = tmp_path / "evidence", tmp_path / "S"
    lab_file(ev, "L01")
    (tmp_path / ".S.labforensics-lock").write_text("12345\n")
    assert ingest_to_store([ev], store, case_key=test_key).report.events_out == 3
    assert not (tmp_path / ".S.labforensics-lock").exists()


def test_a_store_on_read_only_media_is_read_without_a_lock(tmp_path, test_key, monkeypatch):
    """No lock file can be made beside a store on a read-only file system; no ingest
    can write there either, so an investigation reads it unlocked. Any other failure to
    make the lock file is refused, naming it."""
    import errno

    import labforensics.store._guard as guard

    ev, store = tmp_path / "evidence", tmp_path / "S"
    lab_file(ev, "L01")
    ingest_to_store([ev], store, case_key=test_key)
    err = [errno.EROFS]

    def no_lock_file(lock, *, shared=False):
        raise OSError(err[0], os.strerror(err[0]))

    monkeypatch.setattr(guard, "lock_file", no_lock_file)
    with guard.reading_store(store):
        pass
    err[0] = errno.EACCES
    with pytest.raises(StoreError) as exc:
        with guard.reading_store(store):
            pass
    assert str(exc.value) == (
        f"cannot create the lock file {tmp_path / '.S.labforensics-lock'} of the store "
        f"{store}: Permission denied"
    )
    err[0] = errno.EROFS  # an ingest is refused whatever the reason
    with pytest.raises(StoreError, match="cannot create the lock file"):
        ingest_to_store([ev], store, case_key=test_key)


def test_another_process_holding_the_lock(tmp_path, test_key):
    """The same with a real second process holding the ingest's lock."""
    import subprocess
    import sys

    ev, store = tmp_path / "evidence", tmp_path / "S"
    lab_file(ev, "L01"), lab_file(ev, "L02")
    ingest_to_store([ev / "L01"], store, case_key=test_key, root=ev)
    code = (
        "import sys; from pathlib import Path; from labforensics.store._guard import store_lock\n"
        "with store_lock(Path(sys.argv[1]), shared=False):\n"
        "    print('held', flush=True); sys.stdin.read()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.Popen([sys.executable, "-c", code, str(store)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert p.stdout.readline() == "held\n"
        with pytest.raises(StoreError, match="cannot be added to now"):
            ingest_to_store([ev / "L02"], store, case_key=test_key)
    finally:
        p.communicate("", timeout=60)
    assert ingest_to_store([ev / "L02"], store, case_key=test_key).report.events_out == 6
