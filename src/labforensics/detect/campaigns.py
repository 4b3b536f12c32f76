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

Campaigns of unexplained reads (:func:`unexplained_groups`)
-----------------------------------------------------------
Snooping on a handful of neighbours over a few short sittings leaves sittings
that are each too weak to flag (2 or 3 unexplained reads: a routine sitting can
hold as many), and unflagged they join the account's routine campaign, whose
score no weak sitting lifts. With ``CampaignParams.unexplained`` on (off by
default, see below) and the
session explanation columns (:data:`EXPLANATION_COLUMNS`,
:mod:`labforensics.features.explained`) given, the sittings of one (``lab``,
``account``) that are not flagged and whose touched patients are mostly
unexplained (``unexplained_share_touched`` >= ``unexplained_share``, the
majority guard of the ``unexplained_patients`` rules) are chained with the
campaign gap into
*groups*; each group of at least two sittings is tested (one sitting is the
session rules' to judge): its sittings' binomial probabilities
(``unexplained_p``) are combined by Fisher's method (Fisher, *Statistical
Methods for Research Workers*, 1932, §21.1: ``-2 sum ln p`` is chi-square with
``2k`` degrees of freedom under the null), and the group is a finding when that
probability times the number of groups formed, single sittings included
(every episode examined; Bonferroni's adjustment, the
family-wise error rate at ``unexplained_alpha`` = 0.05, the convention) is at
most ``unexplained_alpha``. A significant group becomes a campaign of its own
(flagged, rule ``unexplained_campaign``, its score the best session's plus
``unexplained_weight``), so that three weak sittings add up. Flagged sittings
stay in their own campaigns: grouped by their reads they would join an
incident's flagged session to the account's routine ones (a compromised
account's owner reading a few old files), and count twice the weight the
session rules gave their unexplained reads. Caveat: the
sittings are chosen because most of their patients are unexplained, so their
unconditional p-values are small by selection and the combined p-value is
optimistic (discrete binomial p-values make Fisher's method conservative, which
does not offset it); the number of groups formed is the only correction. Measured
(``benchmarks/detection.py --unexplained-campaigns``, session 6): at full size
(30 labs, 22 months) it finds one more snooper of ten (three sittings of 2-3
unknown patients) with no other new flagged campaign, clean included; at small
size (4 labs, 12 weeks: a few dozen groups, so a lax Bonferroni) it flags a
routine two-sitting group (seed 0: 3 of 3 unknown patients) in 3 of 4 clean
cases, one more flagged campaign each. So the test does not hold its 5 %
there, and it is off by default. The valid version, each sitting's p-value
conditioned on its selection (a binomial truncated at the majority), finds
nothing the session rules miss.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import chi2

from .._plural import counted
from .._reasons import split_reasons
from .._validation import Boolean, Duration, Interval, OneOf, constrained, validate
from ..errors import SchemaError
from ..outputs import json_safe
from ..schema import STRING, STRING_LIST, check_table

if TYPE_CHECKING:  # campaign_files imports nothing of this module: no cycle at run time
    from .campaign_files import CampaignFiles

__all__ = [
    "ACTIVITY_CLASSES",
    "CAMPAIGN_COLUMNS",
    "CampaignParams",
    "EXPLANATION_COLUMNS",
    "UNEXPLAINED_RULE",
    "activity_class",
    "campaign_findings",
    "group_campaigns",
    "unexplained_groups",
]

#: Per-session explanation columns (:mod:`labforensics.features.explained`) that
#: :func:`unexplained_groups` reads.
EXPLANATION_COLUMNS: tuple[str, ...] = (
    "accessed_patients",
    "unexplained_patients",
    "unexplained_p",
    "unexplained_share_touched",
    "explain_usable",
)
#: Rule name a significant group of unexplained reads adds to its campaign's ``rules``.
UNEXPLAINED_RULE = "unexplained_campaign"

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

#: Columns of :func:`group_campaigns`' table, in order (``campaigns.parquet`` has
#: ``account_as_logged`` after ``account`` too: the spellings logged where they differ,
#: :func:`labforensics.detect.campaign_labs.group_campaigns_by_lab` with ``events``).
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

_WEEK = pd.Timedelta(days=7)

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
    unexplained : bool
        Form campaigns of sittings with unexplained reads (module doc) when the
        explanation columns are given. Default False: its p-values are optimistic
        (the sittings are selected by their unexplained reads), measured as false
        findings on small clean evidence (module doc).
    unexplained_share : float in (0, 1]
        Least share of a sitting's touched patients that are unexplained for it to
        join a group. Default 0.5, a majority: the guard of the ``unexplained_patients``
        rules (``rules.toml``; our choice, after Fabbri & LeFevre 2011's work
        context of an access).
    unexplained_alpha : float in (0, 1)
        Family-wise error rate of the groups' test (Bonferroni over the groups
        tested). Default 0.05, the conventional level.
    unexplained_weight : float, >= 0
        Added to the best session's score of a significant group: 6, the weight
        of the session rules on unexplained reads (``rules.toml``), so the group
        ranks as a sitting firing one of them.

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
    unexplained: bool = constrained(False, Boolean())
    unexplained_share: float = constrained(0.5, Interval(0.0, 1.0, low_open=True))
    unexplained_alpha: float = constrained(0.05, Interval(0.0, 1.0, low_open=True, high_open=True))
    unexplained_weight: float = constrained(6.0, Interval(0.0, None))

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
    for c in EXPLANATION_COLUMNS:  # the scores' own, else the session table's
        src = sc if c in sc.columns else ss if c in ss.columns else None
        if src is not None:
            out["x_" + c] = pd.to_numeric(src[c], errors="coerce").to_numpy("float64")
    return out


