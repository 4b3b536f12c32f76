"""Attribution on a generated multi-lab case: verdict and per-lab window accuracy.

Usage::

    python benchmarks/attribution.py                    # 30 labs, 2019-01-01..2020-10-31, scale 0.5
    python benchmarks/attribution.py --full             # 30 labs, 2015-01-01..2020-10-31, scale 1
    python benchmarks/attribution.py --labs 6 --seed 3  # smaller / another case
    python benchmarks/attribution.py --ingest           # read the evidence files (slow) instead
                                                        # of the generator's event table
    python benchmarks/attribution.py --scores           # also run detection and pass its scores

It generates a case (``labforensics.synth.generate``, every incident kind), builds
the event table, sessionizes, reads the FTP transfer log and runs
``labforensics.attribute`` with the leak file of incident (a) (the vendor's
migration extractions) and the labs' networks from ``truth.json``. It prints:

* the verdict, its rule, the hypothesis shares and the stability agreement;
* per lab with an extraction: the true extraction time, the window
  ``[after, before]``, whether it contains the truth, its width in hours, the
  method (change point or onset) and the confidence;
* whether the migration account's pathway is on top and its share;
* the anonymous/outside downloads linked against the generator's own list;
* without the leak: the top pathways by anomalous volume;
* the time of each stage.

Without ``--ingest`` the event table is made from ``truth_events.parquet`` (the
events the readers would produce, minus CSV parsing, which
``benchmarks/ingest.py`` measures).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from labforensics.attribution import AttributionParams, attribute
from labforensics.case import CaseContext
from labforensics.networks import NetworkMap
from labforensics.privacy import CaseKey, pseudonymise
from labforensics.schema import LIS_ACTION_CODES, ROLE_ACCOUNT_KIND, coerce_events
from labforensics.sessions import sessionize
from labforensics.synth import generate, load_truth

KEY = CaseKey(bytes(range(32)))


def events_from_truth(out: Path) -> pd.DataFrame:
    """Canonical events (with ``detail``) from the generator's ``truth_events.parquet``."""
    te = pd.read_parquet(out / "truth_events.parquet")
    te = te[~te["lost"]].reset_index(drop=True)
    act = te["action"].astype("object").str.upper()
    action = act.map({k: v[0] for k, v in LIS_ACTION_CODES.items()}).fillna("other")
    role = te["role"].astype("object").str.upper()
    ok = te["outcome"].astype("object").str.lower().isin(["success", "ok", "succes"])
    outcome = np.where(ok, "success", "failure")
    action = action.where(~((action == "login") & (outcome == "failure")), "login_failed")
    df = pd.DataFrame(
        {
            "ts": te["ts"],
            "ts_quality": te["ts_quality"].fillna("exact"),
            "lab": te["lab"],
            "site": te["site"],
            "account": te["account"],
            "role": role,
            "account_kind": role.map(ROLE_ACCOUNT_KIND).fillna("unknown"),
            "host": te["host"],
            "src_ip": te["src_ip"],
            "module": te["module"].astype("object").str.upper(),
            "action": action,
            "action_raw": te["action"],
            "outcome": outcome,
            "patient": pseudonymise(KEY, te["lab"], te["ipp"]),
            "records": te["records"],
            "bytes": te["bytes"],
            "app_session": te["app_session"],
            "detail": te["detail"],
            "source_format": "synth_truth",
            "source_file": te["source_file"],
            "source_line": te["source_line"],
        }
    )
    df = df.sort_values(["ts", "source_file", "source_line"], kind="stable").reset_index(drop=True)
    df["seq"] = np.arange(len(df), dtype="int64")
    return coerce_events(df)


#: Incident kind of the generator -> the proposition it makes true (before_logs: none).
TRUE_PROPOSITION = {"a": "vendor", "c": "external", "d": "insider", None: "outside_evidence"}

#: Incident kind -> every proposition true of the generated copy. The generator's staff
#: export (synth/tie.py, incident d, synth/lab_build.py ``_incident_d``) logs no export:
#: the insider consults a few hundred random patients and the dump is a random 30 % of
#: the lab, unrelated to them. By issue 15's definitions that copy was made by lab staff
#: (``insider``) *by an unlogged means* (``outside_evidence``: "from somewhere the
#: evidence does not cover ... a copy by an unlogged means"): both are true, neither
#: counted as misleading; the summary also gives the rate with the generator's label only.
TRUE_SET = {"a": {"vendor"}, "c": {"external"}, "d": {"insider", "outside_evidence"},
            None: {"outside_evidence"}}  # fmt: skip


