"""One run per output folder (QA session 11, item 2): two ``investigate`` runs into the
same new folder both exited 0, the folder holding only the slower one's results."""

from __future__ import annotations

import fcntl
import json
import os

import pytest

from labforensics import _outlock
from labforensics.cli import main
from labforensics.errors import OutputExistsError
from labforensics.outputs import prepare_out
from test_out_folder_cleanup import FIXTURE  # the vendor-migration fixture's evidence


def test_a_held_folder_is_refused_at_once(tmp_path):
    out = tmp_path / "o3"
    lock = _outlock.lock_path(out)
    assert lock == tmp_path / ".o3.labforensics-lock"
    fd = os.open(lock, os.O_CREAT | os.O_RDWR)  # another run's lock (an open file of its own)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OutputExistsError, match=f"output folder {out} is in use by another "
                           "labforensics run"):  # fmt: skip
            prepare_out(out, False)
        assert not out.exists()  # nothing made, nothing emptied
    finally:
        os.close(fd)
    # a lock file left by a killed run (no process locks it) is taken
    prepare_out(out, False)
    assert out.is_dir() and lock.read_text() == f"{os.getpid()}\n"
    _outlock.release(out)
    assert not lock.exists()


def test_cli_second_run_fails_naming_the_folder(tmp_path, capsys):
    out = tmp_path / "o"
    fd = os.open(_outlock.lock_path(out), os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        rc = main(["ingest", str(FIXTURE / "evidence"), "--out", str(out)])
    finally:
        os.close(fd)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("labforensics: error: ") and "in use by another" in err[0]
    assert str(out) in err[0]


def test_no_lock_left_after_a_run_or_an_error(tmp_path, capsys):
    out = tmp_path / "ing"
    assert main(["ingest", str(FIXTURE / "evidence"), "--out", str(out)]) == 0
    assert not _outlock.lock_path(out).exists() and not _outlock._HELD
    names = json.dumps(json.loads((out / "manifest.json").read_text()))
    assert "labforensics-lock" not in names
    assert not [p.name for p in out.iterdir() if "lock" in p.name]
    # --force on that folder: the lock (beside it) is no foreign file
    assert main(["ingest", str(FIXTURE / "evidence"), "--out", str(out), "--force"]) == 0
    assert not _outlock.lock_path(out).exists()
    # an error (no evidence file readable): no lock left, no folder
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = tmp_path / "new" / "bad"
    assert main(["ingest", str(empty), "--out", str(bad)]) == 2
    assert not _outlock.lock_path(bad).exists() and not _outlock._HELD
    assert not (tmp_path / "new" / "bad").exists()
