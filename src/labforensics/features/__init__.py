"""Features for anomaly scoring: one table per scored unit, with documented units.

:func:`build_features` turns the canonical event table and the session table
(:mod:`labforensics.schema`) into three :class:`FeatureTable` objects:

* ``session``: one row per session (key ``session_id``);
* ``account_day``: one row per (``lab``, ``account``, ``day``), ``day`` being the
  lab's local calendar day (the case's time zone, ``CaseContext.tz``) of the session start;
* ``account_month``: one row per (``lab``, ``account``, ``month``).

Each table keeps its identifiers and times in ``keys`` (never features) apart
from the numeric features in ``values`` (all ``float64``). Every feature has a
:class:`FeatureSpec`: unit, minimum scale (so that a one-second difference in a
duration is not an anomaly), direction (``"high"``: only large values are
suspicious; ``"both"``) and neutral value (what a missing value means).

Feature families
----------------
volume
    ``records_exported``, ``records_extracted``, ``records_out`` (their sum),
    ``bytes_out``, ``distinct_patients``, ``share_lab_patients`` (distinct patients
    touched, never records, over the distinct patients seen at that lab up to the
    end of the unit, floored at ``min_lab_patients``; at most 1),
    ``records_out_share_lab`` (records sent out over the same denominator, capped at
    1; uncapped in ``records_out_share_lab_raw``), ``lab_patients`` (that
    denominator, unfloored),
    ``max_query_records`` and ``median_query_records`` (result-set sizes of query
    events), ``n_events``, ``duration_s``.
rate
    ``events_per_min`` and ``records_per_hour`` (durations floored at 60 s).
time
    ``hour_sin``/``hour_cos`` (local start hour on the unit circle), ``night``
    (start in ``FeatureParams.night``), ``weekend``, ``holiday`` (French public
    holiday, :mod:`holidays`), ``night_unusual`` (night times the share of the
    account's sessions that are *not* at night: a night job is not unusual; 0 where
    night work is a habit of the account, of its colleagues of the same role (an
    on-call rota) or, for a service account, its usual work:
    :mod:`labforensics.features.night`), ``night_colleague_nights`` (the distinct
    lab-nights other staff accounts of the role worked at night).
context
    ``kind_*`` (account kind one-hot), ``role_*`` (role one-hot), ``module_*``
    (share of the session's events in each module), ``net_lab``, ``net_vendor``,
    ``net_other`` (share of the session's events from each network class of
    :class:`~labforensics.networks.NetworkMap`; ``local`` (the server's own jobs)
    and ``unknown`` addresses count in none, so without configured networks the
    three are 0: no network signal).
first seen
    ``new_src_ip``, ``new_host``, ``new_module``, ``new_action``: the unit holds
    the first appearance of that value in the account's history, once the lab's
    evidence is older than the warm-up (``FeatureParams.warmup``): an account
    present from the start teaches its habits during the warm-up, an account that
    appears later (a new vendor account) shows every first use.
authentication
    ``failed_logins_before``, ``failed_login_src_ips``, ``concurrent_sessions``.
explanation (:mod:`labforensics.features.explained`)
    ``accessed_patients``, ``unexplained_patients``, ``unexplained_share``,
    ``unexplained_p``, ``explain_usable``, ``explain_window_days``: patients read
    with no request, sample or result at the lab within the window around the
    access, not handled by the account and not accessed by a staff colleague of
    the lab within the window (Fabbri & LeFevre's explanation-based auditing;
    the collaborative explanation of Chen, Nyemba & Malin), per session and per account-day/month (the event's own local
    period); the windows used are in ``Features.notes``. Per session and
    account-day, ``accessed_patients_pooled``, ``unexplained_patients_pooled``
    and ``unexplained_p_pooled``: the account's reads at the lab pooled over the
    days within ``FeatureParams.explain_pool`` (7) either side of the unit's local
    day (:func:`labforensics.features.explained.pooled_counts`);
    ``unexplained_p_family`` (``unexplained_p`` with Bonferroni's adjustment for
    the units of the table tested) and ``unexplained_share_touched`` (unexplained
    patients over every patient the unit touched, read or worked on); per session,
    ``lab_explain_usable`` (the session's lab has an explanation signal, whatever the
    session's own events).
habits (:mod:`labforensics.features.habits`)
    ``first_outbound`` (the account's first session with records out, after the
    warm-up), ``n_outbound_account`` (its sessions with records out over the
    evidence), ``regular_job`` (a session of an account learned to be a scheduled
    job from its regularity, whatever its action codes); by size
    (:mod:`labforensics.features.bulk`): ``after_warmup``, ``first_bulk_outbound``,
    ``bulk_above_warmup``, ``n_bulk_outbound_account``, ``records_out_before_max``,
    ``first_whole_base_outbound``, ``n_whole_base_outbound_account``.
baselines
    For each metric ``m`` of :data:`BASELINE_METRICS` (per unit):
    ``m_z_own`` (against the account's own units of the same activity),
    ``m_z_peer_lab`` (same role at the same lab), ``m_z_peer_role`` (same role at
    every lab, computed from per-lab summaries: see
    :func:`labforensics.features.baselines._add_baselines`), each a robust z-score ``(x - median) / max(1.4826 * MAD,
    upper spread, min_scale)`` (:func:`robust_z` with ``tail_scale``; the upper
    spread keeps a bursty but habitual account from looking extreme) computed
    when the group has at least ``min_history`` units;
    ``m_z`` takes the first available of own, peer-lab, peer-role (an account
    with a regular history of its own is judged against it: that is what keeps
    the monthly billing export or a nightly job low) and ``m_ref`` is the median
    it was measured against. Activity is ``outbound`` (records sent out) or not,
    so an export is compared with exports; where no group of that activity has
    ``min_history`` units, ``m_z_own_all`` (the account's units of every activity:
    a first export against the account's zero-export days) is the last fallback. Baselines use the whole evidence
    period (a retrospective investigation): a one-off stands out against the
    median of the account's other units whether it came first or last.

Units: records (rows of patient data), bytes, patients, events, seconds,
shares (0-1, never above 1; ``records_out_share_lab_raw`` is a ratio, records per
known patient), flags (0/1), robust z (dimensionless), probability
(``unexplained_p``), days (``explain_window_days``). Minimum scales are in
:data:`FEATURE_SPECS` (and :func:`feature_spec` for derived names).

Examples
--------
>>> from labforensics import sessionize, build_features, score  # doctest: +SKIP
>>> ss = sessionize(events)  # doctest: +SKIP
>>> ft = build_features(ss.events, ss.sessions)  # doctest: +SKIP
>>> ft.session.values.columns[:3].tolist()  # doctest: +SKIP
['records_exported', 'records_extracted', 'records_out']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import holidays
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..case import CaseContext
from ..networks import NetworkMap
from ..schema import ACCOUNT_KINDS, STRING, check_table
from .authorisation import add_authorisation_features
from .baselines import MAD_TO_SD as MAD_TO_SD
from .baselines import _add_baselines, _codes, robust_z
from .bulk import bulk_outbound
from .explained import (
    EXPLAINED_SHARE_EHR,
    Explanation,
    explain_accesses,
    lab_signal,
    pooled_counts,
    session_windows,
    unit_counts,
)
from .habits import first_outbound, lab_first_instant, regular_job
from .night import is_night, night_habits
from .params import FeatureParams
from .rollup import _aggregate, _lab_patients_to_date, _lab_shares
from .specs import (
    BASELINE_METRICS,
    FEATURE_SPECS,
    KNOWN_MODULES,
    KNOWN_ROLES,
    FeatureSpec,
    feature_spec,
)
from .tables import Features, FeatureTable

if TYPE_CHECKING:
    from .context import BatchContext

__all__ = [
    "BASELINE_METRICS",
    "FEATURE_SPECS",
    "FeatureParams",
    "FeatureSpec",
    "FeatureTable",
    "Features",
    "build_features",
    "family_tested",
    "set_family_size",
    "feature_spec",
    "robust_z",
]


def _local(ts: pd.Series, tz: str) -> pd.Series:
    return ts.dt.tz_convert(tz)


def _map_events_to_sessions(events: pd.DataFrame, sessions: pd.DataFrame) -> pd.Series:
    """Session id of each event: ``events.session_id`` when present, else by time.

    The fallback matches an event to the latest session of the same (lab,
    account) that started at or before it and has not ended (``merge_asof``).
    """
    if "session_id" in events.columns:
        return events["session_id"].astype(STRING)
    ev = pd.DataFrame(
        {
            "ts": events["ts"].to_numpy(),
            "lab": events["lab"].astype("object").to_numpy(),
            "account": events["account"].astype("object").to_numpy(),
            "_i": np.arange(len(events)),
        }
    ).sort_values("ts", kind="stable")
    ss = pd.DataFrame(
        {
            "ts": sessions["start"].to_numpy(),
            "end": sessions["end"].to_numpy(),
            "lab": sessions["lab"].astype("object").to_numpy(),
            "account": sessions["account"].astype("object").to_numpy(),
            "session_id": sessions["session_id"].astype("object").to_numpy(),
        }
    ).sort_values("ts", kind="stable")
    m = pd.merge_asof(ev, ss, on="ts", by=["lab", "account"], direction="backward")
    m.loc[m["ts"] > m["end"], "session_id"] = None
    sid = pd.Series(m["session_id"].to_numpy(), index=m["_i"].to_numpy()).sort_index()
    return pd.Series(sid.to_numpy(), index=events.index, dtype=STRING)


#: Session columns :func:`build_features` reads (``duration_s``, ``distinct_patients``
#: and ``modules`` are optional: derived from ``start``/``end``, from the events, or
#: not used when absent).
SESSION_NEED: dict[str, str | None] = {
    "session_id": None,
    "lab": None,
    "account": None,
    "account_kind": None,
    "role": None,
    "start": "datetime",
    "end": "datetime",
    "n_events": "numeric",
    "records_exported": "numeric",
    "records_extracted": "numeric",
    "bytes_out": "numeric",
    "failed_logins_before": "numeric",
    "failed_login_src_ips": "numeric",
    "concurrent_sessions": "numeric",
}
#: Event columns :func:`build_features` reads (``session_id`` is optional).
EVENT_NEED: dict[str, str | None] = {
    "ts": "datetime",
    "lab": None,
    "account": None,
    "action": None,
    "module": None,
    "host": None,
    "src_ip": None,
    "patient": None,
    "records": "numeric",
}


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    """A numeric session column as float64 (a missing cell counts 0: none counted)."""
    return pd.to_numeric(df[name], errors="coerce").astype("float64").fillna(0.0)


def _onehot(values: pd.Series, prefix: str, known: Sequence[str]) -> pd.DataFrame:
    s = values.astype(STRING).str.upper()
    cols = {f"{prefix}_{k.lower()}": (s == k).fillna(False).astype("float64") for k in known}
    cols[f"{prefix}_other"] = (~s.isin(list(known))).fillna(True).astype("float64")
    return pd.DataFrame(cols, index=values.index)


def build_features(
    events: pd.DataFrame,
    sessions: pd.DataFrame,
    params: FeatureParams | None = None,
    *,
    case: CaseContext | None = None,
    exports: pd.DataFrame | None = None,
) -> Features:
    """Build the session, account-day and account-month feature tables.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical event table (:data:`labforensics.schema.EVENT_DTYPES`; at least the
        columns of :data:`EVENT_NEED`), optionally with a ``session_id`` column
        (string) as added by ``sessionize``; without it
        events are matched to sessions by (lab, account) and time.
    sessions : pandas.DataFrame
        Session table (:data:`labforensics.schema.SESSION_DTYPES`) with at least
        the columns of :data:`SESSION_NEED`. Optional: ``duration_s`` (else
        ``end - start``), ``distinct_patients`` (else counted from the events'
        ``patient``), ``modules`` (a list column; its first item names the main
        module of a session without events). Nothing is zero-filled.
    params : FeatureParams, optional
        Night hours, baseline sizes; ``FeatureParams()`` when omitted.
    case : CaseContext, optional
        The case's facts: ``tz`` (local days, months, hours) and ``networks``
        (``net_*`` shares); ``CaseContext()`` when omitted (the default zone, no
        networks: every non-local address ``unknown``, every ``net_*`` 0).
    exports : pandas.DataFrame, optional
        :func:`labforensics.authorisation.assess_exports`'s table: adds ``ops_*``,
        ``records_beyond`` and ``records_not_authorised`` (see
        :mod:`labforensics.features.authorisation`); without it every record sent out
        counts as not authorised (status ``unknown``).

    Returns
    -------
    Features
        ``.session``, ``.account_day``, ``.account_month`` :class:`FeatureTable`
        objects; every value column ``float64`` and never missing except
        baseline z-scores (``NaN`` = no baseline; the scorer fills the neutral 0).

    Raises
    ------
    labforensics.errors.MissingColumnsError
        (a ``SchemaError``) when ``events`` lacks a column of :data:`EVENT_NEED` or
        ``sessions`` one of :data:`SESSION_NEED` (all missing columns named), or
        ``start``/``end``/``ts`` is not a datetime or a count column not numeric.
    """
    check_table(events, EVENT_NEED, "build_features: events")
    check_table(sessions, SESSION_NEED, "build_features: sessions")
    params = params or FeatureParams()
    case = case or CaseContext()
    session, day, month, loc, ex, roster = _unit_tables(events, sessions, params, case, None)
    return _finish(session, day, month, loc, ex, roster, params, case, exports)


def _unit_tables(
    events: pd.DataFrame,
    sessions: pd.DataFrame,
    params: FeatureParams,
    case: CaseContext,
    ctx: BatchContext | None,
) -> tuple[FeatureTable, FeatureTable, FeatureTable, pd.Series, Explanation, pd.DataFrame]:
    """The session, account-day and account-month tables of :func:`build_features`,
    before the explanation pooling, the Bonferroni family and the authorisation columns.

    ``ctx`` None: every lab-wide figure from ``events`` and ``sessions`` themselves, and
    the baselines added (the whole computation). With a
    :class:`~labforensics.features.context.BatchContext` (one account batch of a lab,
    :mod:`labforensics.engine.batches`): the lab-wide figures come from it, and no
    baseline is added (the caller adds them on the lab's concatenated tables). Returns
    the tables, the local session starts, the explanation (this table's events) and the
    night roster (empty with ``ctx``).
    """
    ss = sessions.reset_index(drop=True)
    start = pd.to_datetime(ss["start"], utc=True)
    end = pd.to_datetime(ss["end"], utc=True)
    lab = ss["lab"].astype(STRING)
    account = ss["account"].astype(STRING)
    role = ss["role"].astype(STRING)
    kind = ss["account_kind"].astype("object").fillna("unknown")
    v = _volume(ss, start, end)
    ev = _session_events(events, ss)
    per = _PerSession(ev, ss)
    pat_ev = ev if ctx is None else ctx.patients_first
    _queries_and_patients(v, ev, ss, per, lab, end, params, pat_ev)
    loc = _local(start, case.tz)
    if ctx is None:
        ex = _explain(ev, per, ss, events, params)
    else:
        ex = ctx.explanation_of(ev, events, _event_role_kind(ev, per, ss, events)[0])
    pat_code = pd.factorize(ev["patient"])[0] if len(ev) else np.zeros(0, np.int64)
    v.update(unit_counts(per.ecode, len(ss), pat_code, ex))
    v["explain_window_days"] = session_windows(ex, lab, role)
    v["lab_explain_usable"] = lab_signal(ex.labs, lab.astype(object))[0].astype("float64")
    v.update(_outbound_habits(v, ev, per, ss, lab, account, start, loc, params, ctx))
    v.update(_time_features(loc, lab, account, params))
    roster = night_habits(v, {"lab": lab, "account": account, "role": role, "kind": kind},
                          _codes([lab, account]), loc, per.ecode, ev["action"], params,
                          None if ctx is None else ctx.colleague_nights)  # fmt: skip
    v.update(_network_shares(ev, per, case.networks))
    mod_code, mod_uniq = pd.factorize(ev["module"])
    onehots = [
        pd.DataFrame(
            {f"kind_{k}": (kind == k).astype("float64") for k in ACCOUNT_KINDS}, index=ss.index
        ),
        _onehot(role, "role", KNOWN_ROLES),
        _module_shares(per, mod_code, mod_uniq, len(ev), ss.index),
    ]
    v.update(_first_use(ev, per, params, None if ctx is None else ctx.first_event_ns))
    main_module = _main_module(per.ecode, mod_code, mod_uniq, ss)
    for c in ("failed_logins_before", "failed_login_src_ips", "concurrent_sessions"):
        v[c] = _col(ss, c)

    values = pd.DataFrame(v, index=ss.index)
    values = pd.concat([values, *onehots], axis=1)
    keys = pd.DataFrame(
        {"session_id": ss["session_id"].astype(STRING), "lab": lab, "account": account},
        index=ss.index,
    ).assign(
        account_kind=kind.astype(STRING), role=role, main_module=main_module, start=start, end=end
    )
    if ctx is None:
        _add_baselines(values, keys, "session", params)
    session = FeatureTable("session", keys, values.astype("float64"), ("session_id",))

    day, month = _rollups(loc, keys, values, ev, params, case.tz, ex, ctx)
    return session, day, month, loc, ex, roster


def _finish(
    session: FeatureTable,
    day: FeatureTable,
    month: FeatureTable,
    loc: pd.Series,
    ex: Explanation,
    roster: pd.DataFrame,
    params: FeatureParams,
    case: CaseContext,
    exports: pd.DataFrame | None,
) -> Features:
    """The last steps of :func:`build_features` on complete tables (in place): pooled
    explanation counts, the Bonferroni family, the authorisation columns; the notes."""
    _add_pooled(session, day, loc, ex, params)
    for t in (session, day):
        _add_family_tests(t)
    add_authorisation_features(session, day, month, exports, case.tz)
    notes = {"explain_window": ex.windows, "explain_labs": ex.labs, "night_roster": roster}
    return Features(session, day, month, params, case.tz, notes)


def _add_pooled(
    session: FeatureTable,
    day: FeatureTable,
    loc: pd.Series,
    ex: Explanation,
    params: FeatureParams,
) -> None:
    """``*_pooled`` explanation counts on the account-days and, through the local
    day of their start, on the sessions (in place)."""
    dk = day.keys
    rate = pd.Series(ex.labs["unexplained_rate"].to_numpy(), index=ex.labs["lab"].to_numpy())
    r = dk["lab"].astype("object").map(rate).fillna(1.0 - EXPLAINED_SHARE_EHR)
    pooled = pooled_counts(
        dk["lab"].astype("object").to_numpy(),
        dk["account"].astype("object").to_numpy(),
        dk["day"].astype("object").to_numpy().astype("datetime64[D]"),
        day.values["accessed_patients"].to_numpy(),
        day.values["unexplained_patients"].to_numpy(),
        r.to_numpy(dtype="float64"),
        int(params.explain_pool // pd.Timedelta("1D")),
    )
    k = pd.MultiIndex.from_frame(dk[["lab", "account", "day"]].astype("object"))
    sk = session.keys
    sday = loc.dt.strftime("%Y-%m-%d").astype("object").to_numpy()
    where = k.get_indexer(
        pd.MultiIndex.from_arrays(
            [sk["lab"].astype("object").to_numpy(), sk["account"].astype("object").to_numpy(),
             sday]
        )
    )  # fmt: skip
    for c, x in pooled.items():
        day.values[c] = x
        neutral = 1.0 if c == "unexplained_p_pooled" else 0.0
        session.values[c] = np.where(where >= 0, x[np.maximum(where, 0)], neutral)


def family_tested(table: FeatureTable) -> int:
    """The units of ``table`` that read patients at a lab with an explanation signal: the
    family of tests :func:`set_family_size` adjusts for (per lab, summed by the per-lab
    engine so the family is the whole evidence's, as in one whole-case run)."""
    v = table.values
    if not len(v) or "accessed_patients" not in v:
        return 0
    tested = (v["accessed_patients"].to_numpy() > 0) & (v["explain_usable"].to_numpy() == 1)
    return int(tested.sum())


def set_family_size(table: FeatureTable, m: int) -> None:
    """``unexplained_p_family`` = ``unexplained_p`` times ``m`` (at least 1), capped at 1
    (in place): Bonferroni's family-wise adjustment over ``m`` tests."""
    v = table.values
    if "unexplained_p" not in v:
        return
    v["unexplained_p_family"] = np.minimum(
        v["unexplained_p"].to_numpy(dtype="float64") * max(int(m), 1), 1.0
    )


def _add_family_tests(table: FeatureTable) -> None:
    """``unexplained_p_family`` and ``unexplained_share_touched`` (in place).

    ``unexplained_p_family`` is ``unexplained_p`` times the number of units of the
    table that read patients at a lab with an explanation signal (the family of
    tests made, :func:`family_tested`), capped at 1: Bonferroni's family-wise
    adjustment, so a unit below 0.05 is significant even after every sitting of the
    evidence was tested (the per-lab engine re-applies it with the family of every
    lab: :func:`set_family_size`). ``unexplained_share_touched`` is the unit's
    unexplained patients over every patient it touched (read or worked on:
    ``distinct_patients``), 0 when none.
    """
    v = table.values
    une = v["unexplained_patients"].to_numpy(dtype="float64")
    set_family_size(table, family_tested(table))
    den = np.maximum(v["distinct_patients"].to_numpy(dtype="float64"), v["accessed_patients"])
    v["unexplained_share_touched"] = np.divide(une, den, out=np.zeros(len(v)), where=den > 0)


def _explain(
    ev: pd.DataFrame,
    per: _PerSession,
    ss: pd.DataFrame,
    events: pd.DataFrame,
    params: FeatureParams,
) -> Explanation:
    """Explanation of each patient access (role and kind from the event's session,
    else from the event's own columns when present)."""
    role, kind = _event_role_kind(ev, per, ss, events)
    # each lab's first and last logged events (of all its events, not only its
    # sessions'): an access whose window lies outside them on both sides is undetermined
    g = events.groupby(events["lab"].astype(object), sort=False)["ts"] if len(events) else None
    span = dict(zip(g.min().index, zip(g.min(), g.max(), strict=True), strict=True)) if g else {}
    return explain_accesses(ev, role, kind.fillna("unknown"), params.explain_window,
                            params.explain_window_max, evidence_span=span)  # fmt: skip


def _event_role_kind(
    ev: pd.DataFrame, per: _PerSession, ss: pd.DataFrame, events: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """Role and account kind of each event of ``ev`` (object, shape (n_events,)): its
    session's, else the event's own columns when present (missing otherwise)."""
    sel = per.ecode >= 0
    ecode = np.where(sel, per.ecode, 0)
    role = pd.Series(pd.NA, index=ev.index, dtype="object")
    kind = pd.Series(pd.NA, index=ev.index, dtype="object")
    if len(ss) and len(ev):
        role = role.where(~sel, ss["role"].astype("object").to_numpy()[ecode])
        kind = kind.where(~sel, ss["account_kind"].astype("object").to_numpy()[ecode])
    if "role" in events.columns and len(ev):  # events outside sessions: their own columns
        role = role.fillna(pd.Series(events["role"].astype("object").to_numpy()[ev["_row"]]))
    if "account_kind" in events.columns and len(ev):
        kind = kind.fillna(
            pd.Series(events["account_kind"].astype("object").to_numpy()[ev["_row"]])
        )
    return role, kind


def _outbound_habits(
    v: dict[str, pd.Series],
    ev: pd.DataFrame,
    per: _PerSession,
    ss: pd.DataFrame,
    lab: pd.Series,
    account: pd.Series,
    start: pd.Series,
    loc: pd.Series,
    params: FeatureParams,
    ctx: BatchContext | None = None,
) -> dict[str, pd.Series]:
    """``first_outbound``, ``n_outbound_account``, ``regular_job`` and the bulk exports
    of :mod:`labforensics.features.bulk` per session (the lab's first instant and
    evidence span from ``ctx`` when given)."""
    acct = _codes([lab, account])
    t0 = lab_first_instant(ev if ctx is None else ctx.first_event, lab, start)
    first, n_out = first_outbound(acct, start, v["records_out"], t0, params.warmup.value)
    reg = regular_job(lab, acct, loc, per.ecode, ev["action"],
                      None if ctx is None else ctx.lab_span)  # fmt: skip
    den = np.maximum(v["lab_patients"].to_numpy(dtype="float64"), params.min_lab_patients)
    bulk = bulk_outbound(acct, start, v["records_out"], den, t0, params.warmup.value)
    return {
        "first_outbound": pd.Series(first, index=ss.index),
        "n_outbound_account": pd.Series(n_out, index=ss.index),
        "regular_job": pd.Series(reg, index=ss.index),
        **{c: pd.Series(x, index=ss.index) for c, x in bulk.items()},
    }


def _rollups(
    loc: pd.Series,
    keys: pd.DataFrame,
    values: pd.DataFrame,
    ev: pd.DataFrame,
    params: FeatureParams,
    tz: str,
    ex: Explanation,
    ctx: BatchContext | None = None,
) -> tuple[FeatureTable, FeatureTable]:
    """Account-day and account-month aggregates of the session features (with ``ctx``:
    the lab's patients from it, no baseline added)."""
    pat_ev = ev if ctx is None else ctx.patients_first
    naive = loc.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    ev_naive = (
        _local(ev["ts"], tz).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        if len(ev)
        else np.zeros(0, dtype="datetime64[ns]")
    )
    account_day = _aggregate("account_day", "day", naive, keys, values, ev, ev_naive, params, ex,
                             pat_ev, ctx is None)  # fmt: skip
    account_month = _aggregate(
        "account_month",
        "month",
        naive,
        keys,
        values,
        ev,
        ev_naive,
        params,
        ex,
        pat_ev,
        ctx is None,
    )
    return account_day, account_month


def _volume(ss: pd.DataFrame, start: pd.Series, end: pd.Series) -> dict[str, pd.Series]:
    """Volume and rate features from the session table (records, bytes, seconds)."""
    v: dict[str, pd.Series] = {}
    v["records_exported"] = _col(ss, "records_exported")
    v["records_extracted"] = _col(ss, "records_extracted")
    v["records_out"] = v["records_exported"] + v["records_extracted"]
    v["bytes_out"] = _col(ss, "bytes_out")
    if "distinct_patients" in ss:  # optional: else counted from the events
        v["distinct_patients"] = _col(ss, "distinct_patients")
    v["n_events"] = _col(ss, "n_events")
    if "duration_s" in ss:
        dur = _col(ss, "duration_s")
    else:  # optional: the same figure from start and end
        dur = (end - start).dt.total_seconds().astype("float64")
    v["duration_s"] = dur
    dur_floor = np.maximum(dur, 60.0)
    v["events_per_min"] = v["n_events"] / dur_floor * 60.0
    v["records_per_hour"] = v["records_out"] / dur_floor * 3600.0
    return v


def _session_events(events: pd.DataFrame, ss: pd.DataFrame) -> pd.DataFrame:
    """The events' columns used here, with their session id, sorted by time."""
    ev = events
    sid = _map_events_to_sessions(ev, ss) if len(ev) else pd.Series([], dtype=STRING)
    ev = pd.DataFrame(
        {
            "ts": ev["ts"],
            "lab": ev["lab"].astype(STRING),
            "account": ev["account"].astype(STRING),
            "action": ev["action"].astype("object"),
            "module": ev["module"].astype(STRING).str.upper(),
            "host": ev["host"].astype(STRING),
            "src_ip": ev["src_ip"].astype(STRING),
            "patient": ev["patient"],
            "records": pd.to_numeric(ev["records"], errors="coerce").astype("float64"),
            "session_id": sid.to_numpy(),
            "_row": np.arange(len(ev)),  # position in the caller's table
        }
    )
    return ev.sort_values("ts", kind="stable").reset_index(drop=True)


class _PerSession:
    """Aggregates per-event float arrays over each session's events (integer codes:
    the session ids are hashed once)."""

    def __init__(self, ev: pd.DataFrame, ss: pd.DataFrame) -> None:
        sidx = pd.Index(ss["session_id"].astype(STRING))
        self.ecode = sidx.get_indexer(ev["session_id"]) if len(ev) else np.zeros(0, np.int64)
        self.in_sess = self.ecode >= 0
        self.index = ss.index

    def __call__(self, x: np.ndarray, how: str, fill: float = 0.0) -> pd.Series:
        """``how`` (``max``, ``mean``, ``median``, ``nunique``) of ``x`` per session,
        ``fill`` for a session without events."""
        r = pd.Series(x[self.in_sess]).groupby(self.ecode[self.in_sess], sort=False).agg(how)
        out = np.full(len(self.index), np.nan)
        out[r.index.to_numpy()] = r.to_numpy(dtype="float64")
        return pd.Series(out, index=self.index).fillna(fill)


def _queries_and_patients(
    v: dict[str, pd.Series],
    ev: pd.DataFrame,
    ss: pd.DataFrame,
    per: _PerSession,
    lab: pd.Series,
    end: pd.Series,
    params: FeatureParams,
    pat_ev: pd.DataFrame | None = None,
) -> None:
    """Add query result-set sizes, distinct patients (from the events when the session
    table lacks them) and ``share_lab_patients`` to ``v`` (the lab's patients to date
    from ``pat_ev``, default ``ev``)."""
    is_query = (ev["action"] == "query").to_numpy()
    q = np.where(is_query, ev["records"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    v["max_query_records"] = per(q, "max")
    v["median_query_records"] = per(q, "median")
    pat_code = pd.factorize(ev["patient"])[0].astype("float64") if len(ev) else np.zeros(0)
    if "distinct_patients" not in ss:
        v["distinct_patients"] = per(np.where(pat_code >= 0, pat_code, np.nan), "nunique")
    lab_pat = _lab_patients_to_date(ev if pat_ev is None else pat_ev, lab, end)
    v.update(_lab_shares(v["distinct_patients"], v["records_out"], lab_pat, params))


def _time_features(
    loc: pd.Series, lab: pd.Series, account: pd.Series, params: FeatureParams
) -> dict[str, pd.Series]:
    """Time of the local start: hour on the unit circle, night, weekend, holiday and
    night for an account rarely active at night (before the habits of
    :func:`labforensics.features.night.night_habits`)."""
    v: dict[str, pd.Series] = {}
    hour = loc.dt.hour + loc.dt.minute / 60.0
    v["hour_sin"] = np.sin(2 * np.pi * hour / 24.0).astype("float64")
    v["hour_cos"] = np.cos(2 * np.pi * hour / 24.0).astype("float64")
    v["night"] = is_night(loc, params.night).astype("float64")
    v["weekend"] = (loc.dt.day_of_week >= 5).astype("float64")
    v["holiday"] = _is_holiday(loc)
    # night for an account that is rarely active at night (a night job is not
    # unusual); without min_history sessions there is no habit to excuse it
    acct = _codes([lab, account])
    g_night = v["night"].groupby(acct, sort=False)
    acct_night = g_night.transform("mean").where(
        g_night.transform("size") >= params.min_history, 0.0
    )
    v["night_unusual"] = v["night"] * (1.0 - acct_night)
    return v


def _network_shares(
    ev: pd.DataFrame, per: _PerSession, networks: NetworkMap
) -> dict[str, pd.Series]:
    """``net_lab``, ``net_vendor``, ``net_other``: share of each session's events from
    each class (local and unknown addresses count in none)."""
    net = networks.classify_many(ev["src_ip"], ev["lab"]).to_numpy(dtype=object)
    return {
        f"net_{c}": per((net == c).astype("float64"), "mean") for c in ("lab", "vendor", "other")
    }


def _module_shares(
    per: _PerSession, mod_code: np.ndarray, mod_uniq: pd.Index, n_ev: int, index: pd.Index
) -> pd.DataFrame:
    """Share of each session's events in each module of :data:`KNOWN_MODULES`."""
    mod = {}
    for m in KNOWN_MODULES:
        hit = np.flatnonzero(np.asarray(mod_uniq == m))
        x = (mod_code == hit[0]) if len(hit) else np.zeros(n_ev, dtype=bool)
        mod[f"module_{m.lower()}"] = per(x.astype("float64"), "mean")
    return pd.DataFrame(mod, index=index)


def _first_use(
    ev: pd.DataFrame, per: _PerSession, params: FeatureParams, lab_t0: int | None = None
) -> dict[str, pd.Series]:
    """``new_src_ip``, ``new_host``, ``new_module``, ``new_action``: first use in the
    account's history, after the lab's warm-up (the lab's first event, ns since the
    epoch: ``lab_t0``, else the earliest of ``ev`` per lab)."""
    # first-seen over session events only: failed logins (an attacker's tries) are
    # not part of the account's history of use
    v: dict[str, pd.Series] = {}
    ev_acct = _codes([ev["lab"], ev["account"]]) if len(ev) else np.zeros(0, np.int64)
    ts_ns = ev["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    if lab_t0 is None:
        lab_code = _codes([ev["lab"]]) if len(ev) else np.zeros(0, np.int64)
        t0 = pd.Series(ts_ns).groupby(lab_code).transform("min").to_numpy()
    else:  # one lab's batch: the lab's first event, whichever batch holds it
        t0 = np.full(len(ts_ns), lab_t0, dtype=np.int64)
    after_warmup = ts_ns >= t0 + params.warmup.value
    for col, name in (
        ("src_ip", "new_src_ip"),
        ("host", "new_host"),
        ("module", "new_module"),
        ("action", "new_action"),
    ):
        fs = np.zeros(len(ev))
        if per.in_sess.any():
            vc = pd.factorize(ev[col])[0]
            sel = per.in_sess & (vc >= 0)
            key = pd.DataFrame({"a": ev_acct[sel], "v": vc[sel]})
            first = ~key.duplicated().to_numpy()
            fs[np.flatnonzero(sel)] = (first & after_warmup[sel]).astype("float64")
        v[name] = per(fs, "max")
    return v


def _main_module(
    ecode: np.ndarray, mod_code: np.ndarray, mod_uniq: pd.Index, ss: pd.DataFrame
) -> pd.Series:
    """Module with most events in the session (ties: first in alphabetical order),
    else the first of the session's ``modules``."""
    out = pd.Series(pd.NA, index=ss.index, dtype=STRING)
    sel = (ecode >= 0) & (mod_code >= 0)
    if sel.any():
        names = np.asarray(mod_uniq, dtype=object)
        c = (
            pd.DataFrame({"s": ecode[sel], "m": names[mod_code[sel]]})
            .value_counts()
            .rename("n")
            .reset_index()
            .sort_values(["s", "n", "m"], ascending=[True, False, True], kind="stable")
            .drop_duplicates("s")
        )
        top = np.full(len(ss), None, dtype=object)
        top[c["s"].to_numpy()] = c["m"].to_numpy()
        out = pd.Series(top, index=ss.index).astype(STRING)
    if "modules" in ss:  # optional
        first = pd.Series(_first_item(ss["modules"]), index=ss.index, dtype=STRING).str.upper()
        out = out.fillna(first)
    return out


def _first_item(values: pd.Series) -> pa.Array:
    """First item of each list of a :data:`~labforensics.schema.STRING_LIST` column
    (missing for an empty or missing list)."""
    arr = pc.cast(pa.array(values), pa.list_(pa.string()))
    one = pa.scalar([None], pa.list_(pa.string()))
    return pc.list_element(pc.if_else(pc.greater(pc.list_value_length(arr), 0), arr, one), 0)


def _is_holiday(loc: pd.Series) -> pd.Series:

    if len(loc) == 0:
        return pd.Series([], dtype="float64", index=loc.index)
    years = range(int(loc.dt.year.min()), int(loc.dt.year.max()) + 1)
    fr = holidays.country_holidays("FR", years=list(years))
    days = pd.to_datetime(pd.Series(sorted(fr.keys()), dtype="object")).to_numpy(
        dtype="datetime64[D]"
    )
    d = loc.dt.tz_localize(None).to_numpy(dtype="datetime64[D]")
    return pd.Series(np.isin(d, days).astype("float64"), index=loc.index)
