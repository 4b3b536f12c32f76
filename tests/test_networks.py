"""NetworkMap: the one address classifier, each semantic rule pinned by hand."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labforensics.case import load_case
from labforensics.detect.rules import apply_rules, load_rules
from labforensics.errors import ParameterError
from labforensics.networks import NETWORK_CLASSES, NetworkMap

NM = NetworkMap(
    lab=["10.0.0.0/8", "fd00::/8"],
    vendor=["198.51.100.0/24"],
    by_lab={"L02": ["192.168.2.0/24"]},
)


@pytest.mark.parametrize("address", [None, pd.NA, np.nan, "", "  ", "-", "localhost"])
def test_missing_or_empty_address_is_local(address):
    # no address: a job on the server itself
    assert NM.classify(address, "L01") == "local"
    assert NetworkMap().classify(address, "L01") == "local"


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "0.0.0.0", "::"])
def test_loopback_and_unspecified_are_local(address):
    assert NM.classify(address, "L01") == "local"
    assert NetworkMap().classify(address, "L01") == "local"


def test_lab_vendor_other():
    assert NM.classify("10.20.30.40", "L01") == "lab"  # in the common 10/8
    assert NM.classify("fd00::5", "L01") == "lab"  # IPv6 block
    assert NM.classify("198.51.100.9", "L01") == "vendor"
    assert NM.classify("8.8.8.8", "L01") == "other"  # outside every block
    assert NM.classify("2001:db8::1", "L01") == "other"


def test_per_lab_blocks_add_to_the_common_ones():
    # L02's own block is lab at L02, other elsewhere; the common 10/8 still applies at L02
    assert NM.classify("192.168.2.7", "L02") == "lab"
    assert NM.classify("192.168.2.7", "L01") == "other"
    assert NM.classify("10.1.1.1", "L02") == "lab"
    # no lab given: every lab's blocks count
    assert NM.classify("192.168.2.7") == "lab"


def test_host_name_is_unknown():
    assert NM.classify("pc-accueil-03", "L01") == "unknown"
    assert NM.classify("ftp.example.org", None) == "unknown"


def test_ipv4_mapped_ipv6_is_read_as_ipv4():
    assert NM.classify("::ffff:10.1.2.3", "L01") == "lab"
    assert NM.classify("::ffff:198.51.100.1", "L01") == "vendor"
    assert NM.classify("::ffff:8.8.8.8", "L01") == "other"
    assert NM.classify("::ffff:127.0.0.1", "L01") == "local"


def test_without_networks_every_non_local_address_is_unknown():
    nm = NetworkMap()
    assert not nm.configured
    # private or public alike: no RFC 1918 guess
    for a in ("10.0.0.1", "192.168.1.1", "8.8.8.8", "198.51.100.9", "pc-1"):
        assert nm.classify(a, "L01") == "unknown"


def test_vendor_only_cannot_call_anything_outside():
    nm = NetworkMap(vendor=["198.51.100.0/24"])
    assert nm.classify("198.51.100.9", "L01") == "vendor"
    assert nm.classify("8.8.8.8", "L01") == "unknown"  # no lab block: cannot be placed


def test_lab_without_own_or_common_blocks_is_unknown():
    nm = NetworkMap(by_lab={"L02": ["192.168.2.0/24"]})
    assert nm.classify("8.8.8.8", "L02") == "other"
    assert nm.classify("8.8.8.8", "L01") == "unknown"  # nothing configured for L01


def test_by_lab_key_in_lower_case_is_the_evidence_lab():
    # QA session 13: [networks.by_lab] l02 = [...] matched no event of lab L02
    nm = NetworkMap(by_lab={"l02": ["192.168.2.0/24"], " L02 ": ["192.168.3.0/24"]})
    assert list(nm.by_lab) == ["L02"]
    assert nm.classify("192.168.2.7", "L02") == "lab"
    assert nm.classify("192.168.3.7", "L02") == "lab"  # both spellings' blocks kept
    assert nm.classify("8.8.8.8", "L02") == "other"


def test_classify_many_matches_classify_pair_by_pair():
    addr = pd.Series(
        ["10.0.0.1", None, "pc-1", "192.168.2.7", "192.168.2.7", "::ffff:8.8.8.8", "10.0.0.1"],
        dtype="string",
    )
    labs = pd.Series(["L01", "L01", "L01", "L02", "L01", None, "L01"], dtype="string")
    got = NM.classify_many(addr, labs)
    assert got.tolist() == ["lab", "local", "unknown", "lab", "other", "other", "lab"]
    assert got.index.equals(addr.index) and set(got) <= set(NETWORK_CLASSES)
    assert NM.classify_many(addr.iloc[:0], labs.iloc[:0]).empty


def test_session_class_most_external_wins():
    assert NM.session_class(["10.0.0.1", "198.51.100.1"], "L01") == "vendor"
    assert NM.session_class(["10.0.0.1", "8.8.8.8", "198.51.100.1"], "L01") == "other"
    assert NM.session_class([], "L01") == "local"


def test_case_reads_the_networks_section(tmp_path):
    p = tmp_path / "case.toml"
    p.write_text('[networks]\nlab = ["10.0.0.0/8"]\nvendor = ["1.2.3.0/24"]\n', encoding="utf-8")
    nm = load_case(p).networks
    # the [networks] section's blocks: lab for every lab, vendor
    assert nm.classify("10.9.9.9", "L05") == "lab" and nm.classify("1.2.3.4", "L05") == "vendor"
    assert nm == NetworkMap(lab=["10.0.0.0/8"], vendor=["1.2.3.0/24"])


def test_bad_block_names_it():
    with pytest.raises(ParameterError, match="'10.0.0.0/33' is not a CIDR block"):
        NetworkMap(lab=["10.0.0.0/33"])


def test_mass_extraction_rule_does_not_fire_on_unknown_networks():
    (rule,) = [r for r in load_rules() if r.id == "mass_extraction"]
    frame = pd.DataFrame(
        {
            "records_extracted": [900.0] * 4,
            "records_out_share_lab": [0.9] * 4,
            "lab_patients": [1000.0] * 4,
            "regular_job": [0.0] * 4,
            "kind_vendor": [0.0] * 4,
            "night": [0.0] * 4,
            # unknown/local only (all three 0), lab only, some outside, some vendor
            "net_lab": [0.0, 1.0, 0.5, 0.5],
            "net_other": [0.0, 0.0, 0.5, 0.0],
            "net_vendor": [0.0, 0.0, 0.0, 0.5],
            "records_out": [900.0] * 4,
            "records_not_authorised": [900.0] * 4,
        }
    )
    fired, skipped = apply_rules(frame, [rule], "session")
    # a staff daytime extraction fires only from a known outside or vendor address
    assert skipped == {} and fired["mass_extraction"].tolist() == [False, False, True, True]


_MEMBERSHIP = [
    re.compile(r"\bin\s+(?:ipaddress\.)?ip_network\("),
    re.compile(r"\.(?:subnet_of|supernet_of|overlaps)\("),
    re.compile(r"ip_address\([^)]*\)\s+in\b"),
    re.compile(r"\bip_network\("),
]


def test_no_ipaddress_membership_test_outside_networks_module():
    src = Path(__file__).resolve().parents[1] / "src" / "labforensics"
    offenders = []
    for p in sorted(src.rglob("*.py")):
        if p.name == "networks.py" and p.parent == src:
            continue
        text = p.read_text(encoding="utf-8")
        offenders += [f"{p.relative_to(src)}: {r.pattern}" for r in _MEMBERSHIP if r.search(text)]
    # every address is placed by NetworkMap; ingest may only parse addresses
    assert offenders == []


def test_networks_module_imports_no_stage():
    import ast

    src = Path(__file__).resolve().parents[1] / "src" / "labforensics" / "networks.py"
    tree = ast.parse(src.read_text(encoding="utf-8"))
    mods = {
        ("." * n.level) + (n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
    }
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    # built from the case's facts: no import of a stage (no cycle back into networks)
    assert not {m for m in mods if "attribution" in m or "features" in m or "case" in m}
