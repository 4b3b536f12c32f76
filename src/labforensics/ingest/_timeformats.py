"""Time formats of the profiles: strftime-like formats as strict regexes and as words,
epoch units, and the vectorised reading of epoch times.

Shared by :mod:`labforensics.ingest.profiles` (validation, file-name dates) and the LIS
conversion (:mod:`labforensics.ingest._lis_convert`); this module imports neither.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ProfileError

ISO8601 = "%Y-%m-%dT%H:%M:%S%z"


#: Epoch time formats -> nanoseconds per unit (Unix time, 1970-01-01T00:00:00Z).
EPOCH_UNITS: dict[str, int] = {
    "epoch_s": 1_000_000_000,
    "epoch_ms": 1_000_000,
    "epoch_us": 1_000,
    "epoch_ns": 1,
}


#: Most digits of an epoch value per unit (beyond: past year 2262 or an int64 overflow).
_EPOCH_DIGITS = {"epoch_s": 10, "epoch_ms": 13, "epoch_us": 16, "epoch_ns": 19}


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


_DIRECTIVES = set("YmdHMSz")


@lru_cache(maxsize=65536)
def _parse_date(text: str, fmt: str) -> dt.date:
    """``strptime`` of a file name's date (cached: daily files of many labs share dates)."""
    return dt.datetime.strptime(text, fmt).date()


def format_regex(fmt: str, *, groups: bool = True) -> str:
    """Strict regex for a strftime-like format (directives ``%Y %m %d %H %M %S %z``)."""
    out = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            i += 2
            if d == "Y":
                body = r"\d{4}"
            elif d == "b":
                body = "|".join(_MONTHS)
            elif d in "mdHMS":
                body = r"\d{2}"
            elif d == "z":
                body = r"Z|[+-]\d{2}:?\d{2}"
            elif d == "%":
                out.append("%")
                continue
            else:
                raise ProfileError(f"format {fmt!r}: directive %{d} is not supported")
            out.append(f"(?P<{d}>{body})" if groups else f"(?:{body})")
            if d == "S":
                out.append(r"(?:[.,](?P<f>\d{1,9}))?" if groups else r"(?:[.,]\d{1,9})?")
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def human_format(fmt: str) -> str:
    """``%d/%m/%Y`` -> ``dd/mm/yyyy`` (for messages)."""
    table = {
        "%Y": "yyyy",
        "%m": "mm",
        "%d": "dd",
        "%H": "HH",
        "%M": "MM",
        "%S": "SS",
        "%z": "+hh:mm",
        "%b": "Mon",
    }
    if fmt == ISO8601:
        return "ISO 8601 with offset, yyyy-mm-ddTHH:MM:SS+hh:mm"
    if fmt in EPOCH_UNITS:
        unit = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
        return f"integer {unit[fmt[6:]]} since 1970-01-01T00:00:00Z"
    for k, v in table.items():
        fmt = fmt.replace(k, v)
    return fmt


def parse_epoch(
    col: pa.Array | pa.ChunkedArray, unit: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse a string column of epoch times (Unix time) in an explicit unit, vectorised.

    Parameters
    ----------
    col : pyarrow string array
        Values such as ``"1262414940"`` (``epoch_s``) or ``"1262414940000"``
        (``epoch_ms``); ``epoch_s`` may carry a decimal fraction (``.25``, at most
        9 digits). An optional leading ``-`` (before 1970).
    unit : str
        One of :data:`EPOCH_UNITS`.

    Returns
    -------
    tuple of numpy.ndarray, each shape (n,)
        UTC seconds since the epoch (int64, floor), UTC offset seconds (int64,
        zeros), nanoseconds within the second (int64, 0..999,999,999) and valid
        (bool). A value with more digits than the unit allows (past 2262, say) or
        any other text is invalid.
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    n = len(col)
    secs = np.zeros(n, np.int64)
    frac = np.zeros(n, np.int64)
    sub_digits = {"epoch_s": 0, "epoch_ms": 3, "epoch_us": 6, "epoch_ns": 9}[unit]
    fr = r"(?:\.(?P<frac>\d{1,9}))?" if unit == "epoch_s" else ""
    pat = rf"^(?P<sign>-?)(?P<int>\d{{1,{_EPOCH_DIGITS[unit]}}}){fr}$"
    parts = pc.extract_regex(col, pattern=pat)
    ok = parts.is_valid().to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    if not ok.any():
        return secs, np.zeros(n, np.int64), frac, ok
    sub = parts.filter(pa.array(ok))
    neg = pc.equal(sub.field("sign"), "-").to_numpy(zero_copy_only=False)
    # whole seconds and the sub-second digits apart, on the text: no int64 overflow
    digits = pc.utf8_lpad(sub.field("int"), sub_digits + 1, "0")
    if sub_digits:
        s = pc.cast(pc.utf8_slice_codeunits(digits, 0, -sub_digits), pa.int64()).to_numpy()
        tail = pc.utf8_rpad(pc.utf8_slice_codeunits(digits, -sub_digits), 9, "0")
        ns = pc.cast(tail, pa.int64()).to_numpy()
    else:
        s = pc.cast(digits, pa.int64()).to_numpy()
        ns = pc.cast(pc.utf8_rpad(pc.fill_null(sub.field("frac"), ""), 9, "0"), pa.int64())
        ns = ns.to_numpy()
    s = np.where(neg, -s, s)
    ns = np.where(neg, -ns, ns)
    s = s + ns // 1_000_000_000  # floor: -0.25 s is 1969-12-31T23:59:59.75
    ns = ns % 1_000_000_000
    secs[ok], frac[ok] = s, ns
    return secs, np.zeros(n, np.int64), frac, ok


def _tokens(fmt: str) -> list[tuple[str, int, str]]:
    """Fixed-width template of a format: (kind, width, literal)."""
    out = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            width = {"Y": 4, "z": 6}.get(d, 2)
            out.append((d, width, ""))
            i += 2
        else:
            out.append(("lit", 1, fmt[i]))
            i += 1
    return out
