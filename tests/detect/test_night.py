"""Night work as a habit (labforensics.features.night): the account's own earlier nights,
its colleagues' on-call rota (at any lab), a service account's usual work; vendors
unchanged; the per-lab engine equal to the whole case."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labforensics.case import CaseContext
from labforensics.engine import LabSettings, lab_stage, split_by_lab
from labforensics.engine.lab import apply_peer_summaries, concat_features, merge_summaries
from labforensics.features import FeatureParams, build_features
from labforensics.features.night import colleague_nights, night_of, own_earlier_nights
from labforensics.sessions import SessionParams, sessionize

from .conftest import make_events

CASE = CaseContext(tz="Europe/Paris")
D0 = pd.Timestamp("2021-01-04 08:00")  # a Monday, 09:00 Paris (winter, UTC+1)


def _night(d: int) -> pd.Timestamp:
    """23:30 Paris (22:30 UTC) on day ``d`` after D0."""
    return D0.normalize() + pd.Timedelta(days=d, hours=22, minutes=30)


def _sitting(account, t, role="BIOLOGISTE", lab="L01", action="read", **kw) -> list[dict]:
    base = dict(account=account, role=role, lab=lab)
    return [
        dict(ts=t, action="login", **base),
        dict(ts=t + pd.Timedelta(minutes=2), action=action, patient="P1", **base, **kw),
        dict(ts=t + pd.Timedelta(minutes=4), action="logout", **base),
    ]


def _days(account, n=20, role="BIOLOGISTE", lab="L01", action="read") -> list[dict]:
    """``n`` working days at 09:00 local."""
    rows = []
    for d in range(n):
        rows += _sitting(account, D0 + pd.Timedelta(days=d), role, lab, action)
    return rows


def _feats(rows, params=None):
    ss = sessionize(make_events(rows))
    return build_features(ss.events, ss.sessions, params or FeatureParams(), case=CASE)


def _nights(f, account, lab="L01"):
    s = f[(f["account"] == account) & (f["lab"] == lab) & (f["night"] == 1)]
    return s.sort_values("start")


def _rota(labs=("L01", "L02", "L03"), nights_per_lab=2):
    """Three biologists a lab with 20 days each; each lab's biologists take
    ``nights_per_lab`` on-call nights, on different nights."""
    rows, k = [], 0
    for lab in labs:
        for b in range(3):
            rows += _days(f"bio{b}", lab=lab)
        for j in range(nights_per_lab):
            rows += _sitting(f"bio{j % 3}", _night(2 + k), lab=lab)
            k += 1
    return rows


def test_night_of_and_own_earlier_nights_by_hand():
    loc = pd.Series(pd.to_datetime(["2021-01-04 23:30", "2021-01-05 01:00", "2021-01-05 09:00",
                                    "2021-01-06 23:00"]).tz_localize("Europe/Paris"))  # fmt: skip
    n = night_of(loc, (21, 6))
    assert [str(x) for x in n] == ["2021-01-04", "2021-01-04", "2021-01-05", "2021-01-06"]
    acct = np.array([0, 0, 0, 0])
    is_night = np.array([True, True, False, True])
    # the same night twice counts once; the third night had one earlier night
    assert own_earlier_nights(acct, is_night, n).tolist() == [0.0, 0.0, 1.0, 1.0]


def test_colleague_nights_by_hand():
    lab = pd.Series(["A", "A", "A", "B", "B"])
    acc = pd.Series(["x", "y", "y", "z", "z"])
    role = pd.Series(["BIO"] * 5)
    nights = np.array(["2021-01-01", "2021-01-01", "2021-01-02", "2021-01-01", "2021-01-03"],
                      dtype="datetime64[D]")  # fmt: skip
    c = colleague_nights(lab, acc, role, nights, np.ones(5, dtype=bool))
    # pairs: (A,01: x,y) (A,02: y) (B,01: z) (B,03: z)
    # x on 01: not 01, not x alone -> (A,02) (B,03) = 2
    # y on 01: (B,03) only ((A,02) is y alone) = 1; y on 02: (A,01) (B,01) (B,03) = 3
    # z on 01: (A,02) = 1; z on 03: (A,01) (A,02) = 2
    assert c.tolist() == [2.0, 1.0, 3.0, 1.0, 2.0]


def test_on_call_rota_across_labs_is_not_unusual():
    # 6 on-call nights over 3 labs, 2 a lab: each night has 5 colleague lab-nights
    ft = _feats(_rota())
    f = ft.session.frame()
    nights = f[f["night"] == 1]
    assert len(nights) == 6
    assert (nights["night_colleague_nights"] == 5).all()
    assert (nights["night_unusual"] == 0).all()
    # a day worker's night with no habit would read 1 - 1/21
    assert (ft.account_day.values["night_unusual"] == 0).all()


def test_too_few_colleague_nights_keep_the_flag():
    # 4 nights over 2 labs: 3 colleague lab-nights each, under min_history (5)
    ft = _feats(_rota(labs=("L01", "L02")))
    nights = ft.session.frame().query("night == 1")
    assert (nights["night_colleague_nights"] == 3).all()
    assert (nights["night_unusual"] > 0.9).all()


def test_a_role_without_night_work_keeps_the_flag():
    # the biologists' rota does not excuse a secretary's night
    rows = _rota() + _days("sec.a", role="SECRETAIRE")
    rows += _sitting("sec.a", _night(15), role="SECRETAIRE")
    f = _feats(rows).session.frame()
    sec = _nights(f, "sec.a")
    assert len(sec) == 1 and sec["night_colleague_nights"].iloc[0] == 0
    assert sec["night_unusual"].iloc[0] > 0.9


def test_own_nights_are_learned_before_the_session_and_never_as_colleagues():
    # one biologist, 7 nights, no colleague at night: its own nights are no rota, and
    # only the nights after five earlier ones are a habit
    rows = _days("bio0") + _days("bio1")
    for d in range(7):
        rows += _sitting("bio0", _night(d))
    f = _feats(rows).session.frame()
    n = _nights(f, "bio0")
    assert (n["night_colleague_nights"] == 0).all()
    assert (n["night_unusual"] > 0).tolist() == [True] * 5 + [False] * 2


def test_service_account_doing_its_usual_work_at_night():
    # an interface transmits by day and once at night; the same account exports at night
    rows = _days("hprim", role="INTERFACE", action="transmit")
    rows += _sitting("hprim", _night(3), role="INTERFACE",
                     action="transmit")  # fmt: skip
    rows += _sitting("hprim", _night(9), role="INTERFACE",
                     action="export", records=40)  # fmt: skip
    f = _feats(rows).session.frame()
    n = _nights(f, "hprim")
    assert n["night_unusual"].tolist()[0] == 0.0  # its usual work
    assert n["night_unusual"].tolist()[1] > 0.9  # other work at night


def test_vendor_night_work_is_never_a_habit():
    # vendor accounts at three labs, six nights: no rota for a processor
    rows = []
    for i, lab in enumerate(("L01", "L02", "L03")):
        rows += _days("hotline", role="EDITEUR", lab=lab)
        for j in range(2):
            rows += _sitting("hotline", _night(2 + 2 * i + j),
                             role="EDITEUR", lab=lab)  # fmt: skip
    f = _feats(rows).session.frame()
    n = f[f["night"] == 1]
    assert len(n) == 6 and (n["night_colleague_nights"] == 0).all()
    assert (n["night_unusual"] > 0.9).all()


def test_lab_by_lab_equals_the_whole_case():
    # the per-lab stage sees one lab's nights; the second pass adds the others' (exact)
    rows = _rota(nights_per_lab=2) + _rota(labs=("L04",), nights_per_lab=1)
    ev = make_events(rows)
    ss = sessionize(ev)
    whole = build_features(ss.events, ss.sessions, FeatureParams(), case=CASE)
    settings = LabSettings(CASE, SessionParams(), FeatureParams())
    parts = [lab_stage(p(), p.lab, settings) for p in split_by_lab(ev)]
    summ = merge_summaries([p.summaries for p in parts])
    # each lab alone: under five colleague nights
    assert all((p.features.session.values["night_unusual"] > 0).any() for p in parts)
    per_lab = concat_features(
        [apply_peer_summaries(p.features, summ, FeatureParams()) for p in parts],
        FeatureParams(), CASE.tz,
    )  # fmt: skip
    for unit, t in whole.tables().items():
        t2 = per_lab.tables()[unit]
        k = list(t.key_columns)
        a = pd.concat([t.keys, t.values], axis=1).sort_values(k).reset_index(drop=True)
        b = pd.concat([t2.keys, t2.values], axis=1).sort_values(k).reset_index(drop=True)
        for c in ("night_unusual", "night_colleague_nights"):
            if c in a:
                assert np.array_equal(a[c].to_numpy(), b[c].to_numpy()), (unit, c)
    s = whole.session.frame()
    assert (s.loc[s["night"] == 1, "night_unusual"] == 0).all()
