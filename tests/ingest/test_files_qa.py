"""QA findings on ingest.files: symbolic-link names, non-UTF-8 names, corrupt gzip
recovery, files changing while being read. Expected values worked out by hand."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import zlib
from pathlib import Path

import pytest

from labforensics.errors import EvidenceError
from labforensics.ingest import files as ingest_files
from labforensics.ingest import read_evidence
from labforensics.ingest.files import (
    _gunzip,
    custody_log,
    expand_paths,
    read_bytes,
    read_head,
    relative_name,
)
from lis_headers import LEGACY_HEADER as LEG

TEST_KEY = bytes(range(32))


def row(date: str, time: str, lab: str = "L01", ipp: str = "40000001") -> str:
    return f"{date};{time};{lab};S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;CONSULTATION;OK;{ipp};D1;;"


def legacy(rows: list[str]) -> bytes:
    return ("\r\n".join([LEG, *rows]) + "\r\n").encode("cp1252")


def write(folder: Path, name: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(legacy(rows))
    return p


# --- 1. symbolic links keep their own names ---------------------------------------------


def test_links_into_a_store_keep_their_names(tmp_path, case_dir):
    # git-annex / DVC layout: the evidence folder holds links named as the files were,
    # into a store of content-addressed names
    case = case_dir("006-rotation-overlap")
    store, ev_dir = tmp_path / "store", tmp_path / "ev"
    store.mkdir()
    ev_dir.mkdir()
    names = ["audit_l05_2020-03-10.csv", "audit_l05_2020-03-11.csv"]
    hashed = ["SHA256E-s515--ffff.csv", "SHA256E-s515--0000.csv"]  # store order reversed
    for name, h in zip(names, hashed, strict=True):
        shutil.copyfile(case / name, store / h)
        (ev_dir / name).symlink_to(Path("..") / "store" / h)
    ev = read_evidence(ev_dir, case_key=bytes(range(32)))
    # as the case's own folder: 4 events, the 2 overlapped rows are rotation duplicates
    assert len(ev.events) == 4
    assert ev.report.rotation_duplicates == 2
    assert sorted(set(ev.events["source_file"])) == names
    assert [f.source_file for f in ev.report.files] == names
    assert ev.report.unrecognised == []
    m = {f.source_file: f for f in ev.manifest}
    assert sorted(m) == names
    for name, h in zip(names, hashed, strict=True):
        data = (store / h).read_bytes()
        assert m[name].size == len(data)
        assert m[name].sha256 == hashlib.sha256(data).hexdigest()


def test_link_names_give_the_lab_date_and_evidence_order(tmp_path):
    # the legacy profile takes the lab and the date from the file name: the link's
    store, ev_dir = tmp_path / "store", tmp_path / "ev"
    write(store, "SHA256E-s1--aaaa.csv", [row("02/03/2019", "10:00:00", lab="")])
    write(store, "SHA256E-s1--bbbb.csv", [row("01/03/2019", "10:00:00", lab="")])
    ev_dir.mkdir()
    (ev_dir / "AUDIT_L07_20190302.csv").symlink_to("../store/SHA256E-s1--aaaa.csv")
    (ev_dir / "AUDIT_L07_20190301.csv").symlink_to("../store/SHA256E-s1--bbbb.csv")
    ev = read_evidence(ev_dir, case_key=TEST_KEY)
    assert [(f.source_file, f.lab) for f in ev.report.files] == [
        ("AUDIT_L07_20190301.csv", "L07"),
        ("AUDIT_L07_20190302.csv", "L07"),
    ]
    assert ev.events["lab"].tolist() == ["L07", "L07"]


def test_expand_paths_keeps_the_last_component(tmp_path, monkeypatch):
    real = write(tmp_path / "store", "SHA256E-s1--aaaa.csv", [row("01/03/2019", "10:00:00")])
    ev_dir = tmp_path / "ev"
    ev_dir.mkdir()
    link = ev_dir / "AUDIT_L01_20190301.csv"
    link.symlink_to("../store/SHA256E-s1--aaaa.csv")
    walked = expand_paths(ev_dir)
    assert walked == [(Path(os.path.realpath(ev_dir)) / "AUDIT_L01_20190301.csv", False)]
    # named (relative): absolute, not resolved
    monkeypatch.chdir(ev_dir)
    assert expand_paths("AUDIT_L01_20190301.csv") == [(Path(os.path.abspath(link)), True)]
    # ``linkdir/..`` is the store, not ev/: never folded textually into another file
    (ev_dir / "linkdir").symlink_to("../store/sub")
    (tmp_path / "store" / "sub").mkdir()
    (ev_dir / "SHA256E-s1--aaaa.csv").write_bytes(b"another file\n")
    got = expand_paths("linkdir/../SHA256E-s1--aaaa.csv")
    assert got == [(Path(os.path.realpath(real)), True)]


def test_same_file_via_link_and_own_name_is_read_once(tmp_path):
    ev_dir = tmp_path / "ev"
    write(ev_dir, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    (ev_dir / "0link.csv").symlink_to("AUDIT_L01_20190301.csv")  # sorts first, but a link
    (ev_dir / "zlink.csv").symlink_to(ev_dir / "AUDIT_L01_20190301.csv")
    ev = read_evidence(ev_dir, case_key=TEST_KEY)
    assert len(ev.events) == 1
    assert [f.source_file for f in ev.manifest] == ["AUDIT_L01_20190301.csv"]
    assert ev.report.unrecognised == []
    real = Path(os.path.realpath(ev_dir)) / "AUDIT_L01_20190301.csv"
    assert expand_paths(ev_dir) == [(real, False)]
    # named as well (through a link, twice): still once, under its own name, flagged named
    assert expand_paths([ev_dir, ev_dir / "zlink.csv", ev_dir / "zlink.csv"]) == [(real, True)]


def test_two_links_to_one_file_are_read_once_under_the_first_name(tmp_path):
    write(tmp_path / "store", "SHA256E-s1--aaaa.csv", [row("01/03/2019", "10:00:00")])
    ev_dir = tmp_path / "ev"
    ev_dir.mkdir()
    (ev_dir / "AUDIT_L01_20190302.csv").symlink_to("../store/SHA256E-s1--aaaa.csv")
    (ev_dir / "AUDIT_L01_20190301.csv").symlink_to("../store/SHA256E-s1--aaaa.csv")
    ev = read_evidence(ev_dir, case_key=TEST_KEY)
    assert len(ev.events) == 1
    assert [f.source_file for f in ev.manifest] == ["AUDIT_L01_20190301.csv"]
    # the file named twice by a list of paths: once
    p = ev_dir / "AUDIT_L01_20190302.csv"
    assert expand_paths([p, p]) == [(Path(os.path.abspath(p)), True)]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_links_that_cannot_be_read_are_listed_never_opened(tmp_path):
    import signal

    store, ev_dir = tmp_path / "store", tmp_path / "ev"
    write(ev_dir, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    store.mkdir()
    os.mkfifo(store / "SHA256E-s0--pipe.csv")  # opening it would block forever
    (ev_dir / "AUDIT_L01_20190302.csv").symlink_to("../store/SHA256E-s0--pipe.csv")
    (ev_dir / "AUDIT_L01_20190303.csv").symlink_to("../store/SHA256E-s0--gone.csv")
    (ev_dir / "loop.csv").symlink_to("loop.csv")

    def boom(*_):
        raise TimeoutError("read_evidence blocked on a named pipe")

    signal.signal(signal.SIGALRM, boom)
    signal.alarm(30)
    try:
        ev = read_evidence(ev_dir, case_key=TEST_KEY)
        named = read_evidence(
            [ev_dir / "AUDIT_L01_20190301.csv", ev_dir / "AUDIT_L01_20190302.csv"],
            case_key=TEST_KEY,
        )
    finally:
        signal.alarm(0)
    fifo = "not a regular file (named pipe (FIFO)): not read"
    assert len(ev.events) == 1
    assert ev.report.unrecognised_reasons == {
        "AUDIT_L01_20190302.csv": fifo,
        "AUDIT_L01_20190303.csv": "dangling symbolic link",
        "loop.csv": "symbolic link loop",
    }
    assert [f.source_file for f in ev.manifest] == ["AUDIT_L01_20190301.csv"]
    assert len(named.events) == 1
    assert named.report.unrecognised_reasons == {"AUDIT_L01_20190302.csv": fifo}


# --- 2. file names that are not UTF-8 ----------------------------------------------------


def _make(folder: Path, raw_name: bytes, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / os.fsdecode(raw_name)
    try:
        p.write_bytes(data)
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    return p


def test_non_utf8_name_is_read_and_escaped(tmp_path):
    ev_dir = tmp_path / "ev"
    _make(
        ev_dir, b"AUDIT_L04_\xff\xfe_20190301.csv", legacy([row("01/03/2019", "10:00:00", "L04")])
    )
    _make(ev_dir, b"notes_\xff.txt", b"investigator notes\n")
    ev = read_evidence(ev_dir, case_key=TEST_KEY)
    assert len(ev.events) == 1
    assert ev.events["source_file"].tolist() == ["AUDIT_L04_\\xff\\xfe_20190301.csv"]
    assert ev.report.unrecognised == ["notes_\\xff.txt"]
    assert set(ev.report.unrecognised_reasons) == {"notes_\\xff.txt"}
    assert sorted(f.source_file for f in ev.manifest) == [
        "AUDIT_L04_\\xff\\xfe_20190301.csv",
        "notes_\\xff.txt",
    ]
    for f in ev.manifest:
        f.source_file.encode("utf-8")  # valid UTF-8: no surrogate left


def test_relative_name_is_printable_utf8():
    root = Path("/ev")
    assert relative_name(root / os.fsdecode(b"a/\xffb.csv"), root) == "a/\\xffb.csv"
    assert relative_name(root / "r\u00e9sultats.csv", root) == "r\u00e9sultats.csv"  # UTF-8 kept
    assert relative_name(root / "notes\n\x07.txt", root) == "notes\\x0a\\x07.txt"
    assert relative_name(root / "x" / "y.csv", root) == "x/y.csv"


# --- 3. corrupt gzip: every byte before the damage ---------------------------------------


def _crc_damaged(text: bytes) -> bytes:
    g = bytearray(gzip.compress(text, mtime=0))
    g[-5] ^= 0x01  # the last byte of the CRC-32 (RFC 1952: CRC32 then ISIZE, 4 bytes each)
    return bytes(g)


def test_crc_only_damage_gives_back_the_whole_text(tmp_path):
    text = legacy([row("01/03/2019", "10:00:00")])
    raw = _crc_damaged(text)
    d = _gunzip(raw)
    assert d.data == text
    assert d.truncated and d.compressed and d.members == 0
    # zlib raises on the fourth CRC byte: the fifth byte from the end
    assert f"corrupt at compressed byte {len(raw) - 5}:" in d.note
    assert "incorrect data check" in d.note
    assert f"{len(text)} bytes recovered" in d.note
    (tmp_path / "AUDIT_L01_20190301.csv.gz").write_bytes(raw)
    ev = read_evidence(tmp_path, case_key=TEST_KEY)
    assert len(ev.events) == 1
    assert ev.report.unrecognised == []
    assert ev.report.truncated_files == ["AUDIT_L01_20190301.csv.gz"]


def _big_text(n: int = 20_000) -> bytes:
    return legacy(
        [
            row(
                "01/03/2019",
                f"{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
                ipp=f"4{i:07d}",
            )
            for i in range(n)
        ]  # fmt: skip
    )


def test_crc_damage_on_a_large_file_keeps_every_line(tmp_path):
    text = _big_text()
    raw = _crc_damaged(text)
    assert len(raw) > 1 << 16  # two 64 KiB blocks: the damaged one used to be lost whole
    p = tmp_path / "AUDIT_L01_20190301.csv.gz"
    p.write_bytes(raw)
    d = read_bytes(p)
    assert d.data == text  # deflate's output is complete before the CRC check
    assert d.truncated
    assert f"corrupt at compressed byte {len(raw) - 5}:" in d.note
    assert read_head(p) == text[: 1 << 16]  # the limit still stops early
    ev = read_evidence(tmp_path, case_key=TEST_KEY)
    assert len(ev.events) == 20_000


def test_corrupt_byte_in_the_middle_keeps_the_prefix():
    # two deflate runs separated by a full flush (byte aligned, all output emitted);
    # the bytes after the flush overwritten with 0xff: the next block header reads
    # BTYPE = 11, reserved (RFC 1951 section 3.2.3), an error at the first damaged byte
    text = _big_text()
    split = text.index(b"\r\n", len(text) * 4 // 5) + 2  # at a line end
    first, second = text[:split], text[split:]
    c = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = c.compress(first) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.compress(second) + c.flush()
    assert gzip.decompress(head + tail) == text
    cut = len(head)
    assert cut > 1 << 16 and cut % (1 << 16) > 0  # inside a later 64 KiB block
    raw = bytearray(head + tail)
    raw[cut : cut + 16] = b"\xff" * 16
    d = _gunzip(bytes(raw))
    assert d.data == first
    assert text.startswith(d.data)
    assert d.truncated
    at = int(d.note.split("corrupt at compressed byte ")[1].split(":")[0])
    assert cut <= at < cut + 16
    assert at == cut
    assert "invalid block type" in d.note


def test_second_member_damaged_keeps_the_first_and_its_own_bytes():
    a, b = b"first member\n" * 100, b"second member\n" * 100
    ga, gb = gzip.compress(a, mtime=0), _crc_damaged(b)
    d = _gunzip(ga + gb)
    assert d.data == a + b
    assert d.truncated and d.members == 1
    assert d.note.startswith(f"gzip member 2 (from compressed byte {len(ga)}) corrupt at ")
    assert f"compressed byte {len(ga) + len(gb) - 5}:" in d.note


def test_other_gzip_behaviours_kept():
    a, b = b"a\n" * 1000, b"b\n" * 1000
    ga, gb = gzip.compress(a, mtime=0), gzip.compress(b, mtime=0)
    d = _gunzip(ga + gb)
    assert (d.data, d.truncated, d.members, d.note) == (a + b, False, 2, "")
    d = _gunzip(ga + b"junk")
    assert (d.data, d.truncated, d.members) == (a, False, 1)
    assert d.note == "4 bytes of non-gzip data after member 1 ignored"
    cut = _gunzip(ga[:-20])
    assert cut.truncated and a.startswith(cut.data) and "cut short" in cut.note


# --- 4. a file that changes while it is read --------------------------------------------


class _Reader:
    """An open evidence file whose ``read`` lets a writer act before or after it."""

    def __init__(self, path, before=None, after=None):
        self._fh = open(path, "rb")  # closed by __exit__
        self._path, self._before, self._after = path, before, after

    def fileno(self):
        return self._fh.fileno()

    def read(self, *args):
        if self._before:
            self._before(self._path)
        data = self._fh.read(*args)
        if self._after:
            self._after(self._path)
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def _append(path):
    with open(path, "ab") as w:
        w.write(legacy([row("01/03/2019", "11:00:00")]).split(b"\r\n", 1)[1])


def test_unchanged_file_passes(tmp_path):
    p = write(tmp_path, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    data = p.read_bytes()
    with custody_log() as log:
        assert read_bytes(p).data == data
    assert log[str(p)] == (hashlib.sha256(data).hexdigest(), len(data))


@pytest.mark.parametrize("when", ["after", "before"])
def test_file_appended_while_read_is_an_error(tmp_path, monkeypatch, when):
    p = write(tmp_path, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    size = p.stat().st_size
    monkeypatch.setattr(
        ingest_files, "open_evidence", lambda path: _Reader(path, **{when: _append})
    )
    with custody_log() as log, pytest.raises(EvidenceError) as err:
        read_bytes(p)
    grown = p.stat().st_size
    assert grown > size
    msg = str(err.value)
    assert str(p) in msg and "changed while being read" in msg
    assert "copy the evidence to a read-only place and read it again" in msg
    nread = size if when == "after" else grown
    assert f"{size} bytes when opened, {nread} bytes read, {grown} bytes on disk" in msg
    assert log == {}  # nothing recorded for a file that changed


def test_file_rewritten_in_place_is_an_error(tmp_path, monkeypatch):
    # same size, new modification time: a writer rewrote it in place
    p = write(tmp_path, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    size = p.stat().st_size
    later = p.stat().st_mtime_ns + 5_000_000_000

    def touch(path):
        os.utime(path, ns=(later, later))

    monkeypatch.setattr(ingest_files, "open_evidence", lambda path: _Reader(path, after=touch))
    with pytest.raises(EvidenceError, match="modification time changed") as err:
        read_bytes(p)
    assert f"{size} bytes when opened, {size} bytes read, {size} bytes on disk" in str(err.value)


def test_file_gone_after_the_read_is_an_error(tmp_path, monkeypatch):
    p = write(tmp_path, "AUDIT_L01_20190301.csv", [row("01/03/2019", "10:00:00")])
    monkeypatch.setattr(ingest_files, "open_evidence", lambda path: _Reader(path, after=os.unlink))
    with pytest.raises(EvidenceError, match="cannot be checked after being read"):
        read_bytes(p)
