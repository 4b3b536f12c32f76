"""A ticket's record budget summed over every lab it authorised at (authorisations.md:
"summed over each ticket's window"), by the per-lab engine as by the whole case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labforensics.authorisation import assess_exports, read_authorisations
from labforensics.authorisation.ticket_budget import evidence_rank, global_ticket_sums
from labforensics.case import CaseContext
from labforensics.detect import DetectParams
from labforensics.engine import LabSettings, split_by_lab
from labforensics.engine.batches import account_counts
from labforensics.engine.combine import concat_exports
from labforensics.engine.run import EVENT_BYTES, LabRun
from labforensics.features import FeatureParams
from labforensics.sessions import SessionParams, sessionize

from .conftest import make_events, write_register

CASE = CaseContext(tz="Europe/Paris")
BACKGROUND = [
    {"t": "2020-02-03 08:00", "lab": "L01", "account": "tech.a", "patient": "PA"},
    {"t": "2020-02-03 08:05", "lab": "L01", "account": "tech.c", "patient": "PC"},
    {"t": "2020-02-03 08:00", "lab": "L02", "account": "tech.b", "patient": "PB"},
    {"t": "2020-02-03 08:05", "lab": "L02", "account": "tech.d", "patient": "PD"},
]
EVERY_LAB = ["T-ALL;*;migr.*;migration;2020-03-01;2020-03-31;;600;;every lab, 600 in all"]


def extraction(t: str, lab: str, records: int, account: str = "migr.x") -> dict:
    return {"t": t, "lab": lab, "account": account, "role": "EDITEUR", "account_kind": "vendor",
            "module": "EXTRACTION", "action": "extract", "records": records,
            "detail": f"Extraction complete vers ftp://transfert/{lab}_export.csv",
            "host": account}  # fmt: skip


def _settings(tmp_path, register) -> LabSettings:
    reg = read_authorisations(write_register(tmp_path, register), CASE)
    return LabSettings(CASE, SessionParams(), FeatureParams(), register=reg)


def _engine(events, settings, engine=None, budget=None) -> LabRun:
    run = LabRun(split_by_lab(events), settings, DetectParams(), engine, memory_budget=budget)
    run.first()
    run.peer()
    return run


def _ops(run: LabRun) -> pd.DataFrame:
    """Every lab's exports in evidence order, extractions only."""
    ex = concat_exports([p.exports for p in run.eng.gather(run.parts)])
    return ex[ex["action"] == "extract"].reset_index(drop=True)


def _whole(events, settings) -> pd.DataFrame:
    ss = sessionize(events)
    return assess_exports(ss.events, ss.sessions, register=settings.register, case=CASE)


def _check(tmp_path, rows, register=EVERY_LAB):
    events = make_events(BACKGROUND + rows)
    st = _settings(tmp_path, register)
    run = _engine(events, st)
    got = _ops(run)
    whole = _whole(events, st)  # (ts, seq) order; the engine's: (ts, lab) at equal ts
    whole = whole.sort_values(["ts", "lab"], kind="stable").reset_index(drop=True)
    # the engine, lab by lab, gives what one assessment of the whole case gives
    pd.testing.assert_frame_equal(
        concat_exports([p.exports for p in run.parts]), whole, check_exact=True
    )
    return run, got


def _session(run, lab, account="migr.x") -> pd.Series:
    part = next(p for p in run.parts if p.lab == lab)
    t = part.features.session
    row = (t.keys["account"].astype(str) == account).to_numpy()
    assert row.sum() == 1
    return t.values[row].iloc[0]


def test_every_lab_ticket_sums_over_the_labs(tmp_path):
    # 515 at L02 then 510 at L01 under one 600-record ticket for every lab: 515 + 510 =
    # 1,025, 425 over; the first is authorised, the second beyond
    run, got = _check(tmp_path, [extraction("2020-03-10 10:00", "L02", 515),
                                 extraction("2020-03-11 10:00", "L01", 510)])  # fmt: skip
    assert got["lab"].astype(str).tolist() == ["L02", "L01"]
    assert got["status"].astype(str).tolist() == ["authorised", "beyond"]
    assert got["ticket"].iloc[0] == "T-ALL" and pd.isna(got["ticket"].iloc[1])
    assert got["nearest_ticket"].iloc[1] == "T-ALL"
    assert list(got["limits_crossed"].iloc[1]) == [
        "1,025 records summed over ticket T-ALL (the operations it authorised before, and "
        "this one) when it allows at most 600: 425 over"
    ]
    assert run.budget_labs == ["L01"]  # only L01's statuses change
    s = _session(run, "L01")
    assert (s["ops_beyond"], s["records_beyond"], s["ops_authorised"]) == (1.0, 510.0, 0.0)
    assert s["records_not_authorised"] == 510.0
    s2 = _session(run, "L02")
    assert (s2["ops_beyond"], s2["ops_authorised"], s2["records_not_authorised"]) == (0, 1, 0)
    # the account-day and account-month sums follow the session's
    part = next(p for p in run.parts if p.lab == "L01")
    for t in (part.features.account_day, part.features.account_month):
        row = (t.keys["account"].astype(str) == "migr.x").to_numpy()
        v = t.values[row].iloc[0]
        assert (v["ops_beyond"], v["records_beyond"]) == (1.0, 510.0)
        assert v["n_unauthorised_outbound_sessions"] == 1.0


