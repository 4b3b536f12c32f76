"""A run in a child process, stopped by a signal mid-stage, with a diagnosis when it
does not end (session 20: one such child did not end within 60 s of its SIGTERM under
``pytest -n auto``, once in three runs, and left nothing to read).

The child's stand-in for a long stage waits in short sleeps (:data:`WAIT`), so that a
signal's Python handler runs within 50 ms wherever the kernel delivered the signal (a
signal taken by another thread does not interrupt the main thread's sleep). When the
child still does not end, it is sent ``SIGABRT`` with ``PYTHONFAULTHANDLER`` set, and
the test fails with every thread's stack, from the child's own stderr file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

#: The stand-in for a long stage in a child's script (60 s in 50-ms steps).
WAIT = "for _ in range(1200): time.sleep(0.05)"


def start(script: str, *, env: dict[str, str], cwd: Path, err: Path) -> subprocess.Popen:
    """Start ``python -c script``: stdout a pipe, stderr the file ``err`` (outside any
    folder the test inspects), Python's fault handler on."""
    env = dict(env, PYTHONFAULTHANDLER="1")
    with open(err, "wb") as fh:
        return subprocess.Popen([sys.executable, "-c", script], env=env, cwd=cwd,
                                stdout=subprocess.PIPE, stderr=fh)  # fmt: skip


def stop(proc: subprocess.Popen, sig: int, err: Path, timeout: float = 120.0) -> int:
    """Send ``sig`` and wait for the child's end: its return code. A child still running
    after ``timeout`` seconds is aborted (its stacks dumped to ``err``) and the test
    fails with them."""
    proc.send_signal(sig)
    t0 = time.monotonic()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            proc.wait(timeout=30)
        finally:
            proc.kill()
        dump = err.read_text(errors="replace")[-6000:] if err.is_file() else "(no stderr)"
        raise AssertionError(
            f"the child did not end within {time.monotonic() - t0:.0f} s of signal "
            f"{signal.Signals(sig).name}; its stacks:\n{dump}"
        ) from None
    finally:
        if proc.poll() is None:
            proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()


__all__ = ["WAIT", "start", "stop"]
