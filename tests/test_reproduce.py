"""The command that reproduces a run (fresh-eyes QA, session 7): it left out
``--patients`` (required with a dump, so it exited 2) and cut folders from file names
(``main empty/AUDIT_L09_20190404.csv`` became ``AUDIT_L09_20190404.csv``). Now every
input is given, relative to a stated folder, quoted for a POSIX shell."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from labforensics.cli import build_parser, main
from labforensics.report.reproduce import reproduce_args, reproduce_base, reproduce_text

sys.path.insert(0, str(Path(__file__).parent / "leak"))
from test_leak_quarantine import _write

LIS = (
    "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
    "NB_ENREG;DETAIL\n"
    "{day}/03/2020;08:00:00;L01;S1;tech.a;TECHNICIEN;PC-01;10.0.0.5;RESULTATS;CONNEXION;OK;;;;\n"
)

EXPECTED = [
    "labforensics", "investigate",
    "case files/evidence/main empty/AUDIT_L01_20200303.csv",
    "case files/evidence/main/AUDIT_L01_20200304.csv",
    "--out", "OUT",
    "--case", "case files/case.toml",
    "--leak", "the dump/dump.csv",
    "--patients", "indexes/PATIENTS_L01.csv", "indexes/it's L02.csv",
    "--transfers", "case files/xferlog",
    "--authorisations", "case files/register.csv",
    "--tz", "Europe/Paris", "--lab", "L01",
]  # fmt: skip


@pytest.fixture
def layout(tmp_path):
    """Input paths under ``tmp_path/"work"`` with spaces, nested folders and a quote."""
    base = tmp_path / "work"
    paths = {
        "evidence": [base / "case files/evidence/main empty/AUDIT_L01_20200303.csv",
                     base / "case files/evidence/main/AUDIT_L01_20200304.csv"],
        "case_file": base / "case files/case.toml",
        "leak": base / "the dump/dump.csv",
        "patients": [base / "indexes/PATIENTS_L01.csv", base / "indexes/it's L02.csv"],
        "transfers": base / "case files/xferlog",
        "authorisations": base / "case files/register.csv",
    }  # fmt: skip
    return base, paths


def _text(paths, **kw):
    return reproduce_text(
        paths["evidence"], case_file=paths["case_file"], leak=paths["leak"],
        patients=paths["patients"], transfers=paths["transfers"],
        authorisations=paths["authorisations"], key_fingerprint="0123456789abcdef",
        overrides={"tz": "Europe/Paris", "year": None, "lab": "L01", "memory_budget": None},
        **kw,
    )  # fmt: skip


def test_every_input_relative_to_the_stated_folder(layout):
    base, paths = layout
    text = _text(paths)
    command, where, key, version = text.split("\n")
    assert shlex.split(command) == EXPECTED
    assert str(base) not in text and str(base.parent) not in text  # no absolute path
    assert where.startswith(
        "# run from the folder that holds case files, indexes, the dump: every path above"
    )
    assert key.startswith("# with the case key whose fingerprint is 0123456789abcdef")
    assert version.startswith("# labforensics ")
    assert reproduce_base([p for v in paths.values() for p in (v if isinstance(v, list)
                                                                else [v])]) == base  # fmt: skip


def test_same_command_from_relative_paths(layout, monkeypatch):
    # given relative to the current folder, or absolute: the same command
    base, paths = layout
    monkeypatch.chdir(base.parent)
    rel = {k: [p.relative_to(base.parent) for p in v] if isinstance(v, list)
           else v.relative_to(base.parent) for k, v in paths.items()}  # fmt: skip
    assert _text(rel) == _text(paths)


def test_the_parser_reads_the_inputs_back(layout):
    base, paths = layout
    args = shlex.split(_text(paths).split("\n")[0])
    ns = build_parser().parse_args(args[1:])
    assert ns.evidence == [str(p.relative_to(base)) for p in paths["evidence"]]
    assert [base / p for p in ns.patients] == paths["patients"]
    assert (base / ns.leak, base / ns.case, base / ns.transfers, base / ns.authorisations) == (
        paths["leak"],
        paths["case_file"],
        paths["transfers"],
        paths["authorisations"],
    )
    assert (ns.out, ns.tz, ns.lab, ns.year) == (Path("OUT"), "Europe/Paris", "L01", None)


def test_the_order_inputs_are_given_in_changes_nothing(layout):
    # QA session 10 item 3b: --patients b a gave another reproduce string than a b; the
    # run reads them sorted, so the command names them sorted (evidence too)
    _, paths = layout
    turned = {k: list(reversed(v)) if isinstance(v, list) else v for k, v in paths.items()}
    assert turned["patients"] != paths["patients"]
    assert _text(turned) == _text(paths)
    assert shlex.split(_text(turned).split("\n")[0]) == EXPECTED


def test_hostile_names(tmp_path):
    # a leading dash is not read as an option; a line break stays inside its quotes and
    # out of the comment line; a glob is passed to labforensics, not expanded by the shell
    ev = [tmp_path / "-rf.csv", tmp_path / "a\nrm x.csv", tmp_path / "L01" / "*.csv"]
    text = reproduce_text(ev, case_file=None, leak=None, transfers=None, overrides={},
                          key_fingerprint="f")  # fmt: skip
    command = text[: text.index("\n# run from")]
    # sorted by absolute path ("-" < "L" < "a"), as the evidence files are read
    assert shlex.split(command)[2:5] == ["./-rf.csv", "L01/*.csv", "a\nrm x.csv"]
    ns = build_parser().parse_args(shlex.split(command)[1:])
    assert ns.evidence == ["./-rf.csv", "L01/*.csv", "a\nrm x.csv"]
    assert "# run from the folder that holds -rf.csv, L01, a?rm x.csv:" in text


def test_store_and_no_base():
    args = reproduce_args([], base=Path("/x"), store=Path("/x/store"))
    assert args == ["labforensics", "investigate", "--store", "store", "--out", "OUT"]
    with pytest.raises(ValueError, match="base"):
        reproduce_args([Path("a.csv")], base=None)


def test_a_run_with_a_dump_reproduced(tmp_path, monkeypatch, capsys):
    # the QA's case: a dump with the labs' indexes, evidence in nested folders with spaces;
    # the recorded command, run from the stated folder, reads the same inputs again
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    base = tmp_path / "the case"
    pat, dump, _ = _write(tmp_path)
    (base / "indexes").mkdir(parents=True)
    shutil.copy(pat / "PATIENTS_L01.csv", base / "indexes" / "PATIENTS_L01.csv")
    shutil.copy(dump, base / "dump.csv")
    for day, folder in (("03", "main empty"), ("04", "main")):
        (base / "evidence" / folder).mkdir(parents=True)
        (base / "evidence" / folder / f"AUDIT_L01_202003{day}.csv").write_text(
            LIS.format(day=day), encoding="utf-8")  # fmt: skip
    monkeypatch.chdir(base / "evidence")  # given from elsewhere: ../dump.csv, main empty/...
    assert main(["investigate", "main empty/AUDIT_L01_20200303.csv", "main/AUDIT_L01_20200304.csv",
                 "--out", str(tmp_path / "out"), "--leak", "../dump.csv",
                 "--patients", "../indexes", "--quiet"]) == 0  # fmt: skip
    first = json.loads((tmp_path / "out" / "findings.json").read_text())
    command = first["reproduce"].split("\n")[0]
    args = shlex.split(command)
    assert args == ["labforensics", "investigate", "evidence/main empty/AUDIT_L01_20200303.csv",
                    "evidence/main/AUDIT_L01_20200304.csv", "--out", "OUT",
                    "--leak", "dump.csv", "--patients", "indexes"]  # fmt: skip
    assert "holds dump.csv, evidence, indexes:" in first["reproduce"]
    # run as written from the stated folder (OUT named, the first run's key given)
    monkeypatch.chdir(base)
    again = [a if a != "OUT" else str(tmp_path / "out2") for a in args[1:]]
    assert main([*again, "--case-key", str(tmp_path / "out.key"), "--quiet"]) == 0
    second = json.loads((tmp_path / "out2" / "findings.json").read_text())
    for key in ("reproduce", "verdict", "counts", "inputs", "leak_linkage", "limits"):
        assert second[key] == first[key], key
