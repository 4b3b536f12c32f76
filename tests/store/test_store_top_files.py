"""The store's top files ``ingest_report.json`` and ``quarantine.csv`` are hashed in its
manifest (``checksums``, format ``labforensics-store/3``) and verified with its other
files (session 15's leftover: custody could not verify them). A ``/2`` store, which
recorded no such hashes, is still read; an ingest adding to it writes a ``/3``."""

from __future__ import annotations

import hashlib
import json

import pytest
from store_evidence import investigate_refuses, l01_store

from labforensics.store import StoreError, ingest_to_store, load_store

REINGEST = (
    "re-ingest the evidence into a new store (labforensics ingest EVIDENCE... --store NEWDIR)"
)


@pytest.fixture
def store(tmp_path, test_key):
    """L01's store (3 events, nothing quarantined); L02's evidence beside it."""
    return l01_store(tmp_path, test_key)


def _manifest(s):
    return json.loads((s / "manifest.json").read_text(encoding="utf-8"))


def _hashed(path):
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_manifest_hashes_the_top_files(store):
    man = _manifest(store)
    assert man["format"] == "labforensics-store/3"
    assert man["checksums"] == {
        "ingest_report.json": _hashed(store / "ingest_report.json"),
        "quarantine.csv": _hashed(store / "quarantine.csv"),
    }
    # nothing quarantined: the CSV is its header alone, 34 characters and a newline
    header = b"source_file,source_line,reason,raw\n"
    assert man["checksums"]["quarantine.csv"] == {
        "sha256": hashlib.sha256(header).hexdigest(),
        "size": 35,
    }
    assert json.loads((store / "ingest_report.json").read_text())["files"][0]["events_out"] == 3
    assert len(load_store(store).events) == 3


def test_an_altered_report_is_refused(store, tmp_path, test_key, capsys):
    rep = store / "ingest_report.json"
    recorded = _manifest(store)["checksums"]["ingest_report.json"]["sha256"]
    rep.write_text(rep.read_text().replace('"events_out": 3', '"events_out": 4'))
    now = hashlib.sha256(rep.read_bytes()).hexdigest()
    msg = (
        f"ingest_report.json in the store {store} is not the file ingested (SHA-256 "
        f"{recorded[:12]}... recorded, {now[:12]}... now): the store was altered after "
        f"ingest; {REINGEST}"
    )
    with pytest.raises(StoreError) as err:
        load_store(store)
    assert str(err.value) == msg
    investigate_refuses(store, tmp_path, test_key, capsys, msg)
    with pytest.raises(StoreError, match="ingest_report.json in the store .* is not the file"):
        ingest_to_store([tmp_path / "evidence" / "L02"], store, case_key=test_key)


def test_a_missing_quarantine_is_refused(store):
    (store / "quarantine.csv").unlink()
    with pytest.raises(StoreError, match=f"the store {store} is missing quarantine.csv, which"):
        load_store(store)


def test_a_format_3_manifest_without_them_is_refused(store):
    man = _manifest(store)
    del man["checksums"]["quarantine.csv"]
    (store / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    with pytest.raises(StoreError) as err:
        load_store(store)
    assert str(err.value) == (
        f"the store {store} records no SHA-256 of its ingest_report.json and quarantine.csv, "
        f"so they cannot be verified: {REINGEST}"
    )


def test_a_format_2_store_is_read_and_upgraded_by_an_ingest(store, tmp_path, test_key):
    """The manifest the previous format wrote: no top ``checksums``. Read (its groups'
    files verified, the top files cannot be), and an ingest adding L02 writes ``/3``."""
    man = _manifest(store)
    man["format"] = "labforensics-store/2"
    del man["checksums"]
    (store / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    assert len(load_store(store).events) == 3
    res = ingest_to_store([tmp_path / "evidence" / "L02"], store, case_key=test_key)
    assert res.report.events_out == 6  # 3 + 3
    man = _manifest(store)
    assert man["format"] == "labforensics-store/3"
    assert man["checksums"] == {
        "ingest_report.json": _hashed(store / "ingest_report.json"),
        "quarantine.csv": _hashed(store / "quarantine.csv"),
    }
    assert len(load_store(store).events) == 6
