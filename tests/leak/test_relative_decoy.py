"""The relative decoy and the combined not-indexed false-match rate (issue 13, item 4).

Hand-worked: a ten-row dump whose real, block-decoy and relative-decoy candidates
are written out, so every count of the estimator (relative_decoy steps 1-6) can be
counted by hand; a three-record index whose relative decoy is worked out from its
permutation; determinism of the whole linkage with both decoys.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labforensics.leak.decoys import fmr_table
from labforensics.leak.linkage import LinkageParams, link_dump
from labforensics.leak.relative_decoy import (
    build_relative_decoy,
    clopper_pearson,
    exposed_rows,
    sample_rows,
)

sys.path.insert(0, str(Path(__file__).parent))
from gen_people import GenRates, make_case

STR = "string"


def cands(rows: list[tuple]) -> pd.DataFrame:
    """Labelled candidates: (row, record, probability, eligible, household level, nir level)."""
    df = pd.DataFrame(
        rows, columns=["row_id", "record_id", "probability", "eligible", "household", "nir"]
    )
    df["lab"] = "L1"
    df["weight"] = np.log2(df["probability"] / (1 - df["probability"])).round(4)
    df["n_candidates"] = 1
    hh = df["household"].isin(["surname+contact", "surname+postcode", "contact_only"])
    df["household_evidence"] = hh & ~df["eligible"]
    df["record_dob"] = -1
    df = df.astype({"row_id": STR, "record_id": STR, "lab": STR, "household": STR, "nir": STR})
    return df.sort_values(["row_id", "weight", "record_id"], ascending=[True, False, True])


ROWS = pd.Series([f"D{i}" for i in range(10)], dtype=STR)
# real index: D0-D5 linked at 0.99 (exposed by their own records); D6 linked at 0.7
# only (exposed: surname + postcode); D7 a relative (household only, exposed); D8 a
# candidate agreeing on nothing (not exposed); D9 no candidate
REAL = cands(
    [(f"D{i}", f"P{i}", 0.99, True, "surname+contact", "null") for i in range(6)]
    + [
        ("D6", "P6", 0.7, True, "surname+postcode", "null"),
        ("D7", "P7", 0.95, False, "surname+contact", "nir_only_household"),
        ("D8", "P8", 0.4, False, "differs", "differs"),
    ]
)
# block decoy: D8 linked at 0.95, D9 at 0.6 (no household agreement); D3 linked at
# 0.99 and D5 not linked, both agreeing on a household by chance (exposed)
DECOY = cands(
    [
        ("D3", "X4", 0.99, True, "surname+contact", "null"),
        ("D5", "X3", 0.3, False, "surname+postcode", "null"),
        ("D8", "X1", 0.95, True, "differs", "null"),
        ("D9", "X2", 0.6, True, "differs", "null"),
    ]
)
# relative decoy, sample D0 D2 D4 D7 D8: D0 linked to a pseudo-relative (exposed); D2
# exposed, not linked; D4 exposed, linked at 0.6; D7 linked but not exposed (a
# stranger-type link of an unexposed row: not in D_r); D8 no candidate
SAMPLE = pd.Series(["D0", "D2", "D4", "D7", "D8"], dtype=STR)
RELATIVE = cands(
    [
        ("D0", "Y1", 0.99, True, "surname+contact", "nir+first_name"),
        ("D2", "Y2", 0.95, False, "surname+contact", "nir_only_household"),
        ("D4", "Y3", 0.6, True, "surname+postcode", "null"),
        ("D7", "Y4", 0.99, True, "differs", "null"),
    ]
)
PARAMS = LinkageParams(thresholds=(0.5, 0.9))


def test_exposed_rows_by_hand():
    # household levels surname+contact / surname+postcode, or an agreeing NIR
    assert exposed_rows(REAL).tolist() == [f"D{i}" for i in range(8)]
    assert exposed_rows(RELATIVE).tolist() == ["D0", "D2", "D4"]


def test_combined_estimate_counted_by_hand():
    t = fmr_table(REAL, DECOY, ROWS, PARAMS, (RELATIVE, SAMPLE)).set_index("threshold")
    lo, hi = t.loc[0.5], t.loc[0.9]
    # t = 0.5: R = 7 (D0-D6), U = 3 (D7 D8 D9), X = 1 (D7); block decoy: D = 3 links,
    # N_u = 8 unexposed rows (all but D3 D5), D_u = 2 (D8 D9) -> q_s = 0.25;
    # E_r = 3 (D0 D2 D4), D_r = 2 (D0 D4) -> q_r = 2/3
    assert (lo.real_links, lo.unlinked_exposed, lo.decoy_links) == (7, 1, 3)
    assert (lo.decoy_unexposed_rows, lo.decoy_unexposed_links) == (8, 2)
    assert (lo.relative_sample, lo.relative_exposed, lo.relative_links) == (5, 3, 2)
    assert lo.decoy_rate == pytest.approx(0.3) and lo.stranger_rate == pytest.approx(0.25)
    assert lo.relative_rate == pytest.approx(2 / 3)
    assert lo.relative_weight == pytest.approx(1 / 3)
    # F = X q_r/(1-q_r) + (U-X) q_s/(1-q_s) = 1*2 + 2*(1/3) over R = 7
    assert lo.fmr_relative == pytest.approx(2 / 7)
    assert lo.fmr_stranger == pytest.approx((2 / 3) / 7)
    assert lo.fmr == pytest.approx((2 + 2 / 3) / 7)
    # upper: max(q_s, q_r) N / R = (2/3) * 10 / 7
    assert lo.fmr_upper == pytest.approx(20 / 21)
    # Clopper-Pearson upper of 2/3: Beta(3, 1) quantile 0.975 = 0.975 ** (1/3);
    # its odds (~118) over 7 links exceed 1: the rate is capped at 1
    assert lo.relative_rate_high == pytest.approx(0.975 ** (1 / 3))
    assert lo.fmr_high == 1.0
    # t = 0.9: R = 6 (D6 at 0.7 falls), U = 4, X = 2 (D6 D7); D = 2 (D3 D8), D_u = 1
    # -> q_s = 1/8; D_r = 1 (D0) -> q_r = 1/3: F = 2 * 0.5 + 2 * (1/7) over 6
    assert (hi.real_links, hi.unlinked_exposed, hi.decoy_links, hi.relative_links) == (6, 2, 2, 1)
    assert hi.stranger_rate == pytest.approx(1 / 8)
    assert hi.fmr == pytest.approx((1 + 2 / 7) / 6)
    assert hi.fmr_upper == pytest.approx((1 / 3) * 10 / 6)


def test_without_relative_decoy_exposed_rows_take_the_block_decoys_exposed_rate():
    # q_r = the block decoy's exposed rows: D3 linked of D3 D5 -> 1/2; q_s = 2/8:
    # F = 1 * 1 + 2 * (1/3) at 0.5 over R = 7; upper max(q_s, q_r) N / R = 0.5 * 10 / 7
    t = fmr_table(REAL, DECOY, ROWS, PARAMS).set_index("threshold")
    assert t.loc[0.5, "fmr"] == pytest.approx((1 + 2 / 3) / 7)
    assert t.loc[0.5, "fmr_upper"] == pytest.approx(5 / 7)
    assert t.loc[0.5, "relative_sample"] == 0 and t.loc[0.5, "relative_exposed"] == 2


def test_clopper_pearson_by_hand():
    # k = 0: upper 1 - (a/2)^(1/n); k = n: lower (a/2)^(1/n) (closed forms)
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 1 - 0.025 ** (1 / 10)))
    assert clopper_pearson(10, 10) == pytest.approx((0.025 ** (1 / 10), 1.0))
    assert clopper_pearson(0, 0) == (0.0, 1.0)


def rec(rid, sn, fn, dob, nir, addr, pc, ph):
    y, m, d = (int(x) for x in dob.split("-"))
    return {
        "record_id": rid, "lab": "L1", "source_file": "PATIENTS_L1.csv", "source_line": 2,
        "surname": sn, "birth_name": None, "first_name": fn, "first_name_first": fn,
        "sex": "M", "birth_date": dob, "birth_year": y, "birth_month": m, "birth_day": d,
        "nir": nir, "nir_raw_invalid": False, "qualite": "00", "rang": 1,
        "address": addr, "postcode": pc, "city": "KERLOUAN", "phone": ph,
    }  # fmt: skip


def small_index() -> pd.DataFrame:
    rows = [
        # one person at two labs (same surname, first name, birth date)
        rec("P1", "KERVADEC", "YANN", "1970-01-01", "170017512345612", "4 RUE A", "29890", "+33298000001"),
        rec("P2", "KERVADEC", "YANN", "1970-01-01", "170017512345612", "4 RUE A", "29890", "+33298000001"),
        rec("P3", "LANDREVIN", "PASCAL", "1965-02-02", "165025607809012", "2 PLACE B", "35000", "+33299000003"),
    ]  # fmt: skip
    df = pd.DataFrame(rows)
    for c in ("birth_year", "birth_month", "birth_day"):
        df[c] = df[c].astype("Int16")
    df["rang"] = df["rang"].astype("Int8")
    return df.astype({c: STR for c in df.columns if df[c].dtype == object})


def test_relative_decoy_by_hand():
    index = small_index()
    perm = np.random.default_rng([11, 0x4E1A]).permutation(3)
    decoy, prov = build_relative_decoy(index, seed=11)
    real = index.set_index("record_id")
    ids = ["P1", "P2", "P3"]
    # decoy k = household of record k + person of record perm[k]; it is a real person
    # again (dropped) when both are KERVADEC YANN (P1/P2) or both P3
    cls = {"P1": 0, "P2": 0, "P3": 1}
    expect = [k for k in range(3) if cls[ids[k]] != cls[ids[perm[k]]]]
    assert decoy["record_id"].tolist() == [f"Y{k:015d}" for k in expect]
    for k, d in zip(expect, decoy.itertuples(index=False), strict=True):
        hh, person = real.loc[ids[k]], real.loc[ids[perm[k]]]
        assert (d.surname, d.nir, d.address, d.phone) == (hh.surname, hh.nir, hh.address, hh.phone)
        assert (d.first_name, d.birth_date) == (person.first_name, person.birth_date)
    # provenance: the person block's source only
    assert prov["src_id"].tolist() == [ids[perm[k]] for k in expect]
    again, prov2 = build_relative_decoy(index.iloc[::-1], seed=11)
    assert decoy.equals(again) and prov.equals(prov2)


def test_sample_rows_seeded_and_order_free():
    ids = pd.Series([f"D{i:03d}" for i in range(100)], dtype=STR)
    a = sample_rows(ids, 10, seed=4)
    b = sample_rows(ids.sample(frac=1.0, random_state=1), 10, seed=4)
    assert a.tolist() == b.tolist() and len(a) == 10 and a.is_monotonic_increasing
    assert sample_rows(ids, 500, seed=4).tolist() == ids.tolist()  # all when smaller


def test_linkage_with_both_decoys_is_byte_identical():
    # same seed twice, and the rows permuted: identical links and FMR table
    idx, dmp, _ = make_case(1500, 400, 3, seed=8, rates=GenRates(outsiders=0.2))
    p = LinkageParams(relative_sample_rows=300)
    a = link_dump(idx, dmp, seed=5, params=p)
    b = link_dump(idx.sample(frac=1.0, random_state=2), dmp.sample(frac=1.0, random_state=3),
                  seed=5, params=p)  # fmt: skip
    assert a.links.to_csv(index=False) == b.links.to_csv(index=False)
    assert a.fmr.to_csv(index=False) == b.fmr.to_csv(index=False)
    assert (a.fmr["relative_sample"] == 300).all()
    assert (a.fmr["fmr"] >= a.fmr["fmr_stranger"]).all()


def test_findings_and_report_carry_the_parts():
    # summarise puts the parts at the threshold in findings; the report states them
    from labforensics.leak.horizon import _fmr_parts
    from labforensics.report.leak_view import leak_linkage_view

    t = fmr_table(REAL, DECOY, ROWS, PARAMS, (RELATIVE, SAMPLE))
    parts = _fmr_parts(t.iloc[0])  # threshold 0.5, counted by hand above
    assert parts["unlinked_exposed"] == 1 and parts["relative_links"] == 2
    assert parts["fmr_relative"] == round(2 / 7, 6) and parts["fmr_high"] == 1.0
    view = leak_linkage_view(
        {"threshold": 0.5, "false_match_rate": round(8 / 21, 6), "rows": 10, "rows_linked": 7,
         "false_match_rate_parts": parts},
        lambda *a, **k: "",
    )  # fmt: skip
    # (2/3)/7 = 9.5 %, 2/7 = 28.6 %, q_s 25 %, q_r 66.7 %, 95 % bound 99.2 %
    assert "9.5 % of the links for people with no indexed relative" in view["fmr_parts"]
    assert "25.0 % of rows with no household agreement linked" in view["fmr_parts"]
    assert "28.6 % for relatives of indexed patients" in view["fmr_parts"]
    assert "2 of 3 such rows linked, 66.7 %, at most 99.2 %" in view["fmr_parts"]
    # a findings file of before (no parts): no sentence
    assert leak_linkage_view({"threshold": 0.5, "rows": 1}, lambda *a, **k: "")["fmr_parts"] == ""
