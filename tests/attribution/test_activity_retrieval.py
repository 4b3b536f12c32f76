"""The output's retrieval (fetched from outside the lab's and vendor's networks or anonymously, by
the transfer log) as a second activity-level status beside the register's
(``attribution/activity.py``): hand-worked on ``test_activity``'s lab.

The hand lab: 10 patients known at hours 1..10, the first 4 leaked; vendor E (4.2 h)
and insider F (4.7 h) hold the same 4 leaked patients (content log10 likelihood
-0.043648 each), insider G at 9.5 h (-2.689457); outside_evidence -0.647420. The lab
has 10 assessed comparable operations for each status, 1 flagged.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_activity import PA, SIGHT
from test_conclusion import _default, _hours, _lab, _ops

from labforensics.attribution.activity import (
    CLEAR,
    FLAGGED,
    NOT_ASSESSED,
    attach,
    retrieval_flags,
)
from labforensics.attribution.conclusion import lab_conclusion
from labforensics.attribution.limits import activity_limit


def _links(rows):
    """Transfer links as :mod:`labforensics.attribution.linking` writes them: (session,
    extraction hour, file base, transfer hour, direction, outside/anonymous download,
    completion, xferlog line)."""
    t0 = pd.Timestamp("2020-07-01", tz="UTC")
    return pd.DataFrame(
        {
            "session_id": [r[0] for r in rows],
            "extraction_ts": [t0 + pd.Timedelta(hours=r[1]) for r in rows],
            "file_base": [r[2] for r in rows],
            "transfer_ts": [t0 + pd.Timedelta(hours=r[3]) for r in rows],
            "direction": [r[4] for r in rows],
            "remote_host": ["203.0.113.99" if r[5] else "172.16.20.37" for r in rows],
            "completion": [r[6] for r in rows],
            "external_fetch": [r[5] for r in rows],
            "source_file": ["xferlog"] * len(rows),
            "source_line": [r[7] for r in rows],
        }
    )


def test_a_download_is_the_latest_uploaded_writes_not_every_write_of_its_name():
    ids = np.array(["staff", "b1", "b2", "vendor", "local", "never"])
    # QA session 19 "G2": the staff export (hour 0) and two nightly backups (hours 100,
    # 190) write patients_L02.csv; one anonymous fetch at hour 191 (xferlog line 14) is
    # linked to all three by the name: the latest write before it, b2, owns it; the log
    # shows neither of the others' files on the server (no upload, no download owned):
    # not assessed, neither fetched nor "not fetched"
    g2 = _links([("staff", 0, "patients_L02.csv", 191, "download", True, "c", 14),
                 ("b1", 100, "patients_L02.csv", 191, "download", True, "c", 14),
                 ("b2", 190, "patients_L02.csv", 191, "download", True, "c", 14)])  # fmt: skip
    assert retrieval_flags(g2, ids[:3]).tolist() == [NOT_ASSESSED, NOT_ASSESSED, FLAGGED]
    # "E": the vendor (hour 22) uploads L02_mig_complet.csv; a staff export (hour 34)
    # writes a local file of the same name, never uploaded; the fetch (hour 50) is the
    # vendor's: of the writes linked to it, those uploaded before it come first; the local
    # file is not shown on the server: not assessed
    e = _links([("vendor", 22, "L02_mig_complet.csv", 22.5, "upload", False, "c", 3),
                ("vendor", 22, "L02_mig_complet.csv", 50, "download", True, "c", 14),
                ("local", 34, "L02_mig_complet.csv", 50, "download", True, "c", 14)])  # fmt: skip
    assert retrieval_flags(e, np.array(["vendor", "local", "never"])).tolist() == [
        FLAGGED, NOT_ASSESSED, NOT_ASSESSED,
    ]  # fmt: skip
    # a download from inside the lab's network shows the file on the server: clear
    inside = _links([("vendor", 22, "L02_mig_complet.csv", 30, "download", False, "c", 5)])
    assert retrieval_flags(inside, np.array(["vendor"])).tolist() == [CLEAR]
    # "I": an aborted download (completion i) is no copy; the file was on the server
    i = _links([("vendor", 22, "L02_mig_complet.csv", 22.5, "upload", False, "c", 3),
                ("vendor", 22, "L02_mig_complet.csv", 26, "download", True, "i", 4)])  # fmt: skip
    assert retrieval_flags(i, np.array(["vendor"])).tolist() == [CLEAR]
    # no transfer log, or no link: nothing the log can say
    assert retrieval_flags(None, ids).tolist() == [NOT_ASSESSED] * 6
    assert retrieval_flags(g2.iloc[:0], ids).tolist() == [NOT_ASSESSED] * 6


def _lab_with(register, retrieval):
    d = _lab("L01", 4, _ops([("E", "vendor", _hours(4.2), 4), ("F", "insider", _hours(4.7), 4),
                             ("G", "insider", _hours(9.5), 9)]), horizon_h=4.0)  # fmt: skip
    if register is not None:
        d.register = np.array(register, dtype=np.int8)
        d.register_counts = (1, 10)
    if retrieval is not None:
        d.ops["retrieval"] = np.array(retrieval, dtype=np.int8)
        d.retrieval_counts = (1, 10)
    return d


def test_the_retrieval_alone_weighs_as_the_register_does():
    # E's output fetched from outside, F's not, G not assessed: the same factors as the
    # register's test (E x 5.5, F x 0.611111): vendor against insider log10 1.253669, of
    # which the content 0.300049
    r = lab_conclusion(_lab_with(None, [FLAGGED, CLEAR, NOT_ASSESSED]), None, SIGHT, PA,
                       _default())  # fmt: skip
    assert r["proposition"] == "vendor" and r["alternative"] == "insider"
    assert r["log10_lr"] == pytest.approx(1.253669, abs=1e-5)
    a = r["activity"]
    assert a["statuses"] == ["retrieval"] and "operations_assessed" not in a
    assert (a["operations_fetched_outside"], a["operations_retrieval_assessed"]) == (1, 10)
    assert a["best_operation"]["vendor"] == {"retrieval": "fetched from outside",
                                             "log10_factor": pytest.approx(math.log10(5.5))}  # fmt: skip
    assert "the leading proposition's best operation fetched from outside" in r["reason"]
    assert "1 of the lab's 10 assessed comparable operations fetched from outside" in r["reason"]


def test_an_authorised_output_fetched_from_outside_against_an_unregistered_export():
    # The regulator's scenario in miniature: E (the vendor's migration) authorised and its
    # file fetched anonymously from outside; F (a staff export) unregistered and not
    # fetched. E: register p0 = (1 + 1) / (9 + 2) = 2/11, factor 0.5 / (9/11) = 11/18;
    # retrieval p1 = 1/11, factor 5.5: 11/18 x 5.5 = 3.361111. F: 5.5 x 11/18, the same.
    # The two statuses point opposite ways and cancel: E and F, which the content cannot
    # tell apart, stay tied (each log10 -0.043648 + log10 3.361111 = 0.482835): no source
    # named, as the regulator could name none. The register alone named the staff member.
    both = _lab_with([CLEAR, FLAGGED, NOT_ASSESSED], [FLAGGED, CLEAR, NOT_ASSESSED])
    r = lab_conclusion(both, None, SIGHT, PA, _default())
    assert r["proposition"] == "undetermined" and r["log10_lr"] == 0.0
    assert r["log10_likelihoods"]["vendor"] == pytest.approx(0.482835, abs=1e-5)
    assert r["log10_likelihoods"]["insider"] == pytest.approx(0.482835, abs=1e-5)
    assert "the leaked set cannot tell vendor from insider" in r["reason"]
    # the content's part is the content-only run's (a tie, 0), the statuses' part 0
    assert r["log10_lr_content"] == 0.0
    assert "content log10 0.00 and the operations' statuses log10 0.00" in r["reason"]
    e = r["activity"]["best_operation"]["vendor"]
    assert e == {"register": "authorised", "retrieval": "fetched from outside",
                 "log10_factor": pytest.approx(math.log10(11 / 18 * 5.5))}  # fmt: skip
    assert r["activity"]["best_operation"]["insider"]["register"] == "not authorised"
    assert "best operation authorised, fetched from outside" in r["reason"]
    # the register alone: the unregistered staff export leads
    reg = lab_conclusion(_lab_with([CLEAR, FLAGGED, NOT_ASSESSED], None), None, SIGHT, PA,
                         _default())  # fmt: skip
    assert reg["leading"] == "insider"
    lim = activity_limit([{"lab": "L01", "activity": r["activity"]}])
    assert lim.startswith("the operations' statuses are weighed apart from the leak's content")
    assert "the authorisation register's statuses for L01:" in lim
    assert "(the transfer log) for L01:" in lim


def test_attach_counts_the_comparable_operations_only():
    d = _lab_with(None, None)
    d.ops.loc[2, "kind"] = "consultations"  # G: an account's reads, never assessed
    d.ops["retrieval"] = np.array([FLAGGED, CLEAR, CLEAR], dtype=np.int8)
    prep = {"labs": {"L01": d}}
    attach(prep, None)
    assert d.retrieval_counts == (1, 2) and d.register is None
    # no operation assessable (no transfer log, or no file named): nothing attached
    d2 = _lab_with(None, None)
    d2.ops["retrieval"] = np.full(3, NOT_ASSESSED, dtype=np.int8)
    attach({"labs": {"L01": d2}}, None)
    assert d2.retrieval_counts is None
