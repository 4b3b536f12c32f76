"""Identities from the evidence as the report prints them (QA session 11, finding 6).

Six logins a reader could not tell apart (``tech.a``, ``tech.а`` with a Cyrillic
``а``, ``tech.a`` with a zero-width or a no-break space, ``tech.a `` with a trailing
space, ``TECH.A``) printed as ``tech.a`` four or five times. Every value the report
prints goes through :func:`~labforensics._terminal.text_visible`: controls and bidi characters as escapes
(:func:`~labforensics._terminal.visible_value`, as before), and now the spaces other
than the ASCII one and the letters of another script in a word mixing scripts
(:func:`~labforensics._terminal.mixed_script_visible`); the report's own text holds
neither. The tables' identity columns (:data:`~labforensics._terminal.IDENTITY_COLUMNS`)
go through :func:`~labforensics._terminal.identity_visible`, which also shows a leading
or trailing space (``tech.a\\x20``), as the CSVs do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jinja2 import Environment

from .._terminal import IDENTITY_COLUMNS, identity_visible, text_visible

__all__ = ["identity_cell", "install_identity", "report_visible"]


#: A value the report prints (the template's ``finalize``, last step): the CSVs' rule.
report_visible = text_visible


def identity_cell(value: Any) -> Any:
    """A table cell of an identity column: each identity through
    :func:`~labforensics._terminal.identity_visible` (a list's items each, joined by
    ``", "``); other values unchanged."""
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(str(identity_visible(str(v))) for v in value)
    return identity_visible(value)


def install_identity(env: Environment) -> Environment:
    """Register the ``identity`` filter and the ``IDENTITY`` column names on ``env``."""
    env.filters["identity"] = identity_cell
    env.globals["IDENTITY"] = tuple(sorted(IDENTITY_COLUMNS))
    return env
