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
