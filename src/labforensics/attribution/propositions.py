"""Today's propositions (step 6 of :mod:`labforensics.attribution`): the three
hypotheses, their strength and evidence texts, and the verdict."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._plural import counted
from .context import _as_lists, _Context
from .labels import proposition_who
from .linking import fetched_outside
from .params import AttributionParams
from .pathways import _fmt_ts

#: The three hypotheses, in report order.
HYPOTHESES: tuple[str, ...] = ("vendor", "insider", "external")


#: Strength of a hypothesis from the share ``s`` of leaked-and-found patients it
#: explains and the patient-weighted mean fit ``f`` of its candidates.
STRENGTH_SCALE: str = (
    "n/a: no leak given; none: s = 0; weak: 0 < s < mixed_share or f < 0.5; "
    "moderate: s >= mixed_share and f >= 0.5; strong: s >= dominant_share and f >= 0.8"
)


#: The verdict rule, with the parameter names it uses.
VERDICT_RULE: str = (
    "With a leak: N = distinct leaked identifiers found in the evidence. "
    "If N = 0 -> undetermined. If the union of all pathways explains < min_explained "
    "of N -> undetermined (naming the unexplained labs and the gap). Else if one "
    "hypothesis explains >= dominant_share of N -> that hypothesis. Else if two or "
    "more hypotheses each explain >= mixed_share -> mixed. Else undetermined. "
    "Without a leak -> undetermined (nothing to attribute); pathways are ranked by "
    "the anomalous volume they moved."
)


def _hypotheses(
    ctx: _Context,
    cand: pd.DataFrame,
    pathways: pd.DataFrame,
    assigned: pd.DataFrame,
    windows: pd.DataFrame,
    n_found: int,
    params: AttributionParams,
) -> pd.DataFrame:
    """One row per hypothesis (:data:`HYPOTHESES` order): share, fit, strength, evidence."""
    rows = []
    with_leak = ctx.leak is not None
    a = _assigned_leaks(ctx, cand, assigned)
    unexplained_labs = _unexplained(ctx, windows, assigned, cand, params)
    # the files fetched from outside, each credited to the one export that wrote it
    ext_links = ctx.links[fetched_outside(ctx.links)] if not ctx.links.empty else ctx.links
    for h in HYPOTHESES:
        pw = pathways[pathways["hypothesis"] == h] if not pathways.empty else pathways
        ah = a[a["hypothesis"] == h]
        if with_leak:
            explained = int(ah["leak_id"].nunique())
            share = explained / n_found if n_found else 0.0
            fit = float(ah["fit"].mean()) if len(ah) else 0.0
        else:
            explained = 0
            share = float(pw["volume_share"].sum()) if not pw.empty else 0.0
            fit = np.nan
        retrieved = (
            int(a[a["retrieved"]]["leak_id"].nunique()) / n_found
            if with_leak and n_found and h == "external"
            else (np.nan if h == "external" else np.nan)
        )
        strength = _strength(share, fit, with_leak, params)
        labs = _hypothesis_labs(ah, pw, with_leak)
        ev_for, ev_against = _evidence_texts(
            h, pw, cand, ext_links, unexplained_labs, share, with_leak, params
        )
        rows.append(
            {
                "hypothesis": h,
                "share": share,
                "patients_explained": explained,
                "n_labs": len(labs),
                "labs": labs,
                "n_pathways": len(pw),
                "pathways": [str(x) for x in pw["pathway_id"]] if not pw.empty else [],
                "fit": fit,
                "strength": strength,
                "share_retrieved_outside": retrieved,
                "evidence_for": ev_for,
                "evidence_against": ev_against,
            }
        )
    out = pd.DataFrame(rows)
    for col in ("labs", "pathways"):
        out[col] = _as_lists(out[col])
    return out


def _assigned_leaks(ctx: _Context, cand: pd.DataFrame, assigned: pd.DataFrame) -> pd.DataFrame:
    """Assigned (lab, patient, session) rows with leak id and the session's hypothesis and fit."""
    a = (
        assigned.merge(ctx.matches[["lab", "patient", "leak_id"]], on=["lab", "patient"])
        if not assigned.empty
        else pd.DataFrame({"lab": [], "patient": [], "session_id": [], "leak_id": []})
    )
    sess_hyp = dict(zip(cand.get("session_id", []), cand.get("hypothesis", []), strict=True))
    sess_fit = dict(zip(cand.get("session_id", []), cand.get("fit", []), strict=True))
    sess_retr = dict(
        zip(cand.get("session_id", []), cand.get("retrieved_outside", []), strict=True)
    )
    return a.assign(
        hypothesis=a["session_id"].map(sess_hyp),
        fit=a["session_id"].map(sess_fit).astype(float),
        retrieved=a["session_id"].map(sess_retr).fillna(False).astype(bool),
    )


