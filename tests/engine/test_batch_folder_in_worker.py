"""A lab's batch folder made in a Dask task lies in the worker's local directory, which
the run's own cluster keeps in the engine's private spill folder (session 15: a
benchmark stopped with SIGTERM left two ``labforensics-batches-*`` folders of
pseudonymised events in /tmp, its workers killed before any ``finally``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labforensics.engine.batch_files import BatchFiles, worker_folder

distributed = pytest.importorskip("distributed")


def _made_in_task() -> tuple[str, str]:
    files = BatchFiles()
    try:
        return str(files.path), str(worker_folder())
    finally:
        files.close()


def test_outside_a_worker_the_system_temporary_folder(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert worker_folder() is None
    files = BatchFiles()
    try:
        assert files.path.parent == tmp_path
    finally:
        files.close()


def test_in_a_dask_task_the_worker_local_directory(tmp_path):
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                 dashboard_address=":0",
                                 local_directory=str(tmp_path / "spill")) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        path, local = client.submit(_made_in_task, pure=False).result()
    assert Path(path).parent == Path(local)
    assert Path(local).is_relative_to(tmp_path / "spill")  # the engine's private folder
