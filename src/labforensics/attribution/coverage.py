"""What the evidence covers of a leak (issue 15, item 3): each lab's universe of
known patients and the coverage lines of its leaked rows.

Every leaked row linked to a lab falls on exactly one line:

``not_a_patient``
    not a patient of the lab, as far as the evidence shows: the lab's patient index is
    in the evidence, and neither it (dated or not) nor the lab's events hold the
    patient (a leaked identifier a lab never registered, or an invented one: rows that
    "belong to no lab under investigation", ``leak-dump.md``). Without an index of the
    lab nothing tells such a pair from a patient the logs never touched (registered
    before them, not back since), so it stays ``not_in_evidence``;
``not_in_evidence``
    its patient is neither named by an event nor registered in the lab's patient
    index with a date, and is not shown to be no patient of the lab: the lab has no
    logs in the evidence, or its index holds the patient without a date, or no index
    of the lab is given (a patient the logs never show, or a lab whose records are
    absent: a copy outside the logged evidence is possible);
``logs_after_horizon``
    the lab's logs start after the horizon (the newest date the leak bounds the
    copy by), so no logged operation can be weighed against it;
``not_producible``
    covered by the logs, but outside the set of the best logged operation of the
    lab (registered after it, or not among the patients its events name);
``producible``
    a logged operation could have produced it.

Identifiers given without a lab and placed at none (``unplaced``, "in no lab": held
by no lab's events or index, or by several records, one person not said which;
:mod:`.placement`) are a line of the case, in identifiers. The sum of the lines
is the leaked total: nothing is dropped from the denominator.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .context import _Context

#: Coverage lines of a lab, in report order.
LINES = ("producible", "not_producible", "logs_after_horizon", "not_in_evidence", "not_a_patient")


def registry_of(leak: Any) -> pd.DataFrame | None:
    """The patient index's (lab, patient, created) of a linked dump, or None.

    Parameters
    ----------
    leak : LeakLinkage or anything
        A :class:`labforensics.leak.horizon.LeakLinkage` (its ``index.people``:
        ``record_id`` is the patient pseudonym); anything else gives None.

    Returns
    -------
    pandas.DataFrame or None
        ``lab`` (string), ``patient`` (string), ``created`` (datetime64[ns, UTC]): the
        index's rows with a registration date (:func:`registry_of_people`).
    """
    idx = getattr(leak, "index", None)
    return registry_of_people(getattr(idx, "people", None))


def registry_of_people(people: Any) -> pd.DataFrame | None:
    """The (lab, patient, created) of a patient index's people table, or None.

    Parameters
    ----------
    people : pandas.DataFrame or anything
        :attr:`labforensics.leak.patients.PatientIndex.people` (``lab``,
        ``record_id``: the patient pseudonym, ``created``); anything else, or a table
        without ``created``, gives None.

    Returns
    -------
    pandas.DataFrame or None
        As :func:`registry_of`, the rows with a registration date only: a lab whose
        index dates no one is not in it, so it stays left-censored (``dated`` false in
        :func:`.lab_data.prepare`); None when no row is dated.
    """
    if not isinstance(people, pd.DataFrame) or "created" not in people.columns:
        return None
    people = people[people["created"].notna()]
    if not len(people):
        return None
    return pd.DataFrame(
        {
            "lab": people["lab"].astype("string"),
            "patient": people["record_id"].astype("string"),
            "created": pd.to_datetime(people["created"], utc=True).astype("datetime64[ns, UTC]"),
        }
    ).drop_duplicates(["lab", "patient"])


def universe(ctx: _Context, registry: pd.DataFrame | None) -> pd.DataFrame:
    """Each lab's known patients: ``lab``, ``patient``, ``known_at`` (UTC: the first
    event naming it or its registration date, the earlier; a date-only registration
    counts from local noon of its day), ``in_events`` (bool).
    Sorted by lab, ``known_at``, patient; patients with no time are left out."""
    p = ctx.patients[["lab", "patient", "first_seen"]].astype(
        {"lab": "string", "patient": "string"}
    )
    if registry is not None and len(registry):
        u = p.merge(registry, on=["lab", "patient"], how="outer")
    else:
        u = p.assign(created=pd.Series(pd.NaT, index=p.index, dtype="datetime64[ns, UTC]"))
    fs = u["first_seen"].astype("datetime64[ns, UTC]")
    cr = u["created"].astype("datetime64[ns, UTC]")
    if cr.notna().any() and (cr.dropna().dt.floor("h") == cr.dropna()).all():
        # date-only registrations (the start of the local day): the registration's instant
        # is unknown within the day; its median under a uniform instant, local noon, is
        # used (a night copy then leaves out that day's patients, an evening one holds them)
        cr = cr + pd.Timedelta(hours=12)
    u = pd.DataFrame(
        {
            "lab": u["lab"].astype("string"),
            "patient": u["patient"].astype("string"),
            "known_at": fs.where(fs.notna() & ((fs <= cr) | cr.isna()), cr),
            "in_events": fs.notna().to_numpy(),
        }
    )
    u = u[u["known_at"].notna()]
    return u.sort_values(["lab", "known_at", "patient"], kind="stable", ignore_index=True)


def leaked_pairs(ctx: _Context) -> tuple[pd.DataFrame, int]:
    """Leaked (lab, patient) pairs with their identifier, and the identifiers found in
    no lab.

    Rows of the leak that give a lab (``lab_given``) keep it (found in the evidence or
    not); an identifier without a lab takes the labs where it was found
    (``ctx.matches``). The unit is the (lab, patient) pair, as in ``leak_links`` and
    the universe: one person's records at two labs are two pairs, and two identifiers
    naming one patient (or one person's two records at a lab sharing an identifier)
    are not counted as one pair each of the other; a row without a patient counts
    once per (lab, identifier).

    Returns
    -------
    (pandas.DataFrame, int)
        ``lab``, ``leak_id``, ``patient`` (string; one row per (lab, patient), or per
        (lab, leak_id) where the patient is missing), and the number of identifiers
        with no lab and found nowhere.
    """
    cols = ["lab", "leak_id", "patient"]
    if ctx.leak is None:
        return pd.DataFrame({c: pd.Series([], dtype="string") for c in cols}), 0
    lr = ctx.leak[ctx.leak["lab"].notna() & ctx.leak["lab_given"].astype(bool)][cols]
    m = ctx.matches[cols] if len(ctx.matches) else pd.DataFrame(columns=cols)
    pairs = pd.concat([lr, m], ignore_index=True).astype("string")
    unit = pairs["patient"].fillna("\x1f" + pairs["leak_id"])  # the pair's patient
    pairs = pairs[~pd.DataFrame({"lab": pairs["lab"], "u": unit}).duplicated()]
    pairs = pairs.sort_values(cols, ignore_index=True)
    unplaced = int(ctx.never_seen["lab"].isna().sum()) if len(ctx.never_seen) else 0
    return pairs, unplaced


def not_patients(d: Any) -> int:
    """A lab's leaked pairs that are not its patients (``not_a_patient``, module docstring).

    Parameters
    ----------
    d : _LabData
        A lab's conclusion data (:mod:`.lab_data`): ``n_linked``, ``n_own`` (its leaked
        patients its events or index hold; None when not computed) and ``has_index``
        (the lab's patient index is in the evidence).

    Returns
    -------
    int
        ``n_linked - n_own`` when the lab's index is given and ``n_own`` known, else 0.
    """
    n_own = getattr(d, "n_own", None)
    if not getattr(d, "has_index", False) or n_own is None:
        return 0
    return max(int(d.n_linked) - int(n_own), 0)


def lab_lines(
    n_linked: int, n_known: int, logs_cover: bool, n_producible: int, n_not_patient: int = 0
) -> dict[str, int]:
    """A lab's coverage lines (module docstring) from its counts; they sum to ``n_linked``.
    ``n_not_patient`` (:func:`not_patients`) is taken from the pairs not known."""
    covered = n_known if logs_cover else 0
    prod = min(int(n_producible), covered)
    stranger = min(max(int(n_not_patient), 0), int(n_linked) - n_known)
    return {
        "linked": int(n_linked),
        "in_evidence": int(n_known),
        "covered": int(covered),
        "producible": prod,
        "not_producible": covered - prod,
        "logs_after_horizon": n_known - covered,
        "not_in_evidence": int(n_linked) - n_known - stranger,
        "not_a_patient": stranger,
    }


def lines_of(d: Any, n_known: int, logs_cover: bool, n_producible: int) -> dict[str, int]:
    """A lab's coverage lines (:func:`lab_lines`) from its conclusion data ``d``
    (``n_linked``; its pairs not patients of it by :func:`not_patients`).

    Parameters
    ----------
    d : _LabData
        The lab's conclusion data (:mod:`.lab_data`).
    n_known, logs_cover, n_producible
        As :func:`lab_lines`.

    Returns
    -------
    dict
        :func:`lab_lines`.
    """
    return lab_lines(int(d.n_linked), n_known, logs_cover, n_producible, not_patients(d))


def case_lines(per_lab: list[dict[str, Any]], unplaced: int) -> dict[str, Any]:
    """The case's coverage: the labs' lines summed, plus ``unplaced``; ``total`` is their
    sum and ``share_producible`` = producible / total (None for an empty leak)."""
    out: dict[str, Any] = {k: 0 for k in ("linked", "in_evidence", "covered", *LINES)}
    for c in per_lab:
        for k in out:
            out[k] += int(c.get(k, 0))
    out["unplaced"] = int(unplaced)
    out["total"] = sum(out[k] for k in LINES) + int(unplaced)
    out["share_producible"] = out["producible"] / out["total"] if out["total"] else None
    return out


def share(c: dict[str, Any]) -> float:
    """Producible share of a lab's (or the case's) leaked rows (0 when none)."""
    total = c.get("total", c.get("linked", 0))
    return float(c["producible"]) / total if total else 0.0


__all__ = [
    "LINES",
    "case_lines",
    "lab_lines",
    "leaked_pairs",
    "lines_of",
    "not_patients",
    "registry_of",
    "registry_of_people",
    "share",
    "universe",
]
