"""A dump of people through investigate, the case's [leak] section, the per-lab
horizon and reidentify (issue 13, items 5-7)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labforensics import investigate
from labforensics.case import load_case
from labforensics.errors import ParameterError
from labforensics.leak._tables import read_table
from labforensics.leak.horizon import (
    horizon_m,
    is_identifier_list,
    lab_links,
    leak_rows_from_links,
    summarise,
)
from labforensics.privacy import ENV_VAR, CaseKey, pseudonymise_one
from labforensics.reidentify import reidentify

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "daylight-saving"
KEY_HEX = "11" * 32

#: The keys of findings["leak_linkage"] the contract (LEAK-CONTRACT.md) names.
CONTRACT_KEYS = {
    "threshold", "false_match_rate", "rows", "rows_linked", "by_match", "unlinked", "per_lab",
    "files", "fmr_by_threshold", "examples",
}  # fmt: skip
PER_LAB_KEYS = {
    "lab", "patients_in_dump", "rows_linked", "patients_known", "share_of_patients",
    "share_registered_before_horizon", "horizon", "horizon_support", "horizon_m",
}  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One generated linkage case, investigated twice (same inputs) with a dump."""
    from labforensics.synth.linkage import generate_linkage_case

    tmp = tmp_path_factory.mktemp("leakint")
    case = generate_linkage_case(tmp / "gen", labs=3, patients_per_lab=300, seed=7)
    outs = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, KEY_HEX)
        for name in ("out1", "out2"):
            investigate(
                FIXTURE / "evidence", tmp / name, case=FIXTURE / "case.toml",
                leak=case.out / "dump", patients=case.out / "patients", progress=False,
            )  # fmt: skip
            outs.append(tmp / name)
    return case, outs, tmp


def _raw_values(case) -> tuple[set[str], set[str]]:
    """Raw surnames (upper case, 4+ letters) and NIRs of the generated indexes."""
    names, nirs = set(), set()
    for f in case.patients:
        df = pd.read_csv(f, sep=";", dtype=str, encoding="utf-8", keep_default_na=False)
        names |= {s for s in df["NOM"].str.upper() if len(s) >= 6}
        nirs |= {s for s in df["NIR"] if len(s) == 15}
    return names, nirs


def test_leak_links_one_row_per_dump_row(run):
    case, (out, _), _ = run
    links = pd.read_parquet(out / "leak_links.parquet")
    truth = pd.read_parquet(case.truth)
    # one truth row per data row written; a sample written in two files of different
    # shapes (duplicate_of_file) is two rows, kept both (the reader drops only
    # byte-equal rows across files, which the generator does not write)
    assert (truth["duplicate_of_file"] != "").sum() > 0
    assert len(links) == len(truth)
    assert set(zip(links["source_file"], links["source_line"], strict=True)) == set(
        zip(truth["file"], truth["line"].astype(int), strict=True)
    )
    assert links["row_id"].is_unique and links["row_id"].str.fullmatch(r"D[0-9a-f]{16}").all()
    assert list(links.columns) == [
        "source_file", "source_line", "row_id", "lab", "patient", "probability", "match",
        "n_candidates", "runner_up_lab", "runner_up_patient", "runner_up_probability",
    ]  # fmt: skip


def test_linked_rows_are_right(run):
    """Precision of the linked rows against the generator's truth (P ids recomputed)."""
    case, (out, _), _ = run
    key = CaseKey.from_hex(KEY_HEX)
    links = pd.read_parquet(out / "leak_links.parquet")
    truth = pd.read_parquet(case.truth)
    ok = {
        (r.file, int(r.line)): {pseudonymise_one(key, d["lab"], d["ipp"]) for d in r.links}
        for r in truth.itertuples()
    }
    linked = links[links["match"].isin(["unique", "two_labs"])]
    right = [
        p in ok[(f, int(ln))]
        for f, ln, p in zip(
            linked["source_file"], linked["source_line"], linked["patient"], strict=True
        )
    ]
    # the bar on generated cases: precision >= 0.99
    assert len(linked) > 0.8 * len(links)
    assert np.mean(right) >= 0.99


