"""Features for anomaly scoring: one table per scored unit, with documented units.

:func:`build_features` turns the canonical event table and the session table
(:mod:`labforensics.schema`) into three :class:`FeatureTable` objects:

* ``session``: one row per session (key ``session_id``);
* ``account_day``: one row per (``lab``, ``account``, ``day``), ``day`` being the
  lab's local calendar day (``FeatureParams.tz``) of the session start;
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
    ``bytes_out``, ``distinct_patients``, ``share_lab_patients`` (patients touched,
    or records sent out when larger, over the distinct patients seen at that lab
    up to the end of the unit, floored at ``min_lab_patients``),
    ``max_query_records`` and ``median_query_records`` (result-set sizes of query
    events), ``n_events``, ``duration_s``.
rate
    ``events_per_min`` and ``records_per_hour`` (durations floored at 60 s).
time
    ``hour_sin``/``hour_cos`` (local start hour on the unit circle), ``night``
    (start in ``FeatureParams.night``), ``weekend``, ``holiday`` (French public
    holiday, :mod:`holidays`), ``night_unusual`` (night times the share of the
    account's sessions that are *not* at night: a night job is not unusual).
context
    ``kind_*`` (account kind one-hot), ``role_*`` (role one-hot), ``module_*``
    (share of the session's events in each module), ``net_lab``, ``net_vendor``,
    ``net_other`` (share of the session's events from each network class).
first seen
    ``new_src_ip``, ``new_host``, ``new_module``, ``new_action``: the unit holds
    the first appearance of that value in the account's history, once the lab's
    evidence is older than the warm-up (``FeatureParams.warmup``): an account
    present from the start teaches its habits during the warm-up, an account that
    appears later (a new vendor account) shows every first use.
authentication
    ``failed_logins_before``, ``failed_login_src_ips``, ``concurrent_sessions``.
baselines
    For each metric ``m`` of :data:`BASELINE_METRICS` (per unit):
    ``m_z_own`` (against the account's own units of the same activity),
    ``m_z_peer_lab`` (same role at the same lab), ``m_z_peer_role`` (same role at
    every lab), each a robust z-score ``(x - median) / max(1.4826 * MAD,
    upper spread, min_scale)`` (:func:`robust_z` with ``tail_scale``; the upper
    spread keeps a bursty but habitual account from looking extreme) computed
    when the group has at least ``min_history`` units;
    ``m_z`` takes the first available of own, peer-lab, peer-role (an account
    with a regular history of its own is judged against it: that is what keeps
    the monthly billing export or a nightly job low) and ``m_ref`` is the median
    it was measured against. Activity is ``outbound`` (records sent out) or not,
    so an export is compared with exports. Baselines use the whole evidence
    period (a retrospective investigation): a one-off stands out against the
    median of the account's other units whether it came first or last.

Units: records (rows of patient data), bytes, patients, events, seconds,
shares (0-1, ``share_lab_patients`` may exceed 1 when more records than known
patients leave), flags (0/1), robust z (dimensionless). Minimum scales are in
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

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ParameterError, SchemaError
from .schema import ACCOUNT_KINDS, LIS_MODULES, ROLE_ACCOUNT_KIND, SESSION_DTYPES, STRING

__all__ = [
    "BASELINE_METRICS",
    "FEATURE_SPECS",
    "FeatureParams",
    "FeatureSpec",
    "FeatureTable",
    "Features",
    "build_features",
    "feature_spec",
    "robust_z",
]

#: MAD to standard deviation under a normal distribution.
MAD_TO_SD = 1.4826
#: (q90 - median) and (q75 - median) to standard deviation under a normal distribution.
Q90_TO_SD = 1.2816
Q75_TO_SD = 0.6745
#: Least group size for the q90 upper spread (smaller groups use q75).
TAIL_MIN_COUNT = 20

#: Module codes one-hot encoded (the format document's list, :data:`schema.LIS_MODULES`).
KNOWN_MODULES: tuple[str, ...] = LIS_MODULES
KNOWN_ROLES: tuple[str, ...] = tuple(ROLE_ACCOUNT_KIND)


@dataclass(frozen=True)
class FeatureSpec:
    """How one feature is measured and scaled.

    Attributes
    ----------
    unit : str
        Unit of the values (``"records"``, ``"s"``, ``"count"``, ``"share"`` ...).
    min_scale : float
        Smallest scale used to standardise it, in its unit: a deviation smaller
        than this is not evidence (duration 60 s, counts 1, records 10, shares 0.01).
    direction : str
        ``"high"`` when only values above the median are suspicious (volumes,
        counts, flags), ``"both"`` otherwise (cyclic hour).
    neutral : float
        Value standing for "no information" (a missing baseline is 0: no deviation).
    description : str
        One line, used by explanations.
    """

    unit: str
    min_scale: float
    direction: str = "high"
    neutral: float = 0.0
    description: str = ""


def _spec(unit: str, min_scale: float, desc: str, direction: str = "high") -> FeatureSpec:
    return FeatureSpec(unit, min_scale, direction, 0.0, desc)


#: Specs of the base (non-baseline, non-one-hot) features.
FEATURE_SPECS: dict[str, FeatureSpec] = {
    "records_exported": _spec("records", 10, "records exported"),
    "records_extracted": _spec("records", 10, "records extracted"),
    "records_out": _spec("records", 10, "records exported or extracted"),
    "bytes_out": _spec("bytes", 100_000, "bytes written by exports/extractions"),
    "distinct_patients": _spec("patients", 1, "distinct patients touched"),
    "share_lab_patients": _spec("share", 0.01, "share of the lab's patients touched"),
    "max_query_records": _spec("records", 10, "largest query result set"),
    "median_query_records": _spec("records", 10, "median query result set"),
    "n_events": _spec("count", 1, "events"),
    "duration_s": _spec("s", 60, "duration"),
    "events_per_min": _spec("events/min", 1, "events per minute"),
    "records_per_hour": _spec("records/h", 10, "records sent out per hour"),
    "hour_sin": _spec("unit circle", 0.1, "local start hour (sine)", "both"),
    "hour_cos": _spec("unit circle", 0.1, "local start hour (cosine)", "both"),
    "night": _spec("flag", 1, "activity at night"),
    "weekend": _spec("flag", 1, "activity on a weekend"),
    "holiday": _spec("flag", 1, "activity on a French public holiday"),
    "night_unusual": _spec("share", 0.01, "night activity for an account rarely active at night"),
    "net_lab": _spec("share", 0.01, "events from the lab network"),
    "net_vendor": _spec("share", 0.01, "events from the vendor network"),
    "net_other": _spec("share", 0.01, "events from an outside network"),
    "new_src_ip": _spec("flag", 1, "new source address for this account"),
    "new_host": _spec("flag", 1, "new workstation for this account"),
    "new_module": _spec("flag", 1, "new module for this account"),
    "new_action": _spec("flag", 1, "new action for this account"),
    "failed_logins_before": _spec("count", 1, "failed logins before the session"),
    "failed_login_src_ips": _spec("count", 1, "distinct sources of failed logins"),
    "concurrent_sessions": _spec("count", 1, "concurrent sessions of the account"),
    "n_sessions": _spec("count", 1, "sessions"),
    "n_outbound_sessions": _spec("count", 1, "sessions sending records out"),
    "n_night_sessions": _spec("count", 1, "sessions at night"),
    "n_active_days": _spec("days", 1, "active days"),
    "n_src_ips": _spec("count", 1, "distinct source addresses"),
}

#: Metrics given own-history and peer baselines, per unit.
BASELINE_METRICS: dict[str, tuple[str, ...]] = {
    "session": (
        "records_out",
        "distinct_patients",
        "n_events",
        "duration_s",
        "max_query_records",
    ),
    "account_day": (
        "records_out",
        "distinct_patients",
        "n_sessions",
        "n_outbound_sessions",
        "n_events",
    ),
    "account_month": (
        "records_out",
        "distinct_patients",
        "n_sessions",
        "n_outbound_sessions",
        "n_active_days",
        "n_events",
    ),
}
# bytes are not baselined: the legacy dialect does not record them, so a lab's
# migration to the current product would look like a change of behaviour. Nor is
# share_lab_patients: its denominator grows through the evidence, so the first
# weeks would look unusual against the account's later habits.

_BASELINE_SUFFIX = {
    "_z_own": "own history",
    "_z_peer_lab": "peers (same role, same lab)",
    "_z_peer_role": "peers (same role, all labs)",
    "_z": "baseline",
    "_ref": "baseline median",
}


def feature_spec(name: str) -> FeatureSpec:
    """Return the :class:`FeatureSpec` of a feature column, by name.

    Known names come from :data:`FEATURE_SPECS`; baseline columns (``*_z*``) are
    robust z-scores with minimum scale 1; one-hot columns (``kind_*``,
    ``role_*``) are flags; ``module_*`` are shares. Unknown names (a table built
    by hand) get a spec from their name: ``*_s`` seconds (60), ``*records*``
    records (10), ``*bytes*`` bytes (100,000), ``*share*`` share (0.01), else
    counts (1).

    Parameters
    ----------
    name : str
        Column name.

    Returns
    -------
    FeatureSpec
    """
    if name in FEATURE_SPECS:
        return FEATURE_SPECS[name]
    for suf in ("_z_own", "_z_peer_lab", "_z_peer_role", "_z"):
        if name.endswith(suf):
            base = name[: -len(suf)]
            return _spec(
                "robust z", 1.0, f"{feature_spec(base).description} vs {_BASELINE_SUFFIX[suf]}"
            )
    if name.endswith("_ref"):
        return feature_spec(name[:-4])
    if name.startswith(("kind_", "role_")):
        return _spec("flag", 1, name.replace("_", " "))
    if name.startswith("module_"):
        return _spec("share", 0.01, f"events in module {name[7:]}")
    if name.endswith("_s") or name.endswith("_seconds"):
        return _spec("s", 60, name)
    if "records" in name:
        return _spec("records", 10, name)
    if "bytes" in name:
        return _spec("bytes", 100_000, name)
    if "share" in name:
        return _spec("share", 0.01, name)
    return _spec("count", 1, name)


@dataclass(frozen=True)
class FeatureParams:
    """Parameters of :func:`build_features`.

    Attributes
    ----------
    tz : str
        Time zone of the labs' local time (days, months, hours), default ``Europe/Paris``.
    night : tuple[int, int]
        Night as local hours ``(start, end)``: 21 to 6 means 21:00-05:59.
    lab_networks, vendor_networks : tuple[str, ...]
        CIDR blocks of the labs' and of the vendor's networks (case parameters).
        Empty and loopback addresses are local batch jobs, counted as lab network.
    lab_networks_by_lab : Mapping[str, tuple[str, ...]]
        Extra CIDR blocks of one lab's network, by lab code.
    min_history : int
        Least number of units in a group for a baseline (own or peer) to be used.
    warmup : pandas.Timedelta
        First-seen signals count only this long after the lab's first event.
    min_lab_patients : int
        Floor of the denominator of ``share_lab_patients`` (patients).
    """

    tz: str = "Europe/Paris"
    night: tuple[int, int] = (21, 6)
    lab_networks: tuple[str, ...] = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    vendor_networks: tuple[str, ...] = ()
    lab_networks_by_lab: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    min_history: int = 5
    warmup: pd.Timedelta = pd.Timedelta("14D")
    min_lab_patients: int = 100

    def __post_init__(self) -> None:
        if not (0 <= self.night[0] <= 23 and 0 <= self.night[1] <= 23):
            raise ParameterError(f"FeatureParams.night={self.night}: hours must be 0-23")
        if self.min_history < 2:
            raise ParameterError("FeatureParams.min_history must be >= 2 (a median needs data)")
        for cidr in (*self.lab_networks, *self.vendor_networks):
            _net(cidr)
        for nets in self.lab_networks_by_lab.values():
            for cidr in nets:
                _net(cidr)


def _net(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise ParameterError(
            f"network {cidr!r} is not a CIDR block (write it like '10.20.0.0/16'): {exc}"
        ) from exc


@dataclass(frozen=True)
class FeatureTable:
    """Features of one scored unit.

    Attributes
    ----------
    unit : str
        ``"session"``, ``"account_day"`` or ``"account_month"``.
    keys : pandas.DataFrame
        Identifiers and times (never features): ``session_id``, ``lab``,
        ``account``, ``account_kind``, ``role``, ``start``, ``end`` for sessions;
        ``lab``, ``account``, ``account_kind``, ``role``, ``day`` (local
        ``YYYY-MM-DD``) or ``month`` (``YYYY-MM``), ``start``, ``end`` otherwise.
    values : pandas.DataFrame
        Numeric features, ``float64``, same index as ``keys`` (see the module doc).
    key_columns : tuple[str, ...]
        The columns of ``keys`` that identify a row (and break ties in ranking).
    """

    unit: str
    keys: pd.DataFrame
    values: pd.DataFrame
    key_columns: tuple[str, ...]

    def frame(self) -> pd.DataFrame:
        """Keys and values side by side, as one DataFrame."""
        return pd.concat([self.keys, self.values], axis=1)

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True)
class Features:
    """The three feature tables returned by :func:`build_features`."""

    session: FeatureTable
    account_day: FeatureTable
    account_month: FeatureTable
    params: FeatureParams

    def tables(self) -> dict[str, FeatureTable]:
        """Tables by unit name, in scoring order."""
        return {
            "session": self.session,
            "account_day": self.account_day,
            "account_month": self.account_month,
        }


# --------------------------------------------------------------------------- helpers


def robust_z(
    x: pd.Series,
    groups: list[pd.Series] | None,
    min_scale: float,
    min_count: int = 1,
    tail_scale: bool = False,
) -> tuple[pd.Series, pd.Series]:
    """Robust z-score of ``x`` within groups, and the group median.

    ``z = (x - median) / max(1.4826 * MAD, min_scale)``; with ``tail_scale``
    the scale is ``max(1.4826 * MAD, upper spread, min_scale)``, the upper
    spread being ``(q90 - median) / 1.2816`` in groups of at least 20 values and
    ``(q75 - median) / 0.6745`` in smaller ones (one outlier cannot move either).
    All terms estimate one standard deviation on normal data; the upper spread
    keeps a bursty but habitual account (an interface whose sessions are cut by
    idle time) from looking extreme against its own tight median. ``NaN`` where the
    group has fewer than ``min_count`` non-missing values.

    Parameters
    ----------
    x : pandas.Series
        Values (float).
    groups : list of pandas.Series or None
        Group keys aligned with ``x``; ``None`` for one group.
    min_scale : float
        Floor of the scale, in the unit of ``x``.
    min_count : int
        Least group size for a defined z.
    tail_scale : bool
        Also use the upper spread ``(q90 - median) / 1.2816``.

    Returns
    -------
    (z, median) : tuple of pandas.Series (float64)
    """
    x = x.astype("float64")
    if groups is None:
        med = pd.Series(x.median(), index=x.index)
        mad = pd.Series((x - med).abs().median(), index=x.index)
        cnt = pd.Series(float(x.notna().sum()), index=x.index)
        q75 = pd.Series(x.quantile(0.75), index=x.index)
        q90 = pd.Series(x.quantile(0.9), index=x.index)
    else:
        g = x.groupby(groups, sort=False, dropna=False, observed=True)
        med = g.transform("median")
        cnt = g.transform("count")
        mad = (
            (x - med)
            .abs()
            .groupby(groups, sort=False, dropna=False, observed=True)
            .transform("median")
        )
        if tail_scale:
            q75 = g.transform("quantile", 0.75)
            q90 = g.transform("quantile", 0.9)
    scale = np.maximum(MAD_TO_SD * mad, min_scale)
    if tail_scale:
        # q90 only where the group is large enough that one outlier cannot move it
        tail = np.where(cnt >= TAIL_MIN_COUNT, (q90 - med) / Q90_TO_SD, (q75 - med) / Q75_TO_SD)
        scale = np.maximum(scale, tail)
    z = (x - med) / scale
    z = z.where(cnt >= min_count)
    return z.astype("float64"), med.where(cnt >= min_count).astype("float64")


def _local(ts: pd.Series, tz: str) -> pd.Series:
    return ts.dt.tz_convert(tz)


def _net_class(ips: pd.Series, labs: pd.Series, params: FeatureParams) -> pd.Series:
    """Network class per row (``lab``, ``vendor``, ``other``), vectorized over distinct pairs."""
    lab_nets = [_net(c) for c in params.lab_networks]
    vendor_nets = [_net(c) for c in params.vendor_networks]
    by_lab = {k: [_net(c) for c in v] for k, v in params.lab_networks_by_lab.items()}
    pairs = pd.DataFrame({"ip": ips.astype("object"), "lab": labs.astype("object")})
    uniq = pairs.drop_duplicates()
    out = []
    for ip, lab in zip(uniq["ip"], uniq["lab"], strict=True):  # one per distinct (ip, lab)
        if ip is None or ip is pd.NA or (isinstance(ip, float) and np.isnan(ip)) or ip == "":
            out.append("lab")
            continue
        try:
            addr = ipaddress.ip_address(str(ip).strip())
        except ValueError:
            out.append("other")
            continue
        if addr.is_loopback:
            out.append("lab")
        elif any(addr in n for n in vendor_nets if n.version == addr.version):
            out.append("vendor")
        elif any(addr in n for n in (*lab_nets, *by_lab.get(lab, ())) if n.version == addr.version):
            out.append("lab")
        else:
            out.append("other")
    uniq = uniq.assign(net=out)
    merged = pairs.merge(uniq, on=["ip", "lab"], how="left", sort=False)
    return pd.Series(merged["net"].to_numpy(), index=ips.index)


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


def _check_sessions(sessions: pd.DataFrame) -> None:
    need = ["session_id", "lab", "account", "start", "end"]
    missing = [c for c in need if c not in sessions.columns]
    if missing:
        raise SchemaError(
            f"session table lacks columns {missing}; build it with labforensics.sessionize "
            f"(columns: {list(SESSION_DTYPES)})"
        )


def _col(df: pd.DataFrame, name: str, default: float = 0.0) -> pd.Series:
    if name in df.columns:
        return pd.to_numeric(df[name], errors="coerce").astype("float64").fillna(default)
    return pd.Series(default, index=df.index, dtype="float64")


def _lab_patients_to_date(events: pd.DataFrame, labs: pd.Series, ends: pd.Series) -> np.ndarray:
    """Distinct patients seen at each lab up to each instant (searchsorted per lab)."""
    out = np.zeros(len(labs), dtype="float64")
    pe = events.loc[events["patient"].notna(), ["ts", "lab", "patient"]]
    if pe.empty:
        return out
    pe = pe.sort_values("ts", kind="stable")
    first = ~pe.duplicated(["lab", "patient"])
    pe = pe.loc[first]
    lab_arr = labs.astype("object").to_numpy()
    end_ns = ends.to_numpy(dtype="datetime64[ns]") if len(ends) else np.array([], "datetime64[ns]")
    for lab, grp in pe.groupby("lab", sort=True, observed=True):  # one per lab
        t = grp["ts"].to_numpy(dtype="datetime64[ns]")
        sel = lab_arr == lab
        out[sel] = np.searchsorted(t, end_ns[sel], side="right")
    return out


def _codes(keys: list[pd.Series]) -> np.ndarray:
    """One integer code per distinct combination of the key columns (missing is a value)."""
    if len(keys[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    return (
        pd.DataFrame({i: k.to_numpy() for i, k in enumerate(keys)})
        .groupby(list(range(len(keys))), sort=False, dropna=False)
        .ngroup()
        .to_numpy()
    )


def _onehot(values: pd.Series, prefix: str, known: Sequence[str]) -> pd.DataFrame:
    s = values.astype(STRING).str.upper()
    cols = {f"{prefix}_{k.lower()}": (s == k).fillna(False).astype("float64") for k in known}
    cols[f"{prefix}_other"] = (~s.isin(list(known))).fillna(True).astype("float64")
    return pd.DataFrame(cols, index=values.index)


# --------------------------------------------------------------------------- main


def build_features(
    events: pd.DataFrame, sessions: pd.DataFrame, params: FeatureParams | None = None
) -> Features:
    """Build the session, account-day and account-month feature tables.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical event table (:data:`labforensics.schema.EVENT_DTYPES`), optionally
        with a ``session_id`` column (string) as added by ``sessionize``; without it
        events are matched to sessions by (lab, account) and time.
    sessions : pandas.DataFrame
        Session table (:data:`labforensics.schema.SESSION_DTYPES`); columns other
        than ``session_id``, ``lab``, ``account``, ``start``, ``end`` default to 0
        or missing when absent.
    params : FeatureParams, optional
        Time zone, night hours, networks, baseline sizes.

    Returns
    -------
    Features
        ``.session``, ``.account_day``, ``.account_month`` :class:`FeatureTable`
        objects; every value column ``float64`` and never missing except
        baseline z-scores (``NaN`` = no baseline; the scorer fills the neutral 0).

    Raises
    ------
    SchemaError
        When the session table lacks its identifying columns.
    """
    params = params or FeatureParams()
    _check_sessions(sessions)
    ss = sessions.reset_index(drop=True)
    tz = params.tz
    start = pd.to_datetime(ss["start"], utc=True)
    end = pd.to_datetime(ss["end"], utc=True)
    lab = ss["lab"].astype(STRING)
    account = ss["account"].astype(STRING)
    role = (ss["role"] if "role" in ss else pd.Series(pd.NA, index=ss.index)).astype(STRING)
    kind = (
        (ss["account_kind"] if "account_kind" in ss else pd.Series("unknown", index=ss.index))
        .astype("object")
        .fillna("unknown")
    )

    v: dict[str, pd.Series] = {}
    v["records_exported"] = _col(ss, "records_exported")
    v["records_extracted"] = _col(ss, "records_extracted")
    v["records_out"] = v["records_exported"] + v["records_extracted"]
    v["bytes_out"] = _col(ss, "bytes_out")
    v["distinct_patients"] = _col(ss, "distinct_patients")
    v["n_events"] = _col(ss, "n_events")
    dur = _col(ss, "duration_s")
    if "duration_s" not in ss:
        dur = (end - start).dt.total_seconds().astype("float64")
    v["duration_s"] = dur
    dur_floor = np.maximum(dur, 60.0)
    v["events_per_min"] = v["n_events"] / dur_floor * 60.0
    v["records_per_hour"] = v["records_out"] / dur_floor * 3600.0

    # event-derived features, grouped on integer codes (strings hashed once)
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
        }
    )
    ev = ev.sort_values("ts", kind="stable").reset_index(drop=True)
    sidx = pd.Index(ss["session_id"].astype(STRING))
    ecode = sidx.get_indexer(ev["session_id"]) if len(ev) else np.zeros(0, np.int64)
    in_sess = ecode >= 0
    n_ss = len(ss)

    def per_session(x: np.ndarray, how: str, fill: float = 0.0) -> pd.Series:
        """Aggregate a per-event float array over each session's events."""
        r = pd.Series(x[in_sess]).groupby(ecode[in_sess], sort=False).agg(how)
        out = np.full(n_ss, np.nan)
        out[r.index.to_numpy()] = r.to_numpy(dtype="float64")
        return pd.Series(out, index=ss.index).fillna(fill)

    is_query = (ev["action"] == "query").to_numpy()
    q = np.where(is_query, ev["records"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    v["max_query_records"] = per_session(q, "max")
    v["median_query_records"] = per_session(q, "median")
    pat_code = pd.factorize(ev["patient"])[0].astype("float64") if len(ev) else np.zeros(0)
    if "distinct_patients" not in ss and len(ev):
        v["distinct_patients"] = per_session(np.where(pat_code >= 0, pat_code, np.nan), "nunique")

    lab_pat = _lab_patients_to_date(ev, lab, end)
    touched = np.maximum(v["distinct_patients"], v["records_out"])
    v["share_lab_patients"] = touched / np.maximum(lab_pat, params.min_lab_patients)

    # time (local start)
    loc = _local(start, tz)
    hour = loc.dt.hour + loc.dt.minute / 60.0
    v["hour_sin"] = np.sin(2 * np.pi * hour / 24.0).astype("float64")
    v["hour_cos"] = np.cos(2 * np.pi * hour / 24.0).astype("float64")
    h0, h1 = params.night
    hh = loc.dt.hour
    night = (hh >= h0) | (hh < h1) if h0 > h1 else (hh >= h0) & (hh < h1)
    v["night"] = night.astype("float64")
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

    # context: account kind, role, module shares, networks
    onehots = [
        pd.DataFrame(
            {f"kind_{k}": (kind == k).astype("float64") for k in ACCOUNT_KINDS}, index=ss.index
        ),
        _onehot(role, "role", KNOWN_ROLES),
    ]
    net = _net_class(ev["src_ip"], ev["lab"], params).to_numpy() if len(ev) else np.zeros(0)
    for cls in ("lab", "vendor", "other"):
        v[f"net_{cls}"] = per_session((net == cls).astype("float64"), "mean")
    mod_code, mod_uniq = pd.factorize(ev["module"])
    mod = {}
    for m in KNOWN_MODULES:
        hit = np.flatnonzero(np.asarray(mod_uniq == m))
        x = (mod_code == hit[0]) if len(hit) else np.zeros(len(ev), dtype=bool)
        mod[f"module_{m.lower()}"] = per_session(x.astype("float64"), "mean")
    onehots.append(pd.DataFrame(mod, index=ss.index))

    # first-seen over session events only: failed logins (an attacker's tries) are
    # not part of the account's history of use
    ev_acct = _codes([ev["lab"], ev["account"]]) if len(ev) else np.zeros(0, np.int64)
    ts_ns = ev["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    lab_code = _codes([ev["lab"]]) if len(ev) else np.zeros(0, np.int64)
    lab_t0 = pd.Series(ts_ns).groupby(lab_code).transform("min").to_numpy()
    after_warmup = ts_ns >= lab_t0 + params.warmup.value
    for col, name in (
        ("src_ip", "new_src_ip"),
        ("host", "new_host"),
        ("module", "new_module"),
        ("action", "new_action"),
    ):
        fs = np.zeros(len(ev))
        if in_sess.any():
            vc = pd.factorize(ev[col])[0]
            sel = in_sess & (vc >= 0)
            key = pd.DataFrame({"a": ev_acct[sel], "v": vc[sel]})
            first = ~key.duplicated().to_numpy()
            fs[np.flatnonzero(sel)] = (first & after_warmup[sel]).astype("float64")
        v[name] = per_session(fs, "max")
    main_module = _main_module(ecode, mod_code, mod_uniq, ss)

    v["failed_logins_before"] = _col(ss, "failed_logins_before")
    v["failed_login_src_ips"] = _col(ss, "failed_login_src_ips")
    v["concurrent_sessions"] = _col(ss, "concurrent_sessions")

    values = pd.DataFrame(v, index=ss.index)
    values = pd.concat([values, *onehots], axis=1)
    keys = pd.DataFrame(
        {
            "session_id": ss["session_id"].astype(STRING),
            "lab": lab,
            "account": account,
            "account_kind": kind.astype(STRING),
            "role": role,
            "main_module": main_module,
            "start": start,
            "end": end,
        },
        index=ss.index,
    )
    _add_baselines(values, keys, "session", params)
    session = FeatureTable("session", keys, values.astype("float64"), ("session_id",))

    # account-day and account-month aggregates
    naive = loc.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    ev_naive = (
        _local(ev["ts"], tz).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        if len(ev)
        else np.zeros(0, dtype="datetime64[ns]")
    )
    account_day = _aggregate("account_day", "day", naive, keys, values, ev, ev_naive, params)
    account_month = _aggregate("account_month", "month", naive, keys, values, ev, ev_naive, params)
    return Features(session, account_day, account_month, params)


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
    if "modules" in ss:
        first = ss["modules"].astype(STRING).str.split(" | ", regex=False).str[0].str.upper()
        out = out.fillna(first)
    return out


def _is_holiday(loc: pd.Series) -> pd.Series:
    import holidays

    if len(loc) == 0:
        return pd.Series([], dtype="float64", index=loc.index)
    years = range(int(loc.dt.year.min()), int(loc.dt.year.max()) + 1)
    fr = holidays.country_holidays("FR", years=list(years))
    days = pd.to_datetime(pd.Series(sorted(fr.keys()), dtype="object")).to_numpy(
        dtype="datetime64[D]"
    )
    d = loc.dt.tz_localize(None).to_numpy(dtype="datetime64[D]")
    return pd.Series(np.isin(d, days).astype("float64"), index=loc.index)


def _add_baselines(
    values: pd.DataFrame, keys: pd.DataFrame, unit: str, params: FeatureParams
) -> None:
    """Add ``m_z_own``, ``m_z_peer_lab``, ``m_z_peer_role``, ``m_z``, ``m_ref`` in place."""
    outbound = (values["records_out"] > 0).astype("int8")
    lab, acct, role = keys["lab"], keys["account"], keys["role"].fillna("?")
    groups = {  # integer codes: the strings are hashed once per grouping
        "own": [pd.Series(_codes([lab, acct, outbound]), index=values.index)],
        "peer_lab": [pd.Series(_codes([lab, role, outbound]), index=values.index)],
        "peer_role": [pd.Series(_codes([role, outbound]), index=values.index)],
    }
    k = params.min_history
    for m in BASELINE_METRICS[unit]:
        if m not in values:
            continue
        ms = feature_spec(m).min_scale
        zs, refs = {}, {}
        for g, gk in groups.items():
            zs[g], refs[g] = robust_z(values[m], gk, ms, k, tail_scale=True)
            values[f"{m}_z_{g}"] = zs[g]
        z = zs["own"].fillna(zs["peer_lab"]).fillna(zs["peer_role"])
        ref = refs["own"].where(
            zs["own"].notna(), refs["peer_lab"].where(zs["peer_lab"].notna(), refs["peer_role"])
        )
        values[f"{m}_z"] = z
        values[f"{m}_ref"] = ref


def _period_strings(naive: np.ndarray, period: str) -> np.ndarray:
    """Local ``YYYY-MM-DD`` (day) or ``YYYY-MM`` (month) of naive local instants."""
    unit = "D" if period == "day" else "M"
    return np.datetime_as_string(naive.astype(f"datetime64[{unit}]"), unit=unit).astype(object)


def _aggregate(
    unit: str,
    period: str,
    naive: np.ndarray,
    skeys: pd.DataFrame,
    sval: pd.DataFrame,
    ev: pd.DataFrame,
    ev_naive: np.ndarray,
    params: FeatureParams,
) -> FeatureTable:
    """Aggregate session features to (lab, account, period), rows sorted by those keys."""
    per = _period_strings(naive, period)
    kdf = pd.DataFrame(
        {
            "lab": skeys["lab"].astype("object").to_numpy(),
            "account": skeys["account"].astype("object").to_numpy(),
            period: per,
        }
    )
    gid = kdf.groupby(["lab", "account", period], sort=True, dropna=False).ngroup().to_numpy()
    g = sval.groupby(gid, sort=True)
    s = {
        "records_exported": g["records_exported"].sum(),
        "records_extracted": g["records_extracted"].sum(),
        "records_out": g["records_out"].sum(),
        "bytes_out": g["bytes_out"].sum(),
        "n_events": g["n_events"].sum(),
        "duration_s": g["duration_s"].sum(),
        "n_sessions": g["n_events"].size().astype("float64"),
        "n_outbound_sessions": (sval["records_out"] > 0).astype("float64").groupby(gid).sum(),
        "n_night_sessions": g["night"].sum(),
        "night": g["night"].max(),
        "night_unusual": g["night_unusual"].max(),
        "weekend": g["weekend"].max(),
        "holiday": g["holiday"].max(),
        "max_query_records": g["max_query_records"].max(),
        "net_vendor": g["net_vendor"].max(),
        "net_other": g["net_other"].max(),
        "new_src_ip": g["new_src_ip"].max(),
        "new_host": g["new_host"].max(),
        "new_module": g["new_module"].max(),
        "new_action": g["new_action"].max(),
        "failed_logins_before": g["failed_logins_before"].sum(),
        "failed_login_src_ips": g["failed_login_src_ips"].max(),
        "concurrent_sessions": g["concurrent_sessions"].max(),
    }
    for c in sval.columns:
        if c.startswith(("kind_", "role_")):
            s[c] = g[c].max()
    values = pd.DataFrame(s).reset_index(drop=True)
    if unit == "account_month":
        days = naive.astype("datetime64[D]").view("int64")
        values["n_active_days"] = pd.Series(days).groupby(gid).nunique().to_numpy(dtype="float64")
    first = np.unique(gid, return_index=True)[1]
    keys = pd.DataFrame(
        {
            "lab": skeys["lab"].to_numpy()[first],
            "account": skeys["account"].to_numpy()[first],
            "account_kind": skeys["account_kind"].to_numpy()[first],
            "role": skeys["role"].to_numpy()[first],
            period: per[first],
            "start": skeys["start"].groupby(gid).min().to_numpy(),
            "end": skeys["end"].groupby(gid).max().to_numpy(),
        }
    )
    for c in ("lab", "account", "account_kind", "role", period):
        keys[c] = keys[c].astype(STRING)
    for c in ("start", "end"):
        keys[c] = pd.to_datetime(keys[c], utc=True).astype(skeys[c].dtype)
    # distinct patients from the events, by their own local period
    pe = ev["patient"].notna().to_numpy()
    if pe.any():
        e = pd.DataFrame(
            {
                "lab": ev["lab"].astype("object").to_numpy()[pe],
                "account": ev["account"].astype("object").to_numpy()[pe],
                period: _period_strings(ev_naive[pe], period),
                "patient": pd.factorize(ev["patient"])[0][pe],
            }
        )
        dp = e.groupby(["lab", "account", period], sort=False)["patient"].nunique()
        k = pd.MultiIndex.from_frame(keys[["lab", "account", period]].astype("object"))
        values["distinct_patients"] = dp.reindex(k).fillna(0).to_numpy(dtype="float64")
    else:
        values["distinct_patients"] = g["distinct_patients"].sum().to_numpy(dtype="float64")
    lab_pat = _lab_patients_to_date(ev, keys["lab"], keys["end"])
    touched = np.maximum(values["distinct_patients"], values["records_out"])
    values["share_lab_patients"] = touched / np.maximum(lab_pat, params.min_lab_patients)
    _add_baselines(values, keys, unit, params)
    return FeatureTable(unit, keys, values.astype("float64"), ("lab", "account", period))
