"""Tests of the synthetic linkage case: indexes, dumps and truth (issue 13, item 9)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labforensics.errors import ParameterError
from labforensics.synth import generate
from labforensics.synth.linkage import (
    PRESETS,
    SCENARIOS,
    LinkageSettings,
    generate_linkage_case,
)

EMPTY = {"", "NULL", "N/A", "-", "00/00/0000"}
SEP = re.compile(r"[\s.\-\u00a0]")
ENCODING = {"utf-16-le with BOM": "utf-16"}


def nir_is_valid(nir: str) -> bool:
    """The INSEE key, written here apart from the generator: 97 - (13 digits mod 97), 2A=19, 2B=18."""
    body = nir[:13].upper().replace("2A", "19").replace("2B", "18")
    return (
        len(nir) == 15
        and body.isdigit()
        and nir[13:].isdigit()
        and 97 - int(body) % 97 == int(nir[13:])
    )


def test_the_key_check_of_these_tests():
    # 1850578006084 = 97 * 19078123774 + 6, so its key is 97 - 6 = 91
    assert 1850578006084 % 97 == 6 and nir_is_valid("185057800608491")
    assert not nir_is_valid("185057800608490")
    body = 2951019126111  # "2 95 10 2A 126 111": the key is computed on 2951019126111
    assert nir_is_valid(f"295102A126111{97 - body % 97:02d}")


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def read_back(out: Path, shape: dict) -> pd.DataFrame:
    """Read a dump file back from its described shape: one row per data line, by field."""
    raw = (out / "dump" / shape["file"]).read_bytes()
    enc = ENCODING.get(shape["encoding"], shape["encoding"])
    if enc == "utf-16":  # a spreadsheet's Unicode text: UTF-16LE behind its BOM
        assert raw[:2] == b"\xff\xfe"
    text = raw.decode(enc)
    lines = text.split("\r\n" if shape["line_end"] == "CRLF" else "\n")
    assert lines[-1] == ""  # the last line ends with the line end
    lines = lines[1 if shape["has_header"] else 0 : -1]
    fields = [c["field"] for c in shape["columns"]]
    if shape["separator"] == "fixed-width":
        rows, pos = [], 0
        bounds = []
        for c in shape["columns"]:
            bounds.append((pos, pos + c["width"]))
            pos += c["width"]
        rows = [[ln[a:b].strip() for a, b in bounds] for ln in lines]
    elif shape["separator"] == ",":
        rows = [ln[1:-1].split('","') for ln in lines]
    else:
        rows = [ln.split(shape["separator"]) for ln in lines]
    assert all(len(r) == len(fields) for r in rows)
    df = pd.DataFrame(rows, columns=fields, dtype=object)
    df["line"] = np.arange(len(df)) + (2 if shape["has_header"] else 1)
    return df


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    """About 20,000 index rows at 4 labs, default rates."""
    out = tmp_path_factory.mktemp("linkage") / "case"
    case = generate_linkage_case(out, labs=4, patients_per_lab=5000, seed=7)
    truth = pd.read_parquet(case.truth)
    truth["sample_date"] = pd.to_datetime(truth["sample_date"])
    index_truth = pd.read_parquet(case.index_truth)
    index_truth["created"] = pd.to_datetime(index_truth["created"])
    summary = json.loads(case.summary.read_text("utf-8"))
    cells = pd.concat(
        [read_back(out, sh).assign(file=sh["file"]) for sh in summary["dump_files"]],
        ignore_index=True,
    )
    idx = pd.concat(
        [
            pd.read_csv(
                p, sep=";", dtype=str, keep_default_na=False, encoding=sh["encoding"]
            ).assign(lab=sh["lab"])
            for p, sh in zip(case.patients, summary["indexes"], strict=True)
        ],
        ignore_index=True,
    )
    return case, truth, index_truth, summary, cells, idx


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    a = generate_linkage_case(tmp_path / "a", labs=3, patients_per_lab=300, seed=5)
    b = generate_linkage_case(tmp_path / "b", labs=3, patients_per_lab=300, seed=5)
    c = generate_linkage_case(tmp_path / "c", labs=3, patients_per_lab=300, seed=6)
    da, db, dc = _digest(a.out), _digest(b.out), _digest(c.out)
    # every file (indexes, dump, truth parquet and JSON) is byte-identical for one seed
    assert da == db and len(da) == 3 + 3 + 7
    assert da["patients/PATIENTS_L01.csv"] != dc["patients/PATIENTS_L01.csv"]


def test_regenerating_in_place_replaces_the_previous_case(tmp_path):
    generate_linkage_case(tmp_path, labs=3, patients_per_lab=300, seed=1, scenario="two_sources")
    case = generate_linkage_case(
        tmp_path, labs=2, patients_per_lab=300, seed=1, scenario="staff_export"
    )
    # staff_export writes 4 shapes: no file of the previous two_sources case survives
    assert sorted(p.name for p in (tmp_path / "dump").iterdir()) == sorted(
        p.name for p in case.dump
    )
    assert len(list((tmp_path / "patients").iterdir())) == 2


def test_rates_meet_their_settings_measured_on_the_written_bytes(medium):
    case, truth, _, _, cells, _ = medium
    s = LinkageSettings()
    merged = cells.merge(truth, on=["file", "line"], validate="1:1")
    nir_cell = merged["nir"].fillna("")  # NaN: file without a NIR column
    nir_written = ~nir_cell.isin(EMPTY)
    # the truth's nir_written is what the bytes say
    assert (nir_written == merged["nir_written"]).all()
    birth_written = ~merged["birth"].fillna("").isin(EMPTY)
    assert (birth_written == merged["birth_written"]).all()
    n = len(merged)
    assert abs((1 - nir_written.mean()) - s.nir_missing) < 0.02  # >= 30 % without NIR
    assert abs((1 - birth_written.mean()) - s.birth_missing) < 0.02  # >= 20 % without birth date
    assert abs((merged["name_mangle"] != "").mean() - s.name_mangled) < 0.015
    out_share = (merged["row_class"] != "indexed").mean()
    assert abs(out_share - s.outsiders) < 0.01
    outs = merged["row_class"].isin(["outsider_relative", "outsider"])
    rel_share = (merged["row_class"] == "outsider_relative").sum() / outs.sum()
    assert rel_share >= 0.5 and abs(rel_share - s.outsider_relatives) < 0.05
    full = merged["birth_written"] & ~merged["birth_partial"]
    assert abs(merged.loc[full, "day_month_swap"].mean() - s.day_month_swap) < 0.008
    moji = merged["mojibake"]
    assert abs(moji.mean() - s.mojibake) < 0.006
    # a mojibake row shows the UTF-8-read-as-cp1252 signature in a name or place
    text = merged["surname"].fillna("") + merged["first"].fillna("")
    assert text[moji].str.contains("Ã").all()
    assert not text[~moji].str.contains("Ã").any()
    assert abs((merged["duplicate_of_file"] != "").mean() - s.duplicate_rows) < 0.01
    assert n == case.counts["dump_rows"]


def test_heavy_tailed_names_and_household_shares(medium):
    case, _, index_truth, _, _, idx = medium
    s = LinkageSettings()
    people = index_truth.drop_duplicates("person")
    labs_per_person = index_truth.groupby("person")["lab"].nunique()
    # 3-5 % of people at two labs; 1-3 % identity duplicates (two IPPs at one lab)
    assert 0.03 <= (labs_per_person >= 2).mean() <= 0.05
    dup = index_truth.groupby(["person", "lab"]).size()
    assert 0.01 <= (index_truth["kind"] == "duplicate").mean() <= 0.03
    assert (dup >= 2).sum() > 0
    # dependants 25-35 % of patients
    dep = (idx["QUALITE"] != "00").mean()
    assert 0.25 <= dep <= 0.35
    # top surname about 0.4 % of people (birth names of indexed people), a long tail
    vc = (
        idx.drop_duplicates(["IPP", "lab"])["NOM_NAISSANCE"]
        .where(idx["NOM_NAISSANCE"] != "", idx["NOM"])
        .value_counts(normalize=True)
    )
    assert 0.002 <= vc.iloc[0] <= 0.008
    assert vc.iloc[:10].sum() < 0.05 and len(vc) > len(people) / 3
    assert s.two_labs == 0.04


def test_every_written_nir_is_valid_except_deliberate_wrong_keys(medium):
    _, truth, _, _, cells, idx = medium
    nirs = idx.loc[idx["NIR"] != "", "NIR"].map(lambda v: SEP.sub("", v))
    assert nirs.str.len().eq(15).all()
    assert nirs.map(nir_is_valid).all()
    # Corsican, overseas and born-abroad NIRs with unknown months are among them
    assert nirs.str[5:7].isin(["2A", "2B"]).any()
    assert nirs.str[5:7].eq("97").any()
    abroad = nirs[nirs.str[5:7] == "99"]
    assert abroad.str[3:5].astype(int).between(20, 99).any()
    merged = cells.merge(truth, on=["file", "line"])
    w = merged[merged["nir_written"]]
    valid = w["nir"].map(lambda v: nir_is_valid(SEP.sub("", v)))
    assert (valid == ~w["nir_wrong_key"]).all()
    assert w["nir_wrong_key"].sum() > 0
    # NIRs are written in several shapes (spaces, dots, dashes, no-break spaces)
    assert w["nir"].str.contains(" ").any() and w["nir"].str.contains(r"\.").any()
    assert w["nir"].str.contains("\u00a0").any() and w["nir"].str.contains("-").any()


def test_every_dump_line_is_accounted_for_and_utf16_has_a_bom(medium):
    case, truth, _, summary, cells, _ = medium
    for sh in summary["dump_files"]:
        t = truth[truth["file"] == sh["file"]]
        # truth rows = data lines, numbered 2..n+1 under the header
        assert sorted(t["line"]) == list(range(2, sh["rows"] + 2))
        assert (cells["file"] == sh["file"]).sum() == sh["rows"]
    raw = (case.out / "dump" / "export_unicode.txt").read_bytes()
    assert raw[:2] == b"\xff\xfe" and raw[2:8] == "Nom".encode("utf-16-le")
    encs = {sh["encoding"] for sh in summary["dump_files"]}
    seps = {sh["separator"] for sh in summary["dump_files"]}
    assert encs == {"cp1252", "utf-8", "utf-8-sig", "utf-16-le with BOM"}
    assert seps == {";", ",", "|", "\t", "fixed-width"}
    # a duplicate row points at its first copy, which holds the same person and sample
    d = truth[truth["duplicate_of_file"] != ""].iloc[0]
    first = truth[
        (truth["file"] == d["duplicate_of_file"]) & (truth["line"] == d["duplicate_of_line"])
    ]
    assert first["person"].item() == d["person"] and first["sample_date"].item() == d["sample_date"]


def test_phone_shapes_and_name_manglings_all_occur(medium):
    _, truth, _, _, cells, _ = medium
    m = cells.merge(truth, on=["file", "line"])
    ph = m["phone"].dropna()
    ph = ph[~ph.isin(EMPTY)]
    shapes = {
        r"0\d{9}": "0612345678",
        r"0\d( \d\d){4}": "06 12 34 56 78",
        r"0\d(\.\d\d){4}": "06.12.34.56.78",
        r"\+33 \d( \d\d){4}": "+33 6 12 34 56 78",
        r"\+33\d{9}": "+33612345678",
        r"0\d(-\d\d){4}": "06-12-34-56-78",
    }
    hits = {k: ph.str.fullmatch(k) for k in shapes}
    # every phone has one of the six shapes, and each shape occurs
    assert pd.concat(hits, axis=1).any(axis=1).all()
    assert all(h.any() for h in hits.values())
    assert set(m["name_mangle"]) == {"", "accents", "case", "hyphen", "swap", "typo"}
    # a swap puts the birth name in the surname column: the row's surname is not the index's
    sw = m[m["name_mangle"] == "swap"]
    assert len(sw) > 0


def test_date_shapes_read_back_to_the_true_dates(medium):
    _, truth, _, summary, cells, _ = medium
    m = cells.merge(truth, on=["file", "line"])
    styles = {sh["file"]: sh["date_format"] for sh in summary["dump_files"]}
    for f, style in styles.items():
        v = m.loc[m["file"] == f, ["sample", "sample_date"]]
        if style == "serial":  # 1900 system: serial 25569 is 1970-01-01
            got = pd.to_datetime(v["sample"].astype(int) - 25569, unit="D")
        elif style == "dmy2":
            got = pd.to_datetime(v["sample"], format="%d/%m/%y")
        else:
            got = pd.to_datetime(v["sample"], format="%Y-%m-%d" if style == "ymd" else "%d/%m/%Y")
        assert (got.dt.date == v["sample_date"].dt.date).all(), f


def test_households_dependants_share_the_insured_nir_and_twins_a_birth_date(medium):
    _, _, index_truth, _, _, idx = medium
    it = index_truth.merge(idx, left_on=["lab", "ipp"], right_on=["lab", "IPP"], validate="1:1")
    it["nir"] = it["NIR"].map(lambda v: SEP.sub("", v))
    insured = it[(it["qualite"] == 0) & (it["nir"] != "")].drop_duplicates("person")
    own = insured.set_index("person")["nir"]
    dep = it[(it["qualite"] != 0) & (it["nir"] != "")]
    known = dep[dep["nir_holder"].isin(own.index)]
    # a dependant carries the NIR of an insured member of the same household, never their own
    assert len(known) > 100
    assert (known["nir"].to_numpy() == own.loc[known["nir_holder"]].to_numpy()).all()
    hh_of = it.drop_duplicates("person").set_index("person")["household"]
    assert (hh_of.loc[known["nir_holder"]].to_numpy() == known["household"].to_numpy()).all()
    # a household shares address and postcode: primary rows at one lab, dependant beside insured
    prim = it[it["kind"] == "primary"]
    ins_rows = prim[prim["qualite"] == 0].drop_duplicates(["household", "lab"])
    dep_rows = prim[prim["qualite"] != 0].merge(
        ins_rows, on=["household", "lab"], suffixes=("", "_i")
    )
    assert len(dep_rows) > 100
    assert (dep_rows["ADRESSE"] == dep_rows["ADRESSE_i"]).all()
    assert (dep_rows["CODE_POSTAL"] == dep_rows["CODE_POSTAL_i"]).all()
    assert (dep_rows["NOM"] == dep_rows["NOM_i"]).mean() > 0.5
    # twins: RANG 2 has a RANG 1 sibling at the same lab, same birth date and insured NIR
    r2 = it[(it["RANG"] == "2") & (it["kind"] == "primary")]
    assert len(r2) > 0
    r1 = it[it["RANG"] == "1"]
    pair = r2.merge(r1, on=["household", "lab", "DATE_NAISSANCE"], suffixes=("", "_1"))
    pair = pair[pair["QUALITE_1"] == "06"]
    assert set(r2["ipp"]) <= set(pair["ipp"])
    assert (pair["PRENOM"] != pair["PRENOM_1"]).all()
    # a child attached to both parents: one person, two different stored NIRs
    kids = it[(it["qualite"] == 6) & (it["nir"] != "")]
    assert (kids.groupby("person")["nir"].nunique() >= 2).any()
    # registration before last visit, in every index
    c = pd.to_datetime(idx["DATE_CREATION"], format="%d/%m/%Y")
    v = pd.to_datetime(idx["DERNIERE_VISITE"], format="%d/%m/%Y")
    assert (c <= v).all()


def test_outsider_relatives_are_in_no_index_but_share_a_household(medium):
    _, truth, index_truth, _, _, _ = medium
    rel = truth[truth["row_class"] == "outsider_relative"]
    assert len(rel) > 0
    assert not rel["person"].isin(index_truth["person"]).any()
    assert rel["household"].isin(index_truth["household"]).all()
    assert (rel["links"].map(len) == 0).all()
    fab = truth[truth["row_class"] == "fabricated"]
    assert (fab["person"] == -1).all() and (fab["links"].map(len) == 0).all()
    # an indexed row's links hold the index row it was copied from, and every row of the person
    ind = truth[truth["row_class"] == "indexed"]
    assert all(
        {"lab": a, "ipp": b} in list(links)
        for a, b, links in zip(ind["source_lab"], ind["source_ipp"], ind["links"], strict=True)
    )
    per = index_truth.groupby("person").size()
    assert (ind["links"].map(len).to_numpy() == per.loc[ind["person"]].to_numpy()).all()


def test_samples_stop_at_the_copy_date_which_is_the_horizon(medium):
    case, truth, index_truth, summary, _, _ = medium
    (src,) = summary["sources"]
    copy = pd.Timestamp(src["copy_date"])
    ind = truth[truth["row_class"] == "indexed"]
    assert (truth["sample_date"] <= copy).all()
    for h in summary["horizons"]:
        s = ind.loc[ind["source_lab"] == h["lab"], "sample_date"]
        assert s.max() == copy and h["newest_sample"] == src["copy_date"]
    keys = list(zip(ind["source_lab"], ind["source_ipp"], strict=True))
    it = index_truth.set_index(["lab", "ipp"])
    # each sample lies between the index row's registration and its last visit
    assert (it["created"].loc[keys].to_numpy() <= ind["sample_date"].to_numpy()).all()
    last = pd.to_datetime(it["last_visit"]).loc[keys].to_numpy()
    assert (ind["sample_date"].to_numpy() <= last).all()
    # vendor extraction: every patient of the copied labs registered by the copy date is in the dump
    lab_rows = index_truth[index_truth["lab"].isin(src["labs"]) & (index_truth["created"] <= copy)]
    assert set(zip(lab_rows["lab"], lab_rows["ipp"], strict=True)) == set(
        zip(ind["source_lab"], ind["source_ipp"], strict=True)
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_scenario_writes_a_dump_with_its_copy_dates(tmp_path, scenario):
    s = LinkageSettings()
    case = generate_linkage_case(tmp_path, labs=3, patients_per_lab=400, seed=2, scenario=scenario)
    summary = json.loads(case.summary.read_text("utf-8"))
    truth = pd.read_parquet(case.truth)
    truth["sample_date"] = pd.to_datetime(truth["sample_date"])
    srcs = summary["sources"]
    copies = [pd.Timestamp(x["copy_date"]) for x in srcs]
    if scenario == "two_sources":  # two labs, two sources, two dates, each in its own files
        assert len(srcs) == 2 and copies[0] < copies[1] and srcs[0]["labs"] != srcs[1]["labs"]
        assert not set(srcs[0]["files"]) & set(srcs[1]["files"])
    elif scenario == "before_logs":
        assert copies[0] < pd.Timestamp(s.evidence_start)
    elif scenario == "staff_export":
        assert len(srcs[0]["labs"]) == 1 and srcs[0]["subset"] < 1
    for x, c in zip(srcs, copies, strict=True):
        assert (truth.loc[truth["source"] == x["source"], "sample_date"] <= c).all()
    assert len(truth) == case.counts["dump_rows"] > 0


def test_presets_differ_and_bad_arguments_are_refused(tmp_path):
    assert PRESETS["hard"].nir_missing == 0.6 and PRESETS["hard"].outsiders == 0.10
    case = generate_linkage_case(
        tmp_path, labs=2, patients_per_lab=1500, seed=3, settings=PRESETS["hard"]
    )
    t = pd.read_parquet(case.truth)
    assert abs((~t["nir_written"]).mean() - 0.6) < 0.04  # the hard setting's NIR-missing share
    assert abs((t["name_mangle"] != "").mean() - 0.3) < 0.04
    with pytest.raises(ParameterError, match="scenario"):
        generate_linkage_case(tmp_path, labs=2, patients_per_lab=100, scenario="nope")
    with pytest.raises(ParameterError, match="outsider_relatives"):
        generate_linkage_case(
            tmp_path, labs=2, patients_per_lab=100, settings=LinkageSettings(outsider_relatives=0.3)
        )


def test_synth_generate_writes_the_linkage_case_beside_the_audit_evidence(tmp_path):
    res = generate(
        tmp_path, labs=2, start="2019-01-07", end="2019-04-30", scale=0.05, incidents=("a",),
        artefacts=False, transfers=False, hostile=False, linkage=True,
    )  # fmt: skip
    assert res.counts["linkage"]["index_rows"] > 0
    assert sorted(p.name for p in (tmp_path / "patients").iterdir()) == [
        "PATIENTS_L01.csv",
        "PATIENTS_L02.csv",
    ]
    truth = pd.read_parquet(tmp_path / "linkage_truth.parquet")
    summary = json.loads((tmp_path / "linkage_truth.json").read_text("utf-8"))
    # the copy is incident (a)'s night extraction: the newest sample is before its date
    last = max(h["copy_date"] for h in summary["horizons"])
    assert pd.to_datetime(truth["sample_date"]).max() < pd.Timestamp(last)


def test_a_contacts_file_without_header_starts_its_rows_on_line_1(tmp_path):
    st = LinkageSettings(headerless_contacts=True)
    case = generate_linkage_case(tmp_path, labs=2, patients_per_lab=400, seed=4, settings=st)
    summary = json.loads(case.summary.read_text("utf-8"))
    (sh,) = [x for x in summary["dump_files"] if x["file"] == "contacts.csv"]
    assert sh["has_header"] is False
    first = (tmp_path / "dump" / "contacts.csv").read_bytes()[3:].split(b"\n")[0]
    assert not first.startswith(b"Nom;")  # after the UTF-8 BOM, a data row
    t = pd.read_parquet(case.truth)
    assert sorted(t.loc[t["file"] == "contacts.csv", "line"]) == list(range(1, sh["rows"] + 1))
    assert len(read_back(tmp_path, sh)) == sh["rows"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_tiny_cases_still_write_and_account_for_every_row(tmp_path, scenario):
    # 10 patients per lab: some NIR shapes and pools are empty (np.char on empty arrays failed)
    case = generate_linkage_case(tmp_path, labs=2, patients_per_lab=10, seed=3, scenario=scenario)
    summary = json.loads(case.summary.read_text("utf-8"))
    t = pd.read_parquet(case.truth)
    assert len(t) == sum(sh["rows"] for sh in summary["dump_files"]) == case.counts["dump_rows"]
