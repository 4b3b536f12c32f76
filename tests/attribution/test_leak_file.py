"""read_leak() line by line: every line of a leak file used or accounted for, in a report."""

from __future__ import annotations

import json

import pytest
from attribution_scenarios import KEY, LAB_NET, VENDOR_NET, base_case, build

from labforensics.attribution import AttributionParams, attribute, read_leak
from labforensics.case import CaseContext
from labforensics.networks import NetworkMap
from labforensics.privacy import pseudonymise_one

# the QA engineer's hostile leak file: BOM, CRLF, a line with extra columns, a blank line,
# "," and "L09," (no identifier), a lab absent from the evidence, a duplicate
HOSTILE = (
    b"\xef\xbb\xbf"
    b"LABO,IPP\r\n"  # 1 header
    b"L01,100000\r\n"  # 2 used
    b"L01,100001\r\n"  # 3 used
    b"L02,100002,x,y\r\n"  # 4 malformed: 4 fields
    b"\r\n"  # 5 blank
    b",\r\n"  # 6 empty identifier
    b"L09,\r\n"  # 7 empty identifier
    b"L99,100003\r\n"  # 8 used, lab L99 absent from the evidence
    b"L01,100000\r\n"  # 9 used, duplicate of line 2
)
RAW_IDS = ("100000", "100001", "100002", "100003")


@pytest.fixture
def hostile(tmp_path):
    p = tmp_path / "leak.csv"
    p.write_bytes(HOSTILE)
    return p


def test_hostile_leak_file_every_line_accounted_for(hostile):
    r = read_leak(hostile, case_key=KEY, labs=["L01", "L02"])
    rep = r.attrs["leak_report"]
    # worked out by hand from the 9 lines above
    assert rep["lines_read"] == 9 and rep["header_line"] == 1
    assert rep["blank"] == 1 and rep["malformed"] == 1 and rep["empty"] == 2
    assert rep["rows_used"] == 4 and rep["identifiers"] == 3 and rep["duplicates"] == 1
    # every physical line is the header, blank, malformed, empty or used
    parts = 1 + rep["blank"] + rep["malformed"] + rep["empty"] + rep["rows_used"]
    assert parts == rep["lines_read"]
    assert rep["rejected"] == [
        {"line": 4, "reason": "expected 2 fields (header), saw 4"},
        {"line": 6, "reason": "empty identifier"},
        {"line": 7, "reason": "empty identifier"},
    ]
    assert rep["rejected_truncated"] is False
    assert rep["unknown_lab"] == {"identifiers": 1, "labs": ["L99"]}  # L99 not in L01, L02
    # the good rows are used, in file order, the duplicate counted then dropped
    assert r["leak_id"].tolist() == [
        pseudonymise_one(KEY, "L01", "100000"),
        pseudonymise_one(KEY, "L01", "100001"),
        pseudonymise_one(KEY, "L99", "100003"),
    ]
    text = json.dumps(rep, sort_keys=True)
    assert not any(i in text for i in RAW_IDS)  # counts and line numbers only


def test_report_of_a_table_and_without_evidence_labs():
    # a list has no lines: lines_read None, rows numbered; unknown labs need the evidence labs
    r = read_leak(["P" + "0" * 16, "", "P" + "1" * 16, "P" + "0" * 16], case_key=KEY)
    rep = r.attrs["leak_report"]
    assert rep["lines_read"] is None
    assert rep["rows_used"] == 3 and rep["identifiers"] == 2 and rep["duplicates"] == 1
    assert rep["empty"] == 1 and rep["rejected"] == [{"line": 2, "reason": "empty identifier"}]
    assert rep["unknown_lab"] is None


def test_blank_and_header_only_files(tmp_path):
    # a header and blank lines only: nothing used, every line counted
    p = tmp_path / "leak.csv"
    p.write_bytes(b"\n\nIPP;LABO\n\n")
    r = read_leak(p, case_key=KEY)
    rep = r.attrs["leak_report"]
    assert r.empty
    assert rep["lines_read"] == 4 and rep["header_line"] == 3 and rep["blank"] == 3
    assert rep["rows_used"] == 0 and rep["rejected"] == []


