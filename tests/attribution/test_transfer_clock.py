"""Uploads logged before the export of their file (``attribution/transfer_clock.py``): a
transfer log read in the wrong zone shifts every upload by the zones' difference, and
the links dropped those uploads without a word. Hand-worked gaps and notes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
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
from labforensics.attribution.transfer_clock import WINDOW_H, clock_note, upload_gaps
from labforensics.case import CaseContext
from labforensics.networks import NetworkMap

CASE = CaseContext(networks=NetworkMap(by_lab=LAB_NET, vendor=[VENDOR_NET]))
P = AttributionParams(stability=False)

T = pd.Timestamp("2020-07-01 10:00", tz="UTC")
H = pd.Timedelta(hours=1)


def _tr(rows):
    """Transfers from (hours after T, file, direction, access mode, user)."""
    return pd.DataFrame({
        "ts": [T + h * H for h, *_ in rows], "file_base": [r[1] for r in rows],
        "direction": [r[2] for r in rows], "access_mode": [r[3] for r in rows],
        "user": [r[4] for r in rows],
    })  # fmt: skip


def test_each_upload_is_compared_with_the_nearest_export_of_its_name():
    # exports: a.csv at T; the nightly b.csv at T-8 h and T+16 h (02:00 each night)
    outb = pd.DataFrame({"ts": [T, T - 8 * H, T + 16 * H],
                         "files": [["a.csv"], ["b.csv", "x.zip"], ["B.CSV"]]})  # fmt: skip
    tr = _tr([(-2, "a.csv", "upload", "r", "vendor1"),      # 2 h before a.csv: -2.0
              (14 + 5 / 60, "b.csv", "upload", "r", "backup"),  # 00:05: 1 h 55 min before
              (-2, "A.csv", "upload", "a", "anonymous"),   # anonymous: nobody's export
              (-1, "a.csv", "download", "r", "vendor1"),   # a download: not compared
              (3, "c.csv", "upload", "r", "vendor1"),       # no export of that name
              (WINDOW_H + 1, "a.csv", "upload", "r", "vendor1")])  # beyond the window  # fmt: skip
    assert upload_gaps(outb, tr) == pytest.approx([-2.0, -(1 + 55 / 60)])
    # nearest, not latest before: the b.csv upload at 00:05 is 22 h 5 min after the
    # previous night's export, and 1 h 55 min before the next one
    assert upload_gaps(outb, None).size == 0
    assert upload_gaps(outb.iloc[:0], tr).size == 0


def test_the_note_says_how_many_and_names_the_zone_when_most_are_early():
    note = clock_note(np.array([-2.0, -1.9, 0.1]), 1.0, "Europe/Paris")
    assert note == (
        "2 of 3 uploads of a file an export names are logged before the nearest export of "
        "that name, by more than the 1 h of clock skew allowed (median -1.9 h), and linked "
        "to no export: an upload cannot precede the file it moves; most uploads are, so "
        "the transfer log's clock or time zone likely differs from the audit logs' (read in "
        "Europe/Paris: check the case file's [case] transfers_tz)"
    )
    one = clock_note(np.array([-5.0, 0.2, 0.1]), 1.0, "UTC")
    assert one.startswith("1 of 3 uploads of a file an export names is logged before")
    assert one.endswith("(median -5.0 h), and linked to no export: an upload cannot precede "
                        "the file it moves (a name another export reused, or a clock wrong "
                        "for a while)")  # fmt: skip
    assert clock_note(np.array([-0.9, 0.0, 3.0]), 1.0, "UTC") is None  # within the skew
    assert clock_note(np.zeros(0), 1.0, "UTC") is None


@pytest.fixture(scope="module")
def vendor():
    c, truth = vendor_case()
    ev, ss = build(c)
    return ev, ss, truth


def _upload(t):
    return pd.DataFrame({
        "ts": [t], "remote_host": [VENDOR_IP], "bytes": [5000],
        "file_name": ["/pub/L01_export.csv"], "direction": ["upload"], "access_mode": ["r"],
        "user": ["migr"], "completion": ["c"], "source_file": ["xferlog"], "source_line": [1],
    })  # fmt: skip


def test_attribute_notes_an_upload_logged_before_its_export(vendor):
    ev, ss, truth = vendor
    t = truth["L01"]  # the vendor's extraction writing L01_export.csv
    # the upload 10 min after it, as a log written in UTC and read in Paris in summer
    # shows it: 1 h 50 min before, beyond the 1 h of skew, so it is not linked
    shifted = attribute(ev, ss, leak=vendor_leak(truth), transfers=_upload(t - 110 * H / 60),
                        case_key=KEY, params=P, case=CASE)  # fmt: skip
    assert shifted.transfers.empty
    notes = [n for n in shifted.totals["notes"] if "logged before the nearest export" in n]
    assert len(notes) == 1 and "(median -1.8 h)" in notes[0] and "most uploads are" in notes[0]
    # read in its own zone: linked, no such note
    right = attribute(ev, ss, leak=vendor_leak(truth), transfers=_upload(t + 10 * H / 60),
                      case_key=KEY, params=P, case=CASE)  # fmt: skip
    assert right.transfers["source_line"].tolist() == [1]
    assert not [n for n in right.totals["notes"] if "logged before the nearest export" in n]
