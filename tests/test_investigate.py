"""investigate(): the trust properties of its outputs, on a small hand-written case.

The case (tests/hostile.py): one lab, 21 daily current-dialect files, a vendor
night extraction of all 240 patients with the hostile texts of case 009 in its
account, workstation and comments, three hostile lines of the wrong width, a
gzipped day cut short and a binary file no reader knows; the leak is the 240
patients.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import labforensics as lf
from hostile import HOSTILE_ACCOUNT, HOSTILE_HOST, ipps, write_hostile_case
from labforensics.errors import EvidenceError, OutputExistsError
from labforensics.identity import canonical_host

OUTPUTS = ("report.html", "findings.json", "events.parquet", "sessions.parquet",
           "scores.parquet", "scores_account_day.parquet", "scores_account_month.parquet",
           "campaigns.parquet", "exports.parquet", "quarantine.csv", "field_problems.csv",
           "sources.csv", "manifest.json")  # fmt: skip


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The case investigated twice into two folders with one case key, via a case.toml."""
    base = tmp_path_factory.mktemp("inv")
    p = write_hostile_case(base / "case", damaged=True)
    (base / "case.key").write_text(bytes(range(32)).hex() + "\n")
    case = base / "case.toml"
    case.write_text('[case]\nname = "Hostile 009"\nkey_file = "case.key"\nseed = 7\n'
                    '[networks]\nlab = ["10.1.0.0/16"]\n')  # fmt: skip
    before = _hashes(base / "case")
    a = lf.investigate(p["evidence"], base / "a" / "out", leak=p["leak"], case=case,
                       progress=False)  # fmt: skip
    b = lf.investigate(p["evidence"], base / "b" / "out", leak=p["leak"], case=case,
                       progress=False)  # fmt: skip
    return {"a": a, "b": b, "base": base, "paths": p, "before": before, "case": case}


def test_outputs_written(runs):
    from labforensics.report.pdf import find_chromium

    out = runs["a"].out
    pdf = ["report.pdf"] if find_chromium() else []  # printed when Chromium is installed
    assert sorted(x.name for x in out.iterdir()) == sorted([*OUTPUTS, *pdf])


def test_verdict_is_vendor(runs):
    # the only outbound session holding the 240 leaked patients is the vendor's extraction
    f = runs["a"].findings
    # it leads, at "no support" against staff reading the same patients: not named
    assert f["conclusion"]["leading"] == "vendor"
    assert f["verdict"]["verdict"] == "undetermined"
    flagged = [s for s in f["top_sessions"] if s["flagged"]]
    assert [s["account"] for s in flagged] == [HOSTILE_ACCOUNT]
    assert flagged[0]["records_extracted"] == 240
    # 2020-03-17 02:10 Paris is 01:10 UTC (winter time, UTC+1)
    assert flagged[0]["start"] == "2020-03-17T01:10:00Z"


def test_findings_byte_identical_and_parquet_equal(runs):
    a, b = runs["a"].out, runs["b"].out
    # same inputs and case: the same findings.json bytes, even in another folder
    assert (a / "findings.json").read_bytes() == (b / "findings.json").read_bytes()
    for name in ("events.parquet", "sessions.parquet", "scores.parquet"):
        assert pq.read_table(a / name).equals(pq.read_table(b / name)), name
    assert (a / "quarantine.csv").read_bytes() == (b / "quarantine.csv").read_bytes()


def test_findings_have_no_wall_clock_or_absolute_path(runs):
    text = (runs["a"].out / "findings.json").read_text()
    assert str(runs["base"]) not in text
    assert "/tmp" not in text and "started" not in text


def test_no_raw_patient_identifier_in_any_output(runs):
    # every IPP of the evidence, searched in every output (Parquet read back as text)
    raw = ipps()
    pattern = re.compile("|".join(raw))
    out = runs["a"].out
    for p in sorted(out.iterdir()):
        if p.suffix == ".parquet":
            text = pd.read_parquet(p).astype(str).to_csv()
        else:
            text = p.read_bytes().decode("utf-8", errors="replace")
        m = pattern.search(text)
        assert m is None, f"raw IPP {m.group(0) if m else ''} in {p.name}"
    # ...and the patients are there, pseudonymised
    ev = pd.read_parquet(out / "events.parquet")
    assert ev["patient"].dropna().str.fullmatch(r"P[0-9a-f]{16}").all()


