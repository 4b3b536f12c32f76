"""Files with an encoding note are shown in the report, and undecodable bytes are a limit
(fresh-eyes QA, session 8, item 2: the accounting had them, the report said nothing)."""

from __future__ import annotations

from standin import standin_report

from labforensics.report.encoding_notes import encoding_files, encoding_limit

NOTE = "2 undecodable byte sequence(s) (cp1252) read as U+FFFD: line(s) 4, 9"
FILES = [
    {"source_file": "AUDIT_L01_20190301.csv", "format": "lis_legacy", "rows_recoded": 0,
     "replacement_chars": 0, "encoding_note": ""},
    {"source_file": "<b>AUDIT</b>_L02_20190301.csv", "format": "lis_legacy", "rows_recoded": 0,
     "replacement_chars": 2, "encoding_note": NOTE},
    {"source_file": "AUDIT_L02_20190302.csv", "format": "lis_legacy", "rows_recoded": 3,
     "replacement_chars": 0, "encoding_note": "3 row(s) written in UTF-8 in this cp1252 file, "
     "decoded as UTF-8: line(s) 2, 3, 5"},
]  # fmt: skip


def test_encoding_files_and_limit_worked_by_hand():
    # files 2 and 3 have a note (2 undecodable bytes; 3 rows re-decoded); only file 2 has
    # replacement characters, so the limit names it alone, with the count 2
    assert [f["source_file"] for f in encoding_files(FILES)] == [
        "<b>AUDIT</b>_L02_20190301.csv",
        "AUDIT_L02_20190302.csv",
    ]
    assert encoding_limit(FILES) == (
        "2 undecodable byte(s) in 1 file(s) (<b>AUDIT</b>_L02_20190301.csv) were read as "
        "the replacement character U+FFFD followed by the byte's hex (xNN), so that two "
        "different values stay apart: the values of the rows holding them (accounts, codes, "
        "free text) are not as written (each line is a field problem; section 2 lists the "
        "files)"
    )
    assert encoding_limit(FILES[2:]) is None  # re-decoded rows alone: listed, no limit
    assert encoding_files([{"source_file": "TOTAL", "replacement_chars": 2}]) == []


def test_more_than_five_files_are_counted_not_named():
    files = [{"source_file": f"f{i}.log", "replacement_chars": i + 1} for i in range(7)]
    # 1 + 2 + ... + 7 = 28 replacement characters in 7 files, 5 named
    assert encoding_limit(files).startswith(
        "28 undecodable byte(s) in 7 file(s) (f0.log, f1.log, f2.log, f3.log, f4.log "
        "and 2 more) were read"
    )


def _findings_and_html(files):
    return standin_report({"totals": {}, "files": files})


def test_report_lists_the_files_and_findings_state_the_limit():
    f, html = _findings_and_html(FILES)
    assert encoding_limit(FILES) in f["limits"]
    sec = html[html.index('id="encoding"') : html.index('id="gaps"')]
    assert "Files not read exactly as their encoding says</b> (2)" in sec
    assert "&lt;b&gt;AUDIT&lt;/b&gt;_L02_20190301.csv" in sec and "<b>AUDIT</b>" not in sec
    assert NOTE in sec and "line(s) 2, 3, 5" in sec
    assert "AUDIT_L01_20190301.csv" not in sec  # no note: not listed


def test_no_note_no_section_no_limit():
    f, html = _findings_and_html(FILES[:1])
    assert 'id="encoding"' not in html
    assert not any("U+FFFD" in t for t in f["limits"])
