"""The memory-budget warning for a person (QA, session 8): sizes in bytes, KiB, MiB or
GiB with thousands separators (a budget below 1 MiB read "0 MiB"), and the command
prints it as one ``labforensics: warning:`` line, not as Python's warning with a path."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from labforensics import read_evidence
from labforensics.case import CaseContext
from labforensics.cli import _own_warnings_as_lines
from labforensics.engine import split_by_lab
from labforensics.engine.run import EVENT_BYTES, LabRun, MemoryBudgetWarning, size_text
from labforensics.privacy import CaseKey

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "vendor-migration"


def test_size_text():
    assert size_text(0) == "0 bytes" and size_text(1) == "1 byte"
    assert size_text(1023) == "1,023 bytes" and size_text(1024) == "1.0 KiB"
    assert size_text(1536) == "1.5 KiB" and size_text(400_000) == "390.6 KiB"
    assert size_text(2**20 - 1) == "1.0 MiB"  # never "1,024.0 KiB"
    assert size_text(2_000_000_000) == "1.9 GiB"
    assert size_text(2_000_000_000, exact=True) == "1.9 GiB (2,000,000,000 bytes)"
    assert size_text(5 * 2**40) == "5,120.0 GiB"
    assert size_text(5, exact=True) == "5 bytes"


@pytest.fixture(scope="module")
def parts():
    case = CaseContext.from_file(FIXTURE / "case.toml")
    ev = read_evidence([str(p) for p in case.evidence], case_key=CaseKey(bytes(range(32))),
                       case=case, progress=False)  # fmt: skip
    return split_by_lab(ev.events)


@pytest.mark.parametrize("budget, said", [(1, "1 byte"), (1000, "1,000 bytes"),
                                          (40_000, "39.1 KiB (40,000 bytes)")])  # fmt: skip
def test_budget_below_one_mib_is_said_in_its_unit(parts, budget, said):
    run = LabRun(list(parts), settings=None, detection=None, memory_budget=budget)
    try:
        with pytest.warns(MemoryBudgetWarning) as got:
            run._check_budget([p.lab for p in parts])
    finally:
        run.eng.close()  # the spill folder the budget made
    (w,) = got
    text = str(w.message)
    assert text.startswith(f"the memory budget of {said} is below the events of ")
    assert "0 MiB" not in text and "memory_budget" not in text
    assert run.accounts_over  # a warning only for an account above the budget alone
    for lab, size in run.accounts_over.items():  # each such lab and account, in words
        assert f"{lab} ~{size_text(run.over_budget[lab])} in " in text
        assert f"its largest account ~{size_text(size)}" in text
    assert f"estimated at {EVENT_BYTES:,} bytes an event" in text


def test_own_warnings_become_one_line(capsys, monkeypatch):
    before = []

    def record(m, c, *a, **k):
        before.append((c, m))

    monkeypatch.setattr(warnings, "showwarning", record)
    with _own_warnings_as_lines(), warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a lab is large", MemoryBudgetWarning, stacklevel=1)
        warnings.warn("not ours", DeprecationWarning, stacklevel=1)
    assert capsys.readouterr().err == "labforensics: warning: a lab is large\n"
    # another's warning goes to whoever showed warnings before, as it was
    assert [(c, str(m)) for c, m in before] == [(DeprecationWarning, "not ours")]
    assert warnings.showwarning is record  # put back after the command


def test_command_prints_the_budget_warning_as_one_line(tmp_path):
    key = tmp_path / "case.key"
    CaseKey(bytes(range(32))).write(key)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), TMPDIR=str(tmp_path))
    env.pop("PYTHONWARNINGS", None)
    out = subprocess.run(
        [sys.executable, "-m", "labforensics.cli", "investigate", "--case",
         str(FIXTURE / "case.toml"), "--case-key", str(key), "--out", str(tmp_path / "out"),
         "--quiet", "--memory-budget", "1"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = [x for x in out.stderr.splitlines() if "memory budget" in x]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("labforensics: warning: the memory budget of 1 byte is below ")
    assert "Warning" not in out.stderr and ".py:" not in out.stderr