def test_rejected_lines_listed_up_to_the_cap(tmp_path):
    # 250 lines with 3 fields under a 2-field header: all counted, 200 listed
    p = tmp_path / "leak.csv"
    p.write_text("LABO,IPP\n" + "L01,1,x\n" * 250 + "L01,7\n", encoding="utf-8")
    rep = read_leak(p, case_key=KEY).attrs["leak_report"]
    assert rep["malformed"] == 250 and rep["rows_used"] == 1
    assert len(rep["rejected"]) == 200 and rep["rejected_truncated"] is True
    assert rep["rejected"][0]["line"] == 2 and rep["rejected"][-1]["line"] == 201


def test_attribution_to_dict_carries_the_leak_report(hostile):
    # end to end: findings.json gets the report; L99's identifier is never seen AND unknown lab
    events, sessions = build(base_case())
    p = AttributionParams(stability=False)
    case = CaseContext(networks=NetworkMap(by_lab=LAB_NET, vendor=[VENDOR_NET]))
    a = attribute(events, sessions, leak=hostile, case_key=KEY, params=p, case=case)
    d = a.to_dict()
    rep = d["leak_report"]
    assert rep["lines_read"] == 9 and rep["rows_used"] == 4 and rep["identifiers"] == 3
    assert rep["unknown_lab"] == {"identifiers": 1, "labs": ["L99"]}  # evidence: L01..L04
    assert d["totals"]["found"] == 2  # 100000 and 100001 exist at L01
    assert d["totals"]["never_seen"] == 1 and d["totals"]["never_seen_unknown_lab"] == 1
    text = json.dumps(d["leak_report"], sort_keys=True)
    assert text == json.dumps(a.to_dict()["leak_report"], sort_keys=True)  # deterministic
    assert not any(i in text for i in RAW_IDS)


def test_bare_list_without_header_keeps_its_first_identifier(tmp_path):
    # a bare list of IPPs, no header: the first line is data (it has digits and names no
    # column), so both identifiers are used and no line is booked as a header
    p = tmp_path / "leak.csv"
    p.write_bytes(b"100000\n100001\n")
    r = read_leak(p, case_key=KEY, labs=["L01"])
    rep = r.attrs["leak_report"]
    assert rep["header_line"] is None and rep["headerless"] is True
    assert rep["lines_read"] == 2 and rep["rows_used"] == 2 and rep["identifiers"] == 2
    # two distinct keyed identifiers, no raw value kept
    assert r["leak_id"].nunique() == 2
    assert not r.astype(str).isin(["100000", "100001"]).any().any()
    # a one-line list is one identifier, not an empty leak
    p.write_bytes(b"100000\n")
    assert read_leak(p, case_key=KEY, labs=["L01"]).attrs["leak_report"]["identifiers"] == 1
    # and a bare list of pseudonyms is read the same way
    p.write_text(pseudonymise_one(KEY, "L01", "100000") + "\n", encoding="utf-8")
    assert read_leak(p, case_key=KEY, labs=["L01"]).attrs["leak_report"]["identifiers"] == 1


def test_binary_leak_file_is_a_clear_error(tmp_path):
    # random bytes (NULs among them) and a valid header followed by binary junk: one
    # AttributionError naming the file, never a csv.Error traceback nor a value
    from labforensics.errors import AttributionError
    from labforensics.leak import read_leak

    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(AttributionError, match="junk.csv"):
        read_leak(junk, case_key="00" * 16)
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"lab;ipp\nL01;123\nL01;4\r5\n")  # a lone CR inside a field
    with pytest.raises(AttributionError, match=r"mixed.csv, line 3: not a delimited"):
        read_leak(mixed, case_key="00" * 16)


def test_pipe_separated_leak_and_unknown_id_column(tmp_path):
    # '|' is sniffed like ';' ',' and tab; a named id column that is not in the file is
    # an AttributionError listing the columns (not a KeyError)
    from labforensics.errors import AttributionError
    from labforensics.leak import read_leak

    f = tmp_path / "leak.csv"
    f.write_text("LABO|IPP\nL01|000123\nL01|000124\n")
    rows = read_leak(f, case_key="00" * 16)
    assert len(rows) == 2 and set(rows["lab"]) == {"L01"}
    with pytest.raises(AttributionError, match="id_column='NOM'"):
        read_leak(f, case_key="00" * 16, id_column="NOM")
