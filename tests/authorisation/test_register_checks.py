"""Register checks across cells: a ticket with two record limits (kept, named), and local
times of the clock change (read so as not to widen the authorisation, and named)."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.authorisation import RegisterError, read_authorisations
from labforensics.case import CaseContext
from labforensics.report.input_limits import input_limits

from .conftest import write_register

CASE = CaseContext(tz="Europe/Paris")


def test_ticket_with_two_record_limits_kept_and_named(tmp_path):
    # QA session 12: MIG-1 at 500 on L01 and 600 on L02 shared one budget silently; an
    # order giving each lab its own limit is common, so the rows are kept and the
    # reading of the ticket's summed budget is named
    lines = [
        "MIG-1;L01;migr.*;migration;2020-01-01;;;500;;",  # line 2
        "MIG-1;L02;migr.*;migration;2020-01-01;;;600;;",  # line 3
        "SUP-1;*;sup;support;2020-01-01;;;;;",  # line 4: no limit on any row: fine
        "MIG-2;L01;migr.*;migration;2020-01-01;;;300;;",  # line 5
        "MIG-2;L02;migr.*;migration;2020-01-01;;;300;;",  # line 6: same limit: one budget
        "MIG-3;L01;migr.*;migration;2020-01-01;;;;;",  # line 7: no limit here...
        "MIG-3;L02;migr.*;migration;2020-01-01;;;1 000;;",  # line 8: ...a limit there
    ]
    p = write_register(tmp_path, lines, name="reg.csv")
    r = read_authorisations(p, CASE)  # not refused
    assert r["source_line"].tolist() == [2, 3, 4, 5, 6, 7, 8]
    assert r.attrs["lines"] == {"header": 1, "blank": 0, "rows": 7, "bad": 0}
    w = r.attrs["warnings"]
    assert w["source_line"].tolist() == [2, 3, 7, 8]
    assert set(w["column"]) == {"scope_max_records"}
    why1 = (
        "ticket MIG-1 has different record limits on its rows (line 2: 500, line 3: 600): "
        "the records of its operations are summed over the ticket (authorisations.md), "
        "each sum held to the limit of the row that authorises the operation (a row "
        "without a limit adds nothing and is held to none); if the limits are per lab, "
        "give the rows different ticket references"
    )
    assert w["warning"].tolist()[:2] == [why1, why1]
    mig3 = "ticket MIG-3 has different record limits on its rows (line 7: no limit, line 8: 1,000)"
    assert w["warning"].iloc[2].startswith(mig3)


def test_window_in_clock_change_hours_not_widened_and_named(tmp_path):
    lines = [
        # 2020-03-29 02:30 never showed in Paris (02:00 -> 03:00 CEST at 01:00 UTC):
        # readings 01:30 UTC (+01:00) and 00:30 UTC (+02:00); a start takes the later
        "G;L07;x;other;2020-03-29T02:30;2020-03-29T02:30;;;;",  # line 2
        # 2020-10-25 02:30 came twice: 00:30 UTC (+02:00) and 01:30 UTC (+01:00)
        "A;L07;x;other;2020-10-25T02:30;2020-10-25T02:30;;;;",  # line 3
        "E;L07;x;other;2020-10-25T01:30;2020-10-25T03:30;;;;",  # line 4: one reading each
    ]
    p = write_register(tmp_path, lines, name="reg.csv")
    r = read_authorisations(p, CASE)
    ns = pd.Timedelta(1, "ns")
    minute = pd.Timedelta(1, "min")
    assert r.loc[0, "start"] == pd.Timestamp("2020-03-29 01:30", tz="UTC")
    # the end's earlier reading, its whole minute: the window is empty (end < start),
    # which is what a time that never was allows; the row is kept and named
    assert r.loc[0, "end"] == pd.Timestamp("2020-03-29 00:30", tz="UTC") + minute - ns
    assert r.loc[1, "start"] == pd.Timestamp("2020-10-25 01:30", tz="UTC")  # second pass
    assert r.loc[1, "end"] == pd.Timestamp("2020-10-25 00:30", tz="UTC") + minute - ns
    assert r.loc[2, "start"] == pd.Timestamp("2020-10-24 23:30", tz="UTC")  # CEST
    assert r.loc[2, "end"] == pd.Timestamp("2020-10-25 02:30", tz="UTC") + minute - ns  # CET
    w = r.attrs["warnings"]
    assert w["source_line"].tolist() == [2, 2, 2, 3, 3, 3]
    assert w["column"].tolist() == ["start", "end", "end"] * 2
    assert w["warning"].iloc[2] == (
        "read so as not to widen the authorisation, the start and the end leave the window "
        "empty: the row authorises nothing (give the times with their offset, e.g. +02:00)"
    )
    assert w["warning"].iloc[0] == (
        "2020-03-29 02:30 local does not exist in Europe/Paris (the clocks skipped that "
        "hour): read as 2020-03-29 01:30 UTC (offset +01:00), the later of its two "
        "readings, so as not to widen the authorisation"
    )
    assert w["warning"].iloc[4] == (
        "2020-10-25 02:30 local came twice in Europe/Paris (the clocks went back an "
        "hour): read as 2020-10-25 00:30 UTC (offset +02:00), the earlier of its two "
        "readings, so as not to widen the authorisation"
    )
    # the report's limits (and stderr) name each with the file, the line and the column
    lim = input_limits(evidence_labs=["L07"], register=r, register_name="reg.csv")
    assert len(lim) == 6
    assert lim[3].startswith(
        "the authorisation register reg.csv, line 3, start: 2020-10-25 02:30 local came "
        "twice in Europe/Paris (the clocks went back an hour): read as 2020-10-25 01:30 UTC "
        "(offset +01:00), the later"
    )


def test_midnight_clock_change_day_bounds(tmp_path):
    # America/Havana (tzdata): 2020-03-08 00:00 -05 the clocks went to 01:00 -04, so that
    # midnight never was; 2020-11-01 01:00 -04 they went back to 00:00 -05, so midnight
    # 2020-11-01 came twice (04:00 UTC at -04, 05:00 UTC at -05)
    case = CaseContext(tz="America/Havana")
    lines = [
        "D;L07;x;other;2020-03-08;2020-03-08;2020-03-08;;;",  # line 2: day start skipped
        "F;L07;x;other;2020-10-31;2020-11-01;;;;",  # line 3: the end's next midnight
    ]
    p = write_register(tmp_path, lines, name="reg.csv")
    r = read_authorisations(p, case)
    # 2020-03-08 00:00: readings 05:00 UTC (-05) and 04:00 UTC (-04); a start and a
    # scope date take the later, 05:00 UTC (= 01:00 -04, the day's first instant)
    assert r.loc[0, "start"] == pd.Timestamp("2020-03-08 05:00", tz="UTC")
    assert r.loc[0, "scope_patients_since"] == pd.Timestamp("2020-03-08 05:00", tz="UTC")
    # 2020-10-31 starts at 04:00 UTC (-04, one reading); the end of 2020-11-01 is the
    # next midnight, 2020-11-02 00:00 -05 = 05:00 UTC (one reading)
    assert r.loc[1, "start"] == pd.Timestamp("2020-10-31 04:00", tz="UTC")
    assert r.loc[1, "end"] == pd.Timestamp("2020-11-02 05:00", tz="UTC") - pd.Timedelta(1, "ns")
    # the end of 2020-10-31 is midnight 2020-11-01, which came twice: the earlier, 04:00 UTC
    p2 = write_register(tmp_path, ["G;L07;x;other;2020-10-31;2020-10-31;;;;"], name="r2.csv")
    r2 = read_authorisations(p2, case)
    assert r2.loc[0, "end"] == pd.Timestamp("2020-11-01 04:00", tz="UTC") - pd.Timedelta(1, "ns")
    assert r2.attrs["warnings"]["column"].tolist() == ["end"]
    w = r.attrs["warnings"]
    assert w["column"].tolist() == ["start", "scope_patients_since"]
    assert w["source_line"].tolist() == [2, 2]


def test_window_written_backwards_in_changed_hour_still_refused(tmp_path):
    # the end before the start in every reading: a typo, refused as before
    p = write_register(tmp_path, ["B;L07;x;other;2020-10-25T02:30;2020-10-25T01:00;;;;"])
    with pytest.raises(RegisterError, match="end: 2020-10-25T01:00 is before start"):
        read_authorisations(p, CASE)


def test_a_register_with_no_row_is_said(tmp_path):
    # QA session 18: a header-only register was accepted silently, every export of the
    # case then "unregistered" (routine billing flagged) with no word in the outputs
    p = tmp_path / "reg.csv"
    p.write_text(
        "ticket;lab;account;kind;start;end;scope_patients_since;scope_max_records;"
        "destination;purpose\n",
        encoding="utf-8",
    )
    r = read_authorisations(p, CASE)
    assert len(r) == 0 and r.attrs["lines"] == {"header": 1, "blank": 0, "rows": 0, "bad": 0}
    lim = input_limits(evidence_labs=["L01"], register=r, register_name="reg.csv")
    assert lim == [
        "the authorisation register reg.csv holds no row (a header only): every export and "
        "extraction is judged unregistered, routine ones included; if the labs' authorised "
        "work is declared elsewhere, give that register"
    ]
    # one row: nothing said
    p.write_text(p.read_text("utf-8") + "T1;L01;a;billing;2020-01-01;;;;;x\n", encoding="utf-8")
    assert input_limits(evidence_labs=["L01"], register=read_authorisations(p, CASE)) == []
