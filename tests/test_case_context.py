"""CaseContext: the case's facts apart from the stages' knobs (issue 11)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import labforensics as lf
from labforensics import _validation
from labforensics.attribution import AttributionParams
from labforensics.case import DEFAULT_TZ, MOVED_KEYS, CaseContext, load_case, params_from_case
from labforensics.detect import DetectParams, SourceParams
from labforensics.detect.rules import default_rules_path, load_rules
from labforensics.errors import ParameterError
from labforensics.features import FeatureParams
from labforensics.networks import NetworkMap
from labforensics.privacy import CaseKey, pseudonymise_one
from labforensics.sessions import SessionParams
from labforensics.thresholds import FAILED_LOGIN_BURST

SRC = Path(__file__).resolve().parents[1] / "src" / "labforensics"
PARAMS = (SessionParams, FeatureParams, DetectParams, SourceParams, AttributionParams)
LITERAL = "Europe/" + "Paris"  # split: this file must not count itself


def _occurrences(root: Path, skip: tuple[str, ...] = ()) -> list[str]:
    hits = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix not in (".py", ".toml", ".html", ".j2", ".md"):
            continue
        rel = p.relative_to(root).as_posix()
        if rel.startswith(skip):
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            hits += [f"{rel}:{i}"] * line.count(LITERAL)
    return hits


def test_time_zone_literal_once_in_src():
    # the default time zone exists in exactly one place, case.DEFAULT_TZ (the simulator's
    # zone is synth.clock.SIM_TZ = DEFAULT_TZ)
    hits = _occurrences(SRC, skip=())
    assert len(hits) == 1 and hits[0].startswith("case.py:"), hits
    assert DEFAULT_TZ == LITERAL


def test_params_hold_no_case_fact():
    # knobs only: no field of a Params class is a case fact (MOVED_KEYS lists them all)
    for cls in PARAMS:
        names = {f.name for f in dataclasses.fields(cls)}
        assert not names & set(MOVED_KEYS), (cls.__name__, names & set(MOVED_KEYS))


@pytest.mark.parametrize(
    ("section", "line", "moved_to"),
    [
        ("features", 'lab_networks = ["10.0.0.0/8"]', "[networks] lab"),
        ("features", 'tz = "UTC"', "[case] tz"),
        ("attribution", 'transfer_tz = "UTC"', "[case] transfers_tz"),
        ("attribution", 'lab_aliases = { "123" = "L01" }', "[[labs]]"),
        ("detection", "seed = 3", "[case] seed"),
        ("features", 'vendor_networks = ["1.2.3.0/24"]', "[networks] vendor"),
        ("features", 'lab_networks_by_lab = { L01 = ["10.1.0.0/16"] }', "[networks.by_lab]"),
        ("sessions", 'account_kinds = { "a" = "vendor" }', "[accounts]"),
    ],
)
def test_moved_key_names_its_new_section(tmp_path, section, line, moved_to):
    p = tmp_path / "case.toml"
    p.write_text(f"[{section}]\n{line}\n", encoding="utf-8")
    key = line.split(" ", 1)[0]
    with pytest.raises(ParameterError) as ei:
        load_case(p)
    msg = str(ei.value)
    # the file, the stage section, the key and where it now belongs are all named
    assert str(p) in msg and f"[{section}] {key} is a case fact" in msg and moved_to in msg, msg


def test_params_from_case_refuses_moved_key_given_in_code():
    # a CaseContext built in code with a fact in a stage section is refused the same way
    c = CaseContext(sections={"features": {"lab_networks": ["10.0.0.0/8"]}})
    with pytest.raises(ParameterError, match=r"\[features\] lab_networks is a case fact: "
                       r"write it as \[networks\] lab"):  # fmt: skip
        params_from_case(FeatureParams, c, "features")


def test_from_file_round_trip(tmp_path):
    text = """
