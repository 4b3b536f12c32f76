"""Identities compared as the same thing (issue 12, item 2): canonical accounts, addresses, hosts."""

from __future__ import annotations

import dataclasses
import unicodedata

import pandas as pd
import pytest

from labforensics import sessionize
from labforensics.detect.sources import score_sources
from labforensics.errors import ParameterError
from labforensics.identity import (
    canonical_account,
    canonical_address,
    canonical_column,
    canonical_host,
    canonical_peer,
)
from labforensics.ingest import read_evidence
from labforensics.ingest.registry import get_reader, register_reader
from labforensics.transfers import read_transfers
from lis_headers import CURRENT_HEADER as CUR

NFC = unicodedata.normalize("NFC", "hélène.m")
NFD = unicodedata.normalize("NFD", "hélène.m")
BOM = b"\xef\xbb\xbf"


def cur_row(ts, action, account="u1", host="PC-01", ip="10.1.1.1", status="succes"):
    return f"{ts};L01;S1;{account};technicien;{host};{ip};resultats;{action};{status};;;;;;"


def write_cur(path, rows):
    path.write_bytes(BOM + ("\n".join([CUR, *rows]) + "\n").encode())


def test_canonical_forms():
    assert NFC != NFD and canonical_account(NFD) == canonical_account(NFC) == NFC
    assert canonical_account("Bob") == "Bob"  # case kept by default
    assert canonical_account("Bob", casefold=True) == "bob"
    assert canonical_account(None) is None
    # RFC 4291 2.5.5.2: IPv4-mapped IPv6 is the IPv4 address
    assert canonical_address("::ffff:172.16.50.10") == "172.16.50.10"
    assert canonical_address("::FFFF:AC10:320A") == "172.16.50.10"  # same, in hex
    assert canonical_address("2001:DB8:0:0:0:0:0:1") == "2001:db8::1"  # RFC 5952
    assert canonical_address("[2001:db8::1]") == "2001:db8::1"
    assert canonical_address(" 10.1.1.1 ") == "10.1.1.1"
    # not addresses: as written
    assert canonical_address("PC-01") == "PC-01"
    assert canonical_address("010.1.1.1") == "010.1.1.1"
    assert canonical_address("-") == "-"
    assert canonical_host("PC-01.Lab.EXAMPLE") == "pc-01.lab.example"
    assert canonical_peer("::ffff:198.51.100.23") == "198.51.100.23"
    assert canonical_peer("FTP.Example.ORG") == "ftp.example.org"


def test_canonical_column_per_distinct_value_keeps_missing():
    s = pd.Series(["::ffff:10.0.0.1", None, "10.0.0.1", "x"], dtype="string[pyarrow]")
    out, changed = canonical_column(s, canonical_address)
    assert changed and out.tolist() == ["10.0.0.1", pd.NA, "10.0.0.1", "x"]
    same, changed = canonical_column(pd.Series(["a", None], dtype="string[pyarrow]"), str.lower)
    assert not changed and same.tolist() == ["a", pd.NA]


def test_read_evidence_canonical_identities_and_raw_forms(tmp_path, test_key):
    write_cur(
        tmp_path / "audit_l01_2024-06-03.csv",
        [
            cur_row("2024-06-03T08:00:00+02:00", "connexion", NFC, "PC-01", "::ffff:172.16.50.10"),
            cur_row("2024-06-03T08:05:00+02:00", "consultation", NFD, "pc-01", "172.16.50.10"),
            cur_row("2024-06-03T08:06:00+02:00", "consultation", NFD, "Pc-01", "2001:DB8::0:1"),
            cur_row("2024-06-03T08:07:00+02:00", "deconnexion", NFC, "PC-01", "ws-07"),
        ],
    )
    e = read_evidence(tmp_path, case_key=test_key).events
    assert e["account"].tolist() == [NFC] * 4
    assert e["account_raw"].tolist() == [NFC, NFD, NFD, NFC]  # as written
    assert e["host"].tolist() == ["pc-01"] * 4
    assert e["host_raw"].tolist() == ["PC-01", "pc-01", "Pc-01", "PC-01"]
    assert e["src_ip"].tolist() == ["172.16.50.10", "172.16.50.10", "2001:db8::1", "ws-07"]
    assert e["src_ip_raw"].tolist() == [
        "::ffff:172.16.50.10",
        "172.16.50.10",
        "2001:DB8::0:1",
        "ws-07",
    ]
    s = sessionize(e).sessions
    # one account on one host: one session login -> logout, one host, two addresses + ws-07
    assert len(s) == 1 and s["n_events"].iloc[0] == 4 and s["n_hosts"].iloc[0] == 1
    assert s["n_src_ips"].iloc[0] == 3


def test_account_kind_override_matches_every_spelling(tmp_path, test_key):
    write_cur(
        tmp_path / "audit_l01_2024-06-03.csv",
        [
            cur_row("2024-06-03T08:00:00+02:00", "connexion", NFC),
            cur_row("2024-06-03T08:07:00+02:00", "deconnexion", NFD),
        ],
    )
    # the key written decomposed matches both rows (the role alone gives 'staff')
    e = read_evidence(tmp_path, case_key=test_key, account_kinds={NFD: "vendor"}).events
    assert e["account_kind"].tolist() == ["vendor", "vendor"]
    e = read_evidence(tmp_path, case_key=test_key).events
    assert e["account_kind"].tolist() == ["staff", "staff"]
    # the override matches case-insensitively, even for a case-sensitive source, as the
    # authorisation register does (QA session 11): the accounts themselves stay as written
    e = read_evidence(tmp_path, case_key=test_key, account_kinds={"HÉLÈNE.M": "vendor"}).events
    assert e["account_kind"].tolist() == ["vendor", "vendor"]
    assert e["account"].tolist() == [NFC, NFC]