def _strength(share: float, fit: float, with_leak: bool, params: AttributionParams) -> str:
    """Strength of a hypothesis (:data:`STRENGTH_SCALE`); ``n/a`` without a leak."""
    if not with_leak:
        return "n/a"
    if share <= 0:
        return "none"
    if with_leak and share >= params.dominant_share and fit >= 0.8:
        return "strong"
    if share >= params.mixed_share and (not with_leak or fit >= 0.5):
        return "moderate"
    return "weak"


def _hypothesis_labs(ah: pd.DataFrame, pw: pd.DataFrame, with_leak: bool) -> list[str]:
    """Labs a hypothesis covers: of its leaked patients, else (no leak) of its pathways."""
    return (
        sorted(set(ah["lab"].astype(str)))
        if with_leak
        else sorted({str(x) for v in pw["labs"].tolist() if v is not None for x in v})
        if not pw.empty
        else []
    )


def _unexplained(
    ctx: _Context,
    windows: pd.DataFrame,
    assigned: pd.DataFrame,
    cand: pd.DataFrame,
    params: AttributionParams,
) -> list[dict[str, Any]]:
    """Labs with leaked patients no candidate explains, and the size of the gap.

    For each: leaked patients found, unexplained, the largest non-routine export or
    extraction within ``window_margin_h`` of the window (records), and the routine
    pathways whose sessions could hold the leak (they explain nothing, see
    ``routine_days``).
    """
    out: list[dict[str, Any]] = []
    if windows.empty:
        return out
    ex = assigned.groupby("lab").size() if not assigned.empty else pd.Series(dtype=int)
    ss = ctx.sessions
    margin = pd.Timedelta(hours=params.window_margin_h)
    for r in windows.itertuples(index=False):
        n_ex = int(ex.get(r.lab, 0))
        gap = int(r.n_leaked) - n_ex
        if gap <= 0:
            continue
        s = ss[(ss["lab"] == r.lab) & (ss["pathway_days"] < params.routine_days)]
        lo = r.after if pd.notna(r.after) else r.evidence_start
        s = s[s["end"] >= lo - margin]
        if pd.notna(r.before):
            s = s[s["start"] <= r.before + margin]
        largest = int(s["records"].max()) if len(s) else 0
        routine = []
        if not cand.empty:
            rc = cand[(cand["lab"] == r.lab) & cand["routine"].astype(bool) & cand["holds"]]
            for (acc, mod), g in rc.groupby(["account", "module"], sort=True):
                routine.append(
                    f"{acc}/{mod} (records on {counted(str(int(g['pathway_days'].iloc[0])), 'day')})"
                )
        out.append(
            {
                "lab": r.lab,
                "leaked": int(r.n_leaked),
                "unexplained": gap,
                "largest_nonroutine_near_window": largest,
                "routine_holding": routine,
            }
        )
    return out


