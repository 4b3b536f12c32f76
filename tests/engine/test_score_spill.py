"""Scored rows in files lab by lab, ranked from small columns: the same bytes (issue 17).

:class:`~labforensics.engine.score_spill.ScoreSpill` against the in-memory path
(:func:`~labforensics.engine.model.scores_from_labs` then
:func:`~labforensics.score_files.set_aside`): the three Parquet files, the slim session
table and the metadata must be the same.
"""

from __future__ import annotations

import copy
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labforensics import outputs, pipeline, synth
from labforensics.case import CaseContext
from labforensics.detect import DetectParams, _ranking
from labforensics.engine import score_spill
from labforensics.engine.model import UNITS, UnitModel, scores_from_labs
from labforensics.engine.run import MemoryBudgetWarning
from labforensics.engine.score_spill import ScoreSpill, rank_order, value_kind
from labforensics.pipeline import investigate
from labforensics.privacy import CaseKey
from labforensics.result import LazyScores
from labforensics.score_files import SCORE_FILES, set_aside
from labforensics.scored_labs import ScoredLabs

STRING = "string"


def _out(unit: str, lab: str, n: int, seed: int, rules: list[str], *, reasons: str = "text",
         note: str | None = None, ids: list[str] | None = None) -> tuple[pd.DataFrame, tuple]:  # fmt: skip
    """A lab's scored rows shaped as score_lab's ``out`` (scores with many ties)."""
    rng = np.random.default_rng(seed)
    acct = pd.array([f"{lab}-a{i % 3}" for i in range(n)], dtype=STRING)
    if unit == "session":
        sid = ids if ids is not None else [f"{rng.integers(16**6):06x}{lab}{i}" for i in range(n)]
        out = pd.DataFrame({"session_id": pd.array(sid, dtype=STRING),
                            "lab": pd.array([lab] * n, dtype=STRING), "account": acct})  # fmt: skip
        kc: tuple = ("session_id",)
    else:
        period = "day" if unit == "account_day" else "month"
        out = pd.DataFrame({"lab": pd.array([lab] * n, dtype=STRING), "account": acct,
                            period: pd.array([f"2020-{i:03d}" for i in range(n)], dtype=STRING)})  # fmt: skip
        kc = ("lab", "account", period)
    out["start"] = pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 10**6, n), unit="s"
    )
    out["accessed_patients"] = np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 9, n))
    out["score"] = rng.choice([0.5, 1.0, 1.5, 2.0], n)  # ties within and across labs
    out["flagged"] = rng.random(n) < 0.15
    out["ensemble"] = rng.random(n)
    out["det_iforest"] = rng.random(n)
    out["det_hbos"] = np.where(rng.random(n) < 0.1, np.nan, rng.random(n))
    out["rules_score"] = 0.0
    for r in rules:
        out[f"rule_{r}"] = np.where(rng.random(n) < 0.3, 1.5, 0.0)
    out["note"] = pd.Series(
        [note if note is None else f"{note}{i}" for i in range(n)], dtype=object
    )  # text in some labs, None in others (object)
    cells = np.empty(n, dtype=object)
    for i in range(n):
        if reasons == "none" or rng.random() < 0.2:
            cells[i] = None  # not explained in the lab
        elif reasons == "empty":
            cells[i] = np.array([], dtype=object)
        else:
            cells[i] = np.array([f"reason {i}", "another"][: 1 + i % 2], dtype=object)
    out["reasons"] = cells
    return out, kc


def _lab(lab: str, n: dict[str, int], seed: int, rules: dict[str, list[str]], **kw) -> dict:
    res = {}
    for k, u in enumerate(UNITS):
        out, kc = _out(u, lab, n[u], seed + k, rules[u], **kw)
        res[u] = {"out": out, "key_columns": kc, "rule_columns": [f"rule_{r}" for r in rules[u]],
                  "rules_applied": sorted(rules[u]), "rules_inherited": [],
                  "rules_skipped": {f"skip_{lab}": "no column"}}  # fmt: skip
    return res


