"""The report names a lab's accounts that differ only by case (QA session 12)."""

from __future__ import annotations

from standin import standin_report


def _html(accounting):
    return standin_report(accounting)[1]


def test_report_names_case_variant_groups():
    groups = [{"lab": "L07", "accounts": ["Jdupont", "jdupont\u200b"], "events": [1, 12]}]
    html = _html({"totals": {}, "files": [], "case_variant_accounts": groups})
    i = html.index('id="case-variant-accounts"')
    sec = html[i : html.index("</p>", i)]
    assert "<b>Accounts that differ only by case</b> (1 group(s);" in sec
    # the zero-width space is shown (an identity as the report prints it), counts pluralised
    assert "L07: Jdupont (1 event) / jdupont\\u200b (12 events)." in sec
    assert 'id="case-variant-accounts"' not in _html({"totals": {}, "files": []})
