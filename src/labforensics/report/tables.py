"""Summary tables derived from the canonical event table for the report and findings.

Every function is vectorised (one pass per lab at most) and deterministic:
rows sorted by their key columns, times as UTC instants.

Each takes the whole event table (``pandas.DataFrame``) or the case's events held lab
by lab (:class:`~labforensics.case_events.CaseEvents`, issue 17): from the latter
they read one lab at a time (the few columns they need) or the few rows they need (the
outbound events), and reduce per-lab facts (a lab's days with events, its formats' first
and last events), so no whole-case per-event table is built. Both give the same table.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..case import DEFAULT_TZ
from ..case_events import CaseEvents
from ..plausible_dates import plausible
from ..schema import OUTBOUND_ACTIONS

__all__ = [
    "DST_QUALITIES",
    "clock_quality",
    "event_period",
    "first_events",
    "lab_days",
    "leak_threshold_table",
    "log_gaps",
    "migrations",
    "monthly_coverage",
    "monthly_outbound",
    "outbound_days",
    "waterfall_steps",
]

#: Formats that are LIS dialects (a change from one to another is a migration).
LIS_FORMATS = ("lis_legacy", "lis_current")

#: Events: the whole canonical table, or the case's events held lab by lab.
Events = pd.DataFrame | CaseEvents


def _is_empty(events: Events) -> bool:
    """No event (a ``CaseEvents`` of no event, or an empty table)."""
    return len(events) == 0 if isinstance(events, CaseEvents) else events.empty


def _per_lab(events: Events, columns: list[str], fact: Callable[[pd.DataFrame], pd.DataFrame]
             ) -> list[pd.DataFrame]:  # fmt: skip
    """``fact`` of the whole table, or of each lab with events (``columns`` only, one lab
    widened at a time) in lab order."""
    if isinstance(events, pd.DataFrame):
        return [fact(events)]
    return [fact(events.lab(k, columns)) for k in events.labs if events.size(k)]


def _outbound(events: Events) -> pd.DataFrame:
    """The outbound events' ``ts``, ``lab``, ``records`` (rows in the table's order)."""
    if isinstance(events, CaseEvents):
        return events.select(lambda d: d["action"].astype(str).isin(OUTBOUND_ACTIONS),
                             columns=["ts", "lab", "records"], need=["action"])  # fmt: skip
    return events.loc[events["action"].astype(str).isin(OUTBOUND_ACTIONS), ["ts", "lab", "records"]]


def _days(events: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Distinct ``(lab, day)`` of a table: ``lab`` (``astype(str)``), ``day`` (naive local);
    the events whose date cannot be right left out (:func:`_kept`)."""
    keep = _kept(events)
    if not keep.all():
        events = events.loc[keep]
    day = events["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    d = pd.DataFrame({"lab": events["lab"].astype(str).to_numpy(), "day": day.to_numpy()})
    return d.drop_duplicates()


def event_period(events: Events) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The first and last event's ``ts`` (None, None without events), the events whose
    date cannot be right left out (:func:`plausible`; all kept when none can be); from
    a ``CaseEvents``, its labs' spans (:meth:`CaseEvents.period`, one lab read at a time)."""
    if isinstance(events, CaseEvents):
        return events.period()
    if not len(events):
        return None, None
    ts = _plausible_ts(events["ts"], events)
    return ts.min(), ts.max()


def _kept(events: pd.DataFrame) -> np.ndarray:
    """The events that may set a period: those whose date can be right (:func:`plausible`),
    and every event of a lab none of whose dates can be (as :meth:`CaseEvents.spans`)."""
    ok = plausible(events["ts"])
    if ok.all() or "lab" not in events.columns:
        return ok if ok.any() else np.ones(len(events), dtype=bool)
    lab = events["lab"].astype(object).where(events["lab"].notna(), None).to_numpy()
    any_ok = pd.Series(ok).groupby(pd.Series(lab).fillna("\x00none"), sort=False).transform("any")
    return ok | ~any_ok.to_numpy(dtype=bool)


def _plausible_ts(ts: pd.Series, events: pd.DataFrame) -> pd.Series:
    """``ts`` of the events that may set a period (:func:`_kept`)."""
    keep = _kept(events)
    return ts if keep.all() else ts[keep]


def implausible_count(events: Events) -> int:
    """Events left out of the period: their date cannot be right (:func:`plausible`);
    0 for a lab (a table) none of whose dates can be, whose period keeps them all."""
    if isinstance(events, CaseEvents):
        sp = events.spans()
        return int(sp["implausible"].sum()) if "implausible" in sp.columns else 0
    if not len(events):
        return 0
    return int(len(events) - _kept(events).sum())


def first_events(events: Events | None) -> dict[str, pd.Timestamp]:
    """lab -> its first event's ``ts`` (UTC), labs sorted; the events naming no lab and
    labs without a timed event left out; ``{}`` without ``lab`` and ``ts``."""
    if isinstance(events, CaseEvents):
        sp = events.spans()
        # the unnamed lab's key is None, or NaN once pandas infers the column's str dtype
        return {str(k): v for k, v in zip(sp["lab"], sp["evidence_start"], strict=True)
                if not pd.isna(k) and not pd.isna(v)}  # fmt: skip
    if events is None or events.empty or not {"lab", "ts"} <= set(events.columns):
        return {}
    keep = _kept(events)
    if not keep.all():
        events = events.loc[keep]
    first = events.groupby(events["lab"].astype(str), sort=True)["ts"].min()
    return {str(k): v for k, v in first.items() if not pd.isna(v)}


#: CaseEvents -> {tz: its distinct (lab, day)}: log_gaps and monthly_coverage share one pass
_LAB_DAYS: weakref.WeakKeyDictionary[CaseEvents, dict[str, pd.DataFrame]] = (
    weakref.WeakKeyDictionary()
)


def lab_days(events: Events, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """The distinct (lab, local day) with at least one event.

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events (``ts``, ``lab``). A ``CaseEvents`` is read one lab at a time
        (``ts`` and ``lab`` only); its result is kept for the next call with the same
        ``tz`` (a few rows per lab and day).
    tz : str
        Time zone of the calendar days.

    Returns
    -------
    pandas.DataFrame
        ``lab`` (``astype(str)`` of the lab: missing stays missing), ``day``
        (datetime64[ns], naive local midnight); one row per pair, in no set order.
    """
    if isinstance(events, pd.DataFrame):
        return _days(events, tz)
    memo = _LAB_DAYS.setdefault(events, {})
    if tz not in memo:
        parts = _per_lab(events, ["ts", "lab"], lambda d: _days(d, tz))
        memo[tz] = (
            pd.concat(parts, ignore_index=True).drop_duplicates().reset_index(drop=True)
            if parts
            else pd.DataFrame({"lab": pd.Series([], dtype=str),
                               "day": pd.Series([], dtype="datetime64[ns]")})
        )  # fmt: skip
    return memo[tz].copy()


def monthly_outbound(events: Events, tz: str = DEFAULT_TZ, period: str = "M") -> pd.DataFrame:
    """Records exported and extracted per lab and local calendar month (or week).

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events (``ts``, ``lab``, ``action``, ``records``).
    tz : str
        Time zone of the calendar months.
    period : {"M", "W"}
        Calendar month, or week starting on Monday (column ``month`` then holds
        the Monday).

    Returns
    -------
    pandas.DataFrame
        ``lab`` (str), ``month`` (datetime64[ns], naive local first day of month),
        ``records`` (int64, records), ``events`` (int64, outbound events); one row per
        (lab, month) with at least one outbound event, sorted.

    Notes
    -----
    A ``CaseEvents`` is counted one lab at a time (``ts``, ``lab``, ``action``,
    ``records``), the labs' rows put together: no outbound event of two labs is held.
    """
    if isinstance(events, CaseEvents):
        parts = [g for g in _per_lab(events, ["ts", "lab", "action", "records"],
                                     lambda d: _monthly(_outbound(_kept_rows(d)), tz, period))
                 if len(g)]  # fmt: skip
        if not parts:  # none, or only events naming no lab: as the table gives it
            return _monthly(_outbound(events), tz, period)
        if len(parts) == 1:
            return parts[0]
        g = (
            pd.concat(parts, ignore_index=True)
            .groupby(["lab", "month"], sort=True)
            .agg(records=("records", "sum"), events=("events", "sum"))
            .reset_index()
        )
        g["month"] = g["month"].astype("datetime64[ns]")
        return g
    return _monthly(_outbound(_kept_rows(events)), tz, period)


def _kept_rows(events: pd.DataFrame) -> pd.DataFrame:
    """``events`` without those whose date sets no period (:func:`_kept`; QA session 11)."""
    if not len(events):
        return events
    keep = _kept(events)
    return events if keep.all() else events.loc[keep]


def _monthly(out: pd.DataFrame, tz: str, period: str) -> pd.DataFrame:
    """:func:`monthly_outbound` of the outbound events ``out`` (``ts``, ``lab``, ``records``)."""
    if out.empty:
        return pd.DataFrame({"lab": pd.Series([], dtype=str),
                             "month": pd.Series([], dtype="datetime64[ns]"),
                             "records": pd.Series([], dtype="int64"),
                             "events": pd.Series([], dtype="int64")})  # fmt: skip
    month = out["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.to_period(period).dt.start_time
    g = (
        pd.DataFrame({"lab": out["lab"].astype(str).to_numpy(), "month": month.to_numpy(),
                      "records": out["records"].fillna(0).astype("int64").to_numpy()})
        .groupby(["lab", "month"], sort=True)
        .agg(records=("records", "sum"), events=("records", "size"))
        .reset_index()
    )  # fmt: skip
    g["month"] = g["month"].astype("datetime64[ns]")
    return g


def outbound_days(events: Events, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Records exported and extracted per lab and local day (for zoomed timelines).

    ``events``: a canonical table or a ``CaseEvents`` (its outbound events only are
    taken). Returns ``lab`` (str), ``day`` (datetime64[ns], naive local midnight),
    ``records`` (int64), sorted.
    """
    out = _outbound(events)
    day = out["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    return (
        pd.DataFrame({"lab": out["lab"].astype(str).to_numpy(), "day": day.to_numpy(),
                      "records": out["records"].fillna(0).astype("int64").to_numpy()})
        .groupby(["lab", "day"], sort=True)["records"].sum()
        .reset_index()
    )  # fmt: skip


#: ``ts_quality`` values of local times in a daylight-saving change's hour (schema.TS_QUALITY).
DST_QUALITIES = ("nonexistent_shifted", "ambiguous_resolved", "ambiguous_unresolved")


def _dst_rows(events: pd.DataFrame) -> pd.DataFrame:
    """Events per (``ts_quality`` among :data:`DST_QUALITIES`, lab, source file)."""
    q = events["ts_quality"].astype("object")
    hit = events.loc[q.isin(DST_QUALITIES).to_numpy(dtype=bool)]
    return pd.DataFrame({
        "ts_quality": hit["ts_quality"].astype(str).to_numpy(),
        "lab": hit["lab"].astype("object").where(hit["lab"].notna(), "").astype(str).to_numpy(),
        "source_file": hit["source_file"].astype("object").fillna("").astype(str).to_numpy(),
    }).value_counts(sort=False).rename("n").reset_index()  # fmt: skip


def _by(rows: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    """Per ``keys``: events per DST quality (every quality, 0 when none), keys sorted."""
    wide = rows.pivot_table(index=keys, columns="ts_quality", values="n", aggfunc="sum",
                            fill_value=0).reindex(columns=list(DST_QUALITIES), fill_value=0)  # fmt: skip
    wide = wide.sort_index().reset_index()
    return [{**{k: str(r[k]) for k in keys}, **{q: int(r[q]) for q in DST_QUALITIES}}
            for r in wide.to_dict("records")]  # fmt: skip


def clock_quality(events: Events) -> dict[str, Any]:
    """The events whose local time fell in a daylight-saving change's hour.

    A spring-forward hour does not exist (the time was read with the winter offset:
    ``nonexistent_shifted``, one hour off when the clock had in fact switched); a
    fall-back hour happens twice (``ambiguous_resolved`` from the file's order of lines,
    ``ambiguous_unresolved`` read as the first pass). Either may misplace an event
    against the other events of its session.

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events (``ts_quality``, ``lab``, ``source_file``); a ``CaseEvents`` is
        read one lab at a time, those three columns only. Without ``ts_quality`` nothing
        is counted.

    Returns
    -------
    dict
        ``counts``: quality -> number of events (int, every value of
        :data:`DST_QUALITIES`); ``labs``: one dict per lab concerned (``lab``, str, ``""``
        for the events naming none, and its count per quality); ``files``: the same per
        (``lab``, ``source_file``); both sorted.
    """
    cols = ["ts_quality", "lab", "source_file"]
    have = set(events.columns)
    parts = [] if not set(cols) <= have or _is_empty(events) else _per_lab(events, cols, _dst_rows)
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if rows.empty:
        return {"counts": dict.fromkeys(DST_QUALITIES, 0), "labs": [], "files": []}
    counts = rows.groupby("ts_quality", sort=False)["n"].sum()
    return {
        "counts": {q: int(counts.get(q, 0)) for q in DST_QUALITIES},
        "labs": _by(rows, ["lab"]),
        "files": _by(rows, ["lab", "source_file"]),
    }


def _format_spans(events: pd.DataFrame) -> pd.DataFrame | None:
    """First (``min``) and last (``max``) event per (lab, LIS dialect); None without any."""
    lis = events.loc[events["source_format"].astype(str).isin(LIS_FORMATS),
                     ["lab", "source_format", "ts"]]  # fmt: skip
    if lis.empty:
        return None
    return (
        lis.assign(lab=lis["lab"].astype(str), source_format=lis["source_format"].astype(str))
        .groupby(["lab", "source_format"], sort=True)["ts"]
        .agg(["min", "max"])
        .reset_index()
    )


def migrations(events: Events) -> pd.DataFrame:
    """Per lab, the instant its evidence switches from one LIS dialect to another.

    The switch is the first event of the lab's later dialect (``source_format``
    among :data:`LIS_FORMATS`), labs with one dialect only have none.

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events (``lab``, ``source_format``, ``ts``); a ``CaseEvents`` is read
        one lab at a time (those three columns), reduced to its (lab, dialect) first
        and last events.

    Returns
    -------
    pandas.DataFrame
        ``lab`` (str), ``from_format``, ``to_format`` (str), ``first_ts`` (datetime64[ns,
        UTC], first event in the new dialect), ``last_old_ts`` (last event in the old one).
    """
    cols = ["lab", "from_format", "to_format", "first_ts", "last_old_ts"]
    parts = [x for x in _per_lab(events, ["lab", "source_format", "ts"], _format_spans)
             if x is not None]  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=cols)
    span = parts[0]
    if len(parts) > 1:  # labs' spans: one row per (lab, dialect) again, sorted
        span = (
            pd.concat(parts, ignore_index=True)
            .groupby(["lab", "source_format"], sort=True)
            .agg(min=("min", "min"), max=("max", "max"))
            .reset_index()
        )
    span = span.sort_values(["lab", "min"], kind="stable")
    rows = []
    for lab, g in span.groupby("lab", sort=True):
        if len(g) < 2:
            continue
        first, second = g.iloc[0], g.iloc[1]
        rows.append({"lab": lab, "from_format": first["source_format"],
                     "to_format": second["source_format"], "first_ts": second["min"],
                     "last_old_ts": first["max"]})  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def log_gaps(
    events: Events,
    tz: str = DEFAULT_TZ,
    min_days: int = 1,
    skip_lone_sundays: bool = True,
) -> pd.DataFrame:
    """Runs of local calendar days with no event at all, per lab, inside its period.

    A lab's period runs from its first to its last day with an event; a gap is a
    run of at least ``min_days`` consecutive days without any event in between.
    A lone Sunday without events (a lab closed on Sundays) is left out when
    ``skip_lone_sundays``; every other gap, holidays included, is listed and a
    reader judges.

    ``events``: a canonical table (``ts``, ``lab``) or a ``CaseEvents``, reduced to its
    distinct (lab, local day) one lab at a time (:func:`lab_days`).

    Returns
    -------
    pandas.DataFrame
        ``lab`` (str), ``first_day``, ``last_day`` (str, ISO dates, local), ``days``
        (int64, length of the gap in days), sorted by lab then first day.
    """
    cols = ["lab", "first_day", "last_day", "days"]
    if _is_empty(events):
        return pd.DataFrame(columns=cols)
    d = lab_days(events, tz).sort_values(["lab", "day"], kind="stable")
    step = d.groupby("lab", sort=False)["day"].diff().dt.days
    gap = step > 1
    g = d.loc[gap.to_numpy()].copy()
    g["days"] = (step[gap] - 1).astype("int64").to_numpy()
    g = g[g["days"] >= min_days]
    last = g["day"] - pd.Timedelta(days=1)
    if skip_lone_sundays:
        keep = ~((g["days"] == 1) & (last.dt.day_of_week == 6))
        g, last = g[keep], last[keep]
    first = g["day"] - pd.to_timedelta(g["days"], unit="D")
    res = pd.DataFrame({"lab": g["lab"].to_numpy(), "first_day": first.dt.strftime("%Y-%m-%d"),
                        "last_day": last.dt.strftime("%Y-%m-%d"),
                        "days": g["days"].to_numpy(dtype="int64")})  # fmt: skip
    return res.reset_index(drop=True)


def monthly_coverage(events: Events, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Days with at least one event per lab and local month, and days in that month.

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events (``ts``, ``lab``); a ``CaseEvents`` is reduced to its distinct
        (lab, local day) one lab at a time (:func:`lab_days`).
    tz : str
        Time zone of the calendar days.

    Returns
    -------
    pandas.DataFrame
        ``lab``, ``month`` (datetime64[ns], first day), ``days_with_events`` (int64),
        ``days`` (int64, days of the month inside the whole evidence period: the first
        to the last day with an event of any lab).
    """
    if _is_empty(events):
        return pd.DataFrame(columns=["lab", "month", "days_with_events", "days"])
    d = lab_days(events, tz)
    d["month"] = d["day"].dt.to_period("M").dt.to_timestamp()
    got = d.groupby(["lab", "month"], sort=True).size().rename("days_with_events").reset_index()
    all_days = pd.date_range(d["day"].min(), d["day"].max(), freq="D")
    per_month = pd.Series(1, index=all_days).groupby(all_days.to_period("M").to_timestamp()).sum()
    got["days"] = got["month"].map(per_month).astype("int64")
    got["days_with_events"] = got["days_with_events"].astype("int64")
    got["month"] = got["month"].astype("datetime64[ns]")
    return got


# --- leak linkage (findings["leak_linkage"], issue 13) ---------------------------------

#: Comparison names that mark the prior (Splink's starting bar) in an example's levels.
PRIOR_NAMES = ("prior", "probability_two_random_records_match")


def _float(value: object) -> float | None:
    """``value`` as a finite float, or None (missing, NaN, not a number)."""
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def leak_threshold_table(fmr_by_threshold: Iterable[Mapping[str, Any]] | None,
                         threshold: float | None) -> pd.DataFrame:  # fmt: skip
    """Rows linked and estimated precision per match-probability threshold.

    Parameters
    ----------
    fmr_by_threshold : iterable of dict
        ``findings["leak_linkage"]["fmr_by_threshold"]``: ``threshold`` (match
        probability), ``links`` (rows linked at it), ``decoy_links`` (rows linked
        to the decoy index at it), ``fmr`` (decoy-estimated false-match rate).
    threshold : float or None
        The threshold the linkage used (marked ``used``).

    Returns
    -------
    pandas.DataFrame
        ``threshold`` (float64), ``links`` (Int64, rows), ``decoy_links`` (Int64,
        rows), ``fmr`` (float64), ``precision`` (float64, ``1 - fmr``, the estimated
        share of linked rows that are right), ``used`` (bool, the threshold used,
        compared with an absolute tolerance of 1e-9); sorted by threshold.
    """
    rows = [r for r in (fmr_by_threshold or []) if isinstance(r, Mapping)]
    df = pd.DataFrame({
        "threshold": pd.Series([_float(r.get("threshold")) for r in rows], dtype="float64"),
        "links": pd.Series([r.get("links") for r in rows], dtype="Int64"),
        "decoy_links": pd.Series([r.get("decoy_links") for r in rows], dtype="Int64"),
        "fmr": pd.Series([_float(r.get("fmr")) for r in rows], dtype="float64"),
    })  # fmt: skip
    df = df.dropna(subset=["threshold"]).sort_values("threshold", kind="stable")
    df["precision"] = 1.0 - df["fmr"]
    used = _float(threshold)
    df["used"] = (
        np.isclose(df["threshold"], used, rtol=0.0, atol=1e-9) if used is not None else False
    )
    return df.reset_index(drop=True)


def _logit2(p: float | None) -> float | None:
    """log2(p / (1 - p)), None when p is missing or not strictly between 0 and 1."""
    if p is None or not 0.0 < p < 1.0:
        return None
    return float(np.log2(p / (1.0 - p)))


def waterfall_steps(example: Mapping[str, Any]) -> pd.DataFrame:
    """The bars of one pair's match-weight waterfall, in drawing order.

    The match weight of a (dump row, patient) pair is the log2 of the prior odds
    plus the log2 Bayes factor of each comparison's level (Fellegi-Sunter, as
    Splink computes it); the bars run from the prior through each comparison to
    the final weight, whose probability is ``2**w / (1 + 2**w)``.

    The prior is the level whose ``comparison`` is one of :data:`PRIOR_NAMES`
    (Splink's starting bar). When no level is, it is derived as the final weight
    minus the levels' sum, the final weight being the example's ``match_weight``
    or else ``log2(p / (1 - p))`` of its ``probability``; when neither is known
    (a probability rounded to 0 or 1) there is no prior bar.

    Parameters
    ----------
    example : dict
        One entry of ``findings["leak_linkage"]["examples"]``: ``probability``,
        optional ``match_weight``, and ``levels`` (``comparison``, ``level``,
        ``log2_bayes_factor``).

    Returns
    -------
    pandas.DataFrame
        ``label`` (str), ``kind`` (str: ``prior``, ``comparison`` or ``final``),
        ``log2_bayes_factor`` (float64, bits; for ``final`` the match weight),
        ``start``, ``end`` (float64, bits: the running sum before and after the
        bar; ``final`` runs from 0). The non-final bars sum to the final weight.
    """
    levels = [lv for lv in (example.get("levels") or []) if isinstance(lv, Mapping)]
    prior: float | None = None
    prior_label = "prior (odds that two records match)"
    comps: list[tuple[str, float]] = []
    for lv in levels:
        name = str(lv.get("comparison") or "")
        bf = _float(lv.get("log2_bayes_factor"))
        if name.lower() in PRIOR_NAMES:
            prior = (prior or 0.0) + (bf or 0.0)
            continue
        level = str(lv.get("level") or "")
        label = name.replace("_", " ") + (f": {level}" if level else "")
        comps.append((label, 0.0 if bf is None else bf))
    total_levels = float(sum(v for _, v in comps))
    if prior is None:
        final = _float(example.get("match_weight"))
        if final is None:
            final = _logit2(_float(example.get("probability")))
        if final is not None:
            prior = final - total_levels
            prior_label = "prior (derived from the final weight)"
    steps: list[tuple[str, str, float]] = []
    if prior is not None:
        steps.append((prior_label, "prior", prior))
    steps += [(label, "comparison", v) for label, v in comps]
    contrib = np.array([v for _, _, v in steps], dtype="float64")
    end = np.cumsum(contrib)
    start = end - contrib
    final_w = float(end[-1]) if len(end) else 0.0
    return pd.DataFrame({
        "label": [s[0] for s in steps] + ["final match weight"],
        "kind": [s[1] for s in steps] + ["final"],
        "log2_bayes_factor": np.append(contrib, final_w),
        "start": np.append(start, 0.0),
        "end": np.append(end, final_w),
    })  # fmt: skip
