"""EM training blocks chosen from the fields the dump holds (QA session 5, item 1).

A dump without postcodes (``NOM;PRENOM;DDN;N° SS;TEL``) gave the default block
``first name + postcode`` no pair and the whole linkage stopped in Splink's EM.
Each test below blanks one field in the whole dump and checks the blocks chosen
(worked out by hand from :data:`EM_CANDIDATES`: a block cannot train a comparison
whose columns it uses) and that a hand-built person still links to her record.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from labforensics.errors import LinkageError
from labforensics.leak.decisions import EM_RULES
from labforensics.leak.linkage import LinkageParams, _prepare, link_dump
from labforensics.leak.training import choose_em_rules, comparison_inputs

sys.path.insert(0, str(Path(__file__).parent))
from gen_people import make_case

FN_PHONE = "l.fn = r.fn and l.phone = r.phone"
NIR = "l.nir = r.nir"

#: Dump column(s) of the person frame blanked for each missing field.
BLANKED = {
    "postcode": ["postcode", "address"],
    "birth_date": ["birth_date", "birth_year", "birth_month", "birth_day"],
    "nir": ["nir"],
    "phone": ["phone"],
}


def _person(rid: str, lab: str | None) -> dict:
    """One fake person (names the generator's syllables cannot produce)."""
    return {
        "record_id": rid, "lab": lab, "source_file": "x.csv", "source_line": 7,
        "surname": "WYZKOWSKA", "birth_name": None, "first_name": "HILDEGARDE",
        "first_name_first": "HILDEGARDE", "sex": "F", "birth_date": "1961-08-27",
        "birth_year": 1961, "birth_month": 8, "birth_day": 27, "nir": "261087512345617",
        "nir_raw_invalid": False, "qualite": "00", "rang": 1, "address": "5 RUE XAVIER",
        "postcode": "75011", "city": "PARIS", "phone": "+33611223344",
    }  # fmt: skip


@pytest.fixture(scope="module")
def case():
    idx, dmp, _ = make_case(900, 300, 1, seed=5)
    hand_idx = pd.DataFrame([_person("PZHAND", str(idx["lab"].iloc[0]))]).astype(idx.dtypes)
    hand_dmp = pd.DataFrame([_person("DZHAND", None)]).astype(dmp.dtypes)
    return (
        pd.concat([idx, hand_idx], ignore_index=True),
        pd.concat([dmp, hand_dmp], ignore_index=True),
    )


def _without(dump: pd.DataFrame, field: str) -> pd.DataFrame:
    out = dump.copy()
    for col in BLANKED[field]:
        out[col] = pd.Series(pd.NA, index=out.index, dtype=out[col].dtype)
    return out


def _choice(case, field: str | None):
    index, dump = case
    d = dump if field is None else _without(dump, field)
    return choose_em_rules(_prepare(index, "index"), _prepare(d, "dump"))


def test_comparison_inputs_read_from_the_levels():
    # the NIR comparison reads the birth date and first word (its levels), so the
    # birth-date block cannot train it; first name reads its tf column fn
    inputs = comparison_inputs()
    assert inputs["nir"] == {"nir", "dob", "dob_swap", "fn1"}
    assert inputs["first_name"] == {"fn", "fn1"}
    assert {"sn", "phone", "postcode", "address"} <= inputs["household"]


@pytest.mark.parametrize(
    ("field", "rules", "untrained"),
    [
        (None, EM_RULES, ()),  # every field: the two defaults, unchanged
        ("postcode", (EM_RULES[0], FN_PHONE), ()),  # NIR and birth date by first name + phone
        ("birth_date", (EM_RULES[1], NIR), ()),  # first name and household by NIR
        ("nir", EM_RULES, ()),  # NIR uninformed: no training needed
        ("phone", EM_RULES, ()),  # phone is in no default block
    ],
)
def test_blocks_chosen_from_the_fields_the_dump_holds(case, field, rules, untrained):
    ch = _choice(case, field)
    assert ch.rules == rules
    assert ch.untrained == untrained


@pytest.mark.parametrize("field", ["postcode", "birth_date", "nir", "phone"])
def test_dump_lacking_a_field_still_links_the_hand_built_person(case, field):
    index, dump = case
    lk = link_dump(
        index, _without(dump, field), seed=3, params=LinkageParams(threshold=0.9, decoy=False)
    )
    row = lk.links.set_index("row_id").loc["DZHAND"]
    # the same person (name, first name and every field left agree): one link, to her
    assert row["match"] == "unique"
    assert row["patient"] == "PZHAND"


def test_no_training_possible_says_why(case):
    # a dump holding only NIRs: every block either fixes the NIR comparison or needs a
    # field the dump lacks, so nothing can be trained: a clear error, no Splink trace
    index, dump = case
    only_nir = dump.copy()
    for col in ("surname", "first_name", "first_name_first", "phone", "address", "postcode",
                *BLANKED["birth_date"]):  # fmt: skip
        only_nir[col] = pd.Series(pd.NA, index=only_nir.index, dtype=only_nir[col].dtype)
    with pytest.raises(LinkageError, match="cannot be trained.*holds values for: nir") as e:
        link_dump(index, only_nir, seed=3, params=LinkageParams(decoy=False))
    assert "LEAK-CONTRACT" not in str(e.value)
