"""``make demo-real`` reads every real log, or names the one it skips and why (QA 17, item 3).

``auth-syslog/elastic/auth.log`` was left out of :data:`REAL_SOURCES` without a word,
although the README says the demo runs on the real public logs. Its syslog lines
carry no year and no file beside it gives one: it is skipped, and the demo says so.
"""

from __future__ import annotations

import pytest

from conftest import shared_path
from labforensics.demo import REAL_SKIPPED, real_log_files, run_real


def test_every_real_log_is_read_or_named_as_skipped():
    root = shared_path("data", "real")
    if not root.exists():
        pytest.skip(f"{root} is absent")
    files = real_log_files(root)
    assert "auth-syslog/elastic/auth.log" in files
    assert [f for f, where in files.items() if where is None] == []
    assert files["auth-syslog/elastic/auth.log"].startswith("skipped: its syslog lines")
    assert files["auth-syslog/loghub/OpenSSH_2k.log"] == "report auth-syslog"
    assert "auth-syslog/elastic/LICENSE" not in files


def test_a_log_outside_every_source_is_found(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "x.log").write_text("x\n", encoding="utf-8")
    (tmp_path / "new" / "LICENSE").write_text("x\n", encoding="utf-8")
    assert real_log_files(tmp_path) == {"new/x.log": None}


def test_the_demo_prints_the_skipped_folder_and_why(tmp_path, capsys):
    root = tmp_path / "real"
    (root / "auth-syslog" / "elastic").mkdir(parents=True)
    (root / "auth-syslog" / "elastic" / "auth.log").write_text("x\n", encoding="utf-8")
    assert run_real(tmp_path / "out", root, progress=False) == {}
    out = capsys.readouterr().out
    assert f"== auth-syslog/elastic: not investigated: {REAL_SKIPPED['auth-syslog/elastic']}" in out
    assert "carry no year" in out
