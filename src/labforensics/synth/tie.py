"""The leak-linkage case tied to the audit evidence (``generate(..., linkage=True)``).

:func:`labforensics.synth.linkage.generate_linkage_case` draws its own labs,
IPPs and dates; here the same population, indexes and dump are built on the
audit generator's labs instead:

- each lab's index ``patients/PATIENTS_<LAB>.csv`` holds exactly the lab's
  audit patients (``lab.ipp``): same IPPs, ``DATE_CREATION`` their
  registration day (patients registered before the evidence starts get a
  drawn day before it, recorded in ``index_truth.parquet``),
  ``DERNIERE_VISITE`` the local day of their last event in the evidence that
  is not an incident's (a snoop is not a visit), else their registration day,
  or a drawn day before the evidence for initial patients never named in it;
- the NIR each index row stores is the one the audit generator's
  ``leak/patient_index_<LAB>.csv`` and ``leak/leaked_nirs.csv`` then write;
- the dump's copies are the audit's incidents (:data:`TIED_INCIDENT`):
  ``vendor_extraction`` the labs of incident (a), each copied at its
  migration extraction (copy date = the extraction's local date; the copy
  holds the registrations and samples up to the day before: the extraction
  runs at night); ``staff_export`` the insider's lab (incident d) at the day
  of its last session; ``intrusion`` the attacked lab (incident c) at the day
  of the attack; ``two_sources`` one incident (a) lab by the vendor and the
  attacked lab by the attacker; ``before_logs`` has no incident in the audit
  evidence (a copy 180 days before its start; its labs are drawn).

``linkage_truth.json`` gains per copied lab, in ``horizons``, ``incident``,
``copy_date``, ``extraction_utc`` (the copying event, UTC ISO) and
``horizon`` (the same instant: nothing registered or sampled after it is in
the copy), and a ``tie`` section with the counts of the tie.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ParameterError
from .clock import DAY, date_of, iso_utc, local_offset
from .dumps import SHAPES
from .linkage import (
    SCENARIOS,
    LinkageCase,
    LinkageSettings,
    check_arguments,
    clear_case,
    people_per_household,
    write_case,
)
from .model import Lab
from .people import build_population, build_records
from .textfmt import compose, day_of

__all__ = ["TIED_INCIDENT", "last_event_days", "tied_linkage_case"]

#: The audit incident each dump scenario is tied to (None: the audit evidence has none).
TIED_INCIDENT = {
    "vendor_extraction": "a",
    "staff_export": "d",
    "intrusion": "c",
    "before_logs": None,
    "two_sources": "a+c",
}


def last_event_days(events: pa.Table, lab: Lab) -> np.ndarray:
    """Local day (day number) of each patient's last event that is not an incident's.

    Parameters
    ----------
    events : pyarrow.Table
        The lab's rows of ``truth_events.parquet`` (``ipp``, ``ts``, ``incident``).
    lab : Lab
        The lab (``lab.ipp`` increasing).

    Returns
    -------
    numpy.ndarray of int64, shape (len(lab.ipp),)
        -1 for a patient no such event names.
    """
    out = np.full(len(lab.ipp), -1, np.int64)
    t = events.filter(pc.and_(pc.is_valid(events["ipp"]), pc.equal(events["incident"], "")))
    if not t.num_rows:
        return out
    ipp = np.asarray(pc.cast(t["ipp"], pa.int64()).to_numpy(), np.int64)
    sec = np.asarray(pc.cast(t["ts"], pa.int64()).to_numpy(), np.int64) // 1_000_000_000
    np.maximum.at(out, np.searchsorted(lab.ipp, ipp), (sec + local_offset(sec)) // DAY)
    return out


def tied_linkage_case(
    out: Path,
    built: list[Lab],
    last_events: dict[str, np.ndarray],
    incidents: list[dict],
    extractions: list[dict],
    *,
    d0: int,
    d1: int,
    seed: int,
    scenario: str,
) -> LinkageCase:
    """Write the linkage case on the audit labs' patients and incidents (see the module).

    Parameters
    ----------
    out : Path
        The audit case's folder.
    built : list of Lab
        The audit labs, in order (``ipp``, ``reg_day``; ``nir`` is replaced by
        the NIR each index row stores, "" when the index leaves it empty).
    last_events : dict
        Lab code -> :func:`last_event_days`.
    incidents, extractions : list of dict
        ``truth["incidents"]`` records and incident (a)'s extractions (``lab``,
        ``day``, ``t_extract``, ``file``, ``records``).
    d0, d1 : int
        First and last day of the evidence (day numbers).
    seed : int
        The audit seed (stream ``SeedSequence([seed, 13])``, as the standalone case).
    scenario : str
        One of :data:`labforensics.synth.linkage.SCENARIOS`.

    Returns
    -------
    LinkageCase

    Raises
    ------
    ParameterError
        When the scenario's incident is not in the audit evidence.
    """
    t0 = time.perf_counter()
    s = LinkageSettings(
        copy_date=str(date_of(d1)),
        evidence_start=str(date_of(d0)),
        index_date=str(date_of(d1 + 120)),
    )
    n_lab = np.array([len(lab.ipp) for lab in built], np.int64)
    check_arguments(len(built), 10, s, scenario)
    clear_case(out)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 13])))
    sources = _sources(rng, scenario, built, incidents, extractions, d0)
    pop, rec = _population(rng, s, n_lab, d1)
    tie = _map_to_audit(rng, pop, rec, built, last_events, d0)
    params = {
        "labs": len(built),
        "seed": seed,
        "scenario": scenario,
        "settings": asdict(s),
        "tied_to_audit": True,
    }
    return write_case(
        out, rng, pop, rec, len(built), s, scenario, params, t0, sources=sources, tie=tie
    )


def _population(
    rng: np.random.Generator, s: LinkageSettings, n_lab: np.ndarray, d1: int
) -> tuple[dict, dict]:
    """A population whose index rows per lab are at least the audit lab's patients."""
    labs = len(n_lab)
    H = math.ceil(n_lab.sum() * 1.15 / people_per_household(s))
    for _ in range(8):
        pop = build_population(rng, H, s, labs, lab_weights=n_lab)
        pop["indexed"] &= pop["birth"] < d1  # nobody born after the evidence is in it
        rec = build_records(rng, pop, labs, s)
        have = np.bincount(rec["lab"], minlength=labs)
        if (have >= n_lab).all():
            return pop, rec
        H = math.ceil(H * 1.25 * float(np.max(n_lab / np.maximum(have, 1))))
    raise ParameterError("could not draw enough index rows for the audit labs; report this")


