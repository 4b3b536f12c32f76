"""An evidence store is owner-only, as an investigation's output folder
(:func:`labforensics.outputs.prepare_out`): the store holds pseudonymised health data
and names from the evidence, readable by the case's investigator only.

The store folder is made mode 0700 (:data:`~labforensics.outputs.OUT_FOLDER_MODE`)
before an ingest writes anything in it, whether the ingest made it or the user did
beforehand, and an existing store an ingest adds to is made 0700 too. Once the ingest
has ended well its folders are 0700 and its files 0600
(:data:`~labforensics.outputs.OUT_FILE_MODE`). Parent folders made on the way keep the
default mode; links are left as they are.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..outputs import OUT_FILE_MODE, OUT_FOLDER_MODE
from ._layout import StoreError

__all__ = ["make_store_folder", "store_owner_only"]


def make_store_folder(store: Path) -> None:
    """Create the store folder (and its parents) and make it mode 0700.

    Parameters
    ----------
    store : Path
        The store folder, new or existing.

    Raises
    ------
    StoreError
        When it cannot be made, or its mode cannot be set.
    """
    try:
        store.mkdir(parents=True, exist_ok=True)
        store.chmod(OUT_FOLDER_MODE)  # made or given: the store holds health data
    except OSError as exc:
        raise StoreError(f"cannot create the store folder {store}: {exc.strerror or exc}") from exc


def store_owner_only(store: Path) -> None:
    """Make every folder under ``store`` (itself included) 0700 and every file 0600.

    Links are not followed nor changed; a file system without modes leaves them as
    they are (errors ignored: the ingest's data is whole).

    Parameters
    ----------
    store : Path
        The store folder, once an ingest has written its manifest.
    """
    with contextlib.suppress(OSError):
        store.chmod(OUT_FOLDER_MODE)
    for folder, dirs, files in os.walk(store):
        base = Path(folder)
        for name, mode in [*((d, OUT_FOLDER_MODE) for d in dirs),
                           *((f, OUT_FILE_MODE) for f in files)]:  # fmt: skip
            p = base / name
            if not p.is_symlink():
                with contextlib.suppress(OSError):
                    p.chmod(mode)
