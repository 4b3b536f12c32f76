"""Identities shown as they were logged, while matching keeps the canonical forms.

The event table holds each identity twice: the canonical form that every comparison
uses (``account`` NFC and, for case-insensitive sources, case-folded; ``host`` NFC
and lower case; ``src_ip`` in its canonical address form: :mod:`labforensics.identity`)
and the form as written (``account_raw``, ``host_raw``, ``src_ip_raw``). The expert
cites the logged name, so what the report and ``findings.json`` *show* is the form as
written: a workstation ``cost $x^2$ \\$HOME`` is shown so, not ``cost $x^2$ \\$home``.
Escaping (HTML) and formula neutralisation (CSV) happen where the text is written, as
for any other evidence text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..case_events import CaseEvents
from ..spellings import account_spellings, joined_as_logged

__all__ = [
    "RAW_TWINS",
    "SESSION_LISTS",
    "as_logged",
    "pathways_as_logged",
    "session_identities_as_logged",
    "session_title",
    "sources_as_logged",
]

#: Canonical column -> its twin as written in the event table.
RAW_TWINS = {"account": "account_raw", "host": "host_raw", "src_ip": "src_ip_raw"}
#: Session-table list column -> the event column it gathers.
SESSION_LISTS = {"hosts": "host", "src_ips": "src_ip"}
#: Separator of the items of a list shown as text (as :func:`labforensics.schema.join_list`).
_SEP = " | "


def as_logged(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each canonical identity column replaced by its form as written.

    Parameters
    ----------
    frame : pandas.DataFrame
        Event rows; a column of :data:`RAW_TWINS` is replaced by its twin where the twin
        holds a value (the canonical value stays where the twin is missing). The twin
        columns are dropped.

    Returns
    -------
    pandas.DataFrame
        The same rows and the other columns unchanged.
    """
    out = frame.copy()
    for col, raw in RAW_TWINS.items():
        if raw not in out.columns:
            continue
        if col in out.columns:
            out[col] = out[raw].where(out[raw].notna(), out[col])
        out = out.drop(columns=raw)
    return out


def _joined(values: pd.Series) -> Any:
    """The distinct values of ``values`` (sorted), joined; None when there is none."""
    items = sorted({str(v) for v in values.dropna()})
    return _SEP.join(items) if items else None


def session_identities_as_logged(
    events: pd.DataFrame | CaseEvents, rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The top sessions' rows with their account, hosts and addresses as logged.

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events with ``session_id`` and the ``*_raw`` twins (a table without
        them leaves ``rows`` as they are).
    rows : iterable of dict
        Session rows (``session_id``, ``account``, ``hosts``, ``src_ips`` as text).

    Returns
    -------
    list of dict
        Copies of ``rows``: ``hosts`` and ``src_ips`` are the distinct forms as written,
        sorted and joined by ``" | "``. ``account`` stays canonical (the report matches
        sessions to pathways by it); ``account_as_logged`` is added, the spellings as
        written joined the same way, where they differ from it (an NFD spelling, a
        case-insensitive source's capitals), and the report shows it.
    """
    rows = [dict(r) for r in rows]
    twins = ["account_raw", *(RAW_TWINS[c] for c in SESSION_LISTS.values())]
    if not rows or "session_id" not in events.columns:
        return rows
    twins = [t for t in twins if t in events.columns]
    if not twins:
        return rows
    sids = list(dict.fromkeys(r["session_id"] for r in rows if r.get("session_id") is not None))
    cols = ["session_id", *twins]
    if isinstance(events, CaseEvents):
        ev = events.select(lambda d: d["session_id"].isin(sids), columns=cols, need=["session_id"])
    else:
        ev = events.loc[events["session_id"].isin(sids), cols]
    by = {sid: g for sid, g in ev.groupby("session_id", sort=False, observed=True)}
    shown = {k: RAW_TWINS[v] for k, v in SESSION_LISTS.items()}
    for r in rows:
        g = by.get(r.get("session_id"))
        if g is None:
            continue
        for col, raw in shown.items():
            if col in r and raw in g.columns:
                text = _joined(g[raw])
                if text is not None:
                    r[col] = text
        if "account_raw" in g.columns and r.get("account") is not None:
            text = _joined(g["account_raw"])
            if text is not None and text != r["account"]:
                r["account_as_logged"] = text
    return rows


def session_title(row: Mapping[str, Any]) -> str:
    """Title of a top session's figure: lab, account and hosts, as logged.

    Parameters
    ----------
    row : dict
        A ``top_sessions`` row of ``findings.json``
        (:func:`session_identities_as_logged` applied).

    Returns
    -------
    str
        ``"LAB · account @ hosts"`` (``(no account)`` when there is none; no ``@`` part
        without hosts).
    """
    who = row.get("account_as_logged") or row.get("account") or "(no account)"
    title = f"{row.get('lab') or ''} · {who}"
    if row.get("hosts"):
        title += f" @ {row['hosts']}"
    return title


def _labs_of(v: Any) -> list[str]:
    """A pathway's labs: its list, or its text joined by ``" | "`` (findings.json)."""
    if isinstance(v, str):
        return [x for x in v.split(_SEP) if x]
    return [str(x) for x in v] if isinstance(v, list | tuple) else []


def pathways_as_logged(
    events: pd.DataFrame | CaseEvents, rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The pathways' rows with ``account_as_logged`` where the spelling differs.

    Parameters
    ----------
    events : pandas.DataFrame or CaseEvents
        Canonical events with ``lab``, ``account`` and ``account_raw`` (a table
        without ``account_raw`` leaves ``rows`` as they are).
    rows : iterable of dict
        ``findings.json``'s ``pathways`` (``account``, ``labs``).

    Returns
    -------
    list of dict
        Copies of ``rows``. ``account`` stays canonical (hypotheses, sessions and
        takeovers are matched by it); ``account_as_logged`` is added after it where
        the spellings logged at the pathway's labs, sorted and joined by ``" | "``,
        differ from it (the report shows it).
    """
    rows = [dict(r) for r in rows]
    pairs = [(lab, r.get("account")) for r in rows for lab in _labs_of(r.get("labs"))]
    found = account_spellings(events, pairs) if pairs else {}
    out = []
    for r in rows:
        shown = joined_as_logged(found, _labs_of(r.get("labs")), r.get("account"))
        if shown is None:
            out.append(r)
            continue
        at = list(r).index("account") + 1
        items = list(r.items())
        out.append(dict([*items[:at], ("account_as_logged", shown), *items[at:]]))
    return out


def sources_as_logged(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``top_sources`` rows without an empty ``accounts_succeeded_as_logged`` or
    ``src_ip_as_logged``: each key is kept only where the spellings as logged differ
    (as ``account_as_logged``).

    Parameters
    ----------
    rows : iterable of dict
        :func:`labforensics.detect.score_sources` rows.

    Returns
    -------
    list of dict
        Copies of ``rows``.
    """
    keys = ("accounts_succeeded_as_logged", "src_ip_as_logged")
    return [{k: v for k, v in r.items() if k not in keys or v} for r in rows]