def _map_to_audit(
    rng: np.random.Generator,
    pop: dict,
    rec: dict,
    built: list[Lab],
    last_events: dict[str, np.ndarray],
    d0: int,
) -> dict:
    """Keep one index row per audit patient; give it the patient's IPP and dates; tie the NIRs."""
    n_rows = np.bincount(rec["person"], minlength=len(pop["hh"]))
    keep = np.sort(
        np.concatenate([_keep(rng, rec, n_rows, k, len(lab.ipp)) for k, lab in enumerate(built)])
    )
    n_drawn = len(rec["person"])
    for key, v in list(rec.items()):
        if isinstance(v, np.ndarray) and len(v) == n_drawn:
            rec[key] = v[keep]
    rec["orig"] = np.arange(len(keep))  # identity duplicates: orig is not kept across the trim
    pop["indexed"] = np.zeros(len(pop["hh"]), bool)
    pop["indexed"][rec["person"]] = True
    labs_out = []
    for k, lab in enumerate(built):
        labs_out.append(_map_lab(rng, pop, rec, k, lab, last_events[lab.code], d0))
    return {
        "labs": labs_out,
        "index_rows": int(len(keep)),
        "drawn_rows_dropped": int(n_drawn - len(keep)),
        "created_before_birth": int(sum(x["created_before_birth"] for x in labs_out)),
    }


def _keep(rng: np.random.Generator, rec: dict, n_rows: np.ndarray, k: int, n: int) -> np.ndarray:
    """``n`` index rows of lab ``k``: people with several rows first, then a random draw.

    Keeping every row of people at two labs or with a duplicate IPP keeps those rates.
    """
    idx = np.flatnonzero(rec["lab"] == k)
    multi = n_rows[rec["person"][idx]] > 1
    if multi.sum() > n:
        return rng.choice(idx, n, replace=False)
    return np.concatenate(
        [idx[multi], rng.choice(idx[~multi], n - int(multi.sum()), replace=False)]
    )


def _map_lab(
    rng: np.random.Generator,
    pop: dict,
    rec: dict,
    k: int,
    lab: Lab,
    last_ev: np.ndarray,
    d0: int,
) -> dict:
    """Audit patient ``j`` of ``lab`` (registry order) <- one index row of lab ``k``."""
    idx = np.flatnonzero(rec["lab"] == k)
    birth = pop["birth"][rec["person"][idx]]
    perm = rng.permutation(len(idx))
    # people born during the evidence take the latest registrations; the others in random order
    idx = idx[perm][np.argsort(np.maximum(birth[perm], d0 - 1), kind="stable")]
    birth = pop["birth"][rec["person"][idx]]
    initial = lab.reg_day < d0
    opened = min(day_of("2003-01-01") + int(rng.integers(0, 5 * 365)), d0 - 1)
    lo = np.maximum(opened, birth)
    drawn = np.minimum(lo + ((d0 - 1 - lo) * rng.random(len(idx))).astype(np.int64), d0 - 1)
    # the audit registers in IPP order: initial patients (a prefix) take their rows by drawn date
    n0 = int(initial.sum())
    o = np.argsort(drawn[:n0], kind="stable")
    idx[:n0], drawn[:n0] = idx[:n0][o], drawn[:n0][o]
    birth = pop["birth"][rec["person"][idx]]
    created = np.where(initial, drawn, lab.reg_day)
    before = created + ((d0 - 1 - created) * rng.random(len(idx)) ** 0.35).astype(np.int64)
    last = np.where(last_ev >= 0, np.maximum(last_ev, created), np.where(initial, before, created))
    rec["ipp"][idx] = compose(len(idx), (lab.ipp, 8))
    rec["created"][idx] = created
    rec["last_visit"][idx] = last
    holder = rec["nir_holder"][idx]
    nir = pop["nir"][np.maximum(holder, 0)].astype(object)
    nir[holder < 0] = ""
    lab.nir = [str(x) for x in nir]
    return {
        "lab": lab.code,
        "patients": int(len(idx)),
        "initial": int(initial.sum()),
        "registered_in_evidence": int((~initial).sum()),
        "last_visit_from_events": int((last_ev >= 0).sum()),
        "nir_empty": int((holder < 0).sum()),
        "created_before_birth": int((created < birth).sum()),
        "opened": str(date_of(opened)),
    }


