"""A source address that is not an IP literal is a field problem (QA session 12: an LIS
address cell ``=1+1`` was ranked as a source address with no word)."""

from __future__ import annotations

from labforensics import read_evidence
from labforensics.ingest._event_checks import NOT_IP_PROBLEM
from lis_headers import LEGACY_HEADER as HEADER


def test_non_ip_source_named_and_kept(tmp_path):
    rows = [
        "02/03/2020;09:00:00;L01;S1;alice;TECH;PC;10.1.0.9;DOSSIER;CONSULT;OK;;;;x",
        "02/03/2020;09:01:00;L01;S1;alice;TECH;PC;=1+1;DOSSIER;CONSULT;OK;;;;x",
        "02/03/2020;09:02:00;L01;S1;alice;TECH;PC;fe80::1%eth0;DOSSIER;CONSULT;OK;;;;x",
        "02/03/2020;09:03:00;L01;S1;alice;TECH;PC;=1+1;DOSSIER;CONSULT;OK;;;;x",
    ]
    (tmp_path / "AUDIT_L01_20200302.csv").write_text("\r\n".join([HEADER, *rows]) + "\r\n")
    ev = read_evidence(tmp_path, case_key=bytes(range(32)), progress=False)
    fp = ev.report.field_problems
    got = fp[fp["column"] == "src_ip"][["source_line", "value", "problem"]].values.tolist()
    assert got == [[3, "=1+1", NOT_IP_PROBLEM], [5, "=1+1", NOT_IP_PROBLEM]]
    assert ev.events["src_ip"].astype(str).tolist() == ["10.1.0.9", "=1+1", "fe80::1%eth0", "=1+1"]
    (f,) = ev.report.files
    assert f.field_problems == 2
