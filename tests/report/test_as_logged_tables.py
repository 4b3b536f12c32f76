"""Campaigns, pathways and source addresses show the accounts as logged (session 17;
session 16's leftover): the account each is keyed by stays canonical (NFC, case-folded
for a case-insensitive source), the spellings the evidence logged are added beside it
where they differ (``account_as_logged``, ``accounts_succeeded_as_logged``), and the
report, findings.json, sources.csv and campaigns.parquet show them."""

from __future__ import annotations

import json

import pandas as pd

import labforensics as lf
from labforensics.case_events import CaseEvents
from labforensics.detect.campaigns import campaign_findings
from labforensics.detect.sources import score_sources
from labforensics.report.as_logged import pathways_as_logged, sources_as_logged
from labforensics.spellings import with_account_as_logged
from lis_headers import CURRENT_HEADER as CUR

NFD = "he\u0301le\u0300ne.m"  # hélène.m decomposed, as a LIS may log it
NFC = "h\u00e9l\u00e8ne.m"  # its canonical form


def _events() -> pd.DataFrame:
    """L01: jdupont logged ``JDupont`` and ``jdupont``, hélène.m logged decomposed, kept
    as is; L02: jdupont logged ``jdupont`` only."""
    return pd.DataFrame(
        {
            "lab": ["L01", "L01", "L01", "L01", "L02"],
            "account": ["jdupont", "jdupont", NFC, "kept", "jdupont"],
            "account_raw": ["JDupont", "jdupont", NFD, "kept", "jdupont"],
        }
    )


def test_campaigns_gain_the_account_as_logged():
    camp = pd.DataFrame(
        {
            "campaign_id": ["C1", "C2", "C3", "C4", "C5"],
            "lab": ["L01", "L02", "L01", "L01", "L01"],
            "account": ["jdupont", "jdupont", NFC, "kept", None],
            "score": [1.0, 0.9, 0.8, 0.7, 0.6],
        }
    )
    out = with_account_as_logged(camp, _events())
    assert list(out.columns) == ["campaign_id", "lab", "account", "account_as_logged", "score"]
    # by lab: L02 logged jdupont alone (the canonical form): nothing added there
    assert out["account_as_logged"].tolist() == ["JDupont | jdupont", pd.NA, NFD, pd.NA, pd.NA]
    assert out["account"].tolist()[:3] == ["jdupont", "jdupont", NFC]  # matching: canonical
    # the events kept lab by lab (a spilled run's CaseEvents): the same
    by_lab = with_account_as_logged(camp, CaseEvents.from_frame(_events()))
    pd.testing.assert_frame_equal(by_lab, out)
    # without the twin column: the column is there, empty
    bare = with_account_as_logged(camp, _events().drop(columns="account_raw"))
    assert bare["account_as_logged"].isna().all()


def test_campaign_findings_name_it_where_it_differs():
    camp = pd.DataFrame(
        {
            "campaign_id": ["C1", "C2"], "rank": [1, 2], "lab": ["L01", "L01"],
            "account": [NFC, "kept"],
            "account_as_logged": pd.array([NFD, pd.NA], dtype="string"),
            "account_kind": ["staff", "staff"], "activity": ["export", "export"],
            "first": pd.to_datetime(["2024-06-03", "2024-06-04"], utc=True),
            "last": pd.to_datetime(["2024-06-03", "2024-06-04"], utc=True),
            "n_sessions": [1, 1], "n_flagged": [1, 0], "score": [2.0, 1.0],
            "flagged": [True, False], "best_session_id": ["S1", "S2"],
            "reasons": [["r"], []], "rules": [[], []],
        }
    )  # fmt: skip
    top = campaign_findings(camp)["top"]
    assert (top[0]["account"], top[0]["account_as_logged"]) == (NFC, NFD)
    assert "account_as_logged" not in top[1]


def test_pathways_name_the_spellings_of_their_labs():
    rows = [
        {"pathway_id": "P1", "account": "jdupont", "labs": "L01 | L02", "n_labs": 2},
        {"pathway_id": "P2", "account": "jdupont", "labs": "L02", "n_labs": 1},
        {"pathway_id": "P3", "account": NFC, "labs": ["L01"], "n_labs": 1},
    ]
    out = pathways_as_logged(_events(), rows)
    # L01's two spellings and L02's one, sorted, distinct: after ``account``
    assert list(out[0]) == ["pathway_id", "account", "account_as_logged", "labs", "n_labs"]
    assert out[0]["account_as_logged"] == "JDupont | jdupont"
    assert out[1] == rows[1]  # L02 logged the canonical form: nothing added
    assert out[2]["account_as_logged"] == NFD and out[2]["account"] == NFC
    assert "account_as_logged" not in rows[0]  # the input rows are not changed


