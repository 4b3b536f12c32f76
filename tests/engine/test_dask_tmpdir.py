"""A Dask run on its own cluster leaves nothing in the system's temporary folder
(session 15's leftover: ``$TMPDIR/dask-scratch-space/global.lock`` and ``purge.lock``,
the scratch space of the cluster's scheduler). The cluster's ``temporary-directory`` is
the engine's private spill folder, set for the cluster's start only: the process's Dask
config is as it was."""

from __future__ import annotations

import os

import pytest
from dask_run import run_dask_script

pytest.importorskip("distributed")


@pytest.mark.slow
def test_a_dask_run_leaves_the_temporary_folder_empty(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    main = """
        ingest_to_store([ev], root / "S", case_key=CaseKey(bytes(range(32))), root=ev)
        res = investigate(None, root / "out", store=root / "S", engine="dask", progress=False)
        man = json.loads((root / "out" / "manifest.json").read_text(encoding="utf-8"))
        print(man["engine"]["engine"], len(res.evidence.events), flush=True)
        print(dask.config.get("temporary-directory", None), flush=True)
    """
    # TMPDIR: the run's, its workers' and its scheduler's
    p = run_dask_script(tmp_path, main, env={"TMPDIR": str(tmp)})
    assert p.returncode == 0, p.stderr[-3000:]
    # a Dask run of both labs' 3 events each; the config as it was after the run
    assert p.stdout.splitlines() == ["dask 6", "None"]
    assert sorted(os.listdir(tmp)) == []  # was dask-scratch-space/{global,purge}.lock
