"""The leak's row dates bound the logged operations (likelihood module, "row dates"): a
copy cannot hold a sample taken after it (QA session 17: an export a week before the
dump's sample dates weighed exactly as the exports after them)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from labforensics.attribution import AttributionParams
from labforensics.attribution.conclusion import _LabData, _Setting, lab_conclusion
from labforensics.attribution.lab_data import _consultations, _named_sets, _row_dates
from labforensics.attribution.op_likelihood import NO_ROW_DATE, row_date_universe

PARIS = "Europe/Paris"
# day D = 2020-06-15 in Paris: its local day starts 2020-06-14T22:00Z (the dump's row
# dates, and the lab's horizon, are that instant: leak.horizon)
D = pd.Timestamp("2020-06-14T22:00Z")
P = AttributionParams(stability=False)  # copy_lag_h 24, leak_noise 1 %: eps = 0.01

# hand-worked (natural logs), 6 patients registered in January 2015, the first 4
# leaked (rows dated D), eps = 0.01:
# - a copy at or after D holds the 6, rho = 4/6 (records 6: no capacity bound),
#   n11 = 4, n10 = 2, nothing outside: 4 ln(2/3) + 2 ln(1/3) = -3.8190850
LL_ALL = -3.8190850
# - a copy before D cannot hold the 4 leaked rows: its set is the 2 others, none leaked
#   (rho 0 -> eps), the 4 leaked outside it at eps: 2 ln(0.99) + 4 ln(0.01) = -18.4407814
LL_BEFORE = -18.4407814


def _ns(ts: str) -> int:
    return int(pd.Timestamp(ts).value)


def _ops(rows):
    """(op, kind, hypothesis, time, records, n_set, n11, n_set_rows, n11_rows)."""
    return pd.DataFrame(
        [
            {"op": o, "kind": k, "hypothesis": h, "account": o, "t_ns": _ns(t), "records": r,
             "n_set": ns, "n11": n11, "n_set_rows": nsr, "n11_rows": n11r, "score": None,
             "anomaly": 0.0, "failed_burst": False, "network": "lab",
             "retrieved_outside": False, "fetched_outside_by": []}
            for o, k, h, t, r, ns, n11, nsr, n11r in rows
        ]
    )  # fmt: skip


def _lab(ops, *, rows=True):
    known = np.array([_ns(f"2015-01-0{i + 1}T11:00Z") for i in range(6)], dtype=np.int64)
    leaked = np.arange(6) < 4
    return _LabData(
        lab="L01",
        known_ns=known,
        leaked=leaked,
        n_linked=4,
        n_unique=None,
        has_logs=True,
        evidence_start=pd.Timestamp("2014-12-01T00:00Z"),
        evidence_end=pd.Timestamp("2020-06-25T00:00Z"),
        horizon=D,
        window_after=None,
        window_before=None,
        ops=ops,
        dated=True,
        row_ns=np.where(leaked, D.value, NO_ROW_DATE) if rows else None,
    )


SIGHTED = pd.Timestamp("2020-06-20T00:00Z")
OPS = _ops(
    [
        # size-only exports a week before D, on D itself (08:00 Paris), 3 days after
        ("cut_d-7", "cut", "vendor", "2020-06-08T08:00Z", 6, 0, 0, 0, 0),
        ("cut_d", "cut", "insider", "2020-06-15T06:00Z", 6, 0, 0, 0, 0),
        ("cut_d+3", "cut", "external", "2020-06-18T08:00Z", 6, 0, 0, 0, 0),
        # an export naming the 6 patients a week before D: its 4 leaked patients' rows are
        # dated after it (n11_rows 0, its set without them: 2)
        ("set_d-7", "known_set", "vendor", "2020-06-08T09:00Z", 6, 6, 4, 2, 0),
        ("set_d", "known_set", "insider", "2020-06-15T09:00Z", 6, 6, 4, 6, 4),
    ]
)


def _lls(r):
    return {o["op"]: o["loglik"] for o in r["operations"]}


def test_an_operation_before_the_rows_dates_cannot_hold_them():
    r = lab_conclusion(_lab(OPS), None, SIGHTED, P, _Setting(), PARIS)
    ll = _lls(r)
    assert ll["cut_d-7"] == pytest.approx(LL_BEFORE, abs=1e-6)
    assert ll["set_d-7"] == pytest.approx(LL_BEFORE, abs=1e-6)
    # on the sample's own day (the row date is the start of the local day), and after it
    assert ll["cut_d"] == pytest.approx(LL_ALL, abs=1e-6)
    assert ll["cut_d+3"] == pytest.approx(LL_ALL, abs=1e-6)
    assert ll["set_d"] == pytest.approx(LL_ALL, abs=1e-6)
    # the operations before D produce none of the leaked patients
    prod = {o["op"]: o["producible"] for o in r["operations"]}
    assert prod["cut_d-7"] == 0 and prod["set_d-7"] == 0 and prod["cut_d"] == 4
    # vendor (its two operations both before D): ln(mean) = LL_BEFORE; outside_evidence
    # (a copy in [horizon, sighting] holds the 6): LL_ALL
    lg = r["log10_likelihoods"]
    assert lg["vendor"] == pytest.approx(LL_BEFORE / np.log(10), abs=1e-6)
    assert lg["outside_evidence"] == pytest.approx(LL_ALL / np.log(10), abs=1e-6)


def test_without_the_horizon_the_row_dates_are_not_used():
    # "without the horizon": the dump's dates are not trusted, every operation as before
    r = lab_conclusion(_lab(OPS), None, SIGHTED, P, _Setting(use_horizon=False), PARIS)
    ll = _lls(r)
    for op in ("cut_d-7", "cut_d", "cut_d+3", "set_d-7", "set_d"):
        assert ll[op] == pytest.approx(LL_ALL, abs=1e-6)


def test_no_row_dates_leave_the_operations_as_they_were():
    r = lab_conclusion(_lab(OPS, rows=False), None, SIGHTED, P, _Setting(), PARIS)
    assert all(v == pytest.approx(LL_ALL, abs=1e-6) for v in _lls(r).values())


def test_row_date_universe_moves_the_leaked_patients_only():
    known = np.array([1, 2, 3, 4], dtype=np.int64)
    leaked = np.array([True, False, True, False])
    rows = np.array([10, NO_ROW_DATE, 2, NO_ROW_DATE], dtype=np.int64)
    k, lk = row_date_universe(known, leaked, rows)
    # patient 0 moves to 10 (after all), patient 2 keeps 3 (its row is older)
    assert k.tolist() == [2, 3, 4, 10]
    assert lk.tolist() == [False, True, False, True]


def test_row_dates_take_the_newest_dated_row_of_each_leaked_patient():
    leak = pd.DataFrame(
        {
            "leak_id": ["a", "a2", "b", "c"],
            "lab": pd.array(["L01", "L01", "L01", "L02"], dtype="string"),
            "patient": pd.array(["p1", "p1", "p2", "p9"], dtype="string"),
            "lab_given": [True, True, True, True],
            "date": pd.to_datetime([D - pd.Timedelta(days=2), D, pd.NaT, D], utc=True),
        }
    )
    # an identifier with no lab, found at L01's patient p3
    matches = pd.DataFrame(
        {"leak_id": ["x"], "lab": ["L01"], "patient": ["p3"], "first_seen": [pd.NaT],
         "date": pd.to_datetime([D - pd.Timedelta(days=1)], utc=True), "n_labs": [1]}
    )  # fmt: skip
    r = _row_dates(SimpleNamespace(leak=leak, matches=matches), "L01")
    assert r.to_dict() == {"p1": D.value, "p3": (D - pd.Timedelta(days=1)).value}


def _pe(rows):
    """(account, session_id, patient, time, consult)."""
    return pd.DataFrame(
        {
            "account": [r[0] for r in rows],
            "session_id": [r[1] for r in rows],
            "patient": [r[2] for r in rows],
            "t": np.array([_ns(r[3]) for r in rows], dtype=np.int64),
            "consult": [r[4] for r in rows],
        }
    )


def test_a_set_export_before_the_rows_dates_does_not_produce_them():
    pe = _pe(
        [
            ("u", "s1", "p1", "2020-06-08T08:00Z", False),
            ("u", "s1", "p2", "2020-06-08T08:00Z", False),
            ("u", "s1", "p3", "2020-06-08T08:00Z", False),
            ("u", "s2", "p1", "2020-06-18T08:00Z", False),
            ("u", "s2", "p3", "2020-06-18T08:00Z", False),
        ]
    )
    rows = pd.Series({"p1": D.value, "p2": D.value})
    t_op = {"s1": _ns("2020-06-08T08:05Z"), "s2": _ns("2020-06-18T08:05Z")}
    got = _named_sets(pe, pd.Series(["s1", "s2"]), {"p1", "p2"}, rows, t_op)
    # (named, leaked, leaked with their row dated at or before the export)
    assert got == {"s1": (3, 2, 0), "s2": (2, 1, 1)}
    # without row dates every leaked patient named counts
    assert _named_sets(pe, pd.Series(["s1", "s2"]), {"p1", "p2"}) == {
        "s1": (3, 2, 2),
        "s2": (2, 1, 1),
    }


def test_a_consulted_patient_is_produced_by_a_read_at_or_after_its_row_date():
    # p1 read before D and again on D (08:00 Paris): its last read can hold its row; p2
    # read before D only: not produced; p3 not leaked
    pe = _pe(
        [
            ("u", "", "p1", "2020-06-05T08:00Z", True),
            ("u", "", "p2", "2020-06-05T08:10Z", True),
            ("u", "", "p3", "2020-06-05T08:20Z", True),
            ("u", "", "p1", "2020-06-15T06:00Z", True),
        ]
    )
    sessions = pd.DataFrame(
        {"lab": ["L01"], "account": ["u"], "account_kind": ["staff"], "role": ["TECH"],
         "failed_logins_before": [0]}
    )  # fmt: skip
    rows = pd.Series({"p1": D.value, "p2": D.value})
    (c,) = _consultations(pe, sessions, "L01", {"p1", "p2"}, None, P, rows)
    assert (c["n_set"], c["n11"], c["n_set_rows"], c["n11_rows"]) == (3, 2, 2, 1)
