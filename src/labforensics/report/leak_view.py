"""The view of the "Leak linkage" section (issue 13): counts per lab with the
false-match rate, the threshold figure, the waterfalls and the dump's shape, from
``findings["leak_linkage"]`` (numbers and pseudonyms only)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from . import figures, tables
from .numbers import _count, _num, fixed, pct, pct_apart

# --- leak linkage (findings["leak_linkage"], issue 13) ---------------------------------

#: Labs named one by one in the leak linkage section; the rest are collapsed with a count.
LINKAGE_LABS_SHOWN = 8
#: Labs in the horizon table before it is collapsed with a count.
LINKAGE_HORIZONS_SHOWN = 10
#: Dump files listed before the per-file table is collapsed with a count.
LINKAGE_FILES_SHOWN = 10
#: Columns listed per dump file (the rest counted).
LINKAGE_COLUMNS_SHOWN = 12
#: Pairs drawn as match-weight waterfalls (every example is in findings.json).
LINKAGE_WATERFALLS = 6

#: Match classes of ``leak_links`` in report order: (code, label, counted as linked, meaning).
MATCH_CLASSES = (
    ("unique", "unique", True, "tied to one patient of one lab"),
    ("two_labs", "two labs", True, "the same person, tied to a patient at each of two labs"),
    ("ambiguous", "ambiguous", False,
     "another patient scores within the margin of the best (duplicate records of one person, "
     "twins): not counted"),
    ("household", "household", False,
     "agrees with a patient on family fields only (surname, address, phone, the insured "
     "person's NIR): a relative, never a match"),
    ("none", "none", False, "no patient of any index comes close"),
)  # fmt: skip

#: How a dump file's separator is shown.
SEPARATOR_NAMES = {";": "; (semicolon)", ",": ", (comma)", "\t": "tab", "|": "| (pipe)",
                   " ": "space"}  # fmt: skip

#: The glossary line, for a court expert and a data-protection officer.
LINKAGE_GLOSSARY = (
    ("Record linkage", "deciding which leaked row and which laboratory patient describe the "
     "same person by comparing names, birth date, social security number (NIR), address and "
     "phone, because the leaked files hold none of the laboratories' own patient numbers"),
    ("match probability", "the model's probability, from 0 to 1, that a leaked row and a "
     "patient are the same person, combining the evidence of every field compared; a row is "
     "linked only at or above the threshold"),
    ("false-match rate", "the estimated share of linked rows tied to a patient although the "
     "person is in no laboratory's index; measured with the decoy index"),
    ("decoy index", "a copy of the patient indexes whose fields were shuffled in blocks "
     "between patients, so that none of its records is a real person; every link to it is a "
     "false match, which measures how often the method errs"),
    ("household", "a leaked row that agrees with a patient only on what a family shares "
     "(surname, address, phone, the insured person's NIR): a relative, never counted as "
     "that patient"),
    ("ambiguous", "a leaked row that two patients fit almost equally well (duplicate records "
     "of one person, twins): not counted as linked"),
)  # fmt: skip


def _fmr_phrase(fmr: Any, parts: Any = None) -> str:
    """The false-match rate in words; with its parts' 95 % bound (``fmr_high``, the
    household decoy's upper end) the bound too, as the section's parts give it: a rate of
    "0 %" on a few hundred rows is not a rate of zero (QA session 11)."""
    if _num(fmr) is None:
        return "false-match rate not measured"
    high = _num(parts.get("fmr_high")) if isinstance(parts, Mapping) else None
    if high is not None and high != _num(fmr):
        est, up = pct_apart(fmr, high)  # digits enough to tell them apart (QA session 14)
        return f"estimated false-match rate {est}, at most {up} at 95 % confidence"
    return f"estimated false-match rate {pct(fmr)}"


def _fmr_parts_text(parts: Any) -> str:
    """The false-match rate's two parts in words ("" without them): outsiders with no
    indexed relative (block decoy) and outsiders sharing a household with an indexed
    patient (relative decoy, :mod:`labforensics.leak.relative_decoy`)."""
    if not isinstance(parts, Mapping) or _num(parts.get("fmr_relative")) is None:
        return ""
    rel, rel_high = pct_apart(parts.get("relative_rate"), parts.get("relative_rate_high"))
    return (f"The false-match rate counts people in no index linked all the same: "
            f"{pct(parts.get('fmr_stranger'))} of the links for people with no indexed relative "
            f"(decoy of shuffled fields: {pct(parts.get('stranger_rate'))} of rows with no "
            f"household agreement linked) and "
            f"{pct(parts.get('fmr_relative'))} for relatives of indexed patients "
            f"({_count(parts.get('unlinked_exposed'))} unlinked rows agree with an indexed "
            f"household; household decoy: {_count(parts.get('relative_links'))} of "
            f"{_count(parts.get('relative_exposed'))} such rows linked, {rel}, "
            f"at most {rel_high} at 95 % confidence, from "
            f"{_count(parts.get('relative_sample'))} sampled rows); with that bound the rate is at "
            f"most {pct(parts.get('fmr_high'))}.")  # fmt: skip


def _shown_list(values: Any, limit: int) -> str:
    """Items joined by ", ", the first ``limit`` then "… (N more)"."""
    items = [str(v) for v in (values or []) if v is not None]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", … ({len(items) - limit:,} more)"


#: Date kinds of a dump file (leak.horizon's _DATE_KINDS) in words.
DATE_KIND_WORDS = {"yyyy": "full dates", "yy": "two-digit years", "serial": "spreadsheet "
                   "serial numbers", "partial": "incomplete dates"}  # fmt: skip
#: A fixed-width column's span, ``name:first-last`` (characters, 1-based).
_SPAN = re.compile(r"^(.*):(\d+)-(\d+)$")
#: A span end at or beyond this many characters runs to the end of the line.
_LINE_END = 1 << 20


def _column_words(col: Any) -> str:
    """A dump column; a fixed-width span ``sample_date:142-1048576`` in words
    ("sample_date (characters 142 to the end of the line)")."""
    m = _SPAN.match(str(col))
    if not m:
        return str(col)
    end = int(m.group(3))
    to = "the end of the line" if end >= _LINE_END else f"{end:,}"
    return f"{m.group(1)} (characters {int(m.group(2)):,} to {to})"


def _file_shape(r: Mapping[str, Any]) -> dict[str, str]:
    sep = r.get("separator")
    cols = [_column_words(c) for c in (r.get("columns") or [])]
    return {
        "source_file": str(r.get("source_file") or ""),
        "rows": _count(r.get("rows")),
        "columns": f"{len(cols):,}: " + _shown_list(cols, LINKAGE_COLUMNS_SHOWN) if cols else "",
        "encoding": str(r.get("encoding") or ""),
        "separator": "none (fixed width)" if sep is None or sep == "" else
                     SEPARATOR_NAMES.get(str(sep), str(sep)),
        "date_formats": ", ".join(DATE_KIND_WORDS.get(str(d), str(d))
                                  for d in (r.get("date_formats") or [])) or "none",
        "sorted_by": str(r.get("sorted_by")) if r.get("sorted_by") else "not sorted",
    }  # fmt: skip


def leak_linkage_view(ll: Mapping[str, Any] | None, when: Any,
                      log_start: Mapping[str, Any] | None = None) -> dict[str, Any] | None:  # fmt: skip
    """What the "Leak linkage" section shows, from ``findings["leak_linkage"]``.

    Parameters
    ----------
    ll : dict or None
        ``findings["leak_linkage"]`` (:mod:`labforensics.leak.people`: ``threshold``,
        ``false_match_rate``, ``rows``, ``rows_linked``, ``by_match``, ``unlinked``,
        ``per_lab``, ``files``, ``fmr_by_threshold``, ``examples``). None or empty
        when no dump was linked (an identifier list, or no leak).
    when : callable
        :func:`make_formatter` of the case's time zone (horizons local with UTC).
    log_start : dict, optional
        lab -> first logged event (UTC instant): a horizon before it is said to predate
        the logs.

    Returns
    -------
    dict or None
        Plain strings, row dicts and ``data:`` URIs of the figures (PNG); None
        when there is nothing to show. Every text is escaped by the template.
    """
    if not isinstance(ll, Mapping) or not ll:
        return None
    fmr = ll.get("false_match_rate")
    fmr_text = _fmr_phrase(fmr, ll.get("false_match_rate_parts"))
    thr = _num(ll.get("threshold"))
    thr_text = "?" if thr is None else figures.probability_text(thr)
    rows, linked = ll.get("rows"), ll.get("rows_linked")
    share_linked = (_num(linked) or 0.0) / _num(rows) if _num(rows) else None
    summary = (f"Of {_count(rows)} data rows in the leaked files, {_count(linked)} "
               f"({pct(share_linked)}) are linked to a patient of an indexed laboratory at match "
               f"probability ≥ {thr_text} ({fmr_text}).")  # fmt: skip
    by = ll.get("by_match") or {}
    by_match = _by_match_rows(by, rows)
    below_text = _below_threshold_text(by, linked)
    un = ll.get("unlinked") if isinstance(ll.get("unlinked"), Mapping) else {}
    unlinked_text, exceeds, exceeds_text = _unlinked_texts(un)
    labs, horizons = _per_lab_views(ll.get("per_lab") or [], fmr_text, when, log_start)
    files = [_file_shape(r) for r in (ll.get("files") or []) if isinstance(r, Mapping)]
    thr_table, thr_rows, fig_thr = _threshold_view(ll.get("fmr_by_threshold"), thr)
    examples = [e for e in (ll.get("examples") or []) if isinstance(e, Mapping)]
    drawable = [e for e in examples if e.get("levels")]
    waterfalls = _waterfalls(drawable)
    return {
        "summary": summary, "fmr_text": fmr_text, "threshold": thr_text,
        "fmr_parts": _fmr_parts_text(ll.get("false_match_rate_parts")),
        "by_match": by_match, "below_threshold": below_text,
        "unlinked": unlinked_text, "exceeds_decoy": exceeds, "exceeds_text": exceeds_text,
        "labs": labs[:LINKAGE_LABS_SHOWN], "labs_more": labs[LINKAGE_LABS_SHOWN:],
        "horizons": horizons, "horizons_shown": LINKAGE_HORIZONS_SHOWN,
        "files": files, "files_shown": LINKAGE_FILES_SHOWN,
        "thresholds": thr_rows, "threshold_listed": bool(thr_table["used"].any()),
        "fig_thresholds": fig_thr, "waterfalls": waterfalls, "examples_total": len(drawable),
        "glossary": LINKAGE_GLOSSARY, "figures_relate": _figures_relate(ll),
    }  # fmt: skip


def _figures_relate(ll: Mapping[str, Any]) -> str:
    """How the section's decoy and false-match figures derive from one another, each with
    what it counts ("" without a decoy count at the threshold used)."""
    thr = _num(ll.get("threshold"))
    used = [r for r in (ll.get("fmr_by_threshold") or []) if isinstance(r, Mapping)
            and thr is not None and _num(r.get("threshold")) is not None
            and abs(float(r["threshold"]) - thr) < 1e-9]  # fmt: skip
    n, linked = _num(ll.get("rows")), _num(ll.get("rows_linked"))
    if not used or not n or not linked or _num(used[0].get("decoy_links")) is None:
        return ""
    d = float(used[0]["decoy_links"])
    return (
        f"How these figures relate: the decoy index holds no real person, so its "
        f"{_count(d)} linked rows are all false links, counted over all {_count(n)} rows of "
        f"the dump (decoy link rate {pct(d / n)} per dump row). A row of a person in no index "
        f"can only fall among the {_count(n - linked)} rows left unlinked or be falsely "
        f"linked, so the expected false links among the {_count(linked)} linked rows are about "
        f"that rate applied to the unlinked rows, divided by the linked rows: the false-match "
        f'rate {pct(ll.get("false_match_rate"))} is per linked row (README, "False-match '
        'rate and threshold", for the estimator with the relative decoy). The decoy count is '
        "therefore not a count of false links in the real linkage."
    )


def _by_match_rows(by: Mapping[str, Any], rows: Any) -> list[dict[str, str]]:
    """One row per match class: rows, share of the dump, linked or not, meaning."""
    by_match = []
    for code, label, is_linked, meaning in MATCH_CLASSES:
        n = by.get(code)
        by_match.append({"class": label, "rows": _count(n) if n is not None else "0",
                         "share": pct((_num(n) or 0.0) / _num(rows)) if _num(rows) else "n/a",
                         "linked": "yes (at or above the threshold)" if is_linked else "no",
                         "meaning": meaning})  # fmt: skip
    return by_match


def _below_threshold_text(by: Mapping[str, Any], linked: Any) -> str:
    """Rows of a linkable class that score below the threshold, in words ("" when none)."""
    linked_classes = sum(_num(by.get(c)) or 0.0 for c in ("unique", "two_labs"))
    below = int(linked_classes - (_num(linked) or 0.0))
    below_text = (f"{below:,} row(s) of class unique or two labs score below the threshold and "
                  "are not counted as linked." if below > 0 else "")  # fmt: skip
    return below_text


def _unlinked_texts(un: Mapping[str, Any]) -> tuple[str, bool | None, str]:
    """Unlinked rows against the decoy rate: sentence, whether they exceed it, its reading."""
    unlinked_text = ""
    if un.get("rows") is not None:
        unlinked_text = (f"{_count(un.get('rows'))} rows ({pct(un.get('share'))}) are linked to "
                         "no indexed patient (ambiguous, household or no candidate)")  # fmt: skip
        if _num(un.get("decoy_share")) is not None:
            unlinked_text += (
                f", against the decoy link rate of {pct(un.get('decoy_share'))} "
                "(the share of all the dump's rows that link to the decoy index, "
                "which holds no real person: the share a dump of strangers would "
                "link by chance)"
            )
        unlinked_text += "."
    exceeds: bool | None = un.get("exceeds_decoy")
    if not isinstance(exceeds, bool):
        share, decoy = _num(un.get("share")), _num(un.get("decoy_share"))
        exceeds = None if share is None or decoy is None else share > decoy
    exceeds_text = {
        True: "The unlinked share exceeds the decoy rate.",
        False: "The unlinked share does not exceed the decoy rate.",
        None: "",
    }[exceeds]  # fmt: skip
    if exceeds is not None and (_num(un.get("rows")) or 0) > 0:
        # the decoy rate measures chance links: it cannot show that an unlinked row is of
        # no indexed lab (QA session 14: 46 % of a generated dump's unlinked rows were
        # indexed people, their rows mangled or matching several records)
        exceeds_text += UNLINKED_READING
    return unlinked_text, exceeds, exceeds_text


#: What the unlinked rows may be, said wherever their share is compared with the decoy
#: rate (which measures chance links only).
UNLINKED_READING = (
    " The decoy rate measures how often a row links by chance; it does not tell which "
    "unlinked rows are of people outside the indexes. The unlinked rows include indexed "
    "patients whose rows the linkage missed (mangled fields) or could not place (ambiguous "
    "or household rows) as well as rows of no indexed laboratory (other sources, or invented "
    "rows): how many are of each is not measured."
)


def _per_lab_views(
    per_lab: list[Any], fmr_text: str, when: Any, log_start: Mapping[str, Any] | None = None
) -> tuple[list[str], list[dict[str, str]]]:
    """Per indexed lab: a sentence of patients in the dump, and its horizon row (saying so
    when the horizon predates the lab's first logged event: the copy's window is then
    bounded by the logs' start)."""
    labs, horizons = [], []
    for r in per_lab:
        if not isinstance(r, Mapping):
            continue
        lab = str(r.get("lab") or "?")
        labs.append(f"{_count(r.get('patients_in_dump'))} patients of {lab} ({fmr_text}), from "
                    f"{_count(r.get('rows_linked'))} linked rows; {pct(r.get('share_of_patients'))} "
                    f"of the {_count(r.get('patients_known'))} patients in the lab's index.")  # fmt: skip
        h = r.get("horizon")
        m = r.get("horizon_m")
        text = when(h, seconds=False) if h else "none (too few linked rows with a date)"
        start = (log_start or {}).get(lab)
        if h and start is not None and pd.Timestamp(h) < pd.Timestamp(start):
            text += (f"; before the lab's logs start ({when(start, seconds=False)}): the copy's "
                     "window is then bounded by the logs' start")  # fmt: skip
        horizons.append({
            "lab": lab,
            "horizon": text,
            "support": (f"{_count(r.get('horizon_support'))} linked rows (at least {_count(m)} "
                        "needed)" if h else (f"at least {_count(m)} needed" if m is not None
                                             else "")),
            "before": pct(r.get("share_registered_before_horizon")),
        })  # fmt: skip
    return labs, horizons


def _threshold_view(
    fmr_by_threshold: Any, thr: float | None
) -> tuple[pd.DataFrame, list[dict[str, str]], str | None]:
    """The threshold table, its rows as text, and its figure (``data:`` URI, None if empty)."""
    thr_table = tables.leak_threshold_table(fmr_by_threshold, thr)
    thr_rows = [{"threshold": figures.probability_text(t.threshold),
                 "links": _count(t.links) if t.links is not pd.NA else "",
                 "decoy_links": _count(t.decoy_links) if t.decoy_links is not pd.NA else "",
                 "fmr": pct(t.fmr), "precision": pct(t.precision),
                 "used": "← used" if t.used else ""} for t in thr_table.itertuples()]  # fmt: skip
    fig_thr = None
    if not thr_table.empty:
        fig_thr = figures.data_uri(figures.png_bytes(
            lambda: figures.linkage_thresholds(thr_table, threshold=thr)))  # fmt: skip
    return thr_table, thr_rows, fig_thr


def _waterfalls(drawable: list[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Match-weight waterfall figures of the first drawable examples, with alt text and caption."""
    waterfalls = []
    for e in drawable[:LINKAGE_WATERFALLS]:
        steps = tables.waterfall_steps(e)
        p = _num(e.get("probability"))
        row_id, patient = str(e.get("row_id") or "?"), str(e.get("patient") or "?")
        title = f"dump row {row_id} · patient {patient} ({e.get('lab') or '?'}) · {e.get('match') or '?'}"
        final = float(steps["end"].iloc[-1])
        waterfalls.append({
            "uri": figures.data_uri(figures.png_bytes(
                lambda steps=steps, title=title, p=p: figures.match_waterfall(
                    steps, title=title, probability=p))),
            "alt": f"Match weight of dump row {row_id} against patient {patient}",
            "caption": (f"Dump row {row_id} against patient {patient}: final match weight "
                        f"{fixed(final, 2)} bits"
                        + (f", match probability {figures.probability_text(p)}" if p is not None else "")
                        + "."),
        })  # fmt: skip
    return waterfalls


__all__ = ["leak_linkage_view"]
