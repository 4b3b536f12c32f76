"""The report's campaigns section: every flagged campaign listed, every flagged session drawn,
and the counts of text, list, figures and campaigns.parquet agree (issue 16 item 2)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from standin import STANDIN_ATTRIBUTION, standin_case, standin_events, standin_sessions

from labforensics.detect.campaigns import group_campaigns
from labforensics.outputs import write_parquet
from labforensics.report import ReportData, render_report
from labforensics.report import figures as figs
from labforensics.report.findings import TOP_SESSIONS, build_findings, session_scores_table

#: Flagged sessions of the stand-in: the hostile extraction; L02 on days 10-34 (25 daily
#: sessions of one account: one campaign); L01 on days 0-2 and 40-42 (a 38-day pause:
#: two campaigns). 1 + 25 + 6 = 32 flagged sessions in 4 flagged campaigns.
N_FLAGGED_SESSIONS = 32
N_FLAGGED_CAMPAIGNS = 4


def _scores(ss: pd.DataFrame) -> pd.DataFrame:
    day = ss["start"].dt.tz_convert("UTC").dt.day_of_year - 60  # 2019-03-01 is day 60
    lab = ss["lab"].astype(str)
    flag = (
        (ss["session_id"] == "SHOSTILE")
        | ((lab == "L02") & day.between(10, 34))
        | ((lab == "L01") & (day.between(0, 2) | day.between(40, 42)))
    ).to_numpy()
    score = np.where(flag, 6.0 + np.arange(len(ss)) / 1000, np.arange(len(ss)) / 1000)
    score[(ss["session_id"] == "SHOSTILE").to_numpy()] = 9.5
    out = pd.DataFrame({"session_id": ss["session_id"], "score": score, "flagged": flag})
    out["rank"] = out["score"].rank(ascending=False, method="first").astype("int64")
    out["reasons"] = np.where(flag, "exported 12 records", "")
    return out.sort_values("rank").reset_index(drop=True)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    ev = standin_events()
    ss = standin_sessions(ev)
    sc = session_scores_table(_scores(ss))
    camp = group_campaigns(sc, ss)
    out = tmp_path_factory.mktemp("camp")
    write_parquet(camp, out / "campaigns.parquet")
    f = build_findings(
        events=ev, sessions=ss, session_scores=sc, attribution=STANDIN_ATTRIBUTION,
        accounting={"totals": {}, "files": []}, inputs=[], case=standin_case(),
        parameters={"campaigns": {"gap": 604800.0}}, key_fingerprint="00",
    )  # fmt: skip
    acc = pd.DataFrame([{"source_file": "TOTAL", "rows_read": len(ev), "events": len(ev)}])
    data = ReportData(findings=f, events=ev, sessions=ss, quarantine=None, accounting=acc,
                      session_scores=sc, campaigns=camp)  # fmt: skip
    return {"data": data, "camp": pd.read_parquet(out / "campaigns.parquet"), "sc": sc}


def test_stand_in_has_more_flagged_sessions_than_the_top(case):
    # the point of the section: more flagged sessions than the top sessions list holds
    assert int(case["sc"]["flagged"].sum()) == N_FLAGGED_SESSIONS > TOP_SESSIONS


def test_counts_agree_between_text_list_figures_and_parquet(case):
    html = render_report(case["data"])
    sec = html[html.index('<section id="campaigns">') :]
    sec = sec[: sec.index("</section>")]
    camp = case["camp"]
    n_text = int(re.search(r'class="n-flagged-campaigns">([\d,]+)<', sec).group(1))
    n_listed = len(re.findall(r'<details class="campaign"', sec))
    # text = lines listed = flagged rows of campaigns.parquet = 4 (worked out above)
    assert n_text == n_listed == int(camp["flagged"].sum()) == N_FLAGGED_CAMPAIGNS
    # the sessions stated, the sessions on the lines and the dots of the lab figures agree
    # with the flagged sessions of the scores table
    n_sess_text = int(re.search(r'class="n-flagged-campaign-sessions">([\d,]+)<', sec).group(1))
    n_on_lines = sum(int(x) for x in re.findall(r'class="n-sessions">([\d,]+)<', sec))
    n_dots = sum(int(x) for x in re.findall(r'data-sessions="(\d+)"', sec))
    assert n_sess_text == n_on_lines == n_dots == N_FLAGGED_SESSIONS
    # one figure per lab holding a flagged campaign: L01 (hostile + 2) and L02
    assert re.findall(r'data-lab="([^"]+)"', sec) == ["L01", "L02"]
    assert int(re.search(r'class="n-lab-figures">(\d+)<', sec).group(1)) == 2
    # the gap stated is the one recorded in the parameters (604,800 s = 7 days)
    assert "no pause longer than\n7 day(s)" in sec
    assert "flagged and routine sessions apart" in sec
    # the first screen's count of flagged sessions is the same number
    assert case["data"].findings["counts"]["flagged_sessions"] == N_FLAGGED_SESSIONS


def test_lines_in_rank_order_with_best_sessions(case):
    html = render_report(case["data"])
    sec = html[html.index('<section id="campaigns">') :]
    ranks = [int(r) for r in re.findall(r"<summary><b>#([\d,]+)</b>", sec)]
    assert ranks == sorted(ranks) and ranks[0] == 1
    # the L02 campaign: 25 sessions, its 3 best shown (table rows under its line)
    l02 = sec[sec.index("· L02 ·") :]
    l02 = l02[: l02.index("</details>")]
    assert '<span class="n-sessions">25</span>' in l02
    assert l02.count('<td class="c-session_id">') == 3
    # every flagged campaign's best sessions are expanded (open), in print too
    assert sec.count('<details class="campaign" open>') == N_FLAGGED_CAMPAIGNS


def test_timeline_marks_every_flagged_session(case, monkeypatch):
    seen = {}
    real = figs.activity_timeline

    def spy(monthly, **kw):
        seen["flagged"] = kw["flagged"]
        return real(monthly, **kw)

    monkeypatch.setattr(figs, "activity_timeline", spy)
    render_report(case["data"])
    # all 32 flagged sessions, not the 20 top sessions of findings.json
    assert len(seen["flagged"]) == N_FLAGGED_SESSIONS


def test_lab_figure_draws_one_dot_per_session_even_past_the_row_cap():
    n_camp = figs.LAB_FIGURE_ROWS + 5
    pts = pd.DataFrame({
        "row": [f"#{i} · a{i}" for i in range(n_camp) for _ in range(2)],
        "order": [i for i in range(n_camp) for _ in range(2)],
        "start": pd.date_range("2020-01-01", periods=2 * n_camp, freq="6h"),
    })  # fmt: skip
    fig = figs.lab_flagged_sessions(pts, title="L01")
    ax = fig.axes[0]
    # 50 sessions, 50 dots; 20 rows, the last one "6 more campaigns"
    assert len(ax.collections[0].get_offsets()) == 2 * n_camp
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == figs.LAB_FIGURE_ROWS and labels[-1] == "6 more campaigns"


def test_no_campaign_table_no_section(case):
    d = case["data"]
    data = ReportData(findings=d.findings, events=d.events, sessions=d.sessions,
                      quarantine=None, accounting=d.accounting, session_scores=d.session_scores)  # fmt: skip
    assert '<section id="campaigns">' not in render_report(data)


def test_section_four_shows_each_flagged_campaigns_best_session(case):
    # with one top session shown in full (the hostile extraction), the 3 other flagged
    # campaigns' best sessions follow in section 4 with their evidence rows; the sentence
    # counts the 32 - 1 = 31 flagged sessions not shown one by one
    html = render_report(case["data"], top_n=1)
    sec = html[html.index('id="sessions"') : html.index('id="sources"')]
    camp = case["camp"]
    best = set(camp.loc[camp["flagged"], "best_session_id"].astype(str))
    in_full = set(re.findall(r'<div class="small muted">session <code>([^<]+)</code>', sec))
    listed = re.findall(r'class="campaign-evidence"><summary>.*?best session <code>([^<]+)</code>',
                        sec)  # fmt: skip
    assert in_full == {"SHOSTILE"} and len(listed) == N_FLAGGED_CAMPAIGNS - 1
    assert best == in_full | set(listed)
    assert f"The other {N_FLAGGED_SESSIONS - 1} flagged session(s) are not shown one by one" in sec
    # each listed campaign's evidence rows are there (a table per entry)
    entries = sec.split('class="campaign-evidence"')[1:]
    assert all("<table" in e.split("</details>")[0] for e in entries)
