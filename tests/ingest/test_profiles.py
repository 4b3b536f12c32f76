"""Profiles that read other access logs without code (issue 12, item 7).

Constant columns, header-less files, epoch times, regex profiles, several profiles a
run chosen per file, case-file-relative profile paths. Every expected value below is
worked out by hand from the lines the test writes.
"""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.case import load_case
from labforensics.errors import ProfileError
from labforensics.ingest import read_evidence
from labforensics.ingest.options import ingest_options
from labforensics.ingest.profiles import load_profile, load_profiles
from profile_texts import REGEX_PROFILE

# 2010-01-02T06:49:00Z = 1262304000 (2010-01-01T00:00Z) + 86400 + 6*3600 + 49*60
T0 = 1262414940
TS0 = pd.Timestamp("2010-01-02 06:49:00", tz="UTC")


def write(path, text, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def read(paths, key, **kw):
    kw.setdefault("tz", "UTC")
    kw.setdefault("lab", "SIM")
    return read_evidence(paths, case_key=key, **kw)


# --------------------------------------------------------------------------- constants

CONST = """
name = "door_badge"
separator = ","
header = ["when", "who", "door"]
[columns]
account = "who"
host = "door"
action = "=login"
lab = "=L09"
[timestamp]
column = "when"
format = "%Y-%m-%d %H:%M:%S"
"""


def test_constant_columns(tmp_path, test_key):
    prof = write(tmp_path / "badge.toml", CONST)
    f = write(
        tmp_path / "ev" / "badge.csv",
        "when,who,door\n2010-01-02 06:49:00,abc0123,D-01\n2010-01-02 06:50:00,xyz0456,D-02\n",
    )
    e = read(f, test_key, profile=prof).events
    # no action column in the file: the constant "=login" is every row's action
    assert e["action"].tolist() == ["login", "login"]
    assert e["action_raw"].tolist() == ["login", "login"]
    # a constant lab wins over read_evidence(lab="SIM"), which fills missing labs only
    assert e["lab"].tolist() == ["L09", "L09"]
    # hosts are compared lower-cased; the form as written is kept in host_raw
    assert e["host"].tolist() == ["d-01", "d-02"]
    assert e["host_raw"].tolist() == ["D-01", "D-02"]


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda t: t.replace('action = "=login"', 'action = "=steal"'), "columns.action"),
        (lambda t: t.replace('lab = "=L09"', 'records = "=5"'), "columns.records"),
        (lambda t: t.replace('host = "door"', 'host = "gate"'), "columns.host"),
    ],
)
def test_constant_errors_name_the_key(tmp_path, edit, key):
    prof = write(tmp_path / "bad.toml", edit(CONST))
    with pytest.raises(ProfileError) as exc:
        load_profile(prof)
    assert repr(key) in str(exc.value) and "fix:" in str(exc.value)


# --------------------------------------------------------------------------- header-less

HEADERLESS = """
name = "vpn"
separator = ";"
header = false
fields = ["t", "user", "ip"]
file_pattern = '^vpn_(?P<date>\\d{8})\\.log$'
[columns]
account = "user"
src_ip = "ip"
action = "=login"
[timestamp]
column = "t"
format = "epoch_ms"
"""


def test_headerless_positional_columns(tmp_path, test_key):
    prof = write(tmp_path / "vpn.toml", HEADERLESS)
    f = write(
        tmp_path / "ev" / "vpn_20100102.log",
        f"{T0}000;abc0123;198.51.100.20\n{T0 + 60}250;xyz0456;198.51.100.21\n",
    )
    ev = read(f, test_key, profile=prof)
    e = ev.events
    # no header: the first line is data (line 1), fields by position
    assert e["source_line"].tolist() == [1, 2]
    assert e["account"].tolist() == ["abc0123", "xyz0456"]
    assert e["src_ip"].tolist() == ["198.51.100.20", "198.51.100.21"]
    assert e["ts"].tolist() == [TS0, TS0 + pd.Timedelta(seconds=60, milliseconds=250)]
    rep = ev.report.files[0]
    assert (rep.rows_read, rep.events, rep.quarantined) == (2, 2, 0)


def test_headerless_needs_file_pattern(tmp_path):
    text = HEADERLESS.replace("file_pattern = '^vpn_(?P<date>\\d{8})\\.log$'\n", "")
    with pytest.raises(ProfileError, match="'file_pattern'"):
        load_profile(write(tmp_path / "p.toml", text))


# --------------------------------------------------------------------------- epoch

