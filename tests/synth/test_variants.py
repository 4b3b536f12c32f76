"""Variants of the synthetic evidence (issue 14, item 6): case file, register, truth, ranges."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from labforensics import case as case_mod
from labforensics.case import CaseContext
from labforensics.synth import SynthError, generate, load_truth
from labforensics.synth.register import REGISTER_HEADER
from labforensics.synth.variants import RANGES, VARIANTS
from labforensics.thresholds import FAILED_LOGIN_BURST

PARIS = ZoneInfo("Europe/Paris")
TINY = dict(labs=4, start="2020-01-01", end="2020-03-31", scale=0.25)
#: the register format's header (shared/formats/authorisations.md, "Layout")
FORMAT_HEADER = (
    "ticket;lab;account;kind;start;end;scope_patients_since;scope_max_records;destination;purpose"
)
_CACHE: dict[tuple[str, int], Path] = {}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Generate a variant once per (name, seed) for the module."""

    def get(name: str, seed: int = 1) -> Path:
        key = (name, seed)
        if key not in _CACHE:
            out = tmp_path_factory.mktemp(f"v_{name}_{seed}") / "case"
            generate(out, seed=seed, variant=name, **TINY)
            _CACHE[key] = out
        return _CACHE[key]

    return get


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _load_case(out: Path) -> CaseContext:
    """The case file through today's case.py; without [authorisations] when it does not know it."""
    p = out / "case.toml"
    if "authorisations" in getattr(case_mod, "_KNOWN", {"authorisations"}):
        return CaseContext.from_file(p)
    text = p.read_text(encoding="utf-8").split("[authorisations]")[0]
    q = out / "case_without_register.toml"
    q.write_text(text, encoding="utf-8")
    return CaseContext.from_file(q)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_case_file_and_register(made, name):
    out = made(name)
    truth = load_truth(out)
    raw = tomllib.loads((out / "case.toml").read_text(encoding="utf-8"))
    # the register is referenced from the case file, relative to it
    assert raw["authorisations"] == {"register": "authorisations.csv"}
    case = _load_case(out)
    labs = {lab["code"]: lab for lab in truth["labs"]}
    if name == "no_networks":
        assert "networks" not in raw and not case.networks.by_lab and not case.networks.vendor
    else:  # each lab's block and the vendor's, as the generator built them
        assert {k: [str(n) for n in v] for k, v in case.networks.by_lab.items()} == {
            c: [lab["networks"]["lab"]] for c, lab in labs.items()
        }
        assert [str(n) for n in case.networks.vendor] == ["172.16.0.0/16"]
    assert case.account_kinds["hotline.editeur"] == "vendor"
    assert case.account_kinds["batch.nuit"] == "service"
    assert case.lab_aliases == {lab["finess"]: c for c, lab in labs.items()}
    # the register: the format's exact header, 10 fields a row, known kinds, ISO days
    text = (out / "authorisations.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == FORMAT_HEADER == REGISTER_HEADER
    rows = list(csv.DictReader(text.splitlines(), delimiter=";"))
    assert len(rows) == truth["variant"]["register_rows"] >= 3 * len(labs)
    for r in rows:
        assert None not in r.values() and len(r) == 10
        assert r["kind"] in {"migration", "support", "billing", "backup", "interface", "other"}
        dt.date.fromisoformat(r["start"])
        if r["end"]:
            assert dt.date.fromisoformat(r["end"]) >= dt.date.fromisoformat(r["start"])
        assert r["scope_max_records"] == "" or int(r["scope_max_records"]) > 0
    # every export and extraction has a status; routine work is registered and authorised
    ex = truth["exports_truth"]
    assert ex and all(e["status"] in {"authorised", "beyond", "unregistered"} for e in ex)
    for e in ex:
        if e["trap"] or not e["incident"]:
            assert e["status"] == "authorised", e
    te = pd.read_parquet(out / "truth_events.parquet")
    act = te["action"].str.upper()
    n_ops = int((act.isin(["EXPORT", "EXTRACTION"]) & (te["outcome"] == "success")).sum())
    assert len(ex) == n_ops  # every one of them, no more


def test_default_output_has_no_case_file(tmp_path):
    res = generate(tmp_path / "d", labs=2, start="2020-01-06", end="2020-01-19", scale=0.2, seed=2)
    truth = load_truth(res.out)
    # without a variant nothing new is written and truth.json keeps its keys
    assert not (res.out / "case.toml").exists() and not (res.out / "authorisations.csv").exists()
    assert "variant" not in truth and "exports_truth" not in truth
    assert "variant" not in truth["parameters"]
    assert {i["kind"] for i in truth["incidents"]} <= {"a", "b", "c", "d"}


def test_unknown_variant_refused(tmp_path):
    with pytest.raises(SynthError, match="unknown variant 'nope'"):
        generate(tmp_path / "x", labs=1, start="2020-01-06", end="2020-01-10", variant="nope")


def test_deterministic_bytes(made, tmp_path):
    a = made("beyond_scope")
    b = tmp_path / "again"
    generate(b, seed=1, variant="beyond_scope", **TINY)
    da, db = _digest(a), _digest(b)
    da.pop("case_without_register.toml", None)
    assert da == db  # same variant and seed: the same bytes, every file
    c = tmp_path / "other"
    generate(c, seed=2, variant="beyond_scope", **TINY)
    assert _digest(c)["truth_events.parquet"] != db["truth_events.parquet"]


def test_ranges_wider_than_thresholds():
    # the rules fire at 30 distinct patients and at FAILED_LOGIN_BURST failed logins;
    # each range straddles its threshold on both sides
    lo, hi = RANGES["snooping_patients"]
    assert (lo, hi) == (3, 50) and lo < 30 <= hi
    lo, hi = RANGES["failed_logins"]
    assert (lo, hi) == (1, 10) and lo < FAILED_LOGIN_BURST <= hi
    assert RANGES["staff_export_records"] == (50, 5000)


def _incidents(made, name: str, seeds=(1, 2, 3)) -> list[tuple[dict, pd.DataFrame, pd.DataFrame]]:
    out = []
    for s in seeds:
        p = made(name, s)
        te = pd.read_parquet(p / "truth_events.parquet")
        for inc in load_truth(p)["incidents"]:
            out.append((inc, te[te["incident"] == inc["id"]], te))
    return out


def test_snooping_ranges(made):
    got = _incidents(made, "snooping")
    assert got
    for inc, ev, all_ev in got:
        n = ev["ipp"].dropna().nunique()
        # the patients read are the ones truth counts, within 3-50, over 1-4 sessions
        assert n == inc["patients"] and 3 <= n <= 50
        assert 1 <= len(inc["sessions"]) <= 4 == RANGES["snooping_sessions"][1]
        assert set(ev["session"]) == set(inc["sessions"])
        # "no request at the lab": no event names one of these patients with a request
        # within the radius (days) around the reads
        r = pd.Timedelta(days=inc["no_visit_within_days"])
        assert inc["no_visit_within_days"] >= 30
        te = all_ev[all_ev["lab"] == inc["lab"]]
        near = te[
            te["ipp"].isin(set(ev["ipp"]))
            & te["request"].notna()
            & (te["ts"] >= ev["ts"].min() - r)
            & (te["ts"] <= ev["ts"].min() + r)
        ]
        assert near.empty, near[["ts", "ipp", "request", "account"]]


def test_attacker_failed_logins(made):
    got = _incidents(made, "attackers")
    assert got
    seen = set()
    for inc, ev, _ in got:
        fails = ev[ev["outcome"] == "failure"]
        # failures counted in truth, within 1-10, all from the attacker's new address
        assert len(fails) == inc["failed_logins"] and 1 <= len(fails) <= 10
        assert set(ev["src_ip"]) == {inc["src_ip"]}
        assert inc["src_ip"].split(".")[0] in {"203", "198", "192"}
        ok = ev[ev["outcome"] == "success"]
        assert ok["ts"].min() > fails["ts"].max()  # the login comes after the failures
        seen.add(len(fails))
    assert seen


def test_staff_exports_unregistered(made):
    for s in (1, 2, 3):
        truth = load_truth(made("staff_exports", s))
        incs = {i["id"]: i for i in truth["incidents"]}
        assert incs and all(i["kind"] == "staff_export" for i in incs.values())
        ex = [e for e in truth["exports_truth"] if e["incident"]]
        assert len(ex) == len(incs)
        for e in ex:
            i = incs[e["incident"]]
            # nobody registered this account's export: unregistered, 50-5,000 records
            assert e["status"] == "unregistered" and e["ticket"] is None
            assert e["records"] == i["records"] and 50 <= e["records"] <= 5000
            assert e["destination"] == i["file"]


def test_hotline_night(made):
    truth = load_truth(made("hotline_night"))
    ex = truth["exports_truth"]
    night = [e for e in ex if e["account"] == "hotline.editeur"]
    assert night
    for e in night:
        local = dt.datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).astimezone(PARIS)
        assert local.hour >= 21  # every hotline export of this variant is after 21:00 local
        if e["incident"]:
            assert e["status"] == "unregistered"
        else:
            assert e["trap"].startswith("support_night") and e["status"] == "authorised"
    assert {bool(e["incident"]) for e in night} == {True, False}


