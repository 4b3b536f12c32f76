"""One exception family for the whole package.

Every error names what went wrong, where (file, line, column when known) and,
where there is one, the fix. Catch :class:`LabForensicsError` to catch them all.
"""

from __future__ import annotations


class LabForensicsError(Exception):
    """Root of every error raised on purpose by labforensics."""


class SchemaError(LabForensicsError, ValueError):
    """A table does not have the columns or dtypes of its canonical schema."""


class EvidenceError(LabForensicsError, OSError):
    """An evidence path cannot be found, opened or read at all."""


class ProfileError(LabForensicsError, ValueError):
    """A profile file (column map, date format, encoding, codes) is invalid."""


class CaseKeyError(LabForensicsError, ValueError):
    """The case key for pseudonymisation is missing, unreadable or malformed."""


class ParameterError(LabForensicsError, ValueError):
    """A parameter dataclass or case file holds an invalid value."""


class OutputExistsError(LabForensicsError, FileExistsError):
    """An output folder already exists and ``force`` was not given."""


class AttributionError(LabForensicsError, ValueError):
    """An attribution input (leak file, patient index, transfers) cannot be used."""


class MissingColumnsError(SchemaError):
    """A stage's input table lacks columns the stage needs (or holds one of a wrong dtype).

    Attributes
    ----------
    table : str
        The stage and table, as named in the message (``"build_features: sessions"``).
    missing : list of str
        The missing columns, sorted.
    """

    def __init__(self, message: str, *, table: str, missing: list[str]) -> None:
        super().__init__(message)
        self.table = table
        self.missing = missing


class LinkageError(LabForensicsError, RuntimeError):
    """The leak linkage failed; the message names the phase, never a value."""
