"""Evidence store: incremental ingest gives exactly the store of one ingest of everything,
and reads back as read_evidence of every file at once."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from labforensics.ingest import read_evidence
from labforensics.store import StoreError, ingest_to_store, load_store
from lis_headers import LEGACY_HEADER as LEG


def row(date, time, lab="L01", ipp="40000001", detail="", action="CONSULTATION"):
    return f"{date};{time};{lab};S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;{action};OK;{ipp};D1;;{detail}"


def write(folder: Path, name: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(("\r\n".join([LEG, *rows]) + "\r\n").encode("cp1252"))
    return p


A1, C1 = (row("01/03/2019", t) for t in ("10:00:00", "23:59:00"))
D2, E2 = row("02/03/2019", "09:00:00", ipp="40000009"), row("02/03/2019", "23:58:00")
F3 = row("03/03/2019", "08:00:00")


@pytest.fixture
def case(tmp_path):
    """Lab L01: files of 1, 2 (the late one, part B) and 3 March; lab L02: one file
    written newest first. F2's head repeats F1's tail (C1), F3's head repeats F2's tail
    (E2); F1's detail names IPP 40000009, which only F2's rows carry."""
    root = tmp_path / "case"
    b1 = row("01/03/2019", "11:00:00", detail="voir patient 40000009")
    f1 = write(root / "l01", "AUDIT_L01_20190301.csv", [A1, b1, C1])
    f2 = write(root / "l01", "AUDIT_L01_20190302.csv", [C1, D2, E2])
    f3 = write(root / "l01", "AUDIT_L01_20190303.csv", [E2, F3, "garbage;row"])
    g1 = write(
        root / "l02",
        "AUDIT_L02_20190302.csv",
        [row("02/03/2019", t, lab="L02") for t in ("12:00:00", "11:00:00", "10:00:00")],
    )
    notes = root / "l02" / "notes.txt"  # no reader recognises it: listed, never read
    notes.write_text("investigator notes", encoding="utf-8")
    return root, [f1, f3, g1, notes], [f2]


def _parts(store: Path) -> pa.Table:
    """Every event row of the store, hive columns included, sorted by a canonical key."""
    part = ds.partitioning(pa.schema([("lab", pa.string()), ("month", pa.string())]), flavor="hive")
    t = ds.dataset(store / "events", format="parquet", partitioning=part).to_table()
    return t.sort_by([("source_file", "ascending"), ("seq", "ascending")])


def _same_store(a: Path, b: Path) -> None:
    assert _parts(a).equals(_parts(b))  # byte-equal table contents, canonical order
    for name in ("ingest_report.json", "quarantine.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = (json.loads((s / "manifest.json").read_text()) for s in (a, b))
    assert ma["files"] == mb["files"] and ma["options"] == mb["options"]
    ga = sorted(p.relative_to(a) for p in (a / "groups").rglob("*") if p.is_file())
    gb = sorted(p.relative_to(b) for p in (b / "groups").rglob("*") if p.is_file())
    assert ga == gb
    for p in ga:
        assert (a / p).read_bytes() == (b / p).read_bytes(), p


def test_late_file_gives_the_store_of_one_ingest(case, tmp_path, test_key):
    root, part_a, part_b = case
    inc, once = tmp_path / "inc", tmp_path / "once"
    first = ingest_to_store(part_a, inc, case_key=test_key)
    assert sorted(first.groups) == ["file:l02/notes.txt", "lab:L01", "lab:L02"]
    before = load_store(inc)
    f3 = before.events[before.events["source_file"] == "l01/AUDIT_L01_20190303.csv"]
    # without F2, F3 follows F1 (tail C1, head E2): no rotation duplicate, E2 and F3 kept
    assert len(f3) == 2
    second = ingest_to_store(part_b, inc, case_key=test_key)
    assert second.groups == ["lab:L01"]  # only the late file's lab is re-processed
    assert second.added == ["l01/AUDIT_L01_20190302.csv"]
    ingest_to_store([root], once, case_key=test_key)
    _same_store(inc, once)
    _same_bytes(inc, once)  # every file, the parts' bytes and hashes included

    # the late file takes F2's C1 (F1's tail) and F3's E2 (F2's tail) as duplicates
    rep = {f.source_file: f for f in load_store(inc).report.files}
    assert rep["l01/AUDIT_L01_20190302.csv"].rotation_duplicates == 1
    assert rep["l01/AUDIT_L01_20190303.csv"].rotation_duplicates == 1
    # seq does not shift: F3's second record keeps its store seq 1 (position in its file)
    t = _parts(inc).to_pandas()
    f3_rows = t[t["source_file"] == "l01/AUDIT_L01_20190303.csv"]
    assert f3_rows["seq"].tolist() == [1]
    before_t = f3  # from the first store: positions 0 (E2) and 1 (F3), dense seq 3 and 4
    assert before_t["source_line"].tolist() == [2, 3]
    # L02's file is written newest first: its events keep positions 0..2 oldest first
    l02 = t[t["lab"] == "L02"].sort_values("seq")
    assert l02["source_line"].tolist() == [4, 3, 2]

    # the store reads back as every file read at once (dense seq, redaction, accounting)
    whole = read_evidence([root], case_key=test_key)
    got = load_store(once)
    pd.testing.assert_frame_equal(got.events, whole.events)
    pd.testing.assert_frame_equal(got.quarantine, whole.quarantine)
    assert got.report.to_dict() == whole.report.to_dict()
    assert [m.to_dict() for m in got.manifest] == [m.to_dict() for m in whole.manifest]
    # F1's detail names an IPP only the late file carries: redacted once F2 is in the lab
    at = got.events["source_file"].eq("l01/AUDIT_L01_20190301.csv") & got.events["source_line"].eq(
        3
    )
    assert "40000009" not in str(got.events.loc[at, "detail"].iloc[0])
    at_b = before.events["source_file"].eq("l01/AUDIT_L01_20190301.csv") & before.events[
        "source_line"
    ].eq(3)
    # without F2 the IPP is unknown to the lab, yet an identifier-shaped digit run in a
    # detail becomes the same keyed id (session 9's free-text rule): the text is the
    # same before and after the late file
    assert "40000009" not in str(before.events.loc[at_b, "detail"].iloc[0])
    assert str(before.events.loc[at_b, "detail"].iloc[0]) == str(
        got.events.loc[at, "detail"].iloc[0]
    )


def test_already_ingested_inputs_are_skipped(case, tmp_path, test_key):
    root, part_a, _ = case
    store = tmp_path / "s"
    ingest_to_store(part_a, store, case_key=test_key)
    again = ingest_to_store([root / "l02"], store, case_key=test_key)
    # the same bytes (SHA-256) are never ingested twice: reported, nothing re-processed
    assert again.groups == [] and again.added == []
    assert [s["source_file"] for s in again.skipped] == [
        "l02/AUDIT_L02_20190302.csv",
        "l02/notes.txt",
    ]
    log = json.loads((store / "manifest.json").read_text())["ingests"]
    assert log[-1]["already_ingested"][0]["source_file"] == "l02/AUDIT_L02_20190302.csv"
    assert len(log) == 2


def test_refusals(case, tmp_path, test_key):
    root, part_a, part_b = case
    store = tmp_path / "s"
    ingest_to_store(part_a, store, case_key=test_key)
    # another case key would give other pseudonyms: refused
    with pytest.raises(StoreError, match="case key"):
        ingest_to_store(part_b, store, case_key=bytes(32))
    with pytest.raises(StoreError, match="tz="):
        ingest_to_store(part_b, store, case_key=test_key, tz="UTC")
    # a file outside the store's evidence root cannot be named relative to it
    other = write(tmp_path / "elsewhere", "AUDIT_L01_20190304.csv", [F3])
    with pytest.raises(StoreError, match="outside the store's evidence root"):
        ingest_to_store([other], store, case_key=test_key)
    # a stored file changed in place: its group cannot be re-processed
    part_a[0].write_bytes(part_a[0].read_bytes() + b"x\r\n")
    with pytest.raises(StoreError, match="changed since it was ingested|another SHA-256"):
        ingest_to_store(part_b, store, case_key=test_key)


def test_cli_ingest_store(case, tmp_path, test_key, capsys):
    from labforensics.cli import main
    from labforensics.outputs import STORE_NAMES

    root, part_a, part_b = case
    key_file = tmp_path / "k.key"
    test_key.write(key_file)
    store = tmp_path / "cli_store"
    args = ["ingest", "--store", str(store), "--case-key", str(key_file), "--quiet"]
    assert main([*args, *map(str, part_a)]) == 0
    assert main([*args, *map(str, part_b)]) == 0
    assert "1 file(s) added" in capsys.readouterr().out
    # every name the store holds is registered
    assert {p.name for p in store.iterdir()} == STORE_NAMES
    assert len(load_store(store).events) == len(read_evidence([root], case_key=test_key).events)
    # --out and --store together: a usage error (exit 2), nothing written
    assert main([*args, "--out", str(tmp_path / "o"), str(root)]) == 2
    assert not (tmp_path / "o").exists()


def test_an_ingest_cut_short_leaves_the_store_as_it_was(case, tmp_path, test_key, monkeypatch):
    from labforensics.store import _ingest

    root, part_a, part_b = case
    store, once = tmp_path / "s", tmp_path / "once"
    ingest_to_store(part_a, store, case_key=test_key)
    before = load_store(store)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(_ingest, "assemble_report", boom)
    with pytest.raises(OSError, match="disk full"):
        ingest_to_store(part_b, store, case_key=test_key)
    monkeypatch.undo()
    # the new version of lab L01 was written beside the old one: the manifest still
    # names the old one, so the store reads as before
    after = load_store(store)
    pd.testing.assert_frame_equal(after.events, before.events)
    assert after.report.to_dict() == before.report.to_dict()
    # the same ingest again completes it, and the leftovers are swept
    ingest_to_store(part_b, store, case_key=test_key)
    ingest_to_store([root], once, case_key=test_key)
    _same_store(store, once)
    assert sorted(p.name for p in (store / "groups").iterdir()) == sorted(
        p.name for p in (once / "groups").iterdir()
    )


def test_a_lab_split_by_file_names_is_refused(case, tmp_path, test_key):
    root, part_a, _ = case
    store = tmp_path / "s"
    ingest_to_store(part_a, store, case_key=test_key)
    man = (store / "manifest.json").read_bytes()
    # named after L01, every row of it names L02: read with L02's files in a read of
    # everything (rotation), so the store cannot file it under L01
    odd = write(root / "l01", "AUDIT_L01_20190305.csv", [row("05/03/2019", "10:00:00", lab="L02")])
    with pytest.raises(StoreError, match="name the lab 'L02'"):
        ingest_to_store([odd], store, case_key=test_key)
    assert (store / "manifest.json").read_bytes() == man  # the store is as it was


def test_investigate_takes_files_or_a_store(case, tmp_path, test_key):
    from labforensics.cli import build_parser
    from labforensics.errors import ParameterError
    from labforensics.pipeline import investigate

    root, _, _ = case
    with pytest.raises(ParameterError, match="not both"):
        investigate([root], tmp_path / "o", store=tmp_path / "s", progress=False)
    assert not (tmp_path / "o").exists()  # refused before anything is written
    ns = build_parser().parse_args(["investigate", "--store", "st", "--out", "o"])
    assert ns.store == Path("st") and ns.evidence == []
    # a folder that is not a store is named as such
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x.txt").write_text("x", encoding="utf-8")
    with pytest.raises(StoreError, match="not empty and holds no manifest.json"):
        ingest_to_store([root], tmp_path / "plain", case_key=test_key)
    with pytest.raises(StoreError, match="is not an evidence store"):
        load_store(tmp_path / "plain")


def test_store_names_case_variant_accounts_as_one_ingest(tmp_path, test_key):
    # L01: u1 (1 event) and U1 (2 events); L02: U1 alone (1): one group, at L01
    def r(time, lab, acc):
        return row("01/03/2019", time, lab=lab).replace(";u1;", f";{acc};")

    root = tmp_path / "case"
    write(
        root / "l01",
        "AUDIT_L01_20190301.csv",
        [r("10:00:00", "L01", "u1"), r("10:01:00", "L01", "U1"), r("10:02:00", "L01", "U1")],
    )
    write(root / "l02", "AUDIT_L02_20190301.csv", [r("10:00:00", "L02", "U1")])  # fmt: skip
    ingest_to_store([root], tmp_path / "st", case_key=test_key)
    got = load_store(tmp_path / "st").report
    want = [{"lab": "L01", "accounts": ["U1", "u1"], "events": [2, 1]}]
    assert got.case_variant_accounts == want
    assert got.to_dict() == read_evidence([root], case_key=test_key).report.to_dict()


def _same_bytes(a: Path, b: Path) -> None:
    """Every file of the two stores byte-equal, but the manifest's log of ingests."""
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert fa == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for p in fa:
        if p != Path("manifest.json"):
            assert (a / p).read_bytes() == (b / p).read_bytes(), p
    ma, mb = (json.loads((s / "manifest.json").read_text()) for s in (a, b))
    ma.pop("ingests"), mb.pop("ingests")
    assert ma == mb  # the part hashes included