#: The three generator settings of the calibration: the audit generator's scale and the
#: linkage generator's rates (issue 13's presets, ``labforensics.synth.people.PRESETS``:
#: NIR missing 30 / 45 / 60 %, names mangled 15 / 22 / 30 %, outsiders 5 / 7.5 / 10 %).
CAL_SETTINGS: dict[str, tuple[float, str]] = {
    "base": (0.1, "base"),
    "mid": (0.15, "mid"),
    "hard": (0.2, "hard"),
}


@contextlib.contextmanager
def _linkage_rates(preset: str) -> Iterator[None]:
    """Generate the tied linkage case with a preset's rates (``synth.tie`` builds its
    ``LinkageSettings`` with the dates only: the preset's other fields are added here;
    a benchmark-only patch, undone on exit)."""
    from dataclasses import fields

    from labforensics.synth import tie
    from labforensics.synth.people import PRESETS, LinkageSettings

    default, chosen = LinkageSettings(), PRESETS[preset]
    rates = {f.name: getattr(chosen, f.name) for f in fields(LinkageSettings)
             if getattr(chosen, f.name) != getattr(default, f.name)}  # fmt: skip
    orig = tie.LinkageSettings
    tie.LinkageSettings = lambda **kw: orig(**{**rates, **kw})  # type: ignore[assignment]
    try:
        yield
    finally:
        tie.LinkageSettings = orig  # type: ignore[assignment]


def _linkage_case_conclusion(
    out: Path, scenario: str, seed: int, scale: float, rates: str = "base", activity: bool = False
) -> dict:
    """Generate one tiny linkage case and return the attribution's conclusion and truth;
    ``activity``: the exports assessed against the case's generated register and the
    activity-level evidence weighed (``AttributionParams(activity_evidence=True)``: the
    register's statuses and the outside fetch, off by default)."""
    import json

    from labforensics.ingest import read_evidence
    from labforensics.leak.horizon import link_leak
    from labforensics.synth import SCENARIOS

    assert scenario in SCENARIOS
    with _linkage_rates(rates):
        generate(out, labs=2, start="2019-01-07", end="2019-04-30", scale=scale, seed=seed,
                 linkage=True, linkage_scenario=scenario)  # fmt: skip
    truth = load_truth(out)
    nets = {lab["code"]: (lab["networks"]["lab"],) for lab in truth["labs"]}
    vendor = tuple(sorted({lab["networks"]["vendor"] for lab in truth["labs"]}))
    case = CaseContext(networks=NetworkMap(vendor=vendor, by_lab=nets), seed=seed,
                       tz=truth.get("parameters", {}).get("timezone") or "Europe/Paris")  # fmt: skip
    ev = read_evidence(out / "evidence", case_key=KEY).events
    s = sessionize(ev)
    ll = link_leak(out / "dump", out / "patients", case=case, case_key=KEY)
    exports = None
    if activity:
        from labforensics.authorisation import assess_exports

        reg = out / "authorisations.csv"
        exports = assess_exports(s.events, register=reg if reg.exists() else None, case=case)
    att = attribute(s.events, s.sessions, leak=ll, transfers=out / "transfers" / "xferlog",
                    case_key=KEY, case=case, exports=exports,
                    params=AttributionParams(stability=False, activity_evidence=activity))  # fmt: skip
    lt = json.loads((out / "linkage_truth.json").read_text("utf-8"))
    kinds = {h["lab"]: (h["incident"] or "")[:1] or None for h in lt["horizons"]}
    want = {lab: TRUE_PROPOSITION[k] for lab, k in kinds.items()}
    true_set = {lab: TRUE_SET[k] for lab, k in kinds.items()}
    return {"conclusion": att.conclusion, "truth": want, "true_set": true_set}


