"""A failed or terminated run leaves no empty output folder that it created (QA, session
8: after a SIGTERM during ``investigate`` an empty ``--out`` folder was left behind).

Only the folders :func:`labforensics.outputs.prepare_out` made for this run are removed,
and only when empty: a folder that existed before the run, or one holding anything
(a file of the run, or of anyone), is left as it is."""

from __future__ import annotations

import dataclasses
import os
import signal
import textwrap
from pathlib import Path

import pytest

from child_run import WAIT, start, stop
from labforensics import pipeline
from labforensics._cleanup import remove_if_empty
from labforensics.case import CaseContext
from labforensics.cli import main
from labforensics.outputs import prepare_out
from labforensics.privacy import CaseKey

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "vendor-migration"


def test_remove_if_empty_only_what_prepare_out_made(tmp_path):
    # a new folder two levels down: it and the parent it made go, the rest stays
    out = tmp_path / "a" / "b" / "out"
    prepare_out(out, False)
    assert remove_if_empty(out) and not (tmp_path / "a").exists() and tmp_path.is_dir()
    # a folder that existed before the run (empty) is kept
    before = tmp_path / "before"
    before.mkdir()
    prepare_out(before, False)
    assert not remove_if_empty(before) and before.is_dir()
    # a folder holding a file is kept, with the file (rmdir refuses it)
    made = tmp_path / "made"
    prepare_out(made, False)
    (made / "someone.txt").write_text("x")
    assert not remove_if_empty(made) and (made / "someone.txt").read_text() == "x"
    # a folder never given to prepare_out, or given twice: the second run did not make it
    again = tmp_path / "again"
    prepare_out(again, False)
    prepare_out(again, False)
    assert not remove_if_empty(again) and again.is_dir()
    assert not remove_if_empty(tmp_path / "never")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    key = tmp_path_factory.mktemp("key") / "case.key"
    CaseKey(bytes(range(32))).write(key)
    return dataclasses.replace(CaseContext.from_file(FIXTURE / "case.toml"), key_file=key)


def _broken_stage(*_a, **_k):
    raise RuntimeError("a stage failed")


@pytest.mark.parametrize("existed", [False, True])
def test_failed_investigation_leaves_no_empty_folder(case, tmp_path, monkeypatch, existed):
    monkeypatch.setattr(pipeline, "score_sources", _broken_stage)
    out = tmp_path / "new" / "out"
    if existed:
        out.mkdir(parents=True)
    with pytest.raises(RuntimeError, match="a stage failed"):
        pipeline.investigate(None, out, case=case, progress=False)
    # made by the run: removed with the parent it made; there before: kept as it was
    assert out.is_dir() == existed and (tmp_path / "new").is_dir() == existed
    assert not existed or list(out.iterdir()) == []


def test_failed_command_leaves_no_empty_folder(case, tmp_path, monkeypatch, capsys):
    # the command's own net: ingest (the API keeps the emptied folder) and investigate
    monkeypatch.setenv("LABFORENSICS_CASE_KEY", "00" * 32)
    monkeypatch.setattr(pipeline, "write_json", _broken_stage)
    with pytest.raises(RuntimeError):
        main(["ingest", str(FIXTURE / "evidence"), "--out", str(tmp_path / "ing")])
    assert not (tmp_path / "ing").exists()
    # a refused run does not touch a folder that was there (not empty: refused)
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("x")
    assert main(["ingest", str(FIXTURE / "evidence"), "--out", str(kept)]) == 2
    assert (kept / "mine.txt").read_text() == "x"
    capsys.readouterr()


_SCRIPT = """
import dataclasses, time
from pathlib import Path
from labforensics import pipeline
from labforensics.case import CaseContext
from labforensics.privacy import CaseKey
key = Path({key!r})
CaseKey(bytes(range(32))).write(key)
case = dataclasses.replace(CaseContext.from_file(Path({case!r})), key_file=key)
real = pipeline.score_sources
def slow(*a, **k):
    out = real(*a, **k)
    print("SOURCES", flush=True)
    {wait}
    return out
pipeline.score_sources = slow
pipeline.investigate(None, Path({out!r}), case=case, progress=False)
"""


@pytest.mark.parametrize("existed", [False, True])
def test_no_empty_folder_after_sigterm(tmp_path, tmp_path_factory, existed):
    out = tmp_path / "made" / "out"
    if existed:
        out.mkdir(parents=True)
    script = textwrap.dedent(_SCRIPT).format(key=str(tmp_path / "case.key"), wait=WAIT,
                                             case=str(FIXTURE / "case.toml"), out=str(out))  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), TMPDIR=str(tmp_path))
    err = tmp_path_factory.mktemp("stderr") / "child.err"
    proc = start(script, env=env, cwd=tmp_path, err=err)
    try:
        assert proc.stdout.readline().strip() == b"SOURCES"
        assert out.is_dir() and list(out.iterdir()) == []  # made, nothing written yet
    finally:
        rc = stop(proc, signal.SIGTERM, err)
    assert rc == -signal.SIGTERM  # ended as SIGTERM ends a process
    assert out.is_dir() == existed and (tmp_path / "made").is_dir() == existed
    assert (tmp_path / "case.key").is_file()  # the key beside it is kept


