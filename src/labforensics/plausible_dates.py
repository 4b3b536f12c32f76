"""Which event times may set the period of the logs (QA session 11, finding 8).

One legacy row dated 28/02/2099, flagged "in the future of the analysis" as a field
problem, still set the analysis period: "logs cover 2020-03-10 to 2099-02-28", a
28,614-day gap in section 2. An event whose date cannot be right stays in the events
(and in ``field_problems.csv``), but it sets no period: not the case's, not a lab's
first or last event (the conclusion's "the logs start ..."), not the days with logs of
the gaps and the coverage figure, not the months of the outbound figure. The rule is
the field problems' (:mod:`labforensics.ingest._event_checks`,
:mod:`labforensics.ingest._lis_convert`): before 1990, after 2100 or after the
analysis moment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .ingest import _event_checks

__all__ = ["PLAUSIBLE_BEFORE", "PLAUSIBLE_FROM", "implausible_words", "plausible"]

#: The first instant a log line may carry (UTC).
PLAUSIBLE_FROM = pd.Timestamp("1990-01-01", tz="UTC")
#: The first instant no log line may carry (UTC): the LIS readers flag years after 2100.
PLAUSIBLE_BEFORE = pd.Timestamp("2101-01-01", tz="UTC")
#: How the report names the events left out of the period.
implausible_words = "dated before 1990, after 2100 or after the analysis"


def plausible(ts: pd.Series, now: pd.Timestamp | None = None) -> np.ndarray:
    """Which times may set a period.

    Parameters
    ----------
    ts : pandas.Series
        Event times, datetime64[ns, UTC].
    now : pandas.Timestamp, optional
        The analysis moment (default :func:`~labforensics.ingest._event_checks.analysis_now`).

    Returns
    -------
    numpy.ndarray
        bool, one per time: at or after :data:`PLAUSIBLE_FROM`, before
        :data:`PLAUSIBLE_BEFORE` and not after ``now``; a missing time is False.
    """
    now = _event_checks.analysis_now() if now is None else now
    hi = min(PLAUSIBLE_BEFORE, now + pd.Timedelta(microseconds=1))
    ok = (ts >= PLAUSIBLE_FROM) & (ts < hi)
    return ok.fillna(False).to_numpy(dtype=bool)
