"""Ctrl-C ends the command with one line and the shells' status (QA session 9, item 2):
``labforensics: interrupted``, exit 130 (128 + SIGINT), no traceback; the temporary
folders and the unfinished run's outputs are gone by then."""

from __future__ import annotations

import os
import signal
import tempfile
import time

import pytest

import labforensics.pipeline as pipeline
from labforensics.cli import EXIT_INTERRUPTED, main
from lis_headers import LEGACY_HEADER as HEADER


def _evidence(tmp_path):
    ev = tmp_path / "ev"
    ev.mkdir()
    rows = [f"01/01/2020;09:0{i}:00;L01;S1;u{i};TECH;PC;10.1.0.9;DOSSIER;CONSULT;OK;4000012{i};;1;x"
            for i in range(5)]  # fmt: skip
    (ev / "AUDIT_L01_20200101.csv").write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode())
    return ev


def _sigint_and_wait() -> None:
    """Send SIGINT to this process and wait up to 10 s for its KeyboardInterrupt.

    The handler runs at a bytecode boundary once the thread the kernel gave the signal
    to has run its C handler: on a loaded machine (load 8 on 2 cores) a thousand
    iterations passed before it did (session 15), hence a deadline, not a count.
    """
    os.kill(os.getpid(), signal.SIGINT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pass


def _interrupt_at(monkeypatch, name: str):
    real = getattr(pipeline, name)

    def stop(*args, **kwargs):
        if name == "write_report":  # late: after the stages wrote their outputs
            real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, name, stop)


@pytest.mark.parametrize("stage", ["read_evidence", "write_report"])
def test_ctrl_c_one_line_exit_130_nothing_left(tmp_path, monkeypatch, capsys, stage):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))  # the run's temporary folders
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    ev, out = _evidence(tmp_path), tmp_path / "out"
    _interrupt_at(monkeypatch, stage)
    assert main(["investigate", str(ev), "--out", str(out), "--quiet"]) == EXIT_INTERRUPTED
    assert EXIT_INTERRUPTED == 130
    err = capsys.readouterr().err
    assert err.strip() == "labforensics: interrupted"  # one line, no traceback
    assert not out.exists()  # the unfinished run's outputs and the folder it made
    assert not (tmp_path / "out.key").exists()  # nor the key it made for them
    assert list(tmp.iterdir()) == []  # temporary folders removed before the exit


