"""The ``labforensics investigate`` and ``labforensics reidentify`` subcommands."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hostile import HOSTILE_ACCOUNT, LAB, ipps, write_hostile_case
from labforensics.cli import main
from labforensics.privacy import CaseKey, pseudonymise_one
from lis_headers import LEGACY_HEADER


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    p = write_hostile_case(base / "case", days=17)
    out = base / "out"
    rc = main(["investigate", str(p["evidence"]), "--out", str(out), "--leak", str(p["leak"]),
               "--quiet"])  # fmt: skip
    return {"rc": rc, "out": out, "base": base, "paths": p}


def test_investigate_command(cli_run, capsys):
    assert cli_run["rc"] == 0
    f = json.loads((cli_run["out"] / "findings.json").read_text())
    # the vendor's extraction leads, at "no support" against staff reading the same
    # patients: no source is named (session 9's support rule)
    assert f["conclusion"]["leading"] == "vendor"
    assert f["verdict"]["verdict"] == "undetermined"
    # the key was written beside the folder
    assert (cli_run["base"] / "out.key").exists()


def test_investigate_refuses_existing_output(cli_run, capsys):
    p = cli_run["paths"]
    rc = main(["investigate", str(p["evidence"]), "--out", str(cli_run["out"]), "--quiet"])
    # exit status 2 and a message naming the folder and the fix
    assert rc == 2
    assert "--force" in capsys.readouterr().err


def test_reidentify_maps_pseudonyms_back(cli_run, tmp_path):
    out, p = cli_run["out"], cli_run["paths"]
    key = CaseKey.from_file(cli_run["base"] / "out.key")
    ev = pd.read_parquet(out / "events.parquet")
    wanted = sorted(ev["patient"].dropna().unique())[:5]
    listing = tmp_path / "pseudonyms.txt"
    listing.write_text("\n".join([*wanted, "P0000000000000000"]) + "\n")
    dest = tmp_path / "notify.csv"
    rc = main(["reidentify", "--case-key", str(cli_run["base"] / "out.key"), "--evidence",
               str(p["evidence"]), "--pseudonyms", str(listing), "--out", str(dest)])  # fmt: skip
    assert rc == 0
    got = pd.read_csv(dest, dtype=str)
    found = got[got["found"] == "True"]
    # each resolved pair pseudonymises back to the pseudonym asked for
    assert len(found) == 5
    for r in found.itertuples():
        assert pseudonymise_one(key, r.lab, r.ipp) == r.pseudonym
        assert r.lab == LAB and r.ipp in ipps()
    # an unknown pseudonym is listed as not found
    assert got.loc[got["pseudonym"] == "P0000000000000000", "found"].item() == "False"


def test_reidentify_refuses_investigation_folder(cli_run, tmp_path, capsys):
    listing = tmp_path / "p.txt"
    listing.write_text("P0123456789abcdef\n")
    rc = main(["reidentify", "--case-key", str(cli_run["base"] / "out.key"), "--evidence",
               str(cli_run["paths"]["evidence"]), "--pseudonyms", str(listing), "--out",
               str(cli_run["out"] / "notify.csv")])  # fmt: skip
    assert rc == 2
    assert "investigation folder" in capsys.readouterr().err
    assert not (cli_run["out"] / "notify.csv").exists()


def test_report_never_holds_identities(cli_run):
    # nothing of reidentify enters the report: no raw IPP in report.html
    html = (cli_run["out"] / "report.html").read_text()
    assert not any(i in html for i in ipps())
    assert "&lt;img src=x" in html and HOSTILE_ACCOUNT not in html


@pytest.fixture
def small_evidence(tmp_path):
    return write_hostile_case(tmp_path / "case", days=2)


@pytest.mark.parametrize("command", ["ingest", "investigate"])
def test_symlink_loop_in_evidence_is_listed_not_fatal(small_evidence, tmp_path, capsys, command):
    ev = small_evidence["evidence"]
    (ev / "loop").symlink_to("loop")  # `ln -s loop loop` inside the evidence folder
    quiet = ["--quiet"] if command == "investigate" else []
    rc = main([command, str(ev), "--out", str(tmp_path / "out"), *quiet])
    captured = capsys.readouterr()
    # the rest of the folder is read; the looping link is listed with its reason
    assert rc == 0 and "Traceback" not in captured.err
    if command == "ingest":
        report = json.loads((tmp_path / "out" / "ingest_report.json").read_text())
        assert report["unrecognised"] == ["loop"]
        assert report["unrecognised_reasons"] == {"loop": "symbolic link loop"}
        assert report["totals"]["events"] > 0


@pytest.mark.parametrize("command", ["ingest", "investigate"])
def test_out_is_a_file_refused(small_evidence, tmp_path, capsys, command):
    target = tmp_path / "out.txt"
    target.write_text("keep me\n")
    rc = main([command, str(small_evidence["evidence"]), "--out", str(target), "--force"])
    err = capsys.readouterr().err
    # exit 2 naming the file; the file is untouched even with --force
    assert rc == 2 and "is a file" in err and str(target) in err
    assert target.read_text() == "keep me\n"


def test_force_removes_stale_outputs(small_evidence, tmp_path, capsys):
    out = tmp_path / "out"
    ev = str(small_evidence["evidence"])
    assert main(["ingest", ev, "--out", str(out)]) == 0
    (out / "report.html").write_text("stale report of another run")  # a known output name
    assert main(["ingest", ev, "--out", str(out), "--force"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {o["path"] if isinstance(o, dict) else o for o in manifest["outputs"]}
    # the stale report is gone; the folder holds exactly the manifest's outputs (+ itself)
    assert not (out / "report.html").exists()
    assert {p.name for p in out.iterdir()} == {*listed, "manifest.json"}
    assert listed == {
        "events.parquet",
        "quarantine.csv",
        "ingest_report.json",
        "field_problems.csv",
    }


def test_force_refuses_folder_with_foreign_files(small_evidence, tmp_path, capsys):
    out = tmp_path / "out"
    ev = str(small_evidence["evidence"])
    assert main(["ingest", ev, "--out", str(out)]) == 0
    (out / "notes.txt").write_text("the investigator's own notes")
    rc = main(["ingest", ev, "--out", str(out), "--force"])
    err = capsys.readouterr().err
    # refused: labforensics never deletes a file it did not write
    assert rc == 2 and "did not write: notes.txt" in err and "choose another --out" in err
    assert (out / "notes.txt").exists() and (out / "events.parquet").exists()


def test_force_refuses_folder_without_manifest(tmp_path, small_evidence, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "events.parquet").write_bytes(b"not ours")
    rc = main(["ingest", str(small_evidence["evidence"]), "--out", str(out), "--force"])
    # a known name alone does not prove labforensics wrote the folder
    assert rc == 2 and "no manifest.json" in capsys.readouterr().err
    assert (out / "events.parquet").read_bytes() == b"not ours"


def test_help_is_plain_text_and_synth_options_explained(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    # no reStructuredText markup in the top-level help
    assert "``" not in top and "medical-lab audit logs" in top
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    synth = capsys.readouterr().out
    for opt in ("--labs", "--start", "--end", "--seed", "--scale"):
        # every option line carries a help text with its default
        line = next(x for x in synth.splitlines() if x.strip().startswith(opt))
        assert "default" in line or "(default" in synth.split(opt, 2)[-1][:200]


def test_investigate_has_tz_year_lab_options(capsys):
    with pytest.raises(SystemExit):
        main(["investigate", "--help"])
    text = capsys.readouterr().out
    assert "--tz" in text and "--year" in text and "--lab" in text


def test_ingest_summary_explains_events_emitted():
    from labforensics.ingest.accounting import FileReport, IngestReport

    f = FileReport("a.json", "/a.json", "fhir_auditevent", 10, "0" * 64, rows_read=2216)
    f.events, f.events_out = 2216, 2224
    text = IngestReport(files=[f]).summary()
    # more events emitted than rows: the reason is said on that line
    line = next(x for x in text.splitlines() if x.startswith("events emitted"))
    assert "2,224 (a message naming several patients gives one event per patient);" in line
    f.events_out = 2216
    assert "several patients" not in IngestReport(files=[f]).summary()


def test_counts_grouped_in_verdict_summary():
    from labforensics.report.findings import group_counts

    text = "vendor explains 98.0% of the 321368 leaked patients found; lab 350000011 in 2020"
    # the count is grouped; an identifier and a year are not
    assert group_counts(text) == (
        "vendor explains 98.0% of the 321,368 leaked patients found; lab 350000011 in 2020"
    )


@pytest.mark.parametrize("command", ["ingest", "investigate"])
def test_empty_evidence_folder_is_one_error_line(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setenv("LABFORENSICS_CASE_KEY", "00" * 32)
    ev = tmp_path / "evidence"
    ev.mkdir()
    (ev / "gone.csv").symlink_to(tmp_path / "nowhere")  # only a dangling link
    out = tmp_path / "out"
    rc = main([command, str(ev), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]  # after the progress bar, one error line
    assert last.startswith("labforensics: error: no readable evidence file in ")
    assert err.count("labforensics: error:") == 1
    # nothing half-written is left behind: the same command can run again as it is
    assert not out.exists() or list(out.iterdir()) == []


def test_ingest_failure_leaves_no_partial_output(small_evidence, tmp_path, monkeypatch, capsys):
    import labforensics.pipeline as pipeline

    monkeypatch.setenv("LABFORENSICS_CASE_KEY", "00" * 32)

    def disk_full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "write_json", disk_full)  # after events.parquet and the csv
    out = tmp_path / "out"
    with pytest.raises(OSError):
        main(["ingest", str(small_evidence["evidence"]), "--out", str(out)])
    capsys.readouterr()
    assert not out.exists()  # the folder it made, left empty, is removed too


def test_ingest_non_utf8_file_name(tmp_path, monkeypatch, capsys):
    import os

    monkeypatch.setenv("LABFORENSICS_CASE_KEY", "00" * 32)
    ev = tmp_path / "evidence"
    ev.mkdir()
    header = LEGACY_HEADER + "\r\n"
    row = "01/03/2019;10:00:00;L04;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;4001;D1;;\r\n"
    name = os.fsdecode(b"AUDIT_L04_\xff\xfe_20190301.csv")
    (ev / name).write_bytes((header + row).encode("cp1252"))
    (ev / os.fsdecode(b"notes_\xff.txt")).write_bytes(b"hello\n")
    out = tmp_path / "out"
    rc = main(["ingest", str(ev), "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    names = json.dumps(manifest)
    assert "AUDIT_L04_\\\\xff\\\\xfe_20190301.csv" in names  # escaped, valid UTF-8
    report = json.loads((out / "ingest_report.json").read_text(encoding="utf-8"))
    assert report["totals"]["events"] == 1
    assert report["unrecognised"] == ["notes_\\xff.txt"]


def test_ingest_takes_several_profiles(tmp_path):
    # --profile twice: each file is read with the profile that recognises it (by header
    # for the CSV, by pattern for the access log); 2 logon events + 1 access-log event
    ev = tmp_path / "evidence"
    ev.mkdir()
    (ev / "logon.csv").write_text(
        "id,date,user,pc,activity\n"
        "{A},01/04/2010 07:12:00,ABC0123,PC-1001,Logon\n"
        "{B},01/04/2010 16:58:30,ABC0123,PC-1001,Logoff\n"
    )
    (ev / "access.log").write_text(
        '192.0.2.10 - alice [04/Jan/2010:09:00:00 +0100] "GET /results/view/42 HTTP/1.1" 200 2048\n'
    )
    out = tmp_path / "out"
    rc = main(["ingest", str(ev), "--out", str(out), "--tz", "UTC", "--lab", "SIM",
               "--profile", "cert-logon", "--profile", "apache-access", "--case-key", "00" * 16,
               "--quiet"])  # fmt: skip
    assert rc == 0
    events = pd.read_parquet(out / "events.parquet")
    assert events["source_format"].astype(str).value_counts().to_dict() == {
        "profile:cert-logon": 2,
        "profile:apache-access": 1,
    }


def test_version(capsys):
    # --version prints the package version and exits 0
    import labforensics

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"labforensics {labforensics.__version__}"


def test_investigate_case_key_file(cli_run, tmp_path, monkeypatch, capsys):
    # --case-key KEYFILE: the patients are keyed with that file's key (the P id of a known
    # (lab, IPP) of the hostile case), no key file is made beside the output, and the
    # recorded command line holds the file's path, never key material
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    p = cli_run["paths"]
    key_hex = "ab" * 32
    kf = tmp_path / "my.key"
    kf.write_text(key_hex + "\n")
    out = tmp_path / "out"
    rc = main(["investigate", str(p["evidence"]), "--out", str(out), "--case-key", str(kf),
               "--quiet"])  # fmt: skip
    assert rc == 0
    assert not (tmp_path / "out.key").exists()
    events = pd.read_parquet(out / "events.parquet")
    want = pseudonymise_one(CaseKey.from_hex(key_hex), LAB, ipps()[0])
    assert want in set(events["patient"].dropna())
    manifest = (out / "manifest.json").read_text()
    assert key_hex not in manifest and "my.key" in manifest
    # a missing key file is refused with one line (exit 2), never replaced by a new key
    rc = main(["investigate", str(p["evidence"]), "--out", str(tmp_path / "out2"),
               "--case-key", str(tmp_path / "nope.key"), "--quiet"])  # fmt: skip
    assert rc == 2 and "nope.key" in capsys.readouterr().err
    assert not (tmp_path / "nope.key").exists()


def test_same_key_given_or_found_gives_the_same_findings(tmp_path, monkeypatch):
    # QA session 10 item 3a: --case-key recorded parameters.case.key_file "a.key", the key
    # found beside the output recorded null: the same key and inputs, two findings.json.
    # The key is recorded by its fingerprint only.
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    p = write_hostile_case(tmp_path / "case", days=2)
    found, given = tmp_path / "x" / "out", tmp_path / "y" / "out"
    assert main(["investigate", str(p["evidence"]), "--out", str(found), "--quiet"]) == 0
    key = tmp_path / "x" / "out.key"  # made beside the output by the first run
    assert main(["investigate", str(p["evidence"]), "--out", str(given), "--case-key",
                 str(key), "--quiet"]) == 0  # fmt: skip
    assert (found / "findings.json").read_bytes() == (given / "findings.json").read_bytes()
    f = json.loads((given / "findings.json").read_text())
    assert "key_file" not in f["parameters"]["case"]
    assert f["case_key_fingerprint"] == CaseKey.from_hex(key.read_text().strip()).fingerprint


def test_reidentify_refuses_the_evidence_folder(cli_run, tmp_path, capsys):
    # names must never be written among the evidence (QA: it wrote real IPPs there)
    listing = tmp_path / "p.txt"
    listing.write_text("P0123456789abcdef\n")
    ev = cli_run["paths"]["evidence"]
    rc = main(["reidentify", "--case-key", str(cli_run["base"] / "out.key"), "--evidence",
               str(ev), "--pseudonyms", str(listing), "--out", str(ev / "notify.csv")])  # fmt: skip
    assert rc == 2 and "inside the input folder" in capsys.readouterr().err
    assert not (ev / "notify.csv").exists()


def test_missing_leak_or_index_named_plainly(small_evidence, tmp_path, capsys):
    ev = str(small_evidence["evidence"])
    for opt, role in (("--leak", "leak"), ("--transfers", "transfer log")):
        rc = main(["investigate", ev, "--out", str(tmp_path / opt), opt,
                   str(tmp_path / "nope.csv"), "--quiet"])  # fmt: skip
        err = capsys.readouterr().err
        assert rc == 2 and f"the {role} {tmp_path / 'nope.csv'} does not exist" in err
    assert not (tmp_path / "--leak").exists()  # refused before any output


def test_unrecognised_file_warned_on_stderr(small_evidence, tmp_path, capsys):
    ev = small_evidence["evidence"]
    (ev / "junk.bin").write_bytes(bytes(range(256)) * 8)
    try:
        rc = main(["investigate", str(ev), "--out", str(tmp_path / "o"), "--quiet"])
    finally:
        (ev / "junk.bin").unlink()
    err = capsys.readouterr().err
    # exit 0 (the rest was read), but one line says a file was left out, with no raw byte
    assert rc == 0 and "warning: 1 input file(s) left out" in err and "junk.bin" in err
    line = next(x for x in err.splitlines() if "left out" in x)
    assert line.isprintable()


def test_python_dash_m_runs_the_command():
    # QA, session 9: `python -m labforensics` failed (no __main__.py)
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "labforensics", "--help"], capture_output=True,
                       text=True, check=False)  # fmt: skip
    assert r.returncode == 0 and "investigate" in r.stdout
    r = subprocess.run([sys.executable, "-m", "labforensics", "investigate"], capture_output=True,
                       text=True, check=False)  # fmt: skip
    assert r.returncode == 2 and "usage" in r.stderr
