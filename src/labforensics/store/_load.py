"""Reading an evidence store back: the same Evidence as reading every file at once."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from .. import schema
from ..custody import EvidenceFile
from ..ingest import Evidence
from ..ingest._assemble import field_problem_table, quarantine_table
from ..ingest.accounting import FileReport, IngestReport
from ._layout import (
    EVENTS_DIR,
    GROUPS_DIR,
    MANIFEST,
    NO_DATE,
    OLDER_FORMATS,
    STORE_FORMAT,
    UNVERIFIABLE_FORMATS,
    StoreError,
)
from ._verify import check_event_count, verify_store

__all__ = ["assemble_report", "check_options", "load_store", "read_manifest", "store_manifest_path"]


def store_manifest_path(store: str | os.PathLike[str]) -> Path:
    """The store's ``manifest.json`` (its hash is what an investigation records)."""
    return Path(store) / MANIFEST


def read_manifest(store: Path) -> dict[str, Any]:
    """The store's manifest.

    Raises
    ------
    StoreError
        When ``store`` has no readable manifest of a known format.
    """
    path = store_manifest_path(store)
    try:
        with open(path, encoding="utf-8") as fh:
            man = json.load(fh)
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"{store} is not an evidence store ({MANIFEST} unreadable: {exc}); build one with "
            "labforensics ingest EVIDENCE... --store DIR"
        ) from exc
    if man.get("format") in UNVERIFIABLE_FORMATS:
        raise StoreError(
            f"{path}: format {man.get('format')!r} was written before stores recorded the "
            "SHA-256 of their own files, so the bytes it would be read from cannot be "
            "verified; re-ingest the evidence into a new store (labforensics ingest "
            "EVIDENCE... --store NEWDIR)"
        )
    if man.get("format") not in (STORE_FORMAT, *OLDER_FORMATS):
        raise StoreError(
            f"{path}: format {man.get('format')!r}, this labforensics reads {STORE_FORMAT!r}; "
            "rebuild the store from the evidence"
        )
    return man


def check_options(
    man: Mapping[str, Any], options: Mapping[str, Any], fingerprint: str, store: Path
) -> None:
    """Refuse options or a case key other than the store's (they decide the rows).

    Raises
    ------
    StoreError
        Naming the first option that differs, or the two key fingerprints.
    """
    if man.get("case_key_fingerprint") != fingerprint:
        raise StoreError(
            f"the store {store} was built with the case key {man.get('case_key_fingerprint')}, "
            f"not {fingerprint}: its pseudonyms would not match; give the store's key file"
        )
    for k in sorted(set(options) | set(man.get("options", {}))):
        a, b = man.get("options", {}).get(k), options.get(k)
        if a != b:
            raise StoreError(
                f"the store {store} was built with {k}={a!r}, not {b!r}: give the same "
                "options (or the same case file) as the store's first ingest"
            )


def _file_rank(man: Mapping[str, Any]) -> dict[str, int]:
    """``source_file`` -> rank in evidence order: (date in name, else last; name)."""
    keys = sorted((f.get("file_date") or NO_DATE, f["source_file"]) for f in man["files"])
    return {name: i for i, (_, name) in enumerate(keys)}


def _groups(store: Path, man: Mapping[str, Any]) -> list[tuple[str, Path]]:
    """Each group and the folder of the version the manifest names."""
    return [(g, store / GROUPS_DIR / v["version"]) for g, v in sorted(man["groups"].items())]


def _ranked(df: pd.DataFrame, rank: Mapping[str, int]) -> pd.DataFrame:
    """Rows stably sorted by their file's rank (rows of one file keep their order)."""
    if not len(df):
        return df.reset_index(drop=True)
    codes, names = pd.factorize(df["source_file"].astype(object))  # per distinct file
    r = np.asarray([rank.get(n, len(rank)) for n in names], dtype=np.int64)[codes]
    order = np.argsort(r, kind="stable")
    return df.iloc[order].reset_index(drop=True)


