"""Features from the authorisation statuses of each session's exports and extractions.

:func:`session_authorisation_features` turns the table of
:func:`labforensics.authorisation.assess_exports` into per-session counts;
:func:`add_authorisation_features` adds them to the feature tables built by
:func:`labforensics.features.build_features` (session values, and their sums per
account-day and account-month). Without the exports table every operation counts
as ``unknown``: ``records_not_authorised`` equals ``records_out`` and the rules that
read it behave as they did before the register existed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .tables import FeatureTable

__all__ = ["AUTHORISATION_FEATURES", "add_authorisation_features", "session_authorisation_features"]

#: Per-session columns (float64): operations per status (counts) and records (records).
AUTHORISATION_FEATURES: tuple[str, ...] = (
    "ops_beyond",
    "ops_unregistered",
    "ops_undetermined",
    "ops_authorised",
    "ops_unknown",
    "records_beyond",
    "records_not_authorised",
)
#: Columns summed to account-days and account-months, plus the sessions counted there.
_ROLLED = ("ops_beyond", "records_beyond", "records_not_authorised")


def session_authorisation_features(exports: pd.DataFrame) -> pd.DataFrame:
    """Per-session counts of operations per status and of records not authorised.

    Parameters
    ----------
    exports : pandas.DataFrame
        :func:`labforensics.authorisation.assess_exports`'s table (``session_id``,
        ``status``, ``records``).

    Returns
    -------
    pandas.DataFrame
        One row per ``session_id`` with an operation (sorted), columns
        :data:`AUTHORISATION_FEATURES`, float64: ``ops_<status>`` (operations),
        ``records_beyond`` (records of ``beyond`` operations) and
        ``records_not_authorised`` (records of every operation not ``authorised``:
        ``beyond``, ``unregistered``, ``undetermined`` and ``unknown``). A missing
        record count counts 0.
    """
    e = exports[exports["session_id"].notna()]
    sid = e["session_id"].astype("object").to_numpy()
    st = e["status"].astype("object").to_numpy()
    rec = pd.to_numeric(e["records"], errors="coerce").astype("float64").fillna(0.0).to_numpy()
    cols = {f"ops_{s}": (st == s).astype("float64") for s in
            ("beyond", "unregistered", "undetermined", "authorised", "unknown")}  # fmt: skip
    cols["records_beyond"] = np.where(st == "beyond", rec, 0.0)
    cols["records_not_authorised"] = np.where(st != "authorised", rec, 0.0)
    df = pd.DataFrame(cols)
    df["session_id"] = sid
    out = df.groupby("session_id", sort=True).sum()
    out.index = out.index.astype("string")
    return out[list(AUTHORISATION_FEATURES)].astype("float64")


def add_authorisation_features(
    session: FeatureTable,
    account_day: FeatureTable,
    account_month: FeatureTable,
    exports: pd.DataFrame | None,
    tz: str,
) -> None:
    """Add :data:`AUTHORISATION_FEATURES` to the session table's values (in place), and
    ``ops_beyond``, ``records_beyond``, ``records_not_authorised`` and
    ``n_unauthorised_outbound_sessions`` (sessions with records not authorised) summed
    per account-day and account-month (the local day/month of the session start, as
    the roll-ups). Without ``exports``: every record sent out is ``unknown``
    (``records_not_authorised = records_out``), every ``ops_*`` 0.
    """
    sv = session.values
    if exports is None:
        for c in AUTHORISATION_FEATURES:
            sv[c] = 0.0
        sv["records_not_authorised"] = sv["records_out"].astype("float64")
    else:
        f = session_authorisation_features(exports)
        sid = pd.Index(session.keys["session_id"].astype("string"))
        pos = f.index.get_indexer(sid)
        for c in AUTHORISATION_FEATURES:
            x = np.zeros(len(sid))
            x[pos >= 0] = f[c].to_numpy()[pos[pos >= 0]]
            sv[c] = x
    start = pd.to_datetime(session.keys["start"], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    for table, fmt in ((account_day, "%Y-%m-%d"), (account_month, "%Y-%m")):
        period = "day" if fmt == "%Y-%m-%d" else "month"
        k = pd.DataFrame(
            {
                "lab": session.keys["lab"].astype("object").to_numpy(),
                "account": session.keys["account"].astype("object").to_numpy(),
                period: start.dt.strftime(fmt).astype("object").to_numpy(),
            }
        )
        vals = pd.DataFrame({c: sv[c].to_numpy() for c in _ROLLED})
        vals["n_unauthorised_outbound_sessions"] = (sv["records_not_authorised"] > 0).to_numpy(
            dtype="float64"
        )
        g = pd.concat([k, vals], axis=1).groupby(["lab", "account", period], dropna=False).sum()
        tk = pd.MultiIndex.from_frame(table.keys[["lab", "account", period]].astype("object"))
        got = g.reindex(tk).fillna(0.0)
        for c in got.columns:
            table.values[c] = got[c].to_numpy(dtype="float64")
