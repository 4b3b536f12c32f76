"""Uploads logged before any export of their file (``attribution/transfer_clock.py``): a
transfer log read in the wrong zone shifts every upload by the zones' difference, and
the links dropped those uploads without a word. Hand-worked gaps and notes; the QA's
nightly job (session 21) raises none."""

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
from labforensics.attribution.transfer_clock import CLOCK_MARK, WINDOW_H, clock_note, upload_gaps
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


def _ups(hours, name="p.csv"):
    return _tr([(h, name, "upload", "r", "job") for h in hours])


def test_an_upload_is_early_only_when_no_export_of_its_name_came_before_it():
    # exports: a.csv at T; the nightly b.csv at T-8 h and T+16 h
    outb = pd.DataFrame({"ts": [T, T - 8 * H, T + 16 * H],
                         "files": [["a.csv"], ["b.csv", "x.zip"], ["B.CSV"]]})  # fmt: skip
    tr = _tr([(-2, "a.csv", "upload", "r", "vendor1"),        # no a.csv before: -2.0
              (14 + 5 / 60, "b.csv", "upload", "r", "backup"),  # the T-8 h export before it
              (-2, "A.csv", "upload", "a", "anonymous"),     # anonymous: nobody's export
              (-1, "a.csv", "download", "r", "vendor1"),     # a download: not compared
              (3, "c.csv", "upload", "r", "vendor1"),         # no export of that name
              (WINDOW_H + 1, "a.csv", "upload", "r", "vendor1")])  # no export near  # fmt: skip
    n, gaps = upload_gaps(outb, tr)
    assert n == 2 and gaps == pytest.approx([-2.0])
    assert upload_gaps(outb, None)[0] == 0 and upload_gaps(outb.iloc[:0], tr)[1].size == 0
    # within the tolerance (10 min): two clocks a few minutes apart, not counted
    assert upload_gaps(outb, _ups([-5 / 60], "a.csv"))[1].size == 0


def test_a_nightly_job_uploading_in_the_afternoon_is_not_early():
    # QA session 21: export at 03:15 every night, upload at 16:00 the same day (12 h 45 min
    # after it, 11 h 15 min before the next night's): every upload follows an export
    days = [T.normalize() + pd.Timedelta(days=d) for d in range(5)]
    outb = pd.DataFrame({"ts": [d + pd.Timedelta(hours=3.25) for d in days],
                         "files": [["patients_L01.csv"]] * 5})  # fmt: skip
    afternoon = _ups([(d - T) / H + 16 for d in days], "patients_L01.csv")
    n, gaps = upload_gaps(outb, afternoon)
    assert n == 5 and gaps.size == 0 and clock_note(n, gaps, 1.0, "UTC") is None
    # the same job's uploads at 03:20, logged 2 h early (01:20): only the first night's
    # has no export behind it (the price of never calling an explained upload early)
    shifted = _ups([(d - T) / H + 1 + 20 / 60 for d in days], "patients_L01.csv")
    n, gaps = upload_gaps(outb, shifted)
    assert n == 5 and gaps == pytest.approx([-(1 + 55 / 60)])


def test_the_note_says_how_many_and_names_the_zone_when_most_are_early():
    note = clock_note(3, np.array([-2.0, -1.9]), 1.0, "Europe/Paris")
    assert note == (
        f"2 of 3 FTP uploads of a file an export names are {CLOCK_MARK}, by more than 10 "
        "min (median -1.9 h; all beyond the 1 h of clock skew the links allow, so linked to "
        "no export): an upload cannot precede the file it moves; most uploads are, so the "
        "transfer log's clock or time zone likely differs from the audit logs' (read in "
        "Europe/Paris: check the case file's [case] transfers_tz)"
    )
    # winter: one hour, within the skew: linked, but with delays that cannot be right
    winter = clock_note(2, np.array([-1.0, -0.95]), 1.0, "Europe/Paris")
    assert "(median -1.0 h; within the 1 h of clock skew the links allow, so linked with " \
           "their delays short)" in winter and "most uploads are" in winter  # fmt: skip
    one = clock_note(3, np.array([-5.0]), 1.0, "UTC")
    assert one.startswith(f"1 of 3 FTP uploads of a file an export names is {CLOCK_MARK}")
    assert one.endswith("(median -5.0 h; beyond the 1 h of clock skew the links allow, so "
                        "linked to no export): an upload cannot precede the file it moves (a "
                        "name uploaded before its export wrote it, or a clock wrong for a "
                        "while)")  # fmt: skip
    mixed = clock_note(4, np.array([-2.0, -0.5, -1.5]), 1.0, "UTC")
    assert "2 beyond the 1 h of clock skew the links allow, linked to no export" in mixed
    assert clock_note(3, np.zeros(0), 1.0, "UTC") is None


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


def _clock_notes(a):
    return [n for n in a.totals["notes"] if CLOCK_MARK in n]


def test_attribute_notes_an_upload_logged_before_its_export(vendor):
    ev, ss, truth = vendor
    t = truth["L01"]  # the vendor's extraction writing L01_export.csv
    kw = {"leak": vendor_leak(truth), "case_key": KEY, "params": P, "case": CASE}
    # the upload 10 min after it, as a log written in UTC and read in Paris in summer
    # shows it: 1 h 50 min before, beyond the 1 h of skew, so it is not linked
    shifted = attribute(ev, ss, transfers=_upload(t - 110 * H / 60), **kw)
    assert shifted.transfers.empty
    notes = _clock_notes(shifted)
    assert len(notes) == 1 and "(median -1.8 h; beyond" in notes[0]
    assert "most uploads are" in notes[0]
    # in winter (1 h, within the skew): linked, and noted
    winter = attribute(ev, ss, transfers=_upload(t - 50 * H / 60), **kw)
    assert winter.transfers["source_line"].tolist() == [1]
    assert "so linked with their delays short" in _clock_notes(winter)[0]
    # read in its own zone: linked, no such note
    right = attribute(ev, ss, transfers=_upload(t + 10 * H / 60), **kw)
    assert right.transfers["source_line"].tolist() == [1] and not _clock_notes(right)
