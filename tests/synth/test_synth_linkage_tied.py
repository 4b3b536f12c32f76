"""The leak-linkage case tied to the audit evidence: ``generate(..., linkage=True)`` (issue 13, item 9).

The audit side is read from what the audit generator writes on its own
(``truth.json``, ``truth_events.parquet``, ``leak/patient_index_<LAB>.csv``,
``leak/leaked_ipps.csv``); the linkage side from ``patients/``, ``dump/`` and
the linkage truth files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from labforensics.cli import main
from labforensics.errors import LabForensicsError
from labforensics.synth import SynthError, generate, load_truth

PARIS = ZoneInfo("Europe/Paris")
SMALL = dict(labs=2, start="2019-01-07", end="2019-04-30", scale=0.1, seed=3)
START = dt.date(2019, 1, 7)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tied(tmp_path_factory):
    out = tmp_path_factory.mktemp("tied") / "case"
    generate(out, linkage=True, **SMALL)
    return out


def _index(out: Path, lab: str) -> pd.DataFrame:
    summary = json.loads((out / "linkage_truth.json").read_text("utf-8"))
    (shape,) = [x for x in summary["indexes"] if x["lab"] == lab]
    df = pd.read_csv(out / shape["file"], sep=";", dtype=str, keep_default_na=False,
                     encoding=shape["encoding"])  # fmt: skip
    df["created"] = pd.to_datetime(df["DATE_CREATION"], format="%d/%m/%Y").dt.date
    df["last"] = pd.to_datetime(df["DERNIERE_VISITE"], format="%d/%m/%Y").dt.date
    return df


def _audit_registry(out: Path, lab: str) -> pd.DataFrame:
    return pd.read_csv(out / "leak" / f"patient_index_{lab}.csv", sep=";", dtype=str,
                       keep_default_na=False)  # fmt: skip


def _events(out: Path) -> pd.DataFrame:
    ev = pd.read_parquet(out / "truth_events.parquet", columns=["lab", "ipp", "ts", "incident"])
    ev = ev[ev["ipp"].notna()].copy()
    ev["day"] = ev["ts"].dt.tz_convert(PARIS).dt.date
    return ev


def test_each_index_holds_exactly_the_audit_labs_patients(tied):
    truth = load_truth(tied)
    ev = _events(tied)
    for lab in truth["labs"]:
        code = lab["code"]
        idx, reg = _index(tied, code), _audit_registry(tied, code)
        # the audit generator wrote its registry (IPP;NIR) itself: the same people, one row each
        assert sorted(idx["IPP"]) == sorted(reg["IPP"])
        assert len(idx) == idx["IPP"].nunique() == lab["patients_registered"]
        # every patient the audit events name is in the index
        assert set(ev.loc[ev["lab"] == code, "ipp"]) <= set(idx["IPP"])
        # the NIR the index stores is the one the audit's IPP;NIR list writes (spaces aside)
        nir = dict(zip(idx["IPP"], idx["NIR"].str.replace(" ", ""), strict=True))
        assert all(nir[i] == n for i, n in zip(reg["IPP"], reg["NIR"], strict=True))


def test_registration_and_last_visit_dates_agree_with_the_audit(tied):
    truth = load_truth(tied)
    ev = _events(tied)
    ev = ev[ev["incident"] == ""]  # a snoop (incident d) is not a visit
    for lab in truth["labs"]:
        code = lab["code"]
        idx = _index(tied, code).sort_values("IPP")
        # the audit registers patients in IPP order, so creation dates never go back
        assert (np.diff(pd.to_datetime(idx["created"]).to_numpy()) >= np.timedelta64(0)).all()
        # patients registered before the evidence starts: as many as truth.json says
        assert int((idx["created"] < START).sum()) == lab["patients_initial"]
        seen = ev[ev["lab"] == code].groupby("ipp")["day"].agg(["min", "max"])
        j = idx.set_index("IPP").join(seen, how="inner")
        assert len(j) > 0.2 * len(idx)  # a few months of logs name a good share of them
        # nobody is named in the logs before being registered; the last visit is the last event
        assert (j["min"] >= j["created"]).all()
        assert (j["last"] == j["max"]).all()
        assert (idx["last"] >= idx["created"]).all()


def test_the_dump_copies_incident_a_extractions_at_their_dates(tied):
    truth = load_truth(tied)
    summary = json.loads((tied / "linkage_truth.json").read_text("utf-8"))
    leaked = pd.read_csv(tied / "leak" / "leaked_ipps.csv", sep=";", dtype=str)
    lt = pd.read_parquet(tied / "linkage_truth.parquet")
    rows = lt[lt["row_class"] == "indexed"]
    inc_a = {r["lab"]: r for r in truth["incidents"] if r["kind"] == "a"}
    assert inc_a and sorted(h["lab"] for h in summary["horizons"]) == sorted(inc_a)
    assert summary["parameters"]["tied_to_audit"] is True
    for h in summary["horizons"]:
        a = inc_a[h["lab"]]
        # the horizon is the extraction's instant, the copy date its local date
        assert h["incident"] == a["id"] and h["horizon"] == h["extraction_utc"] == a["horizon"]
        t = pd.Timestamp(a["horizon"]).tz_convert(PARIS)
        assert h["copy_date"] == str(t.date())
        # the extraction ran at night: nothing of its own day is in the copy
        assert h["newest_sample"] < h["copy_date"] and h["newest_registration"] < h["copy_date"]
        mine = rows[rows["source_lab"] == h["lab"]]
        assert pd.to_datetime(mine["sample_date"]).max() < pd.Timestamp(h["copy_date"])
        # the copied patients are exactly those incident (a) extracted (leaked_ipps.csv)
        want = set(leaked.loc[leaked["lab"] == h["lab"], "ipp"])
        assert len(want) == a["records"] and set(mine["source_ipp"]) == want
        idx = _index(tied, h["lab"])
        assert set(idx.loc[idx["created"] < t.date(), "IPP"]) == want


def test_every_indexed_dump_row_links_to_audit_patients_of_its_labs(tied):
    lt = pd.read_parquet(tied / "linkage_truth.parquet")
    rows = lt[lt["row_class"] == "indexed"]
    labs = [lab["code"] for lab in load_truth(tied)["labs"]]
    registry = {c: set(_audit_registry(tied, c)["IPP"]) for c in labs}
    named = _events(tied).groupby("lab")["ipp"].agg(set).to_dict()
    links = [x for ls in rows["links"] for x in ls]
    assert len(rows) > 500 and all(len(ls) >= 1 for ls in rows["links"])
    # every link (the person's every index row, second labs and duplicates too) is an audit patient
    assert all(x["ipp"] in registry[x["lab"]] for x in links)
    # and the logs name a good share of the copied patients (the others never came back)
    in_logs = np.mean([i in named.get(c, set()) for c, i in zip(rows["source_lab"], rows["source_ipp"], strict=True)])  # fmt: skip
    assert 0.2 < in_logs <= 1.0


def test_the_tie_keeps_the_issue_rates_of_people_at_two_labs_and_duplicates(tied):
    summary = json.loads((tied / "linkage_truth.json").read_text("utf-8"))
    r, tie = summary["rates"], summary["tie"]
    # issue 13: 3-5 % of people at two labs, 1-3 % identity duplicates, after the trim
    assert 0.03 <= r["two_labs"] <= 0.05 and 0.01 <= r["identity_duplicates"] <= 0.03
    # one index row per audit patient: 381 + 412 in this case (truth.json patients_registered)
    want = sum(lab["patients_registered"] for lab in load_truth(tied)["labs"])
    assert tie["index_rows"] == want == sum(x["patients"] for x in tie["labs"])
    assert tie["created_before_birth"] == 0


def test_linkage_leaves_the_audit_evidence_unchanged_and_is_byte_identical(tmp_path, tied):
    generate(tmp_path / "again", linkage=True, **SMALL)
    generate(tmp_path / "plain", **SMALL)
    a, again, plain = _digest(tied), _digest(tmp_path / "again"), _digest(tmp_path / "plain")
    assert a == again  # same seed, same bytes
    # the evidence, its truth tables and the leaked IPPs do not move; the NIR lists follow the index
    changed = sorted(k for k in plain if plain[k] != a[k])
    assert all(k.startswith(("leak/patient_index_", "leak/leaked_nirs")) or k == "truth.json"
               for k in changed)  # fmt: skip
    assert any(k.startswith("evidence/") for k in plain) and "truth_events.parquet" not in changed


@pytest.mark.parametrize(
    ("scenario", "kind"), [("staff_export", "d"), ("intrusion", "c"), ("two_sources", "a+c")]
)
def test_other_scenarios_copy_at_their_incident(tmp_path, scenario, kind):
    res = generate(tmp_path, linkage=True, linkage_scenario=scenario, **SMALL)
    truth = load_truth(tmp_path)
    summary = json.loads((tmp_path / "linkage_truth.json").read_text("utf-8"))
    assert (
        res.counts["linkage"]["incident"] == kind and summary["parameters"]["scenario"] == scenario
    )
    incs = {r["id"]: r for r in truth["incidents"]}
    for h in summary["horizons"]:
        inc = incs[h["incident"]]
        assert inc["kind"] in kind and inc["lab"] == h["lab"]
        # (a): the extraction's instant; (c), (d): the end of the incident's events
        want = inc["horizon"] if inc["kind"] == "a" else inc["window"]["end"]
        assert h["horizon"] == want and h["newest_sample"] < h["copy_date"]
    if scenario == "two_sources":  # two labs, two sources
        assert sorted(h["source"] for h in summary["horizons"]) == [1, 2]
        assert len({h["lab"] for h in summary["horizons"]}) == 2


def test_before_logs_is_dated_before_the_evidence_and_names_no_incident(tmp_path):
    generate(tmp_path, linkage=True, linkage_scenario="before_logs", **SMALL)
    summary = json.loads((tmp_path / "linkage_truth.json").read_text("utf-8"))
    # 180 days before 2019-01-07
    assert {h["copy_date"] for h in summary["horizons"]} == {"2018-07-11"}
    assert all(h["incident"] is None for h in summary["horizons"])
    assert all(h["newest_registration"] <= "2018-07-11" for h in summary["horizons"])


def test_a_scenario_whose_incident_is_absent_is_refused(tmp_path):
    with pytest.raises(LabForensicsError, match=r"incident \(c\)"):
        generate(
            tmp_path / "x", linkage=True, linkage_scenario="intrusion", incidents=("a",), **SMALL
        )
    with pytest.raises(LabForensicsError, match=r"incident \(a\)"):
        generate(tmp_path / "y", linkage=True, incidents=(), **SMALL)
    with pytest.raises(SynthError, match="needs linkage=True"):
        generate(tmp_path / "z", linkage_scenario="intrusion", **SMALL)


def test_cli_synth_passes_linkage_and_its_scenario(tmp_path):
    args = ["synth", str(tmp_path), "--labs", "2", "--start", SMALL["start"], "--end", SMALL["end"],
            "--scale", "0.1", "--seed", "3", "--linkage", "--linkage-scenario", "intrusion"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((tmp_path / "linkage_truth.json").read_text("utf-8"))
    assert summary["parameters"]["scenario"] == "intrusion"
    assert [h["incident"] for h in summary["horizons"]] == [
        r["id"] for r in load_truth(tmp_path)["incidents"] if r["kind"] == "c"
    ]
