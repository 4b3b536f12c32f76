"""Words, not codes (issue 16 item 3): a fixture's report shows no internal term to the
reader outside a code span or a title attribute (where a code stays, for traceability)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import labforensics as lf
from labforensics.features import FEATURE_SPECS
from labforensics.report.words import (
    FORMAT_WORDS,
    MODULE_WORDS,
    ROLE_WORDS,
    TERM_WORDS,
    coded,
    in_words,
)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "damaged-files"


class _Visible(HTMLParser):
    """The text a reader sees: no <style>, <code>, <pre> content, no attribute."""

    HIDDEN = ("style", "code", "pre", "script")

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.depth -= 1
        self.parts.append("\n")

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def visible_text(html: str) -> str:
    p = _Visible()
    p.feed(html)
    return "".join(p.parts)


#: Internal terms a reader must not see bare: propositions, the decision rule's and the
#: hypotheses' column names, format names, the LIS's module and role codes, pathway ids,
#: and the detectors' feature names (as column names, with underscores).
INTERNAL = sorted(
    {
        *TERM_WORDS,
        *FORMAT_WORDS,
        *MODULE_WORDS,
        *ROLE_WORDS,
        *(n for n in FEATURE_SPECS if "_" in n),
    }
    - {"xferlog"}  # fmt: skip
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    case = lf.CaseContext.from_file(FIXTURE / "case.toml")
    out = tmp_path_factory.mktemp("words") / "out"
    lf.investigate(None, out, case=case, progress=False)
    return (out / "report.html").read_text(encoding="utf-8")


def test_no_internal_term_outside_code_or_title(report):
    # the damaged-files fixture's report holds each kind: outside_evidence (the
    # alternative), min_explained (the decision rule), lis_legacy (formats), EDITEUR /
    # EXTRACTION (role and module), PW001 (pathways)
    # a term inside a hyphen-joined name is evidence shown as logged (the workstation
    # MIG-EDITEUR-01, session 16), not the code: only a term standing alone is counted
    text = visible_text(report)
    found = {t for t in INTERNAL if re.search(rf"(?<![\w.-]){re.escape(t)}(?![\w.-])", text)}
    assert not found, sorted(found)
    assert not re.search(r"\bPW\d{3}\b", text)
    # the codes are still there for traceability, in title attributes
    for code in ("outside_evidence", "lis_legacy", "EDITEUR", "PW001", "min_explained"):
        assert f'title="{code}"' in report, code


def test_words_shown_in_their_place(report):
    # the words a reader sees instead of each code
    text = visible_text(report)
    for words in ("a copy outside the logged evidence", "LIS audit CSV, legacy dialect",
                  "vendor account (LIS editor)", "extraction and migration tool",
                  "migration.editeur (vendor account)", "the share below which the verdict is undetermined"):  # fmt: skip
        assert words in text, words


def test_in_words_and_coded_by_hand():
    # a sentence: the term becomes a span, the rest escaped; a cell: words and the code
    got = in_words("vendor against outside_evidence <b>")
    assert got == ('vendor against <span class="coded" title="outside_evidence">a copy outside '
                   "the logged evidence (made by no logged operation)</span> &lt;b&gt;")  # fmt: skip
    assert in_words("role EDITEUR, module EXTRACTION").count('class="coded"') == 2
    assert in_words("nothing to change") == "nothing to change"
    # lower-case codes of the current dialect, and list cells
    assert coded("resultats", "module") == '<span class="coded" title="resultats">results</span>'
    assert coded("RESULTATS | ADMIN", "modules").count("<span") == 2
    assert coded("UNKNOWN", "module") == "UNKNOWN"
    assert coded("a", "access_mode") == '<span class="coded" title="a">anonymous</span>'
