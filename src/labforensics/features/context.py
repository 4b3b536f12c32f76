"""Features of a lab built account batch by account batch, equal to the whole lab's.

A lab too large for the memory budget is processed in **account batches**
(:mod:`labforensics.engine.batches`): sessions are keyed by ``(lab, account)``, so each
batch's :func:`labforensics.sessionize` is exactly the whole lab's restricted to its
accounts. Most features are per session or per account and need nothing else. The
lab-wide ones, found by reading :func:`labforensics.build_features` end to end, read
other accounts' events; each is given to every batch from a lab-wide pass over a
compact projection of the lab's events (:class:`LabContextBuilder`, a few narrow columns
per event, gathered while the batches are sessionized):

* the explanation of patient accesses (:mod:`labforensics.features.explained`): the
  patient's clinical events at the lab by any account, the colleagues' accesses within
  the window, the (lab, role) windows from every staff account's gaps, the lab's
  routine unexplained rate and explanation signal (``lab_explain_usable``): :func:`~labforensics.features.explained.explain_accesses`
  runs once over the lab's events naming a patient (``seq``, ``ts``, account, patient,
  action, role and kind of the event's session: dictionary-encoded), plus one row per
  role seen on the other events (the windows table lists every (lab, role));
* the lab's distinct patients to date (``share_lab_patients``, ``lab_patients``,
  ``records_out_share_lab``, per session and per account-day and -month, and so
  ``n_whole_base_outbound_account``): each patient's first sighting at the lab;
* the lab's first instant (the warm-up of ``first_outbound``, ``new_*``,
  ``after_warmup`` and ``first_bulk_outbound``): its first event;
* the days the lab's sessions span (``regular_job``);
* the colleague nights of staff night sessions and the night roster
  (:mod:`labforensics.features.night`): over the lab's every session (session-level
  columns, O(sessions));
* the peer-lab baselines (``*_z_peer_lab``, and so ``*_z`` and ``*_ref``; per-lab
  summaries of ``*_z_peer_role``), the pooled explanation counts, the Bonferroni family
  (``unexplained_p_family``: units tested over the lab) and the authorisation columns:
  computed on the lab's concatenated session, account-day and account-month tables
  (O(sessions)) by :func:`combine_batches`;
* the exports' scope bounds (:mod:`labforensics.authorisation.scope`): the lab's
  patients' events before each operation, from the same projection
  (:meth:`LabContextBuilder.scope_events`).

Everything else (sessions with their failed logins, which are counted only on a session
of the same account; first uses per account; own baselines; night habits of the account;
usual work and regular jobs; roll-ups to account-days and -months) is per account. The
result is equal, value for value and in the same row and column order, to
:func:`labforensics.build_features` of the whole lab (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..case import CaseContext
from ..schema import STRING
from . import _event_role_kind, _finish, _local  # build_features' own steps
from .baselines import _add_baselines
from .explained import ACCESS_ACTIONS, Explanation, event_windows, explain_accesses, lab_signal
from .habits import _local_days, lab_spans
from .night import colleague_nights, is_night, night_of, night_roster
from .params import FeatureParams
from .tables import Features, FeatureTable

__all__ = ["BatchContext", "LabContext", "LabContextBuilder", "combine_batches"]

_TS = pd.DatetimeTZDtype(unit="ns", tz="UTC")


def _cat(values: pd.Series) -> pd.Categorical:
    """A column as a categorical of its values (missing kept missing)."""
    return pd.Categorical(values.astype("object"))


def _union(pieces: list[pd.Categorical]) -> pd.Categorical:
    """Categoricals of different categories as one (categories in order of appearance;
    missing kept missing)."""
    cats = [np.asarray(p.categories, dtype=object) for p in pieces]
    uniq = pd.Index(np.concatenate(cats) if cats else np.zeros(0, object), dtype=object).unique()
    codes = [np.where(p.codes >= 0, uniq.get_indexer(c)[p.codes] if len(c) else -1, -1)
             for p, c in zip(pieces, cats, strict=True)]  # fmt: skip
    allc = np.concatenate(codes) if codes else np.zeros(0, np.int64)
    return pd.Categorical.from_codes(allc.astype(np.int64), categories=uniq)


@dataclass
class LabContext:
    """Lab-wide values every account batch of one lab reads (see the module doc).

    Attributes
    ----------
    explanation : Explanation
        :func:`~labforensics.features.explained.explain_accesses` of the lab's patient
        events (its ``windows`` and ``labs`` are the lab's; its per-event arrays are
        those of the projection's rows).
    access_seq : numpy.ndarray of int64, shape (n_accesses,)
        ``seq`` of the lab's patient accesses, sorted.
    access_explained : numpy.ndarray of float64, shape (n_accesses,)
        Whether each (same order) is explained (1/0).
    patients_first : pandas.DataFrame
        One row per distinct patient of the lab: ``ts`` (its first event, UTC), ``lab``,
        ``patient``.
    first_event : pandas.DataFrame
        One row: the lab's first event's ``ts`` and ``lab``.
    first_event_ns : int
        The same instant, ns since the epoch.
    lab_span : pandas.Series
        Lab -> days its sessions span (:func:`~labforensics.features.habits.lab_spans`).
    colleague : list of numpy.ndarray of float64
        Per batch, in its sessions' order: the colleague lab-nights of each session
        (:func:`~labforensics.features.night.colleague_nights` over the lab).
    roster : pandas.DataFrame
        :func:`~labforensics.features.night.night_roster` of the lab.
    """

    explanation: Explanation
    access_seq: np.ndarray
    access_explained: np.ndarray
    patients_first: pd.DataFrame
    first_event: pd.DataFrame
    first_event_ns: int
    lab_span: pd.Series
    colleague: list[np.ndarray]
    roster: pd.DataFrame

    def batch(self, i: int) -> BatchContext:
        """What batch ``i`` (in the order the batches were added) reads."""
        return BatchContext(self, self.colleague[i])


@dataclass
class BatchContext:
    """One account batch's view of its :class:`LabContext` (what
    :func:`labforensics.features._unit_tables` reads instead of computing it)."""

    lab: LabContext
    colleague_nights: np.ndarray

    @property
    def patients_first(self) -> pd.DataFrame:
        return self.lab.patients_first

    @property
    def first_event(self) -> pd.DataFrame:
        return self.lab.first_event

    @property
    def first_event_ns(self) -> int:
        return self.lab.first_event_ns

    @property
    def lab_span(self) -> pd.Series:
        return self.lab.lab_span

    def explanation_of(self, ev: pd.DataFrame, events: pd.DataFrame, role: pd.Series
                       ) -> Explanation:  # fmt: skip
        """The lab-wide explanation of the batch's events, aligned with ``ev``.

        Parameters
        ----------
        ev : pandas.DataFrame
            The batch's events as :func:`labforensics.features._session_events` gives
            them (``_row``: position in ``events``).
        events : pandas.DataFrame
            The batch's events (with ``seq``).
        role : pandas.Series of object, shape (len(ev),)
            Role of each event's account (its session's, else its own).

        Returns
        -------
        Explanation

        Raises
        ------
        RuntimeError
            When an access of the batch is not in the lab's projection (a bug).
        """
        ex = self.lab.explanation
        act = ev["action"].astype(object).to_numpy()
        is_access = ev["patient"].notna().to_numpy() & np.isin(act, ACCESS_ACTIONS)
        explained = np.full(len(ev), np.nan)
        if is_access.any():
            seq = events["seq"].to_numpy(dtype=np.int64)[ev["_row"].to_numpy()][is_access]
            pos = np.searchsorted(self.lab.access_seq, seq)
            pos = np.minimum(pos, max(len(self.lab.access_seq) - 1, 0))
            if not len(self.lab.access_seq) or (self.lab.access_seq[pos] != seq).any():
                raise RuntimeError("an access of the batch is not in the lab's projection")
            explained[is_access] = self.lab.access_explained[pos]
        lab = ev["lab"].astype(object)
        role_o = role.astype(object).where(role.notna(), "?").to_numpy(dtype=object)
        wdays = event_windows(ex.windows, lab, role_o)
        usable, rate = lab_signal(ex.labs, lab)
        return Explanation(is_access, explained, wdays, usable, rate, ex.max_days, ex.windows,
                           ex.labs)  # fmt: skip


class LabContextBuilder:
    """Gathers each batch's compact projection, then computes the :class:`LabContext`.

    Call :meth:`add` once per batch (its sessionized events and sessions), in batch
    order, then :meth:`build`. Held per event of the lab: for the events naming a
    patient, ``seq`` and ``ts`` (int64) and five dictionary codes; per batch, its
    distinct patients' first instants and distinct roles; per session, six columns.

    Parameters
    ----------
    lab : str or None
        The lab (None: the events naming no lab).
    params : FeatureParams
    tz : str
        The case's zone.
    """

    def __init__(self, lab: str | None, params: FeatureParams, tz: str) -> None:
        self.lab = lab
        self.params = params
        self.tz = tz
        self._pe: list[dict[str, object]] = []
        self._roles: list[np.ndarray] = []
        self._first: list[pd.Series] = []
        self._t0: list[int] = []
        self._t1: list[int] = []  # each batch's last event (the lab's logged span)
        self._sessions: list[pd.DataFrame] = []

    def add(self, events: pd.DataFrame, sessions: pd.DataFrame) -> None:
        """One batch: ``sessionize(...).events`` (every event of its accounts, with
        ``session_id``, in ``(ts, seq)`` order) and its sessions."""

        ss = sessions.reset_index(drop=True)
        n = len(events)
        self._sessions.append(pd.DataFrame({
            "lab": ss["lab"].astype(STRING), "account": ss["account"].astype(STRING),
            "role": ss["role"].astype(STRING),
            "kind": ss["account_kind"].astype("object").fillna("unknown"),
            "start": pd.to_datetime(ss["start"], utc=True),
        }))  # fmt: skip
        if not n:
            return
        sid = events["session_id"].astype(STRING)
        ecode = pd.Index(ss["session_id"].astype(STRING)).get_indexer(sid)
        ev = pd.DataFrame({"_row": np.arange(n)})
        role, kind = _event_role_kind(ev, SimpleNamespace(ecode=ecode), ss, events)
        self._roles.append(pd.unique(role.to_numpy(dtype=object)))
        ts = events["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
        self._t0.append(int(ts.min()))
        self._t1.append(int(ts.max()))
        has = events["patient"].notna().to_numpy()
        pat = events["patient"][has]
        self._first.append(pd.Series(ts[has]).groupby(pat.astype("object").to_numpy()).min())
        self._pe.append({
            "seq": events["seq"].to_numpy(dtype=np.int64)[has],
            "ts": ts[has],
            "account": _cat(events["account"][has]),
            "patient": _cat(pat),
            "action": events["action"][has].reset_index(drop=True).astype("object"),
            "role": _cat(role[has]),
            "kind": _cat(kind[has]),
        })  # fmt: skip

    def scope_events(self) -> pd.DataFrame:
        """``ts``, ``lab``, ``patient`` of the lab's events naming a patient, and its
        first event (what :func:`~labforensics.authorisation.scope.scope_bounds` reads:
        each patient's activity and the lab's first day)."""
        first = [min(self._t0)] if self._t0 else []
        t = np.concatenate([p["ts"] for p in self._pe] + [np.asarray(first, np.int64)])
        pat = _union([p["patient"] for p in self._pe] + [pd.Categorical([None] * len(first))])
        return pd.DataFrame({
            "ts": pd.Series(t.view("datetime64[ns]")).dt.tz_localize("UTC"),
            "lab": pd.Series([self.lab] * len(t), dtype=STRING),
            "patient": pd.Series(pat),
        })  # fmt: skip

    def build(self) -> LabContext:
        """The :class:`LabContext` of the batches added."""
        p = self.params
        ex, seq, x = self._explanation()
        t0 = min(self._t0) if self._t0 else None
        first_ts = np.array([] if t0 is None else [t0], dtype=np.int64)
        lab1 = pd.Series([self.lab] * len(first_ts), dtype=STRING)
        first_event = pd.DataFrame({"ts": pd.Series(first_ts.view("datetime64[ns]"))
                                    .dt.tz_localize("UTC"), "lab": lab1})  # fmt: skip
        firsts = [f for f in self._first if len(f)]
        fp = pd.concat(firsts).groupby(level=0).min() if firsts else pd.Series([], dtype="int64")
        patients_first = pd.DataFrame({
            "ts": pd.Series(fp.to_numpy(dtype=np.int64).view("datetime64[ns]"))
            .dt.tz_localize("UTC").astype(_TS),
            "lab": pd.Series([self.lab] * len(fp), dtype=STRING),
            "patient": pd.Series(fp.index.to_numpy(dtype=object), dtype=STRING),
        })  # fmt: skip
        ss = pd.concat(self._sessions, ignore_index=True)
        loc = ss["start"].dt.tz_convert(self.tz)
        span = lab_spans(ss["lab"].astype(object).to_numpy(), _local_days(loc))
        night = is_night(loc, p.night).to_numpy(dtype=bool)
        nights = night_of(loc, p.night)
        rota = (ss["kind"].to_numpy(dtype=object) == "staff") & night
        col = colleague_nights(ss["lab"], ss["account"], ss["role"], nights, rota)
        roster = night_roster(ss["lab"], ss["role"], nights, rota)
        bounds = np.cumsum([0] + [len(s) for s in self._sessions])
        per_batch = [col[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return LabContext(ex, seq, x, patients_first, first_event,
                          int(t0) if t0 is not None else 0, span, per_batch, roster)  # fmt: skip

    def _explanation(self) -> tuple[Explanation, np.ndarray, np.ndarray]:
        """:func:`explain_accesses` over the lab's patient events in evidence order, and
        one row per role seen (no patient: only the windows' (lab, role) list reads
        them); the accesses' ``seq`` (sorted) and whether each is explained."""
        p = self.params
        pe = self._pe
        seq = np.concatenate([b["seq"] for b in pe]) if pe else np.zeros(0, np.int64)
        ts = np.concatenate([b["ts"] for b in pe]) if pe else np.zeros(0, np.int64)
        roles = pd.unique(np.concatenate(self._roles)) if self._roles else np.zeros(0, object)
        k = len(roles)
        t0 = min(self._t0) if self._t0 else 0

        def col(name: str) -> np.ndarray:  # the batches' codes as one column, then k rows
            c = _union([b[name] for b in pe] + [pd.Categorical([None] * k)])
            return np.asarray(c, dtype=object)

        order = np.r_[np.lexsort((seq, ts)), np.arange(len(seq), len(seq) + k)]
        action = pd.concat([b["action"] for b in pe] + [pd.Series([None] * k, dtype=object)],
                           ignore_index=True)  # fmt: skip
        frame = pd.DataFrame({
            "ts": pd.Series(np.r_[ts, np.full(k, t0, np.int64)].view("datetime64[ns]"))
            .dt.tz_localize("UTC"),
            "lab": pd.Series([self.lab] * (len(seq) + k), dtype=STRING),
            "account": pd.Series(col("account"), dtype=object),
            "patient": pd.Series(col("patient"), dtype=object),
            "action": action,
        }).iloc[order].reset_index(drop=True)  # fmt: skip
        role = col("role")
        role[len(seq) :] = roles
        role = pd.Series(role, dtype=object).iloc[order].reset_index(drop=True)
        kind = pd.Series(col("kind"), dtype=object).iloc[order].reset_index(drop=True)
        span = ({self.lab: (pd.Timestamp(t0, tz="UTC"), pd.Timestamp(max(self._t1), tz="UTC"))}
                if self._t1 else None)  # fmt: skip
        ex = explain_accesses(frame, role, kind.fillna("unknown"), p.explain_window,
                              p.explain_window_max, evidence_span=span)  # fmt: skip
        real = order < len(seq)
        acc = ex.is_access & real
        s, xv = np.r_[seq, np.zeros(k, np.int64)][order][acc], ex.explained[acc]
        o = np.argsort(s, kind="stable")
        return ex, s[o], xv[o]


