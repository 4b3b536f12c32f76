"""A leaked identifier list accepts no junk (QA session 9, item 2): an identifier without
its kind's shape (an IPP is digits, ``shared/formats/patient-index.md``), one starting
like a spreadsheet formula, or a lab starting so, is set aside with its line and reason,
never counted; a UTF-16 copy reads the same; the lines set aside reach quarantine.csv."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from labforensics.leak.quarantine import list_quarantine, with_leak_quarantine
from labforensics.leak.reader import ID_SHAPES, read_leak
from labforensics.privacy import CaseKey, pseudonymise_one

KEY = CaseKey(bytes(range(32)))
# the QA's list (leakids/ids.csv), one line each
QA_LIST = "lab,ipp\nL01,40000001\nL01,40000001\nL01,40000002\nL01,=cmd\nL01,\nL99,123\n"
FORMULA = "starts like a spreadsheet formula (=, +, -, @): not an identifier"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_the_qa_list_line_by_line(tmp_path, encoding):
    p = tmp_path / "ids.csv"
    p.write_bytes(QA_LIST.encode(encoding))  # utf-16: with a BOM, as a spreadsheet writes it
    r = read_leak(p, case_key=KEY, labs=["L01"])
    rep = r.attrs["leak_report"]
    # by hand: line 1 header; 2, 3 (a repeat of 2), 4 and 7 used; 5 a formula; 6 empty
    assert rep["lines_read"] == 7 and rep["header_line"] == 1
    assert rep["rows_used"] == 4 and rep["identifiers"] == 3 and rep["duplicates"] == 1
    assert rep["empty"] == 1 and rep["invalid"] == 1 and rep["malformed"] == 0
    assert (
        1 + rep["blank"] + rep["malformed"] + rep["empty"] + rep["invalid"] + rep["rows_used"]
        == rep["lines_read"]
    )
    assert rep["rejected"] == [
        {"line": 5, "reason": FORMULA},
        {"line": 6, "reason": "empty identifier"},
    ]
    assert rep["source_file"] == "ids.csv"
    # the formula is never an identifier: 3 distinct keyed (lab, IPP), none of it "=cmd"
    assert sorted(r["leak_id"]) == sorted(
        pseudonymise_one(KEY, lab, ipp)
        for lab, ipp in (("L01", "40000001"), ("L01", "40000002"), ("L99", "123"))
    )
    assert pseudonymise_one(KEY, "L01", "=cmd") not in set(r["leak_id"])
    assert "=cmd" not in json.dumps(rep)  # line numbers and reasons only


def test_an_ipp_is_digits(tmp_path):
    p = tmp_path / "ids.csv"
    p.write_text(
        "LABO;IPP\nL01;000123\nL01;12A4\nL01;12 34\nL01;+33612\nL01;-5\n=HYPERLINK(1);000124\n"
        "L01;@SUM(1)\n",
        encoding="utf-8",
    )
    rep = read_leak(p, case_key=KEY, labs=["L01"]).attrs["leak_report"]
    not_ipp = ID_SHAPES["ipp"][1]
    assert rep["rows_used"] == 1 and rep["invalid"] == 6  # only 000123 (leading zeros kept)
    assert rep["rejected"] == [
        {"line": 3, "reason": not_ipp},
        {"line": 4, "reason": not_ipp},
        {"line": 5, "reason": FORMULA},
        {"line": 6, "reason": FORMULA},
        {"line": 7, "reason": "lab starts like a spreadsheet formula (=, +, -, @): not a lab"},
        {"line": 8, "reason": FORMULA},
    ]


def test_pseudonyms_and_nirs_keep_their_shapes():
    # 20 pseudonyms, one cut short, one formula: the kind is told from the values that
    # are no formula (20 of 21 shaped: 95 %), and the two others are set aside
    good = [pseudonymise_one(KEY, "L01", str(100000 + i)) for i in range(20)]
    r = read_leak([*good, good[0][:-1], "=" + good[1][1:]], case_key=KEY)
    rep = r.attrs["leak_report"]
    assert r["id_kind"].unique().tolist() == ["pseudonym"] and rep["rows_used"] == 20
    assert rep["rejected"] == [
        {"line": 21, "reason": ID_SHAPES["pseudonym"][1]},
        {"line": 22, "reason": FORMULA},
    ]
    nirs = pd.DataFrame({"NIR": ["1 85 07 972 12 005 08", "1850797212005", "18507", "=1+1"]})
    index = pd.DataFrame({"IPP": ["7"], "NIR": ["185079721200508"], "LABO": ["L01"]})
    r = read_leak(nirs, case_key=KEY, patient_index=index)
    rep = r.attrs["leak_report"]
    # the first two are one NIR (separators, key dropped); 18507 is too short
    assert rep["rows_used"] == 2 and rep["identifiers"] == 2 and rep["invalid"] == 2
    assert [x["reason"] for x in rep["rejected"]] == [ID_SHAPES["nir"][1], FORMULA]
    assert set(r["patient"].dropna()) == {pseudonymise_one(KEY, "L01", "7")}


def test_a_list_of_junk_only_is_an_empty_leak(tmp_path):
    p = tmp_path / "ids.csv"
    p.write_text("lab,ipp\nL01,=cmd\nL01,abc\n", encoding="utf-8")
    r = read_leak(p, case_key=KEY, labs=["L01"])
    assert r.empty and r.attrs["leak_report"]["invalid"] == 2


def test_the_lines_set_aside_reach_quarantine_csv(tmp_path):
    p = tmp_path / "ids.csv"
    p.write_text(QA_LIST, encoding="utf-8")
    rep = read_leak(p, case_key=KEY, labs=["L01"]).attrs["leak_report"]
    q = list_quarantine(rep)
    assert q["source_file"].tolist() == ["ids.csv", "ids.csv"]
    assert q["source_line"].tolist() == [5, 6]
    assert q["reason"].tolist() == [f"leak list: {FORMULA}", "leak list: empty identifier"]
    assert q["raw"].isna().all()  # an identifier is never written
    evidence = q.iloc[:0].copy()  # the evidence's quarantine, empty, same columns
    both = with_leak_quarantine(evidence, None, SimpleNamespace(leak_report=rep))
    assert len(both) == 2 and both["raw"].isna().all()
    # a dump's lines are the linkage's: the list's report is not added twice
    assert list_quarantine(None).empty and list_quarantine({"rejected": []}).empty
