"""A lab above the memory budget in account batches: the same LabPart as the whole lab."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labforensics.authorisation import read_authorisations
from labforensics.case import CaseContext
from labforensics.detect import DetectParams
from labforensics.engine import LabSettings, lab_stage, split_by_lab
from labforensics.engine.batch_files import BatchFiles
from labforensics.engine.batches import account_batches, account_counts, lab_stage_batched
from labforensics.engine.partitions import FramePartition, store_evidence
from labforensics.engine.run import EVENT_BYTES, LabRun, MemoryBudgetWarning, run_labs
from labforensics.features import FeatureParams
from labforensics.ingest import read_evidence
from labforensics.schema import STRING
from labforensics.sessions import SessionParams
from labforensics.store import ingest_to_store
from labforensics.synth import generate

KEY = bytes(range(32))
HEADER = (
    "ticket;lab;account;kind;start;end;scope_patients_since;scope_max_records;destination;purpose"
)


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    out = tmp_path_factory.mktemp("batches") / "case"
    # two labs, three months: night work (on-call biologists, the nightly job), exports
    # and extractions, failed logins (incident c), patient reads to explain
    generate(out, labs=2, start="2019-01-01", end="2019-03-31", seed=3, scale=1.0,
             transfers=False)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def events(gen):
    ev = read_evidence(gen / "evidence", case_key=KEY, progress=False).events
    # events without an account (no session; their patients and instants still count
    # at the lab), some naming a patient
    rng = np.random.default_rng(0)
    ev = ev.copy()
    hit = rng.choice(len(ev), size=40, replace=False)
    ev.loc[hit, "account"] = pd.NA
    ev["account"] = ev["account"].astype(STRING)
    return ev


@pytest.fixture(scope="module")
def lab1(events):
    return split_by_lab(events)[0]


@pytest.fixture(scope="module")
def register(tmp_path_factory, events, lab1):
    case = CaseContext()
    lab = lab1.lab
    p = tmp_path_factory.mktemp("reg") / "register.csv"
    rows = [
        f"T1;{lab};*;other;2019-01-01;;2019-01-20;300;;every account, a scope",
        f"T2;{lab};hotline.*;support;2019-02-01;2019-02-28;;50;;hotline, a sum limit",
        f"T3;{lab};migration.*;migration;2019-01-01;;2019-01-01;;*.csv;migration",
    ]
    p.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    reg = read_authorisations(p, case)
    pats = pd.unique(events.loc[events["lab"] == lab, "patient"].dropna().astype(object))
    pats = pats[: len(pats) * 2 // 3]
    created = pd.Series(pd.NaT, index=range(len(pats)), dtype="datetime64[ns, UTC]")
    created[::2] = pd.Timestamp("2018-06-01", tz="UTC")
    index = pd.DataFrame({"lab": lab, "record_id": pats, "created": created})
    return reg, index


def _settings(register=None) -> LabSettings:
    reg, index = register if register is not None else (None, None)
    return LabSettings(CaseContext(), SessionParams(), FeatureParams(), register=reg,
                       patient_index=index)  # fmt: skip


def _batches(part, how) -> list:
    counts = account_counts(part)
    if how == "one account each":
        return [([a], False) for a in counts.index if not pd.isna(a)] + [([], True)]
    k = int(how)
    named = counts[counts.index.notna()]
    return account_batches(counts, int(np.ceil(named.sum() / k)) + int(named.max()))


def assert_parts_equal(a, b) -> None:
    """Every table of two LabParts equal, values, dtypes, columns and row order."""

    def eq(x, y):
        pd.testing.assert_frame_equal(x, y, check_exact=True)

    eq(a.sessions.sessions, b.sessions.sessions)
    eq(a.sessions.events, b.sessions.events)
    eq(a.exports, b.exports)
    for u, t in a.features.tables().items():
        t2 = b.features.tables()[u]
        eq(t.keys, t2.keys)
        eq(t.values, t2.values)
        assert t.key_columns == t2.key_columns
    assert a.features.notes.keys() == b.features.notes.keys()
    for k in a.features.notes:
        eq(a.features.notes[k], b.features.notes[k])
    assert a.summaries.keys() == b.summaries.keys()
    for k in a.summaries:
        eq(a.summaries[k], b.summaries[k])
    assert (a.lab, a.n_events) == (b.lab, b.n_events)


@pytest.fixture(scope="module")
def whole(lab1, register):
    return {r: lab_stage(lab1(), lab1.lab, _settings(register if r else None))
            for r in (False, True)}  # fmt: skip


def test_the_case_exercises_every_lab_wide_feature(whole):
    p = whole[True]
    v = p.features.session.values
    assert (v["night"] > 0).any() and (v["night_colleague_nights"] > 0).any()
    assert (v["records_out"] > 0).any() and (v["failed_logins_before"] > 0).any()
    assert (v["accessed_patients"] > 0).any() and (v["unexplained_patients"] > 0).any()
    assert set(p.exports["status"].astype(str)) - {"unknown"}  # the register was read
    assert p.exports["eligible_max"].notna().any()  # the scope bounds from the index
    assert p.sessions.events["account"].isna().sum() > 0
    assert len(p.features.notes["night_roster"])


@pytest.mark.parametrize("with_register", [False, True])
@pytest.mark.parametrize("how", ["2", "3", "one account each"])
def test_batched_equals_whole(lab1, register, whole, how, with_register):
    part = FramePartition(lab1.lab, lab1.events.copy())
    batches = _batches(part, how)
    assert len(batches) >= (3 if how != "one account each" else 10)
    got = lab_stage_batched(part, lab1.lab, _settings(register if with_register else None),
                            batches=batches)  # fmt: skip
    assert got.n_batches == len(batches)
    assert_parts_equal(whole[with_register], got)


def test_batches_wait_in_a_private_folder_removed_at_the_end(lab1, whole, tmp_path,
                                                           monkeypatch):  # fmt: skip
    seen = []
    put = BatchFiles.put_frame

    def spy(self, name, df):
        put(self, name, df)
        seen.append((self.path, sorted(p.name for p in tmp_path.iterdir()),
                     sorted(str(p) for p in self.path.rglob("*"))))  # fmt: skip

    monkeypatch.setattr(BatchFiles, "put_frame", spy)
    part = FramePartition(lab1.lab, lab1.events.copy())
    got = lab_stage_batched(part, lab1.lab, _settings(), batches=_batches(part, "3"),
                            tmp_dir=tmp_path)  # fmt: skip
    assert_parts_equal(whole[False], got)
    (root,) = {r for r, _, _ in seen}
    assert root.parent == tmp_path and root.name.startswith("labforensics-batches-")
    assert all(top == [root.name] for _, top, _ in seen)  # nothing beside the folder
    assert any(f.endswith(".pkl") for _, _, fs in seen for f in fs)
    assert not root.exists() and list(tmp_path.iterdir()) == []  # removed at the end


def test_the_batch_folder_is_removed_on_an_error(lab1, tmp_path, monkeypatch):
    import labforensics.engine.batches as batches

    def fail(*args, **kwargs):
        raise RuntimeError("stop")

    monkeypatch.setattr(batches, "combine_batches", fail)
    part = FramePartition(lab1.lab, lab1.events.copy())
    with pytest.raises(RuntimeError, match="stop"):
        lab_stage_batched(part, lab1.lab, _settings(), batches=_batches(part, "2"),
                          tmp_dir=tmp_path)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_batches_are_sorted_contiguous_and_within_the_budget():
    counts = pd.Series({"a": 5, "b": 1, "c": 7, "d": 2, "e": 30, "f": 3})
    counts = pd.concat([counts, pd.Series([4], index=pd.Index([None], dtype=object))])
    got = account_batches(counts, 10)
    assert got[-1] == ([], True)  # the events without an account: their own batch, last
    flat = [a for accounts, _ in got[:-1] for a in accounts]
    assert flat == ["a", "b", "c", "d", "e", "f"]
    for accounts, _ in got[:-1]:
        assert sum(counts[a] for a in accounts) <= 10 or accounts == ["e"]  # e alone is 30
    assert account_batches(counts, 10) == got  # deterministic
    assert account_batches(counts, 1_000)[0] == (["a", "b", "c", "d", "e", "f"], False)


def test_store_batches_read_only_their_accounts_and_equal_the_whole(gen, tmp_path):
    store = tmp_path / "store"
    ingest_to_store([gen / "evidence"], store, case_key=KEY)
    _, parts = store_evidence(store)
    p = parts[0]
    keys = p.sorted_keys()
    one = sorted(account_counts(p).index)[0]
    assert set(p.read_accounts([one], False, keys)["account"]) == {one}  # its rows only
    # one pass over the store, each batch's rows to its file: what a filtered read gives
    groups = [*_batches(p, "3"), (["nobody"], False), ([], True)]
    split = p.split_accounts(groups, tmp_path)
    assert split[-2] is None and split[-1] is None  # no row: no file
    for (accounts, missing), path in zip(groups, split, strict=True):
        pd.testing.assert_frame_equal(p.read_split(path, keys),
                                      p.read_accounts(accounts, missing, keys),
                                      check_exact=True)  # fmt: skip
    st = _settings()
    ref = lab_stage(p(), p.lab, st)
    got = lab_stage_batched(p, p.lab, st, batches=_batches(p, "3"))
    assert_parts_equal(ref, got)
    # events without an account: their own group, split as the filtered read gives them
    f = store / p.parts[0]
    t = pq.read_table(f)
    acc = t.column("account").to_pylist()
    acc[::7] = [None] * len(acc[::7])
    pq.write_table(t.set_column(t.schema.get_field_index("account"), "account",
                                pa.array(acc, t.schema.field("account").type)), f)  # fmt: skip
    groups = _batches(p, "2")
    assert groups[-1] == ([], True)  # the accounts counted again: their batch, last
    split = p.split_accounts(groups, tmp_path)
    assert split[-1] is not None
    for (accounts, missing), path in zip(groups, split, strict=True):
        want = p.read_accounts(accounts, missing, keys)
        pd.testing.assert_frame_equal(p.read_split(path, keys), want, check_exact=True)
    assert len(want) == len(acc[::7])


def test_run_labs_with_a_small_budget_equals_the_unbatched_run(events):
    st = _settings()
    det = DetectParams()
    plain = run_labs(split_by_lab(events), st, det)
    n = max(len(p) for p in split_by_lab(events))
    counts = max(int(account_counts(p).max()) for p in split_by_lab(events))
    budget = (counts + 1) * EVENT_BYTES  # every lab over it, no account alone
    assert n * EVENT_BYTES > budget
    with warnings.catch_warnings():
        warnings.simplefilter("error", MemoryBudgetWarning)  # no account alone above it
        res = run_labs(split_by_lab(events), st, det, memory_budget=budget)
    meta = res.scores.metadata["engine"]
    assert all(v > 1 for v in meta["batches"].values()), meta["batches"]
    for u, t in plain.scores.tables().items():
        pd.testing.assert_frame_equal(t, res.scores.tables()[u], check_exact=True)
    pd.testing.assert_frame_equal(plain.sessions, res.sessions, check_exact=True)
    pd.testing.assert_frame_equal(plain.exports, res.exports, check_exact=True)
    pd.testing.assert_frame_equal(plain.events.to_frame(), res.events.to_frame(),
                                  check_exact=True)  # fmt: skip


def test_warning_only_for_an_account_above_the_budget(events):
    parts = split_by_lab(events)
    big = max(int(account_counts(p).max()) for p in parts)
    run = LabRun(parts, settings=None, detection=None, memory_budget=(big + 1) * EVENT_BYTES)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MemoryBudgetWarning)
        run._check_budget([p.lab for p in parts])  # labs over it, cut: no warning
    assert run.over_budget and all(v > 1 for v in run.batches.values())
    run = LabRun(parts, settings=None, detection=None, memory_budget=(big - 1) * EVENT_BYTES)
    with pytest.warns(
        MemoryBudgetWarning, match=r"one account alone in .* account batches, its largest account"
    ):
        run._check_budget([p.lab for p in parts])


@pytest.mark.slow
def test_dask_engine_runs_the_batches_on_the_workers(gen, events, tmp_path):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from labforensics.engine.dask import DaskEngine

    store = tmp_path / "store"
    ingest_to_store([gen / "evidence"], store, case_key=KEY)
    st = _settings()
    det = DetectParams()
    plain = run_labs(store_evidence(store)[1], st, det)
    _, parts = store_evidence(store)
    budget = (max(int(account_counts(p).max()) for p in parts) + 1) * EVENT_BYTES
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0")  # fmt: skip
    client = Client(cluster)
    try:
        res = run_labs(parts, st, det, engine=DaskEngine(client=client), memory_budget=budget)
    finally:
        client.close()
        cluster.close()
    assert all(v > 1 for v in res.scores.metadata["engine"]["batches"].values())
    for u, t in plain.scores.tables().items():
        pd.testing.assert_frame_equal(t, res.scores.tables()[u], check_exact=True)
    pd.testing.assert_frame_equal(plain.sessions, res.sessions, check_exact=True)
    pd.testing.assert_frame_equal(plain.exports, res.exports, check_exact=True)
