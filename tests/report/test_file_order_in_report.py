"""The report names the files read bottom-up (written newest first) and those of unclear order."""

from __future__ import annotations

import json

import labforensics as lf
from lis_headers import CURRENT_HEADER as CUR

BOM = b"\xef\xbb\xbf"


def _row(ts: str, action: str) -> str:
    return f"{ts};L01;S1;u1;technicien;PC-01;10.1.1.1;resultats;{action};succes;;;;;;"


def test_reversed_file_is_named_in_report_and_findings(tmp_path, monkeypatch):
    monkeypatch.setenv("LABFORENSICS_CASE_KEY", "00" * 16)
    ev = tmp_path / "evidence"
    ev.mkdir()
    rows = [
        _row("2024-06-03T08:50:00+02:00", "deconnexion"),
        _row("2024-06-03T08:40:00+02:00", "consultation"),
        _row("2024-06-03T08:30:00+02:00", "connexion"),
        _row("2024-06-03T08:30:00+02:00", "deconnexion"),
        _row("2024-06-03T08:10:00+02:00", "consultation"),
        _row("2024-06-03T08:00:00+02:00", "connexion"),
    ]
    (ev / "audit_l01_2024-06-03.csv").write_bytes(BOM + ("\n".join([CUR, *rows]) + "\n").encode())
    res = lf.investigate(ev, tmp_path / "out", progress=False)
    html = (res.out / "report.html").read_text(encoding="utf-8")
    # the one file is newest first (5 descending steps, 0 ascending): listed as read bottom-up
    assert "Files written newest first" in html
    assert "audit_l01_2024-06-03.csv" in html.split("Files written newest first", 1)[1][:400]
    findings = json.loads((res.out / "findings.json").read_text(encoding="utf-8"))
    assert findings["accounting"]["reversed_files"] == ["audit_l01_2024-06-03.csv"]
    assert findings["accounting"]["unclear_order_files"] == []
