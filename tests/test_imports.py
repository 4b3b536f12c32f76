"""The package's import graph: no cycle, layers in one direction, a broken import is loud.

Layers: ``cli`` -> ``pipeline`` -> stages (ingest, sessions, features, detect,
attribution ...) -> ``outputs``; ``report`` sits beside the pipeline (the pipeline
imports it, no stage does). Read statically with :mod:`ast` (every module of
``src/labforensics``, imports at any depth), and checked dynamically in fresh
interpreters.
"""

from __future__ import annotations

import ast
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import labforensics
from labforensics.cli import main

PKG = Path(labforensics.__file__).resolve().parent
SRC = PKG.parent

#: Modules above the stages: no stage imports them.
UPPER = (
    "labforensics.cli",
    "labforensics.pipeline",
    "labforensics.result",
    "labforensics.demo",
    "labforensics.testing",
)  # fmt: skip  (result: the pipeline's return value)
#: Modules of the layout that keep every import at the top of the file (issue 11: no
#: function-local import except optional heavy dependencies and the lazy public API).
TOP_IMPORTS_ONLY = (
    "labforensics.cli",
    "labforensics.pipeline",
    "labforensics.outputs",
    "labforensics.report.findings",
    "labforensics.demo",
    "labforensics.testing",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


#: The name :func:`_resolve` gives a relative import that climbs above the top-level
#: package (``from ..outputs import x`` in ``labforensics/case_events.py``): Python raises
#: ImportError when it runs, so a function-local one fails only at run time.
BEYOND = "<beyond the top-level package>"


def _resolve(module: str, node: ast.ImportFrom, is_pkg: bool | None = None) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved as Python
    does: from the module's package, ``level - 1`` packages up), or :data:`BEYOND` with
    the import's text when it climbs above the top-level package."""
    if not node.level:
        return node.module or ""
    if is_pkg is None:
        is_pkg = MODULES[module].name == "__init__.py"
    package = module.split(".") if is_pkg else module.split(".")[:-1]
    if node.level > len(package):  # "attempted relative import beyond top-level package"
        return f"{BEYOND} {module}: from {'.' * node.level}{node.module or ''}"
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(
    module: str, source: str | None = None, is_pkg: bool | None = None
) -> list[tuple[str, bool]]:
    """``(imported labforensics module, at module level)`` for every import of ``module``.

    Imports under ``if TYPE_CHECKING:`` are left out (never run). ``from X import name``
    counts as an import of ``X.name`` when that is a module, else of ``X``. A relative
    import above the top-level package counts as :data:`BEYOND`. ``source`` and
    ``is_pkg`` (default: the package's own file) let the checker read a module given as
    text.
    """
    text = MODULES[module].read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text)
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                continue
            if isinstance(child, ast.Import):
                found.extend((a.name, top) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                target = _resolve(module, child, is_pkg)
                for a in child.names:
                    sub = f"{target}.{a.name}"
                    found.append((sub if sub in MODULES else target, top))
            inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, top and not inner)

    visit(tree, True)
    return [(m, top) for m, top in found if m.startswith(("labforensics", BEYOND))]


#: module -> the package modules it imports, at module level or inside a function: a cycle
#: closed by a function-local import still ties the two modules together.
GRAPH = {m: sorted({t for t, _ in _imports(m) if t != m}) for m in MODULES}


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_no_relative_import_beyond_the_package():
    # Python refuses it when it runs: at import for a module-level one, only when its
    # function runs for a function-local one (which no other test would notice)
    beyond = [t for m in MODULES for t, _ in _imports(m) if t.startswith(BEYOND)]
    assert beyond == []


FAKE = textwrap.dedent(
    """
    from __future__ import annotations

    from .schema import STRING


    def late():
        from ..outputs import write_json  # one dot too many: beyond labforensics

        return write_json, STRING
    """
)


def test_checker_flags_a_relative_import_beyond_the_package():
    # a top-level module of the package (labforensics/case_events.py) given as text
    got = _imports("labforensics.case_events", FAKE, is_pkg=False)
    assert ("labforensics.schema", True) in got
    assert (f"{BEYOND} labforensics.case_events: from ..outputs", False) in got
    # flagged by the function-local rule too
    assert [t for t, top in got if not top and t not in LAZY_ALLOWED]
    # the same two dots from a subpackage's module, or from a package's __init__, stay in
    good = textwrap.dedent("def f():\n    from ..outputs import write_json\n")
    assert _imports("labforensics.report.findings", good, is_pkg=False) == [
        ("labforensics.outputs", False)
    ]
    assert _imports("labforensics.report", good, is_pkg=True) == [("labforensics.outputs", False)]
    assert _imports("labforensics", "from .. import x\n", is_pkg=True) == [
        (f"{BEYOND} labforensics: from ..", True)
    ]


