"""investigate with a register on a small generated case: statuses, outputs, manifest."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labforensics import synth
from labforensics.pipeline import investigate

from .conftest import HEADER

REGISTER = [
    # the reference tables the vendor was asked for at L01, on that day only
    "MIG-L01;L01;migration.*;migration;2019-10-25;2019-10-25;;2000;L01_referentiel_*.csv;tables",
    # L02's migration order: October from the 2nd, patients seen since 1 October
    "MIG-L02;L02;Migration.Editeur;migration;2019-10-02;2019-10-31;2019-10-01;;l02_*.csv;migr",
    # L01's billing, by its FINESS number (the case file maps it to L01)
    "FAC-1;130285067;hélène.l;billing;2019-10-01;;;;;billing exports",
    "BKP-1;*;batch.*;backup;2019-01-01;;;;*.dmp;nightly backup",
    # line 6: a window in the fall-back hour (2019-10-27 02:00-03:00 came twice), of an
    # account no event names: it changes no status, its reading is named (QA session 12)
    "DST-1;L01;nobody.x;other;2019-10-27T02:30;2019-10-27T02:45;;;;clock change",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("auth_e2e")
    gen = base / "gen"
    synth.generate(gen, labs=2, start="2019-10-01", end="2019-12-15", seed=7, scale=0.15,
                   incidents=("a",), requested_extractions=True, hostile=False,
                   artefacts=False, transfers=False)  # fmt: skip
    truth = json.loads((gen / "truth.json").read_text(encoding="utf-8"))
    (base / "register.csv").write_text("\n".join([HEADER, *REGISTER]) + "\n", encoding="utf-8")
    (base / "case.key").write_text("ab" * 32, encoding="utf-8")
    (base / "case.toml").write_text(
        '[case]\nname = "auth"\ntz = "Europe/Paris"\nkey_file = "case.key"\n'
        '[[labs]]\ncode = "L01"\nfiness = "130285067"\n'
        '[authorisations]\nregister = "register.csv"\n'
        f'[evidence]\npaths = ["{(gen / "evidence").as_posix()}"]\n',
        encoding="utf-8",
    )
    out = base / "out"
    res = investigate(None, out, case=base / "case.toml", progress=False)
    return res, truth, out


def _ex(out):
    return pd.read_parquet(out / "exports.parquet")


def _at(ex, ts_utc: str, account: str):
    t = pd.Timestamp(ts_utc)
    sel = ex[(ex["account"] == account) & (ex["ts"] >= t - pd.Timedelta("15min"))
             & (ex["ts"] <= t + pd.Timedelta("15min"))]  # fmt: skip
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_requested_extraction_authorised(run):
    _, truth, out = run
    req = next(t for t in truth["traps"] if t["id"] == "migration_request-L01")
    r = _at(_ex(out), req["window"]["start"], "migration.editeur")
    # 1,326 records <= 2,000, on the ticket's day, to L01_referentiel_20191025.csv
    assert (r["status"], r["ticket"], r["records"]) == ("authorised", "MIG-L01", req["records"])


def test_incident_extraction_beyond_by_window(run):
    _, truth, out = run
    inc = next(i for i in truth["incidents"] if i["id"] == "a-L01")
    r = _at(_ex(out), inc["window"]["start"], "migration.editeur")
    # 30 November is outside MIG-L01's window (25 October only)
    assert r["status"] == "beyond" and r["nearest_ticket"] == "MIG-L01"
    assert any("outside the window of ticket MIG-L01" in x for x in r["limits_crossed"])


def test_incident_extraction_beyond_by_scope_exact(run):
    res, truth, out = run
    inc = next(i for i in truth["incidents"] if i["id"] == "a-L02")
    ex = _ex(out)
    r = _at(ex, inc["window"]["start"], "migration.editeur")
    # the logs start on 1 October = the scope date: eligible = distinct L02 patients in
    # the events from 1 October 00:00 local to the extraction (counted here directly)
    ev = pd.read_parquet(out / "events.parquet", columns=["ts", "lab", "patient"])
    since = pd.Timestamp("2019-10-01").tz_localize("Europe/Paris").tz_convert("UTC")
    seen = ev[(ev["lab"] == "L02") & (ev["ts"] >= since) & (ev["ts"] < r["ts"])]["patient"]
    n_elig = seen.dropna().nunique()
    assert inc["records"] > n_elig  # every registered patient, more than those seen
    assert r["status"] == "beyond" and r["record_unit"] == "patient"
    assert (r["eligible_min"], r["eligible_max"]) == (n_elig, n_elig)
    assert r["out_of_scope_min"] == inc["records"] - n_elig
    assert (
        f"{inc['records']:,} records when at most {n_elig:,} of the lab's patients had activity "
        f"since 2019-10-01, the scope of ticket MIG-L02: at least "
        f"{inc['records'] - n_elig:,} out of scope"
    ) in list(r["limits_crossed"])


def test_billing_and_backup_authorised_others_unregistered(run):
    _, truth, out = run
    ex = _ex(out)
    for t in truth["traps"]:
        if t["kind"] == "billing":
            r = _at(ex, t["window"]["start"], t["account"])
            # hélène.l at L01 is registered (FAC-1, by FINESS); céline.n at L02 is not
            want = "authorised" if t["lab"] == "L01" else "unregistered"
            assert r["status"] == want, t["id"]
    assert set(ex.loc[ex["account"] == "batch.nuit", "status"]) == {"authorised"}


def test_outputs_findings_manifest_and_report(run):
    res, _, out = run
    ex = _ex(out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "exports.parquet" in json.dumps(manifest["outputs"])
    assert "register.csv" in json.dumps(manifest["inputs"])
    f = json.loads((out / "findings.json").read_text(encoding="utf-8"))["exports"]
    assert f["register"] is True and f["operations"] == len(ex)
    assert f["by_status"]["beyond"] == int((ex["status"] == "beyond").sum()) >= 2
    assert sum(f["by_status"].values()) == len(ex)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="exports"' in html and "MIG-L02" in html
    # the register's clock-change times: in the Limits and in the register's section
    limits = json.loads((out / "findings.json").read_text(encoding="utf-8"))["limits"]
    start = (
        "the authorisation register register.csv, line 6, start: 2019-10-27 02:30 local came "
        "twice in Europe/Paris (the clocks went back an hour): read as 2019-10-27 01:30 UTC "
        "(offset +01:00), the later of its two readings, so as not to widen the authorisation"
    )
    assert start in limits
    assert [x for x in limits if "register.csv, line 6" in x][1].startswith(
        "the authorisation register register.csv, line 6, end: 2019-10-27 02:45 local came "
        "twice in Europe/Paris (the clocks went back an hour): read as 2019-10-27 00:45 UTC "
        "(offset +02:00), the earlier"
    )
    notes = html[
        html.index('id="register-notes"') : html.index(
            "</section>", html.index('id="register-notes"')
        )
    ]
    assert start in notes
    # the beyond extraction is a finding: its session fires beyond_authorisation
    sc = pd.read_parquet(out / "scores.parquet")
    beyond_sids = set(ex.loc[ex["status"] == "beyond", "session_id"])
    fired = sc[sc["session_id"].isin(beyond_sids)]
    assert fired["flagged"].all() and (fired["rule_beyond_authorisation"] > 0).all()
    assert fired["reasons"].astype(str).str.contains("beyond their authorisation").all()