def assemble_report(store: Path, man: Mapping[str, Any]) -> tuple[IngestReport, pd.DataFrame]:
    """The whole store's accounting and quarantine, in evidence order, from its groups.

    As :func:`labforensics.read_evidence` gives them for every file at once: file
    reports in evidence order; field problems with every file's missing-lab note first;
    unrecognised files sorted; unknown codes summed.

    Returns
    -------
    report : IngestReport
    quarantine : pandas.DataFrame
        ``source_file``, ``source_line`` (Int64), ``reason``, ``raw`` (redacted).
    """
    rank = _file_rank(man)
    report = IngestReport()
    quar, fps, files = [], [], []
    for _, gdir in _groups(store, man):  # a loop per group: small tables only
        with open(gdir / "report.json", encoding="utf-8") as fh:
            rep = json.load(fh)
        files += [FileReport(**f) for f in rep["files"]]
        report.unrecognised += rep["unrecognised"]
        report.unrecognised_reasons.update(rep["unrecognised_reasons"])
        for code, n in rep["unknown_codes"].items():
            report.unknown_codes[code] = report.unknown_codes.get(code, 0) + n
        for col, n in rep.get("identifiers_in_columns", {}).items():  # older stores: none
            got = report.identifiers_in_columns
            got[col] = got.get(col, 0) + n
        report.case_variant_accounts += rep.get("case_variant_accounts", [])  # older: none
        report.lab_name_mismatches += rep.get("lab_name_mismatches", [])  # older: none
        quar.append(pq.read_table(gdir / "quarantine.parquet").to_pandas())
        fps.append(pq.read_table(gdir / "field_problems.parquet").to_pandas())
    report.files = sorted(files, key=lambda f: rank.get(f.source_file, len(rank)))
    report.lab_name_mismatches.sort(key=lambda m: rank.get(str(m["source_file"]), len(rank)))
    report.unrecognised.sort()
    report.unknown_codes = dict(report.unknown_codes)
    report.identifiers_in_columns = dict(sorted(report.identifiers_in_columns.items()))
    report.case_variant_accounts.sort(key=lambda g: (str(g["lab"]), list(g["accounts"])))
    q = pd.concat(quar, ignore_index=True) if quar else pd.DataFrame()
    quarantine = quarantine_table(_ranked(q, rank).to_dict("records") if len(q) else [])
    fp = pd.concat(fps, ignore_index=True) if fps else pd.DataFrame()
    if len(fp):
        note = fp["lab_note"].to_numpy(dtype=bool)
        fp = pd.concat([_ranked(fp[note], rank), _ranked(fp[~note], rank)], ignore_index=True)
        fp = fp.drop(columns=["lab_note"])
    report.field_problems = field_problem_table(fp.to_dict("records") if len(fp) else [])
    report.check()
    return report, quarantine


def _read_events(store: Path, man: Mapping[str, Any]) -> pd.DataFrame:
    """Every event part the manifest names (hive partitions ``lab``, ``month``) as one
    table; parts it does not name (an ingest cut short) are not read."""
    root = store / EVENTS_DIR
    parts = sorted(p for g in man["groups"].values() for p in g["parts"])
    if not parts:
        return schema.empty_events()
    part = ds.partitioning(pa.schema([("lab", pa.string()), ("month", pa.string())]), flavor="hive")
    table = ds.dataset(
        [(store / p).as_posix() for p in parts],
        format="parquet",
        partitioning=part,
        partition_base_dir=root.as_posix(),
    ).to_table()
    if not table.num_rows:
        return schema.empty_events()
    table = table.drop_columns(["month"])
    df = table.to_pandas(ignore_metadata=True, types_mapper=None)
    return df


