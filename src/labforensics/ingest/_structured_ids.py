"""NIRs written in structured text columns (a NIR used as a login), replaced by keyed ids.

The event details and quarantined text are scanned for identifiers
(:mod:`labforensics._privacy_text`); the structured text columns were not, so a
NIR used as a login (``account = 180017512345660``) or as a host or site name would
have reached every output in clear. Each column of :data:`STRUCTURED_TEXT_COLUMNS`
is scanned here, once per distinct value (a column's distinct values are few:
accounts, hosts, sites), and each NIR inside a value, whatever its INSEE key (a typo
in the key still leaves a person's identifier), becomes its ``N`` id
(:func:`labforensics.privacy.nir_hash` of the number without its separators:
:func:`labforensics._privacy_text.nir_compact`; for a NIR with a valid key, the
normalised NIR), so that two logins stay two accounts (a tag like ``[NIR]`` would have
merged them, and their sessions with them) and one number always gives one id in a
case.

Only the NIR is keyed in these columns: it is the regulated identifier (its use is
restricted by law in France: décret n° 2019-341 lists the purposes) and never a name a
person chooses for a login. E-mail addresses and phone numbers stay: a user id that is
an e-mail address is the account's name as the system knows it (the IHE ATNA examples
log ``UserID="farley.granger@wb.com"``), which the expert must be able to cite; in free
text they are tagged as before. The application's session id (``app_session``, the
LIS ``id_session``) is scanned too (QA session 16: a NIR written there reached the
events raw): keyed, not withheld, since one value gives one id and the application's
sessions stay as they were (a missing id would make the row a batch job's). Other
machine identifiers (``message_id``) are not scanned: a 15-digit message number of NIR
shape would be replaced for nothing. The numeric columns (``records``, ``bytes``)
are the reader's (:mod:`labforensics.ingest._numeric_ids`: a NIR there is withheld).
The count of rows changed per column is reported in ``ingest_report.json``
(``identifiers_in_columns``); ``reidentify`` maps ``N`` ids back given the index or
dump that holds the number.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from .._privacy_text import _NIR, _PREFIXES, nir_compact
from ..privacy import CaseKey, nir_hash
from ._columns import _chunked, _codes, _from_codes

__all__ = ["STRUCTURED_TEXT_COLUMNS", "key_nirs", "redact_structured_columns"]

#: Text columns of the event table naming a person, a place or a machine, scanned for
#: NIRs after the canonical forms are made (:func:`labforensics.ingest._assemble.
#: _canonical_identities`): the forms as written (``*_raw``) and the canonical ones, so
#: a case-folded host keeps its ``N`` id as made and reidentify finds it.
STRUCTURED_TEXT_COLUMNS: tuple[str, ...] = (
    "site",
    "account",
    "account_raw",
    "role",
    "host",
    "host_raw",
    "src_ip",
    "src_ip_raw",
    "module",
    "action_raw",
    "app_session",
)

# An RE2 superset of the NIR pattern (pyarrow): thirteen digits (2A/2B count as digits
# here: "2" then a letter), with at most one separator between two of them. Values
# without it are never scanned by Python.
_HINT = r"\d(?:[\s.\-\x{a0}\x{202f}]?[\dAaBb]){12}"


def key_nirs(text: str, key: CaseKey) -> str:
    """Replace each NIR of ``text`` (any INSEE key, any separators) by its ``N`` id.

    Parameters
    ----------
    text : str
        One value of a structured column, as read.
    key : CaseKey
        The case key.

    Returns
    -------
    str
        ``text`` with each NIR replaced by :func:`labforensics.privacy.nir_hash` of
        the number without its separators
        (:func:`labforensics._privacy_text.nir_compact`); a keyed id already in the
        text is kept. Linear in the text's length.

    Notes
    -----
    A NIR is a number of :data:`labforensics._privacy_text._NIR`'s shape whatever its
    key (:func:`labforensics._privacy_text.redact_identifiers` says which): a NIR with
    a wrong key gets an ``N`` id of its own (its 15 characters), a NIR with a valid key
    the id of its normalised number, as before. The price: a login or host name
    holding another 15-digit number of that shape is keyed too.

    Examples
    --------
    >>> from labforensics.privacy import CaseKey
    >>> key = CaseKey(b"0" * 32)
    >>> key_nirs("jdupont", key)
    'jdupont'
    >>> key_nirs("1 80 01 75 123 456 60", key)  # a NIR, valid key
    'N...'
    >>> key_nirs("1 80 01 75 123 456 61", key)  # wrong key: still a person's NIR
    'N...'
    >>> key_nirs("5 80 01 75 123 456 60", key)  # no such sex digit: no NIR shape
    '5 80 01 75 123 456 60'
    """
    if not text:
        return text

    def nir(m: re.Match[str]) -> str:
        s = m.group(0)
        return s if s[0] in _PREFIXES else nir_hash(key, nir_compact(s))

    return _NIR.sub(nir, text)


def redact_structured_columns(raw: pd.DataFrame, key: CaseKey) -> dict[str, int]:
    """Replace NIRs in the structured text columns of the row pool, in place.

    Parameters
    ----------
    raw : pandas.DataFrame
        The row pool (one row per kept record), with any of
        :data:`STRUCTURED_TEXT_COLUMNS` as ``string[pyarrow]`` or object columns.
    key : CaseKey
        The case key.

    Returns
    -------
    dict of str to int
        Column -> number of rows whose value held a NIR (replaced); columns
        with none are left out. Work is per distinct value: one ``unique`` and one
        RE2 match over the distinct values per column, Python only for the values
        that may hold one.
    """
    counts: dict[str, int] = {}
    if not len(raw):
        return counts
    for col in STRUCTURED_TEXT_COLUMNS:
        if col not in raw.columns:
            continue
        arr = _chunked(raw[col].astype(schema.STRING))
        uniq = pc.unique(arr)
        hint = pc.match_substring_regex(uniq, _HINT).fill_null(False)
        if not pc.any(hint).as_py():
            continue
        codes, vals = _codes(arr)
        new = [v if v is None else key_nirs(v, key) for v in vals]
        changed = np.fromiter((a != b for a, b in zip(vals, new, strict=True)), bool, len(vals))
        if not changed.any():
            continue
        raw[col] = _from_codes(codes, pa.array(new, type=pa.string()))
        ok = codes >= 0
        counts[col] = int(changed[codes[ok]].sum())
    return counts
