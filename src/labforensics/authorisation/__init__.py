"""The authorisation register: what each account was allowed to take (issue 14 item 1).

:func:`read_authorisations` reads the register (``shared/formats/authorisations.md``);
:func:`assess_exports` gives every export and extraction of the evidence a status
(``authorised``, ``beyond``, ``unregistered``, ``undetermined``, ``unknown``) with the
limits crossed and the scope bounds the evidence proves; :func:`exports_summary`
counts them for ``findings.json``.
"""

from __future__ import annotations

from .operations import OPERATION_COLUMNS, PATIENT_UNIT_MODULES, operations
from .register import KINDS, REGISTER_COLUMNS, RegisterError, read_authorisations
from .scope import scope_bounds
from .status import EXPORT_COLUMNS, STATUSES, assess_exports
from .summary import exports_summary

__all__ = [
    "EXPORT_COLUMNS",
    "KINDS",
    "OPERATION_COLUMNS",
    "PATIENT_UNIT_MODULES",
    "REGISTER_COLUMNS",
    "STATUSES",
    "RegisterError",
    "assess_exports",
    "exports_summary",
    "operations",
    "read_authorisations",
    "scope_bounds",
]
