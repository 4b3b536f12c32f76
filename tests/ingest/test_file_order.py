"""Files written newest first (issue 12, item 5): detected and read bottom-up."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from labforensics import sessionize
from labforensics.ingest import read_evidence
from labforensics.ingest.clock import LINE_ORDERS, line_order, localize
from lis_headers import CURRENT_HEADER as CUR

BOM = b"\xef\xbb\xbf"


def cur_row(ts: str, action: str, account: str = "u1") -> str:
    return f"{ts};L01;S1;{account};technicien;PC-01;10.1.1.1;resultats;{action};succes;;;;;;"


def write_cur(path, rows: list[str]) -> None:
    path.write_bytes(BOM + ("\n".join([CUR, *rows]) + "\n").encode())


# Two sessions of one account; the first ends and the second starts in the same second.
OLDEST_FIRST = [
    cur_row("2024-06-03T08:00:00+02:00", "connexion"),
    cur_row("2024-06-03T08:10:00+02:00", "consultation"),
    cur_row("2024-06-03T08:30:00+02:00", "deconnexion"),
    cur_row("2024-06-03T08:30:00+02:00", "connexion"),
    cur_row("2024-06-03T08:40:00+02:00", "consultation"),
    cur_row("2024-06-03T08:50:00+02:00", "deconnexion"),
]


def _sessions(ev) -> list[tuple]:
    s = sessionize(ev.events).sessions
    return [
        (r.start.isoformat(), r.end.isoformat(), r.n_events, r.start_reason, r.end_reason)
        for r in s.itertuples()
    ]


# worked by hand: 06:00-06:30Z (login, read, logout) then 06:30-06:50Z (login, read, logout)
HAND_SESSIONS = [
    ("2024-06-03T06:00:00+00:00", "2024-06-03T06:30:00+00:00", 3, "login", "logout"),
    ("2024-06-03T06:30:00+00:00", "2024-06-03T06:50:00+00:00", 3, "login", "logout"),
]


def test_newest_first_file_gives_the_sessions_of_the_same_rows_oldest_first(tmp_path, test_key):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_cur(tmp_path / "a" / "audit_l01_2024-06-03.csv", OLDEST_FIRST)
    write_cur(tmp_path / "b" / "audit_l01_2024-06-03.csv", OLDEST_FIRST[::-1])
    old = read_evidence(tmp_path / "a", case_key=test_key)
    new = read_evidence(tmp_path / "b", case_key=test_key)
    assert _sessions(old) == HAND_SESSIONS
    # the same sessions, although the logout (line 5) comes after the login (line 4)
    assert _sessions(new) == HAND_SESSIONS
    # evidence order: the logout of 08:30 before the login of 08:30 in both
    assert new.events["action"].tolist() == old.events["action"].tolist()
    assert old.events["action"].tolist()[2:4] == ["logout", "login"]
    # source_line stays the physical line: 7 rows after the header, read bottom-up
    assert new.events["source_line"].tolist() == [7, 6, 5, 4, 3, 2]
    assert old.events["source_line"].tolist() == [2, 3, 4, 5, 6, 7]
    # the report says which file was reversed
    assert new.report.reversed_files == ["audit_l01_2024-06-03.csv"]
    assert old.report.reversed_files == []
    assert (new.report.files[0].line_order, new.report.files[0].reversed) == (
        "newest_first",
        True,
    )
    assert old.report.files[0].line_order == "oldest_first"
    assert new.report.to_dict()["reversed_files"] == ["audit_l01_2024-06-03.csv"]
    assert "read bottom-up" in new.report.summary()


def test_file_whose_order_cannot_be_told_is_flagged_and_read_as_written(tmp_path, test_key):
    rows = [
        cur_row("2024-06-03T08:00:00+02:00", "connexion"),
        cur_row("2024-06-03T08:20:00+02:00", "consultation"),
        cur_row("2024-06-03T08:10:00+02:00", "consultation"),
        cur_row("2024-06-03T08:30:00+02:00", "consultation"),
        cur_row("2024-06-03T08:25:00+02:00", "deconnexion"),
    ]
    write_cur(tmp_path / "audit_l01_2024-06-03.csv", rows)
    ev = read_evidence(tmp_path, case_key=test_key)
    # steps: up, down, up, down -> 2 against 2, no majority
    assert ev.report.files[0].line_order == "unclear"
    assert ev.report.unclear_order_files == ["audit_l01_2024-06-03.csv"]
    assert ev.report.reversed_files == []
    assert "cannot be told" in ev.report.summary()
    # read as written: sorted by time, lines as they are
    assert ev.events["source_line"].tolist() == [2, 4, 3, 6, 5]


def test_rotation_applies_after_reversal(tmp_path, test_key):
    # day 1 holds A B C, day 2 C D E (C logged again at rotation); both written newest first
    a = cur_row("2024-06-03T23:50:00+02:00", "connexion")
    b = cur_row("2024-06-03T23:55:00+02:00", "consultation")
    c = cur_row("2024-06-03T23:59:00+02:00", "consultation")
    d = cur_row("2024-06-04T00:05:00+02:00", "consultation")
    e = cur_row("2024-06-04T00:10:00+02:00", "deconnexion")
    write_cur(tmp_path / "audit_l01_2024-06-03.csv", [c, b, a])
    write_cur(tmp_path / "audit_l01_2024-06-04.csv", [e, d, c])
    ev = read_evidence(tmp_path, case_key=test_key)
    f = {r.source_file: r for r in ev.report.files}
    # read bottom-up, day 1 ends with C and day 2 starts with C: one rotation duplicate
    assert f["audit_l01_2024-06-04.csv"].rotation_duplicates == 1
    assert len(ev.events) == 5
    # the duplicate removed is day 2's C, physically its last line (4)
    day2 = ev.events[ev.events["source_file"] == "audit_l01_2024-06-04.csv"]
    assert day2["source_line"].tolist() == [3, 2]


def test_legacy_fallback_hour_written_newest_first(tmp_path, test_key, case_dir):
    # case 001's rows (legacy, local time, fall-back hour), written newest first
    src = (case_dir("001-fallback-hour") / "AUDIT_L01_20191027.csv").read_bytes()
    lines = src.split(b"\r\n")
    header, rows = lines[0], [ln for ln in lines[1:] if ln]
    (tmp_path / "AUDIT_L01_20191027.csv").write_bytes(b"\r\n".join([header, *rows[::-1]]) + b"\r\n")
    ev = read_evidence(tmp_path, case_key=test_key)
    e = ev.events
    # case 001's expected instants: 02:45 -> 02:10 is still the step into the second pass
    assert e["ts"].tolist() == [
        pd.Timestamp(t, tz="UTC")
        for t in (
            "2019-10-26 23:55",
            "2019-10-27 00:20",
            "2019-10-27 00:45",
            "2019-10-27 01:10",
            "2019-10-27 01:35",
            "2019-10-27 02:02",
        )
    ]
    assert list(e["ts_quality"]) == ["exact"] + ["ambiguous_resolved"] * 4 + ["exact"]
    assert e["source_line"].tolist() == [7, 6, 5, 4, 3, 2]
    assert ev.report.reversed_files == ["AUDIT_L01_20191027.csv"]


def test_clock_resolves_a_reversed_fallback_hour_bottom_up():
    wall = pd.DatetimeIndex(
        [
            "2019-10-27 01:55",
            "2019-10-27 02:20",
            "2019-10-27 02:45",
            "2019-10-27 02:10",
            "2019-10-27 02:35",
            "2019-10-27 03:02",
        ]
    ).as_unit("ns")
    utc, q = localize(wall.asi8, ZoneInfo("Europe/Paris"))
    utc_r, q_r = localize(wall.asi8[::-1].copy(), ZoneInfo("Europe/Paris"))
    # the same instant for every row, whichever way the file is written
    assert utc_r[::-1].tolist() == utc.tolist()
    assert q_r[::-1].tolist() == q.tolist() == [0, 1, 1, 1, 1, 0]


def test_line_order_rule():
    t = np.array([1, 2, 3, 3, 2, 1, 5, 5, 1, 2, 9, 1, 3, 2, 4], dtype=np.int64)
    f = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 5, 5])
    got = [LINE_ORDERS[c] for c in line_order(t, f)]
    # up-up; down-down; all equal; up; one row; up-down-up (2 against 1: the 2 to 1 rule)
    assert got == ["oldest_first", "newest_first", "unclear", "oldest_first", "", "oldest_first"]
    # rows not used are skipped over: 3 -> 2 is not a step once the 2 is left out
    use = np.array([True, True, True, True, False, True] + [True] * 9)
    assert LINE_ORDERS[line_order(t, f, use=use)[1]] == "newest_first"
    # 1 up against 1 down: no majority
    assert LINE_ORDERS[line_order(np.array([1, 3, 2]))[0]] == "unclear"


def _audit_event(ts: str, subtype: str) -> dict:
    dcm = "http://dicom.nema.org/resources/ontology/DCM"
    return {
        "resourceType": "AuditEvent",
        "type": {"system": dcm, "code": "110114"},
        "subtype": [{"system": dcm, "code": subtype}],
        "action": "E",
        "recorded": ts,
        "outcome": "0",
        "agent": [
            {
                "requestor": True,
                "who": {"identifier": {"value": "u1"}},
                "network": {"address": "10.1.1.1", "type": "2"},
            }
        ],
        "source": {"observer": {"display": "lis"}},
    }


def test_fhir_bundle_on_one_line_newest_first(tmp_path, test_key):
    # a search result sorted by -date, the whole Bundle on one line (every entry line 1)
    rows = [
        _audit_event("2024-06-03T08:00:00+02:00", "110122"),  # login
        _audit_event("2024-06-03T08:30:00+02:00", "110123"),  # logout
        _audit_event("2024-06-03T08:30:00+02:00", "110122"),  # login, same second
        _audit_event("2024-06-03T08:50:00+02:00", "110123"),  # logout
    ]
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    bundle["entry"] = [{"resource": r} for r in rows[::-1]]
    (tmp_path / "search.json").write_text(json.dumps(bundle), encoding="utf-8")
    ev = read_evidence(tmp_path, case_key=test_key, lab="L01")
    assert ev.report.reversed_files == ["search.json"]
    assert ev.events["action"].tolist() == ["login", "logout", "login", "logout"]
    s = sessionize(ev.events).sessions
    # worked by hand: 06:00-06:30Z and 06:30-06:50Z, each login -> logout
    assert [(r.start.isoformat(), r.end.isoformat(), r.end_reason) for r in s.itertuples()] == [
        ("2024-06-03T06:00:00+00:00", "2024-06-03T06:30:00+00:00", "logout"),
        ("2024-06-03T06:30:00+00:00", "2024-06-03T06:50:00+00:00", "logout"),
    ]


def test_xferlog_written_newest_first_resolves_its_fallback_hour_bottom_up(tmp_path):
    from labforensics.transfers import read_transfers

    times = ["01:55:00", "02:20:00", "02:45:00", "02:10:00", "02:35:00", "03:02:00"]
    lines = [
        f"Sun Oct 27 {t} 2019 1 198.51.100.23 1000 /pub/f{i}.csv b _ o r u1 ftp 0 * c"
        for i, t in enumerate(times)
    ]
    (tmp_path / "xferlog").write_text("\n".join(lines[::-1]) + "\n", encoding="utf-8")
    tr = read_transfers(tmp_path / "xferlog")
    t = tr.transfers
    # rows stay in file order; instants as case 001 (02:45 -> 02:10 enters the second pass)
    assert t["source_line"].tolist() == [1, 2, 3, 4, 5, 6]
    assert t["ts"].tolist()[::-1] == [
        pd.Timestamp(x, tz="UTC")
        for x in (
            "2019-10-26 23:55",
            "2019-10-27 00:20",
            "2019-10-27 00:45",
            "2019-10-27 01:10",
            "2019-10-27 01:35",
            "2019-10-27 02:02",
        )
    ]
    assert (tr.report.line_order, tr.report.reversed) == ("newest_first", True)
