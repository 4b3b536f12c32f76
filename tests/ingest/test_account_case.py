"""A lab's accounts that differ only by case are named in the ingest report (QA session
12: ``Jdupont`` and ``jdupont`` stayed two accounts without a word, while the register
matches them as one). Counts worked out by hand from the rows written."""

from __future__ import annotations

from pathlib import Path

from labforensics.ingest import read_evidence
from labforensics.ingest.accounting import IngestReport
from labforensics.privacy import CaseKey
from lis_headers import CURRENT_HEADER as CUR_HDR

KEY = CaseKey(bytes(range(32)))


def cur(login: str, lab: str = "L07", minute: int = 0) -> str:
    return (
        f"2021-03-01T09:{minute:02d}:00+01:00;{lab};S1;{login};technicien;PC1;10.0.0.1;"
        "saisie;consultation;succes;40000025;D1;;;s1;x"
    )


def _write(tmp: Path, name: str, rows: list[str]) -> None:
    (tmp / name).write_bytes(b"\xef\xbb\xbf" + ("\n".join([CUR_HDR, *rows]) + "\n").encode())


def test_case_variants_named_per_lab(tmp_path):
    _write(tmp_path, "audit_L07_2021-03-01.csv", [
        cur("Jdupont", minute=1), cur("jdupont", minute=2), cur("jdupont", minute=3),
        cur("bob", minute=4), cur("Élodie", minute=5), cur("élodie", minute=6),
    ])  # fmt: skip
    # at L08, JDUPONT alone: another lab's account, no group
    _write(tmp_path, "audit_L08_2021-03-01.csv", [cur("JDUPONT", lab="L08")])
    ev = read_evidence(tmp_path, case_key=KEY)
    groups = ev.report.case_variant_accounts
    assert groups == [
        {"lab": "L07", "accounts": ["Jdupont", "jdupont"], "events": [1, 2]},
        {"lab": "L07", "accounts": ["Élodie", "élodie"], "events": [1, 1]},
    ]
    assert set(ev.events["account"].astype(str)) >= {"Jdupont", "jdupont"}  # kept apart
    line = next(x for x in ev.report.summary().splitlines() if x.startswith("accounts that"))
    assert line == (
        "accounts that differ only by case, kept apart as written (the authorisation "
        "register matches them as one; judge whether each group is one person): 2 group(s): "
        "L07: Jdupont (1 event) / jdupont (2 events); L07: Élodie (1 event) / élodie (1 event)"
    )
    assert ev.report.to_dict()["case_variant_accounts"] == groups


def test_no_case_variants_no_key(tmp_path):
    _write(tmp_path, "audit_L07_2021-03-01.csv", [cur("bob"), cur("alice", minute=1)])
    ev = read_evidence(tmp_path, case_key=KEY)
    assert ev.report.case_variant_accounts == []
    assert "case_variant_accounts" not in ev.report.to_dict()  # findings.json unchanged
    assert "differ only by case" not in ev.report.summary()


def test_case_variants_sentence_caps_the_list():
    groups = [{"lab": "L01", "accounts": [f"A{i}", f"a{i}"], "events": [1, 3]} for i in range(12)]
    text = IngestReport(case_variant_accounts=groups).summary().splitlines()[-1]
    assert text.endswith("L01: A9 (1 event) / a9 (3 events); and 2 more (ingest_report.json)")
    assert "12 group(s)" in text
