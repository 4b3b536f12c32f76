"""The tests' helper for children stopped by a signal reports the stacks of a child that
does not end (tests/child_run.py)."""

from __future__ import annotations

import os
import signal
import textwrap

import pytest

from child_run import WAIT, start, stop


def test_a_child_that_ignores_sigterm_is_reported_with_its_stack(tmp_path):
    script = textwrap.dedent(f"""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("READY", flush=True)
        {WAIT}
        """)  # fmt: skip
    err = tmp_path / "child.err"
    proc = start(script, env=dict(os.environ), cwd=tmp_path, err=err)
    assert proc.stdout.readline().strip() == b"READY"
    with pytest.raises(AssertionError, match=r"(?s)did not end within \d+ s of signal "
                                             r"SIGTERM; its stacks:\n.*<string>"):  # fmt: skip
        stop(proc, signal.SIGTERM, err, timeout=1)
    assert proc.returncode == -signal.SIGABRT  # aborted by the helper, then reported


def test_a_child_that_ends_gives_its_return_code(tmp_path):
    script = 'import time\nprint("READY", flush=True)\n' + WAIT
    err = tmp_path / "child.err"
    proc = start(script, env=dict(os.environ), cwd=tmp_path, err=err)
    assert proc.stdout.readline().strip() == b"READY"
    assert stop(proc, signal.SIGTERM, err) == -signal.SIGTERM
