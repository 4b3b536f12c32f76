"""Progress per lab (issue 16 item 6): a bar that moves as each lab of a stage is done.

A stage that runs one lab at a time (the sessions stage, see
:func:`labforensics.pipeline.investigate`; a per-lab, out-of-core stage) wraps its loop
in :func:`lab_progress` and calls the step it yields after each lab. The bar is
``tqdm.auto`` (a text bar on stderr in a terminal, a widget in a notebook) counting labs,
with the time left estimated from the labs done so far. :func:`on_lab` lets a caller (a
test, a notebook, a service) receive the same steps as ``(stage, lab, done, total)``;
names and counts only, never data. The bar costs one update per lab, never per event.

Every bar of labforensics is made by :func:`progress_bar`. In a terminal (or a
notebook) it is ``tqdm.auto``'s, redrawn in place with carriage returns. When stderr is
not a terminal (a log file, a pipe, a test's captured stderr) the carriage returns
would glue every update into one line: the bar is then a :class:`LineBar`, which writes
whole lines, tqdm's text each: one when the bar starts, one when :meth:`LineBar.refresh`
is called (a new phase), at most one every :data:`LOG_INTERVAL_S` seconds while it moves,
and one when it ends.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

from tqdm.auto import tqdm

from ._terminal import visible

__all__ = ["LOG_INTERVAL_S", "LabStep", "LineBar", "lab_progress", "on_lab", "progress_bar"]

#: Longest wait between two lines of a :class:`LineBar` that moves (seconds).
LOG_INTERVAL_S = 10.0

#: ``callback(stage, lab, done, total)``: ``lab`` has just been done, ``done`` labs of
#: ``total`` are done.
LabStep = Callable[[str, str, int, int], None]
_LAB_HOOK: ContextVar[LabStep | None] = ContextVar("lf_lab", default=None)


@contextmanager
def on_lab(callback: LabStep) -> Iterator[None]:
    """Call ``callback(stage, lab, done, total)`` after each lab of every stage run inside
    the block (with or without a visible bar)."""
    token = _LAB_HOOK.set(callback)
    try:
        yield
    finally:
        _LAB_HOOK.reset(token)


@contextmanager
def lab_progress(
    stage: str, labs: Sequence[str], enabled: bool = True
) -> Iterator[Callable[[str], None]]:
    """A per-lab bar for one stage; yields ``step(lab)``, to call after each lab.

    Parameters
    ----------
    stage : str
        The stage's name, shown before the bar ("sessions").
    labs : sequence of str
        The labs the stage will run over (their number is the bar's total).
    enabled : bool
        Show the bar (stderr; a widget in a notebook). The :func:`on_lab` hook is
        called either way.

    Yields
    ------
    callable
        ``step(lab)``: one lab done (the bar moves, its postfix names the lab, the
        time left is re-estimated).
    """
    total = len(labs)
    hook = _LAB_HOOK.get()
    with progress_bar(total=total, desc=f"{stage} per lab", unit="lab", enabled=enabled,
                      leave=False, mininterval=0) as bar:  # fmt: skip
        done = 0

        def step(lab: str) -> None:
            nonlocal done
            done += 1
            bar.set_postfix_str(visible(lab, keep=""), refresh=False)  # a lab: evidence
            bar.update(1)
            if hook is not None:
                hook(stage, str(lab), done, total)

        yield step


class LineBar:
    """A progress bar for a log file: whole lines (tqdm's text), never a carriage return.

    The part of tqdm's interface labforensics uses: ``update``, ``set_postfix_str``,
    ``refresh``, ``close``, ``n``, and use as a context manager. Safe to update from
    several threads (the evidence readers' callbacks).

    Parameters
    ----------
    total : int
        Steps of the whole bar.
    desc : str
        Its name, first on each line.
    unit : str
        What a step is (``"lab"``, ``"file"``).
    file : file-like
        Where the lines go (stderr).
    line_format : str, optional
        tqdm's ``bar_format`` of a line (default tqdm's own, drawn in ASCII).
    interval : float
        Longest wait between two lines while the bar moves (seconds).
    """

    def __init__(self, total: int, desc: str, unit: str, file: IO[str],
                 line_format: str | None = None, interval: float = LOG_INTERVAL_S) -> None:  # fmt: skip
        self.total, self.desc, self.unit, self.file = total, desc, unit, file
        self.line_format, self.interval = line_format, interval
        self.n = 0
        self.postfix = ""
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._shown: tuple[int, str] | None = None
        self._last = 0.0
        self._closed = False
        self._write()

    def __enter__(self) -> LineBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """``n`` steps done: a line when the bar is full or the last is old enough."""
        with self._lock:
            self.n += n
            if self.n >= self.total or time.monotonic() - self._last >= self.interval:
                self._write()

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """The text after the counts (a lab's name, a stage's result), written with the
        next line (``refresh`` is tqdm's: a redraw, which a log does not need)."""
        with self._lock:
            self.postfix = str(s)

    def refresh(self) -> None:
        """A line now (a new phase)."""
        with self._lock:
            self._write()

    def close(self) -> None:
        """The last line, unless the bar's state was already written."""
        with self._lock:
            if not self._closed and self._shown != (self.n, self.postfix):
                self._write()
            self._closed = True

    def _write(self) -> None:
        if self._closed:
            return
        now = time.monotonic()
        line = tqdm.format_meter(self.n, self.total, now - self._t0, prefix=self.desc,
                                 ascii=True, unit=self.unit, postfix=self.postfix or None,
                                 bar_format=self.line_format)  # fmt: skip
        self.file.write(line.replace("\r", " ").replace("\n", " ") + "\n")
        self.file.flush()
        self._shown, self._last = (self.n, self.postfix), now


def _redrawn(file: IO[str]) -> bool:
    """True where a bar is redrawn in place: a notebook (``tqdm.auto``'s widget) or a
    terminal."""
    if any(c.__module__ == "tqdm.notebook" for c in tqdm.__mro__):  # tqdm.auto: a notebook
        return True
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def progress_bar(*, total: int, desc: str, unit: str = "it", enabled: bool = True,
                 leave: bool = False, bar_format: str | None = None,
                 line_format: str | None = None, mininterval: float = 0.1,
                 file: IO[str] | None = None) -> Any:  # fmt: skip
    """A progress bar on stderr: ``tqdm.auto``'s where it is redrawn in place (a
    terminal, a notebook), a :class:`LineBar` of whole lines elsewhere (a log file).

    Parameters
    ----------
    total : int
        Steps of the whole bar.
    desc : str
        Its name.
    unit : str
        What a step is.
    enabled : bool
        False: a bar that shows nothing (tqdm's ``disable``).
    leave : bool
        Keep tqdm's bar on screen when it ends (a :class:`LineBar`'s lines stay).
    bar_format : str, optional
        tqdm's ``bar_format`` in a terminal.
    line_format : str, optional
        The same for a :class:`LineBar`'s lines (default tqdm's, in ASCII).
    mininterval : float
        tqdm's shortest wait between two redraws (seconds).
    file : file-like, optional
        Where it is drawn (default ``sys.stderr`` at the call).

    Returns
    -------
    tqdm or LineBar
        A context manager with ``update``, ``set_postfix_str``, ``refresh``, ``close``.
    """
    out = sys.stderr if file is None else file
    if enabled and not _redrawn(out):
        return LineBar(total, desc, unit, out, line_format=line_format)
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=leave,
                bar_format=bar_format, mininterval=mininterval, file=out)  # fmt: skip
