"""The per-lab engine against the whole-case stages, and the Dask engine against the local one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labforensics import build_features, read_evidence, sessionize
from labforensics.authorisation import assess_exports
from labforensics.case import CaseContext
from labforensics.engine import LabSettings, lab_stage, split_by_lab
from labforensics.engine.lab import (
    apply_peer_summaries,
    concat_features,
    lab_family,
    merge_family,
    merge_summaries,
)
from labforensics.errors import ParameterError
from labforensics.features import FeatureParams
from labforensics.pipeline import investigate
from labforensics.privacy import CaseKey
from labforensics.sessions import SessionParams
from labforensics.store import ingest_to_store

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "vendor-migration"


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    key_file = tmp_path_factory.mktemp("key") / "case.key"
    CaseKey(bytes(range(32))).write(key_file)
    return dataclasses.replace(CaseContext.from_file(FIXTURE / "case.toml"), key_file=key_file)


def test_features_lab_by_lab_equal_the_whole_case(case):
    # two labs; the peer-role baselines come from per-lab summaries in both computations,
    # so every feature value must be the same bits as the whole-case build_features
    ev = read_evidence([str(p) for p in case.evidence], case_key=CaseKey(bytes(range(32))),
                       case=case, progress=False)  # fmt: skip
    ss = sessionize(ev.events)
    ex = assess_exports(ss.events, ss.sessions, case=case)
    whole = build_features(ss.events, ss.sessions, FeatureParams(), case=case, exports=ex)
    settings = LabSettings(case, SessionParams(), FeatureParams())
    parts = [lab_stage(p(), p.lab, settings) for p in split_by_lab(ev.events)]
    assert [p.lab for p in parts] == ["L01", "L02"]
    summ = merge_summaries([p.summaries for p in parts])
    family = merge_family([lab_family(p.features) for p in parts])  # Bonferroni family
    per_lab = concat_features(
        [apply_peer_summaries(p.features, summ, FeatureParams(), family) for p in parts],
        FeatureParams(), case.tz,
    )  # fmt: skip
    n_peer = 0
    for unit, t in whole.tables().items():
        t2 = per_lab.tables()[unit]
        k = list(t.key_columns)
        a = pd.concat([t.keys, t.values], axis=1).sort_values(k).reset_index(drop=True)
        b = pd.concat([t2.keys, t2.values], axis=1).sort_values(k).reset_index(drop=True)
        assert list(a.columns) == list(b.columns)
        for c in t.values.columns:
            x, y = a[c].to_numpy("float64"), b[c].to_numpy("float64")
            assert np.array_equal(x, y, equal_nan=True), (unit, c)
            if c.endswith("_z_peer_role"):
                n_peer += int(np.isfinite(x).sum())
    assert n_peer > 0  # the cross-lab statistic was exercised


def test_unknown_engine_refused(case, tmp_path):
    with pytest.raises(ParameterError, match="engine must be one of local, dask"):
        investigate(None, tmp_path / "out", case=case, engine="spark", progress=False)


@pytest.mark.slow
def test_dask_engine_gives_the_local_findings_byte_for_byte(case, tmp_path):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from labforensics.engine.dask import DaskEngine

    store = tmp_path / "store"
    ingest_to_store([FIXTURE / "evidence"], store, case=case)
    local = investigate(None, tmp_path / "local", store=store, case=case, progress=False)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0")  # fmt: skip
    client = Client(cluster)
    try:
        eng = DaskEngine(client=client)
        assert len(client.scheduler_info()["workers"]) == 2
        dask = investigate(None, tmp_path / "dask", store=store, case=case, progress=False,
                           engine=eng)  # fmt: skip
    finally:
        client.close()
        cluster.close()
    for name in ("findings.json", "events.parquet", "sessions.parquet", "scores.parquet",
                 "campaigns.parquet", "exports.parquet"):  # fmt: skip
        assert (local.out / name).read_bytes() == (dask.out / name).read_bytes(), name
    assert local.findings["conclusion"]["leading"] == "vendor"  # the fixture's truth leads


def test_cli_engine_options():
    from labforensics.cli import build_parser

    ns = build_parser().parse_args(
        ["investigate", "ev", "--out", "o", "--engine", "dask", "--scheduler", "tcp://h:8786",
         "--memory-budget", "2000000000"]
    )  # fmt: skip
    # the three options reach investigate's keywords as given
    assert (ns.engine, ns.scheduler, ns.memory_budget) == ("dask", "tcp://h:8786", 2_000_000_000)
    assert build_parser().parse_args(["investigate", "ev", "--out", "o"]).engine == "local"
    with pytest.raises(SystemExit):  # an engine the package does not have
        build_parser().parse_args(["investigate", "ev", "--out", "o", "--engine", "spark"])
