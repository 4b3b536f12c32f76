"""``reidentify --out`` is never one of its inputs, whatever ``--force`` (QA session 13).

``reidentify --patients idx/PATIENTS_L07.csv --out idx/PATIENTS_L07.csv --force``
overwrote the patient index it read (the folder check only covered a folder given as
the input). The same file under another name (a symbolic or hard link) too.
"""

from __future__ import annotations

import os

import pytest

from labforensics.cli import main
from labforensics.errors import ParameterError
from labforensics.privacy import CaseKey, pseudonymise_one
from labforensics.reidentify import reidentify
from test_reidentify_qa11 import _case

KEY = CaseKey(bytes(range(32)))


def _inputs(tmp_path):
    ev, idx, dump, dpo = _case(tmp_path)
    listing = tmp_path / "ids.txt"
    listing.write_text(pseudonymise_one(KEY, "L01", "40000099") + "\n", encoding="utf-8")
    key = tmp_path / "case.key"
    KEY.write(key)
    return ev / "AUDIT_L01_20200302.csv", idx / "PATIENTS_L01.csv", dump / "base_clients.csv", \
        listing, key, dpo  # fmt: skip


def test_out_that_is_an_input_file_refused_even_with_force(tmp_path):
    ev, index, dump, listing, key, dpo = _inputs(tmp_path)
    before = {p: p.read_bytes() for p in (ev, index, dump, listing, key)}
    for out, what in ((index, "--patients"), (dump, "--leak"), (ev, "--evidence"),
                      (listing, "--pseudonyms"), (key, "--case-key")):  # fmt: skip
        with pytest.raises(ParameterError, match=f"is an input of this command \\({what}"):
            reidentify(key, [ev], listing, out, force=True, leak=[dump], patients=[index])
    # through a symbolic link and a hard link elsewhere
    sym = dpo / "notify.csv"
    sym.symlink_to(index)
    with pytest.raises(ParameterError, match=r"\(--patients"):
        reidentify(key, [ev], listing, sym, force=True, patients=[index])
    hard = dpo / "hard.csv"
    os.link(index, hard)
    with pytest.raises(ParameterError, match=r"\(--patients .*the same file\)"):
        reidentify(key, [ev], listing, hard, force=True, patients=[index])
    # a hard link to a file of an input folder
    with pytest.raises(ParameterError, match=r"\(--patients .*the same file\)"):
        reidentify(key, [ev], listing, hard, force=True, patients=[index.parent])
    assert {p: p.read_bytes() for p in before} == before
    # a file apart from every input is written (1 id, resolved)
    res = reidentify(key, [ev], listing, dpo / "ok.csv", force=True, patients=[index])
    assert int(res["found"].sum()) == 1


def test_cli_refuses_out_over_the_index(tmp_path, capsys):
    ev, index, _dump, listing, key, _ = _inputs(tmp_path)
    before = index.read_bytes()
    rc = main(["reidentify", "--case-key", str(key), "--evidence", str(ev), "--pseudonyms",
               str(listing), "--patients", str(index), "--out", str(index), "--force"])  # fmt: skip
    assert rc == 2
    assert "is an input of this command (--patients" in capsys.readouterr().err
    assert index.read_bytes() == before


def _run_folder(tmp_path, inputs):
    """A run folder as an investigation leaves it: manifest.json with the key's
    fingerprint and its inputs' absolute paths, and the ids listing inside it."""
    import json

    run = tmp_path / "run"
    run.mkdir()
    recorded = [{"path": p.resolve().as_posix(), "source_file": p.name} for p in inputs]
    (run / "manifest.json").write_text(
        json.dumps({"case_key_fingerprint": KEY.fingerprint, "inputs": recorded}),
        encoding="utf-8",
    )
    listing = run / "ids.txt"
    listing.write_text(pseudonymise_one(KEY, "L01", "40000099") + "\n", encoding="utf-8")
    return run, listing


def test_out_over_an_input_of_the_run_refused_even_with_force(tmp_path, capsys):
    """QA session 17: ``--out /case/dump/fuite.csv --force`` (the leaked dump, not given to
    this command but read by the run, its manifest records it) and ``--out
    patients/PATIENTS_L01.csv`` were overwritten. Refused: exit 2, one line, nothing
    written, whatever --force; through a symbolic and a hard link too."""
    ev, index, dump, _listing, key, dpo = _inputs(tmp_path)
    run, listing = _run_folder(tmp_path, [ev, dump, index])
    sym = dpo / "link.csv"
    sym.symlink_to(dump)
    hard = dpo / "hard.csv"
    os.link(index, hard)
    before = {p: p.read_bytes() for p in (ev, index, dump)}
    for out in (dump, index, sym, hard):
        for run_arg in ([], ["--run", str(run)]):  # the run named, or the listing's folder
            rc = main(["reidentify", "--case-key", str(key), "--evidence", str(ev.parent),
                       "--pseudonyms", str(listing), "--out", str(out), "--force",
                       *run_arg])  # fmt: skip
            err = capsys.readouterr().err
            assert rc == 2, out
            assert "is an input of this command (the run's input recorded in" in err
            assert err.count("\n") == 1
    assert {p: p.read_bytes() for p in before} == before
    # a file apart from every input is written (1 id, resolved)
    rc = main(["reidentify", "--case-key", str(key), "--evidence", str(ev.parent),
               "--pseudonyms", str(listing), "--out", str(dpo / "ok.csv")])  # fmt: skip
    assert rc == 0 and (dpo / "ok.csv").exists()


def test_out_over_an_input_named_by_the_case_file_refused(tmp_path):
    """An input the case file names (its leak) is never written to either."""
    from labforensics.case import CaseContext

    ev, index, dump, listing, key, _dpo = _inputs(tmp_path)
    case = CaseContext(leak=dump.parent, patient_index=(index,))
    before = dump.read_bytes()
    for out in (dump, index):
        with pytest.raises(ParameterError, match="an input named by the case file"):
            reidentify(key, [ev], listing, out, force=True, case=case)
    assert dump.read_bytes() == before