def _labs(dup_ids: bool = False) -> list[dict]:
    r1 = {"session": ["a", "b"], "account_day": ["d"], "account_month": ["m"]}
    r2 = {"session": ["c", "a"], "account_day": [], "account_month": ["m", "n"]}
    r3 = {"session": [], "account_day": ["d", "e"], "account_month": []}
    ids = [f"dup{i:02d}" for i in range(45)] if dup_ids else None
    return [
        _lab("L01", {"session": 40, "account_day": 25, "account_month": 6}, 1, r1, note="x",
             ids=ids[:40] if ids else None),
        _lab("L02", {"session": 30, "account_day": 20, "account_month": 0}, 2, r2,
             reasons="none", ids=ids[:30] if ids else None),  # no account-month rows
        _lab("L03", {"session": 35, "account_day": 0, "account_month": 5}, 3, r3,
             reasons="empty", ids=ids[5:40] if ids else None),  # no account-day rows
        _lab("L04", {"session": 0, "account_day": 12, "account_month": 4}, 4, r1, note="y"),
    ]  # fmt: skip


def _models() -> dict[str, UnitModel]:
    return {u: UnitModel(u, ["x"], ["x"], {"x": 0.0}, {"x": 1.0}, {}, names=["IForest"],
                         threshold=1.25, n_sample=7) for u in UNITS}  # fmt: skip


def _both(tmp_path, scored, params, case=None, whole_units=()):
    """(in-memory scores, files) and (spilled scores, files); ``whole_units`` are the units
    the spill must rank at once (labs of other dtypes), the others from its small columns."""
    case = case or CaseContext()
    models = _models()
    a, b = tmp_path / "memory", tmp_path / "spill"
    a.mkdir()
    b.mkdir()
    whole = scores_from_labs(copy.deepcopy(scored), models, params, case)
    files = set_aside(whole, a)
    spill = ScoreSpill(b)
    for lab in copy.deepcopy(scored):
        spill.add(lab)
    seen = []
    real = score_spill._write_whole
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(score_spill, "_write_whole", lambda e, u, *a: seen.append(u) or real(e, u, *a))
        got, got_files = spill.finish(models, params, case)
    assert seen == list(whole_units)
    return (whole, files), (got, got_files)


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _assert_same(tmp_path, mem, spl):
    (whole, files), (got, got_files) = mem, spl
    assert set(got_files) == set(files) == set(SCORE_FILES)
    for u in files:
        assert got_files[u].read_bytes() == files[u].read_bytes(), u
        assert got_files[u].name == SCORE_FILES[u]
    assert json.dumps(got.metadata, sort_keys=True, default=str) == json.dumps(
        whole.metadata, sort_keys=True, default=str
    )
    assert got.account_day is None and got.account_month is None
    # the slim session scores, kept a file a lab (ScoredLabs) unless ranked at once
    slim = got.session.whole() if isinstance(got.session, ScoredLabs) else got.session
    pd.testing.assert_frame_equal(slim, whole.session, check_exact=True)
    assert [type(v) for v in slim["reasons"]] == [type(v) for v in whole.session["reasons"]]
    assert _parquet_bytes(slim) == _parquet_bytes(whole.session)
    # the labs' files are gone; only the tables and the slim scores' files are left
    kept = [f"scored-{i}{x}" for i in range(len(got.session._paths))
            for x in (".pkl", ".pos.npy")] if isinstance(got.session, ScoredLabs) else []  # fmt: skip
    assert sorted(p.name for p in got_files["session"].parent.iterdir()) == sorted(
        [*SCORE_FILES.values(), *kept]
    )


@pytest.mark.parametrize("rows", [None, 7, 1])
@pytest.mark.parametrize("explain_top", [0, 9])
def test_spilled_tables_are_the_bytes_of_the_whole(tmp_path, monkeypatch, rows, explain_top):
    if rows is not None:  # several row groups: the schema comes from one row per kind
        monkeypatch.setattr(outputs, "ROW_GROUP_ROWS", rows)
    params = DetectParams(explain_top=explain_top)
    mem, spl = _both(tmp_path, _labs(), params)
    _assert_same(tmp_path, mem, spl)
    table = pd.read_parquet(spl[1]["session"])
    # reasons kept for the flagged rows and the explain_top best-ranked, blanked elsewhere
    has = table["reasons"].notna().to_numpy()
    keep = table["flagged"].to_numpy() | (table["rank"].to_numpy() <= explain_top)
    assert not (has & ~keep).any() and has.any()
    if explain_top:  # the boundary: the last kept rank and the first blanked one
        at = table.set_index("rank")
        assert (
            at.loc[explain_top, "reasons"] is not None
            or at.loc[explain_top, "flagged"]
            or (
                at.loc[explain_top, "lab"] == "L02"  # that lab explained nothing
            )
        )
        unflagged_after = table[(table["rank"] > explain_top) & ~table["flagged"]]
        assert unflagged_after["reasons"].isna().all() and len(unflagged_after)
    # ties in score across labs, broken by the keys
    top = table[table["score"] == table["score"].max()]
    assert top["lab"].nunique() > 1
    assert top["session_id"].tolist() == sorted(top["session_id"].tolist())
    # a lab without a rule column gives it 0.0; the rule columns in the labs' order
    rules = [c for c in table.columns if c.startswith("rule_")]
    assert rules == ["rule_a", "rule_b", "rule_c"]
    assert (table.loc[table["lab"] == "L03", rules] == 0.0).all().all()
    # an object column None in some labs and text in others: text in every row group
    assert str(pd.read_parquet(spl[1]["session"], columns=["note"]).dtypes["note"]) != "null"


