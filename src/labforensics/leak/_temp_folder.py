"""Where the linkage may spill raw values: the system temporary folder, checked.

Kept apart from :mod:`labforensics.leak._duckdb` (which imports DuckDB) so that the
preflight checks can refuse a bad ``TMPDIR`` before any stage without importing DuckDB.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from labforensics.errors import ParameterError

__all__ = ["TEMP_INSIDE", "check_temp_folder"]


def _is_under(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
    except ValueError:
        return False
    return True


#: The refusal of a system temporary folder inside the working or an output folder.
TEMP_INSIDE = (
    "the system temporary folder is inside the working or output folder; "
    "set TMPDIR to a folder outside them before linking"
)


def check_temp_folder(avoid_dirs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """The system temporary folder, where the linkage spills raw names, checked.

    The spill folder is a new private subfolder of the system temporary folder
    (``tempfile.gettempdir()``: ``TMPDIR``): refused when that folder lies inside the
    working folder (run from ``/tmp`` itself is fine: nothing lands among the user's
    files) or inside or at an output folder. Called up front by
    :func:`labforensics.preflight.check_companions` and again when the connection opens.

    Parameters
    ----------
    avoid_dirs : iterable of path
        Folders the spill folder must not be inside (the output folder).

    Returns
    -------
    pathlib.Path
        The system temporary folder, resolved.

    Raises
    ------
    ParameterError
        :data:`TEMP_INSIDE`.
    """
    system_tmp = Path(tempfile.gettempdir()).resolve()
    cwd = Path.cwd().resolve()
    inside_cwd = system_tmp != cwd and _is_under(system_tmp, cwd)
    for avoid in [*([cwd] if inside_cwd else []), *[Path(a) for a in avoid_dirs]]:
        if _is_under(system_tmp, avoid.resolve()):
            raise ParameterError(TEMP_INSIDE)
    return system_tmp
