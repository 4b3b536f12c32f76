"""Weekend work that is a habit: ``weekend_unusual``, built as ``night_unusual`` is.

``weekend`` is a plain flag (the session starts on a Saturday or a Sunday, local time):
an interface that runs every day has two weekend days a week, and on a short case the
detectors ranked its weekend sessions above its one-off 5,000-record export (QA session
17, shared case 008 b: rank 11 of 14 "under four weekend sessions"). ``weekend_unusual``
is the flag weighed by the account's own habits, the way
:mod:`labforensics.features.night` weighs ``night``:

the account's share of weekend days
    ``weekend`` times ``1 - min(1, s / (2/7))``, where ``s`` is the share of the
    account's active days (local days with a session) that fall on a weekend, over the
    evidence, and 2/7 is that share for an account working every day of the week (the
    calendar, no chosen figure). An account that works every day (s = 2/7) or more
    on weekends is not unusual on a weekend (0); one that never does otherwise is (1);
    one weekend day in a month of weekdays is 1 - (1/21) / (2/7) = 0.83. Without
    ``FeatureParams.min_history`` (5) active days there is no habit to excuse it: the
    plain flag, as ``night_unusual`` without ``min_history`` sessions.
the account's earlier weekends (staff and service accounts)
    It had worked on at least ``min_history`` distinct weekend days *before* this
    session's day: 0. Learned before the session (as the account's earlier nights are),
    so a campaign of weekends by an account that never worked one cannot excuse itself.
its usual work (service accounts)
    A service account's session doing the account's usual work (its action set matches
    the most frequent one, :func:`labforensics.features.habits.usual_work`; at least
    ``min_history`` sessions): 0, as at night (issue 14 item 3: a job that does the
    same thing every day is routine whatever the day).

Vendor accounts and accounts of unknown kind keep the share alone (as at night: only
the authorisation register makes a processor's work routine). Not counted here, unlike
the night: the colleagues of the same role (a Saturday rota); a staff account whose
Saturdays are a rota reaches its five earlier weekend days after five of them.
Everything is per account, so an account batch of the per-lab engine gives the same
values as a whole-case run.

References: Code du travail, art. L3132-3 (weekly rest is given on Sunday) and
L3132-12 (activities allowed to work on Sunday, among them continuous care); Bolton
R. J., Hand D. J. (2001), Peer group analysis - local anomaly detection in longitudinal
data (an object judged against its own past).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .habits import action_masks, usual_work
from .night import night_habits, own_earlier_nights
from .params import FeatureParams

__all__ = ["WEEKEND_DAY_SHARE", "time_habits", "weekend_unusual"]

#: Share of the days of a week that are weekend days: an account working every day.
WEEKEND_DAY_SHARE: float = 2.0 / 7.0


def weekend_unusual(
    weekend: pd.Series,
    acct: np.ndarray,
    loc: pd.Series,
    kind: pd.Series,
    ecode: np.ndarray,
    action: pd.Series,
    min_history: int,
) -> pd.Series:
    """``weekend_unusual`` per session (see the module doc).

    Parameters
    ----------
    weekend : pandas.Series of float64, shape (n,)
        The plain flag (1 on Saturday and Sunday, local time).
    acct : numpy.ndarray of int, shape (n,)
        ``(lab, account)`` code of each session.
    loc : pandas.Series of datetime64 (local), shape (n,)
        Local session starts.
    kind : pandas.Series, shape (n,)
        Account kind of each session.
    ecode : numpy.ndarray of int, shape (n_events,)
        Session position of each event (``-1``: none).
    action : pandas.Series, shape (n_events,)
        Canonical action of each event.
    min_history : int
        ``FeatureParams.min_history``: active days for a share, earlier weekend days
        for a habit, sessions for a service's usual work.

    Returns
    -------
    pandas.Series of float64, shape (n,), aligned with ``weekend``
    """
    n = len(acct)
    w = weekend.to_numpy(dtype="float64")
    if n == 0 or not (w == 1).any():
        return pd.Series(np.zeros(n), index=weekend.index)
    day = loc.dt.tz_localize(None).to_numpy(dtype="datetime64[D]")
    d = pd.DataFrame({"a": acct, "day": day.view("int64"), "w": w}).drop_duplicates(["a", "day"])
    g = d.groupby("a")["w"]
    n_days = g.size().reindex(acct).to_numpy(dtype="float64")
    n_weekend = g.sum().reindex(acct).to_numpy(dtype="float64")
    # s / (2/7) from the counts (7 W / 2 D), so that an every-day account gives exactly 1
    ratio = np.minimum(1.0, 7.0 * n_weekend / (2.0 * np.maximum(n_days, 1.0)))
    base = np.where(n_days >= min_history, w * (1.0 - ratio), w)
    k = np.asarray(kind.astype("object").to_numpy())
    staff, service = k == "staff", k == "service"
    own = (staff | service) & (own_earlier_nights(acct, w == 1, day) >= min_history)
    n_sess = pd.Series(acct).groupby(acct).transform("size").to_numpy()
    usual = service & (n_sess >= min_history) & usual_work(acct, action_masks(ecode, action, n))
    return pd.Series(np.where(own | usual, 0.0, base), index=weekend.index)


def time_habits(
    values: dict[str, pd.Series],
    keys: dict[str, pd.Series],
    acct: np.ndarray,
    loc: pd.Series,
    ecode: np.ndarray,
    action: pd.Series,
    params: FeatureParams,
    colleague: np.ndarray | None = None,
) -> pd.DataFrame:
    """:func:`labforensics.features.night.night_habits`, then ``weekend_unusual``.

    Updates ``values`` in place: ``night_unusual`` and ``night_colleague_nights`` as
    ``night_habits`` does, and ``weekend_unusual`` (:func:`weekend_unusual`, from
    ``values["weekend"]`` and ``keys["kind"]``).

    Parameters
    ----------
    values, keys, acct, loc, ecode, action, params, colleague
        As for :func:`~labforensics.features.night.night_habits`.

    Returns
    -------
    pandas.DataFrame
        The night roster ``night_habits`` returns.
    """
    roster = night_habits(values, keys, acct, loc, ecode, action, params, colleague)
    values["weekend_unusual"] = weekend_unusual(
        values["weekend"], acct, loc, keys["kind"], ecode, action, params.min_history
    )
    return roster
