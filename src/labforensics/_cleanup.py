"""Cleanup that runs on ``SIGTERM`` too: private temporary folders never outlive a run.

The leak linkage's DuckDB spill folder (raw names, birth dates, NIRs) and the per-lab
engine's spill folder (pseudonymised events and their free text, when a memory budget
sends the labs' results to disk) are removed in ``finally`` blocks. Python runs those
after an exception or ``KeyboardInterrupt``, but a default ``SIGTERM`` ends the process
at once. :func:`sigterm_raises` installs, for the duration of a ``with`` block, a
handler that raises instead, so the ``finally`` blocks inside run; on leaving the
block the previous handler is restored and, if the signal came, it is delivered again
so that the process still ends as a ``SIGTERM`` would have ended it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["sigterm_raises"]


@contextlib.contextmanager
def sigterm_raises(make_error: Callable[[], BaseException]) -> Iterator[None]:
    """Within the block, ``SIGTERM`` raises ``make_error()`` (main thread only).

    Parameters
    ----------
    make_error : callable
        Returns the exception to raise in the main thread when ``SIGTERM`` arrives.

    Notes
    -----
    Outside the main thread (where Python cannot install handlers) the block runs
    unchanged. A signal arriving while native code runs (a DuckDB query) is handled
    when control returns to Python.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    terminated = False

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        nonlocal terminated
        terminated = True
        raise make_error()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if terminated:
            os.kill(os.getpid(), signal.SIGTERM)
