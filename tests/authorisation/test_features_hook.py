"""The detection hook: per-session authorisation features and their roll-ups."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labforensics.authorisation import assess_exports, read_authorisations
from labforensics.case import CaseContext
from labforensics.features import build_features
from labforensics.features.authorisation import session_authorisation_features
from labforensics.sessions import sessionize

from .conftest import make_events, write_register


def test_session_features_by_hand():
    ex = pd.DataFrame(
        {
            "session_id": ["s1", "s1", "s2", "s3", None],
            "status": ["beyond", "authorised", "unknown", "unregistered", "beyond"],
            "records": pd.array([100, 50, 30, pd.NA, 7], dtype="Int64"),
        }
    )
    f = session_authorisation_features(ex)
    assert f.index.tolist() == ["s1", "s2", "s3"]  # the operation without a session: none
    assert f.loc["s1", ["ops_beyond", "ops_authorised", "records_beyond"]].tolist() == [1, 1, 100]
    # records not authorised: s1 only its beyond 100; s2 unknown 30; s3 count missing -> 0
    assert f["records_not_authorised"].tolist() == [100.0, 30.0, 0.0]
    assert f.loc["s3", "ops_unregistered"] == 1 and (f.dtypes == "float64").all()


def _rows():
    mig = {"account": "migr.a", "role": "EDITEUR", "account_kind": "vendor", "module": "EXTRACTION",
           "action": "extract", "host": "m"}  # fmt: skip
    return [
        {"t": "2020-03-02 10:00", "records": 10, **mig},  # authorised (window, <= 20)
        {"t": "2020-03-09 10:00", "records": 30, **mig},  # beyond: 30 > 20
        {"t": "2020-03-16 10:00", "records": 15, **mig},  # beyond: 10 authorised + 15 > 20
        {"t": "2020-03-17 10:00", "account": "tech.a", "action": "read", "patient": "P1"},
    ]


def test_build_features_with_and_without_exports(tmp_path):
    case = CaseContext()
    ss = sessionize(make_events(_rows()))
    reg = read_authorisations(
        write_register(tmp_path, ["T;L07;migr.*;migration;2020-03-01;;;20;;"]), case
    )
    ex = assess_exports(ss.events, ss.sessions, register=reg, case=case)
    assert ex["status"].tolist() == ["authorised", "beyond", "beyond"]
    ft = build_features(ss.events, ss.sessions, case=case, exports=ex)
    v = ft.session.frame().set_index("session_id")
    got = v.loc[ex["session_id"], ["ops_authorised", "ops_beyond", "records_not_authorised"]]
    assert got.to_numpy().tolist() == [[1, 0, 0], [0, 1, 30], [0, 1, 15]]
    m = ft.account_month.frame()
    mm = m[m["account"] == "migr.a"].iloc[0]
    # March: 2 sessions with records not authorised (30 + 15), 1 beyond-op each
    assert (mm["n_unauthorised_outbound_sessions"], mm["records_not_authorised"]) == (2, 45)
    assert (mm["ops_beyond"], mm["records_beyond"]) == (2, 45)
    d = ft.account_day.frame()
    assert d.loc[d["account"] == "migr.a", "records_not_authorised"].tolist() == [0, 30, 15]
    # without the table: every record is not authorised (status unknown), as before
    ft0 = build_features(ss.events, ss.sessions, case=case)
    s0 = ft0.session.values
    assert np.array_equal(s0["records_not_authorised"], s0["records_out"])
    assert (s0["ops_beyond"] == 0).all()
    m0 = ft0.account_month.values
    assert np.array_equal(
        ft0.account_month.values["n_unauthorised_outbound_sessions"], m0["n_outbound_sessions"]
    )
