"""CaseEvents: the case's events held lab by lab give what the whole table gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labforensics import read_evidence
from labforensics.case_events import CaseEvents, EventsFolder, as_case_events
from labforensics.outputs import PARQUET_OPTIONS, drop_private, parquet_table

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "outside-attacker" / "evidence"


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    files = sorted(str(p) for p in FIXTURE.rglob("*") if p.is_file())
    ev = read_evidence(files, case_key=bytes(range(32))).events.reset_index(drop=True)
    assert ev["lab"].nunique() == 2  # the test needs events of several labs
    return ev


def _spilled(ev: pd.DataFrame, tmp: Path) -> CaseEvents:
    mem = CaseEvents.from_frame(ev)
    return CaseEvents({k: CaseEvents.spill_part(mem.lab(k), tmp / f"{k}.arrow") for k in mem.labs})


def _logins(d: pd.DataFrame) -> np.ndarray:
    return (d["action"].astype(str) == "login").to_numpy()


def test_select_and_to_frame_equal_the_whole_table(events, tmp_path):
    want = events[_logins(events)].reset_index(drop=True)
    assert 0 < len(want) < len(events)
    for ce in (CaseEvents.from_frame(events), _spilled(events, tmp_path)):
        pd.testing.assert_frame_equal(ce.to_frame(), events)
        pd.testing.assert_frame_equal(ce.select(_logins), want)
        got = ce.select(_logins, columns=["ts", "account"], need=["action"])
        pd.testing.assert_frame_equal(got, want[["ts", "account"]])
        assert len(ce) == len(events)
        assert ce.named_labs() == sorted(events["lab"].unique())


def test_spans_and_period_by_hand(events):
    ce = CaseEvents.from_frame(events)
    sp = ce.spans().set_index("lab")
    for lab, g in events.groupby("lab"):
        assert sp.loc[lab, "evidence_start"] == g["ts"].min()
        assert sp.loc[lab, "evidence_end"] == g["ts"].max()
        assert sp.loc[lab, "events"] == len(g)
    assert ce.period() == (events["ts"].min(), events["ts"].max())


def test_rows_from_several_labs_come_back_in_the_table_order_without_seq(events):
    ev = events.drop(columns="seq")
    ce = as_case_events(ev)
    pd.testing.assert_frame_equal(ce.select(_logins), ev[_logins(ev)].reset_index(drop=True))


def test_spilled_parquet_is_byte_identical_to_the_whole_table(events, tmp_path):
    ce = _spilled(events, tmp_path)
    assert ce.is_spilled()
    ce.write_parquet(tmp_path / "a.parquet", transform=drop_private, chunk_rows=100)
    pq.write_table(parquet_table(drop_private(events)), tmp_path / "b.parquet",
                   row_group_size=100, **PARQUET_OPTIONS)  # fmt: skip
    a, b = ((tmp_path / n).read_bytes() for n in ("a.parquet", "b.parquet"))
    assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest()
    assert pq.ParquetFile(tmp_path / "a.parquet").metadata.num_row_groups == -(-len(events) // 100)


def test_view_keeps_only_the_columns_asked(events):
    ce = CaseEvents.from_frame(events).view(["ts", "lab", "seq"])
    assert list(ce.lab(ce.labs[0]).columns) == ["ts", "lab", "seq"]
    with pytest.raises(KeyError, match="no such event column"):
        ce.view(["nope"])


def test_events_folder_is_private_and_removed():
    f = EventsFolder()
    p = f.make()
    assert p.is_dir() and (p.stat().st_mode & 0o777) == 0o700
    (p / "x").write_text("pseudonymised events")
    f.remove()
    assert not p.exists()


@pytest.mark.parametrize("encoded", [True, False])
def test_held_labs_write_the_bytes_spilled_labs_write(events, tmp_path, encoded):
    """Labs held in memory (as the engine hands them back: dictionary-encoded, or
    canonical) are written chunk by chunk too, never widened whole: the same file as the
    spilled labs' and as the whole table with the chunk's row groups, so the memory
    budget does not change the bytes of ``events.parquet``."""
    from labforensics._narrow import narrow

    mem = CaseEvents.from_frame(events)
    held = CaseEvents({k: narrow(mem.lab(k)) if encoded else mem.lab(k) for k in mem.labs})
    assert not held.is_spilled() and held._pos is None
    held.write_parquet(tmp_path / "held.parquet", transform=drop_private, chunk_rows=100)
    _spilled(events, tmp_path).write_parquet(tmp_path / "spilled.parquet",
                                             transform=drop_private, chunk_rows=100)  # fmt: skip
    pq.write_table(parquet_table(drop_private(events)), tmp_path / "whole.parquet",
                   row_group_size=100, **PARQUET_OPTIONS)  # fmt: skip
    got = (tmp_path / "held.parquet").read_bytes()
    assert got == (tmp_path / "spilled.parquet").read_bytes()
    assert got == (tmp_path / "whole.parquet").read_bytes()
    assert pq.ParquetFile(tmp_path / "held.parquet").metadata.num_row_groups == -(
        -len(events) // 100
    )


def test_parquet_from_small_record_batches(events, tmp_path, monkeypatch):
    """Runs of rows that cross record batches of the spilled files (each read once)."""
    import labforensics.case_events as ce_mod

    monkeypatch.setattr(ce_mod, "BATCH_ROWS", 7)
    ce = _spilled(events, tmp_path)
    ce.write_parquet(tmp_path / "a.parquet", transform=drop_private, chunk_rows=50)
    pq.write_table(parquet_table(drop_private(events)), tmp_path / "b.parquet",
                   row_group_size=50, **PARQUET_OPTIONS)  # fmt: skip
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_arrow_slices_read_back_as_widen_gives_them(events, tmp_path):
    """:func:`arrow_to_wide` (the text columns decoded in Arrow) equals
    ``widen(to_pandas())`` on slices of a lab's spilled file, values and dtypes, nulls
    and empty slices included (the profile of session 12: 70 % of writing
    ``events.parquet`` was building each slice's pandas categories)."""
    from labforensics._narrow import arrow_to_wide, widen

    lab = CaseEvents.from_frame(events).labs[0]
    part = CaseEvents.from_frame(events).lab(lab)
    path = CaseEvents.spill_part(part, tmp_path / "x.arrow")
    with pa.OSFile(str(path), "rb") as f:
        table = pa.ipc.open_file(f).read_all()
    assert any(pa.types.is_dictionary(t) for t in table.schema.types)
    for a, b in ((0, len(table)), (3, 40), (len(table) - 5, len(table)), (10, 10)):
        s = table.slice(a, b - a)
        pd.testing.assert_frame_equal(arrow_to_wide(s), widen(s.to_pandas()), check_exact=True)
