"""The report's quarantine sentence counts rows by where they come from (QA session 9,
item 6): 2 rows, a patient index's duplicate IPP and a dump's line, were said to be
"2 line(s) of the transfer log"."""

from __future__ import annotations

import pandas as pd

from labforensics.report.field_notes import quarantine_origins


def _q(reasons: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"source_file": "f", "source_line": range(1, len(reasons) + 1),
                         "reason": pd.Series(reasons, dtype="string"), "raw": None})  # fmt: skip


def test_index_and_dump_rows_are_not_the_transfer_log():
    q = _q(["patient index: IPP already seen", "dump: no person field"])
    got = quarantine_origins(q, evidence_rows=0, transfers_given=True)
    assert got == ["0 row(s) of the evidence", "1 line(s) of the patient indexes",
                   "1 line(s) of the leaked dump"]  # fmt: skip


def test_every_origin_counted():
    q = _q(["bad date"] * 3 + ["patient index: no IPP"] * 2 + ["dump: malformed"]
           + ["not an xferlog line (14 or 13 space-separated fields expected)"] * 4)  # fmt: skip
    assert quarantine_origins(q, evidence_rows=3, transfers_given=True) == [
        "3 row(s) of the evidence", "2 line(s) of the patient indexes",
        "1 line(s) of the leaked dump", "4 line(s) of the transfer log",
    ]  # fmt: skip
    assert quarantine_origins(q, 3, transfers_given=False)[-1] == "4 line(s) of other inputs"


def test_evidence_rows_only_nothing_to_tell_apart():
    assert quarantine_origins(_q(["bad date"] * 2), 2, transfers_given=False) == []
    assert quarantine_origins(None, 0, transfers_given=False) == []
