"""``labforensics reidentify`` after the QA of session 11 (item 3): a ``D`` id's own cells.

A dump row linked to an index patient came back with the index patient's cells
(``ZOE``, ``03/03/1972``, ``0612345670``) labelled ``dump_row``, its ``dump_file`` and
``line`` empty. Each id now gives its own source's cells exactly as recorded: a ``D``
id the dump row's (with its file and line), a ``P`` id the index's.
"""

from __future__ import annotations

import pandas as pd

from labforensics.privacy import CaseKey, pseudonymise_one
from labforensics.reidentify import people_ids, reidentify
from test_reidentify_qa9 import INDEX, LEG, ROWS

KEY = CaseKey(bytes(range(32)))
# the index's O'BRIEN-LEFÈVRE / Zoë / 29/02/2000 / 06 12 34 56 04 (INDEX, line 3), spelt
# otherwise by the dump (line 3 of its file): case, accents, ISO date, signed phone
DUMP = (
    '"nom_patient","prenom","ddn","num_secu","adresse","code_postal","ville","portable"\n'
    '"DURAND","Paul","1985-05-12","","1 rue A","75002","PARIS","0611111111"\n'
    '"o\'brien-lefevre","zoe","2000-02-29","","4 rue de la Paix","75001","PARIS","-0612345604"\n'
)


def _case(tmp_path):
    ev = tmp_path / "evidence"
    ev.mkdir()
    (ev / "AUDIT_L01_20200302.csv").write_bytes((LEG + "\r\n".join(ROWS) + "\r\n").encode())
    idx = tmp_path / "patients"
    idx.mkdir()
    (idx / "PATIENTS_L01.csv").write_text(INDEX, encoding="utf-8")
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "base_clients.csv").write_text(DUMP, encoding="utf-8")
    dpo = tmp_path / "dpo"
    dpo.mkdir()
    return ev, idx, dump, dpo


def test_each_id_gives_its_own_sources_cells(tmp_path):
    ev, idx, dump, dpo = _case(tmp_path)
    ppl = people_ids(KEY, leak=[dump], patients=[idx])
    d_row = ppl[(ppl["source_file"] == "base_clients.csv") & (ppl["source_line"] == 3)]
    assert len(d_row) == 1
    d_id = d_row["pseudonym"].iloc[0]
    p_id = pseudonymise_one(KEY, "L01", "40000099")
    assert d_id.startswith("D") and d_row["linked_patient"].iloc[0] == p_id
    listing = tmp_path / "ids.txt"
    listing.write_text(f"{d_id}\n{p_id}\n", encoding="utf-8")
    dest = dpo / "notify.csv"
    reidentify(KEY, ev, listing, dest, leak=[dump], patients=[idx])
    got = pd.read_csv(dest, dtype=str, keep_default_na=False).set_index("pseudonym")
    cols = ["kind", "surname", "first_name", "birth_date", "address", "phone"]
    # the dump row's own cells; its signed phone neutralised as every text cell is
    assert got.loc[d_id, cols].tolist() == [
        "dump_row", "o'brien-lefevre", "zoe", "2000-02-29", "4 rue de la Paix", "'-0612345604",
    ]  # fmt: skip
    assert got.loc[d_id, ["dump_file", "line", "linked_patient", "found"]].tolist() == [
        "base_clients.csv", "3", p_id, "True",
    ]  # fmt: skip
    # the index's own cells for the P id of the same person
    assert got.loc[p_id, cols].tolist() == [
        "patient", "O'BRIEN-LEFÈVRE", "Zoë", "29/02/2000", "4 rue de la Paix", "06 12 34 56 04",
    ]  # fmt: skip
    assert got.loc[p_id, ["dump_file", "line", "source_line"]].tolist() == ["", "", "3"]
    assert list(tmp_path.glob("evidence/*")) == [ev / "AUDIT_L01_20200302.csv"]
