"""The case file's [authorisations] section and the CLI option."""

from __future__ import annotations

import pytest

from labforensics.case import load_case
from labforensics.errors import ParameterError


def test_register_path_relative_to_case_file(tmp_path):
    (tmp_path / "sub").mkdir()
    p = tmp_path / "sub" / "case.toml"
    p.write_text('[authorisations]\nregister = "../reg/register.csv"\n', encoding="utf-8")
    case = load_case(p)
    # resolved against the case file's folder, absolute
    assert case.authorisations == (tmp_path / "reg" / "register.csv").resolve()
    assert case.to_dict()["authorisations"] == "register.csv"  # file name only


def test_no_section_no_register(tmp_path):
    p = tmp_path / "case.toml"
    p.write_text('[case]\nname = "x"\n', encoding="utf-8")
    case = load_case(p)
    assert case.authorisations is None and "authorisations" not in case.to_dict()


def test_unknown_key_refused(tmp_path):
    p = tmp_path / "case.toml"
    p.write_text('[authorisations]\nregistre = "r.csv"\n', encoding="utf-8")
    with pytest.raises(
        ParameterError, match=r"\[authorisations\] has unknown key\(s\) \['registre'\]"
    ):
        load_case(p)


def test_wrong_type_refused(tmp_path):
    p = tmp_path / "case.toml"
    p.write_text("[authorisations]\nregister = 3\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="register"):
        load_case(p)


def test_cli_option_reaches_investigate(monkeypatch, tmp_path):
    # --authorisations PATH is passed to investigate(authorisations=PATH)
    from labforensics import cli

    seen = {}

    class _Res:
        pdf_note = ""

        def summary(self):
            return "ok"

    def fake(*args, **kw):
        seen.update(kw)
        return _Res()

    monkeypatch.setattr(cli, "investigate", fake)
    reg = tmp_path / "reg.csv"
    assert cli.main(["investigate", str(tmp_path), "--out", str(tmp_path / "o"),
                     "--authorisations", str(reg)]) == 0  # fmt: skip
    assert seen["authorisations"] == reg


def test_bad_register_refused_before_anything_is_written(tmp_path):
    # the register is checked with the other parameters: no output folder is created
    from labforensics.authorisation import RegisterError
    from labforensics.pipeline import investigate

    reg = tmp_path / "reg.csv"
    reg.write_text(
        "ticket;lab;account;kind;start;end;scope_patients_since;scope_max_records;"
        "destination;purpose\nT;L01;a;holiday;2020-01-01;;;;;\n",
        encoding="utf-8",
    )
    (tmp_path / "ev").mkdir()
    out = tmp_path / "out"
    with pytest.raises(RegisterError, match=r"(?s)reg.csv: 1 problem\(s\) in 1 line\(s\):\n"
                       r"  reg.csv:2: kind: 'holiday'"):  # fmt: skip
        investigate(tmp_path / "ev", out, authorisations=reg, progress=False)
    assert not out.exists()
