"""A store holding a file its manifest does not list was altered after ingest: refused
(session 15's leftover: an extra Parquet part in ``events/`` was silently ignored by
``investigate --store``). The files of a version an ingest killed part-way was writing
(named in its journal, ``.versions-in-progress``) are that ingest's: ignored, and
removed by the next ingest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from store_evidence import investigate_refuses, l01_store, snapshot

from labforensics.cli import main
from labforensics.errors import LabForensicsError
from labforensics.pipeline import investigate
from labforensics.store import StoreError, ingest_to_store, load_store
from labforensics.store._layout import IN_PROGRESS

REINGEST = (
    "re-ingest the evidence into a new store (labforensics ingest EVIDENCE... --store NEWDIR)"
)
PART_DIR = "events/lab=L01/month=2019-03"  # lab_file's three events: 1 March 2019, L01


@pytest.fixture
def store(tmp_path, test_key):
    """L01's store (3 events) and L02's evidence beside it, not yet ingested."""
    return l01_store(tmp_path, test_key)


def _one_part(store):
    parts = sorted((store / PART_DIR).glob("part-*.parquet"))
    assert len(parts) == 1
    return parts[0]


def test_an_extra_parquet_part_is_refused(store, tmp_path, test_key, monkeypatch, capsys):
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    assert len(load_store(store).events) == 3
    shutil.copy(_one_part(store), store / PART_DIR / "extra.parquet")  # a valid part, unlisted
    before = snapshot(store)
    msg = (
        f"{PART_DIR}/extra.parquet in the store {store} is not listed in its manifest: the "
        f"store was altered after ingest; {REINGEST}"
    )
    with pytest.raises(StoreError) as err:
        load_store(store)
    assert str(err.value) == msg and isinstance(err.value, LabForensicsError)
    # investigate --store: one line, exit 2, no output, no key left
    key = investigate_refuses(store, tmp_path, test_key, capsys, msg)
    out = tmp_path / "out"
    # the Python API: the same StoreError
    monkeypatch.setenv("LABFORENSICS_CASE_KEY", test_key.secret.hex())
    with pytest.raises(StoreError, match="is not listed in its manifest"):
        investigate(None, out, store=store, progress=False)
    # an ingest adding to it: refused the same way, the store left as it was
    argv = ["ingest", str(tmp_path / "evidence" / "L02"), "--store", str(store),
            "--case-key", str(key), "--quiet"]  # fmt: skip
    assert main(argv) == 2
    assert capsys.readouterr().err == f"labforensics: error: {msg}\n"
    assert snapshot(store) == before
    # removed, the store reads again as ingested
    (store / PART_DIR / "extra.parquet").unlink()
    assert len(load_store(store).events) == 3


def test_files_elsewhere_in_the_store_folders(store):
    """Any file under ``events/`` or ``groups/``, first in path order named, the rest
    counted: here a group file's copy and a text file in a partition folder."""
    gdir = next((store / "groups").iterdir())
    shutil.copy(gdir / "report.json", gdir / "report-old.json")
    (store / PART_DIR / "notes.txt").write_text("x")
    with pytest.raises(StoreError) as err:
        load_store(store)
    assert str(err.value).startswith(
        f"{PART_DIR}/notes.txt in the store {store} is not listed in its manifest (and 1 more): "
    )
    (store / PART_DIR / "notes.txt").unlink()
    with pytest.raises(StoreError, match=f"^groups/{gdir.name}/report-old.json in the store"):
        load_store(store)


KILLED = """
import os, sys
from pathlib import Path
import labforensics.store._ingest as m
from labforensics.privacy import CaseKey
m.assemble_report = lambda *a, **k: os._exit(9)  # killed after its group's files
m.ingest_to_store([Path(sys.argv[1])], Path(sys.argv[2]), case_key=CaseKey(bytes(range(32))))
"""


def test_an_ingest_killed_part_way_leaves_files_read_past(store, tmp_path, test_key):
    """An ingest killed (no ``finally``) after writing L02's group version: its files are
    unlisted but named in the journal; the store reads as before (3 events) and the next
    ingest of L02 completes it (6 events) and removes the journal."""
    import labforensics

    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(labforensics.__file__))}
    ev = tmp_path / "evidence"
    p = subprocess.run([sys.executable, "-c", KILLED, str(ev / "L02"), str(store)], env=env,
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert p.returncode == 9, p.stderr
    left = sorted((store / "events").glob("lab=L02/month=2019-03/part-*.parquet"))
    assert len(left) == 1 and (store / IN_PROGRESS).is_file()  # unlisted, in the journal
    assert left[0].stem[len("part-") :] in (store / IN_PROGRESS).read_text()
    assert len(load_store(store).events) == 3
    # the journal excuses that version's files only
    shutil.copy(left[0], store / PART_DIR / left[0].name.replace("part-", "copy-"))
    with pytest.raises(StoreError, match="copy-.*is not listed in its manifest"):
        load_store(store)
    (store / PART_DIR / left[0].name.replace("part-", "copy-")).unlink()
    res = ingest_to_store([ev / "L02"], store, case_key=test_key)
    assert res.added == ["L02/AUDIT_L02_20190301.csv"] and res.report.events_out == 6
    assert not (store / IN_PROGRESS).exists()
    assert {p.name for p in store.iterdir()} == {
        "manifest.json", "ingest_report.json", "quarantine.csv", "events", "groups"
    }  # fmt: skip
    assert len(load_store(store).events) == 6