def test_account_kinds_refuse_two_spellings_with_two_kinds_and_unknown_kinds(tmp_path, test_key):
    write_cur(tmp_path / "a.csv", [cur_row("2024-06-03T08:00:00+02:00", "connexion")])
    with pytest.raises(ParameterError, match="same account"):
        read_evidence(tmp_path, case_key=test_key, account_kinds={NFC: "vendor", NFD: "staff"})
    with pytest.raises(ParameterError, match="not an account kind"):
        read_evidence(tmp_path, case_key=test_key, account_kinds={"u1": "robot"})
    # one account in two cases with two kinds: refused whatever the source (QA session 11)
    with pytest.raises(ParameterError, match="case-folded"):
        read_evidence(tmp_path, case_key=test_key, account_kinds={"TECH.A": "vendor",
                                                                  "tech.a": "service"})  # fmt: skip


def test_account_kinds_case_insensitive_for_a_case_sensitive_source(tmp_path, test_key):
    # QA session 11: [accounts] vendor = ["TECH.A"] left tech.a 'staff' while the register
    # matched it; the accounts keep their spellings (two accounts), both take the kind
    write_cur(
        tmp_path / "audit_l01_2024-06-03.csv",
        [
            cur_row("2024-06-03T08:00:00+02:00", "connexion", "tech.a"),
            cur_row("2024-06-03T08:07:00+02:00", "connexion", "Tech.A"),
            cur_row("2024-06-03T08:09:00+02:00", "connexion", "tech.b"),
        ],
    )
    e = read_evidence(tmp_path, case_key=test_key, account_kinds={"TECH.A": "vendor"}).events
    assert e["account"].tolist() == ["tech.a", "Tech.A", "tech.b"]
    assert e["account_kind"].tolist() == ["vendor", "vendor", "staff"]


@pytest.fixture
def case_insensitive_current():
    spec = get_reader("lis_current")
    register_reader(dataclasses.replace(spec, accounts_case_insensitive=True))
    yield
    register_reader(spec)


def test_case_folded_only_for_a_case_insensitive_reader(tmp_path, test_key):
    write_cur(
        tmp_path / "audit_l01_2024-06-03.csv",
        [
            cur_row("2024-06-03T08:00:00+02:00", "connexion", "Bob"),
            cur_row("2024-06-03T08:07:00+02:00", "deconnexion", "bob"),
        ],
    )
    e = read_evidence(tmp_path, case_key=test_key).events
    assert e["account"].tolist() == ["Bob", "bob"]  # default: case kept


def test_case_folded_reader(tmp_path, test_key, case_insensitive_current):
    write_cur(
        tmp_path / "audit_l01_2024-06-03.csv",
        [
            cur_row("2024-06-03T08:00:00+02:00", "connexion", "Bob"),
            cur_row("2024-06-03T08:07:00+02:00", "deconnexion", "bob"),
        ],
    )
    ev = read_evidence(tmp_path, case_key=test_key, account_kinds={"BOB": "service"})
    e = ev.events
    assert e["account"].tolist() == ["bob", "bob"]
    assert e["account_raw"].tolist() == ["Bob", "bob"]
    assert e["account_kind"].tolist() == ["service", "service"]  # key folded as well
    assert len(sessionize(e).sessions) == 1
    # two kinds for one account once case-folded: refused, naming it
    with pytest.raises(ParameterError, match="case-folded"):
        read_evidence(tmp_path, case_key=test_key, account_kinds={"BOB": "service", "bob": "staff"})


def test_transfers_compare_canonical_forms(tmp_path):
    p = tmp_path / "xferlog"
    p.write_text(
        "Wed Dec  2 10:00:00 2020 1 ::ffff:198.51.100.23 1000 /pub/x.csv b _ o r "
        f"{NFD} ftp 0 * c\n"
        "Wed Dec  2 10:05:00 2020 1 FTP.Example.ORG 1000 /pub/y.csv b _ o r "
        f"{NFC} ftp 0 * c\n",
        encoding="utf-8",
    )
    t = read_transfers(p).transfers
    assert t["remote_host"].tolist() == ["198.51.100.23", "ftp.example.org"]
    assert t["remote_host_raw"].tolist() == ["::ffff:198.51.100.23", "FTP.Example.ORG"]
    assert t["user"].tolist() == [NFC, NFC]
    assert t["user_raw"].tolist() == [NFD, NFC]


def test_source_ranking_counts_one_address_and_one_account_per_identity():
    ts = pd.date_range("2024-01-01 10:00", periods=12, freq="1min", tz="UTC")
    ev = pd.DataFrame(
        {
            "ts": ts,
            "lab": "L01",
            "account": [NFC, NFD] * 6,
            "src_ip": ["::ffff:203.0.113.5", "203.0.113.5"] * 6,
            "action": ["login_failed"] * 12,
            "outcome": "failure",
        }
    )
    s = score_sources(ev)
    # one source, 12 failures on one account: flagged (>= 10 failures, peak 12 an hour)
    assert s["src_ip"].tolist() == ["203.0.113.5"]
    assert s["failed_logins"].tolist() == [12]
    assert s["distinct_accounts_tried"].tolist() == [1]
    assert s["flagged"].tolist() == [True]
