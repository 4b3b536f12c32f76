"""The registered readers, one module per format; importing this package registers them all.

Each module registers a :class:`~labforensics.ingest.registry.ReaderSpec` (a sniffer
and a reader) with :func:`~labforensics.ingest.registry.register_reader`;
:mod:`labforensics.ingest` imports this package once. Shared reading helpers stay in
:mod:`labforensics.ingest` (``_common``, ``_instants``, ``clock``, ``files``,
``profiles`` ...): this package holds readers only.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings


def _import_readers() -> None:
    """Import every reader module of this package (each registers itself).

    A reader module that fails to import is reported with a warning and skipped,
    so one broken format never stops the others.
    """
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_") or mod.ispkg:
            continue
        try:
            importlib.import_module(f"{__name__}.{mod.name}")
        except Exception as exc:  # report it, keep the other readers
            warnings.warn(
                f"reader module {__name__}.{mod.name} failed to import ({exc!r}); "
                "its format will not be recognised",
                RuntimeWarning,
                stacklevel=2,
            )


_import_readers()
