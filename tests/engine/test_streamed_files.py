"""Evidence files streamed through a temporary store under a memory budget (issue 17).

With ``memory_budget`` the files are ingested group by group into a store in the run's
private folder and each lab is read back from it; every output must be the one of the
whole read (byte for byte, the budget stated aside), with hostile inputs: the damaged-
files fixture (rotation overlaps, repeated headers, cut lines, bad dates, hostile
text), a byte copy of a LIS file under another name, real FHIR AuditEvents and an
OpenSSH log, and a file no reader takes.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import pytest

import labforensics as lf
from conftest import ROOT, shared_path
from labforensics import pipeline
from labforensics.case import CaseContext
from labforensics.engine import streamed_files
from labforensics.engine.streamed_files import STORE_FOLDER, streams
from labforensics.privacy import CaseKey
from labforensics.report.pdf import PdfResult

BUDGET = 10**12  # far above the case: no account batches, no spill; only the streaming
NOT_COMPARED = {"manifest.json", "report.pdf"}  # wall-clock times; not printed here


def _statement(data: bytes) -> bytes:
    """An output of the budgeted run as the run without a budget states it."""
    for with_, without in ((b'"memory_budget": %d,' % BUDGET, b'"memory_budget": null,'),
                           (b'\\"memory_budget\\": %d,' % BUDGET, b'\\"memory_budget\\": null,'),
                           (b"&quot;memory_budget&quot;: %d," % BUDGET,
                            b"&quot;memory_budget&quot;: null,"),
                           (b" --memory-budget %d" % BUDGET, b"")):  # fmt: skip
        data = data.replace(with_, without)
    return data


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("streamed")
    fixture = ROOT / "fixtures" / "damaged-files"
    case_dir = base / "case"
    shutil.copytree(fixture, case_dir, ignore=shutil.ignore_patterns("expected", "truth.json"))
    ev = case_dir / "evidence"
    (ev / "copies").mkdir()
    shutil.copyfile(ev / "L01" / "AUDIT_L01_20190905.csv", ev / "copies" / "AUDIT_L01_20190905.csv")
    for name in ("audit-event-example-login.json", "audit-event-example-search.json"):
        shutil.copyfile(shared_path("data", "real", "fhir-auditevent", "r4", name), ev / name)
    shutil.copyfile(shared_path("data", "real", "auth-syslog", "loghub", "OpenSSH_2k.log"),
                    ev / "OpenSSH_2k.log")  # fmt: skip
    (ev / "notes.bin").write_bytes(bytes(range(256)) * 4)  # no reader takes it
    with open(case_dir / "case.toml", "a", encoding="utf-8") as fh:
        fh.write("\n[ingest]\nyear = 2019\n")  # the OpenSSH log's lines carry none
    key_file = base / "case.key"
    CaseKey(bytes(range(32))).write(key_file)
    case = dataclasses.replace(CaseContext.from_file(case_dir / "case.toml"), key_file=key_file)

    seen: dict = {"stores": []}
    real = streamed_files.ingest_to_store

    def spy(files, store, **kw):
        seen["stores"].append(Path(store))
        return real(files, store, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(streamed_files, "ingest_to_store", spy)
    mp.setattr(pipeline, "_utcnow", lambda: "2024-01-01T00:00:00Z")
    mp.setattr(pipeline, "_write_pdf", lambda out: PdfResult(None, "not printed in tests"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            whole = lf.investigate(None, base / "whole", case=case, progress=False)
            assert seen["stores"] == []  # no budget: the files are read at once
            streamed = lf.investigate(None, base / "streamed", case=case, progress=False,
                                      memory_budget=BUDGET)  # fmt: skip
    finally:
        mp.undo()
    return whole, streamed, seen


def test_files_are_streamed_through_a_private_store_removed_at_the_end(runs):
    _, _, seen = runs
    (store,) = seen["stores"]
    assert store.name == STORE_FOLDER and store.parent.name.startswith("labforensics-events-")
    assert not store.parent.exists()  # the run's private folder, store included, is gone


def test_same_outputs_as_the_whole_read(runs):
    whole, streamed, _ = runs
    names = sorted(p.name for p in whole.out.iterdir())
    assert names == sorted(p.name for p in streamed.out.iterdir())
    assert {"events.parquet", "sessions.parquet", "quarantine.csv", "findings.json"} <= set(names)
    for name in sorted(set(names) - NOT_COMPARED):
        a, b = (whole.out / name).read_bytes(), (streamed.out / name).read_bytes()
        if name in ("findings.json", "report.html"):
            assert b" --memory-budget %d" % BUDGET in b  # the budget is stated
            b = _statement(b)
        assert a == b, name


def test_every_row_accounted_and_no_store_among_the_inputs(runs):
    whole, streamed, _ = runs
    f = json.loads((streamed.out / "findings.json").read_text(encoding="utf-8"))
    acc = f["accounting"]["totals"]
    assert acc == whole.findings["accounting"]["totals"]
    assert acc["events"] > 0 and acc["quarantined"] > 0  # the damaged lines are counted
    roles = {i["role"] for i in f["inputs"]}
    assert "evidence_store" not in roles  # the temporary store is no input of the run
    files = {i["source_file"] for i in f["inputs"] if i["role"] == "evidence"}
    assert {"copies/AUDIT_L01_20190905.csv", "OpenSSH_2k.log",
            "audit-event-example-login.json"} <= files  # fmt: skip
    man = json.loads((streamed.out / "manifest.json").read_text(encoding="utf-8"))
    assert [i for i in man["inputs"] if i.get("format") == "labforensics_store"] == []


@pytest.mark.parametrize(
    ("budget", "engine", "scheduler", "expected"),
    [
        (None, "local", None, False),  # no budget: the whole read
        (1, "local", None, True),
        (1, "dask", None, True),  # the run's own LocalCluster reads this machine's files
        (1, "dask", "tcp://h:8786", False),  # a remote cluster's workers could not
        (1, object(), None, False),  # an engine object: its workers may be anywhere
    ],
)
def test_which_runs_stream(budget, engine, scheduler, expected):
    assert streams(budget, engine, scheduler) is expected
