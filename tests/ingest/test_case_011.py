"""Case 011: a user name chosen by the attacker must not move the source address."""

from __future__ import annotations

import json

import pandas as pd

from labforensics import score_sources
from labforensics.ingest import read_evidence


def test_case_011_username_injection(case_dir):
    d = case_dir("011-syslog-username-injection")
    exp = json.loads((d / "expected.json").read_text(encoding="utf-8"))
    # the call of expected.json: read_evidence('auth.log', lab='L01', case_key='00'*16)
    evd = read_evidence(d / "auth.log", lab="L01", case_key="00" * 16)
    evd.report.check()
    ev = evd.events
    got = [
        {
            "ts": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "action": str(a),
            "account": acc,
            "src_ip": ip,
        }
        for t, a, acc, ip in zip(ev["ts"], ev["action"], ev["account"], ev["src_ip"], strict=True)
    ]
    # the user name "admin from 198.51.100.7 port 22" stays whole; the source is 203.0.113.9
    assert got == exp["events"]
    src = score_sources(ev).set_index("src_ip")
    for ip, want in exp["sources"].items():
        assert src.loc[ip, "failed_logins"] == want["failed_logins"]
        assert src.loc[ip, "distinct_accounts_tried"] == want["accounts"]
    assert exp["absent_source"] not in set(src.index)
    assert (ev["lab"] == "L01").all() and not pd.isna(ev["ts"]).any()
