"""A store with no event investigates as its files do, and a store is never built from
evidence no reader recognises (QA session 15, item 2)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from store_evidence import lab_file, snapshot

from labforensics.case import load_case
from labforensics.cli import main
from labforensics.pipeline import investigate
from labforensics.store import StoreError, ingest_to_store
from lis_headers import CURRENT_HEADER


@pytest.fixture
def quarantined_only(tmp_path):
    """One current-dialect file whose one row is dated 13 February 2019 in a file of
    13 January 2019 (``02/13/2019``, not an ISO 8601 time): quarantined, no event."""
    ev = tmp_path / "evidence"
    ev.mkdir()
    row = "02/13/2019;L04;S1;u1;TECH;PC;10.0.0.1;DOSSIER;CONSULT;OK;;;1;;;"
    (ev / "AUDIT_L04_20190113.csv").write_text(f"{CURRENT_HEADER}\n{row}\n", encoding="utf-8")
    return ev


def test_store_without_events_investigates_as_its_files(
    tmp_path, test_key, quarantined_only, monkeypatch
):
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))  # no PDF
    key = tmp_path / "case.key"
    test_key.write(key)
    case = dataclasses.replace(load_case(None), key_file=key)
    store = tmp_path / "store"
    res = ingest_to_store([quarantined_only], store, case=case)
    assert (res.report.rows_read, res.report.events_out, res.report.quarantined) == (1, 0, 1)
    a = investigate([quarantined_only], tmp_path / "out_files", case=case, progress=False)
    b = investigate(None, tmp_path / "out_store", store=store, case=case, progress=False)
    fa = json.loads((a.out / "findings.json").read_text(encoding="utf-8"))
    fb = json.loads((b.out / "findings.json").read_text(encoding="utf-8"))
    assert fa["counts"]["events"] == fb["counts"]["events"] == 0
    assert fa["counts"]["sessions"] == fb["counts"]["sessions"] == 0
    assert fa["counts"]["quarantined"] == fb["counts"]["quarantined"] == 1
    # as tests/store/test_store_investigate.py: only the command and the store's own
    # manifest (an input of the store run) differ
    fa.pop("reproduce"), fb.pop("reproduce")
    (st,) = [i for i in fb["inputs"] if i["role"] == "evidence_store"]
    assert fb["inputs"] == [*fa["inputs"], st]
    assert fb["counts"]["input_bytes"] == fa["counts"]["input_bytes"] + st["size"]
    for f in (fa, fb):
        f.pop("inputs"), f["counts"].pop("input_bytes")
    assert fa == fb
    for name in ("events.parquet", "quarantine.csv"):
        assert (a.out / name).read_bytes() == (b.out / name).read_bytes(), name


def test_no_readable_evidence_file_refused_nothing_written(tmp_path, test_key, capsys):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "readme.txt").write_text("a note\n", encoding="utf-8")
    store = tmp_path / "new" / "S"
    with pytest.raises(StoreError) as err:
        ingest_to_store([notes], store, case_key=test_key)
    assert str(err.value) == (
        f"no readable evidence file in {notes} "
        "(readme.txt: no reader recognises the header: first bytes 'x x\\x0a' "
        "(each run of letters shown as x, of digits as 9))"
    )
    assert not (tmp_path / "new").exists()  # nor the folders the call made
    # the command: as ingest --out refuses it, exit 2, no store and no key left
    assert main(["ingest", str(notes), "--store", str(store), "--quiet"]) == 2
    out_err = capsys.readouterr().err
    assert out_err == f"labforensics: error: {err.value}\n"
    assert main(["ingest", str(notes), "--out", str(tmp_path / "O"), "--quiet"]) == 2
    assert capsys.readouterr().err == out_err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


def test_no_readable_evidence_file_into_a_store_leaves_it_as_it_was(tmp_path, test_key):
    ev, store = tmp_path / "evidence", tmp_path / "S"
    lab_file(ev, "L01")
    (ev / "notes").mkdir()
    (ev / "notes" / "readme.txt").write_text("a note\n", encoding="utf-8")
    ingest_to_store([ev / "L01"], store, case_key=test_key, root=ev)
    before = snapshot(store)
    with pytest.raises(StoreError, match="^no readable evidence file in "):
        ingest_to_store([ev / "notes"], store, case_key=test_key)
    assert snapshot(store) == before
    # given with a stored file (skipped, but readable evidence), the note is added
    res = ingest_to_store([ev], store, case_key=test_key)
    assert (res.added, res.report.unrecognised) == (["notes/readme.txt"], ["notes/readme.txt"])
