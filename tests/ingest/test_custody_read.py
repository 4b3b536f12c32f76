"""One read per evidence file: the manifest hash is taken on the bytes the reader parses."""

from __future__ import annotations

import gzip
import hashlib
import io
import json

import pytest

from labforensics import custody
from labforensics.errors import EvidenceError
from labforensics.ingest import files as ingest_files
from labforensics.ingest import read_evidence
from labforensics.ingest.files import custody_log, read_bytes
from lis_headers import LEGACY_HEADER as LEG

ROW = "01/03/2019;{t};L01;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;4000;D1;;"
FHIR = {
    "resourceType": "AuditEvent",
    "type": {"code": "rest"},
    "action": "R",
    "recorded": "2024-05-02T09:15:00+02:00",
    "outcome": "0",
    "agent": [{"who": {"identifier": {"value": "tech10"}}, "requestor": True}],
    "source": {"observer": {"display": "lis"}},
}


def _lis(t: str = "08:00:00") -> bytes:
    return (LEG + "\r\n" + ROW.format(t=t) + "\r\n").encode("cp1252")


def test_custody_log_records_the_stored_bytes(tmp_path):
    plain = tmp_path / "AUDIT_L01_20190301.csv"
    plain.write_bytes(_lis())
    packed = tmp_path / "AUDIT_L01_20190302.csv.gz"
    packed.write_bytes(gzip.compress(_lis("09:00:00"), mtime=0))
    with custody_log() as log:
        assert read_bytes(plain).data == _lis()
        assert read_bytes(packed).data == _lis("09:00:00")
    # the hash and size are those of the file as stored (compressed bytes for gzip)
    assert log[str(plain)] == (hashlib.sha256(plain.read_bytes()).hexdigest(), len(_lis()))
    raw = packed.read_bytes()
    assert log[str(packed)] == (hashlib.sha256(raw).hexdigest(), len(raw))
    # outside a block nothing is recorded (and nothing fails)
    read_bytes(plain)
    assert len(log) == 2


def test_a_file_changed_between_two_reads_is_an_error(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(_lis())
    with custody_log():
        read_bytes(p)
        read_bytes(p)  # the same bytes again: fine
        p.write_bytes(_lis("10:00:00"))
        with pytest.raises(EvidenceError, match="changed while being read"):
            read_bytes(p)


def test_manifest_hash_is_of_the_bytes_parsed(tmp_path, monkeypatch, test_key):
    """If the file changes between the sniff and the read, the manifest states the
    bytes that were read into events, never the bytes on disk at some other time."""
    p = tmp_path / "AUDIT_L01_20190301.csv"
    p.write_bytes(_lis("08:00:00"))
    later = _lis("11:30:00")
    real_open = ingest_files.open_evidence
    calls = {"n": 0}

    def swapped(path):
        calls["n"] += 1
        if calls["n"] == 1:  # the sniff sees the original
            return real_open(path)
        return io.BytesIO(later)  # the read sees other bytes

    monkeypatch.setattr(ingest_files, "open_evidence", swapped)
    ev = read_evidence(tmp_path, case_key=test_key)
    (m,) = ev.manifest
    assert m.sha256 == hashlib.sha256(later).hexdigest()
    assert m.size == len(later)
    assert ev.events["ts"].dt.strftime("%H:%M").tolist() == ["10:30"]  # 11:30 CET


def test_each_recognised_file_is_opened_twice_at_most(tmp_path, monkeypatch, test_key):
    (tmp_path / "AUDIT_L01_20190301.csv").write_bytes(_lis())
    (tmp_path / "AUDIT_L01_20190302.csv.gz").write_bytes(gzip.compress(_lis("09:00:00"), mtime=0))
    (tmp_path / "audit.json").write_text(json.dumps(FHIR), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("nothing to read here\n", encoding="utf-8")
    opened: dict[str, int] = {}
    real = custody.open_evidence

    def counting(path):
        opened[str(path)] = opened.get(str(path), 0) + 1
        return real(path)

    monkeypatch.setattr(custody, "open_evidence", counting)
    monkeypatch.setattr(ingest_files, "open_evidence", counting)
    ev = read_evidence(tmp_path, case_key=test_key)
    assert len(ev.events) == 3
    by_name = {k.rsplit("/", 1)[-1]: v for k, v in opened.items()}
    # recognised: one sniff of the head, one read (hashed and parsed)
    assert by_name["AUDIT_L01_20190301.csv"] == 2
    assert by_name["AUDIT_L01_20190302.csv.gz"] == 2
    assert by_name["audit.json"] == 2
    # every manifest hash is the file's
    for f in ev.manifest:
        data = (tmp_path / f.source_file).read_bytes()
        assert (f.sha256, f.size) == (hashlib.sha256(data).hexdigest(), len(data))


def test_progress_bar_counts_every_file(tmp_path, capsys, test_key):
    for d in range(1, 4):
        (tmp_path / f"AUDIT_L01_201903{d:02d}.csv").write_bytes(_lis(f"0{d}:00:00"))
    (tmp_path / "notes.txt").write_text("not evidence\n", encoding="utf-8")
    ev = read_evidence(tmp_path, case_key=test_key, progress=True)
    assert len(ev.events) == 3
    err = capsys.readouterr().err
    assert "reading evidence" in err
    assert "4/4" in err  # recognised and unrecognised files alike
