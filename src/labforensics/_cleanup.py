"""Cleanup that runs on ``SIGTERM`` too: private temporary folders never outlive a run.

The leak linkage's DuckDB spill folder (raw names, birth dates, NIRs) and the per-lab
engine's spill folder (pseudonymised events and their free text, when a memory budget
sends the labs' results to disk) are removed in ``finally`` blocks. Python runs those
after an exception or ``KeyboardInterrupt``, but a default ``SIGTERM`` ends the process
at once. :func:`sigterm_raises` installs, for the duration of a ``with`` block, a
handler that raises instead, so the ``finally`` blocks inside run; on leaving the
block the previous handler is restored and, if the signal came, it is delivered again
so that the process still ends as a ``SIGTERM`` would have ended it.

An output folder a failed or terminated run made is not left behind empty either:
:func:`labforensics.outputs.prepare_out` records the folders it creates
(:func:`record_made`), and :func:`remove_if_empty`, called when the run fails, removes
those that are still empty (never a folder that existed before the run, never a file).
Nor the case key ``<out>.key`` the run made beside it for a new output: it records that
the key file was absent (:func:`record_made`) and a failed run removes the key it made
(:func:`discard_made`, from :func:`discard_on_failure` through the Python API and from
the command's own cleanup alike); a key file that existed before the run is never
touched, and a run that succeeded keeps its key (:func:`forget_made`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from types import FrameType

from . import _outlock

__all__ = [
    "EXIT_INTERRUPTED",
    "INTERRUPTED",
    "discard_made",
    "forget_made",
    "interrupt_noted",
    "key_file_beside",
    "missing_folders",
    "record_made",
    "remove_if_empty",
    "sigterm_raises",
]

#: The exit status of a run stopped by Ctrl-C: 128 + SIGINT, as the shells report it.
EXIT_INTERRUPTED = 128 + 2
#: The one line the command prints on stderr when Ctrl-C stops it (no traceback).
INTERRUPTED = "labforensics: interrupted"

#: The folders :func:`labforensics.outputs.prepare_out` created for an output folder
#: (absolute path -> the folder and the parents it made, deepest first); an output folder
#: that existed before has none. :func:`remove_if_empty` removes only these.
_MADE: dict[Path, list[Path]] = {}
#: The case key files ``<out>.key`` that did not exist when
#: :func:`labforensics.outputs.prepare_out` made ready an output folder (absolute path ->
#: the key's path): a key found there after a failed run is the run's own.
_NEW_KEYS: dict[Path, Path] = {}


def missing_folders(out: Path) -> list[Path]:
    """``out`` and its parents that do not exist yet, deepest first (absolute paths).

    Parameters
    ----------
    out : path

    Returns
    -------
    list of Path
    """
    missing = []
    for d in (Path(out).absolute(), *Path(out).absolute().parents):
        if os.path.lexists(d):
            break
        missing.append(d)
    return missing


def key_file_beside(out: Path) -> Path:
    """``<out>.key`` beside the output folder (never inside it), ``out`` resolved.

    :func:`labforensics.case.default_key_file`; here so that the cleanup, which the
    console entry point imports first, does not import the case module (pandas).

    Parameters
    ----------
    out : path
        The output folder.

    Returns
    -------
    Path
    """
    out = Path(out).resolve()
    return out.parent / (out.name + ".key")


def record_made(out: Path, made: list[Path]) -> None:
    """Record the folders made for ``out`` (:func:`missing_folders` before they were
    made); those that exist now are this run's. Also whether the case key file
    ``<out>.key`` is absent: a key there after a failure is then the run's."""
    _MADE[Path(out).absolute()] = [d for d in made if d.is_dir()]
    key = key_file_beside(Path(out))
    if not os.path.lexists(key):
        _NEW_KEYS[Path(out).absolute()] = key


def forget_made(out: Path) -> None:
    """Forget what an earlier run made for ``out`` (a new run starts, or the run
    succeeded: its folder and key are its output's)."""
    _MADE.pop(Path(out).absolute(), None)
    _NEW_KEYS.pop(Path(out).absolute(), None)


def discard_made(out: Path) -> bool:
    """After a failed or refused run: remove the case key ``<out>.key`` the run made (a
    regular file that was absent when :func:`labforensics.outputs.prepare_out` began,
    never a symbolic link), then the folders it made while empty (:func:`remove_if_empty`).

    The run pseudonymised nothing that was kept: a new key is not left lying about for
    no output (QA session 9; through the Python API too, session 16).

    Parameters
    ----------
    out : path
        The output folder given to :func:`~labforensics.outputs.prepare_out`.

    Returns
    -------
    bool
        True when the output folder was removed.
    """
    key = _NEW_KEYS.pop(Path(out).absolute(), None)
    if key is not None and key.is_file() and not key.is_symlink():
        with contextlib.suppress(OSError):  # the failure being raised matters more
            key.unlink()
    return remove_if_empty(out)


