"""``labforensics reidentify`` after the fresh-eyes QA of session 9 (items 2, 3 and 4).

2. A quarantined row of the wrong width had every field keyed with the patient prefix
   ``P`` (site, account, workstation, IP and IPP alike), and reidentify resolved none:
   "0 of 3 keyed ids resolved", each ``kind=patient``. Such fields are now ``U`` ids
   (unplaced value) and reidentify gives them back from the evidence with their kind,
   as it does the ``P`` ids the investigation gave to digit runs of free text; the ``P``
   ids older runs gave such fields resolve too.
3. The identities came back normalised (``N GUYEN / THI ANH13``), an incomplete birth
   date blank: now exactly as the index records them (a phone ``+33612345616`` is
   written ``'+33612345616``, as every text cell starting with ``+``: case 009).
4. A wrong key said "0 of 20 keyed ids resolved", exit 0: now the run's fingerprint is
   checked (an error naming both), and resolving nothing prints a hint.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labforensics.cli import main
from labforensics.errors import CaseKeyError, ParameterError
from labforensics.ingest import read_evidence
from labforensics.privacy import CaseKey, pseudonymise_one, request_id, unplaced_id
from labforensics.reidentify import reidentify, resolution_hint
from lis_headers import LEGACY_HEADER

KEY = CaseKey(bytes(range(32)))
OTHER = CaseKey(bytes(range(1, 33)))
LEG = LEGACY_HEADER + "\r\n"
ROWS = [
    "02/03/2020;08:05:00;L01;S1;tech.a1;TECHNICIEN;PC-1;10.1.0.5;RESULTATS;CONSULTATION;OK;"
    "40000001;200101;;Patient DUPONT Jean IPP 40000002",
    # 17 fields of 15 (the QA's line 5): no field's position can be trusted
    "02/03/2020;08:07:00;L01;S1;tech.a1;TECHNICIEN;PC;10.1.0.5;SAISIE;CONSULTATION;OK;"
    "40000099;1;;x;extra;extra2",
]
INDEX = (
    "IPP;NOM;NOM_NAISSANCE;PRENOM;SEXE;DATE_NAISSANCE;NIR;QUALITE;RANG;ADRESSE;CODE_POSTAL;"
    "VILLE;TELEPHONE;DATE_CREATION;DERNIERE_VISITE\n"
    "40000001;N'GUYEN;N'GUYEN;Thi Ánh;F;00/00/1950;;00;1;3 rue de la Paix;75001;PARIS;"
    "+33612345616;01/01/2015;01/09/2020\n"
    "40000099;O'BRIEN-LEFÈVRE;O'BRIEN-LEFÈVRE;Zoë;F;29/02/2000;;00;1;4 rue de la Paix;75001;"
    "PARIS;06 12 34 56 04;01/01/2015;01/09/2020\n"
)


@pytest.fixture
def case(tmp_path):
    ev = tmp_path / "evidence"
    ev.mkdir()
    (ev / "AUDIT_L01_20200302.csv").write_bytes((LEG + "\r\n".join(ROWS) + "\r\n").encode())
    idx = tmp_path / "patients"
    idx.mkdir()
    (idx / "PATIENTS_L01.csv").write_text(INDEX, encoding="utf-8")
    dpo = tmp_path / "dpo"
    dpo.mkdir()
    return {"evidence": ev, "patients": idx, "dpo": dpo, "tmp": tmp_path}


def _listing(path, ids):
    path.write_text("pseudonym\n" + "\n".join(ids) + "\n", encoding="utf-8")
    return path


def test_unplaced_fields_resolve_with_their_kind(case):
    q = read_evidence(case["evidence"], case_key=KEY).quarantine
    (raw,) = q["raw"].tolist()
    ids = sorted({f for f in raw.split(";") if f[:1] == "U"})
    # site, account, workstation, IP, IPP, request, three texts: U ids, none a P id
    values = ["S1", "tech.a1", "PC", "10.1.0.5", "40000099", "1", "x", "extra", "extra2"]
    assert ids == sorted(unplaced_id(KEY, "L01", v) for v in values)
    assert "P" not in {f[:1] for f in raw.split(";")}
    res = reidentify(KEY, case["evidence"], _listing(case["tmp"] / "u.csv", ids),
                     case["dpo"] / "u.csv")  # fmt: skip
    assert res["found"].all() and set(res["kind"]) == {"unplaced_value"}
    assert res.set_index("value")["pseudonym"].to_dict() == {
        v: unplaced_id(KEY, "L01", v) for v in values
    }
    assert set(res["seen_in"]) == {"quarantined row"} and set(res["lab"]) == {"L01"}


def test_codes_of_older_runs_and_free_text_digits_resolve(case):
    # the QA's three codes: P ids older runs gave the site, the account and the IPP of
    # the wrong-width row; and the P id this run gives the IPP 40000002 in a detail
    old = [pseudonymise_one(KEY, "L01", v) for v in ("S1", "tech.a1")]
    ipp99, ipp02 = (
        pseudonymise_one(KEY, "L01", "40000099"),
        pseudonymise_one(KEY, "L01", "40000002"),
    )
    ev = read_evidence(case["evidence"], case_key=KEY).events
    assert ev["detail"].iloc[0] == f"Patient [NAME] IPP {ipp02}"
    listing = _listing(case["tmp"] / "q.csv", [*old, ipp99, ipp02])
    res = reidentify(KEY, case["evidence"], listing, case["dpo"] / "q.csv").set_index("pseudonym")
    assert res["found"].all()
    assert res.loc[old, ["kind", "value"]].values.tolist() == [
        ["unplaced_value", "S1"],
        ["unplaced_value", "tech.a1"],
    ]
    assert res.loc[ipp99, ["kind", "ipp"]].tolist() == ["patient", "40000099"]
    assert res.loc[ipp02, ["kind", "ipp", "seen_in"]].tolist() == [
        "patient",
        "40000002",
        "free text",
    ]


def test_identities_come_back_as_recorded(case):
    p1 = pseudonymise_one(KEY, "L01", "40000001")
    p99 = pseudonymise_one(KEY, "L01", "40000099")
    dest = case["dpo"] / "notify.csv"
    reidentify(KEY, case["evidence"], _listing(case["tmp"] / "p.csv", [p1, p99]), dest,
               patients=[case["patients"]])  # fmt: skip
    got = pd.read_csv(dest, dtype=str, keep_default_na=False).set_index("pseudonym")
    cols = ["surname", "first_name", "birth_date", "phone"]
    # before: N GUYEN / THI ANH, a blank birth date; the phone is written '+33612345616
    # (shared case 009: a text cell starting with + is neutralised, QA session 10)
    assert got.loc[p1, cols].tolist() == ["N'GUYEN", "Thi Ánh", "00/00/1950", "'+33612345616"]
    assert got.loc[p99, cols].tolist() == ["O'BRIEN-LEFÈVRE", "Zoë", "29/02/2000", "06 12 34 56 04"]
    assert got.loc[p1, "source_line"] == "2" and got.loc[p1, "address"] == "3 rue de la Paix"


def test_a_key_that_is_not_the_runs_is_refused(case):
    run = case["tmp"] / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"case_key_fingerprint": KEY.fingerprint}))
    listing = _listing(run / "flagged.csv", [pseudonymise_one(KEY, "L01", "40000001")])
    with pytest.raises(CaseKeyError) as err:
        reidentify(OTHER, case["evidence"], listing, case["dpo"] / "n.csv")
    msg = str(err.value)
    assert OTHER.fingerprint in msg and KEY.fingerprint in msg
    assert OTHER.secret.hex() not in msg and KEY.secret.hex() not in msg
    assert not (case["dpo"] / "n.csv").exists()
    # the run named explicitly (the listing elsewhere): the same check
    away = _listing(case["tmp"] / "away.csv", [pseudonymise_one(KEY, "L01", "40000001")])
    with pytest.raises(CaseKeyError, match=KEY.fingerprint):
        reidentify(OTHER, case["evidence"], away, case["dpo"] / "n.csv", run=run)
    with pytest.raises(ParameterError, match="case_key_fingerprint"):
        reidentify(KEY, case["evidence"], away, case["dpo"] / "n.csv", run=case["evidence"])
    # the right key passes
    res = reidentify(KEY, case["evidence"], listing, case["dpo"] / "n.csv")
    assert res["found"].all() and resolution_hint(res) is None


def test_nothing_resolved_prints_a_hint(case, capsys):
    key_file = OTHER.write(case["tmp"] / "other.key")
    listing = _listing(case["tmp"] / "p.csv", [
        pseudonymise_one(KEY, "L01", "40000001"), request_id(KEY, "L01", "200101")])  # fmt: skip
    rc = main(["reidentify", "--case-key", str(key_file), "--evidence", str(case["evidence"]),
               "--pseudonyms", str(listing), "--out", str(case["dpo"] / "w.csv")])  # fmt: skip
    out, err = capsys.readouterr()
    assert rc == 0 and "0 of 2 keyed ids resolved" in out
    assert "none of the 2 keyed id(s) resolved" in err and OTHER.fingerprint in err
    assert OTHER.secret.hex() not in err
    # an N id never resolves: asking only for N ids gives no hint
    nir = pd.DataFrame({"pseudonym": ["N0123456789abcdef"], "kind": ["nir"], "found": [False]})
    assert resolution_hint(nir, "x") is None