def _logins() -> pd.DataFrame:
    """L01: 10.0.0.5 tried hélène.m twice (failed) then logged in as it, logged decomposed
    every time; 10.0.0.6 logged in as tech.a."""
    ts = pd.to_datetime(["2024-06-03 08:00", "2024-06-03 08:01", "2024-06-03 08:02",
                         "2024-06-03 09:00"], utc=True)  # fmt: skip
    return pd.DataFrame(
        {
            "ts": ts, "lab": ["L01"] * 4,
            "account": [NFC, NFC, NFC, "tech.a"], "account_raw": [NFD, NFD, NFD, "tech.a"],
            "src_ip": ["10.0.0.5", "10.0.0.5", "10.0.0.5", "10.0.0.6"],
            "action": ["login_failed", "login_failed", "login", "login"],
            "outcome": ["failure", "failure", "success", "success"],
        }
    )  # fmt: skip


def test_sources_name_the_accounts_as_logged():
    src = score_sources(_logins())
    cols = list(src.columns)
    assert cols.index("accounts_succeeded_as_logged") == cols.index("accounts_succeeded") + 1
    five, six = (src[src["src_ip"] == ip].iloc[0] for ip in ("10.0.0.5", "10.0.0.6"))
    assert (five["accounts_succeeded"], five["accounts_succeeded_as_logged"]) == (NFC, NFD)
    # the reasons cite the name as logged: 2 failures, then the success
    assert five["reasons"] == (
        f"2 failed logins on 1 account, peak 2/hour; then a success as {NFD}, after 2 "
        "failures within 60min before"
    )
    assert (six["accounts_succeeded"], six["accounts_succeeded_as_logged"]) == ("tech.a", "")
    # findings.json keeps the key only where it says something
    rows = sources_as_logged([five.to_dict(), six.to_dict()])
    assert rows[0]["accounts_succeeded_as_logged"] == NFD
    assert "accounts_succeeded_as_logged" not in rows[1]
    # without the twin column: nothing as logged, the reasons as before
    bare = score_sources(_logins().drop(columns="account_raw"))
    assert bare["accounts_succeeded_as_logged"].tolist() == ["", ""]
    assert f"then a success as {NFC}," in bare["reasons"].iloc[0]


def test_an_investigation_shows_them(tmp_path, monkeypatch):
    """A current-dialect file (UTF-8) logging hélène.m decomposed: sources.csv,
    campaigns.parquet, findings.json and the report's table show it so."""
    monkeypatch.setenv("LABFORENSICS_CASE_KEY", "00" * 16)
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    ev = tmp_path / "evidence"
    ev.mkdir()
    rows = []
    for d in ("2024-06-03", "2024-06-04"):
        rows += [
            f"{d}T08:00:00+02:00;L01;S1;{NFD};technicien;PC-01;10.0.0.5;resultats;connexion;succes;;;;;;",
            f"{d}T08:05:00+02:00;L01;S1;{NFD};technicien;PC-01;10.0.0.5;resultats;consultation;succes;4000001;D1;;;;",
            f"{d}T09:00:00+02:00;L01;S1;tech.a;technicien;PC-02;10.0.0.6;resultats;connexion;succes;;;;;;",
        ]  # fmt: skip
    text = "\n".join([CUR, *rows]) + "\n"
    (ev / "audit_l01_2024-06-04.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    out = lf.investigate(ev, tmp_path / "out", progress=False).out
    src = pd.read_csv(out / "sources.csv", keep_default_na=False)
    assert src[
        ["src_ip", "accounts_succeeded", "accounts_succeeded_as_logged"]
    ].values.tolist() == [
        ["10.0.0.5", NFC, NFD],
        ["10.0.0.6", "tech.a", ""],
    ]
    assert src["reasons"].tolist()[0] == f"2 successful logins as {NFD}, no failure"
    camp = pd.read_parquet(out / "campaigns.parquet").set_index("account")
    assert camp.loc[NFC, "account_as_logged"] == NFD
    assert pd.isna(camp.loc["tech.a", "account_as_logged"])
    f = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert f["top_sources"][0]["accounts_succeeded_as_logged"] == NFD
    assert "accounts_succeeded_as_logged" not in f["top_sources"][1]
    top = {c["account"]: c for c in f["campaigns"]["top"]}
    assert top[NFC]["account_as_logged"] == NFD and "account_as_logged" not in top["tech.a"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f'<td class="c-accounts_succeeded">{NFD}</td>' in html
    assert f'<td class="c-accounts_succeeded">{NFC}</td>' not in html
