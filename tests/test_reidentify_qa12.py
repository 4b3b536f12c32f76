"""``labforensics reidentify`` after the QA of session 12: a ``P`` id no event names.

A patient of the leak registered in ``PATIENTS_L01.csv`` (line 106) but with no audit
event came back with lab ``L01``, the index's name and address, and an EMPTY ``ipp``:
the officer could not look the patient up in the LIS. The IPP (and lab) now come from
the index row the id was keyed from; an id the events name keeps the events' IPP.
"""

from __future__ import annotations

import stat

import pandas as pd
import pytest

from labforensics.errors import ParameterError
from labforensics.privacy import CaseKey, pseudonymise_one
from labforensics.reidentify import people_ids, reidentify
from test_reidentify_qa9 import LEG, ROWS

KEY = CaseKey(bytes(range(32)))
# 40000001 is named by the event (ROWS[0]); 40000099 and +40000777 only by the index;
# " 40000555 " is written with spaces around it (the id is keyed from the trimmed cell)
INDEX = (
    "IPP;NOM;PRENOM;DATE_NAISSANCE;ADRESSE;CODE_POSTAL;VILLE\n"
    "40000001;DURAND;Paul;12/05/1985;1 rue A;75002;PARIS\n"
    "40000099;MARTIN;Zoé;29/02/2000;4 rue B;75001;PARIS\n"
    "+40000777;PETIT;Léa;01/01/1990;5 rue C;75003;PARIS\n"
    " 40000555 ;ROUX;Ana;02/02/1992;6 rue D;75004;PARIS\n"
)


@pytest.fixture
def case(tmp_path):
    ev = tmp_path / "evidence"
    ev.mkdir()
    (ev / "AUDIT_L01_20200302.csv").write_bytes((LEG + ROWS[0] + "\r\n").encode())
    idx = tmp_path / "patients"
    idx.mkdir()
    (idx / "PATIENTS_L01.csv").write_text(INDEX, encoding="utf-8")
    dpo = tmp_path / "dpo"
    dpo.mkdir()
    return ev, idx, dpo, tmp_path


def test_index_only_patient_gets_its_ipp_and_lab(case):
    ev, idx, dpo, tmp = case
    p1, p99, p777, p555 = (
        pseudonymise_one(KEY, "L01", v) for v in ("40000001", "40000099", "+40000777", "40000555")
    )
    unknown = "Pffffffffffffffff"
    listing = tmp / "ids.txt"
    listing.write_text("\n".join([p1, p99, p777, p555, unknown]) + "\n", encoding="utf-8")
    dest = dpo / "notify.csv"
    res = reidentify(KEY, ev, listing, dest, patients=[idx])
    got = pd.read_csv(dest, dtype=str, keep_default_na=False).set_index("pseudonym")
    cols = ["kind", "lab", "ipp", "seen_in", "source_file", "source_line", "surname", "found"]
    # seen in the event: the event's IPP, and the index's line 2 cells
    assert got.loc[p1, cols].tolist() == [
        "patient", "L01", "40000001", "ipp column", "PATIENTS_L01.csv", "2", "DURAND", "True",
    ]  # fmt: skip
    # no event: the IPP of index line 3 (was empty), lab L01 from the file name
    assert got.loc[p99, cols].tolist() == [
        "patient", "L01", "40000099", "", "PATIENTS_L01.csv", "3", "MARTIN", "True",
    ]  # fmt: skip
    # an IPP starting with + is neutralised in the CSV as every text cell (shared case 009)
    assert got.loc[p777, ["ipp", "source_line"]].tolist() == ["'+40000777", "4"]
    assert res.set_index("pseudonym").loc[p777, "ipp"] == "+40000777"  # the value itself
    # the trimmed cell: the value the id was keyed from
    assert got.loc[p555, ["ipp", "source_line"]].tolist() == ["40000555", "5"]
    assert got.loc[unknown, ["lab", "ipp", "found"]].tolist() == ["", "", "False"]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600


def test_people_ids_carry_the_index_ipp(case):
    _, idx, _, _ = case
    ppl = people_ids(KEY, patients=[idx]).set_index("source_line")
    assert ppl["ipp"].tolist() == ["40000001", "40000099", "+40000777", "40000555"]
    assert ppl.loc[3, "pseudonym"] == pseudonymise_one(KEY, "L01", "40000099")


def test_out_inside_an_input_folder_is_still_refused(case):
    ev, idx, _, tmp = case
    listing = tmp / "ids.txt"
    listing.write_text(pseudonymise_one(KEY, "L01", "40000099") + "\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="inside the input folder"):
        reidentify(KEY, ev, listing, idx / "notify.csv", patients=[idx])
    assert sorted(p.name for p in idx.iterdir()) == ["PATIENTS_L01.csv"]
