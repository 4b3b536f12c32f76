"""The report's first screen: who, what, when, how it left, how sure, what else.

:func:`summary_view` answers, from ``findings.json`` alone, the questions a court
expert or a data-protection officer asks first (issue 16, item 1):

- **how sure**: the conclusion (``findings["conclusion"]`` when present: its
  proposition, likelihood ratio and verbal scale; else the verdict and its
  strength on the tool's share rule), with its coverage;
- **who**: the accounts of the pathways behind the leading hypothesis (kind,
  role, labs, sessions);
- **what**: how many leaked patients, of which labs, found in the logs and
  explained by those operations;
- **when**: the exfiltration window per lab (after / before);
- **how it left**: the transfers of the extraction files, who fetched them and
  from where (outside addresses, anonymous accounts);
- **what else**: one line per other incident kind (flagged sessions not in the
  leading pathways, source addresses with failed-login bursts, campaigns,
  quarantined rows, gaps in the logs, unread files), each linked to its section.

Every value is plain text (the template escapes it); times go through the
report's formatter (local time with UTC).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..attribution.labels import reason_words
from ..attribution.likelihood import SUPPORT_MIN_LR
from .glossary import _GLOSSARY_TERMS, GLOSSARY, glossary_anchor
from .leak_tables import credited_transfers, fetched_from_outside, leak_given
from .lr_words import (
    _alternatives,
    _weakest,
    log10_text,
    lr_text,
    lr_view,
)
from .numbers import Composed
from .words import PROPOSITION_WORDS

__all__ = ["GLOSSARY", "HYPOTHESIS_WORDS", "log10_text", "lr_text", "lr_view", "summary_view"]

#: Hypothesis and proposition codes in words: the one table's
#: (:data:`labforensics.attribution.labels.PROPOSITION_LABELS`).
HYPOTHESIS_WORDS = PROPOSITION_WORDS
#: Labs named one by one before the rest are counted.
LABS_NAMED = 6
#: Labs whose windows the first screen lists one by one; more: the span only (each
#: lab's window is in the Conclusion's table).
WINDOWS_LISTED = 3
#: Campaigns of one activity named (and linked) one by one before the rest are counted.
CAMPAIGNS_NAMED = 8


def _n(v: Any) -> str:
    try:
        return f"{int(v):,}"
    except (TypeError, ValueError):
        return "?"


def _pct(num: Any, den: Any) -> str:
    # one rounding rule for shares in the whole report: one decimal, as the Limits
    try:
        return f"{100.0 * min(float(num) / float(den), 1.0):.1f} %" if float(den) > 0 else "n/a"
    except (TypeError, ValueError):
        return "n/a"


def _names(items: Sequence[str], limit: int = LABS_NAMED) -> str:
    items = [str(i) for i in items if i]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit:,} more"


def _labs(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [s.strip() for s in str(value or "").split("|") if s.strip()]


def _leading(f: Mapping[str, Any]) -> str:
    c = f.get("conclusion") if isinstance(f.get("conclusion"), Mapping) else {}
    code = c.get("proposition") if c else None
    if not code:
        v = f.get("verdict") or {}
        code = v.get("verdict") if isinstance(v, Mapping) else None
    return str(code or "undetermined")


def _how_sure(f: Mapping[str, Any]) -> str:
    c = f.get("conclusion") if isinstance(f.get("conclusion"), Mapping) else None
    leak = f.get("leak") or {}
    cover = ""
    if leak.get("given") and leak.get("patients"):  # "0 of the 0 (n/a)" says nothing
        cover = (f"; {_n(leak.get('found'))} of the {_n(leak.get('patients'))} leaked patients "
                 f"({_pct(leak.get('found'), leak.get('patients'))}) are found in the logs, "
                 "the others are named by no event of the logs")  # fmt: skip
    if c:
        words = HYPOTHESIS_WORDS.get(str(c.get("proposition")), str(c.get("proposition")))
        lr = c.get("log10_lr")
        alt = c.get("alternative")
        alt_words = HYPOTHESIS_WORDS.get(str(alt), str(alt)) if alt else "the best alternative"
        ratio = (f": the findings are {lr_text(lr)} times more probable under this "
                 f"proposition than under the alternative, {alt_words} (likelihood ratio, "
                 f"log10 {log10_text(lr)})"
                 if isinstance(lr, int | float) else "")  # fmt: skip
        # the scale's labels "no support" and "support for the alternative" hold the word
        vb = str(c.get("verbal") or "")
        verbal = (f"{vb}{'' if 'support' in vb else ' support'} on the verbal scale of the "
                  "European forensic institutes (ENFSI, 2015)"
                  if vb else "no likelihood ratio")  # fmt: skip
        undetermined = str(c.get("proposition")) == "undetermined"
        if undetermined and not isinstance(lr, int | float):
            return (
                f"Undetermined: {reason_words(c.get('reason') or 'no proposition leads')}{cover}."
            )
        weakest = _weakest(f, c) if isinstance(lr, int | float) and not undetermined else ""
        cov = c.get("coverage") if isinstance(c.get("coverage"), Mapping) else None
        if cov and cov.get("total"):
            # pairs, not patients: a leaked patient counts once for each lab holding them
            cover = (f". Coverage, in lab-patient pairs (a leaked patient counted once for "
                     f"each lab whose records hold them): of the {_n(cov.get('total'))} pairs, "
                     f"{_n(cov.get('producible'))} "
                     f"({_pct(cov.get('producible'), cov.get('total'))}) could have been "
                     f"produced by a logged operation, {_n(cov.get('not_in_evidence'))} are "
                     "of patients neither in the lab's logs nor dated in its patient index, "
                     + (f"{_n(cov['not_a_patient'])} are not patients of these labs "
                        "(neither the lab's events nor its patient index hold them), "
                        if cov.get("not_a_patient") else "")
                     + f"{_n((cov.get('not_weighed') or 0) + (cov.get('unplaced') or 0))} are of "
                     "labs left out of the weighing (too few patients of their own to tell a "
                     "copy from false matches) or of no lab")  # fmt: skip
        if undetermined:
            return _no_support(f, c) + cover + "."
        lead = (
            "Copied by a means the logs do not record"
            if str(c.get("proposition")) == "outside_evidence"
            else f"Copied through {words}"
        )
        alts = _alternatives(f, c) if isinstance(lr, int | float) else ""
        return f"{lead} ({verbal}{ratio}{weakest}){alts}{cover}."
    v = f.get("verdict") or {}
    code = str(v.get("verdict") or "undetermined")
    if code in ("undetermined", "none"):
        why = "no leak was given" if not leak.get("given") else "no hypothesis explains the leak"
        return f"Undetermined: {why}{cover}."
    return (f"Leading hypothesis: {HYPOTHESIS_WORDS.get(code, code)}; strength "
            f"{v.get('strength') or 'n/a'} on the tool's share rule (the share of the leaked "
            f"patients found in the logs that this hypothesis's operations explain){cover}; "
            f"{v.get('stability_text') or ''}".rstrip("; ") + ".")  # fmt: skip


def _no_support(f: Mapping[str, Any], c: Mapping[str, Any]) -> str:
    """How sure, when no source is named: the findings do not favour the leading
    proposition over its alternative (a ratio below 2, "no support"), at the weakest lab
    without support (or the case's ratio, capped for coverage), every such lab named."""
    labs = [p for p in (f.get("per_lab") or []) if isinstance(p, Mapping)
            and p.get("proposition") == "undetermined" and p.get("leading")
            and isinstance(p.get("log10_lr"), int | float)]  # fmt: skip
    src = min(labs, key=lambda p: (float(p["log10_lr"]), str(p.get("lab")))) if labs else c
    lead, alt = src.get("leading"), src.get("alternative")
    where = f" at {src.get('lab')}" if labs and len(f.get("per_lab") or []) > 1 else ""
    x = float(src.get("log10_lr") or 0.0)
    text = (f"Undetermined: no source is named. The findings{where} do not favour "
            f"{HYPOTHESIS_WORDS.get(str(lead), str(lead))} over "
            f"{HYPOTHESIS_WORDS.get(str(alt), str(alt)) if alt else 'the best alternative'}: "
            f"likelihood ratio {lr_text(x)} (log10 {log10_text(x)}), no support on the verbal "
            "scale of the European forensic institutes (ENFSI, 2015), where support starts at "
            f"a ratio of {SUPPORT_MIN_LR:g}")  # fmt: skip
    if len(labs) > 1:
        text += (f"; {len(labs)} labs without support: "
                 + _names(sorted(str(p.get("lab")) for p in labs)))  # fmt: skip
    elif not labs:
        text += " (the case's ratio, capped for the part of the leak the logs do not cover)"
    return text


def _stated(f: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The labs whose conclusion names a source (not ``undetermined``), with an operation."""
    return [p for p in (f.get("per_lab") or []) if isinstance(p, Mapping)
            and p.get("proposition") != "undetermined"
            and isinstance(p.get("operation"), Mapping)]  # fmt: skip


def _who(pw: list[Mapping[str, Any]], f: Mapping[str, Any] | None = None) -> str:
    if not pw:
        if not leak_given(f or {}):
            # no leak: no account is tied to a copy; the pathways are candidates only
            n = len([p for p in ((f or {}).get("pathways") or []) if isinstance(p, Mapping)])
            return ("No leak was given: no account is tied to a copy of patient records"
                    + (f"; section 5 lists {n:,} pathway(s), accounts whose operations could "
                       "have produced a copy of the patients they touched" if n else "")
                    + ".")  # fmt: skip
        return "No account's operations explain the leak."
    parts = []
    for p in pw[:4]:
        kind = p.get("account_kind") or "unknown kind"
        role = f", role {p['role']}" if p.get("role") else ""
        labs = _labs(p.get("labs"))
        parts.append(f"{p.get('account') or '(no account)'} ({kind} account{role}): "
                     f"{_n(p.get('n_sessions'))} session(s) at {_names(labs)}"
                     + (f" through {p['module']}" if p.get("module") else "")
                     + (f" from the {p['network']} network" if p.get("network") else ""))  # fmt: skip
    more = f"; {len(pw) - 4} more pathway(s) in section 5" if len(pw) > 4 else ""
    return "; ".join(parts) + more + "."


def _who_from_conclusion(f: Mapping[str, Any], when: Callable[..., str]) -> str | None:
    """Who, from the conclusion's leading operation per lab naming a source (None without
    one); a lab without support names no account."""
    ops: dict[tuple[str, str], list[tuple[str, Mapping[str, Any]]]] = {}
    unnamed = sorted(str(p.get("lab")) for p in f.get("per_lab") or [] if isinstance(p, Mapping)
                     and p.get("proposition") == "undetermined")  # fmt: skip
    for p in _stated(f):
        op = p.get("operation")
        if not isinstance(op, Mapping) or not op.get("account"):
            continue
        key = (str(op.get("account")), str(op.get("hypothesis") or p.get("proposition")))
        ops.setdefault(key, []).append((str(p.get("lab")), op))
    no_one = (f"No account is named at {_names(unnamed)}: the findings there do not favour "
              "one proposition over another (no support; each proposition's best operation is "
              "in the Conclusion)" if unnamed else "")  # fmt: skip
    if not ops:
        return no_one + "." if no_one else None
    parts = []
    for (account, hyp), items in sorted(ops.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        codes = sorted(lab for lab, _ in items)
        weighed = sorted(
            str(p.get("lab")) for p in f.get("per_lab") or [] if isinstance(p, Mapping)
        )
        labs = (f"all {len(codes)} labs weighed" if len(codes) > 1 and codes == weighed
                else ", ".join(codes))  # fmt: skip
        lab0, op0 = items[0]
        net = f" from the {op0['network']} network" if op0.get("network") else ""
        first = (f"; at {lab0}: {_n(op0.get('records'))} records at "
                 f"{when(op0.get('time'), seconds=False)}" if op0.get("time") else "")  # fmt: skip
        taken = [t for (lab, acc), t in takeovers(f, when).items()
                 if acc == account and lab in {x for x, _ in items}]  # fmt: skip
        if taken:
            first += f"; the account was taken over: {taken[0]}"
        at = labs if labs.startswith("all ") else f"{len(items)} lab(s), {labs}"
        parts.append(f"{account} ({HYPOTHESIS_WORDS.get(hyp, hyp)}): the leading operation at "
                     f"{at}{net}{first}")  # fmt: skip
    return "; ".join(parts[:4] + ([no_one] if no_one else [])) + "."


def _what(f: Mapping[str, Any], pw: list[Mapping[str, Any]]) -> str:
    leak = f.get("leak") or {}
    if not leak.get("given"):
        return "No leak was given: nothing to reconcile."
    per_lab = [p for p in (f.get("per_lab") or []) if isinstance(p, Mapping)
               and isinstance(p.get("coverage"), Mapping)]  # fmt: skip
    if per_lab:  # the conclusion's own counts (lab-patient pairs), the same as its coverage
        return _what_conclusion(f, per_lab)
    cov = [c for c in (f.get("coverage") or []) if isinstance(c, Mapping)]
    cov = [c for c in cov if (c.get("leaked_found") or 0) > 0]
    cov.sort(key=lambda c: (-(c.get("leaked_found") or 0), str(c.get("lab"))))
    labs = [f"{c.get('lab')} ({_n(c.get('leaked_found'))} of its {_n(c.get('n_patients'))} "
            f"patients seen)" for c in cov]  # fmt: skip
    explained = sum(int(c.get("explained") or 0) for c in cov)
    text = (f"{_n(leak.get('patients'))} leaked patients; {_n(leak.get('found'))} found in the "
            f"logs of {len(cov)} lab(s): {_names(labs) or 'none'}")  # fmt: skip
    if pw:
        text += (f"; {_n(explained)} of them ({_pct(explained, leak.get('found'))}) reached by "
                 "the operations above")  # fmt: skip
    return text + "."


def _left_out(f: Mapping[str, Any]) -> str:
    """The labs left out of the weighing, each with its reason in a few words."""
    c = f.get("conclusion") if isinstance(f.get("conclusion"), Mapping) else {}
    rows = [r for r in (c.get("not_weighed") or []) if isinstance(r, Mapping)]
    if not rows:
        return ""
    few, other = [], []
    m = None
    for r in rows:
        hit = re.search(r"fewer than the ([\d,]+)", str(r.get("reason") or ""))
        if hit and r.get("linked_alone") is not None:
            m = hit.group(1)
            few.append(f"{r.get('lab')} ({_n(r.get('linked_alone'))} of its own)")
        elif r.get("not_in_evidence"):
            other.append(f"{r.get('lab')} (not in the evidence: no logs, or none of its "
                         "leaked patients known to them)")  # fmt: skip
        elif r.get("counted_in"):
            other.append(f"{r.get('lab')} (its identifiers, no lab given, also found at "
                         f"{', '.join(str(x) for x in r['counted_in'])})")  # fmt: skip
        else:
            other.append(f"{r.get('lab')} ({str(r.get('reason') or 'see Limits')[:60]})")
    parts = []
    if few:
        parts.append(", ".join(few) + f": pairs linked to that lab alone, fewer than {m}, "
                     "the number of false links reached with 1 % chance at the linkage's "
                     "estimated false-match rate")  # fmt: skip
    parts += other
    total = sum(int(r.get("linked") or 0) for r in rows if not r.get("counted_in"))
    return f" Left out of the weighing ({_n(total)} pairs): " + "; ".join(parts) + "."


def _what_conclusion(f: Mapping[str, Any], per_lab: list[Mapping[str, Any]]) -> str:
    """What, from the conclusion: distinct patients, then pairs (its unit), every lab
    weighed named and every lab left out with its reason."""
    leak = f.get("leak") or {}
    labs = sorted(str(p.get("lab")) for p in per_lab)
    total = sum(int(p["coverage"].get("linked") or 0) for p in per_lab)
    prod = sum(int(p["coverage"].get("producible") or 0) for p in per_lab)
    cov = (f.get("conclusion") or {}).get("coverage") or {}
    head = (f"{_n(leak.get('patients'))} distinct patients in the leak, "
            f"{_n(leak.get('found'))} of them found in the logs. In lab-patient pairs (a "
            "patient of two labs counts at each)")  # fmt: skip
    head += f" the leak holds {_n(cov.get('total'))}: " if cov.get("total") else ": "
    text = (f"{head}{_n(total)} of the {len(labs)} lab(s) weighed ({', '.join(labs)}), "
            f"{_n(prod)} of them could have been produced by a logged operation (each lab's "
            "in the Conclusion).")  # fmt: skip
    # each lab's share of its own index: the linkage's patients of the index found in the
    # leak (a count of the index, not of the pairs above: one indexed patient may be in
    # the leak yet not producible, registered after the operation)
    own = [(r.get("patients_in_dump") / r.get("patients_known"), str(r.get("lab")))
           for r in ((f.get("leak_linkage") or {}).get("per_lab") or [])
           if isinstance(r, Mapping) and r.get("patients_known")
           and r.get("patients_in_dump") is not None and str(r.get("lab")) in labs]  # fmt: skip
    if own:
        lo, hi = min(own), max(own)
        text += (f" The leak holds {_pct(lo[0], 1)} ({lo[1]}) to {_pct(hi[0], 1)} ({hi[1]}) of "
                 "the patients in each weighed lab's index." if len(own) > 1 else
                 f" The leak holds {_pct(lo[0], 1)} of the patients in {lo[1]}'s index.")  # fmt: skip
    return text + _left_out(f)


def _fetches(f: Mapping[str, Any], when: Callable[..., str]) -> str:
    """The span of the downloads from outside (first and last fetch)."""
    tr = [t for t in credited_transfers(f) if fetched_from_outside(t) and t.get("transfer_ts")]
    if not tr:
        return ""
    ts = sorted(str(t["transfer_ts"]) for t in tr)  # ISO-8601 UTC: sorts as instants
    if len(ts) == 1:
        return f" The file was fetched from outside at {when(ts[0], seconds=False)}."
    return (f" The {len(ts)} complete downloads from outside addresses ran from "
            f"{when(ts[0], seconds=False)} to {when(ts[-1], seconds=False)}.")  # fmt: skip


def _operations_span(per_lab: list[Mapping[str, Any]], when: Callable[..., str]) -> str:
    """When the leading operations themselves ran (the windows bound the copy; these are
    the logged events), first and last, or "" when fewer than two are timed."""
    ops = sorted((str(p["operation"]["time"]), str(p.get("lab"))) for p in per_lab
                 if isinstance(p.get("operation"), Mapping) and p["operation"].get("time"))  # fmt: skip
    if len(ops) < 2:
        return ""
    if ops[0][0] == ops[-1][0]:
        return f"; the {len(ops)} leading operations all ran at {when(ops[0][0], seconds=False)}"
    return (f"; the {len(ops)} leading operations themselves ran from "
            f"{when(ops[0][0], seconds=False)} ({ops[0][1]}) to "
            f"{when(ops[-1][0], seconds=False)} ({ops[-1][1]}), each lab's time in the "
            "Conclusion")  # fmt: skip


def _when(f: Mapping[str, Any], when: Callable[..., str]) -> str:
    per_lab = [p for p in (f.get("per_lab") or []) if isinstance(p, Mapping)]
    wins = [{"lab": p.get("lab"), **p["window"]} for p in per_lab
            if isinstance(p.get("window"), Mapping)
            and (p["window"].get("after") or p["window"].get("before"))]  # fmt: skip
    if not wins:  # no conclusion (or no window in it): the evidence-based windows
        wins = [w for w in (f.get("windows") or []) if isinstance(w, Mapping)]
    if not wins:
        return "No exfiltration window could be established." + _fetches(f, when)
    parts = []
    for w in wins[:LABS_NAMED]:
        lo, hi = w.get("after"), w.get("before")
        span = (f"after {when(lo, seconds=False)} and before {when(hi, seconds=False)}"
                if lo and hi else f"after {when(lo, seconds=False)}" if lo else
                f"before {when(hi, seconds=False)}" if hi else "not established")  # fmt: skip
        conf = (f", {w['confidence']} confidence" if w.get("confidence")
                and w.get("confidence") != "none" and (lo or hi) else "")  # fmt: skip
        parts.append(f"{w.get('lab')}: {span}{conf}")
    more = f"; {len(wins) - LABS_NAMED} more lab(s) in section 5" if len(wins) > LABS_NAMED else ""
    # the overall span: the earliest opening and the latest closing of the labs' windows
    # (ISO-8601 UTC strings of findings.json sort as instants)
    los = sorted((str(w["after"]), str(w.get("lab"))) for w in wins if w.get("after"))
    his = sorted((str(w["before"]), str(w.get("lab"))) for w in wins if w.get("before"))
    span = ""
    fetched = _fetches(f, when)
    if len(wins) > 1 and los and his:
        span = (f"The copies were taken between {when(los[0][0], seconds=False)} (the first "
                f"window opens, {los[0][1]}) and {when(his[-1][0], seconds=False)} (the last "
                f"closes, {his[-1][1]}), each lab's in its own window")  # fmt: skip
        span += _operations_span(_stated(f), when)  # the labs naming a source
        if len(wins) > WINDOWS_LISTED:  # one screen: each lab's window is in the Conclusion
            return f"{span}.{fetched}"
        return span + ": " + "; ".join(parts) + more + "." + fetched
    return "The copy was taken " + "; ".join(parts) + more + "." + fetched


def _how_left(f: Mapping[str, Any]) -> str:
    tr = credited_transfers(f)
    if not tr:
        return ("No transfer links an extraction to a download." if f.get("transfers_given")
                else "No transfer log was given: how the files left is not shown.")  # fmt: skip
    up = [t for t in tr if t.get("direction") == "upload"]
    down = [t for t in tr if t.get("direction") == "download"]
    parts = []
    if up:
        who = Counter(str(t.get("user") or t.get("account") or "?") for t in up)
        parts.append(f"{len(up)} extraction file(s) put on the FTP server by "
                     f"{_names(sorted(who))}")  # fmt: skip
    if down:
        outside = [t for t in down if t.get("outside") or t.get("external_fetch")]
        anon = [t for t in down if t.get("anonymous")]
        hosts = sorted({str(t.get("remote_host")) for t in outside if t.get("remote_host")})
        # an anonymous FTP login gives an e-mail address as password, which the xferlog
        # records as the user and privacy redacts to a token: say so, not the token
        users = sorted(
            {str(t.get("user")) for t in down if t.get("user") and not t.get("anonymous")}
        )
        who = [f"{len(anon)} through anonymous FTP logins (no account: the logs do not "
               "identify who fetched them; the e-mail address given as password is "
               "redacted)"] if anon else []  # fmt: skip
        if users:
            who.append(f"{len(down) - len(anon)} by {_names(users)}")
        # xferlog's completion status: "c" complete, "i" incomplete (a fetch cut short)
        cut = sum(str(t.get("completion") or "") == "i" for t in down)
        done = f" ({len(down) - cut:,} complete, {cut:,} cut short)" if cut else ""
        text = f"{len(down)} download(s) of them{done}: " + ", ".join(who)
        if outside:
            text += f"; {len(outside)} of them from outside address(es) {_names(hosts)}"
        parts.append(text)
    return "; ".join(parts) + "."


def _else(
    f: Mapping[str, Any], lead_sessions: set[str], when: Callable[..., str] = str
) -> list[dict[str, Any]]:
    """One line per other incident kind, each with the anchor of its section."""
    out: list[dict[str, str]] = []
    top = [s for s in (f.get("top_sessions") or []) if isinstance(s, Mapping)]
    other = [s for s in top if s.get("flagged") and str(s.get("session_id")) not in lead_sessions]
    n_flagged = int((f.get("counts") or {}).get("flagged_sessions") or 0)
    has_campaigns = isinstance(f.get("campaigns"), Mapping) and bool(f["campaigns"].get("top"))
    if has_campaigns:
        pass  # the campaigns' lines below say it, grouped
    elif other:
        kinds = Counter((str(s.get("lab")), str(s.get("account_kind") or "unknown")) for s in other)
        groups = "; ".join(f"{n} at {lab} by {kind} accounts" for (lab, kind), n in
                           sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))[:4])  # fmt: skip
        out.append({"text": f"{len(other)} other flagged session(s) of the {n_flagged:,} "
                            f"flagged in all ({groups})", "href": "#sessions"})  # fmt: skip
    elif n_flagged > len(lead_sessions):
        out.append({"text": f"{n_flagged:,} flagged session(s) in all", "href": "#sessions"})
    out += _other_campaigns(f, lead_sessions)
    out += _exports_lines(f)
    c = f.get("counts") or {}
    if c.get("flagged_sources"):
        out += _sources_lines(f, int(c["flagged_sources"]), when)
    if c.get("quarantined"):
        out.append({"text": f"{_n(c['quarantined'])} input row(s) quarantined (unreadable "
                            "rows, kept aside with their reason)", "href": "#quarantine"})  # fmt: skip
    gaps = f.get("gaps") or []
    if gaps:
        out.append({"text": f"{len(gaps):,} run(s) of days without any logged event",
                    "href": "#gaps"})  # fmt: skip
    acc = f.get("accounting") or {}
    if acc.get("unrecognised"):
        out.append({"text": f"{len(acc['unrecognised']):,} file(s) no reader recognised",
                    "href": "#evidence"})  # fmt: skip
    return out


def _sources_lines(
    f: Mapping[str, Any], n_flagged: int, when: Callable[..., str] = str
) -> list[dict[str, str]]:
    """One line per flagged source address: its failed logins and whether one succeeded.

    From ``top_sources`` (the failed-login detector's rows: ``src_ip``, ``lab``,
    ``failed_logins``, ``distinct_accounts_tried``, ``success_after_failures``,
    ``accounts_succeeded``, ``first``, ``last``); a flagged source not among them is
    counted only.
    """
    rows = [s for s in (f.get("top_sources") or []) if isinstance(s, Mapping) and s.get("flagged")]
    rows.sort(key=lambda s: (int(s.get("rank") or 0), str(s.get("src_ip"))))
    out = []
    for s in rows:
        # a success after a burst of failures from the same address is the mark of a
        # guessed password: the account is taken over (MITRE ATT&CK T1110 brute force,
        # then T1078 valid accounts)
        who = s.get("accounts_succeeded_as_logged") or s.get("accounts_succeeded")  # as logged
        after = (f"then a successful login from it as {who}: {TAKEOVER_WORDS} of {who}"
                 if s.get("success_after_failures") and s.get("accounts_succeeded")
                 else "no login from it succeeded afterwards")  # fmt: skip
        out.append({"text": f"address {s.get('src_ip_as_logged') or s.get('src_ip')}: "
                            f"{_n(s.get('failed_logins'))} failed "
                            f"logins at {s.get('lab')} on {_n(s.get('distinct_accounts_tried'))} "
                            f"account(s) (password guessing) from "
                            f"{when(s.get('first'), seconds=False)}, {after}",
                    "href": "#sources"})  # fmt: skip
    if n_flagged > len(rows):
        more = " more" if rows else ""
        out.append({"text": f"{_n(n_flagged - len(rows))}{more} source address(es) with bursts "
                            "of failed logins (password guessing)", "href": "#sources"})  # fmt: skip
    return out


#: A login that succeeds after a burst of failed logins, in the field's words: the logs
#: show the pattern (MITRE ATT&CK T1110 then T1078), not who typed the password, so it is
#: stated as suspected (QA, session 9: it read as an established fact).
TAKEOVER_WORDS = "suspected account takeover (credential compromise: a password guessed, then used)"


def _plain(value: Any, seconds: bool = True) -> str:
    return str(value)


def takeovers(
    f: Mapping[str, Any], when: Callable[..., str] = _plain
) -> dict[tuple[str, str], str]:
    """The accounts taken over: a successful login after a flagged burst of failed logins
    from one address (``top_sources`` rows with ``success_after_failures``).

    Returns
    -------
    dict
        (lab, account) -> the evidence in words (failures, address, first failure, success).
    """
    out: dict[tuple[str, str], str] = {}
    rows = [s for s in (f.get("top_sources") or []) if isinstance(s, Mapping) and s.get("flagged")
            and s.get("success_after_failures") and s.get("accounts_succeeded")]  # fmt: skip
    for s in sorted(rows, key=lambda s: (int(s.get("rank") or 0), str(s.get("src_ip")))):
        for account in _labs(s.get("accounts_succeeded")):
            out.setdefault((str(s.get("lab")), account), (
                f"{TAKEOVER_WORDS}: {_n(s.get('failed_logins'))} failed logins from address "
                f"{s.get('src_ip_as_logged') or s.get('src_ip')} from {when(s.get('first'), seconds=False)}, then a "
                f"successful login from it as {account}"))  # fmt: skip
    return out


#: Activity classes of :mod:`labforensics.detect.campaigns`, in words.
ACTIVITY_WORDS = {
    "export": "exports or extractions",
    "failed_login": "suspected account takeover (a login after failed logins)",
    "patient_reading": "patient reading",
    "administration": "administration",
    "other": "other activity",
}


def _notes(parts: list[str]) -> str:
    """`` (a; b)`` of the non-empty parts, or nothing."""
    kept = [p for p in parts if p]
    return f" ({'; '.join(kept)})" if kept else ""


def _other_campaigns(f: Mapping[str, Any], lead_sessions: set[str]) -> list[dict[str, str]]:
    """One line per activity class of the flagged campaigns outside the leading story."""
    camp = f.get("campaigns") if isinstance(f.get("campaigns"), Mapping) else None
    if not camp or not camp.get("flagged"):
        return []
    top = [t for t in (camp.get("top") or []) if isinstance(t, Mapping) and t.get("flagged")]
    lead_ops = {(str(p.get("lab")), str(p["operation"].get("account"))) for p in _stated(f)}
    taken = takeovers(f)
    rest = [t for t in top if str(t.get("best_session_id")) not in lead_sessions
            and (str(t.get("lab")), str(t.get("account"))) not in lead_ops]  # fmt: skip
    lead = [t for t in top if t not in rest]
    out = []
    if lead:  # the ranks not listed below are the leading story's: say so
        ranks = _ranges(sorted(int(t.get("rank") or 0) for t in lead))
        who = sorted({str(t.get("account")) for t in lead})
        kinds = sorted({ACTIVITY_WORDS.get(str(t.get("activity")), str(t.get("activity")))
                        for t in lead})  # fmt: skip
        out.append({"text": f"campaign(s) no. {ranks}: the leading operations above "
                            f"({', '.join(who)}, {' and '.join(kinds)})", "href": "#conclusion"})  # fmt: skip
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for t in rest:
        by_kind.setdefault(str(t.get("activity") or "other"), []).append(t)
    for kind, items in sorted(
        by_kind.items(), key=lambda kv: min(int(t.get("rank") or 0) for t in kv[1])
    ):
        # most suspicious first: the campaigns' rank (1 = highest anomaly score), each
        # linked to its line in the campaigns section (anchor = its campaign id)
        items = sorted(items, key=lambda t: (int(t.get("rank") or 0), str(t.get("campaign_id"))))
        links = [{"text": f"no. {t.get('rank')}: {t.get('account')} at {t.get('lab')}"
                          + _notes(["suspected account takeover" if (str(t.get("lab")),
                                                           str(t.get("account"))) in taken
                                    else "",
                                    f"score {float(t['score']):.2f}"
                                    if t.get("score") is not None else ""]),
                  "href": f"#{t['campaign_id']}" if t.get("campaign_id") else "#campaigns"}
                 for t in items]  # fmt: skip
        shown = links[:CAMPAIGNS_NAMED]
        out.append({"text": f"{len(items)} flagged campaign(s) of "
                            f"{ACTIVITY_WORDS.get(kind, kind)}, most suspicious first "
                            "(no. = rank of all campaigns by anomaly score; a flag is a lead "
                            "to examine, not a finding: the scores say how strong)",
                    "href": "#campaigns", "links": shown,
                    "more": len(links) - len(shown)})  # fmt: skip
    out.append({"text": f"{_n(camp.get('flagged'))} flagged campaign(s) in all, "
                        f"{_n(camp.get('flagged_sessions'))} flagged session(s)",
                "href": "#campaigns"})  # fmt: skip
    return out


def _ranges(ns: Sequence[int]) -> str:
    """Sorted integers as ranges: [1, 2, 3, 5] -> "1-3, 5"."""
    out: list[str] = []
    for n in ns:
        if out and n == int(out[-1].split("-")[-1]) + 1:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        elif not out or n != int(out[-1].split("-")[-1]):
            out.append(str(n))
    return ", ".join(out)


def _exports_lines(f: Mapping[str, Any]) -> list[dict[str, str]]:
    """The exports and extractions that need a look: beyond, unregistered, undetermined."""
    ex = f.get("exports") if isinstance(f.get("exports"), Mapping) else None
    if not ex:
        return []
    st = ex.get("by_status") or {}
    if not ex.get("register"):
        return [{"text": f"{_n(ex.get('operations'))} export(s) and extraction(s), none "
                         "checked against an authorisation register (none was given)",
                 "href": "#exports"}]  # fmt: skip
    words = (("beyond", "beyond their authorisation"), ("unregistered", "by an account the "
             "authorisation register does not name for that work at that lab"),
             ("undetermined", "whose scope the evidence cannot judge"))  # fmt: skip
    lead_ops = {str(p["operation"].get("op")) for p in _stated(f)}
    beyond = [r for r in (ex.get("beyond") or []) if isinstance(r, Mapping)]
    n_lead = sum(str(r.get("session_id")) in lead_ops for r in beyond)
    camp = f.get("campaigns") if isinstance(f.get("campaigns"), Mapping) else {}
    out = []
    for k, w in words:
        if not st.get(k):
            continue
        recs = (ex.get("records_by_status") or {}).get(k)
        text = f"{_n(st.get(k))} export(s)/extraction(s) {w}" + (
            f", {_n(recs)} records in all" if recs else ""
        )
        if k == "beyond" and n_lead:
            text += (": the leading operations above" if n_lead == int(st.get(k) or 0)
                     else f" ({n_lead:,} of them the leading operations above)")  # fmt: skip
        if k == "unregistered":
            # per lab (exports' by_lab), with the accounts the flagged campaigns of
            # unregistered exports name at that lab
            by_lab = {str(lab): int(v.get("unregistered") or 0) for lab, v in
                      (ex.get("by_lab") or {}).items() if isinstance(v, Mapping)
                      and v.get("unregistered")}  # fmt: skip
            accts: dict[str, set[str]] = {}
            for t in camp.get("top") or []:
                if isinstance(t, Mapping) and "unregistered_export" in (t.get("rules") or []):
                    accts.setdefault(str(t.get("lab")), set()).add(str(t.get("account")))
            if by_lab:
                named = sorted(set().union(*(accts.get(lab, set()) for lab in by_lab)))
                text += (" (" + ", ".join(f"{n:,} at {lab}" for lab, n in sorted(by_lab.items()))
                         + (f"; the account of their flagged campaigns: {', '.join(named)}"
                            if named else "") + ")")  # fmt: skip
        out.append({"text": text, "href": "#exports"})
    return out


def summary_view(f: Mapping[str, Any], when: Callable[..., str]) -> dict[str, Any]:
    """The first screen's answers, from the findings (see the module docstring).

    Parameters
    ----------
    f : dict
        ``findings.json`` (``verdict``, ``leak``, ``pathways``, ``windows``,
        ``transfers``, ``coverage``, ``top_sessions``, ``counts``, ``gaps``,
        ``accounting``; ``conclusion``, ``campaigns`` and ``exports`` when present).
    when : callable
        The report's time formatter (:func:`labforensics.report.html.make_formatter`).

    Returns
    -------
    dict
        ``rows``: list of ``{"question", "answer"}`` (plain text); ``others``: list
        of ``{"text", "href"}``; ``leading``: the leading code (for the colour).
    """
    lead = _leading(f)
    pw = [p for p in (f.get("pathways") or []) if isinstance(p, Mapping)]
    lead_pw = [p for p in pw if p.get("hypothesis") == lead and (p.get("leaked_explained") or 0)]
    lead_pw.sort(key=lambda p: (-(p.get("leaked_explained") or 0), str(p.get("pathway_id"))))
    lead_sessions = {str(s.get("session_id")) for s in (f.get("top_sessions") or [])
                     if isinstance(s, Mapping) and s.get("flagged")
                     and any(s.get("account") == p.get("account") for p in lead_pw)}  # fmt: skip
    rows = [
        {"question": "How sure", "answer": Composed(_how_sure(f))},
        {"question": "Who", "answer": Composed(_who_from_conclusion(f, when) or _who(lead_pw, f))},
        {"question": "What", "answer": Composed(_what(f, lead_pw))},
        {"question": "When", "answer": Composed(_when(f, when))},
        {"question": "How it left", "answer": Composed(_how_left(f))},
    ]  # Composed: printed whole (a 30-lab list is longer than a clipped free text)

    def used(t: str, text: str) -> bool:
        return any(w.lower() in text.lower() for w in (t, *TERM_SHOWN_AS.get(t, ())))

    for r in rows:  # the glossary entries of the terms each answer uses, linked
        r["terms"] = [{"term": t, "href": "#" + glossary_anchor(t)}
                      for t in ROW_TERMS.get(r["question"], ())
                      if t in _GLOSSARY_TERMS and used(t, r["answer"])]  # fmt: skip
    others = _else(f, lead_sessions, when)
    alltext = " ".join([o["text"] for o in others]
                       + [i["text"] for o in others for i in o.get("links") or []])  # fmt: skip
    other_terms = [{"term": t, "href": "#" + glossary_anchor(t)} for t in ROW_TERMS["What else"]
                   if t in _GLOSSARY_TERMS and used(t, alltext)]  # fmt: skip
    for r in rows:  # one screen: the details are a link away
        if r["question"] in ROW_LINKS and f.get("per_lab"):
            r["link"] = ROW_LINKS[r["question"]]
    return {"rows": rows, "others": others, "other_terms": other_terms, "leading": lead,
            "lr": lr_view(f)}  # fmt: skip


#: The section each first-screen answer's details are in (when the conclusion is given).
ROW_LINKS: dict[str, dict[str, str]] = {
    "How sure": {"text": "each lab's likelihood ratio", "href": "#conclusion"},
    "What": {"text": "coverage per lab", "href": "#conclusion"},
    "When": {"text": "each lab's window", "href": "#conclusion"},
    "How it left": {"text": "the transfers", "href": "#leak"},
}


#: The glossary terms each first-screen answer may use (linked when the answer does).
ROW_TERMS: dict[str, tuple[str, ...]] = {
    "How sure": (
        "likelihood ratio",
        "verbal scale",
        "lab-patient pair",
        "labs weighed",
        "coverage",
    ),
    "Who": ("account",),
    "What": ("lab-patient pair", "labs weighed", "patients of a lab"),
    "When": ("exfiltration window",),
    "How it left": ("extraction",),
    "What else": ("campaign", "campaign rank", "flagged", "quarantine", "account takeover"),
}
#: How a glossary term shows in the first screen's text, when not as itself.
TERM_SHOWN_AS: dict[str, tuple[str, ...]] = {
    "lab-patient pair": ("pairs",),
    "labs weighed": ("weighed", "weighing"),
    "verbal scale": ("verbal scale",),
    "campaign": ("campaign",),
    "campaign rank": ("no. ",),
    "flagged": ("flagged",),
    "exfiltration window": ("window",),
    "quarantine": ("quarantined",),
    "patients of a lab": ("lab's index",),
}


#: The report's glossary: (term, meaning), for a reader told nothing of the design.