def _case_rows(r: dict, scenario: str, seed: int, setting: str) -> dict:
    """One case's record (a JSON line): the case proposition and every (lab, proposition)
    ratio of a copied lab, with the generator's label and issue 15's true set."""
    case_true = sorted(set(r["truth"].values()))
    sets = list(r["true_set"].values())
    ok = {"mixed"} if len(case_true) > 1 else set(sets[0])
    got = r["conclusion"]["proposition"]
    ratios = []
    for p in r["conclusion"]["per_lab"]:
        true = r["truth"].get(p["lab"])
        if true is None:  # a lab not copied, weighed on false links: no true proposition
            continue
        lrs = p.get("log10_lr_by_proposition") or {}
        weighed = set(lrs) if len(lrs) >= 2 else set()
        for prop in PROPOSITIONS:
            ratios.append({"lab": p["lab"], "proposition": prop,
                           "true": prop in r["true_set"].get(p["lab"], set()),
                           "generator_true": prop == true,
                           # a proposition with no logged operation is not weighed: its
                           # likelihood is 0 (LR 0), never misleading for a false one
                           "log10_lr": float(lrs[prop]) if prop in weighed else None})  # fmt: skip
    return {"scenario": scenario, "seed": seed, "setting": setting, "got": got,
            "ok": sorted(ok), "right": got in ok,
            "log10_lr": r["conclusion"]["log10_lr"], "ratios": ratios}  # fmt: skip


#: The propositions a copied lab's ratios are counted for (``mixed`` is a case's only).
PROPOSITIONS = ("vendor", "insider", "external", "outside_evidence")


def calibration(a: argparse.Namespace) -> int:
    """Rate of misleading evidence and a Tippett plot over generated linkage cases.

    For every scenario of :data:`labforensics.synth.SCENARIOS` (vendor extraction,
    staff export, intrusion, copy before the logs, two labs), seed and generator
    setting (:data:`CAL_SETTINGS`), a 2-lab case (2019-01-07..2019-04-30) is generated,
    its dump linked and attributed. For each copied lab and each proposition ``p``,
    ``log10 LR_p`` is ``p``'s log10 likelihood minus the best other proposition's (the
    conclusion's ``log10_lr_by_proposition``, ties applied, before the ceilings: the
    sign, hence the rates, is the same). Misleading evidence: ``LR_p > 1`` for a false
    ``p``; every false proposition is counted, a proposition with no logged operation
    as not weighed (likelihood 0, never misleading: counted in the denominator and
    reported apart). ``LR_p < 1`` for a true ``p`` is reported too. Each case is one
    JSON line of ``--rows`` (appended as it ends: a long run can be resumed, several
    processes can share the settings); the summary (:func:`summarise`) is printed,
    written to ``--write-validation`` (``attribution_calibration``) and the Tippett plot
    to ``--tippett``.
    """
    import json

    from labforensics.synth import SCENARIOS

    settings = [x.strip() for x in a.settings.split(",") if x.strip()]
    rows_path = Path(a.rows)
    done = set()
    if rows_path.exists():
        for line in rows_path.read_text("utf-8").splitlines():
            c = json.loads(line)
            done.add((c["scenario"], c["seed"], c["setting"]))
    seeds = range(a.seed0, a.seed0 + a.seeds)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for setting in settings:
            scale, rates = CAL_SETTINGS[setting]
            for seed in seeds:
                for scenario in SCENARIOS:
                    if (scenario, seed, setting) in done:
                        continue
                    t1 = time.perf_counter()
                    try:
                        r = _linkage_case_conclusion(Path(tmp) / "c", scenario, seed, scale, rates,
                                                     a.activity)  # fmt: skip
                        rec = _case_rows(r, scenario, seed, setting)
                    except Exception as exc:  # a refusal or a linkage failure: counted, not hidden
                        rec = {"scenario": scenario, "seed": seed, "setting": setting,
                               "error": f"{type(exc).__name__}: {exc}"[:300]}  # fmt: skip
                    rec["seconds"] = round(time.perf_counter() - t1, 1)
                    with rows_path.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(rec, sort_keys=True) + "\n")
                    print(f"{scenario:18s} seed {seed:2d} {setting}: {rec.get('got', rec.get('error'))} "
                          f"log10 LR {rec.get('log10_lr')} ({rec['seconds']} s, "
                          f"{time.perf_counter() - t0:.0f} s in all)", flush=True)  # fmt: skip
    return summarise(a)


