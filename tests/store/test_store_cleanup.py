"""An ingest that fails or is stopped leaves no half-written store (QA session 15, item
3): a first ingest removes what it wrote, so that the same command runs again as it is;
a later one leaves the store as it was."""

from __future__ import annotations

import signal

import pytest
from store_evidence import lab_file, snapshot

import labforensics.store._ingest as store_ingest
from labforensics.cli import main
from labforensics.store import StoreError, ingest_to_store


def _stop_at_second_group(monkeypatch, stop):
    """``_write_group`` writes the first group, then ``stop()`` before the second one."""
    real, calls = store_ingest._write_group, []

    def write_group(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            stop()
        return real(*args, **kwargs)

    monkeypatch.setattr(store_ingest, "_write_group", write_group)
    return calls


def _ctrl_c():
    raise KeyboardInterrupt


@pytest.fixture
def ev(tmp_path):
    ev = tmp_path / "evidence"
    for lab in ("L01", "L02", "L03"):
        lab_file(ev, lab)
    return ev


@pytest.mark.parametrize("stop", [_ctrl_c, lambda: (_ for _ in ()).throw(OSError(28, "No space left on device"))])  # fmt: skip
def test_failed_first_ingest_removes_the_store_it_made(tmp_path, ev, test_key, monkeypatch, stop):
    store = tmp_path / "new" / "S"
    calls = _stop_at_second_group(monkeypatch, stop)
    with pytest.raises((KeyboardInterrupt, OSError)):
        ingest_to_store([ev], store, case_key=test_key)
    assert len(calls) == 2  # the first group was written, then removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence"]  # nor new/, nor a lock
    monkeypatch.undo()
    res = ingest_to_store([ev], store, case_key=test_key)  # the same call, as it is
    assert (len(res.added), res.report.events_out) == (3, 9)


def test_failed_first_ingest_into_an_empty_folder_leaves_it_empty(tmp_path, ev, test_key, monkeypatch):  # fmt: skip
    store = tmp_path / "S"
    store.mkdir()
    _stop_at_second_group(monkeypatch, _ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        ingest_to_store([ev], store, case_key=test_key)
    assert store.is_dir() and list(store.iterdir()) == []  # as it was: an empty folder


def test_sigterm_during_first_ingest(tmp_path, ev, test_key, monkeypatch):
    """SIGTERM raises inside the ingest (its cleanup runs), then is delivered again to
    the handler in place before (here the test's: by default the process ends)."""
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda *a: seen.append("delivered again"))
    try:
        store = tmp_path / "S"
        _stop_at_second_group(monkeypatch, lambda: signal.raise_signal(signal.SIGTERM))
        with pytest.raises(StoreError) as err:
            ingest_to_store([ev], store, case_key=test_key)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert str(err.value) == f"ingest into the store {store} stopped by SIGTERM"
    assert seen == ["delivered again"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence"]


def test_ctrl_c_first_ingest_command_runs_again(tmp_path, ev, monkeypatch, capsys):
    store = tmp_path / "S"
    argv = ["ingest", str(ev), "--store", str(store), "--quiet"]
    _stop_at_second_group(monkeypatch, _ctrl_c)
    assert main(argv) == 130
    assert capsys.readouterr().err.strip() == "labforensics: interrupted"
    # no store, and no key: the key made for it pseudonymised nothing that was kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence"]
    monkeypatch.undo()
    assert main(argv) == 0  # the same command, as it is
    assert "3 file(s) added" in capsys.readouterr().out
    assert (tmp_path / "S.key").is_file()


@pytest.mark.parametrize("stop", [_ctrl_c, lambda: (_ for _ in ()).throw(OSError(28, "No space left on device"))])  # fmt: skip
def test_failed_later_ingest_leaves_the_store_as_it_was(tmp_path, ev, test_key, monkeypatch, stop):
    store = tmp_path / "S"
    lab_file(tmp_path / "more", "L04"), lab_file(tmp_path / "more", "L05")
    ingest_to_store([ev], store, case_key=test_key, root=tmp_path)
    before = snapshot(store)
    calls = _stop_at_second_group(monkeypatch, stop)
    with pytest.raises((KeyboardInterrupt, OSError)):
        ingest_to_store([tmp_path / "more"], store, case_key=test_key)
    assert len(calls) == 2  # L04's group written, then removed
    assert snapshot(store) == before  # every file, byte for byte; no other file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S", "evidence", "more"]
    monkeypatch.undo()
    res = ingest_to_store([tmp_path / "more"], store, case_key=test_key)
    assert (len(res.added), res.report.events_out) == (2, 15)  # 5 labs x 3 rows


def test_failure_while_the_top_files_are_written_keeps_the_old_ones(tmp_path, ev, test_key, monkeypatch):  # fmt: skip
    """The report, quarantine and manifest are written beside, then replaced together:
    a failure before leaves the old three (the old manifest naming the old groups)."""
    store = tmp_path / "S"
    ingest_to_store([ev / "L01"], store, case_key=test_key, root=ev)
    before = snapshot(store)

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_ingest, "write_csv", fail)  # the quarantine, after the report
    with pytest.raises(OSError):
        ingest_to_store([ev / "L02"], store, case_key=test_key)
    assert snapshot(store) == before