def test_a_late_copy_of_an_ingested_file_is_read_as_in_one_ingest(tmp_path, test_key):
    # QA session 14: F12, a byte copy of F10 given after F10 and F11, was skipped as
    # "already ingested (as F10)": its 3 rows never counted, not named as a copy
    root = tmp_path / "case"
    x, y, z, w = (row("10/03/2019", f"2{i}:00:00") for i in range(4))
    f10 = write(root, "AUDIT_L01_20190310.csv", [x, y, z])
    f11 = write(root, "AUDIT_L01_20190311.csv", [y, z, w])  # head: F10's tail (2 rows)
    f12 = root / "AUDIT_L01_20190312.csv"
    f12.write_bytes(f10.read_bytes())
    inc, once = tmp_path / "inc", tmp_path / "once"
    ingest_to_store([f10, f11], inc, case_key=test_key)
    late = ingest_to_store([f12], inc, case_key=test_key)
    assert late.added == ["AUDIT_L01_20190312.csv"] and late.skipped == []
    assert late.groups == ["lab:L01"]
    ingest_to_store([root], once, case_key=test_key)
    _same_bytes(inc, once)
    rep = load_store(inc).report
    # rows read 3 + 3 + 3 = 9; events 3 (F10) + 1 (F11's w) = 4; duplicates 2 (F11's
    # head) + 3 (the copy's every row) = 5
    assert (rep.rows_read, rep.events, rep.rotation_duplicates) == (9, 4, 5)
    assert [(c["source_file"], c["copy_of"]) for c in rep.identical_copies] == [
        ("AUDIT_L01_20190312.csv", "AUDIT_L01_20190310.csv")
    ]
    names = [f["source_file"] for f in json.loads((inc / "manifest.json").read_text())["files"]]
    assert "AUDIT_L01_20190312.csv" in names
    # the same file given again (same name, same SHA-256): skipped, nothing re-processed
    again = ingest_to_store([f12], inc, case_key=test_key)
    assert again.groups == [] and again.added == []
    assert [s["source_file"] for s in again.skipped] == ["AUDIT_L01_20190312.csv"]
    _same_bytes(inc, once)
