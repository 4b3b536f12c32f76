"""patients_named of operations(): distinct patients named by the operation's session."""

from __future__ import annotations

from labforensics.authorisation.operations import operations
from labforensics.sessions import sessionize

from .conftest import make_events


def test_patients_named_counts_distinct_patients_of_each_operations_session():
    # by hand: tech.a's session names PA, PB, PA again and one event without a patient,
    # then exports: 2 patients; tech.b's session names PC only, then exports twice:
    # 1 each; tech.c exports with no patient read: 0; PZ (tech.d, no export) counts
    # nowhere
    rows = [
        {"t": "2020-03-10 09:00", "account": "tech.a", "patient": "PA"},
        {"t": "2020-03-10 09:01", "account": "tech.a", "patient": "PB"},
        {"t": "2020-03-10 09:02", "account": "tech.a", "patient": "PA"},
        {"t": "2020-03-10 09:03", "account": "tech.a"},
        {"t": "2020-03-10 09:04", "account": "tech.a", "action": "export", "records": 3},
        {"t": "2020-03-10 09:00", "account": "tech.b", "patient": "PC"},
        {"t": "2020-03-10 09:05", "account": "tech.b", "action": "export", "records": 1},
        {"t": "2020-03-10 09:06", "account": "tech.b", "action": "export", "records": 1},
        {"t": "2020-03-10 09:00", "account": "tech.c", "action": "export", "records": 9},
        {"t": "2020-03-10 09:00", "account": "tech.d", "patient": "PZ"},
    ]
    ss = sessionize(make_events(rows))
    ops = operations(ss.events)
    got = sorted(zip(ops["account"], ops["patients_named"], strict=True))
    assert got == [("tech.a", 2), ("tech.b", 1), ("tech.b", 1), ("tech.c", 0)]
    assert str(ops["patients_named"].dtype) == "int64"
