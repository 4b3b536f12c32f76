"""build_features on a hand-made case whose values are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labforensics.case import CaseContext
from labforensics.errors import ParameterError, SchemaError
from labforensics.features import FeatureParams, build_features, feature_spec, robust_z
from labforensics.networks import NetworkMap
from labforensics.sessions import sessionize

from .conftest import make_events

PARAMS = FeatureParams(warmup=pd.Timedelta(0), min_lab_patients=1)
CASE = CaseContext(networks=NetworkMap(lab=("10.0.0.0/8",), vendor=("203.0.113.0/24",)))


def _rows() -> list[dict]:
    rows: list[dict] = []
    # bio.h8: six morning sessions (09:00 Paris), 5 patients each; day 6 (a Saturday)
    # from a new address and with 25 patients
    for d in range(6):
        t = pd.Timestamp("2021-03-01 08:00") + pd.Timedelta(days=d)
        ip = "10.0.0.9" if d == 5 else "10.0.0.1"
        npat = 25 if d == 5 else 5
        rows.append(dict(ts=t, account="bio.h8", action="login", src_ip=ip))
        for k in range(npat):
            rows.append(
                dict(
                    ts=t + pd.Timedelta(seconds=10 * k + 10),
                    account="bio.h8",
                    action="read",
                    patient=f"P{d}-{k}",
                    src_ip=ip,
                )
            )
        rows.append(
            dict(ts=t + pd.Timedelta(minutes=10), account="bio.h8", action="logout", src_ip=ip)
        )
    # hotline (vendor): 6 failed logins, then an extraction at 02:14 Paris (01:14 UTC)
    t = pd.Timestamp("2021-03-10 01:14")
    for k in range(6):
        rows.append(
            dict(
                ts=t - pd.Timedelta(minutes=10 - k),
                account="hotline",
                role="EDITEUR",
                action="login_failed",
                outcome="failure",
                src_ip="203.0.113.7",
            )
        )
    rows.append(dict(ts=t, account="hotline", role="EDITEUR", action="login", src_ip="203.0.113.7"))
    rows.append(
        dict(
            ts=t + pd.Timedelta(minutes=2),
            account="hotline",
            role="EDITEUR",
            action="extract",
            module="EXTRACTION",
            records=500,
            bytes=1_000_000,
            src_ip="203.0.113.7",
        )
    )
    # sec.a: 00:30 Paris on 11 March (23:30 UTC on the 10th); then 1 May (holiday) from outside
    rows.append(
        dict(
            ts="2021-03-10 23:30", account="sec.a", role="SECRETAIRE", action="read", patient="P0-0"
        )
    )
    rows.append(
        dict(
            ts="2021-05-01 10:00",
            account="sec.a",
            role="SECRETAIRE",
            action="read",
            patient="P9",
            src_ip="8.8.8.8",
        )
    )
    return rows


@pytest.fixture(scope="module")
def feats():
    ss = sessionize(make_events(_rows()))
    return build_features(ss.events, ss.sessions, PARAMS, case=CASE)


def _by(ft, account: str) -> pd.DataFrame:
    f = ft.session.frame()
    return f[f["account"] == account].sort_values("start").reset_index(drop=True)


def test_tables_keep_keys_apart_from_numeric_features(feats):
    assert len(feats.session) == 9  # 6 + 1 + 2 sessions
    assert list(feats.session.keys.columns) == [
        "session_id",
        "lab",
        "account",
        "account_kind",
        "role",
        "main_module",
        "start",
        "end",
    ]
    # every feature is float64; no identifier or time among them
    assert set(feats.session.values.dtypes.astype(str)) == {"float64"}
    for t in feats.tables().values():
        assert not set(t.keys.columns) & set(t.values.columns)
        assert "start" not in t.values and "account" not in t.values


def test_volumes_share_and_rates(feats):
    bio = _by(feats, "bio.h8")
    assert list(bio["distinct_patients"]) == [5, 5, 5, 5, 5, 25]
    # patients seen at L01 up to each session end: 5, 10, ..., 25, then 50
    assert bio["share_lab_patients"].tolist() == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2, 0.5])
    hot = _by(feats, "hotline").iloc[0]
    assert hot["records_extracted"] == 500 and hot["records_out"] == 500
    assert hot["bytes_out"] == 1_000_000
    # 500 records over the 50 patients seen so far: 10 records per patient, a share
    # capped at 1; the extraction names no patient, so its patient share is 0
    assert hot["records_out_share_lab_raw"] == pytest.approx(10.0)
    assert hot["records_out_share_lab"] == 1.0 and hot["share_lab_patients"] == 0.0
    # 2 min session: 500 records per 120 s = 15,000 records per hour
    assert hot["records_per_hour"] == pytest.approx(15_000.0)


def test_time_features_in_local_time(feats):
    hot = _by(feats, "hotline").iloc[0]
    # 01:14 UTC is 02:14 in Paris (winter, +01:00)
    h = 2 + 14 / 60
    assert hot["hour_sin"] == pytest.approx(math.sin(2 * math.pi * h / 24))
    assert hot["hour_cos"] == pytest.approx(math.cos(2 * math.pi * h / 24))
    assert hot["night"] == 1.0
    bio = _by(feats, "bio.h8")
    assert bio["night"].sum() == 0
    assert bio["weekend"].tolist() == [0, 0, 0, 0, 0, 1]  # 6 March 2021 is a Saturday
    sec = _by(feats, "sec.a")
    assert sec["holiday"].tolist() == [0.0, 1.0]  # 1 May is Fête du Travail
    assert sec["night"].tolist() == [1.0, 0.0]  # 00:30 local


def test_context_networks_and_first_seen(feats):
    hot = _by(feats, "hotline").iloc[0]
    assert (hot["kind_vendor"], hot["role_editeur"], hot["net_vendor"]) == (1.0, 1.0, 1.0)
    assert hot["module_extraction"] == 0.5  # login (RESULTATS default) + extraction
    # failed logins are not the account's history: the address is new in its session
    assert hot["new_src_ip"] == 1.0
    assert hot["failed_logins_before"] == 6
    bio = _by(feats, "bio.h8")
    assert bio["new_src_ip"].tolist() == [1, 0, 0, 0, 0, 1]
    assert bio["net_lab"].tolist() == [1.0] * 6
    assert _by(feats, "sec.a")["net_other"].tolist() == [0.0, 1.0]


def test_warmup_hides_first_seen_early_in_history():
    ss = sessionize(make_events(_rows()))
    ft = build_features(ss.events, ss.sessions, FeatureParams(min_lab_patients=1))
    bio = _by(ft, "bio.h8")
    # default warm-up of 14 days: the account's first days teach, they do not alarm
    assert bio["new_src_ip"].sum() == 0


def test_own_history_baseline(feats):
    bio = _by(feats, "bio.h8")
    # 6 sessions >= min_history 5; median 5, MAD 0 -> minimum scale 1 patient
    assert bio["distinct_patients_z_own"].tolist() == [0, 0, 0, 0, 0, 20]
    assert bio["distinct_patients_z"].tolist() == [0, 0, 0, 0, 0, 20]
    assert bio["distinct_patients_ref"].tolist() == [5] * 6
    # the hotline has a single outbound session: no baseline of its own or of peers
    assert np.isnan(_by(feats, "hotline").iloc[0]["records_out_z"])


def test_account_day_and_month(feats):
    d = feats.account_day.frame()
    sec = d[d["account"] == "sec.a"]
    # 23:30 UTC on 10 March is 00:30 on 11 March in Paris
    assert sec["day"].tolist() == ["2021-03-11", "2021-05-01"]
    m = feats.account_month.frame()
    bio = m[m["account"] == "bio.h8"].iloc[0]
    assert bio["month"] == "2021-03"
    assert (bio["n_sessions"], bio["n_active_days"], bio["distinct_patients"]) == (6, 6, 50)
    assert feats.account_month.key_columns == ("lab", "account", "month")


def test_robust_z_minimum_scale():
    x = pd.Series([600.0] * 12 + [601.0])
    z, med = robust_z(x, None, feature_spec("duration_s").min_scale)
    # MAD 0, scale floored at 60 s: one second is 1/60 of a robust unit
    assert z.iloc[-1] == pytest.approx(1 / 60) and med.iloc[0] == 600.0


def test_feature_specs_by_name():
    assert feature_spec("duration_s").min_scale == 60
    assert feature_spec("records_exported").min_scale == 10
    assert feature_spec("share_lab_patients").min_scale == 0.01
    assert feature_spec("my_records").unit == "records"  # hand-made name
    assert feature_spec("records_out_z_own").unit == "robust z"


def test_bad_inputs():
    with pytest.raises(ParameterError, match="CIDR"):
        NetworkMap(vendor=("not-a-net",))
    with pytest.raises(SchemaError, match="lacks columns"):
        build_features(make_events(_rows()), pd.DataFrame({"session_id": ["x"]}))


def test_without_networks_features_carry_no_network_signal():
    ss = sessionize(make_events(_rows()))
    ft = build_features(ss.events, ss.sessions, FeatureParams(min_lab_patients=1))
    v = ft.session.values
    # no networks given: 10.x, 203.0.113.7 and 8.8.8.8 are all unknown (no RFC 1918 guess)
    assert (v[["net_lab", "net_vendor", "net_other"]] == 0).all().all()


def test_case_networks_used_and_local_is_not_lab():
    rows = [
        dict(ts="2021-03-01 08:00", account="job", action="login", src_ip=None),
        dict(ts="2021-03-01 08:01", account="job", action="read", src_ip="127.0.0.1"),
        dict(ts="2021-03-01 08:02", account="job", action="read", src_ip="10.9.9.9"),
        dict(ts="2021-03-01 08:03", account="job", action="logout", src_ip="srv-backup"),
    ]
    ss = sessionize(make_events(rows))
    nm = NetworkMap(lab=["10.0.0.0/8"])
    ft = build_features(ss.events, ss.sessions, PARAMS, case=CaseContext(networks=nm))
    s = ft.session.values.iloc[0]
    # 4 events: missing + loopback are local, 10.9.9.9 lab, a host name unknown
    assert (s["net_lab"], s["net_vendor"], s["net_other"]) == (0.25, 0.0, 0.0)
