"""``[case] transfers_tz``: the FTP server's log zone when it is not the case's (QA
session 20: a log written in UTC, read in Europe/Paris, put every transfer 1-2 h off,
silently, and there was no way to say so)."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.case import CaseContext, load_case
from labforensics.errors import ParameterError
from labforensics.transfers import read_transfers

LINE = ("Wed Mar 18 03:40:00 2020 12 198.51.100.7 122880 /out/L01_export.csv b _ o r "
        "vendor1 ftp 0 * c\n")  # fmt: skip


def test_the_case_file_gives_the_servers_zone(tmp_path):
    p = tmp_path / "case.toml"
    p.write_text('[case]\ntz = "Europe/Paris"\ntransfers_tz = "UTC"\n', encoding="utf-8")
    case = load_case(p)
    assert (case.tz, case.transfers_tz, case.transfer_zone) == ("Europe/Paris", "UTC", "UTC")
    assert case.to_dict()["transfers_tz"] == "UTC"
    assert "transfers_tz" not in CaseContext().to_dict() and CaseContext().transfer_zone == (
        CaseContext().tz)  # fmt: skip
    p.write_text('[case]\ntransfers_tz = "Mars/Olympus"\n', encoding="utf-8")
    # the key given is named, not tz (QA session 21: "CaseContext.tz = 'Mars/Olympus'")
    with pytest.raises(
        ParameterError,
        match=r"CaseContext\.transfers_tz = 'Mars/Olympus' "
        r"\(\[case\] transfers_tz in a case file\)",
    ):
        load_case(p)
    for bad in ("", "+02:00"):
        with pytest.raises(ParameterError, match="transfers_tz"):
            CaseContext(transfers_tz=bad)


def test_the_log_is_read_in_the_servers_zone(tmp_path):
    log = tmp_path / "xferlog"
    log.write_text(LINE, encoding="utf-8")
    paris = CaseContext(tz="Europe/Paris")
    utc = CaseContext(tz="Europe/Paris", transfers_tz="UTC")
    # 03:40 on 18 March 2020: 02:40 UTC read in Paris (CET, +1), 03:40 UTC read in UTC
    assert read_transfers(log, case=paris).transfers["ts"].iloc[0] == pd.Timestamp(
        "2020-03-18 02:40", tz="UTC")  # fmt: skip
    assert read_transfers(log, case=utc).transfers["ts"].iloc[0] == pd.Timestamp(
        "2020-03-18 03:40", tz="UTC")  # fmt: skip
    assert read_transfers(log, tz="UTC", case=utc).transfers["ts"].iloc[0].hour == 3
    with pytest.raises(ParameterError, match="contradicts case.transfers_tz='UTC'"):
        read_transfers(log, tz="Europe/Paris", case=utc)