def _explanation(t: pd.DataFrame, explanation: pd.DataFrame | None) -> pd.DataFrame | None:
    """The explanation columns of each row of ``t`` (from ``explanation`` by session id, else
    those carried by the scores or the sessions), or None when none is available."""
    if explanation is not None:
        check_table(explanation, ("session_id", *EXPLANATION_COLUMNS),
                    "group_campaigns: explanation")  # fmt: skip
        e = explanation.drop_duplicates("session_id")
        where = pd.Index(e["session_id"].astype(str).to_numpy(dtype=object)).get_indexer(
            t["session_id"].to_numpy(dtype=object)
        )
        e = e.iloc[np.maximum(where, 0)].reset_index(drop=True)
        x = pd.DataFrame({c: np.where(where >= 0, pd.to_numeric(e[c], errors="coerce")
                                      .to_numpy("float64"), np.nan)
                          for c in EXPLANATION_COLUMNS})  # fmt: skip
    elif all("x_" + c in t.columns for c in EXPLANATION_COLUMNS):
        x = pd.DataFrame({c: t["x_" + c].to_numpy() for c in EXPLANATION_COLUMNS})
    else:
        return None
    for c in ("lab", "account", "account_kind", "start_ns", "end_ns", "flagged"):
        x[c] = t[c].to_numpy()
    return x


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
            s = s.astype(str).map(split_reasons)  # a ";" in parentheses stays
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


def _chain(keys: list[np.ndarray], start: np.ndarray, end: np.ndarray, gap_ns: int) -> np.ndarray:
    """Rows already sorted by (keys, start): a new chain where a key changes or a row
    starts more than ``gap_ns`` after the latest end of its chain so far."""
    n = len(start)
    same = np.zeros(n, dtype=bool)
    same[1:] = True
    for v in keys:  # rows sorted: a change of key starts a new group
        same[1:] &= v[1:] == v[:-1]
    grp = np.cumsum(~same)
    end_max = pd.Series(end).groupby(grp, sort=False).cummax().to_numpy()
    gap_ok = np.zeros(n, dtype=bool)
    gap_ok[1:] = (start[1:] - end_max[:-1]) <= gap_ns
    return ~(same & gap_ok)


