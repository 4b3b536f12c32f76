"""The propositions and verdicts in words: the one table every human-facing text takes
them from (the terminal's summary, ``report.html``, the summary sentences).

The codes (:data:`~labforensics.attribution.conclusion.PROPOSITIONS`, the share rule's
:data:`~labforensics.attribution.propositions.HYPOTHESES`, ``mixed``, ``undetermined``,
the verdict classes ``outside`` and ``none``) stay as they are in the machine fields of
``findings.json`` (``proposition``, ``alternative``, ``hypothesis``, ``verdict.verdict``,
``verdict.class``): tests and users parse them. A reader sees the words of
:data:`PROPOSITION_LABELS` instead: :func:`proposition_words` in a sentence,
:func:`verdict_label` as the verdict's heading, :func:`reason_words` for the sentences
of the conclusion that name propositions by their codes (``conclusion.reason``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "PROPOSITION_LABELS",
    "Label",
    "proposition_who",
    "proposition_words",
    "reason_words",
    "verdict_label",
]


@dataclass(frozen=True)
class Label:
    """A proposition's words: ``words`` in a sentence ("copied through ..."), ``heading``
    as the verdict's heading, ``who`` as the one it names ("over ... by a ratio of")."""

    words: str
    heading: str
    who: str


_OUTSIDE_EVIDENCE = "a copy outside the logged evidence (made by no logged operation)"

#: Every proposition, hypothesis and verdict code, in words.
PROPOSITION_LABELS: Mapping[str, Label] = {
    "vendor": Label("the LIS vendor (its extraction tool or accounts)", "The LIS vendor",
                    "the LIS vendor"),
    "insider": Label("laboratory staff", "Laboratory staff (insider)", "laboratory staff"),
    "external": Label("an outside intrusion", "An outside attacker", "an outside intruder"),
    # the share rule's verdict class for ``external``
    "outside": Label("an outside intrusion", "An outside attacker", "an outside intruder"),
    "outside_evidence": Label(_OUTSIDE_EVIDENCE, _OUTSIDE_EVIDENCE[0].upper() + _OUTSIDE_EVIDENCE[1:],
                              _OUTSIDE_EVIDENCE),
    "mixed": Label("different sources at different labs",
                   "Mixed: different sources at different labs",
                   "different sources at different labs"),
    "none": Label("no exfiltration found", "No exfiltration found", "no one"),
    "undetermined": Label("undetermined", "Undetermined", "undetermined"),
}  # fmt: skip


def _label(code: object) -> Label | None:
    return PROPOSITION_LABELS.get(str(code)) if code is not None else None


def proposition_words(code: object) -> str:
    """A proposition or verdict code in words, for a sentence.

    Parameters
    ----------
    code : object
        A code of :data:`PROPOSITION_LABELS`; anything else is returned as text with
        its underscores as spaces (never a bare code with an underscore).

    Returns
    -------
    str
    """
    lab = _label(code)
    return lab.words if lab else str(code).replace("_", " ")


def verdict_label(code: object) -> str:
    """The verdict's heading for a code ("The LIS vendor"); unknown codes as text."""
    lab = _label(code)
    return lab.heading if lab else str(code).replace("_", " ")


def proposition_who(code: object) -> str:
    """Whom a proposition names ("an outside intruder"); unknown codes as text."""
    lab = _label(code)
    return lab.who if lab else str(code).replace("_", " ")


# the propositions a conclusion's sentence names (not ``outside``: an ordinary word)
_CODES = "|".join(sorted((c for c in PROPOSITION_LABELS if c != "outside"), key=len,
                         reverse=True))  # fmt: skip
# The conclusion's sentence forms (labforensics.attribution.conclusion): "{a} against
# {b}, log10 LR", "cannot tell {a} from {b}", "{h}'s operation falls within", "N lab(s)
# weighed: {lab} {a}; {lab} {b}; ...", and a progress note "verdict {a}". Only there is a
# word a code: an account or lab named "vendor" elsewhere in a sentence stays as it is.
_FORMS = (
    rf"\b(?P<a>{_CODES}) against (?P<b>{_CODES})\b"
    rf"|\bagainst (?P<c>{_CODES})(?=\)|,|;|\.|$)"
    rf"|\bcannot tell (?P<d>{_CODES}) from (?P<e>{_CODES})\b"
    rf"|\b(?P<f>{_CODES})'s(?= operation)"
    rf"|^verdict (?P<g>{_CODES})$"
    rf"|\b(?P<h>outside_evidence)\b"
)
_WEIGHED = r"\blab\(s\) weighed: (?P<list>.*?)(?=; [\d,]+ of |$)"
# one pass: a code the callback has written (in a title) is not read again
_SENTENCE = re.compile(_WEIGHED + "|" + _FORMS)
_ONE = re.compile(_FORMS)
_WEIGHED_ITEM = re.compile(rf"^(?P<lab>.+) (?P<code>{_CODES})$")


def reason_words(text: str, wrap: Callable[[str, str], str] | None = None) -> str:
    """A sentence of the conclusion with its proposition codes in words.

    Parameters
    ----------
    text : str
        ``conclusion.reason``, a lab's ``reason``, a verdict's strength or a stage's note
        (``verdict vendor``), as :mod:`labforensics.attribution.conclusion` writes them.
    wrap : callable, optional
        ``wrap(code, words) -> str``: how a code's words are written; default the words
        alone (the report passes one that keeps the code in a ``title``).

    Returns
    -------
    str
        The text with each code in one of the conclusion's sentence forms (``X against
        Y``, ``cannot tell X from Y``, ``X's operation``, ``N lab(s) weighed: LAB X; ...``,
        ``verdict X``) and every ``outside_evidence`` replaced; other words unchanged.
    """

    def w(code: str) -> str:
        return wrap(code, proposition_words(code)) if wrap else proposition_words(code)

    def forms(m: re.Match[str]) -> str:
        g = m.groupdict()
        if g.get("list") is not None:
            items = []
            for item in g["list"].split("; "):
                it = _WEIGHED_ITEM.match(item)
                items.append(f"{it.group('lab')}: {w(it.group('code'))}" if it
                             else _ONE.sub(forms, item))  # fmt: skip
            return "lab(s) weighed: " + "; ".join(items)
        if g["a"]:
            return f"{w(g['a'])} against {w(g['b'])}"
        if g["c"]:
            return f"against {w(g['c'])}"
        if g["d"]:
            return f"cannot tell {w(g['d'])} from {w(g['e'])}"
        if g["f"]:  # the possessive of whom it names: "the LIS vendor's operation"
            return (
                wrap(g["f"], proposition_who(g["f"]) + "'s")
                if wrap
                else proposition_who(g["f"]) + "'s"
            )
        if g["g"]:
            return f"verdict: {w(g['g'])}"
        return w(g["h"])

    return _SENTENCE.sub(forms, str(text))