def _sources(
    rng: np.random.Generator,
    scenario: str,
    built: list[Lab],
    incidents: list[dict],
    extractions: list[dict],
    d0: int,
) -> list[dict]:
    """The dump's copies for ``scenario``, from the audit's incidents (see :data:`TIED_INCIDENT`)."""
    if scenario not in SCENARIOS:
        raise ParameterError(f"unknown scenario {scenario!r}; use one of {SCENARIOS}")
    k_of = {lab.code: k for k, lab in enumerate(built)}
    xs = sorted(extractions, key=lambda x: x["lab"])
    by_kind = {
        kind: sorted((r for r in incidents if r["kind"] == kind), key=lambda r: r["id"])
        for kind in "cd"
    }

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ParameterError(
                f"linkage scenario {scenario!r} copies at {what}, which the audit evidence does not "
                "hold: add that incident kind to incidents= (and a period that contains it), or "
                "choose another scenario"
            )

    if scenario == "vendor_extraction":
        need(bool(xs), "incident (a)'s migration extractions")
        return [_night(1, [(k_of[x["lab"]], x) for x in xs], 1.0, list(range(len(SHAPES))))]
    if scenario == "staff_export":
        need(bool(by_kind["d"]) and "window" in by_kind["d"][0], "the insider incident (d)")
        return [_day_copy(1, k_of, by_kind["d"][0], by_kind["d"][0]["days"][-1], 0.3, [0, 2, 4, 5])]
    if scenario == "intrusion":
        need(
            bool(by_kind["c"]) and "window" in by_kind["c"][0],
            "the outside attacker's incident (c)",
        )
        return [_day_copy(1, k_of, by_kind["c"][0], by_kind["c"][0]["day"], 0.6, [1, 2, 3, 4, 6])]
    if scenario == "two_sources":
        c = by_kind["c"][0] if by_kind["c"] else None
        other = [x for x in xs if c is None or x["lab"] != c["lab"]]
        need(c is not None and "window" in c and bool(other),
             "an incident (a) extraction and the attacker's incident (c) at another lab")  # fmt: skip
        return [
            _night(1, [(k_of[other[0]["lab"]], other[0])], 1.0, [0, 2, 4]),
            _day_copy(2, k_of, c, c["day"], 1.0, [1, 3, 5, 6]),
        ]
    labs = len(built)  # before_logs: no incident in the audit evidence; labs drawn
    chosen = sorted(rng.choice(labs, max(1, math.ceil(labs / 3)), replace=False).tolist())
    copy = d0 - 180
    facts = {"incident": None, "copy_date": str(date_of(copy)), "horizon": str(date_of(copy))}
    return [
        dict(source=1, labs=chosen, copy=copy, subset=1.0, files=list(range(len(SHAPES))),
             facts={k: dict(facts) for k in chosen})
    ]  # fmt: skip


def _night(source: int, labs: list[tuple[int, dict]], subset: float, files: list[int]) -> dict:
    """A source copying each lab at its incident (a) extraction (night: data to the day before)."""
    facts, last = {}, {}
    for k, x in labs:
        day = int(x["day"])
        last[k] = day - 1
        facts[k] = {
            "incident": f"a-{x['lab']}",
            "copy_date": str(date_of(day)),
            "extraction_utc": iso_utc(x["t_extract"]),
            "horizon": iso_utc(x["t_extract"]),
            "data_until": str(date_of(day - 1)),
            "extraction_file": x["file"],
            "extraction_records": int(x["records"]),
        }
    copy = max(int(x["day"]) for _, x in labs)
    return dict(source=source, labs=sorted(last), copy=copy, last=last, subset=subset,
                files=files, facts=facts)  # fmt: skip


def _day_copy(
    source: int, k_of: dict, inc: dict, day_iso: str, subset: float, files: list[int]
) -> dict:
    """A source copying one lab during a day-time incident (data to the day before)."""
    k = k_of[inc["lab"]]
    day = (dt.date.fromisoformat(day_iso) - dt.date(1970, 1, 1)).days
    facts = {
        "incident": inc["id"],
        "copy_date": day_iso,
        "extraction_utc": inc["window"]["end"],
        "horizon": inc["window"]["end"],
        "data_until": str(date_of(day - 1)),
    }
    return dict(source=source, labs=[k], copy=day, last={k: day - 1}, subset=subset,
                files=files, facts={k: facts})  # fmt: skip
