"""Patient-index and dump lines not used reach quarantine.csv and the report (QA session 5,
item 2): they were counted in the readers' reports only and vanished from the outputs."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

from labforensics.cli import main
from labforensics.leak.dump import read_dump
from labforensics.leak.patients import read_patient_index
from labforensics.leak.quarantine import leak_input_checks, leak_quarantine

KEY = "ab" * 16
INDEX_HEAD = "IPP;NOM;PRENOM;DATE_NAISSANCE;NIR;TELEPHONE;CODE_POSTAL\n"
FIRST = ["ANNE", "BRUNO", "CLAIRE", "DENIS", "EMMA", "FABIEN", "GAELLE", "HUGO", "INES", "JULES"]
LAST = ["QUIRVEL", "WASMOK", "ZERNIAC", "YPSALD", "XOTEMBA"]


def _nir(sex: int, yy: int, mm: int, serial: int) -> str:
    body = f"{sex}{yy:02d}{mm:02d}75{serial:03d}{serial % 900 + 1:03d}"
    return body + f"{97 - int(body) % 97:02d}"


def _people() -> list[tuple[str, str, str, str, str, str, str]]:
    rows = []
    for i in range(50):
        fn, sn = FIRST[i % 10], LAST[i // 10]
        d, m, y = 1 + i % 28, 1 + i % 12, 1950 + i
        rows.append((str(200000 + i), sn, fn, f"{d:02d}/{m:02d}/{y}",
                     _nir(1 + i % 2, y % 100, m, 100 + i), f"06{i:08d}", "75011"))  # fmt: skip
    return rows


def _write(tmp_path):
    people = _people()
    idx = [INDEX_HEAD] + [";".join(p) + "\n" for p in people]
    idx.insert(3, ";".join(people[0]).replace("ANNE", "ANNA") + "\n")  # line 4: IPP seen again
    idx.insert(5, "200099;QUIRVEL\n")  # line 6: too few fields
    idx.append("200098;WASMOK;LEA;31/02/1990;123;;75011\n")  # line 54: bad date and NIR, used
    (tmp_path / "pat").mkdir()
    (tmp_path / "pat" / "PATIENTS_L01.csv").write_text("".join(idx), encoding="utf-8")
    dump = ["NOM;PRENOM;DDN;N° SS;TEL\n"]
    dump += [f"{p[1]};{p[2]};{p[3]};{p[4]};{p[5]}\n" for p in people[:20]]
    dump.append("QUIRVEL;ANNE\n")  # line 22: malformed
    dump.append(";;;;\n")  # line 23: no person field
    (tmp_path / "dump.csv").write_text("".join(dump), encoding="utf-8")
    return tmp_path / "pat", tmp_path / "dump.csv", people


def test_leak_quarantine_rows_hand_worked(tmp_path):
    pat, dump, _ = _write(tmp_path)
    linked = SimpleNamespace(
        index=read_patient_index(pat, case_key=KEY), dump=read_dump(dump, case_key=KEY)
    )
    q = leak_quarantine(linked)
    # index lines 4 and 6, dump lines 22 and 23: file, line, reason; never a raw value
    assert q[["source_file", "source_line"]].astype(str).values.tolist() == [
        ["PATIENTS_L01.csv", "4"], ["PATIENTS_L01.csv", "6"],
        ["dump.csv", "22"], ["dump.csv", "23"],
    ]  # fmt: skip
    assert q["reason"].tolist() == [
        "patient index: IPP already seen at PATIENTS_L01.csv:2",
        "patient index: malformed: expected 7 fields, saw 2",
        "dump: malformed: expected 5 fields, saw 2",
        "dump: no person field",
    ]
    assert q["raw"].isna().all()
    c = leak_input_checks(linked)
    # 54 index lines (header + 53), 2 set aside; line 54's NIR '123' and 31/02 are read as missing
    assert c["patient_index"]["lines"] == 54 and c["patient_index"]["lines_set_aside"] == 2
    assert c["patient_index"]["nir_invalid"] == 1
    assert (
        c["patient_index"]["birth_date_invalid"] + c["patient_index"]["birth_date_unreadable"] == 1
    )
    assert c["dump"] == {"lines": 23, "lines_set_aside": 2, "nir_invalid": 0,
                         "birth_date_invalid": 0, "birth_date_unreadable": 0}  # fmt: skip


def test_investigate_writes_them_to_quarantine_csv_and_the_report(tmp_path, monkeypatch):
    monkeypatch.delenv("LABFORENSICS_CASE_KEY", raising=False)
    pat, dump, people = _write(tmp_path)
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "AUDIT_L01_20200303.csv").write_text(
        "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
        "NB_ENREG;DETAIL\n"
        "03/03/2020;08:00:00;L01;S1;tech.a;TECHNICIEN;PC-01;10.0.0.5;RESULTATS;CONNEXION;OK;;;;\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    rc = main(["investigate", str(ev), "--out", str(out), "--leak", str(dump),
               "--patients", str(pat), "--quiet"])  # fmt: skip
    assert rc == 0
    with open(out / "quarantine.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    leak_rows = [(r["source_file"], r["source_line"]) for r in rows if ": " in r["reason"]
                 and r["reason"].split(":")[0] in ("patient index", "dump")]  # fmt: skip
    assert leak_rows == [("PATIENTS_L01.csv", "4"), ("PATIENTS_L01.csv", "6"),
                         ("dump.csv", "22"), ("dump.csv", "23")]  # fmt: skip
    text = (out / "quarantine.csv").read_text(encoding="utf-8")
    for p in people[:3]:  # no IPP, name or NIR of the index or the dump
        assert p[0] not in text and p[1] not in text and p[4] not in text
    f = json.loads((out / "findings.json").read_text())
    assert f["leak_linkage"]["inputs_checked"]["dump"]["lines_set_aside"] == 2
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "patient index: 54 line(s) read, 2 set aside, 1 invalid NIR(s)" in html
