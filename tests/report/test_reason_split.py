"""Reasons split only at a top-level ``;`` (QA session 10, item 4).

The demo's report showed one reason as two bullets, "…beyond their authorisation
(17,636 records" and "see exports.parquet for the limits crossed)": the joined
reasons were split at every ``;``, inside the parenthesis too.
"""

from __future__ import annotations

import pandas as pd

from labforensics._reasons import split_reasons
from labforensics.detect.campaigns import _exploded_reasons
from labforensics.report.findings import session_scores_table

BEYOND = (
    "2 exports beyond their authorisation (17,636 records; see exports.parquet for the limits "
    "crossed)"
)
JOINED = f"export at 01:07 local (night); {BEYOND}; vendor account"


def test_split_at_depth_zero_only():
    assert split_reasons(JOINED) == ["export at 01:07 local (night)", BEYOND, "vendor account"]
    assert split_reasons("a; b;; c ") == ["a", "b", "c"]
    assert split_reasons("a (b; (c; d)); e") == ["a (b; (c; d))", "e"]
    # a stray ")" does not make the depth negative: the next ";" still separates
    assert split_reasons("a) b; c (d; e)") == ["a) b", "c (d; e)"]
    assert split_reasons("") == []


def test_session_reasons_and_campaign_reasons_keep_the_parenthesis():
    t = session_scores_table(pd.DataFrame({"session_id": ["s1"], "score": [3.0],
                                           "reasons": [JOINED]}))  # fmt: skip
    assert t["reasons"].iloc[0] == JOINED  # split and joined back: the same three reasons
    pos, text = _exploded_reasons(pd.Series([JOINED, None], dtype="string"))
    assert pos.tolist() == [0, 0, 0]
    assert text.tolist() == ["export at 01:07 local (night)", BEYOND, "vendor account"]
