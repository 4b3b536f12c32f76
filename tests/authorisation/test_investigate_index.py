"""investigate with a register and the labs' patient indexes ([leak] patient_index):
scope bounds from DATE_CREATION when the logs start after the scope date."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labforensics import synth
from labforensics.leak.patients import read_patient_index
from labforensics.pipeline import investigate
from labforensics.privacy import CaseKey

from .conftest import HEADER

REGISTER = [
    # patients seen since 1 June 2019, four months before the logs start (1 October)
    "MIG-L01;L01;migration.editeur;migration;2019-10-01;;2019-06-01;;L01_*.csv;migration",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("auth_index")
    gen = base / "gen"
    synth.generate(gen, labs=2, start="2019-10-01", end="2019-12-15", seed=7, scale=0.15,
                   incidents=("a",), hostile=False, artefacts=False, transfers=False,
                   linkage=True)  # fmt: skip
    truth = json.loads((gen / "truth.json").read_text(encoding="utf-8"))
    (base / "register.csv").write_text("\n".join([HEADER, *REGISTER]) + "\n", encoding="utf-8")
    (base / "case.key").write_text("cd" * 32, encoding="utf-8")
    (base / "case.toml").write_text(
        '[case]\nname = "auth"\nkey_file = "case.key"\n'
        '[authorisations]\nregister = "register.csv"\n'
        f'[leak]\npatient_index = ["{(gen / "patients").as_posix()}"]\n'
        f'[evidence]\npaths = ["{(gen / "evidence").as_posix()}"]\n',
        encoding="utf-8",
    )
    out = base / "out"
    investigate(None, out, case=base / "case.toml", progress=False)
    return truth, out, gen, base


def test_scope_bounds_from_index_and_logs(run):
    truth, out, gen, base = run
    inc = next(i for i in truth["incidents"] if i["id"] == "a-L01")
    ex = pd.read_parquet(out / "exports.parquet")
    r = ex[(ex["account"] == "migration.editeur") & (ex["lab"] == "L01")
           & (ex["action"] == "extract")].iloc[-1]  # fmt: skip
    t = r["ts"]
    since = pd.Timestamp("2019-06-01").tz_localize("Europe/Paris").tz_convert("UTC")
    # hand count: proven = events at L01 in [since, t) or created in [since, t);
    # upper bound = created before t (or unknown) or seen in the logs before t
    key = CaseKey(bytes.fromhex("cd" * 32))
    idx = read_patient_index(gen / "patients", case_key=key).people
    idx = idx[idx["lab"] == "L01"]
    ev = pd.read_parquet(out / "events.parquet", columns=["ts", "lab", "patient"])
    ev = ev[(ev["lab"] == "L01") & ev["patient"].notna() & (ev["ts"] < t)]
    created = idx["created"]
    proven = set(ev.loc[ev["ts"] >= since, "patient"]) | set(
        idx.loc[(created >= since) & (created < t), "record_id"]
    )
    upper = set(ev["patient"]) | set(idx.loc[created.isna() | (created < t), "record_id"])
    assert len(proven) < len(upper)  # the logs do not cover the scope: two different bounds
    assert (r["eligible_min"], r["eligible_max"]) == (len(proven), len(upper))
    # the extraction takes the patients registered before it: within the upper bound,
    # so consistent with the scope as far as the evidence can tell
    assert r["records"] == inc["records"] <= len(upper)
    assert (r["status"], r["ticket"], r["out_of_scope_min"]) == ("authorised", "MIG-L01", 0)


def test_index_hashed_and_authorised_extraction_not_a_rule_finding(run):
    _, out, _, _ = run
    manifest = json.dumps(json.loads((out / "manifest.json").read_text(encoding="utf-8")))
    assert "PATIENTS_L01.csv" in manifest and "register.csv" in manifest
    ex = pd.read_parquet(out / "exports.parquet")
    sid = ex.loc[(ex["status"] == "authorised") & (ex["action"] == "extract"), "session_id"]
    sc = pd.read_parquet(out / "scores.parquet")
    mine = sc[sc["session_id"].isin(set(sid))]
    # a vendor account's extraction (vendor_export would fire without the register) that
    # the register authorises fires neither vendor_export, mass_extraction nor beyond
    assert len(mine) >= 1 and (mine["account_kind"] == "vendor").all()
    for rule in ("rule_vendor_export", "rule_vendor_night_export", "rule_mass_extraction",
                 "rule_beyond_authorisation"):  # fmt: skip
        assert (mine[rule] == 0).all(), rule
