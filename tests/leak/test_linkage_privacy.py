"""Privacy while linking (issue 13, item 8): the private spill folder never outlives a run."""

from __future__ import annotations

import os
import signal
import stat
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from labforensics.errors import LabForensicsError, ParameterError
from labforensics.leak import linkage
from labforensics.leak._duckdb import TEMP_PREFIX, private_connection

sys.path.insert(0, str(Path(__file__).parent))
from gen_people import make_case

from child_run import WAIT, start, stop

SRC = Path(linkage.__file__).resolve().parents[2]


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A fresh system temp folder (outside the working folder) watched by the test."""
    root = tmp_path / "systmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def spill_dirs(root: Path) -> list[Path]:
    return sorted(root.glob(TEMP_PREFIX + "*"))


def test_connection_folder_is_private_and_removed(private_tmp):
    with private_connection(memory_budget_bytes=256 * 2**20, threads=1) as con:
        (folder,) = spill_dirs(private_tmp)
        # mode 0700, under the system temp folder, and DuckDB spills there
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        got = con.execute("select current_setting('temp_directory')").fetchone()[0]
        assert Path(got) == folder
        assert con.execute("select current_setting('enable_progress_bar')").fetchone()[0] is False
    assert spill_dirs(private_tmp) == []


def test_signal_handler_restored(private_tmp):
    before = signal.getsignal(signal.SIGTERM)
    with private_connection(memory_budget_bytes=256 * 2**20, threads=1):
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_temp_inside_working_folder_refused(tmp_path, monkeypatch):
    # a TMPDIR inside the working folder would put spill files next to the outputs
    inside = tmp_path / "work" / "tmp"
    inside.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setattr(tempfile, "tempdir", str(inside))
    with (
        pytest.raises(ParameterError),
        private_connection(memory_budget_bytes=256 * 2**20, threads=1),
    ):
        pass
    assert list(inside.iterdir()) == []


def test_working_in_the_temp_folder_itself_is_allowed(private_tmp, monkeypatch):
    # run from the system temp folder itself (cd /tmp): the spill folder is a new private
    # subfolder, not among the user's files, so linking is not refused (the demo failed)
    monkeypatch.chdir(private_tmp)
    with private_connection(memory_budget_bytes=256 * 2**20, threads=1):
        assert len(spill_dirs(private_tmp)) == 1
    assert spill_dirs(private_tmp) == []


def test_temp_folder_as_output_folder_refused(private_tmp):
    # the output folder itself as the system temp folder: spill files would land in it
    with (
        pytest.raises(ParameterError),
        private_connection(memory_budget_bytes=256 * 2**20, threads=1, avoid_dirs=[private_tmp]),
    ):
        pass


def test_no_folder_after_success(private_tmp, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    idx, dmp, _ = make_case(800, 200, 2, seed=2)
    res = linkage.link_dump(idx, dmp, seed=1, params=linkage.LinkageParams(threshold=0.9))
    assert len(res.links) == len(dmp)
    assert spill_dirs(private_tmp) == []
    # nothing written where the run was started (no chart, table or model JSON)
    assert list(work.iterdir()) == []


def test_no_folder_after_exception_and_no_data_in_message(private_tmp, monkeypatch):
    idx, dmp, _ = make_case(800, 200, 2, seed=2)
    secret = str(dmp["surname"].dropna().iloc[0])

    def boom(linker, params):
        raise RuntimeError(f"value {secret} leaked")  # as an engine error might

    monkeypatch.setattr(linkage, "_stabilise_model", boom)
    with pytest.raises(LabForensicsError) as err:
        linkage.link_dump(idx, dmp, seed=1, params=linkage.LinkageParams(threshold=0.9))
    assert secret not in str(err.value) and "training" in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert spill_dirs(private_tmp) == []


def test_no_folder_after_sigterm(tmp_path):
    root = tmp_path / "systmp"
    root.mkdir()
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from gen_people import make_case
        from labforensics.leak import linkage
        idx, dmp, _ = make_case(3000, 1000, 3, seed=2)
        real = linkage._stabilise_model
        def slow(linker, params):
            real(linker, params)
            print("LINKING", flush=True)
            {WAIT}
        linkage._stabilise_model = slow
        linkage.link_dump(idx, dmp, seed=1)
        """
    )
    env = dict(os.environ, TMPDIR=str(root), PYTHONPATH=str(SRC))
    work = tmp_path / "work"  # the working folder must not hold the temp folder
    work.mkdir()
    err = tmp_path / "child.err"  # beside the watched folder, not in it
    proc = start(script, env=env, cwd=work, err=err)
    try:
        assert proc.stdout.readline().strip() == b"LINKING"
        assert len(spill_dirs(root)) == 1  # the folder exists while the run lasts
    finally:
        rc = stop(proc, signal.SIGTERM, err)
    # ended as SIGTERM ends a process, and removed its folder first
    assert rc == -signal.SIGTERM
    assert spill_dirs(root) == []


def test_keyboard_interrupt_cleans_up(private_tmp, monkeypatch):
    idx, dmp, _ = make_case(800, 200, 2, seed=2)

    def interrupt(linker, params):
        raise KeyboardInterrupt

    monkeypatch.setattr(linkage, "_stabilise_model", interrupt)
    t = time.process_time()
    with pytest.raises(KeyboardInterrupt):
        linkage.link_dump(idx, dmp, seed=1, params=linkage.LinkageParams(threshold=0.9))
    assert time.process_time() - t < 120
    assert spill_dirs(private_tmp) == []


def test_temp_inside_out_refused_up_front(tmp_path, monkeypatch):
    # QA session 12: a TMPDIR inside the output folder was refused only when the linkage
    # stage opened its connection, after minutes of work; now by the preflight checks,
    # with the same message, before any stage runs (nothing read, no key made)
    from labforensics import investigate, pipeline
    from labforensics.leak._duckdb import TEMP_INSIDE

    root = Path(__file__).resolve().parents[2] / "fixtures" / "daylight-saving"
    dump, pat = tmp_path / "dump.csv", tmp_path / "patients"
    dump.write_text("NOM;PRENOM;NIR\nDURAND;Paul;185057800608436\n")
    pat.mkdir()
    (pat / "PATIENTS_L01.csv").write_text(
        "IPP;NOM;PRENOM;DATE_NAISSANCE;SEXE;NIR;DATE_CREATION;DERNIERE_VISITE\n"
    )
    out = tmp_path / "out"
    inside = out / "tmp"
    inside.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(inside))
    monkeypatch.setenv("LABFORENSICS_CASE_KEY", "11" * 32)

    def no_stage(*a, **k):
        raise AssertionError("a stage ran")

    monkeypatch.setattr(pipeline, "_run_stages", no_stage)
    with pytest.raises(ParameterError) as ei:
        investigate(root / "evidence", out, case=root / "case.toml", leak=dump, patients=pat,
                    progress=False)  # fmt: skip
    assert (
        str(ei.value)
        == TEMP_INSIDE
        == (
            "the system temporary folder is inside the working or output folder; "
            "set TMPDIR to a folder outside them before linking"
        )
    )
    assert sorted(p.name for p in out.iterdir()) == ["tmp"]  # nothing written beside it
