"""Clock arithmetic of the simulated labs' zone on int64 UTC seconds, vectorized.

The simulated labs keep the case default zone, :data:`SIM_TZ` (=
:data:`labforensics.case.DEFAULT_TZ`, central European time). The EU rule (Directive 2000/84/EC): summer time runs from the last Sunday of
March 01:00 UTC to the last Sunday of October 01:00 UTC; offset +02:00 inside,
+01:00 outside. Only that rule is needed for 2015-2030, so no tz database
lookup per event.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..case import DEFAULT_TZ

#: The simulated labs' time zone; the arithmetic below is its EU summer-time rule
#: (``tests/synth`` checks it against the tz database for this zone).
SIM_TZ = DEFAULT_TZ

__all__ = [
    "SIM_TZ",
    "DAY",
    "dst_bounds",
    "local_offset",
    "day_number",
    "date_of",
    "noon_offset",
    "iso_utc",
]

DAY = 86_400
_EPOCH = dt.date(1970, 1, 1)


def _last_sunday(year: int, month: int) -> dt.date:
    d = dt.date(year, month, 31)
    return d - dt.timedelta(days=(d.weekday() + 1) % 7)


def dst_bounds(year: int) -> tuple[int, int]:
    """UTC seconds of the spring-forward and fall-back instants of ``year``."""
    s = _last_sunday(year, 3)
    f = _last_sunday(year, 10)
    return (
        (s - _EPOCH).days * DAY + 3600,
        (f - _EPOCH).days * DAY + 3600,
    )


_YEARS = np.arange(1990, 2061)
_SPRING = np.array([dst_bounds(int(y))[0] for y in _YEARS], dtype=np.int64)
_FALL = np.array([dst_bounds(int(y))[1] for y in _YEARS], dtype=np.int64)


def local_offset(t: np.ndarray) -> np.ndarray:
    """UTC offset of :data:`SIM_TZ` (seconds, 3600 or 7200) at UTC instants ``t`` (int64 s)."""
    t = np.asarray(t, dtype=np.int64)
    years = t.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    k = years - _YEARS[0]
    return np.where((t >= _SPRING[k]) & (t < _FALL[k]), 7200, 3600).astype(np.int64)


def day_number(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - _EPOCH).days


def date_of(n: int) -> dt.date:
    """Inverse of :func:`day_number`."""
    return _EPOCH + dt.timedelta(days=int(n))


def noon_offset(days: np.ndarray) -> np.ndarray:
    """UTC offset at local noon of each day number: the offset of daytime hours."""
    days = np.asarray(days, dtype=np.int64)
    return local_offset(days * DAY + 11 * 3600)


def iso_utc(t: int) -> str:
    """ISO 8601 UTC text (``2019-03-04T01:02:03Z``) of int UTC seconds."""
    return dt.datetime.fromtimestamp(int(t), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
