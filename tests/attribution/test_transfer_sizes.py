"""Credited downloads of another size than the upload of their path
(``attribution/transfer_sizes.py``): the file on the server changed in a way the log
does not show. Hand-worked counts; ASCII and on-the-fly conversions are not compared."""

from __future__ import annotations

import pandas as pd
from attribution_scenarios import (
    KEY,
    LAB_NET,
    VENDOR_IP,
    VENDOR_NET,
    build,
    vendor_case,
    vendor_leak,
)

from labforensics.attribution import AttributionParams, attribute
from labforensics.attribution.transfer_sizes import size_mismatches, size_note
from labforensics.case import CaseContext
from labforensics.networks import NetworkMap

T = pd.Timestamp("2020-06-01", tz="UTC")
H = pd.Timedelta(hours=1)


def _tr(rows):
    """Transfers from (line, hours after T, path, bytes, direction, type, action, completion)."""
    return pd.DataFrame({
        "source_line": [r[0] for r in rows], "ts": [T + r[1] * H for r in rows],
        "file_name": [r[2] for r in rows], "bytes": pd.array([r[3] for r in rows], "Int64"),
        "direction": [r[4] for r in rows], "transfer_type": [r[5] for r in rows],
        "special_action": [r[6] for r in rows], "completion": [r[7] for r in rows],
        "source_file": ["xferlog"] * len(rows),
    })  # fmt: skip


def _credited(lines, credited=True):
    return pd.DataFrame({"direction": ["download"] * len(lines), "credited": [credited] * len(lines),
                         "source_file": ["xferlog"] * len(lines), "source_line": lines})  # fmt: skip


def test_each_credited_download_is_compared_with_the_last_upload_of_its_path():
    tr = _tr(
        [
            (1, 0, "/pub/a.csv", 5000, "upload", "b", "_", "c"),
            (2, 1, "/pub/a.csv", 5000, "download", "b", "_", "c"),  # same size
            (3, 2, "/pub/a.csv", 4000, "upload", "b", "_", "c"),  # rewritten
            (4, 3, "/pub/a.csv", 5000, "download", "b", "_", "c"),  # not the 4000 bytes
            (5, 3, "/perso/a.csv", 5000, "download", "b", "_", "c"),  # path never uploaded
            (6, 4, "/pub/a.csv", 9, "download", "a", "_", "c"),  # ASCII: converted
            (7, 4, "/pub/a.csv", 9, "download", "b", "C", "c"),  # compressed on the fly
            (8, 4, "/pub/a.csv", 9, "download", "b", "_", "i"),  # cut short
            (9, 5, "/pub/a.csv", None, "download", "b", "_", "c"),
        ]
    )  # size not logged
    assert size_mismatches(tr, _credited([2, 4, 5, 6, 7, 8, 9])) == (2, 1)
    # only the downloads credited to an export
    assert size_mismatches(tr, _credited([2, 4], credited=False)) == (0, 0)
    assert size_mismatches(tr, _credited([4])) == (1, 1)
    assert size_mismatches(None, _credited([4])) == (0, 0)
    assert size_mismatches(tr, _credited([]).iloc[:0]) == (0, 0)


def test_resumed_transfers_and_a_converted_last_upload_are_not_compared():
    # QA session 21: xferlog counts the bytes a resumed (REST) transfer moved, not the
    # file's; an ASCII last upload may have changed the size by design
    resumed_download = _tr(
        [
            (1, 0, "/p/b.csv", 167036, "upload", "b", "_", "c"),
            (2, 1, "/p/b.csv", 60000, "download", "b", "_", "i"),
            (3, 2, "/p/b.csv", 107036, "download", "b", "_", "c"),
        ]
    )
    assert size_mismatches(resumed_download, _credited([3])) == (0, 0)
    resumed_upload = _tr(
        [
            (1, 0, "/p/b.csv", 100000, "upload", "b", "_", "i"),
            (2, 1, "/p/b.csv", 67036, "upload", "b", "_", "c"),
            (3, 2, "/p/b.csv", 167036, "download", "b", "_", "c"),
        ]
    )
    assert size_mismatches(resumed_upload, _credited([3])) == (0, 0)
    ascii_last = _tr(
        [
            (1, 0, "/p/c.csv", 359634, "upload", "b", "_", "c"),
            (2, 1, "/p/c.csv", 362000, "upload", "a", "_", "c"),
            (3, 2, "/p/c.csv", 362000, "download", "b", "_", "c"),
        ]
    )
    assert size_mismatches(ascii_last, _credited([3])) == (0, 0)
    # a transfer cut short before the upload before the last one no longer matters
    later = _tr(
        [
            (1, 0, "/p/d.csv", 500, "upload", "b", "_", "c"),
            (2, 1, "/p/d.csv", 100, "download", "b", "_", "i"),
            (3, 2, "/p/d.csv", 500, "upload", "b", "_", "c"),
            (4, 3, "/p/d.csv", 500, "download", "b", "_", "c"),  # after the cut: skipped
            (5, 4, "/p/d.csv", 700, "upload", "b", "_", "c"),
            (6, 5, "/p/d.csv", 9, "download", "b", "_", "c"),
        ]
    )  # compared: differs
    assert size_mismatches(later, _credited([4, 6])) == (1, 1)
    # another index than 0..n-1 (a filtered table)
    assert size_mismatches(later.set_axis(range(10, 16)), _credited([4, 6])) == (1, 1)


def test_the_note():
    assert size_note(3, 0) is None
    assert size_note(1, 1) == (
        "1 of 1 complete binary FTP download credited to an export is not the size of the "
        "last upload of its path before it: the file on the server changed in a way the "
        "transfer log does not show (a gap in the log, a write by another channel), so "
        "which export it took is uncertain"
    )
    assert size_note(5, 2).startswith("2 of 5 complete binary FTP downloads credited to an "
                                      "export are not the size")  # fmt: skip


def test_attribute_notes_a_download_of_another_size():
    c, truth = vendor_case()
    ev, ss = build(c)
    t = truth["L01"]  # the vendor's extraction writing L01_export.csv
    tr = pd.DataFrame({
        "ts": [t + 10 * H / 60, t + 72 * H], "remote_host": [VENDOR_IP, "192.0.2.66"],
        "bytes": [5000, 77], "file_name": ["/pub/L01_export.csv"] * 2,
        "direction": ["upload", "download"], "access_mode": ["r", "a"],
        "user": ["migr", "anonymous"], "completion": ["c", "c"], "transfer_type": ["b", "b"],
        "special_action": ["_", "_"], "source_file": ["xferlog"] * 2, "source_line": [1, 2],
    })  # fmt: skip
    case = CaseContext(networks=NetworkMap(by_lab=LAB_NET, vendor=[VENDOR_NET]))
    kw = {"leak": vendor_leak(truth), "case_key": KEY, "case": case,
          "params": AttributionParams(stability=False)}  # fmt: skip
    a = attribute(ev, ss, transfers=tr, **kw)
    assert a.transfers["credited"].tolist() == [True, True]
    notes = [n for n in a.totals["notes"] if "not the size of the last upload" in n]
    assert notes and notes[0].startswith("1 of 1 complete binary FTP download")
    same = attribute(ev, ss, transfers=tr.assign(bytes=[5000, 5000]), **kw)
    assert not [n for n in same.totals["notes"] if "not the size of the last upload" in n]
