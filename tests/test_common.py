"""Properties every public stage and every parameters class must have (issue 11).

Per stage, on one small generated case (2 labs, 3 months, incidents a and c):

* its input tables are left unchanged;
* the order of the input rows does not matter (row-order independence), nor the
  order in which evidence files are given (file-order independence, ingest);
* an empty input gives an empty result, not an error;
* two runs give identical results (determinism).

Per ``*Params`` class found in the package: every field carries a declarative
constraint (:mod:`labforensics._validation`) and each value the constraint must
refuse raises :class:`~labforensics.errors.ParameterError` naming the class, the
field and the allowed values.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pkgutil

import numpy as np
import pandas as pd
import pytest

import labforensics
import labforensics as lf
from labforensics._validation import constraints
from labforensics.attribution import AttributionParams
from labforensics.errors import ParameterError

KEY = "00" * 16


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    out = tmp_path_factory.mktemp("common")
    lf.synth.generate(out, labs=2, start="2020-01-01", end="2020-03-31", seed=3, scale=0.3,
                      incidents=("a", "c"), artefacts=False, hostile=False)  # fmt: skip
    ev = lf.read_evidence(out / "evidence", case_key=KEY)
    ss = lf.sessionize(ev.events)
    ft = lf.build_features(ss.events, ss.sessions)
    sc = lf.score(ft)
    return {"out": out, "ev": ev, "ss": ss, "ft": ft, "sc": sc}


def _shuffled(df: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    # a seeded permutation of the rows, with a fresh index (as another source would give)
    order = np.random.default_rng(seed).permutation(len(df))
    return df.iloc[order].reset_index(drop=True)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


# --------------------------------------------------------------------------- stages


def _stage_sessionize(c, events=None):
    return lf.sessionize(c["ev"].events if events is None else events).sessions


def _stage_score_sources(c, events=None):
    return lf.score_sources(c["ev"].events if events is None else events)


def _stage_build_features(c, events=None):
    ss = c["ss"]
    ev = ss.events if events is None else events
    return lf.build_features(ev, ss.sessions).session.frame()


def _stage_attribute(c, events=None):
    ss = c["ss"]
    ev = ss.events if events is None else events
    att = lf.attribute(ev, ss.sessions, c["sc"].session, leak=c["out"] / "leak" / "leaked_ipps.csv",
                       case_key=KEY, params=AttributionParams(stability=False))  # fmt: skip
    return att.windows


STAGES = {
    "sessionize": _stage_sessionize,
    "score_sources": _stage_score_sources,
    "build_features": _stage_build_features,
    "attribute": _stage_attribute,
}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_input_unchanged(case, name):
    events = case["ss"].events if name in ("build_features", "attribute") else case["ev"].events
    before = copy.deepcopy(events)
    STAGES[name](case, events)
    _same(events, before)  # the stage worked on its own copy


@pytest.mark.parametrize("name", sorted(STAGES))
def test_deterministic(case, name):
    _same(STAGES[name](case), STAGES[name](case))


@pytest.mark.parametrize("name", sorted(STAGES))
def test_row_order_independent(case, name):
    events = case["ss"].events if name in ("build_features", "attribute") else case["ev"].events
    _same(STAGES[name](case, _shuffled(events)), STAGES[name](case, events))


@pytest.mark.parametrize("name", ["sessionize", "score_sources"])
def test_empty_input(case, name):
    empty = case["ev"].events.iloc[:0]
    assert len(STAGES[name](case, empty)) == 0


def test_empty_input_features_and_score(case):
    ss = case["ss"]
    ft = lf.build_features(ss.events.iloc[:0], ss.sessions.iloc[:0])
    assert len(ft.session) == 0 and len(ft.account_day) == 0
    sc = lf.score(ft)
    assert sc.session is None or len(sc.session) == 0


def test_score_deterministic_and_row_order_independent(case):
    ft = case["ft"]
    a = lf.score(ft).session
    b = lf.score(ft).session
    _same(a, b)
    # the session feature table given in another row order ranks the same sessions the same way
    shuffled = _shuffled(ft.session.frame())
    c = lf.score(shuffled).session
    key = ["session_id", "score", "rank"]
    plain = lf.score(ft.session.frame()).session
    _same(c[key].sort_values("session_id"), plain[key].sort_values("session_id"))


def test_read_evidence_file_order_independent(case):
    files = sorted(p for p in (case["out"] / "evidence").rglob("*") if p.is_file())
    a = lf.read_evidence(files, case_key=KEY).events
    b = lf.read_evidence(files[::-1], case_key=KEY).events
    # the common root of the files is the same either way, so so are source_file and seq
    _same(a, b)


# --------------------------------------------------------------------------- parameters


def _params_classes() -> list[type]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(labforensics.__path__, "labforensics."):
        if info.name.endswith("__main__") or ".demo" in info.name:
            continue
        mod = importlib.import_module(info.name)
        for obj in vars(mod).values():
            if (
                isinstance(obj, type)
                and obj.__name__.endswith("Params")
                and dataclasses.is_dataclass(obj)
                and obj.__module__.startswith("labforensics")
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


PARAMS = _params_classes()


def test_params_found():
    names = {c.__name__ for c in PARAMS}
    assert {"SessionParams", "FeatureParams", "DetectParams", "SourceParams",
            "AttributionParams"} <= names  # fmt: skip


@pytest.mark.parametrize("cls", PARAMS, ids=lambda c: c.__name__)
def test_every_knob_is_constrained(cls):
    rules = constraints(cls)
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in rules]
    assert missing == [], f"{cls.__name__} fields without a constraint: {missing}"
    cls()  # the defaults satisfy their own constraints


@pytest.mark.parametrize(
    ("cls", "field", "bad"),
    [
        (cls, name, bad)
        for cls in PARAMS
        for name, rule in constraints(cls).items()
        for bad in rule.invalid_examples()
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else repr(v)[:20],
)
def test_invalid_value_names_field_and_range(cls, field, bad):
    with pytest.raises(ParameterError) as info:
        cls(**{field: bad})
    msg = str(info.value)
    assert f"{cls.__name__}.{field}" in msg and "must be" in msg, msg
