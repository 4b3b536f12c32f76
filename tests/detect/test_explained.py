"""Explained patient accesses (Fabbri & LeFevre) on hand-built event tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labforensics.case import CaseContext
from labforensics.detect.rules import apply_rules, load_rules, render_reason
from labforensics.errors import ParameterError
from labforensics.features import FeatureParams, build_features
from labforensics.sessions import sessionize

from .conftest import make_events

CASE = CaseContext(tz="UTC")
D0 = pd.Timestamp("2021-01-04 09:00")  # a Monday


def _session(account: str, role: str, t: pd.Timestamp, acts: list[tuple]) -> list[dict]:
    """login, the given (action, patient[, module]) one minute apart, logout."""
    rows = [dict(ts=t, account=account, role=role, action="login")]
    for k, a in enumerate(acts, 1):
        rows.append(
            dict(
                ts=t + pd.Timedelta(minutes=k),
                account=account,
                role=role,
                action=a[0],
                patient=a[1],
                module=a[2] if len(a) > 2 else "RESULTATS",
                request="R-" + a[1] if a[0] == "update" else None,
            )
        )
    rows.append(
        dict(
            ts=t + pd.Timedelta(minutes=len(acts) + 1), account=account, role=role, action="logout"
        )
    )
    return rows


def _rows(routine: bool = True) -> list[dict]:
    day = pd.Timedelta(days=1)
    rows: list[dict] = []
    if routine:
        # day 0: the lab's routine work, so that its routine rate is measured: a
        # secretary enters 99 requests (Q1-Q99), which four technicians each read that
        # morning (all explained: the median account reads 99 patients, 0 unexplained)
        qs = [f"Q{i}" for i in range(1, 100)]
        rows += _session("sec.q", "SECRETAIRE", D0 - pd.Timedelta(hours=8),
                         [("update", q, "SAISIE") for q in qs])  # fmt: skip
        for k, who in enumerate(("tech.e", "tech.f", "tech.g", "tech.h")):
            rows += _session(who, "TECHNICIEN", D0 - pd.Timedelta(hours=6 - k),
                             [("read", q) for q in qs])  # fmt: skip
    # day 0: the secretary enters PA's request; the technician handles PB
    rows += _session("sec.a", "SECRETAIRE", D0, [("update", "PA", "SAISIE")])
    rows += _session("tech.c", "TECHNICIEN", D0 + pd.Timedelta(hours=2), [("update", "PB")])
    rows += _session("doc.d", "BIOLOGISTE", D0 + pd.Timedelta(hours=3), [("read", "PA")])
    # day 1: bio.b reads PA (request the day before: explained) and three neighbours
    # with no request anywhere (unexplained)
    rows += _session(
        "bio.b",
        "BIOLOGISTE",
        D0 + day,
        [("read", "PA"), ("read", "N1"), ("read", "N2"), ("read", "N3"), ("read", "N1")],
    )
    # day 20: tech.c reads PB, whose only clinical event is 20 days old but which tech.c
    # handled itself (explained); day 34: bio.b reads PB too (unexplained: 34 days after
    # the update, 14 days after tech.c's read, beyond the 3-day and the 10-day windows)
    rows += _session("tech.c", "TECHNICIEN", D0 + 20 * day, [("read", "PB")])
    rows += _session("bio.b", "BIOLOGISTE", D0 + 34 * day, [("read", "PB")])
    return rows


@pytest.fixture(scope="module")
def feats():
    ss = sessionize(make_events(_rows()))
    params = FeatureParams(explain_window="3D", warmup="0s")
    return build_features(ss.events, ss.sessions, params, case=CASE)


def _row(table, account: str, when: str):
    f = table.frame()
    col = "start" if "session_id" in f else "day"
    f = f[f["account"] == account]
    if col == "start":
        return f[f["start"].dt.strftime("%Y-%m-%d") == when].iloc[0]
    return f[f["day"] == when].iloc[0]


def test_request_the_day_before_explains_and_neighbours_do_not(feats):
    r = _row(feats.session, "bio.b", "2021-01-05")
    # PA (request entered the day before) is explained; N1, N2, N3 have no clinical event
    assert r["accessed_patients"] == 4 and r["unexplained_patients"] == 3
    assert r["unexplained_share"] == pytest.approx(0.75)
    assert r["explain_window_days"] == 3.0 and r["explain_usable"] == 1.0
    # lab's routine rate: the median account (of doc.d 1 read, tech.c 1, bio.b 6 and the
    # four readers 99 each) reads 99 patients, none unexplained; its 95 % upper bound is
    # 1 - 0.05 ** (1 / 99) = 2.98 % (Clopper-Pearson with k = 0): P(X >= 3 | n=4, p=r)
    r_lab = 1 - 0.05 ** (1 / 99)
    p = 4 * r_lab**3 * (1 - r_lab) + r_lab**4
    assert r["unexplained_p"] == pytest.approx(p)
    assert feats.notes["explain_labs"].set_index("lab").loc["L01", "unexplained_rate"] == (
        pytest.approx(r_lab)
    )


def test_the_account_that_handled_the_request_explains_it(feats):
    # 20 days after its own update, tech.c's read of PB is explained; bio.b's is not
    tech = _row(feats.session, "tech.c", "2021-01-24")
    bio = _row(feats.session, "bio.b", "2021-02-07")
    assert tech["accessed_patients"] == 1 and tech["unexplained_patients"] == 0
    assert bio["accessed_patients"] == 1 and bio["unexplained_patients"] == 1
    assert bio["unexplained_p"] == pytest.approx(1 - 0.05 ** (1 / 99))


def test_account_day_counts_and_notes(feats):
    d = _row(feats.account_day, "bio.b", "2021-01-05")
    assert (d["accessed_patients"], d["unexplained_patients"]) == (4, 3)
    w = feats.notes["explain_window"]
    assert set(w["basis"]) == {"fixed"} and set(w["window_days"]) == {3.0}
    labs = feats.notes["explain_labs"].set_index("lab")
    # accesses: doc.d 1, bio.b 5 + 1, tech.c 1, the four readers 4 x 99 = 404 reads;
    # clinical events: 2 + 99 updates
    assert labs.loc["L01", "accesses"] == 404 and labs.loc["L01", "clinical_events"] == 101
    assert labs.loc["L01", "median_accesses"] == 99


def test_unexplained_rule_fires_with_a_reason_for_a_reader(feats):
    rules = {r.id: r for r in load_rules()}
    f = feats.session.frame()
    fired, skipped = apply_rules(f, [rules["unexplained_patients"]], "session")
    assert not skipped
    hit = f[fired["unexplained_patients"]]
    # only bio.b's day-1 session: 3 of 4 unexplained, p = 0.0001 <= 0.01; pooled over
    # a week either side the same 3 of 4 (bio.b's next read is 33 days later): <= 0.001
    assert hit["account"].tolist() == ["bio.b"] and len(hit) == 1
    text = render_reason(rules["unexplained_patients"], hit.iloc[0].to_dict())
    assert text == (
        "3 of 4 patients read have no request, sample or result at this lab within 3 days "
        "(3 of 4 patient reads by this account within a week either side)"
    )


def test_lab_without_clinical_events_gives_no_signal():
    # reads only: nothing can explain them, so nothing is counted as unexplained
    rows = _session("bio.b", "BIOLOGISTE", D0, [("read", "N1"), ("read", "N2"), ("read", "N3")])
    rows += _session("bio.b", "BIOLOGISTE", D0 + pd.Timedelta(days=40), [])  # logs > window
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(warmup="0s"), case=CASE)
    r = ft.session.values.iloc[0]
    assert r["explain_usable"] == 0 and r["unexplained_patients"] == 0
    assert r["accessed_patients"] == 3
    assert not bool(ft.notes["explain_labs"]["usable"].iloc[0])


def test_auto_window_is_the_median_account_99th_percentile_of_staff_gaps():
    # 3 technicians read patients entered at D0: tech.1 after 1, 2, ..., 100 h (its
    # 99th percentile, linear, 1 + 0.99 * 99 = 99.01 h), tech.2 after 2, 4, ..., 200 h
    # (198.02 h), tech.3 after 0.5, 1, ..., 50 h (49.505 h): median 99.01 h
    rows = []
    for a, step in (("tech.1", 1.0), ("tech.2", 2.0), ("tech.3", 0.5)):
        for i in range(100):
            p = f"{a}-P{i}"
            rows.append(dict(ts=D0, account="sec.a", role="SECRETAIRE", action="update", patient=p))
            rows.append(
                dict(
                    ts=D0 + pd.Timedelta(hours=step * (i + 1)),
                    account=a,
                    role="TECHNICIEN",
                    action="read",
                    patient=p,
                )
            )
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(warmup="0s"), case=CASE)
    w = ft.notes["explain_window"].set_index("role")
    assert w.loc["TECHNICIEN", "basis"] == "role" and w.loc["TECHNICIEN", "n_gaps"] == 300
    assert w.loc["TECHNICIEN", "window_days"] == pytest.approx(99.01 / 24)
    # the secretary's role has no gap of its own: the lab's median (the same accounts)
    assert w.loc["SECRETAIRE", "basis"] == "lab"
    # beyond 99.01 h: tech.1's last read (100 h) and tech.2's reads at 100 h and more
    # (i = 49..99: 51 reads); tech.3's all lie within
    assert ft.session.values["unexplained_patients"].sum() == 1 + 51


def test_one_or_two_accounts_do_not_set_the_window():
    # one technician with 100 gaps: a median over one account is that account alone
    rows = []
    for i in range(100):
        rows.append(
            dict(ts=D0, account="sec.a", role="SECRETAIRE", action="update", patient=f"P{i}")
        )
        rows.append(
            dict(ts=D0 + pd.Timedelta(hours=i + 1), account="tech.c", role="TECHNICIEN",
                 action="read", patient=f"P{i}")
        )  # fmt: skip
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(warmup="0s"), case=CASE)
    w = ft.notes["explain_window"]
    assert set(w["basis"]) == {"max"} and set(w["window_days"]) == {30.0}


def test_small_evidence_uses_the_cap_and_the_cap_is_a_knob(feats):
    ss = sessionize(make_events(_rows(routine=False)))
    ft = build_features(
        ss.events, ss.sessions, FeatureParams(warmup="0s", explain_window_max="10D"), case=CASE
    )
    w = ft.notes["explain_window"]
    # fewer than 100 staff gaps: the cap, 10 days
    assert set(w["basis"]) == {"max"} and set(w["window_days"]) == {10.0}
    # with 10 days, bio.b's read of PB (34 days after its update, 14 after tech.c's
    # read) is still unexplained
    bio = _row(ft.session, "bio.b", "2021-02-07")
    assert bio["unexplained_patients"] == 1


@pytest.mark.parametrize("bad", ["automatic", 3, "0s", "-1D"])
def test_window_knob_refuses_bad_values(bad):
    with pytest.raises(ParameterError, match="explain_window"):
        FeatureParams(explain_window=bad)


def test_a_colleague_reading_the_patient_nearby_explains_the_access():
    # no clinical event for PC or PD; tech.c (staff) reads PC at D0, sec.a reads PC and
    # PD 2 days later: PC is explained by the colleague (2 days <= 3), PD by nobody;
    # hotline.e (vendor, not a colleague) read PD the same day: no explanation; tech.c's
    # own second read of PC 10 days later: its own earlier read does not explain it, and
    # sec.a's read is 8 days away (> 3)
    day = pd.Timedelta(days=1)
    rows = _session("tech.c", "TECHNICIEN", D0, [("read", "PC"), ("update", "PE")])
    rows += _session("hotline.e", "EDITEUR", D0 + 2 * day - pd.Timedelta(hours=2),
                     [("read", "PD")])  # fmt: skip
    rows += _session("sec.a", "SECRETAIRE", D0 + 2 * day, [("read", "PC"), ("read", "PD")])
    rows += _session("tech.c", "TECHNICIEN", D0 + 10 * day, [("read", "PC")])
    ev = make_events(rows)
    ev.loc[ev["account"] == "hotline.e", "account_kind"] = "vendor"
    ss = sessionize(ev)
    ft = build_features(
        ss.events, ss.sessions, FeatureParams(explain_window="3D", warmup="0s"), case=CASE
    )
    sec = _row(ft.session, "sec.a", "2021-01-06")
    assert (sec["accessed_patients"], sec["unexplained_patients"]) == (2, 1)
    late = _row(ft.session, "tech.c", "2021-01-14")
    assert (late["accessed_patients"], late["unexplained_patients"]) == (1, 1)


def test_nearest_other_account_gap_by_hand():
    from labforensics.features.explained import _nearest_other_gap

    # key 0: account 1 at t 0 and 10, account 2 at 100, account 1 at 105; key 1: 1 at 0,
    # 2 at 50. Nearest other account: 100, 90, 5, 5 (key 0); 50, 50 (key 1)
    key = np.array([0, 0, 0, 0, 1, 1])
    acc = np.array([1, 1, 2, 1, 1, 2])
    t = np.array([0, 10, 100, 105, 0, 50])
    ones = np.ones(6, dtype=bool)
    assert _nearest_other_gap(key, acc, t, ones, ones).tolist() == [100, 90, 5, 5, 50, 50]
    # only account 2's events as anchors: account 2 itself has no other anchor (NaN)
    got = _nearest_other_gap(key, acc, t, ones, acc == 2)
    assert np.array_equal(got, [100, 90, np.nan, 5, 50, np.nan], equal_nan=True)


def test_lab_signal_of_labs_not_in_the_table_is_not_usable_without_a_warning():
    import warnings

    from labforensics.features.explained import lab_signal

    labs = pd.DataFrame({"lab": ["L01"], "usable": [True], "unexplained_rate": [0.05]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas 3 refused a bool fill of a float column
        usable, rate = lab_signal(labs, pd.Series(["L09", "L08"]))
        assert usable.tolist() == [False, False] and np.isnan(rate).all()
        usable, rate = lab_signal(labs, pd.Series(["L09", "L01"]))
        assert usable.tolist() == [False, True] and rate[1] == 0.05


def test_routine_rate_by_hand():
    from labforensics.features.explained import routine_rate

    share = np.array([0.0, 0.0, 0.2, 1.0, np.nan])
    n = np.array([6.0, 99.0, 500.0, 40.0, np.nan])
    r = routine_rate(share, n)
    # 6 reads, none unexplained: the bound 1 - 0.05 ** (1/6) = 39 % says nothing, the
    # 6 % floor stays; 99 reads, none unexplained: the bound 1 - 0.05 ** (1/99) = 2.98 %;
    # a lab at 20 % keeps its own share (above the floor); every read unexplained: 100 %;
    # no access: the floor
    assert r == pytest.approx([0.06, 1 - 0.05 ** (1 / 99), 0.2, 1.0, 0.06])


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0.0, 1.0, allow_nan=False),
    st.floats(1.0, 1e6, allow_nan=False),
)
def test_routine_rate_between_the_share_and_the_floor(share, n):
    from labforensics.features.explained import routine_rate

    r = float(routine_rate(np.array([share]), np.array([n]))[0])
    # never below the lab's own share, never above the old rule's max(share, 6 %)
    assert share - 1e-12 <= r <= max(share, 0.06) + 1e-12


def test_explanation_summary_by_hand(feats):
    from labforensics.features.explained_summary import RATE_BASES, explanation_summary

    rows = explanation_summary(feats.notes["explain_labs"], feats.notes["explain_window"])
    assert [r["lab"] for r in rows] == ["L01"]
    r = rows[0]
    # 404 reads, 101 clinical events; the median account (of 7) reads 99, all explained:
    # the rate is the lab's own bound, 1 - 0.05 ** (1/99), below the 6 % floor
    assert (r["patient_reads"], r["clinical_events"], r["median_account_reads"]) == (404, 101, 99)
    assert r["explanation_signal"] is True and r["median_account_explained_share"] == 1.0
    assert r["routine_rate"] == round(1 - 0.05 ** (1 / 99), 6)
    assert r["rate_basis"] == "bound" and r["rate_basis_text"] == RATE_BASES["bound"]
    # the fixed 3-day window of every role that read (sorted by role)
    assert {w["basis"] for w in r["windows"]} == {"fixed"}
    assert {w["days"] for w in r["windows"]} == {3.0}
    assert [w["role"] for w in r["windows"]] == sorted(w["role"] for w in r["windows"])
    # the same lab given twice (two account batches' notes) counts once
    twice = pd.concat([feats.notes["explain_labs"]] * 2, ignore_index=True)
    assert explanation_summary(twice, feats.notes["explain_window"]) == rows
    assert explanation_summary(feats.notes["explain_labs"].iloc[:0], None) == []


def _snoop_log(days_after: int) -> pd.DataFrame:
    """A lab's routine (a request entered, read by three colleagues) and bio.b reading
    four patients nobody works on, then (``days_after`` > 0) a login that many days on."""
    rows = _session("sec.a", "SECRETAIRE", D0, [("update", "PA", "SAISIE")])
    for k, who in enumerate(("doc.d", "doc.e", "doc.f")):
        rows += _session(who, "BIOLOGISTE", D0 + pd.Timedelta(minutes=3 + k), [("read", "PA")])
    rows += _session("bio.b", "BIOLOGISTE", D0 + pd.Timedelta(minutes=20),
                     [("read", f"N{i}") for i in range(1, 5)])  # fmt: skip
    if days_after:
        rows += _session("sec.a", "SECRETAIRE", D0 + pd.Timedelta(days=days_after), [])
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(warmup="0s"), case=CASE)
    return ft.session.frame().set_index("account")


def test_a_log_shorter_than_the_window_claims_nothing():
    # fresh-eyes QA, session 22: a 36-minute log made "4 of 4 patients read have no
    # request ... within 30 days" a top finding. The window is the 30-day cap (too few
    # gaps); the log covers neither the 30 days before the reads nor those after: the
    # four reads are undetermined, counted neither as read nor as unexplained
    short = _snoop_log(0).loc["bio.b"]
    assert (short["accessed_patients"], short["unexplained_patients"]) == (0, 0)
    assert short["unexplained_p"] == 1.0 and short["explain_window_days"] == 30.0
    rules = {r.id: r for r in load_rules()}
    for rid in ("unexplained_patients", "unexplained_patients_sitting"):
        fired, _ = apply_rules(_snoop_log(0).reset_index(), [rules[rid]], "session")
        assert not fired[rid].any()
    # logs reaching 31 days after the reads: the 30 days after them are seen, so the
    # four reads are unexplained (the median account's 1 read, all explained: the 6 %
    # floor; P(X >= 4 | 4, 0.06) = 0.06 ** 4)
    long = _snoop_log(31).loc["bio.b"]
    assert (long["accessed_patients"], long["unexplained_patients"]) == (4, 4)
    assert long["unexplained_p"] == pytest.approx(0.06**4)
    # 29 days after: not the whole 30 days seen, still undetermined
    assert _snoop_log(29).loc["bio.b", "unexplained_patients"] == 0


def test_two_readers_the_snooper_does_not_set_the_rate():
    # fresh-eyes QA, session 22: with two readers the median account was their mean, so a
    # snooper reading only unknown patients raised the lab's rate to 0.375. Now the upper
    # median of the explained shares: the routine reader's, all 8 reads explained
    rows = _session("sec.a", "SECRETAIRE", D0, [("update", f"R{i}", "SAISIE") for i in range(8)])
    rows += _session("doc.d", "BIOLOGISTE", D0 + pd.Timedelta(hours=1),
                     [("read", f"R{i}") for i in range(8)])  # fmt: skip
    rows += _session("bio.b", "BIOLOGISTE", D0 + pd.Timedelta(hours=2),
                     [("read", f"N{i}") for i in range(6)])  # fmt: skip
    rows += _session("sec.a", "SECRETAIRE", D0 + pd.Timedelta(days=31), [])  # logs > window
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(warmup="0s"), case=CASE)
    lab = ft.notes["explain_labs"].set_index("lab").loc["L01"]
    assert lab["explained_share"] == 1.0  # doc.d's (bio.b's is 0), not their mean 0.5
    # 8 reads of the median account, none unexplained: the bound 1 - 0.05 ** (1/8) = 31 %
    # says nothing below 6 %, so the floor
    assert lab["unexplained_rate"] == pytest.approx(0.06)
    b = ft.session.frame().set_index("account").loc["bio.b"]
    assert (b["unexplained_patients"], b["unexplained_p"]) == (6, pytest.approx(0.06**6))
