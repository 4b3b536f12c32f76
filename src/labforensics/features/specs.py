"""Feature specifications: unit, minimum scale, direction and neutral value of every
feature column (:data:`FEATURE_SPECS`, :func:`feature_spec`), and the metrics given
baselines (:data:`BASELINE_METRICS`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import LIS_MODULES, ROLE_ACCOUNT_KIND

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
    "night_colleague_nights": _spec(
        "lab-nights", 1, "nights other staff accounts of the role worked at night"
    ),
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
    "records_out_share_lab": _spec(
        "share", 0.01, "records sent out against the lab's known patients (capped at 1)"
    ),
    "records_out_share_lab_raw": _spec(
        "records/patient", 0.01, "records sent out per patient known at the lab"
    ),
    "records_out_own_median": _spec(
        "records", 10, "median records out of the account's own units (records_out_z_own_any)"
    ),
    "lab_patients": _spec("patients", 1, "distinct patients seen at the lab so far"),
    "accessed_patients": _spec(
        "patients", 1, "distinct patients read (reads whose explanation is undetermined left out)"
    ),
    "unexplained_patients": _spec(
        "patients", 1, "patients read with no request, sample or result around the access"
    ),
    "unexplained_share": _spec("share", 0.01, "share of the patients read that are unexplained"),
    "unexplained_p": _spec(
        "probability", 0.01, "chance of so many unexplained patients at the lab's routine rate"
    ),
    "accessed_patients_pooled": _spec(
        "patient-days", 1, "patients read by the account within a week either side (per day)"
    ),
    "unexplained_patients_pooled": _spec(
        "patient-days", 1, "unexplained patients of the account within a week either side"
    ),
    "unexplained_p_pooled": _spec(
        "probability", 0.01, "chance of so many unexplained reads by the account within a week"
    ),
    "unexplained_p_family": _spec(
        "probability", 0.01, "unexplained_p adjusted for every unit tested (Bonferroni)"
    ),
    "unexplained_share_touched": _spec(
        "share", 0.01, "share of the patients touched (read or worked on) that are unexplained"
    ),
    "explain_usable": _spec("flag", 1, "the lab's evidence records its clinical events"),
    "explain_window_days": _spec("days", 1, "explanation window"),
    "lab_explain_usable": _spec("flag", 1, "the lab's evidence records its clinical work"),
    "first_outbound": _spec("flag", 1, "the account's first export or extraction"),
    "n_outbound_account": _spec("count", 1, "the account's sessions sending records out"),
    "regular_job": _spec("flag", 1, "a session of a recurring job (learned from regularity)"),
    # labforensics.features.bulk
    "after_warmup": _spec("flag", 1, "the session starts after the lab's warm-up"),
    "first_bulk_outbound": _spec(
        "flag", 1, "the account's first export or extraction of 500 records or more"
    ),
    "bulk_above_warmup": _spec(
        "flag", 1, "the account's first export of 500 or more after the warm-up, above all before"
    ),
    "n_bulk_outbound_account": _spec(
        "count", 1, "the account's sessions sending 500 records or more out"
    ),
    "records_out_before_max": _spec(
        "records", 10, "most records sent out by an earlier session of the account"
    ),
    "first_whole_base_outbound": _spec(
        "flag", 1, "the account's first export of as many records as the lab's patients"
    ),
    "n_whole_base_outbound_account": _spec(
        "count", 1, "the account's sessions sending out as many records as the lab's patients"
    ),
    # authorisation register (issue 14 item 1): labforensics.features.authorisation
    "ops_beyond": _spec("count", 1, "exports/extractions beyond their authorisation"),
    "ops_unregistered": _spec("count", 1, "exports/extractions with no register row"),
    "ops_undetermined": _spec("count", 1, "exports/extractions, authorisation undetermined"),
    "ops_authorised": _spec("count", 1, "exports/extractions authorised by the register"),
    "ops_unknown": _spec("count", 1, "exports/extractions with no register given"),
    "records_beyond": _spec("records", 10, "records of exports/extractions beyond authorisation"),
    "records_not_authorised": _spec("records", 10, "records exported or extracted, not authorised"),
    "n_unauthorised_outbound_sessions": _spec("count", 1, "sessions sending unauthorised records"),
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
    "_z_own_all": "own history, every activity",
    "_z_own_any": "own history (same activity, else every activity)",
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
    for suf in ("_z_own", "_z_peer_lab", "_z_peer_role", "_z_own_all", "_z_own_any", "_z"):
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
