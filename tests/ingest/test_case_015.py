"""Case 015-tzdb-version: slim zoneinfo files, and the tz database version in the manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zoneinfo
from pathlib import Path

import labforensics

CASE = "015-tzdb-version"

_PART_A = """
import json, sys
from labforensics.ingest import read_evidence
from labforensics.transfers import read_transfers
ev = read_evidence("evidence", case_key="00" * 16)
tr = read_transfers("xferlog")
fmt = "%Y-%m-%dT%H:%M:%SZ"
print(json.dumps({
    "lis": sorted(t.strftime(fmt) for t in ev.events["ts"]),
    "xfer": sorted(t.strftime(fmt) for t in tr.transfers["ts"]),
    "quality": sorted(set(ev.events["ts_quality"].astype(str))),
    "tzpath": list(__import__("zoneinfo").TZPATH),
}))
"""


def test_case_015_part_a_slim_zoneinfo(case_dir):
    d = case_dir(CASE)
    want = json.loads((d / "expected.json").read_text(encoding="utf-8"))["part_a"]
    src = Path(labforensics.__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONTZPATH"] = str(d / "tzslim")  # a fresh interpreter: zoneinfo's cache cannot leak
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    run = subprocess.run(
        [sys.executable, "-c", _PART_A],
        cwd=d,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["tzpath"] == [str(d / "tzslim")]  # the slim files were the ones read
    # the POSIX TZ footer gives CET in December and CEST in July, 2020 and 2040 alike
    assert got["lis"] == want["lis_ts_sorted"]
    assert got["xfer"] == want["xferlog_ts_sorted"]
    assert got["quality"] == ["exact"]


def _tz_version_as_zoneinfo_reads_it(zone: str) -> str:
    """The version of the tz database zoneinfo reads ``zone`` from, found independently."""
    for folder in zoneinfo.TZPATH:
        if (Path(folder) / zone).is_file():
            with open(Path(folder) / "tzdata.zi", encoding="utf-8") as fh:
                first = fh.readline()
            assert first.startswith("# version ")
            return first.split()[2]
    import tzdata  # no system file: zoneinfo falls back to the tzdata package

    return tzdata.IANA_VERSION


def test_case_015_part_b_manifest_records_tz_version(case_dir, tmp_path):
    from labforensics import investigate

    d = case_dir(CASE)
    out = tmp_path / "out"
    investigate(None, out, case=d / "case.toml", progress=False)
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    tzdb = man["tz_database"]
    paris = tzdb["zoneinfo"]["Europe/Paris"]
    # read from the same source as the conversion, at test time: never a literal
    assert paris["version"] == _tz_version_as_zoneinfo_reads_it("Europe/Paris")
    assert paris["source"] in ("system", "tzdata package")
    # pandas (report, features) builds zoneinfo zones: the same database
    assert tzdb["pandas"]["Europe/Paris"]["library"] == "zoneinfo"
    # every dependency that touched the data has its version
    for name in ("numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "pyod", "tzdata"):
        assert name in man["versions"]
    assert man["versions"]["pandas"] != "not installed"


def test_case_015_ingest_command_manifest_records_tz_version(case_dir, tmp_path):
    from labforensics.cli import main

    d = case_dir(CASE)
    out = tmp_path / "out"
    rc = main(["ingest", str(d / "evidence"), "--out", str(out), "--case-key", str(d / "case.key")])
    assert rc == 0
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # `labforensics ingest` builds its manifest with run_manifest too: the same record
    paris = man["tz_database"]["zoneinfo"]["Europe/Paris"]
    assert paris["version"] == _tz_version_as_zoneinfo_reads_it("Europe/Paris")


def test_zoneinfo_source_reads_the_version_of_the_folder_the_zone_comes_from(case_dir, tmp_path):
    import shutil

    from labforensics.custody import zoneinfo_source

    slim = case_dir(CASE) / "tzslim"
    tagged = tmp_path / "tz"
    (tagged / "Europe").mkdir(parents=True)
    shutil.copyfile(slim / "Europe" / "Paris", tagged / "Europe" / "Paris")
    (tagged / "tzdata.zi").write_text("# version 2099z\n# ddeps\n", encoding="utf-8")
    try:
        # the first folder of TZPATH holding the zone wins, as in zoneinfo's own search
        zoneinfo.reset_tzpath(to=[str(tagged), str(slim)])
        got = zoneinfo_source("Europe/Paris")
        assert (got["source"], got["version"]) == ("system", "2099z")
        assert got["path"] == (tagged / "Europe" / "Paris").as_posix()
        assert got["version_from"] == (tagged / "tzdata.zi").as_posix()
        # the slim folder says no version: recorded as unknown, never guessed
        zoneinfo.reset_tzpath(to=[str(slim)])
        got = zoneinfo_source("Europe/Paris")
        assert got["version"] is None and "version unknown" in got["note"]
        assert zoneinfo_source("Mars/Olympus_Mons")["source"] == "not found"
    finally:
        zoneinfo.reset_tzpath()
