"""A key file that cannot be used says why (QA, session 16, item 2).

``investigate --case-key /dev/null`` said "case key file /dev/null not found" although
the path exists. Each failure now names its cause: missing, not a regular file,
unreadable, empty, not a key file; the file's content is never quoted.
"""

from __future__ import annotations

import builtins
import os

import pytest

from labforensics._keyfile import key_file_problem, read_key_file
from labforensics.cli import main
from labforensics.errors import CaseKeyError
from labforensics.privacy import CaseKey

KEY = bytes(range(32)).hex()  # 64 hex digits


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "is empty"),
        (b"\n  \n", "is empty (blank)"),
        (b"SECRETPATIENT 1234\n", "is not a key file: it holds text that is not hexadecimal"),
        (b"abc\n", "is not a key file: it holds text that is not hexadecimal"),  # odd count
        (b"00112233\n", "is not a key file: 8 hexadecimal digits, fewer than the 32 a key needs"),
        (b"0" * 5000, "is not a key file: over 4096 bytes"),
    ],
)
def test_content_problems_are_named(tmp_path, content, why):
    p = tmp_path / "case.key"
    p.write_bytes(content)
    assert key_file_problem(p).startswith(f"case key file {p} {why}")
    with pytest.raises(CaseKeyError) as exc:
        CaseKey.from_file(p)
    assert str(exc.value) == key_file_problem(p)
    assert "SECRETPATIENT" not in str(exc.value)  # the content is never quoted


def test_path_problems_are_named(tmp_path):
    assert (
        key_file_problem(tmp_path / "nope.key")
        == f"case key file {tmp_path / 'nope.key'} not found"
    )
    assert (
        key_file_problem(tmp_path) == f"case key file {tmp_path} is not a regular file (a folder)"
    )
    assert key_file_problem("/dev/null") == (
        "case key file /dev/null is not a regular file (a character device)"
    )
    fifo = tmp_path / "pipe.key"
    os.mkfifo(fifo)
    assert key_file_problem(fifo) == f"case key file {fifo} is not a regular file (a named pipe)"


def test_unreadable_file_is_named(tmp_path, monkeypatch):
    # as root a mode 000 file stays readable: the refusal is simulated at open()
    p = tmp_path / "case.key"
    p.write_text(KEY + "\n")
    real = builtins.open

    def refuse(file, *a, **k):
        if os.fspath(file) == os.fspath(p):
            raise PermissionError(13, "Permission denied")
        return real(file, *a, **k)

    monkeypatch.setattr(builtins, "open", refuse)
    assert key_file_problem(p) == f"case key file {p} cannot be read (Permission denied)"


def test_a_good_key_file_is_read(tmp_path):
    p = tmp_path / "case.key"
    p.write_text(f"  {KEY}\n")
    assert key_file_problem(p) is None
    assert read_key_file(p) == KEY
    assert CaseKey.from_file(p).secret == bytes(range(32))


@pytest.mark.parametrize("command", ["investigate", "reidentify"])
def test_cli_names_the_cause_for_dev_null(tmp_path, capsys, command):
    ev = tmp_path / "ev"
    ev.mkdir()
    if command == "investigate":
        argv = ["investigate", str(ev), "--out", str(tmp_path / "out"), "--case-key",
                "/dev/null", "--quiet"]  # fmt: skip
    else:
        (tmp_path / "ids.txt").write_text("P0123456789abcdef\n")
        argv = ["reidentify", "--case-key", "/dev/null", "--evidence", str(ev), "--pseudonyms",
                str(tmp_path / "ids.txt"), "--out", str(tmp_path / "who.csv")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "case key file /dev/null is not a regular file (a character device)" in err
    assert "not found" not in err
    assert not (tmp_path / "out").exists()
