"""findings["exports"] counts and the report's table of exports."""

from __future__ import annotations

import pandas as pd

from labforensics.authorisation.summary import MAX_ROUTINE_ROWS, exports_summary, exports_view
from labforensics.report.html import _environment, make_formatter
from labforensics.schema import STRING_LIST

PARIS = make_formatter("Europe/Paris")


def when_minutes(ts):  # the report's formatter of the exports table: minutes
    return PARIS(ts, seconds=False)


def _table(statuses: list[str]) -> pd.DataFrame:
    n = len(statuses)
    return pd.DataFrame(
        {
            "session_id": [f"s{i}" for i in range(n)],
            "lab": ["L01" if i % 2 else "L02" for i in range(n)],
            "account": ["a"] * n,
            "ts": pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC"),
            "action": ["export"] * n,
            "records": pd.array([10] * n, dtype="Int64"),
            "record_unit": ["row"] * n,
            "patients_named": [0] * n,
            "eligible_min": pd.array([pd.NA] * n, dtype="Int64"),
            "eligible_max": pd.array([pd.NA] * n, dtype="Int64"),
            "ticket": pd.array([pd.NA] * n, dtype="string"),
            "nearest_ticket": pd.array([pd.NA] * n, dtype="string"),
            "status": statuses,
            "limits_crossed": pd.Series(
                [["x"] if s == "beyond" else [] for s in statuses], dtype=STRING_LIST
            ),  # fmt: skip
            "undetermined_limits": pd.Series([[]] * n, dtype=STRING_LIST),
            "output_file": pd.array([pd.NA] * n, dtype="string"),
        }
    )


def test_summary_counts_per_status_and_lab():
    t = _table(["beyond", "unregistered", "unregistered", "authorised"])
    s = exports_summary(t, register_given=True)
    # 4 operations of 10 records: 1 beyond (L02), 2 unregistered (L01, L02), 1 authorised (L01)
    assert s["by_status"] == {"beyond": 1, "unregistered": 2, "undetermined": 0,
                              "authorised": 1, "unknown": 0}  # fmt: skip
    assert s["records_by_status"]["unregistered"] == 20
    assert [b["limits_crossed"] for b in s["beyond"]] == [["x"]]
    assert s["beyond"][0]["ts"] == "2020-01-01T00:00:00Z" and s["beyond"][0]["lab"] == "L02"
    assert s["by_lab"] == {"L01": {"authorised": 1, "unregistered": 1},
                           "L02": {"beyond": 1, "unregistered": 1}}  # fmt: skip


def test_view_lists_beyond_first_and_caps_routine_rows():
    t = _table(["unregistered"] * (MAX_ROUTINE_ROWS + 5) + ["beyond"])
    v = exports_view(t, exports_summary(t, register_given=True), when_minutes)
    assert v["rows"][0]["status"] == "beyond" and v["rows"][0]["limits"] == "x"
    assert len(v["rows"]) == MAX_ROUTINE_ROWS + 1
    assert v["left_out"] == "5 more unregistered"
    # the headline counts every operation, not the rows shown (QA, session 5: the demo
    # read "266 export(s) and extraction(s): 24 beyond, 42 unregistered, 66,178 authorised")
    assert v["total"] == MAX_ROUTINE_ROWS + 6


def test_section_headline_counts_every_operation():
    t = _table(["unregistered"] * (MAX_ROUTINE_ROWS + 5) + ["beyond"])
    v = exports_view(t, exports_summary(t, register_given=True), when_minutes)
    html = _environment().get_template("exports.html.j2").render(exports_view=v)
    n = MAX_ROUTINE_ROWS + 6
    assert f"{n:,} export(s) and extraction(s): 1 beyond, {n - 1:,} unregistered; " in html
    assert f"{MAX_ROUTINE_ROWS + 1:,} shown below" in html


def test_folded_table_says_how_many_of_all_it_shows():
    """Session 10, QA: the folded table read "All 258 operations" when 533 existed (the
    routine ones beyond MAX_ROUTINE_ROWS are left out): "All" only when all are shown."""
    n_unreg = MAX_ROUTINE_ROWS + 60  # more than 50 rows shown: the table is folded
    t = _table(["unregistered"] * n_unreg + ["beyond"])
    v = exports_view(t, exports_summary(t, register_given=True), when_minutes)
    html = _environment().get_template("exports.html.j2").render(exports_view=v)
    shown, total = MAX_ROUTINE_ROWS + 1, n_unreg + 1
    assert f"<summary>{shown:,} of the {total:,} operations (not authorised first)" in html
    assert "<summary>All " not in html
    t = _table(["unregistered"] * 60)  # all shown, still folded
    v = exports_view(t, exports_summary(t, register_given=True), when_minutes)
    html = _environment().get_template("exports.html.j2").render(exports_view=v)
    assert "<summary>All 60 operations (not authorised first)" in html


def test_no_register_note():
    t = _table(["unknown"])
    s = exports_summary(t, register_given=False)
    assert s["register"] is False and "no authorisation register" in s["note"]


def test_view_when_is_local_with_zone_and_utc():
    """Session 10, QA item 2: the exports table showed "2020-09-12 02:14" with no zone;
    now as every table of the report, local time with its zone and UTC beside (the UTC
    date too when the day differs)."""
    t = _table(["beyond", "unregistered"])
    t["ts"] = pd.to_datetime(["2020-09-12T00:14:30Z", "2020-01-01T23:30:00Z"])
    v = exports_view(t, exports_summary(t, register_given=True), when_minutes)
    assert [r["when"] for r in v["rows"]] == [
        "2020-09-12 02:14 CEST (00:14 UTC)",  # summer: UTC+2
        "2020-01-02 00:30 CET (2020-01-01 23:30 UTC)",  # winter: UTC+1, the next local day
    ]
    assert ("when", "when (local, UTC)") in v["columns"]
    html = _environment().get_template("exports.html.j2").render(exports_view=v)
    assert "<th>when (local, UTC)</th>" in html and "2020-09-12 02:14 CEST (00:14 UTC)" in html
