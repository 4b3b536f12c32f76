"""read_patient_index (issue 13 item 1): shapes, accounting, NIR sharing, privacy.

Every person and NIR here is fake; NIR keys are worked out in test_nir_structure.py.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from labforensics.errors import AttributionError, LabForensicsError
from labforensics.leak.patients import LAB_FROM_NAME, read_patient_index
from labforensics.leak.people import PEOPLE_COLUMNS
from labforensics.privacy import CaseKey, pseudonymise_one

KEY = CaseKey(b"leak-reader-test-key-0123456789a")
NIR_DUPONT = "1 84 12 76 451 089 46"  # 1841276451089 mod 97 = 51 -> key 46
NIR_CORSICA = "2 69 02 2A 005 012 47"  # 2A -> 19: 2690219005012 mod 97 = 50 -> 47
NIR_OVERSEAS = "1 85 07 972 12 005 08"  # 972 + commune 12: mod 97 = 89 -> 08
NIR_WRONG_KEY = "1 84 12 76 451 089 47"  # right key is 46
HEADER = (
    "IPP;NOM;NOM_NAISSANCE;PRENOM;SEXE;DATE_NAISSANCE;NIR;QUALITE;RANG;ADRESSE;CODE_POSTAL;"
    "VILLE;TELEPHONE;DATE_CREATION;DERNIERE_VISITE"
)
ROWS = [
    # line 2: the insured father
    f"000101;Dupont;;Jean-Pierre;M;01/12/1984;{NIR_DUPONT};00;1;12 bd Victor Hugo;75012;Paris;06 12 34 56 78;01/02/2015;03/04/2020",
    # line 3: his daughter on his NIR, birth day unknown
    f"000102;Dupont;;Léa;F;00/06/2012;{NIR_DUPONT};06;1;12 bd Victor Hugo;75012;Paris;06 12 34 56 78;01/02/2015;03/04/2020",
    # lines 4-5: twins on his NIR, same birth date, ranks 1 and 2
    f"000103;Dupont;;Tom;M;15/09/2014;{NIR_DUPONT};06;1;12 bd Victor Hugo;75012;Paris;;01/02/2015;",
    f"000104;Dupont;;Théo;M;15/09/2014;{NIR_DUPONT};06;2;12 bd Victor Hugo;75012;Paris;;01/02/2015;",
    # line 6: identity duplicate of 000101 (second IPP, no NIR)
    "000105;DUPONT;;JEAN PIERRE;M;01/12/1984;;00;1;12 BD VICTOR HUGO;75012;PARIS;0612345678;05/06/2018;",
    # line 7: born in Corsica
    f"000106;Casanova;Casanova;Marie;F;02/02/1969;{NIR_CORSICA};00;1;3 av Foch;20000;Ajaccio;;01/01/2016;",
    # line 8: born in Martinique
    f"000107;Lubin;;Paul;M;10/07/1985;{NIR_OVERSEAS};00;1;;;;;01/01/2016;",
    # line 9: a NIR with a wrong key
    f"000108;Morel;;Anne;F;01/12/1984;{NIR_WRONG_KEY};00;1;;;;;01/01/2016;",
    # line 10: day and month swapped at the desk (read as written)
    "000109;Petit;;Luc;M;05/03/1980;NULL;00;1;;;;N/A;01/01/2016;",
    "",  # line 11: blank
    # line 12: IPP 000101 again with other content: quarantined, never merged
    "000101;Durand;;Paul;M;02/02/1970;;00;1;;;;;01/01/2016;",
    "000110;too;few",  # line 13: malformed
]
RAW_VALUES = ["Dupont", "DUPONT", "Casanova", "Lubin", "Morel", "Petit", "Durand", "Jean-Pierre",
              "Victor Hugo", "VICTOR", "Ajaccio", "1841276451089", "84 12 76", "2690", "000101",
              "000108", "06 12 34", "612345678"]  # fmt: skip


@pytest.fixture
def index(tmp_path):
    p = tmp_path / "PATIENTS_L01.csv"
    p.write_bytes(("\ufeff" + "\r\n".join([HEADER, *ROWS]) + "\r\n").encode("utf-8"))
    return read_patient_index(p, case_key=KEY, tz="Europe/Paris")


def _by_ipp(index, ipp):
    pid = pseudonymise_one(KEY, "L01", ipp)
    rows = index.people[index.people["record_id"] == pid]
    assert len(rows) == 1
    return rows.iloc[0]


def test_columns_and_dtypes(index):
    # the contract's frame, exactly
    assert list(index.people.columns) == list(PEOPLE_COLUMNS)
    assert {c: str(t) for c, t in index.people.dtypes.items()} == PEOPLE_COLUMNS


def test_every_line_accounted_for(index):
    # 13 lines: header, 9 patients, 1 blank, 1 IPP repeated, 1 malformed
    assert index.report["lines"] == {"lines": 13, "used": 9, "header": 1, "blank": 1,
                                     "malformed": 1, "continued": 0, "no_ipp": 0, "no_lab": 0, "duplicate": 0,
                                     "ipp_repeated": 1}  # fmt: skip
    assert index.report["accounted"]
    rej = index.rejected.set_index("source_line")["reason"].to_dict()
    assert rej == {
        12: "IPP already seen at PATIENTS_L01.csv:2",
        13: "malformed: expected 15 fields, saw 3",
    }


def test_ipp_leading_zeros_and_lab_from_file_name(index):
    # the P id is HMAC(key, "L01" + "000101"): leading zeros kept, lab from PATIENTS_L01.csv
    row = _by_ipp(index, "000101")
    assert row["lab"] == "L01" and row["source_line"] == 2
    assert row["surname"] == "DUPONT" and row["first_name"] == "JEAN PIERRE"
    assert row["first_name_first"] == "JEAN"
    assert row["address"] == "12 BOULEVARD VICTOR HUGO" and row["city"] == "PARIS"
    assert row["phone"] == "+33612345678" and row["postcode"] == "75012"
    # 01/02/2015 local (Paris, winter UTC+1) starts at 2015-01-31 23:00 UTC
    assert row["created"] == pd.Timestamp("2015-01-31 23:00", tz="UTC")


def test_dependant_shares_the_nir(index):
    # father and three children carry one NIR; QUALITE tells them apart
    shared = index.people[index.people["nir"] == "184127645108946"]
    assert len(shared) == 4
    assert sorted(shared["qualite"]) == ["00", "06", "06", "06"]
    lea = _by_ipp(index, "000102")
    # 00/06/2012: year and month known, day unknown, no full date
    assert (lea["birth_year"], lea["birth_month"]) == (2012, 6)
    assert pd.isna(lea["birth_day"]) and pd.isna(lea["birth_date"])
    # the three children's NIR disagrees with their own sex/birth (information, not an error)
    assert index.report["nir_disagrees_with_birth_date"] == {"insured": 0, "dependant": 3}


def test_twins_have_ranks(index):
    tom, theo = _by_ipp(index, "000103"), _by_ipp(index, "000104")
    assert tom["birth_date"] == theo["birth_date"] == "2014-09-15"
    assert (tom["rang"], theo["rang"]) == (1, 2)
    assert theo["first_name"] == "THEO"


def test_identity_duplicate_keeps_two_patients(index):
    # two IPPs, one person: both kept, same normalised identity, different pseudonyms
    a, b = _by_ipp(index, "000101"), _by_ipp(index, "000105")
    cols = ["surname", "first_name", "birth_date", "address", "phone"]
    assert list(a[cols]) == list(b[cols])
    assert a["record_id"] != b["record_id"]


def test_corsican_and_overseas_nirs(index):
    assert _by_ipp(index, "000106")["nir"] == "269022A00501247"
    assert _by_ipp(index, "000107")["nir"] == "185079721200508"


def test_wrong_key_flagged_and_dropped(index):
    row = _by_ipp(index, "000108")
    assert pd.isna(row["nir"]) and bool(row["nir_raw_invalid"])
    # 6 NIRs written and valid (4 Dupont, Corsica, Martinique), 1 invalid; NULL is empty
    assert index.report["nir"] == {"written": 7, "valid": 6, "invalid": 1}


def test_day_month_swap_read_as_written(index):
    # 05/03/1980 is the 5th of March, whatever the desk meant
    assert _by_ipp(index, "000109")["birth_date"] == "1980-03-05"
    assert pd.isna(_by_ipp(index, "000109")["phone"])  # N/A is empty


def test_columns_reported_by_header_name(index):
    cols = index.report["files"][0]["columns"]
    assert {"field": "nir", "source": "header 'NIR' (column 7)"} in cols
    assert index.report["files"][0]["encoding"] == "utf-8-sig"


def test_nothing_raw_in_repr_report_or_rejected(index):
    text = repr(index) + json.dumps(index.report) + index.rejected.to_csv()
    for raw in RAW_VALUES:
        assert raw not in text, raw


def test_cp1252_tab_lab_column_and_aliases(tmp_path):
    # no PATIENTS_ name: the lab comes from the Laboratoire column, its alias resolved
    p = tmp_path / "export.txt"
    text = "NumPatient\tNom\tPrénom\tDDN\tLaboratoire\r\n42\tHéron\tHélène\t01/02/1990\tNord\r\n43\tAbel\tZoé\t02/02/1991\t\r\n"
    p.write_bytes(text.encode("cp1252"))
    case = SimpleNamespace(tz="Europe/Paris", lab_aliases={"Nord": "L02"}, key_file=None)
    idx = read_patient_index(p, case, case_key=KEY)
    assert idx.report["files"][0]["encoding"] == "cp1252"
    assert idx.report["files"][0]["separator"] == "\t"
    assert list(idx.people["lab"]) == ["L02"]
    assert list(idx.people["first_name"]) == ["HELENE"]
    assert idx.people["record_id"].iat[0] == pseudonymise_one(KEY, "L02", "42")
    assert idx.report["lines"]["no_lab"] == 1


def test_no_lab_is_an_error_naming_the_fix(tmp_path):
    p = tmp_path / "export.csv"
    p.write_text("IPP;NOM;PRENOM\n1;Abel;Zoé\n", encoding="utf-8")
    with pytest.raises(AttributionError, match="PATIENTS_<LAB>"):
        read_patient_index(p, case_key=KEY)


def test_utf16_with_bom_read(tmp_path):
    # a spreadsheet's "Unicode text": UTF-16LE with BOM, tab-separated
    p = tmp_path / "PATIENTS_L03.txt"
    p.write_bytes(
        "IPP\tNOM\tPRENOM\tDATE_NAISSANCE\r\n7\tÉlan\tChloé\t03/03/2003\r\n".encode("utf-16")
    )
    idx = read_patient_index(p, case_key=KEY)
    assert list(idx.people["surname"]) == ["ELAN"] and list(idx.people["birth_date"]) == [
        "2003-03-03"
    ]
    assert idx.report["files"][0]["encoding"] == "utf-16"


@pytest.mark.parametrize(
    "data",
    [
        "IPP\tNOM\r\n7\tÉlan\r\n".encode("utf-16-le"),  # UTF-16 without BOM
        bytes(range(256)) * 8,  # binary
    ],
)
def test_refused_files_name_the_file_and_no_value(tmp_path, data):
    p = tmp_path / "PATIENTS_L04.csv"
    p.write_bytes(data)
    with pytest.raises(LabForensicsError) as err:
        read_patient_index(p, case_key=KEY)
    msg = str(err.value)
    assert "PATIENTS_L04.csv" in msg and "expected" in msg and "lan" not in msg


def test_same_row_in_two_files_is_a_duplicate(tmp_path):
    # one export saved twice: the second copy's rows are duplicates, kept once
    text = "IPP;NOM;PRENOM\n1;Abel;Zoé\n2;Roux;Luc\n"
    (tmp_path / "PATIENTS_L05.csv").write_text(text)
    (tmp_path / "PATIENTS_L05_copy.csv").write_text(text.replace("2;Roux;Luc", "3;Vidal;Ana"))
    idx = read_patient_index(tmp_path, case_key=KEY, lab_aliases={"L05_copy": "L05"})
    assert len(idx.people) == 3  # IPPs 1, 2, 3 of L05
    assert idx.report["lines"]["duplicate"] == 1
    assert idx.rejected["reason"].tolist() == ["duplicate row of PATIENTS_L05.csv:2"]


def test_lab_from_file_name_both_namings():
    # the format's PATIENTS_<LAB> and the synthetic NIR lists' patient_index_<LAB>
    assert LAB_FROM_NAME.match("PATIENTS_L01.csv")["lab"] == "L01"
    assert LAB_FROM_NAME.match("patient_index_L07.csv")["lab"] == "L07"
    assert LAB_FROM_NAME.match("index_L07.csv") is None
