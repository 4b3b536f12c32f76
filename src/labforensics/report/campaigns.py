"""What the report's "Campaigns" section shows (``templates/campaigns.html.j2``).

Every flagged campaign (:func:`labforensics.detect.campaigns.group_campaigns`) is
listed on one line, with its best sessions in a ``<details>`` element; one figure
per lab marks every flagged session of that lab on the row of its campaign.
The counts stated in the text are those of the table the section lists and of
the marks the figures draw (``tests/report/test_campaigns_section.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..detect.campaign_files import CampaignFiles
from ..detect.campaigns import CampaignParams
from ..outputs import json_safe
from ..scored_labs import ScoredLabs, flagged_ids
from ..session_labs import SlimLabs
from . import figures

__all__ = ["BEST_SESSIONS", "OPEN_CAMPAIGNS", "campaigns_view", "flagged_sessions"]

#: Best sessions (highest scores) shown under each flagged campaign.
BEST_SESSIONS = 3
#: Flagged campaigns whose best sessions are shown open (the rest: one click); None: all
#: of them (issue 16: every flagged campaign with its best sessions expanded, and a closed
#: <details> stays closed in report.pdf).
OPEN_CAMPAIGNS: int | None = None

_SESSION_COLUMNS = ("lab", "account", "start", "end", "records_exported", "records_extracted",
                    "distinct_patients")  # fmt: skip


def _ids_frame(campaigns: pd.DataFrame) -> pd.DataFrame:
    """(campaign position, session_id) of every session of the given campaigns."""
    ids = campaigns["session_ids"]
    e = pd.Series([list(v) if v is not None else [] for v in ids], dtype=object).explode()
    e = e[e.notna()]  # one list per campaign above; exploded in C below
    return pd.DataFrame({"pos": e.index.to_numpy("int64"), "session_id": e.astype(str).to_numpy()})


def flagged_sessions(
    session_scores: pd.DataFrame | ScoredLabs | None,
    sessions: pd.DataFrame | SlimLabs | None,
) -> pd.DataFrame | None:
    """Every flagged session with its lab and start (UTC), or None when it cannot be told.

    Parameters
    ----------
    session_scores : pandas.DataFrame or None
        ``session_id``, ``flagged`` (every scored session, not a top-N).
    sessions : pandas.DataFrame, SlimLabs or None
        ``session_id``, ``lab``, ``start`` (kept a file a lab: the flagged sessions'
        rows are read, :meth:`~labforensics.session_labs.SlimLabs.having`).

    Returns
    -------
    pandas.DataFrame or None
        ``session_id``, ``lab``, ``start`` (datetime64[ns, UTC]), sorted by
        (``start``, ``session_id``).
    """
    if session_scores is None or sessions is None or "flagged" not in session_scores.columns:
        return None
    if not {"session_id", "lab", "start"} <= set(sessions.columns):
        return None
    ids = flagged_ids(session_scores)  # kept a file a lab: read lab by lab
    if isinstance(sessions, SlimLabs):  # a file a lab: only the flagged sessions' rows read
        sessions = sessions.having(ids)
    s = sessions[["session_id", "lab", "start"]].drop_duplicates("session_id")
    s = s[s["session_id"].astype(str).isin(set(ids.astype(str)))].copy()
    s["start"] = pd.to_datetime(s["start"], utc=True)
    return s.sort_values(["start", "session_id"], kind="stable").reset_index(drop=True)


def _best_sessions(
    flagged: pd.DataFrame, session_scores: pd.DataFrame | ScoredLabs | None,
    sessions: pd.DataFrame | SlimLabs | None,
) -> pd.DataFrame:  # fmt: skip
    """The :data:`BEST_SESSIONS` best sessions of each flagged campaign, with their facts."""
    pairs = _ids_frame(flagged)
    if isinstance(sessions, SlimLabs):  # a file a lab: only these sessions' rows read
        sessions = sessions.having(pairs["session_id"])
    if session_scores is not None and "session_id" in session_scores.columns:
        cols = [c for c in ("session_id", "score", "rank", "flagged", "reasons")
                if c in session_scores.columns]  # fmt: skip
        if isinstance(session_scores, ScoredLabs):  # a file a lab: these sessions' rows only
            sc = session_scores.having(pairs["session_id"])[cols].drop_duplicates("session_id")
        else:
            sc = session_scores[cols].drop_duplicates("session_id")
        pairs = pairs.merge(sc.assign(session_id=sc["session_id"].astype(str)), on="session_id",
                            how="left")  # fmt: skip
    if sessions is not None and "session_id" in sessions:
        cols = ["session_id", *(c for c in _SESSION_COLUMNS if c in sessions.columns)]
        ss = sessions[cols].drop_duplicates("session_id")
        pairs = pairs.merge(ss.assign(session_id=ss["session_id"].astype(str)), on="session_id",
                            how="left")  # fmt: skip
    if "score" not in pairs:
        pairs["score"] = np.nan
    pairs["_s"] = pd.to_numeric(pairs["score"], errors="coerce").fillna(-np.inf)
    pairs = pairs.sort_values(["pos", "_s", "session_id"], ascending=[True, False, True],
                              kind="stable")  # fmt: skip
    return pairs[pairs.groupby("pos").cumcount() < BEST_SESSIONS].drop(columns="_s")


def _reasons_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, str):
        return v
    return "; ".join(str(x) for x in v)


_SIGNATURE_TEXT = {
    "activity_flagged": "the same kind of activity (export or extraction, failed logins then a "
    "login, reading patients, administration), flagged and routine sessions apart",
    "activity": "the same kind of activity (export or extraction, failed logins then a login, "
    "reading patients, administration)",
    "rules": "the same detection rules fired (else the same kind of activity)",
}


#: An activity class in words where its code is not plain English.
_ACTIVITY_TEXT = {"failed_login": "failed logins then a login (suspected account takeover)"}


def _gap_text(params: Mapping[str, Any] | None) -> str:
    """The campaigns' grouping gap in words (``gap`` in seconds, as in findings.json)."""
    g = (params or {}).get("gap")
    sec = (
        float(g) if isinstance(g, int | float) else CampaignParams().gap.total_seconds()
    )  # the default when the parameters were not recorded
    days = sec / 86400
    return f"{days:g} day(s)" if days >= 1 else f"{sec / 3600:g} hour(s)"


