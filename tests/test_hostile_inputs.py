"""Every input of ``labforensics investigate`` fed hostile files (issue 16, item 5).

Each role (evidence, leak, transfer log, patient index, case file) gets an empty
file (but the case file and the transfer log, for which empty is valid), a binary one, a 10 MB single line and a file of the wrong format: the
command must end with exit 2 and ONE line naming the file, never a traceback,
and before any stage has written anything. UTF-16 with a byte-order mark (what a
spreadsheet saves as "Unicode text") must be read, not refused: the same content
in UTF-8 and UTF-16 gives the same counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hostile import LAB, N_PATIENTS, ipps, write_hostile_case
from labforensics.cli import main

#: A valid xferlog line (xferlog(5): date, seconds, host, bytes, file, type, action,
#: direction, access mode, user, service, auth, user id, completion).
XFERLOG = (
    "Wed Mar 18 03:40:00 2020 12 198.51.100.7 122880 /outgoing/L01_export.csv b _ o a "
    "guest@example.org ftp 0 * c\n"
)
CASE_TOML = '[case]\nname = "Unicode case"\ntz = "Europe/Paris"\n'

HOSTILE = {
    "empty": b"",
    "binary": bytes(range(256)) * 64,
    "huge_line": b"x" * (10 * 1024 * 1024),
    "wrong_format": b"<html><body><p>not what was asked for</p></body></html>\n",
}


def _utf16(text: str) -> bytes:
    return b"\xff\xfe" + text.encode("utf-16-le")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile_inputs")
    return {"base": base, **write_hostile_case(base / "case", days=3)}


def _args(case: dict, role: str, f: Path, out: Path) -> list[str]:
    args = ["investigate", "--out", str(out), "--quiet"]
    args += [str(f)] if role == "evidence" else [str(case["evidence"])]
    if role == "leak":
        args += ["--leak", str(f)]
    elif role == "transfers":
        args += ["--transfers", str(f)]
    elif role == "patients":
        args += ["--leak", str(case["leak"]), "--patients", str(f)]
    elif role == "case":
        args += ["--case", str(f)]
    return args


#: (role, hostile kind); an empty case.toml is a valid case file (every default), and an
#: empty transfer log a log of no transfer (QA session 19; tests/test_companion_inputs.py)
VALID_EMPTY = {("case", "empty"), ("transfers", "empty")}
CASES = [(r, k) for r in ("evidence", "leak", "transfers", "patients", "case")
         for k in sorted(HOSTILE) if (r, k) not in VALID_EMPTY]  # fmt: skip


@pytest.mark.parametrize(("role", "kind"), CASES)
def test_hostile_file_is_one_error_line(case, tmp_path, capsys, role, kind):
    f = tmp_path / (f"{kind}.toml" if role == "case" else f"{kind}.csv")
    f.write_bytes(HOSTILE[kind])
    out = tmp_path / "out"
    rc = main(_args(case, role, f, out))
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    # exit 2 (usage or evidence error), one line, naming the file; no traceback
    assert rc == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith("labforensics: error:"), err
    assert f.name in lines[0]
    # refused before any stage ran: nothing written, no key made beside the output
    assert not (out / "findings.json").exists() and not (tmp_path / "out.key").exists()


def test_hostile_leak_in_a_subprocess_has_no_traceback(case, tmp_path):
    # the command as a user runs it: the interpreter's own stderr holds no traceback
    f = tmp_path / "leak.bin"
    f.write_bytes(HOSTILE["binary"])
    r = subprocess.run(
        [sys.executable, "-m", "labforensics.cli", *_args(case, "leak", f, tmp_path / "o")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "leak file" in r.stderr and "binary" in r.stderr


def test_error_names_what_was_expected(case, tmp_path, capsys):
    # a binary leak: the message says what the file should have been
    f = tmp_path / "leak.csv"
    f.write_bytes(HOSTILE["binary"])
    assert main(_args(case, "leak", f, tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert "expected a list of leaked identifiers" in err and "UTF-16 with a BOM" in err


def _findings(out: Path) -> dict:
    return json.loads((out / "findings.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def utf8_run(case):
    out = case["base"] / "utf8"
    assert main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
                 "--leak", str(case["leak"])]) == 0  # fmt: skip
    return _findings(out)


def test_utf16_evidence_is_read(case, utf8_run, tmp_path):
    ev = tmp_path / "evidence"
    ev.mkdir()
    for f in sorted(case["evidence"].iterdir()):
        text = f.read_bytes().decode("utf-8-sig")
        (ev / f.name).write_bytes(_utf16(text))
    out = tmp_path / "out"
    assert main(["investigate", str(ev), "--out", str(out), "--quiet",
                 "--leak", str(case["leak"])]) == 0  # fmt: skip
    got = _findings(out)
    # 3 days x 3 technicians x 15 rows = 135 events, the same as the UTF-8 files
    assert got["counts"]["events"] == utf8_run["counts"]["events"] == 135
    assert got["counts"]["quarantined"] == 0


def test_utf16_leak_is_read(case, utf8_run, tmp_path):
    f = tmp_path / "leak.csv"
    f.write_bytes(_utf16(case["leak"].read_text(encoding="utf-8")))
    out = tmp_path / "out"
    assert main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
                 "--leak", str(f)]) == 0  # fmt: skip
    # every leaked patient of the lab, as in UTF-8
    assert _findings(out)["leak"]["patients"] == utf8_run["leak"]["patients"] == N_PATIENTS


def test_utf16_transfers_are_read(case, tmp_path):
    f = tmp_path / "xferlog"
    f.write_bytes(_utf16(XFERLOG))
    out = tmp_path / "out"
    assert main(["investigate", str(case["evidence"]), "--out", str(out), "--quiet",
                 "--leak", str(case["leak"]), "--transfers", str(f)]) == 0  # fmt: skip
    # exit 0 means it was read: a log with no xferlog line is refused before any stage
    assert _findings(out)["transfers_given"] is True


def test_utf16_patient_index_is_read(case, tmp_path):
    f = tmp_path / f"PATIENTS_{LAB}.csv"
    rows = "".join(f"{p};DUPONT;Jean;01/02/1970\n" for p in ipps()[:20])
    f.write_bytes(_utf16("IPP;NOM;PRENOM;DATE_NAISSANCE\n" + rows))
    out = tmp_path / "out"
    assert main(_args(case, "patients", f, out)) == 0
    assert _findings(out)["leak"]["patients"] == N_PATIENTS


def test_utf16_case_file_is_read(case, tmp_path):
    f = tmp_path / "case.toml"
    f.write_bytes(_utf16(CASE_TOML))
    out = tmp_path / "out"
    assert main(_args(case, "case", f, out)) == 0
    assert "Unicode case" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("flag", ["--start", "--end"])
def test_synth_bad_day_is_a_usage_error(tmp_path, capsys, flag):
    # "2020-13-01" has no month 13: argparse's usage error (exit 2), no traceback
    with pytest.raises(SystemExit) as exc:
        main(["synth", str(tmp_path / "s"), flag, "2020-13-01"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "Traceback" not in err
    assert "'2020-13-01' is not a day YYYY-MM-DD" in err and not (tmp_path / "s").exists()
