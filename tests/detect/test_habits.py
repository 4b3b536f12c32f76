"""Shares over patients (never above 1), first export of an account, and recurring
jobs learned from their regularity, on hand-built event tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labforensics.case import CaseContext
from labforensics.detect.rules import apply_rules, load_rules, render_reason
from labforensics.features import FeatureParams, build_features
from labforensics.sessions import sessionize

from .conftest import make_events

CASE = CaseContext(tz="Europe/Paris")
D0 = pd.Timestamp("2021-01-04 08:00")  # a Monday, 09:00 Paris (winter, UTC+1)
RULES = {r.id: r for r in load_rules()}


def _reads(account: str, t: pd.Timestamp, patients: list[str], role="BIOLOGISTE") -> list[dict]:
    rows = [dict(ts=t, account=account, role=role, action="login")]
    for k, p in enumerate(patients, 1):
        rows.append(
            dict(ts=t + pd.Timedelta(seconds=5 * k), account=account, role=role, action="read",
                 patient=p)
        )  # fmt: skip
    rows.append(dict(ts=t + pd.Timedelta(minutes=30), account=account, role=role, action="logout"))
    return rows


def _out(account: str, t: pd.Timestamp, records: int, role: str, action="export") -> list[dict]:
    return [
        dict(ts=t, account=account, role=role, action="login"),
        dict(ts=t + pd.Timedelta(minutes=1), account=account, role=role, action=action,
             module="EXTRACTION" if action == "extract" else "FACTURATION", records=records),
        dict(ts=t + pd.Timedelta(minutes=2), account=account, role=role, action="logout"),
    ]  # fmt: skip


def _fire(table, rule_id: str) -> np.ndarray:
    fired, skipped = apply_rules(table.frame(), [RULES[rule_id]], table.unit)
    assert not skipped
    return fired[rule_id]


# --- shares over patients ----------------------------------------------------------------


def test_a_table_without_patients_is_not_a_share_of_patients():
    # 100 patients read on day 0; day 20 a reference table of 639 records (no patient)
    rows = _reads("bio.b", D0, [f"P{i}" for i in range(100)])
    rows += _out("sec.a", D0 + pd.Timedelta(days=20), 639, "SECRETAIRE")
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(min_lab_patients=1), case=CASE)
    f = ft.session.frame().set_index("account")
    # no patient named: 0 % of the patients; 639 records per 100 known patients: 6.39,
    # capped at 1 as a share
    assert f.loc["sec.a", "share_lab_patients"] == 0.0
    assert f.loc["sec.a", "records_out_share_lab_raw"] == pytest.approx(6.39)
    assert f.loc["sec.a", "records_out_share_lab"] == 1.0
    assert f.loc["sec.a", "lab_patients"] == 100
    assert f.loc["bio.b", "share_lab_patients"] == 1.0  # 100 of the 100 patients
    # no share above 1 in any table
    for t in ft.tables().values():
        shares = [c for c in t.values.columns if "share" in c and not c.endswith("_raw")]
        assert shares and (t.values[shares].to_numpy() <= 1.0).all(), t.unit


# --- first export ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def first_feats():
    day = pd.Timedelta(days=1)
    rows = _reads("bio.b", D0, [f"P{i}" for i in range(300)])
    # sec.a: reads from day 0, then a first export of 800 records on day 20, 10 on day 25
    rows += _reads("sec.a", D0 + pd.Timedelta(hours=1), ["P1"], role="SECRETAIRE")
    rows += _out("sec.a", D0 + 20 * day, 800, "SECRETAIRE")
    rows += _out("sec.a", D0 + 25 * day, 10, "SECRETAIRE")
    # tech.c: a first export on day 3, inside the 14-day warm-up (may not be its first)
    rows += _out("tech.c", D0 + 3 * day, 900, "TECHNICIEN")
    # adm.e: exports of 600 records every week (a series, not a first export)
    for w in range(3, 8):
        rows += _out("adm.e", D0 + 7 * w * day, 600, "ADMIN_LABO")
    ss = sessionize(make_events(rows))
    return build_features(ss.events, ss.sessions, FeatureParams(), case=CASE)


def test_first_outbound_after_warmup(first_feats):
    f = first_feats.session.frame().sort_values("start")
    sec = f[(f["account"] == "sec.a") & (f["records_out"] > 0)]
    # the day-20 export is sec.a's first; the day-25 one is not; 2 exports in all
    assert sec["first_outbound"].tolist() == [1.0, 0.0]
    assert sec["n_outbound_account"].tolist() == [2.0, 2.0]
    # 800 records over the 300 patients known so far: 2.67, capped at 1
    assert sec["records_out_share_lab"].iloc[0] == 1.0
    assert sec["records_out_share_lab_raw"].iloc[0] == pytest.approx(800 / 300)
    # tech.c's first export falls in the lab's 14-day warm-up: not counted
    assert f.loc[f["account"] == "tech.c", "first_outbound"].tolist() == [0.0]
    # the day rolls it up
    d = first_feats.account_day.frame()
    assert d.loc[(d["account"] == "sec.a") & (d["day"] == "2021-01-24"), "first_outbound"].item()


def test_staff_first_bulk_export_rule(first_feats):
    t = first_feats.session
    fired = _fire(t, "staff_first_bulk_export")
    hit = t.frame()[fired]
    # only sec.a's 800-record first export: tech.c's is in the warm-up, adm.e's is
    # a series of 5, sec.a's second export is not a first
    assert hit["account"].tolist() == ["sec.a"] and hit["records_out"].tolist() == [800]
    assert render_reason(RULES["staff_first_bulk_export"], hit.iloc[0].to_dict()) == (
        "first export or extraction of 500 records or more by this account: 800 records, "
        "against 300 patients seen at the lab so far; no earlier export or extraction in "
        "these logs"
    )


# --- recurring jobs ----------------------------------------------------------------------


def _nightly(account: str, days: int, hour_of=lambda d: 1.0 + 40 / 60, action_of=None):
    """A job session each night: login, purge, extraction of 200 records, read, logout."""
    rows = []
    for d in range(days):
        local = pd.Timestamp("2021-01-05") + pd.Timedelta(days=d, hours=hour_of(d))
        t = local - pd.Timedelta(hours=1)  # Paris is UTC+1 in January
        act = action_of(d) if action_of else "extract"
        for k, a in enumerate(["login", "purge", act, "read", "logout"]):
            rows.append(
                dict(ts=t + pd.Timedelta(minutes=20 * k), account=account, role="ADMIN_LABO",
                     action=a, module="ADMIN", host="SRV-L01", src_ip="127.0.0.1",
                     records=200 if a in ("extract", "export") else None)
            )  # fmt: skip
    return rows


def _job_feats(rows):
    rows = rows + _reads("bio.b", D0, [f"P{i}" for i in range(150)])
    ss = sessionize(make_events(rows))
    return build_features(ss.events, ss.sessions, FeatureParams(), case=CASE)


def test_nightly_job_coded_extraction_is_routine():
    # 30 nights at 01:40 local, one night coded export instead of extraction: the same job
    ft = _job_feats(
        _nightly("batch.nuit", 30, action_of=lambda d: "export" if d == 7 else "extract")
    )
    f = ft.session.frame()
    job = f[f["account"] == "batch.nuit"]
    assert len(job) == 30 and (job["regular_job"] == 1).all()
    # 200 records against 150 known patients, at night: without regular_job == 0 the
    # mass-extraction rule would fire on every night
    assert (job["records_out_share_lab"] >= 0.5).all() and (job["night"] == 1).all()
    assert not _fire(ft.session, "mass_extraction").any()
    assert not _fire(ft.account_day, "patients_far_above_peers_day").any()


def test_the_same_extraction_at_scattered_hours_is_not_a_job():
    # same sessions, start hours spread over the night (21:00 to 05:00): not a schedule
    hours = [21, 23, 1, 3, 5]
    ft = _job_feats(_nightly("batch.nuit", 30, hour_of=lambda d: hours[d % 5]))
    f = ft.session.frame()
    job = f[f["account"] == "batch.nuit"]
    assert (job["regular_job"] == 0).all()
    assert _fire(ft.session, "mass_extraction")[job.index].all()


def test_a_job_account_used_at_another_hour_is_not_excused():
    # 29 regular nights, and one session at 14:00 local: that one is not the job
    ft = _job_feats(_nightly("batch.nuit", 30, hour_of=lambda d: 14.0 if d == 12 else 1 + 40 / 60))
    f = ft.session.frame()
    job = f[f["account"] == "batch.nuit"].sort_values("start")
    assert job["regular_job"].tolist() == [0.0 if i == 12 else 1.0 for i in range(30)]


def test_too_few_days_is_not_a_job():
    # 10 nights: under the 14 active days a schedule needs
    ft = _job_feats(_nightly("batch.nuit", 10))
    f = ft.session.frame()
    assert (f.loc[f["account"] == "batch.nuit", "regular_job"] == 0).all()
