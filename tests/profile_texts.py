"""Profile texts shared by the ingest tests (one copy of each)."""

from __future__ import annotations

#: A regex profile: ``<epoch seconds> <account>`` lines, every one a read.
REGEX_PROFILE = """
name = "rx"
format = "regex"
pattern = '^(?P<t>\\d+) (?P<u>\\S+)$'
[columns]
account = "u"
action = "=read"
[timestamp]
column = "t"
format = "epoch_s"
"""


def regex_profile(encoding: str | None = None) -> str:
    """:data:`REGEX_PROFILE`, with ``encoding = "<encoding>"`` after its format when given."""
    if encoding is None:
        return REGEX_PROFILE
    return REGEX_PROFILE.replace(
        'format = "regex"\n', f'format = "regex"\nencoding = "{encoding}"\n'
    )
