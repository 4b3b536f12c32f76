"""read_dump (issue 13 item 1): dump shapes, mappings, dates, duplicates, privacy.

Every person and NIR here is fake; NIR keys are worked out in test_nir_structure.py.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from labforensics.errors import EvidenceError, ProfileError
from labforensics.leak.dump import read_dump
from labforensics.leak.mapping import choose_mapping, load_mapping
from labforensics.leak.people import PEOPLE_COLUMNS
from labforensics.privacy import CaseKey, dump_row_id

KEY = CaseKey(b"leak-reader-test-key-0123456789a")
RAW = ["Dupont", "Hélène", "HÃ©lÃ¨ne", "Martin", "Bernard", "1841276451089", "2690", "Leroy",
       "Garnier", "0612345678", "Rue des Lilas"]  # fmt: skip

A = (
    "Nom,Prénom,DDN,N° SS,Tel,Date prélèvement,Laboratoire,Examens\n"
    "Dupont,HÃ©lÃ¨ne,05/03/12,NULL,06 12 34 56 78,43831,Labo Nord,NFS\n"  # line 2
    "Martin,Jean,60,1 84 12 76 451 089 46,-,03/01/2020,,\n"  # line 3: serial 60 = 1900-02-29
    ",,,,,,,\n"  # line 4: nothing about a person
    "Bernard,Zoé,38-01-15,,N/A,2020-01-04,,TSH\n"  # line 5
    "Bernard,Zoé,38-01-15,,N/A,2020-01-04,,TSH\n"  # line 6: same row again in this file
    "\n"  # line 7: blank
    "Leroy,Paul,01/01/1970\n"  # line 8: malformed
)
B = (
    "Nom,Prénom,DDN,N° SS,Tel,Date prélèvement,Laboratoire,Examens\n"
    "Martin,Jean,60,1 84 12 76 451 089 46,-,03/01/2020,,\n"  # line 2: the row of a.csv:3
    "Garnier,Luc,00/00/0000,2 69 02 2A 005 012 48,0612345678,04/01/2020,,\n"  # line 3: wrong key
)


@pytest.fixture
def dump(tmp_path):
    (tmp_path / "a.csv").write_text(A, encoding="utf-8")
    (tmp_path / "b.csv").write_text(B, encoding="utf-8")
    return read_dump(tmp_path, case_key=KEY, tz="Europe/Paris", lab_aliases={"Labo Nord": "L01"})


def _line(d, file, line):
    rows = d.people[(d.people["source_file"] == file) & (d.people["source_line"] == line)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_columns_and_accounting(dump):
    # a.csv: 8 lines = header + 3 used (2, 5, 6) + no person (4) + blank (7) + malformed (8)
    # b.csv: 3 lines = header + used (3) + duplicate of a.csv:3 (2)
    assert list(dump.people.columns) == list(PEOPLE_COLUMNS)
    assert {c: str(t) for c, t in dump.people.dtypes.items()} == PEOPLE_COLUMNS
    assert dump.report["lines"] == {"lines": 11, "used": 5, "header": 2, "blank": 1,
                                    "malformed": 1, "continued": 0, "no_person": 1, "duplicate": 1}  # fmt: skip
    assert dump.report["accounted"]
    assert (
        dump.report["repeated_within_file"] == 1
    )  # a.csv:6 repeats a.csv:5, kept (one per sample)
    rej = {(r.source_file, r.source_line): r.reason for r in dump.rejected.itertuples()}
    assert rej == {
        ("a.csv", 4): "no person field",
        ("a.csv", 8): "malformed: expected 8 fields, saw 3",
        ("b.csv", 2): "duplicate row of a.csv:3",
    }


def test_row_ids_are_keyed_on_file_and_line(tmp_path, dump):
    digest = hashlib.sha256(A.encode("utf-8")).hexdigest()
    assert _line(dump, "a.csv", 2)["record_id"] == dump_row_id(KEY, digest, 2)


def test_mojibake_repaired_and_counted(dump):
    row = _line(dump, "a.csv", 2)
    assert row["first_name"] == "HELENE"
    assert dump.report["mojibake_repaired"] == {"first_name": 1}


def test_dates(dump):
    row = _line(dump, "a.csv", 2)
    # dd/mm/yy in a file whose newest date is 2020: 12 -> 2012
    assert row["birth_date"] == "2012-03-05"
    # spreadsheet serial 43831 (1900 system) = 2020-01-01, local midnight in Paris = 23:00 UTC
    assert row["sample_date"] == pd.Timestamp("2019-12-31 23:00", tz="UTC")
    # serial 60 is the non-existent 1900-02-29: flagged, unknown
    m = _line(dump, "a.csv", 3)
    assert pd.isna(m["birth_year"]) and pd.isna(m["birth_date"])
    assert (
        dump.report["dates"]["birth_date"]["serial_1900_02_29"] == 1
    )  # b.csv:2, a copy, is dropped before normalising
    # 38-01-15 is read as dd-mm-yy: day 38 does not exist -> unknown, counted invalid
    z = _line(dump, "a.csv", 5)
    assert pd.isna(z["birth_date"]) and z["birth_month"] == 1 and z["birth_year"] == 2015
    assert dump.report["dates"]["birth_date"]["invalid"] == 2  # a.csv:5 and its repeat a.csv:6


def test_two_digit_year_most_recent_past(tmp_path):
    (tmp_path / "d.csv").write_text(
        "Nom;DDN;Date prélèvement\nA;01/02/38;01/10/2020\nB;01/02/20;01/10/2020\n"
    )
    d = read_dump(tmp_path, case_key=KEY)
    # 38 -> 1938 (2038 is after 2020), 20 -> 2020
    assert list(d.people["birth_date"]) == ["1938-02-01", "2020-02-01"]
    assert d.report["files"][0]["two_digit_year_pivot"] == 2020


def test_empty_markers_and_phone_and_lab(dump):
    row = _line(dump, "a.csv", 2)
    assert pd.isna(row["nir"]) and not row["nir_raw_invalid"]  # NULL is empty, not invalid
    assert row["phone"] == "+33612345678" and row["lab"] == "L01"
    m = _line(dump, "a.csv", 3)
    assert pd.isna(m["phone"]) and pd.isna(m["lab"])  # "-" is empty; no lab named
    assert m["nir"] == "184127645108946"
    g = _line(dump, "b.csv", 3)
    assert pd.isna(g["nir"]) and g["nir_raw_invalid"]  # Corsican NIR with key 48 (47 is right)
    assert pd.isna(g["birth_year"])  # 00/00/0000 is empty


def test_columns_reported_by_name(dump):
    cols = dump.report["files"][0]["columns"]
    assert {"field": "nir", "source": "header 'N° SS' (column 4)"} in cols
    assert {"field": "exams", "source": "header 'Examens' (column 8)"} in cols


def test_nothing_raw_in_repr_report_or_rejected(dump):
    text = repr(dump) + json.dumps(dump.report) + dump.rejected.to_csv()
    for raw in RAW:
        assert raw not in text, raw


def test_pipe_separator_utf16_and_1904_mapping(tmp_path):
    # a UTF-16 (BOM) tab file, a pipe file, and a 1904-system mapping chosen by header
    (tmp_path / "u.txt").write_bytes(
        "Nom\tPrénom\tDDN\r\nÉlan\tChloé\t03/03/2003\r\n".encode("utf-16")
    )
    (tmp_path / "p.csv").write_text("NOM|PRENOM|DATE_NAISSANCE\nAbel|Zoé|1999-12-31\n")
    (tmp_path / "mac.csv").write_text("Patient;Naiss\nRoux;42369\n")
    m = {"name": "mac_export", "header": "Patient;Naiss", "date_system": 1904,
         "columns": {"surname": "Patient", "birth_date": "Naiss"}}  # fmt: skip
    d = read_dump(tmp_path, case_key=KEY, mapping=m)
    got = dict(zip(d.people["source_file"], d.people["birth_date"], strict=True))
    # 1904 system: serial 42369 = 1904-01-01 + 42369 days = 2020-01-01
    assert got == {"u.txt": "2003-03-03", "p.csv": "1999-12-31", "mac.csv": "2020-01-01"}
    files = {f["file"]: f for f in d.report["files"]}
    assert files["p.csv"]["separator"] == "|" and files["u.txt"]["encoding"] == "utf-16"
    assert files["mac.csv"]["mapping"] == "mac_export"


def test_headerless_file_by_position_chosen_by_name(tmp_path):
    (tmp_path / "extract_01.txt").write_text("Dupont;Jean;01/12/1984\nMartin;Léa;00/06/2012\n")
    m = {"name": "extract", "files": "extract_*.txt", "has_header": False,
         "columns": {"surname": 1, "first_name": 2, "birth_date": 3}}  # fmt: skip
    d = read_dump(tmp_path, case_key=KEY, mapping=[m])
    assert list(d.people["surname"]) == ["DUPONT", "MARTIN"]
    assert list(d.people["source_line"]) == [1, 2]
    assert d.report["lines"]["header"] == 0 and d.report["lines"]["used"] == 2
    assert {"field": "surname", "source": "column 1"} in d.report["files"][0]["columns"]


def test_headerless_without_mapping_is_a_clear_error(tmp_path):
    (tmp_path / "x.csv").write_text("Dupont;Jean;01/12/1984\n")
    with pytest.raises(EvidenceError, match="x.csv.*column mapping") as err:
        read_dump(tmp_path, case_key=KEY)
    assert "Dupont" not in str(err.value)


def test_fixed_width(tmp_path):
    lines = [
        "NOM       PRENOM    DDN       ",
        "Dupont    Jean      01/12/1984",
        "Martin    Léa       15/09/2014",
        "short",
    ]
    (tmp_path / "fw.txt").write_text("\n".join(lines) + "\n")
    m = {"name": "fw", "files": "*.txt",
         "columns": {"surname": {"start": 1, "end": 10}, "first_name": {"start": 11, "end": 20},
                     "birth_date": {"start": 21, "end": 30, "format": "%d/%m/%Y"}}}  # fmt: skip
    d = read_dump(tmp_path, case_key=KEY, mapping=m)
    assert list(d.people["first_name"]) == ["JEAN", "LEA"]
    assert list(d.people["birth_date"]) == ["1984-12-01", "2014-09-15"]
    # header, 2 used, "short" malformed (shorter than column start 21)
    assert d.report["lines"] == {"lines": 4, "used": 2, "header": 1, "blank": 0, "malformed": 1,
                                 "continued": 0, "no_person": 0, "duplicate": 0}  # fmt: skip
    assert {"field": "surname", "source": "characters 1-10"} in d.report["files"][0]["columns"]


def test_mapping_choice_order():
    by_header = load_mapping({"name": "h", "header": "A;B", "columns": {"surname": "A"}})
    by_name = load_mapping({"name": "n", "files": "dump_*.csv", "columns": {"surname": 1}})
    maps = (by_name, by_header)
    # the header wins over the name; then the name; else none (two specific mappings)
    assert choose_mapping(maps, "dump_1.csv", "A;B").name == "h"
    assert choose_mapping(maps, "DUMP_2.csv", "X;Y").name == "n"
    assert choose_mapping(maps, "other.csv", "X;Y") is None


def test_mapping_errors_name_the_key():
    with pytest.raises(ProfileError, match="columns.shoe_size"):
        load_mapping({"name": "x", "columns": {"shoe_size": "A"}})
    with pytest.raises(ProfileError, match="has_header = false"):
        load_mapping({"name": "x", "has_header": False, "columns": {"surname": "Nom"}})


def test_mapping_names_a_missing_column(tmp_path):
    (tmp_path / "d.csv").write_text("Nom;Prénom\nA;B\n")
    m = {"name": "m", "columns": {"surname": "Nom", "nir": "Secu"}}
    with pytest.raises(ProfileError, match="'Secu'.*d.csv"):
        read_dump(tmp_path, case_key=KEY, mapping=m)


def test_quoted_lines_keep_their_order(tmp_path):
    # lines 2 and 4 are quoted (a separator inside a quoted cell, a doubled quote), 3 and 5 are
    # not: the two parsers' rows are put back in line order; line 6 has 2 fields
    text = 'Nom;Prénom;Ville\n"Roux";"Luc";"Paris; 12e"\nAbel;Zoé;Lyon\n"O""Neil";Ana;Nice\nVidal;Tom;Metz\nX;Y\n'
    (tmp_path / "q.csv").write_text(text)
    d = read_dump(tmp_path, case_key=KEY)
    assert list(d.people["source_line"]) == [2, 3, 4, 5]
    assert list(d.people["surname"]) == ["ROUX", "ABEL", "O NEIL", "VIDAL"]
    assert list(d.people["city"]) == ["PARIS 12E", "LYON", "NICE", "METZ"]
    assert d.rejected["reason"].tolist() == ["malformed: expected 3 fields, saw 2"]


def test_mapping_from_toml_file(tmp_path):
    # the patient-index.md example shape: encoding, separator, per-field format, empty list
    toml = tmp_path / "m.toml"
    toml.write_text(
        'name = "lab_x"\nfiles = "export_*.txt"\nencoding = "cp1252"\nseparator = "\\t"\n'
        'date_format = "%d/%m/%Y"\nempty = ["", "INCONNU"]\n[columns]\nsurname = "Nom"\n'
        'first_name = "Prénom"\nbirth_date = { column = "DDN", format = "%Y%m%d" }\n'
        'sample_date = "Date"\n',
        encoding="utf-8",
    )
    data = "Nom\tPrénom\tDDN\tDate\r\nHéron\tINCONNU\t19840112\t03/01/2020\r\n"
    (tmp_path / "export_1.txt").write_bytes(data.encode("cp1252"))
    d = read_dump(tmp_path / "export_1.txt", case_key=KEY, mapping=toml)
    row = d.people.iloc[0]
    # %Y%m%d read by the field's format; INCONNU is empty by the mapping
    assert row["surname"] == "HERON" and pd.isna(row["first_name"])
    assert row["birth_date"] == "1984-01-12"
    assert (
        d.report["files"][0]["mapping"] == "lab_x" and d.report["files"][0]["encoding"] == "cp1252"
    )


def test_same_sample_in_another_shape_is_flagged_not_dropped(tmp_path):
    # one sample exported twice: ';' with dd/mm/yyyy and a phone, '|' with dd/mm/yy, a NIR and
    # the phone written otherwise; equal on every common field once normalised
    (tmp_path / "a.csv").write_text(
        "Nom;Prénom;Tel;Date prélèvement\nNeusa;Faba;06 45 30 94 73;12/04/2015\nRoux;Luc;;12/04/2015\n"
    )
    (tmp_path / "b.csv").write_text(
        "NOM|PRENOM|Num secu|Tel|Date prélèvement\nNEUSA|Faba|N/A|0645309473|12/04/15\nROUX|Lucas|||13/04/15\n"
    )
    d = read_dump(tmp_path, case_key=KEY)
    assert len(d.people) == 4  # both copies kept: the later may hold more fields
    first = _line(d, "a.csv", 2)["record_id"]
    assert _line(d, "b.csv", 2)["duplicate_of"] == first
    assert pd.isna(_line(d, "b.csv", 3)["duplicate_of"])  # another first name and day
    assert d.report["same_sample_other_shape"] == 1 and d.report["lines"]["duplicate"] == 0


def test_fixed_width_inferred_from_a_header_without_separators(tmp_path):
    # names separated by 2+ spaces: each column runs from its name to the next name;
    # a line whose last cell is empty may end early (line 3)
    lines = ["NOM       PRENOM    DATE_PREL ", "Dupont    Jean      03/01/2020", "Martin    Léa"]
    (tmp_path / "liste.txt").write_text("\n".join(lines) + "\n")
    d = read_dump(tmp_path, case_key=KEY)
    assert list(d.people["first_name"]) == ["JEAN", "LEA"]
    assert d.people["sample_date"].isna().tolist() == [False, True]
    f = d.report["files"][0]
    assert f["mapping"] == "fixed width inferred from the header" and f["fixed_width"]
    assert {"field": "first_name", "source": "header 'PRENOM' (characters 11-20)"} in f["columns"]
