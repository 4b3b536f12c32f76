"""QA session 11, item 5: a current-dialect (UTF-8) audit CSV saved in cp1252 without a
BOM. ``hélène.m`` (PC-01) and ``hèlène.m`` (PC-99) were both read ``h\\ufffdl\\ufffdne.m``:
one account, one session across two PCs, a false concurrent session. The file is now read
as cp1252 (counted and named like UTF-8 rows in a cp1252 file), and a byte no encoding
reads is kept as U+FFFD and its hex, so two different byte strings never become one value.
"""

from __future__ import annotations

from labforensics.ingest import read_evidence
from labforensics.privacy import CaseKey
from labforensics.sessions import sessionize
from lis_headers import CURRENT_HEADER as HEAD

KEY = CaseKey(b"q" * 32)
NAME = "audit_l01_2020-03-10.csv"


def row(hm: str, login: str, action: str, host: str, n: str = "", site: str = "S1") -> str:
    ip = "10.1.0.99" if host == "PC-99" else "10.1.0.1"
    return (f"2020-03-10T{hm}:00+01:00;L01;{site};{login};technicien;{host};{ip};admin;"
            f"{action};succes;;;{n};;;")  # fmt: skip


ROWS = [
    row("08:00", "hélène.m", "connexion", "PC-01"),
    row("08:01", "hélène.m", "export", "PC-01", "100"),
    row("08:01", "hèlène.m", "connexion", "PC-99"),
    row("08:02", "hèlène.m", "export", "PC-99", "5000"),
    row("08:03", "hélène.m", "deconnexion", "PC-01"),
    row("08:04", "hèlène.m", "deconnexion", "PC-99"),
]


def test_cp1252_current_file_keeps_two_accounts(tmp_path):
    (tmp_path / NAME).write_bytes(("\n".join([HEAD, *ROWS]) + "\n").encode("cp1252"))
    ev = read_evidence(tmp_path, case_key=KEY)
    assert ev.events["account"].tolist() == ["hélène.m", "hélène.m", "hèlène.m", "hèlène.m",
                                             "hélène.m", "hèlène.m"]  # fmt: skip
    (f,) = ev.report.files
    assert (f.rows_read, f.events, f.quarantined) == (6, 6, 0)
    assert (f.rows_recoded, f.replacement_chars) == (6, 0)
    assert f.encoding_note == (
        "6 row(s) written in cp1252 in this utf-8-sig file, decoded as cp1252: "
        "line(s) 2, 3, 4, 5, 6, 7"
    )
    fp = ev.report.field_problems
    assert fp["source_line"].tolist() == [2, 3, 4, 5, 6, 7]
    assert set(fp["problem"]) == {"login: written in cp1252 in a utf-8-sig file: decoded as cp1252"}
    s = sessionize(ev.events).sessions
    assert len(s) == 2  # one per person, each on its PC
    by = s.set_index("account")
    assert (
        by.loc["hèlène.m", "records_exported"] == 5000
        and by.loc["hélène.m", "records_exported"] == 100
    )
    assert (s["concurrent_sessions"] == 0).all()


def test_undecodable_bytes_stay_distinct_in_identity_columns(tmp_path):
    # 0x81 and 0x8D: undefined in cp1252 and invalid UTF-8; before, both read U+FFFD
    rows = [r.replace("hélène.m", "h\x81l").replace("hèlène.m", "h\x8dl") for r in ROWS]
    rows = [r.replace(";S1;", ";S\x81;") if "PC-01" in r else r.replace(";S1;", ";S\x8d;")
            for r in rows]  # fmt: skip
    data = ("\n".join([HEAD, *rows]) + "\n").encode("latin-1")  # the raw bytes as written
    (tmp_path / NAME).write_bytes(data)
    ev = read_evidence(tmp_path, case_key=KEY)
    e = ev.events
    assert sorted(set(e["account"])) == ["h\ufffdx81l", "h\ufffdx8dl"]
    assert e["account"].nunique() == 2 and e["site"].nunique() == 2
    (f,) = ev.report.files
    assert (f.rows_recoded, f.replacement_chars) == (0, 12)  # 2 bytes a row, 6 rows
    assert f.encoding_note == (
        "12 undecodable byte(s) (utf-8-sig) read as U+FFFD followed by its hex (xNN): "
        "line(s) 2, 3, 4, 5, 6, 7"
    )
    assert len(sessionize(e).sessions) == 2
