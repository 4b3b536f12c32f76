"""Case 012-account-nfc-nfd: one account written precomposed (NFC) and decomposed (NFD)."""

from __future__ import annotations

import json
import unicodedata

import pandas as pd

from labforensics import sessionize
from labforensics.ingest import read_evidence

CASE = "012-account-nfc-nfd"


def test_case_012_one_account_one_session(case_dir):
    d = case_dir(CASE)
    want = json.loads((d / "expected.json").read_text(encoding="utf-8"))
    # the override is given in NFC, as the case's call says
    nfc = unicodedata.normalize("NFC", "hélène.m")
    ev = read_evidence(d, case_key="00" * 16, account_kinds={nfc: "vendor"})
    e = ev.events
    assert len(e) == 4
    # the file really holds both spellings (rows 1-2 NFC, rows 3-4 NFD), kept as written
    assert e["account_raw"].tolist() == [nfc, nfc, *[unicodedata.normalize("NFD", nfc)] * 2]
    assert e["account"].nunique() == want["distinct_accounts"] == 1
    assert set(e["account_kind"]) == {want["account_kind_of_all_4_events"]} == {"vendor"}
    s = sessionize(e).sessions
    got = [
        {
            "start": r.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": r.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "n_events": int(r.n_events),
            "start_reason": r.start_reason,
            "end_reason": r.end_reason,
        }
        for r in s.itertuples()
    ]
    assert got == want["sessions"]
    assert s["account_kind"].tolist() == ["vendor"]
    assert s["start"].iloc[0] == pd.Timestamp("2024-06-03T06:00:00Z")
