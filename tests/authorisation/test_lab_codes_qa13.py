"""A lab named in lower case is the evidence's lab everywhere (QA session 13, finding 2).

The evidence's labs are upper case (a file ``AUDIT_L07_...`` gives ``L07``). A register
row naming ``l07`` used to match no event: the export it authorises became ``beyond``
and the report only warned that the register named a lab "not in the evidence (l07)".
"""

from __future__ import annotations

import pandas as pd

from labforensics import read_evidence
from labforensics.attribution import read_leak
from labforensics.authorisation import assess_exports, read_authorisations
from labforensics.case import CaseContext
from labforensics.labcodes import canonical_lab, lab_alias_map, resolve_lab
from labforensics.leak.patients import read_patient_index
from labforensics.privacy import CaseKey, pseudonymise_one
from labforensics.report.input_limits import input_limits
from labforensics.sessions import sessionize
from lis_headers import LEGACY_HEADER as HEAD

from .conftest import make_events, write_register

CASE = CaseContext(tz="Europe/Paris")
KEY = CaseKey(bytes(range(32)))

# /tmp/qa13-inputs/P_register: one ticket, two rows. Row 1 (June 1-10) allows 5 records;
# row 2 (2020-06-05 23:00-23:06 local) has no record limit. The extraction of 9 records
# at 23:05 is beyond row 1 (9 > 5) and inside row 2: authorised by row 2 alone.
ROWS = [
    "MIG-7;L07;migration.editeur;migration;2020-06-01;2020-06-10;2020-01-01;5;L07_*.csv;x",
    "MIG-7;{lab};Migration.Editeur;migration;2020-06-05T23:00;2020-06-05T23:06+02:00;;;;again",
]
EVENTS = [
    {"t": "2020-06-05 08:01", "account": "tech.a", "patient": "P1"},
    {"t": "2020-06-05 23:05", "account": "migration.editeur", "role": "EDITEUR",
     "account_kind": "vendor", "module": "EXTRACTION", "action": "extract", "records": 9,
     "detail": "Extraction complete vers ftp://transfert/L07_export.csv",
     "host": "PC-1"},
]  # fmt: skip


def test_canonical_lab_forms():
    assert canonical_lab(" l07 ") == "L07"
    assert canonical_lab("2a0001234") == "2A0001234"  # a Corsican FINESS
    assert canonical_lab("*") == "*"
    assert canonical_lab("  ") is None and canonical_lab(None) is None
    assert canonical_lab(pd.NA) is None
    aliases = lab_alias_map({"2a0001234": "l07"})
    assert aliases == {"2A0001234": "L07"}
    assert resolve_lab("2A0001234", aliases) == "L07"


def test_register_lab_in_lower_case_authorises_as_upper(tmp_path):
    ev = make_events(EVENTS)
    ss = sessionize(ev)
    status = {}
    for lab in ("L07", "l07", " l07 "):
        reg = read_authorisations(write_register(tmp_path, [ROWS[0], ROWS[1].format(lab=lab)]),
                                  CASE)  # fmt: skip
        assert reg["lab"].tolist() == ["L07", "L07"]
        out = assess_exports(ss.events, ss.sessions, register=reg, case=CASE)
        status[lab] = (out.iloc[0]["status"], out.iloc[0]["ticket"])
        # no "lab not in the evidence" warning: the register's labs are the evidence's
        assert not [w for w in input_limits(register=reg, evidence_labs={"L07"})
                    if "not in the evidence" in w]  # fmt: skip
    assert set(status.values()) == {("authorised", "MIG-7")}
    # only row 1 (lower-case lab in row 1 too): 9 records > 5 -> beyond
    reg = read_authorisations(write_register(tmp_path, [ROWS[0].replace(";L07;", ";l07;")]), CASE)
    out = assess_exports(ss.events, ss.sessions, register=reg, case=CASE)
    assert out.iloc[0]["status"] == "beyond"


def test_register_finess_and_case_alias_in_any_case(tmp_path):
    case = CaseContext(tz="Europe/Paris", lab_aliases={"2a0001234": "l07"})
    reg = read_authorisations(
        write_register(tmp_path, [ROWS[0], ROWS[1].format(lab="2A0001234")]), case
    )
    assert reg["lab"].tolist() == ["L07", "L07"]
    ss = sessionize(make_events(EVENTS))
    out = assess_exports(ss.events, ss.sessions, register=reg, case=case)
    assert out.iloc[0]["status"] == "authorised"


def _audit(path, labo: str) -> None:
    path.write_text(
        HEAD + "\n"
        f"05/06/2020;08:00:00;{labo};S1;tech.a;TECHNICIEN;PC-1;10.7.0.2;ADMIN;CONNEXION;OK;;;;\n"
        f"05/06/2020;08:01:00;{labo};S1;tech.a;TECHNICIEN;PC-1;10.7.0.2;RESULTATS;"
        "CONSULTATION;OK;000001;;;\n",
        encoding="utf-8",
    )


def test_evidence_lab_column_option_and_alias_canonical(tmp_path):
    ev_dir = tmp_path / "ev"
    ev_dir.mkdir()
    _audit(ev_dir / "AUDIT_L07_20200605.csv", "l07")  # lab column in lower case
    _audit(ev_dir / "AUDIT_l08_20200605.csv", "")  # no lab in the rows: the file name's
    _audit(ev_dir / "AUDIT_L09_20200605.csv", "2a0001234")  # a FINESS, alias in any case
    ev = read_evidence(ev_dir, tz="Europe/Paris", lab_aliases={"2A0001234": "l09"},
                       case_key=KEY, progress=False)  # fmt: skip
    assert sorted(ev.events["lab"].unique().tolist()) == ["L07", "L08", "L09"]
    assert ev.events["lab"].value_counts().to_dict() == {"L07": 2, "L08": 2, "L09": 2}
    # the --lab option in lower case, for rows naming none, in a file naming none
    one = tmp_path / "one"
    one.mkdir()
    _audit(one / "journal.csv", "")
    ev = read_evidence(one, tz="Europe/Paris", lab="l07", case_key=KEY, progress=False)
    assert ev.events["lab"].unique().tolist() == ["L07"]


def test_leak_and_patient_index_labs_canonical(tmp_path):
    p = tmp_path / "leak.csv"
    p.write_text("ipp,labo\n000123,l07\n000124, L07 \n", encoding="utf-8")
    r = read_leak(p, case_key=KEY)
    assert r["lab"].tolist() == ["L07", "L07"]
    assert r["patient"].tolist() == [pseudonymise_one(KEY, "L07", "000123"),
                                     pseudonymise_one(KEY, "L07", "000124")]  # fmt: skip
    # a lab-less leak with labs= in lower case
    q = tmp_path / "leak2.csv"
    q.write_text("ipp\n000125\n", encoding="utf-8")
    assert read_leak(q, case_key=KEY, labs=["l07"])["lab"].tolist() == ["L07"]
    # a patient index named after the lab in lower case keys its patients with L07
    ix = tmp_path / "patients_l07.csv"
    ix.write_text("IPP;NOM;DATE_CREATION\n000123;X;01/01/2010\n", encoding="utf-8")
    people = read_patient_index(ix, case_key=KEY, tz="Europe/Paris").people
    assert people["lab"].tolist() == ["L07"]
    assert people["record_id"].tolist() == [pseudonymise_one(KEY, "L07", "000123")]
