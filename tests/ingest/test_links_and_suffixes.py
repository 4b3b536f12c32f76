"""Links not read are listed; a name and bytes that disagree on compression are noted.

A symbolic link whose target is read under another name, or that leads to a folder
(not entered), is listed in ``IngestReport.skipped`` with its reason; a file read
through a link has its target in ``FileReport.note``, as has a file whose name says
gzip (or bzip2, xz, zip, zstd) and whose bytes do not, or the reverse.
"""

from __future__ import annotations

import bz2
import gzip

import pytest
from test_read_evidence import LEG, row, write

from labforensics.ingest import read_evidence
from labforensics.ingest.files import compression_note, unrecognised_reason


def test_link_to_a_file_already_read_is_listed(tmp_path, test_key):
    ev_dir = tmp_path / "ev"
    write(ev_dir, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    (ev_dir / "copy.csv").symlink_to("AUDIT_L01_20190301.csv")
    ev = read_evidence(ev_dir, case_key=test_key)
    why = "symbolic link to AUDIT_L01_20190301.csv, an input already read: not read twice"
    assert ev.report.skipped == [{"source_file": "copy.csv", "reason": why}]
    assert ev.report.to_dict()["skipped"] == ev.report.skipped
    assert [m.source_file for m in ev.manifest] == ["AUDIT_L01_20190301.csv"]
    assert ev.report.unrecognised == [] and len(ev.events) == 1
    lines = ev.report.summary().splitlines()
    assert lines[0] == "files read: 1, not recognised: 0, links not read: 1"
    assert f"not read: copy.csv: {why}" in lines
    assert ev.report.files[0].note == ""  # read under its own name


def test_links_out_of_the_folder_and_to_folders(tmp_path, test_key):
    store, ev_dir, other = tmp_path / "store", tmp_path / "ev", tmp_path / "other"
    write(store, "x", [row("02/03/2019", "10:00:00")])
    write(other, "AUDIT_L01_20190309.csv", [row("09/03/2019", "10:00:00")])
    write(ev_dir, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    (ev_dir / "AUDIT_L01_20190302.csv").symlink_to("../store/x")
    (ev_dir / "AUDIT_L01_20190303.csv").symlink_to("../store/x")  # the same file again
    (ev_dir / "linked").symlink_to("../other", target_is_directory=True)
    ev = read_evidence(ev_dir, case_key=test_key)
    # read: 0301, and the store's file once under the first link's name (2 events)
    assert [f.source_file for f in ev.report.files] == [
        "AUDIT_L01_20190301.csv", "AUDIT_L01_20190302.csv",
    ]  # fmt: skip
    assert len(ev.events) == 2
    assert ev.report.files[1].note == "read through a symbolic link to ../store/x"
    assert ev.report.to_frame()["note"].tolist() == [
        "", "read through a symbolic link to ../store/x", "",
    ]  # fmt: skip
    assert ev.report.skipped == [
        {"source_file": "AUDIT_L01_20190303.csv",
         "reason": "symbolic link to ../store/x, an input already read as "
                   "AUDIT_L01_20190302.csv: not read twice"},
        {"source_file": "linked",
         "reason": "symbolic link to the folder ../other: not entered (name the folder "
                   "to read it)"},
    ]  # fmt: skip
    assert ev.report.unrecognised == []


def test_gz_name_that_is_not_gzip_is_noted(tmp_path, test_key):
    ev_dir = tmp_path / "ev"
    write(ev_dir, "AUDIT_L01_20190301.csv.gz", [row("01/03/2019", "10:00:00")])  # plain
    text = ("\r\n".join([LEG, row("02/03/2019", "10:00:00")]) + "\r\n").encode("cp1252")
    (ev_dir / "AUDIT_L01_20190302.csv").write_bytes(gzip.compress(text))  # gzip, no .gz
    (ev_dir / "AUDIT_L01_20190303.csv.gz").write_bytes(gzip.compress(text))  # as named
    (ev_dir / "AUDIT_L01_20190304.csv.bz2").write_bytes(bz2.compress(text))  # not read
    ev = read_evidence(ev_dir, case_key=test_key)
    notes = {f.source_file: f.note for f in ev.report.files}
    assert notes == {
        "AUDIT_L01_20190301.csv.gz":
            "named .gz but not gzip (magic bytes 1f 8b absent): read as plain text",
        "AUDIT_L01_20190302.csv": "gzip (magic bytes 1f 8b) though not named .gz: decompressed",
        "AUDIT_L01_20190303.csv.gz": "",
    }  # fmt: skip
    # every row read: 3 files of 1 row, 2 of them the same row (a rotation duplicate)
    assert (ev.report.rows_read, ev.report.events, ev.report.rotation_duplicates) == (3, 2, 1)
    assert ev.report.unrecognised_reasons == {
        "AUDIT_L01_20190304.csv.bz2": "bzip2 compressed (magic bytes 42 5a 68): not "
        "decompressed (only gzip is): decompress it and read it again"
    }
    assert "note: AUDIT_L01_20190301.csv.gz: named .gz but not gzip" in ev.report.summary()
    files = ev.report.to_dict()["files"]
    assert [f["note"] for f in files] == [notes[f["source_file"]] for f in files]


@pytest.mark.parametrize(
    ("name", "magic", "note"),
    [
        ("a.csv", b"DATE;H", ""),
        ("a.csv.gz", b"\x1f\x8b\x08\x00\x00\x00", ""),
        ("a.CSV.GZ", b"DATE;H", "named .gz but not gzip (magic bytes 1f 8b absent): read as plain text"),
        ("a.log.1", b"\x1f\x8b\x08", "gzip (magic bytes 1f 8b) though not named .gz: decompressed"),
        ("a.csv.bz2", b"DATE;H", "named .bz2 but not bzip2 (magic bytes 42 5a 68 absent): read as plain text"),
        ("a.csv.xz", b"\x1f\x8b\x08", "named .xz but gzip (magic bytes 1f 8b): decompressed as gzip"),
        ("a.zip", b"PK\x03\x04\x14\x00", ""),
    ],
)  # fmt: skip
def test_compression_note(name, magic, note):
    assert compression_note(name, magic) == note


def test_unrecognised_xz(tmp_path):
    import lzma

    p = tmp_path / "a.csv.xz"
    p.write_bytes(lzma.compress(b"DATE;HEURE\r\n"))
    assert unrecognised_reason(p, p.read_bytes()[:64]) == (
        "xz compressed (magic bytes fd 37 7a 58 5a 00): not decompressed (only gzip is): "
        "decompress it and read it again"
    )


def test_ingest_report_json_and_the_report_say_it(tmp_path, monkeypatch):
    import json

    from labforensics import investigate
    from labforensics.cli import main

    rows = [f"0{d}/03/2020;09:00:00;L01;S1;alice;TECH;PC;10.1.0.9;DOSSIER;CONSULT;OK;"
            f"4000012{d};;1;x" for d in range(1, 6)]  # fmt: skip
    data = ("\r\n".join([LEG, *rows]) + "\r\n").encode()
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "AUDIT_L01_20200301.csv").write_bytes(data)
    (ev / "AUDIT_L01_20200302.csv.gz").write_bytes(data.replace(b"alice", b"bob"))  # plain
    (ev / "copy.csv").symlink_to("AUDIT_L01_20200301.csv")
    out = tmp_path / "ingested"
    assert main(["ingest", str(ev), "--out", str(out), "--quiet"]) == 0
    rep = json.loads((out / "ingest_report.json").read_text(encoding="utf-8"))
    why = "symbolic link to AUDIT_L01_20200301.csv, an input already read: not read twice"
    gz = "named .gz but not gzip (magic bytes 1f 8b absent): read as plain text"
    assert rep["skipped"] == [{"source_file": "copy.csv", "reason": why}]
    assert [(f["source_file"], f["note"]) for f in rep["files"]] == [
        ("AUDIT_L01_20200301.csv", ""), ("AUDIT_L01_20200302.csv.gz", gz),
    ]  # fmt: skip
    assert rep["totals"]["rows_read"] == 10 and rep["totals"]["events"] == 10
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    inv = tmp_path / "out"
    investigate(ev, inv, progress=False)
    html = (inv / "report.html").read_text(encoding="utf-8")
    assert (
        f'<p id="links-not-read"><b>Symbolic links not read</b> (1; not hashed, their '
        f"targets are read once or not at all, as said): copy.csv ({why}).</p>"
    ) in html
    assert (f'<p id="file-notes"><b>How some files were read</b> (1): '
            f"AUDIT_L01_20200302.csv.gz: {gz}.</p>") in html  # fmt: skip
    f = json.loads((inv / "findings.json").read_text(encoding="utf-8"))
    assert f["accounting"]["skipped"] == rep["skipped"]