def test_backup_coded_both_ways(made):
    out = made("backup_extraction")
    te = pd.read_parquet(out / "truth_events.parquet")
    bk = te[te["detail"].str.contains("Sauvegarde nocturne", na=False)]
    codes = bk.groupby("lab")["action"].agg(lambda s: set(s.str.upper()))
    # odd labs code the backup EXTRACTION, even labs EXPORT (the default coding)
    assert codes.to_dict() == {
        "L01": {"EXTRACTION"},
        "L02": {"EXPORT"},
        "L03": {"EXTRACTION"},
        "L04": {"EXPORT"},
    }
    truth = load_truth(out)
    st = {e["status"] for e in truth["exports_truth"] if e["account"] == "batch.nuit"}
    assert st == {"authorised"} and not truth["incidents"]


def test_beyond_scope_counts(made):
    found = 0
    for s in (1, 2, 3):
        out = made("beyond_scope", s)
        truth = load_truth(out)
        te = pd.read_parquet(out / "truth_events.parquet")
        rows = {r["ticket"]: r for r in csv.DictReader(
            (out / "authorisations.csv").read_text(encoding="utf-8").splitlines(), delimiter=";"
        )}  # fmt: skip
        for e in truth["exports_truth"]:
            if e["trap"] and e["trap"].startswith("authorised_migration"):
                assert e["status"] == "authorised"
            if not e["incident"]:
                continue
            found += 1
            assert e["status"] == "beyond" and e["incident"].startswith("beyond_scope")
            r = rows[e["ticket"]]
            if "records" in e["limits_crossed"]:  # more records than the ticket allows
                assert e["records_over"] == e["records"] - int(r["scope_max_records"]) > 0
            else:
                assert e["limits_crossed"] == ["scope"]
                # by hand: patients the logs name at this lab since the scope date, before
                # the operation, among the first `records` of the registry (every patient
                # registered before its day, IPPs in registry order)
                idx = pd.read_csv(
                    out / "leak" / f"patient_index_{e['lab']}.csv", sep=";", dtype=str
                )
                taken = set(idx["IPP"].iloc[: e["records"]])
                since = pd.Timestamp(r["scope_patients_since"]).tz_localize(PARIS)
                ts = pd.Timestamp(e["ts"])
                w = te[(te["lab"] == e["lab"]) & (te["ts"] >= since) & (te["ts"] < ts)]
                named = set(w["ipp"].dropna()) & taken
                assert e["eligible_logs"] == len(named)
                # certainly out of scope: at most records minus what the logs prove in scope
                assert 0 < e["out_of_scope"] <= e["records"] - len(named)
    assert found >= 3


