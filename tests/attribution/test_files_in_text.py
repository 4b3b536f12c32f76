"""Files named in free text: the names found, by hand, and time linear in the text's
length (QA session 13: one 200,000-character detail took minutes per stage)."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest

from labforensics.attribution.linking import _files_in, _names_in

# the former single pattern, for the equivalence check on ordinary texts
_OLD = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://)?[^\s\"';|<>,]+\.(?:csv|txt|zip|gz|7z|xml|json|xlsx?|dat|hpr|hl7|"
    r"sql|dmp|dump|tar|tgz|bak)(?![\w])",
    re.IGNORECASE,
)

CASES = {
    "Export patients vers L07_export.csv": ["L07_export.csv"],
    "sftp://files.example/out/L07.csv.gz done": ["L07.csv.gz"],
    r"C:\out\Extraction_2020.XLSX, then a.txt; b.zip|c.json": [
        "Extraction_2020.XLSX", "a.txt", "b.zip", "c.json",
    ],
    "a.csvx is no csv, nor is .csv alone, but x.csv.bak is": ["x.csv.bak"],
    "'quoted.csv' <tag.xml> (paren.csv) dump.sql.": ["(paren.csv", "dump.sql", "quoted.csv", "tag.xml"],
    "no file here": [],
    "a.csv-b.txt": ["a.csv-b.txt"],
    "": [],
}  # fmt: skip


@pytest.mark.parametrize("text", list(CASES))
def test_names_by_hand_and_as_the_former_pattern(text):
    assert _names_in(text) == CASES[text]
    old = sorted({re.split(r"[/\\]", m)[-1] for m in _OLD.findall(text)})
    assert _names_in(text) == old


def test_files_in_keeps_rows_and_none():
    got = _files_in(pd.Series(["x L01.csv", None, "nothing", "x L01.csv"], index=[5, 6, 7, 8]))
    assert got.index.tolist() == [5, 6, 7, 8]
    assert got.tolist() == [["L01.csv"], None, None, ["L01.csv"]]


@pytest.mark.parametrize("unit", ["A", "a.", "a/", "ab1-", "é"])
def test_time_is_linear_in_the_texts_length(unit):
    # 200,000 characters of a run with no extension: the former pattern backtracked
    # over every start of the run (quadratic: minutes); a scan takes milliseconds
    text = unit * (200_000 // len(unit))
    t = time.process_time()
    assert _names_in(text) == []
    assert _names_in(text + ".csv") != [] or unit == "a."
    assert time.process_time() - t < 2.0
