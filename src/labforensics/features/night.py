"""Night work that is a habit: an account's own, its colleagues' rota, a service's usual work.

``night_unusual`` is a session's ``night`` flag times the share of the account's sessions
that are *not* at night (a night job is not unusual). On its own that share cannot see an
on-call rota: a biologist who works days and takes a night now and then has 1 % of its
sessions at night, so each on-call night reads "99 % unusual", and a lab whose evidence is
dense (thousands of day sessions, a few on-call nights a quarter) holds too few such rows
for the detectors to learn them as routine (issue 14; the dense demo flagged 23 routine
night campaigns over 15 lab-months, each by the ensemble's nearest-neighbour detector
alone). A night session is *not* unusual for its hour (``night_unusual`` = 0) when night
work is an established practice of:

the account itself (staff and service accounts)
    It had worked at night on at least ``FeatureParams.min_history`` (5) distinct earlier
    nights, before this session's night: learned from the account's history *before* the
    session, so that a campaign of nights by an account that never worked nights cannot
    excuse itself (its first five nights stay unusual, and a campaign ranks by its best
    session).
its colleagues (staff accounts): the on-call rota
    Other staff accounts of the same role worked at night on at least ``min_history``
    distinct lab-nights other than this session's night (at its lab or any other: a
    biologists' on-call rota at a lab of five biologists gives each a night now and then;
    a quarter of one lab holds a handful of them, the labs of one organisation many
    more). Counted over the whole evidence, as every peer baseline is (a retrospective
    investigation: the evidence begins where the logs' retention does, not where the rota
    does), but never from the account's own nights, so no account excuses itself.
its usual work (service accounts)
    A service account (an interface, an instrument) keeps no office hours: the HPRIM
    interface transmits each result when a biologist validates it, at 23:30 as at 10:00.
    A service account's session doing the account's usual work (its action set matches
    the account's most frequent one, the test of
    :func:`labforensics.features.habits.regular_job`; at least ``min_history`` sessions
    of history) is not unusual for its hour: "a nightly job that does the same thing
    every night is routine whatever its action code" (issue 14 item 3), and an interface
    that does at night what it does by day is routine whatever the hour. A service
    account used for other work at night (an export, patient reads) keeps its flag.

Vendor accounts and accounts of unknown kind keep the plain share: a processor acts
only on the controller's documented instructions (GDPR art. 28(3)(a)), so only the
authorisation register (``detect.documented_by_register``) makes a vendor's night work
routine, never a habit; and an account whose kind is unknown has no known colleagues.

The minimum, five nights, is ``FeatureParams.min_history``: the least group size of every
baseline of the features; five separate nights are a practice, not an occasion (our
choice, as the baselines', not fitted to any data). The night of a session is the local
date of its start minus the night's end hour (21:00-06:00: a session at 01:00 on the 4th
belongs to the night of the 3rd, as one at 23:30 on the 3rd).

References: Code du travail, art. L3122-20 (night work, 21:00-06:00 failing an agreement)
and art. L3121-9 (astreinte: on-call periods, the work done during them being working
time); Bolton R. J., Hand D. J. (2001), Peer group analysis - local anomaly detection in
longitudinal data (an object judged against the peers it resembles, not only against its
own past).

Known false negatives: a compromised or misused staff account working at night in a role
whose colleagues do nights (the hour no longer speaks; the new address, the failed
logins, the unexplained reads and the export rules still do); several accounts of one
role misused on five or more nights, each excusing the others; a service account misused
at night for its usual work.

In the per-lab engine a lab's stage sees its own sessions only: it counts the colleagues'
nights at its lab (:func:`colleague_nights`) and hands up the distinct (lab, role, night)
of its staff accounts' night sessions (:func:`night_roster`, no account named); the second
pass adds every other lab's nights (:func:`add_other_labs`), which is exact: a pair at
another lab is never the account's own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._arrays import unique_sorted
from .habits import action_masks, usual_work
from .params import FeatureParams
from .rollup import _period_strings
from .tables import Features, FeatureTable

__all__ = [
    "ROSTER_COLUMNS",
    "add_other_labs",
    "colleague_nights",
    "is_night",
    "night_habits",
    "night_of",
    "night_roster",
    "own_earlier_nights",
]

#: Columns of :func:`night_roster`.
ROSTER_COLUMNS: tuple[str, ...] = ("lab", "role", "night")


def is_night(loc: pd.Series, night: tuple[int, int]) -> pd.Series:
    """Whether each local start's hour is a night hour (``FeatureParams.night``: from the
    start hour, inclusive, to the end hour, exclusive, across midnight when start > end).

    Parameters
    ----------
    loc : pandas.Series of datetime64 (local zone), shape (n,)
    night : (int, int)

    Returns
    -------
    pandas.Series of bool, shape (n,)
    """
    h0, h1 = night
    hh = loc.dt.hour
    return (hh >= h0) | (hh < h1) if h0 > h1 else (hh >= h0) & (hh < h1)


def night_of(loc: pd.Series, night: tuple[int, int]) -> np.ndarray:
    """The night each local start belongs to: the local date of ``start - end hour``.

    Parameters
    ----------
    loc : pandas.Series of datetime64 (local zone), shape (n,)
    night : (int, int)
        ``FeatureParams.night`` (start hour, end hour).

    Returns
    -------
    numpy.ndarray of datetime64[D], shape (n,)
    """
    naive = loc.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return (naive - np.timedelta64(int(night[1]), "h")).astype("datetime64[D]")


def own_earlier_nights(acct: np.ndarray, is_night: np.ndarray, nights: np.ndarray) -> np.ndarray:
    """Distinct nights the account worked at night before each session's night.

    Parameters
    ----------
    acct : numpy.ndarray of int, shape (n,)
        Account code (``(lab, account)``).
    is_night : numpy.ndarray of bool, shape (n,)
        Session starts at night.
    nights : numpy.ndarray of datetime64[D], shape (n,)
        :func:`night_of` each session.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        For each session, the account's distinct night dates with a night session,
        strictly before the session's night (0 for an account with none).
    """
    out = np.zeros(len(acct))
    ok = ~np.isnat(nights)
    if not (is_night & ok).any():
        return out
    a = np.asarray(acct, dtype=np.int64)[ok]
    a = a - a.min()
    n = nights[ok].view("int64")
    n0 = int(n.min())
    span = int(n.max()) - n0 + 1
    key = a * span + (n - n0)  # one integer per (account, night), ordered by both
    worked = unique_sorted(key[is_night[ok]])  # the account's distinct nights at work
    # distinct worked nights in [the account's first possible key, the session's key)
    out[ok] = np.searchsorted(worked, key) - np.searchsorted(worked, a * span)
    return out


def _names(x: pd.Series, missing: str) -> np.ndarray:
    """Object array of labels, a missing one replaced by ``missing`` (so that grouping
    keeps it: events without a lab form a lab of their own)."""
    return x.astype("object").fillna(missing).to_numpy()


def night_roster(lab: pd.Series, role: pd.Series, nights: np.ndarray, mask: np.ndarray
                 ) -> pd.DataFrame:  # fmt: skip
    """The distinct (lab, role, night) of the night sessions selected by ``mask``.

    Parameters
    ----------
    lab, role : pandas.Series, shape (n,)
    nights : numpy.ndarray of datetime64[D], shape (n,)
    mask : numpy.ndarray of bool, shape (n,)
        The sessions of the roster: staff accounts' night sessions.

    Returns
    -------
    pandas.DataFrame
        :data:`ROSTER_COLUMNS`: ``lab`` and ``role`` (object; ``""`` for a missing lab,
        ``?`` for a missing role), ``night`` (``YYYY-MM-DD`` string), sorted; no account
        named.
    """
    d = pd.DataFrame(
        {
            "lab": _names(lab, "")[mask],
            "role": _names(role, "?")[mask],
            "night": np.datetime_as_string(nights[mask], unit="D").astype(object),
        }
    )
    return (
        d.drop_duplicates().sort_values(list(ROSTER_COLUMNS), kind="stable").reset_index(drop=True)
    )


def colleague_nights(
    lab: pd.Series, account: pd.Series, role: pd.Series, nights: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """Per session, the distinct lab-nights other accounts of its role worked at night.

    Over the sessions selected by ``mask`` (the roster: staff accounts' night sessions),
    for each of them: the distinct (lab, night) pairs of its role with a night session
    by an account other than its own ``(lab, account)``, the session's own night left
    out. Computed as ``pairs of the role - pairs on the session's night - pairs whose only
    account is the session's + (the session's own pair, when its account is alone there)``.

    Parameters
    ----------
    lab, account, role : pandas.Series, shape (n,)
    nights : numpy.ndarray of datetime64[D], shape (n,)
    mask : numpy.ndarray of bool, shape (n,)

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Counts for the sessions of ``mask``, 0 elsewhere.
    """
    out = np.zeros(len(lab))
    if not mask.any():
        return out
    la, ac = _names(lab, "")[mask], _names(account, "")[mask]
    ro, nv = _names(role, "?")[mask], nights.view("int64")[mask]
    r = pd.DataFrame({"role": ro, "lab": la, "n": nv, "a": ac}).drop_duplicates()
    pairs = r.groupby(["role", "lab", "n"], sort=False)["a"].agg(["size", "first"])
    total = pairs.groupby(level="role").size()
    same_night = pairs.groupby(level=["role", "n"]).size()
    solo = pairs[pairs["size"] == 1].reset_index()
    solo_acc = solo.groupby(["role", "lab", "first"]).size()
    own = pairs.reindex(pd.MultiIndex.from_arrays([ro, la, nv]))
    own_alone = (own["size"].to_numpy() == 1) & (own["first"].to_numpy(dtype=object) == ac)
    cnt = (
        _counts(total, pd.Index(ro))
        - _counts(same_night, pd.MultiIndex.from_arrays([ro, nv]))
        - _counts(solo_acc, pd.MultiIndex.from_arrays([ro, la, ac]))
        + own_alone.astype("float64")
    )
    out[mask] = np.maximum(cnt, 0.0)
    return out


def _counts(s: pd.Series, index: pd.Index) -> np.ndarray:
    """Counts of ``s`` at ``index`` (0 where absent), float64."""
    return s.reindex(index).fillna(0).to_numpy(dtype="float64", copy=True)


def night_habits(
    values: dict[str, pd.Series],
    keys: dict[str, pd.Series],
    acct: np.ndarray,
    loc: pd.Series,
    ecode: np.ndarray,
    action: pd.Series,
    params: FeatureParams,
    colleague: np.ndarray | None = None,
) -> pd.DataFrame:
    """``night_unusual`` set to 0 where night work is a habit; ``night_colleague_nights``.

    Updates ``values`` in place (``night_unusual``; ``night_colleague_nights``, the
    colleague lab-nights counted for staff night sessions, 0 elsewhere) from the module
    doc's three habits, with the colleagues of the sessions given (one lab's in the
    per-lab engine, every lab's in a whole-case run).

    Parameters
    ----------
    values : dict of str to pandas.Series
        Session features with ``night`` and ``night_unusual`` (float64, shape (n,)).
    keys : dict of str to pandas.Series
        ``lab``, ``account``, ``role``, ``kind`` (account kind), shape (n,).
    acct : numpy.ndarray of int, shape (n,)
        ``(lab, account)`` code.
    loc : pandas.Series of datetime64 (local), shape (n,)
        Local session starts.
    ecode : numpy.ndarray of int, shape (n_events,)
        Session position of each event (``-1``: none).
    action : pandas.Series, shape (n_events,)
        Canonical action of each event.
    params : FeatureParams
        ``night`` and ``min_history``.
    colleague : numpy.ndarray of float64, shape (n,), optional
        The colleague lab-nights of each session when counted elsewhere (an account
        batch of a lab: :func:`colleague_nights` over the lab's every session, since a
        batch does not hold its colleagues); default counted over these sessions.

    Returns
    -------
    pandas.DataFrame
        :func:`night_roster` of the staff accounts' night sessions.
    """
    kind = keys["kind"].astype("object").to_numpy()
    staff, service = kind == "staff", kind == "service"
    is_night = values["night"].to_numpy() == 1
    nights = night_of(loc, params.night)
    k = params.min_history
    own = (staff | service) & (own_earlier_nights(acct, is_night, nights) >= k)
    n_sess = pd.Series(acct).groupby(acct).transform("size").to_numpy()
    usual = service & (n_sess >= k) & usual_work(acct, action_masks(ecode, action, len(acct)))
    rota_mask = staff & is_night
    if colleague is None:
        col = colleague_nights(keys["lab"], keys["account"], keys["role"], nights, rota_mask)
    else:
        col = np.asarray(colleague, dtype="float64")
    col = np.where(rota_mask, col, 0.0)
    habit = own | usual | (col >= k)
    nu = values["night_unusual"]
    values["night_unusual"] = pd.Series(np.where(habit, 0.0, nu.to_numpy()), index=nu.index)
    values["night_colleague_nights"] = pd.Series(col, index=nu.index)
    return night_roster(keys["lab"], keys["role"], nights, rota_mask)


def _other_labs(keys: pd.DataFrame, nights: np.ndarray, roster: pd.DataFrame) -> np.ndarray:
    """Per session, the roster's (lab, night) pairs of its role at other labs, its night
    left out."""
    la, ro = _names(keys["lab"], ""), _names(keys["role"], "?")
    ns = np.datetime_as_string(nights, unit="D").astype(object)
    r = roster[list(ROSTER_COLUMNS)].astype("object").drop_duplicates()
    total = r.groupby("role").size()
    at_lab = r.groupby(["role", "lab"]).size()
    same_night = r.groupby(["role", "night"]).size()
    own_pair = pd.MultiIndex.from_frame(r).get_indexer(pd.MultiIndex.from_arrays([la, ro, ns]))
    return (
        _counts(total, pd.Index(ro))
        - _counts(at_lab, pd.MultiIndex.from_arrays([ro, la]))
        - _counts(same_night, pd.MultiIndex.from_arrays([ro, ns]))
        + (own_pair >= 0).astype("float64")  # the session's own night at its lab, removed twice
    )


def add_other_labs(features: Features, roster: pd.DataFrame, params: FeatureParams) -> Features:
    """One lab's features with every other lab's colleague nights added (the second pass).

    ``night_colleague_nights`` of the lab's staff night sessions gains the distinct
    (lab, night) pairs of their role at the other labs of ``roster`` (their own night
    left out); ``night_unusual`` becomes 0 where the count reaches ``min_history``, and
    the account-day and account-month ``night_unusual`` (the maximum over their
    sessions) are taken again. Equal, bit for bit, to a whole-case
    :func:`labforensics.build_features` (a pair at another lab is never the account's).

    Parameters
    ----------
    features : Features
        One lab's features (its sessions' colleague nights counted at its lab only).
    roster : pandas.DataFrame
        Every lab's :func:`night_roster` (``Features.notes["night_roster"]``).
    params : FeatureParams

    Returns
    -------
    Features
        A copy with those columns replaced (``features`` itself when nothing changes).
    """
    s = features.session
    if not len(s) or "night_colleague_nights" not in s.values or not len(roster):
        return features
    keys, v = s.keys, s.values
    loc = pd.to_datetime(keys["start"], utc=True).dt.tz_convert(features.tz)
    rota = (keys["account_kind"].astype("object").to_numpy() == "staff") & (
        v["night"].to_numpy() == 1
    )
    if not rota.any():
        return features
    nights = night_of(loc, params.night)
    add = np.zeros(len(v))
    add[rota] = _other_labs(keys[rota], nights[rota], roster)
    v = v.copy()
    v["night_colleague_nights"] = v["night_colleague_nights"].to_numpy() + add
    habit = rota & (v["night_colleague_nights"].to_numpy() >= params.min_history)
    v["night_unusual"] = np.where(habit, 0.0, v["night_unusual"].to_numpy())
    tables = {"session": FeatureTable(s.unit, keys, v, s.key_columns)}
    naive = loc.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    for unit, period in (("account_day", "day"), ("account_month", "month")):
        t = features.tables()[unit]
        if not len(t) or "night_unusual" not in t.values:
            continue
        g = (
            pd.DataFrame(
                {
                    "lab": keys["lab"].astype("object").to_numpy(),
                    "account": keys["account"].astype("object").to_numpy(),
                    period: _period_strings(naive, period),
                    "x": v["night_unusual"].to_numpy(),
                }
            )
            .groupby(["lab", "account", period], sort=False)["x"]
            .max()
        )
        idx = pd.MultiIndex.from_frame(t.keys[["lab", "account", period]].astype("object"))
        tv = t.values.copy()
        tv["night_unusual"] = g.reindex(idx).to_numpy(dtype="float64")
        tables[unit] = FeatureTable(t.unit, t.keys, tv, t.key_columns)
    return Features(
        **{u: tables.get(u, t) for u, t in features.tables().items()},
        params=features.params,
        tz=features.tz,
        notes=features.notes,
    )
