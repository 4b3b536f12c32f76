"""Detection quality against ground truth: precision@k, recall@k, average precision.

The truth is the synthetic generator's (:mod:`labforensics.synth`): incidents
and benign traps, each listing its events by ``source_file``/``source_line``.
A unit (session, account-day, account-month) is a **true positive** when it
holds an incident event; the join goes through the event table's
``session_id`` (as :func:`labforensics.sessionize` returns it), and a session's
account-day and account-month are those of its start in local time (as in
:func:`labforensics.build_features`). A unit holding a trap event and no
incident event is a **trap** unit (a negative, reported apart).

Metrics, per level and per incident kind (``all`` = every kind):

* ``precision@k``: positives among the ``k`` best-ranked units, over ``k``;
* ``recall@k``: positives among the ``k`` best-ranked units, over all positives;
* ``ap``: average precision, the mean over positives of the precision at each
  positive's rank (1.0 when every positive comes first; 0 when no positive is
  scored). For one kind, units of the *other* incident kinds are left out of
  the ranking, so they neither help nor hurt it;
* ``best_rank``: the best rank of a positive (in the full ranking).

:func:`evaluate_campaigns` scores a ranking of campaigns (grouped sessions,
:func:`labforensics.detect.campaigns.group_campaigns`) the same way, with
incidents as the things to find: a campaign is positive when at least 90 % of
its sessions belong to one incident, and each incident counts once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from .case import CaseContext
from .detect import Scores
from .errors import ParameterError
from .schema import STRING, check_table

__all__ = ["Evaluation", "evaluate", "evaluate_campaigns", "label_units", "truth_events"]

LEVELS = ("session", "account_day", "account_month")


@dataclass
class Evaluation:
    """Result of :func:`evaluate`.

    Attributes
    ----------
    metrics : pandas.DataFrame
        One row per (``level``, ``kind``): ``level``, ``kind`` (incident kind or
        ``all``), ``n_units``, ``n_positive``, ``best_rank``, ``ap``, then
        ``precision@k`` and ``recall@k`` for each ``k``.
    incidents : pandas.DataFrame
        One row per (``level``, incident ``id``): ``kind``, ``lab``,
        ``account``, ``n_units``, ``best_rank``.
    traps : pandas.DataFrame
        One row per (``level``, trap ``kind``): ``n_units``, ``best_rank``,
        ``in_top`` (trap units within the best ``max(k)`` ranks).
    labels : dict[str, pandas.DataFrame]
        Per level, the scored table's keys with ``rank``, ``incident``,
        ``incident_kind``, ``trap``, ``trap_kind`` (strings, missing if none).
    """

    metrics: pd.DataFrame
    incidents: pd.DataFrame
    traps: pd.DataFrame
    labels: dict[str, pd.DataFrame]


def _load_truth(truth: object) -> dict:
    if isinstance(truth, Mapping):
        return dict(truth)
    if isinstance(truth, str | Path):
        p = Path(truth)
        if p.is_dir():
            p = p / "truth.json"
        try:
            with open(p, "rb") as f:
                return json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise ParameterError(f"truth file {p}: cannot be read as JSON: {exc}") from exc
    raise ParameterError(
        f"truth must be a synth output folder, a truth.json path or its parsed dict, not {type(truth).__name__}"
    )


def _kinds(t: dict) -> dict[str, tuple[str, str]]:
    """Incident/trap id -> (group, kind)."""
    out = {}
    for group in ("incidents", "traps"):
        for rec in t.get(group, []):
            out[rec["id"]] = (group[:-1], rec["kind"])
    return out


def truth_events(truth: object) -> pd.DataFrame:
    """Event-level truth: one row per (source_file, source_line) of an incident or trap.

    Parameters
    ----------
    truth : dict, str or Path
        Parsed ``truth.json`` (:func:`labforensics.synth.load_truth`), its path,
        or the generator's output folder. With a folder holding
        ``truth_events.parquet``, that table (every event tagged with its
        incident or trap id) is used; else the ``events`` lists of ``truth.json``.

    Returns
    -------
    pandas.DataFrame
        ``source_file`` (string), ``source_line`` (Int64), ``group``
        (``incident``/``trap``), ``id``, ``kind`` (strings).
    """
    t = _load_truth(truth)
    kinds = _kinds(t)
    parts = []
    pq = Path(truth) / "truth_events.parquet" if isinstance(truth, str | Path) else None
    if pq is not None and pq.is_file():
        te = pd.read_parquet(pq, columns=["source_file", "source_line", "incident", "trap"])
        for col in ("incident", "trap"):
            sel = te[col].notna() & (te[col] != "")
            ids = te.loc[sel, col].astype("object")
            parts.append(
                pd.DataFrame(
                    {
                        "source_file": te.loc[sel, "source_file"].to_numpy(),
                        "source_line": te.loc[sel, "source_line"].to_numpy(),
                        "group": col,
                        "id": ids.to_numpy(),
                        "kind": ids.map(
                            lambda i: kinds.get(i, ("", i.split("-")[0]))[1]
                        ).to_numpy(),
                    }
                )
            )
    else:
        for group in ("incidents", "traps"):
            for rec in t.get(group, []):  # one per incident/trap
                evs = rec.get("events") or []
                if evs:
                    parts.append(
                        pd.DataFrame(
                            {
                                "source_file": [e[0] for e in evs],
                                "source_line": [e[1] for e in evs],
                                "group": group[:-1],
                                "id": rec["id"],
                                "kind": rec["kind"],
                            }
                        )
                    )
    cols = ["source_file", "source_line", "group", "id", "kind"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    for c in ("source_file", "group", "id", "kind"):
        out[c] = out[c].astype(STRING)
    out["source_line"] = out["source_line"].astype("Int64")
    return out[cols]


def _window_labels(t: dict, sess: pd.DataFrame, covered: set[str]) -> pd.DataFrame:
    """Sessions of entries listed by account and time window rather than by event.

    An entry of ``truth.json`` without ``events`` (a large trap such as the
    interface or the nightly job) labels every session of its ``lab`` and
    ``account`` (or ``accounts``) that starts within its ``window``.
    """
    rows = []
    for group in ("incidents", "traps"):
        for rec in t.get(group, []):  # one per incident/trap
            if rec["id"] in covered or rec.get("events") or "window" not in rec:
                continue
            accts = rec.get("accounts") or [rec.get("account")]
            w0 = pd.Timestamp(rec["window"]["start"])
            w1 = pd.Timestamp(rec["window"]["end"])
            sel = (
                (sess["lab"] == rec.get("lab")).fillna(False)
                & sess["account"].isin(accts).fillna(False)
                & (sess["start"] >= w0)
                & (sess["start"] <= w1)
            )
            for sid in sess.index[sel.to_numpy()]:
                rows.append((sid, group[:-1], rec["id"], rec["kind"]))
    return pd.DataFrame(rows, columns=["session_id", "group", "id", "kind"])


#: Event columns :func:`label_units` and :func:`evaluate` read (``sessionize(...).events``).
EVENT_NEED: tuple[str, ...] = ("session_id", "source_file", "source_line", "ts", "lab", "account")


def label_units(
    events: pd.DataFrame, truth: object, *, case: CaseContext | None = None
) -> dict[str, pd.DataFrame]:
    """Label sessions, account-days and account-months from the truth.

    Parameters
    ----------
    events : pandas.DataFrame
        Event table with ``session_id``, ``source_file``, ``source_line``, ``ts``,
        ``lab``, ``account`` (the ``.events`` of :func:`labforensics.sessionize`).
    truth : dict, str or Path
    case : CaseContext, optional
        The case whose time zone gives the local days and months (as in
        :func:`labforensics.build_features`); ``CaseContext()`` when omitted.

    Returns
    -------
    dict[str, pandas.DataFrame]
        Per level, the unit keys (``session_id``; or ``lab``, ``account``,
        ``day``/``month``) with ``incident``, ``incident_kind``, ``trap``,
        ``trap_kind`` (first id alphabetically when several).

    Raises
    ------
    labforensics.errors.MissingColumnsError
        (a ``SchemaError``) when ``events`` lacks a column of :data:`EVENT_NEED`.
    """
    check_table(events, EVENT_NEED, "label_units: events")
    t = _load_truth(truth)
    te = truth_events(truth)
    ev = events.loc[events["session_id"].notna(), list(EVENT_NEED)].copy()
    ev["source_file"] = ev["source_file"].astype(STRING)
    ev["source_line"] = ev["source_line"].astype("Int64")
    m = ev.merge(te, on=["source_file", "source_line"])[["session_id", "group", "id", "kind"]]
    start = ev.groupby("session_id", sort=False, observed=True).agg(
        lab=("lab", "first"), account=("account", "first"), start=("ts", "min")
    )
    m = pd.concat([m, _window_labels(t, start, set(te["id"].unique()))], ignore_index=True)
    loc = start["start"].dt.tz_convert((case or CaseContext()).tz)
    start["day"] = loc.dt.strftime("%Y-%m-%d").astype(STRING)
    start["month"] = loc.dt.strftime("%Y-%m").astype(STRING)
    m = m.join(start[["lab", "account", "day", "month"]], on="session_id")
    out = {}
    keys = {
        "session": ["session_id"],
        "account_day": ["lab", "account", "day"],
        "account_month": ["lab", "account", "month"],
    }
    for level, kc in keys.items():
        parts = []
        for group in ("incident", "trap"):
            g = m[m["group"] == group].sort_values([*kc, "id"], kind="stable")
            g = g.drop_duplicates(kc)[[*kc, "id", "kind"]]
            parts.append(g.rename(columns={"id": group, "kind": f"{group}_kind"}).set_index(kc))
        lab = parts[0].join(parts[1], how="outer").reset_index()
        for c in ("incident", "incident_kind", "trap", "trap_kind"):
            lab[c] = lab[c].astype(STRING)
        out[level] = lab
    return out


def _ap(is_pos: np.ndarray) -> float:
    """Average precision of a ranking, ``is_pos`` (bool) in rank order, best first.

    :func:`sklearn.metrics.average_precision_score` with strictly decreasing scores
    (ties in the detector's score are already broken by ``rank``), so every unit is
    its own threshold: the mean over positives of the precision at each positive's
    rank. NaN when there is no positive (scikit-learn would warn and return 0).
    """
    if not is_pos.any():
        return float("nan")
    return float(average_precision_score(is_pos, -np.arange(len(is_pos), dtype="float64")))


def evaluate(
    scores: Scores,
    truth: object,
    *,
    events: pd.DataFrame,
    k: Sequence[int] = (10, 30, 50, 100),
    case: CaseContext | None = None,
    labels: Mapping[str, pd.DataFrame] | None = None,
) -> Evaluation:
    """Precision@k, recall@k and average precision of ranked scores against the truth.

    Parameters
    ----------
    scores : Scores
        From :func:`labforensics.detect.score`; every scored level is evaluated.
    truth : dict, str or Path
        The generator's ``truth.json`` (parsed, its path or the output folder).
    events : pandas.DataFrame
        ``sessionize(...).events`` of the same evidence (``session_id`` per event).
    k : sequence of int
        Cut-offs (units).
    case : CaseContext, optional
        The case whose time zone gives days and months (as given to
        :func:`labforensics.build_features`); ``CaseContext()`` when omitted.
    labels : mapping, optional
        Unit labels from :func:`label_units` (or a previous ``Evaluation.labels``
        minus its ``rank``), to evaluate several rankings of the same units
        without joining the truth again.

    Returns
    -------
    Evaluation
        ``.metrics`` (per level and incident kind), ``.incidents``, ``.traps``, ``.labels``.

    Raises
    ------
    ParameterError
        On an unreadable truth or a non-positive ``k``.
    labforensics.errors.MissingColumnsError
        (a ``SchemaError``) when ``events`` lacks a column of :data:`EVENT_NEED`.
    """
    check_table(events, EVENT_NEED, "evaluate: events")
    ks = tuple(int(x) for x in k)
    if not ks or min(ks) < 1:
        raise ParameterError(f"k must hold positive cut-offs, got {k!r}")
    if labels is None:
        labels = label_units(events, truth, case=case)
    rows, inc_rows, trap_rows, out_labels = [], [], [], {}
    keys = {
        "session": ["session_id"],
        "account_day": ["lab", "account", "day"],
        "account_month": ["lab", "account", "month"],
    }
    for level, table in scores.tables().items():
        kc = keys[level]
        if not set(kc) <= set(table.columns):
            continue
        lab_cols = [c for c in labels[level].columns if c != "rank"]
        t = table[[*kc, "rank"]].merge(labels[level][lab_cols], on=kc, how="left")
        t = t.sort_values("rank", kind="stable").reset_index(drop=True)
        out_labels[level] = t
        rank = t["rank"].to_numpy()
        is_pos = t["incident"].notna().to_numpy()
        kinds = sorted(t.loc[is_pos, "incident_kind"].unique().tolist())
        for kind in ["all", *kinds]:
            if kind == "all":
                pos, keep = is_pos, np.ones(len(t), dtype=bool)
            else:
                pos = (t["incident_kind"] == kind).fillna(False).to_numpy()
                keep = pos | ~is_pos  # other kinds' positives are left out
            sub_rank = np.cumsum(keep)[pos]  # rank among kept units
            row = {
                "level": level,
                "kind": kind,
                "n_units": int(keep.sum()),
                "n_positive": int(pos.sum()),
                "best_rank": int(rank[pos].min()) if pos.any() else None,
                "ap": _ap(pos[keep]),
            }
            for kk in ks:
                hit = int((sub_rank <= kk).sum())
                row[f"precision@{kk}"] = hit / kk
                row[f"recall@{kk}"] = hit / pos.sum() if pos.any() else float("nan")
            rows.append(row)
        g = t[is_pos].groupby("incident", sort=True, observed=True)
        for iid, grp in g:  # one per incident
            inc_rows.append(
                {
                    "level": level,
                    "id": iid,
                    "kind": grp["incident_kind"].iloc[0],
                    "n_units": len(grp),
                    "best_rank": int(grp["rank"].min()),
                }
            )
        trap = t[t["trap"].notna() & ~is_pos]
        for kind, grp in trap.groupby("trap_kind", sort=True, observed=True):  # one per trap kind
            trap_rows.append(
                {
                    "level": level,
                    "kind": kind,
                    "n_units": len(grp),
                    "best_rank": int(grp["rank"].min()),
                    "in_top": int((grp["rank"] <= max(ks)).sum()),
                }
            )
    return Evaluation(
        pd.DataFrame(rows),
        pd.DataFrame(inc_rows, columns=["level", "id", "kind", "n_units", "best_rank"]),
        pd.DataFrame(trap_rows, columns=["level", "kind", "n_units", "best_rank", "in_top"]),
        out_labels,
    )


# --- campaigns (issue 14) ------------------------------------------------------------------

#: A campaign is positive for an incident when at least this share of its sessions belong
#: to that incident (issue 14's definition; below it, the campaign mixes an incident with
#: routine work or another incident and counts as a miss).
CAMPAIGN_PURITY = 0.9


def _campaign_sessions(campaigns: pd.DataFrame) -> pd.DataFrame:
    """(campaign position, session_id) pairs of a campaigns table, in rank order."""
    ids = campaigns["session_ids"]
    if isinstance(ids.dtype, pd.ArrowDtype):
        s = ids.list.flatten()
        pos = np.repeat(np.arange(len(ids)), ids.list.len().fillna(0).to_numpy("int64"))
        vals = s.astype("object").to_numpy()
    else:  # lists or arrays (as pandas.read_parquet gives them)
        e = pd.Series(ids.to_numpy(dtype=object)).explode()
        e = e[e.notna()]
        pos, vals = e.index.to_numpy("int64"), e.to_numpy(dtype=object)
    return pd.DataFrame({"pos": pos, "session_id": pd.array(vals, dtype=STRING)})


def _hit_metrics(
    is_hit: np.ndarray, n_incidents: int, ks: Sequence[int]
) -> dict[str, float | int | None]:
    """AP, best hit rank and precision/recall at each k of a ranking whose hits are incidents
    found (``is_hit`` in rank order, ranks counted among the campaigns kept)."""
    out: dict[str, float | int | None] = {}
    ranks = np.flatnonzero(is_hit) + 1
    out["best_rank"] = int(ranks[0]) if len(ranks) else None
    # average precision over every incident: one never found adds a precision of 0
    out["ap"] = (
        float(np.sum(np.arange(1, len(ranks) + 1) / ranks) / n_incidents)
        if n_incidents
        else float("nan")
    )
    for kk in ks:
        hit = int((ranks <= kk).sum())
        out[f"precision@{kk}"] = hit / kk
        out[f"recall@{kk}"] = hit / n_incidents if n_incidents else float("nan")
    return out


def evaluate_campaigns(
    campaigns: pd.DataFrame,
    labels: pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    k: Sequence[int] = (20, 50),
    duplicates: str = "ignore",
) -> dict:
    """Campaign-level average precision and recall against the truth (issue 14).

    A campaign is *positive* for an incident when at least :data:`CAMPAIGN_PURITY`
    (90 %) of its sessions belong to that incident; each incident counts once, at
    its best-ranked positive campaign; a campaign mixing an incident's sessions
    with routine ones (or another incident's) below that share is a miss.

    Parameters
    ----------
    campaigns : pandas.DataFrame
        :func:`labforensics.detect.campaigns.group_campaigns` output or
        ``campaigns.parquet``: ``rank`` and ``session_ids`` (list of session ids).
    labels : pandas.DataFrame or mapping
        Session labels: ``session_id``, ``incident`` (missing when routine) and
        optionally ``incident_kind``; or the mapping :func:`label_units` returns
        (its ``"session"`` table is used). Every incident in it is counted, found
        or not.
    k : sequence of int
        Cut-offs (campaigns).
    duplicates : {"ignore", "miss"}
        A positive campaign of an incident already found higher up: left out of
        the ranking (default, as ``benchmarks/detection.py`` counts it: the
        incident counts once) or a miss (it takes a line of the top of the
        ranking without telling a new story: the stricter reading).

    Returns
    -------
    dict
        ``n_campaigns``, ``n_incidents``, ``n_found`` (incidents with a positive
        campaign), ``n_mixed`` (campaigns holding incident sessions but positive
        for none), ``n_duplicates``, ``ap``, ``precision@k`` and ``recall@k``
        (incidents found in the top k over all incidents) for each k,
        ``best_rank`` (of the first incident found, among the campaigns kept),
        ``incidents`` (list of ``id``, ``kind``, ``best_rank`` (None when not
        found), ``n_sessions``), and ``by_kind`` (kind -> the same metrics, the
        campaigns positive for other kinds left out of the ranking).

    Raises
    ------
    ParameterError
        On a non-positive ``k`` or an unknown ``duplicates``.
    labforensics.errors.MissingColumnsError
        When a table lacks a column named above.
    """
    ks = tuple(int(x) for x in k)
    if not ks or min(ks) < 1:
        raise ParameterError(f"k must hold positive cut-offs, got {k!r}")
    if duplicates not in ("miss", "ignore"):
        raise ParameterError(f"duplicates must be 'miss' or 'ignore', got {duplicates!r}")
    lab = labels["session"] if isinstance(labels, Mapping) else labels
    check_table(lab, ("session_id", "incident"), "evaluate_campaigns: labels")
    check_table(campaigns, ("rank", "session_ids"), "evaluate_campaigns: campaigns")
    camp = campaigns.sort_values("rank", kind="stable").reset_index(drop=True)
    lab = lab[["session_id", "incident", *(["incident_kind"] if "incident_kind" in lab else [])]]
    lab = lab.assign(session_id=lab["session_id"].astype(STRING),
                     incident=lab["incident"].astype(STRING)).drop_duplicates("session_id")  # fmt: skip
    kinds = (
        lab.dropna(subset=["incident"]).drop_duplicates("incident").set_index("incident")
        ["incident_kind"].astype(object).to_dict() if "incident_kind" in lab else {}
    )  # fmt: skip
    incidents = sorted(lab["incident"].dropna().unique().tolist())
    pairs = _campaign_sessions(camp).merge(lab, on="session_id", how="left")
    n_sess = pairs.groupby("pos").size().reindex(range(len(camp)), fill_value=0).to_numpy()
    per = (
        pairs.dropna(subset=["incident"]).groupby(["pos", "incident"]).size().reset_index(name="n")
    )
    per = per.sort_values(["pos", "n", "incident"], ascending=[True, False, True], kind="stable")
    top = per.drop_duplicates("pos").set_index("pos")
    pos_inc = np.full(len(camp), None, dtype=object)
    has_inc = np.zeros(len(camp), dtype=bool)
    has_inc[top.index.to_numpy()] = True
    share = top["n"].to_numpy() / np.maximum(n_sess[top.index.to_numpy()], 1)
    ok = share >= CAMPAIGN_PURITY - 1e-12
    pos_inc[top.index.to_numpy()[ok]] = top["incident"].to_numpy(dtype=object)[ok]
    is_pos = pd.notna(pos_inc)
    first = ~pd.Series(pos_inc).where(is_pos).duplicated(keep="first").to_numpy() & is_pos
    dup = is_pos & ~first
    keep_all = ~dup if duplicates == "ignore" else np.ones(len(camp), dtype=bool)
    out: dict = {
        "n_campaigns": int(len(camp)),
        "n_incidents": len(incidents),
        "n_found": int(first.sum()),
        "n_mixed": int((has_inc & ~is_pos).sum()),
        "n_duplicates": int(dup.sum()),
        **_hit_metrics(first[keep_all], len(incidents), ks),
    }
    rank = camp["rank"].to_numpy()
    best = {pos_inc[i]: int(rank[i]) for i in np.flatnonzero(first)}  # one per incident found
    sizes = lab.dropna(subset=["incident"]).groupby("incident").size()
    out["incidents"] = [
        {"id": i, "kind": kinds.get(i), "best_rank": best.get(i), "n_sessions": int(sizes[i])}
        for i in incidents
    ]  # one per incident
    inc_kind = np.array([kinds.get(i) if i is not None else None for i in pos_inc], dtype=object)
    by_kind = {}
    for kind in sorted({v for v in kinds.values() if v is not None}):  # one per incident kind
        mine = first & (inc_kind == kind)
        keep = keep_all & ~(is_pos & (inc_kind != kind))  # other kinds' stories left out
        n_k = sum(1 for i in incidents if kinds.get(i) == kind)
        by_kind[kind] = {"n_incidents": n_k, **_hit_metrics(mine[keep], n_k, ks)}
    out["by_kind"] = by_kind
    return out