EPOCH = """
name = "epoch"
separator = ","
header = ["t", "u"]
[columns]
account = "u"
action = "=read"
[timestamp]
column = "t"
format = "{fmt}"
"""


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("epoch_s", f"{T0}", TS0),
        ("epoch_s", f"{T0}.25", TS0 + pd.Timedelta(milliseconds=250)),
        ("epoch_ms", f"{T0}123", TS0 + pd.Timedelta(milliseconds=123)),
        ("epoch_us", f"{T0}123456", TS0 + pd.Timedelta(microseconds=123456)),
        ("epoch_ns", f"{T0}123456789", TS0 + pd.Timedelta(nanoseconds=123456789)),
        ("epoch_s", "-1", pd.Timestamp("1969-12-31 23:59:59", tz="UTC")),
    ],
)
def test_epoch_units(tmp_path, test_key, fmt, value, expected):
    prof = write(tmp_path / "p.toml", EPOCH.format(fmt=fmt))
    f = write(tmp_path / "ev" / "e.csv", f"t,u\n{value},abc0123\n")
    # an epoch time is an exact instant: the zone given is not applied to it
    ev = read(f, test_key, profile=prof, tz="Europe/Paris")
    assert ev.events["ts"].tolist() == [expected]
    assert ev.events["ts_quality"].tolist() == ["exact"]


def test_epoch_bad_values_are_quarantined(tmp_path, test_key):
    prof = write(tmp_path / "p.toml", EPOCH.format(fmt="epoch_ms"))
    # "1.5" (a fraction of a millisecond) and 14 digits (year 2282 in ms) are not read
    f = write(tmp_path / "ev" / "e.csv", f"t,u\n{T0}000,a\n1.5,b\n12624149400000,c\n")
    ev = read(f, test_key, profile=prof)
    assert ev.events["account"].tolist() == ["a"]
    assert ev.quarantine["source_line"].tolist() == [3, 4]
    assert ev.quarantine["reason"].iloc[0] == (
        "unparseable timestamp '1.5' (expected integer milliseconds since 1970-01-01T00:00:00Z)"
    )


def test_epoch_unit_is_never_guessed(tmp_path):
    with pytest.raises(ProfileError, match="epoch_m"):
        load_profile(write(tmp_path / "p.toml", EPOCH.format(fmt="epoch_m")))


# --------------------------------------------------------------------------- several profiles

CERT_HEADER = "id,date,user,pc,activity\n"


def test_two_profiles_chosen_per_file_and_unmatched_set_aside(tmp_path, test_key):
    vpn = write(tmp_path / "vpn.toml", HEADERLESS)
    ev_dir = tmp_path / "ev"
    write(ev_dir / "logon.csv", CERT_HEADER + "{A1B2-C3D4E5F6-G7H8I9J0},01/02/2010 06:49:00,"
          "ABC0123,PC-1001,Logon\n")  # fmt: skip
    write(ev_dir / "vpn_20100102.log", f"{T0}000;abc0123;198.51.100.20\n")
    # a CSV with another header: set aside whole, not quarantined row by row
    write(ev_dir / "notes.csv", "a,b\n1,2\n3,4\n")
    ev = read(ev_dir, test_key, profile=["cert-logon", vpn])
    e = ev.events.sort_values("source_file")
    # logon.csv by its header (cert-logon), vpn_20100102.log by its name (vpn)
    assert e["source_format"].tolist() == ["profile:cert-logon", "profile:vpn"]
    assert e["ts"].tolist() == [TS0, TS0]  # 01/02/2010 is month first in cert-logon
    assert ev.report.unrecognised == ["notes.csv"]  # counted once, as a file
    why = ev.report.unrecognised_reasons["notes.csv"]
    assert why.startswith("matches no profile (cert-logon, vpn)") and "'a,b'" in why
    assert len(ev.quarantine) == 0
    assert {f.source_file for f in ev.report.files} == {"logon.csv", "vpn_20100102.log"}


def test_header_match_wins_over_file_name(tmp_path, test_key):
    # logon_x.csv matches cert-logon's file_pattern, but its header is the other profile's
    other = write(tmp_path / "o.toml", CONST.replace('name = "door_badge"', 'name = "o"'))
    f = write(tmp_path / "ev" / "logon_x.csv", "when,who,door\n2010-01-02 06:49:00,u,D\n")
    ev = read(f, test_key, profile=["cert-logon", other])
    assert ev.events["source_format"].tolist() == ["profile:o"]


def test_roles_table_keeps_the_csv_format(tmp_path, test_key):
    # [roles] once overwrote the profile's format with the last role's account kind
    # ("vendor"): the file was then never recognised by its header, and a quarantined
    # record's IPP field was not redacted by position
    prof = write(
        tmp_path / "r.toml",
        CONST.replace('name = "door_badge"', 'name = "r"') + '[roles]\nPRESTA = "vendor"\n',
    )
    assert load_profile(prof).kind == "csv"
    f = write(tmp_path / "ev" / "badge.csv", "when,who,door\n2010-01-02 06:49:00,u,D\n")
    ev = read(f, test_key, profile=[prof])
    # recognised by its header line (no file_pattern in the profile): one event
    assert ev.events["source_format"].tolist() == ["profile:r"]
    assert ev.report.unrecognised == []


