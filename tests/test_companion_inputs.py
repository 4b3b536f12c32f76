"""Companion inputs that used to be accepted silently (fresh-eyes QA, session 4): junk
lines of a transfer log, a leak list of junk, a register naming a lab not in the evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hostile import write_hostile_case
from labforensics.cli import main

#: A valid xferlog line (xferlog(5)), then two junk lines.
XFERLOG = (
    "Wed Mar 18 03:40:00 2020 12 198.51.100.7 122880 /outgoing/L01_export.csv b _ o a "
    "guest@example.org ftp 0 * c\n"
)
JUNK = 'this is not a transfer\n=HYPERLINK("x")\n'
REGISTER = (
    "ticket;lab;account;kind;start;end;scope_patients_since;scope_max_records;destination;"
    "purpose\n"
    "MIG-1;L01;migr.*;migration;2020-03-01;2020-03-31;;;;migration\n"
    "MIG-2;L09;migr.*;migration;2020-03-01;2020-03-31;;;;typo or missing lab\n"
    "MIG-3;*;support.*;support;2020-03-01;;;;;support\n"
)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    base = tmp_path_factory.mktemp("companions")
    return {"base": base, **write_hostile_case(base / "case", days=3)}


def test_junk_transfer_lines_are_quarantined_and_register_lab_warned(case, tmp_path, capsys):
    # one run with both: a transfer log with 2 junk lines (lines 2 and 3) and a register
    # whose row 2 names L09, a lab the evidence (L01 only) does not hold
    xfer = tmp_path / "xferlog"
    xfer.write_text(XFERLOG + JUNK, encoding="utf-8")
    reg = tmp_path / "register.csv"
    reg.write_text(REGISTER, encoding="utf-8")
    out = tmp_path / "out"
    rc = main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
               "--leak", str(case["leak"]), "--transfers", str(xfer),
               "--authorisations", str(reg)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    q = pd.read_csv(out / "quarantine.csv")
    tq = q[q["source_file"] == "xferlog"]
    # each junk line is a quarantine row with its file, line and reason
    assert tq["source_line"].tolist() == [2, 3]
    assert tq["reason"].notna().all() and (tq["reason"].str.len() > 0).all()
    f = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    limits = " | ".join(f["limits"])
    assert (
        "2 line(s) of the transfer log xferlog are not xferlog transfers (line(s) 2, 3)" in limits
    )
    assert "names 1 lab(s) that are not in the evidence (L09; 1 register row(s))" in limits
    # one warning line each on stderr
    warn = [ln for ln in err.splitlines() if ln.startswith("labforensics: warning:")]
    assert any("L09" in ln for ln in warn) and any("transfer log" in ln for ln in warn)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "not in the evidence (L09" in html  # the Limits section of the report
    assert "and 2 line(s) of the transfer log" in html  # the quarantine section's count


def test_register_of_known_labs_says_nothing(case, tmp_path, capsys):
    # the same register without the L09 row: no warning, no added limit
    reg = tmp_path / "register.csv"
    reg.write_text("\n".join(ln for ln in REGISTER.splitlines() if ";L09;" not in ln) + "\n",
                   encoding="utf-8")  # fmt: skip
    out = tmp_path / "out"
    rc = main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
               "--authorisations", str(reg)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "labforensics: warning:" not in err
    f = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert not any("not in the evidence" in t for t in f["limits"])


@pytest.mark.parametrize(
    "text",
    [
        "ipp\nhello world\nfoo bar\n",  # an identifier header over words
        "lab,ipp\nL01,n/a\nL01,unknown 3\n",  # placeholders
    ],
)
def test_junk_leak_list_is_one_error_line(case, tmp_path, capsys, text):
    # a leak list whose rows hold no identifier-shaped value: exit 2, one line naming the
    # file and what was expected, nothing written (never a conclusion built on nothing)
    leak = tmp_path / "junk_leak.csv"
    leak.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    rc = main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
               "--leak", str(leak)])  # fmt: skip
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("labforensics: error:"), err
    assert "junk_leak.csv" in lines[0] and "holds an identifier" in lines[0]
    assert "expected a list of leaked identifiers" in lines[0]
    assert not Path(out / "findings.json").exists()


def test_transfer_log_undecodable_bytes_are_a_limit(case, tmp_path, capsys):
    """Session 10, QA item 6: a byte of the transfer log that is not UTF-8 (a cp1252 é in
    a file name, line 1) is counted and named by line in the limits and a warning."""
    xfer = tmp_path / "xferlog"
    xfer.write_bytes(XFERLOG.replace("L01_export", "L01_r\xe9sultat").encode("cp1252"))
    out = tmp_path / "out"
    rc = main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
               "--leak", str(case["leak"]), "--transfers", str(xfer)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    f = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    said = ("the transfer log xferlog holds bytes that are not text of its encoding: 1 "
            "row(s) written in cp1252 in this utf-8 file, decoded as cp1252: line(s) 1; the file "
            "names, "
            "addresses and users of those lines may be wrong")  # fmt: skip
    assert any(t.startswith(said) for t in f["limits"])
    assert any("line(s) 1; the file names" in ln for ln in err.splitlines()
               if ln.startswith("labforensics: warning:"))  # fmt: skip


@pytest.mark.parametrize("content", [b"", b"\n  \n\n"])
def test_an_empty_transfer_log_is_a_log_of_no_transfer(case, tmp_path, capsys, content):
    """QA session 19, finding 5: an empty xferlog (0 bytes, or blank lines only: a server
    that logged no transfer in the period) stopped the run with exit 2. It is read as a
    transfer log of no transfer, hashed in the manifest like any input."""
    xfer = tmp_path / "xferlog"
    xfer.write_bytes(content)
    out = tmp_path / "out"
    rc = main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
               "--leak", str(case["leak"]), "--transfers", str(xfer)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    f = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert f["transfers_given"] is True and f["transfers"] == []
    notes = f["attribution"]["totals"]["notes"]
    assert any(n.startswith("0 FTP transfers read; 0 linked to an extraction") for n in notes)
    html = (out / "report.html").read_text(encoding="utf-8")
    # nothing read as evidence of a way out (QA session 20: "The 0 downloads fetched
    # files ...", "0 % of the leaked patients ... were in extraction files later fetched")
    assert "The 0 downloads" not in html and "later fetched from outside" not in html
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert any(r.get("source_file") == "xferlog" and r.get("size") == len(content)
               for r in m["inputs"])  # fmt: skip
    # a binary file is still refused (not an empty log)
    xfer.write_bytes(b"\x00\x01\x02" * 100)
    rc = main(["investigate", str(case["evidence"]), "--out", str(tmp_path / "out2"),
               "--quiet", "--transfers", str(xfer)])  # fmt: skip
    assert rc == 2 and "transfer log" in capsys.readouterr().err


def test_a_gzip_transfer_log_is_read(case, tmp_path, capsys):
    """QA session 20: a rotated ``xferlog.1.gz`` was refused as binary by the command,
    though its reader undoes gzip; a damaged one is refused, naming it."""
    import gzip

    xfer = tmp_path / "xferlog.1.gz"
    xfer.write_bytes(gzip.compress((XFERLOG + XFERLOG.replace("03:40", "03:50")).encode()))
    out = tmp_path / "out"
    rc = main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
               "--transfers", str(xfer)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    notes = json.loads((out / "findings.json").read_text(encoding="utf-8"))["attribution"][
        "totals"]["notes"]  # fmt: skip
    assert any(n.startswith("2 FTP transfers read") for n in notes)
    # a gzip of which nothing can be read: refused, naming it (not an empty log)
    xfer.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    rc = main(["investigate", str(case["evidence"]), "--out", str(tmp_path / "out2"),
               "--quiet", "--transfers", str(xfer)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "xferlog.1.gz is a damaged gzip file, nothing in it could be read" in err
    assert err.count("expected an FTP server transfer log") == 1  # said once
