"""Lab-less leaked identifiers placed from the events and the patient indexes (QA
session 12: an IPP list without a lab column read "mixed", L02 "a copy outside the
logged evidence", from numbering collisions). Hand-worked tables."""

from __future__ import annotations

import pandas as pd

from labforensics.attribution.placement import place_by_index


def _rows() -> pd.DataFrame:
    # identifiers a, b, c, d without a lab: one row per evidence lab (L01, L02), the
    # patient keyed with that lab (here "<lab>:<id>"); e given with its lab
    rows = [(i, lab, f"{lab}:{i}", False) for i in "abcd" for lab in ("L01", "L02")]
    rows.append(("e", "L02", "L02:e", True))
    df = pd.DataFrame(rows, columns=["leak_id", "lab", "patient", "lab_given"])
    df["id_kind"] = "ipp"
    df["date"] = pd.NaT
    return df.astype({"leak_id": "string", "lab": "string", "patient": "string"})


def test_one_lab_placed_several_not_none_unchanged():
    events = pd.DataFrame({"lab": ["L02", "L01"], "patient": ["L02:a", "L01:c"]})
    index = pd.DataFrame({"lab": ["L01", "L01", "L02"], "patient": ["L01:a", "L01:b", "L02:c"]})
    out, counts = place_by_index(_rows(), events, index)
    # a: L02 events and L01 index -> several; b: L01 index only -> L01; c: L01 events
    # and L02 index -> several; d: nowhere -> its two rows unchanged; e: given, unchanged
    assert counts == {"placed": 1, "several_records": 2}
    got = {
        (r.leak_id, None if pd.isna(r.lab) else r.lab, None if pd.isna(r.patient) else r.patient,
         bool(r.lab_given))
        for r in out.itertuples()
    }  # fmt: skip
    assert got == {
        ("a", None, None, False),
        ("b", "L01", "L01:b", True),
        ("c", None, None, False),
        ("d", "L01", "L01:d", False),
        ("d", "L02", "L02:d", False),
        ("e", "L02", "L02:e", True),
    }
    assert len(out) == 6 and list(out.columns) == list(_rows().columns)


def test_nothing_lab_less_nothing_changed():
    rows = _rows()
    rows = rows[rows["lab_given"]].reset_index(drop=True)
    out, counts = place_by_index(rows, rows[["lab", "patient"]], rows[["lab", "patient"]])
    assert counts == {"placed": 0, "several_records": 0}
    pd.testing.assert_frame_equal(out, rows)


def test_a_nir_shared_by_dependants_at_one_lab_is_not_placed():
    # a NIR list: n1 maps to two patients of L01 (an insured person and a child), n2 to
    # one; the rows read_leak makes through the index (lab from the index, not given)
    rows = pd.DataFrame(
        {"leak_id": ["n1", "n1", "n2"], "lab": ["L01", "L01", "L01"],
         "patient": ["p1", "p2", "p3"], "lab_given": [False] * 3, "id_kind": "nir",
         "date": pd.NaT}
    ).astype({"leak_id": "string", "lab": "string", "patient": "string"})  # fmt: skip
    index = pd.DataFrame({"lab": ["L01"] * 3, "patient": ["p1", "p2", "p3"]})
    out, counts = place_by_index(rows, index.iloc[:0], index)
    assert counts == {"placed": 1, "several_records": 1}
    assert out[["leak_id", "patient", "lab_given"]].astype(object).where(
        out[["leak_id", "patient", "lab_given"]].notna(), None
    ).values.tolist() == [["n1", None, False], ["n2", "p3", True]]