@pytest.mark.parametrize("rows", [None, 4])
def test_equal_keys_across_labs_keep_the_labs_order(tmp_path, monkeypatch, rows):
    if rows is not None:
        monkeypatch.setattr(outputs, "ROW_GROUP_ROWS", rows)
    mem, spl = _both(tmp_path, _labs(dup_ids=True), DetectParams(explain_top=5))
    _assert_same(tmp_path, mem, spl)


def test_labs_of_other_dtypes_are_ranked_as_before(tmp_path, monkeypatch):
    # a lab whose rows have other dtypes (text as object): the unit ranked at once, same bytes
    monkeypatch.setattr(outputs, "ROW_GROUP_ROWS", 6)
    scored = _labs()
    x = scored[1]["account_day"]["out"]
    x["account"] = x["account"].astype(object)
    mem, spl = _both(tmp_path, scored, DetectParams(explain_top=3), whole_units=["account_day"])
    _assert_same(tmp_path, mem, spl)


def test_a_unit_without_rows_in_any_lab(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "ROW_GROUP_ROWS", 3)
    scored = _labs()
    for lab in scored:
        lab["account_month"]["out"] = lab["account_month"]["out"].iloc[:0]
    mem, spl = _both(tmp_path, scored, DetectParams(explain_top=4))
    _assert_same(tmp_path, mem, spl)
    assert len(pd.read_parquet(spl[1]["account_month"])) == 0


def test_rank_order_is_the_rankings():
    small = pd.DataFrame({"k": pd.array(["b", "a", "c", "a", "b"], dtype=STRING),
                          "score": [1.0, 2.0, 1.0, 2.0, 3.0]})  # fmt: skip
    # score desc, then key, then the position in key order (stable from input order)
    assert rank_order(small, ("k",)).tolist() == [4, 1, 3, 0, 2]


def _pandas_rank_order(small: pd.DataFrame, kc: list[str]) -> np.ndarray:
    """The pandas sorts :func:`rank_order` replaced (session 17's code): a stable sort
    by key, then :func:`labforensics.detect._ranking`."""
    key_order = np.arange(len(small), dtype=np.int64)
    if len(small) > 1 and kc:
        key_order = small[kc].sort_values(kc, kind="mergesort").index.to_numpy()
        small = small.iloc[key_order].reset_index(drop=True)
    order, _ = _ranking(small, small["score"].to_numpy(dtype="float64"), tuple(kc))
    return key_order[order]


@st.composite
def _smalls(draw):
    n = draw(st.integers(0, 60))
    text = st.one_of(st.none(), st.sampled_from(["a", "b", "B", "é", "e\u0301", "ab", ""]))
    out = pd.DataFrame({
        "k0": pd.array(draw(st.lists(text, min_size=n, max_size=n)), dtype=STRING),
        "k1": pd.Categorical(draw(st.lists(st.sampled_from(["z", "y", "x"]), min_size=n,
                                           max_size=n)), categories=["z", "y", "x"]),
        "k2": pd.array(draw(st.lists(text, min_size=n, max_size=n)), dtype=STRING),
        "score": np.array(draw(st.lists(st.sampled_from([0.0, -0.0, 1.5, -2.0, np.nan,
                                                          np.inf]), min_size=n, max_size=n)),
                          dtype="float64"),
    })  # fmt: skip
    return out, draw(st.sampled_from([[], ["k0"], ["k0", "k1", "k2"], ["k1", "k2"]]))


@settings(max_examples=150, deadline=None)
@given(_smalls())
def test_rank_order_is_the_pandas_sorts_it_replaced(case):
    # ties in score and keys, missing scores and keys, a categorical whose categories are
    # not in text order, text whose UTF-8 order is its code point order
    small, kc = case
    assert rank_order(small, kc).tolist() == _pandas_rank_order(small, kc).tolist()