def test_cli_variant(tmp_path):
    from labforensics.cli import main

    out = tmp_path / "c"
    rc = main(["synth", str(out), "--labs", "2", "--start", "2020-01-06", "--end",
               "2020-01-26", "--scale", "0.2", "--variant", "clean"])  # fmt: skip
    assert rc == 0
    truth = load_truth(out)
    # the clean variant: a case file and a register, no incident at all
    assert truth["parameters"]["variant"] == "clean" and truth["incidents"] == []
    assert (out / "case.toml").exists() and (out / "authorisations.csv").exists()


def test_secretary_spreadsheet_export(tmp_path):
    out = tmp_path / "s"
    generate(out, labs=3, start="2020-01-06", end="2020-02-16", scale=0.8, seed=4,
             variant="staff_exports")  # fmt: skip
    truth = load_truth(out)
    sheet = [i for i in truth["incidents"] if i.get("spreadsheet")]
    # one secretary (not the billing one, who is registered) exports to a spreadsheet
    assert len(sheet) == 1 and sheet[0]["role"] == "SECRETAIRE"
    assert sheet[0]["file"].endswith(".xlsx")
    reg = (out / "authorisations.csv").read_text(encoding="utf-8")
    assert f";{sheet[0]['account']};" not in reg
    e = next(e for e in truth["exports_truth"] if e["incident"] == sheet[0]["id"])
    assert e["status"] == "unregistered" and e["destination"] == sheet[0]["file"]
