"""One writer or several readers per store, and nothing half-written left behind
(QA session 15).

Two ``ingest --store S`` at once both exited 0, the manifest keeping one of them (or
one failed with a traceback, leaving an unlisted part); an investigation could read a
store an ingest was half-way through. :func:`store_lock` takes an :func:`fcntl.flock`
on the lock file beside the store (``.<name>.labforensics-lock``, the file
:mod:`labforensics._outlock` uses for an output folder): exclusive for an ingest, for
its whole duration; shared for an investigation, for its whole run (the per-lab engine
reads the parts while it runs). A run that cannot take it is refused at once with a
:class:`StoreError` naming the store (exit 2), never made to wait: a waiting command
looks hung, and one that waited would run on a store other than the one it was started
on (the investigation's inputs, the ingest's checks). A lock left by a killed process is
a file no process locks: the next run takes it. A store on a read-only file system
(write-protected media) is read without a lock: no ingest can write to it.

An ingest that fails or is stopped (an error, Ctrl-C, ``SIGTERM``) before it writes the
manifest removes what it wrote: everything, and the folders it made, when it created the
store (:func:`discard_new_store`: the same command then runs again as it is); the group
versions the old manifest does not name when the store existed,
which leaves the store as it was (:func:`labforensics.store._ingest._sweep`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from .._outlock import lock_file, lock_path, unlock_file
from ._layout import EVENTS_DIR, GROUPS_DIR, IN_PROGRESS, MANIFEST, QUARANTINE, REPORT, StoreError

__all__ = ["discard_new_store", "reading_store", "signals_held", "store_lock"]

#: The stores this process locks: (store, the thread that took the lock, shared).
_HELD: set[tuple[Path, int, bool]] = set()


@contextlib.contextmanager
def store_lock(store: Path, *, shared: bool) -> Iterator[Path]:
    """Hold the store's lock for the block: exclusive (an ingest) or shared (a reader).

    Parameters
    ----------
    store : path
        The store folder (its parent folder must exist).
    shared : bool
        A reader's lock: several at once, none while an ingest holds it.

    Taking it again, the same way, in the thread that holds it (the command line's ingest holds it
    while it makes the case key, then calls :func:`~labforensics.store.ingest_to_store`)
    is a no-op.

    Yields
    ------
    Path
        The lock file (removed when the block ends, unless another reader holds it).

    Raises
    ------
    StoreError
        When another process holds a lock in the way (naming the store and the lock
        file), or the lock file cannot be created.
    """
    store = Path(store).absolute()
    lock = lock_path(store)
    held = (store, threading.get_ident(), shared)
    if held in _HELD:  # taken already by this thread (the command, then the ingest)
        yield lock
        return
    try:
        fd = lock_file(lock, shared=shared)
    except OSError as exc:
        if shared and exc.errno == errno.EROFS:  # read-only media: no ingest can write it
            yield lock
            return
        raise StoreError(
            f"cannot create the lock file {lock} of the store {store}: {exc.strerror or exc}"
        ) from exc
    if fd is None:
        doing = "read from" if shared else "added to"
        holder = "an ingest is adding evidence to it" if shared else "another labforensics run (an ingest, or an investigation reading it) is using it"  # fmt: skip
        raise StoreError(
            f"the store {store} cannot be {doing} now: {holder} (it holds the lock {lock}); "
            "wait for that run to end, then run this command again"
        )
    _HELD.add(held)
    try:
        yield lock
    finally:
        _HELD.discard(held)
        unlock_file(lock, fd)


@contextlib.contextmanager
def reading_store(store: Path | None) -> Iterator[None]:
    """A shared lock on ``store`` for the block (an investigation); nothing when None or
    when the store's parent folder does not exist (there is no store to read: the read
    says so)."""
    if store is None or not Path(store).absolute().parent.is_dir():
        yield
        return
    with store_lock(Path(store), shared=True):
        yield


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """``SIGINT`` and ``SIGTERM`` held back for the block (delivered when it ends): the
    store's top files are replaced together, never some of them."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def discard_new_store(store: Path, made: list[Path]) -> None:
    """After a failed first ingest: remove what it wrote in ``store`` (its layout's
    names only, never a symbolic link's target), then the folders it made (``made``,
    deepest first; each only when empty).

    Parameters
    ----------
    store : path
        The store the failed call created (it was absent or empty).
    made : list of Path
        The folders the call made (:func:`labforensics._cleanup.missing_folders` before).
    """
    for name in (EVENTS_DIR, GROUPS_DIR):
        d = store / name
        if d.is_dir() and not d.is_symlink():
            shutil.rmtree(d, ignore_errors=True)
    for name in (
        MANIFEST,
        REPORT,
        QUARANTINE,
        *(f".{n}.tmp" for n in (MANIFEST, REPORT, QUARANTINE)),
        IN_PROGRESS,
    ):
        p = store / name
        if p.is_file() and not p.is_symlink():
            with contextlib.suppress(OSError):
                p.unlink()
    for d in made:
        try:
            os.rmdir(d)
        except OSError:  # not empty: someone else's file, kept
            break