def _gap_text(u: dict[str, Any], params: AttributionParams) -> str:
    t = (
        f"{u['lab']}: {u['unexplained']:,} of {u['leaked']:,} leaked patients unexplained "
        f"(largest non-routine export/extraction within {params.window_margin_h:g} h of the "
        f"window: {u['largest_nonroutine_near_window']:,} records"
    )
    if u["routine_holding"]:
        t += (
            "; routine jobs that could hold it: "
            + ", ".join(u["routine_holding"])
            + ", so a copy of their output would have been made outside the logged software"
        )
    return t + ")"


def _listed(items: list[str], limit: int = 10) -> str:
    """Names in a sentence: the first ``limit`` joined by ", ", then how many more."""
    more = f" and {len(items) - limit:,} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _fetch_owners(ext_links: pd.DataFrame, cand: pd.DataFrame) -> dict[str, list[str]]:
    """The accounts whose exported files were fetched from outside, by the hypothesis of
    their session (``"other"``: a session that is not a candidate), sorted."""
    if ext_links.empty:
        return {}
    hyp = dict(zip(cand.get("session_id", []), cand.get("hypothesis", []), strict=True))
    by: dict[str, set[str]] = {}
    for sid, acc in zip(ext_links["session_id"].astype(str),
                        ext_links["account"].astype(str), strict=True):  # fmt: skip
        by.setdefault(str(hyp.get(sid, "other")), set()).add(acc)
    return {h: sorted(a) for h, a in sorted(by.items())}


#: How :func:`_owner_text` names the accounts of each hypothesis.
_OWNER_WORDS = {"vendor": "vendor", "insider": "lab", "external": "outside-candidate",
                "other": "non-candidate"}  # fmt: skip


def _owner_text(owners: dict[str, list[str]]) -> str:
    """``vendor account(s) 'a', 'b'; lab account(s) 'c'`` from :func:`_fetch_owners`."""
    return "; ".join(f"{_OWNER_WORDS.get(h, h)} account(s) "
                     f"{_listed([repr(a) for a in accs])}" for h, accs in owners.items())  # fmt: skip


def _evidence_texts(
    h: str,
    pw: pd.DataFrame,
    cand: pd.DataFrame,
    ext_links: pd.DataFrame,
    unexplained: list[dict[str, Any]],
    share: float,
    with_leak: bool,
    params: AttributionParams,
) -> tuple[str, str]:
    ev_for: list[str] = []
    against: list[str] = []
    owners = _fetch_owners(ext_links, cand)
    for r in pw.head(5).itertuples(index=False):
        what = (
            f"{r.leaked_explained:,} leaked patients ({100 * (r.share or 0):.1f}%)"
            if with_leak
            else f"{r.records:,} records ({100 * r.volume_share:.1f}% of anomalous volume)"
        )
        labs = " | ".join(r.labs)  # a list cell, as text
        ev_for.append(
            f"{r.pathway_id}: {r.account_kind} account {r.account!r} (role {r.role}, module "
            f"{r.module}, network {r.network}) at {r.n_labs:,} lab(s) [{labs}], {what}, "
            f"{_fmt_ts(r.first)} to {_fmt_ts(r.last)}"
        )
    if len(pw) > 5:
        ev_for.append(f"and {len(pw) - 5:,} more pathway(s)")
    if h == "external":
        c = cand[cand["hypothesis"] == "external"] if not cand.empty else cand
        nb = int(c["failed_burst"].astype(bool).sum()) if len(c) else 0
        no = int((c["network"] == "other").sum()) if len(c) else 0
        if nb:
            ev_for.append(
                f"{nb:,} candidate session(s) follow a burst of >= {params.failed_burst} failed "
                "logins"
            )
        if no:
            ev_for.append(
                f"{no:,} candidate session(s) come from outside the lab and vendor networks"
            )
        if len(ext_links):
            hosts = sorted(set(ext_links["remote_host"].astype(str)))
            files = sorted(set(ext_links["file_base"].astype(str)))
            story = (": files left by the vendor's extraction on the FTP server were fetched "
                     "by an outsider (vendor negligence + outsider retrieval)"
                     if "vendor" in owners else "")  # fmt: skip
            ev_for.append(
                f"{len(ext_links):,} download(s) of exported file(s) {_listed(files)} "
                f"anonymously or from outside ({_listed(hosts)}), of the files written by "
                f"{_owner_text(owners)}{story} (counted in share_retrieved_outside, not in "
                "share)"
            )
    if h == "vendor" and "vendor" in owners:
        ev_for.append(
            f"output files of the vendor's extraction ({_owner_text({'vendor': owners['vendor']})})"
            " were left on the FTP server and fetched from outside (see transfers)"
        )
    if pw.empty:
        against.append(f"no candidate session of {proposition_who(h)} in or near the windows")
    if with_leak and unexplained:
        labs = "; ".join(_gap_text(u, params) for u in unexplained[:10])
        against.append(f"labs not explained by any candidate: {labs}")
    if with_leak and 0 < share < params.mixed_share:
        against.append(f"explains only {100 * share:.1f}% of the leaked patients found")
    return " ; ".join(ev_for), " ; ".join(against)