def _load_rows(paths: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cases and ratios from the JSON lines files (the last record of a case wins)."""
    import json

    recs: dict[tuple, dict] = {}
    for p in paths:
        for line in Path(p).read_text("utf-8").splitlines():
            c = json.loads(line)
            recs[(c["scenario"], c["seed"], c["setting"])] = c
    cases = pd.DataFrame([{k: v for k, v in c.items() if k != "ratios"} for c in recs.values()])
    ratios = pd.DataFrame(
        [
            {"scenario": c["scenario"], "seed": c["seed"], "setting": c["setting"], **x}
            for c in recs.values()
            for x in c.get("ratios", [])
        ]  # fmt: skip
    )
    return cases, ratios


def _rates(ratios: pd.DataFrame) -> dict:
    """Misleading counts of a group of ratios (see :func:`calibration`)."""
    false = ratios[~ratios["true"]]
    true = ratios[ratios["true"]]
    weighed_false = false[false["log10_lr"].notna()]
    mis = int((weighed_false["log10_lr"] > 0).sum())
    t_w = true[true["log10_lr"].notna()]
    return {
        "false_propositions": len(false),
        "false_weighed": len(weighed_false),
        "misleading": mis,
        "rate_misleading": mis / len(false) if len(false) else None,
        "rate_misleading_of_weighed": mis / len(weighed_false) if len(weighed_false) else None,
        "true_propositions": len(true),
        "true_below_1": int((t_w["log10_lr"] < 0).sum()),
        "true_not_weighed": int(true["log10_lr"].isna().sum()),
    }


def summarise(a: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Summary of the calibration's JSON lines: rates per way and setting, overall, the
    misleading ratios listed, the Tippett plot, and the validation file's section."""
    paths = [Path(a.rows)] + [Path(p) for p in (a.more_rows or [])]
    cases, ratios = _load_rows([p for p in paths if p.exists()])
    if cases.empty:
        print("no case")
        return 1
    errs = cases[cases["error"].notna()] if "error" in cases.columns else cases.iloc[:0]
    ok_cases = cases.drop(errs.index)
    print(f"{len(cases)} cases ({len(errs)} failed), {len(ratios)} (lab, proposition) ratios")
    for r in errs.itertuples():
        print(f"  failed: {r.scenario} seed {r.seed} {r.setting}: {r.error}")
    if ratios.empty:
        return 1
    per = []
    for (sc, st), g in ratios.groupby(["scenario", "setting"], sort=True):
        c = ok_cases[(ok_cases["scenario"] == sc) & (ok_cases["setting"] == st)]
        per.append({"way": sc, "setting": st, "cases": len(c),
                    "right_proposition": int(c["right"].sum()), **_rates(g)})  # fmt: skip
    overall = _rates(ratios)
    per_way = {str(w): _rates(g) for w, g in ratios.groupby("scenario", sort=True)}
    for w, r in per_way.items():
        print(f"  {w:18s} misleading {r['misleading']} of {r['false_propositions']} "
              f"({r['rate_misleading']:.1%})")  # fmt: skip
    strict = ratios.assign(true=ratios["generator_true"])
    overall_strict = _rates(strict)
    tab = pd.DataFrame(per)
    print(tab.to_string(index=False))
    print(f"overall: misleading {overall['misleading']} of {overall['false_propositions']} false "
          f"propositions ({overall['rate_misleading']:.1%}; of those weighed "
          f"{overall['misleading']}/{overall['false_weighed']}); true with LR < 1: "
          f"{overall['true_below_1']} of {overall['true_propositions']}")  # fmt: skip
    print(f"with the generator's label only (staff export: insider): misleading "
          f"{overall_strict['misleading']} of {overall_strict['false_propositions']} "
          f"({overall_strict['rate_misleading']:.1%})")  # fmt: skip
    bad = ratios[(~ratios["true"]) & (ratios["log10_lr"] > 0)]
    if len(bad):
        print("misleading ratios (false proposition with LR > 1):")
        print(bad.round(3).to_string(index=False))
    weighed = ratios[ratios["log10_lr"].notna()]
    _tippett(weighed, Path(a.tippett))
    print(f"Tippett plot: {a.tippett}")
    if a.write_validation:
        from labforensics.validation import write_section

        seeds = sorted({int(x) for x in cases["seed"]})
        write_section(
            a.write_validation,
            "attribution_calibration",
            {
                "case": "2 labs, 2019-01-07..2019-04-30, the dump linked with its patient indexes",
                "settings": {
                    k: {"scale": CAL_SETTINGS[k][0], "linkage_rates": CAL_SETTINGS[k][1]}
                    for k in sorted(set(cases["setting"]))
                },
                "cases": len(cases),
                "cases_failed": len(errs),
                "failures": [
                    f"{r.scenario} seed {r.seed} {r.setting}: {r.error}" for r in errs.itertuples()
                ],
                "definition": "misleading: log10 LR > 0 for a false proposition of a copied lab, "
                "before the ceilings; every false proposition counted (one with no logged "
                "operation has likelihood 0 and is not misleading); the staff export is true for "
                "insider and outside_evidence (an unlogged copy by staff)",
                "reproduce": "python benchmarks/attribution.py --calibration --seeds 20 "
                "--settings base,mid,hard --write-validation src/labforensics/data/validation.json "
                "(or several processes, one --rows file each, then --summarise --more-rows ...)",
                "overall": overall,
                "overall_generator_label_only": overall_strict,
                "per_way": per_way,
                "per_way_setting": per,
                "misleading_ratios": [
                    {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                    for r in bad.to_dict("records")
                ],
            },
            command=" ".join(["python", "benchmarks/attribution.py", *(argv or sys.argv[1:])]),
            size=f"{len(cases)} generated cases of 2 labs over 16 weeks; settings "
            + ", ".join(
                f"{k} (scale {CAL_SETTINGS[k][0]}, linkage rates {CAL_SETTINGS[k][1]})"
                for k in CAL_SETTINGS
                if k in set(cases["setting"])
            ),
            seeds=seeds,
            variants=sorted(set(cases["scenario"])),
            measured_on="synthetic evidence (labforensics.synth.generate, linkage=True)",
        )
        print(f"validation file: {a.write_validation}")
    return 0


def _tippett(df: pd.DataFrame, path: Path) -> None:
    """Tippett plot: share of log10 LR above x, for true and false propositions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for flag, label in ((True, "true proposition"), (False, "false propositions")):
        # clipped at +-8 (beyond the ceilings' 6 and the verbal scale) so the crossing at 0 shows
        v = np.sort(np.clip(df.loc[df["true"] == flag, "log10_lr"].to_numpy(dtype=float), -8, 8))
        if v.size:
            ax.step(v, 1.0 - np.arange(v.size) / v.size, where="post", label=f"{label} ({v.size})")
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set_xlabel("log10 likelihood ratio (before the ceilings; clipped at +-8)")
    ax.set_xlim(-8.5, 8.5)
    ax.set_ylabel("share of ratios >= x")
    ax.set_title("Tippett plot: generated linkage cases")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labs", type=int, default=30)
    ap.add_argument("--start", default="2019-01-01")
    ap.add_argument("--end", default="2020-10-31")
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--full", action="store_true", help="2015-01-01..2020-10-31, scale 1")
    ap.add_argument("--ingest", action="store_true", help="read the evidence files")
    ap.add_argument("--scores", action="store_true", help="run detection, pass its scores")
    ap.add_argument("--out", help="generate into (or reuse) this folder")
    ap.add_argument(
        "--calibration",
        action="store_true",
        help="rate of misleading evidence and a Tippett plot over generated linkage cases "
        "(one per scenario x seed x setting; see calibration())",
    )
    ap.add_argument("--seeds", type=int, default=20, help="calibration: seeds per scenario")
    ap.add_argument("--seed0", type=int, default=0, help="calibration: first seed")
    ap.add_argument(
        "--settings",
        default="base,mid,hard",
        help="calibration: generator settings of CAL_SETTINGS, comma-separated",
    )
    ap.add_argument("--activity", action="store_true",
                    help="calibration: weigh the activity-level evidence (the register's "
                    "statuses and the outside fetch; off by default in the product)")  # fmt: skip
    ap.add_argument("--tippett", default="tippett.png", help="calibration: the plot's file")
    ap.add_argument("--rows", default="calibration_rows.jsonl",
                    help="calibration: one JSON line per case (appended; resumes)")  # fmt: skip
    ap.add_argument("--more-rows", nargs="*", help="calibration: other processes' rows files")
    ap.add_argument("--summarise", action="store_true",
                    help="calibration: summarise the rows files only (no new case)")  # fmt: skip
    ap.add_argument("--write-validation", metavar="PATH",
                    help="calibration: write its figures into this validation file")  # fmt: skip
    a = ap.parse_args(argv)
    if a.summarise:
        return summarise(a)
    if a.calibration:
        return calibration(a)
    if a.full:
        a.start, a.end, a.scale = "2015-01-01", "2020-10-31", 1.0
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    tmp = None
    if a.out:
        out = Path(a.out)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="lf-attr-")
        out = Path(tmp.name)
    t = {}
    t0 = time.perf_counter()
    if not (out / "truth.json").exists():
        generate(out, labs=a.labs, start=a.start, end=a.end, seed=a.seed, scale=a.scale)
    t["generate"] = time.perf_counter() - t0
    truth = load_truth(out)

    t0 = time.perf_counter()
    if a.ingest:
        from labforensics.ingest import read_evidence

        events = read_evidence(out / "evidence", case_key=KEY).events
    else:
        events = events_from_truth(out)
    t["events"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = sessionize(events)
    t["sessionize"] = time.perf_counter() - t0
    nets = {lab["code"]: (lab["networks"]["lab"],) for lab in truth["labs"]}
    vendor = tuple(sorted({lab["networks"]["vendor"] for lab in truth["labs"]}))
    case = CaseContext(networks=NetworkMap(vendor=vendor, by_lab=nets))
    scores = None
    if a.scores:
        from labforensics.detect import score
        from labforensics.features import FeatureParams, build_features

        t0 = time.perf_counter()
        sc = score(build_features(s.events, s.sessions, FeatureParams(), case=case), case=case)
        scores = sc.session if hasattr(sc, "session") else sc.tables["session"]
        t["detect"] = time.perf_counter() - t0

    from labforensics.transfers import read_transfers

    tr = read_transfers(out / "transfers" / "xferlog", case_key=KEY, case=case)
    params = AttributionParams()
    t0 = time.perf_counter()
    res = attribute(
        s.events,
        s.sessions,
        scores,
        leak=out / "leak" / "leaked_ipps.csv",
        transfers=tr,
        case_key=KEY,
        params=params,
        case=case,
    )
    t["attribute (with 14 stability reruns)"] = time.perf_counter() - t0

    print(
        f"case: {a.labs} labs, {a.start}..{a.end}, scale {a.scale}, seed {a.seed}: "
        f"{len(events):,} events, {len(s.sessions):,} sessions"
    )
    print(f"\nverdict: {res.verdict}\nrule: {res.verdict_rule}")
    print(res.hypotheses[["hypothesis", "share", "patients_explained", "n_labs", "strength"]])
    print(f"stability agreement: {res.stability_agreement:.3f} over {len(res.stability)} reruns")
    tot = res.totals
    print(
        f"leak: {tot['leak_identifiers']:,} identifiers, {tot['found']:,} found in the evidence, "
        f"{tot['never_seen']:,} never seen (registered before logging and never back)"
    )
    top = res.pathways.iloc[0]
    print(
        f"top pathway: {top['pathway_id']} {top['account']} ({top['hypothesis']}, "
        f"{top['module']}, {top['network']}) at {top['n_labs']} labs, share {top['share']:.4f}"
    )

    inc = [i for i in truth["incidents"] if i["kind"] == "a"]
    w = res.windows.set_index("lab")
    rows = []
    for i in inc:
        h = pd.Timestamp(i["horizon"])
        if i["lab"] not in w.index:
            rows.append({"lab": i["lab"], "truth": h, "contains": False, "note": "no window"})
            continue
        r = w.loc[i["lab"]]
        rows.append(
            {
                "lab": i["lab"],
                "truth": h,
                "after": r["after"],
                "before": r["before"],
                "contains": bool(r["after"] <= h <= r["before"]),
                "width_h": r["width_h"],
                "method": r["horizon_method"],
                "confidence": r["confidence"],
            }
        )
    acc = pd.DataFrame(rows)
    print("\nper-lab windows (true extraction time inside [after, before]):")
    print(acc.to_string(index=False))
    print(
        f"\nwindows containing the true extraction: {int(acc['contains'].sum())}/{len(acc)}; "
        f"width median {acc['width_h'].median():.1f} h, p90 {acc['width_h'].quantile(0.9):.1f} h, "
        f"max {acc['width_h'].max():.1f} h"
    )
    ext = res.transfers[res.transfers["external_fetch"]]
    want = {(x["file"], d["host"]) for x in truth["transfers"] for d in x["downloads"]}
    got = set(zip(ext["file_base"], ext["remote_host"], strict=True))
    print(f"outside/anonymous downloads linked: {len(want & got)}/{len(want)} of the generator's")

    t0 = time.perf_counter()
    nl = attribute(
        s.events,
        s.sessions,
        scores,
        params=AttributionParams(stability=False),
        case=case,
    )
    t["attribute without leak"] = time.perf_counter() - t0
    print("\nwithout the leak, top pathways by anomalous volume (patient-equivalents):")
    print(
        nl.pathways[["pathway_id", "hypothesis", "account", "module", "n_labs", "anomalous_volume"]]
        .head(6)
        .to_string(index=False)
    )
    print("\ntimes (s): " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
