"""Statuses of exports and extractions against a hand-made register (authorisations.md)."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.authorisation import assess_exports, read_authorisations
from labforensics.case import CaseContext
from labforensics.sessions import sessionize

from .conftest import index_frame, make_events, write_register

CASE = CaseContext(tz="Europe/Paris", lab_aliases={"350000011": "L07"})

# L07's logs start on Monday 2020-01-06; the scope date of MIG-1 (2020-01-01) is before
# it, so the upper bound comes from the patient index.
BACKGROUND = [
    {"t": "2020-01-06 08:00", "account": "tech.a", "patient": "PF"},  # first day of logs
    {"t": "2020-02-01 09:00", "account": "tech.a", "patient": "PA"},
    {"t": "2020-02-11 09:00", "account": "tech.a", "patient": "PC"},
    {"t": "2020-01-06 08:00", "lab": "L08", "account": "tech.b", "patient": "QX"},
]
INDEX = index_frame(
    [
        ("L07", "PA", "2019-05-01"),
        ("L07", "PB", "2019-12-15"),  # registered before the scope date, no activity seen
        ("L07", "PC", "2020-02-10"),
        ("L07", "PD", "2020-04-01"),  # registered after the operations
        ("L07", "PE", None),  # creation date unknown: cannot be excluded
    ]
)
# eligible at 2020-03-10 (scope since 2020-01-01): proven PF (event 01-06), PA (event
# 02-01), PC (created 02-10) -> min 3; upper bound: registered before t = PA, PB, PC,
# PE (unknown date), PF (seen in the logs) -> max 5.


def extraction(t: str, records: int, account: str = "migr.l07", out: str = "L07_export.csv",
               lab: str = "L07", **kw) -> dict:  # fmt: skip
    return {"t": t, "lab": lab, "account": account, "role": "EDITEUR", "account_kind": "vendor",
            "module": "EXTRACTION", "action": "extract", "records": records,
            "detail": f"Extraction complete vers ftp://transfert/{out}", "host": account, **kw}  # fmt: skip


def export(t: str, records: int, account: str, **kw) -> dict:
    return {"t": t, "account": account, "module": "RESULTATS", "action": "export",
            "records": records, "host": account, **kw}  # fmt: skip


REGISTER = [
    "MIG-1;L07;migr.*;migration;2020-03-01;2020-03-31;2020-01-01;5000;L07_*.csv;migration",
    "SUP-1;350000011;support.editeur;support;2020-03-01;;;100;;hotline",  # FINESS for L07
    "SUP-2;*;hotline.*;support;2020-03-01;;;100;;every lab, 100 records in all",
    "TEC-8;L08;tech.*;other;2020-03-01;;2020-01-01;;;scope without index at L08",
]


def _assess(tmp_path, rows, register=REGISTER, index=INDEX):
    ev = make_events(BACKGROUND + rows)
    ss = sessionize(ev)
    reg = read_authorisations(write_register(tmp_path, register), CASE) if register else None
    out = assess_exports(ss.events, ss.sessions, register=reg, patient_index=index, case=CASE)
    return out


def test_authorised_within_window_limits_and_scope(tmp_path):
    # 4 records <= upper bound 5; inside the window, the destination and 5000 records
    out = _assess(tmp_path, [extraction("2020-03-10 10:00", 4, out="l07_EXPORT.CSV")])
    r = out.iloc[0]
    assert r["status"] == "authorised"
    assert r["ticket"] == "MIG-1" and r["nearest_ticket"] == "MIG-1" and r["kind"] == "migration"
    assert (r["eligible_min"], r["eligible_max"], r["out_of_scope_min"]) == (3, 5, 0)
    assert r["record_unit"] == "patient" and list(r["limits_crossed"]) == []


def test_beyond_by_scope_with_the_number_out_of_scope(tmp_path):
    # 10 patient records when at most 5 patients were eligible: at least 10 - 5 = 5 out
    out = _assess(tmp_path, [extraction("2020-03-10 10:00", 10)])
    r = out.iloc[0]
    assert r["status"] == "beyond" and pd.isna(r["ticket"]) and r["nearest_ticket"] == "MIG-1"
    assert r["out_of_scope_min"] == 5
    assert list(r["limits_crossed"]) == [
        "10 records when at most 5 of the lab's patients had activity since 2020-01-01, "
        "the scope of ticket MIG-1: at least 5 out of scope"
    ]


def test_beyond_by_window_end_inclusive(tmp_path):
    # end 2020-03-31 is inclusive: 23:30 that night is in; 00:10 on 1 April is 10 min out
    out = _assess(
        tmp_path,
        [extraction("2020-03-31 23:30", 2), extraction("2020-04-01 00:10", 2, account="migr.x")],
    )
    assert out["status"].tolist() == ["authorised", "beyond"]
    assert list(out.iloc[1]["limits_crossed"]) == [
        "at 2020-04-01 00:10 local, outside the window of ticket MIG-1 (2020-03-01 to "
        "2020-03-31): 10 minutes after its end"
    ]


def test_one_minute_is_singular(tmp_path):
    # QA session 14: "1 minutes after its end"; 00:01 on 1 April is 1 min past the
    # inclusive end 2020-03-31
    out = _assess(tmp_path, [extraction("2020-04-01 00:01", 2)])
    assert list(out.iloc[0]["limits_crossed"]) == [
        "at 2020-04-01 00:01 local, outside the window of ticket MIG-1 (2020-03-01 to "
        "2020-03-31): 1 minute after its end"
    ]


def test_counted_units():
    from labforensics._plural import counted

    assert [counted(n, "day") for n in ("0", "1", "1.5", "2", "1,000")] == [
        "0 days", "1 day", "1.5 days", "2 days", "1,000 days"
    ]  # fmt: skip


def test_beyond_by_destination(tmp_path):
    out = _assess(tmp_path, [extraction("2020-03-10 10:00", 2, out="L08_export.csv")])
    assert out.iloc[0]["status"] == "beyond"
    assert list(out.iloc[0]["limits_crossed"]) == [
        "output L08_export.csv where ticket MIG-1 allows only l07_*.csv"
    ]


def test_beyond_by_max_records_finess_lab(tmp_path):
    # SUP-1 names L07 by its FINESS number; 150 records > 100 allowed per operation
    out = _assess(tmp_path, [export("2020-03-10 10:00", 150, "Support.Editeur")])
    r = out.iloc[0]
    assert (r["status"], r["nearest_ticket"], r["record_unit"]) == ("beyond", "SUP-1", "row")
    assert list(r["limits_crossed"]) == [
        "150 records when ticket SUP-1 allows at most 100 per operation: 50 over"
    ]


def test_sum_over_ticket_window_star_lab(tmp_path):
    # SUP-2 (lab *): 60 + 30 = 90 <= 100, then + 20 = 110 > 100 -> the third is beyond
    rows = [
        export("2020-03-02 10:00", 60, "hotline.a"),
        export("2020-03-03 10:00", 30, "hotline.b", lab="L08"),
        export("2020-03-04 10:00", 20, "hotline.a"),
    ]
    out = _assess(tmp_path, rows)
    assert out["status"].tolist() == ["authorised", "authorised", "beyond"]
    assert out["lab"].tolist() == ["L07", "L08", "L07"]
    assert list(out.iloc[2]["limits_crossed"]) == [
        "110 records summed over ticket SUP-2 (the operations it authorised before, and this "
        "one) when it allows at most 100: 10 over"
    ]


def test_unregistered(tmp_path):
    # no row for a secretary at L07
    out = _assess(tmp_path, [export("2020-03-10 10:00", 500, "sec.a")])
    assert out.iloc[0]["status"] == "unregistered" and pd.isna(out.iloc[0]["nearest_ticket"])


def test_undetermined_without_upper_bound(tmp_path):
    # L08 has no index and its logs start 2020-01-06, after the scope date: no upper bound
    out = _assess(tmp_path, [extraction("2020-03-10 10:00", 3, account="tech.z", lab="L08")])
    r = out.iloc[0]
    assert r["status"] == "undetermined" and pd.isna(r["eligible_max"])
    assert r["eligible_min"] == 1  # QX, seen on 2020-01-06
    assert "no patient index" in list(r["undetermined_limits"])[0]


def test_undetermined_rows_without_named_patients(tmp_path):
    # an export of rows (not patients) whose session names no patient: scope undetermined
    reg = [*REGISTER, "TEC-7;L07;tech.e;other;2020-03-01;;2020-01-01;;;"]
    out = _assess(tmp_path, [export("2020-03-10 10:00", 3, "tech.e")], register=reg)
    assert out.iloc[0]["status"] == "undetermined"


def test_rows_bound_applies_to_patients_named(tmp_path):
    # a results export whose session reads PA and PB: 2 patients named <= 5 -> authorised,
    # however many rows (40) it holds
    reg = [*REGISTER, "TEC-7;L07;tech.e;other;2020-03-01;;2020-01-01;;;"]
    rows = [
        {"t": "2020-03-10 09:50", "account": "tech.e", "host": "tech.e", "patient": "PA"},
        {"t": "2020-03-10 09:55", "account": "tech.e", "host": "tech.e", "patient": "PB"},
        export("2020-03-10 10:00", 40, "tech.e"),
    ]
    out = _assess(tmp_path, rows, register=reg)
    r = out.iloc[0]
    assert (r["status"], r["patients_named"], r["eligible_max"]) == ("authorised", 2, 5)


def test_unknown_without_register(tmp_path):
    out = _assess(tmp_path, [extraction("2020-03-10 10:00", 10), export("2020-03-11 10:00", 5, "sec.a")],
                  register=None)  # fmt: skip
    assert out["status"].tolist() == ["unknown", "unknown"]
    assert out["limits_crossed"].map(len).tolist() == [0, 0]


def test_nfc_and_case_pattern(tmp_path):
    # the pattern typed decomposed (E + combining acute) and in capitals matches the
    # account written composed in lower case
    reg = ["MIG-9;L07;MIGR.E\u0301RIC*;migration;2020-03-01;;;;;"]
    out = _assess(tmp_path, [extraction("2020-03-10 10:00", 2, account="migr.\u00e9ric")],
                  register=reg)  # fmt: skip
    assert out.iloc[0]["status"] == "authorised"


def test_rows_in_evidence_order_and_columns(tmp_path):
    out = _assess(
        tmp_path, [export("2020-03-04 10:00", 1, "sec.b"), export("2020-03-02 10:00", 1, "sec.a")]
    )
    assert out["account"].tolist() == ["sec.a", "sec.b"]
    for c in ("session_id", "lab", "account", "ts", "records", "patients_named", "eligible_min",
              "eligible_max", "ticket", "status", "limits_crossed"):  # fmt: skip
        assert c in out.columns


@pytest.mark.parametrize("lab", ["L07", "L08"])
def test_scope_no_logs_cover(tmp_path, lab):
    # a scope date on/after the logs' first day: the logs cover it, min == max (exact)
    reg = [f"X-1;{lab};migr.*;migration;2020-03-01;;2020-01-06;;;"]
    out = _assess(tmp_path, [extraction("2020-03-10 10:00", 9, lab=lab)], register=reg)
    r = out.iloc[0]
    # L07: PF, PA, PC (events or creation since 01-06) = 3; L08: QX = 1
    want = 3 if lab == "L07" else 1
    assert (r["eligible_min"], r["eligible_max"]) == (want, want)
    assert r["out_of_scope_min"] == 9 - want and r["status"] == "beyond"


def test_dtypes(tmp_path):
    out = _assess(
        tmp_path, [extraction("2020-03-10 10:00", 10), export("2020-03-11 10:00", 5, "sec.a")]
    )
    # string statuses and tickets, Int64 bounds, Arrow lists of limits
    for c in ("status", "ticket", "nearest_ticket", "kind", "lab", "account"):
        assert isinstance(out[c].dtype, pd.StringDtype), c
    for c in ("records", "eligible_min", "eligible_max", "out_of_scope_min"):
        assert out[c].dtype == "Int64", c
    assert str(out["limits_crossed"].dtype).startswith("list<")
    assert str(out["ts"].dtype) == "datetime64[ns, UTC]"


def test_sum_counts_only_what_each_ticket_authorised(tmp_path):
    # two overlapping tickets of 100 records each for the same account: 80 (T1), 80 (T1
    # would sum 160: T2 authorises it), 30 (T1: 80 + 30 = 110, T2: 80 + 30 = 110: beyond)
    reg = [
        "T1;L07;hot.x;support;2020-03-01;;;100;;",
        "T2;L07;hot.x;support;2020-03-01;;;100;;",
    ]
    rows = [export("2020-03-02 10:00", 80, "hot.x"), export("2020-03-03 10:00", 80, "hot.x"),
            export("2020-03-04 10:00", 30, "hot.x")]  # fmt: skip
    out = _assess(tmp_path, rows, register=reg)
    assert out["status"].tolist() == ["authorised", "authorised", "beyond"]
    assert out["ticket"].tolist()[:2] == ["T1", "T2"]
    assert list(out.iloc[2]["limits_crossed"]) == [
        "110 records summed over ticket T1 (the operations it authorised before, and this "
        "one) when it allows at most 100: 10 over"
    ]