def combine_batches(
    parts: list[tuple[FeatureTable, FeatureTable, FeatureTable]],
    session_order: np.ndarray,
    ctx: LabContext,
    params: FeatureParams,
    case: CaseContext,
    exports: pd.DataFrame | None,
) -> Features:
    """The lab's :class:`Features` from its batches' tables (as
    :func:`labforensics.features._unit_tables` returns them with a
    :class:`BatchContext`: no baseline).

    Parameters
    ----------
    parts : list of (session, account_day, account_month) FeatureTable
        Per batch, batches in account order (sorted accounts, contiguous). A table may
        be given as a callable returning it (read from a file when its unit is
        combined: :class:`~labforensics.engine.batch_files.BatchFiles`), so that one
        unit of every batch is held at a time.
    session_order : numpy.ndarray of int, shape (n_sessions,)
        Position in the concatenated batches' sessions of each of the lab's sessions in
        :func:`labforensics.sessionize` order (``start``, then the first event's ``seq``).
    ctx : LabContext
    params : FeatureParams
    case : CaseContext
    exports : pandas.DataFrame or None
        The lab's :func:`labforensics.authorisation.assess_exports` table.

    Returns
    -------
    Features
        Equal to :func:`labforensics.build_features` of the whole lab.
    """

    tables = []
    for i, (unit, keys_cols) in enumerate(
        (("session", ("session_id",)), ("account_day", ("lab", "account", "day")),
         ("account_month", ("lab", "account", "month")))
    ):  # fmt: skip
        pieces = [p[i]() if callable(p[i]) else p[i] for p in parts]  # this unit's only
        keys = pd.concat([t.keys for t in pieces], ignore_index=True)
        values = pd.concat([t.values for t in pieces], ignore_index=True)
        del pieces
        if unit == "session":  # sessionize's order; account-days and -months already sorted
            keys = keys.iloc[session_order].reset_index(drop=True)
            values = values.iloc[session_order].reset_index(drop=True)
        _add_baselines(values, keys, unit, params)
        tables.append(FeatureTable(unit, keys, values.astype("float64"), keys_cols))
    session, day, month = tables
    loc = _local(pd.to_datetime(session.keys["start"], utc=True), case.tz)
    return _finish(session, day, month, loc, ctx.explanation, ctx.roster, params, case, exports)