def test_findings_leak_linkage_matches_parquet(run):
    _, (out, _), _ = run
    f = json.loads((out / "findings.json").read_text())
    ll = f["leak_linkage"]
    assert CONTRACT_KEYS <= set(ll)
    links = pd.read_parquet(out / "leak_links.parquet")
    assert ll["rows"] == len(links)
    linked = links["match"].isin(["unique", "two_labs"])
    assert ll["rows_linked"] == int(linked.sum())
    assert ll["by_match"] == {c: int((links["match"] == c).sum()) for c in ll["by_match"]}
    # per lab: rows linked to it, a two_labs row counted at both of its labs
    lk = links[linked]
    two = lk[lk["match"] == "two_labs"]
    per = pd.concat(
        [
            lk[["lab", "patient"]],
            two[["runner_up_lab", "runner_up_patient"]].set_axis(["lab", "patient"], axis=1),
        ]
    )
    for row in ll["per_lab"]:
        assert set(row) == PER_LAB_KEYS
        mine = per[per["lab"] == row["lab"]]
        assert row["rows_linked"] == len(mine)
        assert row["patients_in_dump"] == mine["patient"].nunique()
        assert row["horizon_support"] >= row["horizon_m"] >= 2 or row["horizon"] is None
    assert ll["unlinked"]["rows"] == len(links) - int(linked.sum())


def test_no_raw_value_in_any_output(run):
    case, (out, _), _ = run
    names, nirs = _raw_values(case)
    assert len(names) > 50 and len(nirs) > 50
    texts = []
    for p in sorted(out.iterdir()):
        if p.suffix == ".parquet":
            texts.append(pd.read_parquet(p).astype(str).to_csv())
        texts.append(p.read_bytes().decode("utf-8", errors="ignore"))
    blob = "\n".join(texts).upper()
    assert not [n for n in names if f'"{n}"' in blob or f",{n}," in blob or f">{n}<" in blob]
    assert not [n for n in nirs if n in blob]


def test_rerun_is_byte_identical(run):
    _, (a, b), _ = run
    assert (a / "findings.json").read_bytes() == (b / "findings.json").read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(a / "leak_links.parquet"), pd.read_parquet(b / "leak_links.parquet")
    )
    manifest = json.loads((a / "manifest.json").read_text())
    assert "leak_links.parquet" in json.dumps(manifest)


def test_reidentify_maps_a_dump_row_to_the_index_person(run):
    case, (out, _), tmp = run
    key_file = tmp / "case.key"
    key_file.write_text(KEY_HEX + "\n")
    links = pd.read_parquet(out / "leak_links.parquet")
    truth = pd.read_parquet(case.truth)
    one = truth[truth["links"].map(len) == 1].merge(
        links, left_on=["file", "line"], right_on=["source_file", "source_line"]
    )
    row = one[one["match"] == "unique"].sort_values("row_id").iloc[0]
    wanted = tmp / "wanted.txt"
    wanted.write_text(row["row_id"] + "\n")
    # inside the investigation folder: refused (reidentify's guard)
    with pytest.raises(ParameterError):
        reidentify(key_file, FIXTURE / "evidence", wanted, out / "notify.csv",
                   leak=[case.out / "dump"], patients=[case.out / "patients"])  # fmt: skip
    dest = tmp / "dpo" / "notify.csv"
    dest.parent.mkdir()
    reidentify(key_file, FIXTURE / "evidence", wanted, dest, case=load_case(FIXTURE / "case.toml"),
               leak=[case.out / "dump"], patients=[case.out / "patients"])  # fmt: skip
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    got = pd.read_csv(dest, dtype=str)
    assert got.loc[0, "pseudonym"] == row["row_id"] and got.loc[0, "found"] == "True"
    dump = read_table(case.out / "dump" / row["source_file"], case.out / "dump", ())
    at = list(dump.lines).index(row["source_line"])
    # the dump row's own cells, as the dump records them (QA session 11: the linked
    # index patient's came back; QA session 9: the comparison form before that), its
    # file and line; the index patient is named by linked_patient
    assert "surname" in dump.fields
    for col in ("surname", "postcode"):
        if col in dump.fields:
            assert got.loc[0, col] == dump.fields[col].reset_index(drop=True)[at]
    assert got.loc[0, "dump_file"] == row["source_file"]
    assert int(got.loc[0, "line"]) == row["source_line"]
    assert got.loc[0, "linked_patient"] == row["patient"]
    assert not (out / "notify.csv").exists()