def test_value_kinds():
    assert value_kind(None) is None and value_kind(pd.NA) is None and value_kind(np.nan) is None
    assert value_kind("a") == "str"
    assert value_kind(np.array(["a"], dtype=object)) != value_kind(np.array([], dtype=object))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated three-lab case, its context (explain_top 25: reasons blanked), and the
    run of it with every table held in memory (the reference)."""
    root = tmp_path_factory.mktemp("spillcase")
    synth.generate(root / "case", labs=3, start="2020-01-01", end="2020-02-29", seed=11,
                   scale=0.3, artefacts=False, hostile=False, transfers=False)  # fmt: skip
    key_file = root / "case.key"
    CaseKey(bytes(range(32))).write(key_file)
    case = CaseContext(sections={"detection": {"explain_top": 25}}, key_file=key_file)
    return root, case, _investigate(root, "plain", case)


def _investigate(root, name, case, **kw):
    """investigate, with the slim session scores the later stages got, and the units the
    spill ranked at once."""
    seen = {"whole": [], "labs": 0}
    real_out, real_whole = pipeline._write_outputs, score_spill._write_whole
    real_add = ScoreSpill.add

    def add(self, scored):  # a lab's rows into files
        seen["labs"] += 1
        return real_add(self, scored)

    def spy(out, res, plan, **k):
        seen["kind"] = type(res.scored)  # read while the run's folder exists
        seen["scored"] = res.scored.whole() if isinstance(res.scored, ScoredLabs) else res.scored
        seen["held"] = (res.scores.account_day, res.scores.account_month)
        return real_out(out, res, plan, **k)

    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore", MemoryBudgetWarning)
        mp.setattr(pipeline, "_write_outputs", spy)
        mp.setattr(ScoreSpill, "add", add)
        mp.setattr(score_spill, "_write_whole",
                   lambda e, u, *a: seen["whole"].append(u) or real_whole(e, u, *a))  # fmt: skip
        res = investigate([root / "case" / "evidence"], root / name, case=case, progress=False,
                          **kw)  # fmt: skip
    return res, seen


def _same_run(got, want):
    (res, seen), (ref, ref_seen) = got, want
    assert seen["labs"] == 3 and ref_seen["labs"] == 0  # over the budget only, lab by lab
    assert seen["whole"] == []  # every unit ranked from its small columns
    assert seen["held"] == (None, None)
    for name in [*SCORE_FILES.values(), "campaigns.parquet", "sessions.parquet"]:
        assert (res.out / name).read_bytes() == (ref.out / name).read_bytes(), name
    budget = ("parameters", "parameters_text", "reproduce")  # they name the memory budget
    assert {k: v for k, v in res.findings.items() if k not in budget} == {
        k: v for k, v in ref.findings.items() if k not in budget
    }
    # kept a file a lab over the budget (never held whole), the same rows
    assert seen["kind"] is ScoredLabs and ref_seen["kind"] is pd.DataFrame
    slim = seen["scored"]
    pd.testing.assert_frame_equal(slim, ref_seen["scored"], check_exact=True)
    assert _parquet_bytes(slim) == _parquet_bytes(ref_seen["scored"])
    meta = {k: v for k, v in res.scores.metadata.items() if k != "engine"}
    want_meta = {k: v for k, v in ref.scores.metadata.items() if k != "engine"}
    assert json.dumps(meta, sort_keys=True, default=str) == json.dumps(
        want_meta, sort_keys=True, default=str
    )
    # the result reads the files on first use
    assert isinstance(res.scores, LazyScores) and res.scores._cache == {}
    pd.testing.assert_frame_equal(res.scores.account_day, ref.scores.account_day)
    return res


def test_a_run_over_its_budget_writes_the_same_scores(generated):
    root, case, plain = generated
    res = _same_run(_investigate(root, "budget", case, memory_budget=1), plain)
    table = res.scores.session
    # blanking at work: reasons only for the flagged and the 25 best-ranked sessions
    assert len(table) > 25 + int(table["flagged"].sum())
    has = table["reasons"].notna().to_numpy()
    assert not (has & ~(table["flagged"].to_numpy() | (table["rank"].to_numpy() <= 25))).any()
    assert table["lab"].nunique() == 3


@pytest.mark.slow
def test_dask_over_its_budget_writes_the_same_scores(generated):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from labforensics.engine.dask import DaskEngine

    root, case, plain = generated
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0")  # fmt: skip
    client = Client(cluster)
    try:
        got = _investigate(root, "dask", case, memory_budget=1, engine=DaskEngine(client=client))
    finally:
        client.close()
        cluster.close()
    _same_run(got, plain)
