"""A quoted field holding a line break in a patient index or a dump (QA session 10).

Legal CSV: the row is read whole and numbered by the line where it starts; the lines
inside the field are counted ``continued``; a quote left open sets its line aside and
the lines after it are read on their own. Never a traceback, never a cell value in a
reason. Every person here is fake.
"""

from __future__ import annotations

import json

import pytest

from labforensics.leak.dump import read_dump
from labforensics.leak.patients import read_patient_index
from labforensics.privacy import CaseKey, pseudonymise_one

KEY = CaseKey(b"leak-reader-test-key-0123456789a")
HEADER = "IPP;NOM;PRENOM;SEXE;DATE_NAISSANCE;ADRESSE;CODE_POSTAL;VILLE"


def _index(tmp_path, rows, eol="\n"):
    p = tmp_path / "PATIENTS_L01.csv"
    p.write_bytes((eol.join([HEADER, *rows]) + eol).encode("utf-8"))
    return read_patient_index(p, case_key=KEY, tz="Europe/Paris")


def _line_of(index, ipp):
    pid = pseudonymise_one(KEY, "L01", ipp)
    rows = index.people[index.people["record_id"] == pid]
    assert len(rows) == 1, ipp
    return int(rows.iloc[0]["source_line"])


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_line_break_in_a_quoted_field_reads_one_row(tmp_path, eol):
    rows = [
        "001;Dupont;Jean;M;01/12/1984;1 rue;75001;Paris",  # line 2
        '002;"MULTI',  # line 3: the row starts here ...
        'LINE";Léa;F;02/02/1990;"12 bd',  # line 4 ... its surname closes, its address opens
        "",  # line 5: a blank line inside the quoted address
        'bât. B";75012;Paris',  # line 6: ... and the row ends
        "003;Martin;Paul;M;03/03/1970;;;",  # line 7
        '004;"Petit";Luc;M;04/04/1960;"2; rue";75002;Paris',  # line 8: quoted, one line
    ]
    idx = _index(tmp_path, rows, eol)
    assert {ipp: _line_of(idx, ipp) for ipp in ("001", "002", "003", "004")} == {
        "001": 2, "002": 3, "003": 7, "004": 8,
    }  # fmt: skip
    assert idx.report["lines"] == {"lines": 8, "used": 4, "header": 1, "blank": 0,
                                   "malformed": 0, "continued": 3, "no_ipp": 0, "no_lab": 0,
                                   "duplicate": 0, "ipp_repeated": 0}  # fmt: skip
    assert idx.report["accounted"] and len(idx.rejected) == 0
    row = idx.people.set_index("source_line").loc[3]
    assert row["first_name"] == "LEA" and row["birth_date"] == "1990-02-02"
    assert row["surname"].split() == ["MULTI", "LINE"]
    assert idx.people.set_index("source_line").loc[8, "postcode"] == "75002"


def test_quote_left_open_sets_its_line_aside_and_reads_the_rest(tmp_path):
    rows = [
        "001;Dupont;Jean;M;01/12/1984;1 rue;75001;Paris",  # line 2
        '002;"OPEN;Léa;F;02/02/1990;;;',  # line 3: the quote never closes
        "003;Martin;Paul;M;03/03/1970;;;",  # line 4
        "004;Petit;Luc;M;04/04/1960;;;",  # line 5
    ]
    idx = _index(tmp_path, rows)
    assert sorted(idx.people["source_line"].tolist()) == [2, 4, 5]
    assert idx.report["lines"]["malformed"] == 1 and idx.report["lines"]["continued"] == 0
    assert idx.report["accounted"]
    assert idx.rejected.set_index("source_line")["reason"].to_dict() == {
        3: "malformed: a quoted field opened on this line is not closed"
    }


def test_quote_open_on_the_last_line(tmp_path):
    idx = _index(tmp_path, ["001;Dupont;Jean;M;01/12/1984;;;", '002;"OPEN;Léa;F'])
    assert idx.people["source_line"].tolist() == [2]
    assert idx.rejected["source_line"].tolist() == [3] and idx.report["accounted"]


def test_multiline_row_of_the_wrong_width_is_one_malformed_row(tmp_path):
    rows = ['001;"Dupont', 'Jean";M', "002;Martin;Paul;M;03/03/1970;;;"]
    idx = _index(tmp_path, rows)
    assert idx.people["source_line"].tolist() == [4]
    assert idx.report["lines"]["continued"] == 1 and idx.report["accounted"]
    assert idx.rejected.set_index("source_line")["reason"].to_dict() == {
        2: "malformed: expected 8 fields, saw 3 (a quoted field over lines 2-3)"
    }


def test_dump_multiline_row_and_no_value_in_the_report(tmp_path):
    lines = [
        "NOM;PRENOM;DATE_NAISSANCE;SEXE;ADRESSE",
        "Dupont;Jean;01/12/1984;M;1 rue",  # line 2
        '"NOM',  # line 3: one row over lines 3-4
        'SUITE";Prenom;01/01/1960;M;',
        '"OUVERT;Léa;02/02/1990;F;',  # line 5: quote never closed
        "Martin;Paul;03/03/1970;M;",  # line 6
    ]
    (tmp_path / "leak.csv").write_text("\n".join(lines) + "\n", encoding="cp1252")
    d = read_dump(tmp_path, case_key=KEY, tz="Europe/Paris")
    assert d.people["source_line"].tolist() == [2, 3, 6]
    assert d.report["lines"] == {"lines": 6, "used": 3, "header": 1, "blank": 0, "malformed": 1,
                                 "continued": 1, "no_person": 0, "duplicate": 0}  # fmt: skip
    assert d.report["accounted"]
    text = json.dumps(d.report, default=str) + d.rejected.to_csv()
    for raw in ("NOM\n", "SUITE", "OUVERT", "Dupont", "Martin", "Prenom", "1 rue"):
        assert raw not in text


@pytest.mark.parametrize(
    ("text", "used", "rejected"),
    [
        # the open quote's line is malformed, the next one read alone (invalid: a quote)
        ('IPP\n"4000\n0001"\n40000002\n', 1, {2: "open", 3: "invalid"}),
        ('IPP\n40000001\n"40000003"\n\n40000002\n', 3, {}),  # quoted on one line: read
        ('IPP\n40000001\n"4000', 1, {3: "open"}),  # left open on the last line
    ],
)
def test_identifier_list_line_break_in_a_quote_is_set_aside(tmp_path, text, used, rejected):
    # a list's rows are lines: csv no longer joins two of them (every later line number
    # shifted by one and a line went unaccounted for: 4 lines, 2 identifiers, no reject)
    from labforensics.leak.reader import read_leak

    p = tmp_path / "list.csv"
    p.write_text(text)
    r = read_leak(p, case_key=KEY, labs=["L01"])
    rep = r.attrs["leak_report"]
    assert rep["rows_used"] == used == len(r)
    parts = ("header_line", "blank", "malformed", "empty", "invalid", "rows_used")
    assert rep["lines_read"] == sum(bool(rep[k]) if k == "header_line" else rep[k] for k in parts)
    kinds = {
        x["line"]: "open" if x["reason"].startswith("a quoted field is not closed") else "invalid"
        for x in rep["rejected"]
    }
    assert kinds == rejected
    assert "4000" not in json.dumps(rep["rejected"])
