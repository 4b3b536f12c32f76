"""A byte-identical copy of a non-LIS evidence file is read once (QA session 15).

A copy of ``OpenSSH_2k.log`` given beside it as ``OpenSSH_2k.log.1`` was read twice:
1,070 events for 535, three sessions for one, the failed logins doubled, while the
report named it a copy with "0 of its 2,000 rows counted as rotation duplicates". Only
copies of LIS files (one event a row) had their rows taken off. Now every copy, whatever
its reader, has every row counted as a duplicate of its original's (rows_read =
rotation_duplicates), gives no event, quarantined line, field problem or unknown code,
from files and from an evidence store (a copy in another group, or ingested later).

Hand-worked values (the readers' own counts are pinned in tests/ingest/test_real_logs.py
and tests/ingest/test_fhir.py):

- ``OpenSSH_2k.log``: 2,000 lines; 527 give events (518 "Failed password", 2 "message
  repeated 5 times", 4 "Failed none", 1 Accepted, 1 session closed, 1 PAM failure),
  535 emitted (the two repeat lines give 5 each); 1,473 ignored. 533 failed logins
  (528 + 4 + 1), one login (line 956) and its logout (line 965): one session, fztu's.
  With its copy: rows_read 4,000 = events 527 + duplicates 2,000 + ignored 1,473.
- ``auditevent-example.json`` (FHIR R4): one AuditEvent resource, one event, one field
  problem. With its copy: rows_read 2 = events 1 + duplicates 1; field problems 1.
- ``openhim_2015_pix_query.syslog`` (ATNA): one message, one event (a PIX query naming
  one patient). With its copy: rows_read 2 = events 1 + duplicates 1.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import TEST_KEY, shared_path
from labforensics import read_evidence
from labforensics.cli import main
from labforensics.privacy import CaseKey
from labforensics.store import ingest_to_store, load_store
from lis_headers import LEGACY_HEADER

# name, source under ../shared/data/real, read options, then hand-worked counts of the
# file alone: rows_read, events (rows), events_out, ignored, field problems
CASES = {
    "openssh": ("auth-syslog/loghub/OpenSSH_2k.log", {"year": 2005, "lab": "SRV"},
                (2000, 527, 535, 1473, 0)),
    "fhir": ("fhir-auditevent/r4/auditevent-example.json", {}, (1, 1, 1, 0, 1)),
    "atna": ("atna-syslog/openhim_2015_pix_query.syslog", {}, (1, 1, 1, 0, 0)),
}  # fmt: skip


def _folder(tmp_path: Path, kind: str, copy: str | None, tag: str = "ev") -> tuple[Path, str]:
    """A folder with the original and, when ``copy`` names it, its byte copy."""
    src = shared_path("data", "real", CASES[kind][0])
    ev = tmp_path / tag
    ev.mkdir()
    shutil.copyfile(src, ev / src.name)
    if copy is not None:
        shutil.copyfile(src, ev / copy)
    return ev, src.name


def _read(ev: Path, kind: str):
    return read_evidence(ev, case_key=TEST_KEY, progress=False, **CASES[kind][1])


def _counts(f) -> tuple[int, ...]:
    return (f.rows_read, f.events, f.events_out, f.rotation_duplicates, f.ignored,
            f.quarantined, f.repeated_headers, f.field_problems)  # fmt: skip


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_copy_gives_no_event_and_its_rows_are_duplicates(tmp_path, kind):
    rows, events, out, ignored, fp = CASES[kind][2]
    alone_ev, name = _folder(tmp_path, kind, None, "alone")
    both_ev, _ = _folder(tmp_path, kind, name + ".1", "both")
    alone, both = _read(alone_ev, kind), _read(both_ev, kind)
    # the same events, row for row (the copy sorts after its original: same seq)
    pd.testing.assert_frame_equal(alone.events, both.events)
    assert len(both.events) == out
    pd.testing.assert_frame_equal(alone.quarantine, both.quarantine)
    pd.testing.assert_frame_equal(alone.report.field_problems, both.report.field_problems)
    assert len(both.report.field_problems) == fp
    assert alone.report.unknown_codes == both.report.unknown_codes
    orig, copy = both.report.files
    assert _counts(orig) == (rows, events, out, 0, ignored, 0, 0, fp)
    # the copy: every row read a duplicate of its original's, nothing else
    assert _counts(copy) == (rows, 0, 0, rows, 0, 0, 0, 0)
    r = both.report
    assert (r.rows_read, r.events, r.rotation_duplicates, r.ignored) == (
        2 * rows,
        events,
        rows,
        ignored,
    )
    assert [(c["source_file"], c["copy_of"], c["rows_read"], c["rotation_duplicates"])
            for c in r.identical_copies] == [(name + ".1", name, rows, rows)]  # fmt: skip
    sentence = (f"1 file(s) are byte-identical copies of another file (same SHA-256): "
                f"{name}.1 (a copy of {name}: {rows:,} of its {rows:,} rows counted as "
                f"rotation duplicates)")  # fmt: skip
    assert sentence in r.summary().splitlines()


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_name_that_sorts_first_is_the_original(tmp_path, kind):
    # "0_backup" sorts before the file's own name: it is the original (evidence order:
    # date in the name, then the name), the file as named the copy; the same events
    # under the backup's name
    rows, _, out, _, _ = CASES[kind][2]
    alone_ev, name = _folder(tmp_path, kind, None, "alone")
    both_ev, _ = _folder(tmp_path, kind, "0_backup", "both")
    alone, both = _read(alone_ev, kind), _read(both_ev, kind)
    assert [f.source_file for f in both.report.files] == ["0_backup", name]
    assert _counts(both.report.files[1])[:4] == (rows, 0, 0, rows)
    assert set(both.events["source_file"]) == {"0_backup"} and len(both.events) == out
    # the names aside (an ATNA message's id is the file's name and its number in it)
    cols = [c for c in alone.events.columns if c not in ("source_file", "message_id")]
    pd.testing.assert_frame_equal(alone.events[cols], both.events[cols])


def test_openssh_hand_worked_events_sessions_failed_logins(tmp_path):
    both_ev, _ = _folder(tmp_path, "openssh", "OpenSSH_2k.log.1")
    ev = _read(both_ev, "openssh").events
    assert len(ev) == 535  # not 1,070
    counts = ev["action"].astype(str).value_counts().to_dict()
    assert counts == {"login_failed": 533, "login": 1, "logout": 1}
    assert set(ev["source_file"]) == {"OpenSSH_2k.log"}


def _options(kind: str, key: Path) -> list[str]:
    opts = CASES[kind][1]
    args = ["--case-key", str(key), "--quiet"]
    for k in ("year", "lab"):
        if k in opts:
            args += [f"--{k}", str(opts[k])]
    return args


def _investigate(ev: Path | None, out: Path, kind: str, key: Path, store: Path | None = None):
    where = [str(ev)] if store is None else ["--store", str(store)]
    assert main(["investigate", *where, "--out", str(out), *_options(kind, key)]) == 0


#: findings.json's entries that name the inputs (the copy is one more input)
NAMING_INPUTS = ("accounting", "counts", "inputs", "reproduce")


@pytest.mark.parametrize("kind", sorted(CASES))
def test_investigate_gives_the_same_findings_but_the_accounting(tmp_path, kind, monkeypatch):
    monkeypatch.setenv("LABFORENSICS_CHROMIUM", str(tmp_path / "no-chromium"))
    rows, events, _, ignored, _ = CASES[kind][2]
    key = tmp_path / "case.key"
    CaseKey(TEST_KEY).write(key)
    alone_ev, name = _folder(tmp_path, kind, None, "alone")
    both_ev, _ = _folder(tmp_path, kind, name + ".1", "both")
    a, b = tmp_path / "out_alone", tmp_path / "out_both"
    _investigate(alone_ev, a, kind, key)
    _investigate(both_ev, b, kind, key)
    # from a store: the original ingested first, its copy in a later ingest
    store, c = tmp_path / "store", tmp_path / "out_store"
    for path in (both_ev / name, both_ev / (name + ".1")):
        assert main(["ingest", str(path), "--store", str(store), *_options(kind, key)]) == 0
    _investigate(None, c, kind, key, store)
    for table in ("events", "sessions", "scores", "campaigns", "exports"):
        want = pd.read_parquet(a / f"{table}.parquet")
        pd.testing.assert_frame_equal(want, pd.read_parquet(b / f"{table}.parquet"))
        pd.testing.assert_frame_equal(want, pd.read_parquet(c / f"{table}.parquet"))
    if kind == "openssh":  # one session (fztu's login and logout), not three
        s = pd.read_parquet(b / "sessions.parquet")
        assert s[["account", "n_events"]].values.tolist() == [["fztu", 2]]
    fa, fb, fc = (json.loads((o / "findings.json").read_text(encoding="utf-8"))
                  for o in (a, b, c))  # fmt: skip
    accs = fb["accounting"], fc["accounting"]
    for k in NAMING_INPUTS:
        fa.pop(k), fb.pop(k), fc.pop(k)
    assert fa == fb == fc
    for acc in accs:
        t = acc["totals"]
        assert (t["rows_read"], t["events"], t["rotation_duplicates"], t["ignored"]) == (
            2 * rows,
            events,
            rows,
            ignored,
        )
        assert [(x["source_file"], x["rotation_duplicates"]) for x in acc["identical_copies"]] == [
            (name + ".1", rows)
        ]
    for o in (b, c):
        html = (o / "report.html").read_text(encoding="utf-8")
        assert f"{name}.1 (a copy of {name}: {rows:,} of its {rows:,} rows counted" in html


# --- evidence store --------------------------------------------------------------------


def _same_store(a: Path, b: Path) -> None:
    """Every file of the two stores byte-equal, but the manifest's log of ingests."""
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert fa == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for p in fa:
        if p != Path("manifest.json"):
            assert (a / p).read_bytes() == (b / p).read_bytes(), p
    ma, mb = (json.loads((s / "manifest.json").read_text()) for s in (a, b))
    ma.pop("ingests"), mb.pop("ingests")
    assert ma == mb


