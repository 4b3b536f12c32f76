"""investigate from an evidence store gives the findings of investigate from the files."""

from __future__ import annotations

import dataclasses
import json

import pytest

from labforensics import synth
from labforensics.case import load_case
from labforensics.pipeline import investigate
from labforensics.privacy import CaseKey
from labforensics.store import ingest_to_store


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("store_inv")
    synth.generate(base / "syn", labs=2, start="2020-01-01", end="2020-02-29", seed=3, scale=0.3)
    key_file = base / "case.key"
    CaseKey(bytes(range(32))).write(key_file)
    case = dataclasses.replace(load_case(None), key_file=key_file)
    evidence = base / "syn" / "evidence"
    from_files = investigate([evidence], base / "out_files", case=case, progress=False)
    # the store built in two steps: lab L02 first, then lab L01
    store = base / "store"
    ingest_to_store([evidence / "L02"], store, case=case, root=evidence)
    ingest_to_store([evidence], store, case=case)
    from_store = investigate(None, base / "out_store", store=store, case=case, progress=False)
    return from_files, from_store, store


def test_same_findings_from_the_store(runs):
    a, b, _ = runs
    fa = json.loads((a.out / "findings.json").read_text(encoding="utf-8"))
    fb = json.loads((b.out / "findings.json").read_text(encoding="utf-8"))
    # the one field that legitimately differs: the command that reproduces the run names
    # the store instead of the evidence folder
    assert fb["reproduce"].startswith("labforensics investigate --store store --out OUT")
    assert fa["reproduce"].startswith("labforensics investigate evidence --out OUT")
    fa.pop("reproduce"), fb.pop("reproduce")
    # and the inputs: the store run names the store's manifest, which holds the SHA-256
    # of every file read from the store (each verified), among its inputs
    (st,) = [i for i in fb["inputs"] if i["role"] == "evidence_store"]
    assert (st["source_file"], st["format"]) == ("store/manifest.json", "labforensics_store")
    assert fb["inputs"] == [*fa["inputs"], st]
    assert fb["counts"]["input_bytes"] == fa["counts"]["input_bytes"] + st["size"]
    for f in (fa, fb):
        f.pop("inputs"), f["counts"].pop("input_bytes")
    assert fa == fb
    assert a.findings["verdict"] == b.findings["verdict"]
    # every other output table is byte-identical
    for name in ("events.parquet", "sessions.parquet", "scores.parquet", "quarantine.csv"):
        assert (a.out / name).read_bytes() == (b.out / name).read_bytes(), name


def test_manifest_records_the_store(runs):
    _, b, store = runs
    man = json.loads((b.out / "manifest.json").read_text(encoding="utf-8"))
    rec = [i for i in man["inputs"] if i["format"] == "labforensics_store"]
    import hashlib

    digest = hashlib.sha256((store / "manifest.json").read_bytes()).hexdigest()
    assert [(r["source_file"], r["sha256"]) for r in rec] == [("store/manifest.json", digest)]
    # the store's manifest records every part read, with the SHA-256 of its bytes
    store_man = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
    sums = {k: v for g in store_man["groups"].values() for k, v in g["checksums"].items()}
    parts = sorted(p.relative_to(store).as_posix() for p in store.glob("events/*/*/*.parquet"))
    assert parts and all(p in sums for p in parts)
    assert all(hashlib.sha256((store / p).read_bytes()).hexdigest() == sums[p]["sha256"] for p in parts)  # fmt: skip
    # the report says so: the store manifest's hash, and that its files were verified
    html = (b.out / "report.html").read_text(encoding="utf-8")
    assert f"manifest is store/manifest.json (SHA-256 {digest})" in html
    assert f"({len(sums)} files), each verified against it before the analysis" in html