def test_features_as_built_from_the_whole_case_statuses(tmp_path):
    # the authorisation features the engine computes again equal build_features of each
    # lab given that lab's rows of the whole-case assessment
    from labforensics import build_features
    from labforensics.features.authorisation import AUTHORISATION_FEATURES

    rows = [extraction("2020-03-10 10:00", "L02", 515), extraction("2020-03-11 10:00", "L01", 510),
            extraction("2020-03-11 15:00", "L01", 90, account="migr.y")]  # fmt: skip
    events = make_events(BACKGROUND + rows)
    st = _settings(tmp_path, EVERY_LAB)
    run = _engine(events, st)
    whole = _whole(events, st)
    rolled = ("ops_beyond", "records_beyond", "records_not_authorised",
              "n_unauthorised_outbound_sessions")  # fmt: skip
    for part, p in zip(run.parts, split_by_lab(events), strict=True):
        ss = sessionize(p())
        ex = whole[whole["lab"] == p.lab].reset_index(drop=True)
        want = build_features(ss.events, ss.sessions, FeatureParams(), case=CASE, exports=ex)
        for u, t in want.tables().items():
            cols = AUTHORISATION_FEATURES if u == "session" else rolled
            got = part.features.tables()[u].values[list(cols)]
            pd.testing.assert_frame_equal(got, t.values[list(cols)], check_exact=True)
    assert (
        _session(run, "L01", "migr.y")["ops_beyond"] == 1.0
    )  # 515 + 90 = 605 (the 510 beyond uses none)


def test_the_earlier_one_counts_first(tmp_path):
    # L01's 510 first: authorised; L02's 515 then sums to 1,025, beyond
    run, got = _check(tmp_path, [extraction("2020-03-10 10:00", "L01", 510),
                                 extraction("2020-03-11 10:00", "L02", 515)])  # fmt: skip
    assert got["lab"].astype(str).tolist() == ["L01", "L02"]
    assert got["status"].astype(str).tolist() == ["authorised", "beyond"]
    assert "425 over" in got["limits_crossed"].iloc[1][0]
    assert run.budget_labs == ["L02"]
    assert _session(run, "L02")["records_beyond"] == 515.0


def test_one_ticket_with_a_row_per_lab(tmp_path):
    # the budget is the ticket's: two rows, one per lab, of the same ticket share it
    reg = ["MIG-7;L01;migr.*;migration;2020-03-01;2020-03-31;;600;;L01",
           "MIG-7;L02;migr.*;migration;2020-03-01;2020-03-31;;600;;L02"]  # fmt: skip
    _, got = _check(tmp_path, [extraction("2020-03-10 10:00", "L02", 515),
                               extraction("2020-03-11 10:00", "L01", 510)], reg)  # fmt: skip
    assert got["status"].astype(str).tolist() == ["authorised", "beyond"]
    assert got["limits_crossed"].iloc[1][0].startswith("1,025 records summed over ticket MIG-7")


def test_ties_in_time_are_ordered_by_lab(tmp_path):
    # the same instant at both labs: L01 comes first (labs sorted), so L02's is beyond
    _, got = _check(tmp_path, [extraction("2020-03-10 10:00", "L02", 515),
                               extraction("2020-03-10 10:00", "L01", 510)])  # fmt: skip
    assert got["lab"].astype(str).tolist() == ["L01", "L02"]
    assert got["status"].astype(str).tolist() == ["authorised", "beyond"]
    assert got["limits_crossed"].iloc[1][0].startswith("1,025 records summed")


