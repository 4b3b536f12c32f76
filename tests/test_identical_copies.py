"""Byte-identical evidence files are said to be copies (QA session 10): their rows were
counted as rotation duplicates and nothing said the two files were one (same SHA-256).
``ingest_report.json`` names each copy with its original, the ingest summary and the
report's evidence section say it in one sentence."""

from __future__ import annotations

import hashlib
import json

from labforensics import investigate, read_evidence
from labforensics.cli import main
from lis_headers import LEGACY_HEADER as HEADER

KEY = bytes(range(32))


def _evidence(tmp_path):
    rows = [f"0{d}/03/2020;09:00:00;L01;S1;alice;TECH;PC;10.1.0.9;DOSSIER;CONSULT;OK;"
            f"4000012{d};;1;x" for d in range(1, 6)]  # fmt: skip
    data = ("\r\n".join([HEADER, *rows]) + "\r\n").encode()
    ev = tmp_path / "ev"
    (ev / "copy").mkdir(parents=True)
    (ev / "AUDIT_L01_20200301.csv").write_bytes(data)
    (ev / "copy" / "AUDIT_L01_20200301.csv").write_bytes(data)  # the same bytes
    (ev / "AUDIT_L01_20200302.csv").write_bytes(data.replace(b"alice", b"bob"))  # differs
    return ev, hashlib.sha256(data).hexdigest()


SENTENCE = ("1 file(s) are byte-identical copies of another file (same SHA-256): "
            "copy/AUDIT_L01_20200301.csv (a copy of AUDIT_L01_20200301.csv: 5 of its 5 rows "
            "counted as rotation duplicates)")  # fmt: skip


def test_copies_named_in_the_accounting(tmp_path):
    ev, sha = _evidence(tmp_path)
    r = read_evidence(ev, case_key=KEY, progress=False).report
    # 15 rows read: 10 events (alice's 5, bob's 5) + the copy's 5 rotation duplicates
    assert (r.rows_read, r.events, r.rotation_duplicates) == (15, 10, 5)
    assert r.identical_copies == [{"source_file": "copy/AUDIT_L01_20200301.csv",
                                   "copy_of": "AUDIT_L01_20200301.csv", "sha256": sha,
                                   "rows_read": 5, "rotation_duplicates": 5}]  # fmt: skip
    assert SENTENCE in r.summary().splitlines()
    assert r.to_dict()["identical_copies"] == r.identical_copies


def test_no_copies_no_sentence(tmp_path):
    ev, _ = _evidence(tmp_path)
    (ev / "copy" / "AUDIT_L01_20200301.csv").unlink()
    r = read_evidence(ev, case_key=KEY, progress=False).report
    assert r.identical_copies == [] and "byte-identical" not in r.summary()


def test_ingest_report_json_and_the_report_say_it(tmp_path, monkeypatch):
    ev, sha = _evidence(tmp_path)
    out = tmp_path / "ingested"
    assert main(["ingest", str(ev), "--out", str(out), "--quiet"]) == 0
    rep = json.loads((out / "ingest_report.json").read_text(encoding="utf-8"))
    assert [(c["source_file"], c["copy_of"], c["sha256"]) for c in rep["identical_copies"]] == [
        ("copy/AUDIT_L01_20200301.csv", "AUDIT_L01_20200301.csv", sha)
    ]
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    inv = tmp_path / "out"
    investigate(ev, inv, progress=False)
    html = (inv / "report.html").read_text(encoding="utf-8")
    assert f'<p id="copies"><b>Byte-identical files:</b> {SENTENCE}.</p>' in html
    f = json.loads((inv / "findings.json").read_text(encoding="utf-8"))
    assert f["accounting"]["identical_copies"][0]["copy_of"] == "AUDIT_L01_20200301.csv"


def test_a_copy_anywhere_in_the_order_is_read_once(tmp_path):
    # QA session 12: a copy named so that another file of its lab comes between it and
    # its original (evidence order by file date, then name) kept every row: each event
    # twice, one sitting two concurrent sessions. Now its 5 rows are duplicates.
    ev, sha = _evidence(tmp_path)
    (ev / "copy" / "AUDIT_L01_20200301.csv").unlink()
    data = (ev / "AUDIT_L01_20200301.csv").read_bytes()
    (ev / "zz_backup_of_audit_l01.csv").write_bytes(data)
    e = read_evidence(ev, case_key=KEY, progress=False)
    r = e.report
    assert (r.rows_read, r.events, r.rotation_duplicates) == (15, 10, 5)
    assert [(c["source_file"], c["copy_of"], c["rotation_duplicates"]) for c in
            r.identical_copies] == [("zz_backup_of_audit_l01.csv", "AUDIT_L01_20200301.csv", 5)]  # fmt: skip
    assert sorted(e.events["source_file"].astype(str).unique()) == [
        "AUDIT_L01_20200301.csv",
        "AUDIT_L01_20200302.csv",
    ]
    assert e.events.groupby("account").size().to_dict() == {"alice": 5, "bob": 5}
