"""Vectorised text of the linkage case: dates, fixed-width digits, NIRs, phones.

Used by :mod:`labforensics.synth.people` (indexes) and
:mod:`labforensics.synth.dumps` (dumps); no Python loop per row.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "day_of",
    "ymd",
    "digits",
    "compose",
    "fmt_dates",
    "nir_strings",
    "nir_is_valid",
    "strip_accents",
    "fmt_phone",
    "spaced_nir",
]

_EPOCH = dt.date(1970, 1, 1)


def day_of(iso: str) -> int:
    """Day number (days since 1970-01-01) of an ISO date."""
    return (dt.date.fromisoformat(iso) - _EPOCH).days


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day (int64 arrays) of day numbers."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    y = m.astype("datetime64[Y]").astype(np.int64) + 1970
    return y, m.astype(np.int64) % 12 + 1, (d - m).astype(np.int64) + 1


def digits(v: np.ndarray, width: int) -> np.ndarray:
    """ASCII digit matrix (uint8, shape (n, width)) of non-negative integers, zero-padded."""
    v = np.asarray(v, dtype=np.int64)
    return ((v[:, None] // 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)) % 10 + 48).astype(
        np.uint8
    )


def compose(n: int, *parts: bytes | tuple[np.ndarray, int]) -> np.ndarray:
    """Fixed-width strings from literal bytes and zero-padded integers.

    ``compose(n, (d, 2), b"/", (m, 2))`` -> ``array(['05/03', ...], dtype='<U5')``.
    """
    cols = []
    for p in parts:
        if isinstance(p, bytes):
            cols.append(np.broadcast_to(np.frombuffer(p, np.uint8), (n, len(p))))
        else:
            cols.append(digits(p[0], p[1]))
    m = np.ascontiguousarray(np.hstack(cols)) if cols else np.zeros((n, 0), np.uint8)
    w = m.shape[1]
    return m.view(f"S{w}").ravel().astype(f"U{w}")


def fmt_dates(days: np.ndarray, style: str, partial: np.ndarray | None = None) -> np.ndarray:
    """Dates as text: ``dmy`` dd/mm/yyyy, ``dmy2`` dd/mm/yy, ``ymd`` yyyy-mm-dd, ``serial``.

    ``serial`` is the spreadsheet serial of the 1900 system (days since
    1899-12-30, valid after 1900-02-28). ``partial`` rows write day and month
    as ``00`` (``00/00/1950``; a serial cannot, so those are written dd/mm/yyyy).
    """
    days = np.asarray(days, dtype=np.int64)
    n = len(days)
    y, m, d = ymd(days)
    if partial is not None:
        m = np.where(partial, 0, m)
        d = np.where(partial, 0, d)
    if style == "dmy":
        return compose(n, (d, 2), b"/", (m, 2), b"/", (y, 4))
    if style == "dmy2":
        return compose(n, (d, 2), b"/", (m, 2), b"/", (y % 100, 2))
    if style == "ymd":
        return compose(n, (y, 4), b"-", (m, 2), b"-", (d, 2))
    if style == "serial":
        out = (days + 25569).astype(str).astype(object)
        if partial is not None and partial.any():
            out[partial] = fmt_dates(days[partial], "dmy", partial[partial])
        return out
    raise ValueError(f"unknown date style {style!r}")


def nir_strings(num13: np.ndarray, corsica: np.ndarray) -> np.ndarray:
    """15-character NIRs (13 digits + key) from the key's numeric form.

    ``num13`` reads Corsica as 19 (2A) / 18 (2B) in the department, as the key
    does; ``corsica`` is 0, 1 (2A) or 2 (2B) and is written back as letters.
    """
    num13 = np.asarray(num13, dtype=np.int64)
    key = 97 - num13 % 97
    m = np.ascontiguousarray(np.hstack([digits(num13, 13), digits(key, 2)]))
    a = corsica == 1
    b = corsica == 2
    m[a | b, 5] = ord("2")
    m[a, 6] = ord("A")
    m[b, 6] = ord("B")
    return m.view("S15").ravel().astype("U15")


def nir_is_valid(nir: str) -> bool:
    """Whether a 15-character NIR's key is right (2A/2B read as 19/18). Test helper."""
    s = nir.upper()
    if len(s) != 15:
        return False
    body = s[:13].replace("2A", "19").replace("2B", "18")
    if not (body.isdigit() and s[13:].isdigit()):
        return False
    return 97 - int(body) % 97 == int(s[13:])


def strip_accents(a: pa.Array) -> pa.Array:
    """Text without combining marks (NFD, then ``\\p{Mn}`` removed)."""
    return pc.replace_substring_regex(pc.utf8_normalize(a, "NFD"), r"\p{Mn}", "")


def fmt_phone(phone9: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Phones from their 9 digits after the 0, one style per row.

    Styles: 0 ``0612345678``, 1 ``06 12 34 56 78``, 2 ``06.12.34.56.78``,
    3 ``+33 6 12 34 56 78``, 4 ``+33612345678``, 5 ``06-12-34-56-78``.
    Rows with ``phone9 < 0`` are empty strings.
    """
    n = len(phone9)
    p = np.maximum(phone9, 0)
    a, b = p // 10**8, p % 10**8
    pr = [b % 10**8 // 10**6, b % 10**6 // 10**4, b % 10**4 // 100, b % 100]
    out = np.empty(n, dtype=object)
    for k in range(6):
        sel = np.where(style == k)[0]
        m = len(sel)
        a1 = (a[sel], 1)
        g = [(x[sel], 2) for x in pr]
        if k == 0:
            f = compose(m, b"0", a1, (b[sel], 8))
        elif k == 4:
            f = compose(m, b"+33", a1, (b[sel], 8))
        else:
            lead, sep = {1: (b"0", b" "), 2: (b"0", b"."), 3: (b"+33 ", b" "), 5: (b"0", b"-")}[k]
            f = compose(m, lead, a1, sep, g[0], sep, g[1], sep, g[2], sep, g[3])
        out[sel] = f
    out[phone9 < 0] = ""
    return out


def spaced_nir(nir: np.ndarray) -> np.ndarray:
    """``1 85 05 75 123 456 78``: the grouping printed on a carte Vitale."""
    m = (
        np.ascontiguousarray(np.asarray(nir, dtype="U15").astype("S15"))
        .view(np.uint8)
        .reshape(-1, 15)
    )
    sp = np.full((len(m), 1), ord(" "), np.uint8)
    g = [
        m[:, 0:1],
        sp,
        m[:, 1:3],
        sp,
        m[:, 3:5],
        sp,
        m[:, 5:7],
        sp,
        m[:, 7:10],
        sp,
        m[:, 10:13],
        sp,
        m[:, 13:15],
    ]
    mm = np.ascontiguousarray(np.hstack(g))
    return mm.view("S21").ravel().astype("U21")  # fmt: skip
