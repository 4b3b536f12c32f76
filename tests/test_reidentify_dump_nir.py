"""``reidentify``: a ``D`` id gives the dump row's NIR as recorded (QA session 17, item 2).

The ``nir`` column of a dump row's id was empty although the row carries a NIR: only
an ``N`` id's NIR (from the evidence) filled it, :func:`people_ids` did not carry the
dump's NIR cell. The DPO lost that cell.
"""

from __future__ import annotations

import pandas as pd

from labforensics.privacy import CaseKey
from labforensics.reidentify import people_ids, reidentify
from test_reidentify_qa11 import _case

KEY = CaseKey(bytes(range(32)))
# the NIR cell written two ways: spaced, and 15 digits straight; a row without one
DUMP = (
    '"nom_patient","prenom","ddn","num_secu","adresse","code_postal","ville","portable"\n'
    '"DURAND","Paul","1985-05-12","1 85 05 75 123 456 78","1 rue A","75002","PARIS","0611"\n'
    '"MARTIN","Zoe","2000-02-29","285057512345678","4 rue B","75001","PARIS","0612"\n'
    '"PETIT","Luc","1990-01-01","","5 rue C","75003","PARIS","0613"\n'
)


def test_dump_row_gives_its_nir_as_recorded(tmp_path):
    ev, idx, dump, dpo = _case(tmp_path)
    (dump / "base_clients.csv").write_text(DUMP, encoding="utf-8")
    ppl = people_ids(KEY, leak=[dump]).set_index("source_line")
    listing = tmp_path / "ids.txt"
    listing.write_text("\n".join(ppl["pseudonym"]) + "\n", encoding="utf-8")
    for patients in ([], [idx]):  # the dump alone, and linked to the indexes
        dest = dpo / f"notify{len(patients)}.csv"
        reidentify(KEY, ev, listing, dest, leak=[dump], patients=patients, force=True)
        got = pd.read_csv(dest, dtype=str, keep_default_na=False).set_index("pseudonym")
        nirs = [got.loc[ppl.loc[line, "pseudonym"], "nir"] for line in (2, 3, 4)]
        assert nirs == ["1 85 05 75 123 456 78", "285057512345678", ""], patients
        assert set(got["kind"]) == {"dump_row"}
