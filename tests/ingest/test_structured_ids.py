"""NIRs in structured columns (a NIR as a login): keyed, never in clear.

Known gap of session 3 (NOTES "Known gaps"): only ``detail`` and quarantined text were
scanned, so a NIR used as an account, a host or a site reached events.parquet and the
report as logged. Now each is replaced by its ``N`` id, one id per number, so two
logins stay two accounts. E-mail addresses and phone numbers in these columns stay (an
account named by its e-mail address is cited by the expert as the system knows it).
"""

from __future__ import annotations

import json

import pandas as pd

from labforensics.ingest import read_evidence
from labforensics.ingest._structured_ids import key_nirs, redact_structured_columns
from labforensics.privacy import CaseKey, nir_hash
from labforensics.sessions import sessionize
from labforensics.store import ingest_to_store, load_store
from lis_headers import LEGACY_HEADER

KEY = CaseKey(bytes(range(32)))
LEG = LEGACY_HEADER + "\r\n"
ROW = "15/03/2020;08:{m:02d}:00;L01;{site};{acct};TECHNICIEN;{host};10.1.0.5;RESULTATS;CONSULTATION;OK;40000001;200101;;ok"
# two NIRs with valid keys (97 - n mod 97: 1800175123456 -> 60, 2690549588157 -> 80)
NIR_A, NIR_B = "180017512345660", "269054958815780"


