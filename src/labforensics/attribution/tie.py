"""Whether a leak can be tied to the labs under investigation at all (QA session 14).

``outside_evidence`` says the labs' patients were copied by a means the logs do not
record. That needs leaked patients that *are* the labs' patients, by their logs
(an event names them) or by their patient indexes (a row holds them, dated or
not), and that no logged operation touched. Leaked identifiers the labs' logs and
indexes never hold are no evidence of an unlogged copy of these labs: they are
evidence that the rows are not these labs' (``leak-dump.md``: "rows that belong to
no lab under investigation: people from other sources mixed in, or rows invented
to inflate a sale"). When no lab is weighed and none of the leaked pairs is a
patient of the labs, the case is ``undetermined`` (:func:`untied`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["index_pairs_of", "own_pairs", "untied"]

#: The reason of a case whose leak no lab's logs or patient index hold.
UNTIED = (
    "no leaked patient is a patient seen in the evidence or linked to the labs' patient "
    "indexes: the leak cannot be tied to these labs, which is no evidence of a copy outside "
    "the logs (a dump's unlinked rows may still be of indexed people the linkage missed)"
)


def index_pairs_of(leak: Any, people: Any = None) -> pd.DataFrame | None:
    """Every (lab, patient) the patient indexes hold, dated or not.

    Parameters
    ----------
    leak : LeakLinkage or anything
        A linked dump (its ``index.people``); anything else is ignored.
    people : pandas.DataFrame or None
        The indexes' people given with a list of identifiers (``lab``, ``record_id``),
        used when ``leak`` carries none.

    Returns
    -------
    pandas.DataFrame or None
        ``lab``, ``patient`` (string), one row per pair; None without an index.
    """
    p = getattr(getattr(leak, "index", None), "people", None)
    if not isinstance(p, pd.DataFrame):
        p = people
    if not isinstance(p, pd.DataFrame) or not {"lab", "record_id"} <= set(p.columns):
        return None
    return pd.DataFrame(
        {"lab": p["lab"].astype("string"), "patient": p["record_id"].astype("string")}
    ).drop_duplicates(ignore_index=True)


def own_pairs(leaked: set[str], lab: str, in_events: set[str], indexed: pd.DataFrame | None) -> int:
    """How many of a lab's leaked patients are the lab's: named by its events or held
    by its patient index (dated or not).

    Parameters
    ----------
    leaked : set of str
        The lab's leaked patient pseudonyms.
    lab : str
    in_events : set of str
        The patients the lab's events name.
    indexed : pandas.DataFrame or None
        :func:`index_pairs_of`.

    Returns
    -------
    int
    """
    own = leaked & in_events
    if indexed is not None and len(indexed):
        own |= leaked & set(indexed.loc[indexed["lab"] == lab, "patient"].dropna().astype(str))
    return len(own)


def untied(labs: dict[str, Any], skipped: list[dict[str, Any]]) -> bool:
    """Whether a case with no lab weighed has no leaked pair that is a patient of the
    labs (module docstring): then it is ``undetermined``, not ``outside_evidence``.

    Parameters
    ----------
    labs : dict
        The conclusion's per-lab data (``_LabData``: ``n_own``, None when unknown,
        then the leaked patients the lab's universe knows).
    skipped : list of dict
        The labs not weighed; those left out as no more than false links could make
        (neither ``not_in_evidence`` nor ``contradiction``) tie nothing.

    Returns
    -------
    bool
    """
    own = 0
    for x in skipped:
        if not (x.get("not_in_evidence") or x.get("contradiction")):
            continue
        d = labs.get(x["lab"])
        if d is None:
            continue
        n = getattr(d, "n_own", None)
        own += int(d.leaked.sum()) if n is None else int(n)
    return own == 0