def _ingest(paths, store: Path, kind: str):
    opts = CASES[kind][1]
    return ingest_to_store(paths, store, case_key=TEST_KEY, year=opts.get("year"),
                           lab=opts.get("lab"))  # fmt: skip


@pytest.mark.parametrize("copy", ["zz_copy", "0_backup"])
@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_store_reads_a_copy_once_even_when_ingested_later(tmp_path, kind, copy):
    rows, events, out, _, _ = CASES[kind][2]
    ev, name = _folder(tmp_path, kind, copy)
    once, late = tmp_path / "once", tmp_path / "late"
    _ingest([ev], once, kind)
    whole = read_evidence(ev, case_key=TEST_KEY, progress=False, **CASES[kind][1])
    got = load_store(once)
    pd.testing.assert_frame_equal(got.events, whole.events)
    assert got.report.to_dict() == whole.report.to_dict()
    # the copy ingested after its original (a group of its own when it names no lab):
    # the store of one ingest, byte for byte
    _ingest([ev / name], late, kind)
    again = _ingest([ev / copy], late, kind)
    assert again.added == [copy]
    _same_store(once, late)
    rep = load_store(late).report
    original, dup = sorted([name, copy])
    assert (rep.rows_read, rep.events, rep.events_out, rep.rotation_duplicates) == (
        2 * rows,
        events,
        out,
        rows,
    )
    assert [(c["source_file"], c["copy_of"]) for c in rep.identical_copies] == [(dup, original)]
    assert len(load_store(late).events) == out


def test_a_lis_copy_quarantined_line_is_its_originals(tmp_path):
    # a LIS copy (5 events and one line too short) kept its quarantined line as its own:
    # now its 6 rows are duplicates, the line quarantined once, under the original
    rows = [f"0{d}/03/2020;09:00:00;L01;S1;alice;TECH;PC;10.1.0.9;DOSSIER;CONSULT;OK;"
            f"4000012{d};;1;x" for d in range(1, 6)]  # fmt: skip
    data = ("\r\n".join([LEGACY_HEADER, *rows, "07/03/2020;10:00"]) + "\r\n").encode()
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "AUDIT_L01_20200301.csv").write_bytes(data)
    (ev / "zz_backup.csv").write_bytes(data)
    e = read_evidence(ev, case_key=TEST_KEY, progress=False)
    orig, copy = e.report.files
    assert (orig.rows_read, orig.events, orig.quarantined) == (6, 5, 1)
    assert _counts(copy) == (6, 0, 0, 6, 0, 0, 0, 0)
    assert e.quarantine["source_file"].tolist() == ["AUDIT_L01_20200301.csv"]
    assert len(e.events) == 5
