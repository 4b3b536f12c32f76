"""Case 013: NIRs written with spaces, dots, dashes and the overseas grouping are redacted."""

from __future__ import annotations

import json

from labforensics.ingest import read_evidence


def test_case_013_nir_redaction_separators(case_dir):
    d = case_dir("013-nir-redaction-separators")
    want = json.loads((d / "expected.json").read_text())["detail_by_source_line"]
    ev = read_evidence(d / "AUDIT_L01_20240603.csv", case_key="00" * 16).events
    got = {str(k): v for k, v in zip(ev["source_line"], ev["detail"], strict=True)}
    # expected.json: lines 2-5 (spaces, dots, dashes, overseas grouping) all read "[NIR]"
    assert got == want
    assert not ev["detail"].str.contains(r"\d", regex=True).any()
