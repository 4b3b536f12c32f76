"""A Dask run on its own cluster leaves nothing in the system's temporary folder
(session 15's leftover: ``$TMPDIR/dask-scratch-space/global.lock`` and ``purge.lock``,
the scratch space of the cluster's scheduler). The cluster's ``temporary-directory`` is
the engine's private spill folder, set for the cluster's start only: the process's Dask
config is as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")

TESTS = Path(__file__).resolve().parents[1]

RUN = """
import json, os, sys
from pathlib import Path

import dask

from store_evidence import lab_file
from labforensics.pipeline import investigate
from labforensics.privacy import CaseKey
from labforensics.store import ingest_to_store

if __name__ == "__main__":
    root = Path(sys.argv[1])
    ev = root / "evidence"
    lab_file(ev, "L01"), lab_file(ev, "L02")
    ingest_to_store([ev], root / "S", case_key=CaseKey(bytes(range(32))), root=ev)
    res = investigate(None, root / "out", store=root / "S", engine="dask", progress=False)
    man = json.loads((root / "out" / "manifest.json").read_text(encoding="utf-8"))
    print(man["engine"]["engine"], len(res.evidence.events), flush=True)
    print(dask.config.get("temporary-directory", None), flush=True)
"""


@pytest.mark.slow
def test_a_dask_run_leaves_the_temporary_folder_empty(tmp_path):
    import labforensics

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    script = tmp_path / "run.py"
    script.write_text(RUN, encoding="utf-8")
    src = Path(labforensics.__file__).parents[1]
    env = {
        **os.environ,
        "TMPDIR": str(tmp),  # the run's, its workers' and its scheduler's
        "PYTHONPATH": os.pathsep.join([str(src), str(TESTS / "store"), str(TESTS)]),
        "LABFORENSICS_CASE_KEY": bytes(range(32)).hex(),
        "LABFORENSICS_CHROMIUM": str(tmp_path / "no-chromium"),
    }
    p = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env,
                       capture_output=True, text=True, timeout=600)  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    # a Dask run of both labs' 3 events each; the config as it was after the run
    assert p.stdout.splitlines() == ["dask 6", "None"]
    assert sorted(os.listdir(tmp)) == []  # was dask-scratch-space/{global,purge}.lock