def load_store(
    store: str | os.PathLike[str],
    *,
    options: Mapping[str, Any] | None = None,
    key_fingerprint: str | None = None,
) -> Evidence:
    """The store as the :class:`~labforensics.ingest.Evidence` a read of every file gives.

    Events in (ts, seq) order with the dense ``seq`` of the whole evidence (rank in
    (file date, ``source_file``, store ``seq``)); the accounting, quarantine and
    custody records (every input, sorted by path) of the whole store. Everything is held
    in memory (as :func:`labforensics.read_evidence` would).

    Parameters
    ----------
    store : path-like
        The store folder.
    options : mapping, optional
        The ingest options the caller would read the files with
        (:func:`labforensics.store._ingest.store_options`); checked against the store's.
    key_fingerprint : str, optional
        The case key's fingerprint the caller uses; checked against the store's.

    Returns
    -------
    Evidence

    Raises
    ------
    StoreError
        When ``store`` is not a store, ``options``/``key_fingerprint`` differ from its,
        or a file of it is missing or differs from the one ingested (SHA-256), or its
        events are not those its accounting kept.
    """
    store_p, man, report, quarantine = open_store(store, options, key_fingerprint)
    raw = _read_events(store_p, man)
    check_event_count(store_p, len(raw), report.events_out)
    if len(raw):
        rank = _file_rank(man)
        codes, names = pd.factorize(raw["source_file"].astype(object))
        frank = np.asarray([rank.get(n, len(rank)) for n in names], dtype=np.int64)[codes]
        pos = raw["seq"].to_numpy(dtype=np.int64)
        ev_order = np.lexsort((pos, frank))
        seq = np.empty(len(raw), dtype=np.int64)
        seq[ev_order] = np.arange(len(raw), dtype=np.int64)
        ts = pd.to_datetime(raw["ts"], utc=True).dt.as_unit("ns")
        ts_ns = ts.to_numpy(dtype="datetime64[ns]").view("int64")
        order = ev_order[np.argsort(ts_ns[ev_order], kind="stable")]  # equal ts: seq order
        raw = raw.iloc[order].reset_index(drop=True)
        raw["seq"] = seq[order]
    events = schema.coerce_events(raw)[list(schema.EVENT_COLUMNS)] if len(raw) else raw
    schema.validate_events(events)
    manifest = [
        EvidenceFile(f["path"], f["source_file"], f["size"], f["sha256"], f["format"])
        for f in man["files"]
    ]
    return Evidence(
        events=events,
        report=report,
        quarantine=quarantine,
        manifest=manifest,
        case_key_fingerprint=man["case_key_fingerprint"],
    )


def open_store(
    store: Path | str, options: Mapping[str, Any] | None, key_fingerprint: str | None
) -> tuple[Path, dict[str, Any], Any, pd.DataFrame]:
    """A store's path, manifest, ingest report and quarantine, its options and key checked
    against the caller's (each only when given). Shared by :func:`load_store` and the
    per-lab engine's :func:`labforensics.engine.partitions.store_evidence`.

    Raises
    ------
    StoreError
        When ``store`` is not a store, ``options``/``key_fingerprint`` differ from its, a
        file of it is missing or differs from the one ingested (its SHA-256, every file
        verified), or its parts record other than the events its accounting kept.
    """
    store_p = Path(store).absolute()
    man = read_manifest(store_p)
    if options is not None or key_fingerprint is not None:
        check_options(
            man,
            options if options is not None else man["options"],
            key_fingerprint if key_fingerprint is not None else man["case_key_fingerprint"],
            store_p,
        )
    verify_store(store_p, man)  # every byte read below is the one ingested
    report, quarantine = assemble_report(store_p, man)
    check_event_count(store_p, _recorded_events(man), report.events_out, "recorded")
    return store_p, man, report, quarantine


def _recorded_events(man: Mapping[str, Any]) -> int:
    """The events the manifest records in the event parts (their Parquet rows)."""
    return sum(int(g["checksums"][p]["rows"]) for g in man["groups"].values() for p in g["parts"])
