"""A second first-time reader's audit of the report's sections (session 6): no bare
None/nan/NaT, the tool's own texts never cut, section 4 says exactly what it shows,
quarantine wording true, linkage figures labelled, unnamed FTP downloads explained,
section 6's rows labelled with grades and stability, glossary terms, horizons before the
logs, and the PDF's print copy (every <details> open, names broken at dots)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_words_not_codes import visible_text

import labforensics as lf
from labforensics.report.html import MISSING, blank, clip_text
from labforensics.report.leak_tables import hypotheses_ctx, shared_against, transfer_notes
from labforensics.report.leak_view import _column_words, _figures_relate, _per_lab_views
from labforensics.report.numbers import Composed
from labforensics.report.pdf import break_points, open_details, print_copy
from labforensics.report.words import EXTRA_GLOSSARY, ROLE_WORDS

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "damaged-files"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    case = lf.CaseContext.from_file(FIXTURE / "case.toml")
    out = tmp_path_factory.mktemp("second") / "out"
    lf.investigate(None, out, case=case, progress=False)
    return (out / "report.html").read_text(encoding="utf-8")


# --- 1. no bare None / nan / NaT -------------------------------------------------------


def test_no_bare_none_nan_nat_in_the_report(report):
    # a reader takes "None" for a value: every missing value is a dash or words
    text = visible_text(report)
    assert re.findall(r"\b(None|nan|NaN|NaT)\b", text) == []
    # the companion files say what they are (case.toml gives a leak and a transfer log)
    assert re.search(
        r'c-source_file">leaked_ipps\.csv</td><td class="c-format">leaked file<', report
    )
    assert re.search(r'c-source_file">xferlog</td><td class="c-format">FTP transfer log<', report)
    assert re.search(r'c-source_file">case\.toml</td><td class="c-format">case file<', report)


def test_blank_replaces_each_missing_kind():
    for v in (None, float("nan"), np.float64("nan"), pd.NaT, pd.NA):
        assert blank(v) == MISSING
    for v in (0, 0.0, "", "None of them", False):  # values, not missing
        assert blank(v) is v


# --- 2. the tool's own text is never cut -----------------------------------------------


def test_own_text_whole_evidence_text_cut():
    own = Composed("x" * 12_000)  # a list of 358 file names is ~11,000 characters
    assert clip_text(own) == own
    assert clip_text("y" * 1_500).endswith("… [500 characters left out]")


def test_report_cuts_none_of_its_own_sentences(report):
    # the fixture's evidence holds no free text over 1,000 characters: nothing is cut
    assert "characters left out" not in report


def test_shared_evidence_against_printed_once():
    rows = [{"hypothesis": "vendor", "evidence_against": "labs not explained: L15"},
            {"hypothesis": "external",
             "evidence_against": "no candidate session ; labs not explained: L15"}]  # fmt: skip
    got, shared = shared_against(rows)
    assert shared == "labs not explained: L15" and isinstance(shared, Composed)
    assert got[0]["evidence_against"] == "the labs no candidate explains (under the table)"
    assert got[1]["evidence_against"] == (
        "no candidate session; the labs no candidate explains (under the table)"
    )
    # nothing shared: unchanged
    one = [{"evidence_against": "a"}, {"evidence_against": "b"}]
    assert shared_against(one) == (one, "")


# --- 3. section 4 says what it shows ---------------------------------------------------


def test_section_four_says_what_it_shows(report):
    # damaged-files: 2 flagged sessions (expected/flagged of the fixture's truth: the
    # two vendor extractions), both among the 3 shown in full, 7 more in a line each
    sec = report[report.index('id="sessions"') : report.index('id="sources"')]
    text = re.sub(r"\s+", " ", visible_text(sec))
    assert "Each flagged session (and the first three) is shown" not in text
    assert ("the 3 highest-scoring session(s), 2 of them flagged, then 7 more in one line "
            "each.") in text  # fmt: skip
    assert sec.count('<div class="session">') == 3


# --- 4. quarantine wording -------------------------------------------------------------


def test_quarantine_wording_is_true(report):
    text = re.sub(r"\s+", " ", visible_text(report))
    assert "(text redacted)" not in text and "values shown as" not in text
    assert "patient and request numbers are replaced by their keyed pseudonyms" in text
    assert "Staff logins, addresses and workstation names stay as logged" in text
    assert "this is grouping, not redaction" in text


# --- 5. linkage figures labelled -------------------------------------------------------


def test_decoy_count_and_false_match_rate_related():
    # the demo's figures: N = 637,897 dump rows, R = 570,158 linked, D = 2,021 linked to
    # the decoy at the threshold used; the block-decoy estimator D/N x (N-R)/R
    n, r, d = 637_897, 570_158, 2_021
    fmr = d / n * (n - r) / r
    assert round(fmr, 6) == 0.000376  # findings' false_match_rate: the text's derivation holds
    ll = {"rows": n, "rows_linked": r, "threshold": 0.5, "false_match_rate": 0.000376,
          "fmr_by_threshold": [{"threshold": 0.5, "links": r, "decoy_links": d}]}  # fmt: skip
    text = _figures_relate(ll)
    assert "its 2,021 linked rows are all false links, counted over all 637,897 rows" in text
    assert "(decoy link rate 0.3 % per dump row)" in text  # 2,021 / 637,897 = 0.317 %
    assert "among the 67,739 rows left unlinked" in text  # 637,897 - 570,158
    assert "the false-match rate 0.04 % is per linked row" in text
    assert _figures_relate({"rows": n}) == ""


# --- 6. unnamed FTP downloads ----------------------------------------------------------


def test_unnamed_downloads_explained(report):
    # fixtures/damaged-files/transfers/xferlog: 18 lines; 9 downloads ('o') of files no
    # extraction names (3 notice_installation.pdf, 2 of each of 3 LIS_5.0.x.zip)
    m = re.search(r'<p class="small transfer-note">([^<]*)', report)
    assert m and m.group(1).startswith("18 FTP transfers read;")
    assert "9 downloads of files no logged extraction names" in m.group(1)
    assert "The 9 downloads fetched files that no logged export or extraction produced" in m[1]
    assert "the evidence cannot say what they held" in m.group(1)
    # a note of another kind is not shown as a transfer note
    f = {"attribution": {"totals": {"notes": ["something else"]}}}
    assert transfer_notes(f) == []


# --- 7. section 6 ----------------------------------------------------------------------


def test_section_six_labels_grades_and_stability(report):
    sec = report[report.index('id="hypotheses"') : report.index('id="glossary"')]
    text = re.sub(r"\s+", " ", visible_text(sec))
    # no longer a row of the table under one hypothesis (the rule's evidence may name it)
    assert "<th>share fetched from outside</th>" not in sec
    assert "How the copy left, not who made it:" in text
    assert "Grades of the earlier share rule" in text and "moderate:" in text
    # every run of the stability check in findings is counted
    assert re.search(r"Stability of this rule's verdict: [\d.]+ % of \d+ reruns", text)


def test_stability_counts_runs_by_hand():
    # 13 of 14 runs agree: 92.9 %, the one that does not named
    runs = [{"param": "p", "value": 1.0, "agrees": True, "verdict": "vendor"}] * 13
    runs = runs + [{"param": "min_explained", "value": 1.0, "agrees": False,
                    "verdict": "undetermined"}]  # fmt: skip
    f = {"attribution": {"stability": {"agreement": 13 / 14, "runs": runs},
                         "params": {"mixed_share": 0.2, "dominant_share": 0.8}},
         "hypotheses": [{"hypothesis": "external", "share": 0.0,
                         "share_retrieved_outside": 0.875}]}  # fmt: skip
    got = hypotheses_ctx(f)
    assert got["hyp_stability"].startswith("Stability of this rule's verdict: 92.9 % of 14 ")
    assert "min_explained = 1 gives undetermined" in got["hyp_stability"]
    assert got["hyp_outside_share"] == 0.875
    assert "share_retrieved_outside" not in got["hypotheses"][0]
    assert "at least 80.0 %" in got["hyp_grades"] and "(20.0 %)" in got["hyp_grades"]


# --- 8. glossary and roles -------------------------------------------------------------


def test_glossary_defines_the_sections_terms(report):
    terms = set(re.findall(r'<dt id="g-[^"]*">([^<]*)</dt>', report))
    for t in ("fit", "horizon", "leading operation", "vendor network", "change point",
              "first-seen bound", "uncapped", "mismatch rate"):  # fmt: skip
        assert t in terms, t
    assert len({t for t, _ in EXTRA_GLOSSARY}) == len(EXTRA_GLOSSARY)


def test_vendor_role_names_the_account_kind_not_the_hotline():
    # the migration account holds the EDITEUR profile too: the words name the kind only
    assert "hotline" not in ROLE_WORDS["EDITEUR"] and "vendor account" in ROLE_WORDS["EDITEUR"]


def test_no_internal_path_in_the_report(report):
    assert "shared/formats/" not in visible_text(report)


def test_fixed_width_column_in_words():
    assert _column_words("sample_date:142-1048576") == (
        "sample_date (characters 142 to the end of the line)"
    )
    assert _column_words("surname:1-32") == "surname (characters 1 to 32)"
    assert _column_words("surname") == "surname"


# --- 9. horizon before the logs --------------------------------------------------------


def test_horizon_before_the_logs_is_said():
    # L18's horizon 2013-06-11 is before its first logged event (2015-01-02)
    per_lab = [{"lab": "L18", "horizon": "2013-06-11T00:00:00Z", "horizon_m": 16,
                "horizon_support": 20},
               {"lab": "L01", "horizon": "2018-03-13T23:00:00Z", "horizon_m": 16,
                "horizon_support": 43}]  # fmt: skip
    start = {
        "L18": pd.Timestamp("2015-01-02", tz="UTC"),
        "L01": pd.Timestamp("2015-01-02", tz="UTC"),
    }
    _, rows = _per_lab_views(per_lab, "", lambda v, seconds=True: str(v)[:10], start)
    assert "before the lab's logs start (2015-01-02)" in rows[0]["horizon"]
    assert "bounded by the logs' start" in rows[0]["horizon"]
    assert rows[1]["horizon"] == "2018-03-13"
    assert rows[0]["support"] == "20 linked rows (at least 16 needed)"


# --- 10. the PDF's print copy ----------------------------------------------------------


def test_print_copy_opens_every_details():
    html = ('<body><details><summary>a</summary></details><details class="c">x</details>'
            "<details open>y</details><details\nid=z>w</details></body>")  # fmt: skip
    got = open_details(html)
    assert got.count("<details open") == 4 and "open open" not in got


def test_print_copy_breaks_names_at_dots_and_underscores_only():
    html = ('<style>.a_b { x: 0.5 }</style><body><td>migration.editeur</td><td>0.04 %</td>'
            '<td>AUDIT_L15_20150104.csv</td><img src="data:image/png;base64,a.b_c"></body>')  # fmt: skip
    got = break_points(html)
    assert "<style>.a_b { x: 0.5 }</style>" in got  # the style sheet untouched
    assert "migration.<wbr>editeur" in got and "<td>0.04 %</td>" in got
    assert "AUDIT_<wbr>L15_<wbr>20150104.<wbr>csv" in got
    # a logged line breaks after its separators; an entity stays whole
    assert (
        break_points("<body><code>a;b;c &amp;x</code>")
        == "<body><code>a;<wbr>b;<wbr>c &amp;<wbr>x</code>"
    )
    assert 'src="data:image/png;base64,a.b_c"' in got  # attributes untouched


def test_fixture_print_copy_keeps_every_table(report):
    # every <details> of the report is open in the copy Chromium prints, so the PDF
    # holds every table (those the text says are "shown below" too)
    got = print_copy(report)
    assert len(re.findall(r"<details(?![^>]*\bopen\b)[\s>]", got)) == 0
    assert got.count("<table") == report.count("<table")
    assert got.count("<details") == report.count("<details")


# --- QA session 11: the files table's heading counts what the table holds ---------------


def test_files_heading_counts_the_table_rows(report):
    m = re.search(r"<summary>Files and hashes \(([\d,]+) evidence file\(s\)(?: and ([\d,]+) "
                  r"companion file\(s\))?\)</summary>\s*(.*?)</table>", report, re.S)  # fmt: skip
    assert m, "the files table's heading"
    rows = m.group(3).count("<tr>") - 1  # the header row
    evidence, companions = int(m.group(1).replace(",", "")), int(m.group(2) or 0)
    assert companions > 0  # case.toml gives a leak, a transfer log, the case file
    assert rows == evidence + companions