def test_an_overlapping_row_that_holds_it_whole(tmp_path):
    # L01's own ticket of 1,000 holds the 510 whole: authorised by it, T-ALL's sum crossed
    # does not matter; nor does L01's 510 count against T-ALL
    reg = [*EVERY_LAB, "BIG-1;L01;migr.*;migration;2020-03-01;2020-03-31;;1000;;L01 alone"]
    _, got = _check(tmp_path, [extraction("2020-03-10 10:00", "L02", 515),
                               extraction("2020-03-11 10:00", "L01", 510),
                               extraction("2020-03-12 10:00", "L02", 80)], reg)  # fmt: skip
    assert got["status"].astype(str).tolist() == ["authorised"] * 3
    assert got["ticket"].astype(str).tolist() == ["T-ALL", "BIG-1", "T-ALL"]  # 515 + 80 = 595


def test_a_third_lab_and_three_operations(tmp_path):
    # 200 (L03), 250 (L01), 100 (L02), 90 (L01): 550 authorised, then 640 > 600 (40 over)
    rows = [extraction("2020-03-10 10:00", "L03", 200), extraction("2020-03-11 10:00", "L01", 250),
            extraction("2020-03-12 10:00", "L02", 100), extraction("2020-03-13 10:00", "L01", 90)]  # fmt: skip
    run, got = _check(tmp_path, rows)
    assert got["status"].astype(str).tolist() == ["authorised"] * 3 + ["beyond"]
    assert got["limits_crossed"].iloc[3][0].startswith("640 records summed")
    assert got["limits_crossed"].iloc[3][0].endswith("at most 600: 40 over")
    assert run.budget_labs == ["L01"]


def test_tickets_at_one_lab_change_nothing(tmp_path):
    reg = ["A;L01;migr.*;migration;2020-03-01;2020-03-31;;600;;",
           "B;L02;migr.*;migration;2020-03-01;2020-03-31;;600;;"]  # fmt: skip
    run, got = _check(tmp_path, [extraction("2020-03-10 10:00", "L02", 515),
                                 extraction("2020-03-11 10:00", "L01", 510)], reg)  # fmt: skip
    assert got["status"].astype(str).tolist() == ["authorised", "authorised"]
    assert run.budget_labs == []


def test_global_sums_need_two_labs():
    assert global_ticket_sums({}) == {}
    assert global_ticket_sums({"L01": None, "L02": None}) == {}


def test_evidence_rank_orders_by_time_then_lab_then_position():
    ts = np.array([5, 5, 5, 3, 5], dtype=np.int64)
    labs = np.array(["L02", "L01", None, "L09", "L01"], dtype=object)
    o = np.array([0, 1, 0, 4, 1], dtype=np.int64)
    # (3, L09) first; at 5: L01 (o=1, twice: one operation), L02, no lab last
    assert evidence_rank(ts, labs, o).tolist() == [2, 1, 3, 0, 1]


def test_batched_labs_give_the_same(tmp_path):
    rows = [extraction("2020-03-10 10:00", "L02", 515), extraction("2020-03-11 10:00", "L01", 510),
            extraction("2020-03-12 10:00", "L01", 30, account="migr.y")]  # fmt: skip
    events = make_events(BACKGROUND + rows)
    st = _settings(tmp_path, EVERY_LAB)
    plain = _engine(events, st)
    big = max(int(account_counts(p).max()) for p in split_by_lab(events))
    batched = _engine(events, st, budget=(big + 1) * EVENT_BYTES)
    assert all(m["n_batches"] > 1 for m in batched.meta), [m["n_batches"] for m in batched.meta]
    _assert_runs_equal(plain, batched)
    # the 510 beyond is not counted: 515 + 30 = 545 within 600
    got = _ops(batched)
    assert got["status"].astype(str).tolist() == ["authorised", "beyond", "authorised"]


def _assert_runs_equal(a: LabRun, b: LabRun) -> None:
    pa, pb = a.eng.gather(a.parts), b.eng.gather(b.parts)
    assert [p.lab for p in pa] == [p.lab for p in pb]
    for x, y in zip(pa, pb, strict=True):
        pd.testing.assert_frame_equal(x.exports, y.exports, check_exact=True)
        for u, t in x.features.tables().items():
            t2 = y.features.tables()[u]
            pd.testing.assert_frame_equal(t.keys, t2.keys, check_exact=True)
            pd.testing.assert_frame_equal(t.values, t2.values, check_exact=True)
    assert a.budget_labs == b.budget_labs


