"""attribute() lab by lab (issue 17): the same result from the whole event table and
from a :class:`~labforensics.case_events.CaseEvents` whose labs are pickled
files, with no two labs' events widened at once.

The cases: the fixtures ``outside-attacker`` (2 labs, a leak of L02, external) and
``vendor-migration`` (2 labs, a leak, an FTP transfer log), read, sessionized and
given deterministic scores (a hash of the session id), with the stability and
sensitivity reruns on. ``vendor-migration`` is also run without the ``session_id``
column (sessions then found by interval). A built scenario (:mod:`attribution_scenarios`,
4 labs) adds a staff export whose own events name the leaked patients
(``touched_leaked``, the conclusion's known sets), sessions found by interval.
"""

from __future__ import annotations

import gc
import hashlib
import json
import weakref
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labforensics.attribution import attribute
from labforensics.case import CaseContext
from labforensics.case_events import CaseEvents
from labforensics.errors import MissingColumnsError
from labforensics.privacy import CaseKey

KEY = CaseKey(bytes(range(32)))
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


class _Watched(CaseEvents):
    """CaseEvents that checks, each time a lab is widened, that no lab widened before
    is still alive (garbage collected first), and records the largest number alive."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.alive_max = 0
        self.calls = 0
        self._refs: list[weakref.ref] = []

    def lab(self, lab, columns=None):
        gc.collect()
        alive = sum(r() is not None for r in self._refs)
        self.alive_max = max(self.alive_max, alive)
        out = super().lab(lab, columns)
        self._refs = [r for r in self._refs if r() is not None] + [weakref.ref(out)]
        self.calls += 1
        return out


@pytest.fixture(scope="module", params=["outside-attacker", "vendor-migration"])
def case(request):
    from labforensics.ingest import read_evidence
    from labforensics.sessions import sessionize

    ctx = CaseContext.from_file(FIXTURES / request.param / "case.toml")
    ev = read_evidence(list(ctx.evidence), case_key=KEY, case=ctx).events
    s = sessionize(ev)
    sid = s.sessions["session_id"].astype(str)
    h = [int(hashlib.sha1(x.encode()).hexdigest()[:8], 16) / 2**32 for x in sid]
    scores = pd.DataFrame({"session_id": sid, "score": h})
    return request.param, ctx, s, scores


def _run(events, case):
    _, ctx, s, scores = case
    return attribute(events, s.sessions, scores, leak=ctx.leak, transfers=ctx.transfers,
                     case_key=KEY, case=ctx)  # fmt: skip


def _spilled(events: pd.DataFrame, folder: Path) -> _Watched:
    whole = CaseEvents.from_frame(events)
    parts = {k: CaseEvents.spill_part(whole.lab(k), folder / f"part{i}.pkl")
             for i, k in enumerate(whole.labs)}  # fmt: skip
    return _Watched(parts)


def _assert_same(a, b):
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, obj=f.name)
        elif f.name in ("conclusion", "totals", "leak_report"):
            assert json.dumps(x, sort_keys=True, default=str) == json.dumps(
                y, sort_keys=True, default=str
            ), f.name
        else:
            assert x == y, f.name
    assert json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)


@pytest.mark.parametrize("session_id", [True, False], ids=["session_id", "by_interval"])
def test_attribute_by_lab_equals_whole_table(case, session_id, tmp_path):
    name, _, s, _ = case
    if not session_id and name != "vendor-migration":
        pytest.skip("sessions by interval: one case is enough")
    events = s.events if session_id else s.events.drop(columns="session_id")
    whole = _run(events, case)
    split = _spilled(events, tmp_path)
    assert len(split.named_labs()) >= 2
    by_lab = _run(split, case)
    # a case with a leak found in the evidence, windows, candidates and a weighed lab
    assert whole.totals["found"] > 0 and len(whole.windows) and len(whole.candidates)
    assert whole.conclusion["per_lab"] and whole.conclusion["sensitivity"]
    assert len(whole.stability)
    _assert_same(whole, by_lab)
    # one lab widened at a time, and every lab read
    assert split.alive_max == 0 and split.calls >= len(split.labs)


def test_missing_columns_of_case_events_are_named(case, tmp_path):
    _, _, s, _ = case
    ce = CaseEvents.from_frame(s.events.drop(columns=["records", "detail"]))
    with pytest.raises(MissingColumnsError, match="detail"):
        _run(ce, case)


def test_a_frame_is_still_checked_as_a_frame(case):
    _, _, s, _ = case
    with pytest.raises(MissingColumnsError, match="patient"):
        _run(s.events.drop(columns=["patient"]), case)
    with pytest.raises(MissingColumnsError, match="DataFrame"):
        _run(np.zeros(3), case)


def test_identity_overlap_by_lab(tmp_path):
    from attribution_scenarios import (
        LAB_NET,
        T0,
        VENDOR_NET,
        base_case,
        build,
        export_session,
        lab_ip,
        leak_frame,
        sample_before,
    )

    from labforensics.networks import NetworkMap

    c = base_case()
    t = T0 + pd.Timedelta(days=45, hours=14)
    ipps = sample_before("L04", t, 150, 1)
    export_session(c, "L04", t, "marie.d", "SECRETAIRE", "staff", lab_ip("L04", 33),
                   "RESULTATS", 150, detail="Export vers C:/Users/marie/export.csv",
                   read_ipps=ipps)  # fmt: skip
    ev, ss = build(c, drop_event_session_id=True)
    ctx = CaseContext(networks=NetworkMap(by_lab=LAB_NET, vendor=[VENDOR_NET]))

    def run(events):
        return attribute(events, ss, leak=leak_frame([("L04", ipps)]), case_key=KEY, case=ctx)

    whole = run(ev)
    split = _spilled(ev, tmp_path)
    by_lab = run(split)
    assert len(split.named_labs()) == 4 and whole.verdict == "insider"
    assert whole.candidates["touched_leaked"].max() == 150
    ops = [o for p in whole.conclusion["per_lab"] for o in p.get("operations", [])]
    assert ops
    _assert_same(whole, by_lab)
    assert split.alive_max == 0
