"""case.toml values checked against the parameter dataclasses' annotations."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.attribution import AttributionParams
from labforensics.case import load_case, params_from_case
from labforensics.detect import DetectParams, SourceParams
from labforensics.detect.campaigns import CampaignParams
from labforensics.errors import ParameterError
from labforensics.features import FeatureParams
from labforensics.sessions import SessionParams


def _case(tmp_path, text: str):
    p = tmp_path / "case.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[case]\nseed = true\n", ["[case]", "seed = true", "int"]),
        ("[case]\nseed = 1.9\n", ["[case]", "seed = 1.9", "int"]),
        ('[case]\nseed = "3"\n', ['seed = "3"', "int"]),
        ("[case]\ntz = 1\n", ["tz = 1", "str"]),
        ("[evidence]\nleak = 7\n", ["[evidence]", "leak = 7", "str"]),
        ('[evidence]\ntransfers = ["a"]\n', ["[evidence]", "transfers", "str"]),
    ],
)
def test_load_case_refuses_wrong_types(tmp_path, text, words):
    p = _case(tmp_path, text)
    with pytest.raises(ParameterError) as ei:
        load_case(p)
    msg = str(ei.value)
    # the message names the file, the section, the key, the expected type and the value
    assert str(p) in msg
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize(
    ("section", "cls", "line", "words"),
    [
        ("detection", DetectParams, 'flag_k = "big"', ['flag_k = "big"', "float"]),
        ("detection", DetectParams, "n_neighbors = 2.5", ["n_neighbors = 2.5", "int"]),
        ("detection", DetectParams, "n_neighbors = true", ["n_neighbors = true", "int"]),
        ("detection", DetectParams, 'detectors = "ECOD"', ["detectors", "list of str"]),
        ("detection", DetectParams, "detectors = [1, 2]", ["detectors", "list of str"]),
        ("attribution", AttributionParams, 'stability = "yes"', ["stability", "bool"]),
        ("sources", SourceParams, "window = 60", ["window = 60", "str"]),
        ("features", FeatureParams, "night = [21]", ["night", "2 items"]),
        ("features", FeatureParams, "min_history = 1", ["FeatureParams.min_history", ">= 2"]),
    ],
)
def test_params_from_case_refuses_wrong_types(tmp_path, section, cls, line, words):
    p = _case(tmp_path, f"[{section}]\n{line}\n")
    with pytest.raises(ParameterError) as ei:
        params_from_case(cls, load_case(p), section)
    msg = str(ei.value)
    # file, section, key and expected type are all named
    assert str(p) in msg and f"[{section}]" in msg
    for w in words:
        assert w in msg, msg


def test_bare_number_duration_refused(tmp_path):
    # 30 would silently be 30 nanoseconds: the message tells to write "30min"
    p = _case(tmp_path, "[sessions]\nidle_timeout = 30\n")
    with pytest.raises(ParameterError, match=r'idle_timeout = 30 .*"30min"'):
        params_from_case(SessionParams, load_case(p), "sessions")


def test_negative_duration_refused(tmp_path):
    p = _case(tmp_path, '[sessions]\nmax_duration = "-2h"\n')
    with pytest.raises(ParameterError, match="negative duration"):
        params_from_case(SessionParams, load_case(p), "sessions")


def test_unparseable_duration_refused(tmp_path):
    p = _case(tmp_path, '[features]\nwarmup = "two weeks"\n')
    with pytest.raises(ParameterError, match="warmup = .two weeks. is not a duration"):
        params_from_case(FeatureParams, load_case(p), "features")


def test_good_values_converted(tmp_path):
    p = _case(
        tmp_path,
        "[case]\nseed = 4\n"
        '[sessions]\nidle_timeout = "45min"\nby = ["lab", "account"]\n'
        "[detection]\nflag_k = 5\n"
        '[features]\nnight = [22, 5]\n[networks.by_lab]\nL01 = ["10.1.0.0/16"]\n',
    )
    c = load_case(p)
    sp = params_from_case(SessionParams, c, "sessions")
    dp = params_from_case(DetectParams, c, "detection")
    fp = params_from_case(FeatureParams, c, "features")
    # durations parsed, lists to tuples, an int accepted for a float field; the seed and
    # the per-lab blocks are case facts, on the CaseContext and not in the knobs
    assert sp.idle_timeout == pd.Timedelta(minutes=45) and sp.by == ("lab", "account")
    assert dp.flag_k == 5.0 and isinstance(dp.flag_k, float) and not hasattr(dp, "seed")
    assert fp.night == (22, 5) and not hasattr(fp, "lab_networks_by_lab")
    assert c.seed == 4 and c.networks.classify("10.1.2.3", "L01") == "lab"


def test_investigate_refuses_bad_case_before_writing(tmp_path):
    from labforensics.pipeline import investigate

    ev = tmp_path / "ev.csv"
    ev.write_text("x\n")
    p = _case(tmp_path, "[sessions]\nidle_timeout = 30\n")
    out = tmp_path / "out"
    with pytest.raises(ParameterError, match="30min"):
        investigate(ev, out, case=p, progress=False)
    # refused before the output folder was created
    assert not out.exists()


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("year = 2019.0", ["year = 2019.0", "int"]),
        ('lab = ["L01"]', ["lab", "str"]),
        ('profil = "x"', ["unknown key", "profil"]),
    ],
)
def test_ingest_section_checked(tmp_path, line, words):
    from labforensics.ingest.options import ingest_options

    p = _case(tmp_path, f"[ingest]\n{line}\n")
    with pytest.raises(ParameterError) as ei:
        ingest_options(load_case(p))
    # a typo or wrong type in [ingest] is refused, not silently dropped
    assert "[ingest]" in str(ei.value) and all(w in str(ei.value) for w in words)


def test_ingest_section_good(tmp_path):
    from labforensics.ingest.options import ingest_options

    p = _case(tmp_path, '[ingest]\nyear = 2019\nlab = { "a.log" = "L01" }\n')
    # an int year and a per-file lab table pass through unchanged
    assert ingest_options(load_case(p)) == {"year": 2019, "lab": {"a.log": "L01"}}


def test_campaigns_section_read(tmp_path):
    # [campaigns] is a stage section: its knobs reach CampaignParams, a bad one is refused
    p = _case(tmp_path, '[campaigns]\ngap = "3D"\n')
    got = params_from_case(CampaignParams, load_case(p), "campaigns")
    assert got.gap == CampaignParams(gap="3D").gap != CampaignParams().gap
    p = _case(tmp_path, "[campaigns]\ngap = 3\n")
    with pytest.raises(ParameterError, match=r"\[campaigns\]"):
        params_from_case(CampaignParams, load_case(p), "campaigns")
