"""Runs a Dask investigation in a fresh Python process, as ``labforensics`` would be run:
Dask's cluster, its workers and its warnings are that process's, not the test's.

The script written is :data:`PRELUDE` then the test's ``main`` body, run under
``if __name__ == "__main__":`` (Dask's workers re-import the script) with ``root`` (the
test's folder) and ``ev`` (``root/evidence``: labs L01 and L02, three events each, by
``store_evidence.lab_file``) defined.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

PRELUDE = """
import json, os, sys
from pathlib import Path

import dask

from store_evidence import lab_file
from labforensics.pipeline import investigate
from labforensics.privacy import CaseKey
from labforensics.store import ingest_to_store

if __name__ == "__main__":
    root = Path(sys.argv[1])
    ev = root / "evidence"
    lab_file(ev, "L01"), lab_file(ev, "L02")
"""


def run_dask_script(
    tmp_path: Path, main: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Write :data:`PRELUDE` and ``main`` to ``tmp_path/run.py`` and run it on ``tmp_path``.

    Parameters
    ----------
    tmp_path : Path
        The test's folder: the script's ``root``.
    main : str
        Statements run after the evidence is written (any indentation: re-indented).
    env : dict of str to str, optional
        Variables added to the environment (after the defaults: they win).

    Returns
    -------
    subprocess.CompletedProcess
        Its return code, stdout and stderr (text).
    """
    import labforensics

    script = tmp_path / "run.py"
    body = textwrap.indent(textwrap.dedent(main).strip("\n"), "    ")
    script.write_text(PRELUDE + body + "\n", encoding="utf-8")
    src = Path(labforensics.__file__).parents[1]
    full = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), str(TESTS / "store"), str(TESTS)]),
        "LABFORENSICS_CASE_KEY": bytes(range(32)).hex(),
        "LABFORENSICS_CHROMIUM": str(tmp_path / "no-chromium"),
        **(env or {}),
    }
    return subprocess.run([sys.executable, str(script), str(tmp_path)], env=full,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
