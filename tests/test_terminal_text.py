"""Text from the evidence printed to a terminal shows its control characters as escapes
(QA session 9, item 1): an account ``ESC[2J ESC[31m evil BEL`` cleared the responder's
screen from the command's summary; an unreadable binary file's bytes went raw into the
error line."""

from __future__ import annotations

import sys
import warnings

import pytest

from labforensics._terminal import visible
from labforensics.cli import _own_warnings_as_lines, main
from labforensics.progress import lab_progress
from lis_headers import LEGACY_HEADER as HEADER

EVIL = "\x1b[2J\x1b[31mevil\x07"


def _raw_controls(text: str) -> list[str]:
    """The control characters of ``text`` other than newline and tab (tqdm's own CR and
    cursor moves are not in what is checked with this)."""
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0]


@pytest.mark.parametrize(
    "raw, shown",
    [
        (EVIL, r"\x1b[2J\x1b[31mevil\x07"),
        ("a\rb", r"a\x0db"),  # a carriage return would overwrite the line
        ("del\x7f", r"del\x7f"),
        ("csi\x9b31m", r"csi\x9b31m"),  # C1: the one-byte CSI
        ("abc\u202edcba", r"abc\u202edcba"),  # right-to-left override
        ("zero\u200bwidth", r"zero\u200bwidth"),
        ("byte\udcff", r"byte\xff"),  # surrogateescape: the byte
        ("CORP\\jdoe", "CORP\\jdoe"),  # backslashes as they are
        ("Éloïse Müller", "Éloïse Müller"),  # letters, accents: unchanged
        ("caf\u00e9 \u00a0x", "caf\u00e9 \u00a0x"),  # no-break space: printable text
    ],
)
def test_visible_escapes_controls(raw, shown):
    assert visible(raw) == shown
    assert visible(visible(raw)) == visible(raw)  # idempotent


def test_visible_keeps_structural_newlines_only_when_asked():
    assert visible("line 1\nline 2\tx") == "line 1\nline 2\tx"
    assert visible("acc\nVerdict: forged", keep="") == r"acc\x0aVerdict: forged"
    assert visible(3) == "3"


def _case(tmp_path, account: str):
    ev = tmp_path / "ev"
    ev.mkdir()
    row = (f"01/01/2020;09:00:00;L01;S1;{account};EDITEUR;PC;10.1.0.9;EXTRACTION;"
           "EXTRACTION;OK;;;9000;x")  # fmt: skip
    (ev / "AUDIT_L01_20200101.csv").write_bytes(f"{HEADER}\r\n{row}\r\n".encode())
    return ev


def test_summary_of_investigate_shows_escape_sequences(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))  # no PDF
    ev = _case(tmp_path, EVIL)
    assert main(["investigate", str(ev), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    got = capsys.readouterr()
    assert r"Session of \x1b[2J\x1b[31mevil\x07" in got.out
    assert not _raw_controls(got.out) and not _raw_controls(got.err)


def test_ingest_summary_and_error_line_show_escapes(tmp_path, capsys):
    ev = _case(tmp_path, "ok")
    (ev / "AUDIT_L01_20200101.csv").write_bytes(bytes(range(256)) * 4)  # binary: unread
    assert main(["ingest", str(ev), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("labforensics: error: no readable evidence file")
    assert r"first bytes '\x00\x01\x02\x03" in err  # the bytes, said, not sent
    assert not _raw_controls(err)


def test_warnings_and_progress_postfix_show_escapes(capsys, monkeypatch):
    from labforensics.engine.run import MemoryBudgetWarning

    def python_shows(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    monkeypatch.setattr(warnings, "showwarning", python_shows)  # as outside pytest

    with _own_warnings_as_lines(), warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(f"lab {EVIL} over budget", MemoryBudgetWarning, stacklevel=1)
        warnings.warn(f"Glyph 27 ({EVIL}) missing", UserWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert r"labforensics: warning: lab \x1b[2J\x1b[31mevil\x07 over budget" in err
    assert r"Glyph 27 (\x1b[2J\x1b[31mevil\x07) missing" in err
    assert not _raw_controls(err)
    with lab_progress("sessions", [EVIL], enabled=True) as step:
        step(EVIL)
    err = capsys.readouterr().err
    assert "\x1b[31m" not in err and "\x07" not in err  # tqdm's own CR aside
    assert r"\x1b[31mevil\x07" in err