@pytest.mark.slow
def test_dask_gives_the_local_statuses(tmp_path):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from labforensics.engine.dask import DaskEngine

    rows = [extraction("2020-03-10 10:00", "L02", 515), extraction("2020-03-11 10:00", "L01", 510)]
    events = make_events(BACKGROUND + rows)
    st = _settings(tmp_path, EVERY_LAB)
    local = _engine(events, st)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0")  # fmt: skip
    client = Client(cluster)
    try:
        dask = _engine(events, st, DaskEngine(client=client))
        _assert_runs_equal(local, dask)
        assert _ops(dask)["status"].astype(str).tolist() == ["authorised", "beyond"]
    finally:
        client.close()
        cluster.close()


def test_a_generated_case_against_the_truth(tmp_path):
    # a generated case whose two migration tickets (one per lab) become one ticket for
    # every lab, of fewer records than the two labs' extractions together: every status
    # as synth.register.register_status gives it over the whole case (truth only)
    import csv
    import json

    from labforensics import synth
    from labforensics.case import load_case
    from labforensics.ingest import read_evidence
    from labforensics.privacy import CaseKey
    from labforensics.synth.register import Operation, RegisterRow, register_status
    from labforensics.synth.register import write_register as write_synth_register

    out = tmp_path / "case"
    synth.generate(out, labs=2, start="2019-06-01", end="2019-08-31", seed=5, scale=0.2,
                   variant="authorised_migrations", hostile=False, artefacts=False)  # fmt: skip
    with open(out / "authorisations.csv", encoding="utf-8", newline="") as f:
        old = list(csv.DictReader(f, delimiter=";"))
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))["exports_truth"]
    mig = [t for t in truth if t["action"] == "EXTRACTION" and t["status"] == "authorised"]
    assert sorted({t["lab"] for t in mig}) == ["L01", "L02"]  # one authorised at each lab
    total = sum(int(t["records"]) for t in mig)
    first = min(mig, key=lambda t: t["ts"])
    budget = total - 35  # below the sum, above the first extraction
    assert int(first["records"]) < budget
    rows = [
        RegisterRow(r["ticket"], r["lab"], r["account"], r["kind"], r["start"], r["end"], "",
                    int(r["scope_max_records"]) if r["scope_max_records"] else None,
                    r["destination"], r["purpose"])
        for r in old if r["kind"] != "migration"
    ]  # fmt: skip
    starts = sorted(r["start"] for r in old if r["kind"] == "migration")
    ends = sorted(r["end"] for r in old if r["kind"] == "migration")
    rows.append(RegisterRow("MIG-ALL", "*", "migration.*", "migration", starts[0], ends[-1],
                            "", budget, "", "every lab's migration"))  # fmt: skip
    write_synth_register(out / "authorisations.csv", rows)
    ops = sorted(truth, key=lambda t: (t["ts"], t["lab"]))
    want = register_status(
        [Operation(t["lab"], "", t["account"], int(pd.Timestamp(t["ts"]).timestamp()),
                   int(t["records"]), t["destination"], t["action"] == "EXTRACTION")
         for t in ops], rows,
    )  # fmt: skip
    assert [w["status"] for w in want].count("beyond") == 1  # the later migration
    case = load_case(out / "case.toml")
    ev = read_evidence(out / "evidence", case_key=CaseKey(bytes(range(32))), progress=False,
                       case=case).events  # fmt: skip
    reg = read_authorisations(case.authorisations, case)
    st = LabSettings(case, SessionParams(), FeatureParams(), register=reg)
    run = _engine(ev, st)
    assert run.budget_labs == [max(mig, key=lambda t: t["ts"])["lab"]]
    got = concat_exports([p.exports for p in run.parts])
    key = pd.DataFrame({"lab": [t["lab"] for t in ops], "account": [t["account"] for t in ops],
                        "ts": pd.to_datetime([t["ts"] for t in ops], utc=True),
                        "status_t": [w["status"] for w in want]})  # fmt: skip
    g = got[["lab", "account", "ts", "status", "limits_crossed"]].astype(
        {"lab": object, "account": object}
    )
    m = g.merge(key.astype({"lab": object, "account": object}), on=["lab", "account", "ts"],
                how="outer", indicator=True)  # fmt: skip
    assert (m["_merge"] == "both").all() and len(m) == len(ops)
    assert m["status"].astype(str).tolist() == m["status_t"].tolist()
    b = m[m["status"] == "beyond"].iloc[0]
    assert list(b["limits_crossed"]) == [
        f"{total:,} records summed over ticket MIG-ALL (the operations it authorised before, "
        f"and this one) when it allows at most {budget:,}: 35 over"
    ]