def _verdict(
    ctx: _Context,
    hyp: pd.DataFrame,
    assigned: pd.DataFrame,
    windows: pd.DataFrame,
    cand: pd.DataFrame,
    n_found: int,
    params: AttributionParams,
) -> tuple[str, str]:
    if ctx.leak is None:
        # no leak: nothing to decide, so no hypothesis is named as leading (issue 15, item 6)
        n = int((cand["records"] > 0).sum()) if not cand.empty else 0
        what = (
            f"; {n:,} session(s) exported or extracted records (listed by anomalous volume)"
            if n
            else "; no session exported or extracted records"
        )
        return "undetermined", "no leak given: nothing to attribute" + what
    if n_found == 0:
        n_ids = ctx.leak["leak_id"].nunique()
        return (
            "undetermined",
            f"none of the {n_ids:,} leaked identifiers is a patient of the evidence: the copy "
            "cannot be traced to logged activity (made outside the logged software, or from "
            "another source)",
        )
    a = assigned.merge(ctx.matches[["lab", "patient", "leak_id"]], on=["lab", "patient"])
    union = a["leak_id"].nunique() / n_found
    shares = dict(zip(hyp["hypothesis"], hyp["share"], strict=True))
    figs = ", ".join(f"{h} {100 * shares[h]:.1f}%" for h in HYPOTHESES)
    unexp = _unexplained(ctx, windows, assigned, cand, params)
    gap = "; ".join(_gap_text(u, params) for u in unexp[:20])
    if union < params.min_explained:
        return (
            "undetermined",
            f"logged exports/extractions explain {100 * union:.1f}% of the {n_found:,} leaked "
            f"patients found (< min_explained {100 * params.min_explained:.0f}%): the copy was "
            f"likely made outside the logged software or before logging. Gap: {gap or 'none'}",
        )
    best = max(HYPOTHESES, key=lambda h: (shares[h], -HYPOTHESES.index(h)))
    tail = f" Unexplained: {gap}." if gap else ""
    if shares[best] >= params.dominant_share:
        return (
            best,
            f"{best} explains {100 * shares[best]:.1f}% of the {n_found:,} leaked patients found "
            f"(>= dominant_share {100 * params.dominant_share:.0f}%); shares: {figs}.{tail}",
        )
    big = [h for h in HYPOTHESES if shares[h] >= params.mixed_share]
    if len(big) >= 2:
        return (
            "mixed",
            f"{' and '.join(big)} each explain >= mixed_share {100 * params.mixed_share:.0f}% "
            f"of the {n_found:,} leaked patients found; shares: {figs}.{tail}",
        )
    return (
        "undetermined",
        f"no hypothesis reaches dominant_share {100 * params.dominant_share:.0f}% and fewer "
        f"than two reach mixed_share {100 * params.mixed_share:.0f}%; shares: {figs}.{tail}",
    )