def remove_if_empty(out: Path) -> bool:
    """After a failed or terminated run: remove the output folder
    :func:`labforensics.outputs.prepare_out` made for it (and the parents it made) when
    nothing is in it, so that no empty folder is left behind and the same command can run
    again as it is.

    Never removes a folder that existed before the run, nor one holding anything: each
    folder is removed by :func:`os.rmdir`, which refuses a folder that is not empty.

    Parameters
    ----------
    out : path
        The output folder given to :func:`~labforensics.outputs.prepare_out`.

    Returns
    -------
    bool
        True when the output folder was removed.
    """
    _outlock.release(out)  # first: the lock lies in the parent, which may be the run's
    made = _MADE.pop(Path(out).absolute(), [])
    for i, d in enumerate(made):  # deepest first: a parent only once its child is gone
        try:
            os.rmdir(d)
        except OSError:  # not empty (a file of the run, or anyone's), or already gone
            # kept for a later call (the command's own cleanup calls again, once
            # whatever else of the run's it removes is gone)
            _MADE[Path(out).absolute()] = made[i:]
            break
    return bool(made) and not os.path.lexists(made[0])


@contextlib.contextmanager
def discard_on_failure(out: Path, names: Collection[str]) -> Iterator[None]:
    """Within the block, a failure (any exception, a ``SIGTERM`` raised by
    :func:`sigterm_raises`, Ctrl-C) removes the run's output files from ``out``, then the
    case key and the folder when the run made them (:func:`discard_made`), and is raised
    again. A block that ends well forgets what the run made (:func:`forget_made`).

    A block that ends well leaves the regular files of ``out`` named in ``names`` mode
    0600 (owner only: :data:`labforensics.outputs.OUT_FILE_MODE`; the folder itself is
    0700, :func:`~labforensics.outputs.prepare_out`).

    A run that stops before its ``manifest.json`` is written leaves outputs nobody can
    check against a manifest, and that ``--force`` refuses to remove (it removes only a
    folder with a manifest): the next run of the same command would fail. The files
    removed are the regular files of ``out`` named in ``names`` (symbolic links and
    other names are never touched); they are this run's, because
    :func:`labforensics.outputs.prepare_out` emptied the folder of them before it began.

    Parameters
    ----------
    out : pathlib.Path
        The output folder (:func:`~labforensics.outputs.prepare_out`'s). Its lock
        (:mod:`labforensics._outlock`) is released when the block ends, however.
    names : collection of str
        The file names the run writes (:data:`labforensics.outputs.OUTPUT_NAMES`).
    """
    try:
        yield
    except BaseException:
        for name in sorted(names):
            p = Path(out) / name
            if p.is_file() and not p.is_symlink():
                with contextlib.suppress(OSError):  # the failure being raised matters more
                    p.unlink()
        discard_made(out)
        raise
    else:  # the run's output is whole: its folder and key are kept from here on
        forget_made(out)
        _owner_only(out, names)
    finally:  # the folder's lock (prepare_out's), whether the run succeeded or not
        _outlock.release(out)


def _owner_only(out: Path, names: Collection[str]) -> None:
    """Make the regular files of ``out`` named in ``names`` mode 0600 (links untouched)."""
    for name in sorted(names):
        p = Path(out) / name
        if p.is_file() and not p.is_symlink():
            with contextlib.suppress(OSError):  # a file system without modes: kept as is
                p.chmod(0o600)


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


@contextlib.contextmanager
def interrupt_noted() -> Iterator[None]:
    """Within the block, Ctrl-C stays a ``KeyboardInterrupt`` even when native code
    swallows it (main thread only).

    DuckDB checks for signals while a query runs: the ``KeyboardInterrupt`` Python's
    handler raises is taken by it and the query fails with its own error
    (``RuntimeError('Query interrupted')``, or another one once Splink wraps it), which
    the linkage then reported as "record linkage failed during training" and exit 2
    (QA session 9). Here the ``SIGINT`` handler notes the signal before raising as
    Python's does; an exception leaving the block after a noted ``SIGINT`` is raised
    again as ``KeyboardInterrupt`` (chained to it), so that the command ends with its
    one ``interrupted`` line and exit 130. A ``SIGINT`` noted in a block that then ends
    normally was swallowed whole (a ``KeyboardInterrupt`` raised inside an object's
    ``__del__`` is printed as "Exception ignored" and dropped: tqdm's, QA session 15,
    where the run then finished with exit 0): ``KeyboardInterrupt`` is raised at the
    block's end. The pipeline runs each stage in such a block.

    Notes
    -----
    Outside the main thread, or when ``SIGINT`` is ignored or not Python's handler (a
    background job, an embedding application), the block runs unchanged.
    """
    previous = signal.getsignal(signal.SIGINT)
    if (
        threading.current_thread() is not threading.main_thread()
        or previous is not signal.default_int_handler
    ):
        yield
        return
    seen = False

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal seen
        seen = True
        signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    except Exception as exc:
        if seen:
            raise KeyboardInterrupt from exc
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if seen:  # noted, then swallowed whole by the code the block ran
        raise KeyboardInterrupt
