"""The per-lab stage: one lab's events in, its sessions, exports, features and summaries out.

Accounts belong to a lab (sessions are keyed by ``(lab, account)``), so sessions, the
authorisation status of exports and every feature but one are computed from one lab's
events alone. The exception is the peer-role baseline (``m_z_peer_role``: the same role
at every lab), which :func:`lab_stage` hands up as per-lab summaries
(:func:`labforensics.features.baselines.lab_summaries`: count, median, MAD and upper
spread per (lab, role, activity)) and :func:`apply_peer_summaries` recomputes from the
summaries of every lab (:func:`labforensics.features.baselines.cross_lab_z`). That second
pass is exact: the whole-case computation uses the same per-lab summaries.

Events without a lab form their own partition (``lab`` missing): a lab is a partition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..authorisation import assess_exports
from ..authorisation.operations import operations
from ..authorisation.status import assess_with_pairs, reassess_budget
from ..case import CaseContext
from ..features import (
    FeatureParams,
    Features,
    FeatureTable,
    build_features,
    family_tested,
    set_family_size,
)
from ..features.authorisation import add_authorisation_features
from ..features.baselines import cross_lab_z, lab_summaries
from ..features.night import ROSTER_COLUMNS, add_other_labs
from ..features.specs import BASELINE_METRICS, feature_spec
from ..sessions import SessionParams, Sessions, sessionize
from .partitions import narrow, widen

__all__ = [
    "LabPart",
    "LabSettings",
    "apply_peer_summaries",
    "apply_ticket_budget",
    "lab_family",
    "merge_family",
    "lab_stage",
    "peer_key",
]

#: Events columns a per-lab part keeps for the whole-case stages (every column).
UNITS: tuple[str, ...] = ("session", "account_day", "account_month")
#: The summaries' key of the lab's night roster (:func:`labforensics.features.night.night_roster`).
NIGHT_ROSTER = "night_roster"


@dataclass(frozen=True)
class LabSettings:
    """What every lab's stage needs, the same for every lab (picklable: sent to workers).

    Attributes
    ----------
    case : CaseContext
        The case's facts (``tz``, ``seed``, networks, lab aliases).
    sessions, features : SessionParams, FeatureParams
        The stages' knobs.
    register : pandas.DataFrame or None
        The authorisation register (:func:`labforensics.authorisation.read_authorisations`).
    patient_index : pandas.DataFrame or None
        The labs' patient indexes (``.people``), bounding the exports' scope.
    """

    case: CaseContext
    sessions: SessionParams
    features: FeatureParams
    register: pd.DataFrame | None = None
    patient_index: pd.DataFrame | None = None


@dataclass
class LabPart:
    """One lab's results of the per-lab stage.

    Attributes
    ----------
    lab : str or None
        The lab code (None: events that name no lab).
    sessions : Sessions
        :func:`labforensics.sessionize` of the lab's events, its events held
        dictionary-encoded (:func:`~labforensics.engine.partitions.narrow`) until
        :meth:`whole_sessions` gives them back with the canonical dtypes.
    exports : pandas.DataFrame
        :func:`labforensics.authorisation.assess_exports` of the lab's events.
    features : Features
        :func:`labforensics.build_features` of the lab; the ``*_z_peer_role``,
        ``*_z`` and ``*_ref`` columns are the lab's own until
        :func:`apply_peer_summaries` replaces them with the cross-lab ones.
    summaries : dict of str to pandas.DataFrame
        Per unit: one row per (metric, role, outbound) with ``lab``, ``n``,
        ``median``, ``mad``, ``tail`` (the peer-role summaries, metric units); and
        under :data:`NIGHT_ROSTER` the distinct ``lab``, ``role``, ``night`` of its staff
        accounts' night sessions (no account named: the colleagues' nights of
        :mod:`labforensics.features.night`).
    n_events : int
        The lab's events (records).
    n_batches : int
        Account batches the lab was processed in (1: whole;
        :func:`labforensics.engine.batches.lab_stage_batched`).
    budget : pandas.DataFrame or None
        The (operation, register row) pairs of the lab's operations under a row with a
        record limit (:func:`labforensics.authorisation.status.assess_with_pairs`; ``o``
        is the operation's row in ``exports``), kept so that the record sums of a ticket
        authorising operations at several labs can be run over every lab
        (:func:`apply_ticket_budget`); None without such pairs.
    """

    lab: str | None
    sessions: Sessions
    exports: pd.DataFrame
    features: Features
    summaries: dict[str, pd.DataFrame] = field(default_factory=dict)
    n_events: int = 0
    n_batches: int = 1
    budget: pd.DataFrame | None = None

    def whole_sessions(self) -> Sessions:
        """The lab's sessions with its events in the canonical dtypes."""
        s = self.sessions
        return Sessions(sessions=s.sessions, events=widen(s.events), params=s.params)

    def counts(self) -> dict[str, int]:
        """Rows per feature unit (what the model's sample allocation needs)."""
        return {u: len(t) for u, t in self.features.tables().items()}


def peer_key(keys: pd.DataFrame, values: pd.DataFrame) -> pd.Series:
    """The peer-role group of each unit: ``"<role>|<outbound>"`` (role ``?`` when missing).

    The same grouping as :func:`labforensics.features.baselines._add_baselines` (role,
    and whether records were sent out), as a string so it means the same in every lab.
    """
    role = keys["role"].astype("object").fillna("?").astype(str).to_numpy()
    out = (values["records_out"].to_numpy() > 0).astype("int8").astype(str)
    return pd.Series(np.char.add(np.char.add(role.astype(str), "|"), out), index=values.index)


def _summaries(table: FeatureTable, lab: str | None) -> pd.DataFrame:
    """Per-metric peer-role summaries of one lab's table (see :class:`LabPart`)."""
    v, k = table.values, table.keys
    if not len(v):
        return pd.DataFrame(columns=["metric", "lab", "peer", "n", "median", "mad", "tail"])
    peer = peer_key(k, v)
    labs = pd.Series([lab] * len(v), index=v.index, dtype="object")
    rows = []
    for m in BASELINE_METRICS[table.unit]:
        if m in v:
            s = lab_summaries(v[m].astype("float64"), labs, peer)
            s.insert(0, "metric", m)
            rows.append(s)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def lab_stage(events: pd.DataFrame, lab: str | None, settings: LabSettings) -> LabPart:
    """Sessions, exports and features of one lab (the first, per-lab pass).

    Parameters
    ----------
    events : pandas.DataFrame
        The lab's canonical events (:data:`labforensics.schema.EVENT_DTYPES`), every
        one with ``lab == lab`` (missing when ``lab`` is None).
    lab : str or None
        The lab code.
    settings : LabSettings
        The case and the stages' knobs.

    Returns
    -------
    LabPart
    """
    case = settings.case
    ss = sessionize(events, settings.sessions)
    budget = None
    if settings.register is None:
        exports = assess_exports(ss.events, ss.sessions, case=case)
    else:
        exports, budget = assess_with_pairs(operations(ss.events, ss.sessions), ss.events,
                                            register=settings.register,
                                            patient_index=settings.patient_index,
                                            case=case)  # fmt: skip
    feats = build_features(ss.events, ss.sessions, settings.features, case=case,
                           exports=exports)  # fmt: skip
    return part_of(lab, ss, exports, feats, len(events), budget=budget)


def part_of(lab: str | None, ss: Sessions, exports: pd.DataFrame, feats: Features,
            n_events: int, narrowed: bool = False,
            budget: pd.DataFrame | None = None) -> LabPart:  # fmt: skip
    """The :class:`LabPart` of a lab's sessions, exports and features (its summaries
    computed; its events dictionary-encoded unless ``narrowed`` says they are; its kept
    ticket-budget pairs ``budget``)."""
    summ = {u: _summaries(t, lab) for u, t in feats.tables().items()}
    summ[NIGHT_ROSTER] = feats.notes.get(NIGHT_ROSTER, pd.DataFrame(columns=ROSTER_COLUMNS))
    ev = ss.events if narrowed else narrow(ss.events)
    held = Sessions(sessions=ss.sessions, events=ev, params=ss.params)
    return LabPart(lab=lab, sessions=held, exports=exports, features=feats, summaries=summ,
                   n_events=n_events, budget=budget)  # fmt: skip


def apply_ticket_budget(part: LabPart, sums: pd.DataFrame, settings: LabSettings) -> LabPart:
    """A lab's statuses and authorisation features with its tickets' record sums run
    over every lab (the cross-lab pass of the ticket budget).

    The lab's kept operations (:attr:`LabPart.budget`) get their status, tickets and
    texts chosen again with the sums of ``sums``
    (:func:`labforensics.authorisation.status.reassess_budget`); the features that read
    the statuses (:func:`labforensics.features.authorisation.add_authorisation_features`:
    the session counts and their account-day and account-month sums) are computed again
    from the new exports. Nothing else reads the statuses: the peer-role summaries, the
    night roster and the family (:func:`lab_family`) are unchanged, so this may run
    before or after :func:`apply_peer_summaries`.

    Parameters
    ----------
    part : LabPart
        The lab's part, with :attr:`LabPart.budget`.
    sums : pandas.DataFrame
        ``cum`` (float64, records) and ``sum_cross`` (bool) per kept pair, in order
        (:func:`labforensics.authorisation.ticket_budget.global_ticket_sums`).
    settings : LabSettings
        The register and the case (``tz``).

    Returns
    -------
    LabPart
        ``part``, its ``exports``, ``features`` and ``budget`` replaced.

    Raises
    ------
    ValueError
        When the part keeps no pairs, or ``sums`` has not one row per kept pair.
    """
    if part.budget is None or len(part.budget) != len(sums) or settings.register is None:
        raise ValueError("the ticket sums do not match the lab's kept pairs")
    part.exports = reassess_budget(part.exports, part.budget, sums, settings.register,
                                   settings.case)  # fmt: skip
    f = part.features
    tabs = {u: FeatureTable(t.unit, t.keys, t.values.copy(), t.key_columns)
            for u, t in f.tables().items()}  # fmt: skip
    add_authorisation_features(tabs["session"], tabs["account_day"], tabs["account_month"],
                               part.exports, settings.case.tz)  # fmt: skip
    part.features = replace(f, **tabs)
    part.budget = part.budget.assign(cum=sums["cum"].to_numpy(dtype="float64"),
                                     sum_cross=sums["sum_cross"].to_numpy(dtype=bool))  # fmt: skip
    return part


def merge_summaries(parts: list[Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Every lab's peer summaries, per unit, in lab order (the second pass's input)."""
    out = {}
    for u in (*UNITS, NIGHT_ROSTER):
        frames = [p[u] for p in parts if u in p and len(p[u])]
        out[u] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return out


def lab_family(features: Features) -> dict[str, int]:
    """Per unit, the lab's units tested for unexplained reads (the Bonferroni family's
    share of this lab: :func:`labforensics.features.family_tested`)."""
    return {u: family_tested(t) for u, t in features.tables().items()}


def merge_family(parts: list[Mapping[str, int]]) -> dict[str, int]:
    """Every lab's :func:`lab_family` summed per unit: the family of the whole evidence."""
    return {u: sum(int(p.get(u, 0)) for p in parts) for u in UNITS}


def apply_peer_summaries(
    features: Features,
    summaries: Mapping[str, pd.DataFrame],
    params: FeatureParams,
    family: Mapping[str, int] | None = None,
) -> Features:
    """Replace a lab's peer-role baselines with the cross-lab ones (the second pass).

    For each metric ``m``: ``m_z_peer_role`` from every lab's summaries
    (:func:`~labforensics.features.baselines.cross_lab_z`), then ``m_z`` (own, else
    peer-lab, else peer-role, else own units of every activity) and, where neither
    own nor peer-lab was defined and the peer-role is, ``m_ref``, as :func:`labforensics.features.baselines._add_baselines` combines them.
    Then the night rota: the other labs' colleague nights of the summaries'
    :data:`NIGHT_ROSTER` (:func:`labforensics.features.night.add_other_labs`).
    Exact: the whole-case computation reads the same summaries.

    Parameters
    ----------
    features : Features
        One lab's features (:func:`lab_stage`).
    summaries : mapping of unit to pandas.DataFrame
        :func:`merge_summaries` of every lab (with its :data:`NIGHT_ROSTER`).
    params : FeatureParams
        ``min_history`` (least peer group size).
    family : mapping of unit to int, optional
        :func:`merge_family` of every lab: ``unexplained_p_family`` is re-adjusted for
        every sitting of the evidence (Bonferroni), as a whole-case run adjusts it.

    Returns
    -------
    Features
        A copy with the peer-role, ``_z`` and ``_ref`` columns replaced (and
        ``unexplained_p_family`` when ``family`` is given; ``night_colleague_nights``
        and ``night_unusual`` with a night roster).
    """
    tables = {}
    for u, t in features.tables().items():
        summ = summaries.get(u)
        if summ is None or not len(summ) or not len(t):
            tables[u] = t
            continue
        v = t.values.copy()
        peer = peer_key(t.keys, v)
        for m, sm in summ.groupby("metric", sort=False):
            if m not in v:
                continue
            x = v[m].astype("float64")
            z_role, ref_role = cross_lab_z(x, peer, sm.drop(columns="metric"),
                                           feature_spec(str(m)).min_scale,
                                           params.min_history)  # fmt: skip
            v[f"{m}_z_peer_role"] = z_role
            # own, peer-lab, peer-role, then the account's units of every activity
            # (features.baselines._add_baselines); a lab's own ref stands where the
            # cross-lab peer-role has none (then the lab's had none either)
            keep = v[f"{m}_z_own"].notna() | v[f"{m}_z_peer_lab"].notna() | z_role.isna()
            v[f"{m}_z"] = (v[f"{m}_z_own"].fillna(v[f"{m}_z_peer_lab"]).fillna(z_role)
                           .fillna(v[f"{m}_z_own_all"]))  # fmt: skip
            v[f"{m}_ref"] = v[f"{m}_ref"].where(keep, ref_role)
        tables[u] = FeatureTable(t.unit, t.keys, v, t.key_columns)
    if family is not None:  # Bonferroni over every lab's sittings, not this lab's
        for u, t in list(tables.items()):
            if u in family and "unexplained_p_family" in t.values:
                t = tables[u] = FeatureTable(t.unit, t.keys, t.values.copy(), t.key_columns)
                set_family_size(t, family[u])
    out = replace(features, **tables)
    roster = summaries.get(NIGHT_ROSTER)
    if roster is not None and len(roster):  # the other labs' night rota
        out = add_other_labs(out, roster, params)
    return out


def concat_features(parts: list[Features], params: FeatureParams, tz: str) -> Features:
    """Every lab's features as one :class:`Features` (tables and notes concatenated).

    Columns absent from a lab's table (none today: every table has the same columns)
    would be missing (``NaN``) in that lab's rows.
    """
    tables: dict[str, Any] = {}
    for u in UNITS:
        ts = [p.tables()[u] for p in parts]
        keys = pd.concat([t.keys for t in ts], ignore_index=True)
        values = pd.concat([t.values for t in ts], ignore_index=True)
        tables[u] = FeatureTable(u, keys, values, ts[0].key_columns)
    notes: dict[str, pd.DataFrame] = {}
    for name in sorted({n for p in parts for n in p.notes}):
        frames = [p.notes[name] for p in parts if name in p.notes and len(p.notes[name])]
        notes[name] = pd.concat(frames, ignore_index=True) if frames else parts[0].notes[name]
    return Features(**tables, params=params, tz=tz, notes=notes)
