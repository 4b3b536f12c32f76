"""Small hand-made evidence for the store's tests: one legacy LIS file per lab, each of
three rows (no rotation duplicate, nothing quarantined), and a store of one lab."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lis_headers import LEGACY_HEADER as LEG

if TYPE_CHECKING:
    from labforensics.privacy import CaseKey


def lab_file(root: Path, lab: str) -> Path:
    """``root/<lab>/AUDIT_<lab>_20190301.csv``: three events of 1 March 2019."""
    folder = root / lab
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        f"01/03/2019;{t};{lab};S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;"
        f"4000000{i};D{i};;"
        for i, t in enumerate(("10:00:00", "11:00:00", "12:00:00"), start=1)
    ]
    p = folder / f"AUDIT_{lab}_20190301.csv"
    p.write_bytes(("\r\n".join([LEG, *rows]) + "\r\n").encode("cp1252"))
    return p


def l01_store(tmp_path: Path, case_key: CaseKey) -> Path:
    """``tmp_path/S``: L01's store (3 events, nothing quarantined), with the evidence of
    L01 and L02 under ``tmp_path/evidence`` (L02 not yet ingested)."""
    from labforensics.store import ingest_to_store

    ev, s = tmp_path / "evidence", tmp_path / "S"
    lab_file(ev, "L01"), lab_file(ev, "L02")
    ingest_to_store([ev / "L01"], s, case_key=case_key, root=ev)
    return s


def investigate_refuses(store: Path, tmp_path: Path, case_key: CaseKey, capsys, msg: str) -> Path:
    """``investigate --store store --out tmp_path/out``: exit 2, the one line
    ``labforensics: error: <msg>`` on stderr, no output folder. Returns the key file
    written for it (``tmp_path/case.key``)."""
    from labforensics.cli import main

    key = tmp_path / "case.key"
    case_key.write(key)
    out = tmp_path / "out"
    argv = ["investigate", "--store", str(store), "--out", str(out), "--case-key", str(key)]
    assert main([*argv, "--quiet"]) == 2
    assert capsys.readouterr().err == f"labforensics: error: {msg}\n"
    assert not out.exists()
    return key


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