# --------------------------------------------------------------------------- small files


def test_identifier_list_or_dump(tmp_path):
    a = tmp_path / "ipps.csv"
    a.write_text("lab;ipp\nL01;123456\n")
    b = tmp_path / "nirs.csv"
    b.write_text("NIR\n185057800608436\n")
    c = tmp_path / "dump.csv"
    c.write_text("NOM;PRENOM;NIR\nDURAND;Paul;185057800608436\n")
    d = tmp_path / "bare.txt"
    d.write_text("123456\n123457\n")
    # a header with an id column and no name column, or a bare list: a list; a name
    # column or a folder: a dump
    assert is_identifier_list(a) and is_identifier_list(b) and is_identifier_list(d)
    assert not is_identifier_list(c)
    assert not is_identifier_list(tmp_path)
    # a headerless fixed-width dump line is no list
    e = tmp_path / "fixed.txt"
    e.write_text("DURAND                          PAUL      12/05/1985  75001\n")
    assert not is_identifier_list(e)
    f = tmp_path / "pseudo.txt"
    f.write_text("L01;P0123456789abcdef\n")
    assert is_identifier_list(f)


def test_dump_without_patients_names_the_fix(tmp_path):
    c = tmp_path / "dump.csv"
    c.write_text("NOM;PRENOM;NIR\nDURAND;Paul;185057800608436\n")
    with pytest.raises(ParameterError, match="--patients"):
        investigate(FIXTURE / "evidence", tmp_path / "out", case=FIXTURE / "case.toml", leak=c,
                    progress=False)  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_identifier_list_still_attributes(tmp_path):
    leak = tmp_path / "leak.csv"
    leak.write_text("lab;ipp\nL01;00000001\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, KEY_HEX)
        res = investigate(FIXTURE / "evidence", tmp_path / "out", case=FIXTURE / "case.toml",
                          leak=leak, progress=False)  # fmt: skip
    # a list goes through read_leak: one identifier, no linkage section, no links file
    assert res.findings["attribution"]["totals"]["leak_identifiers"] == 1
    assert "leak_linkage" not in res.findings
    assert not (tmp_path / "out" / "leak_links.parquet").exists()


# --------------------------------------------------------------------------- [leak]


def _case(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "case.toml"
    p.write_text('[case]\ntz = "Europe/Paris"\n' + text)
    return p


def test_leak_section(tmp_path):
    c = load_case(_case(tmp_path, '[leak]\ndump = "dump"\nmappings = ["m.toml"]\n'
                                   'patient_index = ["idx"]\nsighted_at = "2021-02-10"\n'))  # fmt: skip
    assert c.leak == tmp_path / "dump" and c.patient_index == (tmp_path / "idx",)
    assert c.leak_mappings == (tmp_path / "m.toml",)
    # a date is the start of that local day: Paris is UTC+1 in February
    assert c.sighted_at == pd.Timestamp("2021-02-09T23:00:00Z")
    assert c.to_dict()["sighted_at"] == "2021-02-09T23:00:00Z"
    # [evidence] leak is the alias of [leak] dump
    assert load_case(_case(tmp_path, '[evidence]\nleak = "x.csv"\n')).leak == tmp_path / "x.csv"
    # patient_index alone is valid
    alone = load_case(_case(tmp_path, '[leak]\npatient_index = "idx"\n'))
    assert alone.leak is None and alone.patient_index == (tmp_path / "idx",)
    with pytest.raises(ParameterError, match="named twice"):
        load_case(_case(tmp_path, '[evidence]\nleak = "a"\n[leak]\ndump = "b"\n'))
    with pytest.raises(ParameterError, match="unknown key"):
        load_case(_case(tmp_path, '[leak]\ndumps = "b"\n'))


def test_sighted_at_forms(tmp_path):
    # an ISO time with its offset; a TOML date literal; a time without offset refused
    c = load_case(_case(tmp_path, '[leak]\nsighted_at = "2021-07-01T09:30:00+02:00"\n'))
    assert c.sighted_at == pd.Timestamp("2021-07-01T07:30:00Z")
    c = load_case(_case(tmp_path, "[leak]\nsighted_at = 2021-07-01\n"))
    assert c.sighted_at == pd.Timestamp("2021-06-30T22:00:00Z")
    with pytest.raises(ParameterError, match="offset"):
        load_case(_case(tmp_path, '[leak]\nsighted_at = "2021-07-01T09:30:00"\n'))


# --------------------------------------------------------------------------- horizon


def test_horizon_m_by_hand():
    # no false link expected: the floor 2 (one wrong link alone never sets the horizon)
    assert horizon_m(100, 0.0) == 2
    # n=10, f=0.01: P(X>=2) = 1 - 0.99^10 - 10*0.01*0.99^9 = 0.00427 < 0.01
    assert horizon_m(10, 0.01) == 2
    # n=2, f=0.5: P(X>=2) = 0.25, P(X>=3) = 0
    assert horizon_m(2, 0.5) == 3
    # n=100, f=0.01: P(X>=4) = 0.0184, P(X>=5) = 0.00343
    assert horizon_m(100, 0.01) == 5


class _L:
    """A stand-in for Linkage with the fields summarise reads."""

    def __init__(self, links, fmr):
        self.links = links
        self.fmr = fmr
        self.threshold = 0.9
        self.levels = pd.DataFrame()
        self.model = pd.DataFrame()


class _R:
    def __init__(self, people, report=None):
        self.people = people
        self.report = report or {}


def test_per_lab_horizon_by_hand():
    utc = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    links = pd.DataFrame(
        {
            "row_id": ["D1", "D2", "D3", "D4", "D5"],
            "lab": ["L01", "L01", "L01", "L02", pd.NA],
            "patient": ["P1", "P2", "P2", "P9", pd.NA],
            "match": ["unique", "unique", "two_labs", "unique", "none"],
            "runner_up_lab": [pd.NA, pd.NA, "L02", pd.NA, pd.NA],
            "runner_up_patient": [pd.NA, pd.NA, "P8", pd.NA, pd.NA],
        },
        dtype="string",
    )
    dump = pd.DataFrame(
        {
            "record_id": ["D1", "D2", "D3", "D4", "D5"],
            "sample_date": [
                utc("2020-01-01"),
                utc("2020-03-01"),
                utc("2020-02-01"),
                pd.NaT,
                pd.NaT,
            ],
            "source_file": "d.csv",
        }
    )
    index = pd.DataFrame(
        {
            "record_id": ["P1", "P2", "P3", "P8", "P9"],
            "lab": ["L01", "L01", "L01", "L02", "L02"],
            "created": [
                utc("2019-01-01"),
                utc("2020-04-01"),
                utc("2021-01-01"),
                utc("2018-01-01"),
                utc("2018-06-01"),
            ],
        }  # fmt: skip
    )
    fmr = pd.DataFrame(
        {
            "threshold": [0.9],
            "real_links": [4],
            "decoy_links": [0],
            "decoy_rate": [0.0],
            "fmr": [0.0],
            "fmr_upper": [0.0],
        }  # fmt: skip
    )
    s = summarise(_L(links, fmr), _R(dump), _R(index))
    l01, l02 = s["per_lab"]
    # L01 rows: sample dates 2020-01-01 and 2020-03-01 (P2's later registration is not
    # used: the rows carry sample dates); D3 is two_labs: its sample (2020-02-01) was
    # taken at L01 or L02, not said which, so it bounds neither; m = 2: the 2nd newest
    # of the two bounds is 2020-01-01
    assert l01["horizon"] == "2020-01-01T00:00:00Z" and l01["horizon_support"] == 2
    assert (l01["rows_linked"], l01["patients_in_dump"], l01["patients_known"]) == (3, 2, 3)
    # P1 registered by 2020-01-01; P2 (2020-04-01) and P3 after: 1 of 3
    assert l01["share_registered_before_horizon"] == round(1 / 3, 6)
    # L02: D3 (two_labs: no bound) and D4 (no sample date: P9's registration 2018-06-01):
    # one bound, fewer than m = 2: no horizon
    assert l02["rows_linked"] == 2 and l02["horizon"] is None
    # attribution's leak rows: each lab's dates no later than its horizon (D2's 2020-03-01
    # is cut to L01's 2020-01-01), none where the lab has no horizon or the row is two_labs
    rows = leak_rows_from_links(links, dump, s).set_index(["lab", "patient"])["date"]
    assert rows[("L01", "P1")] == utc("2020-01-01") and rows[("L01", "P2")] == utc("2020-01-01")
    assert pd.isna(rows[("L02", "P8")]) and pd.isna(rows[("L02", "P9")])
    assert s["unlinked"] == {"rows": 1, "share": 0.2, "decoy_share": 0.0, "exceeds_decoy": True}
    assert len(lab_links(links)) == 5


def test_attribute_takes_a_dump_path(run, tmp_path):
    """attribute(leak=<dump folder>, patients=...) links first: its leak rows are the
    linked (lab, patient) pairs of leak_links.parquet, one identifier per patient."""
    from labforensics.attribution import attribute
    from labforensics.errors import AttributionError

    case, (out, _), _ = run
    ev = pd.read_parquet(out / "events.parquet")
    ss = pd.read_parquet(out / "sessions.parquet")
    with pytest.raises(AttributionError, match="patient"):
        attribute(ev, ss, leak=case.out / "dump")
    at = attribute(ev, ss, leak=case.out / "dump", patients=case.out / "patients",
                   case_key=CaseKey.from_hex(KEY_HEX), case=load_case(FIXTURE / "case.toml"))  # fmt: skip
    links = pd.read_parquet(out / "leak_links.parquet")
    # one identifier per person: the linked (lab, patient) pairs joined by two_labs rows
    # (in either order), counted here by a union-find of their own
    ll = lab_links(links)
    parent = {(a, b): (a, b) for a, b in zip(ll["lab"], ll["patient"], strict=True)}

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    two = links[links["match"].eq("two_labs") & links["runner_up_patient"].notna()]
    for r in two.itertuples(index=False):
        parent[root((r.lab, r.patient))] = root((r.runner_up_lab, r.runner_up_patient))
    persons = len({root(x) for x in parent})
    assert at.totals["leak_identifiers"] == persons
    rows = at.leak_summary.set_index("lab")["leaked_found"]
    assert persons <= len(parent) and at.totals["found"] <= rows.sum()
    assert at.totals["leak_id_kind"] == ["linked"]


def test_cli_parses_patients_and_leak():
    from labforensics.cli import build_parser

    ns = build_parser().parse_args(
        ["investigate", "ev", "--out", "o", "--leak", "dump", "--patients", "a.csv", "b.csv"]
    )
    assert ns.patients == ["a.csv", "b.csv"] and str(ns.leak) == "dump"
    ns = build_parser().parse_args(
        ["reidentify", "--case-key", "k", "--evidence", "e", "--pseudonyms", "p", "--out", "o",
         "--leak", "dump", "--patients", "idx"]
    )  # fmt: skip
    assert ns.leak == ["dump"] and ns.patients == ["idx"]


def test_nir_list_with_patient_indexes(tmp_path):
    """A NIR list with PATIENTS_<LAB>.csv indexes: each index's lab from its file name;
    a NIR shared by two patients of L01 (insured person and dependant) names both."""
    from labforensics.leak.horizon import index_sources, read_identifier_list

    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "PATIENTS_L01.csv").write_text(
        "IPP;NOM;PRENOM;NIR\n1001;DURAND;Paul;185057800608436\n1002;DURAND;Lea;185057800608436\n"
    )
    (idx / "PATIENTS_L02.csv").write_text("IPP;NOM;PRENOM;NIR\n2001;MARTIN;Rose;285057800608412\n")
    assert set(index_sources([idx])) == {"L01", "L02"}
    leak = tmp_path / "nirs.csv"
    leak.write_text("NIR\n185057800608436\n")
    key = CaseKey.from_hex(KEY_HEX)
    rows = read_identifier_list(leak, [idx], case_key=key, labs=["L01", "L02"])
    assert sorted(rows["patient"]) == sorted(
        [pseudonymise_one(key, "L01", "1001"), pseudonymise_one(key, "L01", "1002")]
    )
    assert set(rows["id_kind"]) == {"nir"}
    # an index named otherwise with no lab column: the reader names the fix
    bad = tmp_path / "index.csv"
    bad.write_text("IPP;NOM;PRENOM;NIR\n1001;DURAND;Paul;185057800608436\n")
    from labforensics.errors import AttributionError
    from labforensics.leak.patients import read_patient_index

    with pytest.raises(AttributionError, match="PATIENTS_<LAB>"):
        read_patient_index([bad], case_key=key)
