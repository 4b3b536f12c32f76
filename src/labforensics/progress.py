"""Progress per lab (issue 16 item 6): a bar that moves as each lab of a stage is done.

A stage that runs one lab at a time (the sessions stage, see
:func:`labforensics.pipeline.investigate`; a per-lab, out-of-core stage) wraps its loop
in :func:`lab_progress` and calls the step it yields after each lab. The bar is
``tqdm.auto`` (a text bar on stderr in a terminal, a widget in a notebook) counting labs,
with the time left estimated from the labs done so far. :func:`on_lab` lets a caller (a
test, a notebook, a service) receive the same steps as ``(stage, lab, done, total)``;
names and counts only, never data. The bar costs one update per lab, never per event.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from tqdm.auto import tqdm

from ._terminal import visible

__all__ = ["LabStep", "lab_progress", "on_lab"]

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
    with tqdm(total=total, desc=f"{stage} per lab", unit="lab", disable=not enabled,
              file=sys.stderr, leave=False, mininterval=0) as bar:  # fmt: skip
        done = 0

        def step(lab: str) -> None:
            nonlocal done
            done += 1
            bar.set_postfix_str(visible(lab, keep=""), refresh=False)  # a lab: evidence
            bar.update(1)
            if hook is not None:
                hook(stage, str(lab), done, total)

        yield step
