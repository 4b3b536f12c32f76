"""An exclusive lock on an output folder, held for a run (QA session 11, item 2).

Two runs into the same output folder both exited 0 and printed the report's path, the
folder holding only the slower one's results. :func:`acquire` takes an exclusive
:func:`fcntl.flock` on a lock file *beside* the folder (``.<name>.labforensics-lock``
in its parent, like ``<name>.key``: never inside it, so it is never a foreign file for
``--force``, never in the manifest's outputs, and never in the way of removing an empty
folder after a failure). A second run fails at once with
:class:`~labforensics.errors.OutputExistsError` naming the folder (exit 2).
:func:`release` removes the file; :func:`labforensics._cleanup.discard_on_failure`
calls it when a run ends, whether it succeeds or fails (SIGTERM and Ctrl-C included),
and an exit handler removes any lock still held when the process exits. A lock left by
a killed process (``SIGKILL``) is a file no process locks: the next run takes it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
from pathlib import Path

from .errors import OutputExistsError

__all__ = ["acquire", "lock_file", "lock_path", "release", "unlock_file"]

#: Locks held by this process: output folder (absolute) -> (lock path, open descriptor).
_HELD: dict[Path, tuple[Path, int]] = {}


def lock_path(out: Path) -> Path:
    """The lock file of the output folder ``out`` (in its parent folder).

    Parameters
    ----------
    out : path

    Returns
    -------
    Path
        ``<parent>/.<name>.labforensics-lock`` (absolute).
    """
    out = Path(out).absolute()
    return out.parent / f".{out.name}.labforensics-lock"


def acquire(out: Path) -> Path:
    """Take the exclusive lock of ``out`` (its parent folder must exist).

    Taking it again in the same process (a run that prepares the folder twice) is a
    no-op.

    Parameters
    ----------
    out : path
        The output folder.

    Returns
    -------
    Path
        The lock file.

    Raises
    ------
    OutputExistsError
        Another process holds the lock (naming the folder and the lock file), or the
        lock file cannot be created.
    """
    key = Path(out).absolute()
    if key in _HELD:
        return _HELD[key][0]
    lock = lock_path(key)
    try:
        fd = lock_file(lock)
    except OSError as exc:
        raise OutputExistsError(
            f"cannot create the lock file {lock} of output folder {key}: {exc.strerror or exc}"
        ) from exc
    if fd is None:
        raise OutputExistsError(
            f"output folder {key} is in use by another labforensics run (it holds the lock "
            f"{lock}); wait for that run to end or choose another --out"
        )
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _HELD[key] = (lock, fd)
    return lock


def lock_file(lock: Path, *, shared: bool = False) -> int | None:
    """Open (creating it) and :func:`fcntl.flock` the lock file ``lock`` without waiting.

    Parameters
    ----------
    lock : path
        The lock file (its folder must exist).
    shared : bool
        A shared lock (readers: several at once, none with an exclusive holder) instead
        of an exclusive one.

    Returns
    -------
    int or None
        The open descriptor holding the lock, or None when another process holds a
        lock in the way.

    Raises
    ------
    OSError
        When the lock file cannot be created or opened.
    """
    while True:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        try:  # the file still the one locked (not removed by a run ending meanwhile)
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def unlock_file(lock: Path, fd: int) -> None:
    """Release a lock :func:`lock_file` took: the file is removed unless another process
    still shares it, then the descriptor closed.

    Parameters
    ----------
    lock : path
    fd : int
        The descriptor :func:`lock_file` returned.
    """
    try:  # exclusive (already, or now: no reader left) before the file is removed
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # another reader holds it: the file stays theirs
        pass
    else:
        with contextlib.suppress(OSError):
            os.unlink(lock)  # removed while locked: a waiting run sees another inode
    with contextlib.suppress(OSError):
        os.close(fd)


def release(out: Path) -> None:
    """Remove and unlock the lock of ``out`` if this process holds it (else nothing).

    Parameters
    ----------
    out : path
    """
    held = _HELD.pop(Path(out).absolute(), None)
    if held is None:
        return
    unlock_file(*held)


@atexit.register
def _release_all() -> None:
    for out in list(_HELD):
        release(out)
