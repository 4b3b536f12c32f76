"""QA: NUL-filled regions (a crashed writer) and the cap on quarantined record text.

NULs are located as runs (one int64 per run, not per NUL byte); record text kept for
the report (quarantine raw text, field-problem values, values quoted in reasons) is
capped at ``RAW_CAP`` characters followed by a cut marker. Expected values are worked
out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from labforensics.ingest import _lis_structure, read_evidence
from labforensics.ingest._common import RAW_CAP
from labforensics.ingest._lis_structure import _nul_runs
from labforensics.ingest.profiles import load_profile
from labforensics.ingest.protection import UNPLACED_NOTE
from labforensics.ingest.readers.lis_csv import parse_lis_bytes, read_lis_many
from labforensics.ingest.registry import ReadContext
from labforensics.privacy import CaseKey
from lis_headers import CURRENT_HEADER
from lis_headers import LEGACY_HEADER as LEG

KEY = CaseKey(b"q" * 32)
NAME = "AUDIT_L02_20180305.csv"


def row(date="05/03/2018", account="u1", ipp="", nb="", detail="") -> str:
    return (
        f"{date};10:00:00;L02;S1;{account};TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;"
        f"{ipp};D1;{nb};{detail}"
    )


def legacy_bytes(rows: list[str], tail: bytes = b"") -> bytes:
    return "".join(r + "\r\n" for r in [LEG, *rows]).encode("cp1252") + tail


def parse(data: bytes):
    return parse_lis_bytes(
        data, ReadContext(source_file=NAME), load_profile("legacy"), "lis_legacy", name=NAME
    )


# --------------------------------------------------------------------------- NUL runs


def test_nul_runs_are_run_starts():
    def runs(b: bytes) -> list[int]:
        return _nul_runs(np.frombuffer(b, dtype=np.uint8)).tolist()

    assert runs(b"") == []
    assert runs(b"abc") == []
    assert runs(b"\x00") == [0]
    assert runs(b"a\x00\x00b\x00") == [1, 4]
    assert runs(b"\x00\x00;\x00\n\x00") == [0, 3, 5]
    assert runs(bytes(5 * 2**20)) == [0]  # 5 MiB of NULs: one run, one int64
    assert _nul_runs(np.zeros(10, dtype=np.uint8)).dtype == np.int64


def test_nul_runs_across_chunk_boundaries(monkeypatch):
    monkeypatch.setattr(_lis_structure, "_CHUNK", 7)
    # chunks [0,7) [7,14) [14,21): a run crossing a boundary is one run; one starting
    # exactly on a boundary (after a non-NUL) is found there
    b = bytearray(21)
    b[3] = b[6] = b[15] = 65
    # NUL runs: 0-2, 4-5, 7-14 (crosses 7 and 14), 16-20
    assert _nul_runs(np.frombuffer(bytes(b), dtype=np.uint8)).tolist() == [0, 4, 7, 16]
    rng = np.random.default_rng(7)
    for _ in range(200):
        a = np.zeros(int(rng.integers(0, 40)), dtype=np.uint8)
        a[rng.random(len(a)) < 0.4] = 59
        z = a == 0
        want = [i for i in range(len(a)) if z[i] and (i == 0 or not z[i - 1])]
        assert _nul_runs(a).tolist() == want


# --------------------------------------------------------------------------- reader


def test_valid_row_then_5mb_of_nuls_without_line_end():
    data = legacy_bytes([row()], tail=bytes(5 * 2**20))
    assert len(_nul_runs(np.frombuffer(data, dtype=np.uint8))) == 1
    r = parse(data)
    assert r.rows_to_events == 1 and len(r.events) == 1
    assert r.field_problems == []  # the NUL record is not a data record
    (q,) = r.quarantine
    assert q.line == 3
    assert q.reason == "record cut short: 1 fields, expected 15, no line end at end of file"
    assert r.truncated and r.truncation_note == "last record (line 3) cut short"
    # 5,242,880 NULs read as spaces; 65,536 kept: 5,177,344 cut
    marker = "… [5,177,344 more characters cut]"
    assert q.raw == " " * RAW_CAP + marker
    assert len(q.raw) <= RAW_CAP + len(marker)


def test_valid_row_then_5mb_of_nuls_read_evidence(tmp_path):
    (tmp_path / NAME).write_bytes(legacy_bytes([row()], tail=bytes(5 * 2**20)))
    ev = read_evidence(tmp_path, case_key=KEY)
    assert len(ev.events) == 1
    q = ev.quarantine
    assert list(q["source_line"]) == [3]
    assert list(q["reason"]) == [
        "record cut short: 1 fields, expected 15, no line end at end of file" + UNPLACED_NOTE
    ]
    # whatever the redaction makes of it, the text stays within the cap and its marker
    assert len(q["raw"].iloc[0]) <= RAW_CAP + len("… [5,177,344 more characters cut]")


def test_nuls_in_two_fields_two_problems_ipp_withheld():
    # NULs in three fields: one run in the account, one in the IPP, two runs in the detail
    r = parse(legacy_bytes([row(account="u\x001", ipp="4000\x000025", detail="a\x00\x00b\x00c")]))
    assert len(r.events) == 1
    assert list(r.events["detail"]) == ["a  b c"]
    got = [(p.line, p.column, p.value, p.problem) for p in r.field_problems]
    assert got == [
        (2, "account", "u 1", "UTILISATEUR: NUL byte replaced by space"),
        (2, "ipp", "", "IPP: NUL byte replaced by space"),  # value withheld
        (2, "detail", "a  b c", "DETAIL: NUL byte replaced by space"),  # two runs, one problem
    ]


def test_nul_problems_per_file_of_a_batch(tmp_path):
    a = tmp_path / "AUDIT_L02_20180305.csv"
    b = tmp_path / "AUDIT_L02_20180306.csv"
    a.write_bytes(legacy_bytes([row(detail="x\x00"), row()]))
    b.write_bytes(legacy_bytes([row(), row(), row(account="\x00u")]))
    batch = read_lis_many(
        [a, b], [ReadContext(source_file=p.name) for p in (a, b)], "legacy", "lis_legacy"
    )
    got = [[(p.line, p.column, p.value) for p in f.field_problems] for f in batch.files]
    assert got == [[(2, "detail", "x ")], [(4, "account", " u")]]


def test_field_problem_values_and_reasons_capped():
    # DATE holds 10 characters then 70,000 NULs: 70,010 characters, 4,474 cut;
    # NB_ENREG "1" then 70,000 NULs: 70,001, 4,465 cut; DETAIL "x" 100,000 NULs "y":
    # 100,002, 34,466 cut. The date does not parse: the row is quarantined, its text
    # (88 characters without the NULs, 240,088 with them) cut by 174,552; its quarantine
    # row accounts for it, so its NULs are no field problem (session 14). The same
    # NB_ENREG and DETAIL in a row with a date (line 3) are kept: their problems capped.
    nuls = "\x00" * 70000
    big = {"nb": "1" + nuls, "detail": "x" + "\x00" * 100000 + "y"}
    r = parse(legacy_bytes([row(date="05/03/2018" + nuls, **big), row(**big)]))
    assert len(r.events) == 1
    fp = [(p.line, p.column, p.value) for p in r.field_problems]
    assert fp == [
        (3, "records", "1" + " " * (RAW_CAP - 1) + "… [4,465 more characters cut]"),
        (3, "detail", "x" + " " * (RAW_CAP - 1) + "… [34,466 more characters cut]"),
    ]
    (q,) = r.quarantine
    shown = "05/03/2018" + " " * (RAW_CAP - 10) + "… [4,474 more characters cut]"
    assert q.reason == f"unparseable date {shown!r} (expected dd/mm/yyyy)"
    assert q.raw == "05/03/2018" + " " * (RAW_CAP - 10) + "… [174,552 more characters cut]"


def test_not_an_integer_value_capped():
    # NB_ENREG "1", 70,000 spaces, "2": 70,002 characters, not an integer, 4,466 cut
    r = parse(legacy_bytes([row(nb="1" + " " * 70000 + "2")]))
    assert len(r.events) == 1
    (p,) = r.field_problems
    assert p.column == "records"
    assert p.value == "1" + " " * (RAW_CAP - 1) + "… [4,466 more characters cut]"


@pytest.mark.parametrize(
    ("n", "cut"),
    [
        # "€" is one cp1252 byte, three UTF-8 bytes once transcoded; the record is
        # 91 ASCII characters (85 up to "...;D1;;", then ";extra") plus n euros
        (RAW_CAP - 91, None),  # 65,536 characters, 196,426 bytes: kept whole
        (RAW_CAP - 90, "… [1 more character cut]"),  # 196,429 bytes, decoded whole
        (100_000, "… [34,555 more characters cut]"),  # 300,091 bytes > 4 * RAW_CAP
    ],
)
def test_quarantined_multibyte_text_capped_by_characters(n, cut):
    text = row(detail="€" * n) + ";extra"  # 16 fields: quarantined
    r = parse(legacy_bytes([text]))
    (q,) = r.quarantine
    assert q.reason == "wrong field count: 16 fields, expected 15"
    assert len(text) == 91 + n
    if cut is None:
        assert q.raw == text
    else:
        assert q.raw == text[:RAW_CAP] + cut
        assert "\ufffd" not in q.raw  # no character decoded half


def test_short_texts_unchanged_bom_dropped():
    # a UTF-8 BOM starting a quarantined record (files laid end to end) is dropped
    # from its text, as before; short texts get no marker
    cur = CURRENT_HEADER
    good = "2020-11-02T09:00:00+01:00;L03;S1;u1;technicien;PC1;10.0.0.1;resultats;consultation;succes;;D1;;;A1;"
    data = (cur + "\n" + good + "\n\ufeff" + good + ";extra\n").encode()
    r = parse_lis_bytes(
        data, ReadContext(source_file="a.csv"), load_profile("current"), "lis_current", name="a.csv"
    )
    assert len(r.events) == 1
    assert [(q.line, q.raw) for q in r.quarantine] == [(3, good + ";extra")]


def test_capped_record_keeps_its_marker_through_redaction(tmp_path):
    """The cut marker is not a field value: redaction never turns it into a pseudonym."""
    from labforensics.ingest import read_evidence

    header = LEG + "\r\n"
    row = "01/03/2019;10:00:00;L01;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;4001;D1;;\r\n"
    (tmp_path / "AUDIT_L01_20190301.csv").write_bytes(
        (header + row).encode("cp1252") + b"\x00" * 100_000
    )
    ev = read_evidence(tmp_path, case_key=bytes(range(32)))
    assert len(ev.events) == 1 and len(ev.quarantine) == 1
    raw = ev.quarantine["raw"].iloc[0]
    # 65,536 spaces kept (blank: nothing to pseudonymise), 100,000 - 65,536 cut
    assert raw == " " * 65536 + "… [34,464 more characters cut]"