def test_graph_reads_the_known_edges():
    # the static reader sees the layers' own imports (a reader that saw nothing would pass all)
    assert "labforensics.pipeline" in GRAPH["labforensics.cli"]
    assert "labforensics.report.findings" in GRAPH["labforensics.pipeline"]
    assert "labforensics.outputs" in GRAPH["labforensics.report.findings"]


def test_no_import_cycle():
    # a cycle makes the import order decide whether a name exists yet (the old cli and
    # investigation modules imported each other inside functions: found here)
    assert _cycles(GRAPH) == []


def test_cycle_finder_finds_a_cycle():
    # the finder itself: a -> b -> c -> a is one cycle; d hangs off it
    g = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": []}
    assert _cycles(g) == [["a", "b", "c"]]


def test_layers_point_one_way():
    wrong = []
    for m, targets in GRAPH.items():
        for t in targets:
            if _in(t, ("labforensics.cli",)) and m not in (
                "labforensics.cli",
                "labforensics.__main__",
            ):
                wrong.append((m, t))  # nothing imports the command line but python -m
            if _in(t, ("labforensics.pipeline",)) and not _in(m, UPPER):
                wrong.append((m, t))  # only the command line and the demo run the pipeline
            if _in(t, ("labforensics.report",)) and not _in(m, (*UPPER, "labforensics.report")):
                wrong.append((m, t))  # stages do not word findings nor draw the report
    assert wrong == []


#: Package modules that may be imported inside a function: the numba kernels (importing
#: them compiles or loads machine code, a cost only the readers that need them pay), and
#: the command by its entry point.
LAZY_ALLOWED = (
    "labforensics.ingest._lis_kernels",
    "labforensics._sessions_kernels",
    "labforensics.engine.dask",  # imports dask.distributed, an optional dependency
    # the console entry point (labforensics.__main__, the only importer of the command,
    # test_layers_point_one_way) imports it once Ctrl-C is caught: no traceback of the
    # import when interrupted in the first second (QA session 10)
    "labforensics.cli",
)


def test_top_level_imports_only():
    local = [(m, t) for m in TOP_IMPORTS_ONLY for t, top in _imports(m) if not top]
    # a function-local import hides a broken module until that function runs
    assert local == []


def test_no_function_local_package_import_outside_the_kernels():
    # every module of the package: a package import inside a function only for the kernels
    local = [(m, t) for m in MODULES for t, top in _imports(m) if not top and t not in LAZY_ALLOWED]
    assert local == []


def _run(code: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    env["PYTHONPATH"] = os.pathsep.join([p for p in (env_extra.get("PYTHONPATH"), str(SRC)) if p])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300, check=False)  # fmt: skip


def test_every_module_imports_in_any_order():
    seed = random.SystemRandom().randrange(2**32)
    names = sorted(m for m in MODULES if m != "labforensics.__main__")
    random.Random(seed).shuffle(names)
    code = "import importlib\n" + "".join(f"importlib.import_module({n!r})\n" for n in names)
    res = _run(code)
    # every module imports in a fresh interpreter, whatever the order (seed for a rerun)
    assert res.returncode == 0, f"seed {seed}: {res.stderr[-3000:]}"


#: A meta-path hook that makes one module of the package fail to import.
BLOCKER = textwrap.dedent(
    """
    import importlib.abc, os, sys

    class _Broken(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == os.environ["LF_BROKEN_MODULE"]:
                raise ImportError(f"simulated broken import of {name}")
            return None

    sys.meta_path.insert(0, _Broken())
    """
)


@pytest.mark.parametrize(
    "broken",
    ["labforensics.report.findings", "labforensics.attribution", "labforensics.reidentify"],
)
def test_broken_import_makes_help_fail_loudly(tmp_path, broken):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    # as the `labforensics` console script does: import labforensics.cli, call main()
    res = _run("import sys\nfrom labforensics.cli import main\nsys.exit(main(['--help']))",
               PYTHONPATH=str(tmp_path), LF_BROKEN_MODULE=broken)  # fmt: skip
    # the command fails with the ImportError's traceback, not a help missing a subcommand
    assert res.returncode != 0
    assert "Traceback" in res.stderr and f"simulated broken import of {broken}" in res.stderr
    assert "usage:" not in res.stdout


def test_help_runs_without_a_broken_import(tmp_path):
    # the same hook naming no package module: the help prints, exit 0 (the hook is harmless)
    (tmp_path / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    res = _run("import sys\nfrom labforensics.cli import main\nsys.exit(main(['--help']))",
               PYTHONPATH=str(tmp_path), LF_BROKEN_MODULE="no.such.module")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "investigate" in res.stdout


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    text = capsys.readouterr().out
    assert exc.value.code == 0
    # argparse lists the subcommands as {synth,ingest,investigate,reidentify}
    assert "{synth,ingest,investigate,reidentify}" in text
    for name in ("investigate", "reidentify"):
        assert any(line.strip().startswith(name) for line in text.splitlines()), name