# --- a run that fails after writing some outputs (session 8's note: partial files that
# --force then refused, having no manifest) ------------------------------------------


def _broken_manifest(*_a, **_k):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("existed", [False, True])
def test_failure_after_outputs_leaves_none_and_the_command_runs_again(case, tmp_path,
                                                                      monkeypatch, existed):  # fmt: skip
    out = tmp_path / "new" / "out"
    if existed:
        out.mkdir(parents=True)
    with monkeypatch.context() as m:
        m.setattr(pipeline, "_write_manifest", _broken_manifest)
        with pytest.raises(OSError, match="No space left"):
            pipeline.investigate(None, out, case=case, progress=False)
    # every output had been written (the report included) before the manifest failed
    assert out.is_dir() == existed and (not existed or list(out.iterdir()) == [])
    # the same command, without --force, runs again and finishes
    res = pipeline.investigate(None, out, case=case, progress=False)
    assert (out / "manifest.json").is_file() and res.findings["conclusion"]["leading"] == "vendor"


def test_failure_keeps_what_the_run_did_not_write(case, tmp_path, monkeypatch):
    # a previous output emptied by --force, then this run fails: only output names go
    out = tmp_path / "out"
    pipeline.investigate(None, out, case=case, progress=False)
    names = sorted(p.name for p in out.iterdir())
    assert "manifest.json" in names and "findings.json" in names
    with monkeypatch.context() as m:
        m.setattr(pipeline, "_write_manifest", _broken_manifest)
        with pytest.raises(OSError):
            pipeline.investigate(None, out, case=case, progress=False, force=True)
    assert out.is_dir() and list(out.iterdir()) == []  # there before: kept, emptied


def test_discard_on_failure_removes_only_named_regular_files(tmp_path):
    from labforensics._cleanup import discard_on_failure

    out = tmp_path / "out"
    prepare_out(out, False)
    (out / "events.parquet").write_bytes(b"partial")
    (out / "notes.txt").write_text("someone's")
    (tmp_path / "target").write_text("t")
    (out / "report.html").symlink_to(tmp_path / "target")
    with pytest.raises(KeyboardInterrupt):
        with discard_on_failure(out, {"events.parquet", "report.html", "sessions.parquet"}):
            raise KeyboardInterrupt
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "report.html"]
    assert (tmp_path / "target").read_text() == "t"
    # nothing raised: nothing removed
    with discard_on_failure(out, {"notes.txt"}):
        pass
    assert (out / "notes.txt").is_file()


def test_failed_ingest_only_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LABFORENSICS_CASE_KEY", "00" * 32)
    monkeypatch.setattr(pipeline, "write_json", _broken_manifest)
    with pytest.raises(OSError):
        pipeline.ingest_only([FIXTURE / "evidence"], tmp_path / "a" / "ing", tz="Europe/Paris",
                             progress=False)  # fmt: skip
    assert not (tmp_path / "a").exists()


def test_failed_ingest_command_leaves_no_parent_nor_key(tmp_path, monkeypatch):
    """QA session 11: ``ingest x.txt --out new/bad`` with an unreadable file left ``new/``
    behind, empty: the run's new key ``new/bad.key`` was still in it when the made folders
    were removed, and removed only after. The key goes first, then the folders."""
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    bad = tmp_path / "x.txt"
    bad.write_text("garbage\n")
    rc = main(["ingest", str(bad), "--out", str(tmp_path / "new" / "bad"), "--quiet"])
    assert rc == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


_CLI_SCRIPT = """
import time
from labforensics import pipeline
from labforensics.cli import main
real = pipeline.score_sources
def slow(*a, **k):
    out = real(*a, **k)
    print("SOURCES", flush=True)
    {wait}
    return out
pipeline.score_sources = slow
raise SystemExit(main(["investigate", {evidence!r}, "--out", {out!r}, "--quiet"]))
"""


def test_sigterm_removes_the_key_the_command_made(tmp_path, tmp_path_factory):
    # QA session 12: a SIGTERM left <out>.key beside the removed folder (Ctrl-C did not):
    # the stage's handler sent the signal again with the default handler back, so the
    # process ended before the command's cleanup removed the key it had made
    out = tmp_path / "made" / "out"
    script = textwrap.dedent(_CLI_SCRIPT).format(evidence=str(FIXTURE / "evidence"),
                                                 out=str(out), wait=WAIT)  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), TMPDIR=str(tmp_path))
    env.pop("LABFORENSICS_CASE_KEY", None)
    err = tmp_path_factory.mktemp("stderr") / "child.err"
    proc = start(script, env=env, cwd=tmp_path, err=err)
    try:
        assert proc.stdout.readline().strip() == b"SOURCES"
        assert (tmp_path / "made" / "out.key").is_file()  # made by the command
    finally:
        rc = stop(proc, signal.SIGTERM, err)
    assert rc == -signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no key, no folder, no temp
