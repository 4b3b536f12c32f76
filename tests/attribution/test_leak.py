"""read_leak(): formats, identifier kinds, NIR mapping, and no raw identifier kept."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.attribution import AttributionError, read_leak
from labforensics.privacy import CaseKey, pseudonymise_one

KEY = CaseKey(bytes(range(32)))


def nir(first13: str) -> str:
    """A NIR with its INSEE key: 97 - (first 13 digits mod 97)."""
    return first13 + f"{97 - int(first13) % 97:02d}"


def test_csv_comma_with_lab(tmp_path):
    p = tmp_path / "leak.csv"
    p.write_text("ipp,labo\n000123,L01\n 456 ,L02\n,L02\n", encoding="utf-8")
    r = read_leak(p, case_key=KEY)
    # the leading zero is kept, spaces stripped, the empty row dropped
    assert r["leak_id"].tolist() == [
        pseudonymise_one(KEY, "L01", "000123"),
        pseudonymise_one(KEY, "L02", "456"),
    ]
    assert (r["leak_id"] == r["patient"]).all() and r["lab_given"].all()
    assert (r["id_kind"] == "ipp").all()


def test_tab_cp1252_single_column_needs_labs(tmp_path):
    p = tmp_path / "leak.tsv"
    p.write_bytes("Identifiant\tcommentaire\n789\tpatient \xe9tudi\xe9\n".encode("cp1252"))
    with pytest.raises(AttributionError, match="labs="):
        read_leak(p, case_key=KEY, id_column="Identifiant")
    r = read_leak(p, case_key=KEY, id_column="Identifiant", labs=["L02", "L01"])
    # one lab-less IPP -> one row per lab, one leak id keyed with the lab "*"
    assert r["lab"].tolist() == ["L01", "L02"]
    assert r["patient"].tolist() == [pseudonymise_one(KEY, lab, "789") for lab in ("L01", "L02")]
    assert set(r["leak_id"]) == {pseudonymise_one(KEY, "*", "789")}


def test_pseudonyms_pass_through():
    ps = [pseudonymise_one(KEY, "L01", "1"), pseudonymise_one(KEY, "L02", "2")]
    r = read_leak(pd.Series(ps), case_key=KEY)
    # already keyed: kept as they are, lab unknown (pseudonyms are lab-specific anyway)
    assert r["patient"].tolist() == ps and r["lab"].isna().all()
    assert (r["id_kind"] == "pseudonym").all()


def test_nir_through_patient_index(tmp_path):
    a, b, c = nir("1850775123456"), nir("2900133222111"), nir("1700299888777")
    (tmp_path / "idx_L01.csv").write_text(f"IPP;NIR\n111;{a}\n222;{b}\n", encoding="utf-8")
    (tmp_path / "idx_L02.csv").write_text(f"IPP,NIR\n333,{c}\n", encoding="utf-8")
    leak = tmp_path / "leak.csv"
    grouped = f"{a[0]} {a[1:3]} {a[3:5]} {a[5:7]} {a[7:10]} {a[10:13]} {a[13:]}"
    unknown = nir("1111111111111")
    leak.write_text(f"NIR;nom\n{grouped};X\n{c};Y\n{unknown};Z\n", encoding="utf-8")
    with pytest.raises(AttributionError, match="patient_index"):
        read_leak(leak, case_key=KEY)
    r = read_leak(
        leak,
        case_key=KEY,
        patient_index={"L01": tmp_path / "idx_L01.csv", "L02": tmp_path / "idx_L02.csv"},
    )
    found = r[r["patient"].notna()].sort_values("lab")
    # a grouped NIR matches its index entry; each maps to (lab, IPP)'s pseudonym
    assert found["patient"].tolist() == [
        pseudonymise_one(KEY, "L01", "111"),
        pseudonymise_one(KEY, "L02", "333"),
    ]
    assert r["patient"].isna().sum() == 1 and (r["id_kind"] == "nir").all()
    text = r.astype(str).to_string()
    for raw in (a, c, unknown, a[:13], "111", "333"):
        assert raw not in text  # no raw NIR or IPP survives the read


def test_no_identifier_column():
    with pytest.raises(AttributionError, match="no identifier column"):
        read_leak(pd.DataFrame({"x": ["1"], "y": ["2"]}), case_key=KEY)


def test_raw_ids_need_the_case_key(monkeypatch):
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    # a random key would pseudonymise to values no evidence holds: refuse, say why
    with pytest.raises(AttributionError, match="case_key"):
        read_leak(["123"], labs=["L01"])
    ps = [pseudonymise_one(KEY, "L01", "1")]
    assert read_leak(ps)["patient"].tolist() == ps  # pseudonyms need no key


def test_finess_lab_column_mapped_to_lab_code(tmp_path):
    p = tmp_path / "leak.csv"
    p.write_text("FINESS;IPP\n350409199;77\n", encoding="utf-8")
    r = read_leak(p, case_key=KEY, lab_aliases={"350409199": "L01"})
    # the pseudonym is keyed on the lab code the evidence uses, not on the FINESS number
    assert r["lab"].tolist() == ["L01"]
    assert r["patient"].tolist() == [pseudonymise_one(KEY, "L01", "77")]
