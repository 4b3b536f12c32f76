"""The evidence store is owner-only, as an investigation's output folder (session 17):
``labforensics ingest --store STORE`` made it 0755 with files 0644, while the outputs
of ``investigate`` (tests/test_output_modes.py) are 0700 and 0600. The store folder is
now 0700 (made by the ingest or by the user beforehand, or an older store added to),
its sub-folders 0700 and its files 0600; parent folders made on the way keep the
default mode."""

from __future__ import annotations

import os
import stat

from store_evidence import l01_store, lab_file

from labforensics.cli import main
from labforensics.store import ingest_to_store, load_store


def _mode(p) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def _modes(store) -> dict[str, int]:
    """Relative path -> mode of every folder and file under ``store``."""
    return {p.relative_to(store).as_posix(): _mode(p) for p in sorted(store.rglob("*"))}


def _owner_only(store) -> None:
    modes = _modes(store)
    assert _mode(store) == 0o700
    folders = {n for n in modes if (store / n).is_dir()}
    # the store's layout: its three top files, events/lab=.../month=... and groups/<v>
    assert {"manifest.json", "ingest_report.json", "quarantine.csv"} < modes.keys()
    assert {"events", "events/lab=L01", "events/lab=L01/month=2019-03", "groups"} <= folders
    assert {n: m for n, m in modes.items() if n in folders} == dict.fromkeys(folders, 0o700)
    files = modes.keys() - folders
    assert {n: modes[n] for n in files} == dict.fromkeys(files, 0o600)


def test_a_new_store_is_owner_only(tmp_path, test_key):
    ev = tmp_path / "evidence"
    lab_file(ev, "L01")
    key = tmp_path / "case.key"
    test_key.write(key)
    store = tmp_path / "made" / "S"
    argv = ["ingest", str(ev), "--store", str(store), "--case-key", str(key), "--quiet"]
    assert main(argv) == 0
    _owner_only(store)
    # 3 top files; events, lab=L01, month=2019-03 and its part; groups, <v> and its 3
    assert len(_modes(store)) == 12
    # a parent made on the way keeps the default mode (0777 less the umask)
    umask = os.umask(0)
    os.umask(umask)
    assert _mode(tmp_path / "made") == 0o777 & ~umask
    assert len(load_store(store).events) == 3


def test_a_store_folder_made_beforehand_is_left_owner_only(tmp_path, test_key):
    ev, store = tmp_path / "evidence", tmp_path / "S"
    lab_file(ev, "L01")
    store.mkdir()
    store.chmod(0o755)
    ingest_to_store([ev], store, case_key=test_key)
    _owner_only(store)


def test_an_older_store_added_to_is_made_owner_only(tmp_path, test_key):
    """A store an earlier version wrote (0755 folders, 0644 files): an ingest adding L02
    leaves the whole store owner-only, L01's files included."""
    store = l01_store(tmp_path, test_key)
    for p in [store, *store.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    ingest_to_store([tmp_path / "evidence" / "L02"], store, case_key=test_key)
    _owner_only(store)
    assert "events/lab=L02/month=2019-03" in _modes(store)
    assert len(load_store(store).events) == 6
