"""Docs that run: the README's Python examples, the package docstring's example and
every docstring example (``>>>``) are executed on a tiny built-in case (issue 11)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import os
import pkgutil
import re
import shutil
import textwrap
from pathlib import Path

import pytest

import labforensics
import labforensics as lf

ROOT = Path(__file__).resolve().parents[1]

CASE_TOML = """\
[case]
name = "docs example"
tz = "Europe/Paris"
seed = 0
key_file = "case.key"

[networks]
lab = ["10.0.0.0/8"]
vendor = ["172.16.0.0/16"]
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder laid out as the examples expect: case.toml, case.key, evidence/, leak.csv, xferlog."""
    gen = tmp_path_factory.mktemp("gen")
    lf.synth.generate(gen, labs=2, start="2020-01-01", end="2020-02-29", seed=5, scale=0.3,
                      incidents=("a",), artefacts=False, hostile=False)  # fmt: skip
    work = tmp_path_factory.mktemp("work")
    shutil.copytree(gen / "evidence", work / "evidence")
    shutil.copy(gen / "leak" / "leaked_ipps.csv", work / "leak.csv")
    shutil.copy(gen / "transfers" / "xferlog", work / "xferlog")
    (work / "case.key").write_text("ab" * 32 + "\n")
    (work / "case.toml").write_text(CASE_TOML)
    return work


def _run(code: str, where: Path, ns: dict | None = None) -> dict:
    ns = {"__name__": "__docs__"} if ns is None else ns
    old = Path.cwd()
    os.chdir(where)
    try:
        exec(compile(code, "<example>", "exec"), ns)
    finally:
        os.chdir(old)
    return ns


def _profile_example_files(where: Path) -> None:
    """evidence/logon.csv and evidence/access.log as the README's profile section shows them.

    ``tests/ingest/test_profiles_examples.py`` holds the same text and checks that the
    README shows every one of its lines.
    """
    spec = importlib.util.spec_from_file_location(
        "profiles_examples", ROOT / "tests" / "ingest" / "test_profiles_examples.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    (where / "evidence").mkdir(parents=True)
    (where / "evidence" / "logon.csv").write_bytes(mod.CERT_LOGON.encode())
    (where / "evidence" / "access.log").write_bytes(mod.ACCESS_LOG.encode())


def test_readme_python_examples_run(workdir, tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3, "the README shows the notebook and the profile examples"
    profiles = tmp_path / "profiles"
    _profile_example_files(profiles)
    case_ns: dict = {"__name__": "__docs__"}
    prof_ns: dict = {"__name__": "__docs__"}
    for code in blocks:
        if "profile=" in code:
            _run(code, profiles, prof_ns)
        else:
            _run(code, workdir, case_ns)
    # the notebook example ends with the attribution: incident (a), the vendor's extraction,
    # leads, but at "no support" against staff reading the same patients (log10 LR 0), so
    # no source is named (session 9's support rule)
    assert case_ns["at"].conclusion["leading"] == "vendor"
    assert case_ns["at"].verdict == "undetermined"
    # the last profile example reads both files, each with its own profile
    fmts = set(prof_ns["ev"].events["source_format"].astype(str))
    assert fmts == {"profile:cert-logon", "profile:apache-access"}


def test_package_docstring_example_runs(workdir):
    doc = labforensics.__doc__
    lines = []
    for line in doc.split("::\n", 1)[1].splitlines():
        if line.strip() and not line.startswith("    "):
            break  # the literal block ends at the first line back at the margin
        lines.append(line)
    ns = _run(textwrap.dedent("\n".join(lines)), workdir)
    assert ns["at"].conclusion["leading"] == "vendor"  # at no support: not named
    assert ns["at"].verdict == "undetermined"
    assert (workdir / "report" / "report.html").is_file()
    assert (workdir / "report" / "findings.json").is_file()


def _modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(labforensics.__path__, "labforensics.")
        if not info.name.endswith("__main__")
    )


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0
