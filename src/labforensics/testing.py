"""pytest plugin (entry point ``pytest11``) that replays ``fixtures/*/case.toml``.

A *fixture* is a small case kept with the project (see ``fixtures/README.md``)::

    fixtures/<name>/case.toml        the case file; its [evidence] section names the inputs
    fixtures/<name>/evidence/...     the evidence files, as received
    fixtures/<name>/expected/*.json  the reviewed right answers

Running ``pytest fixtures/`` (or the project's ``tests/test_fixtures.py``) replays
each case with :func:`labforensics.investigate` into a temporary folder and
compares, file by file, ``verdict.json``, ``flagged.json``, ``windows.json`` and
``accounting.json`` with ``expected/``, showing a unified diff on a mismatch.
After a deliberate change, ``pytest fixtures/ --lf-update-expected`` rewrites
``expected/`` (review the diff with ``git diff fixtures/`` before committing).

This module imports only the package's lazy public API at import time, so pytest starts
even when a stage is missing or broken; the replay imports it when it runs.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

import labforensics  # the lazy public API: no stage is imported until a replay runs

__all__ = ["EXPECTED_FILES", "compare_expected", "expected_from_findings", "replay_case"]

#: Files of ``expected/`` and what they hold.
EXPECTED_FILES = ("verdict.json", "flagged.json", "windows.json", "accounting.json",
                  "conclusion.json")  # fmt: skip
_OPTION = "--lf-update-expected"
#: Window fields compared: the lab, the bounds (UTC) and how many leaked patients.
_WINDOW_KEYS = ("lab", "after", "before", "start", "end", "n_leaked", "extraction")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labforensics", "labforensics fixture replay")
    group.addoption(
        _OPTION,
        action="store_true",
        default=False,
        help="labforensics: rewrite fixtures/*/expected/ from the current results "
        "(after a deliberate change; review with git diff)",
    )


def _is_project_fixture(path: Path, config: pytest.Config) -> bool:
    """``<rootdir>/fixtures/<name>/case.toml`` only (not any case.toml anywhere)."""
    return (
        path.name == "case.toml"
        and path.parent.parent == Path(config.rootpath) / "fixtures"
        and ((path.parent / "expected").is_dir() or (path.parent / "evidence").exists())
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_project_fixture(Path(file_path), parent.config):
        return FixtureFile.from_parent(parent, path=Path(file_path))
    return None


def expected_from_findings(findings: dict[str, Any]) -> dict[str, Any]:
    """The comparable part of ``findings.json``, one entry per ``expected/`` file.

    ``flagged.json`` lists flagged sessions by (lab, account, start) rather than
    by id, so a reader can check it against the evidence by hand.
    """
    v = findings["verdict"]
    flagged = sorted(
        (
            {"lab": s.get("lab"), "account": s.get("account"), "start": s.get("start"),
             "account_kind": s.get("account_kind")}
            for s in findings.get("top_sessions", [])
            if s.get("flagged")
        ),
        key=lambda r: (str(r["start"]), str(r["lab"]), str(r["account"])),
    )  # fmt: skip
    acc = findings.get("accounting", {})
    files = [
        {k: f.get(k) for k in ("source_file", "format", "rows_read", "events",
                               "rotation_duplicates", "repeated_headers", "ignored",
                               "quarantined", "truncated")}
        for f in acc.get("files", [])
    ]  # fmt: skip
    windows = [{k: w.get(k) for k in _WINDOW_KEYS if k in w} for w in findings.get("windows", [])]
    return {
        "conclusion.json": _conclusion_expected(findings),
        "verdict.json": {"verdict": v.get("verdict"), "class": v.get("class")},
        "flagged.json": flagged,
        "windows.json": windows,
        "accounting.json": {
            "totals": acc.get("totals", {}),
            "files": files,
            "unrecognised": acc.get("unrecognised", []),
        },
    }


def _conclusion_expected(findings: dict[str, Any]) -> dict[str, Any]:
    """The conclusion's proposition, leading proposition (the one named, or the one the
    likelihoods rank first when no source is named), strength (log10 LR to 3 decimals,
    verbal, alternative) and coverage lines, for the case and per lab (issue 15)."""

    def one(c: dict[str, Any]) -> dict[str, Any]:
        lr = c.get("log10_lr")
        return {
            "proposition": c.get("proposition"),
            "leading": c.get("leading"),
            "log10_lr": None if lr is None else round(float(lr), 3),
            "verbal": c.get("verbal"),
            "alternative": c.get("alternative"),
            "coverage": c.get("coverage"),
        }

    c = findings.get("conclusion") or {}
    return {**one(c), "per_lab": [{"lab": p.get("lab"), **one(p)}
                                  for p in findings.get("per_lab", [])]}  # fmt: skip


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def replay_case(case_toml: Path, workdir: Path) -> dict[str, Any]:
    """Investigate a fixture case into ``workdir/out``; returns ``findings.json``'s content.

    The case file is read once (:meth:`labforensics.CaseContext.from_file`); its
    ``[evidence]`` section names the inputs.
    """
    case = labforensics.CaseContext.from_file(case_toml)
    res = labforensics.investigate(None, workdir / "out", case=case, force=True, progress=False)
    return res.findings


def compare_expected(
    case_dir: Path, actual: dict[str, Any], update: bool = False
) -> list[tuple[str, str]]:
    """Compare (or rewrite) ``expected/``; returns ``[(file, unified diff)]`` of mismatches."""
    exp_dir = case_dir / "expected"
    problems = []
    for name in EXPECTED_FILES:
        text = _dump(actual[name])
        p = exp_dir / name
        if update:
            exp_dir.mkdir(exist_ok=True)
            p.write_text(text, encoding="utf-8")
            continue
        want = p.read_text(encoding="utf-8") if p.exists() else ""
        if want != text:
            diff = "".join(
                difflib.unified_diff(
                    want.splitlines(True), text.splitlines(True),
                    fromfile=f"expected/{name}", tofile=f"actual/{name}",
                )
            )  # fmt: skip
            problems.append((name, diff or f"expected/{name} is missing"))
    return problems


class FixtureMismatch(Exception):
    """A replayed fixture differs from its ``expected/`` files."""


class FixtureFile(pytest.File):
    """A ``fixtures/<name>/case.toml``: one replay item."""

    def collect(self):
        yield FixtureItem.from_parent(self, name=self.path.parent.name)


class FixtureItem(pytest.Item):
    """Replays one fixture case and compares it with ``expected/``."""

    def runtest(self) -> None:
        update = bool(self.config.getoption(_OPTION, default=False))
        with tempfile.TemporaryDirectory(prefix="lf-fixture-") as tmp:
            findings = replay_case(self.path, Path(tmp))
        problems = compare_expected(self.path.parent, expected_from_findings(findings), update)
        if problems:
            raise FixtureMismatch(problems)

    def repr_failure(self, excinfo, style=None):  # type: ignore[override]
        if isinstance(excinfo.value, FixtureMismatch):
            parts = [f"fixture {self.path.parent.name} differs from its expected/ files:"]
            for name, diff in excinfo.value.args[0]:
                parts.append(f"--- {name}\n{diff}")
            parts.append(f"(after a deliberate change: pytest {self.path.parent} {_OPTION})")
            return "\n".join(parts)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"fixture {self.path.parent.name}"
