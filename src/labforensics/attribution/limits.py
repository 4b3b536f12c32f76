"""The "Limits of this analysis" lines of the conclusion (:mod:`.conclusion`), and its
counts in the report's unit (lab-patient pairs)."""

from __future__ import annotations

import math
from typing import Any

from ..validation import limits_lines
from .context import _Context
from .likelihood import VERBAL_SCALE_TEXT
from .linkage_limits import linkage_lines

__all__ = ["limits", "pairs_words"]


def pairs_words(text: str) -> str:
    """A reason's counts in the report's unit: "leaked row(s)" linked to a lab are
    lab-patient pairs (a leaked patient counted once for each lab whose records hold
    them: the report's glossary), so the Limits and the report say so.

    Parameters
    ----------
    text : str
        A reason or limit sentence of the conclusion.

    Returns
    -------
    str
        The same sentence with "leaked row(s)" / "linked row(s)" read as pairs.
    """
    for a, b in (("leaked row(s)", "lab-patient pair(s)"), ("leaked rows", "lab-patient pairs"),
                 ("leaked row ", "lab-patient pair "), ("linked row(s)", "linked pair(s)"),
                 ("rows linked", "pairs linked")):  # fmt: skip
        text = text.replace(a, b)
    return text


def limits(
    prep: dict[str, Any] | None,
    conc: dict[str, Any],
    ctx: _Context,
) -> list[str]:
    """The "Limits of this analysis" lines of the conclusion (linkage FMR, coverage,
    labs not weighed, model ceilings)."""
    out = []
    if prep is None:
        # the method's error rates measured on synthetic evidence (validation file)
        return ["no leak was given: no proposition about a copy is weighed", *limits_lines()]
    fmr = prep["fmr"]
    fmr_line = None
    if fmr is not None:
        c = conc.get("coverage") or {}
        high = prep.get("fmr_high")
        high = float(high) if isinstance(high, int | float) and math.isfinite(high) else None
        # the bound as section 5b and the headline give it: "0.00 %" on a few hundred
        # rows is not a rate of zero (QA session 11)
        # a bound that differs is shown with the decimals that tell it from the rate
        # (QA session 14: "0.4 %, at most 0.4 %" for 0.368 % and 0.438 %)
        d = 2
        while (
            high is not None
            and high != fmr
            and d < 4
            and (f"{100 * high:.{d}f}" == f"{100 * fmr:.{d}f}")
        ):
            d += 1
        bound = (f", at most {100 * high:.{d}f} % at 95 % confidence"
                 if high is not None and f"{100 * high:.{d}f}" != f"{100 * fmr:.{d}f}" else "")  # fmt: skip
        fmr_line = (
            f"linkage false-match rate of this run (decoy estimate at the threshold): "
            f"{100 * fmr:.{d}f} %{bound}"
            f" (about {fmr * (c.get('linked') or 0):.0f} of the {c.get('linked', 0):,} lab-patient "
            "pairs of the labs weighed may be false links: the expected number at that rate; a "
            "lab is left out of the weighing when its own pairs are fewer than the count false "
            "links reach with 1 % chance)"
        )
    # a dump read and linked is never "a list of identifiers", rate or not (QA session 14)
    out.extend(linkage_lines(prep, fmr_line))
    c = conc.get("coverage") or {}
    if c.get("total"):
        out.append(
            f"coverage, in lab-patient pairs (a leaked patient counted once for each lab whose "
            f"records hold them): {c['producible']:,} of {c['total']:,} pairs "
            f"({100 * (c['share_producible'] or 0):.1f} %) a logged operation could have produced; "
            f"{c['not_in_evidence']:,} not in the evidence, "
            f"{c.get('not_a_patient', 0):,} not patients of these labs (neither the lab's events "
            "nor its patient index hold them), "
            f"{c['logs_after_horizon']:,} in labs whose logs start after the horizon, "
            f"{c['not_producible']:,} outside the best operation's set, {c['unplaced']:,} in no lab, "
            f"{c.get('not_weighed', 0):,} in labs left out of the weighing"
        )
    placed = (getattr(ctx, "leak_report", None) or {}).get("placed_by_index") or {}
    if placed.get("placed") or placed.get("several_records"):
        out.append(
            f"identifiers given without a lab: {placed.get('placed', 0):,} placed at the one "
            f"patient record the events or the patient indexes hold for them; "
            f"{placed.get('several_records', 0):,} held by several records (an IPP is unique "
            "within a lab only; a NIR is shared by an insured person's dependants), so not "
            "placed (one person, not said which) and counted in no lab"
        )
    for s in conc.get("not_weighed", []):
        if s.get("contradiction"):  # the leak's horizon after its sighting
            out.append(f"{s['lab']}: {s['reason']}: no proposition is stated for it")
            continue
        if s.get("not_in_evidence"):  # a lab the evidence holds nothing of: a coverage limit
            out.append(f"{s['lab']}: {s['reason']}: no proposition is stated for it; {_where(s)}")
            continue
        out.append(
            f"{s['lab']}: left out of the weighing, so no proposition is stated for it "
            f"({pairs_words(str(s['reason']))}): its leaked patients may be false links of the "
            "record linkage, not a copy of its records"
        )
    out.append(
        "likelihood ratios capped at min(6, 2 log10(1/mismatch rate)) for dependence between "
        "patients and linkage error (4 at a mismatch rate of 1 %: a ratio of 10,000, the lower "
        "bound of very strong; a ratio held at a ceiling is not known to be more), and for a "
        "logged proposition at -2 log10(1 - covered share) for the part of the leak the logs "
        "do not cover; " + VERBAL_SCALE_TEXT
    )
    out.append(
        "an export whose own events do not name each exported patient enters by its size and time "
        "only; routine jobs (records moved on many days) are not weighed as operations: a copy of "
        "their output is a copy outside the logged software"
    )
    cens = [p for p in conc.get("per_lab", []) if p.get("censored_until")]
    if cens:
        out.append(
            "no registration dates for "
            + ", ".join(f"{p['lab']} (censored until {p['censored_until']})" for p in cens)
            + ": patients are known from their first event; within a lab's censoring period (90 % "
            "quantile of the time to the next visit, from its own revisit gaps, a lower bound "
            "when the logs are short) an operation cannot be told from a copy before the logs"
        )
    act = [p for p in conc.get("per_lab", []) if p.get("activity")]
    if act:
        out.append(activity_limit(act))
    # the method's error rates measured on synthetic evidence (validation file)
    out.extend(limits_lines())
    return out


