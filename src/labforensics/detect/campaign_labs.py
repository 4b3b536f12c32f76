"""Campaigns grouped lab by lab: the same table as :func:`group_campaigns`, in bounded memory.

A campaign is the sessions of one (``lab``, ``account``) (:mod:`labforensics.detect.campaigns`):
no campaign spans two labs, so the campaigns of a case are the union of each lab's, and
their ranks are one sort of that union by the same key (best score, earlier first
session, campaign id). :func:`group_campaigns_by_lab` groups each lab's sessions apart, so
the working arrays of the grouping (session ids, accounts and signatures as Python
objects, sort keys: several hundred bytes a session) are those of one lab at a time,
not of the case (issue 17: at 33 million events, 4 million sessions, they had made the
campaign stage the run's peak).

The campaigns of unexplained reads (``CampaignParams.unexplained``) are tested with a
Bonferroni correction over every group of the case, so with that option on (off by
default) the case is grouped whole, as :func:`group_campaigns` does.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..case_events import CaseEvents
from ..errors import SchemaError
from ..scored_labs import ScoredLabs
from ..session_labs import SlimLabs
from ..spellings import with_account_as_logged
from .campaign_files import CampaignFiles, flagged_count, held, write_campaigns
from .campaigns import CAMPAIGN_COLUMNS, CampaignParams, group_campaigns

__all__ = ["flagged_count", "group_campaigns_by_lab", "held", "write_campaigns"]


def _lab_positions(table: pd.DataFrame) -> dict[object, np.ndarray]:
    """Lab (None for a missing lab) -> the row positions of ``table`` in that lab."""
    codes, labs = pd.factorize(table["lab"].astype("string"), use_na_sentinel=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(-1, len(labs) + 1))
    pos = {None if k < 0 else labs[k]: order[bounds[k + 1]: bounds[k + 2]]
           for k in range(-1, len(labs))}  # fmt: skip
    return {k: v for k, v in pos.items() if len(v)}


def _lab_rows(session_scores: pd.DataFrame | ScoredLabs
              ) -> Iterator[tuple[object, pd.DataFrame]]:  # fmt: skip
    """(lab, the lab's scored rows) for each lab (None: rows without a lab), as
    ``session_scores.iloc[_lab_positions(session_scores)[lab]]``; kept a file a lab,
    read one lab at a time, each checked for a session scored twice."""
    if isinstance(session_scores, ScoredLabs):
        for lab in session_scores.labs():
            rows = session_scores.lab(lab)
            _scored_once(rows)
            yield lab, rows
            del rows
        return
    for lab, pos in _lab_positions(session_scores).items():
        yield lab, session_scores.iloc[pos]


def group_campaigns_by_lab(
    session_scores: pd.DataFrame | ScoredLabs,
    sessions: pd.DataFrame | SlimLabs | None = None,
    *,
    params: CampaignParams | None = None,
    explanation: pd.DataFrame | None = None,
    events: pd.DataFrame | CaseEvents | None = None,
    in_files: bool = False,
) -> pd.DataFrame | CampaignFiles:
    """:func:`~labforensics.detect.campaigns.group_campaigns`, one lab at a time.

    Parameters
    ----------
    session_scores, sessions, params, explanation
        As :func:`~labforensics.detect.campaigns.group_campaigns`. Lab by lab when
        ``session_scores`` and ``sessions`` both carry ``lab`` and neither
        ``params.unexplained`` nor ``explanation`` asks for the case-wide test of
        unexplained reads; otherwise the case is grouped whole. ``sessions`` may be
        the slim table kept a file a lab (:class:`~labforensics.session_labs.SlimLabs`):
        each lab's sessions are then read when its turn comes (the case's read whole
        only when the case is grouped whole).
    events : pandas.DataFrame or CaseEvents, optional
        The canonical events: given, the table gains ``account_as_logged`` after
        ``account``, the account's spellings as logged at the campaign's lab where they
        differ from the canonical form (:func:`labforensics.spellings.with_account_as_logged`).
    in_files : bool, default False
        With ``sessions`` kept a file a lab and the case grouped lab by lab: each lab's
        campaigns are written to the sessions' folder as they are made and the result
        is :class:`~labforensics.detect.campaign_files.CampaignFiles` (the same table,
        read by rows or whole), so that the case's table is not held.

    Returns
    -------
    pandas.DataFrame or CampaignFiles
        The table :func:`~labforensics.detect.campaigns.group_campaigns` returns for the
        same arguments, identical (values, dtypes, row order, ranks); with
        ``account_as_logged`` when ``events`` is given. Kept in files with ``in_files``
        (see there).

    Raises
    ------
    labforensics.errors.SchemaError
        As :func:`~labforensics.detect.campaigns.group_campaigns`; also when a scored
        session's lab differs from its lab in ``sessions`` (it would be missed).
    """
    params = params or CampaignParams()
    if isinstance(session_scores, ScoredLabs) and _whole_case(session_scores, sessions,
                                                              params, explanation):  # fmt: skip
        session_scores = session_scores.whole()  # the case-wide test: the whole table
    if in_files and isinstance(sessions, SlimLabs):
        kept = _in_files(session_scores, sessions, params, explanation, events)
        if kept is not None:
            return kept
    out = _by_lab(session_scores, sessions, params, explanation)
    return out if events is None else with_account_as_logged(out, events)


def _whole_case(
    session_scores: pd.DataFrame | ScoredLabs, sessions: pd.DataFrame | SlimLabs | None,
    params: CampaignParams, explanation: pd.DataFrame | None,
) -> bool:  # fmt: skip
    """Whether the case is grouped whole: the case-wide test of unexplained reads asked
    for, or the tables lack what splits them by lab."""
    return (params.unexplained or explanation is not None or sessions is None
            or "lab" not in session_scores.columns or "lab" not in sessions.columns
            or "session_id" not in session_scores.columns)  # fmt: skip


def _scored_once(session_scores: pd.DataFrame) -> None:
    """A session scored twice is refused across labs too (the per-lab check would not
    see it)."""
    sid = session_scores["session_id"]
    if sid.duplicated().any():
        dup = sid[sid.duplicated()].iloc[0]
        raise SchemaError(f"group_campaigns: session_id {dup!r} is scored twice")


def _in_files(
    session_scores: pd.DataFrame | ScoredLabs, sessions: SlimLabs, params: CampaignParams,
    explanation: pd.DataFrame | None, events: pd.DataFrame | CaseEvents | None,
) -> CampaignFiles | None:  # fmt: skip
    """:func:`group_campaigns_by_lab` with ``in_files``: each lab's campaigns (with the
    accounts as logged) written to the sessions' folder, ranked together; None when the
    case is grouped whole (or has no scored session)."""
    if _whole_case(session_scores, sessions, params, explanation):
        return None
    if isinstance(session_scores, pd.DataFrame):
        _scored_once(session_scores)
    if session_scores.empty:
        return None
    kept = CampaignFiles(sessions.folder)
    for lab, rows in _lab_rows(session_scores):
        ss = sessions.lab(lab)
        part = group_campaigns(rows, ss, params=params)
        del ss, rows
        kept.add(part if events is None else with_account_as_logged(part, events))
        del part
    return kept.rank()


def _by_lab(
    session_scores: pd.DataFrame | ScoredLabs,
    sessions: pd.DataFrame | SlimLabs | None,
    params: CampaignParams,
    explanation: pd.DataFrame | None,
) -> pd.DataFrame:
    """:func:`group_campaigns_by_lab` without the spellings as logged."""
    if isinstance(sessions, SlimLabs):
        return _by_lab_files(session_scores, sessions, params, explanation)
    if _whole_case(session_scores, sessions, params, explanation):
        return group_campaigns(session_scores, sessions, params=params, explanation=explanation)
    if isinstance(session_scores, pd.DataFrame):
        _scored_once(session_scores)
    by_sessions = _lab_positions(sessions)
    empty = sessions.iloc[:0]
    parts = []
    for lab, rows in _lab_rows(session_scores):
        ss = sessions.iloc[by_sessions[lab]] if lab in by_sessions else empty
        parts.append(group_campaigns(rows, ss, params=params))
    if not parts:
        return group_campaigns(_whole(session_scores), sessions, params=params)
    return _ranked(parts)


def _whole(session_scores: pd.DataFrame | ScoredLabs) -> pd.DataFrame:
    """The scored sessions as one table (read whole when kept a file a lab)."""
    return session_scores.whole() if isinstance(session_scores, ScoredLabs) else session_scores


def _ranked(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The labs' campaigns as one table, ranked (best score, earlier first session,
    campaign id), as :func:`group_campaigns` ranks the case's."""
    out = pd.concat(parts, ignore_index=True)
    score = out["score"].to_numpy(dtype="float64")
    cs = np.where(np.isnan(score), -np.inf, score)
    first = out["first"].to_numpy("datetime64[ns]").view("int64")
    order = np.lexsort((out["campaign_id"].astype(str).to_numpy(), first, -cs))
    out = out.iloc[order].reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype="int64")
    return out[list(CAMPAIGN_COLUMNS)]


def _by_lab_files(
    session_scores: pd.DataFrame | ScoredLabs, sessions: SlimLabs, params: CampaignParams,
    explanation: pd.DataFrame | None,
) -> pd.DataFrame:  # fmt: skip
    """:func:`group_campaigns_by_lab` of the slim table kept a file a lab: each lab's
    sessions read from its file (:meth:`SlimLabs.lab`), the rows of the case's table
    ``sessions.iloc[by_sessions[lab]]`` gives (same order, index and dtypes)."""
    if _whole_case(session_scores, sessions, params, explanation):
        return group_campaigns_by_lab(session_scores, sessions.whole(), params=params,
                                      explanation=explanation)  # fmt: skip
    if isinstance(session_scores, pd.DataFrame):
        _scored_once(session_scores)
    parts = []
    for lab, rows in _lab_rows(session_scores):
        ss = sessions.lab(lab)
        parts.append(group_campaigns(rows, ss, params=params))
        del ss, rows
    if not parts:
        return group_campaigns(_whole(session_scores), sessions.whole(), params=params)
    return _ranked(parts)
