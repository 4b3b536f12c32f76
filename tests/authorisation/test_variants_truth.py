"""Statuses against the generator's own register truth (synth variants, issue 14 item 6):
every export and extraction gets the status the truth gives it."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labforensics import synth
from labforensics.authorisation import assess_exports
from labforensics.case import load_case
from labforensics.ingest import read_evidence
from labforensics.leak.patients import read_patient_index
from labforensics.privacy import CaseKey
from labforensics.sessions import sessionize

KEY = CaseKey(bytes(range(32)))


def _run(tmp_path, variant, seed, *, index):
    out = tmp_path / f"{variant}_{seed}"
    extra = {"linkage": True, "linkage_scenario": "before_logs"} if index else {}
    synth.generate(out, labs=3, start="2019-06-01", end="2019-10-31", seed=seed, scale=0.2,
                   variant=variant, hostile=False, artefacts=False, **extra)  # fmt: skip
    case = load_case(out / "case.toml")  # the register the generator wrote, by the case file
    ev = read_evidence(out / "evidence", case_key=KEY, progress=False, case=case)
    ss = sessionize(ev.events)
    idx = read_patient_index(out / "patients", case, case_key=KEY).people if index else None
    ex = assess_exports(ss.events, ss.sessions, register=case.authorisations, case=case,
                        patient_index=idx)  # fmt: skip
    truth = pd.DataFrame(
        json.loads((out / "truth.json").read_text(encoding="utf-8"))["exports_truth"]
    )
    truth["ts"] = pd.to_datetime(truth["ts"], utc=True)
    m = ex.merge(truth, on=["lab", "account", "ts"], how="outer", suffixes=("", "_t"),
                 indicator=True)  # fmt: skip
    return ex, m


@pytest.mark.parametrize(("variant", "seed"), [("authorised_migrations", 5), ("hotline_night", 4)])
def test_every_status_as_the_truth(tmp_path, variant, seed):
    ex, m = _run(tmp_path, variant, seed, index=False)
    assert (m["_merge"] == "both").all()  # the same operations, one to one
    assert m["status"].astype(str).tolist() == m["status_t"].astype(str).tolist()
    if variant == "authorised_migrations":
        # seed 5: two overlapping support tickets; each one's budget counts what it authorised
        # (the truth's 'ticket' names the authorising row)
        auth = m[m["status"] == "authorised"]
        assert auth["ticket"].astype(str).tolist() == auth["ticket_t"].astype(str).tolist()
    else:
        assert (ex["status"] == "unregistered").sum() >= 10  # the low-and-slow campaign


def test_beyond_scope_count_with_the_index(tmp_path):
    # seed 4: a migration extraction of every registered patient (757) beyond its ticket's
    # scope; with the patient index (DATE_CREATION) the certain count equals the truth's
    ex, m = _run(tmp_path, "beyond_scope", 4, index=True)
    assert m["status"].astype(str).tolist() == m["status_t"].astype(str).tolist()
    b = m[m["status"] == "beyond"].iloc[0]
    assert b["record_unit"] == "patient" and b["records"] == 757
    assert b["out_of_scope_min"] == b["out_of_scope"] == 578
