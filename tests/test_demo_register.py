"""The demo's authorisation register (issue 14): the regulator's finding, reproduced.

A two-lab miniature of ``make demo-full`` (same code path: ``run_demo``), logged from
2015 so that the migration orders' scope (patients seen in the two years before
the migration) can be judged from the logs: each migration extraction takes every
registered patient, so it is ``beyond`` its order by exactly ``records -
eligible_max`` patients; the hotline's exports were ordered by nobody
(``unregistered``); the declared routine exports are ``authorised``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.authorisation import read_authorisations
from labforensics.case import CaseContext
from labforensics.demo import run_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("mini-demo")
    params = {"labs": 2, "start": "2015-01-01", "end": "2018-12-31", "scale": 0.15, "seed": 7}
    res, _ = run_demo(out, params=params, progress=False, full=True)
    return out, res, pd.read_parquet(out / "report" / "exports.parquet")


def test_register_written_and_read(demo):
    out, _, _ = demo
    case = CaseContext.from_file(out / "case.toml")
    assert case.authorisations.resolve() == (out / "authorisations.csv").resolve()
    reg = read_authorisations(out / "authorisations.csv", case)
    # per lab: the migration order, the backup, billing and statistics
    assert sorted(reg["ticket"].str.split("-").str[0].unique()) == ["FACT", "MIG", "SAUV", "STAT"]
    assert set(reg.loc[reg["kind"] == "migration", "account"]) == {"migration.editeur"}


def test_migration_extractions_beyond_their_scope(demo):
    _, _, ex = demo
    mig = ex[ex["account"] == "migration.editeur"]
    assert len(mig) == 2 and set(mig["status"]) == {"beyond"}
    for _, r in mig.iterrows():
        # the logs cover the scope period: both bounds agree, and the count out of scope
        # is the records above them, named with the lab's order
        assert r["eligible_min"] == r["eligible_max"] < r["records"]
        (limit,) = list(r["limits_crossed"])
        assert f"ticket MIG-{r['lab']}" in limit
        assert f"at least {int(r['records'] - r['eligible_max']):,} out of scope" in limit


def test_other_statuses(demo):
    _, res, ex = demo
    st = ex.groupby("account")["status"].unique().map(set)
    assert st["hotline.editeur"] == {"unregistered"}  # no support ticket ordered an export
    assert st["batch.nuit"] == {"authorised"}
    assert "unknown" not in set(ex["status"])  # a register was given
    counts = res.findings["exports"]
    assert counts["by_status"]["beyond"] == 2
