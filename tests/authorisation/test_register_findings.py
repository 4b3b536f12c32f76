"""Detection with the register: unregistered exports are findings, authorised ones documented."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labforensics.authorisation import assess_exports, read_authorisations
from labforensics.case import CaseContext
from labforensics.detect import DetectParams, documented_by_register, score
from labforensics.detect.rules import load_rules, render_reason
from labforensics.features import FeatureParams, build_features
from labforensics.sessions import sessionize

from .conftest import make_events, write_register

CASE = CaseContext(tz="Europe/Paris")


def _rows() -> list[dict]:
    bill = {"account": "sec.bill", "role": "SECRETAIRE", "module": "FACTURATION"}
    sheet = {"account": "sec.b", "role": "SECRETAIRE", "module": "RESULTATS"}
    rows = []
    for d in range(2, 6):  # both secretaries read patients every day (routine)
        for a in (bill, sheet):
            rows += [{"t": f"2020-03-0{d} 09:0{k}", "patient": f"P{d}{k}", **a} for k in range(3)]
    # the billing export, registered; a secretary's first export, 50 records to a
    # spreadsheet, that no register row names
    rows.append({"t": "2020-03-04 10:00", "action": "export", "records": 1200, **bill})
    rows.append({"t": "2020-03-05 11:00", "action": "export", "records": 50,
                 "detail": "Export vers C:\\Users\\sec.b\\Documents\\patients.xlsx", **sheet})  # fmt: skip
    return rows


def _scored(tmp_path, with_register: bool):
    ss = sessionize(make_events(_rows()))
    reg = None
    if with_register:
        p = write_register(tmp_path, ["FACT-1;L07;sec.bill;billing;2020-03-01;;;;;facturation"])
        reg = read_authorisations(p, CASE)
    ex = assess_exports(ss.events, ss.sessions, register=reg, case=CASE)
    ft = build_features(ss.events, ss.sessions, FeatureParams(warmup="0s"), case=CASE, exports=ex)
    return ex, score(ft, DetectParams(), case=CASE).session.set_index("account", drop=False)


def _export_session(s: pd.DataFrame, account: str, ex: pd.DataFrame) -> pd.Series:
    sid = ex.loc[ex["account"] == account, "session_id"].iloc[0]
    return s[s["session_id"] == sid].iloc[0]


def test_unregistered_staff_export_is_a_finding_whatever_its_size(tmp_path):
    ex, s = _scored(tmp_path, with_register=True)
    assert ex.set_index("account")["status"].to_dict() == {
        "sec.bill": "authorised",
        "sec.b": "unregistered",
    }
    sheet = _export_session(s, "sec.b", ex)
    # 50 records, far below staff_first_bulk_export's 500: the register's silence fires
    assert sheet["rule_unregistered_export"] == 8.0 and bool(sheet["flagged"])
    rule = {r.id: r for r in load_rules()}["unregistered_export"]
    text = render_reason(rule, {"ops_unregistered": 1.0, "records_not_authorised": 50.0})
    assert text in list(sheet["reasons"])
    assert text.startswith("1 export(s)/extraction(s) by an account the authorisation register")
    # the billing export is documented: its score is its rules alone (none), not flagged
    billing = _export_session(s, "sec.bill", ex)
    assert billing["score"] == billing["rules_score"] == 0.0 and not bool(billing["flagged"])


def test_without_a_register_nothing_is_unregistered(tmp_path):
    ex, s = _scored(tmp_path, with_register=False)
    assert set(ex["status"]) == {"unknown"}
    sheet = _export_session(s, "sec.b", ex)
    assert sheet.get("rule_unregistered_export", 0.0) == 0.0
    # nothing is documented either: the billing session's score is its ensemble
    billing = _export_session(s, "sec.bill", ex)
    assert billing["score"] == billing["ensemble"] + billing["rules_score"]


def test_documented_by_register_by_hand():
    f = pd.DataFrame({"ops_authorised": [1.0, 1.0, 0.0, 2.0],
                      "records_not_authorised": [0.0, 30.0, 0.0, np.nan]})  # fmt: skip
    # authorised and nothing else out; an operation not authorised; no operation;
    # a missing count counts 0
    assert documented_by_register(f).tolist() == [True, False, False, True]
    assert documented_by_register(pd.DataFrame({"x": [1.0]})).tolist() == [False]