def _read(tmp_path, rows):
    f = tmp_path / "AUDIT_L01_20200315.csv"
    f.write_bytes((LEG + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    return read_evidence(f, case_key=KEY)


def _rows():
    return [
        ROW.format(m=0, site="S1", acct=NIR_A, host="PC-1"),
        ROW.format(m=1, site="S1", acct=NIR_A, host="PC-1"),
        ROW.format(m=2, site="S1", acct="2 69 05 49 588 157 80", host="PC-1"),  # NIR_B spaced
        ROW.format(m=3, site="06 12 34 56 78", acct="tech.a1", host=NIR_B),
        ROW.format(m=4, site="S1", acct="tech.a1", host="PC-1"),
    ]


def test_key_nirs_by_hand():
    assert key_nirs(NIR_A, KEY) == nir_hash(KEY, NIR_A)
    # any separators: the normalised number's id, so one person gives one id
    assert key_nirs("1 80 01 75 123 456 60", KEY) == nir_hash(KEY, NIR_A)
    assert key_nirs("pc-" + NIR_B, KEY) == "pc-" + nir_hash(KEY, NIR_B)
    # a wrong key (60 is right) is still a person's NIR: keyed, an id of its own (its 15
    # digits), any separators giving that one id
    wrong = nir_hash(KEY, "180017512345661")
    assert key_nirs("180017512345661", KEY) == wrong
    assert key_nirs("1 80 01 75 123 456 61", KEY) == wrong
    assert wrong != nir_hash(KEY, NIR_A)
    # no NIR shape (sex digit 5), logins, e-mail addresses and phone numbers: not touched
    for v in ("580017512345660", "tech.a1", "x@y.fr", "06 12 34 56 78"):
        assert key_nirs(v, KEY) == v
    # a keyed id already written stays as it is
    nid = nir_hash(KEY, NIR_A)
    assert key_nirs(nid, KEY) == nid


def test_nir_login_host_and_site_are_keyed(tmp_path):
    ev = _read(tmp_path, _rows())
    e = ev.events
    a, b = nir_hash(KEY, NIR_A), nir_hash(KEY, NIR_B)
    assert e["account"].tolist() == [a, a, b, "tech.a1", "tech.a1"]
    assert e["account_raw"].tolist() == [a, a, b, "tech.a1", "tech.a1"]
    # the host as written and the canonical (case-folded) host hold the id as made (the
    # QA found 'n9a7...' in host, which reidentify could not read)
    assert e["host_raw"].tolist()[3:] == [nir_hash(KEY, NIR_B), "PC-1"]
    assert e["host"].tolist()[3:] == [nir_hash(KEY, NIR_B), "pc-1"]
    assert e["site"].tolist() == ["S1", "S1", "S1", "06 12 34 56 78", "S1"]  # not a NIR
    # rows changed per column, counted by hand: 3 accounts, 1 host
    assert ev.report.identifiers_in_columns == {
        "account": 3,
        "account_raw": 3,
        "host": 1,
        "host_raw": 1,
    }
    d = ev.report.to_dict()
    assert d["identifiers_in_columns"] == ev.report.identifiers_in_columns
    assert "NIRs in structured columns" in ev.report.summary()
    text = e.astype(str).to_csv() + json.dumps(d) + ev.report.summary()
    for raw in (NIR_A, NIR_B, "588 157"):
        assert raw not in text
    # two people, two accounts: their sessions are not merged
    s = sessionize(e).sessions
    assert set(s["account"]) == {a, b, "tech.a1"}


def test_nothing_to_key_leaves_the_columns_as_read(tmp_path):
    ev = _read(
        tmp_path, [ROW.format(m=i, site="S1", acct="tech.a1", host="PC-1") for i in range(3)]
    )
    assert ev.report.identifiers_in_columns == {}
    assert ev.events["account"].tolist() == ["tech.a1"] * 3
    raw = pd.DataFrame({"account": pd.Series(["a", None, "b"], dtype="string[pyarrow]")})
    assert redact_structured_columns(raw, KEY) == {}
    assert raw["account"].tolist() == ["a", pd.NA, "b"]


def test_missing_values_keep_their_place(tmp_path):
    raw = pd.DataFrame(
        {"account": pd.Series([NIR_A, None, "tech", NIR_A], dtype="string[pyarrow]")}
    )
    assert redact_structured_columns(raw, KEY) == {"account": 2}
    a = nir_hash(KEY, NIR_A)
    assert raw["account"].tolist() == [a, pd.NA, "tech", a]


def test_store_sums_the_counts(tmp_path):
    # two ingests into one store (incremental: the second day's file comes later), so the
    # store's report sums the counts of two groups
    ev_dir = tmp_path / "ev"
    ev_dir.mkdir()
    rows, store = _rows(), tmp_path / "store"
    for day, chunk in (("15", rows[:3]), ("16", rows[3:])):
        body = "\r\n".join(r.replace("15/03/2020", f"{day}/03/2020") for r in chunk)
        (ev_dir / f"AUDIT_L01_202003{day}.csv").write_bytes((LEG + body + "\r\n").encode("cp1252"))
        ingest_to_store(ev_dir, store, case_key=KEY)
    got = load_store(store)
    assert got.report.identifiers_in_columns == {
        "account": 3,
        "account_raw": 3,
        "host": 1,
        "host_raw": 1,
    }
    whole = read_evidence(ev_dir, case_key=KEY)
    assert whole.report.identifiers_in_columns == {
        "account": 3,
        "account_raw": 3,
        "host": 1,
        "host_raw": 1,
    }
    assert got.events["account"].tolist() == whole.events["account"].tolist()


def test_reidentify_maps_n_ids_back_from_the_evidence(tmp_path):
    # QA 14: an N id (a NIR used as a login) was never resolved, though the evidence
    # given to reidentify writes the number. By hand: NIR_A as a login (L01, account
    # column), NIR_B spaced as a login and bare as a host: one id each, found; an N id
    # of a number the evidence never writes stays unfound
    from labforensics.reidentify import reidentify

    ev_dir = tmp_path / "ev"
    ev_dir.mkdir()
    (ev_dir / "AUDIT_L01_20200315.csv").write_bytes(
        (LEG + "\r\n".join(_rows()) + "\r\n").encode("cp1252")
    )
    key_file = tmp_path / "case.key"
    key_file.write_text(bytes(range(32)).hex())
    other = nir_hash(KEY, "255081416802538")  # 97 - 2550814168025 mod 97 = 38
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{nir_hash(KEY, NIR_A)}\n{nir_hash(KEY, NIR_B)}\n{other}\n")
    res = reidentify(key_file, [ev_dir], ids, tmp_path / "people.csv")
    got = res.set_index("pseudonym")
    assert got.loc[nir_hash(KEY, NIR_A), ["kind", "lab", "nir", "seen_in"]].tolist() == [
        "nir",
        "L01",
        NIR_A,
        "account column",
    ]
    assert got.loc[nir_hash(KEY, NIR_B), "nir"] == NIR_B
    assert got["found"].to_dict() == {
        nir_hash(KEY, NIR_A): True,
        nir_hash(KEY, NIR_B): True,
        other: False,
    }


def test_wrong_key_nir_login_keyed_and_reidentified(tmp_path):
    # a NIR with a typo in its key (61, 60 is right) used as a login: a person's identifier
    # all the same, so keyed on its 15 digits (never in clear), and reidentify gives back
    # the number as the evidence writes it, without its separators
    from labforensics.reidentify import reidentify

    wrong = "180017512345661"
    ev_dir = tmp_path / "ev"
    ev_dir.mkdir()
    rows = [ROW.format(m=0, site="S1", acct="1 80 01 75 123 456 61", host="PC-1")]
    (ev_dir / "AUDIT_L01_20200315.csv").write_bytes(
        (LEG + "\r\n".join(rows) + "\r\n").encode("cp1252")
    )
    e = read_evidence(ev_dir, case_key=KEY).events
    nid = nir_hash(KEY, wrong)
    assert e["account"].tolist() == [nid] and e["account_raw"].tolist() == [nid]
    assert "123 456 61" not in e.astype(str).to_csv()
    key_file = tmp_path / "case.key"
    key_file.write_text(bytes(range(32)).hex())
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{nid}\n")
    got = reidentify(key_file, [ev_dir], ids, tmp_path / "people.csv").set_index("pseudonym")
    assert got.loc[nid, ["kind", "lab", "nir", "seen_in", "found"]].tolist() == [
        "nir",
        "L01",
        wrong,
        "account column",
        True,
    ]