def test_ctrl_c_swallowed_in_a_stage_still_ends_the_run(tmp_path, monkeypatch, capsys):
    """A SIGINT some code drops whole during a stage (tqdm's ``__del__``, QA session
    15) is raised at the stage's end: exit 130, nothing left, not a finished run."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    real = pipeline.score_sources

    def drops_ctrl_c(*args, **kwargs):
        try:
            _sigint_and_wait()
        except KeyboardInterrupt:
            pass  # dropped, as an object's __del__ drops it
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "score_sources", drops_ctrl_c)
    ev, out = _evidence(tmp_path), tmp_path / "out"
    assert main(["investigate", str(ev), "--out", str(out), "--quiet"]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err.strip() == "labforensics: interrupted"
    assert not out.exists() and not (tmp_path / "out.key").exists()
    assert list(tmp.iterdir()) == []


def test_ctrl_c_during_ingest_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ev, out = _evidence(tmp_path), tmp_path / "out"
    _interrupt_at(monkeypatch, "read_evidence")
    assert main(["ingest", str(ev), "--out", str(out), "--quiet"]) == 130
    assert capsys.readouterr().err.strip() == "labforensics: interrupted"
    assert not out.exists() and not (tmp_path / "out.key").exists()


def test_key_file_of_an_earlier_run_kept(tmp_path, monkeypatch, capsys):
    import shutil

    ev, out = _evidence(tmp_path), tmp_path / "out"
    assert main(["ingest", str(ev), "--out", str(out), "--quiet"]) == 0
    key = (tmp_path / "out.key").read_bytes()  # made by the first run, reused by the next
    shutil.rmtree(out)
    _interrupt_at(monkeypatch, "read_evidence")
    assert main(["ingest", str(ev), "--out", str(out), "--quiet"]) == 130
    assert (tmp_path / "out.key").read_bytes() == key


def _swallowed_ctrl_c():
    """What DuckDB does with Ctrl-C during a query: takes the KeyboardInterrupt, raises
    its own error."""
    try:
        _sigint_and_wait()
    except KeyboardInterrupt:
        raise RuntimeError("Query interrupted") from None


def test_interrupt_noted_gives_ctrl_c_back_from_native_code():
    from labforensics._cleanup import interrupt_noted

    with pytest.raises(KeyboardInterrupt), interrupt_noted():
        _swallowed_ctrl_c()
    with pytest.raises(RuntimeError), interrupt_noted():  # no SIGINT: the error as it is
        raise RuntimeError("a real failure")


def test_interrupt_noted_raises_a_ctrl_c_swallowed_whole():
    """QA session 15: a SIGINT arriving while tqdm's ``__del__`` ran was printed as
    "Exception ignored" and dropped, and the run finished with exit 0."""
    from labforensics._cleanup import interrupt_noted

    def swallowed_whole():
        try:
            _sigint_and_wait()
        except KeyboardInterrupt:
            return "dropped"  # as a __del__ drops it
        return "never delivered"

    with pytest.raises(KeyboardInterrupt), interrupt_noted():
        assert swallowed_whole() == "dropped"
    with interrupt_noted():  # no SIGINT: the block ends as it is
        pass


def test_linkage_connection_ctrl_c_not_a_linkage_failure(tmp_path, monkeypatch):
    from labforensics.leak._duckdb import TEMP_PREFIX, private_connection

    (tmp_path / "tmp").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.chdir(tmp_path / "cwd")  # the spill folder is refused under the working one
    with (
        pytest.raises(KeyboardInterrupt),
        private_connection(memory_budget_bytes=2**27, threads=1) as con,
    ):
        con.execute("select 1")
        _swallowed_ctrl_c()
    assert not list((tmp_path / "tmp").glob(TEMP_PREFIX + "*"))


#: Run in a fresh interpreter: the import of ``labforensics.pipeline`` (one of the
#: command's heavy modules) says "importing" on stderr and then waits, so that a real
#: SIGINT arrives while the command's modules are being imported.
SLOW_IMPORT = """
import importlib.abc, runpy, sys, time

class _Slow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "labforensics.pipeline":
            print("importing", file=sys.stderr, flush=True)
            time.sleep(60)
        return None

sys.meta_path.insert(0, _Slow())
sys.argv = ["labforensics", "--help"]
runpy.run_module("labforensics", run_name="__main__")
"""


def test_ctrl_c_while_the_command_imports_one_line_exit_130():
    """Session 10, QA item 5: Ctrl-C in the first second (the imports of pandas, the
    pipeline ...) printed a traceback of the import; the entry point now catches it."""
    import subprocess
    import sys
    from pathlib import Path

    import labforensics

    env = {**os.environ, "PYTHONPATH": str(Path(labforensics.__file__).parents[1])}
    p = subprocess.Popen([sys.executable, "-c", SLOW_IMPORT], stderr=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert p.stderr.readline().strip() == "importing"  # inside the command's imports
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == EXIT_INTERRUPTED == 130
    assert err.strip() == "labforensics: interrupted" and "Traceback" not in err
    assert out == ""  # the command did not run


def test_entry_point_catches_ctrl_c_in_the_import(monkeypatch, capsys):
    import builtins

    from labforensics.__main__ import main as entry

    real = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "cli" or name.endswith("labforensics.cli"):
            raise KeyboardInterrupt
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert entry(["--help"]) == 130
    assert capsys.readouterr().err.strip() == "labforensics: interrupted"
