"""The one keyed-id module: known answers, domain separation, prefixes kept, R round trip."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from labforensics.cli import main
from labforensics.ingest import read_evidence
from labforensics.privacy import (
    KEYED_ID,
    CaseKey,
    KeyedIds,
    Redactor,
    account_email_id,
    dump_row_id,
    nir_hash,
    pseudonymise,
    pseudonymise_nirs,
    pseudonymise_one,
    pseudonymise_requests,
    redact_digit_runs,
    redact_identifiers,
    request_id,
)
from labforensics.reidentify import reidentify
from lis_headers import LEGACY_HEADER

KEY = CaseKey(bytes(range(32)))
HEADER = LEGACY_HEADER + "\r\n"


def _hmac16(msg: bytes, key: CaseKey = KEY) -> str:
    return hmac.new(key.secret, msg, hashlib.sha256).hexdigest()[:16]


def test_patient_pseudonym_known_answer():
    # the patient pseudonym is unchanged: P + 16 hex of HMAC-SHA256(key, lab \x1f IPP)
    assert pseudonymise_one(KEY, "L01", "40000001") == "P" + _hmac16(b"L01\x1f40000001")
    # a fixed value, so that a change of the rule (fixtures' pseudonyms) cannot go unseen
    assert pseudonymise_one(KEY, "L01", "40000001") == "P28b22e9171deb1c2"
    # non-ASCII is UTF-8 encoded; a long key (> 64 bytes) is hashed first, as RFC 2104
    long_key = CaseKey(bytes(range(100)))
    assert pseudonymise_one(long_key, "FINESS", "é") == "P" + _hmac16(
        "FINESS\x1fé".encode(), long_key
    )


def test_other_namespaces_known_answers():
    # each namespace's message starts with its own label (domain separation)
    assert request_id(KEY, "L01", "123456789") == "R" + _hmac16(b"request\x1fL01\x1f123456789")
    sha = "ab" * 32
    assert dump_row_id(KEY, sha, 3) == "D" + _hmac16(f"dump\x1f{sha}\x1f3".encode())
    assert dump_row_id(KEY, sha.upper(), 3) == dump_row_id(KEY, sha, 3)  # hex case ignored
    assert nir_hash(KEY, "185057800608491") == "N" + _hmac16(b"nir\x1f185057800608491")
    # xferlog's e-mail accounts keep their former value
    want = hmac.digest(KEY.secret, b"xferlog-user\x1fa@b.fr", "sha256").hex()[:12]
    assert account_email_id(KEY, "a@b.fr") == "EMAIL-" + want


def test_domain_separation():
    # the same strings in two namespaces give two different ids, hex digits included
    p = pseudonymise_one(KEY, "L01", "123456")
    r = request_id(KEY, "L01", "123456")
    assert p[0] == "P" and r[0] == "R" and p[1:] != r[1:]
    # a crafted patient whose message equals a request's message still differs by prefix
    crafted = pseudonymise_one(KEY, "request", "L01\x1f123456")
    assert crafted[1:] == r[1:] and crafted != r
    ids = {p, r, nir_hash(KEY, "123456"), dump_row_id(KEY, "00" * 32, 123456)}
    assert len(ids) == 4 and {i[0] for i in ids} == set("PRND")


def test_batch_equals_one_by_one():
    labs, vals = ["L01", "L02", "L01"], ["1001", "1001", " x "]
    ids = KeyedIds(KEY)
    # the fast path (keyed state copied per message) gives the one-off values
    assert ids.patients(labs, vals).to_pylist() == [
        pseudonymise_one(KEY, lb, v) for lb, v in zip(labs, vals, strict=True)
    ]
    assert ids.requests(labs, vals).to_pylist() == [
        request_id(KEY, lb, v) for lb, v in zip(labs, vals, strict=True)
    ]
    assert ids.patients([], []).to_pylist() == []


def test_request_series_missing_and_blank():
    out = pseudonymise_requests(
        KEY, pd.Series(["L01", "L01", "L01", "L02"]), pd.Series([" 77 ", "", None, "77"])
    )
    # surrounding spaces are not part of the number; blank and missing give no id;
    # a number is unique within its lab only
    assert out.iloc[0] == request_id(KEY, "L01", "77")
    assert out.iloc[1:3].isna().all()
    assert out.iloc[3] == request_id(KEY, "L02", "77") != out.iloc[0]
    assert pseudonymise(KEY, pd.Series(["L01"]), pd.Series(["77"])).iloc[0] != out.iloc[0]


def _all_digit_ids() -> list[str]:
    """Ids whose 16 hex digits are all decimal digits: the worst case for redaction."""
    return [
        "P0612345678123456",
        "R1850578006084912",
        "Ra185057800608491",  # a valid NIR after a hex letter
        "D4000000140000001",
        "N0033612345678000",
    ]


def test_prefixes_survive_redaction():
    ids = [
        pseudonymise_one(KEY, "L01", "40000001"),
        request_id(KEY, "L01", "123456789"),
        dump_row_id(KEY, "00" * 32, 7),
        *_all_digit_ids(),
    ]
    text = " ".join(ids) + " ;" + ";".join(ids)
    # no digit run inside a P, R, D or N id is read as a NIR, a phone or a digit run
    assert redact_identifiers(text) == text
    assert redact_digit_runs(text, KEY, "L01") == text
    red = Redactor(KEY, {"L01": ["40000001", "4000000140000001"]}, {"L01": ["123456789"]})
    assert red.redact(text, "L01") == text
    # while the same digits outside an id are redacted
    assert redact_identifiers("tel 06 12 34 56 78") == "tel [PHONE]"
    assert "40000001" not in red.redact("vu 40000001", "L01")


def test_redactor_replaces_request_numbers(test_key):
    red = Redactor(test_key, {"L01": ["40000001"]}, {"L01": ["123456789", "40000001"]})
    r = request_id(test_key, "L01", "123456789")
    p = pseudonymise_one(test_key, "L01", "40000001")
    # a request number revealed by the evidence becomes its R id, as a whole token only;
    # a token that is both an IPP and a request number becomes the patient's pseudonym
    assert red.redact("dem 123456789 / 40000001", "L01") == f"dem {r} / {p}"
    assert red.redact("lot 1234567890", "L01") == "lot 1234567890"


def _write(tmp_path, rows: list[str], name: str = "AUDIT_L01_20240603.csv"):
    f = tmp_path / name
    f.write_bytes((HEADER + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    return f


ROWS = [
    "03/06/2024;09:00:00;L01;S1;sec01;SECRETAIRE;PC-07;10.1.1.7;SAISIE;CONSULTATION;OK;"
    "004710;987654321;;demande 987654321 vue",
    "03/06/2024;09:01:00;L01;S1;sec01;SECRETAIRE;PC-07;10.1.1.7;SAISIE;CONSULTATION;OK;"
    "004711; 555000111 ;;",
    "03/06/2024;09:02:00;L01;S1;sec01;SECRETAIRE;PC-07;10.1.1.7;SAISIE;CONSULTATION;OK;004712;;;",
]


def test_events_hold_no_raw_request_number(tmp_path):
    f = _write(tmp_path, ROWS)
    ev = read_evidence(f, case_key=KEY)
    r1, r2 = request_id(KEY, "L01", "987654321"), request_id(KEY, "L01", "555000111")
    # the request column holds R ids (stripped number), missing where none was written
    assert ev.events["request"].tolist()[:2] == [r1, r2]
    assert pd.isna(ev.events["request"].iloc[2])
    # and the number written in the detail is replaced as IPPs are
    assert ev.events["detail"].iloc[0] == f"demande {r1} vue"
    # through the ingest command: events.parquet holds no raw request number anywhere
    out = tmp_path / "out"
    key_file = KEY.write(tmp_path / "case.key")
    assert main(["ingest", str(f), "--out", str(out), "--case-key", str(key_file)]) == 0
    table = pd.read_parquet(out / "events.parquet")
    text = table.astype(str).to_csv()
    assert "987654321" not in text and "555000111" not in text
    assert table["request"].dropna().str.fullmatch(r"R[0-9a-f]{16}").all()


def test_reidentify_round_trip_for_requests(tmp_path):
    f = _write(tmp_path, ROWS)
    ev = read_evidence(f, case_key=KEY)
    wanted = [*ev.events["request"].dropna(), ev.events["patient"].iloc[0], "R0000000000000000"]
    dump = tmp_path / "dump.csv"
    dump.write_bytes(b"nir;name\n185057800608491;X\n")
    d2 = dump_row_id(KEY, hashlib.sha256(dump.read_bytes()).hexdigest(), 2)
    listing = tmp_path / "ids.txt"
    listing.write_text("\n".join([*wanted, d2]) + "\n")
    res = reidentify(KEY, [f], listing, tmp_path / "notify.csv", dumps=[dump])
    by = res.set_index("pseudonym")
    # each R id maps back to its lab and raw (stripped) request number
    assert by.loc[wanted[0], ["kind", "lab", "request"]].tolist() == ["request", "L01", "987654321"]
    assert by.loc[wanted[1], "request"] == "555000111"
    assert by.loc[wanted[2], ["kind", "ipp"]].tolist() == ["patient", "004710"]
    # a D id maps back to its dump file and line; an unknown id is not found
    assert by.loc[d2, ["kind", "line"]].tolist() == ["dump_row", 2]
    assert not by.loc["R0000000000000000", "found"] and by["found"].sum() == 4
    back = pd.read_csv(tmp_path / "notify.csv", dtype=str)
    assert back.loc[back["pseudonym"] == wanted[0], "request"].item() == "987654321"


@pytest.mark.parametrize("bad", ["P0123", "xP0123456789abcdef0"])
def test_keyed_id_pattern_is_whole_word(bad):
    # a longer hex run or a shorter one is no keyed id
    assert KEYED_ID.search(bad) is None


def test_reidentify_finds_ids_glued_to_text(tmp_path):
    """Session 10 QA: a cell copied from the run (``IPPP3ab…``: a known IPP glued to
    ``IPP`` became its id, glued too) gave "no keyed id": glued ids are listed ids."""
    f = _write(tmp_path, ROWS)
    ev = read_evidence(f, case_key=KEY)
    p0, r1 = ev.events["patient"].iloc[0], request_id(KEY, "L01", "987654321")
    listing = tmp_path / "ids.txt"
    # glued before (IPP), after (a letter that is no hex digit), and inside a longer
    # hex run (no id: 17 hex digits)
    listing.write_text(f"IPP{p0}\n{r1}z\nxR0123456789abcdef0\n")
    res = reidentify(KEY, [f], listing, tmp_path / "notify.csv")
    assert sorted(res["pseudonym"]) == sorted([p0, r1])
    by = res.set_index("pseudonym")
    assert by.loc[p0, ["kind", "ipp"]].tolist() == ["patient", "004710"]
    assert by.loc[r1, "request"] == "987654321"


def test_reidentify_command_with_dumps(tmp_path, capsys):
    f = _write(tmp_path, ROWS)
    dump = tmp_path / "dump.csv"
    dump.write_bytes(b"a\nb\nc")  # 3 lines, the last without a line end
    d3 = dump_row_id(KEY, hashlib.sha256(b"a\nb\nc").hexdigest(), 3)
    listing = tmp_path / "ids.txt"
    listing.write_text(f"{request_id(KEY, 'L01', '987654321')},{d3}\n")
    key_file = KEY.write(tmp_path / "case.key")
    dest = tmp_path / "notify.csv"
    rc = main(["reidentify", "--case-key", str(key_file), "--evidence", str(f),
               "--pseudonyms", str(listing), "--out", str(dest), "--dumps", str(dump)])  # fmt: skip
    assert rc == 0 and "2 of 2 keyed ids resolved" in capsys.readouterr().out
    got = pd.read_csv(dest, dtype=str).set_index("kind")
    # the R id gives its request number, the D id its dump file and line 3
    assert got.loc["request", "request"] == "987654321"
    assert got.loc["dump_row", "line"] == "3" and got.loc["dump_row", "dump_file"] == str(dump)


def test_quarantined_row_shows_no_request_number(tmp_path):
    # a bad date quarantines the row; its request field (4 digits: below the digit-run
    # rule's 5) must still leave as its R id, the IPP as its P id
    row = (
        "31/02/2024;09:00:00;L01;S1;sec01;SECRETAIRE;PC-07;10.1.1.7;SAISIE;CONSULTATION;OK;"
        "004710;4521;;"
    )
    ev = read_evidence(_write(tmp_path, [row]), case_key=KEY)
    assert len(ev.events) == 0 and len(ev.quarantine) == 1
    fields = ev.quarantine["raw"].iloc[0].split(";")
    assert fields[11] == pseudonymise_one(KEY, "L01", "004710")
    assert fields[12] == request_id(KEY, "L01", "4521")


def test_nir_series_for_the_leak_linkage():
    out = pseudonymise_nirs(KEY, pd.Series(["185057800608491", None, " ", "185057800608491"]))
    # N ids in their own namespace, once per distinct value, missing where none
    assert out.iloc[0] == out.iloc[3] == "N" + _hmac16(b"nir\x1f185057800608491")
    assert out.iloc[1:3].isna().all()


def test_reidentify_names_a_missing_pseudonyms_file(tmp_path):
    # the error names the pseudonyms file as such (it said "evidence file" before)
    from labforensics.errors import ParameterError

    ev = tmp_path / "ev"
    ev.mkdir()
    with pytest.raises(ParameterError, match=r"^cannot open the pseudonyms file .*nope\.txt"):
        reidentify(KEY, ev, tmp_path / "nope.txt", tmp_path / "out.csv")