def _minutes(start: Any, end: Any) -> float | None:
    """A session's duration in minutes (one decimal), None when a bound is missing."""
    if not start or not end:
        return None
    return round((pd.Timestamp(end) - pd.Timestamp(start)).total_seconds() / 60, 1)


def _as_logged(r: Any) -> str:
    """A campaign's account as logged where it differs (``account_as_logged``), else ""."""
    v = getattr(r, "account_as_logged", None)
    return v if isinstance(v, str) else ""


def _label(rank: int, account: Any) -> str:
    return f"#{rank:,} · {account if isinstance(account, str) else '(no account)'}"


def _lab_figures(flagged: pd.DataFrame, fs: pd.DataFrame, tz: str) -> list[dict[str, Any]]:
    """One figure per lab with a flagged campaign: every flagged session, on its campaign's row."""
    pairs = _ids_frame(flagged)
    pairs = pairs[pairs["session_id"].isin(set(fs["session_id"].astype(str)))]
    pts = pairs.merge(fs.assign(session_id=fs["session_id"].astype(str))[["session_id", "start"]],
                      on="session_id")  # fmt: skip
    meta = flagged.reset_index(drop=True)
    pts["lab"] = meta["lab"].astype(str).to_numpy()[pts["pos"].to_numpy()]
    pts["order"] = meta["rank"].to_numpy()[pts["pos"].to_numpy()]
    shown = [_as_logged(r) or r.account for r in meta.itertuples(index=False)]  # as logged
    pts["row"] = [_label(r, shown[i]) for r, i in zip(pts["order"], pts["pos"], strict=True)]
    pts["start"] = pts["start"].dt.tz_convert(tz).dt.tz_localize(None)
    out = []
    for lab, p in pts.groupby("lab", sort=True):  # one figure per lab
        n_c = int(p["pos"].nunique())
        title = f"{lab}: every flagged session ({len(p):,}) by flagged campaign ({n_c:,})"
        out.append({
            "lab": lab, "n_sessions": int(len(p)), "n_campaigns": n_c,
            "alt": title,
            "uri": figures.data_uri(figures.png_bytes(lambda p=p, title=title: (
                figures.lab_flagged_sessions(p, title=title, xlabel=f"local time ({tz})")))),
        })  # fmt: skip
    return out


def _exports_per_campaign(
    flagged: pd.DataFrame, exports: pd.DataFrame | None
) -> dict[int, tuple[int, int]]:
    """Campaign position -> (exports and extractions, records) of all its sessions."""
    if exports is None or not len(exports) or "session_id" not in exports:
        return {}
    pairs = _ids_frame(flagged)
    e = pd.DataFrame({"session_id": exports["session_id"].astype(str).to_numpy(),
                      "records": pd.to_numeric(exports.get("records"), errors="coerce")
                      .fillna(0).astype("int64").to_numpy()})  # fmt: skip
    m = pairs.merge(e, on="session_id")
    g = m.groupby("pos")["records"].agg(["size", "sum"])
    return {int(p): (int(r["size"]), int(r["sum"])) for p, r in g.iterrows()}