def unexplained_groups(
    sessions: pd.DataFrame,
    *,
    gap: pd.Timedelta = _WEEK,
    share: float = 0.5,
    alpha: float = 0.05,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Groups of an account's sittings with mostly unexplained reads, and their test.

    A sitting is a *candidate* when its lab has an explanation signal
    (``explain_usable`` > 0), it has an account that is not a service account,
    it is not flagged (``flagged``, when the column is there), it has at least one
    unexplained patient and ``unexplained_share_touched`` >= ``share``.
    The candidates of one (``lab``, ``account``), in start order, are chained while
    each starts no more than ``gap`` after the latest end before it (the campaign
    gap; routine sittings in between do not break a chain). A group of at least two
    sittings is *tested*: its sittings' ``unexplained_p`` are combined by Fisher's
    method (``X = -2 sum ln p``, chi-square with ``2k`` degrees of freedom, ``k``
    sittings; Fisher 1932), and it is significant when ``min(1, m * p)`` <=
    ``alpha``, ``m`` the number of groups formed (Bonferroni). A group of one
    sitting counts in ``m`` (an episode examined) but is not tested: one sitting
    is the session rules' to judge (``unexplained_patients_sitting`` tests it
    against every sitting of the evidence, a larger family). See the module doc
    for the caveat on selection.

    Parameters
    ----------
    sessions : pandas.DataFrame
        ``(n, ...)``: ``lab``, ``account``, ``start_ns``, ``end_ns`` (int64 ns UTC)
        and the :data:`EXPLANATION_COLUMNS` (float; missing counts as 0, a missing
        ``unexplained_p`` as 1); ``account_kind`` optional (``"service"`` excluded),
        ``flagged`` optional (bool; flagged sittings excluded).
    gap : pandas.Timedelta
        Longest pause inside a group (:attr:`CampaignParams.gap`).
    share : float
        Least share of unexplained touched patients of a candidate sitting.
    alpha : float
        Family-wise error rate.

    Returns
    -------
    group : numpy.ndarray of int64, shape (n,)
        Group of each sitting (``0..g-1``), ``-1`` for a sitting in none.
    groups : pandas.DataFrame
        ``(g, 8)``, one row per group in order of ``group``: ``n_sittings`` (int64),
        ``unexplained`` and ``accessed`` (float64, sums of the sittings' patients),
        ``fisher_stat`` (float64, ``-2 sum ln p``), ``fisher_p`` (float64),
        ``tested`` (bool, at least two sittings), ``p_adjusted`` (float64,
        ``min(1, g * fisher_p)``, ``g`` the groups formed; NaN when not tested),
        ``significant`` (bool).
    """
    n = len(sessions)

    def num(c: str, fill: float) -> np.ndarray:
        if c not in sessions.columns:
            return np.full(n, fill)
        return pd.to_numeric(sessions[c], errors="coerce").fillna(fill).to_numpy("float64")

    une = num("unexplained_patients", 0.0)
    kind = (sessions["account_kind"].astype("string").fillna("").to_numpy(dtype=object)
            if "account_kind" in sessions.columns else np.full(n, "", dtype=object))  # fmt: skip
    cand = ((num("explain_usable", 0.0) > 0) & (une >= 1) & (num("flagged", 0.0) == 0)
            & (num("unexplained_share_touched", 0.0) >= share)
            & sessions["account"].notna().to_numpy() & (kind != "service"))  # fmt: skip
    group = np.full(n, -1, dtype="int64")
    idx = np.flatnonzero(cand)
    cols = ["n_sittings", "unexplained", "accessed", "fisher_stat", "fisher_p", "p_adjusted"]
    if not len(idx):
        empty = pd.DataFrame({c: pd.Series([], dtype="float64") for c in cols})
        return group, empty.astype({"n_sittings": "int64"}).assign(
            tested=pd.Series([], dtype=bool), significant=pd.Series([], dtype=bool)
        )[[*cols[:5], "tested", "p_adjusted", "significant"]]
    c = pd.DataFrame({
        "lab": sessions["lab"].astype("string").fillna("").to_numpy(dtype=object)[idx],
        "acct": sessions["account"].astype("string").to_numpy(dtype=object)[idx],
        "start": sessions["start_ns"].to_numpy("int64")[idx],
        "end": sessions["end_ns"].to_numpy("int64")[idx],
        "i": idx,
    }).sort_values(["lab", "acct", "start", "i"], kind="mergesort")  # fmt: skip
    new = _chain([c["lab"].to_numpy(dtype=object), c["acct"].to_numpy(dtype=object)],
                 c["start"].to_numpy(), c["end"].to_numpy(), gap.value)  # fmt: skip
    gid = np.cumsum(new) - 1
    rows = c["i"].to_numpy()
    group[rows] = gid
    g = int(gid[-1]) + 1
    p = np.clip(num("unexplained_p", 1.0)[rows], np.finfo("float64").tiny, 1.0)
    stat = np.bincount(gid, weights=-2.0 * np.log(p), minlength=g)
    k = np.bincount(gid, minlength=g).astype("int64")
    fisher = chi2.sf(stat, 2 * k)
    tested = k >= 2
    adj = np.where(tested, np.minimum(1.0, g * fisher), np.nan)
    groups = pd.DataFrame({
        "n_sittings": k,
        "unexplained": np.bincount(gid, weights=une[rows], minlength=g),
        "accessed": np.bincount(gid, weights=num("accessed_patients", 0.0)[rows], minlength=g),
        "fisher_stat": stat, "fisher_p": fisher, "tested": tested, "p_adjusted": adj,
        "significant": tested & (adj <= alpha),
    })  # fmt: skip
    return group, groups


def _unexplained_reason(r: pd.Series, days: float) -> str:
    sittings = "one sitting" if r["n_sittings"] == 1 else f"{int(r['n_sittings'])} sittings"
    span = f" over {counted(f'{days:.0f}', 'day')}" if days >= 1 else ""
    return (
        f"{r['unexplained']:.0f} of {r['accessed']:.0f} patients read in {sittings}{span} "
        "have no request, sample or result at this lab within the window (combined "
        f"p = {r['fisher_p']:.2g}, {r['p_adjusted']:.2g} after testing every such group)"
    )


def group_campaigns(
    session_scores: pd.DataFrame,
    sessions: pd.DataFrame | None = None,
    *,
    params: CampaignParams | None = None,
    explanation: pd.DataFrame | None = None,
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
    explanation : pandas.DataFrame, optional
        Per-session explanation: ``session_id`` and :data:`EXPLANATION_COLUMNS`
        (the session features of :func:`labforensics.features.build_features`).
        Without it, those columns of ``session_scores`` or ``sessions`` are used if
        all are there; with none, no campaign of unexplained reads is formed.
        With ``params.unexplained`` (off by default), a significant group of
        sittings with unexplained reads (:func:`unexplained_groups`) is a campaign of its
        own: flagged, rule :data:`UNEXPLAINED_RULE`, its reason first, its score
        the best session's plus ``params.unexplained_weight``; flagged sessions
        stay in their own campaigns (module doc).

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
    ug = np.full(len(t), -1, dtype="int64")
    ugroups = None
    x = _explanation(t, explanation) if params.unexplained else None
    if x is not None:
        ug, ugroups = unexplained_groups(x, gap=params.gap, share=params.unexplained_share,
                                         alpha=params.unexplained_alpha)  # fmt: skip
        sig_g = np.append(ugroups["significant"].to_numpy(dtype=bool), False)
        ug = np.where(sig_g[ug], ug, -1)  # -1 (in no group) reads the appended False
        sig = np.where(ug >= 0, "unexplained_reads|" + ug.astype(str).astype(object),
                       sig).astype(object)  # fmt: skip
    key = pd.DataFrame({"lab": lab, "acct": acct, "sig": sig, "start": t["start_ns"].to_numpy(),
                        "sid": t["session_id"].to_numpy(dtype=object)})  # fmt: skip
    order = key.sort_values(["lab", "acct", "sig", "start", "sid"], kind="mergesort").index
    order = order.to_numpy()
    t = t.iloc[order].reset_index(drop=True)
    key = key.iloc[order].reset_index(drop=True)
    no_acct = no_acct[order]
    ug = ug[order]
    n = len(t)
    start = t["start_ns"].to_numpy()
    new = _chain([key[c].to_numpy(dtype=object) for c in ("lab", "acct", "sig")], start,
                 t["end_ns"].to_numpy(), params.gap.value) | no_acct  # fmt: skip
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
    camp_ug = np.maximum.reduceat(ug, bounds)  # the significant group a campaign is, or -1
    uc = np.flatnonzero(camp_ug >= 0)
    rc.append(uc)
    rt.append(np.full(len(uc), UNEXPLAINED_RULE, dtype=object))
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
    if len(uc):  # campaigns of unexplained reads: flagged, weighted, their reason first
        out.loc[uc, "score"] = out["score"].to_numpy()[uc] + params.unexplained_weight
        out.loc[uc, "flagged"] = True
        days = (out["last"] - out["first"]).dt.total_seconds().to_numpy() / 86_400
        reasons = out["reasons"].tolist()
        for j in uc:  # one per significant campaign (rare)
            own = [str(r) for r in (reasons[j] if reasons[j] is not None else [])]
            why = _unexplained_reason(ugroups.iloc[int(camp_ug[j])], float(days[j]))
            reasons[j] = [why, *own][: params.n_reasons]
        out["reasons"] = pd.Series(
            pd.arrays.ArrowExtensionArray(pa.array(reasons, type=pa.list_(pa.string()))),
            dtype=STRING_LIST,
        )
    cs = np.where(np.isnan(out["score"].to_numpy()), -np.inf, out["score"].to_numpy())
    rank_order = np.lexsort((out["campaign_id"].astype(str).to_numpy(),
                             start[bounds], -cs))  # fmt: skip
    out = out.iloc[rank_order].reset_index(drop=True)
    out.insert(1, "rank", np.arange(1, m + 1, dtype="int64"))
    return out[list(CAMPAIGN_COLUMNS)]


def campaign_findings(campaigns: pd.DataFrame | CampaignFiles,
                      top: int = TOP_CAMPAIGNS) -> dict[str, Any]:  # fmt: skip
    """The ``campaigns`` section of ``findings.json``: counts and the best campaigns.

    Parameters
    ----------
    campaigns : pandas.DataFrame or CampaignFiles
        :func:`group_campaigns` output (kept a file a lab: the counts from its small
        columns, the rows listed read, :mod:`labforensics.detect.campaign_files`).
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
        ``best_session_id``, ``reasons``, ``rules``; ``account_as_logged`` after
        ``account`` where the table has it and the spelling differs). Pseudonymous identifiers only:
        campaign and session ids, the account as the session table holds it, never
        a patient identifier; the session ids are in ``campaigns.parquet``.
    """
    cols = ["campaign_id", "rank", "lab", "account", "account_kind", "activity", "first",
            "last", "n_sessions", "n_flagged", "score", "flagged", "best_session_id"]  # fmt: skip
    if not isinstance(campaigns, pd.DataFrame):  # CampaignFiles: in rank order already
        keep = (np.arange(len(campaigns)) < top) | campaigns.flagged_mask
        head = campaigns.rows(np.flatnonzero(keep)[: top + MORE_FLAGGED])
        counts = (len(campaigns), campaigns.n_flagged, campaigns.flagged_sessions)
    else:
        ranked = campaigns.sort_values("rank", kind="stable")
        keep = (np.arange(len(ranked)) < top) | ranked["flagged"].to_numpy(dtype=bool)
        head = ranked[keep].head(top + MORE_FLAGGED)
        counts = (len(campaigns), int(campaigns["flagged"].sum()) if len(campaigns) else 0,
                  int(campaigns["n_flagged"].sum()) if len(campaigns) else 0)  # fmt: skip
    if "account_as_logged" in head.columns:  # group_campaigns_by_lab(events=...)
        cols.insert(cols.index("account") + 1, "account_as_logged")
    rows = json_safe(head[cols])
    for r, reasons, rules in zip(rows, head["reasons"], head["rules"], strict=True):
        if r.get("account_as_logged", "") is None:  # only where the spelling differs
            del r["account_as_logged"]
        r["reasons"] = [str(x) for x in (reasons if reasons is not None else [])]
        r["rules"] = [str(x) for x in (rules if rules is not None else [])]
    return {"count": int(counts[0]), "flagged": int(counts[1]),
            "flagged_sessions": int(counts[2]), "top": rows}  # fmt: skip
