"""Sessions ignore ``date_only`` events (a day without a time): no duration from them.

Built from FHIR AuditEvents through the reader, so the events carry the ``ts_quality``
the FHIR reader gives a date without a time (issue 12, item 4).
"""

from __future__ import annotations

import json

import pandas as pd

from labforensics.ingest import read_evidence
from labforensics.sessions import sessionize


def _res(when_key: str, when: str, sub: str, typ: str = "rest") -> dict:
    return {
        "resourceType": "AuditEvent",
        "type": {"code": typ},
        "subtype": [{"code": sub}],
        "action": "E" if typ != "rest" else "R",
        when_key: when,
        "outcome": "0",
        "agent": [
            {
                "who": {"identifier": {"value": "tech7"}},
                "requestor": True,
                "network": {"address": "ws7", "type": "1"},
            }
        ],
    }


def test_date_only_event_neither_opens_nor_extends_a_session(tmp_path, test_key):
    rows = [
        _res("recorded", "2024-06-03T00:10:00+02:00", "110122", "110114"),  # login 22:10 UTC
        # a read dated 3 June without a time: local midnight = 22:00 UTC on 2 June,
        # ten minutes *before* the login
        _res("period", {"start": "2024-06-03"}, "read"),
        _res("recorded", "2024-06-03T00:20:00+02:00", "read"),  # 22:20 UTC
        _res("recorded", "2024-06-03T00:30:00+02:00", "110123", "110114"),  # logout 22:30 UTC
    ]
    (tmp_path / "a.ndjson").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ev = read_evidence(tmp_path, lab="L01", case_key=test_key).events
    assert ev["ts_quality"].astype(str).tolist() == ["date_only", "exact", "exact", "exact"]
    s = sessionize(ev)
    # one session, login to logout: 22:10 -> 22:30 UTC = 1,200 s; the date-only read would
    # otherwise open an implicit session at 22:00 and the login a second one
    assert len(s.sessions) == 1
    sess = s.sessions.iloc[0]
    assert (sess["start"], sess["end"]) == (
        pd.Timestamp("2024-06-02 22:10", tz="UTC"),
        pd.Timestamp("2024-06-02 22:30", tz="UTC"),
    )
    assert sess["duration_s"] == 1200.0
    assert (sess["n_events"], sess["n_read"], sess["start_reason"]) == (3, 1, "login")
    day_only = s.events["ts_quality"] == "date_only"
    assert s.events.loc[day_only, "session_id"].isna().all()  # belongs to no session
    assert s.events.loc[~day_only, "session_id"].notna().all()


def test_only_date_only_events_give_no_session(tmp_path, test_key):
    rows = [_res("recorded", "2024-06-03", "read"), _res("recorded", "2024-06-04", "read")]
    (tmp_path / "b.ndjson").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ev = read_evidence(tmp_path, lab="L01", case_key=test_key).events
    s = sessionize(ev)
    assert len(s.sessions) == 0 and s.events["session_id"].isna().all()
