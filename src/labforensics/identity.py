"""Identities compared as the same thing: canonical accounts, addresses and hosts.

Two spellings of one identity must compare equal wherever identities are
compared (sessions, account-kind overrides, peer groups, transfers, the source
ranking). The canonical forms:

* **account**: Unicode NFC (Unicode Standard Annex #15), so that ``hélène.m``
  written precomposed (U+00E9) and decomposed (``e`` + U+0301) is one account;
  also case-folded (:meth:`str.casefold`) only for sources whose accounts are
  case-insensitive (stated per reader: :attr:`labforensics.ingest.registry.ReaderSpec.accounts_case_insensitive`).
* **address**: parsed with :mod:`ipaddress`; an IPv4-mapped IPv6 address
  (``::ffff:a.b.c.d``, RFC 4291 section 2.5.5.2) is the IPv4 address, other
  IPv6 addresses take their canonical compressed lower-case form (RFC 5952);
  surrounding blanks and square brackets (``[2001:db8::1]``) are dropped. A
  value that is not an address (a host name, ``-``) is left as written.
* **host**: NFC, then lower case (DNS names compare case-insensitively,
  RFC 4343; so do NetBIOS workstation names).

The forms as written are kept beside the canonical ones (``account_raw``,
``src_ip_raw``, ``host_raw`` in the event table). Every function here works per
*distinct* value: a column of millions of rows with a few thousand distinct
values costs a few thousand calls.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .schema import STRING

__all__ = [
    "canonical_account",
    "canonical_address",
    "canonical_column",
    "canonical_host",
    "canonical_peer",
]


def canonical_account(text: str | None, *, casefold: bool = False) -> str | None:
    """The canonical form of an account name: NFC, case-folded when ``casefold``.

    Parameters
    ----------
    text : str or None
        The account as written; None stays None.
    casefold : bool, default False
        The source compares accounts case-insensitively (see the module doc).

    Returns
    -------
    str or None
    """
    if text is None:
        return None
    out = unicodedata.normalize("NFC", text)
    return unicodedata.normalize("NFC", out.casefold()) if casefold else out


def canonical_address(text: str | None) -> str | None:
    """The canonical form of a network address; a non-address is returned as written.

    ``::ffff:172.16.50.10`` -> ``172.16.50.10``; ``2001:DB8:0:0::1`` ->
    ``2001:db8::1``; ``[2001:db8::1]`` -> ``2001:db8::1``; ``" 10.1.1.1 "`` ->
    ``10.1.1.1``; ``fe80::1%eth0`` keeps its zone; ``ws-01`` and ``010.1.1.1``
    (leading zeros are refused by :mod:`ipaddress`: octal or decimal cannot be
    told) stay as written.

    Parameters
    ----------
    text : str or None

    Returns
    -------
    str or None
    """
    if text is None:
        return None
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    try:
        addr = ipaddress.ip_address(t)
    except ValueError:
        return text
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def canonical_host(text: str | None) -> str | None:
    """The canonical form of a host name: NFC, lower case; None stays None."""
    if text is None:
        return None
    return unicodedata.normalize("NFC", text).lower()


def canonical_peer(text: str | None) -> str | None:
    """A remote end written as an address or a host name (xferlog's ``remote-host``).

    An address takes :func:`canonical_address`'s form, anything else
    :func:`canonical_host`'s.
    """
    if text is None:
        return None
    addr = canonical_address(text)
    return addr if addr is not text else canonical_host(text)


def _as_arrow(values: pd.Series | pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(values, pd.Series):
        arr = (
            pa.array(values.array)  # the Arrow data, zero-copy (__arrow_array__ protocol)
            if isinstance(values.array, pd.arrays.ArrowExtensionArray | pd.arrays.ArrowStringArray)
            else None
        )
        if (
            arr is None
            or not pa.types.is_string(arr.type)
            and not pa.types.is_large_string(arr.type)
        ):
            obj = values.astype(object).where(values.notna(), None).to_numpy()
            arr = pa.array(obj, type=pa.string())
        values = arr
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def canonical_column(
    values: pd.Series | pa.ChunkedArray | pa.Array,
    canon: Callable[[str], str | None],
    *,
    variant: np.ndarray | None = None,
    canon_variant: Callable[[str], str | None] | None = None,
) -> tuple[pd.Series, bool]:
    """Apply a canonical form to a text column, once per distinct value.

    Parameters
    ----------
    values : pandas.Series of string, or pyarrow (chunked) string array, shape (n,)
    canon : callable
        ``str -> str``, e.g. :func:`canonical_address`.
    variant : numpy.ndarray of bool, shape (n,), optional
        Rows that take ``canon_variant`` instead (e.g. accounts of a
        case-insensitive source).
    canon_variant : callable, optional

    Returns
    -------
    (canonical, changed) : (pandas.Series of ``string[pyarrow]``, bool)
        The canonical column (missing stays missing; a fresh RangeIndex) and
        whether any value differs from the input (when False the series holds
        the input's own data).
    """

    arr = _as_arrow(values)
    n = len(arr)
    enc = arr.dictionary_encode()
    indices = enc.indices
    missing = None
    if indices.null_count:
        missing = indices.is_null().to_numpy(zero_copy_only=False)
        indices = pc.fill_null(indices, 0)
    idx = np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    vals = enc.dictionary.to_pylist()
    out_vals = [canon(v) for v in vals]
    if variant is not None and canon_variant is not None and variant.any():
        nv = len(vals)
        idx = np.where(missing, -1, idx) if missing is not None else idx
        key = np.where(idx >= 0, idx + nv * variant.astype(np.int64), -1)
        extra = [canon_variant(v) for v in vals]
        out_vals = out_vals + extra
        vals = vals + vals
        idx = key
        missing = idx < 0
    changed = out_vals != vals
    if not changed:
        res = pa.chunked_array([arr])
    else:
        table = pa.array(out_vals, type=pa.string())
        safe = np.where(idx < 0, 0, idx) if missing is not None else idx
        res = pa.chunked_array(
            [table.take(pa.array(safe, mask=missing)) if n else pa.array([], pa.string())]
        )
    return pd.Series(pd.arrays.ArrowStringArray(res), dtype=STRING), changed
