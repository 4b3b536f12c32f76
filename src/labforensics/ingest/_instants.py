"""ISO 8601 date-times of the FHIR and ATNA readers: leap seconds and dates without a time.

Private to :mod:`labforensics.ingest`. One vectorised pass turns the date-time
strings of one file into UTC instants with their ``ts_quality``:

* with an offset (``Z``, ``+02:00``): that instant, ``exact``;
* a time without an offset: local wall-clock time of ``tz``, by the clock rules of
  :func:`._common.localize` (``exact``, ``ambiguous_*``, ``nonexistent_shifted``);
* **second 60** (``23:59:60Z``, ``23:59:60.5+01:00``): a leap second, kept in order
  as second 59.999999999 of the same minute, ``leap_second``. Allowed by FHIR
  (R4 4.0.1 section 2.24.0.1 "Primitive Types", and R5 "Datatypes", ``instant``
  and ``dateTime``: "Leap Seconds are allowed"; the regexes read
  ``:([0-5][0-9]|60)``) and by XML Schema 1.0 Part 2 (Second
  Edition) ``xs:dateTime`` (Appendix D.1: "a value of 60 or more is allowed only
  in the case of leap seconds"), the datatype library of DICOM PS3.15 A.5.1 and
  RFC 3881 audit messages (XML Schema 1.1 dropped it);
* **a date without a time** (``2024-06-03``; also ``2024-06`` and ``2024``, the
  partial dates of FHIR ``dateTime``): the start of that day in ``tz`` (the first
  day of the month or year), ``date_only``. Its instant is a lower bound only,
  so sessions never use it for a duration (:mod:`labforensics.sessions`).

Anything else that does not parse is ``NaT`` (the caller quarantines it).
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ._common import localize

__all__ = ["DATE_ONLY", "LEAP", "OFFSET", "parse_instants"]

#: Second 60 of a time (a leap second), its fraction and what follows.
LEAP = re.compile(r"(?<=T\d\d:\d\d:)60(?:[.,]\d+)?(?=[zZ+-]|$)")
#: A calendar date without a time: ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``.
DATE_ONLY = re.compile(r"\d{4}(?:-\d\d(?:-\d\d)?)?")
#: A UTC designator or numeric offset at the end of a date-time.
OFFSET = re.compile(r"(?:[zZ]|[+-]\d\d:?\d\d)$")
_LAST_NS_OF_DAY = 86_400 * 10**9 - 1


def parse_instants(values: pd.Series, tz: ZoneInfo) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Parse one file's ISO 8601 date-time strings to UTC (vectorised).

    Parameters
    ----------
    values : pandas.Series of object (str or None)
        Date-times as written, in file order (the order resolves fall-back hours).
    tz : zoneinfo.ZoneInfo
        Time zone of times without an offset and of dates without a time.

    Returns
    -------
    ts : pandas.Series of datetime64[ns, UTC], same index
        ``NaT`` where missing or unparseable.
    quality : numpy.ndarray of object (str), same length
        :data:`labforensics.schema.TS_QUALITY` values.
    leap_off_day : numpy.ndarray of bool, same length
        A leap second that is not the last second of a UTC day (23:59:60Z): no
        leap second was ever inserted there (the caller reports it).
    """
    n = len(values)
    ts = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    quality = np.full(n, "exact", dtype=object)
    if not n:
        return ts, quality, np.zeros(0, bool)
    present = values.notna().to_numpy(dtype=bool)
    s = values.astype(object).where(present, "").astype(str).str.strip()
    leap = s.str.contains(LEAP, regex=True).to_numpy(dtype=bool) & present
    if leap.any():
        s = s.where(~leap, s.str.replace(LEAP, "59.999999999", regex=True))
    date_only = s.str.fullmatch(DATE_ONLY).to_numpy(dtype=bool) & present
    timed = present & ~date_only
    has_off = s.str.contains(OFFSET, regex=True).to_numpy(dtype=bool)
    has_t = s.str.contains("T", regex=False).to_numpy(dtype=bool)
    aware = timed & has_off & has_t
    naive = timed & ~aware
    if aware.any():
        ts[aware] = pd.to_datetime(s[aware], format="ISO8601", utc=True, errors="coerce")
    for rows, is_date in ((naive, False), (date_only, True)):
        if not rows.any():
            continue
        wall = pd.to_datetime(s[rows], format="ISO8601", errors="coerce")
        if isinstance(wall.dtype, pd.DatetimeTZDtype):  # pragma: no cover - mixed input
            wall = wall.dt.tz_localize(None)
        loc, q = localize(wall.astype("datetime64[ns]"), tz)
        ts[rows] = loc
        quality[rows] = "date_only" if is_date else q
    ok = ts.notna().to_numpy()
    quality[leap & ok] = "leap_second"
    ns = ts.to_numpy(dtype="datetime64[ns]").view("int64")
    leap_off_day = leap & ok & (np.mod(ns, 86_400 * 10**9) != _LAST_NS_OF_DAY)
    return ts, quality, leap_off_day
