"""The ``labforensics`` command's entry point, and ``python -m labforensics``.

The command's modules (:mod:`labforensics.cli`, the pipeline, pandas, pyarrow,
scikit-learn ...) take about a second to import. :func:`main` starts catching Ctrl-C
before it imports them, so that an interrupt during start-up ends the command as it
does during a run: one line ``labforensics: interrupted`` and the exit status 130, no
traceback of the import (QA session 9). The console script ``labforensics`` of
``pyproject.toml`` points here for that reason.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._cleanup import EXIT_INTERRUPTED, INTERRUPTED

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Import the command and run it (:func:`labforensics.cli.main`); return its status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The command's exit status; :data:`labforensics._cleanup.EXIT_INTERRUPTED` (130)
        after Ctrl-C at any moment, the import of the command's modules included, with
        the one line :data:`labforensics._cleanup.INTERRUPTED` on stderr.
    """
    try:
        from .cli import main as command  # heavy: imported once Ctrl-C is caught

        return command(argv)
    except KeyboardInterrupt:
        print(f"\n{INTERRUPTED}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
