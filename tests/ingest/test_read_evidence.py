"""read_evidence: paths, manifest, evidence order, rotation, accounting."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from labforensics.errors import EvidenceError
from labforensics.ingest import Evidence, read_evidence
from labforensics.schema import validate_events
from lis_headers import LEGACY_HEADER as LEG

TEST_KEY = bytes(range(32))


def row(date, time, lab="L01", action="CONSULTATION", ipp="40000001"):
    return f"{date};{time};{lab};S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;{action};OK;{ipp};D1;;"


def write(folder, name, rows):
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(("\r\n".join([LEG, *rows]) + "\r\n").encode("cp1252"))
    return p


@pytest.fixture
def evidence(tmp_path):
    root = tmp_path / "case"
    write(root / "l01", "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    write(
        root / "l01",
        "AUDIT_L01_20190302.csv",
        [row("02/03/2019", "10:00:00"), row("02/03/2019", "11:00:00")],
    )
    write(root / "l02", "AUDIT_L02_20190301.csv", [row("01/03/2019", "10:00:00", lab="L02")])
    (root / "l02" / "notes.txt").write_text("investigator notes", encoding="utf-8")
    return root


def test_folder_walk_manifest_and_unrecognised(evidence, test_key):
    ev = read_evidence(evidence, case_key=test_key)
    assert isinstance(ev, Evidence)
    validate_events(ev.events)
    assert ev.report.unrecognised == ["l02/notes.txt"]  # walked, not read
    assert len(ev.manifest) == 4  # every file is hashed, recognised or not
    m = {f.source_file: f for f in ev.manifest}
    data = (evidence / "l01" / "AUDIT_L01_20190301.csv").read_bytes()
    assert m["l01/AUDIT_L01_20190301.csv"].sha256 == hashlib.sha256(data).hexdigest()
    assert m["l01/AUDIT_L01_20190301.csv"].size == len(data)
    assert m["l02/notes.txt"].format is None
    assert list(ev.manifest_table().columns) == ["path", "source_file", "size", "sha256", "format"]


def test_source_file_relative_to_common_parent(evidence, test_key, tmp_path):
    a = read_evidence(evidence, case_key=test_key).events
    # the same folder copied elsewhere gives the same table
    import shutil

    other = tmp_path / "elsewhere" / "deep"
    shutil.copytree(evidence, other)
    b = read_evidence(other, case_key=test_key).events
    pd.testing.assert_frame_equal(a, b)
    assert sorted(set(a["source_file"])) == [
        "l01/AUDIT_L01_20190301.csv",
        "l01/AUDIT_L01_20190302.csv",
        "l02/AUDIT_L02_20190301.csv",
    ]


def test_paths_globs_and_order_independence(evidence, test_key):
    files = sorted(evidence.glob("l0*/AUDIT_*.csv"))
    a = read_evidence(files, case_key=test_key)
    b = read_evidence(list(reversed(files)), case_key=test_key)
    c = read_evidence(str(evidence / "**" / "AUDIT_*.csv"), case_key=test_key)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.events, c.events)
    # equal timestamps keep evidence order: files by (date in name, path), then line
    first = a.events[a.events["ts"] == pd.Timestamp("2019-03-01 09:00", tz="UTC")]
    assert first["source_file"].tolist() == [
        "l01/AUDIT_L01_20190301.csv",
        "l02/AUDIT_L02_20190301.csv",
    ]
    assert a.events["seq"].is_monotonic_increasing


def test_explicit_unrecognised_file_listed(evidence, test_key):
    ev = read_evidence([evidence / "l02" / "notes.txt"], case_key=test_key)
    assert ev.report.unrecognised == ["notes.txt"] and len(ev.events) == 0
    validate_events(ev.events)


def test_missing_path_raises(tmp_path, test_key):
    with pytest.raises(EvidenceError, match="does not exist"):
        read_evidence(tmp_path / "nope.csv", case_key=test_key)
    with pytest.raises(EvidenceError, match="no evidence file matches"):
        read_evidence(str(tmp_path / "*.nothing"), case_key=test_key)


def test_rotation_one_for_one(tmp_path, test_key):
    a = row("01/03/2019", "23:58:00")
    b = row("01/03/2019", "23:59:00")
    write(tmp_path, "AUDIT_L01_20190301.csv", [a, b, b])
    write(tmp_path, "AUDIT_L01_20190302.csv", [b, row("02/03/2019", "07:00:00")])
    ev = read_evidence(tmp_path, case_key=test_key)
    # two identical rows in the tail and one at the head make one duplicate
    assert ev.report.rotation_duplicates == 1
    assert len(ev.events) == 4


def test_rotation_needs_the_whole_overlap(tmp_path, test_key):
    a, b, c = (row("01/03/2019", t) for t in ("23:57:00", "23:58:00", "23:59:00"))
    write(tmp_path, "AUDIT_L01_20190301.csv", [a, b, c])
    write(tmp_path, "AUDIT_L01_20190302.csv", [b, row("02/03/2019", "07:00:00")])
    # b is not the previous file's last record: the head does not continue the tail
    assert read_evidence(tmp_path, case_key=test_key).report.rotation_duplicates == 0


def test_rotation_only_within_a_lab(tmp_path, test_key):
    write(tmp_path / "a", "AUDIT_X_20190301.csv", [row("01/03/2019", "23:59:00", lab="")])
    write(tmp_path / "b", "AUDIT_X_20190302.csv", [row("01/03/2019", "23:59:00", lab="")])
    labs = {str(tmp_path / "a"): "L01", str(tmp_path / "b"): "L02"}
    ev = read_evidence(tmp_path, case_key=test_key, lab=labs)
    # the same text in another lab's file is not a rotation duplicate
    assert ev.report.rotation_duplicates == 0
    assert ev.events["lab"].tolist() == ["L01", "L02"]
    ev = read_evidence(tmp_path, case_key=test_key, lab="L01")
    assert ev.report.rotation_duplicates == 1  # one lab: the head repeats the tail


def test_whole_file_repeated(tmp_path, test_key):
    rows = [row("01/03/2019", "10:00:00"), row("01/03/2019", "10:01:00")]
    write(tmp_path, "AUDIT_L01_20190301.csv", rows)
    write(tmp_path, "AUDIT_L01_20190302.csv", rows)
    ev = read_evidence(tmp_path, case_key=test_key)
    assert ev.report.rotation_duplicates == 2 and len(ev.events) == 2


def test_report_totals_and_identity(tmp_path, test_key):
    write(
        tmp_path,
        "AUDIT_L01_20190301.csv",
        [row("01/03/2019", "10:00:00"), "bad;row", LEG, row("31/02/2019", "10:00:00")],
    )
    ev = read_evidence(tmp_path, case_key=test_key)
    total = ev.report.to_frame().iloc[-1]
    # 4 rows: 1 event, 1 wrong width, 1 repeated header, 1 impossible date
    assert (total["rows_read"], total["events"], total["repeated_headers"]) == (4, 1, 1)
    assert total["quarantined"] == 2
    ev.report.check()
    assert list(ev.quarantine.columns) == ["source_file", "source_line", "reason", "raw"]
    assert ev.quarantine["source_line"].tolist() == [3, 5]


def test_progress_bar(evidence, test_key, capsys):
    ev = read_evidence(evidence, case_key=test_key, progress=True)
    assert len(ev.events) == 4
    assert "reading evidence" in capsys.readouterr().err


def test_tz_parameter(tmp_path, test_key):
    write(tmp_path, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    ev = read_evidence(tmp_path, case_key=test_key, tz="America/New_York")
    assert ev.events["ts"].iloc[0] == pd.Timestamp("2019-03-01 15:00", tz="UTC")  # EST -5


def test_rotation_against_the_previous_file_as_read(tmp_path, test_key):
    a, b, c = (row("01/03/2019", t) for t in ("23:57:00", "23:58:00", "23:59:00"))
    write(tmp_path, "AUDIT_L01_20190301.csv", [a, b, c])
    write(tmp_path, "AUDIT_L01_20190302.csv", [b, c])  # wholly a rotation copy
    write(tmp_path, "AUDIT_L01_20190303.csv", [c, row("03/03/2019", "07:00:00")])
    ev = read_evidence(tmp_path, case_key=test_key)
    # the third file repeats the second file's last record, though it was a duplicate itself
    assert [f.rotation_duplicates for f in ev.report.files] == [0, 2, 1]
    assert len(ev.events) == 4


def test_bad_tz_names_the_fix(tmp_path, test_key):
    from labforensics.errors import ParameterError

    write(tmp_path, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    with pytest.raises(ParameterError, match="IANA"):
        read_evidence(tmp_path, case_key=test_key, tz="Mars/Olympus")


def test_year_per_file_mapping(tmp_path, test_key):
    line = "{} srv sshd[1]: Failed password for a from 1.1.1.1 port 1 ssh2\n"
    (tmp_path / "old").mkdir()
    p1 = tmp_path / "old" / "auth.log.1"
    p1.write_text(line.format("Dec 31 23:59:59"), encoding="utf-8")
    p2 = tmp_path / "auth.log"
    p2.write_text(line.format("Jan  1 00:00:01"), encoding="utf-8")
    # the rotated file is from December 2023, the live one from January 2024 (CET = UTC+1)
    want = [
        pd.Timestamp("2023-12-31 22:59:59", tz="UTC"),
        pd.Timestamp("2023-12-31 23:00:01", tz="UTC"),
    ]
    for years in ({str(p1): 2023, str(p2): 2024}, {"*.log.1": 2023, "auth.log": 2024}):
        ev = read_evidence(tmp_path, case_key=test_key, year=years)
        assert ev.events["ts"].tolist() == want
    # a folder key: everything under old/ is 2023, the rest 2024 (the deepest key wins)
    ev = read_evidence(
        tmp_path, case_key=test_key, year={str(tmp_path): 2024, str(tmp_path / "old"): 2023}
    )
    assert ev.events["ts"].tolist() == want
    # one int still applies to every file: both lines in 2024
    ev = read_evidence(tmp_path, case_key=test_key, year=2024)
    assert ev.events["ts"].min() == pd.Timestamp("2023-12-31 23:00:01", tz="UTC")
    assert ev.events["ts"].max() == pd.Timestamp("2024-12-31 22:59:59", tz="UTC")


def test_folder_walk_links(tmp_path):
    from labforensics.ingest.files import expand_paths

    outside = tmp_path / "outside"
    write(outside, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    case = tmp_path / "case"
    write(case / "sub", "AUDIT_L01_20190302.csv", [row("02/03/2019", "10:00:00")])
    (case / "link.csv").symlink_to(outside / "AUDIT_L01_20190301.csv")
    (case / "linkdir").symlink_to(outside, target_is_directory=True)
    got = [p for p, _ in expand_paths(case)]
    # as os.walk: a linked file is taken under its own name (the name carries the lab
    # and date), a linked folder is not entered
    assert got == sorted(
        [case.resolve() / "link.csv", (case / "sub" / "AUDIT_L01_20190302.csv").resolve()]
    )


def test_dangling_link_is_listed_and_the_rest_read(tmp_path):
    # a link to a file that no longer exists: listed with its reason, never fatal
    from labforensics.ingest import read_evidence

    src = tmp_path / "ev"
    src.mkdir()
    (src / "audit_l01_2020-01-02.csv").write_bytes(
        "\ufeffhorodatage;code_labo;code_site;login;profil;poste;adresse_ip;module;action;statut;"
        "ipp;num_demande;nb_lignes;volume_octets;id_session;commentaire\n"
        "2020-01-02T09:00:00+01:00;L01;S1;tech.a;technicien;PC1;10.1.0.2;admin;connexion;succes;"
        ";;;;A1;\n".encode()
    )
    (src / "gone.csv").symlink_to(src / "missing.csv")
    ev = read_evidence(src, case_key=bytes(range(32)))
    assert len(ev.events) == 1
    assert ev.report.unrecognised_reasons == {"gone.csv": "dangling symbolic link"}


def _no_hang(seconds: int):
    """Fail (instead of hanging) if a blocking open of a named pipe is attempted."""
    import signal

    def boom(*_):
        raise TimeoutError("read_evidence blocked (on a named pipe?)")

    signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no named pipes here")
def test_special_files_are_listed_never_opened(tmp_path):
    import os
    import signal
    import socket

    ev_dir = tmp_path / "evidence"
    write(ev_dir, "AUDIT_L01_20190301.csv", [row("01/03/2019", "08:00:00")])
    os.mkfifo(ev_dir / "AUDIT_L01_20190302.csv")  # would block a reader forever
    (ev_dir / "link.csv").symlink_to(ev_dir / "AUDIT_L01_20190302.csv")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(ev_dir / "s.csv"))
    try:
        _no_hang(30)
        ev = read_evidence(ev_dir, case_key=TEST_KEY)
        named = read_evidence(
            [ev_dir / "AUDIT_L01_20190301.csv", ev_dir / "AUDIT_L01_20190302.csv"],
            case_key=TEST_KEY,
        )
    finally:
        signal.alarm(0)
        sock.close()
    assert len(ev.events) == 1
    fifo = "not a regular file (named pipe (FIFO)): not read"
    assert ev.report.unrecognised_reasons == {
        "AUDIT_L01_20190302.csv": fifo,
        "link.csv": fifo,
        "s.csv": "not a regular file (socket): not read",
    }
    assert sorted(ev.report.unrecognised) == ["AUDIT_L01_20190302.csv", "link.csv", "s.csv"]
    assert [m.source_file for m in ev.manifest] == ["AUDIT_L01_20190301.csv"]
    assert len(named.events) == 1
    assert named.report.unrecognised_reasons == {"AUDIT_L01_20190302.csv": fifo}
