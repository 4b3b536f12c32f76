"""Declarative rules: file format checks, evaluation, reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labforensics.detect import DetectParams, score
from labforensics.detect.rules import apply_rules, default_rules_path, load_rules, render_reason
from labforensics.errors import ParameterError


def _write(tmp_path, text: str):
    p = tmp_path / "rules.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_default_rules_load_and_cover_every_unit():
    rules = load_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert {r.unit for r in rules} == {"session", "account_day", "account_month"}
    assert default_rules_path().name == "rules.toml"
    assert "mass_extraction" in ids and "success_after_failed_burst_new_ip" in ids


def test_all_and_any_conditions(tmp_path):
    p = _write(
        tmp_path,
        """
[[rule]]
id = "big_vendor"
unit = "session"
weight = 3
rationale = "r"
references = ["ref"]
known_false_positives = ["fp"]
all = [ { feature = "records_out", op = ">=", value = 100 } ]
any = [ { feature = "kind_vendor", op = "==", value = 1 }, { feature = "night", op = "==", value = 1 } ]
""",
    )
    (rule,) = load_rules(p)
    frame = pd.DataFrame(
        {
            "records_out": [500, 500, 500, 50, np.nan],
            "kind_vendor": [1, 0, 0, 1, 1],
            "night": [0, 1, 0, 1, 1],
        }
    )
    fired, skipped = apply_rules(frame, [rule], "session")
    # row 0: vendor; row 1: night; row 2: neither; row 3: too small; row 4: missing never fires
    assert fired["big_vendor"].tolist() == [True, True, False, False, False]
    assert skipped == {}
    # a rule of another unit is not applied to this one
    assert apply_rules(frame, [rule], "account_day") == ({}, {})


def test_string_condition_on_a_key_column(tmp_path):
    p = _write(
        tmp_path,
        """
[[rule]]
id = "vendor_kind"
unit = "session"
rationale = "r"
references = ["ref"]
known_false_positives = ["fp"]
all = [ { feature = "account_kind", op = "==", value = "vendor" } ]
""",
    )
    frame = pd.DataFrame({"account_kind": pd.array(["vendor", "staff", None], dtype="string")})
    fired, _ = apply_rules(frame, load_rules(p), "session")
    assert fired["vendor_kind"].tolist() == [True, False, False]


def test_missing_feature_skips_rule_with_reason():
    rules = load_rules()
    fired, skipped = apply_rules(pd.DataFrame({"records_out": [1.0]}), rules, "session")
    assert fired == {}
    assert "lacks" in skipped["mass_extraction"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[[rule]]\nid='x'\nunit='session'\nall=[{feature='a', op='=~', value=1}]", "op"),
        ("[[rule]]\nid='x'\nunit='week'\nall=[{feature='a', op='>', value=1}]", "unit"),
        ("[[rule]]\nid='x'\nunit='session'", "at least one condition"),
        ("[[rule]]\nid='x'\nunit='session'\ncode='__import__(1)'\nall=[]", "unknown keys"),
        (
            "[[rule]]\nid='x'\nunit='session'\nall=[{feature='a', op='>', value=1}]\n"
            "rationale='r'\nreferences='x'\nknown_false_positives='y'\n"
            "[[rule]]\nid='x'\nunit='session'\nall=[{feature='a', op='>', value=1}]",
            "duplicate",
        ),
        (
            "[[rule]]\nid='x'\nunit='session'\nreason='{a.__class__}'\n"
            "all=[{feature='a', op='>', value=1}]",
            "plain column name",
        ),
        ("not toml [", "TOML"),
    ],
)
def test_bad_rule_files_are_refused(tmp_path, text, match):
    with pytest.raises(ParameterError, match=match):
        load_rules(_write(tmp_path, text))


def test_reason_template():
    (rule,) = [r for r in load_rules() if r.id == "vendor_night_export"]
    assert render_reason(rule, {"start_local": "02:14"}) == (
        "export by vendor account at 02:14 local (night)"
    )


def test_user_rule_file_in_score(tmp_path):
    p = _write(
        tmp_path,
        """
[[rule]]
id = "many_records"
unit = "session"
weight = 2.5
rationale = "r"
references = ["ref"]
known_false_positives = ["fp"]
reason = "{records_exported:,.0f} records exported"
all = [ { feature = "records_exported", op = ">", value = 1000 } ]
""",
    )
    t = pd.DataFrame(
        {
            "session_id": [f"s{i}" for i in range(6)],
            "records_exported": [0, 0, 0, 0, 0, 5000],
            "n_events": [10, 11, 12, 10, 11, 12],
        }
    )
    sc = score(t, DetectParams(rules_path=p))
    top = sc.session.iloc[0]
    # the rule adds its weight to the score, appears as a column and leads the reasons
    assert top["session_id"] == "s5" and top["rule_many_records"] == 2.5
    assert top["score"] == pytest.approx(top["ensemble"] + 2.5)
    assert top["reasons"][0].startswith("5,000 records exported")  # first of the list
    assert top["flagged"]
    assert sc.metadata["units"]["session"]["rules_applied"] == ["many_records"]
    # rules_path="" disables rules
    assert "rules_score" in score(t, DetectParams(rules_path="")).session
    assert score(t, DetectParams(rules_path="")).session["rules_score"].eq(0).all()
