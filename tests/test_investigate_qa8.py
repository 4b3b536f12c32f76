"""investigate() end to end on the two faults of the fresh-eyes QA of session 8.

1. Quarantined rows of the wrong width: a short row (12 fields of 16) and a long row (18)
   of patient A7310042, whose IPP sits at a shifted position, with the patient's name and
   NIR in the free text. No raw IPP, name or NIR may reach quarantine.csv, findings.json
   or report.html; the shifted IPP shows as the patient's own pseudonym (the good row of
   that patient makes it known), and the reason says the fields were out of place.
2. A byte that is not UTF-8 in a current-dialect file: the file is listed in the report's
   evidence section with its note, and the limits say the values may be wrong.

The case: tests/hostile.py, three days of lab L01.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import labforensics as lf
from hostile import write_hostile_case
from labforensics.ingest.protection import UNPLACED_NOTE

IPP, NAME, NIR = "A7310042", "DUPONT Jeanne", "2 69 04 99 123 456 46"  # NIR key 46: valid
GOOD = (
    f"2020-03-04T11:00:00+01:00;L01;S1;marie.d;technicien;PC-0;10.1.0.10;resultats;"
    f"consultation;succes;{IPP};D77;;;A000;vu"
)
# code_site, poste, adresse_ip and nb_lignes missing: 12 fields, the IPP in field 8 (1-based)
SHORT = (
    f"2020-03-04T11:01:00+01:00;L01;marie.d;technicien;resultats;consultation;succes;{IPP};"
    f"D77;;A000;Mme {NAME} NIR {NIR}"
)
# a login "marie;d" and a comment "DUPONT;Jeanne ..." unquoted: 18 fields, the IPP in 12
LONG = (
    f"2020-03-04T11:02:00+01:00;L01;S1;marie;d;technicien;PC-0;10.1.0.10;resultats;"
    f"consultation;succes;{IPP};D77;;;A000;DUPONT;Jeanne {NIR}"
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("qa8")
    p = write_hostile_case(base / "case", days=3)
    last = p["evidence"] / "audit_l01_2020-03-04.csv"
    last.write_bytes(last.read_bytes() + "\n".join([GOOD, SHORT, LONG]).encode() + b"\n")
    first = p["evidence"] / "audit_l01_2020-03-02.csv"
    data = first.read_bytes()
    assert data.count(b"export hebdo") == 3
    first.write_bytes(
        data.replace(b"export hebdo", b"export h\x81bdo", 1)
    )  # one byte neither UTF-8 nor cp1252
    line = data[: data.index(b"export hebdo")].count(b"\n") + 1
    (base / "case.key").write_text(bytes(range(32)).hex() + "\n")
    case = base / "case.toml"
    case.write_text('[case]\nname = "QA 8"\nkey_file = "case.key"\nseed = 7\n')
    res = lf.investigate(p["evidence"], base / "out", case=case, progress=False)
    return res, line


def _texts(res) -> dict[str, str]:
    names = ("quarantine.csv", "field_problems.csv", "findings.json", "report.html",
             "sources.csv", "manifest.json")  # fmt: skip
    return {n: (res.out / n).read_text(encoding="utf-8") for n in names}


def test_no_raw_patient_identifier_in_any_text_output(run):
    res, _ = run
    for name, text in _texts(res).items():
        for raw in (IPP, "DUPONT", "Jeanne", NIR, NIR.replace(" ", "")):
            assert raw not in text, (name, raw)


def test_shifted_ipp_shows_as_the_patients_pseudonym(run):
    res, _ = run
    ev = pd.read_parquet(res.out / "events.parquet", columns=["patient", "request", "ts"])
    pid = ev.loc[ev["ts"] == pd.Timestamp("2020-03-04 10:00", tz="UTC"), "patient"].iloc[0]
    assert pid.startswith("P")
    q = pd.read_csv(res.out / "quarantine.csv", dtype=str)
    ours = q[q["reason"].str.startswith("wrong field count: 1")]  # 12 and 18 fields
    assert sorted(ours["reason"]) == [
        "wrong field count: 12 fields, expected 16" + UNPLACED_NOTE,
        "wrong field count: 18 fields, expected 16" + UNPLACED_NOTE,
    ]
    for raw in ours["raw"]:
        fields = raw.split(";")
        assert pid in fields  # the IPP, wherever it shifted to
        # kept: the time, the lab and the codes; nothing else in clear
        assert fields[0] == "2020-03-04T11:01:00+01:00" or fields[0] == "2020-03-04T11:02:00+01:00"
        assert {"L01", "technicien", "resultats", "consultation", "succes"} <= set(fields)
        assert "marie.d" not in fields and "marie" not in fields and "S1" not in fields


def test_report_says_what_the_quarantine_shows(run):
    res, _ = run
    html = (res.out / "report.html").read_text(encoding="utf-8")
    assert "no field&#39;s position can be trusted" in html or "no field's position" in html
    assert "show the values as logged" not in html


def test_undecodable_byte_is_listed_and_is_a_limit(run):
    res, line = run
    f = json.loads((res.out / "findings.json").read_text(encoding="utf-8"))
    note = (f"1 undecodable byte(s) (utf-8-sig) read as U+FFFD followed by its hex (xNN): "
            f"line(s) {line}")  # fmt: skip
    acc = {r["source_file"]: r for r in f["accounting"]["files"]}
    assert acc["audit_l01_2020-03-02.csv"]["replacement_chars"] == 1
    assert acc["audit_l01_2020-03-02.csv"]["encoding_note"] == note
    assert any(
        t.startswith("1 undecodable byte(s) in 1 file(s) (audit_l01_2020-03-02.csv)")
        for t in f["limits"]
    )
    html = (res.out / "report.html").read_text(encoding="utf-8")
    sec = html[html.index('id="encoding"') : html.index('id="gaps"')]
    assert "audit_l01_2020-03-02.csv" in sec and note in sec
