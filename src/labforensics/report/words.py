"""Codes in words for the report's reader (issue 16 item 3: words, not codes).

``findings.json`` keeps the codes (propositions, parameters, the LIS's module and
role codes, format names): it is the machine-readable record and stays byte-identical.
The report shows each code in words, the code itself kept in a ``title`` attribute
(hover) for traceability: :func:`in_words` for any text the report prints,
:func:`coded` for a table cell of a known column.

Sources of the words: the LIS's module and profile codes from
``shared/formats/lis-audit-csv.md``; the propositions from
:mod:`labforensics.attribution.conclusion`; the xferlog fields from the ``xferlog(5)``
manual page; the decision rule's parameters from
:class:`labforensics.attribution.AttributionParams`.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from .._terminal import identity_visible
from ..attribution.labels import PROPOSITION_LABELS, reason_words

__all__ = [
    "COLUMN_WORDS",
    "EXTRA_GLOSSARY",
    "FORMAT_WORDS",
    "MODULE_WORDS",
    "PROPOSITION_WORDS",
    "ROLE_WORDS",
    "TERM_WORDS",
    "coded",
    "in_words",
    "pathway_words",
    "reason_html",
]

#: Propositions and hypotheses (findings' ``proposition``, ``alternative``,
#: ``hypothesis``, verdict codes), from the one table of
#: :data:`labforensics.attribution.labels.PROPOSITION_LABELS`.
PROPOSITION_WORDS = {code: label.words for code, label in PROPOSITION_LABELS.items()}
#: LIS profiles (roles), ``shared/formats/lis-audit-csv.md``.
ROLE_WORDS = {
    "BIOLOGISTE": "biologist",
    "TECHNICIEN": "technician",
    "SECRETAIRE": "secretary",
    "PRELEVEUR": "sample collector",
    "ADMIN_LABO": "lab administrator",
    # the account kind, not its use: the same profile serves the hotline and the
    # migration tool's accounts (the case's account kinds: staff, vendor, service)
    "EDITEUR": "vendor account (LIS editor)",
    "INTERFACE": "service account (instruments, HL7, batch jobs)",
}
#: LIS modules, ``shared/formats/lis-audit-csv.md``.
MODULE_WORDS = {
    "SAISIE": "request entry",
    "RECEPTION": "sample reception",
    "TECHNIQUE": "bench",
    "VALIDATION": "validation",
    "RESULTATS": "results",
    "FACTURATION": "billing",
    "SERVEUR_RESULTATS": "results web portal",
    "INTERFACE": "instrument and HL7 interface",
    "EXTRACTION": "extraction and migration tool",
    "ADMIN": "administration",
}
#: Evidence formats (``source_format``; :mod:`labforensics.ingest`).
FORMAT_WORDS = {
    "lis_legacy": "LIS audit CSV, legacy dialect",
    "lis_current": "LIS audit CSV, current dialect",
    "xferlog": "FTP transfer log (xferlog)",
    "syslog": "syslog authentication log",
    "atna_xml": "IHE ATNA audit XML",
    "fhir_json": "FHIR AuditEvent JSON",
}
#: Internal terms that may appear in sentences of findings.json (parameter and column
#: names of the decision rule and the hypotheses).
TERM_WORDS = {
    "outside_evidence": PROPOSITION_WORDS["outside_evidence"],
    "min_explained": "the share below which the verdict is undetermined",
    "dominant_share": "the share that makes one hypothesis dominant",
    "mixed_share": "the share each of several hypotheses needs for 'mixed'",
    "share_retrieved_outside": "the share fetched from outside",
    "patients_explained": "leaked patients explained",
    "evidence_for": "evidence for",
    "evidence_against": "evidence against",
}
#: xferlog(5) one-letter fields.
_ACCESS = {"a": "anonymous", "r": "named account", "g": "guest"}
_COMPLETION = {"c": "complete", "i": "incomplete"}

#: Table columns whose values are codes, and their words.
COLUMN_WORDS: dict[str, Mapping[str, str]] = {
    "role": ROLE_WORDS,
    "module": MODULE_WORDS,
    "modules": MODULE_WORDS,
    "format": FORMAT_WORDS,
    "source_format": FORMAT_WORDS,
    "from_format": FORMAT_WORDS,
    "to_format": FORMAT_WORDS,
    "hypothesis": PROPOSITION_WORDS,
    "proposition": PROPOSITION_WORDS,
    "alternative": PROPOSITION_WORDS,
    "access_mode": _ACCESS,
    "completion": _COMPLETION,
}

_TERM_RE = re.compile(r"\b(" + "|".join(sorted(TERM_WORDS, key=len, reverse=True)) + r")\b")
# "role EDITEUR", "module EXTRACTION" in the sentences of the hypotheses' evidence
_ROLE_RE = re.compile(r"\b(role|module) ([A-Z][A-Z_]+)\b")
# pathway ids (PW001) of labforensics.attribution: "pathway 1"
_PATHWAY_RE = re.compile(r"\bPW(\d{3,})\b")


def _span(words: str, code: str) -> str:
    return (
        f'<span class="coded" title="{_html.escape(code, quote=True)}">'
        f"{_html.escape(words, quote=False)}</span>"
    )


def in_words(text: Any) -> Any:
    """A text with its internal terms in words, each term kept in a ``title``.

    Parameters
    ----------
    text : object
        Any value a template prints. Only plain strings (not :class:`Markup`) are
        changed; other values are returned as they are.

    Returns
    -------
    object
        For a string holding a term of :data:`TERM_WORDS`, ``role XXX`` / ``module XXX``
        with a known code, or a pathway id (``PW001``, shown as "pathway 1"): :class:`Markup` of the escaped text with each such term as
        ``<span class="coded" title="term">words</span>``; else the value unchanged.
    """
    if not isinstance(text, str) or isinstance(text, Markup):
        return text
    if not (_TERM_RE.search(text) or _ROLE_RE.search(text) or _PATHWAY_RE.search(text)):
        return text
    out = _html.escape(text, quote=False)

    def role(m: re.Match[str]) -> str:
        table = ROLE_WORDS if m.group(1) == "role" else MODULE_WORDS
        code = m.group(2)
        return f"{m.group(1)} {_span(table[code], code)}" if code in table else m.group(0)

    out = _ROLE_RE.sub(role, out)
    out = _TERM_RE.sub(lambda m: _span(TERM_WORDS[m.group(1)], m.group(1)), out)
    out = _PATHWAY_RE.sub(lambda m: _span(f"pathway {int(m.group(1))}", m.group(0)), out)
    return Markup(out)


def reason_html(text: Any) -> Any:
    """A sentence of the conclusion (``reason``) for the report: its proposition codes in
    words (:func:`labforensics.attribution.labels.reason_words`), each code kept in a
    ``title``; the rest escaped. Values other than plain strings are returned as they are.

    Parameters
    ----------
    text : object

    Returns
    -------
    object
        :class:`Markup` for a plain string, else ``text`` unchanged.
    """
    if not isinstance(text, str) or isinstance(text, Markup):
        return text
    spans: list[str] = []

    def mark(code: str, words: str) -> str:  # worded on the raw text, escaped after
        spans.append(_span(words, code))
        return f"\x00{len(spans) - 1}\x01"

    out = _html.escape(reason_words(text.replace("\x00", "").replace("\x01", ""), wrap=mark),
                       quote=False)  # fmt: skip
    return Markup(re.sub(r"\x00(\d+)\x01", lambda m: spans[int(m.group(1))], out))


def coded(value: Any, column: str) -> Any:
    """A table cell of ``column`` in words with its code as a ``title``, when it is a code.

    Parameters
    ----------
    value : object
        The cell's value; only plain strings are worded. Codes are matched as written,
        upper-cased and lower-cased (the current LIS dialect writes codes in lower case);
        a list cell (``"RESULTATS | ADMIN"``) is worded item by item.
    column : str
        The column's name, a key of :data:`COLUMN_WORDS` (other columns: unchanged).

    Returns
    -------
    object
        :class:`Markup` with each known code as
        ``<span class="coded" title="code">words</span>`` (unknown items escaped);
        the value unchanged when none of its items has words.
    """
    table = COLUMN_WORDS.get(column)
    if table is None or value is None or not isinstance(value, str) or isinstance(value, Markup):
        return value

    def one(code: str) -> str | None:
        c = code.strip()
        w = table.get(c) or table.get(c.upper()) or table.get(c.lower())
        return _span(w, c) if w else None

    parts = [p for p in re.split(r"\s*[|;]\s*", value) if p.strip()]
    worded = [one(p) for p in parts]
    if not parts or all(w is None for w in worded):
        return value
    return Markup(
        ", ".join(w or _html.escape(p, quote=False) for w, p in zip(worded, parts, strict=True))
    )


def pathway_words(pathways: Any) -> Any:
    """A filter that shows pathway ids (``PW001``) as their account and kind, the id in a
    ``title``.

    Parameters
    ----------
    pathways : list of dict
        findings' ``pathways`` (``pathway_id``, ``account``, ``account_kind``).

    Returns
    -------
    callable
        ``f(value)``: for a cell holding pathway ids (one, or several joined by ``|``,
        ``;`` or ``,``), :class:`Markup` with each known id as
        ``<span class="coded" title="PW001">migration.editeur (vendor account)</span>``;
        other values unchanged.
    """
    names: dict[str, str] = {}
    for p in pathways or []:
        if isinstance(p, Mapping) and p.get("pathway_id"):
            kind = f" ({p['account_kind']} account)" if p.get("account_kind") else ""
            acc = identity_visible(p.get("account")) or "(no account)"
            names[str(p["pathway_id"])] = f"{acc}{kind}"

    def f(value: Any) -> Any:
        if not isinstance(value, str) or isinstance(value, Markup) or not names:
            return value
        parts = [x.strip() for x in re.split(r"[|;,]", value) if x.strip()]
        if not parts or not all(x in names for x in parts):
            return value
        return Markup("; ".join(_span(names[x], x) for x in parts))

    return f


#: Glossary entries of the terms sections 2 to 6 use (issue 16 item 3), added to the first
#: screen's :data:`labforensics.report.summary.GLOSSARY`. Sources: the attribution's
#: candidates (fit), windows (change point), conclusion and likelihood (leading operation,
#: mismatch rate, uncapped), the leak's horizon (:mod:`labforensics.leak.horizon`).
EXTRA_GLOSSARY: tuple[tuple[str, str], ...] = (
    ("fit", "the earlier share rule's measure, from 0 to 1, of how well an operation matches "
     "a lab's leak: the records it moved over the lab's leaked patients (capped at 1, with a "
     "5 % tolerance on the count), times 1 / (1 + hours between the operation and the copy's "
     "window / 24); a hypothesis' fit is the mean over the leaked patients it explains"),
    ("horizon", "the newest date (a sample date, or the registration date of the linked "
     "patient) that enough linked rows of the leak support at one lab: the copy was made "
     "after it (section 5b). A horizon before the lab's first logged event means the logs "
     "cannot bound the copy's start: its window starts at the logs' start"),
    ("leading operation", "at a lab the conclusion weighs, the logged operation (an export "
     "or extraction by one account) that could have produced the most of the lab's leaked "
     "patients; the conclusion weighs it against a copy the logs do not cover"),
    ("vendor network", "the address ranges the case file declares as the LIS vendor's (its "
     "support and remote-access networks): an operation from them was run from the "
     "vendor's side"),
    ("change point", "in the earlier share rule, the place in a lab's patients, taken in the "
     "order they were first seen in the logs, where the share of them found in the leak "
     "drops (a Bernoulli change point kept when its log-likelihood gain exceeds a penalty): "
     "patients first seen after it were registered after the copy"),
    ("first-seen bound", "the earlier share rule's bound of the copy's time at a lab: when "
     "the leaked patients were first seen in the logs (after the last of them, before the "
     "first patient of the change point's side not in the leak), raised to the leak's "
     "latest sample date; shown for comparison with the conclusion's window"),
    ("uncapped", "a likelihood ratio before its ceiling: the conclusion caps each log10 "
     "likelihood ratio (see mismatch rate) and shows the uncapped value beside it"),
    ("mismatch rate", "the share of leaked patients the conclusion allows to be wrongly tied "
     "to a lab (the record linkage's estimated share of false links, at least the leak's noise allowance "
     "of 1 %); it caps each log10 likelihood ratio at min(6, 2 log10(1 / mismatch rate)), "
     "for dependence between patients and linkage error"),
    ("grade (earlier share rule)", "none, weak, moderate or strong: how much of the leak a "
     "hypothesis' pathways explain and how well they fit it, by the rule section 6 defines; "
     "not the conclusion's strength, which is stated on the verbal scale"),
    ("service account", "an account of the laboratory's own systems (night batch, "
     "instruments, HL7 interfaces), not a person's; the earlier share rule counts its "
     "pathways under laboratory staff, as the lab runs it"),
)  # fmt: skip
