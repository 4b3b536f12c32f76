"""The linkage's speed and memory changes decide nothing differently (issue 13)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from labforensics.errors import LinkageError
from labforensics.leak.decisions import arrow_table, top_candidates_on_predict
from labforensics.leak.decoys import build_decoy_index
from labforensics.leak.linkage import _prediction_rules, blocking_rules, link_dump
from labforensics.leak.phases import PHASES, on_phase, phase_progress

sys.path.insert(0, str(Path(__file__).parent))
from gen_people import make_case


def _pairs(con: duckdb.DuckDBPyConnection, conds: list[str]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for cond in conds:
        rows = con.execute(
            f"select l.unique_id, r.unique_id from d l join i r on {cond}"
        ).fetchall()
        out |= set(rows)
    return out


def test_split_or_rule_blocks_the_same_pairs():
    # birth name <-> surname either way, same birth year: by hand, d1-i1 (dump surname is
    # the index birth name), d2-i2 (dump birth name is the index surname); d3 differs in
    # year; d4 has no birth name and i3's surname is another key
    d = pd.DataFrame(
        {
            "unique_id": ["d1", "d2", "d3", "d4"],
            "sn_ph": ["MR", "PTT", "MR", "LF"],
            "bn_ph": [None, "DR", None, None],
            "by": [1970, 1980, 1971, 1990],
        }
    )
    i = pd.DataFrame(
        {
            "unique_id": ["i1", "i2", "i3"],
            "sn_ph": ["DPN", "DR", "BRN"],
            "bn_ph": ["MR", None, None],
            "by": [1970, 1980, 1990],
        }
    )
    con = duckdb.connect()
    con.register("d", arrow_table(d))
    con.register("i", arrow_table(i))
    name = "birth_name_phonetic+birth_year"
    (whole,) = [c for n, c in blocking_rules() if n == name]
    branches = [c for n, c in _prediction_rules() if n == name]
    assert len(branches) == 2
    assert _pairs(con, [whole]) == _pairs(con, branches) == {("d1", "i1"), ("d2", "i2")}
    # every other rule is run as stated
    others = [(n, c) for n, c in _prediction_rules() if n != name]
    assert others == [(n, c) for n, c in blocking_rules() if n != name]


def test_top_candidates_hook_refuses_a_predict_it_did_not_shape():
    # a pipeline that does not end in __splink__df_predict is run as is, and the
    # context then refuses (the candidates would not be the top-k table)
    class FakeApi:
        def sql_pipeline_to_splink_dataframe(self, pipeline):
            return "ran"

    class FakePipeline:
        queue: list = []

    api = FakeApi()
    with pytest.raises(LinkageError):
        with top_candidates_on_predict(api, 8, None):
            assert api.sql_pipeline_to_splink_dataframe(FakePipeline()) == "ran"
    assert "sql_pipeline_to_splink_dataframe" not in vars(api)  # restored


def test_decoy_with_fewer_columns_is_the_same_draw():
    rng = np.random.default_rng(0)
    n = 300
    people = pd.DataFrame(
        {
            "record_id": pd.Series([f"P{k:04d}" for k in range(n)], dtype="string"),
            "surname": pd.Series(rng.choice(["MARTIN", "DURAND", "PETIT"], n), dtype="string"),
            "first_name_first": pd.Series(rng.choice(["ANNE", "LUC", "EVA"], n), dtype="string"),
            "birth_date": pd.Series(
                [f"19{50 + k % 40}-0{1 + k % 9}-1{k % 10}" for k in range(n)], dtype="string"
            ),
            "nir": pd.Series([f"1{k:012d}" for k in range(n)], dtype="string"),
            "city": pd.Series(rng.choice(["LYON", "BREST"], n), dtype="string"),
            "phone": pd.Series([f"06{k:08d}" for k in range(n)], dtype="string"),
        }
    )
    full, prov_full = build_decoy_index(people, seed=4)
    part, prov_part = build_decoy_index(people, seed=4, columns=("nir", "phone"))
    # same rows, same values in the columns built; the provenance does not depend on them
    assert list(part.columns) == [
        "record_id",
        "surname",
        "first_name_first",
        "birth_date",
        "nir",
        "phone",
    ]
    pd.testing.assert_frame_equal(part, full[list(part.columns)])
    pd.testing.assert_frame_equal(prov_part, prov_full)
    # 4 blocks per kept decoy row, fewer only where a row drew one source twice
    assert len(prov_full) <= 4 * len(full)


def test_phases_marked_in_order_and_bar_moves(capsys):
    # link_dump marks its phases in PHASES order (the readers' two come first in
    # link_leak); the progress bar is drawn on stderr and names phases, never data
    idx, dmp, _ = make_case(300, 100, 2, seed=3)
    seen: list[str] = []
    with on_phase(seen.append):
        link_dump(idx, dmp, seed=1)
    assert [p for p in seen if p in PHASES] == list(PHASES[2:])
    with phase_progress(True):
        link_dump(idx, dmp, seed=1)
    err = capsys.readouterr().err
    assert "leak linkage" in err and "classify" in err
    assert not any(str(v) in err for v in idx["surname"].dropna().head(20))
