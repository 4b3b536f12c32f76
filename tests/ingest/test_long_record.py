"""A record longer than the 1 MiB a line may have is quarantined, never read whole into
events.parquet (QA session 5, item 5: a 20 MB DETAIL field was accepted whole, while the
README refuses a file of one endless line at that limit)."""

from __future__ import annotations

import labforensics as lf
from labforensics.ingest._common import MAX_LINE_BYTES, RAW_CAP
from labforensics.ingest.protection import UNPLACED_NOTE
from labforensics.preflight import HEAD_BYTES
from lis_headers import LEGACY_HEADER

HEADER = LEGACY_HEADER + "\n"
ROW = "03/03/2020;08:0{m}:00;L05;S1;a;TECHNICIEN;PC;1.2.3.4;M;CONSULTATION;OK;1;;;"


def test_one_limit_for_preflight_and_readers():
    assert MAX_LINE_BYTES == HEAD_BYTES == 1 << 20  # 1 MiB, as the README states


def test_record_over_the_limit_is_quarantined(tmp_path):
    long_row = ROW.format(m=1) + "A" * MAX_LINE_BYTES  # the record: len(ROW) + 1 MiB bytes
    n = len(long_row)
    (tmp_path / "AUDIT_L05_20200305.csv").write_text(
        HEADER + ROW.format(m=0) + "ok\n" + long_row + "\n" + ROW.format(m=2) + "ok\n",
        encoding="utf-8",
    )
    ev = lf.read_evidence(tmp_path, case_key="ab" * 16)
    assert ev.events["source_line"].tolist() == [2, 4]  # the rows around it are read
    q = ev.quarantine
    assert q["source_line"].tolist() == [3]
    assert (
        q["reason"].iloc[0]
        == f"record of {n:,} bytes, longer than the 1 MiB a line may have: not read"
        + UNPLACED_NOTE  # its width unknown (cut): keyed as unplaced (QA session 16)
    )
    assert len(q["raw"].iloc[0]) < RAW_CAP + 100  # capped, with its cut marker
    assert ev.events["detail"].str.len().max() == 2
