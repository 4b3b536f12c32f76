"""Sections 5 and 6 in the conclusion's terms (issue 16: one source of truth).

The attribution keeps two views of the leak: the conclusion (``per_lab``: the labs
weighed, each with the window of its copy) and the earlier share rule (``windows``,
``coverage``, ``hypotheses``: first-seen bounds and "explained" shares over every
lab). A reader of the report meets the conclusion first ("In short"); these views
make sections 5 and 6 state the conclusion's windows, label the share rule's bounds as
that rule's, and give each lab the conclusion leaves out of the weighing its reason
(too few patients tied to it alone to tell a copy from false matches of the record
linkage) instead of an unexplained leak.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..attribution.conclusion import pairs_words
from ..attribution.labels import proposition_words
from .numbers import Composed, _num, pct

__all__ = [
    "NOT_WEIGHED",
    "annotated_hypotheses",
    "hypotheses_ctx",
    "inputs_rows",
    "shared_against",
    "transfer_notes",
    "coverage_rows",
    "not_weighed",
    "pathway_note",
    "window_note",
    "window_rows",
]

#: What a lab left out of the weighing shows where a window or a status is expected.
NOT_WEIGHED = "left out of the weighing"


def not_weighed(f: Mapping[str, Any]) -> dict[str, str]:
    """The labs the conclusion leaves out of the weighing, each with its reason in words.

    Parameters
    ----------
    f : dict
        ``findings.json`` (``conclusion.not_weighed``: ``lab``, ``reason``).

    Returns
    -------
    dict
        lab -> "left out of the weighing: <reason, counted in lab-patient pairs>; its
        leaked patients may be false matches of the record linkage, not a copy".
    """
    out: dict[str, str] = {}
    for s in (f.get("conclusion") or {}).get("not_weighed") or []:
        if isinstance(s, Mapping) and s.get("lab") and s.get("not_in_evidence"):
            out[str(s["lab"])] = f"{s.get('reason')}: no source is stated for it"
        elif isinstance(s, Mapping) and s.get("lab"):
            out[str(s["lab"])] = (
                f"{NOT_WEIGHED} by the conclusion ({pairs_words(str(s.get('reason') or ''))}): "
                "its leaked patients may be false matches of the record linkage rather than a "
                "copy of its records, so no source is stated for it"
            )
    return out


def _conclusion_windows(f: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(p.get("lab")): p.get("window") or {} for p in f.get("per_lab") or []
            if isinstance(p, Mapping)}  # fmt: skip


def window_rows(f: Mapping[str, Any], when: Callable[..., str]) -> list[dict[str, Any]]:
    """Section 5's window table: the conclusion's window of each lab's copy (as on the
    first screen, local time with UTC, to the minute), then the earlier share rule's
    first-seen bounds, labelled as that rule's.

    Returns
    -------
    list of dict
        ``lab``, ``n_patients`` (patients seen in the lab's logs over the whole
        period), ``n_leaked``, ``leaked_share``, ``copy_after``, ``copy_before`` (the
        conclusion's; :data:`NOT_WEIGHED` for a lab it leaves out), ``first_seen_after``,
        ``first_seen_before`` (the share rule's), ``confidence`` (the share rule's).
    """
    conc = _conclusion_windows(f)
    left = not_weighed(f)
    rows = []
    seen = set()
    for w in f.get("windows") or []:
        if not isinstance(w, Mapping):
            continue
        lab = str(w.get("lab"))
        seen.add(lab)
        rows.append(_window_row(lab, w, conc, left, when))
    # a lab weighed, or left out, without a first-seen window of the share rule
    for lab in sorted((set(conc) | set(left)) - seen):
        rows.append(_window_row(lab, {}, conc, left, when))
    return rows


def _window_row(lab: str, w: Mapping[str, Any], conc: Mapping[str, Mapping[str, Any]],
                left: Mapping[str, str], when: Callable[..., str]) -> dict[str, Any]:  # fmt: skip
    def t(v: Any) -> str:
        return when(v, seconds=False) if v else ""

    c = conc.get(lab)
    if c is not None:
        after, before = t(c.get("after")) or "not bounded", t(c.get("before")) or "not bounded"
    else:
        after = before = NOT_WEIGHED if lab in left else "not weighed"
    return {
        "lab": lab,
        "n_patients": w.get("n_patients"),
        "n_leaked": w.get("n_leaked"),
        "leaked_share": w.get("leaked_share"),
        "copy_after": after,
        "copy_before": before,
        "first_seen_after": t(w.get("after")) or "none",
        "first_seen_before": t(w.get("before")) or "none",
        "confidence": w.get("confidence"),
    }


def window_note(f: Mapping[str, Any], when: Callable[..., str]) -> str:
    """Where the conclusion's windows come from and why the share rule's first-seen
    bounds differ, with the first lab where they do as the example ("" without a
    conclusion's window).

    The conclusion's window (``per_lab[].window``) is the interval the evidence supports
    for the copy's time (``evidence_bounds``: e.g. the likelihood interval of the
    registrations) intersected with [horizon, first public sighting]
    (:mod:`labforensics.attribution.copy_window`); the share rule's bounds
    (``windows``) are when the leaked patients were first seen in the logs, raised to
    the leak's latest sample date (their ``note``).
    """
    conc = _conclusion_windows(f)
    if not conc:
        return ""
    head = (
        "The copy's window is the conclusion's, as on the first screen: the interval the "
        "evidence supports for the time of the copy, narrowed to the leak's horizon (the "
        "newest date its linked rows support, section 5b) and to its first public sighting "
        "when known, so never wider than either. The earlier share rule's first-seen bounds "
        "(when the leaked patients were first seen in the logs, raised to the leak's latest "
        "sample date) are shown for comparison only."
    )
    for w in f.get("windows") or []:
        if not isinstance(w, Mapping) or str(w.get("lab")) not in conc:
            continue
        c = conc[str(w.get("lab"))]
        for key, word in (("after", "opens"), ("before", "closes")):
            if not c.get(key) or w.get(key) == c.get(key):
                continue
            if c.get(key) == c.get(f"evidence_{key}") and c.get("evidence_bounds"):
                source = f"from the {c['evidence_bounds']}"
            elif c.get(key) == c.get("horizon"):
                source = "the leak's horizon"
            elif c.get(key) == c.get("sighted_at"):
                source = "the first public sighting"
            else:
                source = "from the evidence"
            share = when(w.get(key), seconds=False) if w.get(key) else "none"
            horizon = (f"; the leak's horizon there is {when(c['horizon'], seconds=False)}"
                       if c.get("horizon") else "")  # fmt: skip
            return (
                f"{head} They differ: at {w.get('lab')}, for example, the conclusion's window "
                f"{word} {when(c[key], seconds=False)} ({source}), the share rule's bound is "
                f"{share}{horizon}."
            )
    return head


def coverage_rows(f: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Section 5's coverage table, each row with the conclusion's view of its lab
    (``conclusion``: weighed, or left out of the weighing and why); a lab left out shows
    no "unexplained" count (it is not a leak the conclusion attributes)."""
    weighed = set(_conclusion_windows(f))
    left = not_weighed(f)
    out = []
    for c in f.get("coverage") or []:
        if not isinstance(c, Mapping):
            continue
        row = dict(c)
        lab = str(c.get("lab"))
        if lab in left:
            row["conclusion"] = left[lab]
            row["unexplained"] = None
            row["explained_share"] = None
            row["explained_by"] = row.get("explained_by") or ""
        else:
            row["conclusion"] = "weighed" if lab in weighed else ""
        out.append(row)
    return out


def leak_given(f: Mapping[str, Any]) -> bool:
    """Whether the findings weigh a leak: ``leak.given``, or an attribution made with one
    (its totals count the leak's identifiers) when the findings were built without the
    leak's patients. Without one there are no leaked patients to speak of."""
    totals = (f.get("attribution") or {}).get("totals") or {}
    return bool((f.get("leak") or {}).get("given")) or bool(totals.get("leak_identifiers"))


def annotated_hypotheses(f: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Section 6's hypotheses, the labs the conclusion leaves out of the weighing marked
    as such in their "evidence against" (the share rule lists them as not explained)."""
    left = sorted(not_weighed(f))
    given = leak_given(f)
    out = []
    for h in f.get("hypotheses") or []:
        if not isinstance(h, Mapping):
            continue
        # without a leak no patient is leaked: the share is of the anomalous records moved
        # (attribution.propositions), and no leaked patient is explained
        row = (dict(h) if given else
               {("volume_share" if k == "share" else k): v for k, v in h.items()
                if k != "patients_explained"})  # fmt: skip
        text = row.get("evidence_against")
        if isinstance(text, str) and left:
            for lab in left:
                # "L15: 942 of 942 leaked patients unexplained" -> the conclusion's reason
                why = (f"{lab} ({NOT_WEIGHED} by the conclusion: too few patients tied to it "
                       "alone to tell a copy from false matches)")  # fmt: skip
                text = re.sub(rf"(?<![\w]){re.escape(lab)}: [\d,]+ of ([\d,]+) leaked patients "
                              "unexplained", rf"{why}: \1 leaked patients found in its logs, "
                              "none attributed", text)  # fmt: skip
                text = re.sub(rf"(?<![\w]){re.escape(lab)}: ", f"{why}: ", text)
            row["evidence_against"] = text
        # the rule's own sentences: printed whole, never cut as a free text of the logs
        for key in ("evidence_for", "evidence_against"):
            if isinstance(row.get(key), str):
                row[key] = Composed(row[key])
        out.append(row)
    return out


#: Separator of the clauses of a hypothesis' "evidence against" (attribution.hypotheses).
_CLAUSE_SEP = " ; "


def shared_against(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """Section 6's "evidence against" with the clauses every hypothesis shares taken out,
    to be printed once under the table rather than repeated in each column.

    Parameters
    ----------
    rows : list of dict
        :func:`annotated_hypotheses`' rows (``evidence_against``: clauses joined by
        ``" ; "``).

    Returns
    -------
    (list of dict, str)
        The rows, each ``evidence_against`` without the shared clauses (and saying where
        they are), and the shared clauses joined (:class:`Composed`; "" when fewer than two
        hypotheses or none is shared).
    """
    texts = [r.get("evidence_against") for r in rows]
    if len(rows) < 2 or not all(isinstance(t, str) and t for t in texts):
        return rows, ""
    clauses = [[c.strip() for c in str(t).split(_CLAUSE_SEP) if c.strip()] for t in texts]
    common = [c for c in clauses[0] if all(c in cl for cl in clauses[1:])]
    if not common:
        return rows, ""
    out = []
    for r, cl in zip(rows, clauses, strict=True):
        own = [c for c in cl if c not in common]
        out.append(
            {
                **r,
                "evidence_against": Composed(
                    "; ".join(own + ["the labs no candidate explains (under the table)"])
                ),
            }
        )
    return out, Composed("; ".join(common))


def _lab_list(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else str(value or "").split("|")
    return [str(v).strip() for v in items if str(v).strip()]


def pathway_note(f: Mapping[str, Any]) -> str:
    """Section 5's pathways are the earlier share rule's: where a pathway names fewer labs
    than the conclusion's leading operations of the same account, say so and which."""
    ops: dict[str, set[str]] = {}
    for p in f.get("per_lab") or []:
        op = p.get("operation") if isinstance(p, Mapping) else None
        if isinstance(op, Mapping) and op.get("account"):
            ops.setdefault(str(op["account"]), set()).add(str(p.get("lab")))
    head = ("The earlier share rule's pathways, shown for comparison: an account's operations "
            "inside that rule's first-seen windows. The conclusion weighs each lab's operations "
            "itself (Conclusion).")  # fmt: skip
    service = sorted({str(p.get("account")) for p in f.get("pathways") or []
                      if isinstance(p, Mapping) and p.get("account_kind") == "service"
                      and p.get("hypothesis") == "insider"})  # fmt: skip
    if service:  # the lab's own systems, not a person: said where the table calls them staff
        head += (f" Service account(s) {', '.join(service)}: the lab's own systems (night "
                 "batch, interfaces), not a person; this rule lists them under laboratory staff "
                 "because the lab runs them, and a routine job is never credited with a leak.")  # fmt: skip
    if not ops:
        return head if f.get("pathways") else ""
    parts = []
    for account, labs in sorted(ops.items()):
        pw = [set(_lab_list(p.get("labs"))) for p in f.get("pathways") or []
              if isinstance(p, Mapping) and str(p.get("account")) == account]  # fmt: skip
        here = set().union(*pw) if pw else set()
        missing = sorted(labs - here)
        if missing:
            parts.append(f"{account} is the conclusion's leading operation at {len(labs)} lab(s) "
                         f"and in this rule's pathways at {len(labs & here)} of them; at "
                         f"{', '.join(missing)} the rule's pathways do not hold it (the rule "
                         "counts operations inside its first-seen windows only: table above)")  # fmt: skip
    return head + (" " + "; ".join(parts) + "." if parts else "")


#: A transfer note of the attribution (``attribution.totals.notes``): downloads of files
#: that no logged extraction names.
_UNNAMED = re.compile(r"([\d,]+) downloads? of files? no logged extraction names")


def credited_transfers(f: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The findings' transfer links, one per transfer: a transfer is linked to every
    export of its file's name and credited to one (``credited``,
    :func:`labforensics.attribution.linking.credit_transfers`); findings without the
    column keep every link."""
    return [t for t in (f.get("transfers") or [])
            if isinstance(t, Mapping) and t.get("credited", True) is not False]  # fmt: skip


def fetched_from_outside(t: Mapping[str, Any]) -> bool:
    """A transfer link is a complete download from outside or anonymous (a fetch cut
    short, xferlog completion ``i``, did not take the file)."""
    return (t.get("direction") == "download" and bool(t.get("outside") or t.get("external_fetch"))
            and str(t.get("completion") or "").lower() != "i")  # fmt: skip


def transfer_notes(f: Mapping[str, Any]) -> list[str]:
    """Section 5's transfer notes in words: the attribution's counts of FTP transfers
    (``attribution.totals.notes``), and what the downloads of files no logged operation
    produced mean.

    Returns
    -------
    list of str
        One sentence per note (:class:`Composed`); the note about unnamed downloads
        followed by its reading: files fetched that no logged operation produced, whose
        content the evidence cannot tell; then, when a transfer is listed for several
        exports of its file's name, which of them the table shows it with.
    """
    notes = ((f.get("attribution") or {}).get("totals") or {}).get("notes") or []
    out = []
    for n in notes:
        if not isinstance(n, str) or "FTP" not in n and not _UNNAMED.search(n):
            continue
        text = n[:1].upper() + n[1:] + "."
        m = _UNNAMED.search(n)
        if m and m.group(1) != "0":
            text += (
                f" The {m.group(1)} downloads fetched files that no logged export or "
                "extraction produced (their names match no extraction file of the logs): "
                "the evidence cannot say what they held, nor whether they held patients of "
                "the leak; they are neither counted for nor against any hypothesis."
            )
        out.append(Composed(text))
    tr = [t for t in f.get("transfers") or [] if isinstance(t, Mapping)]
    if len(credited_transfers(f)) < len(tr):
        out.append(Composed(
            "A transfer whose file name several exports wrote is listed once, with the "
            "export it is counted for: the latest write of the name before it (for a "
            "download, among the exports whose upload the log shows before it); "
            "findings.json lists it with each of the others too (credited false)."
        ))  # fmt: skip
    return out


#: What a companion input is, shown in the files table's format column (it has no
#: evidence format).
INPUT_ROLE_WORDS = {"leak": "leaked file", "patient_index": "patient index",
                    "transfers": "FTP transfer log", "case": "case file",
                    "authorisations": "authorisation register", "evidence": "evidence"}  # fmt: skip


def inputs_rows(inputs: Any) -> list[dict[str, Any]]:
    """findings' ``inputs`` for the files table: a file without an evidence format
    shows what it is (its role in words) in the format column."""
    out = []
    for r in inputs or []:
        if not isinstance(r, Mapping):
            continue
        row = dict(r)
        if not row.get("format"):
            role = str(row.get("role") or "")
            row["format"] = INPUT_ROLE_WORDS.get(role, role.replace("_", " ") or "not read")
        out.append(row)
    return out


#: The earlier share rule's grades in words (attribution.propositions' strength scale:
#: s the hypothesis' share of the leak explained, f its fit).
SHARE_RULE_GRADES = (
    "none: the hypothesis explains no leaked patient; weak: it explains some, less than the "
    "share each of several hypotheses needs to call the leak mixed ({mixed}), or its fit is "
    "under 0.5; moderate: it explains at least {mixed} with a fit of at least 0.5; strong: "
    "it explains at least {dominant} (the share that makes one hypothesis dominant) with a "
    "fit of at least 0.8"
)


def _value(v: Any) -> str:
    """A parameter's value: a number as ``%g``, anything else as text."""
    f = _num(v)
    return f"{f:g}" if f is not None else str(v)


def hypotheses_ctx(f: Mapping[str, Any]) -> dict[str, Any]:
    """Section 6's context: the hypotheses (shared "evidence against" once), the share
    fetched from outside in words, the grades defined and the rule's stability."""
    rows, shared = shared_against(annotated_hypotheses(f))
    params = (f.get("attribution") or {}).get("params") or {}
    grades = SHARE_RULE_GRADES.format(mixed=pct(params.get("mixed_share", 0.2)),
                                      dominant=pct(params.get("dominant_share", 0.8)))  # fmt: skip
    outside = next((h.get("share_retrieved_outside") for h in rows
                    if _num(h.get("share_retrieved_outside")) is not None), None)  # fmt: skip
    if _num(outside) == 0 and not any(fetched_from_outside(t) for t in credited_transfers(f)):
        outside = None  # nothing fetched from outside: "0 % were in files fetched" says nothing
    stab = (f.get("attribution") or {}).get("stability") or {}
    runs = stab.get("runs") if isinstance(stab, Mapping) else None
    runs = runs if isinstance(runs, list) else []
    stability = ""
    if runs and _num(stab.get("agreement")) is not None:
        differ = [r for r in runs if isinstance(r, Mapping) and not r.get("agrees")]
        stability = (
            f"Stability of this rule's verdict: {pct(stab['agreement'])} of {len(runs):,} "
            "reruns with one parameter halved or doubled reach the same verdict"
            + (
                " (not: " + "; ".join(f"{r.get('param')} = {_value(r.get('value'))} gives "
                                      f"{proposition_words(r.get('verdict'))}" for r in differ) + ")"
                if differ else ""
            ) + "."
        )  # fmt: skip
    service = sorted({str(p.get("account")) for p in f.get("pathways") or []
                      if isinstance(p, Mapping) and p.get("account_kind") == "service"
                      and p.get("hypothesis") == "insider"})  # fmt: skip
    return {
        "hyp_service": (
            f"Laboratory staff's pathways include {len(service):,} service account(s) "
            f"({', '.join(service)}): accounts of the lab's own systems (night batch, "
            "interfaces), not a person's; the earlier share rule counts them under laboratory "
            "staff because the lab runs them."
            if service
            else ""
        ),
        "hypotheses": [
            {k: v for k, v in h.items() if k != "share_retrieved_outside"} for h in rows
        ],  # fmt: skip
        "hyp_shared_against": shared,
        "hyp_outside_share": outside,
        "hyp_grades": grades,
        "hyp_stability": stability,
        "hyp_leak": leak_given(f),
    }
