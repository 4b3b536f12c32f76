"""Every rule states its rationale, references and known false positives."""

from __future__ import annotations

import pytest

from labforensics.detect.rules import DOC_KEYS, load_rules
from labforensics.errors import ParameterError

RULE = """
[[rule]]
id = "lonely_rule"
unit = "session"
weight = 6
all = [ { feature = "records_out", op = ">", value = 0 } ]
"""
DOCS = {
    "rationale": 'rationale = "why"',
    "references": 'references = ["a source"]',
    "known_false_positives": 'known_false_positives = ["routine work"]',
}


def _write(tmp_path, text: str):
    p = tmp_path / "rules.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("missing", DOC_KEYS)
def test_a_rule_without_its_documentation_is_refused(tmp_path, missing):
    text = RULE + "\n".join(v for k, v in DOCS.items() if k != missing) + "\n"
    # the error names the rule and the missing key
    with pytest.raises(ParameterError, match=rf"lonely_rule.*no '{missing}'"):
        load_rules(_write(tmp_path, text))


@pytest.mark.parametrize(
    "bad", ["references = []", 'references = [""]', "references = 3", 'references = ["x", 2]']
)
def test_empty_or_non_string_documentation_is_refused(tmp_path, bad):
    text = RULE + DOCS["rationale"] + "\n" + DOCS["known_false_positives"] + "\n" + bad + "\n"
    with pytest.raises(ParameterError, match=r"lonely_rule.*'references' must be"):
        load_rules(_write(tmp_path, text))


def test_documented_rule_loads_with_its_documentation(tmp_path):
    (r,) = load_rules(_write(tmp_path, RULE + "\n".join(DOCS.values()) + "\n"))
    assert r.rationale == "why" and r.references == ("a source",)
    assert r.known_false_positives == ("routine work",)


def test_every_default_rule_is_documented():
    rules = load_rules()
    for r in rules:
        assert len(r.rationale) > 80, r.id  # a sentence or more, not a placeholder
        assert r.references and r.known_false_positives, r.id
    ids = {r.id for r in rules}
    assert {"unexplained_patients", "unexplained_patients_day", "staff_first_bulk_export"} <= ids


def test_job_exclusion_on_extraction_and_vendor_rules():
    # a recurring job is routine whatever its action code (issue 14 item 3)
    by_id = {r.id: r for r in load_rules()}
    for rid in (
        "mass_extraction",
        "vendor_export",
        "vendor_night_export",
        "vendor_repeated_exports",
    ):
        conds = {(c.feature, c.op, c.value) for c in by_id[rid].all}
        assert ("regular_job", "==", 0) in conds, rid