def campaigns_view(
    campaigns: pd.DataFrame | CampaignFiles | None,
    *,
    session_scores: pd.DataFrame | ScoredLabs | None,
    sessions: pd.DataFrame | None,
    when: Callable[..., str],
    tz: str,
    params: Mapping[str, Any] | None = None,
    exports: pd.DataFrame | None = None,
    takeovers: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, Any] | None:
    """What the "Campaigns" section shows; None when no campaign table was given.

    Parameters
    ----------
    campaigns : pandas.DataFrame, CampaignFiles or None
        :func:`~labforensics.detect.campaigns.group_campaigns` output (``campaigns.parquet``);
        kept a file a lab (:class:`~labforensics.detect.campaign_files.CampaignFiles`),
        only the flagged campaigns are read.
    session_scores : pandas.DataFrame or None
        Session scores (``session_id``, ``score``, ``rank``, ``flagged``, ``reasons``).
    sessions : pandas.DataFrame or None
        The session table (``lab``, ``start``, ``end``, records, patients).
    when : callable
        :func:`labforensics.report.html.make_formatter` of the case's zone.
    tz : str
        The case's time zone (figure axes in local time).
    params : mapping, optional
        ``findings["parameters"]["campaigns"]`` (``gap`` in seconds, ``signature``),
        stated in the text; the defaults of
        :class:`~labforensics.detect.campaigns.CampaignParams` when missing.
    exports : pandas.DataFrame, optional
        ``exports.parquet`` (``session_id``, ``records``): each campaign's line counts
        the exports and extractions of all its sessions (the basis of section 5c), not
        only those of the best session its reasons quote.
    takeovers : mapping, optional
        (lab, account) -> words (:func:`labforensics.report.summary.takeovers`): the
        campaign of an account taken over says so.

    Returns
    -------
    dict or None
        ``n_total``, ``n_flagged`` (flagged campaigns, = ``len(rows)``),
        ``n_flagged_sessions``, ``gap``, ``rows`` (one dict per flagged campaign:
        the line's texts and its ``best`` sessions), ``open`` (rows shown open),
        ``labs`` (one figure per lab: ``lab``, ``uri``, ``alt``, ``n_sessions``,
        ``n_campaigns``).
    """
    if campaigns is None:
        return None
    sig = (params or {}).get("signature") or CampaignParams().signature
    if isinstance(campaigns, CampaignFiles):  # a file a lab: the flagged rows read
        c, flagged = campaigns, campaigns.flagged()
    else:
        c = campaigns.sort_values("rank", kind="stable").reset_index(drop=True)
        flagged = c[c["flagged"].astype(bool)].reset_index(drop=True)
    best = _best_sessions(flagged, session_scores, sessions) if len(flagged) else pd.DataFrame()
    rows = []
    for i, r in enumerate(flagged.itertuples(index=False)):  # one per flagged campaign
        b = best[best["pos"] == i] if len(best) else best
        rows.append({
            "campaign_id": r.campaign_id, "rank": int(r.rank), "lab": r.lab,
            "account": r.account if isinstance(r.account, str) else "(no account)",
            "account_as_logged": _as_logged(r),
            "account_kind": r.account_kind if isinstance(r.account_kind, str) else "",
            "activity": _ACTIVITY_TEXT.get(str(r.activity), str(r.activity).replace("_", " "))
            if isinstance(r.activity, str) else "",
            "first": when(r.first, seconds=False), "last": when(r.last, seconds=False),
            "n_sessions": int(r.n_sessions), "n_flagged": int(r.n_flagged),
            "score": float(r.score), "reasons": _reasons_text(r.reasons),
            "best": [{
                "rank": s.get("rank"), "session_id": s.get("session_id"),
                "start": s.get("start"), "minutes": _minutes(s.get("start"), s.get("end")),
                "records_exported": s.get("records_exported"),
                "records_extracted": s.get("records_extracted"),
                "distinct_patients": s.get("distinct_patients"), "score": s.get("score"),
                "reasons": _reasons_text(s.get("reasons")),
            } for s in json_safe(b.drop(columns="pos"))] if len(b) else [],
        })  # fmt: skip
    ops = _exports_per_campaign(flagged, exports) if len(flagged) else {}
    for i, row in enumerate(rows):
        n, rec = ops.get(i, (0, 0))
        row["exports"] = (f"{n:,} export(s)/extraction(s), {rec:,} records, in its "
                          f"{row['n_sessions']:,} session(s)" if n else "")  # fmt: skip
        row["takeover"] = (takeovers or {}).get((str(row["lab"]), str(row["account"])), "")
    fs = flagged_sessions(session_scores, sessions)
    labs = _lab_figures(flagged, fs, tz) if fs is not None and len(flagged) else []
    return {
        "n_total": int(len(c)),
        "n_flagged": len(rows),
        "n_flagged_sessions": int(flagged["n_flagged"].sum()) if len(flagged) else 0,
        "gap": _gap_text(params),
        "signature": _SIGNATURE_TEXT.get(str(sig), str(sig)),
        "rows": rows,
        "open": len(rows) if OPEN_CAMPAIGNS is None else OPEN_CAMPAIGNS,
        "best_n": BEST_SESSIONS,
        "labs": labs,
    }
