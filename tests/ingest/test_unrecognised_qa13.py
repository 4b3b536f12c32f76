"""A BOM-only file and a binary file named like an audit file (QA session 13, H_mixed).

Both are left out of the reading as every file no reader recognises: listed under
``unrecognised`` with a reason, in no file report and in no row total, the run going
on with the other files. The reasons used to be "first bytes ''" (BOM only, beside
"empty file" for 0 bytes) and "no reader recognises the header" (random bytes): they
now say what the files are, as the companion checks (:mod:`labforensics.preflight`) do.
"""

from __future__ import annotations

from labforensics.ingest import read_evidence
from labforensics.privacy import CaseKey
from lis_headers import LEGACY_HEADER as HDR

KEY = CaseKey(b"k" * 32)
ROW = "01/06/2020;08:00:00;L07;S1;tech.a;TECHNICIEN;PC-1;10.7.0.2;ADMIN;CONNEXION;OK;;;;"


def test_bom_only_empty_and_binary_files_left_out_alike(tmp_path):
    (tmp_path / "AUDIT_L07_20200601.csv").write_text(f"{HDR}\n{ROW}\n{ROW}\n", encoding="utf-8")
    (tmp_path / "AUDIT_L07_20200602.csv").write_bytes(b"")
    (tmp_path / "AUDIT_L07_20200603.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "AUDIT_L07_20200604.csv").write_bytes(b"\xef\xbb\xbf")
    (tmp_path / "AUDIT_L07_20200605.csv").write_bytes(b"\xff\xfe")
    r = read_evidence(tmp_path, case_key=KEY).report
    names = [f"AUDIT_L07_2020060{d}.csv" for d in range(2, 6)]
    assert sorted(r.unrecognised) == names
    assert [f.source_file for f in r.files] == ["AUDIT_L07_20200601.csv"]
    assert r.to_dict()["totals"]["rows_read"] == 2  # the two rows of the file read
    why = r.unrecognised_reasons
    assert why[names[0]] == "empty file"
    # 256 bytes 0..255 four times: 32 below 0x20, less tab, LF, VT, FF, CR = 27 a run,
    # 108 in 1,024 bytes (> max(8, 1)): binary; its first bytes shown as escapes
    assert why[names[1]].startswith(
        r"binary (108 control characters in its first 1,024 bytes): first bytes '\x00\x01\x02"
    )
    assert why[names[2]] == why[names[3]] == "empty file (only a byte-order mark)"
