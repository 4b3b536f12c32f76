"""Counts in the text, the figures and the tables of a fixture's report agree with the
output tables (issue 16, Done when: "counts in text, figures and tables agree")."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import labforensics as lf
from labforensics.report import figures as figs

#: insider-browsing: 2 labs, 9 flagged sessions in 5 flagged campaigns (expected/flagged.json)
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "insider-browsing"


def _int(pattern: str, html: str) -> int:
    m = re.search(pattern, html)
    assert m, pattern
    return int(m.group(1).replace(",", ""))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    seen: dict[str, pd.DataFrame] = {}
    real = figs.activity_timeline

    def spy(monthly, **kw):  # the timeline's red dots
        seen["flagged"] = kw["flagged"]
        return real(monthly, **kw)

    out = tmp_path_factory.mktemp("counts") / "out"
    case = lf.CaseContext.from_file(FIXTURE / "case.toml")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(figs, "activity_timeline", spy)
        lf.investigate(None, out, case=case, progress=False)
    tables = {n: pd.read_parquet(out / f"{n}.parquet")
              for n in ("events", "sessions", "scores", "campaigns", "exports")}  # fmt: skip
    tables["quarantine"] = pd.read_csv(out / "quarantine.csv")
    return {"html": (out / "report.html").read_text(encoding="utf-8"), "t": tables,
            "timeline": seen["flagged"]}  # fmt: skip


def test_key_figures_agree_with_the_tables(run):
    html, t = run["html"], run["t"]
    n_flagged = int(t["scores"]["flagged"].sum())
    assert n_flagged == 9  # expected/flagged.json of the fixture
    # the key figures of section 1
    assert _int(r"<b>([\d,]+)</b><span>events read</span>", html) == len(t["events"])
    assert _int(r"<b>([\d,]+)</b><span>sessions reconstructed</span>", html) == len(t["sessions"])
    assert _int(r"<b>([\d,]+)</b><span>sessions flagged</span>", html) == n_flagged
    # section 4's sentence
    assert (
        _int(r"<p class=\"sessions-shown\">([\d,]+) of [\d,]+ sessions are flagged", html)
        == n_flagged
    )
    assert _int(r"[\d,]+ of ([\d,]+) sessions are flagged", html) == len(t["sessions"])


def test_campaigns_agree_between_first_screen_section_figures_and_parquet(run):
    html, camp = run["html"], run["t"]["campaigns"]
    flagged = camp[camp["flagged"]]
    n_camp, n_sess = len(flagged), int(flagged["n_flagged"].sum())
    assert (n_camp, n_sess) == (5, 9)
    # first screen: "5 flagged campaign(s) in all, 9 flagged session(s)"
    m = re.search(r"([\d,]+) flagged campaign\(s\) in all, ([\d,]+) flagged session\(s\)", html)
    assert (int(m.group(1)), int(m.group(2))) == (n_camp, n_sess)
    # the campaigns section: its text, its lines and the dots of its per-lab figures
    assert _int(r'class="n-flagged-campaigns">([\d,]+)<', html) == n_camp
    assert len(re.findall(r'<details class="campaign" open>', html)) == n_camp
    assert _int(r'class="n-flagged-campaign-sessions">([\d,]+)<', html) == n_sess
    assert sum(int(x) for x in re.findall(r'data-sessions="(\d+)"', html)) == n_sess
    # every flagged session is in a flagged campaign, and on the timeline (not a top-N)
    assert n_sess == int(run["t"]["scores"]["flagged"].sum()) == len(run["timeline"])
    labs = sorted(set(re.findall(r'data-lab="([^"]+)"', html)))
    assert labs == sorted(flagged["lab"].astype(str).unique())


def test_quarantine_and_exports_agree(run):
    html, t = run["html"], run["t"]
    n_q = len(t["quarantine"])
    if n_q:
        assert _int(r"<p>([\d,]+) input row\(s\) could not become events", html) == n_q
    else:
        assert "No input row was quarantined." in html
    # the exports section's count and the first screen's
    assert _int(r'<p class="lead">([\d,]+) export\(s\) and extraction\(s\)', html) == len(
        t["exports"]
    )
    assert _int(r"([\d,]+) export\(s\) and extraction\(s\), none checked", html) == len(
        t["exports"]
    )


def test_every_flagged_campaign_has_its_best_session_evidence_in_section_four(run):
    # issue 16 / second reader: each flagged campaign's best session (campaigns.parquet's
    # best_session_id) is shown in full in section 4, or its evidence rows follow there
    html, camp = run["html"], run["t"]["campaigns"]
    best = set(camp.loc[camp["flagged"], "best_session_id"].astype(str))
    assert len(best) == 5  # 5 flagged campaigns (expected/flagged.json of the fixture)
    sec = html[html.index('id="sessions"') : html.index('id="sources"')]
    in_full = set(re.findall(r'<div class="small muted">session <code>([^<]+)</code>', sec))
    listed = re.findall(r'class="campaign-evidence"><summary>.*?best session <code>([^<]+)</code>',
                        sec)  # fmt: skip
    assert best <= in_full | set(listed)
    assert not set(listed) & in_full  # never twice
    # the sentence says how many are not shown one by one, and where they are
    n_full = len(re.findall(r'<span class="tag flag">flagged</span>', sec))
    m = re.search(r"The other ([\d,]+) flagged session\(s\) are not shown one by one here", sec)
    rest = int(run["t"]["scores"]["flagged"].sum()) - n_full
    assert (int(m.group(1)) if m else 0) == rest  # absent when every one is shown
