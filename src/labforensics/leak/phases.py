"""Phases of a leak linkage: marks (a ``phase <name>`` debug record on the
``labforensics.leak.linkage`` logger, which ``benchmarks/linkage.py`` listens to) and
the progress bar that moves with them (issue 16 item 6). Names only, never data."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ..progress import progress_bar

_log = logging.getLogger("labforensics.leak.linkage")

#: The phases of a leak linkage in the order they run: the readers' (in
#: :func:`labforensics.leak.horizon.link_leak`) and :func:`~labforensics.leak.linkage.link_dump`'s. Each is
#: marked by :func:`mark_phase` (a ``phase <name>`` debug record, and the hook of
#: :func:`on_phase`, which the progress bar uses).
PHASES = ("read_index", "read_dump", "prepare", "register", "blocking", "training",
          "predict", "decoy", "classify")  # fmt: skip
_PHASE_HOOK: ContextVar[Callable[[str], None] | None] = ContextVar("lf_phase", default=None)


def mark_phase(name: str) -> None:
    """Mark the start of a linkage phase (a debug record; the :func:`on_phase` hook)."""
    _log.debug("phase %s", name)
    hook = _PHASE_HOOK.get()
    if hook is not None:
        hook(name)


@contextmanager
def on_phase(callback: Callable[[str], None]) -> Iterator[None]:
    """Call ``callback(name)`` at each phase marked inside the block (names only, no data)."""
    token = _PHASE_HOOK.set(callback)
    try:
        yield
    finally:
        _PHASE_HOOK.reset(token)


@contextmanager
def phase_progress(enabled: bool, desc: str = "leak linkage") -> Iterator[None]:
    """A tqdm bar (stderr) that moves at each phase of :data:`PHASES` run inside the block."""
    if not enabled:
        yield
        return
    with progress_bar(total=len(PHASES), desc=desc, unit="phase") as bar:

        def step(name: str) -> None:
            if name in PHASES:
                bar.n = PHASES.index(name)
                bar.set_postfix_str(name, refresh=False)
                bar.refresh()

        with on_phase(step):
            yield


__all__ = ["PHASES", "mark_phase", "on_phase", "phase_progress"]
