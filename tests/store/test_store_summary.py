"""``ingest --store`` says the files already ingested in one line (QA, session 16, item 4).

It printed one ``already ingested: PATH`` line per file (92 lines on the demo); the
count is on the first line, the first three names on one more, and the store's
``manifest.json`` keeps every one (its ingest journal).
"""

from __future__ import annotations

from pathlib import Path

from labforensics.store._ingest import StoreIngest


def _skipped(n: int) -> list[dict[str, str]]:
    return [{"path": f"ev/AUDIT_{i}.csv", "source_file": f"AUDIT_{i}.csv", "sha256": "0" * 64}
            for i in range(1, n + 1)]  # fmt: skip


def test_many_skipped_files_are_one_line():
    res = StoreIngest(store=Path("/s"), added=["a.csv"], skipped=_skipped(92), groups=["lab:L01"])
    lines = res.summary().splitlines()
    assert lines[0] == (
        "store /s: 1 file(s) added, 92 already ingested (same name and SHA-256, skipped), "
        "1 group(s) processed"
    )
    assert lines[1] == (
        "already ingested: ev/AUDIT_1.csv, ev/AUDIT_2.csv, ev/AUDIT_3.csv and 89 more "
        "(every one listed in manifest.json, ingests: already_ingested)"
    )
    assert sum("already ingested" in x for x in lines) == 2  # not one line per file


def test_few_skipped_files_are_all_named():
    res = StoreIngest(store=Path("/s"), skipped=_skipped(2))
    assert res.summary().splitlines()[1] == (
        "already ingested: ev/AUDIT_1.csv, ev/AUDIT_2.csv "
        "(every one listed in manifest.json, ingests: already_ingested)"
    )


def test_nothing_skipped_has_no_line():
    res = StoreIngest(store=Path("/s"), added=["a.csv"])
    assert "already ingested:" not in res.summary()


LIS = (
    "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
    "NB_ENREG;DETAIL\n"
    "{d}/03/2020;08:00:00;L01;S1;tech.a;TECHNICIEN;PC-01;10.0.0.5;RESULTATS;CONNEXION;OK;;;;\n"
)


def test_cli_prints_one_line_for_the_files_already_ingested(tmp_path, capsys):
    from labforensics.cli import main

    ev = tmp_path / "ev"
    ev.mkdir()
    for d in range(1, 6):
        (ev / f"AUDIT_L01_202003{d:02d}.csv").write_text(LIS.format(d=f"{d:02d}"))
    (tmp_path / "k.key").write_text(bytes(range(32)).hex() + "\n")
    args = ["ingest", "--store", str(tmp_path / "st"), "--case-key", str(tmp_path / "k.key"),
            "--quiet", str(ev)]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    said = [x for x in out.splitlines() if "already ingested" in x]
    assert said[1] == (
        f"already ingested: {ev.as_posix()}/AUDIT_L01_20200301.csv, "
        f"{ev.as_posix()}/AUDIT_L01_20200302.csv, {ev.as_posix()}/AUDIT_L01_20200303.csv "
        "and 2 more (every one listed in manifest.json, ingests: already_ingested)"
    )
    assert len(said) == 2 and "5 already ingested" in said[0]