def activity_limit(per_lab: list[dict[str, Any]]) -> str:
    """The limits line of the activity-level evidence (:mod:`.activity`): which statuses
    were weighed for which labs, and what each assumes."""

    def labs(k: str) -> str:
        return ", ".join(p["lab"] for p in per_lab if k in p["activity"].get("statuses", []))

    parts = []
    if labs("register"):
        parts.append(
            f"the authorisation register's statuses for {labs('register')}: the probability "
            "that the operation which made the copy was not authorised is not measured and is "
            "taken as at least 1/2 and at least its lab's rate among the other exports and "
            "extractions weighed"
        )
    if labs("retrieval"):
        parts.append(
            "whether each operation's output file was fetched from outside the lab's and the "
            f"vendor's networks or anonymously (the transfer log) for {labs('retrieval')}: the "
            "probability that the copy's file was so fetched is not measured and is taken as "
            "at least 1/2 and at least its lab's rate; a file the log never shows on the "
            "server is not assessed, and one the log shows there that left by another way (a "
            "USB key, a mail) reads as not fetched"
        )
    return (
        "the operations' statuses are weighed apart from the leak's content (activity-level "
        "evidence, switched on for this run), each taken as independent of the other given "
        "the operation: " + "; ".join(parts) + "; the sensitivity reruns give the ratio without "
        "them"
    )


def _where(s: dict[str, Any]) -> str:
    """Which coverage line a lab left out as not in the evidence has its pairs on."""
    lines = s.get("coverage") or {}
    n_out, n_not = int(lines.get("not_in_evidence", 0)), int(lines.get("not_a_patient", 0))
    if not n_not:
        return "its pairs are counted among those not in the evidence"
    if not n_out:
        return "its pairs are counted among those not patients of these labs"
    return (f"of its pairs, {n_out:,} are counted among those not in the evidence and "
            f"{n_not:,} among those not patients of these labs")  # fmt: skip
