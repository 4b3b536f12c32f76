"""Roll-up of session features to account-days and account-months."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._arrays import unique_sorted
from .._keycodes import row_lookup
from ..schema import STRING
from .baselines import _add_baselines
from .explained import Explanation, unit_counts
from .params import FeatureParams
from .tables import FeatureTable


def _period_strings(naive: np.ndarray, period: str) -> np.ndarray:
    """Local ``YYYY-MM-DD`` (day) or ``YYYY-MM`` (month) of naive local instants."""
    unit = "D" if period == "day" else "M"
    p = naive.astype(f"datetime64[{unit}]")
    if len(p) < 64:
        return np.datetime_as_string(p, unit=unit).astype(object)
    # a lab's million events fall on a few hundred days: format each day once
    uniq, inv = np.unique(p, return_inverse=True)
    return np.datetime_as_string(uniq, unit=unit).astype(object)[inv.reshape(-1)]


def _event_units(
    keys: pd.DataFrame,
    period: str,
    ev: pd.DataFrame,
    ev_naive: np.ndarray,
    sel: np.ndarray | None = None,
) -> np.ndarray:
    """Row of ``keys`` (lab, account, local period) of each event (of the events at
    positions ``sel``, default all), -1 when none (int64)."""
    lab, acc = ev["lab"], ev["account"]
    if sel is not None:
        lab, acc, ev_naive = lab.iloc[sel], acc.iloc[sel], ev_naive[sel]
    unit = "datetime64[D]" if period == "day" else "datetime64[M]"
    # the periods as integers: the keys' strings ("YYYY-MM-DD", "YYYY-MM", "NaT") parsed
    # back, the events' instants truncated; equal exactly when the strings are
    kper = np.asarray(keys[period].astype(object).fillna("NaT").to_numpy(), dtype=unit)
    return row_lookup(
        [keys["lab"], keys["account"], kper.view("int64")],
        [lab, acc, ev_naive.astype(unit).view("int64")],
    )


def _distinct_per_unit(
    keys: pd.DataFrame, period: str, ev: pd.DataFrame, ev_naive: np.ndarray, pe: np.ndarray
) -> np.ndarray:
    """Distinct patients of each unit of ``keys`` among the events ``pe`` (with a
    patient), each event in the unit of its own local period (float64, shape
    ``(len(keys),)``; 0 where none)."""
    sel = np.flatnonzero(pe)
    unit = _event_units(keys, period, ev, ev_naive, sel)
    pat = pd.factorize(ev["patient"])[0][sel].astype(np.int64)
    ok = unit >= 0
    radix = int(pat.max()) + 1 if len(pat) else 1
    pairs = unique_sorted(unit[ok] * radix + pat[ok])
    return np.bincount(pairs // radix, minlength=len(keys)).astype("float64")


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


def _lab_shares(
    patients: pd.Series, records_out: pd.Series, lab_pat: np.ndarray, params: FeatureParams
) -> dict[str, pd.Series]:
    """Shares over the lab's distinct patients seen so far (floored denominator).

    ``share_lab_patients`` counts distinct patients, never records, and is capped at
    1; ``records_out_share_lab`` is records out over the same denominator, capped at
    1, its uncapped value kept as ``records_out_share_lab_raw`` (a record is not
    always a patient: a reference table names none); ``lab_patients`` is the
    unfloored denominator (patients).
    """
    den = np.maximum(lab_pat, params.min_lab_patients)
    raw = records_out / den
    return {
        "share_lab_patients": np.minimum(patients / den, 1.0),
        "records_out_share_lab": np.minimum(raw, 1.0),
        "records_out_share_lab_raw": raw,
        "lab_patients": pd.Series(lab_pat, index=patients.index, dtype="float64"),
    }


def _aggregate(
    unit: str,
    period: str,
    naive: np.ndarray,
    skeys: pd.DataFrame,
    sval: pd.DataFrame,
    ev: pd.DataFrame,
    ev_naive: np.ndarray,
    params: FeatureParams,
    ex: Explanation | None = None,
    pat_ev: pd.DataFrame | None = None,
    baselines: bool = True,
) -> FeatureTable:
    """Aggregate session features to (lab, account, period), rows sorted by those keys.

    ``pat_ev``: the events the lab's patients to date are counted from (default ``ev``;
    an account batch gives the lab's first sightings). ``baselines`` False: no
    ``*_z*``/``*_ref`` column (an account batch's, added on the lab's whole table)."""
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
        "first_outbound": g["first_outbound"].max(),
        "n_outbound_account": g["n_outbound_account"].max(),
        # a unit is a job's only when every session in it is
        "regular_job": g["regular_job"].min(),
        "explain_window_days": g["explain_window_days"].max(),
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
        values["distinct_patients"] = _distinct_per_unit(keys, period, ev, ev_naive, pe)
    else:
        values["distinct_patients"] = g["distinct_patients"].sum().to_numpy(dtype="float64")
    lab_pat = _lab_patients_to_date(ev if pat_ev is None else pat_ev, keys["lab"], keys["end"])
    for c, x in _lab_shares(
        values["distinct_patients"], values["records_out"], lab_pat, params
    ).items():
        values[c] = x
    if ex is not None:
        _explained_by_period(values, keys, period, ev, ev_naive, ex)
    if baselines:
        _add_baselines(values, keys, unit, params)
    return FeatureTable(unit, keys, values.astype("float64"), ("lab", "account", period))


def _explained_by_period(
    values: pd.DataFrame,
    keys: pd.DataFrame,
    period: str,
    ev: pd.DataFrame,
    ev_naive: np.ndarray,
    ex: Explanation,
) -> None:
    """Explanation counts per (lab, account, local period of the event), in place."""
    n = len(keys)
    if len(ev):
        group = _event_units(keys, period, ev, ev_naive)
        pat = pd.factorize(ev["patient"])[0]
    else:
        group = pat = np.zeros(0, dtype=np.int64)
    for c, x in unit_counts(group, n, pat, ex).items():
        values[c] = x
