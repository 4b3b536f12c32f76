"""Stand-in tables (documented columns, hand-built) for report tests without upstream stages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labforensics import schema
from labforensics.case import CaseContext
from labforensics.report import ReportData, render_report
from labforensics.report.findings import build_findings, session_scores_table

#: The hostile values of shared/cases/009-hostile-text/expected.md.
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</td><script>alert(1)</script>",
    'http://h.example/?q=a"b',
    '=HYPERLINK("http://x.example/?"&A1;"ok")',
    "@SUM(1+1)",
    "+33 2 99 00 00 00",
    "-5.2",
]
MATH_HOST = r"cost $x^2$ \$HOME"


def standin_events() -> pd.DataFrame:
    """Two labs, a legacy->current migration in L01, one hostile export session."""
    rows = []
    t0 = pd.Timestamp("2019-03-01 08:00", tz="UTC")
    for d in range(60):
        for lab, fmt in (("L01", "lis_legacy" if d < 30 else "lis_current"), ("L02", "lis_legacy")):
            for k, act in enumerate(["login", "read", "query", "export", "logout"]):
                rows.append({
                    "ts": t0 + pd.Timedelta(days=d, minutes=5 * k),
                    "lab": lab, "account": f"tech.{lab.lower()}", "role": "TECHNICIEN",
                    "account_kind": "staff", "host": f"PC-{lab}", "src_ip": "10.0.0.5",
                    "module": "RESULTATS", "action": act, "action_raw": act.upper(),
                    "outcome": "success", "patient": "P0123456789abcdef" if act == "read" else None,
                    "records": 12 if act == "export" else None,
                    "source_format": fmt, "source_file": f"audit_{lab}_{d}.csv",
                    "source_line": k + 2, "detail": None,
                })  # fmt: skip
    # the hostile session: vendor account, hostile host and comments, a big extraction
    ts = pd.Timestamp("2019-04-20 01:00", tz="UTC")
    for k, text in enumerate(HOSTILE):
        rows.append({
            "ts": ts + pd.Timedelta(minutes=k), "lab": "L01", "account": HOSTILE[0],
            "role": "EDITEUR", "account_kind": "vendor", "host": MATH_HOST,
            "src_ip": "198.51.100.7", "module": "EXTRACTION", "action": "extract",
            "action_raw": "EXTRACTION", "outcome": "success", "patient": None,
            "records": 5000, "source_format": "lis_current", "source_file": "audit_l01_x.csv",
            "source_line": 10 + k, "detail": text,
        })  # fmt: skip
    ev = pd.DataFrame(rows).sort_values("ts", kind="stable").reset_index(drop=True)
    ev = schema.coerce_events(ev)
    ev["seq"] = np.arange(len(ev), dtype="int64")
    # one session per lab and day, plus the hostile one
    day = ev["ts"].dt.strftime("%Y%m%d")
    ev["session_id"] = ("S" + ev["lab"].astype(str) + day).astype("string")
    ev.loc[ev["account_kind"] == "vendor", "session_id"] = "SHOSTILE"
    return ev


def standin_sessions(ev: pd.DataFrame) -> pd.DataFrame:
    g = ev.groupby("session_id", sort=True)
    s = pd.DataFrame({
        "session_id": g["session_id"].first().astype("string"),
        "lab": g["lab"].first(), "account": g["account"].first(),
        "account_kind": g["account_kind"].first(), "role": g["role"].first(),
        "start": g["ts"].min(), "end": g["ts"].max(), "n_events": g.size(),
        "hosts": g["host"].first(), "src_ips": g["src_ip"].first(),
        "records_exported": g["records"].sum().astype("int64"),
        "records_extracted": g["records"].sum().astype("int64"),
    }).reset_index(drop=True)  # fmt: skip
    s.loc[s["session_id"] != "SHOSTILE", "records_extracted"] = 0
    s.loc[s["session_id"] == "SHOSTILE", "records_exported"] = 0
    s["duration_s"] = (s["end"] - s["start"]).dt.total_seconds()
    return s


def standin_scores(ss: pd.DataFrame) -> pd.DataFrame:
    score = np.where(ss["session_id"] == "SHOSTILE", 9.5, np.linspace(-5.2, 1.0, len(ss)))
    out = pd.DataFrame({"session_id": ss["session_id"], "score": score})
    out["rank"] = out["score"].rank(ascending=False, method="first").astype("int64")
    out["flagged"] = out["score"] > 5
    out["reasons"] = np.where(out["flagged"], "records_extracted 35000 vs 0 usual; " + HOSTILE[1],
                              "")  # fmt: skip
    return out.sort_values("rank").reset_index(drop=True)


STANDIN_ATTRIBUTION = {
    "verdict": "vendor",
    "verdict_rule": "vendor pathway explains >= 80% of leaked patients",
    "stability": {"agreement": 0.95, "runs": 20},
    "hypotheses": [
        {"hypothesis": "vendor", "score": 0.9, "explained_patients": 4200, "evidence": HOSTILE[0]},
        {"hypothesis": "insider", "score": 0.1, "explained_patients": 120, "evidence": ""},
        {"hypothesis": "outside", "score": 0.0, "explained_patients": 0, "evidence": ""},
    ],
    "windows": [{"lab": "L01", "start": "2019-04-20T00:30:00Z", "end": "2019-04-20T02:00:00Z",
                 "patients": 4200}],
    "pathways": [{"account": HOSTILE[0], "labs": ["L01"], "records": 35000}],
    "coverage": [{"lab": "L01", "leaked": 5000, "found": 4800, "explained": 4200},
                 {"lab": "L02", "leaked": 300, "found": 280, "explained": 0}],
}  # fmt: skip


def standin_case() -> CaseContext:
    return CaseContext(name="Stand-in case " + HOSTILE[1], seed=0)


def standin_report(accounting: dict) -> tuple[dict, str]:
    """The findings and the HTML report of the stand-in tables with ``accounting`` (the
    ingest report's dict: ``totals``, ``files`` ...); the accounting table shown holds
    ``accounting["files"]`` and a TOTAL row."""
    ev = standin_events()
    ss = standin_sessions(ev)
    sc = session_scores_table(standin_scores(ss))
    f = build_findings(
        events=ev, sessions=ss, session_scores=sc, attribution=STANDIN_ATTRIBUTION,
        accounting=accounting, inputs=[], case=standin_case(),
        parameters={"seed": 0}, key_fingerprint="0123456789abcdef", reproduce="x",
    )  # fmt: skip
    acc = pd.DataFrame([*accounting.get("files", []), {"source_file": "TOTAL"}])
    q = pd.DataFrame(columns=["source_file", "source_line", "reason", "raw"])
    data = ReportData(findings=f, events=ev, sessions=ss, quarantine=q, accounting=acc,
                      session_scores=sc)  # fmt: skip
    return f, render_report(data)
