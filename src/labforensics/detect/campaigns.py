"""Campaigns: sessions of one account doing the same thing, one line per story.

A ranking of sessions shows one incident many times: forty near-identical
exports of one hotline account fill the top forty ranks and push a second
incident out of sight. :func:`group_campaigns` groups the sessions of one
(``lab``, ``account``) that share an **activity signature** and follow one
another with no pause longer than a **gap**, so that the ranking of campaigns
shows distinct stories with their size, first and last session. The session
ranking stays as it is (``scores.parquet``); ``campaigns.parquet`` is a view of it.

Activity signature (:attr:`CampaignParams.signature`)
-----------------------------------------------------
``"activity_flagged"`` (default)
    The session's activity class (:func:`activity_class`) and whether it is
    flagged. Flagged sessions never share a campaign with the account's routine
    sessions, so a campaign of an incident is not diluted by routine work, while
    a campaign's sessions that fire slightly different rules (a night export
    among day exports) stay together.
``"rules"``
    The set of session rules fired (``rule_<id>`` > 0), else the activity class.
``"activity"``
    The activity class alone.

Activity classes, the first that applies (most consequential for the data first):
``export`` (an export or extraction), ``failed_login`` (failed logins before the
login), ``patient_reading`` (reads, queries, prints, emergency access, or
patients touched), ``administration`` (updates, validations, transmissions,
purges, identity changes, jobs, other actions), ``other``.

Every session belongs to exactly one campaign, routine sessions included (the
ranking covers all); a session without an account is a campaign of its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._validation import Duration, Interval, OneOf, constrained, validate
from ..errors import SchemaError
from ..outputs import json_safe
from ..schema import STRING, STRING_LIST, check_table

__all__ = [
    "ACTIVITY_CLASSES",
    "CAMPAIGN_COLUMNS",
    "CampaignParams",
    "activity_class",
    "campaign_findings",
    "group_campaigns",
]

#: Activity classes in order of precedence (the first that applies names the session).
ACTIVITY_CLASSES: tuple[str, ...] = (
    "export",
    "failed_login",
    "patient_reading",
    "administration",
    "other",
)

#: Session columns (counts) that put a session in each class; a column absent from the
#: table counts as zero.
_CLASS_COLUMNS: dict[str, tuple[str, ...]] = {
    "export": ("n_export", "n_extract", "records_exported", "records_extracted"),
    "failed_login": ("failed_logins_before",),
    "patient_reading": ("n_read", "n_query", "n_print", "n_break_glass", "distinct_patients"),
    "administration": ("n_update", "n_validate", "n_transmit", "n_purge", "n_privilege",
                       "n_job", "n_other"),
}  # fmt: skip

#: Columns of :func:`group_campaigns`' table, in order.
CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "campaign_id",
    "rank",
    "lab",
    "account",
    "first",
    "last",
    "n_sessions",
    "session_ids",
    "score",
    "flagged",
    "reasons",
    "n_flagged",
    "best_session_id",
    "account_kind",
    "activity",
    "rules",
)

#: Campaigns listed one by one in findings.json (every campaign is in campaigns.parquet).
TOP_CAMPAIGNS = 20
#: Flagged campaigns listed in findings.json beyond the top ones, at most.
MORE_FLAGGED = 500


@dataclass(frozen=True)
class CampaignParams:
    """Knobs of :func:`group_campaigns`.

    Attributes
    ----------
    gap : pandas.Timedelta, > 0
        Longest pause between two successive sessions of one campaign (from the
        latest end so far to the next start). Default 7 days, one working week:
        laboratory work runs on a weekly cycle (weekday rotas, weekend on-call,
        a vendor's weekly support slot), so an account that resumes the same
        activity within a week, weekend included, is continuing the same piece
        of work, while a pause longer than a full week is a new episode. A
        campaign spread thinner than one session a week (low and slow) is split
        into several campaigns, each still ranked by its best session.
    signature : {"activity_flagged", "rules", "activity"}
        What "doing the same thing" means (module doc).
    n_reasons : int, >= 1
        Reasons kept per campaign (distinct, most frequent first).

    Raises
    ------
    ParameterError
        A value outside its allowed range (naming the field and the range).
    """

    gap: pd.Timedelta = constrained(pd.Timedelta(days=7), Duration(low_open=True))
    signature: str = constrained(
        "activity_flagged", OneOf(("activity_flagged", "rules", "activity"))
    )
    n_reasons: int = constrained(5, Interval(1, None, integer=True))

    def __post_init__(self) -> None:
        validate(self)


def _count(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return pd.to_numeric(df[col], errors="coerce").fillna(0).to_numpy(dtype="float64") > 0


def activity_class(sessions: pd.DataFrame) -> np.ndarray:
    """The activity class of each session (module doc), vectorised.

    Parameters
    ----------
    sessions : pandas.DataFrame
        ``(n, ...)`` session table (:data:`~labforensics.schema.SESSION_COLUMNS`);
        any count column it lacks counts as zero.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` object array of strings among :data:`ACTIVITY_CLASSES`.
    """
    conds = []
    for cls in ACTIVITY_CLASSES[:-1]:
        c = np.zeros(len(sessions), dtype=bool)
        for col in _CLASS_COLUMNS[cls]:
            c |= _count(sessions, col)
        conds.append(c)
    return np.select(conds, list(ACTIVITY_CLASSES[:-1]), ACTIVITY_CLASSES[-1]).astype(object)


def _empty() -> pd.DataFrame:
    dtypes: dict[str, Any] = {
        "campaign_id": STRING, "rank": "int64", "lab": STRING, "account": STRING,
        "first": "datetime64[ns, UTC]", "last": "datetime64[ns, UTC]", "n_sessions": "int64",
        "session_ids": STRING_LIST, "score": "float64", "flagged": "bool", "reasons": STRING_LIST,
        "n_flagged": "int64", "best_session_id": STRING, "account_kind": STRING,
        "activity": STRING, "rules": STRING_LIST,
    }  # fmt: skip
    return pd.DataFrame({c: pd.Series([], dtype=dtypes[c]) for c in CAMPAIGN_COLUMNS})


def _utc_ns(s: pd.Series) -> np.ndarray:
    return pd.to_datetime(s, utc=True).dt.as_unit("ns").to_numpy("datetime64[ns]").view("int64")


def _session_frame(session_scores: pd.DataFrame, sessions: pd.DataFrame | None) -> pd.DataFrame:
    """One row per scored session: keys, times, score, flag, activity, reasons, rule columns."""
    check_table(session_scores, ("session_id", "score", "flagged"), "group_campaigns: scores")
    sc = session_scores.reset_index(drop=True)
    if sc["session_id"].isna().any():
        raise SchemaError("group_campaigns: a scored session has no session_id")
    if sc["session_id"].duplicated().any():
        dup = sc.loc[sc["session_id"].duplicated(), "session_id"].iloc[0]
        raise SchemaError(f"group_campaigns: session_id {dup!r} is scored twice")
    if sessions is not None:
        check_table(
            sessions, ("session_id", "lab", "account", "start"), "group_campaigns: sessions"
        )
        ss = sessions.drop_duplicates("session_id")
        where = pd.Index(ss["session_id"].astype(str).to_numpy(dtype=object)).get_indexer(
            sc["session_id"].astype(str).to_numpy(dtype=object)
        )
        if (where < 0).any():
            raise SchemaError(
                f"group_campaigns: {int((where < 0).sum())} scored session(s) are not in the "
                f"session table, e.g. {sc['session_id'].iloc[int(np.argmax(where < 0))]!r}"
            )
        ss = ss.iloc[where].reset_index(drop=True)
    else:
        check_table(sc, ("lab", "account", "start"), "group_campaigns: scores without sessions")
        ss = sc
    out = pd.DataFrame({"session_id": sc["session_id"].astype(str).to_numpy(dtype=object)})
    for k in ("lab", "account", "account_kind"):
        src = ss if k in ss.columns else sc
        out[k] = src[k].astype(STRING).array if k in src.columns else pd.NA
    src = ss if "start" in ss.columns else sc
    out["start_ns"] = _utc_ns(src["start"])
    end = ss["end"] if "end" in ss.columns else sc["end"] if "end" in sc.columns else None
    end_ns = _utc_ns(end.where(end.notna(), src["start"])) if end is not None else out["start_ns"]
    out["end_ns"] = np.maximum(end_ns, out["start_ns"].to_numpy())
    out["score"] = pd.to_numeric(sc["score"], errors="coerce").astype("float64").to_numpy()
    out["flagged"] = sc["flagged"].fillna(False).astype(bool).to_numpy()
    out["activity"] = activity_class(ss)
    if "reasons" in sc.columns:
        out["reasons"] = sc["reasons"].array
    for c in sorted(c for c in sc.columns if str(c).startswith("rule_") and c != "rules_score"):
        out[c] = pd.to_numeric(sc[c], errors="coerce").fillna(0).to_numpy() > 0
    return out


def _signature(t: pd.DataFrame, how: str) -> np.ndarray:
    act = t["activity"].to_numpy(dtype=object)
    if how == "activity":
        return act
    if how == "activity_flagged":
        return act + np.where(t["flagged"].to_numpy(), "|flagged", "|routine").astype(object)
    rule_cols = [c for c in t.columns if str(c).startswith("rule_")]
    fired = np.full(len(t), "", dtype=object)
    for c in rule_cols:  # one per rule (a handful)
        fired = fired + np.where(t[c].to_numpy(), c[5:] + ",", "").astype(object)
    return np.where(fired != "", "rules:" + fired, act).astype(object)


def _list_column(offsets: np.ndarray, values: pa.Array) -> pd.Series:
    arr = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), dtype=STRING_LIST)


def _grouped_list(cid: np.ndarray, text: np.ndarray, n: int) -> pd.Series:
    """A list per campaign ``0..n-1`` from (campaign, item) pairs already in item order."""
    counts = np.bincount(cid.astype("int64"), minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return _list_column(offsets, pa.array(list(text), type=pa.string()))


_NUMBER = r"\d[\d,.]*"


def _exploded_reasons(reasons: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(row position, reason text) pairs of a reasons column: lists, ``"; "``-joined text or None."""
    if isinstance(reasons.dtype, pd.ArrowDtype) and pa.types.is_list(reasons.dtype.pyarrow_dtype):
        arr = pa.array(reasons.array)
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        pos = np.asarray(pa.compute.list_parent_indices(arr)).astype("int64")
        text = np.asarray(pa.compute.list_flatten(arr).to_pylist(), dtype=object)
    else:
        s = pd.Series(reasons.to_numpy(dtype=object))
        s = s[s.notna()]
        if len(s) and isinstance(s.iloc[0], str):  # a text column: reasons joined by "; "
            s = s.astype(str).str.split(";")
        s = s.explode()  # lists (or arrays, as read from Parquet): one row per reason
        s = s[s.notna()].astype(str).str.strip()
        s = s[s != ""]
        pos, text = s.index.to_numpy(dtype="int64"), s.to_numpy(dtype=object)
    keep = pd.notna(text)
    return pos[keep], text[keep]


def _campaign_reasons(t: pd.DataFrame, cid: np.ndarray, n: int, n_reasons: int) -> pd.Series:
    """Distinct reasons per campaign, most frequent first (numbers ignored when counting)."""
    if "reasons" not in t.columns or t["reasons"].isna().all():
        return _grouped_list(np.zeros(0, dtype="int64"), np.zeros(0, dtype=object), n)
    pos, text = _exploded_reasons(t["reasons"])
    r = pd.DataFrame({"pos": pos, "text": text, "item": np.arange(len(pos))})
    r["cid"] = cid[pos]
    r["score"] = t["score"].to_numpy()[pos]
    # the same reason with other figures ("12 records" / "40 records") is one reason
    r["shape"] = r["text"].astype(str).str.replace(_NUMBER, "#", regex=True)
    r = r.drop_duplicates(["pos", "shape"])
    # best session first, each session's reasons in their own order (rules first)
    r = r.sort_values(["cid", "score", "pos", "item"], ascending=[True, False, True, True],
                      kind="mergesort", na_position="last")  # fmt: skip
    g = r.groupby(["cid", "shape"], sort=False)
    best = g.head(1).copy()  # the wording of the best session giving that reason
    best["n"] = g["pos"].transform("size")[best.index].to_numpy()
    best["order"] = np.arange(len(best))
    best = best.sort_values(["cid", "n", "order"], ascending=[True, False, True], kind="mergesort")
    best = best[best.groupby("cid", sort=False).cumcount() < n_reasons]
    return _grouped_list(best["cid"].to_numpy(), best["text"].to_numpy(dtype=object), n)


def _campaign_ids(lab: np.ndarray, account: np.ndarray, first_sid: np.ndarray) -> np.ndarray:
    """``C`` + 12 hex digits of SHA-256(lab, account, first session id): stable, rank-free."""
    return np.array(
        [
            "C" + hashlib.sha256(f"{a}\x1f{b}\x1f{c}".encode()).hexdigest()[:12]
            for a, b, c in zip(lab, account, first_sid, strict=True)
        ],  # one per campaign
        dtype=object,
    )


def group_campaigns(
    session_scores: pd.DataFrame,
    sessions: pd.DataFrame | None = None,
    *,
    params: CampaignParams | None = None,
) -> pd.DataFrame:
    """Group scored sessions into campaigns and rank the campaigns by their best session.

    Sessions of one (``lab``, ``account``) with the same activity signature
    (:class:`CampaignParams`) form one campaign as long as each starts no more
    than ``params.gap`` after the latest end of the ones before it (sort, then a
    cumulative sum over the breaks: no loop per session).

    Parameters
    ----------
    session_scores : pandas.DataFrame
        One row per session: ``session_id``, ``score`` (float), ``flagged`` (bool),
        optionally ``reasons`` (list of strings, or text joined by ``"; "``) and
        ``rule_<id>`` columns (:attr:`labforensics.detect.Scores.session`, or
        :func:`labforensics.report.findings.session_scores_table` with ``sessions``).
    sessions : pandas.DataFrame, optional
        The session table (``session_id``, ``lab``, ``account``, ``start``, ``end``,
        ``account_kind`` and the activity counts ``n_<action>``,
        ``records_exported`` ...). Without it, ``session_scores`` must carry
        ``lab``, ``account``, ``start`` (and the activity is ``other`` unless
        it carries the counts too).
    params : CampaignParams, optional
        ``CampaignParams()`` when omitted.

    Returns
    -------
    pandas.DataFrame
        One row per campaign, sorted by ``rank``, columns :data:`CAMPAIGN_COLUMNS`:
        ``campaign_id`` (string, ``C`` + 12 hex digits of SHA-256 of lab, account
        and first session id: the same campaign keeps its id whatever its rank),
        ``rank`` (int64, 1 = highest score; ties: earlier ``first``, then id),
        ``lab``, ``account`` (string), ``first`` (start of the first session),
        ``last`` (end of the last-ending session; datetime64[ns, UTC]),
        ``n_sessions`` (int64), ``session_ids`` (list<string>, in start order),
        ``score`` (float64, the best session's), ``flagged`` (bool, any session
        flagged), ``reasons`` (list<string>, distinct reasons of its sessions,
        most frequent first, counted with their figures ignored and worded as in
        the best session giving them; at most ``params.n_reasons``),
        ``n_flagged`` (int64), ``best_session_id`` (string), ``account_kind``
        (string), ``activity`` (string, the best session's activity class),
        ``rules`` (list<string>, session rules fired in any of its sessions).
        The same sessions in any row order give an identical table.

    Raises
    ------
    labforensics.errors.SchemaError
        When a required column is missing (``MissingColumnsError``), a session id
        is missing or repeated, or a scored session is not in ``sessions``.
    """
    params = params or CampaignParams()
    t = _session_frame(session_scores, sessions)
    if t.empty:
        return _empty()
    lab = t["lab"].astype("string").fillna("").to_numpy(dtype=object)
    no_acct = t["account"].isna().to_numpy()
    acct = t["account"].astype("string").fillna("").to_numpy(dtype=object)
    sig = _signature(t, params.signature)
    key = pd.DataFrame({"lab": lab, "acct": acct, "sig": sig, "start": t["start_ns"].to_numpy(),
                        "sid": t["session_id"].to_numpy(dtype=object)})  # fmt: skip
    order = key.sort_values(["lab", "acct", "sig", "start", "sid"], kind="mergesort").index
    order = order.to_numpy()
    t = t.iloc[order].reset_index(drop=True)
    key = key.iloc[order].reset_index(drop=True)
    no_acct = no_acct[order]
    n = len(t)
    same = np.zeros(n, dtype=bool)
    same[1:] = True
    for c in ("lab", "acct", "sig"):  # rows sorted: a change of key starts a new group
        v = key[c].to_numpy(dtype=object)
        same[1:] &= v[1:] == v[:-1]
    grp = np.cumsum(~same)
    start = t["start_ns"].to_numpy()
    end_max = pd.Series(t["end_ns"].to_numpy()).groupby(grp, sort=False).cummax().to_numpy()
    gap_ok = np.zeros(n, dtype=bool)
    gap_ok[1:] = (start[1:] - end_max[:-1]) <= params.gap.value
    new = ~(same & gap_ok) | no_acct
    cid = np.cumsum(new) - 1
    bounds = np.flatnonzero(new)
    m = len(bounds)

    score = t["score"].to_numpy()
    flagged = t["flagged"].to_numpy()
    sort_score = np.where(np.isnan(score), -np.inf, score)
    best = np.lexsort((np.arange(n), -sort_score, cid))
    best_pos = best[np.concatenate([[True], cid[best][1:] != cid[best][:-1]])]
    n_sess = np.diff(np.append(bounds, n))
    sids = t["session_id"].to_numpy(dtype=object)
    rule_cols = [c for c in t.columns if str(c).startswith("rule_")]
    rc, rt = [], []
    for c in rule_cols:  # one per rule
        hit = np.flatnonzero(np.maximum.reduceat(t[c].to_numpy().astype("int8"), bounds) > 0)
        rc.append(hit)
        rt.append(np.full(len(hit), c[5:], dtype=object))
    rc_a = np.concatenate(rc) if rc else np.zeros(0, dtype="int64")
    rt_a = np.concatenate(rt) if rt else np.zeros(0, dtype=object)
    ro = np.lexsort((rt_a.astype(str), rc_a)) if len(rc_a) else np.zeros(0, dtype="int64")

    out = pd.DataFrame({
        "campaign_id": pd.array(_campaign_ids(lab[order][bounds], acct[order][bounds],
                                              sids[bounds]), dtype=STRING),
        "lab": pd.array(t["lab"].to_numpy()[bounds], dtype=STRING),
        "account": pd.array(t["account"].to_numpy()[bounds], dtype=STRING),
        "first": pd.to_datetime(start[bounds], utc=True).as_unit("ns"),
        "last": pd.to_datetime(np.maximum.reduceat(t["end_ns"].to_numpy(), bounds),
                               utc=True).as_unit("ns"),
        "n_sessions": n_sess.astype("int64"),
        "session_ids": _list_column(np.append(bounds, n), pa.array(list(sids), pa.string())),
        "score": score[best_pos].astype("float64"),
        "flagged": np.maximum.reduceat(flagged.astype("int8"), bounds) > 0,
        "reasons": _campaign_reasons(t, cid, m, params.n_reasons),
        "n_flagged": np.add.reduceat(flagged.astype("int64"), bounds),
        "best_session_id": pd.array(sids[best_pos], dtype=STRING),
        "account_kind": pd.array(t["account_kind"].astype("string").to_numpy()[bounds],
                                 dtype=STRING),
        "activity": pd.array(t["activity"].to_numpy(dtype=object)[best_pos], dtype=STRING),
        "rules": _grouped_list(rc_a[ro], rt_a[ro], m),
    })  # fmt: skip
    cs = np.where(np.isnan(out["score"].to_numpy()), -np.inf, out["score"].to_numpy())
    rank_order = np.lexsort((out["campaign_id"].astype(str).to_numpy(),
                             start[bounds], -cs))  # fmt: skip
    out = out.iloc[rank_order].reset_index(drop=True)
    out.insert(1, "rank", np.arange(1, m + 1, dtype="int64"))
    return out[list(CAMPAIGN_COLUMNS)]


def campaign_findings(campaigns: pd.DataFrame, top: int = TOP_CAMPAIGNS) -> dict[str, Any]:
    """The ``campaigns`` section of ``findings.json``: counts and the best campaigns.

    Parameters
    ----------
    campaigns : pandas.DataFrame
        :func:`group_campaigns` output.
    top : int
        Campaigns listed by rank; every flagged campaign ranked below them is
        listed too (at most :data:`MORE_FLAGGED` more), so that no flagged story is
        missing from the findings and the first screen.

    Returns
    -------
    dict
        ``count``, ``flagged`` (campaigns), ``flagged_sessions`` (sessions in flagged
        campaigns that are flagged), ``top`` (list of dicts: ``campaign_id``,
        ``rank``, ``lab``, ``account``, ``account_kind``, ``activity``, ``first``,
        ``last``, ``n_sessions``, ``n_flagged``, ``score``, ``flagged``,
        ``best_session_id``, ``reasons``, ``rules``). Pseudonymous identifiers only:
        campaign and session ids, the account as the session table holds it, never
        a patient identifier; the session ids are in ``campaigns.parquet``.
    """
    cols = ["campaign_id", "rank", "lab", "account", "account_kind", "activity", "first",
            "last", "n_sessions", "n_flagged", "score", "flagged", "best_session_id"]  # fmt: skip
    ranked = campaigns.sort_values("rank", kind="stable")
    keep = (np.arange(len(ranked)) < top) | ranked["flagged"].to_numpy(dtype=bool)
    head = ranked[keep].head(top + MORE_FLAGGED)
    rows = json_safe(head[cols])
    for r, reasons, rules in zip(rows, head["reasons"], head["rules"], strict=True):
        r["reasons"] = [str(x) for x in (reasons if reasons is not None else [])]
        r["rules"] = [str(x) for x in (rules if rules is not None else [])]
    return {
        "count": int(len(campaigns)),
        "flagged": int(campaigns["flagged"].sum()) if len(campaigns) else 0,
        "flagged_sessions": int(campaigns["n_flagged"].sum()) if len(campaigns) else 0,
        "top": rows,
    }