[case]
name = "Round trip"
tz = "America/Martinique"
seed = 7
key_file = "k.key"
[networks]
lab = ["10.0.0.0/8"]
vendor = ["198.51.100.0/24"]
[networks.by_lab]
L02 = ["192.168.2.0/24"]
[accounts]
vendor = ["support.e\u0301diteur"]
service = ["batch.hprim"]
[[labs]]
code = "L01"
finess = "350000011"
aliases = ["LAB-ONE"]
[detection]
flag_k = 5
[evidence]
paths = ["ev"]
leak = "leak.csv"
"""
    p = tmp_path / "case.toml"
    p.write_text(text, encoding="utf-8")
    c = CaseContext.from_file(p)
    assert c == load_case(p)  # read twice, equal (NetworkMap compares by blocks)
    assert (c.name, c.tz, c.seed, c.path) == ("Round trip", "America/Martinique", 7, p.resolve())
    assert c.key_file == (tmp_path / "k.key").resolve()
    assert (
        c.evidence == ((tmp_path / "ev").resolve(),) and c.leak == (tmp_path / "leak.csv").resolve()
    )
    # the decomposed e + U+0301 of the file is keyed in NFC (U+00E9)
    assert c.account_kinds == {"batch.hprim": "service", "support.\u00e9diteur": "vendor"}
    assert c.lab_aliases == {"350000011": "L01", "LAB-ONE": "L01"}
    # per-lab blocks add to the common ones for that lab only
    nm = c.networks
    assert (
        nm.classify("192.168.2.9", "L02") == "lab" and nm.classify("192.168.2.9", "L01") == "other"
    )
    assert nm.classify("198.51.100.4", "L01") == "vendor"
    assert c.sections["detection"] == {"flag_k": 5}
    d = c.to_dict()
    assert d["networks"] == {"lab": ["10.0.0.0/8"], "vendor": ["198.51.100.0/24"],
                             "by_lab": {"L02": ["192.168.2.0/24"]}}  # fmt: skip
    assert d["key_file"] == "k.key"  # a file name, never an absolute path
    # the same facts given in code make the same CaseContext
    same = CaseContext(
        name="Round trip", tz="America/Martinique", seed=7, key_file=c.key_file,
        networks=NetworkMap(["10.0.0.0/8"], ["198.51.100.0/24"],
                                    {"L02": ["192.168.2.0/24"]}),
        account_kinds={"support.e\u0301diteur": "vendor", "batch.hprim": "service"},
        lab_aliases={"LAB-ONE": "L01", "350000011": "L01"}, sections=c.sections,
        evidence=c.evidence, leak=c.leak, path=c.path,
    )  # fmt: skip
    assert same == c


def test_default_case():
    c = CaseContext()
    # no networks (every non-local address unknown), the default zone, seed 0
    assert (c.tz, c.seed, c.networks.configured) == (DEFAULT_TZ, 0, False)
    assert c.networks.classify("8.8.8.8", "L01") == "unknown"
    assert load_case(None) == c and lf.CaseContext is CaseContext


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"tz": "Mars/Olympus"}, "not an IANA time zone"),
        ({"seed": -1}, "seed"),
        ({"account_kinds": {"a": "boss"}}, "account_kinds['a']"),
        ({"account_kinds": {"ren\u00e9": "vendor", "rene\u0301": "service"}}, "two kinds"),
    ],
)
def test_case_context_validated(kw, fragment):
    with pytest.raises(ParameterError) as ei:
        CaseContext(**kw)
    assert fragment in str(ei.value)


def test_account_listed_twice_refused(tmp_path):
    p = tmp_path / "case.toml"
    p.write_text('[accounts]\nvendor = ["x"]\nservice = ["x"]\n', encoding="utf-8")
    # one account cannot be both the vendor's and a service account
    with pytest.raises(ParameterError, match="both vendor and service"):
        load_case(p)


def _constrained_cases():
    for cls in PARAMS:
        for name, rule in _validation.constraints(cls).items():
            for bad in rule.invalid_examples():
                yield pytest.param(cls, name, bad, id=f"{cls.__name__}.{name}={bad!r}")


def test_every_knob_constrained():
    # every field of every Params class declares its allowed values
    for cls in PARAMS:
        missing = {f.name for f in dataclasses.fields(cls)} - set(_validation.constraints(cls))
        assert not missing, (cls.__name__, missing)


@pytest.mark.parametrize(("cls", "name", "bad"), list(_constrained_cases()))
def test_invalid_value_names_field_and_range(cls, name, bad):
    rule = _validation.constraints(cls)[name]
    with pytest.raises(ParameterError) as ei:
        cls(**{name: bad})
    msg = str(ei.value)
    assert f"{cls.__name__}.{name}" in msg and rule.describe() in msg, msg


def test_issue_examples():
    # the issue's two examples: a negative routine_days, an unknown detector
    with pytest.raises(ParameterError, match=r"AttributionParams\.routine_days = -3 .*>= 1"):
        AttributionParams(routine_days=-3)
    with pytest.raises(ParameterError, match=r"DetectParams\.detectors .*'XGBOD'"):
        DetectParams(detectors=("ECOD", "XGBOD"))


def test_defaults_valid():
    # the defaults themselves pass their own constraints
    for cls in PARAMS:
        cls()


def test_one_failed_login_threshold():
    # one number (5, an account-lockout threshold) for the three places that use it
    assert FAILED_LOGIN_BURST == 5
    assert SourceParams().min_failed_with_success == FAILED_LOGIN_BURST
    assert AttributionParams().failed_burst == FAILED_LOGIN_BURST
    rule = next(r for r in load_rules() if r.id == "success_after_failed_burst_new_ip")
    cond = next(c for c in rule.all if c.feature == "failed_logins_before")
    assert cond.value == FAILED_LOGIN_BURST
    text = default_rules_path().read_text(encoding="utf-8")
    # the rule file names the constant, it does not repeat the number
    assert re.search(r'failed_logins_before".*"\$FAILED_LOGIN_BURST"', text)


def test_rule_file_unknown_threshold_refused(tmp_path):
    p = tmp_path / "rules.toml"
    p.write_text(
        '[[rule]]\nid = "x"\nunit = "session"\ndescription = "d"\nweight = 6.0\n'
        'reason = "r"\nall = [{ feature = "n_events", op = ">=", value = "$NOPE" }]\n',
        encoding="utf-8",
    )
    with pytest.raises(ParameterError, match=r"\$NOPE.*names no shared threshold"):
        load_rules(p)


def test_keyword_contradicting_case_refused(tmp_path):
    # read_evidence takes the time zone from the case; a different keyword is refused
    f = tmp_path / "a.csv"
    f.write_text("x\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="contradicts case.tz"):
        lf.read_evidence([f], tz="UTC", case=CaseContext(tz="America/Martinique"))


XFER = "Mon Jun 14 04:12:43 2004 12 192.168.1.5 1048576 /pub/L07_export.csv b _ o r vendor1 ftp 0 * c\n"


def test_read_transfers_takes_the_case_time_zone(tmp_path):
    p = tmp_path / "xferlog"
    p.write_text(XFER, encoding="utf-8")
    # 04:12:43 local: UTC in a UTC case; 02:12:43 UTC in the default zone (CEST, +2 in June)
    utc = lf.read_transfers(p, case=CaseContext(tz="UTC")).transfers["ts"].iloc[0]
    dflt = lf.read_transfers(p).transfers["ts"].iloc[0]
    assert str(utc) == "2004-06-14 04:12:43+00:00" and str(dflt) == "2004-06-14 02:12:43+00:00"
    with pytest.raises(ParameterError, match="contradicts case.tz"):
        lf.read_transfers(p, tz="Asia/Tokyo", case=CaseContext(tz="UTC"))


def test_case_time_zone_reaches_features_and_scores():
    # a session starting 2021-03-01 23:30 UTC is on 03-02 in Paris (+1) and 03-01 in New York
    import pandas as pd

    from labforensics.detect import score
    from labforensics.features import build_features
    from labforensics.schema import coerce_events
    from labforensics.sessions import sessionize

    t = pd.Timestamp("2021-03-01 23:30", tz="UTC")
    ev = coerce_events(pd.DataFrame({
        "ts": [t, t + pd.Timedelta(minutes=5)], "lab": "L01", "account": "a",
        "action": ["login", "read"], "outcome": "success", "role": "BIOLOGISTE",
        "account_kind": "staff", "source_format": "test", "source_file": "t.csv",
        "source_line": [2, 3], "seq": [0, 1], "ts_quality": "exact",
    }))  # fmt: skip
    ss = sessionize(ev)
    paris = build_features(ss.events, ss.sessions)
    ny_case = CaseContext(tz="America/New_York", seed=3)
    ny = build_features(ss.events, ss.sessions, case=ny_case)
    assert paris.tz == DEFAULT_TZ and ny.tz == "America/New_York"
    assert str(paris.account_day.keys["day"].iloc[0]) == "2021-03-02"
    assert str(ny.account_day.keys["day"].iloc[0]) == "2021-03-01"
    sc = score(ny, case=ny_case)
    # the seed and zone used are the case's, recorded in the metadata
    assert (sc.metadata["seed"], sc.metadata["tz"]) == (3, "America/New_York")


def test_case_key_file_used_when_no_key_given(tmp_path):
    # a case file naming key_file gives the same pseudonyms as passing that key explicitly
    ev_dir = tmp_path / "evidence"
    ev_dir.mkdir()
    (ev_dir / "AUDIT_L01_20240603.csv").write_bytes(
        b"DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
        b"NB_ENREG;DETAIL\r\n03/06/2024;08:00:00;L01;S1;u1;TECHNICIEN;PC-01;10.1.1.1;RESULTATS;"
        b"CONSULTATION;OK;004711;;;\r\n"
    )
    (tmp_path / "case.key").write_text("cd" * 16 + "\n")
    (tmp_path / "case.toml").write_text('[case]\nkey_file = "case.key"\n')
    case = CaseContext.from_file(tmp_path / "case.toml")
    via_case = lf.read_evidence(ev_dir, case=case).events["patient"].tolist()
    explicit = lf.read_evidence(ev_dir, case_key="cd" * 16).events["patient"].tolist()
    assert via_case == explicit == [pseudonymise_one(CaseKey.from_hex("cd" * 16), "L01", "004711")]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[case]\ntimezone = "UTC"\n', "[case] has unknown key(s) ['timezone']"),
        ('[evidence]\npath = ["ev"]\n', "[evidence] has unknown key(s) ['path']"),
        ('[[labs]]\ncode = "L01"\nfiness_number = "1"\n', "entry 1 has unknown key(s)"),
    ],
)
def test_unknown_keys_in_fact_sections_are_refused(tmp_path, text, fragment):
    # a typo must not fall back silently to a default (timezone -> Europe/Paris would
    # shift every local time by the offset between the zones)
    f = tmp_path / "case.toml"
    f.write_text(text)
    with pytest.raises(ParameterError) as info:
        load_case(f)
    assert fragment in str(info.value)


def test_accounts_section_matches_case_insensitively(tmp_path):
    # QA session 11: [accounts] matched accounts case-sensitively, the register not
    p = tmp_path / "case.toml"
    p.write_text('[accounts]\nvendor = ["TECH.A"]\nservice = ["tech.a"]\n', encoding="utf-8")
    with pytest.raises(
        ParameterError,
        match="'tech.a' is listed as both vendor and service in .accounts. .as 'TECH.A'",
    ):
        load_case(p)
    p.write_text('[accounts]\nvendor = ["TECH.A", "tech.a"]\n', encoding="utf-8")
    assert load_case(p).account_kinds == {"TECH.A": "vendor", "tech.a": "vendor"}
    with pytest.raises(ParameterError, match="case-folded"):
        CaseContext(account_kinds={"TECH.A": "vendor", "tech.a": "service"})


def test_two_labs_with_one_finess_or_code_refused(tmp_path):
    # QA session 11 (c10_dup_lab.toml): accepted silently, "123" mapped to L02 only
    p = tmp_path / "case.toml"
    p.write_text('[[labs]]\ncode = "L01"\nfiness = "123"\n[[labs]]\ncode = "L02"\nfiness = "123"\n',
                 encoding="utf-8")  # fmt: skip
    with pytest.raises(ParameterError, match=r"entries 1 \(L01\) and 2 \(L02\) both give "
                       r"FINESS/alias '123'"):  # fmt: skip
        load_case(p)
    p.write_text('[[labs]]\ncode = "L01"\nfiness = "1"\n[[labs]]\ncode = "L01"\nfiness = "2"\n',
                 encoding="utf-8")  # fmt: skip
    with pytest.raises(ParameterError, match="entries 1 and 2 have the same code 'L01'"):
        load_case(p)
    # one lab naming its FINESS twice (finess and aliases) is no conflict
    p.write_text('[[labs]]\ncode = "L01"\nfiness = "1"\naliases = ["1", "LAB-1"]\n',
                 encoding="utf-8")  # fmt: skip
    assert load_case(p).lab_aliases == {"1": "L01", "LAB-1": "L01"}


def test_crossed_lab_aliases_refused(tmp_path):
    # QA session 13 (F_case/c7.toml): code L07 finess L08 beside code L08 finess L07
    # moved all of L07's events to L08 without a word
    p = tmp_path / "case.toml"
    p.write_text('[[labs]]\ncode = "L07"\nfiness = "L08"\n[[labs]]\ncode = "L08"\n'
                 'finess = "L07"\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(ParameterError, match=r"entry 1 \(L07\) gives FINESS/alias 'L08', "
                       r"which is the code of entry 2 \(L08\)"):  # fmt: skip
        load_case(p)
    # one way only, an alias in another case, and an alias of a later entry
    for labs in (
        'code = "L07"\naliases = ["l08"]\n[[labs]]\ncode = "L08"\n',
        'code = "L08"\n[[labs]]\ncode = "L07"\naliases = ["LAB-1", " l08"]\n',
    ):
        p.write_text("[[labs]]\n" + labs, encoding="utf-8")
        with pytest.raises(ParameterError, match=r"gives FINESS/alias 'L08', which is the code "
                           r"of entry (1|2) \(L08\)"):  # fmt: skip
            load_case(p)
    # codes and aliases canonical as the evidence's labs (upper case); a lab's own code
    # as its alias is no conflict and no mapping
    p.write_text('[[labs]]\ncode = "l07"\nfiness = "2a0001234"\naliases = ["L07"]\n',
                 encoding="utf-8")  # fmt: skip
    assert load_case(p).lab_aliases == {"2A0001234": "L07"}
    p.write_text('[[labs]]\ncode = "L07"\n[[labs]]\ncode = "l07"\n', encoding="utf-8")
    with pytest.raises(ParameterError, match="entries 1 and 2 have the same code 'L07'"):
        load_case(p)


def test_vendor_network_inside_a_lab_network_refused(tmp_path):
    # QA session 11 (c11_overlap_nets.toml): 10.1.x.x was silently 'vendor'
    p = tmp_path / "case.toml"
    p.write_text('[networks]\nlab = ["10.0.0.0/8"]\nvendor = ["10.1.0.0/16"]\n', encoding="utf-8")
    with pytest.raises(ParameterError, match=r"vendor network 10\.1\.0\.0/16 \(networks.vendor\) "
                       r"overlaps lab network 10\.0\.0\.0/8 \(networks.lab\)") as err:  # fmt: skip
        load_case(p)
    assert str(p.resolve()) in str(err.value)
    p.write_text('[networks]\nvendor = ["192.168.10.128/25"]\n[networks.by_lab]\n'
                 'L02 = ["192.168.10.0/24"]\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(ParameterError, match=r"\(networks.by_lab.L02\)"):
        load_case(p)
    # disjoint blocks (and an IPv6 vendor block beside IPv4 lab blocks) pass
    p.write_text('[networks]\nlab = ["10.0.0.0/16", "10.2.0.0/15"]\nvendor = ["10.1.0.0/16", '
                 '"2001:db8::/32"]\n', encoding="utf-8")  # fmt: skip
    assert load_case(p).networks.classify("10.1.2.3") == "vendor"
