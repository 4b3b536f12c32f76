"""The first screen ("In short") as a fresh reader met it in the demo report (session 5,
QA of issue 16 item 1): campaigns by rank and linked, a brute force that succeeded named,
one labelled unit for the leak's counts with distinct patients and each lab's share,
the overall span of the copies, the anonymous FTP login in words, the decision rule
actually used, stability figure = its text, local times in the conclusion table, and the
first screen's terms linked to the glossary."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

import labforensics as lf
from labforensics.report.html import make_formatter
from labforensics.report.summary import (
    GLOSSARY,
    glossary_anchor,
    log10_text,
    lr_text,
    summary_view,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
WHEN = make_formatter("Europe/Paris")


def _run(tmp_path_factory, name: str) -> dict:
    out = tmp_path_factory.mktemp(name) / "out"
    case = lf.CaseContext.from_file(FIXTURES / name / "case.toml")
    lf.investigate(None, out, case=case, progress=False)
    html = (out / "report.html").read_text(encoding="utf-8")
    first = html[html.index('<section id="summary"') : html.index('<section id="conclusion"')]
    return {"html": html, "first": first, "out": out,
            "f": json.loads((out / "findings.json").read_text(encoding="utf-8"))}  # fmt: skip


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    # vendor-migration: 2 labs, extractions put on FTP and fetched anonymously
    return _run(tmp_path_factory, "vendor-migration")


@pytest.fixture(scope="module")
def attacker(tmp_path_factory):
    # outside-attacker: failed logins from 203.0.113.11, then a login as anaïs.f (truth.json)
    return _run(tmp_path_factory, "outside-attacker")


def _else_lines(first: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", li) for li in re.findall(r"<li>(.*?)</li>", first)]


def test_campaigns_by_rank_with_rank_and_link(attacker):
    f, html = attacker["f"], attacker["html"]
    reading = sorted((t["rank"], t["account"]) for t in f["campaigns"]["top"]
                     if t["flagged"] and t["activity"] == "patient_reading")  # fmt: skip
    # this fixture's one flagged reading campaign (hugo.h at L01; since the share-of-
    # touched guard of session 5 anaïs.f's routine L02 reading is no longer flagged): it
    # is not the leading operation, so "What else" lists it with its rank
    assert reading == [(2, "hugo.h")]
    line = next(s for s in _else_lines(attacker["first"]) if "of patient reading" in s)
    assert re.findall(r"no\. (\d+):", line) == ["2"]
    # every campaign link points at a campaign's line in the campaigns section
    for href in re.findall(r'<a href="#(C[0-9a-f]+)">no\.', attacker["first"]):
        assert f'id="{href}"' in html


def test_campaigns_by_rank_not_by_name():
    # the demo's case: the real insider (rank 27, louis.v) came after false positives
    # (rank 41, agnès.w) in alphabetical order and was hidden in "and N more"
    top = [{"account": a, "lab": "L02", "activity": "patient_reading", "rank": r, "flagged": True,
            "campaign_id": f"C{r:012x}", "best_session_id": f"s{r}"}
           for a, r in (("agnès.w", 41), ("louis.v", 27), ("céline.t", 29))]  # fmt: skip
    f = {"campaigns": {"flagged": 3, "flagged_sessions": 3, "top": top}}
    line = summary_view(f, WHEN)["others"][0]
    assert [x["text"] for x in line["links"]] == [
        "no. 27: louis.v at L02", "no. 29: céline.t at L02", "no. 41: agnès.w at L02"]  # fmt: skip
    assert line["links"][0]["href"] == "#C00000000001b"


def test_brute_force_names_address_count_and_success(attacker):
    src = [s for s in attacker["f"]["top_sources"] if s["flagged"]]
    assert [(s["src_ip"], s["accounts_succeeded"]) for s in src] == [("203.0.113.11", "anaïs.f")]
    line = next(s for s in _else_lines(attacker["first"]) if "203.0.113.11" in s)
    assert f"{src[0]['failed_logins']} failed logins at {src[0]['lab']}" in line
    assert "then a successful login from it as anaïs.f" in line
    # a burst with no success afterwards says so
    f = copy.deepcopy(attacker["f"])
    f["top_sources"][0].update(success_after_failures=False, accounts_succeeded="")
    text = " ".join(o["text"] for o in summary_view(f, WHEN)["others"])
    assert "no login from it succeeded afterwards" in text


def test_what_has_distinct_patients_one_unit_and_each_labs_share(vendor):
    f, first = vendor["f"], vendor["first"]
    cov = f["conclusion"]["coverage"]
    what = re.search(r"<dt>What</dt><dd>(.*?)</dd>", first, re.S).group(1)
    # distinct patients of the leak (findings.leak), then lab-patient pairs, labelled
    assert f"{f['leak']['patients']:,} distinct patients in the leak" in what
    assert f"the leak holds {cov['total']:,}: " in what
    # every lab weighed named (session 6: no "and N more"); per-lab counts in the Conclusion
    assert f"{cov['linked']:,} of the 2 lab(s) weighed (L01, L02)" in what
    assert "leaked rows" not in first  # one unit: pairs (and patients), never bare rows


def test_each_labs_share_of_its_own_patients():
    # from leak_linkage.per_lab (a fixture without a linked dump has none: shown here)
    f = {"leak": {"given": True, "patients": 30, "found": 20},
         "conclusion": {"proposition": "vendor", "coverage": {"total": 32}},
         "per_lab": [{"lab": "L01", "coverage": {"linked": 25, "producible": 24}}],
         "leak_linkage": {"per_lab": [{"lab": "L01", "patients_in_dump": 24,
                                       "patients_known": 96}]}}  # fmt: skip
    what = summary_view(f, WHEN)["rows"][2]["answer"]
    # 24/96, the base named (the lab's index, not the patients seen in its logs)
    assert "The leak holds 25.0 % of the patients in L01's index." in what


def test_when_gives_the_overall_span(vendor):
    f = copy.deepcopy(vendor["f"])
    wins = {p["lab"]: p["window"] for p in f["per_lab"]}
    # the fixture bounds L01's copy only: one window, no span
    assert [lab for lab, w in wins.items() if w.get("after")] == ["L01"]
    one = summary_view(f, WHEN)["rows"][3]["answer"]
    assert one.startswith("The copy was taken L01: after")
    # a second window closing later: the span runs from L01's opening to L02's closing
    wins["L02"].update(after="2019-12-01T23:00:00Z", before="2019-12-03T06:00:00Z")
    both = summary_view(f, WHEN)["rows"][3]["answer"]
    lo = WHEN(wins["L01"]["after"], seconds=False)
    assert both.startswith(f"The copies were taken between {lo} (the first window opens, L01)"
                           " and 2019-12-03 07:00 CET (06:00 UTC) (the last closes, L02)")  # fmt: skip


def test_anonymous_ftp_in_words_not_the_redaction_token(vendor):
    down = [t for t in vendor["f"]["transfers"] if t["direction"] == "download"]
    # the xferlog's users: an e-mail address given as password, keyed with the case key
    # (QA session 20: it was always "[EMAIL]"), and the literal user "anonymous"
    users = {t["user"] for t in down}
    assert len(users) == 2 and "anonymous" in users
    assert [re.fullmatch(r"EMAIL-[0-9a-f]{12}", u) is not None for u in sorted(users)] == [
        True,
        False,
    ]
    left = re.search(r"<dt>How it left</dt><dd>(.*?)</dd>", vendor["first"], re.S).group(1)
    assert "[EMAIL]" not in left and "EMAIL-" not in left
    assert (f"{len(down)} through anonymous FTP logins (no account: the logs do not identify "
            "who fetched them; the e-mail address given as password is redacted)") in left  # fmt: skip
    # the fixture's xferlog has one download cut short (completion "i", the last field:
    # mozilla@example.com), and it is one of the downloads linked to an extraction
    assert sum(t["completion"] == "i" for t in down) == 1
    assert f"{len(down)} download(s) of them ({len(down) - 1} complete, 1 cut short)" in left


def test_decision_rule_is_the_likelihood_ratio_and_share_rule_labelled(vendor):
    html = vendor["html"]
    rule = re.search(r'<p class="small muted decision-rule">Decision rule: (.*?)</p>', html, re.S)
    assert rule and "likelihood ratio" in rule.group(1) and "ENFSI, 2015" in rule.group(1)
    # the fixture's expected conclusion.json: log10 LR 0.0, so LR 1.00 (log10 0.00)
    assert vendor["f"]["conclusion"]["log10_lr"] == 0.0
    assert "likelihood ratio 1.00 (log10 0.00)" in rule.group(1)
    # the share rule only as the earlier rule, for comparison
    assert "The earlier share rule, shown for comparison only" in html
    assert "Decision rule: With a leak: N = distinct" not in html


def test_stability_figure_is_the_one_its_text_states(vendor):
    v, sens = vendor["f"]["verdict"], vendor["f"]["conclusion"]["sensitivity"]
    # the text counts the conclusion's reruns; the figure was the share rule's 13 of 14
    assert v["stability"] == sens["agreement"] == 1.0
    assert v["stability_text"].startswith(f"100% of {len(sens['runs'])} reruns")


def test_conclusion_table_in_local_time(vendor):
    html = vendor["html"]
    table = html[html.index('<table class="conclusion">') :]
    table = table[: table.index("</table>")]
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z", table)  # no ISO UTC
    op = vendor["f"]["per_lab"][0]["operation"]
    assert f'at <span class="t">{WHEN(op["time"])}</span>' in table  # local (UTC in brackets)
    # the conclusion's coverage line and table count in the first screen's unit (the
    # Limits' sentences are attribution's text, not changed here)
    section = html[html.index('<section id="conclusion"') : html.index('<section id="answer"')]
    cover = re.search(r"<p>Coverage: (.*?)</p>", section).group(1)
    assert "leaked rows" not in cover + table and "lab-patient pairs" in cover + table


def test_first_screen_terms_plain_or_linked(vendor, attacker):
    ids = {glossary_anchor(t) for t, _ in GLOSSARY}
    for run in (vendor, attacker):
        first = run["first"]
        for bare in ("labs not weighed", "producible", "best rank", "log10 likelihood ratio"):
            assert bare not in first, bare
        for href in re.findall(r'href="#(g-[^"]+)"', first):
            assert href in ids and f'id="{href}"' in run["html"]
    links = set(re.findall(r'href="#(g-[^"]+)"', vendor["first"] + attacker["first"]))
    # ENFSI's scale, likelihood ratio, the pair unit, labs weighed, campaign: each linked
    assert {"g-verbal-scale", "g-likelihood-ratio", "g-lab-patient-pair", "g-labs-weighed",
            "g-campaign"} <= links  # fmt: skip


def test_a_long_answer_is_printed_whole_not_clipped():
    # QA (session 5): the demo's "What" (24 labs' shares) passed the 1,000 characters of a
    # clipped free text and read "17,236 of the lab's 28,472 k … [34 characters left out]"
    from labforensics.report.html import MAX_TEXT_CHARS, clip_text
    from labforensics.report.numbers import Composed

    per_lab = [{"lab": f"L{i:02d}", "coverage": {"linked": 1000 + i, "producible": 900}}
               for i in range(1, 31)]  # fmt: skip
    f = {"leak": {"given": True, "patients": 40_000, "found": 30_000},
         "conclusion": {"proposition": "vendor", "coverage": {"total": 40_000}},
         "per_lab": per_lab,
         "leak_linkage": {"per_lab": [{"lab": p["lab"], "patients_in_dump": 900,
                                       "patients_known": 3000} for p in per_lab]}}  # fmt: skip
    rows = summary_view(f, WHEN)["rows"]
    assert all(isinstance(r["answer"], Composed) for r in rows)  # every answer is ours
    long = Composed("x" * (5 * MAX_TEXT_CHARS))
    assert clip_text(long) == long  # printed whole
    assert "left out" in clip_text(str(long))  # a plain text of that size is cut


def test_section_6_does_not_contradict_the_conclusions_strength(vendor):
    # QA (session 5): the first screen read "moderate" (the conclusion's LR) while the
    # hypotheses table of section 6 read "strength strong" (the earlier share rule's grade)
    html = vendor["html"]
    sec = html[html.index('<section id="hypotheses">') :]
    sec = sec[: sec.index("</section>")]
    assert "The earlier share rule&#39;s view, shown for comparison" in sec or (
        "The earlier share rule's view, shown for comparison" in sec
    )
    assert re.search(
        r"<th>grade of the earlier share rule \(not the conclusion(&#39;|')s strength\)</th>", sec
    )
    assert not re.search(r"<th>strength</th>", sec)


# --- issue 16, session 6: one basis for each number, the same in every section -----------


def _section(html: str, sid: str) -> str:
    sec = html[html.index(f'<section id="{sid}"') :]
    return sec[: sec.index("</section>")]


def test_windows_of_section_5_are_the_first_screens(vendor):
    # QA (session 5): section 5 read L01 "after 2018-03-14" (the share rule's first-seen
    # bound) where the first screen read "after 2018-03-15 00:00 CET" (the conclusion's)
    f, html = vendor["f"], vendor["html"]
    when = re.search(r"<dt>When</dt><dd>(.*?)</dd>", vendor["first"], re.S).group(1)
    sec5 = _section(html, "leak")
    conc = _section(html, "conclusion")
    for p in f["per_lab"]:
        after = p["window"].get("after")
        if not after:
            continue
        text = WHEN(after, seconds=False)  # local time with zone, UTC in brackets
        assert f"{p['lab']}: after {text}" in when
        assert f'after <span class="t">{text}</span>' in conc  # the conclusion's table
        row = re.search(rf"<tr><td class=\"c-lab\">{p['lab']}</td>(.*?)</tr>", sec5, re.S).group(1)
        assert f'<td class="c-copy_after">{text}</td>' in row
    # the share rule's bounds stay, labelled as that rule's
    assert "first-seen bound after (earlier share rule)" in sec5
    assert "copy taken after (the conclusion&#39;s window)" in sec5


def test_window_note_by_hand():
    from labforensics.report.leak_tables import window_note, window_rows

    # L01: the share rule's first-seen bound 2018-03-13T23:00Z, the conclusion's (raised to
    # the horizon) 2018-03-14T23:00Z: CET (UTC+1) before the 25 March 2018 change
    f = {"windows": [{"lab": "L01", "after": "2018-03-13T23:00:00Z", "before": None,
                      "n_patients": 20519, "n_leaked": 12509}],
         "per_lab": [{"lab": "L01", "window": {
             "after": "2018-03-14T23:00:00Z", "before": "2018-03-15T06:46:50Z",
             "evidence_after": "2018-03-14T23:00:00Z", "horizon": "2018-03-13T23:00:00Z",
             "evidence_bounds": "likelihood interval of the registrations"}}]}  # fmt: skip
    row = window_rows(f, WHEN)[0]
    assert row["copy_after"] == "2018-03-15 00:00 CET (2018-03-14 23:00 UTC)"
    assert row["copy_before"] == "2018-03-15 07:46 CET (06:46 UTC)"
    assert row["first_seen_after"] == "2018-03-14 00:00 CET (2018-03-13 23:00 UTC)"
    assert row["first_seen_before"] == "none"
    note = window_note(f, WHEN)
    # the demo's L01 (session 6): the conclusion's opening is the registrations' likelihood
    # interval's, a day after the leak's horizon, which the share rule's bound sits on
    assert ("at L01, for example, the conclusion's window opens 2018-03-15 00:00 CET "
            "(2018-03-14 23:00 UTC) (from the likelihood interval of the registrations), the "
            "share rule's bound is 2018-03-14 00:00 CET (2018-03-13 23:00 UTC); the leak's "
            "horizon there is 2018-03-14 00:00 CET (2018-03-13 23:00 UTC).") in note  # fmt: skip
    assert "sighting" in note and "shown for comparison only" in note


def test_section_1_counts_in_the_first_screens_units(vendor):
    f, html = vendor["f"], vendor["html"]
    main = " ".join(f["findings_text"])
    # expected/conclusion.json: 2 labs weighed (L01, L02), none left out
    assert "2 lab(s) weighed by the conclusion" in main
    assert "exfiltration window(s) established" not in main
    # transfers/xferlog: 2 uploads of /pub/transfert/ files by migration.editeur ('i'),
    # 4 downloads of them ('o'): 6 transfers
    assert ("2 extraction file(s) put on the FTP server (uploads) and 4 download(s) of them"
            in main and "6 transfer(s) in section 5" in main)  # fmt: skip
    left = re.search(r"<dt>How it left</dt><dd>(.*?)</dd>", vendor["first"], re.S).group(1)
    assert (
        left.startswith("2 extraction file(s) put on the FTP server")
        and "; 4 download(s) of them" in left
    )
    # the key figures: distinct patients, as the first screen (450 in leak/leaked_ipps.csv)
    assert f"<b>{f['leak']['patients']:,}</b><span>distinct patients in the leak</span>" in html
    assert f["leak"]["patients"] == 450
    assert "<b>2</b><span>labs weighed by the conclusion</span>" in html


def test_limits_count_lab_patient_pairs(vendor):
    sec = _section(vendor["html"], "limits")
    assert "leaked rows" not in sec and "lab-patient pairs" in sec
    assert "leaked rows" not in vendor["f"]["verdict"]["summary"]


def test_limits_text_by_hand():
    from labforensics.attribution.conclusion import limits

    conc = {"coverage": {"linked": 1000, "total": 1200, "producible": 900,
                         "share_producible": 0.75, "not_in_evidence": 100,
                         "logs_after_horizon": 0, "not_producible": 50, "unplaced": 0,
                         "not_weighed": 150},
            "not_weighed": [{"lab": "L15", "linked": 150, "linked_alone": 3,
                             "reason": "3 leaked row(s) linked to this lab alone, fewer than "
                                       "the 5 that false links could make"}]}  # fmt: skip
    text = " | ".join(limits({"fmr": 0.01}, conc, None))
    assert "leaked row" not in text
    # 1 % of the 1,000 pairs of the labs weighed: about 10
    assert "about 10 of the 1,000 lab-patient pairs of the labs weighed" in text
    assert "900 of 1,200 pairs (75.0 %)" in text
    assert ("L15: left out of the weighing, so no proposition is stated for it (3 lab-patient "
            "pair(s) linked to this lab alone") in text  # fmt: skip


def test_account_takeover_named_with_its_evidence(attacker):
    # truth.json: failed logins from 203.0.113.11, then a login as anaïs.f
    src = next(s for s in attacker["f"]["top_sources"] if s["flagged"])
    line = next(s for s in _else_lines(attacker["first"]) if "203.0.113.11" in s)
    assert (f"{src['failed_logins']} failed logins at {src['lab']}" in line
            and "then a successful login from it as anaïs.f: suspected account takeover "
            "(credential compromise: a password guessed, then used) of anaïs.f" in line)  # fmt: skip
    assert 'href="#g-account-takeover"' in attacker["first"]  # the term, in the glossary
    sources = _section(attacker["html"], "sessions")  # section 4's source addresses
    assert re.search(r'<p class="takeover"><b>At L\d\d: suspected account takeover \(credential '
                     r"compromise: a password guessed, then used\): \d+ failed logins from address "
                     r"203\.0\.113\.11 ", sources)  # fmt: skip
    main = next(t for t in attacker["f"]["findings_text"] if "203.0.113.11" in t)
    assert "suspected account takeover (credential compromise) of anaïs.f" in main  # section 1


def test_takeover_on_the_campaign_lines():
    # hand-built: a flagged burst from 203.0.113.9 at L01 then a login as hugo.u; hugo.u's
    # campaign at L01 says so, lisa.b's does not
    from labforensics.report.summary import takeovers

    f = {"top_sources": [{"src_ip": "203.0.113.9", "lab": "L01", "failed_logins": 37,
                          "flagged": True, "success_after_failures": True,
                          "accounts_succeeded": "hugo.u", "rank": 1,
                          "first": "2017-08-09T20:00:00Z"}],
         "campaigns": {"flagged": 2, "flagged_sessions": 2, "top": [
             {"account": a, "lab": "L01", "activity": "export", "rank": r, "flagged": True,
              "campaign_id": f"C{r:012x}", "best_session_id": f"s{r}"}
             for a, r in (("hugo.u", 21), ("lisa.b", 22))]}}  # fmt: skip
    links = summary_view(f, WHEN)["others"][0]["links"]
    assert [x["text"] for x in links] == ["no. 21: hugo.u at L01 (suspected account takeover)",
                                          "no. 22: lisa.b at L01"]  # fmt: skip
    t = takeovers(f, WHEN)[("L01", "hugo.u")]
    assert t.startswith("suspected account takeover (credential compromise")
    # 2017-08-09 20:00 UTC is 22:00 CEST
    assert "37 failed logins from address 203.0.113.9 from 2017-08-09 22:00 CEST" in t


def test_campaign_lines_count_exports_on_section_5cs_basis(vendor):
    # each flagged campaign's line counts the exports of all its sessions, the rows of
    # exports.parquet (section 5c's basis), not its best session's (QA, session 5: "2
    # exports, 122 records" on the line, 22 and 1,424 in section 5c)
    import pandas as pd

    html = vendor["html"]
    camp = pd.read_parquet(vendor["out"] / "campaigns.parquet")
    ex = pd.read_parquet(vendor["out"] / "exports.parquet")
    ids = set(ex["session_id"].astype(str))
    checked = 0
    for c in camp[camp["flagged"]].itertuples():
        sids = {str(s) for s in c.session_ids}
        mine = ex[ex["session_id"].astype(str).isin(sids)]
        line = re.search(rf'<li class="campaign" id="{c.campaign_id}">(.*?)</summary>', html,
                         re.S).group(1)  # fmt: skip
        if sids & ids:
            want = (f"{len(mine):,} export(s)/extraction(s), {int(mine['records'].sum()):,} "
                    f"records, in its {c.n_sessions:,} session(s)")  # fmt: skip
            assert f'<span class="c-exports">{want}</span>' in line
            checked += 1
        else:
            assert "c-exports" not in line
        assert "reasons (figures of the best session showing each)" in line or not len(c.reasons)
    assert checked >= 1  # the fixture's extraction campaign(s) of migration.editeur


def test_each_patient_count_names_its_basis(vendor):
    # QA (session 5): L24 read 44,439 (index), 40,458 (seen in the logs) and 27,839 ("so
    # far") with no basis named; each is now labelled, and the glossary tells the three apart
    html = vendor["html"]
    sec5 = _section(html, "leak")
    assert "<th>patients seen in the lab&#39;s logs (whole period)</th>" in sec5
    # QA session 14: the unit named (pairs here, identifiers in the hypotheses table)
    assert "<th>leaked lab-patient pairs found in the lab&#39;s logs</th>" in sec5
    assert "in lab-patient pairs: a patient of two labs counts at each" in sec5
    sec6 = _section(html, "hypotheses")
    assert "<th>leaked identifiers explained (each once, whatever its labs)</th>" in sec6
    assert "Its counts are distinct leaked identifiers, each counted once" in sec6
    gl = _section(html, "glossary")
    entry = re.search(r'<dt id="g-patients-of-a-lab">patients of a lab</dt><dd>(.*?)</dd>', gl)
    assert entry, "glossary entry"
    for basis in ("in the lab&#39;s index", "seen in the lab&#39;s logs", "seen so far"):
        assert basis in entry.group(1)


# --- session 6: the second reader of the demo report -----------------------------------


def test_operation_time_is_the_extraction_event_not_the_logout(vendor):
    # fixtures/vendor-migration/evidence/L01/AUDIT_L01_20190920.csv: migration.editeur
    # logs in 01:42:23, EXTRACTION at 01:50:49, DECONNEXION at 01:55:29 (local, CEST =
    # UTC+2); L02 (AUDIT_L02_20191110.csv): EXTRACTION 01:02:29, logout 01:08:45 (CET)
    ops = {p["lab"]: p["operation"] for p in vendor["f"]["per_lab"]}
    assert ops["L01"]["time"] == "2019-09-19T23:50:49Z"
    assert ops["L02"]["time"] == "2019-11-10T00:02:29Z"
    who = re.search(r"<dt>Who</dt><dd>(.*?)</dd>", vendor["first"], re.S).group(1)
    # both labs at no support (expected/conclusion.json): Who names no account (QA session 9)
    assert who.startswith("No account is named at L01, L02: the findings there do not favour")
    assert "migration.editeur" not in who
    # the same instant in the Conclusion's table
    assert "2019-09-20 01:50:49 CEST" in vendor["html"]


@pytest.mark.parametrize(
    ("log10", "lr", "shown"),
    [
        # the demo's case: LR 99.405 (log10 1.99741) is "moderate"; rounded to 2
        # decimals it read "log10 2.00", the next band's lower bound: one more decimal
        (1.99741, "99.4", "1.997"),
        (2.0, "100", "2.00"),  # a band's lower bound is in the band: shown as is
        (2.999957, "999.9", "2.99996"),  # rounded "1,000" / "3.00" would read "strong"
        (3.2, "1,580", "3.20"),  # 1,584.9
        (0.17, "1.48", "0.17"),  # 1.479: rounded (session 9), no longer cut
        (6.0, "1,000,000", "6.00"),
        # QA session 9: the HTML cut these; findings.json holds 16.269, 167.98, 2.2977
        (1.2113875, "16.3", "1.21"),  # 16.269
        (2.2252573, "168", "2.23"),  # 167.98
        (2.2977, "198", "2.30"),  # 198.47
    ],
)
def test_likelihood_ratio_never_crosses_a_band_boundary(log10, lr, shown):
    assert lr_text(log10) == lr and log10_text(log10) == shown


def _hand_case() -> dict:
    """Three labs weighed (L17 the weakest, 1.99741 as in the demo), two left out."""
    alts = {
        "L01": [("outside_evidence", 3.43), ("external", 3.43), ("insider", 3.43)],
        "L17": [("outside_evidence", 1.99741), ("insider", 3.1)],
        "L19": [("outside_evidence", 2.49), ("insider", 3.18), ("external", 4.2)],
    }
    lr = {"L01": (3.43, "strong"), "L17": (1.99741, "moderate"), "L19": (2.49, "moderately strong")}
    per_lab = [{"lab": lab, "proposition": "vendor", "log10_lr": lr[lab][0],
                "verbal": lr[lab][1], "alternative": "outside_evidence",
                "coverage": {"linked": 100, "producible": 90},
                "alternatives": [{"proposition": a, "log10_lr": x} for a, x in al],
                "operation": {"op": f"s{lab}", "account": "migration.editeur",
                              "hypothesis": "vendor", "records": 10,
                              "time": "2018-03-15T00:45:44Z"}}
               for lab, al in alts.items()]  # fmt: skip
    nw = [{"lab": "L15", "linked": 990, "linked_alone": 4, "reason": "4 leaked row(s) linked "
           "to this lab alone, fewer than the 250 that false links could make"},
          {"lab": "L29", "linked": 826, "linked_alone": 1, "reason": "1 leaked row(s) linked "
           "to this lab alone, fewer than the 250 that false links could make"}]  # fmt: skip
    return {
        "leak": {"given": True, "patients": 400, "found": 300},
        "conclusion": {"proposition": "vendor", "log10_lr": 1.99741, "verbal": "moderate",
                       "alternative": "outside_evidence", "not_weighed": nw,
                       "coverage": {"total": 2116, "producible": 270, "not_in_evidence": 30,
                                    "not_weighed": 1816, "unplaced": 0}},
        "per_lab": per_lab,
        "transfers": [
            {"direction": "download", "outside": True, "transfer_ts": "2018-01-23T10:13:30Z"},
            {"direction": "download", "outside": True, "transfer_ts": "2020-01-23T04:01:46Z"},
            {"direction": "download", "outside": False, "transfer_ts": "2021-01-01T00:00:00Z"},
        ],
        "exports": {"register": True, "operations": 50,
                    "by_status": {"authorised": 45, "beyond": 3, "unregistered": 2},
                    "beyond": [{"session_id": f"s{lab}"} for lab in alts],
                    "by_lab": {"L10": {"unregistered": 2}}},
        "campaigns": {"flagged": 4, "flagged_sessions": 4, "top": [
            {"rank": r, "flagged": True, "account": "migration.editeur", "lab": lab,
             "activity": "export", "best_session_id": f"s{lab}", "campaign_id": f"C{r}"}
            for r, lab in ((1, "L01"), (2, "L17"), (3, "L19"))] + [
            {"rank": 4, "flagged": True, "account": "hotline.editeur", "lab": "L10",
             "activity": "export", "best_session_id": "h", "campaign_id": "C4",
             "rules": ["unregistered_export", "vendor_export"]}]},
    }  # fmt: skip


def test_how_sure_says_it_is_the_weakest_lab_and_the_alternatives():
    ans = {r["question"]: r["answer"] for r in summary_view(_hand_case(), WHEN)["rows"]}
    how = ans["How sure"]
    assert "likelihood ratio, log10 1.997" in how and "are 99.4 times more probable" in how
    # the case's 1.99741 is L17's, the smallest of the three labs' log10 LRs
    assert "this is the weakest of the 3 labs weighed (L17)" in how
    # each band once, strongest first: L01 strong, L19 moderately strong, L17 moderate
    assert "the labs alone: 1 strong, 1 moderately strong, 1 moderate" in how
    # staff: min(3.43, 3.1, 3.18) = 3.1 at L17 -> 10**3.1 = 1,258.9 -> "1,260", strong;
    # outside intruder: min(3.43, 4.2) = 3.43 at L01, of the 2 labs where it had one
    assert ("over laboratory staff by a likelihood ratio of 1,260 or more (strong; the "
            "weakest of the 3 labs where they had a logged operation, L17)") in how  # fmt: skip
    assert ("over an outside intruder by a likelihood ratio of 2,690 or more (strong; the "
            "weakest of the 2 labs where they had a logged operation, L01)") in how  # fmt: skip


def test_what_names_every_lab_and_the_left_out_ones_with_why():
    what = {r["question"]: r["answer"] for r in summary_view(_hand_case(), WHEN)["rows"]}["What"]
    assert "300 of the 3 lab(s) weighed (L01, L17, L19), 270 of them could" in what
    # 990 + 826 = 1,816 pairs of the labs left out, each with its own pairs
    assert (
        "Left out of the weighing (1,816 pairs): L15 (4 of its own), L29 (1 of its own): "
        "pairs linked to that lab alone, fewer than 250, the number of false links reached "
        "with 1 % chance at the linkage's estimated false-match rate."
    ) in what
    assert "more" not in what


def test_when_gives_the_span_of_the_outside_downloads():
    when = {r["question"]: r["answer"] for r in summary_view(_hand_case(), WHEN)["rows"]}["When"]
    # the two outside downloads (the third is from inside): 2018-01-23 10:13 UTC = 11:13
    # CET; 2020-01-23 04:01 UTC = 05:01 CET
    assert when.endswith("The 2 complete downloads from outside addresses ran from 2018-01-23 "
                         "11:13 CET (10:13 UTC) to 2020-01-23 05:01 CET (04:01 UTC).")  # fmt: skip
    # QA session 20: a fetch cut short (completion "i") took no file: not in the span
    f = _hand_case()
    f["transfers"].append({"direction": "download", "outside": True, "completion": "i",
                           "transfer_ts": "2021-05-01T00:00:00Z"})  # fmt: skip
    when = {r["question"]: r["answer"] for r in summary_view(f, WHEN)["rows"]}["When"]
    assert when.endswith("to 2020-01-23 05:01 CET (04:01 UTC).")


def test_what_else_says_the_hidden_ranks_are_the_leading_operations():
    others = [o["text"] for o in summary_view(_hand_case(), WHEN)["others"]]
    assert others[0] == ("campaign(s) no. 1-3: the leading operations above "
                         "(migration.editeur, exports or extractions)")  # fmt: skip
    # the three beyond their authorisation are the three leading operations (session ids)
    assert (
        "3 export(s)/extraction(s) beyond their authorisation: the leading operations above"
        in others
    )
    assert (
        "2 export(s)/extraction(s) by an account the authorisation register does not name "
        "for that work at that lab (2 at L10; "
        "the account of their flagged campaigns: hotline.editeur)"
    ) in others


def test_lr_in_the_conclusion_table_and_section_one_as_on_the_first_screen(vendor):
    html = vendor["html"]
    table = html[html.index('<table class="conclusion">') :]
    table = table[: table.index("</table>")]
    # fixtures/vendor-migration/expected/conclusion.json: L02 log10 LR 0.218 -> LR
    # 10**0.218 = 1.651 -> "1.65 (0.22)", rounded half-even (session 9: was cut to 0.21);
    # L01 0.0 -> "1.00 (0.00)"
    assert "<td>1.65 (0.22)</td>" in table and "<td>1.00 (0.00)</td>" in table
    assert "%.2f" not in html


def test_section_one_strength_and_sensitivity_never_across_a_band():
    from labforensics.report.findings import _sensitivity_text, _strength_text

    # the demo's 1.99741 ("moderate") read "log10 LR 2.00" in section 1's verdict box;
    # rounded half-even to 2 decimals it would again: one more decimal (session 9)
    c = {"log10_lr": 1.99741, "verbal": "moderate", "alternative": "outside_evidence",
         "sensitivity": {"runs": [{}, {}], "agreement": 1.0, "log10_lr_range": [1.99741, 2.5099]}}  # fmt: skip
    # the alternative in words, not its code (QA, session 8)
    assert _strength_text(c) == ("moderate (log10 LR 1.997 against a copy outside the logged "
                                 "evidence (made by no logged operation))")  # fmt: skip
    assert _sensitivity_text(c).endswith("; log10 LR 1.997 to 2.51")  # 2.5099 rounded


def test_an_alternative_held_at_the_ceiling_says_so():
    # third reader (session 6): "2,710 or more" read as a measurement; at L01 the outside
    # intruder's log10 LR is 3.43 capped, 40.2 uncapped: the first screen says it is held
    f = _hand_case()
    for p in f["per_lab"]:
        for a in p["alternatives"]:
            a["log10_lr_uncapped"] = (
                40.2 if (p["lab"], a["proposition"]) == ("L01", "external") else a["log10_lr"]
            )
    how = {r["question"]: r["answer"] for r in summary_view(f, WHEN)["rows"]}["How sure"]
    # QA session 14: a value held at the ceiling is not known to be more: no "or more",
    # the ceiling named (10**3.43 = 2,691.5 -> "2,690")
    assert ("over an outside intruder by a likelihood ratio of 2,690 (strong; the "
            "weakest of the 2 labs where they had a logged operation, L01; held at the "
            "ceiling of 2,690, see Limits)") in how  # fmt: skip
    assert "2,690 or more" not in how
    # staff's weakest (L17, 3.1) is not held: no such words there
    assert "L17; held" not in how


def test_when_gives_the_span_of_the_leading_operations_themselves():
    # third reader (session 6): the windows bound the copy; the logged operations' own
    # times were one click away. L01 at 00:45:44 UTC on 2018-03-15, L17 a year later,
    # L19 in between: first L01, last L17, in local time with UTC
    f = _hand_case()
    times = {"L01": "2018-03-15T00:45:44Z", "L17": "2019-06-18T23:59:13Z",
             "L19": "2018-10-31T00:30:02Z"}  # fmt: skip
    for p in f["per_lab"]:
        p["operation"]["time"] = times[p["lab"]]
        p["window"] = {"after": "2018-01-01T00:00:00Z", "before": "2019-12-01T00:00:00Z"}
    when = {r["question"]: r["answer"] for r in summary_view(f, WHEN)["rows"]}["When"]
    assert ("; the 3 leading operations themselves ran from 2018-03-15 01:45 CET (00:45 UTC) "
            "(L01) to 2019-06-19 01:59 CEST (2019-06-18 23:59 UTC) (L17), each lab's time in "
            "the Conclusion") in when  # fmt: skip


def test_evidence_rows_give_the_events_own_record_count(attacker):
    # QA, session 9: a search's 17,636 hits were shown under "records sent out"; an
    # evidence row's count is the event's own (found, read or sent)
    sec = _section(attacker["html"], "sessions")
    heads = re.findall(r"<th[^>]*>(.*?)</th>", sec)
    assert "records (the event's own count: found, read or sent)" in [
        re.sub(r"<[^>]+>", "", h).replace("&#39;", "'") for h in heads
    ]
    assert "records sent out" not in [re.sub(r"<[^>]+>", "", h) for h in heads]


def test_the_dependence_ceiling_at_one_lab_reads_very_strong_held_there():
    # QA session 14 (the demo): "10,000 or more (very strong ...; held at the method's
    # ceiling)". The ceiling at eps 1 % is min(6, 2 log10(100)) = 4: LR 10,000, in the
    # band [10,000, 1,000,000) "very strong" (each band includes its lower bound)
    f = _hand_case()
    f["per_lab"] = [f["per_lab"][0]]  # L01 only
    f["per_lab"][0]["alternatives"] = [
        {"proposition": "insider", "log10_lr": 4.0, "log10_lr_uncapped": 57.3},
    ]
    how = {r["question"]: r["answer"] for r in summary_view(f, WHEN)["rows"]}["How sure"]
    assert ("over laboratory staff by a likelihood ratio of 10,000 (very strong; at L01, the "
            "one lab where they had a logged operation; held at the ceiling of 10,000, see "
            "Limits)") in how  # fmt: skip
    assert "or more" not in how
