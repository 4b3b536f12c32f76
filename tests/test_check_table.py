"""schema.check_table: every stage names the columns its input tables lack."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pandas as pd
import pytest

from labforensics.attribution import attribute
from labforensics.attribution.context import EVENT_NEED as ATTR_EVENT_NEED
from labforensics.attribution.context import SESSION_NEED as ATTR_SESSION_NEED
from labforensics.attribution.linking import TRANSFER_NEED
from labforensics.detect import score
from labforensics.detect.sources import EVENT_NEED as SOURCES_EVENT_NEED
from labforensics.detect.sources import score_sources
from labforensics.errors import MissingColumnsError, SchemaError
from labforensics.evaluate import EVENT_NEED as EVAL_EVENT_NEED
from labforensics.evaluate import label_units
from labforensics.features import EVENT_NEED as FEAT_EVENT_NEED
from labforensics.features import SESSION_NEED as FEAT_SESSION_NEED
from labforensics.features import build_features
from labforensics.features.tables import FeatureTable
from labforensics.schema import EVENT_COLUMNS, STRING_LIST, check_table, coerce_events
from labforensics.sessions import sessionize

T0 = pd.Timestamp("2024-03-04 08:00", tz="UTC")


@cache
def _tables() -> dict[str, pd.DataFrame]:
    """A tiny valid case: two sessions of one account, one export."""
    rows = []
    for i, (minutes, action, records) in enumerate(
        [(0, "login", None), (5, "read", None), (9, "export", 40), (12, "logout", None),
         (300, "login", None), (301, "query", 3)]
    ):  # fmt: skip
        rows.append(
            {
                "ts": T0 + pd.Timedelta(minutes=minutes),
                "ts_quality": "exact",
                "lab": "L01",
                "account": "tech.a1",
                "role": "TECHNICIEN",
                "account_kind": "staff",
                "host": "pc-1",
                "src_ip": "10.0.0.1",
                "module": "RESULTATS",
                "action": action,
                "outcome": "success",
                "patient": "P0000000000000001",
                "records": records,
                "detail": "export to out.csv" if action == "export" else None,
                "source_format": "test",
                "source_file": "f.csv",
                "source_line": i + 2,
                "seq": i,
            }
        )
    events = coerce_events(pd.DataFrame(rows))
    s = sessionize(events)
    transfers = pd.DataFrame(
        {
            "ts": [T0 + pd.Timedelta(minutes=20)],
            "remote_host": ["10.0.0.9"],
            "file_name": ["/out/out.csv"],
            "direction": ["o"],
            "access_mode": ["r"],
            "user": ["ftp"],
        }
    )
    return {"events": events, "sessions": s.sessions, "sev": s.events, "transfers": transfers}


def _score_keys(t: dict[str, pd.DataFrame], drop: str) -> None:
    ft = build_features(t["sev"], t["sessions"]).session
    score(FeatureTable(ft.unit, ft.keys.drop(columns=[drop]), ft.values, ft.key_columns))


def _attribute(table: str) -> Callable[[dict[str, pd.DataFrame], str], object]:
    def run(t: dict[str, pd.DataFrame], drop: str) -> object:
        ins = {
            "events": t["sev"],
            "sessions": t["sessions"],
            "scores": pd.DataFrame({"session_id": t["sessions"]["session_id"], "score": 1.0}),
            "transfers": t["transfers"],
        }
        ins[table] = ins[table].drop(columns=[drop])
        return attribute(ins["events"], ins["sessions"], ins["scores"], transfers=ins["transfers"])

    return run


#: (stage: table, required columns, call with one column dropped)
STAGES: dict[str, tuple[tuple[str, ...], Callable[[dict[str, pd.DataFrame], str], object]]] = {
    "sessionize: events": (
        EVENT_COLUMNS,
        lambda t, c: sessionize(t["events"].drop(columns=[c])),
    ),
    "build_features: events": (
        tuple(FEAT_EVENT_NEED),
        lambda t, c: build_features(t["sev"].drop(columns=[c]), t["sessions"]),
    ),
    "build_features: sessions": (
        tuple(FEAT_SESSION_NEED),
        lambda t, c: build_features(t["sev"], t["sessions"].drop(columns=[c])),
    ),
    "score: session keys": (("session_id",), _score_keys),
    "score_sources: events": (
        SOURCES_EVENT_NEED,
        lambda t, c: score_sources(t["events"].drop(columns=[c])),
    ),
    "attribute: events": (ATTR_EVENT_NEED, _attribute("events")),
    "attribute: sessions": (ATTR_SESSION_NEED, _attribute("sessions")),
    "attribute: scores": (("score",), _attribute("scores")),
    "attribute: transfers": (TRANSFER_NEED, _attribute("transfers")),
    "label_units: events": (
        EVAL_EVENT_NEED,
        lambda t, c: label_units(t["sev"].drop(columns=[c]), {"incidents": [], "traps": []}),
    ),
}
CASES = [(stage, col) for stage, (cols, _) in STAGES.items() for col in cols]


def test_the_small_case_passes_every_stage():
    # the table every case below breaks is valid as a whole: no stage raises on it
    t = _tables()
    ft = build_features(t["sev"], t["sessions"])
    score(ft)
    score_sources(t["events"])
    attribute(t["sev"], t["sessions"], transfers=t["transfers"])
    assert len(t["sessions"]) == 2  # login..logout, then a login 5 h later


@pytest.mark.parametrize(("stage", "column"), CASES, ids=[f"{s}-{c}" for s, c in CASES])
def test_missing_required_column_is_named(stage: str, column: str):
    # dropping any one required column fails at once with the stage, the table and the column
    _, call = STAGES[stage]
    with pytest.raises(MissingColumnsError) as info:
        call(_tables(), column)
    assert info.value.missing == [column]
    assert info.value.table == stage
    assert str(info.value).startswith(f"{stage} table lacks columns ['{column}']")


def test_build_features_does_not_zero_fill_records_extracted():
    # before: a session table without records_extracted silently disabled the extraction rule
    t = _tables()
    with pytest.raises(SchemaError, match=r"lacks columns \['records_extracted'\]"):
        build_features(t["sev"], t["sessions"].drop(columns=["records_extracted"]))


def test_build_features_optional_columns_are_derived():
    # duration_s, distinct_patients and modules are optional: derived, not zero-filled
    t = _tables()
    full = build_features(t["sev"], t["sessions"]).session.values
    part = build_features(
        t["sev"], t["sessions"].drop(columns=["duration_s", "distinct_patients", "modules"])
    ).session.values
    for c in ("duration_s", "distinct_patients"):
        assert part[c].tolist() == full[c].tolist()
    # first session: login 08:00 .. logout 08:12 = 720 s, one patient
    assert (full["duration_s"].iloc[0], full["distinct_patients"].iloc[0]) == (720.0, 1.0)


def test_message_lists_all_missing_columns_sorted():
    # three columns missing: all three named, sorted, in one error
    t = _tables()
    with pytest.raises(MissingColumnsError) as info:
        build_features(
            t["sev"], t["sessions"].drop(columns=["start", "bytes_out", "failed_logins_before"])
        )
    assert info.value.missing == ["bytes_out", "failed_logins_before", "start"]
    assert "lacks columns ['bytes_out', 'failed_logins_before', 'start']" in str(info.value)


def test_wrong_dtype_is_named():
    # a start given as text is named with its dtype, not met later as a TypeError
    t = _tables()
    ss = t["sessions"].assign(start=t["sessions"]["start"].astype(str))
    with pytest.raises(MissingColumnsError, match=r"'start' is .* \(expected datetime\)"):
        build_features(t["sev"], ss)


def test_check_table_accepts_a_sequence_and_rejects_a_non_frame():
    check_table(pd.DataFrame({"a": [1]}), ["a"], "x: y")  # present: no error
    with pytest.raises(MissingColumnsError, match="x: y: expected a pandas DataFrame, got list"):
        check_table([], ["a"], "x: y")
    with pytest.raises(SchemaError, match=r"lacks columns \['b', 'c'\]"):
        check_table(pd.DataFrame({"a": [1]}), ("c", "a", "b"), "x: y")


def test_main_module_of_a_session_without_events_is_the_first_listed_module():
    # the modules list cell is read as a list: its first (sorted) item, upper case
    t = _tables()
    ss = t["sessions"].copy()
    ss["modules"] = pd.Series([["admin", "resultats"], []], dtype=STRING_LIST)
    no_events = t["sev"].iloc[:0]  # no event maps to a session: the fallback decides
    keys = build_features(no_events, ss).session.keys
    assert keys["main_module"].tolist() == ["ADMIN", pd.NA]