def test_hostile_text_in_html(runs):
    html = (runs["a"].out / "report.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    # the report has no script of its own
    assert re.search(r"<script", html, re.I) is None
    # the workstation's name as logged (not its lower-case canonical form, QA session 16),
    # in an attribute, quotes escaped as &quot;
    assert f'title="{HOSTILE_HOST}"' in html
    assert re.search(r'title="[^"]*&quot;', html) is None or "&quot;" in html


def test_hostile_host_shown_as_logged(runs):
    # matching uses the canonical host (lower case); what the report and findings show is
    # the name as logged: the expert cites it (QA, session 16)
    html = (runs["a"].out / "report.html").read_text()
    text = (runs["a"].out / "findings.json").read_text()
    lower = canonical_host(HOSTILE_HOST)
    assert lower == r"cost $x^2$ \$home" and lower != HOSTILE_HOST
    assert lower not in html and json.dumps(lower)[1:-1] not in text
    # the top session's tag and the evidence rows under it
    assert f"host {HOSTILE_HOST}</span>" in html
    assert f'<td class="c-host">{HOSTILE_HOST}</td>' in html
    flagged = [s for s in runs["a"].findings["top_sessions"] if s["flagged"]]
    assert flagged[0]["hosts"] == HOSTILE_HOST
    # the Parquet keeps both: the canonical form matched, the form as logged
    ev = pd.read_parquet(runs["a"].out / "events.parquet", columns=["host", "host_raw"])
    assert set(ev.loc[ev["host_raw"] == HOSTILE_HOST, "host"]) == {lower}


def test_hostile_quote_escaped_in_attribute(tmp_path):
    # a host with a double quote ends up in the host tag's title attribute as &quot;
    from labforensics.report.html import _attr

    assert str(_attr('http://h.example/?q=a"b')) == "http://h.example/?q=a&quot;b"


def test_hostile_text_neutralised_in_csv(runs):
    q = pd.read_csv(runs["a"].out / "quarantine.csv", dtype=str)
    # the three hostile lines have 1 or 2 fields of 16: no field's position can be trusted,
    # so each field is a keyed id (QA, session 8; a U id, unplaced value, since session 9)
    # and no formula text is left (the leading quote on formula-looking cells is checked by
    # tests/test_outputs.py)
    hostile = q[q["reason"].str.startswith("wrong field count")]
    assert len(hostile) == 3
    assert all(re.fullmatch(r"U[0-9a-f]{16}(;U[0-9a-f]{16})?", r) for r in hostile["raw"])
    assert not any(t in r for r in q["raw"] for t in ("HYPERLINK", "SUM(", "-5.2"))
    # the numeric column stays numbers
    q2 = pd.read_csv(runs["a"].out / "quarantine.csv")
    assert pd.api.types.is_integer_dtype(q2["source_line"])


def test_damaged_inputs_accounted(runs):
    acc = runs["a"].findings["accounting"]
    # 3 hostile lines + 1 record cut by the truncated gzip
    assert acc["totals"]["quarantined"] == 4
    assert acc["unrecognised"] == ["blob.bin"]
    assert acc["truncated_files"] == ["audit_l01_2020-03-21.csv.gz"]
    t = acc["totals"]
    assert (
        t["rows_read"]
        == t["events"]
        + t["quarantined"]
        + t["rotation_duplicates"]
        + t["repeated_headers"]
        + t["ignored"]
    )


def test_inputs_never_modified(runs):
    assert _hashes(runs["base"] / "case") == runs["before"]


def test_manifest(runs):
    out = runs["a"].out
    m = json.loads((out / "manifest.json").read_text())
    # every output but the manifest itself, with its SHA-256
    got = {o["path"]: o["sha256"] for o in m["outputs"]}
    assert got == {k: v for k, v in _hashes(out).items() if k != "manifest.json"}
    names = {Path(i["path"]).name for i in m["inputs"]}
    assert {"blob.bin", "leaked_ipps.csv", "case.toml", "audit_l01_2020-03-02.csv"} <= names
    # key fingerprint of bytes(range(32)), never the key
    assert m["case_key_fingerprint"] == lf.CaseKey(bytes(range(32))).fingerprint
    assert bytes(range(32)).hex() not in (out / "manifest.json").read_text()
    assert m["seed"] == 7 and m["tz"] == "Europe/Paris"
    assert m["started_utc"] <= m["finished_utc"]


def test_existing_output_not_overwritten(runs):
    with pytest.raises(OutputExistsError):
        lf.investigate(runs["paths"]["evidence"], runs["a"].out, case=runs["case"], progress=False)


def test_missing_evidence_is_a_clear_error(tmp_path):
    with pytest.raises(EvidenceError, match="does not exist"):
        lf.investigate(tmp_path / "nope", tmp_path / "out", progress=False)


def test_key_file_beside_output_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    p = write_hostile_case(tmp_path / "c", days=17)
    out = tmp_path / "res"
    r1 = lf.investigate(p["evidence"], out, progress=False)
    key = tmp_path / "res.key"
    # the key lives beside the folder, never inside it
    assert r1.key_file == key and key.exists()
    assert not any(x.suffix == ".key" for x in out.iterdir())
    fp1 = json.loads((out / "manifest.json").read_text())["case_key_fingerprint"]
    r2 = lf.investigate(p["evidence"], out, progress=False, force=True)
    fp2 = json.loads((out / "manifest.json").read_text())["case_key_fingerprint"]
    # the second run into the same folder reuses the key: same pseudonyms
    assert fp1 == fp2 and r2.key_file == key


def test_summary_one_screen(runs):
    s = runs["a"].summary()
    # the vendor leads at no support (session 9 support rule): undetermined, the leading named
    assert "Verdict: Undetermined" in s and "the LIS vendor against" in s and "report.html" in s
    assert len(s.splitlines()) <= 24


def test_case_file_parameters(tmp_path):
    from labforensics.case import load_case, params_from_case
    from labforensics.sessions import SessionParams

    p = tmp_path / "case.toml"
    p.write_text('[case]\ntz = "America/Martinique"\nseed = 3\nkey_file = "k.key"\n'
                 '[[labs]]\ncode = "L01"\nfiness = "350000011"\n'
                 '[accounts]\nvendor = ["support.editeur"]\n'
                 '[sessions]\nidle_timeout = "45min"\n')  # fmt: skip
    c = load_case(p)
    # the key file is resolved beside the case file; FINESS maps to the lab code
    assert c.key_file == (tmp_path / "k.key").resolve()
    assert c.lab_aliases == {"350000011": "L01"}
    assert c.account_kinds == {"support.editeur": "vendor"}
    # a duration string becomes a Timedelta of the stage's parameters
    assert params_from_case(SessionParams, c, "sessions").idle_timeout == pd.Timedelta(minutes=45)
    assert (c.tz, c.seed) == ("America/Martinique", 3)


def test_case_file_errors_name_file_and_key(tmp_path):
    from labforensics.case import load_case, params_from_case
    from labforensics.errors import ParameterError
    from labforensics.sessions import SessionParams

    p = tmp_path / "case.toml"
    p.write_text("[sesions]\nidle_timeout = 3\n")
    with pytest.raises(ParameterError, match="unknown section"):
        load_case(p)
    p.write_text("[sessions]\nidle = 3\n")
    with pytest.raises(ParameterError, match=r"\[sessions\] has unknown key\(s\) \['idle'\]"):
        params_from_case(SessionParams, load_case(p), "sessions")


def test_key_file_inside_output_refused(tmp_path):
    from labforensics.case import CaseContext, resolve_case_key
    from labforensics.errors import CaseKeyError

    out = tmp_path / "out"
    with pytest.raises(CaseKeyError, match="inside the output folder"):
        resolve_case_key(CaseContext(key_file=out / "case.key"), out)


def test_many_files_are_summarised(tmp_path, monkeypatch):
    # with more evidence files than MAX_LISTED_FILES, findings keep one digest of the inputs
    # and the notable files only; the manifest still lists every file
    import labforensics.report.findings as findings

    monkeypatch.setattr(findings, "MAX_LISTED_FILES", 5)
    p = write_hostile_case(tmp_path / "c", damaged=True)
    r = lf.investigate(p["evidence"], tmp_path / "out", leak=p["leak"], progress=False)
    f = r.findings
    ev_inputs = [i for i in f["inputs"] if i["role"] == "evidence"]
    assert len(ev_inputs) == 1 and ev_inputs[0]["source_file"].startswith("22 evidence files")
    m = json.loads((r.out / "manifest.json").read_text())
    lines = sorted(f"{i['sha256']}  {i['source_file']}\n" for i in m["inputs"]
                   if i["source_file"].startswith("audit_") or i["source_file"] == "blob.bin")  # fmt: skip
    assert ev_inputs[0]["sha256"] == hashlib.sha256("".join(lines).encode()).hexdigest()
    # notable files: the cut gzip and the file with the three quarantined lines
    assert [x["source_file"] for x in f["accounting"]["files"]] == [
        "audit_l01_2020-03-21.csv.gz",
        "audit_l01_2020-03-22.csv",
    ]
    assert f["accounting"]["files_total"] == 21
    assert f["counts"]["input_files"] == 22


def test_demo_reuse_checks_generator_version(tmp_path):
    import json as _json

    from labforensics.demo import _same_parameters
    from labforensics.synth.generator import GENERATOR_VERSION

    params = {"labs": 3, "seed": 1}
    truth = {"parameters": {"labs": 3, "seed": 1, "scale": 1.0},
             "generator": {"name": "labforensics.synth", "version": GENERATOR_VERSION}}  # fmt: skip
    (tmp_path / "truth.json").write_text(_json.dumps(truth))
    # same parameters, same generator: reused
    assert _same_parameters(tmp_path, params)
    # a case written by another generator version is regenerated
    truth["generator"]["version"] = GENERATOR_VERSION + ".old"
    (tmp_path / "truth.json").write_text(_json.dumps(truth))
    assert not _same_parameters(tmp_path, params)
    # and one with no recorded generator too
    del truth["generator"]
    (tmp_path / "truth.json").write_text(_json.dumps(truth))
    assert not _same_parameters(tmp_path, params)


def test_vendor_export_reason_counts_exports_and_extractions():
    from labforensics.detect.rules import load_rules, render_reason

    rule = next(r for r in load_rules() if r.id == "vendor_export")
    # records_out = exported + extracted: a session of 0 exported and 16,014 extracted
    # (no register: every record sent out is not authorised, records_not_authorised = out)
    row = {"records_exported": 0, "records_extracted": 16014, "records_out": 16014,
           "records_not_authorised": 16014}  # fmt: skip
    assert render_reason(rule, row) == "16,014 records exported or extracted by a vendor account"


class _Stop(Exception):
    """Raised by a stand-in stage once it has recorded its arguments."""


def test_stages_called_with_exactly_their_signature(tmp_path, monkeypatch):
    import labforensics.pipeline as pipeline
    from labforensics.case import DEFAULT_TZ

    p = write_hostile_case(tmp_path / "c", days=2)
    case = tmp_path / "case.toml"
    case.write_text('[accounts]\nvendor = ["support.editeur"]\n[ingest]\nyear = 2020\n')
    seen = {}

    def full(paths, *, profile, case_key, year, lab, progress, case):
        seen.update(tz=case.tz, year=year, account_kinds=case.account_kinds, progress=progress)
        raise _Stop

    monkeypatch.setattr(pipeline, "read_evidence", full)
    with pytest.raises(_Stop):
        lf.investigate(p["evidence"], tmp_path / "a", case=case, progress=False)
    # the case's facts (one CaseContext) and the [ingest] section reach the reader
    assert seen == {"tz": DEFAULT_TZ, "year": 2020, "progress": False,
                    "account_kinds": {"support.editeur": "vendor"}}  # fmt: skip

    def no_case(paths, *, profile, case_key, year, lab, progress):
        raise _Stop

    monkeypatch.setattr(pipeline, "read_evidence", no_case)
    # a stage that does not take an argument fails loudly instead of silently losing it
    with pytest.raises(TypeError, match="case"):
        lf.investigate(p["evidence"], tmp_path / "b", case=case, progress=False)