def test_builtin_files_still_sniffed_next_to_profiles(tmp_path, test_key):
    # a legacy LIS export next to a profile's file: read by its built-in reader
    leg = (
        "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
        "NB_ENREG;DETAIL\r\n05/03/2018;10:00:00;L02;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;"
        "CONSULTATION;OK;;D1;;\r\n"
    )
    write(tmp_path / "ev" / "AUDIT_L02_20180305.csv", leg, "cp1252")
    write(tmp_path / "ev" / "logon.csv", CERT_HEADER + "{X},01/02/2010 06:49:00,U,PC,Logon\n")
    ev = read(tmp_path / "ev", test_key, profile="cert-logon")
    assert sorted(ev.events["source_format"]) == ["lis_legacy", "profile:cert-logon"]


def test_two_profiles_with_one_name_refused(tmp_path):
    a = write(tmp_path / "a.toml", CONST)
    b = write(tmp_path / "b.toml", CONST.replace('host = "door"\n', ""))
    with pytest.raises(ProfileError, match="both named 'door_badge'"):
        load_profiles([a, b])


# --------------------------------------------------------------------------- case file


def test_case_file_profile_paths_are_relative_to_the_case_file(tmp_path, test_key, monkeypatch):
    case = tmp_path / "case"
    write(case / "profiles" / "vpn.toml", HEADERLESS)
    write(
        case / "case.toml",
        '[ingest]\nprofile = ["profiles/vpn.toml", "cert-logon"]\n',
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working folder holds no profiles/
    opts = ingest_options(load_case(case / "case.toml"))
    # the path is resolved from the case file's folder; a built-in/example name is kept
    assert list(opts["profile"]) == [str((case / "profiles" / "vpn.toml").resolve()), "cert-logon"]
    f = write(tmp_path / "ev" / "vpn_20100102.log", f"{T0}000;abc0123;198.51.100.20\n")
    assert read(f, test_key, **opts).events["source_format"].tolist() == ["profile:vpn"]


def test_case_file_single_profile_path(tmp_path, monkeypatch):
    write(tmp_path / "c" / "p.toml", HEADERLESS)
    write(tmp_path / "c" / "case.toml", '[ingest]\nprofile = "p.toml"\n')
    monkeypatch.chdir(tmp_path)
    assert ingest_options(load_case(tmp_path / "c" / "case.toml"))["profile"] == str(
        (tmp_path / "c" / "p.toml").resolve()
    )


# --------------------------------------------------------------------------- regex profiles


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda t: t.replace("pattern = '^", "pattern = '"), "pattern"),  # not anchored
        (lambda t: t.replace("(?P<u>\\S+)$", "(\\S+)$"), "pattern"),  # RE2: unnamed group
        (lambda t: t.replace('format = "regex"', 'format = "csv"'), "pattern"),
    ],
)
def test_regex_profile_errors(tmp_path, edit, key):
    text = REGEX_PROFILE
    load_profile(write(tmp_path / "ok.toml", text))  # the unedited profile is valid
    with pytest.raises(ProfileError) as exc:
        load_profile(write(tmp_path / "p.toml", edit(text)))
    assert repr(key) in str(exc.value)


def test_session_rule_column(tmp_path, test_key):
    # a user profile's rows carry its rule; a built-in dialect's rows none (same rows
    # whether it is sniffed or named)
    prof = write(tmp_path / "badge.toml", 'session_rule = "logon_pairs"\n' + CONST)
    f = write(tmp_path / "ev" / "badge.csv", "when,who,door\n2010-01-02 06:49:00,abc0123,D-01\n")
    e = read(f, test_key, profile=prof).events
    assert e["session_rule"].tolist() == ["logon_pairs"]
    leg = (
        "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;"
        "NB_ENREG;DETAIL\r\n05/03/2018;10:00:00;L02;S1;u1;TECHNICIEN;PC1;10.0.0.1;RESULTATS;"
        "CONSULTATION;OK;;D1;;\r\n"
    )
    g = write(tmp_path / "lis" / "AUDIT_L02_20180305.csv", leg, "cp1252")
    assert read(g, test_key, profile="legacy").events["session_rule"].isna().all()
    assert read(g, test_key).events["session_rule"].isna().all()


def test_top_level_key_after_a_table_is_refused(tmp_path):
    # TOML puts a key written after [timestamp] into that table: refused, never ignored
    with pytest.raises(ProfileError, match="'timestamp.session_rule'"):
        load_profile(write(tmp_path / "p.toml", CONST + 'session_rule = "logon_pairs"\n'))
