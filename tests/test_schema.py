"""The canonical tables: dtypes, vocabularies and validation errors."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.errors import SchemaError
from labforensics.schema import (
    ACTIONS,
    EVENT_COLUMNS,
    LIS_ACTION_CODES,
    coerce_events,
    empty_events,
    validate_events,
)


def _one_event(**over):
    row = {
        "ts": pd.Timestamp("2019-10-27T00:20:00Z"),
        "ts_quality": "exact",
        "lab": "L01",
        "account": "tech.a1",
        "account_kind": "staff",
        "action": "read",
        "outcome": "success",
        "source_format": "lis_legacy",
        "source_file": "a.csv",
        "source_line": 2,
    }
    row.update(over)
    return coerce_events(pd.DataFrame([row]))


def test_empty_table_is_valid_and_has_every_column():
    e = empty_events()
    assert tuple(e.columns) == EVENT_COLUMNS
    assert validate_events(e) is e


def test_coerce_fills_missing_columns_with_missing_values():
    e = _one_event()
    assert e.loc[0, "patient"] is pd.NA  # not given -> missing, not empty string
    assert str(e["ts"].dtype) == "datetime64[ns, UTC]"
    validate_events(e)


def test_every_lis_code_maps_into_the_canonical_vocabulary():
    # the format document lists 13 codes; each maps to a canonical action
    assert len(LIS_ACTION_CODES) == 13
    assert {v[0] for v in LIS_ACTION_CODES.values()} <= set(ACTIONS)
    assert LIS_ACTION_CODES["EXTRACTION"][:2] == ("extract", "110106")
    assert LIS_ACTION_CODES["CONNEXION"][1:3] == ("110114", "110122")


def test_missing_column_is_named_in_the_error():
    e = _one_event().drop(columns=["lab"])
    with pytest.raises(SchemaError, match=r"lacks columns \['lab'\]"):
        validate_events(e)


def test_wrong_dtype_is_named():
    e = _one_event()
    e["records"] = e["records"].astype("float64")
    with pytest.raises(SchemaError, match="records"):
        validate_events(e)


def test_missing_lab_is_refused():
    e = _one_event(lab=None)
    with pytest.raises(SchemaError, match="'lab' has 1 missing"):
        validate_events(e)


def test_unknown_action_is_refused():
    # an action outside the vocabulary is refused when the table is built, naming the value
    with pytest.raises(
        SchemaError, match=r"'action' holds values outside its vocabulary: \['steal'\]"
    ):
        _one_event(action="steal")


def test_order_is_checked():
    a = _one_event()
    b = _one_event(ts=pd.Timestamp("2019-10-27T00:10:00Z"))
    b["seq"] = 1
    with pytest.raises(SchemaError, match="not sorted"):
        validate_events(pd.concat([a, b], ignore_index=True))


def test_order_check_spans_the_whole_datetime64_range():
    # 1678 and 2261 are 583 years apart: their difference in ns overflows int64, their order
    # does not
    a = _one_event(ts=pd.Timestamp("1678-01-02T00:00:00Z"))
    b = _one_event(ts=pd.Timestamp("2261-12-30T00:00:00Z"))
    b["seq"] = 1
    validate_events(pd.concat([a, b], ignore_index=True))
