"""Synthetic leak-linkage case: lab patient indexes, a leaked dump, and the linkage truth.

:func:`generate_linkage_case` writes, into one folder::

    patients/PATIENTS_<LAB>.csv    one index per lab, reference layout of patient-index.md
    dump/*.csv, dump/*.txt         the leaked dump: several partly overlapping files (leak-dump.md)
    linkage_truth.parquet          one row per dump data row: file, line, true person, true links
    index_truth.parquet            one row per index row: lab, IPP, person, household, kind
    linkage_truth.json             parameters, sources (labs, copy dates), horizons, file shapes,
                                   rates measured on what was written

The linkage method must never read the three truth files. The population and
the indexes are built by :mod:`labforensics.synth.people`, the dump by
:mod:`labforensics.synth.dumps`; the rates are :class:`LinkageSettings`.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ParameterError
from .dumps import write_dump
from .people import (
    PRESETS,
    SCENARIOS,
    LinkageSettings,
    build_population,
    build_records,
    lab_code,
    write_indexes,
)

__all__ = ["LinkageCase", "LinkageSettings", "PRESETS", "SCENARIOS", "generate_linkage_case"]


@dataclass
class LinkageCase:
    """What :func:`generate_linkage_case` wrote.

    Attributes
    ----------
    out : Path
    patients : list of Path
        ``patients/PATIENTS_<LAB>.csv``, lab order.
    dump : list of Path
        ``dump/*`` files, in writing order.
    truth, index_truth, summary : Path
        ``linkage_truth.parquet``, ``index_truth.parquet``, ``linkage_truth.json``.
    counts : dict
        ``people``, ``households``, ``index_rows``, ``dump_rows``, ``seconds``.
    rates : dict
        Rates measured on what was written (same names as the settings).
    """

    out: Path
    patients: list[Path]
    dump: list[Path]
    truth: Path
    index_truth: Path
    summary: Path
    counts: dict = field(default_factory=dict)
    rates: dict = field(default_factory=dict)


def generate_linkage_case(
    out: str | Path,
    *,
    labs: int = 30,
    patients_per_lab: int = 2000,
    seed: int = 0,
    settings: LinkageSettings | None = None,
    scenario: str = "vendor_extraction",
) -> LinkageCase:
    """Write synthetic patient indexes, a leaked dump and the linkage truth.

    Parameters
    ----------
    out : str or Path
        Output folder (created). ``patients/``, ``dump/`` and the three truth
        files of a previous generation there are removed first.
    labs : int, default 30
        Number of labs (codes ``L01``...).
    patients_per_lab : int, default 2000
        Mean index rows per lab (the total is within a few percent of
        ``labs * patients_per_lab``; lab sizes vary, lognormal).
    seed : int, default 0
        Seed of every draw (``numpy`` PCG64 from ``SeedSequence([seed, 13])``):
        the same arguments give byte-identical files.
    settings : LinkageSettings, optional
        Rates; default :class:`LinkageSettings` (see also :data:`PRESETS`).
    scenario : str, default "vendor_extraction"
        How the copy was made: ``vendor_extraction`` (every patient of a third
        of the labs registered by the copy date), ``staff_export`` (a 30 %
        subset of one lab), ``intrusion`` (60 % of two labs), ``before_logs``
        (a vendor extraction dated 180 days before ``evidence_start``),
        ``two_sources`` (two labs copied by two sources 150 days apart, each
        into its own files).

    Returns
    -------
    LinkageCase

    Raises
    ------
    ParameterError
        On a bad argument (unknown scenario, rates outside 0..1, no lab).

    Notes
    -----
    ``linkage_truth.parquet`` columns: ``file`` (relative to ``dump/``,
    POSIX), ``line`` (1-based physical line), ``person`` (-1 fabricated),
    ``household`` (-1 fabricated), ``row_class`` (``indexed``,
    ``outsider_relative``, ``outsider``, ``fabricated``), ``links``
    (list of {lab, ipp}: every index row of the person, empty when in no
    index), ``source_lab``, ``source_ipp`` (the index row copied; null for
    not-indexed rows), ``source`` (copy source), ``sample_date``, ``qualite``,
    ``nir_written``, ``nir_holder`` (person whose NIR the row carries),
    ``nir_wrong_key``, ``birth_written``, ``birth_partial``, ``name_mangle``
    (``""``, ``accents``, ``case``, ``hyphen``, ``swap``, ``typo``),
    ``day_month_swap``, ``mojibake``, ``duplicate_of_file``,
    ``duplicate_of_line`` (the first copy of a row written twice).

    ``index_truth.parquet`` columns: ``lab``, ``ipp``, ``person``,
    ``household``, ``kind`` (``primary``, ``second_lab``, ``duplicate``),
    ``qualite``, ``rang``, ``nir_holder`` (-1: NIR cell empty), ``created``,
    ``last_visit``. ``linkage_truth.json`` has the parameters, the sources
    (labs, copy date, files), per copied lab the horizon (newest sample and
    registration), each file's shape and the rates measured.

    Examples
    --------
    >>> from labforensics.synth.linkage import PRESETS, generate_linkage_case
    >>> case = generate_linkage_case("case", labs=30, patients_per_lab=50_000,
    ...                              settings=PRESETS["hard"])  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    s = settings or LinkageSettings()
    check_arguments(labs, patients_per_lab, s, scenario)
    out = Path(out)
    clear_case(out)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 13])))
    pop = build_population(
        rng, math.ceil(labs * patients_per_lab / people_per_household(s)), s, labs
    )
    rec = build_records(rng, pop, labs, s)
    params = {
        "labs": labs,
        "patients_per_lab": patients_per_lab,
        "seed": seed,
        "scenario": scenario,
        "settings": asdict(s),
    }
    return write_case(out, rng, pop, rec, labs, s, scenario, params, t0)


def check_arguments(labs: int, patients_per_lab: int, s: LinkageSettings, scenario: str) -> None:
    """Refuse a bad argument of :func:`generate_linkage_case` (:class:`ParameterError`)."""
    if scenario not in SCENARIOS:
        raise ParameterError(f"unknown scenario {scenario!r}; use one of {SCENARIOS}")
    if labs < 1 or labs > 999:
        raise ParameterError(f"labs must be within 1..999, got {labs}")
    if patients_per_lab < 10:
        raise ParameterError(f"patients_per_lab must be at least 10, got {patients_per_lab}")
    for k, v in asdict(s).items():
        if isinstance(v, float) and not 0 <= v <= 1 and k != "rows_per_patient":
            raise ParameterError(f"setting {k} must be within 0..1, got {v}")
    if s.outsider_relatives < 0.5:
        raise ParameterError("outsider_relatives must be at least 0.5 (issue 13)")


#: What a linkage case writes in its folder (removed before writing another).
CASE_PATHS = (
    "patients",
    "dump",
    "linkage_truth.parquet",
    "index_truth.parquet",
    "linkage_truth.json",
)


def clear_case(out: Path) -> None:
    """Remove a previous linkage case from ``out`` (only :data:`CASE_PATHS`); create ``out``."""
    for name in ("patients", "dump"):
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    for name in ("linkage_truth.parquet", "index_truth.parquet", "linkage_truth.json"):
        (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def people_per_household(s: LinkageSettings) -> float:
    """Mean index rows per household at the settings' rates."""
    # people per household: 1 + 0.62 partner + 0.03 other + 1.16 children in 60 % of them
    return (
        (1.65 + 1.16 * 0.6)
        * s.indexed_member
        * (1 - s.outside_households)
        * (1 + s.two_labs)
        * (1 + s.identity_duplicates)
    )


def write_case(
    out: Path,
    rng: np.random.Generator,
    pop: dict,
    rec: dict,
    labs: int,
    s: LinkageSettings,
    scenario: str,
    params: dict,
    t0: float,
    *,
    sources: list[dict] | None = None,
    tie: dict | None = None,
) -> LinkageCase:
    """Write the indexes, ``index_truth.parquet``, the dump and ``linkage_truth.json``.

    ``sources`` (see :func:`labforensics.synth.dumps.write_dump`) replaces the
    scenario's drawn copies; ``tie`` is written as the summary's ``tie`` key.
    """
    paths, index_shapes = write_indexes(rng, pop, rec, labs, out)
    pq.write_table(
        pa.table(
            {
                "lab": pa.array([lab_code(k) for k in range(labs)]).take(pa.array(rec["lab"])),
                "ipp": pa.array(rec["ipp"]),
                "person": pa.array(rec["person"]),
                "household": pa.array(pop["hh"][rec["person"]]),
                "kind": pa.array(np.array(["primary", "second_lab", "duplicate"])[rec["kind"]]),
                "qualite": pa.array(pop["qualite"][rec["person"]].astype(np.int8)),
                "rang": pa.array(pop["rang"][rec["person"]].astype(np.int8)),
                "nir_holder": pa.array(rec["nir_holder"]),
                "created": pa.array(rec["created"].astype("datetime64[D]")),
                "last_visit": pa.array(rec["last_visit"].astype("datetime64[D]")),
            }
        ),
        out / "index_truth.parquet",
        compression="zstd",
    )
    dres = write_dump(rng, pop, rec, labs, s, scenario, out, sources)
    secs = time.perf_counter() - t0
    summary = {
        "generator": "labforensics.synth.people",
        "parameters": params,
        "indexes": index_shapes,
        **dres["summary"],
        "counts": {
            "people": int(len(pop["hh"])),
            "households": int(pop["H"]),
            "index_rows": int(len(rec["person"])),
            "dump_rows": int(dres["rows"]),
        },
        "rates": dres["rates"],
        **({"tie": tie} if tie is not None else {}),
    }
    sp = out / "linkage_truth.json"
    sp.write_text(json.dumps(summary, indent=1, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")
    return LinkageCase(
        out=out,
        patients=paths,
        dump=dres["paths"],
        truth=out / "linkage_truth.parquet",
        index_truth=out / "index_truth.parquet",
        summary=sp,
        counts={**summary["counts"], "seconds": round(secs, 2)},
        rates=dres["rates"],
    )
