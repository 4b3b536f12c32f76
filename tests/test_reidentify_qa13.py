"""``labforensics reidentify`` after the QA of session 12 (left items): a ``D`` id's IPP,
and the indexes and dumps read through the case's column mappings.

- A dump row linked to an index patient came back with an empty ``ipp``: the officer
  has the linked ``P`` id but not the IPP to look up in the LIS. It is now the linked
  patient's (the index row's IPP cell); an unlinked row's stays empty.
- ``_as_recorded`` re-read the files without the case's mappings: a mapped index's
  columns (``Ident``, ``Champ2``) were not found. Now read as the investigation
  read them.
"""

from __future__ import annotations

import pandas as pd

from labforensics.case import CaseContext
from labforensics.privacy import CaseKey, pseudonymise_one
from labforensics.reidentify import people_ids, reidentify
from test_reidentify_qa11 import _case

KEY = CaseKey(bytes(range(32)))


def test_linked_dump_row_gets_its_patients_ipp(tmp_path):
    ev, idx, dump, dpo = _case(tmp_path)
    ppl = people_ids(KEY, leak=[dump], patients=[idx])
    d = ppl[ppl["source_file"] == "base_clients.csv"].set_index("source_line")
    p99 = pseudonymise_one(KEY, "L01", "40000099")
    # dump line 3 (o'brien-lefevre / zoe) is linked to index line 3, IPP 40000099
    assert d.loc[3, ["linked_patient", "ipp"]].tolist() == [p99, "40000099"]
    listing = tmp_path / "ids.txt"
    listing.write_text(d.loc[3, "pseudonym"] + "\n", encoding="utf-8")
    dest = dpo / "notify.csv"
    reidentify(KEY, ev, listing, dest, leak=[dump], patients=[idx])
    got = pd.read_csv(dest, dtype=str, keep_default_na=False)
    assert got[["kind", "ipp", "linked_patient"]].values.tolist() == [["dump_row", "40000099", p99]]


def test_unlinked_dump_row_keeps_no_ipp(tmp_path):
    _, idx, dump, _ = _case(tmp_path)
    with open(dump / "base_clients.csv", "a", encoding="utf-8") as fh:  # line 4: nobody
        fh.write('"NOBODY","Xavier","1901-01-01","","9 rue Z","99999","NULLE","0699999999"\n')
    ppl = people_ids(KEY, leak=[dump], patients=[idx])
    d = ppl[ppl["source_file"] == "base_clients.csv"].set_index("source_line")
    assert pd.isna(d.loc[4, "linked_patient"]) and pd.isna(d.loc[4, "ipp"])
    assert d.loc[3, "ipp"] == "40000099"


def test_mapped_index_read_with_the_cases_mapping(tmp_path):
    idx = tmp_path / "patients"
    idx.mkdir()
    (idx / "PATIENTS_L01.csv").write_text(
        "Ident;Champ2;Champ3;Champ4\n 40000099 ;MARTIN;Zoé;2000-02-29\n", encoding="utf-8"
    )
    m = tmp_path / "map.toml"
    m.write_text(
        'name = "lab_x"\nfiles = "PATIENTS_*.csv"\nseparator = ";"\n'
        '[columns]\nipp = "Ident"\nsurname = "Champ2"\nfirst_name = "Champ3"\n'
        'birth_date = { column = "Champ4", format = "%Y-%m-%d" }\n',
        encoding="utf-8",
    )
    case = CaseContext(tz="Europe/Paris", leak_mappings=(m,))
    ppl = people_ids(KEY, case=case, patients=[idx])
    assert ppl[["pseudonym", "ipp", "surname", "first_name", "birth_date"]].values.tolist() == [
        [pseudonymise_one(KEY, "L01", "40000099"), "40000099", "MARTIN", "Zoé", "2000-02-29"]
    ]
