"""evaluate(): precision@k, recall@k and AP worked out by hand on five sessions."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.detect import Scores
from labforensics.evaluate import evaluate, label_units, truth_events
from labforensics.schema import STRING


def _events() -> pd.DataFrame:
    # five sessions, one event each, line i of f.csv in session s<i>
    return pd.DataFrame(
        {
            "session_id": pd.array(["s1", "s2", "s3", "s4", "s5"], dtype=STRING),
            "source_file": pd.array(["L01/f.csv"] * 5, dtype=STRING),
            "source_line": pd.array([1, 2, 3, 4, 5], dtype="Int64"),
            "ts": pd.to_datetime(
                [
                    "2021-03-01 08:00",
                    "2021-03-01 09:00",
                    "2021-03-02 10:00",
                    "2021-03-03 10:00",
                    "2021-03-04 23:30",
                ],
                utc=True,
            ),  # fmt: skip
            "lab": pd.array(["L01"] * 5, dtype=STRING),
            "account": pd.array(["u1", "u1", "u2", "u3", "hprim"], dtype=STRING),
        }
    )


TRUTH = {
    "incidents": [
        {"id": "a-L01", "kind": "a", "lab": "L01", "account": "u1", "events": [["L01/f.csv", 1]]},
        {"id": "d-L01", "kind": "d", "lab": "L01", "account": "u2", "events": [["L01/f.csv", 3]]},
    ],
    "traps": [
        {"id": "billing-L01-2021-02", "kind": "billing", "lab": "L01", "account": "u1",
         "events": [["L01/f.csv", 2]]},
        {"id": "interface-L01", "kind": "interface", "lab": "L01", "account": "hprim",
         "accounts": ["hprim"], "window": {"start": "2021-03-01T00:00:00Z", "end": "2021-03-31T00:00:00Z"}},
    ],
}  # fmt: skip


def _scores() -> Scores:
    # ranking: s2 (trap), s1 (a), s4, s3 (d), s5 (interface)
    ss = pd.DataFrame(
        {
            "session_id": ["s2", "s1", "s4", "s3", "s5"],
            "rank": [1, 2, 3, 4, 5],
            "score": [5, 4, 3, 2, 1],
        }
    )
    days = pd.DataFrame(
        {
            "lab": ["L01"] * 4,
            "account": ["u1", "u3", "u2", "hprim"],
            "day": ["2021-03-01", "2021-03-03", "2021-03-02", "2021-03-05"],
            "rank": [1, 2, 3, 4],
        }
    )
    return Scores(session=ss, account_day=days)


def test_session_metrics_by_hand():
    ev = evaluate(_scores(), TRUTH, events=_events(), k=(2, 4))
    m = ev.metrics.set_index(["level", "kind"])
    allr = m.loc[("session", "all")]
    # positives at ranks 2 and 4: AP = (1/2 + 2/4) / 2
    assert allr["ap"] == pytest.approx(0.5)
    assert (allr["precision@2"], allr["recall@2"]) == (0.5, 0.5)
    assert (allr["precision@4"], allr["recall@4"]) == (0.5, 1.0)
    assert allr["best_rank"] == 2 and allr["n_positive"] == 2
    # kind d alone: s1 (a) is left out, so s3 is 3rd of the kept ranking -> AP 1/3
    assert m.loc[("session", "d"), "ap"] == pytest.approx(1 / 3)
    assert m.loc[("session", "d"), "best_rank"] == 4
    assert m.loc[("session", "a"), "ap"] == pytest.approx(0.5)


def test_traps_and_incidents_tables():
    ev = evaluate(_scores(), TRUTH, events=_events(), k=(2, 4))
    tr = ev.traps[ev.traps["level"] == "session"].set_index("kind")
    # billing by its event (rank 1); the interface by account and window (rank 5)
    assert tr.loc["billing", "best_rank"] == 1 and tr.loc["billing", "in_top"] == 1
    assert tr.loc["interface", "best_rank"] == 5 and tr.loc["interface", "in_top"] == 0
    inc = ev.incidents[ev.incidents["level"] == "session"].set_index("id")
    assert inc.loc["a-L01", "best_rank"] == 2 and inc.loc["d-L01", "best_rank"] == 4


def test_account_day_labels_follow_local_start():
    lab = label_units(_events(), TRUTH)["account_day"].set_index(["account", "day"])
    # u1's day holds the incident (a) and the billing trap: it is a positive
    assert lab.loc[("u1", "2021-03-01"), "incident_kind"] == "a"
    assert lab.loc[("u1", "2021-03-01"), "trap_kind"] == "billing"
    # 23:30 UTC on 4 March is 00:30 on 5 March in Paris
    assert lab.loc[("hprim", "2021-03-05"), "trap_kind"] == "interface"
    ev = evaluate(_scores(), TRUTH, events=_events(), k=(2,))
    d = ev.metrics.set_index(["level", "kind"]).loc[("account_day", "all")]
    assert d["ap"] == pytest.approx((1 / 1 + 2 / 3) / 2)  # positives at ranks 1 and 3


def test_truth_events_from_json_lists():
    te = truth_events(TRUTH)
    assert len(te) == 3 and set(te["kind"]) == {"a", "d", "billing"}
