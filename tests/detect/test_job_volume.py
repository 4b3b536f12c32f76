"""A recurring job's one-off volume is judged against its own runs (session 17 left it
to the detectors: ``regular_job`` excused the session from every rule).

``job_volume_far_above_own`` fires on a session of a recurring job or of a service
account whose records out are at least 6 robust SD above the account's own sessions
(``records_out_z_own_any``: its sessions of the same activity, else all its sessions).
"""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.case import CaseContext
from labforensics.detect import DetectParams, score
from labforensics.features import FeatureParams, build_features
from labforensics.sessions import sessionize

from .conftest import login_session as _session
from .conftest import make_events

CASE = CaseContext(tz="Europe/Paris")
D0 = pd.Timestamp("2020-03-02 07:00")  # a Monday, 08:00 Paris (UTC+1)
DAY = pd.Timedelta(days=1)
RULE = "rule_job_volume_far_above_own"


def _scored(volumes: list[int], role: str = "ADMIN_LABO") -> pd.DataFrame:
    """A biologist reads two patients each morning; the account ``job`` exports
    ``volumes[d]`` records at 02:00 local time (01:00 UTC) each night ``d``, with the
    same action every night. Returns the job's sessions, scored, in time order."""
    rows = []
    for d in range(len(volumes)):
        read = [dict(action="read", patient=p) for p in ("P1", "P2")]
        rows += _session("bio.b", "BIOLOGISTE", D0 + d * DAY, read)
    for d, n in enumerate(volumes):
        out = dict(action="export", module="FACTURATION", records=n)
        rows += _session("job", role, D0 + d * DAY + pd.Timedelta(hours=18), [out])
    ss = sessionize(make_events(rows))
    ft = build_features(ss.events, ss.sessions, FeatureParams(), case=CASE)
    s = score(ft, DetectParams(), case=CASE).session
    cols = ["regular_job", "records_out_z_own_any", "records_out_own_median"]
    s = s.join(ft.session.frame().set_index("session_id")[cols], on="session_id")
    return s[s["account"] == "job"].sort_values("start").reset_index(drop=True)


def test_a_nightly_job_exporting_ten_times_its_volume_is_flagged():
    # 20 nights of 200 records, then 2,000: its 21 exports, median 200, MAD 0, q90 200
    # (21 values: the 19th sorted), so the scale is the records' minimum, 10, and
    # z = (2000 - 200) / 10 = 180; still a session of the job (same hour, same action)
    s = _scored([200] * 20 + [2000])
    last = s.iloc[-1]
    assert (s["regular_job"] == 1.0).all()
    assert last["records_out_z_own_any"] == 180.0 and last["records_out_own_median"] == 200.0
    assert s[RULE].tolist() == [0.0] * 20 + [6.0]
    assert bool(last["flagged"]) and last["rules_score"] == 6.0
    assert list(last["reasons"])[0] == (
        "2,000 records exported or extracted by this recurring job or service account, "
        "180 robust SD above its own sessions (their median: 200 records)"
    )
    # the ordinary nights: z = 0, no rule
    assert (s["rules_score"].iloc[:20] == 0.0).all()


@pytest.mark.parametrize(("last", "fires"), [(600, False), (700, True)])
def test_a_job_whose_volume_varies_keeps_its_spread(last, fires):
    # 20 nights of 100, 110, ..., 290 records, then ``last``: 21 exports, median 200;
    # absolute deviations 0, 10, 10, ..., 90, 90, 100 and the last one's: median 50,
    # 1.4826 * 50 = 74.13; q90 (position 18 of 0..20) = 280, (280 - 200) / 1.2816 =
    # 62.42; scale 74.13: 600 gives z = 400 / 74.13 = 5.40 (< 6), 700 gives 6.74
    s = _scored([100 + 10 * k for k in range(20)] + [last])
    z = s["records_out_z_own_any"].iloc[-1]
    assert z == pytest.approx((last - 200) / (1.4826 * 50))
    assert s[RULE].iloc[-1] == (6.0 if fires else 0.0)
    assert (s[RULE].iloc[:20] == 0.0).all()


def test_a_service_account_s_first_export_is_judged_against_its_own_sessions():
    # an INTERFACE account: its ordinary nights export 200; the rule reads its own
    # history only, as for a recurring job (kind_service = 1, the any-condition)
    s = _scored([200] * 20 + [2000], role="INTERFACE")
    assert s[RULE].tolist() == [0.0] * 20 + [6.0]


def test_a_staff_account_that_is_not_a_job_is_left_to_the_staff_rules():
    # 10 nights only: fewer than the 14 days of a recurring job, so regular_job = 0 and
    # the account is staff: the job rule does not read it (its 2,000 export is judged
    # by the staff export rules, here staff_bulk_export_short_logs: in the warm-up)
    s = _scored([200] * 9 + [2000])
    assert (s["regular_job"] == 0.0).all()
    assert (s[RULE] == 0.0).all()
    assert s["rule_staff_bulk_export_short_logs"].iloc[-1] == 6.0
