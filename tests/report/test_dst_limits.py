"""Times in a daylight-saving change's hour are counted and said (fresh-eyes QA, session 7):
they were shifted and tagged in events.parquet (``ts_quality``) but findings.json and the
report never said how many, while section 7 said they were "resolved and flagged"."""

from __future__ import annotations

import pandas as pd
import pytest
from standin import STANDIN_ATTRIBUTION, standin_case, standin_scores

from labforensics import read_evidence
from labforensics.case_events import CaseEvents
from labforensics.report import ReportData, render_report
from labforensics.report.findings import build_findings, dst_limit, session_scores_table
from labforensics.report.tables import clock_quality
from lis_headers import LEGACY_HEADER as HEADER

ROW = "{day};{time};L01;S1;tech.a;TECHNICIEN;PC-1;10.0.0.5;RESULTATS;{action};OK;{ipp};;;"
ROWS = [
    ("31/03/2019", "01:55:00", "CONNEXION", ""),
    ("31/03/2019", "02:10:00", "CONSULTATION", "100001"),  # spring-forward: shifted
    ("31/03/2019", "02:20:00", "CONSULTATION", "100002"),  # spring-forward: shifted
    ("31/03/2019", "03:05:00", "DECONNEXION", ""),  # now before the two reads
    ("27/10/2019", "02:30:00", "CONSULTATION", "100003"),  # fall-back, no backward step
]
LIMIT = (
    "2 event(s) fell in a nonexistent local hour (spring-forward) and were shifted by one "
    "hour; 1 in a repeated local hour (fall-back: 0 placed from the order of their file's "
    "lines, 1 read as the first pass), in 1 file(s) of 1 lab(s): their order within a "
    "session may be wrong (events.parquet, column ts_quality)"
)


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> pd.DataFrame:
    """The hand-written legacy LIS file (cp1252, CRLF), read; one session."""
    folder = tmp_path_factory.mktemp("dst")
    lines = [HEADER, *(ROW.format(day=d, time=t, action=a, ipp=i) for d, t, a, i in ROWS)]
    (folder / "AUDIT_L01_20190331.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    ev = read_evidence(folder, case_key=bytes(range(32))).events
    assert len(ev) == 5
    ev["session_id"] = pd.Series(["S1"] * len(ev), dtype="string")
    return ev


def _findings(ev: pd.DataFrame | CaseEvents, whole: pd.DataFrame) -> dict:
    g = whole.groupby("session_id")
    ss = pd.DataFrame({"session_id": ["S1"], "lab": ["L01"], "account": ["tech.a"],
                       "start": [g["ts"].min().iloc[0]], "end": [g["ts"].max().iloc[0]],
                       "n_events": [len(whole)]})  # fmt: skip
    return build_findings(
        events=ev, sessions=ss, session_scores=session_scores_table(standin_scores(ss)),
        attribution=STANDIN_ATTRIBUTION, accounting={"totals": {}, "files": []}, inputs=[],
        case=standin_case(), parameters={"seed": 0}, key_fingerprint="0123456789abcdef",
    )  # fmt: skip


def test_the_reader_tagged_the_rows(events):
    # the premise: two shifted rows, one unresolved; the logout now precedes the reads
    q = events["ts_quality"].astype(str).value_counts().to_dict()
    assert q == {"exact": 2, "nonexistent_shifted": 2, "ambiguous_unresolved": 1}
    logout = events.loc[events["action"] == "logout", "ts"].iloc[0]
    reads = events.loc[events["ts_quality"] == "nonexistent_shifted", "ts"]
    assert (reads > logout).all()


@pytest.mark.parametrize("held", ["frame", "case_events"])
def test_counts_and_limit(events, held):
    ev = events if held == "frame" else CaseEvents.from_frame(events)
    f = _findings(ev, events)
    assert f["clock_quality"] == {
        "counts": {"nonexistent_shifted": 2, "ambiguous_resolved": 0, "ambiguous_unresolved": 1},
        "labs": [{"lab": "L01", "nonexistent_shifted": 2, "ambiguous_resolved": 0,
                  "ambiguous_unresolved": 1}],
        "files": [{"lab": "L01", "source_file": "AUDIT_L01_20190331.csv",
                   "nonexistent_shifted": 2, "ambiguous_resolved": 0,
                   "ambiguous_unresolved": 1}],
    }  # fmt: skip
    assert LIMIT in f["limits"]
    # shown where the limits are shown
    html = render_report(ReportData(findings=f, events=events, sessions=pd.DataFrame(),
                                    quarantine=pd.DataFrame(columns=["source_file"]),
                                    accounting=pd.DataFrame()))  # fmt: skip
    assert "fell in a nonexistent local hour (spring-forward)" in html


def test_clock_quality_of_a_frame_equals_that_of_case_events(events):
    assert clock_quality(events) == clock_quality(CaseEvents.from_frame(events))


def test_no_limit_without_such_times(events):
    exact = events[events["ts_quality"] == "exact"].reset_index(drop=True)
    f = _findings(exact, exact)
    assert f["clock_quality"]["counts"] == dict.fromkeys(
        ("nonexistent_shifted", "ambiguous_resolved", "ambiguous_unresolved"), 0
    )
    assert not any("nonexistent local hour" in t for t in f["limits"])
    assert dst_limit(f["clock_quality"]) is None
    # fall-back hours only: the sentence starts with them
    only = {"counts": {"ambiguous_resolved": 3}, "files": [{}], "labs": [{}]}
    assert dst_limit(only).startswith("3 event(s) in a repeated local hour (fall-back: 3 placed")
